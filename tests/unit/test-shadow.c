/*
 * tests/unit/test-shadow.c - HVM shadow paging driven directly.
 *
 * A machine, one HVM domain (paging=shadow, 2 vCPUs) with 64 gfns of RAM
 * through the real p2m, guest tables written by hand (gfn-based):
 *
 *   gfn 1 L4 -> gfn 2 L3 -> gfn 3 L2 -> gfn 4 L1 (VA 1 GiB):
 *     slots 0..15  -> gfns 8..23, RW, user   (DATA_VA)
 *     slot  100    -> gfn 4 itself, RW       (PT_VA: the guest writes its
 *                                             own L1 through it)
 *     slot  50     not present               (HOLE_VA)
 *
 * Accesses go through the MMU (mmu_load/store); the fault vector calls
 * sh_page_fault and records what was injected.
 *
 * Superpage cases populate 1024 gfns and add (S6 in core/shadow/private.h):
 *   gfn 3 L2 slot 8     -> 2 MiB page of gfns 512..1023   (SP_VA)
 *   gfn 2 L3 slot 2     -> 1 GiB page from gfn 0          (GIG_VA)
 *   gfn 4 L1 slot 101   -> gfn 3 itself, RW               (L2_VA: the guest
 *                                                          writes its L2)
 */
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/shadow/private.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"
#include "tests/unit/test.h"

#define DATA_VA     0x40000000ULL
#define PT_VA       (DATA_VA + 100 * 4096ULL)
#define HOLE_VA     (DATA_VA + 50 * 4096ULL)
#define SP_VA       (DATA_VA + 8 * (2ULL << 20))
#define GIG_VA      (2ULL << 30)
#define L2_VA       (DATA_VA + 101 * 4096ULL)
#define SP_GFN      512
#define G_L4 1
#define G_L3 2
#define G_L2 3
#define G_L1 4

struct sx {
    struct machine *m;
    struct domain *d;
    struct vcpu *a, *b;
    unsigned injected;
    uint64_t inj_va;
    uint32_t inj_pfec;
    uint64_t free0;
};
static struct sx X;

static mfn_t g2m(pfn_t gfn)
{
    p2m_type_t t;
    return get_gfn_query_unlocked(X.d, gfn, &t);
}
static pte_t *gtab(pfn_t gfn) { return (pte_t *)mfn_to_virt(X.m, g2m(gfn)); }
static pte_t gpte(pfn_t gfn, uint64_t flags) { return pte_make(gfn, flags | _PAGE_PRESENT); }

static enum pf_outcome vec(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    uint32_t inj = 0;
    enum sh_fault r = sh_page_fault(v, va, pfec, &inj);
    if (r != SH_INJECT)
        return PF_RETRY;
    X.injected++;
    X.inj_va = va;
    X.inj_pfec = inj;
    return PF_KILL;
}

static uint64_t nr_gfns = 64;

static void setup(bool oos, bool fastpath, bool racy)
{
    struct hv_options o;
    hv_options_default(&o);
    o.shadow_oos = oos;
    o.shadow_fastpath = fastpath;
    o.shadow_fastpath_oos = racy ? SH_FASTPATH_OOS_RACY : SH_FASTPATH_OOS_FIXED;
    memset(&X, 0, sizeof(X));
    REQUIRE(machine_create(64 << 20, 0, &o, &X.m) == 0);
    X.free0 = X.m->nr_free;
    struct domain_config cfg = { .kind = DOMAIN_HVM, .nr_vcpus = 2,
        .max_pages = 2048, .domid = 1, .paging = PAGING_SHADOW };
    int rc = domain_create(X.m, &cfg, &X.d);
    REQUIRE(rc == 0);
    rc = domctl_populate(X.d, 0, nr_gfns, NULL);
    REQUIRE(rc == 0);
    if (X.d->shadow == NULL) {
        rc = shadow_domain_init(X.d);
        REQUIRE(rc == 0);
    }
    gtab(G_L4)[0] = gpte(G_L3, _PAGE_RW | _PAGE_USER);
    gtab(G_L3)[1] = gpte(G_L2, _PAGE_RW | _PAGE_USER);
    gtab(G_L2)[0] = gpte(G_L1, _PAGE_RW | _PAGE_USER);
    for (unsigned i = 0; i < 16; i++)
        gtab(G_L1)[i] = gpte(8 + i, _PAGE_RW | _PAGE_USER);
    gtab(G_L1)[100] = gpte(G_L1, _PAGE_RW);
    X.a = X.d->vcpu[0];
    X.b = X.d->vcpu[1];
    X.a->pf_vector = X.b->pf_vector = vec;
    X.a->in_kernel = X.b->in_kernel = true;
    current = X.b;
    REQUIRE(sh_update_cr3(X.b, (uint64_t)G_L4 << 12) == 0);
    current = X.a;
    REQUIRE(sh_update_cr3(X.a, (uint64_t)G_L4 << 12) == 0);
}

