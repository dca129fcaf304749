/*
 * core/mm/p2m_foreign.c - foreign frames in a translated domain's p2m:
 * XENMEM_add_to_physmap_batch with XENMAPSPACE_gmfn_foreign, as a PVH/HVM
 * toolstack domain maps another domain's memory (p2m_map_foreign).
 *
 * Xen's semantics (common/memory.c, arch/x86/mm/p2m.c p2m_add_foreign), in
 * our own words:
 *   F1  XENMEM_add_to_physmap (one page) never maps foreign frames: space
 *       gmfn_foreign is -ENOSYS there.  hvlab models no other space
 *       but grant_table (core/grant gnttab_map_frame, with
 *       XENMAPIDX_grant_table_status for a v2 status frame) and shared_info
 *       (core/evtchn.c evtchn_physmap_shared_info); the others (gmfn,
 *       gmfn_range, dev_mmio) are -ENOSYS.
 *   F2  The batch as a whole: start_extent above size's 16 bits -EDOM; an
 *       unreadable argument -EFAULT; space gmfn_range -EOPNOTSUPP; domid
 *       (DOMID_SELF or any id) unknown -ESRCH; that domain must be
 *       translated (-EACCES) and the caller allowed to change it (XSM's
 *       default for add_to_physmap: itself, or a control domain; -EPERM).
 *       start_extent past size -EILSEQ (equal: 0 for an empty batch, else
 *       -EILSEQ).
 *   F3  Then each index i from start_extent: idxs[i] (a gfn of the foreign
 *       domain) goes to gpfns[i]; errs[i] receives that page's result.  An
 *       unreadable idx / gpfn or an unwritable errs stops the call with
 *       -EFAULT.  Between pages the call may be preempted and continues at
 *       the next one; it returns 0 when every page has its result.
 *   F4  One page (add_foreign): the foreign domain must exist and not be
 *       the caller (-ESRCH for DOMID_SELF or an unknown id, -EPERM for the
 *       caller's own id, as rcu_lock_remote_domain_by_id says); it must not
 *       be the target itself (-EINVAL); the target must be privileged over
 *       it (XSM map_gmfn_foreign: the same domain, or a control domain;
 *       -EPERM).  The gfn is looked up with P2M_ALLOC and a reference is
 *       taken (get_page_from_gfn; a paged gfn is asked from the pager and
 *       fails); anything but unshared, present RAM is -EINVAL.  What the
 *       target had at gpfn goes first: its own RAM is freed, an older
 *       foreign entry drops its reference.  The new entry is
 *       p2m_map_foreign (the M2P still names the owner's gfn) and keeps
 *       the reference, as Xen's p2m_entry_modify does.
 *   F5  That reference goes with the entry: p2m_remove_page, a later add at
 *       the same gpfn, p2m_teardown (p2m.c).  The frame audit counts it
 *       (audit.c).
 */
#include <stdint.h>

#include <xen/xen.h>
#include <xen/memory.h>

#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/guest_access.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/alloc.h"
#include "core/mm/p2m.h"
#include "core/mm/ptwr.h"           /* MEMOP_EXTENT_SHIFT */
#include "core/vcpu.h"

/* XSM's default for an action of src on target (XSM_TARGET). */
static bool xsm_target_ok(const struct domain *src, const struct domain *target)
{
    return src == target || src->is_privileged;
}

int p2m_add_foreign(struct domain *curr, struct domain *tdom, pfn_t fgfn,
                    pfn_t gpfn, uint16_t foreigndom)
{
    struct machine *m = tdom->m;

    /* F4: rcu_lock_remote_domain_by_id */
    struct domain *fdom = foreigndom == DOMID_SELF
                              ? NULL : machine_domain(m, foreigndom);
    if (!fdom)
        return -XEN_ESRCH;
    if (fdom == curr)
        return -XEN_EPERM;
    if (fdom == tdom)
        return -XEN_EINVAL;
    if (!xsm_target_ok(tdom, fdom))
        return -XEN_EPERM;
    if (!tdom->p2m || gpfn >> NPT_GFN_BITS)
        return -XEN_EINVAL;

    p2m_type_t t;
    mfn_t mfn = get_page_from_gfn(fdom, fgfn, &t, P2M_ALLOC);
    if (mfn == INVALID_MFN || !p2m_is_ram(t) || p2m_is_shared(t) ||
        p2m_is_hole(t)) {
        if (mfn != INVALID_MFN)
            put_page(m, mfn);
        return -XEN_EINVAL;
    }

    /* What was at gpfn goes first; the lock keeps anybody else from
       populating it before the foreign entry is in. */
    p2m_lock(tdom);
    int rc = physmap_evict(tdom, gpfn, INVALID_MFN);   /* alloc.c A7 */
    if (rc == 0)
        rc = p2m_set_entry(tdom, gpfn, mfn, p2m_map_foreign, p2m_access_rwx);
    p2m_unlock(tdom);
    if (rc)
        put_page(m, mfn);               /* F5: no entry keeps it */
    return rc;
}

