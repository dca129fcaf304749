/*
 * core/domctl.h - the host API the toolstack drives domains with.
 *
 * These stand for the domctl / memory_op / foreign-mapping calls a Xen
 * toolstack makes as the privileged domain: create, populate, map a guest
 * frame to fill it (privcmd-style), set a vCPU's initial context, pause,
 * destroy.  Every one checks its arguments and returns 0 or -XEN_E*.
 */
#ifndef HVLAB_CORE_DOMCTL_H
#define HVLAB_CORE_DOMCTL_H

#include "core/domain.h"
#include "core/types.h"

struct machine;
struct vcpu;

struct domain_config {
    enum domain_kind kind;
    unsigned nr_vcpus;
    uint64_t max_pages;
    bool privileged;
    domid_t domid;              /* wanted id (< HV_MAX_DOMAINS) */
    enum paging_mode paging;    /* HVM: PAGING_SHADOW or PAGING_HAP;
                                   PV: PAGING_PV (0) */
};

int domain_create(struct machine *m, const struct domain_config *cfg,
                  struct domain **out);
/* Release every frame and reference the domain holds (vCPU roots, pins,
   PTE references, allocation references) and free it.  Afterwards the
   machine's frames are all free again or owned by others. */
int domain_destroy(struct domain *d);
void domain_pause(struct domain *d);
/*
 * SCHEDOP_shutdown (core/evtchn_upcall.c) on d: record reason (a SHUTDOWN_*
 * of <xen/sched.h>; the first one wins until domctl_resume_domain), traced
 * hvlab_mm:domain_shutdown.  0, or -XEN_EINVAL for a reason beyond
 * SHUTDOWN_MAX.  The calling vCPU carries on: a guest that suspends
 * returns from its vCPU entry after this (that is the vCPU stopping).
 */
int domain_shutdown(struct domain *d, unsigned reason);
/* d asked to shut down and every vCPU of it has stopped; *reason (may be
   NULL) gets the SHUTDOWN_* code, -1 when none was asked for. */
bool domain_shut_down(const struct domain *d, int *reason);
/* XEN_DOMCTL_resumedomain: d, shut down, may run again (its vCPUs'
   entries are started by whoever runs it next): the shutdown code and the
   stopped vCPUs are cleared.  0, or -XEN_EINVAL when d is not shut down or
   is dying. */
int domctl_resume_domain(struct domain *d);
void domain_unpause(struct domain *d);

/* XENMEM_populate_physmap on behalf of the toolstack: give d fresh frames
   for pfns [first, first+nr); mfns[] (may be NULL) receives them.  Sets the
   M2P.  -XEN_ENOMEM past max_pages or when the machine is out of frames. */
int domctl_populate(struct domain *d, pfn_t first, uint64_t nr, mfn_t *mfns);
/* XENMEM_decrease_reservation on behalf of the toolstack: one frame of d
   back to Xen (PV: an mfn, HVM: a gfn), as the guest's own call would.
   0, -XEN_EINVAL, -XEN_ENXIO (not d's). */
int domctl_remove_page(struct domain *d, mfn_t frame);
/* Host pointer to a frame owned by d, for the builder to fill; NULL if d
   does not own mfn. */
void *domctl_map_foreign(struct domain *d, mfn_t mfn);
/* A writable foreign mapping, as a toolstack's PROT_WRITE map of a guest
   frame once the guest can run: it holds a general and a writable type
   ref, so a frame in use as a pagetable (a validated or pinned table, a
   descriptor page) is refused with -XEN_EINVAL in *rc and NULL returned.
   Every non-NULL map is ended by domctl_unmap_foreign_rw. */
void *domctl_map_foreign_rw(struct domain *d, mfn_t mfn, int *rc);
void domctl_unmap_foreign_rw(struct domain *d, mfn_t mfn);
/* Builder write of one entry of a not-yet-validated table frame of d (the
   initial page tables); traced as hvlab_pt:pte_write path=build so the trace
   can replay every table from empty.  -XEN_EINVAL if d does not own table or
   the frame is a validated table already. */
int domctl_build_pte(struct domain *d, mfn_t table, unsigned level,
                     unsigned slot, uint64_t pte);
/* Initial vCPU context (XEN_DOMCTL_setvcpucontext): kernel and user roots.
   Takes the root type references (validating the whole tree); -XEN_EINVAL
   if the tree does not validate. */
int domctl_set_vcpu_context(struct vcpu *v, mfn_t kernel_root, mfn_t user_root);
/* The vm_assist word of XEN_DOMCTL_setvcpucontext (vcpu_guest_context's
   vm_assist, which Xen's arch_set_info_guest makes the domain's): the
   VMASST_TYPE_* bits d's kind accepts.  0 or -XEN_EINVAL. */
int domctl_set_vm_assist(struct domain *d, uint64_t bits);
/* MMUEXT_PIN_Ln_TABLE of a PV domain's frame on its behalf (the restorer
   pins as the privileged domain does with foreigndom = d): a general ref,
   the level's type ref (validating the whole tree below it, preemption
   retried to completion) and PGT_pinned.  -XEN_EINVAL for a bad level, a
   frame d does not own, an HVM or dying domain, or a frame already
   pinned; else the validator's error.  Nothing is kept on error. */
int domctl_pin_table(struct domain *d, mfn_t mfn, unsigned level);

/* HVM: load a vCPU's initial guest CR3 (a guest-physical address), as the
   toolstack's HVM context load does.  -XEN_EINVAL for a PV domain or a
   root outside the guest's RAM. */
int domctl_set_hvm_cr3(struct vcpu *v, uint64_t guest_cr3);

/*
 * XEN_DOMCTL_getpageframeinfo3 (core/mm/pfinfo.c): replace each of arr[0..num)
 * (an mfn for PV, a gfn for HVM, as Xen takes them) with its
 * XEN_DOMCTL_PFINFO_* word.  -XEN_E2BIG for num > 1024, -XEN_EFAULT for a
 * NULL arr, -XEN_ESRCH for no domain.  mm.pfinfo_devalidated decides how an
 * unpinned, devalidated page table reads (docs/pfinfo.md).
 */
int domctl_getpageframeinfo3(struct domain *d, xen_pfn_t *arr, uint64_t num);

/*
 * Xen's domain_crash, minimal: hvlab does not stop d; it records that d did
 * something Xen would have crashed it for.  The first reason wins (later
 * calls change nothing); traced hvlab_mm:domain_crash.  The scenario runner
 * reports a crashed domain as a failed run.  reason: a static string.
 */
void domain_crash(struct domain *d, const char *reason);
/* The first reason d was crashed for, or NULL. */
const char *domain_crashed(const struct domain *d);
/* The crash records' storage and size: state outside every domain that
   the fuzzer's snapshot reset saves and puts back (fuzz/snap.c S3). */
void *domain_crash_records(size_t *len);

/* XEN_DOMCTL_shadow_op, log-dirty ops (OFF, ENABLE_LOGDIRTY, CLEAN, PEEK):
   core/mm/paging.h paging_domctl_shadow_op.  bitmap: (op->pages + 7) / 8
   bytes, or NULL for stats only. */
struct xen_domctl_shadow_op;
int domctl_shadow_op(struct domain *d, struct xen_domctl_shadow_op *op,
                     uint8_t *bitmap);

#endif /* HVLAB_CORE_DOMCTL_H */
