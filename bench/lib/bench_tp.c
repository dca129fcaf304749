/*
 * bench/lib/bench_tp.c - instantiates the bare benchmark provider, once.
 * (Every .c file of bench/lib is linked into every benchmark binary.)
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench/bench_tp.h"
