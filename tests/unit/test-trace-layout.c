/*
 * tests/unit/test-trace-layout.c - analysis/layout.h restates core/'s
 * numbers that traces carry (its rule L2): compiled here beside core/'s
 * own definitions, a value that moves in one and not the other fails the
 * build (the static assertions) or a test (the name tables).
 */
#include "analysis/layout.h"
#include "core/mm/p2m.h"
#include "core/mm/page.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/pte.h"
#include "core/shadow/private.h"
#include "core/traps.h"
#include "tests/unit/test.h"

#define SAME(a, b) _Static_assert((uint64_t)(a) == (uint64_t)(b), #a " != " #b)

SAME(ST_PGT_type_shift, PGT_type_shift);
SAME(ST_PGT_type_mask, PGT_type_mask);
SAME(ST_PGT_l1, PGT_l1_page_table);
SAME(ST_PGT_l4, PGT_l4_page_table);
SAME(ST_PGT_shared, PGT_shared_page);
SAME(ST_PGT_writable, PGT_writable_page);
SAME(ST_PGT_pinned, PGT_pinned);
SAME(ST_PGT_validated, PGT_validated);
SAME(ST_PGT_partial, PGT_partial);
SAME(ST_PGT_count_mask, PGT_count_mask);
SAME(ST_PGC_count_mask, PGC_count_mask);
SAME(ST_PGC_allocated, PGC_allocated);
SAME(ST_PGC_xen_heap, PGC_xen_heap);

SAME(ST_PTE_P, _PAGE_PRESENT);
SAME(ST_PTE_RW, _PAGE_RW);
SAME(ST_PTE_US, _PAGE_USER);
SAME(ST_PTE_AD, _PAGE_ACCESSED | _PAGE_DIRTY);
SAME(ST_PTE_PS, _PAGE_PSE);
SAME(ST_PTE_NX, _PAGE_NX);
SAME(ST_PFEC_P, PFEC_PRESENT);
SAME(ST_PFEC_W, PFEC_WRITE);
SAME(ST_PFEC_U, PFEC_USER);
SAME(ST_PFEC_RSVD, PFEC_RSVD);
SAME(ST_PFEC_I, PFEC_INSN);

SAME(ST_PTW_PTWR_UNHOOK, PTW_PTWR_UNHOOK);
SAME(ST_PTW_PTWR_FLUSH, PTW_PTWR_FLUSH);
SAME(ST_PTW_PTWR_PROTECT, PTW_PTWR_PROTECT);
SAME(ST_PTW_NR, PTW_NR);
SAME(ST_FAULT_BOUNCED, HVF_BOUNCED);

SAME(ST_SH_L1, SH_L1);
SAME(ST_SH_L4, SH_L4);
SAME(ST_SH_FL1, SH_FL1);
SAME(ST_SHF_TYPES, SHF_TYPES);
SAME(ST_SHF_OOS, SHF_OOS);
SAME(ST_SHF_OOS_MAY_WRITE, SHF_OOS_MAY_WRITE);
SAME(ST_SH_DEC_FAST_PROPAGATE, SHD_FAST_PROPAGATE);
SAME(ST_SH_GNP, SH_L1E_GNP);
SAME(ST_SH_MAGIC, SH_L1E_MAGIC);
SAME(ST_SH_MAGIC, SH_L1E_MAGIC_MASK);

SAME(ST_P2M_NR, p2m_nr_types);
SAME(ST_P2M_RAM_RO, p2m_ram_ro);
SAME(ST_P2M_GRANT_MAP_RW, p2m_grant_map_rw);
SAME(ST_P2M_GRANT_MAP_RO, p2m_grant_map_ro);
SAME(ST_P2M_RAM_SHARED, p2m_ram_shared);
SAME(ST_P2M_MAP_FOREIGN, p2m_map_foreign);

static void t_p2m_names(void)
{
    for (unsigned t = 0; t < p2m_nr_types; t++) {
        if (strcmp(st_p2m_type_name(t), p2m_type_name[t]) != 0)
            fprintf(stderr, "  p2m type %u: analysis says %s, core/ %s\n", t,
                    st_p2m_type_name(t), p2m_type_name[t]);
        CHECK_EQ(strcmp(st_p2m_type_name(t), p2m_type_name[t]), 0);
    }
    CHECK_EQ(strcmp(st_p2m_type_name(p2m_nr_types), "?"), 0);
}

static void t_path_names(void)
{
    for (unsigned p = 0; p < PTW_NR; p++) {
        CHECK(pt_write_path_name[p] != NULL);
        CHECK(strcmp(st_pt_path_name(p), "an unknown path") != 0);
    }
    CHECK_EQ(strcmp(st_pt_path_name(PTW_NR), "an unknown path"), 0);
}

static const struct test tests[] = {
    { "analysis names every p2m type as core/ does, index for index", t_p2m_names },
    { "analysis has words for every PTE write path core/ traces", t_path_names },
};
TEST_MAIN(tests)
