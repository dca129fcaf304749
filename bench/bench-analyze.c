/*
 * bench/bench-analyze.c - how fast `hvlab analyze` reads a trace, against
 * babeltrace2 reading the same trace into a sink that does nothing.
 *
 * Figures (each the best of RUNS runs, all in this one process's run, on
 * one trace):
 *   analyze_events_per_s   hvlab events analysed per CPU second by
 *                          `hvlab analyze` with every checker (its own CTF
 *                          reader, analysis/ctf_native.h)
 *   analyze_bt2_events_per_s  the same with --reader babeltrace2
 *   analyze_vs_dummy       CPU time of `babeltrace2 TRACE -c
 *                          sink.utils.dummy` (every event decoded, nothing
 *                          done) / CPU time of `hvlab analyze`: 1.0 means
 *                          the analysis costs nothing beyond decoding
 *   analyze_vs_counter     the same against `sink.utils.counter -p step=+0`,
 *                          the decode-only baseline of TOOLCHAIN.md
 *   dummy_events_per_s     what babeltrace2 alone reaches, for scale
 *   engine_events_per_s    the engine alone (every checker) fed the same
 *                          events decoded beforehand into memory: what the
 *                          analysis costs beyond reading the trace, so the
 *                          ceiling a reader faster than babeltrace2's
 *                          would approach
 * CPU time (user + system of the child, from wait4) rather than wall time:
 * the machine is shared, and a waiting process costs no CPU.
 *
 * The trace is pv-fork-storm recorded by `hvlab run --trace` into
 * BUILD/bench-trace the first time and reused after (delete it to record a
 * new one).  BUILD is this program's directory's parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/analyze.h"
#include "analysis/ctf.h"
#include "analysis/event.h"
#include "bench/lib/clock.h"

#define RUNS 5

static char build[PATH_MAX];

/* Run argv with stdout to out (NULL: /dev/null); CPU seconds, -1 on error.
   *rc gets the exit status. */
