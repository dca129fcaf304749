/*
 * analysis/state.c - every frame's state, rebuilt from the trace alone
 * (analysis/state.h: rules S1-S3; the tables: analysis/state_private.h,
 * rules P1-P4; checked words and their findings: state_untraced.c; the
 * hash tables: state_table.c).
 *
 * Rules of this file:
 *   R1  One mutator per kind of word: st_apply() is the only place a
 *       checked word changes, called through st_wapply, which asks
 *       state_untraced.c's st_wcheck first (S1, P3);
 *       frame_set_type() the only place the type word's side effects (a
 *       validated L1's entries counted in its targets' maps_rw / maps_ro)
 *       happen; pte_set() the only writer of a PTE.
 *   R2  Only what the trace states exactly is checked: count_change's
 *       count words and type_change's type words (the other word in each is
 *       a snapshot read beside the exchange), PTEs without their A/D bits
 *       (the MMU sets them without an event), M2P, roots, grant pins and
 *       p2m entries (mfn and type).
 *   R3  maps_rw / maps_ro count the present entries of the L1 tables that
 *       are validated and not being devalidated: the mappings the MMU can
 *       use.  An L1 leaves the count at devalidate_begin (its targets'
 *       references go then) and joins it when its type word gains
 *       PGT_validated.
 *   R4  Frames are keyed by (host, mfn), pfns by (host, dom, pfn): the
 *       source and destination of a migration never mix.
 *   R5  A frame's history (S3) holds every event naming it: its mfn,
 *       table_mfn, target_mfn, gmfn, smfn, other_mfn, src/dst_mfn, the
 *       frame of a blkif request, old/new mfn of a root or p2m entry, and
 *       the frames a PTE maps before and after a write.
 *   R6  A frame's entries are known only while the guest cannot store into
 *       it unseen: a non-page-table type with a count (writable, shared,
 *       descriptor) or a free forgets them (S2 again for each slot).
 *   R7  An unhook-mode ptwr flush (path 5) writes "snapshot -> guest's
 *       store" or back: the guest's stores in the batch are native, never
 *       traced (ptwr.c U5-U6), so its old value is not checked.  An L1
 *       made writable by a ptwr protect write (path 7) is out of the maps
 *       counts (R3) from then until a write to it by any other path (every
 *       hypercall closes the batch first) or its devalidation: what its
 *       entries hold in between is the guest's, unseen.
 *   R8  A guest frame's shadow flags follow the three events that show
 *       them change: hvlab_shadow:promote gives the whole word after a
 *       promotion or demotion; unsync sets OOS and OOS-may-write; a full
 *       resync (full=1) clears both.  A resync with full=0 updates the
 *       shadows only and leaves the page out of sync.  A resync clears
 *       may-write before it revokes the writable mappings and traces the
 *       event only at its end, so in between the flags here still say
 *       may-write (a lower bound for the shadow checkers).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "analysis/finding.h"
#include "analysis/state.h"
#include "analysis/state_private.h"

/* ---- the state ---------------------------------------------------------- */

static void names_build(struct state *st)
{
    static const enum hv_field_id frame_fields[] = {
        HVF_mfn, HVF_table_mfn, HVF_target_mfn, HVF_gmfn, HVF_smfn,
        HVF_other_mfn, HVF_src_mfn, HVF_dst_mfn, HVF_frame,
    };
    for (int id = 1; id < HVE__COUNT; id++) {
        const struct hv_event_desc *d = hv_event_desc((enum hv_event_id)id);
        struct st_names *n = &st->names[id];
        if (!d)
            continue;
        for (size_t i = 0; i < sizeof(frame_fields) / sizeof(frame_fields[0]); i++)
            if (d->pos[frame_fields[i]] != HV_NOFIELD && n->n < ST_MAXNAME)
                n->f[n->n++] = frame_fields[i];
        /* a root's or p2m entry's frames */
        if ((id == HVE_pt_baseptr_set || id == HVE_p2m_entry_set) &&
            n->n + 2 <= ST_MAXNAME) {
            n->f[n->n++] = HVF_old_mfn;
            n->f[n->n++] = HVF_new_mfn;
        }
    }
}

