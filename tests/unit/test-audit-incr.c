/*
 * tests/unit/test-audit-incr.c - hv_audit_changed (core/audit.h A1-A11)
 * gives the count and text of a fresh full audit after every call of real
 * programs on every surface, with and without the bug zoo's options, with
 * the incremental frame audit's cache checked against a rebuild after
 * every audit (core/mm/audit_incr.c I8), the kept isolation walk against
 * a walk from scratch, and the shadow audit's used map covering every
 * frame it should visit (core/shadow/private.h S9); and the marks, the fingerprint
 * and hv_audit_forget do what the rules say.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/shadow/private.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"
#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/isolation.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/snap.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"

struct fz_world *fz_exec_world(enum fuzz_surface s);

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A fresh full audit that touches neither the marks nor the memo. */
struct parts {
    unsigned mm, gnt, total;
};
static struct parts fresh(struct machine *m, FILE *out)
{
    struct parts p;
    p.mm = mm_audit(m, out);
    unsigned p2m = p2m_audit(m, out), sh = shadow_audit(m, out);
    p.gnt = gnttab_audit(m, out);
    p.total = p.mm + p2m + sh + p.gnt + evtchn_audit_machine(m, out) +
              paging_audit(m, out);
    return p;
}

static char *text_of(struct machine *m, bool incr)
{
    char *t = NULL;
    size_t n = 0;
    FILE *ms = open_memstream(&t, &n);
    REQUIRE(ms);
    if (incr)
        (void)hv_audit_changed(m, ms);
    else
        (void)fresh(m, ms);
    fclose(ms);
    return t;
}

struct tally {
    unsigned programs, calls, violating_calls, texts;
    unsigned iso_found, iso_skipped, iso_incr;  /* A11 */
};

/* core/shadow/private.h S9: every frame whose side-table entry has a type
   or flags is in the used map the shadow audit walks.  0, or the first
   frame that is not. */
static mfn_t shadow_unused(struct machine *m, unsigned *dom)
{
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d || !d->shadow)
            continue;
        const uint64_t *used = sh_used_map(d);
        for (mfn_t f = 0; f < m->nr_frames; f++) {
            const struct sh_pinfo *p = sh_pi(d, f);
            if ((p->type || p->shadow_flags) &&
                !(used[f >> 6] & (1ULL << (f & 63)))) {
                *dom = id;
                return f;
            }
        }
    }
    return 0;
}

/* One program, call by call as fuzz/exec.c runs it; after every call the
   memo's answer against a fresh full audit.  Returns calls run. */
static void run_checked(enum fuzz_surface s, struct fz_world *w,
                        const uint8_t *data, size_t len, struct tally *t)
{
    static struct fz_prog prog;
    fz_decode(s, data, len, &prog);
    struct fz_state st = { 0 };
    struct fz_call_ctx c = { .w = w, .st = &st };
    bool texted = false, iso_seen = false;
    t->programs++;
    for (unsigned i = 0; i < prog.ncalls; i++) {
        (void)fz_run_as_actor(&c, &prog.call[i]);
        t->calls++;
        unsigned got = hv_audit_changed(w->m, NULL);
        struct parts want = fresh(w->m, NULL);
        if (got != want.total || w->m->audit_memo.mm_last != want.mm ||
            w->m->audit_memo.gnt_last != want.gnt) {
            fprintf(stderr, "  %s program %u call %u (op %u): memo %u "
                    "(mm %u grant %u), full %u (mm %u grant %u)\n",
                    fuzz_surface_name(s), t->programs, i, prog.call[i].op, got,
                    w->m->audit_memo.mm_last, w->m->audit_memo.gnt_last,
                    want.total, want.mm, want.gnt);
            test_failures++;
            return;
        }
        unsigned sdom = 0;
        mfn_t unused = shadow_unused(w->m, &sdom);
        if (unused) {
            fprintf(stderr, "  %s program %u call %u (op %u): d%u mfn %#llx "
                    "has a shadow type or flags and is not in the used map "
                    "(core/shadow/private.h S9)\n", fuzz_surface_name(s),
                    t->programs, i, prog.call[i].op, sdom,
                    (unsigned long long)unused);
            test_failures++;
            return;
        }
        /* A11: the world's kept isolation walk (fuzz/isolation.c I8-I11),
           which looks only at what changed, answers as a walk from
           scratch does, and covers all that walk reaches. */
        struct fz_iso_stats a, b;
        fz_iso_stats(w->iso, &a);
        char nm[96], det[256], knm[96], kdet[256], vmsg[300];
        int kept = fz_iso_check(w->iso, knm, sizeof knm, kdet, sizeof kdet);
        int iso = fz_isolation_check(w->m, nm, sizeof nm, det, sizeof det);
        fz_iso_stats(w->iso, &b);
        if (kept != iso || (iso && strcmp(nm, knm) != 0) ||
            (!kept && fz_iso_verify(w->iso, vmsg, sizeof vmsg))) {
            fprintf(stderr, "  %s program %u call %u (op %u): isolation "
                    "from scratch %d \"%s\" (%s), kept walk %d \"%s\" "
                    "(%s)%s%s\n", fuzz_surface_name(s), t->programs, i,
                    prog.call[i].op, iso, iso ? nm : "", iso ? det : "",
                    kept, kept ? knm : "", kept ? kdet : "",
                    kept || iso ? "" : ": ", kept || iso ? "" : vmsg);
            test_failures++;
            return;
        }
        t->iso_found += iso && !iso_seen;
        t->iso_skipped += b.unchanged > a.unchanged;
        t->iso_incr += b.full == a.full && b.unchanged == a.unchanged;
        iso_seen |= iso != 0;
        if (want.total)
            t->violating_calls++;
        if (want.total && !texted) {            /* A8: the same text */
            char *a = text_of(w->m, true), *b = text_of(w->m, false);
            CHECK(a && b && strcmp(a, b) == 0);
            free(a);
            free(b);
            texted = true;
            t->texts++;
        }
    }
}

