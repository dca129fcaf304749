/*
 * core/hypercall.c - the hypercall boundary: dispatch, tracing, continuations.
 *
 * Rules:
 *   1. Every hypercall enters through hypercall(): one scheduling point
 *      (SP_HCALL_ENTRY), one hvlab_hcall:entry event, and the writable-
 *      pagetable batch of the caller's domain is closed (ptwr_sync) before the
 *      handler runs, as Xen 3.0 closed it at every mmu_update / mmuext_op /
 *      update_va_mapping entry.  In ptwr unhook mode those three also run
 *      under the domain's big lock, as they did in Xen 3.0.
 *   2. The dispatch table is indexed by Xen's __HYPERVISOR_* numbers; any other
 *      number, and a PV-only call made by an HVM domain, is -XEN_ENOSYS.
 *   3. A handler that stops part-way records its restart arguments with
 *      hypercall_create_continuation().  The dispatcher then passes a
 *      scheduling point (SP_PREEMPT), emits hvlab_hcall:continuation and
 *      re-issues the call with those arguments, as Xen makes the guest
 *      re-execute the hypercall instruction, until it completes.
 *   4. -HV_ERESTART and -HV_EINTR are hypervisor-internal: they never reach
 *      the guest (asserted).
 *   5. hypercall_preempt_check() counts one unit of work per call against
 *      hv_options.preempt_budget (0 = never preempt); the count restarts at
 *      every (re-)issue, so each pass makes progress.
 */
#include <stdint.h>
#include <assert.h>
#include <sched.h>

#include <xen/memory.h>

#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/hypercall.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/mm/ptwr.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"
#include "trace/usdt.h"

typedef long (*hcall_fn)(struct vcpu *v, const uint64_t a[5]);

void (*hv_hcall_observer)(struct vcpu *v, unsigned op,
                          const uint64_t args[5]);

static long hc_mmu_update(struct vcpu *v, const uint64_t a[5])
{
    return do_mmu_update(v, a[0], (unsigned)a[1], a[2], (unsigned)a[3]);
}
static long hc_mmuext_op(struct vcpu *v, const uint64_t a[5])
{
    return do_mmuext_op(v, a[0], (unsigned)a[1], a[2], (unsigned)a[3]);
}
static long hc_update_va_mapping(struct vcpu *v, const uint64_t a[5])
{
    return do_update_va_mapping(v, a[0], a[1], a[2]);
}
static long hc_update_va_mapping_otherdomain(struct vcpu *v, const uint64_t a[5])
{
    return do_update_va_mapping_otherdomain(v, a[0], a[1], a[2], (domid_t)a[3]);
}
static long hc_memory_op(struct vcpu *v, const uint64_t a[5])
{
    return do_memory_op(v, (unsigned long)a[0], a[1]);
}
static long hc_vm_assist(struct vcpu *v, const uint64_t a[5])
{
    return do_vm_assist(v, (unsigned)a[0], (unsigned)a[1]);
}
static long hc_event_channel_op(struct vcpu *v, const uint64_t a[5])
{
    return do_event_channel_op(v, (unsigned)a[0], a[1]);
}
static long hc_sched_op(struct vcpu *v, const uint64_t a[5])
{
    return do_sched_op(v, (unsigned)a[0], a[1]);
}
static long hc_xen_version(struct vcpu *v, const uint64_t a[5])
{
    return do_xen_version(v, (unsigned)a[0], a[1]);
}
static long hc_grant_table_op(struct vcpu *v, const uint64_t a[5])
{
    return do_grant_table_op(v, (unsigned)a[0], a[1], (unsigned)a[2]);
}

struct hcall_entry {
    hcall_fn fn;
    bool pv_only;           /* not in Xen's HVM hypercall table */
    bool big_lock;          /* Xen 3.0 ran it under the domain's big lock */
};

static const struct hcall_entry hcall_table[] = {
    [__HYPERVISOR_mmu_update]      = { hc_mmu_update, true, true },
    [__HYPERVISOR_mmuext_op]       = { hc_mmuext_op, false, true },
    [__HYPERVISOR_update_va_mapping] = { hc_update_va_mapping, true, true },
    [__HYPERVISOR_update_va_mapping_otherdomain] =
                               { hc_update_va_mapping_otherdomain, true, true },
    [__HYPERVISOR_memory_op]       = { hc_memory_op, false, false },
    [__HYPERVISOR_vm_assist]       = { hc_vm_assist, false, false },
    [__HYPERVISOR_event_channel_op] = { hc_event_channel_op, false, false },
    [__HYPERVISOR_sched_op]        = { hc_sched_op, false, false },
    [__HYPERVISOR_xen_version]     = { hc_xen_version, false, false },
    [__HYPERVISOR_grant_table_op]  = { hc_grant_table_op, false, false },
};

/*
 * Progress a continuation carries, for the trace: entries done in the pass
 * that stopped (mmu_update, mmuext_op) or extents done so far (memory_op).
 */
static uint64_t continuation_progress(unsigned op, const uint64_t before[5],
                                      const uint64_t after[5])
{
    switch (op) {
    case __HYPERVISOR_mmu_update:
    case __HYPERVISOR_mmuext_op: {
        uint64_t was = before[1] & ~(uint64_t)MMU_UPDATE_PREEMPTED;
        uint64_t left = after[1] & ~(uint64_t)MMU_UPDATE_PREEMPTED;
        return was >= left ? was - left : 0;
    }
    case __HYPERVISOR_memory_op:
        return after[0] >> MEMOP_EXTENT_SHIFT;
    default:
        return 0;
    }
}

