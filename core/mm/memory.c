/*
 * core/mm/memory.c - HYPERVISOR_memory_op (reservations) and
 * HYPERVISOR_vm_assist.
 *
 * Xen's semantics (common/memory.c do_memory_op, common/domain.c
 * do_vm_assist), in our own words:
 *   1. cmd = op | (start_extent << MEMOP_EXTENT_SHIFT).  For
 *      increase_reservation, decrease_reservation and populate_physmap the
 *      argument is a struct xen_memory_reservation whose extent_start is a
 *      guest address; the call returns the number of extents done (counted
 *      from 0 across continuations).  Errors of the request as a whole -
 *      unreadable, too many extents to encode, start past the end, unknown
 *      domain, another domain without privilege, an order above the limit -
 *      return start_extent, not an errno, exactly as Xen does.
 *   2. Each extent either completes or stops the batch where it is: a
 *      failed read or write of extent_start, an allocation failure (over
 *      max_pages, machine out of frames), a frame that is not the domain's
 *      (decrease).  The return value tells the guest how far it got.
 *   3. populate_physmap (PV): extent_start[i] holds a pfn in, the mfn out;
 *      the M2P maps the new frame to the pfn.  increase_reservation returns
 *      mfns and sets no M2P entry.  hvlab's heap hands out single frames, so
 *      an extent of order > 0 cannot be allocated (it stops the batch as an
 *      allocation failure would); decrease_reservation accepts any order up
 *      to the limit (2^order consecutive frames).
 *   4. decrease_reservation (PV, not translated): extent_start[i] is an mfn
 *      of the domain; its allocation reference is dropped (the frame is
 *      freed when its last reference goes, mappings may still hold it).
 *      A Xen page shared with the domain (a grant-table frame,
 *      shared_info) is given back the same way and counts as done, as in
 *      Xen; its last put only detaches it while its Xen user still uses
 *      it (core/mm/alloc.c A8), and the guest can never map it again.
 *   5. Between extents hypercall_preempt_check() may stop the call; it
 *      continues with start_extent = extents done.
 *   6. current_reservation / maximum_reservation / maximum_gpfn take a
 *      domid (struct xen_memory_domain): tot_pages, max_pages, the highest
 *      pfn given.  start_extent must be 0 (-XEN_EINVAL); unreadable
 *      -XEN_EFAULT; unknown domain -XEN_ESRCH; another domain without
 *      privilege -XEN_EPERM.  Other ops: -XEN_ENOSYS.
 *   7. vm_assist(cmd, type): the types Xen accepts for 64-bit PV (4gb
 *      segments and notify, writable_pagetables, pae_extended_cr3,
 *      architectural_iopl, runstate_update_flag, m2p_strict) or for HVM
 *      (runstate_update_flag); any other type -XEN_EINVAL; a command other
 *      than enable/disable -XEN_ENOSYS.
 */
#include <limits.h>
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/guest_access.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/mem_paging.h"
#include "core/mm/mem_sharing.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/ptwr.h"
#include "core/vcpu.h"
#include "inject/inject.h"

#define DOMU_MAX_ORDER  9       /* Xen's default limits on extent_order */
#define PRIV_MAX_ORDER  12

#define PV64_VM_ASSIST_MASK ((1ULL << VMASST_TYPE_4gb_segments) |        \
                             (1ULL << VMASST_TYPE_4gb_segments_notify) | \
                             (1ULL << VMASST_TYPE_writable_pagetables) | \
                             (1ULL << VMASST_TYPE_pae_extended_cr3) |    \
                             (1ULL << VMASST_TYPE_architectural_iopl) |  \
                             (1ULL << VMASST_TYPE_runstate_update_flag) | \
                             (1ULL << VMASST_TYPE_m2p_strict))
#define HVM_VM_ASSIST_MASK  (1ULL << VMASST_TYPE_runstate_update_flag)

struct memop_args {
    struct domain *d;
    uint64_t extent_list;       /* guest VA of xen_pfn_t[] */
    uint64_t nr_extents;
    unsigned extent_order;
    uint64_t nr_done;
    bool preempted;
};

