/*
 * bench/lib/clock.h - the benchmarks' wall clock.
 *
 * CLOCK_MONOTONIC in nanoseconds, as a double (benchmarks divide by it).
 * Benchmarks that measure CPU time of one thread keep their own clock.
 */
#ifndef HVLAB_BENCH_LIB_CLOCK_H
#define HVLAB_BENCH_LIB_CLOCK_H

#include <time.h>

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#endif /* HVLAB_BENCH_LIB_CLOCK_H */
