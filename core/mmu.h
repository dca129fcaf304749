/*
 * core/mmu.h - the MMU as hardware: 4-level walk, TLB, guest accesses.
 *
 * The walk reads machine frames (PV: the guest's own tables), checks P, RW,
 * US and NX at every level, sets A (and D on a write) atomically as the CPU
 * does, and reports a fault with the error code the CPU would push.
 *
 * Guest accesses (mmu_load/store/cmpxchg/read/write) run on behalf of the
 * code executing on a vCPU: TLB first, then the walk; a fault is delivered to
 * the vCPU's fault vector (the hypervisor, which may bounce it to the guest
 * kernel) and the access is retried when the vector says so.
 *
 * Model choices (details and the full rule list in core/mmu.c):
 *   - A vCPU in kernel mode (v->in_kernel) makes supervisor accesses, in user
 *     mode user accesses (PFEC_USER); both walk v->cr3, which mmu_load_cr3()
 *     sets (flushing non-global TLB entries).  CR0.WP is on: supervisor
 *     writes to read-only pages fault too.  No SMEP/SMAP.
 *   - Remote flush requests wait, as a flush IPI does, until the target is
 *     no longer inside an access that began before the request.
 *   - The TLB is stale until flushed, and a TLB entry whose rights refuse an
 *     access faults without a walk (a spurious fault if the PTE was made more
 *     permissive meanwhile); every page fault drops the faulting address's
 *     entry, as the CPU does.
 *   - Frames outside the machine's RAM (in a PTE or as the root) fault with
 *     PFEC_RSVD | PFEC_PRESENT; a non-canonical address is a not-present
 *     fault (a CPU raises #GP).
 */
#ifndef HVLAB_CORE_MMU_H
#define HVLAB_CORE_MMU_H

#include "core/pte.h"
#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* Result of one walk. */
struct mmu_walk {
    pte_t pte[PT_LEVELS + 1];       /* entry read at each level [4..1] */
    mfn_t table[PT_LEVELS + 1];     /* table frame read at each level */
    unsigned fault_level;           /* level whose entry stopped the walk */
    unsigned page_level;            /* 1, or 2/3 for a superpage */
    mfn_t mfn;                      /* target frame (4K granule) */
    uint64_t eff_flags;             /* effective RW/US/NX over all levels
                                       (hap: the guest's AND the p2m's) */
    /* hap walks only (mmu_walk_hap); left untouched by mmu_walk. */
    uint64_t guest_flags;           /* the guest tables' own RW/US/NX */
    uint64_t gfn;                   /* target gfn (4K granule) */
    uint64_t npte;                  /* p2m leaf of the target */
};

/*
 * Set in every failed walk's result.  A supervisor read of a not-present
 * page has the error code 0, so the code alone cannot say "failed"; strip
 * this bit (or mask with MMU_PFEC_MASK) to get what the CPU would push.
 */
#define MMU_WALK_FAULT  0x80000000u
#define MMU_PFEC_MASK   (PFEC_PRESENT | PFEC_WRITE | PFEC_USER | PFEC_RSVD | \
                         PFEC_INSN)

/*
 * Walk the tables rooted at `root` for `va`.  `access` holds the PFEC_WRITE,
 * PFEC_USER and PFEC_INSN bits of the attempted access.  With set_ad, A is set
 * on every level and D on the leaf for a write, atomically (only on success).
 * Returns 0 on success, else MMU_WALK_FAULT | the #PF error code
 * (PFEC_PRESENT set for a protection or reserved-bit fault, plus the access
 * bits).
 */
uint32_t mmu_walk(struct machine *m, mfn_t root, uint64_t va, uint32_t access,
                  bool set_ad, struct mmu_walk *w);

/*
 * HVM with nested paging (PAGING_HAP, mmu.c rules 18-23): the walk reads the
 * guest's tables at guest-physical addresses and translates each of them,
 * and the final access, through the p2m (core/npt.h).  A refusal of the p2m
 * is a nested fault, reported here instead of a #PF error code.
 */
#define MMU_WALK_NPF    0x40000000u     /* result of a walk stopped by the p2m */

struct mmu_npf {
    uint64_t gpa;           /* guest-physical address refused */
    uint32_t access;        /* NPF_* bits */
    uint64_t npte;          /* the p2m leaf found (a hole: type p2m_invalid) */
};

