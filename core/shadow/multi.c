/*
 * core/shadow/multi.c - 4-level guests: propagation, sh_page_fault (XEN-NOTES
 * 5.4), emulated guest page-table writes, CR3 loads and INVLPG.
 *
 * Model choices: the guest walk of the slow path runs under the paging lock
 * (Xen walks first, lock-free, then re-checks).
 *
 * Guest superpages (S6 in private.h): PSE in a guest L2e (2 MiB) or L3e
 * (1 GiB) ends the guest walk, as it ends the MMU's hap walk (core/mmu.c
 * rules 1-2: the model accepts both sizes, so shadow mode does too; Xen
 * itself treats an L3 PSE as reserved under shadow paging because it never
 * offers 1 GiB pages to shadowed guests).  The shadow splinters it: the
 * shadow L2e (L3e) points at an FL1 (FL2) shadow whose 4K entries map the
 * pieces.  Reserved in a superpage entry: PSE in an L4e and the frame bits
 * below the superpage's alignment; they give the guest a reserved-bit
 * fault.
 */
#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/shadow/private.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"

void (*sh_test_fastpath_window)(struct vcpu *v, uint64_t va);

/* Guest flags a shadow entry copies. */
#define SH_GFLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_PWT | \
                   _PAGE_PCD | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL | \
                   _PAGE_NX)

static mfn_t gfn_to_ram(struct domain *d, pfn_t gfn, p2m_type_t *t)
{
    mfn_t mfn = get_gfn_query_unlocked(d, gfn, t);
    if (mfn == INVALID_MFN || !mfn_valid(d->m, mfn))
        return INVALID_MFN;
    return mfn;
}

static bool gnp_allowed(struct domain *d)
{
    const struct hv_options *o = &d->m->opt;
    if (!o->shadow_fastpath)
        return false;
    /* Fixed (34d140eaa7): no guest-not-present magic while OOS is on. */
    return !d->shadow->oos_active || o->shadow_fastpath_oos == SH_FASTPATH_OOS_RACY;
}

/* Guest physical-address width: the MMU's (core/mmu.c rule 1), so a
   guest entry means the same under shadow and hap paging. */
#define SH_GUEST_PADDR_BITS 46
#define SH_GUEST_RSVD_ADDR  (PTE_ADDR_MASK & ~((1ULL << SH_GUEST_PADDR_BITS) - 1))

bool sh_guest_pse_misaligned(pte_t ge, unsigned level)
{
    uint64_t span = pt_entry_span(level);
    /* Bit 12 is PAT in a superpage entry, so alignment starts at bit 13. */
    return (ge & PTE_ADDR_MASK & (span - 1) & ~_PAGE_PSE_PAT) != 0;
}

/* A present guest entry's reserved bits at `level`. */
static bool guest_rsvd(pte_t ge, unsigned level)
{
    if (ge & SH_GUEST_RSVD_ADDR)
        return true;
    if (level == 4 && (ge & _PAGE_PSE))
        return true;
    return (level == 2 || level == 3) && (ge & _PAGE_PSE) &&
           sh_guest_pse_misaligned(ge, level);
}

/* First gfn a superpage entry maps (its PAT bit is not an address bit). */
static pfn_t pse_first_gfn(pte_t ge)
{
    return pte_mfn(ge & ~_PAGE_PSE_PAT);
}

/* Full rights in splintered entries: the guest's rights are enforced by the
   entry pointing at the FL shadow (S6). */
#define SH_FL_RIGHTS (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

/* S8: the one decision on RW under log-dirty. */
pte_t sh_ld_rw(struct domain *d, pfn_t gfn, pte_t se, bool demand_write)
{
    if (!(se & _PAGE_RW) || !(se & _PAGE_PRESENT) || sh_l1e_is_magic(se) ||
        !paging_log_dirty_enabled(d) || paging_pfn_is_dirty(d, gfn))
        return se;
    if (demand_write) {
        /* The guest's write, hidden from it: mark, then map RW.  A mark
           lost to an exhausted bitmap pool still maps RW (paging.c L1:
           that round's CLEAN is -ENOMEM). */
        paging_mark_pfn_dirty(d, gfn, LD_SRC_FAULT);
        return se;
    }
    return se & ~_PAGE_RW;
}

