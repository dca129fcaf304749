/*
 * core/grant/audit.c - invariants 24-26 (private.h G24-G26) against the
 * live state of every domain of a machine.
 *
 * Rules:
 *   U1  Recompute from the maptrack entries (the mappings) what every
 *       active entry's pin must be, then compare pins, the status bits and
 *       the shared entries; then check each mapping's PTE / p2m entry and
 *       writable type ref, and that every _PAGE_GNTTAB entry of a validated
 *       L1 belongs to a mapping.  A quiescent machine is expected (no
 *       transient copy pins, no unmap in progress).
 *   U2  One line per violation: invariant, domains, ref or handle, what
 *       was expected and what was found.
 *   U3  hv_audit_changed (core/audit.h A3) answers from the last result
 *       unless an HV_MARK_MM, HV_MARK_GNT or HV_MARK_STORE mutator ran
 *       since: a new input read here needs its mutator marked too.
 *   U4  The search for grant PTEs without a mapping (scan_l1, every
 *       validated L1 of every PV domain) is skipped when it cannot find
 *       one: the mappings whose grant PTE checked out, counted once per
 *       (L1, slot) and only in a validated L1 of their own domain, are as
 *       many as the grant PTEs the incremental frame audit counts in
 *       validated L1s (core/mm/audit_incr.c I9), which the caller passes
 *       (gnttab_audit_counted, from core/audit.c).  Those mappings' slots
 *       are grant PTEs of validated L1s, so equal numbers mean they are
 *       all of them.  Without a count, or with a stream, the search runs.
 *   U5  A crashed mapper's grant PTE is not required to be in place: Xen
 *       crashes a PV domain whose L1 is demoted with a grant PTE in it
 *       (core/mm/pv_pt.c P9) and keeps that mapping in the maptrack until
 *       teardown, which releases it from the maptrack alone
 *       (gnttab_release_mappings), never through the PTE; meanwhile the
 *       L1 may be given back and reused (the privileged domain's
 *       decrease_reservation on the crashed domain,
 *       tests/data/fuzz/grant-crashed-mapper-l1-freed).  A grant PTE that
 *       is still there is checked and counted as any other.
 *   U6  An L1 inside an open writable-pagetable batch (unhook mode) holds
 *       the guest's native stores, unvalidated until the flush, which
 *       puts every grant PTE of the snapshot back whatever was stored
 *       over it (core/mm/ptwr.c U6): its grant PTEs are read from the
 *       snapshot (accounted_l1), as core/mm/audit.c U9 reads its other
 *       entries.
 */
#include <stdlib.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/grant/private.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/pv_pt.h"
#include "core/pte.h"

struct gaudit {
    struct machine *m;
    FILE *out;
    unsigned violations;
    uint32_t *want[HV_MAX_DOMAINS];     /* expected pin word per ref */
    uint64_t *slots;                    /* U4: (L1 << 9 | slot) of PTEs */
    size_t nslots, capslots;            /* that checked out */
};

