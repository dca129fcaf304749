/*
 * analysis/check_p2m.c - story B (XEN-NOTES 12.B): p2m lookups whose result
 * is acted upon after the entry changed, and the writable foreign mappings
 * such stale results let a mapper install.
 *
 * Rules:
 *   B1  Every hvlab_p2m:lookup that returned a frame opens a use of
 *       (host, dom, gfn) by the looking vCPU: "a lookup whose result is
 *       acted upon" (docs/trace-events.md).  The use ends when it is acted
 *       upon or let go:
 *         - put_gfn of the same (host, dom, vcpu, gfn): the end of a
 *           get_gfn-style use (hap faults, Xen's get_gfn / put_gfn pairs);
 *         - a present PTE written (hvlab_pt:pte_write, any domain) that
 *           names the looked-up frame, while the frame still belongs to
 *           the looked-up domain or to dom_cow, as the last hvlab_mm event
 *           naming it since the lookup says (a foreign map by gfn:
 *           p2m_translate_foreign_l1e looks up, mod_l1_entry installs;
 *           there is no put_gfn).  Only the latest use naming that frame is
 *           the one installed; older ones naming it are let go;
 *         - a newer lookup of the same (host, dom, vcpu, gfn) supersedes
 *           it; a newer lookup by the same (host, dom, vcpu) of another gfn
 *           lets go every use but a get_gfn under the lock (locked, no
 *           ref: it ends at its put_gfn): the vCPU moved on, and an
 *           install that was refused leaves no event.
 *   B2  While a use is open, an hvlab_p2m:entry_set of that (dom, gfn) by
 *       any other vCPU (vcpu differs, or 0xFFFF: the hypervisor / host API)
 *       that changes the frame or the type, an hvlab_mm:page_free of the
 *       looked-up frame, or an hvlab_mm count/type change that shows the
 *       frame owned by another domain (sharing hands it to dom_cow before
 *       the p2m entry is rewritten), taints it (the first such event is
 *       remembered).
 *       The holder's own changes do not: Xen's get_gfn; set_entry; put_gfn
 *       is legitimate.
 *   B3  story-b.entry-under-lookup is reported when a tainted use is acted
 *       upon (B1's first two ends), naming the lookup, the change and what
 *       the frame backs by then.  A use still open at the end of the trace
 *       is not a finding: a use that is never acted upon cannot act on a
 *       stale result, and a trace cut mid-use (the run was killed) shows
 *       no action either.  end() reports nothing (checker.h K4), on
 *       purpose.
 *   B4  story-b.foreign-rw-of-ro: a present, writable PTE written by one
 *       domain naming a frame of another whose p2m type (the state's, at
 *       that moment: state_pfn of the open use's (dom, gfn), else of the
 *       frame's owner and M2P pfn) is read-only, shared, or being paged
 *       (ram_ro, grant_map_ro, paging_out, paged, paging_in, shared,
 *       broken), or a frame owned by dom_cow.  A PTE already writable to
 *       the same frame (an A/D or flag rewrite) is not a new mapping.
 *   B5  The vcpu of a p2m event is the acting vCPU's id, without its
 *       domain (p2m.c p2m_trace_vcpu); two domains' vCPUs with one id are
 *       one actor here.  That can only hide a change (B2) or end a use
 *       early (B1), never invent a finding.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>

#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/layout.h"
#include "analysis/state.h"

static bool type_no_write(uint64_t t)          /* B4 */
{
    return t == ST_P2M_RAM_RO || t == ST_P2M_GRANT_MAP_RO || t == ST_P2M_RAM_PAGING_OUT ||
           t == ST_P2M_RAM_PAGED || t == ST_P2M_RAM_PAGING_IN || t == ST_P2M_RAM_SHARED ||
           t == ST_P2M_RAM_BROKEN;
}

/* x86 PTE bits */
#define PTE_P       0x001ULL
#define PTE_RW      0x002ULL
#define PTE_MFN(e)  (((e) & 0x000FFFFFFFFFF000ULL) >> 12)
#define NO_MFN      UINT64_MAX
#define VCPU_NONE   0xFFFFu

/* ---- story-b.entry-under-lookup (B1 - B3, B5) ----------------------------- */

