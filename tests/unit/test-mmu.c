/*
 * tests/unit/test-mmu.c - the MMU as hardware: walk, A/D, TLB, faults,
 * guest accesses and the hypervisor's copy to/from guest memory.
 *
 * Page tables are written by hand into machine frames (hw_fixture.h); no
 * core/mm is involved.  Remote flushes are tested as flush IPIs: a vCPU
 * held inside an access (the test hook) delays the requester's return.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

/* White-box: the MMU is compiled into this test with its test hook (an
   access window a test can hold a vCPU in, core/mmu.c rule 17); the
   library's copy of core/mmu.c is then not linked in. */
#define HVLAB_MMU_TEST_HOOKS
#include "core/mmu.c"

#include "core/guest_access.h"
#include "core/lock.h"
#include "core/sched.h"
#include "tests/unit/hw_fixture.h"

#define VA      0x0000123456789000ULL   /* a user-half address, all slots != 0 */
#define AD      (_PAGE_ACCESSED | _PAGE_DIRTY)
#define F(pfec) ((pfec) | MMU_WALK_FAULT)   /* a failed walk's result */

/* ---- a scriptable fault vector ------------------------------------------- */

enum pf_mode {
    PFM_KILL,       /* refuse */
    PFM_RETRY,      /* retry without fixing anything */
    PFM_MAP,        /* map the faulting page to pf.fix (RW|US), retry */
    PFM_MAKE_RW,    /* set RW in the leaf, retry (no flush) */
    PFM_EMULATE,    /* claim the access done, observed = pf.observed */
};

static struct {
    enum pf_mode mode;
    struct hw *h;
    mfn_t fix;
    uint64_t observed;
    unsigned calls;
    uint64_t va;
    uint32_t pfec;
    struct pending_access pend;     /* as seen at the last call */
} pf;

static enum pf_outcome pf_script(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    pf.calls++;
    pf.va = va;
    pf.pfec = pfec;
    pf.pend = v->pending;
    switch (pf.mode) {
    case PFM_KILL:
        return PF_KILL;
    case PFM_RETRY:
        return PF_RETRY;
    case PFM_MAP:
        hw_map(pf.h, v->cr3, va & ~PAGE_OFFSET_MASK, pf.fix,
               _PAGE_RW | _PAGE_USER, HW_ALL);
        return PF_RETRY;
    case PFM_MAKE_RW:
        *hw_pte(pf.h, v->cr3, va, 1) |= _PAGE_RW;
        return PF_RETRY;
    case PFM_EMULATE:
        v->pending.emulated = true;
        v->pending.observed = pf.observed;
        return PF_RETRY;
    }
    return PF_KILL;
}

static void pf_use(struct hw *h, enum pf_mode mode)
{
    memset(&pf, 0, sizeof(pf));
    pf.mode = mode;
    pf.h = h;
    h->v->pf_vector = pf_script;
}

static unsigned sp_seen[SP_NR];
static void sp_count(enum sched_point why)
{
    sp_seen[why]++;
}

/* Standard fixture: VA -> data frame, every level P|RW|US. */
static mfn_t setup_va(struct hw *h)
{
    hw_setup(h, 16 << 20);
    mfn_t data = hw_frame(h);
    hw_map(h, h->l4, VA, data, _PAGE_RW | _PAGE_USER, HW_ALL);
    return data;
}

static uint32_t walk(struct hw *h, uint64_t va, uint32_t access, bool set_ad,
                     struct mmu_walk *w)
{
    return mmu_walk(h->m, h->l4, va, access, set_ad, w);
}

/* ---- the walk ------------------------------------------------------------- */

/* A present 4K mapping translates to its frame, reporting every level. */
static void t_walk_basic(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    struct mmu_walk w;
    CHECK_EQ(walk(&h, VA + 0x123, PFEC_WRITE | PFEC_USER, false, &w), 0);
    CHECK_EQ(w.mfn, data);
    CHECK_EQ(w.page_level, 1);
    CHECK_EQ(w.table[4], h.l4);
    CHECK_HEX(w.eff_flags, _PAGE_RW | _PAGE_USER);
    for (unsigned l = 1; l <= 4; l++)
        CHECK(w.pte[l] & _PAGE_PRESENT);
    hw_teardown(&h);
}

/* Every access kind against P, RW, US, NX removed at every level. */
static void t_walk_flag_matrix(void)
{
    static const uint32_t accesses[] = {
        0, PFEC_WRITE, PFEC_USER, PFEC_USER | PFEC_WRITE, PFEC_INSN,
        PFEC_INSN | PFEC_USER,
    };
    struct hw h;
    setup_va(&h);
    for (unsigned l = 1; l <= 4; l++) {
        pte_t *e = hw_pte(&h, h.l4, VA, l);
        pte_t saved = *e;
        for (size_t i = 0; i < ARRAY_SIZE(accesses); i++) {
            uint32_t a = accesses[i];
            struct mmu_walk w;

            *e = saved & ~_PAGE_PRESENT;            /* not present */
            CHECK_HEX(walk(&h, VA, a, false, &w), F(a));
            CHECK_EQ(w.fault_level, l);

            *e = saved & ~_PAGE_RW;                 /* read-only (CR0.WP) */
            CHECK_HEX(walk(&h, VA, a, false, &w),
                      (a & PFEC_WRITE) ? F(a | PFEC_PRESENT) : 0);

            *e = saved & ~_PAGE_USER;               /* supervisor only */
            CHECK_HEX(walk(&h, VA, a, false, &w),
                      (a & PFEC_USER) ? F(a | PFEC_PRESENT) : 0);

            *e = saved | _PAGE_NX;                  /* no execute */
            CHECK_HEX(walk(&h, VA, a, false, &w),
                      (a & PFEC_INSN) ? F(a | PFEC_PRESENT) : 0);
            if (a & PFEC_INSN)
                CHECK_EQ(w.fault_level, l);
        }
        *e = saved;
    }
    hw_teardown(&h);
}

/* A not-present entry below a read-only one is a not-present fault. */
static void t_walk_not_present_wins(void)
{
    struct hw h;
    setup_va(&h);
    struct mmu_walk w;
    *hw_pte(&h, h.l4, VA, 4) &= ~_PAGE_RW;
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_PRESENT;
    CHECK_HEX(walk(&h, VA, PFEC_WRITE, false, &w), F(PFEC_WRITE));
    CHECK_EQ(w.fault_level, 1);
    hw_teardown(&h);
}

