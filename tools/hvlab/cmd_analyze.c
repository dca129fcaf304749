/*
 * tools/hvlab/cmd_analyze.c - `hvlab analyze TRACE [--json] [--report]
 * [--plot PREFIX] [--only NAME,...] [--images SRC DST] [--reader R] [--list]`: rebuild
 * every frame's state from a recorded trace, run the checkers, report what
 * they found (docs/analyze.md).
 *
 * Rules:
 *   Y1  Everything typed is checked before the trace is read: an unknown
 *       option, a missing argument, an --only name that selects no checker
 *       is exit 2 naming it.
 *   Y2  Exit 0 when nothing was found, 1 when something was (a finding, an
 *       image difference), 2 for a usage error or a trace that could not be
 *       read to its end.  In that last case the findings of everything
 *       before the stopping point are still printed, after the message
 *       (stderr) naming the stream file and the byte offset.
 *   Y3  Text output begins with what was read (trace, events, checkers) and,
 *       first of all, a warning when the trace records discarded events
 *       (analyze.h A3).  --json prints finding.h's one object alone, so it
 *       compares byte for byte with the babeltrace2 plugin's json=true;
 *       with --report or --images it prints one object holding
 *       "analysis" (that object), "report" and/or "images".
 *   Y4  --images SRC DST compares two memory images (docs/image.md) and,
 *       when a TRACE is given too, explains each difference from the
 *       rebuilt state; without a TRACE no checker runs.  A comparison that
 *       did not run (the trace could not be read at all) prints nothing,
 *       and "images": null in JSON.
 *   Y5  A trace with no hvlab event checks nothing: that is said on stderr
 *       and is exit 2, never a clean "no findings" (exit 0).
 *   Y6  The trace is read by hvlab's own CTF reader (ctf_native.h);
 *       --reader babeltrace2 reads it through babeltrace2 (ctf.h), as the
 *       plugin does.  Both hand the engine the same events in the same
 *       order, so the output is the same byte for byte.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analyze.h"
#include "analysis/analyze_read.h"
#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/images.h"
#include "analysis/report.h"
#include "tools/hvlab/cmd.h"

struct analyze_args {
    const char *trace;
    bool json, report, list;
    const char *plot;
    const char *only[AZ_MAX_ONLY + 1];
    char *only_buf;
    const char *img_src, *img_dst;
    bool bt2;                   /* --reader babeltrace2 (ctf.h); else ctf_native.h */
};

void cmd_analyze_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab analyze TRACE [--json] [--report] [--plot PREFIX]\n"
        "                     [--only NAME,...] [--images SRC DST] [--reader R]\n"
        "       hvlab analyze --images SRC DST [TRACE]\n"
        "       hvlab analyze --list\n\n"
        "Read a trace recorded with 'hvlab run --trace TRACE', rebuild every\n"
        "frame's state from it, run the checkers and print what they found:\n"
        "one paragraph per finding (checker, host, domain, frame, time, what\n"
        "is wrong, the frame's last transitions), then a count per checker.\n\n"
        "  --json          the findings as one JSON object\n"
        "  --report        add the migration / event / hypercall-latency report\n"
        "  --plot PREFIX   plot the report with gnuplot: PREFIX-rounds.svg and\n"
        "                  PREFIX-latency.svg (PREFIX.png for PNG)\n"
        "  --only NAMES    run only these checkers (comma-separated names or\n"
        "                  prefixes: 'story-e', 'inv.3', 'rebuild.untraced')\n"
        "  --images SRC DST  compare a migration's source and destination\n"
        "                  memory images; with TRACE each difference is\n"
        "                  explained from the trace\n"
        "  --reader R      native (the default): hvlab's own CTF reader, or\n"
        "                  babeltrace2: the same events through babeltrace2's\n"
        "  --list          list the checkers and exit\n\n"
        "Exit status: 0 nothing found, 1 findings, 2 usage error, a trace\n"
        "that could not be read to its end (the message names the stream\n"
        "file and byte offset; what came before is still analysed) or a\n"
        "trace holding no hvlab event (nothing was checked).\n"
        "The same checks run inside babeltrace2:\n"
        "  babeltrace2 --plugin-path=build TRACE -c sink.hvlab.check\n"
        "(-p fail-on-findings=true makes it fail on findings; a trace cut\n"
        "short can only be read by hvlab analyze).\n");
}

