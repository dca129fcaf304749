/*
 * toolstack/explore.c - seed search and fail-nth sweeps (explore.h X1-X3).
 *
 * Rules:
 *   P1  The parent never runs a scenario: it hands tasks (a seed, or a
 *       seed plus one fail binding) to worker processes and collects one
 *       fixed-size record per task through a pipe (smaller than PIPE_BUF,
 *       so a record arrives whole or not at all).
 *   P2  Seeds mode: worker w of J runs tasks w, w+J, w+2J, ... in one
 *       process.  A worker that dies part-way is replaced at the task after
 *       the one it died in; one that deadlocked (its machine left as it
 *       stood, runner.h N4) reports the deadlock and exits so a fresh
 *       process takes its next task.
 *   P3  fail-nth: tasks are spread over workers as in P2, but a worker
 *       goes on to its next task only when the run it just made tore down
 *       clean (audit clean, no leaked frame, no destroy error, no
 *       deadlock): a failed error path may leave anything behind, so after
 *       any other outcome the worker exits and a fresh process takes its
 *       next task.  Each task's binding is added to the worker's own copy
 *       of the scenario and removed after the run.  Points are swept in
 *       rounds of growing chunks of n, and a point stops at its first n
 *       that did not fire.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"
#include "toolstack/explore.h"
#include "toolstack/runner.h"

#define WORKER_TAINTED  3           /* exit code: reported, process unfit */

enum oc_status {
    OC_HELD = RUN_HELD,
    OC_BROKEN = RUN_BROKEN,
    OC_ERROR = RUN_ERROR,
    OC_CRASH = 3,                   /* the worker died in this task */
};

struct task {
    uint64_t seed;
    int point;                      /* fail-nth: the point, -1 none */
    unsigned nth;
};

/* One task's outcome: the pipe record (P1). */
struct outcome {
    uint32_t task;
    int32_t status;                 /* enum oc_status */
    int32_t sig;                    /* OC_CRASH: signal, or -exit code */
    uint8_t deadlock, leak, fired, teardown;
    uint32_t audit_live, audit_after, destroy_errors;
    uint64_t free_before, free_after;
    uint64_t sched_hash;
    uint64_t point_hits;
    char why[440];
};
_Static_assert(sizeof(struct outcome) <= 512, "a record must fit PIPE_BUF");

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Append "fmt" to buf (truncating). */
static void appendf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

/* The first line of text, without its newline, into buf (appended). */
static void first_line(char *buf, size_t len, const char *text, size_t max)
{
    if (!text)
        return;
    while (*text == ' ')
        text++;
    size_t n = strcspn(text, "\n");
    if (n > max)
        n = max;
    appendf(buf, len, "%.*s%s", (int)n, text, text[n] && text[n] != '\n'
            ? "..." : "");
}

/* The broken expectations of a finished run, "name (evidence); ...". */
static void broken_expectations(const struct scenario *sc,
                                const struct run_result *r, char *why,
                                size_t len)
{
    for (unsigned i = 0; i < sc->nr_expects; i++) {
        const struct scn_expect *e = &sc->expect[i];
        if (e->kind->check(r, e->arg))
            continue;
        char *ev = NULL;
        size_t evlen = 0;
        FILE *f = open_memstream(&ev, &evlen);
        if (f) {
            e->kind->evidence(r, e->arg, f);
            fclose(f);
        }
        appendf(why, len, "%s%s", why[0] ? "; " : "", e->kind->name);
        if (e->kind->arg)
            appendf(why, len, " %" PRIu64, e->arg);
        appendf(why, len, " (");
        first_line(why, len, ev, 110);
        appendf(why, len, ")");
        free(ev);
    }
}

