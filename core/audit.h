/*
 * core/audit.h - the whole machine's invariant audit, in one call.
 *
 * The oracle tests, scenarios and the fuzzer use: frame and type
 * invariants (core/mm/audit.c, XEN-NOTES section 11 items 1-12), p2m
 * invariants (core/mm/p2m_audit.c, 21-23) and shadow invariants
 * (core/shadow/audit.c, 13-17).  Every violation is printed to `out` (may be
 * NULL) with its invariant, frame and recent history.
 *
 * hv_audit_changed() gives the same count as hv_audit() and re-runs only
 * the audits whose inputs may have changed since the last audit of the
 * machine.  The argument that this is exact:
 *
 *   A1  Marks.  struct machine carries one byte per mark
 *       (core/audit_mark.h).  A mutator of state an audit reads sets the
 *       mark before the next audit (anywhere in its call: the audit runs on
 *       a quiescent machine, so where in the call does not matter).  An
 *       audit takes every mark (exchange with 0) and remembers, per
 *       machine, its sub-results then (the memo, also in struct machine).
 *   A2  HV_MARK_MM covers everything mm_audit reads: the page_info words
 *       (core/mm/frame.c's count/type exchanges, which every transition
 *       goes through, and its direct stores: owner, nr_validated_ptes,
 *       linear count), page lists and owners (alloc.c, machine.c's heap,
 *       p2m table frames), entries of guest tables written by Xen
 *       (pv_pt.c's pt_write_entry / pt_cmpxchg_entry / A-D updates, which
 *       mmu_update, ptwr, update_va_mapping and grant host mappings use;
 *       validation and devalidation), vCPU roots (pt_set_baseptr, the
 *       parked old_guest_table, the HVM CR3 frame), p2m entries (foreign
 *       refs), maptrack entries (grant mappings' refs) and shadow entries
 *       and shadow frames (the paging mode's refs).
 *   A3  HV_MARK_GNT covers what gnttab_audit reads beyond A2: every grant
 *       operation (do_grant_table_op and the core/grant entry points other
 *       subsystems call: domain init / destroy / free, physmap unhooking,
 *       frame mapping, refused PTEs, the XSA paths) and every store into
 *       guest memory that may reach a grant frame: a guest may write its
 *       grant entries whenever it likes.  Every grant entry and status
 *       frame is Xen-shared (PGC_xen_heap, core/grant/table.c T1) and
 *       gnttab_audit reads no other guest memory, so core/mmu.c marks
 *       HV_MARK_STORE on every mmu_store and mmu_cmpxchg (their fast path
 *       stays one check), and mmu_write, the slow store path and Xen's
 *       copy_to_guest (core/guest_access.c) mark it on a store into a
 *       PGC_xen_heap frame or an emulated store.  gnttab_audit re-runs on
 *       MM, GNT or STORE.
 *   A4  Guest stores are not MM marks.  mm_audit reads no data frame, and
 *       a guest store reaches a table frame only through a writable
 *       mapping of it.  While mm_audit's last result is 0 no validated or
 *       partial table is mapped writable by a guest L1 entry (invariant 3)
 *       and shadow and grant RW mappings hold a writable type ref, which a
 *       table cannot have; the walker's A/D updates change no bit the audit
 *       reads (present, RW, _PAGE_GNTTAB, frame, disallowed flags).  A
 *       writable TLB entry that outlived its mapping can still reach a
 *       frame that became a table since (a missing flush, or one not yet
 *       done): in a machine keeping the incremental frame audit every guest
 *       store and Xen copy into a page-table frame touches it
 *       (core/mmu.c audit_table_store, core/guest_access.c), so the audit
 *       reads it again.  The exceptions re-run mm_audit every time: a last
 *       result other than 0; an open writable-pagetable batch (ptwr
 *       unhook: its L1 is writable by design, core/mm/audit.c U3); A5.
 *   A5  A p2m_map_foreign entry holds no type ref, so a privileged
 *       translated guest could write a PV table through it: once the
 *       machine has had one (p2m_set_entry sets a sticky flag),
 *       mm_audit always re-runs.
 *   A6  What no mutator marks - the domain array, each domain's kind,
 *       vCPUs, grant table and paging-mode pointers, the options the audits
 *       read (mm.pfinfo_devalidated) - is folded into a fingerprint; a
 *       different fingerprint re-runs everything.
 *   A7  The p2m, shadow, event-channel and paging audits run every time
 *       (they read guest memory and hardware-set bits; they are cheap next
 *       to mm_audit and gnttab_audit).
 *   A8  With `out` set the whole audit runs (the text is wanted): the
 *       memo only ever stands for a count.  hv_audit() is that full run and
 *       refreshes the memo too.
 *   A9  Memory put back behind the mutators' backs: the memo and the marks
 *       live in struct machine, so a reset that restores the machine's
 *       memory with its state (fuzz/snap.c: the machine is an arena block,
 *       and S10 audits before the commit) restores the matching memo.  Any
 *       other restore, or a direct store into state outside the mutators
 *       (a test writing a page_info word), must call hv_audit_forget().
 *   A10 Where the machine keeps the incremental frame audit
 *       (mm_audit_incr_enable, core/mm/audit_incr.c I1-I11: the fuzzer's
 *       worlds), an MM mark runs it instead of mm_audit: its 0 is
 *       mm_audit's 0; anything else runs mm_audit for the count.  A clean
 *       full audit (hv_audit) rebuilds an invalid cache (a valid one keeps
 *       its pending touches); an unclean one and the A4/A5 exceptions
 *       invalidate it.
 *   A11 A checker kept outside the audits (the fuzzer's isolation walk,
 *       fuzz/isolation.h) asks hv_audit_take_delta what it may read that
 *       changed since it last asked: everything after a full audit, a
 *       forget, with the memo off, or when the frame audit's cache cannot
 *       say (core/mm/audit_incr.c I10) or a translated domain exists and
 *       MM marked; else grant state (GNT), vCPU roots and translated
 *       guests' tables (ISO), and the frames the incremental frame audit
 *       names (I10) - not guest stores (STORE).  The walk reads PV tables
 *       (their entries change through MM's mutators only: neither a guest
 *       store nor Xen's copy_to_guest reaches a validated table without
 *       the writable mapping invariant 3 forbids), frame words (I10),
 *       vCPU roots (pt_set_baseptr and the HVM CR3 mark ISO), grant state
 *       (GNT), and a translated guest's own tables, which its stores and
 *       Xen's copy_to_guest write: HV_MARK_ISO (core/mmu.c,
 *       core/guest_access.c; a store into a PV table, A4, marks it too).
 *       A mark set but not yet taken by an audit counts as taken.
 *   A12 Such a checker may ask whether a frame can still be a leaf of a
 *       counted table (hv_audit_may_map, core/mm/audit_incr.c I13), to
 *       forget what it remembers of a mapping that is gone.  Asked after
 *       a clean audit and before the next mutation, a "no" is exact.
 */
