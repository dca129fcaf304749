/*
 * core/mm/p2m.c - an HVM domain's p2m: the entry writer, the p2m lock,
 * lookups, type changes, translated-domain populate/remove.
 *
 * Rules (p2m.h P1-P4 are the interface's; these are the file's):
 *   M1  p2m_set_entry is the only store into a leaf; table frames are
 *       linked (non-leaf stores) only by p2m_entry_slot, under the p2m lock.
 *       Readers may walk without the lock (p2m.lock=none, unlocked queries):
 *       every entry is loaded and stored whole (atomic 64-bit), and a table
 *       frame is zeroed before it is linked.
 *   M2  Encoding (core/npt.h): an all-zero leaf is p2m_invalid; any other
 *       leaf carries its type and access; a leaf with no frame (paged, PoD,
 *       mmio_dm ...) has the all-ones address field.  R/W/X are derived
 *       from type and access here and nowhere else.
 *   M3  The M2P follows the p2m for the domain's own RAM: a RAM entry that
 *       gets a frame of d sets M2P[mfn] = gfn (SHARED_M2P_ENTRY for
 *       ram_shared); a frame that leaves its gfn gets INVALID_M2P_ENTRY if
 *       the M2P still named that gfn.  Foreign, grant and MMIO frames keep
 *       their M2P.
 *   M4  The p2m lock is recursive (owner = the running vCPU, or the thread
 *       when no vCPU runs), level LOCK_P2M.  Under p2m.lock=locked a lookup
 *       that is acted upon keeps it until put_gfn (p2m.h P2); under none it
 *       is taken only around fix-ups (populate a paged gfn, unshare).
 *   M5  A change that removes a frame or a permission flushes the domain's
 *       TLBs (hap caches p2m translations in them) and tells the paging mode
 *       (paging_hooks->p2m_entry_changed: shadows drop what relied on it).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mm/p2m_private.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"

const char *const p2m_type_name[p2m_nr_types] = {
    [p2m_ram_rw] = "ram_rw",            [p2m_invalid] = "invalid",
    [p2m_ram_logdirty] = "ram_logdirty", [p2m_ram_ro] = "ram_ro",
    [p2m_mmio_dm] = "mmio_dm",          [p2m_mmio_direct] = "mmio_direct",
    [p2m_populate_on_demand] = "populate_on_demand",
    [p2m_grant_map_rw] = "grant_map_rw", [p2m_grant_map_ro] = "grant_map_ro",
    [p2m_ram_paging_out] = "ram_paging_out", [p2m_ram_paged] = "ram_paged",
    [p2m_ram_paging_in] = "ram_paging_in", [p2m_ram_shared] = "ram_shared",
    [p2m_ram_broken] = "ram_broken",    [p2m_map_foreign] = "map_foreign",
    [p2m_ioreq_server] = "ioreq_server",
};

#define NPT_NO_FRAME        NPT_ADDR_MASK   /* M2: "no mfn" */
#define NPT_NO_FRAME_MFN    (NPT_ADDR_MASK >> PAGE_SHIFT)

_Static_assert(p2m_nr_types <= (NPT_TYPE_MASK >> NPT_TYPE_SHIFT) + 1,
               "p2m types fit the npte type field");
_Static_assert(p2m_access_n2rwx <= (NPT_ACCESS_MASK >> NPT_ACCESS_SHIFT),
               "p2m accesses fit the npte access field");

/* ---- encoding (M2) ---------------------------------------------------------- */

/* What the hardware may do with a frame of type t (Xen's EPT rules). */
static npte_t type_perms(p2m_type_t t)
{
    switch (t) {
    case p2m_ram_rw:
    case p2m_ioreq_server:
        return NPT_RWX;
    case p2m_ram_logdirty:
    case p2m_ram_ro:
    case p2m_ram_shared:
        return NPT_R | NPT_X;
    case p2m_mmio_direct:
    case p2m_grant_map_rw:
    case p2m_map_foreign:
        return NPT_R | NPT_W;
    case p2m_grant_map_ro:
        return NPT_R;
    default:                    /* invalid, mmio_dm, PoD, paging, broken */
        return 0;
    }
}

static npte_t access_perms(p2m_access_t a)
{
    switch (a) {
    case p2m_access_rx2rw:
        return NPT_R | NPT_X;
    case p2m_access_n2rwx:
        return 0;
    default:                    /* n..rwx: bit 0 r, bit 1 w, bit 2 x */
        return (npte_t)a & NPT_RWX;
    }
}

