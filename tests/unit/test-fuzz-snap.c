/*
 * tests/unit/test-fuzz-snap.c - the snapshot reset (fuzz/snap.h,
 * FUZZ_RESET_SNAP, fuzz/exec.c E8) against the rebuild.
 *
 * Linked with the allocation wraps (Makefile fz_snap_wrap), as the
 * harnesses are.  Every run here has HVLAB_FUZZ_SNAP_CHECK=1, so each
 * restore also compares the arena and the world hash itself (S4).
 * Beyond the equivalence with REBUILD: a run is deterministic (the same
 * input after any other leaves the same state), the allocator hands out
 * the same blocks, zeroed past the snapshot's bump offset, after every
 * restore (snap.h S3), the history rings read as at the snapshot
 * (snap.c S10), and hot pages take no second fault (S2, S7).  Kept
 * pages (S14, core/wrec.h) are put back when noted, a store nobody noted
 * is caught by the check, and a forget hands the pages to write tracking.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/history.h"
#include "core/wrec.h"
#include "fuzz/fuzz.h"
#include "fuzz/race.h"
#include "fuzz/restore_seed.h"
#include "fuzz/snap.h"
#include "fuzz/snap_alloc.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"
#include "toolstack/stream.h"

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
static void t_shadow(void) { same_as_rebuild(FUZZ_SHADOW, 0x94d049bb133111ebULL); }
static void t_race(void) { same_as_rebuild(FUZZ_RACE, 0xbf58476d1ce4e5b9ULL); }
static void t_hvmrace(void) { same_as_rebuild(FUZZ_HVMRACE, 0xd6e8feb86659fd93ULL); }

/* A deadlocked race run under SNAP (fuzz/race.c RC7): the world is not
   torn down and rebuilt, the restore alone brings it back, and every
   input after it gives REBUILD's result. */
static void t_race_deadlock(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    make_inputs(0x2545f4914f6cdd1dULL);
    const enum fuzz_surface surf[] = { FUZZ_RACE, FUZZ_HVMRACE };
    for (unsigned k = 0; k < 2; k++) {
        enum fuzz_surface s = surf[k];
        CHECK_EQ(fuzz_init(s), 0);
        struct fz_world *w = fz_exec_world(s);
        uint64_t pristine = fz_world_hash(w);
        fuzz_set_reset(FUZZ_RESET_REBUILD);
        for (unsigned i = 0; i < 40; i++)
            fuzz_one(s, input[i], input_len[i], &want[i]);
        fuzz_set_reset(FUZZ_RESET_SNAP);
        struct machine *m = NULL;
        unsigned differ = 0, deadlocks = 0;
        for (unsigned i = 0; i < 40; i++) {
            if (i % 4 == 0)
                fz_race_force_deadlock(1);
            memset(&got, 0, sizeof(got));
            fuzz_one(s, input[i], input_len[i], &got);
            if (i % 4 == 0) {
                deadlocks += !strcmp(got.invariant, FZ_RACE_DEADLOCK);
            } else if (got.violation != want[i].violation ||
                       got.calls_run != want[i].calls_run ||
                       strcmp(got.invariant, want[i].invariant)) {
                differ++;
            }
            CHECK_EQ(fz_snap_restore(), 0);
            w = fz_exec_world(s);
            CHECK_EQ(fz_world_hash(w), pristine);
            if (!m)
                m = w->m;
            CHECK(w->m == m);               /* not rebuilt */
        }
        CHECK_EQ(deadlocks, 10);
        CHECK_EQ(differ, 0);
    }
}

/* The checked-in HVM race stories (tests/data/fuzz/hvmrace-*) under SNAP
   with their historical options: each is found every time, with the same
   report, and every restore brings back the pristine world. */
