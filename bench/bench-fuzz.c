/*
 * bench/bench-fuzz.c - how fast the fuzzer runs FUZZ_MM (docs/fuzz-build.md
 * "The benchmark").
 *
 * Figures:
 *   fuzz_mm_inproc_1_32      fuzz_one(FUZZ_MM) per second in this process
 *                            on random inputs that decode to 1..32 calls
 *   fuzz_mm_inproc_calls     calls per second in the same loop
 *   afl_empty_execs          AFL++ exec/s of the empty persistent harness
 *                            (fuzz/main/afl.c -DFUZZ_EMPTY), the baseline
 *   afl_mm_execs             AFL++ exec/s of the FUZZ_MM persistent harness
 *                            (its default reset: the snapshot one)
 *   afl_mm_vs_empty          the two as a ratio (goal >= 0.8x)
 *   afl_mm_stability         AFL++'s stability of the FUZZ_MM harness
 *   libfuzzer_mm_execs       libFuzzer exec/s of the same entry point, one
 *                            core, inputs no longer than the longest 1..32
 *                            call input here (goal >= 100,000)
 *   libfuzzer_mm_bare_execs  the same with the oracle off
 *   libfuzzer_asan_mm_execs  the same under ASan + UBSan
 *   afl_<surface>_execs      AFL++ exec/s and stability of the grant,
 *                            shadow, restore, race and hvmrace harnesses
 *                            (a third of BENCH_FUZZ_SECS each)
 *   fuzz_audit_us            one hv_audit of the FUZZ_MM world (the oracle
 *                            runs it after every call)
 *   fuzz_reset_rebuild_us    the in-process reset: the world rebuilt
 *   fuzz_reset_fork_<N>p_us  the fork reset (exec.c E6) of a run that
 *                            dirtied N pages of guest RAM: fork, the
 *                            child's N stores and exit, the parent's wait
 *                            (goal <= 5 us at 64 pages); also as a ratio to
 *                            the same cycle with no store
 *   fuzz_reset_snap_us       the snapshot reset (FUZZ_RESET_SNAP,
 *                            fuzz/snap.h): the restore after each of the
 *                            random inputs once a first pass has made the
 *                            written pages hot, with the RAM, frame-table
 *                            and arena pages it copied back
 *   fuzz_reset_snap_breakdown  the same restores: copying, cooling
 *                            (snap.h S7) and the rest, and the faults of
 *                            the first pass
 *   fuzz_mm_snap_execs       the in-process loop under SNAP, as a ratio
 *                            to fuzz_mm_inproc_1_32 (REBUILD)
 *   fuzz_reset_snap_<N>p_us  N pages of RAM written and put back, the
 *                            stores and the restore apart, and the first
 *                            round (N write faults) from a cooled snapshot
 *   afl_mm_bare_execs        afl-mm with the oracle off
 *                            (HVLAB_FUZZ_ORACLE=off, fuzz/exec.c E10), as
 *                            a ratio to the empty loop: the floor
 *   fuzz_mm_queue_us         the afl_mm run's queue entries run in this
 *                            process under SNAP: us per execution, calls
 *                            and restore per execution, beside the empty
 *                            harness's handoff (what 0.8x leaves)
 *   fuzz_mm_queue_bare_us    the same entries with the oracle off, and the
 *                            oracle's share
 *   afl_mm_floor_vs_empty    the ratio to the empty loop those entries
 *                            allow with no oracle (and with it)
 *   fuzz_mm_queue_spread     the entries' costs one by one, with the oracle
 *                            and without: median, p90, p99, the slowest,
 *                            and the slowest tenth's share of the time
 *   afl_mm_fork_execs        AFL++ exec/s of afl-mm with
 *                            HVLAB_FUZZ_RESET=fork (the harnesses' reset
 *                            before the snapshot one), and afl_mm_execs's
 *                            ratio to it
 *   libfuzzer_mm_fork_execs  the same for lf-mm
 * This binary links hvlab without tracepoints and without LTTng, as the
 * harnesses do (Makefile): one thread, like them.
 * The AFL++ and libFuzzer runs use $BUILD/fuzz/{afl-empty,afl-mm,lf-mm}
 * (`make fuzz`; `make bench` builds them), each for BENCH_FUZZ_SECS seconds
 * (default 20) on the same seeds (fuzz/seeds/mm, else the inputs made
 * here).  A run that cannot happen prints "skip - NAME: why".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include "bench/lib/clock.h"
#include "core/audit.h"
#include "core/domain.h"
#include "core/machine.h"
#include "core/vcpu.h"
#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/snap.h"
#include "fuzz/world.h"

#define NR_INPUTS   256
#define MAX_LEN     1024
#define INPROC_NS   3e9

static uint8_t input[NR_INPUTS][MAX_LEN];
static size_t input_len[NR_INPUTS];
static size_t longest;
static char tmp[] = "/tmp/hvlab-bench-fuzz-XXXXXX";

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random inputs kept when they decode to 1..32 calls (fuzz_one counts). */
static int make_inputs(void)
{
    static struct fuzz_result res;
    unsigned n = 0;
    for (unsigned tries = 0; n < NR_INPUTS && tries < 100000; tries++) {
        size_t len = 4 + next() % (tries % 2 ? 96 : MAX_LEN - 4);
        for (size_t i = 0; i < len; i++)
            input[n][i] = (uint8_t)next();
        if (fuzz_one(FUZZ_MM, input[n], len, &res))
            continue;                   /* a finding: not a timing input */
        if (res.calls < 1 || res.calls > 32)
            continue;
        input_len[n] = len;
        if (len > longest)
            longest = len;
        n++;
    }
    return n == NR_INPUTS ? 0 : -1;
}

