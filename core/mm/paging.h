/*
 * core/mm/paging.h - log-dirty: the per-domain dirty bitmap, its marks and
 * XEN_DOMCTL_shadow_op's log-dirty operations (core/mm/paging.c; the
 * rules are there, docs/logdirty.md tells the story).
 */
#ifndef HVLAB_CORE_MM_PAGING_H
#define HVLAB_CORE_MM_PAGING_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/xen.h>
#include <xen/domctl.h>         /* struct xen_domctl_shadow_op (__XEN_TOOLS__) */

#include "core/types.h"

struct domain;
struct machine;

/* Who wrote the page (traced as hvlab_dirty:mark.source). */
enum paging_dirty_source {
    LD_SRC_FAULT = 0,       /* the guest's own write, caught by a fault */
    LD_SRC_COPY = 1,        /* the hypervisor wrote for the guest */
    LD_SRC_GRANT = 2,       /* through a grant: writable unmap or copy */
    LD_SRC_FINAL_GRANT = 3, /* FINAL clean's writable-pin sweep (option) */
    LD_SRC_WALK = 4,        /* the MMU's page walk set A/D in a PV table */
    LD_SRC_PT = 5,          /* PV table bookkeeping: type 0<->1, pin, unpin */
};

/* A frame of d was written by an agent its own paging cannot see (grant
   code).  A no-op unless log-dirty is on and d owns mfn; the pfn comes from
   the M2P (invalid and shared entries are ignored). */
void paging_mark_dirty(struct domain *d, mfn_t mfn);
void paging_mark_dirty_from(struct domain *d, mfn_t mfn,
                            enum paging_dirty_source src);
/* The same, for a pfn known already (hap write faults: the gfn). */
void paging_mark_pfn_dirty(struct domain *d, pfn_t pfn,
                           enum paging_dirty_source src);
/* paging_mark_dirty calls made for d so far, log-dirty on or not (tests). */
uint64_t paging_dirty_marks(const struct domain *d);

bool paging_log_dirty_enabled(const struct domain *d);

/*
 * PV log-dirty (paging.c L7-L9).  paging_ld_live counts the domains of
 * every machine with log-dirty on: zero makes the marks below one load and
 * a predicted branch.  Not a lock: a domain's enable / CLEAN flushes its
 * vCPUs' TLBs after setting its own state.
 */
extern _Atomic unsigned paging_ld_live;

/* A hypervisor write (or type / pin change) to frame mfn of whichever
   domain owns it: marked for that owner if its log-dirty is on. */
void paging_mark_frame_slow(struct machine *m, mfn_t mfn,
                            enum paging_dirty_source src);
static inline void paging_mark_frame(struct machine *m, mfn_t mfn,
                                     enum paging_dirty_source src)
{
    if (__builtin_expect(atomic_load_explicit(&paging_ld_live,
                                              memory_order_relaxed) != 0, 0))
        paging_mark_frame_slow(m, mfn, src);
}

/* The round: bumped under the bitmap lock by ENABLE and every CLEAN. */
uint64_t paging_ld_round(const struct domain *d);
/* The hypervisor-internal write fault of a PV vCPU of d on frame mfn
   (core/mmu.c rule 24), outside any access window: mark it unless its bit
   is set (then nothing is counted); returns the round in which the bit is
   known set, for the TLB fill that follows. */
uint64_t paging_ld_write_fault(struct domain *d, mfn_t mfn);

/*
 * Shadow-mode HVM log-dirty (paging.c L10; core/shadow/private.h S8): a
 * shadow L1 entry of d may be RW only if its frame's bit is set.  Both
 * false / no-op when log-dirty is off.  paging_pfn_is_dirty tests gfn's
 * bit; paging_mfn_is_dirty tests the bit of d's frame mfn through the M2P
 * (true for a frame log-dirty does not track: not d's, no valid M2P).
 */
bool paging_pfn_is_dirty(struct domain *d, pfn_t pfn);
bool paging_mfn_is_dirty(struct domain *d, mfn_t mfn);

/*
 * XEN_DOMCTL_shadow_op, the log-dirty ops: OFF, ENABLE_LOGDIRTY, CLEAN,
 * PEEK (others: -XEN_EINVAL).  bitmap: the toolstack's buffer of
 * (op->pages + 7) / 8 bytes, or NULL for stats only (Xen's null handle).
 * 0 or -XEN_EINVAL / EOPNOTSUPP / EBUSY / ENOMEM.
 */
int paging_domctl_shadow_op(struct domain *d, struct xen_domctl_shadow_op *op,
                            uint8_t *bitmap);

/* The bound on bitmap nodes (Xen takes them from the paging pool);
   default PAGING_LD_POOL_DEFAULT.  -XEN_EINVAL below the nodes in use. */
#define PAGING_LD_POOL_DEFAULT  1024u
int paging_log_dirty_set_pool(struct domain *d, unsigned nodes);
unsigned paging_log_dirty_nodes(const struct domain *d);

/* Hypervisor write into a hap domain's ram_logdirty gfn (copy_to_guest):
   mark it and make it ram_rw.  true when gfn was such a gfn (retry). */
bool paging_hap_write_fixup(struct domain *d, pfn_t gfn);

/* Domain destruction: free the bitmap (log-dirty off without flipping). */
void paging_log_dirty_free(struct domain *d);

/* Section 11 invariants 27-29 as far as state shows them: see paging.c. */
unsigned paging_audit(struct machine *m, FILE *out);

#endif /* HVLAB_CORE_MM_PAGING_H */
