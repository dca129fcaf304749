/*
 * guest/evtchn.c - the guest kernel's event channels: shared_info, the
 * upcall, per-port handlers, and the EVTCHNOP / SCHEDOP wrappers.
 *
 * Rules:
 *   G1  shared_info is reached only through the MMU: the machine frame
 *       start_info.shared_info names is mapped over one PFN_KERNEL page of
 *       the direct map with update_va_mapping (as Linux maps it over a
 *       reserved kernel page); every load, store and bit operation on it
 *       is mmu_load / mmu_store / a locked mmu_cmpxchg loop.  The mapping
 *       is made by the first event-channel call of any vCPU, not at boot:
 *       a kernel that never uses event channels makes exactly the
 *       hypercalls and memory accesses it made before they existed, so
 *       the det-mode schedules (and the seeds) of shipped scenarios stay.
 *   G2  Each vCPU registers the upcall at boot (vcpu_set_guest_event_handler,
 *       the stand-in for CALLBACKOP_register; no hypercall, no access) and
 *       clears its own evtchn_upcall_mask at its first event-channel call:
 *       delivery is enabled only once a handler exists and shared_info is
 *       mapped.  (SCHEDOP_block enables it too, as in Xen.)
 *   G3  The upcall is Linux's 2-level scan: clear upcall_pending, take
 *       the selector with an exchange, then for every selected word the
 *       bits pending and not masked; each bit is cleared (test-and-clear)
 *       before its port's handler runs.  It repeats while upcall_pending
 *       was set again meanwhile.
 *   G4  The wrappers write their arguments into the vCPU's argument area,
 *       in the upcall's own slot when called from a handler, so a
 *       handler's hypercall never overwrites the interrupted call's.
 *   G5  Each port has the vCPU its events are delivered to, as Linux's
 *       per-channel cpu: vCPU 0 when allocated or bound (the hypervisor's
 *       notify vCPU starts at 0 too), the new one after gevtchn_bind_vcpu
 *       (EVTCHNOP_bind_vcpu succeeded), 0 again when closed.
 *   G6  Unmask is Linux's: on the port's own vCPU it is local - clear the
 *       mask bit; if the port is pending, set the selector bit (and
 *       upcall_pending when the selector bit was clear) and force the
 *       callback with a xen_version hypercall (delivered at its exit).  On
 *       any other vCPU the mask bit is left alone and EVTCHNOP_unmask
 *       clears it: the hypervisor re-raises a pending port on the port's
 *       vCPU, which a local re-raise here would miss.
 *   G7  Migration (Linux's xen_pv_pre_suspend / post_suspend and
 *       xen_irq_resume): before the suspend shared_info is unmapped (its
 *       direct-map page then maps nothing: a live mapping of a Xen page
 *       would fail the save's page-table normalisation).  On resume the
 *       upcall is registered on vCPU 0's (possibly new) vCPU, and
 *       shared_info, if it was mapped, is mapped again over the same page
 *       from start_info.shared_info as read then (the restore rewrote it).
 *       Cancelled: same domain, every binding and handler stays.  Not
 *       cancelled: a new domain - every port's handler and vCPU is gone
 *       and every vCPU enables its delivery again at its first call (G2).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/version.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "guest/private.h"

#define WORD_BITS   (sizeof(xen_ulong_t) * 8)

struct gevtchn_port {
    gevtchn_fn fn;
    void *arg;
};

struct gevtchn {
    struct gspin lock;                      /* the mapping (G1) */
    _Atomic bool mapped;
    uint64_t shinfo_va;                     /* G1: valid once mapped */
    pfn_t shinfo_pfn;
    bool enabled[HV_MAX_VCPUS];             /* G2: own vCPU writes it */
    struct gevtchn_port port[EVTCHN_2L_NR_CHANNELS];
    bool in_upcall[HV_MAX_VCPUS];           /* G4 */
    uint16_t port_vcpu[EVTCHN_2L_NR_CHANNELS];  /* G5: atomic accesses */
    _Atomic uint64_t upcalls, events;
    bool remap;                             /* G7: mapped when suspended */
};

