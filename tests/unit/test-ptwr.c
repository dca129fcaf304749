/*
 * tests/unit/test-ptwr.c - writable pagetables in both modes
 * (core/mm/ptwr.c, core/traps.c), and story C made deterministic.
 *
 * Layout used by the unhook cases (on top of pv_fixture.h): a second L1
 * "L1B" (spare 0) hooked at L2 slot 1 (VA 1 GiB + 2 MiB), mapped read-only
 * by the fixture's L1 at slot 20, and mapping a data page (spare 1) at its
 * slot 0.  L1B does not map itself, so a batch on it can unhook it.
 * Interleavings are forced by calling the steps in order from one thread
 * that acts as both vCPUs (a scheduling-point hook plays vCPU A while vCPU
 * B is inside its fault) - no timing.
 */
#include "core/audit.h"
#include "core/hypercall.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "core/traps.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define DATA_RW     (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define DATA_RO     (_PAGE_PRESENT | _PAGE_ACCESSED)
#define L1B_SLOT    20                          /* RO mapping of L1B */
#define L1B_VA      fix_data_va(L1B_SLOT)       /* where the guest writes it */
#define RANGE_VA    (FIX_DATA_VA + (2ULL << 20)) /* what L1B maps */

static struct pv_fixture f;
static mfn_t l1b, datab;

static void setup(enum ptwr_mode mode, unsigned nr_vcpus)
{
    struct fix_config cfg = { .set_opt = true, .nr_vcpus = nr_vcpus };
    hv_options_default(&cfg.opt);
    cfg.opt.ptwr_mode = mode;
    REQUIRE(fix_setup(&f, &cfg) == 0);
    REQUIRE(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                      VMASST_TYPE_writable_pagetables, 0, 0, 0) == 0);
}

static long update(mfn_t table, unsigned slot, uint64_t val)
{
    struct mmu_update r = { (table << PAGE_SHIFT) + slot * 8, val };
    uint64_t p = fix_put(&f, 0, &r, sizeof(r));
    return hypercall(f.v, __HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF, 0);
}

/* Build L1B (see the top). */
static void setup_l1b(void)
{
    l1b = fix_spare(&f, 0);
    datab = fix_spare(&f, 1);
    REQUIRE(update(f.l2, 1, pte_make(l1b, DATA_RW)) == 0);
    REQUIRE(update(l1b, 0, pte_make(datab, DATA_RW)) == 0);
    REQUIRE(update(f.l1, L1B_SLOT, pte_make(l1b, DATA_RO)) == 0);
}

