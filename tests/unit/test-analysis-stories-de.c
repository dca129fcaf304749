/*
 * tests/unit/test-analysis-stories-de.c - the checkers of stories D and E
 * (analysis/check_devalidated.c, analysis/check_dirty.c), fed synthetic
 * event sequences through the engine (az_feed): each fires on the story's
 * order of events and stays silent on the fixed order of the same events.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/domctl.h>
#include <xen/errno.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/state.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"


#define CHK_DS "story-d.devalidated-sent-as-pt"
#define CHK_DR "story-d.pt-after-restore"
#define CHK_ES "story-e.dirty-after-send"
#define CHK_EF "story-e.unmarked-after-final"


static void setup(void)
{
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
}

static size_t nstory(void)
{
    return nfind(CHK_DS) + nfind(CHK_DR) + nfind(CHK_ES) + nfind(CHK_EF);
}

/* ==== story E: dom2 migrates from host 0, dom1 is its backend ============ */

#define UDOM  2
#define BDOM  1
#define RING  0x87b         /* the ring page: pfn 0x62 */
#define RPFN  0x62
#define DATA  0x85e         /* a data page: pfn 0x45 */
#define DPFN  0x45
#define WMAP  U(GNTMAP_host_map)
#define RMAP  U(GNTMAP_host_map | GNTMAP_readonly)

static void gmap(bool map, uint32_t ref, uint64_t mfn, uint64_t flags)
{
    feed(map ? HVE_grant_map : HVE_grant_unmap, HVF_host, U(0), HVF_ldom, U(BDOM),
         HVF_rdom, U(UDOM), HVF_ref, U(ref), HVF_mfn, mfn, HVF_flags, flags,
         HVF_handle, U(ref), HVF_addr, U(0xffffc90000600000), HVF_status,
         U(GNTST_okay), -1);
}

static void gmark(uint32_t ref, uint64_t mfn)
{
    feed(HVE_grant_mark_dirty, HVF_host, U(0), HVF_rdom, U(UDOM), HVF_ref, U(ref),
         HVF_mfn, mfn, HVF_why, U(0), -1);
}

static void ldmark(uint64_t pfn, uint64_t mfn, unsigned source)
{
    feed(HVE_dirty_mark, HVF_host, U(0), HVF_dom, U(UDOM), HVF_pfn, pfn,
         HVF_mfn, mfn, HVF_already, U(0), HVF_source, U(source), -1);
}

static void round_begin(unsigned iter, unsigned final)
{
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(iter),
         HVF_final, U(final), HVF_to_send, U(2), -1);
}

static void clean(unsigned final)
{
    feed(HVE_dirty_clean, HVF_host, U(0), HVF_dom, U(UDOM), HVF_final, U(final),
         HVF_dirty_count, U(1), HVF_fault_count, U(0), HVF_pages, U(4096), -1);
}

static void send(unsigned iter, uint64_t pfn, uint64_t mfn)
{
    feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(iter),
         HVF_pfn, pfn, HVF_mfn, mfn, HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB),
         HVF_normalised, U(0), HVF_hash, U(0x1234) + pfn, -1);
}

static void enable(void)
{
    feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U(0), -1);
}

static void save_done(int rc)
{
    feed(HVE_mig_save_done, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U((int64_t)rc),
         HVF_pages, U(10), HVF_bytes, U(40960), -1);
}

/* Live rounds 0 and 1 sending both pages, the FINAL clean, round 2 (final)
   sending the ones asked for, the verify pass (round 3) sending both. */
static void migrate(bool ring_in_final, bool data_in_final)
{
    enable();
    round_begin(0, 0);
    send(0, RPFN, RING);
    send(0, DPFN, DATA);
    clean(0);
    round_begin(1, 0);
    send(1, RPFN, RING);
    send(1, DPFN, DATA);
    clean(1);
    round_begin(2, 1);
    if (ring_in_final)
        send(2, RPFN, RING);
    if (data_in_final)
        send(2, DPFN, DATA);
    round_begin(3, 2);
    send(3, RPFN, RING);
    send(3, DPFN, DATA);
}

