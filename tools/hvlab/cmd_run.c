/*
 * tools/hvlab/cmd_run.c - `hvlab run SCENARIO [...]`.
 *
 * Rules:
 *   R1  Everything the user typed is checked before anything runs: the
 *       arguments, the scenario file and every --set.  A mistake is exit 2
 *       with a message naming it (FILE:LINE for the scenario).
 *   R2  Without --trace the run happens in this process (toolstack/runner.c).
 *   R3  With --trace DIR this process is the controller: it begins a
 *       recording session into DIR, re-executes itself (its resolved path) with
 *       the same arguments minus --trace and with the tracer's environment
 *       (lttng-ust reads it before main), waits, and ends the session.  A
 *       trace that discarded events or lost packets fails the run (exit 1)
 *       loudly, whatever the expectations said: the analysis cannot use it.
 *   R4  SIGINT/SIGTERM in the controller are forwarded to the run, and the
 *       session is torn down before exiting with 128+signal.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/count.h"
#include "core/sched.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"
#include "tools/hvlab/cmd.h"
#include "trace/record.h"

#define MAX_SETS 64
#define MAX_INJECTS 64

struct run_args {
    const char *scenario;
    uint64_t seed;
    bool seed_given;
    enum sched_mode sched;
    const char *sets[MAX_SETS];
    unsigned nr_sets;
    const char *trace_dir;
    const char *dump_tables;
    const char *schedule_in;
    const char *schedule_out;
    const char *injects[MAX_INJECTS];   /* --inject SPEC|FILE */
    unsigned nr_injects;
    const char *inject_stats;
    const char *save_stream;
    const char *images_dir;
};

void cmd_run_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab run SCENARIO [--seed N] [--sched threads|det]\n"
        "                 [--set KEY=VALUE]... [--trace DIR] [--dump-tables FILE]\n"
        "                 [--schedule FILE] [--schedule-out FILE]\n"
        "                 [--inject SPEC|FILE]... [--inject-stats FILE]\n"
        "                 [--save-stream FILE] [--images DIR]\n"
        "\n"
        "Run a scenario file (docs/scenarios.md): build its machine and domains,\n"
        "run their workloads, audit the machine, and check every expectation.\n"
        "\n"
        "  --seed N             seed of the workloads (default: the file's 'seed')\n"
        "  --sched threads|det  threads: one pthread per vCPU (default);\n"
        "                       det: deterministic coroutines from the seed\n"
        "                       (sched.* options: 'hvlab options')\n"
        "  --set KEY=VALUE      set an option (see 'hvlab options'); overrides\n"
        "                       the scenario's own 'set' lines; repeatable\n"
        "  --trace DIR          record every hvlab event into DIR (new or empty)\n"
        "                       as a CTF trace, then summarise what it holds\n"
        "  --dump-tables FILE   after the workload, write one line per present\n"
        "                       entry of every validated page table:\n"
        "                       'host mfn level slot pte_hex'\n"
        "  --schedule FILE      det: replay the decisions in FILE (as written\n"
        "                       by --schedule-out; docs/determinism.md)\n"
        "  --schedule-out FILE  det: write every scheduling decision to FILE\n"
        "  --inject SPEC|FILE   bind an injection point, POINT:ACTION[,k=v]...,\n"
        "                       or every binding of a plan file, on top of the\n"
        "                       scenario's 'inject' lines; repeatable\n"
        "                       (docs/inject.md, 'hvlab inject list')\n"
        "  --inject-stats FILE  write every point's hit and fire counts to FILE\n"
        "                       (read by 'hvlab inject list --hits FILE')\n"
        "  --save-stream FILE   write the stream of the scenario's migration to\n"
        "                       FILE as it went over the wire (Xen's migration\n"
        "                       v2 format; docs/migration.md)\n"
        "  --images DIR         write memory images of the migrated domain into\n"
        "                       DIR: source-pause.img, source-final.img,\n"
        "                       dest-restored.img (docs/image.md)\n"
        "\n"
        "Exit status: 0 every expectation held; 1 one broke (printed with its\n"
        "evidence) or the trace lost events; 2 usage or scenario error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab run --help')\n");
    return EXIT_USAGE;
}

/* ---- options: one row each ------------------------------------------------ */
static int o_seed(struct run_args *a, const char *v)
{
    char *end;
    errno = 0;
    a->seed = strtoull(v, &end, 0);
    if (errno || !*v || *end || *v == '-')
        return usage_error("--seed %s: not a number", v);
    a->seed_given = true;
    return 0;
}

