/*
 * tests/unit/test-fuzz-race.c - the race surface (fuzz/race.h RC1-RC6):
 * the input's schedule prefix chooses the interleaving of dom1's two vCPUs,
 * runs are stable, and story C's spurious fault is found with
 * ptwr.mode=unhook by a hand-written schedule and program.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched.h"
#include "fuzz/fuzz.h"
#include "fuzz/paircov.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/race.h"
#include "fuzz/world.h"
#include "tests/unit/fuzz_input.h"
#include "tests/unit/test.h"

struct fz_world *fz_exec_world(enum fuzz_surface s);

/* --- building inputs ------------------------------------------------------- */

/* The schedule prefix: L, then the decisions (RC1). */
static void sched(struct in *in, const char *decisions)
{
    size_t n = strlen(decisions);
    put8(in, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        put8(in, (uint8_t)(decisions[i] - '0'));
}

/* Actor bytes: (byte / 3) % 2 is the vCPU (RC3). */
#define V0  1
#define V1  4

/* vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables): SMALL
   picks 0 and 2. */
static void vm_assist_wpt(struct in *in, uint8_t actor)
{
    const uint8_t c[] = { 8, actor, 0, 0, 0, 2 };
    put_bytes(in, c, sizeof(c));
}

/* store va(L1(dom1,#l1))+slot s := PTE(data(dom1,#d), P|RW), kernel. */
static void store_l1(struct in *in, uint8_t actor, uint8_t l1, uint8_t s,
                     uint8_t d)
{
    const uint8_t c[] = { 10, actor, FZ_R_L1 * 4, l1, s, 0,
                          FZ_R_DATA * 4, d, 0, 0, 0 };
    put_bytes(in, c, sizeof(c));
}

/* load from a raw VA, kernel. */
static void load_raw(struct in *in, uint8_t actor, uint64_t va)
{
    put8(in, 9);
    put8(in, actor);
    put8(in, 0xf0);
    put64(in, va);
    put8(in, 0);
    put8(in, 0);
}

/*
 * Story C as a program: v0 enables writable pagetables and writes two
 * entries of dom1's second L1 through its read-only mapping (the first
 * write is emulated, U4; the second unhooks the L1, U5); v1 loads from the
 * 2 MiB that L1 maps (pfn 600 of the direct map), and v0's next hypercall
 * flushes the batch (U6).  The schedule: v0 for 8 decisions, v1 once (up
 * to its not-present fault), then v0 again: the batch is flushed and the
 * L1 re-hooked before v1's fault is handled, so it reaches the guest
 * although its PTE is present.
 */
static void story_c(struct in *in)
{
    sched(in, "00000000" "1" "0000000000000000");
    vm_assist_wpt(in, V0);
    store_l1(in, V0, 1, 0, 0);
    store_l1(in, V0, 1, 1, 1);
    load_raw(in, V1, fz_directmap_va(600));
    vm_assist_wpt(in, V0);
}

/* --- tests ----------------------------------------------------------------- */

static void t_names(void)
{
    CHECK_EQ(fuzz_surface_find("race"), FUZZ_RACE);
    CHECK(strcmp(fuzz_surface_name(FUZZ_RACE), "race") == 0);
    CHECK_EQ(fz_world_ndoms(FUZZ_RACE), 3);
    CHECK_EQ(fz_world_nr_vcpus(FUZZ_RACE, 1), 2);

    struct fz_race_input ri;
    const uint8_t short_in[] = { 200, 1, 0 };   /* L past the end */
    fz_race_split(short_in, sizeof(short_in), &ri);
    CHECK_EQ(ri.nsched, 2);
    CHECK_EQ(ri.nprog, 0);
    fz_race_split(NULL, 0, &ri);
    CHECK_EQ(ri.nsched, 0);
    CHECK_EQ(ri.nprog, 0);
}

static void t_print(void)
{
    struct in in = { 0 };
    story_c(&in);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    REQUIRE(f);
    fuzz_print_program(FUZZ_RACE, in.b, in.n, f);
    fclose(f);
    CHECK(strstr(text, "schedule (25 decisions") != NULL);
    CHECK(strstr(text, "0000000010000000") != NULL);
    CHECK(strstr(text, " 1: dom1.v0 store [{va=va(L1(dom1,#1))+slot 0") != NULL);
    CHECK(strstr(text, " 3: dom1.v1 load [{va=raw 0xffff880000258000") != NULL);
    free(text);
}

/* A known schedule runs every call, and the same input twice gives the
   same result, the same decisions and the same world (F2). */
static void t_stable(void)
{
    struct in in = { 0 };
    story_c(&in);
    struct fuzz_result r1, r2;
    REQUIRE(fuzz_init(FUZZ_RACE) == 0);
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r1), 0);  /* emulate mode */
    CHECK_EQ(r1.calls, 5);
    CHECK_EQ(r1.calls_run, 5);
    const struct fz_race_stats s1 = *fz_race_last();
    CHECK_EQ(s1.calls[0], 4);
    CHECK_EQ(s1.calls[1], 1);
    CHECK(s1.decisions >= 5);
    CHECK_EQ(s1.spurious, 0);
    struct fz_world *w = fz_exec_world(FUZZ_RACE);
    REQUIRE(w);
    uint64_t h1 = fz_world_hash(w);
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r2), 0);
    const struct fz_race_stats *s2 = fz_race_last();
    CHECK_HEX(fz_world_hash(w), h1);
    CHECK_EQ(s2->decisions, s1.decisions);
    CHECK_HEX(s2->schedule_hash, s1.schedule_hash);
    CHECK_EQ(r2.calls_run, r1.calls_run);

    /* Another schedule, same program: another interleaving (v1 first). */
    in.b[1] = 1;
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r2), 0);
    CHECK(fz_race_last()->schedule_hash != s1.schedule_hash);
}

