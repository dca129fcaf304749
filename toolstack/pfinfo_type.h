/*
 * toolstack/pfinfo_type.h - which XEN_DOMCTL_PFINFO_* words exist.
 *
 * The type words getpageframeinfo3 reports and migration streams and
 * memory images carry: NOTAB, L1TAB..L4TAB (each also with LPINTAB),
 * BROKEN, XALLOC, XTAB; nothing in the low 28 bits.  Header-only and free
 * of core/, so analysis/ can use it with the image reader.
 */
#ifndef HVLAB_TOOLSTACK_PFINFO_TYPE_H
#define HVLAB_TOOLSTACK_PFINFO_TYPE_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/domctl.h>

static inline bool pfinfo_type_valid(uint32_t type)
{
    if (type & ~XEN_DOMCTL_PFINFO_LTAB_MASK)
        return false;
    switch (type) {
    case XEN_DOMCTL_PFINFO_NOTAB:
    case XEN_DOMCTL_PFINFO_L1TAB:
    case XEN_DOMCTL_PFINFO_L2TAB:
    case XEN_DOMCTL_PFINFO_L3TAB:
    case XEN_DOMCTL_PFINFO_L4TAB:
    case XEN_DOMCTL_PFINFO_L1TAB | XEN_DOMCTL_PFINFO_LPINTAB:
    case XEN_DOMCTL_PFINFO_L2TAB | XEN_DOMCTL_PFINFO_LPINTAB:
    case XEN_DOMCTL_PFINFO_L3TAB | XEN_DOMCTL_PFINFO_LPINTAB:
    case XEN_DOMCTL_PFINFO_L4TAB | XEN_DOMCTL_PFINFO_LPINTAB:
    case XEN_DOMCTL_PFINFO_BROKEN:
    case XEN_DOMCTL_PFINFO_XALLOC:
    case XEN_DOMCTL_PFINFO_XTAB:
        return true;
    default:
        return false;
    }
}

#endif /* HVLAB_TOOLSTACK_PFINFO_TYPE_H */
