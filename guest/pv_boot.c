/*
 * guest/pv_boot.c - the PV kernel instance: creation, boot, vCPU entry,
 * statistics and the failure log.
 *
 * Rules:
 *   1. vCPU 0 boots, as a PV Linux does at its entry point: read start_info
 *      through the MMU (the builder passes its virtual address), check the
 *      magic, learn nr_pages, the p2m list and the bootstrap tables, build
 *      the pfn allocator over the free pfns, register the #PF handler,
 *      enable VMASST_TYPE_writable_pagetables, pin the initial L4, start
 *      the workload's processes.  boot_state then says 1 (or -1: failed).
 *   2. Every other vCPU waits for boot_state, registers its #PF handler,
 *      loads the kernel root with MMUEXT_NEW_BASEPTR and joins the
 *      scheduler.  A vCPU the builder gave no root (CR3 invalid) cannot
 *      make a hypercall; it is reported and stays idle (guest/guest.h).
 *   3. Each vCPU owns ARG_PAGES pages (kind PFN_KERNEL) as its hypercall
 *      argument area, carved out of the free pfns at boot.
 *   4. The failure log keeps the first LOG_MAX lines and counts the rest.
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

void klog(struct guest_pv *g, const char *fmt, ...)
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

struct guest_pv *guest_pv_new(uint64_t start_info_va,
                              const struct guest_options *opt,
                              const struct workload_params *wl)
{
    struct guest_pv *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->start_info_va = start_info_va;
    if (opt)
        g->opt = *opt;
    else
        guest_options_default(&g->opt);
    if (wl)
        g->wl = *wl;
    g->init_l4_pfn = INVALID_PFN;
    g->init_l4_mfn = INVALID_MFN;
    for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
        g->cpu[i].g = g;
    return g;
}

void guest_pv_set_host(struct guest_pv *g, unsigned host_id)
{
    g->host_id = host_id;
}

void guest_pv_free(struct guest_pv *g)
{
    if (!g)
        return;
    for (struct proc *p = g->all_procs, *next; p; p = next) {
        next = p->all_next;
        free(p->threads);
        free(p);
    }
    free(g->free_pfns);
    free((void *)g->pfn_maps);
    free((void *)g->pfn_kind);
    free(g);
}

/* Rule 1: the pfn allocator and argument areas over the free pfns. */
static int boot_memory(struct gcpu *c, pfn_t first_free)
{
    struct guest_pv *g = c->g;
    uint64_t n = g->nr_pages;
    uint64_t arg_pfns = (uint64_t)g->nr_vcpus * ARG_PAGES;

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
    /* Rule 3. */
    for (unsigned i = 0; i < g->nr_vcpus; i++) {
        pfn_t base = first_free + (pfn_t)i * ARG_PAGES;
        for (unsigned k = 0; k < ARG_PAGES; k++)
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
    struct guest_pv *g = c->g;
    struct vcpu *v = c->v;
    start_info_t si;

    v->in_kernel = true;
    if (mmu_read(v, g->start_info_va, &si, sizeof(si)) != MMU_OK) {
        klog(g, "boot: start_info at %#llx unreadable",
             (unsigned long long)g->start_info_va);
        return -XEN_EFAULT;
    }
    if (strncmp(si.magic, "xen-", 4) != 0) {
        klog(g, "boot: start_info magic '%.8s' is not a Xen one", si.magic);
        return -XEN_EINVAL;
    }
    if (si.pt_base < GUEST_DIRECTMAP_BASE ||
        ((si.pt_base - GUEST_DIRECTMAP_BASE) >> PAGE_SHIFT) >= si.nr_pages ||
        si.mfn_list < GUEST_DIRECTMAP_BASE) {
        klog(g, "boot: start_info pt_base %#lx / mfn_list %#lx outside the "
             "direct map of %lu pages", si.pt_base, si.mfn_list, si.nr_pages);
        return -XEN_EINVAL;
    }
    g->nr_pages = si.nr_pages;
    g->p2m_va = si.mfn_list;
    g->init_l4_pfn = (si.pt_base - GUEST_DIRECTMAP_BASE) >> PAGE_SHIFT;
    g->init_l4_mfn = pfn_to_mfn(c, g->init_l4_pfn);
    if (g->init_l4_mfn == INVALID_MFN) {
        klog(g, "boot: p2m list at %#lx unreadable", si.mfn_list);
        return -XEN_EFAULT;
    }
    int rc = boot_memory(c, g->init_l4_pfn + si.nr_pt_frames);
    if (rc)
        return rc;

    vcpu_set_guest_pf_handler(v, guest_pv_page_fault, c);
    if (hc_vm_assist(c, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables,
                     "boot: enabling writable pagetables") != 0)
        return -XEN_EINVAL;
    if (hc_mmuext1(c, MMUEXT_PIN_L4_TABLE, g->init_l4_mfn, 0,
                   "boot: pinning the initial L4") != 0)
        return -XEN_EINVAL;
    c->up = true;
    workload_start(c);
    return 0;
}

void guest_pv_vcpu_main(struct vcpu *v, void *arg)
{
    struct guest_pv *g = arg;
    struct gcpu *c;

    if (v->vcpu_id >= HV_MAX_VCPUS)
        return;
    c = &g->cpu[v->vcpu_id];
    c->v = v;
    v->in_kernel = true;

    if (v->vcpu_id == 0) {
        g->domid = v->d->domid;
        g->nr_vcpus = v->d->nr_vcpus;
        atomic_store(&g->boot_state, boot(c) == 0 ? 1 : -1);
    } else {
        while (atomic_load(&g->boot_state) == 0)
            hv_relax();
        if (atomic_load(&g->boot_state) < 0)
            return;
        /* Rule 2. */
        if (v->cr3 == INVALID_MFN) {
            atomic_fetch_add(&g->st.hypercall_errors, 1);
            klog(g, "vcpu %u: started without a kernel root: not brought up",
                 v->vcpu_id);
            return;
        }
        vcpu_set_guest_pf_handler(v, guest_pv_page_fault, c);
        if (hc_mmuext1(c, MMUEXT_NEW_BASEPTR, g->init_l4_mfn, 0,
                       "loading the kernel root") != 0)
            return;
        c->loaded = NULL;
        c->up = true;
    }
    if (atomic_load(&g->boot_state) > 0)
        sched_loop(c);
}

void guest_pv_stats(const struct guest_pv *g, struct guest_stats *out)
{
    struct guest_pv *m = (struct guest_pv *)g;   /* atomics need non-const */

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
}

void guest_pv_report(const struct guest_pv *g, FILE *f)
{
    struct guest_pv *m = (struct guest_pv *)g;

    if (atomic_load(&m->boot_state) < 0)
        fprintf(f, "guest d%u: boot failed\n", g->domid);
    gspin_lock(&m->log_lock);
    for (unsigned i = 0; i < m->log_n; i++)
        fprintf(f, "guest d%u: %s\n", g->domid, m->log[i]);
    if (m->log_dropped)
        fprintf(f, "guest d%u: ... and %u more\n", g->domid, m->log_dropped);
    gspin_unlock(&m->log_lock);
}
