/*
 * guest/private.h - the guest kernel's private state (never seen by the
 * hypervisor: everything the hypervisor may see lives in guest frames).
 *
 * One kernel core runs both guest kinds: processes, threads, the run
 * queue, fork / copy-on-write / exit / munmap, the #PF handler, the pfn
 * allocator, workloads, statistics and the failure log are shared
 * (kernel.c, pfn.c, pagetable.c, process.c, fault.c, sched.c, workload.c).
 * What really differs between a PV and an HVM guest - how a PTE names a
 * frame, how table entries are written, what a table frame needs before and
 * after its life as a table, how the root is loaded, how TLBs are flushed,
 * how the kernel boots - is one struct kernel_paging_ops per kind
 * (pv_kernel.c, hvm_kernel.c).
 *
 * Rules of the kernel (each file says which it enforces):
 *   K1  The kernel reaches the hypervisor only through its paging ops:
 *       PV: hypercall() with argument structs written into its vCPU's
 *       argument area (kernel pages of the direct map); HVM: the CR3 load
 *       and flush instructions of core/hvm.h; both: mmu_* accesses and the
 *       #PF handler.
 *   K2  (PV) A frame that is a page table is mapped read-only in the direct
 *       map while it is one; it is filled while still writable, then made
 *       read-only, then hooked (mmu_update of the parent entry) or pinned.
 *       It becomes writable again only after it was unhooked / unpinned.
 *       (HVM) Tables are ordinary writable memory, zeroed before they are
 *       hooked and unhooked (entry cleared, TLBs flushed) before they are
 *       freed.
 *   K3  (PV) L2-L4 entries change only through mmu_update; L1 entries of
 *       live tables through the path guest.pt_updates selects (ptwr stores,
 *       batched mmu_update, or Linux's mix); tables not yet validated are
 *       plain memory.  (HVM) Entries are written with plain stores, and
 *       read-modify-writes use a locked cmpxchg.
 *   K4  Locks: kernel spinlocks (atomics + hv_relax).  Order:
 *       proc.mm_lock -> kernel.pfn_lock / rq_lock / proc_lock / log_lock.
 *       No lock is held across a user-mode access (the #PF handler takes
 *       mm_lock), and a vCPU's pending mmu_update batch is empty whenever it
 *       releases mm_lock.
 *   K5  pfn_maps[pfn] counts the user PTEs that map a data pfn (fork shares,
 *       copy-on-write unshares); the pfn returns to the allocator when it
 *       drops to zero, after the PTEs were changed and the TLBs flushed.
 *   K6  A process's page tables are torn down only once no vCPU has its L4
 *       loaded (cpumask empty): every vCPU leaves a dying mm at its next
 *       scheduling decision.
 *   H1  (HVM) Remote TLB shootdowns: the local vCPU executes the flush
 *       instruction (it exits to the hypervisor: shadow resync, etc.); the
 *       other vCPUs of the mm's cpumask get the flush IPI's effect on their
 *       TLB as the MMU's remote flush request (core/mmu.h
 *       mmu_request_flush), which waits for an access in flight there to
 *       finish.  There is no guest IPI model yet, so a remote vCPU does not
 *       itself exit for the flush.
 */
#ifndef HVLAB_GUEST_PRIVATE_H
#define HVLAB_GUEST_PRIVATE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/lock.h"
#include "core/pte.h"
#include "core/types.h"
#include "core/vcpu.h"
#include "guest/guest.h"

struct vcpu;
struct guest_kernel;
struct gcpu;
struct proc;

/* ---- kernel spinlock ------------------------------------------------------ */

struct gspin {
    _Atomic uint32_t locked;
};

