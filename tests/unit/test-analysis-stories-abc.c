/*
 * tests/unit/test-analysis-stories-abc.c - the checkers of stories A, B and C
 * (analysis/check_spurious.c, analysis/check_p2m.c), fed synthetic event
 * sequences through the engine (az_feed): each fires on the racy order of a
 * story's events and stays silent on the fixed order of the same events.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/state.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define PTE(mfn, fl) ((uint64_t)(mfn) << 12 | (fl))
#define P    0x1ULL
#define RW   0x2ULL
#define US   0x4ULL
#define AD   0x60ULL
#define GNP  UINT64_MAX
#define NONE UINT64_MAX

#define CHK_A  "story-a.oos-fastpath"
#define CHK_BL "story-b.entry-under-lookup"
#define CHK_BR "story-b.foreign-rw-of-ro"
#define CHK_C  "story-c.spurious-fault"


static void setup(void)
{
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
}

static void done(void)
{
    az_end(A);
}

/* ==== story A: HVM shadow, dom1, three vCPUs ============================== */

#define G     0x2c          /* the guest L1 behind va X */
#define SL4   0x500
#define SL3   0x501
#define SL2   0x502
#define SL1   0x503
#define X     0x401000ULL   /* L4 0, L3 0, L2 2, L1 1 */

static void sh_alloc(uint64_t smfn, unsigned type, uint64_t gmfn)
{
    feed(HVE_shadow_shadow_alloc, HVF_host, U(0), HVF_dom, U(1), HVF_smfn, smfn,
         HVF_type, U(type), HVF_gmfn, gmfn, HVF_alloc, U(1), -1);
}

static void sh_write(uint64_t smfn, unsigned type, unsigned slot, uint64_t o,
                     uint64_t n)
{
    feed(HVE_shadow_entry_write, HVF_host, U(0), HVF_dom, U(1), HVF_smfn, smfn,
         HVF_type, U(type), HVF_slot, U(slot), HVF_old_e, o, HVF_new_e, n, -1);
}

static void sh_fault(unsigned vcpu, uint64_t va, unsigned pfec, unsigned path,
                     unsigned dec)
{
    feed(HVE_shadow_fault, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(vcpu),
         HVF_va, va, HVF_pfec, U(pfec), HVF_path, U(path), HVF_decision, U(dec),
         HVF_sroot, U(SL4), -1);   /* every vCPU runs on the one process's root */
}

static void sh_resync(unsigned owner, uint64_t gmfn, unsigned full)
{
    feed(HVE_shadow_resync, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(owner),
         HVF_gmfn, gmfn, HVF_reason, U(4), HVF_full, U(full), HVF_changed, U(1), -1);
}

/* Shadows of one process's tables for X; X's L1 shadow entry is gnp, and
   vCPU 1's kernel store made G out of sync (its entry for X is now present
   in the guest, the shadow still says gnp). */
static void story_a_setup(void)
{
    setup();
    sh_alloc(SL4, 4, 0x10);
    sh_alloc(SL3, 3, 0x11);
    sh_alloc(SL2, 2, 0x12);
    sh_alloc(SL1, 1, G);
    sh_write(SL4, 4, 0, 0, PTE(SL3, P | RW | US | 0x20));
    sh_write(SL3, 3, 0, 0, PTE(SL2, P | RW | US | 0x20));
    sh_write(SL2, 2, 2, 0, PTE(SL1, P | RW | US | 0x20));
    sh_write(SL1, 1, 1, 0, GNP);
    feed(HVE_shadow_unsync, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(1),
         HVF_gmfn, U(G), HVF_slot, U(1), -1);
    sh_fault(1, 0xFFFF88000002C008ULL, 0x3, 1, 8);      /* the unsync fault */
}