/* ---- shared_info through the MMU (G1) ---------------------------------- */

static uint64_t si_pending_va(struct gevtchn *e, unsigned w)
{
    return e->shinfo_va + offsetof(struct shared_info, evtchn_pending) +
           w * sizeof(xen_ulong_t);
}
static uint64_t si_mask_va(struct gevtchn *e, unsigned w)
{
    return e->shinfo_va + offsetof(struct shared_info, evtchn_mask) +
           w * sizeof(xen_ulong_t);
}
static uint64_t vi_va(struct gevtchn *e, unsigned vcpu)
{
    return e->shinfo_va + offsetof(struct shared_info, vcpu_info) +
           vcpu * sizeof(struct vcpu_info);
}

/* Locked read-modify-write of a word: *old gets the value before.
   set: OR bits in; otherwise AND them out. */
static bool word_rmw(struct gcpu *c, uint64_t va, xen_ulong_t bits, bool set,
                     xen_ulong_t *old)
{
    uint64_t seen;
    if (mmu_load(c->v, va, 8, &seen) != MMU_OK)
        return false;
    for (;;) {
        uint64_t expected = seen;
        uint64_t nv = set ? (seen | bits) : (seen & ~bits);
        if (mmu_cmpxchg(c->v, va, 8, &seen, nv) != MMU_OK)
            return false;
        if (seen == expected) {
            if (old)
                *old = expected;
            return true;
        }
    }
}

static bool word_xchg(struct gcpu *c, uint64_t va, xen_ulong_t nv,
                      xen_ulong_t *old)
{
    uint64_t seen;
    if (mmu_load(c->v, va, 8, &seen) != MMU_OK)
        return false;
    for (;;) {
        uint64_t expected = seen;
        if (mmu_cmpxchg(c->v, va, 8, &seen, nv) != MMU_OK)
            return false;
        if (seen == expected) {
            *old = expected;
            return true;
        }
    }
}

static bool byte_store(struct gcpu *c, uint64_t va, uint8_t val)
{
    return mmu_store(c->v, va, 1, val) == MMU_OK;
}

static void oops(struct gcpu *c, const char *what)
{
    atomic_fetch_add(&c->g->st.kernel_oopses, 1);
    klog(c->g, "vcpu %u: event channels: %s refused a kernel access",
         c->v->vcpu_id, what);
}

/* ---- the upcall (G3) ---------------------------------------------------- */

static void upcall(struct vcpu *v, void *ctx)
{
    struct gcpu *c = ctx;
    struct guest_kernel *g = c->g;
    struct gevtchn *e = g->evtchn;
    uint64_t vi = vi_va(e, v->vcpu_id);
    uint64_t again = 1;

    if (!atomic_load(&e->mapped))
        return;         /* delivery enabled by a raw SCHEDOP_block: no map */
    e->in_upcall[v->vcpu_id] = true;
    atomic_fetch_add(&e->upcalls, 1);
    while (again) {
        xen_ulong_t sel;
        if (!byte_store(c, vi + offsetof(struct vcpu_info,
                                         evtchn_upcall_pending), 0) ||
            !word_xchg(c, vi + offsetof(struct vcpu_info, evtchn_pending_sel),
                       0, &sel)) {
            oops(c, "the upcall");
            break;
        }
        while (sel) {
            unsigned w = (unsigned)__builtin_ctzll(sel);
            sel &= sel - 1;
            uint64_t pend, mask;
            if (mmu_load(v, si_pending_va(e, w), 8, &pend) != MMU_OK ||
                mmu_load(v, si_mask_va(e, w), 8, &mask) != MMU_OK) {
                oops(c, "the upcall's scan");
                goto out;
            }
            pend &= ~mask;
            while (pend) {
                unsigned b = (unsigned)__builtin_ctzll(pend);
                pend &= pend - 1;
                xen_ulong_t bit = (xen_ulong_t)1 << b, was;
                if (!word_rmw(c, si_pending_va(e, w), bit, false, &was)) {
                    oops(c, "clearing a pending bit");
                    goto out;
                }
                if (!(was & bit))
                    continue;
                evtchn_port_t port = (evtchn_port_t)(w * WORD_BITS + b);
                atomic_fetch_add(&e->events, 1);
                if (e->port[port].fn)
                    e->port[port].fn(c, port, e->port[port].arg);
            }
        }
        if (mmu_load(v, vi + offsetof(struct vcpu_info, evtchn_upcall_pending),
                     1, &again) != MMU_OK)
            again = 0;
        again &= 0xff;
    }
out:
    e->in_upcall[v->vcpu_id] = false;
}