/* Xen's rcu_lock_domain_by_any_id: DOMID_SELF or any existing id. */
static struct domain *domain_by_any_id(struct vcpu *v, domid_t domid)
{
    if (domid == DOMID_SELF)
        return v->d;
    return machine_domain(v->d->m, domid);
}

static unsigned max_order(const struct domain *curr)
{
    return curr->is_privileged ? PRIV_MAX_ORDER : DOMU_MAX_ORDER;
}

static uint64_t extent_va(const struct memop_args *a, uint64_t i)
{
    return a->extent_list + i * sizeof(xen_pfn_t);
}

/* Rules 3 and 5.  `set_m2p`: populate_physmap (true) or increase (false). */
static void allocate_extents(struct vcpu *v, struct memop_args *a,
                             bool set_m2p)
{
    uint64_t i;

    if (a->extent_order > max_order(v->d))
        return;
    for (i = a->nr_done; i < a->nr_extents; i++) {
        xen_pfn_t gpfn = 0, out;
        mfn_t mfn;

        if (i != a->nr_done && hypercall_preempt_check(v)) {
            a->preempted = true;
            break;
        }
        if (set_m2p && copy_from_guest(v, &gpfn, extent_va(a, i),
                                       sizeof(gpfn)))
            break;
        if (a->extent_order != 0)
            break;                      /* no contiguous extents (rule 3) */
        if (set_m2p) {
            /* Translated (HVM): the p2m maps gpfn; M2P kept by it. */
            if (a->d->p2m ? p2m_populate(a->d, gpfn, &mfn)
                          : mm_populate(a->d, gpfn, 1, &mfn))
                break;
        } else if (alloc_domheap_page(a->d, &mfn)) {
            break;
        }
        out = mfn;
        /* inject: a window; fail = the write-back faults. */
        if (INJ_FAIL(memory_populate_before_copy_out, v, 0) ||
            (!(set_m2p && a->d->p2m) &&     /* translated: no mfn out */
             copy_to_guest(v, extent_va(a, i), &out, sizeof(out))))
            break;
    }
    a->nr_done = i;
}

/* Rule 4: one frame back from the guest.  0 or -XEN_E*.  No special case
   for Xen pages: alloc.c (A8) keeps them for their Xen user. */
int guest_remove_page(struct domain *d, mfn_t mfn)
{
    struct machine *m = d->m;

    if (d->p2m)                         /* translated: mfn is a gfn */
        return p2m_remove_page(d, mfn);
    if (!mfn_valid(m, mfn))
        return -XEN_EINVAL;
    if (!get_page(m, mfn, d))
        return -XEN_ENXIO;
    INJ_POINT(memory_decrease_before_put, current);  /* inject: a window */
    put_page_alloc_ref(m, mfn);
    put_page(m, mfn);
    return 0;
}

static void decrease_reservation(struct vcpu *v, struct memop_args *a)
{
    uint64_t i;

    if (a->extent_order > max_order(v->d))
        return;
    for (i = a->nr_done; i < a->nr_extents; i++) {
        xen_pfn_t gmfn;

        if (i != a->nr_done && hypercall_preempt_check(v)) {
            a->preempted = true;
            break;
        }
        if (copy_from_guest(v, &gmfn, extent_va(a, i), sizeof(gmfn)))
            break;
        bool failed = false;
        for (uint64_t j = 0; j < (1ULL << a->extent_order) && !failed; j++)
            failed = guest_remove_page(a->d, gmfn + j) != 0;
        if (failed)
            break;
    }
    a->nr_done = i;
}