/* Story C with ptwr.mode=unhook: the finding names it. */
static void t_story_c(void)
{
    char err[128];
    REQUIRE(fuzz_set_option("ptwr.mode=unhook", err, sizeof(err)) == 0);
    struct in in = { 0 };
    story_c(&in);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
    CHECK(r.violation);
    CHECK(strcmp(r.invariant, FZ_RACE_SPURIOUS) == 0);
    CHECK(strstr(r.report, "dom1 v1: a fault at 0xffff880000258000") != NULL);
    CHECK(strstr(r.report, "ptwr.mode=unhook") != NULL);
    CHECK_EQ(r.at_call, 4);            /* after the last call */
    CHECK(fz_race_last()->spurious >= 1);
    /* The same again (F2), and v1 first finds nothing: its load runs
       before any batch is open. */
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
    CHECK(strcmp(r.invariant, FZ_RACE_SPURIOUS) == 0);
    for (size_t i = 1; i <= 25; i++)
        in.b[i] = 1;
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 0);
}

/* The same through the fork reset (fuzz/exec.c E6): the finding comes
   back from the child. */
static void t_story_c_fork(void)
{
    char err[128];
    REQUIRE(fuzz_set_option("ptwr.mode=unhook", err, sizeof(err)) == 0);
    fuzz_set_reset(FUZZ_RESET_FORK);
    struct in in = { 0 };
    story_c(&in);
    struct fuzz_result r;
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
        CHECK(strcmp(r.invariant, FZ_RACE_SPURIOUS) == 0);
        CHECK_EQ(r.calls_run, 5);
    }
}

/* 255 schedule bytes for a run of a few decisions: the rest is unused. */
static void t_long_schedule(void)
{
    struct in in = { 0 };
    put8(&in, 255);
    for (unsigned i = 0; i < 255; i++)
        put8(&in, (uint8_t)(i * 7));
    vm_assist_wpt(&in, V1);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 0);
    CHECK_EQ(r.calls_run, 1);
    CHECK(fz_race_last()->decisions < 255);
    /* Only a schedule, no program: nothing runs. */
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, 256, &r), 0);
    CHECK_EQ(r.calls, 0);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

/* Random inputs: no crash, every finding named, and stable: each input
   runs twice with the rebuild reset (same result, same decisions, same
   world) and once with the fork reset (the same result comes back from
   the child, and this process's world stays the snapshot). */
