/*
 * analysis/finding.h - what the analysis found: one record per finding, and
 * the two ways it is shown (text for people, JSON for scripts).
 *
 * Rules:
 *   F1  A finding names the checker that made it (a stable dotted name:
 *       "rebuild.untraced", "inv.3", "story-e.dirty-after-send"...), the
 *       host, domain, frame and/or pfn it is about (~0 when not known), the
 *       time and trace position of the event that revealed it, one
 *       sentence saying what is wrong, and the last transitions of the
 *       frame (rendered event lines, oldest first) so the reader needs no
 *       second tool to see how it got there.
 *   F2  findings_add copies everything: callers pass stack buffers.
 *   F3  A list keeps at most `cap` findings per checker in full (default
 *       1000) and counts the rest, so a trace with a million copies of one
 *       problem still gives a readable report and bounded memory; the
 *       counts are printed.
 *   F4  The JSON output is one object: {"findings": [...], "by_checker":
 *       {name: count}, "total": n}; every string is escaped.
 */
#ifndef HVLAB_ANALYSIS_FINDING_H
#define HVLAB_ANALYSIS_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FINDING_NONE UINT64_MAX      /* mfn / pfn not known */
#define FINDING_NODOM 0xFFFFu

struct finding {
    const char *checker;     /* F1 */
    uint8_t host;
    uint16_t dom;            /* FINDING_NODOM when not about one domain */
    uint64_t mfn;            /* FINDING_NONE */
    uint64_t pfn;            /* FINDING_NONE */
    int64_t ts;              /* ns of the revealing event */
    uint64_t seq;            /* its position in the trace */
    const char *what;        /* one sentence */
    const char *const *history;   /* rendered event lines, oldest first */
    unsigned nhistory;
};

struct findings;

struct findings *findings_new(unsigned cap_per_checker);    /* 0: default */
void findings_free(struct findings *fs);

/* F2: copies f (and its strings); 0, or -1 when out of memory. */
int findings_add(struct findings *fs, const struct finding *f);

size_t findings_count(const struct findings *fs);          /* all, F3 included */
size_t findings_count_checker(const struct findings *fs, const char *checker);
/* The i-th kept finding, in the order added (i < findings_kept). */
size_t findings_kept(const struct findings *fs);
const struct finding *findings_get(const struct findings *fs, size_t i);

void findings_print_text(const struct findings *fs, FILE *out);
void findings_print_json(const struct findings *fs, FILE *out);

#endif /* HVLAB_ANALYSIS_FINDING_H */
