/*
 * tests/e2e/trace-record.c - record one command's hvlab events into DIR.
 *
 *   trace-record DIR -- COMMAND [ARG...]
 *
 * Rules: the same sequence `hvlab run --trace DIR` follows (trace/record.h):
 * begin a session into DIR, fork and exec COMMAND with the child tracing
 * environment, wait for it, end the session.  Prints one line
 * "trace-record: exit E discarded D lost L".  Exit status: COMMAND's, or 1
 * when the session failed or lost anything (a trace the tests read must be
 * complete), 2 for a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/record.h"

static pid_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: trace-record DIR -- COMMAND [ARG...]\n");
        return 2;
    }
    char err[512];
    struct trc_session *s = NULL;
    if (trc_record_begin(argv[1], &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "trace-record: %s\n", err);
        return 1;
    }
    struct sigaction sa = { .sa_handler = forward };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    fflush(NULL);
    child = fork();
    if (child == 0) {
        trc_child_environment();
        execvp(argv[3], &argv[3]);
        fprintf(stderr, "trace-record: cannot run %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    int st = 0, rc = 1;
    if (child < 0)
        fprintf(stderr, "trace-record: cannot fork: %s\n", strerror(errno));
    else
        while (waitpid(child, &st, 0) < 0 && errno == EINTR)
            ;
    struct trc_stats stats;
    int end = trc_record_end(s, &stats, err, sizeof(err));
    if (end != 0)
        fprintf(stderr, "trace-record: %s\n", err);
    if (child > 0)
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    printf("trace-record: exit %d discarded %" PRIu64 " lost %" PRIu64 "\n",
           rc, stats.discarded_events, stats.lost_packets);
    if (stats.discarded_events || stats.lost_packets) {
        fprintf(stderr, "trace-record: the trace in %s is incomplete: %" PRIu64
                " events discarded, %" PRIu64 " packets lost\n", argv[1],
                stats.discarded_events, stats.lost_packets);
        return rc ? rc : 1;
    }
    return end != 0 && rc == 0 ? 1 : rc;
}
