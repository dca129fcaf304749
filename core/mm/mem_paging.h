/*
 * core/mm/mem_paging.h - xenpaging: evicting an HVM domain's frames to a
 * pager and bringing them back (XEN-NOTES 4.6).
 *
 * One gfn's states (every change through p2m_set_entry, traced
 * hvlab_p2m:paging_*):
 *
 *   ram_rw|logdirty --nominate--> paging_out --evict--> paged (frame freed)
 *        ^                            |                   |
 *        +---- access (populate) -----+                   | access (populate):
 *        |                                                v  request queued
 *        +------------resume------- paging_in+mfn <--prep-- paging_in (no mfn)
 *
 * Guards (Xen's): nominate wants a frame of the domain with exactly its
 * allocation reference and type count 0; evict re-checks that with its own
 * temporary reference, so any mapper holding a reference makes it fail
 * with -XEN_EBUSY.  A lookup with P2M_ALLOC of a paged gfn queues a request
 * for the pager and returns INVALID_MFN; the caller returns -XEN_ENOENT and
 * the guest (or mapper) retries after the pager resumed the gfn.
 *
 * The pager is the privileged domain: XENMEM_paging_op (nominate, evict,
 * prep) through memory_op, or the host API below for a toolstack pager.
 * XENMEM_paging_op_prep also resumes the gfn (Xen since 4.2 makes a
 * prepared page guest-accessible at once); the host API keeps prep and
 * resume apart, as a ring-driven pager sees them.
 * All return 0 or -XEN_E*.
 */
#ifndef HVLAB_CORE_MM_MEM_PAGING_H
#define HVLAB_CORE_MM_MEM_PAGING_H

#include "core/types.h"

struct domain;
struct vcpu;

int mem_paging_nominate(struct domain *d, pfn_t gfn);
int mem_paging_evict(struct domain *d, pfn_t gfn);
/* Give the gfn a fresh frame filled from content (PAGE_SIZE bytes, or NULL
   for zeroes).  Allowed for paged and paging_in gfns without a frame. */
int mem_paging_prep(struct domain *d, pfn_t gfn, const void *content);
/* paging_in with a frame -> ram_rw (the pager's response). */
int mem_paging_resume(struct domain *d, pfn_t gfn);
/* Next gfn the hypervisor asked the pager for: 0, or -XEN_ENOENT when the
   queue is empty. */
int mem_paging_next_request(struct domain *d, pfn_t *gfn);

/* XENMEM_paging_op: arg is a guest VA of struct xen_mem_paging_op. */
long mem_paging_memop(struct vcpu *v, uint64_t arg);

#endif /* HVLAB_CORE_MM_MEM_PAGING_H */
