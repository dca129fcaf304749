/*
 * core/grant/active.c - active entries: pins and the status bits.
 *
 * Rules:
 *   A1  gnt_pin() is the only writer of act->pin; it refuses nothing (the
 *       caller checked overflow: a pin is refused with GNTST_general_error
 *       when any counter has reached 0x80) and traces before/after.
 *   A2  Xen's status bits are written only here.  v1: the shared
 *       {flags,domid} word is updated as one 32-bit compare-and-swap,
 *       checking type, grantee and readonly in the same word it changes,
 *       with GNT_CMPXCHG_RETRIES retries after the first attempt, as
 *       Xen's _set_status_v1 ("unstable" entry ->
 *       GNTST_general_error).  v2: the check reads the header, the bits go
 *       to the status frame; the header is read again afterwards and a
 *       change (revoked, grantee changed, made readonly under a write pin)
 *       undoes the bits and fails, as Xen's _set_status_v2 does.
 *   A3  GTF_reading is set on the first pin and GTF_writing on the first
 *       write pin (host or device); gnt_reduce_status clears GTF_writing
 *       when no write pin is left and GTF_reading when pin reaches 0.
 *   A4  The first pin resolves the entry's frame (gfn for an HVM granter,
 *       mfn for a PV one) with a general reference: paging -> GNTST_eagain,
 *       anything but present unshared RAM -> GNTST_bad_page; later pins
 *       reuse act->mfn (frozen while pinned, invariant 24).  A write pin
 *       looks up with P2M_UNSHARE (still shared -> GNTST_eagain); a
 *       read-only pin may name a shared (dom_cow) frame.
 *   A5  A map (not a copy) refuses an entry with GTF_sub_page, v1 or v2,
 *       before any status bit changes (Xen masks it in _set_status).
 */
#include <stdatomic.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "trace/trace.h"

static const uint32_t pin_inc[PIN_NR] = {
    [PIN_HSTW] = GNTPIN_hstw_inc, [PIN_HSTR] = GNTPIN_hstr_inc,
    [PIN_DEVW] = GNTPIN_devw_inc, [PIN_DEVR] = GNTPIN_devr_inc,
};

static const void *entry_ptr(struct grant_table *gt, grant_ref_t ref)
{
    unsigned per = gnt_per_frame(gt);
    size_t size = gt->version == 2 ? sizeof(grant_entry_v2_t)
                                   : sizeof(grant_entry_v1_t);
    const uint8_t *f = mfn_to_virt(gt->d->m, gt->shared[ref / per]);
    return f + (ref % per) * size;
}

const _Atomic uint32_t *gnt_shared_word(struct grant_table *gt,
                                        grant_ref_t ref)
{
    return (const _Atomic uint32_t *)entry_ptr(gt, ref);
}

const _Atomic uint16_t *gnt_status_word(struct grant_table *gt,
                                        grant_ref_t ref)
{
    const uint8_t *f = mfn_to_virt(gt->d->m,
                                   gt->status[ref / GNT_STATUS_PER_FRAME]);
    return (const _Atomic uint16_t *)(f + (ref % GNT_STATUS_PER_FRAME) *
                                              sizeof(grant_status_t));
}

_Atomic uint32_t *gnt_shared_word_w(struct grant_table *gt, grant_ref_t ref)
{
    return ram_w(gnt_shared_word(gt, ref), sizeof(uint32_t));
}

_Atomic uint16_t *gnt_status_word_w(struct grant_table *gt, grant_ref_t ref)
{
    return ram_w(gnt_status_word(gt, ref), sizeof(uint16_t));
}

uint16_t gnt_status_bits(struct grant_table *gt, grant_ref_t ref)
{
    if (gt->version == 2)
        return atomic_load(gnt_status_word(gt, ref)) &
               (GTF_reading | GTF_writing);
    return (uint16_t)(atomic_load(gnt_shared_word(gt, ref)) &
                      (GTF_reading | GTF_writing));
}

uint64_t gnt_entry_frame(struct grant_table *gt, grant_ref_t ref)
{
    if (gt->version == 2)
        return ((const grant_entry_v2_t *)entry_ptr(gt, ref))->full_page.frame;
    return ((const grant_entry_v1_t *)entry_ptr(gt, ref))->frame;
}

static void trace_status(struct grant_table *gt, grant_ref_t ref,
                         uint32_t before, uint32_t after)
{
    TRC(hvlab_grant, status_change, (uint8_t)gt->d->m->host_id, gt->d->domid,
        ref, gt->active[ref].mfn, before, after);
}

/* The flags check common to v1 and v2 (A2); a map also refuses
   GTF_sub_page in either version (A5). */
