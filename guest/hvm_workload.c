/*
 * guest/hvm_workload.c - the workloads of guest/workload.c, compiled for
 * the HVM kernel (guest/hvm_private.h): the same programs, patterns and
 * verification, so kind=pv and kind=hvm run identical workloads.
 */
#include "trace/trace.h"      /* before the renames of hvm_private.h */
#include "guest/hvm_private.h"
#include "guest/workload.c"
