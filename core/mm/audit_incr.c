/*
 * core/mm/audit_incr.c - the frame audit kept up to date call by call
 * (mm_audit_incr, core/mm/mm.h), for the fuzzer's after-every-call oracle.
 *
 * Rules:
 *   I1  The answer is 0 exactly when mm_audit's would be (core/mm/audit.c
 *       U1-U6).  A non-zero answer is never the report: core/audit.c then
 *       runs mm_audit for the count and the text.  So whatever the cache
 *       cannot vouch for is answered 1 ("suspect", I7): a doubt costs one
 *       full audit, never a missed violation.
 *   I2  The cache (struct mm_audit_cache) holds, per frame, the references
 *       found on it split by where they come from (struct ai_exp), and per
 *       table frame what was counted of it (struct ai_tab: its kind, and
 *       per slot the raw entry and what it was counted as).  The
 *       references that are no single frame's (I4) are one list.
 *   I3  Touches (core/audit_mark.h HV_AUDIT_TOUCH): every mutator of a
 *       frame's state that mm_audit reads - the count and type words
 *       (frame.c), the owner and the list it is on (alloc.c, machine.c,
 *       p2m.c; page_info.list_tag), nr_validated_ptes and the linear count
 *       (frame.c, pv_pt.c), a table's entries (pv_pt.c pt_write_entry,
 *       pt_cmpxchg_entry; grant.xsa227's raw PTE write in core/grant/map.c
 *       is covered by the page lock and ref it takes on the L1, which
 *       touch it; a guest or Xen store that lands in a table frame through
 *       a stale TLB entry, core/mmu.c audit_table_store) - names the
 *       frame.  An audit takes the touched
 *       frames: each one's own terms are taken back and counted again; of
 *       a table whose kind (level, validated or partial, entries covered,
 *       owner) did not change, only the slots whose raw entry changed.
 *   I4  What is no single frame's - vCPU roots and parked puts, HVM CR3
 *       frames, foreign p2m entries, grant mappings, the paging mode's
 *       references, and Xen pages shared with a domain (their hold depends
 *       on the grant table) - is counted whole again at every audit after
 *       an MM mark (their mutators mark, they do not touch), the previous
 *       records taken back first.
 *   I5  Checked, with check_frame's tests (audit.c): every touched frame and
 *       every frame whose expected counts moved.  Any other frame passed the
 *       last audit, and neither it nor what it is compared with changed.
 *   I6  The cache stands only after a clean answer.  A non-zero answer, a
 *       forget (core/audit.h A9) or an exception of core/audit.h A4/A5
 *       leaves it invalid, and the next audit rebuilds it: every frame
 *       counted and checked, a full audit's cost.
 *   I7  An entry is counted with its target's state at the time: the
 *       owner (the RW rule, invariant 22) and the level (linear or not).
 *       So each target keeps what its referrers assumed - references per
 *       referring level, so that the linear ones can be recounted from its
 *       level now, and its owner at its last check.  A target whose level
 *       no longer matches the linear uses counted on it, or whose owner
 *       changed under RW L1 entries, is suspect.  The level test also
 *       stands in for count_entry's "maps a validated table of the level
 *       below" for entries that did not change.
 *   I8  HVLAB_AUDIT_VERIFY=1 (read at enable): after every incremental
 *       audit the cache's per-frame expectations and grant PTE count are
 *       compared with a rebuild's (not the per-slot records or the
 *       globals, which those are sums of); a difference aborts naming the
 *       frame and the field: the tests' net for a mutator that does not
 *       touch.
 *   I9  For the grant audit (core/grant/audit.c U4): the number of
 *       present _PAGE_GNTTAB entries of validated L1 tables, kept as the
 *       slots are counted; given only while the cache is valid and no
 *       touch is pending.
 *   I10 For the fuzzer's isolation walk (core/audit.h A11): the frames
 *       whose part in the walk may have changed since it last asked - a
 *       touched frame whose words the walk reads changed (owner, type,
 *       type users, Xen-shared, allocated: iso_sig), and a counted table
 *       one of whose entries changed, whose kind changed or that stopped
 *       being counted, or that is partial (through a linear entry to a
 *       partial table of its own level the walk reads its slots past
 *       nr_validated_ptes, which are not recorded).  A PV walk reads only
 *       counted tables (the audit was clean) and such words, so those
 *       frames are all it needs to look at again.  When the cache cannot
 *       name them (invalid, rebuilt, a touch pending) the answer is
 *       "everything".
 *   I11 Membership is the frame's list_tag and its domain its owner
 *       (mm_audit walks each domain's lists).  They differ only while a
 *       list outlives its domain or a frame's owner is not its list's,
 *       and a domain going away changes the machine's shape, which runs
 *       the full audit (core/audit.h A6) with the cache's last answer
 *       kept, so I7's lookup of a reaped HVM owner never decides alone.
 *   I12 The per-frame records, the table pointers, the sets (bits and
 *       lists) and the touched frames' bits and list (core/audit_mark.h)
 *       take part in the write record (core/wrec.h), each a block of whole
 *       pages of its own (W8): every store to them is noted first, so the
 *       fuzzer's snapshot reset puts back only the records a run changed.
 *       A rebuild notes the records whole and keeps the epoch it did so in
 *       (e_noted, core/wrec.h W7).  The tables' records (struct ai_tab)
 *       come from slabs of AI_SLAB_TABS, each its own page-aligned block
 *       kept whole, and are never freed before the cache: a run writes the
 *       few slots it recounts, not the pages of every record some earlier
 *       run wrote.  The global records (glob, gnew: I4) are kept blocks
 *       too, grown by copying into a bigger one.
 *   I13 For the isolation walk's kept leaves (fuzz/isolation.c I13): whether
 *       a frame can still be a leaf of a counted table.  Every present
 *       entry of a counted L1 takes a general reference on its target
 *       (gen, beside the frame's own terms) and an RW one is counted in
 *       l1_rw whatever else it counts; a grant PTE counts nothing on its
 *       frame (R_GNT), but its mapping's references are I4's records -
 *       gen, and rw_maps when writable.  An entry of a higher level
 *       naming the frame (from[]) can make it a leaf through a linear
 *       mapping, so then the answer is always yes.  No means no mapping
 *       the walk could reach exists; yes is only "perhaps".
 *   I14 A slab is made ahead: once the newest slab is half used, the next
 *       one (spare) is allocated and kept, so the tables a run creates
 *       take records from pages kept at the snapshot, not from a slab the
 *       run carves from the arena's bump area (all of whose written pages
 *       a restore copies back: on an AFL++ mm queue, most of the arena
 *       pages above the snapshot).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/grant/grant_table.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/pfinfo.h"
#include "core/mm/pv_pt.h"
#include "core/vcpu.h"
#include "core/wrec.h"

/* What one reference counted (per slot of a table, per global record). */
enum {
    R_GEN  = 1 << 0,        /* a general ref */
    R_TYPE = 1 << 1,        /* a type ref */
    R_RW   = 1 << 2,        /* a writable mapping counted (rw_maps) */
    R_LIN  = 1 << 3,        /* a linear use (the table holds a linear entry) */
    R_L1RW = 1 << 4,        /* an RW L1 entry, counted or not (I7) */
    R_FROM = 1 << 5,        /* an L2..L4 entry: from[level] (I7) */
    R_GNT  = 1 << 6,        /* a grant PTE of a validated L1 (I9) */
};

