/*
 * core/mm/frame.c - the one mutator of page_info.count_info and .type_info.
 *
 * Rules (page.h R1-R7 are the model; these are how this file keeps them):
 *   F1  Both words change only by compare-and-exchange loops in this file;
 *       every successful exchange is traced (hvlab_mm:count_change or
 *       type_change, old and new words) and appended to the frame history.
 *   F2  A general ref is taken only while the count is non-zero and at
 *       least two below its maximum (the last value is reserved for
 *       get_page_light, which therefore cannot fail) (R1).
 *   F3  The last general put frees the frame (alloc.c free_domheap_page);
 *       the allocation ref is dropped with PGC_allocated in one exchange.
 *   F4  The type changes only on a 0 -> 1 type-count edge (R2); a real
 *       change to a page-table, descriptor or shared type flushes the TLBs
 *       of the owner's dirty vCPUs whose last flush is not newer than the
 *       frame's tlbflush_timestamp (XEN-NOTES 1.3), so no vCPU keeps a
 *       writable translation of a frame that becomes a table.
 *   F5  The caller that moves a page-table type from S0 to SL (or takes
 *       over SP) owns its validation; everyone else spins (or returns
 *       -HV_EINTR when preemptible).  Validation failure zeroes the word
 *       (type reset) after the validator undid every reference it took.
 *   F6  The last put of a validated page-table type clears validated first
 *       (SD: others spin) and then devalidates; the type bits stay (R4).
 *   F7  PGT_partial owns the single type ref and one light general ref;
 *       whoever clears it (resume, or the parked put of old_guest_table)
 *       drops that light ref when done.
 *   F8  Page-table (de)validation is dispatched through the ops pv_pt.c
 *       registers (core/mm/private.h): this file never calls pv_pt.c.
 *   F9  Bug zoo (docs/bugzoo.md, off by default): mm.xsa309 resets
 *       linear_pt_count also when a partial validation resumes (get_type).
 *
 * The type state machine (XEN-NOTES 1.3; T = type, n = type count):
 *
 *   state  encoding                          meaning
 *   S0     T, n=0, !validated                no users; PT bits are history
 *   S0v    T, n=0, validated (non-PT T)      re-taking T is free
 *   SL     T, n=1, !validated, !partial      one caller validating
 *   SP     T, n=1, !validated, partial       (de)validation preempted
 *   SV     T, n>=1, validated                in use, n users
 *   SD     T, n=1, !validated, !partial      last put devalidating
 *
 *   from   event                         to    function
 *   S0     get T' (T' != T or PT)        SL    get_type (then validate)
 *   S0v    get T                         SV    get_type (no validation)
 *   S0/S0v get T' of non-PT type         SV    get_type (flush, validated)
 *   SL     validate ok                   SV    validate_page
 *   SL     validate -HV_ERESTART         SP    validate_page (+light ref)
 *   SL     validate error                S0(none) validate_page (reset)
 *   SP     get T                         SL    get_type (takes over)
 *   SP     parked put (old_guest_table)  SD    put_type (partial_set)
 *   SV     get T                         SV    get_type (n++)
 *   SV     put, n>1                      SV    put_type (n--)
 *   SV     last put, PT type             SD    put_type
 *   SV     last put, non-PT type         S0v   put_type
 *   SD     devalidate ok                 S0    put_final_type
 *   SD     devalidate -HV_ERESTART       SP    put_final_type (+light ref)
 *   SD     devalidate -HV_EINTR          SV    put_final_type (n stays 1)
 *
 *        get T            ok                  put n>1 / get
 *   S0 ---------> SL -----------> SV <------------------+
 *    ^            |  \restart      |  \________________/
 *    |  error     |   \            | last put (PT)
 *    +------------+    v           v
 *    ^                 SP <------ SD ------> S0
 *    |                 |  restart     ok
 *    +--(resume: SL)---+
 */
#include <assert.h>

