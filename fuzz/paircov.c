/*
 * fuzz/paircov.c - point pairs as edges (fuzz/paircov.h).
 *
 * Rules:
 *   PC1  One case of one switch per slot, each an inline asm statement
 *        with the slot's number as an immediate: no two cases are the
 *        same code, so the compiler can neither merge them nor turn the
 *        switch into a table lookup, and the coverage instrumentation
 *        gives each its own edge.  This file must be built with coverage
 *        (it is not in fuzz/nocov).
 *   PC2  A slot with count c runs min(c, FZ_PAIRCOV_MAX_COUNT) times, so
 *        AFL++'s hit-count buckets (1, 2, 3, 4-7, 8-15, 16-31, 32+) tell
 *        "once" from "often"; a count is at most 255 (D9), the loop short.
 */
#include "core/sched.h"
#include "fuzz/paircov.h"

_Static_assert(SCHED_PAIR_SLOTS == 1024, "PC1 spells out 1024 cases");

#define PC_1(n)     case (n): __asm__ __volatile__("" : : "i"(n)); break;
#define PC_4(n)     PC_1(n) PC_1((n) + 1) PC_1((n) + 2) PC_1((n) + 3)
#define PC_16(n)    PC_4(n) PC_4((n) + 4) PC_4((n) + 8) PC_4((n) + 12)
#define PC_64(n)    PC_16(n) PC_16((n) + 16) PC_16((n) + 32) PC_16((n) + 48)
#define PC_256(n)   PC_64(n) PC_64((n) + 64) PC_64((n) + 128) PC_64((n) + 192)
#define PC_1024(n)  PC_256(n) PC_256((n) + 256) PC_256((n) + 512) \
                    PC_256((n) + 768)

static __attribute__((noinline)) void slot(unsigned i)
{
    switch (i) {                                        /* PC1 */
    PC_1024(0)
    default:
        break;
    }
}

void fz_paircov_feed(const uint8_t *pairs)
{
    for (unsigned i = 0; i < SCHED_PAIR_SLOTS; i++)
        for (unsigned k = 0; k < pairs[i] && k < FZ_PAIRCOV_MAX_COUNT; k++)
            slot(i);                                    /* PC2 */
}

unsigned fz_paircov_slots(const uint8_t *pairs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < SCHED_PAIR_SLOTS; i++)
        n += pairs[i] != 0;
    return n;
}
