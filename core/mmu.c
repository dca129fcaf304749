/*
 * core/mmu.c - the MMU as hardware: page walk, TLB, guest accesses, faults.
 *
 * This file is the CPU's paging unit.  Its rules are the architecture's
 * (Intel SDM vol. 3, chapter 4, 4-level paging, CR0.WP=1, CR4.PGE=1,
 * EFER.NXE=1, no SMEP/SMAP, no PCID), plus the model choices marked (M).
 *
 * The walk (mmu_walk):
 *   1. Four levels from the root, over machine frames in host memory.  An
 *      entry without P stops the walk: a not-present fault (PFEC_PRESENT
 *      clear).  An entry with a reserved bit set stops it too: PFEC_RSVD |
 *      PFEC_PRESENT.  Reserved: address bits at or above MMU_PADDR_BITS at
 *      every level, PS in an L4e, and the low address bits (13..20 / 13..29)
 *      of a 2M / 1G superpage entry.
 *   2. PS in an L3e (1 GiB) or L2e (2 MiB) ends the walk at that level.
 *   3. Rights combine over all levels: a write needs RW everywhere (CR0.WP:
 *      supervisor writes too), a user access needs US everywhere, an
 *      instruction fetch faults if NX is set anywhere.  A protection fault
 *      is reported after a complete walk, with PFEC_PRESENT, and the access
 *      bits (PFEC_WRITE / PFEC_USER / PFEC_INSN) as attempted.
 *   4. (M) A table or target frame outside the machine's RAM is reported as
 *      a reserved-bit fault (PFEC_RSVD | PFEC_PRESENT): the model has no
 *      MMIO, and nobody can fix such an entry by paging something in.  A
 *      root outside RAM (e.g. INVALID_MFN, a vCPU with no CR3) likewise.
 *   5. (M) A non-canonical address, which raises #GP on a CPU, is reported
 *      as a not-present fault at level 4 so the guest kernel treats it as a
 *      bad address.
 *   6. With set_ad, a successful walk sets A in every entry it used and D in
 *      the leaf for a write, each with a locked compare-exchange on the
 *      entry as the CPU does.  (M) If the entry changed meanwhile (other
 *      than A/D), the walk starts over rather than set bits in an entry it
 *      did not translate through: A/D never appear in an entry that was
 *      cleared or replaced concurrently.  A failed walk sets nothing.
 *
 * The TLB (core/tlb.h), one per vCPU, written by its owner only:
 *   7. Direct-mapped by 4K virtual page number (superpages are cached per
 *      4K piece, marked TLB_SUPER).  Only successful walks fill it.
 *   8. A hit needs the tag and the rights: a write needs TLB_W (writable
 *      and D already set), a user access TLB_U.  A tagged entry that is
 *      writable but clean (TLB_RW without TLB_W) makes a write re-walk, as
 *      the CPU re-walks to set D.  A tagged entry whose rights refuse the
 *      access faults WITHOUT a walk (PFEC_PRESENT | access): the entry may
 *      be stale (the PTE was made writable since), which is the hardware's
 *      spurious fault that Xen's spurious-fault check exists for.
 *   9. Entries stay stale until INVLPG (mmu_invlpg_local), a CR3 load
 *      (mmu_load_cr3: non-global entries), a full flush (mmu_flush_local,
 *      which ticks the machine's tlbflush_clock) or a page fault on that
 *      address (the CPU drops the faulting address's entries).
 *  10. Remote flushes are requests (mmu_request_flush): a bit in
 *      flush_pending, plus the VA queued under req_lock (a full queue
 *      becomes a full flush).  The target honours them before its next
 *      access; when nothing is pending that costs one relaxed load.  The
 *      requester then waits as for a flush IPI's acknowledgement (rule 17).
 *
 * Guest accesses (mmu_load/store/cmpxchg/read/write):
 *  11. (M) A vCPU in kernel mode (v->in_kernel) makes supervisor accesses,
 *      in user mode user accesses (PFEC_USER); both walk v->cr3, the root
 *      the guest loaded for the mode it runs in.
 *  12. An access that crosses a page boundary is two accesses, low page
 *      first, as the CPU splits it.  (M) A crossing cmpxchg is atomic only
 *      against other crossing cmpxchgs (a global split lock).
 *  13. A fault: v->nr_faults++, sched_point(SP_FAULT), v->pending describes
 *      the access, then v->pf_vector(v, va, pfec) (no vector: the access is
 *      killed).  PF_KILL -> MMU_KILLED.  PF_RETRY -> the access is retried,
 *      unless the handler emulated it (pending.emulated): then it is
 *      complete and not re-executed (cmpxchg returns pending.observed, a
 *      load returns pending.observed).  More than MMU_MAX_RETRIES faults in
 *      a row on one access is a handler bug: a loud diagnostic, MMU_KILLED.
 *      Accesses made from inside the vector (the guest kernel's handler
 *      reading its page tables) nest: each restores the record of the
 *      access it interrupted, so pending always describes the innermost
 *      faulting access and is invalid outside any fault.
 *  14. mmu_read/mmu_write copy page by page; a page that faults is done in
 *      naturally aligned pieces of at most 8 bytes, each an ordinary access
 *      (so a fault handler sees what an instruction decoder would give it).
 *  15. Every 64 accesses of a vCPU reach sched_point(SP_MEM) (the period
 *      is per OS thread, mmu_sp_mem_mask: det mode sets its quantum).
 *  16. No system call on the access path: a TLB hit is a tag compare and a
 *      host load or store (plus the two stores of rule 17).
 *
 * HVM (rules 18-23; core/hvm.h).  A vCPU of a PAGING_SHADOW domain walks
 * v->cr3, the shadow root, exactly as a PV vCPU (rules 1-17).  A vCPU of a
 * PAGING_HAP domain walks in two dimensions, as nested paging does:
 *  18. The guest's 4-level tables are rooted at v->guest_cr3, a guest-
 *      physical address; every table's gfn, and the target gfn, is
 *      translated through the p2m at d->npt_root (core/npt.h: 4 levels,
 *      a non-leaf present iff any of R/W/X; a missing table or a gfn past
 *      NPT_GFN_BITS reads as a p2m_invalid leaf with no rights).
 *  19. A table's translation comes before the read of its entry: a p2m
 *      leaf without R (or naming a frame outside RAM) stops the walk with a
 *      nested fault (NPF_READ | NPF_GUEST_WALK, gpa of the entry), before
 *      any guest fault further down.  Guest faults follow rules 1-3 and 5
 *      with guest-physical frames (rule 4 becomes a nested fault) and go to
 *      pf_vector with the error code the CPU pushes.
 *  20. The final access needs R (load), W (store) or X (fetch) in the
 *      target's p2m leaf, else a nested fault with that NPF_* bit and the
 *      gpa of the access.
 *  21. A/D are set in the guest's entries through the translated frames
 *      (rule 6); that is a write to the table's gfn: a p2m leaf without W
 *      stops the walk with NPF_WRITE | NPF_GUEST_WALK (a log-dirty page
 *      table lands in the hypervisor).  A failed walk sets nothing.
 *  22. The TLB caches va -> mfn with the guest's rights AND the p2m's.  A
 *      p2m leaf without W keeps TLB_RW (the guest allows the write) but
 *      never TLB_W: a store re-walks and takes the nested fault, instead of
 *      a guest #PF from rule 8.  Entries stay until flushed like any other;
 *      a p2m change flushes with mmu_flush_domain() (p2m_set_entry does).
 *  23. A nested fault is delivered as a #PF is (rule 13: counted, window
 *      closed, SP_FAULT, v->pending describes the access, the same retry
 *      bound) to v->npf_vector(v, gpa, gla, access, npte); PF_RETRY retries
 *      (or completes an emulated access), PF_KILL or no vector kills it.
 *
 * PV log-dirty (rule 24; core/mm/paging.c L7-L9):
 *  24. While log-dirty is on for PV domain d, a TLB entry of d's vCPU
 *      carries TLB_W for a frame d owns only if the frame's bit was known
 *      set in the current round (paging_ld_round), checked inside the
 *      window; otherwise it keeps TLB_RW, so a write re-walks.  A write
 *      that finds no such approval takes a hypervisor-internal fault,
 *      never delivered to the guest: the window closes, the access counts
 *      as a fault of nobody's (no nr_faults, no pf_vector),
 *      paging_ld_write_fault marks the frame (source fault), the window
 *      reopens and the access is retried with the round it returned.
 *      Frames d does not own (grant and foreign mappings, Xen's) are never
 *      trapped, so a backend's writes through its mappings of d's frames
 *      stay invisible to d.  A/D bits a walk sets are writes to the
 *      tables: the tables whose entries changed are marked for their
 *      owner (source walk), outside the window, before the access is
 *      retried (mmu_walk / mmu_translate mark at once: hypervisor
 *      context).  With no domain in log-dirty, all this costs one relaxed
 *      load on the TLB-miss path only.
 *
 * Flush IPIs (rule 17):
 *  17. A flush IPI is taken at an instruction boundary and its initiator
 *      waits for every target's acknowledgement, so no access that began
 *      before the flush completes through the old translation once the
 *      flush is done (XEN-NOTES 1.3: a type change's flush is complete
 *      before validation proceeds).  Model:
 *      - Access window: each vCPU's tlb.access_seq is odd while it is inside
 *        an access (from the pending-request check and TLB lookup, through
 *        a walk and fill, to the end of the host load/store/cmpxchg) and
 *        even outside.  The fault vector runs OUTSIDE the window (the window
 *        closes before sched_point(SP_FAULT) and reopens when the vector
 *        returns): the hypervisor takes locks there, and a requester holding
 *        one must not wait for it.  A window takes only leaf locks.  The
 *        owner opens the window with a plain store and a compiler barrier,
 *        closes it with a release store.
 *      - Requester: post the request (rule 10), then one heavy fence, then
 *        for each target wait (hv_relax) while its access_seq is odd and
 *        unchanged.  The heavy fence is membarrier(PRIVATE_EXPEDITED),
 *        which runs a full barrier on every running thread of the process:
 *        after it, either the requester sees the target's odd access_seq,
 *        or the target's next lookup sees the posted request.  Registered
 *        once per process (mmu_hw_init); without membarrier, both sides use
 *        a seq_cst fence (the window opening pays for it).
 *      - (M) On a cooperative thread (hv_sched_coop: det mode, every vCPU
 *        a coroutine of one OS thread) the fence is a compiler barrier:
 *        no other thread runs this machine's vCPUs, so membarrier's
 *        cross-CPU barrier would buy nothing for its system call.  The
 *        wait itself stays: a target descheduled inside its window runs
 *        when the requester's hv_relax() yields to it.
 *      - No wait for the calling vCPU itself, for a target not inside an
 *        access (one not running has an even access_seq), or while
 *        target->tlb.flush_late is set (the late-delivery injection hook,
 *        flush_skip_wait()).  Each wait counts in target->tlb.ipi_waits.
 *      - Call it from hypervisor code, never from inside an access of the
 *        caller's own (two vCPUs waiting for each other could not happen
 *        then, as neither is inside a window).
 */
