/*
 * core/grant/table.c - a domain's grant table: frames, version, size ops.
 *
 * Rules:
 *   T1  The shared entry frames are Xen pages shared writable with the
 *       granter (alloc_xen_shared_page): the guest writes its entries
 *       directly, Xen keeps a writable type ref so they can never become
 *       page tables.  The v2 status frames are shared read-only
 *       (alloc_xen_shared_page_ro, Xen's SHARE_ro): a PV guest cannot map
 *       them writable and forge GTF_reading/GTF_writing.  They are only ever added (growth, up to
 *       grant.max_frames) until the domain is destroyed, except status
 *       frames, which a switch to version 1 frees.
 *   T2  A new table is version 1 with no frames; GNTTABOP_setup_table (or
 *       an HVM guest's XENMEM_add_to_physmap) grows it.
 *   T3  setup_table / query_size / get_status_frames / get_version name a
 *       domain: DOMID_SELF, or another one only for a privileged caller
 *       (GNTST_permission_denied; get_version -EPERM); unknown ids are
 *       GNTST_bad_domain (get_version -ESRCH).  Each takes count == 1
 *       (-EINVAL otherwise).
 *   T4  setup_table returns mfns for a PV domain and, for an HVM one, the
 *       gfns where the guest placed the frames (INVALID_GFN if not placed).
 *       A frame_list that cannot be written is GNTST_bad_virt_addr.
 *   T5  set_version: 1 or 2, else -EINVAL; refused with -EBUSY while any
 *       entry past the GNTTAB_NR_RESERVED_ENTRIES reserved ones is pinned
 *       (the toolstack's reserved grants may stay mapped).  v2 -> v1 with
 *       a reserved entry v1 cannot express (frame >= 2^32, transitive) is
 *       -ERANGE.  v2 -> v1 frees the status frames; a status frame the
 *       guest still maps (an extra reference) keeps the table at v2 with
 *       -EBUSY (XSA-255: a freed status frame must not stay mapped).  A
 *       switch clears every shared frame except the reserved entries,
 *       which are converted to the new layout (status bits included).
 *   T6  HVM placements (shared_gfn[], status_gfn[]) change only under d's
 *       p2m lock, together with the p2m entry.  add_to_physmap evicts
 *       what was at the gfn with physmap_evict (a Xen page there is only
 *       unhooked and its owner forgets it) and maps the table frame while
 *       holding a general reference taken under the table lock (XSA-379):
 *       a concurrent set_version(1) sees the frame in use (-EBUSY) and
 *       cannot free it under the new entry; a frame no longer in the
 *       table by then (domain destroyed) is unhooked again.
 */
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/memory.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/guest_access.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/vcpu.h"
#include "trace/trace.h"

static unsigned max_status_frames(unsigned max_frames)
{
    return status_frames_for(max_frames);
}

int gnttab_domain_init(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = calloc(1, sizeof(*gt));
    if (!gt)
        return -XEN_ENOMEM;
    const struct hv_options *o = &d->m->opt;
    gt->d = d;
    gt->version = 1;
    gt->max_frames = o->grant_max_frames ? o->grant_max_frames : 1;
    unsigned ms = max_status_frames(gt->max_frames);
    gt->shared = calloc(gt->max_frames, sizeof(mfn_t));
    gt->shared_gfn = calloc(gt->max_frames, sizeof(pfn_t));
    gt->status = calloc(ms, sizeof(mfn_t));
    gt->status_gfn = calloc(ms, sizeof(pfn_t));
    gt->active = calloc((size_t)gt->max_frames * GNT_PER_FRAME_V1,
                        sizeof(*gt->active));
    if (!gt->shared || !gt->shared_gfn || !gt->status || !gt->status_gfn ||
        !gt->active) {
        d->grant_table = gt;
        gnttab_domain_free(d);
        return -XEN_ENOMEM;
    }
    for (unsigned i = 0; i < gt->max_frames; i++)
        gt->shared_gfn[i] = INVALID_PFN;
    for (unsigned i = 0; i < ms; i++)
        gt->status_gfn[i] = INVALID_PFN;
    unsigned mt = o->grant_max_maptrack_frames ? o->grant_max_maptrack_frames
                                               : 1;
    gt->maptrack_max = mt * MAPTRACK_PER_FRAME;
    gt->maptrack_free = MAPTRACK_TAIL;
    hv_lock_init(&gt->lock, "grant.table", LOCK_GNT_TABLE);
    hv_lock_init(&gt->maptrack_lock, "grant.maptrack", LOCK_GNT_MAPTRACK);
    d->grant_table = gt;
    return 0;
}

