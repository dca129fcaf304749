/*
 * tests/unit/test-fuzz-zoo.c - the bug-zoo rows the fuzzer's oracles see
 * (docs/bugzoo.md "Time to find"): each checked-in regression input of
 * tests/data/fuzz/ is a violation of the row's kind with the option on and
 * runs clean with it off; the contract oracle (fuzz/call.c CA7) stays
 * silent on the grant seeds and on random inputs with every option off;
 * the mm op list keeps the meaning of the old selector bytes.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "core/domain.h"
#include "core/mmu.h"
#include "core/types.h"
#include "core/vcpu.h"

#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/hvmrace.h"
#include "fuzz/isolation.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/race.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"

struct fz_world *fz_exec_world(enum fuzz_surface s);

static size_t load(const char *name, uint8_t *buf, size_t max)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/fuzz/%s", name);
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

/* The input's run with `set` (NULL: every option off, or the options
   already set in this process): the result. */
static int replay(enum fuzz_surface s, const char *name, const char *set,
                  struct fuzz_result *r)
{
    static uint8_t b[4096];
    char err[256];
    size_t n = load(name, b, sizeof(b));
    REQUIRE(n > 0);
    if (set)
        REQUIRE(fuzz_set_options(set, err, sizeof(err)) == 0);
    memset(r, 0, sizeof(*r));
    return fuzz_one(s, b, n, r);
}

static bool named(const struct fuzz_result *r, const char *prefix)
{
    return strncmp(r->invariant, prefix, strlen(prefix)) == 0;
}

/* --- grant.xsa316: CA7 ------------------------------------------------------- */

static void t_xsa316_on(void)
{
    struct fuzz_result r;
    for (unsigned i = 0; i < 2; i++) {         /* F2: every run */
        /* The options are set once, before the world is built. */
        CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa316",
                        i ? NULL : "grant.xsa316=on", &r), 1);
        CHECK(strcmp(r.invariant, FZ_CONTRACT_GRANT " not a GNTST code")
              == 0);
        CHECK_EQ(r.at_call, 1);
        CHECK(strstr(r.report, "status 1") != NULL);
    }
}

static void t_xsa316_off(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa316", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 2);
    /* The map was refused with the status CA7 expects (general_error):
       the contract held, so the run is clean. */
}

/* A breach is taken by the oracle of its own call: a clean run after a
   failing one in the same process reports nothing. */
static void t_contract_not_sticky(void)
{
    struct fuzz_result r;
    static const uint8_t query[] = { 5, 1, 3, 0 };      /* query_size */
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa316", "grant.xsa316=on", &r), 1);
    CHECK_EQ(fuzz_one(FUZZ_GRANT, query, sizeof(query), &r), 0);
}

/* CA7 never fires on a clean hypervisor: the committed grant seeds and
   random inputs, every option off, find nothing at all. */
static void t_contract_silent(void)
{
    static uint8_t b[4096];
    struct fuzz_result r;
    unsigned seeds = 0, found = 0;
    fuzz_set_reset(FUZZ_RESET_FORK);
    DIR *d = opendir("fuzz/seeds/grant");
    REQUIRE(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "fuzz/seeds/grant/%s", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t n = fread(b, 1, sizeof(b), f);
        fclose(f);
        seeds++;
        if (fuzz_one(FUZZ_GRANT, b, n, &r)) {
            found++;
            fprintf(stderr, "  seed %s: %s\n", e->d_name, r.invariant);
        }
    }
    closedir(d);
    CHECK(seeds > 0);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (unsigned i = 0; i < 2000; i++) {
        size_t len = 1 + i % 200;
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        if (fuzz_one(FUZZ_GRANT, b, len, &r)) {
            found++;
            fprintf(stderr, "  random #%u: %s\n", i, r.invariant);
        }
    }
    CHECK_EQ(found, 0);
}

/* The grant campaigns' false findings, each a regression input that runs
   clean with every option off (tests/data/fuzz/README tells each story):
   the fuzzer's guests behave (fuzz/call.c CA1, CA5) and the audit judges
   only what Xen guarantees (core/grant/audit.c U5, core/mm/alloc.c A8). */
