/*
 * core/mm/p2m_sharing.c - page sharing (mem_sharing.h has the life cycle).
 *
 * Rules:
 *   S1  A frame becomes shared only with exactly its allocation reference
 *       and type count 0 (nobody maps it); it then moves to dom_cow, takes
 *       a PGT_shared_page type reference and one general reference for the
 *       gfn (invariant 22: owner dom_cow, type shared, M2P SHARED).
 *   S2  Every ram_shared p2m entry holds one general reference on its
 *       frame; the reference goes with the entry (share, unshare, remove,
 *       teardown) through shared_drop_gfn_ref, which frees the frame with
 *       its last gfn.
 *   S3  Shared frames are never writable: the p2m type is read-only, and
 *       a writable mapping asks for P2M_UNSHARE first (-XEN_ENOMEM if no
 *       frame is left for the copy).
 *   S4  sharing_lock serialises the reference checks of S1/S2 across
 *       domains; it nests inside the p2m locks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/guest_access.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/mem_sharing.h"
#include "core/mm/p2m.h"
#include "core/mm/p2m_private.h"
#include "core/vcpu.h"
#include "trace/trace.h"

static hv_lock_t sharing_lock =
    HV_LOCK_INITIALIZER("mem_sharing", LOCK_P2M + 5);

#define TRC_SHARE(ev, d, gfn, mfn, other, rc) \
    TRC(hvlab_p2m, ev, (uint8_t)(d)->m->host_id, (d)->domid, (gfn), (mfn), \
        (other), (int32_t)(rc))

/* ---- dom_cow -------------------------------------------------------------- */

static void dom_cow_free(struct machine *m)
{
    free(atomic_exchange(&m->dom_cow, NULL));
}

struct domain *p2m_dom_cow(struct machine *m)
{
    struct domain *d = atomic_load(&m->dom_cow);
    if (d)
        return d;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->domid = DOMID_COW;
    d->m = m;
    d->kind = DOMAIN_PV;
    d->paging = PAGING_PV;
    d->npt_root = INVALID_MFN;
    d->page_list_head = d->page_list_tail = PAGE_LIST_NULL;
    hv_lock_init(&d->page_alloc_lock, "dom_cow.page_alloc", LOCK_PAGE_ALLOC);
    struct domain *none = NULL;
    if (!atomic_compare_exchange_strong(&m->dom_cow, &none, d)) {
        free(d);
        return none;
    }
    machine_at_destroy(m, dom_cow_free);
    return d;
}

/* ---- references (S2) ----------------------------------------------------------- */

static bool frame_unused(struct machine *m, mfn_t mfn, uint64_t extra)
{
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t c = atomic_load(&pg->count_info);
    return (c & PGC_allocated) && (c & PGC_count_mask) == 1 + extra;
}

/* One gfn stops mapping shared frame mfn (sharing_lock held). */
static void shared_drop_gfn_ref_locked(struct machine *m, mfn_t mfn)
{
    put_page(m, mfn);
    if (frame_unused(m, mfn, 0)) {
        put_page_type(m, mfn);
        put_page_alloc_ref(m, mfn);                 /* frees it */
    }
}

void mem_sharing_drop_gfn_ref(struct machine *m, mfn_t mfn)
{
    hv_lock(&sharing_lock);
    shared_drop_gfn_ref_locked(m, mfn);
    hv_unlock(&sharing_lock);
}

/* ---- nominate ----------------------------------------------------------------------- */

int mem_sharing_nominate_gfn(struct domain *d, pfn_t gfn, uint64_t *handle)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    struct machine *m = d->m;
    struct domain *cow = p2m_dom_cow(m);
    if (!cow)
        return -XEN_ENOMEM;

    p2m_lock(d);
    hv_lock(&sharing_lock);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn;
    int rc = -XEN_EINVAL;
    p2m_decode(p2m_read_leaf(d, gfn), &mfn, &t, &a);
    if (t == p2m_ram_shared && mfn != INVALID_MFN) {
        *handle = mfn;                              /* already shared */
        rc = 0;
        goto out;
    }
    if (!p2m_is_sharable(t) || mfn == INVALID_MFN ||
        mfn_to_page(m, mfn)->owner != d->domid)
        goto out;
    rc = -XEN_EBUSY;
    if (!frame_unused(m, mfn, 0) ||                 /* S1 */
        (atomic_load(&mfn_to_page(m, mfn)->type_info) & PGT_count_mask))
        goto out;
    rc = get_page_type(m, mfn, PGT_shared_page);
    if (rc)
        goto out;
    get_page_light(m, mfn);                         /* the gfn's ref (S2) */
    domheap_page_give_away(d, mfn, DOMID_COW);
    rc = p2m_set_entry(d, gfn, mfn, p2m_ram_shared, a);
    if (rc == 0)
        *handle = mfn;
