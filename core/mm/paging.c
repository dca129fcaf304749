/*
 * core/mm/paging.c - log-dirty: the per-domain dirty bitmap, its marks and
 * the log-dirty operations of XEN_DOMCTL_shadow_op (Xen's
 * xen/arch/x86/mm/paging.c, with hap/hap.c's enable / disable / clean).
 *
 * Rules:
 *   L1  The bitmap is Xen's radix tree: L4/L3/L2 nodes of 512 pointers and
 *       4 KiB leaves of 32768 pfn bits, indexed by pfn (bits 42.. ignored).
 *       Nodes are allocated on the first mark below them, from a bounded
 *       per-domain pool (Xen: the paging pool); a failed allocation loses
 *       the mark, is counted, and makes every later CLEAN/PEEK -ENOMEM
 *       until log-dirty is switched off.
 *   L2  mark_pfn is the only writer of a bit and of the stats; it runs
 *       under ld->lock (level LOCK_PAGING, so a mark may be made under the
 *       p2m lock, as the hap fault path does) and traces hvlab_dirty:mark.
 *       dirty_count counts bits newly set since the last CLEAN, so it
 *       equals the set bits but those a CLEAN left (L11; audited);
 *       fault_count counts guest write faults (Xen's HAP path leaves it
 *       0; hvlab counts them so the stats say something).
 *   L3  A frame mark (paging_mark_dirty) is a no-op unless log-dirty is on
 *       and d owns the frame; the pfn is M2P[mfn], and INVALID / SHARED M2P
 *       entries are never marked (dom_cow frames are not d's either).
 *   L4  HAP: enable flips every ram_rw entry to ram_logdirty
 *       (p2m_change_entry_type_global: eagerly, where Xen is lazy through
 *       recalc; each flipped entry loses W, so the p2m flushes the vCPUs'
 *       TLBs that cache combined translations), a guest write fault marks
 *       the gfn and flips it back (core/mm/hap.c), CLEAN re-flips rw ->
 *       logdirty after the copy, OFF flips logdirty -> rw and frees the
 *       bitmap.  Shadow-mode HVM domains: L10.
 *   L5  One shadow_op at a time per domain (ld->busy): a second caller is
 *       -EBUSY.  The domain is paused around enable, disable, clean/peek.
 *       The p2m lock is never taken with ld->lock held.
 *   L6  ENABLE when on is -EINVAL (Xen); OFF when off is 0 (Xen); CLEAN /
 *       PEEK mode bits other than XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL are
 *       -EINVAL; with log-dirty off they return zero stats and an all-zero
 *       bitmap and re-arm nothing (so no ram_logdirty entry ever exists
 *       while log-dirty is off).
 *   L7  PV (Xen: inside shadow paging; hvlab: at the TLB, core/mmu.c rule
 *       24): ENABLE and every CLEAN bump ld->round under ld->lock and then
 *       flush every TLB of d's vCPUs, waiting as for a flush IPI (Xen's
 *       shadow_blow_tables + flush), so no writable translation survives
 *       into a round; OFF flushes nothing.  A TLB entry of a vCPU of d
 *       carries write permission for a frame d owns only if its bit was
 *       set in the current round (audited: a vCPU with no flush pending
 *       holds no TLB_W entry of a clean frame of d).
 *   L8  paging_ld_write_fault is the hypervisor-internal write fault: it
 *       sets a clear bit and counts fault_count (source fault); a set bit
 *       costs nothing and counts nothing.  It returns the round read under
 *       ld->lock, which the MMU compares inside its access window.
 *   L9  Hypervisor writes to PV tables and frames (entry writes, A/D set by
 *       the walk, type count 0 <-> 1, pin / unpin, MMUEXT clear / copy,
 *       MMU_MACHPHYS_UPDATE) mark the frame for its owner through
 *       paging_mark_frame: with no domain in log-dirty anywhere
 *       (paging_ld_live == 0) that is one relaxed load and a branch.
 *   L10 Shadow-mode HVM (Xen: shadow/common.c and multi.c's
 *       _sh_propagate): log-dirty lives in the shadows.  ENABLE and every
 *       CLEAN bump the round under ld->lock, then blow away every shadow
 *       of d and flush its vCPUs' TLBs, waiting (shadow_log_dirty_rearm;
 *       Xen's shadow_blow_tables + flush); OFF changes no shadow (entries
 *       left read-only only lost RW, which the shadow audit allows).  The
 *       shadow code gives an L1 entry RW only on a demand write fault
 *       (which marks the gfn: source fault, fault_count) or when the bit
 *       is already set (paging_pfn_is_dirty), under its paging lock, so
 *       a CLEAN's blow, which takes that lock after the copy, removes
 *       every RW entry of the round just returned (S8 in
 *       core/shadow/private.h; audited there and below at the TLB).
 *   L11 CLEAN copies and clears the leaves that hold pfns below op->pages
 *       (each leaf whole, as Xen's clear_page) and resets dirty_count
 *       whatever it cleared, as Xen does; bits of leaves past op->pages
 *       stay set.  ld->carried counts those (recounted at every CLEAN,
 *       0 at ENABLE and OFF), so dirty_count + carried is the number of
 *       set bits (audited).  A fuzzed CLEAN with pages below a marked pfn
 *       broke L2's equality when it was dirty_count alone
 *       (tests/data/fuzz/shadow-partial-clean).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/grant/grant_table.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"

#define PAGING_HOSTS    8
#define LD_ENTRIES      512u                    /* pointers per node */
#define LD_LEAF_BITS    (PAGE_SIZE * 8)         /* 32768 pfns per leaf */
#define LD_MAX_PFN_BITS (15 + 9 * 3)            /* 42 */
#define LD_MAX_PFNS     (1ULL << LD_MAX_PFN_BITS)

