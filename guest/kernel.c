/*
 * guest/kernel.c - the kernel instance, for both guest kinds: creation,
 * boot, vCPU entry, statistics and the failure log.
 *
 * Rules:
 *   1. vCPU 0 boots: it reads its start info (ops->boot_read: PV start_info
 *      or PVH hvm_start_info, through the MMU at the address the builder
 *      passed), builds the pfn allocator over the free frames, registers
 *      the #PF handler, finishes the kind's boot (ops->boot_finish: PV
 *      enables writable pagetables and pins the initial L4) and starts the
 *      workload's processes.  boot_state then says 1 (or -1: failed).
 *   2. Every other vCPU waits for boot_state, is attached by its kind
 *      (ops->cpu_attach: its root checked, its #PF handler registered, PV
 *      loads the kernel root) and joins the scheduler.  A vCPU the builder
 *      gave no usable root is reported and stays idle (guest/guest.h).
 *   3. A PV vCPU owns ARG_PAGES pages (kind PFN_KERNEL) as its hypercall
 *      argument area, carved out of the free pfns at boot
 *      (ops->arg_pages; an HVM kernel has none).
 *   4. The failure log keeps the first LOG_MAX lines and counts the rest.
 *   5. A suspended kernel's vCPU entries resume instead of booting
 *      (mig_vcpu_entry, guest/suspend.c S5-S6); a vCPU other than 0 that
 *      does not reach the scheduler counts itself idle (mig_idle), so a
 *      suspend does not wait for it to park.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/domain.h"
#include "core/lock.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

void klog(struct guest_kernel *g, const char *fmt, ...)
{
    va_list ap;

    gspin_lock(&g->log_lock);
    if (g->log_n < LOG_MAX) {
        va_start(ap, fmt);
        vsnprintf(g->log[g->log_n], LOG_LINE, fmt, ap);
        va_end(ap);
        g->log_n++;
    } else {
        g->log_dropped++;
    }
    gspin_unlock(&g->log_lock);
}

void kernel_init(struct guest_kernel *g, const struct kernel_paging_ops *ops,
                 uint64_t start_info_va, const struct guest_options *opt,
                 const struct workload_params *wl)
{
    g->ops = ops;
    g->start_info_va = start_info_va;
    if (opt)
        g->opt = *opt;
    else
        guest_options_default(&g->opt);
    if (wl)
        g->wl = *wl;
    g->init_l4_pfn = INVALID_PFN;
    g->init_l4_mfn = INVALID_MFN;
    g->mig_arg_pfn = INVALID_PFN;
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        g->cpu[i].g = g;
}

void kernel_destroy(struct guest_kernel *g)
{
    for (struct proc *p = g->all_procs, *next; p; p = next) {
        next = p->all_next;
        free(p->threads);
        free(p);
    }
    p2m_race_free(g);
    blkfront_free(g);
    blkback_free(g);
    gnttab_free(g);
    gevtchn_free(g);
    pt_reuse_free(g);
    free(g->free_pfns);
    free((void *)g->pfn_maps);
    free((void *)g->pfn_kind);
}

/* Rules 1, 3: the pfn allocator and argument areas over the free pfns. */
static int boot_memory(struct gcpu *c, pfn_t first_free)
{
    struct guest_kernel *g = c->g;
    uint64_t n = g->nr_pages;
    unsigned arg_pages = g->ops->arg_pages;
    uint64_t arg_pfns = (uint64_t)g->nr_vcpus * arg_pages;

    if (first_free + arg_pfns >= n) {
        klog(g, "boot: %llu pages leave no free memory after the %llu boot "
             "frames", (unsigned long long)n, (unsigned long long)first_free);
        return -XEN_ENOMEM;
    }
    g->free_pfns = calloc(n, sizeof(*g->free_pfns));
    g->pfn_maps = calloc(n, sizeof(*g->pfn_maps));
    g->pfn_kind = calloc(n, sizeof(*g->pfn_kind));
    if (!g->free_pfns || !g->pfn_maps || !g->pfn_kind)
        return -XEN_ENOMEM;
    for (pfn_t pfn = 0; pfn < first_free; pfn++)
        atomic_store(&g->pfn_kind[pfn], (uint8_t)PFN_BOOT);
    for (unsigned i = 0; arg_pages && i < g->nr_vcpus; i++) {
        pfn_t base = first_free + (pfn_t)i * arg_pages;
        for (unsigned k = 0; k < arg_pages; k++)
            atomic_store(&g->pfn_kind[base + k], (uint8_t)PFN_KERNEL);
        g->cpu[i].arg_va = dm_va(base);
    }
    /* Lowest pfns on top of the stack: handed out first. */
    for (pfn_t pfn = n; pfn-- > first_free + arg_pfns; )
        g->free_pfns[g->nr_free++] = pfn;
    g->min_free = g->nr_free;
    return 0;
}

