/*
 * bench/lib/fork_storm.h - one timed run of the flagship fork-storm scenario.
 *
 * Shared by bench-fork-storm (tracepoints compiled in) and
 * bench-fork-storm-notrace (compiled out): the same scenario, the same
 * seed, the same code path; only the library they link differs.
 */
#ifndef HVLAB_BENCH_LIB_FORK_STORM_H
#define HVLAB_BENCH_LIB_FORK_STORM_H

#define FORK_STORM_SCENARIO "scenarios/pv-fork-storm.hvl"

/* Run the scenario once; the workload's wall time (sched_run) in seconds,
   or a negative value after printing why to stderr. */
double fork_storm_once(unsigned seed);

#endif /* HVLAB_BENCH_LIB_FORK_STORM_H */
