/*
 * tests/unit/test-hap.c - the MMU of HVM vCPUs: the two-dimensional walk of
 * hap mode (core/mmu.c rules 18-23), the exits of core/hvm.c and the #PF
 * routing of core/traps.c for HVM domains.
 *
 * The p2m is written by hand into machine frames in core/npt.h's format and
 * the guest's tables hold gfns, as hw_fixture.h builds PV tables by hand.
 * Nested faults go to a recording vector of the test's own, which acts as
 * each sentence needs (the p2m's type handling is core/mm/hap.c's).
 */
#include "core/hvm.h"
#include "core/mm/p2m.h"
#include "core/npt.h"
#include "core/traps.h"
#include "tests/unit/hw_fixture.h"

#define MAX_GFN     512
#define VA          0x0000400000001000ULL

struct hap {
    struct hw h;
    mfn_t npt;
    uint64_t next_gfn;
    mfn_t gfn_mfn[MAX_GFN];         /* what the test mapped */
    uint64_t gl4_gfn;
};

/* What the vectors saw. */
static struct {
    unsigned npf, pf;
    uint64_t gpa, gla, npte, va;
    uint32_t access, pfec;
    enum { ACT_KILL, ACT_DISCARD, ACT_MAKE_RW } act;
    struct hap *H;
} seen;

static npte_t *npt_slot(struct hap *H, uint64_t gfn)
{
    mfn_t t = H->npt;
    for (unsigned l = NPT_LEVELS; l > 1; l--) {
        npte_t *e = (npte_t *)mfn_to_virt(H->h.m, t) + npt_index(gfn, l);
        if (!(*e & NPT_RWX))
            *e = ((uint64_t)hw_frame(&H->h) << PAGE_SHIFT) | NPT_RWX;
        t = npte_mfn(*e);
    }
    return (npte_t *)mfn_to_virt(H->h.m, t) + npt_index(gfn, 1);
}

static void npt_set(struct hap *H, uint64_t gfn, mfn_t mfn, unsigned type,
                    uint64_t perms)
{
    *npt_slot(H, gfn) = ((uint64_t)mfn << PAGE_SHIFT) | perms |
                        ((uint64_t)type << NPT_TYPE_SHIFT) |
                        ((uint64_t)p2m_access_rwx << NPT_ACCESS_SHIFT);
}

/* A fresh frame at a fresh gfn, ram_rw. */
static uint64_t g_frame(struct hap *H)
{
    uint64_t gfn = H->next_gfn++;
    REQUIRE(gfn < MAX_GFN);
    H->gfn_mfn[gfn] = hw_frame(&H->h);
    npt_set(H, gfn, H->gfn_mfn[gfn], p2m_ram_rw, NPT_RWX);
    return gfn;
}

static pte_t *g_table(struct hap *H, uint64_t gfn)
{
    REQUIRE(gfn < MAX_GFN && H->gfn_mfn[gfn] != 0);
    return (pte_t *)mfn_to_virt(H->h.m, H->gfn_mfn[gfn]);
}

/* The guest's entry for va at level (tables above present). */
static pte_t *g_pte(struct hap *H, uint64_t va, unsigned level)
{
    uint64_t gfn = H->gl4_gfn;
    for (unsigned l = PT_LEVELS; l > level; l--)
        gfn = pte_mfn(g_table(H, gfn)[pt_index(va, l)]);
    return &g_table(H, gfn)[pt_index(va, level)];
}

/* Map va -> target gfn in the guest's tables (gfns throughout). */
static void g_map(struct hap *H, uint64_t va, uint64_t target_gfn,
                  uint64_t leaf_flags)
{
    uint64_t gfn = H->gl4_gfn;
    for (unsigned l = PT_LEVELS; l > 1; l--) {
        pte_t *e = &g_table(H, gfn)[pt_index(va, l)];
        if (!(*e & _PAGE_PRESENT))
            *e = pte_make(g_frame(H), HW_ALL);
        gfn = pte_mfn(*e);
    }
    g_table(H, gfn)[pt_index(va, 1)] = pte_make(target_gfn,
                                                _PAGE_PRESENT | leaf_flags);
}

