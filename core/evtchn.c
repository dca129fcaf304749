/*
 * core/evtchn.c - event-channel ports and the 2-level pending/mask ABI.
 *
 * Rules:
 *   E1  Each domain has a port table of hv_options.evtchn_max_ports + 1
 *       channels (at most 4095, the 2-level ABI's last port).  Port 0 is
 *       reserved, as in Xen; get_free_port hands out the lowest free port,
 *       -XEN_ENOSPC when none is left.  A port above the limit is invalid
 *       (-XEN_EINVAL for every operation that names it).  Xen also refuses
 *       ports of buckets not allocated yet (valid_evtchns); hvlab allocates
 *       the whole table at once, so a free port below the limit is valid
 *       (status: closed, unmask: accepted).
 *   E2  A channel's state, peer and notify vCPU change only in
 *       chn_set_state() (counted, traced hvlab_evtchn:state), under its
 *       domain's event-channel lock: bind_ipi's vCPU and bind_vcpu's
 *       rebinding too (old state = new state for the latter).  The two
 *       ends of an interdomain channel change together, under both
 *       domains' locks, taken in domid order.
 *   E3  An interdomain channel points at its peer and the peer back
 *       (domain + port); closing one end makes the other unbound, waiting
 *       for the closing domain to bind again (Xen's evtchn_close).
 *   E4  Sending takes the sender's lock only: the peer cannot close (so
 *       its shared_info cannot go) without that lock too.
 *   E5  evtchn_2l_set_pending is Xen's: set the pending bit; if it was
 *       clear and the port is unmasked and the selector bit of the notified
 *       vCPU was clear, set evtchn_upcall_pending and, when that was clear,
 *       kick the vCPU (evtchn_vcpu_kick: a vCPU blocked in SCHEDOP_block
 *       or poll wakes); a newly pending port, masked or not, also wakes
 *       the domain's pollers that may wait for it (evtchn_check_pollers).
 *       Unmask clears the mask bit and re-raises a pending port the same
 *       way.  The bit operations are sequentially consistent, as Xen's
 *       locked bitops are full barriers: the sender's "set pending, then
 *       read mask" and the unmasker's "clear mask, then read pending" (and
 *       a waiter's "blocked, then read pending") are store-then-load
 *       pairs on different words, so at least one side sees the other.
 *   E6  Every operation checks all its arguments before it changes
 *       anything and returns Xen's error code (-EINVAL bad port / state,
 *       -ESRCH no such domain, -EPERM foreign domain without privilege,
 *       -ENOENT bad vCPU, -ENOSPC port table full, -EFAULT bad argument
 *       pointer, -ENOSYS an operation hvlab does not model).
 *   E7  A destroyed domain's table is closed (every port closed, `dead`
 *       set) before its shared_info page is unshared; its lock and table
 *       live until the domain structure is freed, so a peer that looked the
 *       domain up may still take the lock and see `dead` (-ESRCH).
 *   E8  HVM: shared_info appears in the p2m only where the guest put it
 *       (XENMAPSPACE_shared_info, one place at a time); the entry goes
 *       before the page is unshared at destruction.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <xen/event_channel.h>

#include "core/evtchn.h"
#include "core/evtchn_private.h"
#include "core/guest_access.h"
#include "core/lock.h"
#include "core/mm/alloc.h"
#include "core/mm/p2m.h"
#include "inject/inject.h"
#include "trace/trace.h"

/* Xen's channel states (xen/include/xen/sched.h ECS_*). */
enum ecs {
    ECS_FREE = 0, ECS_RESERVED = 1, ECS_UNBOUND = 2, ECS_INTERDOMAIN = 3,
    ECS_PIRQ = 4, ECS_VIRQ = 5, ECS_IPI = 6,
};

struct evtchn {
    uint8_t state;                  /* enum ecs */
    uint16_t notify_vcpu;
    domid_t unbound_remote;         /* ECS_UNBOUND: who may bind */
    struct domain *remote_dom;      /* ECS_INTERDOMAIN: the peer */
    evtchn_port_t remote_port;
};