void gnttab_domain_free(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = d->grant_table;
    if (!gt)
        return;
    free(gt->shared);
    free(gt->shared_gfn);
    free(gt->status);
    free(gt->status_gfn);
    free(gt->active);
    free(gt->maptrack);
    free(gt);
    d->grant_table = NULL;
}

/* An HVM guest's placement of a table frame leaves its p2m (T6). */
static void unplace(struct domain *d, pfn_t *gfn)
{
    if (!d->p2m)
        return;
    p2m_lock(d);
    if (*gfn != INVALID_PFN)
        (void)p2m_set_entry(d, *gfn, INVALID_MFN, p2m_invalid,
                            p2m_access_rwx);
    *gfn = INVALID_PFN;
    p2m_unlock(d);
}

void gnttab_physmap_unhooked(struct domain *d, mfn_t mfn, pfn_t gfn)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = d->grant_table;
    if (!gt)
        return;
    /* T6: the p2m lock (held) guards the placements; the arrays are
       allocated at their maximum size, so stale bounds are harmless. */
    for (unsigned i = 0; i < gt->max_frames; i++)
        if (gt->shared_gfn[i] == gfn && gt->shared[i] == mfn)
            gt->shared_gfn[i] = INVALID_PFN;
    for (unsigned i = 0; i < max_status_frames(gt->max_frames); i++)
        if (gt->status_gfn[i] == gfn && gt->status[i] == mfn)
            gt->status_gfn[i] = INVALID_PFN;
}

void gnttab_domain_destroy(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = d->grant_table;
    if (!gt)
        return;
    gnttab_release_mappings(d);
    gnttab_xsa_restore(d);
    hv_lock(&gt->lock);
    unsigned old = gt->nr_frames;
    gt->released = true;
    hv_unlock(&gt->lock);
    for (unsigned i = 0; i < gt->nr_frames; i++) {
        unplace(d, &gt->shared_gfn[i]);
        free_xen_shared_page(d->m, gt->shared[i]);
    }
    for (unsigned i = 0; i < gt->nr_status; i++) {
        unplace(d, &gt->status_gfn[i]);
        free_xen_shared_page(d->m, gt->status[i]);
    }
    gt->nr_status = 0;     /* nr_frames stays: the active entries' extent */
    TRC(hvlab_grant, grow, (uint8_t)d->m->host_id, d->domid, old, 0, 0,
        (uint8_t)gt->version);
}

static int add_status_frames(struct grant_table *gt, unsigned want)
{
    while (gt->nr_status < want) {
        mfn_t mfn;
        int rc = alloc_xen_shared_page_ro(gt->d, &mfn);      /* T1 */
        if (rc)
            return rc;
        gt->status[gt->nr_status++] = mfn;
    }
    return 0;
}

int gnttab_grow(struct grant_table *gt, unsigned nr)
{
    if (gt->released)
        return -XEN_EINVAL;
    if (nr > gt->max_frames)
        return -XEN_EINVAL;
    unsigned old = gt->nr_frames;
    int rc = 0;
    while (gt->nr_frames < nr && rc == 0) {
        mfn_t mfn;
        rc = alloc_xen_shared_page(gt->d, &mfn);
        if (rc == 0) {                  /* published for lock-free readers */
            __atomic_store_n(&gt->shared[gt->nr_frames], mfn, __ATOMIC_RELAXED);
            __atomic_store_n(&gt->nr_frames, gt->nr_frames + 1,
                             __ATOMIC_RELEASE);
        }
    }
    if (rc == 0 && gt->version == 2)
        rc = add_status_frames(gt, status_frames_for(gt->nr_frames));
    if (old != gt->nr_frames)
        TRC(hvlab_grant, grow, (uint8_t)gt->d->m->host_id, gt->d->domid,
            old, gt->nr_frames, gt->nr_status, (uint8_t)gt->version);
    return rc;
}