static double inproc_rate;                  /* for snap_costs */

static void inproc(void)
{
    static struct fuzz_result res;
    uint64_t execs = 0, calls = 0;
    double t0 = now_ns(), t;
    do {
        for (unsigned i = 0; i < NR_INPUTS; i++) {
            fuzz_one(FUZZ_MM, input[i], input_len[i], &res);
            calls += res.calls_run;
        }
        execs += NR_INPUTS;
        t = now_ns() - t0;
    } while (t < INPROC_NS);
    printf("figure fuzz_mm_inproc_1_32: %.0f execs/s   in-process fuzz_one, "
           "1..32-call inputs\n", execs / (t / 1e9));
    inproc_rate = execs / (t / 1e9);
    printf("figure fuzz_mm_inproc_calls: %.0f calls/s\n", calls / (t / 1e9));
}

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

static int exists(const char *path)
{
    return access(path, X_OK) == 0;
}

/* One stats field of an AFL++ run; -1 if absent. */
static double afl_stat(const char *stats, const char *key)
{
    FILE *f = fopen(stats, "r");
    char line[256];
    double v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && (line[kl] == ' ' || line[kl] == ':')) {
            char *c = strchr(line, ':');
            if (c)
                v = atof(c + 1);
        }
    if (f)
        fclose(f);
    return v;
}

static int afl_run(const char *bin, const char *seeds, const char *name,
                   unsigned secs, double *execs, double *stability)
{
    char cmd[3072], stats[1024], mut[1200] = "", so[1024];
    /* The race surfaces run with their mutator, and the queue is walked
       in order where hvlab fuzz walks it so (tools/hvlab/cmd_fuzz.c F10,
       F11). */
    bool race = !strcmp(name, "race") || !strcmp(name, "hvmrace");
    int sf = fuzz_surface_find(name);
    bool in_order = sf >= 0 && fuzz_surface_in_order((enum fuzz_surface)sf);
    snprintf(so, sizeof(so), "%s/fuzz/mutator-%s.so", build_dir(), name);
    if (race && exists(so))
        snprintf(mut, sizeof(mut), "AFL_CUSTOM_MUTATOR_LIBRARY='%s%s' ",
                 so[0] == '/' ? "" : "./", so);
    snprintf(cmd, sizeof(cmd),
             "%sAFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 afl-fuzz -i '%s' -o '%s/%s' "
             "-V %u%s -- '%s' >'%s/%s.log' 2>&1", mut, seeds, tmp, name, secs,
             in_order ? " -Z" : "", bin, tmp, name);
    if (system(cmd) != 0)
        return -1;
    snprintf(stats, sizeof(stats), "%s/%s/default/fuzzer_stats", tmp, name);
    *execs = afl_stat(stats, "execs_per_sec");
    *stability = afl_stat(stats, "stability");
    return *execs < 0 ? -1 : 0;
}

static double afl_empty_rate = -1;
static double afl_mm_rate = -1;                /* for afl_fork */

/* afl-mm with var=val in its environment, its output in mm-tag; 0, or -1
   after printing why it could not run ("skip - afl_mm_tag: ..."). */
static int afl_mm_with(const char *var, const char *val, const char *tag,
                       const char *seeds, unsigned secs, double *execs,
                       double *stab)
{
    char mm[1024], name[64];
    snprintf(mm, sizeof(mm), "%s/fuzz/afl-mm", build_dir());
    snprintf(name, sizeof(name), "mm-%s", tag);
    setenv(var, val, 1);
    int rc = afl_run(mm, seeds, name, secs, execs, stab);
    unsetenv(var);
    if (rc)
        printf("skip - afl_mm_%s: afl-fuzz could not run %s with %s=%s "
               "(log in %s/%s.log)\n", tag, mm, var, val, tmp, name);
    return rc;
}

