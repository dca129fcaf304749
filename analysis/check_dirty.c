/*
 * analysis/check_dirty.c - story E (XEN-NOTES 12.E, invariants 27-29): a
 * page of a migrating domain written after its last send, so that the
 * destination holds a stale copy; and writes the log-dirty bitmap learnt
 * of only after the FINAL clean.  This is what mk/demo.sh's reading of the
 * trace does by hand.
 *
 * Rules:
 *   E1  A migration is one (host, dom) from hvlab_dirty:enable (a new
 *       enable of the same domain closes the previous one, E5).  Its round
 *       is the last hvlab_mig:round_begin (iter, final); sends of the
 *       verify pass (final 2) are comparisons, not sends.  The FINAL clean
 *       is the hvlab_dirty:clean with final = 1.
 *   E2  Writable grant mappings are followed per frame on every host from
 *       the trace's start (a backend maps the ring long before log-dirty
 *       is switched on): map / unmap with GNTST_okay and without
 *       GNTMAP_readonly.
 *   E3  A write after a pfn's last send is any of: a writable grant
 *       mapping of its frame open at the send, a writable map after it, a
 *       writable unmap, a grant mark_dirty or grant copy into it, a
 *       log-dirty mark.  The first one is kept, with the writer's domain
 *       and grant ref when the event names them; a later send forgets it.
 *   E4  A dirty mark after the last send is remembered: before the FINAL
 *       clean (the next CLEAN reads it, a send must follow) or only after
 *       it (nobody reads the bitmap again).
 *   E5  Findings are made at the end (checker.h K4), for a migration whose
 *       final round began and whose save did not fail (a failed save
 *       resumes the guest on the source: nothing arrived stale):
 *       story-e.dirty-after-send for each pfn with a write (E3) and no
 *       later send; story-e.unmarked-after-final for each frame with a
 *       writable unmap or grant mark_dirty after the FINAL clean.
 *   E6  images.c asks the same records through dirty_page_info
 *       (check_dirty.h W1): each checker instance is registered with the
 *       state it runs beside, under a lock, from its first event to fini.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "analysis/check_dirty.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/keytab.h"
#include "analysis/state.h"

enum wkind {                /* E3, in the words of the findings */
    W_NONE = 0,
    W_OPEN_ACROSS,          /* a writable mapping open at the send */
    W_MAPPED,               /* mapped writable after the send */
    W_UNMAP,                /* a writable unmap after the send */
    W_MARK,                 /* grant mark_dirty */
    W_COPY,                 /* grant copy into it */
    W_LDMARK,               /* a log-dirty mark from another source */
};

enum mark_state { M_NONE = 0, M_BEFORE_FINAL, M_AFTER_FINAL };   /* E4 */

struct dmig {               /* key (host, dom) */
    uint32_t epoch;
    bool final_begun, final_clean, failed, flushed;
    uint8_t final;          /* of the current round */
    int32_t iter;
    int64_t final_clean_ts;
};

struct dwrite {
    uint8_t kind;           /* enum wkind */
    bool dom_known, ref_known;
    uint16_t dom;
    uint32_t ref;
    uint8_t source;         /* W_LDMARK: paging_dirty_source */
    int64_t ts, map_ts, unmap_ts;   /* W_OPEN_ACROSS: the mapping's life */
    uint64_t seq;
};

struct dpage {              /* key (host << 16 | dom, pfn) */
    uint32_t epoch;
    bool sent;
    int32_t send_iter;
    int64_t send_ts;
    uint64_t send_seq, mfn, send_hash;
    struct dwrite w;        /* E3 */
    uint8_t mark;           /* E4 */
    int64_t mark_ts;
    struct dwrite f;        /* E5: first unmap / mark after the FINAL clean */
};

struct dframe {             /* key (host, mfn), E2 */
    uint32_t rw_open;
    uint16_t map_dom;
    uint32_t map_ref;
    int64_t map_ts;
    bool has_pfn;
    uint16_t dom;
    uint64_t pfn;
};

struct drecv {              /* key (dom, pfn): what arrived (W1) */
    uint8_t host;
    uint64_t hash;
};