int gnttab_op_domain(struct vcpu *v, domid_t dom, struct domain **d)
{
    if (dom == DOMID_SELF || dom == v->d->domid) {
        *d = v->d;
        return GNTST_okay;
    }
    *d = dom < HV_MAX_DOMAINS ? machine_domain(v->d->m, dom) : NULL;
    if (!*d || !(*d)->grant_table || atomic_load(&(*d)->is_dying))
        return GNTST_bad_domain;
    if (!v->d->is_privileged)
        return GNTST_permission_denied;
    return GNTST_okay;
}

/* The frame number a guest sees for shared/status frame mfn (T4). */
static uint64_t frame_number(struct domain *d, mfn_t mfn, pfn_t gfn)
{
    if (is_pv_domain(d))
        return mfn;
    return gfn == INVALID_PFN ? (uint64_t)INVALID_PFN : gfn;
}

/* The frame of the single-op commands below: exactly one op, copied in
   (-XEN_EINVAL / -XEN_EFAULT), and copied back out with its status; rc is
   the hypercall's result unless that copy faults. */
static long op_in(struct vcpu *v, uint64_t uop, unsigned count, void *op,
                  size_t size)
{
    if (count != 1)
        return -XEN_EINVAL;
    if (copy_from_guest(v, op, uop, size))
        return -XEN_EFAULT;
    return 0;
}

static long op_out(struct vcpu *v, uint64_t uop, const void *op, size_t size,
                   long rc)
{
    if (copy_to_guest(v, uop, op, size))
        return -XEN_EFAULT;
    return rc;
}

/* The answer of setup_table (status false: shared frames, grown to nr)
   and get_status_frames (status true: a v2 table's status frames): the
   frame_number of frames 0..nr-1 of dom's table into the guest array at
   list (xen_pfn_t and uint64_t elements alike).  A GNTST_ status:
   gnttab_op_domain's refusal, general_error for a count the table cannot
   give, bad_virt_addr at the first element that cannot be written. */
_Static_assert(sizeof(xen_pfn_t) == sizeof(uint64_t),
               "setup_table and get_status_frames lists share a layout");
static int16_t frame_list(struct vcpu *v, domid_t dom, bool status,
                          unsigned nr, const void *list)
{
    struct domain *d;
    int16_t st = (int16_t)gnttab_op_domain(v, dom, &d);
    if (st != GNTST_okay)
        return st;
    struct grant_table *gt = d->grant_table;
    hv_lock(&gt->lock);
    if (status ? (gt->version != 2 || nr > gt->nr_status)
               : (nr > gt->max_frames || gnttab_grow(gt, nr) != 0)) {
        st = GNTST_general_error;
    } else {
        const mfn_t *frames = status ? gt->status : gt->shared;
        const pfn_t *gfns = status ? gt->status_gfn : gt->shared_gfn;
        uint64_t va = (uint64_t)(uintptr_t)list;
        for (unsigned i = 0; i < nr; i++) {
            uint64_t f = frame_number(d, frames[i], gfns[i]);
            if (copy_to_guest(v, va + i * sizeof(f), &f, sizeof(f))) {
                st = GNTST_bad_virt_addr;
                break;
            }
        }
    }
    hv_unlock(&gt->lock);
    return st;
}

long gnttab_op_setup_table(struct vcpu *v, uint64_t uop, unsigned count)
{
    struct gnttab_setup_table op;
    long in = op_in(v, uop, count, &op, sizeof(op));
    if (in)
        return in;
    op.status = frame_list(v, op.dom, false, op.nr_frames,
                           op.frame_list.p);
    return op_out(v, uop, &op, sizeof(op), 0);
}

