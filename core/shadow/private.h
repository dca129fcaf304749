/*
 * core/shadow/private.h - shadow paging internals shared by the files of core/shadow.
 *
 * Rules (cited by the code and the audit):
 *   S1  Every shadow table write, shadow hash change, promotion, demotion
 *       and OOS state change happens under the domain's paging lock
 *       (sd->lock, LOCK_PAGING), and goes through sh_write_entry() (one
 *       writer, traced with old and new).
 *   S2  A shadow frame is a raw heap frame (count_info 0, no owner); its
 *       shadow type, backpointer and reference count live in the machine's
 *       side table (struct sh_pinfo, one per mfn).  A shadow Lk (k > 1) entry
 *       holds one side-table reference on the shadow it points to; a top-level
 *       (L4) shadow holds one more while pinned.  The last reference frees it.
 *   S3  A present, non-magic shadow L1 entry holds one general reference on
 *       the guest frame it maps, and a writable type reference when it is RW
 *       (refcounting shadow, XEN-NOTES 5.1).
 *   S4  A guest frame shadowed as a page table (PGC_shadowed_pt) is never
 *       RW in a shadow L1 entry unless it is out of sync and may be written
 *       (SHF_OOS_MAY_WRITE).
 *   S5  Only guest L1s shadowed once, as L1 only, go out of sync; an OOS
 *       frame sits in exactly one vCPU's OOS slot (home = mfn % 3, or the
 *       next one) with a snapshot of the guest L1 taken at unsync time.
 *   S6  A guest superpage (PSE in a guest L2e: 2 MiB, or L3e: 1 GiB) is
 *       splintered into 4K shadow entries.  An FL1 shadow stands for one
 *       2 MiB piece: it is keyed (back) by the piece's first gfn with the
 *       guest entry's leaf attributes folded into the low bits (sh_fl_key),
 *       never by a guest frame, since no guest L1 exists.  Its entry i maps
 *       gfn (first + i) through the p2m with full rights (P RW US A D) and
 *       the attributes, less RW where the p2m type is read-only or the
 *       frame is a shadowed page table (S4); sh_propagate_fl1 computes it.
 *       An FL2 shadow stands for a 1 GiB page: its entry j points at the
 *       FL1 of piece j, full rights.  The guest entry's own rights live in
 *       the shadow entry that points at the FL shadow: present only when
 *       the guest entry has A, RW only when it has D (the first write
 *       faults so the walk sets D, as the CPU would).  FL shadows are
 *       never promoted (no SHF_* bit, no guest frame becomes a page table
 *       because of them), never OOS, and are referenced as any lower
 *       shadow is (S2); their entries hold references as L1 entries do (S3).
 *   S7  A vCPU's root (v->cr3) is a pinned L4 shadow, set under the paging
 *       lock.  Unshadowing never frees a shadow that is some vCPU's root
 *       (it empties it); an L4 shadow that is nobody's root is unpinned
 *       and freed, so its guest frame stops being a page table.
 *   S8  Log-dirty (core/mm/paging.c L10; Xen's _sh_propagate): while it is
 *       on, a present, non-magic shadow L1 or FL1 entry is RW only if the
 *       bit of the gfn it maps is set.  sh_ld_rw is the one place that
 *       decides it, and every computation of an L1 / FL1 entry goes
 *       through it (sh_propagate level 1, sh_propagate_fl1 and their
 *       demand forms): a demand write (the fault path's own entry, after
 *       the guest walk allowed the write) marks the gfn (source fault,
 *       counted once: a set bit is not marked again) and keeps RW; any
 *       other fill (prefetch, new-L1 fill, FL1 fill, emulated-write
 *       validation, OOS resync) drops RW unless the bit is set.  The
 *       other writers of L1 entries only remove RW or write 0.  Guest
 *       memory the shadow code writes is marked too: an emulated PT write
 *       marks the table's gfn (source copy), A/D set by the guest walk
 *       mark the table whose entry changed (source walk).  ENABLE and
 *       CLEAN blow every shadow under the paging lock after the bitmap
 *       changed (shadow_log_dirty_rearm), so no RW entry outlives its
 *       round.  Audited: no RW L1 / FL1 entry maps a clean frame.
 *   S9  The side table carries a used map after its nr_frames entries:
 *       one bit per frame whose entry was ever given a shadow type or
 *       shadow flags (sh_note_used, at every store that makes them
 *       non-zero: promote, shadow creation, the OOS snapshots and flags).
 *       Bits are only set (an atomic OR: the table is the machine's, each
 *       writer holds only its own domain's paging lock), so a frame whose
 *       entry is non-zero has its bit, and the audit visits those frames
 *       only - every frame it looked at before had a type or flags.
 */
