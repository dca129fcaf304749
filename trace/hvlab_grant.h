/*
 * trace/hvlab_grant.h - provider hvlab_grant: grant tables (core/grant).
 *
 * Every event carries the host id first, then the domains involved:
 * `rdom` is the granting domain (owner of the grant table and the frame),
 * `ldom` the grantee (the domain whose maptrack holds the handle).  `ref`
 * is a grant reference, `mfn` the granted machine frame (~0: none yet).
 * `pin` values are the active entry's four 8-bit counters packed as Xen
 * does (host-write bits 0-7, host-read 8-15, device-write 16-23,
 * device-read 24-31).  `status` values are GNTST_* codes.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_grant

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_grant.h"

#if !defined(HVLAB_TRACE_HVLAB_GRANT_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_GRANT_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* table.c: the shared table of rdom grew (setup_table, add_to_physmap) or
   was created/freed; frames before and after, version in use. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, grow,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, rdom, uint32_t, old_frames,
                      uint32_t, new_frames, uint32_t, status_frames,
                      uint8_t, version),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint32_t, old_frames, old_frames)
        lttng_ust_field_integer(uint32_t, new_frames, new_frames)
        lttng_ust_field_integer(uint32_t, status_frames, status_frames)
        lttng_ust_field_integer(uint8_t, version, version)
    )
)

/* table.c: GNTTABOP_set_version changed rdom's table version. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, set_version,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, rdom, uint8_t, old_version,
                      uint8_t, new_version, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint8_t, old_version, old_version)
        lttng_ust_field_integer(uint8_t, new_version, new_version)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

/* map.c: the result of one GNTTABOP_map_grant_ref / unmap_grant_ref
   element (flags GNTMAP_*, handle ~0 when none was allocated). */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_grant, map_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, flags,
                      uint32_t, handle, uint64_t, addr, int16_t, status),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, ldom, ldom)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint32_t, flags, flags)
        lttng_ust_field_integer(uint32_t, handle, handle)
        lttng_ust_field_integer_hex(uint64_t, addr, addr)
        lttng_ust_field_integer(int16_t, status, status)
    )
)
/* map.c trace_map(), at the end of map_grant_ref: one map element. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_grant, map_class, hvlab_grant, map,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, flags,
                      uint32_t, handle, uint64_t, addr, int16_t, status))
/* map.c trace_map(), at the end of unmap_grant_ref / unmap_and_replace. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_grant, map_class, hvlab_grant, unmap,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, flags,
                      uint32_t, handle, uint64_t, addr, int16_t, status))

/* copy.c: one GNTTABOP_copy element (frames ~0 when not resolved). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, copy,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, src_dom,
                      uint16_t, dst_dom, uint64_t, src_mfn, uint64_t, dst_mfn,
                      uint16_t, len, uint16_t, flags, int16_t, status),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, ldom, ldom)
        lttng_ust_field_integer(uint16_t, src_dom, src_dom)
        lttng_ust_field_integer(uint16_t, dst_dom, dst_dom)
        lttng_ust_field_integer_hex(uint64_t, src_mfn, src_mfn)
        lttng_ust_field_integer_hex(uint64_t, dst_mfn, dst_mfn)
        lttng_ust_field_integer(uint16_t, len, len)
        lttng_ust_field_integer_hex(uint16_t, flags, flags)
        lttng_ust_field_integer(int16_t, status, status)
    )
)

/* active.c: the pin word of rdom's active entry `ref` changed (kind: 0
   host-write, 1 host-read, 2 device-write, 3 device-read; +/- in the
   values).  The one writer of act->pin. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, pin_change,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, rdom, uint16_t, ldom,
                      uint32_t, ref, uint64_t, mfn, uint8_t, kind,
                      uint32_t, before, uint32_t, after),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint16_t, ldom, ldom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint8_t, kind, kind)
        lttng_ust_field_integer_hex(uint32_t, before, before)
        lttng_ust_field_integer_hex(uint32_t, after, after)
    )
)

/* active.c: Xen's status bits (GTF_reading / GTF_writing) of entry `ref`
   changed: in the shared {flags,domid} word (v1) or the status frame (v2;
   domid 0 in the values). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, status_change,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, rdom, uint32_t, ref,
                      uint64_t, mfn, uint32_t, before, uint32_t, after),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint32_t, before, before)
        lttng_ust_field_integer_hex(uint32_t, after, after)
    )
)

/* maptrack.c: a handle of ldom's maptrack taken / given back. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_grant, maptrack_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, handle,
                      uint32_t, in_use),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, ldom, ldom)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint32_t, handle, handle)
        lttng_ust_field_integer(uint32_t, in_use, in_use)
    )
)
/* maptrack.c maptrack_get(): a free handle taken for a new mapping. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_grant, maptrack_class, hvlab_grant,
    maptrack_get,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, handle,
                      uint32_t, in_use))
/* maptrack.c maptrack_put(): the handle went back to the free list. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_grant, maptrack_class, hvlab_grant,
    maptrack_put,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, ldom, uint16_t, rdom,
                      uint32_t, ref, uint64_t, mfn, uint32_t, handle,
                      uint32_t, in_use))

/* gnttab_mark_dirty(): a frame of rdom written through a grant (writable
   unmap, copy destination, release of a writable copy pin). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, mark_dirty,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, rdom, uint32_t, ref,
                      uint64_t, mfn, uint8_t, why),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, rdom, rdom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint8_t, why, why)
    )
)

/* core/mm (mmu_update, update_va_mapping, writable pagetables): a guest
   tried to overwrite or clear a grant PTE (_PAGE_GNTTAB); refused, nothing
   changed.  ref ~0 (the PTE does not name it). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_grant, pte_refused,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, ref,
                      uint64_t, table, uint16_t, slot, uint64_t, old,
                      uint64_t, new_pte, uint8_t, path),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, ref, ref)
        lttng_ust_field_integer_hex(uint64_t, table, table)
        lttng_ust_field_integer(uint16_t, slot, slot)
        lttng_ust_field_integer_hex(uint64_t, old, old)
        lttng_ust_field_integer_hex(uint64_t, new_pte, new_pte)
        lttng_ust_field_integer(uint8_t, path, path)
    )
)

#endif /* HVLAB_TRACE_HVLAB_GRANT_H */

#include <lttng/tracepoint-event.h>