struct dchk {
    struct keytab migs, pages, frames, recvs;
    const struct state *st;     /* E6 */
    struct dchk *next;
    bool registered;
    uint8_t mode;               /* E5: which finding this instance makes */
};

#define MODE_AFTER_SEND  1      /* story-e.dirty-after-send */
#define MODE_AFTER_FINAL 2      /* story-e.unmarked-after-final */

/* ---- E6: the registry ------------------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dchk *reg_head;

static void reg_add(struct dchk *c, const struct state *st)
{
    pthread_mutex_lock(&reg_lock);
    c->st = st;
    c->next = reg_head;
    reg_head = c;
    c->registered = true;
    pthread_mutex_unlock(&reg_lock);
}

static void reg_del(struct dchk *c)
{
    pthread_mutex_lock(&reg_lock);
    for (struct dchk **p = &reg_head; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    c->registered = false;
    pthread_mutex_unlock(&reg_lock);
}

/* ---- records ---------------------------------------------------------- */

static uint64_t hd(uint64_t host, uint64_t dom)
{
    return host << 16 | (dom & 0xFFFF);
}

static struct dmig *mig_find(struct dchk *c, uint8_t host, uint16_t dom)
{
    return kt_find(&c->migs, host, dom);
}

/* The page record of a migration's current epoch (E1): a record left from
   an earlier migration of the domain starts again. */
static struct dpage *page_get(struct dchk *c, const struct dmig *m,
                              uint8_t host, uint16_t dom, uint64_t pfn)
{
    struct dpage *p = kt_get(&c->pages, hd(host, dom), pfn);
    if (p && p->epoch != m->epoch) {
        memset(p, 0, sizeof(*p));
        p->epoch = m->epoch;
    }
    return p;
}

static struct dpage *page_find(struct dchk *c, const struct dmig *m,
                               uint8_t host, uint16_t dom, uint64_t pfn)
{
    struct dpage *p = kt_find(&c->pages, hd(host, dom), pfn);
    return p && p->epoch == m->epoch ? p : NULL;
}

/* The pfn a frame of dom stands for: what the sends said, else the state. */
static bool frame_pfn(struct dchk *c, const struct state *st, uint8_t host,
                      uint16_t dom, uint64_t mfn, uint64_t *pfn)
{
    struct dframe *f = kt_find(&c->frames, host, mfn);
    if (f && f->has_pfn && f->dom == dom) {
        *pfn = f->pfn;
        return true;
    }
    struct frame_view v;
    if (st && state_frame(st, host, mfn, &v) && v.known &&
        v.pfn != FINDING_NONE && v.owner == dom) {
        *pfn = v.pfn;
        return true;
    }
    return false;
}

static void write_note(struct dwrite *w, enum wkind kind, const struct hv_ev *e,
                       bool dom_known, uint16_t dom, bool ref_known, uint32_t ref)
{
    w->kind = (uint8_t)kind;
    w->dom_known = dom_known;
    w->dom = dom;
    w->ref_known = ref_known;
    w->ref = ref;
    w->ts = e->ts;
    w->seq = e->seq;
}

/*
 * A write into (host, rdom)'s frame mfn (E3), and when after the FINAL
 * clean, an unmap or mark nobody reads (E5).  after_final_kind is W_NONE
 * for writes story-e.unmarked-after-final does not name.
 */
static void on_write(struct dchk *c, struct az *az, const struct hv_ev *e,
                     uint8_t host, uint16_t rdom, uint64_t mfn, enum wkind kind,
                     bool dom_known, uint16_t dom, bool ref_known, uint32_t ref,
                     bool marks)
{
    struct dmig *m = mig_find(c, host, rdom);
    if (!m)
        return;
    uint64_t pfn;
    if (!frame_pfn(c, az_state(az), host, rdom, mfn, &pfn))
        return;
    struct dpage *p = page_get(c, m, host, rdom, pfn);
    if (!p)
        return;
    if (p->sent && p->w.kind == W_NONE && p->mfn == mfn) {
        write_note(&p->w, kind, e, dom_known, dom, ref_known, ref);
        az_keep_history(az, host, mfn);     /* K5: the write's moment */
    }
    if (marks && p->sent && p->mark == M_NONE) {
        p->mark = m->final_clean ? M_AFTER_FINAL : M_BEFORE_FINAL;
        p->mark_ts = e->ts;
    }
    if (m->final_clean && p->f.kind == W_NONE &&
        (kind == W_UNMAP || kind == W_MARK)) {
        write_note(&p->f, kind, e, dom_known, dom, ref_known, ref);
        az_keep_history(az, host, mfn);
    }
}

