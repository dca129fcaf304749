/*
 * fuzz/race_input.h - how a race surface's input splits into its racer,
 * its schedule and its program (fuzz/race.h RC1, RC2, RC8).  Apart from
 * fuzz/prog.h so that what only moves bytes around (the race mutator,
 * fuzz/main/mutator.c, loaded into afl-fuzz) reads the format from the
 * same code as the harness, without the hypervisor.
 *
 *   FUZZ_RACE     L  schedule[min(L, what is left)]  program (mm format)
 *   FUZZ_HVMRACE  racer  L  schedule  program (hvmrace op list)
 *
 * Decision i runs vCPU schedule[i] % 2; past the schedule the det
 * scheduler's random strategy decides, seeded with the FNV-1a hash of the
 * whole input.  The racer byte: even, dom1's two vCPUs; odd, dom0's.
 */
#ifndef HVLAB_FUZZ_RACE_INPUT_H
#define HVLAB_FUZZ_RACE_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

struct fz_race_input {
    unsigned racer;             /* world index of the racing domain */
    const uint8_t *sched;
    size_t nsched;
    const uint8_t *prog;
    size_t nprog;
    uint64_t seed;              /* RC2: of the whole input */
};

/* Bytes before the schedule's length byte: 1 for FUZZ_HVMRACE (the
   racer), else 0. */
size_t fz_race_header_len(enum fuzz_surface s);
void fz_race_split(const uint8_t *data, size_t len, struct fz_race_input *in);
void fz_race_split_for(enum fuzz_surface s, const uint8_t *data, size_t len,
                       struct fz_race_input *in);

#endif /* HVLAB_FUZZ_RACE_INPUT_H */