static const struct {
    const char *name;
    unsigned calls;
} clean_inputs[] = {
    { "grant-stale-buffer", 3 },        /* CA1: buffer remapped, no flush */
    { "grant-map-over-buffer", 2 },     /* CA1: a map over the buffer */
    { "grant-dom0-buffer-on-foreign-grant-frame", 2 },  /* CA5 */
    { "grant-copy-into-grant-frame", 2 },               /* CA5: by gmfn */
    { "grant-clear-grant-frame", 2 },                   /* CA5: CLEAR_PAGE */
    { "grant-copy-via-ref-into-grant-frame", 3 },       /* CA5: by ref */
    { "grant-map-granted-grant-frame-over-buffer", 2 }, /* CA5 */
    { "grant-crashed-mapper-l1-freed", 4 },             /* U5 */
    { "grant-decrease-grant-frame", 3 },                /* A8 */
};

static void t_clean_inputs(void)
{
    for (size_t i = 0; i < sizeof(clean_inputs) / sizeof(clean_inputs[0]);
         i++) {
        struct fuzz_result r;
        int rc = replay(FUZZ_GRANT, clean_inputs[i].name, NULL, &r);
        if (rc || r.calls_run != clean_inputs[i].calls)
            fprintf(stderr, "  %s: %d after %u calls: %s\n",
                    clean_inputs[i].name, rc, r.calls_run, r.invariant);
        CHECK_EQ(rc, 0);
        CHECK_EQ(r.calls_run, clean_inputs[i].calls);
    }
}

/* grant.xsa227 (CA11): a contains_pte map whose PTE address is 2 bytes
   into dom1's L1 #0 slot 100: the grant PTE straddles two entries. */
static void t_xsa227_on(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa227", "grant.xsa227=on", &r), 1);
    CHECK(strncmp(r.invariant, "audit: invariant 9", 18) == 0);
    CHECK_EQ(r.at_call, 0);
    CHECK(strstr(r.report, "slot 100") != NULL);
}

static void t_xsa227_off(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa227", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 1);           /* the misaligned address refused */
}

/* grant.xsa234 (CA12): dom1 maps gref #0 writable over data #5's
   direct-map slot and gref #1 read-only over data #6's, then replaces the
   read-only one with new_addr = the writable grant's address: the
   writable grant PTE is stolen into the other slot. */
static void t_xsa234_on(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa234", "grant.xsa234=on", &r), 1);
    CHECK(strcmp(r.invariant, "grant audit: invariant 26") == 0);
    CHECK_EQ(r.at_call, 2);
    CHECK(strstr(r.report, "with no mapping") != NULL);
}

static void t_xsa234_off(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa234", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 4);           /* the steal was refused */
}

static void t_xsa255_on(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa255", "grant.xsa255=on", &r), 1);
    CHECK(strcmp(r.invariant, FZ_ISO_RELEASED) == 0);
    CHECK_EQ(r.at_call, 2);                     /* after set_version 1 */
}

static void t_xsa255_off(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_GRANT, "grant-xsa255", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 3);           /* set_version 1 was -EBUSY */
}

/* fuzz/exec.c E10: with the oracle off, a find of each kind - the audit
   (xsa227), the isolation walk (xsa255), the contract (xsa316) - runs to
   its program's end unreported; on again, the next run finds it.  A name
   that is neither "on" nor "off" changes nothing. */
static void t_oracle_off(void)
{
    static const struct { const char *in, *name; } row[] = {
        { "grant-xsa227", "audit: invariant 9" },
        { "grant-xsa255", FZ_ISO_RELEASED },
        { "grant-xsa316", FZ_CONTRACT_GRANT },
    };
    char err[256];                      /* set once, before the world */
    REQUIRE(fuzz_set_options("grant.xsa227=on,grant.xsa255=on,"
                             "grant.xsa316=on", err, sizeof(err)) == 0);
    struct fuzz_result r;
    CHECK(fuzz_oracle_on());
    for (unsigned i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
        CHECK_EQ(fuzz_set_oracle_named("off"), 0);
        CHECK(!fuzz_oracle_on());
        CHECK_EQ(replay(FUZZ_GRANT, row[i].in, NULL, &r), 0);
        CHECK(!r.violation);
        CHECK(r.calls > 0);
        CHECK_EQ(r.calls_run, r.calls);
        CHECK_EQ(fuzz_set_oracle_named("sometimes"), -1);
        CHECK(!fuzz_oracle_on());
        CHECK_EQ(fuzz_set_oracle_named(NULL), 0);
        CHECK(fuzz_oracle_on());
        CHECK_EQ(replay(FUZZ_GRANT, row[i].in, NULL, &r), 1);
        CHECK(named(&r, row[i].name));
    }
}

/* A status frame mapped while the table is at version 2 is the guest's
   (I7): the first two calls alone are clean even with the option on. */