static int check_flags(uint16_t flags, domid_t id, domid_t ldom,
                       bool readonly, bool for_copy)
{
    unsigned type = flags & GTF_type_mask;
    if (!for_copy && (flags & GTF_sub_page))
        return GNTST_general_error;
    if (type != GTF_permit_access && !(for_copy && type == GTF_transitive))
        return GNTST_general_error;
    if (type == GTF_transitive)
        return GNTST_general_error;     /* transitive grants: not modelled */
    if (id != ldom)
        return GNTST_general_error;
    if (!readonly && (flags & GTF_readonly))
        return GNTST_general_error;     /* write-pin of a r/o grant entry */
    return GNTST_okay;
}

static int set_status_v1(struct grant_table *gt, grant_ref_t ref,
                         domid_t ldom, bool readonly, bool for_copy)
{
    _Atomic uint32_t *w = gnt_shared_word_w(gt, ref);
    uint32_t old = atomic_load(w);
    for (unsigned i = 0; i <= GNT_CMPXCHG_RETRIES; i++) {  /* 1 + retries */
        uint16_t flags = (uint16_t)old;
        domid_t id = (domid_t)(old >> 16);
        int st = check_flags(flags, id, ldom, readonly, for_copy);
        if (st != GNTST_okay)
            return st;
        uint32_t nw = old | GTF_reading | (readonly ? 0 : GTF_writing);
        if (nw == old)
            return GNTST_okay;
        if (atomic_compare_exchange_strong(w, &old, nw)) {
            trace_status(gt, ref, old, nw);
            return GNTST_okay;
        }
    }
    return GNTST_general_error;         /* shared entry is unstable */
}

static int set_status_v2(struct grant_table *gt, grant_ref_t ref,
                         domid_t ldom, bool readonly, bool for_copy)
{
    const _Atomic uint32_t *w = gnt_shared_word(gt, ref);
    uint32_t hdr = atomic_load(w);
    int st = check_flags((uint16_t)hdr, (domid_t)(hdr >> 16), ldom, readonly,
                         for_copy);
    if (st != GNTST_okay)
        return st;
    _Atomic uint16_t *s = gnt_status_word_w(gt, ref);
    uint16_t add = GTF_reading | (readonly ? 0 : GTF_writing);
    uint16_t before = atomic_fetch_or(s, add);
    /* The guest may have changed the header meanwhile (A2). */
    uint32_t again = atomic_load(w);
    if (check_flags((uint16_t)again, (domid_t)(again >> 16), ldom, readonly,
                    for_copy) != GNTST_okay) {
        atomic_fetch_and(s, (uint16_t)~(add & ~before));
        return GNTST_general_error;
    }
    if ((before | add) != before)
        trace_status(gt, ref, before, before | add);
    return GNTST_okay;
}

int gnt_set_status(struct grant_table *gt, grant_ref_t ref, domid_t ldom,
                   bool readonly, bool for_copy)
{
    return gt->version == 2
           ? set_status_v2(gt, ref, ldom, readonly, for_copy)
           : set_status_v1(gt, ref, ldom, readonly, for_copy);
}

void gnt_reduce_status(struct grant_table *gt, grant_ref_t ref)
{
    uint32_t pin = gt->active[ref].pin;
    uint16_t clear = 0;
    if (!(pin & GNTPIN_write_mask))
        clear |= GTF_writing;
    if (!pin)
        clear |= GTF_reading;
    if (!clear || gt->released)
        return;
    if (gt->version == 2) {
        _Atomic uint16_t *s = gnt_status_word_w(gt, ref);
        uint16_t before = atomic_fetch_and(s, (uint16_t)~clear);
        if (before & clear)
            trace_status(gt, ref, before, before & ~clear);
    } else {
        _Atomic uint32_t *w = gnt_shared_word_w(gt, ref);
        uint32_t before = atomic_fetch_and(w, ~(uint32_t)clear);
        if (before & clear)
            trace_status(gt, ref, before, before & ~(uint32_t)clear);
    }
}

void gnt_pin(struct grant_table *gt, grant_ref_t ref, domid_t ldom,
             enum gnt_pin_kind kind, int delta)
{
    struct active_grant_entry *act = &gt->active[ref];
    uint32_t before = act->pin;
    act->pin = delta > 0 ? before + pin_inc[kind] : before - pin_inc[kind];
    TRC(hvlab_grant, pin_change, (uint8_t)gt->d->m->host_id, gt->d->domid,
        ldom, ref, act->mfn, (uint8_t)kind, before, act->pin);
}

/* A4: the frame the entry names, with a general reference (Xen's
   get_paged_frame / check_get_page_from_gfn). */
