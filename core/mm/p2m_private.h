/*
 * core/mm/p2m_private.h - what p2m.c, p2m_paging.c, p2m_sharing.c and
 * p2m_audit.c tell each other, nobody else.
 */
#ifndef HVLAB_CORE_MM_P2M_PRIVATE_H
#define HVLAB_CORE_MM_P2M_PRIVATE_H

#include <stdatomic.h>

#include "core/lock.h"
#include "core/mm/p2m.h"
#include "core/npt.h"
#include "core/types.h"

struct machine;

#define P2M_PAGING_RING     256     /* outstanding page-in requests */

/*
 * Per-domain p2m state (d->p2m).
 *
 * Table frames: machine frames taken straight from the machine's heap
 * (machine_heap_alloc), owner DOMID_XEN, count_info 0, type_info 0; they
 * are not on any domain's page list and do not count in tot_pages, and no
 * guest entry references them, so the frame audit skips them as Xen's own
 * frames (owner DOMID_XEN, no references found).  nr_tables counts them;
 * p2m_teardown gives every one back to the heap.
 *
 * Entries hold no frame references, except ram_shared entries: each holds
 * one general reference on the dom_cow frame it maps (the sharing rmap).
 */
struct p2m_domain {
    struct domain *d;
    hv_lock_t lock;                 /* LOCK_P2M; recursive through
                                       lock_owner/lock_depth */
    _Atomic(const void *) lock_owner;   /* the holder (vCPU or thread) */
    unsigned lock_depth;            /* owner only */
    mfn_t root;                     /* L4 table frame (set once) */
    _Atomic pfn_t max_gfn;          /* highest gfn ever mapped */
    _Atomic uint64_t nr_tables;     /* table frames, root included */

    /* Page-in requests for the pager (p2m_paging.c), under req_lock. */
    hv_lock_t req_lock;             /* LOCK_LEAF */
    pfn_t req[P2M_PAGING_RING];
    unsigned req_head, req_count;
};

/* A leaf entry, decoded.  An all-zero entry is p2m_invalid (a table frame
   comes zeroed from the heap); "no frame" is the all-ones address field. */
void p2m_decode(npte_t e, mfn_t *mfn, p2m_type_t *t, p2m_access_t *a);
/* Raw read of gfn's leaf (0 when no table covers it).  No lock. */
npte_t p2m_read_leaf(struct domain *d, pfn_t gfn);
/* Visit every present leaf (non-zero) of d's p2m.  Stops when fn returns
   false.  Caller holds the p2m lock, or the domain is quiescent. */
void p2m_for_each_leaf(struct domain *d,
                       bool (*fn)(struct domain *d, pfn_t gfn, npte_t e,
                                  void *arg),
                       void *arg);
/* The vCPU id for traces (0xFFFF when no vCPU is running). */
uint16_t p2m_trace_vcpu(void);

/* p2m_paging.c: an access with P2M_ALLOC found a paging type (p2m lock
   held): take a nominated gfn back, or queue a page-in request. */
void p2m_mem_paging_populate_locked(struct domain *d, pfn_t gfn);
/* p2m_paging.c: free the request ring (teardown). */
void p2m_paging_teardown(struct domain *d);

/* p2m_sharing.c: break sharing of gfn (p2m lock held): a private copy.
   0, or -XEN_ENOMEM (no frame for the copy). */
int mem_sharing_unshare_locked(struct domain *d, pfn_t gfn);
/* p2m_sharing.c: a gfn stops mapping shared frame mfn; the frame is freed
   with its last gfn. */
void mem_sharing_drop_gfn_ref(struct machine *m, mfn_t mfn);
/* The machine's dom_cow pseudo-domain (owner of shared frames); created on
   first use. NULL when out of host memory. */
struct domain *p2m_dom_cow(struct machine *m);
/* The domain a frame's reference is taken against: its owner, or dom_cow
   for shared frames.  NULL for free or Xen frames. */
struct domain *p2m_frame_owner(struct machine *m, mfn_t mfn);

#endif /* HVLAB_CORE_MM_P2M_PRIVATE_H */
