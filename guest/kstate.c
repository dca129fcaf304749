/*
 * guest/kstate.c - the guest kernel's private state as bytes, and a new
 * kernel built from them (guest/guest.h rules KS1-KS4; docs/migration.md
 * "Guest kernel state").
 *
 * Format (little-endian throughout):
 *   header    "HVLABGK\0" (8 bytes), u32 version (KS_VERSION), u32 kind
 *             (0 PV, 1 HVM)
 *   sections  u32 type, u32 length, length bytes of payload, zero padding
 *             to a multiple of 8; types strictly increasing (each at most
 *             once), the last one END (length 0).
 * The section table is ks_sec[] below; each module serialises its own
 * section through the cursor of this file (its *_state_save / _load).
 *
 * Rules:
 *   1. (KS1) Save refuses a kernel whose workload cannot migrate
 *      (p2m-race, grant-poc, blkback: -XEN_EOPNOTSUPP) before anything else,
 *      then one that is not SUSPENDED, or whose vCPUs are not quiet the way
 *      suspend.c leaves them (no mm loaded, no thread running, no nested
 *      fault, no queued mmu_update, no process cpumask bit): -XEN_EINVAL.
 *      No host pointer is written: processes refer to each other by pid,
 *      run-queue entries are (pid, tid), a ring's vCPU by index.
 *   2. The writer cursor grows its buffer; an allocation failure is
 *      remembered and the save returns -XEN_ENOMEM.
 *   3. (KS2) The reader cursor is bounds-checked: every getter past the
 *      section's end records "section NAME at offset X: truncated" once
 *      (the first error wins) and returns 0.  Loaders check every value
 *      against the kernel's limits and against what they read before
 *      (ks_bad names the offset of the value last read), and a section
 *      must be read exactly to its end.
 *   4. Arrays indexed by pfn or sector are written as runs (u32 length,
 *      i32 step in {-1, 0, +1}, u64 first value), cut greedily, so equal
 *      kernels give equal bytes (KS4) and an idle kernel's arrays take a
 *      few runs.
 *   5. (KS3) Load builds a fresh kernel (kernel_init with the kind's
 *      paging ops), fills it section by section, rebuilds the pointers
 *      (proc links, threads, run queue, module back-pointers) and checks
 *      the cross-section invariants (the free stack is exactly the FREE
 *      pfns, pids resolve, the run queue names each thread once at most).
 *      The result is SUSPENDED with no recorded resume, boot done, host 0,
 *      no xenbus.  Any error frees everything (kernel_destroy) and
 *      returns NULL with err filled.
 *   6. (KS2) "Loads" means "resumes and runs": what the kernel's code will
 *      later index, divide, loop or dereference by is checked here.  A live
 *      process has a table L4 and is not dying; a fork-storm child has one
 *      thread, parent_threads in 1..KS_MAX_THREADS and parent_pid its
 *      parent's; the run queue holds exactly each process's live threads
 *      (threads_live), live_procs counts the processes with live threads
 *      and done is set exactly when none is left; a blk-io (pt-reuse)
 *      kernel with threads has its BLKFRONT (PTREUSE) section.
 *   7. Every queued thread's program state is one its workload's slice can
 *      run: pc in the kind's program, cursors within their page counts,
 *      a mapped region that is a VMA, a page permutation that permutes, a
 *      parent waiting in FS_WAIT has a live child, a sibling waiting for
 *      the stop has a thread 0 that will give it (pt_reuse.c checks its
 *      own program in its section).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/private.h"

#define KS_MAGIC        "HVLABGK"       /* 8 bytes with its NUL */
#define KS_VERSION      1u
#define KS_HDR_LEN      16u
#define KS_MAX_PAGES    (1ULL << 24)    /* nr_pages a state may claim */
#define KS_MAX_THREADS  4096u           /* threads per process */
#define KS_MAX_PROCS    (1u << 20)

/* ---- the section table ------------------------------------------------------ */

enum ks_type {
    KS_END = 0,
    KS_CORE,        /* options, workload, boot facts, pids, done */
    KS_PFN,         /* the pfn allocator */
    KS_CPUS,        /* per-vCPU state that survives a suspend */
    KS_PROCS,       /* processes, threads, the run queue */
    KS_STATS,       /* gstats */
    KS_LOG,         /* the failure log */
    KS_MIG,         /* suspend.c's fields a resume needs */
    KS_GNTTAB,      /* gnttab.c (optional) */
    KS_EVTCHN,      /* evtchn.c (optional) */
    KS_BLKFRONT,    /* blkfront.c (optional) */
    KS_PTREUSE,     /* pt_reuse.c (optional) */
    KS_NR
};

static const char *const ks_sec_name[KS_NR] = {
    [KS_END] = "END", [KS_CORE] = "CORE", [KS_PFN] = "PFN",
    [KS_CPUS] = "CPUS", [KS_PROCS] = "PROCS", [KS_STATS] = "STATS",
    [KS_LOG] = "LOG", [KS_MIG] = "MIG", [KS_GNTTAB] = "GNTTAB",
    [KS_EVTCHN] = "EVTCHN", [KS_BLKFRONT] = "BLKFRONT",
    [KS_PTREUSE] = "PTREUSE",
};

/* ---- the writer (rule 2) ----------------------------------------------------- */

struct ks_out {
    uint8_t *buf;
    size_t len, cap;
    bool nomem;
    size_t sec_start;           /* offset of the open section's header */
};