struct state *state_new(struct findings *sink, unsigned history_len)
{
    struct state *st = st_xcalloc(1, sizeof(*st));
    st->sink = sink;
    st->hlen = history_len ? history_len : 8;
    if (st->hlen > 1024)
        st->hlen = 1024;
    ht_init(&st->frames, sizeof(struct st_frame));
    ht_init(&st->pfns, sizeof(struct st_pfn));
    ht_init(&st->doms, sizeof(struct st_dom));
    ht_init(&st->roots, sizeof(struct sword));
    ht_init(&st->pins, sizeof(struct sword));
    ht_init(&st->gmaps, sizeof(struct st_gmap));
    names_build(st);
    return st;
}

void state_free(struct state *st)
{
    if (!st)
        return;
    ht_fini(&st->frames);
    ht_fini(&st->pfns);
    ht_fini(&st->doms);
    ht_fini(&st->roots);
    ht_fini(&st->pins);
    ht_fini(&st->gmaps);
    for (size_t i = 0; i < st->nptpool; i++)
        free(st->ptpool[i]);
    free(st->ptpool);
    for (size_t i = 0; i < st->nhpool; i++)
        free(st->hpool[i]);
    free(st->hpool);
    free(st->debt);         /* P3: state_untraced.c's debt table */
    free(st);
}

static inline uint64_t key_dom(uint8_t host, uint16_t dom)
{
    return (uint64_t)host << 16 | dom;
}

static struct st_frame *frame_get(struct state *st, uint8_t host, uint64_t mfn)
{
    bool created;
    struct st_frame *f = ht_get(&st->frames, mfn, host, &created);
    if (created) {
        f->mfn = mfn;
        f->host = host;
        f->pfn.v = FINDING_NONE;
    }
    return f;
}

const struct st_frame *st_frame_find(const struct state *st, uint8_t host,
                                     uint64_t mfn)
{
    return ht_find(&st->frames, mfn, host);
}

static struct st_pfn *pfn_get(struct state *st, uint8_t host, uint16_t dom,
                              uint64_t pfn)
{
    bool created;
    struct st_pfn *p = ht_get(&st->pfns, pfn, key_dom(host, dom), &created);
    if (created) {
        p->mfn = FINDING_NONE;
        p->last_sent_iter = -1;
        p->p2m.v = st_p2m_pack(UINT64_MAX, 0);
    }
    return p;
}

static struct st_dom *dom_get(struct state *st, uint8_t host, uint16_t dom)
{
    return ht_get(&st->doms, dom, host, NULL);
}

static struct st_ptes *ptes_of(struct state *st, struct st_frame *f)
{
    if (!f->pt) {
        if (st->nptpool == st->capptpool) {
            size_t nc = st->capptpool ? st->capptpool * 2 : 256;
            st->ptpool = st_xrealloc(st->ptpool, nc, sizeof(*st->ptpool));
            st->capptpool = nc;
        }
        f->pt = st_xcalloc(1, sizeof(*f->pt));
        st->ptpool[st->nptpool++] = f->pt;
    }
    return f->pt;
}

/* ---- S3: history (the rings: state_history.c) ------------------------------ */

static void hist_named(struct state *st, uint8_t host, uint64_t mfn,
                       const struct hv_ev *e)
{
    if (mfn == UINT64_MAX || mfn == 0xFFFFFFFFULL)
        return;
    st_hist_push(st, frame_get(st, host, mfn), e);
}

/* ---- R1: the mutators ---------------------------------------------------- */

bool st_pt_live(uint64_t type)
{
    return (type & ST_PGT_type_mask) == ST_PGT_l1 && (type & ST_PGT_validated);
}

