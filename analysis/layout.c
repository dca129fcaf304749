/*
 * analysis/layout.c - the name tables of analysis/layout.h (rules L1-L3
 * there).
 */
#include "analysis/layout.h"

/* core/mm/p2m.c p2m_type_name, index for index (L2) */
static const char *const p2m_names[ST_P2M_NR] = {
    [ST_P2M_RAM_RW] = "ram_rw",           [ST_P2M_INVALID] = "invalid",
    [ST_P2M_RAM_LOGDIRTY] = "ram_logdirty", [ST_P2M_RAM_RO] = "ram_ro",
    [ST_P2M_MMIO_DM] = "mmio_dm",         [ST_P2M_MMIO_DIRECT] = "mmio_direct",
    [ST_P2M_POPULATE_ON_DEMAND] = "populate_on_demand",
    [ST_P2M_GRANT_MAP_RW] = "grant_map_rw",
    [ST_P2M_GRANT_MAP_RO] = "grant_map_ro",
    [ST_P2M_RAM_PAGING_OUT] = "ram_paging_out",
    [ST_P2M_RAM_PAGED] = "ram_paged",     [ST_P2M_RAM_PAGING_IN] = "ram_paging_in",
    [ST_P2M_RAM_SHARED] = "ram_shared",   [ST_P2M_RAM_BROKEN] = "ram_broken",
    [ST_P2M_MAP_FOREIGN] = "map_foreign", [ST_P2M_IOREQ_SERVER] = "ioreq_server",
};

/* core/mm/pv_pt.h enum pt_write_path, in a finding's words */
static const char *const path_names[ST_PTW_NR] = {
    "mmu_update", "mmu_update (raw)", "update_va_mapping", "ptwr emulation",
    "ptwr unhook", "ptwr flush", "ptwr re-hook", "ptwr protect",
    "the hypervisor", "teardown", "the domain builder", "a grant map or unmap",
};

const char *st_p2m_type_name(uint64_t t)
{
    return t < ST_P2M_NR ? p2m_names[t] : "?";
}

const char *st_pt_path_name(unsigned path)
{
    return path < ST_PTW_NR ? path_names[path] : "an unknown path";
}