/* Shadow frames of any type left on the machine. */
static unsigned count_shadows(void)
{
    struct sh_pinfo *pi = sh_side_table(X.m);
    unsigned n = 0;
    for (mfn_t f = 0; f < X.m->nr_frames; f++)
        n += pi[f].type != SH_NONE;
    return n;
}

static void teardown(void)
{
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    shadow_teardown(X.d);
    CHECK_EQ(count_shadows(), 0);       /* FL shadows and snapshots too */
    nr_gfns = 64;
    CHECK_EQ(domain_destroy(X.d), 0);
    CHECK_EQ(X.m->nr_free, X.free0);    /* every shadow and guest frame back */
    machine_destroy(X.m);
}

static uint64_t *host_of_gfn(pfn_t gfn) { return (uint64_t *)gtab(gfn); }

static void t_read_fills(void)
{
    setup(false, true, false);
    *host_of_gfn(9) = 0x1234;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(X.a, DATA_VA + 4096, 8, &val), MMU_OK);
    CHECK_HEX(val, 0x1234);
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    REQUIRE(sl1 != INVALID_MFN);
    pte_t se = sh_read_entry(X.d, sl1, 1);
    CHECK_EQ(pte_mfn(se), g2m(9));
    CHECK(!(se & _PAGE_RW));            /* guest D clear: read-only first */
    CHECK(gtab(G_L1)[1] & _PAGE_ACCESSED);
    CHECK_EQ(mmu_store(X.a, DATA_VA + 4096, 8, 7), MMU_OK);
    CHECK(gtab(G_L1)[1] & _PAGE_DIRTY);
    CHECK(sh_read_entry(X.d, sl1, 1) & _PAGE_RW);
    CHECK_EQ(*host_of_gfn(9), 7);
    CHECK_EQ(X.injected, 0);
    teardown();
}

static void t_not_present_injected(void)
{
    setup(false, false, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, HOLE_VA, 8, &val), MMU_KILLED);
    CHECK_EQ(X.injected, 1);
    CHECK_HEX(X.inj_va, HOLE_VA);
    CHECK_EQ(X.inj_pfec & PFEC_PRESENT, 0);
    teardown();
}

static void t_pt_write_emulated(void)
{
    setup(false, true, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);     /* shadow L1 */
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    REQUIRE(sl1 != INVALID_MFN);
    uint64_t em = atomic_load(&X.d->shadow->nr_emulated);
    /* Map HOLE_VA to gfn 30 by writing the guest's own L1. */
    CHECK_EQ(mmu_store(X.a, PT_VA + 50 * 8, 8, gpte(30, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 1);
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, sl1, 50)), g2m(30));
    /* The guest L1 stays read-only in the shadow (S4). */
    CHECK(!(sh_read_entry(X.d, sl1, 100) & _PAGE_RW));
    *host_of_gfn(30) = 99;
    CHECK_EQ(mmu_load(X.a, HOLE_VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 99);
    teardown();
}

