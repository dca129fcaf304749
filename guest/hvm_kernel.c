/*
 * guest/hvm_kernel.c - the HVM kernel instance: creation, boot, vCPU entry,
 * gfns and the direct map, page-table entries, statistics and the log.
 *
 * Rules:
 *   1. vCPU 0 boots as a PVH kernel does: it reads its hvm_start_info
 *      through the MMU (the builder passes its direct-map address), checks
 *      magic and version, reads the memory map that follows it, and learns
 *      RAM size (the end of the type-1 ranges) and the boot frames (the
 *      type-2 range starting at gfn 0); its initial L4 is the gfn in its
 *      CR3 (v->guest_cr3).  Every RAM gfn above the boot frames is free.
 *   2. Every other vCPU waits for boot_state and joins the scheduler, its
 *      CR3 already at the initial L4 (the builder set it).  A vCPU with no
 *      CR3 is reported and left idle.
 *   3. Page-table entries are plain memory (hvm_private.h): hooking a new
 *      table and installing a PTE are plain stores; write-protection and
 *      clears are locked cmpxchg loops, since the MMU (hap) or the
 *      hypervisor (shadow) may set A/D bits in the entry at the same time -
 *      only A/D may change under the mm lock.
 *   4. Upper entries exist when non-zero (as in the PV kernel).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "core/domain.h"
#include "core/hvm.h"
#include "core/lock.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "trace/trace.h"      /* before the renames of hvm_private.h */
#include "guest/hvm_private.h"

static const uint8_t zero_page[PAGE_SIZE];

void klog(struct guest_hvm *g, const char *fmt, ...)
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

/* ---- gfns and the direct map ------------------------------------------------- */

bool kload(struct gcpu *c, uint64_t va, uint64_t *val)
{
    return mmu_load(c->v, va, 8, val) == MMU_OK;
}

bool kstore(struct gcpu *c, uint64_t va, uint64_t val)
{
    return mmu_store(c->v, va, 8, val) == MMU_OK;
}

mfn_t pfn_to_mfn(struct gcpu *c, pfn_t pfn)
{
    return hvm_gfn_ok(c->g, pfn) ? pfn : INVALID_MFN;
}

pfn_t mfn_to_pfn(struct gcpu *c, mfn_t gfn)
{
    if (!hvm_gfn_ok(c->g, gfn)) {
        klog(c->g, "vcpu %u: gfn %#llx in a page table is not RAM",
             c->v->vcpu_id, (unsigned long long)gfn);
        return INVALID_PFN;
    }
    return gfn;
}

pfn_t pfn_alloc(struct guest_hvm *g, enum pfn_kind kind)
{
    pfn_t pfn = INVALID_PFN;

    gspin_lock(&g->pfn_lock);
    if (g->nr_free > 0) {
        pfn = g->free_pfns[--g->nr_free];
        atomic_store(&g->pfn_kind[pfn], (uint8_t)kind);
        if (g->nr_free < g->min_free)
            g->min_free = g->nr_free;
    }
    gspin_unlock(&g->pfn_lock);
    return pfn;
}

void pfn_free(struct guest_hvm *g, pfn_t pfn)
{
    gspin_lock(&g->pfn_lock);
    if (pfn >= g->nr_pages || atomic_load(&g->pfn_kind[pfn]) == PFN_FREE ||
        atomic_load(&g->pfn_kind[pfn]) == PFN_BOOT) {
        unsigned kind = pfn < g->nr_pages ? atomic_load(&g->pfn_kind[pfn]) : 99;
        gspin_unlock(&g->pfn_lock);
        klog(g, "kernel: freeing gfn %#llx of kind %u refused",
             (unsigned long long)pfn, kind);
        return;
    }
    atomic_store(&g->pfn_kind[pfn], (uint8_t)PFN_FREE);
    atomic_store(&g->pfn_maps[pfn], 0);
    g->free_pfns[g->nr_free++] = pfn;
    gspin_unlock(&g->pfn_lock);
}

int pfn_zero(struct gcpu *c, pfn_t pfn)
{
    if (mmu_write(c->v, dm_va(pfn), zero_page, PAGE_SIZE) != MMU_OK) {
        klog(c->g, "vcpu %u: zeroing gfn %#llx through the direct map refused",
             c->v->vcpu_id, (unsigned long long)pfn);
        return -XEN_EFAULT;
    }
    return 0;
}

/* ---- page tables (rules 3, 4) ---------------------------------------------------- */

bool pt_read(struct gcpu *c, pfn_t table, unsigned slot, pte_t *e)
{
    return kload(c, dm_va(table) + slot * sizeof(pte_t), e);
}

pfn_t pt_alloc_table(struct gcpu *c, HV_UNUSED struct proc *p,
                     HV_UNUSED unsigned level)
{
    pfn_t t = pfn_alloc(c->g, PFN_TABLE);

    if (t == INVALID_PFN)
        return INVALID_PFN;
    if (pfn_zero(c, t) != 0) {
        pfn_free(c->g, t);
        return INVALID_PFN;
    }
    return t;
}