#ifndef HVLAB_CORE_SHADOW_PRIVATE_H
#define HVLAB_CORE_SHADOW_PRIVATE_H

#include <stdatomic.h>

#include "core/lock.h"
#include "core/pte.h"
#include "core/shadow/shadow.h"
#include "core/types.h"

struct domain;
struct machine;
struct vcpu;

/* Shadow types (the level of the guest table shadowed; SNAP: a snapshot;
   FL1 / FL2: a splintered 2 MiB / 1 GiB guest superpage, S6). */
enum sh_type {
    SH_NONE = 0, SH_L1 = 1, SH_L2 = 2, SH_L3 = 3, SH_L4 = 4, SH_SNAP = 5,
    SH_FL1 = 6, SH_FL2 = 7,
};
/* Entries of these map guest frames (S3). */
static inline bool sh_type_maps_frames(unsigned t)
{
    return t == SH_L1 || t == SH_FL1;
}
/* Entries of these point at lower shadows (S2). */
static inline bool sh_type_maps_shadows(unsigned t)
{
    return (t >= SH_L2 && t <= SH_L4) || t == SH_FL2;
}
static inline bool sh_type_is_fl(unsigned t)
{
    return t == SH_FL1 || t == SH_FL2;
}

/* shadow_flags of a guest frame. */
#define SHF_L1              (1u << SH_L1)
#define SHF_L2              (1u << SH_L2)
#define SHF_L3              (1u << SH_L3)
#define SHF_L4              (1u << SH_L4)
#define SHF_TYPES           (SHF_L1 | SHF_L2 | SHF_L3 | SHF_L4)
#define SHF_OOS             (1u << 6)
#define SHF_OOS_MAY_WRITE   (1u << 7)
/* Only guest-backed types (L1..L4) are promoted, so only they own a bit;
   FL types never touch shadow_flags (S6). */
_Static_assert((SHF_TYPES & (SHF_OOS | SHF_OOS_MAY_WRITE)) == 0,
               "a type bit never overlaps an OOS bit");

/*
 * FL keys (S6).  A superpage's first gfn is 512-aligned (a 2 MiB piece of
 * a 1 GiB page too), so its low 9 bits are free: they carry the leaf
 * attributes that differ between two mappings of the same gfns, so two
 * guest entries share an FL1 only when its entries would be identical.
 */
#define SH_FL_KEY_PWT       0x1u
#define SH_FL_KEY_PCD       0x2u
#define SH_FL_KEY_PAT       0x4u
#define SH_FL_KEY_GLOBAL    0x8u
#define SH_FL_KEY_MASK      0xFULL
_Static_assert(SH_FL_KEY_MASK < PT_ENTRIES, "attributes fit below a 2M gfn");
/* PAT sits at bit 12 in a superpage entry, bit 7 in an L1 entry. */
#define _PAGE_PSE_PAT       0x1000ULL
static inline mfn_t sh_fl_key(pfn_t first_gfn, pte_t ge)
{
    return first_gfn | ((ge & _PAGE_PWT) ? SH_FL_KEY_PWT : 0) |
           ((ge & _PAGE_PCD) ? SH_FL_KEY_PCD : 0) |
           ((ge & _PAGE_PSE_PAT) ? SH_FL_KEY_PAT : 0) |
           ((ge & _PAGE_GLOBAL) ? SH_FL_KEY_GLOBAL : 0);
}
static inline pfn_t sh_fl_key_gfn(mfn_t key) { return key & ~SH_FL_KEY_MASK; }
/* The L1 attribute bits an FL1 entry of this key carries. */
static inline pte_t sh_fl_key_attrs(mfn_t key)
{
    return ((key & SH_FL_KEY_PWT) ? _PAGE_PWT : 0) |
           ((key & SH_FL_KEY_PCD) ? _PAGE_PCD : 0) |
           ((key & SH_FL_KEY_PAT) ? _PAGE_PAT : 0) |
           ((key & SH_FL_KEY_GLOBAL) ? _PAGE_GLOBAL : 0);
}