out:
    TRC_SHARE(share_nominate, d, gfn, mfn, INVALID_MFN, rc);
    hv_unlock(&sharing_lock);
    p2m_unlock(d);
    return rc;
}

/* ---- share -------------------------------------------------------------------------- */

static void lock_pair(struct domain *a, struct domain *b)
{
    if (a == b || a->domid < b->domid) {
        p2m_lock(a);
        p2m_lock(b);
    } else {
        p2m_lock(b);
        p2m_lock(a);
    }
}

int mem_sharing_share(struct domain *sd, pfn_t sgfn, uint64_t sh,
                      struct domain *cd, pfn_t cgfn, uint64_t ch)
{
    if (!sd || !cd || !sd->p2m || !cd->p2m || sd->m != cd->m)
        return -XEN_EINVAL;
    struct machine *m = sd->m;
    lock_pair(sd, cd);
    hv_lock(&sharing_lock);
    mfn_t smfn, cmfn;
    p2m_type_t st, ct;
    p2m_access_t sa, ca;
    int rc;
    p2m_decode(p2m_read_leaf(sd, sgfn), &smfn, &st, &sa);
    p2m_decode(p2m_read_leaf(cd, cgfn), &cmfn, &ct, &ca);
    if (st != p2m_ram_shared || smfn != sh) {
        rc = XENMEM_SHARING_OP_S_HANDLE_INVALID;
        goto out;
    }
    if (ct != p2m_ram_shared || cmfn != ch) {
        rc = XENMEM_SHARING_OP_C_HANDLE_INVALID;
        goto out;
    }
    rc = 0;
    if (smfn == cmfn)
        goto out;
    get_page_light(m, smfn);                        /* cgfn's new ref */
    rc = p2m_set_entry(cd, cgfn, smfn, p2m_ram_shared, ca);
    if (rc) {
        put_page(m, smfn);
        goto out;
    }
    shared_drop_gfn_ref_locked(m, cmfn);
out:
    TRC_SHARE(share_share, cd, cgfn, smfn, cmfn, rc);
    hv_unlock(&sharing_lock);
    p2m_unlock(sd);
    p2m_unlock(cd);
    return rc;
}

/* ---- unshare (S3) ---------------------------------------------------------------------- */

int mem_sharing_unshare_locked(struct domain *d, pfn_t gfn)
{
    struct machine *m = d->m;
    mfn_t old, copy = INVALID_MFN;
    p2m_type_t t;
    p2m_access_t a;
    int rc = 0;

    p2m_decode(p2m_read_leaf(d, gfn), &old, &t, &a);
    if (t != p2m_ram_shared || old == INVALID_MFN)
        return 0;
    rc = alloc_domheap_page(d, &copy);
    if (rc) {
        rc = -XEN_ENOMEM;
        copy = INVALID_MFN;
        goto out;
    }
    memcpy(mfn_to_virt_w(m, copy), mfn_to_virt(m, old), PAGE_SIZE);
    rc = p2m_set_entry(d, gfn, copy, p2m_ram_rw, p2m_access_rwx);
    if (rc) {
        put_page_alloc_ref(m, copy);
        goto out;
    }
    mem_sharing_drop_gfn_ref(m, old);
out:
    TRC_SHARE(share_unshare, d, gfn, old, copy, rc);
    return rc;
}

int mem_sharing_unshare(struct domain *d, pfn_t gfn)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    p2m_lock(d);
    int rc = mem_sharing_unshare_locked(d, gfn);
    p2m_unlock(d);
    return rc;
}

/* ---- XENMEM_sharing_op ----------------------------------------------------------------- */

long mem_sharing_memop(struct vcpu *v, uint64_t arg)
{
    struct xen_mem_sharing_op op;
    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -XEN_EFAULT;
    if (!v->d->is_privileged)
        return -XEN_EPERM;
    struct domain *d = op.domain == DOMID_SELF ? v->d
                                                : machine_domain(v->d->m, op.domain);
    if (!d)
        return -XEN_ESRCH;
    if (!d->p2m)
        return -XEN_EINVAL;

    switch (op.op) {
    case XENMEM_sharing_op_nominate_gfn: {
        uint64_t h = 0;
        int rc = mem_sharing_nominate_gfn(d, op.u.nominate.u.gfn, &h);
        if (rc)
            return rc;
        op.u.nominate.handle = h;
        return copy_to_guest(v, arg, &op, sizeof(op)) ? -XEN_EFAULT : 0;
    }
    case XENMEM_sharing_op_share: {
        struct domain *cd = machine_domain(v->d->m, op.u.share.client_domain);
        if (!cd)
            return -XEN_ESRCH;
        return mem_sharing_share(d, op.u.share.source_gfn,
                                 op.u.share.source_handle, cd,
                                 op.u.share.client_gfn,
                                 op.u.share.client_handle);
    }
    default:
        return -XEN_ENOSYS;
    }
}
