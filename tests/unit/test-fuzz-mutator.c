/*
 * tests/unit/test-fuzz-mutator.c - the race surfaces' AFL++ custom mutator
 * (fuzz/main/mutator.c M1-M5), loaded from the shared objects afl-fuzz
 * loads ($(FZ)/mutator-race.so, mutator-hvmrace.so): it never changes a
 * program or the racing domain, stays within max_size, makes all three
 * kinds of interleaving, repeats itself for a seed, and from story A's
 * workload seed (fuzz/seeds/hvmrace/hand-1) finds the story's race with
 * shadow.fastpath_oos=racy and nothing without.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "fuzz/snap.h"
#include "fuzz/race_input.h"
#include "tests/unit/test.h"

#ifndef MUTATOR_DIR
#define MUTATOR_DIR "build/fuzz"
#endif

struct mutator {
    void *h;
    void *(*init)(void *, unsigned);
    unsigned (*count)(void *, const unsigned char *, size_t);
    size_t (*fuzz)(void *, unsigned char *, size_t, unsigned char **,
                   unsigned char *, size_t, size_t);
    void (*deinit)(void *);
};

static int load(enum fuzz_surface s, struct mutator *m)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/mutator-%s.so", MUTATOR_DIR,
             fuzz_surface_name(s));
    memset(m, 0, sizeof(*m));
    m->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->h) {
        fprintf(stderr, "  %s\n", dlerror());
        return -1;
    }
    *(void **)&m->init = dlsym(m->h, "afl_custom_init");
    *(void **)&m->count = dlsym(m->h, "afl_custom_fuzz_count");
    *(void **)&m->fuzz = dlsym(m->h, "afl_custom_fuzz");
    *(void **)&m->deinit = dlsym(m->h, "afl_custom_deinit");
    return m->init && m->count && m->fuzz && m->deinit ? 0 : -1;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* M1, M3, M4 on random inputs of both surfaces. */
static void t_program_kept(void)
{
    static const enum fuzz_surface surf[] = { FUZZ_RACE, FUZZ_HVMRACE };
    for (unsigned k = 0; k < 2; k++) {
        enum fuzz_surface s = surf[k];
        struct mutator m;
        REQUIRE(load(s, &m) == 0);
        void *d = m.init(NULL, 7 + k);
        REQUIRE(d != NULL);
        uint64_t x = 0x1234567ull + k;
        unsigned outputs = 0, none = 0, bad = 0;
        for (unsigned i = 0; i < 3000; i++) {
            unsigned char in[320], *out = NULL;
            size_t len = rnd(&x) % sizeof(in);
            for (size_t j = 0; j < len; j++)
                in[j] = (unsigned char)rnd(&x);
            size_t max = i % 5 ? 4096 : len + rnd(&x) % 4;
            struct fz_race_input a, b;
            fz_race_split_for(s, in, len, &a);
            size_t n = m.fuzz(d, in, len, &out, NULL, 0, max);
            bool has_prog = a.prog && a.nprog;
            CHECK_EQ(m.count(d, in, len) > 0, has_prog);        /* M4 */
            if (!n) {
                none++;
                if (has_prog && a.nprog + fz_race_header_len(s) + 1 <= max)
                    bad++;          /* M3: it fits, so there is an output */
                continue;
            }
            outputs++;
            fz_race_split_for(s, out, n, &b);
            if (n > max || !has_prog || b.nprog != a.nprog ||
                memcmp(b.prog, a.prog, a.nprog) ||
                b.racer != a.racer || out[fz_race_header_len(s)] != b.nsched)
                bad++;
        }
        CHECK_EQ(bad, 0);
        CHECK(outputs > 300);
        CHECK(none > 0);            /* the inputs without a program */
        m.deinit(d);
        dlclose(m.h);
    }
}

static unsigned runs_of(const uint8_t *s, size_t n)
{
    unsigned r = 0;
    for (size_t i = 0; i < n; i++)
        r += i == 0 || s[i] % 2 != s[i - 1] % 2;
    return r;
}

