/*
 * tests/unit/test-mmu-update.c - HYPERVISOR_mmu_update: every command, the
 * error codes, `done` accounting and continuations (core/mm/mmu_update.c).
 *
 * Each case builds the small PV domain of pv_fixture.h, issues the hypercall
 * the way a guest does (requests in guest memory, guest-virtual pointers),
 * checks the result, the PTEs and the reference counts, and ends with a
 * clean audit and teardown.
 */
#include "core/hypercall.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define REQ_OFF     0           /* requests at the start of the buffer */
#define DONE_OFF    8192        /* the done counter */
#define DATA_RW     (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define DATA_RO     (_PAGE_PRESENT | _PAGE_ACCESSED)
#define FREE_SLOT   20          /* an empty slot of the fixture's L1 */

static struct pv_fixture f;

static void setup(void)
{
    REQUIRE(fix_setup(&f, NULL) == 0);
}
static void setup_opt(unsigned budget, bool privileged)
{
    struct fix_config cfg = { .set_opt = true, .privileged = privileged };
    hv_options_default(&cfg.opt);
    cfg.opt.preempt_budget = budget;
    REQUIRE(fix_setup(&f, &cfg) == 0);
}
static void teardown(void)
{
    CHECK_EQ(fix_teardown(&f), 0);
}

static uint64_t pte_ptr(mfn_t table, unsigned slot, unsigned cmd)
{
    return (table << PAGE_SHIFT) + slot * sizeof(pte_t) + cmd;
}

/* Issue mmu_update on n requests; returns rc, *done = the done counter. */
static long mmu_update(const struct mmu_update *req, unsigned n,
                       unsigned foreigndom, unsigned *done)
{
    uint64_t reqs = fix_put(&f, REQ_OFF, req, n * sizeof(*req));
    unsigned zero = 0;
    uint64_t pdone = fix_put(&f, DONE_OFF, &zero, sizeof(zero));
    long rc = hypercall(f.v, __HYPERVISOR_mmu_update, reqs, n, pdone,
                        foreigndom, 0);
    if (done)
        fix_get(&f, DONE_OFF, done, sizeof(*done));
    return rc;
}

/* An L1 update maps a frame: entry written, general and writable refs taken,
   and mapping another frame moves them. */
static void t_l1_update(void)
{
    setup();
    mfn_t a = fix_spare(&f, 0), b = fix_spare(&f, 1);
    uint64_t ca = fix_count(&f, a), cb = fix_count(&f, b);
    struct mmu_update r = { pte_ptr(f.l1, FREE_SLOT, MMU_NORMAL_PT_UPDATE),
                            pte_make(a, DATA_RW) };
    unsigned done = 99;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, &done), 0);
    CHECK_EQ(done, 1);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT), pte_make(a, DATA_RW));
    CHECK_EQ(fix_count(&f, a), ca + 1);
    CHECK_HEX(fix_type(&f, a) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(fix_tcount(&f, a), 1);

    r.val = pte_make(b, DATA_RO);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, &done), 0);
    CHECK_EQ(fix_count(&f, a), ca);
    CHECK_EQ(fix_tcount(&f, a), 0);
    CHECK_EQ(fix_count(&f, b), cb + 1);
    CHECK_EQ(fix_tcount(&f, b), 0);

    /* The guest sees it. */
    uint64_t val = 0;
    *(uint64_t *)fix_frame(&f, b) = 0x1234;
    CHECK_EQ(mmu_load(f.v, fix_data_va(FREE_SLOT), 8, &val), MMU_OK);
    CHECK_HEX(val, 0x1234);
    teardown();
}

/* A request list at an unmapped address: -EFAULT, done 0. */
static void t_bad_list(void)
{
    setup();
    unsigned zero = 0, done = 7;
    uint64_t pdone = fix_put(&f, DONE_OFF, &zero, sizeof(zero));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmu_update, 0x10000000ULL, 1, pdone,
                       DOMID_SELF, 0), -XEN_EFAULT);
    fix_get(&f, DONE_OFF, &done, sizeof(done));
    CHECK_EQ(done, 0);
    /* A list reaching into Xen's range is refused before anything runs. */
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmu_update, PV_HYPERVISOR_VIRT_START,
                       1, pdone, DOMID_SELF, 0), -XEN_EFAULT);
    teardown();
}

/* A list running off the mapped buffer: the requests before the bad one
   are done and counted. */
