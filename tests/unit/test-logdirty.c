/*
 * tests/unit/test-logdirty.c - log-dirty on a hap domain: the bitmap, the
 * shadow_op log-dirty ops, the write-fault marks and flips, hypervisor
 * copies, the error paths, teardown (core/mm/paging.c rules L1-L6); and
 * on a PV domain: the hypervisor-internal write fault at the TLB, the
 * flushes of ENABLE / CLEAN, grant and foreign writes, A/D bits, and the
 * hypervisor's own marks (paging.c L7-L9, core/mmu.c rule 24).
 *
 * Fixture: pv_fixture's privileged PV domain (the toolstack; `current` is
 * its vCPU while shadow_op runs) plus a hap domain made here whose guest
 * page tables (gfns 1-4, A and D preset so walks write nothing) map
 * VA_BASE + i * 4K -> gfn DATA + i.  Every test ends with the audits
 * clean and every frame back.
 */
#include <stdatomic.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/domctl.h>

#include "core/domctl.h"
#include "core/guest_access.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/pte.h"
#include "core/options.h"
#include "core/shadow/private.h"
#include "core/shadow/shadow.h"
#include "inject/inject.h"
#include "tests/unit/grant_fixture.h"

#define HVM_DOMID   2
#define HVM_PAGES   64
#define DATA        16              /* first data gfn */
#define NDATA       16
#define VA_BASE     0x40000000ULL   /* L4 0, L3 1, L2 0, L1 i */
#define PTE_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

struct ld_fix {
    struct pv_fixture pv;
    struct domain *h;
    mfn_t mfn[HVM_PAGES];
};

static void put_pte(struct ld_fix *f, pfn_t table, unsigned slot, pfn_t to)
{
    uint64_t *t = domctl_map_foreign(f->h, f->mfn[table]);
    REQUIRE(t);
    t[slot] = ((uint64_t)to << PAGE_SHIFT) | PTE_FLAGS;
}

static void ld_setup(struct ld_fix *f)
{
    FIX_REQUIRE(fix_setup(&f->pv, NULL) == 0);
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = HVM_PAGES,
        .domid = HVM_DOMID, .paging = PAGING_HAP,
    };
    FIX_REQUIRE(domain_create(f->pv.m, &dc, &f->h) == 0);
    FIX_REQUIRE(domctl_populate(f->h, 0, DATA + NDATA, f->mfn) == 0);
    put_pte(f, 1, 0, 2);
    put_pte(f, 2, 1, 3);
    put_pte(f, 3, 0, 4);
    for (unsigned i = 0; i < NDATA; i++)
        put_pte(f, 4, i, DATA + i);
    FIX_REQUIRE(domctl_set_hvm_cr3(f->h->vcpu[0], 1ULL << PAGE_SHIFT) == 0);
}

static unsigned ld_audits(struct ld_fix *f)
{
    unsigned n = p2m_audit(f->pv.m, NULL) + paging_audit(f->pv.m, NULL);
    if (n) {
        p2m_audit(f->pv.m, stderr);
        paging_audit(f->pv.m, stderr);
    }
    return n + fix_audit(&f->pv);
}

static void ld_finish(struct ld_fix *f)
{
    CHECK_EQ(ld_audits(f), 0);
    CHECK_EQ(fix_teardown(&f->pv), 0);
}

/* The guest's own access, as its vCPU. */
static int gstore(struct ld_fix *f, unsigned i, uint64_t val)
{
    struct vcpu *was = current;
    current = f->h->vcpu[0];
    int rc = mmu_store(f->h->vcpu[0], VA_BASE + i * PAGE_SIZE, 8, val);
    current = was;
    return rc;
}

static int gload(struct ld_fix *f, unsigned i, uint64_t *val)
{
    struct vcpu *was = current;
    current = f->h->vcpu[0];
    int rc = mmu_load(f->h->vcpu[0], VA_BASE + i * PAGE_SIZE, 8, val);
    current = was;
    return rc;
}

static int sop(struct ld_fix *f, uint32_t op, uint32_t mode, uint8_t *bm,
               struct xen_domctl_shadow_op *out)
{
    struct xen_domctl_shadow_op o = { .op = op, .mode = mode,
                                      .pages = HVM_PAGES };
    int rc = domctl_shadow_op(f->h, &o, bm);
    if (out)
        *out = o;
    return rc;
}

static bool bit(const uint8_t *bm, pfn_t p) { return bm[p / 8] >> (p % 8) & 1; }

static unsigned bits(const uint8_t *bm)
{
    unsigned n = 0;
    for (pfn_t p = 0; p < HVM_PAGES; p++)
        n += bit(bm, p);
    return n;
}

static unsigned count_type(struct ld_fix *f, p2m_type_t want)
{
    unsigned n = 0;
    for (pfn_t g = 0; g < HVM_PAGES; g++) {
        p2m_type_t t;
        (void)get_gfn_query_unlocked(f->h, g, &t);
        n += t == want;
    }
    return n;
}

static void t_enable_flips(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    CHECK(paging_log_dirty_enabled(f.h));
    CHECK_EQ(count_type(&f, p2m_ram_logdirty), DATA + NDATA);
    CHECK_EQ(count_type(&f, p2m_ram_rw), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL),
             -XEN_EINVAL);
    CHECK_EQ(ld_audits(&f), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL), 0);
    CHECK_EQ(count_type(&f, p2m_ram_rw), DATA + NDATA);
    CHECK_EQ(count_type(&f, p2m_ram_logdirty), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL), 0);
    ld_finish(&f);
}

static void t_writes_mark(void)
{
    struct ld_fix f;
    ld_setup(&f);
    uint64_t v;
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    CHECK_EQ(gstore(&f, 2, 0x22), MMU_OK);
    CHECK_EQ(gstore(&f, 2, 0x23), MMU_OK);      /* rw now: no second fault */
    CHECK_EQ(gstore(&f, 5, 0x55), MMU_OK);
    CHECK_EQ(gload(&f, 7, &v), MMU_OK);         /* reads mark nothing */
    p2m_type_t t;
    (void)get_gfn_query_unlocked(f.h, DATA + 2, &t);
    CHECK_EQ(t, p2m_ram_rw);
    (void)get_gfn_query_unlocked(f.h, DATA + 7, &t);
    CHECK_EQ(t, p2m_ram_logdirty);
    uint8_t bm[HVM_PAGES / 8] = { 0 };
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 2);
    CHECK(bit(bm, DATA + 2) && bit(bm, DATA + 5));
    CHECK_EQ(o.stats.dirty_count, 2);
    CHECK_EQ(o.stats.fault_count, 2);
    CHECK_EQ(o.pages, HVM_PAGES);
    memset(bm, 0, sizeof(bm));                  /* PEEK did not clear */
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 2);
    CHECK_EQ(o.stats.dirty_count, 2);
    (void)get_gfn_query_unlocked(f.h, DATA + 2, &t);
    CHECK_EQ(t, p2m_ram_logdirty);              /* re-armed */
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 0);
    CHECK_EQ(o.stats.dirty_count, 0);
    CHECK_EQ(gstore(&f, 2, 0x24), MMU_OK);      /* faults and marks again */
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN,
                 XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL, bm, &o), 0);
    CHECK_EQ(bits(bm), 1);
    CHECK(bit(bm, DATA + 2));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(gload(&f, 2, &v), MMU_OK);
    CHECK_EQ(v, 0x24);
    CHECK_EQ(ld_audits(&f), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL), 0);
    CHECK_EQ(count_type(&f, p2m_ram_logdirty), 0);
    ld_finish(&f);
}

