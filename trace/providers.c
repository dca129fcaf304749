/*
 * trace/providers.c - instantiates every hvlab tracepoint provider, once.
 * Compiled with plain gcc even in fuzzing builds, so the tracer itself is
 * not instrumented.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "trace/hvlab_hcall.h"
#include "trace/hvlab_mm.h"
#include "trace/hvlab_pt.h"
#include "trace/hvlab_guest.h"
#include "trace/hvlab_inject.h"
#include "trace/hvlab_p2m.h"
#include "trace/hvlab_shadow.h"
#include "trace/hvlab_grant.h"
#include "trace/hvlab_evtchn.h"
#include "trace/hvlab_dirty.h"
#include "trace/hvlab_mig.h"
