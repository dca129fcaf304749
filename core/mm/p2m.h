/*
 * core/mm/p2m.h - an HVM domain's physical-to-machine map.
 *
 * gfn -> (mfn, type, access), kept in a 4-level table of machine frames the
 * MMU walks in hap mode (core/npt.h), with the M2P kept in step.  Types and
 * their values are Xen's (xen/arch/x86/include/asm/p2m.h); the property sets
 * below are Xen's type groups (XEN-NOTES 4.3).
 *
 * Rules:
 *   P1  p2m_set_entry() is the only writer of a p2m entry.  It runs with the
 *       domain's p2m lock held (asserted), updates the M2P, flushes stale
 *       translations (hap TLB entries; shadows via the paging hooks), and
 *       traces hvlab_p2m:entry_set with old and new mfn/type/access.
 *   P2  A lookup whose result is acted upon (a page is mapped, a reference
 *       taken, content copied) uses get_gfn*() and ends with put_gfn().  Under
 *       p2m.lock=locked (Xen since 2012) the p2m lock is held from get_gfn to
 *       put_gfn, so no entry can change under the caller; under
 *       p2m.lock=none (pre-2011, story B) the lookup takes no lock and the
 *       caller acts on a result that may already be stale.  Both are traced
 *       (hvlab_p2m:lookup with whether the lock was held).
 *   P3  get_page_from_gfn() turns a lookup into a page reference atomically
 *       under p2m.lock=locked; under =none it is lookup-then-get_page, the
 *       old racy sequence.
 *   P4  Paging (nominate -> evict -> populate -> prep -> resume) and sharing
 *       (nominate -> share -> unshare on write) change types only through
 *       p2m_set_entry(), with Xen's reference-count guards.
 */
#ifndef HVLAB_CORE_MM_P2M_H
#define HVLAB_CORE_MM_P2M_H

#include <stdio.h>

#include "core/npt.h"
#include "core/types.h"

struct domain;
struct vcpu;

typedef enum {
    p2m_ram_rw = 0,             /* normal RAM */
    p2m_invalid = 1,            /* nothing mapped here */
    p2m_ram_logdirty = 2,       /* RAM, read-only while log-dirty tracks it */
    p2m_ram_ro = 3,             /* read-only; writes are discarded */
    p2m_mmio_dm = 4,            /* emulated MMIO (device model) */
    p2m_mmio_direct = 5,        /* passthrough MMIO */
    p2m_populate_on_demand = 6,
    p2m_grant_map_rw = 7,       /* a foreign frame mapped by a grant, RW */
    p2m_grant_map_ro = 8,       /* ... read-only */
    p2m_ram_paging_out = 9,     /* nominated for paging out */
    p2m_ram_paged = 10,         /* evicted: no mfn */
    p2m_ram_paging_in = 11,     /* being paged back in */
    p2m_ram_shared = 12,        /* copy-on-write shared (owner dom_cow) */
    p2m_ram_broken = 13,
    p2m_map_foreign = 14,       /* another domain's RAM */
    p2m_ioreq_server = 15,
    p2m_nr_types
} p2m_type_t;

/* Xen's p2m_access_t values (the XENMEM_access_* order). */
typedef enum {
    p2m_access_n = 0, p2m_access_r, p2m_access_w, p2m_access_rw,
    p2m_access_x, p2m_access_rx, p2m_access_wx, p2m_access_rwx,
    p2m_access_rx2rw, p2m_access_n2rwx,
} p2m_access_t;

extern const char *const p2m_type_name[p2m_nr_types];

#define p2m_to_mask(t)      (1u << (t))
#define P2M_RAM_TYPES       (p2m_to_mask(p2m_ram_rw) | p2m_to_mask(p2m_ram_logdirty) | \
                             p2m_to_mask(p2m_ram_ro) | p2m_to_mask(p2m_ram_paging_out) | \
                             p2m_to_mask(p2m_ram_paged) | p2m_to_mask(p2m_ram_paging_in) | \
                             p2m_to_mask(p2m_ram_shared) | p2m_to_mask(p2m_ioreq_server))
#define P2M_HOLE_TYPES      (p2m_to_mask(p2m_mmio_dm) | p2m_to_mask(p2m_invalid) | \
                             p2m_to_mask(p2m_ram_paging_in) | p2m_to_mask(p2m_ram_paged))
#define P2M_RO_TYPES        (p2m_to_mask(p2m_ram_logdirty) | p2m_to_mask(p2m_ram_ro) | \
                             p2m_to_mask(p2m_grant_map_ro) | p2m_to_mask(p2m_ram_shared))
