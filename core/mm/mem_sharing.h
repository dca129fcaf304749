/*
 * core/mm/mem_sharing.h - page sharing between HVM domains (XEN-NOTES 4.7).
 *
 *   ram_rw|logdirty --nominate--> ram_shared (frame now owned by dom_cow,
 *   type PGT_shared_page, M2P SHARED_M2P_ENTRY, read-only to the guest)
 *   --share--> several gfns (any domains) map one dom_cow frame
 *   --write (lookup with P2M_UNSHARE)--> the writer's gfn gets a private
 *   copy (ram_rw); the shared frame is freed with its last gfn.
 *
 * A shared frame holds: PGC_allocated + its allocation reference, one
 * general reference per gfn that maps it, one PGT_shared_page type
 * reference.  A handle is the shared frame's mfn (Xen's are version
 * counters; a stale handle fails the same way).
 * All return 0 or -XEN_E* (share: XENMEM_SHARING_OP_[SC]_HANDLE_INVALID for
 * a handle that no longer names the gfn's frame).
 */
#ifndef HVLAB_CORE_MM_MEM_SHARING_H
#define HVLAB_CORE_MM_MEM_SHARING_H

#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

int mem_sharing_nominate_gfn(struct domain *d, pfn_t gfn, uint64_t *handle);
int mem_sharing_share(struct domain *sd, pfn_t sgfn, uint64_t sh,
                      struct domain *cd, pfn_t cgfn, uint64_t ch);
/* Break sharing of gfn now (what a write does). */
int mem_sharing_unshare(struct domain *d, pfn_t gfn);

/* XENMEM_sharing_op (nominate_gfn, share): arg is a guest VA of struct
   xen_mem_sharing_op; the caller must be privileged. */
long mem_sharing_memop(struct vcpu *v, uint64_t arg);

#endif /* HVLAB_CORE_MM_MEM_SHARING_H */
