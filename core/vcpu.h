/*
 * core/vcpu.h - a virtual CPU: the context that runs guest code.
 *
 * A vCPU runs its entry function (the guest kernel's per-CPU main loop) on
 * a pthread (threads mode) or a coroutine (det mode); the code running it
 * reaches the hypervisor only through hypercall(), the MMU's access functions
 * and faults.  `current` is the vCPU the calling thread is running.
 */
#ifndef HVLAB_CORE_VCPU_H
#define HVLAB_CORE_VCPU_H

#include "core/tlb.h"
#include "core/types.h"

struct domain;
struct shadow_vcpu;
struct vcpu;

/* Outcome of a page fault handled by the hypervisor or the guest kernel. */
enum pf_outcome {
    PF_RETRY = 0,   /* fixed (or spurious): retry the access */
    PF_KILL  = 1,   /* the guest kernel gave up on the access (process dies) */
};

/*
 * The hardware's fault vector: where the MMU sends a #PF taken while running
 * guest code.  Installed by core/traps.c (hypervisor first, then the guest).
 */
typedef enum pf_outcome (*pf_vector_fn)(struct vcpu *v, uint64_t va, uint32_t pfec);
/*
 * The guest kernel's #PF handler, registered by the guest at boot (the stand-in
 * for set_trap_table's vector 14).  Called with the faulting VA and the error
 * code as the hypervisor delivers them.
 */
typedef enum pf_outcome (*guest_pf_fn)(struct vcpu *v, uint64_t va, uint32_t pfec,
                                       void *guest_ctx);
typedef void (*vcpu_entry_fn)(struct vcpu *v, void *arg);
/*
 * The guest kernel's event-channel upcall (the stand-in for
 * CALLBACKOP_register's event callback / HVM_PARAM_CALLBACK_IRQ), called by
 * core/evtchn_upcall.c with vcpu_info.evtchn_upcall_mask set.
 */
typedef void (*guest_event_fn)(struct vcpu *v, void *guest_ctx);
/*
 * The nested-fault exit (hap mode): a guest-physical access the p2m refused.
 * gpa/gla: guest-physical and guest-linear address; access: NPF_* bits
 * (core/npt.h); npte: the p2m leaf entry found (type and access say why).
 * Installed by core/traps.c.  PF_RETRY after fixing (or emulating, with
 * v->pending.emulated set), PF_KILL when the domain cannot go on.
 */
typedef enum pf_outcome (*npf_vector_fn)(struct vcpu *v, uint64_t gpa,
                                         uint64_t gla, uint32_t access,
                                         uint64_t npte);

/* Preempted hypercall: re-issued by the dispatcher with these arguments. */
struct hcall_continuation {
    bool pending;
    unsigned op;
    uint64_t args[5];
};

/*
 * The access the MMU was executing when it faulted: what an instruction
 * decoder would give Xen's emulator.  core/mmu.c fills it before calling
 * pf_vector; a handler that emulates the access (ptwr emulate mode) does the
 * write itself, stores the cmpxchg result in `observed`, sets `emulated` and
 * returns PF_RETRY: the MMU then completes the access without re-executing it.
 */
struct pending_access {
    bool valid;             /* an access is in flight */
    bool is_write;
    bool is_cmpxchg;
    bool emulated;          /* set by the hypervisor: access already done */
    unsigned bytes;         /* 1, 2, 4, 8; never crosses a page (a split
                               access is two accesses of 1..7 bytes each) */
    uint64_t va;
    uint64_t value;         /* value being stored */
    uint64_t expected;      /* cmpxchg: expected old value */
    uint64_t observed;      /* cmpxchg: value found; load: value read
                               (set by the emulator) */
};

struct vcpu {
    /* First and page-aligned: its entries fill the vCPU's first two pages
       (core/tlb.h), the rest of the vCPU a third. */
    _Alignas(4096) struct tlb tlb;  /* written by core/mmu.c only */
    unsigned vcpu_id;
    struct domain *d;