struct evtchn_domain {
    hv_lock_t lock;
    unsigned max_port;              /* E1 */
    unsigned hi_port;               /* the highest port chn_set_state
                                       ever changed (the audit's bound) */
    bool dead;                      /* E7 */
    struct evtchn *chn;             /* [max_port + 1] */
    pfn_t shinfo_gfn;               /* HVM: where shared_info is mapped
                                       (E8; under the p2m lock) */
    _Atomic uint64_t nr_sends, nr_set_pending;  /* any vCPU (E4) */
    uint64_t nr_state_changes;      /* chn_set_state calls (E2) */
    struct evtchn_poll poll;        /* SCHEDOP_poll (evtchn_upcall.c U6) */
};

#define NO_VCPU 0xFFFF
#define NO_DOM  0xFFFF
/* chn_set_state's notify argument: leave the notify vCPU as it is. */
#define NOTIFY_KEEP 0xFFFFu

static uint16_t actor_vcpu(void)
{
    return current ? (uint16_t)current->vcpu_id : NO_VCPU;
}

/* ---- the one mutator of a channel (E2) ------------------------------------ */

/* notify: the new notify vCPU (NOTIFY_KEEP: unchanged); a freed port's
   goes back to 0.  The notify vCPU is stored atomically: a peer's send reads
   it without this domain's lock (E4). */
static void chn_set_state(struct domain *d, evtchn_port_t port, uint8_t state,
                          domid_t unbound_remote, struct domain *rd,
                          evtchn_port_t rport, unsigned notify)
{
    struct evtchn *c = &d->evtchn->chn[port];
    uint8_t old = c->state;

    if (state == ECS_FREE)
        notify = 0;
    /* Callers checked the vCPU (E6); anything else is a hypervisor bug. */
    if (notify != NOTIFY_KEEP && notify >= d->nr_vcpus) {
        fprintf(stderr, "evtchn: d%u port %u: notify vcpu %u of %u\n",
                d->domid, port, notify, d->nr_vcpus);
        abort();
    }
    if (port > d->evtchn->hi_port)
        d->evtchn->hi_port = port;
    c->state = state;
    c->unbound_remote = state == ECS_UNBOUND ? unbound_remote : 0;
    c->remote_dom = state == ECS_INTERDOMAIN ? rd : NULL;
    c->remote_port = state == ECS_INTERDOMAIN ? rport : 0;
    if (notify != NOTIFY_KEEP)
        __atomic_store_n(&c->notify_vcpu, (uint16_t)notify, __ATOMIC_RELAXED);
    d->evtchn->nr_state_changes++;
    uint16_t tdom = state == ECS_UNBOUND ? unbound_remote
                    : state == ECS_INTERDOMAIN ? rd->domid : NO_DOM;
    (void)old; (void)tdom;
    TRC(hvlab_evtchn, state, (uint8_t)d->m->host_id, d->domid, actor_vcpu(),
        port, old, state, tdom, c->remote_port, c->notify_vcpu);
}

/* ---- the 2-level ABI (E5) -------------------------------------------------- */

/* Set upcall_pending of vcpu_info vi; true when it was clear. */
static bool mark_events_pending(struct vcpu_info *vi)
{
    return __atomic_exchange_n(&vi->evtchn_upcall_pending, 1,
                               __ATOMIC_SEQ_CST) == 0;
}