static void t_random(void)
{
    unsigned found = 0;
    REQUIRE(fuzz_init(FUZZ_RACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_RACE);
    REQUIRE(w);
    const uint64_t pristine = fz_world_hash(w);
    for (unsigned round = 0; round < 150; round++) {
        size_t len = rnd8() % 160;
        uint8_t *b = malloc(len ? len : 1);
        REQUIRE(b);
        for (size_t i = 0; i < len; i++)
            b[i] = rnd8();
        if (len)
            b[0] %= 48;                 /* leave room for a program */
        struct fuzz_result r1, r2, r3;
        fuzz_set_reset(FUZZ_RESET_REBUILD);
        int rc = fuzz_one(FUZZ_RACE, b, len, &r1);
        CHECK(rc == 0 || rc == 1);
        CHECK(r1.calls_run <= r1.calls);
        if (rc) {
            found++;
            CHECK(r1.invariant[0] != '\0');
            fprintf(stderr, "  random #%u: %s\n", round, r1.invariant);
        }
        uint64_t h = fz_world_hash(w);
        uint64_t sh = fz_race_last()->schedule_hash;
        uint64_t nd = fz_race_last()->decisions;
        CHECK_EQ(fuzz_one(FUZZ_RACE, b, len, &r2), rc);
        CHECK_HEX(fz_world_hash(w), h);
        CHECK_HEX(fz_race_last()->schedule_hash, sh);
        CHECK_EQ(fz_race_last()->decisions, nd);
        CHECK_EQ(r2.calls, r1.calls);
        CHECK_EQ(r2.calls_run, r1.calls_run);
        CHECK_EQ(r2.at_call, r1.at_call);
        CHECK(strcmp(r1.invariant, r2.invariant) == 0);

        fuzz_set_reset(FUZZ_RESET_FORK);
        CHECK_EQ(fuzz_one(FUZZ_RACE, b, len, &r3), rc);
        CHECK_HEX(fz_world_hash(w), pristine);
        CHECK_EQ(r3.calls, r1.calls);
        CHECK_EQ(r3.calls_run, r1.calls_run);
        CHECK_EQ(r3.at_call, r1.at_call);
        CHECK(strcmp(r1.invariant, r3.invariant) == 0);
        free(b);
    }
    fuzz_set_reset(FUZZ_RESET_REBUILD);
    CHECK_EQ(found, 0);         /* default options: hvlab has no known race */
}

/* at_call is a program index (RC4): the highest index of a call that ran,
   whichever vCPU ran it, so `hvlab repro --minimize` cuts only calls that
   never ran.  Here v1's only call is the last one and runs first. */
static void t_at_call(void)
{
    struct in in = { 0 };
    sched(&in, "1111111111");
    vm_assist_wpt(&in, V0);
    vm_assist_wpt(&in, V0);
    vm_assist_wpt(&in, V1);
    struct fuzz_result r;
    fz_race_force_deadlock(1);          /* a finding, to read at_call */
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
    CHECK(strcmp(r.invariant, FZ_RACE_DEADLOCK) == 0);
    CHECK_EQ(r.calls_run, 3);
    CHECK_EQ(r.at_call, 2);
    /* Only the schedule's first decision and v0's calls: v1's call is
       program index 0, v0's two are 1 and 2. */
    struct in in2 = { 0 };
    sched(&in2, "0000000000");
    vm_assist_wpt(&in2, V1);
    vm_assist_wpt(&in2, V0);
    fz_race_force_deadlock(1);
    CHECK_EQ(fuzz_one(FUZZ_RACE, in2.b, in2.n, &r), 1);
    CHECK_EQ(r.calls_run, 2);
    CHECK_EQ(r.at_call, 1);
}

/* /proc/self/status field (kB), or 0. */
static uint64_t status_kb(const char *field)
{
    char line[256];
    uint64_t kb = 0;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, n) && line[n] == ':')
            kb = strtoull(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

/*
 * The deadlock path (race.c RC7) run many times in this process, as
 * `hvlab repro --minimize` may: the stuck machine's memory is released,
 * so the address space and resident memory stay bounded (each leaked
 * machine used to keep its 64 MiB arena), the rebuilt world is the
 * snapshot, and a normal run afterwards gives the result it gave before.
 * No input is known to deadlock hvlab, so the path is forced
 * (fz_race_force_deadlock): the run itself completes.
 */
#define DEADLOCK_RUNS   100
static void t_deadlock_memory(void)
{
    struct in in = { 0 };
    story_c(&in);
    struct fuzz_result r;
    REQUIRE(fuzz_init(FUZZ_RACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_RACE);
    REQUIRE(w);
    const uint64_t pristine = fz_world_hash(w);
    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 0);
    const uint64_t after_story = fz_world_hash(w);
    const uint64_t sched_story = fz_race_last()->schedule_hash;

    fz_race_force_deadlock(5);          /* warm up the allocators */
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
    uint64_t vm0 = status_kb("VmSize"), rss0 = status_kb("VmRSS");
    REQUIRE(vm0 && rss0);
    fz_race_force_deadlock(DEADLOCK_RUNS);
    for (unsigned i = 0; i < DEADLOCK_RUNS; i++) {
        CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 1);
        CHECK(strcmp(r.invariant, FZ_RACE_DEADLOCK) == 0);
        CHECK(fz_race_last()->deadlock);
        CHECK_EQ(r.at_call, 4);
        CHECK_HEX(fz_world_hash(w), pristine);      /* built anew */
    }
    uint64_t vm1 = status_kb("VmSize"), rss1 = status_kb("VmRSS");
    fprintf(stderr, "  %u deadlocks: VmSize %+lld kB, VmRSS %+lld kB\n",
            DEADLOCK_RUNS, (long long)(vm1 - vm0), (long long)(rss1 - rss0));
    /* 8 MiB in all: a leaked machine kept 64 MiB of address space and
       about 3 MiB of tables each (the domains' structs stay, RC7). */
    CHECK(vm1 < vm0 + 8 * 1024);
    CHECK(rss1 < rss0 + 8 * 1024);

    CHECK_EQ(fuzz_one(FUZZ_RACE, in.b, in.n, &r), 0);
    CHECK_HEX(fz_world_hash(w), after_story);
    CHECK_HEX(fz_race_last()->schedule_hash, sched_story);
    CHECK(!fz_race_last()->deadlock);
}

