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
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/sched.h"
#include "core/vcpu.h"

#define SCHED_STACK_BYTES   (256 * 1024)

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    char name[16];

    snprintf(name, sizeof(name), "hvlab-v%u", v->vcpu_id);
    pthread_setname_np(pthread_self(), name);
    current = v;
    v->entry(v, v->entry_arg);
    current = NULL;
    return NULL;
}

static int sched_run_threads(struct vcpu **v, unsigned n)
{
    pthread_t *tid = calloc(n ? n : 1, sizeof(*tid));
    pthread_attr_t attr;
    unsigned started = 0;
    int rc = 0;

    if (tid == NULL)
        return -XEN_ENOMEM;
    if (pthread_attr_init(&attr) != 0) {
        free(tid);
        return -XEN_ENOMEM;
    }
    pthread_attr_setstacksize(&attr, SCHED_STACK_BYTES);
    for (; started < n; started++) {
        if (pthread_create(&tid[started], &attr, vcpu_thread, v[started]) != 0) {
            rc = -XEN_ENOMEM;
            break;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_attr_destroy(&attr);
    free(tid);
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