static void put_raw(struct ks_out *o, const void *p, size_t n)
{
    if (o->nomem)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *nb = realloc(o->buf, cap);
        if (!nb) {
            o->nomem = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void put_le(struct ks_out *o, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_raw(o, b, bytes);
}

void ks_put_u8(struct ks_out *o, uint8_t v)   { put_le(o, v, 1); }
void ks_put_u16(struct ks_out *o, uint16_t v) { put_le(o, v, 2); }
void ks_put_u32(struct ks_out *o, uint32_t v) { put_le(o, v, 4); }
void ks_put_u64(struct ks_out *o, uint64_t v) { put_le(o, v, 8); }

void ks_put_bytes(struct ks_out *o, const void *p, size_t n)
{
    put_raw(o, p, n);
}

void ks_put_str(struct ks_out *o, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    ks_put_u16(o, (uint16_t)n);
    put_raw(o, s, n);
}

/* Rule 4. */
void ks_put_runs(struct ks_out *o, uint64_t n,
                 uint64_t (*get)(const void *ctx, uint64_t i), const void *ctx)
{
    uint64_t nruns = 0;
    size_t at = o->len;

    ks_put_u64(o, 0);                       /* patched below */
    for (uint64_t i = 0; i < n; ) {
        uint64_t first = get(ctx, i), len = 1;
        int64_t step = 0;
        if (i + 1 < n) {
            int64_t d = (int64_t)(get(ctx, i + 1) - first);
            if (d >= -1 && d <= 1)
                step = d;
        }
        while (i + len < n && len < UINT32_MAX &&
               get(ctx, i + len) == first + (uint64_t)(step * (int64_t)len))
            len++;
        ks_put_u32(o, (uint32_t)len);
        ks_put_u32(o, (uint32_t)(int32_t)step);
        ks_put_u64(o, first);
        nruns++;
        i += len;
    }
    if (!o->nomem)
        for (unsigned b = 0; b < 8; b++)
            o->buf[at + b] = (uint8_t)(nruns >> (8 * b));
}

static void sec_begin(struct ks_out *o, enum ks_type type)
{
    o->sec_start = o->len;
    ks_put_u32(o, type);
    ks_put_u32(o, 0);                       /* length, patched at the end */
}

static void sec_end(struct ks_out *o)
{
    static const uint8_t zero[8];
    if (o->nomem)
        return;
    size_t len = o->len - o->sec_start - 8;
    for (unsigned b = 0; b < 4; b++)
        o->buf[o->sec_start + 4 + b] = (uint8_t)(len >> (8 * b));
    put_raw(o, zero, (8 - len % 8) % 8);
}

/* ---- the reader (rule 3) ----------------------------------------------------- */

struct ks_in {
    const uint8_t *buf;
    size_t pos, end;            /* end: the open section's */
    size_t last;                /* offset of the value last read */
    const char *sec;
    char *err;
    size_t errlen;
    bool failed;
};

bool ks_bad(struct ks_in *in, const char *fmt, ...)
{
    if (in->failed)
        return false;
    in->failed = true;
    int n = snprintf(in->err, in->errlen, "section %s at offset %zu: ",
                     in->sec, in->last);
    if (n >= 0 && (size_t)n < in->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->err + n, in->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool ks_failed(const struct ks_in *in)
{
    return in->failed;
}

static bool get_raw(struct ks_in *in, void *p, size_t n)
{
    if (in->failed) {
        memset(p, 0, n);
        return false;
    }
    in->last = in->pos;
    if (n > in->end - in->pos) {
        memset(p, 0, n);
        return ks_bad(in, "truncated (%zu bytes wanted, %zu left)", n,
                      in->end - in->pos);
    }
    memcpy(p, in->buf + in->pos, n);
    in->pos += n;
    return true;
}

static uint64_t get_le(struct ks_in *in, unsigned bytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    if (!get_raw(in, b, bytes))
        return 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint8_t ks_get_u8(struct ks_in *in)   { return (uint8_t)get_le(in, 1); }
uint16_t ks_get_u16(struct ks_in *in) { return (uint16_t)get_le(in, 2); }
uint32_t ks_get_u32(struct ks_in *in) { return (uint32_t)get_le(in, 4); }
uint64_t ks_get_u64(struct ks_in *in) { return get_le(in, 8); }

bool ks_get_bool(struct ks_in *in, const char *what)
{
    uint8_t v = ks_get_u8(in);
    if (v > 1)
        ks_bad(in, "%s is %u, not 0 or 1", what, v);
    return v == 1;
}

/* A u32 below limit (else an error naming what). */
uint32_t ks_get_below(struct ks_in *in, uint64_t limit, const char *what)
{
    uint32_t v = ks_get_u32(in);
    if (!in->failed && v >= limit) {
        ks_bad(in, "%s %u is out of range (at most %llu)", what, v,
               (unsigned long long)(limit - 1));
        return 0;
    }
    return v;
}

bool ks_get_bytes(struct ks_in *in, void *p, size_t n)
{
    return get_raw(in, p, n);
}

bool ks_get_str(struct ks_in *in, char *s, size_t cap, const char *what)
{
    uint16_t n = ks_get_u16(in);
    s[0] = '\0';
    if (in->failed)
        return false;
    if (n >= cap)
        return ks_bad(in, "%s of %u bytes (at most %zu)", what, n, cap - 1);
    if (!get_raw(in, s, n))
        return false;
    s[n] = '\0';
    if (strlen(s) != n)
        return ks_bad(in, "%s holds a NUL byte", what);
    return true;
}

/* Rule 4: exactly n values, each in [0, max]. */
bool ks_get_runs(struct ks_in *in, uint64_t n, uint64_t max,
                 void (*put)(void *ctx, uint64_t i, uint64_t v), void *ctx,
                 const char *what)
{
    uint64_t nruns = ks_get_u64(in), at = 0;
    if (in->failed)
        return false;
    if (nruns > n)
        return ks_bad(in, "%s: %llu runs for %llu values", what,
                      (unsigned long long)nruns, (unsigned long long)n);
    for (uint64_t r = 0; r < nruns; r++) {
        uint32_t len = ks_get_u32(in);
        int32_t step = (int32_t)ks_get_u32(in);
        uint64_t first = ks_get_u64(in);
        if (in->failed)
            return false;
        if (len == 0 || len > n - at)
            return ks_bad(in, "%s: run %llu of %u values overflows %llu",
                          what, (unsigned long long)r, len,
                          (unsigned long long)n);
        if (step < -1 || step > 1)
            return ks_bad(in, "%s: run %llu has step %d", what,
                          (unsigned long long)r, step);
        uint64_t span = (uint64_t)len - 1;
        if (first > max || (step > 0 && span > max - first) ||
            (step < 0 && span > first))
            return ks_bad(in, "%s: run %llu from %llu leaves [0, %llu]",
                          what, (unsigned long long)r,
                          (unsigned long long)first, (unsigned long long)max);
        for (uint64_t k = 0; k < len; k++)
            put(ctx, at + k, first + (uint64_t)((int64_t)step * (int64_t)k));
        at += len;
    }
    if (at != n)
        return ks_bad(in, "%s: runs cover %llu of %llu values", what,
                      (unsigned long long)at, (unsigned long long)n);
    return true;
}

/* ---- run accessors for the kernel's arrays ------------------------------------ */

static uint64_t get_free(const void *ctx, uint64_t i)
{
    return ((const struct guest_kernel *)ctx)->free_pfns[i];
}
static void put_free(void *ctx, uint64_t i, uint64_t v)
{
    ((struct guest_kernel *)ctx)->free_pfns[i] = v;
}
static uint64_t get_kind(const void *ctx, uint64_t i)
{
    struct guest_kernel *g = (struct guest_kernel *)ctx;
    return atomic_load(&g->pfn_kind[i]);
}
static void put_kind(void *ctx, uint64_t i, uint64_t v)
{
    atomic_store(&((struct guest_kernel *)ctx)->pfn_kind[i], (uint8_t)v);
}
static uint64_t get_maps(const void *ctx, uint64_t i)
{
    struct guest_kernel *g = (struct guest_kernel *)ctx;
    return atomic_load(&g->pfn_maps[i]);
}
static void put_maps(void *ctx, uint64_t i, uint64_t v)
{
    atomic_store(&((struct guest_kernel *)ctx)->pfn_maps[i], (uint32_t)v);
}

/* A pfn of this kernel, INVALID_PFN allowed when may_be_invalid. */
bool ks_check_pfn(struct ks_in *in, const struct guest_kernel *g, pfn_t pfn,
                  bool may_be_invalid, const char *what)
{
    if (in->failed)
        return false;
    if (pfn == INVALID_PFN && may_be_invalid)
        return true;
    if (pfn >= g->nr_pages)
        return ks_bad(in, "%s %#llx is not below nr_pages %#llx", what,
                      (unsigned long long)pfn,
                      (unsigned long long)g->nr_pages);
    return true;
}

/* ---- save ---------------------------------------------------------------------- */

static void save_core(struct ks_out *o, const struct guest_kernel *g)
{
    const struct guest_options *op = &g->opt;
    const struct workload_params *w = &g->wl;
    struct guest_kernel *m = (struct guest_kernel *)g;    /* atomics */

    ks_put_u8(o, op->spurious_check);
    ks_put_u32(o, op->pt_updates);
    ks_put_u8(o, op->blkback_persistent);
    ks_put_u8(o, op->blkback_quiesce);
    /* The workload, without its xenbus (KS1). */
    ks_put_u32(o, w->kind);
    ks_put_u32(o, w->procs);
    ks_put_u32(o, w->threads);
    ks_put_u32(o, w->iters);
    ks_put_u32(o, w->pages);
    ks_put_u64(o, w->seed);
    ks_put_u16(o, w->target);
    ks_put_u64(o, w->target_pages);
    ks_put_u32(o, w->gfns);
    ks_put_u8(o, w->sharing);
    ks_put_u16(o, w->backend);
    ks_put_u32(o, w->ops);
    ks_put_u32(o, w->depth);
    ks_put_u32(o, w->segs_min);
    ks_put_u32(o, w->segs_max);
    ks_put_u32(o, w->reads);
    ks_put_u8(o, w->verify);
    ks_put_u64(o, w->sectors);
    ks_put_u32(o, w->suspend_every);
    ks_put_u32(o, w->xsa);
    ks_put_u32(o, w->quicklist);
    ks_put_u8(o, w->balloon);
    /* Boot facts. */
    ks_put_u64(o, g->start_info_va);
    ks_put_u16(o, g->domid);
    ks_put_u32(o, g->nr_vcpus);
    ks_put_u64(o, g->nr_pages);
    ks_put_u64(o, g->p2m_va);
    ks_put_u64(o, g->init_l4_pfn);
    ks_put_u64(o, g->init_l4_mfn);
    ks_put_u32(o, g->next_pid);
    ks_put_u32(o, atomic_load(&m->live_procs));
    ks_put_u8(o, atomic_load(&m->done));
}

static void save_pfn(struct ks_out *o, const struct guest_kernel *g)
{
    ks_put_u64(o, g->nr_free);
    ks_put_u64(o, g->min_free);
    ks_put_runs(o, g->nr_free, get_free, g);
    ks_put_runs(o, g->nr_pages, get_kind, g);
    ks_put_runs(o, g->nr_pages, get_maps, g);
}

static void save_cpus(struct ks_out *o, const struct guest_kernel *g)
{
    ks_put_u32(o, g->nr_vcpus);
    for (unsigned i = 0; i < g->nr_vcpus; i++) {
        ks_put_u8(o, g->cpu[i].up);
        ks_put_u64(o, g->cpu[i].arg_va);
    }
}

static void save_procs(struct ks_out *o, const struct guest_kernel *g)
{
    uint32_t n = 0;
    for (const struct proc *p = g->all_procs; p; p = p->all_next)
        n++;
    ks_put_u32(o, n);
    for (const struct proc *p = g->all_procs; p; p = p->all_next) {
        struct proc *m = (struct proc *)p;                  /* atomics */
        ks_put_u32(o, p->pid);
        ks_put_u32(o, p->parent ? p->parent->pid : 0);
        ks_put_u32(o, p->child ? p->child->pid : 0);
        ks_put_u64(o, p->l4_pfn);
        ks_put_u64(o, p->l4_mfn);
        ks_put_u8(o, p->pinned);
        ks_put_u32(o, p->nr_vma);
        for (unsigned i = 0; i < p->nr_vma; i++) {
            ks_put_u64(o, p->vma[i].start);
            ks_put_u64(o, p->vma[i].end);
            ks_put_u8(o, p->vma[i].writable);
        }
        ks_put_u8(o, atomic_load(&m->dying));
        ks_put_u8(o, atomic_load(&m->root_stuck));
        ks_put_u32(o, p->nthreads);
        ks_put_u32(o, atomic_load(&m->threads_live));
        ks_put_u8(o, atomic_load(&m->stop));
        ks_put_u32(o, (uint32_t)atomic_load(&m->killed));
        ks_put_u8(o, p->is_child);
        ks_put_u32(o, p->parent_threads);
        ks_put_u32(o, p->parent_pid);
        ks_put_u8(o, atomic_load(&m->child_done));
        for (unsigned i = 0; i < p->nthreads; i++) {
            const struct thread *t = &p->threads[i];
            ks_put_u32(o, t->pc);
            ks_put_u32(o, t->iter);
            ks_put_u64(o, t->cursor);
            ks_put_u64(o, t->region);
            ks_put_u64(o, t->step);
            ks_put_u64(o, t->off);
            ks_put_u64(o, t->rng);
        }
    }
    n = 0;
    for (const struct thread *t = g->rq_head; t; t = t->rq_next)
        n++;
    ks_put_u32(o, n);
    for (const struct thread *t = g->rq_head; t; t = t->rq_next) {
        ks_put_u32(o, t->p->pid);
        ks_put_u32(o, t->tid);
    }
}

#define STAT_LIST(X) \
    X(faults_delivered) X(spurious_seen) X(spurious_fatal) X(procs_killed) \
    X(forks) X(exits) X(pages_touched) X(verify_failures) \
    X(hypercall_errors) X(kernel_oopses) X(stale_foreign_maps) X(blk_ops) \
    X(blk_bytes) X(blk_verify_failures) X(blk_busy_grants) X(blk_suspends) \
    X(blk_grants_busy_at_suspend) X(blk_suspend_inflight) \
    X(poc_vulnerable) X(mig_suspends) X(mig_resumes) X(ql_reuses) \
    X(ql_released) X(balloon_out) X(balloon_in)

static void save_stats(struct ks_out *o, const struct guest_kernel *g)
{
    struct gstats *s = (struct gstats *)&g->st;         /* atomics */
#define PUT_STAT(f) ks_put_u64(o, atomic_load(&s->f));
    STAT_LIST(PUT_STAT)
#undef PUT_STAT
    for (unsigned i = 0; i < GUEST_BLK_BUSY_MAX; i++) {
        ks_put_u32(o, s->blk_busy_ref[i]);
        ks_put_u32(o, s->blk_busy_frame[i]);
        ks_put_u16(o, s->blk_busy_flags[i]);
    }
}

static void save_log(struct ks_out *o, const struct guest_kernel *g)
{
    ks_put_u32(o, g->log_n);
    ks_put_u32(o, g->log_dropped);
    for (unsigned i = 0; i < g->log_n && i < LOG_MAX; i++)
        ks_put_str(o, g->log[i], LOG_LINE - 1);
}

static void save_mig(struct ks_out *o, const struct guest_kernel *g)
{
    ks_put_u64(o, g->mig_suspended_ns);
    ks_put_u64(o, g->mig_arg_pfn);
}

/* Rule 1: 0, -XEN_EOPNOTSUPP or -XEN_EINVAL. */
static int save_check(const struct guest_kernel *g)
{
    struct guest_kernel *m = (struct guest_kernel *)g;

    if (g->wl.kind == WL_P2M_RACE || g->wl.kind == WL_GRANT_POC ||
        g->wl.kind == WL_BLKBACK || g->race || g->blkback)
        return -XEN_EOPNOTSUPP;
    if (atomic_load(&m->mig_state) != MIG_SUSPENDED ||
        atomic_load(&m->boot_state) != 1 || g->wl.kind >= WL_NR ||
        g->nr_vcpus == 0 || g->nr_vcpus > HV_MAX_VCPUS)
        return -XEN_EINVAL;
    for (unsigned i = 0; i < g->nr_vcpus; i++) {
        const struct gcpu *c = &g->cpu[i];
        if (c->loaded || c->cur || c->fault_depth || c->batch_n)
            return -XEN_EINVAL;
    }
    for (const struct proc *p = g->all_procs; p; p = p->all_next)
        if (atomic_load(&((struct proc *)p)->cpumask) != 0)
            return -XEN_EINVAL;
    return 0;
}

static int kernel_state_save(const struct guest_kernel *g, uint32_t kind,
                             void **buf, size_t *len)
{
    struct ks_out o = { 0 };
    int rc;

    if (!buf || !len)
        return -XEN_EINVAL;
    *buf = NULL;
    *len = 0;
    if ((rc = save_check(g)) != 0)
        return rc;
    put_raw(&o, KS_MAGIC, 8);
    ks_put_u32(&o, KS_VERSION);
    ks_put_u32(&o, kind);
    sec_begin(&o, KS_CORE);
    save_core(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_PFN);
    save_pfn(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_CPUS);
    save_cpus(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_PROCS);
    save_procs(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_STATS);
    save_stats(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_LOG);
    save_log(&o, g);
    sec_end(&o);
    sec_begin(&o, KS_MIG);
    save_mig(&o, g);
    sec_end(&o);
    if (g->gnt) {
        sec_begin(&o, KS_GNTTAB);
        rc = gnttab_state_save(&o, g);
        sec_end(&o);
    }
    if (rc == 0 && g->evtchn) {
        sec_begin(&o, KS_EVTCHN);
        rc = gevtchn_state_save(&o, g);
        sec_end(&o);
    }
    if (rc == 0 && g->blkfront) {
        sec_begin(&o, KS_BLKFRONT);
        rc = blkfront_state_save(&o, g);
        sec_end(&o);
    }
    if (rc == 0 && g->ptr) {
        sec_begin(&o, KS_PTREUSE);
        rc = pt_reuse_state_save(&o, g);
        sec_end(&o);
    }
    sec_begin(&o, KS_END);
    sec_end(&o);
    if (rc == 0 && o.nomem)
        rc = -XEN_ENOMEM;
    if (rc) {
        free(o.buf);
        return rc;
    }
    *buf = o.buf;
    *len = o.len;
    return 0;
}

int guest_pv_state_save(const struct guest_pv *g, void **buf, size_t *len)
{
    if (!g || g->k.ops != &pv_paging_ops)
        return -XEN_EINVAL;
    return kernel_state_save(&g->k, 0, buf, len);
}

int guest_hvm_state_save(const struct guest_hvm *g, void **buf, size_t *len)
{
    if (!g || g->k.ops != &hvm_paging_ops)
        return -XEN_EINVAL;
    return kernel_state_save(&g->k, 1, buf, len);
}

/* ---- load ---------------------------------------------------------------------- */

static void load_core(struct ks_in *in, struct guest_kernel *g)
{
    struct guest_options *op = &g->opt;
    struct workload_params *w = &g->wl;

    op->spurious_check = ks_get_bool(in, "guest.spurious_check");
    op->pt_updates = ks_get_below(in, GPT_MIXED + 1, "guest.pt_updates");
    op->blkback_persistent = ks_get_bool(in, "blkback.persistent");
    op->blkback_quiesce = ks_get_bool(in, "blkback.quiesce");
    w->kind = ks_get_below(in, WL_NR, "workload kind");
    if (!in->failed && (w->kind == WL_P2M_RACE || w->kind == WL_GRANT_POC ||
                        w->kind == WL_BLKBACK))
        ks_bad(in, "workload %s does not migrate", workload_kind_name[w->kind]);
    w->procs = ks_get_u32(in);
    w->threads = ks_get_u32(in);
    w->iters = ks_get_u32(in);
    w->pages = ks_get_u32(in);
    w->seed = ks_get_u64(in);
    w->target = ks_get_u16(in);
    w->target_pages = ks_get_u64(in);
    w->gfns = ks_get_u32(in);
    w->sharing = ks_get_bool(in, "sharing");
    w->backend = ks_get_u16(in);
    w->ops = ks_get_u32(in);
    w->depth = ks_get_u32(in);
    w->segs_min = ks_get_u32(in);
    w->segs_max = ks_get_u32(in);
    w->reads = ks_get_below(in, 101, "reads percentage");
    w->verify = ks_get_bool(in, "verify");
    w->sectors = ks_get_u64(in);
    w->suspend_every = ks_get_u32(in);
    w->xsa = ks_get_u32(in);
    w->quicklist = ks_get_u32(in);
    w->balloon = ks_get_bool(in, "balloon");
    w->xenbus = NULL;                       /* KS1: the resume's */

    g->start_info_va = ks_get_u64(in);
    g->domid = ks_get_u16(in);
    g->nr_vcpus = ks_get_u32(in);
    if (!in->failed && (g->nr_vcpus == 0 || g->nr_vcpus > HV_MAX_VCPUS))
        ks_bad(in, "nr_vcpus %u is not in 1..%u", g->nr_vcpus, HV_MAX_VCPUS);
    g->nr_pages = ks_get_u64(in);
    if (!in->failed && (g->nr_pages == 0 || g->nr_pages > KS_MAX_PAGES))
        ks_bad(in, "nr_pages %#llx is not in 1..%#llx",
               (unsigned long long)g->nr_pages, KS_MAX_PAGES);
    g->p2m_va = ks_get_u64(in);
    g->init_l4_pfn = ks_get_u64(in);
    ks_check_pfn(in, g, g->init_l4_pfn, false, "init L4 pfn");
    g->init_l4_mfn = ks_get_u64(in);
    g->next_pid = ks_get_u32(in);
    atomic_store(&g->live_procs, ks_get_u32(in));
    atomic_store(&g->done, ks_get_bool(in, "done"));
}

static void load_pfn(struct ks_in *in, struct guest_kernel *g)
{
    uint64_t n = g->nr_pages;

    g->nr_free = ks_get_u64(in);
    if (!in->failed && g->nr_free > n) {
        ks_bad(in, "%llu free pfns of %llu", (unsigned long long)g->nr_free,
               (unsigned long long)n);
        g->nr_free = 0;
        return;
    }
    g->min_free = ks_get_u64(in);
    if (!in->failed && g->min_free > g->nr_free)
        ks_bad(in, "min_free %llu above nr_free %llu",
               (unsigned long long)g->min_free,
               (unsigned long long)g->nr_free);
    if (in->failed)
        return;
    g->free_pfns = calloc(n, sizeof(*g->free_pfns));
    g->pfn_maps = calloc(n, sizeof(*g->pfn_maps));
    g->pfn_kind = calloc(n, sizeof(*g->pfn_kind));
    if (!g->free_pfns || !g->pfn_maps || !g->pfn_kind) {
        ks_bad(in, "no memory for %llu pfns", (unsigned long long)n);
        return;
    }
    size_t free_at = in->pos;
    if (!ks_get_runs(in, g->nr_free, n - 1, put_free, g, "free stack") ||
        !ks_get_runs(in, n, PFN_BALLOONED, put_kind, g, "pfn kinds") ||
        !ks_get_runs(in, n, UINT32_MAX, put_maps, g, "pfn map counts"))
        return;
    /* The free stack is exactly the FREE pfns, once each, unmapped. */
    uint8_t *seen = calloc(n, 1);
    if (!seen) {
        ks_bad(in, "no memory to check the free stack");
        return;
    }
    in->last = free_at;
    uint64_t nfree_kind = 0;
    for (uint64_t i = 0; i < n; i++)
        if (atomic_load(&g->pfn_kind[i]) == PFN_FREE)
            nfree_kind++;
    for (uint64_t i = 0; i < g->nr_free && !in->failed; i++) {
        pfn_t pfn = g->free_pfns[i];
        if (seen[pfn])
            ks_bad(in, "pfn %#llx is on the free stack twice",
                   (unsigned long long)pfn);
        else if (atomic_load(&g->pfn_kind[pfn]) != PFN_FREE)
            ks_bad(in, "free pfn %#llx has kind %u", (unsigned long long)pfn,
                   atomic_load(&g->pfn_kind[pfn]));
        else if (atomic_load(&g->pfn_maps[pfn]) != 0)
            ks_bad(in, "free pfn %#llx is mapped %u times",
                   (unsigned long long)pfn, atomic_load(&g->pfn_maps[pfn]));
        seen[pfn] = 1;
    }
    free(seen);
    if (!in->failed && nfree_kind != g->nr_free)
        ks_bad(in, "%llu pfns are FREE but the stack holds %llu",
               (unsigned long long)nfree_kind,
               (unsigned long long)g->nr_free);
    if (!in->failed && atomic_load(&g->pfn_kind[g->init_l4_pfn]) != PFN_BOOT)
        ks_bad(in, "the init L4 pfn %#llx is not a boot frame",
               (unsigned long long)g->init_l4_pfn);
}

static void load_cpus(struct ks_in *in, struct guest_kernel *g)
{
    uint32_t n = ks_get_u32(in);
    if (!in->failed && n != g->nr_vcpus) {
        ks_bad(in, "%u vCPUs, CORE says %u", n, g->nr_vcpus);
        return;
    }
    unsigned arg_pages = g->ops->arg_pages;
    for (unsigned i = 0; i < n && !in->failed; i++) {
        struct gcpu *c = &g->cpu[i];
        c->up = ks_get_bool(in, "up");
        c->arg_va = ks_get_u64(in);
        if (in->failed)
            break;
        if (arg_pages == 0) {
            if (c->arg_va != 0)
                ks_bad(in, "vCPU %u has an argument area in a kernel "
                       "without them", i);
            continue;
        }
        uint64_t off = c->arg_va - GUEST_DIRECTMAP_BASE;
        pfn_t base = off >> PAGE_SHIFT;
        if (c->arg_va < GUEST_DIRECTMAP_BASE || (off & (PAGE_SIZE - 1)) ||
            base >= g->nr_pages || g->nr_pages - base < arg_pages) {
            ks_bad(in, "vCPU %u's argument area %#llx is not in the direct "
                   "map", i, (unsigned long long)c->arg_va);
            break;
        }
        for (unsigned k = 0; k < arg_pages; k++)
            if (atomic_load(&g->pfn_kind[base + k]) != PFN_KERNEL) {
                ks_bad(in, "vCPU %u's argument page %#llx is not a kernel "
                       "page", i, (unsigned long long)(base + k));
                break;
            }
    }
}

static struct proc *find_pid(struct guest_kernel *g, unsigned pid)
{
    for (struct proc *p = g->all_procs; p; p = p->all_next)
        if (p->pid == pid)
            return p;
    return NULL;
}

static bool load_vmas(struct ks_in *in, struct proc *p)
{
    p->nr_vma = ks_get_below(in, PROC_MAX_VMAS + 1, "VMA count");
    for (unsigned i = 0; i < p->nr_vma && !in->failed; i++) {
        struct vma *v = &p->vma[i];
        v->start = ks_get_u64(in);
        v->end = ks_get_u64(in);
        v->writable = ks_get_bool(in, "VMA writable");
        if (in->failed)
            break;
        if (v->start >= v->end || ((v->start | v->end) & PAGE_OFFSET_MASK) ||
            v->start < GUEST_USER_BASE || v->end > GUEST_USER_TOP)
            return ks_bad(in, "pid %u: VMA [%#llx, %#llx) is not a user "
                          "range", p->pid, (unsigned long long)v->start,
                          (unsigned long long)v->end);
        for (unsigned k = 0; k < i; k++)
            if (v->start < p->vma[k].end && p->vma[k].start < v->end)
                return ks_bad(in, "pid %u: VMA %u overlaps VMA %u", p->pid,
                              i, k);
    }
    return !in->failed;
}

/* One process, appended to all_procs (order kept); links resolved later. */
static void load_proc(struct ks_in *in, struct guest_kernel *g,
                      struct proc **tail, uint32_t *parent, uint32_t *child)
{
    struct proc tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.pid = ks_get_u32(in);
    if (!in->failed && (tmp.pid == 0 || tmp.pid > g->next_pid)) {
        ks_bad(in, "pid %u is not in 1..next_pid %u", tmp.pid, g->next_pid);
        return;
    }
    if (!in->failed && find_pid(g, tmp.pid)) {
        ks_bad(in, "pid %u appears twice", tmp.pid);
        return;
    }
    *parent = ks_get_u32(in);
    *child = ks_get_u32(in);
    tmp.l4_pfn = ks_get_u64(in);
    ks_check_pfn(in, g, tmp.l4_pfn, true, "L4 pfn");
    size_t l4_at = in->last;
    tmp.l4_mfn = ks_get_u64(in);
    tmp.pinned = ks_get_bool(in, "pinned");
    if (!in->failed && tmp.pinned && g->ops->root_pin == NULL) {
        ks_bad(in, "pid %u is pinned in a kernel that does not pin", tmp.pid);
        return;
    }
    if (!load_vmas(in, &tmp))
        return;
    bool dying = ks_get_bool(in, "dying");
    bool stuck = ks_get_bool(in, "root_stuck");
    tmp.nthreads = ks_get_u32(in);
    if (!in->failed && (tmp.nthreads == 0 || tmp.nthreads > KS_MAX_THREADS)) {
        ks_bad(in, "pid %u has %u threads (1..%u)", tmp.pid, tmp.nthreads,
               KS_MAX_THREADS);
        return;
    }
    unsigned live = ks_get_below(in, (uint64_t)tmp.nthreads + 1,
                                 "live threads");
    bool stop = ks_get_bool(in, "stop");
    int killed = (int)ks_get_below(in, KILL_NR, "kill reason");
    tmp.is_child = ks_get_bool(in, "is_child");
    tmp.parent_threads = ks_get_u32(in);
    tmp.parent_pid = ks_get_u32(in);
    bool child_done = ks_get_bool(in, "child_done");
    if (in->failed)
        return;
    /* A process with live threads still has its L4 (an exited one keeps
       the number of a pfn that may serve something else now), and is not
       being torn down (dying is set once the last thread ended). */
    if (live && (tmp.l4_pfn == INVALID_PFN ||
                 atomic_load(&g->pfn_kind[tmp.l4_pfn]) != PFN_TABLE)) {
        in->last = l4_at;
        ks_bad(in, "pid %u: L4 pfn %#llx of a live process is not a table",
               tmp.pid, (unsigned long long)tmp.l4_pfn);
        return;
    }
    if (live && dying) {
        ks_bad(in, "pid %u has %u live threads and is dying", tmp.pid, live);
        return;
    }
    /* Rule 6: a fork-storm child (one thread, forked by a process of
       parent_threads threads, its parent); no one else has those. */
    if (tmp.is_child &&
        (g->wl.kind != WL_FORK_STORM || tmp.nthreads != 1 ||
         tmp.parent_threads == 0 || tmp.parent_threads > KS_MAX_THREADS ||
         tmp.parent_pid == 0 || tmp.parent_pid != *parent)) {
        ks_bad(in, "pid %u: a child of pid %u (parent_pid %u) with %u "
               "threads forked from %u threads", tmp.pid, *parent,
               tmp.parent_pid, tmp.nthreads, tmp.parent_threads);
        return;
    }
    if (!tmp.is_child && (tmp.parent_threads || tmp.parent_pid)) {
        ks_bad(in, "pid %u is no child but has parent_threads %u, "
               "parent_pid %u", tmp.pid, tmp.parent_threads, tmp.parent_pid);
        return;
    }
    struct proc *p = calloc(1, sizeof(*p));
    struct thread *t = calloc(tmp.nthreads, sizeof(*t));
    if (!p || !t) {
        free(p);
        free(t);
        ks_bad(in, "no memory for pid %u", tmp.pid);
        return;
    }
    *p = tmp;
    p->g = g;
    p->threads = t;
    atomic_store(&p->dying, dying);
    atomic_store(&p->root_stuck, stuck);
    atomic_store(&p->threads_live, live);
    atomic_store(&p->stop, stop);
    atomic_store(&p->killed, killed);
    atomic_store(&p->child_done, child_done);
    /* In the list at once: kernel_destroy frees it on any later error. */
    if (*tail)
        (*tail)->all_next = p;
    else
        g->all_procs = p;
    *tail = p;
    for (unsigned i = 0; i < p->nthreads; i++) {
        t[i].p = p;
        t[i].tid = i;
        t[i].pc = ks_get_u32(in);
        t[i].iter = ks_get_u32(in);
        t[i].cursor = ks_get_u64(in);
        t[i].region = ks_get_u64(in);
        t[i].step = ks_get_u64(in);
        t[i].off = ks_get_u64(in);
        t[i].rng = ks_get_u64(in);
    }
}

/* ---- what the resumed kernel's threads will run (rules 6, 7) ---------------- */


static bool queued(const struct guest_kernel *g, const struct thread *t)
{
    return t->rq_next != NULL || g->rq_tail == t;
}

bool ks_region_is_vma(const struct proc *p, uint64_t start, uint64_t npages)
{
    if (npages > (GUEST_USER_TOP >> PAGE_SHIFT))
        return false;
    for (unsigned i = 0; i < p->nr_vma; i++)
        if (p->vma[i].start == start &&
            p->vma[i].end - p->vma[i].start == npages * PAGE_SIZE)
            return true;
    return false;
}

/* Rule 7: one queued thread's program state against what the workload's
   slice indexes, divides and loops by. */
static void check_thread(struct ks_in *in, struct guest_kernel *g,
                         struct proc *p, struct thread *t)
{
    const struct workload_params *w = &g->wl;
    unsigned pc = t->pc;
    uint64_t n;

    switch (w->kind) {
    case WL_FORK_STORM:
        if (p->is_child) {
            if (pc < FC_READ || pc > FC_VERIFY)
                ks_bad(in, "pid %u (a child): pc %u", p->pid, pc);
        } else if (t->tid == 0) {
            n = own_pages(w->pages, p->nthreads, 0);
            if (pc > FS_VERIFY || t->cursor > n)
                ks_bad(in, "pid %u thread 0: pc %u, cursor %llu of %llu",
                       p->pid, pc, (unsigned long long)t->cursor,
                       (unsigned long long)n);
            else if (pc == FS_WAIT && !atomic_load(&p->child_done) &&
                     (!p->child || p->child->parent != p ||
                      atomic_load(&p->child->threads_live) == 0))
                ks_bad(in, "pid %u waits for a child that will not exit",
                       p->pid);
        } else if (pc != FS_SIB) {
            ks_bad(in, "pid %u thread %u (a sibling): pc %u", p->pid, t->tid,
                   pc);
        } else if (!atomic_load(&p->stop) && !queued(g, &p->threads[0])) {
            ks_bad(in, "pid %u: sibling %u waits for a stop its ended thread "
                   "0 will not give", p->pid, t->tid);
        }
        break;
    case WL_MMAP_CHURN:
        n = w->pages / p->nthreads ? w->pages / p->nthreads : 1;
        if (pc < MC_MAP || pc > MC_UNMAP)
            ks_bad(in, "pid %u thread %u: pc %u", p->pid, t->tid, pc);
        else if (pc != MC_MAP &&
                 (t->cursor > n || !ks_region_is_vma(p, t->region, n)))
            ks_bad(in, "pid %u thread %u: region %#llx of %llu pages (cursor "
                   "%llu) is no VMA", p->pid, t->tid,
                   (unsigned long long)t->region, (unsigned long long)n,
                   (unsigned long long)t->cursor);
        break;
    case WL_MEMTOUCH:
        n = own_pages(w->pages, p->nthreads, t->tid);
        if (pc < MT_WRITE || pc > MT_VERIFY)
            ks_bad(in, "pid %u thread %u: pc %u", p->pid, t->tid, pc);
        else if (n > 1 && (t->step >= n || t->off >= n ||
                           gcd64(t->step, n) != 1))
            ks_bad(in, "pid %u thread %u: step %llu, offset %llu do not "
                   "permute %llu pages", p->pid, t->tid,
                   (unsigned long long)t->step, (unsigned long long)t->off,
                   (unsigned long long)n);
        break;
    case WL_BLK_IO:
        if (pc != 0)
            ks_bad(in, "pid %u thread %u: pc %u", p->pid, t->tid, pc);
        break;
    case WL_PT_REUSE:           /* pt_reuse_state_load checks its own */
        break;
    default:
        ks_bad(in, "a thread of a %s kernel", workload_kind_name[w->kind]);
        break;
    }
}

/* Rules 6-7: the run queue holds exactly the live threads (else a live
   thread never runs and the kernel never finishes, or an ended one is
   ended twice); live_procs counts the processes with live threads and
   done says none is left; every queued thread can run. */
static void check_live(struct ks_in *in, struct guest_kernel *g,
                       const size_t *where, size_t rq_at)
{
    unsigned live = 0, nq = 0, i = 0;
    for (struct proc *p = g->all_procs; p && !in->failed;
         p = p->all_next, i++) {
        unsigned q = 0, tl = atomic_load(&p->threads_live);
        in->last = where[i];
        for (unsigned k = 0; k < p->nthreads; k++)
            q += queued(g, &p->threads[k]);
        if (q != tl) {
            ks_bad(in, "pid %u has %u live threads, %u on the run queue",
                   p->pid, tl, q);
            break;
        }
        live += tl > 0;
        nq += q;
        for (unsigned k = 0; k < p->nthreads && !in->failed; k++)
            if (queued(g, &p->threads[k]))
                check_thread(in, g, p, &p->threads[k]);
    }
    in->last = rq_at;
    if (!in->failed && live != atomic_load(&g->live_procs))
        ks_bad(in, "live_procs %u, but %u processes have live threads",
               atomic_load(&g->live_procs), live);
    else if (!in->failed && atomic_load(&g->done) != (live == 0))
        ks_bad(in, "done is %u with %u live processes",
               atomic_load(&g->done), live);
    else if (!in->failed && g->wl.kind == WL_BLK_IO && nq > 1)
        ks_bad(in, "%u blk-io threads (the frontend has one)", nq);
}

static void load_procs(struct ks_in *in, struct guest_kernel *g)
{
    uint32_t n = ks_get_u32(in);
    if (!in->failed && (n > KS_MAX_PROCS || n > g->next_pid)) {
        ks_bad(in, "%u processes with next_pid %u", n, g->next_pid);
        return;
    }
    uint32_t *links = calloc((size_t)n * 2 + 1, sizeof(*links));
    size_t *where = calloc((size_t)n + 1, sizeof(*where));
    if (!links || !where) {
        free(links);
        free(where);
        ks_bad(in, "no memory for %u processes", n);
        return;
    }
    struct proc *tail = NULL;
    for (uint32_t i = 0; i < n && !in->failed; i++) {
        where[i] = in->pos;
        load_proc(in, g, &tail, &links[2 * i], &links[2 * i + 1]);
    }
    /* Parent and child pids resolve. */
    struct proc *p = g->all_procs;
    for (uint32_t i = 0; i < n && !in->failed && p; i++, p = p->all_next) {
        in->last = where[i];
        if (links[2 * i] && !(p->parent = find_pid(g, links[2 * i])))
            ks_bad(in, "pid %u's parent pid %u is no process", p->pid,
                   links[2 * i]);
        else if (links[2 * i + 1] &&
                 !(p->child = find_pid(g, links[2 * i + 1])))
            ks_bad(in, "pid %u's child pid %u is no process", p->pid,
                   links[2 * i + 1]);
    }
    free(links);
    if (!in->failed && atomic_load(&g->live_procs) > n)
        ks_bad(in, "%u live processes of %u", atomic_load(&g->live_procs), n);
    /* The run queue: (pid, tid) pairs, each thread at most once. */
    size_t rq_at = in->pos;
    uint32_t nq = ks_get_u32(in);
    for (uint32_t i = 0; i < nq && !in->failed; i++) {
        uint32_t pid = ks_get_u32(in), tid = ks_get_u32(in);
        if (in->failed)
            break;
        struct proc *q = find_pid(g, pid);
        if (!q || tid >= q->nthreads) {
            ks_bad(in, "run-queue entry %u names thread %u of pid %u, which "
                   "does not exist", i, tid, pid);
            break;
        }
        struct thread *t = &q->threads[tid];
        if (t->rq_next || g->rq_tail == t) {
            ks_bad(in, "thread %u of pid %u is on the run queue twice", tid,
                   pid);
            break;
        }
        if (g->rq_tail)
            g->rq_tail->rq_next = t;
        else
            g->rq_head = t;
        g->rq_tail = t;
    }
    if (!in->failed)
        check_live(in, g, where, rq_at);
    free(where);
}

static void load_stats(struct ks_in *in, struct guest_kernel *g)
{
    struct gstats *s = &g->st;
#define GET_STAT(f) atomic_store(&s->f, ks_get_u64(in));
    STAT_LIST(GET_STAT)
#undef GET_STAT
    for (unsigned i = 0; i < GUEST_BLK_BUSY_MAX; i++) {
        s->blk_busy_ref[i] = ks_get_u32(in);
        s->blk_busy_frame[i] = ks_get_u32(in);
        s->blk_busy_flags[i] = ks_get_u16(in);
    }
}

static void load_log(struct ks_in *in, struct guest_kernel *g)
{
    g->log_n = ks_get_below(in, LOG_MAX + 1, "log line count");
    g->log_dropped = ks_get_u32(in);
    for (unsigned i = 0; i < g->log_n && !in->failed; i++)
        ks_get_str(in, g->log[i], LOG_LINE, "log line");
}

static void load_mig(struct ks_in *in, struct guest_kernel *g)
{
    g->mig_suspended_ns = ks_get_u64(in);
    g->mig_arg_pfn = ks_get_u64(in);
    if (ks_check_pfn(in, g, g->mig_arg_pfn, true, "suspend argument pfn") &&
        g->mig_arg_pfn != INVALID_PFN &&
        atomic_load(&g->pfn_kind[g->mig_arg_pfn]) != PFN_KERNEL)
        ks_bad(in, "suspend argument pfn %#llx is not a kernel page",
               (unsigned long long)g->mig_arg_pfn);
}

typedef void (*ks_loader)(struct ks_in *in, struct guest_kernel *g);

static void load_gnttab(struct ks_in *in, struct guest_kernel *g)
{
    gnttab_state_load(in, g);
}
static void load_evtchn(struct ks_in *in, struct guest_kernel *g)
{
    gevtchn_state_load(in, g);
}
static void load_blkfront(struct ks_in *in, struct guest_kernel *g)
{
    blkfront_state_load(in, g);
}
static void load_ptreuse(struct ks_in *in, struct guest_kernel *g)
{
    pt_reuse_state_load(in, g);
}

static const struct {
    ks_loader load;
    bool required;
} ks_sec[KS_NR] = {
    [KS_CORE]     = { load_core, true },
    [KS_PFN]      = { load_pfn, true },
    [KS_CPUS]     = { load_cpus, true },
    [KS_PROCS]    = { load_procs, true },
    [KS_STATS]    = { load_stats, true },
    [KS_LOG]      = { load_log, true },
    [KS_MIG]      = { load_mig, true },
    [KS_GNTTAB]   = { load_gnttab, false },
    [KS_EVTCHN]   = { load_evtchn, false },
    [KS_BLKFRONT] = { load_blkfront, false },
    [KS_PTREUSE]  = { load_ptreuse, false },
};

/* The header: its kind (0 / 1), or -XEN_EINVAL with in's error. */
static int read_header(struct ks_in *in, size_t len)
{
    char magic[8];
    in->sec = "header";
    in->end = len;
    if (!get_raw(in, magic, 8))
        return -XEN_EINVAL;
    if (memcmp(magic, KS_MAGIC, 8) != 0) {
        ks_bad(in, "bad magic (not a guest kernel state)");
        return -XEN_EINVAL;
    }
    uint32_t version = ks_get_u32(in);
    if (!in->failed && version != KS_VERSION)
        ks_bad(in, "version %u (this build reads %u)", version, KS_VERSION);
    uint32_t kind = ks_get_u32(in);
    if (!in->failed && kind > 1)
        ks_bad(in, "kind %u is neither PV (0) nor HVM (1)", kind);
    return in->failed ? -XEN_EINVAL : (int)kind;
}

int guest_state_kind(const void *buf, size_t len, char *err, size_t errlen)
{
    char dummy[8];
    struct ks_in in = { .buf = buf, .err = err ? err : dummy,
                        .errlen = err ? errlen : sizeof(dummy) };
    if (!buf) {
        in.sec = "header";
        ks_bad(&in, "no state");
        return -XEN_EINVAL;
    }
    return read_header(&in, len);
}

/* Rule 5. */
static struct guest_kernel *kernel_state_load(size_t size, uint32_t want,
                                              const void *buf, size_t len,
                                              char *err, size_t errlen)
{
    char dummy[8];
    struct ks_in in = { .buf = buf, .err = err ? err : dummy,
                        .errlen = err ? errlen : sizeof(dummy) };
    const struct kernel_paging_ops *ops = want ? &hvm_paging_ops
                                               : &pv_paging_ops;
    if (!buf) {
        in.sec = "header";
        ks_bad(&in, "no state");
        return NULL;
    }
    int kind = read_header(&in, len);
    if (kind < 0)
        return NULL;
    if ((uint32_t)kind != want) {
        in.last = 12;
        ks_bad(&in, "a %s kernel's state, loaded as %s", kind ? "HVM" : "PV",
               want ? "HVM" : "PV");
        return NULL;
    }
    struct guest_kernel *g = calloc(1, size);     /* g is the first member */
    if (!g) {
        ks_bad(&in, "no memory for the kernel");
        return NULL;
    }
    kernel_init(g, ops, 0, NULL, NULL);
    int prev = -1;
    bool have[KS_NR] = { false };
    for (;;) {
        in.sec = "header";
        in.end = len;
        in.last = in.pos;
        if (in.pos == len) {
            ks_bad(&in, "truncated: no END section");
            break;
        }
        size_t hdr = in.pos;
        uint32_t type = ks_get_u32(&in), slen = ks_get_u32(&in);
        if (in.failed)
            break;
        in.last = hdr;
        if (type >= KS_NR) {
            ks_bad(&in, "unknown section type %u", type);
            break;
        }
        in.sec = ks_sec_name[type];
        if ((int)type <= prev && type != KS_END) {
            ks_bad(&in, "out of order or repeated (after %s)",
                   prev >= 0 ? ks_sec_name[prev] : "the header");
            break;
        }
        size_t pad = (8 - slen % 8) % 8;
        if (slen > len - in.pos || pad > len - in.pos - slen) {
            ks_bad(&in, "length %u runs past the end (%zu bytes left)", slen,
                   len - in.pos);
            break;
        }
        for (unsigned t = (unsigned)(prev + 1); t < type; t++)
            if (ks_sec[t].required) {
                ks_bad(&in, "section %s is missing before it", ks_sec_name[t]);
                break;
            }
        if (in.failed)
            break;
        if (type == KS_END) {
            if (slen != 0)
                ks_bad(&in, "END has %u bytes", slen);
            else if (in.pos != len)
                ks_bad(&in, "%zu bytes after END", len - in.pos);
            break;
        }
        in.end = in.pos + slen;
        ks_sec[type].load(&in, g);
        if (in.failed)
            break;
        if (in.pos != in.end) {
            in.last = in.pos;
            ks_bad(&in, "%zu bytes left unread", in.end - in.pos);
            break;
        }
        for (size_t k = 0; k < pad; k++)
            if (in.buf[in.pos + k] != 0) {
                in.last = in.pos + k;
                ks_bad(&in, "padding byte is not zero");
                break;
            }
        if (in.failed)
            break;
        in.pos += pad;
        have[type] = true;
        prev = (int)type;
    }
    /* Module sections must match the workload (the modules need them). */
    if (!in.failed) {
        in.sec = "END";
        bool blk = g->wl.kind == WL_BLK_IO, pr = g->wl.kind == WL_PT_REUSE;
        if (have[KS_BLKFRONT] && !blk)
            ks_bad(&in, "a BLKFRONT section in a %s kernel",
                   workload_kind_name[g->wl.kind]);
        else if (have[KS_PTREUSE] && !pr)
            ks_bad(&in, "a PTREUSE section in a %s kernel",
                   workload_kind_name[g->wl.kind]);
        else if (have[KS_BLKFRONT] && !have[KS_GNTTAB])
            ks_bad(&in, "BLKFRONT without GNTTAB");
        /* Rule 6: a thread that will run reaches its module's state. */
        else if (blk && g->rq_head && !have[KS_BLKFRONT])
            ks_bad(&in, "a blk-io kernel with threads and no BLKFRONT");
        else if (pr && g->rq_head && !have[KS_PTREUSE])
            ks_bad(&in, "a pt-reuse kernel with threads and no PTREUSE");
    }
    if (in.failed) {
        kernel_destroy(g);
        free(g);
        return NULL;
    }
    atomic_store(&g->boot_state, 1);
    atomic_store(&g->mig_state, MIG_SUSPENDED);
    g->mig_have_resume = false;
    return g;
}

struct guest_pv *guest_pv_state_load(const void *buf, size_t len, char *err,
                                     size_t errlen)
{
    return (struct guest_pv *)kernel_state_load(sizeof(struct guest_pv), 0,
                                                buf, len, err, errlen);
}

struct guest_hvm *guest_hvm_state_load(const void *buf, size_t len, char *err,
                                       size_t errlen)
{
    return (struct guest_hvm *)kernel_state_load(sizeof(struct guest_hvm), 1,
                                                 buf, len, err, errlen);
}
