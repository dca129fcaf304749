/*
 * fuzz/race.h - the FUZZ_RACE surface (fuzz/race.c): a program of mm
 * calls split between dom1's two vCPUs, each vCPU a det-mode coroutine
 * (core/sched.h) issuing its calls in order, interleaved along a schedule
 * the input's first bytes choose.  fuzz_one(FUZZ_RACE, ...) calls
 * fz_race_run on the world exec.c keeps (reset and fork as for every
 * surface, fuzz/exec.c E1/E6); docs/fuzz.md "Races" has the byte format.
 *
 * Input:  L (1 byte)  schedule[min(L, what is left)]  program (mm format)
 *
 * FUZZ_HVMRACE runs the same engine (race.c RC8, RC9) on an HVM world:
 *
 * Input:  racer (1 byte)  L  schedule  program (hvmrace op list)
 */
#ifndef HVLAB_FUZZ_RACE_H
#define HVLAB_FUZZ_RACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz/fuzz.h"

struct fz_world;

/* The vCPUs that race: dom1's two (world index 1); FUZZ_HVMRACE's racer
   byte chooses dom1 or dom0 (RC8). */
#define FZ_RACE_ACTOR   1
#define FZ_RACE_VCPUS   2

/* The oracle's own findings (res->invariant), beside the audit's and the
   isolation checks' names. */
#define FZ_RACE_DEADLOCK    "deadlock"
#define FZ_RACE_SPURIOUS    "race: spurious fault reached the guest"

/* How the input splits (RC1): fz_race_split, with the byte format in
   fuzz/prog.h. */

/* Run one input on w (built from the FUZZ_RACE layout, at its snapshot):
   0, or 1 with the finding in *res (printed, then abort(), when abort_on). */
int fz_race_run(struct fz_world *w, const uint8_t *data, size_t len,
                struct fuzz_result *res, bool abort_on);

/* The schedule prefix and the program (with each call's vCPU) as text. */
void fz_race_print(enum fuzz_surface s, const uint8_t *data, size_t len,
                   FILE *f);

/* What the last fz_race_run in this process did (tests). */
struct fz_race_stats {
    uint64_t decisions;         /* scheduling decisions of the run */
    uint64_t switches;
    uint64_t schedule_hash;     /* sched_log_hash of what ran */
    unsigned calls[FZ_RACE_VCPUS];  /* calls given to each vCPU */
    uint64_t spurious;          /* RC5: faults judged spurious */
    bool deadlock;
};
const struct fz_race_stats *fz_race_last(void);
/* RC10: the last run's point-pair counts (SCHED_PAIR_SLOTS of them). */
const uint8_t *fz_race_pairs(void);

/* Tests only: the next n runs (that did not deadlock) end as a deadlocked
   run does - the finding FZ_RACE_DEADLOCK, the machine released and the
   world built anew (race.c RC7) - so that path runs without a real
   deadlock.  0 turns it off. */
void fz_race_force_deadlock(unsigned n);

#endif /* HVLAB_FUZZ_RACE_H */
