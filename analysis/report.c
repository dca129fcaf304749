/*
 * analysis/report.c - the report's counters: events in (R1), migrations
 * round by round, event statistics and hypercall latency kept as counts.
 * The outputs are report_print.c (text, JSON) and report_plot.c (gnuplot);
 * the structures are in report_private.h.
 *
 * Rules (report.h R1-R4 are the interface's; these are the file's):
 *   RP1 A migration is found by (host, dom) among the open ones (no
 *       save_done yet).  A round_begin whose iter does not go past the open
 *       migration's last round starts a new migration (the old one is closed
 *       unfinished); an event of a migration or round whose beginning the
 *       trace does not hold (it started mid-way) opens it implicitly, with
 *       the unknown values marked unknown, never guessed.
 *   RP2 A round's "dirtied" is the dirty_count of the hvlab_dirty:clean that
 *       opened it: the last CLEAN of (host, dom) since that domain's
 *       previous round_begin, save_done or ENABLE_LOGDIRTY.  A round with no
 *       such CLEAN (iteration 0 sends every pfn) counts its to_send instead
 *       and says so (has_clean).  A CLEAN replaced by the next one before
 *       any round began (it found nothing worth a round, iteration k of
 *       docs/migration.md) is counted idle in the open migration.
 *   RP3 Re-sent (R2) is counted from hvlab_mig:send_page events that carry
 *       data (type not XTAB / XALLOC / BROKEN, Xen's XEN_DOMCTL_PFINFO_*):
 *       a pfn set per open migration keeps the last round that sent each
 *       pfn; the set is freed at save_done, so memory follows the open
 *       migrations, not the trace.  A second send in the same round is a
 *       duplicate, not a re-send.  The verify pass re-sends every page by
 *       design: its round counts them, the migration's total does not.
 *   RP4 Latency (R3) keeps one open call per (host, dom, vcpu): a new entry
 *       over an open one counts the old one lost; an exit with no entry is
 *       unmatched; both are reported, never timed.  The call is charged to
 *       the entry's op.  Two histograms per op: log2 buckets (shown), and
 *       16 sub-buckets per power of two for p50/p99 (at most 1/16 high;
 *       never above the largest seen).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/domctl.h>

#include "analysis/hcall_name.h"
#include "analysis/report.h"
#include "analysis/report_private.h"

const char *rp_op_name(uint32_t op, char *buf, size_t len)
{
    const char *n = hcall_name(op);
    if (n)
        return n;
    snprintf(buf, len, "op_%" PRIu32, op);
    return buf;
}

const char *rp_kind_name(uint8_t k)
{
    switch (k) {
    case RK_LIVE:   return "live";
    case RK_FINAL:  return "final";
    case RK_VERIFY: return "verify";
    default:        return "?";
    }
}

/* ---- life -------------------------------------------------------------- */

struct report *report_new(void)
{
    return calloc(1, sizeof(struct report));
}

static void mig_free(struct rp_mig *m)
{
    if (!m)
        return;
    free(m->round);
    free(m->set);
    free(m);
}

void report_free(struct report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nmig; i++)
        mig_free(r->mig[i]);
    free(r->mig);
    free(r->clean);
    for (size_t i = 0; i < r->nop; i++)
        free(r->op[i]);
    free(r->op);
    free(r->call);
    free(r);
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* ---- migrations (R2, RP1-RP3) ------------------------------------------ */

static struct rp_mig *mig_find(struct report *r, uint8_t host, uint16_t dom)
{
    struct rp_mig *m = r->last_mig;
    if (m && m->open && m->host == host && m->dom == dom)
        return m;
    for (size_t i = r->nmig; i-- > 0;) {
        m = r->mig[i];
        if (m->open && m->host == host && m->dom == dom)
            return r->last_mig = m;
    }
    return NULL;
}

static struct rp_mig *mig_open(struct report *r, uint8_t host, uint16_t dom,
                               int64_t ts)
{
    if (!grow((void **)&r->mig, &r->capmig, r->nmig + 1, sizeof(*r->mig))) {
        r->oom = true;
        return NULL;
    }
    struct rp_mig *m = calloc(1, sizeof(*m));
    if (!m) {
        r->oom = true;
        return NULL;
    }
    m->host = host;
    m->dom = dom;
    m->open = true;
    m->t_first = m->t_last = ts;
    r->mig[r->nmig++] = m;
    return r->last_mig = m;
}

