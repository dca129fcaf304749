/*
 * core/sched.h - running vCPUs.
 *
 * threads mode: one pthread per vCPU, real concurrency, real races.
 * det mode: every vCPU a coroutine on one OS thread (the caller's); the
 * scheduler picks who runs at each sched_point() from the run's seed, so the
 * same seed (and build and scenario) gives the same interleaving
 * (docs/determinism.md).  Callers only see sched_run(): it runs every vCPU's
 * entry to completion.
 */
#ifndef HVLAB_CORE_SCHED_H
#define HVLAB_CORE_SCHED_H

#include <stdio.h>

#include "core/types.h"

struct vcpu;

enum sched_mode { SCHED_THREADS = 0, SCHED_DET = 1 };

/* How det mode picks the next vCPU (option sched.strategy). */
enum sched_strategy {
    SCHED_RANDOM = 0,   /* uniformly among the eligible vCPUs, every point */
    SCHED_PCT    = 1,   /* PCT: priorities + d-1 change points */
};
extern const char *const sched_strategy_name[2];

/* Det-mode defaults (a zero field of struct sched_config means these). */
#define SCHED_PCT_DEPTH_DEFAULT     3
#define SCHED_PCT_STEPS_DEFAULT     1000000     /* k when not estimated */
#define SCHED_MEM_QUANTUM_DEFAULT   64
#define SCHED_DEADLOCK_DEFAULT      200000
/* Det mode runs at most this many vCPUs (its sets are 64-bit masks). */
#define SCHED_DET_MAX_VCPUS         64
/* Counters of point pairs (struct sched_config pairs; sched_det.c D9). */
#define SCHED_PAIR_SLOTS            1024

/*
 * A schedule: the vCPU chosen at every decision of a det-mode run, in
 * order (run-length encoded).  A vCPU is named by its index in the v[]
 * given to sched_run.  File format: docs/determinism.md.
 */
struct sched_log;

struct sched_log *sched_log_new(void);
void sched_log_free(struct sched_log *l);
uint64_t sched_log_decisions(const struct sched_log *l);
/* 64-bit hash of the decision sequence (equal logs, equal hash). */
uint64_t sched_log_hash(const struct sched_log *l);
/* vCPUs of the run it records (0 until a run or a file set it). */
unsigned sched_log_vcpus(const struct sched_log *l);
/* Write l as a schedule file, with `comment` (may be NULL) as a comment
   line on top.  0, or -1 with errno set. */
int sched_log_write(const struct sched_log *l, const char *comment, FILE *f);
/* Read a schedule file (`name` for messages).  NULL with why[] naming the
   line at fault. */
struct sched_log *sched_log_read(FILE *f, const char *name, char *why,
                                 size_t whylen);

/* What a det-mode run did (filled when sched_config.report is set). */
struct sched_report {
    enum sched_strategy strategy;
    bool replayed;              /* followed sched_config.replay */
    unsigned nr_vcpus;
    uint64_t decisions;         /* scheduling decisions made */
    uint64_t switches;          /* of those, how many changed vCPU */
    uint64_t spin_decisions;    /* decisions at an SP_SPIN point */
    unsigned pct_depth;         /* PCT: d */
    uint64_t pct_steps;         /* PCT: k (the estimate used) */
    double pct_bound;           /* PCT: 1 / (n * k^(d-1)) */
    uint64_t schedule_hash;     /* sched_log_hash of what ran */
    bool deadlock;              /* stopped: every vCPU only spinning */
    bool diverged;              /* replay: the schedule did not fit */
};

struct sched_config {
    enum sched_mode mode;
    uint64_t seed;
    /* det mode only; zero fields take the defaults above. */
    enum sched_strategy strategy;
    unsigned pct_depth;             /* d >= 1: d-1 priority change points */
    uint64_t pct_steps;             /* k: estimated decisions in the run */
    unsigned mem_quantum;           /* SP_MEM every N accesses (power of 2) */
    uint64_t deadlock_after;        /* consecutive all-spinning decisions
                                       that make a deadlock */
    const struct sched_log *replay; /* follow this schedule (then strategy) */
    struct sched_log *record;       /* append every decision here */
    struct sched_report *report;    /* filled at the end */
    FILE *err;                      /* diagnostics (NULL: stderr) */
    uint8_t *pairs;                 /* det: SCHED_PAIR_SLOTS counters of
                                       point pairs, added to (D9) */
};

/*
 * Run v[0..n-1] (each v->entry(v, v->entry_arg)) until all return.
 * 0; -XEN_EINVAL for an unknown mode, a vCPU without an entry, or a det
 * config it cannot run (more than SCHED_DET_MAX_VCPUS vCPUs, a replay
 * schedule for another vCPU count, a mem_quantum that is not a power of
 * two), each explained on cfg->err; -XEN_ENOMEM; det mode only:
 * -XEN_EDEADLK when every vCPU left was only spinning for deadlock_after
 * decisions in a row (reported on cfg->err, the vCPUs are abandoned where
 * they stood: locks stay held, the machine must not be torn down).  A
 * replayed schedule that names a vCPU that cannot run there, or ends early,
 * is reported on cfg->err and sets report->diverged; the run goes on with
 * the strategy from that decision on and returns 0.
 * In det mode the vCPUs run on the calling thread.
 */
int sched_run(const struct sched_config *cfg, struct vcpu **v, unsigned n);

/* Det mode (core/sched_det.c); same contract, cfg->mode is not looked at. */
int sched_run_det(const struct sched_config *cfg, struct vcpu **v, unsigned n);

/*
 * Start v (v->entry set) in the sched_run the caller runs in: called from
 * one of that run's vCPUs (a toolstack's control vCPU starting a restored
 * domain's vCPUs, or a resumed one's).  That sched_run returns only once v's
 * entry has returned too.  In det mode v joins the coroutines with the next
 * index (as the schedule log names it) and runs at a later decision; in
 * threads mode it gets its own thread at once.  0; -XEN_EINVAL outside a
 * run or without an entry; -XEN_ENOSPC past SCHED_DET_MAX_VCPUS (det);
 * -XEN_ENOMEM.
 */
int sched_spawn(struct vcpu *v);
/* Det mode's half of sched_spawn (core/sched_det.c): -XEN_EINVAL when the
   calling thread runs no det run. */
int sched_spawn_det(struct vcpu *v);

#endif /* HVLAB_CORE_SCHED_H */