static inline void gspin_lock(struct gspin *l)
{
    while (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&l->locked, memory_order_relaxed))
            hv_relax();
    }
}
static inline void gspin_unlock(struct gspin *l)
{
    atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* ---- layout --------------------------------------------------------------- */

#define KERNEL_L4_FIRST     272     /* first kernel slot copied into every L4 */
#define USER_L4_LAST        255     /* user half: L4 slots 0..255 */
#define PT_TABLE_FLAGS      (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
#define PT_USER_PAGE_FLAGS  (_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)

/* Per-vCPU hypercall argument area: ARG_PAGES pages of the direct map. */
#define ARG_PAGES           4
#define ARG_MMU_OFF         0                   /* mmu_update requests */
#define ARG_MMU_MAX         512                 /* 2 pages of 16 bytes */
#define ARG_EXT_OFF         (2 * PAGE_SIZE)     /* mmuext ops */
#define ARG_EXT_MAX         64
#define ARG_DONE_OFF        (3 * PAGE_SIZE)     /* `done` counter */
#define ARG_MASK_OFF        (3 * PAGE_SIZE + 64) /* vCPU bitmap */

_Static_assert(ARG_MMU_MAX * sizeof(struct mmu_update) <= ARG_EXT_OFF,
               "mmu_update batch fits its pages");
_Static_assert(ARG_EXT_OFF + ARG_EXT_MAX * sizeof(struct mmuext_op) <= ARG_DONE_OFF,
               "mmuext batch fits its page");

static inline uint64_t dm_va(pfn_t pfn)
{
    return GUEST_DIRECTMAP_BASE + (pfn << PAGE_SHIFT);
}

/* ---- why a process was killed (hvlab_guest:proc_killed `why`) ------------- */
enum kill_why {
    KILL_NONE = 0,
    KILL_SEGV_NO_VMA,       /* access outside every VMA */
    KILL_SEGV_ACCESS,       /* access the VMA does not allow */
    KILL_SPURIOUS,          /* spurious fault, spurious_check off */
    KILL_OOM,               /* no free pfn for a page or a table */
    KILL_KERNEL_OOPS,       /* the kernel's own access was refused */
    KILL_HCALL,             /* a page-table hypercall failed */
    KILL_NR
};
extern const char *const kill_why_name[KILL_NR];

/* What a PTE change is for: selects the write path under GPT_MIXED. */
enum pte_op {
    PTE_OP_INSTALL,         /* demand fault: not present -> present */
    PTE_OP_COW,             /* copy-on-write: new frame, or reuse RO->RW */
    PTE_OP_WRPROTECT,       /* fork: clear RW in the parent */
    PTE_OP_ZAP,             /* munmap: present -> 0 */
};

/* ---- processes ------------------------------------------------------------ */

/* A workload thread's program state (thread.pc; guest/workload.c runs
   them, guest/kstate.c checks a loaded one). */
enum wl_pc {
    /* fork-storm parent thread 0 */
    FS_TOUCH, FS_FORK, FS_WAIT, FS_VERIFY,
    /* fork-storm sibling */
    FS_SIB,
    /* fork-storm child */
    FC_READ, FC_WRITE, FC_VERIFY,
    /* mmap-churn */
    MC_MAP, MC_TOUCH, MC_UNMAP,
    /* memtouch */
    MT_WRITE, MT_VERIFY,
};

/* Pages of thread tid among n pages shared by nthreads threads. */
static inline uint64_t own_pages(uint64_t n, unsigned nthreads, unsigned tid)
{
    return n > tid ? (n - tid + nthreads - 1) / nthreads : 0;
}

static inline uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

struct vma {
    uint64_t start, end;    /* [start, end), page aligned */
    bool writable;
};
#define PROC_MAX_VMAS       16

enum thread_result { T_RUNNABLE, T_EXITED };

struct thread {
    struct proc *p;
    unsigned tid;           /* 0..p->nthreads-1 */
    unsigned pc;            /* workload program state */
    unsigned iter;
    uint64_t cursor;        /* page cursor inside the current step */
    uint64_t region;        /* mmap-churn: start of the current region */
    uint64_t step, off;     /* memtouch: page permutation */
    uint64_t rng;
    struct thread *rq_next; /* rq_lock */
};

struct proc {
    unsigned pid;
    struct guest_kernel *g;
    struct proc *parent;
    struct proc *all_next;  /* kernel.proc_lock: every process ever made */

    /* Address space (K2-K6). */
    pfn_t l4_pfn;
    mfn_t l4_mfn;
    bool pinned;            /* PV: the L4 is pinned (never set in HVM) */
    struct gspin mm_lock;   /* tables and VMAs */
    struct vma vma[PROC_MAX_VMAS];  /* mm_lock */
    unsigned nr_vma;
    _Atomic uint64_t cpumask;       /* vCPUs with this L4 loaded */
    _Atomic bool dying;             /* tear-down started (K6) */
    _Atomic bool root_stuck;        /* a vCPU could not leave this L4: its
                                       tables must not be freed (mm_leave) */

    /* Threads. */
    unsigned nthreads;
    _Atomic unsigned threads_live;
    struct thread *threads;
    _Atomic bool stop;              /* siblings: finish now */
    _Atomic int killed;             /* enum kill_why, first reason wins */

    /* Workload. */
    bool is_child;                  /* a fork-storm child program */
    unsigned parent_threads;        /* fork-storm child: parent's threads */
    unsigned parent_pid;
    _Atomic bool child_done;        /* fork-storm parent: child exited */
    struct proc *child;
};

/* ---- per-vCPU kernel state ------------------------------------------------ */

struct gcpu {
    struct guest_kernel *g;
    struct vcpu *v;
    bool up;                        /* has a root, runs the kernel */
    uint64_t arg_va;                /* PV: argument area (ARG_PAGES pages) */
    struct mmu_update batch[ARG_MMU_MAX];   /* PV: pending, not yet issued */
    unsigned batch_n;               /* PV: always 0 in an HVM kernel */
    struct proc *loaded;            /* whose L4 is loaded (NULL: init) */
    struct thread *cur;             /* running thread (NULL: kernel) */
    unsigned fault_depth;           /* nested #PF handler calls */
    uint8_t kbuf[PAGE_SIZE];        /* kernel: copy-on-write bounce buffer */
    uint8_t ubuf[PAGE_SIZE];        /* workload: what user code writes */
    uint8_t ubuf2[PAGE_SIZE];       /* workload: what user code read */
};

/* ---- the kernel ----------------------------------------------------------- */

struct gstats {
    _Atomic uint64_t faults_delivered, spurious_seen, spurious_fatal,
        procs_killed, forks, exits, pages_touched, verify_failures,
        hypercall_errors, kernel_oopses, stale_foreign_maps;
    _Atomic uint64_t blk_ops, blk_bytes, blk_verify_failures,
        blk_busy_grants;                                        /* blk-io */
    _Atomic uint64_t blk_suspends, blk_grants_busy_at_suspend;  /* blk-io */
    _Atomic uint64_t blk_suspend_inflight;                      /* blkback */
    /* The first GUEST_BLK_BUSY_MAX distinct busy grant entries (only the
       frontend's thread writes them; read after the run). */
    uint32_t blk_busy_ref[GUEST_BLK_BUSY_MAX], blk_busy_frame[GUEST_BLK_BUSY_MAX];
    uint16_t blk_busy_flags[GUEST_BLK_BUSY_MAX];
    _Atomic uint64_t poc_vulnerable;                            /* grant-poc */
    _Atomic uint64_t mig_suspends, mig_resumes;                 /* suspend.c */
    _Atomic uint64_t ql_reuses, ql_released, balloon_out,
        balloon_in;                                             /* pt-reuse */
};

#define LOG_MAX             64
#define LOG_LINE            200

/*
 * What differs between a PV and an HVM kernel; everything else is the one
 * core.  A NULL hook means "nothing to do" (the core treats it as success).
 * Every hook that can fail logs the failure itself and returns 0 or
 * -XEN_E*.
 */
struct kernel_paging_ops {
    const char *frame_word;     /* "pfn" / "gfn": frames in log lines */
    unsigned arg_pages;         /* per-vCPU argument-area pages carved
                                   from the free frames at boot */

    /* Boot (vCPU 0): read the start info through the MMU, fill nr_pages,
       init_l4_pfn / init_l4_mfn (PV: p2m_va), return the first free
       frame in *first_free. */
    int (*boot_read)(struct gcpu *c, pfn_t *first_free);
    /* Boot (vCPU 0), after the allocator and the #PF handler are set up
       (PV: writable pagetables, pin the initial L4).  May be NULL. */
    int (*boot_finish)(struct gcpu *c);
    /* Bring up vCPU c (not 0) once boot succeeded: check its root,
       register the #PF handler, load the kernel root.  Non-zero: the
       vCPU stays idle (reported). */
    int (*cpu_attach)(struct gcpu *c);

    /* The frame number a PTE holds for pfn (PV: mfn from the p2m list;
       HVM: the gfn) and back; INVALID_MFN / INVALID_PFN when there is
       none. */
    mfn_t (*pfn_to_frame)(struct gcpu *c, pfn_t pfn);
    pfn_t (*frame_to_pfn)(struct gcpu *c, mfn_t frame);

    /* A zeroed (or filled) frame becomes a table of p at level (PV: made
       read-only, traced); may be NULL. */
    int (*table_seal)(struct gcpu *c, struct proc *p, pfn_t pfn,
                      unsigned level);
    /* A table frame nothing references any more stops being one (PV: made
       writable, traced); non-zero: the frame is leaked, not freed.  May be
       NULL. */
    int (*table_release)(struct gcpu *c, struct proc *p, pfn_t pfn,
                         unsigned level);
    /* Pin / unpin p's L4 (PV: MMUEXT_PIN_L4_TABLE / UNPIN); may be NULL. */
    int (*root_pin)(struct gcpu *c, struct proc *p);
    int (*root_unpin)(struct gcpu *c, struct proc *p);

    /* Write an L2-L4 entry (PV: mmu_update; HVM: store). */
    int (*set_upper)(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
                     const char *what);
    /* Change a live L1 entry (see pt_set_l1e). */
    int (*set_l1e)(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old,
                   pte_t val, enum pte_op op);
    /* Issue queued entry updates (PV: the mmu_update batch); may be NULL. */
    int (*commit)(struct gcpu *c, const char *what);

    /* Load p's L4 (NULL: the initial L4) on this vCPU. */
    int (*load_root)(struct gcpu *c, struct proc *p);
    /* Flush va from this vCPU's TLB (spurious faults). */
    void (*flush_local_va)(struct gcpu *c, uint64_t va);
    /* Flush va / everything on every vCPU with p's L4 loaded (K5, H1). */
    void (*flush_va)(struct gcpu *c, struct proc *p, uint64_t va);
    void (*flush_all)(struct gcpu *c, struct proc *p);
};

extern const struct kernel_paging_ops pv_paging_ops;
extern const struct kernel_paging_ops hvm_paging_ops;

struct guest_kernel {
    const struct kernel_paging_ops *ops;    /* set at creation, constant */
    uint64_t start_info_va;
    struct guest_options opt;
    struct workload_params wl;
    unsigned host_id;
    domid_t domid;
    unsigned nr_vcpus;

    _Atomic int boot_state;         /* 0 booting, 1 up, -1 failed */

    /* From start_info. */
    uint64_t nr_pages;
    uint64_t p2m_va;                /* PV: pfn -> mfn list (guest memory) */
    pfn_t init_l4_pfn;
    mfn_t init_l4_mfn;

    /* pfn allocator (K5). */
    struct gspin pfn_lock;
    pfn_t *free_pfns;               /* stack */
    uint64_t nr_free;
    uint64_t min_free;              /* low-water mark, for reports */
    _Atomic uint32_t *pfn_maps;     /* user PTEs mapping each pfn */
    _Atomic uint8_t *pfn_kind;      /* enum pfn_kind */

    struct gcpu cpu[HV_MAX_VCPUS];

    /* Processes and the run queue. */
    struct gspin proc_lock;
    struct proc *all_procs;
    unsigned next_pid;
    _Atomic unsigned live_procs;
    _Atomic bool done;
    struct gspin rq_lock;
    struct thread *rq_head, *rq_tail;

    struct gstats st;

    struct p2m_race *race;          /* p2m-race workload state (or NULL) */
    struct gnttab *gnt;             /* grant-table driver (gnttab.c) or NULL */
    struct blkfront *blkfront;      /* blk-io workload state (or NULL) */
    struct blkback *blkback;        /* blkback workload state (or NULL) */
    struct gevtchn *evtchn;         /* event channels (evtchn.c) or NULL */
    struct pt_reuse *ptr;           /* pt-reuse quicklist and balloon
                                       (pt_reuse.c) or NULL */

    struct gspin log_lock;
    char log[LOG_MAX][LOG_LINE];
    unsigned log_n, log_dropped;

    /* Migration (guest/suspend.c; its rules S1-S7). */
    _Atomic int mig_state;          /* enum mig_state: suspend.c's table */
    _Atomic uint64_t mig_xb_seen;   /* S1: xenbus version last looked at */
    _Atomic unsigned mig_parked;    /* S2: vCPUs (not 0) parked */
    _Atomic unsigned mig_idle;      /* vCPUs (not 0) whose entry returned
                                       without reaching sched_loop */
    bool mig_have_resume;           /* S5: guest_*_resume recorded mig_r */
    struct guest_resume mig_r;
    uint64_t mig_suspended_ns;      /* S4: when the shutdown was issued */
    pfn_t mig_arg_pfn;              /* S4: argument page of a kernel
                                       without argument areas (HVM) */
};

enum pfn_kind {
    PFN_FREE = 0,
    PFN_BOOT,           /* start_info, p2m list, bootstrap tables */
    PFN_KERNEL,         /* argument areas */
    PFN_TABLE,          /* a page table of a process */
    PFN_DATA,           /* process memory */
    PFN_BALLOONED,      /* given back to Xen (pt_reuse.c): no frame, p2m
                           entry INVALID_P2M_ENTRY, never handed out */
};

/* The public kernel types of guest/guest.h: one kernel core each. */
struct guest_pv {
    struct guest_kernel k;
};
struct guest_hvm {
    struct guest_kernel k;
};

/* ---- the instance (guest/kernel.c) ------------------------------------------ */

/* Set up a zeroed k for ops (opt / wl NULL: defaults). */
void kernel_init(struct guest_kernel *k, const struct kernel_paging_ops *ops,
                 uint64_t start_info_va, const struct guest_options *opt,
                 const struct workload_params *wl);
/* Free what k owns (not k itself). */
void kernel_destroy(struct guest_kernel *k);
void kernel_vcpu_main(struct vcpu *v, struct guest_kernel *k);
void kernel_stats(const struct guest_kernel *k, struct guest_stats *out);
void kernel_report(const struct guest_kernel *k, FILE *f);

/* Append one line to the failure log (printed by kernel_report). */
void klog(struct guest_kernel *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- PV hypercalls (guest/pv_hcall.c) -------------------------------------- */
/* Each writes its arguments into the vCPU's argument area and checks rc: a
   failure is counted (hypercall_errors), logged with `what` and traced. */
long hc_mmu_update(struct gcpu *c, const struct mmu_update *req, unsigned n,
                   const char *what);
long hc_mmuext(struct gcpu *c, const struct mmuext_op *op, unsigned n,
               const char *what);
long hc_mmuext1(struct gcpu *c, unsigned cmd, uint64_t arg1, uint64_t arg2,
                const char *what);
long hc_flush_mask(struct gcpu *c, unsigned cmd, uint64_t va, uint64_t mask,
                   const char *what);
long hc_uva(struct gcpu *c, uint64_t va, pte_t val, uint64_t flags,
            const char *what);
long hc_vm_assist(struct gcpu *c, unsigned cmd, unsigned type, const char *what);
/* Queue one mmu_update (issued when full or at pt_batch_flush). */
int pt_batch_add(struct gcpu *c, uint64_t ptr, uint64_t val);
int pt_batch_flush(struct gcpu *c, const char *what);

/* PV: the direct-map PTE of pfn, read through the init L4's tree
   (guest/pv_kernel.c): 0, -XEN_EFAULT, -XEN_ENOENT (not mapped), -XEN_EIO. */
int pv_dm_pte(struct gcpu *c, pfn_t pfn, pte_t *out);

/* ---- pfns and the direct map (guest/pfn.c) --------------------------------- */
/* The frame number a PTE holds for pfn, and back (ops->pfn_to_frame /
   frame_to_pfn: an mfn in a PV kernel, the gfn in an HVM one). */
mfn_t pfn_to_mfn(struct gcpu *c, pfn_t pfn);
pfn_t mfn_to_pfn(struct gcpu *c, mfn_t mfn);
pfn_t pfn_alloc(struct guest_kernel *g, enum pfn_kind kind);
void pfn_free(struct guest_kernel *g, pfn_t pfn);
int pfn_zero(struct gcpu *c, pfn_t pfn);
/* Kernel loads/stores through the direct map; false when refused. */
bool kload(struct gcpu *c, uint64_t va, uint64_t *val);
bool kstore(struct gcpu *c, uint64_t va, uint64_t val);

/* ---- page tables (guest/pagetable.c) ---------------------------------------- */
int pt_seal_table(struct gcpu *c, struct proc *p, pfn_t pfn, unsigned level);
pfn_t pt_alloc_table(struct gcpu *c, struct proc *p, unsigned level);
void pt_free_table(struct gcpu *c, struct proc *p, pfn_t pfn, unsigned level);
int pt_set_upper(struct gcpu *c, pfn_t table, unsigned slot, pte_t val,
                 const char *what);
/* Change entry `slot` of live L1 `l1` from old to val (PV: by the path
   guest.pt_updates picks for op, pv_kernel.c rule 3; HVM: a store, or a
   locked cmpxchg for WRPROTECT / ZAP).  Caller holds the mm lock.
   WRPROTECT / ZAP may leave the request queued: the caller issues
   pt_commit before unlocking.  0 or -XEN_E* (already logged). */
int pt_set_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old, pte_t val,
               enum pte_op op);
/* Store val into L1 entry `slot` through the direct map: a plain store for
   INSTALL / COW, a locked cmpxchg from old for WRPROTECT / ZAP (only the
   A/D bits may race, K4).  0 or -XEN_E* (logged). */
int pt_store_l1e(struct gcpu *c, pfn_t l1, unsigned slot, pte_t old,
                 pte_t val, enum pte_op op);
/* Issue queued entry updates (ops->commit).  0 or -XEN_E* (logged). */
int pt_commit(struct gcpu *c, const char *what);
bool pt_read(struct gcpu *c, pfn_t table, unsigned slot, pte_t *e);
/* Walk p's tables for va to its L1 (creating missing tables when create).
   Upper entries count as there when non-zero (Linux's pXd_none), so an L1
   the hypervisor unhooked for a writable-pagetable batch is still found.
   0 with *l1, -XEN_ENOENT (no table, !create), -XEN_ENOMEM, -XEN_EIO. */
int pt_walk(struct gcpu *c, struct proc *p, uint64_t va, bool create,
            pfn_t *l1);

/* ---- processes (guest/process.c) --------------------------------------------- */
/* A new process with a pinned, empty address space; not yet runnable
   (proc_start).  NULL when out of memory or the pin failed (logged). */
struct proc *proc_spawn(struct gcpu *c, struct proc *parent, unsigned nthreads);
/* Fork parent (caller must not hold its mm lock; it is taken here) into a
   one-thread child with a pinned copy-on-write copy of its address space.
   0 with *child (not yet started), or -XEN_ENOMEM / -XEN_EIO with every
   frame of the half-built child given back. */
int proc_fork(struct gcpu *c, struct proc *parent, struct proc **child);
/* A thread ends; the last one tears the process down (may wait, K6). */
void proc_thread_exit(struct gcpu *c, struct thread *t);
/* Mark p killed (first reason wins, counted, logged, traced) and ask its
   threads to stop.  Takes no lock: callable from the #PF handler. */
void proc_kill(struct gcpu *c, struct proc *p, enum kill_why why, uint64_t va);
/* Caller holds p->mm_lock.  0, -XEN_EINVAL, -XEN_EEXIST, -XEN_ENOSPC. */
int proc_add_vma(struct proc *p, uint64_t start, uint64_t end, bool writable);
/* Map n pages (a writable VMA) at base + k * stride for a k drawn from
   t's random stream below slots, trying again (up to 8 times) when the
   place is taken: 0 with t->region set, or proc_add_vma's error, logged.
   Takes the mm lock. */
int proc_mmap_random(struct gcpu *c, struct thread *t, uint64_t base,
                     uint64_t slots, uint64_t stride, uint64_t n);
/* Remove the VMA [start, end) exactly; takes the mm lock. */
int proc_munmap(struct gcpu *c, struct proc *p, uint64_t start, uint64_t end);
/* Load p's L4 (NULL: the init L4); on failure p is killed. */
void mm_switch(struct gcpu *c, struct proc *p);
/* Leave the loaded mm for the init L4 (process.c rule 6).  True when left
   cleanly; false when the switch kept failing (oops, logged). */
bool mm_leave(struct gcpu *c);
void mm_flush_va(struct gcpu *c, struct proc *p, uint64_t va);
void mm_flush_all(struct gcpu *c, struct proc *p);

/* ---- faults (guest/fault.c) -------------------------------------------------- */
/* The #PF upcall (ctx: the vCPU's struct gcpu). */
enum pf_outcome kernel_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec,
                                  void *ctx);

