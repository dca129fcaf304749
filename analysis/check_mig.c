/*
 * analysis/check_mig.c - the migration stream itself: page records the
 * destination got twice, never got, or got with other bytes than the
 * source sent; and pages the source changed after their last send with no
 * write and no dirty mark in the trace (a lost dirty bit).
 *
 * Rules:
 *   R1  A migration is keyed by domain id: its source is the host whose
 *       hvlab_mig:send_page events name the domain, its destination any
 *       other host whose hvlab_mig:recv_page events do.  Sends and receives
 *       of the verify pass (round_begin final = 2, recv_page verify = 1)
 *       are comparisons, not records.  A new hvlab_dirty:enable of the
 *       source domain starts the migration again.
 *   R2  Records are paired per pfn in order: the k-th record the
 *       destination applied for a pfn is the k-th the source traced (a
 *       record the source left out is traced on neither side).  Up to
 *       MIG_KEEP records are paired per pfn; past that the pfn is counted,
 *       not checked.
 *   R3  mig.record-duplicated: the destination applied more records of a
 *       pfn than the source sent, and one of them came right after a record
 *       of the same pfn with the same hash (nothing applied between them):
 *       one record sent twice.  Both conditions: a round whose only record
 *       is the pfn the round before ended with, re-sent unchanged, is two
 *       records sent.  Which of two equal records is the repeat is told
 *       by time: a record cannot pair with a send traced after it arrived
 *       (the source traces a send before it writes the record), so a
 *       round that re-sends a page unchanged does not take the blame for
 *       the round before's duplicate, nor the other way round.  A
 *       duplicate is not paired (R2); its round is that of the record it
 *       repeats.
 *   R4  mig.content-corrupted: a paired record whose hash on arrival is not
 *       the hash the source traced when it read the page.
 *   R5  mig.record-dropped: (a) a pfn the first round (which sends every
 *       pfn) did not send and no later round sent; (b) a pfn marked dirty
 *       between the CLEAN the round before began with and the CLEAN a
 *       round began with (that CLEAN returned it; a mark may come before
 *       the pfn's send in the round before, as a page stays writable until
 *       the next CLEAN), not sent in that round, and not sent later.  A
 *       later send heals either: nothing is reported.  Marks traced before
 *       hvlab_dirty:enable (enabling takes a while) count.
 *   R6  story-e.unmarked-write: the verify pass found a pfn different on
 *       the destination (hvlab_mig:verify_mismatch) that R3-R5 do not
 *       explain, and story E's checker saw no write after its last send
 *       (check_dirty.h): the source changed it with no dirty mark.  The
 *       writer named is whoever could write the frame then: its owner
 *       through its own writable PTEs, or a domain with a writable grant
 *       mapping.
 *   R7  Findings are made at the end (checker.h K4), and only for a
 *       migration whose save did not fail (a failed save resumes the guest
 *       on the source: nothing arrived).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/domctl.h>         /* XEN_DOMCTL_PFINFO_* (with __XEN_TOOLS__) */

#include "analysis/check_dirty.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/keytab.h"
#include "analysis/state.h"

#define MIG_KEEP 16             /* R2 */

struct mmig {                   /* key (dom, 0), R1 */
    uint32_t epoch;
    bool has_src, failed, saved;
    uint8_t src;                /* source host */
    uint8_t final;              /* of the current round */
    int32_t iter, first_iter;   /* current round, the first round (-1) */
    int64_t last_clean_ts;      /* the source's last CLEAN */
    int64_t round_clean_ts;     /* the CLEAN the current round began with */
    int64_t prev_clean_ts;      /* the one the round before began with */
    uint64_t first_max_pfn;     /* highest pfn the first round sent */
    int64_t first_end_ts;       /* when the first round ended */
    bool first_seen;
    /* R3: the destination's last applied record */
    bool prev_ok;
    uint8_t prev_host;
    uint64_t prev_pfn, prev_hash;
    int64_t verify_ts;
};

