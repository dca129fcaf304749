/*
 * bench/bench-fork-storm.c - what tracing costs a whole workload.
 *
 * The flagship scenario (scenarios/pv-fork-storm.hvl, 4 vCPUs) timed three
 * ways in one run, rounds interleaved so machine noise hits all alike:
 *   compiled out   bench-fork-storm-notrace (same code, -DHVLAB_NO_TRACE)
 *   no session     this binary: tracepoints compiled in, nobody listening
 *                  (goal: <= 1.03x the compiled-out time)
 *   all events     a child of this binary recorded with every hvlab_* event
 *                  enabled through trace/record.c (the channel hvlab sets
 *                  up); prints the slowdown, events/s and discarded events
 *                  (goal: 0 discarded).
 * The time is the workload's (sched_run) wall time, median of the rounds.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/lib/median.h"
#include "bench/lib/fork_storm.h"
#include "trace/record.h"

#define ROUNDS        7
#define TRACED_ROUNDS 3
#define SEED          1

static char self[PATH_MAX], bindir[PATH_MAX];

/* Run argv, return the number after "seconds " on its stdout, or -1. */
static double run_for_seconds(char *const argv[], bool traced)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        if (traced)
            trc_child_environment();
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    char buf[256] = "";
    ssize_t n, got = 0;
    while ((n = read(fd[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got > 0 ? got : 0] = '\0';
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    const char *p = strstr(buf, "seconds ");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !p)
        return -1;
    return strtod(p + 8, NULL);
}

/* One round with every hvlab event recorded.  Returns seconds, fills
   *events and *discarded; -1 on failure (message on stderr). */
static double traced_round(uint64_t *events, uint64_t *discarded)
{
    char dir[] = "/tmp/hvlab-bench-trace-XXXXXX";
    char err[1024];
    if (!mkdtemp(dir))
        return -1;
    struct trc_session *s;
    if (trc_record_begin(dir, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-fork-storm: %s\n", err);
        rmdir(dir);
        return -2;
    }
    char seed[16];
    snprintf(seed, sizeof(seed), "%d", SEED);
    char *argv[] = { self, "--child", seed, NULL };
    double secs = run_for_seconds(argv, true);
    struct trc_stats st = { 0 };
    if (trc_record_end(s, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-fork-storm: %s\n", err);
        secs = -1;
    }
    *discarded = st.discarded_events;
    *events = 0;
    char cmd[PATH_MAX * 2 + 64];
    snprintf(cmd, sizeof(cmd), "'%s/../hvlab-trace-count' --get events --get discarded '%s'",
             bindir, dir);
    FILE *p = popen(cmd, "r");
    if (p) {
        char line[128];
        uint64_t v;
        while (fgets(line, sizeof(line), p)) {
            if (sscanf(line, "events %" SCNu64, &v) == 1)
                *events = v;
            else if (sscanf(line, "discarded %" SCNu64, &v) == 1)
                *discarded += v;
        }
        if (pclose(p) != 0)
            secs = -1;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-fork-storm: could not remove %s\n", dir);
    return secs;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--child")) {
        double s = fork_storm_once((unsigned)strtoul(argv[2], NULL, 0));
        if (s < 0)
            return 1;
        printf("seconds %.6f\n", s);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    snprintf(bindir, sizeof(bindir), "%s", self);
    dirname(bindir);
    char notrace[PATH_MAX + 32];
    snprintf(notrace, sizeof(notrace), "%s/bench-fork-storm-notrace", bindir);
    char seed[16];
    snprintf(seed, sizeof(seed), "%d", SEED);
    char *nargv[] = { notrace, seed, NULL };

    double in[ROUNDS], out[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        in[i] = fork_storm_once(SEED);
        out[i] = run_for_seconds(nargv, false);
        if (in[i] < 0 || out[i] < 0) {
            fprintf(stderr, "bench-fork-storm: a round failed\n");
            return 1;
        }
    }
    double t_in = median(in, ROUNDS), t_out = median(out, ROUNDS);
    printf("figure fork_storm_compiled_out: %.1f ms   [median of %d]\n",
           t_out * 1e3, ROUNDS);
    printf("figure fork_storm_no_session: %.1f ms   [median of %d]\n",
           t_in * 1e3, ROUNDS);
    printf("figure fork_storm_no_session_vs_compiled_out: %.3f x   goal <= 1.03x   "
           "[tracepoints compiled in, no session]\n", t_in / t_out);

    double tr[TRACED_ROUNDS];
    uint64_t events = 0, discarded = 0;
    for (int i = 0; i < TRACED_ROUNDS; i++) {
        uint64_t ev, disc;
        tr[i] = traced_round(&ev, &disc);
        if (tr[i] == -2) {
            printf("skip - fork_storm_all_events: no tracing session could be created\n");
            return 0;
        }
        if (tr[i] < 0) {
            fprintf(stderr, "bench-fork-storm: a traced round failed\n");
            return 1;
        }
        events = ev;            /* the same seed: the same workload */
        discarded += disc;
    }
    double t_tr = median(tr, TRACED_ROUNDS);
    printf("figure fork_storm_all_events: %.1f ms   [median of %d, %" PRIu64 " events a run]\n",
           t_tr * 1e3, TRACED_ROUNDS, events);
    printf("figure fork_storm_all_events_slowdown: %.2f x   [vs no session]\n", t_tr / t_in);
    printf("figure fork_storm_events_per_s: %.2f M/s   [events recorded / traced workload time]\n",
           (double)events / t_tr / 1e6);
    printf("figure fork_storm_discarded_events: %" PRIu64 " events   goal 0   "
           "[over %d traced runs, 8 x 4 MiB per-PID channel]\n", discarded, TRACED_ROUNDS);
    return 0;
}