#define P2M_DISCARD_WRITE_TYPES (p2m_to_mask(p2m_ram_ro) | p2m_to_mask(p2m_grant_map_ro))
#define P2M_PAGING_TYPES    (p2m_to_mask(p2m_ram_paging_out) | p2m_to_mask(p2m_ram_paged) | \
                             p2m_to_mask(p2m_ram_paging_in))
#define P2M_PAGEABLE_TYPES  (p2m_to_mask(p2m_ram_rw) | p2m_to_mask(p2m_ram_logdirty))
#define P2M_SHARABLE_TYPES  P2M_PAGEABLE_TYPES
#define P2M_GRANT_TYPES     (p2m_to_mask(p2m_grant_map_rw) | p2m_to_mask(p2m_grant_map_ro))

static inline bool p2m_is_ram(p2m_type_t t)      { return p2m_to_mask(t) & P2M_RAM_TYPES; }
static inline bool p2m_is_hole(p2m_type_t t)     { return p2m_to_mask(t) & P2M_HOLE_TYPES; }
static inline bool p2m_is_readonly(p2m_type_t t) { return p2m_to_mask(t) & P2M_RO_TYPES; }
static inline bool p2m_is_discard_write(p2m_type_t t) { return p2m_to_mask(t) & P2M_DISCARD_WRITE_TYPES; }
static inline bool p2m_is_paging(p2m_type_t t)   { return p2m_to_mask(t) & P2M_PAGING_TYPES; }
static inline bool p2m_is_pageable(p2m_type_t t) { return p2m_to_mask(t) & P2M_PAGEABLE_TYPES; }
static inline bool p2m_is_sharable(p2m_type_t t) { return p2m_to_mask(t) & P2M_SHARABLE_TYPES; }
static inline bool p2m_is_shared(p2m_type_t t)   { return t == p2m_ram_shared; }
static inline bool p2m_is_grant(p2m_type_t t)    { return p2m_to_mask(t) & P2M_GRANT_TYPES; }

/* Query flags of a lookup (Xen's p2m_query_t). */
#define P2M_ALLOC           (1u << 0)   /* populate paged / PoD entries */
#define P2M_UNSHARE         (1u << 1)   /* break sharing (implies ALLOC) */

/* ---- lifecycle ------------------------------------------------------------ */
int p2m_init(struct domain *d);         /* empty p2m (all p2m_invalid) */
void p2m_teardown(struct domain *d);    /* frees the table frames */

/* ---- the one writer (P1) -------------------------------------------------- */
/* Caller holds the p2m lock.  0, or -XEN_ENOMEM (no table frame),
   -XEN_EINVAL (gfn out of range). */
int p2m_set_entry(struct domain *d, pfn_t gfn, mfn_t mfn, p2m_type_t t,
                  p2m_access_t a);

/* The p2m lock (recursive; lock level LOCK_P2M). */
void p2m_lock(struct domain *d);
void p2m_unlock(struct domain *d);
bool p2m_locked_by_me(const struct domain *d);

/* ---- lookups (P2, P3) ------------------------------------------------------ */
mfn_t get_gfn_type_access(struct domain *d, pfn_t gfn, p2m_type_t *t,
                          p2m_access_t *a, unsigned q);
static inline mfn_t get_gfn_type(struct domain *d, pfn_t gfn, p2m_type_t *t,
                                 unsigned q)
{
    return get_gfn_type_access(d, gfn, t, NULL, q);
}
static inline mfn_t get_gfn(struct domain *d, pfn_t gfn, p2m_type_t *t)
{
    return get_gfn_type(d, gfn, t, P2M_ALLOC);
}
static inline mfn_t get_gfn_query(struct domain *d, pfn_t gfn, p2m_type_t *t)
{
    return get_gfn_type(d, gfn, t, 0);
}
static inline mfn_t get_gfn_unshare(struct domain *d, pfn_t gfn, p2m_type_t *t)
{
    return get_gfn_type(d, gfn, t, P2M_ALLOC | P2M_UNSHARE);
}
void put_gfn(struct domain *d, pfn_t gfn);
/* No lock, no tracing of a use: debug peeks, and the shadow code under the
   paging lock. */
mfn_t get_gfn_query_unlocked(struct domain *d, pfn_t gfn, p2m_type_t *t);
/* A general reference on the frame backing gfn, or INVALID_MFN (type in *t
   tells why: paged -> the pager was asked, caller returns -XEN_ENOENT). */
