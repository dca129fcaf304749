/*
 * analysis/check_spurious.c - stories A and C (XEN-NOTES 12.A, 12.C): a page
 * fault delivered to a guest whose page tables said the access was fine.
 *
 * The guest's own verdict (hvlab_guest:pf_delivered.spurious) is not used:
 * each checker decides from what the trace shows of the tables at the
 * moment the hypervisor bounced the fault.
 *
 * Rules:
 *   P1  story-c.spurious-fault (PV).  At a bounced fault (hvlab_hcall:fault
 *       outcome 2) of a domain whose vCPU root the trace set (state_root;
 *       an HVM domain has none), walk the rebuilt tables (state_pte) from
 *       that root, L4 down to the leaf for va, as the MMU walks them
 *       (core/mmu.c rules 1-3): every level present, and for the access in
 *       the error code RW (a write), US (a user access), no NX (a fetch) at
 *       every level.  A walk that succeeds is a fault the guest should
 *       never have seen.  The root is the user one for a user access when
 *       the trace set one, else the kernel one (ptwr.c current_root).
 *   P2  A walk that meets an entry the trace never wrote, or a reserved-bit
 *       fault, decides nothing: the checker stays silent (state.h S2).
 *   P3  story-a.oos-fastpath (HVM shadow).  A guest L1 written by plain
 *       stores while it is out of sync is invisible to the trace; what is
 *       visible is the shadow: hvlab_shadow:entry_write of every shadow
 *       entry, shadow_alloc (which guest frame a shadow shadows) and
 *       resync.  A fault the fast path bounced (hvlab_shadow:fault path 0,
 *       decision 3: a guest-not-present magic entry reflected to the
 *       guest) is reported when an L1 shadow that maps va (reached from a
 *       live L4 shadow through va's slots) had va's entry turned from
 *       guest-not-present into a present mapping, and its guest L1 was then
 *       fully resynced (full=1), both after the faulting vCPU's previous
 *       traced action: the entry the fast path read was stale, and the
 *       resync that showed the guest's entry present ran while the fault
 *       was in flight (12.A steps 2-4).
 *   P4  The faulting vCPU's previous action is the last event that names
 *       it as the actor: any event with dom and vcpu fields, except two.
 *       hvlab_shadow:resync names the slot's owner, not the vCPU that
 *       resyncs.  hvlab_inject:fire is emitted from inside whatever the
 *       vCPU is doing: shadow.fastpath.after_read_sl1e fires between the
 *       fast path's read and its late OOS check, so in threads mode
 *       another vCPU's resync can be traced before the fire event, and
 *       taking the fire as an action would close the window on the very
 *       race.  Nothing else the vCPU emits can lie inside its own fault,
 *       so the window is never too short; it may be longer (the vCPU ran
 *       guest code in between), which a resync before the read cannot
 *       exploit: the fast path would then have read the new entry.
 *       The fault event names the shadow L4 the vCPU ran on (sroot): only
 *       the L1 shadow reached from it is the one the fast path read.  A
 *       trace without that field (older hvlab) leaves every live L4 a
 *       candidate, so an L1 of another process that maps the same va and
 *       was resynced inside a long window could be taken as the one read
 *       (in threads mode, one finding more than the guest counted).  A
 *       fixed run has no such bounce at all: no guest-not-present entry
 *       exists while OOS is on (shadow.fastpath_oos=fixed, 34d140eaa7).
 *   P5  Magic shadow L1 entries (docs/shadow.md, core/shadow/private.h):
 *       guest-not-present is all ones; MMIO magic has the top 32 bits and P
 *       set.  Neither is a mapping.
 *   P6  One finding per bounced fault; the sentence names the vCPU, va,
 *       the access, and the table entry (or the resync) that made it
 *       spurious.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/keytab.h"
#include "analysis/layout.h"
#include "analysis/state.h"

#define NOFRAME     UINT64_MAX

static bool sh_is_mapping(uint64_t e)
{
    return (e & ST_PTE_P) && (e & ST_SH_MAGIC) != ST_SH_MAGIC;
}

static unsigned va_slot(uint64_t va, unsigned level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static const char *access_name(uint32_t pfec)
{
    if (pfec & ST_PFEC_I)
        return (pfec & ST_PFEC_U) ? "user fetch" : "kernel fetch";
    if (pfec & ST_PFEC_W)
        return (pfec & ST_PFEC_U) ? "user write" : "kernel write";
    return (pfec & ST_PFEC_U) ? "user read" : "kernel read";
}

/* ---- u64 -> two u64, on the one table (keytab.h) -------------------------- */