/* R3: one L1 entry in or out of its target's maps. */
static void map_count(struct state *st, uint8_t host, uint64_t pte, int d)
{
    if (!(pte & ST_PTE_P))
        return;
    struct st_frame *t = frame_get(st, host, ST_PTE_MFN(pte));
    uint32_t *c = (pte & ST_PTE_RW) ? &t->maps_rw : &t->maps_ro;
    if (d > 0)
        (*c)++;
    else if (*c)
        (*c)--;
}

/* R3: count or uncount every known entry of table f. */
static void frame_recount(struct state *st, struct st_frame *f)
{
    bool want = f->type.known && st_pt_live(f->type.v) && !f->devalidating &&
                !f->in_batch;
    if (want == f->counted)
        return;
    f->counted = want;
    if (!f->pt)
        return;
    for (unsigned i = 0; i < ST_PT_ENTRIES; i++)
        if (f->pt->known[i / 64] >> (i % 64) & 1)
            map_count(st, f->host, f->pt->v[i], want ? 1 : -1);
}

/* R6: the guest may store into a frame it holds a writable (or other
   non-page-table) type of without any event: what the trace told of its
   entries is no longer known. */
static void frame_forget(struct st_frame *f)
{
    if (f->pt && !f->counted)
        memset(f->pt->known, 0, sizeof(f->pt->known));
}

static void frame_set_type(struct state *st, struct st_frame *f, uint64_t nt)
{
    f->type.v = nt;
    f->type.known = true;
    frame_recount(st, f);
    if ((nt & ST_PGT_count_mask) &&
        ((nt & ST_PGT_type_mask) < ST_PGT_l1 ||
         (nt & ST_PGT_type_mask) > ST_PGT_l4))
        frame_forget(f);
}

static void pte_set(struct state *st, const struct hv_ev *e, uint64_t nv)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    struct st_frame *f = frame_get(st, host, hv_u(e, HVF_table_mfn));
    struct st_ptes *p = ptes_of(st, f);
    unsigned slot = (unsigned)hv_u(e, HVF_slot) % ST_PT_ENTRIES;
    bool known = p->known[slot / 64] >> (slot % 64) & 1;
    if (f->counted) {
        if (known)
            map_count(st, host, p->v[slot], -1);
        map_count(st, host, nv, 1);
    }
    p->v[slot] = nv;
    p->known[slot / 64] |= 1ULL << (slot % 64);
}

/* w is a struct sword's v (its first member) or, for W_PTE, an entry of a
   table copy (pte_set keeps its known bit). */
static void st_apply(struct state *st, enum wkind k, uint64_t *w,
                     uint64_t nv, const struct hv_ev *e)
{
    switch (k) {
    case W_TYPE:
        frame_set_type(st, frame_get(st, (uint8_t)hv_u(e, HVF_host),
                                     hv_u(e, HVF_mfn)), nv);
        return;
    case W_PTE:
        pte_set(st, e, nv);
        return;
    case W_P2M: {
        /* the pfn's view follows its entry */
        struct st_pfn *p = pfn_get(st, (uint8_t)hv_u(e, HVF_host),
                                   (uint16_t)hv_u(e, HVF_dom), hv_u(e, HVF_gfn));
        p->mfn = st_p2m_mfn(nv);
        p->have_mfn = true;
        break;
    }
    default:
        break;
    }
    struct sword *sw = (struct sword *)(void *)w;
    sw->v = nv;
    sw->known = true;
}

/* R1: every change of a checked word, checked first (state_untraced.c). */
static void st_wapply(struct state *st, enum wkind k, uint64_t *w, bool known,
                      uint64_t old, uint64_t nv, const struct hv_ev *e)
{
    if (st_wcheck(st, k, w, known, old, nv, e))
        st_apply(st, k, w, nv, e);
}

/* ---- the events ------------------------------------------------------------ */