static enum pf_outcome rec_npf(struct vcpu *v, uint64_t gpa, uint64_t gla,
                               uint32_t access, uint64_t npte)
{
    seen.npf++;
    seen.gpa = gpa;
    seen.gla = gla;
    seen.access = access;
    seen.npte = npte;
    switch (seen.act) {
    case ACT_DISCARD:
        v->pending.emulated = true;
        return PF_RETRY;
    case ACT_MAKE_RW:
        *npt_slot(seen.H, gpa >> PAGE_SHIFT) |= NPT_W;
        mmu_flush_domain(v->d);
        return PF_RETRY;
    default:
        return PF_KILL;
    }
}

static enum pf_outcome rec_guest_pf(struct vcpu *v, uint64_t va, uint32_t pfec,
                                    void *ctx)
{
    (void)v; (void)ctx;
    seen.pf++;
    seen.va = va;
    seen.pfec = pfec;
    return PF_KILL;
}

static void hap_setup(struct hap *H, enum paging_mode mode)
{
    memset(H, 0, sizeof(*H));
    memset(&seen, 0, sizeof(seen));
    seen.H = H;
    hw_setup(&H->h, 16 << 20);
    H->h.d.kind = DOMAIN_HVM;
    H->h.d.paging = mode;
    H->npt = hw_frame(&H->h);
    H->h.d.npt_root = H->npt;
    H->next_gfn = 0x10;
    H->gl4_gfn = g_frame(H);
    H->h.v->guest_cr3 = H->gl4_gfn << PAGE_SHIFT;
    traps_init_vcpu(H->h.v);
    H->h.v->npf_vector = rec_npf;
    vcpu_set_guest_pf_handler(H->h.v, rec_guest_pf, NULL);
}

static void t_translate(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    CHECK_EQ(mmu_store(H.h.v, VA + 8, 8, 0x1122334455667788ULL), MMU_OK);
    CHECK_EQ(*(uint64_t *)hw_host(&H.h, H.gfn_mfn[data], 8), 0x1122334455667788ULL);
    uint64_t val = 0;
    CHECK_EQ(mmu_load(H.h.v, VA + 8, 8, &val), MMU_OK);
    CHECK_EQ(val, 0x1122334455667788ULL);
    CHECK_EQ(seen.npf + seen.pf, 0);
    /* A/D in the guest's own entries, in guest memory. */
    CHECK((*g_pte(&H, VA, 1) & (_PAGE_ACCESSED | _PAGE_DIRTY)) ==
          (_PAGE_ACCESSED | _PAGE_DIRTY));
    for (unsigned l = 2; l <= 4; l++)
        CHECK(*g_pte(&H, VA, l) & _PAGE_ACCESSED);
    /* The walk's result: machine frame, gfn, p2m leaf. */
    struct mmu_walk w;
    struct mmu_npf npf;
    CHECK_EQ(mmu_walk_hap(H.h.m, H.npt, H.h.v->guest_cr3, VA, 0, false, &w, &npf), 0);
    CHECK_EQ(w.mfn, H.gfn_mfn[data]);
    CHECK_EQ(w.gfn, data);
    CHECK_EQ(w.table[1], H.gfn_mfn[pte_mfn(*g_pte(&H, VA, 2))]);
    hw_teardown(&H.h);
}

static void t_guest_pf(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, 0);                 /* read-only, supervisor */
    uint64_t val;
    CHECK_EQ(mmu_load(H.h.v, VA + 0x10000, 8, &val), MMU_KILLED);  /* not present */
    CHECK_EQ(seen.pf, 1);
    CHECK_EQ(seen.pfec, 0);
    CHECK_EQ(seen.va, VA + 0x10000);
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 1), MMU_KILLED);
    CHECK_EQ(seen.pf, 2);
    CHECK_EQ(seen.pfec, PFEC_PRESENT | PFEC_WRITE);
    H.h.v->in_kernel = false;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_KILLED);
    CHECK_EQ(seen.pfec, PFEC_PRESENT | PFEC_USER);
    CHECK_EQ(seen.npf, 0);
    CHECK_EQ(H.h.v->nr_faults_bounced, 3);
    hw_teardown(&H.h);
}

