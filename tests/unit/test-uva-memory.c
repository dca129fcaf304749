/*
 * tests/unit/test-uva-memory.c - update_va_mapping (+ _otherdomain),
 * memory_op reservations and vm_assist (core/mm/uva.c, core/mm/memory.c).
 */
#include <stdint.h>

#include <xen/memory.h>

#include "core/hypercall.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define DATA_RW     (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define DATA_RO     (_PAGE_PRESENT | _PAGE_ACCESSED)
#define ARG_OFF     0
#define LIST_OFF    4096
#define MASK_OFF    8192

static struct pv_fixture f;

static void setup_cfg(unsigned budget, bool privileged)
{
    struct fix_config cfg = { .set_opt = true, .privileged = privileged };
    hv_options_default(&cfg.opt);
    cfg.opt.preempt_budget = budget;
    REQUIRE(fix_setup(&f, &cfg) == 0);
}
static void setup(void) { setup_cfg(0, false); }
static void teardown(void) { CHECK_EQ(fix_teardown(&f), 0); }

static long uva(uint64_t va, uint64_t val, uint64_t flags)
{
    return hypercall(f.v, __HYPERVISOR_update_va_mapping, va, val, flags, 0, 0);
}

/* update_va_mapping maps a frame at va; INVLPG|LOCAL makes it visible. */
static void t_uva_maps(void)
{
    setup();
    mfn_t a = fix_spare(&f, 0), b = fix_spare(&f, 1);
    *(uint64_t *)fix_frame(&f, a) = 11;
    *(uint64_t *)fix_frame(&f, b) = 22;
    uint64_t va = fix_data_va(20), val = 0;
    CHECK_EQ(uva(va, pte_make(a, DATA_RW), UVMF_INVLPG | UVMF_LOCAL), 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 11);
    CHECK_EQ(fix_tcount(&f, a), 1);
    CHECK_EQ(uva(va, pte_make(b, DATA_RO), UVMF_TLB_FLUSH | UVMF_ALL), 0);
    CHECK_EQ(mmu_load(f.v, va, 8, &val), MMU_OK);
    CHECK_EQ(val, 22);
    CHECK_EQ(fix_tcount(&f, a), 0);
    CHECK_EQ(uva(va, 0, UVMF_NONE), 0);
    CHECK_EQ(fix_count(&f, b), 1);
    teardown();
}

/* No L1 maps va (L2 slot empty), a non-guest address, an L1 mapped
   writable: -EINVAL; refused mappings keep their error; nothing changes. */
static void t_uva_errors(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t theirs;
    REQUIRE(domctl_populate(other, 0, 1, &theirs) == 0);
    mfn_t a = fix_spare(&f, 0);
    CHECK_EQ(uva(FIX_DATA_VA + (4ULL << 20), pte_make(a, DATA_RW), 0),
             -XEN_EINVAL);
    CHECK_EQ(uva(PV_HYPERVISOR_VIRT_START, pte_make(a, DATA_RW), 0),
             -XEN_EINVAL);
    CHECK_EQ(uva(fix_data_va(20), pte_make(theirs, DATA_RO), 0), -XEN_EBUSY);
    CHECK_EQ(uva(fix_data_va(20), pte_make(f.l1, DATA_RW), 0), -XEN_EBUSY);
    CHECK_EQ(uva(fix_data_va(20), pte_make(a, DATA_RW | _PAGE_PCD), 0),
             -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, f.l1, 20), 0);
    CHECK_EQ(fix_count(&f, theirs), 1);
    teardown();
}

/* A bad vCPU bitmap pointer: the update is made, then -EFAULT. */
static void t_uva_bad_bitmap(void)
{
    setup();
    mfn_t a = fix_spare(&f, 0);
    CHECK_EQ(uva(fix_data_va(20), pte_make(a, DATA_RW),
                 UVMF_INVLPG | 0x10000000ULL), -XEN_EFAULT);
    CHECK_HEX(fix_entry(&f, f.l1, 20), pte_make(a, DATA_RW));
    uint64_t mask = 1;
    uint64_t p = fix_put(&f, MASK_OFF, &mask, sizeof(mask));
    CHECK_EQ(uva(fix_data_va(20), 0, UVMF_TLB_FLUSH | p), 0);
    teardown();
}