long gnttab_op_query_size(struct vcpu *v, uint64_t uop, unsigned count)
{
    struct gnttab_query_size op;
    long in = op_in(v, uop, count, &op, sizeof(op));
    if (in)
        return in;
    struct domain *d;
    op.status = (int16_t)gnttab_op_domain(v, op.dom, &d);
    if (op.status == GNTST_okay) {
        op.nr_frames = d->grant_table->nr_frames;
        op.max_nr_frames = d->grant_table->max_frames;
    }
    return op_out(v, uop, &op, sizeof(op), 0);
}

/* T5: a pinned entry past the reserved ones. */
static bool any_pinned(struct grant_table *gt)
{
    unsigned n = nr_grant_entries(gt);
    for (unsigned i = GNTTAB_NR_RESERVED_ENTRIES; i < n; i++)
        if (gt->active[i].pin)
            return true;
    return false;
}

/* A reserved entry in a version-independent form (v1 flags with the
   status bits, domid, frame). */
struct reserved_entry {
    uint16_t flags;
    domid_t domid;
    uint64_t frame;
};

static unsigned nr_reserved(struct grant_table *gt)
{
    unsigned n = nr_grant_entries(gt);
    return n < GNTTAB_NR_RESERVED_ENTRIES ? n : GNTTAB_NR_RESERVED_ENTRIES;
}

/* T5: can v1 express the reserved entries of this v2 table? */
static bool reserved_fit_v1(struct grant_table *gt)
{
    for (unsigned i = 0; i < nr_reserved(gt); i++) {
        const grant_entry_v2_t *e =
            (const grant_entry_v2_t *)mfn_to_virt(gt->d->m, gt->shared[0]) + i;
        unsigned type = e->hdr.flags & GTF_type_mask;
        if (type == GTF_transitive ||
            (type == GTF_permit_access && (e->full_page.frame >> 32)))
            return false;
    }
    return true;
}

static void reserved_save(struct grant_table *gt,
                          struct reserved_entry r[GNTTAB_NR_RESERVED_ENTRIES])
{
    memset(r, 0, sizeof(*r) * GNTTAB_NR_RESERVED_ENTRIES);
    const void *f = gt->nr_frames ? mfn_to_virt(gt->d->m, gt->shared[0])
                                  : NULL;
    for (unsigned i = 0; i < nr_reserved(gt); i++) {
        if (gt->version == 1) {
            const grant_entry_v1_t *e = (const grant_entry_v1_t *)f + i;
            r[i].flags = e->flags;
            r[i].domid = e->domid;
            r[i].frame = e->frame;
            continue;
        }
        const grant_entry_v2_t *e = (const grant_entry_v2_t *)f + i;
        if ((e->hdr.flags & GTF_type_mask) != GTF_permit_access)
            continue;                           /* dropped, as Xen does */
        r[i].flags = e->hdr.flags | atomic_load(gnt_status_word(gt, i));
        r[i].domid = e->hdr.domid;
        r[i].frame = e->full_page.frame;
    }
}

/* After the switch to gt->version: the frames cleared, the reserved
   entries written back in the new layout. */
static void reserved_restore(struct grant_table *gt,
                             const struct reserved_entry
                                 r[GNTTAB_NR_RESERVED_ENTRIES])
{
    for (unsigned i = 0; i < gt->nr_frames; i++)
        memset(mfn_to_virt_w(gt->d->m, gt->shared[i]), 0, PAGE_SIZE);
    for (unsigned i = 0; i < gt->nr_status; i++)
        memset(mfn_to_virt_w(gt->d->m, gt->status[i]), 0, PAGE_SIZE);
    void *f = gt->nr_frames ? mfn_to_virt_w(gt->d->m, gt->shared[0]) : NULL;
    for (unsigned i = 0; i < nr_reserved(gt); i++) {
        if (gt->version == 1) {
            grant_entry_v1_t *e = (grant_entry_v1_t *)f + i;
            e->frame = (uint32_t)r[i].frame;
            e->domid = r[i].domid;
            e->flags = r[i].flags;
            continue;
        }
        grant_entry_v2_t *e = (grant_entry_v2_t *)f + i;
        atomic_store(gnt_status_word_w(gt, i),
                     r[i].flags & (GTF_reading | GTF_writing));
        e->full_page.frame = r[i].frame;
        e->hdr.domid = r[i].domid;
        e->hdr.flags = r[i].flags & ~(GTF_reading | GTF_writing);
    }
}

