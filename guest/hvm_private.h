/*
 * guest/hvm_private.h - the HVM kernel's private state.
 *
 * The HVM kernel is the PV kernel's process model (guest/private.h: the
 * same kernel state, processes, threads, run queue, pfn allocator, rules
 * K4-K6) compiled a second time with its own symbols, and with the parts
 * that touch the hypervisor rewritten for an HVM guest:
 *   - its page tables hold guest frame numbers (pfn_to_mfn / mfn_to_pfn are
 *     the identity on RAM gfns: there is no p2m list and no M2P to read);
 *   - every table is ordinary, writable memory of the direct map: entries
 *     are written with plain stores, read-modify-writes (fork's
 *     write-protection, munmap's clears) with a locked cmpxchg, as Linux's
 *     ptep_set_wrprotect / ptep_get_and_clear;
 *   - CR3 loads are hvm_set_cr3(), local flushes hvm_invlpg() /
 *     hvm_flush_tlb() (core/hvm.h); it makes no page-table hypercall (K2
 *     and K3 of private.h do not apply, K1 reduces to mmu_* accesses, the
 *     #PF handler and those instructions).
 * guest/hvm_workload.c and guest/hvm_sched.c compile guest/workload.c and
 * guest/pv_sched.c against this header, so a scenario can swap kind=pv for
 * kind=hvm and run exactly the same programs.
 *
 * Rules of the HVM kernel:
 *   H1  Remote TLB shootdowns: the local vCPU executes the flush instruction
 *       (it exits to the hypervisor: shadow resync, etc.); the other vCPUs
 *       of the mm's cpumask get the flush IPI's effect on their TLB as the
 *       MMU's remote flush request (core/mmu.h mmu_request_flush), which
 *       waits for an access in flight there to finish.  There is no guest
 *       IPI model yet, so a remote vCPU does not itself exit for the flush.
 *   H2  A table frame is zeroed before it is hooked, and unhooked (entry
 *       cleared, TLBs flushed) before it is freed.
 */
#ifndef HVLAB_GUEST_HVM_PRIVATE_H
#define HVLAB_GUEST_HVM_PRIVATE_H

#include "guest/guest.h"

/* The PV kernel's state, under HVM names (see the comment above). */
#define guest_pv                guest_hvm
#define klog                    hvm_klog
#define hc_mmu_update           hvm_hc_mmu_update_
#define hc_mmuext               hvm_hc_mmuext_
#define hc_mmuext1              hvm_hc_mmuext1_
#define hc_flush_mask           hvm_hc_flush_mask_
#define hc_uva                  hvm_hc_uva_
#define hc_vm_assist            hvm_hc_vm_assist_
#define pt_batch_add            hvm_pt_batch_add_
#define pt_batch_flush          hvm_pt_batch_flush
#define pfn_to_mfn              hvm_pfn_to_gfn
#define mfn_to_pfn              hvm_gfn_to_pfn
#define pfn_alloc               hvm_pfn_alloc
#define pfn_free                hvm_pfn_free
#define pfn_zero                hvm_pfn_zero
#define kload                   hvm_kload
#define kstore                  hvm_kstore
#define pt_make_ro              hvm_pt_make_ro_
#define pt_make_rw              hvm_pt_make_rw_
#define pt_seal_table           hvm_pt_seal_table_
#define pt_alloc_table          hvm_pt_alloc_table
#define pt_free_table           hvm_pt_free_table
#define pt_set_upper            hvm_pt_set_upper
#define pt_set_l1e              hvm_pt_set_l1e
#define pt_read                 hvm_pt_read
#define pt_walk                 hvm_pt_walk
#define proc_spawn              hvm_proc_spawn
#define proc_fork               hvm_proc_fork
#define proc_thread_exit        hvm_proc_thread_exit
#define proc_kill               hvm_proc_kill
#define proc_add_vma            hvm_proc_add_vma
#define proc_munmap             hvm_proc_munmap
#define mm_switch               hvm_mm_switch
#define mm_flush_va             hvm_mm_flush_va
#define mm_flush_all            hvm_mm_flush_all
#define guest_pv_page_fault     guest_hvm_page_fault
#define rq_push                 hvm_rq_push
#define proc_start              hvm_proc_start
#define rq_pop                  hvm_rq_pop
#define sched_loop              hvm_sched_loop
#define workload_start          hvm_workload_start
#define workload_slice          hvm_workload_slice

#include "guest/private.h"

/* Only the HVM kernel's own functions below: the PV names above that end
   in '_' have no HVM definition and must stay unused. */

/* In the HVM kernel a "mfn" in a PTE is a gfn: the identity on RAM. */
static inline bool hvm_gfn_ok(const struct guest_hvm *g, pfn_t gfn)
{
    return gfn < g->nr_pages;
}

#endif /* HVLAB_GUEST_HVM_PRIVATE_H */
