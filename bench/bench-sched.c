/*
 * bench/bench-sched.c - det mode's costs.
 *
 * Figures (each the median over ROUNDS rounds):
 *   det coroutine switch      one coro_switch between two coroutines that
 *                             ping-pong (a round trip is two switches)
 *   plain call baseline       one call of a noinline function, the same loop
 *   det decision + switch     one scheduling point of a det run whose 4 vCPUs
 *                             do nothing but reach sched_point(): the hook,
 *                             the random pick, the log append, the switch
 *                             (3 in 4 decisions switch)
 *   det fork-storm runs/s     whole `hvlab run`s of a small fork storm in det
 *                             mode (machine, domain build, run, audit,
 *                             teardown), one after the other on one core
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/lib/median.h"
#include "core/coro.h"
#include "core/lock.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

#define ROUNDS      5
#define SWITCHES    4000000ULL
#define POINTS      500000ULL
#define NV          4
#define RUNS        30

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- coroutine ping-pong ---------------------------------------------------- */

static struct coro co_main, co_peer;

static void peer(void *arg)
{
    (void)arg;
    for (;;)
        coro_switch(&co_peer, &co_main);
}

static double switch_ns(void)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < SWITCHES / 2; i++)
        coro_switch(&co_main, &co_peer);
    return (now_ns() - t0) / (double)SWITCHES;
}

static unsigned sink;
static void __attribute__((noinline)) plain(unsigned x)
{
    __asm__ __volatile__("" ::: "memory");
    sink += x;
}

static double call_ns(void)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < SWITCHES; i++)
        plain((unsigned)i);
    return (now_ns() - t0) / (double)SWITCHES;
}

/* ---- det decisions ----------------------------------------------------------- */

static void points(struct vcpu *v, void *arg)
{
    (void)v;
    (void)arg;
    for (uint64_t i = 0; i < POINTS / NV; i++)
        sched_point(SP_MEM);
}

static double decision_ns(double *switch_share)
{
    struct vcpu *v[NV];
    struct sched_report rep;
    for (unsigned i = 0; i < NV; i++) {
        v[i] = vcpu_alloc(NULL, i);
        if (!v[i])
            exit(1);
        v[i]->entry = points;
    }
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 1, .report = &rep };
    double t0 = now_ns();
    if (sched_run(&cfg, v, NV) != 0)
        exit(1);
    double ns = (now_ns() - t0) / (double)rep.decisions;
    *switch_share = (double)rep.switches / (double)rep.decisions;
    for (unsigned i = 0; i < NV; i++)
        vcpu_free(v[i]);
    return ns;
}

/* ---- whole runs ------------------------------------------------------------------ */

static const char small_storm[] =
    "# bench-sched: pv-fork-storm at a small size\n"
    "machine ram=64M\n"
    "domain storm kind=pv vcpus=4 memory=16M\n"
    "workload storm fork-storm procs=2 threads=2 iters=2 pages=8\n"
    "set ptwr.mode=emulate\n"
    "seed 1\n"
    "expect audit-clean\n"
    "expect workload-ok\n"
    "expect no-spurious-fault\n";

static double runs_per_s(const char *path, uint64_t *decisions)
{
    char err[512];
    struct scenario *sc = scenario_parse_file(path, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "bench-sched: %s\n", err);
        exit(1);
    }
    FILE *devnull = fopen("/dev/null", "w");
    struct run_result r;
    double t0 = now_ns();
    for (unsigned i = 0; i < RUNS; i++) {
        struct run_opts o = {
            .seed = i + 1, .seed_given = true, .sched = SCHED_DET,
            .out = devnull, .err = stderr, .result = &r,
        };
        if (runner_run(sc, &o) != RUN_HELD) {
            fprintf(stderr, "bench-sched: the small fork storm did not hold "
                    "(seed %u)\n", i + 1);
            exit(1);
        }
    }
    double s = (now_ns() - t0) / 1e9;
    *decisions = r.sched_det.decisions;
    fclose(devnull);
    scenario_free(sc);
    return RUNS / s;
}

int main(void)
{
    double sw[ROUNDS], call[ROUNDS], dec[ROUNDS], rps[ROUNDS], share = 0;
    uint64_t decisions = 0;

    if (coro_init(&co_peer, 0, peer, NULL) != 0) {
        perror("bench-sched: coro_init");
        return 1;
    }
    char path[] = "/tmp/bench-sched-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, small_storm, sizeof(small_storm) - 1) !=
                  (ssize_t)(sizeof(small_storm) - 1)) {
        perror("bench-sched: scenario file");
        return 1;
    }
    close(fd);
    for (unsigned r = 0; r < ROUNDS; r++) {
        sw[r] = switch_ns();
        call[r] = call_ns();
        dec[r] = decision_ns(&share);
        rps[r] = runs_per_s(path, &decisions);
    }
    unlink(path);
    double s = median(sw, ROUNDS), c = median(call, ROUNDS);
    printf("figure det coroutine switch: %.1f ns   goal no system call (glibc "
           "swapcontext ~1000 ns here)   [Boost.Context fcontext, median of %d x "
           "%llu]\n", s, ROUNDS, SWITCHES);
    printf("figure plain call baseline: %.2f ns   [noinline call, same run]\n", c);
    printf("figure det switch vs call: %.1f x\n", s / c);
    printf("figure det decision + switch: %.1f ns   [4 vCPUs at SP_MEM points, "
           "random; %.0f%% of decisions switch]\n", median(dec, ROUNDS),
           share * 100);
    printf("figure det fork-storm 16M/4-vCPU runs/s: %.0f runs/s   goal -   "
           "[procs=2 threads=2 iters=2 pages=8, 4 vCPUs, %llu decisions a run, "
           "whole runs incl. machine and audit; the >= 1000 runs/s goal is "
           "bench-explore's, at the shipped small size]\n", median(rps, ROUNDS),
           (unsigned long long)decisions);
    coro_destroy(&co_peer);
    return 0;
}
