/*
 * analysis/check_inv.c - the invariants of XEN-NOTES section 11 that a
 * trace decides at the instant of one event (checker.h; one checker per
 * invariant, named "inv.N").
 *
 * Rules:
 *   I1  A checker fires only on what the words in the trace state exactly:
 *       the old/new type words of a type_change, a PTE written into a table
 *       the rebuilt state counts as live (state.c R3), a p2m entry's lock
 *       bit, a grant pin word.  What the trace cannot see (contents of a
 *       frame while it was writable, references taken before the trace
 *       began) makes the state "unknown" and the checker silent (S2).
 *   I2  Transient states inside a hypercall are part of the machine:
 *       a failed validation resets the type word with n == 1 (frame.c
 *       validate_page, Xen's alloc_page_type), the writable-pagetable batch
 *       of unhook mode maps a validated L1 writable (ptwr.c U5) - neither is
 *       a violation.
 *   I3  The type words judged are the event's own (old and new), never a
 *       rebuilt word that two writers traced out of order may have left
 *       behind for a moment (state_private.h P3).
 *   I4  Each sentence starts with the invariant's name and names the frame,
 *       its owner and the two words or entries that disagree.
 *   I5  "rebuild.untraced" is the state's own finding (state.h S1); its
 *       entry in the table only names it (--list, --only): az_end settles
 *       the transitions still held back at the end (state_end).
 *
 * Invariants decided here: 3 (no writable mapping of a page table in use),
 * 5 (type bits change only at n == 0), 6 (PGT_partial => n == 1),
 * 7 (page-table type with n == 0 => not validated), 8 (pinned => n >= 1),
 * 11 (acquire before release: with 1 and 4 read as lower bounds),
 * 19 (p2m written under the p2m lock), 22 (no writable mapping of a
 * shared frame), 24 (grant pin counters never pass 0x80).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/state.h"
#include "analysis/state_private.h"


static inline bool is_pt(uint64_t t)
{
    uint64_t b = t & ST_PGT_type_mask;
    return b >= ST_PGT_l1 && b <= ST_PGT_l4;
}

static inline uint64_t tcount(uint64_t t)
{
    return (uint64_t)(t & ST_PGT_count_mask);
}

static inline bool pt_in_use(uint64_t t)     /* invariant 3's frame */
{
    return is_pt(t) && tcount(t) > 0;
}

static inline bool shared_in_use(uint64_t t)  /* invariant 22's frame */
{
    return (t & ST_PGT_type_mask) == ST_PGT_shared && tcount(t) > 0;
}

static inline unsigned ptlevel(uint64_t t)
{
    return (unsigned)((t & ST_PGT_type_mask) >> 61);
}

static const char *const tname[8] = {
    "none", "L1", "L2", "L3", "L4", "seg_desc", "shared", "writable",
};

static const char *owner_str(uint16_t o, char *buf, size_t len)
{
    if (o == FINDING_NODOM)
        return "owner unknown";
    if (o == DOMID_COW)
        return "owner dom_cow";
    if (o == DOMID_XEN)
        return "owner Xen";
    if (o == DOMID_INVALID)
        return "free";
    snprintf(buf, len, "owner dom%u", (unsigned)o);
    return buf;
}

/* The target of a PTE just written, as the state has it after the write. */
static bool pte_target(struct az *az, const struct hv_ev *e,
                       const struct st_frame **tbl, const struct st_frame **tgt)
{
    const struct state *st = az_state(az);
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t n = hv_u(e, HVF_new_pte);
    if (hv_u(e, HVF_level) != 1 || !(n & ST_PTE_P) || !(n & ST_PTE_RW))
        return false;
    *tbl = st_frame_find(st, host, hv_u(e, HVF_table_mfn));
    *tgt = st_frame_find(st, host, ST_PTE_MFN(n));
    return *tbl && *tgt && (*tbl)->counted && (*tgt)->type.known;
}

/* ---- inv.3 ---------------------------------------------------------------- */

