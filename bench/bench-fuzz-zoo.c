/*
 * bench/bench-fuzz-zoo.c - the bug zoo as a fuzzing benchmark: how long a
 * fresh campaign takes to find each historical bug (`make bench-zoo`,
 * docs/bugzoo.md "Time to find").  Long, so not part of `make bench`.
 *
 * Rules:
 *   Z1  One row per zoo option (docs/bugzoo.md, docs/grant.md) and per
 *       historical non-XSA option.  A row the fuzz surface cannot reach
 *       (a race between vCPUs, an operation the surface has no op for) or
 *       whose bug the oracle cannot see (the audit stays clean by design)
 *       is printed with that reason and not run.
 *   Z2  A campaign is a fresh single-core AFL++ run of the surface's
 *       harness $BUILD/fuzz/afl-SURFACE with HVLAB_FUZZ_SET=OPT=on (plus
 *       the row's extra settings), an empty output dir, the surface's
 *       seeds (fuzz/seeds/SURFACE, else one zero byte), its dictionary
 *       when present, AFL_BENCH_UNTIL_CRASH (stop at the first crash) and
 *       -V CAP.  Without afl-fuzz or the harness (or with
 *       BENCH_ZOO_MODE=inproc) it is an in-process loop in a forked child:
 *       random inputs through fuzz_one with the fork reset.  A row of the
 *       race or hvmrace surface uses $BUILD/fuzz/afl-SURFACE when it is
 *       built, else the in-process loop; its AFL++ campaign loads the
 *       surface's custom mutator $BUILD/fuzz/mutator-SURFACE.so when built
 *       (fuzz/main/mutator.c).  A campaign of a race surface or of grant
 *       walks the queue in order (-Z), as `hvlab fuzz` runs them
 *       (fuzz_surface_in_order, tools/hvlab/cmd_fuzz.c F11).
 *   Z3  Time to find = the first crash file's mtime minus the moment the
 *       campaign was started (world build and calibration included).  A
 *       crash counts only when it is confirmed: its input, run through
 *       fuzz_one in a fresh child with the same settings, is a violation
 *       of one of the row's expected kinds, and with the option off it is
 *       clean.  Anything else is reported as "other" and not counted.
 *   Z4  BENCH_ZOO_RUNS (default 3) campaigns per row, BENCH_ZOO_CAP
 *       seconds each (default 300); per row the median of all runs (a
 *       run that did not find it counts as later than the cap: ">cap"
 *       when that is the median), min and max of the found runs and found
 *       k/n, as `figure zoo_<opt>_median_s` lines and a table.  BENCH_ZOO_ONLY="opt,opt" restricts the rows.
 *   Z5  Then a clean campaign with every option off, BENCH_ZOO_CLEAN_SECS
 *       (default 600; 3600 is the CPU-hour) split evenly over all six
 *       surfaces (mm, grant, shadow, restore, race, hvmrace), each an
 *       AFL++ campaign when its harness is built, else the in-process
 *       loop: figure zoo_clean_crashes must be 0.
 *       BENCH_ZOO_CLEAN_SECS=0 skips it.
 *       The work dir goes at the end unless BENCH_ZOO_KEEP is set.
 *   Z6  Runs only with BENCH_ZOO=1 (the make target sets it): under
 *       bench/run.sh it prints a skip line.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/hvmrace.h"
#include "fuzz/isolation.h"
#include "fuzz/race.h"

struct zoo_row {
    const char *opt;            /* key; "=on" unless value is given */
    const char *value;          /* NULL: "on" */
    const char *extra;          /* more HVLAB_FUZZ_SET settings, or NULL */
    enum fuzz_surface surface;
    const char *kinds[4];       /* expected violation prefixes (Z3) */
    const char *skip;           /* Z1: why it is not run, or NULL */
};

