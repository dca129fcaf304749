/*
 * tests/unit/test-frame-types.c - the frame type state machine (frame.c).
 *
 * Each case builds the fixture domain (pv_fixture.h), drives get/put of
 * general and type references directly, checks the words, and ends with a
 * clean audit and every frame back in the heap.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"

#define VALID(t)   ((t) & PGT_validated)
#define TYPE(t)    ((t) & PGT_type_mask)

static void setup(struct pv_fixture *f)
{
    FIX_REQUIRE(fix_setup(f, NULL) == 0);
}

static void done(struct pv_fixture *f)
{
    CHECK_EQ(fix_teardown(f), 0);
}

/* Spare frame s becomes an L1 mapping data page 0 read-only. */
static mfn_t make_l1(struct pv_fixture *f, unsigned s, uint64_t flags)
{
    mfn_t l1 = fix_spare(f, s);
    FIX_REQUIRE(domctl_build_pte(f->d, l1, 1, 0,
                             pte_make(fix_data(f, 0), flags)) == 0);
    return l1;
}

/* The fixture's tree: every table validated, counts as the tree implies. */
static void t_tree_validated(void)
{
    struct pv_fixture f;
    setup(&f);
    CHECK_HEX(fix_type(&f, f.l4), PGT_l4_page_table | PGT_validated | 1);
    CHECK_HEX(fix_type(&f, f.l3), PGT_l3_page_table | PGT_validated | 1);
    CHECK_HEX(fix_type(&f, f.l2), PGT_l2_page_table | PGT_validated | 1);
    CHECK_HEX(fix_type(&f, f.l1), PGT_l1_page_table | PGT_validated | 1);
    /* L4: alloc + root + RO map;  data page: alloc + RW map. */
    CHECK_EQ(fix_count(&f, f.l4), 3);
    CHECK_EQ(fix_count(&f, fix_data(&f, 0)), 2);
    CHECK_HEX(fix_type(&f, fix_data(&f, 0)), PGT_writable_page | PGT_validated | 1);
    CHECK_EQ(f.d->nr_l4_pages, 1);
    /* Xen's slots were written into the L4. */
    CHECK_HEX(fix_entry(&f, f.l4, XEN_L4_SLOT_FIRST), f.m->xen_l4_slots[0]);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* S0 -> SL -> SV: an L1's entries take their refs on the 0->1 edge. */
static void t_l1_validate(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t l1 = make_l1(&f, 0, _PAGE_PRESENT | _PAGE_RW);
    uint64_t before = fix_count(&f, fix_data(&f, 0));
    CHECK_EQ(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table), 0);
    CHECK_HEX(fix_type(&f, l1), PGT_l1_page_table | PGT_validated | 1);
    CHECK_EQ(fix_count(&f, fix_data(&f, 0)), before + 1);
    CHECK_EQ(fix_tcount(&f, fix_data(&f, 0)), 2);    /* RW entry: writable ref */
    /* Our own get is invisible to the audit: invariants 1 and 2 on l1. */
    CHECK_EQ(mm_audit(f.m, NULL), 2);
    put_page_and_type(f.m, l1);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* R4: the last put devalidates - type bits stay, validated clears. */
static void t_devalidate_keeps_type(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t l1 = make_l1(&f, 0, _PAGE_PRESENT | _PAGE_RW);
    uint64_t before = fix_count(&f, fix_data(&f, 0));
    FIX_REQUIRE(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table) == 0);
    put_page_and_type(f.m, l1);
    CHECK_HEX(fix_type(&f, l1), PGT_l1_page_table);   /* S0: history only */
    CHECK_EQ(fix_count(&f, fix_data(&f, 0)), before);
    CHECK_EQ(fix_tcount(&f, fix_data(&f, 0)), 1);
    done(&f);
}

/* R5: a writable frame keeps validated at n=0 (S0v) and re-takes it. */
static void t_writable_s0v(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t p = fix_spare(&f, 1);
    CHECK_EQ(get_page_type(f.m, p, PGT_writable_page), 0);
    CHECK_HEX(fix_type(&f, p), PGT_writable_page | PGT_validated | 1);
    put_page_type(f.m, p);
    CHECK_HEX(fix_type(&f, p), PGT_writable_page | PGT_validated);
    CHECK_EQ(get_page_type(f.m, p, PGT_writable_page), 0);
    CHECK_HEX(fix_type(&f, p), PGT_writable_page | PGT_validated | 1);
    put_page_type(f.m, p);
    done(&f);
}