static void t_a_racy(void)
{
    story_a_setup();
    sh_fault(0, 0x400000, 0x6, 1, 0);   /* vCPU 0's last action, then X faults */
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));  /* vCPU 2's resync */
    sh_resync(1, G, 1);
    sh_fault(0, X, 0xF, 0, 3);          /* the fast path bounces the stale gnp */
    done();
    CHECK_EQ(nfind(CHK_A), 1);
    const struct finding *f = last(CHK_A);
    REQUIRE(f);
    CHECK_HEX(f->mfn, G);
    CHECK_EQ(f->dom, 1);
    CHECK(strstr(f->what, "va 0x401000") != NULL);
    CHECK(strstr(f->what, "vcpu 0") != NULL);
    CHECK(strstr(f->what, "gmfn 0x2c") != NULL);
    CHECK_EQ(nall(), 1);
}

static void t_a_fixed(void)
{
    /* The resync first; then vCPU 0 acts and faults: the fast path could
       only have read the re-propagated entry, so its bounce is not this. */
    story_a_setup();
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    sh_resync(1, G, 1);
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_fault(0, X, 0xF, 0, 3);
    CHECK_EQ(nfind(CHK_A), 0);
    CHECK_EQ(nall(), 0);
    /* the checker saw the shadows and the resync: vCPU 2, whose last action
       (none) is before them, bouncing X is the story */
    sh_fault(2, X, 0xF, 0, 3);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
}

static void t_a_partial_resync(void)
{
    /* full=0 (another vCPU's CR3 load): the page stays out of sync, the
       racy late check sends the fault to the slow path - no such bounce. */
    story_a_setup();
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    sh_resync(1, G, 0);
    sh_fault(0, X, 0xF, 0, 3);
    CHECK_EQ(nfind(CHK_A), 0);
    /* seen: the full resync that follows makes the same bounce the story */
    sh_resync(1, G, 1);
    sh_fault(2, X, 0xF, 0, 3);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
}

static void t_a_other_va(void)
{
    /* A genuine bounce at another address of the same L1 (slot 2 stays
       gnp): the resync of slot 1 says nothing about it. */
    story_a_setup();
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    sh_resync(1, G, 1);
    sh_fault(0, X + 0x1000, 0xF, 0, 3);
    /* ... and at X under another L2 slot (another 2 MiB): not mapped by SL1 */
    sh_fault(0, X + (1ULL << 21), 0xF, 0, 3);
    CHECK_EQ(nfind(CHK_A), 0);
    /* seen: vCPU 2 (no action since the resync began) bouncing X itself is */
    sh_fault(2, X, 0xF, 0, 3);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
    const struct finding *f = last(CHK_A);
    REQUIRE(f);
    CHECK(says(f, "va 0x401000"));
}

static void sh_fault_on(unsigned vcpu, uint64_t va, unsigned path, unsigned dec,
                        uint64_t sroot)
{
    feed(HVE_shadow_fault, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(vcpu),
         HVF_va, va, HVF_pfec, U(0xF), HVF_path, U(path), HVF_decision, U(dec),
         HVF_sroot, sroot, -1);
}

static void t_a_root_named(void)
{
    /* A second process's tables map X too (SL4b -> ... -> SL1b, whose entry
       for X is a genuine gnp).  vCPU 0 runs on SL4b: its bounce read SL1b,
       not the resynced SL1, so it is not the story; one on SL4 is. */
    story_a_setup();
    sh_alloc(0x600, 4, 0x20);
    sh_alloc(0x601, 3, 0x21);
    sh_alloc(0x602, 2, 0x22);
    sh_alloc(0x603, 1, 0x23);
    sh_write(0x600, 4, 0, 0, PTE(0x601, P | RW | US | 0x20));
    sh_write(0x601, 3, 0, 0, PTE(0x602, P | RW | US | 0x20));
    sh_write(0x602, 2, 2, 0, PTE(0x603, P | RW | US | 0x20));
    sh_write(0x603, 1, 1, 0, GNP);
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    sh_resync(1, G, 1);
    sh_fault_on(0, X, 0, 3, 0x600);
    CHECK_EQ(nfind(CHK_A), 0);
    /* vCPU 2 (no action since the resync began) on SL4: the story */
    sh_fault_on(2, X, 0, 3, SL4);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
}

