/*
 * analysis/check_devalidated.c - story D (XEN-NOTES 8.6, 12.D; invariants
 * 12, 31, 33): devalidated page tables across a migration.
 *
 * A page table whose last type reference went keeps its type bits (L1..L4)
 * with type count 0, PGT_validated clear and not pinned: it is no page
 * table any more, its entries are stale history holding no references.
 * Before Xen's 0a87e677f4 getpageframeinfo3 still reported its type, so
 * the saver normalised it (and the restorer localised it) or, after a raw
 * write retyped it, sent it raw: what the destination holds depends on
 * which round sampled it last.
 *
 * Rules:
 *   D1  The frame's state is the rebuilt one (state_frame): devalidated =
 *       type bits L1..L4, type count 0, not validated, not pinned.  The
 *       checker remembers when each frame became devalidated (the seq of
 *       the type event after which the state first said so).
 *   D2  story-d.devalidated-sent-as-pt: a hvlab_mig:send_page (or a
 *       hvlab_mig:normalise_fail: the saver tried) with a page-table type
 *       (XEN_DOMCTL_PFINFO_L1TAB..L4TAB) of a frame devalidated since
 *       before its batch was typed: the saver types a batch (1024 pfns;
 *       in round 0 the pfns base .. base + 1023) after the previous
 *       batch's pages went out, so a frame devalidated before the last
 *       page event of the previous batch (or before the round began) was
 *       typed devalidated.  A frame devalidated within its batch may have
 *       been typed valid: not reported.  Once per (host, dom, pfn).  The
 *       verify pass is not a send.
 *   D3  story-d.pt-after-restore, on the host that receives (recv_page):
 *       (a) a pfn received with a page-table type whose send was not
 *       normalised (normalised = 0: its entries still hold the source's
 *       mfns); (b) a pfn whose last page came raw although the source
 *       frame's type bits said page table at that send (stale entries,
 *       untranslated), whose frame is then validated as a page table
 *       (hvlab_mm:validate_begin) with no PTE written into it on the
 *       destination since it arrived, and no writable type with users
 *       since (the guest could then have stored fresh entries unseen: a
 *       page reused as a new table): the guest relies on entries that
 *       name the source host's frames.  Once per (host, dom, pfn).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/domctl.h>

#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/keytab.h"
#include "analysis/layout.h"
#include "analysis/state.h"

struct dvframe {            /* key (host, mfn) */
    bool dv;                /* D1 */
    uint64_t since_seq;
    int64_t since_ts;
    /* destination side (D3b) */
    bool dst;               /* a pfn arrived in this frame */
    uint16_t dst_dom;
    uint64_t dst_pfn;
    bool written;           /* a PTE written into it since it arrived */
};

struct dvmig {              /* key (host, dom): the saver's current round */
    uint64_t round_seq;
    int32_t iter;
    uint8_t final;
    int64_t bid;            /* D2: the batch of the last page, -1 none yet */
    uint64_t batch_seq;     /* the batch was typed after this event */
    uint64_t last_seq;      /* the round's last page event */
    uint64_t nev;           /* page events in the round */
};

/* D2: libxc's MAX_BATCH_SIZE (toolstack/stream.h STREAM_MAX_BATCH): the
   saver types and sends pfns in batches of this many. */
#define DV_MAX_BATCH 1024U

struct dvpage {             /* key (dom, pfn): what was sent, what arrived */
    bool sent;
    uint8_t src_host;
    uint32_t type;          /* as sent */
    bool normalised;
    bool stale_pt;          /* the frame's type bits said PT at that send */
    uint64_t src_mfn, hash;
    int32_t iter;
    int64_t send_ts;
    bool reported_sent;     /* D2, once */
    bool reported_dst;      /* D3, once */
};

struct dvchk {
    bool d2, d3;            /* which finding this instance makes */
    struct keytab frames, migs, pages;
};

static unsigned pt_level(uint64_t type_info)
{
    return (unsigned)((type_info & ST_PGT_type_mask) >> ST_PGT_type_shift);
}

