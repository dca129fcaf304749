/*
 * tests/unit/test-fuzz-hvmrace.c - the FUZZ_HVMRACE surface (fuzz/race.c
 * RC8, RC9; fuzz/hvmrace.c H1-H4; fuzz/call.c CA9, CA10): the racer byte,
 * the world, stories A and B found by hand-written schedules and programs
 * with their historical options and clean without them, stable runs, and
 * random inputs clean with every option at its default.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/pte.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/hvmrace.h"
#include "fuzz/paircov.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/race.h"
#include "fuzz/world.h"
#include "inject/inject.h"
#include "tests/unit/fuzz_input.h"
#include "tests/unit/test.h"

struct fz_world *fz_exec_world(enum fuzz_surface s);

/* --- building inputs ------------------------------------------------------- */

/* RC8: the racer byte (even: dom1, odd: dom0), then L and the decisions. */
static void head(struct in *in, unsigned racer_byte, const char *decisions)
{
    size_t n = strlen(decisions);
    put8(in, (uint8_t)racer_byte);
    put8(in, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        put8(in, (uint8_t)(decisions[i] - '0'));
}

/* A run of c decisions, k times. */
static const char *rep(char *buf, const char *parts[], const unsigned k[],
                       unsigned n)
{
    size_t o = 0;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < k[i]; j++)
            buf[o++] = parts[i][0];
    buf[o] = '\0';
    return buf;
}

/* Actor bytes: (byte / 3) % 2 is the vCPU (RC3, three domains). */
#define V0  0
#define V1  3

/* Selectors of the hvmrace op list (fuzz/prog.c). */
enum { S_STORE = 0, S_LOAD = 3, S_CR3 = 5, S_FMAP = 9, S_PAGING = 12,
       S_SHARING = 14 };

/* store va(L1(self,#l1))+slot s := PTE(data(self,#d), row), kernel. */
static void store_l1(struct in *in, uint8_t actor, uint16_t s, uint8_t d,
                     uint8_t row)
{
    const uint8_t c[] = { S_STORE, actor, FZ_R_L1 * 4, 0, (uint8_t)s,
                          (uint8_t)(s >> 8), FZ_R_DATA * 4, d, row, 0, 0 };
    put_bytes(in, c, sizeof(c));
}

/* load va(data(self,#d)), kernel. */
static void load_data(struct in *in, uint8_t actor, uint8_t d)
{
    const uint8_t c[] = { S_LOAD, actor, FZ_R_DATA * 4, d, 0, 0, 0, 0 };
    put_bytes(in, c, sizeof(c));
}

/* hvm_set_cr3 L4(self,#0). */
static void cr3(struct in *in, uint8_t actor)
{
    const uint8_t c[] = { S_CR3, actor, FZ_R_L4 * 4, 0 };
    put_bytes(in, c, sizeof(c));
}

/* dom0: foreign_map slot := PTE(data(dom2,#d), P|RW). */
static void fmap(struct in *in, uint8_t actor, uint8_t slot, uint8_t d)
{
    const uint8_t c[] = { S_FMAP, actor, 0, slot, 2 + 4 * FZ_R_DATA, d, 0 };
    put_bytes(in, c, sizeof(c));
}

/* dom0: paging_op op (0 nominate, 1 evict, 2 prep) of data(dom2,#d). */
static void paging(struct in *in, uint8_t actor, uint8_t op, uint8_t d)
{
    const uint8_t c[] = { S_PAGING, actor, 0, op, 2 + 4 * FZ_R_DATA, d };
    put_bytes(in, c, sizeof(c));
}

/* dom0: sharing_op op (0 nominate, 1 share) of data(dom2,#d), client #e. */
static void sharing(struct in *in, uint8_t actor, uint8_t op, uint8_t d,
                    uint8_t e)
{
    const uint8_t c[] = { S_SHARING, actor, 0, op, 2 + 4 * FZ_R_DATA, d,
                          2 + 4 * FZ_R_DATA, e };
    put_bytes(in, c, sizeof(c));
}

