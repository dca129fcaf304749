/*
 * tools/hvlab/traced.c - the controller of a traced subcommand.
 *
 * Rules:
 *   T1  The caller has checked everything the user typed; a session that
 *       cannot begin (bad directory, bad URL, no relayd listening, no
 *       daemon) is exit 2 with "hvlab <cmd>: --trace SPEC: <why>".
 *   T2  The session is named after the subcommand (trc_record_set_name_hint),
 *       so the traces of two sides streamed to one relayd say which is which.
 *   T3  The traced work is this program re-executed by its resolved path
 *       (so the procname context reads "hvlab", not "exe") with the same
 *       arguments minus --trace (both "--trace SPEC" and "--trace=SPEC"), in
 *       a child forked after the session began, which joins the session and
 *       takes the tracer's environment before exec (trc_child_environment:
 *       lttng-ust reads it before main).
 *   T4  SIGINT/SIGTERM in the controller are forwarded to the child once,
 *       the session is ended all the same, and the exit is 128+signal.
 *   T5  A trace that discarded events or lost packets fails the command
 *       (exit 1) loudly, whatever the child's own status: the analysis
 *       cannot use it.  A directory trace is also read back (its counts
 *       printed, its own loss records checked); a streamed one lives on the
 *       relayd's machine, so the summary says where the relayd puts it.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/count.h"
#include "tools/hvlab/cmd.h"
#include "tools/hvlab/traced.h"
#include "trace/record.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* T3: argv for the child: ourselves, the command, every argument but
   --trace and its value. */
static char **child_argv(int argc, char **argv)
{
    char **out = calloc((size_t)argc + 2, sizeof(*out));
    if (!out)
        return NULL;
    unsigned n = 0;
    out[n++] = program_invocation_name;
    out[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--trace=", 8) == 0)
            continue;
        out[n++] = argv[i];
    }
    out[n] = NULL;
    return out;
}

/* T5: a directory trace, read back. */
static void print_dir_summary(const char *cmd, const char *dir,
                              const struct trc_stats *st, bool *complete)
{
    struct trace_counts c;
    char err[512];
    printf("trace: %s (%" PRIu64 " discarded events, %" PRIu64
           " lost packets reported by the tracer)\n", dir, st->discarded_events,
           st->lost_packets);
    if (trace_count(dir, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab %s: reading the trace back: %s\n", cmd, err);
        *complete = false;
        return;
    }
    trace_counts_print(&c, stdout);
    if (!trace_counts_complete(&c)) {
        fprintf(stderr, "hvlab %s: TRACE INCOMPLETE: %s records %" PRIu64
                " discarded events and %" PRIu64 " discarded packets; it is "
                "unfit for analysis\n", cmd, dir, c.discarded_events,
                c.discarded_packets);
        *complete = false;
    }
    trace_counts_free(&c);
}

/* T5: a streamed trace: say where the relayd writes it. */
static void print_net_summary(const struct trc_where *w,
                              const struct trc_stats *st)
{
    printf("trace: streamed to %s (session %s); the relayd writes it under "
           "its output directory as %s/%s-*\n", w->host, w->session,
           w->hostname, w->session);
    printf("trace: %" PRIu64 " discarded events, %" PRIu64 " lost packets "
           "reported by the tracer\n", st->discarded_events, st->lost_packets);
}

/* Resolved path of this program (T3). */
static void self_path(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0)
        snprintf(buf, len, "/proc/self/exe");
    else
        buf[n] = '\0';
}

int traced_reexec(const char *cmd, int argc, char **argv, const char *spec)
{
    struct trc_session *s = NULL;
    struct trc_stats st = { 0, 0 };
    struct trc_where w;
    char err[2048];
    int status = EXIT_BROKEN;
    char **cargv = child_argv(argc, argv);
    if (!cargv) {
        fprintf(stderr, "hvlab %s: out of memory\n", cmd);
        return EXIT_USAGE;
    }

    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (trc_record_set_name_hint(cmd) != 0)     /* T2 */
        trc_record_set_name_hint(NULL);
    if (trc_record_begin_spec(spec, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab %s: --trace %s: %s\n", cmd, spec, err);
        status = EXIT_USAGE;
        goto out;
    }
    trc_session_where(s, &w);

    char self[4096];
    self_path(self, sizeof(self));
    fflush(NULL);
    pid_t pid = got_signal ? -1 : fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        trc_child_environment();
        execv(self, cargv);
        fprintf(stderr, "hvlab %s: re-executing %s: %m\n", cmd, self);
        _exit(EXIT_USAGE);
    }
    int wst = 0;
    bool forwarded = false;
    if (pid > 0) {
        while (waitpid(pid, &wst, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "hvlab %s: waiting for the run: %m\n", cmd);
                wst = EXIT_USAGE << 8;
                break;
            }
            if (got_signal && !forwarded) {     /* T4 */
                kill(pid, got_signal);
                forwarded = true;
            }
        }
    } else if (pid < 0 && !got_signal) {
        fprintf(stderr, "hvlab %s: fork: %m\n", cmd);
    }

    if (trc_record_end(s, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "hvlab %s: --trace %s: ending the session: %s\n",
                cmd, spec, err);
        status = EXIT_BROKEN;
        goto out;
    }
    if (got_signal) {
        if (w.net)
            fprintf(stderr, "hvlab %s: interrupted by signal %d; trace "
                    "session torn down, the relayd at %s holds what was "
                    "recorded as %s/%s-*\n", cmd, (int)got_signal, w.url,
                    w.hostname, w.session);
        else
            fprintf(stderr, "hvlab %s: interrupted by signal %d; trace "
                    "session torn down, %s holds what was recorded\n", cmd,
                    (int)got_signal, spec);
        status = 128 + got_signal;
        goto out;
    }
    if (pid < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    if (WIFEXITED(wst)) {
        status = WEXITSTATUS(wst);
    } else {
        fprintf(stderr, "hvlab %s: the run died of signal %d (%s)\n", cmd,
                WTERMSIG(wst), strsignal(WTERMSIG(wst)));
        status = EXIT_BROKEN;
    }
    bool complete = st.discarded_events == 0 && st.lost_packets == 0;
    if (!complete)
        fprintf(stderr, "hvlab %s: TRACE INCOMPLETE: the tracer discarded %"
                PRIu64 " events and lost %" PRIu64 " packets; %s is unfit for "
                "analysis\n", cmd, st.discarded_events, st.lost_packets,
                w.net ? w.session : spec);
    if (w.net)
        print_net_summary(&w, &st);
    else
        print_dir_summary(cmd, spec, &st, &complete);
    if (!complete && status == EXIT_HELD)
        status = EXIT_BROKEN;
out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(cargv);
    return status;
}
