/*
 * analysis/analyze.h - the analysis engine: a trace in, findings out.
 *
 *   struct az *az = az_new(&(struct az_options){ 0 });
 *   if (az_run_trace(az, "build/trace", err, sizeof err) < 0)
 *       fprintf(stderr, "%s\n", err);        // what came before is analysed
 *   az_end(az);
 *   findings_print_text(az_findings(az), stdout);
 *   az_free(az);
 *
 * `hvlab analyze` and the babeltrace2 plugin's sink.hvlab.check both drive
 * this engine, so they give the same findings for the same trace.
 *
 * Rules:
 *   A1  Events go to the state first, then to the checkers that asked for
 *       them (checker.h), then to the report when one is attached.
 *   A2  A trace that cannot be read to its end (corrupt or truncated) is an
 *       error naming the stream and the byte offset; every event before it
 *       has been fed, so az_end and the findings still make sense.
 *   A3  Discarded events (the tracer's buffers were full) are counted and
 *       make the result "incomplete": a missing transition then explains
 *       itself, and the report says so first.
 */
#ifndef HVLAB_ANALYSIS_ANALYZE_H
#define HVLAB_ANALYSIS_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"

struct findings;
struct report;

struct az_options {
    unsigned history_len;        /* transitions kept per frame; 0: 8 */
    unsigned max_per_checker;    /* findings kept in full; 0: 1000 */
    const char *const *only;     /* checker names or prefixes; NULL: all */
    struct report *report;       /* fed every event when not NULL */
};

struct az *az_new(const struct az_options *o);
void az_free(struct az *az);

void az_feed(struct az *az, const struct hv_ev *e);     /* A1 */
void az_discarded(struct az *az, uint64_t count);      /* A3 */
void az_end(struct az *az);                            /* checkers' end() */

/* Read every CTF trace below dir and feed it.  0, or -1 with err (A2). */
int az_run_trace(struct az *az, const char *dir, char *err, size_t errlen);
/* The same through hvlab's own CTF reader (ctf_native.h) instead of
   babeltrace2's: the same events in the same order, several times faster. */
int az_run_trace_native(struct az *az, const char *dir, char *err, size_t errlen);

struct findings *az_findings(struct az *az);
uint64_t az_events(const struct az *az);               /* hvlab events fed */
uint64_t az_discarded_events(const struct az *az);

/* A3: a discarded-packets notification (whole packets lost: how many of
   their events is unknown), counted apart from discarded events. */
void az_discarded_packets(struct az *az, uint64_t count);
uint64_t az_discarded_packet_count(const struct az *az);
/* Some loss notification gave no count: the counts above are lower bounds
   (an unknown count is counted as one). */
bool az_discarded_unknown(const struct az *az);

#endif /* HVLAB_ANALYSIS_ANALYZE_H */
