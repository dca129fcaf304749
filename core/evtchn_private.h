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

static inline struct shared_info *evtchn_shinfo(const struct domain *d)
{
    return d->shared_info_mfn == INVALID_MFN ? NULL
           : (struct shared_info *)mfn_to_virt(d->m, d->shared_info_mfn);
}

/* v's vcpu_info in shared_info (NULL: none, e.g. vcpu_id >= 32: hvlab has
   no VCPUOP_register_vcpu_info). */
static inline struct vcpu_info *evtchn_vcpu_info(const struct vcpu *v)
{
    struct shared_info *s = evtchn_shinfo(v->d);
    return s && v->vcpu_id < XEN_LEGACY_MAX_VCPUS ? &s->vcpu_info[v->vcpu_id]
                                                  : NULL;
}

static inline bool evtchn_port_pending(const struct domain *d, uint32_t port)
{
    struct shared_info *s = evtchn_shinfo(d);
    if (!s || port >= EVTCHN_2L_NR_CHANNELS)
        return false;
    xen_ulong_t w = __atomic_load_n(&s->evtchn_pending[port / EVTCHN_WORD_BITS],
                                    __ATOMIC_ACQUIRE);
    return (w >> (port % EVTCHN_WORD_BITS)) & 1;
}

#endif /* HVLAB_CORE_EVTCHN_PRIVATE_H */