static void evtchn_2l_set_pending(struct domain *d, evtchn_port_t port,
                                  unsigned notify_vcpu)
{
    struct shared_info *s = evtchn_shinfo_w(d);
    unsigned w = port / EVTCHN_WORD_BITS;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    bool upcall = false, masked = false;

    bool was = __atomic_fetch_or(&s->evtchn_pending[w], bit,
                                 __ATOMIC_SEQ_CST) & bit;
    if (!was) {
        masked = __atomic_load_n(&s->evtchn_mask[w], __ATOMIC_SEQ_CST) & bit;
        if (!masked && notify_vcpu < XEN_LEGACY_MAX_VCPUS) {
            struct vcpu_info *vi = &s->vcpu_info[notify_vcpu];
            xen_ulong_t sel = (xen_ulong_t)1 << w;
            if (!(__atomic_fetch_or(&vi->evtchn_pending_sel, sel,
                                    __ATOMIC_SEQ_CST) & sel))
                upcall = mark_events_pending(vi);
        }
    }
    atomic_fetch_add_explicit(&d->evtchn->nr_set_pending, 1,
                              memory_order_relaxed);
    TRC(hvlab_evtchn, set_pending, (uint8_t)d->m->host_id, d->domid,
        actor_vcpu(), port, (uint16_t)notify_vcpu, was, masked, upcall);
    if (upcall)
        evtchn_vcpu_kick(d, notify_vcpu);
    if (!was)
        evtchn_check_pollers(d, port);
}

static void evtchn_2l_clear_pending(struct domain *d, evtchn_port_t port)
{
    struct shared_info *s = evtchn_shinfo_w(d);
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    __atomic_fetch_and(&s->evtchn_pending[port / EVTCHN_WORD_BITS], ~bit,
                       __ATOMIC_ACQ_REL);
}

/* ---- locks and lookups ---------------------------------------------------- */

static bool port_is_valid(const struct domain *d, evtchn_port_t port)
{
    return port <= d->evtchn->max_port;
}

static void lock_pair(struct domain *a, struct domain *b)
{
    if (a == b) {
        hv_lock(&a->evtchn->lock);
    } else if (a->domid < b->domid) {
        hv_lock(&a->evtchn->lock);
        hv_lock(&b->evtchn->lock);
    } else {
        hv_lock(&b->evtchn->lock);
        hv_lock(&a->evtchn->lock);
    }
}

static void unlock_pair(struct domain *a, struct domain *b)
{
    if (a != b)
        hv_unlock(&b->evtchn->lock);
    hv_unlock(&a->evtchn->lock);
}

/* The domain a guest names (DOMID_SELF or a domid): -ESRCH when there is
   none (or it is being destroyed), -EPERM for another domain without
   privilege (Xen's rcu_lock_domain_by_any_id + XSM). */
static int lookup_domain(struct vcpu *v, domid_t dom, bool need_priv,
                         struct domain **out)
{
    struct domain *d = dom == DOMID_SELF ? v->d : machine_domain(v->d->m, dom);
    if (d == NULL || d->evtchn == NULL || atomic_load(&d->is_dying))
        return -XEN_ESRCH;
    if (need_priv && d != v->d && !v->d->is_privileged)
        return -XEN_EPERM;
    *out = d;
    return 0;
}

/* Lowest free port (E1); caller holds d's lock. */
static int get_free_port(struct domain *d)
{
    for (unsigned p = 0; p <= d->evtchn->max_port; p++)
        if (d->evtchn->chn[p].state == ECS_FREE)
            return (int)p;
    return -XEN_ENOSPC;
}

/* ---- operations ------------------------------------------------------------ */

static long evtchn_alloc_unbound(struct vcpu *v, struct evtchn_alloc_unbound *a)
{
    struct domain *d;
    int rc = lookup_domain(v, a->dom, true, &d);
    if (rc)
        return rc;
    domid_t remote = a->remote_dom == DOMID_SELF ? v->d->domid : a->remote_dom;

    hv_lock(&d->evtchn->lock);
    rc = d->evtchn->dead ? -XEN_ESRCH : get_free_port(d);
    if (rc >= 0) {
        a->port = (evtchn_port_t)rc;
        chn_set_state(d, a->port, ECS_UNBOUND, remote, NULL, 0, NOTIFY_KEEP);
        rc = 0;
    }
    hv_unlock(&d->evtchn->lock);
    return rc;
}

static long evtchn_bind_interdomain(struct vcpu *v,
                                    struct evtchn_bind_interdomain *b)
{
    struct domain *ld = v->d, *rd;
    int rc = lookup_domain(v, b->remote_dom, false, &rd);
    if (rc)
        return rc;