static npte_t p2m_encode(mfn_t mfn, p2m_type_t t, p2m_access_t a)
{
    if (t == p2m_invalid)
        return 0;
    npte_t addr = mfn == INVALID_MFN ? NPT_NO_FRAME
                                     : ((npte_t)mfn << PAGE_SHIFT) & NPT_ADDR_MASK;
    npte_t perms = mfn == INVALID_MFN ? 0 : type_perms(t) & access_perms(a);
    return addr | ((npte_t)t << NPT_TYPE_SHIFT) |
           ((npte_t)a << NPT_ACCESS_SHIFT) | perms;
}

void p2m_decode(npte_t e, mfn_t *mfn, p2m_type_t *t, p2m_access_t *a)
{
    if (e == 0) {
        *mfn = INVALID_MFN;
        *t = p2m_invalid;
        *a = p2m_access_rwx;
        return;
    }
    mfn_t f = npte_mfn(e);
    *mfn = f == NPT_NO_FRAME_MFN ? INVALID_MFN : f;
    *t = (p2m_type_t)npte_type(e);
    *a = (p2m_access_t)npte_access(e);
}

/* ---- the lock (M4) ---------------------------------------------------------- */

static __thread char lock_thread_token;

static const void *lock_me(void)
{
    return current ? (const void *)current : (const void *)&lock_thread_token;
}

uint16_t p2m_trace_vcpu(void)
{
    return current ? (uint16_t)current->vcpu_id : 0xFFFF;
}

void p2m_lock(struct domain *d)
{
    struct p2m_domain *p = d->p2m;
    if (atomic_load_explicit(&p->lock_owner, memory_order_relaxed) == lock_me()) {
        p->lock_depth++;
        return;
    }
    hv_lock(&p->lock);
    atomic_store_explicit(&p->lock_owner, lock_me(), memory_order_relaxed);
    p->lock_depth = 1;
}

void p2m_unlock(struct domain *d)
{
    struct p2m_domain *p = d->p2m;
    assert(p2m_locked_by_me(d));
    if (--p->lock_depth == 0) {
        atomic_store_explicit(&p->lock_owner, NULL, memory_order_relaxed);
        hv_unlock(&p->lock);
    }
}

bool p2m_locked_by_me(const struct domain *d)
{
    struct p2m_domain *p = d->p2m;
    return p && atomic_load_explicit(&p->lock_owner, memory_order_relaxed) ==
                lock_me();
}

static bool lookups_locked(const struct domain *d)
{
    return d->m->opt.p2m_lock == P2M_LOCK_LOCKED;
}

/* ---- the table ---------------------------------------------------------------- */

static const npte_t *table_of(struct machine *m, mfn_t mfn)
{
    return mfn_to_virt(m, mfn);
}

static npte_t load_entry(const npte_t *slot)
{
    return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

static void store_entry(const npte_t *slot, npte_t e)
{
    __atomic_store_n((npte_t *)ram_w(slot, sizeof(e)), e, __ATOMIC_RELEASE);
}

/* A zeroed table frame from the machine heap, Xen-owned (see p2m_private.h). */
static mfn_t table_alloc(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    mfn_t mfn = machine_heap_alloc(d->m);
    if (mfn == INVALID_MFN)
        return INVALID_MFN;
    page_note(mfn_to_page(d->m, mfn));                      /* core/wrec.h */
    mfn_to_page(d->m, mfn)->owner = DOMID_XEN;
    HV_AUDIT_TOUCH(d->m, mfn);                              /* audit.h A2 */
    atomic_fetch_add(&d->p2m->nr_tables, 1);
    return mfn;
}

static void table_free(struct domain *d, mfn_t mfn)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    page_note(mfn_to_page(d->m, mfn));                      /* core/wrec.h */
    mfn_to_page(d->m, mfn)->owner = DOMID_INVALID;
    HV_AUDIT_TOUCH(d->m, mfn);                              /* audit.h A2 */
    machine_heap_free(d->m, mfn);
    atomic_fetch_sub(&d->p2m->nr_tables, 1);
}

/*
 * The leaf slot of gfn: NULL when a level is missing (and !alloc) or no
 * table frame is left (alloc; *rc = -XEN_ENOMEM).  alloc needs the lock.
 */
