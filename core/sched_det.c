/*
 * core/sched_det.c - det mode: every vCPU a coroutine on the calling thread,
 * one scheduling decision at every sched_point().
 *
 * Rules:
 *   D1  One vCPU runs at a time, on the thread that called sched_run.  It
 *       runs until it reaches a scheduling point (hv_sched_hook: lock
 *       acquire/release, a busy lock's or a wait loop's SP_SPIN, hypercall
 *       entry/exit/preemption, a guest fault, every mem_quantum guest
 *       memory accesses, an injection point's yield) or returns from its
 *       entry.  There the scheduler makes one decision: which vCPU runs
 *       next (possibly the same one).  Nothing else decides: no time, no
 *       thread id, no address; the decisions depend only on the seed, the
 *       strategy and the sequence of scheduling points, which is itself a
 *       function of the decisions so far.  Same seed, same build, same
 *       scenario: same run (docs/determinism.md).
 *   D2  A switch changes, with the coroutine, everything per-thread that
 *       belongs to a vCPU: `current` and the held-lock record (core/lock.c
 *       rule 5).  hv_sched_coop is set on the thread for the whole run, so
 *       waits never spin on the CPU nor yield the OS thread, and remote
 *       flushes skip the cross-thread fence (core/mmu.c rule 17).
 *   D3  Waiting (fairness).  A vCPU whose last point was SP_SPIN is
 *       spinning: it waits for something another vCPU must do.  It is not
 *       eligible again until every vCPU that was not spinning when it spun
 *       has taken a step (reached a scheduling point or ended) - CHESS's
 *       fair-yield rule: a waiter re-checks its condition once per round
 *       of the others, never in a loop alone while they could run.  The
 *       eligible set is never empty: a vCPU in a spinner's wait set that
 *       has not stepped since is itself not spinning, so it is eligible.
 *   D4  Deadlock: when every live vCPU is spinning for deadlock_after
 *       decisions in a row, nobody can make progress.  The run stops: the
 *       report names each vCPU, where it waits and the locks it holds;
 *       sched_run returns -XEN_EDEADLK, the coroutines are abandoned (their
 *       stacks are not unmapped: the machine may still point into them).
 *   D5  Strategies choose among the eligible vCPUs (D3):
 *       random - uniformly, with the run's RNG, at every decision;
 *       pct    - Burckhardt et al., ASPLOS 2010: distinct random priorities
 *                d..d+n-1, d-1 change points drawn uniformly (distinct)
 *                from decisions 1..k; the highest-priority eligible vCPU
 *                runs; at the i-th change point the vCPU that reached it
 *                drops to priority i.  A bug of depth d is found with
 *                probability at least 1/(n k^(d-1)).  Waiting, as PCT
 *                implementations treat a yield: a vCPU that spins drops
 *                below every other vCPU (priority min - 1), or a
 *                high-priority waiter would starve the vCPU it waits for
 *                while some third vCPU does unbounded work (the guest's
 *                sibling threads touch memory until their parent stops).
 *                After decision k (past every change point, where PCT's
 *                guarantee ends) the run goes on with the random strategy:
 *                strict priorities alone need not terminate (a vCPU
 *                doing work until a flag is set starves the vCPU that
 *                would set it), a fair scheduler does.
 *       A replayed schedule overrides both: decision i takes the i-th
 *       recorded vCPU as long as it is live; the first one that is not (or
 *       the end of the schedule) is reported once and the strategy takes
 *       over (report->diverged).
 *   D6  Every decision is appended to the schedule log (sched_private.h),
 *       the run's own if the caller gave none, so its hash is reported.
 *   D7  The RNG is splitmix64 over the run's seed (mixed with a constant of
 *       this module, so it does not replay the workloads' streams); PCT
 *       draws its priorities and change points from it before the first
 *       decision, random draws one number per decision.
 *   D8  sched_spawn from a running vCPU adds a coroutine with the next
 *       index (dv has room for SCHED_DET_MAX_VCPUS from the start, so no
 *       det_vcpu moves); it is live and eligible from the next decision
 *       on, with the highest PCT priority so far.  Spawns happen at points
 *       the decisions fix, so a seed still fixes the run; the schedule log
 *       keeps the vCPU count the run started with.
 *   D9  Point pairs, when the caller gives counters (cfg->pairs).  A point
 *       is why a vCPU stopped and what about (sched_point_at's detail: a
 *       lock's level, a hypercall's number, an injection point); a vCPU
 *       not started yet stands at a point of its own.  At every point the
 *       running vCPU reaches, the counter of its pair with each other live
 *       vCPU's last point goes up by one (saturating at 255), hashed into
 *       SCHED_PAIR_SLOTS: which code one vCPU ran while another stood
 *       where.  The same decisions give the same counts.  A fuzzer reads
 *       them as coverage (fuzz/race.c RC10): an interleaving that puts a
 *       vCPU somewhere new beside another is new, though the code each
 *       ran is not.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/coro.h"
#include "core/domain.h"
#include "core/lock.h"
#include "core/mmu.h"
#include "core/sched_private.h"
#include "core/vcpu.h"

#define DET_SEED_MIX    0x5C4ED5C4ED5C4EDULL

struct det_sched;

struct det_vcpu {
    struct coro co;
    struct vcpu *v;
    struct det_sched *s;
    unsigned idx;                   /* in sched_run's v[] and the log */
    enum sched_point last_why;      /* where it stopped last */
    unsigned point;                 /* D9: that point with its detail */
    uint64_t wait_mask;             /* D3: must step before it is eligible */
    int64_t prio;                   /* PCT (D5) */
    struct hv_lock_ctx locks;       /* D2 */
};