static void ev_mm(struct state *st, const struct hv_ev *e, uint8_t host)
{
    struct st_frame *f = frame_get(st, host, hv_u(e, HVF_mfn));
    if (hv_has(e, HVF_owner) && e->id != HVE_mm_page_free) {
        f->owner = (uint16_t)hv_u(e, HVF_owner);
        f->owner_known = true;
    }
    switch (e->id) {
    case HVE_mm_count_change:
        st_wapply(st, W_COUNT, &f->count.v, f->count.known, hv_u(e, HVF_old_count),
               hv_u(e, HVF_new_count), e);
        break;
    case HVE_mm_type_change:
        st_wapply(st, W_TYPE, &f->type.v, f->type.known, hv_u(e, HVF_old_type),
               hv_u(e, HVF_new_type), e);
        break;
    case HVE_mm_pin:
    case HVE_mm_unpin:
    case HVE_mm_type_reset:
        /* the type_change with the same words came first (frame.c) */
        if (!f->type.known)
            frame_set_type(st, f, hv_u(e, HVF_new_type));
        break;
    case HVE_mm_m2p_set:
        st_wapply(st, W_M2P, &f->pfn.v, f->pfn.known, hv_u(e, HVF_old_pfn),
               hv_u(e, HVF_new_pfn), e);
        break;
    case HVE_mm_devalidate_begin:
        f->devalidating = true;
        f->in_batch = false;
        frame_recount(st, f);
        break;
    case HVE_mm_devalidate_end:
        f->devalidating = false;
        frame_recount(st, f);
        break;
    case HVE_mm_page_free:
        f->owner = DOMID_INVALID;
        f->owner_known = true;
        frame_forget(f);        /* R6: scrubbed, reused */
        break;
    default:
        break;
    }
}

static void ev_pte(struct state *st, const struct hv_ev *e, uint8_t host)
{
    struct st_frame *f = frame_get(st, host, hv_u(e, HVF_table_mfn));
    struct st_ptes *p = ptes_of(st, f);
    unsigned slot = (unsigned)hv_u(e, HVF_slot) % ST_PT_ENTRIES;
    bool known = p->known[slot / 64] >> (slot % 64) & 1;
    uint64_t o = hv_u(e, HVF_old_pte), n = hv_u(e, HVF_new_pte);

    uint64_t path = hv_u(e, HVF_path);

    if (o & ST_PTE_P)
        hist_named(st, host, ST_PTE_MFN(o), e);
    if (n & ST_PTE_P)
        hist_named(st, host, ST_PTE_MFN(n), e);
    /* R7: a batch opens on the L1 this entry maps; a write by another
       path into a table closes its batch */
    if (path == ST_PTW_PTWR_PROTECT && (n & ST_PTE_P) && (n & ST_PTE_RW)) {
        struct st_frame *t = frame_get(st, host, ST_PTE_MFN(n));
        t->in_batch = true;
        frame_recount(st, t);
    }
    if (f->in_batch && (path < ST_PTW_PTWR_UNHOOK || path > ST_PTW_PTWR_PROTECT)) {
        f->in_batch = false;
        frame_recount(st, f);
    }
    /* R7: a flush's old value is the guest's native store */
    if (hv_u(e, HVF_path) == ST_PTW_PTWR_FLUSH)
        known = false;
    st_wapply(st, W_PTE, &p->v[slot], known, o, n, e);
}