static void t_e_ring_open_across(void)
{
    setup();
    gmap(true, 8, RING, WMAP);          /* the backend maps the ring at connect */
    migrate(false, false);
    save_done(0);
    gmark(8, RING);                     /* teardown, after the save */
    gmap(false, 8, RING, WMAP);
    az_end(A);
    CHECK_EQ(nfind(CHK_ES), 1);
    const struct finding *f = last(CHK_ES);
    REQUIRE(f);
    CHECK_HEX(f->pfn, RPFN);
    CHECK_HEX(f->mfn, RING);
    CHECK_EQ(f->dom, UDOM);
    CHECK_EQ(f->host, 0);
    CHECK(says(f, "last sent in round 1"));
    CHECK(says(f, "dom1's grant mapping (ref 8)"));
    CHECK(says(f, "open across that send"));
    CHECK(says(f, "after the FINAL clean"));
    CHECK(f->nhistory > 0);
    CHECK_EQ(nfind(CHK_EF), 1);
    f = last(CHK_EF);
    REQUIRE(f);
    CHECK_HEX(f->pfn, RPFN);
    CHECK(says(f, "dom1's grant mapping (ref 8)"));
    CHECK_EQ(nfind(CHK_DS) + nfind(CHK_DR), 0);
    az_free(A);
}

static void t_e_quiesced(void)
{
    setup();
    gmap(true, 8, RING, WMAP);
    enable();
    round_begin(0, 0);
    send(0, RPFN, RING);
    send(0, DPFN, DATA);
    gmap(true, 29, DATA, WMAP);         /* a read in flight across round 1 */
    clean(0);
    round_begin(1, 0);
    send(1, RPFN, RING);
    send(1, DPFN, DATA);
    /* quiesce: the backend completes, unmaps everything, then the FINAL clean */
    gmark(29, DATA);
    ldmark(DPFN, DATA, 2);
    gmap(false, 29, DATA, WMAP);
    gmark(8, RING);
    ldmark(RPFN, RING, 2);
    gmap(false, 8, RING, WMAP);
    clean(1);
    round_begin(2, 1);
    send(2, RPFN, RING);
    send(2, DPFN, DATA);
    round_begin(3, 2);
    send(3, RPFN, RING);
    send(3, DPFN, DATA);
    save_done(0);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    CHECK_EQ(findings_count(az_findings(A)), 0);
    /* the events were seen: both pages sent in the verify pass, the
       marks made, the mappings gone */
    struct pfn_view pv;
    struct frame_view fv;
    REQUIRE(state_pfn(az_state(A), 0, UDOM, DPFN, &pv));
    CHECK_EQ(pv.last_sent_iter, 3);
    CHECK(pv.last_mark_ts != 0);
    REQUIRE(state_frame(az_state(A), 0, RING, &fv));
    CHECK_EQ(fv.grant_maps, 0);
    az_free(A);
}

static void t_e_data_after_final(void)
{
    setup();
    enable();
    round_begin(0, 0);
    send(0, DPFN, DATA);
    clean(0);
    round_begin(1, 0);
    send(1, DPFN, DATA);
    clean(1);                           /* FINAL */
    gmap(true, 29, DATA, WMAP);         /* taken from the ring after the suspend */
    round_begin(2, 1);
    round_begin(3, 2);
    send(3, DPFN, DATA);                /* the verify pass */
    gmark(29, DATA);
    ldmark(DPFN, DATA, 2);
    gmap(false, 29, DATA, WMAP);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(CHK_ES), 1);
    const struct finding *f = last(CHK_ES);
    REQUIRE(f);
    CHECK_HEX(f->pfn, DPFN);
    CHECK(says(f, "last sent in round 1"));
    CHECK(says(f, "dom1's grant mapping (ref 29), mapped writable at"));
    CHECK(says(f, "marked dirty only at"));
    CHECK_EQ(nfind(CHK_EF), 1);
    f = last(CHK_EF);
    REQUIRE(f);
    CHECK_HEX(f->pfn, DPFN);
    CHECK(says(f, "Xen's grant mark_dirty"));
    CHECK(says(f, "(last sent in round 1"));
    az_free(A);
}

static void t_e_readonly(void)
{
    setup();
    gmap(true, 8, RING, RMAP);          /* a read-only mapping writes nothing */
    migrate(false, false);
    struct frame_view fv;
    REQUIRE(state_frame(az_state(A), 0, RING, &fv));
    CHECK_EQ(fv.grant_maps, 1);         /* seen, and read-only */
    CHECK_EQ(fv.grant_maps_rw, 0);
    gmap(false, 8, RING, RMAP);
    save_done(0);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    struct pfn_view pv;
    REQUIRE(state_pfn(az_state(A), 0, UDOM, RPFN, &pv));
    CHECK_EQ(pv.last_sent_iter, 3);
    az_free(A);
}

