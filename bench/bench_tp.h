/*
 * bench/bench_tp.h - a bare LTTng-UST provider for the tracepoint benchmark.
 *
 * The same payload as hvlab_pt:pte_write (eight integers, the same types and
 * display bases), declared straight on LTTng-UST with none of hvlab's
 * macros: the baseline an hvlab tracepoint is measured against.  Its name
 * starts with "hvlab_" only so that the benchmark's session (which enables
 * "hvlab_*") enables it too; it is not part of the event catalog.
 * Instantiated in bench/bench-tracepoint.c, the only file that uses it.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_bench_bare

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "bench/bench_tp.h"

#if !defined(HVLAB_BENCH_BENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_BENCH_BENCH_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(hvlab_bench_bare, pte_write,
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

#endif /* HVLAB_BENCH_BENCH_TP_H */

#include <lttng/tracepoint-event.h>