/* One per machine frame (side table hung on the machine). */
struct sh_pinfo {
    uint8_t type;           /* enum sh_type when the frame is a shadow */
    uint8_t shadow_flags;   /* SHF_* when the frame is a shadowed guest frame */
    uint16_t dom;           /* shadow: owning domain */
    uint32_t refs;          /* shadow: references (S2) */
    mfn_t back;             /* shadow: guest frame shadowed; FL1/FL2:
                               the FL key (S6), a gfn, not a frame */
    mfn_t hash_next;        /* shadow: next in its hash chain */
};

#define SH_HASH_BUCKETS     251
#define SH_OOS_SLOTS        3
#define SH_OOS_FIXUPS       2

/* Magic shadow L1 entries: present, with reserved address bits set, so the
   MMU reports PFEC_RSVD (XEN-NOTES 5.4). */
#define SH_L1E_MAGIC        0xFFFFFFFF00000001ULL
#define SH_L1E_MAGIC_MASK   0xFFFFFFFF00000001ULL
#define SH_L1E_GNP          (~0ULL)
#define SH_L1E_MMIO_GFN_SHIFT 4
#define SH_L1E_MMIO_GFN_MASK  0x0FFFFFFFULL       /* 28 bits of gfn */
static inline bool sh_l1e_is_magic(pte_t e)
{
    return (e & SH_L1E_MAGIC_MASK) == SH_L1E_MAGIC;
}
static inline bool sh_l1e_is_gnp(pte_t e) { return e == SH_L1E_GNP; }
static inline bool sh_l1e_is_mmio(pte_t e)
{
    return sh_l1e_is_magic(e) && !sh_l1e_is_gnp(e);
}
static inline pte_t sh_l1e_mmio(pfn_t gfn, pte_t gflags)
{
    return SH_L1E_MAGIC | ((gfn & SH_L1E_MMIO_GFN_MASK) << SH_L1E_MMIO_GFN_SHIFT)
           | (gflags & (_PAGE_RW | _PAGE_USER));
}
static inline pfn_t sh_l1e_mmio_gfn(pte_t e)
{
    return (e >> SH_L1E_MMIO_GFN_SHIFT) & SH_L1E_MMIO_GFN_MASK;
}

struct sh_fixup { mfn_t smfn; unsigned slot; };

struct shadow_vcpu {
    mfn_t oos[SH_OOS_SLOTS];            /* guest frames OOS (INVALID: free) */
    mfn_t snap[SH_OOS_SLOTS];           /* snapshot frame of each slot */
    struct sh_fixup fix[SH_OOS_SLOTS][SH_OOS_FIXUPS];
    unsigned nr_fix[SH_OOS_SLOTS];
    mfn_t last_emulated;                /* guest frame of this vCPU's last
                                           emulated page-table write, if no
                                           other shadow fault came since */
};

/* What a fault decided (trace field fault.decision). */
enum sh_decision {
    SHD_FIXED = 0, SHD_EMULATE = 1, SHD_INJECT = 2, SHD_FAST_PROPAGATE = 3,
    SHD_FAST_MMIO = 4, SHD_FALSE_FAST_PATH = 5, SHD_MMIO = 6,
    SHD_DISCARD_WRITE = 7, SHD_UNSYNC = 8, SHD_UNSHADOW_USER = 9,
    SHD_NR
};

