/*
 * bench/bench-migrate-busy.c - live migration of a guest that keeps
 * dirtying memory, through a scenario's `migrate` line (the runner, the
 * control vCPU, the restore on a second machine, the resume), and the cost
 * of verify mode.
 *
 * The guest: 2 vCPUs, 64 MiB, memtouch with 4 processes rewriting 256
 * pages each (a 1024-page working set, 4 MiB, against Xen's target of 50
 * dirty pages: the policy runs out its 5 iterations).  Figures (the
 * median of RUNS runs in threads mode, each a whole `hvlab run`):
 *   migrate-busy-rounds        live iterations the policy ran
 *   migrate-busy-pages         pages sent with data, all rounds
 *   migrate-busy-resend        pages sent / guest pages (1.0: each once)
 *   migrate-busy-downtime      suspend asked .. END written, ms
 *   migrate-busy-save          the whole save, ms
 *   migrate-verify-overhead    save time with verify=on / verify=off
 *                              (the verify pass re-reads and re-sends every
 *                              page while the guest is stopped)
 *   migrate-verify-downtime    downtime with verify=on / verify=off
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/lib/median.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

#define RUNS    5

static const char *const scenario_text[2] = {
    "domain guest kind=pv vcpus=2 memory=64M\n"
    "workload guest memtouch procs=4 threads=1 iters=1500 pages=256\n"
    "migrate guest after=20000 verify=off\n"
    "seed 1\n"
    "expect migrated\n",
    "domain guest kind=pv vcpus=2 memory=64M\n"
    "workload guest memtouch procs=4 threads=1 iters=1500 pages=256\n"
    "migrate guest after=20000 verify=on\n"
    "seed 1\n"
    "expect migrated\n"
    "expect verify-clean\n",
};

struct sample {
    double rounds, pages, downtime_ms, save_ms;
};

/* One `hvlab run` of scenario_text[verify]; 0 when it held. */
static int one_run(int verify, struct sample *s, uint64_t *guest_pages)
{
    char err[512];
    struct scenario *sc = scenario_parse_text(verify ? "busy-verify.hvl"
                                                     : "busy.hvl",
                                              scenario_text[verify], err,
                                              sizeof(err));
    if (!sc) {
        fprintf(stderr, "bench-migrate-busy: %s\n", err);
        return -1;
    }
    static struct run_result r;
    memset(&r, 0, sizeof(r));
    FILE *devnull = fopen("/dev/null", "w");
    struct run_opts o = { .sched = SCHED_THREADS, .out = devnull,
                          .err = stderr, .result = &r };
    int rc = runner_run(sc, &o);
    fclose(devnull);
    scenario_free(sc);
    if (rc != RUN_HELD) {
        fprintf(stderr, "bench-migrate-busy: the run did not hold (%d): %s\n",
                rc, r.mig.err);
        return -1;
    }
    s->rounds = r.mig.save.live_rounds;
    s->pages = (double)r.mig.save.pages_sent;
    s->downtime_ms = (double)r.mig.save.downtime_ns / 1e6;
    s->save_ms = (double)r.mig.save.total_ns / 1e6;
    *guest_pages = r.dom[0].nr_pages;
    return 0;
}

int main(void)
{
    double rounds[RUNS], pages[RUNS], down[2][RUNS], save[2][RUNS];
    uint64_t guest_pages = 1;
    for (int verify = 0; verify < 2; verify++)
        for (unsigned i = 0; i < RUNS; i++) {
            struct sample s;
            if (one_run(verify, &s, &guest_pages) != 0)
                return 1;
            if (!verify) {
                rounds[i] = s.rounds;
                pages[i] = s.pages;
            }
            down[verify][i] = s.downtime_ms;
            save[verify][i] = s.save_ms;
        }
    double p = median(pages, RUNS);
    printf("figure migrate-busy-rounds: %.0f iterations   [Xen's policy: at "
           "most 5, or under 50 dirty]   [1024-page working set]\n",
           median(rounds, RUNS));
    printf("figure migrate-busy-pages: %.0f pages   [sent with data, all "
           "rounds]\n", p);
    printf("figure migrate-busy-resend: %.2f x   [pages sent / %" PRIu64
           " guest pages]\n", p / (double)guest_pages, guest_pages);
    double d0 = median(down[0], RUNS), d1 = median(down[1], RUNS);
    double s0 = median(save[0], RUNS), s1 = median(save[1], RUNS);
    printf("figure migrate-busy-downtime: %.3f ms   [suspend asked .. END]\n",
           d0);
    printf("figure migrate-busy-save: %.1f ms   [the whole save]\n", s0);
    printf("figure migrate-verify-overhead: %.2f x   [save with verify=on / "
           "off: %.1f / %.1f ms]\n", s1 / s0, s1, s0);
    printf("figure migrate-verify-downtime: %.2f x   [downtime with verify=on "
           "/ off: %.1f / %.3f ms]\n", d1 / d0, d1, d0);
    return 0;
}