static bool devalidated(uint64_t type_info)
{
    unsigned l = pt_level(type_info);
    return l >= 1 && l <= 4 && !(type_info & (ST_PGT_validated | ST_PGT_pinned)) &&
           (type_info & ST_PGT_count_mask) == 0;
}

/* The page-table level a XEN_DOMCTL_PFINFO_* word reports, 0 for none. */
static unsigned pfinfo_level(uint32_t type)
{
    uint32_t l = (type & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) >> XEN_DOMCTL_PFINFO_LTAB_SHIFT;
    return l >= 1 && l <= 4 ? l : 0;
}

static double secs(int64_t ts)
{
    return (double)ts / 1e9;
}

static void on_type(struct dvchk *c, struct az *az, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t mfn = hv_u(e, HVF_mfn);
    struct frame_view v;
    if (!state_frame(az_state(az), host, mfn, &v) || !v.known)
        return;
    bool dv = devalidated(v.type_info);
    struct dvframe *f = dv ? kt_get(&c->frames, host, mfn)
                           : kt_find(&c->frames, host, mfn);
    if (!f)
        return;
    if (dv && !f->dv) {
        f->since_seq = e->seq;
        f->since_ts = e->ts;
    }
    f->dv = dv;
    /* D3b: writable with users, the guest may store new entries into it
       with no event (a page it reuses as a fresh table) */
    if (f->dst && (v.type_info & ST_PGT_type_mask) == ST_PGT_writable &&
        (v.type_info & ST_PGT_count_mask))
        f->written = true;
}

/* D2: the batch a page event belongs to, and when that batch was typed. */
static void batch_note(struct dvchk *c, const struct hv_ev *e, uint8_t host,
                       uint16_t dom, uint64_t pfn)
{
    struct dvmig *m = kt_find(&c->migs, host, dom);
    if (!m)
        return;
    int64_t bid = (int64_t)((m->iter == 0 ? pfn : m->nev) / DV_MAX_BATCH);
    m->nev++;
    if (bid != m->bid) {
        m->batch_seq = m->bid < 0 ? m->round_seq : m->last_seq;
        m->bid = bid;
    }
    m->last_seq = e->seq;
}

/* D2 */
static void sent_as_pt(struct dvchk *c, struct az *az, const struct hv_ev *e,
                       uint8_t host, uint16_t dom, uint64_t pfn, uint64_t mfn,
                       uint32_t type, const char *how)
{
    struct dvmig *m = kt_find(&c->migs, host, dom);
    struct dvframe *f = kt_find(&c->frames, host, mfn);
    struct frame_view v;
    if (!m || !f || !f->dv || f->since_seq >= m->batch_seq ||
        !state_frame(az_state(az), host, mfn, &v) || !devalidated(v.type_info))
        return;
    struct dvpage *p = kt_get(&c->pages, dom, pfn);
    if (!c->d2 || !p || p->reported_sent)
        return;
    p->reported_sent = true;
    az_report(az, "story-d.devalidated-sent-as-pt", e, host, dom, mfn, pfn,
              "pfn %#" PRIx64 " (mfn %#" PRIx64 ") of dom%u was %s as an L%u page "
              "table (pfinfo %#x) in round %d, but it has been devalidated since "
              "%.3f s (type bits L%u, type count 0, not validated, not pinned): "
              "its entries are stale and hold no references, so its type should "
              "have been reported NOTAB (invariant 12; Xen's 0a87e677f4)",
              pfn, mfn, dom, how, pfinfo_level(type), type, m->iter,
              secs(f->since_ts), pt_level(v.type_info));
}

