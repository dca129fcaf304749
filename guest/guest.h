/*
 * guest/guest.h - guest kernels as the toolstack sees them.
 *
 * A guest kernel is C code that runs on vCPUs and reaches the hypervisor
 * only as a guest would: hypercall() with guest-virtual argument pointers,
 * loads and stores through the vCPU's MMU (core/mmu.h), and the #PF upcall
 * it registers.  Its private bookkeeping (process list, VMAs, free-pfn
 * list) is kernel-private C state; everything the hypervisor could see -
 * page tables, process memory, start_info, the p2m list - is in guest
 * frames and touched only through the MMU.
 *
 * The toolstack builds the domain (toolstack/build_pv.c), then for every
 * vCPU sets entry = guest_pv_vcpu_main, entry_arg = the kernel instance.
 */
#ifndef HVLAB_GUEST_GUEST_H
#define HVLAB_GUEST_GUEST_H

#include <stdio.h>

#include "core/types.h"

struct vcpu;

/* Virtual layout of the PV guest kernel (64-bit, Linux-like). */
#define GUEST_DIRECTMAP_BASE  0xffff880000000000ULL /* pfn p at BASE + p*4K */
#define GUEST_USER_BASE       0x0000000000400000ULL /* user mappings start */
#define GUEST_USER_TOP        0x00007ff000000000ULL

/*
 * The boot contract between the domain builder and the PV kernel (the
 * start_info_t of <xen/xen.h>, filled as Xen's builder fills it):
 *   - pfn 0 is the start_info page; the kernel gets its VA
 *     (GUEST_DIRECTMAP_BASE + 0) as start_info_va.
 *   - si.mfn_list is the VA of the p2m list (one xen_pfn_t mfn per pfn,
 *     nr_pages entries), in pfns [si.first_p2m_pfn, +si.nr_p2m_frames).
 *   - si.pt_base is the VA of the initial L4; the bootstrap page tables are
 *     the si.nr_pt_frames pfns starting at pt_base's pfn, and are the last
 *     boot frames: pfns at or above pfn(pt_base) + nr_pt_frames are free.
 *   - The direct map covers pfns [0, si.nr_pages) at GUEST_DIRECTMAP_BASE
 *     (kernel-only, P|RW|A|D), except that page-table frames are mapped
 *     read-only (Xen refuses to validate a table that is writable anywhere).
 *   - vCPU 0's kernel root is the initial L4, already validated by the
 *     hypervisor (domctl_set_vcpu_context); the kernel pins it at boot.
 *   - Every other vCPU also starts with the initial L4 as its kernel root
 *     (domctl_set_vcpu_context for each vCPU: the builder stands in for the
 *     VCPUOP_initialise a Linux kernel issues from vCPU 0 to bring up its
 *     secondary CPUs).  A vCPU with no root cannot make a hypercall - its
 *     arguments are read through its own page tables - so the kernel
 *     reports such a vCPU as a boot failure and leaves it idle.
 */

enum workload_kind {
    WL_FORK_STORM = 0,  /* processes fork, touch, exit, in a storm */
    WL_MMAP_CHURN,      /* map, touch, unmap regions over and over */
    WL_MEMTOUCH,        /* write patterns into pages, verify them */
    WL_P2M_RACE,        /* privileged domain: foreign mapper + pager of
                           another (HVM) domain, story B (dom0_p2m_race.c) */
    WL_BLK_IO,          /* blkfront: block I/O to a backend, verified */
    WL_BLKBACK,         /* driver domain: blkback serving blk-io frontends */
    WL_GRANT_POC,       /* an XTF grant-table PoC (xsa=N, grant_poc.c) */
    WL_PT_REUSE,        /* mmap churn with a quicklist of released L1s
                           and ballooning, story D (pt_reuse.c) */
    WL_NR
};
extern const char *const workload_kind_name[WL_NR];