static void t_e_failed_save(void)
{
    setup();
    gmap(true, 8, RING, WMAP);
    migrate(false, false);
    save_done(-XEN_ERANGE);             /* the guest resumes on the source */
    struct frame_view fv;
    REQUIRE(state_frame(az_state(A), 0, RING, &fv));
    CHECK_EQ(fv.grant_maps_rw, 1);      /* the writable mapping was seen */
    gmark(8, RING);
    gmap(false, 8, RING, WMAP);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    struct pfn_view pv;
    REQUIRE(state_pfn(az_state(A), 0, UDOM, RPFN, &pv));
    CHECK_EQ(pv.last_sent_iter, 3);
    az_free(A);
}

static void t_e_no_final(void)
{
    setup();
    gmap(true, 8, RING, WMAP);
    enable();
    round_begin(0, 0);
    send(0, RPFN, RING);
    az_end(A);                          /* the trace ends in a live round */
    CHECK_EQ(nstory(), 0);
    /* seen: the page was sent in round 0 and is still mapped writable */
    struct pfn_view pv;
    struct frame_view fv;
    REQUIRE(state_pfn(az_state(A), 0, UDOM, RPFN, &pv));
    CHECK_EQ(pv.last_sent_iter, 0);
    REQUIRE(state_frame(az_state(A), 0, RING, &fv));
    CHECK_EQ(fv.grant_maps_rw, 1);
    az_free(A);
}

static void t_e_marked_then_sent(void)
{
    setup();
    enable();
    round_begin(0, 0);
    send(0, DPFN, DATA);
    ldmark(DPFN, DATA, 0);              /* a guest write after the send... */
    clean(0);
    round_begin(1, 0);
    send(1, DPFN, DATA);                /* ...sent again: nothing stale */
    clean(1);
    round_begin(2, 1);
    round_begin(3, 2);
    save_done(0);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    struct pfn_view pv;
    REQUIRE(state_pfn(az_state(A), 0, UDOM, DPFN, &pv));
    CHECK_EQ(pv.last_sent_iter, 1);     /* the resend was seen... */
    CHECK(pv.last_mark_ts != 0);        /* ...and so was the mark */
    CHECK(pv.last_mark_ts < pv.last_sent_ts);
    az_free(A);
}

static void t_e_marked_never_sent(void)
{
    setup();
    enable();
    round_begin(0, 0);
    send(0, DPFN, DATA);
    clean(0);
    round_begin(1, 0);
    ldmark(DPFN, DATA, 1);              /* marked before the FINAL clean... */
    clean(1);
    round_begin(2, 1);                  /* ...but the final round skipped it */
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(CHK_ES), 1);
    const struct finding *f = last(CHK_ES);
    REQUIRE(f);
    CHECK_HEX(f->pfn, DPFN);
    CHECK(says(f, "log-dirty mark, source 1"));
    CHECK(says(f, "yet never sent again"));
    CHECK_EQ(nfind(CHK_EF), 0);
    az_free(A);
}

static void t_e_only(void)
{
    const char *only[] = { CHK_EF, NULL };
    A = az_new(&(struct az_options){ .only = only });
    REQUIRE(A);
    SEQ = 0;
    gmap(true, 8, RING, WMAP);
    migrate(false, false);
    save_done(0);
    gmark(8, RING);
    gmap(false, 8, RING, WMAP);
    az_end(A);
    CHECK_EQ(nfind(CHK_ES), 0);
    CHECK_EQ(nfind(CHK_EF), 1);
    az_free(A);
}

/* ==== story D: dom1 migrates from host 0 to host 1 ======================= */

#define DDOM   1
#define PGT_L1 (U(1) << 61)
#define PGT_VALIDATED (U(1) << 58)
#define PGC_ALLOC (U(1) << 63)
#define L1F    0x331        /* the quicklist L1 on host 0 */
#define L1P    0x46
#define DSTF   0x777        /* where it lands on host 1 */

static void typechg(uint8_t host, uint64_t mfn, uint64_t old_type, uint64_t new_type)
{
    feed(HVE_mm_type_change, HVF_host, U(host), HVF_mfn, mfn, HVF_owner, U(DDOM),
         HVF_old_count, PGC_ALLOC | 2, HVF_new_count, PGC_ALLOC | 2,
         HVF_old_type, old_type, HVF_new_type, new_type, -1);
}

/* An L1 validated (count 1), then unhooked: devalidated. */
static void devalidate(uint8_t host, uint64_t mfn)
{
    typechg(host, mfn, 0, PGT_L1 | PGT_VALIDATED | 1);
    typechg(host, mfn, PGT_L1 | PGT_VALIDATED | 1, PGT_L1);
}

static void d_round(unsigned iter, unsigned final)
{
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(DDOM), HVF_iter, U(iter),
         HVF_final, U(final), HVF_to_send, U(1), -1);
}