void pt_free_table(struct gcpu *c, HV_UNUSED struct proc *p, pfn_t pfn,
                   HV_UNUSED unsigned level)
{
    pfn_free(c->g, pfn);
}

int pt_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
                 const char *what)
{
    uint64_t va = dm_va(table) + slot * sizeof(pte_t);

    if (!kstore(c, va, val)) {
        klog(c->g, "vcpu %u: %s: store to %#llx refused", c->v->vcpu_id, what,
             (unsigned long long)va);
        return -XEN_EFAULT;
    }
    return 0;
}

/* Locked read-modify-write of an L1 entry (rule 3). */
static int l1e_rmw(struct gcpu *c, uint64_t va, pte_t old, pte_t val,
                   enum pte_op op)
{
    pte_t expected = old;

    for (unsigned tries = 0; tries < 64; tries++) {
        pte_t seen = expected;
        if (mmu_cmpxchg(c->v, va, 8, &seen, val) != MMU_OK)
            return -XEN_EFAULT;
        if (seen == expected)
            return 0;
        if ((seen ^ expected) & ~(pte_t)(_PAGE_ACCESSED | _PAGE_DIRTY)) {
            klog(c->g, "vcpu %u: L1 entry at %#llx changed under the mm "
                 "lock: %#llx, expected %#llx", c->v->vcpu_id,
                 (unsigned long long)va, (unsigned long long)seen,
                 (unsigned long long)expected);
            return -XEN_EIO;
        }
        expected = seen;
        if (op == PTE_OP_WRPROTECT)
            val = seen & ~(pte_t)_PAGE_RW;
    }
    return -XEN_EBUSY;
}

int pt_set_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old, pte_t val,
               enum pte_op op)
{
    uint64_t va = dm_va(l1) + slot * sizeof(pte_t);
    int rc;

    if (op == PTE_OP_WRPROTECT || op == PTE_OP_ZAP)
        rc = l1e_rmw(c, va, old, val, op);
    else
        rc = kstore(c, va, val) ? 0 : -XEN_EFAULT;
    if (rc)
        klog(c->g, "vcpu %u: store of L1 entry %#llx <- %#llx failed (%d)",
             c->v->vcpu_id, (unsigned long long)va, (unsigned long long)val, rc);
    return rc;
}

/* The HVM kernel queues nothing: there is no batch to issue. */
int pt_batch_flush(HV_UNUSED struct gcpu *c, HV_UNUSED const char *what)
{
    return 0;
}

int pt_walk(struct gcpu *c, struct proc *p, uint64_t va, bool create,
            pfn_t *l1)
{
    pfn_t table = p->l4_pfn;

    for (unsigned level = 4; level >= 2; level--) {
        unsigned slot = pt_index(va, level);
        pte_t e;
        if (!pt_read(c, table, slot, &e))
            return -XEN_EIO;
        if (e == 0) {
            if (!create)
                return -XEN_ENOENT;
            pfn_t nt = pt_alloc_table(c, p, level - 1);
            if (nt == INVALID_PFN)
                return -XEN_ENOMEM;
            if (pt_set_upper(c, table, slot, pte_make(nt, PT_TABLE_FLAGS),
                             "hooking a new table") != 0) {
                pt_free_table(c, p, nt, level - 1);
                return -XEN_EIO;
            }
            table = nt;
            continue;
        }
        pfn_t next = mfn_to_pfn(c, pte_mfn(e));
        if (next == INVALID_PFN)
            return -XEN_EIO;
        table = next;
    }
    *l1 = table;
    return 0;
}

/* ---- the instance -------------------------------------------------------------- */