/* M2, M5: three kinds of schedule, many distinct, the same for a seed. */
static void t_kinds_and_seed(void)
{
    struct mutator m;
    REQUIRE(load(FUZZ_HVMRACE, &m) == 0);
    /* racer 0 (dom1), a schedule of 6 decisions, a 12-byte program */
    unsigned char in[] = { 0, 6, 1, 1, 1, 0, 0, 1,
                           10, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    void *d1 = m.init(NULL, 42), *d2 = m.init(NULL, 42);
    unsigned few = 0, near = 0, reseed = 0, long_many = 0, differ = 0;
    uint64_t seen[512] = { 0 };
    static uint64_t reseeds[4096];
    unsigned distinct = 0, distinct_reseeds = 0;
    for (unsigned i = 0; i < 4000; i++) {
        unsigned char *o1, *o2;
        size_t n1 = m.fuzz(d1, in, sizeof(in), &o1, NULL, 0, 4096);
        unsigned char copy[600];
        REQUIRE(n1 && n1 <= sizeof(copy));
        memcpy(copy, o1, n1);
        size_t n2 = m.fuzz(d2, in, sizeof(in), &o2, NULL, 0, 4096);
        differ += n1 != n2 || memcmp(copy, o2, n1);             /* M5 */
        struct fz_race_input r;
        fz_race_split_for(FUZZ_HVMRACE, copy, n1, &r);
        /* reseed: at most 2 decisions; edit: 6 +- 4; few switches: up to
           MUT_SCHED_MAX in at most 4 runs, the only kind past 10 */
        if (r.nsched <= 2) {
            reseed++;
            unsigned slot = (unsigned)(r.seed % 4096);
            while (reseeds[slot] && reseeds[slot] != r.seed)
                slot = (slot + 1) % 4096;
            distinct_reseeds += !reseeds[slot];
            reseeds[slot] = r.seed;
        } else if (r.nsched <= 10)
            near++;
        else if (runs_of(r.sched, r.nsched) <= 4)
            few++;
        else
            long_many++;
        uint64_t h = r.seed;
        unsigned slot = (unsigned)(h % 512);
        for (unsigned p = 0; p < 512; p++, slot = (slot + 1) % 512) {
            if (seen[slot] == h)
                break;
            if (!seen[slot]) {
                seen[slot] = h;
                distinct++;
                break;
            }
        }
    }
    CHECK_EQ(differ, 0);
    CHECK(reseed > 1000);
    /* A reseed is a new seed nearly every time (M2): not the racer bits'
       128. */
    CHECK(distinct_reseeds * 100 > reseed * 95);
    CHECK(near > 500);
    CHECK(few > 500);
    CHECK_EQ(long_many, 0);
    CHECK(distinct > 400);
    m.deinit(d1);
    m.deinit(d2);
    dlclose(m.h);
}

/* Story A from its workload seed: interleavings of hand-1's program, run
   through the harness's entry point in a child (options are fixed once a
   world is built).  Returns the findings of n outputs, or -1. */
static int story_a(const char *set, unsigned n)
{
    FILE *f = fopen("fuzz/seeds/hvmrace/hand-1", "rb");
    if (!f)
        return -2;
    unsigned char in[256];
    size_t len = fread(in, 1, sizeof(in), f);
    fclose(f);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char err[256];
        if (*set && fuzz_set_options(set, err, sizeof(err)))
            _exit(255);
        struct mutator m;
        if (load(FUZZ_HVMRACE, &m))
            _exit(255);
        if (fz_snap_available())        /* as the harness runs them */
            fuzz_set_reset(FUZZ_RESET_SNAP);
        void *d = m.init(NULL, 1);
        unsigned found = 0;
        static struct fuzz_result res;
        for (unsigned i = 0; i < n; i++) {
            unsigned char *o;
            size_t k = m.fuzz(d, in, len, &o, NULL, 0, 4096);
            if (k && fuzz_one(FUZZ_HVMRACE, o, k, &res) &&
                strstr(res.invariant, "not-present fault for a present"))
                found++;
        }
        _exit(found > 250 ? 250 : (int)found);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
        WEXITSTATUS(st) == 255)
        return -1;
    return WEXITSTATUS(st);
}

static void t_story_a(void)
{
    int racy = story_a("shadow.fastpath_oos=racy", 4000);
    if (racy == -2)
        SKIP("fuzz/seeds/hvmrace/hand-1 not found (run from the top of the "
             "tree)");
    int fixed = story_a("", 4000);
    fprintf(stderr, "  story A in 4000 interleavings of hand-1: racy %d, "
            "fixed %d\n", racy, fixed);
    CHECK(racy > 0);
    CHECK_EQ(fixed, 0);
}

static const struct test tests[] = {
    { "3000 random race and hvmrace inputs: the program and the racer are "
      "kept, outputs fit max_size", t_program_kept },
    { "few-switch, edited and reseeded schedules, many distinct, the same "
      "for a seed", t_kinds_and_seed },
    { "interleavings of story A's workload find its race with "
      "fastpath_oos=racy and nothing with fixed", t_story_a },
};

TEST_MAIN(tests)