/*
 * Story A (XEN-NOTES 12.A) on dom1, whose data #0 (gfn 10) is mapped by
 * slot 10 of its first L1 G.  v1 clears that entry (G goes out of sync),
 * loads CR3 (the resync shadows the cleared entry as gnp with racy) and
 * makes it present again (out of sync again, the gnp entry stale); v0
 * loads from data #0: a reserved-bit fault on the gnp entry, the fast
 * path reads it and yields in its window (hvmrace.c H1); v1 loads CR3
 * again, which resyncs G; v0 goes on and reflects a not-present fault for
 * an entry its guest made present before the access.
 */
static void story_a(struct in *in)
{
    char d[64];
    const char *p[] = { "1", "0", "1" };
    const unsigned k[] = { 18, 4, 12 };
    head(in, 0, rep(d, p, k, 3));
    store_l1(in, V1, 10, 0, 7);         /* flag row 7: NP */
    cr3(in, V1);
    store_l1(in, V1, 10, 0, 0);         /* flag row 0: P|RW */
    load_data(in, V0, 0);
    cr3(in, V1);
}

/*
 * Story B (XEN-NOTES 12.B), paging: dom0's v1 evicts gfn data(dom2,#1);
 * v0 maps data(dom2,#0) writable and stops in the window after its
 * lookup; v1 nominates and evicts #0 (its frame is freed) and preps #1,
 * which takes that frame; v0 installs it: it backs #1 now.
 */
static void story_b_paging(struct in *in)
{
    char d[64];
    const char *p[] = { "0", "1" };
    const unsigned k[] = { 2, 40 };
    head(in, 1, rep(d, p, k, 2));
    paging(in, V1, 0, 1);
    paging(in, V1, 1, 1);
    fmap(in, V0, 0, 0);
    paging(in, V1, 0, 0);
    paging(in, V1, 1, 0);
    paging(in, V1, 2, 1);
}

/* Story B, sharing: v1 nominates the gfn for sharing in v0's window: v0
   installs a writable mapping of a frame dom_cow owns now. */
static void story_b_sharing(struct in *in)
{
    char d[64];
    const char *p[] = { "0", "1" };
    const unsigned k[] = { 2, 20 };
    head(in, 1, rep(d, p, k, 2));
    fmap(in, V0, 0, 0);
    sharing(in, V1, 0, 0, 1);
}

static void set(const char *kv)
{
    char err[256];
    REQUIRE(fuzz_set_options(kv, err, sizeof(err)) == 0);
}

static char *printed(const struct in *in)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    REQUIRE(f);
    fuzz_print_program(FUZZ_HVMRACE, in->b, in->n, f);
    fclose(f);
    return text;
}

/* --- tests ----------------------------------------------------------------- */

static void t_names(void)
{
    CHECK_EQ(fuzz_surface_find("hvmrace"), FUZZ_HVMRACE);
    CHECK(strcmp(fuzz_surface_name(FUZZ_HVMRACE), "hvmrace") == 0);
    CHECK_EQ(fuzz_surface_of_path("tests/data/fuzz/hvmrace-oos-fastpath"),
             FUZZ_HVMRACE);
    CHECK_EQ(fuzz_surface_of_path("out-hvmrace/default/crashes/id:0"),
             FUZZ_HVMRACE);
    CHECK_EQ(fuzz_surface_of_path("out-race/default/crashes/id:0"),
             FUZZ_RACE);
    CHECK(fz_is_race_surface(FUZZ_HVMRACE));
    CHECK(!fz_is_race_surface(FUZZ_SHADOW));
    CHECK_EQ(fz_world_ndoms(FUZZ_HVMRACE), 3);
    CHECK_EQ(fz_world_nr_vcpus(FUZZ_HVMRACE, 0), 2);
    CHECK_EQ(fz_world_nr_vcpus(FUZZ_HVMRACE, 1), 2);
    CHECK(!fz_world_is_hvm(FUZZ_HVMRACE, 0));
    CHECK(fz_world_is_hvm(FUZZ_HVMRACE, 1));
    CHECK(fz_world_is_hvm(FUZZ_HVMRACE, 2));
}

