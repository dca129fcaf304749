/*
 * core/mm/pv_pt.c - PV page tables: what entries hold, validation, updates.
 *
 * Rules:
 *   P1  pt_write_entry / pt_cmpxchg_entry are the only writers of an entry
 *       of a hypervisor-managed table; each write is traced
 *       (hvlab_pt:pte_write: table, level, slot, the value really replaced,
 *       the new value, the path).
 *   P2  A present entry of a validated table holds (page.h R7): L1 - one
 *       general ref on its frame, plus a writable type ref if RW (except a
 *       foreign mapping into an HVM domain); L2..L4 - one general ref and one
 *       type ref of the next level down on its table, or, for a linear
 *       entry (read-only, same level, target already validated), one
 *       general ref and one same-level type ref, or nothing if it maps its
 *       own table.
 *   P3  Allowed flags (XEN-NOTES 2.2): P RW US A D AVAIL AVAIL_HIGH NX on
 *       every level, G on L1 only; never _PAGE_GNTTAB in an L1 entry; no
 *       PSE (no PV superpages), PWT, PCD.  Anything else is -XEN_EINVAL.
 *       hvlab models no I/O memory: a frame outside RAM (MMIO) is refused
 *       with Xen's -XEN_EPERM for an unprivileged I/O mapping, and cache
 *       attribute bits stay forbidden for every domain.
 *   P4  Frames of another domain in an L1: -XEN_EBUSY, unless a privileged
 *       l1e_owner maps them on behalf of pg_owner (foreign mapping with
 *       pg_owner = the frame's owner).  Frames that are free or Xen's:
 *       -XEN_EBUSY.  In L2..L4: -XEN_EINVAL (the next-level get fails).
 *   P5  promote_l1 is not preemptible and undoes its entries on failure.
 *       promote of L2..L4 is preemptible between entries of the table being
 *       validated (progress in nr_validated_ptes; entries [0, nr) hold
 *       their refs); the tables below it are validated to completion, so
 *       partial_flags stays 0.  On failure every ref the table's entries
 *       hold (also those of an earlier, preempted run) is dropped at once.
 *       demote mirrors it top down: entries [0, nr) still hold refs.
 *   P6  L4 slots 256..271 are Xen's: promotion skips whatever the guest put
 *       there and writes Xen's entries (path xen), as Xen's
 *       init_xen_l4_slots does; an update of one is -XEN_EINVAL.
 *   P7  mod_pt_entry: acquire the new target, write, release the old one
 *       (never a transient zero); entries that differ only in whitelisted
 *       bits are rewritten without touching references (XSA-182: RW is not
 *       whitelisted on L2..L4 while linear page tables are allowed).
 *   P9  An L1 entry with _PAGE_GNTTAB was written by grant map
 *       (core/grant): its references belong to the grant mapping, so
 *       put_page_from_l1e drops nothing for it, and no guest update
 *       (mod_pt_entry, writable pagetables) may overwrite or clear it
 *       (-XEN_EINVAL, traced hvlab_grant:pte_refused).  Demoting an L1
 *       that still holds one (unpin, unhook, last type ref) is what Xen
 *       crashes a live domain for ("Attempt to implicitly unmap a granted
 *       PTE"): domain_crash (core/domctl.h) records it; the PTE and its
 *       refs stay with the grant mapping until unmap or teardown.
 *   P8  linear_pt_count of a table counts its linear entries (> 0), or the
 *       linear entries that use it (< 0), never both.
 *   P10 The bug zoo (docs/bugzoo.md), each off by default and confined to
 *       the lines marked with its XSA: mm.xsa182 puts RW back into the
 *       L2..L4 fast path's whitelist; mm.xsa148 drops PSE from the L2 flag
 *       check and makes the L2 fast path compare only frame and P;
 *       mm.xsa240 lets linear_pt_count mix entries and uses (its net value
 *       is still kept, so the audit's invariant 10 names the table);
 *       mm.xsa309 (core/mm/frame.c get_type) resets linear_pt_count when a
 *       partial validation resumes, so the counters here may see a count
 *       that no longer covers the entries (their asserts allow it).
 */