static uint8_t buf[8192], mut[8192];

/* One input as it is, then muts mutants of it. */
static void input_and_mutants(enum fuzz_surface s, struct fz_world *w,
                              const char *path, unsigned muts,
                              struct tally *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (unsigned r = 0; r <= muts; r++) {
        memcpy(mut, buf, n);
        size_t len = n;
        for (unsigned k = 0; r && len && k < 1 + rnd() % 8; k++)
            mut[rnd() % len] = (uint8_t)rnd();
        if (r && (rnd() & 3) == 0 && len > 8)
            len -= rnd() % (len / 2);
        REQUIRE(fz_world_reset(w) == 0);
        run_checked(s, w, mut, len, t);
    }
}

/* The surface's seeds (and, with zoo, the findings of tests/data/fuzz
   for it but XSA-279's host crash), each as it is and mutated. */
static void campaign(enum fuzz_surface s, const char *options, unsigned muts,
                     struct tally *t)
{
    bool zoo = options != NULL;
    char err[256];
    /* Every world built from here checks the incremental frame audit's
       cache against a rebuild after every audit (audit_incr.c I8). */
    setenv("HVLAB_AUDIT_VERIFY", "1", 1);
    if (options)
        REQUIRE(fuzz_set_options(options, err, sizeof(err)) == 0);
    REQUIRE(fuzz_init(s) == 0);
    struct fz_world *w = fz_exec_world(s);
    REQUIRE(w && w->m);

    char dir[128];
    snprintf(dir, sizeof(dir), "fuzz/seeds/%s", fuzz_surface_name(s));
    DIR *dp = opendir(dir);
    if (!dp)
        SKIP("fuzz/seeds/SURFACE not found (run from the top of the tree)");
    struct dirent *de;
    char path[512];
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        input_and_mutants(s, w, path, muts, t);
    }
    closedir(dp);
    if (!zoo)
        return;
    dp = opendir("tests/data/fuzz");
    REQUIRE(dp);
    size_t pl = strlen(fuzz_surface_name(s));
    while ((de = readdir(dp)) != NULL) {
        if (strncmp(de->d_name, fuzz_surface_name(s), pl) != 0 ||
            de->d_name[pl] != '-' || strstr(de->d_name, "xsa279"))
            continue;
        snprintf(path, sizeof(path), "tests/data/fuzz/%s", de->d_name);
        input_and_mutants(s, w, path, 60, t);
    }
    closedir(dp);
}