/* paging.c L11: a CLEAN of fewer pages than the marked ones resets the
   counts as Xen does and leaves the bits past it set; the audit counts
   them as the CLEAN's carried bits, and a full CLEAN returns them. */
static void t_partial_clean(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    CHECK_EQ(gstore(&f, 2, 0x22), MMU_OK);
    CHECK_EQ(gstore(&f, 5, 0x55), MMU_OK);
    uint8_t bm[HVM_PAGES / 8] = { 0 };
    struct xen_domctl_shadow_op o = { .op = XEN_DOMCTL_SHADOW_OP_CLEAN,
                                      .pages = 0 };
    CHECK_EQ(domctl_shadow_op(f.h, &o, bm), 0);
    CHECK_EQ(o.pages, 0);
    CHECK_EQ(o.stats.dirty_count, 2);
    CHECK_EQ(ld_audits(&f), 0);             /* 0 counted + 2 carried */
    struct xen_domctl_shadow_op out;
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &out), 0);
    CHECK_EQ(bits(bm), 2);                  /* still set */
    CHECK_EQ(out.stats.dirty_count, 0);     /* Xen's reset */
    CHECK_EQ(gstore(&f, 7, 0x77), MMU_OK);
    CHECK_EQ(ld_audits(&f), 0);
    memset(bm, 0, sizeof(bm));
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bm, &out), 0);
    CHECK_EQ(bits(bm), 3);
    CHECK_EQ(out.stats.dirty_count, 1);
    CHECK_EQ(ld_audits(&f), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &out), 0);
    CHECK_EQ(bits(bm), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL), 0);
    ld_finish(&f);
}

static void t_errors(void)
{
    struct ld_fix f;
    ld_setup(&f);
    uint8_t bm[HVM_PAGES / 8];
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 2, bm, NULL), -XEN_EINVAL);
    CHECK_EQ(sop(&f, 99, 0, bm, NULL), -XEN_EINVAL);
    /* Pool exhaustion: the path to a leaf needs 4 nodes. */
    CHECK_EQ(paging_log_dirty_set_pool(f.h, 2), 0);
    CHECK_EQ(gstore(&f, 1, 1), MMU_OK);         /* the write completes */
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, NULL), -XEN_ENOMEM);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bm, NULL), -XEN_ENOMEM);
    CHECK_EQ(paging_log_dirty_set_pool(f.h, 1), -XEN_EINVAL); /* in use */
    CHECK_EQ(ld_audits(&f), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, NULL), 0);
    CHECK_EQ(paging_log_dirty_set_pool(f.h, PAGING_LD_POOL_DEFAULT), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, NULL), 0);
    /* A paging op on itself. */
    struct vcpu *was = current;
    current = f.h->vcpu[0];
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, NULL), -XEN_EINVAL);
    current = was;
    /* Shadow-mode HVM: log-dirty lives in shadow paging (paging.c L10). */
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = 16, .domid = 5,
        .paging = PAGING_SHADOW,
    };
    struct domain *sh = NULL;
    current = NULL;
    REQUIRE(domain_create(f.pv.m, &dc, &sh) == 0);
    struct xen_domctl_shadow_op o = {
        .op = XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY };
    CHECK_EQ(domctl_shadow_op(sh, &o, NULL), 0);
    CHECK(paging_log_dirty_enabled(sh));
    CHECK_EQ(domctl_shadow_op(sh, &o, NULL), -XEN_EINVAL);
    o.op = XEN_DOMCTL_SHADOW_OP_OFF;
    CHECK_EQ(domctl_shadow_op(sh, &o, NULL), 0);
    current = was;
    CHECK(!paging_log_dirty_enabled(sh));
    ld_finish(&f);
}

static void t_copy_marks(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    uint8_t src[PAGE_SIZE + 16];
    memset(src, 0xab, sizeof(src));
    /* Straddles data pages 3 and 4. */
    CHECK_EQ(copy_to_guest(f.h->vcpu[0], VA_BASE + 3 * PAGE_SIZE + 8, src,
                           PAGE_SIZE), 0);
    uint8_t bm[HVM_PAGES / 8] = { 0 };
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 2);
    CHECK(bit(bm, DATA + 3) && bit(bm, DATA + 4));
    CHECK_EQ(o.stats.fault_count, 0);
    uint8_t back[16];
    CHECK_EQ(copy_from_guest(f.h->vcpu[0], back, VA_BASE + 4 * PAGE_SIZE, 8), 0);
    CHECK_EQ(back[0], 0xab);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 0);                      /* reads mark nothing */
    /* A frame mark (the grant path): the M2P gives the pfn. */
    paging_mark_dirty(f.h, f.mfn[DATA + 9]);
    paging_mark_dirty(f.h, f.pv.d->shared_info_mfn);     /* not d's */
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, &o), 0);
    CHECK_EQ(bits(bm), 1);
    CHECK(bit(bm, DATA + 9));
    ld_finish(&f);
}

static void t_teardown_on(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    for (unsigned i = 0; i < NDATA; i++)
        CHECK_EQ(gstore(&f, i, i), MMU_OK);
    CHECK(paging_log_dirty_nodes(f.h) >= 4);
    CHECK_EQ(ld_audits(&f), 0);
    struct vcpu *was = current;
    current = NULL;
    CHECK_EQ(domain_destroy(f.h), 0);
    current = was;
    ld_finish(&f);                                 /* every frame is back */
}

/* A hap granter: a writable grant unmapped by a PV grantee, and a grant
   copy into its frame, mark the frame (XEN-NOTES 6.7); mapping does not. */
