/*
 * tests/unit/test-fuzz-snap.c - the snapshot reset (fuzz/snap.h,
 * FUZZ_RESET_SNAP, fuzz/exec.c E8) against the rebuild.
 *
 * Linked with the allocation wraps (Makefile fz_snap_wrap), as the
 * harnesses are.  Every run here has HVLAB_FUZZ_SNAP_CHECK=1, so each
 * restore also compares the arena and the world hash itself (S4).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/snap.h"
#include "fuzz/snap_alloc.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"

#define NR_INPUTS   300
#define MAX_LEN     512

struct fz_world *fz_exec_world(enum fuzz_surface s);

static uint8_t input[NR_INPUTS][MAX_LEN];
static size_t input_len[NR_INPUTS];
static struct fuzz_result want[NR_INPUTS], got;

static void make_inputs(uint64_t seed)
{
    uint64_t x = seed;
    for (unsigned n = 0; n < NR_INPUTS; n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        input_len[n] = 1 + x % (n % 2 ? 64 : MAX_LEN - 1);
        for (size_t i = 0; i < input_len[n]; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            input[n][i] = (uint8_t)(x >> 24);
        }
    }
}

/* Every input under REBUILD, then under SNAP: the same results, and the
   world's hash after each restore is the freshly built world's. */
static void same_as_rebuild(enum fuzz_surface s, uint64_t seed)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    make_inputs(seed);
    CHECK_EQ(fuzz_init(s), 0);
    struct fz_world *w = fz_exec_world(s);
    CHECK(w != NULL);
    if (!w)
        return;
    uint64_t pristine = fz_world_hash(w);
    unsigned violations = 0, calls = 0;
    fuzz_set_reset(FUZZ_RESET_REBUILD);
    for (unsigned i = 0; i < NR_INPUTS; i++) {
        fuzz_one(s, input[i], input_len[i], &want[i]);
        violations += want[i].violation;
        calls += want[i].calls_run;
    }
    CHECK(calls > NR_INPUTS);               /* the inputs do something */

    fuzz_set_reset(FUZZ_RESET_SNAP);
    unsigned differ = 0, bad_hash = 0;
    for (unsigned i = 0; i < NR_INPUTS; i++) {
        memset(&got, 0, sizeof(got));
        fuzz_one(s, input[i], input_len[i], &got);
        if (got.violation != want[i].violation ||
            got.calls_run != want[i].calls_run ||
            got.calls != want[i].calls ||
            strcmp(got.invariant, want[i].invariant)) {
            if (!differ++)
                fprintf(stderr, "  input %u: snap %d/%u '%s', rebuild "
                        "%d/%u '%s'\n", i, got.violation, got.calls_run,
                        got.invariant, want[i].violation,
                        want[i].calls_run, want[i].invariant);
        }
        CHECK_EQ(fz_snap_restore(), 0);
        w = fz_exec_world(s);
        if (fz_world_hash(w) != pristine)
            bad_hash++;
    }
    CHECK_EQ(differ, 0);
    CHECK_EQ(bad_hash, 0);

    struct fz_snap_stats st;
    fz_snap_stats(&st);
    CHECK_EQ(st.worlds, 1);
    CHECK(st.restores >= NR_INPUTS - 1);
    CHECK(st.snap_arena_bytes > 0);
    CHECK(st.pages > 0);                    /* RAM was written and put back */
    CHECK(fz_arena_used() > 0);
    /* The world's objects are arena blocks (S1). */
    CHECK(fz_arena_owns(w->m));
    CHECK(fz_arena_owns(w->dom[1].d));
    (void)violations;
}

static void t_mm(void) { same_as_rebuild(FUZZ_MM, 0x9e3779b97f4a7c15ULL); }
static void t_grant(void) { same_as_rebuild(FUZZ_GRANT, 0xc2b2ae3d27d4eb4fULL); }

/* Two worlds joined one after the other: restoring one keeps the other. */
static void t_two_worlds(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    make_inputs(0x1234567);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    CHECK_EQ(fuzz_init(FUZZ_GRANT), 0);
    uint64_t hm = fz_world_hash(fz_exec_world(FUZZ_MM));
    uint64_t hg = fz_world_hash(fz_exec_world(FUZZ_GRANT));
    for (unsigned i = 0; i < 40; i++) {
        fuzz_one(i % 2 ? FUZZ_GRANT : FUZZ_MM, input[i], input_len[i], NULL);
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK_HEX(fz_world_hash(fz_exec_world(FUZZ_MM)), hm);
        CHECK_HEX(fz_world_hash(fz_exec_world(FUZZ_GRANT)), hg);
    }
    struct fz_snap_stats st;
    fz_snap_stats(&st);
    CHECK_EQ(st.worlds, 2);
}

/* Leaving SNAP gives the world back to REBUILD, writable. */
static void t_drop(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    make_inputs(0x55aa);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    for (unsigned i = 0; i < 10; i++)
        fuzz_one(FUZZ_MM, input[i], input_len[i], NULL);
    fuzz_set_reset(FUZZ_RESET_REBUILD);
    for (unsigned i = 10; i < 20; i++) {
        struct fuzz_result r;
        fuzz_one(FUZZ_MM, input[i], input_len[i], &r);
        CHECK(r.calls_run <= r.calls);
    }
}

static const struct test tests[] = {
    { "300 random FUZZ_MM inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_mm },
    { "300 random FUZZ_GRANT inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_grant },
    { "two worlds in the snapshot: each restore brings both back", t_two_worlds },
    { "leaving SNAP for REBUILD keeps fuzzing the same world", t_drop },
};

TEST_MAIN(tests)