static void t_hvmrace_stories(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    char err[128];
    CHECK_EQ(fuzz_set_options("shadow.fastpath_oos=racy,p2m.lock=none", err,
                              sizeof(err)), 0);
    static const char *const files[] = {
        "tests/data/fuzz/hvmrace-oos-fastpath",
        "tests/data/fuzz/hvmrace-p2m-paging",
        "tests/data/fuzz/hvmrace-p2m-sharing",
    };
    CHECK_EQ(fuzz_init(FUZZ_HVMRACE), 0);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    uint64_t pristine = fz_world_hash(w);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    for (unsigned k = 0; k < 3; k++) {
        uint8_t b[MAX_LEN];
        FILE *f = fopen(files[k], "rb");
        REQUIRE(f);
        size_t n = fread(b, 1, sizeof(b), f);
        fclose(f);
        struct fuzz_result first;
        memset(&first, 0, sizeof(first));
        for (unsigned i = 0; i < 3; i++) {
            memset(&got, 0, sizeof(got));
            CHECK_EQ(fuzz_one(FUZZ_HVMRACE, b, n, i ? &got : &first), 1);
            if (i)
                CHECK(strcmp(got.report, first.report) == 0);
            CHECK_EQ(fz_snap_restore(), 0);
            CHECK_HEX(fz_world_hash(fz_exec_world(FUZZ_HVMRACE)), pristine);
        }
        CHECK(first.invariant[0] == 'r');       /* "race: ..." */
    }
}

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


/* The same input after different predecessors: the same result and the
   same state after the run (what AFL++ calls stability). */
static void t_deterministic(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    make_inputs(0xabcdef12345ULL);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    unsigned differ = 0, changed = 0;
    for (unsigned i = 0; i < 60; i++) {
        struct fuzz_result r1, r2;
        fuzz_one(FUZZ_MM, input[i], input_len[i], &r1);
        uint64_t h1 = fz_world_hash(w);
        fuzz_one(FUZZ_MM, input[i + 100], input_len[i + 100], NULL);
        fuzz_one(FUZZ_MM, input[i], input_len[i], &r2);
        uint64_t h2 = fz_world_hash(w);
        CHECK_EQ(fz_snap_restore(), 0);
        changed += h1 != fz_world_hash(w);
        if (h1 != h2 || r1.calls_run != r2.calls_run ||
            r1.violation != r2.violation)
            differ++;
    }
    CHECK_EQ(differ, 0);
    CHECK(changed > 10);                    /* the runs did change state */
}

/* Every byte of the frame table (free-list links included) and the
   machine's free count: what the next allocation will be handed. */
static uint64_t frame_table_hash(const struct machine *m)
{
    const uint8_t *p = (const uint8_t *)m->frame_table;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < m->nr_frames * sizeof(struct page_info); i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return (h ^ m->nr_free) * 0x100000001b3ULL;
}

/* The restore surface (fuzz/world.c W10, exec.c E9): a stream restored
   after another leaves the frame table as it did the first time under
   SNAP.  The same pairs on the kept machine (REBUILD: a clean run is not
   rebuilt) differ, because destroying a domain gives its frames back in
   another order than they were taken: what cost the restore harness its
   AFL++ stability (about 97%).  Should the kept machine ever come back
   the same, the control check below fails and this test shows nothing. */
