/*
 * core/evtchn.h - event channels: ports, the 2-level ABI in shared_info,
 * upcalls, SCHEDOP_block / poll.
 *
 * A domain gets its shared_info page (struct shared_info of <xen/xen.h>, a
 * Xen page shared with it) and an empty port table when it is created, and
 * loses both when it is destroyed (every port closed first: the remote end
 * of an interdomain channel becomes unbound).  Guests reach the rest
 * through hypercalls with Xen's numbers: event_channel_op, sched_op,
 * xen_version.  The guest's upcall handler is registered on the vCPU
 * (core/vcpu.h vcpu_set_guest_event_handler) and called by evtchn_deliver()
 * on the way out of every hypercall and when a blocked vCPU wakes.
 */
#ifndef HVLAB_CORE_EVTCHN_H
#define HVLAB_CORE_EVTCHN_H

#include <stdio.h>

#include "core/types.h"

#include <xen/event_channel.h>

struct domain;
struct vcpu;

/* The 2-level ABI's port count is Xen's EVTCHN_2L_NR_CHANNELS. */

/* Domain lifecycle (core/domctl.c).  init: 0, -XEN_ENOMEM; sets
   d->shared_info_mfn.  destroy: closes every port, stops sharing the
   page (before mm_relinquish).  free: releases the port table (with the
   domain structure). */
int evtchn_domain_init(struct domain *d);
void evtchn_domain_destroy(struct domain *d);
void evtchn_domain_free(struct domain *d);

/* Hypercalls (core/hypercall.c's table). */
long do_event_channel_op(struct vcpu *v, unsigned cmd, uint64_t arg);
long do_sched_op(struct vcpu *v, unsigned cmd, uint64_t arg);
long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg);

/* Where an upcall is delivered (trace field `where`). */
enum evtchn_deliver_point { EVTCHN_AT_HCALL_EXIT = 0, EVTCHN_AT_WAKE = 1 };
/* Call v's guest event handler if its vcpu_info has an upcall pending and
   unmasked (never nested).  Cheap when nothing is pending. */
void evtchn_deliver(struct vcpu *v, enum evtchn_deliver_point where);

/* HVM: XENMAPSPACE_shared_info (idx 0) - move d's shared_info page to
   gfn: its old place becomes a hole, whatever RAM was at gfn is given
   back, as Xen's add_to_physmap does.  0, -XEN_EINVAL (idx not 0, not
   translated) or the p2m's error. */
int evtchn_physmap_shared_info(struct domain *d, uint64_t idx, pfn_t gfn);
/* core/mm/alloc.c physmap_evict (p2m lock held): add_to_physmap put another
   page at gfn, where d's shared_info (mfn) sat; forget that placement so a
   later move or teardown does not clear the newcomer's slot. */
void evtchn_shared_info_unhooked(struct domain *d, mfn_t mfn, pfn_t gfn);

/* port is below d's limit (E1), whatever its state. */
bool evtchn_port_in_range(const struct domain *d, uint32_t port);
/* Number of chn_set_state calls on d's ports (evtchn.c E2); for tests. */
uint64_t evtchn_state_changes(struct domain *d);
/* Number of ports of d in use (not free, not reserved); for tests. */
unsigned evtchn_ports_in_use(struct domain *d);
/* Check the invariants of evtchn.c's rules; violations (printed to f when
   non-NULL). */
unsigned evtchn_audit(struct domain *d, FILE *f);
/* evtchn_audit of every domain of m (core/audit.c hv_audit). */
struct machine;
unsigned evtchn_audit_machine(struct machine *m, FILE *f);

#endif /* HVLAB_CORE_EVTCHN_H */
