/*
 * toolstack/pv_normalise.c - normalise (save) and localise (restore) a PV
 * page table, and the restorer's pin list.  Rules N1-N6 in pv_normalise.h;
 * semantics of Xen's xg_sr_save_x86_pv.c / xg_sr_restore_x86_pv.c.
 *
 * Pure functions over page contents: the frames, the M2P and the p2m are
 * reached only through the caller's callbacks, so the save and restore
 * loops (and the tests) decide where a page comes from.
 */
#include "toolstack/pv_normalise.h"

#include <string.h>

#include "core/machine.h"       /* XEN_L4_SLOT_FIRST / _LAST */
#include "core/pte.h"

unsigned pvn_type_level(uint32_t type)
{
    uint32_t t = type & XEN_DOMCTL_PFINFO_LTAB_MASK;
    if (t == XEN_DOMCTL_PFINFO_XTAB || t == XEN_DOMCTL_PFINFO_XALLOC ||
        t == XEN_DOMCTL_PFINFO_BROKEN)
        return 0;
    t &= XEN_DOMCTL_PFINFO_LTABTYPE_MASK;
    if (t < XEN_DOMCTL_PFINFO_L1TAB || t > XEN_DOMCTL_PFINFO_L4TAB)
        return 0;
    return t >> XEN_DOMCTL_PFINFO_LTAB_SHIFT;
}

static int pvn_fail(struct pvn_fault *fault, int rc, unsigned level,
                    unsigned slot, uint64_t entry, uint64_t frame)
{
    if (fault) {
        fault->level = level;
        fault->slot = slot;
        fault->entry = entry;
        fault->frame = frame;
    }
    return rc;
}

/* N2: is slot one of the hypervisor's in a table of this level? */
static bool pvn_xen_slot(unsigned level, unsigned slot)
{
    return level == 4 && slot >= XEN_L4_SLOT_FIRST &&
           slot <= XEN_L4_SLOT_LAST;
}

/* Does frame fit an entry's address field (bits 12-51)? */
static bool pvn_frame_fits(uint64_t frame)
{
    return frame <= (PTE_ADDR_MASK >> PAGE_SHIFT);
}

/* The entry with its frame replaced, every flag bit kept (Xen's merge_pte). */
static uint64_t pvn_merge(uint64_t entry, uint64_t frame)
{
    return (entry & PTE_FLAGS_MASK) | ((frame << PAGE_SHIFT) & PTE_ADDR_MASK);
}

int pv_normalise_page(uint32_t type, const uint64_t *src, uint64_t *dst,
                      const struct pvn_save_ops *ops, bool paused,
                      struct pvn_fault *fault)
{
    if (!src || !dst || !ops || !ops->mfn_to_pfn)
        return -XEN_EINVAL;
    if (fault)
        memset(fault, 0, sizeof(*fault));

    unsigned level = pvn_type_level(type);
    if (!level) {                                   /* N1 */
        if (dst != src)
            memmove(dst, src, PVN_ENTRIES * sizeof(uint64_t));
        return 0;
    }

    uint64_t out[PVN_ENTRIES];
    for (unsigned i = 0; i < PVN_ENTRIES; i++) {
        uint64_t e = src[i];
        if (pvn_xen_slot(level, i))                 /* N2: Xen rebuilds */
            e = 0;
        if (e & _PAGE_PRESENT) {
            uint64_t mfn = pte_mfn(e);
            if (level > 1 && (e & _PAGE_PSE))       /* N3: superpage */
                return pvn_fail(fault, -XEN_E2BIG, level, i, e, mfn);
            uint64_t pfn = ops->mfn_to_pfn(ops->opaque, mfn);
            bool ok = pfn != INVALID_M2P_ENTRY && pfn != SHARED_M2P_ENTRY &&
                      pvn_frame_fits(pfn) &&
                      (!ops->pfn_in_physmap ||
                       ops->pfn_in_physmap(ops->opaque, pfn, mfn));
            if (!ok)                                /* N3: live vs paused */
                return pvn_fail(fault, paused ? -XEN_ERANGE : -XEN_EAGAIN,
                                level, i, e, mfn);
            e = pvn_merge(e, pfn);
        }
        out[i] = e;
    }
    memcpy(dst, out, sizeof(out));
    return 0;
}

int pv_localise_page(uint32_t type, uint64_t *page,
                     const struct pvn_restore_ops *ops,
                     struct pvn_fault *fault)
{
    if (!page || !ops || !ops->pfn_to_mfn)
        return -XEN_EINVAL;
    if (fault)
        memset(fault, 0, sizeof(*fault));

    unsigned level = pvn_type_level(type);
    if (!level)                                     /* N1: story D */
        return 0;

    /* N4: range first, then the pfns to populate, each once. */
    uint64_t want[PVN_ENTRIES];
    unsigned nr_want = 0;
    for (unsigned i = 0; i < PVN_ENTRIES; i++) {
        uint64_t e = page[i];
        if (!(e & _PAGE_PRESENT))
            continue;
        uint64_t pfn = pte_mfn(e);
        if (pfn > ops->max_pfn)
            return pvn_fail(fault, -XEN_ERANGE, level, i, e, pfn);
        if (ops->pfn_to_mfn(ops->opaque, pfn) != INVALID_MFN)
            continue;
        bool seen = false;
        for (unsigned k = 0; k < nr_want && !seen; k++)
            seen = want[k] == pfn;
        if (!seen)
            want[nr_want++] = pfn;
    }
    if (nr_want) {
        if (!ops->populate)
            return pvn_fail(fault, -XEN_ERANGE, level, 0, 0, want[0]);
        int rc = ops->populate(ops->opaque, want, nr_want);
        if (rc)
            return rc;
    }

    uint64_t out[PVN_ENTRIES];
    for (unsigned i = 0; i < PVN_ENTRIES; i++) {
        uint64_t e = page[i];
        if (e & _PAGE_PRESENT) {
            uint64_t pfn = pte_mfn(e);
            uint64_t mfn = ops->pfn_to_mfn(ops->opaque, pfn);
            if (mfn == INVALID_MFN || !pvn_frame_fits(mfn))
                return pvn_fail(fault, -XEN_ERANGE, level, i, e, pfn);
            e = pvn_merge(e, mfn);
        }
        out[i] = e;
    }
    memcpy(page, out, sizeof(out));
    return 0;
}

/* N5: the MMUEXT command pinning a table of each level. */
static const unsigned pvn_pin_cmd[5] = {
    [1] = MMUEXT_PIN_L1_TABLE, [2] = MMUEXT_PIN_L2_TABLE,
    [3] = MMUEXT_PIN_L3_TABLE, [4] = MMUEXT_PIN_L4_TABLE,
};

int pv_pin_list(const uint32_t *types, uint64_t nr_pfns, struct pvn_pin *out,
                size_t cap, size_t *nr)
{
    if (!nr || (nr_pfns && !types) || (cap && !out))
        return -XEN_EINVAL;
    size_t n = 0;
    for (uint64_t pfn = 0; pfn < nr_pfns; pfn++) {
        uint32_t t = types[pfn];
        unsigned level = pvn_type_level(t);
        if (!(t & XEN_DOMCTL_PFINFO_LPINTAB) || !level)
            continue;
        if (n < cap)
            out[n] = (struct pvn_pin){ .pfn = pfn, .cmd = pvn_pin_cmd[level] };
        n++;
    }
    *nr = n;
    return n > cap ? -XEN_E2BIG : 0;
}