static void t_oos_unsync_resync(void)
{
    setup(true, true, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);
    mfn_t g1 = g2m(G_L1), sl1 = sh_lookup(X.d, g1, SH_L1);
    REQUIRE(sl1 != INVALID_MFN);
    CHECK_EQ(mmu_store(X.a, PT_VA + 50 * 8, 8, gpte(30, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    CHECK(sh_pi(X.d, g1)->shadow_flags & SHF_OOS);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), 0);
    uint64_t faults = X.a->nr_faults;
    CHECK_EQ(mmu_store(X.a, PT_VA + 51 * 8, 8, gpte(31, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    CHECK_EQ(X.a->nr_faults, faults);   /* the guest writes directly */
    CHECK_EQ(sh_read_entry(X.d, sl1, 51), 0);       /* shadow is stale */
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    CHECK_EQ(sh_update_cr3(X.a, (uint64_t)G_L4 << 12), 0);
    CHECK(!(sh_pi(X.d, g1)->shadow_flags & SHF_OOS));
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, sl1, 51)), g2m(31));
    CHECK(!(sh_read_entry(X.d, sl1, 100) & _PAGE_RW));
    *host_of_gfn(31) = 5;
    CHECK_EQ(mmu_load(X.a, DATA_VA + 51 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 5);
    teardown();
}

/* Story A: B resyncs inside A's fast-path window. */
static void window(struct vcpu *v, uint64_t va)
{
    (void)v; (void)va;
    current = X.b;
    CHECK_EQ(sh_update_cr3(X.b, (uint64_t)G_L4 << 12), 0);
    current = X.a;
}

static void story_a(bool racy)
{
    setup(true, true, racy);
    uint64_t val;
    current = X.a;
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);     /* sl1 built */
    current = X.b;
    CHECK_EQ(mmu_load(X.b, DATA_VA, 8, &val), MMU_OK);
    /* 1. B makes HOLE_VA present: unsync, the store lands in G. */
    CHECK_EQ(mmu_store(X.b, PT_VA + 50 * 8, 8, gpte(30, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    CHECK(sh_pi(X.d, g2m(G_L1))->shadow_flags & SHF_OOS);
    /* 2-4. A touches HOLE_VA; B's CR3 load runs in the window. */
    sh_test_fastpath_window = window;
    current = X.a;
    int rc = mmu_load(X.a, HOLE_VA, 8, &val);
    sh_test_fastpath_window = NULL;
    if (racy) {
        CHECK_EQ(rc, MMU_KILLED);
        CHECK_EQ(X.injected, 1);
        CHECK_EQ(X.inj_pfec & PFEC_PRESENT, 0);
        CHECK(gtab(G_L1)[50] & _PAGE_PRESENT);  /* yet present */
        CHECK_EQ(atomic_load(&X.d->shadow->nr_gnp_injected), 1);
        CHECK_EQ(atomic_load(&X.d->shadow->nr_resync), 1);
    } else {
        CHECK_EQ(rc, MMU_OK);
        CHECK_EQ(X.injected, 0);
    }
    teardown();
}
static void t_story_a_racy(void) { story_a(true); }
static void t_story_a_fixed(void) { story_a(false); }

static void t_fixed_no_gnp(void)
{
    setup(true, true, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    REQUIRE(sl1 != INVALID_MFN);
    CHECK_EQ(sh_read_entry(X.d, sl1, 50), 0);
    teardown();
    setup(false, true, false);
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);
    sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    CHECK_HEX(sh_read_entry(X.d, sl1, 50), SH_L1E_GNP);
    /* The fast path reflects it without the lock. */
    uint64_t slow = atomic_load(&X.d->shadow->nr_slow);
    CHECK_EQ(mmu_load(X.a, HOLE_VA, 8, &val), MMU_KILLED);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_slow), slow);
    CHECK_EQ(X.injected, 1);
    teardown();
}

static void t_p2m_change_drops(void)
{
    setup(false, true, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA + 2 * 4096, 8, &val), MMU_OK);
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, sl1, 2)), g2m(10));
    p2m_lock(X.d);
    CHECK_EQ(p2m_set_entry(X.d, 10, g2m(10), p2m_ram_ro, p2m_access_rwx), 0);
    p2m_unlock(X.d);
    CHECK_EQ(sh_read_entry(X.d, sl1, 2), 0);
    teardown();
}


static void t_promote_removes_write(void)
{
    setup(false, true, false);
    /* gfn 8 is data mapped RW at DATA_VA; the guest makes it an L1 too. */
    CHECK_EQ(mmu_store(X.a, DATA_VA, 8, 0), MMU_OK);
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    CHECK(sh_read_entry(X.d, sl1, 0) & _PAGE_RW);
    *(uint64_t *)gtab(8) = gpte(9, _PAGE_ACCESSED);
    gtab(G_L2)[1] = gpte(8, _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
    uint64_t val;
    /* VA 1G+2M walks through gfn 8 as an L1 (entry 0 -> gfn 9). */
    CHECK_EQ(mmu_load(X.a, DATA_VA + (2 << 20), 8, &val), MMU_OK);
    CHECK(sh_lookup(X.d, g2m(8), SH_L1) != INVALID_MFN);
    CHECK(!(sh_read_entry(X.d, sl1, 0) & _PAGE_RW));
    /* A store to it now is an emulated page-table write. */
    uint64_t em = atomic_load(&X.d->shadow->nr_emulated);
    CHECK_EQ(mmu_store(X.a, DATA_VA, 8, 0), MMU_OK);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 1);
    teardown();
}

