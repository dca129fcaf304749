/*
 * guest/pv_pfn.c - pseudo-physical frames: p2m and M2P lookups, the pfn
 * allocator, and kernel accesses through the direct map.
 *
 * Rules:
 *   1. The kernel writes machine frame numbers into its PTEs, as a PV Linux
 *      does: pfn -> mfn through the p2m list the builder placed in guest
 *      memory (si.mfn_list), mfn -> pfn through the M2P the hypervisor maps
 *      read-only at MACH2PHYS_VIRT_START, cross-checked against the p2m.
 *      Both are read through the MMU, never cached in C.
 *   2. The allocator hands out the pfns the builder left free (at or above
 *      the bootstrap tables); pfn_lock protects the free stack and kinds.
 *      Freeing a pfn that is already free is logged and ignored.
 *   3. Kernel accesses run in kernel mode on the direct map; a refused
 *      access is the #PF handler's oops (counted there) and returns false.
 */
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

static const uint8_t zero_page[PAGE_SIZE];

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
    uint64_t mfn;

    if (pfn >= c->g->nr_pages)
        return INVALID_MFN;
    if (!kload(c, c->g->p2m_va + pfn * sizeof(xen_pfn_t), &mfn))
        return INVALID_MFN;
    return mfn;
}

pfn_t mfn_to_pfn(struct gcpu *c, mfn_t mfn)
{
    uint64_t pfn;

    if (!kload(c, MACH2PHYS_VIRT_START + mfn * sizeof(uint64_t), &pfn)) {
        klog(c->g, "vcpu %u: M2P entry of mfn %#llx unreadable",
             c->v->vcpu_id, (unsigned long long)mfn);
        return INVALID_PFN;
    }
    /* Rule 1: an M2P entry is only trusted when the p2m agrees. */
    if (pfn >= c->g->nr_pages || pfn_to_mfn(c, pfn) != mfn) {
        klog(c->g, "vcpu %u: mfn %#llx: M2P says pfn %#llx, p2m disagrees",
             c->v->vcpu_id, (unsigned long long)mfn, (unsigned long long)pfn);
        return INVALID_PFN;
    }
    return pfn;
}

pfn_t pfn_alloc(struct guest_pv *g, enum pfn_kind kind)
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

void pfn_free(struct guest_pv *g, pfn_t pfn)
{
    gspin_lock(&g->pfn_lock);
    if (pfn >= g->nr_pages || atomic_load(&g->pfn_kind[pfn]) == PFN_FREE ||
        atomic_load(&g->pfn_kind[pfn]) == PFN_BOOT) {
        unsigned kind = pfn < g->nr_pages ? atomic_load(&g->pfn_kind[pfn]) : 99;
        gspin_unlock(&g->pfn_lock);
        klog(g, "kernel: freeing pfn %#llx of kind %u refused",
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
        klog(c->g, "vcpu %u: zeroing pfn %#llx through the direct map refused",
             c->v->vcpu_id, (unsigned long long)pfn);
        return -XEN_EFAULT;
    }
    return 0;
}