/* ---- scheduler (guest/sched.c) ---------------------------------------------- */
void rq_push(struct guest_kernel *g, struct thread *t);
/* Make p's threads runnable (counts it in live_procs first). */
void proc_start(struct guest_kernel *g, struct proc *p);
struct thread *rq_pop(struct guest_kernel *g);
void sched_loop(struct gcpu *c);

/* ---- workloads (guest/workload.c) ------------------------------------------- */
void workload_start(struct gcpu *c);
enum thread_result workload_slice(struct gcpu *c, struct thread *t);

/* ---- the privileged domain's story-B workload (guest/dom0_p2m_race.c) --- */
/* vCPU 0 at boot: the mapping area and the mapper + pager threads. */
void p2m_race_start(struct gcpu *c);
enum thread_result p2m_race_slice(struct gcpu *c, struct thread *t);
void p2m_race_free(struct guest_kernel *g);

/* ---- story D's guest: quicklist of released L1s, balloon (pt_reuse.c) --- */
/* Argument slot of XENMEM reservations: a struct xen_memory_reservation
   and its extent list, between the mmuext ops and `done`. */
#define ARG_MEM_OFF         (2 * PAGE_SIZE + 2048)
#define ARG_MEM_EXTENTS     128
void pt_reuse_start(struct gcpu *c);
enum thread_result pt_reuse_slice(struct gcpu *c, struct thread *t);
void pt_reuse_free(struct guest_kernel *g);
/* An L1 from the quicklist, its entries zeroed by MMU_NORMAL_PT_UPDATE,
   still read-only and ready to hook; INVALID_PFN when the list is empty
   or the kernel keeps none (pagetable.c rule 5). */
