/*
 * analysis/cmd/hvlab-trace-count.c - print what a recorded trace holds.
 *
 *   hvlab-trace-count DIR                 summary: totals, losses, per
 *                                         provider, per event
 *   hvlab-trace-count --get NAME... DIR   one line "NAME COUNT" per NAME
 *                                         (an event "prov:ev", a provider
 *                                         "prov", or "events", "discarded")
 *
 * Exit 0 when the trace was read and records no loss, 1 when it records a
 * loss (a trace unfit for analysis), 2 for a usage error or an unreadable
 * trace.  Scripts use --get; people read the summary.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis/count.h"

static int usage(void)
{
    fprintf(stderr, "usage: hvlab-trace-count [--get NAME]... DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *gets[64];
    int ngets = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--get") && i + 1 < argc) {
            if (ngets == (int)(sizeof(gets) / sizeof(gets[0])))
                return usage();
            gets[ngets++] = argv[++i];
        } else if (argv[i][0] == '-' || dir) {
            return usage();
        } else {
            dir = argv[i];
        }
    }
    if (!dir)
        return usage();

    struct trace_counts c;
    char err[2048];
    if (trace_count(dir, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab-trace-count: %s\n", err);
        return 2;
    }
    if (ngets == 0)
        trace_counts_print(&c, stdout);
    for (int i = 0; i < ngets; i++) {
        uint64_t v;
        if (!strcmp(gets[i], "events"))
            v = c.events;
        else if (!strcmp(gets[i], "discarded"))
            v = c.discarded_events;
        else
            v = trace_counts_get(&c, gets[i]);
        printf("%s %" PRIu64 "\n", gets[i], v);
    }
    int rc = trace_counts_complete(&c) ? 0 : 1;
    if (rc)
        fprintf(stderr, "hvlab-trace-count: the trace in %s records losses "
                "(%" PRIu64 " discarded events, %" PRIu64 " discarded packets)\n",
                dir, c.discarded_events, c.discarded_packets);
    trace_counts_free(&c);
    return rc;
}