/* The references found on one frame (audit.c's struct expect, split). */
struct ai_exp {
    uint32_t gen, type, rw_maps;
    uint32_t lin_uses;          /* entries counted as linear uses of it */
    uint32_t l1_rw;             /* RW L1 entries naming it */
    uint32_t from[5];           /* present L2..L4 entries naming it */
    int32_t linear;             /* linear entries its own table holds */
    uint16_t owner_seen;        /* its owner at its last check (I7) */
    uint32_t iso_sig;           /* what the isolation walk reads (I10) */
    uint8_t self_gen, self_type;    /* its own terms as counted */
};

/* A table frame as counted. */
struct ai_tab {
    uint8_t level;              /* 0: nothing counted */
    uint8_t validated;
    uint16_t upto;              /* slots covered */
    uint16_t dom;               /* owner when counted */
    pte_t e[PT_ENTRIES];        /* raw entries as counted */
    uint8_t how[PT_ENTRIES];    /* R_* per slot */
};

struct ai_grec {                /* one reference of I4 */
    uint32_t mfn;
    uint8_t how;
};

struct ai_set {                 /* frames, each once */
    uint64_t *bits;
    uint32_t *list;
    uint32_t n;
    uint32_t nr_words;                  /* of bits */
    uint64_t bits_noted, list_noted;    /* I12: core/wrec.h W9 */
};

/* I12: records of tables, AI_SLAB_TABS to a kept block of whole pages. */
#define AI_SLAB_TABS    64
struct ai_slab {
    struct ai_slab *next;
    uint32_t used;
    struct ai_tab tab[AI_SLAB_TABS];
};
#define AI_SLAB_BYTES   ((sizeof(struct ai_slab) + 4095) & ~(size_t)4095)

struct mm_audit_cache {
    struct machine *m;
    uint64_t nr;
    struct ai_exp *e;
    struct ai_tab **tab;
    struct ai_slab *slab;       /* I12: the newest first */
    struct ai_slab *spare;      /* I14: the next slab, made ahead */
    struct ai_grec *glob, *gnew;
    uint32_t nglob, ngnew, gcap;
    uint64_t gnew_noted;        /* I12: core/wrec.h W9, for gnew */
    struct ai_set check;
    bool valid, verify, glob_suspect;
    uint64_t e_noted;           /* I12: epoch e[] was noted whole in */
    int64_t gnt_ptes;           /* I9 */
    struct ai_set iso;          /* I10: frames to hand the walk */
    bool iso_all;               /* I10: ... or everything */
    unsigned bad;               /* violations / suspicions this audit */
    struct hv_audit_touch touch;
};