#include <assert.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/grant/grant_table.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mm/private.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "trace/trace.h"

const char *const pt_write_path_name[PTW_NR] = {
    [PTW_MMU_UPDATE] = "mmu_update", [PTW_MMU_UPDATE_RAW] = "mmu_update_raw",
    [PTW_UVA] = "uva", [PTW_PTWR_EMULATE] = "ptwr_emulate",
    [PTW_PTWR_UNHOOK] = "ptwr_unhook", [PTW_PTWR_FLUSH] = "ptwr_flush",
    [PTW_PTWR_REHOOK] = "ptwr_rehook", [PTW_PTWR_PROTECT] = "ptwr_protect",
    [PTW_XEN] = "xen", [PTW_TEARDOWN] = "teardown", [PTW_BUILD] = "build",
    [PTW_GRANT] = "grant",
};

/* ======================================================================
 * Entries (P1, P3)
 * ==================================================================== */

#define BASE_ALLOWED    (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | \
                         _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_AVAIL | \
                         _PAGE_AVAIL_HIGH | _PAGE_NX)
#define FASTPATH_WHITELIST (_PAGE_NX | _PAGE_AVAIL_HIGH | _PAGE_AVAIL | \
                            _PAGE_GLOBAL | _PAGE_DIRTY | _PAGE_ACCESSED | \
                            _PAGE_USER)

uint64_t pt_disallow_mask(unsigned level)
{
    uint64_t allowed = BASE_ALLOWED;
    if (level == 1)
        allowed = (allowed | _PAGE_GLOBAL) & ~_PAGE_GNTTAB;
    return PTE_FLAGS_MASK & ~allowed;
}

static inline const uint64_t *entry_ptr(struct machine *m, mfn_t table,
                                        unsigned slot)
{
    return (const uint64_t *)mfn_to_virt(m, table) + slot;
}

/* The entry for a store, named to the write record (core/machine.h). */
static inline uint64_t *entry_ptr_w(struct machine *m, mfn_t table,
                                    unsigned slot)
{
    return ram_w(entry_ptr(m, table, slot), sizeof(uint64_t));
}

pte_t pt_read_entry(struct machine *m, mfn_t table, unsigned slot)
{
    return __atomic_load_n(entry_ptr(m, table, slot), __ATOMIC_ACQUIRE);
}

static __attribute__((noinline, cold)) void
trace_pte_write(struct machine *m, domid_t dom, mfn_t table, unsigned level,
                unsigned slot, pte_t old, pte_t new_pte,
                enum pt_write_path path)
{
    TRC(hvlab_pt, pte_write, (uint8_t)m->host_id, dom, table, (uint8_t)level,
        (uint16_t)slot, old, new_pte, (uint8_t)path);
    (void)m; (void)dom; (void)table; (void)level; (void)slot; (void)old;
    (void)new_pte; (void)path;
}

/* pt_write_entry with a listener: the value replaced may differ from the
   caller's `old` in A/D (set by the MMU meanwhile), so the write is an
   exchange and the event carries what was really there. */
static __attribute__((noinline, cold)) void
pt_write_entry_traced(struct machine *m, domid_t dom, mfn_t table,
                      unsigned level, unsigned slot, pte_t new_pte,
                      enum pt_write_path path)
{
    pte_t was = __atomic_exchange_n(entry_ptr_w(m, table, slot), new_pte,
                                    __ATOMIC_ACQ_REL);
    paging_mark_frame(m, table, LD_SRC_COPY);           /* log-dirty */
    trace_pte_write(m, dom, table, level, slot, was, new_pte, path);
}

