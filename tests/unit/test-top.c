/*
 * tests/unit/test-top.c - the pure parts of `hvlab top` (top_model.h P1-P5)
 * and the USDT probe macro's semaphore rule (trace/usdt.h U2).  Nothing
 * here needs BPF: tests/e2e/top.sh attaches to a real process.
 */
#include <stdint.h>
#include <sys/stat.h>

#include <xen/xen.h>

#include "core/lock.h"
#include "core/traps.h"
#include "inject/inject.h"
#include "tests/unit/test.h"
#include "tools/hvlab/top_model.h"
#include "toolstack/migrate.h"
#include "trace/usdt.h"

/* A sample on the heap (it is large), zeroed. */
static struct top_sample *sample(void)
{
    struct top_sample *s = calloc(1, sizeof(*s));
    REQUIRE(s != NULL);
    s->pid = 42;
    s->interval_s = 2.0;
    return s;
}

static char *json_of(const struct top_sample *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    top_sample_json(f, s);
    fclose(f);
    return buf;
}

static void t_percentile(void)
{
    __u64 h[TOP_HIST_BUCKETS] = { 0 };
    CHECK_EQ(top_hist_total(h, TOP_HIST_BUCKETS), 0);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.5), 0);
    h[3] = 10;                          /* [8, 16) ns */
    h[10] = 89;                         /* [1024, 2048) ns */
    h[20] = 1;                          /* [1 Mi, 2 Mi) ns */
    CHECK_EQ(top_hist_total(h, TOP_HIST_BUCKETS), 100);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.05), 15);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.10), 15);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.11), 2047);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.50), 2047);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 0.99), 2047);
    CHECK_EQ(top_hist_percentile(h, TOP_HIST_BUCKETS, 1.0), (1u << 21) - 1);
    /* Bucket 0 holds 0 and 1 ns: its upper edge is 1. */
    __u64 z[TOP_HIST_BUCKETS] = { [0] = 5 };
    CHECK_EQ(top_hist_percentile(z, TOP_HIST_BUCKETS, 0.99), 1);
    /* A single event: every percentile is its bucket. */
    __u64 one[TOP_HIST_BUCKETS] = { [7] = 1 };
    CHECK_EQ(top_hist_percentile(one, TOP_HIST_BUCKETS, 0.01), 255);
    CHECK_EQ(top_hist_percentile(one, TOP_HIST_BUCKETS, 0.99), 255);
}

static void t_names(void)
{
    CHECK(strcmp(top_hcall_name(__HYPERVISOR_mmu_update), "mmu_update") == 0);
    CHECK(strcmp(top_hcall_name(__HYPERVISOR_grant_table_op), "grant_table_op") == 0);
    CHECK(top_hcall_name(11) == NULL);              /* no hypercall 11 */
    CHECK(top_hcall_name(9999) == NULL);
    CHECK_EQ(top_hcall_parse("mmuext_op"), __HYPERVISOR_mmuext_op);
    CHECK_EQ(top_hcall_parse("26"), 26);
    CHECK_EQ(top_hcall_parse("0x1d"), 29);
    CHECK_EQ(top_hcall_parse("mmuext"), -1);        /* a prefix is not a name */
    CHECK_EQ(top_hcall_parse(""), -1);
    CHECK_EQ(top_hcall_parse("-3"), -1);
    CHECK(strcmp(top_lock_class_name(LOCK_P2M), "p2m") == 0);
    CHECK(top_lock_class_name(77) == NULL);
    CHECK(strcmp(top_lock_class_name(24), "gnt_table") == 0);   /* LOCK_GNT_TABLE */
    CHECK(strcmp(top_lock_class_name(22), "gnt_maptrack") == 0);
}

static void t_fault_classes(void)
{
    static const struct { unsigned outcome; const char *cls; } want[] = {
        { HVF_PTWR, "fixed" }, { HVF_SPURIOUS, "fast" },
        { HVF_BOUNCED, "bounced" }, { HVF_KILLED, "killed" },
        { HVF_HV_ACCESS_FAILED, "killed" }, { HVF_SH_FIXED, "fixed" },
        { HVF_SH_EMULATED, "slow" }, { HVF_NPF_FIXED, "fixed" },
        { HVF_NPF_EMULATED, "slow" }, { HVF_NPF_KILLED, "killed" },
    };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *c = top_fault_class_name(top_fault_class_of(want[i].outcome));
        if (strcmp(c, want[i].cls) != 0) {
            fprintf(stderr, "  outcome %u (%s): class %s, expected %s\n",
                    want[i].outcome, top_fault_outcome_name(want[i].outcome),
                    c, want[i].cls);
            test_failures++;
        }
    }
    CHECK(strcmp(top_fault_outcome_name(HVF_SPURIOUS), "spurious") == 0);
    CHECK(strcmp(top_fault_outcome_name(200), "?") == 0);
    CHECK(strcmp(top_fault_class_name(top_fault_class_of(200)), "killed") == 0);
}

