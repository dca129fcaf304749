/*
 * analysis/check_shadow_inv.c - the shadow invariants of XEN-NOTES
 * section 11 a trace decides (checker.h; named "inv.N" as in
 * check_inv.c): 13, a guest frame shadowed as a page table holds no
 * writable type reference unless it is out of sync and may be written,
 * and 16, no shadow L1 entry maps such a frame writable; and 9 (the
 * targets of L2-L4 entries) for the entries written after validation.
 *
 * Rules:
 *   H1  A frame's shadow flags are the rebuilt state's (state.c R8):
 *       promote gives the whole word, unsync sets OOS and OOS-may-write,
 *       a full resync clears both.  "Shadowed" is a type bit (L1..L4) in
 *       that word, "may write" the OOS-may-write bit.  A frame no promote
 *       named is not shadowed (S2: what came before the trace is unknown,
 *       so nothing is judged).
 *   H2  inv.13 is judged where the hypervisor has finished with the
 *       frame's writable mappings, and where a writable reference is
 *       taken:
 *         - at a promote (promote=1): write access was removed before it,
 *           so a writable type word with a count means references no
 *           shadow entry accounted for survived the promotion;
 *         - at a full resync of a frame that stays shadowed: may-write is
 *           gone, its writable mappings were revoked before the event;
 *         - at a type_change that raises the writable type count of a
 *           shadowed frame that may not be written (any taker: a shadow
 *           entry, a grant map or copy).
 *       The type word is the state's (type_change's new word, S1).
 *   H3  inv.16 is judged at each hvlab_shadow:entry_write into an L1 or
 *       FL1 shadow whose new entry is present, not magic, and RW: the
 *       frame it maps must not be shadowed unless it may be written.  The
 *       entry written is what the writer stored (a refused writable type
 *       reference has already dropped RW from it).
 *   H4  A resync clears may-write first, revokes the writable mappings,
 *       re-propagates, then traces the resync (state.c R8): an RW entry
 *       written to the resynced frame inside that window is not judged by
 *       inv.16, but the writable reference it holds is still there at the
 *       resync event and inv.13 reports it (H2).
 *   H5  inv.9 is judged at each hvlab_pt:pte_write of a present entry at
 *       level 2..4 into a table the state shows validated at that level
 *       with a type count (entries written while a table is built, torn
 *       down or devalidated are not judged, nor are the entries present
 *       when it was validated: no event carries them).  The frame mapped
 *       must, by the state's type word after the write (its type ref is
 *       taken before the entry is stored), be a validated table one level
 *       down with a type count, or, for a read-only entry, a validated
 *       table of the same level (a linear entry).  An L2 or L3 entry must
 *       not have PSE.  A frame the trace never typed is not judged (S2);
 *       the other disallowed flag bits and Xen's own slots are not
 *       checked.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/layout.h"
#include "analysis/state_private.h"

static uint8_t sh_flags(const struct az *az, uint8_t host, uint64_t mfn)
{
    const struct st_frame *f = st_frame_find(az_state(az), host, mfn);
    return f ? f->shadow_flags : 0;
}

/* H1 */
static bool shadowed_ro(uint8_t fl)
{
    return (fl & ST_SHF_TYPES) && !(fl & ST_SHF_OOS_MAY_WRITE);
}

static uint64_t writable_count(uint64_t type)
{
    return (type & ST_PGT_type_mask) == ST_PGT_writable
           ? type & ST_PGT_count_mask : 0;
}

/* ---- inv.13 ------------------------------------------------------------------ */

static void inv13_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    switch (e->id) {
    case HVE_mm_type_change: {
        uint64_t mfn = hv_u(e, HVF_mfn);
        uint64_t was = writable_count(hv_u(e, HVF_old_type));
        uint64_t now = writable_count(hv_u(e, HVF_new_type));
        if (now <= was)
            return;
        uint8_t fl = sh_flags(az, host, mfn);
        if (!shadowed_ro(fl))
            return;
        az_report(az, "inv.13", e, host, (uint16_t)hv_u(e, HVF_owner), mfn,
                  FINDING_NONE,
                  "invariant 13 (a shadowed page table holds no writable"
                  " type reference unless out of sync and may-write): mfn %#"
                  PRIx64 " is shadowed (shadow flags %#x) and its writable"
                  " type count went from %" PRIu64 " to %" PRIu64,
                  mfn, (unsigned)fl, was, now);
        return;
    }
    case HVE_shadow_promote:
    case HVE_shadow_resync: {
        bool promote = e->id == HVE_shadow_promote;
        if (promote ? !hv_u(e, HVF_promote) : !hv_u(e, HVF_full))
            return;
        uint64_t mfn = hv_u(e, HVF_gmfn);
        const struct st_frame *f = st_frame_find(az_state(az), host, mfn);
        if (!f || !shadowed_ro(f->shadow_flags) || !f->type.known)
            return;
        uint64_t n = writable_count(f->type.v);
        if (n == 0)
            return;
        uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
        if (promote)
            az_report(az, "inv.13", e, host, dom, mfn, FINDING_NONE,
                      "invariant 13 (a shadowed page table holds no writable"
                      " type reference unless out of sync and may-write):"
                      " dom%u's mfn %#" PRIx64 " was promoted to shadow L%u"
                      " (shadow flags %#x) with %" PRIu64 " writable type"
                      " references left after write access was removed",
                      (unsigned)dom, mfn, (unsigned)hv_u(e, HVF_type),
                      (unsigned)f->shadow_flags, n);
        else
            az_report(az, "inv.13", e, host, dom, mfn, FINDING_NONE,
                      "invariant 13 (a shadowed page table holds no writable"
                      " type reference unless out of sync and may-write):"
                      " dom%u's mfn %#" PRIx64 " was resynced (reason %u) and"
                      " is back in sync (shadow flags %#x) with %" PRIu64
                      " writable type references still held",
                      (unsigned)dom, mfn, (unsigned)hv_u(e, HVF_reason),
                      (unsigned)f->shadow_flags, n);
        return;
    }
    default:
        return;
    }
}