static void ev_grant(struct state *st, const struct hv_ev *e, uint8_t host)
{
    switch (e->id) {
    case HVE_grant_pin_change: {
        bool created;
        struct sword *w = ht_get(&st->pins, hv_u(e, HVF_ref),
                                 key_dom(host, (uint16_t)hv_u(e, HVF_rdom)),
                                 &created);
        st_wapply(st, W_PIN, &w->v, w->known, hv_u(e, HVF_before),
               hv_u(e, HVF_after), e);
        break;
    }
    case HVE_grant_map:
    case HVE_grant_unmap: {
        if ((int16_t)hv_u(e, HVF_status) != GNTST_okay)
            break;
        struct st_gmap *g = ht_get(&st->gmaps, hv_u(e, HVF_handle),
                                   key_dom(host, (uint16_t)hv_u(e, HVF_ldom)),
                                   NULL);
        if (g->live) {      /* undo what this handle counted */
            struct st_frame *f = frame_get(st, host, g->mfn);
            if (f->gmaps)
                f->gmaps--;
            if (g->rw && f->gmaps_rw)
                f->gmaps_rw--;
            g->live = false;
        }
        if (e->id == HVE_grant_map) {
            g->live = true;
            g->host = host;
            g->rw = !(hv_u(e, HVF_flags) & GNTMAP_readonly);
            g->mfn = hv_u(e, HVF_mfn);
            g->rdom = (uint16_t)hv_u(e, HVF_rdom);
            g->ref = (uint32_t)hv_u(e, HVF_ref);
            struct st_frame *f = frame_get(st, host, g->mfn);
            f->gmaps++;
            if (g->rw)
                f->gmaps_rw++;
        }
        break;
    }
    default:
        break;
    }
}

static void ev_dirty(struct state *st, const struct hv_ev *e, uint8_t host)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct st_dom *d = dom_get(st, host, dom);
    switch (e->id) {
    case HVE_dirty_enable:
    case HVE_dirty_disable:
        if (hv_s(e, HVF_rc) == 0) {
            d->logdirty_on = e->id == HVE_dirty_enable;
            d->clean_epoch++;
        }
        break;
    case HVE_dirty_clean:
        d->clean_epoch++;
        break;
    case HVE_dirty_mark: {
        struct st_pfn *p = pfn_get(st, host, dom, hv_u(e, HVF_pfn));
        p->dirty = true;
        p->dirty_epoch = d->clean_epoch;
        p->last_mark_ts = e->ts;
        break;
    }
    default:
        break;
    }
}

static void ev_mig(struct state *st, const struct hv_ev *e, uint8_t host)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    switch (e->id) {
    case HVE_mig_send_page: {
        struct st_pfn *p = pfn_get(st, host, dom, hv_u(e, HVF_pfn));
        p->last_sent_iter = (int32_t)hv_u(e, HVF_iter);
        p->last_sent_hash = hv_u(e, HVF_hash);
        p->last_sent_ts = e->ts;
        if (!p->have_mfn && hv_u(e, HVF_mfn) != UINT64_MAX) {
            p->mfn = hv_u(e, HVF_mfn);
            p->have_mfn = true;
        }
        break;
    }
    case HVE_mig_recv_page: {
        if (hv_u(e, HVF_verify))
            break;
        struct st_pfn *p = pfn_get(st, host, dom, hv_u(e, HVF_pfn));
        if (hv_u(e, HVF_mfn) != UINT64_MAX) {
            p->mfn = hv_u(e, HVF_mfn);
            p->have_mfn = true;
        }
        break;
    }
    default:
        break;
    }
}