struct ld_node {
    void *slot[LD_ENTRIES];         /* L4/L3/L2: children; NULL = none */
};
_Static_assert(sizeof(struct ld_node) == PAGE_SIZE, "a node is a page");

struct paging_log_dirty {
    hv_lock_t lock;                 /* L2: bits, nodes, stats */
    _Atomic bool enabled;           /* written under lock */
    _Atomic uint64_t round;         /* L7: written under lock */
    atomic_flag busy;               /* L5 */
    struct ld_node *top;
    unsigned nodes;                 /* nodes and leaves allocated */
    unsigned pool;                  /* their bound (L1) */
    uint32_t failed_allocs;
    uint32_t fault_count;
    uint32_t dirty_count;
    uint64_t carried;               /* L11: bits a CLEAN left set */
};

static _Atomic uint64_t dirty_marks[PAGING_HOSTS][HV_MAX_DOMAINS];
_Atomic unsigned paging_ld_live;                /* L9 */
static pthread_mutex_t ld_create_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned l4_idx(pfn_t p) { return (p >> 33) & (LD_ENTRIES - 1); }
static unsigned l3_idx(pfn_t p) { return (p >> 24) & (LD_ENTRIES - 1); }
static unsigned l2_idx(pfn_t p) { return (p >> 15) & (LD_ENTRIES - 1); }
static unsigned l1_idx(pfn_t p) { return p & (LD_LEAF_BITS - 1); }

static struct paging_log_dirty *ld_get(struct domain *d)
{
    struct paging_log_dirty *ld = d->log_dirty;
    if (ld)
        return ld;
    pthread_mutex_lock(&ld_create_lock);
    ld = d->log_dirty;
    if (!ld) {
        ld = calloc(1, sizeof(*ld));
        if (ld) {
            hv_lock_init(&ld->lock, "paging.log_dirty", LOCK_PAGING);
            atomic_flag_clear(&ld->busy);
            ld->pool = PAGING_LD_POOL_DEFAULT;
            d->log_dirty = ld;
        }
    }
    pthread_mutex_unlock(&ld_create_lock);
    return ld;
}

/* ---- the tree (L1) ------------------------------------------------------ */

static void *node_alloc(struct paging_log_dirty *ld)
{
    if (ld->nodes >= ld->pool)
        return NULL;
    void *n = calloc(1, PAGE_SIZE);
    if (n)
        ld->nodes++;
    return n;
}

/* The leaf of pfn, allocating the path when alloc; NULL if missing / no
   node left (then *failed). */
