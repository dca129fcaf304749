/*
 * tests/unit/test-evtchn.c - event channels: ports, the 2-level bits in
 * shared_info, upcalls, SCHEDOP_block / poll, teardown.
 *
 * Domain A is the fixture's (domid 1), B a second PV domain (domid 2) with
 * its own copy of the fixture's tree, so both issue hypercalls with
 * arguments in their own guest memory.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"

#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/version.h>

#include "core/audit.h"
#include "core/domctl.h"
#include "core/evtchn.h"
#include "core/hypercall.h"
#include "core/mm/p2m.h"
#include "core/sched.h"
#include "guest/guest.h"
#include "guest/private.h"
#include "inject/inject.h"
#include "toolstack/build_pv.h"

#define B_DOMID 2

struct two { struct pv_fixture a, b; };

static int setup_b(struct pv_fixture *f, struct pv_fixture *g, domid_t id)
{
    memset(g, 0, sizeof(*g));
    g->m = f->m;
    g->d = fix_domain_new(f->m, id, 1, 1024, false);
    if (!g->d)
        return -1;
    g->v = g->d->vcpu[0];
    if (domctl_populate(g->d, 0, FIX_NR_FRAMES, g->mfn) || fix_build_tree(g))
        return -1;
    return domctl_set_vcpu_context(g->v, g->l4, INVALID_MFN);
}

static void setup2(struct two *t, const struct fix_config *cfg)
{
    FIX_REQUIRE(fix_setup(&t->a, cfg) == 0);
    FIX_REQUIRE(setup_b(&t->a, &t->b, B_DOMID) == 0);
    current = t->a.v;
}

/* EVTCHNOP cmd from f's vCPU v with *arg (len bytes) in f's guest buffer;
   the result is copied back into *arg. */
static long evop_v(struct pv_fixture *f, struct vcpu *v, unsigned cmd,
                   void *arg, size_t len)
{
    uint64_t va = fix_put(f, 0, arg, len);
    current = v;
    long rc = hypercall(v, __HYPERVISOR_event_channel_op, cmd, va, 0, 0, 0);
    fix_get(f, 0, arg, len);
    return rc;
}
#define evop(f, cmd, arg) evop_v((f), (f)->v, (cmd), (arg), sizeof(*(arg)))

static struct shared_info *shinfo(struct pv_fixture *f)
{
    return fix_frame(f, f->d->shared_info_mfn);
}
static bool bit(const xen_ulong_t *w, unsigned port)
{
    return (w[port / 64] >> (port % 64)) & 1;
}

static long alloc_unbound(struct pv_fixture *f, domid_t dom, domid_t remote,
                          evtchn_port_t *port)
{
    struct evtchn_alloc_unbound a = { .dom = dom, .remote_dom = remote };
    long rc = evop(f, EVTCHNOP_alloc_unbound, &a);
    *port = a.port;
    return rc;
}
static long bind_inter(struct pv_fixture *f, domid_t rdom, evtchn_port_t rport,
                       evtchn_port_t *lport)
{
    struct evtchn_bind_interdomain b = { .remote_dom = rdom,
                                         .remote_port = rport };
    long rc = evop(f, EVTCHNOP_bind_interdomain, &b);
    *lport = b.local_port;
    return rc;
}
static long send_port(struct pv_fixture *f, evtchn_port_t p)
{
    struct evtchn_send s = { .port = p };
    return evop(f, EVTCHNOP_send, &s);
}
static long close_port(struct pv_fixture *f, evtchn_port_t p)
{
    struct evtchn_close c = { .port = p };
    return evop(f, EVTCHNOP_close, &c);
}
static long status(struct pv_fixture *f, domid_t dom, evtchn_port_t p,
                   struct evtchn_status *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = dom;
    st->port = p;
    return evop(f, EVTCHNOP_status, st);
}

/* A bound pair: port pa in A <-> pb in B.  B's local end starts pending
   (Xen sets it at bind); the test clears it. */
static void bind_pair(struct two *t, evtchn_port_t *pa, evtchn_port_t *pb)
{
    REQUIRE(alloc_unbound(&t->a, DOMID_SELF, B_DOMID, pa) == 0);
    REQUIRE(bind_inter(&t->b, FIX_DOMID, *pa, pb) == 0);
    shinfo(&t->b)->evtchn_pending[*pb / 64] = 0;
    shinfo(&t->b)->vcpu_info[0].evtchn_pending_sel = 0;
    shinfo(&t->b)->vcpu_info[0].evtchn_upcall_pending = 0;
}

/* Two default domains (setup2) and a bound pair between them. */
static void setup_pair(struct two *t, evtchn_port_t *pa, evtchn_port_t *pb)
{
    setup2(t, NULL);
    bind_pair(t, pa, pb);
}

/* The guest's upcall handler: records what it saw, clears like Linux. */
static unsigned upcalls;
static uint8_t mask_seen;
static long nested_rc;
static void handler(struct vcpu *v, void *ctx)
{
    struct pv_fixture *f = ctx;
    struct shared_info *s = shinfo(f);
    struct vcpu_info *vi = &s->vcpu_info[v->vcpu_id];
    upcalls++;
    mask_seen = vi->evtchn_upcall_mask;
    vi->evtchn_upcall_pending = 0;
    xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0,
                                          __ATOMIC_ACQ_REL);
    for (unsigned w = 0; w < 64; w++)
        if ((sel >> w) & 1)
            s->evtchn_pending[w] &= s->evtchn_mask[w];
    /* A hypercall inside the handler must not re-enter it. */
    vi->evtchn_upcall_pending = 1;
    nested_rc = hypercall(v, __HYPERVISOR_xen_version, XENVER_version, 0, 0,
                          0, 0);
    vi->evtchn_upcall_pending = 0;
}

static void guest_enable(struct pv_fixture *f, struct vcpu *v)
{
    vcpu_set_guest_event_handler(v, handler, f);
    shinfo(f)->vcpu_info[v->vcpu_id].evtchn_upcall_mask = 0;
}

/* ---- tests --------------------------------------------------------------- */

