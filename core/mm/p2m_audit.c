/*
 * core/mm/p2m_audit.c - the p2m invariants a snapshot can show
 * (XEN-NOTES section 11, 21-23; p2m.c rule M3 for the M2P).
 *
 *   21  paged / paging_in entries without a frame name none; a paging_out
 *       or paging_in entry with a frame names a frame of the domain.
 *   22  a ram_shared entry names a frame owned by dom_cow, of type
 *       PGT_shared_page with a type reference, M2P SHARED_M2P_ENTRY, and
 *       holding at least the allocation reference plus this gfn's.
 *   23  the hardware view obeys the type: no read-only type is writable,
 *       no frame-less or hole type has any permission, and every entry's
 *       permissions are within what its type allows.
 *   M3  a ram_rw / ram_logdirty / ram_ro entry names an allocated frame of
 *       the domain (never a freed one) whose M2P entry is the gfn.
 *   T   every p2m table frame is Xen's (owner DOMID_XEN).
 */
#include <stdio.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mm/p2m_private.h"

struct p2m_audit_state {
    FILE *out;
    unsigned violations;
};

static void violation(struct p2m_audit_state *s, struct domain *d, pfn_t gfn,
                      npte_t e, const char *inv, const char *what)
{
    s->violations++;
    if (s->out)
        fprintf(s->out, "p2m audit: invariant %s: d%u gfn %#llx entry %#llx: %s\n",
                inv, d->domid, (unsigned long long)gfn, (unsigned long long)e,
                what);
}

static bool audit_leaf(struct domain *d, pfn_t gfn, npte_t e, void *arg)
{
    struct p2m_audit_state *s = arg;
    struct machine *m = d->m;
    mfn_t mfn;
    p2m_type_t t;
    p2m_access_t a;
    p2m_decode(e, &mfn, &t, &a);
    if ((unsigned)t >= p2m_nr_types) {
        violation(s, d, gfn, e, "23", "unknown p2m type");
        return true;
    }
    if (mfn != INVALID_MFN && !mfn_valid(m, mfn)) {
        violation(s, d, gfn, e, "M3", "frame outside the machine");
        return true;
    }
    npte_t perms = e & NPT_RWX;
    if (p2m_is_readonly(t) && (perms & NPT_W))
        violation(s, d, gfn, e, "23", "read-only type writable in the p2m");
    if ((mfn == INVALID_MFN || p2m_is_hole(t)) && perms)
        violation(s, d, gfn, e, "23", "hole or frame-less entry accessible");

    struct page_info *pg = mfn != INVALID_MFN ? mfn_to_page(m, mfn) : NULL;
    uint64_t c = pg ? atomic_load(&pg->count_info) : 0;
    uint64_t ti = pg ? atomic_load(&pg->type_info) : 0;
    switch (t) {
    case p2m_ram_paged:
        if (mfn != INVALID_MFN)
            violation(s, d, gfn, e, "21", "paged gfn still names a frame");
        break;
    case p2m_ram_paging_out:
    case p2m_ram_paging_in:
        if (pg && pg->owner != d->domid)
            violation(s, d, gfn, e, "21", "paging frame not the domain's");
        break;
    case p2m_ram_shared:
        if (!pg) {
            violation(s, d, gfn, e, "22", "shared gfn without a frame");
            break;
        }
        if (pg->owner != DOMID_COW)
            violation(s, d, gfn, e, "22", "shared frame not owned by dom_cow");
        if ((ti & PGT_type_mask) != PGT_shared_page || !(ti & PGT_count_mask))
            violation(s, d, gfn, e, "22", "shared frame without a shared type ref");
        if (get_gpfn_from_mfn(m, mfn) != SHARED_M2P_ENTRY)
            violation(s, d, gfn, e, "22", "shared frame's M2P is not SHARED");
        if (!(c & PGC_allocated) || (c & PGC_count_mask) < 2)
            violation(s, d, gfn, e, "22", "shared frame lacks its references");
        break;
    case p2m_ram_rw:
    case p2m_ram_logdirty:
    case p2m_ram_ro:
        if (!pg) {
            violation(s, d, gfn, e, "M3", "RAM gfn without a frame");
            break;
        }
        if ((c & PGC_state) == PGC_state_free || !(c & PGC_count_mask))
            violation(s, d, gfn, e, "M3", "RAM gfn names a freed frame");
        else if (pg->owner != d->domid)
            violation(s, d, gfn, e, "M3", "RAM gfn names another owner's frame");
        else if (get_gpfn_from_mfn(m, mfn) != gfn)
            violation(s, d, gfn, e, "M3", "M2P does not name the gfn");
        break;
    default:
        break;
    }
    return true;
}

static void audit_tables(struct p2m_audit_state *s, struct domain *d,
                         mfn_t table, unsigned level)
{
    if (mfn_to_page(d->m, table)->owner != DOMID_XEN)
        violation(s, d, 0, table, "T", "p2m table frame not Xen's");
    if (level == 1)
        return;
    const npte_t *t = mfn_to_virt(d->m, table);
    for (unsigned i = 0; i < 512; i++)
        if (t[i] & NPT_RWX)
            audit_tables(s, d, npte_mfn(t[i]), level - 1);
}

unsigned p2m_audit(struct machine *m, FILE *out)
{
    struct p2m_audit_state s = { .out = out };
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d || !d->p2m)
            continue;
        audit_tables(&s, d, d->p2m->root, NPT_LEVELS);
        p2m_for_each_leaf(d, audit_leaf, &s);
    }
    return s.violations;
}

struct foreign_refs {
    void (*ref)(void *ctx, mfn_t mfn);
    void *ctx;
};

static bool foreign_leaf(struct domain *d, pfn_t gfn, npte_t e, void *arg)
{
    struct foreign_refs *f = arg;
    mfn_t mfn;
    p2m_type_t t;
    p2m_access_t a;
    (void)d;
    (void)gfn;
    p2m_decode(e, &mfn, &t, &a);
    if (t == p2m_map_foreign && mfn != INVALID_MFN)
        f->ref(f->ctx, mfn);
    return true;
}

void p2m_foreign_refs(struct domain *d, void (*ref)(void *ctx, mfn_t mfn),
                      void *ctx)
{
    struct foreign_refs f = { ref, ctx };
    p2m_for_each_leaf(d, foreign_leaf, &f);
}