struct kv { uint64_t a, b; };

static struct kv *map_slot(struct keytab *m, uint64_t key, bool create)
{
    return create ? kt_get(m, key, 0) : kt_find(m, key, 0);
}

/* (host, frame, slot) and (host, dom, vcpu) keys */
static uint64_t key_slot(uint8_t host, uint64_t mfn, unsigned slot)
{
    return ((uint64_t)host << 56) | ((mfn & ((1ULL << 47) - 1)) << 9) | (slot & 511);
}

static uint64_t key_vcpu(uint8_t host, uint16_t dom, uint16_t vcpu)
{
    return ((uint64_t)host << 32) | ((uint64_t)dom << 16) | vcpu;
}

/* ======================================================================== */
/* story-c.spurious-fault (P1, P2)                                          */
/* ======================================================================== */

struct spc {
    struct keytab last;     /* (host, table, slot) -> a: ts, b: path */
};

struct walk {
    uint64_t table[5], pte[5];
    unsigned leaf;
    uint64_t frame;
};

/* 1: the access succeeds on the rebuilt tables; 0: it faults; -1: unknown */
static int pv_walk(const struct state *st, uint8_t host, uint64_t root,
                   uint64_t va, uint32_t pfec, struct walk *w)
{
    uint64_t t = root;
    bool rw = true, us = true, nx = false;
    for (unsigned l = 4; l >= 1; l--) {
        uint64_t e;
        w->table[l] = t;
        if (!state_pte(st, host, t, va_slot(va, l), &e))
            return -1;                                  /* P2 */
        w->pte[l] = e;
        if (!(e & ST_PTE_P))
            return 0;
        if ((e & ST_PADDR_RSVD) || (l == 4 && (e & ST_PTE_PS)))
            return -1;                                  /* P2: reserved */
        rw &= !!(e & ST_PTE_RW);
        us &= !!(e & ST_PTE_US);
        nx |= !!(e & ST_PTE_NX);
        if (l == 1 || ((l == 2 || l == 3) && (e & ST_PTE_PS))) {
            w->leaf = l;
            w->frame = ST_PTE_MFN(e);
            break;
        }
        t = ST_PTE_MFN(e);
    }
    if (((pfec & ST_PFEC_W) && !rw) || ((pfec & ST_PFEC_U) && !us) ||
        ((pfec & ST_PFEC_I) && nx))
        return 0;
    return 1;
}

