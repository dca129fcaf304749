/*
 * guest/hvm_sched.c - the kernel scheduler of guest/pv_sched.c, compiled
 * for the HVM kernel (guest/hvm_private.h): one run queue, threads of a
 * process on several vCPUs at once, lazy mm switches, waits by atomics and
 * hv_relax() only.
 */
#include "trace/trace.h"      /* before the renames of hvm_private.h */
#include "guest/hvm_private.h"
#include "guest/pv_sched.c"
