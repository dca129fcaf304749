/*
 * tests/unit/test-analysis-mig.c - the migration stream's checkers
 * (analysis/check_mig.c): records duplicated, dropped, corrupted on the
 * way, and a lost dirty bit, fed as synthetic events through the engine;
 * each stays silent on the faithful stream of the same migration.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/errno.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define DUP   "mig.record-duplicated"
#define DROP  "mig.record-dropped"
#define CORR  "mig.content-corrupted"
#define UNM   "story-e.unmarked-write"

#define DOM   1
#define NPFN  4             /* pfns 0..3, frames 0x100 + pfn */

static void setup(void)
{
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
}

static size_t nmine(void)
{
    return nfind(DUP) + nfind(DROP) + nfind(CORR) + nfind(UNM);
}

static uint64_t hash_of(uint64_t pfn, unsigned version)
{
    return 0x1000 + pfn * 0x10 + version;
}

static void enable(void)
{
    feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(DOM), HVF_rc, U(0), -1);
}

static void round_begin(unsigned iter, unsigned final)
{
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(DOM), HVF_iter, U(iter),
         HVF_final, U(final), HVF_to_send, U(NPFN), -1);
}

static void round_end(unsigned iter, unsigned final)
{
    feed(HVE_mig_round_end, HVF_host, U(0), HVF_dom, U(DOM), HVF_iter, U(iter),
         HVF_final, U(final), HVF_sent, U(1), HVF_deferred, U(0),
         HVF_bytes, U(4096), HVF_ns, U(1000), -1);
}

static void clean(unsigned final)
{
    feed(HVE_dirty_clean, HVF_host, U(0), HVF_dom, U(DOM), HVF_final, U(final),
         HVF_dirty_count, U(1), HVF_fault_count, U(1), HVF_pages, U(NPFN), -1);
}

static void mark(uint64_t pfn)
{
    feed(HVE_dirty_mark, HVF_host, U(0), HVF_dom, U(DOM), HVF_pfn, pfn,
         HVF_mfn, U(0x100) + pfn, HVF_already, U(0), HVF_source, U(0), -1);
}

static void send_t(unsigned iter, uint64_t pfn, uint32_t type, uint64_t hash)
{
    feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(DOM), HVF_iter, U(iter),
         HVF_pfn, pfn, HVF_mfn, U(0x100) + pfn, HVF_type, U(type),
         HVF_normalised, U(0), HVF_hash, hash, -1);
}

static void send(unsigned iter, uint64_t pfn, unsigned version)
{
    send_t(iter, pfn, XEN_DOMCTL_PFINFO_NOTAB, hash_of(pfn, version));
}

static void recv_h(uint64_t pfn, uint64_t hash, bool verify)
{
    feed(HVE_mig_recv_page, HVF_host, U(1), HVF_dom, U(DOM), HVF_pfn, pfn,
         HVF_mfn, U(0x200) + pfn, HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB),
         HVF_hash, hash, HVF_verify, U(verify), -1);
}

static void recv(uint64_t pfn, unsigned version)
{
    recv_h(pfn, hash_of(pfn, version), false);
}

static void mismatch(uint64_t pfn)
{
    feed(HVE_mig_verify_mismatch, HVF_host, U(1), HVF_dom, U(DOM), HVF_pfn, pfn,
         HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB), HVF_first, U(8), HVF_bytes, U(4), -1);
}

static void save_done(int rc)
{
    feed(HVE_mig_save_done, HVF_host, U(0), HVF_dom, U(DOM), HVF_rc, U((int64_t)rc),
         HVF_pages, U(NPFN), HVF_bytes, U(4096 * NPFN), -1);
}

/* Round 0 sends every pfn (version 0); pfn 2 is written and marked, the
   CLEAN of round 1 returns it and round 1 sends it (version 1); the final
   round sends nothing; the verify pass sends all.  The destination applies
   every record as it comes.  skip_r0 / skip_r1: the pfn that round leaves
   out (NPFN: none). */
static void migrate(uint64_t skip_r0, bool skip_r1)
{
    enable();
    round_begin(0, 0);
    for (uint64_t p = 0; p < NPFN; p++)
        if (p != skip_r0) {
            send(0, p, 0);
            recv(p, 0);
        }
    round_end(0, 0);
    mark(2);
    clean(0);
    round_begin(1, 0);
    if (!skip_r1) {
        send(1, 2, 1);
        recv(2, 1);
    }
    round_end(1, 0);
    clean(1);
    round_begin(2, 1);
    round_end(2, 1);
    round_begin(3, 2);
    for (uint64_t p = 0; p < NPFN; p++)
        recv_h(p, hash_of(p, p == 2), true);
    round_end(3, 2);
}

/* Round 0 begins and sends every pfn (version 0); the destination applies
   each record as it comes.  The round is left open. */