void pt_write_entry(struct machine *m, domid_t dom, mfn_t table,
                    unsigned level, unsigned slot, pte_t old, pte_t new_pte,
                    enum pt_write_path path)
{
    HV_AUDIT_TOUCH(m, table);                               /* audit.h A2 */
    (void)old;
    if (TRC_ENABLED(hvlab_pt, pte_write)) {
        pt_write_entry_traced(m, dom, table, level, slot, new_pte, path);
        return;
    }
    /* No listener: one atomic store, as Xen's write_atomic.  The
       references it publishes were taken before it (P7) and the old ones
       are released after it by read-modify-writes with release order. */
    (void)dom;
    (void)level;
    (void)path;
    __atomic_store_n(entry_ptr_w(m, table, slot), new_pte, __ATOMIC_RELEASE);
    paging_mark_frame(m, table, LD_SRC_COPY);           /* log-dirty */
}

pte_t pt_cmpxchg_entry(struct machine *m, domid_t dom, mfn_t table,
                       unsigned level, unsigned slot, pte_t old, pte_t new_pte,
                       enum pt_write_path path)
{
    HV_AUDIT_TOUCH(m, table);                               /* audit.h A2 */
    pte_t seen = old;
    if (__atomic_compare_exchange_n(entry_ptr_w(m, table, slot), &seen, new_pte,
                                    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        paging_mark_frame(m, table, LD_SRC_COPY);       /* log-dirty */
        if (TRC_ENABLED(hvlab_pt, pte_write))
            trace_pte_write(m, dom, table, level, slot, old, new_pte, path);
        return old;
    }
    return seen;
}

bool is_guest_l4_slot(unsigned slot)
{
    return slot < XEN_L4_SLOT_FIRST || slot > XEN_L4_SLOT_LAST;
}

/* ======================================================================
 * L1 entries (P2, P3, P4)
 * ==================================================================== */

/* Take a general ref whatever the owner; the owner's domain (NULL if the
   frame is free, Xen's, or the ref cannot be taken). */
static struct domain *get_ref_any_owner(struct machine *m, mfn_t mfn,
                                        bool *got)
{
    struct domain *owner = page_get_owner(m, mfn);
    *got = false;
    if (owner && get_page(m, mfn, owner)) {
        *got = true;
        return owner;
    }
    return NULL;
}

int get_page_from_l1e(struct machine *m, pte_t l1e, struct domain *l1e_owner,
                      struct domain *pg_owner)
{
    if (!pte_present(l1e))
        return 0;
    if (l1e & pt_disallow_mask(1))
        return -XEN_EINVAL;

    mfn_t mfn = pte_mfn(l1e);
    if (!mfn_valid(m, mfn))
        return -XEN_EPERM;              /* MMIO: no I/O permissions (P3) */
    if (!pg_owner)
        pg_owner = l1e_owner;

    bool got;
    struct domain *real = get_ref_any_owner(m, mfn, &got);
    if (!real && p2m_foreign_ref_shared(l1e_owner, pg_owner, mfn))
        return 0;       /* p2m.lock=none: the pre-2012 RW map of a shared
                           frame (story B); general ref only */
    if (real != pg_owner) {
        /* P4: only a privileged mapper may map another domain's frames. */
        if (!real || pg_owner == l1e_owner || !pg_owner->is_privileged)
            goto could_not_pin;
        pg_owner = real;
    }
    if (pg_owner != l1e_owner && !l1e_owner->is_privileged)
        goto could_not_pin;