#include "core/domain.h"
#include "core/hypercall.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/history.h"
#include "core/mm/paging.h"
#include "core/mm/private.h"
#include "core/vcpu.h"
#include "trace/trace.h"

/* ======================================================================
 * Types and helpers
 * ==================================================================== */

static const struct frame_pt_ops *_Atomic pt_ops;

void frame_set_pt_ops(const struct frame_pt_ops *ops)
{
    atomic_store(&pt_ops, ops);
}

static inline bool is_pt_type(uint64_t t)
{
    return pgt_level(t) != 0;
}

static inline struct page_info *pg_of(struct machine *m, mfn_t mfn)
{
    return mfn_to_page(m, mfn);
}

struct domain *page_get_owner(const struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return NULL;
    return machine_domain(m, m->frame_table[mfn].owner);
}

static bool owner_is_dying(struct machine *m, mfn_t mfn)
{
    struct domain *d = page_get_owner(m, mfn);
    return d && atomic_load(&d->is_dying);
}

bool mm_preempt_check(void)
{
    struct vcpu *v = current;
    if (!v || !v->in_hypercall)
        return false;
    return hypercall_preempt_check(v);
}

/*
 * Tracing of the two words.  With no session listening this must cost one
 * predicted branch: the other word's value (an extra load) and the event's
 * arguments are produced out of line, only when the event is enabled, so
 * the inlined exchange below stays a few instructions with no spills.
 */
static __attribute__((noinline, cold)) void
trace_count_change(struct machine *m, mfn_t mfn, uint64_t x, uint64_t nx)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t t = atomic_load_explicit(&pg->type_info, memory_order_relaxed);
    TRC(hvlab_mm, count_change, (uint8_t)m->host_id, mfn, pg->owner,
        x, nx, t, t);
    (void)t;
    (void)x;
    (void)nx;
}

static __attribute__((noinline, cold)) void
trace_type_change(struct machine *m, mfn_t mfn, uint64_t x, uint64_t nx)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t c = atomic_load_explicit(&pg->count_info, memory_order_relaxed);
    TRC(hvlab_mm, type_change, (uint8_t)m->host_id, mfn, pg->owner,
        c, c, x, nx);
    (void)c;
    (void)x;
    (void)nx;
}

/* F1: one exchange of count_info, traced.  true if it happened. */
static inline bool count_cas(struct machine *m, mfn_t mfn, uint64_t *x,
                             uint64_t nx)
{
    struct page_info *pg = pg_of(m, mfn);
    page_note(pg);                                      /* core/wrec.h */
    if (!atomic_compare_exchange_strong(&pg->count_info, x, nx))
        return false;
    HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
    if (TRC_ENABLED(hvlab_mm, count_change))
        trace_count_change(m, mfn, *x, nx);
    frame_history_add(m, mfn, FH_COUNT, pg->owner, *x, nx);
    return true;
}

/* F1: one exchange of type_info, traced.  true if it happened. */
static inline bool type_cas(struct machine *m, mfn_t mfn, uint64_t *x,
                            uint64_t nx)
{
    struct page_info *pg = pg_of(m, mfn);
    page_note(pg);                                      /* core/wrec.h */
    if (!atomic_compare_exchange_strong(&pg->type_info, x, nx))
        return false;
    HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
    if (TRC_ENABLED(hvlab_mm, type_change))
        trace_type_change(m, mfn, *x, nx);
    frame_history_add(m, mfn, FH_TYPE, pg->owner, *x, nx);
    return true;
}

/* Set and clear bits of type_info (single-owner phases: SL, SD). */
static uint64_t type_update(struct machine *m, mfn_t mfn, uint64_t set,
                            uint64_t clear, int64_t add)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info), nx;
    do {
        nx = (uint64_t)((int64_t)((x & ~clear) | set) + add);
    } while (!type_cas(m, mfn, &x, nx));
    return nx;
}