static const struct zoo_row rows[] = {
    { "mm.xsa182", NULL, NULL, FUZZ_MM,
      { "isolation: writable page-table mapping", "audit: invariant 9" },
      NULL },
    { "mm.xsa148", NULL, NULL, FUZZ_MM,
      { "audit: invariant 9", "isolation:" }, NULL },
    { "mm.xsa240", NULL, NULL, FUZZ_MM, { "audit: invariant 10" }, NULL },
    { "mm.xsa309", NULL, "mm.preempt_budget=2", FUZZ_MM,
      { "audit: invariant 10" }, NULL },
    { "mm.xsa279", NULL, NULL, FUZZ_MM, { "host crash" }, NULL },
    { "grant.xsa224", NULL, NULL, FUZZ_GRANT,
      { "audit: invariant 4", "audit: invariant 2",
        "grant audit: invariant 25" },
      NULL },
    { "grant.xsa227", NULL, NULL, FUZZ_GRANT,
      { "audit: invariant 9", "grant audit: invariant 26",
        "audit: invariant 1" }, NULL },
    { "grant.xsa234", NULL, NULL, FUZZ_GRANT,
      { "grant audit: invariant 26", "audit: invariant 2",
        "audit: invariant 4", "isolation:" }, NULL },
    /* fuzz/isolation.c I7: the freed status frame still mapped. */
    { "grant.xsa255", NULL, NULL, FUZZ_GRANT, { FZ_ISO_RELEASED }, NULL },
    /* fuzz/call.c CA7: the status is no GNTST_* code. */
    { "grant.xsa316", NULL, NULL, FUZZ_GRANT, { FZ_CONTRACT_GRANT }, NULL },
    /* Historical behaviours that are not XSAs (Z1). */
    /* Story A on the hvmrace surface: fuzz/hvmrace.c H4. */
    { "shadow.fastpath_oos", "racy", NULL, FUZZ_HVMRACE,
      { FZ_HVMRACE_SPURIOUS }, NULL },
    /* Story B on the hvmrace surface: the mapper's check (fuzz/call.c CA9)
       or the audit's invariant 22 (a writable mapping of a shared frame). */
    { "p2m.lock", "none", NULL, FUZZ_HVMRACE,
      { FZ_HVMRACE_STALE, "audit: invariant 22" }, NULL },
    /* fuzz/race.c RC5: the spurious fault of story C. */
    { "ptwr.mode", "unhook", NULL, FUZZ_RACE, { FZ_RACE_SPURIOUS }, NULL },
    /* Story D: the audit's invariant 12 (what getpageframeinfo3 would
       report) fires after the call that devalidates a table; the mm
       surface issues the domctl too (fuzz/call.c CA8). */
    { "mm.pfinfo_devalidated", "pt", NULL, FUZZ_MM,
      { "audit: invariant 12" }, NULL },
};
#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 10) : dflt;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void row_set(const struct zoo_row *r, bool on, char *buf, size_t len)
{
    if (on)         /* the option, then the row's extras */
        snprintf(buf, len, "%s=%s%s%s", r->opt, r->value ? r->value : "on",
                 r->extra ? "," : "", r->extra ? r->extra : "");
    else            /* the option at its default: only the extras */
        snprintf(buf, len, "%s", r->extra ? r->extra : "");
}

/* ---- Z3: confirmation in a fresh child --------------------------------- */

/* Run data through fuzz_one with settings `set` in a child; the violation's
   name goes to inv ("" when clean).  0, or -1 if the child failed. */