static void teardown(void)
{
    for (unsigned i = 0; i < f.d->nr_vcpus; i++)
        ptwr_sync(f.d->vcpu[i]);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* A guest #PF handler that records what it got and whether the PTE was
   present (a spurious fault from the guest's point of view). */
static unsigned guest_faults, guest_spurious;
static uint64_t guest_fault_va;
static enum pf_outcome guest_pf(struct vcpu *v, uint64_t va, uint32_t pfec,
                                void *ctx)
{
    (void)ctx;
    guest_faults++;
    guest_fault_va = va;
    struct mmu_walk w;
    if (mmu_walk(v->d->m, v->cr3, va, pfec & (PFEC_WRITE | PFEC_USER), false,
                 &w) == 0)
        guest_spurious++;
    return PF_KILL;         /* a kernel without a spurious check */
}

/* ---- emulate mode ------------------------------------------------------- */

/* A store to a read-only L1 is emulated: PTE written, refs moved, no fault
   reaches the guest. */
static void t_emulate_store(void)
{
    setup(PTWR_EMULATE, 1);
    vcpu_set_guest_pf_handler(f.v, guest_pf, NULL);
    mfn_t a = fix_spare(&f, 3), b = fix_spare(&f, 4);
    uint64_t pte_va = fix_pt_va(1) + 30 * 8;
    CHECK_EQ(mmu_store(f.v, pte_va, 8, pte_make(a, DATA_RW)), MMU_OK);
    CHECK_HEX(fix_entry(&f, f.l1, 30), pte_make(a, DATA_RW));
    CHECK_EQ(fix_tcount(&f, a), 1);
    CHECK_EQ(mmu_store(f.v, pte_va, 8, pte_make(b, DATA_RO)), MMU_OK);
    CHECK_EQ(fix_tcount(&f, a), 0);
    CHECK_EQ(fix_count(&f, b), 2);
    CHECK_EQ(guest_faults, 0);
    CHECK_EQ(f.v->nr_faults_bounced, 0);
    /* The mapping works. */
    uint64_t val = 0;
    *(uint64_t *)fix_frame(&f, b) = 42;
    CHECK_EQ(mmu_load(f.v, fix_data_va(30), 8, &val), MMU_OK);
    CHECK_EQ(val, 42);
    CHECK_EQ(mmu_store(f.v, pte_va, 8, 0), MMU_OK);
    teardown();
}

/* A 4-byte store to the low half is widened with the high half. */
static void t_emulate_subword(void)
{
    setup(PTWR_EMULATE, 1);
    mfn_t a = fix_spare(&f, 3);
    pte_t want = pte_make(a, DATA_RO) | _PAGE_NX;
    uint64_t pte_va = fix_pt_va(1) + 31 * 8;
    CHECK_EQ(mmu_store(f.v, pte_va + 4, 4, want >> 32), MMU_OK);
    CHECK_HEX(fix_entry(&f, f.l1, 31), want & ~0xFFFFFFFFULL);
    CHECK_EQ(mmu_store(f.v, pte_va, 4, want & 0xFFFFFFFF), MMU_OK);
    CHECK_HEX(fix_entry(&f, f.l1, 31), want);
    CHECK_EQ(fix_count(&f, a), 2);
    CHECK_EQ(mmu_store(f.v, pte_va, 8, 0), MMU_OK);
    teardown();
}

/* cmpxchg on a PTE: success installs it, failure reports the value found
   and leaves the references alone. */
static void t_emulate_cmpxchg(void)
{
    setup(PTWR_EMULATE, 1);
    mfn_t a = fix_spare(&f, 3), b = fix_spare(&f, 4);
    uint64_t pte_va = fix_pt_va(1) + 32 * 8;
    uint64_t old = 0;
    CHECK_EQ(mmu_cmpxchg(f.v, pte_va, 8, &old, pte_make(a, DATA_RW)), MMU_OK);
    CHECK_HEX(old, 0);
    CHECK_HEX(fix_entry(&f, f.l1, 32), pte_make(a, DATA_RW));
    old = 0;                                     /* stale expectation */
    CHECK_EQ(mmu_cmpxchg(f.v, pte_va, 8, &old, pte_make(b, DATA_RW)), MMU_OK);
    CHECK_HEX(old, pte_make(a, DATA_RW));
    CHECK_HEX(fix_entry(&f, f.l1, 32), pte_make(a, DATA_RW));
    CHECK_EQ(fix_tcount(&f, b), 0);
    CHECK_EQ(fix_count(&f, b), 1);
    CHECK_EQ(mmu_store(f.v, pte_va, 8, 0), MMU_OK);
    teardown();
}

/* An invalid new PTE (a page table writable, another domain's frame) is
   not emulated: the fault goes to the guest, nothing changes. */
static void t_emulate_invalid(void)
{
    setup(PTWR_EMULATE, 1);
    vcpu_set_guest_pf_handler(f.v, guest_pf, NULL);
    uint64_t pte_va = fix_pt_va(1) + 33 * 8;
    uint64_t c = fix_count(&f, f.l2);
    CHECK_EQ(mmu_store(f.v, pte_va, 8, pte_make(f.l2, DATA_RW)), MMU_KILLED);
    CHECK_EQ(guest_faults, 1);
    CHECK_EQ(guest_fault_va, pte_va);
    CHECK_EQ(f.v->nr_faults_bounced, 1);
    CHECK_HEX(fix_entry(&f, f.l1, 33), 0);
    CHECK_EQ(fix_count(&f, f.l2), c);
    teardown();
}

/* Without the vm_assist, a store to a read-only L1 is the guest's fault. */
static void t_no_vmassist(void)
{
    setup(PTWR_EMULATE, 1);
    REQUIRE(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_disable,
                      VMASST_TYPE_writable_pagetables, 0, 0, 0) == 0);
    vcpu_set_guest_pf_handler(f.v, guest_pf, NULL);
    CHECK_EQ(mmu_store(f.v, fix_pt_va(1) + 34 * 8, 8,
                       pte_make(fix_spare(&f, 3), DATA_RO)), MMU_KILLED);
    CHECK_EQ(guest_faults, 1);
    CHECK_HEX(fix_entry(&f, f.l1, 34), 0);
    teardown();
}

/* A stale read-only TLB entry (the PTE was made writable without a flush)
   is retried after a local INVLPG and never reaches the guest. */
static void t_emulate_stale_tlb(void)
{
    setup(PTWR_EMULATE, 1);
    vcpu_set_guest_pf_handler(f.v, guest_pf, NULL);
    unsigned slot = 35;
    mfn_t a = fix_spare(&f, 3);
    REQUIRE(update(f.l1, slot, pte_make(a, DATA_RO)) == 0);
    uint64_t val;
    CHECK_EQ(mmu_load(f.v, fix_data_va(slot), 8, &val), MMU_OK);  /* fill */
    REQUIRE(update(f.l1, slot, pte_make(a, DATA_RW)) == 0);       /* no flush */
    CHECK_EQ(mmu_store(f.v, fix_data_va(slot), 8, 7), MMU_OK);
    CHECK_EQ(guest_faults, 0);
    CHECK(f.v->nr_spurious >= 1);
    CHECK_EQ(*(uint64_t *)fix_frame(&f, a), 7);
    teardown();
}

/* ---- unhook mode -------------------------------------------------------- */

/* The first write is emulated (3.0's anti-livelock rule), the second opens
   an ACTIVE batch: L2 entry unhooked, L1 mapped writable, later writes are
   native; the next hypercall revalidates and re-hooks. */
static void t_unhook_batch(void)
{
    setup(PTWR_UNHOOK, 1);
    setup_l1b();
    vcpu_set_guest_pf_handler(f.v, guest_pf, NULL);
    struct ptwr_stats st;
    mfn_t a = fix_spare(&f, 3), b = fix_spare(&f, 4), c = fix_spare(&f, 5);

    CHECK_EQ(mmu_store(f.v, L1B_VA + 1 * 8, 8, pte_make(a, DATA_RW)), MMU_OK);
    ptwr_stats(f.d, &st);
    CHECK_EQ(st.nr_emulated, 1);
    CHECK(!st.open_active);
    CHECK_EQ(fix_tcount(&f, a), 1);

    CHECK_EQ(mmu_store(f.v, L1B_VA + 2 * 8, 8, pte_make(b, DATA_RW)), MMU_OK);
    ptwr_stats(f.d, &st);
    CHECK(st.open_active);
    CHECK(ptwr_frame_in_batch(f.d, l1b));
    CHECK(!pte_present(fix_entry(&f, f.l2, 1)));
    CHECK(fix_entry(&f, f.l1, L1B_SLOT) & _PAGE_RW);
    /* Native: written, but no reference taken yet. */
    CHECK_HEX(fix_entry(&f, l1b, 2), pte_make(b, DATA_RW));
    CHECK_EQ(fix_tcount(&f, b), 0);

    uint64_t faults = f.v->nr_faults;
    CHECK_EQ(mmu_store(f.v, L1B_VA + 3 * 8, 8, pte_make(c, DATA_RO)), MMU_OK);
    CHECK_EQ(mmu_store(f.v, L1B_VA + 1 * 8, 8, 0), MMU_OK);   /* drop a */
    CHECK_EQ(f.v->nr_faults, faults);           /* no fault: native */
    /* The open batch is accounted as the batch holds it: the unhooked L2
       entry's references, the snapshot's entries (core/mm/audit.c U9). */
    CHECK_EQ(hv_audit(f.m, stderr), 0);

    /* Any hypercall closes the batch. */
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                       VMASST_TYPE_writable_pagetables, 0, 0, 0), 0);
    ptwr_stats(f.d, &st);
    CHECK(!st.open_active);
    CHECK_EQ(st.nr_flushes, 1);
    CHECK(!ptwr_frame_in_batch(f.d, l1b));
    CHECK(pte_present(fix_entry(&f, f.l2, 1)));
    CHECK(!(fix_entry(&f, f.l1, L1B_SLOT) & _PAGE_RW));
    CHECK_EQ(fix_tcount(&f, a), 0);
    CHECK_EQ(fix_count(&f, a), 1);
    CHECK_EQ(fix_tcount(&f, b), 1);
    CHECK_EQ(fix_count(&f, c), 2);
    CHECK_EQ(guest_faults, 0);
    CHECK_EQ(fix_audit(&f), 0);

    /* The range works again. */
    uint64_t val;
    *(uint64_t *)fix_frame(&f, b) = 99;
    CHECK_EQ(mmu_load(f.v, RANGE_VA + 2 * PAGE_SIZE, 8, &val), MMU_OK);
    CHECK_EQ(val, 99);
    teardown();
}