static void t_sort_and_rate(void)
{
    struct top_sample *prev = sample(), *s = sample();
    prev->nr_hcalls = 1;
    prev->hcalls[0].k = (struct top_hcall_key){ .dom = 1, .op = 1 };
    prev->hcalls[0].v.count = 4;
    s->nr_hcalls = 4;
    s->hcalls[0].k = (struct top_hcall_key){ .dom = 2, .op = 1 };
    s->hcalls[0].v.count = 7;
    s->hcalls[1].k = (struct top_hcall_key){ .dom = 1, .op = 26 };
    s->hcalls[1].v.count = 5;
    s->hcalls[2].k = (struct top_hcall_key){ .dom = 1, .op = 1 };
    s->hcalls[2].v.count = 10;
    /* The other host's dom 1 is its own row, after host 0's rows, and
       its rate is not against host 0's dom 1. */
    s->hcalls[3].k = (struct top_hcall_key){ .host = 1, .dom = 1, .op = 1 };
    s->hcalls[3].v.count = 4;
    top_sample_finish(s, prev);
    CHECK_EQ(s->hcalls[0].k.dom, 1);
    CHECK_EQ(s->hcalls[0].k.op, 1);
    CHECK_EQ(s->hcalls[1].k.op, 26);
    CHECK_EQ(s->hcalls[2].k.dom, 2);
    CHECK_EQ(s->hcalls[3].k.host, 1);
    CHECK_EQ((long long)(s->hcalls[0].rate * 10), 30);   /* (10-4)/2 s */
    CHECK_EQ((long long)(s->hcalls[1].rate * 10), 25);   /* new row: 5/2 s */
    CHECK_EQ((long long)(s->hcalls[2].rate * 10), 35);
    CHECK_EQ((long long)(s->hcalls[3].rate * 10), 20);   /* 4/2 s, not 0 */
    free(prev);
    free(s);
}