/*
 * The two-dimensional walk of va for a hap vCPU: guest tables rooted at the
 * guest-physical guest_cr3, p2m rooted at npt_root.  Returns 0 (w->mfn is
 * the machine frame, w->eff_flags the guest's rights ANDed with the p2m's,
 * w->table[] the machine frames of the guest tables), MMU_WALK_FAULT | the
 * guest #PF error code, or MMU_WALK_NPF with *npf filled.  With set_ad, A/D
 * are set in the guest's entries (a write to the table's gfn: the p2m must
 * allow it, else a nested fault with NPF_WRITE | NPF_GUEST_WALK).
 */
uint32_t mmu_walk_hap(struct machine *m, mfn_t npt_root, uint64_t guest_cr3,
                      uint64_t va, uint32_t access, bool set_ad,
                      struct mmu_walk *w, struct mmu_npf *npf);

/* The p2m leaf for gfn under npt_root as the MMU sees it; a hole (no table
   on the way, gfn out of range) reads as type p2m_invalid, no rights. */
uint64_t mmu_npt_lookup(struct machine *m, mfn_t npt_root, uint64_t gfn);

/*
 * Drop every translation any vCPU of d caches (a p2m change: hap TLB
 * entries combine guest and p2m rights).  Remote-flush semantics
 * (mmu_request_flush_many): when it returns no access of d's vCPUs still
 * completes through an old translation.  Hypervisor code only, never from
 * inside an access.
 */
void mmu_flush_domain(struct domain *d);

/* Outcome of a guest access. */
#define MMU_OK      0
#define MMU_KILLED  1   /* the guest kernel refused the fault: abandon */

int mmu_load(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t *val);
int mmu_store(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t val);
/* *old: expected value in, observed value out; MMU_OK also when it differed
   (compare *old with what you passed to know). */
int mmu_cmpxchg(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t *old,
                uint64_t new_val);
int mmu_read(struct vcpu *v, uint64_t va, void *buf, size_t len);
int mmu_write(struct vcpu *v, uint64_t va, const void *buf, size_t len);

/* Translate for a hypervisor access on v's current root with the guest
   kernel's rights (no TLB fill, no fault delivery; sets A/D).  0 and *mfn,
   or MMU_WALK_FAULT | the #PF error code. */
uint32_t mmu_translate(struct vcpu *v, uint64_t va, uint32_t access, mfn_t *mfn);

/* Local TLB maintenance (the vCPU's own, immediate). */
void mmu_load_cr3(struct vcpu *v, mfn_t root);   /* flushes non-global */
void mmu_flush_local(struct vcpu *v);             /* flushes all */
void mmu_invlpg_local(struct vcpu *v, uint64_t va);

/*
 * Remote requests with flush-IPI semantics: the request is posted (the
 * target drops the translation before its next access) and the call returns
 * only when the target has passed an instruction boundary, i.e. is no longer
 * inside an access that started before the request.  So when it returns, no
 * access of the target can still complete through the old translation.
 * No wait when the target is the calling vCPU (`current`), when it is not
 * inside an access (not running, or between accesses), or while
 * target->tlb.flush_late is set (the injector's late-delivery hook).
 * Call with no access of the caller's own in flight (hypervisor code, not
 * from inside an access); locks may be held: an access in flight takes
 * none but leaf locks.  The _many form posts to every target, then waits
 * once for all (one heavy fence instead of n); NULL entries are skipped.
 */
#define MMU_FLUSH_ALL_VA  (~0ULL)
void mmu_request_flush(struct vcpu *target, uint64_t va /* or MMU_FLUSH_ALL_VA */);
void mmu_request_flush_many(struct vcpu *const *targets, unsigned n, uint64_t va);
/* Honour pending requests now (called at every access; cheap when none). */
void mmu_sync_requests(struct vcpu *v);

/*
 * Once per process, before any vCPU runs (machine_create calls it; later
 * calls are no-ops): set up the heavy fence remote requests use
 * (membarrier(2) private expedited; without it, both sides use a full
 * fence and the access path gets slower).
 */
void mmu_hw_init(void);

/*
 * Scheduling points on the access path (mmu.c rule 15): a vCPU reaches
 * sched_point(SP_MEM) every (mask + 1) of its accesses.  Per OS thread, so
 * a det-mode run (one thread) can set its quantum without touching runs on
 * other threads; the default is 63 (every 64 accesses).  mask + 1 must be a
 * power of two.
 */
extern __thread uint32_t mmu_sp_mem_mask;

#endif /* HVLAB_CORE_MMU_H */