static int replay_input(enum fuzz_surface s, const char *set,
                        const uint8_t *data, size_t len, char *inv,
                        size_t invlen)
{
    int p[2];
    if (pipe(p))
        return -1;
    fflush(stdout);             /* a child's exit must not print it again */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        char err[256];
        static struct fuzz_result res;
        if (fuzz_set_options(set, err, sizeof(err)))
            _exit(2);
        fuzz_set_reset(FUZZ_RESET_REBUILD);
        int v = fuzz_one(s, data, len, &res);
        const char *name = v ? res.invariant : "";
        ssize_t w = write(p[1], name, strlen(name));
        (void)w;
        _exit(0);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < invlen &&
           (n = read(p[0], inv + got, invlen - 1 - got)) > 0)
        got += (size_t)n;
    inv[got] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) {      /* F4: the hypervisor itself died */
        snprintf(inv, invlen, "host crash (signal %d)", WTERMSIG(st));
        return 0;
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static bool kind_ok(const struct zoo_row *r, const char *inv)
{
    for (unsigned i = 0; i < 4 && r->kinds[i]; i++)
        if (!strncmp(inv, r->kinds[i], strlen(r->kinds[i])))
            return true;
    return false;
}

/* 1 confirmed, 0 not (why in note). */
static int confirm(const struct zoo_row *r, const uint8_t *data, size_t len,
                   char *note, size_t notelen)
{
    char on[256], off[256], inv[128], inv_off[128];
    row_set(r, true, on, sizeof(on));
    row_set(r, false, off, sizeof(off));
    if (replay_input(r->surface, on, data, len, inv, sizeof(inv)) || !*inv) {
        snprintf(note, notelen, "does not replay through fuzz_one");
        return 0;
    }
    if (!kind_ok(r, inv)) {
        snprintf(note, notelen, "other kind: %s", inv);
        return 0;
    }
    if (replay_input(r->surface, off, data, len, inv_off, sizeof(inv_off)) ||
        *inv_off) {
        snprintf(note, notelen, "also without the option: %s", inv_off);
        return 0;
    }
    snprintf(note, notelen, "%s", inv);
    return 1;
}

static int read_file(const char *path, uint8_t *buf, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    *len = fread(buf, 1, max, f);
    fclose(f);
    return 0;
}

/* ---- Z2: one AFL++ campaign -------------------------------------------- */

static char tmpdir[256];

static const char *seeds_for(enum fuzz_surface s)
{
    static char path[512];
    snprintf(path, sizeof(path), "fuzz/seeds/%s", fuzz_surface_name(s));
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        bool any = false;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                any = true;
        closedir(d);
        if (any)
            return path;
    }
    snprintf(path, sizeof(path), "%s/seeds-zero", tmpdir);
    mkdir(path, 0700);
    char f[600];
    snprintf(f, sizeof(f), "%s/zero", path);
    FILE *fp = fopen(f, "wb");
    if (fp) {
        fputc(0, fp);
        fclose(fp);
    }
    return path;
}

/* The earliest crash file of an AFL++ output dir: path and mtime. */
static int first_crash(const char *out, char *path, size_t len, double *mt)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/default/crashes", out);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int found = -1;
    *mt = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "id:", 3))
            continue;
        char p[900];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (stat(p, &st))
            continue;
        double t = st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
        if (found < 0 || t < *mt) {
            *mt = t;
            snprintf(path, len, "%s", p);
            found = 0;
        }
    }
    closedir(d);
    return found;
}

/* A number of the campaign's fuzzer_stats (the first of the keys it
   has), or ~0 if there is none. */
static unsigned long afl_stat(const char *out, const char *key,
                              const char *alt)
{
    char p[600], line[256];
    snprintf(p, sizeof(p), "%s/default/fuzzer_stats", out);
    FILE *f = fopen(p, "r");
    unsigned long n = ~0ul;
    if (!f)
        return n;
    while (fgets(line, sizeof(line), f)) {
        char *c = strchr(line, ':');
        if (!c)
            continue;
        size_t k = strcspn(line, " :");
        if ((k == strlen(key) && !strncmp(line, key, k)) ||
            (alt && k == strlen(alt) && !strncmp(line, alt, k)))
            n = strtoul(c + 1, NULL, 10);
    }
    fclose(f);
    return n;
}

static unsigned afl_saved_crashes(const char *out)
{
    return (unsigned)afl_stat(out, "saved_crashes", "unique_crashes");
}

/* The campaign's "stability" line's value ("100.00%"), or "?". */
static const char *afl_stability(const char *out)
{
    static char v[32];
    char p[600], line[256];
    snprintf(p, sizeof(p), "%s/default/fuzzer_stats", out);
    FILE *f = fopen(p, "r");
    snprintf(v, sizeof(v), "?");
    if (!f)
        return v;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "stability", 9) && strchr(line, ':'))
            sscanf(strchr(line, ':') + 1, " %31s", v);
    fclose(f);
    return v;
}

/* Start afl-fuzz on the surface with settings `set` for cap seconds into a
   fresh dir; stop_at_crash sets AFL_BENCH_UNTIL_CRASH.  Returns the output
   dir in out and the start time, or -1 if afl-fuzz did not start. */
