/*
 * core/mm/audit.c - check the frame/type invariants (XEN-NOTES 11, 1-12).
 *
 * Rules:
 *   U1  The audit recomputes every reference the invariants talk about
 *       from the live tables, never from the counters it checks: one pass
 *       over every domain's frames collecting what each validated (or
 *       partial: its entries [0, nr_validated_ptes)) table's entries hold,
 *       the pins, the vCPU roots and parked type puts; then one pass
 *       comparing with the words.  O(frames + entries).
 *   U2  It expects a quiescent machine (no hypercall in flight, no vCPU
 *       running): then the general count is exactly what it finds
 *       (invariant 1 read strictly, so that a leak is reported too).
 *   U3  An L1 inside an open writable-pagetable batch (unhook mode) may be
 *       validated and mapped writable (invariant 3's exception): asked
 *       through ptwr_frame_in_batch(); its writable mappings are then not
 *       counted as writable type refs.
 *   U4  Each violation is one paragraph: invariant number and name, frame,
 *       owner, both words decoded, what was expected, and the frame's last
 *       transitions from the history ring.
 *   U5  Invariant 22's mapping half: no L1 entry maps a dom_cow (shared)
 *       frame writable.  Shared frames are on no page list and their
 *       p2m references are not seen here, so their counts are left to
 *       the p2m audit (p2m_audit.c).
 *   U6  Invariant 12: what XEN_DOMCTL_getpageframeinfo3 would report for
 *       each frame of a domain (pfinfo_classify, the domctl's own rule,
 *       under the machine's mm.pfinfo_devalidated) names a page-table type
 *       only if the frame is validated or pinned.  It holds by construction
 *       with notab (Xen since 0a87e677f4); with pt, an unpinned devalidated
 *       table (stale type bits, page.h R4) is reported as a violation:
 *       story D's hazard made visible (docs/pfinfo.md).
 *   U7  It runs after every call the fuzzer makes (fuzz/exec.c E3), so its
 *       cost is the fuzzer's: the per-frame scratch is kept per thread
 *       between audits (cleared, never reallocated while the machine's
 *       size holds), and table entries are read as one array per table,
 *       absent entries skipped before anything else is looked at.
 *   U8  The fuzzer calls it through hv_audit_changed (core/audit.h A1-A11),
 *       which answers from the last result when no HV_MARK_MM mutator ran
 *       since, and otherwise asks the incremental audit of the frames
 *       touched since (core/mm/audit_incr.c), falling back here when that
 *       finds anything; everything this file reads is behind such a mutator
 *       (A2), so a new input here needs its mutator marked - and a new
 *       per-frame input its mutator touching the frame (audit_incr.c I3) -
 *       and a new check here its twin in audit_incr.c check().
 *   U9  While a writable-pagetable batch is open (unhook mode, U3), the
 *       hypervisor's accounting is the batch's, not the live tables': the
 *       L2 entry the batch unhooked has PRESENT cleared yet still holds
 *       its L1's general and type references, so it is counted as the
 *       present entry it was (ptwr_l2_entry_unhooked); and the L1's live
 *       entries are the guest's native stores, unvalidated until the
 *       flush, so the references it holds are those of its snapshot
 *       (ptwr_batch_snapshot).  Without this, a quiescent machine with an
 *       open batch (a race run whose writer made no hypercall after its
 *       stores) read as invariants 1 and 2 broken.  hv_audit_changed
 *       audits in full while a batch is open (core/audit.h A4), so the
 *       incremental audit needs no twin.
 *   Not checkable from a snapshot: 5 and 11 (they are about order; the
 *   trace analysis checks them).
 */
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/grant/grant_table.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/history.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/pfinfo.h"
#include "core/mm/pv_pt.h"
#include "core/vcpu.h"

/* What the audit found pointing at one frame. */
struct expect {
    uint32_t gen;           /* general refs */
    uint32_t type;          /* type refs (PT or writable) */
    uint32_t rw_maps;       /* RW L1 entries mapping it */
    int32_t linear;         /* linear entries it holds (+) / uses (-) */
    uint32_t linear_uses;
    uint8_t on_list;        /* seen on its owner's page list */
};

struct audit {
    struct machine *m;
    FILE *out;
    struct expect *e;
    unsigned violations;
};

static const char *const inv_name[23] = {
    [1] = "general count covers every reference",
    [2] = "page-table type count equals its users",
    [3] = "no writable mapping of a page table",
    [4] = "writable type count equals RW mappings",
    [6] = "partial state owns one type ref",
    [7] = "page-table type with no users is not validated",
    [8] = "pinned implies validated and in use",
    [9] = "validated table entries are well-formed",
    [10] = "linear count: entries or uses, not both",
    [12] = "reported page-table type is validated or pinned",
    [22] = "no writable mapping of a shared (dom_cow) frame",
};