static double run_cpu(char *const argv[], const char *out, int *rc, double *wall)
{
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        if (nul >= 0)
            dup2(nul, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        return -1;
    if (wall)
        *wall = (now_ns() - t0) / 1e9;
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double best_of(char *const argv[], const char *out, int ok_mask, const char *what)
{
    double best = -1;
    for (int r = 0; r < RUNS; r++) {
        int rc = 0;
        double wall = 0;
        double c = run_cpu(argv, out, &rc, &wall);
        if (c < 0 || rc > 7 || !(ok_mask & (1 << rc))) {
            fprintf(stderr, "bench-analyze: %s failed (exit %d)\n", what, rc);
            return -1;
        }
        if (best < 0 || c < best)
            best = c;
    }
    return best;
}

/* ---- the engine alone: events decoded once into memory, then fed ------ */

struct captured {
    struct hv_decoder *dec;
    struct hv_ev *ev;
    size_t n, cap;
    bool have_t0;
    int64_t t0;
};

/* The reader's side of analyze.c's az_reader_event (N3: ns since the first
   timestamped event; seq in delivery order), kept instead of fed. */
static int capture_event(const bt_event *bev, int64_t ts_ns, bool has_ts, void *arg,
                         char *err, size_t errlen)
{
    struct captured *c = arg;
    struct hv_ev e;
    int rc = hv_decode(c->dec, bev, ts_ns, has_ts, &e, err, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (has_ts) {
        if (!c->have_t0) {
            c->have_t0 = true;
            c->t0 = ts_ns;
        }
        e.ts = ts_ns - c->t0;
    }
    e.seq = c->n;
    e.stream = ctf_current_stream();
    if (e.str && !(e.str = strdup(e.str))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 1 << 16;
        struct hv_ev *nv = realloc(c->ev, nc * sizeof(*nv));
        if (!nv) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->ev = nv;
        c->cap = nc;
    }
    c->ev[c->n++] = e;
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Best CPU seconds of RUNS feeds of every captured event through a fresh
   engine with every checker; -1 when the trace cannot be captured. */
static double engine_cpu(const char *trace, size_t *nev)
{
    struct captured c = { .dec = hv_decoder_new() };
    char err[1024] = "";
    static const struct ctf_reader_ops ops = { capture_event, NULL, NULL };
    double best = -1;
    if (!c.dec || ctf_read(trace, &ops, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench-analyze: capturing %s: %s\n", trace, err);
        goto out;
    }
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_now();
        struct az *az = az_new(&(struct az_options){ 0 });
        if (!az)
            goto out;
        for (size_t i = 0; i < c.n; i++)
            az_feed(az, &c.ev[i]);
        az_end(az);
        az_free(az);
        double t = cpu_now() - t0;
        if (best < 0 || t < best)
            best = t;
    }
    *nev = c.n;
out:
    for (size_t i = 0; i < c.n; i++)
        free((void *)c.ev[i].str);
    free(c.ev);
    hv_decoder_free(c.dec);
    return best;
}

int main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        printf("skip - bench-analyze: cannot find its own path\n");
        return 0;
    }
    self[n] = '\0';
    /* BUILD/bench/bench-analyze -> BUILD */
    char *s = strrchr(self, '/');
    *s = '\0';
    s = strrchr(self, '/');
    *s = '\0';
    snprintf(build, sizeof(build), "%s", self);

    char hv[PATH_MAX + 16], trace[PATH_MAX + 16], scen[PATH_MAX + 64], out[PATH_MAX + 32];
    snprintf(hv, sizeof(hv), "%s/hvlab", build);
    snprintf(trace, sizeof(trace), "%s/bench-trace", build);
    snprintf(out, sizeof(out), "%s/bench-analyze.out", build);
    snprintf(scen, sizeof(scen), "scenarios/pv-fork-storm.hvl");
    if (access(hv, X_OK) != 0) {
        printf("skip - bench-analyze: %s is not built\n", hv);
        return 0;
    }
    int rc;
    char *help[] = { hv, "analyze", "--help", NULL };
    if (run_cpu(help, NULL, &rc, NULL) < 0 || rc != 0) {
        printf("skip - bench-analyze: %s has no analyze command\n", hv);
        return 0;
    }
    char *bt[] = { "babeltrace2", "--version", NULL };
    if (run_cpu(bt, NULL, &rc, NULL) < 0 || rc != 0) {
        printf("skip - bench-analyze: babeltrace2 is not installed\n");
        return 0;
    }
    struct stat sb;
    if (stat(trace, &sb) != 0) {
        char *rec[] = { hv, "run", scen, "--trace", trace, NULL };
        if (run_cpu(rec, NULL, &rc, NULL) < 0 || rc != 0) {
            printf("skip - bench-analyze: recording %s into %s failed (exit %d; "
                   "is an LTTng session daemon available?)\n", scen, trace, rc);
            return 0;
        }
    }

    /* how many hvlab events: the analysis says so on its first line */
    char *az[] = { hv, "analyze", trace, NULL };
    double t_az = best_of(az, out, 1 << 0 | 1 << 1, "hvlab analyze");
    if (t_az <= 0)
        return 1;
    unsigned long long events = 0;
    FILE *f = fopen(out, "r");
    if (f) {
        char line[PATH_MAX + 128];
        if (fgets(line, sizeof(line), f)) {
            char *p = strstr(line, ": ");
            if (p)
                events = strtoull(p + 2, NULL, 10);
        }
        fclose(f);
    }
    unlink(out);
    if (events == 0) {
        fprintf(stderr, "bench-analyze: hvlab analyze read no events from %s\n", trace);
        return 1;
    }

    char *azb[] = { hv, "analyze", "--reader", "babeltrace2", trace, NULL };
    double t_azb = best_of(azb, NULL, 1 << 0 | 1 << 1, "hvlab analyze --reader babeltrace2");
    if (t_azb <= 0)
        return 1;

    char *dummy[] = { "babeltrace2", trace, "-c", "sink.utils.dummy", NULL };
    double t_dummy = best_of(dummy, NULL, 1, "babeltrace2 -c sink.utils.dummy");
    char *counter[] = { "babeltrace2", trace, "-c", "sink.utils.counter", "-p",
                        "step=+0", NULL };
    double t_counter = best_of(counter, NULL, 1, "babeltrace2 -c sink.utils.counter");
    if (t_dummy <= 0 || t_counter <= 0)
        return 1;

    printf("figure analyze_events_per_s: %.0f ev/s   [goal >= 2000000]   "
           "[%llu events of pv-fork-storm, every checker, %.3f s CPU]\n",
           events / t_az, events, t_az);
    printf("figure analyze_bt2_events_per_s: %.0f ev/s   [the same through "
           "babeltrace2 (--reader babeltrace2), %.3f s CPU: %.2f x slower]\n",
           events / t_azb, t_azb, t_azb / t_az);
    printf("figure analyze_vs_dummy: %.2f x   [goal >= 0.65]   "
           "[babeltrace2 -c sink.utils.dummy %.3f s CPU / hvlab analyze %.3f s]\n",
           t_dummy / t_az, t_dummy, t_az);
    printf("figure analyze_vs_counter: %.2f x   [sink.utils.counter -p step=+0 "
           "%.3f s CPU / hvlab analyze]\n", t_counter / t_az, t_counter);
    printf("figure dummy_events_per_s: %.0f ev/s   [babeltrace2 decoding alone, "
           "for scale]\n", events / t_dummy);

    size_t nev = 0;
    double t_eng = engine_cpu(trace, &nev);
    if (t_eng <= 0 || nev == 0)
        return 1;
    printf("figure engine_events_per_s: %.0f ev/s   [the engine alone, every "
           "checker, fed %zu events decoded beforehand: %.3f s CPU; reading "
           "the trace is the other %.0f%% of hvlab analyze]\n", nev / t_eng, nev,
           t_eng, t_az > t_eng ? 100.0 * (t_az - t_eng) / t_az : 0.0);
    return 0;
}