#include <assert.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/domain.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/npt.h"
#include "core/vcpu.h"
#include "inject/inject.h"

/* Physical address width of the modelled CPU (bits 46..51 are reserved). */
#define MMU_PADDR_BITS      46
#define PTE_RSVD_ADDR       (PTE_ADDR_MASK & ~((1ULL << MMU_PADDR_BITS) - 1))
#define MMU_MAX_RETRIES     10000
#define MMU_SP_MEM_EVERY    64
#define PFEC_ACCESS_MASK    (PFEC_WRITE | PFEC_USER | PFEC_INSN)

_Static_assert((TLB_ENTRIES & (TLB_ENTRIES - 1)) == 0, "TLB size is a power of two");
_Static_assert((MMU_SP_MEM_EVERY & (MMU_SP_MEM_EVERY - 1)) == 0, "SP_MEM period");

/* Rule 12: crossing cmpxchgs serialise on this. */
static hv_lock_t split_lock = HV_LOCK_INITIALIZER("mmu.split", LOCK_LEAF);

static inline struct machine *vcpu_machine(const struct vcpu *v)
{
    return v->d->m;
}

/* ---- flush IPIs: the access window and the heavy fence (rule 17) --------- */

/*
 * True until membarrier is registered: then every window opening pays a
 * seq_cst fence and requesters use one too.  Only ever goes true -> false
 * (safe while vCPUs run: a window opened with a fence is fine either way).
 */
static _Atomic bool ipi_fence_fallback = true;
static pthread_once_t ipi_once = PTHREAD_ONCE_INIT;

static void ipi_register(void)
{
#ifdef SYS_membarrier
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0, 0) == 0)
        atomic_store_explicit(&ipi_fence_fallback, false, memory_order_seq_cst);
#endif
}

void mmu_hw_init(void)
{
    pthread_once(&ipi_once, ipi_register);
}

/* The requester's side of the fence: after it, the target's window state
   is visible, or the target's next lookup sees what was posted before. */
static void ipi_fence(void)
{
    if (hv_sched_coop) {                /* rule 17 (M): one OS thread */
        atomic_signal_fence(memory_order_seq_cst);
        return;
    }
    mmu_hw_init();
    if (atomic_load_explicit(&ipi_fence_fallback, memory_order_seq_cst)) {
        atomic_thread_fence(memory_order_seq_cst);
        return;
    }
#ifdef SYS_membarrier
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return;
    /* Registered but refused: the targets' windows are unfenced, so no
       fence of ours can stand in.  A host failure, not a guest's doing. */
    fprintf(stderr, "hvlab: MMU: membarrier(PRIVATE_EXPEDITED) failed after "
            "registration (errno %d); remote TLB flushes cannot be made "
            "synchronous\n", errno);
#endif
    abort();
}

/* Open the access window (owner only; hot path: no atomic RMW, no fence
   unless membarrier is unavailable). */
static inline __attribute__((always_inline)) void access_begin(struct vcpu *v)
{
    uint32_t s = atomic_load_explicit(&v->tlb.access_seq, memory_order_relaxed);
    atomic_store_explicit(&v->tlb.access_seq, s + 1, memory_order_relaxed);
    if (unlikely(atomic_load_explicit(&ipi_fence_fallback,
                                      memory_order_relaxed)))
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_signal_fence(memory_order_seq_cst);
}

/* Close it: the access's memory operation is visible before the even
   value a waiting requester reads. */
static inline __attribute__((always_inline)) void access_end(struct vcpu *v)
{
    uint32_t s = atomic_load_explicit(&v->tlb.access_seq, memory_order_relaxed);
    atomic_store_explicit(&v->tlb.access_seq, s + 1, memory_order_release);
}

/*
 * Test-only (HVLAB_MMU_TEST_HOOKS, defined by tests that compile this file
 * into themselves): called inside the window after a walk filled the TLB,
 * before the access's memory operation, so a test can hold a vCPU there.
 */
#ifdef HVLAB_MMU_TEST_HOOKS
static void (*mmu_test_in_window)(struct vcpu *v, uint64_t va);
#define MMU_TEST_IN_WINDOW(v, va) do { \
    if (mmu_test_in_window != NULL) mmu_test_in_window((v), (va)); } while (0)
#else
#define MMU_TEST_IN_WINDOW(v, va) do { } while (0)
#endif

/* ---- the walk ------------------------------------------------------------ */