pfn_t pt_quicklist_take(struct gcpu *c, struct proc *p);

/* ---- grant-table PoCs (guest/grant_poc.c) -------------------------------- */
/* vCPU 0 at boot: run the PoC of wl.xsa to its end, record, finish. */
void grant_poc_start(struct gcpu *c);

/* ---- split block driver (guest/gnttab.c, blkif.c, blkfront.c, blkback.c) -- */
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#include <xen/io/ring.h>

/* Kernel VA areas of the split drivers, in the L4 slot of dom0_p2m_race.c's
   mapping area (Linux's vmalloc range), each 2 MiB (one L1) or more, the L1s
   hooked at workload start before any process copies the kernel slots. */
#define GNT_SHARED_VA       0xffffc90000400000ULL   /* grant-table frames */
#define GNT_SHARED_FRAMES   4
#define GNT_MAP_BASE        0xffffc90000600000ULL   /* grant mappings */
#define GNT_MAP_L1S         2
#define GNT_MAP_SLOTS       (GNT_MAP_L1S * PT_ENTRIES)

/* One grant mapping a backend asks for (GNTTABOP_map_grant_ref). */
struct gnt_map {
    grant_ref_t ref;
    domid_t dom;
    bool readonly;
    uint64_t va;                    /* slot of the mapping area */
    grant_handle_t handle;          /* out */
    int16_t status;                 /* out: GNTST_* */
};