static pte_t fl1_entry(struct domain *d, mfn_t key, unsigned slot,
                       bool demand_write)
{
    p2m_type_t t;
    pfn_t gfn = sh_fl_key_gfn(key) + slot;
    mfn_t mfn = gfn_to_ram(d, gfn, &t);
    if (mfn == INVALID_MFN || !p2m_is_ram(t) || p2m_is_paging(t))
        return 0;
    /* D is set: a write can only get here through a shadow entry that is
       writable, which needs the guest superpage entry dirty (S6). */
    pte_t se = pte_make(mfn, SH_FL_RIGHTS | _PAGE_DIRTY | sh_fl_key_attrs(key));
    if (p2m_is_readonly(t))
        se &= ~_PAGE_RW;
    struct sh_pinfo *g = sh_pi(d, mfn);
    if ((g->shadow_flags & SHF_TYPES) && !(g->shadow_flags & SHF_OOS_MAY_WRITE))
        se &= ~_PAGE_RW;                /* S4 */
    return sh_ld_rw(d, gfn, se, demand_write);      /* S8 */
}

pte_t sh_propagate_fl1(struct domain *d, mfn_t key, unsigned slot)
{
    return fl1_entry(d, key, slot, false);
}

static mfn_t fl_shadow(struct domain *d, mfn_t key, enum sh_type t, bool create,
                       bool *created)
{
    *created = false;
    if (create)
        return sh_get_or_create(d, key, t, created);
    return sh_lookup(d, key, t);
}

/* Fill a new FL1 at once: every piece of an accessed superpage counts as
   accessed, so each entry is what a fault on it would install. */
static void fl1_fill(struct domain *d, mfn_t fl1)
{
    mfn_t key = sh_pi(d, fl1)->back;
    for (unsigned k = 0; k < PT_ENTRIES; k++) {
        pte_t se = sh_propagate_fl1(d, key, k);
        if (se != 0)
            sh_write_entry(d, fl1, k, se);
    }
}

pte_t sh_propagate_fl2(struct domain *d, mfn_t key, unsigned slot, bool create)
{
    bool created;
    mfn_t fl1key = (sh_fl_key_gfn(key) + ((pfn_t)slot << 9)) |
                   (key & SH_FL_KEY_MASK);
    mfn_t fl1 = fl_shadow(d, fl1key, SH_FL1, create, &created);
    if (fl1 == INVALID_MFN)
        return 0;
    if (created)
        fl1_fill(d, fl1);
    return pte_make(fl1, SH_FL_RIGHTS);
}

/* The shadow entry for a guest superpage entry at level 2 or 3 (S6). */
static pte_t propagate_pse(struct domain *d, unsigned level, pte_t ge,
                           bool create)
{
    if (!(ge & _PAGE_ACCESSED) || guest_rsvd(ge, level))
        return 0;
    bool created;
    mfn_t key = sh_fl_key(pse_first_gfn(ge), ge);
    mfn_t fl = fl_shadow(d, key, level == 2 ? SH_FL1 : SH_FL2, create, &created);
    if (fl == INVALID_MFN)
        return 0;
    if (created && level == 2)
        fl1_fill(d, fl);
    pte_t flags = (ge & (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_NX)) |
                  _PAGE_ACCESSED;
    if (!(ge & _PAGE_DIRTY))
        flags &= ~_PAGE_RW;
    return pte_make(fl, flags);
}

/* A guest L1 entry's shadow; demand_write: the fault path's own entry
   for a guest write the walk allowed (S8). */