static int afl_campaign(enum fuzz_surface s, const char *set, unsigned cap,
                        bool stop_at_crash, const char *tag, char *out,
                        size_t outlen, double *t0)
{
    static unsigned seq;
    const char *sn = fuzz_surface_name(s);
    snprintf(out, outlen, "%s/out-%s-%s-%u", tmpdir, sn, tag, seq++);
    char dict[256] = "";
    char dpath[128];
    snprintf(dpath, sizeof(dpath), "fuzz/dict/%s.dict", sn);
    if (access(dpath, R_OK) == 0)
        snprintf(dict, sizeof(dict), "-x '%s'", dpath);
    /* Z2: a race surface's campaign loads its custom mutator when built
       (fuzz/main/mutator.c: interleavings of a queue entry's program). */
    char mut[600] = "";
    char mpath[512];
    snprintf(mpath, sizeof(mpath), "%s/fuzz/mutator-%s.so", build_dir(), sn);
    if (access(mpath, R_OK) == 0)
        snprintf(mut, sizeof(mut), "AFL_CUSTOM_MUTATOR_LIBRARY='%s' ", mpath);
    char cmd[3072];
    snprintf(cmd, sizeof(cmd),
             "%sHVLAB_FUZZ_SET='%s' AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 "
             "AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 "
             "AFL_SKIP_CRASHES=1 %s afl-fuzz -i '%s' -o '%s' -V %u %s%s -- "
             "'%s/fuzz/afl-%s' >'%s.log' 2>&1",
             mut, set, stop_at_crash ? "AFL_BENCH_UNTIL_CRASH=1" : "",
             seeds_for(s), out, cap, dict,
             fuzz_surface_in_order(s) ? " -Z" : "", build_dir(),
             sn, out);
    *t0 = now_s();
    int rc = system(cmd);
    (void)rc;
    char st[700];
    snprintf(st, sizeof(st), "%s/default/fuzzer_stats", out);
    return access(st, R_OK) == 0 ? 0 : -1;
}

/* ---- Z2: the in-process fallback --------------------------------------- */

/* A child runs random inputs until a violation or the cap; the input of
   the first violation is written to path.  Seconds to find, or -1. */
static double inproc_campaign(enum fuzz_surface s, const char *set,
                              unsigned cap, unsigned seed, const char *path)
{
    double t0 = now_s();
    fflush(stdout);             /* a child's exit must not print it again */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char err[256], log[400];
        static struct fuzz_result res;
        snprintf(log, sizeof(log), "%s/inproc.log", tmpdir);
        if (!freopen(log, "a", stderr))
            _exit(2);
        if (fuzz_set_options(set, err, sizeof(err)))
            _exit(2);
        fuzz_set_reset(FUZZ_RESET_FORK);
        if (fuzz_init(s))
            _exit(2);
        uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
        uint8_t buf[256];
        while (now_s() - t0 < cap) {
            size_t len = 1;
            for (size_t i = 0; i < sizeof(buf); i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (uint8_t)x;
            }
            len = 1 + (size_t)(x >> 40) % sizeof(buf);
            /* Written first: a host crash kills this child mid-run. */
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(buf, 1, len, f);
                fclose(f);
            }
            if (fuzz_one(s, buf, len, &res))
                _exit(1);
        }
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if ((WIFEXITED(st) && WEXITSTATUS(st) == 1) || WIFSIGNALED(st))
        return now_s() - t0;
    return -1;
}

