/*
 * trace/record.h - record a complete CTF trace of hvlab's own events.
 *
 * The controller (the hvlab CLI) begins a session writing into DIR (or
 * streaming to an lttng-relayd at net://HOST[:CTRL[:DATA]]), then
 * runs the traced work in a child it execs with trc_child_environment()
 * applied (lttng-ust reads its settings before main()), then ends the
 * session: stop, wait for the data, and report discarded events / lost
 * packets, which make a trace unfit for analysis (the caller fails loudly).
 * Recipe and measured costs: shared/TOOLCHAIN.md, "Recording a complete
 * trace".
 */
#ifndef HVLAB_TRACE_RECORD_H
#define HVLAB_TRACE_RECORD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRC_HOST_MAX 256

struct trc_session;

struct trc_stats {
    uint64_t discarded_events;
    uint64_t lost_packets;
};

/*
 * Ensure a session daemon, sweep stale hvlab sessions, create a session
 * writing into dir (which must not exist or be empty), a discard-mode
 * channel of 8 x 4 MiB per-PID buffers with contexts vpid/vtid/procname,
 * enable hvlab_* events, track no process yet, start tracing.  0, or -1
 * with err[] filled.
 */
int trc_record_begin(const char *dir, struct trc_session **out,
                     char *err, size_t errlen);
/*
 * spec is a directory (as trc_record_begin) or a relayd URL
 * "net://HOST[:CTRL_PORT[:DATA_PORT]]" (lttng's syntax; ports default to
 * 5342 and 5343): the session then streams to that lttng-relayd, which
 * writes it under its output directory as <this host's name>/<session
 * name>-<date>-<time>/.  Channel, contexts, tracker and the end are the
 * same.  Nothing listening at the URL is an error that says so and gives
 * the lttng-relayd command line to start one.  0, or -1 with err[] filled.
 */
int trc_record_begin_spec(const char *spec, struct trc_session **out,
                          char *err, size_t errlen);
/* True when spec is a relayd URL (starts with "net://"). */
bool trc_spec_is_net(const char *spec);
/* Name the sessions begun from now on "hvlab-<pid>-<hint>-<nonce>", so a
   relayd's directory says which side each is (e.g. "migrate", "receive");
   NULL or "" goes back to "hvlab-<pid>-<nonce>".  1 to 32 characters of
   [A-Za-z0-9_]; 0, or -1 (hint unchanged) for anything else. */
int trc_record_set_name_hint(const char *hint);

/* Where a session's trace goes, for the caller's summary. */
struct trc_where {
    bool net;                       /* streamed to a relayd */
    char session[256];              /* the session's name */
    char dir[PATH_MAX];             /* !net: the absolute trace directory */
    char url[TRC_HOST_MAX + 32];    /* net: "net://HOST:CTRL:DATA" */
    char host[TRC_HOST_MAX];        /* net: the relayd's host */
    char hostname[TRC_HOST_MAX];    /* net: this machine's name, the
                                       relayd's directory for its traces */
};
void trc_session_where(const struct trc_session *s, struct trc_where *w);

/* Stop, wait for pending data (bounded), collect the loss counters, destroy
   the session.  0, or -1 with err[] filled. */
int trc_record_end(struct trc_session *s, struct trc_stats *st,
                   char *err, size_t errlen);
/* setenv() what a traced child needs: LTTNG_UST_ALLOW_BLOCKING=1,
   LTTNG_UST_REGISTER_TIMEOUT=-1; and, in a child forked from the process
   that began the session, add this process to the session's tracked
   processes (only tracked processes are recorded; the pid survives exec).
   Call in the child before exec. */
void trc_child_environment(void);
/* Track one more process (by pid) in the session, for a controller whose
   child cannot call trc_child_environment().  0, or -1 with err[] filled. */
int trc_record_track_pid(struct trc_session *s, pid_t pid,
                         char *err, size_t errlen);

#endif /* HVLAB_TRACE_RECORD_H */
