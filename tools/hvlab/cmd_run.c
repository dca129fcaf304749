/*
 * tools/hvlab/cmd_run.c - `hvlab run SCENARIO [...]` and `hvlab migrate
 * SCENARIO --to URL [...]`.
 *
 * Rules:
 *   R1  Everything the user typed is checked before anything runs: the
 *       arguments, the scenario file and every --set.  A mistake is exit 2
 *       with a message naming it (FILE:LINE for the scenario).
 *   R2  Without --trace the run happens in this process (toolstack/runner.c).
 *   R3  With --trace DIR (or --trace net://HOST[:CTRL[:DATA]], streamed to
 *       an lttng-relayd) this process is the controller (traced.c,
 *       traced_reexec): it begins a recording session, re-executes itself
 *       (its resolved path) with the same arguments minus --trace and with
 *       the tracer's environment (lttng-ust reads it before main), waits,
 *       and ends the session.  A trace that discarded events or lost
 *       packets fails the run (exit 1) loudly, whatever the expectations
 *       said: the analysis cannot use it.
 *   R4  SIGINT/SIGTERM in the controller are forwarded to the run, and the
 *       session is torn down before exiting with 128+signal (traced.c T4).
 *   R5  `hvlab migrate` is `hvlab run` whose `migrate` line goes to another
 *       process (docs/migration.md "Two processes"): --to tcp://HOST:PORT
 *       (an `hvlab receive --listen PORT`) or file:PATH (xl save; `hvlab
 *       receive --from PATH` restores it).  The xl header carries the
 *       scenario's text, the --set options, the seed and the shared disk
 *       of a migrated blk-io domain (toolstack/mig_config.h): --disk, else
 *       PATH.disk beside a file, else a file of the run's own in /dev/shm
 *       removed when the run ends (the receiver has it mapped by then).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sched.h"
#include "toolstack/mig_config.h"
#include "toolstack/mig_conn.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"
#include "tools/hvlab/cmd.h"
#include "tools/hvlab/opt.h"
#include "tools/hvlab/traced.h"

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
    bool migrate;                       /* `hvlab migrate`: R5 */
    const char *to, *disk;
};

static const char *cmd_name = "run";

void cmd_run_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab run SCENARIO [--seed N] [--sched threads|det]\n"
        "                 [--set KEY=VALUE]... [--trace DIR|net://HOST[:C[:D]]]\n"
        "                 [--dump-tables FILE]\n"
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
        "  --trace net://HOST[:CTRL[:DATA]]\n"
        "                       stream them to the lttng-relayd at HOST (ports\n"
        "                       5342 and 5343 by default), which writes the\n"
        "                       trace under its output directory as\n"
        "                       THIS_HOSTNAME/SESSION-*; several processes may\n"
        "                       report to one relayd (docs/tracing.md)\n"
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

void cmd_migrate_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab migrate SCENARIO --to tcp://HOST:PORT|file:PATH\n"
        "                     [--disk FILE] [any option of 'hvlab run']\n"
        "\n"
        "Run a scenario as 'hvlab run' does, but its 'migrate' line sends the\n"
        "domain to another hvlab process (docs/migration.md \"Two processes\"):\n"
        "the live save goes over the wire in xl's format (xl header, libxl\n"
        "stream, Xen's migration v2 stream inside, the guest kernel's state),\n"
        "with xl's handshake; the receiver restores the domain and the guest\n"
        "finishes its workload there, where its expectations are judged.\n"
        "\n"
        "  --to tcp://HOST:PORT  an 'hvlab receive --listen PORT' (start it first)\n"
        "  --to file:PATH        save into PATH (xl save); 'hvlab receive --from\n"
        "                        PATH' restores it later\n"
        "  --disk FILE           the shared disk of a migrated blk-io domain\n"
        "                        (created; both processes map it; default: a\n"
        "                        file in /dev/shm removed at the end, or\n"
        "                        PATH.disk beside a file destination)\n"
        "  --save-stream FILE    every byte sent, exactly as it went\n"
        "                        ('verify-stream-v2 -f xl' reads it)\n"
        "\n"
        "Exit status: 0 every expectation judged here held; 1 one broke; 2\n"
        "usage error or nothing listening at the URL.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab %s: ", cmd_name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab %s --help')\n", cmd_name);
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
        return usage_error("--trace%s: needs a directory or "
                           "net://HOST[:CTRL_PORT[:DATA_PORT]]", "");
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

static int o_to(struct run_args *a, const char *v)
{
    struct mig_url u;
    char err[512];
    if (mig_url_parse(v, &u, err, sizeof(err)) != 0)
        return usage_error("--to: %s", err);
    a->to = v;
    return 0;
}

static int o_disk(struct run_args *a, const char *v)
{
    if (!*v)
        return usage_error("--disk%s: needs a file", "");
    a->disk = v;
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
    { "--to",          o_to },
    { "--disk",        o_disk },
};

