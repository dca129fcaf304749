/*
 * core/mm/pv_pt.h - PV page tables: validation, demotion, entry updates.
 *
 * promote/demote per level take and drop the references every present entry
 * holds (page.h R7); mod_lN_entry changes one entry of a validated table in
 * Xen's order: acquire the new target, write, release the old (never a
 * transient zero).  pt_write_entry() is the single writer of a PTE inside a
 * table the hypervisor manages, and traces it (hvlab_pt:pte_write).
 */
#ifndef HVLAB_CORE_MM_PV_PT_H
#define HVLAB_CORE_MM_PV_PT_H

#include "core/pte.h"
#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* Which path wrote a PTE (the `path` field of hvlab_pt:pte_write). */
enum pt_write_path {
    PTW_MMU_UPDATE = 0,     /* mmu_update MMU_NORMAL_PT_UPDATE / PRESERVE_AD */
    PTW_MMU_UPDATE_RAW,     /* mmu_update into a non-PT (writable) frame */
    PTW_UVA,                /* update_va_mapping */
    PTW_PTWR_EMULATE,       /* writable pagetables: emulated guest write */
    PTW_PTWR_UNHOOK,        /* unhook mode: L2 entry cleared (L1 unhooked) */
    PTW_PTWR_FLUSH,         /* unhook mode: guest's native write, revalidated */
    PTW_PTWR_REHOOK,        /* unhook mode: L2 entry restored */
    PTW_PTWR_PROTECT,       /* unhook mode: RW set/cleared on the L1's mapping */
    PTW_XEN,                /* Xen's own slots / M2P tables */
    PTW_TEARDOWN,           /* domain destruction */
    PTW_BUILD,              /* toolstack builder, before the domain runs */
    PTW_GRANT,              /* grant map / unmap (core/grant) */
    PTW_NR
};
extern const char *const pt_write_path_name[PTW_NR];

/* Write one PTE of a hypervisor-managed table (atomic), tracing old->new. */
void pt_write_entry(struct machine *m, domid_t dom, mfn_t table, unsigned level,
                    unsigned slot, pte_t old, pte_t new_pte,
                    enum pt_write_path path);
/* Compare-and-exchange variant (PRESERVE_AD, ptwr cmpxchg): returns the
   value found; the write happened iff it equals `old`. */
pte_t pt_cmpxchg_entry(struct machine *m, domid_t dom, mfn_t table,
                       unsigned level, unsigned slot, pte_t old, pte_t new_pte,
                       enum pt_write_path path);

/* References held by one entry (XEN-NOTES 2.2). 0 or -XEN_E*. */
int get_page_from_l1e(struct machine *m, pte_t l1e, struct domain *l1e_owner,
                      struct domain *pg_owner);
void put_page_from_l1e(struct machine *m, pte_t l1e, struct domain *l1e_owner);

/* Change one entry of a validated table of level `level` (1..4).
   pg_owner: owner of the data frame (foreign mappings); NULL = table owner. */
int mod_pt_entry(struct vcpu *v, mfn_t table, unsigned level, unsigned slot,
                 pte_t new_pte, bool preserve_ad, struct domain *pg_owner,
                 enum pt_write_path path);

/* Is this L4 slot the guest's (not Xen's)? */
bool is_guest_l4_slot(unsigned slot);

/* Read one entry of a table frame (atomic load). */
pte_t pt_read_entry(struct machine *m, mfn_t table, unsigned slot);

/*
 * Flags a guest may set in an entry of a level (XEN-NOTES 2.2): P, RW, US,
 * A, D, AVAIL, AVAIL_HIGH, NX; L1 also G, and never _PAGE_GNTTAB.  Entries
 * using any other flag bit (PWT, PCD, PSE/PAT, G above L1) are -XEN_EINVAL.
 */
uint64_t pt_disallow_mask(unsigned level);

/*
 * Switch a vCPU's kernel (user=false) or user root to new_root, which must
 * already hold the general + L4 type ref the root owns (or be INVALID_MFN
 * for none; 0 also means none for the user root); returns the old root
 * (INVALID_MFN: none), whose refs the caller now owns and must drop
 * (put_page_and_type_preemptible, parking it in old_guest_table on
 * -HV_ERESTART) - also when old == new_root.  Traces hvlab_pt:baseptr_set
 * on a change and reloads CR3 (mmu_load_cr3) for the root in use.  The
 * single writer of v->guest_table(_user).
 */
mfn_t pt_set_baseptr(struct vcpu *v, bool user, mfn_t new_root);

/* Scope and reason of a TLB flush (hvlab_pt:tlb_flush). */
enum tlb_flush_scope {
    TLBF_LOCAL = 0,         /* the requesting vCPU only */
    TLBF_MULTI,             /* the vCPUs of a mask */
    TLBF_ALL,               /* every vCPU the domain is dirty on */
};
enum tlb_flush_reason {
    TLBR_TYPE_CHANGE = 0,   /* a frame changed type (frame.c) */
    TLBR_MMUEXT,            /* mmuext_op TLB_FLUSH_* / INVLPG_* */
    TLBR_UVA,               /* update_va_mapping flags */
    TLBR_PT_UPDATE,         /* L2-L4 mmu_update: stale linear mappings */
    TLBR_PTWR,              /* writable pagetables (unhook, flush) */
    TLBR_BASEPTR,           /* CR3 switch */
    TLBR_P2M,               /* a p2m entry lost a frame or a permission */
    TLBR_NR
};
/*
 * Flush the TLBs of d's vCPUs in vcpu_mask (bit i = vCPU i): va is one page
 * (INVLPG) or MMU_FLUSH_ALL_VA.  The requester's own TLB (if it is in the
 * mask) is flushed now; the others get remote requests honoured at their
 * next access (core/mmu.h).  The one emitter of hvlab_pt:tlb_flush.
 */
void pt_flush_vcpus(struct domain *d, struct vcpu *requester,
                    uint64_t vcpu_mask, uint64_t va,
                    enum tlb_flush_scope scope, enum tlb_flush_reason reason);

#endif /* HVLAB_CORE_MM_PV_PT_H */