    bool write = (l1e & _PAGE_RW) &&
                 (l1e_owner == pg_owner || pg_owner->kind != DOMAIN_HVM);
    if (write && get_page_type(m, mfn, PGT_writable_page) != 0)
        goto could_not_pin;
    return 0;

could_not_pin:
    if (got)
        put_page(m, mfn);
    return -XEN_EBUSY;
}

void put_page_from_l1e(struct machine *m, pte_t l1e, struct domain *l1e_owner)
{
    if (!pte_present(l1e))
        return;
    if (l1e & _PAGE_GNTTAB)
        return;     /* P9: the grant mapping holds its refs (core/grant) */
    mfn_t mfn = pte_mfn(l1e);
    if (!mfn_valid(m, mfn))
        return;
    struct domain *pg_owner = page_get_owner(m, mfn);
    if (mfn_to_page(m, mfn)->owner == DOMID_COW) {
        put_page(m, mfn);       /* p2m_foreign_ref_shared's reference */
        return;
    }
    if ((l1e & _PAGE_RW) &&
        (l1e_owner == pg_owner || !pg_owner || pg_owner->kind != DOMAIN_HVM))
        put_page_and_type(m, mfn);
    else
        put_page(m, mfn);
}

/* ======================================================================
 * Linear page tables (P2, P8)
 * ==================================================================== */

static bool inc_linear_entries(struct machine *m, struct page_info *pg)
{
    HV_AUDIT_TOUCH(m, (mfn_t)(pg - m->frame_table));        /* audit.h A2 */
    page_note(pg);                                          /* core/wrec.h */
    int16_t oc = __atomic_load_n(&pg->linear_pt_count, __ATOMIC_RELAXED), nc;
    do {
        nc = (int16_t)(oc + 1);
        /* XSA-240 (mm.xsa240): before the fix nothing stopped a table used
           linearly from holding linear entries too. */
        if (nc <= 0 && !(m->opt.mm_xsa240 && nc != INT16_MIN))
            return false;               /* used linearly, or overflow */
    } while (!__atomic_compare_exchange_n(&pg->linear_pt_count, &oc, nc, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return true;
}

static bool inc_linear_uses(struct machine *m, struct page_info *pg)
{
    HV_AUDIT_TOUCH(m, (mfn_t)(pg - m->frame_table));        /* audit.h A2 */
    page_note(pg);                                          /* core/wrec.h */
    int16_t oc = __atomic_load_n(&pg->linear_pt_count, __ATOMIC_RELAXED), nc;
    do {
        nc = (int16_t)(oc - 1);
        /* XSA-240 (mm.xsa240): the fix refuses a table with linear entries
           as the target of another linear entry; before it, it was not. */
        if (nc >= 0 && !(m->opt.mm_xsa240 && nc != INT16_MAX))
            return false;               /* has linear entries, or overflow */
    } while (!__atomic_compare_exchange_n(&pg->linear_pt_count, &oc, nc, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return true;
}

static int16_t dec_linear_entries(struct machine *m, struct page_info *pg)
{
    HV_AUDIT_TOUCH(m, (mfn_t)(pg - m->frame_table));        /* audit.h A2 */
    page_note(pg);                                          /* core/wrec.h */
    int16_t oc = __atomic_fetch_sub(&pg->linear_pt_count, 1, __ATOMIC_ACQ_REL);
    assert(oc > 0 || m->opt.mm_xsa240 ||   /* XSA-240: mixed counts */
           m->opt.mm_xsa309);                 /* XSA-309: count was reset */
    return (int16_t)(oc - 1);
}

static int16_t dec_linear_uses(struct machine *m, struct page_info *pg)
{
    HV_AUDIT_TOUCH(m, (mfn_t)(pg - m->frame_table));        /* audit.h A2 */
    page_note(pg);                                          /* core/wrec.h */
    int16_t oc = __atomic_fetch_add(&pg->linear_pt_count, 1, __ATOMIC_ACQ_REL);
    assert(oc < 0 || m->opt.mm_xsa240 ||   /* XSA-240: mixed counts */
           m->opt.mm_xsa309);                 /* XSA-309: count was reset */
    return (int16_t)(oc + 1);
}

/* Accept pde (of table `table`, `level`) as a linear entry?  Takes its
   references when it does. */
static bool linear_get(struct machine *m, unsigned level, pte_t pde,
                       mfn_t table, struct domain *d)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    if (!m->opt.pv_linear_pt || (pde & _PAGE_RW))
        return false;
    mfn_t mfn = pte_mfn(pde);
    if (mfn == table)
        return true;                    /* maps itself: no refs */
    if (page_get_owner(m, table) != d || !get_page(m, mfn, d))
        return false;
    struct page_info *tp = mfn_to_page(m, table), *pg = mfn_to_page(m, mfn);
    if (!inc_linear_entries(m, tp))
        goto put;
    if (!inc_linear_uses(m, pg))
        goto entries;
    if (!frame_get_type_if_validated(m, mfn, pgt_of_level(level))) {
        dec_linear_uses(m, pg);
        goto entries;
    }
    TRC(hvlab_mm, linear_pt_add, (uint8_t)m->host_id, table, mfn,
        (uint8_t)level, tp->linear_pt_count, pg->linear_pt_count);
    return true;
entries:
    dec_linear_entries(m, tp);
put:
    put_page(m, mfn);
    return false;
}

/* ======================================================================
 * L2..L4 entries
 * ==================================================================== */

static int get_page_from_pde(struct machine *m, unsigned level, pte_t e,
                             mfn_t table, struct domain *d)
{
    if (e & pt_disallow_mask(level))
        return -XEN_EINVAL;
    int rc = get_page_and_type(m, pte_mfn(e), d, pgt_of_level(level - 1));
    if (rc == -XEN_EINVAL && linear_get(m, level, e, table, d))
        rc = 0;
    return rc;
}

/*
 * Drop what a present L2..L4 entry holds.  With v, the type put may be
 * parked in v->old_guest_table (finished later, preemptibly) as Xen's
 * PTF_defer does; without, it completes now.
 */
static void put_page_from_pde(struct machine *m, unsigned level, pte_t e,
                              mfn_t table, struct vcpu *v)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    if (!pte_present(e))
        return;
    mfn_t mfn = pte_mfn(e);
    if (mfn == table || !mfn_valid(m, mfn))
        return;                         /* self-map: holds nothing */
    struct page_info *pg = mfn_to_page(m, mfn);
    if (pgt_level(atomic_load(&pg->type_info)) == level) {
        struct page_info *tp = mfn_to_page(m, table);
        int16_t tc = dec_linear_entries(m, tp);
        int16_t uc = dec_linear_uses(m, pg);
        TRC(hvlab_mm, linear_pt_del, (uint8_t)m->host_id, table, mfn,
            (uint8_t)level, tc, uc);
    }
    if (v && v->old_guest_table == INVALID_MFN) {
        v->old_guest_table = mfn;
        v->old_guest_table_partial = false;
        (void)put_old_guest_table(v);   /* may stay parked (-HV_ERESTART) */
    } else {
        put_page_and_type(m, mfn);
    }
}

void pt_put_entry_refs(struct machine *m, mfn_t table, unsigned level,
                       pte_t e, struct domain *d)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    if (level == 1)
        put_page_from_l1e(m, e, d);
    else
        put_page_from_pde(m, level, e, table, NULL);
}

/* ======================================================================
 * Promotion and demotion (P5, P6)
 * ==================================================================== */

static int promote_l1(struct machine *m, mfn_t mfn, struct domain *d)
{
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = pt_read_entry(m, mfn, i);
        if (!pte_present(e))
            continue;
        int rc = get_page_from_l1e(m, e, d, d);
        if (rc) {
            while (i-- > 0)
                put_page_from_l1e(m, pt_read_entry(m, mfn, i), d);
            return rc;
        }
    }
    return 0;
}

static void undo_pd(struct machine *m, mfn_t mfn, unsigned level,
                    unsigned upto)
{
    for (unsigned i = 0; i < upto; i++)
        if (level != 4 || is_guest_l4_slot(i))
            put_page_from_pde(m, level, pt_read_entry(m, mfn, i), mfn, NULL);
}

static void write_xen_l4_slots(struct machine *m, struct domain *d, mfn_t mfn)
{
    for (unsigned s = XEN_L4_SLOT_FIRST; s <= XEN_L4_SLOT_LAST; s++) {
        pte_t old = pt_read_entry(m, mfn, s);
        pte_t want = m->xen_l4_slots[s - XEN_L4_SLOT_FIRST];
        if (old != want)
            pt_write_entry(m, d->domid, mfn, 4, s, old, want, PTW_XEN);
    }
}

static int promote_pd(struct machine *m, mfn_t mfn, unsigned level,
                      struct domain *d, bool preemptible)
{
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    struct page_info *pg = mfn_to_page(m, mfn);
    page_note(pg);                                          /* core/wrec.h */
    unsigned start = pg->nr_validated_ptes;