/* ---- events ----------------------------------------------------------- */

static void on_enable(struct dchk *c, struct az *az, const struct hv_ev *e);

static void on_send(struct dchk *c, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct dmig *m = mig_find(c, host, dom);
    if (!m) {                       /* the trace began after the enable */
        m = kt_get(&c->migs, host, dom);
        if (!m)
            return;
        m->epoch = 1;
        m->iter = -1;
    }
    if (m->final == 2)              /* E1: the verify pass */
        return;
    uint64_t pfn = hv_u(e, HVF_pfn), mfn = hv_u(e, HVF_mfn);
    struct dpage *p = page_get(c, m, host, dom, pfn);
    if (!p)
        return;
    p->sent = true;
    p->send_iter = (int32_t)hv_u(e, HVF_iter);
    p->send_ts = e->ts;
    p->send_seq = e->seq;
    p->mfn = mfn;
    p->send_hash = hv_u(e, HVF_hash);
    memset(&p->w, 0, sizeof(p->w));
    p->mark = M_NONE;
    p->mark_ts = 0;
    struct dframe *f = kt_get(&c->frames, host, mfn);
    if (!f)
        return;
    f->has_pfn = true;
    f->dom = dom;
    f->pfn = pfn;
    if (f->rw_open) {               /* E3: open across this send */
        write_note(&p->w, W_OPEN_ACROSS, e, true, f->map_dom, true, f->map_ref);
        p->w.map_ts = f->map_ts;
    }
}

static void on_map(struct dchk *c, struct az *az, const struct hv_ev *e, bool map)
{
    uint32_t flags = (uint32_t)hv_u(e, HVF_flags);
    if ((int16_t)hv_u(e, HVF_status) != GNTST_okay || (flags & GNTMAP_readonly) ||
        !(flags & (GNTMAP_host_map | GNTMAP_device_map)))
        return;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t ldom = (uint16_t)hv_u(e, HVF_ldom), rdom = (uint16_t)hv_u(e, HVF_rdom);
    uint32_t ref = (uint32_t)hv_u(e, HVF_ref);
    uint64_t mfn = hv_u(e, HVF_mfn);
    struct dframe *f = kt_get(&c->frames, host, mfn);
    if (!f)
        return;
    if (map) {
        f->rw_open++;
        f->map_dom = ldom;
        f->map_ref = ref;
        f->map_ts = e->ts;
    } else if (f->rw_open) {
        f->rw_open--;
    }
    if (!map) {                     /* close an open-across record */
        struct dmig *m = mig_find(c, host, rdom);
        uint64_t pfn;
        if (m && frame_pfn(c, az_state(az), host, rdom, mfn, &pfn)) {
            struct dpage *p = page_find(c, m, host, rdom, pfn);
            if (p && p->w.kind == W_OPEN_ACROSS && !p->w.unmap_ts &&
                p->w.ref == ref)
                p->w.unmap_ts = e->ts;
        }
    }
    on_write(c, az, e, host, rdom, mfn, map ? W_MAPPED : W_UNMAP,
             true, ldom, true, ref, false);
}