static void t_bad_pointer_partway(void)
{
    setup();
    /* Last two requests of data page 15; the third would be on the next,
       unmapped page. */
    struct mmu_update r[2] = {
        { pte_ptr(f.l1, FREE_SLOT, 0), pte_make(fix_spare(&f, 0), DATA_RW) },
        { pte_ptr(f.l1, FREE_SLOT + 1, 0), pte_make(fix_spare(&f, 1), DATA_RW) },
    };
    uint8_t *page15 = fix_frame(&f, fix_data(&f, 15));
    memcpy(page15 + PAGE_SIZE - sizeof(r), r, sizeof(r));
    uint64_t reqs = fix_data_va(15) + PAGE_SIZE - sizeof(r);
    unsigned zero = 0, done = 0;
    uint64_t pdone = fix_put(&f, DONE_OFF, &zero, sizeof(zero));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmu_update, reqs, 3, pdone,
                       DOMID_SELF, 0), -XEN_EFAULT);
    fix_get(&f, DONE_OFF, &done, sizeof(done));
    CHECK_EQ(done, 2);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT + 1),
              pte_make(fix_spare(&f, 1), DATA_RW));
    teardown();
}

/* ptr[2:0] = 4..7 is no command: -ENOSYS after the good ones. */
static void t_unknown_command(void)
{
    setup();
    struct mmu_update r[2] = {
        { pte_ptr(f.l1, FREE_SLOT, 0), pte_make(fix_spare(&f, 0), DATA_RW) },
        { pte_ptr(f.l1, FREE_SLOT + 1, 4), pte_make(fix_spare(&f, 1), DATA_RW) },
    };
    unsigned done = 0;
    CHECK_EQ(mmu_update(r, 2, DOMID_SELF, &done), -XEN_ENOSYS);
    CHECK_EQ(done, 1);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT + 1), 0);
    teardown();
}

/* Foreign domids: unknown -ESRCH (done still written), own id spelled out
   -ESRCH, another domain without privilege -EPERM. */
static void t_foreign_domids(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    struct mmu_update r = { pte_ptr(f.l1, FREE_SLOT, 0),
                            pte_make(fix_spare(&f, 0), DATA_RW) };
    unsigned done = 5;
    CHECK_EQ(mmu_update(&r, 1, 33, &done), -XEN_ESRCH);
    CHECK_EQ(done, 0);
    CHECK_EQ(mmu_update(&r, 1, FIX_DOMID, NULL), -XEN_ESRCH);
    CHECK_EQ(mmu_update(&r, 1, 2, NULL), -XEN_EPERM);
    CHECK_EQ(mmu_update(&r, 1, (33 + 1) << 16 | DOMID_SELF, NULL), -XEN_ESRCH);
    CHECK_EQ(mmu_update(&r, 1, (2 + 1) << 16 | DOMID_SELF, NULL), -XEN_EPERM);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT), 0);
    teardown();
}

/* Mapping another domain's frame: -EBUSY; a page-table frame writable:
   -EBUSY (the writable type cannot be taken); nothing changes. */
static void t_refused_mappings(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t theirs;
    REQUIRE(domctl_populate(other, 0, 1, &theirs) == 0);
    uint64_t c = fix_count(&f, theirs);
    struct mmu_update r = { pte_ptr(f.l1, FREE_SLOT, 0),
                            pte_make(theirs, DATA_RO) };
    unsigned done = 9;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, &done), -XEN_EBUSY);
    CHECK_EQ(done, 0);
    CHECK_EQ(fix_count(&f, theirs), c);

    uint64_t c2 = fix_count(&f, f.l2);
    r.val = pte_make(f.l2, DATA_RW);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EBUSY);
    CHECK_EQ(fix_count(&f, f.l2), c2);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT), 0);
    /* Read-only is fine. */
    r.val = pte_make(f.l2, DATA_RO);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    teardown();
}

/* Flags no PV guest may use (PSE in an L2, PCD in an L1): -EINVAL. */
static void t_bad_flags(void)
{
    setup();
    struct mmu_update r = { pte_ptr(f.l1, FREE_SLOT, 0),
                            pte_make(fix_spare(&f, 0), DATA_RW | _PAGE_PCD) };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EINVAL);
    r.ptr = pte_ptr(f.l2, 5, 0);
    r.val = pte_make(fix_spare(&f, 0), DATA_RW | _PAGE_PSE);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, f.l2, 5), 0);
    teardown();
}

/* An L2 update hooks a fresh L1 (validated on the way) and a later L1
   update through it works; unhooking devalidates it again. */