struct use {
    bool open;
    bool locked, ref;
    uint8_t host;
    uint16_t dom, vcpu;
    uint64_t gfn, mfn, type;
    int64_t ts;
    uint64_t seq;
    /* B2: the first change seen while open */
    bool tainted, freed;
    uint16_t by_vcpu, new_owner;        /* new_owner: freed, or moved */
    uint16_t cur_owner;                 /* B1: the frame's owner, as last seen */
    uint64_t old_mfn, new_mfn, old_type, new_type;
    int64_t change_ts;
};

struct sbl {
    struct use *u;
    size_t n, cap;
};

static struct use *use_new(struct sbl *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (!p->u[i].open)
            return &p->u[i];
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 32;
        struct use *n = realloc(p->u, nc * sizeof(*n));
        if (!n)
            return NULL;
        p->u = n;
        p->cap = nc;
    }
    return &p->u[p->n++];
}

static void report_use(struct az *az, const struct use *u, const struct hv_ev *at,
                       const char *acted)
{
    const struct state *st = az_state(az);
    struct frame_view fv;
    char now[160] = "";
    if (state_frame(st, u->host, u->mfn, &fv) && fv.known) {
        if (fv.owner == DOMID_COW)
            snprintf(now, sizeof(now), "; the frame is now shared (owner dom_cow)");
        else if (fv.pfn != FINDING_NONE && (fv.owner != u->dom || fv.pfn != u->gfn))
            snprintf(now, sizeof(now), "; the frame now backs dom%u gfn 0x%" PRIx64,
                     fv.owner, fv.pfn);
    }
    char by[32], change[256];
    if (u->by_vcpu == VCPU_NONE)
        snprintf(by, sizeof(by), "the hypervisor");
    else
        snprintf(by, sizeof(by), "vcpu %u", u->by_vcpu);
    if (u->freed && u->new_owner == DOMID_COW)
        snprintf(change, sizeof(change), "the frame passed to dom_cow (shared) "
                 "at %.6f s", (double)u->change_ts / 1e9);
    else if (u->freed && u->new_owner != u->dom)
        snprintf(change, sizeof(change), "the frame passed to dom%u at %.6f s",
                 u->new_owner, (double)u->change_ts / 1e9);
    else if (u->freed)
        snprintf(change, sizeof(change), "the frame was freed at %.6f s",
                 (double)u->change_ts / 1e9);
    else
        snprintf(change, sizeof(change), "the entry was changed by %s at %.6f s "
                 "(mfn 0x%" PRIx64 " %s -> mfn 0x%" PRIx64 " %s)", by,
                 (double)u->change_ts / 1e9, u->old_mfn, st_p2m_type_name(u->old_type),
                 u->new_mfn, st_p2m_type_name(u->new_type));
    az_report(az, "story-b.entry-under-lookup", at, u->host, u->dom, u->mfn, u->gfn,
              "dom%u gfn 0x%" PRIx64 " was looked up by vcpu %u at %.6f s (mfn 0x%"
              PRIx64 ", %s, %s) and %s at %.6f s, but %s in between%s: the lookup's "
              "result was stale when it was acted upon (story B)",
              u->dom, u->gfn, u->vcpu, (double)u->ts / 1e9, u->mfn, st_p2m_type_name(u->type),
              u->locked ? "p2m lock held" : "no p2m lock, no reference",
              acted, (double)at->ts / 1e9, change, now);
}

static void sbl_lookup(struct sbl *p, const struct hv_ev *e, uint8_t host)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
    uint64_t gfn = hv_u(e, HVF_gfn), mfn = hv_u(e, HVF_mfn);
    for (size_t i = 0; i < p->n; i++) {             /* B1: superseded */
        struct use *u = &p->u[i];
        if (!u->open || u->host != host || u->dom != dom || u->vcpu != vcpu)
            continue;
        if (u->gfn == gfn || !u->locked || u->ref)
            u->open = false;
    }
    if (mfn == NO_MFN)
        return;
    struct use *u = use_new(p);
    if (!u)
        return;
    memset(u, 0, sizeof(*u));
    u->open = true;
    u->locked = hv_u(e, HVF_locked) != 0;
    u->ref = hv_u(e, HVF_ref) != 0;
    u->host = host;
    u->dom = dom;
    u->cur_owner = dom;
    u->vcpu = vcpu;
    u->gfn = gfn;
    u->mfn = mfn;
    u->type = hv_u(e, HVF_type);
    u->ts = e->ts;
    u->seq = e->seq;
}