static void t_restore(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    struct stream_membuf mb[16];
    unsigned n = 0;
    for (unsigned i = 0; i < fuzz_restore_nr_seeds() && n < 16; i++)
        if (fuzz_restore_seed_ok(i) && fuzz_restore_seed(i, &mb[n]) == 0)
            n++;
    REQUIRE(n >= 3);
    unsigned differ[2] = { 0, 0 }, pairs = 0;
    for (unsigned mode = 0; mode < 2; mode++) {
        fuzz_set_reset(mode ? FUZZ_RESET_SNAP : FUZZ_RESET_REBUILD);
        CHECK_EQ(fuzz_init(FUZZ_RESTORE), 0);
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < n; j++) {
                if (i == j)
                    continue;
                struct fuzz_result r1, r2;
                CHECK_EQ(fuzz_one(FUZZ_RESTORE, mb[i].buf, mb[i].len, &r1), 0);
                struct fz_world *w = fz_exec_world(FUZZ_RESTORE);
                REQUIRE(w != NULL);
                uint64_t h1 = frame_table_hash(w->m);
                CHECK_EQ(fuzz_one(FUZZ_RESTORE, mb[j].buf, mb[j].len, NULL), 0);
                CHECK_EQ(fuzz_one(FUZZ_RESTORE, mb[i].buf, mb[i].len, &r2), 0);
                CHECK_EQ(r1.calls_run, r2.calls_run);
                CHECK(r1.calls_run > 3);
                differ[mode] += h1 != frame_table_hash(w->m);
                pairs += mode;
            }
    }
    /* The world holds this thread's history ring from its build (world.c
       W10): a run does not make its 512 pages anew for the restore to
       copy back. */
    struct fz_snap_stats st;
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&st);
    CHECK(st.last_arena_pages < 128);
    fuzz_set_reset(FUZZ_RESET_REBUILD);
    CHECK(pairs >= 6);
    CHECK_EQ(differ[1], 0);
    CHECK(differ[0] > 0);                   /* the control */
    for (unsigned i = 0; i < n; i++)
        free(mb[i].buf);
}

/* The allocator after a restore: the same used part, the same blocks
   handed out, and a block from the bump area zero (snap.h S3). */
static void t_allocator(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    CHECK_EQ(fz_snap_restore(), 0);
    struct fz_snap_stats st;
    fz_snap_stats(&st);
    size_t used = fz_arena_used();
    CHECK_EQ(used, st.snap_arena_bytes);
    void *first_small = NULL, *first_big = NULL;
    unsigned same = 0, zero = 0;
    for (unsigned i = 0; i < 8; i++) {
        fuzz_one(FUZZ_MM, NULL, 0, NULL);   /* the world is now dirty */
        fz_arena_enter();
        uint8_t *small = malloc(100);
        uint8_t *big = malloc(3 << 20);     /* from the bump area */
        fz_arena_leave();
        CHECK(fz_arena_owns(small) && fz_arena_owns(big));
        if (!small || !big)
            return;
        CHECK((size_t)(big - fz_arena_base()) >= used);
        bool z = true;
        for (size_t k = 0; k < (3u << 20); k += 509)
            z &= big[k] == 0;
        zero += z;
        memset(small, 0xa5, 100);
        memset(big, 0x5a, 3 << 20);
        if (!i) {
            first_small = small;
            first_big = big;
        }
        same += small == first_small && big == first_big;
        CHECK(fz_arena_used() > used);
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK_EQ(fz_arena_used(), used);
    }
    CHECK_EQ(same, 8);
    CHECK_EQ(zero, 8);
    /* A calloc from the bump area is zero without being cleared (SA7):
       from a cooled snapshot, 3 MiB of it take only a fault or two. */
    fz_snap_cool();
    struct fz_snap_stats a, b;
    fz_snap_stats(&a);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    fz_arena_enter();
    uint8_t *c = calloc(3 << 20, 1);
    fz_arena_leave();
    fz_snap_stats(&b);
    CHECK(c != NULL && fz_arena_owns(c));
    CHECK(b.faults - a.faults <= 2);
    bool z = c != NULL;
    for (size_t k = 0; c && k < (3u << 20); k += 509)
        z &= c[k] == 0;
    CHECK(z);
    CHECK_EQ(fz_snap_restore(), 0);
}

/* domain_crash's records live outside the arena (core/domctl.c): a crash
   in a run is forgotten by the restore (snap.c S12). */
static void t_crash_records(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    for (unsigned i = 0; i < 3; i++) {
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        CHECK(domain_crashed(w->dom[1].d) == NULL);
        domain_crash(w->dom[1].d, "test-fuzz-snap");
        CHECK(domain_crashed(w->dom[1].d) != NULL);
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK(domain_crashed(w->dom[1].d) == NULL);
    }
}

