/*
 * toolstack/mig_save.c - the save side of a live migration: Xen's
 * xg_sr_save.c loop over hvlab's domctls, writing a migration v2 stream
 * (toolstack/stream.h).  The interface and rules M1-M6 are in
 * toolstack/migrate.h; the story in docs/migration.md.
 *
 * Rules of this file (beside M1-M6):
 *   MS1  One pfn -> frame map per kind: PV through the guest's own p2m
 *        list (frames found through the M2P of d's page list, read with
 *        domctl_map_foreign), HVM the identity (gfn = pfn) with frames
 *        from the p2m.  A PV pfn whose p2m entry names no frame of d is
 *        sent XTAB ("likely ballooned", as Xen) and, while live, deferred.
 *   MS7  A pfn sent with data that has no frame any more by the pause
 *        (ballooned out after its last send, its own frame never dirtied
 *        again) is in the final round too: it goes XTAB, so the
 *        destination gives back the frame it populated for it (restore
 *        RS6).  Xen's saver does not do this; see RS6 for why hvlab does.
 *   MS8  A pfn whose p2m entry named a frame at the batch's lookup but
 *        that getpageframeinfo3 types XTAB lost its frame in between (the
 *        guest ballooned it out while the batch was being typed).  While
 *        live it is deferred, as MS1's: sent XTAB and left there, a
 *        balloon-in that gives it a frame again marks nothing of the pfn,
 *        so its last type would stay XTAB while the guest's tables map
 *        it, and the destination would give back the frame those tables
 *        name (restore RS6).  Point mig.batch.lookup opens the window.
 *   MS2  A batch is at most STREAM_MAX_BATCH pfns: typed by one
 *        getpageframeinfo3, the data pages copied into the context's batch
 *        buffer (PV tables normalised there), then queued and flushed
 *        before the buffer is reused, so the writer never sees a page
 *        change under it.
 *   MS3  Deferred pfns live in their own bitmap; the final round sends
 *        dirty | deferred and clears it first.  While live every normalise
 *        error defers the pfn, -E2BIG (a PSE bit) too: the frame's type was
 *        sampled before its content was read, and a table the guest freed
 *        and reused as data in between reads as garbage (Xen's saver fails
 *        on a PSE bit at once; hvlab defers it, as M3 says for every
 *        error).  Once paused, a normalise error or an unreadable data
 *        page is fatal (M3, M6).
 *   MS4  Log-dirty: switched on by mig_save only, and switched off on
 *        every return path (ctx.logdirty_on).
 *   MS5  The caller's writer gets a wrapping sink (inject_sink) for the
 *        run: mig.stream.write can flip a bit of a chunk or cut the stream
 *        inside it (every later write then fails with -XEN_ENOTCONN, as
 *        a dropped connection: Xen's errno.h has no EPIPE; the writer's
 *        sticky error stops the save).  The caller's sink is put
 *        back before mig_save returns.
 *   MS6  The first error message wins (seterr): st->err names the step,
 *        the pfn, its type and, for a table, level/slot/entry.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sched.h>
#include <xen/hvm/save.h>
#include <xen/foreign/x86_64.h>

#include "core/domctl.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/p2m.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "toolstack/image.h"
#include "toolstack/migrate.h"
#include "toolstack/pv_normalise.h"
#include "trace/trace.h"
#include "trace/usdt.h"

#define MIG_XEN_MAJOR       4
#define MIG_XEN_MINOR       17
#define MIG_PREEMPT_EVERY   256     /* pages between sched_point()s */
#define P2M_PER_FRAME       (STREAM_PAGE_SIZE / sizeof(uint64_t))
#define INVALID_PFN_ENTRY   (~0ULL)

struct save_ctx {
    const struct mig_save_opts *o;
    struct mig_save_stats *st;
    struct domain *d;
    struct machine *m;
    struct stream_writer *w;
    bool pv, paused, logdirty_on;
    uint64_t nr_pfns;               /* max pfn + 1: the bitmaps' size */
    unsigned iter;                  /* the round being sent */
    enum mig_round_kind kind;
    /* PV: the guest's p2m list (MS1). */
    pfn_t first_p2m_pfn;
    uint64_t nr_p2m_frames;
    const uint64_t **p2m_page;      /* host pointers, one per p2m frame */
    mfn_t start_info_mfn;
    /* Bitmaps of nr_pfns bits (MS3). */
    uint8_t *dirty, *deferred;
    uint8_t *sent;                  /* MS7: sent with data at least once */
    uint64_t nr_deferred;
    /* The batch (MS2). */
    uint8_t (*buf)[STREAM_PAGE_SIZE];
    uint64_t bpfn[STREAM_MAX_BATCH];
    xen_pfn_t btype[STREAM_MAX_BATCH];
    mfn_t bmfn[STREAM_MAX_BATCH];
    unsigned bcount;
    /* Round counters. */
    uint64_t r_sent, r_deferred;
    unsigned since_preempt;
    /* The wrapping sink (MS5). */
    stream_sink_fn inner_sink;
    void *inner_ctx;
    bool cut;
    uint8_t *scratch;
    size_t scratch_len;
    uint64_t t0, t_suspend;
    uint64_t t_clean;       /* CLOCK_MONOTONIC ns of the CLEAN that gave
                               this round's dirty pages (log-dirty enable
                               for round 0; 0: none, as in verify) */
};

