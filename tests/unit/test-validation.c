/*
 * tests/unit/test-validation.c - what each level accepts, with Xen's codes.
 *
 * Entries are offered through mod_pt_entry on the fixture's validated tree
 * (as mmu_update does, under page_lock) or by promoting a spare table;
 * after each case the audit must be clean and the teardown complete.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"

static void setup(struct pv_fixture *f)
{
    FIX_REQUIRE(fix_setup(f, NULL) == 0);
}

static void done(struct pv_fixture *f)
{
    CHECK_EQ(fix_teardown(f), 0);
}

/* One update as mmu_update makes it. */
static int mod(struct pv_fixture *f, mfn_t table, unsigned level,
               unsigned slot, pte_t e, struct domain *pg_owner)
{
    if (!page_lock(f->m, table))
        return -9999;
    int rc = mod_pt_entry(f->v, table, level, slot, e, false, pg_owner,
                          PTW_MMU_UPDATE);
    page_unlock(f->m, table);
    return rc;
}

#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define L1S 100         /* a free slot of the tree's L1 */

/* L1: the accept/reject matrix of flags and frames. */
static void t_l1_matrix(void)
{
    struct pv_fixture f;
    setup(&f);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    mfn_t other;
    FIX_REQUIRE(domctl_populate(d2, 0, 1, &other) == 0);
    mfn_t data = fix_data(&f, 1);
    static const struct { const char *what; uint64_t flags; int rc; } flags[] = {
        { "RW", P | RW, 0 },
        { "RO user NX", P | _PAGE_USER | _PAGE_NX, 0 },
        { "global", P | _PAGE_GLOBAL, 0 },
        { "AVAIL bits", P | _PAGE_AVAIL, 0 },
        { "PCD", P | _PAGE_PCD, -XEN_EINVAL },
        { "PWT", P | _PAGE_PWT, -XEN_EINVAL },
        { "PAT", P | _PAGE_PAT, -XEN_EINVAL },
        { "GNTTAB", P | _PAGE_GNTTAB, -XEN_EINVAL },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(flags); i++) {
        int rc = mod(&f, f.l1, 1, L1S, pte_make(data, flags[i].flags), NULL);
        if (rc != flags[i].rc)
            fprintf(stderr, "  L1 %s: rc %d, want %d\n", flags[i].what, rc,
                    flags[i].rc);
        CHECK_EQ(rc, flags[i].rc);
        CHECK_EQ(mod(&f, f.l1, 1, L1S, 0, NULL), 0);
    }
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(f.m->nr_frames + 7, P), NULL),
             -XEN_EPERM);                               /* MMIO */
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(other, P), NULL), -XEN_EBUSY);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(0, P), NULL), -XEN_EBUSY);  /* Xen's */
    mfn_t freed = fix_spare(&f, 0);
    FIX_REQUIRE(put_page_alloc_ref(f.m, freed));
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(freed, P), NULL), -XEN_EBUSY);
    /* Page-table frames: read-only yes, writable no. */
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(f.l2, P | RW), NULL), -XEN_EBUSY);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(f.l2, P), NULL), 0);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, 0, NULL), 0);
    /* A writable-mapped frame cannot become a table. */
    CHECK_EQ(get_page_type(f.m, data, PGT_l1_page_table), 0 - XEN_EINVAL);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* Foreign mappings: only a privileged domain, only with pg_owner given. */
static void t_l1_foreign(void)
{
    struct fix_config cfg = { .privileged = true };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    mfn_t other;
    FIX_REQUIRE(domctl_populate(d2, 0, 1, &other) == 0);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(other, P | RW), NULL), -XEN_EBUSY);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(other, P | RW), d2), 0);
    CHECK_HEX(atomic_load(&mfn_to_page(f.m, other)->type_info),
              PGT_writable_page | PGT_validated | 1);
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, 0, NULL), 0);
    CHECK_EQ(fix_tcount(&f, other), 0);
    done(&f);
}

/* An unprivileged domain naming another as pg_owner is refused. */
static void t_l1_foreign_unprivileged(void)
{
    struct pv_fixture f;
    setup(&f);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    mfn_t other;
    FIX_REQUIRE(domctl_populate(d2, 0, 1, &other) == 0);
    CHECK_EQ(mod(&f, f.l1, 1, L1S, pte_make(other, P), d2), -XEN_EBUSY);
    done(&f);
}

