/*
 * fuzz/main/mutator.c - the race surfaces' AFL++ custom mutator: new
 * interleavings for a queue entry's program.  Built as a shared object per
 * race surface, $(FZ)/mutator-race.so and $(FZ)/mutator-hvmrace.so
 * (-DFUZZ_SURFACE), and loaded by afl-fuzz through
 * AFL_CUSTOM_MUTATOR_LIBRARY (docs/fuzz.md "Races"); AFL++'s own
 * mutations run as well.
 *
 * AFL++ mutates bytes without knowing which are the schedule: on the race
 * surfaces nearly every havoc mutation of an input changes its program
 * (one random byte of story A's workload keeps the program once in about
 * 600 mutations), so a program that reached new code is seldom run again
 * under another interleaving, though a race needs the right program and
 * the right interleaving both.  This mutator keeps the program and
 * changes only the interleaving.
 *
 * Rules:
 *   M1  The program bytes and the racer's parity (FUZZ_HVMRACE: which
 *       domain races) are never changed: the output is the input's header
 *       (its racer byte, upper bits possibly changed), a new length byte L
 *       and schedule, and the input's program bytes as they were.  The
 *       split is fuzz/race_input.c's, the harness's own.
 *   M2  Each output is one of three kinds, chosen at random (reseed half
 *       the time, each other a quarter):
 *         few switches  a schedule of MUT_SCHED_MAX decisions at most,
 *                       made of one to four runs of one vCPU each (a
 *                       preemption-bounded interleaving: most races need
 *                       a vCPU preempted at one or two points, as story
 *                       A's is: 18 decisions of v1, 4 of v0, 12 of v1);
 *         edit          the entry's own schedule with one run boundary
 *                       moved, one run lengthened or shortened, or one
 *                       decision flipped (a schedule near one that
 *                       reached new code);
 *         reseed        a new seed for the det scheduler's random
 *                       strategy (the seed is the hash of the whole
 *                       input): a schedule of one or two random bytes
 *                       (a decision is a byte's low bit; the other bits
 *                       only change the seed) and, FUZZ_HVMRACE, the
 *                       racer byte's upper bits: 2^8 to 2^23 seeds per
 *                       program.  The racer bits alone gave 128, and on
 *                       story A's program 3 of those 128 hold the race
 *                       (docs/fuzz.md "The race mutator").
 *   M3  Outputs never exceed max_size: the schedule is cut first, and an
 *       input whose program alone does not fit, or that has no program,
 *       gives no output (length 0: AFL++ skips it).
 *   M4  afl_custom_fuzz_count gives MUT_PER_ENTRY interleavings per queue
 *       entry with a program, none without.
 *   M5  Deterministic for a given afl_custom_init seed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/race_input.h"

#ifndef FUZZ_SURFACE
#define FUZZ_SURFACE FUZZ_HVMRACE
#endif

#define MUT_SCHED_MAX   64      /* decisions a made schedule spans */
#define MUT_RUNS_MAX    4
#define MUT_PER_ENTRY   512u
#define MUT_OUT_MAX     (1u << 20)

struct race_mutator {
    uint64_t x;                 /* xorshift64 state (M5) */
    uint8_t *out;
    size_t cap;
};

static uint64_t next(struct race_mutator *m)
{
    m->x ^= m->x << 13;
    m->x ^= m->x >> 7;
    m->x ^= m->x << 17;
    return m->x;
}

static unsigned below(struct race_mutator *m, unsigned n)
{
    return n ? (unsigned)(next(m) % n) : 0;
}

/* M2 few switches: runs of alternating vCPUs, total at most `room`. */
static size_t few_switches(struct race_mutator *m, uint8_t *s, size_t room)
{
    size_t total = 2 + below(m, MUT_SCHED_MAX - 1);
    if (total > room)
        total = room;
    unsigned runs = 1 + below(m, MUT_RUNS_MAX);
    unsigned v = below(m, 2);
    size_t n = 0;
    for (unsigned r = 0; r < runs && n < total; r++, v ^= 1) {
        size_t left = total - n;
        size_t len = r + 1 == runs ? left : 1 + below(m, (unsigned)left);
        memset(s + n, (int)v, len);
        n += len;
    }
    return n;
}