static uint64_t *leaf_of(struct paging_log_dirty *ld, pfn_t pfn, bool alloc,
                         bool *failed)
{
    unsigned idx[3] = { l4_idx(pfn), l3_idx(pfn), l2_idx(pfn) };
    if (!ld->top) {
        if (!alloc || !(ld->top = node_alloc(ld)))
            goto missing;
    }
    struct ld_node *n = ld->top;
    for (unsigned lvl = 0; lvl < 3; lvl++) {
        void **slot = &n->slot[idx[lvl]];
        if (!*slot) {
            if (!alloc || !(*slot = node_alloc(ld)))
                goto missing;
        }
        if (lvl == 2)
            return *slot;
        n = *slot;
    }
missing:
    if (alloc && failed)
        *failed = true;
    return NULL;
}

static void tree_free(struct paging_log_dirty *ld)
{
    struct ld_node *l4 = ld->top;
    if (!l4)
        return;
    for (unsigned i4 = 0; i4 < LD_ENTRIES; i4++) {
        struct ld_node *l3 = l4->slot[i4];
        if (!l3)
            continue;
        for (unsigned i3 = 0; i3 < LD_ENTRIES; i3++) {
            struct ld_node *l2 = l3->slot[i3];
            if (!l2)
                continue;
            for (unsigned i2 = 0; i2 < LD_ENTRIES; i2++)
                free(l2->slot[i2]);
            free(l2);
        }
        free(l3);
    }
    free(l4);
    ld->top = NULL;
    ld->nodes = 0;
}

static uint64_t tree_popcount(struct paging_log_dirty *ld)
{
    uint64_t n = 0;
    struct ld_node *l4 = ld->top;
    for (unsigned i4 = 0; l4 && i4 < LD_ENTRIES; i4++) {
        struct ld_node *l3 = l4->slot[i4];
        for (unsigned i3 = 0; l3 && i3 < LD_ENTRIES; i3++) {
            struct ld_node *l2 = l3->slot[i3];
            for (unsigned i2 = 0; l2 && i2 < LD_ENTRIES; i2++) {
                const uint64_t *leaf = l2->slot[i2];
                for (unsigned w = 0; leaf && w < PAGE_SIZE / 8; w++)
                    n += (uint64_t)__builtin_popcountll(leaf[w]);
            }
        }
    }
    return n;
}

/* ---- marks (L2, L3) ----------------------------------------------------- */

/* Under ld->lock: set pfn's bit.  1 newly set, 0 already set, -1 lost
   (no node left: counted and traced, L1). */
static int bit_set_locked(struct domain *d, struct paging_log_dirty *ld,
                          pfn_t pfn)
{
    bool failed = false;
    uint64_t *leaf = leaf_of(ld, pfn, true, &failed);
    if (!leaf) {
        ld->failed_allocs++;
        TRC(hvlab_dirty, alloc_fail, (uint8_t)d->m->host_id, d->domid, pfn,
            ld->failed_allocs);
        return -1;
    }
    unsigned b = l1_idx(pfn);
    uint64_t bit = 1ULL << (b % 64);
    if (leaf[b / 64] & bit)
        return 0;
    leaf[b / 64] |= bit;
    ld->dirty_count++;
    return 1;
}

/* Under ld->lock: is pfn's bit set? */
static bool bit_test_locked(struct paging_log_dirty *ld, pfn_t pfn)
{
    const uint64_t *leaf = leaf_of(ld, pfn, false, NULL);
    unsigned b = l1_idx(pfn);
    return leaf && (leaf[b / 64] >> (b % 64) & 1);
}

static void mark_pfn(struct domain *d, pfn_t pfn, mfn_t mfn,
                     enum paging_dirty_source src)
{
    struct paging_log_dirty *ld = d->log_dirty;
    if (!ld || !atomic_load(&ld->enabled) || pfn >= LD_MAX_PFNS)
        return;
    if (INJ_POINT_ON(logdirty_mark_before_set, d->domid,
                     current ? (unsigned)current->vcpu_id : INJ_ANY, pfn))
        return;                                 /* skip: the mark is lost */
    hv_lock(&ld->lock);
    if (!atomic_load(&ld->enabled)) {           /* switched off meanwhile */
        hv_unlock(&ld->lock);
        return;
    }
    int set = bit_set_locked(d, ld, pfn);
    if (set >= 0) {
        if (src == LD_SRC_FAULT)
            ld->fault_count++;
        TRC(hvlab_dirty, mark, (uint8_t)d->m->host_id, d->domid, pfn, mfn,
            (uint8_t)(set == 0), (uint8_t)src);
    }
    hv_unlock(&ld->lock);
}

