/*
 * core/shadow/common.c - shadow frames: side table, hash, allocation,
 * promotion/demotion, write-access removal, unshadowing, init/teardown.
 * Rules S1-S5 are in private.h.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mmu.h"
#include "core/shadow/private.h"
#include "core/vcpu.h"
#include "trace/trace.h"

/* ---- the side table, one per machine ------------------------------------ */

#define SH_MAX_MACHINES 16
static hv_lock_t reg_lock = HV_LOCK_INITIALIZER("shadow.registry", LOCK_LEAF);
static struct { struct machine *m; struct sh_pinfo *pi; } reg[SH_MAX_MACHINES];

static void side_table_dtor(struct machine *m)
{
    hv_lock(&reg_lock);
    for (unsigned i = 0; i < SH_MAX_MACHINES; i++)
        if (reg[i].m == m) {
            free(reg[i].pi);
            reg[i].m = NULL;
            reg[i].pi = NULL;
        }
    hv_unlock(&reg_lock);
}

struct sh_pinfo *sh_side_table(struct machine *m)
{
    struct sh_pinfo *pi = NULL;
    bool fresh = false;
    hv_lock(&reg_lock);
    for (unsigned i = 0; i < SH_MAX_MACHINES && !pi; i++)
        if (reg[i].m == m)
            pi = reg[i].pi;
    for (unsigned i = 0; i < SH_MAX_MACHINES && !pi; i++)
        if (reg[i].m == NULL) {
            /* the entries, then the used map (S9) */
            pi = calloc(1, m->nr_frames * sizeof(*pi) +
                           (m->nr_frames + 63) / 64 * sizeof(uint64_t));
            if (pi) {
                reg[i].m = m;
                reg[i].pi = pi;
                fresh = true;
            }
        }
    hv_unlock(&reg_lock);
    if (fresh && machine_at_destroy(m, side_table_dtor) != 0) {
        side_table_dtor(m);
        return NULL;
    }
    return pi;
}

/* ---- the paging lock ----------------------------------------------------- */

void sh_lock(struct domain *d) { hv_lock(&d->shadow->lock); }
void sh_unlock(struct domain *d) { hv_unlock(&d->shadow->lock); }
bool sh_locked(struct domain *d) { return hv_lock_is_locked(&d->shadow->lock); }

/* ---- hash: (guest frame, type) -> shadow frame ---------------------------- */

static unsigned bucket(mfn_t gmfn, enum sh_type t)
{
    return (unsigned)((gmfn * 5 + t) % SH_HASH_BUCKETS);
}

mfn_t sh_lookup(struct domain *d, mfn_t gmfn, enum sh_type t)
{
    struct shadow_domain *sd = d->shadow;
    for (mfn_t s = sd->hash[bucket(gmfn, t)]; s != INVALID_MFN;
         s = sd->pi[s].hash_next)
        if (sd->pi[s].back == gmfn && sd->pi[s].type == t)
            return s;
    return INVALID_MFN;
}

static void hash_delete(struct domain *d, mfn_t smfn)
{
    struct shadow_domain *sd = d->shadow;
    mfn_t *pp = &sd->hash[bucket(sd->pi[smfn].back, sd->pi[smfn].type)];
    while (*pp != INVALID_MFN && *pp != smfn)
        pp = &sd->pi[*pp].hash_next;
    if (*pp == smfn)
        *pp = sd->pi[smfn].hash_next;
}

/*
 * Snapshot the hash first: freeing a shadow can free its children, and a
 * chain walk that kept `next` across fn() would then follow a freed
 * frame's link (a teardown once looped forever on exactly that).  A
 * snapshot entry freed by an earlier call is skipped: no shadow is created
 * meanwhile, so a frame that is still a shadow of d is the same shadow.
 */
void sh_for_each_shadow(struct domain *d, sh_each_fn fn, void *arg)
{
    struct shadow_domain *sd = d->shadow;
    uint64_t n = 0;
    for (unsigned b = 0; b < SH_HASH_BUCKETS; b++)
        for (mfn_t s = sd->hash[b]; s != INVALID_MFN; s = sd->pi[s].hash_next) {
            assert(n < sd->each_cap);
            sd->each[n++] = s;
        }
    for (uint64_t i = 0; i < n; i++) {
        mfn_t s = sd->each[i];
        if (sd->pi[s].type != SH_NONE && sd->pi[s].dom == d->domid)
            fn(d, s, arg);
    }
}

/* ---- promotion / demotion ------------------------------------------------ */

