/*
 * core/mm/p2m_paging.c - xenpaging's hypervisor side (mem_paging.h has the
 * state diagram).
 *
 * Rules:
 *   G1  Every state change is one p2m_set_entry under the p2m lock.
 *   G2  nominate: type pageable, a frame of d, general count exactly the
 *       allocation reference (PGC_allocated|1), type count 0.
 *   G3  evict: type paging_out, and with evict's own temporary reference
 *       the count is exactly PGC_allocated|2 with type count 0; otherwise
 *       -XEN_EBUSY and nothing changes (a mapper's reference wins).
 *   G4  A paged gfn is requested from the pager once (paged -> paging_in);
 *       a nominated gfn that is touched goes straight back to ram_rw.
 *   G5  The request ring holds at most P2M_PAGING_RING gfns; a full ring
 *       drops the request (the gfn stays paging_in; the pager finds it by
 *       scanning, as a xenpaging pager would after a lost event).
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
#include "core/mm/mem_paging.h"
#include "core/mm/p2m.h"
#include "core/mm/p2m_private.h"
#include "core/vcpu.h"
#include "trace/trace.h"

#define TRC_PAGING(ev, d, gfn, mfn, rc) \
    TRC(hvlab_p2m, ev, (uint8_t)(d)->m->host_id, (d)->domid, (gfn), (mfn), \
        (int32_t)(rc))

static mfn_t entry_of(struct domain *d, pfn_t gfn, p2m_type_t *t,
                      p2m_access_t *a)
{
    mfn_t mfn;
    p2m_decode(p2m_read_leaf(d, gfn), &mfn, t, a);
    return mfn;
}

static bool only_allocation_ref(struct machine *m, mfn_t mfn, uint64_t extra)
{
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t c = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    return (c & PGC_allocated) && (c & PGC_count_mask) == 1 + extra &&
           (t & PGT_count_mask) == 0;
}

int mem_paging_nominate(struct domain *d, pfn_t gfn)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = entry_of(d, gfn, &t, &a);
    int rc = -XEN_EINVAL;
    if (!p2m_is_pageable(t) || mfn == INVALID_MFN ||
        mfn_to_page(d->m, mfn)->owner != d->domid)
        goto out;
    rc = -XEN_EBUSY;                                        /* G2 */
    if (!only_allocation_ref(d->m, mfn, 0))
        goto out;
    rc = p2m_set_entry(d, gfn, mfn, p2m_ram_paging_out, a);
out:
    TRC_PAGING(paging_nominate, d, gfn, mfn, rc);
    p2m_unlock(d);
    return rc;
}

int mem_paging_evict(struct domain *d, pfn_t gfn)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    struct machine *m = d->m;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = entry_of(d, gfn, &t, &a);
    int rc = -XEN_EINVAL;
    if (t != p2m_ram_paging_out || mfn == INVALID_MFN)
        goto out;
    rc = -XEN_EBUSY;
    if (!get_page(m, mfn, d))
        goto out;
    if (!only_allocation_ref(m, mfn, 1)) {                  /* G3 */
        put_page(m, mfn);
        goto out;
    }
    rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_ram_paged, a);
    if (rc == 0)
        put_page_alloc_ref(m, mfn);
    put_page(m, mfn);                                       /* frees it */
out:
    TRC_PAGING(paging_evict, d, gfn, mfn, rc);
    p2m_unlock(d);
    return rc;
}

static void request_push(struct p2m_domain *p, pfn_t gfn)
{
    hv_lock(&p->req_lock);
    if (p->req_count < P2M_PAGING_RING) {                   /* G5 */
        p->req[(p->req_head + p->req_count) % P2M_PAGING_RING] = gfn;
        p->req_count++;
    }
    hv_unlock(&p->req_lock);
}