    for (unsigned i = start; i < PT_ENTRIES; i++) {
        if (level == 4 && !is_guest_l4_slot(i))
            continue;
        if (preemptible && i > start && mm_preempt_check()) {
            pg->nr_validated_ptes = (uint16_t)i;
            pg->partial_flags = 0;
            return -HV_ERESTART;
        }
        pte_t e = pt_read_entry(m, mfn, i);
        if (!pte_present(e))
            continue;
        int rc = get_page_from_pde(m, level, e, mfn, d);
        if (rc) {
            undo_pd(m, mfn, level, i);
            pg->nr_validated_ptes = 0;
            return rc;
        }
    }
    pg->nr_validated_ptes = PT_ENTRIES;
    if (level == 4) {
        write_xen_l4_slots(m, d, mfn);
        atomic_fetch_add(&d->nr_l4_pages, 1);
    }
    return 0;
}

static int demote_pd(struct machine *m, mfn_t mfn, unsigned level,
                     struct domain *d, bool preemptible)
{
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    struct page_info *pg = mfn_to_page(m, mfn);
    page_note(pg);                                          /* core/wrec.h */
    unsigned i = pg->nr_validated_ptes;
    unsigned done = 0;

    while (i > 0) {
        if (preemptible && done && mm_preempt_check()) {
            pg->nr_validated_ptes = (uint16_t)i;
            pg->partial_flags = 0;
            return -HV_ERESTART;
        }
        i--;
        if (level == 4 && !is_guest_l4_slot(i))
            continue;
        put_page_from_pde(m, level, pt_read_entry(m, mfn, i), mfn, NULL);
        done++;
    }
    pg->nr_validated_ptes = 0;
    if (level == 4)
        atomic_fetch_sub(&d->nr_l4_pages, 1);
    return 0;
}

static int op_promote(struct machine *m, mfn_t mfn, unsigned level,
                      bool preemptible)
{
    struct domain *d = page_get_owner(m, mfn);
    if (!d || level < 1 || level > 4)
        return -XEN_EINVAL;
    if (level == 1)
        return promote_l1(m, mfn, d);
    return promote_pd(m, mfn, level, d, preemptible);
}

static int op_demote(struct machine *m, mfn_t mfn, unsigned level,
                     bool preemptible)
{
    struct domain *d = page_get_owner(m, mfn);
    assert(d && level >= 1 && level <= 4);
    if (level == 1) {
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            pte_t e = pt_read_entry(m, mfn, i);
            /* P9: Xen's put_page_from_l1e crashes a live domain for this;
               the entry and its refs stay with the grant mapping. */
            if (pte_present(e) && (e & _PAGE_GNTTAB) &&
                !atomic_load(&d->is_dying))
                domain_crash(d, "Attempt to implicitly unmap a granted PTE");
            put_page_from_l1e(m, e, d);
        }
        return 0;
    }
    return demote_pd(m, mfn, level, d, preemptible);
}

