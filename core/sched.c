/*
 * core/sched.c - running vCPUs.
 *
 * Rules:
 *   1. sched_run() runs every vCPU's entry(v, entry_arg) to completion and
 *      returns when all have returned.  `current` is set to the vCPU on the
 *      context that runs it, and cleared after.
 *   2. threads mode: one pthread per vCPU (SCHED_STACK_BYTES of stack), real
 *      concurrency; the OS picks the interleaving.
 *   3. det mode is core/sched_det.c (sched_run_det).  It needs no caller
 *      to change because a vCPU waits in exactly three places: hv_lock()
 *      (busy lock), hv_relax() (a wait loop) and sched_point() (hypercall
 *      entry/exit, faults, every N memory accesses, preemption checks,
 *      injection points).  Each calls sched_point(), where the det
 *      scheduler's hv_sched_hook switches coroutines; the per-context state
 *      it switches with them is `current` and the held-lock record of
 *      core/lock.c.
 *   4. Arguments are checked before anything runs: a vCPU without an entry
 *      is -XEN_EINVAL.  If a thread cannot be created, the vCPUs already
 *      started are joined and -XEN_ENOMEM is returned.
 *   5. A running vCPU may start another one in its run (sched_spawn): in
 *      threads mode the run's thread list grows under its lock and the
 *      joining loop of sched_run picks the new thread up; every thread of
 *      a run knows its run through thr_self.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/sched.h"
#include "core/vcpu.h"

#define SCHED_STACK_BYTES   (256 * 1024)

/* A threads-mode run: its threads, growing (rule 5). */
struct thr_run {
    pthread_mutex_t lock;
    pthread_t *tid;
    unsigned nr, cap;
    pthread_attr_t attr;
};
struct thr_start {
    struct thr_run *run;
    struct vcpu *v;
};
static __thread struct thr_run *thr_self;

static void *vcpu_thread(void *arg)
{
    struct thr_start st = *(struct thr_start *)arg;
    struct vcpu *v = st.v;
    char name[16];

    free(arg);
    thr_self = st.run;
    snprintf(name, sizeof(name), "hvlab-v%u", v->vcpu_id);
    pthread_setname_np(pthread_self(), name);
    current = v;
    v->entry(v, v->entry_arg);
    vcpu_entry_done(v);
    current = NULL;
    return NULL;
}

/* Start v's thread in run r (its lock held). */
static int thr_start_locked(struct thr_run *r, struct vcpu *v)
{
    if (r->nr == r->cap) {
        unsigned cap = r->cap ? 2 * r->cap : 8;
        pthread_t *t = realloc(r->tid, cap * sizeof(*t));
        if (!t)
            return -XEN_ENOMEM;
        r->tid = t;
        r->cap = cap;
    }
    struct thr_start *st = malloc(sizeof(*st));
    if (!st)
        return -XEN_ENOMEM;
    *st = (struct thr_start){ .run = r, .v = v };
    if (pthread_create(&r->tid[r->nr], &r->attr, vcpu_thread, st) != 0) {
        free(st);
        return -XEN_ENOMEM;
    }
    r->nr++;
    return 0;
}

static int sched_run_threads(struct vcpu **v, unsigned n)
{
    struct thr_run r = { .lock = PTHREAD_MUTEX_INITIALIZER };
    int rc = 0;

    if (pthread_attr_init(&r.attr) != 0)
        return -XEN_ENOMEM;
    pthread_attr_setstacksize(&r.attr, SCHED_STACK_BYTES);
    pthread_mutex_lock(&r.lock);
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = thr_start_locked(&r, v[i]);
    pthread_mutex_unlock(&r.lock);
    for (unsigned i = 0;; i++) {        /* rule 5: the list may grow */
        pthread_mutex_lock(&r.lock);
        if (i >= r.nr) {
            pthread_mutex_unlock(&r.lock);
            break;
        }
        pthread_t t = r.tid[i];
        pthread_mutex_unlock(&r.lock);
        pthread_join(t, NULL);
    }
    pthread_attr_destroy(&r.attr);
    free(r.tid);
    return rc;
}

int sched_spawn(struct vcpu *v)
{
    if (v == NULL || v->entry == NULL)
        return -XEN_EINVAL;
    struct thr_run *r = thr_self;
    if (r == NULL)
        return sched_spawn_det(v);
    pthread_mutex_lock(&r->lock);
    int rc = thr_start_locked(r, v);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int sched_run(const struct sched_config *cfg, struct vcpu **v, unsigned n)
{
    enum sched_mode mode = cfg ? cfg->mode : SCHED_THREADS;

    for (unsigned i = 0; i < n; i++)
        if (v[i] == NULL || v[i]->entry == NULL)
            return -XEN_EINVAL;
    switch (mode) {
    case SCHED_THREADS:
        return sched_run_threads(v, n);
    case SCHED_DET:
        return sched_run_det(cfg, v, n);
    }
    return -XEN_EINVAL;
}