static void inv3_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    const struct st_frame *tbl, *f;
    char ob[32];
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    switch (e->id) {
    case HVE_pt_pte_write:
        if (!pte_target(az, e, &tbl, &f) || !pt_in_use(f->type.v))
            return;
        if (hv_u(e, HVF_path) == ST_PTW_PTWR_PROTECT)
            return;                                     /* I2: ptwr batch */
        az_report(az, "inv.3", e, host, (uint16_t)hv_u(e, HVF_dom), f->mfn,
                  FINDING_NONE,
                  "invariant 3 (no writable mapping of a page table in use): "
                  "dom%u wrote a writable entry for mfn %#" PRIx64
                  " (an L%u table, %s, type count %" PRIu64 ") into slot %u of"
                  " the L1 mfn %#" PRIx64 " (pte %#" PRIx64 ")",
                  (unsigned)hv_u(e, HVF_dom), f->mfn, ptlevel(f->type.v),
                  owner_str(f->owner_known ? f->owner : FINDING_NODOM, ob,
                            sizeof ob),
                  tcount(f->type.v), (unsigned)hv_u(e, HVF_slot), tbl->mfn,
                  hv_u(e, HVF_new_pte));
        return;
    case HVE_mm_type_change: {
        uint64_t o = hv_u(e, HVF_old_type), n = hv_u(e, HVF_new_type);
        if (pt_in_use(o) || !pt_in_use(n))
            return;
        f = st_frame_find(az_state(az), host, hv_u(e, HVF_mfn));
        if (!f || !f->maps_rw)
            return;
        az_report(az, "inv.3", e, host, (uint16_t)hv_u(e, HVF_owner), f->mfn,
                  FINDING_NONE,
                  "invariant 3 (no writable mapping of a page table in use): "
                  "mfn %#" PRIx64 " (%s) became an L%u table (type %#" PRIx64
                  " -> %#" PRIx64 ") while %u writable L1 entries still map it",
                  f->mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob),
                  ptlevel(n), o, n, f->maps_rw);
        return;
    }
    case HVE_grant_map: {
        if ((int16_t)hv_u(e, HVF_status) != GNTST_okay ||
            (hv_u(e, HVF_flags) & GNTMAP_readonly))
            return;
        f = st_frame_find(az_state(az), host, hv_u(e, HVF_mfn));
        if (!f || !f->type.known || !pt_in_use(f->type.v))
            return;
        az_report(az, "inv.3", e, host, (uint16_t)hv_u(e, HVF_rdom), f->mfn,
                  FINDING_NONE,
                  "invariant 3 (no writable mapping of a page table in use): "
                  "dom%u mapped dom%u's grant ref %u writable, but its frame"
                  " mfn %#" PRIx64 " is an L%u table (type %#" PRIx64 ")",
                  (unsigned)hv_u(e, HVF_ldom), (unsigned)hv_u(e, HVF_rdom),
                  (unsigned)hv_u(e, HVF_ref), f->mfn, ptlevel(f->type.v),
                  f->type.v);
        return;
    }
    default:
        return;
    }
}

static const enum hv_event_id inv3_ids[] = {
    HVE_pt_pte_write, HVE_mm_type_change, HVE_grant_map, HVE_NONE,
};
const struct checker chk_inv3 = {
    .name = "inv.3",
    .what = "no writable mapping (L1 entry, grant) of a frame typed L1..L4 with "
            "type count > 0, outside an unhook-mode ptwr batch",
    .events = inv3_ids,
    .event = inv3_event,
};

/* ---- inv.5, 6, 7, 8: the type word alone --------------------------------------- */

struct inv5_priv {
    /* frames inside validate_begin .. validate_end, by (host, mfn) */
    struct keytab validating;
};

static void inv5_init(void *priv)
{
    struct inv5_priv *p = priv;
    ht_init(&p->validating, sizeof(uint8_t));
}

static void inv5_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct inv5_priv *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t mfn = hv_u(e, HVF_mfn);
    char ob[32];

    if (e->id == HVE_mm_validate_begin || e->id == HVE_mm_validate_end) {
        uint8_t *v = ht_get(&p->validating, mfn, host, NULL);
        *v = e->id == HVE_mm_validate_begin;
        return;
    }
    uint64_t o = hv_u(e, HVF_old_type), n = hv_u(e, HVF_new_type);
    if (((o ^ n) & ST_PGT_type_mask) == 0 || tcount(o) == 0)
        return;
    if (n == 0) {       /* I2: a failed validation resets the word */
        const uint8_t *v = ht_find(&p->validating, mfn, host);
        if (v && *v)
            return;
    }
    az_report(az, "inv.5", e, host, (uint16_t)hv_u(e, HVF_owner), mfn,
              FINDING_NONE,
              "invariant 5 (type bits change only while the type count is 0): "
              "mfn %#" PRIx64 " (%s) went from type %#" PRIx64 " (%s, count %"
              PRIu64 ") to %#" PRIx64 " (%s)",
              mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob), o,
              tname[ptlevel(o)], tcount(o), n, tname[ptlevel(n)]);
}

