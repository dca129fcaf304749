/*
 * fuzz/main/gen-dict.c - print the AFL++ dictionaries of the fuzz surfaces
 * (fuzz/dict/SURFACE.dict) from Xen's public headers, so no number is
 * typed by hand: `make fuzz-dict` runs `gen-dict DIR`.
 *
 * Rules:
 *   D1  Every token but D3's is a named constant of Xen's public headers (or, for the stream's
 *       layout, toolstack/stream.h; for PTE bits, core/pte.h), printed as
 *       the bytes it has in an input: little-endian words of the width the
 *       field has (u32 op codes and flags, u64 PTEs and pfn words), except
 *       the stream's image header, which is big-endian (stream.h S1).
 *   D2  One file per surface; a surface's dictionary holds the ops it
 *       issues (grant and shadow also take the mm tokens, since their
 *       programs mix mm calls in).  race takes the mm tokens alone: after its
 *       schedule prefix its input is an mm program (fuzz/race.h).
 *       hvmrace takes the shadow and mm tokens and story B's paging and
 *       sharing op codes (fuzz/hvmrace.h).
 *   D3  The program surfaces (all but restore) also take the bytes of the
 *       program format's own picks (fuzz/pool.h Q2, Q3): the actor's
 *       L4..L1, data and buffer frames #0 and #1 as a pick (pool byte,
 *       index), and its table and data frames as a PTE of flag rows P|RW
 *       and P (pool byte, index, row).  Xen's constants reach only raw
 *       words; these let a mutation swap one frame of a call for another
 *       role's, such as an L2 entry naming the other L2 read-only (a
 *       linear entry: XSA-240, XSA-309).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/domctl.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>

#include "core/pte.h"
#include "fuzz/pool.h"
#include "toolstack/stream.h"

static FILE *out;

static void tok(const char *name, uint64_t v, unsigned width, int big)
{
    fprintf(out, "%s=\"", name);
    for (unsigned i = 0; i < width; i++) {
        unsigned sh = big ? 8 * (width - 1 - i) : 8 * i;
        fprintf(out, "\\x%02x", (unsigned)((v >> sh) & 0xff));
    }
    fprintf(out, "\"\n");
}
#define U32(x)  tok(#x, (uint64_t)(x), 4, 0)
#define U16(x)  tok(#x, (uint64_t)(x), 2, 0)
#define U64(n, x) tok(n, (uint64_t)(x), 8, 0)

static void hypercalls_mm(void)
{
    U32(__HYPERVISOR_mmu_update);
    U32(__HYPERVISOR_mmuext_op);
    U32(__HYPERVISOR_update_va_mapping);
    U32(__HYPERVISOR_update_va_mapping_otherdomain);
    U32(__HYPERVISOR_memory_op);
    U32(__HYPERVISOR_vm_assist);
    U32(__HYPERVISOR_multicall);
    U32(MMU_NORMAL_PT_UPDATE);
    U32(MMU_MACHPHYS_UPDATE);
    U32(MMU_PT_UPDATE_PRESERVE_AD);
    U32(MMU_PT_UPDATE_NO_TRANSLATE);
    U32(MMUEXT_PIN_L1_TABLE);
    U32(MMUEXT_PIN_L2_TABLE);
    U32(MMUEXT_PIN_L3_TABLE);
    U32(MMUEXT_PIN_L4_TABLE);
    U32(MMUEXT_UNPIN_TABLE);
    U32(MMUEXT_NEW_BASEPTR);
    U32(MMUEXT_TLB_FLUSH_LOCAL);
    U32(MMUEXT_INVLPG_LOCAL);
    U32(MMUEXT_TLB_FLUSH_MULTI);
    U32(MMUEXT_INVLPG_MULTI);
    U32(MMUEXT_TLB_FLUSH_ALL);
    U32(MMUEXT_INVLPG_ALL);
    U32(MMUEXT_FLUSH_CACHE);
    U32(MMUEXT_SET_LDT);
    U32(MMUEXT_NEW_USER_BASEPTR);
    U32(MMUEXT_CLEAR_PAGE);
    U32(MMUEXT_COPY_PAGE);
    U32(MMUEXT_FLUSH_CACHE_GLOBAL);
    U32(MMUEXT_MARK_SUPER);
    U32(MMUEXT_UNMARK_SUPER);
    U32(UVMF_TLB_FLUSH);
    U32(UVMF_INVLPG);
    U32(UVMF_ALL);
    U32(XENMEM_increase_reservation);
    U32(XENMEM_decrease_reservation);
    U32(XENMEM_populate_physmap);
    U32(XENMEM_exchange);
    U32(XENMEM_maximum_ram_page);
    U32(XENMEM_current_reservation);
    U32(XENMEM_maximum_reservation);
    U32(XENMEM_maximum_gpfn);
    U32(XENMEM_machphys_mfn_list);
    U32(XENMEM_add_to_physmap);
    U32(XENMEM_remove_from_physmap);
    U32(XENMEM_memory_map);
    U32(VMASST_TYPE_writable_pagetables);
    U32(VMASST_TYPE_m2p_strict);
    U32(VMASST_CMD_enable);
    U32(VMASST_CMD_disable);
    U16(DOMID_SELF);
    /* PTE low bytes: the common flag sets, and NX in the top byte. */
    U64("pte_p", _PAGE_PRESENT);
    U64("pte_p_rw", _PAGE_PRESENT | _PAGE_RW);
    U64("pte_p_rw_us_a", _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
    U64("pte_p_rw_us_a_d", _PAGE_PRESENT | _PAGE_RW | _PAGE_USER |
                           _PAGE_ACCESSED | _PAGE_DIRTY);
    U64("pte_p_a", _PAGE_PRESENT | _PAGE_ACCESSED);
    U64("pte_p_pse", _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE);
    U64("pte_p_global", _PAGE_PRESENT | _PAGE_GLOBAL);
    U64("pte_nx", _PAGE_NX);
    U64("pte_avail_high", _PAGE_AVAIL_HIGH);
}