static void t_a_resync_vcpu_is_not_an_action(void)
{
    /* The resync's vcpu names the slot's owner (here the faulting vCPU 0
       itself), not the vCPU resyncing: it must not close the window. */
    story_a_setup();
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    sh_resync(0, G, 1);
    sh_fault(0, X, 0xF, 0, 3);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
}

static void t_a_inject_fire_is_not_an_action(void)
{
    /* Threads mode: vCPU 0 reads the gnp entry; before its yield point
       (shadow.fastpath.after_read_sl1e) is traced, vCPU 2 re-propagates the
       entry.  The fire event names vCPU 0 but lies inside its fault: it
       must not close the window (a CI run counted 1 spurious fault in the
       guest and 0 findings). */
    story_a_setup();
    sh_fault(0, 0x400000, 0x6, 1, 0);
    sh_write(SL1, 1, 1, GNP, PTE(0x2f, P | US | 0x20));
    feed(HVE_inject_fire, HVF_point_id, U(7), HVF_binding, U(0), HVF_action,
         U(2), HVF_dom, U(1), HVF_vcpu, U(0), HVF_hit, U(1), HVF_err, U(0),
         HVF_ns, U(0), HVF_subject, NONE, -1);
    sh_resync(1, G, 1);
    sh_fault(0, X, 0xF, 0, 3);
    done();
    CHECK_EQ(nfind(CHK_A), 1);
}

/* ==== story C: PV, dom1, writable pagetables ============================= */

#define ROOT 0x2d
#define L3T  0x2e
#define L2T  0x2f
#define L1T  0x4b
#define DATA 0x51
#define VA_C 0x406000ULL     /* L4 0, L3 0, L2 2, L1 6 */

static void pw(uint64_t table, unsigned level, unsigned slot, uint64_t o,
               uint64_t n, unsigned path)
{
    feed(HVE_pt_pte_write, HVF_host, U(0), HVF_dom, U(1), HVF_table_mfn, table,
         HVF_level, U(level), HVF_slot, U(slot), HVF_old_pte, o, HVF_new_pte, n,
         HVF_path, U(path), -1);
}

static void hfault(unsigned vcpu, uint64_t va, unsigned pfec, unsigned outcome)
{
    feed(HVE_hcall_fault, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(vcpu),
         HVF_va, va, HVF_pfec, U(pfec), HVF_outcome, U(outcome), -1);
}

#define L2E  PTE(L1T, P | RW | US | 0x20)

static void story_c_setup(void)
{
    setup();
    for (unsigned v = 0; v < 2; v++)
        feed(HVE_pt_baseptr_set, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(v),
             HVF_user, U(0), HVF_old_mfn, NONE, HVF_new_mfn, U(ROOT), -1);
    pw(ROOT, 4, 0, 0, PTE(L3T, P | RW | US), 10);
    pw(L3T, 3, 0, 0, PTE(L2T, P | RW | US), 10);
    pw(L2T, 2, 2, 0, L2E, 10);
    pw(L1T, 1, 6, 0, PTE(DATA, P | RW | US | AD), 10);
    pw(L1T, 1, 7, 0, PTE(0x52, P | US | AD), 10);      /* read-only (COW) */
    /* vCPU 0 writes into L1T: Xen 3.0 unhooks it from L2T slot 2 */
    pw(L2T, 2, 2, L2E, L2E & ~P, 4);
}

static void t_c_racy(void)
{
    story_c_setup();
    /* vCPU 1 faults (not present) inside the unhooked 2 MiB; before it is
       looked at, vCPU 0 enters Xen: flush, re-hook. */
    pw(L2T, 2, 2, L2E & ~P, L2E, 6);
    hfault(1, VA_C, 0x6, 2);
    done();
    CHECK_EQ(nfind(CHK_C), 1);
    const struct finding *f = last(CHK_C);
    REQUIRE(f);
    CHECK_HEX(f->mfn, DATA);
    CHECK(strstr(f->what, "vcpu 1") != NULL);
    CHECK(strstr(f->what, "va 0x406000") != NULL);
    CHECK(strstr(f->what, "re-hook") != NULL);
    CHECK_EQ(nall(), 1);
}