static const npte_t *p2m_entry_slot(struct domain *d, pfn_t gfn, bool alloc,
                                    int *rc)
{
    struct machine *m = d->m;
    mfn_t table = d->p2m->root;

    for (unsigned level = NPT_LEVELS; level > 1; level--) {
        const npte_t *slot = &table_of(m, table)[npt_index(gfn, level)];
        npte_t e = load_entry(slot);
        if (!(e & NPT_RWX)) {
            if (!alloc)
                return NULL;
            mfn_t next = table_alloc(d);
            if (next == INVALID_MFN) {
                *rc = -XEN_ENOMEM;
                return NULL;
            }
            e = ((npte_t)next << PAGE_SHIFT) | NPT_RWX;
            store_entry(slot, e);       /* M1: zeroed before linked */
        }
        table = npte_mfn(e);
    }
    return &table_of(m, table)[npt_index(gfn, 1)];
}

npte_t p2m_read_leaf(struct domain *d, pfn_t gfn)
{
    if (!d->p2m || gfn >> NPT_GFN_BITS)
        return 0;
    const npte_t *slot = p2m_entry_slot(d, gfn, false, NULL);
    return slot ? load_entry(slot) : 0;
}

static bool walk_leaves(struct domain *d, mfn_t table, unsigned level,
                        pfn_t base,
                        bool (*fn)(struct domain *, pfn_t, npte_t, void *),
                        void *arg)
{
    const npte_t *t = table_of(d->m, table);
    for (unsigned i = 0; i < 512; i++) {
        npte_t e = load_entry(&t[i]);
        pfn_t gfn = base | ((pfn_t)i << (9 * (level - 1)));
        if (level == 1) {
            if (e && !fn(d, gfn, e, arg))
                return false;
        } else if (e & NPT_RWX) {
            if (!walk_leaves(d, npte_mfn(e), level - 1, gfn, fn, arg))
                return false;
        }
    }
    return true;
}

void p2m_for_each_leaf(struct domain *d,
                       bool (*fn)(struct domain *d, pfn_t gfn, npte_t e,
                                  void *arg),
                       void *arg)
{
    if (d->p2m)
        walk_leaves(d, d->p2m->root, NPT_LEVELS, 0, fn, arg);
}

struct count_type { p2m_type_t t; uint64_t n; };

static bool count_one(struct domain *d, pfn_t gfn, npte_t e, void *arg)
{
    struct count_type *c = arg;
    mfn_t mfn;
    p2m_type_t t;
    p2m_access_t a;
    (void)d; (void)gfn;
    p2m_decode(e, &mfn, &t, &a);
    c->n += t == c->t;
    return true;
}

uint64_t p2m_count_type(struct domain *d, p2m_type_t t)
{
    struct count_type c = { t, 0 };
    p2m_for_each_leaf(d, count_one, &c);
    return c.n;
}

/* ---- lifecycle ------------------------------------------------------------------ */

int p2m_init(struct domain *d)
{
    struct p2m_domain *p = calloc(1, sizeof(*p));
    if (!p)
        return -XEN_ENOMEM;
    p->d = d;
    hv_lock_init(&p->lock, "p2m", LOCK_P2M);
    hv_lock_init(&p->req_lock, "p2m.paging_req", LOCK_LEAF);
    d->p2m = p;
    p->root = table_alloc(d);
    if (p->root == INVALID_MFN) {
        d->p2m = NULL;
        free(p);
        return -XEN_ENOMEM;
    }
    d->npt_root = p->root;
    return 0;
}

static void free_tables(struct domain *d, mfn_t table, unsigned level)
{
    if (level > 1) {
        const npte_t *t = table_of(d->m, table);
        for (unsigned i = 0; i < 512; i++)
            if (t[i] & NPT_RWX)
                free_tables(d, npte_mfn(t[i]), level - 1);
    }
    table_free(d, table);
}

static bool drop_shared_ref(struct domain *d, pfn_t gfn, npte_t e, void *arg)
{
    mfn_t mfn;
    p2m_type_t t;
    p2m_access_t a;
    (void)gfn;
    (void)arg;
    p2m_decode(e, &mfn, &t, &a);
    if (t == p2m_ram_shared && mfn != INVALID_MFN)
        mem_sharing_drop_gfn_ref(d->m, mfn);
    if (t == p2m_map_foreign && mfn != INVALID_MFN)
        put_page(d->m, mfn);            /* p2m_foreign.c F5 */
    return true;
}