struct det_sched {
    struct coro main;               /* the caller's stack */
    struct det_vcpu *dv;
    unsigned n;
    struct det_vcpu *cur;           /* running vCPU (NULL: main) */
    uint64_t live;                  /* not yet returned */
    uint64_t spinning;              /* last point was SP_SPIN (D3) */
    uint64_t blocked;               /* spinning and not yet eligible (D3) */
    uint64_t rng;                   /* D7 */
    enum sched_strategy strategy;
    unsigned pct_depth;
    uint64_t pct_steps;
    uint64_t change[64];            /* PCT change points, ascending */
    int64_t prio_min;               /* PCT: lowest priority given so far */
    unsigned nr_change, next_change;
    bool replaying;
    struct sched_log_cursor replay;
    struct sched_log *log;          /* D6 */
    bool log_oom;
    uint64_t decisions, switches, spin_decisions;
    uint64_t all_spin, deadlock_after;
    bool deadlock, diverged;
    uint8_t *pairs;                 /* D9 */
    FILE *err;
};

/* The det scheduler running on this thread (NULL: none). */
static __thread struct det_sched *det_self;
/* Det runs in progress in the process (the hook is shared by them). */
static _Atomic unsigned det_runs;

const char *const sched_strategy_name[2] = {
    [SCHED_RANDOM] = "random", [SCHED_PCT] = "pct",
};

static const char *const sp_name[SP_NR] = {
    [SP_LOCK] = "lock", [SP_UNLOCK] = "unlock", [SP_SPIN] = "spin",
    [SP_HCALL_ENTRY] = "hypercall entry", [SP_HCALL_EXIT] = "hypercall exit",
    [SP_PREEMPT] = "preemption check", [SP_FAULT] = "fault",
    [SP_MEM] = "memory access", [SP_INJECT] = "injection point",
};

/* ---- the RNG (D7) ---------------------------------------------------------- */

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) (Lemire's multiply; bound >= 1). */
static inline uint64_t rng_below(uint64_t *state, uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)rng_next(state) * bound) >> 64);
}

/* Index of the r-th set bit of m (r < popcount(m)). */
static inline unsigned nth_bit(uint64_t m, unsigned r)
{
    while (r--)
        m &= m - 1;
    return (unsigned)__builtin_ctzll(m);
}

/* ---- choosing (D3, D5) ----------------------------------------------------- */

