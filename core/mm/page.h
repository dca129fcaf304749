/*
 * core/mm/page.h - struct page_info: one per machine frame, Xen's layout.
 *
 * Two words carry a frame's whole state (XEN-NOTES section 1):
 *
 *   count_info  = PGC_* flags (high bits) | general reference count (low bits)
 *   type_info   = type (3 bits) | PGT_* flags | type reference count
 *
 * Rules (numbered so that asserts, the audit and tests can cite them):
 *   R1  A general reference can only be taken while the count is non-zero;
 *       the count never reaches PGC_count_mask (overflow is refused).
 *   R2  A frame's type can change only while its type count is zero.
 *   R3  Uses are mutually exclusive: a frame is a page table of one level,
 *       a descriptor page, a shared page, or writable - never two at once.
 *   R4  A page-table type with count > 0 is validated (or partial, or being
 *       validated by exactly one caller); with count 0 it is NOT a page table
 *       whatever its type bits say: they are stale history (story D).
 *   R5  Non-page-table types keep PGT_validated when the count drops to 0.
 *   R6  Pinning does not nest; a pin owns one general and one type ref.
 *   R7  Every present entry of a validated table holds one general ref on its
 *       target and one type ref (next level down; writable for an RW L1e).
 *
 * The words are written only by the mutators in core/mm/frame.c, which check
 * the transition, count it and trace it with the old and new values.
 */
#ifndef HVLAB_CORE_MM_PAGE_H
#define HVLAB_CORE_MM_PAGE_H

#include <stdatomic.h>

#include "core/types.h"
#include "core/wrec.h"

/* ---- count_info ---------------------------------------------------------- */
#define PG_shift(i)         (64 - (i))
#define PGC_allocated       (1ULL << PG_shift(1))  /* owner holds its allocation ref */
#define PGC_xen_heap        (1ULL << PG_shift(2))  /* Xen's own page (M2P, shared_info) */
#define PGC_extra           (1ULL << PG_shift(3))
#define PGC_broken          (1ULL << PG_shift(4))
#define PGC_state_shift     PG_shift(6)
#define PGC_state           (3ULL << PGC_state_shift)
#define PGC_state_inuse     (0ULL << PGC_state_shift)
#define PGC_state_offlining (1ULL << PGC_state_shift)
#define PGC_state_offlined  (2ULL << PGC_state_shift)
#define PGC_state_free      (3ULL << PGC_state_shift)
#define PGC_need_scrub      (1ULL << PG_shift(7))
#define PGC_shadowed_pt     (1ULL << PG_shift(8))
#define PGC_count_mask      ((1ULL << PG_shift(8)) - 1)

/* ---- type_info ----------------------------------------------------------- */
#define PGT_type_shift      61
#define PGT_type_mask       (7ULL << PGT_type_shift)
#define PGT_none            (0ULL << PGT_type_shift)
#define PGT_l1_page_table   (1ULL << PGT_type_shift)
#define PGT_l2_page_table   (2ULL << PGT_type_shift)
#define PGT_l3_page_table   (3ULL << PGT_type_shift)
#define PGT_l4_page_table   (4ULL << PGT_type_shift)
#define PGT_seg_desc_page   (5ULL << PGT_type_shift)
#define PGT_shared_page     (6ULL << PGT_type_shift)
#define PGT_writable_page   (7ULL << PGT_type_shift)
#define PGT_locked          (1ULL << PG_shift(4))
#define PGT_pinned          (1ULL << PG_shift(5))
#define PGT_validated       (1ULL << PG_shift(6))
#define PGT_pae_xen_l2      (1ULL << PG_shift(7))
#define PGT_partial         (1ULL << PG_shift(8))
#define PGT_non_coherent    (1ULL << PG_shift(9))
#define PGT_count_mask      ((1ULL << PG_shift(9)) - 1)

_Static_assert((PGT_count_mask & (PGT_type_mask | PGT_locked | PGT_pinned |
                PGT_validated | PGT_pae_xen_l2 | PGT_partial |
                PGT_non_coherent)) == 0, "PGT flags overlap the type count");
_Static_assert((PGC_count_mask & (PGC_allocated | PGC_xen_heap | PGC_extra |
                PGC_broken | PGC_state | PGC_need_scrub | PGC_shadowed_pt)) == 0,
               "PGC flags overlap the general count");

/* Level (1..4) of a page-table type, 0 for anything else. */
static inline unsigned pgt_level(uint64_t type)
{
    uint64_t t = type & PGT_type_mask;
    return (t >= PGT_l1_page_table && t <= PGT_l4_page_table)
           ? (unsigned)(t >> PGT_type_shift) : 0;
}
static inline uint64_t pgt_of_level(unsigned level)
{
    return (uint64_t)level << PGT_type_shift;
}

/* page_info.list_tag: the list a frame is linked on (alloc.c's list
   helpers are its only writers). */
enum page_list_tag {
    PAGE_ON_NONE = 0,       /* free heap, Xen's own, or detached */
    PAGE_ON_DOMAIN = 1,     /* its owner's page list */
    PAGE_ON_XEN = 2,        /* its owner's xenpage list (alloc.c A6) */
};

/* List link value meaning "no frame". */
#define PAGE_LIST_NULL      0xFFFFFFFFu

struct page_info {
    _Atomic uint64_t count_info;    /* mutators: core/mm/frame.c only */
    _Atomic uint64_t type_info;     /* mutators: core/mm/frame.c only */
    uint16_t owner;                 /* domid; DOMID_INVALID while free,
                                       DOMID_XEN for Xen's own frames */
    /*
     * Valid while the frame is a PV page table (type L1..L4):
     * progress of an interrupted (de)validation and the linear-PT balance.
     * nr_validated_ptes / partial_flags are owned by whoever holds the
     * type's validation lock (state SL or SP, see frame.c).
     */
    uint16_t nr_validated_ptes;
    uint8_t  partial_flags;
    uint8_t  list_tag;              /* PAGE_ON_*: which list links it
                                       (alloc.c A1; the incremental audit's
                                       membership, core/mm/audit_incr.c) */
    int16_t  linear_pt_count;
    uint32_t tlbflush_timestamp;    /* free frames and frames with type count 0 */
    uint32_t list_next, list_prev;  /* domain page list or free list, by mfn */
};

/* Every writer of a page_info field calls this first: the frame table
   takes part in the write record (core/wrec.h W1, W6). */
static inline void page_note(const struct page_info *pg)
{
    hv_wrec_note(pg, sizeof(*pg));
}

#endif /* HVLAB_CORE_MM_PAGE_H */