#ifndef HVLAB_CORE_AUDIT_H
#define HVLAB_CORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct machine;

/* Returns the number of violations; the machine must be quiescent (no vCPU
   running).  Refreshes the memo (A8). */
unsigned hv_audit(struct machine *m, FILE *out);

/* The same count (and, with out, the same text) as hv_audit, re-running
   only what may have changed since the last audit of m (A1-A8). */
unsigned hv_audit_changed(struct machine *m, FILE *out);

/* A11: what an outside checker reads that changed since its last call;
   0 when nothing did.  Clears the record. */
enum {
    HV_DELTA_ALL    = 1u << 0,  /* anything may have: check everything */
    HV_DELTA_FRAMES = 1u << 1,  /* the frames handed to frame() (I10) */
    HV_DELTA_GRANTS = 1u << 2,  /* grant state */
    HV_DELTA_ROOTS  = 1u << 3,  /* vCPU roots; translated guests' tables */
};
unsigned hv_audit_take_delta(struct machine *m,
                             void (*frame)(void *arg, uint64_t mfn),
                             void *arg);
/* The same as a yes or no. */
bool hv_audit_take_changed(struct machine *m);
/* A12: may a counted page table map mfn as a leaf (writable: rw)?  false
   only when the frame audit's cache knows none does
   (core/mm/audit_incr.c I13); true when it cannot say. */
bool hv_audit_may_map(const struct machine *m, uint64_t mfn, bool rw);

/* A9: the next hv_audit_changed of m runs everything. */
void hv_audit_forget(struct machine *m);

/* Process-wide: with false, hv_audit_changed is hv_audit (the baseline
   the benchmarks compare against).  On by default; HVLAB_AUDIT_MEMO=0 in
   the environment turns it off from the start (a harness's A/B run). */
void hv_audit_memo_enable(bool on);

/* Process-wide counts since the start (all machines). */
struct hv_audit_counts {
    uint64_t audits;        /* hv_audit_changed calls */
    uint64_t unchanged;     /* ... that found no mark and no new shape */
    uint64_t mm_skipped;    /* mm_audit answered from the memo */
    uint64_t gnt_skipped;   /* gnttab_audit answered from the memo */
};
void hv_audit_counts(struct hv_audit_counts *out);

#endif /* HVLAB_CORE_AUDIT_H */
