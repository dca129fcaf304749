/*
 * core/mm/mmuext.c - HYPERVISOR_mmuext_op(ops, count, done, foreigndom).
 *
 * Xen's semantics (XEN-NOTES 1.4 and 2.5, do_mmuext_op / new_guest_cr3), in
 * our own words:
 *   1. Ops are struct mmuext_op read from guest memory one at a time; a bad
 *      pointer stops the batch with -XEN_EFAULT; `done` accumulates over
 *      continuations exactly as for mmu_update.
 *   2. foreigndom names the page owner (DOMID_SELF by default): unknown is
 *      -XEN_ESRCH, not PV is -XEN_EINVAL, another domain without privilege is
 *      -XEN_EPERM - all before any op runs.  HVM callers may only pin/unpin
 *      (-XEN_EOPNOTSUPP otherwise).
 *   3. PIN_Lx_TABLE: general ref + preemptible type ref + PGT_pinned; a frame
 *      already pinned is -XEN_EINVAL and both new refs are dropped.  The pin
 *      owns one general and one type ref.  UNPIN_TABLE: not pinned is
 *      -XEN_EINVAL; the put is preemptible, an interrupted one is parked in
 *      old_guest_table and finished before the next op.
 *   4. NEW_BASEPTR / NEW_USER_BASEPTR (own domain only, -XEN_EPERM): take the
 *      new root's general + L4 type ref, switch (pt_set_baseptr reloads CR3
 *      when that root is in use), drop the old root's refs (parked when
 *      preempted).  A frame that is not a valid L4 is -XEN_EINVAL (or the
 *      validator's error); USER 0 clears the user root.
 *   5. TLB_FLUSH_* / INVLPG_* (own domain only): LOCAL is this vCPU, MULTI
 *      a guest vCPU bitmap (unreadable: -XEN_EINVAL), ALL every vCPU.
 *      INVLPG of an address outside guest space is quietly ignored.
 *   6. COPY_PAGE / CLEAR_PAGE: frames of FD; the destination takes a
 *      writable type ref for the copy (so a page table is refused,
 *      -XEN_EINVAL).
 *   7. SET_LDT: page-aligned guest address, at most 8192 entries; base and
 *      entries are recorded (no segmentation model beyond that).
 *   8. FLUSH_CACHE(_GLOBAL): -XEN_EACCES unless the domain may flush caches
 *      (privileged); MARK/UNMARK_SUPER: -XEN_EOPNOTSUPP; others -XEN_ENOSYS.
 */
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>

#include "core/domain.h"
#include "core/guest_access.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/paging.h"
#include "core/mm/ptwr.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "inject/inject.h"

_Static_assert(sizeof(struct mmuext_op) == 24, "mmuext_op layout (64-bit)");

#define LDT_MAX_ENTRIES 8192