/* PSE in an L4 entry and address bits above 46 are reserved-bit faults. */
static void t_walk_reserved(void)
{
    struct hw h;
    setup_va(&h);
    struct mmu_walk w;
    pte_t *l4e = hw_pte(&h, h.l4, VA, 4);
    pte_t saved = *l4e;
    *l4e |= _PAGE_PSE;
    CHECK_HEX(walk(&h, VA, PFEC_USER, false, &w),
              F(PFEC_RSVD | PFEC_PRESENT | PFEC_USER));
    CHECK_EQ(w.fault_level, 4);
    *l4e = saved;

    for (unsigned l = 1; l <= 4; l++) {
        pte_t *e = hw_pte(&h, h.l4, VA, l);
        pte_t s = *e;
        *e |= 1ULL << 47;
        CHECK_HEX(walk(&h, VA, PFEC_WRITE, false, &w),
                  F(PFEC_RSVD | PFEC_PRESENT | PFEC_WRITE));
        CHECK_EQ(w.fault_level, l);
        *e = s;
    }
    /* Software bits 52-62 are not reserved. */
    *hw_pte(&h, h.l4, VA, 1) |= 1ULL << 55;
    CHECK_EQ(walk(&h, VA, 0, false, &w), 0);
    hw_teardown(&h);
}

/* 2 MiB (L2) and 1 GiB (L3) superpages; low address bits set are reserved. */
static void t_walk_superpages(void)
{
    struct hw h;
    hw_setup(&h, 16 << 20);
    struct mmu_walk w;
    uint64_t va2m = 0x40000000ULL;          /* 1 GiB, L3 slot 1 */
    hw_map(&h, h.l4, va2m, hw_frame(&h), HW_ALL, HW_ALL);
    pte_t *l2e = hw_pte(&h, h.l4, va2m, 2);
    *l2e = pte_make(0x200, HW_ALL | _PAGE_PSE);  /* frames 0x200.. (2 MiB) */
    CHECK_EQ(walk(&h, va2m + 0x5123, 0, false, &w), 0);
    CHECK_EQ(w.page_level, 2);
    CHECK_EQ(w.mfn, 0x205);
    *l2e |= 1ULL << 13;                         /* misaligned base */
    CHECK_HEX(walk(&h, va2m, 0, false, &w), F(PFEC_RSVD | PFEC_PRESENT));
    CHECK_EQ(w.fault_level, 2);
    /* PAT (bit 12) is allowed in a superpage entry. */
    *l2e = pte_make(0x200, HW_ALL | _PAGE_PSE) | (1ULL << 12);
    CHECK_EQ(walk(&h, va2m + 0x1000, 0, false, &w), 0);
    CHECK_EQ(w.mfn, 0x201);

    /* A 1 GiB page needs RAM behind it: a 16 MiB machine has none. */
    pte_t *l3e = hw_pte(&h, h.l4, va2m, 3);
    *l3e = pte_make(0, HW_ALL | _PAGE_PSE);
    CHECK_EQ(walk(&h, va2m + 0x3000, PFEC_WRITE, false, &w), 0);
    CHECK_EQ(w.page_level, 3);
    CHECK_EQ(w.mfn, 3);
    CHECK_HEX(walk(&h, va2m + 0x2000000, 0, false, &w), F(PFEC_RSVD | PFEC_PRESENT));
    *l3e |= 1ULL << 20;
    CHECK_HEX(walk(&h, va2m, 0, false, &w), F(PFEC_RSVD | PFEC_PRESENT));
    CHECK_EQ(w.fault_level, 3);
    hw_teardown(&h);
}

/* Frames outside RAM (table, target, root) are reserved-bit faults. */
static void t_walk_outside_ram(void)
{
    struct hw h;
    setup_va(&h);
    struct mmu_walk w;
    pte_t *l3e = hw_pte(&h, h.l4, VA, 3);
    pte_t s = *l3e;
    *l3e = pte_make(h.m->nr_frames + 5, HW_ALL);
    CHECK_HEX(walk(&h, VA, 0, false, &w), F(PFEC_RSVD | PFEC_PRESENT));
    CHECK_EQ(w.fault_level, 3);
    *l3e = s;
    *hw_pte(&h, h.l4, VA, 1) = pte_make(h.m->nr_frames, HW_ALL);
    CHECK_HEX(walk(&h, VA, PFEC_USER, false, &w),
              F(PFEC_RSVD | PFEC_PRESENT | PFEC_USER));
    CHECK_EQ(w.fault_level, 1);
    CHECK_HEX(mmu_walk(h.m, INVALID_MFN, VA, 0, false, &w),
              F(PFEC_RSVD | PFEC_PRESENT));
    hw_teardown(&h);
}

/* A non-canonical address is a not-present fault (the model's #GP). */
static void t_walk_noncanonical(void)
{
    struct hw h;
    setup_va(&h);
    struct mmu_walk w;
    CHECK_HEX(walk(&h, 0x0000800000000000ULL, PFEC_WRITE, false, &w), F(PFEC_WRITE));
    /* A canonical kernel-half address with no mapping: error code 0. */
    CHECK_HEX(walk(&h, 0xFFFF000000000000ULL, 0, false, &w), F(0));
    hw_teardown(&h);
}

/* A on every level and D on the leaf for a write, only on success. */
static void t_walk_sets_ad(void)
{
    struct hw h;
    setup_va(&h);
    struct mmu_walk w;
    CHECK_EQ(walk(&h, VA, 0, false, &w), 0);        /* no set_ad: nothing */
    for (unsigned l = 1; l <= 4; l++)
        CHECK_EQ(*hw_pte(&h, h.l4, VA, l) & AD, 0);
    CHECK_EQ(walk(&h, VA, 0, true, &w), 0);         /* read: A only */
    for (unsigned l = 1; l <= 4; l++)
        CHECK_HEX(*hw_pte(&h, h.l4, VA, l) & AD, _PAGE_ACCESSED);
    CHECK_EQ(walk(&h, VA, PFEC_WRITE, true, &w), 0); /* write: D on the leaf */
    CHECK_HEX(*hw_pte(&h, h.l4, VA, 1) & AD, AD);
    for (unsigned l = 2; l <= 4; l++)
        CHECK_HEX(*hw_pte(&h, h.l4, VA, l) & AD, _PAGE_ACCESSED);
    CHECK_HEX(w.pte[1] & AD, AD);

    /* A refused write sets nothing anywhere. */
    for (unsigned l = 1; l <= 4; l++)
        *hw_pte(&h, h.l4, VA, l) &= ~AD;
    *hw_pte(&h, h.l4, VA, 2) &= ~_PAGE_RW;
    CHECK_HEX(walk(&h, VA, PFEC_WRITE, true, &w), F(PFEC_WRITE | PFEC_PRESENT));
    for (unsigned l = 1; l <= 4; l++)
        CHECK_EQ(*hw_pte(&h, h.l4, VA, l) & AD, 0);
    /* A not-present leaf: the upper levels get no A either. */
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_PRESENT;
    CHECK_HEX(walk(&h, VA, 0, true, &w), F(0));
    for (unsigned l = 2; l <= 4; l++)
        CHECK_EQ(*hw_pte(&h, h.l4, VA, l) & AD, 0);
    hw_teardown(&h);
}