struct gnttab;
/* vCPU 0, at workload start: the L1s of both areas (gnttab.c rule 1). */
int gnttab_prepare(struct gcpu *c);
/* Granting side (rules 2-4): 0 with *ref, -XEN_ENOSPC (no free ref), or
   the setup error. */
int gnttab_grant_access(struct gcpu *c, domid_t domid, mfn_t frame,
                        bool readonly, grant_ref_t *ref);
/* 0 (revoked, ref freed), -XEN_EBUSY (GTF_reading/writing: still mapped). */
int gnttab_end_access(struct gcpu *c, grant_ref_t ref);
/* Mapping side (rules 5-6): a free slot VA of the mapping area, or 0. */
uint64_t gnttab_slot_alloc(struct gcpu *c);
void gnttab_slot_free(struct gcpu *c, uint64_t va);
/* Batched map / unmap: 0 when the hypercall ran (each m[i].status says
   how that one went), -XEN_E* when it did not. */
int gnttab_map(struct gcpu *c, struct gnt_map *m, unsigned n);
int gnttab_unmap(struct gcpu *c, struct gnt_map *m, unsigned n);
void gnttab_free(struct guest_kernel *g);
/* Rule 7: the table's size (0 before setup) and one entry as the guest
   reads it (0, -XEN_EINVAL, -XEN_EFAULT). */