static int parse_args(int argc, char **argv, struct run_args *a,
                      bool migrate)
{
    memset(a, 0, sizeof(*a));
    a->sched = SCHED_THREADS;
    a->migrate = migrate;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->scenario)
                return usage_error("one scenario at a time ('%s' is a second "
                                   "one)", arg);
            a->scenario = arg;
            continue;
        }
        enum { N = sizeof(run_options) / sizeof(run_options[0]) };
        const char *names[N], *value = NULL;
        for (size_t k = 0; k < N; k++)
            names[k] = run_options[k].name;
        int k = opt_match(cmd_name, argc, argv, &i, names, N, &value);
        if (k < 0)
            return -1;
        if (k == N)
            return usage_error("unknown option '%s'", arg);
        const struct run_option *o = &run_options[k];
        if (o->set(a, value) != 0)
            return -1;
    }
    if (!a->scenario)
        return usage_error("%s", "missing the SCENARIO file");
    if (!a->migrate && (a->to || a->disk))
        return usage_error("%s", "--to and --disk are for 'hvlab migrate'");
    if (a->migrate && !a->to)
        return usage_error("%s", "missing --to tcp://HOST:PORT or "
                           "file:PATH");
    if ((a->schedule_in || a->schedule_out) && a->sched != SCHED_DET)
        return usage_error("%s", "--schedule and --schedule-out need "
                           "--sched det");
    return 0;
}

/* R5: the file's text, for the xl header's config. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *n = realloc(buf, cap = 2 * cap + 8192);
            if (!n) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* R5: where the migrated blk-io domain's disk lives, both processes map
   it: --disk, else beside a file destination, else a file of this run's
   in /dev/shm (or $TMPDIR) that goes away with the run. */
static void pick_disk(const struct run_args *a, const struct scenario *sc,
                      char *path, size_t len, bool *temp)
{
    *temp = false;
    path[0] = '\0';
    if (sc->dom[sc->mig.dom].wl.kind != WL_BLK_IO)
        return;
    if (a->disk) {
        snprintf(path, len, "%s", a->disk);
        return;
    }
    struct mig_url u;
    char err[256];
    if (mig_url_parse(a->to, &u, err, sizeof(err)) == 0 &&
        u.kind == MIG_URL_FILE) {
        if (snprintf(path, len, "%s.disk", u.path) >= (int)len)
            snprintf(path, len, "%s", a->to);   /* too long: refused later */
        return;
    }
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                      : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, len, "%s/hvlab-%d-%s.disk", dir, (int)getpid(),
             sc->dom[sc->mig.dom].name);
    *temp = true;
}

static int run_or_migrate(int argc, char **argv, bool migrate)
{
    struct run_args a;
    char err[1024];
    cmd_name = migrate ? "migrate" : "run";
    if (parse_args(argc, argv, &a, migrate) != 0)
        return EXIT_USAGE;

    /* R1: the scenario and every --set are checked before anything runs. */
    struct scenario *sc = scenario_parse_file(a.scenario, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "hvlab %s: %s\n", cmd_name, err);
        return EXIT_USAGE;
    }
    for (unsigned i = 0; i < a.nr_sets; i++)
        if (scenario_set(sc, a.sets[i], "--set", err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab %s: %s\n", cmd_name, err);
            scenario_free(sc);
            return EXIT_USAGE;
        }
    for (unsigned i = 0; i < a.nr_injects; i++)
        if (scenario_inject(sc, a.injects[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab %s: %s\n", cmd_name, err);
            scenario_free(sc);
            return EXIT_USAGE;
        }
    if (migrate && !sc->mig.set) {
        fprintf(stderr, "hvlab migrate: %s: no 'migrate DOMAIN' line: which "
                "domain goes? (docs/scenarios.md)\n", a.scenario);
        scenario_free(sc);
        return EXIT_USAGE;
    }

    if (a.trace_dir) {
        scenario_free(sc);
        return traced_reexec(cmd_name, argc, argv, a.trace_dir);
    }
    struct run_opts o = {
        .seed = a.seed, .seed_given = a.seed_given, .sched = a.sched,
        .schedule_in = a.schedule_in, .schedule_out = a.schedule_out,
        .dump_tables = a.dump_tables, .inject_stats = a.inject_stats,
        .save_stream = a.save_stream, .images_dir = a.images_dir,
        .out = stdout, .err = stderr,
    };
    /* R5: the config the receiver rebuilds the run from. */
    char *text = NULL, *config = NULL, disk[PATH_MAX];
    bool temp = false;
    if (migrate) {
        struct mig_config mc = {
            .seed = a.seed_given ? a.seed : sc->seed,
            .from_host = sc->host_id,
        };
        snprintf(mc.scenario, sizeof(mc.scenario), "%s", a.scenario);
        pick_disk(&a, sc, disk, sizeof(disk), &temp);
        snprintf(mc.disk, sizeof(mc.disk), "%s", disk);
        if (!(text = read_text(a.scenario)) ||
            !(config = mig_config_build(&mc, text, a.sets, a.nr_sets,
                                        &o.mig_config_len))) {
            fprintf(stderr, "hvlab migrate: %s: %m\n", a.scenario);
            free(text);
            scenario_free(sc);
            return EXIT_USAGE;
        }
        o.mig_to = a.to;
        o.mig_config = config;
        o.mig_disk = disk[0] ? disk : NULL;
        o.mig_disk_temp = temp;
    }
    int rc = runner_run(sc, &o);
    fflush(stdout);
    if (temp)
        unlink(disk);
    free(text);
    free(config);
    scenario_free(sc);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    return run_or_migrate(argc, argv, false);
}

int cmd_migrate(int argc, char **argv)
{
    return run_or_migrate(argc, argv, true);
}