static void t_npf_data(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    g_map(&H, VA, 0x100000, _PAGE_RW);      /* no p2m table there */
    uint64_t val;
    CHECK_EQ(mmu_load(H.h.v, VA + 0x28, 8, &val), MMU_KILLED);
    CHECK_EQ(seen.npf, 1);
    CHECK_EQ(seen.pf, 0);
    CHECK_EQ(seen.access, NPF_READ);
    CHECK_EQ(seen.gpa, (0x100000ULL << PAGE_SHIFT) | 0x28);
    CHECK_EQ(seen.gla, VA + 0x28);
    CHECK_EQ(npte_type(seen.npte), p2m_invalid);
    /* A guest fault below a p2m hole is still the guest's. */
    uint64_t dead = g_frame(&H);
    g_map(&H, VA + PAGE_SIZE, dead, 0);
    CHECK_EQ(mmu_store(H.h.v, VA + PAGE_SIZE, 8, 1), MMU_KILLED);
    CHECK_EQ(seen.pf, 1);
    CHECK_EQ(seen.npf, 1);
    hw_teardown(&H.h);
}

static void t_npf_walk(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    uint64_t l1 = pte_mfn(*g_pte(&H, VA, 2));
    npt_set(&H, l1, H.gfn_mfn[l1], p2m_ram_paged, 0);     /* no rights */
    uint64_t val;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_KILLED);
    CHECK_EQ(seen.npf, 1);
    CHECK_EQ(seen.access, NPF_READ | NPF_GUEST_WALK);
    CHECK_EQ(seen.gpa, (l1 << PAGE_SHIFT) + pt_index(VA, 1) * 8);
    CHECK_EQ(npte_type(seen.npte), p2m_ram_paged);
    CHECK_EQ(seen.pf, 0);
    /* A/D of an entry in a table the p2m makes read-only: a write of the walk. */
    npt_set(&H, l1, H.gfn_mfn[l1], p2m_ram_logdirty, NPT_R | NPT_X);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_KILLED);
    CHECK_EQ(seen.npf, 2);
    CHECK_EQ(seen.access, NPF_WRITE | NPF_GUEST_WALK);
    CHECK_EQ(*g_pte(&H, VA, 1) & _PAGE_ACCESSED, 0);
    seen.act = ACT_MAKE_RW;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    CHECK(*g_pte(&H, VA, 1) & _PAGE_ACCESSED);
    hw_teardown(&H.h);
}

static void t_ro_discard(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    *(uint64_t *)hw_host(&H.h, H.gfn_mfn[data], 0) = 77;
    npt_set(&H, data, H.gfn_mfn[data], p2m_ram_ro, NPT_R | NPT_X);
    seen.act = ACT_DISCARD;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);      /* fills the TLB */
    CHECK_EQ(val, 77);
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 99), MMU_OK);       /* re-walks: NPF */
    CHECK_EQ(seen.npf, 1);
    CHECK_EQ(seen.pf, 0);
    CHECK_EQ(seen.access, NPF_WRITE);
    CHECK_EQ(npte_type(seen.npte), p2m_ram_ro);
    CHECK_EQ(*(uint64_t *)hw_host(&H.h, H.gfn_mfn[data], 0), 77);
    hw_teardown(&H.h);
}

static void t_logdirty(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    npt_set(&H, data, H.gfn_mfn[data], p2m_ram_logdirty, NPT_R | NPT_X);
    seen.act = ACT_MAKE_RW;
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 5), MMU_OK);
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 6), MMU_OK);
    CHECK_EQ(seen.npf, 1);
    CHECK_EQ(seen.access, NPF_WRITE);
    CHECK_EQ(*(uint64_t *)hw_host(&H.h, H.gfn_mfn[data], 0), 6);
    hw_teardown(&H.h);
}

static void t_tlb_combined(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    *(uint64_t *)hw_host(&H.h, H.gfn_mfn[data], 0) = 1;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    /* The p2m moves the gfn to another frame: the TLB still has the old. */
    mfn_t other = hw_frame(&H.h);
    *(uint64_t *)hw_host(&H.h, other, 0) = 2;
    npt_set(&H, data, other, p2m_ram_rw, NPT_RWX);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 1);
    mmu_flush_domain(&H.h.d);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 2);
    /* p2m without W under a guest-writable, dirty page: the TLB entry
       gives reads, and a store re-walks into a nested fault. */
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 3), MMU_OK);
    npt_set(&H, data, other, p2m_ram_logdirty, NPT_R | NPT_X);
    mmu_flush_domain(&H.h.d);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 4), MMU_KILLED);
    CHECK_EQ(seen.npf, 1);
    CHECK_EQ(seen.pf, 0);
    hw_teardown(&H.h);
}