void paging_mark_dirty_from(struct domain *d, mfn_t mfn,
                            enum paging_dirty_source src)
{
    if (!d || d->domid >= HV_MAX_DOMAINS)
        return;
    atomic_fetch_add(&dirty_marks[d->m->host_id % PAGING_HOSTS][d->domid], 1);
    if (!paging_log_dirty_enabled(d) || !mfn_valid(d->m, mfn) ||
        mfn_to_page(d->m, mfn)->owner != d->domid)
        return;                                 /* L3 */
    uint64_t pfn = get_gpfn_from_mfn(d->m, mfn);
    if (pfn == INVALID_M2P_ENTRY || pfn == SHARED_M2P_ENTRY)
        return;
    mark_pfn(d, pfn, mfn, src);
}

/* The pfn a mark of d's frame mfn goes to, or INVALID_M2P_ENTRY (L3). */
static uint64_t owned_pfn(const struct domain *d, mfn_t mfn)
{
    if (!mfn_valid(d->m, mfn) || mfn_to_page(d->m, mfn)->owner != d->domid)
        return INVALID_M2P_ENTRY;
    uint64_t pfn = get_gpfn_from_mfn(d->m, mfn);
    if (pfn == SHARED_M2P_ENTRY || pfn >= LD_MAX_PFNS)
        return INVALID_M2P_ENTRY;
    return pfn;
}

void paging_mark_frame_slow(struct machine *m, mfn_t mfn,
                            enum paging_dirty_source src)
{
    if (!m || !mfn_valid(m, mfn))
        return;
    domid_t owner = mfn_to_page(m, mfn)->owner;
    struct domain *d = owner < HV_MAX_DOMAINS ? m->domains[owner] : NULL;
    if (!paging_log_dirty_enabled(d))
        return;
    uint64_t pfn = owned_pfn(d, mfn);
    if (pfn != INVALID_M2P_ENTRY)
        mark_pfn(d, pfn, mfn, src);
}

uint64_t paging_ld_round(const struct domain *d)
{
    return d->log_dirty ? atomic_load_explicit(&d->log_dirty->round,
                                               memory_order_acquire) : 0;
}

uint64_t paging_ld_write_fault(struct domain *d, mfn_t mfn)
{
    struct paging_log_dirty *ld = d->log_dirty;
    if (!ld)
        return 0;
    uint64_t pfn = owned_pfn(d, mfn);
    if (pfn != INVALID_M2P_ENTRY && atomic_load(&ld->enabled) &&
        INJ_POINT_ON(logdirty_fault_before_set, d->domid,
                     current ? (unsigned)current->vcpu_id : INJ_ANY, pfn))
        return atomic_load(&ld->round);         /* skip: the mark is lost */
    hv_lock(&ld->lock);
    uint64_t round = atomic_load(&ld->round);
    if (atomic_load(&ld->enabled) && pfn != INVALID_M2P_ENTRY &&
        !bit_test_locked(ld, pfn)) {            /* L8 */
        if (bit_set_locked(d, ld, pfn) > 0) {
            ld->fault_count++;
            TRC(hvlab_dirty, mark, (uint8_t)d->m->host_id, d->domid, pfn,
                mfn, (uint8_t)0, (uint8_t)LD_SRC_FAULT);
        }
        /* A lost mark (L1) still lets the write through: the round's
           CLEAN is -ENOMEM, so the toolstack cannot trust it anyway. */
    }
    hv_unlock(&ld->lock);
    return round;
}

void paging_mark_dirty(struct domain *d, mfn_t mfn)
{
    paging_mark_dirty_from(d, mfn, LD_SRC_GRANT);
}

void paging_mark_pfn_dirty(struct domain *d, pfn_t pfn,
                           enum paging_dirty_source src)
{
    if (d)
        mark_pfn(d, pfn, INVALID_MFN, src);
}

uint64_t paging_dirty_marks(const struct domain *d)
{
    if (!d || d->domid >= HV_MAX_DOMAINS)
        return 0;
    return atomic_load(&dirty_marks[d->m->host_id % PAGING_HOSTS][d->domid]);
}

bool paging_log_dirty_enabled(const struct domain *d)
{
    return d && d->log_dirty && atomic_load(&d->log_dirty->enabled);
}