static void on_send(struct dvchk *c, struct az *az, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct dvmig *m = kt_find(&c->migs, host, dom);
    if (m && m->final == 2)                 /* the verify pass */
        return;
    uint64_t pfn = hv_u(e, HVF_pfn), mfn = hv_u(e, HVF_mfn);
    uint32_t type = (uint32_t)hv_u(e, HVF_type);
    batch_note(c, e, host, dom, pfn);
    struct frame_view v;
    bool stale = state_frame(az_state(az), host, mfn, &v) && v.known &&
                 devalidated(v.type_info);
    struct dvpage *p = kt_get(&c->pages, dom, pfn);
    if (!p)
        return;
    p->sent = true;
    p->src_host = host;
    p->type = type;
    p->normalised = hv_u(e, HVF_normalised) != 0;
    p->stale_pt = stale;
    p->src_mfn = mfn;
    p->hash = hv_u(e, HVF_hash);
    p->iter = (int32_t)hv_u(e, HVF_iter);
    p->send_ts = e->ts;
    if (pfinfo_level(type) && p->normalised)
        sent_as_pt(c, az, e, host, dom, pfn, mfn, type, "sent (normalised)");
}

static void on_normalise_fail(struct dvchk *c, struct az *az, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    uint64_t pfn = hv_u(e, HVF_pfn);
    uint32_t type = (uint32_t)hv_u(e, HVF_type);
    struct dvmig *m = kt_find(&c->migs, host, dom);
    if (m && m->final == 2)
        return;
    batch_note(c, e, host, dom, pfn);
    struct pfn_view pv;
    if (!pfinfo_level(type) || !state_pfn(az_state(az), host, dom, pfn, &pv) ||
        !pv.known || pv.mfn == FINDING_NONE)
        return;
    char how[160];
    snprintf(how, sizeof how, "given to the saver (normalising failed with %" PRId64
             " at L%u slot %u, entry %#" PRIx64 ")", hv_s(e, HVF_rc),
             (unsigned)hv_u(e, HVF_level), (unsigned)hv_u(e, HVF_slot),
             hv_u(e, HVF_entry));
    sent_as_pt(c, az, e, host, dom, pfn, pv.mfn, type, how);
}

/* D3 */
static void on_recv(struct dvchk *c, struct az *az, const struct hv_ev *e)
{
    if (hv_u(e, HVF_verify))
        return;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    uint64_t pfn = hv_u(e, HVF_pfn), mfn = hv_u(e, HVF_mfn);
    uint32_t type = (uint32_t)hv_u(e, HVF_type);
    struct dvframe *f = kt_get(&c->frames, host, mfn);
    if (f) {
        f->dst = true;
        f->dst_dom = dom;
        f->dst_pfn = pfn;
        f->written = false;
    }
    struct dvpage *p = kt_find(&c->pages, dom, pfn);
    if (!c->d3 || !p || !p->sent || p->src_host == host || p->reported_dst)
        return;
    if (pfinfo_level(type) && pfinfo_level(p->type) && !p->normalised) {  /* D3a */
        p->reported_dst = true;
        az_report(az, "story-d.pt-after-restore", e, host, dom, mfn, pfn,
                  "pfn %#" PRIx64 " of dom%u arrived on host %u (mfn %#" PRIx64 ") "
                  "as an L%u page table, but its send in round %d at %.3f s was "
                  "not normalised: its entries name host %u's frames, and "
                  "localising them gives frames the guest never meant",
                  pfn, dom, host, mfn, pfinfo_level(type), p->iter,
                  secs(p->send_ts), p->src_host);
    }
}

static void on_pte(struct dvchk *c, const struct hv_ev *e)
{
    struct dvframe *f = kt_find(&c->frames, (uint8_t)hv_u(e, HVF_host),
                                hv_u(e, HVF_table_mfn));
    if (f && f->dst)
        f->written = true;
}

static void on_validate(struct dvchk *c, struct az *az, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t mfn = hv_u(e, HVF_mfn);
    struct dvframe *f = kt_find(&c->frames, host, mfn);
    if (!c->d3 || !f || !f->dst || f->written)
        return;
    struct dvpage *p = kt_find(&c->pages, f->dst_dom, f->dst_pfn);
    if (!p || !p->sent || p->reported_dst || !p->stale_pt || pfinfo_level(p->type))
        return;
    p->reported_dst = true;
    f->written = true;              /* once */
    az_report(az, "story-d.pt-after-restore", e, host, f->dst_dom, mfn, f->dst_pfn,
              "pfn %#" PRIx64 " of dom%u (mfn %#" PRIx64 " on host %u) is being "
              "validated as a page table with the content it arrived with, "
              "untranslated: it was a devalidated page table on host %u (mfn %#"
              PRIx64 ") when round %d sent it raw at %.3f s, and no entry of it "
              "was rewritten since, so its entries name host %u's frames",
              f->dst_pfn, f->dst_dom, mfn, host, p->src_host, p->src_mfn, p->iter,
              secs(p->send_ts), p->src_host);
}