static void decode_count(uint64_t c, char *buf, size_t n)
{
    static const char *const state[4] = { "inuse", "offlining", "offlined",
                                          "free" };
    snprintf(buf, n, "%s%s%s count=%llu",
             state[(c & PGC_state) >> PGC_state_shift],
             c & PGC_allocated ? " allocated" : "",
             c & PGC_xen_heap ? " xen_heap" : "",
             (unsigned long long)(c & PGC_count_mask));
}

static void decode_type(uint64_t t, char *buf, size_t n)
{
    static const char *const type[8] = { "none", "L1", "L2", "L3", "L4",
                                         "seg_desc", "shared", "writable" };
    snprintf(buf, n, "%s%s%s%s%s n=%llu",
             type[(t & PGT_type_mask) >> PGT_type_shift],
             t & PGT_validated ? " validated" : "",
             t & PGT_pinned ? " pinned" : "",
             t & PGT_partial ? " partial" : "",
             t & PGT_locked ? " locked" : "",
             (unsigned long long)(t & PGT_count_mask));
}

static void violation(struct audit *a, unsigned inv, mfn_t mfn,
                      const char *fmt, unsigned long long want,
                      unsigned long long got)
{
    a->violations++;
    if (!a->out)
        return;
    struct page_info *pg = mfn_to_page(a->m, mfn);
    char cb[96], tb[96];
    decode_count(atomic_load(&pg->count_info), cb, sizeof(cb));
    decode_type(atomic_load(&pg->type_info), tb, sizeof(tb));
    char owner[16];
    if (pg->owner == DOMID_COW)
        snprintf(owner, sizeof(owner), "dom_cow");
    else
        snprintf(owner, sizeof(owner), "d%u", pg->owner);
    fprintf(a->out, "audit: invariant %u (%s): mfn %#llx owner %s\n", inv,
            inv < 23 && inv_name[inv] ? inv_name[inv] : "?",
            (unsigned long long)mfn, owner);
    fprintf(a->out, "    count_info %#018llx [%s]\n    type_info  %#018llx [%s]\n",
            (unsigned long long)atomic_load(&pg->count_info), cb,
            (unsigned long long)atomic_load(&pg->type_info), tb);
    fprintf(a->out, "    ");
    fprintf(a->out, fmt, want, got);
    fprintf(a->out, "\n");
    frame_history_print(a->m, mfn, 12, a->out);
}

static bool ptwr_batch(struct machine *m, mfn_t mfn)
{
    struct domain *d = page_get_owner(m, mfn);
    return d && d->ptwr && ptwr_frame_in_batch(d, mfn);
}

/* Record what one present entry of table `tbl` (level) holds. */
static void count_entry(struct audit *a, struct domain *d, mfn_t tbl,
                        unsigned level, unsigned slot, pte_t e)
{
    struct machine *m = a->m;
    if (level == 1 && (e & _PAGE_GNTTAB))
        return;     /* its refs are the grant mapping's (gnttab_audit_refs);
                       core/grant's audit checks the entry */
    if (e & pt_disallow_mask(level)) {
        violation(a, 9, tbl, "entry with disallowed flags (slot %llu: %#llx)",
                  slot, e);
        return;
    }
    mfn_t t = pte_mfn(e);
    if (!mfn_valid(m, t)) {
        violation(a, 9, tbl, "entry maps a frame outside RAM (slot %llu: %#llx)",
                  slot, e);
        return;
    }
    struct expect *x = &a->e[t];
    if (level == 1) {
        x->gen++;
        if ((e & _PAGE_RW) && mfn_to_page(m, t)->owner == DOMID_COW) {
            /* 22: shared frames are copy-on-write; an RW PTE lets one
               writer change every sharer's page (story B). */
            violation(a, 22, t, "writable mapping by d%llu (L1 mfn %#llx)",
                      d->domid, tbl);
            return;
        }
        struct domain *o = page_get_owner(m, t);
        if ((e & _PAGE_RW) && (o == d || !o || o->kind != DOMAIN_HVM)) {
            x->rw_maps++;
            x->type++;
        }
        return;
    }
    if (t == tbl)
        return;                                 /* self-map: holds nothing */
    uint64_t tt = atomic_load(&mfn_to_page(m, t)->type_info);
    x->gen++;
    x->type++;
    if (pgt_level(tt) == level) {
        a->e[tbl].linear++;
        x->linear_uses++;
        if (e & _PAGE_RW)
            violation(a, 9, tbl, "linear entry is writable (slot %llu: %#llx)",
                      slot, e);
    } else if (pgt_level(tt) != level - 1 || !(tt & PGT_validated)) {
        violation(a, 9, tbl, "entry %llu does not map a validated table of "
                  "the level below (entry %#llx)", slot, e);
    }
}