void frame_note(struct machine *m, mfn_t mfn, unsigned what,
                uint64_t old_word, uint64_t new_word)
{
    frame_history_add(m, mfn, (enum fh_what)what, pg_of(m, mfn)->owner,
                      old_word, new_word);
}

static inline void set_tlbflush_timestamp(struct machine *m,
                                          struct page_info *pg)
{
    page_note(pg);
    pg->tlbflush_timestamp = atomic_load(&m->tlbflush_clock);
}

/* ======================================================================
 * General references
 * ==================================================================== */

/* F2: take a ref if the count allows; returns the owner domid or -1. */
static int get_ref(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->count_info);
    do {
        if (((x + 2) & PGC_count_mask) <= 2)
            return -1;
    } while (!count_cas(m, mfn, &x, x + 1));
    return pg->owner;
}

bool get_page(struct machine *m, mfn_t mfn, const struct domain *d)
{
    if (!d || !mfn_valid(m, mfn))
        return false;
    int owner = get_ref(m, mfn);
    if (owner < 0)
        return false;
    if (owner == d->domid && d->m == m)
        return true;
    put_page(m, mfn);
    return false;
}

void get_page_light(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->count_info);
    do {
        assert((x & PGC_count_mask) != 0);              /* not allocated? */
        assert(((x + 1) & PGC_count_mask) != 0);        /* overflow? */
    } while (!count_cas(m, mfn, &x, x + 1));
}

void put_page(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->count_info), nx;
    do {
        assert((x & PGC_count_mask) != 0);
        nx = x - 1;
    } while (!count_cas(m, mfn, &x, nx));
    if ((nx & PGC_count_mask) == 0) {
        assert(!(nx & PGC_allocated));
        free_domheap_page(m, mfn);                      /* F3 */
    }
}

bool put_page_alloc_ref(struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return false;
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->count_info), nx;
    do {
        if (!(x & PGC_allocated))
            return false;
        assert((x & PGC_count_mask) != 0);
        nx = (x & ~PGC_allocated) - 1;
    } while (!count_cas(m, mfn, &x, nx));
    if ((nx & PGC_count_mask) == 0)
        free_domheap_page(m, mfn);
    return true;
}

void frame_assign(struct machine *m, mfn_t mfn, struct domain *d)
{
    struct page_info *pg = pg_of(m, mfn);
    page_note(pg);
    pg->owner = d->domid;
    HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
    uint64_t t = atomic_load(&pg->type_info);
    if (t)
        type_cas(m, mfn, &t, 0);
    pg->nr_validated_ptes = 0;
    pg->partial_flags = 0;
    pg->linear_pt_count = 0;
    uint64_t x = atomic_load(&pg->count_info);
    assert((x & PGC_count_mask) == 0);
    /* The frame is ours alone until it is on d's list: cannot race. */
    while (!count_cas(m, mfn, &x, (x & ~PGC_state) | PGC_state_inuse |
                                  PGC_allocated | 1))
        ;
}

void frame_assign_xen_shared(struct machine *m, mfn_t mfn, struct domain *d)
{
    struct page_info *pg = pg_of(m, mfn);
    frame_assign(m, mfn, d);
    uint64_t x = atomic_load(&pg->count_info);
    while (!count_cas(m, mfn, &x, x | PGC_xen_heap))
        ;
    uint64_t t = atomic_load(&pg->type_info);
    assert(t == 0);
    while (!type_cas(m, mfn, &t, PGT_writable_page | PGT_validated | 1))
        ;
}

void frame_release(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t t = atomic_load(&pg->type_info);
    uint64_t x = atomic_load(&pg->count_info);
    assert((x & PGC_count_mask) == 0);
    if (x & PGC_xen_heap)
        while (!count_cas(m, mfn, &x, x & ~PGC_xen_heap))
            ;
    if (t)
        type_cas(m, mfn, &t, 0);
    set_tlbflush_timestamp(m, pg);
    page_note(pg);
    pg->linear_pt_count = 0;
    pg->nr_validated_ptes = 0;
    pg->partial_flags = 0;
    HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
}

