/*
 * bench/lib/fork_storm.c - one timed run of scenarios/pv-fork-storm.hvl.
 *
 * The scenario's report goes to /dev/null; a run whose expectations did not
 * hold is reported as a failure (a figure of a broken run is no figure).
 */
#include <stdio.h>

#include "bench/lib/fork_storm.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

double fork_storm_once(unsigned seed)
{
    char err[512];
    struct scenario *sc = scenario_parse_file(FORK_STORM_SCENARIO, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "fork-storm: %s\n", err);
        return -1;
    }
    FILE *devnull = fopen("/dev/null", "w");
    struct run_result r;
    struct run_opts o = {
        .seed = seed, .seed_given = true, .sched = SCHED_THREADS,
        .out = devnull ? devnull : stdout, .err = stderr, .result = &r,
    };
    int st = runner_run(sc, &o);
    if (devnull)
        fclose(devnull);
    scenario_free(sc);
    if (st != RUN_HELD) {
        fprintf(stderr, "fork-storm: the scenario did not hold (status %d)\n", st);
        return -1;
    }
    return r.seconds;
}
