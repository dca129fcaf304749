/*
 * core/mm/pfinfo.c - XEN_DOMCTL_getpageframeinfo3: the toolstack asks what
 * each of a batch of a domain's frames is (XEN-NOTES 1.6; the save side of
 * a migration decides from it which pages to normalise, 8.3).
 *
 * Rules:
 *   F1  Input as Xen takes it: a gfn looked up with get_page_from_gfn, so
 *       for a PV domain (no p2m) it is an mfn (the toolstack translated
 *       through the guest's own p2m) and for an HVM domain a gfn.  Each
 *       entry is replaced by the XEN_DOMCTL_PFINFO_* word alone (Xen
 *       writes the type, it does not OR it into the input).
 *   F2  Batches: num > 1024 is -E2BIG and nothing is read.  A NULL array
 *       with num > 0 is -EFAULT.  Entries are answered in order.
 *   F3  A frame that is not the domain's (another domain's, free, out of
 *       range) or a Xen heap page is XTAB; a hole whose p2m type is
 *       broken, or a frame with PGC_broken, is BROKEN.
 *   F4  L1..L4 types are L1TAB..L4TAB, | LPINTAB when pinned.  A
 *       page-table type that is neither validated nor pinned is not a page
 *       table (page.h R4): mm.pfinfo_devalidated=notab (default, Xen since
 *       0a87e677f4) reports it NOTAB; =pt (Xen before 4.16) reports its
 *       stale type bits - story D (docs/pfinfo.md).
 *   F5  Read-only: the general reference taken for the look-up is dropped
 *       before the next entry; no frame's words change.
 */
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mm/pfinfo.h"

#define PFINFO_MAX_BATCH 1024   /* Xen's limit per call */

/* The word for one gfn of d (F1, F3, F4). */
static uint32_t pfinfo_one(struct domain *d, xen_pfn_t gfn)
{
    struct machine *m = d->m;
    p2m_type_t t = p2m_invalid;
    mfn_t mfn = get_page_from_gfn(d, (pfn_t)gfn, &t, P2M_ALLOC);

    if (mfn == INVALID_MFN)
        return t == p2m_ram_broken ? XEN_DOMCTL_PFINFO_BROKEN
                                   : XEN_DOMCTL_PFINFO_XTAB;
    struct page_info *pg = mfn_to_page(m, mfn);
    uint32_t type = pfinfo_classify(atomic_load(&pg->count_info),
                                    atomic_load(&pg->type_info),
                                    m->opt.pfinfo_devalidated);
    put_page(m, mfn);
    return type;
}

int domctl_getpageframeinfo3(struct domain *d, xen_pfn_t *arr, uint64_t num)
{
    if (!d)
        return -XEN_ESRCH;
    if (num > PFINFO_MAX_BATCH)
        return -XEN_E2BIG;
    if (num && !arr)
        return -XEN_EFAULT;
    for (uint64_t i = 0; i < num; i++)
        arr[i] = pfinfo_one(d, arr[i]);
    return 0;
}
