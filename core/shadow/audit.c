/*
 * core/shadow/audit.c - shadow invariants 13-16 of XEN-NOTES section 11
 * (17 and 18 are properties of traces: the fast-path injection order and
 * the paging lock around every write, S1; 17's structural half - no gnp
 * entry while OOS is on, fixed order - is checked here).
 * Also S6: every FL1 entry is empty or what sh_propagate_fl1 computes from
 * its key and the p2m (or that less RW); every FL2 entry points at the FL1
 * of its piece; each FL shadow's reference count equals the number of
 * shadow entries pointing at it (no pin: nothing else holds one).
 * S8: with log-dirty on, no RW L1 / FL1 entry maps a frame whose bit is
 * clear (paging_mfn_is_dirty: through the M2P).
 * Visits only the frames of the side table's used map (private.h S9).
 * Takes each domain's paging lock; call with no vCPU inside the shadow code.
 */
#include <stdlib.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/paging.h"
#include "core/shadow/private.h"
#include "core/vcpu.h"

/* S9: the frames whose side-table entry was ever non-zero, in mfn order
   (a frame outside it has no type and no flags: nothing to audit). */
#define FOR_EACH_USED(d, f)                                                  \
    for (mfn_t f##_w = 0, f = 0, f##_b = 0;                                  \
         f##_w < ((d)->m->nr_frames + 63) / 64; f##_w++)                     \
        for (f##_b = __atomic_load_n(&sh_used_map(d)[f##_w],                 \
                                     __ATOMIC_RELAXED);                      \
             f##_b && ((f = f##_w * 64 + (mfn_t)__builtin_ctzll(f##_b)),     \
                       f##_b &= f##_b - 1, true);)

#define BAD(...) do { n++; if (out) { fprintf(out, "shadow audit: d%u: ", \
    d->domid); fprintf(out, __VA_ARGS__); fputc('\n', out); } } while (0)

static unsigned writable_refs(struct domain *d, mfn_t gmfn)
{
    uint64_t t = atomic_load(&mfn_to_page(d->m, gmfn)->type_info);
    return (t & PGT_type_mask) == PGT_writable_page
           ? (unsigned)(t & PGT_count_mask) : 0;
}

/* S2 for FL shadows: references = pointing shadow entries. */
static unsigned audit_fl_refs(struct domain *d, FILE *out)
{
    struct shadow_domain *sd = d->shadow;
    struct machine *m = d->m;
    unsigned n = 0;
    uint32_t *seen = calloc(m->nr_frames, sizeof(*seen));
    if (seen == NULL)
        return 0;                       /* the audit is best effort on ENOMEM */
    FOR_EACH_USED(d, f) {
        struct sh_pinfo *p = &sd->pi[f];
        if (p->dom != d->domid || !sh_type_maps_shadows(p->type))
            continue;
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            pte_t se = sh_read_entry(d, f, i);
            if ((se & _PAGE_PRESENT) && mfn_valid(m, pte_mfn(se)))
                seen[pte_mfn(se)]++;
        }
    }
    FOR_EACH_USED(d, f) {
        struct sh_pinfo *p = &sd->pi[f];
        if (p->dom == d->domid && sh_type_is_fl(p->type) && p->refs != seen[f])
            BAD("S6: fl%u %#llx has %u refs, %u entries point at it",
                p->type == SH_FL1 ? 1u : 2u, (unsigned long long)f,
                p->refs, seen[f]);
    }
    free(seen);
    return n;
}