static void t_status_frame_at_v2(void)
{
    static uint8_t b[64];
    struct fuzz_result r;
    char err[128];
    size_t n = load("grant-xsa255", b, sizeof(b));
    REQUIRE(n == 20);
    REQUIRE(fuzz_set_option("grant.xsa255=on", err, sizeof(err)) == 0);
    CHECK_EQ(fuzz_one(FUZZ_GRANT, b, 16, &r), 0);
    CHECK_EQ(r.calls_run, 2);
}

/* --- ptwr.mode=unhook on the race surface: RC5 -------------------------------- */

static void t_ptwr_unhook(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_RACE, "race-ptwr-unhook", "ptwr.mode=unhook", &r),
             1);
    CHECK(strcmp(r.invariant, FZ_RACE_SPURIOUS) == 0);
}

static void t_ptwr_emulate(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_RACE, "race-ptwr-unhook", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 5);
}

/* A race run may end with the writer's batch still open (no hypercall
   after its stores): the audit and the isolation walk account it as the
   batch holds it (core/mm/audit.c U9, core/grant/audit.c U6,
   fuzz/isolation.c I14).  Found by the first ptwr.mode=unhook campaign
   from the race seeds: invariant 1 after call 2. */
static void t_ptwr_open_batch(void)
{
    struct fuzz_result r;
    int rc = replay(FUZZ_RACE, "race-ptwr-open-batch", "ptwr.mode=unhook",
                    &r);
    if (rc)
        fprintf(stderr, "  %s\n", r.report);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.calls_run, 3);
}

/* --- shadow.fastpath_oos=racy, p2m.lock=none on the hvmrace surface ---------- */

/* Story A: fuzz/hvmrace.c H4. */
static void t_fastpath_oos_racy(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-oos-fastpath",
                    "shadow.fastpath_oos=racy", &r), 1);
    CHECK(strcmp(r.invariant, FZ_HVMRACE_SPURIOUS) == 0);
    CHECK_EQ(r.at_call, 4);
}

static void t_fastpath_oos_fixed(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-oos-fastpath", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 5);
}

/* Story B: fuzz/call.c CA9 (paging and sharing); the sharing input's
   writable mapping of a dom_cow frame is audit invariant 22 as well, which
   the stale-map check reports first. */
static void t_p2m_lock_none(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-p2m-paging", "p2m.lock=none", &r),
             1);
    CHECK(strcmp(r.invariant, FZ_HVMRACE_STALE) == 0);
    CHECK_EQ(r.at_call, 5);
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-p2m-sharing", NULL, &r), 1);
    CHECK(strcmp(r.invariant, FZ_HVMRACE_STALE) == 0);
    CHECK(strstr(r.report, "to sharing") != NULL);
}

static void t_p2m_lock_locked(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-p2m-paging", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 6);
    CHECK_EQ(replay(FUZZ_HVMRACE, "hvmrace-p2m-sharing", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 2);
}

/* --- mm.pfinfo_devalidated=pt: invariant 12, the pfinfo op ------------------- */

static void t_pfinfo_pt(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_MM, "mm-pfinfo-devalidated",
                    "mm.pfinfo_devalidated=pt", &r), 1);
    CHECK(named(&r, "audit: invariant 12"));
    CHECK_EQ(r.at_call, 1);             /* after the unhook, not the read */
    CHECK(strstr(r.report, "L1TAB") != NULL);
}

static void t_pfinfo_notab(void)
{
    struct fuzz_result r;
    CHECK_EQ(replay(FUZZ_MM, "mm-pfinfo-devalidated", NULL, &r), 0);
    CHECK_EQ(r.calls_run, 2);
}

/* The pfinfo op is dom0's (P3) and sits at selector 23 of 24; every other
   selector byte names the op it named in the old 12-op list. */
static void t_mm_selectors(void)
{
    static const uint8_t old[12] = {
        FZ_OP_MMU_UPDATE, FZ_OP_MMU_UPDATE, FZ_OP_MMUEXT, FZ_OP_MMUEXT,
        FZ_OP_UPDATE_VA, FZ_OP_UPDATE_VA_OTHER, FZ_OP_MEM_DECREASE,
        FZ_OP_MEM_POPULATE, FZ_OP_VM_ASSIST, FZ_OP_LOAD, FZ_OP_STORE,
        FZ_OP_STORE };
    static struct fz_prog p;
    unsigned n;
    const uint8_t *ops = fz_surface_ops(FUZZ_MM, &n);
    REQUIRE(n == 24);
    for (unsigned b = 0; b < 256; b++) {
        uint8_t in[2] = { (uint8_t)b, 1 };
        fz_decode(FUZZ_MM, in, sizeof(in), &p);
        REQUIRE(p.ncalls >= 1);
        if (b % 24 == 23) {
            CHECK_EQ(p.call[0].op, FZ_OP_PFINFO);
            CHECK_EQ(p.call[0].actor, 0);
        } else {
            CHECK_EQ(p.call[0].op, old[b % 12]);
        }
    }
    CHECK_EQ(ops[23], FZ_OP_PFINFO);
}