/* R2/R3: a frame in use as writable cannot become an L1 (and back). */
static void t_type_change_needs_zero(void)
{
    struct pv_fixture f;
    setup(&f);
    /* Data page 0 has an RW mapping: writable n=1. */
    CHECK_EQ(get_page_type(f.m, fix_data(&f, 0), PGT_l1_page_table), -XEN_EINVAL);
    /* The tree's L1 is in use: cannot become writable. */
    CHECK_EQ(get_page_type(f.m, f.l1, PGT_writable_page), -XEN_EINVAL);
    CHECK_EQ(get_page_type(f.m, f.l2, PGT_l1_page_table), -XEN_EINVAL);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* Validation failure: refs undone, type word reset to zero. */
static void t_failed_validation_resets(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t l1 = fix_spare(&f, 2);
    uint64_t c0 = fix_count(&f, fix_data(&f, 0));
    FIX_REQUIRE(domctl_build_pte(f.d, l1, 1, 0, pte_make(fix_data(&f, 0),
                             _PAGE_PRESENT | _PAGE_RW)) == 0);
    FIX_REQUIRE(domctl_build_pte(f.d, l1, 1, 1, pte_make(fix_data(&f, 1),
                             _PAGE_PRESENT | _PAGE_GNTTAB)) == 0);
    CHECK_EQ(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table), -XEN_EINVAL);
    CHECK_HEX(fix_type(&f, l1), 0);
    CHECK_EQ(fix_count(&f, fix_data(&f, 0)), c0);
    CHECK_EQ(fix_count(&f, l1), 1);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* R6: pinning does not nest; unpin of an unpinned frame fails. */
static void t_pin_unpin(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t l1 = make_l1(&f, 0, _PAGE_PRESENT);
    FIX_REQUIRE(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table) == 0);
    CHECK_EQ(page_set_pinned(f.m, l1), 0);
    CHECK(fix_type(&f, l1) & PGT_pinned);
    CHECK_EQ(page_set_pinned(f.m, l1), -XEN_EINVAL);
    CHECK_EQ(fix_audit(&f), 0);                 /* the pin owns our refs */
    CHECK_EQ(page_clear_pinned(f.m, l1), 0);
    CHECK_EQ(page_clear_pinned(f.m, l1), -XEN_EINVAL);
    put_page_and_type(f.m, l1);
    CHECK_EQ(page_clear_pinned(f.m, fix_spare(&f, 3)), -XEN_EINVAL);
    done(&f);
}

/* A pinned table survives losing its last other user. */
static void t_pinned_stays_validated(void)
{
    struct pv_fixture f;
    setup(&f);
    FIX_REQUIRE(get_page_and_type(f.m, f.l1, f.d, PGT_l1_page_table) == 0);
    FIX_REQUIRE(page_set_pinned(f.m, f.l1) == 0);
    CHECK_EQ(fix_tcount(&f, f.l1), 2);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);                           /* teardown unpins */
}

/* page_lock: fails at n=0, takes a type ref, unlock returns it. */
static void t_page_lock(void)
{
    struct pv_fixture f;
    setup(&f);
    CHECK(!page_lock(f.m, fix_spare(&f, 4)));
    CHECK(page_lock(f.m, f.l1));
    CHECK_HEX(fix_type(&f, f.l1), PGT_l1_page_table | PGT_validated |
                                  PGT_locked | 2);
    page_unlock(f.m, f.l1);
    CHECK_HEX(fix_type(&f, f.l1), PGT_l1_page_table | PGT_validated | 1);
    done(&f);
}

