/*
 * core/grant/grant_table.h - grant tables: the interface for the rest of core.
 *
 * A domain (the granter) writes grant entries into frames Xen shares with
 * it; another domain (the grantee) maps or copies the granted frames through
 * GNTTABOP_* (XEN-NOTES section 6).  Everything else is private to
 * core/grant (private.h states the structures and invariants 24-27).
 *
 * Deviations from Xen, on purpose:
 *   - GNTTABOP_transfer, swap_grant_ref, cache_flush, dump_table: -ENOSYS.
 *   - Transitive grants (v2 GTF_transitive) are refused for map and copy
 *     (GNTST_general_error); sub-page grants work for copy only, as in Xen.
 *   - A PV guest overwriting or clearing a grant PTE through mmu_update,
 *     update_va_mapping or writable pagetables gets -XEN_EINVAL and nothing
 *     changes (Xen crashes the domain); the attempt is traced
 *     (hvlab_grant:pte_refused).  In ptwr.mode=unhook the flush restores
 *     the snapshot's grant PTE over a native store.
 *   - Demoting an L1 that holds a grant PTE: domain_crash (core/domctl.h)
 *     records what Xen would do; the vCPUs run on, the refs stay with the
 *     grant mapping.
 *   - unmap_and_replace: a failed second step puts the stolen PTE back if
 *     its slot is still empty (Xen drops its references).
 *   - A grant PTE's references belong to the grant mapping (the maptrack
 *     entry), not to the PTE: put_page_from_l1e skips _PAGE_GNTTAB entries
 *     and gnttab_release_mappings drops them at domain destruction.
 *   - An HVM grantee's host_addr must name a p2m hole (Xen would replace
 *     whatever RAM is there); anything else is GNTST_general_error.
 */
#ifndef HVLAB_CORE_GRANT_GRANT_TABLE_H
#define HVLAB_CORE_GRANT_GRANT_TABLE_H

#include <stdio.h>

#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* HYPERVISOR_grant_table_op(cmd, uop, count). */
long do_grant_table_op(struct vcpu *v, unsigned cmd, uint64_t uop,
                       unsigned count);

/* At domain creation: an empty version-1 table.  0 or -XEN_ENOMEM. */
int gnttab_domain_init(struct domain *d);
/* At destruction, before mm_relinquish: release every mapping d holds as
   a grantee and stop sharing its table frames. */
void gnttab_domain_destroy(struct domain *d);
/* When the domain structure is freed. */
void gnttab_domain_free(struct domain *d);

/* Invariants 24-26 over every domain of m; each violation printed to out
   (may be NULL).  Returns the violation count.  Quiescent machine only. */
unsigned gnttab_audit(struct machine *m, FILE *out);
/* The same, told how many present _PAGE_GNTTAB entries the validated L1s
   hold, as the incremental frame audit counts them (audit.c U4; the
   caller's, core/audit.c): the search for orphans may then be skipped. */
unsigned gnttab_audit_counted(struct machine *m, uint64_t grant_ptes);

/* For the frame audit: every frame reference the grant mappings d holds
   (as grantee) own: ref(ctx, mfn, rw) once per mapping kind, rw when the
   kind also holds a writable type ref. */
void gnttab_audit_refs(struct domain *d,
                       void (*ref)(void *ctx, mfn_t mfn, bool rw), void *ctx);

/* Log-dirty's FINAL clean (XEN-NOTES 12.E mitigation): fn(ctx, mfn) for
   every frame of granter d with a writable pin (hstw or devw). */
void gnttab_for_each_writable_pin(struct domain *d,
                                  void (*fn)(void *ctx, mfn_t mfn), void *ctx);

/* Is mfn one of d's shared grant-entry frames, the ones its guest writes
   its entries in (table.c T1)?  For callers that act as a well-behaved
   guest (the fuzzer): Xen owns GTF_reading / GTF_writing there. */
bool gnttab_is_shared_frame(struct domain *d, mfn_t mfn);
/* Does d's grant table still hold mfn: one of its shared frames or (v2)
   status frames, not yet let go with free_xen_shared_page (core/mm/alloc.c
   A6)?  The frame audit counts Xen's type ref on such a frame. */
bool gnttab_holds_frame(struct domain *d, mfn_t mfn);
/* How many shared grant-entry frames d has (0: no table set up). */
unsigned gnttab_nr_shared_frames(struct domain *d);

/* A frame of d was written through a grant: traced, then
   paging_mark_dirty(d, mfn). */
void gnttab_mark_dirty(struct domain *d, mfn_t mfn);

/* XENMEM_add_to_physmap, XENMAPSPACE_grant_table: place table frame idx
   (| XENMAPIDX_grant_table_status for a v2 status frame) of HVM domain d at
   gpfn; whatever was at gpfn is evicted (physmap_evict).  0 or
   -XEN_EINVAL. */
int gnttab_map_frame(struct domain *d, uint64_t idx, pfn_t gpfn);

/* core/mm/alloc.c physmap_evict: table frame mfn of d no longer sits at
   gfn (add_to_physmap put something else there); forget that placement.
   d's p2m lock held (T6). */
void gnttab_physmap_unhooked(struct domain *d, mfn_t mfn, pfn_t gfn);

/* core/mm: an L1 entry a guest tried to overwrite holds _PAGE_GNTTAB:
   trace the refused update (path = enum pt_write_path). */
void gnttab_pte_refused(struct domain *d, mfn_t table, unsigned slot,
                        uint64_t old, uint64_t new_pte, unsigned path);

#endif /* HVLAB_CORE_GRANT_GRANT_TABLE_H */