/* vCPU `idx` took a step: spinners waiting for it may be eligible again. */
static inline void det_stepped(struct det_sched *s, unsigned idx)
{
    uint64_t bit = 1ULL << idx;
    s->blocked &= ~bit;
    for (uint64_t b = s->blocked; b; b &= b - 1) {
        struct det_vcpu *w = &s->dv[__builtin_ctzll(b)];
        w->wait_mask &= ~bit;
        if (w->wait_mask == 0)
            s->blocked &= ~(1ULL << w->idx);
    }
}

static unsigned det_choose_strategy(struct det_sched *s)
{
    uint64_t elig = s->live & ~s->blocked;
    if (unlikely(elig == 0))        /* D3 says never; stay safe */
        elig = s->live;
    if (s->strategy == SCHED_PCT && s->decisions <= s->pct_steps) {
        unsigned best = (unsigned)__builtin_ctzll(elig);
        for (uint64_t b = elig & (elig - 1); b; b &= b - 1) {
            unsigned i = (unsigned)__builtin_ctzll(b);
            if (s->dv[i].prio > s->dv[best].prio)
                best = i;
        }
        return best;
    }
    return nth_bit(elig, (unsigned)rng_below(&s->rng,
                                             (uint64_t)__builtin_popcountll(elig)));
}

static unsigned det_choose(struct det_sched *s)
{
    if (unlikely(s->replaying)) {
        int v = sched_log_next(&s->replay);
        if (v >= 0 && (s->live & (1ULL << v)))
            return (unsigned)v;
        s->replaying = false;
        s->diverged = true;
        if (v < 0)
            fprintf(s->err, "hvlab: sched det: the replayed schedule ended at "
                    "decision %" PRIu64 " but the run goes on; %s from here\n",
                    s->decisions, sched_strategy_name[s->strategy]);
        else
            fprintf(s->err, "hvlab: sched det: the replayed schedule diverged "
                    "at decision %" PRIu64 ": it names vCPU %d, which has "
                    "ended; %s from here\n", s->decisions, v,
                    sched_strategy_name[s->strategy]);
    }
    return det_choose_strategy(s);
}

/* One decision (D1): count it, apply a PCT change point, choose, log. */
static struct det_vcpu *det_decide(struct det_sched *s, struct det_vcpu *at)
{
    s->decisions++;
    if (unlikely(s->next_change < s->nr_change &&
                 s->decisions == s->change[s->next_change])) {
        s->next_change++;
        if (at)
            at->prio = (int64_t)s->next_change;  /* the i-th point: i */
    }
    unsigned next = det_choose(s);
    if (likely(!s->log_oom) && unlikely(!sched_log_append(s->log, next))) {
        s->log_oom = true;
        fprintf(s->err, "hvlab: sched det: out of memory recording the "
                "schedule at decision %" PRIu64 "; the rest is not recorded\n",
                s->decisions);
    }
    return &s->dv[next];
}

/* ---- switching (D2) -------------------------------------------------------- */

static inline void det_enter(struct det_sched *s, struct det_vcpu *to)
{
    s->cur = to;
    if (to) {
        current = to->v;
        hv_lock_ctx_switch(&to->locks);
    } else {
        current = NULL;
        hv_lock_ctx_switch(NULL);
    }
}

static void det_switch(struct det_sched *s, struct det_vcpu *from,
                       struct det_vcpu *to)
{
    if (from == to)
        return;
    s->switches++;
    det_enter(s, to);
    coro_switch(&from->co, &to->co);
    /* Resumed: whoever switched to us has entered us already. */
}

/* Leave the vCPUs for good: back to sched_run's stack. */
static void __attribute__((noreturn)) det_leave(struct det_sched *s,
                                                struct det_vcpu *from)
{
    det_enter(s, NULL);
    coro_switch(&from->co, &s->main);
    fprintf(stderr, "hvlab: sched det: a finished vCPU was resumed\n");
    abort();
}

