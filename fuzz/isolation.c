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
 *   I8  A struct fz_iso keeps, per domain, what its walks reached: each
 *       (table, level, rw) walked, each frame reached as a leaf (read-only,
 *       writable), the grant bits, and the Xen pages reached as leaves.
 *       Between two full walks it only grows, so it holds all a walk from
 *       scratch would reach now (I11) and possibly more.
 *   I9  Asked again, it looks at what changed since (core/audit.h A11):
 *       each frame the frame audit names is walked again as a table in
 *       every (level, rw) it was reached as (its live entries: a changed
 *       entry leads to new tables and leaves, whose seen bits stop the
 *       rest) and its leaf checks are redone with its words now; after a
 *       grant operation the grant bits are gathered again and the frames
 *       whose bits were or are set, and the Xen pages reached as leaves,
 *       checked again; after a root change the PV roots are walked
 *       (reached ones stop at once) and a translated domain's walk is
 *       redone whole; "everything" is a walk from scratch.
 *   I10 A finding of the kept walk may come from a mapping gone since (I8
 *       keeps more): a full walk, from scratch, judges it, and its answer
 *       and its text are the answer.  Findings are what a run ends on, so
 *       this costs nothing in the common case.  A walk that stopped at a
 *       finding has not reached everything: the next check walks it all.
 *   I11 fz_iso_verify, the tests' net: a walk from scratch into a fresh
 *       struct must reach nothing the kept one lacks (seen, leaf bits) and
 *       gather the same grant bits.  A miss means a change A11 did not
 *       report.
 *   I12 The per-frame bytes (seen, leaf, grant) and the lists take part in
 *       the write record (core/wrec.h), each a block of whole pages of its
 *       own (W8): each store is noted first, so the snapshot reset puts
 *       back only the pages a run changed.  A walk from
 *       scratch notes seen and leaf whole and keeps the epoch it did so in
 *       (iso_dom.noted, core/wrec.h W7): its thousands of leaves then
 *       store without a note each.
 *   I13 Leaf bits outlive the mapping that set them: a walk again of a
 *       changed table adds what its slots reach now and takes nothing
 *       away.  A frame checked again with a writable bit it no longer
 *       deserves - a page that was mapped writable and is a page table
 *       now, a frame freed since it was mapped - was a finding of the
 *       kept walk that the walk from scratch then cleared (about one
 *       check in fifty on an AFL++ queue, each paying a whole walk).  So
 *       before checking a leaf again the walk asks the frame audit's
 *       cache (core/audit.h A12) whether any counted table can still map
 *       it, or map it writable; on "no" it forgets those bits
 *       (fz_iso_stats.forgotten).  "No" is exact; "perhaps" leaves the
 *       bits and the check as they were.
 *   I14 I2's exception, as the frame audit's (core/mm/audit.c U3): an L1
 *       inside an open writable-pagetable batch of its owner (unhook
 *       mode) is mapped writable by design until the batch is flushed.
 */
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/grant/grant_table.h"
#include "core/grant/peek.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/page.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "core/wrec.h"
#include "fuzz/isolation.h"

#define G_MAPPED    1u      /* a grant mapping of the domain holds it */
#define G_RW        2u      /* ... a writable one */
#define G_LISTED    4u      /* on gl[] */

#define LF_RO       1u      /* reached as a read-only leaf */
#define LF_RW       2u      /* ... as a writable one */
#define LF_XEN      4u      /* on xl[] (a Xen page reached as a leaf) */

struct iso_list {
    uint32_t *v;
    uint32_t n, cap;
    uint64_t noted;                 /* I12: core/wrec.h W9 */
};

struct iso_dom {                    /* I8 */
    uint8_t *seen;                  /* per mfn: bit (level - 1) * 2 + rw */
    uint8_t *leaf;                  /* per mfn: LF_* */
    uint8_t *grant;                 /* per mfn: G_* */
    struct iso_list gl;             /* frames with grant bits */
    struct iso_list xl;             /* Xen pages reached as leaves */
    uint64_t noted;                 /* I12: epoch seen and leaf noted whole */
};

struct fz_iso {
    struct machine *m;
    uint64_t nr;
    struct iso_dom *dom[HV_MAX_DOMAINS];
    struct iso_list changed;        /* frames handed by A11 */
    struct iso_list scratch;        /* grants_again's old grant frames */
    struct fz_iso_stats st;
    bool whole;                     /* the next check walks it all (I10) */
};