/* An invalid PTE written natively: the flush restores the rest of the L1
   from the snapshot and counts the failure; references stay right. */
static void t_unhook_invalid_native(void)
{
    setup(PTWR_UNHOOK, 1);
    setup_l1b();
    struct ptwr_stats st;
    CHECK_EQ(mmu_store(f.v, L1B_VA + 1 * 8, 8, 0), MMU_OK);       /* emulated */
    CHECK_EQ(mmu_store(f.v, L1B_VA + 1 * 8, 8,
                       pte_make(fix_spare(&f, 3), DATA_RO)), MMU_OK); /* opens */
    CHECK_EQ(mmu_store(f.v, L1B_VA + 2 * 8, 8, pte_make(f.l2, DATA_RW)),
             MMU_OK);                            /* a table, writable */
    ptwr_sync(f.v);
    ptwr_stats(f.d, &st);
    CHECK_EQ(st.nr_revalidate_failures, 1);
    CHECK_HEX(fix_entry(&f, l1b, 2), 0);
    CHECK_HEX(fix_entry(&f, l1b, 1), pte_make(fix_spare(&f, 3), DATA_RO));
    CHECK_EQ(fix_audit(&f), 0);
    teardown();
}

/* Two vCPUs: while A's batch is open, B touching the unhooked range faults;
   handled while the batch is still open, the fault closes it and B retries
   successfully. */