    lock_pair(ld, rd);
    if (ld->evtchn->dead || rd->evtchn->dead) {
        rc = -XEN_ESRCH;
        goto out;
    }
    rc = get_free_port(ld);             /* Xen: -ENOSPC before the checks */
    if (rc < 0)
        goto out;
    evtchn_port_t lport = (evtchn_port_t)rc;
    rc = 0;
    if (!port_is_valid(rd, b->remote_port)) {
        rc = -XEN_EINVAL;
        goto out;
    }
    struct evtchn *rc_chn = &rd->evtchn->chn[b->remote_port];
    if (rc_chn->state != ECS_UNBOUND || rc_chn->unbound_remote != ld->domid) {
        rc = -XEN_EINVAL;
        goto out;
    }
    chn_set_state(ld, lport, ECS_INTERDOMAIN, 0, rd, b->remote_port,
                  NOTIFY_KEEP);
    chn_set_state(rd, b->remote_port, ECS_INTERDOMAIN, 0, ld, lport,
                  NOTIFY_KEEP);
    b->local_port = lport;
    /* Xen: the local end is made pending, in case the remote sent while
       it was still unbound. */
    evtchn_2l_set_pending(ld, lport, ld->evtchn->chn[lport].notify_vcpu);
out:
    unlock_pair(ld, rd);
    return rc;
}

static long evtchn_bind_ipi(struct vcpu *v, struct evtchn_bind_ipi *b)
{
    struct domain *d = v->d;
    if (b->vcpu >= d->nr_vcpus)
        return -XEN_ENOENT;
    if (b->vcpu >= XEN_LEGACY_MAX_VCPUS)
        return -XEN_EINVAL;             /* no vcpu_info outside shared_info */
    hv_lock(&d->evtchn->lock);
    int rc = d->evtchn->dead ? -XEN_ESRCH : get_free_port(d);
    if (rc >= 0) {
        b->port = (evtchn_port_t)rc;
        chn_set_state(d, b->port, ECS_IPI, 0, NULL, 0, b->vcpu);
        rc = 0;
    }
    hv_unlock(&d->evtchn->lock);
    return rc;
}

/* Close port of d (E3).  Takes the locks itself. */
static long evtchn_close_port(struct domain *d, evtchn_port_t port)
{
    for (;;) {
        hv_lock(&d->evtchn->lock);
        if (!port_is_valid(d, port)) {
            hv_unlock(&d->evtchn->lock);
            return -XEN_EINVAL;
        }
        struct evtchn *c = &d->evtchn->chn[port];
        switch (c->state) {
        case ECS_FREE:
        case ECS_RESERVED:
            hv_unlock(&d->evtchn->lock);
            return -XEN_EINVAL;
        case ECS_UNBOUND:
        case ECS_IPI:
        case ECS_VIRQ:
        case ECS_PIRQ:
            evtchn_2l_clear_pending(d, port);
            chn_set_state(d, port, ECS_FREE, 0, NULL, 0, 0);
            hv_unlock(&d->evtchn->lock);
            return 0;
        case ECS_INTERDOMAIN:
            break;
        }
        struct domain *rd = c->remote_dom;
        evtchn_port_t rport = c->remote_port;
        if (rd != d && rd->domid < d->domid) {
            /* E2: locks in domid order; re-check after re-locking.  (rd
               cannot be freed meanwhile unless it is destroyed
               concurrently with this close; domains are destroyed with
               their peers' vCPUs stopped, as the toolstack does.) */
            hv_unlock(&d->evtchn->lock);
            lock_pair(d, rd);
            if (c->state != ECS_INTERDOMAIN || c->remote_dom != rd ||
                c->remote_port != rport) {
                unlock_pair(d, rd);
                continue;
            }
        } else if (rd != d) {
            hv_lock(&rd->evtchn->lock);
        }
        evtchn_2l_clear_pending(d, port);
        chn_set_state(d, port, ECS_FREE, 0, NULL, 0, 0);
        chn_set_state(rd, rport, ECS_UNBOUND, d->domid, NULL, 0, NOTIFY_KEEP);
        unlock_pair(d, rd);
        return 0;
    }
}