static void on_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct dchk *c = priv;
    if (!c->registered) {           /* the first event: the block is zeroed */
        kt_init(&c->migs, sizeof(struct dmig));
        kt_init(&c->pages, sizeof(struct dpage));
        kt_init(&c->frames, sizeof(struct dframe));
        kt_init(&c->recvs, sizeof(struct drecv));
        reg_add(c, az_state(az));
    }
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    struct dmig *m;

    switch (e->id) {
    case HVE_dirty_enable:
        if (hv_s(e, HVF_rc) == 0)
            on_enable(c, az, e);
        break;
    case HVE_mig_round_begin:
        m = mig_find(c, host, (uint16_t)hv_u(e, HVF_dom));
        if (m) {
            m->iter = (int32_t)hv_u(e, HVF_iter);
            m->final = (uint8_t)hv_u(e, HVF_final);
            if (m->final == 1)
                m->final_begun = true;
        }
        break;
    case HVE_dirty_clean:
        m = mig_find(c, host, (uint16_t)hv_u(e, HVF_dom));
        if (m && hv_u(e, HVF_final) && !m->final_clean) {
            m->final_clean = true;
            m->final_clean_ts = e->ts;
        }
        break;
    case HVE_mig_save_done:
        m = mig_find(c, host, (uint16_t)hv_u(e, HVF_dom));
        if (m && hv_s(e, HVF_rc) != 0)
            m->failed = true;
        break;
    case HVE_mig_send_page:
        on_send(c, e);
        break;
    case HVE_mig_recv_page:
        if (!hv_u(e, HVF_verify)) {
            struct drecv *r = kt_get(&c->recvs, hv_u(e, HVF_dom), hv_u(e, HVF_pfn));
            if (r) {
                r->host = host;
                r->hash = hv_u(e, HVF_hash);
            }
        }
        break;
    case HVE_grant_map:
        on_map(c, az, e, true);
        break;
    case HVE_grant_unmap:
        on_map(c, az, e, false);
        break;
    case HVE_grant_mark_dirty: {
        uint16_t rdom = (uint16_t)hv_u(e, HVF_rdom);
        uint32_t ref = (uint32_t)hv_u(e, HVF_ref);
        uint64_t mfn = hv_u(e, HVF_mfn);
        struct dframe *f = kt_find(&c->frames, host, mfn);
        bool known = f && f->map_ref == ref;    /* the mapper of that ref */
        on_write(c, az, e, host, rdom, mfn, W_MARK, known, known ? f->map_dom : 0,
                 true, ref, true);
        break;
    }
    case HVE_grant_copy:
        if ((int16_t)hv_u(e, HVF_status) == GNTST_okay)
            on_write(c, az, e, host, (uint16_t)hv_u(e, HVF_dst_dom),
                     hv_u(e, HVF_dst_mfn), W_COPY, true,
                     (uint16_t)hv_u(e, HVF_ldom), false, 0, false);
        break;
    case HVE_dirty_mark: {
        uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
        m = mig_find(c, host, dom);
        if (!m)
            break;
        struct dpage *p = page_find(c, m, host, dom, hv_u(e, HVF_pfn));
        if (!p || !p->sent)
            break;
        if (p->w.kind == W_NONE) {
            write_note(&p->w, W_LDMARK, e, false, 0, false, 0);
            p->w.source = (uint8_t)hv_u(e, HVF_source);
        }
        if (p->mark == M_NONE) {
            p->mark = m->final_clean ? M_AFTER_FINAL : M_BEFORE_FINAL;
            p->mark_ts = e->ts;
        }
        break;
    }
    default:
        break;
    }
}

/* ---- sentences -------------------------------------------------------- */

static double secs(int64_t ts)
{
    return (double)ts / 1e9;
}

/* "dom1's grant mapping (ref 8)" / "a grant copy by dom1" / ... */
static void writer_phrase(const struct dwrite *w, char *buf, size_t len)
{
    char who[48] = "a grant mapping";
    if (w->dom_known && w->ref_known)
        snprintf(who, sizeof who, "dom%u's grant mapping (ref %u)", w->dom, w->ref);
    else if (w->ref_known)
        snprintf(who, sizeof who, "a grant mapping (ref %u)", w->ref);
    else if (w->dom_known)
        snprintf(who, sizeof who, "dom%u's grant mapping", w->dom);

    switch (w->kind) {
    case W_OPEN_ACROSS:
        if (w->unmap_ts)
            snprintf(buf, len, "through %s, writable since %.3f s, open across "
                     "that send and unmapped only at %.3f s", who,
                     secs(w->map_ts), secs(w->unmap_ts));
        else
            snprintf(buf, len, "through %s, writable since %.3f s, open across "
                     "that send and never unmapped in the trace", who,
                     secs(w->map_ts));
        break;
    case W_MAPPED:
        snprintf(buf, len, "through %s, mapped writable at %.3f s", who, secs(w->ts));
        break;
    case W_UNMAP:
        snprintf(buf, len, "through %s, unmapped writable at %.3f s", who, secs(w->ts));
        break;
    case W_MARK:
        snprintf(buf, len, "through %s at %.3f s (Xen's grant mark_dirty)", who,
                 secs(w->ts));
        break;
    case W_COPY:
        snprintf(buf, len, "by a grant copy of dom%u at %.3f s", w->dom, secs(w->ts));
        break;
    case W_LDMARK:
        snprintf(buf, len, "at %.3f s (a log-dirty mark, source %u)", secs(w->ts),
                 w->source);
        break;
    default:
        snprintf(buf, len, "(no write seen)");
        break;
    }
}

