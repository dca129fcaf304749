/*
 * guest/pv_kernel.c - what is PV about the PV kernel: its paging ops
 * (struct kernel_paging_ops).  Everything else is the shared kernel core.
 *
 * Rules:
 *   1. The kernel writes machine frame numbers into its PTEs, as a PV Linux
 *      does: pfn -> mfn through the p2m list the builder placed in guest
 *      memory (si.mfn_list), mfn -> pfn through the M2P the hypervisor maps
 *      read-only at MACH2PHYS_VIRT_START, cross-checked against the p2m.
 *      Both are read through the MMU, never cached in C.
 *   2. (K2) A table frame is made read-only in the direct map
 *      (update_va_mapping of its direct-map PTE, as Linux's
 *      make_lowmem_page_readonly) when it is sealed, and writable again when
 *      it is released.  The direct-map PTE of a pfn keeps the flags the
 *      builder gave it; only RW changes.  A process's L4 is pinned
 *      (MMUEXT_PIN_L4_TABLE) for its life.
 *   3. (K3) Upper entries (L2-L4) change only by mmu_update, one request,
 *      issued after any queued L1 requests.  L1 entries of live tables go
 *      through the path guest.pt_updates asks for:
 *        writable   : stores into the read-only L1 (the hypervisor traps and
 *                     emulates them, or unhooks the L1 in Xen 3.0's mode);
 *                     read-modify-writes use a locked cmpxchg;
 *        mmu_update : queued requests, PRESERVE_AD for write-protection;
 *        mixed      : Linux's choice - single-entry sets (faults, COW) by
 *                     mmu_update, fork's write-protect and munmap's clears
 *                     by locked stores trapped by writable pagetables.
 *   4. Roots load with MMUEXT_NEW_BASEPTR; TLB shootdowns go to the mm's
 *      cpumask as MMUEXT_TLB_FLUSH_MULTI / MMUEXT_INVLPG_MULTI, local
 *      flushes as MMUEXT_INVLPG_LOCAL.
 *   5. Boot, as a PV Linux does at its entry point: read start_info through
 *      the MMU (the builder passes its virtual address), check the magic,
 *      learn nr_pages, the p2m list and the bootstrap tables; after the
 *      allocator is built, enable VMASST_TYPE_writable_pagetables and pin
 *      the initial L4.  Other vCPUs load the kernel root with
 *      MMUEXT_NEW_BASEPTR; one the builder gave no root (CR3 invalid)
 *      cannot make a hypercall, and is reported and left idle.
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

/* ---- frame numbers (rule 1) -------------------------------------------------- */

static mfn_t pv_pfn_to_mfn(struct gcpu *c, pfn_t pfn)
{
    uint64_t mfn;

    if (pfn >= c->g->nr_pages)
        return INVALID_MFN;
    if (!kload(c, c->g->p2m_va + pfn * sizeof(xen_pfn_t), &mfn))
        return INVALID_MFN;
    return mfn;
}

static pfn_t pv_mfn_to_pfn(struct gcpu *c, mfn_t mfn)
{
    uint64_t pfn;

    if (!kload(c, MACH2PHYS_VIRT_START + mfn * sizeof(uint64_t), &pfn)) {
        klog(c->g, "vcpu %u: M2P entry of mfn %#llx unreadable",
             c->v->vcpu_id, (unsigned long long)mfn);
        return INVALID_PFN;
    }
    /* An M2P entry is only trusted when the p2m agrees. */
    if (pfn >= c->g->nr_pages || pv_pfn_to_mfn(c, pfn) != mfn) {
        klog(c->g, "vcpu %u: mfn %#llx: M2P says pfn %#llx, p2m disagrees",
             c->v->vcpu_id, (unsigned long long)mfn, (unsigned long long)pfn);
        return INVALID_PFN;
    }
    return pfn;
}

/* ---- table frames (rule 2) ----------------------------------------------------- */

int pv_dm_pte(struct gcpu *c, pfn_t pfn, pte_t *out)
{
    uint64_t va = dm_va(pfn);
    pfn_t table = c->g->init_l4_pfn;

    for (unsigned level = 4; level >= 1; level--) {
        pte_t e;
        if (!pt_read(c, table, pt_index(va, level), &e))
            return -XEN_EFAULT;
        if (!pte_present(e))
            return -XEN_ENOENT;
        if (level == 1) {
            *out = e;
            return 0;
        }
        table = pv_mfn_to_pfn(c, pte_mfn(e));
        if (table == INVALID_PFN)
            return -XEN_EIO;
    }
    return -XEN_EIO;
}

