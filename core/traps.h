/*
 * core/traps.h - where guest faults enter the hypervisor.
 *
 * The MMU delivers a #PF to v->pf_vector; traps_init_vcpu() points it at the
 * hypervisor's handler, which tries, in Xen's order: the writable-pagetable
 * handler (ptwr), the spurious-fault check (the PTE is fine now: stale TLB
 * or a batch that was closed meanwhile), and otherwise bounces the fault to
 * the guest kernel's handler, tracing what it decided.
 */
#ifndef HVLAB_CORE_TRAPS_H
#define HVLAB_CORE_TRAPS_H

#include "core/vcpu.h"

/* What hv_page_fault decided (the `outcome` of hvlab_hcall:fault). */
enum hv_fault_outcome {
    HVF_PTWR = 0,           /* writable pagetables handled it: retry */
    HVF_SPURIOUS,           /* the access succeeds now: retry */
    HVF_BOUNCED,            /* delivered to the guest kernel's handler */
    HVF_KILLED,             /* no guest handler: the access is abandoned */
    HVF_HV_ACCESS_FAILED,   /* a hypervisor access (copy_*_guest) faulted */
    /* HVM (the fault event then carries: shadow, va and the #PF code; hap
       nested fault, va = the guest-linear address, pfec = NPF_* bits). */
    HVF_SH_FIXED,           /* shadow: sh_page_fault fixed it: retry */
    HVF_SH_EMULATED,        /* shadow: a guest PT write was emulated */
    HVF_NPF_FIXED,          /* hap: the p2m entry was fixed: retry */
    HVF_NPF_EMULATED,       /* hap: emulated (discarded write, MMIO read) */
    HVF_NPF_KILLED,         /* hap: the domain cannot go on */
};

void traps_init_vcpu(struct vcpu *v);
enum pf_outcome hv_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec);
/* Every fault decision (the shadow, PV and hap paths alike) ends here: it
   is traced (hvlab_hcall:fault) and reaches the USDT probe `fault`, then
   o is returned.  va is the faulting (or guest-linear) address, pfec the
   #PF code or the NPF_* bits. */
enum pf_outcome hv_fault_decided(struct vcpu *v, uint64_t va, uint32_t pfec,
                                 enum hv_fault_outcome what, enum pf_outcome o);

#endif /* HVLAB_CORE_TRAPS_H */