struct mrec {
    int32_t iter;
    uint64_t hash;
    int64_t ts;
    bool adjacent;              /* R3: right after a record of the same pfn
                                   with the same hash */
};

struct mpage {                  /* key (dom, pfn) */
    uint32_t epoch;
    uint8_t nsend, nrecv;       /* records kept (R2) */
    bool overflow;
    struct mrec send[MIG_KEEP], recv[MIG_KEEP];
    uint8_t recv_host;
    int32_t last_iter;          /* round of the last send, -1 */
    int64_t last_send_ts;
    uint64_t mfn;               /* frame the source read it from */
    int64_t mark_ts;            /* last dirty mark, 0 none */
    int32_t drop_iter;          /* R5b: the round that left it out, -1 */
    int64_t drop_clean_ts;
    bool in_first;              /* sent by the first round */
    bool mismatch;              /* R6: the verify pass said it differs */
    int64_t mismatch_ts;
    uint16_t mismatch_first, mismatch_bytes;
    bool explained;             /* R3-R5 reported it */
};

enum { MODE_DUP = 1, MODE_DROP, MODE_CORRUPT, MODE_UNMARKED };

struct mchk {
    uint8_t mode;           /* which checker this block is (set by init) */
    struct keytab migs, pages;
};

static double secs(int64_t ts)
{
    return (double)ts / 1e9;
}

static void on_init(struct mchk *c, uint8_t mode)
{
    c->mode = mode;
    kt_init(&c->migs, sizeof(struct mmig));
    kt_init(&c->pages, sizeof(struct mpage));
}

static struct mmig *mig_get(struct mchk *c, uint16_t dom)
{
    bool created = false;
    struct mmig *m = kt_get_new(&c->migs, dom, 0, &created);
    if (m && created) {
        m->epoch = 1;
        m->iter = m->first_iter = -1;
    }
    return m;
}

/* The page record of the migration's current epoch (R1). */
static struct mpage *page_get(struct mchk *c, const struct mmig *m,
                              uint16_t dom, uint64_t pfn)
{
    struct mpage *p = kt_get(&c->pages, dom, pfn);
    if (p && p->epoch != m->epoch) {
        memset(p, 0, sizeof(*p));
        p->epoch = m->epoch;
        p->last_iter = p->drop_iter = -1;
    }
    return p;
}

/* R2: a record with a page of data (the destination applies and traces
   only those; XTAB, XALLOC and BROKEN carry none). */
static bool has_data(uint32_t type)
{
    uint32_t t = type & XEN_DOMCTL_PFINFO_LTAB_MASK;
    return t != XEN_DOMCTL_PFINFO_XTAB && t != XEN_DOMCTL_PFINFO_XALLOC &&
           t != XEN_DOMCTL_PFINFO_BROKEN;
}

/* ---- events ----------------------------------------------------------- */

static void on_enable(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    if (hv_s(e, HVF_rc) != 0)
        return;
    struct mmig *m = kt_find(&c->migs, dom, 0);
    if (m && m->has_src && m->src != host && !m->saved)
        return;                 /* the destination's own log-dirty */
    if (m && m->first_iter >= 0) {  /* a new migration of the domain */
        uint32_t epoch = m->epoch + 1;
        memset(m, 0, sizeof(*m));
        m->epoch = epoch;
        m->iter = m->first_iter = -1;
    } else if (!m && !(m = mig_get(c, dom))) {
        return;
    }
    m->has_src = true;          /* marks count from here (R5b) */
    m->src = host;
}

static void on_round_begin(struct mchk *c, const struct hv_ev *e)
{
    struct mmig *m = mig_get(c, (uint16_t)hv_u(e, HVF_dom));
    if (!m)
        return;
    m->has_src = true;
    m->src = (uint8_t)hv_u(e, HVF_host);
    m->iter = (int32_t)hv_u(e, HVF_iter);
    m->final = (uint8_t)hv_u(e, HVF_final);
    if (m->final != 2) {
        m->prev_clean_ts = m->round_clean_ts;
        m->round_clean_ts = m->last_clean_ts;
    }
    if (m->first_iter < 0 && m->final != 2)
        m->first_iter = m->iter;
}

