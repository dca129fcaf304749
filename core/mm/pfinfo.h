/*
 * core/mm/pfinfo.h - what XEN_DOMCTL_getpageframeinfo3 says about a frame.
 *
 * The classification is a pure function of the frame's two words and the
 * mm.pfinfo_devalidated option, so the domctl (core/mm/pfinfo.c) and the
 * audit's invariant 12 (core/mm/audit.c, audit_incr.c) use one and the
 * same rule.  Inline: the audits' copies are built without the fuzzers'
 * coverage (fuzz/nocov), the domctl's with it.
 */
#ifndef HVLAB_CORE_MM_PFINFO_H
#define HVLAB_CORE_MM_PFINFO_H

#include "core/mm/page.h"
#include "core/options.h"
#include "core/types.h"             /* before <xen/domctl.h>: stdint, xen.h */

#include <xen/domctl.h>

/*
 * The XEN_DOMCTL_PFINFO_* word (bits 28-31) for a frame the caller holds a
 * general reference on (so it is owned by the domain asked about), from its
 * count_info and type_info: BROKEN, XTAB for a Xen heap page, L1TAB..L4TAB
 * (| LPINTAB if pinned) or NOTAB.  mode decides a page-table type that is
 * neither validated nor pinned (page.h R4): NOTAB, or its stale type.
 */
static inline uint32_t pfinfo_classify(uint64_t count_info,
                                       uint64_t type_info,
                                       enum pfinfo_devalidated mode)
{
    if (count_info & PGC_xen_heap)
        return XEN_DOMCTL_PFINFO_XTAB;
    if (count_info & PGC_broken)
        return XEN_DOMCTL_PFINFO_BROKEN;

    uint32_t type = XEN_DOMCTL_PFINFO_NOTAB;
    unsigned level = pgt_level(type_info);
    if (level)
        type = (uint32_t)level << XEN_DOMCTL_PFINFO_LTAB_SHIFT;
    if (type_info & PGT_pinned)
        type |= XEN_DOMCTL_PFINFO_LPINTAB;
    else if (mode == PFINFO_DEVAL_NOTAB && !(type_info & PGT_validated))
        type = XEN_DOMCTL_PFINFO_NOTAB;
    return type;
}

/* The table level (1..4) a pfinfo word reports, 0 for anything else. */
static inline unsigned pfinfo_level(uint32_t type)
{
    uint32_t t = type & XEN_DOMCTL_PFINFO_LTAB_MASK;
    if (t == XEN_DOMCTL_PFINFO_XTAB || t == XEN_DOMCTL_PFINFO_XALLOC ||
        t == XEN_DOMCTL_PFINFO_BROKEN)
        return 0;
    unsigned level = (t & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) >>
                     XEN_DOMCTL_PFINFO_LTAB_SHIFT;
    return level <= 4 ? level : 0;
}

#endif /* HVLAB_CORE_MM_PFINFO_H */
