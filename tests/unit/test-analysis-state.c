/*
 * tests/unit/test-analysis-state.c - the rebuilt state (analysis/state.c)
 * and the section-11 invariant checkers (analysis/check_inv.c), driven by
 * synthetic event sequences through the engine (az_feed), as a trace would.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/state.h"
#include "analysis/state_private.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

/* hvlab's page words (core/mm/page.h), as a trace shows them */
#define L1        (1ULL << 61)
#define L2        (2ULL << 61)
#define SHARED    (6ULL << 61)
#define WRITABLE  (7ULL << 61)
#define PINNED    (1ULL << 59)
#define VALID     (1ULL << 58)
#define PARTIAL   (1ULL << 56)
#define ALLOC     (1ULL << 63)
#define PTE(mfn, fl) ((uint64_t)(mfn) << 12 | (fl))
#define P   0x1ULL
#define RW  0x2ULL
#define INVALID UINT64_MAX


static void setup(unsigned hlen)
{
    A = az_new(&(struct az_options){ .history_len = hlen });
    REQUIRE(A);
    SEQ = 0;
}

static const struct state *S(void)
{
    return az_state(A);
}

/* The counters beside the tables agree with the tables (st_audit). */
static void audit(void)
{
    char err[256] = "";
    int rc = st_audit(S(), err, sizeof err);
    if (rc)
        fprintf(stderr, "  audit: %s\n", err);
    CHECK_EQ(rc, 0);
}


static void cc(unsigned host, uint64_t mfn, unsigned owner, uint64_t o, uint64_t n)
{
    feed(HVE_mm_count_change, HVF_host, U(host), HVF_mfn, mfn, HVF_owner,
         U(owner), HVF_old_count, o, HVF_new_count, n, -1);
}

static void tc(unsigned host, uint64_t mfn, unsigned owner, uint64_t o, uint64_t n)
{
    feed(HVE_mm_type_change, HVF_host, U(host), HVF_mfn, mfn, HVF_owner,
         U(owner), HVF_old_type, o, HVF_new_type, n, -1);
}

static void pw(uint64_t table, unsigned level, unsigned slot, uint64_t o,
               uint64_t n, unsigned path)
{
    feed(HVE_pt_pte_write, HVF_host, U(0), HVF_dom, U(1), HVF_table_mfn, table,
         HVF_level, U(level), HVF_slot, U(slot), HVF_old_pte, o, HVF_new_pte, n,
         HVF_path, U(path), -1);
}

/* (de)validate_begin (nr: nr_validated) or _end (nr: rc) */
static void mark(unsigned host, unsigned dom, uint64_t kind, uint64_t mfn,
                 uint64_t nr)
{
    bool end = kind == HVE_mm_validate_end || kind == HVE_mm_devalidate_end;
    feed((enum hv_event_id)kind, HVF_host, U(host), HVF_mfn, mfn, HVF_owner,
         U(dom), HVF_type, U(0), end ? HVF_rc : HVF_nr_validated, nr, -1);
}

static struct frame_view fv(unsigned host, uint64_t mfn)
{
    struct frame_view v;
    state_frame(S(), (uint8_t)host, mfn, &v);
    return v;
}

/* A validated L1 table 0x100 owned by dom1. */
static void live_l1(uint64_t table)
{
    tc(0, table, 1, 0, L1 | 1);
    tc(0, table, 1, L1 | 1, L1 | VALID | 1);
}

/* ---- the rebuild ------------------------------------------------------------- */

static void t_count_type(void)
{
    setup(0);
    CHECK(!fv(0, 0x10).known);
    cc(0, 0x10, 1, 0, ALLOC | 1);
    cc(0, 0x10, 1, ALLOC | 1, ALLOC | 2);
    tc(0, 0x10, 1, 0, WRITABLE | 1);
    tc(0, 0x10, 1, WRITABLE | 1, WRITABLE | VALID | 1);
    struct frame_view v = fv(0, 0x10);
    CHECK(v.known);
    CHECK_EQ(v.owner, 1);
    CHECK_HEX(v.count_info, ALLOC | 2);
    CHECK_HEX(v.type_info, WRITABLE | VALID | 1);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
}