/* ---- Z4: per row ------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool zoo_selected(const char *opt)
{
    const char *only = getenv("BENCH_ZOO_ONLY");
    if (!only || !*only)
        return true;
    size_t n = strlen(opt);
    for (const char *p = only; (p = strstr(p, opt)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return true;
    return false;
}

struct row_result {
    unsigned found, runs, other;
    double med, min, max;
    bool ran;
};

static void fig_name(const char *opt, char *buf, size_t len)
{
    snprintf(buf, len, "%s", opt);
    for (char *c = buf; *c; c++)
        if (*c == '.')
            *c = '_';
}

int main(void)
{
    if (!getenv("BENCH_ZOO") || strcmp(getenv("BENCH_ZOO"), "1")) {
        printf("skip - bench-fuzz-zoo: long (minutes per bug); run "
               "`make bench-zoo`\n");
        return 0;
    }
    unsigned runs = env_uint("BENCH_ZOO_RUNS", 3);
    unsigned cap = env_uint("BENCH_ZOO_CAP", 300);
    unsigned clean = env_uint("BENCH_ZOO_CLEAN_SECS", 600);
    const char *mode = getenv("BENCH_ZOO_MODE");
    if (runs == 0)
        runs = 1;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hvlab-zoo-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    bool afl = !(mode && !strcmp(mode, "inproc")) &&
               system("command -v afl-fuzz >/dev/null 2>&1") == 0;
    char bin[512];
    for (unsigned s = FUZZ_MM; afl && s <= FUZZ_GRANT; s++) {
        snprintf(bin, sizeof(bin), "%s/fuzz/afl-%s", build_dir(),
                 fuzz_surface_name((enum fuzz_surface)s));
        if (access(bin, X_OK)) {
            printf("note: %s not built (make fuzz-afl): in-process "
                   "campaigns\n", bin);
            afl = false;
        }
    }
    /* Z2: a row on another surface (race, hvmrace) without its harness
       runs in-process. */
    bool afl_other[FUZZ_NR] = { false };
    for (unsigned s = FUZZ_RACE; afl && s < FUZZ_NR; s++) {
        snprintf(bin, sizeof(bin), "%s/fuzz/afl-%s", build_dir(),
                 fuzz_surface_name((enum fuzz_surface)s));
        afl_other[s] = access(bin, X_OK) == 0;
        if (!afl_other[s])
            printf("note: %s not built: the %s rows run in-process\n", bin,
                   fuzz_surface_name((enum fuzz_surface)s));
    }
    printf("bug zoo: %u run(s) per bug, cap %u s, campaign: %s; "
           "work dir %s\n", runs, cap,
           afl ? "AFL++ single core (afl-fuzz, AFL_BENCH_UNTIL_CRASH)"
               : "in-process random inputs, fork reset", tmpdir);
    if (afl)
        for (unsigned s = FUZZ_MM; s <= FUZZ_GRANT; s++)
            printf("seeds %s: %s\n", fuzz_surface_name((enum fuzz_surface)s),
                   seeds_for((enum fuzz_surface)s));

    static struct row_result res[NR_ROWS];
    static uint8_t data[1 << 20];
    for (unsigned i = 0; i < NR_ROWS; i++) {
        const struct zoo_row *r = &rows[i];
        if (!zoo_selected(r->opt) || r->skip)
            continue;
        char set[256];
        row_set(r, true, set, sizeof(set));
        double t[64];
        unsigned nt = 0;
        res[i].ran = true;
        for (unsigned k = 0; k < runs; k++) {
            double found = -1;
            char note[768] = "not found within the cap";
            char crash[1024];
            size_t len = 0;
            bool row_afl = afl && (r->surface <= FUZZ_GRANT ||
                                   afl_other[r->surface]);
            if (row_afl) {
                char out[512];
                double t0, mt;
                if (afl_campaign(r->surface, set, cap, true, "zoo", out,
                                 sizeof(out), &t0)) {
                    snprintf(note, sizeof(note), "afl-fuzz did not start "
                             "(log %s.log)", out);
                } else if (!first_crash(out, crash, sizeof(crash), &mt) &&
                           !read_file(crash, data, sizeof(data), &len)) {
                    if (confirm(r, data, len, note, sizeof(note)))
                        found = mt - t0;
                    else
                        res[i].other++;
                }
            } else {
                snprintf(crash, sizeof(crash), "%s/crash-%s-%u", tmpdir,
                         r->opt, k);
                double s = inproc_campaign(r->surface, set, cap, k + 1,
                                           crash);
                if (s >= 0 && !read_file(crash, data, sizeof(data), &len)) {
                    if (confirm(r, data, len, note, sizeof(note)))
                        found = s;
                    else
                        res[i].other++;
                }
            }
            printf("  %-22s run %u: %s%s%.1f s\n", r->opt, k + 1,
                   found >= 0 ? "found " : "", found >= 0 ? "" : "- ",
                   found >= 0 ? found : (double)cap);
            printf("      %s\n", note);
            fflush(stdout);
            if (found >= 0 && nt < 64)
                t[nt++] = found;
        }
        res[i].runs = runs;
        res[i].found = nt;
        if (nt) {
            /* Z4: a run that did not find it counts as later than the
               cap, so the median is of every run, not of the lucky ones. */
            unsigned all = nt;
            while (all < runs && all < 64)
                t[all++] = INFINITY;
            qsort(t, all, sizeof(t[0]), cmp_d);
            res[i].min = t[0];
            res[i].max = t[nt - 1];
            res[i].med = all % 2 ? t[all / 2]
                                 : (t[all / 2 - 1] + t[all / 2]) / 2;
        }
    }

    printf("\n%-22s %-7s %8s %8s %8s %7s  %s\n", "option", "surface",
           "median_s", "min_s", "max_s", "found", "note");
    for (unsigned i = 0; i < NR_ROWS; i++) {
        const struct zoo_row *r = &rows[i];
        if (!zoo_selected(r->opt))
            continue;
        const char *sn = fuzz_surface_name(r->surface);
        if (r->skip) {
            printf("%-22s %-7s %8s %8s %8s %7s  %s\n", r->opt, sn, "-", "-",
                   "-", "-", r->skip);
            continue;
        }
        char found[32], note[64] = "";
        snprintf(found, sizeof(found), "%u/%u", res[i].found, res[i].runs);
        if (res[i].other)
            snprintf(note, sizeof(note), "%u unconfirmed crash(es)",
                     res[i].other);
        char med[32];
        if (isinf(res[i].med))
            snprintf(med, sizeof(med), ">%u", cap);
        else
            snprintf(med, sizeof(med), "%.1f", res[i].med);
        if (res[i].found)
            printf("%-22s %-7s %8s %8.1f %8.1f %7s  %s\n", r->opt, sn,
                   med, res[i].min, res[i].max, found, note);
        else
            printf("%-22s %-7s %8s %8s %8s %7s  not found within %u s %s\n",
                   r->opt, sn, "-", "-", "-", found, cap, note);
    }
    printf("\n");
    for (unsigned i = 0; i < NR_ROWS; i++) {
        const struct zoo_row *r = &rows[i];
        if (!zoo_selected(r->opt) || !res[i].ran)
            continue;
        char fn[64];
        fig_name(r->opt, fn, sizeof(fn));
        if (res[i].found && !isinf(res[i].med))
            printf("figure zoo_%s_median_s: %.1f s   goal <= 300 s   "
                   "min %.1f max %.1f found %u/%u\n", fn, res[i].med,
                   res[i].min, res[i].max, res[i].found, res[i].runs);
        else if (res[i].found)
            printf("figure zoo_%s_median_s: >%u s   goal <= 300 s   "
                   "min %.1f max %.1f found %u/%u\n", fn, cap, res[i].min,
                   res[i].max, res[i].found, res[i].runs);
        else
            printf("figure zoo_%s_median_s: >%u s   goal <= 300 s   "
                   "not found within the cap, found 0/%u\n", fn, cap,
                   res[i].runs);
    }

    /* Z5: the clean campaign, every surface in turn. */
    if (clean) {
        unsigned crashes = 0, per = clean / FUZZ_NR ? clean / FUZZ_NR : 1;
        bool ok = true;
        for (unsigned s = FUZZ_MM; s < FUZZ_NR; s++) {
            enum fuzz_surface sf = (enum fuzz_surface)s;
            snprintf(bin, sizeof(bin), "%s/fuzz/afl-%s", build_dir(),
                     fuzz_surface_name(sf));
            if (afl && access(bin, X_OK) == 0) {
                char out[512];
                double t0;
                if (afl_campaign(sf, "", per, false, "clean", out,
                                 sizeof(out), &t0)) {
                    printf("skip - zoo_clean: afl-fuzz did not start on %s\n",
                           fuzz_surface_name(sf));
                    ok = false;
                    continue;
                }
                unsigned n = afl_saved_crashes(out);
                printf("  clean %s: %u s AFL++, %lu execs, stability %s, "
                       "%u crash(es)%s%s\n", fuzz_surface_name(sf), per,
                       afl_stat(out, "execs_done", NULL),
                       afl_stability(out), n, n ? " in " : "", n ? out : "");
                crashes += n;
            } else {
                char crash[512];
                snprintf(crash, sizeof(crash), "%s/crash-clean-%u", tmpdir, s);
                double f = inproc_campaign(sf, "", per, 1000 + s, crash);
                printf("  clean %s: %u s in-process, %s%s\n",
                       fuzz_surface_name(sf), per,
                       f >= 0 ? "a violation in " : "nothing",
                       f >= 0 ? crash : "");
                crashes += f >= 0;
            }
        }
        if (ok)
            printf("figure zoo_clean_crashes: %u crashes   goal 0   %u s with "
                   "every option off, split over the %u surfaces\n", crashes,
                   per * FUZZ_NR, (unsigned)FUZZ_NR);
    }
    if (getenv("BENCH_ZOO_KEEP")) {
        printf("work dir kept: %s\n", tmpdir);
    } else {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return 0;
}
