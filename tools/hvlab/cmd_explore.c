/*
 * tools/hvlab/cmd_explore.c - `hvlab explore SCENARIO --runs N | --fail-nth`.
 *
 * Rules:
 *   E1  Everything the user typed is checked before anything runs (as
 *       `hvlab run` R1): a mistake is exit 2 naming it.
 *   E2  Every finding is printed with the exact `hvlab run` line that
 *       replays it: the scenario, --sched det, the seed, every --set and
 *       --inject in the order given, shell-quoted.
 *   E3  Exit 0: no run broke; 1: some did (or crashed); 2: usage, scenario
 *       error, or runs that could not run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolstack/explore.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"
#include "tools/hvlab/cmd.h"

#define MAX_SETS 64
#define MAX_INJECTS 64

void cmd_explore_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab explore SCENARIO --runs N [--jobs J] [--first-seed S]\n"
        "                     [--set KEY=VALUE]... [--inject SPEC|FILE]...\n"
        "       hvlab explore SCENARIO --fail-nth [--max-nth K] [--seed S]\n"
        "                     [--jobs J] [--set KEY=VALUE]... [--inject ...]\n"
        "\n"
        "Search a scenario in det mode (docs/explore.md).\n"
        "\n"
        "  --runs N          run seeds S .. S+N-1 (--sched det) and report every\n"
        "                    seed that broke an expectation, with the one line\n"
        "                    that replays it\n"
        "  --first-seed S    the first seed (default 1)\n"
        "  --max-findings K  stop once K seeds broke (seeds below the K-th\n"
        "                    found still finish)\n"
        "  --jobs J          worker processes (default 1); results are printed\n"
        "                    in seed order whatever J\n"
        "  --fail-nth        at one seed (--seed, default the scenario's), fail\n"
        "                    the 1st, 2nd, ... hit of every point that can fail\n"
        "                    ('hvlab inject list'), one fresh process per run;\n"
        "                    report runs that leaked (audit after teardown, heap\n"
        "                    frames not back), deadlocked or crashed\n"
        "  --max-nth K       fail-nth: at most the first K hits of each point\n"
        "  --set, --inject   as for 'hvlab run'; part of every replay line\n"
        "  -v, --verbose     also list the seeds that held\n"
        "\n"
        "Exit status: 0 no run broke; 1 some run broke (or crashed); 2 usage\n"
        "or scenario error.\n");
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab explore: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab explore --help')\n");
    return EXIT_USAGE;
}

static int parse_u64(const char *opt, const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    *out = strtoull(v, &end, 0);
    if (errno || !*v || *end || *v == '-') {
        fprintf(stderr, "hvlab explore: %s %s: not a number\n"
                "(see 'hvlab explore --help')\n", opt, v);
        return -1;
    }
    return 0;
}

/* Append arg to buf, single-quoted when the shell would need it. */
static void append_arg(char *buf, size_t len, const char *arg)
{
    size_t n = strlen(buf);
    bool plain = *arg != '\0';
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_./=:,%+@", *p))
            plain = false;
    if (plain) {
        snprintf(buf + n, len - n, " %s", arg);
        return;
    }
    n += (size_t)snprintf(buf + n, len - n, " '");
    for (const char *p = arg; *p && n + 5 < len; p++) {
        if (*p == '\'')
            n += (size_t)snprintf(buf + n, len - n, "'\\''");
        else
            buf[n++] = *p;
    }
    snprintf(buf + n, len - n, "'");
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i; NULL if not
   this option.  *missing is set when the value is missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cmd_explore(int argc, char **argv)
{
    const char *scenario = NULL;
    const char *sets[MAX_SETS], *injects[MAX_INJECTS];
    unsigned nr_sets = 0, nr_injects = 0;
    uint64_t runs = 0, jobs = 1, first = 1, max_nth = 0, seed = 0;
    uint64_t max_findings = 0;
    bool runs_given = false, fail_nth = false, seed_given = false;
    bool first_given = false, verbose = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (a[0] != '-' || a[1] == '\0') {
            if (scenario)
                return usage("one scenario at a time ('%s' is a second one)", a);
            scenario = a;
        } else if (strcmp(a, "--fail-nth") == 0) {
            fail_nth = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = true;
        } else if ((v = opt_value(argc, argv, &i, "--runs", &missing))) {
            if (parse_u64("--runs", v, &runs) != 0)
                return EXIT_USAGE;
            runs_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--jobs", &missing))) {
            if (parse_u64("--jobs", v, &jobs) != 0)
                return EXIT_USAGE;
        } else if ((v = opt_value(argc, argv, &i, "--first-seed", &missing))) {
            if (parse_u64("--first-seed", v, &first) != 0)
                return EXIT_USAGE;
            first_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--seed", &missing))) {
            if (parse_u64("--seed", v, &seed) != 0)
                return EXIT_USAGE;
            seed_given = true;
        } else if ((v = opt_value(argc, argv, &i, "--max-findings", &missing))) {
            if (parse_u64("--max-findings", v, &max_findings) != 0)
                return EXIT_USAGE;
        } else if ((v = opt_value(argc, argv, &i, "--max-nth", &missing))) {
            if (parse_u64("--max-nth", v, &max_nth) != 0)
                return EXIT_USAGE;
        } else if ((v = opt_value(argc, argv, &i, "--set", &missing))) {
            if (nr_sets == MAX_SETS)
                return usage("too many --set options (at most %s)", "64");
            sets[nr_sets++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--inject", &missing))) {
            if (nr_injects == MAX_INJECTS)
                return usage("too many --inject options (at most %s)", "64");
            injects[nr_injects++] = v;
        } else if (missing) {
            return usage("%s: missing its value", a);
        } else {
            return usage("unknown option '%s'", a);
        }
    }
    if (!scenario)
        return usage("%s", "missing the SCENARIO file");
    if (fail_nth == runs_given)
        return usage("%s", "give either --runs N or --fail-nth");
    if (runs_given && (runs == 0 || runs > 100000000))
        return usage("%s", "--runs: between 1 and 100000000");
    if (jobs == 0 || jobs > 1024)
        return usage("%s", "--jobs: between 1 and 1024");
    if (runs_given && (seed_given || max_nth))
        return usage("%s", "--seed and --max-nth go with --fail-nth "
                     "(--runs takes --first-seed)");
    if (fail_nth && first_given)
        return usage("%s", "--first-seed goes with --runs (--fail-nth takes "
                     "--seed)");
    if (max_nth > 1000000)
        return usage("%s", "--max-nth: at most 1000000");

    char err[1024];
    struct scenario *sc = scenario_parse_file(scenario, err, sizeof(err));
    if (!sc) {
        fprintf(stderr, "hvlab explore: %s\n", err);
        return EXIT_USAGE;
    }
    for (unsigned i = 0; i < nr_sets; i++)
        if (scenario_set(sc, sets[i], "--set", err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab explore: %s\n", err);
            scenario_free(sc);
            return EXIT_USAGE;
        }
    for (unsigned i = 0; i < nr_injects; i++)
        if (scenario_inject(sc, injects[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab explore: %s\n", err);
            scenario_free(sc);
            return EXIT_USAGE;
        }

    /* E2: the replay line. */
    char prefix[1024] = "hvlab run";
    append_arg(prefix, sizeof(prefix), scenario);
    append_arg(prefix, sizeof(prefix), "--sched");
    append_arg(prefix, sizeof(prefix), "det");
    static char suffix[16384];
    suffix[0] = '\0';
    for (unsigned i = 0; i < nr_sets; i++) {
        append_arg(suffix, sizeof(suffix), "--set");
        append_arg(suffix, sizeof(suffix), sets[i]);
    }
    for (unsigned i = 0; i < nr_injects; i++) {
        append_arg(suffix, sizeof(suffix), "--inject");
        append_arg(suffix, sizeof(suffix), injects[i]);
    }

    struct explore_opts o = {
        .first_seed = fail_nth ? (seed_given ? seed : sc->seed) : first,
        .runs = (unsigned)runs, .jobs = (unsigned)jobs,
        .max_nth = (unsigned)max_nth,
        .max_findings = max_findings > 100000000 ? 100000000
                                                 : (unsigned)max_findings,
        .replay_prefix = prefix,
        .replay_suffix = suffix, .verbose = verbose,
        .out = stdout, .err = stderr,
    };
    struct explore_summary sum;
    int rc = fail_nth ? explore_fail_nth(sc, &o, &sum)
                      : explore_seeds(sc, &o, &sum);
    fflush(stdout);
    scenario_free(sc);
    return rc;
}