/* CA12: the grant list doubled; only 22, 24 and 31 (mod 38) changed. */
static void t_grant_selectors(void)
{
    static struct fz_prog p;
    unsigned n;
    const uint8_t *ops = fz_surface_ops(FUZZ_GRANT, &n);
    REQUIRE(n == 38);
    static const struct { unsigned sel; uint8_t op; } later[] = {
        { 22, FZ_OP_GNT_REPLACE }, { 24, FZ_OP_GNT_STATUS },
        { 31, FZ_OP_GNT_GETVER },
    };
    for (unsigned b = 0; b < 256; b++) {
        uint8_t in[2] = { (uint8_t)b, 1 };
        fz_decode(FUZZ_GRANT, in, sizeof(in), &p);
        REQUIRE(p.ncalls >= 1);
        uint8_t want = ops[b % 19];
        for (unsigned i = 0; i < 3; i++)
            if (b % 38 == later[i].sel)
                want = later[i].op;
        CHECK_EQ(p.call[0].op, want);
    }
}

/* CA12: get_version and get_status_frames as the fuzzer issues them,
   read back from dom1's argument buffer.  The calls change the world
   outside fuzz_one's reset, so they run in a child. */
static int grant_queries_child(void)
{
    if (fuzz_init(FUZZ_GRANT))
        return 10;
    struct fz_world *w = fz_exec_world(FUZZ_GRANT);
    static struct fz_state st;
    struct fz_call_ctx c = { .w = w, .st = &st, .actor = 1,
                             .v = w->dom[1].d->vcpu[0],
                             .buf = fz_directmap_va(w->dom[1].buf.first) };
    struct fz_call k;
    memset(&k, 0, sizeof(k));
    k.nitems = 1;
    k.op = FZ_OP_GNT_GETVER;
    k.pick[0][0] = (struct fz_pick){ .kind = FZ_K_DOMID, .dom = 3 };
    struct gnttab_get_version gv;
    if (fz_run_call(&c, &k) != 0 ||
        mmu_read(c.v, c.buf, &gv, sizeof(gv)) != MMU_OK || gv.version != 1)
        return 11;
    k.op = FZ_OP_GNT_STATUS;                /* at version 1: refused */
    k.pick[0][1] = (struct fz_pick){ .kind = FZ_K_SMALL, .idx = 1 };
    struct gnttab_get_status_frames g;
    if (fz_run_call(&c, &k) != 0 ||
        mmu_read(c.v, c.buf, &g, sizeof(g)) != MMU_OK ||
        g.status != GNTST_general_error)
        return 12;
    k.op = FZ_OP_GNT_VERSION;
    k.pick[0][0] = (struct fz_pick){ .kind = FZ_K_SMALL, .idx = 2 };
    if (fz_run_call(&c, &k) != 0)
        return 13;
    k.op = FZ_OP_GNT_STATUS;
    k.pick[0][0] = (struct fz_pick){ .kind = FZ_K_DOMID, .dom = 3 };
    uint64_t frame = 0;
    if (fz_run_call(&c, &k) != 0 ||
        mmu_read(c.v, c.buf, &g, sizeof(g)) != MMU_OK ||
        g.status != GNTST_okay || g.nr_frames != 1 ||
        /* the frame list: the buffer's list area (fuzz/call.c CA2) */
        mmu_read(c.v, c.buf + 2048, &frame, sizeof(frame)) != MMU_OK)
        return 14;
    struct fz_pick sp = { .kind = FZ_K_FRAME, .role = FZ_R_GNT, .idx = 1 };
    if (frame != fz_resolve(w, &st, 1, &sp, NULL))  /* pool.h Q5 */
        return 15;
    k.op = FZ_OP_GNT_GETVER;
    if (fz_run_call(&c, &k) != 0 ||
        mmu_read(c.v, c.buf, &gv, sizeof(gv)) != MMU_OK || gv.version != 2)
        return 16;
    return 0;
}

static void t_grant_queries(void)
{
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        _exit(grant_queries_child());
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
}

/* CA8: only the privileged domain's call is run (the race surface gives
   every call to dom1, race.c RC3: refused as Xen refuses a domU). */