static void t_grant_marks(void)
{
    struct gf f;
    gsetup(&f);
    struct domain *h3 = hvm_new(&f, 3);
    mfn_t m5, m6;
    CHECK_EQ(domctl_populate(h3, 5, 1, &m5), 0);
    CHECK_EQ(domctl_populate(h3, 6, 1, &m6), 0);
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 0, 40), 0);
    p2m_type_t t;
    mfn_t table = get_gfn_query_unlocked(h3, 40, &t);
    REQUIRE(table != INVALID_MFN);
    grant(&f, table, 1, FIX_DOMID, 5, GTF_permit_access);
    grant(&f, table, 2, FIX_DOMID, 6, GTF_permit_access);
    struct xen_domctl_shadow_op o = {
        .op = XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY };
    CHECK_EQ(domctl_shadow_op(h3, &o, NULL), 0);
    grant_handle_t h;
    CHECK_EQ(map(&f, 3, 1, GNTMAP_host_map, MAP_VA(0), &h, NULL), GNTST_okay);
    uint8_t bm[8] = { 0 };
    o = (struct xen_domctl_shadow_op){ .op = XEN_DOMCTL_SHADOW_OP_PEEK,
                                       .pages = 64 };
    CHECK_EQ(domctl_shadow_op(h3, &o, bm), 0);
    CHECK_EQ(o.stats.dirty_count, 0);           /* none at map time */
    /* FINAL: Xen does not mark writable grant pins (default off) ... */
    o = (struct xen_domctl_shadow_op){ .op = XEN_DOMCTL_SHADOW_OP_CLEAN,
        .mode = XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL, .pages = 64 };
    CHECK_EQ(domctl_shadow_op(h3, &o, bm), 0);
    CHECK_EQ(bm[0], 0);
    /* ... logdirty.final_marks_grants=on does (XEN-NOTES 12.E). */
    f.pv.m->opt.logdirty_final_marks_grants = true;
    CHECK_EQ(domctl_shadow_op(h3, &o, bm), 0);
    CHECK_EQ(bm[0], 1u << 5);
    CHECK_EQ(o.stats.dirty_count, 1);
    f.pv.m->opt.logdirty_final_marks_grants = false;
    o = (struct xen_domctl_shadow_op){ .op = XEN_DOMCTL_SHADOW_OP_PEEK,
                                       .pages = 64 };
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(domctl_shadow_op(h3, &o, bm), 0);
    CHECK_EQ(o.stats.dirty_count, 1);
    CHECK_EQ(bm[0], 1u << 5);                   /* writable unmap */
    struct gnttab_copy op = {
        .source = { .u.gmfn = fix_spare(&f.pv, 3), .domid = DOMID_SELF },
        .dest = { .u.ref = 2, .domid = 3, .offset = 0 },
        .len = 64, .flags = GNTCOPY_dest_gref,
    };
    CHECK_EQ(copy(&f, &op), GNTST_okay);
    o.op = XEN_DOMCTL_SHADOW_OP_CLEAN;
    CHECK_EQ(domctl_shadow_op(h3, &o, bm), 0);
    CHECK_EQ(bm[0], (1u << 5) | (1u << 6));     /* + the copy's dest */
    CHECK_EQ(paging_audit(f.pv.m, stderr), 0);
    CHECK_EQ(domain_destroy(h3), 0);            /* log-dirty still on */
    finish(&f);
}

/* At logdirty.clean.before_copy (a yield binding: this hook runs there), a
   CLEAN holds the domain's op: a second op is -EBUSY, and a mark made now
   lands in the round being cleaned. */
static struct ld_fix *busy_fix;
static int busy_rc = 1;

static void busy_hook(enum inj_point pt)
{
    (void)pt;
    uint8_t bm[HVM_PAGES / 8];
    busy_rc = sop(busy_fix, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, NULL);
    paging_mark_dirty(busy_fix->h, busy_fix->mfn[DATA + 7]);
}

static void t_busy_and_race(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, NULL), 0);
    char err[256];
    struct inj_plan *p = inj_plan_new();
    REQUIRE(inj_plan_add(p, "logdirty.clean.before_copy:yield", NULL, 0, err,
                         sizeof(err)) == 0);
    void (*was)(enum inj_point) = inj_yield_hook;
    busy_fix = &f;
    inj_yield_hook = busy_hook;
    REQUIRE(inj_run_begin(p, 1) == 0);
    uint8_t bm[HVM_PAGES / 8] = { 0 };
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bm, &o), 0);
    inj_run_end();
    inj_yield_hook = was;
    CHECK_EQ(busy_rc, -XEN_EBUSY);
    CHECK_EQ(bits(bm), 1);                      /* the racing mark */
    CHECK(bit(bm, DATA + 7));
    CHECK_EQ(o.stats.dirty_count, 1);
    CHECK_EQ(inj_point_fires(INJP_logdirty_clean_before_copy), 1);
    inj_plan_free(p);
    CHECK_EQ(sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bm, NULL), 0); /* free */
    ld_finish(&f);
}

/* p2m.c M5 reaches a hap vCPU: once it loaded CR3, a p2m change that takes
   its write right away flushes its TLB, so the next store re-walks. */
static void t_p2m_change_flushes_hap_vcpu(void)
{
    struct ld_fix f;
    ld_setup(&f);
    CHECK(atomic_load(&f.h->dirty_vcpumask) & 1);
    CHECK_EQ(gstore(&f, 0, 1), MMU_OK);                 /* TLB: writable */
    p2m_lock(f.h);
    CHECK_EQ(p2m_change_type_one(f.h, DATA, p2m_ram_rw, p2m_ram_ro), 0);
    p2m_unlock(f.h);
    uint64_t before = f.h->vcpu[0]->nr_faults;
    CHECK_EQ(gstore(&f, 0, 2), MMU_OK);                 /* ram_ro: dropped */
    CHECK(f.h->vcpu[0]->nr_faults > before);            /* it re-walked */
    uint64_t val = 0;
    CHECK_EQ(gload(&f, 0, &val), MMU_OK);
    CHECK_EQ(val, 1);
    ld_finish(&f);
}

/* ---- PV (paging.c L7-L9, mmu.c rule 24) ---------------------------------- */

#define PV_PAGES    64              /* bitmap span: the fixture's pfns */
#define EMPTY_SLOT_PV 200           /* an unmapped slot of the fixture's L1 */

/* A shadow_op on PV domain d, from the toolstack (no current vCPU). */
static int pv_sop(struct domain *d, uint32_t op, uint8_t *bm,
                  struct xen_domctl_shadow_op *out)
{
    struct vcpu *was = current;
    current = NULL;
    struct xen_domctl_shadow_op o = { .op = op, .pages = PV_PAGES };
    int rc = domctl_shadow_op(d, &o, bm);
    current = was;
    if (out)
        *out = o;
    return rc;
}