/* ---- boot (G1, G2) -------------------------------------------------------- */

/* G1: map shared_info (once, whichever vCPU comes first). */
static int map_shared_info(struct gcpu *c, struct gevtchn *e)
{
    struct guest_kernel *g = c->g;
    uint64_t si_maddr;
    int rc = 0;

    gspin_lock(&e->lock);
    if (atomic_load(&e->mapped))
        goto out;
    if (mmu_load(c->v, g->start_info_va + offsetof(start_info_t, shared_info),
                 8, &si_maddr) != MMU_OK) {
        oops(c, "reading start_info.shared_info");
        rc = -XEN_EFAULT;
        goto out;
    }
    if (si_maddr == 0) {
        klog(g, "vcpu %u: event channels: no shared_info in start_info",
             c->v->vcpu_id);
        rc = -XEN_ENOSYS;
        goto out;
    }
    pfn_t pfn = e->shinfo_pfn;          /* G7: mapped before, same page */
    if (pfn == INVALID_PFN)
        pfn = pfn_alloc(g, PFN_KERNEL);
    if (pfn == INVALID_PFN) {
        klog(g, "vcpu %u: event channels: no page to map shared_info over",
             c->v->vcpu_id);
        rc = -XEN_ENOMEM;
        goto out;
    }
    pte_t pte = pte_make(si_maddr >> PAGE_SHIFT, _PAGE_PRESENT | _PAGE_RW |
                                                 _PAGE_ACCESSED | _PAGE_DIRTY);
    rc = (int)hc_uva(c, dm_va(pfn), pte, UVMF_INVLPG | UVMF_ALL,
                     "mapping shared_info");
    if (rc == 0) {
        e->shinfo_pfn = pfn;
        e->shinfo_va = dm_va(pfn);
        atomic_store(&e->mapped, true);
    }
    /* On failure the pfn stays a kernel page: its direct-map entry may
       have changed, it is not handed out again. */
out:
    gspin_unlock(&e->lock);
    return rc;
}

/* Every wrapper first: shared_info mapped, this vCPU's delivery on (G2). */
static int ensure(struct gcpu *c)
{
    struct gevtchn *e = c->g->evtchn;
    unsigned id = c->v->vcpu_id;
    if (e == NULL)
        return -XEN_ENOSYS;
    if (!atomic_load(&e->mapped)) {
        int rc = map_shared_info(c, e);
        if (rc)
            return rc;
    }
    if (id < XEN_LEGACY_MAX_VCPUS && !e->enabled[id]) {
        if (!byte_store(c, vi_va(e, id) +
                           offsetof(struct vcpu_info, evtchn_upcall_mask), 0)) {
            oops(c, "enabling event delivery");
            return -XEN_EFAULT;
        }
        e->enabled[id] = true;
    }
    return 0;
}

int gevtchn_init(struct gcpu *c)
{
    struct gevtchn *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -XEN_ENOMEM;
    e->shinfo_pfn = INVALID_PFN;
    c->g->evtchn = e;
    vcpu_set_guest_event_handler(c->v, upcall, c);
    return 0;
}