static long evtchn_send(struct vcpu *v, evtchn_port_t port)
{
    struct domain *d = v->d;
    long rc = 0;

    hv_lock(&d->evtchn->lock);
    if (!port_is_valid(d, port)) {
        rc = -XEN_EINVAL;
        goto out;
    }
    struct evtchn *c = &d->evtchn->chn[port];
    switch (c->state) {
    case ECS_INTERDOMAIN:
    case ECS_IPI:
        /* inject: evtchn.send.before_set_pending - fail = no event. */
        rc = INJ_FAIL(evtchn_send_before_set_pending, v, 0);
        if (rc)
            goto out;
        atomic_fetch_add_explicit(&d->evtchn->nr_sends, 1,
                                  memory_order_relaxed);
        if (c->state == ECS_IPI) {
            evtchn_2l_set_pending(d, port, c->notify_vcpu);
        } else {
            struct domain *rd = c->remote_dom;    /* E4 */
            /* The peer's notify vCPU may change under its own lock
               (bind_vcpu): read it once, atomically. */
            evtchn_2l_set_pending(rd, c->remote_port, __atomic_load_n(
                &rd->evtchn->chn[c->remote_port].notify_vcpu,
                __ATOMIC_RELAXED));
        }
        break;
    case ECS_UNBOUND:
        break;                          /* Xen drops it silently */
    default:
        rc = -XEN_EINVAL;
    }
out:
    hv_unlock(&d->evtchn->lock);
    return rc;
}

static long evtchn_status(struct vcpu *v, struct evtchn_status *st)
{
    struct domain *d;
    int rc = lookup_domain(v, st->dom, true, &d);
    if (rc)
        return rc;
    hv_lock(&d->evtchn->lock);
    if (!port_is_valid(d, st->port)) {
        hv_unlock(&d->evtchn->lock);
        return -XEN_EINVAL;
    }
    struct evtchn *c = &d->evtchn->chn[st->port];
    memset(&st->u, 0, sizeof(st->u));
    switch (c->state) {
    case ECS_FREE:
    case ECS_RESERVED:
        st->status = EVTCHNSTAT_closed;
        break;
    case ECS_UNBOUND:
        st->status = EVTCHNSTAT_unbound;
        st->u.unbound.dom = c->unbound_remote;
        break;
    case ECS_INTERDOMAIN:
        st->status = EVTCHNSTAT_interdomain;
        st->u.interdomain.dom = c->remote_dom->domid;
        st->u.interdomain.port = c->remote_port;
        break;
    case ECS_IPI:
        st->status = EVTCHNSTAT_ipi;
        break;
    default:
        st->status = EVTCHNSTAT_closed;
    }
    st->vcpu = c->notify_vcpu;
    hv_unlock(&d->evtchn->lock);
    return 0;
}

static long evtchn_bind_vcpu(struct vcpu *v, struct evtchn_bind_vcpu *b)
{
    struct domain *d = v->d;
    long rc = 0;
    if (b->vcpu >= d->nr_vcpus)
        return -XEN_ENOENT;
    if (b->vcpu >= XEN_LEGACY_MAX_VCPUS)
        return -XEN_EINVAL;
    hv_lock(&d->evtchn->lock);
    if (!port_is_valid(d, b->port)) {
        rc = -XEN_EINVAL;
    } else {
        struct evtchn *c = &d->evtchn->chn[b->port];
        if (c->state == ECS_UNBOUND || c->state == ECS_INTERDOMAIN)
            chn_set_state(d, b->port, c->state, c->unbound_remote,
                          c->remote_dom, c->remote_port,
                          b->vcpu);     /* E2; Xen: no pending event moves */
        else
            rc = -XEN_EINVAL;           /* IPI ports stay on their vCPU */
    }
    hv_unlock(&d->evtchn->lock);
    return rc;
}