static unsigned audit_domain(struct domain *d, FILE *out)
{
    struct shadow_domain *sd = d->shadow;
    struct machine *m = d->m;
    unsigned n = 0;
    bool ld = paging_log_dirty_enabled(d);
    bool no_gnp = sd->oos_active &&
                  m->opt.shadow_fastpath_oos == SH_FASTPATH_OOS_FIXED;
    bool any_fl = false;
    FOR_EACH_USED(d, f) {
        struct sh_pinfo *p = &sd->pi[f];
        any_fl |= p->dom == d->domid && sh_type_is_fl(p->type);
        if (p->shadow_flags) {
            uint8_t fl = p->shadow_flags;
            bool pt = atomic_load(&mfn_to_page(m, f)->count_info) & PGC_shadowed_pt;
            /* 13 */
            if (pt && !(fl & SHF_OOS_MAY_WRITE) && writable_refs(d, f))
                BAD("inv13: shadowed PT mfn %#llx has %u writable refs",
                    (unsigned long long)f, writable_refs(d, f));
            if (((fl & SHF_TYPES) != 0) != pt)
                BAD("mfn %#llx: shadow_flags %#x vs PGC_shadowed_pt %d",
                    (unsigned long long)f, fl, pt);
            /* 14 */
            if (fl & SHF_OOS) {
                unsigned found = 0;
                if ((fl & SHF_TYPES) != SHF_L1)
                    BAD("inv14: OOS mfn %#llx shadowed as %#x",
                        (unsigned long long)f, fl & SHF_TYPES);
                for (unsigned i = 0; i < d->nr_vcpus; i++) {
                    struct shadow_vcpu *sv = d->vcpu[i] ? d->vcpu[i]->shadow : NULL;
                    for (unsigned s = 0; sv && s < SH_OOS_SLOTS; s++)
                        if (sv->oos[s] == f) {
                            found++;
                            unsigned home = (unsigned)(f % SH_OOS_SLOTS);
                            if (s != home && s != (home + 1) % SH_OOS_SLOTS)
                                BAD("inv14: OOS mfn %#llx in slot %u",
                                    (unsigned long long)f, s);
                            if (sv->nr_fix[s] > SH_OOS_FIXUPS)
                                BAD("inv14: %u fixups", sv->nr_fix[s]);
                        }
                }
                if (found != 1)
                    BAD("inv14: OOS mfn %#llx in %u slots",
                        (unsigned long long)f, found);
            }
        }
        if (p->type == SH_FL1 && p->dom == d->domid) {
            for (unsigned i = 0; i < PT_ENTRIES; i++) {
                pte_t se = sh_read_entry(d, f, i);
                if (se == 0)
                    continue;
                pte_t want = sh_propagate_fl1(d, p->back, i);
                if (se != want && (se | _PAGE_RW) != (want | _PAGE_RW))
                    BAD("S6: fl1 %#llx (gfn %#llx)[%u] = %#llx, p2m says %#llx",
                        (unsigned long long)f,
                        (unsigned long long)sh_fl_key_gfn(p->back), i,
                        (unsigned long long)se, (unsigned long long)want);
                uint8_t tf = sd->pi[pte_mfn(se)].shadow_flags;
                if ((se & _PAGE_RW) && (tf & SHF_TYPES) &&
                    !(tf & SHF_OOS_MAY_WRITE))
                    BAD("inv16: fl1 %#llx[%u] maps PT mfn %#llx RW",
                        (unsigned long long)f, i,
                        (unsigned long long)pte_mfn(se));
                if (ld && (se & _PAGE_RW) && !paging_mfn_is_dirty(d, pte_mfn(se)))
                    BAD("S8: fl1 %#llx[%u] maps clean mfn %#llx RW",
                        (unsigned long long)f, i,
                        (unsigned long long)pte_mfn(se));
            }
        }
        if (p->type == SH_FL2 && p->dom == d->domid) {
            for (unsigned i = 0; i < PT_ENTRIES; i++) {
                pte_t se = sh_read_entry(d, f, i);
                if (!(se & _PAGE_PRESENT))
                    continue;
                mfn_t c = pte_mfn(se);
                mfn_t want = (sh_fl_key_gfn(p->back) + ((pfn_t)i << 9)) |
                             (p->back & SH_FL_KEY_MASK);
                if (!mfn_valid(m, c) || sd->pi[c].type != SH_FL1 ||
                    sd->pi[c].back != want)
                    BAD("S6: fl2 %#llx[%u] points at %#llx, not the fl1 of %#llx",
                        (unsigned long long)f, i, (unsigned long long)c,
                        (unsigned long long)want);
            }
        }
        if (p->type != SH_L1 || p->dom != d->domid)
            continue;
        mfn_t g = p->back;
        bool oos = sd->pi[g].shadow_flags & SHF_OOS;
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            pte_t se = sh_read_entry(d, f, i);
            if (no_gnp && sh_l1e_is_gnp(se))
                BAD("inv17: gnp entry in sl1 %#llx[%u] with OOS on",
                    (unsigned long long)f, i);
            /* 16 */
            if ((se & _PAGE_PRESENT) && !sh_l1e_is_magic(se) && (se & _PAGE_RW)) {
                uint8_t tf = sd->pi[pte_mfn(se)].shadow_flags;
                if ((tf & SHF_TYPES) && !(tf & SHF_OOS_MAY_WRITE))
                    BAD("inv16: sl1 %#llx[%u] maps PT mfn %#llx RW",
                        (unsigned long long)f, i,
                        (unsigned long long)pte_mfn(se));
                if (ld && !paging_mfn_is_dirty(d, pte_mfn(se)))
                    BAD("S8: sl1 %#llx[%u] maps clean mfn %#llx RW",
                        (unsigned long long)f, i,
                        (unsigned long long)pte_mfn(se));
            }
            /* 15: in-sync L1 entries equal propagate(guest), or are empty
               (not yet faulted in), or lost only RW and D: a read-only
               entry whose D the guest set later (the walk of a write the
               hypervisor emulated) only faults once more.  Never RW
               without D: the first write would go unrecorded. */
            if (oos || se == 0)
                continue;
            pte_t want = sh_propagate(d, 1, sh_guest_entry(d, g, i), false);
            pte_t lost = want & ~se;
            if (se != want &&
                ((se & ~want) || (lost & ~(pte_t)(_PAGE_RW | _PAGE_DIRTY)) ||
                 ((lost & _PAGE_DIRTY) && (se & _PAGE_RW))))
                BAD("inv15: sl1 %#llx[%u] = %#llx, guest says %#llx",
                    (unsigned long long)f, i, (unsigned long long)se,
                    (unsigned long long)want);
        }
    }
    if (any_fl)                 /* S6's counts: only FL shadows have them */
        n += audit_fl_refs(d, out);
    return n;
}

unsigned shadow_audit(struct machine *m, FILE *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++) {
        struct domain *d = m->domains[i];
        if (!d || !d->shadow)
            continue;
        sh_lock(d);
        n += audit_domain(d, out);
        sh_unlock(d);
    }
    return n;
}
