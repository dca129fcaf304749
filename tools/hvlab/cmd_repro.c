/*
 * tools/hvlab/cmd_repro.c - `hvlab repro CRASH [--surface S] [--set K=V]...
 * [--minimize [--out FILE] [--max-runs N]] [--trace DIR|net://HOST]`: replay
 * one input of the hypercall fuzzer (docs/fuzz.md "Reproducing a finding").
 *
 * Rules:
 *   X1  Everything the user typed is checked before anything runs: the
 *       arguments, the surface, every --set (fuzz_set_option) and the
 *       CRASH file (readable, at most X_MAX_INPUT bytes).  A mistake is
 *       exit 2 naming it.
 *   X2  The surface: --surface, else the path's (fuzz_surface_of_path: the
 *       file name, then each directory from the innermost out; a name
 *       equal to a surface, or "SURFACE-..." / "SURFACE_..." / "...-SURFACE"
 *       as AFL++'s and libFuzzer's output dirs and the smoke's kept
 *       crashes are named; `hvlab fuzz` asks the same function whether a
 *       replay line needs --surface), else exit 2 asking for --surface.
 *   X3  The replay prints the decoded program (fuzz_print_program), runs
 *       it once (fuzz_one, which does not abort in this build) and prints
 *       "reproduced: INVARIANT after call N" and the audit's report (with
 *       the frames' recent history) - exit 1; or "does not reproduce: the
 *       program ran N calls, the audit is clean" - exit 0.
 *   X4  --trace records the replay as `hvlab run --trace` does
 *       (traced_reexec: this process re-executes itself, traced).
 *   X5  --minimize keeps an input only while it fails with the same
 *       invariant key (inv_key): the audit's name up to and including the
 *       invariant's number ("audit: invariant 1", "grant audit: invariant
 *       24"), so the same invariant on another frame still counts; a name
 *       without "invariant N" (isolation, paging, shadow) is compared with
 *       every number in it masked.  Phases: drop whole calls (the tail after
 *       the failing call first, then each call, last to first;
 *       fz_call_spans), ddmin over byte chunks, then each byte towards zero
 *       (0, then half).  At most --max-runs runs (2000); the output says
 *       when that bound stopped it.  The result goes to --out (CRASH.min);
 *       its program, the sizes and call counts before and after are
 *       printed, and it is replayed once more (X3's line, exit 1).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/prog.h"
#include "tools/hvlab/cmd.h"
#include "tools/hvlab/opt.h"
#include "tools/hvlab/traced.h"

#define X_MAX_INPUT     (1u << 20)      /* as the AFL++ harness reads */
#define X_MAX_SETS      64
#define X_DEFAULT_RUNS  2000

struct repro_args {
    const char *crash;
    int surface;                        /* -1: from the path */
    bool minimize;
    const char *out;
    unsigned long max_runs;
    const char *trace;
    const char *sets[X_MAX_SETS];
    unsigned nr_sets;
};

void cmd_repro_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab repro CRASH\n"
        "                   [--surface mm|grant|shadow|restore|race|hvmrace]\n"
        "                   [--set KEY=VALUE]... [--trace DIR|net://HOST]\n"
        "                   [--minimize [--out FILE] [--max-runs N]]\n"
        "\n"
        "Replay one input of the hypercall fuzzer (docs/fuzz.md): print its\n"
        "decoded program, run it once on the surface's world, and say whether\n"
        "an invariant broke, with the audit's report and the recent history of\n"
        "the frames involved.\n"
        "\n"
        "  --surface S       the harness the input came from; default: taken\n"
        "                    from the path (a file or directory named S, S-*,\n"
        "                    S_* or *-S, as the fuzz targets name their\n"
        "                    output: out-mm, lf-grant, smoke-crashes/mm-crash)\n"
        "  --set KEY=VALUE   switch a hypervisor option before the world is\n"
        "                    built (a bug-zoo behaviour: 'hvlab options');\n"
        "                    repeatable\n"
        "  --trace DIR|net://HOST[:CTRL[:DATA]]\n"
        "                    record the replay, as 'hvlab run --trace' does\n"
        "  --minimize        shrink the input while the same invariant still\n"
        "                    breaks (whole calls, then byte chunks, then bytes\n"
        "                    towards zero) and write it out\n"
        "  --out FILE        where the minimized input goes (default CRASH.min)\n"
        "  --max-runs N      bound of the minimization's runs (default 2000)\n"
        "\n"
        "Exit status: 1 the input reproduces a violation (printed as\n"
        "'reproduced: INVARIANT after call N'); 0 it does not; 2 usage error,\n"
        "unknown surface or option, or an unreadable file.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab repro: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab repro --help')\n");
    return EXIT_USAGE;
}