static void dv_init(void *priv)
{
    struct dvchk *c = priv;
    kt_init(&c->frames, sizeof(struct dvframe));
    kt_init(&c->migs, sizeof(struct dvmig));
    kt_init(&c->pages, sizeof(struct dvpage));
}

static void dv_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct dvchk *c = priv;
    switch (e->id) {
    case HVE_mm_type_change:
    case HVE_mm_count_change:
    case HVE_mm_pin:
    case HVE_mm_unpin:
    case HVE_mm_type_reset:
        on_type(c, az, e);
        break;
    case HVE_mig_round_begin: {
        struct dvmig *m = kt_get(&c->migs, hv_u(e, HVF_host), hv_u(e, HVF_dom));
        if (m) {
            m->round_seq = e->seq;
            m->batch_seq = e->seq;
            m->bid = -1;
            m->nev = 0;
            m->last_seq = e->seq;
            m->iter = (int32_t)hv_u(e, HVF_iter);
            m->final = (uint8_t)hv_u(e, HVF_final);
        }
        break;
    }
    case HVE_mig_send_page:
        on_send(c, az, e);
        break;
    case HVE_mig_normalise_fail:
        on_normalise_fail(c, az, e);
        break;
    case HVE_mig_recv_page:
        on_recv(c, az, e);
        break;
    case HVE_pt_pte_write:
        on_pte(c, e);
        break;
    case HVE_mm_validate_begin:
        on_validate(c, az, e);
        break;
    default:
        break;
    }
}

static void dv_fini(void *priv)
{
    struct dvchk *c = priv;
    kt_fini(&c->frames);
    kt_fini(&c->migs);
    kt_fini(&c->pages);
}

static const enum hv_event_id dv_ids[] = {
    HVE_mm_type_change, HVE_mm_count_change, HVE_mm_pin, HVE_mm_unpin,
    HVE_mm_type_reset, HVE_mm_validate_begin,
    HVE_mig_round_begin, HVE_mig_send_page, HVE_mig_normalise_fail,
    HVE_mig_recv_page, HVE_pt_pte_write,
    HVE_NONE,
};

/* Two checkers (D2, D3) over one walk each: each instance reports only its
   own name, chosen by the event function the table entry names. */
static void dv_event_sent(void *priv, struct az *az, const struct hv_ev *e)
{
    ((struct dvchk *)priv)->d2 = true;
    dv_event(priv, az, e);
}

static void dv_event_restore(void *priv, struct az *az, const struct hv_ev *e)
{
    ((struct dvchk *)priv)->d3 = true;
    dv_event(priv, az, e);
}

const struct checker chk_story_d_devalidated_sent_as_pt = {
    .name = "story-d.devalidated-sent-as-pt",
    .what = "a page sent (or given to the saver) with a page-table type while "
            "its frame was devalidated: type bits PT, type count 0, not "
            "validated, not pinned (invariant 12)",
    .priv_size = sizeof(struct dvchk),
    .events = dv_ids,
    .init = dv_init,
    .event = dv_event_sent,
    .fini = dv_fini,
};

const struct checker chk_story_d_pt_after_restore = {
    .name = "story-d.pt-after-restore",
    .what = "on the destination, a page received as a page table that was not "
            "normalised, or a devalidated table sent raw then validated as a "
            "page table before any entry of it was rewritten",
    .priv_size = sizeof(struct dvchk),
    .events = dv_ids,
    .init = dv_init,
    .event = dv_event_restore,
    .fini = dv_fini,
};