static void afl(const char *seeds, unsigned secs)
{
    char empty[1024], mm[1024];
    snprintf(empty, sizeof(empty), "%s/fuzz/afl-empty", build_dir());
    snprintf(mm, sizeof(mm), "%s/fuzz/afl-mm", build_dir());
    if (system("command -v afl-fuzz >/dev/null 2>&1") != 0) {
        printf("skip - afl: afl-fuzz is not installed (make deps)\n");
        return;
    }
    if (!exists(empty) || !exists(mm)) {
        printf("skip - afl: %s or %s not built (make fuzz)\n", empty, mm);
        return;
    }
    double e_execs, e_stab, m_execs, m_stab;
    if (afl_run(empty, seeds, "empty", secs, &e_execs, &e_stab)) {
        printf("skip - afl: afl-fuzz could not run the empty harness (log in "
               "%s/empty.log)\n", tmp);
        return;
    }
    printf("figure afl_empty_execs: %.0f execs/s   baseline: empty "
           "persistent loop\n", e_execs);
    afl_empty_rate = e_execs;
    if (afl_run(mm, seeds, "mm", secs, &m_execs, &m_stab)) {
        printf("skip - afl_mm: afl-fuzz could not run %s\n", mm);
        return;
    }
    printf("figure afl_mm_execs: %.0f execs/s   the snapshot reset\n", m_execs);
    afl_mm_rate = m_execs;
    printf("figure afl_mm_vs_empty: %.2f x   goal >= 0.8x\n",
           e_execs > 0 ? m_execs / e_execs : 0);
    printf("figure afl_mm_stability: %.2f %%   goal 100%%\n", m_stab);
    /* The same harness without its oracle: the floor (E10). */
    double b_execs, b_stab;
    if (afl_mm_with("HVLAB_FUZZ_ORACLE", "off", "bare", seeds, secs,
                    &b_execs, &b_stab))
        return;
    printf("figure afl_mm_bare_execs: %.0f execs/s   the oracle off "
           "(HVLAB_FUZZ_ORACLE=off): %.2fx the empty loop, and afl_mm_execs "
           "%.2fx it; stability %.2f %%\n", b_execs,
           e_execs > 0 ? b_execs / e_execs : 0,
           b_execs > 0 ? m_execs / b_execs : 0, b_stab);
}

/* name: "lf" (figure libfuzzer_mm_execs: its default, the snapshot reset;
   with fork libfuzzer_mm_fork_execs: HVLAB_FUZZ_RESET=fork; with bare
   libfuzzer_mm_bare_execs: HVLAB_FUZZ_ORACLE=off) or "lf-asan" (ASan +
   UBSan, which forks; figure libfuzzer_asan_mm_execs). */
static void libfuzzer(const char *name, const char *seeds, unsigned secs,
                      bool fork, bool bare)
{
    char bin[1024], cmd[4096], log[1200];
    const char *fig = strcmp(name, "lf") ? "libfuzzer_asan_mm_execs"
                      : fork ? "libfuzzer_mm_fork_execs"
                      : bare ? "libfuzzer_mm_bare_execs"
                             : "libfuzzer_mm_execs";
    const char *snap = fork ? "-fork" : bare ? "-bare" : "";
    snprintf(bin, sizeof(bin), "%s/fuzz/%s-mm", build_dir(), name);
    if (!exists(bin)) {
        printf("skip - %s: %s not built (make fuzz)\n", fig, bin);
        return;
    }
    snprintf(log, sizeof(log), "%s/%s%s.log", tmp, name, snap);
    /* A scratch corpus first: libFuzzer writes into the first dir. */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s-scratch%s' && %s'%s' "
             "-max_total_time=%u -max_len=%zu -len_control=0 -print_final_stats=1 "
             "'%s/%s-scratch%s' '%s' >'%s' 2>&1", tmp, name, snap,
             fork ? "HVLAB_FUZZ_RESET=fork "
                  : bare ? "HVLAB_FUZZ_ORACLE=off " : "", bin, secs, longest,
             tmp, name, snap, seeds, log);
    if (system(cmd) != 0) {
        printf("skip - %s: %s failed (exit status; a finding?)\n", fig, bin);
        return;
    }
    FILE *f = fopen(log, "r");
    char line[512];
    double runs = -1, rate = -1;
    while (f && fgets(line, sizeof(line), f)) {
        char *p;
        if ((p = strstr(line, "stat::number_of_executed_units:")))
            runs = atof(p + strlen("stat::number_of_executed_units:"));
        if ((p = strstr(line, "exec/s: ")))
            rate = atof(p + strlen("exec/s: "));
        if ((p = strstr(line, "stat::average_exec_per_sec:")))
            rate = atof(p + strlen("stat::average_exec_per_sec:"));
    }
    if (f)
        fclose(f);
    if (rate < 0) {
        printf("skip - %s: no exec/s in its output\n", fig);
        return;
    }
    printf("figure %s: %.0f execs/s   %s%.0f runs, max_len %zu, one core\n",
           fig, rate, strcmp(name, "lf") || fork ? ""
                      : bare ? "the oracle off (HVLAB_FUZZ_ORACLE=off)   "
                             : "goal >= 100000   ", runs, longest);
}

