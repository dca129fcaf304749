/*
 * core/grant/private.h - the grant table's own structures (core/grant only).
 *
 * One struct grant_table per domain, in two roles:
 *   - as GRANTER: the shared entry frames (Xen pages shared with the guest,
 *     core/mm/alloc.c alloc_xen_shared_page), the v2 status frames and the
 *     Xen-private active entries;
 *   - as GRANTEE: the maptrack, the handle table of the mappings it holds.
 *
 * Invariants (XEN-NOTES 11, 24-27), checked by core/grant/audit.c:
 *   G24 act->pin != 0 <=> GTF_reading in the entry's status (shared flags
 *       for v1, status frame for v2); a write pin (hstw|devw) <=>
 *       GTF_writing; no counter goes past 0x80; while pinned act->domid
 *       and act->mfn are constant and the shared entry still names them.
 *   G25 Every maptrack entry with flags != 0 accounts for exactly one pin
 *       increment of each kind it holds (host/device, read/write) on its
 *       granter's active entry; a handle is on the free list <=> flags == 0.
 *   G26 A writable host or device map of a PV granter's frame holds a
 *       writable type ref (so the frame cannot be a page table); a PV
 *       grantee's host mapping is an L1 entry with _PAGE_GNTTAB naming the
 *       frame, removed only by grant unmap; every mapping kind holds one
 *       general ref (reported to the frame audit by gnttab_audit_refs).
 *   G27 Every writable unmap, copy destination and writable copy-pin
 *       release calls gnttab_mark_dirty (from the code, not checkable from
 *       a snapshot; the trace shows hvlab_grant:mark_dirty).
 *
 * Locks: the grantee's maptrack lock (taken first) -> the granter's table
 * lock.  Neither is held across a PTE write or a p2m change.
 */
#ifndef HVLAB_CORE_GRANT_PRIVATE_H
#define HVLAB_CORE_GRANT_PRIVATE_H

#include "core/types.h"

#include <xen/grant_table.h>

#include "core/grant/grant_table.h"
#include "core/lock.h"

struct domain;
struct machine;
struct vcpu;

/* Xen's pin counters (GNTPIN_*): four 8-bit counters in one word. */
#define GNTPIN_hstw_shift   0
#define GNTPIN_hstr_shift   8
#define GNTPIN_devw_shift   16
#define GNTPIN_devr_shift   24
#define GNTPIN_hstw_inc     (1u << GNTPIN_hstw_shift)
#define GNTPIN_hstr_inc     (1u << GNTPIN_hstr_shift)
#define GNTPIN_devw_inc     (1u << GNTPIN_devw_shift)
#define GNTPIN_devr_inc     (1u << GNTPIN_devr_shift)
#define GNTPIN_hstw_mask    (0xFFu << GNTPIN_hstw_shift)
#define GNTPIN_hstr_mask    (0xFFu << GNTPIN_hstr_shift)
#define GNTPIN_devw_mask    (0xFFu << GNTPIN_devw_shift)
#define GNTPIN_devr_mask    (0xFFu << GNTPIN_devr_shift)
#define GNTPIN_write_mask   (GNTPIN_hstw_mask | GNTPIN_devw_mask)
#define GNTPIN_overflow     0x80808080u     /* a counter at 0x80: refuse */

/* Pin kinds (the `kind` of hvlab_grant:pin_change). */
enum gnt_pin_kind { PIN_HSTW = 0, PIN_HSTR, PIN_DEVW, PIN_DEVR, PIN_NR };

/* Entries per frame. */
#define GNT_PER_FRAME_V1    (PAGE_SIZE / sizeof(grant_entry_v1_t))
#define GNT_PER_FRAME_V2    (PAGE_SIZE / sizeof(grant_entry_v2_t))
#define GNT_STATUS_PER_FRAME (PAGE_SIZE / sizeof(grant_status_t))

/* Bounded compare-and-swap retries on the shared {flags,domid} word
   after the first attempt (Xen's _set_status_v1: 4). */
#define GNT_CMPXCHG_RETRIES 4

struct active_grant_entry {
    uint32_t pin;           /* GNTPIN_* counters; writer: active.c */
    domid_t domid;          /* grantee, valid while pin != 0 */
    mfn_t mfn;              /* frame, valid while pin != 0 */
    uint64_t frame;         /* the entry's frame number when pinned */
    uint16_t start, length; /* accessible bytes (v2 sub-page) */
    bool is_sub_page;
};

