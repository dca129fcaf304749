/*
 * guest/sched.c - the kernel's scheduler: one run queue, every vCPU
 * picks runnable threads from it.
 *
 * Rules:
 *   1. A thread is either on the run queue or running on exactly one vCPU.
 *      A vCPU runs one thread at a time, one slice (a bounded piece of its
 *      program) per pick, then puts it back at the tail unless it ended.
 *   2. Threads of one process run on several vCPUs at once; a vCPU loads
 *      the thread's L4 before the slice (ops->load_root) and keeps it
 *      loaded afterwards (lazy, as Linux keeps the last mm) until it runs
 *      another process or the mm starts dying (K6).
 *   3. Waiting uses only atomics and hv_relax(), so a deterministic
 *      scheduler can switch vCPUs there.
 *   4. The run ends when the last process is gone (live_procs reaches 0):
 *      every vCPU then returns to the init L4 and leaves.
 *   5. Between two slices a vCPU passes the suspend point
 *      (mig_suspend_point, guest/suspend.c): it parks there when a suspend
 *      was asked for, and leaves the loop when the kernel suspended.
 */
#include "core/lock.h"
#include "core/vcpu.h"
#include "guest/private.h"

void rq_push(struct guest_kernel *g, struct thread *t)
{
    t->rq_next = NULL;
    gspin_lock(&g->rq_lock);
    if (g->rq_tail)
        g->rq_tail->rq_next = t;
    else
        g->rq_head = t;
    g->rq_tail = t;
    gspin_unlock(&g->rq_lock);
}

struct thread *rq_pop(struct guest_kernel *g)
{
    gspin_lock(&g->rq_lock);
    struct thread *t = g->rq_head;
    if (t) {
        g->rq_head = t->rq_next;
        if (!g->rq_head)
            g->rq_tail = NULL;
        t->rq_next = NULL;
    }
    gspin_unlock(&g->rq_lock);
    return t;
}

void proc_start(struct guest_kernel *g, struct proc *p)
{
    atomic_store(&p->threads_live, p->nthreads);
    atomic_fetch_add(&g->live_procs, 1);
    for (unsigned i = 0; i < p->nthreads; i++)
        rq_push(g, &p->threads[i]);
}

/* The vCPU's life after boot (rules 1-4). */
void sched_loop(struct gcpu *c)
{
    struct guest_kernel *g = c->g;

    for (;;) {
        if (c->loaded && atomic_load(&c->loaded->dying))
            mm_leave(c);
        if (mig_suspend_point(c))       /* suspend.c: parked, suspended */
            return;
        if (atomic_load(&g->done))
            break;
        struct thread *t = rq_pop(g);
        if (!t) {
            hv_relax();
            continue;
        }
        struct proc *p = t->p;
        enum thread_result r = T_EXITED;
        if (atomic_load(&p->killed) == KILL_NONE)
            mm_switch(c, p);
        if (atomic_load(&p->killed) == KILL_NONE && c->loaded == p) {
            c->cur = t;
            r = workload_slice(c, t);
            c->cur = NULL;
        }
        if (r == T_RUNNABLE)
            rq_push(g, t);
        else
            proc_thread_exit(c, t);
    }
    if (c->loaded)
        mm_leave(c);
}