/* _otherdomain: unknown -ESRCH, unprivileged -EPERM; privileged maps the
   other domain's frame. */
static void t_uva_otherdomain(void)
{
    setup();
    struct domain *other = fix_domain_new(f.m, 2, 1, 64, false);
    REQUIRE(other != NULL);
    mfn_t theirs;
    REQUIRE(domctl_populate(other, 0, 1, &theirs) == 0);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_update_va_mapping_otherdomain,
                       fix_data_va(20), pte_make(theirs, DATA_RO), 0, 40, 0),
             -XEN_ESRCH);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_update_va_mapping_otherdomain,
                       fix_data_va(20), pte_make(theirs, DATA_RO), 0, 2, 0),
             -XEN_EPERM);
    f.d->is_privileged = true;
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_update_va_mapping_otherdomain,
                       fix_data_va(20), pte_make(theirs, DATA_RO), 0, 2, 0), 0);
    CHECK_EQ(fix_count(&f, theirs), 2);
    CHECK_EQ(uva(fix_data_va(20), 0, 0), 0);
    f.d->is_privileged = false;
    teardown();
}

static long memop(unsigned long cmd, const void *arg, size_t len)
{
    uint64_t p = fix_put(&f, ARG_OFF, arg, len);
    return hypercall(f.v, __HYPERVISOR_memory_op, cmd, p, 0, 0, 0);
}
static struct xen_memory_reservation resv(uint64_t n, unsigned order)
{
    struct xen_memory_reservation r = { .nr_extents = n,
                                        .extent_order = order,
                                        .domid = DOMID_SELF };
    r.extent_start.p = (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + LIST_OFF);
    return r;
}

/* populate_physmap then decrease_reservation: extents done, mfns out, M2P,
   tot_pages back where it was. */
static void t_populate_decrease(void)
{
    setup();
    uint64_t tot = atomic_load(&f.d->tot_pages);
    xen_pfn_t list[3] = { 200, 201, 202 };
    fix_put(&f, LIST_OFF, list, sizeof(list));
    struct xen_memory_reservation r = resv(3, 0);
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 3);
    fix_get(&f, LIST_OFF, list, sizeof(list));
    CHECK_EQ(atomic_load(&f.d->tot_pages), tot + 3);
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ(get_gpfn_from_mfn(f.m, list[i]), 200 + i);
        CHECK(page_get_owner(f.m, list[i]) == f.d);
    }
    struct xen_memory_domain md = { .domid = DOMID_SELF };
    CHECK_EQ(memop(XENMEM_current_reservation, &md, sizeof(md)), tot + 3);
    CHECK_EQ(memop(XENMEM_maximum_gpfn, &md, sizeof(md)), 202);
    CHECK_EQ(memop(XENMEM_maximum_reservation, &md, sizeof(md)), 1024);

    /* Give two back; the third entry is not ours: stops there. */
    list[2] = fix_data(&f, 0) + 100000;
    fix_put(&f, LIST_OFF, list, sizeof(list));
    r = resv(3, 0);
    CHECK_EQ(memop(XENMEM_decrease_reservation, &r, sizeof(r)), 2);
    CHECK_EQ(atomic_load(&f.d->tot_pages), tot + 1);
    teardown();
}

/* Whole-request errors return start_extent; extents past max_pages stop;
   order > 0 cannot be allocated here. */