static void spc_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct spc *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    if (e->id == HVE_pt_pte_write) {
        struct kv *s = map_slot(&p->last, key_slot(host, hv_u(e, HVF_table_mfn),
                                                   (unsigned)hv_u(e, HVF_slot)), true);
        if (s) {
            s->a = (uint64_t)e->ts;
            s->b = hv_u(e, HVF_path);
        }
        return;
    }
    /* hvlab_hcall:fault */
    if (hv_u(e, HVF_outcome) != ST_FAULT_BOUNCED)
        return;
    uint32_t pfec = (uint32_t)hv_u(e, HVF_pfec);
    if (pfec & ST_PFEC_RSVD)
        return;
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
    uint64_t va = hv_u(e, HVF_va);
    const struct state *st = az_state(az);
    uint64_t root = FINDING_NONE;
    if (pfec & ST_PFEC_U)
        root = state_root(st, host, dom, vcpu, true);
    if (root == FINDING_NONE || root == NOFRAME)
        root = state_root(st, host, dom, vcpu, false);
    if (root == FINDING_NONE || root == NOFRAME)
        return;                                         /* P1: not PV */
    struct walk w;
    memset(&w, 0, sizeof(w));
    if (pv_walk(st, host, root, va, pfec, &w) != 1)
        return;
    /* The most recent write on the walked path explains the window. */
    unsigned lv = 0;
    uint64_t lts = 0, lpath = 0;
    for (unsigned l = 4; l >= w.leaf; l--) {
        struct kv *s = map_slot(&p->last, key_slot(host, w.table[l], va_slot(va, l)),
                                false);
        if (s && (lv == 0 || (int64_t)s->a >= (int64_t)lts)) {
            lv = l;
            lts = s->a;
            lpath = s->b;
        }
        if (l == 1)
            break;
    }
    char why[256] = "";
    if (lv)
        snprintf(why, sizeof(why), "; the last write on that path was L%u mfn 0x%"
                 PRIx64 " slot %u by %s at %.6f s", lv, w.table[lv],
                 va_slot(va, lv), st_pt_path_name((unsigned)lpath), (double)lts / 1e9);
    az_report(az, "story-c.spurious-fault", e, host, dom, w.frame, FINDING_NONE,
              "dom%u vcpu %u was given a %s page fault (%s, pfec 0x%x) at va 0x%"
              PRIx64 " at %.6f s although its tables mapped it present%s%s at "
              "that moment (root 0x%" PRIx64 ", L%u entry 0x%" PRIx64 " -> mfn 0x%"
              PRIx64 ")%s: a spurious fault (story C: another vCPU's unhooked "
              "writable-pagetable batch was re-hooked before this fault was "
              "looked at)",
              dom, vcpu, (pfec & ST_PFEC_P) ? "protection" : "not-present",
              access_name(pfec), pfec, va, (double)e->ts / 1e9,
              (pfec & ST_PFEC_W) ? " and writable" : "",
              (pfec & ST_PFEC_U) ? " to user mode" : "", root, w.leaf, w.pte[w.leaf],
              w.frame, why);
}

static void spc_init(void *priv)
{
    struct spc *p = priv;
    kt_init(&p->last, sizeof(struct kv));
}

static void spc_fini(void *priv)
{
    struct spc *p = priv;
    kt_fini(&p->last);
}

static const enum hv_event_id spc_ids[] = {
    HVE_pt_pte_write, HVE_hcall_fault, HVE_NONE,
};

const struct checker chk_story_c_spurious = {
    .name = "story-c.spurious-fault",
    .what = "a PV page fault bounced to the guest while the rebuilt tables "
            "mapped its address present with the rights the access needed",
    .priv_size = sizeof(struct spc),
    .events = spc_ids,
    .init = spc_init,
    .event = spc_event,
    .fini = spc_fini,
};

/* ======================================================================== */
/* story-a.oos-fastpath (P3 - P5)                                           */
/* ======================================================================== */

struct spa {
    struct keytab ent;      /* (host, smfn, slot) -> a: entry, b: seq it became a mapping from gnp */
    struct keytab sh;       /* (host, smfn, 0) -> a: type, b: gmfn */
    struct keytab l1of;     /* (host, gmfn, 0) -> a: L1 shadow smfn + 1 */
    struct keytab resync;   /* (host, smfn, 0) -> a: seq, b: ts of its last full resync */
    struct keytab last;     /* (host, dom, vcpu) -> a: seq + 1 of its last action */
    uint64_t *l4;           /* live L4 shadows: host << 56 | smfn */
    size_t nl4, capl4;
};

