/*
 * tests/unit/test-scenario-parse.c - the scenario file parser.
 *
 * Good files parse into what they say (defaults filled in); bad files are
 * refused with "FILE:LINE: " naming the exact line and what was wrong.
 */
#include "tests/unit/test.h"
#include "toolstack/scenario.h"

static struct scenario *parse(const char *text, char *err, size_t len)
{
    err[0] = '\0';
    return scenario_parse_text("t.hvl", text, err, len);
}

/* A domain and its workload, nothing else: every default applies. */
static void t_minimal(void)
{
    char err[1024];
    struct scenario *sc = parse("domain g\nworkload g fork-storm\n", err, sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->nr_domains, 1);
    CHECK(strcmp(sc->dom[0].name, "g") == 0);
    CHECK_EQ(sc->dom[0].kind, DOMAIN_PV);
    CHECK_EQ(sc->dom[0].nr_vcpus, 1);
    CHECK_EQ(sc->dom[0].nr_pages, (64 << 20) >> 12);
    CHECK_EQ(sc->dom[0].wl.kind, WL_FORK_STORM);
    CHECK_EQ(sc->dom[0].wl.procs, 4);
    CHECK_EQ(sc->dom[0].wl.threads, 1);
    CHECK_EQ(sc->dom[0].wl.iters, 10);
    CHECK_EQ(sc->dom[0].wl.pages, 16);
    CHECK_EQ(sc->seed, 0);
    CHECK_EQ(sc->nr_expects, 0);
    CHECK(sc->ram_bytes >= (64ULL << 20));
    CHECK_EQ(sc->hv.ptwr_mode, PTWR_EMULATE);
    scenario_free(sc);
}

/* Every directive, comments, blank lines, two domains. */
static void t_full(void)
{
    static const char text[] =
        "# a comment line\n"
        "machine ram=512M host=3   # trailing comment\n"
        "\n"
        "domain a kind=pv vcpus=4 memory=64M\n"
        "domain b vcpus=2 memory=32768K\n"
        "workload a fork-storm procs=8 threads=2 iters=20 pages=32\n"
        "workload b memtouch pages=0x10\n"
        "set ptwr.mode=unhook\n"
        "set guest.spurious_check=off\n"
        "seed 42\n"
        "expect audit-clean\n"
        "expect min-forks 100\n"
        "\t expect no-spurious-fault\n";
    char err[1024];
    struct scenario *sc = parse(text, err, sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->ram_bytes, 512ULL << 20);
    CHECK_EQ(sc->host_id, 3);
    CHECK_EQ(sc->nr_domains, 2);
    CHECK_EQ(sc->dom[0].nr_vcpus, 4);
    CHECK_EQ(sc->dom[0].line, 4);
    CHECK_EQ(sc->dom[1].nr_pages, 8192);
    CHECK_EQ(sc->dom[0].wl.procs, 8);
    CHECK_EQ(sc->dom[0].wl.threads, 2);
    CHECK_EQ(sc->dom[0].wl.iters, 20);
    CHECK_EQ(sc->dom[0].wl.pages, 32);
    CHECK_EQ(sc->dom[1].wl.kind, WL_MEMTOUCH);
    CHECK_EQ(sc->dom[1].wl.pages, 16);
    CHECK_EQ(sc->hv.ptwr_mode, PTWR_UNHOOK);
    CHECK_EQ(sc->guest.spurious_check, 0);
    CHECK_EQ(sc->seed, 42);
    CHECK_EQ(sc->nr_expects, 3);
    CHECK(strcmp(sc->expect[0].kind->name, "audit-clean") == 0);
    CHECK_EQ(sc->expect[1].arg, 100);
    CHECK_EQ(sc->expect[1].line, 12);
    CHECK_EQ(sc->expect[2].line, 13);
    scenario_free(sc);
}

/* --set is applied after the file's own set lines, so it wins. */
static void t_set_overrides(void)
{
    char err[1024];
    struct scenario *sc = parse("set ptwr.mode=emulate\ndomain g\n"
                                "workload g fork-storm\n", err, sizeof(err));
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->hv.ptwr_mode, PTWR_EMULATE);
    CHECK_EQ(scenario_set(sc, "ptwr.mode=unhook", "--set", err, sizeof(err)), 0);
    CHECK_EQ(sc->hv.ptwr_mode, PTWR_UNHOOK);
    CHECK_EQ(scenario_set(sc, "guest.spurious_check=off", "--set", err,
                          sizeof(err)), 0);
    CHECK_EQ(sc->guest.spurious_check, 0);
    scenario_free(sc);
}