static void t_pin_m2p_free(void)
{
    setup(0);
    tc(0, 0x20, 1, 0, L1 | VALID | 1);
    /* frame.c: the type_change first, then the pin with the same words */
    tc(0, 0x20, 1, L1 | VALID | 1, L1 | VALID | PINNED | 1);
    feed(HVE_mm_pin, HVF_host, U(0), HVF_mfn, U(0x20), HVF_owner, U(1),
         HVF_old_type, L1 | VALID | 1, HVF_new_type, L1 | VALID | PINNED | 1, -1);
    feed(HVE_mm_m2p_set, HVF_host, U(0), HVF_mfn, U(0x20), HVF_old_pfn, INVALID,
         HVF_new_pfn, U(0x7), -1);
    CHECK_HEX(fv(0, 0x20).type_info, L1 | VALID | PINNED | 1);
    CHECK_HEX(fv(0, 0x20).pfn, 0x7);
    feed(HVE_mm_page_free, HVF_host, U(0), HVF_mfn, U(0x20), HVF_owner, U(1),
         HVF_old_type, U(0), HVF_tot_pages, U(3), -1);
    CHECK_HEX(fv(0, 0x20).owner, 0x7FF4);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
}

static void t_s1_one_finding(void)
{
    setup(0);
    cc(0, 0x30, 2, ALLOC | 1, ALLOC | 2);
    /* 2 -> 3 is missing */
    cc(0, 0x30, 2, ALLOC | 3, ALLOC | 4);
    cc(0, 0x30, 2, ALLOC | 4, ALLOC | 5);
    cc(0, 0x30, 2, ALLOC | 5, ALLOC | 4);
    cc(0, 0x30, 2, ALLOC | 4, ALLOC | 3);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    const struct finding *f = last("rebuild.untraced");
    REQUIRE(f);
    CHECK_HEX(f->mfn, 0x30);
    CHECK_EQ(f->dom, 2);
    CHECK(strstr(f->what, "0x8000000000000002"));     /* rebuilt */
    CHECK(strstr(f->what, "0x8000000000000003"));     /* the trace's old */
    CHECK(strstr(f->what, "count_info"));
    CHECK(f->nhistory > 0);
    CHECK_HEX(fv(0, 0x30).count_info, ALLOC | 3);
}

static void t_s2_first_sight(void)
{
    setup(0);
    /* whatever the first event says came before is taken */
    cc(0, 0x31, 1, ALLOC | 7, ALLOC | 8);
    tc(0, 0x31, 1, L2 | VALID | 9, L2 | VALID | 8);
    pw(0x40, 1, 3, PTE(0x55, P), PTE(0x56, P), 0);
    feed(HVE_pt_baseptr_set, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(0),
         HVF_user, U(0), HVF_old_mfn, U(0x99), HVF_new_mfn, U(0x31), -1);
    az_end(A);
    CHECK_EQ(findings_count(az_findings(A)), 0);
    CHECK_HEX(state_root(S(), 0, 1, 0, false), 0x31);
    CHECK_HEX(state_root(S(), 0, 1, 0, true), FINDING_NONE);
}

static void t_reorder_tolerated(void)
{
    setup(0);
    cc(0, 0x32, 1, ALLOC | 1, ALLOC | 2);
    /* two vCPUs: 2 -> 3 and 3 -> 4, traced in the opposite order */
    cc(0, 0x32, 1, ALLOC | 3, ALLOC | 4);
    cc(0, 0x32, 1, ALLOC | 2, ALLOC | 3);
    CHECK_HEX(fv(0, 0x32).count_info, ALLOC | 4);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
}

static void t_pending_settled_at_end(void)
{
    setup(0);
    tc(0, 0x33, 1, 0, WRITABLE | 1);
    tc(0, 0x33, 1, WRITABLE | 5, WRITABLE | 6);      /* never explained */
    CHECK_EQ(nfind("rebuild.untraced"), 0);          /* a debt (P3) */
    CHECK_HEX(fv(0, 0x33).type_info, WRITABLE | 6);  /* the state follows */
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    REQUIRE(last("rebuild.untraced"));
    CHECK_EQ(last("rebuild.untraced")->seq, 1);      /* the revealing event */
}

