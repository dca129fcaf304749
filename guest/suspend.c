/*
 * guest/suspend.c - the kernel's part of a migration: the suspend request,
 * parking every vCPU, vCPU 0's suspend sequence and the resume (what
 * Linux does in drivers/xen/manage.c do_suspend and arch/x86/xen/suspend.c
 * xen_pv_pre_suspend / xen_pv_post_suspend), for both guest kinds.
 *
 * Rules:
 *   S1  The request is "suspend" at /local/domain/<domid>/control/shutdown
 *       of wl.xenbus.  Every vCPU looks between two slices, cheaply: only
 *       when xenbus_version() moved past the version last looked at does
 *       one vCPU (the one that swaps in the new version) read the key.  A
 *       kernel without a xenbus cannot be asked; a kernel whose workload
 *       is done does not suspend (done is looked at first).
 *   S2  Park (PARKING): a vCPU issues its pending mmu_update batch, leaves
 *       any process mm for the initial L4 (mm_leave: no vCPU's root is a
 *       process L4 and every process cpumask is clear of it) and waits.
 *       vCPU 0 waits until every other vCPU is parked or idle (its entry
 *       returned without reaching the scheduler).
 *   S3  The workload finishing while the vCPUs park cancels the parking
 *       (back to RUNNING): the vCPUs then leave as a finished kernel's do.
 *   S4  vCPU 0's sequence: event channels (shared_info unmapped), grant
 *       table (its frames unmapped), blkfront (stops issuing); "" written
 *       to control/shutdown (the acknowledgement); SCHEDOP_shutdown
 *       (SHUTDOWN_suspend) with its struct sched_shutdown in the vCPU's
 *       argument area (an HVM kernel, which has none, writes it into one
 *       kernel page of its direct map, taken once for this); then
 *       SUSPENDED, and every vCPU returns from its entry (the vCPU stops).
 *       A step that fails undoes the ones before it as a cancelled suspend
 *       does, and the kernel runs on (logged, hvlab_guest:suspend rc).
 *   S5  guest_*_resume records where the kernel runs now; only a SUSPENDED
 *       kernel takes one (else -XEN_EINVAL).  The next entry of each vCPU
 *       resumes instead of booting; without a recorded resume the entry
 *       returns at once (the kernel stays suspended).
 *   S6  Resume, vCPU 0: its (possibly new) vCPU gets the #PF handler; the
 *       start info is read again through the MMU (ops->boot_read: PV's
 *       start_info, whose shared_info the restore rewrote, and the initial
 *       L4's mfn from the p2m list; nr_pages and the initial L4's pfn must
 *       be what they were); every frame number the kernel keeps is taken
 *       from the p2m again (every process's L4); then event channels, the
 *       grant table and blkfront resume, and host, xenbus and backend are
 *       the resume's.  RUNNING: the other vCPUs, which waited for it,
 *       attach as at boot (ops->cpu_attach).  A failure leaves the kernel
 *       FAILED and its vCPUs stopped (logged, hvlab_guest:resume rc).
 *   S7  The states and their moves are mig_next[] below; mig_move is the
 *       only writer of mig_state.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <xen/xen.h>
#include <xen/sched.h>

#include "core/domain.h"
#include "core/hypercall.h"
#include "core/lock.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "guest/xenbus.h"
#include "trace/trace.h"

/* ---- states (S7) ----------------------------------------------------------- */

#define MIG_NR  (MIG_FAILED + 1)

static const bool mig_next[MIG_NR][MIG_NR] = {
    [MIG_RUNNING]   = { [MIG_PARKING] = true },
    [MIG_PARKING]   = { [MIG_SUSPENDED] = true, [MIG_RUNNING] = true },
    [MIG_SUSPENDED] = { [MIG_RESUMING] = true },
    [MIG_RESUMING]  = { [MIG_RUNNING] = true, [MIG_FAILED] = true },
    [MIG_FAILED]    = { false },
};

/* The one writer of mig_state: from -> to when it is still from. */
static bool mig_move(struct guest_kernel *g, enum mig_state from,
                     enum mig_state to)
{
    int expected = (int)from;

    assert(mig_next[from][to]);
    return atomic_compare_exchange_strong(&g->mig_state, &expected, (int)to);
}