struct iso {                        /* one check */
    struct fz_iso *fi;
    struct machine *m;
    struct domain *d;
    struct iso_dom *ds;
    char *name, *detail;
    size_t namelen, detlen;
    int bad;
};

static void list_free(struct iso_list *l)
{
    hv_wrec_free(l->v, l->cap * sizeof(*l->v));         /* I12 */
    l->v = NULL;
    l->n = l->cap = 0;
    l->noted = 0;                                       /* another array */
}

static bool list_push(struct fz_iso *fi, struct iso_list *l, uint32_t v)
{
    if (l->n == l->cap) {                               /* I12 */
        uint32_t cap = l->cap ? l->cap * 2 : 1024;
        uint32_t *a = hv_wrec_calloc(cap * sizeof(*a));
        if (!a) {
            fi->whole = true;
            return false;
        }
        if (l->n)               /* a first list has no v to copy from */
            memcpy(a, l->v, l->n * sizeof(*a));
        uint32_t n = l->n;
        list_free(l);
        l->v = a;
        l->n = n;
        l->cap = cap;
    }
    hv_wrec_note_append(&l->v[l->n], sizeof(*l->v), &l->noted);
    l->v[l->n++] = v;
    return true;
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

/* I14: mfn is an L1 of an open writable-pagetable batch of its owner. */
static bool in_ptwr_batch(struct iso *s, mfn_t mfn)
{
    struct domain *o = page_get_owner(s->m, mfn);
    return o && o->ptwr && ptwr_frame_in_batch(o, mfn);
}

static void leaf(struct iso *s, mfn_t mfn, bool rw, uint64_t va)
{
    const struct page_info *pg = mfn_to_page(s->m, mfn);
    uint8_t *lf = &s->ds->leaf[mfn];
    uint8_t bit = rw ? LF_RW : LF_RO;
    /* A store only when it changes: under the snapshot reset a written
       page is copied back after the run (fuzz/snap.h S14; I12). */
    if (!(*lf & bit)) {
        if (s->ds->noted != hv_wrec_epoch())
            hv_wrec_note(lf, 1);
        *lf |= bit;
    }
    if (!(*lf & LF_XEN) &&
        (atomic_load(&pg->count_info) & PGC_xen_heap) &&
        list_push(s->fi, &s->ds->xl, (uint32_t)mfn)) {
        if (s->ds->noted != hv_wrec_epoch())
            hv_wrec_note(lf, 1);
        *lf |= LF_XEN;
    }
    bool own = pg->owner == s->d->domid;
    if (own && released_xen_page(s, mfn)) {
        report(s, FZ_ISO_RELEASED, mfn, va, "a Xen page shared with the "
               "domain that Xen has let go (no PGC_allocated; not one of "
               "its grant table's frames, a status frame only at version 2)");
        return;
    }
    uint8_t g = s->ds->grant[mfn];
    if (!own && !(g & G_MAPPED) && !s->d->is_privileged)
        report(s, "isolation: foreign frame mapped", mfn, va,
               "neither owned nor granted");
    if (!rw)
        return;
    uint64_t t = atomic_load(&pg->type_info);
    uint64_t ty = t & PGT_type_mask;
    if (ty >= PGT_l1_page_table && ty <= PGT_l4_page_table &&
        (t & PGT_count_mask) && !in_ptwr_batch(s, mfn))        /* I14 */
        report(s, "isolation: writable page-table mapping", mfn, va,
               "writable leaf of a page table");
    if (!own && (g & G_MAPPED) && !(g & G_RW) && !s->d->is_privileged)
        report(s, "isolation: read-only grant writable", mfn, va,
               "only read-only grant mappings");
}

static void walk(struct iso *s, mfn_t table, unsigned level, bool rw,
                 uint64_t va);

/* The entries of one table as the MMU reads them (I4). */
static void walk_slots(struct iso *s, mfn_t table, unsigned level, bool rw,
                       uint64_t va)
{
    const pte_t *t = mfn_to_virt(s->m, table);
    /* Xen's slots are Xen's in every L4 frame, also one reached through a
       linear (self-referencing) entry as a lower level. */
    bool is_l4 = pgt_level(atomic_load(&mfn_to_page(s->m, table)->type_info))
                 == 4;
    for (unsigned i = 0; i < PT_ENTRIES && !s->bad; i++) {
        if ((level == 4 || is_l4) && i >= 256 && i < 272)
            continue;                   /* Xen's slots */
        pte_t e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
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

static void walk(struct iso *s, mfn_t table, unsigned level, bool rw,
                 uint64_t va)
{
    if (s->bad || !mfn_valid(s->m, table))
        return;
    uint8_t bit = (uint8_t)(1u << ((level - 1) * 2 + rw));
    if (s->ds->seen[table] & bit)
        return;                                                 /* I5 */
    if (s->ds->noted != hv_wrec_epoch())
        hv_wrec_note(&s->ds->seen[table], 1);                   /* I12 */
    s->ds->seen[table] |= bit;
    walk_slots(s, table, level, rw, va);
}

/* ---- per domain ------------------------------------------------------------- */

static void dom_free(struct iso_dom *ds, uint64_t fi_nr)
{
    if (!ds)
        return;
    hv_wrec_free(ds->seen, fi_nr);                      /* I12 */
    hv_wrec_free(ds->leaf, fi_nr);
    hv_wrec_free(ds->grant, fi_nr);
    list_free(&ds->gl);
    list_free(&ds->xl);
    free(ds);
}

static struct iso_dom *dom_state(struct fz_iso *fi, unsigned id)
{
    struct iso_dom *ds = fi->dom[id];
    if (ds)
        return ds;
    ds = calloc(1, sizeof(*ds));
    if (!ds)
        return NULL;
    ds->seen = hv_wrec_calloc(fi->nr);                  /* I12, W8 */
    ds->leaf = hv_wrec_calloc(fi->nr);
    ds->grant = hv_wrec_calloc(fi->nr);
    if (!ds->seen || !ds->leaf || !ds->grant) {
        dom_free(ds, fi->nr);
        return NULL;
    }
    return fi->dom[id] = ds;
}

static void note_grant(void *ctx, mfn_t mfn, bool rw)
{
    struct iso *s = ctx;
    if (!mfn_valid(s->m, mfn))
        return;
    uint8_t *g = &s->ds->grant[mfn];
    hv_wrec_note(g, 1);                                 /* I12 */
    if (!(*g & G_LISTED) && list_push(s->fi, &s->ds->gl, (uint32_t)mfn))
        *g |= G_LISTED;
    *g |= G_MAPPED | (rw ? G_RW : 0);
}

/* The grant bits of s->d gathered again (gl[] then lists them). */
static void gather_grants(struct iso *s)
{
    struct iso_dom *ds = s->ds;
    for (uint32_t i = 0; i < ds->gl.n; i++) {
        hv_wrec_note(&ds->grant[ds->gl.v[i]], 1);       /* I12 */
        ds->grant[ds->gl.v[i]] = 0;
    }
    ds->gl.n = 0;
    gnttab_audit_refs(s->d, note_grant, s);
}

/* A frame's leaf checks again, with its words and grant bits now; first
   a mapping the frame audit knows is gone is forgotten (I13). */
static void recheck_leaf(struct iso *s, mfn_t mfn)
{
    uint8_t *lf = &s->ds->leaf[mfn];
    uint8_t gone = 0;
    if ((*lf & (LF_RO | LF_RW)) && !hv_audit_may_map(s->m, mfn, false))
        gone = LF_RO | LF_RW;
    else if ((*lf & LF_RW) && !hv_audit_may_map(s->m, mfn, true))
        gone = LF_RW;
    if (*lf & gone) {
        if (s->ds->noted != hv_wrec_epoch())
            hv_wrec_note(lf, 1);                        /* I12 */
        *lf &= (uint8_t)~gone;
        s->fi->st.forgotten++;
    }
    if (*lf & LF_RW)
        leaf(s, mfn, true, 0);
    else if (*lf & LF_RO)
        leaf(s, mfn, false, 0);
}

static void walk_roots(struct iso *s)
{
    struct domain *d = s->d;
    for (unsigned v = 0; v < d->nr_vcpus && !s->bad; v++) {
        const struct vcpu *vc = d->vcpu[v];
        if (!vc)
            continue;
        if (d->kind == DOMAIN_PV) {
            walk(s, vc->guest_table, 4, true, 0);
            if (vc->guest_table_user)
                walk(s, vc->guest_table_user, 4, true, 0);
        } else if (d->paging == PAGING_SHADOW) {
            walk(s, vc->cr3, 4, true, 0);
        }
    }
}

/* d's walk from scratch. */
static void dom_full(struct iso *s)
{
    struct iso_dom *ds = s->ds;
    hv_wrec_note(ds->seen, s->fi->nr);                  /* I12 */
    hv_wrec_note(ds->leaf, s->fi->nr);
    ds->noted = hv_wrec_epoch();
    memset(ds->seen, 0, s->fi->nr);
    memset(ds->leaf, 0, s->fi->nr);
    ds->xl.n = 0;
    gather_grants(s);
    walk_roots(s);
}

static bool enter(struct iso *s, unsigned id)
{
    s->d = s->m->domains[id];
    s->ds = s->d ? dom_state(s->fi, id) : NULL;
    if (s->d && !s->ds)
        s->fi->whole = true;
    return s->ds != NULL;
}

static int full(struct iso *s)
{
    struct fz_iso *fi = s->fi;
    fi->st.full++;
    fi->whole = false;
    s->bad = 0;
    for (unsigned id = 0; id < HV_MAX_DOMAINS && !s->bad; id++) {
        if (!enter(s, id)) {
            if (!s->m->domains[id] && fi->dom[id]) {
                dom_free(fi->dom[id], fi->nr);      /* the domain went away */
                fi->dom[id] = NULL;
            }
            continue;
        }
        dom_full(s);
    }
    return s->bad;
}

/* ---- I9: what changed ---------------------------------------------------- */

static void take_frame(void *arg, uint64_t mfn)
{
    struct fz_iso *fi = arg;
    (void)list_push(fi, &fi->changed, (uint32_t)mfn);
}

static void frame_again(struct iso *s, mfn_t mfn)
{
    uint8_t seen = s->ds->seen[mfn];
    for (unsigned b = 0; b < 8 && seen && !s->bad; b++)
        if (seen & (1u << b))
            walk_slots(s, mfn, b / 2 + 1, b & 1, 0);
    if (!s->bad)
        recheck_leaf(s, mfn);
}

/* The frames whose grant bits were set before the gathering and those
   set after it, each checked with the bits it has now. */
static void grants_again(struct iso *s)
{
    struct iso_dom *ds = s->ds;
    struct iso_list *was = &s->fi->scratch;
    was->n = 0;
    for (uint32_t i = 0; i < ds->gl.n; i++)
        if (!list_push(s->fi, was, ds->gl.v[i]))
            return;                             /* whole: walk it all */
    gather_grants(s);
    for (uint32_t i = 0; i < was->n && !s->bad; i++)
        recheck_leaf(s, was->v[i]);
    for (uint32_t i = 0; i < ds->gl.n && !s->bad; i++)
        recheck_leaf(s, ds->gl.v[i]);
    for (uint32_t i = 0; i < ds->xl.n && !s->bad; i++)
        recheck_leaf(s, ds->xl.v[i]);
}

static int incremental(struct iso *s, unsigned delta)
{
    struct fz_iso *fi = s->fi;
    for (unsigned id = 0; id < HV_MAX_DOMAINS && !s->bad; id++) {
        bool had = fi->dom[id] != NULL;
        if (!enter(s, id))
            continue;
        if (!had || (s->d->kind != DOMAIN_PV && (delta & HV_DELTA_ROOTS))) {
            dom_full(s);                        /* new, or translated */
            continue;
        }
        if (delta & HV_DELTA_GRANTS)
            grants_again(s);
        for (uint32_t i = 0; i < fi->changed.n && !s->bad; i++)
            frame_again(s, fi->changed.v[i]);
        if (delta & HV_DELTA_ROOTS)
            walk_roots(s);
    }
    fi->st.frames += fi->changed.n;
    return s->bad;
}

/* ---- the kept walk ----------------------------------------------------------- */

struct fz_iso *fz_iso_new(struct machine *m)
{
    struct fz_iso *fi = calloc(1, sizeof(*fi));
    if (!fi)
        return NULL;
    fi->m = m;
    fi->nr = m->nr_frames;
    fi->whole = true;                     /* the first check walks it all */
    return fi;
}

void fz_iso_free(struct fz_iso *fi)
{
    if (!fi)
        return;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        dom_free(fi->dom[id], fi->nr);
    list_free(&fi->changed);
    list_free(&fi->scratch);
    free(fi);
}

int fz_iso_check(struct fz_iso *fi, char *name, size_t namelen,
                 char *detail, size_t detlen)
{
    struct iso s = { .fi = fi, .m = fi->m, .name = name, .namelen = namelen,
                     .detail = detail, .detlen = detlen };
    fi->st.checks++;
    fi->changed.n = 0;
    unsigned delta = hv_audit_take_delta(fi->m, take_frame, fi);
    if (!delta && !fi->whole) {
        fi->st.unchanged++;
        return 0;
    }
    if (!(delta & HV_DELTA_ALL) && !fi->whole) {
        if (!incremental(&s, delta) && !fi->whole)
            return 0;
        if (s.bad)
            fi->st.confirms++;                                  /* I10 */
    }
    if (!full(&s)) {
        if (namelen)
            name[0] = '\0';    /* I10: what the kept walk wrote there */
        if (detlen)
            detail[0] = '\0';
        return 0;
    }
    fi->whole = true;   /* the walk stopped at the finding: incomplete */
    return 1;
}

int fz_isolation_check(struct machine *m, char *name, size_t namelen,
                       char *detail, size_t detlen)
{
    struct fz_iso *fi = fz_iso_new(m);
    if (!fi)
        return 0;
    struct iso s = { .fi = fi, .m = m, .name = name, .namelen = namelen,
                     .detail = detail, .detlen = detlen };
    int bad = full(&s);
    fz_iso_free(fi);
    return bad;
}

int fz_iso_verify(struct fz_iso *fi, char *msg, size_t msglen)
{
    struct fz_iso *f = fz_iso_new(fi->m);
    if (!f)
        return 0;
    char name[96], detail[256];
    struct iso s = { .fi = f, .m = fi->m, .name = name,
                     .namelen = sizeof(name), .detail = detail,
                     .detlen = sizeof(detail) };
    int bad = 0;
    if (full(&s) || f->whole) {
        fz_iso_free(f);
        return 0;               /* a finding: the callers compare verdicts */
    }
    for (unsigned id = 0; id < HV_MAX_DOMAINS && !bad; id++) {
        const struct iso_dom *a = fi->dom[id], *b = f->dom[id];
        if (!b)
            continue;
        if (!a) {
            snprintf(msg, msglen, "d%u: walked from scratch, never by the "
                     "kept walk", id);
            bad = 1;
            break;
        }
        for (uint64_t mfn = 0; mfn < f->nr && !bad; mfn++) {
            uint8_t seen = b->seen[mfn] & (uint8_t)~a->seen[mfn];
            uint8_t kept = a->leaf[mfn];
            if (kept & LF_RW)
                kept |= LF_RO;          /* a writable leaf's checks are
                                           a read-only one's and more */
            uint8_t lf = b->leaf[mfn] & (uint8_t)~kept & (LF_RO | LF_RW);
            uint8_t ga = a->grant[mfn] & (G_MAPPED | G_RW);
            uint8_t gb = b->grant[mfn] & (G_MAPPED | G_RW);
            if (seen) {
                unsigned bit = (unsigned)__builtin_ctz(seen);
                snprintf(msg, msglen, "d%u mfn %#llx: a walk from scratch "
                         "reaches it as an L%u table (%s), the kept walk "
                         "does not (a change core/audit.h A11 did not "
                         "report)", id, (unsigned long long)mfn, bit / 2 + 1,
                         bit & 1 ? "writable" : "read-only");
                bad = 1;
            } else if (lf || ga != gb) {
                snprintf(msg, msglen, "d%u mfn %#llx: a walk from scratch "
                         "reaches it as a leaf %#x with grant bits %#x, the "
                         "kept walk %#x with %#x (a change core/audit.h A11 "
                         "did not report)", id, (unsigned long long)mfn,
                         b->leaf[mfn] & (LF_RO | LF_RW), gb,
                         a->leaf[mfn] & (LF_RO | LF_RW), ga);
                bad = 1;
            }
        }
    }
    fz_iso_free(f);
    return bad;
}

void fz_iso_stats(const struct fz_iso *fi, struct fz_iso_stats *out)
{
    *out = fi->st;
}