struct flip_arg {
    pte_t *leaf;
    unsigned n;
};

static void *flipper(void *p)
{
    struct flip_arg *a = p;
    for (unsigned i = 0; i < a->n; i++)
        __atomic_fetch_xor(a->leaf, 1ULL << 9, __ATOMIC_RELAXED);
    return NULL;
}

/* Setting A/D races with another CPU's PTE updates and loses none of them. */
static void t_walk_ad_atomic(void)
{
    struct hw h;
    setup_va(&h);
    pte_t *leaf = hw_pte(&h, h.l4, VA, 1);
    struct flip_arg fa = { leaf, 200001 };
    pthread_t t;
    unsigned bad = 0;
    int rc = pthread_create(&t, NULL, flipper, &fa);   /* REQUIRE evaluates twice */
    REQUIRE(rc == 0);
    for (unsigned i = 0; i < 200000; i++) {
        struct mmu_walk w;
        __atomic_fetch_and(leaf, ~AD, __ATOMIC_RELAXED);
        if (walk(&h, VA, PFEC_WRITE, true, &w) != 0 ||
            (__atomic_load_n(leaf, __ATOMIC_RELAXED) & AD) != AD)
            bad++;
    }
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
    CHECK_HEX(*leaf & (1ULL << 9), 1ULL << 9);      /* odd number of flips */
    hw_teardown(&h);
}

/* ---- guest accesses and the TLB ------------------------------------------ */

/* A store then a load through the MMU reach the frame's host memory. */
static void t_access_basic(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    uint64_t val = 0;
    CHECK_EQ(mmu_store(h.v, VA + 16, 8, 0x1122334455667788ULL), MMU_OK);
    CHECK_HEX(*(uint64_t *)hw_host(&h, data, 16), 0x1122334455667788ULL);
    CHECK_EQ(mmu_load(h.v, VA + 16, 4, &val), MMU_OK);
    CHECK_HEX(val, 0x55667788);
    CHECK_EQ(mmu_load(h.v, VA + 17, 2, &val), MMU_OK);   /* misaligned */
    CHECK_HEX(val, 0x6677);
    CHECK_EQ(mmu_load(h.v, VA + 23, 1, &val), MMU_OK);
    CHECK_HEX(val, 0x11);
    CHECK(h.v->tlb.hits >= 2);
    CHECK_EQ(h.v->nr_faults, 0);
    hw_teardown(&h);
}

/* A changed PTE stays invisible until INVLPG. */
static void t_tlb_stale_until_invlpg(void)
{
    struct hw h;
    mfn_t a = setup_va(&h), b = hw_frame(&h);
    *(uint64_t *)hw_host(&h, a, 0) = 0xA;
    *(uint64_t *)hw_host(&h, b, 0) = 0xB;
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xA);
    *hw_pte(&h, h.l4, VA, 1) = pte_make(b, _PAGE_PRESENT | _PAGE_RW);
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xA);                             /* stale */
    *hw_pte(&h, h.l4, VA, 1) = 0;                   /* even when not present */
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xA);
    *hw_pte(&h, h.l4, VA, 1) = pte_make(b, _PAGE_PRESENT | _PAGE_RW);
    mmu_invlpg_local(h.v, VA + 0x10);
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xB);
    hw_teardown(&h);
}

