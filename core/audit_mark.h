/*
 * core/audit_mark.h - the change marks the audit's memo reads
 * (core/audit.h rules A1-A9).
 *
 * A mutator of state an audit reads sets its mark, after the change:
 *
 *     HV_AUDIT_MARK(m, HV_MARK_MM);
 *
 * A mark is one byte per machine, set only when clear (a load and a
 * predicted branch: a hot path pays no shared-line store once the mark is
 * set).  hv_audit_changed() takes the marks back (core/audit.c).  A
 * mutator of one frame's state touches it instead (HV_AUDIT_TOUCH below):
 * the mark, and the frame named for the incremental frame audit.
 *
 * Only the type lives here, so that core/machine.h can embed it; the macro
 * expands where struct machine is complete.
 */
#ifndef HVLAB_CORE_AUDIT_MARK_H
#define HVLAB_CORE_AUDIT_MARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/wrec.h"

enum hv_audit_mark {
    HV_MARK_MM,     /* what mm_audit reads (A2) */
    HV_MARK_GNT,    /* grant state (A3) */
    HV_MARK_STORE,  /* guest stores, Xen's stores into Xen-shared pages (A3) */
    HV_MARK_ISO,    /* stores into a translated guest's memory (A11) */
    HV_MARK_NR
};

/* The frames touched since the last audit (HV_AUDIT_TOUCH), for the
   incremental frame audit (core/mm/audit_incr.c I3); NULL in a machine
   that does not keep one.  A frame is listed once (the bitmap).  Both
   arrays take part in the write record (audit_incr.c I12): the bits are
   noted whole and the list by chunk (core/wrec.h W9) before a store. */
struct hv_audit_touch {
    _Atomic uint64_t *bits;             /* one bit per frame */
    uint32_t *list;                     /* the touched frames, in order */
    _Atomic uint32_t n;
    uint32_t nr_frames;
    uint64_t bits_noted, list_noted;    /* core/wrec.h W9 */
};

/* The bits are noted whole, once per epoch (core/wrec.h W9). */
static inline void hv_audit_touch_note_bits(struct hv_audit_touch *t)
{
    hv_wrec_note_whole((const void *)t->bits,
                       (t->nr_frames + 63) / 64 * sizeof(*t->bits), &t->bits_noted);
}

struct mm_audit_cache;

struct hv_audit_memo {
    _Atomic uint8_t dirty[HV_MARK_NR];  /* set by mutators, taken by audits */
    _Atomic uint8_t untyped_writer;     /* A5: sticky */
    bool valid;                         /* a full audit since the last forget */
    uint8_t since_take;                 /* A11: marks taken since (bit per
                                           mark; 0x80: a full audit) */
    unsigned mm_last, gnt_last;         /* their results then */
    uint64_t shape;                     /* A4: fingerprint then */
    struct hv_audit_touch *touch;       /* I3; NULL: not kept */
    struct mm_audit_cache *incr;        /* core/mm/audit_incr.c */
    /* Counts, for the figures (bench-fuzz) and tests. */
    uint64_t nr_audits, nr_mm_skipped, nr_gnt_skipped, nr_unchanged;
};

static inline void hv_audit_mark_set(_Atomic uint8_t *flag)
{
    if (!atomic_load_explicit(flag, memory_order_relaxed))
        atomic_store_explicit(flag, 1, memory_order_relaxed);
}

#define HV_AUDIT_MARK(m, what) hv_audit_mark_set(&(m)->audit_memo.dirty[what])

/* A mutator of one frame's state that mm_audit reads (its words, owner,
   list, validation progress, linear count, a table's entries): the MM
   mark, and the frame listed for the incremental audit (audit_incr.c I3).
   Any thread; listing is lock-free (one bit, then one slot). */
static inline void hv_audit_touch(struct hv_audit_memo *memo, uint64_t mfn)
{
    hv_audit_mark_set(&memo->dirty[HV_MARK_MM]);
    struct hv_audit_touch *t = memo->touch;
    if (!t || mfn >= t->nr_frames)
        return;
    uint64_t bit = 1ULL << (mfn & 63);
    _Atomic uint64_t *w = &t->bits[mfn >> 6];
    if (atomic_load_explicit(w, memory_order_relaxed) & bit)
        return;
    hv_audit_touch_note_bits(t);
    if (atomic_fetch_or_explicit(w, bit, memory_order_relaxed) & bit)
        return;
    uint32_t i = atomic_fetch_add_explicit(&t->n, 1, memory_order_relaxed);
    hv_wrec_note_append(&t->list[i], sizeof(t->list[i]), &t->list_noted);
    t->list[i] = (uint32_t)mfn;
}

#define HV_AUDIT_TOUCH(m, mfn) hv_audit_touch(&(m)->audit_memo, (mfn))

#endif /* HVLAB_CORE_AUDIT_MARK_H */
