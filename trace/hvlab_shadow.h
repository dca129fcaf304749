/*
 * trace/hvlab_shadow.h - provider hvlab_shadow: HVM shadow paging (core/shadow).
 *
 * type: 1..4 shadow of a guest L1..L4, 5 OOS snapshot, 6 FL1 (the 4K
 * pieces of a guest 2M page; gmfn is then the first gfn of the piece),
 * 7 FL2 (the 2M pieces of a guest 1G page).  fault.path: 0 the
 * lock-free fast path, 1 the slow path under the paging lock.
 * fault.decision: 0 fixed, 1 emulate, 2 inject, 3 fast_propagate (a gnp
 * magic entry reflected to the guest), 4 fast_mmio, 5 false_fast_path,
 * 6 mmio, 7 discard_write, 8 unsync, 9 unshadow_user (a user-mode write
 * to a shadowed page table: the frame is unshadowed, not emulated).
 * resync.reason: 0 cr3, 1 invlpg,
 * 2 promote, 3 evict, 4 upper-level shadow created, 5 teardown,
 * 6 other vCPU's CR3 load (shadows updated, page left OOS), 7 unshadow.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_shadow

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_shadow.h"

#if !defined(HVLAB_TRACE_HVLAB_SHADOW_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_SHADOW_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* common.c: guest frame gmfn promoted to (promote=1) or demoted from
   (promote=0) shadow type `type`; flags = its shadow_flags afterwards. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, promote,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gmfn,
                      uint8_t, type, uint8_t, promote, uint8_t, flags),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer(uint8_t, type, type)
        lttng_ust_field_integer(uint8_t, promote, promote)
        lttng_ust_field_integer_hex(uint8_t, flags, flags)
    )
)

/* common.c: shadow frame smfn allocated (alloc=1) or freed (alloc=0). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, shadow_alloc,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, smfn,
                      uint8_t, type, uint64_t, gmfn, uint8_t, alloc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, smfn, smfn)
        lttng_ust_field_integer(uint8_t, type, type)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer(uint8_t, alloc, alloc)
    )
)

/* common.c sh_write_entry(): one shadow entry written. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, entry_write,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, smfn,
                      uint8_t, type, uint16_t, slot, uint64_t, old_e,
                      uint64_t, new_e),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, smfn, smfn)
        lttng_ust_field_integer(uint8_t, type, type)
        lttng_ust_field_integer(uint16_t, slot, slot)
        lttng_ust_field_integer_hex(uint64_t, old_e, old_e)
        lttng_ust_field_integer_hex(uint64_t, new_e, new_e)
    )
)

/* multi.c sh_page_fault(): a shadow fault and what was decided; sroot is
   the shadow L4 the vCPU ran on (its walk's root). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, fault,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, va, uint32_t, pfec, uint8_t, path,
                      uint8_t, decision, uint64_t, sroot),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, va, va)
        lttng_ust_field_integer_hex(uint32_t, pfec, pfec)
        lttng_ust_field_integer(uint8_t, path, path)
        lttng_ust_field_integer(uint8_t, decision, decision)
        lttng_ust_field_integer_hex(uint64_t, sroot, sroot)
    )
)

/* multi.c: a guest page-table write emulated (gmfn + offset, bytes). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, emulate,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gmfn, uint16_t, offset, uint8_t, bytes,
                      uint64_t, old_val, uint64_t, new_val),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer_hex(uint16_t, offset, offset)
        lttng_ust_field_integer(uint8_t, bytes, bytes)
        lttng_ust_field_integer_hex(uint64_t, old_val, old_val)
        lttng_ust_field_integer_hex(uint64_t, new_val, new_val)
    )
)

/* oos.c sh_unsync(): guest L1 gmfn went out of sync in vCPU's slot. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, unsync,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gmfn, uint8_t, slot),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer(uint8_t, slot, slot)
    )
)

/* oos.c: OOS gmfn (slot of vCPU `vcpu`) resynced; full=1 back in sync,
   full=0 shadows updated only; changed = entries re-propagated. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, resync,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gmfn, uint8_t, reason, uint8_t, full,
                      uint16_t, changed),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer(uint8_t, reason, reason)
        lttng_ust_field_integer(uint8_t, full, full)
        lttng_ust_field_integer(uint16_t, changed, changed)
    )
)

/* common.c sh_remove_write_access(): RW shadow mappings of gmfn removed
   by brute force; left = writable type refs still held afterwards. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_shadow, wrmap_remove,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gmfn,
                      uint16_t, removed, uint16_t, left),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, gmfn, gmfn)
        lttng_ust_field_integer(uint16_t, removed, removed)
        lttng_ust_field_integer(uint16_t, left, left)
    )
)

#endif /* HVLAB_TRACE_HVLAB_SHADOW_H */

#include <lttng/tracepoint-event.h>