static pte_t l1_entry(struct domain *d, pte_t ge, bool demand_write)
{
    if (!(ge & _PAGE_PRESENT))
        return gnp_allowed(d) ? SH_L1E_GNP : 0;
    if (guest_rsvd(ge, 1))
        return 0;                       /* the walk reports it */
    p2m_type_t t;
    pfn_t gfn = pte_mfn(ge);
    mfn_t mfn = gfn_to_ram(d, gfn, &t);
    if (t == p2m_mmio_dm)
        return d->m->opt.shadow_fastpath ? sh_l1e_mmio(gfn, ge) : 0;
    /* Guest A clear: no shadow entry, so the first access faults and
       the walk sets A (the MMU only ever sets A/D in the shadow). */
    if (mfn == INVALID_MFN || !p2m_is_ram(t) || p2m_is_paging(t) ||
        !(ge & _PAGE_ACCESSED))
        return 0;
    pte_t se = pte_make(mfn, ge & SH_GFLAGS);
    /* Write access: guest D set, p2m type writable, and not a page
       table unless OOS-may-write (S4), and log-dirty allows it (S8). */
    if (!(ge & _PAGE_DIRTY) || p2m_is_readonly(t))
        se &= ~_PAGE_RW;
    struct sh_pinfo *g = sh_pi(d, mfn);
    if ((g->shadow_flags & SHF_TYPES) && !(g->shadow_flags & SHF_OOS_MAY_WRITE))
        se &= ~_PAGE_RW;
    return sh_ld_rw(d, gfn, se, demand_write);
}

pte_t sh_propagate(struct domain *d, unsigned level, pte_t ge, bool create)
{
    if (level == 1)
        return l1_entry(d, ge, false);
    if (!(ge & _PAGE_PRESENT))
        return (level == 1 && gnp_allowed(d)) ? SH_L1E_GNP : 0;
    if ((level == 2 || level == 3) && (ge & _PAGE_PSE))
        return propagate_pse(d, level, ge, create);
    if (guest_rsvd(ge, level))
        return 0;                       /* the walk reports it */
    p2m_type_t t;
    pfn_t gfn = pte_mfn(ge);
    mfn_t mfn = gfn_to_ram(d, gfn, &t);
    if (mfn == INVALID_MFN || !p2m_is_ram(t))
        return 0;
    mfn_t child;
    if (create) {
        bool created;
        child = sh_get_or_create(d, mfn, (enum sh_type)(level - 1), &created);
    } else {
        child = sh_lookup(d, mfn, (enum sh_type)(level - 1));
    }
    if (child == INVALID_MFN)
        return 0;
    return pte_make(child, (ge & SH_GFLAGS & ~_PAGE_DIRTY) | _PAGE_ACCESSED);
}

/* Write the L1 shadow entry and do the OOS bookkeeping. */
static void set_l1e(struct domain *d, mfn_t sl1, unsigned slot, pte_t se)
{
    sh_write_entry(d, sl1, slot, se);
    se = sh_read_entry(d, sl1, slot);
    if ((se & _PAGE_PRESENT) && !sh_l1e_is_magic(se) && (se & _PAGE_RW) &&
        (sh_pi(d, pte_mfn(se))->shadow_flags & SHF_OOS_MAY_WRITE))
        sh_oos_fixup_add(d, pte_mfn(se), sl1, slot);
}

void sh_validate_guest_entry(struct domain *d, mfn_t gmfn, unsigned slot)
{
    pte_t ge = sh_guest_entry(d, gmfn, slot);
    for (enum sh_type t = SH_L1; t <= SH_L4; t++) {
        mfn_t s = sh_lookup(d, gmfn, t);
        if (s == INVALID_MFN)
            continue;
        pte_t se = sh_propagate(d, t, ge, false);
        if (t == SH_L1)
            set_l1e(d, s, slot, se);
        else
            sh_write_entry(d, s, slot, se);
    }
    atomic_fetch_add(&d->shadow->dirty_version, 1);
}

/* ---- the guest walk ---------------------------------------------------------- */

struct gwalk {
    mfn_t gmfn[PT_LEVELS + 1];      /* guest table frame read at each level
                                       (levels >= leaf only) */
    pte_t ge[PT_LEVELS + 1];        /* entries read (levels >= leaf only) */
    unsigned leaf;                  /* 1, or 2 / 3 for a guest superpage */
    pfn_t gfn;                      /* the 4K gfn va translates to */
    mfn_t target;                   /* data frame */
    p2m_type_t ttype;
};

/* 0, or the #PF error code the guest's own tables give (with
   MMU_WALK_FAULT).  Sets A/D in the guest entries on success. */
