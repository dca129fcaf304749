/*
 * trace/hvlab_hcall.h - provider hvlab_hcall: the guest's ways into the
 * hypervisor - hypercalls (entry, exit, continuation) and page faults (what
 * the hypervisor decided about each one).
 *
 * Emitted by core/hypercall.c (hypercall()) and core/traps.c
 * (hv_page_fault()).  Fields: host (machine id), dom, vcpu, op (Xen's
 * __HYPERVISOR_* number), args / rc; for faults va, pfec (#PF error code)
 * and outcome (enum hv_fault_outcome, core/traps.h: 0 ptwr, 1 spurious,
 * 2 bounced, 3 killed, 4 hv_access_failed).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_hcall

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_hcall.h"

#if !defined(HVLAB_TRACE_HVLAB_HCALL_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_HCALL_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* hypercall(): a guest vCPU enters the hypervisor. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_hcall, entry,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu, uint32_t, op,
                      uint64_t, a1, uint64_t, a2, uint64_t, a3, uint64_t, a4),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, op, op)
        lttng_ust_field_integer_hex(uint64_t, a1, a1)
        lttng_ust_field_integer_hex(uint64_t, a2, a2)
        lttng_ust_field_integer_hex(uint64_t, a3, a3)
        lttng_ust_field_integer_hex(uint64_t, a4, a4)
    )
)

/* hypercall(): the hypercall returns to the guest with rc. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_hcall, exit,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu, uint32_t, op,
                      int64_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, op, op)
        lttng_ust_field_integer(int64_t, rc, rc)
    )
)

/* hypercall(): a preempted batch continues (Xen's continuation). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_hcall, continuation,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu, uint32_t, op,
                      uint64_t, done),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, op, op)
        lttng_ust_field_integer(uint64_t, done, done)
    )
)

/* hv_page_fault(): a #PF reached the hypervisor; what became of it. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_hcall, fault,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, va, uint32_t, pfec, uint8_t, outcome),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, va, va)
        lttng_ust_field_integer_hex(uint32_t, pfec, pfec)
        lttng_ust_field_integer(uint8_t, outcome, outcome)
    )
)

#endif /* HVLAB_TRACE_HVLAB_HCALL_H */

#include <lttng/tracepoint-event.h>