/* AFL++ exec/s and stability of the other surfaces' harnesses, each on its
   own seeds (a zero byte when it has none), a third of secs each. */
static void afl_surfaces(unsigned secs)
{
    static const char *const other[] = { "grant", "shadow", "restore",
                                         "race", "hvmrace" };
    if (system("command -v afl-fuzz >/dev/null 2>&1") != 0)
        return;
    unsigned t = secs / 3 ? secs / 3 : 1;
    for (unsigned i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        char bin[1024], seeds[1300];
        snprintf(bin, sizeof(bin), "%s/fuzz/afl-%s", build_dir(), other[i]);
        if (!exists(bin)) {
            printf("skip - afl_%s: %s not built (make fuzz)\n", other[i],
                   bin);
            continue;
        }
        snprintf(seeds, sizeof(seeds), "fuzz/seeds/%s", other[i]);
        struct stat st;
        if (stat(seeds, &st) || !S_ISDIR(st.st_mode)) {
            snprintf(seeds, sizeof(seeds), "%s/zero-seed", tmp);
            mkdir(seeds, 0755);
            char path[1400];
            snprintf(path, sizeof(path), "%s/zero", seeds);
            FILE *f = fopen(path, "wb");
            if (f) {
                fputc(0, f);
                fclose(f);
            }
        }
        double execs, stab;
        if (afl_run(bin, seeds, other[i], t, &execs, &stab)) {
            printf("skip - afl_%s: afl-fuzz could not run %s\n", other[i],
                   bin);
            continue;
        }
        printf("figure afl_%s_execs: %.0f execs/s   stability %.2f %%; "
               "%.3fx the empty loop\n", other[i], execs, stab,
               afl_empty_rate > 0 ? execs / afl_empty_rate : 0);
    }
}

/* One fork-reset cycle: fork, the child stores into npages pages of
   [base, base + span) and exits, the parent waits.  Mean ns per cycle. */
static double fork_cycle(uint8_t *base, size_t span, unsigned npages,
                         unsigned iters)
{
    size_t pages = span >> 12, step = npages ? pages / npages : 1;
    double t0 = now_ns();
    for (unsigned i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return -1;
        }
        if (pid == 0) {
            for (unsigned k = 0; k < npages; k++)
                base[((k * step + i) % pages) << 12 | 8] = (uint8_t)i;
            _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            ;
    }
    return (now_ns() - t0) / iters;
}

static void reset_costs(void)
{
    static struct fz_world w;
    if (fz_world_build(&w, FUZZ_MM)) {
        printf("skip - reset: the FUZZ_MM world cannot be built\n");
        return;
    }
    double t0 = now_ns();
    for (unsigned i = 0; i < 200; i++)
        hv_audit(w.m, NULL);
    printf("figure fuzz_audit_us: %.1f us   one full audit of the FUZZ_MM "
           "world (%llu frames)\n", (now_ns() - t0) / 200 / 1e3,
           (unsigned long long)w.max_mfn);
    t0 = now_ns();
    for (unsigned i = 0; i < 20; i++)
        if (fz_world_reset(&w)) {
            printf("skip - reset: fz_world_reset failed\n");
            return;
        }
    printf("figure fuzz_reset_rebuild_us: %.0f us   in-process rebuild of "
           "the world\n", (now_ns() - t0) / 20 / 1e3);
    /* The fork reset as exec.c E6 runs it: RAM out of huge pages. */
    size_t span = (size_t)w.max_mfn << 12;
    (void)madvise(w.m->ram, span, MADV_NOHUGEPAGE);
    static const unsigned np[] = { 0, 16, 64, 256 };
    double base = -1;
    for (unsigned i = 0; i < sizeof(np) / sizeof(np[0]); i++) {
        double ns = fork_cycle(w.m->ram, span, np[i], 300);
        if (ns < 0)
            return;
        if (!np[i])
            base = ns;          /* the baseline: the same cycle, no store */
        printf("figure fuzz_reset_fork_%up_us: %.1f us   goal <= 5 us at 64 "
               "pages; %.2fx the cycle with none dirtied\n", np[i], ns / 1e3,
               base > 0 ? ns / base : 1.0);
    }
    fz_world_free(&w);
}