struct workload_params {
    enum workload_kind kind;
    unsigned procs;         /* concurrent processes */
    unsigned threads;       /* threads per process (share its address space) */
    unsigned iters;         /* iterations per process */
    unsigned pages;         /* working-set pages per process */
    uint64_t seed;
    /* p2m-race only: the domain it maps and pages, how many of its gfns
       (its top ones), and whether the pager also shares gfns. */
    uint16_t target;        /* domid (the toolstack resolves target=NAME) */
    uint64_t target_pages;  /* its memory, in pages */
    unsigned gfns;
    bool sharing;
    /* blk-io (frontend; the toolstack resolves backend=NAME) and blkback:
       the run's xenstore stand-in (guest/xenbus.h), created by the
       toolstack and shared by both kernels. */
    struct xenbus *xenbus;
    uint16_t backend;       /* blk-io: the driver domain's domid */
    unsigned ops;           /* requests to complete */
    unsigned depth;         /* requests in flight at most */
    unsigned segs_min, segs_max;    /* segments per request */
    unsigned reads;         /* percent of requests that are reads */
    bool verify;            /* check every read sector */
    uint64_t sectors;       /* disk size (512-byte sectors) */
    unsigned suspend_every; /* blk-io: suspend/resume the vbd every N ops
                               completed, requests in flight (0: never) */
    unsigned xsa;           /* grant-poc: which XSA's PoC to run */
    unsigned quicklist;     /* pt-reuse: released L1s kept read-only for
                               reuse, at most (0: none) */
    bool balloon;           /* pt-reuse: give freed data pfns back to Xen */
};

/* How the kernel writes its page tables. */
enum guest_pt_updates {
    GPT_WRITABLE = 0,       /* plain stores to RO-mapped L1s (ptwr) */
    GPT_MMU_UPDATE,         /* batched mmu_update */
    GPT_MIXED,              /* both, as Linux does */
};

struct guest_options {
    bool spurious_check;    /* guest.spurious_check: #PF handler re-walks
                               and ignores faults whose PTE is present */
    enum guest_pt_updates pt_updates;   /* guest.pt_updates */
    bool blkback_persistent;    /* blkback.persistent: offer persistent
                                   grants (feature-persistent) */
    bool blkback_quiesce;       /* blkback.quiesce: complete and unmap
                                   everything before acknowledging Closing
                                   or suspend=1 */
};

void guest_options_default(struct guest_options *o);
/* 0, or -1 with why[] filled (unknown key: hv options may know it). */
int guest_option_set(struct guest_options *o, const char *key,
                     const char *value, char *why, size_t whylen);
bool guest_option_known(const char *key);
void guest_options_print(const struct guest_options *o, FILE *f);

/* What the kernel saw and did; read by the scenario's expectations. */
struct guest_stats {
    uint64_t faults_delivered;  /* #PF upcalls received */
    uint64_t spurious_seen;     /* of those, PTE present and sufficient */
    uint64_t spurious_fatal;    /* spurious faults that killed a process
                                   (spurious_check off) */
    uint64_t procs_killed;      /* processes killed for any reason */
    uint64_t forks, exits;
    uint64_t pages_touched;
    uint64_t verify_failures;   /* memory patterns that did not read back */
    uint64_t hypercall_errors;  /* unexpected hypercall failures */
    uint64_t kernel_oopses;     /* kernel-mode faults the kernel could not
                                   explain (its own accesses refused) */
    uint64_t stale_foreign_maps;    /* p2m-race: a foreign mapping of gfn G
                                   that named a frame no longer backing G */
    uint64_t blk_ops;           /* blk-io: requests completed OK */
    uint64_t blk_bytes;         /* blk-io: bytes they moved */
    uint64_t blk_verify_failures;   /* blk-io: sectors that read back wrong */
    uint64_t poc_vulnerable;    /* grant-poc: the PoC's "vulnerable"
                                   condition held */
    uint64_t blk_busy_grants;   /* blk-io: grants the backend still mapped
                                   when it had acknowledged Closed */
    uint64_t blk_suspends;      /* blk-io: suspends the backend acknowledged;
                                   blkback: suspends it acknowledged */
    uint64_t blk_suspend_inflight;  /* blkback: requests it had taken and
                                   not answered when a suspend came */
    uint64_t blk_grants_busy_at_suspend;    /* blk-io: grant entries still
                                   GTF_reading/GTF_writing after them */
#define GUEST_BLK_BUSY_MAX 4
    /* The first few of those: ref, frame and flags of the entry. */
    uint32_t blk_busy_ref[GUEST_BLK_BUSY_MAX];
    uint32_t blk_busy_frame[GUEST_BLK_BUSY_MAX];
    uint16_t blk_busy_flags[GUEST_BLK_BUSY_MAX];
    uint64_t ql_reuses;         /* pt-reuse: L1s taken from the quicklist */
    uint64_t ql_released;       /* pt-reuse: L1s put on it (stale entries) */
    uint64_t balloon_out;       /* pt-reuse: pfns given back to Xen */
    uint64_t balloon_in;        /* pt-reuse: pfns populated again */
    uint64_t mig_suspends;      /* SCHEDOP_shutdown(suspend) issued */
    uint64_t mig_resumes;       /* resumes completed (cancelled or not) */
};

