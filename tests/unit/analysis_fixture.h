/*
 * tests/unit/analysis_fixture.h - synthetic traces for the tests of
 * analysis/: one engine, A, fed events built field by field, and questions
 * about the findings it made.
 *
 *   A = az_new(&(struct az_options){ 0 });  SEQ = 0;
 *   feed(HVE_mm_page_alloc, HVF_host, U(0), HVF_mfn, U(0x10),
 *        HVF_owner, U(1), HVF_tot_pages, U(1), -1);
 *   CHECK_EQ(nfind("inv.3"), 0);
 *
 * Event i gets seq i and the time (i + 1) ms, in the order fed.  Include it
 * after tests/unit/test.h.
 */
#ifndef HVLAB_TESTS_ANALYSIS_FIXTURE_H
#define HVLAB_TESTS_ANALYSIS_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"

#define U(x) ((uint64_t)(x))

static struct az *A;
static uint64_t SEQ;

/* One event: id, then (field, value) pairs ending with -1. */
static __attribute__((unused)) void feed(enum hv_event_id id, ...)
{
    struct hv_ev e;
    va_list ap;
    hv_ev_init(&e, id, (int64_t)(SEQ + 1) * 1000000, SEQ);
    SEQ++;
    va_start(ap, id);
    for (;;) {
        int f = va_arg(ap, int);
        if (f < 0)
            break;
        uint64_t v = va_arg(ap, uint64_t);
        REQUIRE(hv_ev_set(&e, (enum hv_field_id)f, v) == 0);
    }
    va_end(ap);
    az_feed(A, &e);
}

static __attribute__((unused)) size_t nfind(const char *checker)
{
    return findings_count_checker(az_findings(A), checker);
}

static __attribute__((unused)) size_t nall(void)
{
    return findings_count(az_findings(A));
}

/* The last kept finding of a checker (NULL when none). */
static __attribute__((unused)) const struct finding *last(const char *checker)
{
    const struct finding *f = NULL;
    for (size_t i = 0; i < findings_kept(az_findings(A)); i++)
        if (!strcmp(findings_get(az_findings(A), i)->checker, checker))
            f = findings_get(az_findings(A), i);
    return f;
}

/* The finding's sentence holds text (said on stderr when not). */
static __attribute__((unused)) bool says(const struct finding *f, const char *text)
{
    if (!f || !strstr(f->what, text)) {
        fprintf(stderr, "  finding \"%s\" does not say \"%s\"\n",
                f ? f->what : "(none)", text);
        return false;
    }
    return true;
}

/* Every checker named in want[0..n) is in hv_checkers. */
static __attribute__((unused)) void check_listed(const char *const *want,
                                                 size_t n)
{
    for (size_t w = 0; w < n; w++) {
        bool found = false;
        for (size_t i = 0; hv_checkers[i]; i++)
            found |= !strcmp(hv_checkers[i]->name, want[w]);
        if (!found)
            fprintf(stderr, "  checker %s is not listed\n", want[w]);
        CHECK(found);
    }
}

#endif /* HVLAB_TESTS_ANALYSIS_FIXTURE_H */