/* Rule 1. */
static int boot(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct vcpu *v = c->v;
    pfn_t first_free;
    int rc;

    v->in_kernel = true;
    rc = g->ops->boot_read(c, &first_free);
    if (rc)
        return rc;
    rc = boot_memory(c, first_free);
    if (rc)
        return rc;
    vcpu_set_guest_pf_handler(v, kernel_page_fault, c);
    if (g->ops->boot_finish && g->ops->boot_finish(c) != 0)
        return -XEN_EINVAL;
    c->loaded = NULL;
    c->up = true;
    workload_start(c);
    return 0;
}

void kernel_vcpu_main(struct vcpu *v, struct guest_kernel *g)
{
    struct gcpu *c;

    if (v->vcpu_id >= HV_MAX_VCPUS)
        return;
    c = &g->cpu[v->vcpu_id];
    c->v = v;
    v->in_kernel = true;

    int mig = mig_vcpu_entry(c);        /* suspend.c: a suspended kernel */
    if (mig < 0)
        return;
    if (mig > 0) {
        sched_loop(c);
        return;
    }
    if (v->vcpu_id == 0) {
        g->domid = v->d->domid;
        g->nr_vcpus = v->d->nr_vcpus;
        atomic_store(&g->boot_state, boot(c) == 0 ? 1 : -1);
    } else {
        while (atomic_load(&g->boot_state) == 0)
            hv_relax();
        if (atomic_load(&g->boot_state) < 0) {
            atomic_fetch_add(&g->mig_idle, 1);
            return;
        }
        /* Rule 2. */
        if (g->ops->cpu_attach(c) != 0) {
            atomic_fetch_add(&g->mig_idle, 1);
            return;
        }
        c->loaded = NULL;
        c->up = true;
    }
    if (atomic_load(&g->boot_state) > 0)
        sched_loop(c);
}

void kernel_stats(const struct guest_kernel *g, struct guest_stats *out)
{
    struct guest_kernel *m = (struct guest_kernel *)g;  /* atomics need non-const */

    memset(out, 0, sizeof(*out));
    out->faults_delivered = atomic_load(&m->st.faults_delivered);
    out->spurious_seen = atomic_load(&m->st.spurious_seen);
    out->spurious_fatal = atomic_load(&m->st.spurious_fatal);
    out->procs_killed = atomic_load(&m->st.procs_killed);
    out->forks = atomic_load(&m->st.forks);
    out->exits = atomic_load(&m->st.exits);
    out->pages_touched = atomic_load(&m->st.pages_touched);
    out->verify_failures = atomic_load(&m->st.verify_failures);
    out->hypercall_errors = atomic_load(&m->st.hypercall_errors);
    out->kernel_oopses = atomic_load(&m->st.kernel_oopses);
    out->stale_foreign_maps = atomic_load(&m->st.stale_foreign_maps);
    out->blk_ops = atomic_load(&m->st.blk_ops);
    out->blk_bytes = atomic_load(&m->st.blk_bytes);
    out->blk_verify_failures = atomic_load(&m->st.blk_verify_failures);
    out->blk_busy_grants = atomic_load(&m->st.blk_busy_grants);
    out->blk_suspends = atomic_load(&m->st.blk_suspends);
    out->blk_suspend_inflight = atomic_load(&m->st.blk_suspend_inflight);
    out->blk_grants_busy_at_suspend =
        atomic_load(&m->st.blk_grants_busy_at_suspend);
    memcpy(out->blk_busy_ref, m->st.blk_busy_ref, sizeof(out->blk_busy_ref));
    memcpy(out->blk_busy_frame, m->st.blk_busy_frame,
           sizeof(out->blk_busy_frame));
    memcpy(out->blk_busy_flags, m->st.blk_busy_flags,
           sizeof(out->blk_busy_flags));
    out->poc_vulnerable = atomic_load(&m->st.poc_vulnerable);
    out->ql_reuses = atomic_load(&m->st.ql_reuses);
    out->ql_released = atomic_load(&m->st.ql_released);
    out->balloon_out = atomic_load(&m->st.balloon_out);
    out->balloon_in = atomic_load(&m->st.balloon_in);
    out->mig_suspends = atomic_load(&m->st.mig_suspends);
    out->mig_resumes = atomic_load(&m->st.mig_resumes);
}