static void d_send(unsigned iter, uint64_t pfn, uint64_t mfn, uint32_t type, bool norm)
{
    feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(DDOM), HVF_iter, U(iter),
         HVF_pfn, pfn, HVF_mfn, mfn, HVF_type, U(type), HVF_normalised, U(norm),
         HVF_hash, U(0xabc), -1);
}

static void d_recv(uint64_t pfn, uint64_t mfn, uint32_t type)
{
    feed(HVE_mig_recv_page, HVF_host, U(1), HVF_dom, U(DDOM), HVF_pfn, pfn,
         HVF_mfn, mfn, HVF_type, U(type), HVF_hash, U(0xabc), HVF_verify, U(0), -1);
}

static void t_d_sent_as_pt(void)
{
    setup();
    devalidate(0, L1F);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_L1TAB, true);
    d_round(1, 0);
    d_send(1, L1P, L1F, XEN_DOMCTL_PFINFO_L1TAB, true);   /* once per pfn */
    az_end(A);
    CHECK_EQ(nfind(CHK_DS), 1);
    const struct finding *f = last(CHK_DS);
    REQUIRE(f);
    CHECK_HEX(f->pfn, L1P);
    CHECK_HEX(f->mfn, L1F);
    CHECK_EQ(f->dom, DDOM);
    CHECK(says(f, "as an L1 page table"));
    CHECK(says(f, "type count 0, not validated, not pinned"));
    CHECK(says(f, "round 0"));
    az_free(A);
}

static void t_d_notab(void)
{
    setup();
    devalidate(0, L1F);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_NOTAB, false);  /* Xen since 0a87e677f4 */
    az_end(A);
    CHECK_EQ(nstory(), 0);
    /* seen: the frame is a devalidated L1 and the pfn was sent in round 0 */
    struct frame_view fv;
    struct pfn_view pv;
    REQUIRE(state_frame(az_state(A), 0, L1F, &fv));
    CHECK_HEX(fv.type_info, PGT_L1);
    REQUIRE(state_pfn(az_state(A), 0, DDOM, L1P, &pv));
    CHECK_EQ(pv.last_sent_iter, 0);
    az_free(A);
}

static void t_d_valid_pt(void)
{
    setup();
    typechg(0, L1F, 0, PGT_L1 | PGT_VALIDATED | 1);      /* a live L1 */
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_L1TAB, true);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    struct frame_view fv;
    struct pfn_view pv;
    REQUIRE(state_frame(az_state(A), 0, L1F, &fv));
    CHECK_HEX(fv.type_info, PGT_L1 | PGT_VALIDATED | 1);
    REQUIRE(state_pfn(az_state(A), 0, DDOM, L1P, &pv));
    CHECK_EQ(pv.last_sent_iter, 0);
    az_free(A);
}

static void t_d_mid_round(void)
{
    setup();
    typechg(0, L1F, 0, PGT_L1 | PGT_VALIDATED | 1);
    d_round(0, 0);                  /* sampled valid, devalidated before the send */
    typechg(0, L1F, PGT_L1 | PGT_VALIDATED | 1, PGT_L1);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_L1TAB, true);
    az_end(A);
    CHECK_EQ(nfind(CHK_DS), 0);
    struct frame_view fv;
    struct pfn_view pv;
    REQUIRE(state_frame(az_state(A), 0, L1F, &fv));
    CHECK_HEX(fv.type_info, PGT_L1);    /* the devalidation was seen */
    REQUIRE(state_pfn(az_state(A), 0, DDOM, L1P, &pv));
    CHECK_EQ(pv.last_sent_iter, 0);
    az_free(A);
}

static void t_d_restore_not_normalised(void)
{
    setup();
    typechg(0, L1F, 0, PGT_L1 | PGT_VALIDATED | 1);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_L1TAB, false);  /* not normalised */
    d_recv(L1P, DSTF, XEN_DOMCTL_PFINFO_L1TAB);
    az_end(A);
    CHECK_EQ(nfind(CHK_DR), 1);
    const struct finding *f = last(CHK_DR);
    REQUIRE(f);
    CHECK_HEX(f->pfn, L1P);
    CHECK_HEX(f->mfn, DSTF);
    CHECK_EQ(f->host, 1);
    CHECK(says(f, "was not normalised"));
    az_free(A);
}