bool paging_pfn_is_dirty(struct domain *d, pfn_t pfn)
{
    struct paging_log_dirty *ld = d ? d->log_dirty : NULL;
    if (!ld || !atomic_load(&ld->enabled) || pfn >= LD_MAX_PFNS)
        return false;
    hv_lock(&ld->lock);
    bool set = atomic_load(&ld->enabled) && bit_test_locked(ld, pfn);
    hv_unlock(&ld->lock);
    return set;
}

bool paging_mfn_is_dirty(struct domain *d, mfn_t mfn)
{
    if (!paging_log_dirty_enabled(d))
        return false;
    uint64_t pfn = owned_pfn(d, mfn);
    return pfn == INVALID_M2P_ENTRY ||
           paging_pfn_is_dirty(d, pfn);
}

bool paging_hap_write_fixup(struct domain *d, pfn_t gfn)
{
    if (!d || d->paging != PAGING_HAP || !d->p2m)
        return false;
    p2m_type_t t;
    bool fixed = false;
    p2m_lock(d);            /* mark and flip as one, like the fault path */
    (void)get_gfn_query_unlocked(d, gfn, &t);
    if (t == p2m_ram_logdirty) {
        paging_mark_pfn_dirty(d, gfn, LD_SRC_COPY);
        fixed = p2m_change_type_one(d, gfn, p2m_ram_logdirty, p2m_ram_rw) == 0;
    }
    p2m_unlock(d);
    return fixed;
}

/* ---- the operations (L4-L6) -------------------------------------------- */

static int log_dirty_enable(struct domain *d, struct paging_log_dirty *ld)
{
    bool pv = is_pv_domain(d);
    bool shadow = d->paging == PAGING_SHADOW && d->shadow != NULL;
    if (!pv && !shadow && d->paging != PAGING_HAP)
        return -XEN_EOPNOTSUPP;
    if (atomic_load(&ld->enabled))
        return -XEN_EINVAL;                     /* L6, as Xen */
    domain_pause(d);
    atomic_fetch_add(&paging_ld_live, 1);       /* L9: before any mark */
    hv_lock(&ld->lock);
    ld->failed_allocs = ld->fault_count = ld->dirty_count = 0;
    ld->carried = 0;                            /* L11: OFF freed the tree */
    atomic_fetch_add(&ld->round, 1);
    atomic_store(&ld->enabled, true);           /* marks count from here */
    hv_unlock(&ld->lock);
    if (pv) {                                   /* L7 */
        mmu_flush_domain(d);
        domain_unpause(d);
        return 0;
    }
    if (shadow) {                               /* L10 */
        shadow_log_dirty_rearm(d);
        domain_unpause(d);
        return 0;
    }
    /* L4: the global flip flushes every vCPU that may cache a writable
       translation (p2m.c M5). */
    p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    domain_unpause(d);
    return 0;
}

static int log_dirty_disable(struct domain *d, struct paging_log_dirty *ld)
{
    if (!atomic_load(&ld->enabled))
        return 0;                               /* L6, as Xen */
    domain_pause(d);
    hv_lock(&ld->lock);
    atomic_store(&ld->enabled, false);
    hv_unlock(&ld->lock);
    atomic_fetch_sub(&paging_ld_live, 1);
    if (d->paging == PAGING_HAP)                /* L7, L10: nothing */
        p2m_change_entry_type_global(d, p2m_ram_logdirty, p2m_ram_rw);
    hv_lock(&ld->lock);
    tree_free(ld);
    ld->failed_allocs = ld->fault_count = ld->dirty_count = 0;
    ld->carried = 0;
    hv_unlock(&ld->lock);
    domain_unpause(d);
    return 0;
}

struct final_ctx { struct domain *d; };

static void final_mark(void *ctx, mfn_t mfn)
{
    struct final_ctx *f = ctx;
    paging_mark_dirty_from(f->d, mfn, LD_SRC_FINAL_GRANT);
}

static int log_dirty_op(struct domain *d, struct paging_log_dirty *ld,
                        struct xen_domctl_shadow_op *op, uint8_t *bitmap)
{
    bool clean = op->op == XEN_DOMCTL_SHADOW_OP_CLEAN;
    bool final = op->mode & XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL;

