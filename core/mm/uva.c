/*
 * core/mm/uva.c - HYPERVISOR_update_va_mapping(va, val, flags) and
 * HYPERVISOR_update_va_mapping_otherdomain(va, val, flags, domid).
 *
 * Xen's semantics (XEN-NOTES 2.6, __do_update_va_mapping), in our own words:
 *   1. The entry to change is the L1 entry that maps `va` in the caller's
 *      current address space, found by walking the caller's own tables (the
 *      root its MMU uses now): va must be a guest address, and the L4, L3 and
 *      L2 entries on the way must be present and not superpages.  Anything
 *      else is -XEN_EINVAL.
 *   2. That L1 frame must belong to the caller, be lockable (a validated
 *      table in use) and be typed L1, else -XEN_EINVAL.  The update goes
 *      through mod_pt_entry (path PTW_UVA), whose errors are returned as is.
 *   3. _otherdomain names the owner of the mapped frame (FD): unknown is
 *      -XEN_ESRCH, another domain needs a privileged caller (-XEN_EPERM).
 *   4. Only after a successful update, flags & UVMF_FLUSHTYPE_MASK choose
 *      UVMF_NONE, UVMF_TLB_FLUSH (everything) or UVMF_INVLPG (this va); the
 *      rest of flags is UVMF_LOCAL (0), UVMF_ALL, or the guest address of a
 *      vCPU bitmap (UVMF_MULTI).  An unreadable bitmap returns -XEN_EFAULT
 *      after the update was made, as Xen does.
 *   5. Bug zoo (docs/bugzoo.md, off by default): mm.xsa279 flushes after a
 *      failed update too, as Xen did before XSA-279, and a UVMF_INVLPG of a
 *      non-canonical va is then a fatal #GP in the hypervisor (abort).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/ptwr.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "inject/inject.h"

/* The root v's MMU walks now (kernel root before the first CR3 load). */
static mfn_t current_root(const struct vcpu *v)
{
    if (v->cr3 != INVALID_MFN)
        return v->cr3;
    return v->in_kernel || v->guest_table_user == INVALID_MFN
           ? v->guest_table : v->guest_table_user;
}

/* Find the L1 table and slot that map va (rule 1).  false if none. */
static bool find_guest_l1e(struct vcpu *v, uint64_t va, mfn_t *l1mfn,
                           unsigned *slot)
{
    struct machine *m = v->d->m;
    mfn_t table = current_root(v);

    if (!pv_addr_ok(va) || !mfn_valid(m, table))
        return false;
    for (unsigned level = 4; level >= 2; level--) {
        pte_t e = pt_read_entry(m, table, pt_index(va, level));
        if ((e & (_PAGE_PRESENT | _PAGE_PSE)) != _PAGE_PRESENT)
            return false;
        table = pte_mfn(e);
        if (!mfn_valid(m, table))
            return false;
    }
    *l1mfn = table;
    *slot = pt_index(va, 1);
    return true;
}

/* mm.xsa279: Xen flushes one address with INVPCID on PCID hardware, which
   raises #GP[0] for a non-canonical address: an unhandled fault in the
   hypervisor, and the host dies (Xen's "FATAL TRAP"). */
static _Noreturn void xsa279_invpcid_gp(struct vcpu *v, uint64_t va)
{
    fprintf(stderr, "hvlab: FATAL TRAP: #GP[0] in the hypervisor: INVPCID "
            "of non-canonical address %#llx (update_va_mapping UVMF_INVLPG "
            "from d%u after a failed update; mm.xsa279, XSA-279)\n",
            (unsigned long long)va, (unsigned)v->d->domid);
    fflush(stderr);
    abort();
}