static void mark_phrase(const struct dpage *p, const struct dmig *m,
                        char *buf, size_t len)
{
    switch (p->mark) {
    case M_BEFORE_FINAL:
        snprintf(buf, len, "marked dirty at %.3f s yet never sent again",
                 secs(p->mark_ts));
        break;
    case M_AFTER_FINAL:
        snprintf(buf, len, "marked dirty only at %.3f s, after the FINAL clean "
                 "(%.3f s)", secs(p->mark_ts), secs(m->final_clean_ts));
        break;
    default:
        snprintf(buf, len, "never marked dirty");
        break;
    }
}

/* W2 */
static void explain(const struct dpage *p, const struct dmig *m, char *buf, size_t len)
{
    char w[256], mk[128];
    writer_phrase(&p->w, w, sizeof w);
    mark_phrase(p, m, mk, sizeof mk);
    snprintf(buf, len, "last sent in round %d at %.3f s; written after that %s; %s",
             p->send_iter, secs(p->send_ts), w, mk);
}

/* ---- E5 --------------------------------------------------------------- */

static void flush(struct dchk *c, struct az *az, uint8_t host, uint16_t dom,
                  struct dmig *m)
{
    if (m->flushed || !m->final_begun || m->failed)
        return;
    m->flushed = true;
    const struct state *st = az_state(az);
    for (size_t i = 0; i < kt_count(&c->pages); i++) {
        struct dpage *p = kt_at(&c->pages, i);
        uint64_t k1, pfn;
        kt_key(&c->pages, p, &k1, &pfn);
        if (k1 != hd(host, dom) || p->epoch != m->epoch || !p->sent)
            continue;
        struct pfn_view pv;         /* the pfn moved to another frame since */
        if (st && state_pfn(st, host, dom, pfn, &pv) && pv.known &&
            pv.mfn != FINDING_NONE && pv.mfn != p->mfn)
            continue;
        struct hv_ev at;
        char text[512];
        if ((c->mode & MODE_AFTER_SEND) && p->w.kind != W_NONE) {
            hv_ev_init(&at, HVE_mig_send_page, p->w.ts, p->w.seq);
            explain(p, m, text, sizeof text);
            /* a mapping open across the send shows that the page could be
               written, not that it was: say what that means, no more */
            az_report(az, "story-e.dirty-after-send", &at, host, dom, p->mfn, pfn,
                      "pfn %#" PRIx64 " (mfn %#" PRIx64 ") of dom%u was %s; no "
                      "later send, so %s", pfn, p->mfn, dom, text,
                      p->w.kind == W_OPEN_ACROSS
                          ? "whatever that mapping wrote after the send never "
                            "reached the destination"
                          : "the destination holds a stale copy");
        }
        if ((c->mode & MODE_AFTER_FINAL) && p->f.kind != W_NONE) {
            char w[256];
            writer_phrase(&p->f, w, sizeof w);
            hv_ev_init(&at, p->f.kind == W_MARK ? HVE_grant_mark_dirty
                                                : HVE_grant_unmap,
                       p->f.ts, p->f.seq);
            az_report(az, "story-e.unmarked-after-final", &at, host, dom, p->mfn,
                      pfn, "pfn %#" PRIx64 " (mfn %#" PRIx64 ") of dom%u was "
                      "written %s, after the FINAL clean at %.3f s: that dirty "
                      "mark lands in a bitmap no round reads again (last sent "
                      "in round %d at %.3f s)", pfn, p->mfn, dom, w,
                      secs(m->final_clean_ts), p->send_iter, secs(p->send_ts));
        }
    }
}

