/*
 * guest/hvm_kernel.c - what is HVM about the HVM kernel: its paging ops
 * (struct kernel_paging_ops).  Everything else is the shared kernel core,
 * so a scenario can swap kind=pv for kind=hvm and run exactly the same
 * programs.
 *
 * Rules:
 *   1. Page tables hold guest frame numbers: the frame of pfn p is gfn p,
 *      on RAM (there is no p2m list and no M2P to read).
 *   2. Every table is ordinary, writable memory of the direct map (an HVM
 *      guest may map its own tables writable - the hypervisor copes, by
 *      shadowing or by nested paging): nothing to seal, release or pin.
 *      Hooking a table and installing a PTE are plain stores; write-
 *      protection and clears are locked cmpxchg loops (pagetable.c rule
 *      4).  Nothing is queued.
 *   3. CR3 loads are hvm_set_cr3(); flushes are hvm_invlpg() /
 *      hvm_flush_tlb() on this vCPU and the MMU's remote flush request on
 *      the other vCPUs of the mm (private.h H1).  No page-table hypercall.
 *   4. Boot as a PVH kernel does: read the hvm_start_info through the MMU
 *      (the builder passes its direct-map address), check magic and
 *      version, read the memory map that follows it, and learn RAM size
 *      (the end of the type-1 ranges) and the boot frames (the type-2 range
 *      starting at gfn 0); the initial L4 is the gfn in CR3
 *      (v->guest_cr3).  Every RAM gfn above the boot frames is free.
 *   5. Every other vCPU starts with its CR3 already at the initial L4 (the
 *      builder set it); one that does not is reported and left idle.
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "core/hvm.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

/* ---- frame numbers (rule 1) ---------------------------------------------------- */

static mfn_t hvm_pfn_to_gfn(struct gcpu *c, pfn_t pfn)
{
    return pfn < c->g->nr_pages ? pfn : INVALID_MFN;
}

static pfn_t hvm_gfn_to_pfn(struct gcpu *c, mfn_t gfn)
{
    if (gfn >= c->g->nr_pages) {
        klog(c->g, "vcpu %u: gfn %#llx in a page table is not RAM",
             c->v->vcpu_id, (unsigned long long)gfn);
        return INVALID_PFN;
    }
    return gfn;
}

/* ---- entries (rule 2) ------------------------------------------------------------- */

static int hvm_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
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

/* ---- roots and TLBs (rule 3) ------------------------------------------------------ */

static int hvm_load_root(struct gcpu *c, struct proc *p)
{
    pfn_t root = p ? p->l4_pfn : c->g->init_l4_pfn;

    if (hvm_set_cr3(c->v, (uint64_t)root << PAGE_SHIFT) != 0) {
        klog(c->g, "vcpu %u: MOV to CR3 %#llx refused", c->v->vcpu_id,
             (unsigned long long)root << PAGE_SHIFT);
        return -XEN_EINVAL;
    }
    return 0;
}

static void hvm_flush_local_va(struct gcpu *c, uint64_t va)
{
    hvm_invlpg(c->v, va);
}

/* The other vCPUs of p's cpumask, as remote flush targets (H1). */
static unsigned remote_targets(struct gcpu *c, struct proc *p,
                               struct vcpu **out)
{
    struct guest_kernel *g = c->g;
    uint64_t mask = atomic_load(&p->cpumask) & ~vcpu_bit(c);
    unsigned n = 0;

    for (unsigned i = 0; i < g->nr_vcpus && i < HV_MAX_VCPUS; i++)
        if ((mask & (1ULL << i)) && g->cpu[i].v)
            out[n++] = g->cpu[i].v;
    return n;
}

static void hvm_flush_va(struct gcpu *c, struct proc *p, uint64_t va)
{
    struct vcpu *t[HV_MAX_VCPUS];
    unsigned n = remote_targets(c, p, t);

    if (c->loaded == p)
        hvm_invlpg(c->v, va);
    if (n)
        mmu_request_flush_many(t, n, va);
}

static void hvm_flush_all(struct gcpu *c, struct proc *p)
{
    struct vcpu *t[HV_MAX_VCPUS];
    unsigned n = remote_targets(c, p, t);

    if (c->loaded == p)
        hvm_flush_tlb(c->v);
    if (n)
        mmu_request_flush_many(t, n, MMU_FLUSH_ALL_VA);
}

/* ---- boot (rules 4, 5) ------------------------------------------------------------ */

/* The memory map after the start info, read through the MMU. */
static int boot_memmap(struct gcpu *c, const struct hvm_start_info *si,
                       uint64_t *nr_pages, pfn_t *first_free)
{
    struct guest_kernel *g = c->g;
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

static int hvm_boot_read(struct gcpu *c, pfn_t *first_free)
{
    struct guest_kernel *g = c->g;
    struct vcpu *v = c->v;
    struct hvm_start_info si;
    int rc;

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
    rc = boot_memmap(c, &si, &g->nr_pages, first_free);
    if (rc)
        return rc;
    g->init_l4_pfn = v->guest_cr3 >> PAGE_SHIFT;
    g->init_l4_mfn = g->init_l4_pfn;
    if (g->init_l4_pfn >= *first_free) {
        klog(g, "boot: CR3 %#llx is not a boot frame",
             (unsigned long long)v->guest_cr3);
        return -XEN_EINVAL;
    }
    return 0;
}

static int hvm_cpu_attach(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct vcpu *v = c->v;

    if ((v->guest_cr3 >> PAGE_SHIFT) != g->init_l4_pfn) {
        atomic_fetch_add(&g->st.kernel_oopses, 1);
        klog(g, "vcpu %u: started with CR3 %#llx, not the initial L4: "
             "not brought up", v->vcpu_id,
             (unsigned long long)v->guest_cr3);
        return -XEN_EINVAL;
    }
    vcpu_set_guest_pf_handler(v, kernel_page_fault, c);
    return 0;
}

/* NULL hooks: nothing to seal, release, pin or queue (rule 2). */
const struct kernel_paging_ops hvm_paging_ops = {
    .frame_word     = "gfn",
    .arg_pages      = 0,
    .boot_read      = hvm_boot_read,
    .cpu_attach     = hvm_cpu_attach,
    .pfn_to_frame   = hvm_pfn_to_gfn,
    .frame_to_pfn   = hvm_gfn_to_pfn,
    .set_upper      = hvm_set_upper,
    .set_l1e        = pt_store_l1e,
    .load_root      = hvm_load_root,
    .flush_local_va = hvm_flush_local_va,
    .flush_va       = hvm_flush_va,
    .flush_all      = hvm_flush_all,
};
