/*
 * core/grant/copy.c - GNTTABOP_copy: the hypervisor copies between frames.
 *
 * Rules (XEN-NOTES 6.6):
 *   C1  Either side names a grant (GNTCOPY_source_gref / dest_gref: the
 *       domain's entry `ref` must grant the caller access) or a frame of
 *       the caller itself (domid must be DOMID_SELF, else
 *       GNTST_permission_denied); an unknown domain is GNTST_bad_domain.
 *   C2  offset + len past the page on either side is GNTST_bad_copy_arg,
 *       checked as Xen's gnttab_copy_buf does: after both domains are
 *       looked up and both sides claimed (their errors come first).  A
 *       sub-page grant (v2) limits the range further (GNTST_general_error
 *       outside it).
 *   C3  A grant side takes a transient pin (host-read for the source,
 *       host-write for the destination, which must not be readonly) and a
 *       general ref for the copy; the destination also a writable type ref
 *       (a page table is never a copy destination: GNTST_general_error).
 *       A frame side takes a general ref (GNTST_bad_page if there is no
 *       RAM) and the same writable type ref for a destination.
 *   C4  After the copy the destination is marked dirty (gnttab_mark_dirty,
 *       why=copy); releasing the destination's writable pin marks it again
 *       (why=copy_release), as Xen does.  Everything taken is released in
 *       reverse order, also on errors.
 */
#include <string.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/vcpu.h"
#include "trace/trace.h"

struct copy_side {
    struct domain *d;       /* looked up (C1); refs/pins only if claimed */
    bool gref;
    bool claimed;           /* a pin (gref) was taken */
    bool typed;             /* holds a writable type ref */
    grant_ref_t ref;
    mfn_t mfn;              /* general ref held when != INVALID_MFN */
    uint16_t start, length; /* accessible bytes (sub-page grants) */
};

/* C1: the side's domain, before anything is taken. */
static int lookup(struct vcpu *v, const struct gnttab_copy_ptr *p, bool gref,
                  struct copy_side *s)
{
    struct domain *ld = v->d;
    s->gref = gref;
    s->mfn = INVALID_MFN;
    s->typed = false;
    s->claimed = false;
    s->d = NULL;
    if (!gref && p->domid != DOMID_SELF)
        return GNTST_permission_denied;
    struct domain *d = p->domid == DOMID_SELF ? ld
                       : p->domid < HV_MAX_DOMAINS
                             ? machine_domain(ld->m, p->domid) : NULL;
    if (!d || !d->grant_table)
        return GNTST_bad_domain;
    s->d = d;
    return GNTST_okay;
}

/* C3: the pin / frame and its references. */
static int claim(struct vcpu *v, const struct gnttab_copy_ptr *p, bool dest,
                 struct copy_side *s)
{
    struct domain *ld = v->d;
    struct domain *d = s->d;
    int st;
    mfn_t mfn;
    s->start = 0;
    s->length = PAGE_SIZE;
    if (s->gref) {
        st = gnt_acquire(d, p->u.ref, ld->domid,
                         1u << (dest ? PIN_HSTW : PIN_HSTR), !dest, true,
                         &mfn, &s->start, &s->length);
        if (st != GNTST_okay)
            return st;
        s->claimed = true;
        s->ref = p->u.ref;
        s->mfn = mfn;
    } else {
        p2m_type_t t;
        mfn = get_page_from_gfn(d, p->u.gmfn, &t,
                                dest ? (P2M_ALLOC | P2M_UNSHARE) : P2M_ALLOC);
        if (mfn == INVALID_MFN)
            return p2m_is_paging(t) ? GNTST_eagain : GNTST_bad_page;
        s->mfn = mfn;
        if (!p2m_is_ram(t) || page_get_owner(d->m, mfn) != d)
            return GNTST_bad_page;
    }
    if (dest) {
        if (get_page_type(d->m, mfn, PGT_writable_page) != 0)
            return GNTST_general_error;
        s->typed = true;
    }
    return GNTST_okay;
}

/* C2: the range, checked once both sides are claimed (Xen's
   gnttab_copy_buf). */
static int check_range(const struct gnttab_copy_ptr *p, uint16_t len,
                       const struct copy_side *s)
{
    if (p->offset < s->start ||
        (uint32_t)p->offset + len > (uint32_t)s->start + s->length)
        return GNTST_general_error;             /* sub-page */
    return GNTST_okay;
}

static void release(struct vcpu *v, struct copy_side *s, bool dest)
{
    if (!s->d)
        return;
    struct machine *m = s->d->m;
    if (s->mfn != INVALID_MFN) {
        if (s->typed)
            put_page_type(m, s->mfn);
    }
    if (s->claimed) {
        gnt_release(s->d, s->ref, v->d->domid,
                    1u << (dest ? PIN_HSTW : PIN_HSTR));
        if (dest && s->typed)
            gnttab_mark_dirty_why(s->d, s->ref, s->mfn, GDIRTY_COPY_RELEASE);
    }
    if (s->mfn != INVALID_MFN)
        put_page(m, s->mfn);
}

void gnttab_copy_one(struct vcpu *v, struct gnttab_copy *op)
{
    struct copy_side src = { 0 }, dst = { 0 };
    int st = GNTST_okay;
    src.mfn = dst.mfn = INVALID_MFN;

    /* Xen's order: both domains, the source, the destination, then the
       range (C1, C3, C2). */
    st = lookup(v, &op->source, op->flags & GNTCOPY_source_gref, &src);
    if (st == GNTST_okay)
        st = lookup(v, &op->dest, op->flags & GNTCOPY_dest_gref, &dst);
    if (st == GNTST_okay)
        st = claim(v, &op->source, false, &src);
    if (st == GNTST_okay)
        st = claim(v, &op->dest, true, &dst);
    if (st == GNTST_okay &&
        ((uint32_t)op->source.offset + op->len > PAGE_SIZE ||
         (uint32_t)op->dest.offset + op->len > PAGE_SIZE))
        st = GNTST_bad_copy_arg;
    if (st == GNTST_okay)
        st = check_range(&op->source, op->len, &src);
    if (st == GNTST_okay)
        st = check_range(&op->dest, op->len, &dst);
    if (st == GNTST_okay) {
        struct machine *m = v->d->m;
        memmove((uint8_t *)mfn_to_virt_w(m, dst.mfn) + op->dest.offset,
                (const uint8_t *)mfn_to_virt(m, src.mfn) + op->source.offset,
                op->len);
        gnttab_mark_dirty_why(dst.d, dst.gref ? dst.ref : ~0u, dst.mfn,
                              GDIRTY_COPY);
    }
    release(v, &dst, true);
    release(v, &src, false);
    op->status = (int16_t)st;
    TRC(hvlab_grant, copy, (uint8_t)v->d->m->host_id, v->d->domid,
        op->source.domid, op->dest.domid, src.mfn, dst.mfn, op->len,
        op->flags, (int16_t)st);
}