/* U4: a mapping's grant PTE checked out; note it if its L1 counts. */
static void note_slot(struct gaudit *a, struct domain *ld, mfn_t l1,
                      unsigned slot)
{
    uint64_t t = atomic_load(&mfn_to_page(a->m, l1)->type_info);
    if ((t & PGT_type_mask) != PGT_l1_page_table || !(t & PGT_validated) ||
        mfn_to_page(a->m, l1)->owner != ld->domid)
        return;
    if (a->nslots == a->capslots) {
        size_t cap = a->capslots ? a->capslots * 2 : 64;
        uint64_t *p = realloc(a->slots, cap * sizeof(*p));
        if (!p)
            return;         /* fewer slots: the search runs (U4) */
        a->slots = p;
        a->capslots = cap;
    }
    a->slots[a->nslots++] = (uint64_t)l1 << 9 | slot;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* U4: can the search be skipped? */
static bool all_grant_ptes_mapped(struct gaudit *a, uint64_t ptes)
{
    if (a->nslots)
        qsort(a->slots, a->nslots, sizeof(*a->slots), cmp_u64);
    uint64_t distinct = 0;
    for (size_t i = 0; i < a->nslots; i++)
        distinct += i == 0 || a->slots[i] != a->slots[i - 1];
    return distinct == ptes;
}

static void bad(struct gaudit *a, unsigned inv, const char *fmt,
                unsigned long long x, unsigned long long y,
                unsigned long long z, unsigned long long w)
{
    a->violations++;
    if (!a->out)
        return;
    fprintf(a->out, "grant audit: invariant %u: ", inv);
    fprintf(a->out, fmt, x, y, z, w);
    fprintf(a->out, "\n");
}

static unsigned capacity(const struct grant_table *gt)
{
    return gt->nr_frames * GNT_PER_FRAME_V1;
}

/* U6: the entries the hypervisor accounts for an L1 of d: its snapshot
   while an open writable-pagetable batch holds it, else the table. */
static const pte_t *accounted_l1(struct machine *m, struct domain *d,
                                 mfn_t l1)
{
    const uint64_t *snap = d && d->ptwr ? ptwr_batch_snapshot(d, l1) : NULL;
    return snap ? snap : (const pte_t *)mfn_to_virt(m, l1);
}

static void collect_maptrack(struct gaudit *a, struct domain *ld)
{
    struct grant_table *gt = ld->grant_table;
    struct machine *m = a->m;
    unsigned free_n = 0, used = 0;
    for (uint32_t h = gt->maptrack_free; h != MAPTRACK_TAIL && free_n <=
         gt->maptrack_limit; h = gt->maptrack[h].next_free) {
        free_n++;
        if (gt->maptrack[h].flags)
            bad(a, 25, "d%llu handle %llu is on the free list with flags "
                "%#llx%.0llu", ld->domid, h, gt->maptrack[h].flags, 0);
    }
    for (uint32_t h = 0; h < gt->maptrack_limit; h++) {
        struct grant_mapping *map = &gt->maptrack[h];
        if (!map->flags)
            continue;
        used++;
        struct domain *rd = machine_domain(m, map->domid);
        if (!rd || !rd->grant_table || !a->want[rd->domid] ||
            map->ref >= capacity(rd->grant_table)) {
            bad(a, 25, "d%llu handle %llu names d%llu ref %llu, no such "
                "entry", ld->domid, h, map->domid, map->ref);
            continue;
        }
        bool ro = map->flags & GNTMAP_readonly;
        uint32_t *w = &a->want[rd->domid][map->ref];
        if (map->flags & GNTMAP_host_map)
            *w += ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
        if (map->flags & GNTMAP_device_map)
            *w += ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
        struct active_grant_entry *act = &rd->grant_table->active[map->ref];
        if (act->domid != ld->domid || act->mfn != map->mfn)
            bad(a, 25, "d%llu handle %llu: active entry names d%llu mfn "
                "%#llx", ld->domid, h, act->domid, act->mfn);
        /* 26: the writable type ref of a PV granter's frame (or of a
           writable self-map). */
        if (gnt_host_typed(ro, ld, rd) ||
            (!ro && (map->flags & GNTMAP_device_map))) {
            uint64_t t = atomic_load(&mfn_to_page(m, map->mfn)->type_info);
            if ((t & PGT_type_mask) != PGT_writable_page ||
                !(t & PGT_count_mask))
                bad(a, 26, "d%llu handle %llu: writable map of mfn %#llx "
                    "without a writable type ref (type_info %#llx)",
                    ld->domid, h, map->mfn, t);
        }
        if (!(map->flags & GNTMAP_host_map))
            continue;
        if (is_pv_domain(ld)) {
            pte_t e = map->l1mfn == INVALID_MFN ? 0             /* U6 */
                      : __atomic_load_n(&accounted_l1(m, ld, map->l1mfn)
                                            [map->slot], __ATOMIC_RELAXED);
            if (!pte_present(e) || !(e & _PAGE_GNTTAB) ||
                pte_mfn(e) != map->mfn || !(e & _PAGE_RW) != ro) {
                /* U5: a crashed mapper's L1 may be gone */
                if (!domain_crashed(ld))
                    bad(a, 26, "d%llu handle %llu: grant PTE (L1 %#llx) is "
                        "%#llx", ld->domid, h, map->l1mfn, e);
            } else
                note_slot(a, ld, map->l1mfn, map->slot);
        } else {
            p2m_type_t t;
            mfn_t cur = get_gfn_query_unlocked(ld, map->host_addr >>
                                               PAGE_SHIFT, &t);
            if (cur != map->mfn ||
                t != (ro ? p2m_grant_map_ro : p2m_grant_map_rw))
                bad(a, 26, "d%llu handle %llu: p2m entry has mfn %#llx "
                    "type %llu", ld->domid, h, cur, t);
        }
    }
    if (free_n + used != gt->maptrack_limit)
        bad(a, 25, "d%llu maptrack: %llu free + %llu in use != %llu",
            ld->domid, free_n, used, gt->maptrack_limit);
}

static void check_active(struct gaudit *a, struct domain *rd)
{
    struct grant_table *gt = rd->grant_table;
    unsigned n = capacity(gt), live = nr_grant_entries(gt);
    for (unsigned ref = 0; ref < n; ref++) {
        struct active_grant_entry *act = &gt->active[ref];
        uint32_t want = a->want[rd->domid][ref];
        if (act->pin != want)
            bad(a, 25, "d%llu ref %llu: pin %#llx, mappings account for "
                "%#llx", rd->domid, ref, act->pin, want);
        for (unsigned k = 0; k < 4; k++)
            if (((act->pin >> (8 * k)) & 0xFF) > 0x80)
                bad(a, 24, "d%llu ref %llu: pin %#llx has a counter past "
                    "0x80%.0llu", rd->domid, ref, act->pin, 0);
        if (ref >= live)
            continue;
        uint16_t s = gnt_status_bits(gt, ref);
        bool reading = s & GTF_reading, writing = s & GTF_writing;
        if (reading != (act->pin != 0) ||
            writing != ((act->pin & GNTPIN_write_mask) != 0))
            bad(a, 24, "d%llu ref %llu: pin %#llx but status bits %#llx",
                rd->domid, ref, act->pin, s);
        if (act->pin) {
            uint32_t w = atomic_load(gnt_shared_word(gt, ref));
            if ((domid_t)(w >> 16) != act->domid)
                bad(a, 24, "d%llu ref %llu: pinned for d%llu, entry now "
                    "names d%llu", rd->domid, ref, act->domid, w >> 16);
        }
    }
}

/* 26: a _PAGE_GNTTAB entry in a validated L1 belongs to a mapping. */

static bool scan_l1(struct domain *d, mfn_t mfn, void *arg)
{
    struct gaudit *a = arg;
    struct machine *m = a->m;
    uint64_t t = atomic_load(&mfn_to_page(m, mfn)->type_info);
    if ((t & PGT_type_mask) != PGT_l1_page_table || !(t & PGT_validated))
        return true;
    struct grant_table *gt = d->grant_table;
    const pte_t *tab = accounted_l1(m, d, mfn); /* one array; U6 */
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = __atomic_load_n(&tab[i], __ATOMIC_RELAXED);
        if ((e & (_PAGE_PRESENT | _PAGE_GNTTAB)) !=
            (_PAGE_PRESENT | _PAGE_GNTTAB))
            continue;
        bool found = false;
        for (uint32_t h = 0; gt && h < gt->maptrack_limit && !found; h++) {
            struct grant_mapping *map = &gt->maptrack[h];
            found = map->flags && map->l1mfn == mfn && map->slot == i;
        }
        if (!found)
            bad(a, 26, "d%llu L1 %#llx slot %llu: grant PTE %#llx with no "
                "mapping", d->domid, mfn, i, e);
    }
    return true;
}

