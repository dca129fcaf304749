/*
 * fuzz/paircov.h - the det scheduler's point pairs (core/sched_det.c D9)
 * as coverage the fuzzer sees (fuzz/race.c RC10).
 */
#ifndef HVLAB_FUZZ_PAIRCOV_H
#define HVLAB_FUZZ_PAIRCOV_H

#include <stdint.h>

/* Run the code of slot i once per count of pairs[i] (at most
   FZ_PAIRCOV_MAX_COUNT times): every slot is a block of its own, so an
   edge-coverage build (afl-clang-fast, -fsanitize=fuzzer) counts it as an
   edge with that hit count.  pairs has SCHED_PAIR_SLOTS counters. */
#define FZ_PAIRCOV_MAX_COUNT 32
void fz_paircov_feed(const uint8_t *pairs);
/* Slots with a count: for tests. */
unsigned fz_paircov_slots(const uint8_t *pairs);

#endif /* HVLAB_FUZZ_PAIRCOV_H */