    if (op->mode & ~(uint32_t)XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL)
        return -XEN_EINVAL;
    /*
     * FINAL: Xen marks the frames it maps itself for an HVM guest
     * (hvm_mappedmem_mark_dirty); hvlab's hypervisor keeps no such
     * mappings.  Marking every frame with a writable grant pin is NOT
     * something Xen does: XEN-NOTES 12.E proposes it as a belt-and-braces
     * option, off by default (logdirty.final_marks_grants).
     */
    if (final && d->m->opt.logdirty_final_marks_grants &&
        atomic_load(&ld->enabled)) {
        struct final_ctx f = { d };
        gnttab_for_each_writable_pin(d, final_mark, &f);
    }
    domain_pause(d);
    INJ_POINT_AT(logdirty_clean_before_copy, d->domid,
                 current ? (unsigned)current->vcpu_id : INJ_ANY);
    hv_lock(&ld->lock);
    op->stats.fault_count = ld->fault_count;
    op->stats.dirty_count = ld->dirty_count;
    if (ld->failed_allocs) {                    /* L1, as Xen */
        hv_unlock(&ld->lock);
        domain_unpause(d);
        return -XEN_ENOMEM;
    }
    uint64_t pages = op->pages < LD_MAX_PFNS ? op->pages : LD_MAX_PFNS;
    for (uint64_t done = 0; done < pages; done += LD_LEAF_BITS) {
        uint64_t *leaf = leaf_of(ld, done, false, NULL);
        size_t bytes = PAGE_SIZE;
        if ((pages - done + 7) / 8 < bytes)
            bytes = (size_t)((pages - done + 7) / 8);
        if (bitmap) {
            if (leaf)
                memcpy(bitmap + done / 8, leaf, bytes);
            else
                memset(bitmap + done / 8, 0, bytes);
        }
        if (leaf && clean)
            memset(leaf, 0, PAGE_SIZE);
    }
    op->pages = pages;
    if (clean) {
        ld->fault_count = ld->dirty_count = 0;
        ld->carried = tree_popcount(ld);        /* L11 */
    }
    bool rearm = clean && atomic_load(&ld->enabled);
    if (rearm)
        atomic_fetch_add(&ld->round, 1);        /* L7 */
    hv_unlock(&ld->lock);
    if (rearm && is_pv_domain(d)) {             /* L7: blow the TLBs */
        mmu_flush_domain(d);
    } else if (rearm && d->paging == PAGING_SHADOW && d->shadow) {
        shadow_log_dirty_rearm(d);              /* L10: after the copy */
    } else if (rearm) {                         /* L4: after the copy */
        p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty);
    }
    domain_unpause(d);
    if (clean)
        TRC(hvlab_dirty, clean, (uint8_t)d->m->host_id, d->domid,
            (uint8_t)final, op->stats.dirty_count, op->stats.fault_count,
            pages);
    else
        TRC(hvlab_dirty, peek, (uint8_t)d->m->host_id, d->domid,
            (uint8_t)final, op->stats.dirty_count, op->stats.fault_count,
            pages);
    return 0;
}

int paging_domctl_shadow_op(struct domain *d, struct xen_domctl_shadow_op *op,
                            uint8_t *bitmap)
{
    if (!d || !op || d->nr_vcpus == 0 || !d->vcpu[0])
        return -XEN_EINVAL;
    if (current && current->d == d)
        return -XEN_EINVAL;                     /* a paging op on itself */
    if (atomic_load(&d->is_dying))
        return 0;                               /* Xen ignores it */
    if (op->op != XEN_DOMCTL_SHADOW_OP_OFF &&
        op->op != XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY &&
        op->op != XEN_DOMCTL_SHADOW_OP_CLEAN &&
        op->op != XEN_DOMCTL_SHADOW_OP_PEEK)
        return -XEN_EINVAL;
    struct paging_log_dirty *ld = ld_get(d);
    if (!ld)
        return -XEN_ENOMEM;
    if (atomic_flag_test_and_set(&ld->busy))
        return -XEN_EBUSY;                      /* L5 */
    int rc;
    switch (op->op) {
    case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
        rc = log_dirty_enable(d, ld);
        TRC(hvlab_dirty, enable, (uint8_t)d->m->host_id, d->domid, rc);
        break;
    case XEN_DOMCTL_SHADOW_OP_OFF:
        rc = log_dirty_disable(d, ld);
        TRC(hvlab_dirty, disable, (uint8_t)d->m->host_id, d->domid, rc);
        break;
    default:
        rc = log_dirty_op(d, ld, op, bitmap);
        break;
    }
    atomic_flag_clear(&ld->busy);
    return rc;
}