void p2m_teardown(struct domain *d)
{
    struct p2m_domain *p = d->p2m;
    if (!p)
        return;
    /* The domain is dead: no lookup or writer can run any more. */
    p2m_for_each_leaf(d, drop_shared_ref, NULL);
    free_tables(d, p->root, NPT_LEVELS);
    assert(atomic_load(&p->nr_tables) == 0);
    p2m_paging_teardown(d);
    d->npt_root = INVALID_MFN;
    d->p2m = NULL;
    free(p);
}

pfn_t p2m_max_gfn(const struct domain *d)
{
    return d->p2m ? atomic_load(&d->p2m->max_gfn) : 0;
}

/* ---- the one writer (P1, M1-M5) ---------------------------------------------------- */

static bool is_own_ram(struct domain *d, mfn_t mfn, p2m_type_t t)
{
    return mfn != INVALID_MFN && mfn_valid(d->m, mfn) && p2m_is_ram(t) &&
           (t == p2m_ram_shared || mfn_to_page(d->m, mfn)->owner == d->domid);
}

int p2m_set_entry(struct domain *d, pfn_t gfn, mfn_t mfn, p2m_type_t t,
                  p2m_access_t a)
{
    struct machine *m = d->m;
    int rc = 0;

    assert(p2m_locked_by_me(d));                /* P1, invariant 19 */
    if (gfn >> NPT_GFN_BITS || (unsigned)t >= p2m_nr_types ||
        (unsigned)a > p2m_access_n2rwx ||
        (mfn != INVALID_MFN && !mfn_valid(m, mfn)))
        return -XEN_EINVAL;

    const npte_t *slot = p2m_entry_slot(d, gfn, true, &rc);
    if (!slot)
        return rc;
    npte_t old = load_entry(slot), new = p2m_encode(mfn, t, a);
    mfn_t omfn;
    p2m_type_t ot;
    p2m_access_t oa;
    p2m_decode(old, &omfn, &ot, &oa);

    store_entry(slot, new);
    HV_AUDIT_MARK(m, HV_MARK_MM);                       /* audit.h A2 */
    if (t == p2m_map_foreign)                           /* audit.h A5 */
        atomic_store(&m->audit_memo.untyped_writer, 1);

    /* M3 */
    if (omfn != mfn && is_own_ram(d, omfn, ot) &&
        get_gpfn_from_mfn(m, omfn) == gfn)
        set_gpfn_from_mfn(m, omfn, INVALID_M2P_ENTRY);
    if (is_own_ram(d, mfn, t)) {
        uint64_t want = t == p2m_ram_shared ? SHARED_M2P_ENTRY : gfn;
        if (get_gpfn_from_mfn(m, mfn) != want)
            set_gpfn_from_mfn(m, mfn, want);
    }
    pfn_t mx = atomic_load(&d->p2m->max_gfn);
    while (new != 0 && gfn > mx &&
           !atomic_compare_exchange_weak(&d->p2m->max_gfn, &mx, gfn))
        ;

    TRC(hvlab_p2m, entry_set, (uint8_t)m->host_id, d->domid, p2m_trace_vcpu(),
        gfn, omfn, mfn, (uint8_t)ot, (uint8_t)t,
        (uint16_t)((unsigned)oa << 8 | (unsigned)a), 1);

    /* M5: lost frame or permission -> no stale translation may survive. */
    npte_t lost = (old & NPT_RWX) & ~(new & NPT_RWX);
    if (lost || ((old & NPT_RWX) && omfn != mfn)) {
        uint64_t mask = atomic_load(&d->dirty_vcpumask);
        if (mask)
            pt_flush_vcpus(d, current && current->d == d ? current : NULL,
                           mask, MMU_FLUSH_ALL_VA, TLBF_ALL, TLBR_P2M);
    }
    if (old != new && d->paging_hooks && d->paging_hooks->p2m_entry_changed)
        d->paging_hooks->p2m_entry_changed(d, gfn, omfn, ot, mfn, t);
    return 0;
}

/* ---- lookups (P2, P3) --------------------------------------------------------------- */

