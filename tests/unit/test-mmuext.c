/*
 * tests/unit/test-mmuext.c - HYPERVISOR_mmuext_op: pinning, base pointers,
 * TLB flushes, page copy/clear, LDT, the refused ops and `done` accounting
 * (core/mm/mmuext.c).
 */
#include "core/hypercall.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define DATA_RW     (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define DATA_RO     (_PAGE_PRESENT | _PAGE_ACCESSED)
#define OPS_OFF     0
#define DONE_OFF    8192
#define MASK_OFF    12288

static struct pv_fixture f;

static void setup_cfg(unsigned budget, unsigned nr_vcpus, bool privileged)
{
    struct fix_config cfg = { .set_opt = true, .nr_vcpus = nr_vcpus,
                              .privileged = privileged };
    hv_options_default(&cfg.opt);
    cfg.opt.preempt_budget = budget;
    REQUIRE(fix_setup(&f, &cfg) == 0);
}
static void setup(void) { setup_cfg(0, 1, false); }
static void teardown(void) { CHECK_EQ(fix_teardown(&f), 0); }

static long ext(const struct mmuext_op *ops, unsigned n, unsigned *done)
{
    uint64_t p = fix_put(&f, OPS_OFF, ops, n * sizeof(*ops));
    unsigned zero = 0;
    uint64_t pd = fix_put(&f, DONE_OFF, &zero, sizeof(zero));
    long rc = hypercall(f.v, __HYPERVISOR_mmuext_op, p, n, pd, DOMID_SELF, 0);
    if (done)
        fix_get(&f, DONE_OFF, done, sizeof(*done));
    return rc;
}
static long ext1(unsigned cmd, uint64_t arg1, uint64_t arg2)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = arg1;
    op.arg2.src_mfn = arg2;
    return ext(&op, 1, NULL);
}
static long update(mfn_t table, unsigned slot, uint64_t val)
{
    struct mmu_update r = { (table << PAGE_SHIFT) + slot * 8, val };
    uint64_t p = fix_put(&f, OPS_OFF, &r, sizeof(r));
    return hypercall(f.v, __HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF, 0);
}

/* Pin an empty L1, pin again (-EINVAL, counts unchanged), unpin, unpin
   again (-EINVAL). */
static void t_pin_unpin(void)
{
    setup();
    mfn_t p = fix_spare(&f, 0);
    uint64_t c = fix_count(&f, p);
    CHECK_EQ(ext1(MMUEXT_PIN_L1_TABLE, p, 0), 0);
    CHECK(fix_type(&f, p) & PGT_pinned);
    CHECK_HEX(fix_type(&f, p) & PGT_type_mask, PGT_l1_page_table);
    CHECK_EQ(fix_tcount(&f, p), 1);
    CHECK_EQ(fix_count(&f, p), c + 1);
    CHECK_EQ(ext1(MMUEXT_PIN_L1_TABLE, p, 0), -XEN_EINVAL);
    CHECK_EQ(fix_tcount(&f, p), 1);
    CHECK_EQ(fix_count(&f, p), c + 1);
    CHECK_EQ(ext1(MMUEXT_UNPIN_TABLE, p, 0), 0);
    CHECK(!(fix_type(&f, p) & PGT_pinned));
    CHECK_EQ(fix_tcount(&f, p), 0);
    CHECK_EQ(fix_count(&f, p), c);
    CHECK_EQ(ext1(MMUEXT_UNPIN_TABLE, p, 0), -XEN_EINVAL);
    CHECK_EQ(fix_count(&f, p), c);
    teardown();
}

/* Pinning as the wrong level, a frame mapped writable, another domain's
   frame or no frame at all is refused with no refs left behind. */
