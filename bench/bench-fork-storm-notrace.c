/*
 * bench/bench-fork-storm-notrace.c - the fork-storm run with every
 * tracepoint compiled out: the baseline bench-fork-storm compares against.
 * Usage: bench-fork-storm-notrace [SEED]; prints "seconds S".
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/lib/fork_storm.h"

int main(int argc, char **argv)
{
    unsigned seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 1;
    double s = fork_storm_once(seed);
    if (s < 0)
        return 1;
    printf("seconds %.6f\n", s);
    return 0;
}