/* D4: the report, then stop. */
static void __attribute__((noreturn)) det_deadlock(struct det_sched *s,
                                                   struct det_vcpu *at)
{
    s->deadlock = true;
    fprintf(s->err, "hvlab: sched det: DEADLOCK at decision %" PRIu64 ": "
            "every live vCPU has only been spinning (waiting for a lock or a "
            "condition) for %" PRIu64 " decisions in a row\n",
            s->decisions, s->all_spin);
    for (unsigned i = 0; i < s->n; i++) {
        const struct det_vcpu *d = &s->dv[i];
        const struct vcpu *v = d->v;
        fprintf(s->err, "  vCPU %u (d%u v%u): ", i,
                v->d ? (unsigned)v->d->domid : 0u, v->vcpu_id);
        if (!(s->live & (1ULL << i))) {
            fprintf(s->err, "finished\n");
            continue;
        }
        fprintf(s->err, "waiting at a %s point, holding ",
                sp_name[d->last_why]);
        hv_lock_ctx_print(&d->locks, s->err);
        fputc('\n', s->err);
    }
    fflush(s->err);
    det_leave(s, at);
}

/* ---- point pairs (D9) ------------------------------------------------------ */

#define DET_POINT_UNSTARTED     ((unsigned)SP_NR << 16)

static inline unsigned det_point(enum sched_point why, unsigned detail)
{
    return ((unsigned)why << 16) | (detail & 0xffff);
}

static void det_count_pairs(struct det_sched *s, const struct det_vcpu *at)
{
    uint64_t others = s->live & ~(1ULL << at->idx);
    for (; others; others &= others - 1) {
        const struct det_vcpu *o = &s->dv[__builtin_ctzll(others)];
        uint64_t h = ((uint64_t)at->point << 32 | o->point) *
                     0x9E3779B97F4A7C15ULL;
        uint8_t *c = &s->pairs[(h >> 40) % SCHED_PAIR_SLOTS];
        if (*c != UINT8_MAX)
            (*c)++;
    }
}

/* hv_sched_hook while a det run is in progress (on any thread). */
static void det_hook(enum sched_point why)
{
    struct det_sched *s = det_self;
    if (s == NULL || s->cur == NULL)
        return;                     /* another thread's vCPUs, or main */
    struct det_vcpu *at = s->cur;
    uint64_t bit = 1ULL << at->idx;

    at->last_why = why;
    at->point = det_point(why, hv_sched_detail);
    if (s->pairs)                                   /* D9 */
        det_count_pairs(s, at);
    det_stepped(s, at->idx);
    if (why == SP_SPIN) {           /* D3 */
        s->spin_decisions++;
        s->spinning |= bit;
        at->wait_mask = s->live & ~s->spinning;
        if (at->wait_mask)
            s->blocked |= bit;
        if (s->strategy == SCHED_PCT)           /* D5: a yield */
            at->prio = --s->prio_min;
        if ((s->live & ~s->spinning) == 0) {       /* D4 */
            if (++s->all_spin >= s->deadlock_after)
                det_deadlock(s, at);
        } else {
            s->all_spin = 0;
        }
    } else {
        s->spinning &= ~bit;
        s->all_spin = 0;
    }
    det_switch(s, at, det_decide(s, at));
}

/* A vCPU's coroutine: its entry, then hand over for good (D1). */
static void det_vcpu_main(void *arg)
{
    struct det_vcpu *d = arg;
    struct det_sched *s = d->s;

    d->v->entry(d->v, d->v->entry_arg);
    vcpu_entry_done(d->v);

    uint64_t bit = 1ULL << d->idx;
    s->live &= ~bit;
    s->spinning &= ~bit;
    det_stepped(s, d->idx);
    if (s->live == 0)
        det_leave(s, d);
    struct det_vcpu *next = det_decide(s, d);
    s->switches++;
    det_enter(s, next);
    coro_switch(&d->co, &next->co);
    fprintf(stderr, "hvlab: sched det: a finished vCPU was resumed\n");
    abort();
}