static void t_late_writer(void)
{
    /* writer A's 1 -> 2 is traced after B's and C's transitions */
    setup(0);
    tc(0, 0x34, 1, L1 | VALID | 1, L1 | VALID | 1);
    tc(0, 0x34, 1, L1 | VALID | 2, L1 | VALID | 3);
    tc(0, 0x34, 1, L1 | VALID | 3, L1 | VALID | 2);
    tc(0, 0x34, 1, L1 | VALID | 2, L1 | VALID | 3);
    tc(0, 0x34, 1, L1 | VALID | 1, L1 | VALID | 2);  /* the late one */
    CHECK_HEX(fv(0, 0x34).type_info, L1 | VALID | 3);
    /* two late ones in a row */
    cc(0, 0x35, 1, 1, 2);
    cc(0, 0x35, 1, 4, 5);
    cc(0, 0x35, 1, 2, 3);
    cc(0, 0x35, 1, 3, 4);
    CHECK_HEX(fv(0, 0x35).count_info, 5);
    /* the late one arrives when the word is back where it started */
    cc(0, 0x36, 1, 1, 1);
    cc(0, 0x36, 1, 2, 1);
    cc(0, 0x36, 1, 1, 2);           /* late: applied, then ... */
    cc(0, 0x36, 1, 1, 2);           /* ... the inverse jump cancels */
    /* W4: B's 3 -> 2 is traced before A's 2 -> 3, then the frame's last
       refs go (a clean HVM migration's trace did this) */
    cc(0, 0x37, 1, 2, 2);
    cc(0, 0x37, 1, 3, 2);           /* B */
    cc(0, 0x37, 1, 2, 3);           /* A, late: the step B's jump needed */
    cc(0, 0x37, 1, 2, 1);
    cc(0, 0x37, 1, 1, 0);
    CHECK_HEX(fv(0, 0x37).count_info, 0);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
}

static void t_pte_maps(void)
{
    setup(0);
    live_l1(0x100);
    pw(0x100, 1, 0, 0, PTE(0x200, P | RW), 0);
    pw(0x100, 1, 1, 0, PTE(0x200, P), 0);
    pw(0x100, 1, 2, 0, PTE(0x201, P), 0);
    CHECK_EQ(fv(0, 0x200).maps_rw, 1);
    CHECK_EQ(fv(0, 0x200).maps_ro, 1);
    CHECK_EQ(fv(0, 0x201).maps_ro, 1);
    uint64_t v = 0;
    CHECK(state_pte(S(), 0, 0x100, 2, &v));
    CHECK_HEX(v, PTE(0x201, P));
    CHECK(!state_pte(S(), 0, 0x100, 3, &v));
    /* the MMU set A/D without an event: not a gap */
    pw(0x100, 1, 0, PTE(0x200, P | RW | 0x60), PTE(0x202, P | RW), 0);
    CHECK_EQ(fv(0, 0x200).maps_rw, 0);
    CHECK_EQ(fv(0, 0x202).maps_rw, 1);
    /* devalidation takes the table's entries out of the counts */
    mark(0, 1, HVE_mm_devalidate_begin, 0x100, 512);
    CHECK_EQ(fv(0, 0x202).maps_rw, 0);
    CHECK_EQ(fv(0, 0x200).maps_ro, 0);
    mark(0, 1, HVE_mm_devalidate_end, 0x100, 0);
    tc(0, 0x100, 1, L1 | VALID | 1, L1);
    CHECK_EQ(fv(0, 0x202).maps_rw, 0);
    /* validated again: counted again */
    tc(0, 0x100, 1, L1, L1 | 1);
    tc(0, 0x100, 1, L1 | 1, L1 | VALID | 1);
    CHECK_EQ(fv(0, 0x202).maps_rw, 1);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
    /* an unseen write to the slot */
    pw(0x100, 1, 2, PTE(0x777, P), 0, 0);
    CHECK_EQ(fv(0, 0x201).maps_ro, 0);      /* the state follows the trace */
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    const struct finding *f = last("rebuild.untraced");
    REQUIRE(f);
    CHECK(strstr(f->what, "0x201001"));
    CHECK(strstr(f->what, "0x777001"));
    CHECK(strstr(f->what, "slot 2"));
    audit();
}

static void t_pte_flush_path_unchecked(void)
{
    setup(0);
    live_l1(0x100);
    pw(0x100, 1, 4, 0, PTE(0x300, P), 0);
    /* unhook-mode flush: the guest's native store is the old value */
    pw(0x100, 1, 4, PTE(0x301, P), PTE(0x300, P), 5);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
}

static void t_writable_forgets_entries(void)
{
    setup(0);
    tc(0, 0x110, 1, 0, L1 | 1);
    pw(0x110, 1, 0, 0, PTE(0x200, P), 10);
    tc(0, 0x110, 1, L1 | 1, 0);
    tc(0, 0x110, 1, 0, WRITABLE | 1);       /* guest stores unseen now */
    uint64_t v;
    CHECK(!state_pte(S(), 0, 0x110, 0, &v));
    pw(0x110, 1, 0, PTE(0x999, P), 0, 1);    /* S2 again: no finding */
    CHECK_EQ(nfind("rebuild.untraced"), 0);
    audit();
}

