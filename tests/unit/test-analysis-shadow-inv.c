/*
 * tests/unit/test-analysis-shadow-inv.c - the checkers of
 * analysis/check_shadow_inv.c (inv.13, inv.16, and inv.9 for entries
 * written after validation), driven by synthetic event
 * sequences through the engine (az_feed), in the order the shadow code
 * traces them: a writable type ref is taken (type_change) before the RW
 * shadow entry is traced, dropped after; write access is removed before a
 * promote; unsync is traced before the first RW entry of the page; a full
 * resync revokes the RW entries before it is traced.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/layout.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define W(n) (ST_PGT_writable | (uint64_t)(n))     /* writable type, count n */
#define SL1 0x900ULL                                /* an L1 shadow */
#define SFL1 0x901ULL                               /* an FL1 shadow */
#define RW(mfn) ((uint64_t)(mfn) << 12 | ST_PTE_P | ST_PTE_RW)
#define RO(mfn) ((uint64_t)(mfn) << 12 | ST_PTE_P)

static void setup(void)
{
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
}

static void type(uint64_t mfn, uint64_t ot, uint64_t nt)
{
    feed(HVE_mm_type_change, HVF_host, U(0), HVF_mfn, mfn, HVF_owner, U(1),
         HVF_old_count, U(0), HVF_new_count, U(0), HVF_old_type, ot,
         HVF_new_type, nt, -1);
}

static void entry(uint64_t smfn, unsigned stype, unsigned slot, uint64_t oe,
                  uint64_t ne)
{
    feed(HVE_shadow_entry_write, HVF_host, U(0), HVF_dom, U(1), HVF_smfn,
         smfn, HVF_type, U(stype), HVF_slot, U(slot), HVF_old_e, oe,
         HVF_new_e, ne, -1);
}

static void promote(uint64_t gmfn, unsigned t, bool up, unsigned flags)
{
    feed(HVE_shadow_promote, HVF_host, U(0), HVF_dom, U(1), HVF_gmfn, gmfn,
         HVF_type, U(t), HVF_promote, U(up), HVF_flags, U(flags), -1);
}

static void unsync(uint64_t gmfn)
{
    feed(HVE_shadow_unsync, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(0),
         HVF_gmfn, gmfn, HVF_slot, U(gmfn % 3), -1);
}

static void resync(uint64_t gmfn, bool full)
{
    feed(HVE_shadow_resync, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(0),
         HVF_gmfn, gmfn, HVF_reason, U(0), HVF_full, U(full),
         HVF_changed, U(1), -1);
}

/* A guest write through an RW shadow entry (slot) of X: ref, then entry. */
static void map_rw(uint64_t x, unsigned slot, uint64_t from)
{
    type(x, W(from), W(from + 1));
    entry(SL1, ST_SH_L1, slot, 0, RW(x));
}

/* RW removed from that entry: entry, then the ref dropped. */
static void unmap_rw(uint64_t x, unsigned slot, uint64_t from)
{
    entry(SL1, ST_SH_L1, slot, RW(x), RO(x));
    type(x, W(from), W(from - 1));
}

/* The legal life of an L1 that goes out of sync: promoted once its RW
   mapping is gone, unsynced and written through RW entries (OOS-may-write),
   resynced by a shadow-only pass (still OOS), then fully, after the RW
   entries were revoked; a demoted frame is mapped RW again. */