static void t_pfinfo_privileged(void)
{
    REQUIRE(fuzz_init(FUZZ_MM) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    REQUIRE(w);
    struct fz_state st;
    memset(&st, 0, sizeof(st));
    struct fz_call k;
    memset(&k, 0, sizeof(k));
    k.op = FZ_OP_PFINFO;
    k.nitems = 1;
    k.head[0] = (struct fz_pick){ .kind = FZ_K_DOMID, .dom = 1 };
    k.pick[0][0] = (struct fz_pick){ .kind = FZ_K_FRAME, .dom = 1,
                                     .role = FZ_R_L1 };
    struct fz_call_ctx c = { .w = w, .st = &st, .actor = 1,
                             .v = w->dom[1].d->vcpu[0],
                             .buf = fz_directmap_va(w->dom[1].buf.first) };
    CHECK_EQ(fz_run_call(&c, &k), -XEN_EPERM);
    c.actor = 0;
    c.v = w->dom[0].d->vcpu[0];
    c.buf = fz_directmap_va(w->dom[0].buf.first);
    CHECK_EQ(fz_run_call(&c, &k), 0);
    k.nitems = 0;                       /* an empty batch reads nothing */
    CHECK_EQ(fz_run_call(&c, &k), 0);
}

static const struct test tests[] = {
    { "grant.xsa316: the map's status 1 is 'contract: grant status not a "
      "GNTST code' after call 1, every run", t_xsa316_on },
    { "grant.xsa316 off: the same map is general_error, as Xen, and clean",
      t_xsa316_off },
    { "a contract breach belongs to its call: the next run is clean",
      t_contract_not_sticky },
    { "every option off: the grant seeds and 2000 random inputs find "
      "nothing (no contract breach)", t_contract_silent },
    { "the grant campaigns' false findings (stale or remapped buffer, "
      "grant-entry frames written, a crashed mapper's freed L1, a given-back "
      "grant frame) run clean", t_clean_inputs },
    { "grant.xsa227: a contains_pte map at a misaligned PTE address "
      "breaks invariant 9 (a grant PTE straddling two entries)",
      t_xsa227_on },
    { "grant.xsa227 off: the misaligned map is refused and the run is clean",
      t_xsa227_off },
    { "grant.xsa234: unmap_and_replace stealing the writable grant PTE "
      "breaks grant invariant 26 after the replace", t_xsa234_on },
    { "grant.xsa234 off: the steal is refused and the run is clean",
      t_xsa234_off },
    { "grant.xsa255: the freed status frame still mapped is 'isolation: "
      "released Xen page mapped' after set_version 1", t_xsa255_on },
    { "grant.xsa255 off: set_version 1 is refused and the run is clean",
      t_xsa255_off },
    { "a status frame mapped while the table is version 2 is the guest's",
      t_status_frame_at_v2 },
    { "the oracle off: the xsa227, xsa255 and xsa316 finds run to their end "
      "unreported; on again, each is found", t_oracle_off },
    { "ptwr.mode=unhook: the race input's fault is spurious (story C)",
      t_ptwr_unhook },
    { "ptwr.mode=emulate: the same race input is clean", t_ptwr_emulate },
    { "ptwr.mode=unhook: a run that ends with the batch open is clean "
      "(the audit reads the batch's accounting)", t_ptwr_open_batch },
    { "shadow.fastpath_oos=racy: the hvmrace input's fault is story A's",
      t_fastpath_oos_racy },
    { "shadow.fastpath_oos=fixed: the same hvmrace input is clean",
      t_fastpath_oos_fixed },
    { "p2m.lock=none: the hvmrace inputs map a stale frame (story B, "
      "paging and sharing)", t_p2m_lock_none },
    { "p2m.lock=locked: the same hvmrace inputs are clean",
      t_p2m_lock_locked },
    { "mm.pfinfo_devalidated=pt: the unhooked L1 breaks invariant 12 after "
      "the unhook", t_pfinfo_pt },
    { "mm.pfinfo_devalidated=notab: the same input is clean",
      t_pfinfo_notab },
    { "the mm list's old selector bytes keep their ops; 23 mod 24 is dom0's "
      "getpageframeinfo3", t_mm_selectors },
    { "the grant list's old selector bytes keep their ops; 22, 24, 31 mod 38 "
      "are unmap_and_replace, get_status_frames, get_version",
      t_grant_selectors },
    { "get_version answers 1, then 2; get_status_frames is refused at "
      "version 1 and gives the status frame at version 2", t_grant_queries },
    { "getpageframeinfo3 runs for dom0 only: dom1's is -EPERM",
      t_pfinfo_privileged },
};

TEST_MAIN(tests)