static void t_init(void)
{
    struct pv_fixture f;
    REQUIRE(fix_setup(&f, NULL) == 0);
    CHECK(f.d->shared_info_mfn != INVALID_MFN);
    CHECK_EQ(atomic_load(&f.d->xenheap_pages), 1);
    CHECK_EQ(page_get_owner(f.m, f.d->shared_info_mfn), f.d);
    CHECK_EQ(shinfo(&f)->vcpu_info[0].evtchn_upcall_mask, 1);
    CHECK_EQ(evtchn_ports_in_use(f.d), 0);
    struct evtchn_status st;
    CHECK_EQ(status(&f, DOMID_SELF, 0, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_closed);         /* port 0 reserved */
    CHECK_EQ(evtchn_audit(f.d, stderr), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_alloc_bind_status(void)
{
    struct two t;
    setup2(&t, NULL);
    evtchn_port_t pa, pb;
    CHECK_EQ(alloc_unbound(&t.a, DOMID_SELF, B_DOMID, &pa), 0);
    CHECK_EQ(pa, 1);                                /* lowest free */
    struct evtchn_status st;
    CHECK_EQ(status(&t.a, DOMID_SELF, pa, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, B_DOMID);
    CHECK_EQ(bind_inter(&t.b, FIX_DOMID, pa, &pb), 0);
    CHECK_EQ(pb, 1);
    CHECK_EQ(status(&t.a, DOMID_SELF, pa, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_interdomain);
    CHECK_EQ(st.u.interdomain.dom, B_DOMID);
    CHECK_EQ(st.u.interdomain.port, pb);
    CHECK_EQ(status(&t.b, DOMID_SELF, pb, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_interdomain);
    CHECK_EQ(st.u.interdomain.dom, FIX_DOMID);
    CHECK_EQ(st.u.interdomain.port, pa);
    /* Xen marks the binder's end pending. */
    CHECK(bit(shinfo(&t.b)->evtchn_pending, pb));
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    CHECK_EQ(evop(&t.a, EVTCHNOP_bind_ipi, &ipi), 0);
    CHECK_EQ(ipi.port, 2);
    CHECK_EQ(status(&t.a, DOMID_SELF, ipi.port, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_ipi);
    CHECK_EQ(st.vcpu, 0);
    CHECK_EQ(evtchn_ports_in_use(t.a.d), 2);
    CHECK_EQ(evtchn_audit(t.a.d, stderr) + evtchn_audit(t.b.d, stderr), 0);
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_send_sets_bits(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    struct shared_info *sa = shinfo(&t.a);
    CHECK(!bit(sa->evtchn_pending, pa));
    CHECK_EQ(send_port(&t.b, pb), 0);
    CHECK(bit(sa->evtchn_pending, pa));
    CHECK_HEX(sa->vcpu_info[0].evtchn_pending_sel, 1ULL << (pa / 64));
    CHECK_EQ(sa->vcpu_info[0].evtchn_upcall_pending, 1);
    /* The sender's own bits do not move. */
    CHECK(!bit(shinfo(&t.b)->evtchn_pending, pb));
    /* A second send merges. */
    CHECK_EQ(send_port(&t.b, pb), 0);
    CHECK(bit(sa->evtchn_pending, pa));
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_upcall_at_hcall_exit(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    guest_enable(&t.a, t.a.v);
    upcalls = 0;
    CHECK_EQ(send_port(&t.b, pb), 0);
    CHECK_EQ(upcalls, 0);                   /* A has not left Xen yet */
    current = t.a.v;
    CHECK_EQ(hypercall(t.a.v, __HYPERVISOR_xen_version, XENVER_version,
                       0, 0, 0, 0), (4 << 16) | 17);
    CHECK_EQ(upcalls, 1);
    CHECK_EQ(mask_seen, 1);                 /* delivered with the mask set */
    CHECK_EQ(nested_rc, (4 << 16) | 17);    /* ... and not re-entered */
    CHECK_EQ(t.a.v->nr_upcalls, 1);
    CHECK_EQ(shinfo(&t.a)->vcpu_info[0].evtchn_upcall_mask, 0);  /* iret */
    CHECK(!bit(shinfo(&t.a)->evtchn_pending, pa));  /* handler cleared */
    /* Nothing pending: no further upcall. */
    CHECK_EQ(hypercall(t.a.v, __HYPERVISOR_xen_version, XENVER_version,
                       0, 0, 0, 0), (4 << 16) | 17);
    CHECK_EQ(upcalls, 1);
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_mask_unmask(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    guest_enable(&t.a, t.a.v);
    struct shared_info *sa = shinfo(&t.a);
    sa->evtchn_mask[pa / 64] |= 1ULL << (pa % 64);   /* the guest masks */
    upcalls = 0;
    CHECK_EQ(send_port(&t.b, pb), 0);
    CHECK(bit(sa->evtchn_pending, pa));
    CHECK_EQ(sa->vcpu_info[0].evtchn_upcall_pending, 0);
    CHECK_EQ(sa->vcpu_info[0].evtchn_pending_sel, 0);
    current = t.a.v;
    hypercall(t.a.v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    CHECK_EQ(upcalls, 0);
    /* Unmask re-raises, and its own exit delivers. */
    struct evtchn_unmask u = { .port = pa };
    CHECK_EQ(evop(&t.a, EVTCHNOP_unmask, &u), 0);
    CHECK(!bit(sa->evtchn_mask, pa));
    CHECK_EQ(upcalls, 1);
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_upcall_masked_vcpu(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    vcpu_set_guest_event_handler(t.a.v, handler, &t.a);  /* mask stays 1 */
    upcalls = 0;
    CHECK_EQ(send_port(&t.b, pb), 0);
    CHECK_EQ(shinfo(&t.a)->vcpu_info[0].evtchn_upcall_pending, 1);
    current = t.a.v;
    hypercall(t.a.v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    CHECK_EQ(upcalls, 0);                   /* upcall_mask holds it */
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_close_makes_peer_unbound(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    CHECK_EQ(close_port(&t.b, pb), 0);
    struct evtchn_status st;
    CHECK_EQ(status(&t.b, DOMID_SELF, pb, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_closed);
    CHECK_EQ(status(&t.a, DOMID_SELF, pa, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, B_DOMID);
    /* Sending on an unbound port is silently dropped; B may bind again. */
    CHECK_EQ(send_port(&t.a, pa), 0);
    CHECK_EQ(bind_inter(&t.b, FIX_DOMID, pa, &pb), 0);
    CHECK_EQ(close_port(&t.a, pa), 0);
    CHECK_EQ(status(&t.b, DOMID_SELF, pb, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);
    CHECK_EQ(st.u.unbound.dom, FIX_DOMID);
    CHECK_EQ(close_port(&t.b, pb), 0);
    CHECK_EQ(evtchn_ports_in_use(t.a.d) + evtchn_ports_in_use(t.b.d), 0);
    CHECK_EQ(evtchn_audit(t.a.d, stderr) + evtchn_audit(t.b.d, stderr), 0);
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static void t_ipi(void)
{
    struct pv_fixture f;
    struct fix_config cfg = { .nr_vcpus = 2 };
    REQUIRE(fix_setup(&f, &cfg) == 0);
    struct evtchn_bind_ipi ipi = { .vcpu = 1 };
    CHECK_EQ(evop(&f, EVTCHNOP_bind_ipi, &ipi), 0);
    CHECK_EQ(send_port(&f, ipi.port), 0);
    struct shared_info *s = shinfo(&f);
    CHECK(bit(s->evtchn_pending, ipi.port));
    CHECK_EQ(s->vcpu_info[1].evtchn_upcall_pending, 1);
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 0);
    struct evtchn_bind_vcpu bv = { .port = ipi.port, .vcpu = 0 };
    CHECK_EQ(evop(&f, EVTCHNOP_bind_vcpu, &bv), -XEN_EINVAL);
    CHECK_EQ(close_port(&f, ipi.port), 0);
    CHECK(!bit(s->evtchn_pending, ipi.port));       /* Xen clears it */
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_errors(void)
{
    struct two t;
    setup2(&t, NULL);
    struct pv_fixture *a = &t.a;
    evtchn_port_t p, q;
    /* Bad ports. */
    CHECK_EQ(send_port(a, 0), -XEN_EINVAL);         /* reserved */
    CHECK_EQ(send_port(a, 5), -XEN_EINVAL);         /* free */
    CHECK_EQ(send_port(a, 4096), -XEN_EINVAL);      /* beyond the table */
    CHECK_EQ(close_port(a, 0), -XEN_EINVAL);
    CHECK_EQ(close_port(a, 5), -XEN_EINVAL);
    CHECK_EQ(close_port(a, 1024), -XEN_EINVAL);
    struct evtchn_status st;
    CHECK_EQ(status(a, DOMID_SELF, 1024, &st), -XEN_EINVAL);
    struct evtchn_unmask u = { .port = 99999 };
    CHECK_EQ(evop(a, EVTCHNOP_unmask, &u), -XEN_EINVAL);
    /* Domains. */
    CHECK_EQ(alloc_unbound(a, B_DOMID, FIX_DOMID, &p), -XEN_EPERM);
    CHECK_EQ(alloc_unbound(a, 40, DOMID_SELF, &p), -XEN_ESRCH);
    CHECK_EQ(status(a, B_DOMID, 1, &st), -XEN_EPERM);
    CHECK_EQ(status(a, 40, 1, &st), -XEN_ESRCH);
    CHECK_EQ(bind_inter(a, 40, 1, &q), -XEN_ESRCH);
    /* Remote port not bindable. */
    CHECK_EQ(bind_inter(&t.b, FIX_DOMID, 1, &q), -XEN_EINVAL);    /* free */
    CHECK_EQ(bind_inter(&t.b, FIX_DOMID, 5000, &q), -XEN_EINVAL);
    CHECK_EQ(alloc_unbound(a, DOMID_SELF, 7, &p), 0);   /* for domid 7 */
    CHECK_EQ(bind_inter(&t.b, FIX_DOMID, p, &q), -XEN_EINVAL);
    CHECK_EQ(evtchn_ports_in_use(t.b.d), 0);            /* nothing half-done */
    /* vCPUs. */
    struct evtchn_bind_ipi ipi = { .vcpu = 3 };
    CHECK_EQ(evop(a, EVTCHNOP_bind_ipi, &ipi), -XEN_ENOENT);
    struct evtchn_bind_vcpu bv = { .port = p, .vcpu = 9 };
    CHECK_EQ(evop(a, EVTCHNOP_bind_vcpu, &bv), -XEN_ENOENT);
    bv.vcpu = 0;
    CHECK_EQ(evop(a, EVTCHNOP_bind_vcpu, &bv), 0);
    /* Not modelled, unknown, bad pointers. */
    struct evtchn_bind_virq virq = { .virq = VIRQ_DEBUG, .vcpu = 0 };
    CHECK_EQ(evop(a, EVTCHNOP_bind_virq, &virq), -XEN_EINVAL);
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_event_channel_op, EVTCHNOP_reset,
                       FIX_BUF_VA, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
                       0x7000000000ULL, 0, 0, 0), -XEN_EFAULT);
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_sched_op, SCHEDOP_remote_shutdown,
                       FIX_BUF_VA, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
                       0x7000000000ULL, 0, 0, 0), -XEN_EFAULT);
    struct sched_shutdown bad = { .reason = SHUTDOWN_MAX + 1 };
    uint64_t bva = fix_put(a, 0, &bad, sizeof(bad));
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, bva,
                       0, 0, 0), -XEN_EINVAL);
    int why = 0;
    CHECK(!domain_shut_down(a->d, &why));
    CHECK_EQ(why, -1);                  /* nothing recorded */
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_xen_version, XENVER_extraversion,
                       FIX_BUF_VA, 0, 0, 0), -XEN_ENOSYS);
    struct sched_poll sp = { .nr_ports = 129, .timeout = 1 };
    uint64_t va = fix_put(a, 0, &sp, sizeof(sp));
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_sched_op, SCHEDOP_poll, va, 0, 0,
                       0), -XEN_EINVAL);
    CHECK_EQ(hypercall(a->v, __HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0,
                       0), 0);
    CHECK_EQ(evtchn_audit(a->d, stderr), 0);
    CHECK_EQ(fix_teardown(a), 0);
}

static void t_exhaustion(void)
{
    struct pv_fixture f;
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    char why[128];
    REQUIRE(hv_option_set(&cfg.opt, "evtchn.max_ports", "8", why,
                          sizeof(why)) == 0);
    REQUIRE(fix_setup(&f, &cfg) == 0);
    evtchn_port_t p;
    for (unsigned i = 1; i <= 8; i++) {
        CHECK_EQ(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &p), 0);
        CHECK_EQ(p, i);
    }
    CHECK_EQ(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &p), -XEN_ENOSPC);
    evtchn_port_t q;
    CHECK_EQ(bind_inter(&f, DOMID_SELF, 1, &q), -XEN_ENOSPC);  /* Xen's order */
    CHECK_EQ(bind_inter(&f, DOMID_SELF, 4000, &q), -XEN_ENOSPC);
    CHECK_EQ(send_port(&f, 9), -XEN_EINVAL);
    evtchn_port_t ports[1] = { 9 };                 /* beyond the limit */
    uint64_t pva = fix_put(&f, 256, ports, sizeof(ports));
    struct sched_poll sp = { .nr_ports = 1, .timeout = 1 };
    memcpy(&sp.ports, &pva, sizeof(pva));
    uint64_t va = fix_put(&f, 0, &sp, sizeof(sp));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_sched_op, SCHEDOP_poll, va, 0, 0, 0),
             -XEN_EINVAL);
    CHECK_EQ(close_port(&f, 4), 0);
    CHECK_EQ(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &p), 0);
    CHECK_EQ(p, 4);                                 /* the freed one */
    CHECK_EQ(evtchn_ports_in_use(f.d), 8);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_loopback_poll(void)
{
    struct pv_fixture f;
    REQUIRE(fix_setup(&f, NULL) == 0);
    evtchn_port_t pa, pb;
    CHECK_EQ(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &pa), 0);
    CHECK_EQ(bind_inter(&f, DOMID_SELF, pa, &pb), 0);
    CHECK(bit(shinfo(&f)->evtchn_pending, pb));
    /* poll with a timeout: one check; pb is pending. */
    evtchn_port_t ports[2] = { pa, pb };
    uint64_t pva = fix_put(&f, 256, ports, sizeof(ports));
    struct sched_poll sp = { .nr_ports = 2, .timeout = 1 };
    memcpy(&sp.ports, &pva, sizeof(pva));
    uint64_t va = fix_put(&f, 0, &sp, sizeof(sp));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_sched_op, SCHEDOP_poll, va, 0, 0, 0), 0);
    CHECK_EQ(atomic_load(&f.v->blocked), false);
    CHECK_EQ(close_port(&f, pa), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_teardown_closes(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    uint64_t free_before_b = t.a.m->nr_free;
    (void)free_before_b;
    current = NULL;
    CHECK_EQ(domain_destroy(t.b.d), 0);
    struct evtchn_status st;
    CHECK_EQ(status(&t.a, DOMID_SELF, pa, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);        /* the peer went */
    CHECK_EQ(st.u.unbound.dom, B_DOMID);
    CHECK_EQ(evtchn_audit(t.a.d, stderr), 0);
    CHECK_EQ(fix_teardown(&t.a), 0);               /* every frame back */
}

/* ---- det mode ---------------------------------------------------------- */

static struct pv_fixture *det_f;
static evtchn_port_t det_port;
static long det_block_rc;

static void det_blocker(struct vcpu *v, void *arg)
{
    (void)arg;
    guest_enable(det_f, v);
    det_block_rc = hypercall(v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0,
                             0, 0);
}
static void det_sender(struct vcpu *v, void *arg)
{
    (void)arg;
    struct evtchn_send s = { .port = det_port };
    uint64_t va = fix_put(det_f, 512, &s, sizeof(s));
    hypercall(v, __HYPERVISOR_event_channel_op, EVTCHNOP_send, va, 0, 0, 0);
}
static void det_idle(struct vcpu *v, void *arg)
{
    (void)v; (void)arg;
}

/* Two vCPUs for the det/threads tests: det_f is the fixture and det_port
   an IPI port bound to vCPU 0 (the one that blocks or polls). */
static void det_setup(struct pv_fixture *f)
{
    struct fix_config cfg = { .nr_vcpus = 2 };
    REQUIRE(fix_setup(f, &cfg) == 0);
    det_f = f;
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    REQUIRE(evop(f, EVTCHNOP_bind_ipi, &ipi) == 0);
    det_port = ipi.port;
}

static void t_det_block_wake(void)
{
    struct pv_fixture f;
    det_setup(&f);
    current = NULL;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        upcalls = 0;
        det_block_rc = -1;
        struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
        vs[0]->entry = det_blocker;
        vs[1]->entry = det_sender;
        struct sched_report rep;
        struct sched_config sc = { .mode = SCHED_DET, .seed = seed,
                                   .report = &rep };
        CHECK_EQ(sched_run_det(&sc, vs, 2), 0);
        CHECK_EQ(det_block_rc, 0);
        CHECK_EQ(upcalls, 1);               /* woke and its handler ran */
        CHECK(!atomic_load(&vs[0]->blocked));
    }
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_threads_block_wake(void)
{
    struct pv_fixture f;
    det_setup(&f);
    current = NULL;
    upcalls = 0;
    det_block_rc = -1;
    struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
    vs[0]->entry = det_blocker;
    vs[1]->entry = det_sender;
    struct sched_config sc = { .mode = SCHED_THREADS, .seed = 1 };
    CHECK_EQ(sched_run(&sc, vs, 2), 0);
    CHECK_EQ(det_block_rc, 0);
    CHECK_EQ(upcalls, 1);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_det_deadlock(void)
{
    struct pv_fixture f;
    struct fix_config cfg = { .nr_vcpus = 2 };
    REQUIRE(fix_setup(&f, &cfg) == 0);
    det_f = &f;
    current = NULL;
    struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
    vs[0]->entry = det_blocker;
    vs[1]->entry = det_idle;
    struct sched_report rep;
    FILE *null = fopen("/dev/null", "w");
    struct sched_config sc = { .mode = SCHED_DET, .seed = 3, .report = &rep,
                               .deadlock_after = 1000, .err = null };
    CHECK_EQ(sched_run_det(&sc, vs, 2), -XEN_EDEADLK);
    CHECK(rep.deadlock);
    CHECK(atomic_load(&vs[0]->blocked));    /* abandoned while blocked */
    /* D4: a deadlocked machine is not torn down. */
}


/* ---- SCHEDOP_poll wake-ups (finding 15) and the lost-wakeup window ------ */

/* What a det-mode poller does: poll det_poll_va (placed before the run),
   optionally after making an upcall pending and unmasked first. */
static uint64_t det_poll_va;
static long det_poll_rc;
static bool det_poll_pend_first;
static void det_poller(struct vcpu *v, void *arg)
{
    (void)arg;
    if (det_poll_pend_first) {
        struct vcpu_info *vi = &shinfo(det_f)->vcpu_info[v->vcpu_id];
        vi->evtchn_upcall_pending = 1;  /* an earlier event, no handler */
        vi->evtchn_upcall_mask = 0;
    }
    det_poll_rc = hypercall(v, __HYPERVISOR_sched_op, SCHEDOP_poll,
                            det_poll_va, 0, 0, 0);
}

/* A sched_poll for ports[0..n) with timeout 0 (forever) in f's buffer. */
static uint64_t put_poll(struct pv_fixture *f, const evtchn_port_t *ports,
                         unsigned n)
{
    uint64_t pva = fix_put(f, 256, ports, n * sizeof(ports[0]));
    struct sched_poll sp = { .nr_ports = n, .timeout = 0 };
    memcpy(&sp.ports, &pva, sizeof(pva));
    return fix_put(f, 0, &sp, sizeof(sp));
}

static int run_det(struct vcpu **vs, unsigned n, uint64_t seed)
{
    struct sched_report rep;
    FILE *null = fopen("/dev/null", "w");
    struct sched_config sc = { .mode = SCHED_DET, .seed = seed,
                               .report = &rep, .deadlock_after = 2000,
                               .err = null };
    int rc = sched_run_det(&sc, vs, n);
    fclose(null);
    return rc;
}

static void t_poll_events_need_delivery(void)
{
    struct pv_fixture f;
    REQUIRE(fix_setup(&f, NULL) == 0);
    det_f = &f;
    evtchn_port_t q;
    REQUIRE(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &q) == 0);
    det_poll_va = put_poll(&f, &q, 1);
    det_poll_pend_first = true;
    det_poll_rc = -1;
    current = NULL;
    struct vcpu *vs[1] = { f.d->vcpu[0] };
    vs[0]->entry = det_poller;
    /* An upcall needs delivery: poll returns at once, not a deadlock. */
    CHECK_EQ(run_det(vs, 1, 1), 0);
    CHECK_EQ(det_poll_rc, 0);
    CHECK(!atomic_load(&vs[0]->blocked));
    CHECK(!bit(shinfo(&f)->evtchn_pending, q));     /* not its port */
    CHECK_EQ(evtchn_audit(f.d, stderr), 0);
    det_poll_pend_first = false;
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Sends det_port once vCPU 0 is blocked: a masked vCPU's poll ends on a
   kick only while it polls (an earlier kick is no wake-up, as in Xen). */
static void det_sender_after_block(struct vcpu *v, void *arg)
{
    while (!atomic_load(&v->d->vcpu[0]->blocked))
        hv_relax();
    det_sender(v, arg);
}

/* vCPU 0 (events masked) polls port q; vCPU 1 sends det_port once vCPU 0
   is blocked. */
static void poll_vs_sender(struct pv_fixture *f, evtchn_port_t q,
                           uint64_t seeds, bool kick_expected)
{
    det_poll_va = put_poll(f, &q, 1);
    current = NULL;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct shared_info *s = shinfo(f);
        s->evtchn_pending[det_port / 64] &= ~(1ULL << (det_port % 64));
        s->vcpu_info[0].evtchn_pending_sel = 0;
        s->vcpu_info[0].evtchn_upcall_pending = 0;
        det_poll_rc = -1;
        struct vcpu *vs[2] = { f->d->vcpu[0], f->d->vcpu[1] };
        vs[0]->entry = det_poller;
        vs[1]->entry = det_sender_after_block;
        CHECK_EQ(run_det(vs, 2, seed), 0);          /* woken, no deadlock */
        CHECK_EQ(det_poll_rc, 0);
        CHECK(!atomic_load(&vs[0]->blocked));
        CHECK(bit(s->evtchn_pending, det_port));
        CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, kick_expected);
        CHECK_EQ(evtchn_audit(f->d, stderr), 0);    /* poll mask clean */
    }
}

static void t_poll_woken_by_kick(void)
{
    struct pv_fixture f;
    det_setup(&f);
    evtchn_port_t q;
    REQUIRE(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &q) == 0);
    /* Another port raises upcall_pending of the poller: Xen's vcpu_kick
       ends the poll although its own port never fired. */
    poll_vs_sender(&f, q, 8, true);
    CHECK(!bit(shinfo(&f)->evtchn_pending, q));
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_poll_masked_port(void)
{
    struct pv_fixture f;
    det_setup(&f);
    /* The polled port itself, masked: no upcall, the poller check wakes. */
    shinfo(&f)->evtchn_mask[det_port / 64] |= 1ULL << (det_port % 64);
    poll_vs_sender(&f, det_port, 8, false);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* The window between "marked blocked" and "checked for events": a send
   landing there (the injection point yields to the sender in det mode)
   must still wake the vCPU - block and poll, every seed. */
static void t_lost_wakeup_window(void)
{
    struct pv_fixture f;
    det_setup(&f);
    evtchn_port_t q;
    REQUIRE(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &q) == 0);
    char err[256];
    struct inj_plan *p = inj_plan_new();
    REQUIRE(inj_plan_add(p, "evtchn.wait.before_check:yield", NULL, 0, err,
                         sizeof(err)) == 0);
    REQUIRE(inj_run_begin(p, 1) == 0);
    current = NULL;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        upcalls = 0;
        det_block_rc = -1;
        shinfo(&f)->evtchn_pending[det_port / 64] = 0;
        struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
        vs[0]->entry = det_blocker;
        vs[1]->entry = det_sender;
        CHECK_EQ(run_det(vs, 2, seed), 0);
        CHECK_EQ(det_block_rc, 0);
        CHECK_EQ(upcalls, 1);
        CHECK(!atomic_load(&vs[0]->blocked));
    }
    CHECK(inj_point_hits(INJP_evtchn_wait_before_check) >= 16);
    vcpu_set_guest_event_handler(f.d->vcpu[0], NULL, NULL);
    shinfo(&f)->vcpu_info[0].evtchn_upcall_mask = 1;
    poll_vs_sender(&f, q, 16, true);
    inj_run_end();
    inj_plan_free(p);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_threads_poll_kick(void)
{
    struct pv_fixture f;
    det_setup(&f);
    evtchn_port_t q;
    REQUIRE(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &q) == 0);
    det_poll_va = put_poll(&f, &q, 1);
    current = NULL;
    for (unsigned i = 0; i < 20; i++) {
        struct shared_info *s = shinfo(&f);
        s->evtchn_pending[det_port / 64] = 0;
        s->vcpu_info[0].evtchn_pending_sel = 0;
        s->vcpu_info[0].evtchn_upcall_pending = 0;
        det_poll_rc = -1;
        struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
        vs[0]->entry = det_poller;
        vs[1]->entry = det_sender_after_block;
        struct sched_config sc = { .mode = SCHED_THREADS, .seed = i + 1 };
        CHECK_EQ(sched_run(&sc, vs, 2), 0);
        CHECK_EQ(det_poll_rc, 0);
        CHECK(!atomic_load(&vs[0]->blocked));
    }
    CHECK_EQ(evtchn_audit(f.d, stderr), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* ---- notify vCPU through the one mutator (finding 17) -------------------- */

static void t_notify_vcpu_mutator(void)
{
    struct pv_fixture f;
    struct fix_config cfg = { .nr_vcpus = 2 };
    REQUIRE(fix_setup(&f, &cfg) == 0);
    evtchn_port_t p;
    REQUIRE(alloc_unbound(&f, DOMID_SELF, DOMID_SELF, &p) == 0);
    uint64_t n0 = evtchn_state_changes(f.d);
    struct evtchn_bind_ipi ipi = { .vcpu = 1 };
    CHECK_EQ(evop(&f, EVTCHNOP_bind_ipi, &ipi), 0);
    CHECK_EQ(evtchn_state_changes(f.d), n0 + 1);    /* state + vCPU: one */
    struct evtchn_status st;
    CHECK_EQ(status(&f, DOMID_SELF, ipi.port, &st), 0);
    CHECK_EQ(st.vcpu, 1);
    struct evtchn_bind_vcpu bv = { .port = p, .vcpu = 1 };
    CHECK_EQ(evop(&f, EVTCHNOP_bind_vcpu, &bv), 0);
    CHECK_EQ(evtchn_state_changes(f.d), n0 + 2);    /* rebinding: traced */
    CHECK_EQ(status(&f, DOMID_SELF, p, &st), 0);
    CHECK_EQ(st.status, EVTCHNSTAT_unbound);        /* state unchanged */
    CHECK_EQ(st.u.unbound.dom, FIX_DOMID);
    CHECK_EQ(st.vcpu, 1);
    bv.vcpu = 2;                                    /* no such vCPU */
    CHECK_EQ(evop(&f, EVTCHNOP_bind_vcpu, &bv), -XEN_ENOENT);
    bv.vcpu = 0; bv.port = ipi.port;                /* IPI stays */
    CHECK_EQ(evop(&f, EVTCHNOP_bind_vcpu, &bv), -XEN_EINVAL);
    CHECK_EQ(evtchn_state_changes(f.d), n0 + 2);    /* refusals: nothing */
    /* The new vCPU gets the events. */
    CHECK_EQ(send_port(&f, p), 0);                  /* unbound: dropped */
    evtchn_port_t q;
    CHECK_EQ(bind_inter(&f, DOMID_SELF, p, &q), 0);
    shinfo(&f)->vcpu_info[0].evtchn_upcall_pending = 0;
    CHECK_EQ(send_port(&f, q), 0);
    CHECK_EQ(shinfo(&f)->vcpu_info[1].evtchn_upcall_pending, 1);
    CHECK_EQ(shinfo(&f)->vcpu_info[0].evtchn_upcall_pending, 0);
    CHECK_EQ(close_port(&f, q), 0);
    CHECK_EQ(status(&f, DOMID_SELF, p, &st), 0);
    CHECK_EQ(st.vcpu, 1);                           /* kept when unbound */
    CHECK_EQ(close_port(&f, p), 0);
    CHECK_EQ(status(&f, DOMID_SELF, p, &st), 0);
    CHECK_EQ(st.vcpu, 0);                           /* freed: back to 0 */
    CHECK_EQ(evtchn_audit(f.d, stderr), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* ---- the guest kernel's side (guest/evtchn.c) --------------------------- */

/* Boot a PV kernel (two vCPUs, a small memtouch run), then drive its
   event-channel code from vCPU 0 with the domain alive. */
struct gk {
    struct machine *m;
    struct domain *d;
    struct guest_pv *g;
    uint64_t free_before;
};

static void gk_boot(struct gk *k)
{
    struct hv_options ho;
    struct guest_options go;
    char err[256] = "";
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &k->m) == 0);
    k->free_before = k->m->nr_free;
    struct workload_params wl = { .kind = WL_MEMTOUCH, .procs = 1,
                                  .threads = 1, .iters = 1, .pages = 8,
                                  .seed = 7 };
    struct build_pv_config cfg = { .domid = 1, .nr_vcpus = 2,
                                   .nr_pages = 2048, .gopt = &go, .wl = &wl };
    int rc = build_pv(k->m, &cfg, &k->d, &k->g, NULL, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
    struct sched_config sc = { .mode = SCHED_THREADS, .seed = 7 };
    REQUIRE(sched_run(&sc, k->d->vcpu, k->d->nr_vcpus) == 0);
}

static void gk_finish(struct gk *k)
{
    struct guest_stats st;
    guest_pv_stats(k->g, &st);
    guest_pv_report(k->g, stderr);
    CHECK_EQ(st.hypercall_errors, 0);
    CHECK_EQ(st.kernel_oopses, 0);
    CHECK_EQ(hv_audit(k->m, stderr), 0);
    current = NULL;
    CHECK_EQ(domain_destroy(k->d), 0);
    CHECK_EQ(hv_audit(k->m, stderr), 0);
    CHECK_EQ(k->m->nr_free, k->free_before);
    guest_pv_free(k->g);
    machine_destroy(k->m);
}

static unsigned g_calls;
static evtchn_port_t g_last_port;
static uint8_t g_mask_seen;
static void g_handler(struct gcpu *c, evtchn_port_t port, void *arg)
{
    (void)arg;
    uint64_t m = 0;
    struct shared_info *s = mfn_to_virt_w(c->v->d->m, c->v->d->shared_info_mfn);
    g_mask_seen = s->vcpu_info[c->v->vcpu_id].evtchn_upcall_mask;
    (void)m;
    g_calls++;
    g_last_port = port;
}

static void t_guest_loopback(void)
{
    struct gk k;
    gk_boot(&k);
    struct guest_kernel *gk = &((struct guest_kernel *)k.g)[0];
    struct gcpu *c = &gk->cpu[0];
    REQUIRE(gk->evtchn != NULL);                /* set up at boot */
    current = c->v;
    c->v->in_kernel = true;
    struct shared_info *s = mfn_to_virt_w(k.m, k.d->shared_info_mfn);
    /* Handlers registered at boot; shared_info untouched until first use. */
    CHECK(k.d->vcpu[0]->guest_event_handler != NULL);
    CHECK(k.d->vcpu[1]->guest_event_handler != NULL);
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_mask, 1);
    evtchn_port_t pa, pb;
    CHECK_EQ(gevtchn_alloc_unbound(c, DOMID_SELF, &pa), 0);
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_mask, 0);   /* first use */
    CHECK_EQ(s->vcpu_info[1].evtchn_upcall_mask, 1);   /* vCPU 1's own */
    CHECK_EQ(evtchn_bind_handler(gk, pa, g_handler, NULL), 0);
    g_calls = 0;
    /* Binding makes pb pending: its upcall (no handler) consumes it. */
    CHECK_EQ(gevtchn_bind_interdomain(c, DOMID_SELF, pa, &pb), 0);
    CHECK_EQ(g_calls, 0);
    CHECK(!bit(s->evtchn_pending, pb));
    uint64_t up0 = gevtchn_upcalls(gk);
    CHECK_EQ(gevtchn_send(c, pb), 0);           /* upcall at its exit */
    CHECK_EQ(g_calls, 1);
    CHECK_EQ(g_last_port, pa);
    CHECK_EQ(g_mask_seen, 1);
    CHECK_EQ(gevtchn_upcalls(gk), up0 + 1);
    CHECK(!bit(s->evtchn_pending, pa));         /* the scan cleared it */
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 0);
    /* Masked: nothing until unmask, which forces the callback. */
    CHECK_EQ(gevtchn_mask(c, pa), 0);
    CHECK_EQ(gevtchn_send(c, pb), 0);
    CHECK_EQ(g_calls, 1);
    CHECK(bit(s->evtchn_pending, pa));
    CHECK_EQ(gevtchn_unmask(c, pa), 0);
    CHECK_EQ(g_calls, 2);
    CHECK(!bit(s->evtchn_mask, pa));
    CHECK_EQ(gevtchn_close(c, pa), 0);
    CHECK_EQ(gevtchn_close(c, pb), 0);
    gk_finish(&k);
}


static unsigned g_vcpu_seen;
static void g_vcpu_handler(struct gcpu *c, evtchn_port_t port, void *arg)
{
    (void)arg;
    g_calls++;
    g_last_port = port;
    g_vcpu_seen = c->v->vcpu_id;
}

/* Finding 16: unmask on a vCPU that is not the port's goes through
   EVTCHNOP_unmask, so the event reaches the port's vCPU; after
   bind_vcpu, the new vCPU's unmask is local. */
static void t_guest_unmask_remote(void)
{
    struct gk k;
    gk_boot(&k);
    struct guest_kernel *gk = &((struct guest_kernel *)k.g)[0];
    struct gcpu *c0 = &gk->cpu[0], *c1 = &gk->cpu[1];
    struct shared_info *s = mfn_to_virt_w(k.m, k.d->shared_info_mfn);
    current = c0->v;
    c0->v->in_kernel = true;
    c1->v->in_kernel = true;
    evtchn_port_t pa, pb;
    CHECK_EQ(gevtchn_alloc_unbound(c0, DOMID_SELF, &pa), 0);
    CHECK_EQ(evtchn_bind_handler(gk, pa, g_vcpu_handler, NULL), 0);
    CHECK_EQ(gevtchn_bind_interdomain(c0, DOMID_SELF, pa, &pb), 0);
    CHECK_EQ(gevtchn_mask(c0, pa), 0);
    g_calls = 0;
    CHECK_EQ(gevtchn_send(c0, pb), 0);
    CHECK_EQ(g_calls, 0);                       /* masked */
    /* vCPU 1 unmasks vCPU 0's port. */
    current = c1->v;
    CHECK_EQ(gevtchn_unmask(c1, pa), 0);
    CHECK(!bit(s->evtchn_mask, pa));            /* the hypervisor cleared it */
    CHECK_EQ(g_calls, 0);                       /* not taken on vCPU 1 */
    CHECK_EQ(s->vcpu_info[1].evtchn_upcall_pending, 0);
    CHECK_EQ(s->vcpu_info[1].evtchn_pending_sel, 0);
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 1);  /* re-raised */
    /* vCPU 0's next hypercall exit takes it. */
    current = c0->v;
    hypercall(c0->v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    CHECK_EQ(g_calls, 1);
    CHECK_EQ(g_last_port, pa);
    CHECK_EQ(g_vcpu_seen, 0);
    /* Rebound to vCPU 1: vCPU 1's unmask is local and delivers there. */
    CHECK_EQ(gevtchn_bind_vcpu(c0, pa, 1), 0);
    CHECK_EQ(gevtchn_mask(c0, pa), 0);
    CHECK_EQ(gevtchn_send(c0, pb), 0);
    current = c1->v;
    CHECK_EQ(gevtchn_unmask(c1, pa), 0);
    CHECK_EQ(g_calls, 2);
    CHECK_EQ(g_vcpu_seen, 1);
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 0);
    current = c0->v;
    CHECK_EQ(gevtchn_close(c0, pa), 0);
    CHECK_EQ(gevtchn_close(c0, pb), 0);
    gk_finish(&k);
}

static void t_hvm_physmap(void)
{
    struct pv_fixture f;
    REQUIRE(fix_setup(&f, NULL) == 0);
    struct domain_config cfg = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
                                 .max_pages = 256, .domid = 3,
                                 .paging = PAGING_HAP };
    struct domain *h = NULL;
    REQUIRE(domain_create(f.m, &cfg, &h) == 0);
    REQUIRE(domctl_populate(h, 0, 16, NULL) == 0);
    uint64_t tot = atomic_load(&h->tot_pages);
    p2m_type_t t;
    CHECK_EQ(evtchn_physmap_shared_info(h, 1, 5), -XEN_EINVAL);   /* idx */
    CHECK_EQ(evtchn_physmap_shared_info(f.d, 0, 5), -XEN_EINVAL); /* PV */
    CHECK_EQ(evtchn_physmap_shared_info(h, 0, 5), 0);
    CHECK_HEX(get_gfn_query_unlocked(h, 5, &t), h->shared_info_mfn);
    CHECK_EQ(atomic_load(&h->tot_pages), tot - 1);   /* the RAM page went */
    CHECK_EQ(evtchn_physmap_shared_info(h, 0, 5), 0);          /* again */
    CHECK_EQ(evtchn_physmap_shared_info(h, 0, 40), 0);         /* moved */
    CHECK_HEX(get_gfn_query_unlocked(h, 5, &t), INVALID_MFN);
    CHECK_HEX(get_gfn_query_unlocked(h, 40, &t), h->shared_info_mfn);
    CHECK_EQ(p2m_audit(f.m, stderr), 0);
    CHECK_EQ(fix_teardown(&f), 0);          /* destroys h too */
}

