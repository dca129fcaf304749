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
 *   U4  Blocking is Xen's, in this order: mark the vCPU blocked (and, for
 *       poll, polling), then check for events, then wait until somebody
 *       clears `blocked` (a sender's kick or poller check does, before or
 *       after the check: a wake-up is never lost).  SCHEDOP_block first
 *       enables event delivery (clears the mask, Xen's
 *       local_event_delivery_enable); it returns at once when an upcall
 *       is pending and unmasked, else it waits for a kick (a port raising
 *       upcall_pending).  SCHEDOP_poll returns at once when an upcall
 *       needs delivery or one of its ports is pending (checked in order;
 *       a port beyond the table: -EINVAL); else it waits for a kick or for
 *       one of its ports (any port of the domain when it polls several,
 *       as Xen's poll_mask) to become pending, masked or not.  Timeout 0:
 *       wait forever; any other timeout expires at once (hvlab has no
 *       timer).  Every wait turn is hv_relax(): an SP_SPIN point in det
 *       mode, so a vCPU nobody will wake shows up as a deadlock.  A dying
 *       domain's vCPU stops waiting.
 *   U5  v->blocked changes only in set_blocked(): set by the vCPU itself
 *       when it blocks, cleared by it (events found, timeout, dying) or by
 *       its waker (vcpu_unblock); the wait is traced (block / wake).
 *   U6  Pollers (evtchn_private.h struct evtchn_poll): a vCPU is in its
 *       domain's poll mask only while blocked in SCHEDOP_poll; whoever
 *       wakes it takes it out (evtchn_audit checks it).
 */
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include <xen/sched.h>
#include <xen/version.h>


#include "core/domctl.h"
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
    const struct vcpu_info *vi = evtchn_vcpu_info(v);
    if (vi == NULL ||
        !__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_ACQUIRE))
        return;                                             /* U1 */
    INJ_POINT(evtchn_upcall_before_deliver, v);   /* inject: a window */

    struct domain *d = v->d;
    uint8_t host = (uint8_t)d->m->host_id;
    (void)host;
    struct vcpu_info *wvi = ram_w(vi, sizeof(*vi));
    __atomic_store_n(&wvi->evtchn_upcall_mask, 1, __ATOMIC_RELEASE);
    v->in_upcall = true;
    v->nr_upcalls++;
    TRC(hvlab_evtchn, upcall, host, d->domid, (uint16_t)v->vcpu_id, 0,
        (uint8_t)where,
        (uint64_t)__atomic_load_n(&vi->evtchn_pending_sel, __ATOMIC_RELAXED));
    v->guest_event_handler(v, v->guest_event_ctx);
    /* The guest's iret: the mask it had (clear) comes back. */
    wvi = evtchn_vcpu_info_w(v);
    vi = wvi;
    if (wvi)
        __atomic_store_n(&wvi->evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
    v->in_upcall = false;
    TRC(hvlab_evtchn, upcall, host, d->domid, (uint16_t)v->vcpu_id, 1,
        (uint8_t)where,
        vi ? (uint64_t)__atomic_load_n(&vi->evtchn_pending_sel,
                                       __ATOMIC_RELAXED) : 0);
}

/* ---- blocking and waking (U4 - U6) ----------------------------------------- */

/* The one mutator of v->blocked (U5); the old value. */
static bool set_blocked(struct vcpu *v, bool blocked)
{
    return atomic_exchange_explicit(&v->blocked, blocked,
                                    memory_order_seq_cst);
}

/* Xen's local_events_need_delivery: an upcall pending and not masked. */
static bool events_need_delivery(struct vcpu *v)
{
    const struct vcpu_info *vi = evtchn_vcpu_info(v);
    return vi != NULL &&
           __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
}

/* v leaves d's pollers (Xen: poll_evtchn = 0, its poll_mask bit clear). */
static void poll_end(struct domain *d, struct vcpu *v)
{
    struct evtchn_poll *p = evtchn_poll_of(d);
    atomic_store(&p->port[v->vcpu_id], 0);
    atomic_fetch_and(&p->mask, ~(1ULL << v->vcpu_id));
}

/* Xen's vcpu_unblock: whoever clears blocked wakes v, and its polling
   period ends. */
static void vcpu_unblock(struct vcpu *v)
{
    if (!set_blocked(v, false))
        return;
    if (atomic_load(&evtchn_poll_of(v->d)->port[v->vcpu_id]) != 0)
        poll_end(v->d, v);
}

void evtchn_vcpu_kick(struct domain *d, unsigned vcpu_id)
{
    if (vcpu_id < d->nr_vcpus && d->vcpu[vcpu_id] != NULL)
        vcpu_unblock(d->vcpu[vcpu_id]);
}

