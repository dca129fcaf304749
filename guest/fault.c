/*
 * guest/fault.c - the kernel's #PF handler (vector 14), for both guest
 * kinds.
 *
 * Rules:
 *   1. The handler runs in kernel mode whatever mode faulted (a PV
 *      hypervisor bounces a fault into the guest kernel, an HVM guest takes
 *      it directly), and restores the mode after.
 *   2. Every delivered fault is counted and traced once
 *      (hvlab_guest:pf_delivered), with spurious = 1 when the kernel's own
 *      tables say the access should have succeeded: the leaf PTE is present
 *      and allows it (upper entries count as there when non-zero, see
 *      pagetable.c rule 3).
 *   3. A spurious fault: with guest.spurious_check on, flush the local TLB
 *      entry (ops->flush_local_va: PV's MMUEXT_INVLPG_LOCAL, HVM's INVLPG,
 *      an exit in shadow mode) and retry, as modern kernels do; with it
 *      off, the kernel treats the fault as a bad access, as old kernels did -
 *      the process dies (stats.spurious_fatal).
 *   4. A user fault takes the process's mm lock (K4); kernel code holds no
 *      user-range lock across a user access, so that cannot deadlock.  A
 *      user fault is, in Linux's order: outside every VMA or not allowed by
 *      it -> SIGSEGV; not present -> demand-zero page (tables created on the
 *      way); write to a read-only PTE in a writable VMA -> copy-on-write
 *      (reuse the frame in place if no one else maps it).
 *   5. A kernel-mode fault that is not spurious is an oops: the kernel's own
 *      access was refused (counted in kernel_oopses, logged; the current
 *      process, if any, is killed and the access abandoned).
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

static bool pte_allows(pte_t e, uint32_t pfec)
{
    if (!pte_present(e))
        return false;
    if ((pfec & PFEC_WRITE) && !(e & _PAGE_RW))
        return false;
    if ((pfec & PFEC_USER) && !(e & _PAGE_USER))
        return false;
    return true;
}

/* The leaf PTE for va under root (an L4 pfn), or false if there is none. */
static bool lookup_pte(struct gcpu *c, pfn_t root, uint64_t va, pte_t *out,
                       pfn_t *l1p)
{
    pfn_t table = root;

    for (unsigned level = 4; level >= 1; level--) {
        pte_t e;
        if (!pt_read(c, table, pt_index(va, level), &e))
            return false;
        if (level == 1) {
            *out = e;
            if (l1p)
                *l1p = table;
            return true;
        }
        if (e == 0)
            return false;
        table = mfn_to_pfn(c, pte_mfn(e));
        if (table == INVALID_PFN)
            return false;
    }
    return false;
}

static void trace_fault(HV_UNUSED struct gcpu *c, HV_UNUSED uint64_t va,
                        HV_UNUSED uint32_t pfec, HV_UNUSED bool spurious)
{
    HV_UNUSED struct guest_kernel *g = c->g;
    TRC(hvlab_guest, pf_delivered, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, va, pfec, (uint8_t)spurious);
}

/* Rule 3; returns the outcome for a fault judged spurious. */
static enum pf_outcome spurious_fault(struct gcpu *c, struct proc *p,
                                      uint64_t va)
{
    struct guest_kernel *g = c->g;

    atomic_fetch_add(&g->st.spurious_seen, 1);
    if (g->opt.spurious_check) {
        klog(g, "vcpu %u: pid %u: spurious page fault at %#llx (its PTE is "
             "present): flushed the VA and retried", c->v->vcpu_id,
             p ? p->pid : 0, (unsigned long long)va);
        g->ops->flush_local_va(c, va);
        return PF_RETRY;
    }
    atomic_fetch_add(&g->st.spurious_fatal, 1);
    if (p)
        proc_kill(c, p, KILL_SPURIOUS, va);
    else
        klog(g, "vcpu %u: kernel oops: spurious fault at %#llx",
             c->v->vcpu_id, (unsigned long long)va);
    return PF_KILL;
}

static struct vma *find_vma(struct proc *p, uint64_t va)
{
    for (unsigned i = 0; i < p->nr_vma; i++)
        if (va >= p->vma[i].start && va < p->vma[i].end)
            return &p->vma[i];
    return NULL;
}

/* Not present: a zeroed frame, mapped at va. */
static enum kill_why demand_zero(struct gcpu *c, struct proc *p, uint64_t va,
                                 const struct vma *vma)
{
    struct guest_kernel *g = c->g;
    pfn_t l1;
    int rc = pt_walk(c, p, va, true, &l1);

    if (rc == -XEN_ENOMEM)
        return KILL_OOM;
    if (rc)
        return KILL_HCALL;
    pfn_t d = pfn_alloc(g, PFN_DATA);
    if (d == INVALID_PFN)
        return KILL_OOM;
    if (pfn_zero(c, d) != 0) {
        pfn_free(g, d);
        return KILL_KERNEL_OOPS;
    }
    atomic_store(&g->pfn_maps[d], 1);
    pte_t e = pte_make(pfn_to_mfn(c, d), PT_USER_PAGE_FLAGS |
                       (vma->writable ? _PAGE_RW : 0));
    if (pt_set_l1e(c, l1, pt_index(va, 1), 0, e, PTE_OP_INSTALL) != 0) {
        pfn_free(g, d);
        return KILL_HCALL;
    }
    return KILL_NONE;
}