static void taint(struct use *u, const struct hv_ev *e, bool freed)
{
    if (u->tainted)
        return;
    u->tainted = true;
    u->freed = freed;
    u->change_ts = e->ts;
    u->new_owner = freed && e->id != HVE_mm_page_free
                   ? (uint16_t)hv_u(e, HVF_owner) : u->dom;
    if (!freed) {
        u->by_vcpu = (uint16_t)hv_u(e, HVF_vcpu);
        u->old_mfn = hv_u(e, HVF_old_mfn);
        u->new_mfn = hv_u(e, HVF_new_mfn);
        u->old_type = hv_u(e, HVF_old_type);
        u->new_type = hv_u(e, HVF_new_type);
    }
}

static void sbl_install(struct sbl *p, struct az *az, const struct hv_ev *e,
                        uint8_t host)
{
    uint64_t nw = hv_u(e, HVF_new_pte);
    if (!(nw & PTE_P))
        return;
    uint64_t mfn = PTE_MFN(nw);
    struct use *latest = NULL;
    for (size_t i = 0; i < p->n; i++) {
        struct use *u = &p->u[i];
        if (u->open && u->host == host && u->mfn == mfn &&
            (!latest || u->seq > latest->seq))
            latest = u;
    }
    if (!latest || (latest->cur_owner != latest->dom &&
                    latest->cur_owner != DOMID_COW))
        return;                     /* B1: not this use's frame any more */
    for (size_t i = 0; i < p->n; i++)
        if (p->u[i].open && p->u[i].host == host && p->u[i].mfn == mfn &&
            &p->u[i] != latest)
            p->u[i].open = false;
    latest->open = false;
    if (latest->tainted)
        report_use(az, latest, e, "installed in a PTE");
}

static void sbl_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct sbl *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    switch (e->id) {
    case HVE_p2m_lookup:
        sbl_lookup(p, e, host);
        return;
    case HVE_p2m_put_gfn: {
        uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
        uint64_t gfn = hv_u(e, HVF_gfn);
        for (size_t i = 0; i < p->n; i++) {
            struct use *u = &p->u[i];
            if (!u->open || u->host != host || u->dom != dom || u->vcpu != vcpu ||
                u->gfn != gfn)
                continue;
            u->open = false;
            if (u->tainted)
                report_use(az, u, e, "put (put_gfn)");
        }
        return;
    }
    case HVE_p2m_entry_set: {
        uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
        uint64_t gfn = hv_u(e, HVF_gfn);
        if (hv_u(e, HVF_old_mfn) == hv_u(e, HVF_new_mfn) &&
            hv_u(e, HVF_old_type) == hv_u(e, HVF_new_type))
            return;                                     /* B2: access only */
        for (size_t i = 0; i < p->n; i++) {
            struct use *u = &p->u[i];
            if (u->open && u->host == host && u->dom == dom && u->gfn == gfn &&
                (vcpu == VCPU_NONE || vcpu != u->vcpu))
                taint(u, e, false);
        }
        return;
    }
    case HVE_mm_page_free:
    case HVE_mm_page_alloc:
    case HVE_mm_count_change:
    case HVE_mm_type_change: {
        uint64_t mfn = hv_u(e, HVF_mfn);
        uint16_t owner = (uint16_t)hv_u(e, HVF_owner);
        for (size_t i = 0; i < p->n; i++) {
            struct use *u = &p->u[i];
            if (!u->open || u->host != host || u->mfn != mfn)
                continue;
            u->cur_owner = e->id == HVE_mm_page_free ? DOMID_INVALID : owner;
            if (e->id == HVE_mm_page_free || owner != u->dom)
                taint(u, e, true);
        }
        return;
    }
    case HVE_pt_pte_write:
        sbl_install(p, az, e, host);
        return;
    default:
        return;
    }
}

static void sbl_fini(void *priv)
{
    struct sbl *p = priv;
    free(p->u);
}

static const enum hv_event_id sbl_ids[] = {
    HVE_p2m_lookup, HVE_p2m_put_gfn, HVE_p2m_entry_set, HVE_mm_page_free,
    HVE_mm_page_alloc, HVE_mm_count_change, HVE_mm_type_change,
    HVE_pt_pte_write, HVE_NONE,
};