static unsigned pv_bits(const uint8_t *bm)
{
    unsigned n = 0;
    for (pfn_t p = 0; p < PV_PAGES; p++)
        n += bit(bm, p);
    return n;
}

/* PEEK d: the bits (into bm) and the stats. */
static struct xen_domctl_shadow_op pv_peek(struct domain *d, uint8_t *bm)
{
    struct xen_domctl_shadow_op o = { 0 };
    memset(bm, 0, PV_PAGES / 8);
    CHECK_EQ(pv_sop(d, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    return o;
}

/* A store / load by vCPU v, as the guest (v is current meanwhile). */
static int vstore(struct vcpu *v, uint64_t va, uint64_t val)
{
    struct vcpu *was = current;
    current = v;
    int rc = mmu_store(v, va, 8, val);
    current = was;
    return rc;
}

static int vload(struct vcpu *v, uint64_t va, uint64_t *val)
{
    struct vcpu *was = current;
    current = v;
    int rc = mmu_load(v, va, 8, val);
    current = was;
    return rc;
}

static unsigned pv_audits(struct pv_fixture *f)
{
    unsigned n = paging_audit(f->m, NULL);
    if (n)
        paging_audit(f->m, stderr);
    return n;
}

/* One mmuext op by d1 (the fixture's vCPU). */
static long pv_mmuext(struct pv_fixture *f, unsigned cmd, mfn_t mfn,
                      mfn_t src)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    op.arg2.src_mfn = src;
    uint64_t va = fix_put(f, 3 * PAGE_SIZE, &op, sizeof(op));
    return hypercall(f->v, __HYPERVISOR_mmuext_op, va, 1, 0, DOMID_SELF, 0);
}

/* One mmu_update request by d1. */
static long pv_mmu_update(struct pv_fixture *f, uint64_t ptr, uint64_t val)
{
    struct mmu_update req = { .ptr = ptr, .val = val };
    uint64_t va = fix_put(f, 3 * PAGE_SIZE, &req, sizeof(req));
    return hypercall(f->v, __HYPERVISOR_mmu_update, va, 1, 0, DOMID_SELF, 0);
}

static void t_pv_enable(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    uint8_t bm[PV_PAGES / 8];
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    CHECK(paging_log_dirty_enabled(f.d));
    CHECK_EQ(atomic_load(&paging_ld_live), 1);
    struct xen_domctl_shadow_op o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 0);
    CHECK_EQ(o.stats.dirty_count, 0);
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL),
             -XEN_EINVAL);                          /* as Xen */
    CHECK_EQ(pv_audits(&f), 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK(!paging_log_dirty_enabled(f.d));
    CHECK_EQ(atomic_load(&paging_ld_live), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_pv_store_fault(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    uint8_t bm[PV_PAGES / 8];
    uint64_t v;
    /* A writable TLB entry from before: ENABLE must flush it. */
    CHECK_EQ(vstore(f.v, fix_data_va(5), 1), MMU_OK);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    uint64_t guest_faults = f.v->nr_faults;
    CHECK_EQ(vload(f.v, fix_data_va(6), &v), MMU_OK);   /* loads: nothing */
    CHECK_EQ(vstore(f.v, fix_data_va(5), 2), MMU_OK);
    struct xen_domctl_shadow_op o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, FIX_FIRST_DATA_PFN + 5));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(o.stats.dirty_count, 1);
    CHECK_EQ(vstore(f.v, fix_data_va(5) + 8, 3), MMU_OK);  /* free now */
    o = pv_peek(f.d, bm);
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(pv_bits(bm), 1);
    /* A store after a load of the page: one fault, one mark. */
    CHECK_EQ(vstore(f.v, fix_data_va(6), 6), MMU_OK);
    o = pv_peek(f.d, bm);
    CHECK_EQ(o.stats.fault_count, 2);
    CHECK_EQ(pv_bits(bm), 2);
    CHECK_EQ(f.v->nr_faults, guest_faults);     /* none reached the guest */
    CHECK_EQ(pv_audits(&f), 0);
    /* CLEAN returns both and clears; the TLB was flushed, so the next
       store faults and marks again. */
    memset(bm, 0, sizeof(bm));
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK_EQ(pv_bits(bm), 2);
    CHECK(bit(bm, FIX_FIRST_DATA_PFN + 5) && bit(bm, FIX_FIRST_DATA_PFN + 6));
    CHECK_EQ(o.stats.fault_count, 2);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 0);
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(pv_audits(&f), 0);
    CHECK_EQ(vstore(f.v, fix_data_va(5), 4), MMU_OK);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, FIX_FIRST_DATA_PFN + 5));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(vload(f.v, fix_data_va(5), &v), MMU_OK);
    CHECK_EQ(v, 4);                             /* the store landed */
    CHECK_EQ(f.v->nr_faults, guest_faults);
    CHECK_EQ(pv_audits(&f), 0);
    /* OFF, then writes mark nothing (and a later PEEK shows nothing). */
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK_EQ(vstore(f.v, fix_data_va(7), 7), MMU_OK);
    CHECK_EQ(pv_mmu_update(&f, ((uint64_t)f.l1 << PAGE_SHIFT) +
                           (EMPTY_SLOT_PV) * sizeof(pte_t),
                           pte_make(fix_spare(&f, 0), FIX_DATA_FLAGS)), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 0);
    CHECK_EQ(o.stats.dirty_count, 0);
    CHECK_EQ(atomic_load(&paging_ld_live), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* d2 (granter) in log-dirty; d1 (backend) writes through its grant
   mapping of d2's frame: not marked for d2 while mapped; the writable
   unmap marks it (the grant path). */
static void t_pv_backend_invisible(void)
{
    struct gf f;
    gsetup(&f);
    uint8_t bm[PV_PAGES / 8];
    grant(&f, f.table, 1, FIX_DOMID, f.d2mfn[5], GTF_permit_access);
    CHECK_EQ(pv_sop(f.d2, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL),
             0);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 1, GNTMAP_host_map, MAP_VA(0), &h, NULL), GNTST_okay);
    CHECK_EQ(vstore(f.pv.v, MAP_VA(0), 0x77), MMU_OK);
    CHECK_EQ(vstore(f.pv.v, MAP_VA(0) + 8, 0x78), MMU_OK);
    struct xen_domctl_shadow_op o = pv_peek(f.d2, bm);
    CHECK_EQ(pv_bits(bm), 0);                   /* invisible (story E) */
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(*(uint64_t *)fix_frame(&f.pv, f.d2mfn[5]), 0x77);
    CHECK_EQ(paging_audit(f.pv.m, stderr), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    o = pv_peek(f.d2, bm);
    CHECK_EQ(pv_bits(bm), 1);                   /* writable unmap */
    CHECK(bit(bm, 5));
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(pv_sop(f.d2, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    finish(&f);
}

/* d1 in log-dirty stores to d2's frame through a grant mapping: nothing
   of d1's is marked for the target (only d1's own L1, whose entry the
   map wrote and whose A/D the walk set). */
static void t_pv_store_foreign(void)
{
    struct gf f;
    gsetup(&f);
    uint8_t bm[PV_PAGES / 8];
    grant(&f, f.table, 1, FIX_DOMID, f.d2mfn[4], GTF_permit_access);
    CHECK_EQ(pv_sop(f.pv.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL),
             0);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 1, GNTMAP_host_map, MAP_VA(0), &h, NULL), GNTST_okay);
    CHECK_EQ(pv_sop(f.pv.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    CHECK_EQ(vstore(f.pv.v, MAP_VA(0), 0x99), MMU_OK);
    struct xen_domctl_shadow_op o = pv_peek(f.pv.d, bm);
    CHECK_EQ(o.stats.fault_count, 0);           /* no write fault */
    for (pfn_t p = 0; p < PV_PAGES; p++)        /* at most the L1 (A/D) */
        if (p != 3)
            CHECK(!bit(bm, p));
    CHECK_EQ(*(uint64_t *)fix_frame(&f.pv, f.d2mfn[4]), 0x99);
    CHECK_EQ(paging_audit(f.pv.m, stderr), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(pv_sop(f.pv.d, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    finish(&f);
}

/* A and D set by the walk are writes to the table: the L1 is marked when
   a bit changes, and only then; mmu_update marks the table it writes. */
static void t_pv_ad_and_mmu_update(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    uint8_t bm[PV_PAGES / 8];
    uint64_t v;
    const pfn_t l1_pfn = 3, sp_pfn = FIX_FIRST_SPARE_PFN;
    const uint64_t va = FIX_DATA_VA + EMPTY_SLOT_PV * PAGE_SIZE;
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    /* mmu_update of an L1 entry (no A, no D): the L1 frame is marked. */
    CHECK_EQ(pv_mmu_update(&f, ((uint64_t)f.l1 << PAGE_SHIFT) +
                           EMPTY_SLOT_PV * sizeof(pte_t),
                           pte_make(fix_spare(&f, 0),
                                    _PAGE_PRESENT | _PAGE_RW)), 0);
    memset(bm, 0, sizeof(bm));
    struct xen_domctl_shadow_op o;
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK(bit(bm, l1_pfn));
    CHECK_EQ(o.stats.fault_count, 0);
    /* A load: the walk sets A in the L1 entry -> the L1 is marked. */
    CHECK_EQ(vload(f.v, va, &v), MMU_OK);
    CHECK(fix_entry(&f, f.l1, EMPTY_SLOT_PV) & _PAGE_ACCESSED);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, l1_pfn));
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    CHECK_EQ(vload(f.v, va + 8, &v), MMU_OK);   /* A already set: nothing */
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 0);
    /* A store: D in the L1 entry (L1 marked) and the frame (a fault). */
    CHECK_EQ(vstore(f.v, va, 1), MMU_OK);
    CHECK(fix_entry(&f, f.l1, EMPTY_SLOT_PV) & _PAGE_DIRTY);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 2);
    CHECK(bit(bm, l1_pfn) && bit(bm, sp_pfn));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(pv_audits(&f), 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Pin / unpin mark the table; type validation (0 -> 1) and the last type
   put (1 -> 0) mark it; MMUEXT_CLEAR_PAGE / COPY_PAGE mark the
   destination; MMU_MACHPHYS_UPDATE marks the frame at its new pfn. */
static void t_pv_hypervisor_marks(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    uint8_t bm[PV_PAGES / 8];
    struct xen_domctl_shadow_op o;
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    /* Pin the L1 in use (validated already: only the pin marks). */
    CHECK_EQ(pv_mmuext(&f, MMUEXT_PIN_L1_TABLE, f.l1, 0), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, 3));
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    CHECK_EQ(pv_mmuext(&f, MMUEXT_UNPIN_TABLE, f.l1, 0), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, 3));
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    /* Type validation of a fresh L1 and its last put. */
    mfn_t sp = fix_spare(&f, 1);
    CHECK_EQ(get_page_type(f.m, sp, PGT_l1_page_table), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, FIX_FIRST_SPARE_PFN + 1));
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    put_page_type(f.m, sp);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, FIX_FIRST_SPARE_PFN + 1));
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    /* CLEAR_PAGE, COPY_PAGE: the destination only. */
    CHECK_EQ(pv_mmuext(&f, MMUEXT_CLEAR_PAGE, fix_spare(&f, 2), 0), 0);
    CHECK_EQ(pv_mmuext(&f, MMUEXT_COPY_PAGE, fix_spare(&f, 3),
                       fix_spare(&f, 4)), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 2);
    CHECK(bit(bm, FIX_FIRST_SPARE_PFN + 2) && bit(bm, FIX_FIRST_SPARE_PFN + 3));
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, NULL), 0);
    /* MMU_MACHPHYS_UPDATE: spare 5's M2P entry now names pfn 40; the mark
       goes to pfn 40 (then the entry is put back). */
    mfn_t m5 = fix_spare(&f, 5);
    CHECK_EQ(pv_mmu_update(&f, ((uint64_t)m5 << PAGE_SHIFT) |
                           MMU_MACHPHYS_UPDATE, 40), 0);
    o = pv_peek(f.d, bm);
    CHECK_EQ(pv_bits(bm), 1);
    CHECK(bit(bm, 40));
    CHECK_EQ(pv_mmu_update(&f, ((uint64_t)m5 << PAGE_SHIFT) |
                           MMU_MACHPHYS_UPDATE, FIX_FIRST_SPARE_PFN + 5), 0);
    CHECK_EQ(pv_audits(&f), 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Destroying a PV domain with log-dirty on: the bitmap goes, the live
   count drops, every frame comes back. */
static void t_pv_teardown_on(void)
{
    struct pv_fixture f;
    FIX_REQUIRE(fix_setup(&f, NULL) == 0);
    CHECK_EQ(pv_sop(f.d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    for (unsigned i = 0; i < FIX_NR_DATA; i++)
        CHECK_EQ(vstore(f.v, fix_data_va(i), i), MMU_OK);
    CHECK_EQ(pv_audits(&f), 0);
    CHECK_EQ(fix_teardown(&f), 0);
    CHECK_EQ(atomic_load(&paging_ld_live), 0);
}

/* ---- shadow-mode HVM (paging.c L10, core/shadow/private.h S8) ------------ */

/*
 * A machine with one shadow-mode HVM domain (2 vCPUs, 64 gfns), guest
 * tables by hand as tests/unit/test-shadow.c has them: gfn 1 L4 -> 2 L3
 * -> 3 L2 -> 4 L1 (VA 1 GiB): slots 0..15 -> gfns 8..23 RW, A and D
 * preset (the walk writes nothing) except slot 5 (D clear); slot 100 ->
 * gfn 4 itself (the guest writes its own L1 there).  The fault vector is
 * sh_page_fault, as in test-shadow.c.
 */
#define SH_VA       0x40000000ULL
#define SH_PT_VA    (SH_VA + 100 * 4096ULL)
#define SH_G_L1     4
#define SH_GFN(i)   (8 + (i))
#define SH_PAGES    64

struct sh_fix {
    struct machine *m;
    struct domain *d;
    struct vcpu *a;
    uint64_t free0;
};

static enum pf_outcome sh_vec(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    uint32_t inj = 0;
    return sh_page_fault(v, va, pfec, &inj) == SH_INJECT ? PF_KILL : PF_RETRY;
}

static pte_t *sh_gtab(struct sh_fix *f, pfn_t gfn)
{
    p2m_type_t t;
    return (pte_t *)mfn_to_virt(f->m, get_gfn_query_unlocked(f->d, gfn, &t));
}

static void sh_setup(struct sh_fix *f, bool oos, bool fastpath)
{
    struct hv_options o;
    hv_options_default(&o);
    o.shadow_oos = oos;
    o.shadow_fastpath = fastpath;
    o.shadow_fastpath_oos = SH_FASTPATH_OOS_FIXED;
    memset(f, 0, sizeof(*f));
    current = NULL;
    REQUIRE(machine_create(64 << 20, 0, &o, &f->m) == 0);
    f->free0 = f->m->nr_free;
    struct domain_config cfg = { .kind = DOMAIN_HVM, .nr_vcpus = 2,
        .max_pages = 256, .domid = 1, .paging = PAGING_SHADOW };
    REQUIRE(domain_create(f->m, &cfg, &f->d) == 0);
    REQUIRE(domctl_populate(f->d, 0, SH_PAGES, NULL) == 0);
    REQUIRE(f->d->shadow != NULL);
    pte_t fl = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED |
               _PAGE_DIRTY;
    sh_gtab(f, 1)[0] = pte_make(2, fl);
    sh_gtab(f, 2)[1] = pte_make(3, fl);
    sh_gtab(f, 3)[0] = pte_make(SH_G_L1, fl);
    for (unsigned i = 0; i < 16; i++)
        sh_gtab(f, SH_G_L1)[i] = pte_make(SH_GFN(i), fl);
    sh_gtab(f, SH_G_L1)[5] &= ~(pte_t)_PAGE_DIRTY;
    sh_gtab(f, SH_G_L1)[100] = pte_make(SH_G_L1, fl & ~(pte_t)_PAGE_USER);
    for (unsigned i = 0; i < 2; i++) {
        struct vcpu *v = f->d->vcpu[i];
        v->pf_vector = sh_vec;
        v->in_kernel = true;
        current = v;
        REQUIRE(sh_update_cr3(v, 1ULL << PAGE_SHIFT) == 0);
    }
    f->a = f->d->vcpu[0];
    current = NULL;
}

static unsigned sh_audits(struct sh_fix *f)
{
    unsigned n = shadow_audit(f->m, NULL) + paging_audit(f->m, NULL);
    if (n) {
        shadow_audit(f->m, stderr);
        paging_audit(f->m, stderr);
    }
    return n;
}

static void sh_finish(struct sh_fix *f)
{
    CHECK_EQ(sh_audits(f), 0);
    current = NULL;
    CHECK_EQ(domain_destroy(f->d), 0);
    CHECK_EQ(f->m->nr_free, f->free0);
    CHECK_EQ(atomic_load(&paging_ld_live), 0);
    machine_destroy(f->m);
}

/* A shadow_op from the toolstack (no current vCPU). */
static int sh_sop(struct sh_fix *f, uint32_t op, uint8_t *bm,
                  struct xen_domctl_shadow_op *out)
{
    struct vcpu *was = current;
    current = NULL;
    struct xen_domctl_shadow_op o = { .op = op, .pages = SH_PAGES };
    if (bm)
        memset(bm, 0, SH_PAGES / 8);
    int rc = domctl_shadow_op(f->d, &o, bm);
    current = was;
    if (out)
        *out = o;
    return rc;
}

/* A guest store by vCPU a; *faults: the faults it took. */
static int sh_store(struct sh_fix *f, uint64_t va, uint64_t val,
                    uint64_t *faults)
{
    uint64_t before = f->a->nr_faults;
    current = f->a;
    int rc = mmu_store(f->a, va, 8, val);
    current = NULL;
    if (faults)
        *faults = f->a->nr_faults - before;
    return rc;
}

static int sh_load(struct sh_fix *f, uint64_t va, uint64_t *val)
{
    current = f->a;
    int rc = mmu_load(f->a, va, 8, val);
    current = NULL;
    return rc;
}

static unsigned sh_bits(const uint8_t *bm)
{
    unsigned n = 0;
    for (pfn_t p = 0; p < SH_PAGES; p++)
        n += bit(bm, p);
    return n;
}

/* Shadows of d other than the vCPUs' root (both vCPUs share one). */
static unsigned sh_nonroot(struct sh_fix *f)
{
    return (unsigned)f->d->shadow->nr_shadows - 1;
}

static void sh_store_marks(bool oos, bool fastpath)
{
    struct sh_fix f;
    sh_setup(&f, oos, fastpath);
    uint8_t bm[SH_PAGES / 8];
    uint64_t faults, v;
    CHECK_EQ(sh_load(&f, SH_VA, &v), MMU_OK);       /* shadows built */
    CHECK(sh_nonroot(&f) >= 3);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    CHECK_EQ(sh_nonroot(&f), 0);                    /* blown, root kept */
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_store(&f, SH_VA + 2 * PAGE_SIZE, 0x22, &faults), MMU_OK);
    CHECK_EQ(faults, 1);                            /* hidden: no injection */
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 1);
    CHECK(bit(bm, SH_GFN(2)));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(o.stats.dirty_count, 1);
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_store(&f, SH_VA + 2 * PAGE_SIZE + 8, 0x23, &faults), MMU_OK);
    CHECK_EQ(faults, 0);                            /* RW now */
    CHECK_EQ(sh_store(&f, SH_VA + 3 * PAGE_SIZE, 0x33, &faults), MMU_OK);
    CHECK_EQ(faults, 1);                            /* prefilled, not RW */
    CHECK_EQ(sh_load(&f, SH_VA + 7 * PAGE_SIZE, &v), MMU_OK);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 2);
    CHECK(bit(bm, SH_GFN(2)) && bit(bm, SH_GFN(3)));
    CHECK_EQ(o.stats.fault_count, 2);
    CHECK_EQ(o.stats.dirty_count, 2);
    CHECK_EQ(sh_nonroot(&f), 0);                    /* re-armed: blown */
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 0);
    CHECK_EQ(o.stats.fault_count, 0);
    CHECK_EQ(sh_store(&f, SH_VA + 2 * PAGE_SIZE, 0x24, &faults), MMU_OK);
    CHECK_EQ(faults, 1);                            /* faults again */
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 1);
    CHECK(bit(bm, SH_GFN(2)));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(sh_load(&f, SH_VA + 2 * PAGE_SIZE, &v), MMU_OK);
    CHECK_EQ(v, 0x24);
    CHECK_EQ(sh_audits(&f), 0);
    /* OFF: nothing marked, stores work, the shadows stay consistent. */
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK(!paging_log_dirty_enabled(f.d));
    CHECK_EQ(sh_store(&f, SH_VA + 9 * PAGE_SIZE, 0x99, NULL), MMU_OK);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 0);
    CHECK_EQ(sh_audits(&f), 0);
    sh_finish(&f);
}