static void hypercalls_grant(void)
{
    U32(__HYPERVISOR_grant_table_op);
    U32(__HYPERVISOR_event_channel_op);
    U32(GNTTABOP_map_grant_ref);
    U32(GNTTABOP_unmap_grant_ref);
    U32(GNTTABOP_setup_table);
    U32(GNTTABOP_dump_table);
    U32(GNTTABOP_transfer);
    U32(GNTTABOP_copy);
    U32(GNTTABOP_query_size);
    U32(GNTTABOP_unmap_and_replace);
    U32(GNTTABOP_set_version);
    U32(GNTTABOP_get_status_frames);
    U32(GNTTABOP_get_version);
    U32(GNTTABOP_swap_grant_ref);
    U32(GNTTABOP_cache_flush);
    U32(GNTMAP_device_map);
    U32(GNTMAP_host_map);
    U32(GNTMAP_readonly);
    U32(GNTMAP_application_map);
    U32(GNTMAP_contains_pte);
    U16(GTF_permit_access);
    U16(GTF_accept_transfer);
    U16(GTF_transitive);
    U16(GTF_readonly);
    U16(GTF_reading);
    U16(GTF_writing);
    U16(GTF_sub_page);
    U16(GNTCOPY_source_gref);
    U16(GNTCOPY_dest_gref);
    U32(EVTCHNOP_bind_interdomain);
    U32(EVTCHNOP_bind_virq);
    U32(EVTCHNOP_close);
    U32(EVTCHNOP_send);
    U32(EVTCHNOP_status);
    U32(EVTCHNOP_alloc_unbound);
    U32(EVTCHNOP_bind_ipi);
    U32(EVTCHNOP_bind_vcpu);
    U32(EVTCHNOP_unmask);
    U32(EVTCHNOP_reset);
    U32(EVTCHNOP_init_control);
    U32(EVTCHNOP_expand_array);
    U32(EVTCHNOP_set_priority);
}

