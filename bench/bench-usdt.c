/*
 * bench/bench-usdt.c - what the USDT probes of trace/usdt.h cost.
 *
 *   usdt_unattached_ns       one unattached probe site (HV_USDT with the
 *                            hcall_exit probe's six arguments) against the
 *                            same loop without it, in the same run, rounds
 *                            interleaved; the fastest round of each (the
 *                            one least disturbed by other processes), per
 *                            iteration.  Goal <= 1 ns.
 *   top_fork_storm_slowdown  the flagship fork storm (`hvlab run
 *                            scenarios/pv-fork-storm.hvl`, its "ran" time)
 *                            with `hvlab top` attached (every default probe)
 *                            divided by the same run without, rounds
 *                            interleaved, medians.  Goal <= 1.5x.  A skip
 *                            line when `hvlab top --check` says BPF cannot
 *                            be used here.
 * The attached runs are started stopped: the target is stopped (SIGSTOP)
 * as soon as it is hvlab, continued once top says it attached, so the
 * whole workload runs with the probes attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/lib/median.h"
#include "bench/lib/clock.h"
#include "trace/usdt.h"

#define LOOP_N        (50 * 1000 * 1000)
#define LOOP_ROUNDS   11
#define STORM_ROUNDS  5
#define SCENARIO      "scenarios/pv-fork-storm.hvl"

static char hvlab[PATH_MAX + 32];

/* ---- usdt_unattached_ns ----------------------------------------------------- */

static volatile uint64_t sink;

__attribute__((noinline)) static double loop_empty(uint64_t n)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        sink = i;
        __asm__ volatile("" ::: "memory");
    }
    return now_ns() - t0;
}

__attribute__((noinline)) static double loop_probe(uint64_t n)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        sink = i;
        HV_USDT(hcall_exit, 0, 1, 2, i & 63, -(int64_t)(i & 1), i * 3);
        __asm__ volatile("" ::: "memory");
    }
    return now_ns() - t0;
}

/* ---- top_fork_storm_slowdown -------------------------------------------------- */

/* The seconds of an `hvlab run` report's "ran S s" line, or -1. */
static double ran_seconds(FILE *f)
{
    char line[512];
    double s = -1;
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "  ran ");
        if (p == line)
            s = strtod(p + 6, NULL);
    }
    return s;
}

/* One run of the scenario; with top, `hvlab top` attached before it
   starts.  Its "ran" seconds, or -1 (why on stderr). */
static double storm_round(int with_top)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    pid_t t = fork();
    if (t == 0) {
        close(out[0]);
        dup2(out[1], 1);
        execl(hvlab, hvlab, "run", SCENARIO, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    pid_t top = -1;
    if (with_top) {
        /* Stop the target once it is hvlab (exec done). */
        char exe[64], link[PATH_MAX], want[PATH_MAX];
        snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)t);
        if (!realpath(hvlab, want))
            return -1;
        for (int i = 0; i < 5000; i++) {
            ssize_t n = readlink(exe, link, sizeof(link) - 1);
            if (n > 0) {
                link[n] = '\0';
                if (strcmp(link, want) == 0)
                    break;
            }
            usleep(1000);
        }
        kill(t, SIGSTOP);
        int err[2];
        if (pipe(err) != 0)
            return -1;
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int)t);
        top = fork();
        if (top == 0) {
            close(err[0]);
            dup2(err[1], 2);
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0)
                dup2(null, 1);
            execl(hvlab, hvlab, "top", "--pid", pid, "--json", "--interval",
                  "3600", (char *)NULL);
            _exit(127);
        }
        close(err[1]);
        FILE *e = fdopen(err[0], "r");
        char line[256];
        int attached = 0;
        while (e && fgets(line, sizeof(line), e))
            if (strstr(line, "attached")) {
                attached = 1;
                break;
            }
        if (e)
            fclose(e);
        kill(t, SIGCONT);
        if (!attached) {
            fprintf(stderr, "bench-usdt: hvlab top did not attach\n");
            kill(t, SIGKILL);
        }
    }
    FILE *f = fdopen(out[0], "r");
    double s = f ? ran_seconds(f) : -1;
    if (f)
        fclose(f);
    int st;
    waitpid(t, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        s = -1;
    if (top > 0) {
        waitpid(top, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench-usdt: hvlab top exited with %d\n",
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            s = -1;
        }
    }
    return s;
}

/* "" when `hvlab top --check` passes, else its reason. */
static const char *top_check(char *why, size_t n)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "'%s' top --check 2>&1 >/dev/null", hvlab);
    FILE *p = popen(cmd, "r");
    why[0] = '\0';
    if (!p)
        return "cannot run hvlab top --check";
    if (!fgets(why, (int)n, p))
        why[0] = '\0';
    int rc = pclose(p);
    why[strcspn(why, "\n")] = '\0';
    if (rc == 0)
        return "";
    if (!why[0])
        snprintf(why, n, "hvlab top --check failed");
    const char *w = strncmp(why, "hvlab top: ", 11) == 0 ? why + 11 : why;
    return w;
}

int main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    snprintf(hvlab, sizeof(hvlab), "%s/../hvlab", dirname(self));

    double empty[LOOP_ROUNDS], probe[LOOP_ROUNDS];
    for (int r = 0; r < LOOP_ROUNDS; r++) {
        empty[r] = loop_empty(LOOP_N);
        probe[r] = loop_probe(LOOP_N);
    }
    double te = empty[0], tp = probe[0];
    for (int r = 1; r < LOOP_ROUNDS; r++) {
        te = empty[r] < te ? empty[r] : te;
        tp = probe[r] < tp ? probe[r] : tp;
    }
    printf("figure usdt_unattached_ns: %.2f ns   goal <= 1 ns   [per site: "
           "%.2f ns with it, %.2f ns the same loop without; fastest of %d x %d]\n",
           (tp - te) / LOOP_N, tp / LOOP_N, te / LOOP_N, LOOP_ROUNDS, LOOP_N);

    char why[256];
    const char *no = top_check(why, sizeof(why));
    if (*no) {
        printf("skip - top_fork_storm_slowdown: top: %s\n", no);
        return 0;
    }
    double base[STORM_ROUNDS], top[STORM_ROUNDS];
    for (int r = 0; r < STORM_ROUNDS; r++) {
        base[r] = storm_round(0);
        top[r] = storm_round(1);
        if (base[r] < 0 || top[r] < 0) {
            fprintf(stderr, "bench-usdt: a fork-storm round failed\n");
            return 1;
        }
    }
    double tb = median(base, STORM_ROUNDS), tt = median(top, STORM_ROUNDS);
    printf("figure top_fork_storm_slowdown: %.2f x   goal <= 1.5x   [%s: "
           "%.3f s with hvlab top attached, %.3f s without; median of %d]\n",
           tt / tb, SCENARIO, tt, tb, STORM_ROUNDS);
    return 0;
}