static void report(const char *what, const struct tally *t)
{
    struct hv_audit_counts c;
    hv_audit_counts(&c);
    fprintf(stderr, "  %s: %u programs, %u calls, %u with violations; "
            "mm audit skipped %llu of %llu, grant audit %llu; isolation "
            "skipped after %u calls, incremental after %u, found %u\n",
            what, t->programs, t->calls, t->violating_calls,
            (unsigned long long)c.mm_skipped, (unsigned long long)c.audits,
            (unsigned long long)c.gnt_skipped, t->iso_skipped, t->iso_incr,
            t->iso_found);
}

static void t_mm_plain(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_MM, NULL, 5, &t);
    report("mm", &t);
    CHECK(t.programs >= 100);
    struct hv_audit_counts c;
    hv_audit_counts(&c);
    CHECK(c.mm_skipped > 0);            /* the memo answered some */
}

static void t_mm_zoo(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_MM, "mm.xsa182=on,mm.xsa148=on,mm.xsa240=on,"
             "mm.xsa309=on,mm.preempt_budget=2", 5, &t);
    report("mm zoo", &t);
    CHECK(t.violating_calls > 0);       /* violations happened */
    CHECK(t.iso_found > 0);             /* XSA-182's writable table */
    CHECK(t.texts > 0);
}

static void t_mm_unhook(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_MM, "ptwr.mode=unhook,mm.pfinfo_devalidated=pt", 3, &t);
    report("mm unhook", &t);
    CHECK(t.programs >= 60);
}

static void t_grant_plain(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_GRANT, NULL, 3, &t);
    report("grant", &t);
    CHECK(t.programs >= 100);
    struct hv_audit_counts c;
    hv_audit_counts(&c);
    CHECK(c.gnt_skipped + c.mm_skipped > 0);
}

static void t_grant_zoo(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_GRANT, "grant.xsa224=on,grant.xsa227=on,grant.xsa234=on,"
             "grant.xsa255=on", 3, &t);
    report("grant zoo", &t);
    CHECK(t.violating_calls > 0);
    CHECK(t.iso_found > 0);             /* XSA-255's mapping (I7) */
}

static void t_shadow(void)
{
    struct tally t = { 0 };
    campaign(FUZZ_SHADOW, NULL, 16, &t);
    report("shadow", &t);
    CHECK(t.programs >= 100);
}

/* A frame of dom1's data range and the world. */
static struct fz_world *mm_world(mfn_t *mfn)
{
    REQUIRE(fuzz_init(FUZZ_MM) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    REQUIRE(w && w->m);
    REQUIRE(fz_world_reset(w) == 0);
    *mfn = w->dom[1].p2m[w->dom[1].data.first];
    return w;
}

/* A9: a store behind the mutators' backs is the full audit's to see; the
   memo cannot be told of it except by hv_audit_forget (or a mark). */
static void t_behind_back(void)
{
    mfn_t mfn;
    struct fz_world *w = mm_world(&mfn);
    struct machine *m = w->m;
    CHECK_EQ(hv_audit(m, NULL), 0);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
    struct page_info *pg = mfn_to_page(m, mfn);
    atomic_fetch_add(&pg->count_info, 1);           /* no mutator */
    CHECK_EQ(fresh(m, NULL).total, 1);              /* invariant 1 */
    CHECK_EQ(hv_audit_changed(m, NULL), 0);         /* A9: not told */
    hv_audit_forget(m);
    CHECK_EQ(hv_audit_changed(m, NULL), 1);
    atomic_fetch_sub(&pg->count_info, 1);
    HV_AUDIT_MARK(m, HV_MARK_MM);                   /* or told by a mark */
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
    CHECK_EQ(fresh(m, NULL).total, 0);
}

/* A2: a mutator's change is marked, and a leaked reference found. */
static void t_mutator_marks(void)
{
    mfn_t mfn;
    struct fz_world *w = mm_world(&mfn);
    struct machine *m = w->m;
    CHECK_EQ(hv_audit(m, NULL), 0);
    CHECK_EQ(atomic_load(&m->audit_memo.dirty[HV_MARK_MM]), 0);
    CHECK(get_page(m, mfn, w->dom[1].d));           /* a leaked ref */
    CHECK_EQ(atomic_load(&m->audit_memo.dirty[HV_MARK_MM]), 1);
    CHECK_EQ(hv_audit_changed(m, NULL), 1);
    CHECK_EQ(atomic_load(&m->audit_memo.dirty[HV_MARK_MM]), 0);
    CHECK_EQ(hv_audit_changed(m, NULL), 1);         /* A4: re-run, still 1 */
    put_page(m, mfn);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
    struct hv_audit_counts a, b;
    hv_audit_counts(&a);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);         /* nothing changed */
    hv_audit_counts(&b);
    CHECK_EQ(b.unchanged - a.unchanged, 1);
    CHECK_EQ(b.mm_skipped - a.mm_skipped, 1);
    CHECK_EQ(b.gnt_skipped - a.gnt_skipped, 1);
}