mfn_t get_page_from_gfn(struct domain *d, pfn_t gfn, p2m_type_t *t, unsigned q);

/* ---- type changes ---------------------------------------------------------- */
int p2m_change_type_one(struct domain *d, pfn_t gfn, p2m_type_t ot, p2m_type_t nt);
void p2m_change_entry_type_global(struct domain *d, p2m_type_t ot, p2m_type_t nt);

/* ---- translated-domain memory (populate/decrease for HVM) ------------------ */
int p2m_populate(struct domain *d, pfn_t gfn, mfn_t *mfn_out);
int p2m_remove_page(struct domain *d, pfn_t gfn);

/*
 * A privileged PV domain's mmu_update with FD = translated domain pg_owner:
 * the new L1 entry *l1e names a gfn of pg_owner.  Turns it into the mfn
 * (flags kept), as Xen's mod_l1_entry does for a translated FD:
 *   p2m.lock=locked  get_page_from_gfn with P2M_ALLOC (+ P2M_UNSHARE when
 *                    RW): *ref holds a general reference on the frame,
 *                    which the caller drops once the entry is installed
 *                    (the entry's own reference is then held);
 *   p2m.lock=none    an unlocked lookup and no reference (*ref INVALID):
 *                    the pre-2011 window of story B.
 * Errors: -XEN_ENOENT for a paged gfn (the pager was asked; retry),
 * -XEN_ENOMEM when an RW map still finds the gfn shared (unshare failed),
 * -XEN_EINVAL for a hole.
 */
int p2m_translate_foreign_l1e(struct domain *pg_owner, uint64_t *l1e,
                              mfn_t *ref);

/* Observers only (the fuzzer's story B check, fuzz/call.c CA9; NULL by
   default): called by mmu_update once it has installed a translated
   foreign L1 entry, under the L1's page lock, with the gfn of pg_owner the
   guest named and the entry installed (its frame the hypervisor's
   translation).  It must not change anything. */
extern void (*p2m_foreign_map_observer)(struct domain *pg_owner, pfn_t gfn,
                                        uint64_t l1e);

/* p2m.lock=none only (story B): an L1 entry of privileged l1e_owner maps
   mfn on behalf of translated pg_owner and mfn is a dom_cow frame (the gfn
   was shared after the unlocked lookup): take a general reference on it as
   the pre-2012 code did.  false (nothing taken) in every other case. */
bool p2m_foreign_ref_shared(struct domain *l1e_owner, struct domain *pg_owner,
                            mfn_t mfn);

/* ---- foreign frames in a translated domain's p2m (p2m_foreign.c) ---------- */
/* One page of XENMEM_add_to_physmap_batch gmfn_foreign by curr: fgfn of
   domain foreigndom appears at gpfn of tdom as p2m_map_foreign, the entry
   holding a general reference on the frame.  0 or -XEN_ESRCH / EPERM /
   EINVAL / ENOMEM (p2m_foreign.c F4). */
int p2m_add_foreign(struct domain *curr, struct domain *tdom, pfn_t fgfn,
                    pfn_t gpfn, uint16_t foreigndom);
/* Call ref(ctx, mfn) for every p2m_map_foreign entry of d (each holds a
   general reference on mfn; the frame audit counts them). */
void p2m_foreign_refs(struct domain *d, void (*ref)(void *ctx, mfn_t mfn),
                      void *ctx);
/* XENMEM_add_to_physmap / XENMEM_add_to_physmap_batch (F1-F3). */
long memory_add_to_physmap(struct vcpu *v, uint64_t start_extent, uint64_t arg);
long memory_add_to_physmap_batch(struct vcpu *v, uint64_t start_extent,
                                 uint64_t arg);

/* Highest gfn ever mapped. */
pfn_t p2m_max_gfn(const struct domain *d);
/* How many present leaves of d's p2m have type t: a walk of the tables that
   exist (O(entries), not O(max_gfn)).  The domain quiescent, or the p2m
   lock held. */
uint64_t p2m_count_type(struct domain *d, p2m_type_t t);

/* ---- audit (XEN-NOTES section 11, invariants 21-23 and the M2P) ----------- */
struct machine;
/* Check every HVM domain's p2m against the frames it names; print each
   violation to out (may be NULL).  Returns the number of violations.
   Racy unless the domains are paused.  Invariants 19 and 20 are about
   orderings and are checked from traces (hvlab_p2m:entry_set.locked,
   lookup.locked/ref), not here. */
unsigned p2m_audit(struct machine *m, FILE *out);

#endif /* HVLAB_CORE_MM_P2M_H */
