/*
 * trace/hvlab_mm.h - provider hvlab_mm: frame count and type transitions.
 *
 * Every write of page_info.count_info / .type_info is a count_change or a
 * type_change with the old and new words (core/mm/frame.c, the only
 * mutator).  The other events mark the work around those writes: validation
 * and devalidation of page tables, pins, partial (preempted) state, linear
 * page-table bookkeeping, allocation and freeing of domain frames.
 * `owner` is a domid (0x7FF0 DOMID_XEN, 0x7FF4 DOMID_INVALID for free).
 * `type` fields carry the whole type_info word; decode with core/mm/page.h.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_mm

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_mm.h"

#if !defined(HVLAB_TRACE_HVLAB_MM_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_MM_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/*
 * Frame count/type transitions share one field set: host, mfn, owner,
 * old and new count_info, old and new type_info.
 */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, page_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_count, uint64_t, new_count,
                      uint64_t, old_type, uint64_t, new_type),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, old_count, old_count)
        lttng_ust_field_integer_hex(uint64_t, new_count, new_count)
        lttng_ust_field_integer_hex(uint64_t, old_type, old_type)
        lttng_ust_field_integer_hex(uint64_t, new_type, new_type)
    )
)

/* frame.c: the general count_info word changed (get_page/put_page/alloc). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, page_class, hvlab_mm, count_change,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_count, uint64_t, new_count,
                      uint64_t, old_type, uint64_t, new_type))

/* frame.c: the type_info word changed (get/put type, validate, pin). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, page_class, hvlab_mm, type_change,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_count, uint64_t, new_count,
                      uint64_t, old_type, uint64_t, new_type))

/* machine.c set_gpfn_from_mfn(): an M2P entry changed. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mm, m2p_set,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint64_t, old_pfn,
                      uint64_t, new_pfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint64_t, old_pfn, old_pfn)
        lttng_ust_field_integer_hex(uint64_t, new_pfn, new_pfn)
    )
)

/*
 * Page-table (de)validation brackets: type is the type_info word at entry,
 * nr_validated the resume point (0 for a fresh validation).
 */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, validate_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, type, type)
        lttng_ust_field_integer(uint16_t, nr_validated, nr_validated)
    )
)

/* frame.c validate_page(): promotion of a page table begins (or resumes). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, validate_class, hvlab_mm, validate_begin,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated))

/* frame.c devalidate_page(): demotion of a page table begins (or resumes). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, validate_class, hvlab_mm, devalidate_begin,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated))

/* End of a (de)validation: rc 0, -85 (restart: partial), -4 (interrupted),
   or the Xen errno that failed it. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, validate_end_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, type, type)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

/* frame.c validate_page(): promotion ended with rc. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, validate_end_class, hvlab_mm, validate_end,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, int32_t, rc))

/* frame.c devalidate_page(): demotion ended with rc. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, validate_end_class, hvlab_mm, devalidate_end,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, int32_t, rc))

/* Type-word transitions with a meaning of their own (the type_change with
   the same words is emitted too). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, type_word_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_type, uint64_t, new_type),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, old_type, old_type)
        lttng_ust_field_integer_hex(uint64_t, new_type, new_type)
    )
)

/* frame.c page_set_pinned(): PGT_pinned set. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, type_word_class, hvlab_mm, pin,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_type, uint64_t, new_type))

/* frame.c page_clear_pinned(): PGT_pinned cleared. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, type_word_class, hvlab_mm, unpin,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_type, uint64_t, new_type))

/* frame.c validate_page(): validation failed, type_info zeroed (new_type). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, type_word_class, hvlab_mm, type_reset,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_type, uint64_t, new_type))

/* Partial (preempted) (de)validation: progress recorded in the frame. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, partial_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated,
                      uint8_t, partial_flags),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, type, type)
        lttng_ust_field_integer(uint16_t, nr_validated, nr_validated)
        lttng_ust_field_integer(uint8_t, partial_flags, partial_flags)
    )
)

/* frame.c partial_set(): PGT_partial set, light ref taken (type = new word). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, partial_class, hvlab_mm, partial_set,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated,
                      uint8_t, partial_flags))

/* frame.c get/put type: PGT_partial taken over to resume (type = new word). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, partial_class, hvlab_mm, partial_clear,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, type, uint16_t, nr_validated,
                      uint8_t, partial_flags))

/*
 * Linear (recursive) page-table entries: table_mfn's entry maps target_mfn,
 * a table of the same level.  The counts are linear_pt_count after the
 * change (table: entries it holds, >0; target: uses, <0).
 */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mm, linear_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, table_mfn, uint64_t, target_mfn,
                      uint8_t, level, int16_t, table_count, int16_t, target_count),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, table_mfn, table_mfn)
        lttng_ust_field_integer(uint64_t, target_mfn, target_mfn)
        lttng_ust_field_integer(uint8_t, level, level)
        lttng_ust_field_integer(int16_t, table_count, table_count)
        lttng_ust_field_integer(int16_t, target_count, target_count)
    )
)

/* pv_pt.c linear_pt_get(): a linear entry was accepted. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, linear_class, hvlab_mm, linear_pt_add,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, table_mfn, uint64_t, target_mfn,
                      uint8_t, level, int16_t, table_count, int16_t, target_count))

/* pv_pt.c linear_pt_put(): a linear entry's references were dropped. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mm, linear_class, hvlab_mm, linear_pt_del,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, table_mfn, uint64_t, target_mfn,
                      uint8_t, level, int16_t, table_count, int16_t, target_count))

/* alloc.c alloc_domheap_page(): a frame joined a domain (tot_pages after). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mm, page_alloc,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, tot_pages),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer(uint64_t, tot_pages, tot_pages)
    )
)

/* alloc.c free_domheap_page(): the last general ref went, the frame left
   its owner (type_info as it was; tot_pages after). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mm, page_free,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint64_t, mfn, uint16_t, owner,
                      uint64_t, old_type, uint64_t, tot_pages),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint16_t, owner, owner)
        lttng_ust_field_integer_hex(uint64_t, old_type, old_type)
        lttng_ust_field_integer(uint64_t, tot_pages, tot_pages)
    )
)

/* domctl.c domain_crash(): d did what Xen crashes a domain for (first
   reason only). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mm, domain_crash,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, domid, const char *, reason),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, domid, domid)
        lttng_ust_field_string(reason, reason)
    )
)

/* domctl.c domain_shutdown() (on = 1: SCHEDOP_shutdown recorded reason)
   and domctl_resume_domain() (on = 0: the shutdown with that reason was
   cleared, the domain may run again). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mm, domain_shutdown,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, domid, uint8_t, reason,
                      uint8_t, on),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, domid, domid)
        lttng_ust_field_integer(uint8_t, reason, reason)
        lttng_ust_field_integer(uint8_t, on, on)
    )
)

#endif /* HVLAB_TRACE_HVLAB_MM_H */

#include <lttng/tracepoint-event.h>