struct fz_world *fz_exec_world(enum fuzz_surface s);

/* The oracle's audit per call on the inputs' programs, run call by call
   as fuzz/exec.c runs them: a full hv_audit after each call (the
   baseline), then hv_audit_changed (core/audit.h A1-A9) on the same
   programs.  ns_out: total audit time; calls_out: calls audited. */
struct fz_world *fz_exec_world(enum fuzz_surface s);
static void audit_pass(struct fz_world *w, bool incr, double *ns_out,
                       uint64_t *calls_out)
{
    static struct fz_prog prog;
    double ns = 0;
    uint64_t calls = 0;
    for (unsigned i = 0; i < NR_INPUTS && input_len[i]; i++) {
        if (fz_world_reset(w))
            return;
        hv_audit(w->m, NULL);           /* as fuzz/snap.c S10 leaves it */
        fz_decode(FUZZ_MM, input[i], input_len[i], &prog);
        struct fz_state st = { 0 };
        struct fz_call_ctx c = { .w = w, .st = &st };
        for (unsigned k = 0; k < prog.ncalls; k++) {
            (void)fz_run_as_actor(&c, &prog.call[k]);
            double t0 = now_ns();
            unsigned v = incr ? hv_audit_changed(w->m, NULL)
                              : hv_audit(w->m, NULL);
            ns += now_ns() - t0;
            calls++;
            if (v)
                break;                  /* the fuzzer stops there too */
        }
    }
    *ns_out = ns;
    *calls_out = calls;
}

static void audit_incr(void)
{
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    if (!w || !w->m) {
        printf("skip - audit: no FUZZ_MM world\n");
        return;
    }
    double full_ns = 0, incr_ns = 0;
    uint64_t full_calls = 0, incr_calls = 0;
    struct hv_audit_counts a, b;
    audit_pass(w, false, &full_ns, &full_calls);
    hv_audit_counts(&a);
    audit_pass(w, true, &incr_ns, &incr_calls);
    hv_audit_counts(&b);
    double fc = full_calls ? (double)full_calls : 1;
    double ic = incr_calls ? (double)incr_calls : 1;
    double audits = b.audits - a.audits ? (double)(b.audits - a.audits) : 1;
    printf("figure fuzz_audit_full_call_us: %.1f us   full hv_audit after "
           "each call of the 1..32-call inputs (%llu calls; baseline)\n",
           full_ns / fc / 1e3, (unsigned long long)full_calls);
    printf("figure fuzz_audit_incr_us: %.1f us   hv_audit_changed after "
           "each call of the same programs; %.2fx the full audit\n",
           incr_ns / ic / 1e3,
           full_ns > 0 ? (incr_ns / ic) / (full_ns / fc) : 0);
    printf("figure fuzz_calls_unchanged_pct: %.1f %%   calls after which "
           "no mark moved (mm audit answered from the memo after %.1f %%, "
           "grant audit after %.1f %%)\n",
           100.0 * (double)(b.unchanged - a.unchanged) / audits,
           100.0 * (double)(b.mm_skipped - a.mm_skipped) / audits,
           100.0 * (double)(b.gnt_skipped - a.gnt_skipped) / audits);
}

/* The snapshot reset on the FUZZ_MM world (fuzz/snap.h).  One pass over
   the inputs first: it takes the write faults that make pages hot (S2);
   the figures are the steady state after it, as a long campaign sees. */