static void t_unhook_second_vcpu_closes(void)
{
    setup(PTWR_UNHOOK, 2);
    setup_l1b();
    struct vcpu *va = f.d->vcpu[0], *vb = f.d->vcpu[1];
    vcpu_set_guest_pf_handler(vb, guest_pf, NULL);
    CHECK_EQ(mmu_store(va, L1B_VA + 5 * 8, 8, 0), MMU_OK);        /* emulated */
    CHECK_EQ(mmu_store(va, L1B_VA + 6 * 8, 8, 0), MMU_OK);        /* opens */
    struct ptwr_stats st;
    ptwr_stats(f.d, &st);
    REQUIRE(st.open_active);

    uint64_t faults = vb->nr_faults, val = 0;
    *(uint64_t *)fix_frame(&f, datab) = 5;
    current = vb;
    CHECK_EQ(mmu_load(vb, RANGE_VA, 8, &val), MMU_OK);
    current = va;
    CHECK_EQ(val, 5);
    CHECK_EQ(vb->nr_faults, faults + 1);        /* it did fault ... */
    CHECK_EQ(guest_faults, 0);                  /* ... and it was fixed */
    ptwr_stats(f.d, &st);
    CHECK(!st.open_active);
    teardown();
}

/* Story C, forced: B faults on the unhooked range; before B's handler takes
   the big lock, A enters a hypercall, which flushes the batch.  B's
   not-present fault then matches no batch and - Xen 3.0 did not check
   guest faults for spuriousness - reaches B's kernel although the PTE is
   present. */
static struct vcpu *story_a;
static bool story_fired;
static void story_hook(enum sched_point why)
{
    if (why != SP_FAULT || story_fired || current == story_a)
        return;
    story_fired = true;
    struct vcpu *b = current;
    current = story_a;
    /* vCPU A: any hypercall (here a local TLB flush). */
    struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    uint64_t p = fix_put(&f, 0, &op, sizeof(op));
    CHECK_EQ(hypercall(story_a, __HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF,
                       0), 0);
    current = b;
}

static unsigned run_story(enum ptwr_mode mode)
{
    setup(mode, 2);
    setup_l1b();
    struct vcpu *va = f.d->vcpu[0], *vb = f.d->vcpu[1];
    vcpu_set_guest_pf_handler(vb, guest_pf, NULL);
    guest_faults = guest_spurious = 0;
    story_a = va;
    story_fired = false;

    /* A writes L1B twice: emulated, then (unhook) a batch opens. */
    CHECK_EQ(mmu_store(va, L1B_VA + 5 * 8, 8, 0), MMU_OK);
    CHECK_EQ(mmu_store(va, L1B_VA + 6 * 8, 8, 0), MMU_OK);

    hv_sched_hook = story_hook;
    current = vb;
    uint64_t val = 0;
    int rc = mmu_load(vb, RANGE_VA, 8, &val);
    current = va;
    hv_sched_hook = NULL;

    if (mode == PTWR_UNHOOK) {
        CHECK(story_fired);
        CHECK_EQ(rc, MMU_KILLED);
        CHECK_EQ(guest_faults, 1);
        CHECK_EQ(guest_spurious, 1);            /* the PTE was present */
        CHECK_EQ(guest_fault_va, RANGE_VA);
        CHECK_EQ(vb->nr_faults_bounced, 1);
    } else {
        CHECK_EQ(rc, MMU_OK);
        CHECK_EQ(guest_faults, 0);
        CHECK_EQ(vb->nr_faults_bounced, 0);
    }
    CHECK_EQ(fix_audit(&f), 0);
    unsigned n = guest_faults;
    teardown();
    return n;
}
static void t_story_c_unhook(void) { CHECK_EQ(run_story(PTWR_UNHOOK), 1); }
static void t_story_c_emulate(void) { CHECK_EQ(run_story(PTWR_EMULATE), 0); }