/* ---- sets ----------------------------------------------------------------- */

static bool set_init(struct ai_set *s, uint64_t nr)
{
    s->nr_words = (uint32_t)((nr + 63) / 64);
    s->bits = hv_wrec_calloc(s->nr_words * sizeof(*s->bits));   /* I12 */
    s->list = hv_wrec_calloc(nr * sizeof(*s->list));
    s->n = 0;
    return s->bits && s->list;
}

static void set_free(struct ai_set *s, uint64_t nr)
{
    hv_wrec_free(s->bits, (nr + 63) / 64 * sizeof(*s->bits));  /* I12 */
    hv_wrec_free(s->list, nr * sizeof(*s->list));
}

/* I12: the bits are noted whole, once per epoch (core/wrec.h W9). */
static inline void set_note_bits(struct ai_set *s)
{
    hv_wrec_note_whole(s->bits, s->nr_words * sizeof(*s->bits), &s->bits_noted);
}

static inline void set_add(struct ai_set *s, uint64_t mfn)
{
    uint64_t bit = 1ULL << (mfn & 63);
    if (s->bits[mfn >> 6] & bit)
        return;
    set_note_bits(s);
    s->bits[mfn >> 6] |= bit;
    hv_wrec_note_append(&s->list[s->n], sizeof(*s->list), &s->list_noted);
    s->list[s->n++] = (uint32_t)mfn;
}

static void set_clear(struct ai_set *s)
{
    if (s->n)
        set_note_bits(s);                                       /* I12 */
    for (uint32_t i = 0; i < s->n; i++)
        s->bits[s->list[i] >> 6] = 0;
    s->n = 0;
}

/* ---- counting ------------------------------------------------------------- */

static inline void apply(struct mm_audit_cache *c, mfn_t self, unsigned level,
                         mfn_t t, unsigned how, int sign)
{
    if (how & R_GNT) {
        c->gnt_ptes += sign;                            /* I9 */
        how &= ~R_GNT;
    }
    if (!how)
        return;
    struct ai_exp *x = &c->e[t];
    if (c->e_noted != hv_wrec_epoch())
        hv_wrec_note(x, sizeof(*x));                            /* I12 */
    if (how & R_GEN)
        x->gen += (uint32_t)sign;
    if (how & R_TYPE)
        x->type += (uint32_t)sign;
    if (how & R_RW)
        x->rw_maps += (uint32_t)sign;
    if (how & R_L1RW)
        x->l1_rw += (uint32_t)sign;
    if (how & R_FROM)
        x->from[level] += (uint32_t)sign;
    if (how & R_LIN) {
        x->lin_uses += (uint32_t)sign;
        if (c->e_noted != hv_wrec_epoch())
            hv_wrec_note(&c->e[self], sizeof(c->e[self]));
        c->e[self].linear += sign;
    }
    set_add(&c->check, t);
}

/* count_entry (audit.c) for one present entry: what it counts; its own
   violations (9, 22) add to c->bad. */
static unsigned count_one(struct mm_audit_cache *c, struct domain *d,
                          mfn_t tbl, unsigned level, bool validated, pte_t e)
{
    struct machine *m = c->m;
    if (level == 1 && (e & _PAGE_GNTTAB))
        return validated ? R_GNT : 0;   /* the grant audit's (I9) */
    if ((e & pt_disallow_mask(level)) || !mfn_valid(m, pte_mfn(e))) {
        c->bad++;
        return 0;
    }
    mfn_t t = pte_mfn(e);
    if (level == 1) {
        unsigned how = R_GEN;
        if (!(e & _PAGE_RW))
            return how;
        how |= R_L1RW;
        if (mfn_to_page(m, t)->owner == DOMID_COW) {
            c->bad++;                                   /* 22 */
            return how;
        }
        struct domain *o = page_get_owner(m, t);
        if (o == d || !o || o->kind != DOMAIN_HVM)
            how |= R_RW | R_TYPE;
        return how;
    }
    if (t == tbl)
        return 0;                                       /* self-map */
    uint64_t tt = atomic_load(&mfn_to_page(m, t)->type_info);
    unsigned how = R_GEN | R_TYPE | R_FROM;
    if (pgt_level(tt) == level) {
        how |= R_LIN;
        if (e & _PAGE_RW)
            c->bad++;                                   /* 9: linear RW */
    } else if (pgt_level(tt) != level - 1 || !(tt & PGT_validated)) {
        c->bad++;                                       /* 9 */
    }
    return how;
}

static inline bool xen_slot(unsigned level, unsigned i)
{
    return level == 4 && i >= XEN_L4_SLOT_FIRST && i <= XEN_L4_SLOT_LAST;
}