static mfn_t read_gfn(struct domain *d, pfn_t gfn, p2m_type_t *t,
                      p2m_access_t *a)
{
    mfn_t mfn;
    p2m_type_t tt;
    p2m_access_t aa;
    p2m_decode(p2m_read_leaf(d, gfn), &mfn, &tt, &aa);
    if (t)
        *t = tt;
    if (a)
        *a = aa;
    return mfn;
}

/*
 * Read gfn and run the fix-ups q asks for (populate a paged gfn: the pager
 * is asked; unshare a shared one).  Fix-ups take the lock if the caller
 * does not hold it.  Returns what the entry says afterwards, except that a
 * paging gfn with no frame reports its type before the request.
 */
static mfn_t lookup_fixup(struct domain *d, pfn_t gfn, p2m_type_t *t,
                          p2m_access_t *a, unsigned q)
{
    if (q & P2M_UNSHARE)
        q |= P2M_ALLOC;
    mfn_t mfn = read_gfn(d, gfn, t, a);
    bool paging = (q & P2M_ALLOC) && p2m_is_paging(*t);
    bool unshare = (q & P2M_UNSHARE) && p2m_is_shared(*t);
    if (!paging && !unshare)
        return mfn;

    p2m_lock(d);
    mfn = read_gfn(d, gfn, t, a);                   /* again, locked */
    if ((q & P2M_ALLOC) && p2m_is_paging(*t)) {
        p2m_type_t before = *t;
        p2m_mem_paging_populate_locked(d, gfn);
        mfn = read_gfn(d, gfn, t, a);
        if (mfn == INVALID_MFN || p2m_is_paging(*t)) {
            *t = before;
            mfn = INVALID_MFN;
        }
    }
    if ((q & P2M_UNSHARE) && p2m_is_shared(*t)) {
        if (mem_sharing_unshare_locked(d, gfn) == 0)
            mfn = read_gfn(d, gfn, t, a);
        else
            mfn = INVALID_MFN;                      /* *t stays shared */
    }
    p2m_unlock(d);
    return mfn;
}

mfn_t get_gfn_type_access(struct domain *d, pfn_t gfn, p2m_type_t *t,
                          p2m_access_t *a, unsigned q)
{
    p2m_type_t tt;
    p2m_access_t aa;
    if (!t)
        t = &tt;
    if (!a)
        a = &aa;
    if (!d->p2m) {                      /* not translated: identity */
        *t = mfn_valid(d->m, gfn) ? p2m_ram_rw : p2m_invalid;
        *a = p2m_access_rwx;
        return mfn_valid(d->m, gfn) ? gfn : INVALID_MFN;
    }
    bool locked = lookups_locked(d);
    if (locked)
        p2m_lock(d);                    /* held until put_gfn (P2) */
    mfn_t mfn = lookup_fixup(d, gfn, t, a, q);
    TRC(hvlab_p2m, lookup, (uint8_t)d->m->host_id, d->domid, p2m_trace_vcpu(),
        gfn, mfn, (uint8_t)*t, (uint8_t)q, locked, 0);
    return mfn;
}

void put_gfn(struct domain *d, pfn_t gfn)
{
    if (!d->p2m)
        return;
    bool locked = lookups_locked(d);
    TRC(hvlab_p2m, put_gfn, (uint8_t)d->m->host_id, d->domid, p2m_trace_vcpu(),
        gfn, locked);
    if (locked)
        p2m_unlock(d);
}

mfn_t get_gfn_query_unlocked(struct domain *d, pfn_t gfn, p2m_type_t *t)
{
    p2m_type_t tt;
    p2m_access_t a;
    if (!t)
        t = &tt;
    if (!d->p2m) {
        *t = mfn_valid(d->m, gfn) ? p2m_ram_rw : p2m_invalid;
        return mfn_valid(d->m, gfn) ? gfn : INVALID_MFN;
    }
    return read_gfn(d, gfn, t, &a);
}

struct domain *p2m_frame_owner(struct machine *m, mfn_t mfn)
{
    if (!mfn_valid(m, mfn))
        return NULL;
    if (mfn_to_page(m, mfn)->owner == DOMID_COW)
        return p2m_dom_cow(m);
    return page_get_owner(m, mfn);
}

/* Which types a page reference may be taken on (Xen: RAM that is not being
   paged, foreign and grant frames; their owner is asked). */
