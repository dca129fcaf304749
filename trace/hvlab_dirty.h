/*
 * trace/hvlab_dirty.h - provider hvlab_dirty: log-dirty tracking (the
 * per-domain dirty bitmap of core/mm/paging.c and its domctl).
 *
 * pfn is the bitmap index (the gfn of an HVM domain, the M2P's pfn for PV);
 * mfn ~0 when the marker named a pfn, not a frame.  source is an
 * enum paging_dirty_source value (core/mm/paging.h): 0 guest write fault,
 * 1 hypervisor copy to the guest, 2 grant (unmap or copy), 3 FINAL clean's
 * writable-grant sweep (logdirty.final_marks_grants=on), 4 A/D bits the
 * MMU's walk set in a PV table, 5 PV table bookkeeping (type count
 * 0 <-> 1, pin, unpin).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_dirty

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_dirty.h"

#if !defined(HVLAB_TRACE_HVLAB_DIRTY_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_DIRTY_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* paging.c: log-dirty switched on / off for dom; rc 0 or the Xen errno
   returned (nothing changed when rc != 0); changed = p2m entries flipped. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_dirty, switch_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)
/* paging.c paging_domctl_shadow_op(): ENABLE_LOGDIRTY done (or refused). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_dirty, switch_class, hvlab_dirty, enable,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc))
/* paging.c paging_domctl_shadow_op(): OFF done (or refused). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_dirty, switch_class, hvlab_dirty, disable,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc))

/* paging.c mark_pfn(): one mark that reached the bitmap; already = the bit
   was set before (dirty_count unchanged). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_dirty, mark,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, pfn,
                      uint64_t, mfn, uint8_t, already, uint8_t, source),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint8_t, already, already)
        lttng_ust_field_integer(uint8_t, source, source)
    )
)

/* paging.c log_dirty_op(): CLEAN / PEEK done; final = the
   XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL mode bit; dirty_count / fault_count are
   the stats returned, pages the bitmap bits returned (op->pages after). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_dirty, op_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, final,
                      uint32_t, dirty_count, uint32_t, fault_count,
                      uint64_t, pages),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, final, final)
        lttng_ust_field_integer(uint32_t, dirty_count, dirty_count)
        lttng_ust_field_integer(uint32_t, fault_count, fault_count)
        lttng_ust_field_integer(uint64_t, pages, pages)
    )
)
/* paging.c log_dirty_op(): a CLEAN returned the bitmap and cleared it. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_dirty, op_class, hvlab_dirty, clean,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, final,
                      uint32_t, dirty_count, uint32_t, fault_count,
                      uint64_t, pages))
/* paging.c log_dirty_op(): a PEEK returned the bitmap, left as it was. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_dirty, op_class, hvlab_dirty, peek,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, final,
                      uint32_t, dirty_count, uint32_t, fault_count,
                      uint64_t, pages))

/* paging.c: a bitmap node could not be allocated (the pool is exhausted);
   the mark of pfn is lost and the next CLEAN/PEEK returns -ENOMEM;
   failed = failed allocations so far. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_dirty, alloc_fail,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, pfn,
                      uint32_t, failed),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint32_t, failed, failed)
    )
)

#endif /* HVLAB_TRACE_HVLAB_DIRTY_H */

#include <lttng/tracepoint-event.h>