static void mig_close(struct rp_mig *m)
{
    m->open = false;
    free(m->set);               /* RP3 */
    m->set = NULL;
    m->setcap = m->setused = 0;
}

/* The open migration of (host, dom), opened implicitly when absent (RP1). */
static struct rp_mig *mig_get(struct report *r, uint8_t host, uint16_t dom,
                              int64_t ts)
{
    struct rp_mig *m = mig_find(r, host, dom);
    if (!m)
        m = mig_open(r, host, dom, ts);
    if (m)
        m->t_last = ts;
    return m;
}

static struct rp_round *round_push(struct report *r, struct rp_mig *m,
                                   uint32_t iter, uint8_t kind)
{
    if (!grow((void **)&m->round, &m->capround, m->nround + 1,
              sizeof(*m->round))) {
        r->oom = true;
        return NULL;
    }
    struct rp_round *rd = &m->round[m->nround++];
    memset(rd, 0, sizeof(*rd));
    rd->iter = iter;
    rd->kind = kind;
    return rd;
}

/* The round iter of m, the last one; opened implicitly when absent (RP1). */
static struct rp_round *round_get(struct report *r, struct rp_mig *m,
                                  uint32_t iter, uint8_t kind)
{
    if (m->nround && m->round[m->nround - 1].iter == iter)
        return &m->round[m->nround - 1];
    return round_push(r, m, iter, kind);
}

static struct rp_clean *clean_slot(struct report *r, uint8_t host,
                                   uint16_t dom, bool create)
{
    for (size_t i = 0; i < r->nclean; i++)
        if (r->clean[i].host == host && r->clean[i].dom == dom)
            return &r->clean[i];
    if (!create)
        return NULL;
    if (!grow((void **)&r->clean, &r->capclean, r->nclean + 1,
              sizeof(*r->clean))) {
        r->oom = true;
        return NULL;
    }
    struct rp_clean *c = &r->clean[r->nclean++];
    *c = (struct rp_clean){ .host = host, .dom = dom };
    return c;
}

static void clean_forget(struct report *r, uint8_t host, uint16_t dom)
{
    struct rp_clean *c = clean_slot(r, host, dom, false);
    if (c)
        c->valid = false;
}

static size_t pfn_hash(uint64_t pfn, size_t cap)
{
    pfn ^= pfn >> 33;
    pfn *= 0xff51afd7ed558ccdULL;
    pfn ^= pfn >> 33;
    return (size_t)pfn & (cap - 1);
}

/* RP3: the slot of pfn in m's set (inserted empty when new), or NULL. */
static struct pfn_slot *pfn_slot(struct report *r, struct rp_mig *m,
                                 uint64_t pfn)
{
    if ((m->setused + 1) * 4 > m->setcap * 3) {
        size_t ncap = m->setcap ? m->setcap * 2 : 1024;
        struct pfn_slot *n = calloc(ncap, sizeof(*n));
        if (!n) {
            r->oom = true;
            return NULL;
        }
        for (size_t i = 0; i < m->setcap; i++) {
            if (!m->set[i].round1)
                continue;
            size_t h = pfn_hash(m->set[i].pfn, ncap);
            while (n[h].round1)
                h = (h + 1) & (ncap - 1);
            n[h] = m->set[i];
        }
        free(m->set);
        m->set = n;
        m->setcap = ncap;
    }
    size_t h = pfn_hash(pfn, m->setcap);
    while (m->set[h].round1 && m->set[h].pfn != pfn)
        h = (h + 1) & (m->setcap - 1);
    if (!m->set[h].round1) {
        m->set[h].pfn = pfn;
        m->setused++;
    }
    return &m->set[h];
}

static bool type_has_data(uint32_t type)
{
    uint32_t t = type & XEN_DOMCTL_PFINFO_LTAB_MASK;
    return t != XEN_DOMCTL_PFINFO_XTAB && t != XEN_DOMCTL_PFINFO_XALLOC &&
           t != XEN_DOMCTL_PFINFO_BROKEN;
}