/* ======================================================================
 * Validation and devalidation (dispatch, F8)
 * ==================================================================== */

/* Validation of a PT frame in state SL (old = the word before we took it). */
static int validate_page(struct machine *m, mfn_t mfn, uint64_t type,
                         bool preemptible)
{
    struct page_info *pg = pg_of(m, mfn);
    const struct frame_pt_ops *ops = atomic_load(&pt_ops);
    uint64_t t0 = atomic_load(&pg->type_info);
    int rc;

    TRC(hvlab_mm, validate_begin, (uint8_t)m->host_id, mfn, pg->owner, t0,
        pg->nr_validated_ptes);
    paging_mark_frame(m, mfn, LD_SRC_PT);       /* type count 0 -> 1 */
    assert(ops);
    rc = ops->promote(m, mfn, pgt_level(type), preemptible);

    switch (rc) {
    case 0:
        type_update(m, mfn, PGT_validated, 0, 0);
        break;
    case -HV_EINTR:
        /* Nothing was done: back to S0 (type bits stay). */
        assert((atomic_load(&pg->type_info) &
                (PGT_count_mask | PGT_validated | PGT_partial)) == 1);
        type_update(m, mfn, 0, 0, -1);
        break;
    case -HV_ERESTART: {
        get_page_light(m, mfn);                         /* F7 */
        uint64_t nt = type_update(m, mfn, PGT_partial, 0, 0);
        TRC(hvlab_mm, partial_set, (uint8_t)m->host_id, mfn, pg->owner, nt,
            pg->nr_validated_ptes, pg->partial_flags);
        break;
    }
    default: {
        /* F5: the validator undid its references; reset the type. */
        assert(rc < 0);
        uint64_t x = atomic_load(&pg->type_info);
        while (!type_cas(m, mfn, &x, 0))
            ;
        TRC(hvlab_mm, type_reset, (uint8_t)m->host_id, mfn, pg->owner, x, 0);
        break;
    }
    }
    TRC(hvlab_mm, validate_end, (uint8_t)m->host_id, mfn, pg->owner,
        atomic_load(&pg->type_info), rc);
    frame_history_add(m, mfn, FH_VALIDATE, pg->owner, t0, (uint64_t)(int64_t)rc);
    return rc;
}

/* Devalidation of a PT frame in state SD; `type` is the word before SD. */
static int devalidate_page(struct machine *m, mfn_t mfn, uint64_t type,
                           bool preemptible)
{
    struct page_info *pg = pg_of(m, mfn);
    const struct frame_pt_ops *ops = atomic_load(&pt_ops);
    int rc;

    if (!(type & PGT_partial)) {
        page_note(pg);
        pg->nr_validated_ptes = PT_ENTRIES;
        pg->partial_flags = 0;
    }
    HV_AUDIT_TOUCH(m, mfn);                             /* audit.h A2 */
    TRC(hvlab_mm, devalidate_begin, (uint8_t)m->host_id, mfn, pg->owner, type,
        pg->nr_validated_ptes);
    paging_mark_frame(m, mfn, LD_SRC_PT);       /* type count 1 -> 0 */
    assert(ops);
    rc = ops->demote(m, mfn, pgt_level(type), preemptible);
    TRC(hvlab_mm, devalidate_end, (uint8_t)m->host_id, mfn, pg->owner,
        atomic_load(&pg->type_info), rc);
    frame_history_add(m, mfn, FH_DEVALIDATE, pg->owner, type,
                      (uint64_t)(int64_t)rc);
    return rc;
}

