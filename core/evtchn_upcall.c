/*
 * core/evtchn_upcall.c - delivering events to a vCPU: the upcall,
 * SCHEDOP_block / poll / yield, and xen_version.
 *
 * Rules:
 *   U1  An upcall is delivered only when the vCPU's vcpu_info has
 *       evtchn_upcall_pending set and evtchn_upcall_mask clear, and the
 *       guest registered a handler.  Delivery sets the mask (Xen's bounce
 *       frame for a callback registered with events masked), calls the
 *       handler on that vCPU and clears the mask when it returns (the
 *       guest's iret).  One delivery per delivery point: what arrives
 *       while the handler runs is delivered at the next point.
 *   U2  Never nested: a hypercall made by the handler sees the mask set
 *       (and in_upcall), so its exit delivers nothing.
 *   U3  Delivery points: the end of every hypercall (core/hypercall.c)
 *       and the wake-up of SCHEDOP_block.
 *   U4  SCHEDOP_block enables event delivery (clears the mask, as Xen's
 *       local_event_delivery_enable) and waits until upcall_pending is
 *       set; SCHEDOP_poll waits until one of its ports is pending (timeout
 *       0: forever; any other timeout: one check, then return 0 - hvlab
 *       has no timer).  Every wait turn is hv_relax(): an SP_SPIN point in
 *       det mode, so a vCPU nobody will wake shows up as a deadlock.  A
 *       dying domain's vCPU stops waiting.
 *   U5  v->blocked is set for the whole wait and traced (block / wake).
 */
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include <xen/sched.h>
#include <xen/version.h>


#include "core/evtchn.h"
#include "core/evtchn_private.h"
#include "core/guest_access.h"
#include "core/lock.h"
#include "inject/inject.h"
#include "trace/trace.h"

/* hvlab answers XENVER_version as this Xen (major << 16 | minor). */
#define HVLAB_XEN_MAJOR 4
#define HVLAB_XEN_MINOR 17

/* Xen's do_poll limit on nr_ports. */
#define SCHED_POLL_MAX_PORTS 128

void evtchn_deliver(struct vcpu *v, enum evtchn_deliver_point where)
{
    if (likely(v->guest_event_handler == NULL) || v->in_upcall)
        return;                                             /* U2 */
    struct vcpu_info *vi = evtchn_vcpu_info(v);
    if (vi == NULL ||
        !__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_ACQUIRE))
        return;                                             /* U1 */
    INJ_POINT(evtchn_upcall_before_deliver, v);   /* inject: a window */

    struct domain *d = v->d;
    uint8_t host = (uint8_t)d->m->host_id;
    (void)host;
    __atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_RELEASE);
    v->in_upcall = true;
    v->nr_upcalls++;
    TRC(hvlab_evtchn, upcall, host, d->domid, (uint16_t)v->vcpu_id, 0,
        (uint8_t)where,
        (uint64_t)__atomic_load_n(&vi->evtchn_pending_sel, __ATOMIC_RELAXED));
    v->guest_event_handler(v, v->guest_event_ctx);
    /* The guest's iret: the mask it had (clear) comes back. */
    vi = evtchn_vcpu_info(v);
    if (vi)
        __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
    v->in_upcall = false;
    TRC(hvlab_evtchn, upcall, host, d->domid, (uint16_t)v->vcpu_id, 1,
        (uint8_t)where,
        vi ? (uint64_t)__atomic_load_n(&vi->evtchn_pending_sel,
                                       __ATOMIC_RELAXED) : 0);
}

/* ---- waiting (U4, U5) ----------------------------------------------------- */

struct wait_cond {
    const evtchn_port_t *ports;     /* poll: these; NULL: upcall_pending */
    unsigned nr_ports;
};

static bool wait_done(struct vcpu *v, const struct wait_cond *w)
{
    if (atomic_load(&v->d->is_dying))
        return true;
    if (w->ports == NULL) {
        struct vcpu_info *vi = evtchn_vcpu_info(v);
        return vi == NULL ||
               __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE);
    }
    for (unsigned i = 0; i < w->nr_ports; i++)
        if (evtchn_port_pending(v->d, w->ports[i]))
            return true;
    return false;
}

static void vcpu_wait(struct vcpu *v, const struct wait_cond *w, unsigned op,
                      bool once)
{
    struct domain *d = v->d;
    uint8_t host = (uint8_t)d->m->host_id;
    uint64_t spins = 0;
    (void)host;

    if (wait_done(v, w))
        return;
    atomic_store(&v->blocked, true);
    TRC(hvlab_evtchn, block, host, d->domid, (uint16_t)v->vcpu_id, 1,
        (uint8_t)op, 0);
    while (!once && !wait_done(v, w)) {
        hv_relax();
        spins++;
    }
    atomic_store(&v->blocked, false);
    TRC(hvlab_evtchn, block, host, d->domid, (uint16_t)v->vcpu_id, 0,
        (uint8_t)op, spins);
}

static long sched_block(struct vcpu *v)
{
    struct vcpu_info *vi = evtchn_vcpu_info(v);
    if (vi == NULL)
        return -XEN_EINVAL;     /* no vcpu_info: nothing could wake it */
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
    const struct wait_cond w = { NULL, 0 };
    vcpu_wait(v, &w, SCHEDOP_block, false);
    evtchn_deliver(v, EVTCHN_AT_WAKE);                      /* U3 */
    return 0;
}

static long sched_poll(struct vcpu *v, uint64_t arg)
{
    struct sched_poll sp;
    uint64_t ports_va;
    evtchn_port_t ports[SCHED_POLL_MAX_PORTS];

    if (copy_from_guest(v, &sp, arg, sizeof(sp)))
        return -XEN_EFAULT;
    if (sp.nr_ports > SCHED_POLL_MAX_PORTS)
        return -XEN_EINVAL;
    _Static_assert(sizeof(sp.ports) == sizeof(ports_va), "guest handle");
    memcpy(&ports_va, &sp.ports, sizeof(ports_va));
    if (sp.nr_ports &&
        copy_from_guest(v, ports, ports_va, sp.nr_ports * sizeof(ports[0])))
        return -XEN_EFAULT;
    for (unsigned i = 0; i < sp.nr_ports; i++)
        if (!evtchn_port_in_range(v->d, ports[i]))
            return -XEN_EINVAL;
    const struct wait_cond w = { ports, sp.nr_ports };
    vcpu_wait(v, &w, SCHEDOP_poll, sp.timeout != 0);
    return 0;
}

long do_sched_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    switch (cmd) {
    case SCHEDOP_yield:
        if (hv_sched_hook != NULL)
            sched_point(SP_PREEMPT);
        else
            sched_yield();
        return 0;
    case SCHEDOP_block:
        return sched_block(v);
    case SCHEDOP_poll:
        return sched_poll(v, arg);
    default:
        return -XEN_ENOSYS;     /* shutdown, remote_shutdown, watchdog ... */
    }
}

long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    (void)v; (void)arg;
    if (cmd == XENVER_version)
        return (HVLAB_XEN_MAJOR << 16) | HVLAB_XEN_MINOR;
    return -XEN_ENOSYS;
}