int gevtchn_cpu_attach(struct gcpu *c)
{
    if (c->g->evtchn)
        vcpu_set_guest_event_handler(c->v, upcall, c);
    return 0;
}

void gevtchn_free(struct guest_kernel *g)
{
    free(g->evtchn);
    g->evtchn = NULL;
}

int evtchn_bind_handler(struct guest_kernel *k, evtchn_port_t port,
                        gevtchn_fn fn, void *arg)
{
    if (k->evtchn == NULL || port >= EVTCHN_2L_NR_CHANNELS)
        return -XEN_EINVAL;
    k->evtchn->port[port].arg = arg;
    k->evtchn->port[port].fn = fn;
    return 0;
}

uint64_t gevtchn_upcalls(const struct guest_kernel *g)
{
    return g->evtchn ? atomic_load(&g->evtchn->upcalls) : 0;
}
uint64_t gevtchn_events(const struct guest_kernel *g)
{
    return g->evtchn ? atomic_load(&g->evtchn->events) : 0;
}

/* ---- hypercall wrappers (G4) ---------------------------------------------- */

static long evop(struct gcpu *c, unsigned cmd, void *arg, size_t len,
                 const char *what)
{
    int erc = ensure(c);
    if (erc)
        return erc;
    struct gevtchn *e = c->g->evtchn;
    bool nested = e && c->v->vcpu_id < HV_MAX_VCPUS &&
                  e->in_upcall[c->v->vcpu_id];
    uint64_t va = c->arg_va + ARG_EVTCHN_OFF + (nested ? ARG_EVTCHN_SLOT : 0);
    long rc;

    if (mmu_write(c->v, va, arg, len) != MMU_OK) {
        oops(c, what);
        return -XEN_EFAULT;
    }
    rc = hypercall(c->v, __HYPERVISOR_event_channel_op, cmd, va, 0, 0, 0);
    if (rc == 0 && mmu_read(c->v, va, arg, len) != MMU_OK) {
        oops(c, what);
        rc = -XEN_EFAULT;
    }
    if (rc < 0) {
        atomic_fetch_add(&c->g->st.hypercall_errors, 1);
        klog(c->g, "vcpu %u: %s: event_channel_op %u failed with %ld",
             c->v->vcpu_id, what, cmd, rc);
    }
    return rc;
}

/* G5: the vCPU port's events go to. */
static void set_port_vcpu(struct gevtchn *e, evtchn_port_t port, unsigned vcpu)
{
    if (port < EVTCHN_2L_NR_CHANNELS)
        __atomic_store_n(&e->port_vcpu[port], (uint16_t)vcpu,
                         __ATOMIC_RELAXED);
}

long gevtchn_alloc_unbound(struct gcpu *c, domid_t remote, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = remote };
    long rc = evop(c, EVTCHNOP_alloc_unbound, &a, sizeof(a), "alloc_unbound");
    if (rc == 0) {
        set_port_vcpu(c->g->evtchn, a.port, 0);
        *port = a.port;
    }
    return rc;
}

long gevtchn_bind_interdomain(struct gcpu *c, domid_t remote_dom,
                              evtchn_port_t remote_port, evtchn_port_t *local)
{
    struct evtchn_bind_interdomain b = { .remote_dom = remote_dom,
                                         .remote_port = remote_port };
    long rc = evop(c, EVTCHNOP_bind_interdomain, &b, sizeof(b),
                   "bind_interdomain");
    if (rc == 0) {
        set_port_vcpu(c->g->evtchn, b.local_port, 0);
        *local = b.local_port;
    }
    return rc;
}

long gevtchn_bind_vcpu(struct gcpu *c, evtchn_port_t port, unsigned vcpu)
{
    struct evtchn_bind_vcpu b = { .port = port, .vcpu = vcpu };
    long rc = evop(c, EVTCHNOP_bind_vcpu, &b, sizeof(b), "bind_vcpu");
    if (rc == 0)
        set_port_vcpu(c->g->evtchn, port, vcpu);
    return rc;
}

