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
 *   afl_mm_vs_empty          the two as a ratio (goal >= 0.8x)
 *   afl_mm_stability         AFL++'s stability of the FUZZ_MM harness
 *   libfuzzer_mm_execs       libFuzzer exec/s of the same entry point, one
 *                            core, inputs no longer than the longest 1..32
 *                            call input here (goal >= 100,000)
 * The AFL++ and libFuzzer runs use $BUILD/fuzz/{afl-empty,afl-mm,lf-mm}
 * (`make fuzz`; `make bench` builds them), each for BENCH_FUZZ_SECS seconds
 * (default 20) on the same seeds (fuzz/seeds/mm, else the inputs made
 * here).  A run that cannot happen prints "skip - NAME: why".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/lib/clock.h"
#include "fuzz/fuzz.h"

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
    char cmd[2048], stats[1024];
    snprintf(cmd, sizeof(cmd),
             "AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 afl-fuzz -i '%s' -o '%s/%s' "
             "-V %u -- '%s' >'%s/%s.log' 2>&1", seeds, tmp, name, secs, bin,
             tmp, name);
    if (system(cmd) != 0)
        return -1;
    snprintf(stats, sizeof(stats), "%s/%s/default/fuzzer_stats", tmp, name);
    *execs = afl_stat(stats, "execs_per_sec");
    *stability = afl_stat(stats, "stability");
    return *execs < 0 ? -1 : 0;
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
    if (afl_run(mm, seeds, "mm", secs, &m_execs, &m_stab)) {
        printf("skip - afl_mm: afl-fuzz could not run %s\n", mm);
        return;
    }
    printf("figure afl_mm_execs: %.0f execs/s\n", m_execs);
    printf("figure afl_mm_vs_empty: %.2f x   goal >= 0.8x\n",
           e_execs > 0 ? m_execs / e_execs : 0);
    printf("figure afl_mm_stability: %.2f %%   goal 100%%\n", m_stab);
}

static void libfuzzer(const char *seeds, unsigned secs)
{
    char bin[1024], cmd[4096], log[1200];
    snprintf(bin, sizeof(bin), "%s/fuzz/lf-mm", build_dir());
    if (!exists(bin)) {
        printf("skip - libfuzzer: %s not built (make fuzz)\n", bin);
        return;
    }
    snprintf(log, sizeof(log), "%s/lf.log", tmp);
    /* A scratch corpus first: libFuzzer writes into the first dir. */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/lf-scratch' && '%s' "
             "-max_total_time=%u -max_len=%zu -len_control=0 -print_final_stats=1 "
             "'%s/lf-scratch' '%s' >'%s' 2>&1", tmp, bin, secs, longest, tmp,
             seeds, log);
    if (system(cmd) != 0) {
        printf("skip - libfuzzer: %s failed (exit status; a finding?)\n", bin);
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
        printf("skip - libfuzzer: no exec/s in its output\n");
        return;
    }
    printf("figure libfuzzer_mm_execs: %.0f execs/s   goal >= 100000   "
           "%.0f runs, max_len %zu, one core\n", rate, runs, longest);
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
    libfuzzer(seeds, secs);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-fuzz: could not remove %s\n", tmp);
    return 0;
}