/* ---- options: one row each ------------------------------------------------ */
static int o_surface(struct repro_args *a, const char *v)
{
    a->surface = fuzz_surface_find(v);
    if (a->surface < 0)
        return usage_error("--surface %s: expected mm, grant, shadow, "
                           "restore, race or hvmrace", v);
    return 0;
}

static int o_set(struct repro_args *a, const char *v)
{
    if (a->nr_sets == X_MAX_SETS)
        return usage_error("too many --set options (at most %s)", "64");
    a->sets[a->nr_sets++] = v;
    return 0;
}

static int o_out(struct repro_args *a, const char *v)
{
    if (!*v)
        return usage_error("--out%s: needs a file", "");
    a->out = v;
    return 0;
}

static int o_max_runs(struct repro_args *a, const char *v)
{
    char *end;
    errno = 0;
    a->max_runs = strtoul(v, &end, 0);
    if (errno || !*v || *end || *v == '-' || !a->max_runs)
        return usage_error("--max-runs %s: expected a positive number", v);
    return 0;
}

static int o_trace(struct repro_args *a, const char *v)
{
    if (!*v)
        return usage_error("--trace%s: needs a directory or "
                           "net://HOST[:CTRL_PORT[:DATA_PORT]]", "");
    a->trace = v;
    return 0;
}

static const struct repro_option {
    const char *name;
    int (*set)(struct repro_args *a, const char *value);
} repro_options[] = {
    { "--surface",  o_surface },
    { "--set",      o_set },
    { "--out",      o_out },
    { "--max-runs", o_max_runs },
    { "--trace",    o_trace },
};

static int parse_args(int argc, char **argv, struct repro_args *a)
{
    memset(a, 0, sizeof(*a));
    a->surface = -1;
    a->max_runs = X_DEFAULT_RUNS;
    bool runs_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--minimize") == 0) {
            a->minimize = true;
            continue;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->crash)
                return usage_error("one input at a time ('%s' is a second "
                                   "one)", arg);
            a->crash = arg;
            continue;
        }
        static const char *const names[] = {
            "--surface", "--set", "--out", "--max-runs", "--trace",
        };
        _Static_assert(sizeof(names) / sizeof(names[0]) ==
                       sizeof(repro_options) / sizeof(repro_options[0]),
                       "one name per option row");
        const char *value = NULL;
        int k = opt_match("repro", argc, argv, &i, names,
                          sizeof(names) / sizeof(names[0]), &value);
        if (k < 0)
            return -1;
        if ((size_t)k == sizeof(names) / sizeof(names[0]))
            return usage_error("unknown option '%s'", arg);
        const struct repro_option *o = &repro_options[k];
        if (o->set(a, value) != 0)
            return -1;
        if (o->set == o_max_runs)
            runs_given = true;
    }
    if (!a->crash)
        return usage_error("%s", "missing the CRASH file (an input the fuzzer "
                           "saved)");
    if ((a->out || runs_given) && !a->minimize)
        return usage_error("%s", "--out and --max-runs go with --minimize");
    return 0;
}

/* ---- the input -------------------------------------------------------------- */

/* X1: the whole file, or NULL with errno set (EFBIG: too big). */
static uint8_t *read_input(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(X_MAX_INPUT + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, X_MAX_INPUT + 1, f);
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        errno = e ? e : EIO;
        return NULL;
    }
    if (n > X_MAX_INPUT) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    *len = n;
    return buf;
}

static int write_input(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = len ? fwrite(p, 1, len, f) : 0;
    if (fclose(f) != 0 || n != len)
        return -1;
    return 0;
}

static unsigned ncalls_of(enum fuzz_surface s, const uint8_t *p, size_t len)
{
    static size_t st[FUZZ_MAX_CALLS], en[FUZZ_MAX_CALLS];
    return fz_call_spans(s, p, len, st, en, FUZZ_MAX_CALLS);
}

/* ---- X5: the minimizer -------------------------------------------------------- */