static long evtchn_unmask(struct vcpu *v, evtchn_port_t port)
{
    struct domain *d = v->d;
    hv_lock(&d->evtchn->lock);
    if (!port_is_valid(d, port)) {
        hv_unlock(&d->evtchn->lock);
        return -XEN_EINVAL;
    }
    struct shared_info *s = evtchn_shinfo_w(d);
    unsigned w = port / EVTCHN_WORD_BITS;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % EVTCHN_WORD_BITS);
    unsigned nv = d->evtchn->chn[port].notify_vcpu;
    bool was_masked = __atomic_fetch_and(&s->evtchn_mask[w], ~bit,
                                         __ATOMIC_SEQ_CST) & bit;
    bool pending = __atomic_load_n(&s->evtchn_pending[w], __ATOMIC_SEQ_CST) & bit;
    bool reraised = false;
    if (was_masked && pending && nv < XEN_LEGACY_MAX_VCPUS) {
        struct vcpu_info *vi = &s->vcpu_info[nv];
        xen_ulong_t sel = (xen_ulong_t)1 << w;
        if (!(__atomic_fetch_or(&vi->evtchn_pending_sel, sel, __ATOMIC_SEQ_CST) & sel))
            reraised = mark_events_pending(vi);
    }
    TRC(hvlab_evtchn, unmask, (uint8_t)d->m->host_id, d->domid, actor_vcpu(),
        port, pending, reraised);
    if (reraised)
        evtchn_vcpu_kick(d, nv);        /* Xen's vcpu_mark_events_pending */
    hv_unlock(&d->evtchn->lock);
    return 0;
}

/* ---- the hypercall --------------------------------------------------------- */

/* Copy the argument in, run op, copy it back when op succeeded and has a
   result (Xen's __copy_to_guest on success only). */
#define EVTCHN_OP(T, fn, out) do { \
        T a_; \
        if (copy_from_guest(v, &a_, arg, sizeof(a_))) \
            return -XEN_EFAULT; \
        long rc_ = fn(v, &a_); \
        if (rc_ == 0 && (out) && copy_to_guest(v, arg, &a_, sizeof(a_))) \
            rc_ = -XEN_EFAULT; \
        return rc_; \
    } while (0)

static long op_send(struct vcpu *v, struct evtchn_send *s)
{
    return evtchn_send(v, s->port);
}
static long op_close(struct vcpu *v, struct evtchn_close *c)
{
    return evtchn_close_port(v->d, c->port);
}
static long op_unmask(struct vcpu *v, struct evtchn_unmask *u)
{
    return evtchn_unmask(v, u->port);
}

long do_event_channel_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    if (v->d->evtchn == NULL)
        return -XEN_ENOSYS;
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:
        EVTCHN_OP(struct evtchn_alloc_unbound, evtchn_alloc_unbound, true);
    case EVTCHNOP_bind_interdomain:
        EVTCHN_OP(struct evtchn_bind_interdomain, evtchn_bind_interdomain, true);
    case EVTCHNOP_bind_ipi:
        EVTCHN_OP(struct evtchn_bind_ipi, evtchn_bind_ipi, true);
    case EVTCHNOP_send:
        EVTCHN_OP(struct evtchn_send, op_send, false);
    case EVTCHNOP_close:
        EVTCHN_OP(struct evtchn_close, op_close, false);
    case EVTCHNOP_status:
        EVTCHN_OP(struct evtchn_status, evtchn_status, true);
    case EVTCHNOP_bind_vcpu:
        EVTCHN_OP(struct evtchn_bind_vcpu, evtchn_bind_vcpu, false);
    case EVTCHNOP_unmask:
        EVTCHN_OP(struct evtchn_unmask, op_unmask, false);
    case EVTCHNOP_bind_virq: {
        /* No virtual IRQ source is modelled (no timer, no console): a
           VIRQ binding could never fire, so it is refused. */
        struct evtchn_bind_virq b;
        if (copy_from_guest(v, &b, arg, sizeof(b)))
            return -XEN_EFAULT;
        return -XEN_EINVAL;
    }
    default:
        /* bind_pirq, reset, FIFO ABI (init_control, expand_array,
           set_priority): not modelled. */
        return -XEN_ENOSYS;
    }
}