/* The same late fault, delivered by hand in emulate mode: the PTE is
   present, so it is retried and never reaches the guest. */
static void t_late_fault_emulate(void)
{
    setup(PTWR_EMULATE, 2);
    setup_l1b();
    struct vcpu *vb = f.d->vcpu[1];
    vcpu_set_guest_pf_handler(vb, guest_pf, NULL);
    CHECK_EQ(hv_page_fault(vb, RANGE_VA, 0), PF_RETRY);
    CHECK_EQ(guest_faults, 0);
    CHECK_EQ(vb->nr_spurious, 1);
    /* A genuine fault still goes to the guest. */
    CHECK_EQ(hv_page_fault(vb, RANGE_VA + (1ULL << 20), 0), PF_KILL);
    CHECK_EQ(guest_faults, 1);
    teardown();
}

/* SMP: an L1 mapped read-only twice cannot be unhooked; it is emulated. */
static void t_unhook_smp_double_mapping(void)
{
    setup(PTWR_UNHOOK, 2);
    setup_l1b();
    REQUIRE(update(f.l1, L1B_SLOT + 1, pte_make(l1b, DATA_RO)) == 0);
    struct ptwr_stats st;
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(mmu_store(f.v, L1B_VA + (8 + i) * 8, 8, 0), MMU_OK);
    ptwr_stats(f.d, &st);
    CHECK_EQ(st.nr_batches, 0);
    CHECK_EQ(st.nr_emulated, 3);
    CHECK(pte_present(fix_entry(&f, f.l2, 1)));
    teardown();
}

/* A table that maps itself (the fixture's L1) is always emulated. */
static void t_unhook_self_map(void)
{
    setup(PTWR_UNHOOK, 1);
    struct ptwr_stats st;
    for (unsigned i = 0; i < 3; i++)
        CHECK_EQ(mmu_store(f.v, fix_pt_va(1) + (40 + i) * 8, 8, 0), MMU_OK);
    ptwr_stats(f.d, &st);
    CHECK_EQ(st.nr_batches, 0);
    CHECK_EQ(st.nr_emulated, 3);
    teardown();
}

static const struct test tests[] = {
    { "emulate: a store to a read-only L1 writes the PTE and moves refs", t_emulate_store },
    { "emulate: a 4-byte store is widened with the rest of the PTE", t_emulate_subword },
    { "emulate: cmpxchg installs, or reports the value found", t_emulate_cmpxchg },
    { "emulate: an invalid new PTE is not written and the fault reaches the guest", t_emulate_invalid },
    { "without the vm_assist a store to an L1 is the guest's fault", t_no_vmassist },
    { "emulate: a stale read-only TLB entry is retried, not delivered", t_emulate_stale_tlb },
    { "unhook: a batch opens, writes go native, a hypercall revalidates and re-hooks", t_unhook_batch },
    { "unhook: an invalid native PTE is rolled back from the snapshot", t_unhook_invalid_native },
    { "unhook: a second vCPU touching the range during the batch faults and closes it", t_unhook_second_vcpu_closes },
    { "unhook: story C - a late not-present fault on a present PTE reaches the guest", t_story_c_unhook },
    { "emulate: the story C interleaving delivers nothing to the guest", t_story_c_emulate },
    { "emulate: a late fault on a present PTE is retried, a real one bounced", t_late_fault_emulate },
    { "unhook: an L1 mapped twice on an SMP guest is emulated, never unhooked", t_unhook_smp_double_mapping },
    { "unhook: a table that maps itself is emulated", t_unhook_self_map },
};
TEST_MAIN(tests)