const struct checker chk_story_b_entry_under_lookup = {
    .name = "story-b.entry-under-lookup",
    .what = "a p2m entry changed (or its frame was freed) by another vCPU "
            "between a lookup and the use of its result",
    .priv_size = sizeof(struct sbl),
    .events = sbl_ids,
    .event = sbl_event,
    .end = NULL,                                        /* B3 */
    .fini = sbl_fini,
};

/* ---- story-b.foreign-rw-of-ro (B4) ---------------------------------------- */

/* The latest lookup that returned each frame (B4's "open use"). */
struct sbr {
    struct sbl uses;
};

static void sbr_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct sbr *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    if (e->id == HVE_p2m_lookup) {
        sbl_lookup(&p->uses, e, host);
        return;
    }
    if (e->id == HVE_p2m_put_gfn)
        return;
    /* hvlab_pt:pte_write */
    uint64_t nw = hv_u(e, HVF_new_pte), old = hv_u(e, HVF_old_pte);
    if ((nw & (PTE_P | PTE_RW)) != (PTE_P | PTE_RW))
        return;
    uint64_t mfn = PTE_MFN(nw);
    if ((old & (PTE_P | PTE_RW)) == (PTE_P | PTE_RW) && PTE_MFN(old) == mfn)
        return;                                         /* B4: not new */
    uint16_t mapper = (uint16_t)hv_u(e, HVF_dom);
    const struct state *st = az_state(az);
    struct frame_view fv;
    bool fknown = state_frame(st, host, mfn, &fv) && fv.known;

    /* Which (dom, gfn) the mapping was meant for. */
    struct use *latest = NULL;
    for (size_t i = 0; i < p->uses.n; i++) {
        struct use *u = &p->uses.u[i];
        if (u->open && u->host == host && u->mfn == mfn &&
            (!latest || u->seq > latest->seq))
            latest = u;
    }
    uint16_t dom;
    uint64_t gfn;
    if (latest) {
        dom = latest->dom;
        gfn = latest->gfn;
        latest->open = false;
    } else if (fknown && fv.pfn != FINDING_NONE) {
        dom = fv.owner;
        gfn = fv.pfn;
    } else {
        return;
    }
    if (dom == mapper && !(fknown && fv.owner == DOMID_COW))
        return;                                         /* not foreign */
    struct pfn_view pv;
    uint64_t t = UINT64_MAX;
    if (state_pfn(st, host, dom, gfn, &pv) && pv.known)
        t = pv.p2m_type;
    bool cow = fknown && fv.owner == DOMID_COW;
    if (!cow && (t == UINT64_MAX || !type_no_write(t)))
        return;
    az_report(az, "story-b.foreign-rw-of-ro", e, host, dom, mfn, gfn,
              "dom%u installed a writable mapping of dom%u gfn 0x%" PRIx64 " (mfn 0x%"
              PRIx64 ") at %.6f s (L%u table mfn 0x%" PRIx64 " slot %u = 0x%" PRIx64
              ") although %s%s: writes through it bypass the p2m type (story B: a "
              "foreign map acted on a stale lookup)",
              mapper, dom, gfn, mfn, (double)e->ts / 1e9,
              (unsigned)hv_u(e, HVF_level), hv_u(e, HVF_table_mfn),
              (unsigned)hv_u(e, HVF_slot), nw,
              cow ? "the frame already belonged to dom_cow (shared)"
                  : "that gfn's p2m type was ",
              cow ? "" : st_p2m_type_name(t));
}

static void sbr_fini(void *priv)
{
    struct sbr *p = priv;
    free(p->uses.u);
}

static const enum hv_event_id sbr_ids[] = {
    HVE_p2m_lookup, HVE_pt_pte_write, HVE_NONE,
};

const struct checker chk_story_b_foreign_rw = {
    .name = "story-b.foreign-rw-of-ro",
    .what = "a foreign writable mapping of a gfn whose p2m type is read-only, "
            "shared or being paged, or of a dom_cow frame",
    .priv_size = sizeof(struct sbr),
    .events = sbr_ids,
    .event = sbr_event,
    .fini = sbr_fini,
};