long gevtchn_send(struct gcpu *c, evtchn_port_t port)
{
    struct evtchn_send s = { .port = port };
    return evop(c, EVTCHNOP_send, &s, sizeof(s), "send");
}

long gevtchn_close(struct gcpu *c, evtchn_port_t port)
{
    struct evtchn_close cl = { .port = port };
    long rc = evop(c, EVTCHNOP_close, &cl, sizeof(cl), "close");
    if (rc == 0)
        set_port_vcpu(c->g->evtchn, port, 0);
    return rc;
}

/* A port the 2-level ABI has, with shared_info mapped: 0 or -XEN_E*. */
static int port_ready(struct gcpu *c, evtchn_port_t port)
{
    if (port >= EVTCHN_2L_NR_CHANNELS)
        return -XEN_EINVAL;
    return ensure(c);
}

int gevtchn_mask(struct gcpu *c, evtchn_port_t port)
{
    struct gevtchn *e = c->g->evtchn;
    int erc = port_ready(c, port);
    if (erc)
        return erc;
    if (!word_rmw(c, si_mask_va(e, port / WORD_BITS),
                  (xen_ulong_t)1 << (port % WORD_BITS), true, NULL)) {
        oops(c, "mask");
        return -XEN_EFAULT;
    }
    return 0;
}

