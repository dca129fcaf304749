/*
 * analysis/count.h - what a trace holds: events per name and per provider.
 *
 *   struct trace_counts c;
 *   if (trace_count("build/demo-trace", &c, err, sizeof err) == 0) {
 *       trace_counts_print(&c, stdout);
 *       trace_counts_free(&c);
 *   }
 *
 * Counts every event of every CTF trace below a directory (the layout
 * `hvlab run --trace DIR` writes), with the first and last timestamps and
 * the losses the trace itself records (discarded-event and
 * discarded-packet notifications).  A trace with losses is unfit for
 * analysis that rebuilds state; callers say so loudly.
 */
#ifndef HVLAB_ANALYSIS_COUNT_H
#define HVLAB_ANALYSIS_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One name ("hvlab_pt:pte_write" or provider "hvlab_pt") and its count. */
struct trace_name_count {
    char *name;         /* owned */
    uint64_t count;
};

struct trace_counts {
    unsigned nr_traces;             /* CTF traces read (one per traced PID) */
    uint64_t events;                /* all events */
    uint64_t discarded_events;      /* summed from the trace's notifications */
    uint64_t discarded_packets;
    uint64_t loss_notices;          /* notifications, even without a count */
    bool has_time;                  /* first_ns/last_ns are valid */
    int64_t first_ns, last_ns;      /* ns from the clock's origin */
    size_t nr_events;               /* entries of by_event, sorted by name */
    struct trace_name_count *by_event;
    size_t nr_providers;            /* entries of by_provider, sorted */
    struct trace_name_count *by_provider;
};

/*
 * Count the events of the trace(s) below dir.  0 with *out filled (free it
 * with trace_counts_free), or -1 with err[] filled and *out empty.
 */
int trace_count(const char *dir, struct trace_counts *out,
                char *err, size_t errlen);

/* Count of an event ("provider:event") or a provider ("provider"); 0 if
   the trace has none. */
uint64_t trace_counts_get(const struct trace_counts *c, const char *name);

/* True when the trace records no loss of any kind. */
bool trace_counts_complete(const struct trace_counts *c);

/* A human summary: totals, time span, losses, per provider, per event. */
void trace_counts_print(const struct trace_counts *c, FILE *f);

void trace_counts_free(struct trace_counts *c);

#endif /* HVLAB_ANALYSIS_COUNT_H */
