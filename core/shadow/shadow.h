/*
 * core/shadow/shadow.h - shadow paging for HVM domains (paging=shadow).
 *
 * The guest's tables (gfn-based) are shadowed into machine-frame tables the
 * MMU walks.  Entry points for the rest of the hypervisor: the #PF exit, the
 * CR3 and INVLPG exits, p2m-change notification, teardown and the audit.
 * Semantics: XEN-NOTES section 5 (sh_page_fault's structure, OOS, the
 * paging lock, write-access removal) and story 12.A.
 *
 * Run options (core/options.h): shadow.oos=on|off, shadow.fastpath=on|off,
 * shadow.fastpath_oos=racy|fixed (racy: the pre-July-2009 order - read the
 * shadow L1e first and check OOS after; fixed: Xen's 535501ae64 +
 * 34d140eaa7 - check OOS first and create no guest-not-present magic
 * entries while OOS is on).
 */
#ifndef HVLAB_CORE_SHADOW_SHADOW_H
#define HVLAB_CORE_SHADOW_SHADOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

int shadow_domain_init(struct domain *d);
void shadow_teardown(struct domain *d);     /* frees every shadow frame */

/* What sh_page_fault decided. */
enum sh_fault {
    SH_FIXED = 0,       /* shadows fixed (or another vCPU did): retry */
    SH_EMULATED,        /* a write to a guest page table was emulated
                           (v->pending.emulated is set) */
    SH_INJECT,          /* a real guest fault: deliver *inject_pfec */
};
/* The #PF exit in shadow mode, with the error code the MMU produced from
   the shadow tables. */
enum sh_fault sh_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec,
                            uint32_t *inject_pfec);
/* Guest MOV to CR3 (resync point); sets v->cr3 to the shadow root. */
int sh_update_cr3(struct vcpu *v, uint64_t guest_cr3);
/* Guest INVLPG (resync point for an OOS L1). */
void sh_invlpg(struct vcpu *v, uint64_t va);

/* Log-dirty ENABLE / CLEAN (core/mm/paging.c L10, S8 in private.h): blow
   away every shadow of d (resyncing OOS pages first; vCPU roots are
   emptied, kept) and flush d's vCPUs' TLBs, waiting, so no RW shadow
   entry of the last round survives.  Hypervisor code, d paused. */
void shadow_log_dirty_rearm(struct domain *d);

/* What the shadow code did for one domain so far (counters). */
struct shadow_stats {
    uint64_t fast, slow;            /* faults by path */
    uint64_t emulated;              /* guest PT writes emulated */
    uint64_t unsync, resync;        /* L1s gone out of sync / resynced */
    uint64_t gnp_injected;          /* not-present faults reflected by the
                                       fast path from gnp magic entries */
    uint64_t prefetched;            /* entries filled by prefetch */
    uint64_t unshadowed;            /* frames unshadowed instead of emulated
                                       (user-mode writes, early unshadow) */
};
/* False (and *out zeroed) when d is not shadowed. */
bool shadow_stats(const struct domain *d, struct shadow_stats *out);

/* Tests only: called by the fast path between reading a guest-not-present
   magic entry and (racy order) checking whether its L1 is out of sync -
   story A's window, so a test can force the interleaving from one thread. */
extern void (*sh_test_fastpath_window)(struct vcpu *v, uint64_t va);

/* Invariants 13-18 of XEN-NOTES section 11, over every shadowed domain of
   m; prints each violation to out (may be NULL); returns their number. */
unsigned shadow_audit(struct machine *m, FILE *out);

#endif /* HVLAB_CORE_SHADOW_SHADOW_H */
