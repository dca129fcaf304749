/*
 * core/hvm.h - HVM guests: paging modes and the instructions that exit.
 *
 * An HVM guest owns its page tables, which hold guest frame numbers.  How
 * the MMU gets machine addresses depends on the domain's paging mode:
 *
 *   PAGING_SHADOW  the MMU walks shadow tables (machine frames) built by
 *                  core/shadow from the guest's tables; v->cr3 is the shadow
 *                  root.  Guest #PFs exit to the hypervisor (sh_page_fault),
 *                  which fixes, emulates or injects them.
 *   PAGING_HAP     the MMU walks the guest's tables itself, translating every
 *                  guest-physical address (each table and the final access)
 *                  through the p2m (core/npt.h), as nested paging does.  Guest
 *                  #PFs go straight to the guest; p2m refusals exit as nested
 *                  faults (v->npf_vector -> core/mm/hap.c).
 *
 * The guest kernel runs "instructions" that exit to the hypervisor through
 * these functions, the way mmu_load() is the load instruction: a MOV to CR3
 * and INVLPG.  In hap mode they need no hypervisor work beyond the TLB.
 */
#ifndef HVLAB_CORE_HVM_H
#define HVLAB_CORE_HVM_H

#include "core/domain.h"
#include "core/types.h"

struct domain;
struct vcpu;

/* enum paging_mode lives in core/domain.h (the domain carries it). */
extern const char *const paging_mode_name[3];

/* MOV to CR3 with a guest-physical root.  0, or -XEN_EINVAL for a root
   outside guest RAM (the guest then takes a #GP: the caller decides). */
int hvm_set_cr3(struct vcpu *v, uint64_t guest_cr3);
/* Drop the vCPU's ref on its CR3 frame (rule 4; domain destruction). */
void hvm_cr3_release(struct vcpu *v);
/* INVLPG va. */
void hvm_invlpg(struct vcpu *v, uint64_t va);
/* Full TLB flush of this vCPU (MOV to CR4.PGE toggle / CR3 reload). */
void hvm_flush_tlb(struct vcpu *v);

#endif /* HVLAB_CORE_HVM_H */