/* A reference held by the paging mode's own tables (shadow L1 entries). */
static void count_mode_ref(void *ctx, mfn_t t, bool rw)
{
    struct audit *a = ctx;
    if (!mfn_valid(a->m, t))
        return;
    a->e[t].gen++;
    if (rw) {
        a->e[t].rw_maps++;
        a->e[t].type++;
    }
}

static bool collect_frame(struct domain *d, mfn_t mfn, void *arg)
{
    struct audit *a = arg;
    struct machine *m = a->m;
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t c = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    struct expect *x = &a->e[mfn];

    x->on_list = 1;
    if (c & PGC_allocated)
        x->gen++;
    if (t & PGT_pinned) {
        x->gen++;
        x->type++;
    }
    if (t & PGT_partial) {
        x->gen++;                               /* light ref */
        x->type++;
    }
    if (t & PGT_locked)
        x->type++;                              /* page_lock's own ref */

    unsigned level = pgt_level(t);
    if (!level || !(t & (PGT_validated | PGT_partial)))
        return true;
    unsigned upto = (t & PGT_validated) ? PT_ENTRIES : pg->nr_validated_ptes;
    const pte_t *tab = mfn_to_virt(m, mfn);                     /* U7 */
    bool batch = d->ptwr != NULL;                               /* U9 */
    if (batch && level == 1) {
        const uint64_t *snap = ptwr_batch_snapshot(d, mfn);
        if (snap)
            tab = snap;
    }
    for (unsigned i = 0; i < upto; i++) {
        pte_t e = __atomic_load_n(&tab[i], __ATOMIC_RELAXED);
        if (batch && level == 2 && e && !pte_present(e) &&
            ptwr_l2_entry_unhooked(d, mfn, i))
            e |= _PAGE_PRESENT;
        if (level == 4 && i >= XEN_L4_SLOT_FIRST && i <= XEN_L4_SLOT_LAST) {
            if ((t & PGT_validated) &&
                e != m->xen_l4_slots[i - XEN_L4_SLOT_FIRST])
                violation(a, 9, mfn, "Xen L4 slot %llu holds %#llx", i, e);
            continue;
        }
        if (pte_present(e))
            count_entry(a, d, mfn, level, i, e);
    }
    return true;
}

/* A Xen page shared with d (alloc.c A6): Xen holds one type ref until its
   Xen user lets the page go (free_xen_shared_page drops it with the
   allocation ref).  The guest may have given the allocation ref back first
   (decrease_reservation, alloc.c A8): a page its grant table or event
   channels still hold keeps Xen's ref then. */
static bool collect_xen_frame(struct domain *d, mfn_t mfn, void *arg)
{
    struct audit *a = arg;
    if ((atomic_load(&mfn_to_page(a->m, mfn)->count_info) & PGC_allocated) ||
        mfn == d->shared_info_mfn || gnttab_holds_frame(d, mfn))
        a->e[mfn].type++;
    return collect_frame(d, mfn, arg);
}

static void collect_vcpu_roots(struct audit *a, struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        const mfn_t roots[2] = { v->guest_table, v->guest_table_user };
        for (unsigned k = 0; k < 2; k++)
            if (roots[k] != INVALID_MFN && mfn_valid(a->m, roots[k])) {
                a->e[roots[k]].gen++;
                a->e[roots[k]].type++;
            }
        if (v->hvm_cr3_frame != INVALID_MFN &&        /* hvm.c rule 4 */
            mfn_valid(a->m, v->hvm_cr3_frame))
            a->e[v->hvm_cr3_frame].gen++;
        if (v->old_guest_table != INVALID_MFN &&
            mfn_valid(a->m, v->old_guest_table)) {
            a->e[v->old_guest_table].gen++;
            if (!v->old_guest_table_partial)
                a->e[v->old_guest_table].type++;
        }
    }
}