static uint64_t clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void control_path(const struct guest_kernel *g, char *path, size_t len)
{
    snprintf(path, len, "/local/domain/%u/control/shutdown", g->domid);
}

/* ---- the request (S1) ------------------------------------------------------ */

static bool request_seen(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct xenbus *xb = g->wl.xenbus;
    char path[XENBUS_PATH_MAX], val[XENBUS_VALUE_MAX];

    if (xb == NULL)
        return false;
    uint64_t ver = xenbus_version(xb);
    uint64_t seen = atomic_load(&g->mig_xb_seen);
    if (ver == seen ||
        !atomic_compare_exchange_strong(&g->mig_xb_seen, &seen, ver))
        return false;
    control_path(g, path, sizeof(path));
    return xenbus_read(xb, path, val, sizeof(val)) == 0 &&
           strcmp(val, "suspend") == 0;
}

/* ---- parking (S2, S3) ------------------------------------------------------- */

static void park(struct gcpu *c)
{
    struct guest_kernel *g = c->g;

    pt_commit(c, "suspend: queued L1 updates");
    if (c->loaded)
        mm_leave(c);
    TRC(hvlab_guest, suspend, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, 1, 0);
}

/* S3 / S4 failure: back to RUNNING, the parked vCPUs carry on. */
static void unpark(struct guest_kernel *g)
{
    atomic_store(&g->mig_parked, 0);
    mig_move(g, MIG_PARKING, MIG_RUNNING);
}

/* ---- vCPU 0's sequence (S4) ------------------------------------------------- */

/* Where a kernel writes SCHEDOP_shutdown's argument (S4). */
static uint64_t shutdown_arg_va(struct gcpu *c)
{
    struct guest_kernel *g = c->g;

    if (c->arg_va)
        return c->arg_va + ARG_EXT_OFF;
    if (g->mig_arg_pfn == INVALID_PFN)
        g->mig_arg_pfn = pfn_alloc(g, PFN_KERNEL);
    return g->mig_arg_pfn == INVALID_PFN ? 0 : dm_va(g->mig_arg_pfn);
}

static int shutdown_suspend(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct sched_shutdown ss = { .reason = SHUTDOWN_suspend };
    uint64_t va = shutdown_arg_va(c);

    if (va == 0) {
        klog(g, "vcpu %u: suspend: no page for SCHEDOP_shutdown's argument",
             c->v->vcpu_id);
        return -XEN_ENOMEM;
    }
    if (mmu_write(c->v, va, &ss, sizeof(ss)) != MMU_OK) {
        atomic_fetch_add(&g->st.kernel_oopses, 1);
        klog(g, "vcpu %u: suspend: argument at %#llx refused a kernel store",
             c->v->vcpu_id, (unsigned long long)va);
        return -XEN_EFAULT;
    }
    long rc = hypercall(c->v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, va,
                        0, 0, 0);
    if (rc < 0) {
        atomic_fetch_add(&g->st.hypercall_errors, 1);
        klog(g, "vcpu %u: suspend: SCHEDOP_shutdown failed with %ld",
             c->v->vcpu_id, rc);
        return (int)rc;
    }
    return 0;
}

/* vCPU 0, parked: wait for the others (S2), then suspend (S4).  True when
   suspended (the vCPU returns from its entry). */