static void list_checkers(FILE *f)
{
    size_t w = strlen("rebuild.untraced");
    for (size_t i = 0; hv_checkers[i]; i++)
        if (strlen(hv_checkers[i]->name) > w)
            w = strlen(hv_checkers[i]->name);
    bool untraced_listed = false;
    for (size_t i = 0; hv_checkers[i]; i++) {
        fprintf(f, "%-*s  %s\n", (int)w, hv_checkers[i]->name,
                hv_checkers[i]->what ? hv_checkers[i]->what : "");
        untraced_listed |= !strcmp(hv_checkers[i]->name, "rebuild.untraced");
    }
    if (!untraced_listed)
        fprintf(f, "%-*s  %s\n", (int)w, "rebuild.untraced",
                "an event's old value disagrees with the state rebuilt from "
                "the trace (a transition the trace does not show)");
    fprintf(f, "%-*s  %s\n", (int)w, "image.differs",
            "with --images: a page differs between the source and destination "
            "images");
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab analyze: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    cmd_analyze_help(stderr);
    return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct analyze_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--report")) {
            a->report = true;
        } else if (!strcmp(s, "--list")) {
            a->list = true;
        } else if (!strcmp(s, "--plot")) {
            if (i + 1 >= argc)
                return usage("%s needs a PREFIX", s);
            a->plot = argv[++i];
        } else if (!strcmp(s, "--only")) {
            if (i + 1 >= argc)
                return usage("%s needs NAME,...", s);
            char oerr[256];
            free(a->only_buf);
            a->only_buf = NULL;
            if (az_only_parse(argv[++i], &a->only_buf, a->only, oerr,
                              sizeof(oerr)) < 0)         /* Y1, analyze.c N7 */
                return usage("--only: %s", oerr);
        } else if (!strcmp(s, "--reader")) {
            if (i + 1 >= argc)
                return usage("%s needs babeltrace2 or native", s);
            const char *r = argv[++i];
            if (!strcmp(r, "native"))
                a->bt2 = false;
            else if (!strcmp(r, "babeltrace2"))
                a->bt2 = true;
            else
                return usage("--reader: '%s' is not babeltrace2 or native", r);
        } else if (!strcmp(s, "--images")) {
            if (i + 2 >= argc)
                return usage("%s needs SRC and DST", s);
            a->img_src = argv[++i];
            a->img_dst = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return usage("unknown option '%s'", s);
        } else if (a->trace) {
            return usage("one TRACE at a time ('%s' is a second)", s);
        } else {
            a->trace = s;
        }
    }
    if (a->list)
        return 0;
    if (!a->trace && !a->img_src)
        return usage("%s", "give the TRACE directory to analyse");
    if (!a->trace && (a->report || a->plot))
        return usage("%s", "--report and --plot need a TRACE");
    return 0;
}