static int resolve_frame(struct domain *rd, uint64_t frame, bool readonly,
                         mfn_t *mfn)
{
    p2m_type_t t;
    mfn_t m = get_page_from_gfn(rd, frame, &t,
                                readonly ? P2M_ALLOC
                                         : (P2M_ALLOC | P2M_UNSHARE));
    if (p2m_is_paging(t) || (!readonly && p2m_is_shared(t))) {
        if (m != INVALID_MFN)
            put_page(rd->m, m);
        return GNTST_eagain;        /* paged out, or unsharing failed */
    }
    if (m == INVALID_MFN)
        return GNTST_bad_page;
    /* A read-only pin may name a shared (dom_cow) frame. */
    if (!p2m_is_ram(t) ||
        (!p2m_is_shared(t) && page_get_owner(rd->m, m) != rd)) {
        put_page(rd->m, m);
        return GNTST_bad_page;
    }
    *mfn = m;
    return GNTST_okay;
}

int gnt_acquire(struct domain *rd, grant_ref_t ref, domid_t ldom,
                unsigned kinds, bool readonly, bool for_copy, mfn_t *mfn,
                uint16_t *start, uint16_t *length)
{
    struct grant_table *gt = rd->grant_table;
    int st = GNTST_okay;
    hv_lock(&gt->lock);
    if (ref >= nr_grant_entries(gt)) {
        hv_unlock(&gt->lock);
        return GNTST_bad_gntref;
    }
    struct active_grant_entry *act = &gt->active[ref];
    if (act->pin && act->domid != ldom)
        st = GNTST_general_error;               /* pinned by another */
    else if (act->pin & GNTPIN_overflow)
        st = GNTST_general_error;               /* counter overflow risk */
    if (st != GNTST_okay) {
        hv_unlock(&gt->lock);
        return st;
    }
    bool first = act->pin == 0;
    bool first_write = !readonly && !(act->pin & GNTPIN_write_mask);
    if (first || first_write) {
        st = gnt_set_status(gt, ref, ldom, readonly, for_copy);
        if (st != GNTST_okay) {
            hv_unlock(&gt->lock);
            /* XSA-316 (grant.xsa316, off by default): a misplaced bracket
               in map_grant_ref's `rc = _set_status(...) != GNTST_okay`
               stored the comparison, so a refused pin (bad domid or flags
               in the entry) returned status 1.  The fix returns the
               negative GNTST_* code; copy never had the bug. */
            if (rd->m->opt.grant_xsa316 && !for_copy)
                return 1;
            return st;
        }
    }
    if (first) {
        uint16_t off = 0, len = PAGE_SIZE;
        bool sub = false;
        if (gt->version == 2) {
            const grant_entry_v2_t *e = entry_ptr(gt, ref);
            if (e->hdr.flags & GTF_sub_page) {
                sub = true;
                off = e->sub_page.page_off;
                len = e->sub_page.length;
                if (!for_copy || (uint32_t)off + len > PAGE_SIZE)
                    st = GNTST_general_error;   /* sub-page: copy only */
            }
        }
        uint64_t frame = gnt_entry_frame(gt, ref);
        mfn_t m = INVALID_MFN;
        if (st == GNTST_okay)
            st = resolve_frame(rd, frame, readonly, &m);
        if (st != GNTST_okay) {
            gnt_reduce_status(gt, ref);         /* pin is 0: clears both */
            hv_unlock(&gt->lock);
            return st;
        }
        act->domid = ldom;
        act->mfn = m;
        act->frame = frame;
        act->start = off;
        act->length = len;
        act->is_sub_page = sub;
    } else {
        if (act->is_sub_page && !for_copy) {
            if (first_write)
                gnt_reduce_status(gt, ref);
            hv_unlock(&gt->lock);
            return GNTST_general_error;
        }
        get_page_light(rd->m, act->mfn);        /* pinned: frame held */
    }
    for (unsigned k = 0; k < PIN_NR; k++)
        if (kinds & (1u << k))
            gnt_pin(gt, ref, ldom, (enum gnt_pin_kind)k, +1);
    *mfn = act->mfn;
    if (start)
        *start = act->start;
    if (length)
        *length = act->length;
    hv_unlock(&gt->lock);
    return GNTST_okay;
}

void gnt_release(struct domain *rd, grant_ref_t ref, domid_t ldom,
                 unsigned kinds)
{
    struct grant_table *gt = rd->grant_table;
    hv_lock(&gt->lock);
    for (unsigned k = 0; k < PIN_NR; k++)
        if (kinds & (1u << k))
            gnt_pin(gt, ref, ldom, (enum gnt_pin_kind)k, -1);
    gnt_reduce_status(gt, ref);
    hv_unlock(&gt->lock);
}