    /* Paging state (PV): roots hold a general + type ref (L4). */
    mfn_t guest_table;              /* CR3 in kernel mode */
    mfn_t guest_table_user;         /* root in user mode (0 / INVALID: none) */
    mfn_t old_guest_table;          /* type put still to finish (preempted) */
    bool old_guest_table_partial;
    bool in_kernel;                 /* guest kernel mode (selects root, US) */
    uint64_t guest_cr3;             /* HVM: the guest's own CR3 (a guest-
                                       physical address); written by
                                       core/hvm.c and the shadow code */
    mfn_t hvm_cr3_frame;            /* HVM: the frame behind guest_cr3,
                                       holding a general ref (Xen's HVM
                                       guest_table): a guest that gives
                                       its loaded root back keeps it
                                       allocated until it loads another;
                                       core/hvm.c is its only writer */
    struct shadow_vcpu *shadow;     /* HVM shadow: OOS slots etc.
                                       (owned by core/shadow) */
    mfn_t cr3;                      /* the root the MMU walks right now */
    /* LDT set by mmuext_op SET_LDT (core/mm/mmuext.c): base VA and
       entries, recorded only (no segmentation model). */
    uint64_t ldt_base;
    unsigned ldt_ents;

    uint32_t mem_accesses;          /* for SP_MEM scheduling points */

    struct pending_access pending;  /* written by core/mmu.c, see above */
    pf_vector_fn pf_vector;         /* set by core/traps.c */
    npf_vector_fn npf_vector;       /* set by core/traps.c (hap domains) */
    guest_pf_fn guest_pf_handler;   /* set by the guest kernel */
    void *guest_ctx;                /* the guest kernel's per-vCPU state */

    vcpu_entry_fn entry;            /* what runs on this vCPU */
    void *entry_arg;
    _Atomic bool stopped;           /* entry returned (vcpu_entry_done);
                                       cleared by domctl_resume_domain */

    struct hcall_continuation cont;
    unsigned preempt_work;          /* work since the last preemption point */
    bool in_hypercall;
    bool in_hypervisor_access;      /* copy_{from,to}_guest in progress */

    /* Event channels (core/evtchn_upcall.c writes these). */
    guest_event_fn guest_event_handler;     /* set by the guest kernel */
    void *guest_event_ctx;
    _Atomic bool blocked;           /* in SCHEDOP_block / SCHEDOP_poll */
    bool in_upcall;                 /* the event handler is running */
    uint64_t nr_upcalls;

    /* Statistics (owner-written). */
    uint64_t nr_hypercalls, nr_faults, nr_faults_bounced, nr_spurious;
};

/* The vCPU the calling thread runs (NULL outside guest context). */
extern __thread struct vcpu *current;

/*
 * Allocate vCPU `id` of d (core/vcpu.c): zeroed, in kernel mode, no roots
 * (guest_table, guest_table_user, old_guest_table and cr3 INVALID_MFN), an
 * empty TLB, no fault vector.  Does not link it into d->vcpu[] (the caller,
 * domain creation, does).  NULL when out of memory.  vcpu_free() releases
 * the structure only: references the vCPU holds are core/mm's to drop first.
 */
struct vcpu *vcpu_alloc(struct domain *d, unsigned id);
/* The scheduler, after v's entry returned: v is stopped (counted in its
   domain's vcpus_stopped, which domain_shut_down reads). */
void vcpu_entry_done(struct vcpu *v);
void vcpu_free(struct vcpu *v);

/* Register the guest kernel's #PF handler for v. */
static inline void vcpu_set_guest_pf_handler(struct vcpu *v, guest_pf_fn fn,
                                             void *ctx)
{
    v->guest_pf_handler = fn;
    v->guest_ctx = ctx;
}

/* Register the guest kernel's event-channel upcall handler for v. */
static inline void vcpu_set_guest_event_handler(struct vcpu *v,
                                                guest_event_fn fn, void *ctx)
{
    v->guest_event_handler = fn;
    v->guest_event_ctx = ctx;
}

#endif /* HVLAB_CORE_VCPU_H */