/* counted: the caller's count of grant PTEs (U4), or NULL. */
static unsigned audit(struct machine *m, FILE *out, const uint64_t *counted)
{
    struct gaudit a = { .m = m, .out = out };
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (d && d->grant_table)
            a.want[id] = calloc(capacity(d->grant_table) + 1,
                                sizeof(uint32_t));
    }
    /* With a stream the text keeps its order: each domain's mappings,
       then its L1s. */
    bool interleave = out != NULL || counted == NULL;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d || !d->grant_table)
            continue;
        collect_maptrack(&a, d);
        if (interleave && is_pv_domain(d))
            domain_for_each_page(d, scan_l1, &a);
    }
    if (!interleave && !all_grant_ptes_mapped(&a, *counted))    /* U4 */
        for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
            struct domain *d = m->domains[id];
            if (d && d->grant_table && is_pv_domain(d))
                domain_for_each_page(d, scan_l1, &a);
        }
    free(a.slots);
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (d && d->grant_table && a.want[id])
            check_active(&a, d);
        free(a.want[id]);
    }
    return a.violations;
}

unsigned gnttab_audit(struct machine *m, FILE *out)
{
    return audit(m, out, NULL);
}

unsigned gnttab_audit_counted(struct machine *m, uint64_t grant_ptes)
{
    return audit(m, NULL, &grant_ptes);
}

void gnttab_audit_refs(struct domain *d,
                       void (*ref)(void *ctx, mfn_t mfn, bool rw), void *ctx)
{
    struct grant_table *gt = d->grant_table;
    if (!gt)
        return;
    for (uint32_t h = 0; h < gt->maptrack_limit; h++) {
        struct grant_mapping *map = &gt->maptrack[h];
        if (!map->flags)
            continue;
        struct domain *rd = machine_domain(d->m, map->domid);
        bool ro = map->flags & GNTMAP_readonly;
        if (map->flags & GNTMAP_host_map)
            ref(ctx, map->mfn, gnt_host_typed(ro, d, rd));
        if (map->flags & GNTMAP_device_map)
            ref(ctx, map->mfn, !ro);
    }
}
