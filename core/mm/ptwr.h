/*
 * core/mm/ptwr.h - private to the PV hypercall and fault files of core/mm
 * (mmu_update.c, mmuext.c, uva.c, memory.c, ptwr.c) and core/traps.c.
 *
 * Two groups:
 *   - helpers every PV memory hypercall shares: the foreign-domain lookup
 *     (Xen's get_pg_owner), guest range checks (Xen's __addr_ok / 
 *     guest_handle_okay) and guest vCPU bitmaps;
 *   - writable-pagetable internals.
 *
 * Rule: vCPU masks have one bit per vcpu_id (HV_MAX_VCPUS <= 64); flushes go
 * through pt_flush_vcpus (core/mm/pv_pt.h).
 */
#ifndef HVLAB_CORE_MM_PTWR_H
#define HVLAB_CORE_MM_PTWR_H

#include "core/mm/mm.h"
#include "core/pte.h"
#include "core/types.h"

struct domain;
struct vcpu;

_Static_assert(HV_MAX_VCPUS <= 64, "vCPU masks are one 64-bit word");

/* Xen-internal continuation encodings (not part of the public ABI). */
#define MMU_UPDATE_PREEMPTED    (~(~0U >> 1))
#define MEMOP_EXTENT_SHIFT      6
#define MEMOP_CMD_MASK          ((1U << MEMOP_EXTENT_SHIFT) - 1)

/* End of Xen's reserved range in a 64-bit PV address space. */
#define PV_HYPERVISOR_VIRT_START 0xFFFF800000000000ULL
#define PV_HYPERVISOR_VIRT_END   0xFFFF880000000000ULL

/* Xen's __addr_ok for 64-bit PV: below the canonical hole, or above Xen. */
static inline bool pv_addr_ok(uint64_t va)
{
    return va < (1ULL << 47) || va >= PV_HYPERVISOR_VIRT_END;
}
/* [va, va+len) lies entirely in guest-addressable space (guest_handle_okay). */
static inline bool pv_range_ok(uint64_t va, uint64_t len)
{
    if (len == 0)
        return true;
    uint64_t last = va + len - 1;
    if (last < va)
        return false;
    return (va >= PV_HYPERVISOR_VIRT_END) ||
           (last < (1ULL << 47));
}

/*
 * The page owner a hypercall names (Xen's get_pg_owner): DOMID_SELF is the
 * caller's domain; the caller's own id spelled out, DOMID_IO, DOMID_XEN and
 * unknown ids are -XEN_ESRCH; another domain needs a privileged caller
 * (-XEN_EPERM otherwise, XSM's default answer).  Returns the domain or NULL
 * with *rc set.
 */
struct domain *pv_get_pg_owner(struct vcpu *v, domid_t domid, long *rc);

/* Read a guest vCPU bitmap (one unsigned long per 64 vCPUs) at gva.
   0 or -XEN_EFAULT. */
int pv_vcpumask_from_guest(struct vcpu *v, uint64_t gva, uint64_t *mask);
/* Every vCPU of d, as a mask. */
uint64_t pv_all_vcpus(const struct domain *d);

/* ---- writable pagetables (ptwr.c) ----------------------------------------- */
/* Emulate the store in v->pending to the L1 page table `l1mfn` (mapped
   read-only at the faulting va), Xen's ptwr_emulated_update.  MMF_FIXED
   (pending.emulated set) or MMF_NOT_MINE (the fault is the guest's). */
enum mm_fault ptwr_emulate(struct vcpu *v, uint64_t va, mfn_t l1mfn);

/*
 * Unhook mode only (no-ops otherwise): the PV memory hypercalls run with the
 * domain's big lock held, as in Xen 3.0, and enter with every batch closed.
 * Recursive for the vCPU holding it (a fault inside the hypercall).
 */
void ptwr_hypercall_enter(struct vcpu *v);
void ptwr_hypercall_exit(struct vcpu *v);

/* Counters of the unhook machinery (tests, scenario reports). */
struct ptwr_stats {
    uint64_t nr_batches;            /* batches opened */
    uint64_t nr_flushes;            /* batches closed */
    uint64_t nr_emulated;           /* writes emulated by the unhook mode */
    uint64_t nr_revalidate_failures;
    bool open_active, open_inactive;
};
void ptwr_stats(struct domain *d, struct ptwr_stats *st);

#endif /* HVLAB_CORE_MM_PTWR_H */
