/*
 * core/mm/alloc.c - frames given to domains and taken back; domain memory
 * set-up and teardown.
 *
 * Rules:
 *   A1  A frame is on exactly one list: the machine's free heap, or its
 *       owner's page list (linked by mfn through list_next/list_prev).
 *       The owner's list and tot_pages change together, under
 *       d->page_alloc_lock; the heap is machine.c's.
 *   A2  tot_pages never exceeds max_pages: the check and the increment are
 *       under the same lock.
 *   A3  A frame leaves its domain only when its last general reference
 *       goes (frame.c put_page); nothing here frees a referenced frame.
 *   A4  No put of any reference happens with page_alloc_lock held (a put
 *       may free, and freeing takes the lock).
 *   A5  Teardown (mm_relinquish) drops, in order: vCPU roots and parked
 *       type puts, pins, the references held by every remaining validated
 *       or partial table (forced devalidation, L4 first, which also breaks
 *       linear cycles), and finally the allocation references.  Once no
 *       other domain maps its frames, every frame is back in the heap.
 *       Xen pages shared with d (A6) are their owners' to unshare first
 *       (grant table, event channels); any still shared are unshared here.
 *   A6  A Xen page shared with a guest is on the owner's xenpage list (not
 *       its page list) and in xenheap_pages (not tot_pages); it holds
 *       PGC_xen_heap from alloc_xen_shared_page until it returns to the
 *       heap.  A destroyed domain is reaped when both counts are 0.
 *       Xen keeps one type ref on it while shared: writable
 *       (alloc_xen_shared_page) or PGT_none (alloc_xen_shared_page_ro,
 *       which the guest can never map writable).  That type ref is the Xen
 *       user's hold (grant table, event channels): only the Xen user drops
 *       it, once, with free_xen_shared_page.
 *   A8  A Xen page returns to the heap only once its Xen user has let it
 *       go (A6).  A last general put while the Xen user still holds it
 *       (the guest gave back its allocation ref, Xen's guest_remove_page,
 *       and dropped its last mapping) only detaches it, as Xen's
 *       free_domheap_pages does for a xenheap page: off the xenpage list,
 *       xenheap_pages - 1 (the domain may be reaped), owner DOMID_XEN,
 *       count 0 so nobody can take a reference again; PGC_xen_heap and
 *       Xen's type ref stay.  The Xen user keeps using the memory, and
 *       its free_xen_shared_page returns the detached page to the heap.
 *       If the Xen user lets go first, the last put frees it as usual.
 *   A7  add_to_physmap never frees a Xen page it displaces from the p2m
 *       (physmap_evict): the slot is unhooked, the page stays shared and
 *       its owner forgets the gfn; only normal RAM is removed with its
 *       allocation ref.
 */
#include <assert.h>
#include <stdlib.h>

#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/history.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/private.h"
#include "core/mm/pv_pt.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"

/* ---- the domain page list (A1), page_alloc_lock held ------------------- */

static void list_append_to(struct domain *d, uint32_t *head, uint32_t *tail,
                           mfn_t mfn)
{
    HV_AUDIT_TOUCH(d->m, mfn);                              /* audit.h A2 */
    struct page_info *pg = mfn_to_page(d->m, mfn);
    page_note(pg);                                          /* core/wrec.h */
    pg->list_tag = head == &d->xenpage_list_head ? PAGE_ON_XEN
                                                 : PAGE_ON_DOMAIN;
    pg->list_next = PAGE_LIST_NULL;
    pg->list_prev = *tail;
    if (*tail != PAGE_LIST_NULL) {
        page_note(mfn_to_page(d->m, *tail));
        mfn_to_page(d->m, *tail)->list_next = (uint32_t)mfn;
    } else
        *head = (uint32_t)mfn;
    *tail = (uint32_t)mfn;
}