static void t_clean(void)
{
    setup();
    uint64_t x = 0x40;
    map_rw(x, 1, 0);
    unmap_rw(x, 1, 1);                      /* write access removed */
    promote(x, 1, true, 0x02);
    entry(SL1, ST_SH_L1, 2, 0, RO(x));      /* read-only mappings are fine */
    unsync(x);
    map_rw(x, 3, 0);                        /* OOS-may-write */
    entry(SFL1, ST_SH_FL1, 4, 0, RW(x));    /* an FL1 entry too */
    resync(x, false);                       /* shadows only: still OOS */
    map_rw(x, 5, 1);
    entry(SFL1, ST_SH_FL1, 4, RW(x), RO(x));
    unmap_rw(x, 5, 2);
    unmap_rw(x, 3, 1);
    resync(x, true);                        /* back in sync, no RW left */
    entry(SL1, ST_SH_L1, 6, 0, RO(x));
    /* an RW magic entry, an RW entry not present, and an L2 entry whose
       frame field happens to be x, map nothing */
    entry(SL1, ST_SH_L1, 7, 0, 0xFFFFFFFF00000003ULL);
    entry(SL1, ST_SH_L1, 8, 0, x << 12 | ST_PTE_RW);
    entry(0x902, 2, 9, 0, RW(x));
    /* demoted: no longer a page table, may be mapped RW */
    promote(x, 1, false, 0);
    map_rw(x, 10, 0);
    /* a frame never promoted in the trace is not judged */
    map_rw(0x41, 11, 0);
    CHECK_EQ(nfind("inv.13"), 0);
    CHECK_EQ(nfind("inv.16"), 0);
    CHECK_EQ(nall(), 0);
}

/* A writable mapping of a shadowed page table in sync: both fire. */
static void t_rw_in_sync(void)
{
    setup();
    uint64_t x = 0x50;
    type(x, W(1), W(0));
    promote(x, 1, true, 0x02);
    map_rw(x, 1, 0);
    CHECK_EQ(nfind("inv.13"), 1);
    CHECK_EQ(nfind("inv.16"), 1);
    REQUIRE(last("inv.13"));
    CHECK(says(last("inv.13"), "invariant 13"));
    CHECK(says(last("inv.13"), "went from 0 to 1"));
    CHECK_HEX(last("inv.13")->mfn, x);
    REQUIRE(last("inv.16"));
    CHECK(says(last("inv.16"), "invariant 16"));
    CHECK(says(last("inv.16"), "L1 shadow 0x900 slot 1"));
    CHECK_HEX(last("inv.16")->mfn, x);
    /* an FL1 entry, and a frame shadowed as L2 */
    entry(SFL1, ST_SH_FL1, 2, 0, RW(x));
    CHECK_EQ(nfind("inv.16"), 2);
    CHECK(says(last("inv.16"), "FL1 shadow"));
    promote(0x51, 2, true, 0x04);
    entry(SL1, ST_SH_L1, 3, 0, RW(0x51));
    CHECK_EQ(nfind("inv.16"), 3);
    CHECK_HEX(last("inv.16")->mfn, 0x51);
}

/* After a full resync the page is in sync again: an RW entry is a
   violation; so is one after unsync + promote to a second type (the
   promote's flags word drops OOS and may-write). */
static void t_rw_after_resync(void)
{
    setup();
    uint64_t x = 0x60;
    promote(x, 1, true, 0x02);
    unsync(x);
    map_rw(x, 1, 0);
    unmap_rw(x, 1, 1);
    resync(x, true);
    CHECK_EQ(nall(), 0);
    map_rw(x, 2, 0);
    CHECK_EQ(nfind("inv.13"), 1);
    CHECK_EQ(nfind("inv.16"), 1);

    setup();
    promote(x, 1, true, 0x02);
    unsync(x);
    resync(x, true);                        /* promote to L2 resyncs first */
    promote(x, 2, true, 0x06);
    entry(SL1, ST_SH_L1, 1, 0, RW(x));
    CHECK_EQ(nfind("inv.16"), 1);
}

/* A promote that leaves writable refs, and a full resync that leaves
   the page's RW mapping in place. */
static void t_refs_left(void)
{
    setup();
    uint64_t x = 0x70;
    type(x, W(0), W(2));                    /* two refs no shadow removed */
    promote(x, 1, true, 0x02);
    CHECK_EQ(nfind("inv.13"), 1);
    REQUIRE(last("inv.13"));
    CHECK(says(last("inv.13"), "was promoted to shadow L1"));
    CHECK(says(last("inv.13"), "2 writable type references"));
    CHECK_EQ(nfind("inv.16"), 0);

    setup();
    uint64_t y = 0x71;
    promote(y, 1, true, 0x02);
    unsync(y);
    map_rw(y, 1, 0);
    CHECK_EQ(nall(), 0);
    resync(y, true);                        /* the RW entry was not revoked */
    CHECK_EQ(nfind("inv.13"), 1);
    REQUIRE(last("inv.13"));
    CHECK(says(last("inv.13"), "was resynced"));
    CHECK(says(last("inv.13"), "1 writable type references"));
    /* a shadow-only resync does not end may-write */
    setup();
    promote(y, 1, true, 0x02);
    unsync(y);
    map_rw(y, 1, 0);
    resync(y, false);
    CHECK_EQ(nall(), 0);
}