long gnttab_op_set_version(struct vcpu *v, uint64_t uop, unsigned count)
{
    struct gnttab_set_version op;
    long in = op_in(v, uop, count, &op, sizeof(op));
    if (in)
        return in;
    struct domain *d = v->d;
    struct grant_table *gt = d->grant_table;
    long rc = 0;
    hv_lock(&gt->lock);
    unsigned old = gt->version;
    if (op.version != 1 && op.version != 2) {
        rc = -XEN_EINVAL;
    } else if (op.version == gt->version) {
        rc = 0;
    } else if (any_pinned(gt)) {
        rc = -XEN_EBUSY;                                /* T5 */
    } else if (op.version == 1 && !reserved_fit_v1(gt)) {
        rc = -XEN_ERANGE;                               /* T5 */
    } else if (op.version == 2) {
        struct reserved_entry r[GNTTAB_NR_RESERVED_ENTRIES];
        reserved_save(gt, r);
        gt->version = 2;
        rc = add_status_frames(gt, status_frames_for(gt->nr_frames));
        if (rc)
            gt->version = 1;    /* frames added so far stay for a retry */
        else
            reserved_restore(gt, r);
    } else {
        /* XSA-255: v2 -> v1 frees the status frames; one still mapped by
           the guest (more than Xen's allocation ref) must not be freed. */
        for (unsigned i = 0; i < gt->nr_status; i++) {
            uint64_t w = atomic_load(&mfn_to_page(d->m, gt->status[i])
                                          ->count_info);
            /* every ref beyond the allocation ref is a guest's (the guest
               may have given that one back: core/mm/alloc.c A8) */
            uint64_t c = (w & PGC_count_mask) - !!(w & PGC_allocated);
            /* grant.xsa255 (off by default): Xen before the XSA-255 fix
               did not look for the guest's mappings here and freed the
               frames under them.  hvlab drops Xen's references the same
               way; the guest's own reference keeps the frame from the
               heap (the table has forgotten it, the guest still maps it:
               a Xen page without PGC_allocated, fuzz/isolation.c I7). */
            if (c > 0 && !d->m->opt.grant_xsa255)
                rc = -XEN_EBUSY;
        }
        if (rc == 0) {
            struct reserved_entry r[GNTTAB_NR_RESERVED_ENTRIES];
            reserved_save(gt, r);
            for (unsigned i = 0; i < gt->nr_status; i++) {
                unplace(d, &gt->status_gfn[i]);
                free_xen_shared_page(d->m, gt->status[i]);
            }
            gt->nr_status = 0;
            gt->version = 1;
            reserved_restore(gt, r);
        }
    }
    TRC(hvlab_grant, set_version, (uint8_t)d->m->host_id, d->domid,
        (uint8_t)old, (uint8_t)op.version, (int32_t)rc);
    op.version = gt->version;
    hv_unlock(&gt->lock);
    return op_out(v, uop, &op, sizeof(op), rc);
}

long gnttab_op_get_version(struct vcpu *v, uint64_t uop, unsigned count)
{
    struct gnttab_get_version op;
    long in = op_in(v, uop, count, &op, sizeof(op));
    if (in)
        return in;
    struct domain *d;
    int st = gnttab_op_domain(v, op.dom, &d);
    if (st == GNTST_bad_domain)
        return -XEN_ESRCH;
    if (st != GNTST_okay)
        return -XEN_EPERM;
    op.version = d->grant_table->version;
    return op_out(v, uop, &op, sizeof(op), 0);
}

long gnttab_op_get_status_frames(struct vcpu *v, uint64_t uop,
                                 unsigned count)
{
    struct gnttab_get_status_frames op;
    long in = op_in(v, uop, count, &op, sizeof(op));
    if (in)
        return in;
    op.status = frame_list(v, op.dom, true, op.nr_frames,
                           op.frame_list.p);
    return op_out(v, uop, &op, sizeof(op), 0);
}