static void t_l2_update(void)
{
    setup();
    mfn_t l1b = fix_spare(&f, 0), data = fix_spare(&f, 1);
    struct mmu_update r = { pte_ptr(f.l2, 1, 0), pte_make(l1b, DATA_RW) };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(fix_type(&f, l1b) & (PGT_type_mask | PGT_validated),
              PGT_l1_page_table | PGT_validated);
    CHECK_EQ(fix_tcount(&f, l1b), 1);
    r.ptr = pte_ptr(l1b, 3, 0);
    r.val = pte_make(data, DATA_RW);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    uint64_t va = FIX_DATA_VA + (2ULL << 20) + 3 * PAGE_SIZE, val = 0;
    *(uint64_t *)fix_frame(&f, data) = 0xabcdef;
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_HEX(val, 0xabcdef);
    r.ptr = pte_ptr(f.l2, 1, 0);
    r.val = 0;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_EQ(fix_tcount(&f, l1b), 0);
    CHECK_EQ(fix_tcount(&f, data), 0);
    teardown();
}

/* Writing into a devalidated L1 (type bits still L1, count 0): page_lock
   fails, Xen retypes the frame writable and writes raw (story D). */
static void t_devalidated_retype(void)
{
    setup();
    mfn_t l1b = fix_spare(&f, 0);
    struct mmu_update r = { pte_ptr(f.l2, 1, 0), pte_make(l1b, DATA_RW) };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    r.val = 0;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(fix_type(&f, l1b) & PGT_type_mask, PGT_l1_page_table);
    CHECK_EQ(fix_tcount(&f, l1b), 0);

    /* A "PTE" naming another domain's frame: no validation on this path. */
    r.ptr = pte_ptr(l1b, 7, 0);
    r.val = 0x1234567000ULL | _PAGE_PRESENT;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(fix_entry(&f, l1b, 7), r.val);
    CHECK_HEX(fix_type(&f, l1b) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(fix_tcount(&f, l1b), 0);
    teardown();
}

/* A plain writable data frame takes raw 8-byte writes. */
static void t_raw_write_data(void)
{
    setup();
    mfn_t d0 = fix_data(&f, 5);
    struct mmu_update r = { pte_ptr(d0, 9, 0), 0x5555aaaa5555aaaaULL };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(((uint64_t *)fix_frame(&f, d0))[9], r.val);
    teardown();
}

/* MMU_MACHPHYS_UPDATE: own frame sets the M2P; another domain's frame
   -EINVAL; an L1 update naming a frame we do not own as the table
   -EINVAL. */
static void t_machphys(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t theirs;
    REQUIRE(domctl_populate(other, 0, 1, &theirs) == 0);
    mfn_t mine = fix_spare(&f, 2);
    struct mmu_update r = { (mine << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 777 };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_EQ(get_gpfn_from_mfn(f.m, mine), 777);
    r.ptr = (theirs << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EINVAL);
    CHECK_EQ(get_gpfn_from_mfn(f.m, theirs), 0);
    r.ptr = pte_ptr(theirs, 0, 0);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EINVAL);
    r.ptr = pte_ptr(f.m->nr_frames + 5, 0, 0);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), -XEN_EINVAL);
    /* Put the M2P back so the audit sees the fixture's layout. */
    r.ptr = (mine << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    r.val = FIX_FIRST_SPARE_PFN + 2;
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    teardown();
}

/* PRESERVE_AD keeps A/D bits the hardware set meanwhile. */
static void t_preserve_ad(void)
{
    setup();
    mfn_t d5 = fix_data(&f, 5);
    unsigned slot = pt_index(fix_data_va(5), 1);
    /* Touch it: the walk sets A and D (already set by the builder). */
    CHECK_EQ(mmu_store(f.v, fix_data_va(5), 8, 1), MMU_OK);
    struct mmu_update r = { pte_ptr(f.l1, slot, MMU_PT_UPDATE_PRESERVE_AD),
                            pte_make(d5, _PAGE_PRESENT | _PAGE_RW) };
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(fix_entry(&f, f.l1, slot),
              pte_make(d5, _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED |
                           _PAGE_DIRTY));
    r.ptr = pte_ptr(f.l1, slot, MMU_NORMAL_PT_UPDATE);
    CHECK_EQ(mmu_update(&r, 1, DOMID_SELF, NULL), 0);
    CHECK_HEX(fix_entry(&f, f.l1, slot), pte_make(d5, _PAGE_PRESENT | _PAGE_RW));
    teardown();
}