struct guest_pv;

/* A kernel instance for a domain whose start_info the builder placed at
   start_info_va (the %rsi of a PV entry). */
struct guest_pv *guest_pv_new(uint64_t start_info_va,
                              const struct guest_options *opt,
                              const struct workload_params *wl);
void guest_pv_free(struct guest_pv *g);
/* The host id its trace events carry (default 0); call before the vCPUs
   run, when several machines live in one process. */
void guest_pv_set_host(struct guest_pv *g, unsigned host_id);
/* vCPU entry: vCPU 0 boots the kernel, the others wait for it, then all
   run the workload's processes until it is done. */
void guest_pv_vcpu_main(struct vcpu *v, void *guest_pv);
void guest_pv_stats(const struct guest_pv *g, struct guest_stats *out);
/* One line per failure the kernel recorded (process, va, what went wrong). */
void guest_pv_report(const struct guest_pv *g, FILE *f);

/*
 * HVM kernels (the same kernel core as the PV one, with the HVM paging ops of
 * guest/hvm_kernel.c).  The boot contract with toolstack/build_hvm.c,
 * PVH-style (struct hvm_start_info of <xen/arch-x86/hvm/start_info.h>):
 *   - gfn 0 holds the hvm_start_info (magic XEN_HVM_START_MAGIC_VALUE,
 *     version 1) and, right after it in the same page, its memory map
 *     (memmap_paddr, memmap_entries): RAM ranges are type 1; the boot frames
 *     (gfn 0 and the initial page tables) are one range of type 2
 *     (reserved), and every RAM gfn above it is free.
 *   - The initial page tables hold gfns and map every RAM gfn at
 *     GUEST_DIRECTMAP_BASE + gfn*4K (kernel only, P|RW|A|D: an HVM guest may
 *     map its own page tables writable - the hypervisor copes, by shadowing
 *     or by nested paging).
 *   - Every vCPU starts with its guest CR3 at the initial L4 (readable as
 *     v->guest_cr3, as a kernel reads CR3); start_info_va is the direct-map
 *     address of gfn 0.
 * An HVM kernel changes its tables with plain stores, loads CR3 with
 * hvm_set_cr3() and flushes with hvm_invlpg()/hvm_flush_tlb() (core/hvm.h);
 * it makes no page-table hypercalls.
 */
struct guest_hvm;

struct guest_hvm *guest_hvm_new(uint64_t start_info_va,
                                const struct guest_options *opt,
                                const struct workload_params *wl);
void guest_hvm_free(struct guest_hvm *g);
void guest_hvm_vcpu_main(struct vcpu *v, void *guest_hvm);
void guest_hvm_stats(const struct guest_hvm *g, struct guest_stats *out);
void guest_hvm_report(const struct guest_hvm *g, FILE *f);
void guest_hvm_set_host(struct guest_hvm *g, unsigned host_id);