static bool same_records(const struct fh_record *a, unsigned na,
                         const struct fh_record *b, unsigned nb)
{
    if (na != nb)
        return false;
    for (unsigned i = 0; i < na; i++)
        if (a[i].seq != b[i].seq || a[i].what != b[i].what ||
            a[i].old_word != b[i].old_word || a[i].new_word != b[i].new_word)
            return false;
    return true;
}

/* The history rings after a restore read as at the snapshot, for every
   pagetable frame of every domain (snap.c S10). */
static void t_history(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    enum { MAXF = 256, MAXR = 8 };
    static mfn_t mfn[MAXF];
    static struct fh_record want[MAXF][MAXR], got[MAXR];
    static unsigned nwant[MAXF];
    make_inputs(0x77aa55ULL);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    CHECK_EQ(fz_snap_restore(), 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    unsigned nf = 0;
    for (unsigned d = 0; d < w->ndoms; d++) {
        const struct fz_dom *fd = &w->dom[d];
        const struct fz_range *rg[] = { &fd->l4, &fd->l3, &fd->l2, &fd->l1,
                                        &fd->buf };
        for (unsigned k = 0; k < 5; k++)
            for (uint64_t p = 0; p < rg[k]->n && nf < MAXF; p++)
                mfn[nf++] = fd->p2m[rg[k]->first + p];
    }
    CHECK(nf > 8);
    for (unsigned f = 0; f < nf; f++)
        nwant[f] = frame_history_find(w->m, mfn[f], want[f], MAXR);
    unsigned moved = 0, wrong = 0;
    for (unsigned i = 0; i < 40; i++) {
        fuzz_one(FUZZ_MM, input[i], input_len[i], NULL);
        for (unsigned f = 0; f < nf; f++)
            if (!same_records(want[f], nwant[f], got,
                              frame_history_find(w->m, mfn[f], got, MAXR))) {
                moved++;
                break;
            }
        CHECK_EQ(fz_snap_restore(), 0);
        for (unsigned f = 0; f < nf; f++)
            wrong += !same_records(want[f], nwant[f], got,
                                   frame_history_find(w->m, mfn[f], got,
                                                      MAXR));
    }
    CHECK(moved > 0);                       /* runs did append */
    CHECK_EQ(wrong, 0);
}

/* A page written again after a restore takes no second fault (S2, S3);
   a cool (S7) makes it fault again, and the restores stay exact.  RAM is
   kept (its writers note, core/machine.h ram_w): forgotten, its pages are
   write-tracked like any other. */
static void t_hot_pages(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    uint64_t pristine = fz_world_hash(w);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);       /* joins the snapshot */
    hv_wrec_forget(w->m->ram, w->max_mfn << 12);
    fz_snap_cool();
    struct fz_snap_stats a, b, c;
    uint8_t *page = w->m->ram + ((w->max_mfn - 5) << 12);
    uint8_t before = page[123];
    fz_snap_stats(&a);
    for (unsigned i = 0; i < 5; i++) {
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        page[123] ^= 0xff;
        CHECK_EQ(page[123], (uint8_t)(before ^ 0xff));
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK_EQ(page[123], before);
    }
    fz_snap_stats(&b);
    CHECK_EQ(b.faults - a.faults, 1);
    CHECK(b.hot >= 1);
    CHECK(b.pages - a.pages >= 5);
    fz_snap_cool();
    fz_snap_stats(&c);
    CHECK_EQ(c.hot, 0);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    page[123] ^= 0xff;
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&c);
    CHECK_EQ(c.faults - b.faults, 1);
    CHECK_EQ(page[123], before);
    CHECK_HEX(fz_world_hash(w), pristine);
}