/* W8: the world as built - dom1 shadowed, dom2 HAP, dom0 privileged. */
static void t_world(void)
{
    REQUIRE(fuzz_init(FUZZ_HVMRACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    CHECK(w->dom[0].d->is_privileged);
    CHECK_EQ(w->dom[0].d->nr_vcpus, 2);
    CHECK_EQ(w->dom[1].d->paging, PAGING_SHADOW);
    CHECK_EQ(w->dom[2].d->paging, PAGING_HAP);
    /* CA9: dom0's mapping slots are past its RAM in its first L1. */
    CHECK(w->dom[0].nr_pages <= FZ_FMAP_FIRST);
    CHECK(FZ_FMAP_FIRST + FZ_FMAP_VCPUS * FZ_FMAP_PER_VCPU <= 512);
}

static void t_split(void)
{
    struct fz_race_input ri;
    const uint8_t a[] = { 2, 2, 1, 0, 7 };
    fz_race_split_for(FUZZ_HVMRACE, a, sizeof(a), &ri);
    CHECK_EQ(ri.racer, 1);              /* even: dom1 */
    CHECK_EQ(ri.nsched, 2);
    CHECK_EQ(ri.nprog, 1);
    CHECK_EQ(ri.prog[0], 7);
    const uint8_t b[] = { 5, 0, 9 };
    fz_race_split_for(FUZZ_HVMRACE, b, sizeof(b), &ri);
    CHECK_EQ(ri.racer, 0);              /* odd: dom0 */
    CHECK_EQ(ri.nsched, 0);
    CHECK_EQ(ri.nprog, 1);
    fz_race_split_for(FUZZ_HVMRACE, b, 1, &ri);
    CHECK_EQ(ri.nprog, 0);
    fz_race_split_for(FUZZ_HVMRACE, NULL, 0, &ri);
    CHECK_EQ(ri.nsched, 0);
    CHECK_EQ(ri.nprog, 0);
    /* The race surface has no racer byte: 5 is its L. */
    fz_race_split(b, sizeof(b), &ri);
    CHECK_EQ(ri.racer, 1);
    CHECK_EQ(ri.nsched, 2);
    CHECK_EQ(ri.nprog, 0);
    /* Call spans are offsets into the whole input, past the prefix. */
    struct in in = { 0 };
    story_b_sharing(&in);
    size_t st[8], en[8];
    CHECK_EQ(fz_call_spans(FUZZ_HVMRACE, in.b, in.n, st, en, 8), 2);
    CHECK_EQ(st[0], 2 + 22);
    CHECK_EQ(en[1], in.n);
}

static void t_print(void)
{
    struct in a = { 0 }, b = { 0 };
    story_a(&a);
    story_b_sharing(&b);
    char *ta = printed(&a), *tb = printed(&b);
    CHECK(strstr(ta, "racing: dom1's vCPUs 0 and 1") != NULL);
    CHECK(strstr(ta, "schedule (34 decisions") != NULL);
    CHECK(strstr(ta, " 0: dom1.v1 store [{va=va(L1(dom1,#0))+slot 10, "
                     "val=PTE(data(dom1,#0), NP)") != NULL);
    CHECK(strstr(ta, " 3: dom1.v0 load [{va=va(data(dom1,#0))") != NULL);
    CHECK(strstr(ta, " 4: dom1.v1 hvm_set_cr3 [{cr3=L4(dom1,#0)}]") != NULL);
    CHECK(strstr(tb, "racing: dom0's vCPUs 0 and 1") != NULL);
    CHECK(strstr(tb, " 0: dom0.v0 foreign_map [{slot=0, "
                     "val=PTE(data(dom2,#0), P|RW)}]") != NULL);
    CHECK(strstr(tb, " 1: dom0.v1 sharing_op [{op=0, gfn=data(dom2,#0), "
                     "client=data(dom2,#1)}]") != NULL);
    free(ta);
    free(tb);
}

/* Story A with shadow.fastpath_oos=racy: the judge names it (H4), every
   run (F2); v1 running first to its end leaves no window: clean. */
static void t_story_a_racy(void)
{
    set("shadow.fastpath_oos=racy");
    struct in in = { 0 };
    story_a(&in);
    struct fuzz_result r;
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
        CHECK(strcmp(r.invariant, FZ_HVMRACE_SPURIOUS) == 0);
        CHECK(strstr(r.report, "dom1 v0: the fast path reflected a "
                     "not-present fault at 0xffff88000000a000") != NULL);
        CHECK(strstr(r.report, "shadow.fastpath_oos=racy") != NULL);
        CHECK_EQ(r.at_call, 4);
        CHECK_EQ(r.calls_run, 5);
    }
    for (size_t i = 2; i < 2 + 34; i++)
        in.b[i] = 1;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 0);
}