static void on_round_begin(struct report *r, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    uint32_t iter = (uint32_t)hv_u(e, HVF_iter);
    struct rp_mig *m = mig_find(r, host, dom);
    if (m && m->nround && iter <= m->round[m->nround - 1].iter)
        mig_close(m);                           /* RP1: a new migration */
    m = mig_get(r, host, dom, e->ts);
    if (!m)
        return;
    struct rp_round *rd = round_get(r, m, iter, (uint8_t)hv_u(e, HVF_final));
    if (!rd)
        return;
    rd->has_begin = true;
    rd->kind = (uint8_t)hv_u(e, HVF_final);
    rd->to_send = hv_u(e, HVF_to_send);
    rd->t_begin = e->ts;
    struct rp_clean *c = clean_slot(r, host, dom, false);
    if (c && c->valid) {                        /* RP2 */
        rd->has_clean = true;
        rd->dirty_count = c->dirty_count;
        c->valid = false;
    }
}

static void on_round_end(struct report *r, const struct hv_ev *e)
{
    struct rp_mig *m = mig_get(r, (uint8_t)hv_u(e, HVF_host),
                               (uint16_t)hv_u(e, HVF_dom), e->ts);
    if (!m)
        return;
    struct rp_round *rd = round_get(r, m, (uint32_t)hv_u(e, HVF_iter),
                                    (uint8_t)hv_u(e, HVF_final));
    if (!rd)
        return;
    rd->has_end = true;
    rd->sent = hv_u(e, HVF_sent);
    rd->deferred = hv_u(e, HVF_deferred);
    rd->bytes = hv_u(e, HVF_bytes);
    rd->ns = hv_u(e, HVF_ns);
    rd->t_end = e->ts;
}

static void on_send_page(struct report *r, const struct hv_ev *e)
{
    struct rp_mig *m = mig_get(r, (uint8_t)hv_u(e, HVF_host),
                               (uint16_t)hv_u(e, HVF_dom), e->ts);
    if (!m)
        return;
    uint32_t iter = (uint32_t)hv_u(e, HVF_iter);
    struct rp_round *rd = round_get(r, m, iter, RK_LIVE);
    if (!rd)
        return;
    if (!type_has_data((uint32_t)hv_u(e, HVF_type))) {
        rd->nodata++;
        return;
    }
    rd->pages++;
    m->pages_seen++;
    struct pfn_slot *s = pfn_slot(r, m, hv_u(e, HVF_pfn));
    if (!s)
        return;
    uint32_t here = (uint32_t)(rd - m->round) + 1;
    if (s->round1 == here) {
        rd->dup++;
    } else if (s->round1) {                     /* R2 */
        rd->resent++;
        if (rd->kind != RK_VERIFY)
            m->resent++;
    }
    s->round1 = here;
}

static void on_normalise_fail(struct report *r, const struct hv_ev *e)
{
    struct rp_mig *m = mig_get(r, (uint8_t)hv_u(e, HVF_host),
                               (uint16_t)hv_u(e, HVF_dom), e->ts);
    struct rp_round *rd = m ? round_get(r, m, (uint32_t)hv_u(e, HVF_iter),
                                        RK_LIVE) : NULL;
    if (rd)
        rd->norm_fail++;
}

static void on_suspend(struct report *r, const struct hv_ev *e)
{
    struct rp_mig *m = mig_get(r, (uint8_t)hv_u(e, HVF_host),
                               (uint16_t)hv_u(e, HVF_dom), e->ts);
    if (!m)
        return;
    uint8_t phase = (uint8_t)hv_u(e, HVF_phase);
    if (phase == 0 || !m->has_suspend) {
        m->has_suspend = true;
        m->t_suspend = e->ts;
    }
    m->suspend_phase = phase;
    m->suspend_ns = hv_u(e, HVF_ns);
}

static void on_save_done(struct report *r, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct rp_mig *m = mig_get(r, host, dom, e->ts);
    if (!m)
        return;
    m->done = true;
    m->rc = (int32_t)hv_s(e, HVF_rc);
    m->pages = hv_u(e, HVF_pages);
    m->bytes = hv_u(e, HVF_bytes);
    m->t_done = e->ts;
    mig_close(m);
    clean_forget(r, host, dom);
}