static void l4_set(struct spa *p, uint8_t host, uint64_t smfn, bool live)
{
    uint64_t k = ((uint64_t)host << 56) | smfn;
    for (size_t i = 0; i < p->nl4; i++)
        if (p->l4[i] == k) {
            if (!live)
                p->l4[i] = p->l4[--p->nl4];
            return;
        }
    if (!live)
        return;
    if (p->nl4 == p->capl4) {
        size_t nc = p->capl4 ? p->capl4 * 2 : 16;
        uint64_t *n = realloc(p->l4, nc * sizeof(*n));
        if (!n)
            return;
        p->l4 = n;
        p->capl4 = nc;
    }
    p->l4[p->nl4++] = k;
}

static uint64_t sh_entry(struct spa *p, uint8_t host, uint64_t smfn, unsigned slot)
{
    struct kv *s = map_slot(&p->ent, key_slot(host, smfn, slot), false);
    return s ? s->a : 0;
}

static void spa_shadow_alloc(struct spa *p, const struct hv_ev *e, uint8_t host)
{
    uint64_t smfn = hv_u(e, HVF_smfn), gmfn = hv_u(e, HVF_gmfn);
    unsigned type = (unsigned)hv_u(e, HVF_type);
    bool alloc = hv_u(e, HVF_alloc) != 0;
    struct kv *s = map_slot(&p->sh, key_slot(host, smfn, 0), true);
    if (s) {
        s->a = alloc ? type : 0;
        s->b = gmfn;
    }
    if (type == ST_SH_L4)
        l4_set(p, host, smfn, alloc);
    if (type == ST_SH_L1) {
        struct kv *g = map_slot(&p->l1of, key_slot(host, gmfn, 0), alloc);
        if (g && (alloc || g->a == smfn + 1))
            g->a = alloc ? smfn + 1 : 0;
    }
    if (!alloc)         /* a freed shadow maps nothing: forget its entries */
        for (unsigned i = 0; i < 512; i++) {
            struct kv *x = map_slot(&p->ent, key_slot(host, smfn, i), false);
            if (x)
                x->a = x->b = 0;
        }
}

static void spa_fault(struct spa *p, struct az *az, const struct hv_ev *e,
                      uint8_t host, uint64_t window)
{
    uint64_t va = hv_u(e, HVF_va);
    unsigned s1 = va_slot(va, 1);
    /* P4: the root the vCPU ran on, when the trace names it */
    uint64_t root = hv_has(e, HVF_sroot) ? hv_u(e, HVF_sroot) : NOFRAME;
    for (size_t i = 0; i < p->nl4; i++) {
        if ((uint8_t)(p->l4[i] >> 56) != host)
            continue;
        uint64_t s = p->l4[i] & ((1ULL << 56) - 1);
        if (root != NOFRAME && s != root)
            continue;
        for (unsigned l = 4; l > 1 && s != NOFRAME; l--) {
            uint64_t x = sh_entry(p, host, s, va_slot(va, l));
            s = sh_is_mapping(x) ? ST_PTE_MFN(x) : NOFRAME;
        }
        if (s == NOFRAME)
            continue;
        struct kv *sh = map_slot(&p->sh, key_slot(host, s, 0), false);
        struct kv *en = map_slot(&p->ent, key_slot(host, s, s1), false);
        struct kv *rs = map_slot(&p->resync, key_slot(host, s, 0), false);
        if (!sh || sh->a != ST_SH_L1 || !en || !rs || !sh_is_mapping(en->a))
            continue;
        /* P3: became a mapping after the vCPU's last action, then resynced */
        if (en->b == 0 || en->b <= window || rs->a <= en->b)
            continue;
        uint16_t dom = (uint16_t)hv_u(e, HVF_dom);
        az_report(az, "story-a.oos-fastpath", e, host, dom, sh->b, FINDING_NONE,
                  "dom%u vcpu %u was given a not-present page fault at va 0x%" PRIx64
                  " at %.6f s by the lock-free fast path (it read a stale "
                  "guest-not-present shadow entry), but the out-of-sync guest L1 "
                  "gmfn 0x%" PRIx64 " behind that address had been resynced at "
                  "%.6f s while the fault was in flight, and the resync showed the "
                  "guest's entry present (shadow L1 0x%" PRIx64 " slot %u = 0x%"
                  PRIx64 "): a spurious fault (story A: the fast path checked "
                  "out-of-sync after reading the shadow entry)",
                  dom, (unsigned)hv_u(e, HVF_vcpu), va, (double)e->ts / 1e9,
                  sh->b, (double)(int64_t)rs->b / 1e9, s, s1, en->a);
        return;                                          /* P6 */
    }
}

