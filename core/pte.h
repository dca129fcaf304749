/*
 * core/pte.h - x86-64 4-level page-table entries, as the hardware defines them.
 *
 * The MMU model, the PV validators and the guest kernels all speak these bits.
 * Bit positions are the architectural ones (Intel SDM vol. 3, 4.5).
 */
#ifndef HVLAB_CORE_PTE_H
#define HVLAB_CORE_PTE_H

#include "core/types.h"

typedef uint64_t pte_t;

#define _PAGE_PRESENT   0x001ULL
#define _PAGE_RW        0x002ULL
#define _PAGE_USER      0x004ULL
#define _PAGE_PWT       0x008ULL
#define _PAGE_PCD       0x010ULL
#define _PAGE_ACCESSED  0x020ULL
#define _PAGE_DIRTY     0x040ULL
#define _PAGE_PSE       0x080ULL        /* L2/L3: superpage; L1: PAT */
#define _PAGE_PAT       0x080ULL
#define _PAGE_GLOBAL    0x100ULL
#define _PAGE_AVAIL     0xE00ULL        /* bits 9-11, software */
#define _PAGE_AVAIL_HIGH (0x7FFULL << 52) /* bits 52-62, software */
/* Xen's marker for PTEs installed by a grant map; guests may never set it. */
#define _PAGE_GNTTAB    (1ULL << 62)
#define _PAGE_NX        (1ULL << 63)

#define PTE_ADDR_MASK   0x000FFFFFFFFFF000ULL
#define PTE_FLAGS_MASK  (~PTE_ADDR_MASK)

#define PT_ENTRIES      512
#define PT_LEVELS       4

/* #PF error code bits, as the CPU pushes them. */
#define PFEC_PRESENT    0x01u   /* 0: not-present, 1: protection */
#define PFEC_WRITE      0x02u
#define PFEC_USER       0x04u
#define PFEC_RSVD       0x08u
#define PFEC_INSN       0x10u

static inline mfn_t pte_mfn(pte_t e) { return (e & PTE_ADDR_MASK) >> PAGE_SHIFT; }
static inline uint64_t pte_flags(pte_t e) { return e & PTE_FLAGS_MASK; }
static inline bool pte_present(pte_t e) { return e & _PAGE_PRESENT; }
static inline pte_t pte_make(mfn_t mfn, uint64_t flags)
{
    return ((mfn << PAGE_SHIFT) & PTE_ADDR_MASK) | (flags & PTE_FLAGS_MASK);
}

/* Slot of a virtual address in the table of a level (1..4). */
static inline unsigned pt_index(uint64_t va, unsigned level)
{
    return (unsigned)((va >> (PAGE_SHIFT + 9 * (level - 1))) & (PT_ENTRIES - 1));
}

/* Bytes covered by one entry of a level: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
static inline uint64_t pt_entry_span(unsigned level)
{
    return 1ULL << (PAGE_SHIFT + 9 * (level - 1));
}

/* Canonical 48-bit address check. */
static inline bool va_is_canonical(uint64_t va)
{
    /* Bits 63..47 all equal; shifting a negative int64_t left is UB. */
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1ffff;
}

#endif /* HVLAB_CORE_PTE_H */