void evtchn_check_pollers(struct domain *d, evtchn_port_t port)
{
    struct evtchn_poll *p = evtchn_poll_of(d);
    uint64_t pollers = atomic_load(&p->mask);
    while (pollers) {
        unsigned id = (unsigned)__builtin_ctzll(pollers);
        uint64_t bit = 1ULL << id;
        pollers &= pollers - 1;
        int32_t want = atomic_load(&p->port[id]);
        if ((want <= 0 || want == (int32_t)port) &&
            (atomic_fetch_and(&p->mask, ~bit) & bit)) {
            atomic_store(&p->port[id], 0);
            if (id < d->nr_vcpus && d->vcpu[id] != NULL)
                vcpu_unblock(d->vcpu[id]);
        }
    }
}

/* U4: mark v blocked (and polling any port) before anything is checked. */
static void block_begin(struct vcpu *v, bool poll)
{
    set_blocked(v, true);
    if (poll) {
        struct evtchn_poll *p = evtchn_poll_of(v->d);
        atomic_store(&p->port[v->vcpu_id], -1);
        atomic_fetch_or(&p->mask, 1ULL << v->vcpu_id);
    }
    INJ_POINT(evtchn_wait_before_check, v);     /* inject: the window */
}

/* Nothing was pending: wait until woken (U4, U5).  once: the poll's timeout
   expires at once (no timer). */
static void block_wait(struct vcpu *v, unsigned op, bool once)
{
    struct domain *d = v->d;
    uint8_t host = (uint8_t)d->m->host_id;
    uint64_t spins = 0;
    (void)host;

    TRC(hvlab_evtchn, block, host, d->domid, (uint16_t)v->vcpu_id, 1,
        (uint8_t)op, 0);
    while (!once && atomic_load(&v->blocked) && !atomic_load(&d->is_dying)) {
        hv_relax();
        spins++;
    }
    vcpu_unblock(v);            /* timeout, dying: v wakes itself */
    TRC(hvlab_evtchn, block, host, d->domid, (uint16_t)v->vcpu_id, 0,
        (uint8_t)op, spins);
}

static long sched_block(struct vcpu *v)
{
    struct vcpu_info *vi = evtchn_vcpu_info_w(v);
    if (vi == NULL)
        return -XEN_EINVAL;     /* no vcpu_info: nothing could wake it */
    /* Xen's local_event_delivery_enable, then vcpu_block. */
    __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    block_begin(v, false);
    if (events_need_delivery(v) || atomic_load(&v->d->is_dying))
        set_blocked(v, false);
    else
        block_wait(v, SCHEDOP_block, false);
    evtchn_deliver(v, EVTCHN_AT_WAKE);                      /* U3 */
    return 0;
}

static long sched_poll(struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->d;
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
    if (d->evtchn == NULL)
        return -XEN_ENOSYS;

    long rc = 0;
    struct evtchn_poll *p = evtchn_poll_of(d);
    block_begin(v, true);
    /* Woken already (by a kick or a poller check), dying, or an upcall to
       deliver: return at once (Xen's do_poll). */
    if (!atomic_load(&v->blocked) ||
        !(atomic_load(&p->mask) & (1ULL << v->vcpu_id)) ||
        atomic_load(&d->is_dying) || events_need_delivery(v))
        goto out;
    for (unsigned i = 0; i < sp.nr_ports; i++) {
        if (!evtchn_port_in_range(d, ports[i])) {
            rc = -XEN_EINVAL;
            goto out;
        }
        if (evtchn_port_pending(d, ports[i]))
            goto out;
    }
    if (sp.nr_ports == 1) {     /* only this port's event wakes it */
        int32_t any = -1;
        atomic_compare_exchange_strong(&p->port[v->vcpu_id], &any,
                                       (int32_t)ports[0]);
    }
    block_wait(v, SCHEDOP_poll, sp.timeout != 0);
    return 0;
out:
    poll_end(d, v);
    set_blocked(v, false);
    return rc;
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
    case SCHEDOP_shutdown: {
        struct sched_shutdown ss;
        if (copy_from_guest(v, &ss, arg, sizeof(ss)) != 0)
            return -XEN_EFAULT;
        return domain_shutdown(v->d, ss.reason);
    }
    default:
        return -XEN_ENOSYS;     /* remote_shutdown, watchdog ... */
    }
}

long do_xen_version(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    (void)v; (void)arg;
    if (cmd == XENVER_version)
        return (HVLAB_XEN_MAJOR << 16) | HVLAB_XEN_MINOR;
    return -XEN_ENOSYS;
}