/* Run one task in this process into oc. */
static void run_task(const struct scenario *sc, const struct task *t,
                     unsigned idx, FILE *devnull, struct outcome *oc)
{
    struct run_result r;
    char *errtext = NULL;
    size_t errlen = 0;
    memset(oc, 0, sizeof(*oc));
    memset(&r, 0, sizeof(r));
    oc->task = idx;
    FILE *err = open_memstream(&errtext, &errlen);
    struct run_opts o = {
        .seed = t->seed, .seed_given = true, .sched = SCHED_DET,
        .out = devnull, .err = err ? err : devnull, .result = &r,
    };
    int st = runner_run(sc, &o);
    if (err)
        fclose(err);
    oc->status = st;
    oc->sched_hash = r.sched_det.schedule_hash;
    oc->deadlock = r.sched_det.deadlock;
    oc->audit_live = r.audit_live;
    oc->audit_after = r.audit_after;
    oc->destroy_errors = r.destroy_errors;
    oc->free_before = r.free_before;
    oc->free_after = r.free_after;
    /* Teardown happened and was measured: a finished run, or a failed one
       with the injector armed (runner.h run_failed). */
    oc->teardown = !oc->deadlock && (st != RUN_ERROR || r.run_failed);
    if (oc->teardown)
        oc->leak = r.audit_live || r.audit_after || r.destroy_errors ||
                   r.free_after != r.free_before;
    if (t->point >= 0 && sc->inject) {
        unsigned b = inj_plan_size(sc->inject) - 1;
        oc->fired = inj_binding_fires(b) > 0;
        oc->point_hits = inj_point_hits((enum inj_point)t->point);
    }
    if (oc->deadlock)
        first_line(oc->why, sizeof(oc->why), "the vCPUs deadlocked", 100);
    else if (st == RUN_BROKEN)
        broken_expectations(sc, &r, oc->why, sizeof(oc->why));
    else if (st == RUN_ERROR) {
        const char *e = errtext;
        if (e && strncmp(e, "hvlab: ", 7) == 0)
            e += 7;
        first_line(oc->why, sizeof(oc->why), e && *e ? e : "the run failed",
                   200);
    }
    free(errtext);
}

/* ---- the worker pool (P1, P2) ------------------------------------------- */

struct pool {
    const struct scenario *sc;
    struct task *tasks;
    unsigned nr_tasks;
    struct outcome *res;            /* [nr_tasks] */
    bool *done;
    bool fresh_after_unclean;       /* P3: exit after an unclean run */
    unsigned max_findings;          /* stop past the K-th broken task (0) */
    unsigned found;
    unsigned limit;                 /* tasks from here on are not run */
    FILE *err;
};

struct slot {
    pid_t pid;
    int fd;
    unsigned next, stride;          /* tasks next, next+stride, ... */
    bool stopping;                  /* killed: past the limit */
    size_t got;
    struct outcome buf;
};

/* Set up fail-nth's binding in the (forked) child's own scenario. */
static int arm_task(struct scenario *sc, const struct task *t)
{
    if (t->point < 0)
        return 0;
    char spec[160], err[512];
    snprintf(spec, sizeof(spec), "%s:fail,%snth=%u", inj_points[t->point].name,
             strcmp(inj_points[t->point].errors, "*") == 0 ? "errno=EFAULT,"
                                                           : "", t->nth);
    if (scenario_inject(sc, spec, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab explore: %s\n", err);
        return -1;
    }
    return 0;
}

static void worker(struct pool *p, unsigned next, unsigned stride, int fd)
{
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull)
        _exit(EXIT_FAILURE);
    struct scenario *sc = (struct scenario *)p->sc;
    /* P3: the child owns its copy of the scenario (fork). */
    unsigned plan_base = inj_plan_size(sc->inject);
    for (unsigned i = next; i < p->nr_tasks; i += stride) {
        struct outcome oc;
        if (arm_task(sc, &p->tasks[i]) != 0)
            _exit(EXIT_FAILURE);
        run_task(p->sc, &p->tasks[i], i, devnull, &oc);
        inj_plan_truncate(sc->inject, plan_base);
        const char *b = (const char *)&oc;
        size_t left = sizeof(oc);
        while (left) {
            ssize_t n = write(fd, b, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(EXIT_FAILURE);
            b += n;
            left -= (size_t)n;
        }
        bool unclean = oc.deadlock ||
            (p->fresh_after_unclean && (!oc.teardown || oc.leak));
        if (unclean)
            _exit(i + stride < p->nr_tasks ? WORKER_TAINTED : 0);
    }
    fclose(devnull);
    _exit(0);
}

static int spawn(struct pool *p, struct slot *s)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        worker(p, s->next, s->stride, fd[1]);
    }
    close(fd[1]);
    s->pid = pid;
    s->fd = fd[0];
    s->got = 0;
    s->stopping = false;
    return 0;
}