/* I12: a slab kept whole, its records not zeroed (each is, as it is
   handed out: a run then writes only the pages of the records it takes). */
static struct ai_slab *slab_new(void)
{
    struct ai_slab *sl = aligned_alloc(4096, AI_SLAB_BYTES);
    if (!sl)
        return NULL;
    hv_wrec_keep(sl, AI_SLAB_BYTES);
    hv_wrec_note(sl, offsetof(struct ai_slab, tab));
    sl->next = NULL;
    sl->used = 0;
    return sl;
}

/* I12: a zeroed table record from the newest slab (the spare, or a new
   slab, when it is full); NULL when none can be had.  I14: the spare is
   made once the newest slab is half used. */
static struct ai_tab *tab_new(struct mm_audit_cache *c)
{
    struct ai_slab *sl = c->slab;
    if (!sl || sl->used == AI_SLAB_TABS) {
        sl = c->spare ? c->spare : slab_new();
        if (!sl)
            return NULL;
        c->spare = NULL;
        hv_wrec_note(sl, offsetof(struct ai_slab, tab));
        sl->next = c->slab;
        c->slab = sl;
    }
    if (!c->spare && sl->used >= AI_SLAB_TABS / 2)                 /* I14 */
        c->spare = slab_new();
    hv_wrec_note(&sl->used, sizeof(sl->used));
    struct ai_tab *tb = &sl->tab[sl->used++];
    hv_wrec_note(tb, sizeof(*tb));
    memset(tb, 0, sizeof(*tb));
    return tb;
}

/* I12: the fields before the slots (level, validated, upto, dom). */
static inline void tab_note_head(struct ai_tab *tb)
{
    hv_wrec_note(tb, offsetof(struct ai_tab, e));
}

/* One slot of a counted table: take back what it counted, count it again. */
/* noted: the caller noted the whole record (I12). */
static void recount_slot(struct mm_audit_cache *c, struct domain *d,
                         struct ai_tab *tb, mfn_t f, unsigned i, pte_t e,
                         bool noted)
{
    set_add(&c->iso, f);                                /* I10 */
    apply(c, f, tb->level, pte_mfn(tb->e[i]), tb->how[i], -1);
    unsigned how = 0;
    if (xen_slot(tb->level, i)) {
        if (tb->validated &&
            e != c->m->xen_l4_slots[i - XEN_L4_SLOT_FIRST])
            c->bad++;                                   /* 9 */
    } else if (pte_present(e)) {
        how = count_one(c, d, f, tb->level, tb->validated, e);
    }
    if (!noted) {
        hv_wrec_note(&tb->e[i], sizeof(tb->e[i]));              /* I12 */
        hv_wrec_note(&tb->how[i], sizeof(tb->how[i]));
    }
    tb->e[i] = e;
    tb->how[i] = (uint8_t)how;
    apply(c, f, tb->level, pte_mfn(e), how, +1);
}

static void uncount_table(struct mm_audit_cache *c, struct ai_tab *tb, mfn_t f)
{
    set_add(&c->iso, f);                                /* I10 */
    for (unsigned i = 0; i < tb->upto; i++)
        apply(c, f, tb->level, pte_mfn(tb->e[i]), tb->how[i], -1);
    tab_note_head(tb);                                          /* I12 */
    tb->level = 0;
    tb->upto = 0;
}

/* I10: the words of a frame the fuzzer's isolation walk reads of a leaf
   or a table: owner, type, whether it has type users, Xen-shared and
   allocated. */
static uint32_t iso_sig(const struct page_info *pg)
{
    uint64_t cw = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    return (uint32_t)pg->owner |
           (uint32_t)((t & PGT_type_mask) >> PGT_type_shift) << 16 |
           (uint32_t)!!(t & PGT_count_mask) << 20 |
           (uint32_t)!!(cw & PGC_xen_heap) << 21 |
           (uint32_t)!!(cw & PGC_allocated) << 22;
}