static void t_inject(void)
{
    struct two t;
    evtchn_port_t pa, pb;
    setup_pair(&t, &pa, &pb);
    guest_enable(&t.a, t.a.v);
    char err[256];
    struct inj_plan *p = inj_plan_new();
    REQUIRE(inj_plan_add(p, "evtchn.send.before_set_pending:fail", NULL, 0,
                         err, sizeof(err)) == 0);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_EQ(send_port(&t.b, pb), -XEN_EINVAL);     /* the default error */
    CHECK(!bit(shinfo(&t.a)->evtchn_pending, pa));  /* no event */
    CHECK_EQ(inj_point_fires(INJP_evtchn_send_before_set_pending), 1);
    inj_run_end();
    inj_plan_free(p);
    /* The delivery window is passed once per upcall. */
    upcalls = 0;
    p = inj_plan_new();
    REQUIRE(inj_plan_add(p, "evtchn.upcall.before_deliver:yield", NULL, 0,
                         err, sizeof(err)) == 0);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_EQ(send_port(&t.b, pb), 0);
    current = t.a.v;
    hypercall(t.a.v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
    CHECK_EQ(upcalls, 1);
    CHECK_EQ(inj_point_hits(INJP_evtchn_upcall_before_deliver), 1);
    inj_run_end();
    inj_plan_free(p);
    CHECK_EQ(fix_teardown(&t.a), 0);
}

static const struct test tests[] = {
    { "a new domain has a shared_info page, masked vCPUs and port 0 reserved", t_init },
    { "alloc_unbound then bind_interdomain connect both ends; status reports each state", t_alloc_bind_status },
    { "send sets the peer's pending bit, selector and upcall_pending, not its own", t_send_sets_bits },
    { "the upcall runs at the next hypercall exit with the mask set, never nested", t_upcall_at_hcall_exit },
    { "a masked port raises no upcall until unmask re-raises it", t_mask_unmask },
    { "a vCPU with upcall_mask set gets no upcall", t_upcall_masked_vcpu },
    { "closing one end of an interdomain channel makes the other unbound", t_close_makes_peer_unbound },
    { "an IPI port notifies its vCPU; close clears its pending bit", t_ipi },
    { "every bad port, domain, vCPU and op gets Xen's error code", t_errors },
    { "ports run out at evtchn.max_ports with -ENOSPC; a freed port is reused", t_exhaustion },
    { "a loopback channel works and poll with a timeout checks once", t_loopback_poll },
    { "destroying a domain closes its ports and frees shared_info", t_teardown_closes },
    { "det mode: a blocked vCPU wakes when another sends and its handler runs", t_det_block_wake },
    { "threads mode: a blocked vCPU wakes when another sends", t_threads_block_wake },
    { "det mode: a block nobody ends is reported as a deadlock", t_det_deadlock },
    { "injection: a failed send raises nothing; the delivery window is passed once per upcall", t_inject },
    { "HVM: shared_info goes where add_to_physmap puts it, one place at a time", t_hvm_physmap },
    { "a booted PV kernel maps shared_info, binds a loopback channel and takes its upcall", t_guest_loopback },
    { "poll returns at once when an upcall needs delivery, whatever its ports", t_poll_events_need_delivery },
    { "det mode: a kick from another port ends a poll (Xen's vcpu_kick)", t_poll_woken_by_kick },
    { "det mode: a masked polled port wakes its poller without an upcall", t_poll_masked_port },
    { "det mode: a send in the blocked-but-not-checked window still wakes block and poll", t_lost_wakeup_window },
    { "threads mode: a kick ends a poll", t_threads_poll_kick },
    { "bind_ipi and bind_vcpu set the notify vCPU through the one mutator", t_notify_vcpu_mutator },
    { "a guest unmask of another vCPU's port uses EVTCHNOP_unmask; a local one re-raises", t_guest_unmask_remote },
};

TEST_MAIN(tests)