static bool suspend_sequence(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    unsigned others = g->nr_vcpus ? g->nr_vcpus - 1 : 0;
    char path[XENBUS_PATH_MAX];

    for (;;) {
        if (atomic_load(&g->done)) {                    /* S3 */
            unpark(g);
            return false;
        }
        if (atomic_load(&g->mig_parked) + atomic_load(&g->mig_idle) >= others)
            break;
        hv_relax();
    }
    /* Every other vCPU parked or idle: nothing changes done any more. */
    if (atomic_load(&g->done)) {
        unpark(g);
        return false;
    }

    struct guest_resume same = {
        .cancelled = true, .host_id = g->host_id, .xenbus = g->wl.xenbus,
        .backend = g->wl.backend,
    };
    unsigned step = 0;
    int rc = gevtchn_mig_suspend(c);
    if (rc == 0) {
        step = 1;
        rc = gnttab_mig_suspend(c);
    }
    if (rc == 0) {
        step = 2;
        if (g->blkfront) {
            blkfront_mig_suspend(c);
            step = 3;
        }
        control_path(g, path, sizeof(path));
        rc = xenbus_write(g->wl.xenbus, path, "");
        if (rc)
            klog(g, "vcpu 0: suspend: acknowledging at %s failed (%d)",
                 path, rc);
    }
    if (rc == 0)
        rc = shutdown_suspend(c);
    TRC(hvlab_guest, suspend, (uint8_t)g->host_id, g->domid, 0, 2, rc);
    if (rc) {
        klog(g, "vcpu 0: suspend failed (%d): running on", rc);
        if (step >= 3)
            blkfront_mig_resume(c, &same);
        if (step >= 2)
            gnttab_mig_resume(c, true);
        if (step >= 1)
            gevtchn_mig_resume(c, true);
        unpark(g);
        return false;
    }
    g->mig_suspended_ns = clock_ns();
    g->mig_have_resume = false;
    atomic_fetch_add(&g->st.mig_suspends, 1);
    mig_move(g, MIG_PARKING, MIG_SUSPENDED);
    return true;
}

bool mig_suspend_point(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    int st = atomic_load(&g->mig_state);

    if (st == MIG_RUNNING) {
        if (atomic_load(&g->done) || !request_seen(c))
            return false;
        if (mig_move(g, MIG_RUNNING, MIG_PARKING))
            TRC(hvlab_guest, suspend, (uint8_t)g->host_id, g->domid,
                (uint16_t)c->v->vcpu_id, 0, 0);
        st = atomic_load(&g->mig_state);
    }
    if (st != MIG_PARKING)
        return false;
    park(c);
    if (c->v->vcpu_id == 0)
        return suspend_sequence(c);
    atomic_fetch_add(&g->mig_parked, 1);
    while ((st = atomic_load(&g->mig_state)) == MIG_PARKING) {
        if (atomic_load(&g->done)) {
            /* S3: vCPU 0 may have left already; it never suspends now. */
            unpark(g);
            return false;
        }
        hv_relax();
    }
    return st == MIG_SUSPENDED;
}

/* ---- resume (S5, S6) ---------------------------------------------------------- */

/* S6: every process's L4 from the p2m again. */
static int refresh_frames(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    int rc = 0;

    gspin_lock(&g->proc_lock);
    for (struct proc *p = g->all_procs; p && rc == 0; p = p->all_next) {
        if (p->l4_pfn == INVALID_PFN)
            continue;
        mfn_t mfn = pfn_to_mfn(c, p->l4_pfn);
        if (mfn == INVALID_MFN) {
            klog(g, "vcpu 0: resume: pid %u's L4 pfn %#llx has no frame",
                 p->pid, (unsigned long long)p->l4_pfn);
            rc = -XEN_EFAULT;
        } else {
            p->l4_mfn = mfn;
        }
    }
    gspin_unlock(&g->proc_lock);
    return rc;
}

static int resume_sequence(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct vcpu *v = c->v;
    const struct guest_resume r = g->mig_r;
    uint64_t nr_pages = g->nr_pages;
    pfn_t init_l4 = g->init_l4_pfn, first_free;
    int rc;

    g->domid = v->d->domid;
    vcpu_set_guest_pf_handler(v, kernel_page_fault, c);
    c->loaded = NULL;
    c->cur = NULL;
    rc = g->ops->boot_read(c, &first_free);
    if (rc == 0 && (g->nr_pages != nr_pages || g->init_l4_pfn != init_l4)) {
        klog(g, "vcpu 0: resume: start info says %llu pages and L4 pfn "
             "%#llx, the kernel had %llu and %#llx",
             (unsigned long long)g->nr_pages,
             (unsigned long long)g->init_l4_pfn,
             (unsigned long long)nr_pages, (unsigned long long)init_l4);
        rc = -XEN_EINVAL;
    }
    if (rc == 0)
        rc = refresh_frames(c);
    if (rc == 0)
        rc = gevtchn_mig_resume(c, r.cancelled);
    if (rc == 0)
        rc = gnttab_mig_resume(c, r.cancelled);
    if (rc == 0 && g->blkfront)
        rc = blkfront_mig_resume(c, &r);
    g->host_id = r.host_id;
    g->wl.xenbus = r.xenbus;
    g->wl.backend = r.backend;
    atomic_store(&g->mig_xb_seen, 0);       /* S1: look at the key again */
    g->mig_have_resume = false;
    TRC(hvlab_guest, resume, (uint8_t)g->host_id, g->domid,
        (uint8_t)r.cancelled, clock_ns() - g->mig_suspended_ns, rc);
    if (rc) {
        klog(g, "vcpu 0: resume failed (%d): the kernel stays stopped", rc);
        mig_move(g, MIG_RESUMING, MIG_FAILED);
        return rc;
    }
    atomic_store(&g->mig_parked, 0);
    atomic_store(&g->mig_idle, 0);
    c->up = true;
    atomic_fetch_add(&g->st.mig_resumes, 1);
    mig_move(g, MIG_RESUMING, MIG_RUNNING);
    return 0;
}

