/*
 * trace/hvlab_evtchn.h - provider hvlab_evtchn: event-channel ports, the
 * 2-level pending/mask bits of shared_info, upcalls, blocking.
 *
 * dom/port name the channel the event is about; vcpu is the acting vCPU,
 * 0xFFFF when the hypervisor or the host API acts.  state values are
 * Xen's ECS_* numbering as core/evtchn.c keeps it (0 free, 1 reserved,
 * 2 unbound, 3 interdomain, 4 pirq, 5 virq, 6 ipi).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_evtchn

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_evtchn.h"

#if !defined(HVLAB_TRACE_HVLAB_EVTCHN_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_EVTCHN_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* evtchn.c chn_set_state(): a port changed state (alloc_unbound, bind_*,
   close, and the remote end of a closed interdomain channel).  remote_dom /
   remote_port: the peer after the change (unbound: the domain allowed to
   bind; 0xFFFF / 0 when none). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_evtchn, state,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, port, uint8_t, old_state, uint8_t, new_state,
                      uint16_t, remote_dom, uint32_t, remote_port,
                      uint16_t, notify_vcpu),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, port, port)
        lttng_ust_field_integer(uint8_t, old_state, old_state)
        lttng_ust_field_integer(uint8_t, new_state, new_state)
        lttng_ust_field_integer(uint16_t, remote_dom, remote_dom)
        lttng_ust_field_integer(uint32_t, remote_port, remote_port)
        lttng_ust_field_integer(uint16_t, notify_vcpu, notify_vcpu)
    )
)

/* evtchn.c evtchn_2l_set_pending(): an event reached port `port` of dom
   (the receiving end).  was_pending: the bit was already set (the event
   merged); masked: the port's mask bit; upcall: this set
   vcpu_info.evtchn_upcall_pending of notify_vcpu (selector bit was clear
   and the port unmasked). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_evtchn, set_pending,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, port, uint16_t, notify_vcpu,
                      uint8_t, was_pending, uint8_t, masked, uint8_t, upcall),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, port, port)
        lttng_ust_field_integer(uint16_t, notify_vcpu, notify_vcpu)
        lttng_ust_field_integer(uint8_t, was_pending, was_pending)
        lttng_ust_field_integer(uint8_t, masked, masked)
        lttng_ust_field_integer(uint8_t, upcall, upcall)
    )
)

/* evtchn.c evtchn_unmask(): the guest unmasked `port`; pending: the port
   was pending, so the upcall was re-raised if the selector bit was clear
   (reraised). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_evtchn, unmask,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, port, uint8_t, pending, uint8_t, reraised),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, port, port)
        lttng_ust_field_integer(uint8_t, pending, pending)
        lttng_ust_field_integer(uint8_t, reraised, reraised)
    )
)

/* evtchn_upcall.c evtchn_deliver(): the guest's event handler is called
   on vcpu with evtchn_upcall_mask set (phase 0), and returned (phase 1,
   the mask cleared again: the guest's iret).  where: 0 hypercall exit,
   1 wake from SCHEDOP_block / poll. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_evtchn, upcall,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint8_t, phase, uint8_t, where, uint64_t, pending_sel),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint8_t, phase, phase)
        lttng_ust_field_integer(uint8_t, where, where)
        lttng_ust_field_integer_hex(uint64_t, pending_sel, pending_sel)
    )
)

/* evtchn_upcall.c vcpu_wait(): the vCPU blocked (blocked 1; op =
   SCHEDOP_*) or woke (blocked 0; spins: wait turns it took). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_evtchn, block,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint8_t, blocked, uint8_t, op, uint64_t, spins),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint8_t, blocked, blocked)
        lttng_ust_field_integer(uint8_t, op, op)
        lttng_ust_field_integer(uint64_t, spins, spins)
    )
)

#endif /* HVLAB_TRACE_HVLAB_EVTCHN_H */

#include <lttng/tracepoint-event.h>