static void t_d_restore_raw_validated(void)
{
    setup();
    devalidate(0, L1F);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_NOTAB, false);  /* raw: stale entries */
    d_recv(L1P, DSTF, XEN_DOMCTL_PFINFO_NOTAB);
    feed(HVE_mm_validate_begin, HVF_host, U(1), HVF_mfn, U(DSTF), HVF_owner, U(DDOM),
         HVF_type, PGT_L1, HVF_nr_validated, U(0), -1);
    az_end(A);
    CHECK_EQ(nfind(CHK_DR), 1);
    const struct finding *f = last(CHK_DR);
    REQUIRE(f);
    CHECK_HEX(f->pfn, L1P);
    CHECK(says(f, "untranslated"));
    CHECK(says(f, "no entry of it was rewritten"));
    CHECK_EQ(nfind(CHK_DS), 0);
    az_free(A);
}

static void t_d_restore_rewritten(void)
{
    setup();
    devalidate(0, L1F);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_NOTAB, false);
    d_recv(L1P, DSTF, XEN_DOMCTL_PFINFO_NOTAB);
    /* the guest rewrites the table's entries before reusing it (raw writes) */
    feed(HVE_pt_pte_write, HVF_host, U(1), HVF_dom, U(DDOM), HVF_table_mfn, U(DSTF),
         HVF_level, U(1), HVF_slot, U(0), HVF_old_pte, U(0x331067),
         HVF_new_pte, U(0x900067), HVF_path, U(1), -1);
    feed(HVE_mm_validate_begin, HVF_host, U(1), HVF_mfn, U(DSTF), HVF_owner, U(DDOM),
         HVF_type, PGT_L1, HVF_nr_validated, U(0), -1);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    az_free(A);
}

static void t_d_restore_mapped_writable(void)
{
    /* The guest maps the arrived page writable (a fresh table it fills
       with plain stores, no event), then validates it: not the story. */
    setup();
    devalidate(0, L1F);
    d_round(0, 0);
    d_send(0, L1P, L1F, XEN_DOMCTL_PFINFO_NOTAB, false);
    d_recv(L1P, DSTF, XEN_DOMCTL_PFINFO_NOTAB);
    typechg(1, DSTF, 0, (U(7) << 61) | PGT_VALIDATED | 1);     /* writable, 1 */
    typechg(1, DSTF, (U(7) << 61) | PGT_VALIDATED | 1, (U(7) << 61) | PGT_VALIDATED);
    typechg(1, DSTF, (U(7) << 61) | PGT_VALIDATED, PGT_L1 | 1);
    feed(HVE_mm_validate_begin, HVF_host, U(1), HVF_mfn, U(DSTF), HVF_owner, U(DDOM),
         HVF_type, PGT_L1 | 1, HVF_nr_validated, U(0), -1);
    az_end(A);
    CHECK_EQ(nstory(), 0);
    az_free(A);
}

static const struct test tests[] = {
    { "story E: the ring, mapped writable by the backend across its last send and unmapped after the save, is story-e.dirty-after-send (pfn, round, dom1's ref) and story-e.unmarked-after-final", t_e_ring_open_across },
    { "story E: a backend that completes and unmaps before the FINAL clean (quiesce) gives no finding from any checker", t_e_quiesced },
    { "story E: a data page mapped writable after the suspend and unmapped after the FINAL clean names the mapping and the late mark", t_e_data_after_final },
    { "story E: a read-only grant mapping across the last send is no write", t_e_readonly },
    { "story E: a save that failed (the guest resumed on the source) reports nothing", t_e_failed_save },
    { "story E: a trace that ends before the final round reports nothing", t_e_no_final },
    { "story E: a page marked dirty after a send and sent again is not stale", t_e_marked_then_sent },
    { "story E: a page marked before the FINAL clean that the final round did not send is stale (the mark is named)", t_e_marked_never_sent },
    { "story E: --only story-e.unmarked-after-final runs that checker alone", t_e_only },
    { "story D: a devalidated L1 sent as L1TAB (normalised) is story-d.devalidated-sent-as-pt, once per pfn", t_d_sent_as_pt },
    { "story D: the same frame sent NOTAB (the fix) gives no finding", t_d_notab },
    { "story D: a validated L1 sent as L1TAB gives no finding", t_d_valid_pt },
    { "story D: a frame devalidated after its round began (sampled valid) is not reported", t_d_mid_round },
    { "story D: a page received as L1TAB whose send was not normalised is story-d.pt-after-restore", t_d_restore_not_normalised },
    { "story D: a devalidated L1 sent raw and validated on the destination without a rewrite is story-d.pt-after-restore", t_d_restore_raw_validated },
    { "story D: the arrived page mapped writable (filled with unseen stores) before it is validated is not the story", t_d_restore_mapped_writable },
    { "story D: the same page rewritten entry by entry on the destination before validation gives no finding", t_d_restore_rewritten },
};

TEST_MAIN(tests)