static void t_sh_store_marks(void) { sh_store_marks(false, false); }
static void t_sh_store_marks_oos_fp(void) { sh_store_marks(true, true); }

static void t_sh_enable_twice(void)
{
    struct sh_fix f;
    sh_setup(&f, true, true);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL),
             -XEN_EINVAL);
    CHECK_EQ(atomic_load(&paging_ld_live), 1);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    CHECK_EQ(atomic_load(&paging_ld_live), 0);
    /* On again and destroyed while on: every frame comes back. */
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    CHECK_EQ(sh_store(&f, SH_VA, 1, NULL), MMU_OK);
    sh_finish(&f);
}

/* Emulated PT writes and the walk's A/D mark the guest table's gfn. */
static void t_sh_hypervisor_writes(void)
{
    struct sh_fix f;
    sh_setup(&f, false, true);
    uint8_t bm[SH_PAGES / 8];
    uint64_t faults, v;
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    uint64_t em = atomic_load(&f.d->shadow->nr_emulated);
    pte_t ne = pte_make(SH_GFN(30), _PAGE_PRESENT | _PAGE_RW |
                        _PAGE_ACCESSED | _PAGE_DIRTY);
    CHECK_EQ(sh_store(&f, SH_PT_VA + 50 * 8, ne, NULL), MMU_OK);
    CHECK_EQ(atomic_load(&f.d->shadow->nr_emulated), em + 1);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 1);
    CHECK(bit(bm, SH_G_L1));                        /* source copy */
    CHECK_EQ(o.stats.fault_count, 0);
    /* Slot 5's D is clear: the store's walk sets it (marks the L1) and
       the fault marks the data gfn. */
    CHECK_EQ(sh_store(&f, SH_VA + 5 * PAGE_SIZE, 5, &faults), MMU_OK);
    CHECK(sh_gtab(&f, SH_G_L1)[5] & _PAGE_DIRTY);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 2);
    CHECK(bit(bm, SH_G_L1) && bit(bm, SH_GFN(5)));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK_EQ(sh_load(&f, SH_VA + 50 * PAGE_SIZE, &v), MMU_OK);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 0);                       /* reads mark nothing */
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    sh_finish(&f);
}