/* I3: frame f's own terms and, for a table, its entries. */
static void recount_frame(struct mm_audit_cache *c, mfn_t f)
{
    struct machine *m = c->m;
    struct page_info *pg = mfn_to_page(m, f);
    struct ai_exp *x = &c->e[f];
    if (c->e_noted != hv_wrec_epoch())
        hv_wrec_note(x, sizeof(*x));                            /* I12 */
    uint64_t cw = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    struct domain *d = pg->list_tag == PAGE_ON_DOMAIN
                       ? machine_domain(m, pg->owner) : NULL;

    uint32_t sig = iso_sig(pg);
    if (sig != x->iso_sig) {                            /* I10 */
        x->iso_sig = sig;
        set_add(&c->iso, f);
    }
    x->gen -= x->self_gen;
    x->type -= x->self_type;
    x->self_gen = x->self_type = 0;
    if (d) {            /* Xen pages' own terms are I4's (collect_xen) */
        x->self_gen = (uint8_t)(!!(cw & PGC_allocated) +
                                !!(t & PGT_pinned) + !!(t & PGT_partial));
        x->self_type = (uint8_t)(!!(t & PGT_pinned) + !!(t & PGT_partial) +
                                 !!(t & PGT_locked));
    }
    x->gen += x->self_gen;
    x->type += x->self_type;
    set_add(&c->check, f);

    unsigned level = pgt_level(t);
    bool counted = d && level && (t & (PGT_validated | PGT_partial));
    unsigned upto = !counted ? 0
                    : (t & PGT_validated) ? PT_ENTRIES : pg->nr_validated_ptes;
    if (upto > PT_ENTRIES)
        upto = PT_ENTRIES;
    struct ai_tab *tb = c->tab[f];
    if (!counted || !upto) {
        if (tb && tb->level)
            uncount_table(c, tb, f);
        return;
    }
    if (!tb) {
        hv_wrec_note(&c->tab[f], sizeof(c->tab[f]));            /* I12 */
        tb = c->tab[f] = tab_new(c);
        if (!tb) {
            c->bad++;               /* I1: cannot vouch; the full audit */
            c->valid = false;
            return;
        }
    }
    bool validated = (t & PGT_validated) != 0;
    if (!validated)
        set_add(&c->iso, f);    /* I10: slots past upto are not recorded */
    const pte_t *live = mfn_to_virt(m, f);
    if (tb->level == level && tb->upto == upto && tb->dom == pg->owner &&
        tb->validated == validated) {
        for (unsigned i = 0; i < upto; i++) {
            pte_t e = __atomic_load_n(&live[i], __ATOMIC_RELAXED);
            if (e != tb->e[i])
                recount_slot(c, d, tb, f, i, e, false);
        }
        return;
    }
    if (tb->level)
        uncount_table(c, tb, f);
    hv_wrec_note(tb, sizeof(*tb));                              /* I12 */
    tb->level = (uint8_t)level;
    tb->upto = (uint16_t)upto;
    tb->dom = pg->owner;
    tb->validated = validated;
    memset(tb->how, 0, sizeof(tb->how));
    for (unsigned i = 0; i < upto; i++) {
        tb->e[i] = 0;
        recount_slot(c, d, tb, f, i,
                     __atomic_load_n(&live[i], __ATOMIC_RELAXED), true);
    }
}

/* ---- I4: references no single frame holds --------------------------------- */

static void grec(struct mm_audit_cache *c, mfn_t mfn, unsigned how)
{
    if (!mfn_valid(c->m, mfn))
        return;
    if (c->ngnew == c->gcap) {
        uint32_t cap = c->gcap ? c->gcap * 2 : 512;
        struct ai_grec *a = hv_wrec_calloc(cap * sizeof(*a));      /* I12 */
        struct ai_grec *b = hv_wrec_calloc(cap * sizeof(*b));
        if (!a || !b) {
            hv_wrec_free(a, cap * sizeof(*a));
            hv_wrec_free(b, cap * sizeof(*b));
            c->glob_suspect = true;
            return;
        }
        if (c->gcap) {
            memcpy(a, c->glob, c->nglob * sizeof(*a));
            memcpy(b, c->gnew, c->ngnew * sizeof(*b));
        }
        hv_wrec_free(c->glob, c->gcap * sizeof(*a));
        hv_wrec_free(c->gnew, c->gcap * sizeof(*b));
        c->glob = a;
        c->gnew = b;
        c->gcap = cap;
        c->gnew_noted = 0;
    }
    hv_wrec_note_append(&c->gnew[c->ngnew], sizeof(c->gnew[0]),  /* I12 */
                        &c->gnew_noted);
    c->gnew[c->ngnew++] = (struct ai_grec){ (uint32_t)mfn, (uint8_t)how };
}

static void mode_ref(void *ctx, mfn_t t, bool rw)
{
    grec(ctx, t, rw ? R_GEN | R_RW | R_TYPE : R_GEN);
}

static void foreign_ref(void *ctx, mfn_t t)
{
    grec(ctx, t, R_GEN);
}

/* A Xen page shared with d: collect_xen_frame and collect_frame's own
   terms.  A Xen page in use as a table is beyond this cache: suspect. */
static bool xen_page(struct domain *d, mfn_t f, void *arg)
{
    struct mm_audit_cache *c = arg;
    struct page_info *pg = mfn_to_page(c->m, f);
    uint64_t cw = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    if ((cw & PGC_allocated) || f == d->shared_info_mfn ||
        gnttab_holds_frame(d, f))
        grec(c, f, R_TYPE);
    if (cw & PGC_allocated)
        grec(c, f, R_GEN);
    if (t & PGT_pinned)
        grec(c, f, R_GEN | R_TYPE);
    if (t & PGT_partial)
        grec(c, f, R_GEN | R_TYPE);
    if (t & PGT_locked)
        grec(c, f, R_TYPE);
    if (pgt_level(t) && (t & (PGT_validated | PGT_partial)))
        c->glob_suspect = true;
    return true;
}