static void op_flush(struct domain *d, uint64_t vcpu_mask)
{
    pt_flush_vcpus(d, current, vcpu_mask, MMU_FLUSH_ALL_VA, TLBF_MULTI,
                   TLBR_TYPE_CHANGE);
}

static const struct frame_pt_ops pv_pt_ops = {
    .promote = op_promote, .demote = op_demote, .flush = op_flush,
};

void pt_register_ops(void)
{
    frame_set_pt_ops(&pv_pt_ops);
}

/* ======================================================================
 * One entry update (P7)
 * ==================================================================== */

/* PRESERVE_AD: write `nv` keeping the A/D bits live in the entry; false
   when the entry changed under us in anything but A/D. */
static __attribute__((noinline)) bool
update_entry_ad(struct machine *m, struct domain *d, mfn_t table,
                unsigned level, unsigned slot, pte_t ov, pte_t nv,
                enum pt_write_path path)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    const pte_t ad = _PAGE_ACCESSED | _PAGE_DIRTY;
    for (;;) {
        pte_t seen = pt_read_entry(m, table, slot);
        if ((seen & ~ad) != (ov & ~ad))
            return false;
        pte_t want = nv | (seen & ad);
        if (pt_cmpxchg_entry(m, d->domid, table, level, slot, seen, want,
                             path) == seen)
            return true;
    }
}