/* R5b: a pfn this round's CLEAN returned and the round did not send. */
static void on_round_end(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct mmig *m = kt_find(&c->migs, dom, 0);
    if (!m || !m->has_src || m->src != (uint8_t)hv_u(e, HVF_host) ||
        m->final == 2)
        return;
    if ((int32_t)hv_u(e, HVF_iter) == m->first_iter)
        m->first_end_ts = e->ts;
    if (!m->round_clean_ts)
        return;
    int32_t iter = (int32_t)hv_u(e, HVF_iter);
    for (size_t i = 0; i < kt_count(&c->pages); i++) {
        struct mpage *p = kt_at(&c->pages, i);
        uint64_t k1, k2;
        kt_key(&c->pages, p, &k1, &k2);
        if (k1 != dom || p->epoch != m->epoch || p->last_iter < 0)
            continue;
        if (p->mark_ts > m->prev_clean_ts && p->mark_ts < m->round_clean_ts &&
            p->last_iter != iter && p->drop_iter < 0) {
            p->drop_iter = iter;
            p->drop_clean_ts = m->round_clean_ts;
        }
    }
}

static void on_clean(struct mchk *c, const struct hv_ev *e)
{
    struct mmig *m = kt_find(&c->migs, (uint16_t)hv_u(e, HVF_dom), 0);
    if (m && (!m->has_src || m->src == (uint8_t)hv_u(e, HVF_host)))
        m->last_clean_ts = e->ts;
}

static void on_mark(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct mmig *m = kt_find(&c->migs, dom, 0);
    if (!m) {                   /* a mark traced before the enable was */
        if (!(m = mig_get(c, dom)))
            return;
        m->has_src = true;
        m->src = (uint8_t)hv_u(e, HVF_host);
    }
    if (m->src != (uint8_t)hv_u(e, HVF_host))
        return;
    struct mpage *p = page_get(c, m, dom, hv_u(e, HVF_pfn));
    if (p)
        p->mark_ts = e->ts;
}

static void on_send(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct mmig *m = mig_get(c, dom);
    if (!m)
        return;
    if (!m->has_src) {          /* the trace began inside the migration */
        m->has_src = true;
        m->src = (uint8_t)hv_u(e, HVF_host);
        m->iter = m->first_iter = (int32_t)hv_u(e, HVF_iter);
    }
    if (m->src != (uint8_t)hv_u(e, HVF_host) || m->final == 2)
        return;                 /* R1: the verify pass compares */
    uint64_t pfn = hv_u(e, HVF_pfn);
    struct mpage *p = page_get(c, m, dom, pfn);
    if (!p)
        return;
    int32_t iter = (int32_t)hv_u(e, HVF_iter);
    if (has_data((uint32_t)hv_u(e, HVF_type)) && p->nsend < MIG_KEEP)
        p->send[p->nsend++] = (struct mrec){ iter, hv_u(e, HVF_hash), e->ts, false };
    else if (has_data((uint32_t)hv_u(e, HVF_type)))
        p->overflow = true;
    p->last_iter = iter;
    p->last_send_ts = e->ts;
    p->mfn = hv_u(e, HVF_mfn);
    p->drop_iter = -1;          /* R5: a later send heals */
    if (iter == m->first_iter) {
        p->in_first = true;
        m->first_seen = true;
        if (pfn > m->first_max_pfn)
            m->first_max_pfn = pfn;
    }
}

