/*
 * core/mm/mm.h - what the rest of the hypervisor calls in core/mm.
 *
 * Hypercall handlers (dispatched by core/hypercall.c with guest-virtual
 * argument pointers), the fault hooks core/traps.c tries, and the domain
 * lifecycle hooks core/domctl.c calls.  All return 0 / counts or -XEN_E*.
 */
#ifndef HVLAB_CORE_MM_MM_H
#define HVLAB_CORE_MM_MM_H

#include <stdio.h>

#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* ---- hypercalls ---------------------------------------------------------- */
long do_mmu_update(struct vcpu *v, uint64_t ureqs, unsigned count,
                   uint64_t pdone, unsigned foreigndom);
long do_mmuext_op(struct vcpu *v, uint64_t uops, unsigned count,
                  uint64_t pdone, unsigned foreigndom);
long do_update_va_mapping(struct vcpu *v, uint64_t va, uint64_t val,
                          uint64_t flags);
long do_update_va_mapping_otherdomain(struct vcpu *v, uint64_t va, uint64_t val,
                                      uint64_t flags, domid_t domid);
long do_memory_op(struct vcpu *v, unsigned long cmd, uint64_t arg);
long do_vm_assist(struct vcpu *v, unsigned cmd, unsigned type);

/* ---- faults (tried by core/traps.c in this order) ------------------------ */
enum mm_fault { MMF_NOT_MINE = 0, MMF_FIXED = 1 };
/* Writable pagetables (ptwr.mode emulate or unhook). */
enum mm_fault ptwr_do_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec);
/* Would the access succeed now (stale TLB, closed ptwr batch)? */
bool mm_fault_is_spurious(struct vcpu *v, uint64_t va, uint32_t pfec);
/* Close any open writable-pagetable batch of v's domain (hypercall entry,
   CR3 load, ...).  No-op in emulate mode. */
void ptwr_sync(struct vcpu *v);
/*
 * Is this L1 frame inside an open writable-pagetable batch of d (unhook
 * mode: validated, yet legitimately mapped writable, invariant 3's
 * exception)?  Implemented by core/mm/ptwr.c; asked by the audit.
 */
bool ptwr_frame_in_batch(struct domain *d, mfn_t mfn);
/* Close any open batch and free d's writable-pagetable state: call from
   domain teardown before the page tables are torn down (an unhooked L2
   entry still holds its L1's references). */
void ptwr_domain_destroy(struct domain *d);
/* For the audit while a batch is open (unhook mode): is this L2 entry the
   one a batch unhooked (PRESENT cleared, yet it still holds its L1's
   references)?  And the L1 entries the hypervisor has accounted for an L1
   in a batch (its snapshot; the live entries are unvalidated guest writes),
   or NULL when the frame is in no batch.  Racy unless the domain is
   paused or its big lock held. */
bool ptwr_l2_entry_unhooked(struct domain *d, mfn_t l2mfn, unsigned slot);
const uint64_t *ptwr_batch_snapshot(struct domain *d, mfn_t l1mfn);

/* ---- domain lifecycle (core/domctl.c) ------------------------------------ */
int mm_domain_init(struct domain *d);
/* Give d fresh frames for [first, first+nr). */
int mm_populate(struct domain *d, pfn_t first, uint64_t nr, mfn_t *mfns);
/* XENMEM_decrease_reservation's step for one frame (core/mm/memory.c rule
   4): PV: d's mfn loses its allocation reference; translated: gfn leaves
   the p2m.  0, -XEN_EINVAL, -XEN_ENXIO (not d's). */
int guest_remove_page(struct domain *d, mfn_t mfn);
/* The vm_assist bits of a vCPU context (Xen's arch_set_info_guest):
   0, or -XEN_EINVAL for a type the domain's kind does not accept. */
int memory_set_vm_assist(struct domain *d, uint64_t bits);
/* Set a vCPU's roots (takes L4 type refs; drops the old ones). */
int mm_set_vcpu_roots(struct vcpu *v, mfn_t kernel_root, mfn_t user_root);
/* Drop every reference d's vCPUs, pins, tables and allocation hold. */
void mm_relinquish(struct domain *d);

/* ---- audit (XEN-NOTES section 11, invariants 1-12) ------------------------ */
/* Check every frame of the machine; print each violation (invariant number,
   frame, domain, the words and the frame's recent history) to out (may be
   NULL).  Returns the number of violations. */
unsigned mm_audit(struct machine *m, FILE *out);

/* The same answer kept up to date from the frames touched since the last
   audit (core/mm/audit_incr.c I1-I11): 0 exactly when mm_audit(m) is 0; a
   non-zero answer only says "run mm_audit" (I1).  Without enable, it is
   mm_audit.  Enable: -XEN_ENOMEM, or 0 (the cache is freed with m). */
int mm_audit_incr_enable(struct machine *m);
void mm_audit_incr_disable(struct machine *m);
bool mm_audit_incr_enabled(const struct machine *m);
unsigned mm_audit_incr(struct machine *m);
/* I6: the next mm_audit_incr rebuilds; valid: it will not need to. */
void mm_audit_incr_invalidate(struct machine *m);
bool mm_audit_incr_valid(const struct machine *m);
/* I9: present _PAGE_GNTTAB entries of validated L1s; false when the cache
   cannot say (not kept, invalid, or touches pending). */
bool mm_audit_incr_grant_ptes(const struct machine *m, uint64_t *n);
/* I10: what the fuzzer's isolation walk reads of frames that changed
   since the last call: -1 when the cache cannot say (walk everything);
   else the number of frames, each handed once to frame (may be NULL).
   Clears. */
int mm_audit_incr_take_iso(struct machine *m,
                           void (*frame)(void *arg, mfn_t mfn), void *arg);
/* I13: false only when the cache is valid with no touch pending and no
   counted entry can make mfn a leaf: no present L2-L4 entry names it and
   no RW L1 entry (rw), or nothing but its own terms refers to it (!rw). */
bool mm_audit_incr_may_map(const struct machine *m, mfn_t mfn, bool rw);
/* I8 on or off for m (HVLAB_AUDIT_VERIFY=1 sets it at enable). */
void mm_audit_incr_verify(struct machine *m, bool on);
/* I6 now (after a full audit): the rebuilt cache's answer. */
unsigned mm_audit_incr_rebuild(struct machine *m);

#endif /* HVLAB_CORE_MM_MM_H */