static void inv5_fini(void *priv)
{
    struct inv5_priv *p = priv;
    ht_fini(&p->validating);
}

static const enum hv_event_id inv5_ids[] = {
    HVE_mm_type_change, HVE_mm_validate_begin, HVE_mm_validate_end, HVE_NONE,
};
const struct checker chk_inv5 = {
    .name = "inv.5",
    .what = "a frame's type bits change only while its type count is 0 "
            "(a failed validation's reset excepted)",
    .priv_size = sizeof(struct inv5_priv),
    .events = inv5_ids,
    .init = inv5_init,
    .event = inv5_event,
    .fini = inv5_fini,
};

static const enum hv_event_id typeword_ids[] = { HVE_mm_type_change, HVE_NONE };

static void inv6_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    uint64_t n = hv_u(e, HVF_new_type), mfn = hv_u(e, HVF_mfn);
    char ob[32];
    if (!(n & ST_PGT_partial) || tcount(n) == 1)
        return;
    az_report(az, "inv.6", e, (uint8_t)hv_u(e, HVF_host),
              (uint16_t)hv_u(e, HVF_owner), mfn, FINDING_NONE,
              "invariant 6 (PGT_partial means type count 1): mfn %#" PRIx64
              " (%s) got type %#" PRIx64 " (from %#" PRIx64 "): partial with"
              " count %" PRIu64,
              mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob), n,
              hv_u(e, HVF_old_type), tcount(n));
}
const struct checker chk_inv6 = {
    .name = "inv.6",
    .what = "PGT_partial set only with type count 1",
    .events = typeword_ids,
    .event = inv6_event,
};

static void inv7_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    uint64_t n = hv_u(e, HVF_new_type), mfn = hv_u(e, HVF_mfn);
    char ob[32];
    if (!is_pt(n) || tcount(n) != 0 || !(n & ST_PGT_validated))
        return;
    az_report(az, "inv.7", e, (uint8_t)hv_u(e, HVF_host),
              (uint16_t)hv_u(e, HVF_owner), mfn, FINDING_NONE,
              "invariant 7 (a page table with type count 0 is not validated):"
              " mfn %#" PRIx64 " (%s) went from type %#" PRIx64 " to %#" PRIx64
              ", an L%u table with count 0 still marked validated",
              mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob),
              hv_u(e, HVF_old_type), n, ptlevel(n));
}
const struct checker chk_inv7 = {
    .name = "inv.7",
    .what = "a page-table type with type count 0 has PGT_validated clear",
    .events = typeword_ids,
    .event = inv7_event,
};

static void inv8_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    uint64_t n = hv_u(e, HVF_new_type), mfn = hv_u(e, HVF_mfn);
    char ob[32];
    if (!(n & ST_PGT_pinned) || tcount(n) != 0)
        return;
    az_report(az, "inv.8", e, (uint8_t)hv_u(e, HVF_host),
              (uint16_t)hv_u(e, HVF_owner), mfn, FINDING_NONE,
              "invariant 8 (a pinned frame holds a type reference): mfn %#"
              PRIx64 " (%s) went from type %#" PRIx64 " to %#" PRIx64
              ": pinned with type count 0",
              mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob),
              hv_u(e, HVF_old_type), n);
}
const struct checker chk_inv8 = {
    .name = "inv.8",
    .what = "PGT_pinned only with type count >= 1",
    .events = typeword_ids,
    .event = inv8_event,
};

/* ---- inv.19 ---------------------------------------------------------------- */