/* Write to a read-only PTE of a writable VMA. */
static enum kill_why cow_fault(struct gcpu *c, struct proc *p, uint64_t va,
                               pfn_t l1, pte_t old)
{
    struct guest_kernel *g = c->g;
    unsigned slot = pt_index(va, 1);
    pfn_t src = mfn_to_pfn(c, pte_mfn(old));

    if (src == INVALID_PFN)
        return KILL_KERNEL_OOPS;
    /* K5: the only mapping left is ours - make it writable in place. */
    if (atomic_load(&g->pfn_maps[src]) == 1) {
        if (pt_set_l1e(c, l1, slot, old, old | _PAGE_RW, PTE_OP_COW) != 0)
            return KILL_HCALL;
        return KILL_NONE;
    }
    pfn_t dst = pfn_alloc(g, PFN_DATA);
    if (dst == INVALID_PFN)
        return KILL_OOM;
    if (mmu_read(c->v, dm_va(src), c->kbuf, PAGE_SIZE) != MMU_OK ||
        mmu_write(c->v, dm_va(dst), c->kbuf, PAGE_SIZE) != MMU_OK) {
        pfn_free(g, dst);
        return KILL_KERNEL_OOPS;
    }
    atomic_store(&g->pfn_maps[dst], 1);
    pte_t e = pte_make(pfn_to_mfn(c, dst),
                       pte_flags(old) | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY);
    if (pt_set_l1e(c, l1, slot, old, e, PTE_OP_COW) != 0) {
        pfn_free(g, dst);
        return KILL_HCALL;
    }
    /* Every vCPU running this mm drops the old frame's translation before
       the frame can be reused (K5). */
    mm_flush_va(c, p, va);
    uint32_t before = atomic_fetch_sub(&g->pfn_maps[src], 1);
    if (before == 1)
        pfn_free(g, src);
    return KILL_NONE;
}

static enum pf_outcome user_fault(struct gcpu *c, struct proc *p, uint64_t va,
                                  uint32_t pfec)
{
    enum kill_why why = KILL_NONE;
    pte_t e = 0;
    pfn_t l1 = INVALID_PFN;

    gspin_lock(&p->mm_lock);
    va &= ~(uint64_t)PAGE_OFFSET_MASK;
    bool have = lookup_pte(c, p->l4_pfn, va, &e, &l1);
    if (have && pte_allows(e, pfec | PFEC_USER)) {
        gspin_unlock(&p->mm_lock);
        trace_fault(c, va, pfec, true);
        return spurious_fault(c, p, va);
    }
    trace_fault(c, va, pfec, false);

    struct vma *vma = find_vma(p, va);
    if (!vma)
        why = KILL_SEGV_NO_VMA;
    else if ((pfec & PFEC_WRITE) && !vma->writable)
        why = KILL_SEGV_ACCESS;
    else if (!have || !pte_present(e))
        why = demand_zero(c, p, va, vma);
    else if ((pfec & PFEC_WRITE) && !(e & _PAGE_RW))
        why = cow_fault(c, p, va, l1, e);
    else
        why = KILL_SEGV_ACCESS;
    if (pt_commit(c, "page fault") != 0 && why == KILL_NONE)
        why = KILL_HCALL;
    gspin_unlock(&p->mm_lock);

    if (why != KILL_NONE) {
        proc_kill(c, p, why, va);
        return PF_KILL;
    }
    return PF_RETRY;
}

static enum pf_outcome kernel_fault(struct gcpu *c, struct proc *p, uint64_t va,
                                    uint32_t pfec)
{
    struct guest_kernel *g = c->g;
    pfn_t root = c->loaded ? c->loaded->l4_pfn : g->init_l4_pfn;
    pte_t e;

    if (lookup_pte(c, root, va, &e, NULL) && pte_allows(e, pfec)) {
        trace_fault(c, va, pfec, true);
        return spurious_fault(c, p, va);
    }
    trace_fault(c, va, pfec, false);
    atomic_fetch_add(&g->st.kernel_oopses, 1);
    klog(g, "vcpu %u: kernel oops: %s at %#llx (error code %#x)%s",
         c->v->vcpu_id, (pfec & PFEC_WRITE) ? "write" : "read",
         (unsigned long long)va, pfec,
         c->batch_n ? " with mmu_update requests queued" : "");
    if (p)
        proc_kill(c, p, KILL_KERNEL_OOPS, va);
    return PF_KILL;
}

enum pf_outcome kernel_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec,
                                  void *ctx)
{
    struct gcpu *c = ctx;
    struct guest_kernel *g = c->g;
    struct proc *p = c->cur ? c->cur->p : NULL;
    bool was_kernel = v->in_kernel;
    enum pf_outcome out;

    atomic_fetch_add(&g->st.faults_delivered, 1);
    if (c->fault_depth >= 2) {
        /* A fault while handling a fault while handling a fault: the
           kernel's own tables or direct map are unusable (rule 5). */
        trace_fault(c, va, pfec, false);
        atomic_fetch_add(&g->st.kernel_oopses, 1);
        klog(g, "vcpu %u: kernel oops: nested fault at %#llx (error code %#x)",
             v->vcpu_id, (unsigned long long)va, pfec);
        return PF_KILL;
    }
    c->fault_depth++;
    v->in_kernel = true;                        /* rule 1 */
    if (!(pfec & PFEC_USER))
        out = kernel_fault(c, p, va, pfec);
    else if (p)
        out = user_fault(c, p, va, pfec);
    else {
        trace_fault(c, va, pfec, false);
        klog(g, "vcpu %u: user fault at %#llx with no process running",
             v->vcpu_id, (unsigned long long)va);
        out = PF_KILL;
    }
    v->in_kernel = was_kernel;
    c->fault_depth--;
    return out;
}