static void spa_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct spa *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);

    switch (e->id) {
    case HVE_shadow_shadow_alloc:
        spa_shadow_alloc(p, e, host);
        return;
    case HVE_shadow_entry_write: {
        uint64_t smfn = hv_u(e, HVF_smfn);
        unsigned slot = (unsigned)hv_u(e, HVF_slot);
        uint64_t old = hv_u(e, HVF_old_e), nw = hv_u(e, HVF_new_e);
        struct kv *s = map_slot(&p->ent, key_slot(host, smfn, slot), true);
        if (!s)
            return;
        s->a = nw;
        if (hv_u(e, HVF_type) == ST_SH_L1) {
            if (old == ST_SH_GNP && sh_is_mapping(nw))
                s->b = e->seq + 1;
            else if (!sh_is_mapping(nw))
                s->b = 0;
        }
        if (hv_u(e, HVF_type) == ST_SH_L4)   /* a root the trace saw in use */
            l4_set(p, host, smfn, true);
        return;
    }
    case HVE_shadow_resync: {
        if (!hv_u(e, HVF_full))
            return;
        struct kv *g = map_slot(&p->l1of, key_slot(host, hv_u(e, HVF_gmfn), 0), false);
        if (!g || !g->a)
            return;
        struct kv *r = map_slot(&p->resync, key_slot(host, g->a - 1, 0), true);
        if (r) {
            r->a = e->seq + 1;
            r->b = (uint64_t)e->ts;
        }
        return;                                          /* P4: not an action */
    }
    case HVE_inject_fire:
        return;                                          /* P4: not an action */
    default:
        break;
    }
    if (!hv_has(e, HVF_dom) || !hv_has(e, HVF_vcpu))
        return;
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom), vcpu = (uint16_t)hv_u(e, HVF_vcpu);
    struct kv *l = map_slot(&p->last, key_vcpu(host, dom, vcpu), true);
    if (e->id == HVE_shadow_fault && hv_u(e, HVF_path) == ST_SH_PATH_FAST &&
        hv_u(e, HVF_decision) == ST_SH_DEC_FAST_PROPAGATE)
        spa_fault(p, az, e, host, l ? l->a : 0);
    if (l)
        l->a = e->seq + 1;
}

static void spa_init(void *priv)
{
    struct spa *p = priv;
    kt_init(&p->ent, sizeof(struct kv));
    kt_init(&p->sh, sizeof(struct kv));
    kt_init(&p->l1of, sizeof(struct kv));
    kt_init(&p->resync, sizeof(struct kv));
    kt_init(&p->last, sizeof(struct kv));
}

static void spa_fini(void *priv)
{
    struct spa *p = priv;
    kt_fini(&p->ent);
    kt_fini(&p->sh);
    kt_fini(&p->l1of);
    kt_fini(&p->resync);
    kt_fini(&p->last);
    free(p->l4);
}

const struct checker chk_story_a_oos_fastpath = {
    .name = "story-a.oos-fastpath",
    .what = "the shadow fast path bounced a not-present fault for an entry an "
            "out-of-sync resync showed present while the fault was in flight",
    .priv_size = sizeof(struct spa),
    .events = NULL,                                      /* P4: every actor */
    .init = spa_init,
    .event = spa_event,
    .fini = spa_fini,
};