static void check_frame(struct audit *a, mfn_t mfn)
{
    struct machine *m = a->m;
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t c = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    struct expect *x = &a->e[mfn];
    uint64_t n = t & PGT_count_mask;
    unsigned level = pgt_level(t);
    bool batch = false;

    if (!x->on_list) {
        if (pg->owner < HV_MAX_DOMAINS && machine_domain(m, pg->owner))
            violation(a, 1, mfn, "frame of a domain missing from its page "
                      "list (%llu refs found, count %llu)", x->gen,
                      c & PGC_count_mask);
        else if (x->gen && pg->owner != DOMID_COW)  /* 22 checks those */
            violation(a, 1, mfn, "%llu references to a frame no domain owns "
                      "(count %llu)", x->gen, c & PGC_count_mask);
        return;
    }
    if (level == 1 && x->rw_maps && (t & PGT_validated))
        batch = ptwr_batch(m, mfn);                     /* U3 */

    /* 1 (strict on a quiescent machine, U2). */
    if ((c & PGC_count_mask) != x->gen)
        violation(a, 1, mfn, "references found %llu, general count %llu",
                  x->gen, c & PGC_count_mask);

    if (level) {
        uint64_t want = x->type - (batch ? x->rw_maps : 0);
        /* Tables in a (de)validation of their own are left to 6. */
        bool busy = n && !(t & (PGT_validated | PGT_partial));
        if (!busy && n != want)
            violation(a, 2, mfn, "type users found %llu, type count %llu",
                      want, n);
        if (n && x->rw_maps && !batch)
            violation(a, 3, mfn, "%llu writable mappings (expected %llu)",
                      x->rw_maps, 0);
        if (!n && (t & PGT_validated))
            violation(a, 7, mfn, "validated with type count %llu (want %llu)",
                      0, n);
    } else if ((t & PGT_type_mask) == PGT_writable_page) {
        if (n != x->type)
            violation(a, 4, mfn, "RW mappings found %llu, writable type "
                      "count %llu", x->type, n);
    } else if (x->rw_maps) {
        violation(a, 4, mfn, "RW mappings found %llu, type count %llu of a "
                  "non-writable type", x->rw_maps, n);
    }
    /* 12 (U6). */
    uint32_t rep = pfinfo_classify(c, t, m->opt.pfinfo_devalidated);
    if (pfinfo_level(rep) && !(t & (PGT_validated | PGT_pinned)))
        violation(a, 12, mfn, "getpageframeinfo3 reports L%lluTAB for a "
                  "table neither validated nor pinned (type count %llu)",
                  pfinfo_level(rep), n);
    if ((t & PGT_partial) && n != 1)
        violation(a, 6, mfn, "partial with type count %llu (want %llu)", n, 1);
    if ((t & PGT_pinned) && (!n || !(t & (PGT_validated | PGT_partial))))
        violation(a, 8, mfn, "pinned with type count %llu (want >= %llu) or "
                  "not validated", n, 1);
    if (level >= 2) {
        int16_t lc = pg->linear_pt_count;
        if (x->linear && x->linear_uses)
            violation(a, 10, mfn, "%llu linear entries and %llu linear uses",
                      (unsigned long long)x->linear, x->linear_uses);
        else if (x->linear_uses && lc != -(int32_t)x->linear_uses)
            violation(a, 10, mfn, "linear uses found %llu, linear_pt_count "
                      "%lld", x->linear_uses, (long long)lc);
        else if (x->linear && lc != x->linear)
            violation(a, 10, mfn, "linear entries found %llu, "
                      "linear_pt_count %lld", (unsigned long long)x->linear,
                      (long long)lc);
    }
}

/* A p2m_map_foreign entry holds a general reference (p2m_foreign.c F5). */
static void count_foreign_ref(void *ctx, mfn_t mfn)
{
    struct audit *a = ctx;
    if (mfn_valid(a->m, mfn))
        a->e[mfn].gen++;
}

/* U7: the calling thread's scratch, kept between audits.  Never freed:
   one array per thread that ever audited, sized to the largest machine. */
static __thread struct expect *scratch;
static __thread uint64_t scratch_frames;

static struct expect *scratch_get(uint64_t nr_frames)
{
    if (nr_frames > scratch_frames) {
        struct expect *e = realloc(scratch, nr_frames * sizeof(*e));
        if (!e)
            return NULL;
        scratch = e;
        scratch_frames = nr_frames;
    }
    memset(scratch, 0, nr_frames * sizeof(*scratch));
    return scratch;
}

unsigned mm_audit(struct machine *m, FILE *out)
{
    struct audit a = { .m = m, .out = out };
    a.e = scratch_get(m->nr_frames);
    if (!a.e) {
        if (out)
            fprintf(out, "audit: out of memory\n");
        return 1;
    }
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d)
            continue;
        domain_for_each_page(d, collect_frame, &a);
        domain_for_each_xen_page(d, collect_xen_frame, &a);
        collect_vcpu_roots(&a, d);
        p2m_foreign_refs(d, count_foreign_ref, &a);
        gnttab_audit_refs(d, count_mode_ref, &a);   /* grant mappings */
        if (d->paging_hooks && d->paging_hooks->audit_refs)
            d->paging_hooks->audit_refs(d, count_mode_ref, &a);
    }
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        struct page_info *pg = mfn_to_page(m, mfn);
        if (pg->owner == DOMID_XEN && !a.e[mfn].gen)
            continue;                           /* Xen's own frames */
        if (!a.e[mfn].on_list && !a.e[mfn].gen &&
            (atomic_load(&pg->count_info) & PGC_state) == PGC_state_free)
            continue;
        check_frame(&a, mfn);
    }
    return a.violations;
}