static void list_unlink_from(struct domain *d, uint32_t *head, uint32_t *tail,
                             mfn_t mfn)
{
    HV_AUDIT_TOUCH(d->m, mfn);                              /* audit.h A2 */
    struct page_info *pg = mfn_to_page(d->m, mfn);
    page_note(pg);                                          /* core/wrec.h */
    pg->list_tag = PAGE_ON_NONE;
    if (pg->list_prev != PAGE_LIST_NULL) {
        page_note(mfn_to_page(d->m, pg->list_prev));
        mfn_to_page(d->m, pg->list_prev)->list_next = pg->list_next;
    } else
        *head = pg->list_next;
    if (pg->list_next != PAGE_LIST_NULL) {
        page_note(mfn_to_page(d->m, pg->list_next));
        mfn_to_page(d->m, pg->list_next)->list_prev = pg->list_prev;
    } else
        *tail = pg->list_prev;
    pg->list_next = pg->list_prev = PAGE_LIST_NULL;
}

static void list_append_locked(struct domain *d, mfn_t mfn)
{
    list_append_to(d, &d->page_list_head, &d->page_list_tail, mfn);
}

static void list_unlink_locked(struct domain *d, mfn_t mfn)
{
    list_unlink_from(d, &d->page_list_head, &d->page_list_tail, mfn);
}

static void for_each_on(struct domain *d, const uint32_t *head,
                        bool (*fn)(struct domain *d, mfn_t mfn, void *arg),
                        void *arg)
{
    hv_lock(&d->page_alloc_lock);
    for (uint32_t i = *head; i != PAGE_LIST_NULL;
         i = mfn_to_page(d->m, i)->list_next)
        if (!fn(d, i, arg))
            break;
    hv_unlock(&d->page_alloc_lock);
}

void domain_for_each_page(struct domain *d,
                          bool (*fn)(struct domain *d, mfn_t mfn, void *arg),
                          void *arg)
{
    for_each_on(d, &d->page_list_head, fn, arg);
}

void domain_for_each_xen_page(struct domain *d,
                              bool (*fn)(struct domain *d, mfn_t mfn, void *arg),
                              void *arg)
{
    for_each_on(d, &d->xenpage_list_head, fn, arg);
}

/* ---- allocation --------------------------------------------------------- */

/* A frame just joined d (n: its count of such frames now): no pfn yet,
   traced and noted in the frame's history. */
static void alloc_done(struct domain *d, mfn_t mfn, uint64_t n)
{
    struct machine *m = d->m;
    if (get_gpfn_from_mfn(m, mfn) != INVALID_M2P_ENTRY)
        set_gpfn_from_mfn(m, mfn, INVALID_M2P_ENTRY);
    TRC(hvlab_mm, page_alloc, (uint8_t)m->host_id, mfn, d->domid, n);
    frame_note(m, mfn, FH_ALLOC, 0, n);
}