int gevtchn_unmask(struct gcpu *c, evtchn_port_t port)
{
    struct gevtchn *e = c->g->evtchn;
    int erc = port_ready(c, port);
    if (erc)
        return erc;
    if (__atomic_load_n(&e->port_vcpu[port], __ATOMIC_RELAXED) !=
        c->v->vcpu_id) {
        /* G6: another vCPU's port - the hypervisor unmasks and re-raises. */
        struct evtchn_unmask u = { .port = port };
        long rc = evop(c, EVTCHNOP_unmask, &u, sizeof(u), "unmask");
        return rc < 0 ? (int)rc : 0;
    }
    unsigned w = port / WORD_BITS;
    xen_ulong_t bit = (xen_ulong_t)1 << (port % WORD_BITS);
    uint64_t pend, sel_old;
    uint64_t vi = vi_va(e, c->v->vcpu_id);
    if (!word_rmw(c, si_mask_va(e, w), bit, false, NULL) ||
        mmu_load(c->v, si_pending_va(e, w), 8, &pend) != MMU_OK) {
        oops(c, "unmask");
        return -XEN_EFAULT;
    }
    if (!(pend & bit))
        return 0;
    /* G6: re-raise on this vCPU (the port's) and force the callback. */
    if (!word_rmw(c, vi + offsetof(struct vcpu_info, evtchn_pending_sel),
                  (xen_ulong_t)1 << w, true, &sel_old)) {
        oops(c, "unmask");
        return -XEN_EFAULT;
    }
    if (!(sel_old & ((xen_ulong_t)1 << w)) &&
        !byte_store(c, vi + offsetof(struct vcpu_info, evtchn_upcall_pending),
                    1)) {
        oops(c, "unmask");
        return -XEN_EFAULT;
    }
    hypercall(c->v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    return 0;
}

long gevtchn_block(struct gcpu *c)
{
    int erc = ensure(c);
    if (erc)
        return erc;
    return hypercall(c->v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
}

/* ---- migration (G7; vCPU 0, every other vCPU parked) --------------------- */

int gevtchn_mig_suspend(struct gcpu *c)
{
    struct gevtchn *e = c->g->evtchn;
    if (e == NULL)
        return 0;
    e->remap = atomic_load(&e->mapped);
    if (!e->remap)
        return 0;
    /* No upcall may touch shared_info from here on (Linux suspends with
       interrupts off): one delivered as the unmap returns finds it gone. */
    atomic_store(&e->mapped, false);
    long rc = hc_uva(c, e->shinfo_va, 0, UVMF_INVLPG | UVMF_ALL,
                     "suspend: unmapping shared_info");
    if (rc) {
        atomic_store(&e->mapped, true);
        return (int)rc;
    }
    return 0;
}

int gevtchn_mig_resume(struct gcpu *c, bool cancelled)
{
    struct gevtchn *e = c->g->evtchn;
    if (e == NULL)
        return 0;
    vcpu_set_guest_event_handler(c->v, upcall, c);
    if (!cancelled) {
        memset(e->port, 0, sizeof(e->port));
        for (unsigned p = 0; p < EVTCHN_2L_NR_CHANNELS; p++)
            set_port_vcpu(e, p, 0);
        memset(e->enabled, 0, sizeof(e->enabled));
    }
    if (!e->remap)
        return 0;
    e->remap = false;
    return map_shared_info(c, e);
}

/* ---- the state as bytes (kstate.c, section EVTCHN) ------------------------ */
/* Handlers are code pointers: never saved.  A resume on a new domain drops
   them anyway (G7); blkfront binds its own again when it is loaded. */

static uint64_t get_port_vcpu(const void *ctx, uint64_t i)
{
    const struct gevtchn *e = ctx;
    return __atomic_load_n(&e->port_vcpu[i], __ATOMIC_RELAXED);
}

static void put_port_vcpu(void *ctx, uint64_t i, uint64_t v)
{
    set_port_vcpu(ctx, (evtchn_port_t)i, (unsigned)v);
}

int gevtchn_state_save(struct ks_out *o, const struct guest_kernel *g)
{
    struct gevtchn *e = g->evtchn;
    if (atomic_load(&e->mapped))
        return -XEN_EINVAL;             /* G7: unmapped at the suspend */
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        if (e->in_upcall[i])
            return -XEN_EINVAL;
    ks_put_u64(o, e->shinfo_pfn);
    ks_put_u64(o, e->shinfo_va);
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        ks_put_u8(o, e->enabled[i]);
    ks_put_runs(o, EVTCHN_2L_NR_CHANNELS, get_port_vcpu, e);
    ks_put_u64(o, atomic_load(&e->upcalls));
    ks_put_u64(o, atomic_load(&e->events));
    ks_put_u8(o, e->remap);
    return 0;
}

void gevtchn_state_load(struct ks_in *in, struct guest_kernel *g)
{
    struct gevtchn *e = calloc(1, sizeof(*e));
    if (!e) {
        ks_bad(in, "no memory for event channels");
        return;
    }
    g->evtchn = e;              /* freed by gevtchn_free on any error */
    e->shinfo_pfn = ks_get_u64(in);
    if (ks_check_pfn(in, g, e->shinfo_pfn, true, "shared_info pfn") &&
        e->shinfo_pfn != INVALID_PFN &&
        atomic_load(&g->pfn_kind[e->shinfo_pfn]) != PFN_KERNEL)
        ks_bad(in, "shared_info pfn %#llx is not a kernel page",
               (unsigned long long)e->shinfo_pfn);
    e->shinfo_va = ks_get_u64(in);
    if (!ks_failed(in) && e->shinfo_va != 0 &&
        (e->shinfo_pfn == INVALID_PFN || e->shinfo_va != dm_va(e->shinfo_pfn)))
        ks_bad(in, "shared_info VA %#llx is not its pfn's",
               (unsigned long long)e->shinfo_va);
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        e->enabled[i] = ks_get_bool(in, "delivery enabled");
    ks_get_runs(in, EVTCHN_2L_NR_CHANNELS, HV_MAX_VCPUS - 1, put_port_vcpu, e,
                "port vCPUs");
    atomic_store(&e->upcalls, ks_get_u64(in));
    atomic_store(&e->events, ks_get_u64(in));
    e->remap = ks_get_bool(in, "remap");
    if (!ks_failed(in) && e->remap && e->shinfo_pfn == INVALID_PFN)
        ks_bad(in, "shared_info to map again over no page");
}