static void t_pin_refused(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t theirs;
    REQUIRE(domctl_populate(other, 0, 1, &theirs) == 0);
    CHECK_EQ(ext1(MMUEXT_PIN_L2_TABLE, f.l1, 0), -XEN_EINVAL);
    CHECK(ext1(MMUEXT_PIN_L1_TABLE, fix_data(&f, 3), 0) < 0);
    CHECK_EQ(ext1(MMUEXT_PIN_L1_TABLE, theirs, 0), -XEN_EINVAL);
    CHECK_EQ(ext1(MMUEXT_PIN_L1_TABLE, f.m->nr_frames + 1, 0), -XEN_EINVAL);
    CHECK_EQ(fix_count(&f, theirs), 1);
    CHECK_EQ(fix_tcount(&f, fix_data(&f, 3)), 1);
    teardown();
}

/* NEW_BASEPTR of a frame that is an L1: -EINVAL, root unchanged. */
static void t_baseptr_not_l4(void)
{
    setup();
    CHECK_EQ(ext1(MMUEXT_NEW_BASEPTR, f.l1, 0), -XEN_EINVAL);
    CHECK_EQ(f.v->guest_table, f.l4);
    CHECK_EQ(ext1(MMUEXT_NEW_BASEPTR, f.m->nr_frames, 0), -XEN_EINVAL);
    CHECK_EQ(f.v->guest_table, f.l4);
    teardown();
}

/* NEW_BASEPTR to a second L4 sharing the L3: switched, CR3 reloaded, the
   old root's refs dropped; and back. */
static void t_baseptr_switch(void)
{
    setup();
    mfn_t l4b = fix_spare(&f, 0);
    /* Fill it raw (an untyped frame takes raw writes), then switch. */
    REQUIRE(update(l4b, pt_index(FIX_DATA_VA, 4),
                   pte_make(f.l3, FIX_PDE_FLAGS)) == 0);
    uint64_t t_old = fix_tcount(&f, f.l4), c_old = fix_count(&f, f.l4);
    CHECK_EQ(ext1(MMUEXT_NEW_BASEPTR, l4b, 0), 0);
    CHECK_EQ(f.v->guest_table, l4b);
    CHECK_EQ(f.v->cr3, l4b);
    CHECK_HEX(fix_type(&f, l4b) & (PGT_type_mask | PGT_validated),
              PGT_l4_page_table | PGT_validated);
    CHECK_EQ(fix_tcount(&f, f.l4), t_old - 1);
    CHECK_EQ(fix_count(&f, f.l4), c_old - 1);
    uint64_t val;
    CHECK_EQ(mmu_load(f.v, FIX_BUF_VA, 8, &val), MMU_OK);
    CHECK_EQ(ext1(MMUEXT_NEW_BASEPTR, f.l4, 0), 0);
    CHECK_EQ(f.v->cr3, f.l4);
    CHECK_EQ(fix_tcount(&f, l4b), 0);
    /* A user root, then none. */
    CHECK_EQ(ext1(MMUEXT_NEW_USER_BASEPTR, l4b, 0), 0);
    CHECK_EQ(f.v->guest_table_user, l4b);
    CHECK_EQ(fix_tcount(&f, l4b), 1);
    CHECK_EQ(ext1(MMUEXT_NEW_USER_BASEPTR, 0, 0), 0);
    CHECK_EQ(fix_tcount(&f, l4b), 0);
    teardown();
}

/* A PTE changed without a flush leaves a stale translation until
   TLB_FLUSH_LOCAL / INVLPG_LOCAL. */
static void t_flush_local(void)
{
    setup();
    unsigned slot = 20;
    mfn_t a = fix_spare(&f, 0), b = fix_spare(&f, 1);
    *(uint64_t *)fix_frame(&f, a) = 1;
    *(uint64_t *)fix_frame(&f, b) = 2;
    uint64_t va = fix_data_va(slot), val = 0;
    REQUIRE(update(f.l1, slot, pte_make(a, DATA_RO)) == 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 1);
    REQUIRE(update(f.l1, slot, pte_make(b, DATA_RO)) == 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 1);                                 /* stale */
    CHECK_EQ(ext1(MMUEXT_TLB_FLUSH_LOCAL, 0, 0), 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 2);
    REQUIRE(update(f.l1, slot, pte_make(a, DATA_RO)) == 0);
    CHECK_EQ(ext1(MMUEXT_INVLPG_LOCAL, va, 0), 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 1);
    teardown();
}