static uint32_t guest_walk(struct vcpu *v, uint64_t va, uint32_t access,
                           struct gwalk *w)
{
    struct domain *d = v->d;
    p2m_type_t t;
    uint32_t nofault = access & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
    mfn_t table = gfn_to_ram(d, v->guest_cr3 >> PAGE_SHIFT, &t);
    if (table == INVALID_MFN || !va_is_canonical(va))
        return MMU_WALK_FAULT | nofault;
    bool rw = true, us = true, nx = false;
    for (unsigned l = PT_LEVELS; l >= 1; l--) {
        unsigned i = pt_index(va, l);
        pte_t e = sh_guest_entry(d, table, i);
        w->gmfn[l] = table;
        w->ge[l] = e;
        if (!(e & _PAGE_PRESENT))
            return MMU_WALK_FAULT | nofault;
        if (guest_rsvd(e, l))
            return MMU_WALK_FAULT | nofault | PFEC_RSVD | PFEC_PRESENT;
        rw &= !!(e & _PAGE_RW);
        us &= !!(e & _PAGE_USER);
        nx |= !!(e & _PAGE_NX);
        if (l == 1 || ((l == 2 || l == 3) && (e & _PAGE_PSE))) {
            uint64_t span = pt_entry_span(l);
            w->leaf = l;
            w->gfn = pse_first_gfn(e) + ((va & (span - 1)) >> PAGE_SHIFT);
            if (l == 1)
                w->gfn = pte_mfn(e);
            w->target = gfn_to_ram(d, w->gfn, &t);
            w->ttype = t;
            break;
        }
        mfn_t next = gfn_to_ram(d, pte_mfn(e), &t);
        if (next == INVALID_MFN)
            return MMU_WALK_FAULT | nofault | PFEC_RSVD | PFEC_PRESENT;
        table = next;
    }
    if (((access & PFEC_WRITE) && !rw) || ((access & PFEC_USER) && !us) ||
        ((access & PFEC_INSN) && nx))
        return MMU_WALK_FAULT | nofault | PFEC_PRESENT;
    /* Set A everywhere, D in the leaf (a superpage entry too) for a write,
       as the CPU would. */
    for (unsigned l = PT_LEVELS; l >= w->leaf; l--) {
        pte_t bits = _PAGE_ACCESSED |
                     ((l == w->leaf && (access & PFEC_WRITE)) ? _PAGE_DIRTY : 0);
        const pte_t *p = &sh_table(d, w->gmfn[l])[pt_index(va, l)];
        pte_t old = w->ge[l];
        if ((old & bits) != bits &&
            __atomic_compare_exchange_n((pte_t *)ram_w(p, sizeof(*p)), &old, old | bits, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            w->ge[l] = old | bits;
            /* S8: a write into the guest's table. */
            if (paging_log_dirty_enabled(d))
                paging_mark_dirty_from(d, w->gmfn[l], LD_SRC_WALK);
        }
    }
    return 0;
}

/* ---- emulation of guest page-table writes (v->pending) ------------------- */

static enum sh_fault emulate_pt_write(struct vcpu *v, mfn_t gmfn, uint64_t va)
{
    struct domain *d = v->d;
    struct pending_access *pa = &v->pending;
    unsigned off = (unsigned)(va & (PAGE_SIZE - 1));
    uint8_t *host = (uint8_t *)mfn_to_virt_w(d->m, gmfn) + off;
    uint64_t old = 0, val = pa->value;
    unsigned bytes = pa->bytes ? pa->bytes : 8;
    uint64_t mask = bytes == 8 ? ~0ULL : ((1ULL << (8 * bytes)) - 1);
    /* Whole-word atomics on the aligned entry(s) keep it simple. */
    if (pa->is_cmpxchg) {
        switch (bytes) {
        case 1: { uint8_t e = (uint8_t)pa->expected;
            __atomic_compare_exchange_n(host, &e, (uint8_t)val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); old = e; break; }
        case 2: { uint16_t e = (uint16_t)pa->expected;
            __atomic_compare_exchange_n((uint16_t *)host, &e, (uint16_t)val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); old = e; break; }
        case 4: { uint32_t e = (uint32_t)pa->expected;
            __atomic_compare_exchange_n((uint32_t *)host, &e, (uint32_t)val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); old = e; break; }
        default: { uint64_t e = pa->expected;
            __atomic_compare_exchange_n((uint64_t *)host, &e, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); old = e; break; }
        }
        pa->observed = old;
    } else {
        for (unsigned i = 0; i < bytes; i++) {
            old |= (uint64_t)host[i] << (8 * i);
        }
        switch (bytes) {
        case 1: __atomic_store_n(host, (uint8_t)val, __ATOMIC_RELEASE); break;
        case 2: __atomic_store_n((uint16_t *)host, (uint16_t)val, __ATOMIC_RELEASE); break;
        case 4: __atomic_store_n((uint32_t *)host, (uint32_t)val, __ATOMIC_RELEASE); break;
        default: __atomic_store_n((uint64_t *)host, val, __ATOMIC_RELEASE); break;
        }
    }
    /* S8: the hypervisor wrote guest memory (a failed cmpxchg did not). */
    if (paging_log_dirty_enabled(d) &&
        (!pa->is_cmpxchg || (old & mask) == (pa->expected & mask)))
        paging_mark_dirty_from(d, gmfn, LD_SRC_COPY);
    TRC(hvlab_shadow, emulate, (uint8_t)d->m->host_id, d->domid,
        (uint16_t)v->vcpu_id, gmfn, (uint16_t)off, (uint8_t)bytes, old & mask,
        val & mask);
    unsigned first = off / 8, last = (off + bytes - 1) / 8;
    for (unsigned s = first; s <= last && s < PT_ENTRIES; s++)
        sh_validate_guest_entry(d, gmfn, s);
    pa->emulated = true;
    atomic_fetch_add(&d->shadow->nr_emulated, 1);
    /*
     * Early unshadow: a second emulated write in a row to the same frame
     * (no other shadow fault between) that is either a whole-entry zero
     * (the frame is being wiped for another use) or lands in a frame
     * shadowed only as a top-level table no vCPU runs on (a freed L4
     * being filled as data; nothing walks that shadow until a CR3 load,
     * which rebuilds it) stops the shadowing instead of emulating the
     * rest of the page.  sh_unshadow keeps a running root (S7).
     */
    bool zeroed = bytes == 8 && (off & 7) == 0 && val == 0 &&
                  (!pa->is_cmpxchg || old == pa->expected);
    bool idle_top = (sh_pi(d, gmfn)->shadow_flags & SHF_TYPES) == SHF_L4;
    struct shadow_vcpu *sv = v->shadow;
    if (sv && sv->last_emulated == gmfn && (zeroed || idle_top) &&
        sh_unshadow(d, gmfn)) {
        atomic_fetch_add(&d->shadow->nr_early_unshadow, 1);
        sv->last_emulated = INVALID_MFN;
    } else if (sv) {
        sv->last_emulated = gmfn;
    }
    return SH_EMULATED;
}

/* MMIO with no device model: reads return all ones, writes are dropped. */
static enum sh_fault mmio_access(struct vcpu *v)
{
    v->pending.observed = v->pending.is_write ? v->pending.expected : ~0ULL;
    v->pending.emulated = true;
    return SH_EMULATED;
}

/* ---- sh_page_fault ---------------------------------------------------------- */

/*
 * Prefetch: after fixing entry `slot` of shadow L1 sl1 (of guest L1 gl1, or
 * an FL1 when gl1 is INVALID_MFN), fill the empty entries that follow, up
 * to SH_PREFETCH_DISTANCE of them and stopping at the first one already
 * filled, with what a fault on each would install.  That is the ordinary
 * propagation, so the guest-visible rules hold: an entry whose guest entry
 * lacks P or A stays empty (or gnp), and one whose guest entry is clean is
 * read-only (the first write still faults and sets D).  An OOS guest L1 is
 * left alone: its snapshot would have to follow every entry prefetched.
 */
#define SH_PREFETCH_DISTANCE 32

static void prefetch(struct domain *d, mfn_t sl1, mfn_t gl1, unsigned slot)
{
    if (gl1 != INVALID_MFN && (sh_pi(d, gl1)->shadow_flags & SHF_OOS))
        return;
    mfn_t key = gl1 == INVALID_MFN ? sh_pi(d, sl1)->back : INVALID_MFN;
    unsigned end = slot + 1 + SH_PREFETCH_DISTANCE;
    if (end > PT_ENTRIES)
        end = PT_ENTRIES;
    for (unsigned k = slot + 1; k < end; k++) {
        if (sh_read_entry(d, sl1, k) != 0)
            break;
        pte_t se = gl1 != INVALID_MFN
                   ? sh_propagate(d, 1, sh_guest_entry(d, gl1, k), false)
                   : sh_propagate_fl1(d, key, k);
        if (se == 0)
            continue;
        set_l1e(d, sl1, k, se);
        atomic_fetch_add(&d->shadow->nr_prefetch, 1);
    }
}

static enum sh_fault done(struct vcpu *v, uint64_t va, uint32_t pfec,
                          unsigned path, enum sh_decision dec, enum sh_fault r)
{
    (void)va; (void)pfec; (void)path; (void)dec;
    atomic_fetch_add(&v->d->shadow->nr_decision[dec], 1);
    /* Early unshadow counts emulated writes with no other fault between. */
    if (dec != SHD_EMULATE && v->shadow)
        v->shadow->last_emulated = INVALID_MFN;
    TRC(hvlab_shadow, fault, (uint8_t)v->d->m->host_id, v->d->domid,
        (uint16_t)v->vcpu_id, va, pfec, (uint8_t)path, (uint8_t)dec,
        (uint64_t)v->cr3);
    return r;
}

/* The shadow L1 (and slot) for va under v's root, or INVALID_MFN. */
static mfn_t shadow_l1_of(struct vcpu *v, uint64_t va)
{
    struct domain *d = v->d;
    mfn_t s = v->cr3;
    for (unsigned l = PT_LEVELS; l > 1; l--) {
        if (s == INVALID_MFN || !mfn_valid(d->m, s) || sh_pi(d, s)->type != l)
            return INVALID_MFN;
        pte_t e = sh_read_entry(d, s, pt_index(va, l));
        if (!(e & _PAGE_PRESENT))
            return INVALID_MFN;
        s = pte_mfn(e);
    }
    return (mfn_valid(d->m, s) && sh_pi(d, s)->type == SH_L1) ? s : INVALID_MFN;
}

static bool l1_is_oos(struct domain *d, mfn_t sl1)
{
    mfn_t g = sh_pi(d, sl1)->back;
    return __atomic_load_n(&sh_pi(d, g)->shadow_flags, __ATOMIC_ACQUIRE) & SHF_OOS;
}

enum sh_fault sh_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec,
                            uint32_t *inject_pfec)
{
    struct domain *d = v->d;
    struct shadow_domain *sd = d->shadow;
    const struct hv_options *o = &d->m->opt;
    uint32_t access = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN);

    /* ---- 2. the lock-free fast path (reserved-bit faults only) ---- */
    if ((pfec & PFEC_RSVD) && o->shadow_fastpath) {
        atomic_fetch_add(&sd->nr_fast, 1);
        mfn_t sl1 = shadow_l1_of(v, va);
        bool racy = o->shadow_fastpath_oos == SH_FASTPATH_OOS_RACY;
        if (sl1 == INVALID_MFN || (!racy && l1_is_oos(d, sl1))) {
            pfec &= ~(PFEC_RSVD | PFEC_PRESENT);
            goto slow;
        }
        pte_t se = sh_read_entry(d, sl1, pt_index(va, 1));
        if (sh_l1e_is_gnp(se)) {
            /* Story A's window: the entry is read, OOS not yet checked. */
            INJ_POINT(shadow_fastpath_after_read_sl1e, v);  /* inject */
            if (sh_test_fastpath_window)
                sh_test_fastpath_window(v, va);
            if (racy && l1_is_oos(d, sl1)) {
                pfec &= ~(PFEC_RSVD | PFEC_PRESENT);
                goto slow;
            }
            *inject_pfec = pfec & ~(PFEC_RSVD | PFEC_PRESENT);
            atomic_fetch_add(&sd->nr_gnp_injected, 1);
            return done(v, va, pfec, 0, SHD_FAST_PROPAGATE, SH_INJECT);
        }
        if (sh_l1e_is_mmio(se))
            return done(v, va, pfec, 0, SHD_FAST_MMIO, mmio_access(v));
        return done(v, va, pfec, 0, SHD_FALSE_FAST_PATH, SH_FIXED);
    }
    if (pfec & PFEC_RSVD)
        pfec &= ~(PFEC_RSVD | PFEC_PRESENT);