int cmd_analyze(int argc, char **argv)
{
    struct analyze_args a = { 0 };
    int rc = parse(argc, argv, &a);
    if (rc) {
        free(a.only_buf);
        return rc;
    }
    if (a.list) {
        list_checkers(stdout);
        free(a.only_buf);
        return 0;
    }

    struct report *rep = NULL;
    if (a.trace && (a.report || a.plot)) {
        rep = report_new();
        if (!rep) {
            fprintf(stderr, "hvlab analyze: out of memory\n");
            free(a.only_buf);
            return EXIT_USAGE;
        }
    }
    struct az_options o = {
        .only = a.only[0] ? a.only : NULL,
        .report = rep,
    };
    struct az *az = az_new(&o);
    if (!az) {
        fprintf(stderr, "hvlab analyze: out of memory\n");
        report_free(rep);
        free(a.only_buf);
        return EXIT_USAGE;
    }

    int exit_code = 0;
    char err[4096] = "";
    bool read_failed = false;
    if (a.trace) {
        if ((a.bt2 ? az_run_trace(az, a.trace, err, sizeof(err))
                   : az_run_trace_native(az, a.trace, err, sizeof(err))) != 0) {
            read_failed = true;
            fprintf(stderr, "hvlab analyze: %s\n", err);
        }
        az_end(az);
    }

    struct images_result ir = { 0 };
    bool images_failed = false, images_ran = false;
    if (a.img_src && !(read_failed && az_events(az) == 0)) {
        char ierr[1024] = "";
        images_ran = true;
        if (images_compare(a.img_src, a.img_dst, a.trace ? az_state(az) : NULL,
                           az_findings(az), &ir, ierr, sizeof(ierr)) != 0) {
            images_failed = true;
            fprintf(stderr, "hvlab analyze: %s\n", ierr);
        }
    }

    struct findings *fs = az_findings(az);
    bool wrap = a.json && (rep || a.img_src);
    char loss[256];
    az_loss_words(az, loss, sizeof(loss));
    if (a.json) {
        if (wrap)
            fputs("{\"analysis\": ", stdout);
        findings_print_json(fs, stdout);
        if (rep) {
            fputs(", \"report\": ", stdout);
            report_print_json(rep, stdout);
        }
        if (a.img_src && (!images_ran || images_failed))
            fputs(", \"images\": null", stdout);       /* Y4 */
        else if (a.img_src)
            printf(", \"images\": {\"pages_src\": %" PRIu64 ", \"pages_dst\": %"
                   PRIu64 ", \"differ\": %" PRIu64 ", \"attributed\": %" PRIu64
                   ", \"expected\": %" PRIu64
                   ", \"bytes_compared\": %" PRIu64 ", \"seconds\": %.6f}",
                   ir.pages_src, ir.pages_dst, ir.differ, ir.attributed, ir.expected,
                   ir.bytes_compared, ir.seconds);
        if (wrap)
            fputs("}\n", stdout);
    } else {
        if (*loss)                              /* Y3: first of all */
            printf("WARNING: the trace records %s (the tracer's buffers were "
                   "full): the analysis is incomplete, and a finding may only "
                   "be a transition the trace lost.\n\n", loss);
        if (a.trace)
            printf("trace %s: %" PRIu64 " hvlab events%s, %zu checkers\n\n",
                   a.trace, az_events(az),
                   read_failed ? " (read up to the error)" : "",
                   az_checker_count(az));
        findings_print_text(fs, stdout);
        if (images_ran && !images_failed)
            printf("\nimages %s and %s: %" PRIu64 " and %" PRIu64 " pages, %"
                   PRIu64 " differ: %" PRIu64 " rewritten by the restore as "
                   "Xen's restore does (expected), %" PRIu64 " reported above "
                   "(%" PRIu64 " of them explained from the trace); %.3f s\n",
                   a.img_src, a.img_dst, ir.pages_src, ir.pages_dst, ir.differ,
                   ir.expected, ir.differ - ir.expected,
                   ir.attributed, ir.seconds);
        if (rep) {
            printf("\n");
            report_print_text(rep, stdout);
        }
    }
    if (a.plot && rep) {
        char perr[1024] = "";
        char prefix[4096];
        const char *fmt = NULL;
        snprintf(prefix, sizeof(prefix), "%s", a.plot);
        size_t n = strlen(prefix);
        if (n > 4 && (!strcmp(prefix + n - 4, ".png") || !strcmp(prefix + n - 4, ".svg"))) {
            fmt = prefix + n - 3;
            prefix[n - 4] = '\0';
        }
        char fmtbuf[4] = "";
        if (fmt) {
            snprintf(fmtbuf, sizeof(fmtbuf), "%s", fmt);
            fmt = fmtbuf;
        }
        if (report_plot(rep, prefix, fmt, perr, sizeof(perr)) != 0) {
            fprintf(stderr, "hvlab analyze: --plot: %s\n", perr);
            exit_code = EXIT_USAGE;
        }
    }

    if (findings_count(fs) || ir.differ > ir.expected)
        exit_code = exit_code ? exit_code : EXIT_BROKEN;
    if (read_failed || images_failed)
        exit_code = EXIT_USAGE;
    if (a.trace && !read_failed && az_events(az) == 0) {          /* Y5 */
        fprintf(stderr, "hvlab analyze: the trace in %s holds no hvlab event: "
                "nothing was checked\n", a.trace);
        exit_code = EXIT_USAGE;
    }
    if (*loss)
        fprintf(stderr, "hvlab analyze: the trace in %s records %s: the "
                "analysis is incomplete\n", a.trace ? a.trace : "?", loss);

    az_free(az);
    report_free(rep);
    free(a.only_buf);
    return exit_code;
}