static void snap_costs(double rebuild_rate)
{
    static struct fuzz_result res;
    if (!fz_snap_available()) {
        printf("skip - snap: bench-fuzz linked without the allocation "
               "wraps\n");
        return;
    }
    fuzz_set_reset(FUZZ_RESET_SNAP);
    fuzz_one(FUZZ_MM, NULL, 0, &res);           /* the world joins */
    fz_snap_restore();
    struct fz_snap_stats a, b, w0;
    fz_snap_stats(&w0);
    double tw = now_ns();
    for (unsigned i = 0; i < NR_INPUTS && input_len[i]; i++)
        fuzz_one(FUZZ_MM, input[i], input_len[i], &res);   /* warm-up */
    fz_snap_restore();
    tw = now_ns() - tw;
    fz_snap_stats(&a);
    double t0 = now_ns(), restore = 0;
    unsigned runs = 0;
    for (unsigned rep = 0; rep < 4; rep++)
        for (unsigned i = 0; i < NR_INPUTS && input_len[i]; i++) {
            fuzz_one(FUZZ_MM, input[i], input_len[i], &res);
            double r0 = now_ns();
            fz_snap_restore();
            restore += now_ns() - r0;
            runs++;
        }
    double t = now_ns() - t0;
    fz_snap_stats(&b);
    uint64_t n = b.restores - a.restores;
    double dn = n ? (double)n : 1;
    printf("figure fuzz_reset_snap_us: %.1f us   restore after a random "
           "1..32-call input (steady state, mean of %llu): %.1f RAM and "
           "frame-table pages + %.1f arena pages put back (%.0f bytes), "
           "%u pages hot, %.2f faults and %.3f cools per run; before: "
           "~800 us copying the 13 MB arena\n", restore / runs / 1e3,
           (unsigned long long)n, (double)(b.pages - a.pages) / dn,
           (double)(b.arena_bytes - a.arena_bytes) / 4096.0 / dn,
           (double)(b.bytes - a.bytes) / dn, b.hot,
           (double)(b.faults - a.faults) / dn,
           (double)(b.cools - a.cools) / dn);
    printf("figure fuzz_reset_snap_breakdown: %.1f us copying, %.1f us "
           "cooling, %.1f us the rest per restore; the warm-up pass took "
           "%llu faults (%.0f us per run, %u runs)\n",
           (double)(b.copy_ns - a.copy_ns) / dn / 1e3,
           (double)(b.cool_ns - a.cool_ns) / dn / 1e3,
           (double)(b.restore_ns - a.restore_ns - (b.copy_ns - a.copy_ns) -
                    (b.cool_ns - a.cool_ns)) / dn / 1e3,
           (unsigned long long)(a.faults - w0.faults),
           tw / (a.restores - w0.restores ? (double)(a.restores -
                                                      w0.restores) : 1) / 1e3,
           (unsigned)(a.restores - w0.restores));
    printf("figure fuzz_mm_snap_execs: %.0f execs/s   in-process fuzz_one "
           "under SNAP; %.2fx fuzz_mm_inproc_1_32 (REBUILD)\n",
           runs / (t / 1e9),
           rebuild_rate > 0 ? runs / (t / 1e9) / rebuild_rate : 0);
    {   /* The same runs with the audit's memo off (core/audit.h): the
           oracle before hv_audit_changed, as a baseline in this run. */
        hv_audit_memo_enable(false);
        double t1 = now_ns();
        for (unsigned i = 0; i < NR_INPUTS && input_len[i]; i++) {
            fuzz_one(FUZZ_MM, input[i], input_len[i], &res);
            fz_snap_restore();
        }
        double tf = now_ns() - t1;
        hv_audit_memo_enable(true);
        unsigned nr = 0;
        for (unsigned i = 0; i < NR_INPUTS && input_len[i]; i++)
            nr++;
        printf("figure fuzz_mm_snap_execs_fullaudit: %.0f execs/s   the "
               "same under SNAP with a full audit after every call "
               "(memo off); the memo gives %.2fx\n", nr / (tf / 1e9),
               tf > 0 ? (runs / (t / 1e9)) / (nr / (tf / 1e9)) : 0);
    }
    /* N pages of RAM written by hand and put back, from a cooled
       snapshot: the first round takes the N faults, the others copy. */
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    static const unsigned np[] = { 0, 16, 64, 256 };
    for (unsigned k = 0; w && k < sizeof(np) / sizeof(np[0]); k++) {
        double tf = 0, tr = 0, first = 0;
        const unsigned reps = 200;
        fz_snap_cool();
        fuzz_one(FUZZ_MM, NULL, 0, &res);
        fz_snap_restore();
        fz_snap_stats(&a);
        for (unsigned r = 0; r <= reps; r++) {
            fuzz_one(FUZZ_MM, NULL, 0, &res);   /* marks the world dirty */
            double f0 = now_ns();
            for (unsigned p = 0; p < np[k]; p++) {  /* the top frames */
                const uint8_t *b = mfn_to_virt(w->m, w->max_mfn - 1 - p * 3);
                *(uint8_t *)ram_w(b, 1) ^= 1;   /* noted, as the hypervisor's
                                                   stores are (core/wrec.h) */
            }
            double f1 = now_ns();
            fz_snap_restore();
            if (!r) {
                first = now_ns() - f0;
                continue;
            }
            tr += now_ns() - f1;
            tf += f1 - f0;
        }
        fz_snap_stats(&b);
        printf("figure fuzz_reset_snap_%up_us: %.1f us   goal <= 5 us at 64 "
               "pages; %.1f us the stores, %.1f us the restore (%.1f RAM "
               "and frame-table pages + %.1f arena pages put back, %.0f "
               "bytes); the first round: %.0f us\n",
               np[k], (tf + tr) / reps / 1e3, tf / reps / 1e3,
               tr / reps / 1e3, (double)(b.pages - a.pages) / (reps + 1),
               (double)(b.arena_bytes - a.arena_bytes) / 4096.0 / (reps + 1),
               (double)(b.bytes - a.bytes) / (reps + 1), first / 1e3);
    }
    fuzz_set_reset(FUZZ_RESET_REBUILD);
}