static void round0_applied(void)
{
    round_begin(0, 0);
    for (uint64_t p = 0; p < NPFN; p++) {
        send(0, p, 0);
        recv(p, 0);
    }
}

static void t_clean(void)
{
    setup();
    migrate(NPFN, false);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    CHECK_EQ(nall(), 0);
    az_free(A);
}

static void t_dup(void)
{
    setup();
    enable();
    round_begin(0, 0);
    for (uint64_t p = 0; p < NPFN; p++) {
        send(0, p, 0);
        recv(p, 0);
        if (p == 1)
            recv(p, 0);             /* the same record applied again */
    }
    round_end(0, 0);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DUP), 1);
    const struct finding *f = last(DUP);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 1);
    CHECK(says(f, "round 0 sent"));
    CHECK(says(f, "arrived twice"));
    CHECK_EQ(nfind(CORR) + nfind(DROP) + nfind(UNM), 0);
    az_free(A);
}

static void t_corrupt(void)
{
    setup();
    enable();
    round_begin(0, 0);
    for (uint64_t p = 0; p < NPFN; p++) {
        send(0, p, 0);
        recv_h(p, p == 3 ? 0xbad : hash_of(p, 0), false);
    }
    round_end(0, 0);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(CORR), 1);
    const struct finding *f = last(CORR);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 3);
    CHECK(says(f, "sent in round 0"));
    CHECK(says(f, "with hash 0xbad"));
    CHECK(says(f, "no later record repaired it"));
    CHECK_EQ(nfind(DUP) + nfind(DROP), 0);
    az_free(A);
}

/* The record arrives before the source's send event is traced (the
   receiver ran first): pairing is by order, not by time. */
static void t_recv_before_send(void)
{
    setup();
    enable();
    round_begin(0, 0);
    for (uint64_t p = 0; p < NPFN; p++) {
        recv(p, 0);
        send(0, p, 0);
    }
    round_end(0, 0);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

static void t_drop_round0(void)
{
    setup();
    migrate(1, false);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DROP), 1);
    const struct finding *f = last(DROP);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 1);
    CHECK(says(f, "never sent: round 0"));
    CHECK_EQ(nfind(DUP) + nfind(CORR), 0);
    az_free(A);
}

static void t_drop_dirty_round(void)
{
    setup();
    migrate(NPFN, true);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DROP), 1);
    const struct finding *f = last(DROP);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 2);
    CHECK(says(f, "last sent in round 0"));
    CHECK(says(f, "but round 1 sent no record of it"));
    az_free(A);
}

/* Round 1 leaves pfn 2 out, but it is marked again and the final round
   sends it: healed, nothing reported. */
static void t_drop_healed(void)
{
    setup();
    enable();
    round0_applied();
    round_end(0, 0);
    mark(2);
    clean(0);
    round_begin(1, 0);
    round_end(1, 0);                /* pfn 2 left out */
    mark(2);
    clean(1);
    round_begin(2, 1);
    send(2, 2, 1);
    recv(2, 1);
    round_end(2, 1);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

/* A mark after the round's CLEAN belongs to the next round. */
static void t_mark_after_clean(void)
{
    setup();
    enable();
    round0_applied();
    round_end(0, 0);
    clean(0);
    round_begin(1, 0);
    mark(3);
    round_end(1, 0);
    clean(1);
    round_begin(2, 1);
    send(2, 3, 1);
    recv(3, 1);
    round_end(2, 1);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

static void t_unmarked_write(void)
{
    setup();
    migrate(NPFN, false);
    mismatch(0);                    /* written after round 0, never marked */
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(UNM), 1);
    const struct finding *f = last(UNM);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 0);
    CHECK(says(f, "last sent in round 0"));
    CHECK(says(f, "arrived as sent"));
    CHECK(says(f, "dom1"));
    CHECK(says(f, "no dirty mark"));
    CHECK_EQ(nfind(DROP) + nfind(CORR) + nfind(DUP), 0);
    az_free(A);
}

/* A verify mismatch of a page dropped is the drop, not a lost mark. */
static void t_mismatch_explained(void)
{
    setup();
    migrate(NPFN, true);
    mismatch(2);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DROP), 1);
    CHECK_EQ(nfind(UNM), 0);
    az_free(A);
}