static void collect_globals(struct mm_audit_cache *c)
{
    struct machine *m = c->m;
    c->ngnew = 0;
    c->glob_suspect = false;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d)
            continue;
        domain_for_each_xen_page(d, xen_page, c);
        for (unsigned i = 0; i < d->nr_vcpus; i++) {
            struct vcpu *v = d->vcpu[i];
            if (!v)
                continue;
            if (v->guest_table != INVALID_MFN)
                grec(c, v->guest_table, R_GEN | R_TYPE);
            if (v->guest_table_user != INVALID_MFN)
                grec(c, v->guest_table_user, R_GEN | R_TYPE);
            if (v->hvm_cr3_frame != INVALID_MFN)
                grec(c, v->hvm_cr3_frame, R_GEN);
            if (v->old_guest_table != INVALID_MFN)
                grec(c, v->old_guest_table,
                     v->old_guest_table_partial ? R_GEN : R_GEN | R_TYPE);
        }
        p2m_foreign_refs(d, foreign_ref, c);
        gnttab_audit_refs(d, mode_ref, c);
        if (d->paging_hooks && d->paging_hooks->audit_refs)
            d->paging_hooks->audit_refs(d, mode_ref, c);
    }
}

static void recount_globals(struct mm_audit_cache *c)
{
    for (uint32_t i = 0; i < c->nglob; i++)
        apply(c, 0, 0, c->glob[i].mfn, c->glob[i].how, -1);
    collect_globals(c);
    for (uint32_t i = 0; i < c->ngnew; i++)
        apply(c, 0, 0, c->gnew[i].mfn, c->gnew[i].how, +1);
    struct ai_grec *t = c->glob;
    c->glob = c->gnew;
    c->gnew = t;
    c->gnew_noted = 0;          /* I12: another array (W9) */
    c->nglob = c->ngnew;
    if (c->glob_suspect)
        c->bad++;
}

/* ---- checks (I5, I7) -------------------------------------------------------- */

/* An owner under which count_one's RW decision is not always "counted". */
static bool rw_rule_owner(struct machine *m, uint16_t owner)
{
    if (owner == DOMID_COW)
        return true;
    struct domain *o = owner < HV_MAX_DOMAINS ? machine_domain(m, owner) : NULL;
    return o && o->kind == DOMAIN_HVM;
}

static void check(struct mm_audit_cache *c, mfn_t mfn)
{
    struct machine *m = c->m;
    struct page_info *pg = mfn_to_page(m, mfn);
    struct ai_exp *x = &c->e[mfn];
    if (c->e_noted != hv_wrec_epoch())
        hv_wrec_note(x, sizeof(*x));                            /* I12 */
    uint64_t cw = atomic_load(&pg->count_info);
    uint64_t t = atomic_load(&pg->type_info);
    uint64_t n = t & PGT_count_mask;
    unsigned level = pgt_level(t);
    bool on_list = pg->list_tag != PAGE_ON_NONE;

    /* I7, before mm_audit's filter: a stale assumption is a doubt.  An
       owner change matters to the RW rule and 22 only when either owner
       is an HVM domain or dom_cow. */
    uint16_t owner = pg->owner;
    if (owner != x->owner_seen && x->l1_rw &&
        (rw_rule_owner(m, owner) || rw_rule_owner(m, x->owner_seen)))
        c->bad++;
    x->owner_seen = owner;
    uint32_t lin_truth = level >= 2 ? x->from[level] : 0;
    if (lin_truth != x->lin_uses)
        c->bad++;
    for (unsigned l = 2; l <= 4; l++)
        if (x->from[l] && !((level == l - 1 && (t & PGT_validated)) ||
                            level == l))
            c->bad++;

    if (owner == DOMID_XEN && !x->gen)
        return;                                 /* Xen's own frames */
    if (!on_list && !x->gen && (cw & PGC_state) == PGC_state_free)
        return;
    if (!on_list) {
        if ((owner < HV_MAX_DOMAINS && machine_domain(m, owner)) ||
            (x->gen && owner != DOMID_COW))
            c->bad++;                                   /* 1 */
        return;
    }
    if ((cw & PGC_count_mask) != x->gen)
        c->bad++;                                       /* 1 */
    if (level) {
        bool busy = n && !(t & (PGT_validated | PGT_partial));
        if ((!busy && n != x->type) || (n && x->rw_maps) ||
            (!n && (t & PGT_validated)))
            c->bad++;                                   /* 2, 3, 7 */
    } else if ((t & PGT_type_mask) == PGT_writable_page) {
        if (n != x->type)
            c->bad++;                                   /* 4 */
    } else if (x->rw_maps) {
        c->bad++;                                       /* 4 */
    }
    uint32_t rep = pfinfo_classify(cw, t, m->opt.pfinfo_devalidated);
    if (pfinfo_level(rep) && !(t & (PGT_validated | PGT_pinned)))
        c->bad++;                                       /* 12 */
    if ((t & PGT_partial) && n != 1)
        c->bad++;                                       /* 6 */
    if ((t & PGT_pinned) && (!n || !(t & (PGT_validated | PGT_partial))))
        c->bad++;                                       /* 8 */
    if (level >= 2) {
        int16_t lc = pg->linear_pt_count;
        if ((x->linear && x->lin_uses) ||
            (x->lin_uses && lc != -(int32_t)x->lin_uses) ||
            (x->linear && lc != x->linear))
            c->bad++;                                   /* 10 */
    }
}