void p2m_mem_paging_populate_locked(struct domain *d, pfn_t gfn)
{
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = entry_of(d, gfn, &t, &a);
    int rc = 0;

    if (t == p2m_ram_paging_out && mfn != INVALID_MFN) {
        /* G4: not evicted yet - simply take it back. */
        rc = p2m_set_entry(d, gfn, mfn, p2m_ram_rw, a);
    } else if (t == p2m_ram_paged) {
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_ram_paging_in, a);
        if (rc == 0)
            request_push(d->p2m, gfn);
    } else {
        return;                         /* paging_in: already requested */
    }
    TRC_PAGING(paging_populate, d, gfn, mfn, rc);
}

int mem_paging_next_request(struct domain *d, pfn_t *gfn)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    struct p2m_domain *p = d->p2m;
    int rc = -XEN_ENOENT;
    hv_lock(&p->req_lock);
    if (p->req_count) {
        *gfn = p->req[p->req_head];
        p->req_head = (p->req_head + 1) % P2M_PAGING_RING;
        p->req_count--;
        rc = 0;
    }
    hv_unlock(&p->req_lock);
    return rc;
}

int mem_paging_prep(struct domain *d, pfn_t gfn, const void *content)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = entry_of(d, gfn, &t, &a);
    int rc = -XEN_EINVAL;
    if ((t != p2m_ram_paged && t != p2m_ram_paging_in) || mfn != INVALID_MFN)
        goto out;
    rc = alloc_domheap_page(d, &mfn);
    if (rc) {
        mfn = INVALID_MFN;
        goto out;
    }
    if (content)
        memcpy(mfn_to_virt_w(d->m, mfn), content, PAGE_SIZE);
    rc = p2m_set_entry(d, gfn, mfn, p2m_ram_paging_in, a);
    if (rc)
        put_page_alloc_ref(d->m, mfn);
out:
    TRC_PAGING(paging_prep, d, gfn, mfn, rc);
    p2m_unlock(d);
    return rc;
}

int mem_paging_resume(struct domain *d, pfn_t gfn)
{
    if (!d || !d->p2m)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = entry_of(d, gfn, &t, &a);
    int rc = -XEN_EINVAL;
    if (t == p2m_ram_paging_in && mfn != INVALID_MFN)
        rc = p2m_set_entry(d, gfn, mfn, p2m_ram_rw, a);
    TRC_PAGING(paging_resume, d, gfn, mfn, rc);
    p2m_unlock(d);
    return rc;
}

void p2m_paging_teardown(struct domain *d)
{
    if (d->p2m)
        d->p2m->req_count = 0;
}

long mem_paging_memop(struct vcpu *v, uint64_t arg)
{
    struct xen_mem_paging_op op;
    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -XEN_EFAULT;
    struct domain *d = op.domain == DOMID_SELF ? v->d
                                                : machine_domain(v->d->m, op.domain);
    if (!d)
        return -XEN_ESRCH;
    if (!v->d->is_privileged || d == v->d)
        return -XEN_EPERM;              /* the pager is another, privileged, domain */
    if (!d->p2m)
        return -XEN_EINVAL;

    switch (op.op) {
    case XENMEM_paging_op_nominate:
        return mem_paging_nominate(d, op.gfn);
    case XENMEM_paging_op_evict:
        return mem_paging_evict(d, op.gfn);
    case XENMEM_paging_op_prep: {
        uint8_t *buf = NULL;
        long rc;
        if (op.buffer.p) {
            buf = malloc(PAGE_SIZE);
            if (!buf)
                return -XEN_ENOMEM;
            if (copy_from_guest(v, buf, (uint64_t)(uintptr_t)op.buffer.p, PAGE_SIZE)) {
                free(buf);
                return -XEN_EFAULT;
            }
        }
        rc = mem_paging_prep(d, op.gfn, buf);
        free(buf);
        /* Like Xen since 4.2, prep through the hypercall makes the gfn
           guest-accessible at once (the host API keeps prep and resume
           apart, as a ring-driven pager does). */
        if (rc == 0)
            rc = mem_paging_resume(d, op.gfn);
        return rc;
    }
    default:
        return -XEN_ENOSYS;
    }
}