int paging_log_dirty_set_pool(struct domain *d, unsigned nodes)
{
    struct paging_log_dirty *ld = d ? ld_get(d) : NULL;
    if (!ld)
        return -XEN_EINVAL;
    hv_lock(&ld->lock);
    int rc = nodes < ld->nodes ? -XEN_EINVAL : 0;
    if (rc == 0)
        ld->pool = nodes;
    hv_unlock(&ld->lock);
    return rc;
}

unsigned paging_log_dirty_nodes(const struct domain *d)
{
    return d && d->log_dirty ? d->log_dirty->nodes : 0;
}

void paging_log_dirty_free(struct domain *d)
{
    struct paging_log_dirty *ld = d->log_dirty;
    if (!ld)
        return;
    if (atomic_load(&ld->enabled))
        atomic_fetch_sub(&paging_ld_live, 1);
    tree_free(ld);
    d->log_dirty = NULL;
    free(ld);
}

/* ---- audit --------------------------------------------------------------- */

/* L7, L10: no vCPU of PV or shadow-mode domain d without a flush pending caches write
   permission for a frame of d whose bit is clear.  Under ld->lock. */
static unsigned audit_pv_tlbs(struct domain *d, struct paging_log_dirty *ld,
                              FILE *out)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v || atomic_load(&v->tlb.flush_pending) != 0)
            continue;
        for (unsigned k = 0; k < TLB_ENTRIES; k++) {
            const struct tlb_entry *e = &v->tlb.e[k];
            if ((e->flags & (TLB_VALID | TLB_W)) != (TLB_VALID | TLB_W))
                continue;
            uint64_t pfn = owned_pfn(d, e->mfn);
            if (pfn == INVALID_M2P_ENTRY || bit_test_locked(ld, pfn))
                continue;
            bad++;
            if (out)
                fprintf(out, "paging audit: d%u v%u: TLB entry va %#llx is "
                        "writable but mfn %#llx (pfn %#llx) is clean\n",
                        d->domid, i, (unsigned long long)(e->vpn << PAGE_SHIFT),
                        (unsigned long long)e->mfn, (unsigned long long)pfn);
        }
    }
    return bad;
}

/*
 * Per domain: (a) no p2m_ram_logdirty entry while log-dirty is off (every
 * such entry exists only while it is on: L4, L6); (b) dirty_count equals
 * the bits set since the last CLEAN (L2: a lost mark, failed allocation,
 * counts nothing), plus the bits the last CLEAN left set (L11); (c)
 * nodes within the pool; (d) PV or shadow HVM with log-dirty on: no
 * writable TLB entry of a clean frame (L7, L10; the
 * shadow entries themselves: shadow_audit, S8).  Racy unless paused.
 */
unsigned paging_audit(struct machine *m, FILE *out)
{
    unsigned bad = 0;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d)
            continue;
        struct paging_log_dirty *ld = d->log_dirty;
        bool on = paging_log_dirty_enabled(d);
        if (!on && d->p2m) {
            /* the leaves that exist: a sparse p2m with a gfn near 2^32
               must not cost a lookup per gfn below it */
            uint64_t n = p2m_count_type(d, p2m_ram_logdirty);
            if (n) {
                bad++;
                if (out)
                    fprintf(out, "paging audit: d%u: %llu ram_logdirty "
                            "entries with log-dirty off\n", id,
                            (unsigned long long)n);
            }
        }
        if (!ld)
            continue;
        hv_lock(&ld->lock);
        uint64_t set = tree_popcount(ld);
        if (set != ld->dirty_count + ld->carried) {         /* L11 */
            bad++;
            if (out)
                fprintf(out, "paging audit: d%u: dirty_count %u and %llu "
                        "left by the last CLEAN, but %llu bits set\n", id,
                        ld->dirty_count, (unsigned long long)ld->carried,
                        (unsigned long long)set);
        }
        if (on && (is_pv_domain(d) || d->paging == PAGING_SHADOW))
            bad += audit_pv_tlbs(d, ld, out);   /* L7, L10 */
        if (ld->nodes > ld->pool) {
            bad++;
            if (out)
                fprintf(out, "paging audit: d%u: %u bitmap nodes, pool %u\n",
                        id, ld->nodes, ld->pool);
        }
        hv_unlock(&ld->lock);
    }
    return bad;
}