static int o_sched(struct run_args *a, const char *v)
{
    if (strcmp(v, "threads") == 0)
        a->sched = SCHED_THREADS;
    else if (strcmp(v, "det") == 0)
        a->sched = SCHED_DET;
    else
        return usage_error("--sched %s: expected threads or det", v);
    return 0;
}

static int o_set(struct run_args *a, const char *v)
{
    if (a->nr_sets == MAX_SETS)
        return usage_error("too many --set options (at most %s)", "64");
    a->sets[a->nr_sets++] = v;
    return 0;
}

static int o_trace(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--trace%s: needs a directory", "");
    a->trace_dir = v;
    return 0;
}

static int o_schedule(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--schedule%s: needs a file", "");
    a->schedule_in = v;
    return 0;
}

static int o_schedule_out(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--schedule-out%s: needs a file", "");
    a->schedule_out = v;
    return 0;
}

static int o_inject(struct run_args *a, const char *v)
{
    if (a->nr_injects == MAX_INJECTS)
        return usage_error("too many --inject options (at most %s)", "64");
    a->injects[a->nr_injects++] = v;
    return 0;
}

static int o_inject_stats(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--inject-stats%s: needs a file", "");
    a->inject_stats = v;
    return 0;
}

static int o_dump_tables(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--dump-tables%s: needs a file", "");
    a->dump_tables = v;
    return 0;
}

static int o_save_stream(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--save-stream%s: needs a file", "");
    a->save_stream = v;
    return 0;
}

static int o_images(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--images%s: needs a directory", "");
    a->images_dir = v;
    return 0;
}

/* Every option takes one value, as "--name VALUE" or "--name=VALUE". */
static const struct run_option {
    const char *name;
    int (*set)(struct run_args *a, const char *value);
} run_options[] = {
    { "--seed",        o_seed },
    { "--sched",       o_sched },
    { "--set",         o_set },
    { "--trace",       o_trace },
    { "--dump-tables", o_dump_tables },
    { "--schedule-out", o_schedule_out },
    { "--schedule",    o_schedule },
    { "--inject",      o_inject },
    { "--inject-stats", o_inject_stats },
    { "--save-stream", o_save_stream },
    { "--images",      o_images },
};

static int parse_args(int argc, char **argv, struct run_args *a)
{
    memset(a, 0, sizeof(*a));
    a->sched = SCHED_THREADS;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->scenario)
                return usage_error("one scenario at a time ('%s' is a second "
                                   "one)", arg);
            a->scenario = arg;
            continue;
        }
        const struct run_option *o = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < sizeof(run_options) / sizeof(run_options[0]); k++) {
            size_t n = strlen(run_options[k].name);
            if (strncmp(arg, run_options[k].name, n) != 0)
                continue;
            if (arg[n] == '=') {
                value = arg + n + 1;
            } else if (arg[n] == '\0') {
                if (i + 1 >= argc)
                    return usage_error("%s: missing its value", arg);
                value = argv[++i];
            } else {
                continue;
            }
            o = &run_options[k];
            break;
        }
        if (!o)
            return usage_error("unknown option '%s'", arg);
        if (o->set(a, value) != 0)
            return -1;
    }
    if (!a->scenario)
        return usage_error("%s", "missing the SCENARIO file");
    if ((a->schedule_in || a->schedule_out) && a->sched != SCHED_DET)
        return usage_error("%s", "--schedule and --schedule-out need "
                           "--sched det");
    return 0;
}

/* ---- traced runs (R3, R4) ------------------------------------------------ */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* argv for the child: ourselves, "run", every argument but --trace. */
static char **child_argv(int argc, char **argv)
{
    char **out = calloc((size_t)argc + 2, sizeof(*out));
    if (!out)
        return NULL;
    unsigned n = 0;
    out[n++] = program_invocation_name;
    out[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--trace=", 8) == 0)
            continue;
        out[n++] = argv[i];
    }
    out[n] = NULL;
    return out;
}