static void t_c_fixed(void)
{
    /* The same fault decided while the batch is still open: a genuine
       not-present fault (the guest may see it); after the re-hook a
       fault is absorbed by the hypervisor (outcome 1, spurious). */
    story_c_setup();
    hfault(1, VA_C, 0x6, 2);
    pw(L2T, 2, 2, L2E & ~P, L2E, 6);
    hfault(1, VA_C, 0x6, 1);
    done();
    CHECK_EQ(nfind(CHK_C), 0);
    CHECK_EQ(nall(), 0);
    /* seen: the root and the re-hooked path the walk would take */
    uint64_t v = 0;
    CHECK_HEX(state_root(az_state(A), 0, 1, 1, false), ROOT);
    CHECK(state_pte(az_state(A), 0, L2T, 2, &v));
    CHECK_HEX(v, L2E);
    CHECK(state_pte(az_state(A), 0, L1T, 6, &v));
    CHECK_HEX(v, PTE(DATA, P | RW | US | AD));
}

static void t_c_rights(void)
{
    /* A write to the read-only (COW) entry is a real protection fault; a
       read of it is what would be spurious. */
    story_c_setup();
    pw(L2T, 2, 2, L2E & ~P, L2E, 6);
    hfault(1, VA_C + 0x1000, 0x7, 2);
    CHECK_EQ(nfind(CHK_C), 0);
    hfault(1, VA_C + 0x1000, 0x4, 2);
    done();
    CHECK_EQ(nfind(CHK_C), 1);
}

static void t_c_unknown(void)
{
    /* An entry the trace never wrote decides nothing (state.h S2), and a
       domain with no traced root (HVM) is not walked. */
    story_c_setup();
    pw(L2T, 2, 2, L2E & ~P, L2E, 6);
    hfault(1, VA_C + 0x2000, 0x6, 2);               /* L1 slot 8 unknown */
    feed(HVE_hcall_fault, HVF_host, U(0), HVF_dom, U(2), HVF_vcpu, U(0),
         HVF_va, VA_C, HVF_pfec, U(0x6), HVF_outcome, U(2), -1);
    CHECK_EQ(nfind(CHK_C), 0);
    /* seen: slot 8 is unknown, slot 6 known, dom2 has no root; and the
       same fault at slot 6 is the story */
    uint64_t v;
    CHECK(!state_pte(az_state(A), 0, L1T, 8, &v));
    CHECK(state_pte(az_state(A), 0, L1T, 6, &v));
    CHECK_EQ(state_root(az_state(A), 0, 2, 0, false), FINDING_NONE);
    hfault(1, VA_C, 0x6, 2);
    done();
    CHECK_EQ(nfind(CHK_C), 1);
}

/* ==== story B: dom0 maps HVM dom1's gfns by gfn ========================== */

#define GFN   0x3fd
#define F     0x410
#define L1M   0x428

static void lookup(unsigned vcpu, uint64_t gfn, uint64_t mfn, unsigned type,
                   unsigned locked, unsigned ref)
{
    feed(HVE_p2m_lookup, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(vcpu),
         HVF_gfn, gfn, HVF_mfn, mfn, HVF_type, U(type), HVF_q, U(3),
         HVF_locked, U(locked), HVF_ref, U(ref), -1);
}

static void eset(unsigned vcpu, uint64_t gfn, uint64_t om, uint64_t nm,
                 unsigned ot, unsigned nt)
{
    feed(HVE_p2m_entry_set, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(vcpu),
         HVF_gfn, gfn, HVF_old_mfn, om, HVF_new_mfn, nm, HVF_old_type, U(ot),
         HVF_new_type, U(nt), HVF_old_access, U(7), HVF_new_access, U(7),
         HVF_locked, U(1), -1);
}

static void install(uint64_t mfn, uint64_t flags)
{
    feed(HVE_pt_pte_write, HVF_host, U(0), HVF_dom, U(0), HVF_table_mfn, U(L1M),
         HVF_level, U(1), HVF_slot, U(0), HVF_old_pte, U(0),
         HVF_new_pte, PTE(mfn, flags), HVF_path, U(0), -1);
}