static int dm_set_rw(struct gcpu *c, pfn_t pfn, bool rw)
{
    pte_t e;
    int rc = pv_dm_pte(c, pfn, &e);

    if (rc) {
        klog(c->g, "vcpu %u: direct-map PTE of pfn %#llx not found (%d)",
             c->v->vcpu_id, (unsigned long long)pfn, rc);
        return rc;
    }
    pte_t ne = rw ? (e | _PAGE_RW) : (e & ~_PAGE_RW);
    if (ne == e)
        return 0;
    /* The local stale entry goes now; other vCPUs' stale writable entries
       are the hypervisor's to flush when the frame changes type. */
    return (int)hc_uva(c, dm_va(pfn), ne, UVMF_INVLPG | UVMF_LOCAL,
                       rw ? "direct map: table frame made writable"
                          : "direct map: table frame made read-only");
}

static int pv_table_seal(struct gcpu *c, HV_UNUSED struct proc *p, pfn_t pfn,
                         HV_UNUSED unsigned level)
{
    int rc = dm_set_rw(c, pfn, false);
    if (rc == 0)
        TRC(hvlab_guest, pt_alloc, (uint8_t)c->g->host_id, c->g->domid,
            p ? p->pid : 0, (uint8_t)level, pfn, pv_pfn_to_mfn(c, pfn));
    return rc;
}

static int pv_table_release(struct gcpu *c, struct proc *p, pfn_t pfn,
                            unsigned level)
{
    struct guest_kernel *g = c->g;
    int rc = dm_set_rw(c, pfn, true);

    if (rc != 0) {
        klog(g, "pid %u: L%u table pfn %#llx could not be made writable: "
             "leaked", p ? p->pid : 0, level, (unsigned long long)pfn);
        return rc;
    }
    TRC(hvlab_guest, pt_free, (uint8_t)g->host_id, g->domid,
        p ? p->pid : 0, (uint8_t)level, pfn, pv_pfn_to_mfn(c, pfn));
    return 0;
}

static int pv_root_pin(struct gcpu *c, struct proc *p)
{
    return (int)hc_mmuext1(c, MMUEXT_PIN_L4_TABLE, p->l4_mfn, 0,
                           "pinning a process L4");
}

static int pv_root_unpin(struct gcpu *c, struct proc *p)
{
    return (int)hc_mmuext1(c, MMUEXT_UNPIN_TABLE, p->l4_mfn, 0,
                           "unpinning an exiting process's L4");
}

/* ---- entries (rule 3) ------------------------------------------------------------ */

static uint64_t entry_maddr(struct gcpu *c, pfn_t table, unsigned slot)
{
    mfn_t mfn = pv_pfn_to_mfn(c, table);
    return (mfn << PAGE_SHIFT) + slot * sizeof(pte_t);
}

static int pv_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
                        const char *what)
{
    struct mmu_update req;
    int rc = pt_batch_flush(c, "queued L1 updates before an upper entry");

    if (rc)
        return rc;
    req.ptr = entry_maddr(c, table, slot) | MMU_NORMAL_PT_UPDATE;
    req.val = val;
    return (int)hc_mmu_update(c, &req, 1, what);
}

static bool op_uses_store(enum guest_pt_updates how, enum pte_op op)
{
    switch (how) {
    case GPT_WRITABLE:
        return true;
    case GPT_MMU_UPDATE:
        return false;
    case GPT_MIXED:
        return op == PTE_OP_WRPROTECT || op == PTE_OP_ZAP;
    }
    return false;
}

static int pv_set_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old,
                      pte_t val, enum pte_op op)
{
    bool rmw = op == PTE_OP_WRPROTECT || op == PTE_OP_ZAP;

    if (op_uses_store(c->g->opt.pt_updates, op)) {
        int rc = pt_batch_flush(c, "queued L1 updates before a store");
        if (rc)
            return rc;
        return pt_store_l1e(c, l1, slot, old, val, op);
    }

    uint64_t ptr = entry_maddr(c, l1, slot) |
                   (op == PTE_OP_WRPROTECT ? MMU_PT_UPDATE_PRESERVE_AD
                                           : MMU_NORMAL_PT_UPDATE);
    int rc = pt_batch_add(c, ptr, val);
    if (rc == 0 && !rmw)
        rc = pt_batch_flush(c, op == PTE_OP_COW ? "copy-on-write PTE"
                                                : "demand-fault PTE");
    return rc;
}

