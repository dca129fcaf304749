/*
 * core/sched.h - running vCPUs.
 *
 * threads mode: one pthread per vCPU, real concurrency, real races.
 * det mode (later): every vCPU a coroutine on one OS thread; the scheduler
 * picks who runs at each sched_point() from the run's seed.
 * Callers only see sched_run(): it runs every vCPU's entry to completion.
 */
#ifndef HVLAB_CORE_SCHED_H
#define HVLAB_CORE_SCHED_H

#include "core/types.h"

struct vcpu;

enum sched_mode { SCHED_THREADS = 0, SCHED_DET = 1 };

struct sched_config {
    enum sched_mode mode;
    uint64_t seed;
};

/* Run v[0..n-1] (each v->entry(v, v->entry_arg)) until all return.
   0, -XEN_EOPNOTSUPP for det mode (not built yet), -XEN_EINVAL for an
   unknown mode or a vCPU without an entry, -XEN_ENOMEM. */
int sched_run(const struct sched_config *cfg, struct vcpu **v, unsigned n);

#endif /* HVLAB_CORE_SCHED_H */