unsigned gnttab_nr_refs(struct gcpu *c);
int gnttab_query(struct gcpu *c, grant_ref_t ref, uint16_t *flags,
                 domid_t *domid, uint32_t *frame);

#define BLKIF_RING_SIZE     __CONST_RING_SIZE(blkif, PAGE_SIZE)

/* How the ring code reaches the shared page (blkif.c rule B1). */
struct blkif_mem {
    void *ctx;
    uint64_t base;                  /* address of the struct blkif_sring */
    bool (*load32)(void *ctx, uint64_t addr, uint32_t *v);
    bool (*store32)(void *ctx, uint64_t addr, uint32_t v);
    bool (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
    bool (*write)(void *ctx, uint64_t addr, const void *buf, size_t len);
};
struct blkif_front {
    struct blkif_mem m;
    RING_IDX req_prod_pvt, rsp_cons;
    unsigned nr_ents;
};
struct blkif_back {
    struct blkif_mem m;
    RING_IDX rsp_prod_pvt, req_cons;
    unsigned nr_ents;
};
/* B2: the event index lies in (old, new]. */
static inline bool blkif_need_notify(RING_IDX old, RING_IDX new, RING_IDX event)
{
    return (RING_IDX)(new - event) < (RING_IDX)(new - old);
}
int blkif_sring_init(const struct blkif_mem *m);
void blkif_front_init(struct blkif_front *f, const struct blkif_mem *m);
unsigned blkif_front_free(const struct blkif_front *f);
int blkif_front_put(struct blkif_front *f, const struct blkif_request *req);
int blkif_front_push(struct blkif_front *f, bool *notify);
int blkif_front_get(struct blkif_front *f, struct blkif_response *rsp);
int blkif_front_final_check(struct blkif_front *f, bool *more);
void blkif_back_init(struct blkif_back *b, const struct blkif_mem *m);
int blkif_back_get(struct blkif_back *b, struct blkif_request *req);
int blkif_back_put(struct blkif_back *b, const struct blkif_response *rsp);
int blkif_back_push(struct blkif_back *b, bool *notify);
int blkif_back_final_check(struct blkif_back *b, bool *more);
/* The ring page at kernel VA va, reached through c's MMU. */
void blkif_mem_kernel(struct blkif_mem *m, struct gcpu *c, uint64_t va);

/* The workloads (blkfront.c: blk-io; blkback.c: the driver domain). */
void blkfront_start(struct gcpu *c);
enum thread_result blkfront_slice(struct gcpu *c, struct thread *t);
void blkfront_free(struct guest_kernel *g);
/* Ask for / end a suspend of the kernel's vbd (<be dir>/suspend). */
int blkfront_suspend(struct guest_kernel *g, bool suspend);
void blkback_start(struct gcpu *c);
enum thread_result blkback_slice(struct gcpu *c, struct thread *t);
void blkback_free(struct guest_kernel *g);

static inline uint64_t vcpu_bit(const struct gcpu *c)
{
    return 1ULL << c->v->vcpu_id;
}

/* ---- tracing helpers -------------------------------------------------------- */
static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A workload's random stream: the next number of state *s. */
static inline uint64_t wl_rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return splitmix64(*s);
}

