/*
 * tests/unit/test-analysis-inv.c - the invariant checkers of
 * analysis/check_inv2.c (inv.10, inv.31), driven by synthetic event
 * sequences through the engine (az_feed), as a trace would.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define S16(x) ((uint64_t)(int64_t)(x))     /* a signed field, sign-extended */

static void setup(void)
{
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
}

static void linear(bool add, uint64_t table, uint64_t target, int tc, int uc)
{
    feed(add ? HVE_mm_linear_pt_add : HVE_mm_linear_pt_del, HVF_host, U(0),
         HVF_table_mfn, table, HVF_target_mfn, target, HVF_level, U(2),
         HVF_table_count, S16(tc), HVF_target_count, S16(uc), -1);
}

static void t_inv10_clean(void)
{
    setup();
    linear(true, 0x100, 0x200, 1, -1);      /* 0x100 holds, 0x200 is used */
    linear(true, 0x100, 0x300, 2, -1);
    linear(true, 0x400, 0x200, 1, -2);      /* 0x200 used twice */
    linear(false, 0x100, 0x200, 1, -1);
    linear(false, 0x100, 0x300, 0, 0);
    linear(false, 0x400, 0x200, 0, 0);
    CHECK_EQ(nfind("inv.10"), 0);
    CHECK_EQ(nall(), 0);
}

static void t_inv10_mixed(void)
{
    setup();
    linear(true, 0x100, 0x200, 1, -1);
    /* 0x100 holds an entry and is now used: its counter went 1 -> 0 */
    linear(true, 0x500, 0x100, 1, 0);
    CHECK_EQ(nfind("inv.10"), 1);
    REQUIRE(last("inv.10"));
    CHECK(says(last("inv.10"), "invariant 10"));
    CHECK(says(last("inv.10"), "the target held linear entries"));
    CHECK_HEX(last("inv.10")->mfn, 0x100);
    /* 0x200 is used and now takes an entry: -1 -> 0 */
    linear(true, 0x200, 0x600, 0, -1);
    CHECK_EQ(nfind("inv.10"), 2);
    CHECK(says(last("inv.10"), "the table was used linearly"));
    CHECK_HEX(last("inv.10")->mfn, 0x200);
    /* a del that leaves the table's counter below 0 */
    linear(false, 0x700, 0x800, -1, 0);
    CHECK_EQ(nfind("inv.10"), 3);
    CHECK(says(last("inv.10"), "removing"));
    /* and one that leaves the target's above 0 */
    linear(false, 0x900, 0xa00, 0, 1);
    CHECK_EQ(nfind("inv.10"), 4);
    CHECK_HEX(last("inv.10")->mfn, 0xa00);
}

static void round_begin(unsigned dom, unsigned iter, unsigned final)
{
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(dom), HVF_iter,
         U(iter), HVF_final, U(final), HVF_to_send, U(16), -1);
}

static void suspend(unsigned dom, unsigned phase)
{
    feed(HVE_mig_suspend, HVF_host, U(0), HVF_dom, U(dom), HVF_phase,
         U(phase), HVF_ns, U(1000), -1);
}

static void nfail(unsigned dom, unsigned iter, uint64_t pfn, int rc)
{
    feed(HVE_mig_normalise_fail, HVF_host, U(0), HVF_dom, U(dom), HVF_iter,
         U(iter), HVF_pfn, pfn, HVF_type, U(0x10000000), HVF_rc, S16(rc),
         HVF_level, U(1), HVF_slot, U(3), HVF_entry, U(0x123067), -1);
}

static void save_done(unsigned dom, int rc)
{
    feed(HVE_mig_save_done, HVF_host, U(0), HVF_dom, U(dom), HVF_rc, S16(rc),
         HVF_pages, U(16), HVF_bytes, U(65536), -1);
}

static void t_inv31(void)
{
    setup();
    round_begin(1, 0, 0);
    nfail(1, 0, 0x10, -11);                 /* live: deferred, no finding */
    round_begin(1, 1, 0);
    nfail(1, 1, 0x10, -11);
    suspend(1, 0);                          /* asked, not yet shut down */
    nfail(1, 1, 0x11, -11);
    CHECK_EQ(nfind("inv.31"), 0);
    suspend(1, 1);
    suspend(1, 2);
    round_begin(1, 2, 1);
    nfail(2, 2, 0x12, -34);                 /* another domain: not paused */
    CHECK_EQ(nfind("inv.31"), 0);
    nfail(1, 2, 0x12, -34);
    CHECK_EQ(nfind("inv.31"), 1);
    REQUIRE(last("inv.31"));
    CHECK(says(last("inv.31"), "invariant 31"));
    CHECK(says(last("inv.31"), "pfn 0x12"));
    CHECK(says(last("inv.31"), "rc -34"));
    CHECK_HEX(last("inv.31")->pfn, 0x12);
    save_done(1, -34);
    /* the next migration of dom1 is live again */
    round_begin(1, 0, 0);
    nfail(1, 0, 0x13, -11);
    CHECK_EQ(nfind("inv.31"), 1);
    /* a trace that starts after the suspend decides nothing */
    setup();
    nfail(3, 4, 0x14, -34);
    CHECK_EQ(nfind("inv.31"), 0);
}

static void t_listed(void)
{
    static const char *const want[] = { "inv.10", "inv.31" };
    check_listed(want, sizeof(want) / sizeof(want[0]));
}

static const struct test tests[] = {
    { "inv.10: linear counts on their own side are no finding", t_inv10_clean },
    { "inv.10 fires on a table both holding and used linearly", t_inv10_mixed },
    { "inv.31 fires on a normalise_fail once the domain is suspended only", t_inv31 },
    { "inv.10 and inv.31 are in hv_checkers", t_listed },
};

TEST_MAIN(tests)