static bool type_refable(p2m_type_t t)
{
    return (p2m_is_ram(t) && !p2m_is_paging(t)) || p2m_is_grant(t) ||
           t == p2m_map_foreign;
}

mfn_t get_page_from_gfn(struct domain *d, pfn_t gfn, p2m_type_t *t, unsigned q)
{
    struct machine *m = d->m;
    p2m_type_t tt;
    p2m_access_t a;
    if (!t)
        t = &tt;
    if (!d->p2m) {
        *t = p2m_ram_rw;
        return get_page(m, gfn, d) ? gfn : INVALID_MFN;
    }

    bool locked = lookups_locked(d), ref = false;
    if (locked)
        p2m_lock(d);
    mfn_t mfn = lookup_fixup(d, gfn, t, &a, q);
    if (mfn != INVALID_MFN && type_refable(*t)) {
        /* locked: the entry cannot change before the ref is ours (P3).
           none: the old sequence - whoever owns the frame *now* is asked,
           and the result may be stale (story B's window). */
        INJ_POINT(p2m_get_page_after_lookup, current);  /* inject: window */
        struct domain *owner = d;
        if (!locked || p2m_is_shared(*t) || p2m_is_grant(*t) ||
            *t == p2m_map_foreign)
            owner = p2m_frame_owner(m, mfn);
        ref = owner && get_page(m, mfn, owner);
    }
    if (locked)
        p2m_unlock(d);
    TRC(hvlab_p2m, lookup, (uint8_t)m->host_id, d->domid, p2m_trace_vcpu(),
        gfn, mfn, (uint8_t)*t, (uint8_t)q, locked, ref && locked);
    return ref ? mfn : INVALID_MFN;
}

/* ---- type changes ------------------------------------------------------------------ */

int p2m_change_type_one(struct domain *d, pfn_t gfn, p2m_type_t ot,
                        p2m_type_t nt)
{
    if (!d->p2m)
        return -XEN_EINVAL;
    if ((unsigned)nt >= p2m_nr_types)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = read_gfn(d, gfn, &t, &a);
    int rc = t == ot ? p2m_set_entry(d, gfn, mfn, nt, a) : -XEN_EBUSY;
    p2m_unlock(d);
    return rc;
}

struct global_change {
    p2m_type_t ot, nt;
    uint64_t nr;
};

static bool change_one_leaf(struct domain *d, pfn_t gfn, npte_t e, void *arg)
{
    struct global_change *g = arg;
    mfn_t mfn;
    p2m_type_t t;
    p2m_access_t a;
    p2m_decode(e, &mfn, &t, &a);
    if (t == g->ot && p2m_set_entry(d, gfn, mfn, g->nt, a) == 0)
        g->nr++;
    return true;
}

void p2m_change_entry_type_global(struct domain *d, p2m_type_t ot,
                                  p2m_type_t nt)
{
    if (!d->p2m || (unsigned)nt >= p2m_nr_types || ot == nt ||
        ot == p2m_invalid)
        return;
    struct global_change g = { .ot = ot, .nt = nt };
    p2m_lock(d);
    /* Rewriting a leaf never adds a table frame, so the walk stays valid. */
    p2m_for_each_leaf(d, change_one_leaf, &g);
    TRC(hvlab_p2m, type_change_global, (uint8_t)d->m->host_id, d->domid,
        (uint8_t)ot, (uint8_t)nt, g.nr);
    /* M5, once for the whole walk: no vCPU may keep a translation with
       the rights the old type gave. */
    uint64_t mask = atomic_load(&d->dirty_vcpumask);
    if (g.nr && mask)
        pt_flush_vcpus(d, current && current->d == d ? current : NULL,
                       mask, MMU_FLUSH_ALL_VA, TLBF_ALL, TLBR_P2M);
    p2m_unlock(d);
}

/* ---- translated-domain memory ----------------------------------------------------- */

int p2m_populate(struct domain *d, pfn_t gfn, mfn_t *mfn_out)
{
    if (!d->p2m || gfn >> NPT_GFN_BITS)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn;
    int rc = -XEN_EEXIST;
    read_gfn(d, gfn, &t, &a);
    if (t != p2m_invalid)
        goto out;                       /* already backed (or paged) */
    rc = alloc_domheap_page(d, &mfn);
    if (rc)
        goto out;
    rc = p2m_set_entry(d, gfn, mfn, p2m_ram_rw, p2m_access_rwx);
    if (rc) {
        put_page_alloc_ref(d->m, mfn);
        goto out;
    }
    if (gfn > d->max_gpfn)
        d->max_gpfn = gfn;
    if (mfn_out)
        *mfn_out = mfn;
out:
    p2m_unlock(d);
    return rc;
}