static void t_oos_eviction(void)
{
    setup(true, true, false);
    /* Four more guest L1s (gfns 40..43), each under its own L2 slot and
       each mapped writable by the first L1 (slots 200..203). */
    for (unsigned k = 0; k < 4; k++) {
        gtab(G_L2)[2 + k] = gpte(40 + k, _PAGE_RW | _PAGE_ACCESSED);
        gtab(G_L1)[200 + k] = gpte(40 + k, _PAGE_RW | _PAGE_ACCESSED);
        gtab(40 + k)[0] = gpte(9, _PAGE_ACCESSED);
    }
    uint64_t val;
    for (unsigned k = 0; k < 4; k++) {
        /* Touch through the new L1 (promotes it), then write it. */
        CHECK_EQ(mmu_load(X.a, DATA_VA + ((2ULL + k) << 21), 8, &val), MMU_OK);
        CHECK_EQ(mmu_store(X.a, DATA_VA + (200ULL + k) * 4096 + 8, 8,
                           gpte(9, _PAGE_ACCESSED)), MMU_OK);
    }
    unsigned oos = 0;
    for (unsigned k = 0; k < 4; k++)
        oos += !!(sh_pi(X.d, g2m(40 + k))->shadow_flags & SHF_OOS);
    CHECK(oos <= SH_OOS_SLOTS);
    CHECK(atomic_load(&X.d->shadow->nr_resync) >= 1);   /* an eviction */
    CHECK_EQ(atomic_load(&X.d->shadow->nr_unsync), 4);
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    teardown();
}

static void t_invlpg_oos(void)
{
    setup(true, true, false);
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA + 4096, 8, &val), MMU_OK);
    CHECK_EQ(mmu_store(X.a, PT_VA + 50 * 8, 8, gpte(30, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    /* The guest remaps slot 1 directly (the L1 is OOS), then INVLPGs. */
    CHECK_EQ(mmu_store(X.a, PT_VA + 1 * 8, 8, gpte(31, _PAGE_RW | _PAGE_ACCESSED)), MMU_OK);
    *(uint64_t *)gtab(31) = 77;
    sh_invlpg(X.a, DATA_VA + 4096);
    CHECK_EQ(mmu_load(X.a, DATA_VA + 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 77);
    teardown();
}

/* ---- guest superpages (S6) ------------------------------------------------- */

static void setup_super(void)
{
    nr_gfns = 1024;
    setup(false, true, false);
    gtab(G_L2)[8] = gpte(SP_GFN, _PAGE_RW | _PAGE_USER | _PAGE_PSE);
    gtab(G_L1)[101] = gpte(G_L2, _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY);
}

static mfn_t sl2_of_guest_l2(void) { return sh_lookup(X.d, g2m(G_L2), SH_L2); }

/* 2M: read, then write; A then D land on the guest L2e, the shadow L2e
   turns writable only with D, FL1 keyed by the first gfn. */
static void t_super_2m_rw(void)
{
    setup_super();
    *host_of_gfn(SP_GFN + 3) = 0xabc;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(X.a, SP_VA + 3 * 4096, 8, &val), MMU_OK);
    CHECK_HEX(val, 0xabc);
    CHECK(gtab(G_L2)[8] & _PAGE_ACCESSED);
    CHECK(!(gtab(G_L2)[8] & _PAGE_DIRTY));
    mfn_t key = sh_fl_key(SP_GFN, gtab(G_L2)[8]);
    mfn_t fl1 = sh_lookup(X.d, key, SH_FL1);
    REQUIRE(fl1 != INVALID_MFN);
    CHECK_EQ(sh_lookup(X.d, key, SH_L1), INVALID_MFN);
    CHECK(!sh_gmfn_is_pt(X.d, g2m(SP_GFN)));   /* never promoted */
    mfn_t sl2 = sl2_of_guest_l2();
    REQUIRE(sl2 != INVALID_MFN);
    pte_t sl2e = sh_read_entry(X.d, sl2, 8);
    CHECK_EQ(pte_mfn(sl2e), fl1);
    CHECK(!(sl2e & _PAGE_PSE));
    CHECK(!(sl2e & _PAGE_RW));                  /* guest D clear */
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, fl1, 3)), g2m(SP_GFN + 3));
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, fl1, 511)), g2m(SP_GFN + 511));
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    CHECK_EQ(mmu_store(X.a, SP_VA + 3 * 4096, 8, 0xdef), MMU_OK);
    CHECK(gtab(G_L2)[8] & _PAGE_DIRTY);
    CHECK(sh_read_entry(X.d, sl2, 8) & _PAGE_RW);
    CHECK_EQ(*host_of_gfn(SP_GFN + 3), 0xdef);
    CHECK_EQ(X.injected, 0);
    teardown();
}