#define PT(l, n) ((uint64_t)(l) << ST_PGT_type_shift | ST_PGT_validated | (n))

static void pte(uint64_t table, unsigned level, unsigned slot, uint64_t ne)
{
    feed(HVE_pt_pte_write, HVF_host, U(0), HVF_dom, U(1), HVF_table_mfn,
         table, HVF_level, U(level), HVF_slot, U(slot), HVF_old_pte, U(0),
         HVF_new_pte, ne, HVF_path, U(0), -1);
}

static void t_inv9(void)
{
    setup();
    type(0x10, 0, PT(1, 1));                /* a validated L1 */
    type(0x20, 0, PT(2, 1));                /* the L2 written into */
    type(0x21, 0, PT(2, 1));                /* another L2 */
    pte(0x20, 2, 0, RW(0x10));              /* one level down */
    pte(0x20, 2, 1, RO(0x21));              /* a read-only linear entry */
    pte(0x20, 2, 2, 0);                     /* not present */
    pte(0x20, 2, 3, RW(0x99));              /* a frame never typed */
    type(0x30, 0, 2ULL << ST_PGT_type_shift | 1);   /* not yet validated */
    pte(0x30, 2, 0, RW(0x21));              /* building: not judged */
    pte(0x10, 1, 0, RO(0x99));              /* an L1 entry: not inv.9's */
    CHECK_EQ(nfind("inv.9"), 0);
    CHECK_EQ(nall(), 0);

    pte(0x20, 2, 4, RW(0x21));              /* a writable linear entry */
    CHECK_EQ(nfind("inv.9"), 1);
    REQUIRE(last("inv.9"));
    CHECK(says(last("inv.9"), "invariant 9"));
    CHECK(says(last("inv.9"), "writable linear entry"));
    CHECK_HEX(last("inv.9")->mfn, 0x20);
    type(0x11, 0, 1ULL << ST_PGT_type_shift | 1);   /* L1, not validated */
    pte(0x20, 2, 5, RW(0x11));
    CHECK_EQ(nfind("inv.9"), 2);
    CHECK(says(last("inv.9"), "not a validated table one level down"));
    type(0x12, 0, W(1));                    /* a writable frame */
    pte(0x20, 2, 6, RO(0x12));
    CHECK_EQ(nfind("inv.9"), 3);
    pte(0x20, 2, 7, RW(0x10) | ST_PTE_PS);  /* a superpage */
    CHECK_EQ(nfind("inv.9"), 4);
    CHECK(says(last("inv.9"), "has PSE"));
    type(0x40, 0, PT(4, 1));                /* an L4 mapping an L1 */
    pte(0x40, 4, 0, RW(0x10));
    CHECK_EQ(nfind("inv.9"), 5);
}

static void t_listed(void)
{
    static const char *const want[] = { "inv.9", "inv.13", "inv.16" };
    check_listed(want, sizeof(want) / sizeof(want[0]));
}

static const struct test tests[] = {
    { "inv.13/16: promote, unsync (may-write), resync, demote: no finding", t_clean },
    { "inv.13/16 fire on an RW mapping of an in-sync shadowed PT", t_rw_in_sync },
    { "inv.13/16 fire on an RW mapping after a full resync or a promote", t_rw_after_resync },
    { "inv.13 fires on refs left at a promote or a full resync", t_refs_left },
    { "inv.9 judges L2-L4 entries written into validated tables", t_inv9 },
    { "inv.9, inv.13 and inv.16 are in hv_checkers", t_listed },
};

TEST_MAIN(tests)
