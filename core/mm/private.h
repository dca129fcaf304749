/*
 * core/mm/private.h - what core/mm's files tell each other, nobody else.
 *
 * frame.c owns the two words of struct page_info; pv_pt.c owns what page
 * tables contain; alloc.c owns domain page lists.  To keep frame.c free of
 * calls into pv_pt.c (pv_pt.c calls frame.c for every reference it takes),
 * the per-level (de)validators reach frame.c as an ops table that pv_pt.c
 * registers (pt_register_ops(), called from mm_domain_init()).
 */
#ifndef HVLAB_CORE_MM_PRIVATE_H
#define HVLAB_CORE_MM_PRIVATE_H

#include "core/mm/page.h"
#include "core/pte.h"
#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* PTF_*: how the entry at nr_validated_ptes of a partial table stands.
   hvlab's nested validations never stop half-way (see pv_pt.c rule P5),
   so partial_flags is always 0 today; the field is kept for the trace. */
#define PTF_partial_set     (1u << 0)

/* The page-table type operations frame.c dispatches to (pv_pt.c). */
struct frame_pt_ops {
    /* Take the references of every entry of table mfn of `level` from
       nr_validated_ptes on.  0, -HV_ERESTART (progress saved in the frame),
       or a Xen errno (every reference taken by this promotion undone). */
    int (*promote)(struct machine *m, mfn_t mfn, unsigned level,
                   bool preemptible);
    /* Drop the references of entries [0, nr_validated_ptes), top down.
       0 or -HV_ERESTART (entries [0, nr_validated_ptes) still hold). */
    int (*demote)(struct machine *m, mfn_t mfn, unsigned level,
                  bool preemptible);
    /* A frame of d changes type: flush the TLBs of the vCPUs in mask. */
    void (*flush)(struct domain *d, uint64_t vcpu_mask);
};
void frame_set_pt_ops(const struct frame_pt_ops *ops);
void pt_register_ops(void);

/* ---- frame.c: word mutators used by the other mm files --------------- */
/* A frame fresh from the heap joins d: count PGC_allocated|1, type 0. */
void frame_assign(struct machine *m, mfn_t mfn, struct domain *d);
/* A frame fresh from the heap becomes a Xen page shared with d (alloc.c
   A6): count PGC_xen_heap|PGC_allocated|1, type writable|validated|1. */
void frame_assign_xen_shared(struct machine *m, mfn_t mfn, struct domain *d);
/* The frame leaves its owner (count is 0): type word and PGC_xen_heap
   cleared. */
void frame_release(struct machine *m, mfn_t mfn);
/* Take one type ref of `type` only if the frame is already validated with
   that type (linear page tables: never validates).  false otherwise. */
bool frame_get_type_if_validated(struct machine *m, mfn_t mfn, uint64_t type);
/* Domain teardown: clear validated|partial of a table frame whatever its
   type count, and drop the references its entries hold (non-preemptible;
   a partial state's light ref is dropped too).  No-op for other frames. */
void frame_force_devalidate(struct machine *m, mfn_t mfn);
/* Trace + history of an event that is not a word change. */
void frame_note(struct machine *m, mfn_t mfn, unsigned what,
                uint64_t old_word, uint64_t new_word);

/* Preemption point for long (de)validations: true when the running vCPU
   (if any, and inside a hypercall) should stop. */
bool mm_preempt_check(void);

/* ---- pv_pt.c ---------------------------------------------------------- */
/* Drop the references a present entry of a table of `level` holds
   (non-preemptible).  Used by teardown and the undo paths. */
void pt_put_entry_refs(struct machine *m, mfn_t table, unsigned level,
                       pte_t e, struct domain *d);

/* ---- domctl.c --------------------------------------------------------- */
/* The last frame of a destroyed domain was freed: free the structure. */
void domain_reap_if_dead(struct domain *d);

#endif /* HVLAB_CORE_MM_PRIVATE_H */