/* A write to a 4K piece in the middle of the 2M page, first access. */
static void t_super_2m_middle_write(void)
{
    setup_super();
    CHECK_EQ(mmu_store(X.a, SP_VA + 300 * 4096 + 16, 8, 77), MMU_OK);
    CHECK_EQ(host_of_gfn(SP_GFN + 300)[2], 77);
    CHECK((gtab(G_L2)[8] & (_PAGE_ACCESSED | _PAGE_DIRTY)) ==
          (_PAGE_ACCESSED | _PAGE_DIRTY));
    uint64_t val = 0;
    CHECK_EQ(mmu_load(X.a, SP_VA + 300 * 4096 + 16, 8, &val), MMU_OK);
    CHECK_EQ(val, 77);
    CHECK_EQ(X.injected, 0);
    teardown();
}

/* 1G: an FL2 whose entries point at the FL1 of each 2M piece. */
static void t_super_1g(void)
{
    setup_super();
    gtab(G_L3)[2] = gpte(0, _PAGE_RW | _PAGE_USER | _PAGE_PSE);
    *host_of_gfn(40) = 4040;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(X.a, GIG_VA + 40 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 4040);
    CHECK_EQ(mmu_store(X.a, GIG_VA + (770ULL << 12), 8, 770), MMU_OK);
    CHECK_EQ(*host_of_gfn(770), 770);
    CHECK((gtab(G_L3)[2] & (_PAGE_ACCESSED | _PAGE_DIRTY)) ==
          (_PAGE_ACCESSED | _PAGE_DIRTY));
    mfn_t key = sh_fl_key(0, gtab(G_L3)[2]);
    mfn_t fl2 = sh_lookup(X.d, key, SH_FL2);
    REQUIRE(fl2 != INVALID_MFN);
    mfn_t fl1a = sh_lookup(X.d, key, SH_FL1);           /* gfns 0..511 */
    mfn_t fl1b = sh_lookup(X.d, key + 512, SH_FL1);     /* gfns 512.. */
    REQUIRE(fl1a != INVALID_MFN && fl1b != INVALID_MFN);
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, fl2, 0)), fl1a);
    CHECK_EQ(pte_mfn(sh_read_entry(X.d, fl2, 1)), fl1b);
    CHECK_EQ(sh_read_entry(X.d, fl2, 2), 0);            /* not touched */
    /* No RAM behind gfn 5000: the guest gets a fault, nothing breaks. */
    CHECK_EQ(mmu_load(X.a, GIG_VA + (5000ULL << 12), 8, &val), MMU_KILLED);
    CHECK_EQ(X.injected, 1);
    teardown();
}

/* The guest rewrites its PSE entry through its own L2 (emulated), INVLPGs,
   and the MMU sees each new mapping. */