/* RC10: story A's run counts point pairs, the same ones every time; the
   schedule that runs v1 to its end first parks nobody in the window and
   counts others. */
static void t_story_a_pairs(void)
{
    set("shadow.fastpath_oos=racy");
    struct in in = { 0 };
    story_a(&in);
    struct fuzz_result r;
    static uint8_t first[SCHED_PAIR_SLOTS];
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
    memcpy(first, fz_race_pairs(), sizeof(first));
    CHECK(fz_paircov_slots(first) > 2);
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
    CHECK(memcmp(fz_race_pairs(), first, sizeof(first)) == 0);
    for (size_t i = 2; i < 2 + 34; i++)
        in.b[i] = 1;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 0);
    CHECK(fz_paircov_slots(fz_race_pairs()) > 0);
    CHECK(memcmp(fz_race_pairs(), first, sizeof(first)) != 0);
}

/* Fixed (the default): no gnp entry while OOS is on, the same schedule
   runs every call and finds nothing. */
static void t_story_a_fixed(void)
{
    struct in in = { 0 };
    story_a(&in);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 0);
    CHECK_EQ(r.calls_run, 5);
}

/* H1: the story's windows are yields of the run's injector plan: story
   A's fast-path window is hit once. */
static void t_windows(void)
{
    char err[256];
    struct inj_plan *p = inj_plan_new();
    REQUIRE(p);
    CHECK_EQ(inj_plan_add_text(p, "w", fz_hvmrace_windows_text(), err,
                               sizeof(err)), 0);
    CHECK_EQ(inj_plan_size(p), 4);
    inj_plan_free(p);
    set("shadow.fastpath_oos=racy");
    struct in in = { 0 };
    story_a(&in);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
    int pt = inj_point_find("shadow.fastpath.after_read_sl1e");
    REQUIRE(pt >= 0);
    CHECK_EQ(inj_point_hits((enum inj_point)pt), 1);
    CHECK_EQ(inj_point_fires((enum inj_point)pt), 1);
}

/* Story B with p2m.lock=none: CA9's check names the stale map (paging:
   the frame backs gfn #1 now; sharing: dom_cow's). */
static void t_story_b_none(void)
{
    set("p2m.lock=none");
    struct in in = { 0 };
    story_b_paging(&in);
    struct fuzz_result r;
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
        CHECK(strcmp(r.invariant, FZ_HVMRACE_STALE) == 0);
        CHECK(strstr(r.report, "d0 v0 mapped d2 gfn 0x9 writable") != NULL);
        CHECK(strstr(r.report, "the M2P gives to gfn 0xa (owner d2)")
              != NULL);
    }
    struct in sh = { 0 };
    story_b_sharing(&sh);
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, sh.b, sh.n, &r), 1);
    CHECK(strcmp(r.invariant, FZ_HVMRACE_STALE) == 0);
    CHECK(strstr(r.report, "to sharing") != NULL);
}

/* Locked (the default): the reference taken with the lookup makes the
   eviction and the sharing nominate fail: clean. */
static void t_story_b_locked(void)
{
    struct in in = { 0 }, sh = { 0 };
    story_b_paging(&in);
    story_b_sharing(&sh);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 0);
    CHECK_EQ(r.calls_run, 6);
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, sh.b, sh.n, &r), 0);
    CHECK_EQ(r.calls_run, 2);
}