static long uva_flush(struct vcpu *v, uint64_t va, uint64_t flags)
{
    struct domain *d = v->d;
    uint64_t where = flags & ~(uint64_t)UVMF_FLUSHTYPE_MASK;
    uint64_t mask;
    enum tlb_flush_scope scope;
    uint64_t page;

    switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH:
        page = MMU_FLUSH_ALL_VA;
        break;
    case UVMF_INVLPG:
        page = va;
        break;
    default:
        return 0;
    }

    if (where == UVMF_LOCAL) {
        mask = 1ULL << v->vcpu_id;
        scope = TLBF_LOCAL;
    } else if (where == UVMF_ALL) {
        mask = pv_all_vcpus(d);
        scope = TLBF_ALL;
    } else {
        if (pv_vcpumask_from_guest(v, where, &mask))
            return -XEN_EFAULT;
        scope = TLBF_MULTI;
    }
    /* mm.xsa279 only: an unaudited va reaches the flush (uva_failed); a
       flush that goes to some vCPU executes INVPCID on it. */
    if (d->m->opt.mm_xsa279 && page != MMU_FLUSH_ALL_VA && mask &&
        !va_is_canonical(page))
        xsa279_invpcid_gp(v, va);
    pt_flush_vcpus(d, v, mask, page, scope, TLBR_UVA);
    return 0;
}

/* XSA-279 (mm.xsa279, off by default): before the fix Xen went on to the
   UVMF flush when the update had failed, with a va nothing had audited;
   the fix returns first (the default here).  rc is returned as is. */
static long uva_failed(struct vcpu *v, uint64_t va, uint64_t flags, long rc)
{
    if (v->d->m->opt.mm_xsa279)
        (void)uva_flush(v, va, flags);
    return rc;
}

static long update_va_mapping(struct vcpu *v, uint64_t va, uint64_t val,
                              uint64_t flags, struct domain *pg_owner)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    mfn_t l1mfn;
    unsigned slot;
    long rc;

    if (pg_owner != d && !d->is_privileged)
        return -XEN_EPERM;

    if (!find_guest_l1e(v, va, &l1mfn, &slot) || !get_page(m, l1mfn, d))
        return uva_failed(v, va, flags, -XEN_EINVAL);     /* XSA-279 */
    if (!page_lock(m, l1mfn)) {
        put_page(m, l1mfn);
        return uva_failed(v, va, flags, -XEN_EINVAL);     /* XSA-279 */
    }
    if ((atomic_load(&mfn_to_page(m, l1mfn)->type_info) & PGT_type_mask) !=
        PGT_l1_page_table) {
        page_unlock(m, l1mfn);
        put_page(m, l1mfn);
        return uva_failed(v, va, flags, -XEN_EINVAL);     /* XSA-279 */
    }

    rc = mod_pt_entry(v, l1mfn, 1, slot, val, false, pg_owner, PTW_UVA);

    page_unlock(m, l1mfn);
    put_page(m, l1mfn);

    /* No flush after a failure: nothing changed, and va is unchecked. */
    if (rc)                                             /* XSA-279 */
        return uva_failed(v, va, flags, rc == -HV_EINTR ? -HV_ERESTART : rc);
    INJ_POINT(uva_before_flush, v);             /* inject: a window */
    return uva_flush(v, va, flags);
}

long do_update_va_mapping(struct vcpu *v, uint64_t va, uint64_t val,
                          uint64_t flags)
{
    long rc = update_va_mapping(v, va, val, flags, v->d);

    if (rc == -HV_ERESTART)
        rc = hypercall_create_continuation(v, __HYPERVISOR_update_va_mapping,
                                           va, val, flags, 0, 0);
    return rc;
}

long do_update_va_mapping_otherdomain(struct vcpu *v, uint64_t va, uint64_t val,
                                      uint64_t flags, domid_t domid)
{
    long rc;
    struct domain *pg_owner = pv_get_pg_owner(v, domid, &rc);

    if (pg_owner == NULL)
        return rc;
    rc = update_va_mapping(v, va, val, flags, pg_owner);
    if (rc == -HV_ERESTART)
        rc = hypercall_create_continuation(
            v, __HYPERVISOR_update_va_mapping_otherdomain, va, val, flags,
            domid, 0);
    return rc;
}