static void on_enable(struct dchk *c, struct az *az, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct dmig *m = kt_get(&c->migs, host, dom);
    if (!m)
        return;
    if (m->epoch)
        flush(c, az, host, dom, m);
    uint32_t epoch = m->epoch + 1;
    memset(m, 0, sizeof(*m));
    m->epoch = epoch;
    m->iter = -1;
}

static void on_end(struct dchk *c, struct az *az)
{
    for (size_t i = 0; i < kt_count(&c->migs); i++) {
        struct dmig *m = kt_at(&c->migs, i);
        uint64_t host, dom;
        kt_key(&c->migs, m, &host, &dom);
        flush(c, az, (uint8_t)host, (uint16_t)dom, m);
    }
}

static void on_fini(void *priv)
{
    struct dchk *c = priv;
    if (c->registered)
        reg_del(c);
    kt_fini(&c->migs);
    kt_fini(&c->pages);
    kt_fini(&c->frames);
    kt_fini(&c->recvs);
}

/* ---- W1 --------------------------------------------------------------- */

int dirty_page_info(const struct state *st, uint8_t host, uint16_t dom,
                    uint64_t pfn, struct dirty_page *out)
{
    int rc = -1;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&reg_lock);
    for (struct dchk *c = reg_head; c; c = c->next) {
        if (c->st != st)
            continue;
        struct dmig *m = mig_find(c, host, dom);
        struct dpage *p = m ? page_find(c, m, host, dom, pfn) : NULL;
        struct drecv *r = kt_find(&c->recvs, dom, pfn);
        if (r && r->host != host) {
            out->received = true;
            out->recv_host = r->host;
            out->recv_hash = r->hash;
            rc = 0;
        }
        if (p && p->sent) {
            out->sent = true;
            out->send_iter = p->send_iter;
            out->send_ts = p->send_ts;
            out->send_hash = p->send_hash;
            out->written = p->w.kind != W_NONE;
            if (out->written)
                explain(p, m, out->text, sizeof out->text);
            else
                snprintf(out->text, sizeof out->text, "last sent in round %d at "
                         "%.3f s", p->send_iter, secs(p->send_ts));
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

/* ---- the checkers ------------------------------------------------------- */

static const enum hv_event_id dirty_ids[] = {
    HVE_dirty_enable, HVE_dirty_clean, HVE_dirty_mark,
    HVE_mig_round_begin, HVE_mig_send_page, HVE_mig_save_done,
    HVE_mig_recv_page,
    HVE_grant_map, HVE_grant_unmap, HVE_grant_mark_dirty, HVE_grant_copy,
    HVE_NONE,
};

static void ev_after_send(void *priv, struct az *az, const struct hv_ev *e)
{
    ((struct dchk *)priv)->mode = MODE_AFTER_SEND;
    on_event(priv, az, e);
}

static void ev_after_final(void *priv, struct az *az, const struct hv_ev *e)
{
    ((struct dchk *)priv)->mode = MODE_AFTER_FINAL;
    on_event(priv, az, e);
}

static void end_after_send(void *priv, struct az *az)
{
    ((struct dchk *)priv)->mode = MODE_AFTER_SEND;
    on_end(priv, az);
}

static void end_after_final(void *priv, struct az *az)
{
    ((struct dchk *)priv)->mode = MODE_AFTER_FINAL;
    on_end(priv, az);
}

/* Two checkers on one walk of the trace (E5): each instance keeps the same
   records and reports its own name. */
const struct checker chk_story_e_dirty_after_send = {
    .name = "story-e.dirty-after-send",
    .what = "a page of a migrating domain written (through a grant mapping, "
            "a grant copy, or as a dirty mark) after its last send, with no "
            "later send: the destination holds a stale copy",
    .priv_size = sizeof(struct dchk),
    .events = dirty_ids,
    .event = ev_after_send,
    .end = end_after_send,
    .fini = on_fini,
};

const struct checker chk_story_e_unmarked_after_final = {
    .name = "story-e.unmarked-after-final",
    .what = "a writable grant unmap or grant mark_dirty of a migrating "
            "domain's frame after the FINAL clean: a dirty mark no round reads",
    .priv_size = sizeof(struct dchk),
    .events = dirty_ids,
    .event = ev_after_final,
    .end = end_after_final,
    .fini = on_fini,
};