/* ---- domain lifecycle ------------------------------------------------------ */

int evtchn_domain_init(struct domain *d)
{
    d->shared_info_mfn = INVALID_MFN;
    struct evtchn_domain *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -XEN_ENOMEM;
    unsigned max = d->m->opt.evtchn_max_ports;
    if (max == 0)
        max = 1;
    if (max >= EVTCHN_2L_NR_CHANNELS)
        max = EVTCHN_2L_NR_CHANNELS - 1;
    e->max_port = max;
    e->shinfo_gfn = INVALID_PFN;
    e->chn = calloc(max + 1, sizeof(*e->chn));
    if (e->chn == NULL) {
        free(e);
        return -XEN_ENOMEM;
    }
    hv_lock_init(&e->lock, "evtchn", LOCK_LEAF);
    mfn_t mfn;
    int rc = alloc_xen_shared_page(d, &mfn);
    if (rc) {
        free(e->chn);
        free(e);
        return rc;
    }
    d->evtchn = e;
    d->shared_info_mfn = mfn;
    /* Xen starts every vCPU with event delivery masked; the guest enables
       it once its handler is registered. */
    struct shared_info *s = evtchn_shinfo_w(d);
    for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
        s->vcpu_info[i].evtchn_upcall_mask = 1;
    chn_set_state(d, 0, ECS_RESERVED, 0, NULL, 0, NOTIFY_KEEP);
    return 0;
}

void evtchn_domain_destroy(struct domain *d)
{
    struct evtchn_domain *e = d->evtchn;
    if (e == NULL || e->dead)
        return;
    for (evtchn_port_t p = 1; p <= e->max_port; p++)
        if (e->chn[p].state != ECS_FREE)
            evtchn_close_port(d, p);
    hv_lock(&e->lock);
    e->dead = true;                     /* E7 */
    hv_unlock(&e->lock);
    if (d->p2m && e->shinfo_gfn != INVALID_PFN) {         /* E8 */
        p2m_lock(d);
        p2m_set_entry(d, e->shinfo_gfn, INVALID_MFN, p2m_invalid,
                      p2m_access_rwx);
        e->shinfo_gfn = INVALID_PFN;
        p2m_unlock(d);
    }
    mfn_t mfn = d->shared_info_mfn;
    d->shared_info_mfn = INVALID_MFN;
    if (mfn != INVALID_MFN)
        free_xen_shared_page(d->m, mfn);
}

void evtchn_domain_free(struct domain *d)
{
    if (d->evtchn == NULL)
        return;
    free(d->evtchn->chn);
    free(d->evtchn);
    d->evtchn = NULL;
}

int evtchn_physmap_shared_info(struct domain *d, uint64_t idx, pfn_t gfn)
{
    struct evtchn_domain *e = d->evtchn;
    if (d->p2m == NULL || e == NULL || d->shared_info_mfn == INVALID_MFN ||
        idx != 0)
        return -XEN_EINVAL;
    int rc = 0;
    p2m_lock(d);                        /* E8: shinfo_gfn */
    if (e->shinfo_gfn == gfn)
        goto out;                       /* already there */
    if (e->shinfo_gfn != INVALID_PFN) {
        rc = p2m_set_entry(d, e->shinfo_gfn, INVALID_MFN, p2m_invalid,
                           p2m_access_rwx);
        if (rc)
            goto out;
        e->shinfo_gfn = INVALID_PFN;
    }
    (void)physmap_evict(d, gfn, d->shared_info_mfn);    /* alloc.c A7 */
    rc = p2m_set_entry(d, gfn, d->shared_info_mfn, p2m_ram_rw,
                       p2m_access_rwx);
    if (rc == 0)
        e->shinfo_gfn = gfn;
out:
    p2m_unlock(d);
    return rc;
}