/* A CR3 load drops non-global entries; global ones survive until a flush. */
static void t_tlb_cr3_and_global(void)
{
    struct hw h;
    mfn_t a = setup_va(&h), b = hw_frame(&h);
    uint64_t vg = VA + 0x1000;
    hw_map(&h, h.l4, vg, a, _PAGE_RW | _PAGE_GLOBAL, HW_ALL);
    *(uint64_t *)hw_host(&h, a, 0) = 0xA;
    *(uint64_t *)hw_host(&h, b, 0) = 0xB;
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(mmu_load(h.v, vg, 8, &val), MMU_OK);
    *hw_pte(&h, h.l4, VA, 1) = pte_make(b, _PAGE_PRESENT);
    *hw_pte(&h, h.l4, vg, 1) = pte_make(b, _PAGE_PRESENT);
    uint32_t clock = h.m->tlbflush_clock;
    mmu_load_cr3(h.v, h.l4);
    CHECK_EQ(h.m->tlbflush_clock, clock);           /* not a full flush */
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xB);
    CHECK_EQ(mmu_load(h.v, vg, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xA);                             /* global survived */
    mmu_flush_local(h.v);
    CHECK_EQ(h.m->tlbflush_clock, clock + 1);
    CHECK_EQ(h.v->tlb.flush_time, clock + 1);
    CHECK_EQ(mmu_load(h.v, vg, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xB);
    hw_teardown(&h);
}

/* A remote request is honoured at the target's next access, not before. */
static void t_tlb_remote_request(void)
{
    struct hw h;
    mfn_t a = setup_va(&h), b = hw_frame(&h);
    *(uint64_t *)hw_host(&h, a, 0) = 0xA;
    *(uint64_t *)hw_host(&h, b, 0) = 0xB;
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    *hw_pte(&h, h.l4, VA, 1) = pte_make(b, _PAGE_PRESENT);
    mmu_request_flush(h.v, VA);
    struct tlb_entry *e = &h.v->tlb.e[(VA >> PAGE_SHIFT) % TLB_ENTRIES];
    CHECK(e->flags & TLB_VALID);                    /* not yet */
    CHECK_EQ(h.v->tlb.invlpg_n, 1);
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(val, 0xB);
    CHECK_EQ(h.v->tlb.flush_pending, 0);
    CHECK_EQ(h.v->tlb.invlpg_n, 0);

    /* A full request drops globals too and ticks the clock. */
    uint32_t clock = h.m->tlbflush_clock;
    mmu_request_flush(h.v, MMU_FLUSH_ALL_VA);
    mmu_sync_requests(h.v);
    CHECK_EQ(h.m->tlbflush_clock, clock + 1);
    CHECK_EQ(e->flags, 0);
    hw_teardown(&h);
}

/* More INVLPG requests than the queue holds become a full flush. */
static void t_tlb_request_overflow(void)
{
    struct hw h;
    setup_va(&h);
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    for (unsigned i = 0; i < TLB_INVLPG_Q + 1; i++)
        mmu_request_flush(h.v, 0x1000ULL * (i + 1));
    CHECK(h.v->tlb.flush_pending & TLB_REQ_ALL);
    uint64_t flushes = h.v->tlb.flushes;
    mmu_sync_requests(h.v);
    CHECK_EQ(h.v->tlb.flushes, flushes + 1);
    CHECK_EQ(h.v->tlb.invlpg_n, 0);
    hw_teardown(&h);
}

struct req_arg {
    struct vcpu *target;
    unsigned n;
};

static void *requester(void *p)
{
    struct req_arg *a = p;
    for (unsigned i = 0; i < a->n; i++)
        mmu_request_flush(a->target, (i & 1) ? VA : MMU_FLUSH_ALL_VA);
    return NULL;
}

/* Requests from 3 threads while the target runs: all honoured, no crash. */
static void t_tlb_requests_concurrent(void)
{
    struct hw h;
    setup_va(&h);
    struct req_arg ra = { h.v, 20000 };
    pthread_t t[3];
    for (unsigned i = 0; i < 3; i++) {
        int rc = pthread_create(&t[i], NULL, requester, &ra);
        REQUIRE(rc == 0);
    }
    uint64_t val;
    unsigned bad = 0;
    for (unsigned i = 0; i < 100000; i++)
        bad += mmu_load(h.v, VA, 8, &val) != MMU_OK;
    for (unsigned i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    mmu_sync_requests(h.v);
    CHECK_EQ(bad, 0);
    CHECK_EQ(h.v->tlb.flush_pending, 0);
    CHECK_EQ(h.v->tlb.invlpg_n, 0);
    hw_teardown(&h);
}

/* ---- flush IPIs: a request waits for an access in flight (rule 17) ------- */

#define IPI_MAGIC   0x5107E0F5107Eull

/* How the test hook holds a vCPU inside its access window. */
enum hold_mode {
    HOLD_POSTED,        /* until a flush is posted to it, then 50 ms more */
    HOLD_RETURNED,      /* until the requester's flush call has returned */
    HOLD_SELF_FLUSH,    /* request a flush of itself from inside the window */
};

static struct {
    enum hold_mode mode;
    struct vcpu *target;            /* the vCPU to hold, once */
    _Atomic int in_window;          /* the target reached the hook */
    _Atomic int flush_returned;     /* the requester's call came back */
    _Atomic int returned_early;     /* ... while the target was still held */
} hold;

static void hold_hook(struct vcpu *v, uint64_t va)
{
    if (v != hold.target)
        return;
    hold.target = NULL;             /* hold the first access only */
    atomic_store(&hold.in_window, 1);
    switch (hold.mode) {
    case HOLD_POSTED:
        while (atomic_load(&v->tlb.flush_pending) == 0)
            sched_yield();
        /* A requester that does not wait is back by now. */
        nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
        atomic_store(&hold.returned_early, atomic_load(&hold.flush_returned));
        break;
    case HOLD_RETURNED:
        while (!atomic_load(&hold.flush_returned))
            sched_yield();
        break;
    case HOLD_SELF_FLUSH:
        mmu_request_flush(v, va);
        break;
    }
}

static void hold_use(enum hold_mode mode, struct vcpu *target)
{
    memset(&hold, 0, sizeof(hold));
    hold.mode = mode;
    hold.target = target;
    mmu_test_in_window = hold_hook;
}

/* A target thread: one store to VA on vCPU t (a TLB miss: the hook runs). */
static void *store_once(void *p)
{
    struct vcpu *t = p;
    current = t;
    mmu_store(t, VA, 8, IPI_MAGIC);
    current = NULL;
    return NULL;
}

/* VA -> a on vCPU 0's root; a second vCPU t on the same root; b spare. */
static struct vcpu *ipi_setup(struct hw *h, mfn_t *a, mfn_t *b)
{
    *a = setup_va(h);
    *b = hw_frame(h);
    current = NULL;                 /* the main thread runs no vCPU */
    alarm(30);                      /* a wait that never ends fails */
    return hw_vcpu(h, 1);
}

static uint64_t frame_word(struct hw *h, mfn_t mfn)
{
    return __atomic_load_n((uint64_t *)hw_host(h, mfn, 0), __ATOMIC_ACQUIRE);
}

/*
 * A flush returns only once the target's access in flight is complete: the
 * store the target had translated before the request is in the old frame
 * when the call returns, and the target's next access uses the new one.
 */
static void t_ipi_waits_for_access(void)
{
    struct hw h;
    mfn_t a, b;
    struct vcpu *t = ipi_setup(&h, &a, &b);
    hold_use(HOLD_POSTED, t);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, store_once, t) == 0);
    while (!atomic_load(&hold.in_window))
        sched_yield();

    __atomic_store_n(hw_pte(&h, h.l4, VA, 1),
                     pte_make(b, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER),
                     __ATOMIC_RELEASE);
    mmu_request_flush(t, VA);
    atomic_store(&hold.flush_returned, 1);
    CHECK_HEX(frame_word(&h, a), IPI_MAGIC);        /* the access finished */
    pthread_join(th, NULL);
    CHECK(!atomic_load(&hold.returned_early));
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 1);
    CHECK(!(atomic_load(&t->tlb.access_seq) & 1));

    CHECK_EQ(mmu_store(t, VA, 8, 2), MMU_OK);       /* honours the request */
    CHECK_EQ(frame_word(&h, b), 2);
    CHECK_HEX(frame_word(&h, a), IPI_MAGIC);
    hw_teardown(&h);
}

/* The batched form waits for every target in flight and skips NULLs. */
static void t_ipi_many(void)
{
    struct hw h;
    mfn_t a, b;
    struct vcpu *t = ipi_setup(&h, &a, &b);
    struct vcpu *idle = hw_vcpu(&h, 2);
    hold_use(HOLD_POSTED, t);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, store_once, t) == 0);
    while (!atomic_load(&hold.in_window))
        sched_yield();

    struct vcpu *targets[] = { idle, NULL, t };
    mmu_request_flush_many(targets, 3, MMU_FLUSH_ALL_VA);
    atomic_store(&hold.flush_returned, 1);
    CHECK_HEX(frame_word(&h, a), IPI_MAGIC);
    pthread_join(th, NULL);
    CHECK(!atomic_load(&hold.returned_early));
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 1);
    CHECK_EQ(atomic_load(&idle->tlb.ipi_waits), 0);
    CHECK(atomic_load(&idle->tlb.flush_pending) & TLB_REQ_ALL);
    hw_teardown(&h);
}

/* With the late-delivery hook set, the call returns at once and the access
   in flight completes through the old translation after it (the old,
   fire-and-forget behaviour, for the injector to bring back). */