struct shadow_domain {
    hv_lock_t lock;                     /* the paging lock (S1) */
    struct sh_pinfo *pi;                /* the machine's side table */
    mfn_t hash[SH_HASH_BUCKETS];
    uint64_t nr_shadows;
    mfn_t *each;                        /* sh_for_each_shadow's snapshot, */
    uint64_t each_cap;                  /* room for nr_shadows (grown at
                                           shadow creation) */
    bool oos_active;
    _Atomic uint64_t dirty_version;     /* bumped at every guest PT change
                                           made through the shadow code */
    /* Statistics. */
    _Atomic uint64_t nr_fast, nr_slow, nr_emulated, nr_unsync, nr_resync,
        nr_gnp_injected;
    _Atomic uint64_t nr_unshadow_user, nr_early_unshadow, nr_prefetch;
    _Atomic uint64_t nr_decision[SHD_NR];   /* faults by decision */
};

/* Why an OOS page was resynced (trace field resync.reason). */
enum sh_resync_reason {
    SH_RESYNC_CR3 = 0, SH_RESYNC_INVLPG = 1, SH_RESYNC_PROMOTE = 2,
    SH_RESYNC_EVICT = 3, SH_RESYNC_UPPER = 4, SH_RESYNC_TEARDOWN = 5,
    SH_RESYNC_OTHER_VCPU = 6, SH_RESYNC_UNSHADOW = 7,
};


/* ---- common.c ----------------------------------------------------------- */
struct sh_pinfo *sh_side_table(struct machine *m);
static inline struct sh_pinfo *sh_pi(struct domain *d, mfn_t mfn);
void sh_lock(struct domain *d);
void sh_unlock(struct domain *d);
bool sh_locked(struct domain *d);
mfn_t sh_lookup(struct domain *d, mfn_t gmfn, enum sh_type t);
/* Find or create the shadow of gmfn as type t (promoting gmfn; may resync
   it).  *created says whether it is new.  INVALID_MFN when out of frames. */
mfn_t sh_get_or_create(struct domain *d, mfn_t gmfn, enum sh_type t,
                       bool *created);
void sh_get_ref(struct domain *d, mfn_t smfn);
void sh_put_ref(struct domain *d, mfn_t smfn);
/* S1: the one writer of shadow entries (refs of S2/S3 moved here). */
void sh_write_entry(struct domain *d, mfn_t smfn, unsigned slot, pte_t ne);
static inline pte_t sh_read_entry(struct domain *d, mfn_t smfn, unsigned slot);
/* Remove RW shadow mappings of gmfn (brute force over L1 shadows).  Returns
   how many were removed; *left (may be NULL) = writable refs still held. */
unsigned sh_remove_write_access(struct domain *d, mfn_t gmfn, unsigned *left);
/* Drop every shadow of gmfn (unshadow).  A top-level shadow that is some
   vCPU's root (S7) is emptied and kept; any other is unpinned and freed. */
void sh_remove_all_shadows(struct domain *d, mfn_t gmfn);
/* Unshadow gmfn; true if it is no longer a shadowed page table (false:
   it is some vCPU's root, S7). */
bool sh_unshadow(struct domain *d, mfn_t gmfn);
void sh_flush_all(struct domain *d);
bool sh_gmfn_is_pt(struct domain *d, mfn_t gmfn);
/* Call fn on every shadow of d that exists when the walk starts and still
   exists when its turn comes: fn may free shadows (its own or others, as
   dropping an entry's reference frees the child) but must not create any. */
typedef void (*sh_each_fn)(struct domain *d, mfn_t smfn, void *arg);
void sh_for_each_shadow(struct domain *d, sh_each_fn fn, void *arg);

/* ---- multi.c -------------------------------------------------------------- */
/* Compute the shadow entry for guest entry ge of a level-`level` table
   (L1: the mapping; above: the existing lower shadow, or 0; a superpage
   L2e/L3e: the FL shadow splintering it, or 0, S6).  With create, missing
   lower shadows are created (and guest tables promoted). */