static void t_super_guest_changes_pse(void)
{
    setup_super();
    uint64_t val = 0;
    *host_of_gfn(SP_GFN + 5) = 1;
    *host_of_gfn(5) = 2;
    CHECK_EQ(mmu_load(X.a, SP_VA + 5 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 1);
    uint64_t em = atomic_load(&X.d->shadow->nr_emulated);
    /* 1. another 2M range (gfns 0..511), accessed and dirty already. */
    CHECK_EQ(mmu_store(X.a, L2_VA + 8 * 8, 8,
                       gpte(0, _PAGE_RW | _PAGE_USER | _PAGE_PSE |
                               _PAGE_ACCESSED | _PAGE_DIRTY)), MMU_OK);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 1);
    sh_invlpg(X.a, SP_VA + 5 * 4096);
    CHECK_EQ(mmu_load(X.a, SP_VA + 5 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 2);
    CHECK_EQ(sh_lookup(X.d, sh_fl_key(SP_GFN, 0), SH_FL1), INVALID_MFN);
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    /* 2. read-only: loads work, a store is the guest's protection fault. */
    CHECK_EQ(mmu_store(X.a, L2_VA + 8 * 8, 8,
                       gpte(0, _PAGE_USER | _PAGE_PSE | _PAGE_ACCESSED |
                               _PAGE_DIRTY)), MMU_OK);
    sh_invlpg(X.a, SP_VA + 5 * 4096);
    CHECK_EQ(mmu_load(X.a, SP_VA + 5 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(mmu_store(X.a, SP_VA + 5 * 4096, 8, 9), MMU_KILLED);
    CHECK_EQ(X.injected, 1);
    CHECK_EQ(X.inj_pfec & (PFEC_PRESENT | PFEC_WRITE), PFEC_PRESENT | PFEC_WRITE);
    CHECK_EQ(*host_of_gfn(5), 2);
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    /* 3. not present: the guest gets a not-present fault. */
    CHECK_EQ(mmu_store(X.a, L2_VA + 8 * 8, 8, 0), MMU_OK);
    sh_invlpg(X.a, SP_VA + 5 * 4096);
    CHECK_EQ(sh_read_entry(X.d, sl2_of_guest_l2(), 8), 0);
    CHECK_EQ(mmu_load(X.a, SP_VA + 5 * 4096, 8, &val), MMU_KILLED);
    CHECK_EQ(X.injected, 2);
    CHECK_EQ(X.inj_pfec & PFEC_PRESENT, 0);
    teardown();
}

/* A p2m change of one gfn inside the 2M range reaches its FL1 entry. */
static void t_super_p2m_change(void)
{
    setup_super();
    uint64_t val = 0;
    CHECK_EQ(mmu_store(X.a, SP_VA + 300 * 4096, 8, 5), MMU_OK);
    mfn_t fl1 = sh_lookup(X.d, sh_fl_key(SP_GFN, gtab(G_L2)[8]), SH_FL1);
    REQUIRE(fl1 != INVALID_MFN);
    CHECK(sh_read_entry(X.d, fl1, 300) & _PAGE_RW);
    pfn_t gfn = SP_GFN + 300;
    p2m_lock(X.d);
    CHECK_EQ(p2m_set_entry(X.d, gfn, g2m(gfn), p2m_ram_ro, p2m_access_rwx), 0);
    p2m_unlock(X.d);
    CHECK_EQ(sh_read_entry(X.d, fl1, 300), 0);
    CHECK(sh_read_entry(X.d, fl1, 301) != 0);           /* neighbours stay */
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    CHECK_EQ(mmu_load(X.a, SP_VA + 300 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(val, 5);
    pte_t se = sh_read_entry(X.d, fl1, 300);
    CHECK_EQ(pte_mfn(se), g2m(gfn));
    CHECK(!(se & _PAGE_RW));                            /* p2m_ram_ro */
    CHECK_EQ(X.injected, 0);
    teardown();
}

/* Frame bits below 2M alignment in a PSE L2e: a reserved-bit fault. */
static void t_super_misaligned(void)
{
    setup_super();
    gtab(G_L2)[9] = gpte(SP_GFN + 2, _PAGE_RW | _PAGE_PSE);   /* bit 13 */
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, SP_VA + (2ULL << 20), 8, &val), MMU_KILLED);
    CHECK_EQ(X.injected, 1);
    CHECK_EQ(X.inj_pfec & (PFEC_RSVD | PFEC_PRESENT), PFEC_RSVD | PFEC_PRESENT);
    CHECK(!(gtab(G_L2)[9] & _PAGE_ACCESSED));   /* a failed walk sets nothing */
    /* PAT (bit 12) is not an address bit: an aligned entry with it works. */
    gtab(G_L2)[9] = gpte(SP_GFN, _PAGE_RW | _PAGE_PSE | _PAGE_PSE_PAT);
    CHECK_EQ(mmu_load(X.a, SP_VA + (2ULL << 20), 8, &val), MMU_OK);
    CHECK_EQ(X.injected, 1);
    /* PSE in an L4e is reserved. */
    gtab(G_L4)[3] = gpte(0, _PAGE_RW | _PAGE_PSE);
    CHECK_EQ(mmu_load(X.a, 3ULL << 39, 8, &val), MMU_KILLED);
    CHECK_EQ(X.inj_pfec & PFEC_RSVD, PFEC_RSVD);
    teardown();
}

/* ---- fewer faults ----------------------------------------------------------- */

/* Prefetch fills the following empty entries from present+accessed guest
   entries only, writable only where the guest entry is dirty, and leaves
   the guest's A/D bits alone. */
static void t_prefetch(void)
{
    setup(false, false, false);             /* no gnp: empty slots stay 0 */
    uint64_t val;
    CHECK_EQ(mmu_load(X.a, DATA_VA, 8, &val), MMU_OK);  /* sl1 built */
    mfn_t sl1 = sh_lookup(X.d, g2m(G_L1), SH_L1);
    REQUIRE(sl1 != INVALID_MFN);
    /* Entries the shadow has not seen (written behind its back, as if
       before it existed; empty shadow entries are legal). */
    gtab(G_L1)[19] = gpte(29, _PAGE_RW | _PAGE_ACCESSED);
    gtab(G_L1)[20] = gpte(30, _PAGE_RW | _PAGE_ACCESSED);               /* clean */
    gtab(G_L1)[21] = gpte(31, _PAGE_RW);                                /* no A */
    gtab(G_L1)[22] = 0;                                                 /* hole */
    gtab(G_L1)[23] = gpte(33, _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY); /* dirty */
    uint64_t pf = atomic_load(&X.d->shadow->nr_prefetch);
    CHECK_EQ(mmu_load(X.a, DATA_VA + 19 * 4096, 8, &val), MMU_OK);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_prefetch), pf + 2);
    pte_t e20 = sh_read_entry(X.d, sl1, 20), e23 = sh_read_entry(X.d, sl1, 23);
    CHECK_EQ(pte_mfn(e20), g2m(30));
    CHECK(!(e20 & _PAGE_RW));               /* guest clean: read-only */
    CHECK_EQ(sh_read_entry(X.d, sl1, 21), 0);
    CHECK_EQ(sh_read_entry(X.d, sl1, 22), 0);
    CHECK_EQ(pte_mfn(e23), g2m(33));
    CHECK(e23 & _PAGE_RW);
    CHECK(!(gtab(G_L1)[21] & _PAGE_ACCESSED));
    CHECK(!(gtab(G_L1)[20] & _PAGE_DIRTY));
    CHECK_EQ(shadow_audit(X.m, stderr), 0);
    /* The dirty one takes writes at once; the clean one faults once and
       gets D, as the hardware would set it. */
    uint64_t faults = X.a->nr_faults;
    CHECK_EQ(mmu_store(X.a, DATA_VA + 23 * 4096, 8, 1), MMU_OK);
    CHECK_EQ(X.a->nr_faults, faults);
    CHECK_EQ(mmu_store(X.a, DATA_VA + 20 * 4096, 8, 1), MMU_OK);
    CHECK_EQ(X.a->nr_faults, faults + 1);
    CHECK(gtab(G_L1)[20] & _PAGE_DIRTY);
    CHECK_EQ(X.injected, 0);
    teardown();
}

/* A user-mode write to a frame still shadowed as a page table unshadows it
   instead of being emulated; a running root is kept and emulated. */
static void t_user_write_unshadows(void)
{
    setup(false, true, false);
    /* gfn 40 was a process's L4 (shadowed, pinned, nobody's root now) and
       is now user data mapped at DATA_VA + 60 pages. */
    gtab(G_L1)[60] = gpte(40, _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY);
    gtab(G_L1)[61] = gpte(G_L4, _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY);
    gtab(40)[0] = gtab(G_L4)[0];
    current = X.b;
    CHECK_EQ(sh_update_cr3(X.b, 40ULL << 12), 0);
    CHECK_EQ(sh_update_cr3(X.b, (uint64_t)G_L4 << 12), 0);
    current = X.a;
    CHECK(sh_gmfn_is_pt(X.d, g2m(40)));
    X.a->in_kernel = false;
    uint64_t em = atomic_load(&X.d->shadow->nr_emulated);
    CHECK_EQ(mmu_store(X.a, DATA_VA + 60 * 4096, 8, 3), MMU_OK);
    CHECK(!sh_gmfn_is_pt(X.d, g2m(40)));
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_unshadow_user), 1);
    CHECK_EQ(*host_of_gfn(40), 3);
    /* The running root (gfn 1, both vCPUs' CR3), mapped at slot 61: a user
       write to it is emulated, never unshadowed. */
    CHECK_EQ(mmu_store(X.a, DATA_VA + 61 * 4096 + 8 * 300, 8, 0), MMU_OK);
    CHECK(sh_gmfn_is_pt(X.d, g2m(G_L4)));
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 1);
    X.a->in_kernel = true;
    CHECK_EQ(X.injected, 0);
    teardown();
}