/* SD: finish the last put.  `x` is the word before SD was entered. */
static int put_final_type(struct machine *m, mfn_t mfn, uint64_t x,
                          bool preemptible)
{
    struct page_info *pg = pg_of(m, mfn);
    int rc = devalidate_page(m, mfn, x, preemptible);

    if (rc == 0) {
        set_tlbflush_timestamp(m, pg);
        type_update(m, mfn, 0, 0, -1);                  /* SD -> S0 */
    } else if (rc == -HV_EINTR) {
        type_update(m, mfn, PGT_validated, 0, 0);       /* SD -> SV */
    } else {
        assert(rc == -HV_ERESTART);
        get_page_light(m, mfn);                         /* F7 */
        uint64_t nt = type_update(m, mfn, PGT_partial, 0, 0);
        TRC(hvlab_mm, partial_set, (uint8_t)m->host_id, mfn, pg->owner, nt,
            pg->nr_validated_ptes, pg->partial_flags);
    }
    return rc;
}

void frame_force_devalidate(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info);
    do {
        if (!is_pt_type(x) || !(x & (PGT_validated | PGT_partial)))
            return;
    } while (!type_cas(m, mfn, &x, x & ~(PGT_validated | PGT_partial)));
    int rc = devalidate_page(m, mfn, x, false);
    assert(rc == 0);
    (void)rc;
    if (x & PGT_partial)
        put_page(m, mfn);                               /* F7 */
}

/* ======================================================================
 * Type references
 * ==================================================================== */

/* F4: flush the owner's vCPUs that may cache a mapping of the frame. */
static void flush_on_type_change(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    struct domain *d = page_get_owner(m, mfn);
    const struct frame_pt_ops *ops = atomic_load(&pt_ops);
    if (!d || !ops || !ops->flush)
        return;
    uint64_t mask = atomic_load(&d->dirty_vcpumask);
    for (unsigned i = 0; i < d->nr_vcpus && i < 64; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!(mask >> i & 1) || !v)
            continue;
        /* Flushed after the frame's last use ended: nothing stale. */
        uint32_t t = atomic_load_explicit(&v->tlb.flush_time,
                                          memory_order_acquire);
        if ((int32_t)(t - pg->tlbflush_timestamp) > 0)
            mask &= ~(1ULL << i);
    }
    if (mask)
        ops->flush(d, mask);
}

static int get_type(struct machine *m, mfn_t mfn, uint64_t type,
                    bool preemptible)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info), nx;
    int rc = 0;

    assert(!(type & ~PGT_type_mask));
    for (;;) {
        nx = x + 1;
        if ((nx & PGT_count_mask) == 0)
            return -XEN_EINVAL;                         /* overflow */
        if ((x & PGT_count_mask) == 0) {
            /* 0 -> 1: the type may change (R2). */
            if ((x & PGT_type_mask) != type) {
                nx &= ~(PGT_type_mask | PGT_validated);
                nx |= type;
            }
        } else if ((x & PGT_type_mask) != type) {
            return -XEN_EINVAL;                         /* R3 */
        } else if (!(x & PGT_validated)) {
            if (!(x & PGT_partial)) {
                /* SL/SD: someone else is (de)validating; wait. */
                if (preemptible && mm_preempt_check())
                    return -HV_EINTR;
                hv_relax();
                x = atomic_load(&pg->type_info);
                continue;
            }
            /* SP: take over the validation lock without bumping n. */
            nx = x & ~PGT_partial;
        }
        if (type_cas(m, mfn, &x, nx))
            break;
        if (preemptible && mm_preempt_check())
            return -HV_EINTR;
    }

    if (nx & PGT_validated)
        return 0;                                       /* SV or S0v -> SV */

    /* We own the frame's validation (SL). */
    if (x & PGT_partial)
        TRC(hvlab_mm, partial_clear, (uint8_t)m->host_id, mfn, pg->owner, nx,
            pg->nr_validated_ptes, pg->partial_flags);

    /* F4.  A frame becoming writable needs no flush: stale entries of
       its old use are read-only (hvlab leaves out Xen's flush there). */
    if ((x & PGT_count_mask) == 0 && (x & PGT_type_mask) != type &&
        type != PGT_writable_page)
        flush_on_type_change(m, mfn);

    if (!is_pt_type(type)) {
        /* Writable, shared, descriptor pages: nothing to audit in them
           (hvlab models no GDT/LDT contents). */
        type_update(m, mfn, PGT_validated, PGT_non_coherent, 0);
    } else {
        page_note(pg);
        if (!(x & PGT_partial)) {
            pg->nr_validated_ptes = 0;
            pg->partial_flags = 0;
            pg->linear_pt_count = 0;
        } else if (m->opt.mm_xsa309) {
            /* XSA-309 (mm.xsa309): before the fix the linear count was
               reset on every validation, also when resuming a partial one
               whose entries [0, nr) already hold linear references. */
            pg->linear_pt_count = 0;
        }
        HV_AUDIT_TOUCH(m, mfn);                         /* audit.h A2 */
        rc = validate_page(m, mfn, type, preemptible);
    }

    /* F7: we cleared PGT_partial to resume; drop the ref it held. */
    if (x & PGT_partial)
        put_page(m, mfn);
    return rc;
}