static unsigned nr_preempt_points;
static void count_preempt(enum sched_point why)
{
    if (why == SP_PREEMPT)
        nr_preempt_points++;
}

/* Preemption every 2 entries: a batch of 7 completes through
   continuations, done 7, same final state as one pass. */
static void t_preempted_batch(void)
{
    setup_opt(2, false);
    struct mmu_update r[7];
    for (unsigned i = 0; i < 7; i++) {
        r[i].ptr = pte_ptr(f.l1, FREE_SLOT + i, 0);
        r[i].val = pte_make(fix_spare(&f, i), DATA_RW);
    }
    uint64_t calls = f.v->nr_hypercalls;
    unsigned done = 0;
    hv_sched_hook = count_preempt;
    CHECK_EQ(mmu_update(r, 7, DOMID_SELF, &done), 0);
    hv_sched_hook = NULL;
    CHECK_EQ(nr_preempt_points, 3);            /* passes of 2, 2, 2, 1 */
    CHECK_EQ(done, 7);
    CHECK_EQ(f.v->nr_hypercalls, calls + 1);
    CHECK(!f.v->cont.pending);
    for (unsigned i = 0; i < 7; i++) {
        CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT + i), r[i].val);
        CHECK_EQ(fix_tcount(&f, fix_spare(&f, i)), 1);
    }
    teardown();
}

/* A preempted batch that then fails reports the total done. */
static void t_preempted_then_error(void)
{
    setup_opt(2, false);
    struct mmu_update r[5];
    for (unsigned i = 0; i < 5; i++) {
        r[i].ptr = pte_ptr(f.l1, FREE_SLOT + i, 0);
        r[i].val = pte_make(fix_spare(&f, i), DATA_RW);
    }
    r[4].val = pte_make(f.l1, DATA_RW);         /* a table, writable */
    unsigned done = 0;
    CHECK_EQ(mmu_update(r, 5, DOMID_SELF, &done), -XEN_EBUSY);
    CHECK_EQ(done, 4);
    teardown();
}

/* A privileged domain updates another domain's tables (PFD) and maps its
   frames (FD). */
static void t_privileged_foreign(void)
{
    setup_opt(0, true);
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t o[2];
    REQUIRE(domctl_populate(other, 0, 2, o) == 0);
    /* Map other's frame o[0] in our own L1 (FD = 2). */
    struct mmu_update r = { pte_ptr(f.l1, FREE_SLOT, 0),
                            pte_make(o[0], DATA_RO) };
    CHECK_EQ(mmu_update(&r, 1, 2, NULL), 0);
    CHECK_HEX(fix_entry(&f, f.l1, FREE_SLOT), r.val);
    r.val = 0;
    CHECK_EQ(mmu_update(&r, 1, 2, NULL), 0);
    /* An L2 of ours with FD != PFD is refused. */
    r.ptr = pte_ptr(f.l2, 1, 0);
    r.val = pte_make(o[1], DATA_RW);
    CHECK_EQ(mmu_update(&r, 1, 2, NULL), -XEN_EINVAL);
    teardown();
}

static const struct test tests[] = {
    { "an L1 update maps a frame and moves its references", t_l1_update },
    { "a request list at an unmapped address is -EFAULT with done 0", t_bad_list },
    { "a list running into an unmapped page reports done for the good requests", t_bad_pointer_partway },
    { "an unknown command (ptr & 7 >= 4) is -ENOSYS after the good ones", t_unknown_command },
    { "unknown, self-named and unprivileged foreign domids are -ESRCH / -EPERM", t_foreign_domids },
    { "mapping another domain's frame or a page table writable is -EBUSY", t_refused_mappings },
    { "flags a PV guest may not use are -EINVAL", t_bad_flags },
    { "an L2 update hooks and unhooks a fresh L1 with its references", t_l2_update },
    { "writing into a devalidated L1 retypes it writable and writes raw", t_devalidated_retype },
    { "a writable data frame takes raw writes", t_raw_write_data },
    { "MMU_MACHPHYS_UPDATE sets the M2P of own frames only", t_machphys },
    { "PRESERVE_AD keeps the hardware's accessed and dirty bits", t_preserve_ad },
    { "a batch preempted every 2 entries completes through continuations", t_preempted_batch },
    { "a preempted batch that then fails reports the total done", t_preempted_then_error },
    { "a privileged domain maps foreign frames but not into an L2 with FD != PFD", t_privileged_foreign },
};
TEST_MAIN(tests)