/* ---- roots and TLBs (rule 4) ------------------------------------------------------ */

static int pv_load_root(struct gcpu *c, struct proc *p)
{
    mfn_t root = p ? p->l4_mfn : c->g->init_l4_mfn;

    return (int)hc_mmuext1(c, MMUEXT_NEW_BASEPTR, root, 0,
                           "loading a process root");
}

static void pv_flush_local_va(struct gcpu *c, uint64_t va)
{
    hc_mmuext1(c, MMUEXT_INVLPG_LOCAL, va, 0, "spurious fault: INVLPG");
}

static void pv_flush_va(struct gcpu *c, struct proc *p, uint64_t va)
{
    uint64_t mask = atomic_load(&p->cpumask);
    if (mask)
        hc_flush_mask(c, MMUEXT_INVLPG_MULTI, va, mask, "INVLPG on the mm's vCPUs");
}

static void pv_flush_all(struct gcpu *c, struct proc *p)
{
    uint64_t mask = atomic_load(&p->cpumask);
    if (mask)
        hc_flush_mask(c, MMUEXT_TLB_FLUSH_MULTI, 0, mask, "TLB flush of the mm's vCPUs");
}

/* ---- boot (rule 5) ------------------------------------------------------------------ */

static int pv_boot_read(struct gcpu *c, pfn_t *first_free)
{
    struct guest_kernel *g = c->g;
    start_info_t si;

    if (mmu_read(c->v, g->start_info_va, &si, sizeof(si)) != MMU_OK) {
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
    g->init_l4_mfn = pv_pfn_to_mfn(c, g->init_l4_pfn);
    if (g->init_l4_mfn == INVALID_MFN) {
        klog(g, "boot: p2m list at %#lx unreadable", si.mfn_list);
        return -XEN_EFAULT;
    }
    *first_free = g->init_l4_pfn + si.nr_pt_frames;
    return 0;
}

static int pv_boot_finish(struct gcpu *c)
{
    if (hc_vm_assist(c, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables,
                     "boot: enabling writable pagetables") != 0)
        return -XEN_EINVAL;
    if (hc_mmuext1(c, MMUEXT_PIN_L4_TABLE, c->g->init_l4_mfn, 0,
                   "boot: pinning the initial L4") != 0)
        return -XEN_EINVAL;
    if (gevtchn_init(c) != 0)           /* shared_info, the upcall */
        return -XEN_EINVAL;
    return 0;
}

static int pv_cpu_attach(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct vcpu *v = c->v;

    if (v->cr3 == INVALID_MFN) {
        atomic_fetch_add(&g->st.hypercall_errors, 1);
        klog(g, "vcpu %u: started without a kernel root: not brought up",
             v->vcpu_id);
        return -XEN_EINVAL;
    }
    vcpu_set_guest_pf_handler(v, kernel_page_fault, c);
    if (hc_mmuext1(c, MMUEXT_NEW_BASEPTR, g->init_l4_mfn, 0,
                   "loading the kernel root") != 0)
        return -XEN_EINVAL;
    if (gevtchn_cpu_attach(c) != 0)     /* the upcall on this vCPU */
        return -XEN_EINVAL;
    return 0;
}

const struct kernel_paging_ops pv_paging_ops = {
    .frame_word     = "pfn",
    .arg_pages      = ARG_PAGES,
    .boot_read      = pv_boot_read,
    .boot_finish    = pv_boot_finish,
    .cpu_attach     = pv_cpu_attach,
    .pfn_to_frame   = pv_pfn_to_mfn,
    .frame_to_pfn   = pv_mfn_to_pfn,
    .table_seal     = pv_table_seal,
    .table_release  = pv_table_release,
    .root_pin       = pv_root_pin,
    .root_unpin     = pv_root_unpin,
    .set_upper      = pv_set_upper,
    .set_l1e        = pv_set_l1e,
    .commit         = pt_batch_flush,
    .load_root      = pv_load_root,
    .flush_local_va = pv_flush_local_va,
    .flush_va       = pv_flush_va,
    .flush_all      = pv_flush_all,
};