/* ---- event channels (guest/evtchn.c) --------------------------------------- */
#include <xen/event_channel.h>

/* Argument slots of the event-channel wrappers in the argument area: one
   for normal context, one for the upcall (a handler's hypercall must not
   overwrite the arguments of the call it interrupted). */
#define ARG_EVTCHN_OFF      (3 * PAGE_SIZE + 1024)
#define ARG_EVTCHN_SLOT     512
_Static_assert(ARG_MASK_OFF + HV_MAX_VCPUS / 8 <= ARG_EVTCHN_OFF &&
               ARG_EVTCHN_OFF + 2 * ARG_EVTCHN_SLOT <= ARG_PAGES * PAGE_SIZE,
               "event-channel slots fit the argument area");

struct gevtchn;
/* A port's handler: runs in the upcall, on the vCPU that took it, with
   event delivery masked. */
typedef void (*gevtchn_fn)(struct gcpu *c, evtchn_port_t port, void *arg);

/* vCPU 0 at boot (PV): the kernel's event-channel state, and the upcall
   registered on this vCPU; other vCPUs register it in gevtchn_cpu_attach.
   shared_info is mapped (over a PFN_KERNEL page of the direct map, with
   update_va_mapping) by the first event-channel call, which also enables
   delivery on the calling vCPU (evtchn.c G1, G2).  0 or -XEN_ENOMEM. */
int gevtchn_init(struct gcpu *c);
int gevtchn_cpu_attach(struct gcpu *c);
void gevtchn_free(struct guest_kernel *g);
/* Handler for port (NULL: none; events on it are consumed). -XEN_EINVAL
   for a port beyond the 2-level ABI or a kernel without event channels. */
int evtchn_bind_handler(struct guest_kernel *k, evtchn_port_t port,
                        gevtchn_fn fn, void *arg);
/* EVTCHNOP wrappers (arguments in the vCPU's argument area); each maps
   shared_info / enables this vCPU's delivery first if needed
   (-XEN_ENOSYS: the kernel has no event channels). */
long gevtchn_alloc_unbound(struct gcpu *c, domid_t remote,
                           evtchn_port_t *port);
long gevtchn_bind_interdomain(struct gcpu *c, domid_t remote_dom,
                              evtchn_port_t remote_port, evtchn_port_t *local);
long gevtchn_send(struct gcpu *c, evtchn_port_t port);
long gevtchn_close(struct gcpu *c, evtchn_port_t port);
/* EVTCHNOP_bind_vcpu: port's events go to vcpu from now on (evtchn.c G5). */
long gevtchn_bind_vcpu(struct gcpu *c, evtchn_port_t port, unsigned vcpu);
/* Mask / unmask in shared_info (locked bit operations through the MMU);
   unmask forces the upcall when the port is pending, as Linux does; a port
   of another vCPU is unmasked with EVTCHNOP_unmask (evtchn.c G6). */
