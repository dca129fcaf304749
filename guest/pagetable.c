/*
 * guest/pagetable.c - the kernel's page tables, for both guest kinds:
 * table frames, entry writes, walks.  How an entry reaches the tables is
 * the kind's (struct kernel_paging_ops); the life of a table is here.
 *
 * Rules:
 *   1. (K2) A table frame's life: allocated, zeroed through its direct
 *      mapping, sealed (ops->table_seal: PV makes it read-only), filled or
 *      left empty, hooked by ops->set_upper of the parent entry or pinned;
 *      later unhooked / unpinned, released (ops->table_release: PV makes it
 *      writable again) and freed.  A table that cannot be released is
 *      leaked (logged) rather than reused, since the hypervisor may still
 *      hold it as a table.
 *   2. (K3) Entries change only through the kind's ops: ops->set_upper for
 *      L2-L4, ops->set_l1e for live L1s.  Queued changes (PV's mmu_update
 *      batch) are issued by pt_commit before the mm lock is released (K4).
 *   3. Walks read the tables through the direct map.  An upper entry exists
 *      when it is non-zero, whatever its PRESENT bit says (Linux's pXd_none):
 *      Xen 3.0's batched writable pagetables clear PRESENT in the L2 entry
 *      of an L1 they unhooked, and the kernel must still find that L1.
 *   4. Read-modify-writes of a live L1 entry are locked cmpxchg loops
 *      (Linux's ptep_set_wrprotect / ptep_get_and_clear): the CPU, or the
 *      hypervisor, may set A/D bits in the entry at the same time; nothing
 *      else may change under the mm lock.
 *   5. A new L1 comes from the kernel's quicklist of released L1s first
 *      (pt-reuse, pt_reuse.c), whose content is raw data until every entry
 *      was rewritten; only then from the allocator.
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

bool pt_read(struct gcpu *c, pfn_t table, unsigned slot, pte_t *e)
{
    return kload(c, dm_va(table) + slot * sizeof(pte_t), e);
}

/* Rule 1: a filled (or empty) table frame becomes a page table of p at
   `level`.  The one place that says so. */
int pt_seal_table(struct gcpu *c, struct proc *p, pfn_t pfn, unsigned level)
{
    const struct kernel_paging_ops *ops = c->g->ops;

    return ops->table_seal ? ops->table_seal(c, p, pfn, level) : 0;
}

/* Rule 1: a new, empty, sealed table frame (INVALID_PFN on failure). */
pfn_t pt_alloc_table(struct gcpu *c, struct proc *p, unsigned level)
{
    struct guest_kernel *g = c->g;
    pfn_t pfn = level == 1 && g->ptr ? pt_quicklist_take(c, p) : INVALID_PFN;

    if (pfn != INVALID_PFN)
        return pfn;             /* rule 5 */
    pfn = pfn_alloc(g, PFN_TABLE);
    if (pfn == INVALID_PFN)
        return INVALID_PFN;
    if (pfn_zero(c, pfn) != 0 || pt_seal_table(c, p, pfn, level) != 0) {
        pfn_free(g, pfn);
        return INVALID_PFN;
    }
    return pfn;
}

/* Rule 1. */
void pt_free_table(struct gcpu *c, struct proc *p, pfn_t pfn, unsigned level)
{
    struct guest_kernel *g = c->g;

    if (g->ops->table_release &&
        g->ops->table_release(c, p, pfn, level) != 0)
        return;         /* leaked, logged */
    pfn_free(g, pfn);
}

int pt_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
                 const char *what)
{
    return c->g->ops->set_upper(c, table, slot, val, what);
}

int pt_set_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old, pte_t val,
               enum pte_op op)
{
    return c->g->ops->set_l1e(c, l1, slot, old, val, op);
}

int pt_commit(struct gcpu *c, const char *what)
{
    const struct kernel_paging_ops *ops = c->g->ops;

    return ops->commit ? ops->commit(c, what) : 0;
}

/* Rule 4. */
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
        /* Only the CPU's A/D updates may race with us (K4). */
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

int pt_store_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old,
                 pte_t val, enum pte_op op)
{
    uint64_t va = dm_va(l1) + slot * sizeof(pte_t);
    int rc;

    if (op == PTE_OP_WRPROTECT || op == PTE_OP_ZAP)
        rc = l1e_rmw(c, va, old, val, op);
    else
        rc = kstore(c, va, val) ? 0 : -XEN_EFAULT;
    if (rc)
        klog(c->g, "vcpu %u: store of L1 entry %#llx <- %#llx failed (%d)",
             c->v->vcpu_id, (unsigned long long)va, (unsigned long long)val,
             rc);
    return rc;
}

/* Rule 3. */
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
            mfn_t nm = pfn_to_mfn(c, nt);
            if (pt_set_upper(c, table, slot, pte_make(nm, PT_TABLE_FLAGS),
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
