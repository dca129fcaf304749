/*
 * core/mm/alloc.h - frames given to domains, and taken back.
 *
 * A domain frame carries PGC_allocated and one general reference for it
 * (the allocation reference), sits on its owner's page list and counts in
 * d->tot_pages.  It leaves the domain when its last general reference goes
 * (core/mm/frame.c put_page -> free_domheap_page): off the list, tot_pages
 * down, type and owner cleared, back to the machine's heap.
 */
#ifndef HVLAB_CORE_MM_ALLOC_H
#define HVLAB_CORE_MM_ALLOC_H

#include "core/types.h"

struct domain;
struct machine;

/*
 * Give d one zeroed frame: owner d, count_info PGC_allocated|1, on d's page
 * list, tot_pages + 1.  The M2P entry is left INVALID (callers that give
 * the frame a pfn set it).  0 and *mfn, or -XEN_ENOMEM (max_pages reached
 * or machine out of frames), -XEN_EINVAL (d is dying).
 */
int alloc_domheap_page(struct domain *d, mfn_t *mfn);

/*
 * The frame's last general reference is gone: unlink it from its owner,
 * reset its words, invalidate its M2P entry, return it to the heap.
 * A Xen page its Xen user still holds is only detached (alloc.c A8).
 * Called only by put_page (frame.c).
 */
void free_domheap_page(struct machine *m, mfn_t mfn);

/*
 * A Xen page shared with d (Xen's share_xen_page_with_guest, SHARE_rw): a
 * zeroed frame owned by d with count PGC_xen_heap|PGC_allocated|1 and type
 * PGT_writable_page|PGT_validated|1 - Xen keeps that one writable type ref
 * for as long as it shares the page, so the guest may map it writable and
 * it can never become a page table.  It sits on d's xenpage list, counts
 * in d->xenheap_pages, not in tot_pages, and has no M2P entry.  Used for
 * grant-table frames and shared_info.  0 and *mfn, -XEN_ENOMEM, or
 * -XEN_EINVAL (d is dying).
 */
int alloc_xen_shared_page(struct domain *d, mfn_t *mfn);
/*
 * The same shared read-only (Xen's SHARE_ro): Xen's type ref is of type
 * PGT_none (PGT_none|PGT_validated|1), so the guest can map the page only
 * read-only - no writable type ref can be taken while it is shared.  Used
 * for v2 grant status frames.  Same results.
 */
int alloc_xen_shared_page_ro(struct domain *d, mfn_t *mfn);
/*
 * Stop sharing it: drop Xen's type ref (either kind) and the allocation ref.
 * The frame returns to the heap with its last reference (a guest mapping
 * may outlive the call).  No-op for a frame already unshared.  Called by
 * the page's Xen user, once: if the guest gave back the allocation ref
 * (decrease_reservation) the frame was only detached by its last put
 * (alloc.c A8) and this call returns it to the heap.
 */
void free_xen_shared_page(struct machine *m, mfn_t mfn);
/*
 * XENMEM_add_to_physmap's eviction of what HVM d has at gfn before another
 * frame (`keep`) goes there (Xen's xenmem_add_to_physmap_one).  Nothing to
 * do for a hole or keep itself.  A Xen page shared with d (PGC_xen_heap: a
 * grant or status frame, shared_info) is only unhooked from the slot
 * (Xen's guest_physmap_remove_page) and the grant table forgets where it
 * was (gnttab_physmap_unhooked); everything else goes through
 * p2m_remove_page (guest_remove_page: RAM loses its allocation ref).
 * Takes d's p2m lock (recursive: callers may hold it).  0 or the p2m's
 * error.
 */
int physmap_evict(struct domain *d, pfn_t gfn, mfn_t keep);
/* Visit every Xen page shared with d (same contract as below). */
void domain_for_each_xen_page(struct domain *d,
                              bool (*fn)(struct domain *d, mfn_t mfn, void *arg),
                              void *arg);

/* Visit every frame on d's page list (under page_alloc_lock; fn must not
   allocate or free frames of d).  Stops early when fn returns false. */
void domain_for_each_page(struct domain *d,
                          bool (*fn)(struct domain *d, mfn_t mfn, void *arg),
                          void *arg);

/*
 * Page sharing: frame mfn of d leaves d (off its page list, tot_pages - 1)
 * for a pseudo-owner `to` (dom_cow) that keeps no page list.  Its
 * references and words stay as they are; when its last reference goes it
 * is freed without an owner's list.  Caller holds a reference.
 */
void domheap_page_give_away(struct domain *d, mfn_t mfn, domid_t to);

#endif /* HVLAB_CORE_MM_ALLOC_H */