static long reservation_op(struct vcpu *v, unsigned op, uint64_t start_extent,
                           uint64_t arg)
{
    struct xen_memory_reservation r;
    struct memop_args a = { 0 };

    if (copy_from_guest(v, &r, arg, sizeof(r)))
        return (long)start_extent;
    if (r.nr_extents > (UINT_MAX >> MEMOP_EXTENT_SHIFT))
        return (long)start_extent;
    if (start_extent >= r.nr_extents)
        return (long)start_extent;
    a.d = domain_by_any_id(v, r.domid);
    if (a.d == NULL || (a.d != v->d && !v->d->is_privileged))
        return (long)start_extent;

    a.extent_list = (uint64_t)(uintptr_t)r.extent_start.p;
    a.nr_extents = r.nr_extents;
    a.extent_order = r.extent_order;
    a.nr_done = start_extent;

    switch (op) {
    case XENMEM_increase_reservation:
        allocate_extents(v, &a, false);
        break;
    case XENMEM_decrease_reservation:
        decrease_reservation(v, &a);
        break;
    default:
        allocate_extents(v, &a, true);
        break;
    }

    if (a.preempted)
        return hypercall_create_continuation(
            v, __HYPERVISOR_memory_op,
            op | (a.nr_done << MEMOP_EXTENT_SHIFT), arg, 0, 0, 0);
    return (long)a.nr_done;
}

static long stat_op(struct vcpu *v, unsigned op, uint64_t arg)
{
    struct xen_memory_domain md;
    struct domain *d;

    if (copy_from_guest(v, &md, arg, sizeof(md)))
        return -XEN_EFAULT;
    d = domain_by_any_id(v, md.domid);
    if (d == NULL)
        return -XEN_ESRCH;
    if (d != v->d && !v->d->is_privileged)
        return -XEN_EPERM;

    switch (op) {
    case XENMEM_current_reservation:
        return (long)atomic_load(&d->tot_pages);
    case XENMEM_maximum_reservation:
        return (long)d->max_pages;
    default:
        return (long)d->max_gpfn;
    }
}

long do_memory_op(struct vcpu *v, unsigned long cmd, uint64_t arg)
{
    uint64_t start_extent = cmd >> MEMOP_EXTENT_SHIFT;
    unsigned op = (unsigned)(cmd & MEMOP_CMD_MASK);

    switch (op) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return reservation_op(v, op, start_extent, arg);

    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn:
        if (start_extent)
            return -XEN_EINVAL;
        return stat_op(v, op, arg);

    case XENMEM_paging_op:              /* core/mm/p2m_paging.c */
        return start_extent ? -XEN_EINVAL : mem_paging_memop(v, arg);
    case XENMEM_sharing_op:             /* core/mm/p2m_sharing.c */
        return start_extent ? -XEN_EINVAL : mem_sharing_memop(v, arg);
    case XENMEM_add_to_physmap:         /* core/mm/p2m_foreign.c */
        return memory_add_to_physmap(v, start_extent, arg);
    case XENMEM_add_to_physmap_batch:
        return memory_add_to_physmap_batch(v, start_extent, arg);
    }
    return -XEN_ENOSYS;
}

int memory_set_vm_assist(struct domain *d, uint64_t bits)
{
    uint64_t valid = is_pv_domain(d) ? PV64_VM_ASSIST_MASK : HVM_VM_ASSIST_MASK;
    if (bits & ~valid)
        return -XEN_EINVAL;
    __atomic_store_n(&d->vm_assist, (unsigned long)bits, __ATOMIC_SEQ_CST);
    return 0;
}

long do_vm_assist(struct vcpu *v, unsigned cmd, unsigned type)
{
    struct domain *d = v->d;
    uint64_t valid = is_pv_domain(d) ? PV64_VM_ASSIST_MASK : HVM_VM_ASSIST_MASK;

    if (type >= 64 || !((valid >> type) & 1))
        return -XEN_EINVAL;

    switch (cmd) {
    case VMASST_CMD_enable:
        __atomic_fetch_or(&d->vm_assist, 1UL << type, __ATOMIC_SEQ_CST);
        return 0;
    case VMASST_CMD_disable:
        __atomic_fetch_and(&d->vm_assist, ~(1UL << type), __ATOMIC_SEQ_CST);
        return 0;
    }
    return -XEN_ENOSYS;
}