static void print_trace_summary(const char *dir, const struct trc_stats *st,
                                bool *complete)
{
    struct trace_counts c;
    char err[512];
    printf("trace: %s (%" PRIu64 " discarded events, %" PRIu64
           " lost packets reported by the tracer)\n", dir, st->discarded_events,
           st->lost_packets);
    if (trace_count(dir, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab run: reading the trace back: %s\n", err);
        *complete = false;
        return;
    }
    trace_counts_print(&c, stdout);
    if (!trace_counts_complete(&c)) {
        fprintf(stderr, "hvlab run: TRACE INCOMPLETE: %s records %" PRIu64
                " discarded events and %" PRIu64 " discarded packets; it is "
                "unfit for analysis\n", dir, c.discarded_events,
                c.discarded_packets);
        *complete = false;
    }
    trace_counts_free(&c);
}

static int run_traced(int argc, char **argv, const struct run_args *a)
{
    struct trc_session *s = NULL;
    struct trc_stats st = { 0, 0 };
    char err[512];
    int status = EXIT_BROKEN;
    char **cargv = child_argv(argc, argv);
    if (!cargv) {
        fprintf(stderr, "hvlab run: out of memory\n");
        return EXIT_USAGE;
    }

    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (trc_record_begin(a->trace_dir, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab run: --trace %s: %s\n", a->trace_dir, err);
        status = EXIT_USAGE;
        goto out;
    }
    /* Exec the resolved path, so the traced process's procname context
       reads "hvlab", not "exe". */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        snprintf(self, sizeof(self), "/proc/self/exe");
    else
        self[n] = '\0';
    fflush(NULL);
    pid_t pid = got_signal ? -1 : fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        trc_child_environment();
        execv(self, cargv);
        fprintf(stderr, "hvlab run: re-executing %s: %m\n", self);
        _exit(EXIT_USAGE);
    }
    int wst = 0;
    bool forwarded = false;
    if (pid > 0) {
        while (waitpid(pid, &wst, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "hvlab run: waiting for the run: %m\n");
                wst = EXIT_USAGE << 8;
                break;
            }
            if (got_signal && !forwarded) {
                kill(pid, got_signal);
                forwarded = true;
            }
        }
    } else if (pid < 0 && !got_signal) {
        fprintf(stderr, "hvlab run: fork: %m\n");
    }

    if (trc_record_end(s, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab run: --trace %s: ending the session: %s\n",
                a->trace_dir, err);
        status = EXIT_BROKEN;
        goto out;
    }
    if (got_signal) {
        fprintf(stderr, "hvlab run: interrupted by signal %d; trace session "
                "torn down, %s holds what was recorded\n", (int)got_signal,
                a->trace_dir);
        status = 128 + got_signal;
        goto out;
    }
    if (pid < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    if (WIFEXITED(wst)) {
        status = WEXITSTATUS(wst);
    } else {
        fprintf(stderr, "hvlab run: the run died of signal %d (%s)\n",
                WTERMSIG(wst), strsignal(WTERMSIG(wst)));
        status = EXIT_BROKEN;
    }
    bool complete = st.discarded_events == 0 && st.lost_packets == 0;
    if (!complete)
        fprintf(stderr, "hvlab run: TRACE INCOMPLETE: the tracer discarded %"
                PRIu64 " events and lost %" PRIu64 " packets; %s is unfit for "
                "analysis\n", st.discarded_events, st.lost_packets, a->trace_dir);
    print_trace_summary(a->trace_dir, &st, &complete);
    if (!complete && status == EXIT_HELD)
        status = EXIT_BROKEN;
out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(cargv);
    return status;
}

int cmd_run(int argc, char **argv)
{
    struct run_args a;
    char err[1024];
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;

    /* R1: the scenario and every --set are checked before anything runs. */
    struct scenario *sc = scenario_parse_file(a.scenario, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "hvlab run: %s\n", err);
        return EXIT_USAGE;
    }
    for (unsigned i = 0; i < a.nr_sets; i++)
        if (scenario_set(sc, a.sets[i], "--set", err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab run: %s\n", err);
            scenario_free(sc);
            return EXIT_USAGE;
        }
    for (unsigned i = 0; i < a.nr_injects; i++)
        if (scenario_inject(sc, a.injects[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab run: %s\n", err);
            scenario_free(sc);
            return EXIT_USAGE;
        }

    if (a.trace_dir) {
        scenario_free(sc);
        return run_traced(argc, argv, &a);
    }
    struct run_opts o = {
        .seed = a.seed, .seed_given = a.seed_given, .sched = a.sched,
        .schedule_in = a.schedule_in, .schedule_out = a.schedule_out,
        .dump_tables = a.dump_tables, .inject_stats = a.inject_stats,
        .save_stream = a.save_stream, .images_dir = a.images_dir,
        .out = stdout, .err = stderr,
    };
    int rc = runner_run(sc, &o);
    fflush(stdout);
    scenario_free(sc);
    return rc;
}