static void inv19_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    if (hv_u(e, HVF_locked))
        return;
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
    char who[32];
    if (vcpu == 0xFFFF)
        snprintf(who, sizeof who, "the hypervisor");
    else
        snprintf(who, sizeof who, "vCPU %u", (unsigned)vcpu);
    az_report(az, "inv.19", e, (uint8_t)hv_u(e, HVF_host), dom,
              hv_u(e, HVF_new_mfn) != UINT64_MAX ? hv_u(e, HVF_new_mfn)
                                                 : hv_u(e, HVF_old_mfn),
              hv_u(e, HVF_gfn),
              "invariant 19 (every p2m write holds the p2m lock): %s wrote"
              " dom%u's p2m entry for gfn %#" PRIx64 " (mfn %#" PRIx64
              " type %u -> mfn %#" PRIx64 " type %u) without the lock",
              who, (unsigned)dom, hv_u(e, HVF_gfn), hv_u(e, HVF_old_mfn),
              (unsigned)hv_u(e, HVF_old_type), hv_u(e, HVF_new_mfn),
              (unsigned)hv_u(e, HVF_new_type));
}
static const enum hv_event_id inv19_ids[] = { HVE_p2m_entry_set, HVE_NONE };
const struct checker chk_inv19 = {
    .name = "inv.19",
    .what = "every p2m entry write is made under the p2m lock (entry_set.locked)",
    .events = inv19_ids,
    .event = inv19_event,
};

/* ---- inv.22 ---------------------------------------------------------------- */

static void inv22_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    const struct st_frame *tbl, *f;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    switch (e->id) {
    case HVE_pt_pte_write:
        if (!pte_target(az, e, &tbl, &f) || !shared_in_use(f->type.v))
            return;
        az_report(az, "inv.22", e, host, (uint16_t)hv_u(e, HVF_dom), f->mfn,
                  FINDING_NONE,
                  "invariant 22 (no writable mapping of a shared frame): dom%u"
                  " wrote a writable entry for the shared mfn %#" PRIx64
                  " (type %#" PRIx64 ") into slot %u of the L1 mfn %#" PRIx64,
                  (unsigned)hv_u(e, HVF_dom), f->mfn, f->type.v,
                  (unsigned)hv_u(e, HVF_slot), tbl->mfn);
        return;
    case HVE_mm_type_change: {
        uint64_t o = hv_u(e, HVF_old_type), n = hv_u(e, HVF_new_type);
        if (shared_in_use(o) || !shared_in_use(n))
            return;
        f = st_frame_find(az_state(az), host, hv_u(e, HVF_mfn));
        if (!f || !f->maps_rw)
            return;
        az_report(az, "inv.22", e, host, (uint16_t)hv_u(e, HVF_owner), f->mfn,
                  FINDING_NONE,
                  "invariant 22 (no writable mapping of a shared frame): mfn %#"
                  PRIx64 " became shared (type %#" PRIx64 " -> %#" PRIx64
                  ") while %u writable L1 entries still map it",
                  f->mfn, o, n, f->maps_rw);
        return;
    }
    case HVE_grant_map:
        if ((int16_t)hv_u(e, HVF_status) != GNTST_okay ||
            (hv_u(e, HVF_flags) & GNTMAP_readonly))
            return;
        f = st_frame_find(az_state(az), host, hv_u(e, HVF_mfn));
        if (!f || !f->type.known || !shared_in_use(f->type.v))
            return;
        az_report(az, "inv.22", e, host, (uint16_t)hv_u(e, HVF_rdom), f->mfn,
                  FINDING_NONE,
                  "invariant 22 (no writable mapping of a shared frame): dom%u"
                  " mapped dom%u's grant ref %u writable onto the shared mfn %#"
                  PRIx64, (unsigned)hv_u(e, HVF_ldom),
                  (unsigned)hv_u(e, HVF_rdom), (unsigned)hv_u(e, HVF_ref),
                  f->mfn);
        return;
    case HVE_p2m_entry_set: {
        uint64_t t = hv_u(e, HVF_new_type), m = hv_u(e, HVF_new_mfn);
        if (t != ST_P2M_RAM_RW && t != ST_P2M_GRANT_MAP_RW && t != ST_P2M_MAP_FOREIGN)
            return;
        f = st_frame_find(az_state(az), host, m);
        if (!f || !f->type.known || !shared_in_use(f->type.v))
            return;
        az_report(az, "inv.22", e, host, (uint16_t)hv_u(e, HVF_dom), m,
                  hv_u(e, HVF_gfn),
                  "invariant 22 (no writable mapping of a shared frame): dom%u's"
                  " p2m entry for gfn %#" PRIx64 " maps the shared mfn %#" PRIx64
                  " (type %#" PRIx64 ") with the writable p2m type %u",
                  (unsigned)hv_u(e, HVF_dom), hv_u(e, HVF_gfn), m, f->type.v,
                  (unsigned)t);
        return;
    }
    default:
        return;
    }
}
static const enum hv_event_id inv22_ids[] = {
    HVE_pt_pte_write, HVE_mm_type_change, HVE_grant_map, HVE_p2m_entry_set,
    HVE_NONE,
};
const struct checker chk_inv22 = {
    .name = "inv.22",
    .what = "no writable mapping (L1 entry, grant, RW p2m entry) of a frame "
            "typed PGT_shared_page",
    .events = inv22_ids,
    .event = inv22_event,
};