pte_t sh_propagate(struct domain *d, unsigned level, pte_t ge, bool create);
/* Entry `slot` of the FL1 keyed `key` (S6). */
pte_t sh_propagate_fl1(struct domain *d, mfn_t key, unsigned slot);
/* S8: entry se (computed for gfn) with RW as log-dirty allows it;
   demand_write: the fault path's own entry for a guest write (marks). */
pte_t sh_ld_rw(struct domain *d, pfn_t gfn, pte_t se, bool demand_write);
/* Entry `slot` of the FL2 keyed `key`: the FL1 of that 2M piece or 0. */
pte_t sh_propagate_fl2(struct domain *d, mfn_t key, unsigned slot, bool create);
/* Rule S6 for a guest entry at `level` (2 or 3) with PSE: the frame-number
   bits below the superpage's alignment are reserved. */
bool sh_guest_pse_misaligned(pte_t ge, unsigned level);
/* Re-propagate slot `slot` of every shadow of guest frame gmfn. */
void sh_validate_guest_entry(struct domain *d, mfn_t gmfn, unsigned slot);

/* ---- oos.c ------------------------------------------------------------------ */
int sh_oos_init_vcpu(struct vcpu *v);
void sh_oos_free_vcpu(struct vcpu *v);
bool sh_unsync(struct vcpu *v, mfn_t gmfn);
/* Resync gmfn if it is OOS (in any vCPU's slots). */
void sh_resync(struct domain *d, mfn_t gmfn, enum sh_resync_reason why);
void sh_resync_vcpu(struct vcpu *v, enum sh_resync_reason why);
void sh_resync_all(struct domain *d, enum sh_resync_reason why);
/* Other vCPUs' OOS pages: bring the shadows up to date, leave them OOS. */
void sh_sync_other_vcpus(struct vcpu *v);
/* A new RW shadow mapping (smfn, slot) of OOS gmfn: remember it. */
void sh_oos_fixup_add(struct domain *d, mfn_t gmfn, mfn_t smfn, unsigned slot);
/* The snapshot entry of an OOS gmfn (the #PF path's single-entry update). */
void sh_oos_snapshot_update(struct domain *d, mfn_t gmfn, unsigned slot,
                            pte_t ge);

/* ---- inline helpers --------------------------------------------------------- */
#include "core/domain.h"
#include "core/machine.h"

static inline struct sh_pinfo *sh_pi(struct domain *d, mfn_t mfn)
{
    return &d->shadow->pi[mfn];
}
/* S9: the used map, after the side table's entries. */
static inline uint64_t *sh_used_map(struct domain *d)
{
    return (uint64_t *)(d->shadow->pi + d->m->nr_frames);
}
static inline void sh_note_used(struct domain *d, mfn_t mfn)
{
    uint64_t *w = &sh_used_map(d)[mfn >> 6];
    uint64_t bit = 1ULL << (mfn & 63);
    if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}
/* A shadow (or snapshot) table; _w for a store (core/machine.h ram_w: the
   whole page is named). */
static inline const pte_t *sh_table(struct domain *d, mfn_t mfn)
{
    return (const pte_t *)mfn_to_virt(d->m, mfn);
}
static inline pte_t *sh_table_w(struct domain *d, mfn_t mfn)
{
    return (pte_t *)mfn_to_virt_w(d->m, mfn);
}
static inline pte_t sh_read_entry(struct domain *d, mfn_t smfn, unsigned slot)
{
    return __atomic_load_n(&sh_table(d, smfn)[slot], __ATOMIC_ACQUIRE);
}
/* Guest table entries, read with the host's view (atomic: the guest may
   write an OOS L1 concurrently). */
static inline pte_t sh_guest_entry(struct domain *d, mfn_t gmfn, unsigned slot)
{
    return __atomic_load_n(&sh_table(d, gmfn)[slot], __ATOMIC_ACQUIRE);
}

#endif /* HVLAB_CORE_SHADOW_PRIVATE_H */