/* The committed race seeds (fuzz/main/gen-seeds.c, race_prog): each
   runs clean with the defaults and gives calls to both vCPUs. */
static void t_seeds(void)
{
    DIR *dir = opendir("fuzz/seeds/race");
    if (!dir)
        SKIP("fuzz/seeds/race not found (run from the top of the tree)");
    static uint8_t buf[4096];
    static struct fuzz_result r;
    unsigned seen = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char file[512];
        snprintf(file, sizeof(file), "fuzz/seeds/race/%s", e->d_name);
        FILE *fp = fopen(file, "rb");
        REQUIRE(fp);
        size_t len = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        CHECK_EQ(buf[0], 0);            /* no schedule: random decides */
        CHECK_EQ(fuzz_one(FUZZ_RACE, buf, len, &r), 0);
        CHECK(fz_race_last()->calls[0] > 0 && fz_race_last()->calls[1] > 0);
        seen++;
    }
    closedir(dir);
    CHECK(seen >= 2);
}

/* fuzz/paircov.h: the counts' slots and hash; feeding any counts, up to
   255 in every slot, runs (PC1, PC2). */
static void t_paircov(void)
{
    static uint8_t c[SCHED_PAIR_SLOTS];
    CHECK_EQ(fz_paircov_slots(c), 0);
    c[3] = 1;
    c[1023] = 40;
    CHECK_EQ(fz_paircov_slots(c), 2);
    fz_paircov_feed(c);
    memset(c, 0xff, sizeof(c));
    fz_paircov_feed(c);
    CHECK_EQ(fz_paircov_slots(c), SCHED_PAIR_SLOTS);
}

/* RC10 on the PV race surface: the story C input counts pairs, the same
   ones every run. */
static void t_pairs(void)
{
    struct in in = { 0 };
    story_c(&in);
    struct fuzz_result r;
    static uint8_t first[SCHED_PAIR_SLOTS];
    fuzz_one(FUZZ_RACE, in.b, in.n, &r);
    memcpy(first, fz_race_pairs(), sizeof(first));
    CHECK(fz_paircov_slots(first) > 2);
    fuzz_one(FUZZ_RACE, in.b, in.n, &r);
    CHECK(memcmp(fz_race_pairs(), first, sizeof(first)) == 0);
}

static const struct test tests[] = {
    { "point-pair coverage: slots, and feeding any counts",
      t_paircov },
    { "a race run counts its point pairs, the same every time", t_pairs },
    { "the race surface is named 'race' and splits its input as RC1 says",
      t_names },
    { "a race input prints its schedule and its calls on dom1's vCPUs",
      t_print },
    { "a hand-written schedule runs every call; twice: same decisions, "
      "same world hash", t_stable },
    { "ptwr.mode=unhook: the hand-written schedule finds story C's "
      "spurious fault, another does not", t_story_c },
    { "the story C finding comes back through the fork reset", t_story_c_fork },
    { "a schedule longer than the run's decisions is harmless",
      t_long_schedule },
    { "random race inputs never crash, find nothing with the defaults, "
      "and are stable (all of them, rebuild and fork reset)", t_random },
    { "at_call is the program index of the last call either vCPU ran",
      t_at_call },
    { "100 deadlocks in one process: the stuck machines' memory is released "
      "and the world rebuilt as the snapshot", t_deadlock_memory },
    { "the committed race seeds run clean and give calls to both vCPUs",
      t_seeds },
};

TEST_MAIN(tests)
