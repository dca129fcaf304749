/*
 * tests/unit/test-fuzz-repro.c - what `hvlab repro` needs of the fuzzer:
 * per-call byte spans (fz_call_spans) and hypervisor options set before
 * the world is built (fuzz_set_option / fuzz_set_options, fuzz/exec.c E5).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "core/options.h"
#include "fuzz/fuzz.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"

struct fz_world *fz_exec_world(enum fuzz_surface s);

/* tests/data/fuzz/grant-xsa224's program: 6 calls of 4, 11, 4, 11, 4 and
   3 bytes (the last one cut short: its pick reads zeros past the end). */
static const uint8_t xsa224[] = {
    0x05, 0x02, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x05, 0x00, 0x00,
    0x05, 0x01, 0x03, 0x07,
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc8, 0x10, 0x05, 0x00, 0x00,
    0x0c, 0x01, 0x00, 0x05,
    0x09, 0x09, 0x09,
};

static void t_spans(void)
{
    size_t st[FUZZ_MAX_CALLS], en[FUZZ_MAX_CALLS];
    static const size_t want[][2] = {
        { 0, 4 }, { 4, 15 }, { 15, 19 }, { 19, 30 }, { 30, 34 }, { 34, 37 },
    };
    unsigned n = fz_call_spans(FUZZ_GRANT, xsa224, sizeof(xsa224), st, en,
                               FUZZ_MAX_CALLS);
    REQUIRE(n == 6);
    for (unsigned i = 0; i < n; i++) {
        CHECK_EQ(st[i], want[i][0]);
        CHECK_EQ(en[i], want[i][1]);
    }
    /* max bounds the count; no bytes, no calls. */
    CHECK_EQ(fz_call_spans(FUZZ_GRANT, xsa224, sizeof(xsa224), st, en, 2), 2);
    CHECK_EQ(fz_call_spans(FUZZ_GRANT, NULL, 0, st, en, FUZZ_MAX_CALLS), 0);
    CHECK_EQ(fz_call_spans(FUZZ_RESTORE, xsa224, sizeof(xsa224), st, en,
                           FUZZ_MAX_CALLS), 0);
}

/* Every span is the program's call: cutting one call out leaves the
   others decoding as before (what the minimizer relies on). */
static void t_spans_cut(void)
{
    static uint64_t rng = 0x2545f4914f6cdd1dULL;
    static struct fz_prog whole, cut;
    size_t st[FUZZ_MAX_CALLS], en[FUZZ_MAX_CALLS];
    uint8_t b[300], c[300];
    for (unsigned round = 0; round < 200; round++) {
        enum fuzz_surface s = (enum fuzz_surface)(round % 3);
        for (size_t i = 0; i < sizeof(b); i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            b[i] = (uint8_t)(rng >> 24);
        }
        size_t len = 20 + round % 200;
        fz_decode(s, b, len, &whole);
        unsigned n = fz_call_spans(s, b, len, st, en, FUZZ_MAX_CALLS);
        CHECK_EQ(n, whole.ncalls < FUZZ_MAX_CALLS ? whole.ncalls : n);
        if (n < 3)
            continue;
        unsigned k = round % (n - 1);
        size_t m = st[k];
        memcpy(c, b, st[k]);
        memcpy(c + m, b + en[k], len - en[k]);
        m += len - en[k];
        fz_decode(s, c, m, &cut);
        REQUIRE(cut.ncalls >= n - 1);
        CHECK(memcmp(&cut.call[k], &whole.call[k + 1], sizeof(cut.call[k]))
              == 0);
    }
}

static void t_set_option(void)
{
    char err[256];
    CHECK_EQ(fuzz_set_option("grant.xsa224=on", err, sizeof(err)), 0);
    CHECK_EQ(fuzz_set_options("ptwr.mode=unhook,,grant.xsa316=on", err,
                              sizeof(err)), 0);
    CHECK_EQ(fuzz_set_option("grant.nope=on", err, sizeof(err)), -1);
    CHECK(strstr(err, "grant.nope") != NULL);
    CHECK_EQ(fuzz_set_option("grant.xsa224", err, sizeof(err)), -1);
    CHECK_EQ(fuzz_set_option("ptwr.mode=sideways", err, sizeof(err)), -1);
    CHECK_EQ(fuzz_set_options("grant.xsa227=on,bad", err, sizeof(err)), -1);
    REQUIRE(fuzz_init(FUZZ_GRANT) == 0);
    const struct machine *m = fz_exec_world(FUZZ_GRANT)->m;
    CHECK(m->opt.grant_xsa224);
    CHECK(m->opt.grant_xsa316);
    CHECK(m->opt.grant_xsa227);     /* set before the bad item stopped it */
    CHECK_EQ(m->opt.ptwr_mode, PTWR_UNHOOK);
    CHECK_EQ(fuzz_set_option("grant.xsa234=on", err, sizeof(err)), -1);
    CHECK(strcmp(err, "options are fixed once the world is built") == 0);
}

/* The option is what makes the input fail: with it, invariant 4 after
   call 3, and every reset keeps it (F2). */
static void t_option_reproduces(void)
{
    char err[256];
    struct fuzz_result r;
    REQUIRE(fuzz_set_option("grant.xsa224=on", err, sizeof(err)) == 0);
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ(fuzz_one(FUZZ_GRANT, xsa224, sizeof(xsa224), &r), 1);
        CHECK_EQ(r.at_call, 3);
        CHECK(strncmp(r.invariant, "audit: invariant 4", 18) == 0);
    }
}

static void t_default_clean(void)
{
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_GRANT, xsa224, sizeof(xsa224), &r), 0);
    CHECK_EQ(r.calls_run, 6);
    CHECK(!fz_exec_world(FUZZ_GRANT)->m->opt.grant_xsa224);
}

static const struct test tests[] = {
    { "each call's byte span is found, end clamped to the input", t_spans },
    { "cutting one call's span leaves the next call as it was",
      t_spans_cut },
    { "options are set before the world is built and fixed after",
      t_set_option },
    { "grant.xsa224 makes the input break invariant 4 at call 3, every run",
      t_option_reproduces },
    { "without the option the same input runs clean", t_default_clean },
};

TEST_MAIN(tests)
