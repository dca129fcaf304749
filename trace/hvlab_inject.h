/*
 * trace/hvlab_inject.h - provider hvlab_inject: the fault injector.
 *
 * Emitted by inject/inject.c only.  `point` is the catalog name
 * (inject/points.def, `hvlab inject list`) and `point_id` its index in this
 * build; `binding` is the plan line (0-based, plan order) that fired;
 * `hit` is the point's hit number in the run (1-based, every hit counted
 * since inj_run_begin); dom/vcpu are 0xFFFF when the site had none;
 * `subject` is the item the site acts on (the pfn at mig.send.page and
 * logdirty.mark.before_set), ~0 at sites that name none.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_inject

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_inject.h"

#if !defined(HVLAB_TRACE_HVLAB_INJECT_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_INJECT_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* The actions of a binding (enum inj_action, inject/inject.h). */
LTTNG_UST_TRACEPOINT_ENUM(hvlab_inject, action,
    LTTNG_UST_TP_ENUM_VALUES(
        lttng_ust_field_enum_value("delay", 0)
        lttng_ust_field_enum_value("yield", 1)
        lttng_ust_field_enum_value("fail", 2)
        lttng_ust_field_enum_value("skip", 3)
        lttng_ust_field_enum_value("dup", 4)
        lttng_ust_field_enum_value("reorder", 5)
        lttng_ust_field_enum_value("flip", 6)
        lttng_ust_field_enum_value("truncate", 7)
    )
)

/* inj_run_begin(): the injector is armed for a run with this seed and
   this many bindings (0: hit counting only). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_inject, arm,
    LTTNG_UST_TP_ARGS(uint64_t, seed, uint32_t, nr_bindings),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint64_t, seed, seed)
        lttng_ust_field_integer(uint32_t, nr_bindings, nr_bindings)
    )
)

/* inj_hit(): a binding fired at a point.  err is the negative Xen errno a
   fail injected, 0 for the other actions; ns the delay taken (delay). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_inject, fire,
    LTTNG_UST_TP_ARGS(const char *, point, uint16_t, point_id,
                      uint16_t, binding, uint8_t, action, uint16_t, dom,
                      uint16_t, vcpu, uint64_t, hit, int32_t, err,
                      uint64_t, ns, uint64_t, subject),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_string(point, point)
        lttng_ust_field_integer(uint16_t, point_id, point_id)
        lttng_ust_field_integer(uint16_t, binding, binding)
        lttng_ust_field_enum(hvlab_inject, action, uint8_t, action, action)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint64_t, hit, hit)
        lttng_ust_field_integer(int32_t, err, err)
        lttng_ust_field_integer(uint64_t, ns, ns)
        lttng_ust_field_integer_hex(uint64_t, subject, subject)
    )
)

#endif /* HVLAB_TRACE_HVLAB_INJECT_H */

#include <lttng/tracepoint-event.h>