static void t_shadow_walks_cr3(void)
{
    struct hap H;
    hap_setup(&H, PAGING_SHADOW);
    H.h.v->guest_cr3 = 0xdead000;           /* never walked in shadow mode */
    mfn_t data = hw_frame(&H.h);
    hw_map(&H.h, H.h.l4, VA, data, _PAGE_RW, HW_ALL);
    CHECK_EQ(mmu_store(H.h.v, VA, 8, 42), MMU_OK);
    CHECK_EQ(*(uint64_t *)hw_host(&H.h, data, 0), 42);
    CHECK(*hw_pte(&H.h, H.h.l4, VA, 1) & _PAGE_DIRTY);
    CHECK_EQ(seen.npf + seen.pf, 0);
    hw_teardown(&H.h);
}

static void t_hvm_exits(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    uint64_t data = g_frame(&H);
    g_map(&H, VA, data, _PAGE_RW);
    uint64_t val;
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    /* A second root with nothing mapped: CR3 load switches and flushes. */
    uint64_t l4b = g_frame(&H);
    CHECK_EQ(hvm_set_cr3(H.h.v, l4b << PAGE_SHIFT), 0);
    CHECK_EQ(H.h.v->guest_cr3, l4b << PAGE_SHIFT);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_KILLED);
    CHECK_EQ(seen.pf, 1);
    CHECK_EQ(hvm_set_cr3(H.h.v, 0x1F0ULL << PAGE_SHIFT), -XEN_EINVAL);
    CHECK_EQ(H.h.v->guest_cr3, l4b << PAGE_SHIFT);
    CHECK_EQ(hvm_set_cr3(H.h.v, H.gl4_gfn << PAGE_SHIFT), 0);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    /* INVLPG drops the cached translation. */
    mfn_t other = hw_frame(&H.h);
    *(uint64_t *)hw_host(&H.h, other, 0) = 9;
    npt_set(&H, data, other, p2m_ram_rw, NPT_RWX);
    hvm_invlpg(H.h.v, VA);
    CHECK_EQ(mmu_load(H.h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 9);
    CHECK(strcmp(paging_mode_name[PAGING_HAP], "hap") == 0);
    CHECK(strcmp(paging_mode_name[PAGING_SHADOW], "shadow") == 0);
    hw_teardown(&H.h);
}

static void t_vectors(void)
{
    struct hap H;
    hap_setup(&H, PAGING_HAP);
    H.h.v->npf_vector = NULL;
    traps_init_vcpu(H.h.v);
    CHECK(H.h.v->npf_vector != NULL);
    CHECK(H.h.v->pf_vector == hv_page_fault);
    H.h.d.kind = DOMAIN_PV;
    H.h.v->npf_vector = NULL;
    traps_init_vcpu(H.h.v);
    CHECK(H.h.v->npf_vector == NULL);
    hw_teardown(&H.h);
}

static const struct test tests[] = {
    { "a hap load and store translate through the guest's tables and the p2m, "
      "setting A/D in the guest's entries", t_translate },
    { "guest faults in hap mode go to the guest's handler with the CPU's "
      "error codes, no nested fault", t_guest_pf },
    { "a p2m hole under a data page is a nested fault with NPF_READ, gpa and "
      "gla, and type invalid", t_npf_data },
    { "a p2m refusal under a guest page table is a nested fault of the walk; "
      "A/D in a read-only table is a write of the walk", t_npf_walk },
    { "a write to a ram_ro page exits as a nested fault and, emulated, is "
      "discarded", t_ro_discard },
    { "a logdirty write faults once; made rw and flushed, it goes through",
      t_logdirty },
    { "the TLB caches the combined translation until flushed; no p2m W means "
      "a store re-walks into a nested fault", t_tlb_combined },
    { "a shadow-mode vCPU walks v->cr3 like PV", t_shadow_walks_cr3 },
    { "hvm_set_cr3 and hvm_invlpg in hap mode: root checked, TLB flushed",
      t_hvm_exits },
    { "traps_init_vcpu installs the nested-fault vector for HVM vCPUs only",
      t_vectors },
};

TEST_MAIN(tests)
