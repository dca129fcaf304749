/*
 * tests/unit/test-mig-config.c - the config a migration between two hvlab
 * processes carries in the xl header (toolstack/mig_config.h G1-G2).
 */
#include "tests/unit/test.h"
#include "core/types.h"
#include "toolstack/mig_config.h"
#include "toolstack/scenario.h"

/* Built, parsed back: every field, and the scenario text with the --set
   lines appended, which the scenario parser takes (a later set wins). */
static void t_roundtrip(void)
{
    struct mig_config c = { .seed = 7, .from_host = 3 };
    snprintf(c.scenario, sizeof(c.scenario), "scenarios/x.hvl");
    snprintf(c.disk, sizeof(c.disk), "/dev/shm/d.disk");
    const char *text = "domain guest kind=pv vcpus=1 memory=8M\n"
                       "workload guest memtouch procs=1 iters=10 pages=4\n"
                       "set guest.spurious_check=on\n"
                       "migrate guest";          /* no final newline */
    const char *sets[] = { "guest.spurious_check=off" };
    size_t len = 0;
    char *buf = mig_config_build(&c, text, sets, 1, &len);
    REQUIRE(buf != NULL);
    CHECK_EQ(len, strlen(buf));
    struct mig_config p;
    char err[256];
    CHECK_EQ(mig_config_parse(buf, &p, err, sizeof(err)), 0);
    CHECK(strcmp(p.scenario, "scenarios/x.hvl") == 0);
    CHECK_EQ(p.seed, 7);
    CHECK_EQ(p.from_host, 3);
    CHECK(strcmp(p.disk, "/dev/shm/d.disk") == 0);
    CHECK(strstr(p.text, "migrate guest\nset guest.spurious_check=off\n"));
    struct scenario *sc = scenario_parse_text("t", p.text, err, sizeof(err));
    REQUIRE(sc != NULL);
    CHECK(!sc->guest.spurious_check);
    CHECK(sc->mig.set);
    scenario_free(sc);
    free(buf);
}

/* No disk line: disk is "". */
static void t_no_disk(void)
{
    struct mig_config c = { .seed = 1 };
    snprintf(c.scenario, sizeof(c.scenario), "s.hvl");
    size_t len;
    char *buf = mig_config_build(&c, "seed 1\n", NULL, 0, &len);
    REQUIRE(buf != NULL);
    struct mig_config p;
    char err[256];
    CHECK_EQ(mig_config_parse(buf, &p, err, sizeof(err)), 0);
    CHECK_EQ(p.disk[0], '\0');
    CHECK(strcmp(p.text, "seed 1\n") == 0);
    free(buf);
}

/* G2: every malformed config is -EINVAL naming the line or what is
   missing. */
static void t_rejects(void)
{
    static const struct { const char *in, *says; } bad[] = {
        { "", "no '---'" },
        { "hvlab-migration 1\nscenario s\nseed 1\nfrom-host 0\n", "no '---'" },
        { "hvlab-migration 2\n---\n", "line 1" },
        { "xl-config 1\n---\n", "expected 'hvlab-migration 1'" },
        { "hvlab-migration 1\nscenario s\nseed x\nfrom-host 0\n---\n", "line 3: bad value for seed" },
        { "hvlab-migration 1\nscenario s\nseed 1\nfrom-host 256\n---\n", "line 4" },
        { "hvlab-migration 1\nscenario s\nseed 1\nfrom-host -1\n---\n", "line 4" },
        { "hvlab-migration 1\nscenario s\nseed 1\nfrom-host 0\ncolour red\n---\n", "unknown key 'colour'" },
        { "hvlab-migration 1\nscenario\nseed 1\nfrom-host 0\n---\n", "line 2" },
        { "hvlab-migration 1\nseed 1\nfrom-host 0\n---\n", "missing 'scenario'" },
        { "hvlab-migration 1\nscenario s\nfrom-host 0\n---\n", "missing 'seed'" },
        { "hvlab-migration 1\nscenario s\nseed 1\n---\n", "missing 'from-host'" },
        { "hvlab-migration 1\nscenario s\nseed 1\nfrom-host 0\ndisk \n---\n", "line 5" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *buf = strdup(bad[i].in), err[256] = "";
        struct mig_config p;
        CHECK_EQ(mig_config_parse(buf, &p, err, sizeof(err)), -XEN_EINVAL);
        if (!strstr(err, bad[i].says))
            fprintf(stderr, "  case %zu: got '%s', wanted '%s'\n", i, err,
                    bad[i].says);
        CHECK(strstr(err, bad[i].says) != NULL);
        free(buf);
    }
}

static const struct test tests[] = {
    { "a config built and parsed back carries every field and the --set lines", t_roundtrip },
    { "without a disk the disk is empty and the text is the scenario's", t_no_disk },
    { "a malformed config is -EINVAL naming the line or what is missing", t_rejects },
};
TEST_MAIN(tests)