struct guest_hvm *guest_hvm_new(uint64_t start_info_va,
                                const struct guest_options *opt,
                                const struct workload_params *wl)
{
    struct guest_hvm *g = calloc(1, sizeof(*g));

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

void guest_hvm_set_host(struct guest_hvm *g, unsigned host_id)
{
    g->host_id = host_id;
}

void guest_hvm_free(struct guest_hvm *g)
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

/* Rule 1: the memory map after the start info, read through the MMU. */
static int boot_memmap(struct gcpu *c, const struct hvm_start_info *si,
                       uint64_t *nr_pages, pfn_t *first_free)
{
    struct guest_hvm *g = c->g;
    uint64_t ram_end = 0, boot_end = 0;

    if (si->memmap_entries == 0 || si->memmap_entries > 128 ||
        si->memmap_paddr + si->memmap_entries *
            sizeof(struct hvm_memmap_table_entry) > PAGE_SIZE) {
        klog(g, "boot: memory map of %u entries at %#llx is not in gfn 0",
             si->memmap_entries, (unsigned long long)si->memmap_paddr);
        return -XEN_EINVAL;
    }
    for (unsigned i = 0; i < si->memmap_entries; i++) {
        struct hvm_memmap_table_entry e;
        uint64_t va = dm_va(0) + si->memmap_paddr + i * sizeof(e);
        if (mmu_read(c->v, va, &e, sizeof(e)) != MMU_OK) {
            klog(g, "boot: memory map entry %u unreadable", i);
            return -XEN_EFAULT;
        }
        uint64_t end = (e.addr + e.size) >> PAGE_SHIFT;
        if (e.type == XEN_HVM_MEMMAP_TYPE_RAM && end > ram_end)
            ram_end = end;
        if (e.type == XEN_HVM_MEMMAP_TYPE_RESERVED && e.addr == 0)
            boot_end = end;
        if (end > ram_end && e.type == XEN_HVM_MEMMAP_TYPE_RESERVED)
            ram_end = end;
    }
    if (boot_end == 0 || boot_end >= ram_end) {
        klog(g, "boot: memory map leaves no free RAM (boot frames end at gfn "
             "%#llx, RAM at %#llx)", (unsigned long long)boot_end,
             (unsigned long long)ram_end);
        return -XEN_EINVAL;
    }
    *nr_pages = ram_end;
    *first_free = boot_end;
    return 0;
}

static int boot_memory(struct gcpu *c, pfn_t first_free)
{
    struct guest_hvm *g = c->g;
    uint64_t n = g->nr_pages;

    g->free_pfns = calloc(n, sizeof(*g->free_pfns));
    g->pfn_maps = calloc(n, sizeof(*g->pfn_maps));
    g->pfn_kind = calloc(n, sizeof(*g->pfn_kind));
    if (!g->free_pfns || !g->pfn_maps || !g->pfn_kind)
        return -XEN_ENOMEM;
    for (pfn_t pfn = 0; pfn < first_free; pfn++)
        atomic_store(&g->pfn_kind[pfn], (uint8_t)PFN_BOOT);
    for (pfn_t pfn = n; pfn-- > first_free; )
        g->free_pfns[g->nr_free++] = pfn;
    g->min_free = g->nr_free;
    return 0;
}

static int boot(struct gcpu *c)
{
    struct guest_hvm *g = c->g;
    struct vcpu *v = c->v;
    struct hvm_start_info si;
    pfn_t first_free;
    int rc;

    v->in_kernel = true;
    if (mmu_read(v, g->start_info_va, &si, sizeof(si)) != MMU_OK) {
        klog(g, "boot: hvm_start_info at %#llx unreadable",
             (unsigned long long)g->start_info_va);
        return -XEN_EFAULT;
    }
    if (si.magic != XEN_HVM_START_MAGIC_VALUE || si.version < 1) {
        klog(g, "boot: hvm_start_info magic %#x version %u is not PVH's",
             si.magic, si.version);
        return -XEN_EINVAL;
    }
    rc = boot_memmap(c, &si, &g->nr_pages, &first_free);
    if (rc)
        return rc;
    g->init_l4_pfn = v->guest_cr3 >> PAGE_SHIFT;
    g->init_l4_mfn = g->init_l4_pfn;
    if (g->init_l4_pfn >= first_free) {
        klog(g, "boot: CR3 %#llx is not a boot frame",
             (unsigned long long)v->guest_cr3);
        return -XEN_EINVAL;
    }
    rc = boot_memory(c, first_free);
    if (rc)
        return rc;
    vcpu_set_guest_pf_handler(v, guest_hvm_page_fault, c);
    c->loaded = NULL;
    c->up = true;
    workload_start(c);
    return 0;
}

void guest_hvm_vcpu_main(struct vcpu *v, void *arg)
{
    struct guest_hvm *g = arg;
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
        if ((v->guest_cr3 >> PAGE_SHIFT) != g->init_l4_pfn) {
            atomic_fetch_add(&g->st.kernel_oopses, 1);
            klog(g, "vcpu %u: started with CR3 %#llx, not the initial L4: "
                 "not brought up", v->vcpu_id,
                 (unsigned long long)v->guest_cr3);
            return;
        }
        vcpu_set_guest_pf_handler(v, guest_hvm_page_fault, c);
        c->loaded = NULL;
        c->up = true;
    }
    if (atomic_load(&g->boot_state) > 0)
        sched_loop(c);
}

void guest_hvm_stats(const struct guest_hvm *g, struct guest_stats *out)
{
    struct guest_hvm *m = (struct guest_hvm *)g;   /* atomics need non-const */

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

void guest_hvm_report(const struct guest_hvm *g, FILE *f)
{
    struct guest_hvm *m = (struct guest_hvm *)g;

    if (atomic_load(&m->boot_state) < 0)
        fprintf(f, "guest d%u: boot failed\n", g->domid);
    gspin_lock(&m->log_lock);
    for (unsigned i = 0; i < m->log_n; i++)
        fprintf(f, "guest d%u: %s\n", g->domid, m->log[i]);
    if (m->log_dropped)
        fprintf(f, "guest d%u: ... and %u more\n", g->domid, m->log_dropped);
    gspin_unlock(&m->log_lock);
}