/* One mapping a grantee holds (Xen's struct grant_mapping). */
struct grant_mapping {
    uint32_t flags;         /* GNTMAP_* kinds still held; 0 = free */
    grant_ref_t ref;
    domid_t domid;          /* granter */
    mfn_t mfn;              /* the granted frame */
    uint64_t host_addr;     /* as given (linear VA, PTE maddr or gfn<<12) */
    mfn_t l1mfn;            /* PV host map: the L1 holding the grant PTE */
    uint16_t slot;          /* ... and its slot */
    uint32_t next_free;     /* free-list link */
    bool busy;              /* an unmap of this handle is in progress */
};
#define MAPTRACK_TAIL       0xFFFFFFFFu
#define MAPTRACK_PER_FRAME  (PAGE_SIZE / 16)   /* Xen's grant_mapping is 16 bytes */

struct grant_table {
    struct domain *d;
    hv_lock_t lock;                 /* active entries, frames, version */
    unsigned version;               /* 1 or 2 */
    unsigned nr_frames;             /* shared entry frames in use */
    unsigned max_frames;            /* grant.max_frames */
    mfn_t *shared;                  /* [max_frames] */
    pfn_t *shared_gfn;              /* HVM: where the guest placed it */
    unsigned nr_status;             /* v2 status frames */
    mfn_t *status;                  /* [max status frames] */
    pfn_t *status_gfn;
    struct active_grant_entry *active;  /* [max_frames * GNT_PER_FRAME_V1] */
    bool released;                  /* domain destroyed: frames unshared */

    /* Grantee side. */
    hv_lock_t maptrack_lock;
    struct grant_mapping *maptrack; /* [maptrack_limit] */
    unsigned maptrack_limit;        /* entries allocated */
    unsigned maptrack_max;          /* grant.max_maptrack_frames * per frame */
    uint32_t maptrack_free;         /* free-list head */
    unsigned maptrack_in_use;

    /* Bug zoo (grant.xsa224 on): frames of this granter
       whose writable type ref the old behaviour dropped one time too
       many; map.c gnttab_xsa_lost() records, gnttab_xsa_restore() gives
       the refs back at destruction so teardown can finish. */
#define GNT_XSA_LOST_MAX    16
    mfn_t xsa_lost[GNT_XSA_LOST_MAX];
    unsigned nr_xsa_lost;
};

/* ---- table.c ------------------------------------------------------------- */
static inline unsigned gnt_per_frame(const struct grant_table *gt)
{
    return gt->version == 2 ? GNT_PER_FRAME_V2 : GNT_PER_FRAME_V1;
}
static inline unsigned nr_grant_entries(const struct grant_table *gt)
{
    return gt->released ? 0 : gt->nr_frames * gnt_per_frame(gt);
}
static inline unsigned status_frames_for(unsigned nr_frames)
{
    return (nr_frames * GNT_PER_FRAME_V2 + GNT_STATUS_PER_FRAME - 1) /
           GNT_STATUS_PER_FRAME;
}
/* Grow to at least nr frames (and the status frames v2 needs); table
   lock held.  0 or -XEN_EINVAL (over max) / -XEN_ENOMEM. */
int gnttab_grow(struct grant_table *gt, unsigned nr);
long gnttab_op_setup_table(struct vcpu *v, uint64_t uop, unsigned count);
long gnttab_op_query_size(struct vcpu *v, uint64_t uop, unsigned count);
long gnttab_op_set_version(struct vcpu *v, uint64_t uop, unsigned count);
long gnttab_op_get_version(struct vcpu *v, uint64_t uop, unsigned count);
long gnttab_op_get_status_frames(struct vcpu *v, uint64_t uop,
                                 unsigned count);
/* The domain named by a table op: DOMID_SELF, or another one if v's
   domain is privileged.  GNTST_okay, GNTST_bad_domain or
   GNTST_permission_denied. */
int gnttab_op_domain(struct vcpu *v, domid_t dom, struct domain **d);

/* ---- active.c ------------------------------------------------------------ */
/* The {flags,domid} word of entry ref, the v2 status halfword; the _w
   forms for a store, which they name to the write record (core/machine.h
   ram_w). */
const _Atomic uint32_t *gnt_shared_word(struct grant_table *gt,
                                        grant_ref_t ref);
const _Atomic uint16_t *gnt_status_word(struct grant_table *gt,
                                        grant_ref_t ref);