long hypercall(struct vcpu *v, unsigned op, uint64_t a1, uint64_t a2,
               uint64_t a3, uint64_t a4, uint64_t a5)
{
    struct domain *d = v->d;
    uint8_t host = (uint8_t)d->m->host_id;
    uint64_t args[5] = { a1, a2, a3, a4, a5 };
    long rc;

    (void)host;                 /* unused when tracing is compiled out */
    sched_point_at(SP_HCALL_ENTRY, op);
    v->nr_hypercalls++;
    TRC(hvlab_hcall, entry, host, d->domid, (uint16_t)v->vcpu_id, op,
        a1, a2, a3, a4);
    uint64_t usdt_t0 = HV_USDT_ENABLED(hcall_exit) ? hv_usdt_now_ns() : 0;
    HV_USDT(hcall_entry, host, d->domid, v->vcpu_id, op);
    if (__builtin_expect(hv_hcall_observer != NULL, 0))
        hv_hcall_observer(v, op, args);

    if (op >= ARRAY_SIZE(hcall_table) || hcall_table[op].fn == NULL ||
        (hcall_table[op].pv_only && !is_pv_domain(d))) {
        rc = -XEN_ENOSYS;
        goto out;
    }
    /* inject: hcall.entry - fail = the call returns without running. */
    rc = INJ_FAIL(hcall_entry, v, 0);
    if (rc)
        goto out;

    v->in_hypercall = true;
    for (;;) {
        /* Rule 1: a hypercall closes an open unhook batch; the PV memory
           calls keep the big lock (unhook mode) so none opens meanwhile. */
        bool locked = hcall_table[op].big_lock;
        if (locked)
            ptwr_hypercall_enter(v);
        else
            ptwr_sync(v);
        v->cont.pending = false;
        v->preempt_work = 0;

        rc = hcall_table[op].fn(v, args);

        if (locked)
            ptwr_hypercall_exit(v);

        if (!v->cont.pending)
            break;

        /* Rule 3: the guest would re-execute the call; we re-issue it. */
        uint64_t progress = continuation_progress(op, args, v->cont.args);
        (void)progress;
        op = v->cont.op;
        for (unsigned i = 0; i < 5; i++)
            args[i] = v->cont.args[i];
        v->cont.pending = false;
        TRC(hvlab_hcall, continuation, host, d->domid, (uint16_t)v->vcpu_id,
            op, progress);
        INJ_POINT(hcall_continuation, v);       /* inject: a window */
        sched_point(SP_PREEMPT);
        assert(op < ARRAY_SIZE(hcall_table) && hcall_table[op].fn != NULL);
    }
    v->in_hypercall = false;

out:
    /* Rule 4. */
    assert(rc != -HV_ERESTART && rc != -HV_EINTR);
    TRC(hvlab_hcall, exit, host, d->domid, (uint16_t)v->vcpu_id, op, rc);
    HV_USDT(hcall_exit, host, d->domid, v->vcpu_id, op, rc,
            usdt_t0 ? hv_usdt_now_ns() - usdt_t0 : HV_USDT_UNTIMED);
    sched_point_at(SP_HCALL_EXIT, op);
    evtchn_deliver(v, EVTCHN_AT_HCALL_EXIT);    /* pending upcall, if any */
    return rc;
}

long hypercall_create_continuation(struct vcpu *v, unsigned op, uint64_t a1,
                                   uint64_t a2, uint64_t a3, uint64_t a4,
                                   uint64_t a5)
{
    v->cont.pending = true;
    v->cont.op = op;
    v->cont.args[0] = a1;
    v->cont.args[1] = a2;
    v->cont.args[2] = a3;
    v->cont.args[3] = a4;
    v->cont.args[4] = a5;
    /* What Xen leaves in the guest's return register: the call number, which
       the re-executed hypercall overwrites. */
    return op;
}

bool hypercall_preempt_check(struct vcpu *v)
{
    if (v == NULL || v->d == NULL || v->d->m == NULL)
        return false;
    /* inject: hcall.preempt - fail (ERESTART) = "preempt now". */
    if (INJ_FAIL(hcall_preempt, v, 0) == -INJ_ERESTART) {
        v->preempt_work = 0;
        return true;
    }
    unsigned budget = v->d->m->opt.preempt_budget;
    if (budget == 0)
        return false;
    if (++v->preempt_work < budget)
        return false;
    v->preempt_work = 0;
    return true;
}

/* ---- inject: how a yield binding lets another vCPU run ------------------- */

_Static_assert(INJ_ERESTART == HV_ERESTART, "inject's ERESTART is Xen's");

/* A scheduler that took over the scheduling points (det mode) switches vCPU
   at SP_INJECT; without one (threads mode) the OS thread yields. */
static void inj_yield_here(enum inj_point pt)
{
    if (hv_sched_hook != NULL)
        sched_point_at(SP_INJECT, pt);
    else
        sched_yield();
}

static void __attribute__((constructor)) inj_yield_install(void)
{
    inj_yield_hook = inj_yield_here;
}