uint64_t pv_all_vcpus(const struct domain *d)
{
    unsigned n = d->nr_vcpus;
    return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

int pv_vcpumask_from_guest(struct vcpu *v, uint64_t gva, uint64_t *mask)
{
    /* One unsigned long per 64 vCPUs; only words covering real vCPUs are
       read (HV_MAX_VCPUS <= 64: exactly one word when there are vCPUs). */
    uint64_t word = 0;

    *mask = 0;
    if (v->d->nr_vcpus == 0)
        return 0;
    if (copy_from_guest(v, &word, gva, sizeof(word)))
        return -XEN_EFAULT;
    *mask = word & pv_all_vcpus(v->d);
    return 0;
}

/* Frame `mfn` of pg_owner with a general ref; false if not its frame. */
static bool get_owned_page(struct domain *pg_owner, xen_pfn_t mfn)
{
    return mfn_valid(pg_owner->m, mfn) && get_page(pg_owner->m, mfn, pg_owner);
}

static long pin_table(struct vcpu *v, struct domain *pg_owner, xen_pfn_t mfn,
                      unsigned level)
{
    struct machine *m = pg_owner->m;
    long rc;

    if (!get_owned_page(pg_owner, mfn))
        return -XEN_EINVAL;

    rc = get_page_type_preemptible(m, mfn, pgt_of_level(level));
    if (rc) {
        if (rc == -HV_EINTR)
            rc = -HV_ERESTART;
        put_page(m, mfn);
        return rc;
    }
    INJ_POINT(mmuext_pin_after_get_type, v);    /* inject: a window */

    rc = page_set_pinned(m, mfn);
    if (rc) {
        /* Already pinned: the existing pin keeps the type count above the
           one we drop here, so this put never devalidates. */
        put_page_and_type(m, mfn);
        return -XEN_EINVAL;
    }
    paging_mark_frame(m, mfn, LD_SRC_PT);       /* log-dirty: pinned */

    /* A foreign pinner can race the owner's destruction: undo at once. */
    if (pg_owner != v->d && atomic_load(&pg_owner->is_dying) &&
        page_clear_pinned(m, mfn) == 0)
        put_page_and_type(m, mfn);
    return 0;
}

static long unpin_table(struct vcpu *v, struct domain *pg_owner, xen_pfn_t mfn)
{
    struct machine *m = pg_owner->m;
    long rc;

    if (!get_owned_page(pg_owner, mfn))
        return -XEN_EINVAL;
    if (page_clear_pinned(m, mfn) != 0) {
        put_page(m, mfn);
        return -XEN_EINVAL;
    }
    paging_mark_frame(m, mfn, LD_SRC_PT);       /* log-dirty: unpinned */
    /* Drop the pin's refs; an interrupted put is finished before the next
       op (the pin's general ref stays with old_guest_table meanwhile). */
    rc = put_page_and_type_preemptible(m, mfn);
    if (rc == -HV_ERESTART || rc == -HV_EINTR) {
        v->old_guest_table = mfn;
        v->old_guest_table_partial = (rc == -HV_ERESTART);
        HV_AUDIT_MARK(m, HV_MARK_MM);                   /* audit.h A2 */
        rc = 0;
    }
    put_page(m, mfn);
    return rc;
}

/* Drop a root we switched away from; parks an interrupted put. */
static long drop_old_root(struct vcpu *v, mfn_t old)
{
    if (old == INVALID_MFN || old == 0)
        return 0;
    long rc = put_page_and_type_preemptible(v->d->m, old);
    if (rc == -HV_ERESTART || rc == -HV_EINTR) {
        v->old_guest_table = old;
        v->old_guest_table_partial = (rc == -HV_ERESTART);
        HV_AUDIT_MARK(v->d->m, HV_MARK_MM);             /* audit.h A2 */
        return -HV_ERESTART;
    }
    return rc;
}

/* Take a general + L4 type ref on a new root of v's domain. */
static long get_root(struct vcpu *v, mfn_t mfn)
{
    struct machine *m = v->d->m;
    long rc;

    if (!mfn_valid(m, mfn) || !get_page(m, mfn, v->d))
        return -XEN_EINVAL;
    rc = get_page_type_preemptible(m, mfn, PGT_l4_page_table);
    if (rc) {
        put_page(m, mfn);
        if (rc == -HV_EINTR)
            rc = -HV_ERESTART;
    }
    return rc;
}

/* Xen's new_guest_cr3 for a 64-bit PV vCPU. */
static long new_baseptr(struct vcpu *v, mfn_t mfn)
{
    long rc = put_old_guest_table(v);
    if (rc)
        return rc;

    /* Re-issued after a preempted put of the old root: already switched. */
    if (v->guest_table == mfn) {
        if (v->in_kernel)
            mmu_load_cr3(v, mfn);
        return 0;
    }

    rc = get_root(v, mfn);
    if (rc)
        return rc;
    mfn_t old = pt_set_baseptr(v, false, mfn);
    INJ_POINT(mmuext_baseptr_before_put_old, v);    /* inject: a window */
    return drop_old_root(v, old);
}

static long new_user_baseptr(struct vcpu *v, xen_pfn_t mfn)
{
    mfn_t cur = v->guest_table_user;
    mfn_t want = mfn == 0 ? INVALID_MFN : mfn;
    long rc;

    if (cur == want || (cur == 0 && want == INVALID_MFN))
        return 0;
    if (want != INVALID_MFN) {
        rc = get_root(v, want);
        if (rc)
            return rc;
    }
    mfn_t old = pt_set_baseptr(v, true, want);
    return drop_old_root(v, old);
}

static long flush_op(struct vcpu *v, const struct mmuext_op *op)
{
    struct domain *d = v->d;
    uint64_t va = op->arg1.linear_addr;
    uint64_t mask;

    switch (op->cmd) {
    case MMUEXT_TLB_FLUSH_LOCAL:
        pt_flush_vcpus(d, v, 1ULL << v->vcpu_id, MMU_FLUSH_ALL_VA, TLBF_LOCAL,
                       TLBR_MMUEXT);
        return 0;
    case MMUEXT_INVLPG_LOCAL:
        if (pv_addr_ok(va))
            pt_flush_vcpus(d, v, 1ULL << v->vcpu_id, va, TLBF_LOCAL,
                           TLBR_MMUEXT);
        return 0;
    case MMUEXT_TLB_FLUSH_MULTI:
    case MMUEXT_INVLPG_MULTI:
        if (pv_vcpumask_from_guest(v, (uint64_t)(uintptr_t)op->arg2.vcpumask.p,
                                   &mask))
            return -XEN_EINVAL;
        if (op->cmd == MMUEXT_TLB_FLUSH_MULTI)
            pt_flush_vcpus(d, v, mask, MMU_FLUSH_ALL_VA, TLBF_MULTI,
                           TLBR_MMUEXT);
        else if (pv_addr_ok(va))
            pt_flush_vcpus(d, v, mask, va, TLBF_MULTI, TLBR_MMUEXT);
        return 0;
    case MMUEXT_TLB_FLUSH_ALL:
        pt_flush_vcpus(d, v, pv_all_vcpus(d), MMU_FLUSH_ALL_VA, TLBF_ALL,
                       TLBR_MMUEXT);
        return 0;
    case MMUEXT_INVLPG_ALL:
        if (pv_addr_ok(va))
            pt_flush_vcpus(d, v, pv_all_vcpus(d), va, TLBF_ALL, TLBR_MMUEXT);
        return 0;
    }
    return -XEN_ENOSYS;
}

static long set_ldt(struct vcpu *v, const struct mmuext_op *op)
{
    unsigned ents = op->arg2.nr_ents;
    uint64_t base = ents ? op->arg1.linear_addr : 0;

    if (ents > LDT_MAX_ENTRIES ||
        (ents && ((base & PAGE_OFFSET_MASK) || !pv_addr_ok(base))))
        return -XEN_EINVAL;
    v->ldt_base = base;
    v->ldt_ents = ents;
    return 0;
}

static long clear_page(struct domain *pg_owner, xen_pfn_t mfn)
{
    struct machine *m = pg_owner->m;

    if (!get_owned_page(pg_owner, mfn))
        return -XEN_EINVAL;
    if (get_page_type(m, mfn, PGT_writable_page)) {
        put_page(m, mfn);
        return -XEN_EINVAL;
    }
    memset(mfn_to_virt_w(m, mfn), 0, PAGE_SIZE);
    paging_mark_frame(m, mfn, LD_SRC_COPY);     /* log-dirty */
    put_page_and_type(m, mfn);
    return 0;
}

static long copy_page(struct domain *pg_owner, xen_pfn_t dst, xen_pfn_t src)
{
    struct machine *m = pg_owner->m;

    if (!get_owned_page(pg_owner, src))
        return -XEN_EINVAL;
    if (!get_owned_page(pg_owner, dst)) {
        put_page(m, src);
        return -XEN_EINVAL;
    }
    if (get_page_type(m, dst, PGT_writable_page)) {
        put_page(m, dst);
        put_page(m, src);
        return -XEN_EINVAL;
    }
    if (dst != src)
        memcpy(mfn_to_virt_w(m, dst), mfn_to_virt(m, src), PAGE_SIZE);
    paging_mark_frame(m, dst, LD_SRC_COPY);     /* log-dirty: the destination */
    put_page_and_type(m, dst);
    put_page(m, src);
    return 0;
}

static long one_op(struct vcpu *v, struct domain *pg_owner,
                   const struct mmuext_op *op)
{
    struct domain *d = v->d;

    if (!is_pv_domain(d) && op->cmd > MMUEXT_UNPIN_TABLE)
        return -XEN_EOPNOTSUPP;

    switch (op->cmd) {
    case MMUEXT_PIN_L1_TABLE:
    case MMUEXT_PIN_L2_TABLE:
    case MMUEXT_PIN_L3_TABLE:
    case MMUEXT_PIN_L4_TABLE:
        return pin_table(v, pg_owner, op->arg1.mfn,
                         op->cmd - MMUEXT_PIN_L1_TABLE + 1);
    case MMUEXT_UNPIN_TABLE:
        return unpin_table(v, pg_owner, op->arg1.mfn);

    case MMUEXT_NEW_BASEPTR:
        return d != pg_owner ? -XEN_EPERM : new_baseptr(v, op->arg1.mfn);
    case MMUEXT_NEW_USER_BASEPTR:
        return d != pg_owner ? -XEN_EPERM : new_user_baseptr(v, op->arg1.mfn);

    case MMUEXT_TLB_FLUSH_LOCAL:
    case MMUEXT_INVLPG_LOCAL:
    case MMUEXT_TLB_FLUSH_MULTI:
    case MMUEXT_INVLPG_MULTI:
    case MMUEXT_TLB_FLUSH_ALL:
    case MMUEXT_INVLPG_ALL:
        return d != pg_owner ? -XEN_EPERM : flush_op(v, op);

    case MMUEXT_FLUSH_CACHE:
    case MMUEXT_FLUSH_CACHE_GLOBAL:
        if (d != pg_owner)
            return -XEN_EPERM;
        /* No cache model: permitted flushes have nothing to do. */
        return d->is_privileged ? 0 : -XEN_EACCES;

    case MMUEXT_SET_LDT:
        return d != pg_owner ? -XEN_EPERM : set_ldt(v, op);

    case MMUEXT_CLEAR_PAGE:
        return clear_page(pg_owner, op->arg1.mfn);
    case MMUEXT_COPY_PAGE:
        return copy_page(pg_owner, op->arg1.mfn, op->arg2.src_mfn);

    case MMUEXT_MARK_SUPER:
    case MMUEXT_UNMARK_SUPER:
        return -XEN_EOPNOTSUPP;
    }
    return -XEN_ENOSYS;
}

long do_mmuext_op(struct vcpu *v, uint64_t uops, unsigned count,
                  uint64_t pdone, unsigned foreigndom)
{
    struct domain *d = v->d, *pg_owner;
    unsigned i, done = 0;
    long rc = put_old_guest_table(v);

    if (rc) {
        if (rc == -HV_ERESTART)
            rc = hypercall_create_continuation(v, __HYPERVISOR_mmuext_op,
                                               uops, count, pdone,
                                               foreigndom, 0);
        return rc;
    }

    if (count == MMU_UPDATE_PREEMPTED && uops == 0)
        return (int)foreigndom;

    if (count & MMU_UPDATE_PREEMPTED) {
        count &= ~MMU_UPDATE_PREEMPTED;
        if (pdone != 0)
            (void)copy_from_guest(v, &done, pdone, sizeof(done));
    }

    if (!pv_range_ok(uops, (uint64_t)count * sizeof(struct mmuext_op)))
        return -XEN_EFAULT;

    pg_owner = pv_get_pg_owner(v, (domid_t)foreigndom, &rc);
    if (pg_owner == NULL)
        return rc;
    if (!is_pv_domain(pg_owner))
        return -XEN_EINVAL;
    if (pg_owner != d && !d->is_privileged)
        return -XEN_EPERM;

    rc = 0;
    for (i = 0; i < count; i++) {
        struct mmuext_op op;

        if (v->old_guest_table != INVALID_MFN ||
            (i && hypercall_preempt_check(v))) {
            rc = -HV_ERESTART;
            break;
        }
        if (copy_from_guest(v, &op, uops + (uint64_t)i * sizeof(op),
                            sizeof(op))) {
            rc = -XEN_EFAULT;
            break;
        }
        rc = one_op(v, pg_owner, &op);
        if (rc)
            break;
    }

    if (rc == -HV_ERESTART) {
        rc = hypercall_create_continuation(
            v, __HYPERVISOR_mmuext_op,
            uops + (uint64_t)i * sizeof(struct mmuext_op),
            (count - i) | MMU_UPDATE_PREEMPTED, pdone, foreigndom, 0);
    } else if (v->old_guest_table != INVALID_MFN) {
        rc = hypercall_create_continuation(v, __HYPERVISOR_mmuext_op, 0,
                                           MMU_UPDATE_PREEMPTED, 0,
                                           (uint32_t)rc, 0);
    }

    if (pdone != 0) {
        done += i;
        (void)copy_to_guest(v, pdone, &done, sizeof(done));
    }
    return rc;
}
