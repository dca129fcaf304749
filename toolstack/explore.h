/*
 * toolstack/explore.h - search seeds and error paths of a scenario in det
 * mode (docs/explore.md).
 *
 * Two searches over one parsed scenario (its --set and --inject already
 * applied):
 *
 *   seeds     run seeds first .. first+runs-1 with --sched det; a seed is
 *             a finding when the run broke an expectation (or crashed, or
 *             could not run).
 *   fail-nth  at one seed, fail the 1st, 2nd, ... hit of every point the
 *             catalog lets fail (inject/inject.h), one run each; a run is a
 *             finding when it leaked (audit violations live or after
 *             teardown, frames not back in the heap, a domain that would
 *             not die), deadlocked or crashed.  Expectations that a failed
 *             hypercall breaks by design (workload-ok) are counted, not
 *             reported.  A point's sweep stops at the first n whose nth
 *             hit no longer happens.
 *
 * Rules:
 *   X1  The runs happen in worker processes (fork), never in the caller:
 *       a crash or a deadlock (which leaves the machine as it stood,
 *       runner.h N4) costs its worker, never the search.  A worker that
 *       died is replaced and the seed it was running is reported with the
 *       signal.  fail-nth gives every run a fresh process.
 *   X2  Runs in one worker do not leak into each other: each creates and
 *       destroys its own machine, the injector resets per run (inject.h
 *       I2), the det scheduler keeps its state in the run.  The report of
 *       a seed names its schedule hash: `hvlab run` of the replay line
 *       prints the same one.
 *   X3  Results are reported in seed (task) order whatever --jobs.
 */
#ifndef HVLAB_TOOLSTACK_EXPLORE_H
#define HVLAB_TOOLSTACK_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "toolstack/scenario.h"

struct explore_opts {
    uint64_t first_seed;
    unsigned runs;                  /* seeds mode: how many */
    unsigned jobs;                  /* worker processes (>= 1) */
    unsigned max_nth;               /* fail-nth: per point (0: no bound) */
    unsigned max_findings;          /* seeds: stop past the K-th broken
                                       seed found (0: run them all) */
    const char *replay_prefix;      /* "hvlab run S --sched det" */
    const char *replay_suffix;      /* " --set k=v --inject X" (may be "") */
    bool verbose;                   /* one line per run, held ones too */
    FILE *out;                      /* the report */
    FILE *err;                      /* errors */
};

/* What came of one search. */
struct explore_summary {
    unsigned runs;                  /* runs made */
    unsigned findings;              /* seeds / runs reported */
    unsigned crashed;               /* of those, died of a signal */
    unsigned errors;                /* could not run (RUN_ERROR) */
    unsigned expected_breaks;       /* fail-nth: expectations broken by
                                       the injected error, no leak */
    double seconds;                 /* wall time */
};

/* Seeds mode.  0 none broke, 1 some did, 2 setup failure (on o->err). */
int explore_seeds(const struct scenario *sc, const struct explore_opts *o,
                  struct explore_summary *sum);

/* fail-nth mode at seed o->first_seed.  Same exit codes. */
int explore_fail_nth(const struct scenario *sc, const struct explore_opts *o,
                     struct explore_summary *sum);

/*
 * One det run in this process, judged like a seeds-mode run: RUN_HELD,
 * RUN_BROKEN or RUN_ERROR; why[] gets the broken expectations (one
 * clause each) or the error.  For benchmarks and tests.
 */
int explore_run_once(const struct scenario *sc, uint64_t seed, char *why,
                     size_t whylen);

#endif /* HVLAB_TOOLSTACK_EXPLORE_H */