bool sh_gmfn_is_pt(struct domain *d, mfn_t gmfn)
{
    return mfn_valid(d->m, gmfn) && (sh_pi(d, gmfn)->shadow_flags & SHF_TYPES);
}

static void promote(struct domain *d, mfn_t gmfn, enum sh_type t)
{
    struct sh_pinfo *g = sh_pi(d, gmfn);
    /* A frame shadowed more than once, or above L1, is never OOS (S5). */
    if (g->shadow_flags & SHF_OOS)
        sh_resync(d, gmfn, SH_RESYNC_PROMOTE);
    unsigned left = 0;
    sh_remove_write_access(d, gmfn, &left);
    sh_note_used(d, gmfn);                                  /* S9 */
    g->shadow_flags |= (uint8_t)(1u << t);
    page_set_shadowed_pt(d->m, gmfn, true);
    TRC(hvlab_shadow, promote, (uint8_t)d->m->host_id, d->domid, gmfn,
        (uint8_t)t, 1, g->shadow_flags);
}

static void demote(struct domain *d, mfn_t gmfn, enum sh_type t)
{
    struct sh_pinfo *g = sh_pi(d, gmfn);
    if (g->shadow_flags & SHF_OOS)
        sh_resync(d, gmfn, SH_RESYNC_UNSHADOW);
    g->shadow_flags &= (uint8_t)~(1u << t);
    if (!(g->shadow_flags & SHF_TYPES))
        page_set_shadowed_pt(d->m, gmfn, false);
    TRC(hvlab_shadow, promote, (uint8_t)d->m->host_id, d->domid, gmfn,
        (uint8_t)t, 0, g->shadow_flags);
}

/* ---- allocation ------------------------------------------------------------ */

mfn_t sh_get_or_create(struct domain *d, mfn_t gmfn, enum sh_type t,
                       bool *created)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    struct shadow_domain *sd = d->shadow;
    *created = false;
    mfn_t s = sh_lookup(d, gmfn, t);
    if (s != INVALID_MFN)
        return s;
    /* Promote before the shadow exists: the brute-force search below must
       not find our own new table. */
    if (sd->nr_shadows + 1 > sd->each_cap) {
        uint64_t cap = sd->each_cap ? sd->each_cap * 2 : 256;
        mfn_t *each = realloc(sd->each, cap * sizeof(*each));
        if (each == NULL)
            return INVALID_MFN;
        sd->each = each;
        sd->each_cap = cap;
    }
    /* FL shadows have a gfn key, not a guest frame: nothing to promote. */
    bool guest_backed = !sh_type_is_fl(t);
    if (guest_backed)
        promote(d, gmfn, t);
    s = machine_heap_alloc(d->m);
    if (s == INVALID_MFN) {
        if (guest_backed)
            demote(d, gmfn, t);
        return INVALID_MFN;
    }
    struct sh_pinfo *p = &sd->pi[s];
    sh_note_used(d, s);                                     /* S9 */
    p->type = (uint8_t)t;
    p->dom = d->domid;
    p->refs = 0;
    p->back = gmfn;
    unsigned b = bucket(gmfn, t);
    p->hash_next = sd->hash[b];
    sd->hash[b] = s;
    sd->nr_shadows++;
    *created = true;
    TRC(hvlab_shadow, shadow_alloc, (uint8_t)d->m->host_id, d->domid, s,
        (uint8_t)t, gmfn, 1);
    return s;
}

static void sh_destroy(struct domain *d, mfn_t smfn)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    struct shadow_domain *sd = d->shadow;
    struct sh_pinfo *p = &sd->pi[smfn];
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (sh_read_entry(d, smfn, i) != 0)
            sh_write_entry(d, smfn, i, 0);
    hash_delete(d, smfn);
    mfn_t gmfn = p->back;
    enum sh_type t = (enum sh_type)p->type;
    memset(p, 0, sizeof(*p));
    sd->nr_shadows--;
    if (!sh_type_is_fl(t))
        demote(d, gmfn, t);
    TRC(hvlab_shadow, shadow_alloc, (uint8_t)d->m->host_id, d->domid, smfn,
        (uint8_t)t, gmfn, 0);
    machine_heap_free(d->m, smfn);
}

void sh_get_ref(struct domain *d, mfn_t smfn)
{
    sh_pi(d, smfn)->refs++;
}

void sh_put_ref(struct domain *d, mfn_t smfn)
{
    struct sh_pinfo *p = sh_pi(d, smfn);
    if (--p->refs == 0)
        sh_destroy(d, smfn);
}