/*
 * Migration: suspend and resume (guest/suspend.c; docs/migration.md).
 *
 * The toolstack asks a kernel to suspend by writing "suspend" at
 * /local/domain/<domid>/control/shutdown of the kernel's xenbus
 * (workload_params.xenbus, Xen's path).  The kernel's vCPUs park between
 * two workload slices (no thread mid-slice, every mmu_update batch issued,
 * every vCPU back on the initial L4); vCPU 0 takes down what does not
 * survive a change of host (as Linux's pre-suspend does: the shared_info
 * and grant-frame mappings), writes "" back to control/shutdown, and
 * issues SCHEDOP_shutdown(SHUTDOWN_suspend); then every vCPU's entry
 * returns and guest_*_suspended() reads true.  A kernel whose workload is
 * done does not suspend (its vCPUs just return).
 *
 * To resume, the toolstack calls guest_*_resume() with where the kernel
 * now runs, then starts the domain's vCPUs (the new domain's, or the same
 * ones after domctl_resume_domain when the suspend was cancelled) with the
 * kernel's entry as at boot: the kernel sees it was suspended and resumes
 * instead of booting (Linux's post-suspend: frame numbers it caches are
 * read again from the p2m list, shared_info and the grant frames mapped
 * again, event channels bound again, blkfront reconnected and its requests
 * in flight reissued), then carries on with its workload, which checks
 * itself as before.
 */
struct xenbus;
struct guest_resume {
    bool cancelled;             /* same domain, same host: SCHEDOP_shutdown
                                   "returned 1" (xc_domain_resume) */
    unsigned host_id;           /* the host it runs on now */
    struct xenbus *xenbus;      /* that host's xenstore stand-in */
    uint16_t backend;           /* blk-io: the backend's domid there */
};
bool guest_pv_suspended(const struct guest_pv *g);
bool guest_hvm_suspended(const struct guest_hvm *g);
/* 0, or -XEN_EINVAL when the kernel is not suspended. */
int guest_pv_resume(struct guest_pv *g, const struct guest_resume *r);
int guest_hvm_resume(struct guest_hvm *g, const struct guest_resume *r);
/* Where a resume stands once its vCPUs were started: 0 not done yet (the
   kernel is still suspended or vCPU 0 runs the resume sequence), 1 done
   (the kernel runs again), -1 failed (its vCPUs stopped; logged). */
int guest_pv_resume_state(const struct guest_pv *g);
int guest_hvm_resume_state(const struct guest_hvm *g);

/*
 * The kernel's private state across hosts (guest/kstate.c;
 * docs/migration.md "Guest kernel state").  A real kernel keeps all of it
 * in its own memory, which the libxc stream carries; hvlab's kernels are C
 * objects, so the toolstack carries their state beside the stream, in the
 * libxl stream's EMULATOR_CONTEXT record (toolstack/xl_stream.h), and the
 * destination builds a new kernel object from it.
 *
 *   KS1  Only a SUSPENDED kernel (guest_*_suspended) is saved; anything
 *        else is -XEN_EINVAL.  The bytes are self-contained: no host
 *        pointer, no host address; the vCPUs, the xenbus, the host id and
 *        the backend are the resume's (guest_*_resume), not the saved
 *        kernel's.
 *   KS2  The load trusts nothing: every count, index, pfn and length is
 *        checked against the bytes and against the kernel's own limits; a
 *        wrong byte is -XEN_EINVAL with err naming the section and the
 *        offset, and nothing is left allocated.
 *   KS3  A loaded kernel is SUSPENDED, has no recorded resume, and resumes
 *        exactly as the saved one would have (same processes, threads,
 *        VMAs, pfn allocator, workload progress, statistics, failure log,
 *        blkfront requests and expected disk contents).
 *   KS4  save(load(save(k))) is byte-identical to save(k).
 */
/* *buf is malloc'd (the caller frees it).  0 or -XEN_E*. */
int guest_pv_state_save(const struct guest_pv *g, void **buf, size_t *len);
int guest_hvm_state_save(const struct guest_hvm *g, void **buf, size_t *len);
/* The kind a state was saved from: 0 PV, 1 HVM, or -XEN_EINVAL (err). */
int guest_state_kind(const void *buf, size_t len, char *err, size_t errlen);
/* A new SUSPENDED kernel from buf, or NULL with err filled (KS2). */
struct guest_pv *guest_pv_state_load(const void *buf, size_t len,
                                     char *err, size_t errlen);
struct guest_hvm *guest_hvm_state_load(const void *buf, size_t len,
                                       char *err, size_t errlen);

#endif /* HVLAB_GUEST_GUEST_H */
