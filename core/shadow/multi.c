/*
 * core/shadow/multi.c - 4-level guests: propagation, sh_page_fault (XEN-NOTES
 * 5.4), emulated guest page-table writes, CR3 loads and INVLPG.
 *
 * Model choices: the guest walk of the slow path runs under the paging lock
 * (Xen walks first, lock-free, then re-checks); guest superpages are not
 * shadowed yet (a PSE guest entry is reflected as a reserved-bit fault).
 */
#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
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

pte_t sh_propagate(struct domain *d, unsigned level, pte_t ge, bool create)
{
    if (!(ge & _PAGE_PRESENT))
        return (level == 1 && gnp_allowed(d)) ? SH_L1E_GNP : 0;
    if (level > 1 && (ge & _PAGE_PSE))
        return 0;                       /* not shadowed: slow path */
    p2m_type_t t;
    pfn_t gfn = pte_mfn(ge);
    mfn_t mfn = gfn_to_ram(d, gfn, &t);
    if (level == 1) {
        if (t == p2m_mmio_dm)
            return d->m->opt.shadow_fastpath ? sh_l1e_mmio(gfn, ge) : 0;
        /* Guest A clear: no shadow entry, so the first access faults and
           the walk sets A (the MMU only ever sets A/D in the shadow). */
        if (mfn == INVALID_MFN || !p2m_is_ram(t) || p2m_is_paging(t) ||
            !(ge & _PAGE_ACCESSED))
            return 0;
        pte_t se = pte_make(mfn, ge & SH_GFLAGS);
        /* Write access: guest D set, p2m type writable, and not a page
           table unless OOS-may-write (S4). */
        if (!(ge & _PAGE_DIRTY) || p2m_is_readonly(t))
            se &= ~_PAGE_RW;
        struct sh_pinfo *g = sh_pi(d, mfn);
        if ((g->shadow_flags & SHF_TYPES) && !(g->shadow_flags & SHF_OOS_MAY_WRITE))
            se &= ~_PAGE_RW;
        return se;
    }
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
    mfn_t gmfn[PT_LEVELS + 1];      /* guest table frame read at each level */
    pte_t ge[PT_LEVELS + 1];
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
        if ((l > 1 && (e & _PAGE_PSE)) || (pte_mfn(e) >> 36))
            return MMU_WALK_FAULT | nofault | PFEC_RSVD | PFEC_PRESENT;
        rw &= !!(e & _PAGE_RW);
        us &= !!(e & _PAGE_USER);
        nx |= !!(e & _PAGE_NX);
        mfn_t next = gfn_to_ram(d, pte_mfn(e), &t);
        if (l == 1) {
            w->target = next;
            w->ttype = t;
            break;
        }
        if (next == INVALID_MFN)
            return MMU_WALK_FAULT | nofault | PFEC_RSVD | PFEC_PRESENT;
        table = next;
    }
    if (((access & PFEC_WRITE) && !rw) || ((access & PFEC_USER) && !us) ||
        ((access & PFEC_INSN) && nx))
        return MMU_WALK_FAULT | nofault | PFEC_PRESENT;
    /* Set A everywhere, D in the leaf for a write, as the CPU would. */
    for (unsigned l = PT_LEVELS; l >= 1; l--) {
        pte_t bits = _PAGE_ACCESSED |
                     ((l == 1 && (access & PFEC_WRITE)) ? _PAGE_DIRTY : 0);
        pte_t *p = &sh_table(d, w->gmfn[l])[pt_index(va, l)];
        pte_t old = w->ge[l];
        if ((old & bits) != bits &&
            __atomic_compare_exchange_n(p, &old, old | bits, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            w->ge[l] = old | bits;
    }
    return 0;
}

/* ---- emulation of guest page-table writes (v->pending) ------------------- */

static enum sh_fault emulate_pt_write(struct vcpu *v, mfn_t gmfn, uint64_t va)
{
    struct domain *d = v->d;
    struct pending_access *pa = &v->pending;
    unsigned off = (unsigned)(va & (PAGE_SIZE - 1));
    uint8_t *host = (uint8_t *)mfn_to_virt(d->m, gmfn) + off;
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
    TRC(hvlab_shadow, emulate, (uint8_t)d->m->host_id, d->domid,
        (uint16_t)v->vcpu_id, gmfn, (uint16_t)off, (uint8_t)bytes, old & mask,
        val & mask);
    unsigned first = off / 8, last = (off + bytes - 1) / 8;
    for (unsigned s = first; s <= last && s < PT_ENTRIES; s++)
        sh_validate_guest_entry(d, gmfn, s);
    pa->emulated = true;
    atomic_fetch_add(&d->shadow->nr_emulated, 1);
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

static enum sh_fault done(struct vcpu *v, uint64_t va, uint32_t pfec,
                          unsigned path, enum sh_decision dec, enum sh_fault r)
{
    (void)va; (void)pfec; (void)path; (void)dec;
    TRC(hvlab_shadow, fault, (uint8_t)v->d->m->host_id, v->d->domid,
        (uint16_t)v->vcpu_id, va, pfec, (uint8_t)path, (uint8_t)dec);
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
    for (unsigned l = PT_LEVELS; l > 1; l--) {
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
    if (upper_created)
        sh_resync_all(d, SH_RESYNC_UPPER);
    mfn_t sl1 = s;
    mfn_t gl1 = w.gmfn[1];
    unsigned slot = pt_index(va, 1);

    /* ---- 8. OOS: a demand write to a guest L1 page table ---- */
    mfn_t target = w.target;
    enum sh_decision dec = SHD_FIXED;
    bool is_pt = target != INVALID_MFN && sh_gmfn_is_pt(d, target);
    if ((access & PFEC_WRITE) && is_pt && sd->oos_active &&
        !(sh_pi(d, target)->shadow_flags & SHF_OOS_MAY_WRITE) &&
        sh_unsync(v, target))
        dec = SHD_UNSYNC;

    /* ---- 9. propagate ---- */
    pte_t ge = sh_guest_entry(d, gl1, slot);
    set_l1e(d, sl1, slot, sh_propagate(d, 1, ge, false));
    if (sh_pi(d, gl1)->shadow_flags & SHF_OOS)
        sh_oos_snapshot_update(d, gl1, slot, ge);

    /* ---- 10. decide ---- */
    enum sh_fault r = SH_FIXED;
    is_pt = target != INVALID_MFN && sh_gmfn_is_pt(d, target) &&
            !(sh_pi(d, target)->shadow_flags & SHF_OOS_MAY_WRITE);
    if ((access & PFEC_WRITE) && is_pt) {
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
    sh_sync_other_vcpus(v);
    sh_unlock(d);
    if (v == current || current == NULL)
        mmu_load_cr3(v, s4);
    else
        v->cr3 = s4;
    return 0;
}

void sh_invlpg(struct vcpu *v, uint64_t va)
{
    struct domain *d = v->d;
    sh_lock(d);
    mfn_t sl1 = shadow_l1_of(v, va);
    if (sl1 != INVALID_MFN && l1_is_oos(d, sl1) &&
        sh_read_entry(d, sl1, pt_index(va, 1)) != 0)
        sh_write_entry(d, sl1, pt_index(va, 1), 0);
    sh_unlock(d);
    mmu_invlpg_local(v, va);
}