static void on_recv(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    struct mmig *m = mig_get(c, dom);
    if (!m || (m->has_src && m->src == host))
        return;
    uint64_t pfn = hv_u(e, HVF_pfn), hash = hv_u(e, HVF_hash);
    struct mpage *p = page_get(c, m, dom, pfn);
    if (!p)
        return;
    if (hv_u(e, HVF_verify)) {  /* R1: the verify pass: make sure R5a sees it */
        m->prev_ok = false;
        return;
    }
    p->recv_host = host;
    bool adjacent = m->prev_ok && m->prev_host == host && m->prev_pfn == pfn &&
                    m->prev_hash == hash && p->nrecv > 0;
    m->prev_ok = true;
    m->prev_host = host;
    m->prev_pfn = pfn;
    m->prev_hash = hash;
    if (p->nrecv < MIG_KEEP)
        p->recv[p->nrecv++] = (struct mrec){ -1, hash, e->ts, adjacent };
    else
        p->overflow = true;
}

static void on_mismatch(struct mchk *c, const struct hv_ev *e)
{
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct mmig *m = kt_find(&c->migs, dom, 0);
    if (!m)
        return;
    struct mpage *p = page_get(c, m, dom, hv_u(e, HVF_pfn));
    if (!p)
        return;
    p->mismatch = true;
    p->mismatch_ts = e->ts;
    p->mismatch_first = (uint16_t)hv_u(e, HVF_first);
    p->mismatch_bytes = (uint16_t)hv_u(e, HVF_bytes);
}

static void on_save_done(struct mchk *c, const struct hv_ev *e)
{
    struct mmig *m = kt_find(&c->migs, (uint16_t)hv_u(e, HVF_dom), 0);
    if (!m)
        return;
    m->saved = true;
    m->failed = hv_s(e, HVF_rc) != 0;
}

static void on_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct mchk *c = priv;
    (void)az;
    switch (e->id) {
    case HVE_dirty_enable:      on_enable(c, e); break;
    case HVE_dirty_clean:       on_clean(c, e); break;
    case HVE_dirty_mark:        on_mark(c, e); break;
    case HVE_mig_round_begin:   on_round_begin(c, e); break;
    case HVE_mig_round_end:     on_round_end(c, e); break;
    case HVE_mig_send_page:     on_send(c, e); break;
    case HVE_mig_recv_page:     on_recv(c, e); break;
    case HVE_mig_verify_mismatch: on_mismatch(c, e); break;
    case HVE_mig_save_done:     on_save_done(c, e); break;
    default: break;
    }
}

/* ---- findings (R7) ----------------------------------------------------- */

/* A synthetic "revealing event" for a finding made at the end. */
static struct hv_ev at_ts(int64_t ts)
{
    struct hv_ev ev;
    hv_ev_init(&ev, HVE_NONE, ts, 0);
    return ev;
}

/* R6: who could write the frame: "dom1 itself through its own writable
   mappings" / "dom2 through a writable grant mapping". */
static void writer_of(const struct state *st, uint8_t host, uint16_t dom,
                      uint64_t mfn, char *buf, size_t len)
{
    struct frame_view v;
    if (!st || !state_frame(st, host, mfn, &v) || !v.known) {
        snprintf(buf, len, "dom%u itself (the trace does not show its "
                 "mappings)", dom);
        return;
    }
    if (v.grant_maps_rw && !v.maps_rw)
        snprintf(buf, len, "a domain holding one of its %u writable grant "
                 "mappings (the trace names no write through it)",
                 v.grant_maps_rw);
    else
        snprintf(buf, len, "dom%u itself, through %s%u writable mapping%s of "
                 "its own", v.owner, v.maps_rw ? "" : "(now) ", v.maps_rw,
                 v.maps_rw == 1 ? "" : "s");
}