/* Two emulated writes in a row to a top-level table no vCPU runs on stop
   the shadowing (a freed L4 being filled as kernel data). */
static void t_early_unshadow_idle_l4(void)
{
    setup(false, true, false);
    gtab(G_L1)[60] = gpte(40, _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY);
    gtab(40)[0] = gtab(G_L4)[0];
    current = X.b;
    CHECK_EQ(sh_update_cr3(X.b, 40ULL << 12), 0);
    CHECK_EQ(sh_update_cr3(X.b, (uint64_t)G_L4 << 12), 0);
    current = X.a;
    uint64_t em = atomic_load(&X.d->shadow->nr_emulated);
    CHECK_EQ(mmu_store(X.a, DATA_VA + 60 * 4096 + 8, 8, 0x1111), MMU_OK);
    CHECK(sh_gmfn_is_pt(X.d, g2m(40)));
    CHECK_EQ(mmu_store(X.a, DATA_VA + 60 * 4096 + 16, 8, 0x2222), MMU_OK);
    CHECK(!sh_gmfn_is_pt(X.d, g2m(40)));
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 2);
    CHECK_EQ(atomic_load(&X.d->shadow->nr_early_unshadow), 1);
    uint64_t faults = X.a->nr_faults;
    CHECK_EQ(mmu_store(X.a, DATA_VA + 60 * 4096 + 24, 8, 0x3333), MMU_OK);
    CHECK_EQ(mmu_store(X.a, DATA_VA + 60 * 4096 + 32, 8, 0x4444), MMU_OK);
    CHECK(X.a->nr_faults <= faults + 1);    /* one to map it writable */
    CHECK_EQ(atomic_load(&X.d->shadow->nr_emulated), em + 2);
    CHECK_EQ(host_of_gfn(40)[4], 0x4444);
    teardown();
}

