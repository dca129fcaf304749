/*
 * core/lock.c - hypervisor spinlocks, the relax loop and the scheduling hook.
 *
 * Rules:
 *   1. Every wait of a vCPU happens in one of three places: hv_lock() (lock
 *      busy), hv_relax() (a wait loop on a condition) or sched_point().  Each
 *      of them calls sched_point(), so a deterministic scheduler that
 *      installs hv_sched_hook can switch vCPUs there instead of spinning.
 *   2. hv_lock() calls sched_point(SP_LOCK) before it tries to acquire;
 *      hv_unlock() calls sched_point(SP_UNLOCK) after the release is
 *      visible.  hv_trylock() calls sched_point(SP_LOCK) too.  Each names
 *      the lock's level as the point's detail (sched_point_at).
 *   3. A busy lock is spun on for HV_SPIN_BOUND pause iterations (reading
 *      only, so the cache line is not bounced), then the OS thread yields
 *      (sched_yield) and the spin starts over: on a host with fewer CPUs
 *      than vCPU threads the holder must get to run.
 *   4. Lock order (HVLAB_LOCK_DEBUG): a vCPU may take a lock only if its
 *      level is >= the level of every lock it holds (equal levels are
 *      allowed: two domains' page_alloc_locks, for example, are ordered by
 *      their callers).  Taking a lock it already holds, or one of a lower
 *      level, is a hypervisor bug: both locks are printed and the process
 *      aborts.  hv_trylock() cannot deadlock, so it is not order-checked,
 *      but a lock it takes is recorded as held.
 *   5. The held-lock record (struct hv_lock_ctx) belongs to the vCPU.  A
 *      thread uses its own unless hv_lock_ctx_switch() installed another:
 *      det mode runs every vCPU on one thread and installs the vCPU's record
 *      at every coroutine switch.
 *   6. On a cooperative thread (hv_sched_coop, det mode) a busy lock or a
 *      wait loop never spins on the CPU nor yields the OS thread: each turn
 *      of the wait is one sched_point(SP_SPIN), where the scheduler runs
 *      somebody else (the holder, eventually).
 *
 * HVLAB_LOCK_DEBUG is on unless NDEBUG is defined (as assert() is): every
 * test, bench and scenario run of the normal build checks the order.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/lock.h"
#include "trace/usdt.h"

#if !defined(NDEBUG) && !defined(HVLAB_LOCK_DEBUG)
#define HVLAB_LOCK_DEBUG 1
#endif

/* Pause iterations on a busy lock before the thread yields (rule 3). */
#define HV_SPIN_BOUND   256
/* hv_relax() calls between two yields of the OS thread. */
#define HV_RELAX_YIELD_EVERY 64

void (*hv_sched_hook)(enum sched_point why);
__thread unsigned hv_sched_detail;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

__thread bool hv_sched_coop;

/* ---- the per-vCPU record (rule 5) ----------------------------------------- */

static __thread struct hv_lock_ctx lock_ctx_own;
static __thread struct hv_lock_ctx *lock_ctx_cur;   /* NULL: lock_ctx_own */

static inline struct hv_lock_ctx *lock_ctx(void)
{
    struct hv_lock_ctx *c = lock_ctx_cur;
    return c ? c : &lock_ctx_own;
}

void hv_lock_ctx_switch(struct hv_lock_ctx *c)
{
    lock_ctx_cur = c;
}

void hv_lock_ctx_print(const struct hv_lock_ctx *c, FILE *f)
{
    if (c->n == 0) {
        fputs("none", f);
        return;
    }
    for (unsigned i = 0; i < c->n && i < HV_LOCK_HELD_MAX; i++)
        fprintf(f, "%s'%s' (level %u)", i ? ", " : "",
                c->held[i]->name ? c->held[i]->name : "?", c->held[i]->level);
}

/* ---- lock-order checking (rule 4) ---------------------------------------- */
#ifdef HVLAB_LOCK_DEBUG

static void lock_order_check(const hv_lock_t *l)
{
    const struct hv_lock_ctx *lock_held = lock_ctx();
    for (unsigned i = 0; i < lock_held->n; i++) {
        const hv_lock_t *h = lock_held->held[i];
        if (h == l) {
            fprintf(stderr, "hvlab: lock order violation: taking lock '%s' "
                    "(level %u) which this vCPU already holds\n",
                    l->name ? l->name : "?", l->level);
            abort();
        }
        if (h->level > l->level) {
            fprintf(stderr, "hvlab: lock order violation: taking lock '%s' "
                    "(level %u) while holding '%s' (level %u)\n",
                    l->name ? l->name : "?", l->level,
                    h->name ? h->name : "?", h->level);
            abort();
        }
    }
}