static void story_b_setup(void)
{
    setup();
    eset(0xFFFF, GFN, NONE, F, 1, 0);              /* populated: ram_rw */
}

static void t_b_racy(void)
{
    /* p2m.lock=none: the mapper's unlocked lookup, the pager nominates
       (ram_rw -> paging_out) and evicts (-> paged), then the install. */
    story_b_setup();
    lookup(0, GFN, F, 0, 0, 0);
    eset(1, GFN, F, F, 0, 9);
    eset(1, GFN, F, NONE, 9, 10);
    install(F, P | RW | AD);
    done();
    CHECK_EQ(nfind(CHK_BL), 1);
    const struct finding *f = last(CHK_BL);
    REQUIRE(f);
    CHECK_HEX(f->pfn, GFN);
    CHECK_HEX(f->mfn, F);
    CHECK(strstr(f->what, "gfn 0x3fd") != NULL);
    CHECK(strstr(f->what, "vcpu 1") != NULL);
    CHECK(strstr(f->what, "ram_paging_out") != NULL);
    /* the PTE is writable and the gfn is paged by then */
    CHECK_EQ(nfind(CHK_BR), 1);
}

static void t_b_fixed(void)
{
    /* p2m.lock=locked: lookup and reference in one step, the install,
       and only then (after the mapping is gone) the pager. */
    story_b_setup();
    lookup(0, GFN, F, 0, 1, 1);
    install(F, P | RW | AD);
    feed(HVE_pt_pte_write, HVF_host, U(0), HVF_dom, U(0), HVF_table_mfn, U(L1M),
         HVF_level, U(1), HVF_slot, U(0), HVF_old_pte, PTE(F, P | RW | AD),
         HVF_new_pte, U(0), HVF_path, U(0), -1);
    eset(1, GFN, F, F, 0, 9);
    eset(1, GFN, F, NONE, 9, 10);
    done();
    CHECK_EQ(nfind(CHK_BL), 0);
    CHECK_EQ(nfind(CHK_BR), 0);
    /* seen: the mapping came and went, the gfn is paged out */
    struct pfn_view pv;
    uint64_t v = 1;
    CHECK(state_pte(az_state(A), 0, L1M, 0, &v));
    CHECK_HEX(v, 0);
    REQUIRE(state_pfn(az_state(A), 0, 1, GFN, &pv));
    CHECK_EQ(pv.p2m_type, 10);
    CHECK_EQ(pv.mfn, FINDING_NONE);
}

static void t_b_put_gfn(void)
{
    /* get_gfn ... put_gfn: another vCPU's change in between is reported at
       put_gfn; the holder's own change (get_gfn; set_entry; put_gfn) is
       not. */
    story_b_setup();
    lookup(0, GFN, F, 0, 0, 0);
    eset(1, GFN, F, F, 0, 3);
    feed(HVE_p2m_put_gfn, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(0),
         HVF_gfn, U(GFN), HVF_locked, U(0), -1);
    CHECK_EQ(nfind(CHK_BL), 1);
    lookup(0, GFN, F, 3, 1, 0);
    eset(0, GFN, F, F, 3, 0);
    feed(HVE_p2m_put_gfn, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(0),
         HVF_gfn, U(GFN), HVF_locked, U(1), -1);
    done();
    CHECK_EQ(nfind(CHK_BL), 1);
}

static void t_b_never_acted(void)
{
    /* A use that is never acted upon (the install was refused: no event)
       is not a finding, at end() either (check_p2m.c B3). */
    story_b_setup();
    lookup(0, GFN, F, 0, 0, 0);
    eset(1, GFN, F, F, 0, 9);
    eset(1, GFN, F, NONE, 9, 10);
    CHECK_EQ(nfind(CHK_BL), 0);
    /* seen: the same use acted upon (the install) is the story */
    struct pfn_view pv;
    REQUIRE(state_pfn(az_state(A), 0, 1, GFN, &pv));
    CHECK_EQ(pv.p2m_type, 10);
    install(F, P | RW | AD);
    done();
    CHECK_EQ(nfind(CHK_BL), 1);
}