int sched_spawn_det(struct vcpu *v)
{
    struct det_sched *s = det_self;
    if (s == NULL || s->cur == NULL || v == NULL || v->entry == NULL)
        return -XEN_EINVAL;
    if (s->n >= SCHED_DET_MAX_VCPUS) {
        fprintf(s->err, "hvlab: sched det: cannot start another vCPU: det "
                "mode runs at most %u\n", SCHED_DET_MAX_VCPUS);
        return -XEN_ENOSPC;
    }
    struct det_vcpu *d = &s->dv[s->n];      /* D8 */
    memset(d, 0, sizeof(*d));
    d->v = v;
    d->s = s;
    d->idx = s->n;
    d->point = DET_POINT_UNSTARTED;                     /* D9 */
    if (coro_init(&d->co, CORO_STACK_BYTES, det_vcpu_main, d) != 0)
        return -XEN_ENOMEM;
    d->prio = (int64_t)(s->pct_depth + s->n);
    s->n++;
    s->live |= 1ULL << d->idx;
    return 0;
}

/* ---- set-up ---------------------------------------------------------------- */

static int det_check(const struct sched_config *cfg, unsigned n, FILE *err)
{
    if (n > SCHED_DET_MAX_VCPUS) {
        fprintf(err, "hvlab: sched det: %u vCPUs; det mode runs at most %u\n",
                n, SCHED_DET_MAX_VCPUS);
        return -XEN_EINVAL;
    }
    unsigned q = cfg->mem_quantum;
    if (q && (q & (q - 1))) {
        fprintf(err, "hvlab: sched det: sched.mem_quantum=%u is not a power "
                "of two\n", q);
        return -XEN_EINVAL;
    }
    if (cfg->strategy != SCHED_RANDOM && cfg->strategy != SCHED_PCT) {
        fprintf(err, "hvlab: sched det: unknown strategy %d\n",
                (int)cfg->strategy);
        return -XEN_EINVAL;
    }
    if (cfg->pct_depth > 64) {
        fprintf(err, "hvlab: sched det: sched.pct_depth=%u: at most 64\n",
                cfg->pct_depth);
        return -XEN_EINVAL;
    }
    if (cfg->replay && sched_log_vcpus(cfg->replay) != n) {
        fprintf(err, "hvlab: sched det: the schedule to replay is for %u "
                "vCPUs, this run has %u\n", sched_log_vcpus(cfg->replay), n);
        return -XEN_EINVAL;
    }
    if (det_self != NULL) {
        fprintf(err, "hvlab: sched det: a det run cannot start inside "
                "another on the same thread\n");
        return -XEN_EINVAL;
    }
    return 0;
}