slow:
    /* ---- 3. a recursive shadow fault is not handled ---- */
    atomic_fetch_add(&sd->nr_slow, 1);
    sh_lock(d);
    if (v->cr3 == INVALID_MFN || sh_pi(d, v->cr3)->type != SH_L4) {
        sh_unlock(d);
        if (sh_update_cr3(v, v->guest_cr3) != 0) {
            *inject_pfec = access;
            return done(v, va, pfec, 1, SHD_INJECT, SH_INJECT);
        }
        sh_lock(d);
    }

    /* ---- 4. the guest walk ---- */
    struct gwalk w;
    uint32_t gf = guest_walk(v, va, access, &w);
    if (gf) {
        sh_unlock(d);
        *inject_pfec = gf & MMU_PFEC_MASK;
        return done(v, va, pfec, 1, SHD_INJECT, SH_INJECT);
    }

    /* ---- 7. shadows top-down (creating and promoting) ---- */
    mfn_t s = v->cr3;
    bool upper_created = false;
    for (unsigned l = PT_LEVELS; l > w.leaf; l--) {
        unsigned i = pt_index(va, l);
        pte_t want;
        bool created = false;
        p2m_type_t t;
        mfn_t child_g = gfn_to_ram(d, pte_mfn(w.ge[l]), &t);
        mfn_t child = sh_get_or_create(d, child_g, (enum sh_type)(l - 1), &created);
        if (child == INVALID_MFN) {
            sh_unlock(d);
            *inject_pfec = access;
            return done(v, va, pfec, 1, SHD_INJECT, SH_INJECT);
        }
        upper_created |= created && l - 1 > SH_L1;
        if (created && l - 1 == SH_L1)  /* prefetch the whole new L1 */
            for (unsigned k = 0; k < PT_ENTRIES; k++) {
                pte_t se = sh_propagate(d, 1, sh_guest_entry(d, child_g, k), false);
                if (se != 0)
                    set_l1e(d, child, k, se);
            }
        want = pte_make(child, (w.ge[l] & SH_GFLAGS & ~_PAGE_DIRTY) | _PAGE_ACCESSED);
        if (sh_read_entry(d, s, i) != want)
            sh_write_entry(d, s, i, want);
        s = child;
    }
    /* A guest superpage: splinter it below the shadow of its table (S6). */
    for (unsigned l = w.leaf; l > 1; l--) {
        unsigned i = pt_index(va, l);
        pte_t want = l == w.leaf ? propagate_pse(d, l, w.ge[l], true)
                                 : sh_propagate_fl2(d, sh_pi(d, s)->back, i, true);
        if (!(want & _PAGE_PRESENT)) {
            sh_unlock(d);
            *inject_pfec = access;
            return done(v, va, pfec, 1, SHD_INJECT, SH_INJECT);
        }
        if (sh_read_entry(d, s, i) != want)
            sh_write_entry(d, s, i, want);
        s = pte_mfn(want);
    }
    if (upper_created)
        sh_resync_all(d, SH_RESYNC_UPPER);
    mfn_t sl1 = s;
    mfn_t gl1 = w.leaf == 1 ? w.gmfn[1] : INVALID_MFN;
    unsigned slot = pt_index(va, 1);

    /* ---- 8. OOS: a demand write to a guest L1 page table ---- */
    mfn_t target = w.target;
    enum sh_decision dec = SHD_FIXED;
    bool is_pt = target != INVALID_MFN && sh_gmfn_is_pt(d, target);
    if ((access & PFEC_WRITE) && is_pt && sd->oos_active &&
        !(sh_pi(d, target)->shadow_flags & SHF_OOS_MAY_WRITE) &&
        sh_unsync(v, target))
        dec = SHD_UNSYNC;

    /* ---- 9. propagate (a write: the demand entry, S8) ---- */
    bool demand = (access & PFEC_WRITE) != 0;
    if (w.leaf == 1) {
        pte_t ge = sh_guest_entry(d, gl1, slot);
        set_l1e(d, sl1, slot, l1_entry(d, ge, demand));
        if (sh_pi(d, gl1)->shadow_flags & SHF_OOS)
            sh_oos_snapshot_update(d, gl1, slot, ge);
    } else {
        set_l1e(d, sl1, slot, fl1_entry(d, sh_pi(d, sl1)->back, slot, demand));
    }
    prefetch(d, sl1, gl1, slot);

    /* ---- 10. decide ---- */
    enum sh_fault r = SH_FIXED;
    is_pt = target != INVALID_MFN && sh_gmfn_is_pt(d, target) &&
            !(sh_pi(d, target)->shadow_flags & SHF_OOS_MAY_WRITE);
    if ((access & PFEC_WRITE) && is_pt && (access & PFEC_USER) &&
        sh_unshadow(d, target)) {
        /* A user-mode write to a page table: the kernel would not do
           that, so the frame is no longer one (a freed table reused as
           user data).  Unshadowed, the retry maps it writable. */
        atomic_fetch_add(&sd->nr_unshadow_user, 1);
        dec = SHD_UNSHADOW_USER;
    } else if ((access & PFEC_WRITE) && is_pt) {
        r = emulate_pt_write(v, target, va);
        dec = SHD_EMULATE;
    } else if (w.ttype == p2m_mmio_dm) {
        r = mmio_access(v);
        dec = SHD_MMIO;
    } else if ((access & PFEC_WRITE) && p2m_is_discard_write(w.ttype)) {
        v->pending.observed = v->pending.expected;
        v->pending.emulated = true;
        r = SH_EMULATED;
        dec = SHD_DISCARD_WRITE;
    } else if (target == INVALID_MFN || !p2m_is_ram(w.ttype)) {
        *inject_pfec = access;          /* no RAM behind the gfn */
        r = SH_INJECT;
        dec = SHD_INJECT;
    }
    sh_unlock(d);
    return done(v, va, pfec, 1, dec, r);
}