void kernel_report(const struct guest_kernel *g, FILE *f)
{
    struct guest_kernel *m = (struct guest_kernel *)g;

    if (atomic_load(&m->boot_state) < 0)
        fprintf(f, "guest d%u: boot failed\n", g->domid);
    gspin_lock(&m->log_lock);
    for (unsigned i = 0; i < m->log_n; i++)
        fprintf(f, "guest d%u: %s\n", g->domid, m->log[i]);
    if (m->log_dropped)
        fprintf(f, "guest d%u: ... and %u more\n", g->domid, m->log_dropped);
    gspin_unlock(&m->log_lock);
}

/* ---- the public interface of guest/guest.h: one kernel core per kind ------- */

static void *kernel_new(size_t size, const struct kernel_paging_ops *ops,
                        uint64_t start_info_va, const struct guest_options *opt,
                        const struct workload_params *wl)
{
    struct guest_kernel *k = calloc(1, size);   /* k is the first member */

    if (k)
        kernel_init(k, ops, start_info_va, opt, wl);
    return k;
}

struct guest_pv *guest_pv_new(uint64_t start_info_va,
                              const struct guest_options *opt,
                              const struct workload_params *wl)
{
    return kernel_new(sizeof(struct guest_pv), &pv_paging_ops, start_info_va,
                      opt, wl);
}

struct guest_hvm *guest_hvm_new(uint64_t start_info_va,
                                const struct guest_options *opt,
                                const struct workload_params *wl)
{
    return kernel_new(sizeof(struct guest_hvm), &hvm_paging_ops,
                      start_info_va, opt, wl);
}

void guest_pv_free(struct guest_pv *g)
{
    if (g)
        kernel_destroy(&g->k);
    free(g);
}

void guest_hvm_free(struct guest_hvm *g)
{
    if (g)
        kernel_destroy(&g->k);
    free(g);
}

void guest_pv_set_host(struct guest_pv *g, unsigned host_id)
{
    g->k.host_id = host_id;
}

void guest_hvm_set_host(struct guest_hvm *g, unsigned host_id)
{
    g->k.host_id = host_id;
}

void guest_pv_vcpu_main(struct vcpu *v, void *guest_pv)
{
    kernel_vcpu_main(v, &((struct guest_pv *)guest_pv)->k);
}

void guest_hvm_vcpu_main(struct vcpu *v, void *guest_hvm)
{
    kernel_vcpu_main(v, &((struct guest_hvm *)guest_hvm)->k);
}

void guest_pv_stats(const struct guest_pv *g, struct guest_stats *out)
{
    kernel_stats(&g->k, out);
}

void guest_hvm_stats(const struct guest_hvm *g, struct guest_stats *out)
{
    kernel_stats(&g->k, out);
}

void guest_pv_report(const struct guest_pv *g, FILE *f)
{
    kernel_report(&g->k, f);
}

void guest_hvm_report(const struct guest_hvm *g, FILE *f)
{
    kernel_report(&g->k, f);
}