/* ---- inv.24 ---------------------------------------------------------------- */

static void inv24_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    static const char *const kind[] = {
        "host-write", "host-read", "device-write", "device-read",
    };
    uint32_t b = (uint32_t)hv_u(e, HVF_before), a = (uint32_t)hv_u(e, HVF_after);
    for (unsigned k = 0; k < 4; k++) {
        uint32_t cb = b >> (8 * k) & 0xFF, ca = a >> (8 * k) & 0xFF;
        if (ca <= cb || !(cb & 0x80))
            continue;
        az_report(az, "inv.24", e, (uint8_t)hv_u(e, HVF_host),
                  (uint16_t)hv_u(e, HVF_rdom), hv_u(e, HVF_mfn), FINDING_NONE,
                  "invariant 24 (a grant pin counter is never raised past 0x80):"
                  " dom%u's grant ref %u (mfn %#" PRIx64 ") had its %s pin"
                  " counter raised from %#x to %#x (pin %#x -> %#x)",
                  (unsigned)hv_u(e, HVF_rdom), (unsigned)hv_u(e, HVF_ref),
                  hv_u(e, HVF_mfn), kind[k], cb, ca, b, a);
    }
}
static const enum hv_event_id inv24_ids[] = { HVE_grant_pin_change, HVE_NONE };
const struct checker chk_inv24 = {
    .name = "inv.24",
    .what = "a grant pin counter (8 bits of act->pin) is never raised once "
            "its bit 7 is set",
    .events = inv24_ids,
    .event = inv24_event,
};

/* ---- inv.11 ---------------------------------------------------------------- */

/*
 * Every present entry of a validated L1 holds a general reference on its
 * frame, a writable one also a writable type reference (XEN-NOTES 11.1,
 * 11.4), and a PTE update takes the new frame's references before the
 * write and drops the old one's after it (11.11).  So at every instant of
 * a correct trace: count >= allocation ref + mapping entries, and a
 * writable frame's type count >= writable entries.  The state's counts are
 * lower bounds (entries the trace never showed are not counted, R6), so a
 * word below them is certain: a reference dropped while the entry holding
 * it is still there (released before the entry was rewritten), or taken
 * only after the entry was written.
 */
static uint64_t need_general(const struct st_frame *f, uint64_t count)
{
    return ((count & ST_PGC_allocated) ? 1 : 0) + f->maps_rw + f->maps_ro;
}

