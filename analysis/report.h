/*
 * analysis/report.h - the numbers of a trace: per migration, per round,
 * pages dirtied, sent, re-sent and the round's time; event statistics; the
 * hypercall latency distribution.  As text tables, JSON, and plots.
 *
 * Rules:
 *   R1  Fed by the engine (analyze.h, az_options.report) with every event;
 *       it keeps counters, never the events.
 *   R2  A migration is (source host, domain) from its first round_begin to
 *       save_done; a round's "re-sent" pages are pages already sent in an
 *       earlier round of the same migration.
 *   R3  Latency is hcall entry -> exit of the same (host, dom, vcpu), in a
 *       log2 histogram of ns per hypercall number; a continuation does not
 *       end it.
 *   R4  Plots go through gnuplot (SVG, or PNG by the file's suffix); when
 *       gnuplot is missing report_plot says so and writes the data file it
 *       would have plotted.
 */
#ifndef HVLAB_ANALYSIS_REPORT_H
#define HVLAB_ANALYSIS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "analysis/event.h"

struct report;

struct report *report_new(void);
void report_free(struct report *r);
void report_event(struct report *r, const struct hv_ev *e);

void report_print_text(const struct report *r, FILE *out);
/* One JSON object: {"migrations": [...], "events": {...}, "hypercalls": {...}} */
void report_print_json(const struct report *r, FILE *out);

/* R4: PREFIX-rounds.svg (pages per round) and PREFIX-latency.svg; suffix
   ".png" in prefix's place is honoured.  0, or -1 with err. */
int report_plot(const struct report *r, const char *prefix, const char *format,
                char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_REPORT_H */