static void t_roots_pins_p2m_m2p(void)
{
    setup(0);
    feed(HVE_pt_baseptr_set, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(1),
         HVF_user, U(1), HVF_old_mfn, INVALID, HVF_new_mfn, U(0x50), -1);
    feed(HVE_pt_baseptr_set, HVF_host, U(0), HVF_dom, U(1), HVF_vcpu, U(1),
         HVF_user, U(1), HVF_old_mfn, U(0x51), HVF_new_mfn, U(0x52), -1);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    CHECK_HEX(state_root(S(), 0, 1, 1, true), 0x52);

    setup(0);
    feed(HVE_grant_pin_change, HVF_host, U(0), HVF_rdom, U(1), HVF_ldom, U(2),
         HVF_ref, U(8), HVF_mfn, U(0x60), HVF_kind, U(0), HVF_before, U(0),
         HVF_after, U(1), -1);
    feed(HVE_grant_pin_change, HVF_host, U(0), HVF_rdom, U(1), HVF_ldom, U(2),
         HVF_ref, U(8), HVF_mfn, U(0x60), HVF_kind, U(0), HVF_before, U(2),
         HVF_after, U(1), -1);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    REQUIRE(last("rebuild.untraced"));
    CHECK(strstr(last("rebuild.untraced")->what, "grant ref 8"));

    setup(0);
    feed(HVE_p2m_entry_set, HVF_host, U(0), HVF_dom, U(3), HVF_vcpu, U(0),
         HVF_gfn, U(0x10), HVF_old_mfn, INVALID, HVF_new_mfn, U(0x70),
         HVF_old_type, U(1), HVF_new_type, U(0), HVF_locked, U(1), -1);
    struct pfn_view pv;
    CHECK(state_pfn(S(), 0, 3, 0x10, &pv));
    CHECK_HEX(pv.mfn, 0x70);
    CHECK_EQ(pv.p2m_type, 0);
    /* the type changed unseen (0 -> 2 logdirty) */
    feed(HVE_p2m_entry_set, HVF_host, U(0), HVF_dom, U(3), HVF_vcpu, U(0),
         HVF_gfn, U(0x10), HVF_old_mfn, U(0x70), HVF_new_mfn, U(0x70),
         HVF_old_type, U(2), HVF_new_type, U(0), HVF_locked, U(1), -1);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    REQUIRE(last("rebuild.untraced"));
    CHECK(strstr(last("rebuild.untraced")->what, "gfn 0x10"));

    setup(0);
    feed(HVE_mm_m2p_set, HVF_host, U(0), HVF_mfn, U(0x80), HVF_old_pfn, INVALID,
         HVF_new_pfn, U(4), -1);
    feed(HVE_mm_m2p_set, HVF_host, U(0), HVF_mfn, U(0x80), HVF_old_pfn, U(5),
         HVF_new_pfn, INVALID, -1);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    CHECK(strstr(last("rebuild.untraced")->what, "M2P"));
}

static void t_grant_maps(void)
{
    setup(0);
    feed(HVE_grant_map, HVF_host, U(0), HVF_ldom, U(2), HVF_rdom, U(1),
         HVF_ref, U(3), HVF_mfn, U(0x90), HVF_flags, U(GNTMAP_host_map),
         HVF_handle, U(0), HVF_addr, U(0), HVF_status, U(GNTST_okay), -1);
    feed(HVE_grant_map, HVF_host, U(0), HVF_ldom, U(2), HVF_rdom, U(1),
         HVF_ref, U(4), HVF_mfn, U(0x90),
         HVF_flags, U(GNTMAP_host_map | GNTMAP_readonly),
         HVF_handle, U(1), HVF_addr, U(0), HVF_status, U(GNTST_okay), -1);
    /* a refused map counts nothing */
    feed(HVE_grant_map, HVF_host, U(0), HVF_ldom, U(2), HVF_rdom, U(1),
         HVF_ref, U(5), HVF_mfn, U(0x90), HVF_flags, U(GNTMAP_host_map),
         HVF_handle, U(2), HVF_addr, U(0), HVF_status, (uint64_t)(uint16_t)GNTST_bad_gntref, -1);
    CHECK_EQ(fv(0, 0x90).grant_maps, 2);
    CHECK_EQ(fv(0, 0x90).grant_maps_rw, 1);
    feed(HVE_grant_unmap, HVF_host, U(0), HVF_ldom, U(2), HVF_rdom, U(1),
         HVF_ref, U(3), HVF_mfn, U(0x90), HVF_flags, U(GNTMAP_host_map),
         HVF_handle, U(0), HVF_addr, U(0), HVF_status, U(GNTST_okay), -1);
    CHECK_EQ(fv(0, 0x90).grant_maps, 1);
    CHECK_EQ(fv(0, 0x90).grant_maps_rw, 0);
    audit();
}

