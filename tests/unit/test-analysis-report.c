/*
 * tests/unit/test-analysis-report.c - the report (analysis/report.h R1-R4)
 * on synthetic events: migrations round by round with known counts and
 * re-sends, two migrations on two hosts at once, hypercall latency from
 * known entry/exit pairs with continuations, event statistics, the JSON
 * (parsed and checked by python3) and real gnuplot runs (skipped by name
 * when gnuplot is not installed).  Every test ends with rp_audit.
 */
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>

#include <xen/xen.h>
#include <xen/domctl.h>

#include "analysis/report.h"
#include "analysis/report_private.h"
#include "tests/unit/test.h"

/* ---- building events ---------------------------------------------------- */

static uint64_t seq;

/* One event of id at ts with its fields in catalog order (count checked). */
static void feedv(struct report *r, enum hv_event_id id, int64_t ts,
                  const uint64_t *v, unsigned n)
{
    struct hv_ev e;
    hv_ev_init(&e, id, ts, seq++);
    REQUIRE(e.desc != NULL);
    REQUIRE(e.desc->nfields == n);
    for (unsigned i = 0; i < n; i++)
        REQUIRE(hv_ev_set(&e, e.desc->field[i], v[i]) == 0);
    report_event(r, &e);
}

#define FEED(r, id, ts, ...) \
    feedv((r), HVE_##id, (ts), (const uint64_t[]){ __VA_ARGS__ }, \
          sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

#define NOTAB ((uint64_t)XEN_DOMCTL_PFINFO_NOTAB)
#define L1TAB ((uint64_t)XEN_DOMCTL_PFINFO_L1TAB)
#define XTAB  ((uint64_t)XEN_DOMCTL_PFINFO_XTAB)
#define MS(x) ((int64_t)(x) * 1000000)

/* host dom iter pfn mfn type normalised hash */
static void send(struct report *r, int64_t ts, unsigned host, unsigned dom,
                 unsigned iter, uint64_t pfn, uint64_t type)
{
    FEED(r, mig_send_page, ts, host, dom, iter, pfn, 0x8000 + pfn, type,
         type == L1TAB, type == XTAB ? 0 : 0x1234 + pfn);
}

/*
 * Migration A: host 0 dom 1, three rounds.
 *   round 0 (live): pfns 0..7, all new.
 *   CLEAN dirty 3; round 1 (live): 2, 3, 5 re-sent; 6 deferred (XTAB).
 *   FINAL CLEAN dirty 2; round 2 (final): 3, 6, 7 re-sent, 7 again (dup).
 * Migration B: host 1 dom 1, interleaved with A, two rounds.
 *   round 0: pfns 0..3; CLEAN dirty 1; round 1 (final): pfn 1 re-sent.
 */
static void two_migrations(struct report *r)
{
    FEED(r, dirty_enable, MS(10), 0, 1, 0);
    FEED(r, dirty_enable, MS(11), 1, 1, 0);
    FEED(r, mig_round_begin, MS(20), 0, 1, 0, 0, 8);
    FEED(r, mig_round_begin, MS(21), 1, 1, 0, 0, 4);
    for (unsigned p = 0; p < 8; p++) {
        send(r, MS(22) + p, 0, 1, 0, p, p == 4 ? L1TAB : NOTAB);
        if (p < 4)
            send(r, MS(22) + p, 1, 1, 0, p, NOTAB);
    }
    FEED(r, mig_round_end, MS(30), 0, 1, 0, 0, 8, 0, 8 * 4096 + 64, 9000000);
    FEED(r, mig_round_end, MS(31), 1, 1, 0, 0, 4, 0, 4 * 4096 + 32, 8000000);
    /* host 1's CLEAN must not open host 0's round */
    FEED(r, dirty_clean, MS(32), 1, 1, 1, 1, 0, 4);
    FEED(r, dirty_clean, MS(33), 0, 1, 0, 3, 0, 8);
    FEED(r, mig_round_begin, MS(40), 0, 1, 1, 0, 3);
    send(r, MS(41), 0, 1, 1, 2, NOTAB);
    send(r, MS(41) + 1, 0, 1, 1, 3, NOTAB);
    send(r, MS(41) + 2, 0, 1, 1, 5, NOTAB);
    FEED(r, mig_normalise_fail, MS(41) + 3, 0, 1, 1, 6, L1TAB,
         (uint64_t)(int64_t)-11, 1, 3, 0x123);
    send(r, MS(41) + 4, 0, 1, 1, 6, XTAB);
    FEED(r, mig_round_end, MS(45), 0, 1, 1, 0, 3, 1, 3 * 4096 + 64, 4000000);
    FEED(r, mig_round_begin, MS(46), 1, 1, 1, 1, 1);
    send(r, MS(47), 1, 1, 1, 1, NOTAB);
    FEED(r, mig_round_end, MS(48), 1, 1, 1, 1, 1, 0, 4096 + 32, 2000000);
    FEED(r, mig_save_done, MS(49), 1, 1, 0, 5, 5 * 4096 + 100);
    FEED(r, mig_suspend, MS(50), 0, 1, 0, 0);
    FEED(r, mig_suspend, MS(52), 0, 1, 1, 2000000);
    FEED(r, mig_suspend, MS(52) + 1, 0, 1, 2, 2000001);
    FEED(r, dirty_clean, MS(53), 0, 1, 1, 2, 0, 8);
    FEED(r, mig_suspend, MS(53) + 1, 0, 1, 3, 3000000);
    FEED(r, mig_round_begin, MS(54), 0, 1, 2, 1, 3);
    send(r, MS(55), 0, 1, 2, 3, NOTAB);
    send(r, MS(55) + 1, 0, 1, 2, 6, NOTAB);
    send(r, MS(55) + 2, 0, 1, 2, 7, NOTAB);
    send(r, MS(55) + 3, 0, 1, 2, 7, NOTAB);
    FEED(r, mig_round_end, MS(58), 0, 1, 2, 1, 5, 0, 5 * 4096 + 64, 3000000);
    FEED(r, mig_save_done, MS(60), 0, 1, 0, 16, 16 * 4096 + 300);
}

/*
 * Hypercalls (ns): host 0 dom 0 vcpu 0 mmu_update 1000 -> 3000 and
 * 5000 -> 5500; vcpu 1 mmuext_op 1500 -> 11500 with two continuations;
 * host 1 dom 0 vcpu 0 grant_table_op 2000 -> 2100 while host 0's vcpu 0
 * is inside its call; an exit with no entry.
 */
static void hypercalls(struct report *r)
{
    FEED(r, hcall_entry, 1000, 0, 0, 0, __HYPERVISOR_mmu_update, 1, 2, 3, 4);
    FEED(r, hcall_entry, 1500, 0, 0, 1, __HYPERVISOR_mmuext_op, 1, 2, 3, 4);
    FEED(r, hcall_entry, 2000, 1, 0, 0, __HYPERVISOR_grant_table_op, 0, 0, 0, 0);
    FEED(r, hcall_continuation, 2000, 0, 0, 1, __HYPERVISOR_mmuext_op, 100);
    FEED(r, hcall_exit, 2100, 1, 0, 0, __HYPERVISOR_grant_table_op, 0);
    FEED(r, hcall_continuation, 2500, 0, 0, 1, __HYPERVISOR_mmuext_op, 200);
    FEED(r, hcall_exit, 3000, 0, 0, 0, __HYPERVISOR_mmu_update, 0);
    FEED(r, hcall_entry, 5000, 0, 0, 0, __HYPERVISOR_mmu_update, 1, 2, 3, 4);
    FEED(r, hcall_exit, 5500, 0, 0, 0, __HYPERVISOR_mmu_update, 0);
    FEED(r, hcall_exit, 6000, 0, 2, 0, __HYPERVISOR_memory_op, 0);
    FEED(r, hcall_exit, 11500, 0, 0, 1, __HYPERVISOR_mmuext_op,
         (uint64_t)(int64_t)-22);
}

/* ---- output helpers ------------------------------------------------------ */

/* Every test ends here: the report's sums and invariants hold. */
static void audit_free(struct report *r)
{
    char why[256] = "";
    int rc = rp_audit(r, why, sizeof(why));
    if (rc)
        fprintf(stderr, "  audit: %s\n", why);
    CHECK_EQ(rc, 0);
    report_free(r);
}

static char *text_of(const struct report *r, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    if (json)
        report_print_json(r, f);
    else
        report_print_text(r, f);
    fclose(f);
    return buf;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove a temporary directory and what the test wrote in it. */
static bool rm_tree(const char *dir)
{
    return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0;
}

static bool have(const char *cmd)
{
    char sh[256];
    snprintf(sh, sizeof(sh), "command -v %s >/dev/null 2>&1", cmd);
    return system(sh) == 0;
}

/* Run python3 over the report's JSON with assertions; true when all hold. */
static bool python_checks(const struct report *r, const char *asserts)
{
    char dir[] = "/tmp/hvlab-report-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[300], py[300], cmd[1024];
    snprintf(path, sizeof(path), "%s/report.json", dir);
    snprintf(py, sizeof(py), "%s/check.py", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    report_print_json(r, f);
    fclose(f);
    f = fopen(py, "w");
    REQUIRE(f != NULL);
    fprintf(f, "import json, sys\nd = json.load(open(sys.argv[1]))\n%s\n",
            asserts);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s %s >&2", py, path);
    int rc = system(cmd);
    if (!rm_tree(dir))
        fprintf(stderr, "  could not remove %s\n", dir);
    return rc == 0;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static bool file_starts(const char *path, const char *const *heads, size_t n)
{
    char buf[64] = "";
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    for (size_t i = 0; i < n; i++)
        if (strncmp(buf, heads[i], strlen(heads[i])) == 0)
            return true;
    return false;
}

/* ---- migrations ---------------------------------------------------------- */

static void t_rounds(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    CHECK(python_checks(r,
        "m = d['migrations']\n"
        "assert len(m) == 2, m\n"
        "a = [x for x in m if x['host'] == 0][0]\n"
        "assert a['dom'] == 1 and a['state'] == 'saved' and a['rc'] == 0\n"
        "assert a['pages'] == 16 and a['resent'] == 6, a\n"
        "r = a['rounds']\n"
        "assert [x['iter'] for x in r] == [0, 1, 2]\n"
        "assert [x['kind'] for x in r] == ['live', 'live', 'final']\n"
        "assert [x['to_send'] for x in r] == [8, 3, 3]\n"
        "assert [x['dirty_count'] for x in r] == [None, 3, 2], r\n"
        "assert [x['dirtied'] for x in r] == [8, 3, 2]\n"
        "assert [x['sent'] for x in r] == [8, 3, 5]\n"
        "assert [x['resent'] for x in r] == [0, 3, 3], r\n"
        "assert [x['dup'] for x in r] == [0, 0, 1]\n"
        "assert [x['deferred'] for x in r] == [0, 1, 0]\n"
        "assert [x['nodata_traced'] for x in r] == [0, 1, 0]\n"
        "assert [x['normalise_fail'] for x in r] == [0, 1, 0]\n"
        "assert [x['ns'] for x in r] == [9000000, 4000000, 3000000]\n"
        "assert [x['trace_ns'] for x in r] == [10000000, 5000000, 4000000]\n"
        "assert r[0]['bytes'] == 8 * 4096 + 64\n"
        "assert a['suspend']['phase'] == 3 and a['suspend']['ns'] == 3000000\n"));
    audit_free(r);
}

static void t_two_hosts(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    CHECK(python_checks(r,
        "b = [x for x in d['migrations'] if x['host'] == 1][0]\n"
        "assert b['dom'] == 1 and b['state'] == 'saved' and b['pages'] == 5\n"
        "assert b['resent'] == 1, b\n"
        "r = b['rounds']\n"
        "assert [x['iter'] for x in r] == [0, 1]\n"
        "assert [x['dirty_count'] for x in r] == [None, 1], r\n"
        "assert [x['sent'] for x in r] == [4, 1]\n"
        "assert [x['resent'] for x in r] == [0, 1]\n"
        "assert b['first_ns'] == 21000000 and b['done_ns'] == 49000000\n"));
    audit_free(r);
}

static void t_new_migration(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    /* a migration that never finished, then the domain migrates again */
    FEED(r, mig_round_begin, 100, 0, 3, 0, 0, 2);
    send(r, 101, 0, 3, 0, 0, NOTAB);
    send(r, 102, 0, 3, 0, 1, NOTAB);
    FEED(r, mig_round_begin, 200, 0, 3, 0, 0, 2);
    send(r, 201, 0, 3, 0, 0, NOTAB);
    FEED(r, mig_round_end, 210, 0, 3, 0, 0, 1, 0, 4096, 10);
    /* a trace that starts in the middle of a round (no round_begin) */
    send(r, 300, 0, 4, 5, 9, NOTAB);
    FEED(r, mig_round_end, 310, 0, 4, 5, 0, 1, 0, 4096, 10);
    CHECK(python_checks(r,
        "m = d['migrations']\n"
        "assert [x['state'] for x in m] == ['abandoned', 'running', 'running'], m\n"
        "assert m[1]['rounds'][0]['resent'] == 0\n"
        "assert m[1]['rounds'][0]['sent'] == 1\n"
        "assert m[0]['rounds'][0]['sent'] is None\n"
        "assert m[0]['rounds'][0]['pages_traced'] == 2\n"
        "c = m[2]['rounds'][0]\n"
        "assert c['iter'] == 5 and c['to_send'] is None and c['dirtied'] is None\n"
        "assert c['sent'] == 1 and c['trace_ns'] is None\n"));
    char *t = text_of(r, false);
    CHECK(strstr(t, "abandoned") != NULL);
    CHECK(strstr(t, "no save_done in the trace") != NULL);
    free(t);
    audit_free(r);
}

static void t_idle_clean_verify(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    FEED(r, mig_round_begin, 100, 0, 2, 0, 0, 2);
    send(r, 101, 0, 2, 0, 0, NOTAB);
    send(r, 102, 0, 2, 0, 1, NOTAB);
    FEED(r, mig_round_end, 110, 0, 2, 0, 0, 2, 0, 8192, 10);
    FEED(r, dirty_clean, 120, 0, 2, 0, 0, 0, 2);   /* found nothing: idle */
    FEED(r, dirty_clean, 130, 0, 2, 1, 1, 0, 2);   /* FINAL: pfn 1 */
    FEED(r, mig_round_begin, 140, 0, 2, 2, 1, 1);
    send(r, 141, 0, 2, 2, 1, NOTAB);
    FEED(r, mig_round_end, 150, 0, 2, 2, 1, 1, 0, 4096, 10);
    FEED(r, mig_round_begin, 160, 0, 2, 3, 2, 2);  /* verify: every pfn */
    send(r, 161, 0, 2, 3, 0, NOTAB);
    send(r, 162, 0, 2, 3, 1, NOTAB);
    FEED(r, mig_round_end, 170, 0, 2, 3, 2, 2, 0, 8192, 10);
    FEED(r, mig_save_done, 180, 0, 2, 0, 5, 20480);
    CHECK(python_checks(r,
        "m = d['migrations'][0]\n"
        "assert m['idle_cleans'] == 1 and m['idle_dirty'] == 0, m\n"
        "assert [x['dirty_count'] for x in m['rounds']] == [None, 1, None]\n"
        "assert [x['kind'] for x in m['rounds']] == ['live', 'final', 'verify']\n"
        "assert [x['resent'] for x in m['rounds']] == [0, 1, 2]\n"
        "assert m['resent'] == 1\n"));
    char *t = text_of(r, false);
    CHECK(strstr(t, "1 page re-sent (verify pass aside)") != NULL);
    CHECK(strstr(t, "1 CLEAN opened no round (0 dirty)") != NULL);
    free(t);
    audit_free(r);
}

static void t_text_tables(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    hypercalls(r);
    char *t = text_of(r, false);
    CHECK(strstr(t, "Migration 1: host 0 dom 1, 3 rounds, saved rc 0: 16 pages")
          != NULL);
    CHECK(strstr(t, "Migration 2: host 1 dom 1, 2 rounds") != NULL);
    CHECK(strstr(t, "mmu_update") != NULL);
    CHECK(strstr(t, "mmuext_op") != NULL);
    CHECK(strstr(t, "hvlab_mig:send_page") != NULL);
    /* every row of a round table is as wide as its header */
    size_t hdr = 0, rows = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        size_t len = strlen(line);
        if (len > 8 && strncmp(line, "  round ", 8) == 0) {
            hdr = len;
        } else if (hdr && len > 8 && (strstr(line, " live ") ||
                                      strstr(line, " final "))) {
            CHECK_EQ(len, hdr);
            rows++;
        }
    }
    CHECK_EQ(rows, 5);
    free(t);
    audit_free(r);
}

/* ---- latency -------------------------------------------------------------- */

static void t_latency_pairs(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    hypercalls(r);
    CHECK(python_checks(r,
        "h = d['hypercalls']\n"
        "assert h['timed'] == 4 and h['unmatched_exits'] == 1, h\n"
        "assert h['open'] == 0 and h['lost_entries'] == 0\n"
        "o = h['by_op']\n"
        "assert list(o)[0] == 'mmu_update', list(o)\n"
        "m = o['mmu_update']\n"
        "assert m['op'] == 1 and m['calls'] == 2 and m['continued'] == 0\n"
        "assert m['min_ns'] == 500 and m['max_ns'] == 2000 and m['mean_ns'] == 1250\n"
        "assert 500 <= m['p50_ns'] <= 532 and m['p99_ns'] == 2000, m\n"
        "assert [(b['lo'], b['count']) for b in m['log2_ns']] == [(256, 1), (1024, 1)]\n"
        "x = o['mmuext_op']\n"
        "assert x['calls'] == 1 and x['continued'] == 1 and x['continuations'] == 2\n"
        "assert x['min_ns'] == 10000 and x['max_ns'] == 10000, x\n"
        "assert x['log2_ns'] == [{'lo': 8192, 'hi': 16384, 'count': 1}]\n"
        "g = o['grant_table_op']\n"
        "assert g['calls'] == 1 and g['max_ns'] == 100\n"
        "assert 'memory_op' not in o\n"));
    audit_free(r);
}

static void t_latency_percentiles(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    /* xen_version latencies 1..1000 ns, one each, on four vCPUs */
    int64_t t = 1000000;
    for (unsigned i = 1; i <= 1000; i++) {
        unsigned vcpu = i % 4;
        FEED(r, hcall_entry, t, 0, 0, vcpu, __HYPERVISOR_xen_version, 0, 0, 0, 0);
        FEED(r, hcall_exit, t + i, 0, 0, vcpu, __HYPERVISOR_xen_version, 0);
        t += 2000;
    }
    /* a lost entry: vcpu 0 enters twice; the second one is timed */
    FEED(r, hcall_entry, t, 0, 0, 0, 4242, 0, 0, 0, 0);
    FEED(r, hcall_entry, t + 10, 0, 0, 0, 4242, 0, 0, 0, 0);
    FEED(r, hcall_exit, t + 15, 0, 0, 0, 4242, 0);
    /* and one left open at the end */
    FEED(r, hcall_entry, t + 20, 0, 0, 1, __HYPERVISOR_sched_op, 0, 0, 0, 0);
    CHECK(python_checks(r,
        "h = d['hypercalls']\n"
        "assert h['lost_entries'] == 1 and h['open'] == 1, h\n"
        "v = h['by_op']['xen_version']\n"
        "assert v['op'] == 17 and v['calls'] == 1000\n"
        "assert v['min_ns'] == 1 and v['max_ns'] == 1000\n"
        "assert 500 <= v['p50_ns'] <= 532, v['p50_ns']\n"
        "assert 990 <= v['p99_ns'] <= 1000, v['p99_ns']\n"
        "assert sum(b['count'] for b in v['log2_ns']) == 1000\n"
        "assert [b['count'] for b in v['log2_ns']][-1] == 1000 - 511\n"
        "u = h['by_op']['op_4242']\n"
        "assert u['calls'] == 1 and u['max_ns'] == 5\n"));
    audit_free(r);
}

/* ---- event statistics ----------------------------------------------------- */

static void t_event_stats(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    /* 10 events over exactly 2 s */
    for (unsigned i = 0; i < 6; i++)
        FEED(r, dirty_mark, MS(1000) + MS(100) * i, 0, 1, i, 0x100 + i, 0, 0);
    for (unsigned i = 0; i < 4; i++)
        FEED(r, hcall_entry, MS(1500) + MS(500) * i, 0, 1, 0,
             __HYPERVISOR_mmu_update, 0, 0, 0, 0);
    CHECK(python_checks(r,
        "e = d['events']\n"
        "assert e['total'] == 10 and e['span_ns'] == 2000000000, e\n"
        "m = e['by_event']['hvlab_dirty:mark']\n"
        "assert m['count'] == 6 and m['first_ns'] == 1000000000\n"
        "assert m['last_ns'] == 1500000000 and abs(m['per_s'] - 3.0) < 1e-9\n"
        "p = e['providers']\n"
        "assert p['hvlab_dirty']['count'] == 6 and p['hvlab_hcall']['count'] == 4\n"
        "assert abs(p['hvlab_hcall']['per_s'] - 2.0) < 1e-9\n"
        "assert p['hvlab_hcall']['last_ns'] == 3000000000\n"
        "assert set(p) == {'hvlab_dirty', 'hvlab_hcall'}\n"));
    audit_free(r);
}

static void t_json_empty(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    CHECK(python_checks(r,
        "assert d['migrations'] == [] and d['events']['total'] == 0\n"
        "assert d['hypercalls']['by_op'] == {}\n"));
    char *t = text_of(r, false);
    CHECK(strstr(t, "Migrations: none in this trace") != NULL);
    free(t);
    audit_free(r);
}

/* ---- plots ---------------------------------------------------------------- */

/* Draw the two-migration report as fmt under a new directory dir; the
   report_plot return code.  The caller asserts the files. */
static int plot_into(const char *fmt, char dir[static 23], char prefix[static 300])
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    hypercalls(r);
    strcpy(dir, "/tmp/hvlab-plot-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    char err[512] = "";
    snprintf(prefix, 300, "%s/run", dir);
    int rc = report_plot(r, prefix, fmt, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "  report_plot: %s\n", err);
    audit_free(r);
    return rc;
}

static void t_plot_svg(void)
{
    if (!have("gnuplot"))
        SKIP("gnuplot is not installed (Debian package gnuplot-nox)");
    static const char *const heads[] = { "<?xml", "<svg" };
    char dir[23], prefix[300], path[400];
    CHECK_EQ(plot_into("svg", dir, prefix), 0);
    snprintf(path, sizeof(path), "%s-rounds.svg", prefix);
    CHECK(file_size(path) > 200);
    CHECK(file_starts(path, heads, 2));
    snprintf(path, sizeof(path), "%s-latency.svg", prefix);
    CHECK(file_size(path) > 200);
    CHECK(file_starts(path, heads, 2));
    snprintf(path, sizeof(path), "%s-rounds.dat", prefix);
    CHECK(file_size(path) > 0);
    snprintf(path, sizeof(path), "%s-latency.dat", prefix);
    CHECK(file_size(path) > 0);
    CHECK(rm_tree(dir));
}

static void t_plot_png(void)
{
    if (!have("gnuplot"))
        SKIP("gnuplot is not installed (Debian package gnuplot-nox)");
    static const char *const heads[] = { "\x89PNG" };
    char dir[23], prefix[300], path[400];
    CHECK_EQ(plot_into("png", dir, prefix), 0);
    snprintf(path, sizeof(path), "%s-rounds.png", prefix);
    CHECK(file_size(path) > 200);
    CHECK(file_starts(path, heads, 1));
    snprintf(path, sizeof(path), "%s-latency.png", prefix);
    CHECK(file_size(path) > 200);
    CHECK(file_starts(path, heads, 1));
    snprintf(path, sizeof(path), "%s-rounds.svg", prefix);
    CHECK_EQ(file_size(path), -1);              /* only what was asked */
    CHECK(rm_tree(dir));
}

static void t_plot_without_gnuplot(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    char dir[] = "/tmp/hvlab-plot-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char prefix[300], err[1024] = "", path[400];
    snprintf(prefix, sizeof(prefix), "%s/run.svg", dir);
    setenv("HVLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    CHECK_EQ(report_plot(r, prefix, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "gnuplot is not installed") != NULL);
    snprintf(path, sizeof(path), "%s/run-rounds.dat", dir);
    CHECK(strstr(err, path) != NULL);
    CHECK(file_size(path) > 0);
    snprintf(path, sizeof(path), "%s/run-rounds.gp", dir);
    CHECK(file_size(path) > 0);
    snprintf(path, sizeof(path), "%s/run-latency.gp", dir);
    CHECK(file_size(path) > 0);
    snprintf(path, sizeof(path), "%s/run-rounds.svg", dir);
    CHECK_EQ(file_size(path), -1);
    /* a bad format is refused before anything is written */
    CHECK_EQ(report_plot(r, prefix, "pdf", err, sizeof(err)), -1);
    CHECK(strstr(err, "svg or png") != NULL);
    CHECK(rm_tree(dir));
    audit_free(r);
}

static void t_plot_empty(void)
{
    if (!have("gnuplot"))
        SKIP("gnuplot is not installed (Debian package gnuplot-nox)");
    struct report *r = report_new();
    REQUIRE(r != NULL);
    char dir[] = "/tmp/hvlab-plot-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char prefix[300], err[512] = "", path[400];
    snprintf(prefix, sizeof(prefix), "%s/empty", dir);
    int rc = report_plot(r, prefix, "svg", err, sizeof(err));
    if (rc)
        fprintf(stderr, "  report_plot: %s\n", err);
    CHECK_EQ(rc, 0);
    snprintf(path, sizeof(path), "%s-rounds.svg", prefix);
    CHECK(file_size(path) > 0);
    CHECK(rm_tree(dir));
    audit_free(r);
}

static void t_audit(void)
{
    struct report *r = report_new();
    REQUIRE(r != NULL);
    two_migrations(r);
    hypercalls(r);
    char why[256] = "";
    CHECK_EQ(rp_audit(r, why, sizeof(why)), 0);
    r->total++;
    CHECK_EQ(rp_audit(r, why, sizeof(why)), -1);
    CHECK(strstr(why, "events") != NULL);
    r->total--;
    r->mig[0]->resent++;
    CHECK_EQ(rp_audit(r, why, sizeof(why)), -1);
    CHECK(strstr(why, "re-sent") != NULL);
    r->mig[0]->resent--;
    r->op[0]->calls++;
    CHECK_EQ(rp_audit(r, why, sizeof(why)), -1);
    CHECK(strstr(why, "histograms") != NULL);
    r->op[0]->calls--;
    audit_free(r);
}

static const struct test tests[] = {
    { "three rounds: dirtied from the CLEAN, sent, re-sent, duplicates, deferred and times per round", t_rounds },
    { "two migrations on two hosts at once are kept apart, each with its own CLEANs", t_two_hosts },
    { "a migration begun again is a new one; a trace starting mid-round leaves the unknown unknown", t_new_migration },
    { "a CLEAN that opens no round is idle; the verify pass's re-sends stay out of the total", t_idle_clean_verify },
    { "the text tables name migrations, events and hypercalls, every round row as wide as its header", t_text_tables },
    { "latency pairs entry and exit per (host, dom, vcpu); continuations do not end a call", t_latency_pairs },
    { "p50 and p99 of 1000 known latencies are within a sub-bucket; lost and open calls are counted", t_latency_percentiles },
    { "event statistics per event and per provider: count, first, last, rate over the trace's span", t_event_stats },
    { "an empty report is valid JSON and says there was no migration", t_json_empty },
    { "the audit finds counts that do not add up", t_audit },
    { "report_plot draws PREFIX-rounds.svg and PREFIX-latency.svg with gnuplot", t_plot_svg },
    { "report_plot draws PNG when asked", t_plot_png },
    { "without gnuplot report_plot says so and leaves the data and scripts", t_plot_without_gnuplot },
    { "a trace with nothing to plot still gives a picture", t_plot_empty },
};

TEST_MAIN(tests)
