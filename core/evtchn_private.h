/*
 * core/evtchn_private.h - what core/evtchn.c and core/evtchn_upcall.c
 * share: the hypervisor's view of a domain's shared_info page.
 *
 * The hypervisor reads and writes shared_info directly (it is a Xen page,
 * as in Xen); the guest only through its MMU.  Every bit the two share is
 * changed with an atomic operation.
 */
#ifndef HVLAB_CORE_EVTCHN_PRIVATE_H
#define HVLAB_CORE_EVTCHN_PRIVATE_H

#include "core/domain.h"
#include "core/evtchn.h"
#include "core/machine.h"
#include "core/vcpu.h"

#define EVTCHN_WORD_BITS    (sizeof(xen_ulong_t) * 8)

/* d's shared_info page; the _w forms for a store (core/machine.h ram_w:
   the whole page is named). */
static inline const struct shared_info *evtchn_shinfo(const struct domain *d)
{
    return d->shared_info_mfn == INVALID_MFN ? NULL
           : (const struct shared_info *)mfn_to_virt(d->m, d->shared_info_mfn);
}
static inline struct shared_info *evtchn_shinfo_w(const struct domain *d)
{
    return d->shared_info_mfn == INVALID_MFN ? NULL
           : (struct shared_info *)mfn_to_virt_w(d->m, d->shared_info_mfn);
}

/* v's vcpu_info in shared_info (NULL: none, e.g. vcpu_id >= 32: hvlab has
   no VCPUOP_register_vcpu_info). */
static inline const struct vcpu_info *evtchn_vcpu_info(const struct vcpu *v)
{
    const struct shared_info *s = evtchn_shinfo(v->d);
    return s && v->vcpu_id < XEN_LEGACY_MAX_VCPUS ? &s->vcpu_info[v->vcpu_id]
                                                  : NULL;
}
static inline struct vcpu_info *evtchn_vcpu_info_w(const struct vcpu *v)
{
    struct shared_info *s = evtchn_shinfo_w(v->d);
    return s && v->vcpu_id < XEN_LEGACY_MAX_VCPUS ? &s->vcpu_info[v->vcpu_id]
                                                  : NULL;
}

static inline bool evtchn_port_pending(const struct domain *d, uint32_t port)
{
    const struct shared_info *s = evtchn_shinfo(d);
    if (!s || port >= EVTCHN_2L_NR_CHANNELS)
        return false;
    xen_ulong_t w = __atomic_load_n(&s->evtchn_pending[port / EVTCHN_WORD_BITS],
                                    __ATOMIC_ACQUIRE);
    return (w >> (port % EVTCHN_WORD_BITS)) & 1;
}

/* Xen's d->poll_mask and v->poll_evtchn (evtchn_upcall.c U6): which vCPUs
   are in SCHEDOP_poll and what each waits for (-1: any port, or not yet
   known; a port: that one port; 0: none).  Written by the poller and by
   whoever wakes it; every access is sequentially consistent. */
_Static_assert(HV_MAX_VCPUS <= 64, "poll_mask is one word");
struct evtchn_poll {
    _Atomic uint64_t mask;
    _Atomic int32_t port[HV_MAX_VCPUS];
};

/* evtchn.c: d's poll state (d has an event-channel table). */
struct evtchn_poll *evtchn_poll_of(struct domain *d);

/* evtchn_upcall.c: Xen's vcpu_kick after evtchn_upcall_pending of
   d's vcpu_id went from 0 to 1: a vCPU blocked in SCHEDOP_block / poll
   wakes.  No-op for a vCPU that does not exist or does not wait. */
void evtchn_vcpu_kick(struct domain *d, unsigned vcpu_id);
/* evtchn_upcall.c: Xen's evtchn_check_pollers after port of d became
   pending: wake every vCPU polling that port or several ports. */
void evtchn_check_pollers(struct domain *d, evtchn_port_t port);

#endif /* HVLAB_CORE_EVTCHN_PRIVATE_H */