struct queue_pass {
    double us;                  /* best pass: us per execution */
    double calls;               /* calls per execution */
    double restore_us;          /* restore per execution, the same pass */
};

/* One timed pass of the n inputs (after an untimed one) with the oracle
   on or off; *best keeps the faster pass. */
static void queue_pass(uint8_t **in, const size_t *len, size_t n,
                       bool oracle, struct queue_pass *best)
{
    static struct fuzz_result res;
    fuzz_set_oracle(oracle);
    for (size_t i = 0; i < n; i++)                  /* warm-up */
        fuzz_one(FUZZ_MM, in[i], len[i], &res);
    fz_snap_restore();
    struct fz_snap_stats a, b;
    fz_snap_stats(&a);
    uint64_t calls = 0, runs = 0;
    double t0 = now_ns();
    for (unsigned rep = 0; rep < 2; rep++)
        for (size_t i = 0; i < n; i++) {
            fuzz_one(FUZZ_MM, in[i], len[i], &res);
            calls += res.calls;
            runs++;
        }
    fz_snap_restore();
    double t = now_ns() - t0;
    fz_snap_stats(&b);
    double us = t / runs / 1e3;
    if (us >= best->us)
        return;
    uint64_t rn = b.restores - a.restores;
    best->us = us;
    best->calls = (double)calls / runs;
    best->restore_us = rn ? (double)(b.restore_ns - a.restore_ns) / rn / 1e3
                          : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The spread of the n inputs' costs with the oracle on or off: each
   input's best of three runs, sorted into t[] (us); the top tenth's share
   of the whole. */
static double queue_spread(uint8_t **in, const size_t *len, size_t n,
                           bool oracle, double *t)
{
    static struct fuzz_result res;
    fuzz_set_oracle(oracle);
    for (size_t i = 0; i < n; i++)
        t[i] = 1e30;
    for (unsigned rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < n; i++) {
            double t0 = now_ns();
            fuzz_one(FUZZ_MM, in[i], len[i], &res);
            double us = (now_ns() - t0) / 1e3;
            if (us < t[i])
                t[i] = us;
        }
    fz_snap_restore();
    qsort(t, n, sizeof(*t), cmp_double);
    double all = 0, top = 0;
    for (size_t i = 0; i < n; i++) {
        all += t[i];
        if (i >= n - n / 10)
            top += t[i];
    }
    return all > 0 ? top / all : 0;
}

/* The afl_mm run's queue through fuzz_one in this process under SNAP:
   what the harness costs per execution on the inputs AFL++ keeps, beside
   the handoff the empty harness measures (1 / afl_empty_execs).  The
   random inputs of fuzz_mm_snap_execs mostly fail early; a queue entry is
   a program that got somewhere. */
static void queue_costs(void)
{
    static uint8_t buf[1 << 16];
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s/mm/default/queue", tmp);
    DIR *d = opendir(dir);
    if (!d || !fz_snap_available()) {
        printf("skip - fuzz_mm_queue_us: no afl_mm queue (%s) or no "
               "snapshot reset\n", dir);
        if (d)
            closedir(d);
        return;
    }
    size_t cap = 4096, n = 0;
    uint8_t **in = malloc(cap * sizeof(*in));
    size_t *len = malloc(cap * sizeof(*len));
    struct dirent *e;
    while (in && len && n < cap && (e = readdir(d))) {
        if (strncmp(e->d_name, "id:", 3))
            continue;
        char path[1600];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t l = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        if (!(in[n] = malloc(l ? l : 1)))
            break;
        memcpy(in[n], buf, l);
        len[n++] = l;
    }
    closedir(d);
    if (!n) {
        printf("skip - fuzz_mm_queue_us: the afl_mm queue is empty\n");
        free(in);
        free(len);
        return;
    }
    fuzz_set_reset(FUZZ_RESET_SNAP);
    /* Oracle on and off alternate, three passes each, and each keeps its
       best: a campaign on the other core slows both alike. */
    struct queue_pass on = { 1e30, 0, 0 }, off = { 1e30, 0, 0 };
    for (unsigned k = 0; k < 3; k++) {
        queue_pass(in, len, n, true, &on);
        queue_pass(in, len, n, false, &off);
    }
    double *ton = malloc(n * sizeof(*ton)), *toff = malloc(n * sizeof(*toff));
    double share_on = -1, share_off = -1;
    if (ton && toff) {
        share_on = queue_spread(in, len, n, true, ton);
        share_off = queue_spread(in, len, n, false, toff);
    }
    fuzz_set_oracle(true);
    fuzz_set_reset(FUZZ_RESET_REBUILD);
    for (size_t i = 0; i < n; i++)
        free(in[i]);
    free(in);
    free(len);
    printf("figure fuzz_mm_queue_us: %.1f us   per execution of the %zu "
           "entries of the afl_mm queue, in-process under SNAP: %.1f calls, "
           "%.1f us of it the restore", on.us, n, on.calls, on.restore_us);
    if (afl_empty_rate > 0)
        printf("; the empty harness's handoff is %.1f us, so 0.8x it "
               "leaves the harness %.1f us", 1e6 / afl_empty_rate,
               0.25 * 1e6 / afl_empty_rate);
    printf("\n");
    printf("figure fuzz_mm_queue_bare_us: %.1f us   the same entries with "
           "the oracle off (fuzz_set_oracle): the calls, the marks and the "
           "restore (%.1f us) alone; the oracle is %.1f us, %.0f%% of an "
           "execution\n", off.us, off.restore_us, on.us - off.us,
           on.us > 0 ? 100 * (on.us - off.us) / on.us : 0);
    if (afl_empty_rate > 0) {
        double h = 1e6 / afl_empty_rate;
        printf("figure afl_mm_floor_vs_empty: %.2f x   the ratio to the empty "
               "loop these entries allow, handoff %.1f us: %.2fx with the "
               "oracle, %.2fx with none (goal >= 0.8x)\n", h / (h + off.us),
               h, h / (h + on.us), h / (h + off.us));
    }
    if (share_on >= 0)
        printf("figure fuzz_mm_queue_spread: %.1f us   the median entry "
               "with the oracle (p90 %.1f, p99 %.1f, the slowest %.1f us; "
               "the slowest tenth is %.0f%% of the time); with none: median "
               "%.1f, p90 %.1f, p99 %.1f, slowest %.1f us (%.0f%%)\n",
               ton[n / 2], ton[n * 9 / 10], ton[n * 99 / 100], ton[n - 1],
               100 * share_on, toff[n / 2], toff[n * 9 / 10],
               toff[n * 99 / 100], toff[n - 1], 100 * share_off);
    free(ton);
    free(toff);
}

/* afl-mm with HVLAB_FUZZ_RESET=fork: the reset before the snapshot one
   was the default (afl_mm_execs is the snapshot reset's). */
static void afl_fork(const char *seeds, unsigned secs)
{
    char mm[1024];
    snprintf(mm, sizeof(mm), "%s/fuzz/afl-mm", build_dir());
    if (afl_mm_rate <= 0 || !exists(mm)) {
        printf("skip - afl_mm_fork: no afl_mm_execs or no %s\n", mm);
        return;
    }
    double execs, stab;
    if (afl_mm_with("HVLAB_FUZZ_RESET", "fork", "fork", seeds, secs, &execs,
                    &stab))
        return;
    printf("figure afl_mm_fork_execs: %.0f execs/s   the fork reset; "
           "afl_mm_execs (the snapshot reset) is %.2fx it; stability "
           "%.2f %%\n", execs, execs > 0 ? afl_mm_rate / execs : 0, stab);
}

int main(void)
{
    const char *secs_env = getenv("BENCH_FUZZ_SECS");
    unsigned secs = secs_env ? (unsigned)atoi(secs_env) : 20;
    char seeds[1200];

    if (fuzz_init(FUZZ_MM) != 0) {
        printf("skip - fuzz: the FUZZ_MM world cannot be built\n");
        return 0;
    }
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    if (make_inputs()) {
        printf("skip - fuzz: too few 1..32-call inputs\n");
        return 0;
    }
    inproc();
    reset_costs();
    audit_incr();
    snap_costs(inproc_rate);
    if (getenv("BENCH_FUZZ_NO_AFL")) {  /* the in-process figures only */
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-fuzz: could not remove %s\n", tmp);
        return 0;
    }
    /* Seeds: the tree's mm corpus, else the inputs made here. */
    struct stat st;
    if (stat("fuzz/seeds/mm", &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(seeds, sizeof(seeds), "fuzz/seeds/mm");
    } else {
        snprintf(seeds, sizeof(seeds), "%s/seeds", tmp);
        mkdir(seeds, 0755);
        for (unsigned i = 0; i < 16; i++) {
            char path[1300];
            snprintf(path, sizeof(path), "%s/s%02u", seeds, i);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(input[i], 1, input_len[i], f);
                fclose(f);
            }
        }
    }
    afl(seeds, secs);
    queue_costs();
    afl_fork(seeds, secs);
    afl_surfaces(secs);
    libfuzzer("lf", seeds, secs, false, false);
    libfuzzer("lf", seeds, secs, false, true);
    libfuzzer("lf", seeds, secs, true, false);
    libfuzzer("lf-asan", seeds, secs, true, false);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-fuzz: could not remove %s\n", tmp);
    return 0;
}