static const struct test tests[] = {
    { "a read fault builds the shadows top-down; D is set on the first write", t_read_fills },
    { "a not-present guest PTE is injected as a not-present fault", t_not_present_injected },
    { "a guest write to its own L1 is emulated and the shadow entry follows", t_pt_write_emulated },
    { "with oos=on a demand write unsyncs the L1, the guest writes directly, CR3 load resyncs", t_oos_unsync_resync },
    { "story A racy: the guest gets a not-present fault for a present PTE", t_story_a_racy },
    { "story A fixed: the same interleaving never injects", t_story_a_fixed },
    { "fixed order makes no gnp entries with OOS on; without OOS gnp takes the fast path", t_fixed_no_gnp },
    { "promoting a frame removes its writable shadow mappings first", t_promote_removes_write },
    { "a fourth OOS page on one vCPU evicts (resyncs) an occupant", t_oos_eviction },
    { "INVLPG of an OOS L1's entry makes the next access see the guest's new PTE", t_invlpg_oos },
    { "a p2m change drops the shadow entries of the gfn", t_p2m_change_drops },
    { "a 2M guest page is read and written through an FL1; A then D land on the guest L2e", t_super_2m_rw },
    { "a first write to a 4K piece in the middle of a 2M page maps that piece", t_super_2m_middle_write },
    { "a 1G guest page is splintered through an FL2 into FL1s", t_super_1g },
    { "the guest remaps its PSE entry (other range, read-only, not present) and the MMU follows", t_super_guest_changes_pse },
    { "a p2m change of one gfn inside a 2M page reaches its FL1 entry", t_super_p2m_change },
    { "a misaligned PSE entry (or PSE in an L4e) is a reserved-bit fault for the guest", t_super_misaligned },
    { "prefetch fills neighbours only from present+accessed entries, writable only when dirty", t_prefetch },
    { "a user-mode write to a page table unshadows it unless it is a running root", t_user_write_unshadows },
    { "two writes in a row to an idle top-level table unshadow it", t_early_unshadow_idle_l4 },
};
TEST_MAIN(tests)