static void t_dirty_and_migration(void)
{
    setup(0);
    feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(1), HVF_rc, U(0), -1);
    feed(HVE_dirty_mark, HVF_host, U(0), HVF_dom, U(1), HVF_pfn, U(0x5),
         HVF_mfn, U(0xa5), HVF_already, U(0), HVF_source, U(0), -1);
    struct pfn_view pv;
    CHECK(state_pfn(S(), 0, 1, 5, &pv));
    CHECK(pv.dirty);
    CHECK(pv.last_mark_ts > 0);
    feed(HVE_dirty_peek, HVF_host, U(0), HVF_dom, U(1), HVF_final, U(0),
         HVF_dirty_count, U(1), HVF_fault_count, U(1), HVF_pages, U(16), -1);
    CHECK(state_pfn(S(), 0, 1, 5, &pv) && pv.dirty);
    feed(HVE_dirty_clean, HVF_host, U(0), HVF_dom, U(1), HVF_final, U(0),
         HVF_dirty_count, U(1), HVF_fault_count, U(1), HVF_pages, U(16), -1);
    CHECK(state_pfn(S(), 0, 1, 5, &pv) && !pv.dirty);
    feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(1), HVF_iter, U(2),
         HVF_pfn, U(5), HVF_mfn, U(0xa5), HVF_type, U(0), HVF_normalised, U(0),
         HVF_hash, U(0xabcdef), -1);
    CHECK(state_pfn(S(), 0, 1, 5, &pv));
    CHECK_EQ(pv.last_sent_iter, 2);
    CHECK_HEX(pv.last_sent_hash, 0xabcdef);
    CHECK(pv.last_sent_ts > 0);
    /* the destination host: its own pfn, its own frame */
    feed(HVE_mig_recv_page, HVF_host, U(1), HVF_dom, U(1), HVF_pfn, U(5),
         HVF_mfn, U(0x3000), HVF_type, U(0), HVF_hash, U(0xabcdef),
         HVF_verify, U(0), -1);
    CHECK(state_pfn(S(), 1, 1, 5, &pv));
    CHECK_HEX(pv.mfn, 0x3000);
    CHECK_EQ(pv.last_sent_iter, -1);
    CHECK(state_pfn(S(), 0, 1, 5, &pv));
    CHECK_HEX(pv.mfn, 0xa5);
    CHECK(!state_pfn(S(), 0, 1, 6, &pv));
}

static void t_history(void)
{
    setup(4);
    for (unsigned i = 0; i < 6; i++)
        cc(0, 0x40, 1, ALLOC | i, ALLOC | (i + 1));
    pw(0x41, 1, 0, 0, PTE(0x40, P), 0);      /* names 0x40 as its target */
    const struct hv_ev *h[8];
    unsigned n = state_history(S(), 0, 0x40, h, 8);
    CHECK_EQ(n, 4);
    for (unsigned i = 0; i + 1 < n; i++)
        CHECK(h[i]->seq < h[i + 1]->seq);
    CHECK_EQ(h[0]->id, HVE_mm_count_change);
    CHECK_HEX(hv_u(h[0], HVF_old_count), ALLOC | 3);
    CHECK_EQ(h[3]->id, HVE_pt_pte_write);
    CHECK_EQ(state_history(S(), 0, 0x40, h, 2), 2);
    CHECK_EQ(h[1]->id, HVE_pt_pte_write);
    CHECK_EQ(state_history(S(), 0, 0x4242, h, 8), 0);
}

static void t_two_hosts(void)
{
    setup(0);
    cc(0, 0x50, 1, ALLOC | 1, ALLOC | 2);
    cc(1, 0x50, 1, ALLOC | 5, ALLOC | 6);
    cc(1, 0x50, 1, ALLOC | 6, ALLOC | 7);
    cc(0, 0x50, 1, ALLOC | 2, ALLOC | 1);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 0);
    CHECK_HEX(fv(0, 0x50).count_info, ALLOC | 1);
    CHECK_HEX(fv(1, 0x50).count_info, ALLOC | 7);
    const struct hv_ev *h[8];
    CHECK_EQ(state_history(S(), 1, 0x50, h, 8), 2);
}

/* ---- the invariants ----------------------------------------------------------- */