/* Records with no data (XTAB) are traced by the source only. */
static void t_xtab_not_paired(void)
{
    setup();
    enable();
    round_begin(0, 0);
    send_t(0, 0, XEN_DOMCTL_PFINFO_XTAB, 0);
    for (uint64_t p = 1; p < NPFN; p++) {
        send(0, p, 0);
        recv(p, 0);
    }
    round_end(0, 0);
    mark(0);
    clean(0);
    round_begin(1, 0);
    send(1, 0, 1);
    recv(0, 1);
    round_end(1, 0);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

/* Round 1's last record and round 2's only one are the same pfn with the
   same bytes (the ring page, re-sent unchanged): two records applied in a
   row, but two were sent. */
static void t_one_page_round(void)
{
    setup();
    enable();
    round0_applied();
    round_end(0, 0);
    mark(3);
    clean(0);
    round_begin(1, 0);
    send(1, 3, 0);
    recv(3, 0);
    round_end(1, 0);
    mark(3);
    clean(1);
    round_begin(2, 1);
    send(2, 3, 0);
    recv(3, 0);
    round_end(2, 1);
    save_done(0);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

/* pfn 3 ends round 0 and is round 1's only record, unchanged: two equal
   records in a row on the destination either way.  Which one the stream
   repeated is told by time (R3): a record arriving before round 1's send
   was traced repeats round 0's; one arriving after both sends repeats
   round 1's. */
static void one_page_round_dup(unsigned dup_round)
{
    setup();
    enable();
    round0_applied();
    if (dup_round == 0)
        recv(NPFN - 1, 0);          /* round 0's last record, again */
    round_end(0, 0);
    mark(NPFN - 1);
    clean(0);
    round_begin(1, 0);
    send(1, NPFN - 1, 0);
    recv(NPFN - 1, 0);
    if (dup_round == 1)
        recv(NPFN - 1, 0);          /* round 1's record, again */
    round_end(1, 0);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DUP), 1);
    const struct finding *f = last(DUP);
    REQUIRE(f);
    CHECK_HEX(f->pfn, NPFN - 1);
    CHECK(says(f, dup_round ? "the record round 1 sent" : "the record round 0 sent"));
    CHECK_EQ(nfind(CORR) + nfind(DROP) + nfind(UNM), 0);
    az_free(A);
}

static void t_dup_before_resend(void) { one_page_round_dup(0); }
static void t_dup_of_resend(void) { one_page_round_dup(1); }

/* The guest's first write faults are traced before log-dirty's enable
   event (enabling takes a while): they still put the pfn in round 1's
   bitmap. */
static void t_mark_before_enable(void)
{
    setup();
    mark(1);
    enable();
    round0_applied();
    round_end(0, 0);
    clean(0);
    round_begin(1, 0);
    round_end(1, 0);                /* pfn 1 left out */
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DROP), 1);
    CHECK(says(last(DROP), "but round 1 sent no record of it"));
    az_free(A);
}

static void t_failed_save(void)
{
    setup();
    migrate(1, true);
    save_done(-XEN_EIO);
    az_end(A);
    CHECK_EQ(nmine(), 0);
    az_free(A);
}

static void t_only(void)
{
    static const char *const only[] = { DUP, NULL };
    A = az_new(&(struct az_options){ .only = only });
    REQUIRE(A);
    SEQ = 0;
    migrate(1, true);
    save_done(0);
    az_end(A);
    CHECK_EQ(nfind(DROP), 0);
    CHECK_EQ(nall(), 0);
    az_free(A);
}

static const struct test tests[] = {
    { "a faithful migration (every record applied once, as sent; the dirty page re-sent) gives no finding from any checker", t_clean },
    { "a record applied twice in a row is mig.record-duplicated, naming the pfn and the round that sent it", t_dup },
    { "a record that arrived with another hash than the source sent is mig.content-corrupted, naming the round and both hashes", t_corrupt },
    { "records applied before the source's send event was traced pair by order: no finding", t_recv_before_send },
    { "a pfn round 0 did not send and no later round sent is mig.record-dropped (never sent)", t_drop_round0 },
    { "a pfn marked dirty and returned by round 1's CLEAN that round 1 did not send is mig.record-dropped, naming round 1 and its last send", t_drop_dirty_round },
    { "a record left out and sent by a later round is healed: no finding", t_drop_healed },
    { "a mark after a round's CLEAN is for the next round: no finding when that round sends it", t_mark_after_clean },
    { "a page the verify pass found different, arrived as sent, with no mark after its last send is story-e.unmarked-write naming round and writer", t_unmarked_write },
    { "a verify mismatch of a dropped record is the drop's finding only", t_mismatch_explained },
    { "a record with no data (XTAB) is not paired with the destination's records", t_xtab_not_paired },
    { "the same pfn re-sent unchanged as the last record of one round and the only one of the next is no duplicate", t_one_page_round },
    { "a duplicate of the record that ends round 0 is round 0's, though round 1 re-sends the page unchanged", t_dup_before_resend },
    { "a duplicate of round 1's unchanged re-send is round 1's, not the equal record round 0 ended with", t_dup_of_resend },
    { "a dirty mark traced before log-dirty's enable event counts for round 1", t_mark_before_enable },
    { "a failed save reports nothing", t_failed_save },
    { "--only selects one of the stream checkers", t_only },
};

TEST_MAIN(tests)