int mig_vcpu_entry(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    int st = atomic_load(&g->mig_state);

    if (st == MIG_RUNNING || st == MIG_PARKING)
        return 0;
    if (st == MIG_FAILED)
        return -1;
    if (!g->mig_have_resume && st == MIG_SUSPENDED) {       /* S5 */
        if (c->v->vcpu_id == 0)
            klog(g, "vcpu 0: started while suspended, with no resume: "
                 "stays stopped");
        return -1;
    }
    if (c->v->vcpu_id != 0) {
        /* Wait for vCPU 0's resume, then attach as at boot. */
        while ((st = atomic_load(&g->mig_state)) == MIG_SUSPENDED ||
               st == MIG_RESUMING)
            hv_relax();
        return st == MIG_FAILED ? -1 : 0;
    }
    if (!mig_move(g, MIG_SUSPENDED, MIG_RESUMING))
        return -1;
    return resume_sequence(c) == 0 ? 1 : -1;
}

/* ---- the public interface (guest/guest.h) ------------------------------------- */

static int kernel_resume(struct guest_kernel *g, const struct guest_resume *r)
{
    if (r == NULL || atomic_load(&g->mig_state) != MIG_SUSPENDED)
        return -XEN_EINVAL;
    g->mig_r = *r;
    g->mig_have_resume = true;
    return 0;
}

bool guest_pv_suspended(const struct guest_pv *g)
{
    struct guest_kernel *k = (struct guest_kernel *)&g->k;   /* atomics */
    return atomic_load(&k->mig_state) == MIG_SUSPENDED;
}

bool guest_hvm_suspended(const struct guest_hvm *g)
{
    struct guest_kernel *k = (struct guest_kernel *)&g->k;
    return atomic_load(&k->mig_state) == MIG_SUSPENDED;
}

/* S7: where a resume stands, for the toolstack that started it. */
static int resume_state(const struct guest_kernel *kc)
{
    struct guest_kernel *k = (struct guest_kernel *)kc;   /* atomics */
    switch (atomic_load(&k->mig_state)) {
    case MIG_SUSPENDED:
    case MIG_RESUMING:
        return 0;
    case MIG_FAILED:
        return -1;
    default:
        return 1;
    }
}

int guest_pv_resume_state(const struct guest_pv *g)
{
    return resume_state(&g->k);
}

int guest_hvm_resume_state(const struct guest_hvm *g)
{
    return resume_state(&g->k);
}

int guest_pv_resume(struct guest_pv *g, const struct guest_resume *r)
{
    return kernel_resume(&g->k, r);
}

int guest_hvm_resume(struct guest_hvm *g, const struct guest_resume *r)
{
    return kernel_resume(&g->k, r);
}

/* ---- placeholders ---------------------------------------------------------------- */

/* guest/blkfront.c provides the real blkfront hooks; these weak ones only
   keep the kernel linkable without them (the linker takes blkfront.c's). */
__attribute__((weak)) void blkfront_mig_suspend(HV_UNUSED struct gcpu *c)
{
}

__attribute__((weak)) int blkfront_mig_resume(HV_UNUSED struct gcpu *c,
                                              HV_UNUSED const struct guest_resume *r)
{
    return 0;
}