static void t_ipi_late_hook(void)
{
    struct hw h;
    mfn_t a, b;
    struct vcpu *t = ipi_setup(&h, &a, &b);
    t->tlb.flush_late = true;
    hold_use(HOLD_RETURNED, t);     /* a waiting requester never returns */
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, store_once, t) == 0);
    while (!atomic_load(&hold.in_window))
        sched_yield();

    __atomic_store_n(hw_pte(&h, h.l4, VA, 1),
                     pte_make(b, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER),
                     __ATOMIC_RELEASE);
    mmu_request_flush(t, VA);
    CHECK_EQ(frame_word(&h, a), 0);                 /* not yet stored */
    atomic_store(&hold.flush_returned, 1);
    pthread_join(th, NULL);
    CHECK_HEX(frame_word(&h, a), IPI_MAGIC);        /* the late store */
    CHECK_EQ(frame_word(&h, b), 0);
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 0);
    hw_teardown(&h);
}

/* A vCPU that requests a flush of itself, even from inside its own access
   window, does not wait (it would wait for itself forever). */
static void t_ipi_self_no_wait(void)
{
    struct hw h;
    mfn_t a = setup_va(&h);
    alarm(30);
    REQUIRE(current == h.v);
    hold_use(HOLD_SELF_FLUSH, h.v);
    CHECK_EQ(mmu_store(h.v, VA, 8, 7), MMU_OK);
    CHECK(atomic_load(&hold.in_window));
    CHECK_EQ(*(uint64_t *)hw_host(&h, a, 0), 7);
    CHECK(atomic_load(&h.v->tlb.flush_pending) & TLB_REQ_VA);  /* posted */
    CHECK_EQ(atomic_load(&h.v->tlb.ipi_waits), 0);
    uint64_t misses = h.v->tlb.misses, val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(h.v->tlb.misses, misses + 1);          /* honoured: re-walked */
    mmu_request_flush(h.v, MMU_FLUSH_ALL_VA);       /* outside an access */
    CHECK_EQ(atomic_load(&h.v->tlb.ipi_waits), 0);
    hw_teardown(&h);
}

static void store_entry(struct vcpu *v, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < 1000; i++)
        mmu_store(v, VA, 8, i);
}

/* A vCPU not running on any thread (never started, or its entry returned)
   is inside no access: a request to it is posted and nothing waits. */
static void t_ipi_not_running_no_wait(void)
{
    struct hw h;
    mfn_t a, b;
    struct vcpu *t = ipi_setup(&h, &a, &b);
    mmu_request_flush(t, VA);                       /* never ran */
    CHECK(atomic_load(&t->tlb.flush_pending) & TLB_REQ_VA);
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 0);

    t->entry = store_entry;
    struct vcpu *vs[] = { t };
    CHECK_EQ(sched_run(NULL, vs, 1), 0);
    CHECK_EQ(frame_word(&h, a), 999);
    CHECK(!(atomic_load(&t->tlb.access_seq) & 1));
    CHECK(atomic_load(&t->tlb.access_seq) >= 2 * 1000);
    mmu_request_flush(t, VA);                       /* entry returned */
    mmu_request_flush(t, MMU_FLUSH_ALL_VA);
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 0);
    hw_teardown(&h);
}

/* A target that stores to VA in a loop while the main thread moves VA
   between two frames, one flush per move. */
struct ipi_stress {
    struct vcpu *t;
    _Atomic int stop;
};

static void *store_loop(void *p)
{
    struct ipi_stress *s = p;
    current = s->t;
    for (uint64_t i = 1; !atomic_load_explicit(&s->stop, memory_order_relaxed); i++) {
        if (i & 1)
            mmu_store(s->t, VA + 8 * (i & 7), 8, i);
        else
            mmu_write(s->t, VA + 8 * (i & 7), &i, 8);
    }
    current = NULL;
    return NULL;
}

static bool frame_any(struct hw *h, mfn_t mfn, uint64_t out[8])
{
    bool any = false;
    for (unsigned i = 0; i < 8; i++) {
        out[i] = __atomic_load_n((uint64_t *)hw_host(h, mfn, 8 * i),
                                 __ATOMIC_ACQUIRE);
        any |= out[i] != 0;
    }
    return any;
}

/*
 * The property the flush gives: once mmu_request_flush() has returned, no
 * store of the target lands through the translation it invalidated.  Each
 * round remaps VA from the old frame to a zeroed new one, flushes, takes a
 * snapshot of the old frame, waits until the target has stored through the
 * new mapping (its stores are in program order) and checks that the old
 * frame still equals the snapshot.
 */
static void ipi_stress(bool fallback)
{
    struct hw h;
    mfn_t f[2];
    struct vcpu *t = ipi_setup(&h, &f[0], &f[1]);
    if (fallback)
        atomic_store(&ipi_fence_fallback, true);    /* no membarrier */
    struct ipi_stress s = { .t = t };
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, store_loop, &s) == 0);

    unsigned late = 0;
    for (unsigned k = 0; k < 3000; k++) {
        mfn_t old = f[k & 1], new = f[(k + 1) & 1];
        uint64_t snap[8], now[8];
        memset(hw_host(&h, new, 0), 0, 64);
        __atomic_store_n(hw_pte(&h, h.l4, VA, 1),
                         pte_make(new, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER),
                         __ATOMIC_RELEASE);
        mmu_request_flush(t, (k & 2) ? MMU_FLUSH_ALL_VA : VA);
        frame_any(&h, old, snap);
        while (!frame_any(&h, new, now))
            sched_yield();
        frame_any(&h, old, now);
        late += memcmp(snap, now, sizeof(snap)) != 0;
    }
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    CHECK_EQ(late, 0);
    hw_teardown(&h);
}

static void t_ipi_stress(void)
{
    ipi_stress(false);
}

static void t_ipi_stress_fallback(void)
{
    ipi_stress(true);
}

/* A stale read-only entry faults without a walk; the fault drops it. */
static void t_tlb_stale_ro_spurious_fault(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_RW;
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);   /* caches read-only */
    *hw_pte(&h, h.l4, VA, 1) |= _PAGE_RW;           /* no flush */
    pf_use(&h, PFM_RETRY);
    CHECK_EQ(mmu_store(h.v, VA, 8, 7), MMU_OK);
    CHECK_EQ(pf.calls, 1);                          /* the spurious fault */
    CHECK_HEX(pf.pfec, PFEC_PRESENT | PFEC_WRITE);
    CHECK_EQ(*(uint64_t *)hw_host(&h, data, 0), 7);
    hw_teardown(&h);
}