int alloc_domheap_page(struct domain *d, mfn_t *out)
{
    struct machine *m = d->m;
    if (atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    /* inject: alloc.domheap - fail = out of memory (filters: d, and the
       vCPU allocating when it is one of d's). */
    int rc = INJ_FAIL_AT(alloc_domheap, d->domid,
                         current && current->d == d ? current->vcpu_id
                                                    : INJ_ANY, 0);
    if (rc)
        return rc;

    hv_lock(&d->page_alloc_lock);
    if (atomic_load(&d->tot_pages) >= d->max_pages) {           /* A2 */
        hv_unlock(&d->page_alloc_lock);
        return -XEN_ENOMEM;
    }
    mfn_t mfn = machine_heap_alloc(m);
    if (mfn == INVALID_MFN) {
        hv_unlock(&d->page_alloc_lock);
        return -XEN_ENOMEM;
    }
    frame_assign(m, mfn, d);
    list_append_locked(d, mfn);
    uint64_t tot = atomic_fetch_add(&d->tot_pages, 1) + 1;
    hv_unlock(&d->page_alloc_lock);
    alloc_done(d, mfn, tot);
    *out = mfn;
    return 0;
}

int alloc_xen_shared_page(struct domain *d, mfn_t *out)
{
    struct machine *m = d->m;
    if (atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    hv_lock(&d->page_alloc_lock);
    mfn_t mfn = machine_heap_alloc(m);
    if (mfn == INVALID_MFN) {
        hv_unlock(&d->page_alloc_lock);
        return -XEN_ENOMEM;
    }
    frame_assign_xen_shared(m, mfn, d);
    list_append_to(d, &d->xenpage_list_head, &d->xenpage_list_tail, mfn);
    uint64_t n = atomic_fetch_add(&d->xenheap_pages, 1) + 1;
    hv_unlock(&d->page_alloc_lock);
    alloc_done(d, mfn, n);
    *out = mfn;
    return 0;
}

int alloc_xen_shared_page_ro(struct domain *d, mfn_t *out)
{
    mfn_t mfn;
    int rc = alloc_xen_shared_page(d, &mfn);
    if (rc)
        return rc;
    /* A6: Xen's type ref becomes a PGT_none one (SHARE_ro).  Nobody else
       knows the frame yet: the writable ref goes to 0 and the none ref
       is taken through the type mutators (frame.c). */
    put_page_type(d->m, mfn);
    rc = get_page_type(d->m, mfn, PGT_none);
    if (rc) {
        put_page_alloc_ref(d->m, mfn);         /* frees it (no type ref) */
        return -XEN_ENOMEM;
    }
    *out = mfn;
    return 0;
}

int physmap_evict(struct domain *d, pfn_t gfn, mfn_t keep)
{
    struct machine *m = d->m;
    if (!d->p2m)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    mfn_t prev = get_gfn_query_unlocked(d, gfn, &t);
    int rc = 0;
    if (prev == keep && prev != INVALID_MFN) {
        /* already there */
    } else if (prev == INVALID_MFN && t != p2m_map_foreign &&
               !p2m_is_paging(t)) {
        /* a hole */
    } else if (prev != INVALID_MFN && mfn_valid(m, prev) &&
               page_get_owner(m, prev) == d && !p2m_is_grant(t) &&
               (atomic_load(&mfn_to_page(m, prev)->count_info) &
                PGC_xen_heap)) {
        /* A7: a Xen page keeps its references; only the slot goes. */
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, p2m_access_rwx);
        if (rc == 0) {
            gnttab_physmap_unhooked(d, prev, gfn);
            evtchn_shared_info_unhooked(d, prev, gfn);
        }
    } else {
        rc = p2m_remove_page(d, gfn);
    }
    p2m_unlock(d);
    return rc;
}

static void heap_free(struct machine *m, mfn_t mfn, struct domain *d,
                      uint64_t old_type, uint64_t tot);

void free_xen_shared_page(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t c = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);

    if (c & PGC_allocated) {
        /* A6: Xen's type ref (writable, or none for SHARE_ro), then the
           allocation ref; the last put frees it. */
        put_page_type(m, mfn);
        put_page_alloc_ref(m, mfn);
        return;
    }
    if (!(c & PGC_xen_heap) || !(t & PGT_count_mask))
        return;                         /* not a Xen page still held */
    /* The guest gave back the allocation ref (A8).  Drop Xen's hold, then
       look again: a guest mapping's last put may have detached it in
       between (it saw Xen's type ref). */
    put_page_type(m, mfn);
    c = atomic_load(&pg->count_info);
    if ((c & PGC_count_mask) == 0 && (c & PGC_xen_heap) &&
        pg->owner == DOMID_XEN) {
        /* Detached (A8): nobody can take a ref (count 0); to the heap. */
        HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
        heap_free(m, mfn, NULL, t, 0);
    }
    /* else a guest mapping still holds it: its last put frees it. */
}

