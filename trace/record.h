/*
 * trace/record.h - record a complete CTF trace of hvlab's own events.
 *
 * The controller (the hvlab CLI) begins a session writing into DIR, then
 * runs the traced work in a child it execs with trc_child_environment()
 * applied (lttng-ust reads its settings before main()), then ends the
 * session: stop, wait for the data, and report discarded events / lost
 * packets, which make a trace unfit for analysis (the caller fails loudly).
 * Recipe and measured costs: shared/TOOLCHAIN.md, "Recording a complete
 * trace".
 */
#ifndef HVLAB_TRACE_RECORD_H
#define HVLAB_TRACE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