static void on_clean(struct report *r, const struct hv_ev *e)
{
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
    struct rp_clean *c = clean_slot(r, host, dom, true);
    if (!c)
        return;
    struct rp_mig *m = c->valid ? mig_find(r, host, dom) : NULL;
    if (m) {                                    /* RP2: an idle CLEAN */
        m->idle_cleans++;
        m->idle_dirty += c->dirty_count;
    }
    c->valid = true;
    c->dirty_count = (uint32_t)hv_u(e, HVF_dirty_count);
}

/* ---- hypercall latency (R3, RP4) --------------------------------------- */

static unsigned log2_index(uint64_t v)
{
    return v < 2 ? 0 : 63u - (unsigned)__builtin_clzll(v);
}

static unsigned fine_index(uint64_t v)
{
    if (v < LAT_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (e - LAT_SUB_BITS)) & (LAT_SUB - 1);
    return (e - LAT_SUB_BITS + 1) * LAT_SUB + sub;
}

/* The largest value fine bucket idx holds. */
static uint64_t fine_upper(unsigned idx)
{
    if (idx < LAT_SUB)
        return idx;
    unsigned e = idx / LAT_SUB + LAT_SUB_BITS - 1, sub = idx % LAT_SUB;
    uint64_t lo = (1ULL << e) | ((uint64_t)sub << (e - LAT_SUB_BITS));
    return lo + (1ULL << (e - LAT_SUB_BITS)) - 1;
}

static struct rp_op *op_get(struct report *r, uint32_t op)
{
    if (op < 64 && r->op_small[op])
        return r->op_small[op];
    if (op >= 64)
        for (size_t i = 0; i < r->nop; i++)
            if (r->op[i]->op == op)
                return r->op[i];
    if (!grow((void **)&r->op, &r->capop, r->nop + 1, sizeof(*r->op))) {
        r->oom = true;
        return NULL;
    }
    struct rp_op *o = calloc(1, sizeof(*o));
    if (!o) {
        r->oom = true;
        return NULL;
    }
    o->op = op;
    o->min_ns = UINT64_MAX;
    r->op[r->nop++] = o;
    if (op < 64)
        r->op_small[op] = o;
    return o;
}

static uint64_t call_key(const struct hv_ev *e)
{
    return hv_u(e, HVF_host) << 32 | (hv_u(e, HVF_dom) & 0xffff) << 16 |
           (hv_u(e, HVF_vcpu) & 0xffff);
}

static size_t call_hash(uint64_t key, size_t cap)
{
    return pfn_hash(key, cap);
}

/* The slot of key: its open call, or the empty slot it would take. */
static struct rp_call *call_slot(struct report *r, uint64_t key, bool create)
{
    if (create && (r->usedcall + 1) * 2 > r->capcall) {
        size_t ncap = r->capcall ? r->capcall * 2 : 64;
        struct rp_call *n = calloc(ncap, sizeof(*n));
        if (!n) {
            r->oom = true;
            return NULL;
        }
        for (size_t i = 0; i < r->capcall; i++) {
            if (!r->call[i].used)
                continue;
            size_t h = call_hash(r->call[i].key, ncap);
            while (n[h].used)
                h = (h + 1) & (ncap - 1);
            n[h] = r->call[i];
        }
        free(r->call);
        r->call = n;
        r->capcall = ncap;
    }
    if (!r->capcall)
        return NULL;
    size_t h = call_hash(key, r->capcall);
    while (r->call[h].used && r->call[h].key != key)
        h = (h + 1) & (r->capcall - 1);
    return &r->call[h];
}

/* Slots stay used once a vCPU has called (one per vCPU): "open" is op+1. */
static void on_hcall_entry(struct report *r, const struct hv_ev *e)
{
    struct rp_call *c = call_slot(r, call_key(e), true);
    if (!c)
        return;
    if (!c->used) {
        c->used = true;
        c->key = call_key(e);
        r->usedcall++;
    } else if (c->op) {
        r->lost_entries++;                      /* RP4 */
    }
    c->op = (uint32_t)hv_u(e, HVF_op) + 1;
    c->conts = 0;
    c->t = e->ts;
}

static void on_hcall_cont(struct report *r, const struct hv_ev *e)
{
    struct rp_call *c = call_slot(r, call_key(e), false);
    if (!c || !c->used || !c->op) {
        r->unmatched_conts++;
        return;
    }
    c->conts++;                                 /* R3: does not end it */
}

