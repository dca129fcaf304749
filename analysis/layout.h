/*
 * analysis/layout.h - hvlab's own numbers that trace fields carry: the
 * page words' bits, the PTE and #PF error-code bits the walks use, and the
 * values of the enumerations a field holds (p2m types, PTE write paths,
 * fault outcomes, shadow types and decisions).
 *
 * Rules:
 *   L1  analysis/ may not include core/ (shared/DESIGN.md): it reads
 *       traces, not hvlab's structures.  These numbers are the one place
 *       it restates core/'s; every file of analysis/ takes them from here.
 *   L2  Each value names the core/ definition it restates;
 *       tests/unit/test-trace-layout.c compiles both and fails when one
 *       of them moves (values and name tables alike).
 *   L3  What Xen's public headers define (DOMID_*, XEN_DOMCTL_PFINFO_*,
 *       GNTST_*) is taken from them, not restated.
 */
#ifndef HVLAB_ANALYSIS_LAYOUT_H
#define HVLAB_ANALYSIS_LAYOUT_H

#include <stdint.h>

/* core/mm/page.h: type_info and count_info */
#define ST_PGT_type_shift    61                      /* PGT_type_shift */
#define ST_PGT_type_mask     (7ULL << ST_PGT_type_shift)
#define ST_PGT_l1            (1ULL << ST_PGT_type_shift) /* PGT_l1_page_table */
#define ST_PGT_l4            (4ULL << ST_PGT_type_shift) /* PGT_l4_page_table */
#define ST_PGT_shared        (6ULL << ST_PGT_type_shift) /* PGT_shared_page */
#define ST_PGT_writable      (7ULL << ST_PGT_type_shift) /* PGT_writable_page */
#define ST_PGT_pinned        (1ULL << 59)            /* PGT_pinned */
#define ST_PGT_validated     (1ULL << 58)            /* PGT_validated */
#define ST_PGT_partial       (1ULL << 56)            /* PGT_partial */
#define ST_PGT_count_mask    ((1ULL << 55) - 1)      /* PGT_count_mask */
#define ST_PGC_count_mask    ((1ULL << 56) - 1)      /* PGC_count_mask */
#define ST_PGC_allocated     (1ULL << 63)            /* PGC_allocated */
#define ST_PGC_xen_heap      (1ULL << 62)            /* PGC_xen_heap */

/* core/pte.h: x86-64 entries and #PF error codes (Intel SDM vol. 3 ch. 4) */
#define ST_PTE_P             0x001ULL                /* _PAGE_PRESENT */
#define ST_PTE_RW            0x002ULL                /* _PAGE_RW */
#define ST_PTE_US            0x004ULL                /* _PAGE_USER */
#define ST_PTE_AD            0x060ULL                /* _PAGE_ACCESSED|_DIRTY:
                                                        set by the MMU, untraced */
#define ST_PTE_PS            0x080ULL                /* _PAGE_PSE */
#define ST_PTE_NX            (1ULL << 63)            /* _PAGE_NX */
#define ST_PTE_ADDR          0x000FFFFFFFFFF000ULL   /* bits 12..51 */
#define ST_PTE_MFN(p)        (((p) & ST_PTE_ADDR) >> 12)
#define ST_PADDR_RSVD        0x000FC00000000000ULL   /* bits 46..51: core/mmu.c
                                                        MMU_PADDR_BITS, private
                                                        to it: not asserted */
#define ST_PT_ENTRIES        512
#define ST_PFEC_P            0x01u                   /* PFEC_PRESENT */
#define ST_PFEC_W            0x02u                   /* PFEC_WRITE */
#define ST_PFEC_U            0x04u                   /* PFEC_USER */
#define ST_PFEC_RSVD         0x08u                   /* PFEC_RSVD */
#define ST_PFEC_I            0x10u                   /* PFEC_INSN */

/* core/mm/pv_pt.h enum pt_write_path: hvlab_pt:pte_write.path */
#define ST_PTW_PTWR_UNHOOK   4                       /* PTW_PTWR_UNHOOK */
#define ST_PTW_PTWR_FLUSH    5                       /* PTW_PTWR_FLUSH */
#define ST_PTW_PTWR_PROTECT  7                       /* PTW_PTWR_PROTECT */
#define ST_PTW_NR            12                      /* PTW_NR */
/* The path's words ("ptwr flush"), "an unknown path" past the table. */
const char *st_pt_path_name(unsigned path);

/* core/traps.h enum hv_fault_outcome: hvlab_hcall:fault.outcome */
#define ST_FAULT_BOUNCED     2                       /* HVF_BOUNCED */

/* core/shadow/private.h: hvlab_shadow's type and decision fields, and the
   magic shadow L1 entries (docs/shadow.md) */
#define ST_SH_L1             1                       /* SH_L1 */
#define ST_SH_L4             4                       /* SH_L4 */
#define ST_SH_FL1            6                       /* SH_FL1 */
#define ST_SHF_TYPES         0x1EU                   /* SHF_TYPES */
#define ST_SHF_OOS           0x40U                   /* SHF_OOS */
#define ST_SHF_OOS_MAY_WRITE 0x80U                   /* SHF_OOS_MAY_WRITE */
#define ST_SH_PATH_FAST      0       /* fault.path: the lock-free fast path */
#define ST_SH_DEC_FAST_PROPAGATE 3                   /* SHD_FAST_PROPAGATE */
#define ST_SH_GNP            UINT64_MAX              /* SH_L1E_GNP */
#define ST_SH_MAGIC          0xFFFFFFFF00000001ULL   /* SH_L1E_MAGIC (and mask) */

/* core/mm/p2m.h p2m_type_t (Xen's names and numbering) */
enum st_p2m_type {
    ST_P2M_RAM_RW = 0, ST_P2M_INVALID, ST_P2M_RAM_LOGDIRTY, ST_P2M_RAM_RO,
    ST_P2M_MMIO_DM, ST_P2M_MMIO_DIRECT, ST_P2M_POPULATE_ON_DEMAND,
    ST_P2M_GRANT_MAP_RW, ST_P2M_GRANT_MAP_RO, ST_P2M_RAM_PAGING_OUT,
    ST_P2M_RAM_PAGED, ST_P2M_RAM_PAGING_IN, ST_P2M_RAM_SHARED,
    ST_P2M_RAM_BROKEN, ST_P2M_MAP_FOREIGN, ST_P2M_IOREQ_SERVER,
    ST_P2M_NR
};
/* The type's name without "p2m_" ("ram_rw"), "?" past the table. */
const char *st_p2m_type_name(uint64_t t);

#endif /* HVLAB_ANALYSIS_LAYOUT_H */