/* A write through a clean writable entry re-walks and sets D. */
static void t_tlb_clean_entry_rewalks(void)
{
    struct hw h;
    setup_va(&h);
    uint64_t val;
    pf_use(&h, PFM_KILL);
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    CHECK_EQ(*hw_pte(&h, h.l4, VA, 1) & _PAGE_DIRTY, 0);
    CHECK_EQ(mmu_store(h.v, VA, 8, 1), MMU_OK);
    CHECK(*hw_pte(&h, h.l4, VA, 1) & _PAGE_DIRTY);
    CHECK_EQ(pf.calls, 0);
    hw_teardown(&h);
}

/* User mode needs US at every level; kernel mode does not. */
static void t_access_user_mode(void)
{
    struct hw h;
    setup_va(&h);
    *hw_pte(&h, h.l4, VA, 3) &= ~_PAGE_USER;
    uint64_t val;
    pf_use(&h, PFM_KILL);
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_OK);
    h.v->in_kernel = false;
    CHECK_EQ(mmu_load(h.v, VA, 8, &val), MMU_KILLED);
    CHECK_HEX(pf.pfec, PFEC_PRESENT | PFEC_USER);
    hw_teardown(&h);
}

/* A demand fault: the vector maps the page, the access completes. */
static void t_fault_demand_map(void)
{
    struct hw h;
    setup_va(&h);
    mfn_t fresh = hw_frame(&h);
    uint64_t va = 0x00007f0000000000ULL;
    pf_use(&h, PFM_MAP);
    pf.fix = fresh;
    unsigned faults_sp;
    memset(sp_seen, 0, sizeof(sp_seen));
    hv_sched_hook = sp_count;
    CHECK_EQ(mmu_store(h.v, va + 8, 8, 99), MMU_OK);
    faults_sp = sp_seen[SP_FAULT];
    hv_sched_hook = NULL;
    CHECK_EQ(pf.calls, 1);
    CHECK_HEX(pf.va, va + 8);
    CHECK_HEX(pf.pfec, PFEC_WRITE);
    CHECK_EQ(h.v->nr_faults, 1);
    CHECK_EQ(faults_sp, 1);
    CHECK(pf.pend.valid && pf.pend.is_write && !pf.pend.is_cmpxchg);
    CHECK_EQ(pf.pend.bytes, 8);
    CHECK_EQ(pf.pend.value, 99);
    CHECK(!h.v->pending.valid);
    CHECK_EQ(*(uint64_t *)hw_host(&h, fresh, 8), 99);
    hw_teardown(&h);
}

/* PF_KILL and a missing vector both kill the access. */
static void t_fault_kill(void)
{
    struct hw h;
    setup_va(&h);
    uint64_t val = 5;
    CHECK_EQ(mmu_load(h.v, 0x1000, 8, &val), MMU_KILLED);   /* no vector */
    CHECK_EQ(h.v->nr_faults, 1);
    pf_use(&h, PFM_KILL);
    CHECK_EQ(mmu_store(h.v, 0x1000, 4, 1), MMU_KILLED);
    CHECK_EQ(pf.calls, 1);
    CHECK(pf.pend.is_write);
    CHECK_EQ(pf.pend.bytes, 4);
    hw_teardown(&h);
}

/* A vector that retries forever is cut off after 10000 retries. */
static void t_fault_retry_cap(void)
{
    struct hw h;
    setup_va(&h);
    pf_use(&h, PFM_RETRY);
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, 0x1000, 8, &val), MMU_KILLED);
    CHECK_EQ(pf.calls, 10000);
    hw_teardown(&h);
}

#define NESTED_VA 0x0000700000000000ULL
static struct pending_access nested_outer_before, nested_outer_after;
static unsigned nested_calls;

/* The guest's handler reads memory that faults itself, then fixes the outer. */
static enum pf_outcome pf_nested(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    (void)pfec;
    nested_calls++;
    if (va == NESTED_VA) {              /* the inner fault: map and retry */
        hw_map(pf.h, v->cr3, NESTED_VA, pf.fix, _PAGE_RW, HW_ALL);
        return PF_RETRY;
    }
    nested_outer_before = v->pending;
    uint64_t val;
    if (mmu_load(v, NESTED_VA, 8, &val) != MMU_OK)
        return PF_KILL;
    nested_outer_after = v->pending;
    hw_map(pf.h, v->cr3, va & ~PAGE_OFFSET_MASK, pf.fix, _PAGE_RW, HW_ALL);
    return PF_RETRY;
}

/* A fault taken inside the fault vector nests; the outer record survives. */
static void t_fault_nested(void)
{
    struct hw h;
    setup_va(&h);
    pf_use(&h, PFM_KILL);
    pf.fix = hw_frame(&h);
    h.v->pf_vector = pf_nested;
    CHECK_EQ(mmu_store(h.v, 0x1008, 8, 0xCAFE), MMU_OK);
    CHECK_EQ(nested_calls, 2);
    CHECK(nested_outer_before.valid && nested_outer_before.is_write);
    CHECK_HEX(nested_outer_after.va, 0x1008);
    CHECK_EQ(nested_outer_after.value, 0xCAFE);
    CHECK(nested_outer_after.valid);
    CHECK(!h.v->pending.valid);
    CHECK_EQ(*(uint64_t *)hw_host(&h, pf.fix, 8), 0xCAFE);
    hw_teardown(&h);
}

/* Loads and stores crossing a page are split; each half faults on its own. */
static void t_access_cross_page(void)
{
    struct hw h;
    mfn_t lo = setup_va(&h), hi = hw_frame(&h);
    hw_map(&h, h.l4, VA + PAGE_SIZE, hi, _PAGE_RW, HW_ALL);
    CHECK_EQ(mmu_store(h.v, VA + PAGE_SIZE - 3, 8, 0x0807060504030201ULL), MMU_OK);
    CHECK_HEX(*(uint32_t *)hw_host(&h, lo, PAGE_SIZE - 4) >> 8, 0x030201);
    CHECK_HEX(*(uint64_t *)hw_host(&h, hi, 0) & 0xFFFFFFFFFFULL, 0x0807060504ULL);
    uint64_t val;
    CHECK_EQ(mmu_load(h.v, VA + PAGE_SIZE - 3, 8, &val), MMU_OK);
    CHECK_HEX(val, 0x0807060504030201ULL);

    /* The high page not present: the fault names the high page's address. */
    *hw_pte(&h, h.l4, VA + PAGE_SIZE, 1) = 0;
    mmu_invlpg_local(h.v, VA + PAGE_SIZE);
    pf_use(&h, PFM_KILL);
    CHECK_EQ(mmu_load(h.v, VA + PAGE_SIZE - 2, 4, &val), MMU_KILLED);
    CHECK_HEX(pf.va, VA + PAGE_SIZE);
    CHECK_EQ(pf.pend.bytes, 2);
    hw_teardown(&h);
}