int get_page_type(struct machine *m, mfn_t mfn, uint64_t type)
{
    if (!mfn_valid(m, mfn))
        return -XEN_EINVAL;
    int rc = get_type(m, mfn, type, false);
    assert(rc != -HV_ERESTART && rc != -HV_EINTR);
    return rc;
}

int get_page_type_preemptible(struct machine *m, mfn_t mfn, uint64_t type)
{
    if (!mfn_valid(m, mfn))
        return -XEN_EINVAL;
    return get_type(m, mfn, type, true);
}

bool frame_get_type_if_validated(struct machine *m, mfn_t mfn, uint64_t type)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info);
    do {
        if ((x & PGT_count_mask) == PGT_count_mask ||
            (x & (PGT_type_mask | PGT_validated)) != (type | PGT_validated))
            return false;
    } while (!type_cas(m, mfn, &x, x + 1));
    return true;
}

/*
 * Drop one type ref.  partial_set: the ref is the one a partial state owns
 * (parked old_guest_table with old_guest_table_partial); then nothing is
 * done unless the frame is still partial.
 */
static int put_type(struct machine *m, mfn_t mfn, bool preemptible,
                    bool partial_set)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info), nx;

    for (;;) {
        nx = x - 1;
        if (!partial_set) {
            /* A full type ref is held: the frame is validated (R4), except
               for tables force-devalidated by domain teardown. */
            assert(!(x & PGT_partial));
            assert((x & PGT_validated) || owner_is_dying(m, mfn));
        } else if (!(x & PGT_partial)) {
            return 0;
        } else {
            assert((x & PGT_count_mask) == 1);
        }
        assert((x & PGT_count_mask) != 0);

        switch (nx & (PGT_locked | PGT_count_mask)) {
        case 0:
            if (is_pt_type(nx) && (nx & (PGT_validated | PGT_partial))) {
                /* F6: SV/SP -> SD; we do the clean-up. */
                nx = x & ~(PGT_validated | PGT_partial);
                if (!type_cas(m, mfn, &x, nx))
                    break;
                if (x & PGT_partial)
                    TRC(hvlab_mm, partial_clear, (uint8_t)m->host_id, mfn,
                        pg->owner, nx, pg->nr_validated_ptes,
                        pg->partial_flags);
                int rc = put_final_type(m, mfn, x, preemptible);
                if (x & PGT_partial)
                    put_page(m, mfn);                   /* F7 */
                return rc;
            }
            set_tlbflush_timestamp(m, pg);
            /* fall through */
        default:
            if (type_cas(m, mfn, &x, nx))
                return 0;
            break;
        case PGT_locked:
            assert(!"type put would drop a locked frame's last ref");
            return -XEN_EINVAL;
        case PGT_locked | 1:
            /* The lock holder's ref must not become the last one. */
            hv_relax();
            x = atomic_load(&pg->type_info);
            break;
        }
        if (preemptible && mm_preempt_check())
            return -HV_EINTR;
    }
}