static void on_hcall_exit(struct report *r, const struct hv_ev *e)
{
    struct rp_call *c = call_slot(r, call_key(e), false);
    if (!c || !c->used || !c->op) {
        r->unmatched_exits++;                   /* RP4 */
        return;
    }
    uint32_t op = c->op - 1;
    int64_t t0 = c->t;
    uint32_t conts = c->conts;
    c->op = 0;
    if (t0 == 0 && e->ts == 0) {
        r->untimed++;
        return;
    }
    struct rp_op *o = op_get(r, op);
    if (!o)
        return;
    uint64_t ns = e->ts > t0 ? (uint64_t)(e->ts - t0) : 0;
    r->calls++;
    o->calls++;
    o->continuations += conts;
    if (conts)
        o->continued++;
    o->sum_ns += ns;
    if (ns < o->min_ns)
        o->min_ns = ns;
    if (ns > o->max_ns)
        o->max_ns = ns;
    o->log2[log2_index(ns)]++;
    o->fine[fine_index(ns)]++;
}

/* p in per mille: the value at rank ceil(p * calls / 1000) (RP4). */
uint64_t rp_op_percentile(const struct rp_op *o, unsigned permille)
{
    if (!o->calls)
        return 0;
    uint64_t rank = (o->calls * permille + 999) / 1000, cum = 0;
    if (!rank)
        rank = 1;
    for (unsigned i = 0; i < LAT_FINE; i++) {
        cum += o->fine[i];
        if (cum >= rank) {
            uint64_t v = fine_upper(i);
            if (v > o->max_ns)
                v = o->max_ns;
            if (v < o->min_ns)
                v = o->min_ns;
            return v;
        }
    }
    return o->max_ns;
}

/* ---- feeding (R1) ------------------------------------------------------ */

void report_event(struct report *r, const struct hv_ev *e)
{
    if (!r || !e)
        return;
    unsigned id = e->id < HVE__COUNT ? (unsigned)e->id : HVE_NONE;
    struct rp_evstat *s = &r->ev[id];
    if (!s->count++)
        s->first = e->ts;
    s->last = e->ts;
    if (!r->total++)
        r->t_first = e->ts;
    if (e->ts < r->t_first)
        r->t_first = e->ts;
    if (e->ts > r->t_last)
        r->t_last = e->ts;

    switch (e->id) {
    case HVE_mig_round_begin:       on_round_begin(r, e); break;
    case HVE_mig_round_end:         on_round_end(r, e); break;
    case HVE_mig_send_page:         on_send_page(r, e); break;
    case HVE_mig_normalise_fail:    on_normalise_fail(r, e); break;
    case HVE_mig_suspend:           on_suspend(r, e); break;
    case HVE_mig_save_done:         on_save_done(r, e); break;
    case HVE_dirty_clean:           on_clean(r, e); break;
    case HVE_dirty_enable:
        clean_forget(r, (uint8_t)hv_u(e, HVF_host), (uint16_t)hv_u(e, HVF_dom));
        break;
    case HVE_hcall_entry:           on_hcall_entry(r, e); break;
    case HVE_hcall_continuation:    on_hcall_cont(r, e); break;
    case HVE_hcall_exit:            on_hcall_exit(r, e); break;
    default:
        break;
    }
}

/* ---- shared by the outputs --------------------------------------------- */

uint64_t rp_round_dirtied(const struct rp_round *rd)
{
    return rd->has_clean ? rd->dirty_count : rd->to_send;     /* RP2 */
}

uint64_t rp_open_calls(const struct report *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->capcall; i++)
        n += r->call[i].used && r->call[i].op;
    return n;
}

/* Ops, busiest first (ties: lower number first); caller frees. */
struct rp_op **rp_ops_sorted(const struct report *r)
{
    struct rp_op **v = malloc((r->nop ? r->nop : 1) * sizeof(*v));
    if (!v)
        return NULL;
    if (r->nop)
        memcpy(v, r->op, r->nop * sizeof(*v));
    for (size_t i = 1; i < r->nop; i++) {       /* insertion: few ops */
        struct rp_op *x = v[i];
        size_t j = i;
        while (j > 0 && (v[j - 1]->calls < x->calls ||
                         (v[j - 1]->calls == x->calls && v[j - 1]->op > x->op))) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return v;
}

const char *rp_fmt_ns(uint64_t ns, char *buf, size_t len)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.3f s", (double)ns / 1e9);
    return buf;
}