/* The invariant's key (X5). */
static void inv_key(const char *inv, char *key, size_t len)
{
    const char *at = strstr(inv, "invariant ");
    size_t n = 0;
    if (at) {
        const char *e = at + strlen("invariant ");
        while (*e && !isspace((unsigned char)*e) && *e != ':' && *e != '(')
            e++;
        n = (size_t)(e - inv);
        if (n >= len)
            n = len - 1;
        memcpy(key, inv, n);
        key[n] = '\0';
        return;
    }
    for (const char *c = inv; *c && n + 1 < len;) {
        if (isdigit((unsigned char)*c)) {
            key[n++] = 'N';
            while (isxdigit((unsigned char)*c) || *c == 'x')
                c++;
        } else {
            key[n++] = *c++;
        }
    }
    key[n] = '\0';
}

struct minimizer {
    enum fuzz_surface s;
    char key[96];
    unsigned long runs, max_runs;
    bool bounded;                       /* the bound stopped it */
    uint8_t *best;
    size_t len;
    uint8_t *cand;                      /* scratch, X_MAX_INPUT bytes */
};

/* Does cand[0..len) still fail with the same key?  Counts a run. */
static bool still_fails(struct minimizer *m, const uint8_t *p, size_t len)
{
    static struct fuzz_result res;
    char key[96];
    if (m->runs >= m->max_runs) {
        m->bounded = true;
        return false;
    }
    m->runs++;
    if (!fuzz_one(m->s, p, len, &res))
        return false;
    inv_key(res.invariant, key, sizeof(key));
    return strcmp(key, m->key) == 0;
}

/* Try best without [from, to); keep it when it still fails. */
static bool try_cut(struct minimizer *m, size_t from, size_t to)
{
    if (from >= to || to > m->len)
        return false;
    size_t n = 0;
    memcpy(m->cand, m->best, from);
    n = from;
    memcpy(m->cand + n, m->best + to, m->len - to);
    n += m->len - to;
    if (!still_fails(m, m->cand, n))
        return false;
    memcpy(m->best, m->cand, n);
    m->len = n;
    return true;
}

/* Phase 1: whole calls. */
static void drop_calls(struct minimizer *m, unsigned at_call)
{
    static size_t st[FUZZ_MAX_CALLS], en[FUZZ_MAX_CALLS];
    unsigned n = fz_call_spans(m->s, m->best, m->len, st, en, FUZZ_MAX_CALLS);
    /* The tail after the failing call; bytes past the last call too. */
    if (n && at_call + 1 < n)
        (void)try_cut(m, en[at_call], m->len);
    else if (n && en[n - 1] < m->len)
        (void)try_cut(m, en[n - 1], m->len);
    n = fz_call_spans(m->s, m->best, m->len, st, en, FUZZ_MAX_CALLS);
    for (unsigned i = n; i-- > 0 && !m->bounded;) {
        n = fz_call_spans(m->s, m->best, m->len, st, en, FUZZ_MAX_CALLS);
        if (i < n)
            (void)try_cut(m, st[i], en[i]);
    }
}

/* Phase 2: ddmin over byte chunks (complements of one chunk each). */
static void ddmin(struct minimizer *m)
{
    size_t parts = 2;
    while (m->len >= 2 && !m->bounded) {
        size_t chunk = (m->len + parts - 1) / parts;
        bool cut = false;
        for (size_t from = 0; from < m->len && !m->bounded; from += chunk) {
            size_t to = from + chunk < m->len ? from + chunk : m->len;
            if (try_cut(m, from, to)) {
                cut = true;
                break;
            }
        }
        if (cut) {
            parts = parts > 2 ? parts - 1 : 2;
        } else {
            if (parts >= m->len)
                break;
            parts = parts * 2 < m->len ? parts * 2 : m->len;
        }
    }
}

/* Phase 3: each byte towards zero. */
static void bytes_to_zero(struct minimizer *m)
{
    for (size_t i = 0; i < m->len && !m->bounded; i++) {
        uint8_t b = m->best[i];
        while (b && !m->bounded) {
            memcpy(m->cand, m->best, m->len);
            m->cand[i] = 0;
            if (still_fails(m, m->cand, m->len)) {
                m->best[i] = 0;
                break;
            }
            m->cand[i] = b / 2;
            if (b / 2 == 0 || !still_fails(m, m->cand, m->len))
                break;
            m->best[i] = b = b / 2;
        }
    }
}

/* ---- the command ---------------------------------------------------------- */

static void print_program(enum fuzz_surface s, const uint8_t *p, size_t len)
{
    printf("program (%s, %zu bytes, %u calls):\n", fuzz_surface_name(s), len,
           ncalls_of(s, p, len));
    fuzz_print_program(s, p, len, stdout);
}