/* The batch buffer of the last save, kept for the next one: a fresh 4 MiB
   costs a page fault per page on first touch, a tenth of a 1 GiB save. */
static _Atomic(void *) spare_buf;

static void *batch_buf_get(void)
{
    void *b = atomic_exchange(&spare_buf, NULL);
    return b ? b : aligned_alloc(STREAM_PAGE_SIZE,
                                 (size_t)STREAM_MAX_BATCH * STREAM_PAGE_SIZE);
}

static void batch_buf_put(void *b)
{
    if (b && (b = atomic_exchange(&spare_buf, b)))
        free(b);
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int seterr(struct save_ctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int seterr(struct save_ctx *c, int rc, const char *fmt, ...)
{
    if (!c->st->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->st->err, sizeof(c->st->err), fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *errname(int rc)
{
    const char *n = inj_errno_name(rc);
    return n ? n : "?";
}

static bool bm_test(const uint8_t *bm, uint64_t pfn)
{
    return bm[pfn / 8] >> (pfn % 8) & 1;
}
static void bm_set(uint8_t *bm, uint64_t pfn)
{
    bm[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
}
static size_t bm_bytes(const struct save_ctx *c)
{
    return (size_t)((c->nr_pfns + 7) / 8);
}

static uint8_t host_of(const struct save_ctx *c)
{
    return (uint8_t)c->m->host_id;
}

/* ---- the wrapping sink (MS5) ------------------------------------------- */

static int inject_sink(void *ctx, const void *buf, size_t len)
{
    struct save_ctx *c = ctx;
    if (c->cut)
        return -XEN_ENOTCONN;
    struct inj_act act;
    int out = INJ_ACT(mig_stream_write, c->d->domid, &act);
    if (out == INJ_R_FLIP && len) {
        if (c->scratch_len < len) {
            uint8_t *n = realloc(c->scratch, len);
            if (!n)
                return -XEN_ENOMEM;
            c->scratch = n;
            c->scratch_len = len;
        }
        memcpy(c->scratch, buf, len);
        uint64_t bit = act.draw % ((uint64_t)len * 8);
        c->scratch[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        return c->inner_sink(c->inner_ctx, c->scratch, len);
    }
    if (out == INJ_R_TRUNCATE) {
        size_t part = len ? (size_t)(act.draw % len) : 0;
        c->cut = true;
        if (part) {
            int rc = c->inner_sink(c->inner_ctx, buf, part);
            if (rc)
                return rc;
        }
        return seterr(c, -XEN_ENOTCONN,
                      "stream cut by injection (mig.stream.write truncate) "
                      "at offset %llu, %zu of a %zu-byte write sent",
                      (unsigned long long)c->w->offset, part, len);
    }
    return c->inner_sink(c->inner_ctx, buf, len);
}

/* ---- the pfn -> frame map (MS1) ---------------------------------------- */

struct find_ctx {
    struct machine *m;
    pfn_t first;
    uint64_t nr;
    mfn_t *out;                     /* out[pfn - first] */
};

static bool find_one(struct domain *d, mfn_t mfn, void *arg)
{
    (void)d;
    struct find_ctx *f = arg;
    uint64_t pfn = get_gpfn_from_mfn(f->m, mfn);
    if (pfn >= f->first && pfn - f->first < f->nr)
        f->out[pfn - f->first] = mfn;
    return true;
}

/* The mfns of pfns [first, first + nr) of d, through the M2P. */
static void find_frames(struct domain *d, pfn_t first, uint64_t nr, mfn_t *out)
{
    for (uint64_t i = 0; i < nr; i++)
        out[i] = INVALID_MFN;
    struct find_ctx f = { d->m, first, nr, out };
    domain_for_each_page(d, find_one, &f);
}

static uint64_t pv_p2m(const struct save_ctx *c, uint64_t pfn)
{
    if (pfn >= c->nr_pfns)
        return INVALID_PFN_ENTRY;
    return __atomic_load_n(&c->p2m_page[pfn / P2M_PER_FRAME][pfn % P2M_PER_FRAME],
                           __ATOMIC_RELAXED);
}

/* The frame pfn lives in, or INVALID_MFN. */
static mfn_t pfn_to_mfn(struct save_ctx *c, uint64_t pfn)
{
    if (c->pv) {
        uint64_t mfn = pv_p2m(c, pfn);
        if (!mfn_valid(c->m, mfn) || get_gpfn_from_mfn(c->m, mfn) != pfn)
            return INVALID_MFN;
        return mfn;
    }
    p2m_type_t t;
    return get_gfn_query_unlocked(c->d, pfn, &t);
}

static uint64_t ops_mfn_to_pfn(void *opaque, uint64_t mfn)
{
    struct save_ctx *c = opaque;
    return get_gpfn_from_mfn(c->m, mfn);
}

static bool ops_in_physmap(void *opaque, uint64_t pfn, uint64_t mfn)
{
    struct save_ctx *c = opaque;
    return pfn < c->nr_pfns && pv_p2m(c, pfn) == mfn;
}

static int setup_pv(struct save_ctx *c)
{
    struct domain *d = c->d;
    find_frames(d, 0, 1, &c->start_info_mfn);
    const start_info_t *si = c->start_info_mfn == INVALID_MFN ? NULL
                             : domctl_map_foreign(d, c->start_info_mfn);
    if (!si)
        return seterr(c, -XEN_EINVAL, "setup: pfn 0 (start_info) has no frame");
    c->first_p2m_pfn = si->first_p2m_pfn;
    c->nr_p2m_frames = si->nr_p2m_frames;
    if (!c->nr_p2m_frames || c->nr_p2m_frames > c->nr_pfns ||
        c->first_p2m_pfn + c->nr_p2m_frames > c->nr_pfns)
        return seterr(c, -XEN_EINVAL,
                      "setup: start_info names p2m frames %llu+%llu outside "
                      "pfns 0..%llu", (unsigned long long)c->first_p2m_pfn,
                      (unsigned long long)c->nr_p2m_frames,
                      (unsigned long long)c->nr_pfns - 1);
    if (c->nr_pfns > c->nr_p2m_frames * P2M_PER_FRAME)
        c->nr_pfns = c->nr_p2m_frames * P2M_PER_FRAME;
    mfn_t *mfns = calloc(c->nr_p2m_frames, sizeof(*mfns));
    c->p2m_page = calloc(c->nr_p2m_frames, sizeof(*c->p2m_page));
    if (!mfns || !c->p2m_page) {
        free(mfns);
        return seterr(c, -XEN_ENOMEM, "setup: out of memory for the p2m");
    }
    find_frames(d, c->first_p2m_pfn, c->nr_p2m_frames, mfns);
    for (uint64_t i = 0; i < c->nr_p2m_frames; i++) {
        c->p2m_page[i] = mfns[i] == INVALID_MFN ? NULL
                         : domctl_map_foreign(d, mfns[i]);
        if (!c->p2m_page[i]) {
            free(mfns);
            return seterr(c, -XEN_EINVAL, "setup: p2m frame pfn %llu has no "
                          "frame", (unsigned long long)(c->first_p2m_pfn + i));
        }
    }
    free(mfns);
    return 0;
}

/* ---- sending a batch (M3, MS2) ----------------------------------------- */

static void trace_send(struct save_ctx *c, unsigned i, const void *data,
                       bool normalised)
{
    if (!TRC_ENABLED(hvlab_mig, send_page))
        return;
    uint64_t hash = data ? image_page_hash(data) : 0;
    TRC(hvlab_mig, send_page, host_of(c), c->d->domid, c->iter, c->bpfn[i],
        c->bmfn[i], (uint32_t)c->btype[i], (uint8_t)normalised, hash);
}

/* "round 3", "the final round (4)", "the verify pass (5)": for messages. */
static const char *round_name(const struct save_ctx *c)
{
    static __thread char buf[40];
    if (c->kind == MIG_ROUND_FINAL)
        snprintf(buf, sizeof(buf), "the final round (%u)", c->iter);
    else if (c->kind == MIG_ROUND_VERIFY)
        snprintf(buf, sizeof(buf), "the verify pass (%u)", c->iter);
    else
        snprintf(buf, sizeof(buf), "round %u", c->iter);
    return buf;
}

static void defer(struct save_ctx *c, uint64_t pfn)
{
    if (!bm_test(c->deferred, pfn)) {
        bm_set(c->deferred, pfn);
        c->nr_deferred++;
    }
    c->r_deferred++;
}

/* Read (and normalise) pfn i of the batch into buf[i]: 1 data, 0 no data
   (type set to XTAB when deferred), or a fatal negative errno. */
static int read_pfn(struct save_ctx *c, unsigned i, bool *normalised)
{
    uint64_t pfn = c->bpfn[i];
    uint32_t type = (uint32_t)c->btype[i];
    *normalised = false;
    if (c->bmfn[i] == INVALID_MFN) {        /* MS1: no frame */
        if (!c->paused)
            defer(c, pfn);
        c->btype[i] = XEN_DOMCTL_PFINFO_XTAB;
        return 0;
    }
    if (type == XEN_DOMCTL_PFINFO_XTAB && !c->paused) {  /* MS8 */
        defer(c, pfn);
        return 0;
    }
    if (!stream_pfinfo_has_data(type))
        return 0;
    const void *src = domctl_map_foreign(c->d, c->bmfn[i]);
    if (!src) {
        if (!c->paused) {
            defer(c, pfn);
            c->btype[i] = XEN_DOMCTL_PFINFO_XTAB;
            return 0;
        }
        return seterr(c, -XEN_EINVAL, "%s: pfn %#llx (type %#x): frame "
                      "%#llx is not the domain's", round_name(c),
                      (unsigned long long)pfn, type,
                      (unsigned long long)c->bmfn[i]);
    }
    memcpy(c->buf[i], src, STREAM_PAGE_SIZE);
    if (!c->pv || !pvn_type_level(type))
        return 1;
    struct pvn_save_ops ops = { ops_mfn_to_pfn, ops_in_physmap, c };
    struct pvn_fault f = { 0 };
    int rc = pv_normalise_page(type, (const uint64_t *)c->buf[i],
                               (uint64_t *)c->buf[i], &ops, c->paused, &f);
    if (!rc) {
        *normalised = true;
        return 1;
    }
    TRC(hvlab_mig, normalise_fail, host_of(c), c->d->domid, c->iter, pfn,
        type, rc, (uint8_t)f.level, (uint16_t)f.slot, f.entry);
    if (!c->paused) {           /* M3: any error while live defers */
        defer(c, pfn);
        c->btype[i] = XEN_DOMCTL_PFINFO_XTAB;
        return 0;
    }
    return seterr(c, rc, "%s: pfn %#llx (type %#x) does not normalise: "
                  "%s at L%u slot %u entry %#llx (frame %#llx)", round_name(c),
                  (unsigned long long)pfn, type, errname(rc), f.level, f.slot,
                  (unsigned long long)f.entry, (unsigned long long)f.frame);
}

/* Queue pfn i of the batch (mig.send.page acts here). */
static int send_pfn(struct save_ctx *c, unsigned i, bool has, bool normalised,
                    bool *swapped)
{
    struct inj_act act;
    int out = INJ_ACT_ON(mig_send_page, c->d->domid, c->bpfn[i], &act);
    if (out == INJ_R_SKIP)
        return 0;
    if (out == INJ_R_FLIP && has && c->kind != MIG_ROUND_VERIFY) {
        /* (the verify pass sends nothing the destination keeps: a flip
           there would only invent a mismatch) */
        /* the trace keeps the hash of the true page; one byte of what
           goes on the wire is turned (offset and bits: the draw) */
        trace_send(c, i, c->buf[i], normalised);
        ((uint8_t *)c->buf[i])[act.draw % STREAM_PAGE_SIZE] ^=
            (uint8_t)((act.draw >> 32) | 1);
    }
    if (out == INJ_R_REORDER && i + 1 < c->bcount && !*swapped) {
        *swapped = true;                    /* the caller sends i + 1 first */
        return 1;
    }
    const void *data = has ? c->buf[i] : NULL;
    /* traced before the write: the destination may apply the record
       before this thread goes on, and the analysis pairs a record with a
       send traced before it arrived (analysis/check_mig.c R3) */
    if (!(out == INJ_R_FLIP && has))
        trace_send(c, i, data, normalised);
    int rc = stream_write_page(c->w, c->bpfn[i], (uint32_t)c->btype[i], data);
    if (!rc && out == INJ_R_DUP)
        rc = stream_write_page(c->w, c->bpfn[i], (uint32_t)c->btype[i], data);
    if (rc)
        return seterr(c, rc, "%s: writing pfn %#llx: %s", round_name(c),
                      (unsigned long long)c->bpfn[i], errname(rc));
    if (has) {
        c->r_sent += out == INJ_R_DUP ? 2 : 1;
        bm_set(c->sent, c->bpfn[i]);
    }
    return 0;
}

static int flush_batch(struct save_ctx *c)
{
    if (!c->bcount)
        return 0;
    unsigned n = c->bcount;
    for (unsigned i = 0; i < n; i++) {
        c->bmfn[i] = pfn_to_mfn(c, c->bpfn[i]);
        c->btype[i] = c->pv ? (xen_pfn_t)c->bmfn[i] : (xen_pfn_t)c->bpfn[i];
    }
    INJ_POINT_AT(mig_batch_lookup, c->d->domid, INJ_ANY);         /* MS8 */
    int rc = domctl_getpageframeinfo3(c->d, c->btype, n);
    if (rc)
        return seterr(c, rc, "%s: getpageframeinfo3 on %u pfns from "
                      "%#llx: %s", round_name(c), n, (unsigned long long)c->bpfn[0],
                      errname(rc));
    bool has[STREAM_MAX_BATCH], norm[STREAM_MAX_BATCH];
    for (unsigned i = 0; i < n; i++) {
        rc = read_pfn(c, i, &norm[i]);
        if (rc < 0)
            return rc;
        has[i] = rc == 1;
    }
    for (unsigned i = 0; i < n; i++) {
        bool swapped = false;
        rc = send_pfn(c, i, has[i], norm[i], &swapped);
        if (rc < 0)
            return rc;
        if (swapped) {                      /* reorder: i + 1, then i */
            bool dummy = true;
            rc = send_pfn(c, i + 1, has[i + 1], norm[i + 1], &dummy);
            if (!rc)
                rc = send_pfn(c, i, has[i], norm[i], &dummy);
            if (rc < 0)
                return rc;
            i++;
        }
    }
    rc = stream_write_flush(c->w);
    c->bcount = 0;
    if (rc)
        return seterr(c, rc, "%s: writing a PAGE_DATA record: %s",
                      round_name(c), errname(rc));
    return 0;
}

static int queue_pfn(struct save_ctx *c, uint64_t pfn)
{
    c->bpfn[c->bcount++] = pfn;
    if (++c->since_preempt >= MIG_PREEMPT_EVERY) {
        c->since_preempt = 0;
        sched_point(SP_PREEMPT);
    }
    return c->bcount == STREAM_MAX_BATCH ? flush_batch(c) : 0;
}

/* ---- rounds ------------------------------------------------------------ */

/* Send every pfn set in bm (NULL: every pfn) as round c->iter. */
static int send_round(struct save_ctx *c, const uint8_t *bm, uint64_t to_send,
                      uint64_t dirty_count)
{
    uint64_t t = clock_ns(), off = c->w->offset;
    c->r_sent = c->r_deferred = 0;
    TRC(hvlab_mig, round_begin, host_of(c), c->d->domid, c->iter,
        (uint8_t)c->kind, to_send);
    HV_USDT(mig_round_begin, c->m->host_id, c->d->domid, c->iter, c->kind,
            to_send);
    int rc = 0;
    for (uint64_t pfn = 0; !rc && pfn < c->nr_pfns; pfn++) {
        if (bm && !(bm[pfn / 8] >> (pfn % 8) & 1)) {
            if (!bm[pfn / 8])
                pfn |= 7;                   /* skip an empty byte */
            continue;
        }
        rc = queue_pfn(c, pfn);
    }
    if (!rc)
        rc = flush_batch(c);
    if (rc)
        return rc;
    struct mig_round r = {
        .iter = c->iter, .kind = c->kind, .to_send = to_send,
        .dirty_count = dirty_count, .sent = c->r_sent,
        .deferred = c->r_deferred, .bytes = c->w->offset - off,
        .ns = clock_ns() - t,
    };
    struct mig_save_stats *st = c->st;
    if (st->nr_rounds < MIG_MAX_ROUNDS)
        st->round[st->nr_rounds++] = r;
    st->pages_sent += r.sent;
    TRC(hvlab_mig, round_end, host_of(c), c->d->domid, c->iter,
        (uint8_t)c->kind, r.sent, r.deferred, r.bytes, r.ns);
    HV_USDT(mig_round, c->m->host_id, c->d->domid, c->iter, c->kind,
            r.sent, r.dirty_count, r.ns, c->t_clean);
    if (c->o->hooks.progress)
        c->o->hooks.progress(c->o->hooks.arg, &r, false);
    return 0;
}

static int shadow_op(struct save_ctx *c, uint32_t op, uint32_t mode,
                     uint8_t *bm, uint64_t *dirty)
{
    struct xen_domctl_shadow_op so = { .op = op, .mode = mode,
                                       .pages = c->nr_pfns };
    int rc = domctl_shadow_op(c->d, &so, bm);
    if (dirty)
        *dirty = so.stats.dirty_count;
    return rc;
}

/* Xen's simple_precopy_policy: stop under target_dirty (dirty < 0: not
   known) or at max_iters; the mig.policy.* points can turn the decision. */
static bool policy_decide(struct save_ctx *c, int64_t dirty, unsigned iteration)
{
    uint64_t target = c->o->target_dirty ? c->o->target_dirty
                                         : MIG_TARGET_DIRTY_DEFAULT;
    unsigned max = c->o->max_iters ? c->o->max_iters : MIG_MAX_ITERS_DEFAULT;
    bool stop = (dirty >= 0 && (uint64_t)dirty < target) || iteration >= max;
    if (stop) {
        if (INJ_POINT_AT(mig_policy_stop, c->d->domid, INJ_ANY))
            stop = false;
    } else if (INJ_POINT_AT(mig_policy_continue, c->d->domid, INJ_ANY)) {
        stop = true;
    }
    /* The stats keep MIG_MAX_ROUNDS rounds: never more live ones. */
    if (iteration + 3 >= MIG_MAX_ROUNDS)
        stop = true;
    return !stop;
}

/* M2: iteration 0 and the live rounds, as Xen's send_memory_live. */
static int live_rounds(struct save_ctx *c)
{
    int rc = shadow_op(c, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL);
    if (rc == -XEN_EINVAL) {                /* on already: off, then again */
        shadow_op(c, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL);
        rc = shadow_op(c, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL);
    }
    if (rc)
        return seterr(c, rc, "enabling log-dirty: %s", errname(rc));
    c->logdirty_on = true;
    c->t_clean = clock_ns();
    memset(c->dirty, 0xff, bm_bytes(c));
    int64_t dirty = (int64_t)c->nr_pfns;   /* Xen seeds it with p2m_size */
    uint64_t to_send = c->nr_pfns, dirty_count = c->nr_pfns;
    unsigned iteration = 0;
    c->kind = MIG_ROUND_LIVE;
    for (;;) {
        bool go = policy_decide(c, dirty, iteration);
        if (to_send) {
            c->iter = iteration;
            rc = send_round(c, c->iter == 0 ? NULL : c->dirty, to_send,
                            dirty_count);
            if (rc)
                return rc;
            c->st->live_rounds++;
        }
        if (!go)
            break;
        iteration++;
        dirty = -1;
        if (!policy_decide(c, dirty, iteration))
            break;
        rc = shadow_op(c, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, c->dirty, &dirty_count);
        if (rc)
            return seterr(c, rc, "round %u: CLEAN: %s", iteration, errname(rc));
        c->t_clean = clock_ns();
        INJ_POINT_AT(mig_round_after_clean, c->d->domid, INJ_ANY);
        dirty = (int64_t)dirty_count;
        to_send = dirty_count;
    }
    c->iter = iteration;
    return 0;
}

/* M4: ask the guest to stop. */
static int suspend_domain(struct save_ctx *c)
{
    INJ_POINT_AT(mig_suspend_before, c->d->domid, INJ_ANY);
    c->t_suspend = clock_ns();
    TRC(hvlab_mig, suspend, host_of(c), c->d->domid, 0, 0);
    if (!c->o->hooks.suspend)
        return seterr(c, -XEN_EINVAL, "suspend: no suspend hook");
    char why[200] = "";
    int rc = c->o->hooks.suspend(c->o->hooks.arg, c->d, why, sizeof(why));
    if (rc)
        return seterr(c, rc, "suspend: %s", why[0] ? why : errname(rc));
    int reason = -1;
    if (!domain_shut_down(c->d, &reason) || reason != SHUTDOWN_suspend)
        return seterr(c, -XEN_EINVAL, "suspend: the domain is not shut down "
                      "with SHUTDOWN_suspend (reason %d)", reason);
    c->paused = true;
    TRC(hvlab_mig, suspend, host_of(c), c->d->domid, 1, clock_ns() - c->t_suspend);
    TRC(hvlab_mig, suspend, host_of(c), c->d->domid, 2, clock_ns() - c->t_suspend);
    return 0;
}

/* An image of every pfn as it is now (PV tables in their sent form when
   they normalise, raw otherwise). */
static int write_image(struct save_ctx *c, FILE *f, enum image_moment moment)
{
    struct image_header h = {
        .host_id = c->m->host_id, .domid = c->d->domid,
        .kind = c->pv ? IMAGE_KIND_PV : IMAGE_KIND_HVM,
        .moment = moment, .nr_pages = c->nr_pfns,
    };
    struct image_writer *iw;
    int rc = image_writer_open(f, &h, &iw);
    if (rc)
        return seterr(c, rc, "image: header: %s", errname(rc));
    for (uint64_t base = 0; base < c->nr_pfns; base += STREAM_MAX_BATCH) {
        unsigned n = (unsigned)(c->nr_pfns - base < STREAM_MAX_BATCH
                                ? c->nr_pfns - base : STREAM_MAX_BATCH);
        for (unsigned i = 0; i < n; i++) {
            c->bpfn[i] = base + i;
            c->bmfn[i] = pfn_to_mfn(c, base + i);
            c->btype[i] = c->pv ? (xen_pfn_t)c->bmfn[i] : (xen_pfn_t)(base + i);
        }
        rc = domctl_getpageframeinfo3(c->d, c->btype, n);
        for (unsigned i = 0; !rc && i < n; i++) {
            uint32_t type = c->bmfn[i] == INVALID_MFN ? XEN_DOMCTL_PFINFO_XTAB
                                                      : (uint32_t)c->btype[i];
            const void *src = stream_pfinfo_has_data(type)
                              ? domctl_map_foreign(c->d, c->bmfn[i]) : NULL;
            if (src) {
                memcpy(c->buf[i], src, STREAM_PAGE_SIZE);
                if (c->pv && pvn_type_level(type)) {
                    struct pvn_save_ops ops = { ops_mfn_to_pfn, ops_in_physmap, c };
                    (void)pv_normalise_page(type, (const uint64_t *)c->buf[i],
                                            (uint64_t *)c->buf[i], &ops, true,
                                            NULL);
                }
            } else if (stream_pfinfo_has_data(type)) {
                type = XEN_DOMCTL_PFINFO_XTAB;
            }
            rc = image_add_page(iw, base + i, type, src ? c->buf[i] : NULL);
        }
        if (rc) {
            image_writer_abort(iw);
            return seterr(c, rc, "image: pfns from %#llx: %s",
                          (unsigned long long)base, errname(rc));
        }
    }
    rc = image_writer_finish(iw);
    return rc ? seterr(c, rc, "image: footer: %s", errname(rc)) : 0;
}

/* M4: the final CLEAN and the paused round (dirty | deferred). */
static int final_round(struct save_ctx *c, unsigned iter)
{
    int rc;
    uint64_t dirty_count = 0;
    if (c->o->image_pause && (rc = write_image(c, c->o->image_pause,
                                               IMAGE_MOMENT_SOURCE_PAUSE)))
        return rc;
    if (c->logdirty_on) {
        rc = shadow_op(c, XEN_DOMCTL_SHADOW_OP_CLEAN,
                       XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL, c->dirty, &dirty_count);
        if (rc)
            return seterr(c, rc, "final CLEAN: %s", errname(rc));
        c->t_clean = clock_ns();
    } else {
        memset(c->dirty, 0xff, bm_bytes(c));    /* non-live: every pfn */
        dirty_count = c->nr_pfns;
        c->t_clean = 0;
    }
    TRC(hvlab_mig, suspend, host_of(c), c->d->domid, 3, clock_ns() - c->t_suspend);
    INJ_POINT_AT(mig_final_after_clean, c->d->domid, INJ_ANY);
    c->st->deferred_final = c->nr_deferred;
    for (uint64_t pfn = 0; pfn < c->nr_pfns; pfn++)     /* MS7 */
        if (bm_test(c->sent, pfn) && !bm_test(c->dirty, pfn) &&
            pfn_to_mfn(c, pfn) == INVALID_MFN)
            bm_set(c->dirty, pfn);
    uint64_t to_send = 0;
    for (size_t b = 0; b < bm_bytes(c); b++) {
        c->dirty[b] |= c->deferred[b];
        c->deferred[b] = 0;
        to_send += (uint64_t)__builtin_popcount(c->dirty[b]);
    }
    if (c->nr_pfns % 8)                     /* bits past the last pfn */
        c->dirty[bm_bytes(c) - 1] &= (uint8_t)((1u << (c->nr_pfns % 8)) - 1);
    c->nr_deferred = 0;
    c->iter = iter;
    c->kind = MIG_ROUND_FINAL;
    rc = send_round(c, c->dirty, to_send, dirty_count);
    if (!rc && c->o->image_final)
        rc = write_image(c, c->o->image_final, IMAGE_MOMENT_SOURCE_FINAL);
    return rc;
}

/* ---- static and tail records ------------------------------------------- */

static int pv_vcpu_basic(struct save_ctx *c, struct vcpu *v)
{
    vcpu_guest_context_x86_64_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = VGCF_in_kernel | VGCF_online;
    ctx.vm_assist = c->d->vm_assist;        /* as Xen's arch_get_info_guest */
    uint64_t pfn = v->guest_table == INVALID_MFN ? INVALID_M2P_ENTRY
                   : get_gpfn_from_mfn(c->m, v->guest_table);
    if (pfn == INVALID_M2P_ENTRY || pfn >= c->nr_pfns)
        return seterr(c, -XEN_ERANGE, "vCPU %u: kernel root mfn %#llx has no "
                      "pfn", v->vcpu_id, (unsigned long long)v->guest_table);
    ctx.ctrlreg[3] = xen_pfn_to_cr3(pfn);
    if (v->guest_table_user != 0 && v->guest_table_user != INVALID_MFN) {
        pfn = get_gpfn_from_mfn(c->m, v->guest_table_user);
        if (pfn == INVALID_M2P_ENTRY || pfn >= c->nr_pfns)
            return seterr(c, -XEN_ERANGE, "vCPU %u: user root mfn %#llx has "
                          "no pfn", v->vcpu_id,
                          (unsigned long long)v->guest_table_user);
        ctx.ctrlreg[1] = 1 | xen_pfn_to_cr3(pfn);  /* bit 0: valid, as Xen */
    }
    if (v->vcpu_id == 0)
        ctx.user_regs.rdx = 0;              /* start_info's pfn */
    int rc = stream_write_x86_pv_vcpu(c->w, STREAM_REC_X86_PV_VCPU_BASIC,
                                      v->vcpu_id, &ctx, sizeof(ctx));
    return rc ? seterr(c, rc, "X86_PV_VCPU_BASIC of vCPU %u: %s", v->vcpu_id,
                       errname(rc)) : 0;
}

static int tail_pv(struct save_ctx *c)
{
    int rc = stream_write_x86_tsc_info(c->w, 0, 0, 0, 0);
    if (rc)
        return seterr(c, rc, "X86_TSC_INFO: %s", errname(rc));
    const void *si = c->d->shared_info_mfn == INVALID_MFN ? NULL
                     : domctl_map_foreign(c->d, c->d->shared_info_mfn);
    static const uint8_t zero[STREAM_PAGE_SIZE];
    rc = stream_write_shared_info(c->w, si ? si : zero);
    if (rc)
        return seterr(c, rc, "SHARED_INFO: %s", errname(rc));
    for (unsigned i = 0; i < c->d->nr_vcpus; i++)
        if ((rc = pv_vcpu_basic(c, c->d->vcpu[i])))
            return rc;
    return 0;
}

static int tail_hvm(struct save_ctx *c)
{
    int rc = stream_write_x86_tsc_info(c->w, 0, 0, 0, 0);
    if (rc)
        return seterr(c, rc, "X86_TSC_INFO: %s", errname(rc));
    rc = stream_write_hvm_params(c->w, NULL, 0);
    if (rc)
        return seterr(c, rc, "HVM_PARAMS: %s", errname(rc));
    size_t one = sizeof(struct hvm_save_descriptor);
    size_t len = one + HVM_SAVE_LENGTH(HEADER) +
                 c->d->nr_vcpus * (one + HVM_SAVE_LENGTH(CPU)) + one;
    uint8_t *blob = calloc(1, len), *p = blob;
    if (!blob)
        return seterr(c, -XEN_ENOMEM, "HVM_CONTEXT: out of memory");
    struct hvm_save_descriptor desc = {
        .typecode = HVM_SAVE_CODE(HEADER), .instance = 0,
        .length = HVM_SAVE_LENGTH(HEADER),
    };
    struct hvm_save_header hdr = { .magic = HVM_FILE_MAGIC,
                                   .version = HVM_FILE_VERSION };
    memcpy(p, &desc, one); p += one;
    memcpy(p, &hdr, sizeof(hdr)); p += sizeof(hdr);
    for (unsigned i = 0; i < c->d->nr_vcpus; i++) {
        struct hvm_hw_cpu cpu;
        memset(&cpu, 0, sizeof(cpu));
        cpu.cr0 = 0x80000011ULL;            /* PG | ET | PE */
        cpu.cr3 = c->d->vcpu[i]->guest_cr3;
        cpu.cr4 = 0x20;                     /* PAE */
        cpu.msr_efer = 0x500;               /* LME | LMA */
        desc = (struct hvm_save_descriptor){
            .typecode = HVM_SAVE_CODE(CPU), .instance = (uint16_t)i,
            .length = HVM_SAVE_LENGTH(CPU),
        };
        memcpy(p, &desc, one); p += one;
        memcpy(p, &cpu, sizeof(cpu)); p += sizeof(cpu);
    }
    desc = (struct hvm_save_descriptor){ .typecode = HVM_SAVE_CODE(END) };
    memcpy(p, &desc, one);
    rc = stream_write_hvm_context(c->w, blob, len);
    free(blob);
    return rc ? seterr(c, rc, "HVM_CONTEXT: %s", errname(rc)) : 0;
}

/* M1: headers, static records, STATIC_DATA_END, (PV) P2M_FRAMES. */
static int start_stream(struct save_ctx *c)
{
    int rc = stream_write_headers(c->w, c->pv ? STREAM_DHDR_TYPE_X86_PV
                                              : STREAM_DHDR_TYPE_X86_HVM,
                                  MIG_XEN_MAJOR, MIG_XEN_MINOR);
    if (!rc && c->pv)
        rc = stream_write_x86_pv_info(c->w, 8, 4);
    if (!rc)
        rc = stream_write_static_data_end(c->w);
    if (rc)
        return seterr(c, rc, "writing the stream's start: %s", errname(rc));
    if (!c->pv)
        return 0;
    uint64_t *pfns = malloc(c->nr_p2m_frames * sizeof(*pfns));
    if (!pfns)
        return seterr(c, -XEN_ENOMEM, "X86_PV_P2M_FRAMES: out of memory");
    for (uint64_t i = 0; i < c->nr_p2m_frames; i++)
        pfns[i] = c->first_p2m_pfn + i;
    rc = stream_write_x86_pv_p2m_frames(c->w, 0, (uint32_t)(c->nr_pfns - 1),
                                        pfns, c->nr_p2m_frames);
    free(pfns);
    return rc ? seterr(c, rc, "X86_PV_P2M_FRAMES: %s", errname(rc)) : 0;
}

/* ---- mig_save ---------------------------------------------------------- */

static int save(struct save_ctx *c)
{
    int rc;
    if (c->pv && (rc = setup_pv(c)))
        return rc;
    if ((rc = start_stream(c)))
        return rc;
    unsigned final_iter = 0;
    if (c->o->live) {
        if ((rc = live_rounds(c)))
            return rc;
        final_iter = c->iter + 1;
    }
    if ((rc = suspend_domain(c)))
        return rc;
    if ((rc = final_round(c, final_iter)))
        return rc;
    if (c->o->verify) {                     /* M5 */
        rc = stream_write_verify(c->w);
        if (rc)
            return seterr(c, rc, "VERIFY: %s", errname(rc));
        c->iter = final_iter + 1;
        c->kind = MIG_ROUND_VERIFY;
        c->t_clean = 0;
        if ((rc = send_round(c, NULL, c->nr_pfns, 0)))
            return rc;
    }
    if ((rc = c->pv ? tail_pv(c) : tail_hvm(c)))
        return rc;
    rc = stream_write_end(c->w);
    return rc ? seterr(c, rc, "END: %s", errname(rc)) : 0;
}

int mig_save(const struct mig_save_opts *o, struct mig_save_stats *st)
{
    if (!o || !st)
        return -XEN_EINVAL;
    memset(st, 0, sizeof(*st));
    struct save_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -XEN_ENOMEM;
    c->o = o;
    c->st = st;
    c->d = o->d;
    c->w = o->w;
    int rc;
    if (!c->d || !c->w || c->w->headers_done || !c->d->nr_vcpus) {
        rc = seterr(c, -XEN_EINVAL, "bad arguments: %s",
                    !c->d ? "no domain" : !c->w ? "no writer"
                    : c->w->headers_done ? "headers already written"
                    : "a domain without vCPUs");
        free(c);
        return rc;
    }
    c->m = c->d->m;
    c->pv = is_pv_domain(c->d);
    c->nr_pfns = (uint64_t)c->d->max_gpfn + 1;
    c->t0 = clock_ns();
    c->dirty = calloc(1, bm_bytes(c) + 1);
    c->deferred = calloc(1, bm_bytes(c) + 1);
    c->sent = calloc(1, bm_bytes(c) + 1);
    c->buf = batch_buf_get();
    if (!c->dirty || !c->deferred || !c->sent || !c->buf) {
        rc = seterr(c, -XEN_ENOMEM, "out of memory for bitmaps and buffers");
        goto out;
    }
    c->inner_sink = c->w->sink;
    c->inner_ctx = c->w->ctx;
    c->w->sink = inject_sink;
    c->w->ctx = c;

    rc = save(c);

    c->w->sink = c->inner_sink;             /* MS5 */
    c->w->ctx = c->inner_ctx;
out:
    if (c->logdirty_on) {                   /* MS4 */
        int off = shadow_op(c, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL);
        if (off && !rc)
            rc = seterr(c, off, "switching log-dirty off: %s", errname(off));
    }
    uint64_t t = clock_ns();
    st->total_ns = t - c->t0;
    if (c->t_suspend)
        st->downtime_ns = t - c->t_suspend;
    st->bytes = c->w->offset;
    TRC(hvlab_mig, save_done, host_of(c), c->d->domid, rc, st->pages_sent,
        st->bytes);
    if (!rc && o->hooks.progress && st->nr_rounds)
        o->hooks.progress(o->hooks.arg, &st->round[st->nr_rounds - 1], true);
    if (!rc)
        st->err[0] = '\0';
    free(c->dirty);
    free(c->deferred);
    free(c->sent);
    batch_buf_put(c->buf);
    free(c->scratch);
    free(c->p2m_page);
    free(c);
    return rc;
}