static void report_page(struct mchk *c, struct az *az, const struct mmig *m,
                        uint16_t dom, uint64_t pfn, struct mpage *p)
{
    if (p->overflow)
        return;
    /* R3: more records applied than sent: an adjacent repeat whose next
       send comes after it (or none is left) is a duplicate, and so is any
       adjacent repeat once the ones left are only just enough; the rest
       pair with the sends (R2) */
    unsigned extra = p->nrecv > p->nsend ? p->nrecv - p->nsend : 0;
    unsigned cand = 0;              /* adjacent repeats from r on */
    for (unsigned r = 1; r < p->nrecv; r++)
        cand += p->recv[r].adjacent;
    unsigned k = 0;                 /* the send the next record pairs with */
    for (unsigned r = 0; r < p->nrecv; r++) {
        bool adj = p->recv[r].adjacent && r > 0;
        bool dup = extra && adj && k > 0 &&
                   (k >= p->nsend || p->send[k].ts > p->recv[r].ts ||
                    cand <= extra);
        cand -= adj;
        if (dup) {
            extra--;
            if (c->mode != MODE_DUP)
                continue;
            struct hv_ev at = at_ts(p->recv[r].ts);
            az_report(az, "mig.record-duplicated", &at, m->src, dom, p->mfn,
                      pfn, "pfn %#" PRIx64 " of dom%u arrived twice in a row "
                      "on host %u (again at %.3f s): the record round %d sent "
                      "at %.3f s (hash %#" PRIx64 ") was applied a second "
                      "time; the stream duplicated it (%u records arrived, "
                      "%u were sent)", pfn, dom, p->recv_host,
                      secs(p->recv[r].ts), p->send[k - 1].iter,
                      secs(p->send[k - 1].ts), p->recv[r].hash, p->nrecv,
                      p->nsend);
            continue;
        }
        if (k >= p->nsend)
            break;
        const struct mrec *s = &p->send[k++];
        if (s->hash == p->recv[r].hash || c->mode == MODE_DUP)
            continue;
        p->explained = true;
        if (c->mode != MODE_CORRUPT)
            continue;
        struct hv_ev at = at_ts(p->recv[r].ts);
        az_report(az, "mig.content-corrupted", &at, m->src, dom, p->mfn,
                  pfn, "pfn %#" PRIx64 " of dom%u was sent in round %d at "
                  "%.3f s with hash %#" PRIx64 " but arrived on host %u at "
                  "%.3f s with hash %#" PRIx64 ": its bytes changed between "
                  "the source's read and the destination's write%s", pfn,
                  dom, s->iter, secs(s->ts), s->hash, p->recv_host,
                  secs(p->recv[r].ts), p->recv[r].hash,
                  k == p->nsend ? " (no later record repaired it)" : "");
    }
    if (c->mode == MODE_DUP)
        return;
    if (c->mode == MODE_DROP || c->mode == MODE_UNMARKED) {
        if (m->first_seen && !p->nsend && !p->in_first &&
            (pfn < m->first_max_pfn || p->mismatch)) {            /* R5a */
            p->explained = true;
            if (c->mode == MODE_DROP) {
                struct hv_ev at = at_ts(m->first_end_ts);
                az_report(az, "mig.record-dropped", &at, m->src, dom,
                          FINDING_NONE, pfn, "pfn %#" PRIx64 " of dom%u was "
                          "never sent: round %d, which sends every pfn (it "
                          "ended at %.3f s), has no record of it and no later "
                          "round sent it; the destination never got its "
                          "content", pfn, dom, m->first_iter,
                          secs(m->first_end_ts));
            }
        } else if (p->drop_iter >= 0) {                            /* R5b */
            p->explained = true;
            if (c->mode == MODE_DROP) {
                struct hv_ev at = at_ts(p->drop_clean_ts);
                az_report(az, "mig.record-dropped", &at, m->src, dom, p->mfn,
                          pfn, "pfn %#" PRIx64 " of dom%u was last sent in "
                          "round %d at %.3f s; it was marked dirty at %.3f s "
                          "and the CLEAN round %d began with (%.3f s) "
                          "returned it, but round %d sent no record of it and "
                          "no later round did: the destination keeps round "
                          "%d's copy", pfn,
                          dom, p->last_iter, secs(p->last_send_ts),
                          secs(p->mark_ts), p->drop_iter,
                          secs(p->drop_clean_ts), p->drop_iter, p->last_iter);
            }
        }
    }
    if (c->mode == MODE_UNMARKED && p->mismatch && !p->explained &&
        p->last_iter >= 0 && p->nsend <= p->nrecv) {              /* R6 */
        const struct state *st = az_state(az);
        struct dirty_page dp;
        if (dirty_page_info(st, m->src, dom, pfn, &dp) == 0 && dp.written)
            return;             /* story E's checker names the write */
        char who[200];
        writer_of(st, m->src, dom, p->mfn, who, sizeof who);
        struct hv_ev at = at_ts(p->mismatch_ts);
        az_keep_history(az, m->src, p->mfn);
        az_report(az, "story-e.unmarked-write", &at, m->src, dom, p->mfn, pfn,
                  "pfn %#" PRIx64 " of dom%u was last sent in round %d at "
                  "%.3f s and arrived as sent, but the verify pass found %u "
                  "bytes different from offset %u: the source's page was "
                  "written after that send by %s, and no dirty mark of it "
                  "was traced, so no later round sent it (a lost dirty bit)",
                  pfn, dom, p->last_iter, secs(p->last_send_ts),
                  p->mismatch_bytes, p->mismatch_first, who);
    }
}

