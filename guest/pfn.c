/*
 * guest/pfn.c - frames: the frame numbers PTEs hold, the pfn allocator,
 * and kernel accesses through the direct map (both guest kinds).
 *
 * Rules:
 *   1. A PTE holds the frame number the kind's ops give (PV: the mfn, from
 *      the p2m list and M2P in guest memory, pv_kernel.c rule 1; HVM: the
 *      gfn itself).  Nothing here caches them in C.
 *   2. The allocator hands out the frames the builder left free (above the
 *      boot frames); pfn_lock protects the free stack and kinds.  Freeing a
 *      frame that is already free, or ballooned out (pt_reuse.c: it has no
 *      frame until it is populated again), is logged and ignored.
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

/* Rule 1. */
mfn_t pfn_to_mfn(struct gcpu *c, pfn_t pfn)
{
    return c->g->ops->pfn_to_frame(c, pfn);
}

pfn_t mfn_to_pfn(struct gcpu *c, mfn_t mfn)
{
    return c->g->ops->frame_to_pfn(c, mfn);
}

pfn_t pfn_alloc(struct guest_kernel *g, enum pfn_kind kind)
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

/* Rule 2. */
void pfn_free(struct guest_kernel *g, pfn_t pfn)
{
    gspin_lock(&g->pfn_lock);
    if (pfn >= g->nr_pages || atomic_load(&g->pfn_kind[pfn]) == PFN_FREE ||
        atomic_load(&g->pfn_kind[pfn]) == PFN_BOOT ||
        atomic_load(&g->pfn_kind[pfn]) == PFN_BALLOONED) {
        unsigned kind = pfn < g->nr_pages ? atomic_load(&g->pfn_kind[pfn]) : 99;
        gspin_unlock(&g->pfn_lock);
        klog(g, "kernel: freeing %s %#llx of kind %u refused",
             g->ops->frame_word, (unsigned long long)pfn, kind);
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
        klog(c->g, "vcpu %u: zeroing %s %#llx through the direct map refused",
             c->v->vcpu_id, c->g->ops->frame_word, (unsigned long long)pfn);
        return -XEN_EFAULT;
    }
    return 0;
}