/* F2: the same input twice gives the same decisions and the same world;
   the fork reset gives the same result and leaves the world pristine. */
static void t_stable(void)
{
    set("shadow.fastpath_oos=racy,p2m.lock=none");
    REQUIRE(fuzz_init(FUZZ_HVMRACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    const uint64_t pristine = fz_world_hash(w);
    struct in ins[3] = { { 0 }, { 0 }, { 0 } };
    story_a(&ins[0]);
    story_b_paging(&ins[1]);
    story_b_sharing(&ins[2]);
    for (unsigned k = 0; k < 3; k++) {
        struct fuzz_result r1, r2, r3;
        fuzz_set_reset(FUZZ_RESET_REBUILD);
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, ins[k].b, ins[k].n, &r1), 1);
        uint64_t h = fz_world_hash(w);
        uint64_t sh = fz_race_last()->schedule_hash;
        uint64_t nd = fz_race_last()->decisions;
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, ins[k].b, ins[k].n, &r2), 1);
        CHECK_HEX(fz_world_hash(w), h);
        CHECK_HEX(fz_race_last()->schedule_hash, sh);
        CHECK_EQ(fz_race_last()->decisions, nd);
        CHECK(strcmp(r1.report, r2.report) == 0);
        fuzz_set_reset(FUZZ_RESET_FORK);
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, ins[k].b, ins[k].n, &r3), 1);
        CHECK(strcmp(r1.invariant, r3.invariant) == 0);
        CHECK_HEX(fz_world_hash(w), pristine);
    }
    fuzz_set_reset(FUZZ_RESET_REBUILD);
}

/* CA9, CA10: the mapper's and pager's ops are the privileged domain's;
   dom1 (HVM) issuing them does nothing or is refused, as Xen refuses. */
static void t_ops_of_dom0(void)
{
    REQUIRE(fuzz_init(FUZZ_HVMRACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    struct fz_state st;
    memset(&st, 0, sizeof(st));
    struct fz_call k;
    memset(&k, 0, sizeof(k));
    k.nitems = 1;
    k.pick[0][1] = (struct fz_pick){ .kind = FZ_K_PTE, .dom = 1,
                                     .role = FZ_R_DATA };
    struct fz_call_ctx c = { .w = w, .st = &st, .actor = 1,
                             .v = w->dom[1].d->vcpu[0],
                             .buf = fz_directmap_va(w->dom[1].buf.first) };
    const uint64_t h = fz_world_hash(w);
    k.op = FZ_OP_FOREIGN_MAP;
    current = c.v;
    CHECK_EQ(fz_run_call(&c, &k), 0);
    CHECK_HEX(fz_world_hash(w), h);
    k.op = FZ_OP_PAGING;
    k.pick[0][1] = (struct fz_pick){ .kind = FZ_K_FRAME, .dom = 1,
                                     .role = FZ_R_DATA };
    CHECK_EQ(fz_run_call(&c, &k), -XEN_EPERM);
    k.op = FZ_OP_SHARING;
    CHECK_EQ(fz_run_call(&c, &k), -XEN_EPERM);
    /* dom0's nominate keeps its handle (pool.h Q6). */
    c.actor = 0;
    c.v = w->dom[0].d->vcpu[1];
    c.buf = fz_directmap_va(w->dom[0].buf.first);
    current = c.v;
    k.pick[0][1].dom = 2;
    CHECK_EQ(fz_run_call(&c, &k), 0);
    CHECK_EQ(st.nshares, 1);
    CHECK_EQ(st.share[0].domid, 2);
    CHECK(st.share[0].handle != 0);
    current = NULL;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

/* Every option at its default: random inputs of both racers find
   nothing, and each runs the same twice. */
static void t_random_clean(void)
{
    unsigned found = 0, racer[2] = { 0, 0 };
    for (unsigned round = 0; round < 400; round++) {
        size_t len = 1 + rnd8() % 200;
        uint8_t b[256];
        for (size_t i = 0; i < len; i++)
            b[i] = rnd8();
        if (len > 1)
            b[1] %= 64;                 /* leave room for a program */
        racer[b[0] % 2]++;
        struct fuzz_result r1, r2;
        int rc = fuzz_one(FUZZ_HVMRACE, b, len, &r1);
        CHECK(rc == 0 || rc == 1);
        if (rc) {
            found++;
            fprintf(stderr, "  random #%u: %s\n%s", round, r1.invariant,
                    r1.report);
        }
        uint64_t sh = fz_race_last()->schedule_hash;
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, b, len, &r2), rc);
        CHECK_HEX(fz_race_last()->schedule_hash, sh);
        CHECK_EQ(r2.calls_run, r1.calls_run);
    }
    CHECK(racer[0] > 100 && racer[1] > 100);
    CHECK_EQ(found, 0);
}

/* RC7 on this world: a deadlocked run's machine is left and the hvmrace
   world built anew, equal to the snapshot; the next run works. */
static void t_deadlock(void)
{
    REQUIRE(fuzz_init(FUZZ_HVMRACE) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    const uint64_t pristine = fz_world_hash(w);
    struct in in = { 0 };
    story_b_sharing(&in);
    struct fuzz_result r;
    fz_race_force_deadlock(1);
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 1);
    CHECK(strcmp(r.invariant, FZ_RACE_DEADLOCK) == 0);
    CHECK_EQ(w->surface, FUZZ_HVMRACE);
    CHECK_HEX(fz_world_hash(w), pristine);
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, in.b, in.n, &r), 0);
    CHECK_EQ(r.calls_run, 2);
}

