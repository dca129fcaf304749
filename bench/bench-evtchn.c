/*
 * bench/bench-evtchn.c - event-channel round trips and the cost of the
 * delivery check on the way out of a hypercall.
 *
 * Figures (best of 3 runs each, same process, no trace session):
 *   evtchn_roundtrip      send -> upcall -> send back -> upcall, between
 *                         two vCPUs of one domain in det mode (IPI ports;
 *                         each side waits in SCHEDOP_block)
 *   hcall_null_nohandler  xen_version calls per second on a vCPU with no
 *                         event handler (the delivery check's first test)
 *   hcall_null_handler    the same with a handler registered and events
 *                         enabled, nothing pending (the check reads
 *                         vcpu_info)
 *   hcall_null_ratio      handler / nohandler: what the check costs when
 *                         a guest has events enabled (same run)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/version.h>

#include "core/hypercall.h"
#include "core/sched.h"
#include "tests/unit/pv_fixture.h"
#include "bench/lib/clock.h"

#define ROUNDTRIPS  200000ULL
#define NULLCALLS   20000000ULL
#define RUNS        3

static struct pv_fixture f;
static uint64_t send_va[2];             /* vCPU i sends with this argument */
static uint64_t got[2];

/* The guest's upcall, reduced: count, clear the bits it was given. */
static void handler(struct vcpu *v, void *ctx)
{
    (void)ctx;
    struct shared_info *s = fix_frame(&f, f.d->shared_info_mfn);
    struct vcpu_info *vi = &s->vcpu_info[v->vcpu_id];
    vi->evtchn_upcall_pending = 0;
    xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0,
                                          __ATOMIC_ACQ_REL);
    for (unsigned w = 0; sel; w++, sel >>= 1)
        if (sel & 1)
            __atomic_store_n(&s->evtchn_pending[w], 0, __ATOMIC_RELEASE);
    got[v->vcpu_id]++;
}

static void enable(struct vcpu *v)
{
    struct shared_info *s = fix_frame(&f, f.d->shared_info_mfn);
    vcpu_set_guest_event_handler(v, handler, NULL);
    s->vcpu_info[v->vcpu_id].evtchn_upcall_mask = 0;
}

static void send(struct vcpu *v)
{
    hypercall(v, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
              send_va[v->vcpu_id], 0, 0, 0);
}

static void wait_for(struct vcpu *v, uint64_t n)
{
    while (got[v->vcpu_id] < n)
        hypercall(v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
}

static void pinger(struct vcpu *v, void *arg)
{
    (void)arg;
    enable(v);
    for (uint64_t i = 0; i < ROUNDTRIPS; i++) {
        send(v);
        wait_for(v, i + 1);
    }
}

static void ponger(struct vcpu *v, void *arg)
{
    (void)arg;
    enable(v);
    for (uint64_t i = 0; i < ROUNDTRIPS; i++) {
        wait_for(v, i + 1);
        send(v);
    }
}

static double roundtrips(void)
{
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        got[0] = got[1] = 0;
        struct vcpu *vs[2] = { f.d->vcpu[0], f.d->vcpu[1] };
        vs[0]->entry = pinger;
        vs[1]->entry = ponger;
        struct sched_config sc = { .mode = SCHED_DET, .seed = 1 + r };
        double t0 = now_ns();
        if (sched_run_det(&sc, vs, 2) != 0 || got[0] != ROUNDTRIPS) {
            fprintf(stderr, "bench-evtchn: round trips failed\n");
            exit(1);
        }
        double rate = ROUNDTRIPS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    return best;
}

static double nullcalls(struct vcpu *v)
{
    double best = 0;
    current = v;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (uint64_t i = 0; i < NULLCALLS; i++)
            hypercall(v, __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
        double rate = NULLCALLS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    return best;
}

int main(void)
{
    struct fix_config cfg = { .nr_vcpus = 2 };
    if (fix_setup(&f, &cfg) != 0) {
        fprintf(stderr, "bench-evtchn: set-up failed\n");
        return 1;
    }
    /* IPI port i notifies vCPU i; vCPU i sends on the other's port. */
    evtchn_port_t port[2];
    for (unsigned i = 0; i < 2; i++) {
        struct evtchn_bind_ipi b = { .vcpu = i };
        uint64_t va = fix_put(&f, 0, &b, sizeof(b));
        if (hypercall(f.v, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi,
                      va, 0, 0, 0) != 0 || fix_get(&f, 0, &b, sizeof(b))) {
            fprintf(stderr, "bench-evtchn: bind_ipi failed\n");
            return 1;
        }
        port[i] = b.port;
    }
    for (unsigned i = 0; i < 2; i++) {
        struct evtchn_send s = { .port = port[1 - i] };
        send_va[i] = fix_put(&f, 64 + 64 * i, &s, sizeof(s));
    }

    double none = nullcalls(f.d->vcpu[0]);
    enable(f.d->vcpu[0]);
    double with = nullcalls(f.d->vcpu[0]);
    current = NULL;
    double rt = roundtrips();

    printf("figure evtchn_roundtrip: %.1f k/s   "
           "[send->upcall->send->upcall, 2 vCPUs, det mode, SCHEDOP_block]\n",
           rt / 1e3);
    printf("figure hcall_null_nohandler: %.1f Mcalls/s   "
           "[xen_version, no event handler registered]\n", none / 1e6);
    printf("figure hcall_null_handler: %.1f Mcalls/s   "
           "[xen_version, events enabled, nothing pending]\n", with / 1e6);
    printf("figure hcall_null_ratio: %.3f x   "
           "[handler / nohandler, same run: the exit check's cost]\n",
           with / none);
    return fix_teardown(&f) == 0 ? 0 : 1;
}
