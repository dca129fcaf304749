/*
 * bench/bench-explore.c - explore throughput: det runs of
 * scenarios/pv-fork-storm-small.hvl per second on one core, each a whole
 * run (machine creation, domain build, workload, audit, teardown, audit,
 * expectations), back to back in one process as an explore worker makes
 * them (toolstack/explore.h explore_run_once).  Goal >= 1,000 runs/s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "toolstack/explore.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

#define SCENARIO "scenarios/pv-fork-storm-small.hvl"
#define SECONDS  2.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    char err[512], why[512];
    struct scenario *sc = scenario_parse_file(SCENARIO, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "bench-explore: %s\n", err);
        return 1;
    }
    unsigned runs = 0;
    double t0 = now(), t;
    do {
        int st = explore_run_once(sc, 1 + runs, why, sizeof(why));
        if (st != RUN_HELD) {
            fprintf(stderr, "bench-explore: seed %u did not hold: %s\n",
                    1 + runs, why);
            scenario_free(sc);
            return 1;
        }
        runs++;
        t = now() - t0;
    } while (t < SECONDS);
    printf("figure explore_runs_per_s: %.0f runs/s   goal >= 1000 runs/s   "
           "[%s, det, one core, %u runs in %.2f s, %.2f ms a run]\n",
           runs / t, SCENARIO, runs, t, t / runs * 1e3);
    scenario_free(sc);
    return 0;
}
