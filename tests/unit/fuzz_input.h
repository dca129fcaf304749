/*
 * tests/unit/fuzz_input.h - building fuzzer inputs byte by byte, for the
 * tests that write programs by hand (test-fuzz-race.c,
 * test-fuzz-hvmrace.c).  The byte format is fuzz/prog.h's and
 * fuzz/pool.c's.
 */
#ifndef HVLAB_TESTS_FUZZ_INPUT_H
#define HVLAB_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct in {
    size_t n;
    uint8_t b[1024];
};

static __attribute__((unused)) void put8(struct in *in, uint8_t x)
{
    if (in->n < sizeof(in->b))
        in->b[in->n++] = x;
}

static __attribute__((unused)) void put64(struct in *in, uint64_t x)
{
    for (unsigned i = 0; i < 8; i++)
        put8(in, (uint8_t)(x >> (8 * i)));
}

/* The n bytes of c, in order. */
static __attribute__((unused)) void put_bytes(struct in *in, const uint8_t *c,
                                              size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(in, c[i]);
}

#endif /* HVLAB_TESTS_FUZZ_INPUT_H */