/* A bad --set names itself and, for an unknown key, every known key. */
static void t_set_bad(void)
{
    char err[1024];
    struct scenario *sc = parse("domain g\nworkload g fork-storm\n", err, sizeof(err));
    REQUIRE(sc != NULL);
    CHECK_EQ(scenario_set(sc, "nosuch.key=1", "--set", err, sizeof(err)), -1);
    CHECK(strstr(err, "--set nosuch.key=1") != NULL);
    CHECK(strstr(err, "ptwr.mode") != NULL);
    CHECK(strstr(err, "guest.spurious_check") != NULL);
    CHECK_EQ(scenario_set(sc, "ptwr.mode=sideways", "--set", err, sizeof(err)), -1);
    CHECK(strstr(err, "sideways") != NULL);
    CHECK_EQ(scenario_set(sc, "ptwr.mode", "--set", err, sizeof(err)), -1);
    CHECK_EQ(sc->hv.ptwr_mode, PTWR_EMULATE);
    scenario_free(sc);
}

/* Bad files: the error starts with "t.hvl:LINE: " and says what was wrong. */
struct bad_case {
    const char *what;
    const char *text;
    unsigned line;
    const char *says;       /* a piece of the message */
};

#define OK_DOM "domain g\nworkload g fork-storm\n"     /* lines 1-2 */

static const struct bad_case bad_cases[] = {
    { "unknown directive",      OK_DOM "frobnicate now\n", 3, "unknown directive 'frobnicate'" },
    { "directive list offered", OK_DOM "dom g\n", 3, "machine, domain, workload" },
    { "domain without a name",  "domain\n", 1, "missing its name" },
    { "domain name is bad",     "domain 9lives\n", 1, "not a name" },
    { "domain declared twice",  OK_DOM "domain g\n", 3, "declared twice (first on line 1)" },
    { "domain unknown key",     "domain g cpus=4\n", 1, "unknown parameter 'cpus'" },
    { "vcpus not a number",     "domain g vcpus=four\n", 1, "vcpus=four is not a number" },
    { "vcpus zero",             "domain g vcpus=0\n", 1, "out of range" },
    { "vcpus too many",         "domain g vcpus=65\n", 1, "out of range" },
    { "memory not a size",      "domain g memory=12Q\n", 1, "not a size" },
    { "memory too small",       "domain g memory=4K\n", 1, "out of range" },
    { "paging on a pv domain",    "domain g kind=pv paging=hap\n", 1, "paging= is for kind=hvm" },
    { "paging bogus",           "domain g kind=hvm paging=nested\n", 1, "paging must be shadow or hap" },
    { "kind unknown",           "domain g kind=xx\n", 1, "kind must be pv" },
    { "parameter without =",    "domain g vcpus 4\n", 1, "expected key=value" },
    { "workload no domain",     "domain g\nworkload h fork-storm\n", 2, "no domain 'h' (domains: g)" },
    { "workload unknown kind",  "domain g\nworkload g forkbomb\n", 2, "unknown kind 'forkbomb'" },
    { "workload kinds listed",  "domain g\nworkload g forkbomb\n", 2, "fork-storm" },
    { "workload twice",         OK_DOM "workload g memtouch\n", 3, "already has one (line 2)" },
    { "workload bad value",     "domain g\nworkload g fork-storm procs=-1\n", 2, "procs=-1 is not a number" },
    { "workload missing kind",  "domain g\nworkload g\n", 2, "workload DOMAIN KIND" },
    { "set unknown key",        OK_DOM "set ptwr.speed=fast\n", 3, "unknown option 'ptwr.speed'" },
    { "set lists known keys",   OK_DOM "set ptwr.speed=fast\n", 3, "ptwr.mode" },
    { "set bad value",          OK_DOM "\nset ptwr.mode=maybe\n", 4, "maybe" },
    { "set spaced",             OK_DOM "set ptwr.mode = unhook\n", 3, "exactly one key=value" },
    { "seed not a number",      OK_DOM "seed abc\n", 3, "seed: expected one number" },
    { "expect unknown",         OK_DOM "expect miracles\n", 3, "unknown expectation 'miracles'" },
    { "expect list offered",    OK_DOM "expect miracles\n", 3, "audit-clean" },
    { "expect missing arg",     OK_DOM "expect min-forks\n", 3, "takes one number" },
    { "expect bad arg",         OK_DOM "expect min-forks many\n", 3, "must be a number" },
    { "expect extra arg",       OK_DOM "expect audit-clean 3\n", 3, "takes no argument" },
    { "machine twice",          "machine ram=1G\nmachine ram=1G\n" OK_DOM, 2, "declared twice" },
    { "machine unknown key",    "machine cpus=4\n", 1, "unknown parameter 'cpus'" },
    { "machine too small",      "\nmachine ram=32M\n" "domain g memory=64M\nworkload g fork-storm\n",
                                2, "cannot hold its domains" },
    { "domain has no workload", "domain g\ndomain h\nworkload h fork-storm\n", 1,
                                "domain 'g' has no workload" },
    { "no domain at all",       "# empty\nseed 1\n", 3, "no domain declared" },
};

