/*
 * core/sched_private.h - the schedule log's representation, shared by
 * core/sched_log.c (files, hashing) and core/sched_det.c (appending and
 * following it at every decision).  Nothing outside core/sched*.c sees it.
 */
#ifndef HVLAB_CORE_SCHED_PRIVATE_H
#define HVLAB_CORE_SCHED_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sched.h"

/* `count` consecutive decisions chose vCPU `vcpu` (8 bytes, no padding:
   the log is hashed as bytes). */
struct sched_run_len {
    uint32_t vcpu;
    uint32_t count;             /* >= 1 */
};
_Static_assert(sizeof(struct sched_run_len) == 8, "run is two words");

/*
 * Rules:
 *   L1  Canonical: two adjacent runs never name the same vCPU unless the
 *       first is full (count == UINT32_MAX); so one decision sequence has
 *       one representation, and one hash.
 *   L2  decisions == the sum of every run's count.
 */
struct sched_log {
    unsigned nr_vcpus;          /* of the run (sched_run sets it) */
    struct sched_run_len *runs;
    size_t nr_runs, cap;
    uint64_t decisions;
};

/* Grow runs[]; false when out of memory (the log is left as it was). */
bool sched_log_grow(struct sched_log *l);

/* Append one decision (L1).  False when out of memory. */
static inline bool sched_log_append(struct sched_log *l, unsigned vcpu)
{
    if (l->nr_runs && l->runs[l->nr_runs - 1].vcpu == vcpu &&
        l->runs[l->nr_runs - 1].count != UINT32_MAX) {
        l->runs[l->nr_runs - 1].count++;
    } else {
        if (l->nr_runs == l->cap && !sched_log_grow(l))
            return false;
        l->runs[l->nr_runs++] = (struct sched_run_len){ vcpu, 1 };
    }
    l->decisions++;
    return true;
}

/* A reading position in a log. */
struct sched_log_cursor {
    const struct sched_log *l;
    size_t run;
    uint32_t used;              /* decisions taken from runs[run] */
};

/* The next decision, or -1 at the end. */
static inline int sched_log_next(struct sched_log_cursor *c)
{
    while (c->run < c->l->nr_runs) {
        const struct sched_run_len *r = &c->l->runs[c->run];
        if (c->used < r->count) {
            c->used++;
            return (int)r->vcpu;
        }
        c->run++;
        c->used = 0;
    }
    return -1;
}

#endif /* HVLAB_CORE_SCHED_PRIVATE_H */
