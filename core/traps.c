/*
 * core/traps.c - where a vCPU's page faults enter the hypervisor.
 *
 * The MMU (core/mmu.c) counts the fault, passes SP_FAULT, drops the
 * faulting address's TLB entry and describes the access in v->pending, then
 * calls v->pf_vector = hv_page_fault.  Rules, in the order they are tried:
 *   1. Writable pagetables (ptwr_do_page_fault; both modes decide for
 *      themselves which faults are theirs): fixed -> the access is retried
 *      or was emulated.
 *   2. A fault taken by the hypervisor's own access to guest memory
 *      (v->in_hypervisor_access) never reaches the guest: spurious (the
 *      access works now, after closing any batch) -> retry, else the
 *      hypervisor's access fails (PF_KILL: copy_*_guest returns -EFAULT).
 *      This is Xen >= 1a8bbf93b8 (Mar 2006), the same in both modes.
 *   3. ptwr.mode=emulate (today's machines and Xen): a fault whose access
 *      succeeds now (a stale, less permissive TLB entry) is retried after
 *      dropping that address's translation; it never reaches the guest.
 *      ptwr.mode=unhook (Xen 3.0): guest-mode faults were not checked for
 *      spuriousness, so such a fault - including the not-present fault of a
 *      vCPU that touched a range unhooked by a batch which was flushed
 *      before it got the big lock - goes to the guest (story C).
 *   4. Otherwise the fault is bounced: the guest kernel's #PF handler gets
 *      it (v->nr_faults_bounced++); with no handler the access is abandoned.
 * Every decision is traced (hvlab_hcall:fault).
 */
#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/mmu.h"
#include "core/traps.h"
#include "core/vcpu.h"
#include "trace/trace.h"

static enum pf_outcome decided(struct vcpu *v, uint64_t va, uint32_t pfec,
                               enum hv_fault_outcome what, enum pf_outcome o)
{
    (void)v; (void)va; (void)pfec; (void)what;  /* tracing may be compiled out */
    TRC(hvlab_hcall, fault, (uint8_t)v->d->m->host_id, v->d->domid,
        (uint16_t)v->vcpu_id, va, pfec, (uint8_t)what);
    return o;
}

enum pf_outcome hv_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct domain *d = v->d;

    /* Rule 1. */
    if (ptwr_do_page_fault(v, va, pfec) == MMF_FIXED)
        return decided(v, va, pfec, HVF_PTWR, PF_RETRY);

    /* Rule 2. */
    if (v->in_hypervisor_access) {
        if (mm_fault_is_spurious(v, va, pfec)) {
            v->nr_spurious++;
            return decided(v, va, pfec, HVF_SPURIOUS, PF_RETRY);
        }
        return decided(v, va, pfec, HVF_HV_ACCESS_FAILED, PF_KILL);
    }

    /* Rule 3. */
    if (d->m->opt.ptwr_mode == PTWR_EMULATE &&
        mm_fault_is_spurious(v, va, pfec)) {
        mmu_invlpg_local(v, va);
        v->nr_spurious++;
        return decided(v, va, pfec, HVF_SPURIOUS, PF_RETRY);
    }

    /* Rule 4. */
    if (v->guest_pf_handler == NULL)
        return decided(v, va, pfec, HVF_KILLED, PF_KILL);
    v->nr_faults_bounced++;
    decided(v, va, pfec, HVF_BOUNCED, PF_RETRY);
    return v->guest_pf_handler(v, va, pfec, v->guest_ctx);
}

void traps_init_vcpu(struct vcpu *v)
{
    v->pf_vector = hv_page_fault;
}
