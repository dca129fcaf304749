/*
 * fuzz/isolation.c - the isolation checks I1-I3 of fuzz/isolation.h.
 *
 * Rules:
 *   I4  The walk follows what the MMU would: present entries, the target of
 *       each as the next level's table (so a linear slot is walked as the
 *       MMU walks it), PSE at L3/L2 ends the walk with a superpage (its
 *       first frame is checked), frames outside RAM are skipped (the MMU
 *       faults on them).  RW is the AND over the levels.
 *   I5  Each (table, level, rw) is walked once per root set, so a linear
 *       map cannot make the walk explode.
 *   I6  Read-only: the checks change nothing, take no reference.
 *   I7  I1's "owned" for a Xen page shared with the domain (PGC_xen_heap,
 *       owner the domain: grant-table frames, shared_info): it is the
 *       domain's to map only while Xen still shares it - one of its grant
 *       table's shared frames, one of its status frames while the table is
 *       at version 2 (core/grant/peek.h K3), or any other such page still
 *       holding Xen's allocation reference (PGC_allocated).  A page Xen
 *       has let go (a status frame a switch to version 1 freed: Xen's
 *       allocation and type references dropped, the owner field left, as
 *       gnttab_unpopulate_status_frames did before XSA-255 on its way to
 *       freeing the frame, and as hvlab's grant.xsa255 does) but the
 *       guest still maps is "isolation: released Xen page mapped".  Xen
 *       then freed the frame, or stopped on the BUG_ON the fix's message
 *       names for a frame still in use; hvlab keeps it alive by the
 *       guest's reference, so only this check sees the state.
 */
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/grant/grant_table.h"
#include "core/grant/peek.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "fuzz/isolation.h"

#define G_MAPPED    1u      /* a grant mapping of the domain holds it */
#define G_RW        2u      /* ... a writable one */

struct iso {
    struct machine *m;
    struct domain *d;
    uint8_t *grant;         /* per mfn: G_* */
    uint8_t *seen;          /* per mfn: bit (level - 1) * 2 + rw */
    char *name, *detail;
    size_t namelen, detlen;
    int bad;
};

static void note_grant(void *ctx, mfn_t mfn, bool rw)
{
    struct iso *s = ctx;
    if (mfn_valid(s->m, mfn))
        s->grant[mfn] |= G_MAPPED | (rw ? G_RW : 0);
}

static void report(struct iso *s, const char *name, mfn_t mfn, uint64_t va,
                   const char *why)
{
    if (s->bad)
        return;
    s->bad = 1;
    snprintf(s->name, s->namelen, "%s", name);
    const struct page_info *pg = mfn_to_page(s->m, mfn);
    snprintf(s->detail, s->detlen, "d%u va %#llx -> mfn %#llx (owner %u, "
             "type_info %#llx): %s", s->d->domid, (unsigned long long)va,
             (unsigned long long)mfn, pg->owner,
             (unsigned long long)atomic_load(&pg->type_info), why);
}

/* I7: a Xen page of d that Xen no longer shares with it. */
static bool released_xen_page(struct iso *s, mfn_t mfn)
{
    uint64_t c = atomic_load(&mfn_to_page(s->m, mfn)->count_info);
    if (!(c & PGC_xen_heap) || (c & PGC_allocated))
        return false;
    /* the guest may have given the allocation ref back (core/mm/alloc.c
       A8): Xen still shares what its grant table or event channels hold,
       the frame audit's rule (core/mm/audit.c collect_xen_frame) */
    return mfn != s->d->shared_info_mfn && !gnttab_holds_frame(s->d, mfn) &&
           !gnttab_is_status_frame(s->d, mfn);
}

