/*
 * trace/hvlab_pt.h - provider hvlab_pt: PTE writes, base pointers, TLB flushes, writable pagetables.
 *
 * pte_write.path is enum pt_write_path (core/mm/pv_pt.h): 0 mmu_update,
 * 1 mmu_update_raw, 2 uva, 3 ptwr_emulate, 4 ptwr_unhook, 5 ptwr_flush,
 * 6 ptwr_rehook, 7 ptwr_protect, 8 xen, 9 teardown, 10 build.
 * tlb_flush.scope / .reason are enum tlb_flush_scope / tlb_flush_reason
 * (core/mm/pv_pt.h).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_pt

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_pt.h"

#if !defined(HVLAB_TRACE_HVLAB_PT_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_PT_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* pv_pt.c / ptwr.c: one PTE written, with the path that wrote it. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_pt, pte_write,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, table_mfn,
                      uint8_t, level, uint16_t, slot, uint64_t, old_pte,
                      uint64_t, new_pte, uint8_t, path),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint64_t, table_mfn, table_mfn)
        lttng_ust_field_integer(uint8_t, level, level)
        lttng_ust_field_integer(uint16_t, slot, slot)
        lttng_ust_field_integer_hex(uint64_t, old_pte, old_pte)
        lttng_ust_field_integer_hex(uint64_t, new_pte, new_pte)
        lttng_ust_field_integer(uint8_t, path, path)
    )
)

/* pv_pt.c pt_set_baseptr(): a vCPU's kernel (user=0) or user (user=1) root
   changed; INVALID (~0) means none. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_pt, baseptr_set,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint8_t, user, uint64_t, old_mfn, uint64_t, new_mfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint8_t, user, user)
        lttng_ust_field_integer_hex(uint64_t, old_mfn, old_mfn)
        lttng_ust_field_integer_hex(uint64_t, new_mfn, new_mfn)
    )
)

/* pv_pt.c pt_flush_vcpus(): TLB flush of the vCPUs in vcpu_mask (bit i =
   vCPU i) of dom; va is one page or ~0 for everything; vcpu is the
   requester (0xFFFF when the hypervisor acts on its own). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_pt, tlb_flush,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, vcpu_mask, uint64_t, va, uint8_t, scope,
                      uint8_t, reason),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, vcpu_mask, vcpu_mask)
        lttng_ust_field_integer_hex(uint64_t, va, va)
        lttng_ust_field_integer(uint8_t, scope, scope)
        lttng_ust_field_integer(uint8_t, reason, reason)
    )
)

#endif /* HVLAB_TRACE_HVLAB_PT_H */

#include <lttng/tracepoint-event.h>