/* A frame-table word well inside the kept range (S14). */
static struct page_info *kept_frame(struct fz_world *w)
{
    return &w->m->frame_table[w->m->nr_frames / 2 + 7];
}

/* The mm world under SNAP with the check of every restore on (S4). */
static struct fz_world *kept_world(void)
{
    setenv("HVLAB_FUZZ_SNAP_CHECK", "1", 1);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    CHECK_EQ(fuzz_init(FUZZ_MM), 0);
    return fz_exec_world(FUZZ_MM);
}

/* A noted store to a kept page is put back without a fault; the page is
   copied only by the restores after runs that noted it. */
static void t_kept_pages(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    struct fz_world *w = kept_world();
    uint64_t pristine = fz_world_hash(w);
    struct page_info *pg = kept_frame(w);
    uint32_t before = pg->tlbflush_timestamp;
    struct fz_snap_stats a, b, c;
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&a);
    /* the frame table, the audit's records, the history, the walk's bytes */
    CHECK(a.kept > w->m->nr_frames * sizeof(struct page_info) / 4096);
    for (unsigned i = 0; i < 5; i++) {
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        hv_wrec_note(pg, sizeof(*pg));
        pg->tlbflush_timestamp = before ^ 0x5a5a5a5a;
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK_EQ(pg->tlbflush_timestamp, before);
    }
    fz_snap_stats(&b);
    CHECK_EQ(b.faults - a.faults, 0);       /* kept: never write-protected */
    CHECK(b.noted - a.noted >= 5);
    CHECK_HEX(fz_world_hash(w), pristine);
    for (unsigned i = 0; i < 5; i++) {      /* runs that do not note it */
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        CHECK_EQ(fz_snap_restore(), 0);
    }
    fz_snap_stats(&c);
    CHECK_EQ(c.faults - b.faults, 0);
    CHECK(c.noted - b.noted < b.noted - a.noted);
}

/* In a child: an empty run, store(w), a restore under the check; true
   when the check aborted it, with what it printed in buf. */
static bool check_aborts(struct fz_world *w, void (*store)(struct fz_world *),
                         char *buf, size_t len)
{
    int pfd[2];
    CHECK_EQ(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        store(w);
        fz_snap_restore();
        _exit(0);
    }
    close(pfd[1]);
    size_t got_len = 0;
    ssize_t n;
    while ((n = read(pfd[0], buf + got_len, len - 1 - got_len)) > 0)
        got_len += (size_t)n;
    buf[got_len] = '\0';
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void store_unnoted(struct fz_world *w)
{
    kept_frame(w)->tlbflush_timestamp ^= 1;     /* no note */
}

/* A store to a kept page that nobody noted is not put back: the check
   (S4) finds it and names it (core/wrec.h W3). */
static void t_kept_unnoted(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    char buf[1024] = "";
    CHECK(check_aborts(kept_world(), store_unnoted, buf, sizeof(buf)));
    CHECK(strstr(buf, "frame table") != NULL);
    CHECK(strstr(buf, "did not note it") != NULL);
}

/* The last frame of RAM: no world uses it. */
static const uint8_t *spare_page(struct fz_world *w)
{
    return mfn_to_virt(w->m, w->max_mfn - 1);
}

/* S15: two noted bytes of one kept page, 1000 bytes apart, are put back
   by their two chunks, not by the page. */
static void t_kept_chunks(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    struct fz_world *w = kept_world();
    const uint8_t *p = spare_page(w);
    uint8_t b0 = p[0], b1 = p[1000];
    struct fz_snap_stats a, b, c;
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&a);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);           /* the baseline's bytes */
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&b);
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    *(uint8_t *)ram_w(p, 1) ^= 0xff;
    *(uint8_t *)ram_w(p + 1000, 1) ^= 0xff;
    CHECK_EQ(fz_snap_restore(), 0);
    fz_snap_stats(&c);
    CHECK_EQ(p[0], b0);
    CHECK_EQ(p[1000], b1);
    CHECK_EQ((c.bytes - b.bytes) - (b.bytes - a.bytes), 2 * 256);
}