/* ---- the one writer of shadow entries (S1, S2, S3) ------------------------ */

static bool l1e_maps_ram(pte_t e)
{
    return (e & _PAGE_PRESENT) && !sh_l1e_is_magic(e);
}

void sh_write_entry(struct domain *d, mfn_t smfn, unsigned slot, pte_t ne)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    struct machine *m = d->m;
    struct sh_pinfo *p = sh_pi(d, smfn);
    pte_t *e = ram_w(&sh_table(d, smfn)[slot], sizeof(pte_t));
    pte_t old = *e;

    assert(sh_locked(d));               /* S1, invariant 18 */
    /* Take the new references first (acquire before release). */
    if (sh_type_maps_frames(p->type)) {
        if (l1e_maps_ram(ne)) {
            if (!get_page(m, pte_mfn(ne), d))
                ne = 0;
            else if ((ne & _PAGE_RW) &&
                     get_page_type(m, pte_mfn(ne), PGT_writable_page) != 0)
                ne &= ~_PAGE_RW;
        }
    } else if (sh_type_maps_shadows(p->type)) {
        if (ne & _PAGE_PRESENT)
            sh_get_ref(d, pte_mfn(ne));
    }
    __atomic_store_n(e, ne, __ATOMIC_RELEASE);
    TRC(hvlab_shadow, entry_write, (uint8_t)m->host_id, d->domid, smfn,
        p->type, (uint16_t)slot, old, ne);
    if (sh_type_maps_frames(p->type)) {
        if (l1e_maps_ram(old)) {
            if (old & _PAGE_RW)
                put_page_type(m, pte_mfn(old));
            put_page(m, pte_mfn(old));
        }
    } else if (sh_type_maps_shadows(p->type)) {
        if (old & _PAGE_PRESENT)
            sh_put_ref(d, pte_mfn(old));
    }
}

/* ---- write-access removal (brute force over L1 shadows) ------------------ */

struct wr_arg { mfn_t gmfn; unsigned removed; };

static void wr_one(struct domain *d, mfn_t smfn, void *arg)
{
    struct wr_arg *a = arg;
    if (!sh_type_maps_frames(sh_pi(d, smfn)->type))
        return;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = sh_read_entry(d, smfn, i);
        if (l1e_maps_ram(e) && (e & _PAGE_RW) && pte_mfn(e) == a->gmfn) {
            sh_write_entry(d, smfn, i, e & ~_PAGE_RW);
            a->removed++;
        }
    }
}

static unsigned writable_refs(struct domain *d, mfn_t gmfn)
{
    uint64_t t = atomic_load(&mfn_to_page(d->m, gmfn)->type_info);
    return (t & PGT_type_mask) == PGT_writable_page
           ? (unsigned)(t & PGT_count_mask) : 0;
}

unsigned sh_remove_write_access(struct domain *d, mfn_t gmfn, unsigned *left)
{
    struct wr_arg a = { .gmfn = gmfn, .removed = 0 };
    if (writable_refs(d, gmfn) != 0)
        sh_for_each_shadow(d, wr_one, &a);
    unsigned l = writable_refs(d, gmfn);
    if (a.removed)
        sh_flush_all(d);
    if (left)
        *left = l;
    if (a.removed || l)
        TRC(hvlab_shadow, wrmap_remove, (uint8_t)d->m->host_id, d->domid,
            gmfn, (uint16_t)a.removed, (uint16_t)l);
    return a.removed;
}

void sh_flush_all(struct domain *d)
{
    mmu_request_flush_many(d->vcpu, d->nr_vcpus, MMU_FLUSH_ALL_VA);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i] == current && current != NULL)
            mmu_flush_local(current);
}

/* ---- unshadowing --------------------------------------------------------- */

struct unref_arg { mfn_t target; enum sh_type level; };

static void unref_one(struct domain *d, mfn_t smfn, void *arg)
{
    struct unref_arg *a = arg;
    if (sh_pi(d, smfn)->type != a->level)
        return;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = sh_read_entry(d, smfn, i);
        if ((e & _PAGE_PRESENT) && pte_mfn(e) == a->target)
            sh_write_entry(d, smfn, i, 0);
    }
}

static bool is_some_root(struct domain *d, mfn_t smfn)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i] && d->vcpu[i]->cr3 == smfn)
            return true;
    return false;
}

bool sh_unshadow(struct domain *d, mfn_t gmfn)
{
    sh_remove_all_shadows(d, gmfn);
    return !sh_gmfn_is_pt(d, gmfn);
}