/* The bytes of a file, at most cap: their number, or 0 when it cannot be
   read. */
static size_t read_input(const char *path, uint8_t *b, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(b, 1, cap, f);
    fclose(f);
    return n;
}

/* The checked-in regression inputs (tests/data/fuzz/, replayed by
   test-fuzz-zoo.c) are these stories' bytes. */
static void t_files(void)
{
    static const struct {
        const char *name;
        void (*build)(struct in *);
    } f[] = {
        { "hvmrace-oos-fastpath", story_a },
        { "hvmrace-p2m-paging", story_b_paging },
        { "hvmrace-p2m-sharing", story_b_sharing },
    };
    for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        char path[128];
        uint8_t b[1024];
        struct in in = { 0 };
        f[i].build(&in);
        snprintf(path, sizeof(path), "tests/data/fuzz/%s", f[i].name);
        size_t n = read_input(path, b, sizeof(b));
        REQUIRE(n);
        CHECK_EQ(n, in.n);
        CHECK(n == in.n && memcmp(b, in.b, n) == 0);
    }
}

/* CA9 judges what the hypervisor installed, not what the fuzzer asked:
   dom0.v1 rewrites v0's request in v0's argument buffer while v0's
   mmu_update runs (a guest racing itself), so the hypervisor maps gfn 0,
   which the M2P gives to gfn 0: no stale map (the first AFL++ campaign's
   false positive, tests/data/fuzz/hvmrace-request-rewritten). */
static void t_request_rewritten(void)
{
    uint8_t b[64];
    size_t n = read_input("tests/data/fuzz/hvmrace-request-rewritten", b,
                          sizeof(b));
    REQUIRE(n);
    struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_HVMRACE, b, n, &r), 0);
    CHECK_EQ(r.calls_run, 2);
    struct fz_world *w = fz_exec_world(FUZZ_HVMRACE);
    REQUIRE(w);
    const pte_t *l1 = mfn_to_virt(w->m, w->dom[0].p2m[w->dom[0].l1.first]);
    pte_t e = l1[FZ_FMAP_FIRST + 2];            /* v0's slot 18 % 8 */
    CHECK(pte_present(e));
    CHECK_HEX(pte_mfn(e), w->dom[2].p2m[0]);    /* gfn 0's, not gfn 2's */
    CHECK(pte_mfn(e) != w->dom[2].p2m[2]);
}

/* The clean campaigns' findings on the hypervisor, each a regression
   input that runs clean with every option off (tests/data/fuzz/README
   tells each story). */