/* Rule 1: reserved bits of a present entry at `level`. */
static inline pte_t pte_rsvd_bits(pte_t e, unsigned level)
{
    pte_t rsvd = e & PTE_RSVD_ADDR;
    if (level == 4)
        rsvd |= e & _PAGE_PSE;
    else if (level == 3 && (e & _PAGE_PSE))
        rsvd |= e & (((1ULL << 30) - 1) & ~((1ULL << 13) - 1));
    else if (level == 2 && (e & _PAGE_PSE))
        rsvd |= e & (((1ULL << 21) - 1) & ~((1ULL << 13) - 1));
    return rsvd;
}

/*
 * Rule 6: set `bits` in the entry at p, which the walk read as `seen`.
 * AD_RESTART if the entry changed in more than A/D since (the walk
 * restarts), AD_SET if this call changed the entry, else AD_NONE.
 */
enum { AD_NONE, AD_SET, AD_RESTART };

static int pte_set_ad(const pte_t *slot, pte_t seen, pte_t bits)
{
    pte_t cur = seen;
    for (;;) {
        if ((cur ^ seen) & ~(pte_t)(_PAGE_ACCESSED | _PAGE_DIRTY))
            return AD_RESTART;
        if ((cur & bits) == bits)
            return AD_NONE;
        pte_t *p = ram_w(slot, sizeof(*slot));
        if (__atomic_compare_exchange_n(p, &cur, cur | bits, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return AD_SET;
    }
}

/* Rule 24: the table frames whose entries a walk changed (A/D).  (M) A
   walk restarted more often than the log holds keeps the first ones. */
#define AD_LOG_MAX  (2 * PT_LEVELS)
struct ad_log {
    unsigned n;
    mfn_t table[AD_LOG_MAX];
};

static inline void ad_log_add(struct ad_log *ad, mfn_t table)
{
    if (ad->n < AD_LOG_MAX)
        ad->table[ad->n++] = table;
}

/* Mark them (hypervisor context, outside any access window). */
static void ad_log_mark(struct machine *m, const struct ad_log *ad)
{
    for (unsigned i = 0; i < ad->n; i++)
        paging_mark_frame(m, ad->table[i], LD_SRC_WALK);
}

/*
 * What both walks (PV/shadow and hap) do at every level of the guest-view
 * tables: check the entry, remember the first level refusing each right
 * (rule 3 decides over the whole walk), and spot the leaf.
 */
struct walk_rights { unsigned no_rw, no_us, nx; };
#define WALK_NEXT   0u          /* go down a level */
#define WALK_LEAF   1u          /* this entry maps the page */
/* Anything else walk_entry() returns is a fault: it carries MMU_WALK_FAULT. */
_Static_assert(MMU_WALK_FAULT > WALK_LEAF, "a fault code never reads as a walk step");

static inline uint32_t walk_entry(pte_t e, unsigned level, uint32_t fault,
                                  struct walk_rights *r, struct mmu_walk *w)
{
    if (!(e & _PAGE_PRESENT)) {
        w->fault_level = level;
        return fault;
    }
    if (pte_rsvd_bits(e, level)) {
        w->fault_level = level;
        return fault | PFEC_RSVD | PFEC_PRESENT;
    }
    if (!(e & _PAGE_RW) && !r->no_rw)
        r->no_rw = level;
    if (!(e & _PAGE_USER) && !r->no_us)
        r->no_us = level;
    if ((e & _PAGE_NX) && !r->nx)
        r->nx = level;
    return (level == 1 || ((level == 2 || level == 3) && (e & _PAGE_PSE)))
           ? WALK_LEAF : WALK_NEXT;
}

/* Frame number (4K granule) a leaf of `level` maps for va. */
static inline uint64_t walk_leaf_frame(pte_t e, unsigned level, uint64_t va)
{
    uint64_t span = pt_entry_span(level);
    uint64_t base = e & PTE_ADDR_MASK & ~(span - 1);
    return (base + (va & (span - 1))) >> PAGE_SHIFT;
}

static inline uint64_t walk_flags(const struct walk_rights *r)
{
    return (r->no_rw ? 0 : _PAGE_RW) | (r->no_us ? 0 : _PAGE_USER) |
           (r->nx ? _PAGE_NX : 0);
}

/* Rule 3: the rights over the whole walk.  0, or the protection fault. */
static inline uint32_t walk_deny(const struct walk_rights *r, uint32_t access,
                                 uint32_t fault, struct mmu_walk *w)
{
    unsigned deny = 0;
    if ((access & PFEC_WRITE) && r->no_rw)
        deny = r->no_rw;
    if ((access & PFEC_USER) && r->no_us && r->no_us > deny)
        deny = r->no_us;
    if ((access & PFEC_INSN) && r->nx && r->nx > deny)
        deny = r->nx;
    if (!deny)
        return 0;
    w->fault_level = deny;
    return fault | PFEC_PRESENT;
}

static uint32_t pv_walk(struct machine *m, mfn_t root, uint64_t va,
                        uint32_t access, bool set_ad, struct mmu_walk *w,
                        struct ad_log *ad)
{
    access &= PFEC_ACCESS_MASK;
    ad->n = 0;
    access |= MMU_WALK_FAULT;       /* in every fault result: see mmu.h */

restart:
    for (unsigned l = 0; l <= PT_LEVELS; l++) {
        w->pte[l] = 0;
        w->table[l] = INVALID_MFN;
    }
    w->fault_level = 0;
    w->page_level = 0;
    w->mfn = INVALID_MFN;
    w->eff_flags = 0;

    if (!va_is_canonical(va)) {                     /* rule 5 */
        w->fault_level = PT_LEVELS;
        return access;
    }
    if (!mfn_valid(m, root)) {                      /* rule 4 */
        w->fault_level = PT_LEVELS;
        return access | PFEC_RSVD | PFEC_PRESENT;
    }

    const pte_t *slot[PT_LEVELS + 1] = { NULL };
    struct walk_rights r = { 0, 0, 0 };
    mfn_t table = root;
    unsigned level;

    for (level = PT_LEVELS; ; level--) {
        const pte_t *t = mfn_to_virt(m, table);
        slot[level] = &t[pt_index(va, level)];
        pte_t e = __atomic_load_n(slot[level], __ATOMIC_ACQUIRE);
        w->table[level] = table;
        w->pte[level] = e;

        uint32_t k = walk_entry(e, level, access, &r, w);
        if (k == WALK_LEAF) {
            w->mfn = walk_leaf_frame(e, level, va);
            if (!mfn_valid(m, w->mfn)) {            /* rule 4 */
                w->fault_level = level;
                return access | PFEC_RSVD | PFEC_PRESENT;
            }
            break;
        }
        if (k != WALK_NEXT)
            return k;
        table = pte_mfn(e);
        if (!mfn_valid(m, table)) {                 /* rule 4 */
            w->fault_level = level;
            return access | PFEC_RSVD | PFEC_PRESENT;
        }
    }
    w->page_level = level;
    w->eff_flags = walk_flags(&r);
    uint32_t denied = walk_deny(&r, access, access, w);
    if (denied)
        return denied;

    if (set_ad) {                                   /* rule 6 */
        for (unsigned l = PT_LEVELS; l >= level; l--) {
            pte_t bits = _PAGE_ACCESSED;
            if (l == level && (access & PFEC_WRITE))
                bits |= _PAGE_DIRTY;
            if ((w->pte[l] & bits) == bits)
                continue;
            int r_ad = pte_set_ad(slot[l], w->pte[l], bits);
            if (r_ad == AD_RESTART)
                goto restart;
            if (r_ad == AD_SET)                     /* rule 24 */
                ad_log_add(ad, w->table[l]);
            w->pte[l] |= bits;
        }
    }
    return 0;
}

uint32_t mmu_walk(struct machine *m, mfn_t root, uint64_t va, uint32_t access,
                  bool set_ad, struct mmu_walk *w)
{
    struct ad_log ad;
    uint32_t pfec = pv_walk(m, root, va, access, set_ad, w, &ad);
    if (unlikely(ad.n != 0))
        ad_log_mark(m, &ad);
    return pfec;
}

/* ---- the two-dimensional walk (hap, rules 18-22) ------------------------- */

uint64_t mmu_npt_lookup(struct machine *m, mfn_t npt_root, uint64_t gfn)
{
    const uint64_t hole = (uint64_t)p2m_invalid << NPT_TYPE_SHIFT;

    if ((gfn >> NPT_GFN_BITS) != 0 || !mfn_valid(m, npt_root))
        return hole;
    mfn_t t = npt_root;
    for (unsigned l = NPT_LEVELS; ; l--) {
        const npte_t *tab = mfn_to_virt(m, t);
        npte_t e = __atomic_load_n(&tab[npt_index(gfn, l)], __ATOMIC_ACQUIRE);
        if (l == 1)
            return e;
        if (!(e & NPT_RWX))
            return hole;
        t = npte_mfn(e);
        if (!mfn_valid(m, t))
            return hole;
    }
}

static inline uint32_t hap_npf(struct mmu_walk *w, struct mmu_npf *npf,
                               unsigned level, uint64_t gpa, uint32_t access,
                               uint64_t npte)
{
    w->fault_level = level;
    npf->gpa = gpa;
    npf->access = access;
    npf->npte = npte;
    return MMU_WALK_NPF;
}

/* The p2m rights an NPF_* access needs. */
static inline npte_t npt_need(uint32_t npf_access)
{
    return ((npf_access & NPF_READ) ? NPT_R : 0) |
           ((npf_access & NPF_WRITE) ? NPT_W : 0) |
           ((npf_access & NPF_EXEC) ? NPT_X : 0);
}

uint32_t mmu_walk_hap(struct machine *m, mfn_t npt_root, uint64_t guest_cr3,
                      uint64_t va, uint32_t access, bool set_ad,
                      struct mmu_walk *w, struct mmu_npf *npf)
{
    access &= PFEC_ACCESS_MASK;
    const uint32_t gfault = access | MMU_WALK_FAULT;

restart:
    for (unsigned l = 0; l <= PT_LEVELS; l++) {
        w->pte[l] = 0;
        w->table[l] = INVALID_MFN;
    }
    w->fault_level = 0;
    w->page_level = 0;
    w->mfn = INVALID_MFN;
    w->eff_flags = w->guest_flags = 0;
    w->gfn = ~0ULL;
    w->npte = 0;

    if (!va_is_canonical(va)) {                     /* rule 5 */
        w->fault_level = PT_LEVELS;
        return gfault;
    }

    const pte_t *slot[PT_LEVELS + 1] = { NULL };
    uint64_t slot_gpa[PT_LEVELS + 1] = { 0 };
    npte_t table_npte[PT_LEVELS + 1] = { 0 };
    struct walk_rights r = { 0, 0, 0 };
    uint64_t gfn = (guest_cr3 & PTE_ADDR_MASK) >> PAGE_SHIFT;
    unsigned level;

    for (level = PT_LEVELS; ; level--) {
        uint64_t gpa = (gfn << PAGE_SHIFT) + pt_index(va, level) * sizeof(pte_t);
        npte_t ne = mmu_npt_lookup(m, npt_root, gfn);
        if (!(ne & NPT_R) || !mfn_valid(m, npte_mfn(ne)))   /* rule 19 */
            return hap_npf(w, npf, level, gpa, NPF_READ | NPF_GUEST_WALK, ne);
        mfn_t table = npte_mfn(ne);
        const pte_t *t = mfn_to_virt(m, table);
        slot[level] = &t[pt_index(va, level)];
        slot_gpa[level] = gpa;
        table_npte[level] = ne;
        pte_t e = __atomic_load_n(slot[level], __ATOMIC_ACQUIRE);
        w->table[level] = table;
        w->pte[level] = e;

        uint32_t k = walk_entry(e, level, gfault, &r, w);
        if (k == WALK_LEAF) {
            gfn = walk_leaf_frame(e, level, va);
            break;
        }
        if (k != WALK_NEXT)
            return k;
        gfn = pte_mfn(e);           /* a gfn: the guest's tables hold them */
    }
    w->page_level = level;
    w->gfn = gfn;
    w->guest_flags = walk_flags(&r);

    /* Rule 3 over the guest's tables: a guest fault. */
    uint32_t denied = walk_deny(&r, access, gfault, w);
    if (denied)
        return denied;

    /* Rule 20: the access itself through the p2m. */
    uint32_t want = (access & PFEC_WRITE) ? NPF_WRITE :
                    (access & PFEC_INSN) ? NPF_EXEC : NPF_READ;
    npte_t ne = mmu_npt_lookup(m, npt_root, gfn);
    w->npte = ne;
    if ((ne & npt_need(want)) != npt_need(want) || !mfn_valid(m, npte_mfn(ne)))
        return hap_npf(w, npf, 0, (gfn << PAGE_SHIFT) | (va & PAGE_OFFSET_MASK),
                       want, ne);
    w->mfn = npte_mfn(ne);
    w->eff_flags = w->guest_flags;
    if (!(ne & NPT_W))
        w->eff_flags &= ~(uint64_t)_PAGE_RW;
    if (!(ne & NPT_X))
        w->eff_flags |= _PAGE_NX;

    if (set_ad) {                                   /* rule 21 */
        for (unsigned l = PT_LEVELS; l >= level; l--) {
            pte_t bits = _PAGE_ACCESSED;
            if (l == level && (access & PFEC_WRITE))
                bits |= _PAGE_DIRTY;
            if ((w->pte[l] & bits) == bits)
                continue;
            if (!(table_npte[l] & NPT_W))
                return hap_npf(w, npf, l, slot_gpa[l],
                               NPF_WRITE | NPF_GUEST_WALK, table_npte[l]);
            if (pte_set_ad(slot[l], w->pte[l], bits) == AD_RESTART)
                goto restart;
            w->pte[l] |= bits;
        }
    }
    return 0;
}

/* ---- the TLB ------------------------------------------------------------- */

static inline struct tlb_entry *tlb_slot(struct vcpu *v, uint64_t vpn)
{
    return &v->tlb.e[vpn & (TLB_ENTRIES - 1)];
}

/* An entry about to be stored to, named to the write record (core/tlb.h). */
static inline struct tlb_entry *tlb_w(struct tlb_entry *e)
{
    hv_wrec_note(e, sizeof(*e));
    return e;
}

static void tlb_fill(struct vcpu *v, struct machine *m, uint64_t vpn,
                     const struct mmu_walk *w)
{
    struct tlb_entry *e = tlb_w(tlb_slot(v, vpn));
    pte_t leaf = w->pte[w->page_level];
    uint32_t flags = TLB_VALID;

    if (w->eff_flags & _PAGE_RW) {
        flags |= TLB_RW;
        if (leaf & _PAGE_DIRTY)
            flags |= TLB_W;
    }
    if (w->eff_flags & _PAGE_USER)
        flags |= TLB_U;
    if (w->eff_flags & _PAGE_NX)
        flags |= TLB_NX;
    if (leaf & _PAGE_GLOBAL)
        flags |= TLB_G;
    if (w->page_level > 1) {
        flags |= TLB_SUPER;
        v->tlb.has_super = true;
    }
    e->vpn = vpn;
    e->host = mfn_to_virt(m, w->mfn);
    e->mfn = w->mfn;
    e->flags = flags;
}

/* Rule 22: the p2m's rights on top of the guest's. */
static void tlb_fill_hap(struct tlb_entry *e, const struct mmu_walk *w)
{
    tlb_w(e);
    if (!(w->npte & NPT_W))
        e->flags &= ~TLB_W;         /* a store re-walks: the nested fault */
    if (w->guest_flags & _PAGE_RW)
        e->flags |= TLB_RW;         /* ... not a guest #PF from the TLB */
}

void mmu_flush_local(struct vcpu *v)
{
    struct machine *m = vcpu_machine(v);
    /* Tick first: a frame freed after this tick is not in the TLB below. */
    uint32_t now = atomic_fetch_add_explicit(&m->tlbflush_clock, 1,
                                             memory_order_acq_rel) + 1;
    for (unsigned i = 0; i < TLB_ENTRIES; i++)
        if (v->tlb.e[i].flags)          /* stores only where one was */
            tlb_w(&v->tlb.e[i])->flags = 0;
    v->tlb.has_super = false;
    v->tlb.flushes++;
    atomic_store_explicit(&v->tlb.flush_time, now, memory_order_release);
}

static void tlb_flush_nonglobal(struct vcpu *v)
{
    for (unsigned i = 0; i < TLB_ENTRIES; i++)
        if (v->tlb.e[i].flags && !(v->tlb.e[i].flags & TLB_G))
            tlb_w(&v->tlb.e[i])->flags = 0;
    v->tlb.flushes++;
}

void mmu_load_cr3(struct vcpu *v, mfn_t root)
{
    v->cr3 = root;
    tlb_flush_nonglobal(v);
}

void mmu_invlpg_local(struct vcpu *v, uint64_t va)
{
    uint64_t vpn = va >> PAGE_SHIFT;
    struct tlb_entry *e = tlb_slot(v, vpn);
    if (e->vpn == vpn && e->flags)
        tlb_w(e)->flags = 0;
    if (v->tlb.has_super) {
        /* A superpage entry covering va may sit in other slots: drop every
           superpage piece of va's 1 GiB region (over-invalidating is legal). */
        uint64_t region = va >> 30;
        for (unsigned i = 0; i < TLB_ENTRIES; i++) {
            struct tlb_entry *s = &v->tlb.e[i];
            if ((s->flags & TLB_SUPER) &&
                (s->vpn >> (30 - PAGE_SHIFT)) == region)
                tlb_w(s)->flags = 0;
        }
    }
}

static void flush_post(struct vcpu *target, uint64_t va)
{
    uint32_t req = TLB_REQ_ALL;

    if (va != MMU_FLUSH_ALL_VA) {
        hv_lock(&target->tlb.req_lock);
        if (target->tlb.invlpg_n < TLB_INVLPG_Q) {
            target->tlb.invlpg_q[target->tlb.invlpg_n++] = va & ~PAGE_OFFSET_MASK;
            req = TLB_REQ_VA;
        }
        hv_unlock(&target->tlb.req_lock);
    }
    /* Release: the queued VA is visible to whoever sees the bit. */
    atomic_fetch_or_explicit(&target->tlb.flush_pending, req,
                             memory_order_release);
}

/*
 * Rule 17: does a request to target go without waiting?  Itself: it is not
 * inside an access (the caller is hypervisor code on it).  flush_late: the
 * injection point for late delivery -- a fault injector sets it (or will
 * decide here per request) to bring back the fire-and-forget behaviour.
 */
static inline bool flush_skip_wait(const struct vcpu *target)
{
    return target == current || target->tlb.flush_late;
}

/* Wait until target is not inside an access that began before the fence. */
static void flush_wait(struct vcpu *target)
{
    uint32_t s = atomic_load_explicit(&target->tlb.access_seq,
                                      memory_order_acquire);
    if (!(s & 1))
        return;
    atomic_fetch_add_explicit(&target->tlb.ipi_waits, 1, memory_order_relaxed);
    while (atomic_load_explicit(&target->tlb.access_seq,
                                memory_order_acquire) == s)
        hv_relax();
}

void mmu_request_flush_many(struct vcpu *const *targets, unsigned n,
                            uint64_t va)
{
    bool wait = false;
    uint64_t late = 0;      /* inject: targets (i < 64) not waited for */

    for (unsigned i = 0; i < n; i++) {
        if (targets[i] == NULL)
            continue;
        /* inject: tlb.remote_flush.deliver, per remote target: delay/yield
           before the request is posted; skip = a late flush IPI (rule 17's
           wait is left out for this target, as with flush_late). */
        if (inj_is_armed() && targets[i] != current && i < 64 &&
            INJ_POINT(tlb_remote_flush_deliver, targets[i]))
            late |= 1ULL << i;
        flush_post(targets[i], va);
        wait |= !flush_skip_wait(targets[i]) && !(i < 64 && (late >> i & 1));
    }
    if (!wait)
        return;
    ipi_fence();
    for (unsigned i = 0; i < n; i++)
        if (targets[i] != NULL && !flush_skip_wait(targets[i]) &&
            !(i < 64 && (late >> i & 1)))
            flush_wait(targets[i]);
}

void mmu_request_flush(struct vcpu *target, uint64_t va)
{
    mmu_request_flush_many(&target, 1, va);
}

void mmu_flush_domain(struct domain *d)
{
    mmu_request_flush_many(d->vcpu, d->nr_vcpus, MMU_FLUSH_ALL_VA);
}

static void __attribute__((noinline)) mmu_sync_slow(struct vcpu *v)
{
    uint32_t req = atomic_exchange_explicit(&v->tlb.flush_pending, 0,
                                            memory_order_acquire);
    if (req & TLB_REQ_ALL) {
        mmu_flush_local(v);
    } else if (req & TLB_REQ_NONGLOBAL) {
        tlb_flush_nonglobal(v);
    }
    if (req & (TLB_REQ_VA | TLB_REQ_ALL)) {
        uint64_t q[TLB_INVLPG_Q];
        unsigned n;
        hv_lock(&v->tlb.req_lock);
        n = v->tlb.invlpg_n;
        memcpy(q, v->tlb.invlpg_q, n * sizeof(q[0]));
        v->tlb.invlpg_n = 0;
        hv_unlock(&v->tlb.req_lock);
        if (!(req & TLB_REQ_ALL))
            for (unsigned i = 0; i < n; i++)
                mmu_invlpg_local(v, q[i]);
    }
}

static inline void sync_requests(struct vcpu *v)
{
    if (unlikely(atomic_load_explicit(&v->tlb.flush_pending,
                                      memory_order_relaxed) != 0))
        mmu_sync_slow(v);
}

void mmu_sync_requests(struct vcpu *v)
{
    sync_requests(v);
}

/* ---- translation for a guest access ------------------------------------- */

enum xl {
    XL_OK,          /* *host points at the byte */
    XL_KILLED,      /* the fault vector refused the access */
    XL_EMULATED,    /* the fault handler did the access (rule 13) */
    XL_FAULT,       /* a fault was not delivered (probe only) */
};

/* What the faulting access was (rule 13); va and valid filled later. */
struct access_desc {
    bool is_write;
    bool is_cmpxchg;
    unsigned bytes;
    uint64_t value;
    uint64_t expected;
};

static inline uint32_t vcpu_access(const struct vcpu *v, bool write)
{
    return (write ? PFEC_WRITE : 0) | (v->in_kernel ? 0 : PFEC_USER);
}

/*
 * Rule 8: a TLB entry tagged for vpn decides without a walk?  Returns
 * 0 for "walk", else the fault error code it causes.
 */
static inline uint32_t tlb_refuses(const struct tlb_entry *e, uint32_t access)
{
    if ((access & PFEC_USER) && !(e->flags & TLB_U))
        return PFEC_PRESENT | access;
    if ((access & PFEC_WRITE) && !(e->flags & TLB_RW))
        return PFEC_PRESENT | access;
    return 0;   /* writable but clean: re-walk to set D */
}

static uint32_t fault_diag(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    fprintf(stderr,
            "hvlab: MMU: vCPU %u of d%u: the access at %#llx faulted %u times "
            "in a row (last error code %#x): the fault handler keeps asking "
            "for a retry without fixing the mapping; access killed\n",
            v->vcpu_id, v->d ? v->d->domid : 0xFFFFu,
            (unsigned long long)va, MMU_MAX_RETRIES, pfec);
    return pfec;
}

/* Rule 24: is any domain in log-dirty (one relaxed load)? */
static inline bool ld_live(void)
{
    return unlikely(atomic_load_explicit(&paging_ld_live,
                                         memory_order_relaxed) != 0);
}

/* Rule 24: does a write of PV domain d to frame mfn need a bit set first? */
static bool ld_tracks(struct domain *d, struct machine *m, mfn_t mfn)
{
    return is_pv_domain(d) && paging_log_dirty_enabled(d) &&
           mfn_to_page(m, mfn)->owner == d->domid;
}

/*
 * Translate va for an access by v (rules 8, 9, 13).  With deliver false a
 * fault is returned as XL_FAULT without reaching the fault vector.
 * Called inside the access window (rule 17) and returns inside it, whatever
 * the outcome; the window is closed while the fault vector runs.
 */
static enum xl mmu_xlate_slow(struct vcpu *v, uint64_t va, uint32_t access,
                              const struct access_desc *a, bool deliver,
                              const uint8_t **host, uint64_t *observed)
{
    struct machine *m = vcpu_machine(v);
    uint64_t vpn = va >> PAGE_SHIFT;
    uint32_t need = TLB_VALID | ((access & PFEC_WRITE) ? TLB_W : 0) |
                    ((access & PFEC_USER) ? TLB_U : 0);

    struct mmu_npf npf = { 0 };
    mfn_t ld_mfn = INVALID_MFN;     /* rule 24: approved frame and round */
    uint64_t ld_round = 0;

    for (unsigned faults = 0; ; ) {
        sync_requests(v);
        struct tlb_entry *e = tlb_slot(v, vpn);
        uint32_t pfec = 0;

        if (e->vpn == vpn && (e->flags & need) == need) {
            v->tlb.hits++;
            *host = e->host + (va & PAGE_OFFSET_MASK);
            return XL_OK;
        }
        if (e->vpn == vpn && (e->flags & TLB_VALID))
            pfec = tlb_refuses(e, access);
        if (pfec == 0) {
            struct mmu_walk w;
            v->tlb.misses++;
            bool withhold_w = false;
            if (unlikely(v->d->paging == PAGING_HAP)) {    /* rule 18 */
                pfec = mmu_walk_hap(m, v->d->npt_root, v->guest_cr3, va,
                                    access, true, &w, &npf);
            } else {
                struct ad_log ad;
                pfec = pv_walk(m, v->cr3, va, access, true, &w, &ad);
                if (unlikely(ad.n != 0) && ld_live()) {     /* rule 24 */
                    access_end(v);
                    ad_log_mark(m, &ad);
                    access_begin(v);
                    if (!deliver)
                        return XL_FAULT;
                    continue;
                }
                if (pfec == 0 && ld_live() && (w.eff_flags & _PAGE_RW) &&
                    ld_tracks(v->d, m, w.mfn) &&
                    (ld_mfn != w.mfn || paging_ld_round(v->d) != ld_round)) {
                    if (!(access & PFEC_WRITE)) {
                        withhold_w = true;  /* a later write re-walks */
                    } else if (!deliver) {
                        return XL_FAULT;
                    } else {
                        /* The hypervisor-internal write fault. */
                        access_end(v);
                        sched_point(SP_FAULT);
                        if (++faults > MMU_MAX_RETRIES) {
                            fault_diag(v, va, PFEC_PRESENT | access);
                            access_begin(v);
                            return XL_KILLED;
                        }
                        ld_round = paging_ld_write_fault(v->d, w.mfn);
                        ld_mfn = w.mfn;
                        access_begin(v);
                        continue;
                    }
                }
            }
            if (pfec == 0) {
                tlb_fill(v, m, vpn, &w);
                if (unlikely(v->d->paging == PAGING_HAP))
                    tlb_fill_hap(e, &w);
                if (unlikely(withhold_w))
                    tlb_w(e)->flags &= ~TLB_W;
                *host = mfn_to_virt(m, w.mfn) + (va & PAGE_OFFSET_MASK);
                MMU_TEST_IN_WINDOW(v, va);
                return XL_OK;
            }
        }

        bool nested = pfec == MMU_WALK_NPF;             /* rule 23 */
        pfec &= MMU_PFEC_MASK;          /* what the CPU pushes */
        if (!deliver)
            return XL_FAULT;
        /* A fault: the CPU drops the faulting address's entry (rule 9). */
        if (e->vpn == vpn && e->flags)
            tlb_w(e)->flags = 0;
        v->nr_faults++;
        /* Rule 17: the vector (and a scheduling point) run outside the
           access window; it reopens before any return below. */
        access_end(v);
        sched_point(SP_FAULT);
        if (++faults > MMU_MAX_RETRIES) {
            fault_diag(v, va, pfec);
            access_begin(v);
            return XL_KILLED;
        }

        /* A guest #PF handler makes accesses of its own from inside the
           vector: keep the outer access's record for when they return. */
        struct pending_access outer = v->pending;
        v->pending = (struct pending_access){
            .valid = true, .is_write = a->is_write, .is_cmpxchg = a->is_cmpxchg,
            .emulated = false, .bytes = a->bytes, .va = va, .value = a->value,
            .expected = a->expected, .observed = 0,
        };
        enum pf_outcome o;
        if (unlikely(nested))
            o = v->npf_vector ? v->npf_vector(v, npf.gpa, va, npf.access,
                                              npf.npte) : PF_KILL;
        else
            o = v->pf_vector ? v->pf_vector(v, va, pfec) : PF_KILL;
        bool emulated = v->pending.emulated;
        *observed = v->pending.observed;
        v->pending = outer;
        access_begin(v);
        if (o != PF_RETRY)
            return XL_KILLED;
        if (emulated)
            return XL_EMULATED;
    }
}

/* The TLB-hit fast path, inlined into every access.  Inside the window. */
static inline __attribute__((always_inline))
enum xl mmu_xlate(struct vcpu *v, uint64_t va, uint32_t access,
                  const struct access_desc *a, bool deliver,
                  const uint8_t **host, uint64_t *observed)
{
    uint64_t vpn = va >> PAGE_SHIFT;
    struct tlb_entry *e = tlb_slot(v, vpn);
    uint32_t need = TLB_VALID | ((access & PFEC_WRITE) ? TLB_W : 0) |
                    ((access & PFEC_USER) ? TLB_U : 0);

    if (likely(atomic_load_explicit(&v->tlb.flush_pending,
                                    memory_order_relaxed) == 0 &&
               e->vpn == vpn && (e->flags & need) == need)) {
        v->tlb.hits++;
        *host = e->host + (va & PAGE_OFFSET_MASK);
        return XL_OK;
    }
    return mmu_xlate_slow(v, va, access, a, deliver, host, observed);
}

/* Rule 15. */
__thread uint32_t mmu_sp_mem_mask = MMU_SP_MEM_EVERY - 1;

static inline void mmu_count_access(struct vcpu *v)
{
    if (unlikely((++v->mem_accesses & mmu_sp_mem_mask) == 0))
        sched_point(SP_MEM);
}

static inline uint64_t bytes_mask(unsigned bytes)
{
    return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

/* ---- host memory, atomically where the CPU would be ---------------------- */

static inline bool is_natural(const void *p, unsigned bytes)
{
    return (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8) &&
           ((uintptr_t)p & (bytes - 1)) == 0;
}

static inline uint64_t host_load(const uint8_t *p, unsigned bytes)
{
    switch (is_natural(p, bytes) ? bytes : 0) {
    case 1: return __atomic_load_n(p, __ATOMIC_RELAXED);
    case 2: return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
    case 4: return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
    case 8: return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
    default: {
        uint64_t v = 0;
        memcpy(&v, p, bytes);           /* little-endian host */
        return v;
    }
    }
}

static inline void host_store(const uint8_t *host, unsigned bytes, uint64_t v)
{
    uint8_t *p = ram_w(host, bytes);
    switch (is_natural(p, bytes) ? bytes : 0) {
    case 1: __atomic_store_n(p, (uint8_t)v, __ATOMIC_RELAXED); break;
    case 2: __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED); break;
    case 4: __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED); break;
    case 8: __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); break;
    default: memcpy(p, &v, bytes); break;
    }
}

