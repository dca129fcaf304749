/*
 * tests/unit/test-audit.c - the audit is clean on healthy states and names
 * the invariant and the frame of every planted violation.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"

/* Run the audit into a string; returns the violation count. */
static unsigned audit_text(struct pv_fixture *f, char **text)
{
    size_t len = 0;
    FILE *mem = open_memstream(text, &len);
    unsigned n = mm_audit(f->m, mem);
    fclose(mem);
    return n;
}

static bool mentions(const char *text, const char *what)
{
    return strstr(text, what) != NULL;
}

static void t_clean(void)
{
    struct fix_config cfg = { .nr_vcpus = 3 };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    CHECK_EQ(mm_audit(f.m, NULL), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* An extra general ref nobody accounts for: invariant 1 on that frame. */
static void t_count_leak(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    FIX_REQUIRE(get_page(f.m, fix_data(&f, 2), f.d));
    char *text = NULL;
    CHECK_EQ(audit_text(&f, &text), 1);
    char want[64];
    snprintf(want, sizeof(want), "mfn %#llx", (unsigned long long)fix_data(&f, 2));
    CHECK(mentions(text, "invariant 1 ("));
    CHECK(mentions(text, want));
    CHECK(mentions(text, "transitions, newest first"));
    free(text);
    put_page(f.m, fix_data(&f, 2));
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A general count corrupted downward: invariant 1. */
static void t_count_short(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    struct page_info *pg = mfn_to_page(f.m, f.l2);
    atomic_fetch_sub(&pg->count_info, 1);             /* planted */
    char *text = NULL;
    CHECK_EQ(audit_text(&f, &text), 1);
    CHECK(mentions(text, "invariant 1 ("));
    free(text);
    atomic_fetch_add(&pg->count_info, 1);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A page-table type count corrupted: invariant 2 names the table. */
static void t_type_count(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    struct page_info *pg = mfn_to_page(f.m, f.l3);
    atomic_fetch_add(&pg->type_info, 1);              /* planted */
    char *text = NULL;
    CHECK_EQ(audit_text(&f, &text), 1);
    char want[64];
    snprintf(want, sizeof(want), "mfn %#llx", (unsigned long long)f.l3);
    CHECK(mentions(text, "invariant 2 ("));
    CHECK(mentions(text, want));
    CHECK(mentions(text, "[L3 validated n=2]"));
    free(text);
    atomic_fetch_sub(&pg->type_info, 1);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A writable mapping of a validated table slipped in: invariant 3. */
static void t_writable_table(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    pt_write_entry(f.m, f.d->domid, f.l1, 1, 200, 0,
                   pte_make(f.l2, _PAGE_PRESENT | _PAGE_RW), PTW_BUILD);
    char *text = NULL;
    CHECK(audit_text(&f, &text) >= 1);
    CHECK(mentions(text, "invariant 3 ("));
    free(text);
    pt_write_entry(f.m, f.d->domid, f.l1, 1, 200, 0, 0, PTW_BUILD);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A table entry with a forbidden flag: invariant 9. */
static void t_bad_entry(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    pte_t e = fix_entry(&f, f.l3, 1);
    pt_write_entry(f.m, f.d->domid, f.l3, 3, 1, e, e | _PAGE_PSE, PTW_BUILD);
    char *text = NULL;
    CHECK(audit_text(&f, &text) >= 1);
    CHECK(mentions(text, "invariant 9 ("));
    free(text);
    pt_write_entry(f.m, f.d->domid, f.l3, 3, 1, 0, e, PTW_BUILD);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Pinned but not in use: invariant 8; validated PT with n=0: 7. */
static void t_pin_and_validated(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    mfn_t s = fix_spare(&f, 0);
    struct page_info *pg = mfn_to_page(f.m, s);
    atomic_store(&pg->type_info, PGT_l1_page_table | PGT_validated | PGT_pinned);
    char *text = NULL;
    CHECK(audit_text(&f, &text) >= 2);
    CHECK(mentions(text, "invariant 7 ("));
    CHECK(mentions(text, "invariant 8 ("));
    free(text);
    atomic_store(&pg->type_info, 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* linear_pt_count disagreeing with the entries: invariant 10. */
static void t_linear_count(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    /* A real linear entry (L2 -> another L2), then its count corrupted. */
    mfn_t l2b = fix_spare(&f, 1);
    FIX_REQUIRE(page_lock(f.m, f.l3));
    FIX_REQUIRE(mod_pt_entry(f.v, f.l3, 3, 8, pte_make(l2b, _PAGE_PRESENT | _PAGE_RW),
                             false, NULL, PTW_MMU_UPDATE) == 0);
    page_unlock(f.m, f.l3);
    FIX_REQUIRE(page_lock(f.m, f.l2));
    FIX_REQUIRE(mod_pt_entry(f.v, f.l2, 2, 9, pte_make(l2b, _PAGE_PRESENT),
                             false, NULL, PTW_MMU_UPDATE) == 0);
    page_unlock(f.m, f.l2);
    CHECK_EQ(mm_audit(f.m, NULL), 0);
    mfn_to_page(f.m, f.l2)->linear_pt_count = 3;      /* planted */
    char *text = NULL;
    CHECK_EQ(audit_text(&f, &text), 1);
    CHECK(mentions(text, "invariant 10 ("));
    free(text);
    mfn_to_page(f.m, f.l2)->linear_pt_count = 1;
    CHECK_EQ(fix_teardown(&f), 0);
}

static const struct test tests[] = {
    { "the audit is clean on a healthy three-vCPU domain", t_clean },
    { "an unaccounted general ref is invariant 1 on that frame, with its history", t_count_leak },
    { "a general count below its references is invariant 1", t_count_short },
    { "a table's type count off by one is invariant 2, naming the table and its words", t_type_count },
    { "a writable mapping of a validated table is invariant 3", t_writable_table },
    { "a PSE entry in a validated L3 is invariant 9", t_bad_entry },
    { "a validated unused pinned table is invariants 7 and 8", t_pin_and_validated },
    { "a linear_pt_count that disagrees with the linear entries is invariant 10", t_linear_count },
};
TEST_MAIN(tests)