/* The frame (count 0, off every list) goes back to the machine's heap. */
static void heap_free(struct machine *m, mfn_t mfn, struct domain *d,
                      uint64_t old_type, uint64_t tot)
{
    struct page_info *pg = mfn_to_page(m, mfn);
    frame_release(m, mfn);
    TRC(hvlab_mm, page_free, (uint8_t)m->host_id, mfn, pg->owner, old_type,
        tot);
    frame_note(m, mfn, FH_FREE, old_type, tot);
    if (get_gpfn_from_mfn(m, mfn) != INVALID_M2P_ENTRY)
        set_gpfn_from_mfn(m, mfn, INVALID_M2P_ENTRY);
    page_note(pg);                                          /* core/wrec.h */
    pg->owner = DOMID_INVALID;
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    machine_heap_free(m, mfn);
    if (d && tot == 0)
        domain_reap_if_dead(d);
}

void free_domheap_page(struct machine *m, mfn_t mfn)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    struct page_info *pg = mfn_to_page(m, mfn);
    struct domain *d = machine_domain(m, pg->owner);
    uint64_t old_type = atomic_load(&pg->type_info), tot = 0;
    bool xen_shared = atomic_load(&pg->count_info) & PGC_xen_heap;

    if (d && xen_shared) {                                      /* A6 */
        hv_lock(&d->page_alloc_lock);
        list_unlink_from(d, &d->xenpage_list_head, &d->xenpage_list_tail,
                         mfn);
        uint64_t xen = atomic_fetch_sub(&d->xenheap_pages, 1) - 1;
        tot = atomic_load(&d->tot_pages);
        if (old_type & PGT_count_mask) {
            /* A8: its Xen user still holds it (count 0: no general ref
               can be taken again).  Detached, not freed. */
            page_note(pg);                                  /* core/wrec.h */
            pg->owner = DOMID_XEN;
            HV_AUDIT_TOUCH(m, mfn);                         /* audit.h A2 */
            hv_unlock(&d->page_alloc_lock);
            if (tot == 0 && xen == 0)
                domain_reap_if_dead(d);
            return;
        }
        hv_unlock(&d->page_alloc_lock);
    } else if (d) {
        hv_lock(&d->page_alloc_lock);
        list_unlink_locked(d, mfn);
        tot = atomic_fetch_sub(&d->tot_pages, 1) - 1;
        hv_unlock(&d->page_alloc_lock);
    }
    heap_free(m, mfn, d, old_type, tot);
}

void domheap_page_give_away(struct domain *d, mfn_t mfn, domid_t to)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    struct page_info *pg = mfn_to_page(d->m, mfn);
    hv_lock(&d->page_alloc_lock);
    list_unlink_locked(d, mfn);
    atomic_fetch_sub(&d->tot_pages, 1);
    page_note(pg);                                          /* core/wrec.h */
    pg->owner = to;
    HV_AUDIT_TOUCH(d->m, mfn);                              /* audit.h A2 */
    hv_unlock(&d->page_alloc_lock);
}

/* ---- domain memory life cycle ------------------------------------------- */

int mm_domain_init(struct domain *d)
{
    pt_register_ops();
    hv_lock_init(&d->page_alloc_lock, "page_alloc", LOCK_PAGE_ALLOC);
    d->page_list_head = d->page_list_tail = PAGE_LIST_NULL;
    d->xenpage_list_head = d->xenpage_list_tail = PAGE_LIST_NULL;
    atomic_store(&d->xenheap_pages, 0);
    atomic_store(&d->tot_pages, 0);
    atomic_store(&d->nr_l4_pages, 0);
    d->max_gpfn = 0;
    return 0;
}