/* Write `nv` over `ov` (plain, or preserving live A/D).  false when the
   entry changed under us in anything but A/D. */
static inline bool update_entry(struct machine *m, struct domain *d,
                                mfn_t table, unsigned level, unsigned slot,
                                pte_t ov, pte_t nv, bool preserve_ad,
                                enum pt_write_path path)
{
    if (!preserve_ad) {
        pt_write_entry(m, d->domid, table, level, slot, ov, nv, path);
        return true;
    }
    return update_entry_ad(m, d, table, level, slot, ov, nv, path);
}

int mod_pt_entry(struct vcpu *v, mfn_t table, unsigned level, unsigned slot,
                 pte_t nv, bool preserve_ad, struct domain *pg_owner,
                 enum pt_write_path path)
{
    struct machine *m = v->d->m;
    if (level < 1 || level > 4 || slot >= PT_ENTRIES || !mfn_valid(m, table))
        return -XEN_EINVAL;
    struct domain *d = page_get_owner(m, table);
    if (!d)
        return -XEN_EINVAL;
    if (level == 4 && !is_guest_l4_slot(slot))
        return -XEN_EINVAL;                             /* P6 */

    /* Xen's error for a lost race: -EBUSY for L1/L2, -EFAULT above. */
    const int busy = level <= 2 ? -XEN_EBUSY : -XEN_EFAULT;
    pte_t ov = pt_read_entry(m, table, slot);
    int rc = 0;

    if (level == 1 && pte_present(ov) && (ov & _PAGE_GNTTAB)) {
        /* P9: only grant unmap removes a grant PTE (Xen crashes the
           domain; hvlab refuses and changes nothing). */
        gnttab_pte_refused(d, table, slot, ov, nv, path);
        return -XEN_EINVAL;
    }

    if (pte_present(nv)) {
        uint64_t disallow = pt_disallow_mask(level);
        /* XSA-148 (mm.xsa148): L2_DISALLOW_MASK let PSE through whether or
           not superpages were allowed; the fix keeps it forbidden. */
        if (level == 2 && m->opt.mm_xsa148)
            disallow &= ~(uint64_t)_PAGE_PSE;
        if (nv & disallow)
            return -XEN_EINVAL;
        uint64_t wl = FASTPATH_WHITELIST;
        /* XSA-182: RW may change on the fast path only when no L2..L4
           entry can be linear; mm.xsa182 whitelists it regardless. */
        if (level > 1 && (!m->opt.pv_linear_pt || m->opt.mm_xsa182))
            wl |= _PAGE_RW;
        bool fast = pte_present(ov) && ((ov ^ nv) & ~wl) == 0;
        /* XSA-148 (mm.xsa148): the L2 fast path compared only the frame
           and P, so PSE and RW changed without get_page_from_l2e; the fix
           refuses PSE above (and compares PSE and RW here when PV
           superpages are enabled, which hvlab does not model). */
        if (level == 2 && m->opt.mm_xsa148)
            fast = pte_present(ov) && pte_mfn(ov) == pte_mfn(nv);
        if (fast)
            return update_entry(m, d, table, level, slot, ov, nv,
                                preserve_ad, path) ? 0 : busy;
        rc = level == 1 ? get_page_from_l1e(m, nv, d, pg_owner)
                        : get_page_from_pde(m, level, nv, table, d);
        if (rc)
            return rc;
        if (!update_entry(m, d, table, level, slot, ov, nv, preserve_ad,
                          path)) {
            pt_put_entry_refs(m, table, level, nv, d);
            return busy;
        }
    } else if (!update_entry(m, d, table, level, slot, ov, nv, preserve_ad,
                             path)) {
        return busy;
    }

