/*
 * tests/unit/test-analysis-cli.c - what `hvlab analyze` and the babeltrace2
 * plugin share in the engine (analysis/analyze.c N7, N8): the one check of
 * an --only list, losses counted by kind, and the engine giving back every
 * byte it took (state_free frees the debt table of state_untraced.c).
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>

#include "analysis/analyze.h"
#include "analysis/analyze_read.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/state_private.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define WRITABLE (7ULL << 61)

static void t_only_good(void)
{
    char *buf = NULL, err[256] = "";
    const char *only[AZ_MAX_ONLY + 1];
    CHECK_EQ(az_only_parse("story-e,inv.3,rebuild.untraced", &buf, only, err,
                           sizeof err), 3);
    CHECK(!strcmp(only[0], "story-e"));
    CHECK(!strcmp(only[2], "rebuild.untraced"));
    CHECK(only[3] == NULL);
    free(buf);
}

static void t_only_unknown(void)
{
    char *buf = NULL, err[256] = "";
    const char *only[AZ_MAX_ONLY + 1];
    CHECK_EQ(az_only_parse("inv.3,nosuch", &buf, only, err, sizeof err), -1);
    CHECK(strstr(err, "'nosuch'") != NULL);
    CHECK(only[0] == NULL);
    free(buf);
    CHECK(!az_only_known("inv.30"));
    CHECK(!az_only_known("story"));          /* a prefix ends at a dot */
    CHECK(az_only_known("image.differs"));
}

static void t_only_empty(void)
{
    char *buf = NULL, err[256] = "";
    const char *only[AZ_MAX_ONLY + 1];
    CHECK_EQ(az_only_parse("", &buf, only, err, sizeof err), -1);
    CHECK(strstr(err, "no checker name") != NULL);
    free(buf);
    buf = NULL;
    CHECK_EQ(az_only_parse(",,", &buf, only, err, sizeof err), -1);
    free(buf);
}

static void t_only_too_many(void)
{
    char spec[AZ_MAX_ONLY * 8 + 16] = "";
    char *buf = NULL, err[256] = "";
    const char *only[AZ_MAX_ONLY + 1];
    for (int i = 0; i < AZ_MAX_ONLY; i++)
        strcat(spec, i ? ",inv.3" : "inv.3");
    CHECK_EQ(az_only_parse(spec, &buf, only, err, sizeof err), AZ_MAX_ONLY);
    CHECK(only[AZ_MAX_ONLY] == NULL);
    free(buf);
    buf = NULL;
    strcat(spec, ",inv.5");                 /* one more: refused, not cut */
    CHECK_EQ(az_only_parse(spec, &buf, only, err, sizeof err), -1);
    CHECK(strstr(err, "more than 64") != NULL);
    free(buf);
}

static void t_losses_apart(void)
{
    char w[256];
    struct az *az = az_new(NULL);
    REQUIRE(az);
    CHECK(!strcmp(az_loss_words(az, w, sizeof w), ""));
    az_discarded_packets(az, 2);
    CHECK_EQ(az_discarded_events(az), 0);      /* packets are not events */
    CHECK_EQ(az_discarded_packet_count(az), 2);
    CHECK(strstr(az_loss_words(az, w, sizeof w), "2 discarded packets") != NULL);
    CHECK(strstr(w, "event") == NULL || strstr(w, "not counted") != NULL);
    az_discarded(az, 7);
    CHECK(!strcmp(az_loss_words(az, w, sizeof w),
                  "7 discarded events and 2 discarded packets"));
    CHECK(!az_discarded_unknown(az));
    az_discarded(az, 0);                       /* no count: a lower bound */
    CHECK(az_discarded_unknown(az));
    CHECK_EQ(az_discarded_events(az), 8);
    CHECK(strstr(az_loss_words(az, w, sizeof w), "at least 8 discarded events")
          != NULL);
    az_free(az);
}

/* One engine's life with an open debt (state_untraced.c P3). */
static void one_life(void)
{
    A = az_new(NULL);
    REQUIRE(A);
    SEQ = 0;
    feed(HVE_mm_type_change, HVF_host, U(0), HVF_mfn, U(0x33), HVF_owner, U(1),
         HVF_old_type, U(0), HVF_new_type, WRITABLE | 1, -1);
    feed(HVE_mm_type_change, HVF_host, U(0), HVF_mfn, U(0x33), HVF_owner, U(1),
         HVF_old_type, WRITABLE | 5, HVF_new_type, WRITABLE | 6, -1);
    az_end(A);
    CHECK_EQ(nfind("rebuild.untraced"), 1);
    az_free(A);
    A = NULL;
}

static size_t in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void t_no_leak(void)
{
    one_life();                         /* warm-up: stdio, lazy tables */
    one_life();
    size_t before = in_use();
    one_life();
    size_t after = in_use();
    /* the debt table is DEBT_CAP debts (~5 MB); glibc's own bookkeeping
       moves by a few KB from one life to the next, valgrind sees none */
    size_t table = (size_t)DEBT_CAP * sizeof(struct debt);
    if (after > before + table / 64)
        fprintf(stderr, "  %zu bytes before, %zu after (debt table %zu)\n",
                before, after, table);
    CHECK(after <= before + table / 64);
}

static const struct test tests[] = {
    { "N7: an --only list of known names and prefixes is accepted", t_only_good },
    { "N7: a name that selects no checker is refused, naming it", t_only_unknown },
    { "N7: an empty --only list is refused, not taken for 'all'", t_only_empty },
    { "N7: 64 names are accepted, a 65th is refused, never cut silently", t_only_too_many },
    { "N8: discarded packets are counted apart from discarded events, unknown counts make lower bounds", t_losses_apart },
    { "state_free gives back the debt table: an engine's life leaks nothing", t_no_leak },
};

TEST_MAIN(tests)