static void t_json(void)
{
    struct top_sample *s = sample();
    s->nr_hcalls = 1;
    s->hcalls[0].k = (struct top_hcall_key){ .dom = 1, .op = 1 };
    s->hcalls[0].v.count = 10;
    s->hcalls[0].v.errors = 1;
    s->hcalls[0].v.ns_sum = 10 * 3000;
    s->hcalls[0].v.hist[11] = 9;
    s->hcalls[0].v.hist[20] = 1;
    s->nr_faults = 2;
    s->faults[0] = (struct top_fault_row){ .dom = 1, .outcome = HVF_BOUNCED, .count = 3 };
    s->faults[1] = (struct top_fault_row){ .dom = 1, .outcome = HVF_SPURIOUS, .count = 2 };
    s->nr_faults = 3;
    s->faults[2] = (struct top_fault_row){ .host = 2, .dom = 1,
                                           .outcome = HVF_NPF_FIXED, .count = 6 };
    s->locks[LOCK_P2M].contended = 4;
    s->locks[LOCK_P2M].wait_hist[12] = 4;
    s->nr_mig = 5;
    s->mig[0] = (struct top_mig_round){ .seq = 1, .dom = 3, .iter = 1,
                                        .sent = 900, .dirtied = 900,
                                        .ns = 250000000,
                                        .clean_ns = 1000000000 };
    /* host 1's dom 3 is another domain: never dom 3's previous round */
    s->mig[1] = (struct top_mig_round){ .seq = 2, .host = 1, .dom = 3,
                                        .iter = 0, .sent = 10, .dirtied = 10,
                                        .ns = 1000, .clean_ns = 1200000000 };
    /* 500 pages between CLEANs 0.4 s apart (the round took 0.1 s) */
    s->mig[2] = (struct top_mig_round){ .seq = 3, .dom = 3, .iter = 2,
                                        .kind = MIG_ROUND_FINAL,
                                        .sent = 700, .dirtied = 500,
                                        .ns = 100000000,
                                        .clean_ns = 1400000000 };
    /* the verify pass: no rate, and not a previous round */
    s->mig[3] = (struct top_mig_round){ .seq = 4, .dom = 3, .iter = 3,
                                        .kind = MIG_ROUND_VERIFY,
                                        .sent = 1024, .ns = 5000 };
    s->mig[4] = (struct top_mig_round){ .seq = 5, .dom = 3, .iter = 4,
                                        .sent = 100, .dirtied = 100,
                                        .ns = 5000, .clean_ns = 1600000000 };
    s->nr_grants = 1;
    s->grants[0] = (struct top_grant_row){ .host = 1, .dom = 2, .maps = 6, .unmaps = 5,
                                           .unmap_errors = 1 };
    s->nr_injects = 1;
    s->injects[0] = (struct top_inject_row){ .point = 0, .action = INJ_FAIL, .count = 2 };
    top_sample_finish(s, NULL);
    char *j = json_of(s);
    static const char *const want[] = {
        "{\"pid\":42,\"interval_s\":2.000,\"hypercalls\":[{\"host\":0,"
            "\"dom\":1,\"op\":1,"
            "\"name\":\"mmu_update\",\"count\":10,\"errors\":1,\"untimed\":0,"
            "\"rate\":5.0,"
            "\"mean_ns\":3000,\"p50_ns\":4095,\"p99_ns\":2097151,\"hist\":"
            "[0,0,0,0,0,0,0,0,0,0,0,9,",
        "\"faults\":[{\"host\":0,\"dom\":1,\"outcome\":\"spurious\","
            "\"class\":\"fast\",\"count\":2},{\"host\":0,\"dom\":1,"
            "\"outcome\":\"bounced\",\"class\":\"bounced\",\"count\":3},"
            "{\"host\":2,\"dom\":1,\"outcome\":\"npf_fixed\","
            "\"class\":\"fixed\",\"count\":6}]",
            /* sorted: host, dom, then HVF_SPURIOUS < HVF_BOUNCED */
        "\"locks\":[{\"class\":30,\"name\":\"p2m\",\"contended\":4,\"wait_ns\":0,"
            "\"wait_p50_ns\":8191,\"wait_p99_ns\":8191,",
        /* P6: a first round has no rate; the next is dirtied over the
           CLEAN-to-CLEAN window of its (host, dom) */
        "\"migration\":[{\"host\":0,\"dom\":3,\"iter\":1,\"kind\":\"live\","
            "\"final\":false,\"sent\":900,"
            "\"dirtied\":900,\"ns\":250000000,\"dirty_pages_per_s\":0},"
            "{\"host\":1,\"dom\":3,\"iter\":0,\"kind\":\"live\",",
        "\"dirtied\":10,\"ns\":1000,\"dirty_pages_per_s\":0}",
        "{\"host\":0,\"dom\":3,\"iter\":2,\"kind\":\"final\",\"final\":true,"
            "\"sent\":700,\"dirtied\":500,\"ns\":100000000,"
            "\"dirty_pages_per_s\":1250}",
        "{\"host\":0,\"dom\":3,\"iter\":3,\"kind\":\"verify\",\"final\":false,"
            "\"sent\":1024,\"dirtied\":0,\"ns\":5000,\"dirty_pages_per_s\":0}",
        /* after a verify round: against the final round's CLEAN, 0.2 s */
        "{\"host\":0,\"dom\":3,\"iter\":4,\"kind\":\"live\",\"final\":false,"
            "\"sent\":100,\"dirtied\":100,\"ns\":5000,"
            "\"dirty_pages_per_s\":500}]",
        "\"grants\":[{\"host\":1,\"dom\":2,\"maps\":6,\"map_errors\":0,"
            "\"unmaps\":5,\"unmap_errors\":1}]",
        "\"injections\":[{\"point\":\"",
        "\"action\":\"fail\",\"count\":2}],\"dropped\":0}\n",
    };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(j, want[i])) {
            fprintf(stderr, "  missing: %s\n  in: %s", want[i], j);
            test_failures++;
        }
    /* One line, balanced brackets and braces outside strings. */
    int depth = 0, in_str = 0, lines = 0, bad = 0;
    for (const char *p = j; *p; p++) {
        if (*p == '"')
            in_str = !in_str;
        else if (!in_str && (*p == '{' || *p == '['))
            depth++;
        else if (!in_str && (*p == '}' || *p == ']'))
            bad |= --depth < 0;
        else if (*p == '\n')
            lines++;
    }
    CHECK_EQ(depth, 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(in_str, 0);
    CHECK_EQ(lines, 1);
    free(j);
    free(s);
}

/* The table: a HOST column in every section about domains, and the
   round's kind. */