/* F2's checks on the target domain. */
static long physmap_target(struct vcpu *v, domid_t domid, struct domain **d)
{
    *d = domid == DOMID_SELF ? v->d : machine_domain(v->d->m, domid);
    if (!*d)
        return -XEN_ESRCH;
    if (!(*d)->p2m)
        return -XEN_EACCES;             /* not translated */
    if (!xsm_target_ok(v->d, *d))
        return -XEN_EPERM;
    return 0;
}

long memory_add_to_physmap(struct vcpu *v, uint64_t start_extent, uint64_t arg)
{
    struct xen_add_to_physmap xatp;

    if (start_extent != (uint16_t)start_extent)
        return -XEN_EDOM;
    if (copy_from_guest(v, &xatp, arg, sizeof(xatp)))
        return -XEN_EFAULT;
    if (xatp.space == XENMAPSPACE_gmfn_foreign)
        return -XEN_ENOSYS;             /* F1: only the batch maps foreign */
    struct domain *d;
    long rc = physmap_target(v, xatp.domid, &d);
    if (rc == 0 && xatp.space == XENMAPSPACE_grant_table)
        return gnttab_map_frame(d, xatp.idx, xatp.gpfn);  /* core/grant */
    if (rc == 0 && xatp.space == XENMAPSPACE_shared_info)
        return evtchn_physmap_shared_info(d, xatp.idx, xatp.gpfn);
    return rc ? rc : -XEN_ENOSYS;       /* F1: no other space modelled */
}

long memory_add_to_physmap_batch(struct vcpu *v, uint64_t start_extent,
                                 uint64_t arg)
{
    struct xen_add_to_physmap_batch b;

    if (start_extent != (uint16_t)start_extent)
        return -XEN_EDOM;
    if (copy_from_guest(v, &b, arg, sizeof(b)))
        return -XEN_EFAULT;
    if (b.space == XENMAPSPACE_gmfn_range)
        return -XEN_EOPNOTSUPP;
    struct domain *d;
    long rc = physmap_target(v, b.domid, &d);
    if (rc)
        return rc;
    if (b.size < start_extent)
        return -XEN_EILSEQ;
    if (b.size == start_extent)
        return start_extent ? -XEN_EILSEQ : 0;
    if (b.space != XENMAPSPACE_gmfn_foreign)
        return -XEN_ENOSYS;             /* F1 */

    uint64_t idxs = (uint64_t)(uintptr_t)b.idxs.p;
    uint64_t gpfns = (uint64_t)(uintptr_t)b.gpfns.p;
    uint64_t errs = (uint64_t)(uintptr_t)b.errs.p;
    for (uint64_t i = start_extent; i < b.size; i++) {       /* F3 */
        if (i != start_extent && hypercall_preempt_check(v))
            return hypercall_create_continuation(
                v, __HYPERVISOR_memory_op,
                XENMEM_add_to_physmap_batch | (i << MEMOP_EXTENT_SHIFT), arg,
                0, 0, 0);
        xen_ulong_t idx;
        xen_pfn_t gpfn;
        if (copy_from_guest(v, &idx, idxs + i * sizeof(idx), sizeof(idx)) ||
            copy_from_guest(v, &gpfn, gpfns + i * sizeof(gpfn), sizeof(gpfn)))
            return -XEN_EFAULT;
        int err = p2m_add_foreign(v->d, d, idx, gpfn, b.u.foreign_domid);
        if (copy_to_guest(v, errs + i * sizeof(err), &err, sizeof(err)))
            return -XEN_EFAULT;
    }
    return 0;
}
