/*
 * core/machine.h - the host: RAM arena, frame table, M2P, free-frame heap.
 *
 * Host RAM is one mmap'd arena (MAP_NORESERVE: a large machine costs nothing
 * until touched); MFN = frame index into it.  Several machines may live in one
 * process (migration source and destination); nothing here is global.
 *
 * The M2P (machine -> guest pfn) lives in Xen-owned frames of the arena, and
 * Xen's L3/L2/L1 tables that map it read-only are built at creation:
 * xen_l4_slots[] are the entries every validated guest L4 receives in Xen's
 * slots (256..271), so guests read the M2P at MACH2PHYS_VIRT_START as on Xen.
 */
#ifndef HVLAB_CORE_MACHINE_H
#define HVLAB_CORE_MACHINE_H

#include "core/audit_mark.h"
#include "core/lock.h"
#include "core/mm/page.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/wrec.h"

struct domain;
struct frame_history;

/* First and last L4 slots reserved for Xen in a 64-bit PV guest. */
#define XEN_L4_SLOT_FIRST   256
#define XEN_L4_SLOT_LAST    271
#define XEN_L4_NR_SLOTS     (XEN_L4_SLOT_LAST - XEN_L4_SLOT_FIRST + 1)

/* M2P entry for a frame with no guest pfn, and for shared (CoW) frames. */
#define INVALID_M2P_ENTRY   (~0ULL)
#define SHARED_M2P_ENTRY    (~0ULL - 1)

struct machine {
    unsigned host_id;               /* appears in every trace event */
    uint8_t *ram;                   /* arena base; frame mfn at ram + mfn*4K */
    uint64_t nr_frames;
    struct page_info *frame_table;  /* nr_frames entries */

    const uint64_t *m2p;            /* m2p[mfn]; points into Xen frames */
    mfn_t m2p_first_mfn;
    uint64_t m2p_nr_frames;
    pte_t xen_l4_slots[XEN_L4_NR_SLOTS];

    hv_lock_t heap_lock;            /* protects the free list below */
    uint32_t free_head;             /* singly linked through list_next */
    uint64_t nr_free;

    struct domain *domains[HV_MAX_DOMAINS]; /* by domid; NULL if none */
    _Atomic uint32_t tlbflush_clock;        /* ticks at every full flush */

    struct hv_options opt;

    /* Ring of recent frame transitions (core/mm/history.c); created lazily
       by the mm code, which registers its destructor with
       machine_at_destroy(). */
    struct frame_history *_Atomic history;

    /* Destructors of state other subsystems hang on the machine, run by
       machine_destroy() in reverse order of registration. */
    void (*dtors[8])(struct machine *m);
    _Atomic unsigned nr_dtors;

    /* dom_cow: the pseudo-domain that owns CoW-shared frames (owner id
       DOMID_COW, not in domains[]); created by core/mm/p2m_sharing.c on
       first use and freed by it at machine destruction. */
    struct domain *_Atomic dom_cow;

    /* The audit's change marks and memo (core/audit.h A1-A9): marks set
       by the mutators (HV_AUDIT_MARK), the rest core/audit.c's. */
    struct hv_audit_memo audit_memo;
};

/* Create a machine with ram_bytes of RAM.  0, -XEN_EINVAL (fewer than 64
   frames, or more than the 32-bit frame links / the M2P window allow), or
   -XEN_ENOMEM. */
int machine_create(uint64_t ram_bytes, unsigned host_id,
                   const struct hv_options *opt, struct machine **out);
/* Destroy a machine; every domain must have been destroyed first.  A small
   machine's RAM and frame table are cleaned and kept for the next
   machine_create of the same size in this process (machine.c rule 10). */
void machine_destroy(struct machine *m);
/* How many machines this process created from kept mappings. */
uint64_t machine_arena_reuses(void);
/* Run fn(m) when m is destroyed (before its RAM goes away).  For state a
   higher layer hangs on the machine, so the machine need not know it.
   0, or -XEN_ENOSPC when every slot is taken. */
int machine_at_destroy(struct machine *m, void (*fn)(struct machine *m));

static inline bool mfn_valid(const struct machine *m, mfn_t mfn)
{
    return mfn < m->nr_frames;
}
/*
 * RAM is read through mfn_to_virt and written through ram_w (a frame's
 * whole page: mfn_to_virt_w).  Every store to RAM goes through one of them
 * or through a pointer one of them returned in the same function, so the
 * write record (core/wrec.h W1) names every RAM page a run wrote: a
 * pointer kept for later (a TLB entry's host page, the M2P, a grant
 * frame) is const and stores through ram_w.
 */
static inline const void *mfn_to_virt(const struct machine *m, mfn_t mfn)
{
    return m->ram + (mfn << PAGE_SHIFT);
}
static inline void *ram_w(const void *p, size_t len)
{
    hv_wrec_note(p, len);
    return (void *)(uintptr_t)p;
}
static inline void *mfn_to_virt_w(const struct machine *m, mfn_t mfn)
{
    return ram_w(mfn_to_virt(m, mfn), PAGE_SIZE);
}
static inline struct page_info *mfn_to_page(const struct machine *m, mfn_t mfn)
{
    return &m->frame_table[mfn];
}
static inline mfn_t page_to_mfn(const struct machine *m,
                                const struct page_info *pg)
{
    return (mfn_t)(pg - m->frame_table);
}
static inline struct domain *machine_domain(const struct machine *m,
                                            domid_t domid)
{
    return domid < HV_MAX_DOMAINS ? m->domains[domid] : NULL;
}

/*
 * Raw frame heap (no owner, no references).  machine_heap_alloc returns a
 * zeroed frame in state "inuse" with count_info 0 and type_info 0, or
 * INVALID_MFN when the heap is empty.  machine_heap_free takes a frame whose
 * counts are zero back.  Owners and references are core/mm/alloc.c's job.
 */
mfn_t machine_heap_alloc(struct machine *m);
void machine_heap_free(struct machine *m, mfn_t mfn);

/* M2P accessors (the only writer is set_gpfn_from_mfn, which traces). */
static inline uint64_t get_gpfn_from_mfn(const struct machine *m, mfn_t mfn)
{
    return mfn_valid(m, mfn) ? m->m2p[mfn] : INVALID_M2P_ENTRY;
}
void set_gpfn_from_mfn(struct machine *m, mfn_t mfn, uint64_t pfn);

#endif /* HVLAB_CORE_MACHINE_H */