static void t_table(void)
{
    struct top_sample *s = sample();
    s->nr_hcalls = 1;
    s->hcalls[0].k = (struct top_hcall_key){ .host = 7, .dom = 1, .op = 1 };
    s->hcalls[0].v.count = 3;
    s->hcalls[0].v.hist[4] = 3;
    s->nr_mig = 1;
    s->mig[0] = (struct top_mig_round){ .seq = 1, .host = 7, .dom = 1,
                                        .iter = 5, .kind = MIG_ROUND_VERIFY,
                                        .sent = 9 };
    top_sample_finish(s, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    top_sample_table(f, s, 0);
    fclose(f);
    CHECK(strstr(buf, "HOST DOM   HYPERCALL") != NULL);
    CHECK(strstr(buf, "\n7    1     mmu_update") != NULL);
    CHECK(strstr(buf, "HOST DOM   ROUND   KIND") != NULL);
    CHECK(strstr(buf, "\n7    1         5 verify") != NULL);
    free(buf);
    free(s);
}

static void t_json_empty(void)
{
    struct top_sample *s = sample();
    char *j = json_of(s);
    CHECK(strcmp(j, "{\"pid\":42,\"interval_s\":2.000,\"hypercalls\":[],"
                    "\"faults\":[],\"locks\":[],\"migration\":[],\"grants\":[],"
                    "\"injections\":[],\"dropped\":0}\n") == 0);
    free(j);
    free(s);
}

/* A fake /proc: PID/exe symlinks (dangling is fine: readlink only) and
   PID/cmdline files. */
static void fake_proc_ppid(const char *root, int pid, const char *exe,
                           const char *cmdline, size_t cmdlen, int ppid);

static void fake_proc(const char *root, int pid, const char *exe,
                      const char *cmdline, size_t cmdlen)
{
    fake_proc_ppid(root, pid, exe, cmdline, cmdlen, 1);
}

/* ... and PID/stat naming ppid (its comm with a space and a ')'). */
static void fake_proc_ppid(const char *root, int pid, const char *exe,
                           const char *cmdline, size_t cmdlen, int ppid)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%d", root, pid);
    REQUIRE(mkdir(path, 0755) == 0);
    snprintf(path, sizeof(path), "%s/%d/exe", root, pid);
    REQUIRE(symlink(exe, path) == 0);
    snprintf(path, sizeof(path), "%s/%d/cmdline", root, pid);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fwrite(cmdline, 1, cmdlen, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
    f = fopen(path, "w");
    REQUIRE(f != NULL);
    fprintf(f, "%d (hv lab) x) S %d %d 0 0\n", pid, ppid, ppid);
    fclose(f);
}

static void t_find_process(void)
{
    char root[] = "/tmp/hvlab-test-top.XXXXXX";
    REQUIRE(mkdtemp(root) != NULL);
    fake_proc(root, 100, "/work/build/hvlab", "hvlab\0run\0x.hvl", 16);
    fake_proc(root, 101, "/usr/bin/bash", "bash", 5);
    fake_proc(root, 102, "/work/build/hvlab (deleted)", "hvlab\0run", 10);
    fake_proc(root, 103, "/work/build/hvlab", "hvlab\0top\0--once", 17);
    fake_proc(root, 104, "/work/build/hvlab", "hvlab\0top", 10);
    fake_proc(root, 105, "/work/build/hvlab-old", "hvlab-old\0run", 14);
    fake_proc(root, 106, "/work/build/tests/unit/test-top", "test-top", 9);
    char path[512];
    snprintf(path, sizeof(path), "%s/self", root);     /* not a pid */
    REQUIRE(mkdir(path, 0755) == 0);

    /* Not running a machine: analyze, help, no argv[1]. */
    fake_proc(root, 107, "/work/build/hvlab", "hvlab\0analyze\0t", 16);
    fake_proc(root, 108, "/work/build/hvlab", "hvlab\0help", 11);
    fake_proc(root, 109, "/work/build/hvlab", "hvlab", 6);

    pid_t found[8] = { 0 };
    int n = top_find_hvlab(root, 104, found, 8);
    CHECK_EQ(n, 2);
    int saw100 = 0, saw102 = 0;
    for (int i = 0; i < n && i < 8; i++) {
        saw100 |= found[i] == 100;
        saw102 |= found[i] == 102;
    }
    CHECK(saw100 && saw102);
    /* More candidates than room: the count, and max pids filled. */
    CHECK_EQ(top_find_hvlab(root, 0, found, 1), 2);
    CHECK_EQ(top_is_hvlab(root, 100), 1);
    CHECK_EQ(top_is_hvlab(root, 101), 0);
    CHECK_EQ(top_is_hvlab(root, 103), 0);           /* an hvlab top */
    CHECK_EQ(top_is_hvlab(root, 105), 0);
    CHECK_EQ(top_is_hvlab(root, 107), 0);           /* an hvlab analyze */
    CHECK_EQ(top_is_hvlab(root, 108), 0);
    CHECK_EQ(top_is_hvlab(root, 109), 0);
    CHECK_EQ(top_is_hvlab(root, 999), 0);           /* no such process */
    CHECK_EQ(top_find_hvlab("/nonexistent-proc", 0, found, 8), 0);

    char cl[64];
    CHECK(strcmp(top_cmdline(root, 100, cl, sizeof(cl)), "hvlab run x.hvl") == 0);
    CHECK(strcmp(top_cmdline(root, 999, cl, sizeof(cl)), "") == 0);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_EQ(system(cmd), 0);

    /* The --trace controller and its re-executed child: the child only.
       explore --jobs: its workers, not the parent (two remain). */
    char root2[] = "/tmp/hvlab-test-top.XXXXXX";
    REQUIRE(mkdtemp(root2) != NULL);
    fake_proc_ppid(root2, 200, "/b/hvlab", "hvlab\0run\0s\0--trace\0d", 22, 1);
    fake_proc_ppid(root2, 201, "/b/hvlab", "hvlab\0run\0s", 12, 200);
    CHECK_EQ(top_find_hvlab(root2, 0, found, 8), 1);
    CHECK_EQ(found[0], 201);
    fake_proc_ppid(root2, 300, "/b/hvlab", "hvlab\0explore\0s", 16, 1);
    fake_proc_ppid(root2, 301, "/b/hvlab", "hvlab\0explore\0s", 16, 300);
    fake_proc_ppid(root2, 302, "/b/hvlab", "hvlab\0explore\0s", 16, 300);
    n = top_find_hvlab(root2, 0, found, 8);
    CHECK_EQ(n, 3);
    int saw300 = 0;
    for (int i = 0; i < n && i < 8; i++)
        saw300 |= found[i] == 300 || found[i] == 200;
    CHECK_EQ(saw300, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root2);
    CHECK_EQ(system(cmd), 0);
    return;

}

/* U2: an unattached probe evaluates none of its arguments; with its
   semaphore raised (as the kernel does when a uprobe is attached) it does,
   once each, and executes the nop. */
static int evaluated;
static uint64_t arg(uint64_t v)
{
    evaluated++;
    return v;
}

static void t_usdt_semaphore(void)
{
    evaluated = 0;
    hvlab_grant_map_semaphore = 0;
    HV_USDT(grant_map, arg(1), arg(2), arg(3), arg(4));
    CHECK_EQ(evaluated, 0);
    CHECK_EQ(HV_USDT_ENABLED(grant_map), 0);
    hvlab_grant_map_semaphore = 1;
    CHECK(HV_USDT_ENABLED(grant_map));
    HV_USDT(grant_map, arg(1), arg(2), arg(3), arg(4));
    CHECK_EQ(evaluated, 4);
    hvlab_grant_map_semaphore = 0;
    CHECK(!HV_USDT_ENABLED(hcall_entry));
    CHECK(HV_USDT_UNTIMED == TOP_NS_UNTIMED);  /* one sentinel, two headers */
    /* U8: the widest probe, 8 arguments, each evaluated once. */
    evaluated = 0;
    hvlab_mig_round_semaphore = 1;
    HV_USDT(mig_round, arg(1), arg(2), arg(3), arg(4), arg(5), arg(6),
            arg(7), arg(8));
    hvlab_mig_round_semaphore = 0;
    CHECK_EQ(evaluated, 8);
    uint64_t t0 = hv_usdt_now_ns(), t1 = hv_usdt_now_ns();
    CHECK(t0 > 0 && t1 >= t0);
}

static const struct test tests[] = {
    { "percentile: the upper edge of the log2 bucket holding the rank", t_percentile },
    { "names: Xen's hypercall names and numbers, lock classes", t_names },
    { "faults: every outcome falls in its class (fast/fixed/slow/bounced/killed)", t_fault_classes },
    { "sample: rows sorted by host, domain and hypercall, rates against the previous sample", t_sort_and_rate },
    { "json: one line with every section's exact figures", t_json },
    { "json: an empty sample has every key with empty lists", t_json_empty },
    { "table: host column in every domain section, a round's kind", t_table },
    { "process: hvlab processes running a machine are found, not tops, analyzers or the parents of candidates", t_find_process },
    { "usdt: an unattached probe evaluates nothing, an enabled one its arguments", t_usdt_semaphore },
};

TEST_MAIN(tests)