/* OOS on: the unsync write marks the L1 (a fault, RW to it); the guest's
   direct writes are in that round; CLEAN resyncs it and re-arms. */
static void t_sh_oos(void)
{
    struct sh_fix f;
    sh_setup(&f, true, true);
    uint8_t bm[SH_PAGES / 8];
    uint64_t faults, v;
    struct xen_domctl_shadow_op o;
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    CHECK_EQ(sh_load(&f, SH_VA, &v), MMU_OK);
    p2m_type_t t;
    mfn_t g1 = get_gfn_query_unlocked(f.d, SH_G_L1, &t);
    pte_t ne = pte_make(SH_GFN(30), _PAGE_PRESENT | _PAGE_RW |
                        _PAGE_ACCESSED | _PAGE_DIRTY);
    CHECK_EQ(sh_store(&f, SH_PT_VA + 50 * 8, ne, &faults), MMU_OK);
    CHECK(sh_pi(f.d, g1)->shadow_flags & SHF_OOS);
    CHECK_EQ(sh_store(&f, SH_PT_VA + 51 * 8, ne, &faults), MMU_OK);
    CHECK_EQ(faults, 0);                            /* direct: RW, dirty */
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 1);
    CHECK(bit(bm, SH_G_L1));
    CHECK_EQ(o.stats.fault_count, 1);
    CHECK(!(sh_pi(f.d, g1)->shadow_flags & SHF_OOS));   /* resynced */
    CHECK_EQ(sh_nonroot(&f), 0);
    /* The next write to the table faults (unsyncs) and marks again. */
    CHECK_EQ(sh_store(&f, SH_PT_VA + 52 * 8, ne, &faults), MMU_OK);
    CHECK(faults >= 1);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_PEEK, bm, &o), 0);
    CHECK_EQ(sh_bits(bm), 1);
    CHECK(bit(bm, SH_G_L1));
    CHECK_EQ(sh_load(&f, SH_VA + 52 * PAGE_SIZE, &v), MMU_OK);
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    sh_finish(&f);
}