_Atomic uint32_t *gnt_shared_word_w(struct grant_table *gt, grant_ref_t ref);
_Atomic uint16_t *gnt_status_word_w(struct grant_table *gt, grant_ref_t ref);
/* The frame the guest wrote in entry ref (v1 frame, v2 full_page.frame). */
uint64_t gnt_entry_frame(struct grant_table *gt, grant_ref_t ref);
/* The entry's current status bits (GTF_reading|GTF_writing) as Xen keeps
   them (shared flags in v1, status frame in v2). */
uint16_t gnt_status_bits(struct grant_table *gt, grant_ref_t ref);
/*
 * Xen's _set_status: check the entry grants access to ldom (readonly for a
 * read pin) and set GTF_reading (+GTF_writing).  GNTST_okay or
 * GNTST_general_error (bad flags/domid, write-pin of a r/o entry, unstable
 * entry).  Table lock held.
 */
int gnt_set_status(struct grant_table *gt, grant_ref_t ref, domid_t ldom,
                   bool readonly, bool for_copy);
/* Clear GTF_writing / GTF_reading as the counters reached 0. */
void gnt_reduce_status(struct grant_table *gt, grant_ref_t ref);
/* The one writer of act->pin: add (delta +1) or remove (-1) one pin of a
   kind; traced. */
void gnt_pin(struct grant_table *gt, grant_ref_t ref, domid_t ldom,
             enum gnt_pin_kind kind, int delta);
/*
 * Pin entry ref of rd for ldom for the kinds in `kinds` (bit per
 * enum gnt_pin_kind), resolving its frame on the first pin; a general
 * reference on the frame is returned through *mfn (the caller drops it).
 * GNTST_okay or an error with nothing changed.  Takes the table lock.
 */
int gnt_acquire(struct domain *rd, grant_ref_t ref, domid_t ldom,
                unsigned kinds, bool readonly, bool for_copy, mfn_t *mfn,
                uint16_t *start, uint16_t *length);
/* Undo gnt_acquire's pins (not the reference).  Takes the table lock. */
void gnt_release(struct domain *rd, grant_ref_t ref, domid_t ldom,
                 unsigned kinds);

/* ---- maptrack.c ---------------------------------------------------------- */
/* A free handle of ld's maptrack (grows it); -1 when exhausted. */
int maptrack_get(struct domain *ld, domid_t rdom, grant_ref_t ref);
void maptrack_put(struct domain *ld, uint32_t handle);
struct grant_mapping *maptrack_entry(struct domain *ld, uint32_t handle);
/* Claim a published handle for an unmap (flags != 0 and not busy): the
   entry, or NULL (GNTST_bad_handle).  maptrack_unclaim ends the claim. */
struct grant_mapping *maptrack_claim(struct domain *ld, uint32_t handle);
void maptrack_unclaim(struct domain *ld, struct grant_mapping *map);
/* Publish a filled entry (flags written last, M3). */
void maptrack_publish(struct domain *ld, struct grant_mapping *map,
                      uint32_t flags);

/* ---- map.c / copy.c ------------------------------------------------------ */
/* Invariant 26: does a host mapping by ld of rd's frame hold a writable
   type ref?  Writable, and rd is PV or maps its own frame (Xen's
   gnttab_host_mapping_get_page_type). */
bool gnt_host_typed(bool ro, const struct domain *ld,
                    const struct domain *rd);

/* One element each; the result goes to op->status (and handle, ...). */
void gnttab_map_one(struct vcpu *v, struct gnttab_map_grant_ref *op);
void gnttab_unmap_one(struct vcpu *v, struct gnttab_unmap_grant_ref *op);
void gnttab_unmap_and_replace_one(struct vcpu *v,
                                  struct gnttab_unmap_and_replace *op);
void gnttab_copy_one(struct vcpu *v, struct gnttab_copy *op);
/* Release every mapping ld holds (domain destruction). */
void gnttab_release_mappings(struct domain *ld);
/* Bug zoo: rd's frame mfn lost a writable type ref to an XSA option
   (recorded), and the refs given back before rd's teardown. */
void gnttab_xsa_lost(struct domain *rd, mfn_t mfn);
void gnttab_xsa_restore(struct domain *d);

/* Why a frame was marked dirty (hvlab_grant:mark_dirty.why). */
enum gnt_dirty_why { GDIRTY_UNMAP = 0, GDIRTY_COPY, GDIRTY_COPY_RELEASE };
void gnttab_mark_dirty_why(struct domain *d, grant_ref_t ref, mfn_t mfn,
                           enum gnt_dirty_why why);

#endif /* HVLAB_CORE_GRANT_PRIVATE_H */