    if (level == 1)
        put_page_from_l1e(m, ov, d);
    else
        put_page_from_pde(m, level, ov, table, v);
    return 0;
}

/* ======================================================================
 * Base pointers and TLB flushes
 * ==================================================================== */

mfn_t pt_set_baseptr(struct vcpu *v, bool user, mfn_t new_root)
{
    HV_AUDIT_MARK(v->d->m, HV_MARK_MM);                     /* audit.h A2 */
    HV_AUDIT_MARK(v->d->m, HV_MARK_ISO);                    /* audit.h A11 */
    struct machine *m = v->d->m;
    mfn_t *slot = user ? &v->guest_table_user : &v->guest_table;
    mfn_t old = *slot;
    if (new_root == 0 && user)
        new_root = INVALID_MFN;
    *slot = new_root;
    if (old != new_root)
        TRC(hvlab_pt, baseptr_set, (uint8_t)m->host_id, v->d->domid,
            (uint16_t)v->vcpu_id, user, old, new_root);

    /* The root the MMU should walk now (user mode uses the user root when
       there is one, as on Xen). */
    mfn_t root = (!v->in_kernel && v->guest_table_user != INVALID_MFN)
                 ? v->guest_table_user : v->guest_table;
    if (root == INVALID_MFN)
        v->cr3 = INVALID_MFN;
    else if (root != v->cr3 || old != new_root) {
        mmu_load_cr3(v, root);
        atomic_fetch_or(&v->d->dirty_vcpumask, 1ULL << (v->vcpu_id & 63));
    }
    return old;
}

int mm_set_vcpu_roots(struct vcpu *v, mfn_t kernel_root, mfn_t user_root)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    int rc;

    if (user_root == 0)
        user_root = INVALID_MFN;
    if (kernel_root == INVALID_MFN || kernel_root == 0)
        return -XEN_EINVAL;
    rc = get_page_and_type(m, kernel_root, d, PGT_l4_page_table);
    if (rc)
        return rc;
    if (user_root != INVALID_MFN) {
        rc = get_page_and_type(m, user_root, d, PGT_l4_page_table);
        if (rc) {
            put_page_and_type(m, kernel_root);
            return rc;
        }
    }
    /* The old roots' refs are ours to drop (also when a root is set to
       the frame it already was: the refs just taken replace them). */
    mfn_t old_k = pt_set_baseptr(v, false, kernel_root);
    mfn_t old_u = pt_set_baseptr(v, true, user_root);
    if (old_k != INVALID_MFN)
        put_page_and_type(m, old_k);
    if (old_u != INVALID_MFN)
        put_page_and_type(m, old_u);
    return 0;
}

void pt_flush_vcpus(struct domain *d, struct vcpu *requester,
                    uint64_t vcpu_mask, uint64_t va,
                    enum tlb_flush_scope scope, enum tlb_flush_reason reason)
{
    /* The local vCPU flushes at once; the others get one batched request
       (one fence for all of them, as a flush IPI to a CPU mask). */
    struct vcpu *remote[64];
    unsigned n = 0;
    for (unsigned i = 0; i < d->nr_vcpus && i < 64; i++) {
        struct vcpu *t = d->vcpu[i];
        if (!(vcpu_mask >> i & 1) || !t)
            continue;
        if (t == requester && t == current) {
            if (va == MMU_FLUSH_ALL_VA)
                mmu_flush_local(t);
            else
                mmu_invlpg_local(t, va);
        } else {
            remote[n++] = t;
        }
    }
    if (n)
        mmu_request_flush_many(remote, n, va);
    TRC(hvlab_pt, tlb_flush, (uint8_t)d->m->host_id, d->domid,
        requester ? (uint16_t)requester->vcpu_id : 0xFFFF, vcpu_mask, va,
        (uint8_t)scope, (uint8_t)reason);
}