int p2m_remove_page(struct domain *d, pfn_t gfn)
{
    struct machine *m = d->m;
    if (!d->p2m || gfn >> NPT_GFN_BITS)
        return -XEN_EINVAL;
    p2m_lock(d);
    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = read_gfn(d, gfn, &t, &a);
    int rc = 0;

    if (t == p2m_map_foreign) {
        /* The entry's reference on the foreign frame goes with it (F5). */
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, p2m_access_rwx);
        if (rc == 0 && mfn != INVALID_MFN)
            put_page(m, mfn);
    } else if (t == p2m_ram_shared) {
        /* The gfn's sharing reference goes with the entry. */
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, p2m_access_rwx);
        if (rc == 0 && mfn != INVALID_MFN)
            mem_sharing_drop_gfn_ref(m, mfn);
    } else if (p2m_is_paging(t) && (mfn == INVALID_MFN ||
                                    mfn_to_page(m, mfn)->owner != d->domid)) {
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, p2m_access_rwx);
    } else if (!p2m_is_ram(t) || mfn == INVALID_MFN) {
        rc = -XEN_EINVAL;
    } else if (!get_page(m, mfn, d)) {
        rc = -XEN_EINVAL;
    } else {
        rc = p2m_set_entry(d, gfn, INVALID_MFN, p2m_invalid, p2m_access_rwx);
        if (rc == 0)
            put_page_alloc_ref(m, mfn);
        put_page(m, mfn);
    }
    p2m_unlock(d);
    return rc;
}

/* ---- foreign mappings by gfn ------------------------------------------------------ */

int p2m_translate_foreign_l1e(struct domain *pg_owner, uint64_t *l1e,
                              mfn_t *ref)
{
    pfn_t gfn = pte_mfn(*l1e);
    bool rw = *l1e & _PAGE_RW;
    unsigned q = P2M_ALLOC | (rw ? P2M_UNSHARE : 0);
    p2m_type_t t;
    mfn_t mfn;

    *ref = INVALID_MFN;
    if (!pg_owner->p2m)
        return -XEN_EINVAL;
    if (lookups_locked(pg_owner)) {
        mfn = get_page_from_gfn(pg_owner, gfn, &t, q);
        if (mfn != INVALID_MFN)
            *ref = mfn;
    } else {
        /* The old sequence: an unlocked lookup acted upon later. */
        mfn = get_gfn_type_access(pg_owner, gfn, &t, NULL, q);
    }
    int rc = 0;
    if (p2m_is_paging(t))
        rc = -XEN_ENOENT;               /* the pager was asked: retry */
    else if (rw && p2m_is_shared(t))
        rc = -XEN_ENOMEM;               /* could not break sharing */
    else if (mfn == INVALID_MFN)
        rc = -XEN_EINVAL;
    if (rc) {
        if (*ref != INVALID_MFN)
            put_page(pg_owner->m, *ref);
        *ref = INVALID_MFN;
        return rc;
    }
    *l1e = pte_make(mfn, pte_flags(*l1e));
    INJ_POINT(p2m_foreign_before_install, current);     /* inject: window */
    return 0;
}

/*
 * Story B under p2m.lock=none (XEN-NOTES 12.B): before 2012 a translated
 * foreign map did not know dom_cow, so a gfn that became shared between
 * the unlocked lookup and get_page_from_l1e still got its mapping, with a
 * general reference on the shared frame (and no type reference: a foreign
 * map into an HVM guest takes none).  locked (today's Xen) refuses it.
 */
bool p2m_foreign_ref_shared(struct domain *l1e_owner, struct domain *pg_owner,
                            mfn_t mfn)
{
    struct machine *m = pg_owner->m;
    if (lookups_locked(pg_owner) || !pg_owner->p2m || pg_owner == l1e_owner ||
        !l1e_owner->is_privileged || !mfn_valid(m, mfn) ||
        mfn_to_page(m, mfn)->owner != DOMID_COW)
        return false;
    struct domain *cow = p2m_dom_cow(m);
    return cow && get_page(m, mfn, cow);
}
