/*
 * tests/unit/test-domain.c - domain life cycle: create, populate, build,
 * set roots, pause, destroy - and destroy gives every frame back.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"
#include "core/mm/alloc.h"

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

/* Pins, linear entries, two vCPUs' roots, a partial table: all released. */
static void t_destroy_releases_all(void)
{
    struct fix_config cfg = { .nr_vcpus = 2 };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    mfn_t l1 = fix_spare(&f, 0), l2b = fix_spare(&f, 1), l4b = fix_spare(&f, 2);
    FIX_REQUIRE(domctl_build_pte(f.d, l1, 1, 0, pte_make(fix_data(&f, 5),
                                 _PAGE_PRESENT | _PAGE_RW)) == 0);
    FIX_REQUIRE(get_page_and_type(f.m, l1, f.d, PGT_l1_page_table) == 0);
    FIX_REQUIRE(page_set_pinned(f.m, l1) == 0);                  /* pinned L1 */
    FIX_REQUIRE(mod(&f, f.l3, 3, 8, pte_make(l2b, _PAGE_PRESENT | _PAGE_RW), NULL) == 0);
    FIX_REQUIRE(mod(&f, f.l2, 2, 9, pte_make(l2b, _PAGE_PRESENT), NULL) == 0); /* linear */
    FIX_REQUIRE(mod(&f, f.l4, 4, 300, pte_make(f.l4, _PAGE_PRESENT), NULL) == 0); /* self */
    for (unsigned s = 0; s < 3; s++)
        FIX_REQUIRE(domctl_build_pte(f.d, l4b, 4, s, pte_make(f.l3,
                    _PAGE_PRESENT | _PAGE_RW)) == 0);
    f.m->opt.preempt_budget = 2;
    f.v->in_hypercall = true;
    FIX_REQUIRE(get_page(f.m, l4b, f.d));
    CHECK_EQ(get_page_type_preemptible(f.m, l4b, PGT_l4_page_table), -HV_ERESTART);
    put_page(f.m, l4b);                                           /* partial L4 */
    f.v->in_hypercall = false;
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(fix_teardown(&f), 0);      /* every frame back in the heap */
}

