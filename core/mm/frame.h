/*
 * core/mm/frame.h - general and type references of machine frames.
 *
 * The only code that writes page_info.count_info and .type_info (page.h
 * rules R1-R7).  Every change is traced (hvlab_mm:count_change /
 * type_change, old and new words) and recorded in the frame history the
 * audit prints.  Functions take the machine explicitly: several machines can
 * live in one process.
 *
 * Return values: 0 or a negative Xen errno (-XEN_EINVAL ...); the
 * _preemptible variants may also return -HV_ERESTART (partial progress kept
 * in the frame, PGT_partial) or -HV_EINTR (nothing done).
 */
#ifndef HVLAB_CORE_MM_FRAME_H
#define HVLAB_CORE_MM_FRAME_H

#include "core/mm/page.h"
#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* Owner of a frame (NULL if free or owned by no domain of this machine). */
struct domain *page_get_owner(const struct machine *m, mfn_t mfn);

/* ---- general references (R1) ----------------------------------------- */
/* Take a general ref if the frame is allocated and owned by d. */
bool get_page(struct machine *m, mfn_t mfn, const struct domain *d);
/* Take a ref when one is known to be held already (cannot fail). */
void get_page_light(struct machine *m, mfn_t mfn);
/* Drop a ref; the last one frees the frame back to the machine's heap. */
void put_page(struct machine *m, mfn_t mfn);
/* Clear PGC_allocated and drop the allocation ref (decrease_reservation,
   domain teardown).  false if the flag was already clear (nothing done). */
bool put_page_alloc_ref(struct machine *m, mfn_t mfn);

/* ---- type references (R2-R5) ----------------------------------------- */
int get_page_type(struct machine *m, mfn_t mfn, uint64_t type);
int get_page_type_preemptible(struct machine *m, mfn_t mfn, uint64_t type);
void put_page_type(struct machine *m, mfn_t mfn);
int put_page_type_preemptible(struct machine *m, mfn_t mfn);
int get_page_and_type(struct machine *m, mfn_t mfn, const struct domain *d,
                      uint64_t type);
void put_page_and_type(struct machine *m, mfn_t mfn);
/* put_page_type_preemptible, then put_page unless it returned an error
   (on -HV_ERESTART the general ref stays with the caller, who parks the
   frame in v->old_guest_table, as Xen does). */
int put_page_and_type_preemptible(struct machine *m, mfn_t mfn);
/*
 * Finish the type put parked in v->old_guest_table (a preempted unpin,
 * base-pointer switch or PTE release): 0 when done (the general ref it held
 * is dropped and the field cleared), -HV_ERESTART when it must be called
 * again.  Called at the start of mmu_update / mmuext_op.
 */
int put_old_guest_table(struct vcpu *v);

/* ---- pinning (R6) ------------------------------------------------------ */
/* Set PGT_pinned; -XEN_EINVAL if already pinned.  Caller holds the refs. */
int page_set_pinned(struct machine *m, mfn_t mfn);
/* Clear PGT_pinned; -XEN_EINVAL if not pinned. */
int page_clear_pinned(struct machine *m, mfn_t mfn);

/* ---- page lock (serialises PTE writes into one table) ----------------- */
/* Fails (false) if the frame is not validated or has type count 0. */
bool page_lock(struct machine *m, mfn_t mfn);
void page_unlock(struct machine *m, mfn_t mfn);

/* ---- shadow paging ----------------------------------------------------- */
/* Set or clear PGC_shadowed_pt (core/shadow's promote/demote; paging lock). */
void page_set_shadowed_pt(struct machine *m, mfn_t mfn, bool on);

#endif /* HVLAB_CORE_MM_FRAME_H */