/* A log2 bucket's lower bound, short: "512ns", "1.02us", "2.1ms", "4.29s". */
const char *rp_fmt_pow2(unsigned k, char *buf, size_t len)
{
    uint64_t v = k ? (uint64_t)1 << k : 0;
    if (v < 1000)
        snprintf(buf, len, "%" PRIu64 "ns", v);
    else if (v < 1000000)
        snprintf(buf, len, "%.3gus", (double)v / 1e3);
    else if (v < 1000000000)
        snprintf(buf, len, "%.3gms", (double)v / 1e6);
    else
        snprintf(buf, len, "%.3gs", (double)v / 1e9);
    return buf;
}

/* ---- audit --------------------------------------------------------------- */

#define AUDIT(cond, ...) do { \
    if (!(cond)) { \
        snprintf(why, len, __VA_ARGS__); \
        return -1; \
    } } while (0)

int rp_audit(const struct report *r, char *why, size_t len)
{
    uint64_t total = 0;
    for (unsigned id = 0; id < HVE__COUNT; id++)
        total += r->ev[id].count;
    AUDIT(total == r->total, "events: %" PRIu64 " by id, %" PRIu64 " in all",
          total, r->total);
    for (size_t i = 0; i < r->nmig; i++) {
        const struct rp_mig *m = r->mig[i];
        for (size_t j = i + 1; m->open && j < r->nmig; j++)
            AUDIT(!r->mig[j]->open || r->mig[j]->host != m->host ||
                  r->mig[j]->dom != m->dom,
                  "host %u dom %u has two open migrations", m->host, m->dom);
        AUDIT(m->open || !m->set, "migration %zu closed with its pfn set", i);
        size_t used = 0;
        for (size_t k = 0; k < m->setcap; k++)
            used += m->set[k].round1 != 0;
        AUDIT(used == m->setused && used <= m->pages_seen,
              "migration %zu: pfn set holds %zu, counts %zu, %" PRIu64
              " pages traced", i, used, m->setused, m->pages_seen);
        uint64_t resent = 0, pages = 0;
        for (size_t k = 0; k < m->nround; k++) {
            const struct rp_round *rd = &m->round[k];
            AUDIT(rd->resent + rd->dup <= rd->pages,
                  "migration %zu round %" PRIu32 ": %" PRIu64 " re-sent + %"
                  PRIu64 " dup > %" PRIu64 " pages", i, rd->iter, rd->resent,
                  rd->dup, rd->pages);
            if (rd->kind != RK_VERIFY)
                resent += rd->resent;
            pages += rd->pages;
        }
        AUDIT(resent == m->resent && pages == m->pages_seen,
              "migration %zu: rounds re-sent %" PRIu64 " / %" PRIu64
              ", pages %" PRIu64 " / %" PRIu64, i, resent, m->resent, pages,
              m->pages_seen);
    }
    uint64_t calls = 0;
    for (size_t i = 0; i < r->nop; i++) {
        const struct rp_op *o = r->op[i];
        uint64_t a = 0, b = 0;
        for (unsigned k = 0; k < LAT_LOG2; k++)
            a += o->log2[k];
        for (unsigned k = 0; k < LAT_FINE; k++)
            b += o->fine[k];
        AUDIT(a == o->calls && b == o->calls && o->continued <= o->calls &&
              o->continued <= o->continuations &&
              (!o->calls || o->min_ns <= o->max_ns),
              "op %" PRIu32 ": %" PRIu64 " calls, histograms %" PRIu64 " / %"
              PRIu64, o->op, o->calls, a, b);
        AUDIT(o->op >= 64 || r->op_small[o->op] == o,
              "op %" PRIu32 " not in the direct index", o->op);
        calls += o->calls;
    }
    AUDIT(calls == r->calls, "calls: %" PRIu64 " by op, %" PRIu64 " in all",
          calls, r->calls);
    size_t used = 0;
    for (size_t k = 0; k < r->capcall; k++)
        used += r->call[k].used;
    AUDIT(used == r->usedcall, "call slots: %zu used, %zu counted", used,
          r->usedcall);
    return 0;
}