static void on_end(void *priv, struct az *az)
{
    struct mchk *c = priv;
    for (size_t i = 0; i < kt_count(&c->pages); i++) {
        struct mpage *p = kt_at(&c->pages, i);
        uint64_t dom, pfn;
        kt_key(&c->pages, p, &dom, &pfn);
        const struct mmig *m = kt_find(&c->migs, dom, 0);
        if (!m || p->epoch != m->epoch || !m->has_src || m->failed)
            continue;
        report_page(c, az, m, (uint16_t)dom, pfn, p);
    }
}

static void on_fini(void *priv)
{
    struct mchk *c = priv;
    kt_fini(&c->migs);
    kt_fini(&c->pages);
}

/* ---- the checkers ------------------------------------------------------- */

static const enum hv_event_id mig_ids[] = {
    HVE_dirty_enable, HVE_dirty_clean, HVE_dirty_mark,
    HVE_mig_round_begin, HVE_mig_round_end, HVE_mig_send_page,
    HVE_mig_recv_page, HVE_mig_verify_mismatch, HVE_mig_save_done,
    HVE_NONE,
};

#define MODE_FNS(name, m)                                                   \
    static void init_##name(void *priv)                                     \
    {                                                                       \
        on_init(priv, m);                                                   \
    }
MODE_FNS(dup, MODE_DUP)
MODE_FNS(drop, MODE_DROP)
MODE_FNS(corrupt, MODE_CORRUPT)
MODE_FNS(unmarked, MODE_UNMARKED)

const struct checker chk_mig_record_duplicated = {
    .name = "mig.record-duplicated",
    .what = "a page record the destination applied twice in a row: the "
            "stream sent one record twice",
    .priv_size = sizeof(struct mchk),
    .events = mig_ids,
    .init = init_dup,
    .event = on_event,
    .end = on_end,
    .fini = on_fini,
};

const struct checker chk_mig_record_dropped = {
    .name = "mig.record-dropped",
    .what = "a pfn the first round or a dirty round should have sent and no "
            "round sent: the destination keeps an older copy, or none",
    .priv_size = sizeof(struct mchk),
    .events = mig_ids,
    .init = init_drop,
    .event = on_event,
    .end = on_end,
    .fini = on_fini,
};

const struct checker chk_mig_content_corrupted = {
    .name = "mig.content-corrupted",
    .what = "a page record that arrived with other bytes (hash) than the "
            "source read and sent",
    .priv_size = sizeof(struct mchk),
    .events = mig_ids,
    .init = init_corrupt,
    .event = on_event,
    .end = on_end,
    .fini = on_fini,
};

const struct checker chk_story_e_unmarked_write = {
    .name = "story-e.unmarked-write",
    .what = "a page the verify pass found different although it arrived as "
            "sent, with no traced write or dirty mark after its last send: "
            "a lost dirty bit",
    .priv_size = sizeof(struct mchk),
    .events = mig_ids,
    .init = init_unmarked,
    .event = on_event,
    .end = on_end,
    .fini = on_fini,
};