/* Read page 6 of SH_VA: its L1 shadow, and *se the entry (present). */
static mfn_t sh_loaded_sl1(struct sh_fix *f, pte_t *se)
{
    uint64_t v;
    CHECK_EQ(sh_load(f, SH_VA + 6 * PAGE_SIZE, &v), MMU_OK);
    p2m_type_t t;
    mfn_t sl1 = sh_lookup(f->d, get_gfn_query_unlocked(f->d, SH_G_L1, &t),
                          SH_L1);
    *se = sl1 != INVALID_MFN ? sh_read_entry(f->d, sl1, 6) : 0;
    CHECK(*se & _PAGE_PRESENT);
    return sl1;
}

/* Write entry 6 of that L1 shadow, as the shadow code does. */
static void sh_put_entry(struct sh_fix *f, mfn_t sl1, pte_t e)
{
    sh_lock(f->d);
    sh_write_entry(f->d, sl1, 6, e);
    sh_unlock(f->d);
}

/* The audit sees an RW shadow entry of a clean frame (S8). */
static void t_sh_audit_catches(void)
{
    struct sh_fix f;
    sh_setup(&f, false, false);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, NULL), 0);
    pte_t se;
    mfn_t sl1 = sh_loaded_sl1(&f, &se);
    REQUIRE(sl1 != INVALID_MFN);
    CHECK(!(se & _PAGE_RW));                        /* clean: read-only */
    sh_put_entry(&f, sl1, se | _PAGE_RW);
    CHECK(shadow_audit(f.m, NULL) >= 1);
    sh_put_entry(&f, sl1, se);
    CHECK_EQ(sh_audits(&f), 0);
    CHECK_EQ(sh_sop(&f, XEN_DOMCTL_SHADOW_OP_OFF, NULL, NULL), 0);
    sh_finish(&f);
}