/* cmpxchg at every width: equal swaps, different reports what it found. */
static void t_cmpxchg(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    static const unsigned widths[] = { 1, 2, 4, 8 };
    for (size_t i = 0; i < ARRAY_SIZE(widths); i++) {
        unsigned n = widths[i];
        uint64_t mask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
        uint64_t va = VA + 64 * i + n;              /* naturally aligned */
        uint64_t old = 0;
        CHECK_EQ(mmu_cmpxchg(h.v, va, n, &old, 0xA5A5A5A5A5A5A5A5ULL), MMU_OK);
        CHECK_EQ(old, 0);
        old = 0;
        CHECK_EQ(mmu_cmpxchg(h.v, va, n, &old, 0x11), MMU_OK);
        CHECK_HEX(old, 0xA5A5A5A5A5A5A5A5ULL & mask);
        uint64_t val;
        CHECK_EQ(mmu_load(h.v, va, n, &val), MMU_OK);
        CHECK_HEX(val, 0xA5A5A5A5A5A5A5A5ULL & mask);
    }
    /* Misaligned within the page. */
    uint64_t old = 0;
    CHECK_EQ(mmu_cmpxchg(h.v, VA + 0x201, 8, &old, 0x42), MMU_OK);
    CHECK_EQ(*(uint64_t *)hw_host(&h, data, 0x201), 0x42);
    /* Across a page. */
    mfn_t hi = hw_frame(&h);
    hw_map(&h, h.l4, VA + PAGE_SIZE, hi, _PAGE_RW, HW_ALL);
    old = 0;
    CHECK_EQ(mmu_cmpxchg(h.v, VA + PAGE_SIZE - 4, 8, &old, 0x1122334455667788ULL),
             MMU_OK);
    CHECK_EQ(old, 0);
    CHECK_HEX(*(uint32_t *)hw_host(&h, hi, 0), 0x11223344);
    old = 1;
    CHECK_EQ(mmu_cmpxchg(h.v, VA + PAGE_SIZE - 4, 8, &old, 0), MMU_OK);
    CHECK_HEX(old, 0x1122334455667788ULL);
    CHECK_HEX(*(uint32_t *)hw_host(&h, hi, 0), 0x11223344);
    hw_teardown(&h);
}

/* An emulated store is not re-executed; an emulated cmpxchg reports observed. */
static void t_fault_emulated(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_RW;
    pf_use(&h, PFM_EMULATE);
    CHECK_EQ(mmu_store(h.v, VA + 8, 8, 0x77), MMU_OK);
    CHECK_EQ(pf.calls, 1);
    CHECK_EQ(*(uint64_t *)hw_host(&h, data, 8), 0);  /* nobody wrote it */
    CHECK(pf.pend.valid && pf.pend.is_write && !pf.pend.emulated);
    CHECK_HEX(pf.pend.va, VA + 8);

    pf.observed = 0x1234;
    uint64_t old = 0x55;
    CHECK_EQ(mmu_cmpxchg(h.v, VA + 16, 4, &old, 0x66), MMU_OK);
    CHECK_EQ(pf.calls, 2);
    CHECK(pf.pend.is_cmpxchg);
    CHECK_EQ(pf.pend.expected, 0x55);
    CHECK_EQ(pf.pend.value, 0x66);
    CHECK_EQ(pf.pend.bytes, 4);
    CHECK_HEX(old, 0x1234);
    CHECK(!h.v->pending.valid && !h.v->pending.emulated);

    /* An emulated load returns the observed value. */
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_PRESENT;
    mmu_invlpg_local(h.v, VA);
    pf.observed = 0xBEEF;
    uint64_t val = 0;
    CHECK_EQ(mmu_load(h.v, VA, 2, &val), MMU_OK);
    CHECK(!pf.pend.is_write);
    CHECK_HEX(val, 0xBEEF);
    hw_teardown(&h);
}

