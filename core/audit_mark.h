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
 * set).  hv_audit_changed() takes the marks back (core/audit.c).
 *
 * Only the type lives here, so that core/machine.h can embed it; the macro
 * expands where struct machine is complete.
 */
#ifndef HVLAB_CORE_AUDIT_MARK_H
#define HVLAB_CORE_AUDIT_MARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum hv_audit_mark {
    HV_MARK_MM,     /* what mm_audit reads (A2) */
    HV_MARK_GNT,    /* grant state and guest stores (A3) */
    HV_MARK_NR
};

struct hv_audit_memo {
    _Atomic uint8_t dirty[HV_MARK_NR];  /* set by mutators, taken by audits */
    _Atomic uint8_t untyped_writer;     /* A5: sticky */
    bool valid;                         /* a full audit since the last forget */
    unsigned mm_last, gnt_last;         /* their results then */
    uint64_t shape;                     /* A4: fingerprint then */
    /* Counts, for the figures (bench-fuzz) and tests. */
    uint64_t nr_audits, nr_mm_skipped, nr_gnt_skipped, nr_unchanged;
};

static inline void hv_audit_mark_set(_Atomic uint8_t *flag)
{
    if (!atomic_load_explicit(flag, memory_order_relaxed))
        atomic_store_explicit(flag, 1, memory_order_relaxed);
}

#define HV_AUDIT_MARK(m, what) hv_audit_mark_set(&(m)->audit_memo.dirty[what])

#endif /* HVLAB_CORE_AUDIT_MARK_H */