/* A3: a guest store re-runs the grant audit, not the frame audit. */
static void t_guest_store(void)
{
    mfn_t mfn;
    struct fz_world *w = mm_world(&mfn);
    struct machine *m = w->m;
    CHECK_EQ(hv_audit(m, NULL), 0);
    CHECK(hv_audit_take_changed(m));            /* A11: a full audit */
    CHECK(!hv_audit_take_changed(m));
    struct vcpu *v = w->dom[1].d->vcpu[0];
    current = v;
    CHECK_EQ(mmu_store(v, fz_directmap_va(w->dom[1].data.first), 8, 42),
             MMU_OK);
    current = NULL;
    CHECK_EQ(atomic_load(&m->audit_memo.dirty[HV_MARK_STORE]), 1);
    CHECK_EQ(atomic_load(&m->audit_memo.dirty[HV_MARK_ISO]), 0);
    struct hv_audit_counts a, b;
    hv_audit_counts(&a);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
    hv_audit_counts(&b);
    CHECK_EQ(b.mm_skipped - a.mm_skipped, 1);
    CHECK_EQ(b.gnt_skipped - a.gnt_skipped, 0);
    /* A11: a PV guest's store is nothing the isolation walk reads.  A
       frame mutator may be: until the frame audit has seen the touch the
       answer is yes; once it has, only a change of what the walk reads of
       the frame counts (audit_incr.c I10), and a count that went up and
       down is none. */
    CHECK(!hv_audit_take_changed(m));
    CHECK_EQ(get_page(m, mfn, w->dom[1].d), true);
    CHECK(hv_audit_take_changed(m));            /* a touch not seen yet */
    put_page(m, mfn);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
    CHECK(!hv_audit_take_changed(m));
    /* Without a cache to vouch, the same up and down counts. */
    mm_audit_incr_invalidate(m);
    CHECK(!hv_audit_take_changed(m));           /* nothing happened */
    CHECK_EQ(get_page(m, mfn, w->dom[1].d), true);
    put_page(m, mfn);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);     /* rebuilt */
    CHECK(hv_audit_take_changed(m));
    CHECK(!hv_audit_take_changed(m));
}

/* A10: the incremental frame audit finds what a call leaves behind - a
   leaked general ref, a pinned frame unpinned behind its back - and its
   non-zero answer gives the full audit's count. */
static void t_incr_finds(void)
{
    mfn_t mfn;
    struct fz_world *w = mm_world(&mfn);
    struct machine *m = w->m;
    CHECK(mm_audit_incr_enabled(m));
    CHECK_EQ(hv_audit(m, NULL), 0);
    CHECK(mm_audit_incr_valid(m));
    CHECK_EQ(get_page(m, mfn, w->dom[1].d), true);      /* leaked */
    CHECK(mm_audit_incr(m) > 0);
    CHECK(!mm_audit_incr_valid(m));                     /* I6 */
    CHECK_EQ(hv_audit_changed(m, NULL), fresh(m, NULL).total);
    put_page(m, mfn);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);     /* the full one (A4) */
    CHECK(!mm_audit_incr_valid(m));
    CHECK_EQ(hv_audit(m, NULL), 0);             /* A10: rebuilds it */
    CHECK(mm_audit_incr_valid(m));
    /* A grant PTE count of 0 is there to give (I9): the world has none. */
    uint64_t g = 1;
    CHECK(mm_audit_incr_grant_ptes(m, &g));
    CHECK_EQ(g, 0);
    CHECK_EQ(get_page(m, mfn, w->dom[1].d), true);
    CHECK(!mm_audit_incr_grant_ptes(m, &g));            /* touch pending */
    put_page(m, mfn);
    CHECK_EQ(hv_audit_changed(m, NULL), 0);
}