void evtchn_shared_info_unhooked(struct domain *d, mfn_t mfn, pfn_t gfn)
{
    struct evtchn_domain *e = d->evtchn;
    if (e && mfn == d->shared_info_mfn && e->shinfo_gfn == gfn)
        e->shinfo_gfn = INVALID_PFN;                /* E8: p2m lock held */
}

/* ---- audit and counters ---------------------------------------------------- */

bool evtchn_port_in_range(const struct domain *d, uint32_t port)
{
    return d->evtchn != NULL && port <= d->evtchn->max_port;
}

struct evtchn_poll *evtchn_poll_of(struct domain *d)
{
    return &d->evtchn->poll;
}

uint64_t evtchn_state_changes(struct domain *d)
{
    if (d->evtchn == NULL)
        return 0;
    hv_lock(&d->evtchn->lock);
    uint64_t n = d->evtchn->nr_state_changes;
    hv_unlock(&d->evtchn->lock);
    return n;
}

unsigned evtchn_ports_in_use(struct domain *d)
{
    unsigned n = 0;
    if (d->evtchn == NULL)
        return 0;
    hv_lock(&d->evtchn->lock);
    for (unsigned p = 0; p <= d->evtchn->max_port; p++)
        n += d->evtchn->chn[p].state > ECS_RESERVED;
    hv_unlock(&d->evtchn->lock);
    return n;
}

#define AUDIT_BAD(...) do { \
        bad++; \
        if (f) { fprintf(f, "evtchn audit: d%u: ", d->domid); \
                 fprintf(f, __VA_ARGS__); fputc('\n', f); } \
    } while (0)

/* Unlocked: call it with the machine quiet. */
unsigned evtchn_audit(struct domain *d, FILE *f)
{
    unsigned bad = 0;
    struct evtchn_domain *e = d->evtchn;
    if (e == NULL)
        return 0;
    if (!e->dead && (e->chn[0].state != ECS_RESERVED ||
                     d->shared_info_mfn == INVALID_MFN))
        AUDIT_BAD("port 0 not reserved or no shared_info");
    uint64_t pollers = atomic_load(&e->poll.mask);      /* U6 */
    for (unsigned i = 0; i < d->nr_vcpus && i < HV_MAX_VCPUS; i++)
        if (((pollers >> i) & 1) &&
            (d->vcpu[i] == NULL || !atomic_load(&d->vcpu[i]->blocked)))
            AUDIT_BAD("vcpu %u in poll_mask but not blocked", i);
    /* Ports above hi_port are as the table was made (calloc: free,
       notify vCPU 0): nothing to find there. */
    for (unsigned p = 1; p <= e->hi_port; p++) {
        const struct evtchn *c = &e->chn[p];
        if (c->state > ECS_IPI || c->state == ECS_RESERVED)
            AUDIT_BAD("port %u: bad state %u", p, c->state);
        if (c->notify_vcpu >= d->nr_vcpus)
            AUDIT_BAD("port %u: notify vcpu %u", p, c->notify_vcpu);
        if (e->dead && c->state != ECS_FREE)
            AUDIT_BAD("port %u open in a destroyed domain", p);
        if (c->state != ECS_INTERDOMAIN)
            continue;
        const struct domain *rd = c->remote_dom;    /* E3 */
        if (rd == NULL || rd->evtchn == NULL ||
            c->remote_port > rd->evtchn->max_port ||
            rd->evtchn->chn[c->remote_port].state != ECS_INTERDOMAIN ||
            rd->evtchn->chn[c->remote_port].remote_dom != d ||
            rd->evtchn->chn[c->remote_port].remote_port != p)
            AUDIT_BAD("port %u: peer does not point back", p);
    }
    return bad;
}

unsigned evtchn_audit_machine(struct machine *m, FILE *f)
{
    unsigned bad = 0;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (m->domains[id])
            bad += evtchn_audit(m->domains[id], f);
    return bad;
}