/* PCT (D5): priorities d..d+n-1 in random order, change points. */
static void det_pct_setup(struct det_sched *s)
{
    unsigned n = s->n, d = s->pct_depth;
    unsigned perm[SCHED_DET_MAX_VCPUS];

    for (unsigned i = 0; i < n; i++)
        perm[i] = i;
    for (unsigned i = n; i > 1; i--) {              /* Fisher-Yates */
        unsigned j = (unsigned)rng_below(&s->rng, i);
        unsigned t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (unsigned i = 0; i < n; i++)
        s->dv[i].prio = (int64_t)(d + perm[i]);
    s->prio_min = 1;        /* change points use 1..d-1, waiters go below */
    s->nr_change = 0;
    uint64_t k = s->pct_steps;
    unsigned want = d - 1;
    if ((uint64_t)want > k)
        want = (unsigned)k;
    while (s->nr_change < want) {
        uint64_t c = 1 + rng_below(&s->rng, k);
        unsigned pos = 0;
        while (pos < s->nr_change && s->change[pos] < c)
            pos++;
        if (pos < s->nr_change && s->change[pos] == c)
            continue;                               /* distinct */
        memmove(&s->change[pos + 1], &s->change[pos],
                (s->nr_change - pos) * sizeof(s->change[0]));
        s->change[pos] = c;
        s->nr_change++;
    }
}

static double pct_bound(unsigned n, uint64_t k, unsigned d)
{
    double b = 1.0 / (double)(n ? n : 1);
    for (unsigned i = 1; i < d; i++)
        b /= (double)k;
    return b;
}

int sched_run_det(const struct sched_config *cfg, struct vcpu **v, unsigned n)
{
    static const struct sched_config defaults = { .mode = SCHED_DET };
    if (cfg == NULL)
        cfg = &defaults;
    FILE *err = cfg->err ? cfg->err : stderr;
    int rc = det_check(cfg, n, err);
    if (rc)
        return rc;

    struct det_sched *s = calloc(1, sizeof(*s));
    if (!s)
        return -XEN_ENOMEM;
    s->dv = calloc(SCHED_DET_MAX_VCPUS, sizeof(*s->dv));  /* D8: room */
    s->log = cfg->record ? cfg->record : sched_log_new();
    if (!s->dv || !s->log) {
        rc = -XEN_ENOMEM;
        goto out;
    }
    s->log->nr_vcpus = n;
    s->n = n;
    s->err = err;
    s->strategy = cfg->strategy;
    s->pct_depth = cfg->pct_depth ? cfg->pct_depth : SCHED_PCT_DEPTH_DEFAULT;
    s->pct_steps = cfg->pct_steps ? cfg->pct_steps : SCHED_PCT_STEPS_DEFAULT;
    s->deadlock_after = cfg->deadlock_after ? cfg->deadlock_after
                                            : SCHED_DEADLOCK_DEFAULT;
    s->rng = cfg->seed ^ DET_SEED_MIX;
    if (cfg->replay) {
        s->replaying = true;
        s->replay = (struct sched_log_cursor){ .l = cfg->replay };
    }
    s->pairs = cfg->pairs;
    for (unsigned i = 0; i < n; i++) {
        struct det_vcpu *d = &s->dv[i];
        d->v = v[i];
        d->s = s;
        d->idx = i;
        d->point = DET_POINT_UNSTARTED;                 /* D9 */
        if (coro_init(&d->co, CORO_STACK_BYTES, det_vcpu_main, d) != 0) {
            rc = -XEN_ENOMEM;
            goto out;
        }
        s->live |= 1ULL << i;
    }
    if (s->strategy == SCHED_PCT)
        det_pct_setup(s);

    if (n > 0) {
        uint32_t mem_mask = mmu_sp_mem_mask;
        unsigned q = cfg->mem_quantum ? cfg->mem_quantum
                                      : SCHED_MEM_QUANTUM_DEFAULT;
        mmu_sp_mem_mask = q - 1;
        hv_sched_coop = true;
        det_self = s;
        if (atomic_fetch_add(&det_runs, 1) == 0)
            hv_sched_hook = det_hook;

        struct det_vcpu *first = det_decide(s, NULL);
        det_enter(s, first);
        coro_switch(&s->main, &first->co);
        /* Every vCPU returned, or D4 stopped the run. */

        if (atomic_fetch_sub(&det_runs, 1) == 1)
            hv_sched_hook = NULL;
        det_self = NULL;
        hv_sched_coop = false;
        mmu_sp_mem_mask = mem_mask;
        det_enter(s, NULL);
    }
    if (cfg->report) {
        struct sched_report *r = cfg->report;
        memset(r, 0, sizeof(*r));
        r->strategy = s->strategy;
        r->replayed = cfg->replay != NULL;
        r->nr_vcpus = n;
        r->decisions = s->decisions;
        r->switches = s->switches;
        r->spin_decisions = s->spin_decisions;
        r->pct_depth = s->pct_depth;
        r->pct_steps = s->pct_steps;
        r->pct_bound = pct_bound(n, s->pct_steps, s->pct_depth);
        r->schedule_hash = sched_log_hash(s->log);
        r->deadlock = s->deadlock;
        r->diverged = s->diverged;
    }
    rc = s->deadlock ? -XEN_EDEADLK : 0;
out:
    /* D4: a deadlocked run's stacks stay mapped (and its vCPUs stopped). */
    if (s->dv && !s->deadlock)
        for (unsigned i = 0; i < s->n; i++)
            coro_destroy(&s->dv[i].co);
    if (!s->deadlock)
        free(s->dv);
    if (s->log && s->log != cfg->record)
        sched_log_free(s->log);
    free(s);
    return rc;
}