void state_event(struct state *st, const struct hv_ev *e)
{
    if (!e->desc || e->id <= HVE_NONE || e->id >= HVE__COUNT)
        return;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    const struct st_names *nm = &st->names[e->id];

    st->evno++;

    /* S3 first: a finding made below shows the event that revealed it */
    for (unsigned i = 0; i < nm->n; i++)
        hist_named(st, host, hv_u(e, nm->f[i]), e);

    switch (e->id) {
    case HVE_mm_count_change:
    case HVE_mm_type_change:
    case HVE_mm_pin:
    case HVE_mm_unpin:
    case HVE_mm_type_reset:
    case HVE_mm_m2p_set:
    case HVE_mm_devalidate_begin:
    case HVE_mm_devalidate_end:
    case HVE_mm_page_alloc:
    case HVE_mm_page_free:
    case HVE_mm_validate_begin:
    case HVE_mm_validate_end:
    case HVE_mm_partial_set:
    case HVE_mm_partial_clear:
        ev_mm(st, e, host);
        break;
    case HVE_pt_pte_write:
        ev_pte(st, e, host);
        break;
    case HVE_pt_baseptr_set: {
        struct sword *w = ht_get(&st->roots,
                                 hv_u(e, HVF_vcpu) << 1 | (hv_u(e, HVF_user) & 1),
                                 key_dom(host, (uint16_t)hv_u(e, HVF_dom)), NULL);
        st_wapply(st, W_ROOT, &w->v, w->known, hv_u(e, HVF_old_mfn),
               hv_u(e, HVF_new_mfn), e);
        break;
    }
    case HVE_p2m_entry_set: {
        struct st_pfn *p = pfn_get(st, host, (uint16_t)hv_u(e, HVF_dom),
                                   hv_u(e, HVF_gfn));
        st_wapply(st, W_P2M, &p->p2m.v, p->p2m.known,
               st_p2m_pack(hv_u(e, HVF_old_mfn), hv_u(e, HVF_old_type)),
               st_p2m_pack(hv_u(e, HVF_new_mfn), hv_u(e, HVF_new_type)), e);
        break;
    }
    case HVE_shadow_promote: {
        struct st_frame *f = frame_get(st, host, hv_u(e, HVF_gmfn));
        f->shadow_flags = (uint8_t)hv_u(e, HVF_flags);   /* R8 */
        break;
    }
    case HVE_shadow_unsync: {
        struct st_frame *f = frame_get(st, host, hv_u(e, HVF_gmfn));
        f->shadow_flags |= ST_SHF_OOS | ST_SHF_OOS_MAY_WRITE;
        break;
    }
    case HVE_shadow_resync: {
        if (!hv_u(e, HVF_full))
            break;
        struct st_frame *f = frame_get(st, host, hv_u(e, HVF_gmfn));
        f->shadow_flags &= (uint8_t)~(ST_SHF_OOS | ST_SHF_OOS_MAY_WRITE);
        break;
    }
    case HVE_grant_pin_change:
    case HVE_grant_map:
    case HVE_grant_unmap:
        ev_grant(st, e, host);
        break;
    case HVE_dirty_enable:
    case HVE_dirty_disable:
    case HVE_dirty_clean:
    case HVE_dirty_mark:
        ev_dirty(st, e, host);
        break;
    case HVE_mig_send_page:
    case HVE_mig_recv_page:
        ev_mig(st, e, host);
        break;
    default:
        break;
    }
}

/* ---- audit ---------------------------------------------------------------- */

/*
 * The counters kept beside the tables, recomputed from them: maps_rw /
 * maps_ro from the known entries of every counted L1 (R3), grant_maps /
 * grant_maps_rw from the live grant mappings.  0, or -1 with the first
 * disagreement in err.  O(frames + counted tables x 512).
 */