/* populate past max_pages: -ENOMEM and nothing kept. */
static void t_populate_limit(void)
{
    struct fix_config cfg = { .max_pages = FIX_NR_FRAMES + 4, .no_tree = true };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    uint64_t tot = f.d->tot_pages, fr = f.m->nr_free;
    mfn_t mfns[8];
    CHECK_EQ(domctl_populate(f.d, 100, 8, mfns), -XEN_ENOMEM);
    CHECK_EQ(f.d->tot_pages, tot);
    CHECK_EQ(f.m->nr_free, fr);
    CHECK_EQ(domctl_populate(f.d, 100, 4, mfns), 0);
    CHECK_EQ(get_gpfn_from_mfn(f.m, mfns[3]), 103);
    CHECK_EQ(f.d->max_gpfn, 103);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Bad creation arguments and duplicate ids. */
static void t_create_args(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    struct domain *d = NULL;
    struct domain_config c = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                               .max_pages = 8, .domid = FIX_DOMID };
    CHECK_EQ(domain_create(f.m, &c, &d), -XEN_EEXIST);
    c.domid = 3; c.nr_vcpus = 0;
    CHECK_EQ(domain_create(f.m, &c, &d), -XEN_EINVAL);
    c.nr_vcpus = HV_MAX_VCPUS + 1;
    CHECK_EQ(domain_create(f.m, &c, &d), -XEN_EINVAL);
    c.nr_vcpus = 1; c.domid = HV_MAX_DOMAINS;
    CHECK_EQ(domain_create(f.m, &c, &d), -XEN_EINVAL);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* The builder may not write into validated tables or others' frames. */
static void t_build_pte_rules(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    CHECK_EQ(domctl_build_pte(f.d, f.l1, 1, 7, 0), -XEN_EINVAL);
    CHECK_EQ(domctl_build_pte(d2, fix_spare(&f, 0), 1, 7, 0), -XEN_EINVAL);
    CHECK_EQ(domctl_build_pte(f.d, fix_spare(&f, 0), 5, 7, 0), -XEN_EINVAL);
    CHECK_EQ(domctl_build_pte(f.d, fix_spare(&f, 0), 1, 512, 0), -XEN_EINVAL);
    CHECK(domctl_map_foreign(d2, f.l1) == NULL);
    CHECK(domctl_map_foreign(f.d, f.l1) != NULL);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A tree that does not validate: set_vcpu_context fails, nothing held. */
static void t_bad_tree(void)
{
    struct fix_config cfg = { .no_tree = true };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    FIX_REQUIRE(fix_build_tree(&f) == 0);
    /* Map the L2 writable from the L1: the tree cannot validate. */
    FIX_REQUIRE(domctl_build_pte(f.d, f.l1, 1, 300, pte_make(f.l2,
                _PAGE_PRESENT | _PAGE_RW)) == 0);
    CHECK_EQ(domctl_set_vcpu_context(f.v, f.l4, INVALID_MFN), -XEN_EBUSY);
    CHECK_EQ(f.v->guest_table, INVALID_MFN);
    CHECK_EQ(fix_count(&f, f.l2), 1);
    CHECK_HEX(fix_type(&f, f.l4), 0);
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Setting roots replaces the old ones' references. */
static void t_roots_replace(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    CHECK_EQ(f.v->guest_table, f.l4);
    CHECK_EQ(f.v->cr3, f.l4);
    uint64_t c = fix_count(&f, f.l4);
    CHECK_EQ(domctl_set_vcpu_context(f.v, f.l4, f.l4), 0);   /* user root too */
    CHECK_EQ(fix_count(&f, f.l4), c + 1);
    CHECK_EQ(fix_tcount(&f, f.l4), 2);
    CHECK_EQ(domctl_set_vcpu_context(f.v, f.l4, INVALID_MFN), 0);
    CHECK_EQ(fix_count(&f, f.l4), c);
    CHECK_EQ(f.v->guest_table_user, INVALID_MFN);
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Pause counts; unpause never goes below zero. */
static void t_pause(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    domain_pause(f.d);
    domain_pause(f.d);
    CHECK_EQ(f.d->pause_count, 2);
    domain_unpause(f.d);
    domain_unpause(f.d);
    domain_unpause(f.d);
    CHECK_EQ(f.d->pause_count, 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A destroyed domain whose frame another maps lingers until unmapped. */
static void t_zombie(void)
{
    struct fix_config cfg = { .privileged = true };
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, &cfg) == 0);
    uint64_t free0 = f.m->nr_free;
    struct domain *d2 = fix_domain_new(f.m, 2, 1, 16, false);
    FIX_REQUIRE(d2);
    mfn_t other;
    FIX_REQUIRE(domctl_populate(d2, 0, 2, NULL) == 0);
    FIX_REQUIRE(domctl_populate(d2, 2, 1, &other) == 0);
    FIX_REQUIRE(mod(&f, f.l1, 1, 100, pte_make(other, _PAGE_PRESENT), d2) == 0);
    CHECK_EQ(domain_destroy(d2), 0);
    CHECK(f.m->domains[2] == d2);                     /* zombie */
    CHECK_EQ(d2->tot_pages, 1);
    CHECK_EQ(f.m->nr_free, free0 - 1);
    CHECK_EQ(mod(&f, f.l1, 1, 100, 0, NULL), 0);
    CHECK(f.m->domains[2] == NULL);                   /* reaped */
    CHECK_EQ(f.m->nr_free, free0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A Xen page shared with the guest: mappable RW, never a table, audited,
   and freed with its last mapping after it is unshared. */
static void t_xen_shared_page(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    uint64_t tot = f.d->tot_pages, free0 = f.m->nr_free;
    uint64_t xen0 = f.d->xenheap_pages;                 /* shared_info */
    mfn_t x;
    CHECK_EQ(alloc_xen_shared_page(f.d, &x), 0);
    CHECK_EQ(f.d->tot_pages, tot);                      /* not its memory */
    CHECK_EQ(f.d->xenheap_pages, xen0 + 1);
    CHECK_EQ(fix_count(&f, x), 1);
    CHECK_EQ(fix_type(&f, x), PGT_writable_page | PGT_validated | 1);
    CHECK(atomic_load(&mfn_to_page(f.m, x)->count_info) & PGC_xen_heap);
    CHECK_EQ(mod(&f, f.l1, 1, 100, pte_make(x, _PAGE_PRESENT | _PAGE_RW),
                 NULL), 0);                             /* guest maps it RW */
    CHECK_EQ(fix_tcount(&f, x), 2);
    CHECK_EQ(get_page_type(f.m, x, PGT_l1_page_table), -XEN_EINVAL);
    CHECK_EQ(fix_audit(&f), 0);
    free_xen_shared_page(f.m, x);                       /* unshared ... */
    CHECK_EQ(f.d->xenheap_pages, xen0 + 1);             /* ... still mapped */
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(mod(&f, f.l1, 1, 100, 0, NULL), 0);
    CHECK_EQ(f.d->xenheap_pages, xen0);
    CHECK_EQ(f.m->nr_free, free0);
    CHECK(!(atomic_load(&mfn_to_page(f.m, x)->count_info) & PGC_xen_heap));
    CHECK_EQ(alloc_xen_shared_page(f.d, &x), 0);        /* left shared: */
    CHECK_EQ(fix_teardown(&f), 0);                      /* teardown frees it */
}

static const struct test tests[] = {
    { "a Xen page shared with a guest maps RW, never becomes a table, is audited and freed with its last mapping", t_xen_shared_page },
    { "destroying a domain with pins, linear entries, two roots and a partial L4 frees every frame", t_destroy_releases_all },
    { "populate past max_pages is -ENOMEM and keeps nothing", t_populate_limit },
    { "domain_create refuses a used domid (-EEXIST) and bad vCPU counts or ids (-EINVAL)", t_create_args },
    { "the builder cannot write validated tables, others' frames, bad levels or slots", t_build_pte_rules },
    { "a tree with a writable table mapping fails set_vcpu_context with -EBUSY and holds nothing", t_bad_tree },
    { "setting vCPU roots takes the new refs and drops the old", t_roots_replace },
    { "pause is a counter and unpause stops at zero", t_pause },
    { "a destroyed domain still mapped by another is reaped when the mapping goes", t_zombie },
};
TEST_MAIN(tests)