static const struct {
    const char *name;
    unsigned calls;
} clean_inputs[] = {
    /* dom0's MMU_MACHPHYS_UPDATE with dom1 (HVM) as FD is refused
       (core/mm/mmu_update.c rule 5); it was p2m audit M3. */
    { "hvmrace-machphys-translated", 9 },
    /* A guest table that is also, by a recursive entry, its own L1: the
       walk of a write through one role sets D in an entry whose L1
       shadow (the other role) stays read-only without D, which shadow
       invariant 15 allows (core/shadow/audit.c). */
    { "hvmrace-shadow-lost-dirty", 7 },
};

static void t_clean_inputs(void)
{
    for (size_t i = 0; i < sizeof(clean_inputs) / sizeof(clean_inputs[0]);
         i++) {
        char path[128];
        uint8_t b[256];
        snprintf(path, sizeof(path), "tests/data/fuzz/%s",
                 clean_inputs[i].name);
        size_t n = read_input(path, b, sizeof(b));
        REQUIRE(n);
        struct fuzz_result r;
        int rc = fuzz_one(FUZZ_HVMRACE, b, n, &r);
        if (rc || r.calls_run != clean_inputs[i].calls)
            fprintf(stderr, "  %s: %d after %u calls: %s\n",
                    clean_inputs[i].name, rc, r.calls_run, r.invariant);
        CHECK_EQ(rc, 0);
        CHECK_EQ(r.calls_run, clean_inputs[i].calls);
    }
}

/* The committed seeds (fuzz/seeds/hvmrace, gen-seeds) show the stories'
   ops, not their races: clean with both historical options on. */
static void t_seeds(void)
{
    set("shadow.fastpath_oos=racy,p2m.lock=none");
    unsigned n = 0;
    for (unsigned i = 0; i < 16; i++) {
        char path[128];
        uint8_t b[4096];
        snprintf(path, sizeof(path), "fuzz/seeds/hvmrace/hand-%u", i);
        size_t len = read_input(path, b, sizeof(b));
        if (!len)
            break;
        struct fuzz_result r;
        CHECK_EQ(fuzz_one(FUZZ_HVMRACE, b, len, &r), 0);
        CHECK(r.calls_run >= 2);
        n++;
    }
    CHECK_EQ(n, 5);
}

static const struct test tests[] = {
    { "hvmrace is a race surface with its own name and a three-domain "
      "layout", t_names },
    { "the world: dom0 privileged with two vCPUs, dom1 shadowed, dom2 HAP",
      t_world },
    { "the racer byte picks dom1 (even) or dom0 (odd); spans skip the "
      "prefix", t_split },
    { "a program prints its racer, schedule and calls", t_print },
    { "story A with fastpath_oos=racy: a not-present fault for a present "
      "guest entry, every run; no window, no finding", t_story_a_racy },
    { "story A with fastpath_oos=fixed: the same input is clean",
      t_story_a_fixed },
    { "the stories' windows are yields: the fast-path window is hit",
      t_windows },
    { "story B with p2m.lock=none: a stale foreign map, paging and sharing",
      t_story_b_none },
    { "story B with p2m.lock=locked: both inputs are clean",
      t_story_b_locked },
    { "the same input gives the same decisions, world and result, also "
      "through the fork reset", t_stable },
    { "the mapper's and pager's ops are the privileged domain's",
      t_ops_of_dom0 },
    { "every option at its default: 400 random inputs find nothing",
      t_random_clean },
    { "a deadlocked run rebuilds the hvmrace world as the snapshot",
      t_deadlock },
    { "the checked-in hvmrace inputs are these stories", t_files },
    { "story A's run counts the same point pairs every time, another "
      "schedule other ones", t_story_a_pairs },
    { "the clean campaigns' findings (an M2P update of an HVM guest's "
      "frame, a read-only shadow entry without D) run clean",
      t_clean_inputs },
    { "the hvmrace seeds are clean even with both historical options on",
      t_seeds },
    { "a request the other vCPU rewrote mid-call is judged by what was "
      "installed: clean", t_request_rewritten },
};

TEST_MAIN(tests)