static void t_reservation_errors(void)
{
    setup();
    struct xen_memory_reservation r = resv(2, 0);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                       0x10000000ULL, 0, 0, 0), 0);
    r.domid = 40;
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 0);
    r = resv(2, 0);
    CHECK_EQ(memop(XENMEM_populate_physmap | (5UL << MEMOP_EXTENT_SHIFT), &r,
                   sizeof(r)), 5);
    r = resv(2, 10);
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 0);
    r = resv(2, 1);
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 0);
    /* extent_start unmapped: nothing done. */
    r = resv(2, 0);
    r.extent_start.p = (xen_pfn_t *)(uintptr_t)0x10000000ULL;
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 0);

    struct xen_memory_domain md = { .domid = 40 };
    CHECK_EQ(memop(XENMEM_current_reservation, &md, sizeof(md)), -XEN_ESRCH);
    md.domid = DOMID_SELF;
    CHECK_EQ(memop(XENMEM_current_reservation | (1UL << MEMOP_EXTENT_SHIFT),
                   &md, sizeof(md)), -XEN_EINVAL);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_memory_op, XENMEM_current_reservation,
                       0x10000000ULL, 0, 0, 0), -XEN_EFAULT);
    CHECK_EQ(memop(XENMEM_exchange, &md, sizeof(md)), -XEN_ENOSYS);
    teardown();
}

/* Over max_pages the batch stops at the extent that failed. */
static void t_populate_max_pages(void)
{
    struct fix_config cfg = { .max_pages = FIX_NR_FRAMES + 2 };
    REQUIRE(fix_setup(&f, &cfg) == 0);
    xen_pfn_t list[4] = { 300, 301, 302, 303 };
    fix_put(&f, LIST_OFF, list, sizeof(list));
    struct xen_memory_reservation r = resv(4, 0);
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 2);
    teardown();
}

/* Preempted populate continues from the extents done. */
static void t_populate_preempted(void)
{
    setup_cfg(2, false);
    xen_pfn_t list[5] = { 400, 401, 402, 403, 404 };
    fix_put(&f, LIST_OFF, list, sizeof(list));
    struct xen_memory_reservation r = resv(5, 0);
    CHECK_EQ(memop(XENMEM_populate_physmap, &r, sizeof(r)), 5);
    fix_get(&f, LIST_OFF, list, sizeof(list));
    for (unsigned i = 0; i < 5; i++)
        CHECK_EQ(get_gpfn_from_mfn(f.m, list[i]), 400 + i);
    teardown();
}

/* vm_assist: the PV64 types, others -EINVAL, bad command -ENOSYS. */
static void t_vm_assist(void)
{
    setup();
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                       VMASST_TYPE_writable_pagetables, 0, 0, 0), 0);
    CHECK(vm_assist_enabled(f.d, VMASST_TYPE_writable_pagetables));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                       VMASST_TYPE_m2p_strict, 0, 0, 0), 0);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_disable,
                       VMASST_TYPE_writable_pagetables, 0, 0, 0), 0);
    CHECK(!vm_assist_enabled(f.d, VMASST_TYPE_writable_pagetables));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable, 6,
                       0, 0, 0), -XEN_EINVAL);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable, 64,
                       0, 0, 0), -XEN_EINVAL);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_vm_assist, 7,
                       VMASST_TYPE_writable_pagetables, 0, 0, 0), -XEN_ENOSYS);
    teardown();
}

static const struct test tests[] = {
    { "update_va_mapping maps a frame and flushes as asked", t_uva_maps },
    { "update_va_mapping without an L1, outside guest space or refused keeps state", t_uva_errors },
    { "update_va_mapping with a bad vCPU bitmap updates, then -EFAULT", t_uva_bad_bitmap },
    { "update_va_mapping_otherdomain checks the domain and privilege", t_uva_otherdomain },
    { "populate_physmap and decrease_reservation move frames and the M2P", t_populate_decrease },
    { "reservation requests that fail as a whole return start_extent", t_reservation_errors },
    { "populate_physmap stops at max_pages", t_populate_max_pages },
    { "a preempted populate_physmap continues from the extents done", t_populate_preempted },
    { "vm_assist accepts the PV64 types only", t_vm_assist },
};
TEST_MAIN(tests)