/* X3: one run; the exit code. */
static int replay(enum fuzz_surface s, const uint8_t *p, size_t len,
                  struct fuzz_result *res)
{
    if (fuzz_one(s, p, len, res)) {
        printf("reproduced: %s after call %u\n", res->invariant, res->at_call);
        printf("%s", res->report);
        if (res->report[0] && res->report[strlen(res->report) - 1] != '\n')
            printf("\n");
        return EXIT_BROKEN;
    }
    printf("does not reproduce: the program ran %u calls, the audit is "
           "clean\n", res->calls_run);
    return EXIT_HELD;
}

static int minimize(const struct repro_args *a, enum fuzz_surface s,
                    uint8_t *data, size_t len, const struct fuzz_result *first)
{
    static char out_path[4096];
    if (a->out)
        snprintf(out_path, sizeof(out_path), "%s", a->out);
    else if (snprintf(out_path, sizeof(out_path), "%s.min", a->crash) >=
             (int)sizeof(out_path)) {
        fprintf(stderr, "hvlab repro: %s.min: the name is too long\n",
                a->crash);
        return EXIT_USAGE;
    }
    struct minimizer m = { .s = s, .max_runs = a->max_runs, .len = len };
    inv_key(first->invariant, m.key, sizeof(m.key));
    m.best = malloc(len ? len : 1);
    m.cand = malloc(len ? len : 1);
    if (!m.best || !m.cand) {
        free(m.best);
        free(m.cand);
        fprintf(stderr, "hvlab repro: out of memory\n");
        return EXIT_USAGE;
    }
    memcpy(m.best, data, len);
    unsigned calls0 = ncalls_of(s, data, len);

    printf("\nminimizing: keeping inputs that break '%s'\n", m.key);
    fflush(stdout);
    drop_calls(&m, first->at_call);
    ddmin(&m);
    if (!m.bounded)
        drop_calls(&m, first->at_call);
    bytes_to_zero(&m);

    int rc = EXIT_BROKEN;
    if (write_input(out_path, m.best, m.len) != 0) {
        fprintf(stderr, "hvlab repro: %s: %s\n", out_path, strerror(errno));
        rc = EXIT_USAGE;
    } else {
        printf("minimized: %zu bytes, %u calls -> %zu bytes, %u calls "
               "(%lu runs) in %s\n", len, calls0, m.len,
               ncalls_of(s, m.best, m.len), m.runs, out_path);
        if (m.bounded)
            printf("minimization stopped by the bound of %lu runs "
                   "(--max-runs); the input may shrink further\n",
                   m.max_runs);
        print_program(s, m.best, m.len);
        static struct fuzz_result res;
        rc = replay(s, m.best, m.len, &res);
    }
    free(m.best);
    free(m.cand);
    return rc;
}

int cmd_repro(int argc, char **argv)
{
    struct repro_args a;
    char err[768];
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;

    /* X2. */
    int s = a.surface >= 0 ? a.surface : fuzz_surface_of_path(a.crash);
    if (s < 0) {
        fprintf(stderr, "hvlab repro: %s: cannot tell the surface from the "
                "path; give --surface mm|grant|shadow|restore|race|hvmrace\n",
                a.crash);
        return EXIT_USAGE;
    }
    /* X1: the options and the file before anything runs. */
    for (unsigned i = 0; i < a.nr_sets; i++)
        if (fuzz_set_option(a.sets[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab repro: --set %s: %s\n", a.sets[i], err);
            return EXIT_USAGE;
        }
    size_t len = 0;
    uint8_t *data = read_input(a.crash, &len);
    if (!data) {
        fprintf(stderr, "hvlab repro: %s: %s\n", a.crash,
                errno == EFBIG ? "larger than 1 MiB, not a fuzzer input"
                               : strerror(errno));
        return EXIT_USAGE;
    }
    if (a.trace) {                                          /* X4 */
        free(data);
        return traced_reexec("repro", argc, argv, a.trace);
    }
    if (fuzz_init((enum fuzz_surface)s) != 0) {
        fprintf(stderr, "hvlab repro: the %s world could not be built\n",
                fuzz_surface_name((enum fuzz_surface)s));
        free(data);
        return EXIT_USAGE;
    }

    print_program((enum fuzz_surface)s, data, len);
    static struct fuzz_result res;
    int rc = replay((enum fuzz_surface)s, data, len, &res);
    if (a.minimize) {
        if (rc == EXIT_BROKEN)
            rc = minimize(&a, (enum fuzz_surface)s, data, len, &res);
        else
            printf("nothing to minimize: the input does not break an "
                   "invariant\n");
    }
    fflush(stdout);
    free(data);
    return rc;
}