/* Shadow invariant 15: an in-sync sl1 entry may have lost RW and D (a
   read-only entry whose D the guest's walk set later, under another role
   of the same table: tests/data/fuzz/hvmrace-shadow-lost-dirty), never
   only D while RW, never another frame or other flags. */
static void t_sh_audit_lost_dirty(void)
{
    struct sh_fix f;
    sh_setup(&f, false, false);
    pte_t se;
    mfn_t sl1 = sh_loaded_sl1(&f, &se);
    REQUIRE(sl1 != INVALID_MFN && (se & _PAGE_PRESENT));
    const pte_t bad[] = {
        (se | _PAGE_RW) & ~(pte_t)_PAGE_DIRTY,      /* RW without D */
        se ^ ((pte_t)1 << PAGE_SHIFT),              /* another frame */
        se | _PAGE_USER | _PAGE_DIRTY,              /* a flag the guest lacks */
    };
    sh_put_entry(&f, sl1, se & ~(pte_t)(_PAGE_RW | _PAGE_DIRTY));
    CHECK_EQ(shadow_audit(f.m, NULL), 0);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i] == se)
            continue;
        sh_put_entry(&f, sl1, bad[i]);
        CHECK(shadow_audit(f.m, NULL) >= 1);
    }
    sh_put_entry(&f, sl1, se);
    CHECK_EQ(sh_audits(&f), 0);
    sh_finish(&f);
}

static const struct test tests[] = {
    { "shadow invariant 15: a read-only entry may lack D, never an RW one, "
      "another frame or other flags", t_sh_audit_lost_dirty },
    { "a p2m change that takes a right away flushes a hap vCPU that loaded CR3 (the stale writable TLB entry is gone)", t_p2m_change_flushes_hap_vcpu },
    { "enabling log-dirty flips every ram_rw gfn to ram_logdirty; enabling "
      "again is -EINVAL; OFF flips them all back (OFF when off is 0)",
      t_enable_flips },
    { "guest writes fault once and mark exactly the gfns written, reads mark "
      "nothing; PEEK does not clear, CLEAN returns, clears and re-arms; a "
      "write after CLEAN faults and marks again; FINAL works",
      t_writes_mark },
    { "a CLEAN of fewer pages resets the counts and leaves the rest set, "
      "counted as carried; a full CLEAN returns them", t_partial_clean },
    { "bad mode or op is -EINVAL, an exhausted bitmap pool makes CLEAN/PEEK "
      "-ENOMEM until OFF, an op on itself is -EINVAL, shadow-mode HVM "
      "enables (twice: -EINVAL) and switches off",
      t_errors },
    { "copy_to_guest into a hap domain marks each page written; a frame "
      "mark goes through the M2P and ignores frames d does not own",
      t_copy_marks },
    { "destroying a domain with log-dirty on frees the bitmap and every "
      "frame comes back", t_teardown_on },
    { "a writable grant unmap and a grant copy into a hap granter's frame "
      "mark it; the map itself does not; a FINAL clean marks writable pins "
      "only with logdirty.final_marks_grants=on", t_grant_marks },
    { "a second shadow_op while a CLEAN runs is -EBUSY; a mark racing the "
      "CLEAN before its copy is returned by it", t_busy_and_race },
    { "PV: ENABLE works (stats zero, bitmap empty), ENABLE again is -EINVAL, "
      "OFF switches it off", t_pv_enable },
    { "PV: a guest store marks exactly its pfn with one hypervisor-internal "
      "fault (none reaches the guest); a second store is free; loads mark "
      "nothing; CLEAN returns and clears, and the next store faults again; "
      "after OFF nothing is marked", t_pv_store_fault },
    { "PV: a backend's stores through its grant mapping of d's frame are not "
      "marked for d (the writable unmap is)", t_pv_backend_invisible },
    { "PV: d's stores to another domain's frame through a grant mapping are "
      "not marked for d and cost no fault", t_pv_store_foreign },
    { "PV: mmu_update marks the table it writes; A and D set by the walk "
      "mark the L1 when a bit changes, not otherwise", t_pv_ad_and_mmu_update },
    { "PV: pin, unpin, type validation and the last type put mark the table; "
      "CLEAR_PAGE / COPY_PAGE mark the destination; MACHPHYS_UPDATE marks "
      "the new pfn", t_pv_hypervisor_marks },
    { "PV: destroying a domain with log-dirty on frees it all",
      t_pv_teardown_on },
    { "shadow HVM: ENABLE blows the shadows; a store marks exactly its gfn "
      "with one hidden fault, a second store none, a prefilled neighbour "
      "faults; CLEAN returns, clears and re-arms, the next store faults "
      "again; OFF marks nothing", t_sh_store_marks },
    { "shadow HVM with OOS and the fast path on: the same results",
      t_sh_store_marks_oos_fp },
    { "shadow HVM: ENABLE twice is -EINVAL, OFF twice 0; destroying the "
      "domain with log-dirty on frees it all", t_sh_enable_twice },
    { "shadow HVM: an emulated page-table write marks the table (no fault "
      "counted); D set by the walk marks the table and the fault the data",
      t_sh_hypervisor_writes },
    { "shadow HVM, OOS: the unsync write marks the L1, direct writes follow "
      "without faults; CLEAN resyncs it, the next write marks again",
      t_sh_oos },
    { "shadow HVM: the audit reports an RW shadow entry of a clean frame",
      t_sh_audit_catches },
};

TEST_MAIN(tests)