int st_audit(const struct state *st, char *err, size_t errlen)
{
    size_t n = st->frames.n;
    uint32_t *rw = st_xcalloc(n ? n : 1, 4 * sizeof(uint32_t));
    uint32_t *ro = rw + n, *g = ro + n, *grw = g + n;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        const struct st_frame *t = ht_entry(&st->frames, (uint32_t)i);
        if (!t->counted || !t->pt)
            continue;
        for (unsigned k = 0; k < ST_PT_ENTRIES; k++) {
            uint64_t v = t->pt->v[k];
            if (!(t->pt->known[k / 64] >> (k % 64) & 1) || !(v & ST_PTE_P))
                continue;
            const struct st_frame *x = ht_find(&st->frames, ST_PTE_MFN(v),
                                               t->host);
            uint32_t j = x ? ht_index(&st->frames, x) : UINT32_MAX;
            if (j == UINT32_MAX)
                continue;
            if (v & ST_PTE_RW)
                rw[j]++;
            else
                ro[j]++;
        }
    }
    for (size_t i = 0; i < st->gmaps.n; i++) {
        const struct st_gmap *m = ht_entry(&st->gmaps, (uint32_t)i);
        if (!m->live)
            continue;
        const struct st_frame *x = ht_find(&st->frames, m->mfn, m->host);
        uint32_t j = x ? ht_index(&st->frames, x) : UINT32_MAX;
        if (j == UINT32_MAX)
            continue;
        g[j]++;
        grw[j] += m->rw;
    }
    for (size_t j = 0; j < n && !rc; j++) {
        const struct st_frame *x = ht_entry(&st->frames, (uint32_t)j);
        if (x->maps_rw != rw[j] || x->maps_ro != ro[j] ||
            x->gmaps != g[j] || x->gmaps_rw != grw[j]) {
            snprintf(err, errlen, "host %u mfn %#" PRIx64 ": maps rw/ro %u/%u,"
                     " tables say %u/%u; grant maps %u (rw %u), live %u"
                     " (rw %u)", (unsigned)x->host, x->mfn, x->maps_rw,
                     x->maps_ro, rw[j], ro[j], x->gmaps, x->gmaps_rw, g[j],
                     grw[j]);
            rc = -1;
        }
    }
    free(rw);
    return rc;
}

/* ---- queries ----------------------------------------------------------------- */

bool state_frame(const struct state *st, uint8_t host, uint64_t mfn,
                 struct frame_view *out)
{
    const struct st_frame *f = ht_find(&st->frames, mfn, host);
    memset(out, 0, sizeof(*out));
    out->pfn = FINDING_NONE;
    if (!f)
        return false;
    out->known = true;
    out->owner = f->owner_known ? f->owner : FINDING_NODOM;
    out->count_info = f->count.v;
    out->type_info = f->type.v;
    out->pfn = f->pfn.known ? f->pfn.v : FINDING_NONE;
    out->maps_rw = f->maps_rw;
    out->maps_ro = f->maps_ro;
    out->grant_maps = f->gmaps;
    out->grant_maps_rw = f->gmaps_rw;
    return true;
}

bool state_pfn(const struct state *st, uint8_t host, uint16_t dom,
               uint64_t pfn, struct pfn_view *out)
{
    const struct st_pfn *p = ht_find(&st->pfns, pfn, key_dom(host, dom));
    const struct st_dom *d = ht_find(&st->doms, dom, host);
    memset(out, 0, sizeof(*out));
    out->mfn = FINDING_NONE;
    out->last_sent_iter = -1;
    if (!p)
        return false;
    out->known = true;
    out->mfn = p->have_mfn ? p->mfn : FINDING_NONE;
    out->p2m_type = p->p2m.known ? (uint32_t)(p->p2m.v >> 48 & 0xFF) : 0;
    out->dirty = p->dirty && d && p->dirty_epoch == d->clean_epoch;
    out->last_sent_iter = p->last_sent_iter;
    out->last_sent_hash = p->last_sent_hash;
    out->last_sent_ts = p->last_sent_ts;
    out->last_mark_ts = p->last_mark_ts;
    return true;
}

bool state_pte(const struct state *st, uint8_t host, uint64_t table_mfn,
               unsigned slot, uint64_t *pte)
{
    const struct st_frame *f = ht_find(&st->frames, table_mfn, host);
    if (!f || !f->pt || slot >= ST_PT_ENTRIES ||
        !(f->pt->known[slot / 64] >> (slot % 64) & 1))
        return false;
    *pte = f->pt->v[slot];
    return true;
}

uint64_t state_root(const struct state *st, uint8_t host, uint16_t dom,
                    uint16_t vcpu, bool user)
{
    const struct sword *w = ht_find(&st->roots, (uint64_t)vcpu << 1 | user,
                                    key_dom(host, dom));
    return w && w->known ? w->v : FINDING_NONE;
}
