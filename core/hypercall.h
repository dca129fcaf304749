/*
 * core/hypercall.h - the hypercall boundary.
 *
 * Guests call hypercall() with Xen's numbers (__HYPERVISOR_*) and arguments
 * (pointers are guest virtual addresses).  The dispatcher traces entry and
 * exit, runs the handler, and turns a preempted batch into a continuation:
 * the handler records its restart arguments with hypercall_create_continuation()
 * and the dispatcher re-issues the call after a scheduling point, as Xen makes
 * the guest re-execute it.  HV_ERESTART and HV_EINTR never reach the guest.
 */
#ifndef HVLAB_CORE_HYPERCALL_H
#define HVLAB_CORE_HYPERCALL_H

#include "core/types.h"

struct vcpu;

long hypercall(struct vcpu *v, unsigned op, uint64_t a1, uint64_t a2,
               uint64_t a3, uint64_t a4, uint64_t a5);

/* For handlers: record the continuation; returns the value to return. */
long hypercall_create_continuation(struct vcpu *v, unsigned op, uint64_t a1,
                                   uint64_t a2, uint64_t a3, uint64_t a4,
                                   uint64_t a5);
/* For long operations: true when the current vCPU should stop and continue
   later (work budget spent, per hv_options.preempt_budget). */
bool hypercall_preempt_check(struct vcpu *v);

/* An observer of every hypercall at entry (before the handler runs, once
   per guest call: continuations are not observed again), with the caller's
   arguments a1..a5 in args[0..4]; NULL (the default) costs one branch.
   fuzz/main/gen-seeds.c records the shipped scenarios' calls through it. */
extern void (*hv_hcall_observer)(struct vcpu *v, unsigned op,
                                 const uint64_t args[5]);

#endif /* HVLAB_CORE_HYPERCALL_H */