/* MULTI flushes the vCPUs of the guest's bitmap (remote requests); an
   unreadable bitmap is -EINVAL; ALL reaches every vCPU. */
static void t_flush_multi_all(void)
{
    setup_cfg(0, 2, false);
    struct vcpu *b = f.d->vcpu[1];
    unsigned slot = 21;
    mfn_t x = fix_spare(&f, 0), y = fix_spare(&f, 1);
    *(uint64_t *)fix_frame(&f, x) = 10;
    *(uint64_t *)fix_frame(&f, y) = 20;
    uint64_t va = fix_data_va(slot), val = 0;
    REQUIRE(update(f.l1, slot, pte_make(x, DATA_RO)) == 0);
    CHECK_EQ(mmu_load(b, va, 8, &val), MMU_OK);
    REQUIRE(update(f.l1, slot, pte_make(y, DATA_RO)) == 0);
    CHECK_EQ(mmu_load(b, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 10);                                /* stale on B */

    struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_MULTI };
    uint64_t mask = 1ULL << 1;
    op.arg2.vcpumask.p = (const void *)(uintptr_t)fix_put(&f, MASK_OFF, &mask,
                                                          sizeof(mask));
    CHECK_EQ(ext(&op, 1, NULL), 0);
    CHECK_EQ(mmu_load(b, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 20);

    op.arg2.vcpumask.p = (const void *)(uintptr_t)0x10000000ULL;
    CHECK_EQ(ext(&op, 1, NULL), -XEN_EINVAL);

    REQUIRE(update(f.l1, slot, pte_make(x, DATA_RO)) == 0);
    CHECK_EQ(ext1(MMUEXT_INVLPG_ALL, va, 0), 0);
    CHECK_EQ(mmu_load(b, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 10);
    teardown();
}

/* COPY_PAGE and CLEAR_PAGE on data frames; a page table as destination is
   -EINVAL. */
static void t_copy_clear(void)
{
    setup();
    mfn_t s = fix_data(&f, 6), d = fix_spare(&f, 0);
    memset(fix_frame(&f, s), 0x5a, PAGE_SIZE);
    CHECK_EQ(ext1(MMUEXT_COPY_PAGE, d, s), 0);
    CHECK_EQ(memcmp(fix_frame(&f, s), fix_frame(&f, d), PAGE_SIZE), 0);
    CHECK_EQ(ext1(MMUEXT_CLEAR_PAGE, d, 0), 0);
    CHECK_EQ(((uint8_t *)fix_frame(&f, d))[100], 0);
    CHECK_EQ(fix_tcount(&f, d), 0);
    CHECK_EQ(ext1(MMUEXT_COPY_PAGE, f.l2, s), -XEN_EINVAL);
    CHECK_EQ(ext1(MMUEXT_CLEAR_PAGE, f.l1, 0), -XEN_EINVAL);
    CHECK(pte_present(fix_entry(&f, f.l1, 0)));
    teardown();
}

/* SET_LDT checks; cache flushes need privilege; removed and unknown ops. */
static void t_misc_ops(void)
{
    setup();
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT };
    op.arg1.linear_addr = 0x500000 + 8;
    op.arg2.nr_ents = 10;
    CHECK_EQ(ext(&op, 1, NULL), -XEN_EINVAL);
    op.arg1.linear_addr = 0x500000;
    op.arg2.nr_ents = 8193;
    CHECK_EQ(ext(&op, 1, NULL), -XEN_EINVAL);
    op.arg1.linear_addr = PV_HYPERVISOR_VIRT_START;
    op.arg2.nr_ents = 1;
    CHECK_EQ(ext(&op, 1, NULL), -XEN_EINVAL);
    op.arg1.linear_addr = 0x500000;
    op.arg2.nr_ents = 16;
    CHECK_EQ(ext(&op, 1, NULL), 0);
    CHECK_HEX(f.v->ldt_base, 0x500000);
    CHECK_EQ(f.v->ldt_ents, 16);

    CHECK_EQ(ext1(MMUEXT_FLUSH_CACHE, 0, 0), -XEN_EACCES);
    CHECK_EQ(ext1(MMUEXT_FLUSH_CACHE_GLOBAL, 0, 0), -XEN_EACCES);
    CHECK_EQ(ext1(MMUEXT_MARK_SUPER, 0, 0), -XEN_EOPNOTSUPP);
    CHECK_EQ(ext1(MMUEXT_UNMARK_SUPER, 0, 0), -XEN_EOPNOTSUPP);
    CHECK_EQ(ext1(99, 0, 0), -XEN_ENOSYS);
    teardown();
}

/* done counts the ops before a failure; a bad list pointer is -EFAULT;
   foreign domids are checked before anything runs. */
static void t_done_and_errors(void)
{
    setup();
    struct mmuext_op ops[3] = { { .cmd = MMUEXT_TLB_FLUSH_LOCAL },
                                { .cmd = MMUEXT_PIN_L1_TABLE },
                                { .cmd = MMUEXT_TLB_FLUSH_LOCAL } };
    ops[1].arg1.mfn = fix_spare(&f, 0);
    ops[2].cmd = 77;
    unsigned done = 0;
    CHECK_EQ(ext(ops, 3, &done), -XEN_ENOSYS);
    CHECK_EQ(done, 2);
    CHECK_EQ(ext1(MMUEXT_UNPIN_TABLE, fix_spare(&f, 0), 0), 0);

    unsigned zero = 0;
    uint64_t pd = fix_put(&f, DONE_OFF, &zero, sizeof(zero));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, 0x10000000ULL, 2, pd,
                       DOMID_SELF, 0), -XEN_EFAULT);
    fix_get(&f, DONE_OFF, &done, sizeof(done));
    CHECK_EQ(done, 0);

    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    uint64_t p = fix_put(&f, OPS_OFF, ops, sizeof(ops[0]));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, p, 1, 0, 40, 0), -XEN_ESRCH);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, p, 1, 0, 2, 0), -XEN_EPERM);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, p, 1, 0, FIX_DOMID, 0),
             -XEN_ESRCH);
    teardown();
}

