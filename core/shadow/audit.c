/*
 * core/shadow/audit.c - shadow invariants 13-16 of XEN-NOTES section 11
 * (17 and 18 are properties of traces: the fast-path injection order and
 * the paging lock around every write, S1; 17's structural half - no gnp
 * entry while OOS is on, fixed order - is checked here).
 * Takes each domain's paging lock; call with no vCPU inside the shadow code.
 */
#include "core/domain.h"
#include "core/machine.h"
#include "core/shadow/private.h"
#include "core/vcpu.h"

#define BAD(...) do { n++; if (out) { fprintf(out, "shadow audit: d%u: ", \
    d->domid); fprintf(out, __VA_ARGS__); fputc('\n', out); } } while (0)

static unsigned writable_refs(struct domain *d, mfn_t gmfn)
{
    uint64_t t = atomic_load(&mfn_to_page(d->m, gmfn)->type_info);
    return (t & PGT_type_mask) == PGT_writable_page
           ? (unsigned)(t & PGT_count_mask) : 0;
}

static unsigned audit_domain(struct domain *d, FILE *out)
{
    struct shadow_domain *sd = d->shadow;
    struct machine *m = d->m;
    unsigned n = 0;
    bool no_gnp = sd->oos_active &&
                  m->opt.shadow_fastpath_oos == SH_FASTPATH_OOS_FIXED;
    for (mfn_t f = 0; f < m->nr_frames; f++) {
        struct sh_pinfo *p = &sd->pi[f];
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
            }
            /* 15: in-sync L1 entries equal propagate(guest), or are empty
               (not yet faulted in), or lost only RW/D (write-protection). */
            if (oos || se == 0)
                continue;
            pte_t want = sh_propagate(d, 1, sh_guest_entry(d, g, i), false);
            if (se != want && (se | _PAGE_RW) != (want | _PAGE_RW))
                BAD("inv15: sl1 %#llx[%u] = %#llx, guest says %#llx",
                    (unsigned long long)f, i, (unsigned long long)se,
                    (unsigned long long)want);
        }
    }
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
