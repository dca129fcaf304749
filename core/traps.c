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
 * HVM domains (d->paging != PAGING_PV) take rules 5-6 instead (see
 * hvm_page_fault); hap vCPUs also get the nested-fault vector
 * (core/mm/hap.c).
 * Every decision is traced (hvlab_hcall:fault).
 */
#include "core/domain.h"
#include "core/machine.h"
#include <stdio.h>

#include "core/mm/hap.h"
#include "core/mm/mm.h"
#include "core/mmu.h"
#include "core/shadow/shadow.h"
#include "core/traps.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"
#include "trace/usdt.h"

enum pf_outcome hv_fault_decided(struct vcpu *v, uint64_t va, uint32_t pfec,
                                 enum hv_fault_outcome what, enum pf_outcome o)
{
    (void)v; (void)va; (void)pfec; (void)what;  /* tracing may be compiled out */
    TRC(hvlab_hcall, fault, (uint8_t)v->d->m->host_id, v->d->domid,
        (uint16_t)v->vcpu_id, va, pfec, (uint8_t)what);
    HV_USDT(fault, v->d->m->host_id, v->d->domid, v->vcpu_id, va, what);
    return o;
}

/*
 * HVM rules.  5. Shadow: sh_page_fault decides (fixed or emulated: retry;
 * a real guest fault: bounced with the error code it returns).  6. Hap: a
 * guest #PF is the guest's (nested paging delivers it without an exit):
 * bounced as it is; p2m refusals come as nested faults (npf_vector).
 */
static enum pf_outcome hvm_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    if (v->d->paging == PAGING_SHADOW) {
        uint32_t inject = pfec;
        switch (sh_page_fault(v, va, pfec, &inject)) {
        case SH_FIXED:
            return hv_fault_decided(v, va, pfec, HVF_SH_FIXED, PF_RETRY);
        case SH_EMULATED:
            return hv_fault_decided(v, va, pfec, HVF_SH_EMULATED, PF_RETRY);
        case SH_INJECT:
        default:
            pfec = inject;
            break;
        }
    }
    if (v->in_hypervisor_access)
        return hv_fault_decided(v, va, pfec, HVF_HV_ACCESS_FAILED, PF_KILL);
    if (v->guest_pf_handler == NULL)
        return hv_fault_decided(v, va, pfec, HVF_KILLED, PF_KILL);
    v->nr_faults_bounced++;
    hv_fault_decided(v, va, pfec, HVF_BOUNCED, PF_RETRY);
    return v->guest_pf_handler(v, va, pfec, v->guest_ctx);
}

enum pf_outcome hv_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct domain *d = v->d;

    HV_USDT(fault_entry, d->m->host_id, d->domid, v->vcpu_id, va, pfec, 0, 0);
    /* inject: the fault is here, nothing decided, no lock taken (story C). */
    INJ_POINT(traps_pf_before_bounce, v);

    /* Rules 5-6. */
    if (d->paging != PAGING_PV)
        return hvm_page_fault(v, va, pfec);

    /* Rule 1. */
    if (ptwr_do_page_fault(v, va, pfec) == MMF_FIXED)
        return hv_fault_decided(v, va, pfec, HVF_PTWR, PF_RETRY);

    /* Rule 2. */
    if (v->in_hypervisor_access) {
        if (mm_fault_is_spurious(v, va, pfec)) {
            v->nr_spurious++;
            return hv_fault_decided(v, va, pfec, HVF_SPURIOUS, PF_RETRY);
        }
        return hv_fault_decided(v, va, pfec, HVF_HV_ACCESS_FAILED, PF_KILL);
    }

    /* Rule 3.  inject: skip = no spurious check (Xen 3.0's guest rule). */
    if (d->m->opt.ptwr_mode == PTWR_EMULATE &&
        !INJ_POINT(traps_pf_spurious_check, v) &&
        mm_fault_is_spurious(v, va, pfec)) {
        mmu_invlpg_local(v, va);
        v->nr_spurious++;
        return hv_fault_decided(v, va, pfec, HVF_SPURIOUS, PF_RETRY);
    }

    /* Rule 4. */
    if (v->guest_pf_handler == NULL)
        return hv_fault_decided(v, va, pfec, HVF_KILLED, PF_KILL);
    v->nr_faults_bounced++;
    hv_fault_decided(v, va, pfec, HVF_BOUNCED, PF_RETRY);
    INJ_POINT(traps_pf_deliver, v);             /* inject: a window */
    return v->guest_pf_handler(v, va, pfec, v->guest_ctx);
}

void traps_init_vcpu(struct vcpu *v)
{
    v->pf_vector = hv_page_fault;
    /* Nested faults happen in hap mode only; every HVM vCPU gets the
       vector, so the order of setting d->paging does not matter. */
    if (v->d->kind == DOMAIN_HVM)
        v->npf_vector = hap_nested_fault;
}