/* Pins preempted after every op still pin all of them; done 4. */
static void t_preempted_pins(void)
{
    setup_cfg(1, 1, false);
    struct mmuext_op ops[4];
    memset(ops, 0, sizeof(ops));
    for (unsigned i = 0; i < 4; i++) {
        ops[i].cmd = MMUEXT_PIN_L1_TABLE;
        ops[i].arg1.mfn = fix_spare(&f, i);
    }
    unsigned done = 0;
    CHECK_EQ(ext(ops, 4, &done), 0);
    CHECK_EQ(done, 4);
    for (unsigned i = 0; i < 4; i++) {
        CHECK(fix_type(&f, fix_spare(&f, i)) & PGT_pinned);
        ops[i].cmd = MMUEXT_UNPIN_TABLE;
    }
    CHECK_EQ(ext(ops, 4, &done), 0);
    CHECK_EQ(done, 4);
    teardown();
}

static const struct test tests[] = {
    { "pin an L1, pin it again (-EINVAL), unpin, unpin again (-EINVAL)", t_pin_unpin },
    { "pinning the wrong level, a writable, foreign or absent frame is refused", t_pin_refused },
    { "NEW_BASEPTR of a non-L4 frame is -EINVAL and keeps the root", t_baseptr_not_l4 },
    { "NEW_BASEPTR switches roots and moves the root references", t_baseptr_switch },
    { "TLB_FLUSH_LOCAL and INVLPG_LOCAL drop stale translations", t_flush_local },
    { "TLB_FLUSH_MULTI reaches the bitmap's vCPUs; a bad bitmap is -EINVAL", t_flush_multi_all },
    { "COPY_PAGE and CLEAR_PAGE work on data, refuse page tables", t_copy_clear },
    { "SET_LDT checks, unprivileged cache flush, removed and unknown ops", t_misc_ops },
    { "done counts ops before a failure; bad pointers and domids", t_done_and_errors },
    { "pins preempted after every op all complete", t_preempted_pins },
};
TEST_MAIN(tests)