/* L2..L4: flags, next-level typing, other domains' frames. */
static void t_upper_matrix(void)
{
    struct pv_fixture f;
    setup(&f);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    mfn_t other;
    FIX_REQUIRE(domctl_populate(d2, 0, 1, &other) == 0);
    mfn_t spare = fix_spare(&f, 1);
    CHECK_EQ(mod(&f, f.l2, 2, 5, pte_make(spare, P | RW | _PAGE_PSE), NULL),
             -XEN_EINVAL);                              /* no superpages */
    CHECK_EQ(mod(&f, f.l2, 2, 5, pte_make(spare, P | RW | _PAGE_GLOBAL), NULL),
             -XEN_EINVAL);                              /* G only in L1 */
    CHECK_EQ(mod(&f, f.l2, 2, 5, pte_make(fix_data(&f, 0), P | RW), NULL),
             -XEN_EINVAL);                              /* writable in use */
    CHECK_EQ(mod(&f, f.l2, 2, 5, pte_make(other, P | RW), NULL), -XEN_EINVAL);
    CHECK_EQ(mod(&f, f.l3, 3, 5, pte_make(f.l1, P | RW), NULL), -XEN_EINVAL);
    /* A fresh frame becomes an L1 on the spot. */
    CHECK_EQ(mod(&f, f.l2, 2, 5, pte_make(spare, P | RW), NULL), 0);
    CHECK_HEX(fix_type(&f, spare), PGT_l1_page_table | PGT_validated | 1);
    CHECK_EQ(fix_audit(&f), 0);
    /* Removing it devalidates it (type bits stay). */
    CHECK_EQ(mod(&f, f.l2, 2, 5, 0, NULL), 0);
    CHECK_HEX(fix_type(&f, spare), PGT_l1_page_table);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* Xen's L4 slots: updates refused; promotion overwrites guest content. */
static void t_xen_slots(void)
{
    struct pv_fixture f;
    setup(&f);
    CHECK_EQ(mod(&f, f.l4, 4, XEN_L4_SLOT_FIRST, 0, NULL), -XEN_EINVAL);
    CHECK_EQ(mod(&f, f.l4, 4, XEN_L4_SLOT_LAST, pte_make(f.l3, P), NULL),
             -XEN_EINVAL);
    CHECK(!is_guest_l4_slot(260));
    CHECK(is_guest_l4_slot(255) && is_guest_l4_slot(272));
    mfn_t l4 = fix_spare(&f, 2);
    FIX_REQUIRE(domctl_build_pte(f.d, l4, 4, 260, pte_make(fix_data(&f, 2), P | RW)) == 0);
    uint64_t c = fix_count(&f, fix_data(&f, 2));
    CHECK_EQ(get_page_and_type(f.m, l4, f.d, PGT_l4_page_table), 0);
    CHECK_HEX(fix_entry(&f, l4, 260), f.m->xen_l4_slots[260 - XEN_L4_SLOT_FIRST]);
    CHECK_EQ(fix_count(&f, fix_data(&f, 2)), c);      /* no ref taken */
    CHECK_EQ(domctl_build_pte(f.d, l4, 4, 0, 0), -XEN_EINVAL);  /* validated */
    put_page_and_type(f.m, l4);
    done(&f);
}

/* Linear page tables: read-only only, same level, counted (P8). */
static void t_linear(void)
{
    struct pv_fixture f;
    setup(&f);
    /* Self-map of the L4 (recursive mapping): no refs taken. */
    uint64_t n4 = fix_tcount(&f, f.l4);
    CHECK_EQ(mod(&f, f.l4, 4, 300, pte_make(f.l4, P | RW), NULL), -XEN_EINVAL);
    CHECK_EQ(mod(&f, f.l4, 4, 300, pte_make(f.l4, P), NULL), 0);
    CHECK_EQ(fix_tcount(&f, f.l4), n4);
    /* L2 mapping another validated L2 read-only: counted both ways. */
    mfn_t l2b = fix_spare(&f, 3);
    CHECK_EQ(mod(&f, f.l3, 3, 7, pte_make(l2b, P | RW), NULL), 0);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P), NULL), 0);
    CHECK_EQ(mfn_to_page(f.m, f.l2)->linear_pt_count, 1);
    CHECK_EQ(mfn_to_page(f.m, l2b)->linear_pt_count, -1);
    CHECK_EQ(fix_tcount(&f, l2b), 2);
    CHECK_EQ(fix_audit(&f), 0);
    /* XSA-182: RW may not be set on it through the fast path. */
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P | RW), NULL), -XEN_EINVAL);
    /* l2b is used linearly: it may not hold linear entries itself. */
    CHECK_EQ(mod(&f, l2b, 2, 3, pte_make(f.l2, P), NULL), -XEN_EINVAL);
    CHECK_EQ(mod(&f, f.l2, 2, 9, 0, NULL), 0);
    CHECK_EQ(mfn_to_page(f.m, f.l2)->linear_pt_count, 0);
    CHECK_EQ(mfn_to_page(f.m, l2b)->linear_pt_count, 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* mm.linear_pt off: linear entries are refused. */
static void t_linear_disabled(void)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.pv_linear_pt = false;
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    CHECK_EQ(mod(&f, f.l4, 4, 300, pte_make(f.l4, P), NULL), -XEN_EINVAL);
    done(&f);
}