/* ---- CR3 and INVLPG ------------------------------------------------------- */

int sh_update_cr3(struct vcpu *v, uint64_t guest_cr3)
{
    struct domain *d = v->d;
    p2m_type_t t;
    sh_lock(d);
    sh_resync_vcpu(v, SH_RESYNC_CR3);
    mfn_t g4 = gfn_to_ram(d, guest_cr3 >> PAGE_SHIFT, &t);
    if (g4 == INVALID_MFN || !p2m_is_ram(t)) {
        sh_unlock(d);
        return -XEN_EINVAL;
    }
    bool created;
    mfn_t s4 = sh_get_or_create(d, g4, SH_L4, &created);
    if (s4 == INVALID_MFN) {
        sh_unlock(d);
        return -XEN_ENOMEM;
    }
    if (created)
        sh_get_ref(d, s4);              /* the pin (S2) */
    v->guest_cr3 = guest_cr3;
    /* S7: the root is published under the lock, so an unshadow that
       runs after the unlock sees it in use and keeps it. */
    v->cr3 = s4;
    sh_sync_other_vcpus(v);
    sh_unlock(d);
    if (v == current || current == NULL)
        mmu_load_cr3(v, s4);
    return 0;
}

/* Whether va's shadow path goes through a splintered superpage (S6). */
static bool shadow_path_is_splintered(struct vcpu *v, uint64_t va)
{
    struct domain *d = v->d;
    mfn_t s = v->cr3;
    for (unsigned l = PT_LEVELS; l > 1; l--) {
        if (s == INVALID_MFN || !mfn_valid(d->m, s))
            return false;
        if (sh_type_is_fl(sh_pi(d, s)->type))
            return true;
        pte_t e = sh_read_entry(d, s, pt_index(va, l));
        if (!(e & _PAGE_PRESENT))
            return false;
        s = pte_mfn(e);
    }
    return mfn_valid(d->m, s) && sh_pi(d, s)->type == SH_FL1;
}

void sh_invlpg(struct vcpu *v, uint64_t va)
{
    struct domain *d = v->d;
    sh_lock(d);
    mfn_t sl1 = shadow_l1_of(v, va);
    if (sl1 != INVALID_MFN && l1_is_oos(d, sl1) &&
        sh_read_entry(d, sl1, pt_index(va, 1)) != 0)
        sh_write_entry(d, sl1, pt_index(va, 1), 0);
    /* The guest invalidates one superpage translation; its splinters sit
       in the TLB as up to 512 (or 512 * 512) 4K entries: flush them all. */
    bool all = shadow_path_is_splintered(v, va);
    sh_unlock(d);
    if (all)
        mmu_flush_local(v);
    else
        mmu_invlpg_local(v, va);
}