static const enum hv_event_id inv13_ids[] = {
    HVE_mm_type_change, HVE_shadow_promote, HVE_shadow_resync, HVE_NONE,
};
const struct checker chk_inv13 = {
    .name = "inv.13",
    .what = "a frame shadowed as a page table holds no writable type "
            "reference unless OOS-may-write (at promote, full resync, and "
            "each writable type ref taken)",
    .events = inv13_ids,
    .event = inv13_event,
};

/* ---- inv.16 ------------------------------------------------------------------ */

static void inv16_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    unsigned type = (unsigned)hv_u(e, HVF_type);
    if (type != ST_SH_L1 && type != ST_SH_FL1)
        return;
    uint64_t ne = hv_u(e, HVF_new_e);
    if (!(ne & ST_PTE_P) || !(ne & ST_PTE_RW) ||
        (ne & ST_SH_MAGIC) == ST_SH_MAGIC)          /* H3 */
        return;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t target = ST_PTE_MFN(ne);
    uint8_t fl = sh_flags(az, host, target);
    if (!shadowed_ro(fl))
        return;
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    az_report(az, "inv.16", e, host, dom, target, FINDING_NONE,
              "invariant 16 (no shadow L1 entry grants RW to a shadowed page"
              " table unless it is OOS-may-write): dom%u's %s shadow %#"
              PRIx64 " slot %u was written %#" PRIx64 " (was %#" PRIx64 "),"
              " mapping mfn %#" PRIx64 " writable while it is shadowed"
              " (shadow flags %#x%s)",
              (unsigned)dom, type == ST_SH_L1 ? "L1" : "FL1",
              hv_u(e, HVF_smfn), (unsigned)hv_u(e, HVF_slot), ne,
              hv_u(e, HVF_old_e), target, (unsigned)fl,
              (fl & ST_SHF_OOS) ? ", out of sync but not may-write" : "");
}

static const enum hv_event_id inv16_ids[] = {
    HVE_shadow_entry_write, HVE_NONE,
};
const struct checker chk_inv16 = {
    .name = "inv.16",
    .what = "no shadow L1 / FL1 entry written RW maps a frame shadowed as a "
            "page table unless it is OOS-may-write",
    .events = inv16_ids,
    .event = inv16_event,
};

/* ---- inv.9 (entries written after validation) ------------------------------ */

static bool pt_live_at(uint64_t type, unsigned level)
{
    return (type & ST_PGT_type_mask) == (uint64_t)level << ST_PGT_type_shift &&
           (type & ST_PGT_validated) && (type & ST_PGT_count_mask);
}

static void inv9_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    unsigned level = (unsigned)hv_u(e, HVF_level);
    uint64_t ne = hv_u(e, HVF_new_pte);
    if (level < 2 || level > 4 || !(ne & ST_PTE_P))
        return;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t table = hv_u(e, HVF_table_mfn);
    const struct st_frame *f = st_frame_find(az_state(az), host, table);
    if (!f || !f->type.known || f->devalidating ||
        !pt_live_at(f->type.v, level))
        return;
    uint64_t target = ST_PTE_MFN(ne);
    const struct st_frame *t = st_frame_find(az_state(az), host, target);
    const char *why = NULL;
    if ((ne & ST_PTE_PS) && level < 4)
        why = "has PSE";
    else if (!t || !t->type.known)
        return;                                     /* H5: untyped */
    else if (pt_live_at(t->type.v, level - 1))
        return;
    else if (!(ne & ST_PTE_RW) && pt_live_at(t->type.v, level))
        return;                                     /* a linear entry */
    else
        why = (ne & ST_PTE_RW) && pt_live_at(t->type.v, level)
              ? "is a writable linear entry"
              : "maps a frame that is not a validated table one level down";
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    az_report(az, "inv.9", e, host, dom, table, FINDING_NONE,
              "invariant 9 (every present entry of a validated L2-L4 maps a"
              " validated table one level down, or is a read-only linear"
              " entry): dom%u's L%u %#" PRIx64 " slot %u was written %#"
              PRIx64 " (path %s): it %s (mfn %#" PRIx64 ", type word %#"
              PRIx64 ")",
              (unsigned)dom, level, table, (unsigned)hv_u(e, HVF_slot), ne,
              st_pt_path_name((unsigned)hv_u(e, HVF_path)), why, target,
              t && t->type.known ? t->type.v : 0);
}

static const enum hv_event_id inv9_ids[] = {
    HVE_pt_pte_write, HVE_NONE,
};
const struct checker chk_inv9 = {
    .name = "inv.9",
    .what = "entries written after validation only: a present L2-L4 entry "
            "of a validated table maps a validated table one level down "
            "(or is a read-only linear entry), no PSE",
    .events = inv9_ids,
    .event = inv9_event,
};
