/*
 * bench/lib/median.h - the median of a benchmark's repeated measurements
 * (sorts v in place; the mean of the middle two for an even count).
 */
#ifndef HVLAB_BENCH_LIB_MEDIAN_H
#define HVLAB_BENCH_LIB_MEDIAN_H

#include <stdlib.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *v, unsigned n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* HVLAB_BENCH_LIB_MEDIAN_H */
