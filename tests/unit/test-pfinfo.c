/*
 * tests/unit/test-pfinfo.c - XEN_DOMCTL_getpageframeinfo3 (core/mm/pfinfo.c):
 * the type words, both behaviours of mm.pfinfo_devalidated for a
 * devalidated page table (story D), the argument errors and the audit's
 * invariant 12.
 */
#include "core/hypercall.h"
#include "core/mm/alloc.h"
#include "core/mm/p2m.h"
#include "core/mm/pfinfo.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define OPS_OFF     0
#define FREE_L2_SLOT 7          /* an empty slot of the fixture's L2 */

static struct pv_fixture f;

static void setup_mode(enum pfinfo_devalidated mode)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.pfinfo_devalidated = mode;
    REQUIRE(fix_setup(&f, &cfg) == 0);
}
static void setup(void) { setup_mode(PFINFO_DEVAL_NOTAB); }
static void teardown(void) { CHECK_EQ(fix_teardown(&f), 0); }

/* The domctl on one entry. */
static uint32_t info(struct domain *d, xen_pfn_t x)
{
    xen_pfn_t a = x;
    int rc = domctl_getpageframeinfo3(d, &a, 1);
    CHECK_EQ(rc, 0);
    return rc ? 0xdeadbeefu : (uint32_t)a;
}

static long ext1(unsigned cmd, uint64_t mfn)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    uint64_t p = fix_put(&f, OPS_OFF, &op, sizeof(op));
    return hypercall(f.v, __HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF, 0);
}
static long update(mfn_t table, unsigned slot, uint64_t val)
{
    struct mmu_update r = { (table << PAGE_SHIFT) + slot * 8 +
                            MMU_NORMAL_PT_UPDATE, val };
    uint64_t p = fix_put(&f, OPS_OFF, &r, sizeof(r));
    return hypercall(f.v, __HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF, 0);
}

/* Audit into a string; returns the violation count. */
static unsigned audit_text(char **text)
{
    size_t len = 0;
    FILE *mem = open_memstream(text, &len);
    REQUIRE(mem != NULL);
    unsigned n = mm_audit(f.m, mem);
    fclose(mem);
    return n;
}

/* ---- the type words ------------------------------------------------------ */

/* The fixture's validated tree reads L4TAB..L1TAB; a batch answers each
   entry in place with the type word alone (not OR-ed into the mfn). */
static void t_validated_tables(void)
{
    setup();
    xen_pfn_t a[5] = { f.l1, f.l2, f.l3, f.l4, fix_data(&f, 0) };
    CHECK_EQ(domctl_getpageframeinfo3(f.d, a, 5), 0);
    CHECK_HEX(a[0], XEN_DOMCTL_PFINFO_L1TAB);
    CHECK_HEX(a[1], XEN_DOMCTL_PFINFO_L2TAB);
    CHECK_HEX(a[2], XEN_DOMCTL_PFINFO_L3TAB);
    CHECK_HEX(a[3], XEN_DOMCTL_PFINFO_L4TAB);
    CHECK_HEX(a[4], XEN_DOMCTL_PFINFO_NOTAB);
    /* Read-only: no count moved. */
    CHECK_EQ(fix_tcount(&f, f.l1), 1);
    CHECK_EQ(fix_audit(&f), 0);
    teardown();
}

/* Pinned tables of each level carry LPINTAB. */
static void t_pinned(void)
{
    setup();
    static const unsigned pin[5] = { 0, MMUEXT_PIN_L1_TABLE,
        MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE };
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        mfn_t p = fix_spare(&f, lvl);
        CHECK_EQ(ext1(pin[lvl], p), 0);
        CHECK_HEX(info(f.d, p), ((uint32_t)lvl << XEN_DOMCTL_PFINFO_LTAB_SHIFT)
                                | XEN_DOMCTL_PFINFO_LPINTAB);
    }
    for (unsigned lvl = 1; lvl <= 4; lvl++)
        CHECK_EQ(ext1(MMUEXT_UNPIN_TABLE, fix_spare(&f, lvl)), 0);
    teardown();
}

/* Data pages (writable), untyped frames: NOTAB; a Xen page shared with the
   domain: XTAB; a broken frame: BROKEN. */