/* Preemptible L4 validation: partial, then resumed to completion. */
static void t_partial_resume(void)
{
    struct pv_fixture f;
    setup(&f);
    /* A second L4 with three guest entries, all pointing at the tree's L3. */
    mfn_t l4 = fix_spare(&f, 5);
    for (unsigned s = 0; s < 3; s++)
        FIX_REQUIRE(domctl_build_pte(f.d, l4, 4, s,
                                 pte_make(f.l3, FIX_PDE_FLAGS)) == 0);
    f.m->opt.preempt_budget = 2;
    f.v->in_hypercall = true;
    f.v->preempt_work = 0;
    FIX_REQUIRE(get_page(f.m, l4, f.d));
    int rc = get_page_type_preemptible(f.m, l4, PGT_l4_page_table);
    CHECK_EQ(rc, -HV_ERESTART);
    uint64_t t = fix_type(&f, l4);
    CHECK_HEX(t & ~PGT_count_mask, PGT_l4_page_table | PGT_partial);
    CHECK_EQ(t & PGT_count_mask, 1);
    CHECK(mfn_to_page(f.m, l4)->nr_validated_ptes > 0);
    CHECK_EQ(mm_audit(f.m, NULL), 1);   /* our general ref (invariant 1) */
    int guard = 0;
    while ((rc = get_page_type_preemptible(f.m, l4, PGT_l4_page_table)) ==
           -HV_ERESTART && guard++ < 600)
        ;
    CHECK_EQ(rc, 0);
    CHECK_HEX(fix_type(&f, l4), PGT_l4_page_table | PGT_validated | 1);
    CHECK_EQ(fix_tcount(&f, f.l3), 4);              /* tree + 3 entries */
    f.v->in_hypercall = false;
    put_page_and_type(f.m, l4);
    CHECK_EQ(fix_tcount(&f, f.l3), 1);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* Preemptible devalidation parks in old_guest_table and finishes later. */
static void t_partial_devalidate(void)
{
    struct pv_fixture f;
    setup(&f);
    mfn_t l4 = fix_spare(&f, 5);
    for (unsigned s = 0; s < 4; s++)
        FIX_REQUIRE(domctl_build_pte(f.d, l4, 4, s,
                                 pte_make(f.l3, FIX_PDE_FLAGS)) == 0);
    FIX_REQUIRE(get_page_and_type(f.m, l4, f.d, PGT_l4_page_table) == 0);
    f.m->opt.preempt_budget = 2;
    f.v->in_hypercall = true;
    int rc = put_page_and_type_preemptible(f.m, l4);
    CHECK_EQ(rc, -HV_ERESTART);
    CHECK(fix_type(&f, l4) & PGT_partial);
    f.v->old_guest_table = l4;
    f.v->old_guest_table_partial = true;
    CHECK_EQ(fix_audit(&f), 0);
    int guard = 0;
    while ((rc = put_old_guest_table(f.v)) == -HV_ERESTART && guard++ < 600)
        ;
    CHECK_EQ(rc, 0);
    CHECK_HEX(fix_type(&f, l4), PGT_l4_page_table);
    CHECK_EQ(f.v->old_guest_table, INVALID_MFN);
    CHECK_EQ(fix_tcount(&f, f.l3), 1);
    f.v->in_hypercall = false;
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* A type change to a page table asks the domain's vCPUs to flush. */
static void t_type_change_flushes(void)
{
    struct fix_config cfg = { .nr_vcpus = 2 };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    struct vcpu *other = f.d->vcpu[1];
    atomic_store(&other->tlb.flush_pending, 0);
    mfn_t l1 = make_l1(&f, 0, _PAGE_PRESENT);
    /* Make the frame's last use "recent" so no filter applies. */
    mfn_to_page(f.m, l1)->tlbflush_timestamp = atomic_load(&f.m->tlbflush_clock) + 1000;
    FIX_REQUIRE(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table) == 0);
    CHECK(atomic_load(&other->tlb.flush_pending) != 0);
    put_page_and_type(f.m, l1);
    done(&f);
}

/* General refs: get_page refuses a frame of another domain or a free one. */
static void t_get_page_owner(void)
{
    struct pv_fixture f;
    setup(&f);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    CHECK(!get_page(f.m, f.l1, d2));
    CHECK(!get_page(f.m, f.m->nr_frames + 5, f.d));
    uint64_t c = fix_count(&f, f.l1);
    CHECK(get_page(f.m, f.l1, f.d));
    CHECK_EQ(fix_count(&f, f.l1), c + 1);
    put_page(f.m, f.l1);
    CHECK_EQ(fix_count(&f, f.l1), c);
    done(&f);
}

/* Dropping the allocation ref of an unused frame frees it. */
static void t_alloc_ref_frees(void)
{
    struct pv_fixture f;
    setup(&f);
    uint64_t free0 = f.m->nr_free, tot0 = f.d->tot_pages;
    CHECK(put_page_alloc_ref(f.m, fix_spare(&f, 6)));
    CHECK_EQ(f.m->nr_free, free0 + 1);
    CHECK_EQ(f.d->tot_pages, tot0 - 1);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static const struct test tests[] = {
    { "the fixture's tree is validated with the counts it implies", t_tree_validated },
    { "an L1 taken from S0 validates and takes its entries' refs", t_l1_validate },
    { "the last put of an L1 clears validated but keeps the type bits", t_devalidate_keeps_type },
    { "a writable frame keeps validated at count 0 and is re-taken free", t_writable_s0v },
    { "a type change while the type count is non-zero is -EINVAL", t_type_change_needs_zero },
    { "a failed validation undoes its refs and resets the type word", t_failed_validation_resets },
    { "pinning twice is -EINVAL; unpinning an unpinned frame is -EINVAL", t_pin_unpin },
    { "a pinned table stays validated with its pin's type ref", t_pinned_stays_validated },
    { "page_lock fails at count 0, holds a type ref while locked", t_page_lock },
    { "a preempted L4 validation is partial and resumes to validated", t_partial_resume },
    { "a preempted devalidation parks in old_guest_table and finishes", t_partial_devalidate },
    { "becoming a page table requests a TLB flush of the domain's vCPUs", t_type_change_flushes },
    { "get_page refuses another domain's frame and frames outside RAM", t_get_page_owner },
    { "dropping the allocation ref of an unused frame frees it", t_alloc_ref_frees },
};
TEST_MAIN(tests)