/* Fast path: whitelisted bits change without touching references. */
static void t_fast_path(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t data = fix_data(&f, 3);
    unsigned slot = pt_index(fix_data_va(3), 1);
    uint64_t c = fix_count(&f, data), t = fix_type(&f, data);
    pte_t e = fix_entry(&f, f.l1, slot);
    CHECK_EQ(mod(&f, f.l1, 1, slot, e ^ (_PAGE_NX | _PAGE_ACCESSED | _PAGE_USER),
                 NULL), 0);
    CHECK_EQ(fix_count(&f, data), c);
    CHECK_HEX(fix_type(&f, data), t);
    /* Dropping RW on L1 is a real change: the writable ref goes. */
    CHECK_EQ(mod(&f, f.l1, 1, slot, e & ~RW, NULL), 0);
    CHECK_EQ(fix_tcount(&f, data), 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* PRESERVE_AD keeps A/D the MMU set meanwhile. */
static void t_preserve_ad(void)
{
    struct pv_fixture f;
    setup(&f);
    unsigned slot = pt_index(fix_data_va(4), 1);
    pte_t e = fix_entry(&f, f.l1, slot);
    pte_t clean = e & ~(_PAGE_ACCESSED | _PAGE_DIRTY);
    FIX_REQUIRE(page_lock(f.m, f.l1));
    CHECK_EQ(mod_pt_entry(f.v, f.l1, 1, slot, clean | _PAGE_NX, true, NULL,
                          PTW_MMU_UPDATE), 0);
    page_unlock(f.m, f.l1);
    CHECK_HEX(fix_entry(&f, f.l1, slot), e | _PAGE_NX);
    done(&f);
}

static const struct test tests[] = {
    { "L1 accepts P/RW/US/A/D/AVAIL/NX/G and refuses PCD PWT PAT GNTTAB, MMIO -EPERM, others' frames -EBUSY, RW on tables -EBUSY", t_l1_matrix },
    { "a privileged domain maps a foreign frame writable only with pg_owner set", t_l1_foreign },
    { "an unprivileged domain naming another pg_owner is -EBUSY", t_l1_foreign_unprivileged },
    { "L2-L4 refuse PSE, G, wrong-level and foreign frames with -EINVAL; a fresh frame is validated in place", t_upper_matrix },
    { "Xen's L4 slots cannot be updated and are rewritten on promotion", t_xen_slots },
    { "linear page tables are read-only, same-level, counted, and XSA-182 safe", t_linear },
    { "with mm.linear_pt off a recursive L4 entry is -EINVAL", t_linear_disabled },
    { "whitelisted flag changes take the fast path; dropping RW drops the writable ref", t_fast_path },
    { "PRESERVE_AD keeps the accessed and dirty bits already set", t_preserve_ad },
};
TEST_MAIN(tests)