void sh_remove_all_shadows(struct domain *d, mfn_t gmfn)
{
    for (enum sh_type t = SH_L1; t <= SH_L4; t++) {
        mfn_t s = sh_lookup(d, gmfn, t);
        if (s == INVALID_MFN)
            continue;
        if (t == SH_L4 && !is_some_root(d, s)) {
            sh_put_ref(d, s);           /* the pin: frees it (S7) */
            continue;
        }
        if (t == SH_L4) {
            /* Some vCPU's root: empty it, keep it (S7; it refills from the
               guest table on the next faults). */
            for (unsigned i = 0; i < PT_ENTRIES; i++)
                if (sh_read_entry(d, s, i) != 0)
                    sh_write_entry(d, s, i, 0);
            continue;
        }
        sh_get_ref(d, s);               /* keep it while unhooking it */
        struct unref_arg a = { .target = s, .level = (enum sh_type)(t + 1) };
        sh_for_each_shadow(d, unref_one, &a);
        sh_put_ref(d, s);
    }
    sh_flush_all(d);
}

/* ---- log-dirty: blow every shadow (S8) -------------------------------------- */

static void blow_one(struct domain *d, mfn_t smfn, void *arg)
{
    unsigned *roots = arg;
    if (sh_pi(d, smfn)->type != SH_L4)
        return;
    if (!is_some_root(d, smfn)) {
        sh_put_ref(d, smfn);            /* the pin: frees it and below */
        return;
    }
    for (unsigned i = 0; i < PT_ENTRIES; i++)   /* S7: empty, keep */
        if (sh_read_entry(d, smfn, i) != 0)
            sh_write_entry(d, smfn, i, 0);
    (*roots)++;
}

void shadow_log_dirty_rearm(struct domain *d)
{
    if (d->shadow == NULL)
        return;
    sh_lock(d);
    /* OOS pages first: their writable mappings and snapshots go with
       their shadows, the guest's changes reach nothing stale. */
    sh_resync_all(d, SH_RESYNC_UNSHADOW);
    unsigned roots = 0;             /* each free and entry write traces */
    sh_for_each_shadow(d, blow_one, &roots);
    atomic_fetch_add(&d->shadow->dirty_version, 1);
    sh_flush_all(d);
    sh_unlock(d);
    mmu_flush_domain(d);                /* waits, as for a flush IPI */
}

/* ---- p2m changes ----------------------------------------------------------- */

struct p2m_arg { mfn_t old_mfn; pfn_t gfn; unsigned n; };

static void p2m_one(struct domain *d, mfn_t smfn, void *arg)
{
    struct p2m_arg *a = arg;
    if (!sh_type_maps_frames(sh_pi(d, smfn)->type))
        return;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = sh_read_entry(d, smfn, i);
        bool hit = (l1e_maps_ram(e) && pte_mfn(e) == a->old_mfn) ||
                   (sh_l1e_is_mmio(e) &&
                    sh_l1e_mmio_gfn(e) == (a->gfn & SH_L1E_MMIO_GFN_MASK));
        if (hit) {
            sh_write_entry(d, smfn, i, 0);
            a->n++;
        }
    }
}

static void sh_p2m_entry_changed(struct domain *d, pfn_t gfn, mfn_t old_mfn,
                                 unsigned old_type, mfn_t new_mfn,
                                 unsigned new_type)
{
    (void)old_type; (void)new_mfn; (void)new_type;
    if (d->shadow == NULL)
        return;
    sh_lock(d);
    if (old_mfn != INVALID_MFN && mfn_valid(d->m, old_mfn) &&
        sh_gmfn_is_pt(d, old_mfn)) {
        sh_remove_all_shadows(d, old_mfn);
        /* A vCPU's loaded root cannot go (S7): Xen's
           sh_remove_all_shadows_and_parents crashes the domain.  The frame
           stays allocated and shadowed (the vCPU's CR3 ref, hvm.c rule 4). */
        if (sh_gmfn_is_pt(d, old_mfn))
            domain_crash(d, "shadow: can't find all shadows of a frame the "
                         "p2m gave up (a vCPU's loaded root)");
    }
    struct p2m_arg a = { .old_mfn = old_mfn, .gfn = gfn, .n = 0 };
    sh_for_each_shadow(d, p2m_one, &a);
    if (a.n)
        sh_flush_all(d);
    sh_unlock(d);
}

struct audit_arg {
    void (*ref)(void *ctx, mfn_t target, bool rw);
    void *ctx;
};

