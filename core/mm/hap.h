/*
 * core/mm/hap.h - nested paging (paging=hap): the nested-fault exit.
 *
 * The MMU walks an HVM guest's own tables and the p2m (core/mmu.c rules
 * 18-23); a guest-physical access the p2m refuses exits here, through
 * v->npf_vector, which core/traps.c points at hap_nested_fault for every
 * vCPU of a hap domain.  What it does depends on the p2m type (core/mm/hap.c).
 */
#ifndef HVLAB_CORE_MM_HAP_H
#define HVLAB_CORE_MM_HAP_H

#include "core/types.h"
#include "core/vcpu.h"

struct domain;

/* The npf_vector of hap vCPUs (npf_vector_fn, core/vcpu.h). */
enum pf_outcome hap_nested_fault(struct vcpu *v, uint64_t gpa, uint64_t gla,
                                 uint32_t access, uint64_t npte);

/*
 * Log-dirty call point: a write to a p2m_ram_logdirty gfn is about to make
 * it writable again: the gfn is marked in the dirty bitmap
 * (paging_mark_pfn_dirty, source fault); hap_dirty_marked counts the calls.
 */
void hap_mark_dirty(struct domain *d, pfn_t gfn);
extern _Atomic uint64_t hap_dirty_marked;

#endif /* HVLAB_CORE_MM_HAP_H */