static void t_notab_xtab_broken(void)
{
    setup();
    CHECK_HEX(info(f.d, fix_data(&f, 3)), XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_HEX(fix_type(&f, fix_spare(&f, 9)) & PGT_type_mask, PGT_none);
    CHECK_HEX(info(f.d, fix_spare(&f, 9)), XEN_DOMCTL_PFINFO_NOTAB);

    mfn_t xp;
    REQUIRE(alloc_xen_shared_page(f.d, &xp) == 0);
    CHECK_HEX(info(f.d, xp), XEN_DOMCTL_PFINFO_XTAB);
    free_xen_shared_page(f.m, xp);

    struct page_info *pg = mfn_to_page(f.m, fix_data(&f, 5));
    atomic_fetch_or(&pg->count_info, PGC_broken);          /* planted */
    CHECK_HEX(info(f.d, fix_data(&f, 5)), XEN_DOMCTL_PFINFO_BROKEN);
    atomic_fetch_and(&pg->count_info, ~PGC_broken);
    CHECK_HEX(info(f.d, fix_data(&f, 5)), XEN_DOMCTL_PFINFO_NOTAB);
    teardown();
}

/* Another domain's frame, a frame past the end of the machine and
   INVALID_MFN are XTAB; no reference is left behind on the other's. */
static void t_xtab(void)
{
    setup();
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    REQUIRE(d2 != NULL);
    mfn_t other;
    REQUIRE(domctl_populate(d2, 0, 1, &other) == 0);
    uint64_t c = fix_count(&f, other);
    xen_pfn_t a[4] = { other, f.m->nr_frames, f.m->nr_frames + 12345,
                       INVALID_MFN };
    CHECK_EQ(domctl_getpageframeinfo3(f.d, a, 4), 0);
    for (unsigned i = 0; i < 4; i++)
        CHECK_HEX(a[i], XEN_DOMCTL_PFINFO_XTAB);
    CHECK_EQ(fix_count(&f, other), c);
    /* Asked of its owner, the same frame is NOTAB. */
    CHECK_HEX(info(d2, other), XEN_DOMCTL_PFINFO_NOTAB);
    teardown();
}

/* HVM: the input is a gfn; a hole is XTAB, a broken p2m entry BROKEN. */
static void t_hvm_gfn(void)
{
    setup();
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = 32,
        .domid = 2, .paging = PAGING_HAP,
    };
    struct domain *h = NULL;
    REQUIRE(domain_create(f.m, &dc, &h) == 0);
    mfn_t mfn;
    REQUIRE(domctl_populate(h, 5, 1, &mfn) == 0);
    CHECK_HEX(info(h, 5), XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_HEX(info(h, 6), XEN_DOMCTL_PFINFO_XTAB);
    /* The mfn itself is no gfn of h. */
    if (mfn != 5)
        CHECK_HEX(info(h, mfn), XEN_DOMCTL_PFINFO_XTAB);
    p2m_lock(h);
    int rc = p2m_set_entry(h, 9, INVALID_MFN, p2m_ram_broken, p2m_access_n);
    p2m_unlock(h);
    REQUIRE(rc == 0);
    CHECK_HEX(info(h, 9), XEN_DOMCTL_PFINFO_BROKEN);
    teardown();
}

/* ---- story D: a devalidated L1 ------------------------------------------- */

/*
 * Hook a spare frame into the L2 (validated as an L1), unhook it (type
 * count 0, PGT_validated clear, type bits still L1), ask; then the guest
 * writes it with MMU_NORMAL_PT_UPDATE (it is no table: retyped writable)
 * and ask again.  Returns the two answers.
 */
static void devalidate_and_write(uint32_t *before, uint32_t *after,
                                 unsigned *audit_before)
{
    mfn_t p = fix_spare(&f, 0);
    CHECK_EQ(update(f.l2, FREE_L2_SLOT, pte_make(p, FIX_PDE_FLAGS)), 0);
    CHECK_HEX(fix_type(&f, p) & (PGT_type_mask | PGT_validated),
              PGT_l1_page_table | PGT_validated);
    CHECK_HEX(info(f.d, p), XEN_DOMCTL_PFINFO_L1TAB);
    CHECK_EQ(update(f.l2, FREE_L2_SLOT, 0), 0);
    CHECK_EQ(fix_tcount(&f, p), 0);
    CHECK_HEX(fix_type(&f, p) & PGT_type_mask, PGT_l1_page_table);
    CHECK(!(fix_type(&f, p) & (PGT_validated | PGT_pinned)));
    *before = info(f.d, p);

    char *text = NULL;
    *audit_before = audit_text(&text);
    if (*audit_before) {
        char want[64];
        snprintf(want, sizeof(want), "mfn %#llx", (unsigned long long)p);
        CHECK(strstr(text, "audit: invariant 12 (") != NULL);
        CHECK(strstr(text, want) != NULL);
    }
    free(text);

    CHECK_EQ(update(p, 0, pte_make(fix_data(&f, 1), FIX_RO_FLAGS)), 0);
    CHECK_HEX(fix_type(&f, p) & PGT_type_mask, PGT_writable_page);
    *after = info(f.d, p);
}

static void t_devalidated_notab(void)
{
    setup_mode(PFINFO_DEVAL_NOTAB);
    uint32_t before, after;
    unsigned audit;
    devalidate_and_write(&before, &after, &audit);
    CHECK_HEX(before, XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_HEX(after, XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_EQ(audit, 0);
    teardown();
}

static void t_devalidated_pt(void)
{
    setup_mode(PFINFO_DEVAL_PT);
    uint32_t before, after;
    unsigned audit;
    devalidate_and_write(&before, &after, &audit);
    CHECK_HEX(before, XEN_DOMCTL_PFINFO_L1TAB);        /* stale history */
    CHECK_HEX(after, XEN_DOMCTL_PFINFO_NOTAB);         /* the answer moved */
    CHECK_EQ(audit, 1);                                /* invariant 12 */
    teardown();
}

/* A pinned table reads the same in both modes (pinned => validated). */
static void t_pinned_both_modes(void)
{
    for (int mode = PFINFO_DEVAL_NOTAB; mode <= PFINFO_DEVAL_PT; mode++) {
        setup_mode((enum pfinfo_devalidated)mode);
        mfn_t p = fix_spare(&f, 2);
        CHECK_EQ(ext1(MMUEXT_PIN_L2_TABLE, p), 0);
        CHECK_HEX(info(f.d, p),
                  XEN_DOMCTL_PFINFO_L2TAB | XEN_DOMCTL_PFINFO_LPINTAB);
        CHECK_EQ(ext1(MMUEXT_UNPIN_TABLE, p), 0);
        CHECK_HEX(info(f.d, p), mode == PFINFO_DEVAL_PT
                  ? XEN_DOMCTL_PFINFO_L2TAB : XEN_DOMCTL_PFINFO_NOTAB);
        /* Make it ordinary again so the teardown audit is clean in pt. */
        CHECK_EQ(update(p, 0, 0), 0);
        teardown();
    }
}

/* The classification rule itself, word by word. */
static void t_classify(void)
{
    const uint64_t l1v = PGT_l1_page_table | PGT_validated | 1;
    const uint64_t l1dead = PGT_l1_page_table;
    const uint64_t l3pin = PGT_l3_page_table | PGT_validated | PGT_pinned | 1;
    const uint64_t l2part = PGT_l2_page_table | PGT_partial | 1;
    const uint64_t c = PGC_allocated | 2;
    for (int mode = PFINFO_DEVAL_NOTAB; mode <= PFINFO_DEVAL_PT; mode++) {
        enum pfinfo_devalidated md = (enum pfinfo_devalidated)mode;
        CHECK_HEX(pfinfo_classify(c, l1v, md), XEN_DOMCTL_PFINFO_L1TAB);
        CHECK_HEX(pfinfo_classify(c, l3pin, md),
                  XEN_DOMCTL_PFINFO_L3TAB | XEN_DOMCTL_PFINFO_LPINTAB);
        CHECK_HEX(pfinfo_classify(c, PGT_writable_page | PGT_validated, md),
                  XEN_DOMCTL_PFINFO_NOTAB);
        CHECK_HEX(pfinfo_classify(c, PGT_seg_desc_page | PGT_validated | 1,
                                  md), XEN_DOMCTL_PFINFO_NOTAB);
        CHECK_HEX(pfinfo_classify(c | PGC_broken, l1v, md),
                  XEN_DOMCTL_PFINFO_BROKEN);
        CHECK_HEX(pfinfo_classify(c | PGC_xen_heap | PGC_broken, l1v, md),
                  XEN_DOMCTL_PFINFO_XTAB);
    }
    CHECK_HEX(pfinfo_classify(c, l1dead, PFINFO_DEVAL_NOTAB),
              XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_HEX(pfinfo_classify(c, l1dead, PFINFO_DEVAL_PT),
              XEN_DOMCTL_PFINFO_L1TAB);
    /* Partial (validation interrupted) is not validated either. */
    CHECK_HEX(pfinfo_classify(c, l2part, PFINFO_DEVAL_NOTAB),
              XEN_DOMCTL_PFINFO_NOTAB);
    CHECK_HEX(pfinfo_classify(c, l2part, PFINFO_DEVAL_PT),
              XEN_DOMCTL_PFINFO_L2TAB);
    CHECK_EQ(pfinfo_level(XEN_DOMCTL_PFINFO_L4TAB | XEN_DOMCTL_PFINFO_LPINTAB), 4);
    CHECK_EQ(pfinfo_level(XEN_DOMCTL_PFINFO_XTAB), 0);
    CHECK_EQ(pfinfo_level(XEN_DOMCTL_PFINFO_BROKEN), 0);
    CHECK_EQ(pfinfo_level(XEN_DOMCTL_PFINFO_NOTAB), 0);
}

/* ---- arguments -------------------------------------------------------------- */

static void t_errors(void)
{
    setup();
    static xen_pfn_t big[1025];
    for (unsigned i = 0; i < 1025; i++)
        big[i] = f.l1;
    CHECK_EQ(domctl_getpageframeinfo3(f.d, big, 1025), -XEN_E2BIG);
    CHECK_HEX(big[0], f.l1);                    /* nothing read or written */
    CHECK_EQ(domctl_getpageframeinfo3(f.d, big, 1ULL << 32), -XEN_E2BIG);
    CHECK_EQ(domctl_getpageframeinfo3(f.d, big, 1024), 0);
    CHECK_HEX(big[0], XEN_DOMCTL_PFINFO_L1TAB);
    CHECK_HEX(big[1023], XEN_DOMCTL_PFINFO_L1TAB);
    CHECK_HEX(big[1024], f.l1);                 /* past num: untouched */
    CHECK_EQ(domctl_getpageframeinfo3(f.d, NULL, 1), -XEN_EFAULT);
    CHECK_EQ(domctl_getpageframeinfo3(f.d, NULL, 0), 0);
    CHECK_EQ(domctl_getpageframeinfo3(f.d, big, 0), 0);
    CHECK_EQ(domctl_getpageframeinfo3(NULL, big, 1), -XEN_ESRCH);
    CHECK_EQ(fix_tcount(&f, f.l1), 1);
    teardown();
}

/* The option: notab by default, both words accepted, others refused. */
static void t_option(void)
{
    struct hv_options o;
    char why[256];
    hv_options_default(&o);
    CHECK_EQ(o.pfinfo_devalidated, PFINFO_DEVAL_NOTAB);
    CHECK(hv_option_known("mm.pfinfo_devalidated"));
    CHECK_EQ(hv_option_set(&o, "mm.pfinfo_devalidated", "pt", why,
                           sizeof(why)), 0);
    CHECK_EQ(o.pfinfo_devalidated, PFINFO_DEVAL_PT);
    CHECK_EQ(hv_option_set(&o, "mm.pfinfo_devalidated", "l1tab", why,
                           sizeof(why)), -1);
    CHECK(strstr(why, "notab|pt") != NULL);
    CHECK_EQ(o.pfinfo_devalidated, PFINFO_DEVAL_PT);
    CHECK_EQ(hv_option_set(&o, "mm.pfinfo_devalidated", "notab", why,
                           sizeof(why)), 0);
    CHECK_EQ(o.pfinfo_devalidated, PFINFO_DEVAL_NOTAB);
}

static const struct test tests[] = {
    { "validated L1..L4 read L1TAB..L4TAB, a data page NOTAB, in place",
      t_validated_tables },
    { "pinned tables of every level carry LPINTAB", t_pinned },
    { "writable and untyped frames are NOTAB, a Xen page XTAB, a broken "
      "frame BROKEN", t_notab_xtab_broken },
    { "another domain's frame and out-of-range mfns are XTAB, no ref kept",
      t_xtab },
    { "HVM input is a gfn: hole XTAB, broken p2m entry BROKEN", t_hvm_gfn },
    { "notab: a devalidated L1 reads NOTAB before and after the guest "
      "writes it; audit clean", t_devalidated_notab },
    { "pt: a devalidated L1 reads L1TAB (audit invariant 12 trips), NOTAB "
      "once the guest writes it", t_devalidated_pt },
    { "a pinned table reads the same in both modes; unpinned it follows "
      "the mode", t_pinned_both_modes },
    { "the classification rule, word by word", t_classify },
    { "num > 1024 is E2BIG, NULL array EFAULT, no domain ESRCH", t_errors },
    { "mm.pfinfo_devalidated defaults to notab and accepts notab|pt",
      t_option },
};

TEST_MAIN(tests)
