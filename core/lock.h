/*
 * core/lock.h - hypervisor locks and scheduling points.
 *
 * Every lock, wait and scheduling decision of the hypervisor goes through
 * here, so that the deterministic scheduler (det mode: vCPUs as coroutines on
 * one thread) can take over without touching any caller:
 *
 *   - hv_lock()/hv_unlock(): a spinlock with a bounded spin that then yields
 *     the CPU (threads mode) or the vCPU (det mode, through sched_point()).
 *   - sched_point(why): a place where another vCPU may run.  A no-op unless a
 *     scheduler installed a hook.
 *
 * Lock levels follow Xen's mm-locks.h idea: a vCPU may only take a lock of a
 * higher level than every lock it holds (checked when HVLAB_LOCK_DEBUG).
 */
#ifndef HVLAB_CORE_LOCK_H
#define HVLAB_CORE_LOCK_H

#include <stdatomic.h>
#include <stdio.h>

#include "core/types.h"

/* Why a vCPU reached a scheduling point (recorded by det mode). */
enum sched_point {
    SP_LOCK,        /* about to take a lock */
    SP_UNLOCK,      /* released a lock */
    SP_SPIN,        /* lock busy or waiting for a condition */
    SP_HCALL_ENTRY, /* hypercall entry */
    SP_HCALL_EXIT,  /* hypercall exit */
    SP_PREEMPT,     /* a long hypercall checks for preemption */
    SP_FAULT,       /* a guest fault enters the hypervisor */
    SP_MEM,         /* every N guest memory accesses */
    SP_INJECT,      /* an injection point asked to yield */
    SP_NR
};

/* Installed by a scheduler that wants control at scheduling points. */
extern void (*hv_sched_hook)(enum sched_point why);

/*
 * True on a thread whose vCPUs are coroutines under a cooperative scheduler
 * (det mode, core/sched_det.c): every wait is then done by sched_point(),
 * which switches to another vCPU, and never by yielding or fencing against
 * other OS threads (there are none running this machine's vCPUs).
 */
extern __thread bool hv_sched_coop;

/*
 * What the point is about, for a scheduler that tells points apart (det
 * mode's point pairs, core/sched_det.c D9): a lock's level, a hypercall's
 * number, an injection point's index; 0 for nothing in particular.  Set
 * only while a hook is installed, just before it is called.
 */
extern __thread unsigned hv_sched_detail;

static inline void sched_point_at(enum sched_point why, unsigned detail)
{
    if (unlikely(hv_sched_hook != NULL)) {
        hv_sched_detail = detail;
        hv_sched_hook(why);
    }
}

static inline void sched_point(enum sched_point why)
{
    sched_point_at(why, 0);
}

/* Lock levels, lowest first (take locks in increasing level). */
enum hv_lock_level {
    LOCK_DOMAIN_BIG = 10,   /* per-domain big lock (Xen 3.0 ptwr era) */
    LOCK_PTWR       = 20,   /* writable-pagetable batch state */
    LOCK_GNT_MAPTRACK = 22, /* a grant table's maptrack (core/grant) */
    LOCK_GNT_TABLE  = 24,   /* a grant table (after its maptrack) */
    LOCK_P2M        = 30,
    LOCK_PAGING     = 40,
    LOCK_PAGE_ALLOC = 50,   /* a domain's page list and tot_pages */
    LOCK_HEAP       = 60,   /* the machine's free-frame heap */
    LOCK_LEAF       = 90,   /* anything that takes no other lock */
};

typedef struct hv_lock {
    _Atomic uint32_t locked;
    uint16_t level;         /* enum hv_lock_level */
    const char *name;
} hv_lock_t;

#define HV_LOCK_INITIALIZER(n, lvl) { .locked = 0, .level = (lvl), .name = (n) }

void hv_lock_init(hv_lock_t *l, const char *name, enum hv_lock_level level);
/* The name of a lock level ("p2m", "gnt_table"...), NULL if none has it:
   how the USDT probes' lock class reads (docs/top.md). */
const char *hv_lock_level_name(unsigned level);
void hv_lock(hv_lock_t *l);
bool hv_trylock(hv_lock_t *l);
void hv_unlock(hv_lock_t *l);
static inline bool hv_lock_is_locked(const hv_lock_t *l)
{
    return atomic_load_explicit(&l->locked, memory_order_relaxed) != 0;
}

/* Body of a wait loop: spin a little, then let someone else run. */
void hv_relax(void);

/* Locks the calling vCPU holds now (0 when lock-order checking is compiled
   out, i.e. with NDEBUG).  For assertions: no lock is held at hypercall exit. */
unsigned hv_lock_held_count(void);

/*
 * The per-vCPU lock state: the held-lock record (empty with NDEBUG).  A
 * thread uses its own unless a scheduler that runs several vCPUs on it
 * installs one per vCPU with hv_lock_ctx_switch() at every switch.
 */
#define HV_LOCK_HELD_MAX 32

struct hv_lock_ctx {
    unsigned n;                             /* locks held */
    const struct hv_lock *held[HV_LOCK_HELD_MAX];   /* in order taken */
};

/* Make c the calling thread's lock state (NULL: the thread's own). */
void hv_lock_ctx_switch(struct hv_lock_ctx *c);
/* "none" or the held locks' names and levels, on one line (no newline). */
void hv_lock_ctx_print(const struct hv_lock_ctx *c, FILE *f);

#endif /* HVLAB_CORE_LOCK_H */