static void t_bad_files(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        char err[1024], want[32];
        struct scenario *sc = parse(c->text, err, sizeof(err));
        snprintf(want, sizeof(want), "t.hvl:%u: ", c->line);
        if (sc) {
            fprintf(stderr, "  %s: parsed, expected an error\n", c->what);
            test_failures++;
            scenario_free(sc);
            continue;
        }
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, c->says)) {
            fprintf(stderr, "  %s: got \"%s\", expected \"%s...%s\"\n", c->what,
                    err, want, c->says);
            test_failures++;
        }
    }
}

/* A privileged domain with the story-B workload: its arguments parse, and
   every misuse is refused naming the line. */
static void t_privileged_race(void)
{
    static const char text[] =
        "domain g kind=hvm paging=hap memory=4M\n"
        "workload g memtouch\n"
        "domain dom0 kind=pv privileged vcpus=2 memory=4M\n"
        "workload dom0 p2m-race target=g gfns=8 iters=50 sharing=on\n";
    char err[1024];
    struct scenario *sc = parse(text, err, sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    CHECK(!sc->dom[0].privileged);
    CHECK(sc->dom[1].privileged);
    CHECK_EQ(sc->dom[1].nr_vcpus, 2);
    CHECK_EQ(sc->dom[1].wl.kind, WL_P2M_RACE);
    CHECK_EQ(sc->dom[1].wl_target, 1);             /* index + 1 of g */
    CHECK_EQ(sc->dom[1].wl.gfns, 8);
    CHECK_EQ(sc->dom[1].wl.iters, 50);
    CHECK(sc->dom[1].wl.sharing);
    scenario_free(sc);

    static const struct { const char *text; const char *says; } bad[] = {
        { "domain g kind=hvm\nworkload g memtouch\ndomain d privileged\n"
          "workload d p2m-race\n", "needs target=NAME" },
        { "domain g kind=hvm\nworkload g memtouch\ndomain d\n"
          "workload d p2m-race target=g\n", "runs in a privileged domain" },
        { "domain g\nworkload g memtouch\ndomain d privileged\n"
          "workload d p2m-race target=g\n", "must be another, kind=hvm" },
        { "domain g kind=hvm\nworkload g memtouch\ndomain d privileged\n"
          "workload d p2m-race target=nope\n", "names no domain declared above" },
        { "domain g kind=hvm\nworkload g memtouch\ndomain d privileged\n"
          "workload d p2m-race target=g sharing=yes\n", "must be on or off" },
        { "domain g kind=hvm\nworkload g memtouch target=g\n",
          "are for p2m-race" },
        { "domain a privileged\ndomain b privileged\n", "one privileged domain" },
        { "domain a kind=hvm privileged\n", "a privileged domain is kind=pv" },
        { "domain g kind=hvm memory=1M\nworkload g memtouch\n"
          "domain d privileged\nworkload d p2m-race target=g gfns=256\n",
          "leaves target 'g' no memory" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        sc = parse(bad[i].text, err, sizeof(err));
        CHECK(sc == NULL);
        scenario_free(sc);
        if (!strstr(err, bad[i].says)) {
            fprintf(stderr, "  case %zu: got \"%s\", expected \"%s\"\n", i,
                    err, bad[i].says);
            test_failures++;
        }
    }
}

/* A file that does not exist is named with the reason. */
static void t_missing_file(void)
{
    char err[512];
    struct scenario *sc = scenario_parse_file("no/such/file.hvl", err, sizeof(err));
    CHECK(sc == NULL);
    CHECK(strstr(err, "no/such/file.hvl: cannot open scenario") != NULL);
}

/* Sizes: plain bytes, K/M/G with optional iB/B; junk refused. */
static void t_sizes(void)
{
    static const struct { const char *s; int rc; uint64_t bytes; } cases[] = {
        { "4096", 0, 4096 }, { "64M", 0, 64ULL << 20 }, { "1G", 0, 1ULL << 30 },
        { "16k", 0, 16384 }, { "2MiB", 0, 2ULL << 20 }, { "3GB", 0, 3ULL << 30 },
        { "", -1, 0 }, { "M", -1, 0 }, { "-1M", -1, 0 }, { "1T", -1, 0 },
        { "1MX", -1, 0 }, { "99999999999999999999", -1, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t b = 0;
        int rc = scenario_parse_size(cases[i].s, &b);
        if (rc != cases[i].rc || (rc == 0 && b != cases[i].bytes)) {
            fprintf(stderr, "  size '%s': rc %d bytes %llu\n", cases[i].s, rc,
                    (unsigned long long)b);
            test_failures++;
        }
    }
}

/* The scenarios shipped in scenarios/ all parse. */
static void t_shipped(void)
{
    static const char *const files[] = {
        "scenarios/pv-fork-storm.hvl", "scenarios/ptwr-unhook-spurious.hvl",
        "scenarios/p2m-lookup-race.hvl", "scenarios/p2m-lookup-race-sharing.hvl",
    };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char err[1024];
        struct scenario *sc = scenario_parse_file(files[i], err, sizeof(err));
        if (!sc) {
            fprintf(stderr, "  %s\n", err);
            test_failures++;
            continue;
        }
        CHECK(sc->nr_expects > 0);
        scenario_free(sc);
    }
}

/* grant-poc: xsa= names one of the five advisories, PV only, and xsa= is
   refused on any other workload; each error names its line. */
static void t_grant_poc(void)
{
    char err[1024];
    struct scenario *sc = scenario_parse_text("g.hvl",
        "domain g kind=pv\nworkload g grant-poc xsa=234\n", err, sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->dom[0].wl.kind, WL_GRANT_POC);
    CHECK_EQ(sc->dom[0].wl.xsa, 234);
    scenario_free(sc);

    static const struct { const char *text, *why; } bad[] = {
        { "domain g\nworkload g grant-poc\n", "needs xsa=224, 227, 234, 255 or 316" },
        { "domain g\nworkload g grant-poc xsa=225\n", "needs xsa=224" },
        { "domain g\nworkload g grant-poc xsa=999\n", "out of range" },
        { "domain g kind=hvm\nworkload g grant-poc xsa=224\n", "runs in a PV domain" },
        { "domain g\nworkload g memtouch xsa=224\n", "xsa= is for grant-poc" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc = scenario_parse_text("g.hvl", bad[i].text, err, sizeof(err));
        CHECK(sc == NULL);
        if (sc) {
            scenario_free(sc);
            continue;
        }
        if (!strstr(err, bad[i].why) || !strstr(err, "g.hvl:2"))
            fprintf(stderr, "  case %u: %s\n", i, err);
        CHECK(strstr(err, bad[i].why) != NULL);
        CHECK(strstr(err, "g.hvl:2") != NULL);
    }
}

static const struct test tests[] = {
    { "grant-poc takes xsa= (one of the five, PV only); misuses name their line", t_grant_poc },
    { "a domain and a workload alone parse with every default", t_minimal },
    { "a file using every directive parses into what it says", t_full },
    { "--set overrides the scenario's own set lines", t_set_overrides },
    { "a bad --set names itself and lists the known keys", t_set_bad },
    { "every bad file is refused naming its exact line and the mistake", t_bad_files },
    { "a privileged domain's p2m-race workload parses; misuses are refused", t_privileged_race },
    { "a missing scenario file is named with the reason", t_missing_file },
    { "sizes take K/M/G suffixes and refuse junk", t_sizes },
    { "the shipped scenarios parse", t_shipped },
};
TEST_MAIN(tests)