static void t_b_shared_frame(void)
{
    /* Sharing hands the frame to dom_cow (its count words name the new
       owner) before the p2m entry is rewritten; the install lands on it. */
    story_b_setup();
    lookup(0, GFN, F, 0, 0, 0);
    feed(HVE_mm_count_change, HVF_host, U(0), HVF_mfn, U(F), HVF_owner, U(0x7FF3),
         HVF_old_count, (1ULL << 63) | 1, HVF_new_count, (1ULL << 63) | 2,
         HVF_old_type, U(0), HVF_new_type, U(0), -1);
    install(F, P | RW | AD);
    done();
    CHECK_EQ(nfind(CHK_BL), 1);
    const struct finding *f = last(CHK_BL);
    REQUIRE(f);
    CHECK(strstr(f->what, "dom_cow") != NULL);
}

static void t_b_rw_of_ro(void)
{
    /* A writable foreign map of a ram_ro gfn; a read-only one is fine, and
       so is a writable one of ram_rw. */
    story_b_setup();
    eset(0xFFFF, 0x100, NONE, 0x300, 1, 3);
    eset(0xFFFF, 0x101, NONE, 0x301, 1, 0);
    lookup(0, 0x100, 0x300, 3, 1, 1);
    install(0x300, P | AD);
    CHECK_EQ(nfind(CHK_BR), 0);
    lookup(0, 0x101, 0x301, 0, 1, 1);
    install(0x301, P | RW | AD);
    CHECK_EQ(nfind(CHK_BR), 0);
    lookup(0, 0x100, 0x300, 3, 1, 1);
    install(0x300, P | RW | AD);
    done();
    CHECK_EQ(nfind(CHK_BR), 1);
    const struct finding *f = last(CHK_BR);
    REQUIRE(f);
    CHECK(strstr(f->what, "ram_ro") != NULL);
    CHECK_HEX(f->pfn, 0x100);
    CHECK_EQ(nfind(CHK_BL), 0);
}

static const struct test tests[] = {
    { "story A: a fast-path bounce of a gnp entry that a full resync made present while the fault was in flight is story-a.oos-fastpath, naming the vCPU, va and guest L1", t_a_racy },
    { "story A: the same events with the resync before the fault began give no finding at all", t_a_fixed },
    { "story A: a resync that leaves the page out of sync (full=0) is not the race", t_a_partial_resync },
    { "story A: bounces at other addresses of that L1, or under another L2 slot, are not reported", t_a_other_va },
    { "story A: the fault names the shadow root it ran on; another process's L1 under the same va is not the one read", t_a_root_named },
    { "story A: the resync's vcpu (the slot's owner) does not count as the faulting vCPU's action", t_a_resync_vcpu_is_not_an_action },
    { "story A: an inject fire inside the fast path's window (after_read_sl1e) does not count as the faulting vCPU's action", t_a_inject_fire_is_not_an_action },
    { "story C: a not-present fault bounced after the unhooked L2 entry was re-hooked is story-c.spurious-fault, naming the re-hook", t_c_racy },
    { "story C: bounced while the batch is still unhooked, or absorbed as spurious by the hypervisor: no finding", t_c_fixed },
    { "story C: a write to a read-only entry is a real fault, a read of it is spurious", t_c_rights },
    { "story C: entries the trace never wrote, and domains without a traced root, decide nothing", t_c_unknown },
    { "story B: the pager's nominate and evict between an unlocked lookup and the install is story-b.entry-under-lookup and a writable map of a paged gfn", t_b_racy },
    { "story B: lookup with reference, install, unmap, then the pager: no finding", t_b_fixed },
    { "story B: another vCPU's change before put_gfn is reported; the holder's own is not", t_b_put_gfn },
    { "story B: a lookup never acted upon is not a finding, even with its entry changed", t_b_never_acted },
    { "story B: the frame passing to dom_cow between lookup and install is reported", t_b_shared_frame },
    { "story B: a writable foreign map of a ram_ro gfn is story-b.foreign-rw-of-ro; read-only maps and ram_rw are fine", t_b_rw_of_ro },
};

TEST_MAIN(tests)