/* Compare-exchange in host memory; returns the value found. */
static uint64_t host_cmpxchg(const uint8_t *host, unsigned bytes,
                             uint64_t expect, uint64_t new_val)
{
    uint8_t *p = ram_w(host, bytes);
    switch (is_natural(p, bytes) ? bytes : 0) {
    case 1: {
        uint8_t e = (uint8_t)expect;
        __atomic_compare_exchange_n(p, &e, (uint8_t)new_val, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    case 2: {
        uint16_t e = (uint16_t)expect;
        __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)new_val, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    case 4: {
        uint32_t e = (uint32_t)expect;
        __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)new_val, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    case 8: {
        uint64_t e = expect;
        __atomic_compare_exchange_n((uint64_t *)p, &e, new_val, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    default: {
        /* Misaligned within a page: under the split lock (rule 12). */
        uint64_t cur = 0;
        hv_lock(&split_lock);
        memcpy(&cur, p, bytes);
        if (cur == (expect & bytes_mask(bytes)))
            memcpy(p, &new_val, bytes);
        hv_unlock(&split_lock);
        return cur;
    }
    }
}

/* ---- one access within one page ------------------------------------------ */

static int load_one(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t *val)
{
    struct access_desc a = { .is_write = false, .bytes = bytes };
    const uint8_t *host;
    uint64_t observed = 0;

    int rc = MMU_KILLED;

    access_begin(v);
    switch (mmu_xlate(v, va, vcpu_access(v, false), &a, true, &host, &observed)) {
    case XL_OK:
        *val = host_load(host, bytes);
        rc = MMU_OK;
        break;
    case XL_EMULATED:
        *val = observed & bytes_mask(bytes);
        rc = MMU_OK;
        break;
    default:
        break;
    }
    access_end(v);
    return rc;
}

/* core/audit.h A4: a guest store that lands in a page-table frame - only
   a stale writable TLB entry can put it there - touches the frame, so the
   incremental frame audit reads it again and the isolation walk runs.
   Asked where a machine keeps that audit (its touch list). */
static void audit_table_store(struct machine *m, const uint8_t *host)
{
    uint64_t off = (uint64_t)(host - m->ram);
    if (host < m->ram || off >= (m->nr_frames << PAGE_SHIFT))
        return;
    mfn_t mfn = off >> PAGE_SHIFT;
    uint64_t t = atomic_load_explicit(&mfn_to_page(m, mfn)->type_info,
                                      memory_order_relaxed);
    if (pgt_level(t)) {
        HV_AUDIT_TOUCH(m, mfn);
        HV_AUDIT_MARK(m, HV_MARK_ISO);
    }
}

static inline void audit_fast_store(struct vcpu *v, const uint8_t *host)
{
    struct machine *m = vcpu_machine(v);
    if (unlikely(m->audit_memo.touch != NULL))
        audit_table_store(m, host);
}

/* core/audit.h A3: a store into a Xen-shared frame (grant entries and
   status frames) re-runs the grant audit; other frames are not read by it.
   And A4's table store. */
static void audit_mark_store(struct vcpu *v, const uint8_t *host)
{
    struct machine *m = vcpu_machine(v);
    uint64_t off = (uint64_t)(host - m->ram);
    if (host < m->ram || off >= (m->nr_frames << PAGE_SHIFT) ||
        (atomic_load_explicit(&mfn_to_page(m, off >> PAGE_SHIFT)->count_info,
                              memory_order_relaxed) & PGC_xen_heap))
        HV_AUDIT_MARK(m, HV_MARK_STORE);
    audit_fast_store(v, host);
}

static int store_one(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t val)
{
    struct access_desc a = { .is_write = true, .bytes = bytes,
                             .value = val & bytes_mask(bytes) };
    const uint8_t *host;
    uint64_t observed = 0;

    int rc = MMU_KILLED;

    access_begin(v);
    switch (mmu_xlate(v, va, vcpu_access(v, true), &a, true, &host, &observed)) {
    case XL_OK:
        host_store(host, bytes, val);
        audit_mark_store(v, host);
        rc = MMU_OK;
        break;
    case XL_EMULATED:
        HV_AUDIT_MARK(vcpu_machine(v), HV_MARK_STORE);  /* audit.h A3 */
        rc = MMU_OK;
        break;
    default:
        break;
    }
    access_end(v);
    return rc;
}

static inline HV_UNUSED bool bytes_ok(unsigned bytes)
{
    return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8;
}

/*
 * The TLB-hit case of an access within one page, with nothing pending
 * (rule 16): NULL sends the caller to the general path.  Inside the window.
 */
static inline __attribute__((always_inline))
const uint8_t *tlb_hit(struct vcpu *v, uint64_t va, unsigned bytes,
                       bool write)
{
    uint64_t vpn = va >> PAGE_SHIFT;
    const struct tlb_entry *e = tlb_slot(v, vpn);
    uint32_t need = TLB_VALID | (write ? TLB_W : 0) |
                    (v->in_kernel ? 0 : TLB_U);

    if (likely((va & PAGE_OFFSET_MASK) + bytes <= PAGE_SIZE &&
               atomic_load_explicit(&v->tlb.flush_pending,
                                    memory_order_relaxed) == 0 &&
               e->vpn == vpn && (e->flags & need) == need)) {
        v->tlb.hits++;
        return e->host + (va & PAGE_OFFSET_MASK);
    }
    return NULL;
}

int mmu_load(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t *val)
{
    assert(bytes_ok(bytes));
    mmu_count_access(v);
    access_begin(v);
    const uint8_t *host = tlb_hit(v, va, bytes, false);
    if (likely(host != NULL)) {
        *val = host_load(host, bytes);
        access_end(v);
        return MMU_OK;
    }
    access_end(v);
    unsigned off = va & PAGE_OFFSET_MASK;
    if (likely(off + bytes <= PAGE_SIZE))
        return load_one(v, va, bytes, val);

    /* Rule 12: low page, then high page. */
    unsigned lo = PAGE_SIZE - off;
    uint64_t a = 0, b = 0;
    if (load_one(v, va, lo, &a) != MMU_OK ||
        load_one(v, va + lo, bytes - lo, &b) != MMU_OK)
        return MMU_KILLED;
    *val = a | (b << (8 * lo));
    return MMU_OK;
}

/* A guest store: the grant audit's mark (a guest may write its grant
   entries whenever it likes, audit.h A3), and a translated guest's own
   page tables are what the fuzzer's isolation walk reads (A11). */
static inline void mark_guest_store(struct vcpu *v)
{
    struct machine *m = vcpu_machine(v);
    HV_AUDIT_MARK(m, HV_MARK_STORE);
    if (v->d->kind != DOMAIN_PV)
        HV_AUDIT_MARK(m, HV_MARK_ISO);
}

int mmu_store(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t val)
{
    mark_guest_store(v);                            /* audit.h A3, A11 */
    assert(bytes_ok(bytes));
    mmu_count_access(v);
    access_begin(v);
    const uint8_t *host = tlb_hit(v, va, bytes, true);
    if (likely(host != NULL)) {
        host_store(host, bytes, val);
        audit_fast_store(v, host);                      /* audit.h A4 */
        access_end(v);
        return MMU_OK;
    }
    access_end(v);
    unsigned off = va & PAGE_OFFSET_MASK;
    if (likely(off + bytes <= PAGE_SIZE))
        return store_one(v, va, bytes, val);

    unsigned lo = PAGE_SIZE - off;
    if (store_one(v, va, lo, val & bytes_mask(lo)) != MMU_OK ||
        store_one(v, va + lo, bytes - lo, val >> (8 * lo)) != MMU_OK)
        return MMU_KILLED;
    return MMU_OK;
}

/* Rule 12: a cmpxchg crossing a page, atomic against other crossing ones. */
static int cmpxchg_split(struct vcpu *v, uint64_t va, unsigned bytes,
                         uint64_t *old, uint64_t new_val)
{
    unsigned lo = PAGE_SIZE - (unsigned)(va & PAGE_OFFSET_MASK);
    uint32_t access = vcpu_access(v, true);
    const uint8_t *h_lo, *h_hi;
    uint64_t observed;

    for (;;) {
        struct access_desc a_lo = { .is_write = true, .bytes = lo,
                                    .value = new_val & bytes_mask(lo) };
        struct access_desc a_hi = { .is_write = true, .bytes = bytes - lo,
                                    .value = new_val >> (8 * lo) };
        access_begin(v);
        enum xl r = mmu_xlate(v, va, access, &a_lo, true, &h_lo, &observed);
        if (r == XL_OK)
            r = mmu_xlate(v, va + lo, access, &a_hi, true, &h_hi, &observed);
        /* The low page may have been flushed while the high one faulted
           (the window was closed then): both halves must come from the
           window that stays open for the operation (rule 17). */
        if (r == XL_OK &&
            mmu_xlate(v, va, access, &a_lo, false, &h_lo, &observed) == XL_OK)
            break;
        access_end(v);
        if (r == XL_KILLED)
            return MMU_KILLED;
        if (r == XL_EMULATED) {
            /* Nobody can emulate half a locked instruction. */
            fprintf(stderr, "hvlab: MMU: a fault handler emulated part of a "
                    "page-crossing cmpxchg at %#llx; access killed\n",
                    (unsigned long long)va);
            return MMU_KILLED;
        }
    }

    uint64_t cur_lo = 0, cur_hi = 0;
    hv_lock(&split_lock);
    memcpy(&cur_lo, h_lo, lo);
    memcpy(&cur_hi, h_hi, bytes - lo);
    uint64_t cur = cur_lo | (cur_hi << (8 * lo));
    if (cur == (*old & bytes_mask(bytes))) {
        uint64_t n_lo = new_val & bytes_mask(lo), n_hi = new_val >> (8 * lo);
        memcpy(ram_w(h_lo, lo), &n_lo, lo);
        memcpy(ram_w(h_hi, bytes - lo), &n_hi, bytes - lo);
        audit_mark_store(v, h_lo);
        audit_mark_store(v, h_hi);
    }
    hv_unlock(&split_lock);
    access_end(v);
    *old = cur;
    return MMU_OK;
}

int mmu_cmpxchg(struct vcpu *v, uint64_t va, unsigned bytes, uint64_t *old,
                uint64_t new_val)
{
    mark_guest_store(v);                            /* audit.h A3, A11 */
    assert(bytes_ok(bytes));
    mmu_count_access(v);
    new_val &= bytes_mask(bytes);
    if (unlikely((va & PAGE_OFFSET_MASK) + bytes > PAGE_SIZE))
        return cmpxchg_split(v, va, bytes, old, new_val);

    struct access_desc a = { .is_write = true, .is_cmpxchg = true,
                             .bytes = bytes, .value = new_val,
                             .expected = *old & bytes_mask(bytes) };
    const uint8_t *host;
    uint64_t observed = 0;
    int rc = MMU_KILLED;

    access_begin(v);
    switch (mmu_xlate(v, va, vcpu_access(v, true), &a, true, &host, &observed)) {
    case XL_OK:
        *old = host_cmpxchg(host, bytes, *old & bytes_mask(bytes), new_val);
        audit_mark_store(v, host);
        rc = MMU_OK;
        break;
    case XL_EMULATED:
        *old = observed & bytes_mask(bytes);
        rc = MMU_OK;
        break;
    default:
        break;
    }
    access_end(v);
    return rc;
}

/* Largest naturally aligned piece (<= 8 bytes) at va, within len. */
static inline unsigned piece_size(uint64_t va, size_t len)
{
    unsigned n = 8;
    while (n > 1 && ((va & (n - 1)) != 0 || n > len))
        n >>= 1;
    return n;
}

int mmu_read(struct vcpu *v, uint64_t va, void *buf, size_t len)
{
    uint8_t *out = buf;
    uint32_t access = vcpu_access(v, false);

    while (len > 0) {
        size_t chunk = PAGE_SIZE - (va & PAGE_OFFSET_MASK);
        if (chunk > len)
            chunk = len;
        struct access_desc a = { .is_write = false, .bytes = 0 };
        const uint8_t *host;
        uint64_t observed;

        mmu_count_access(v);
        access_begin(v);
        bool ok = mmu_xlate(v, va, access, &a, false, &host, &observed) == XL_OK;
        if (ok)
            memcpy(out, host, chunk);
        access_end(v);
        if (!ok) {
            /* Rule 14: the faulting page piece by piece. */
            for (size_t done = 0; done < chunk; ) {
                unsigned n = piece_size(va + done, chunk - done);
                uint64_t val;
                if (load_one(v, va + done, n, &val) != MMU_OK)
                    return MMU_KILLED;
                memcpy(out + done, &val, n);
                done += n;
            }
        }
        va += chunk;
        out += chunk;
        len -= chunk;
    }
    return MMU_OK;
}

int mmu_write(struct vcpu *v, uint64_t va, const void *buf, size_t len)
{
    const uint8_t *in = buf;
    uint32_t access = vcpu_access(v, true);

    while (len > 0) {
        size_t chunk = PAGE_SIZE - (va & PAGE_OFFSET_MASK);
        if (chunk > len)
            chunk = len;
        struct access_desc a = { .is_write = true, .bytes = 0 };
        const uint8_t *host;
        uint64_t observed;

        mmu_count_access(v);
        access_begin(v);
        bool ok = mmu_xlate(v, va, access, &a, false, &host, &observed) == XL_OK;
        if (ok) {
            memcpy(ram_w(host, chunk), in, chunk);
            audit_mark_store(v, host);
        }
        access_end(v);
        if (!ok) {
            for (size_t done = 0; done < chunk; ) {
                unsigned n = piece_size(va + done, chunk - done);
                uint64_t val = 0;
                memcpy(&val, in + done, n);
                if (store_one(v, va + done, n, val) != MMU_OK)
                    return MMU_KILLED;
                done += n;
            }
        }
        va += chunk;
        in += chunk;
        len -= chunk;
    }
    return MMU_OK;
}

/* ---- hypervisor-side translation ----------------------------------------- */

uint32_t mmu_translate(struct vcpu *v, uint64_t va, uint32_t access, mfn_t *mfn)
{
    struct mmu_walk w;
    struct mmu_npf npf;
    uint32_t pfec;
    /* Kernel rights: the hypervisor acts for the guest kernel. */
    if (v->d->paging == PAGING_HAP)     /* a p2m refusal: MMU_WALK_NPF */
        pfec = mmu_walk_hap(vcpu_machine(v), v->d->npt_root, v->guest_cr3, va,
                            access & (PFEC_WRITE | PFEC_INSN), true, &w, &npf);
    else
        pfec = mmu_walk(vcpu_machine(v), v->cr3, va,
                        access & (PFEC_WRITE | PFEC_INSN), true, &w);
    if (pfec == 0)
        *mfn = w.mfn;       /* the caller marks what it wrote, after it
                               wrote (core/guest_access.c rule 5) */
    return pfec;
}