static void inv11_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    const struct state *st = az_state(az);
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    const struct st_frame *f;
    char ob[32];

    switch (e->id) {
    case HVE_mm_count_change: {
        uint64_t o = hv_u(e, HVF_old_count), n = hv_u(e, HVF_new_count);
        if ((n & ST_PGC_count_mask) >= (o & ST_PGC_count_mask) ||
            (n & ST_PGC_xen_heap))
            return;
        f = st_frame_find(st, host, hv_u(e, HVF_mfn));
        if (!f || (n & ST_PGC_count_mask) >= need_general(f, n))
            return;
        az_report(az, "inv.11", e, host, (uint16_t)hv_u(e, HVF_owner), f->mfn,
                  FINDING_NONE,
                  "invariant 11 (a PTE update takes the new reference before it"
                  " drops the old one): mfn %#" PRIx64 " (%s) had its general"
                  " count dropped to %" PRIu64 " while %u present L1 entries"
                  "%s still map it: a reference was released before the entry"
                  " holding it was rewritten (or is missing, invariant 1)",
                  f->mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob),
                  (uint64_t)(n & ST_PGC_count_mask), f->maps_rw + f->maps_ro,
                  (n & ST_PGC_allocated) ? " and its allocation" : "");
        return;
    }
    case HVE_mm_type_change: {
        uint64_t o = hv_u(e, HVF_old_type), n = hv_u(e, HVF_new_type);
        if ((n & ST_PGT_type_mask) != ST_PGT_writable || tcount(n) >= tcount(o))
            return;
        f = st_frame_find(st, host, hv_u(e, HVF_mfn));
        if (!f || tcount(n) >= f->maps_rw)
            return;
        az_report(az, "inv.11", e, host, (uint16_t)hv_u(e, HVF_owner), f->mfn,
                  FINDING_NONE,
                  "invariant 11 (a PTE update takes the new reference before it"
                  " drops the old one): mfn %#" PRIx64 " (%s) had its writable"
                  " type count dropped to %" PRIu64 " while %u writable L1"
                  " entries still map it: a writable reference was released"
                  " before the entry holding it was rewritten (or is missing,"
                  " invariant 4)",
                  f->mfn, owner_str((uint16_t)hv_u(e, HVF_owner), ob, sizeof ob),
                  tcount(n), f->maps_rw);
        return;
    }
    case HVE_pt_pte_write: {
        uint64_t n = hv_u(e, HVF_new_pte);
        if (hv_u(e, HVF_level) != 1 || !(n & ST_PTE_P))
            return;
        const struct st_frame *tbl = st_frame_find(st, host,
                                                   hv_u(e, HVF_table_mfn));
        f = st_frame_find(st, host, ST_PTE_MFN(n));
        if (!tbl || !tbl->counted || !f || !f->count.known ||
            (f->count.v & ST_PGC_xen_heap))
            return;
        bool gen_short = (f->count.v & ST_PGC_count_mask) <
                         need_general(f, f->count.v);
        bool rw_short = (n & ST_PTE_RW) && f->type.known &&
                        (f->type.v & ST_PGT_type_mask) == ST_PGT_writable &&
                        tcount(f->type.v) < f->maps_rw;
        if (!gen_short && !rw_short)
            return;
        az_report(az, "inv.11", e, host, (uint16_t)hv_u(e, HVF_dom), f->mfn,
                  FINDING_NONE,
                  "invariant 11 (a PTE update takes the new reference before it"
                  " drops the old one): dom%u wrote pte %#" PRIx64 " into slot"
                  " %u of the L1 mfn %#" PRIx64 " but mfn %#" PRIx64 " holds"
                  " only %s %" PRIu64 " for %u mapping entries: the entry was"
                  " written before its reference was taken",
                  (unsigned)hv_u(e, HVF_dom), n, (unsigned)hv_u(e, HVF_slot),
                  tbl->mfn, f->mfn,
                  gen_short ? "general count" : "writable type count",
                  (uint64_t)(gen_short ? (f->count.v & ST_PGC_count_mask)
                                       : tcount(f->type.v)),
                  gen_short ? f->maps_rw + f->maps_ro : f->maps_rw);
        return;
    }
    default:
        return;
    }
}
static const enum hv_event_id inv11_ids[] = {
    HVE_mm_count_change, HVE_mm_type_change, HVE_pt_pte_write, HVE_NONE,
};
const struct checker chk_inv11 = {
    .name = "inv.11",
    .what = "references follow PTE updates: a frame's general count never "
            "below its allocation ref + mapping L1 entries, a writable "
            "frame's type count never below its writable entries",
    .events = inv11_ids,
    .event = inv11_event,
};

/* ---- rebuild.untraced: I5 ---------------------------------------------------- */

/* The state reports these itself (state_untraced.c); az_end settles its
   open debts (state_end).  This entry names the checker for --list and
   --only. */
static const enum hv_event_id none_ids[] = { HVE_NONE };
const struct checker chk_rebuild_untraced = {
    .name = "rebuild.untraced",
    .what = "a word the trace reports with its old value (count, type, PTE, "
            "M2P, root, grant pin, p2m entry) disagrees with the rebuilt state",
    .events = none_ids,
};