static void leaf(struct iso *s, mfn_t mfn, bool rw, uint64_t va)
{
    const struct page_info *pg = mfn_to_page(s->m, mfn);
    bool own = pg->owner == s->d->domid;
    if (own && released_xen_page(s, mfn)) {
        report(s, FZ_ISO_RELEASED, mfn, va, "a Xen page shared with the "
               "domain that Xen has let go (no PGC_allocated; not one of "
               "its grant table's frames, a status frame only at version 2)");
        return;
    }
    if (!own && !(s->grant[mfn] & G_MAPPED) && !s->d->is_privileged)
        report(s, "isolation: foreign frame mapped", mfn, va,
               "neither owned nor granted");
    if (!rw)
        return;
    uint64_t t = atomic_load(&pg->type_info);
    uint64_t ty = t & PGT_type_mask;
    if (ty >= PGT_l1_page_table && ty <= PGT_l4_page_table &&
        (t & PGT_count_mask))
        report(s, "isolation: writable page-table mapping", mfn, va,
               "writable leaf of a page table");
    if (!own && (s->grant[mfn] & G_MAPPED) && !(s->grant[mfn] & G_RW) &&
        !s->d->is_privileged)
        report(s, "isolation: read-only grant writable", mfn, va,
               "only read-only grant mappings");
}

static void walk(struct iso *s, mfn_t table, unsigned level, bool rw,
                 uint64_t va)
{
    if (s->bad || !mfn_valid(s->m, table))
        return;
    uint8_t bit = (uint8_t)(1u << ((level - 1) * 2 + rw));
    if (s->seen[table] & bit)
        return;
    s->seen[table] |= bit;
    const pte_t *t = mfn_to_virt(s->m, table);
    /* Xen's slots are Xen's in every L4 frame, also one reached through a
       linear (self-referencing) entry as a lower level. */
    bool is_l4 = pgt_level(atomic_load(&mfn_to_page(s->m, table)->type_info))
                 == 4;
    for (unsigned i = 0; i < PT_ENTRIES && !s->bad; i++) {
        if ((level == 4 || is_l4) && i >= 256 && i < 272)
            continue;                   /* Xen's slots */
        pte_t e = t[i];
        if (!pte_present(e))
            continue;
        uint64_t cva = va | ((uint64_t)i << (12 + 9 * (level - 1)));
        if (level == 4 && (i & 256))
            cva |= 0xffff000000000000ULL;
        bool crw = rw && (e & _PAGE_RW);
        mfn_t target = pte_mfn(e);
        if (!mfn_valid(s->m, target))
            continue;
        if (level == 1 || ((level == 2 || level == 3) && (e & _PAGE_PSE)))
            leaf(s, target, crw, cva);
        else
            walk(s, target, level - 1, crw, cva);
    }
}

int fz_isolation_check(struct machine *m, char *name, size_t namelen,
                       char *detail, size_t detlen)
{
    struct iso s = { .m = m, .name = name, .namelen = namelen,
                     .detail = detail, .detlen = detlen };
    s.grant = calloc(m->nr_frames, 1);
    s.seen = calloc(m->nr_frames, 1);
    if (!s.grant || !s.seen) {
        free(s.grant);
        free(s.seen);
        return 0;
    }
    for (unsigned id = 0; id < HV_MAX_DOMAINS && !s.bad; id++) {
        struct domain *d = m->domains[id];
        if (!d)
            continue;
        s.d = d;
        memset(s.grant, 0, m->nr_frames);
        memset(s.seen, 0, m->nr_frames);
        gnttab_audit_refs(d, note_grant, &s);
        for (unsigned v = 0; v < d->nr_vcpus && !s.bad; v++) {
            const struct vcpu *vc = d->vcpu[v];
            if (!vc)
                continue;
            if (d->kind == DOMAIN_PV) {
                walk(&s, vc->guest_table, 4, true, 0);
                if (vc->guest_table_user)
                    walk(&s, vc->guest_table_user, 4, true, 0);
            } else if (d->paging == PAGING_SHADOW) {
                walk(&s, vc->cr3, 4, true, 0);
            }
        }
    }
    free(s.grant);
    free(s.seen);
    return s.bad;
}