/* ---- the cache --------------------------------------------------------------- */

static void take_touched(struct mm_audit_cache *c, bool recount)
{
    struct hv_audit_touch *t = &c->touch;
    uint32_t n = atomic_load(&t->n);
    if (n)
        hv_audit_touch_note_bits(t);                            /* I12 */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t f = t->list[i];
        atomic_store_explicit(&t->bits[f >> 6], 0, memory_order_relaxed);
        if (recount)
            recount_frame(c, f);
    }
    atomic_store(&t->n, 0);
}

static void cache_reset(struct mm_audit_cache *c)
{
    hv_wrec_note(c->e, c->nr * sizeof(*c->e));                 /* I12 */
    c->e_noted = hv_wrec_epoch();
    memset(c->e, 0, c->nr * sizeof(*c->e));
    for (uint64_t f = 0; f < c->nr; f++)
        if (c->tab[f]) {
            tab_note_head(c->tab[f]);                           /* I12 */
            c->tab[f]->level = c->tab[f]->upto = 0;
        }
    c->nglob = 0;
    c->gnt_ptes = 0;
    set_clear(&c->check);
}

/* I6: everything counted and checked from scratch. */
static unsigned rebuild(struct mm_audit_cache *c)
{
    struct machine *m = c->m;
    take_touched(c, false);
    cache_reset(c);
    c->bad = 0;
    c->valid = true;
    for (uint64_t f = 0; f < c->nr; f++)
        if (mfn_to_page(m, f)->list_tag == PAGE_ON_DOMAIN)
            recount_frame(c, f);
    recount_globals(c);
    set_clear(&c->check);
    for (uint64_t f = 0; f < c->nr; f++) {
        c->e[f].owner_seen = mfn_to_page(m, f)->owner;
        c->e[f].iso_sig = iso_sig(mfn_to_page(m, f));
        check(c, f);
    }
    set_clear(&c->iso);
    c->iso_all = true;                                  /* I10 */
    if (c->bad)
        c->valid = false;
    return c->bad;
}

static void cache_free(struct mm_audit_cache *c)
{
    if (!c)
        return;
    hv_wrec_free(c->e, c->nr * sizeof(*c->e));                 /* I12 */
    hv_wrec_free(c->tab, c->nr * sizeof(*c->tab));
    set_free(&c->check, c->nr);
    set_free(&c->iso, c->nr);
    hv_wrec_free((void *)c->touch.bits, (c->nr + 63) / 64 * sizeof(*c->touch.bits));
    hv_wrec_free(c->touch.list, c->nr * sizeof(*c->touch.list));
    while (c->slab) {
        struct ai_slab *sl = c->slab;
        c->slab = sl->next;
        hv_wrec_forget(sl, AI_SLAB_BYTES);
        free(sl);
    }
    if (c->spare) {
        hv_wrec_forget(c->spare, AI_SLAB_BYTES);
        free(c->spare);
    }
    hv_wrec_free(c->glob, c->gcap * sizeof(*c->glob));          /* I12 */
    hv_wrec_free(c->gnew, c->gcap * sizeof(*c->gnew));
    free(c);
}

static struct mm_audit_cache *cache_new(struct machine *m)
{
    struct mm_audit_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->m = m;
    c->nr = m->nr_frames;
    c->e = hv_wrec_calloc(c->nr * sizeof(*c->e));              /* I12 */
    c->tab = hv_wrec_calloc(c->nr * sizeof(*c->tab));
    c->touch.bits = hv_wrec_calloc((c->nr + 63) / 64 * sizeof(*c->touch.bits));
    c->touch.list = hv_wrec_calloc(c->nr * sizeof(*c->touch.list));
    c->touch.nr_frames = (uint32_t)c->nr;
    if (!c->e || !c->tab || !c->touch.bits || !c->touch.list ||
        !set_init(&c->check, c->nr) || !set_init(&c->iso, c->nr)) {
        cache_free(c);
        return NULL;
    }
    return c;
}