/* Buffers cross pages; a faulting page is done in aligned pieces <= 8. */
static void t_access_buffers(void)
{
    struct hw h;
    mfn_t p0 = setup_va(&h), p1 = hw_frame(&h);
    hw_map(&h, h.l4, VA + PAGE_SIZE, p1, _PAGE_RW, HW_ALL);
    uint8_t in[300], out[300];
    for (unsigned i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ(mmu_write(h.v, VA + PAGE_SIZE - 100, in, sizeof(in)), MMU_OK);
    CHECK(memcmp(hw_host(&h, p0, PAGE_SIZE - 100), in, 100) == 0);
    CHECK(memcmp(hw_host(&h, p1, 0), in + 100, 200) == 0);
    CHECK_EQ(mmu_read(h.v, VA + PAGE_SIZE - 100, out, sizeof(out)), MMU_OK);
    CHECK(memcmp(in, out, sizeof(in)) == 0);

    /* Second page read-only: the emulator sees pieces of at most 8 bytes. */
    *hw_pte(&h, h.l4, VA + PAGE_SIZE, 1) &= ~_PAGE_RW;
    mmu_invlpg_local(h.v, VA + PAGE_SIZE);
    pf_use(&h, PFM_EMULATE);
    CHECK_EQ(mmu_write(h.v, VA + PAGE_SIZE - 100, in, 103), MMU_OK);
    CHECK_EQ(pf.calls, 2);                          /* 2 bytes, then 1 */
    CHECK_EQ(pf.pend.bytes, 1);
    CHECK_HEX(pf.pend.va, VA + PAGE_SIZE + 2);
    hw_teardown(&h);
}

/* Every 64 accesses reach sched_point(SP_MEM). */
static void t_access_sched_points(void)
{
    struct hw h;
    setup_va(&h);
    memset(sp_seen, 0, sizeof(sp_seen));
    hv_sched_hook = sp_count;
    uint64_t val;
    for (unsigned i = 0; i < 640; i++)
        mmu_load(h.v, VA, 8, &val);
    hv_sched_hook = NULL;
    CHECK_EQ(sp_seen[SP_MEM], 10);
    CHECK_EQ(sp_seen[SP_FAULT], 0);
    hw_teardown(&h);
}

/* ---- hypervisor access to guest memory ---------------------------------- */

/* copy_to/from_guest cross pages, set A/D, and use kernel rights. */
static void t_copy_guest_ok(void)
{
    struct hw h;
    mfn_t p0 = setup_va(&h), p1 = hw_frame(&h);
    hw_map(&h, h.l4, VA + PAGE_SIZE, p1, _PAGE_RW, HW_ALL);  /* no US */
    h.v->in_kernel = false;                  /* irrelevant: kernel rights */
    char msg[64] = "hypercall arguments straddling a page boundary";
    CHECK_EQ(copy_to_guest(h.v, VA + PAGE_SIZE - 10, msg, sizeof(msg)), 0);
    CHECK(memcmp(hw_host(&h, p0, PAGE_SIZE - 10), msg, 10) == 0);
    CHECK(memcmp(hw_host(&h, p1, 0), msg + 10, sizeof(msg) - 10) == 0);
    CHECK(*hw_pte(&h, h.l4, VA + PAGE_SIZE, 1) & _PAGE_DIRTY);
    char back[64] = "";
    CHECK_EQ(copy_from_guest(h.v, back, VA + PAGE_SIZE - 10, sizeof(back)), 0);
    CHECK(memcmp(back, msg, sizeof(msg)) == 0);
    CHECK(!h.v->in_hypervisor_access);
    hw_teardown(&h);
}

/* A bad pointer is -EFAULT and no fault reaches any handler. */
static void t_copy_guest_bad_pointer(void)
{
    struct hw h;
    setup_va(&h);
    pf_use(&h, PFM_KILL);
    char buf[32];
    CHECK_EQ(copy_from_guest(h.v, buf, 0x1000, sizeof(buf)), -XEN_EFAULT);
    CHECK_EQ(copy_from_guest(h.v, buf, VA + PAGE_SIZE - 8, sizeof(buf)), -XEN_EFAULT);
    CHECK_EQ(copy_from_guest(h.v, buf, 0x8000000000000000ULL, 8), -XEN_EFAULT);
    CHECK_EQ(copy_from_guest(h.v, buf, ~0ULL - 4, 8), -XEN_EFAULT);  /* wraps */
    *hw_pte(&h, h.l4, VA, 1) &= ~_PAGE_RW;
    CHECK_EQ(copy_to_guest(h.v, VA, buf, 8), -XEN_EFAULT);
    CHECK_EQ(copy_from_guest(h.v, buf, VA, 8), 0);
    CHECK_EQ(pf.calls, 0);
    CHECK_EQ(h.v->nr_faults, 0);
    hw_teardown(&h);
}

/* mmu_translate uses kernel rights and sets A/D on the way. */
static void t_translate(void)
{
    struct hw h;
    mfn_t data = setup_va(&h);
    *hw_pte(&h, h.l4, VA, 2) &= ~_PAGE_USER;
    mfn_t mfn = INVALID_MFN;
    CHECK_EQ(mmu_translate(h.v, VA, PFEC_WRITE | PFEC_USER, &mfn), 0);
    CHECK_EQ(mfn, data);
    CHECK_HEX(*hw_pte(&h, h.l4, VA, 1) & AD, AD);
    CHECK_HEX(mmu_translate(h.v, 0x1000, 0, &mfn), F(0));  /* L4 slot 0 empty */
    hw_teardown(&h);
}

static const struct test tests[] = {
    { "a present 4K mapping translates to its frame, reporting every level", t_walk_basic },
    { "every access kind against P, RW, US, NX removed at every level gets the CPU's error code", t_walk_flag_matrix },
    { "a not-present entry below a read-only one is a not-present fault", t_walk_not_present_wins },
    { "PSE in an L4 entry and address bits above 46 are reserved-bit faults", t_walk_reserved },
    { "2 MiB and 1 GiB superpages translate; low address bits set in them are reserved", t_walk_superpages },
    { "tables, targets and roots outside RAM are reserved-bit faults", t_walk_outside_ram },
    { "a non-canonical address is a not-present fault", t_walk_noncanonical },
    { "a walk sets A on every level and D on the leaf for writes, only on success", t_walk_sets_ad },
    { "setting A/D races with another CPU's PTE updates and loses none of them", t_walk_ad_atomic },
    { "a store then loads of every width reach the frame's host memory", t_access_basic },
    { "a changed PTE stays invisible until INVLPG", t_tlb_stale_until_invlpg },
    { "a CR3 load drops non-global entries; global ones survive until a full flush", t_tlb_cr3_and_global },
    { "a remote flush request is honoured at the target's next access, not before", t_tlb_remote_request },
    { "more remote INVLPGs than the queue holds become a full flush", t_tlb_request_overflow },
    { "remote requests from 3 threads while the target runs are all honoured", t_tlb_requests_concurrent },
    { "a remote flush returns only after the target's access in flight has completed", t_ipi_waits_for_access },
    { "a batched remote flush waits for every target in flight and skips empty slots", t_ipi_many },
    { "with the late-delivery hook set, a remote flush returns while the target's access still completes through the old translation", t_ipi_late_hook },
    { "a vCPU flushing itself, even from inside its own access, does not wait", t_ipi_self_no_wait },
    { "a remote flush of a vCPU not running (never started or entry returned) does not wait", t_ipi_not_running_no_wait },
    { "no store of a looping target lands in a frame whose mapping was flushed before the store (3000 remaps)", t_ipi_stress },
    { "the same without membarrier: seq_cst fences on both sides", t_ipi_stress_fallback },
    { "a stale read-only TLB entry faults without a walk and the fault drops it", t_tlb_stale_ro_spurious_fault },
    { "a write through a clean writable TLB entry re-walks and sets D", t_tlb_clean_entry_rewalks },
    { "user mode needs US at every level; kernel mode does not", t_access_user_mode },
    { "a demand fault reaches the vector with va, error code and pending store; retry completes", t_fault_demand_map },
    { "PF_KILL and a missing fault vector kill the access", t_fault_kill },
    { "a fault vector that retries forever is cut off after 10000 retries", t_fault_retry_cap },
    { "a fault taken inside the fault vector nests and the outer access's record survives", t_fault_nested },
    { "loads and stores crossing a page are split and each half faults on its own page", t_access_cross_page },
    { "cmpxchg at every width swaps when equal and reports what it found, also across pages", t_cmpxchg },
    { "an emulated store is not re-executed and an emulated cmpxchg reports the observed value", t_fault_emulated },
    { "buffers cross pages and a faulting page is done in aligned pieces of at most 8 bytes", t_access_buffers },
    { "every 64 guest accesses reach sched_point(SP_MEM)", t_access_sched_points },
    { "copy_to/from_guest cross pages, set D and use kernel rights", t_copy_guest_ok },
    { "copy_from_guest with a bad pointer is -EFAULT and no fault reaches any handler", t_copy_guest_bad_pointer },
    { "mmu_translate uses kernel rights and sets A/D", t_translate },
};

TEST_MAIN(tests)