/* Give an idle slot work; false when there is none left for it. */
static bool assign(struct pool *p, struct slot *s, unsigned w, bool first,
                   unsigned jobs)
{
    if (first) {
        s->next = w;
        s->stride = jobs;
    }
    while (s->next < p->limit && p->done[s->next])
        s->next += s->stride;
    return s->next < p->limit;
}

/* Run every task of p on `jobs` workers.  0, or -1 (message on p->err). */
static int pool_run(struct pool *p, unsigned jobs)
{
    if (jobs == 0)
        jobs = 1;
    if (jobs > p->nr_tasks)
        jobs = p->nr_tasks ? p->nr_tasks : 1;
    struct slot *slots = calloc(jobs, sizeof(*slots));
    struct pollfd *pfd = calloc(jobs, sizeof(*pfd));
    if (!slots || !pfd) {
        free(slots);
        free(pfd);
        fprintf(p->err, "hvlab explore: out of memory\n");
        return -1;
    }
    int rc = 0;
    unsigned live = 0;
    for (unsigned w = 0; w < jobs; w++) {
        slots[w].fd = -1;
        if (!assign(p, &slots[w], w, true, jobs))
            continue;
        if (spawn(p, &slots[w]) != 0) {
            fprintf(p->err, "hvlab explore: fork: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        live++;
    }
    while (live > 0) {
        for (unsigned w = 0; w < jobs; w++) {
            pfd[w].fd = slots[w].fd;
            pfd[w].events = POLLIN;
            pfd[w].revents = 0;
        }
        if (poll(pfd, jobs, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(p->err, "hvlab explore: poll: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        for (unsigned w = 0; w < jobs; w++) {
            struct slot *s = &slots[w];
            if (s->fd < 0 || !(pfd[w].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(s->fd, (char *)&s->buf + s->got,
                             sizeof(s->buf) - s->got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0) {
                s->got += (size_t)n;
                if (s->got == sizeof(s->buf)) {
                    unsigned t = s->buf.task;
                    if (t < p->limit) {
                        p->res[t] = s->buf;
                        p->done[t] = true;
                        if (p->max_findings && s->buf.status != OC_HELD &&
                            ++p->found >= p->max_findings && t + 1 < p->limit)
                            p->limit = t + 1;
                    }
                    s->got = 0;
                    s->next = t + s->stride;
                    for (unsigned k = 0; k < jobs; k++)
                        if (slots[k].fd >= 0 && !slots[k].stopping &&
                            slots[k].next >= p->limit) {
                            kill(slots[k].pid, SIGKILL);
                            slots[k].stopping = true;
                        }
                }
                continue;
            }
            /* EOF: the worker ended (P2). */
            close(s->fd);
            s->fd = -1;
            live--;
            int st = 0;
            while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
                ;
            bool tainted = WIFEXITED(st) && WEXITSTATUS(st) == WORKER_TAINTED;
            bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
            /* The task it was on when it died. */
            unsigned t = s->next;
            while (t < p->nr_tasks && p->done[t])
                t += s->stride;
            if (!clean && !tainted && !s->stopping && t < p->limit &&
                !p->done[t]) {
                struct outcome *oc = &p->res[t];
                memset(oc, 0, sizeof(*oc));
                oc->task = t;
                oc->status = OC_CRASH;
                if (WIFSIGNALED(st)) {
                    oc->sig = WTERMSIG(st);
                    snprintf(oc->why, sizeof(oc->why), "the run died of "
                             "signal %d (%s)", oc->sig, strsignal(oc->sig));
                } else {
                    oc->sig = -WEXITSTATUS(st);
                    snprintf(oc->why, sizeof(oc->why), "the worker exited "
                             "with %d before reporting", WEXITSTATUS(st));
                }
                p->done[t] = true;
            }
            if (rc == 0 && assign(p, s, w, false, jobs)) {
                if (spawn(p, s) != 0) {
                    fprintf(p->err, "hvlab explore: fork: %s\n",
                            strerror(errno));
                    rc = -1;
                    continue;
                }
                live++;
            }
        }
    }
    for (unsigned w = 0; w < jobs; w++)
        if (slots[w].fd >= 0) {
            kill(slots[w].pid, SIGKILL);
            close(slots[w].fd);
            waitpid(slots[w].pid, NULL, 0);
        }
    free(slots);
    free(pfd);
    return rc;
}

/* ---- reporting ------------------------------------------------------------ */

static void print_replay(const struct explore_opts *o, const struct task *t,
                         FILE *f)
{
    fprintf(f, "    %s --seed %" PRIu64 "%s", o->replay_prefix, t->seed,
            o->replay_suffix ? o->replay_suffix : "");
    if (t->point >= 0)
        fprintf(f, " --inject '%s:fail,%snth=%u'", inj_points[t->point].name,
                strcmp(inj_points[t->point].errors, "*") == 0
                    ? "errno=EFAULT," : "", t->nth);
    fprintf(f, "\n");
}

static const char *status_word(const struct outcome *oc)
{
    switch (oc->status) {
    case OC_HELD:   return "held";
    case OC_BROKEN: return oc->deadlock ? "DEADLOCK" : "BROKEN";
    case OC_ERROR:  return "ERROR";
    default:        return "CRASH";
    }
}

int explore_run_once(const struct scenario *sc, uint64_t seed, char *why,
                     size_t whylen)
{
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        return RUN_ERROR;
    struct task t = { .seed = seed, .point = -1 };
    struct outcome oc;
    run_task(sc, &t, 0, devnull, &oc);
    if (why && whylen)
        snprintf(why, whylen, "%s", oc.why);
    return oc.status;
}

int explore_seeds(const struct scenario *sc, const struct explore_opts *o,
                  struct explore_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    unsigned n = o->runs;
    struct pool p = { .sc = sc, .nr_tasks = n, .err = o->err, .limit = n,
                      .max_findings = o->max_findings };
    p.tasks = calloc(n ? n : 1, sizeof(*p.tasks));
    p.res = calloc(n ? n : 1, sizeof(*p.res));
    p.done = calloc(n ? n : 1, sizeof(*p.done));
    if (!p.tasks || !p.res || !p.done) {
        fprintf(o->err, "hvlab explore: out of memory\n");
        free(p.tasks);
        free(p.res);
        free(p.done);
        return RUN_ERROR;
    }
    for (unsigned i = 0; i < n; i++) {
        p.tasks[i].seed = o->first_seed + i;
        p.tasks[i].point = -1;
    }
    fprintf(o->out, "hvlab explore %s: seeds %" PRIu64 "..%" PRIu64
            " in det mode (sched.strategy=%s), %u job%s\n", sc->path,
            o->first_seed, o->first_seed + n - 1,
            sched_strategy_name[sc->hv.sched_strategy], o->jobs,
            o->jobs == 1 ? "" : "s");
    fflush(o->out);
    double t0 = now_seconds();
    int rc = pool_run(&p, o->jobs);
    sum->seconds = now_seconds() - t0;
    for (unsigned i = 0; i < n; i++) {
        const struct outcome *oc = &p.res[i];
        if (!p.done[i])
            continue;
        sum->runs++;
        if (oc->status == OC_HELD) {
            if (o->verbose)
                fprintf(o->out, "seed %" PRIu64 ": held; schedule 0x%016"
                        PRIx64 "\n", p.tasks[i].seed, oc->sched_hash);
            continue;
        }
        if (oc->status == OC_ERROR)
            sum->errors++;
        else
            sum->findings++;
        if (oc->status == OC_CRASH)
            sum->crashed++;
        fprintf(o->out, "seed %" PRIu64 ": %s %s", p.tasks[i].seed,
                status_word(oc), oc->why);
        if (oc->status != OC_CRASH && oc->status != OC_ERROR)
            fprintf(o->out, "; schedule 0x%016" PRIx64, oc->sched_hash);
        fprintf(o->out, "\n");
        print_replay(o, &p.tasks[i], o->out);
    }
    if (sum->runs < n && p.limit < n)
        fprintf(o->out, "explore: stopped after %u broken seed%s (--max-findings)"
                "\n", sum->findings, sum->findings == 1 ? "" : "s");
    fprintf(o->out, "explore: %u runs in %.2f s (%.0f runs/s): %u seed%s "
            "broke an expectation (%u crashed), %u could not run\n",
            sum->runs, sum->seconds,
            sum->seconds > 0 ? sum->runs / sum->seconds : 0.0, sum->findings,
            sum->findings == 1 ? "" : "s", sum->crashed, sum->errors);
    free(p.tasks);
    free(p.res);
    free(p.done);
    if (rc != 0 || sum->runs < p.limit)
        return RUN_ERROR;
    if (sum->findings)
        return RUN_BROKEN;
    return sum->errors ? RUN_ERROR : RUN_HELD;
}

/* ---- fail-nth (P3) ---------------------------------------------------------- */

#define FIRST_CHUNK 16u

int explore_fail_nth(const struct scenario *sc, const struct explore_opts *o,
                     struct explore_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    /* Per point: where its sweep stands. */
    struct pstate {
        bool active;
        unsigned next_nth;          /* next n to try */
        unsigned chunk;
        unsigned swept;             /* n that fired */
        unsigned findings;
        unsigned errors_clean;      /* ended in a reported error, clean */
        unsigned broke_clean;       /* broke an expectation, no leak */
    } ps[INJ_NR_POINTS];
    unsigned nr_failable = 0;
    memset(ps, 0, sizeof(ps));
    for (unsigned i = 0; i < INJ_NR_POINTS; i++)
        if (inj_points[i].actions & INJ_A_FAIL) {
            ps[i].active = true;
            ps[i].next_nth = 1;
            ps[i].chunk = FIRST_CHUNK;
            nr_failable++;
        }
    fprintf(o->out, "hvlab explore %s --fail-nth: seed %" PRIu64 ", det mode, "
            "%u failable points%s\n", sc->path, o->first_seed, nr_failable,
            o->max_nth ? "" : ", every hit");
    if (o->max_nth)
        fprintf(o->out, "  (at most the first %u hits of each)\n", o->max_nth);
    fflush(o->out);
    double t0 = now_seconds();
    int status = RUN_HELD;
    bool baseline = true;

    for (;;) {
        /* One round: a chunk of n for every active point (+ the baseline). */
        unsigned cap = baseline ? 1 : 0;
        for (unsigned i = 0; i < INJ_NR_POINTS; i++)
            if (ps[i].active)
                cap += ps[i].chunk;
        if (cap == 0)
            break;
        struct pool p = { .sc = sc, .fresh_after_unclean = true,
                          .err = o->err };
        p.tasks = calloc(cap, sizeof(*p.tasks));
        p.res = calloc(cap, sizeof(*p.res));
        p.done = calloc(cap, sizeof(*p.done));
        if (!p.tasks || !p.res || !p.done) {
            fprintf(o->err, "hvlab explore: out of memory\n");
            free(p.tasks);
            free(p.res);
            free(p.done);
            return RUN_ERROR;
        }
        unsigned n = 0;
        if (baseline)
            p.tasks[n++] = (struct task){ o->first_seed, -1, 0 };
        for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
            if (!ps[i].active)
                continue;
            for (unsigned k = 0; k < ps[i].chunk; k++) {
                unsigned nth = ps[i].next_nth + k;
                if (o->max_nth && nth > o->max_nth)
                    break;
                p.tasks[n++] = (struct task){ o->first_seed, (int)i, nth };
            }
        }
        p.nr_tasks = n;
        p.limit = n;
        if (pool_run(&p, o->jobs) != 0) {
            free(p.tasks);
            free(p.res);
            free(p.done);
            return RUN_ERROR;
        }
        for (unsigned t = 0; t < n; t++) {
            const struct task *tk = &p.tasks[t];
            const struct outcome *oc = &p.res[t];
            struct pstate *s = tk->point >= 0 ? &ps[tk->point] : NULL;
            if (s && !s->active)
                continue;           /* past this point's last hit */
            sum->runs++;
            if (s && oc->status != OC_CRASH && !oc->fired) {
                s->active = false;  /* the nth hit no longer happens */
                continue;
            }
            if (s)
                s->swept = tk->nth;
            bool finding = oc->status == OC_CRASH || oc->deadlock ||
                           oc->leak || (!s && oc->status != OC_HELD);
            if (!finding) {
                if (s && oc->status == OC_ERROR)
                    s->errors_clean++;
                else if (s && oc->status == OC_BROKEN) {
                    s->broke_clean++;
                    sum->expected_breaks++;
                }
                continue;
            }
            sum->findings++;
            if (s)
                s->findings++;
            if (oc->status == OC_CRASH)
                sum->crashed++;
            status = RUN_BROKEN;
            if (s)
                fprintf(o->out, "%s nth=%u: ", inj_points[tk->point].name,
                        tk->nth);
            else
                fprintf(o->out, "baseline (no failure injected): ");
            if (oc->leak)
                fprintf(o->out, "LEAK audit %u live / %u after teardown, "
                        "%u destroy errors, heap %" PRIu64 " of %" PRIu64
                        " frames back; ", oc->audit_live, oc->audit_after,
                        oc->destroy_errors, oc->free_after, oc->free_before);
            fprintf(o->out, "%s %s\n", status_word(oc), oc->why);
            print_replay(o, tk, o->out);
        }
        for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
            if (!ps[i].active)
                continue;
            ps[i].next_nth += ps[i].chunk;
            if (o->max_nth && ps[i].next_nth > o->max_nth)
                ps[i].active = false;
            ps[i].chunk *= 2;
        }
        free(p.tasks);
        free(p.res);
        free(p.done);
        baseline = false;
        fflush(o->out);
    }
    sum->seconds = now_seconds() - t0;
    for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
        if (!(inj_points[i].actions & INJ_A_FAIL))
            continue;
        fprintf(o->out, "  %-28s failed hits 1..%-5u %u leak%s; %u ended in "
                "a clean error, %u broke an expectation cleanly\n",
                inj_points[i].name, ps[i].swept, ps[i].findings,
                ps[i].findings == 1 ? "" : "s", ps[i].errors_clean,
                ps[i].broke_clean);
    }
    fprintf(o->out, "explore --fail-nth: %u runs in %.2f s: %u finding%s "
            "(%u crashed)\n", sum->runs, sum->seconds, sum->findings,
            sum->findings == 1 ? "" : "s", sum->crashed);
    return status;
}
