/*
 * guest/pv_pagetable.c - the kernel's page tables: table frames, entry
 * writes, walks.
 *
 * Rules:
 *   1. (K2) A table frame's life: allocated, zeroed through its writable
 *      direct mapping, made read-only (update_va_mapping of its direct-map
 *      PTE, as Linux's make_lowmem_page_readonly), filled or left empty,
 *      hooked by mmu_update of the parent entry (the hypervisor validates it
 *      then) or pinned; later unhooked / unpinned, made writable again, and
 *      freed.  A table that cannot be made writable again is leaked (logged)
 *      rather than reused, since the hypervisor may still hold it as a table.
 *   2. (K3) Upper entries (L2-L4) change only by mmu_update, one request,
 *      issued after any queued L1 requests.  L1 entries of live tables go
 *      through pt_set_l1e, which picks the path guest.pt_updates asks for:
 *        writable   : stores into the read-only L1 (the hypervisor traps and
 *                     emulates them, or unhooks the L1 in Xen 3.0's mode);
 *                     read-modify-writes use a locked cmpxchg, as
 *                     ptep_set_wrprotect / ptep_get_and_clear do;
 *        mmu_update : queued requests, PRESERVE_AD for write-protection;
 *        mixed      : Linux's choice - single-entry sets (faults, COW) by
 *                     mmu_update, fork's write-protect and munmap's clears
 *                     by locked stores trapped by writable pagetables.
 *      Callers of WRPROTECT / ZAP flush the batch (pt_batch_flush) before
 *      they release the mm lock (K4).
 *   3. Walks read the tables through the direct map.  An upper entry exists
 *      when it is non-zero, whatever its PRESENT bit says (Linux's pXd_none):
 *      Xen 3.0's batched writable pagetables clear PRESENT in the L2 entry
 *      of an L1 they unhooked, and the kernel must still find that L1.
 *   4. The direct-map PTE of a pfn keeps the flags the builder gave it; only
 *      RW changes.
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

bool pt_read(struct gcpu *c, pfn_t table, unsigned slot, pte_t *e)
{
    return kload(c, dm_va(table) + slot * sizeof(pte_t), e);
}

/* Rule 4: the direct-map PTE of pfn, read from the init L4's tree. */
static int dm_pte(struct gcpu *c, pfn_t pfn, pte_t *out)
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
        table = mfn_to_pfn(c, pte_mfn(e));
        if (table == INVALID_PFN)
            return -XEN_EIO;
    }
    return -XEN_EIO;
}

static int dm_set_rw(struct gcpu *c, pfn_t pfn, bool rw)
{
    pte_t e;
    int rc = dm_pte(c, pfn, &e);

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

int pt_make_ro(struct gcpu *c, pfn_t pfn)
{
    return dm_set_rw(c, pfn, false);
}

int pt_make_rw(struct gcpu *c, pfn_t pfn)
{
    return dm_set_rw(c, pfn, true);
}

/* Rule 1: a filled (or empty) table frame becomes read-only: from now on
   it is a page table of p at `level`.  The one place that says so. */
int pt_seal_table(struct gcpu *c, HV_UNUSED struct proc *p, pfn_t pfn,
                  HV_UNUSED unsigned level)
{
    int rc = pt_make_ro(c, pfn);
    if (rc == 0)
        TRC(hvlab_guest, pt_alloc, (uint8_t)c->g->host_id, c->g->domid,
            p ? p->pid : 0, (uint8_t)level, pfn, pfn_to_mfn(c, pfn));
    return rc;
}

/* Rule 1: a new, empty, read-only table frame (INVALID_PFN on failure). */
pfn_t pt_alloc_table(struct gcpu *c, struct proc *p, unsigned level)
{
    struct guest_pv *g = c->g;
    pfn_t pfn = pfn_alloc(g, PFN_TABLE);

    if (pfn == INVALID_PFN)
        return INVALID_PFN;
    if (pfn_zero(c, pfn) != 0 || pt_seal_table(c, p, pfn, level) != 0) {
        pfn_free(g, pfn);
        return INVALID_PFN;
    }
    return pfn;
}

void pt_free_table(struct gcpu *c, struct proc *p, pfn_t pfn, unsigned level)
{
    struct guest_pv *g = c->g;

    if (pt_make_rw(c, pfn) != 0) {
        klog(g, "pid %u: L%u table pfn %#llx could not be made writable: "
             "leaked", p ? p->pid : 0, level, (unsigned long long)pfn);
        return;
    }
    TRC(hvlab_guest, pt_free, (uint8_t)g->host_id, g->domid,
        p ? p->pid : 0, (uint8_t)level, pfn, pfn_to_mfn(c, pfn));
    pfn_free(g, pfn);
}

static uint64_t entry_maddr(struct gcpu *c, pfn_t table, unsigned slot)
{
    mfn_t mfn = pfn_to_mfn(c, table);
    return (mfn << PAGE_SHIFT) + slot * sizeof(pte_t);
}

int pt_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
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

/* Locked read-modify-write of a live L1 entry through its RO mapping. */
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

int pt_set_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old, pte_t val,
               enum pte_op op)
{
    bool rmw = op == PTE_OP_WRPROTECT || op == PTE_OP_ZAP;

    if (op_uses_store(c->g->opt.pt_updates, op)) {
        uint64_t va = dm_va(l1) + slot * sizeof(pte_t);
        int rc = pt_batch_flush(c, "queued L1 updates before a store");
        if (rc)
            return rc;
        if (rmw)
            rc = l1e_rmw(c, va, old, val, op);
        else
            rc = kstore(c, va, val) ? 0 : -XEN_EFAULT;
        if (rc)
            klog(c->g, "vcpu %u: store of L1 entry %#llx <- %#llx failed (%d)",
                 c->v->vcpu_id, (unsigned long long)va,
                 (unsigned long long)val, rc);
        return rc;
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