static void audit_one(struct domain *d, mfn_t smfn, void *arg)
{
    struct audit_arg *a = arg;
    if (!sh_type_maps_frames(sh_pi(d, smfn)->type))
        return;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = sh_read_entry(d, smfn, i);
        if (l1e_maps_ram(e))
            a->ref(a->ctx, pte_mfn(e), (e & _PAGE_RW) != 0);
    }
}

/* The references shadow L1 entries hold on guest frames (S-rules: every
   present, non-magic shadow L1e holds one general ref, plus a writable
   type ref when RW), for the frame audit. */
static void sh_audit_refs(struct domain *d,
                          void (*ref)(void *ctx, mfn_t target, bool rw),
                          void *ctx)
{
    struct audit_arg a = { ref, ctx };
    sh_for_each_shadow(d, audit_one, &a);
}

static const struct paging_hooks sh_hooks = {
    .p2m_entry_changed = sh_p2m_entry_changed,
    .audit_refs = sh_audit_refs,
};

/* ---- lifecycle ------------------------------------------------------------- */

int shadow_domain_init(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    struct shadow_domain *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return -XEN_ENOMEM;
    sd->pi = sh_side_table(d->m);
    if (!sd->pi) {
        free(sd);
        return -XEN_ENOMEM;
    }
    hv_lock_init(&sd->lock, "paging", LOCK_PAGING);
    for (unsigned b = 0; b < SH_HASH_BUCKETS; b++)
        sd->hash[b] = INVALID_MFN;
    sd->oos_active = d->m->opt.shadow_oos;
    d->shadow = sd;
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i] && sh_oos_init_vcpu(d->vcpu[i]) != 0) {
            shadow_teardown(d);
            return -XEN_ENOMEM;
        }
    d->paging_hooks = &sh_hooks;
    return 0;
}

static void unpin_l4(struct domain *d, mfn_t smfn, void *arg)
{
    (void)arg;
    struct sh_pinfo *p = sh_pi(d, smfn);
    if (p->type == SH_L4)
        sh_put_ref(d, smfn);            /* the pin; frees it and below */
}

static void destroy_rest(struct domain *d, mfn_t smfn, void *arg)
{
    (void)arg;
    sh_pi(d, smfn)->refs = 1;
    sh_put_ref(d, smfn);
}

void shadow_teardown(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_MM);                        /* audit.h A2 */
    if (d->shadow == NULL)
        return;
    sh_lock(d);
    sh_resync_all(d, SH_RESYNC_TEARDOWN);
    sh_for_each_shadow(d, unpin_l4, NULL);
    /* Anything left is unreachable: upper levels first, so lower levels
       follow (an L2 or FL2 may hold the last reference to an FL1). */
    static const enum sh_type order[] = { SH_L3, SH_L2, SH_FL2, SH_L1, SH_FL1 };
    for (unsigned o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        enum sh_type t = order[o];
        struct shadow_domain *sd = d->shadow;
        for (unsigned b = 0; b < SH_HASH_BUCKETS; b++)
            for (mfn_t s = sd->hash[b]; s != INVALID_MFN;) {
                mfn_t next = sd->pi[s].hash_next;
                if (sd->pi[s].type == t) {
                    destroy_rest(d, s, NULL);
                    s = sd->hash[b];    /* the chain changed */
                    continue;
                }
                s = next;
            }
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (v && v->shadow) {
            sh_oos_free_vcpu(v);
            v->cr3 = INVALID_MFN;
        }
    }
    sh_unlock(d);
    if (d->paging_hooks == &sh_hooks)
        d->paging_hooks = NULL;
    free(d->shadow->each);
    free(d->shadow);
    d->shadow = NULL;
}

bool shadow_stats(const struct domain *d, struct shadow_stats *out)
{
    memset(out, 0, sizeof(*out));
    const struct shadow_domain *sd = d->shadow;
    if (sd == NULL)
        return false;
    out->fast = atomic_load(&sd->nr_fast);
    out->slow = atomic_load(&sd->nr_slow);
    out->emulated = atomic_load(&sd->nr_emulated);
    out->unsync = atomic_load(&sd->nr_unsync);
    out->resync = atomic_load(&sd->nr_resync);
    out->gnp_injected = atomic_load(&sd->nr_gnp_injected);
    out->prefetched = atomic_load(&sd->nr_prefetch);
    out->unshadowed = atomic_load(&sd->nr_unshadow_user) +
                      atomic_load(&sd->nr_early_unshadow);
    return true;
}