static void t_inv3(void)
{
    setup(0);
    live_l1(0x100);
    live_l1(0x101);                                 /* 0x101: a table */
    pw(0x100, 1, 0, 0, PTE(0x101, P), 0);           /* read-only: fine */
    pw(0x100, 1, 1, 0, PTE(0x101, P | RW), 7);      /* ptwr batch: fine */
    CHECK_EQ(nfind("inv.3"), 0);
    pw(0x100, 1, 2, 0, PTE(0x101, P | RW), 0);
    CHECK_EQ(nfind("inv.3"), 1);
    REQUIRE(last("inv.3"));
    CHECK(strstr(last("inv.3")->what, "invariant 3"));
    CHECK(strstr(last("inv.3")->what, "0x101"));
    CHECK_HEX(last("inv.3")->mfn, 0x101);

    /* a frame mapped writable becomes a table */
    setup(0);
    live_l1(0x100);
    tc(0, 0x102, 1, 0, WRITABLE | VALID | 1);
    pw(0x100, 1, 0, 0, PTE(0x102, P | RW), 0);
    CHECK_EQ(nfind("inv.3"), 0);
    tc(0, 0x102, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    tc(0, 0x102, 1, WRITABLE | VALID, L1 | 1);
    CHECK_EQ(nfind("inv.3"), 1);
    /* good order: entry cleared first */
    setup(0);
    live_l1(0x100);
    tc(0, 0x102, 1, 0, WRITABLE | VALID | 1);
    pw(0x100, 1, 0, 0, PTE(0x102, P | RW), 0);
    pw(0x100, 1, 0, PTE(0x102, P | RW), 0, 0);
    tc(0, 0x102, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    tc(0, 0x102, 1, WRITABLE | VALID, L1 | 1);
    CHECK_EQ(nfind("inv.3"), 0);
    /* a writable grant map of a table */
    feed(HVE_grant_map, HVF_host, U(0), HVF_ldom, U(2), HVF_rdom, U(1),
         HVF_ref, U(3), HVF_mfn, U(0x102), HVF_flags, U(GNTMAP_host_map),
         HVF_handle, U(0), HVF_addr, U(0), HVF_status, U(GNTST_okay), -1);
    CHECK_EQ(nfind("inv.3"), 1);
    audit();
}

static void t_inv5(void)
{
    setup(0);
    tc(0, 0x60, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    tc(0, 0x60, 1, WRITABLE | VALID, L1 | 1);         /* at n == 0: fine */
    /* a failed validation resets the word at n == 1: fine */
    mark(0, 1, HVE_mm_validate_begin, 0x60, 0);
    tc(0, 0x60, 1, L1 | 1, 0);
    mark(0, 1, HVE_mm_validate_end, 0x60, 0);
    CHECK_EQ(nfind("inv.5"), 0);
    tc(0, 0x60, 1, 0, WRITABLE | VALID | 1);
    tc(0, 0x60, 1, WRITABLE | VALID | 1, L2 | 2);     /* n == 1: wrong */
    CHECK_EQ(nfind("inv.5"), 1);
    REQUIRE(last("inv.5"));
    CHECK(strstr(last("inv.5")->what, "invariant 5"));
    /* the same reset outside a validation is wrong */
    tc(0, 0x60, 1, L2 | 2, 0);
    CHECK_EQ(nfind("inv.5"), 2);
}

static void t_inv6_7_8(void)
{
    setup(0);
    tc(0, 0x61, 1, L2 | 1, L2 | PARTIAL | 1);
    tc(0, 0x61, 1, L2 | PARTIAL | 1, L2 | 1);
    tc(0, 0x61, 1, L2 | 1, L2 | VALID | 1);
    tc(0, 0x61, 1, L2 | VALID | 1, L2 | VALID | PINNED | 2);
    tc(0, 0x61, 1, L2 | VALID | PINNED | 2, L2 | VALID | 1);
    tc(0, 0x61, 1, L2 | VALID | 1, L2);
    tc(0, 0x62, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    CHECK_EQ(nfind("inv.6"), 0);
    CHECK_EQ(nfind("inv.7"), 0);
    CHECK_EQ(nfind("inv.8"), 0);
    tc(0, 0x63, 1, L2 | PARTIAL | 1, L2 | PARTIAL | 2);
    CHECK_EQ(nfind("inv.6"), 1);
    tc(0, 0x64, 1, L2 | VALID | 1, L2 | VALID);
    CHECK_EQ(nfind("inv.7"), 1);
    tc(0, 0x65, 1, L1 | VALID | PINNED | 1, L1 | VALID | PINNED);
    CHECK_EQ(nfind("inv.8"), 1);
    CHECK(strstr(last("inv.6")->what, "invariant 6"));
    CHECK(strstr(last("inv.7")->what, "invariant 7"));
    CHECK(strstr(last("inv.8")->what, "invariant 8"));
}

static void t_inv11(void)
{
    /* the right order: get new, write, put old */
    setup(0);
    live_l1(0x100);
    cc(0, 0x200, 1, ALLOC | 1, ALLOC | 2);
    tc(0, 0x200, 1, WRITABLE | VALID, WRITABLE | VALID | 1);
    pw(0x100, 1, 0, 0, PTE(0x200, P | RW), 0);
    cc(0, 0x201, 1, ALLOC | 1, ALLOC | 2);
    pw(0x100, 1, 0, PTE(0x200, P | RW), PTE(0x201, P), 0);
    tc(0, 0x200, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    cc(0, 0x200, 1, ALLOC | 2, ALLOC | 1);
    CHECK_EQ(nfind("inv.11"), 0);
    /* the old frame's reference dropped before its entry is rewritten */
    cc(0, 0x201, 1, ALLOC | 2, ALLOC | 1);
    CHECK_EQ(nfind("inv.11"), 1);
    REQUIRE(last("inv.11"));
    CHECK(strstr(last("inv.11")->what, "invariant 11"));
    CHECK_HEX(last("inv.11")->mfn, 0x201);
    /* an entry written before its frame's reference was taken */
    cc(0, 0x202, 1, ALLOC | 0, ALLOC | 1);
    pw(0x100, 1, 1, 0, PTE(0x202, P), 0);
    CHECK_EQ(nfind("inv.11"), 2);
    /* the writable type reference dropped under a writable entry */
    setup(0);
    live_l1(0x100);
    cc(0, 0x203, 1, ALLOC | 1, ALLOC | 2);
    tc(0, 0x203, 1, WRITABLE | VALID, WRITABLE | VALID | 1);
    pw(0x100, 1, 0, 0, PTE(0x203, P | RW), 0);
    tc(0, 0x203, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    CHECK_EQ(nfind("inv.11"), 1);
    CHECK(strstr(last("inv.11")->what, "writable type count"));
    audit();
}

static void t_ptwr_batch_uncounted(void)
{
    /* unhook mode: the L1 0x101 is mapped writable from 0x100 slot 9; the
       guest's native stores into 0x101 are settled by the flush */
    setup(0);
    live_l1(0x100);
    live_l1(0x101);
    cc(0, 0x204, 1, ALLOC | 1, ALLOC | 2);
    tc(0, 0x204, 1, WRITABLE | VALID, WRITABLE | VALID | 1);
    pw(0x101, 1, 0, 0, PTE(0x204, P | RW), 0);
    CHECK_EQ(fv(0, 0x204).maps_rw, 1);
    pw(0x100, 1, 9, PTE(0x101, P), PTE(0x101, P | RW), 7);
    CHECK_EQ(fv(0, 0x204).maps_rw, 0);               /* out of the counts */
    pw(0x100, 1, 9, PTE(0x101, P | RW), PTE(0x101, P), 7);
    /* flush: the guest cleared RW natively; the ref goes, then the trace */
    tc(0, 0x204, 1, WRITABLE | VALID | 1, WRITABLE | VALID);
    pw(0x101, 1, 0, PTE(0x204, P | RW), PTE(0x204, P), 5);
    CHECK_EQ(nfind("inv.11"), 0);
    CHECK_EQ(nfind("inv.3"), 0);
    /* the next write by a hypercall closes the batch: counted again */
    pw(0x101, 1, 1, 0, 0, 0);
    CHECK_EQ(fv(0, 0x204).maps_ro, 1);
    CHECK_EQ(fv(0, 0x204).maps_rw, 0);
    audit();
}

static void entry(unsigned dom, uint64_t gfn, uint64_t om, uint64_t nm,
                  unsigned ot, unsigned nt, unsigned locked)
{
    feed(HVE_p2m_entry_set, HVF_host, U(0), HVF_dom, U(dom), HVF_vcpu, U(0xFFFF),
         HVF_gfn, gfn, HVF_old_mfn, om, HVF_new_mfn, nm, HVF_old_type, U(ot),
         HVF_new_type, U(nt), HVF_locked, U(locked), -1);
}

static void t_inv19(void)
{
    setup(0);
    entry(3, 0x10, INVALID, 0x70, 1, 0, 1);
    CHECK_EQ(nfind("inv.19"), 0);
    entry(3, 0x10, 0x70, 0x71, 0, 0, 0);
    CHECK_EQ(nfind("inv.19"), 1);
    REQUIRE(last("inv.19"));
    CHECK(strstr(last("inv.19")->what, "invariant 19"));
    CHECK(strstr(last("inv.19")->what, "gfn 0x10"));
    CHECK_HEX(last("inv.19")->pfn, 0x10);
}

static void t_inv22(void)
{
    setup(0);
    tc(0, 0x80, DOMID_COW, 0, SHARED | VALID | 1);
    entry(3, 0x10, INVALID, 0x80, 1, 12, 1);        /* ram_shared: fine */
    live_l1(0x100);
    pw(0x100, 1, 0, 0, PTE(0x80, P), 0);            /* read-only: fine */
    CHECK_EQ(nfind("inv.22"), 0);
    entry(4, 0x11, INVALID, 0x80, 1, 0, 1);         /* ram_rw */
    CHECK_EQ(nfind("inv.22"), 1);
    pw(0x100, 1, 1, 0, PTE(0x80, P | RW), 0);
    CHECK_EQ(nfind("inv.22"), 2);
    CHECK(strstr(last("inv.22")->what, "invariant 22"));
}

static void t_inv24(void)
{
    setup(0);
    feed(HVE_grant_pin_change, HVF_host, U(0), HVF_rdom, U(1), HVF_ldom, U(2),
         HVF_ref, U(8), HVF_mfn, U(0x60), HVF_kind, U(1), HVF_before, U(0x7f00),
         HVF_after, U(0x8000), -1);
    CHECK_EQ(nfind("inv.24"), 0);
    feed(HVE_grant_pin_change, HVF_host, U(0), HVF_rdom, U(1), HVF_ldom, U(2),
         HVF_ref, U(8), HVF_mfn, U(0x60), HVF_kind, U(1), HVF_before, U(0x8000),
         HVF_after, U(0x8100), -1);
    CHECK_EQ(nfind("inv.24"), 1);
    CHECK(strstr(last("inv.24")->what, "host-read"));
}

static void t_checkers_listed(void)
{
    static const char *const want[] = {
        "rebuild.untraced", "inv.3", "inv.5", "inv.6", "inv.7", "inv.8",
        "inv.11", "inv.19", "inv.22", "inv.24",
    };
    check_listed(want, sizeof(want) / sizeof(want[0]));
}

static const struct test tests[] = {
    { "count and type words are rebuilt from count_change / type_change", t_count_type },
    { "pins, M2P and a free are rebuilt", t_pin_m2p_free },
    { "S1: a skipped transition gives one rebuild.untraced naming both values", t_s1_one_finding },
    { "S2: the first sight of a frame, slot or root sets it without a finding", t_s2_first_sight },
    { "P3: two writers traced in the opposite order are no finding", t_reorder_tolerated },
    { "P3: a jump never explained is one finding at the end, naming its event", t_pending_settled_at_end },
    { "P3: late writers (one, two in a row, back at the start) are no finding", t_late_writer },
    { "PTEs: maps_rw / maps_ro follow validated L1s; A/D bits ignored; S1 on a slot", t_pte_maps },
    { "an unhook-mode ptwr flush's old value is not checked", t_pte_flush_path_unchecked },
    { "a frame made writable forgets its entries (R6)", t_writable_forgets_entries },
    { "roots, grant pins, p2m entries and M2P each give S1 findings", t_roots_pins_p2m_m2p },
    { "grant maps and unmaps are counted per frame, refused ones not", t_grant_maps },
    { "log-dirty marks, CLEAN, PEEK, send_page and recv_page on two hosts", t_dirty_and_migration },
    { "S3: history keeps the last N events naming a frame, oldest first", t_history },
    { "two hosts' frames with one mfn are kept apart", t_two_hosts },
    { "inv.3 fires on writable maps of tables, not in a ptwr batch", t_inv3 },
    { "inv.5 fires on type bits changed at n > 0, not on a failed validation", t_inv5 },
    { "inv.6, inv.7, inv.8 fire on bad type words, not on good ones", t_inv6_7_8 },
    { "inv.11 fires on a reference dropped or taken late around a PTE write", t_inv11 },
    { "an L1 in an unhook-mode ptwr batch is out of the counts until closed", t_ptwr_batch_uncounted },
    { "inv.19 fires on a p2m write without the lock", t_inv19 },
    { "inv.22 fires on writable p2m or L1 mappings of a shared frame", t_inv22 },
    { "inv.24 fires on a pin counter raised past 0x80", t_inv24 },
    { "every state checker is in hv_checkers", t_checkers_listed },
};

TEST_MAIN(tests)