/* T6: is mfn still table frame idx (status or shared) of gt? */
static bool frame_still(struct grant_table *gt, bool status, uint64_t idx,
                        mfn_t mfn)
{
    if (gt->released)
        return false;
    if (status)
        return gt->version == 2 && idx < gt->nr_status &&
               gt->status[idx] == mfn;
    return idx < gt->nr_frames && gt->shared[idx] == mfn;
}

int gnttab_map_frame(struct domain *d, uint64_t idx, pfn_t gpfn)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = d->grant_table;
    if (!gt || !d->p2m)
        return -XEN_EINVAL;
    bool status = idx & XENMAPIDX_grant_table_status;
    idx &= ~(uint64_t)XENMAPIDX_grant_table_status;
    hv_lock(&gt->lock);
    mfn_t mfn = INVALID_MFN;
    pfn_t *where = NULL;
    int rc = 0;
    if (status) {
        /* v2 only; status frames exist for every shared frame. */
        if (gt->version != 2 || idx >= gt->nr_status)
            rc = -XEN_EINVAL;
        else {
            mfn = gt->status[idx];
            where = &gt->status_gfn[idx];
        }
    } else {
        /* Xen grows the table to idx + 1 when the guest asks for it. */
        if (idx >= gt->max_frames || gnttab_grow(gt, (unsigned)idx + 1))
            rc = -XEN_EINVAL;
        else {
            mfn = gt->shared[idx];
            where = &gt->shared_gfn[idx];
        }
    }
    /* T6 (XSA-379): the frame cannot be freed while we place it. */
    if (rc == 0 && !get_page(d->m, mfn, d))
        rc = -XEN_EINVAL;
    hv_unlock(&gt->lock);
    if (rc)
        return rc;

    /* The frame moves: its old placement goes, then what was at gpfn. */
    p2m_lock(d);
    pfn_t old = *where;
    if (old != INVALID_PFN && old != gpfn) {
        (void)p2m_set_entry(d, old, INVALID_MFN, p2m_invalid, p2m_access_rwx);
        *where = INVALID_PFN;
    }
    rc = physmap_evict(d, gpfn, mfn);
    if (rc == 0)
        rc = p2m_set_entry(d, gpfn, mfn, p2m_ram_rw, p2m_access_rwx);
    if (rc == 0 && !frame_still(gt, status, idx, mfn)) {
        /* Left the table meanwhile: no placement of a stale frame. */
        (void)p2m_set_entry(d, gpfn, INVALID_MFN, p2m_invalid,
                            p2m_access_rwx);
        rc = -XEN_EINVAL;
    }
    if (rc == 0)
        *where = gpfn;
    p2m_unlock(d);
    put_page(d->m, mfn);
    return rc;
}

/* Both read without the table's lock: shared frames are only ever added
   (T1) into an array sized at creation, and taking the lock would be a
   scheduling point of its own in det mode for callers that only look. */
bool gnttab_is_shared_frame(struct domain *d, mfn_t mfn)
{
    struct grant_table *gt = d ? d->grant_table : NULL;
    if (!gt || mfn == INVALID_MFN)
        return false;
    unsigned n = __atomic_load_n(&gt->nr_frames, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        if (__atomic_load_n(&gt->shared[i], __ATOMIC_RELAXED) == mfn)
            return true;
    return false;
}

bool gnttab_holds_frame(struct domain *d, mfn_t mfn)
{
    struct grant_table *gt = d ? d->grant_table : NULL;
    if (!gt || gt->released || mfn == INVALID_MFN)
        return false;
    for (unsigned i = 0; i < gt->nr_frames; i++)
        if (gt->shared[i] == mfn)
            return true;
    for (unsigned i = 0; i < gt->nr_status; i++)
        if (gt->status[i] == mfn)
            return true;
    return false;
}

unsigned gnttab_nr_shared_frames(struct domain *d)
{
    struct grant_table *gt = d ? d->grant_table : NULL;
    return gt ? __atomic_load_n(&gt->nr_frames, __ATOMIC_ACQUIRE) : 0;
}