static void lock_held_push(const hv_lock_t *l)
{
    struct hv_lock_ctx *lock_held = lock_ctx();
    if (lock_held->n == HV_LOCK_HELD_MAX) {
        fprintf(stderr, "hvlab: more than %u locks held at once (taking '%s')\n",
                HV_LOCK_HELD_MAX, l->name ? l->name : "?");
        abort();
    }
    lock_held->held[lock_held->n++] = l;
}

static void lock_held_pop(const hv_lock_t *l)
{
    struct hv_lock_ctx *lock_held = lock_ctx();
    /* Locks may be released out of order: remove this one wherever it is. */
    for (unsigned i = lock_held->n; i-- > 0; ) {
        if (lock_held->held[i] == l) {
            for (unsigned j = i; j + 1 < lock_held->n; j++)
                lock_held->held[j] = lock_held->held[j + 1];
            lock_held->n--;
            return;
        }
    }
    fprintf(stderr, "hvlab: releasing lock '%s' (level %u) that this vCPU "
            "does not hold\n", l->name ? l->name : "?", l->level);
    abort();
}

unsigned hv_lock_held_count(void)
{
    return lock_ctx()->n;
}

#else /* !HVLAB_LOCK_DEBUG */

static inline void lock_order_check(const hv_lock_t *l) { (void)l; }
static inline void lock_held_push(const hv_lock_t *l) { (void)l; }
static inline void lock_held_pop(const hv_lock_t *l) { (void)l; }

unsigned hv_lock_held_count(void)
{
    return 0;
}

#endif /* HVLAB_LOCK_DEBUG */

/* ---- the lock --------------------------------------------------------------- */

const char *hv_lock_level_name(unsigned level)
{
    switch (level) {
    case LOCK_DOMAIN_BIG:   return "domain_big";
    case LOCK_PTWR:         return "ptwr";
    case LOCK_GNT_MAPTRACK: return "gnt_maptrack";
    case LOCK_GNT_TABLE:    return "gnt_table";
    case LOCK_P2M:          return "p2m";
    case LOCK_PAGING:       return "paging";
    case LOCK_PAGE_ALLOC:   return "page_alloc";
    case LOCK_HEAP:         return "heap";
    case LOCK_LEAF:         return "leaf";
    default:                return NULL;
    }
}

void hv_lock_init(hv_lock_t *l, const char *name, enum hv_lock_level level)
{
    atomic_store_explicit(&l->locked, 0, memory_order_relaxed);
    l->level = (uint16_t)level;
    l->name = name;
}

static inline bool lock_try_acquire(hv_lock_t *l)
{
    uint32_t expect = 0;
    return atomic_compare_exchange_strong_explicit(&l->locked, &expect, 1,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

void hv_lock(hv_lock_t *l)
{
    uint64_t usdt_t0 = 0;       /* when the wait began (probes attached) */
    sched_point_at(SP_LOCK, l->level);
    lock_order_check(l);
    while (!lock_try_acquire(l)) {
        unsigned spins = 0;
        if (!usdt_t0 && (HV_USDT_ENABLED(lock_contended) ||
                         HV_USDT_ENABLED(lock_acquired)))
            usdt_t0 = hv_usdt_now_ns();
        /* Rule 3: read-only spin, a det scheduler may switch at SP_SPIN. */
        while (atomic_load_explicit(&l->locked, memory_order_relaxed) != 0) {
            sched_point_at(SP_SPIN, l->level);
            if (hv_sched_coop)
                continue;                       /* rule 6 */
            if (++spins < HV_SPIN_BOUND) {
                cpu_relax();
            } else {
                spins = 0;
                sched_yield();
            }
        }
    }
    lock_held_push(l);
    uint64_t usdt_wait = usdt_t0 ? hv_usdt_now_ns() - usdt_t0 : 0;
    (void)usdt_wait;
    if (usdt_t0)
        HV_USDT(lock_contended, l->level, usdt_wait, l);
    HV_USDT(lock_acquired, l->level, usdt_wait, l);
}

bool hv_trylock(hv_lock_t *l)
{
    sched_point_at(SP_LOCK, l->level);
    if (!lock_try_acquire(l))
        return false;
    lock_held_push(l);
    HV_USDT(lock_acquired, l->level, 0, l);
    return true;
}

void hv_unlock(hv_lock_t *l)
{
    lock_held_pop(l);
    HV_USDT(lock_released, l->level, l);
    atomic_store_explicit(&l->locked, 0, memory_order_release);
    sched_point_at(SP_UNLOCK, l->level);
}

void hv_relax(void)
{
    static __thread unsigned relax_calls;

    sched_point(SP_SPIN);
    if (hv_sched_coop)
        return;                                 /* rule 6 */
    if (++relax_calls % HV_RELAX_YIELD_EVERY == 0)
        sched_yield();
    else
        cpu_relax();
}