static void store_other_chunk(struct fz_world *w)
{
    const uint8_t *p = spare_page(w);
    *(uint8_t *)ram_w(p, 1) ^= 0xff;            /* chunk 0 noted */
    ((uint8_t *)p)[1000] ^= 0xff;               /* chunk 3: no note */
}

/* S15: a note puts back its chunk, not its page: a store into another
   chunk of the same page, unnoted, is named by the check. */
static void t_kept_chunk_unnoted(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    char buf[1024] = "";
    CHECK(check_aborts(kept_world(), store_other_chunk, buf, sizeof(buf)));
    CHECK(strstr(buf, "did not note it") != NULL);
}

/* A forget during a run turns the range's pages into hot pages: stores
   nobody notes are put back from then on. */
static void t_kept_forget(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    struct fz_world *w = kept_world();
    struct page_info *pg = kept_frame(w);
    uint32_t before = pg->tlbflush_timestamp;
    size_t ft = w->m->nr_frames * sizeof(struct page_info);
    struct fz_snap_stats a, b;
    fuzz_one(FUZZ_MM, NULL, 0, NULL);
    fz_snap_stats(&a);
    hv_wrec_forget(w->m->frame_table, ft);
    fz_snap_stats(&b);
    CHECK_EQ(a.kept - b.kept, ft / 4096);
    CHECK(b.hot >= a.hot + ft / 4096);
    CHECK_EQ(fz_snap_restore(), 0);
    for (unsigned i = 0; i < 3; i++) {
        fuzz_one(FUZZ_MM, NULL, 0, NULL);
        pg->tlbflush_timestamp = before + 1 + i;    /* no note needed now */
        CHECK_EQ(fz_snap_restore(), 0);
        CHECK_EQ(pg->tlbflush_timestamp, before);
    }
}

static const struct test tests[] = {
    { "300 random FUZZ_MM inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_mm },
    { "300 random FUZZ_GRANT inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_grant },
    { "300 random FUZZ_SHADOW inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_shadow },
    { "300 random FUZZ_RACE inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_race },
    { "300 random FUZZ_HVMRACE inputs: SNAP gives REBUILD's results and the "
      "pristine hash after every restore", t_hvmrace },
    { "a deadlocked race run under SNAP: the restore alone brings the world "
      "back and later inputs give REBUILD's results", t_race_deadlock },
    { "the checked-in HVM race stories are found every time under SNAP, "
      "each restore giving back the pristine world", t_hvmrace_stories },
    { "two worlds in the snapshot: each restore brings both back", t_two_worlds },
    { "an input gives the same result and state whatever ran before it",
      t_deterministic },
    { "after every restore the allocator hands out the same blocks, the "
      "bump area's zeroed, and a calloc there writes nothing", t_allocator },
    { "a domain crashed in a run is not crashed after the restore",
      t_crash_records },
    { "after every restore the history rings read as at the snapshot",
      t_history },
    { "a hot page faults once, is put back by every restore, and faults "
      "again after a cool", t_hot_pages },
    { "leaving SNAP for REBUILD keeps fuzzing the same world", t_drop },
    { "a restored stream leaves the same frame table whatever stream ran "
      "before it under SNAP (not on the kept machine)", t_restore },
    { "a noted store to a kept page is put back with no fault, and copied "
      "only after runs that noted it", t_kept_pages },
    { "a store to a kept page nobody noted is named by the check", t_kept_unnoted },
    { "a forget turns kept pages into hot pages that are put back unnoted",
      t_kept_forget },
    { "two noted bytes of a kept page are put back by their two chunks",
      t_kept_chunks },
    { "a store into a chunk nobody noted, beside a noted one, is named by "
      "the check", t_kept_chunk_unnoted },
};

TEST_MAIN(tests)
