/*
 * core/npt.h - nested page-table entries: the p2m as the MMU reads it.
 *
 * An HVM domain's p2m is a 4-level radix table in machine frames (9 bits
 * a level, like EPT/NPT), walked by the MMU in hap mode for every
 * guest-physical access and read by the hypervisor for every lookup.  The
 * format is EPT-like and ours:
 *
 *   bits  0-2   R, W, X: what the hardware allows (derived from the p2m
 *               type and access by core/mm/p2m.c, the only writer)
 *   bits 12-51  mfn (leaf) or next table (non-leaf)
 *   bits 52-57  p2m type (p2m_type_t, Xen's values), leaf only
 *   bits 58-61  p2m access (p2m_access_t, Xen's values), leaf only
 *
 * A non-leaf entry is present iff any of R/W/X is set (always all three).
 * A leaf entry with no permission bit is "not present" to the hardware but
 * still carries its type (paged, mmio_dm, invalid ...), so a nested fault
 * tells the hypervisor why the access stopped.
 */
#ifndef HVLAB_CORE_NPT_H
#define HVLAB_CORE_NPT_H

#include "core/types.h"

typedef uint64_t npte_t;

#define NPT_R               0x1ULL
#define NPT_W               0x2ULL
#define NPT_X               0x4ULL
#define NPT_RWX             (NPT_R | NPT_W | NPT_X)
#define NPT_ADDR_MASK       0x000FFFFFFFFFF000ULL
#define NPT_TYPE_SHIFT      52
#define NPT_TYPE_MASK       (0x3FULL << NPT_TYPE_SHIFT)
#define NPT_ACCESS_SHIFT    58
#define NPT_ACCESS_MASK     (0xFULL << NPT_ACCESS_SHIFT)
#define NPT_LEVELS          4
#define NPT_GFN_BITS        36          /* 2^36 gfns: 256 TiB guest-physical */

static inline mfn_t npte_mfn(npte_t e) { return (e & NPT_ADDR_MASK) >> PAGE_SHIFT; }
static inline unsigned npte_type(npte_t e)
{
    return (unsigned)((e & NPT_TYPE_MASK) >> NPT_TYPE_SHIFT);
}
static inline unsigned npte_access(npte_t e)
{
    return (unsigned)((e & NPT_ACCESS_MASK) >> NPT_ACCESS_SHIFT);
}
static inline unsigned npt_index(uint64_t gfn, unsigned level)
{
    return (unsigned)((gfn >> (9 * (level - 1))) & 511);
}

/* Nested-fault access bits (what the guest-physical access wanted). */
#define NPF_READ            0x1u
#define NPF_WRITE           0x2u
#define NPF_EXEC            0x4u
#define NPF_GUEST_WALK      0x8u        /* the access was the walk reading a
                                           guest page-table entry */

#endif /* HVLAB_CORE_NPT_H */