static void hypercalls_shadow(void)
{
    U32(__HYPERVISOR_domctl);
    U32(__HYPERVISOR_hvm_op);
    U32(XEN_DOMCTL_shadow_op);
    U32(XEN_DOMCTL_SHADOW_OP_OFF);
    U32(XEN_DOMCTL_SHADOW_OP_ENABLE);
    U32(XEN_DOMCTL_SHADOW_OP_CLEAN);
    U32(XEN_DOMCTL_SHADOW_OP_PEEK);
    U32(XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION);
    U32(XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION);
    U32(XEN_DOMCTL_SHADOW_OP_ENABLE_TEST);
    U32(XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
}

/* hvmrace's story B ops (fuzz/call.c CA9, CA10). */
static void hypercalls_p2m(void)
{
    U32(XENMEM_paging_op);
    U32(XENMEM_sharing_op);
    tok("XENMEM_paging_op_nominate", XENMEM_paging_op_nominate, 1, 0);
    tok("XENMEM_paging_op_evict", XENMEM_paging_op_evict, 1, 0);
    tok("XENMEM_paging_op_prep", XENMEM_paging_op_prep, 1, 0);
    tok("XENMEM_sharing_op_nominate_gfn", XENMEM_sharing_op_nominate_gfn, 1,
        0);
    tok("XENMEM_sharing_op_share", XENMEM_sharing_op_share, 1, 0);
}

static void stream_tokens(void)
{
    tok("ihdr_marker", STREAM_IHDR_MARKER, 8, 1);
    tok("ihdr_id", STREAM_IHDR_ID, 4, 1);
    tok("ihdr_version", STREAM_IHDR_VERSION, 4, 1);
    tok("ihdr_opt_big_endian", STREAM_IHDR_OPT_BIG_ENDIAN, 2, 1);
    U32(STREAM_DHDR_TYPE_X86_PV);
    U32(STREAM_DHDR_TYPE_X86_HVM);
    U16(STREAM_PAGE_SHIFT);
    for (uint32_t t = 0; t < STREAM_REC_NR_KNOWN; t++) {
        char name[64];
        snprintf(name, sizeof(name), "rec_%s", stream_rec_name(t));
        tok(name, t, 4, 0);
    }
    U32(STREAM_REC_OPTIONAL);
    U32(STREAM_REC_LENGTH_MAX);
    /* The high half of a PAGE_DATA pfn word (stream.h S3). */
    U32(XEN_DOMCTL_PFINFO_NOTAB);
    U32(XEN_DOMCTL_PFINFO_L1TAB);
    U32(XEN_DOMCTL_PFINFO_L2TAB);
    U32(XEN_DOMCTL_PFINFO_L3TAB);
    U32(XEN_DOMCTL_PFINFO_L4TAB);
    U32(XEN_DOMCTL_PFINFO_L4TAB | XEN_DOMCTL_PFINFO_LPINTAB);
    U32(XEN_DOMCTL_PFINFO_L1TAB | XEN_DOMCTL_PFINFO_LPINTAB);
    U32(XEN_DOMCTL_PFINFO_XTAB);
    U32(XEN_DOMCTL_PFINFO_XALLOC);
    U32(XEN_DOMCTL_PFINFO_BROKEN);
    U16(HVM_SAVE_CODE(HEADER));
    U16(HVM_SAVE_CODE(CPU));
    U16(HVM_SAVE_CODE(END));
    U32(HVM_FILE_MAGIC);
    tok("hvm_cpu_size", sizeof(struct hvm_hw_cpu), 4, 0);
    tok("vcpu_context_size", sizeof(vcpu_guest_context_t), 4, 0);
    U32(HVM_PARAM_STORE_EVTCHN);
    U32(HVM_PARAM_CONSOLE_EVTCHN);
    U32(HVM_NR_PARAMS);
    U64("pte_p_rw_us_a", _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
}

/* D3: "pick_L2_1" = the actor's L2 #1; "pte_L2_1_P" = PTE(L2 #1, P). */
static void pick_tokens(void)
{
    static const struct { enum fz_role role; const char *name; } roles[] = {
        { FZ_R_L4, "L4" }, { FZ_R_L3, "L3" }, { FZ_R_L2, "L2" },
        { FZ_R_L1, "L1" }, { FZ_R_DATA, "data" }, { FZ_R_BUF, "buf" },
    };
    static const struct { uint64_t bits; const char *name; } rows[] = {
        { _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY, "RW" },
        { _PAGE_PRESENT | _PAGE_ACCESSED, "P" },
    };
    for (unsigned r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
        for (unsigned idx = 0; idx < 2; idx++) {
            uint8_t pool = (uint8_t)(4 * roles[r].role);    /* dom 0: self */
            char name[64];
            snprintf(name, sizeof(name), "pick_%s_%u", roles[r].name, idx);
            tok(name, pool | (uint64_t)idx << 8, 2, 0);
            if (roles[r].role == FZ_R_BUF)
                continue;
            for (unsigned k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
                unsigned row = FZ_PTE_ROWS;
                for (unsigned j = 0; j < FZ_PTE_ROWS; j++)
                    if (fz_pte_flags[j].bits == rows[k].bits)
                        row = j;
                if (row == FZ_PTE_ROWS)
                    continue;
                snprintf(name, sizeof(name), "pte_%s_%u_%s", roles[r].name,
                         idx, rows[k].name);
                tok(name, pool | (uint64_t)idx << 8 | (uint64_t)row << 16,
                    3, 0);
            }
        }
}

static int write_dict(const char *dir, const char *surface, void (*fn[])(void))
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.dict", dir, surface);
    out = fopen(path, "w");
    if (!out) {
        perror(path);
        return 1;
    }
    fprintf(out, "# fuzz/dict/%s.dict - generated by fuzz/main/gen-dict.c "
            "from Xen's public headers (make fuzz-dict)\n", surface);
    for (unsigned i = 0; fn[i]; i++)
        fn[i]();
    return fclose(out) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-dict DIR\n");
        return 2;
    }
    void (*mm[])(void) = { hypercalls_mm, pick_tokens, NULL };
    void (*grant[])(void) = { hypercalls_grant, hypercalls_mm, pick_tokens,
                              NULL };
    void (*shadow[])(void) = { hypercalls_shadow, hypercalls_mm, pick_tokens,
                               NULL };
    void (*restore[])(void) = { stream_tokens, NULL };
    /* race: after its schedule prefix, an mm program */
    void (*race[])(void) = { hypercalls_mm, pick_tokens, NULL };
    void (*hvmrace[])(void) = { hypercalls_shadow, hypercalls_p2m,
                                hypercalls_mm, pick_tokens, NULL };
    return write_dict(argv[1], "mm", mm) | write_dict(argv[1], "grant", grant) |
           write_dict(argv[1], "shadow", shadow) |
           write_dict(argv[1], "restore", restore) |
           write_dict(argv[1], "race", race) |
           write_dict(argv[1], "hvmrace", hvmrace);
}