int gevtchn_mask(struct gcpu *c, evtchn_port_t port);
int gevtchn_unmask(struct gcpu *c, evtchn_port_t port);
/* SCHEDOP_block: returns once an event was delivered to this vCPU. */
long gevtchn_block(struct gcpu *c);
/* Upcalls taken and port handlers called, for tests and reports. */
uint64_t gevtchn_upcalls(const struct guest_kernel *g);
uint64_t gevtchn_events(const struct guest_kernel *g);

/* ---- migration hooks (guest/suspend.c calls them; docs/migration.md) ---- */
/* vCPU 0, every other vCPU parked: before SCHEDOP_shutdown(suspend). */
int gevtchn_mig_suspend(struct gcpu *c);        /* evtchn.c: unmap shared_info */
int gnttab_mig_suspend(struct gcpu *c);         /* gnttab.c: unmap the frames */
void blkfront_mig_suspend(struct gcpu *c);      /* blkfront.c: stop issuing */
/* vCPU 0 on resume, in this order; cancelled: same domain and host. */
int gevtchn_mig_resume(struct gcpu *c, bool cancelled);   /* map shared_info
                                   again; !cancelled: every binding gone */
int gnttab_mig_resume(struct gcpu *c, bool cancelled);    /* map the frames
                                   again; !cancelled: every ref free */
int blkfront_mig_resume(struct gcpu *c, const struct guest_resume *r);

/* guest/suspend.c: the kernel's migration states (rules there). */
enum mig_state {
    MIG_RUNNING = 0,    /* no suspend asked for */
    MIG_PARKING,        /* "suspend" seen: vCPUs park between slices */
    MIG_SUSPENDED,      /* SCHEDOP_shutdown(suspend) issued, vCPUs stopped */
    MIG_RESUMING,       /* vCPU 0 runs the resume sequence */
    MIG_FAILED,         /* the resume could not be completed (logged) */
};
/* sched_loop, between slices: true when this vCPU must return from its
   entry (the kernel suspended); false to carry on. */
bool mig_suspend_point(struct gcpu *c);
/* kernel_vcpu_main, before boot: 0 not suspended (boot / attach as usual),
   1 resumed (vCPU 0: enter sched_loop), -1 return (stay stopped). */
int mig_vcpu_entry(struct gcpu *c);

/* ---- the kernel's state as bytes (guest/kstate.c; KS1-KS4) ----------------- */
/* The writer and reader cursors (kstate.c rules 2-4).  Getters past the
   section's end, and ks_bad, record the first error with the section's
   name and the offset of the value last read; a getter then returns 0. */
struct ks_out;
struct ks_in;
void ks_put_u8(struct ks_out *o, uint8_t v);
void ks_put_u16(struct ks_out *o, uint16_t v);
void ks_put_u32(struct ks_out *o, uint32_t v);
void ks_put_u64(struct ks_out *o, uint64_t v);
void ks_put_bytes(struct ks_out *o, const void *p, size_t n);
void ks_put_str(struct ks_out *o, const char *s, size_t max);
/* n values get(ctx, 0..n-1) as runs (kstate.c rule 4). */
void ks_put_runs(struct ks_out *o, uint64_t n,
                 uint64_t (*get)(const void *ctx, uint64_t i), const void *ctx);
uint8_t ks_get_u8(struct ks_in *in);
uint16_t ks_get_u16(struct ks_in *in);
uint32_t ks_get_u32(struct ks_in *in);
uint64_t ks_get_u64(struct ks_in *in);
bool ks_get_bool(struct ks_in *in, const char *what);
uint32_t ks_get_below(struct ks_in *in, uint64_t limit, const char *what);
bool ks_get_bytes(struct ks_in *in, void *p, size_t n);
bool ks_get_str(struct ks_in *in, char *s, size_t cap, const char *what);
bool ks_get_runs(struct ks_in *in, uint64_t n, uint64_t max,
                 void (*put)(void *ctx, uint64_t i, uint64_t v), void *ctx,
                 const char *what);
bool ks_check_pfn(struct ks_in *in, const struct guest_kernel *g, pfn_t pfn,
                  bool may_be_invalid, const char *what);
bool ks_bad(struct ks_in *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* [start, start + npages pages) is exactly one of p's VMAs (a thread's
   mapped region, checked by the loaders of kinds that map regions). */
bool ks_region_is_vma(const struct proc *p, uint64_t start, uint64_t npages);
bool ks_failed(const struct ks_in *in);
/* Each module's section: save 0 or -XEN_E*; load fills g's pointer or
   records the error (ks_bad).  Loads run in section order: GNTTAB, EVTCHN,
   BLKFRONT, PTREUSE, after the core's (pfn kinds known). */
int gnttab_state_save(struct ks_out *o, const struct guest_kernel *g);
void gnttab_state_load(struct ks_in *in, struct guest_kernel *g);
int gevtchn_state_save(struct ks_out *o, const struct guest_kernel *g);
void gevtchn_state_load(struct ks_in *in, struct guest_kernel *g);
int blkfront_state_save(struct ks_out *o, const struct guest_kernel *g);
void blkfront_state_load(struct ks_in *in, struct guest_kernel *g);
int pt_reuse_state_save(struct ks_out *o, const struct guest_kernel *g);
void pt_reuse_state_load(struct ks_in *in, struct guest_kernel *g);

#endif /* HVLAB_GUEST_PRIVATE_H */
