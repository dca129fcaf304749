/*
 * core/domain.h - a domain: its memory accounting, vCPUs and subsystem state.
 *
 * Fields are grouped by the lock or owner that governs them.  Subsystems keep
 * their per-domain state behind opaque pointers (ptwr, later p2m, shadow,
 * grant table) so that this header depends on none of them.
 *
 * Lifecycle functions (create, destroy, pause) live in core/domctl.h; this
 * file only holds the structure and helpers that read it.
 */
#ifndef HVLAB_CORE_DOMAIN_H
#define HVLAB_CORE_DOMAIN_H

#include <stdatomic.h>

#include "core/lock.h"
#include "core/types.h"

struct machine;
struct vcpu;
struct ptwr_domain;

enum domain_kind { DOMAIN_PV = 0, DOMAIN_HVM = 1 };

/* How guest addresses become machine addresses (core/hvm.h explains). */
enum paging_mode {
    PAGING_PV = 0,      /* PV direct paging: guest tables hold mfns */
    PAGING_SHADOW = 1,  /* HVM: the MMU walks shadow tables */
    PAGING_HAP = 2,     /* HVM: the MMU walks guest tables + the p2m */
};

struct domain;
struct p2m_domain;
struct shadow_domain;
struct grant_table;
struct evtchn_domain;
struct paging_log_dirty;

/*
 * Hooks of the domain's paging mode (Xen's paging_mode ops), set by the
 * mode's code when it is enabled, so that lower code (the p2m) can tell the
 * mode about changes without knowing it.  Any hook may be NULL.
 */
struct paging_hooks {
    /* A p2m entry changed (called under the p2m lock, after the write):
       drop shadows / writable mappings that relied on the old entry. */
    void (*p2m_entry_changed)(struct domain *d, pfn_t gfn, mfn_t old_mfn,
                              unsigned old_type, mfn_t new_mfn,
                              unsigned new_type);
    /* For the frame audit: report every frame reference the mode's own
       tables hold (shadow L1 entries: a general ref, plus a writable type
       ref when rw), so the counts can be reconciled. */
    void (*audit_refs)(struct domain *d,
                       void (*ref)(void *ctx, mfn_t target, bool rw),
                       void *ctx);
};

struct domain {
    domid_t domid;
    struct machine *m;
    enum domain_kind kind;
    bool is_privileged;             /* may use foreign domids (dom0-like) */
    _Atomic bool is_dying;
    _Atomic int pause_count;
    /* Shutdown (SCHEDOP_shutdown, core/domctl.c domain_shutdown): the
       SHUTDOWN_* reason of <xen/sched.h> the guest gave, -1 while it runs
       (first reason wins until domctl_resume_domain); vcpus_stopped counts
       the vCPUs whose entry returned since (vcpu_entry_done).  The domain
       is shut down when both say so (domain_shut_down). */
    _Atomic int shutdown_code;
    _Atomic unsigned vcpus_stopped;

    /* Memory accounting: page_alloc_lock. */
    hv_lock_t page_alloc_lock;
    uint64_t max_pages;
    _Atomic uint64_t tot_pages;
    uint32_t page_list_head;        /* frames owned, linked by mfn */
    uint32_t page_list_tail;
    /* Xen pages shared with the guest (grant-table frames, shared_info):
       owned by d but not its memory (Xen's xenpage_list), not counted in
       tot_pages; core/mm/alloc.c alloc_xen_shared_page. */
    uint32_t xenpage_list_head;
    uint32_t xenpage_list_tail;
    _Atomic uint64_t xenheap_pages;
    pfn_t max_gpfn;                 /* highest pfn the guest was given */

    /* vCPUs: fixed at creation. */
    unsigned nr_vcpus;
    struct vcpu *vcpu[HV_MAX_VCPUS];
    _Atomic uint64_t dirty_vcpumask; /* vCPUs that may hold TLB entries */

    unsigned long vm_assist;        /* VMASST_TYPE_* bits */
    hv_lock_t big_lock;             /* Xen's per-domain big lock */

    _Atomic uint64_t nr_l4_pages;   /* validated L4s (Xen keeps this too) */

    struct ptwr_domain *ptwr;       /* owned by core/mm/ptwr.c */

    /* HVM: paging mode and its state. */
    enum paging_mode paging;        /* PAGING_PV for PV domains */
    struct p2m_domain *p2m;         /* owned by core/mm/p2m.c */
    mfn_t npt_root;                 /* p2m root the MMU walks (hap); written
                                       by core/mm/p2m.c only */
    struct shadow_domain *shadow;   /* owned by core/shadow */
    const struct paging_hooks *paging_hooks;
    struct paging_log_dirty *log_dirty; /* owned by core/mm/paging.c */

    /* Sharing memory and signals with other domains. */
    struct grant_table *grant_table; /* owned by core/grant */
    struct evtchn_domain *evtchn;   /* owned by core/evtchn.c */
    mfn_t shared_info_mfn;          /* Xen page shared with the guest
                                       (struct shared_info of <xen/xen.h>);
                                       written by core/evtchn.c only;
                                       INVALID_MFN until it exists */
};

static inline bool is_pv_domain(const struct domain *d)
{
    return d->kind == DOMAIN_PV;
}
static inline bool vm_assist_enabled(const struct domain *d, unsigned type)
{
    return (d->vm_assist >> type) & 1;
}

#endif /* HVLAB_CORE_DOMAIN_H */