/* I8: the live cache against one rebuilt from scratch. */
static void verify(struct mm_audit_cache *c)
{
    struct mm_audit_cache *f = cache_new(c->m);
    if (!f)
        return;
    unsigned bad = rebuild(f);
    if (!bad && f->gnt_ptes != c->gnt_ptes) {
        fprintf(stderr, "hvlab: audit cache counts %lld grant PTEs, a "
                "rebuild %lld (core/mm/audit_incr.c I3, I9)\n",
                (long long)c->gnt_ptes, (long long)f->gnt_ptes);
        abort();
    }
    for (uint64_t mfn = 0; mfn < c->nr && !bad; mfn++) {
        struct ai_exp a = c->e[mfn], b = f->e[mfn];
        a.owner_seen = b.owner_seen = 0;
        a.iso_sig = b.iso_sig = 0;
        if (memcmp(&a, &b, sizeof(a)) != 0) {
            fprintf(stderr, "hvlab: audit cache of mfn %#llx differs from a "
                    "rebuild: gen %u/%u type %u/%u rw %u/%u lin %u/%u "
                    "linear %d/%d self %u,%u/%u,%u (a mutator that does "
                    "not touch? core/mm/audit_incr.c I3)\n",
                    (unsigned long long)mfn, a.gen, b.gen, a.type, b.type,
                    a.rw_maps, b.rw_maps, a.lin_uses, b.lin_uses, a.linear,
                    b.linear, a.self_gen, a.self_type, b.self_gen,
                    b.self_type);
            abort();
        }
    }
    cache_free(f);
}

int mm_audit_incr_enable(struct machine *m)
{
    struct hv_audit_memo *memo = &m->audit_memo;
    if (memo->incr)
        return 0;
    struct mm_audit_cache *c = cache_new(m);
    if (!c)
        return -XEN_ENOMEM;
    const char *v = getenv("HVLAB_AUDIT_VERIFY");
    c->verify = v && v[0] == '1';
    memo->incr = c;
    memo->touch = &c->touch;
    if (machine_at_destroy(m, mm_audit_incr_disable)) {
        mm_audit_incr_disable(m);
        return -XEN_ENOSPC;
    }
    return 0;
}

void mm_audit_incr_disable(struct machine *m)
{
    struct hv_audit_memo *memo = &m->audit_memo;
    memo->touch = NULL;
    cache_free(memo->incr);
    memo->incr = NULL;
}

bool mm_audit_incr_enabled(const struct machine *m)
{
    return m->audit_memo.incr != NULL;
}

void mm_audit_incr_invalidate(struct machine *m)
{
    if (m->audit_memo.incr) {
        m->audit_memo.incr->valid = false;
        m->audit_memo.incr->iso_all = true;             /* I10 */
    }
}

int mm_audit_incr_take_iso(struct machine *m,
                           void (*frame)(void *arg, mfn_t mfn), void *arg)
{
    struct mm_audit_cache *c = m->audit_memo.incr;
    if (!c)
        return -1;
    bool all = !c->valid || atomic_load(&c->touch.n) || c->iso_all;
    int n = all ? -1 : (int)c->iso.n;
    for (uint32_t i = 0; !all && frame && i < c->iso.n; i++)
        frame(arg, c->iso.list[i]);
    set_clear(&c->iso);
    c->iso_all = false;
    return n;
}

bool mm_audit_incr_may_map(const struct machine *m, mfn_t mfn, bool rw)
{
    const struct mm_audit_cache *c = m->audit_memo.incr;
    if (!c || !c->valid || atomic_load(&c->touch.n) || mfn >= c->nr)
        return true;
    const struct ai_exp *x = &c->e[mfn];
    if (x->from[2] || x->from[3] || x->from[4])
        return true;                    /* a leaf through a linear entry */
    return rw ? x->l1_rw != 0 || x->rw_maps != 0 : x->gen != x->self_gen;
}

bool mm_audit_incr_grant_ptes(const struct machine *m, uint64_t *n)
{
    const struct mm_audit_cache *c = m->audit_memo.incr;
    if (!c || !c->valid || atomic_load(&c->touch.n) || c->gnt_ptes < 0)
        return false;
    *n = (uint64_t)c->gnt_ptes;
    return true;
}

bool mm_audit_incr_valid(const struct machine *m)
{
    return m->audit_memo.incr && m->audit_memo.incr->valid;
}

void mm_audit_incr_verify(struct machine *m, bool on)
{
    if (m->audit_memo.incr)
        m->audit_memo.incr->verify = on;
}

unsigned mm_audit_incr_rebuild(struct machine *m)
{
    struct mm_audit_cache *c = m->audit_memo.incr;
    return c ? rebuild(c) : 0;
}

unsigned mm_audit_incr(struct machine *m)
{
    struct mm_audit_cache *c = m->audit_memo.incr;
    if (!c)
        return mm_audit(m, NULL);
    if (!c->valid)
        return rebuild(c);
    c->bad = 0;
    take_touched(c, true);
    recount_globals(c);
    for (uint32_t i = 0; i < c->check.n; i++)
        check(c, c->check.list[i]);
    set_clear(&c->check);
    if (c->bad)
        c->valid = false;                               /* I6 */
    else if (c->verify)
        verify(c);
    return c->bad;
}