/* M2 edit: the entry's schedule (as 0/1 decisions) with one change. */
static size_t edit(struct race_mutator *m, const uint8_t *old, size_t nold,
                   uint8_t *s, size_t room)
{
    size_t n = nold < room ? nold : room;
    for (size_t i = 0; i < n; i++)
        s[i] = old[i] % 2;
    if (n == 0)
        return few_switches(m, s, room);
    size_t at = below(m, (unsigned)n);
    switch (below(m, 3)) {
    case 0: {                   /* move the boundary after `at`'s run */
        size_t e = at;
        while (e + 1 < n && s[e + 1] == s[at])
            e++;
        unsigned by = 1 + below(m, 4);
        if (below(m, 2)) {      /* the run grows into the next one */
            for (size_t i = e + 1; i < n && i <= e + by; i++)
                s[i] = s[at];
        } else {                /* the run gives its end to the next */
            for (size_t i = e; i > at && e - i < by; i--)
                s[i] = (uint8_t)(s[at] ^ 1);
        }
        break;
    }
    case 1: {                   /* one run longer or shorter */
        size_t by = 1 + below(m, 4);
        if (below(m, 2) && n + by <= room) {
            memmove(s + at + by, s + at, n - at);
            memset(s + at, s[at], by);
            n += by;
        } else {
            if (by > n - at)
                by = n - at;
            memmove(s + at, s + at + by, n - at - by);
            n -= by;
        }
        break;
    }
    default:                    /* one decision flipped */
        s[at] ^= 1;
        break;
    }
    return n;
}

/* M1-M3: one new interleaving of buf's program into m->out. */
static size_t mutate(struct race_mutator *m, const uint8_t *buf, size_t len,
                     size_t max_size)
{
    const enum fuzz_surface surface = FUZZ_SURFACE;
    const size_t hdr = fz_race_header_len(surface);
    struct fz_race_input in;
    fz_race_split_for(surface, buf, len, &in);
    if (!in.prog || !in.nprog || len < hdr + 1)
        return 0;                                       /* M3 */
    if (max_size > MUT_OUT_MAX)
        max_size = MUT_OUT_MAX;
    if (hdr + 1 + in.nprog > max_size)
        return 0;
    size_t room = max_size - hdr - 1 - in.nprog;
    if (room > 255)
        room = 255;                                     /* L is one byte */
    if (m->cap < hdr + 1 + 255 + in.nprog) {
        size_t cap = hdr + 1 + 255 + in.nprog;
        uint8_t *p = realloc(m->out, cap);
        if (!p)
            return 0;
        m->out = p;
        m->cap = cap;
    }
    uint8_t *o = m->out;
    memcpy(o, buf, hdr);                                /* M1 */
    uint8_t *s = o + hdr + 1;
    size_t n;
    switch (below(m, 4)) {                              /* M2 */
    case 0:
        n = few_switches(m, s, room);
        break;
    case 1:
        n = edit(m, in.sched, in.nsched, s, room);
        break;
    default:                                            /* reseed */
        if (hdr)                /* the racer's upper bits */
            o[0] = (uint8_t)((next(m) & 0xfe) | (buf[0] & 1));
        n = 1 + below(m, 2);    /* one or two decisions, whole bytes */
        if (n > room)
            n = room;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint8_t)next(m);
        break;
    }
    o[hdr] = (uint8_t)n;
    memcpy(s + n, in.prog, in.nprog);                   /* M1 */
    return hdr + 1 + n + in.nprog;
}

/* --- the AFL++ custom mutator API (AFL++ 4.x) ------------------------------ */

void *afl_custom_init(void *afl, unsigned int seed);
unsigned int afl_custom_fuzz_count(void *data, const unsigned char *buf,
                                   size_t buf_size);
size_t afl_custom_fuzz(void *data, unsigned char *buf, size_t buf_size,
                       unsigned char **out_buf, unsigned char *add_buf,
                       size_t add_buf_size, size_t max_size);
void afl_custom_deinit(void *data);

void *afl_custom_init(void *afl, unsigned int seed)
{
    (void)afl;
    struct race_mutator *m = calloc(1, sizeof(*m));
    if (m)
        m->x = 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 1 | 1);
    return m;
}

unsigned int afl_custom_fuzz_count(void *data, const unsigned char *buf,
                                   size_t buf_size)
{
    (void)data;
    struct fz_race_input in;
    fz_race_split_for(FUZZ_SURFACE, buf, buf_size, &in);
    return in.prog && in.nprog ? MUT_PER_ENTRY : 0;     /* M4 */
}

size_t afl_custom_fuzz(void *data, unsigned char *buf, size_t buf_size,
                       unsigned char **out_buf, unsigned char *add_buf,
                       size_t add_buf_size, size_t max_size)
{
    (void)add_buf;
    (void)add_buf_size;
    struct race_mutator *m = data;
    size_t n = mutate(m, buf, buf_size, max_size);
    *out_buf = n ? m->out : buf;
    return n;
}

void afl_custom_deinit(void *data)
{
    struct race_mutator *m = data;
    if (m)
        free(m->out);
    free(m);
}