/* A8: with a stream the text is the full audit's. */
static void t_text(void)
{
    mfn_t mfn;
    struct fz_world *w = mm_world(&mfn);
    struct machine *m = w->m;
    CHECK(get_page(m, mfn, w->dom[1].d));
    CHECK_EQ(hv_audit_changed(m, NULL), 1);
    char *a = text_of(m, true), *b = text_of(m, false);
    REQUIRE(a && b);
    CHECK(strstr(a, "audit: invariant 1 ") != NULL);
    CHECK(strcmp(a, b) == 0);
    free(a);
    free(b);
    put_page(m, mfn);
}

/* A9 under the snapshot reset: fuzz_one's verdict (violation, call,
   invariant, report) with the memo is the one without it, run for run,
   on the seeds and their mutants with the mm zoo options on. */
static void t_snap_verdicts(void)
{
    if (!fz_snap_available())
        SKIP("linked without the allocation wraps");
    char err[256];
    REQUIRE(fuzz_set_options("mm.xsa148=on,mm.xsa240=on,mm.xsa309=on,"
                             "mm.preempt_budget=2", err, sizeof(err)) == 0);
    fuzz_set_reset(FUZZ_RESET_SNAP);
    static const char *const inputs[] = {
        "tests/data/fuzz/mm-xsa148", "tests/data/fuzz/mm-xsa240",
        "tests/data/fuzz/mm-xsa309", "fuzz/seeds/mm/blk-io-0",
        "fuzz/seeds/mm/blk-io-1", "fuzz/seeds/mm/blk-io-2",
    };
    static struct fuzz_result a, b;
    unsigned runs = 0, found = 0;
    for (unsigned i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        FILE *f = fopen(inputs[i], "rb");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        for (unsigned r = 0; r < 40; r++) {
            memcpy(mut, buf, n);
            for (unsigned k = 0; r && n && k < 1 + rnd() % 6; k++)
                mut[rnd() % n] = (uint8_t)rnd();
            hv_audit_memo_enable(true);
            int ra = fuzz_one(FUZZ_MM, mut, n, &a);
            hv_audit_memo_enable(false);
            int rb = fuzz_one(FUZZ_MM, mut, n, &b);
            hv_audit_memo_enable(true);
            CHECK_EQ(ra, rb);
            CHECK_EQ(a.violation, b.violation);
            CHECK_EQ(a.at_call, b.at_call);
            CHECK_EQ(a.calls_run, b.calls_run);
            CHECK(strcmp(a.invariant, b.invariant) == 0);
            CHECK(strcmp(a.report, b.report) == 0);
            runs++;
            found += a.violation;
        }
    }
    fprintf(stderr, "  snap: %u runs, %u with a violation\n", runs, found);
    CHECK(runs >= 200);
    CHECK(found > 0);
}

static const struct test tests[] = {
    { "after every call of the mm seeds and their mutants, the memo's count "
      "is a fresh full audit's", t_mm_plain },
    { "the same with the mm bug-zoo options on, violations included, with "
      "the same text", t_mm_zoo },
    { "the incremental frame audit finds a leaked ref and gives way to the "
      "full audit's count; the grant PTE count is given only when current",
      t_incr_finds },
    { "the same under ptwr unhook mode and pfinfo devalidated=pt",
      t_mm_unhook },
    { "after every call of the grant seeds and their mutants, the memo's "
      "count is a fresh full audit's", t_grant_plain },
    { "the same with the grant XSA options on, violations included",
      t_grant_zoo },
    { "after every call of the shadow seeds and their mutants, the memo's "
      "count is a fresh full audit's", t_shadow },
    { "a page_info word written behind the mutators' backs is found by the "
      "full audit; the memo learns of it only from hv_audit_forget or a mark",
      t_behind_back },
    { "get_page marks the frame audit, which then finds the leak; an "
      "unchanged machine is answered from the memo", t_mutator_marks },
    { "a guest store re-runs the grant audit and leaves the frame audit's "
      "answer to the memo", t_guest_store },
    { "with a stream, the text is the full audit's", t_text },
    { "under the snapshot reset, every run's verdict and report with the "
      "memo are the ones without it", t_snap_verdicts },
};
TEST_MAIN(tests)