int mm_populate(struct domain *d, pfn_t first, uint64_t nr, mfn_t *mfns)
{
    if (first + nr < first)
        return -XEN_EINVAL;
    for (uint64_t i = 0; i < nr; i++) {
        mfn_t mfn;
        int rc = alloc_domheap_page(d, &mfn);
        if (rc) {
            /* Leave nothing half-done: give back what this call took. */
            while (i-- > 0) {
                mfn_t back = mfns ? mfns[i] : INVALID_MFN;
                if (back != INVALID_MFN)
                    put_page_alloc_ref(d->m, back);
            }
            return rc;
        }
        set_gpfn_from_mfn(d->m, mfn, first + i);
        if (mfns)
            mfns[i] = mfn;
        if (first + i > d->max_gpfn)
            d->max_gpfn = first + i;
    }
    return 0;
}

/* Snapshot of a domain's frames, each holding one general ref (A4). */
struct page_snapshot {
    mfn_t *mfn;
    size_t n;
};

static bool snap_one(struct domain *d, mfn_t mfn, void *arg)
{
    struct page_snapshot *s = arg;
    if (get_page(d->m, mfn, d))
        s->mfn[s->n++] = mfn;
    return true;
}

static int snapshot_pages(struct domain *d, struct page_snapshot *s)
{
    /* tot_pages only shrinks once the domain is dying. */
    size_t cap = (size_t)atomic_load(&d->tot_pages) + 1;
    s->n = 0;
    s->mfn = malloc(cap * sizeof(*s->mfn));
    if (!s->mfn)
        return -XEN_ENOMEM;
    domain_for_each_page(d, snap_one, s);
    assert(s->n <= cap);
    return 0;
}

static void drop_root(struct vcpu *v, bool user)
{
    mfn_t old = pt_set_baseptr(v, user, INVALID_MFN);
    if (old != INVALID_MFN)
        put_page_and_type(v->d->m, old);
}

void mm_relinquish(struct domain *d)
{
    struct machine *m = d->m;
    struct page_snapshot s;

    atomic_store(&d->is_dying, true);

    /* 0. Close any open writable-pagetable batch: its unhooked L2 entry and
     *    snapshot hold references the steps below must see restored. */
    ptwr_domain_destroy(d);

    /* 1. vCPU roots and parked type puts. */
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        while (put_old_guest_table(v) == -HV_ERESTART)
            ;
        drop_root(v, false);
        drop_root(v, true);
    }

    /* 0b. Xen pages still shared with d (A5, A6). */
    for (;;) {
        hv_lock(&d->page_alloc_lock);
        mfn_t x = INVALID_MFN;
        for (uint32_t i = d->xenpage_list_head; i != PAGE_LIST_NULL;
             i = mfn_to_page(m, i)->list_next)
            if (atomic_load(&mfn_to_page(m, i)->count_info) & PGC_allocated) {
                x = i;
                break;
            }
        hv_unlock(&d->page_alloc_lock);
        if (x == INVALID_MFN)
            break;
        free_xen_shared_page(m, x);
    }

    if (snapshot_pages(d, &s))
        return;                         /* out of host memory: leak */

    /* 2. Pins. */
    for (size_t i = 0; i < s.n; i++)
        if (page_clear_pinned(m, s.mfn[i]) == 0)
            put_page_and_type(m, s.mfn[i]);

    /* 3. Tables still validated (circular linear uses, leaked refs) or
          partial: drop what their entries hold, top level first. */
    for (unsigned level = 4; level >= 1; level--)
        for (size_t i = 0; i < s.n; i++) {
            uint64_t t = atomic_load(&mfn_to_page(m, s.mfn[i])->type_info);
            if (pgt_level(t) == level)
                frame_force_devalidate(m, s.mfn[i]);
        }

    /* 4. Allocation refs, then the snapshot's own refs (frees). */
    for (size_t i = 0; i < s.n; i++)
        put_page_alloc_ref(m, s.mfn[i]);
    for (size_t i = 0; i < s.n; i++)
        put_page(m, s.mfn[i]);
    free(s.mfn);
}