void put_page_type(struct machine *m, mfn_t mfn)
{
    int rc = put_type(m, mfn, false, false);
    assert(rc == 0);
    (void)rc;
}

int put_page_type_preemptible(struct machine *m, mfn_t mfn)
{
    return put_type(m, mfn, true, false);
}

int get_page_and_type(struct machine *m, mfn_t mfn, const struct domain *d,
                      uint64_t type)
{
    if (!get_page(m, mfn, d))
        return -XEN_EINVAL;
    int rc = get_page_type(m, mfn, type);
    if (rc)
        put_page(m, mfn);
    return rc;
}

void put_page_and_type(struct machine *m, mfn_t mfn)
{
    put_page_type(m, mfn);
    put_page(m, mfn);
}

int put_page_and_type_preemptible(struct machine *m, mfn_t mfn)
{
    int rc = put_page_type_preemptible(m, mfn);
    if (rc == 0)
        put_page(m, mfn);
    return rc;
}

int put_old_guest_table(struct vcpu *v)
{
    if (v->old_guest_table == INVALID_MFN)
        return 0;
    struct machine *m = v->d->m;
    mfn_t mfn = v->old_guest_table;
    int rc = put_type(m, mfn, true, v->old_guest_table_partial);
    HV_AUDIT_MARK(m, HV_MARK_MM);                       /* audit.h A2 */
    if (rc == -HV_ERESTART || rc == -HV_EINTR) {
        v->old_guest_table_partial = (rc == -HV_ERESTART);
        return -HV_ERESTART;
    }
    v->old_guest_table = INVALID_MFN;
    v->old_guest_table_partial = false;
    put_page(m, mfn);
    return 0;
}

/* ======================================================================
 * Pinning (R6) and the page lock
 * ==================================================================== */

int page_set_pinned(struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return -XEN_EINVAL;
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info);
    do {
        if ((x & PGT_pinned) || !(x & PGT_count_mask))
            return -XEN_EINVAL;
    } while (!type_cas(m, mfn, &x, x | PGT_pinned));
    TRC(hvlab_mm, pin, (uint8_t)m->host_id, mfn, pg->owner, x, x | PGT_pinned);
    return 0;
}

int page_clear_pinned(struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return -XEN_EINVAL;
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info);
    do {
        if (!(x & PGT_pinned))
            return -XEN_EINVAL;
    } while (!type_cas(m, mfn, &x, x & ~PGT_pinned));
    TRC(hvlab_mm, unpin, (uint8_t)m->host_id, mfn, pg->owner, x,
        x & ~PGT_pinned);
    return 0;
}

bool page_lock(struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return false;
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info), nx;
    for (;;) {
        if (x & PGT_locked) {
            hv_relax();
            x = atomic_load(&pg->type_info);
            continue;
        }
        nx = x + (1 | PGT_locked);
        if (!(x & PGT_validated) || !(x & PGT_count_mask) ||
            !(nx & PGT_count_mask))
            return false;
        if (type_cas(m, mfn, &x, nx))   /* on failure x is the new word */
            return true;
    }
}

void page_unlock(struct machine *m, mfn_t mfn)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->type_info), nx;
    do {
        assert((x & PGT_count_mask) && (x & PGT_locked));
        nx = x - (1 | PGT_locked);
        assert(nx & PGT_count_mask);    /* never the last ref */
    } while (!type_cas(m, mfn, &x, nx));
}

/* ======================================================================
 * Shadow paging (core/shadow): PGC_shadowed_pt on a guest frame
 * ==================================================================== */

void page_set_shadowed_pt(struct machine *m, mfn_t mfn, bool on)
{
    struct page_info *pg = pg_of(m, mfn);
    uint64_t x = atomic_load(&pg->count_info), nx;
    do {
        nx = on ? (x | PGC_shadowed_pt) : (x & ~PGC_shadowed_pt);
        if (nx == x)
            return;
    } while (!count_cas(m, mfn, &x, nx));
}
