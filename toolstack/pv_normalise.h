/*
 * toolstack/pv_normalise.h - a PV page table's migration form: normalise
 * (save: mfn -> pfn) and localise (restore: pfn -> mfn), and the list of
 * tables to pin once the stream is complete.  XEN-NOTES 8.3, 8.4, 8.6.
 *
 * Rules:
 *   N1  Only a page whose reported type (XEN_DOMCTL_PFINFO_*, <xen/domctl.h>)
 *       is L1TAB..L4TAB, pinned or not, is rewritten.  NOTAB and every other
 *       type is content, copied unchanged (story D: a devalidated table
 *       reported NOTAB keeps whatever its entries say).
 *   N2  Normalise, per slot of a table: the hypervisor's L4 slots
 *       (XEN_L4_SLOT_FIRST..LAST, 256..271) are zeroed; a present entry has
 *       its mfn replaced by the M2P's pfn, every flag bit kept; an absent
 *       entry is copied as it is.
 *   N3  Normalise errors, first bad slot wins, nothing written to dst:
 *       a present PSE entry in an L2..L4 is -XEN_E2BIG (no superpages);
 *       an mfn whose M2P pfn is none, does not fit an entry, or is not in
 *       the guest's pseudo-physical map (or maps back to another mfn) is
 *       -XEN_EAGAIN while the domain runs (the
 *       page is deferred: sent XTAB now, resent after the pause) and
 *       -XEN_ERANGE once it is paused (fatal).
 *   N4  Localise, per present entry of an L1..L4: a pfn above max_pfn is
 *       -XEN_ERANGE; every referenced pfn with no mfn yet is populated first
 *       (one populate call, each pfn once); then pfn -> mfn keeping flags.
 *       A pfn still without an mfn (or with one too wide for an entry)
 *       after populating is -XEN_ERANGE.  The page is changed only when
 *       every entry translated.
 *   N5  Pin list: for every pfn, ascending, whose last type carries LPINTAB
 *       and a level 1..4, one MMUEXT_PIN_Ln_TABLE (<xen/xen.h>); other
 *       types are skipped, as Xen's pin_pagetables does.
 *   N6  Errors name the level, slot and entry (struct pvn_fault).
 */
#ifndef HVLAB_TOOLSTACK_PV_NORMALISE_H
#define HVLAB_TOOLSTACK_PV_NORMALISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/domctl.h>         /* XEN_DOMCTL_PFINFO_* (with __XEN_TOOLS__) */

#define PVN_ENTRIES     512     /* 64-bit entries in a 4 KiB table */

/* Where a page failed (N6); level 0 when the failure is not a slot's. */
struct pvn_fault {
    unsigned level;             /* 1..4 */
    unsigned slot;              /* 0..511 */
    uint64_t entry;             /* the entry as it was read */
    uint64_t frame;             /* its mfn (save) or pfn (restore) */
};

/* Save side: the source machine's M2P and the guest's pseudo-physical map. */
struct pvn_save_ops {
    /* The M2P entry of mfn (INVALID for none). */
    uint64_t (*mfn_to_pfn)(void *opaque, uint64_t mfn);
    /* Is pfn in the guest's pseudo-physical map, mapped to mfn?  NULL:
       any pfn the M2P gives is taken. */
    bool (*pfn_in_physmap)(void *opaque, uint64_t pfn, uint64_t mfn);
    void *opaque;
};

/*
 * Normalise one 4 KiB page (N1-N3).  type: the XEN_DOMCTL_PFINFO_* word
 * getpageframeinfo3 reported; src: the page; dst: PVN_ENTRIES words (may
 * be src).  paused: the domain is paused (errors are final).  0, or
 * -XEN_EAGAIN / -XEN_ERANGE / -XEN_E2BIG with *fault filled (fault may be
 * NULL), or -XEN_EINVAL for a NULL argument.  dst is written only on 0.
 */
int pv_normalise_page(uint32_t type, const uint64_t *src, uint64_t *dst,
                      const struct pvn_save_ops *ops, bool paused,
                      struct pvn_fault *fault);

/* Restore side: the destination's p2m for the domain being built. */
struct pvn_restore_ops {
    /* The mfn pfn is backed by on the destination, INVALID_MFN if none. */
    uint64_t (*pfn_to_mfn)(void *opaque, uint64_t pfn);
    /* Populate pfns[0..n) (each without an mfn, each listed once); 0 or a
       negative Xen errno, returned as is. */
    int (*populate)(void *opaque, const uint64_t *pfns, unsigned n);
    uint64_t max_pfn;           /* the highest pfn the stream may name */
    void *opaque;
};

/*
 * Localise one page in place (N1, N4).  type: the last type received for
 * its pfn.  0, -XEN_ERANGE with *fault, what populate returned, or
 * -XEN_EINVAL for a NULL argument.  page is unchanged unless 0.
 */
int pv_localise_page(uint32_t type, uint64_t *page,
                     const struct pvn_restore_ops *ops,
                     struct pvn_fault *fault);

/* One pin the restorer issues (N5). */
struct pvn_pin {
    uint64_t pfn;
    unsigned cmd;               /* MMUEXT_PIN_L1_TABLE .. MMUEXT_PIN_L4_TABLE */
};

/*
 * The pins for types[0..nr_pfns) (types[pfn] = last type received), in
 * Xen's order (N5).  Writes at most cap pins to out and the count needed to
 * *nr; -XEN_E2BIG (nothing useful in out) when cap is too small, so a call
 * with cap 0 sizes the array.
 */
int pv_pin_list(const uint32_t *types, uint64_t nr_pfns, struct pvn_pin *out,
                size_t cap, size_t *nr);

/* The XEN_DOMCTL_PFINFO_* table level of a type: 1..4, else 0. */
unsigned pvn_type_level(uint32_t type);

#endif /* HVLAB_TOOLSTACK_PV_NORMALISE_H */
