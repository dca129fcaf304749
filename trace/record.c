/*
 * trace/record.c - record a complete CTF trace of hvlab's events (liblttng-ctl).
 *
 * Rules (the measured recipe of shared/TOOLCHAIN.md, "Recording a complete
 * trace"; every step below was chosen because the alternative lost events
 * or wedged the daemon):
 *   R1  A session daemon is ensured, never assumed: if none answers we run
 *       `lttng-sessiond --no-kernel --daemonize`, which exits once ready.
 *   R2  Session names are "hvlab-<creator pid>-<nonce>", or
 *       "hvlab-<creator pid>-<hint>-<nonce>" after trc_record_set_name_hint()
 *       (the side of a run: "run", "migrate", "receive").  At every begin,
 *       sessions named so whose creator is dead are destroyed (a controller
 *       killed mid-run leaves its session behind, still holding buffers).
 *   R3  The output directory must be new or empty: a second session writing
 *       into the same directory silently overwrites the first.  The session
 *       is created with its absolute path.
 *   R4  One channel: discard mode, 8 x 4 MiB sub-buffers, per-PID buffers
 *       (per-UID buffers wedged destruction after a crash inside a
 *       tracepoint), blocking timeout -1 (honoured only by processes that
 *       have LTTNG_UST_ALLOW_BLOCKING=1, see trc_child_environment), contexts
 *       vpid, vtid, procname; events "hvlab_*".
 *   R5  End: stop without the library's blind wait, poll data_pending to 0
 *       against a deadline, read the discarded-event and lost-packet
 *       counters while the channel still exists, destroy with a finite wait.
 *   R6  Every failure is reported as a sentence in err[]; a session created
 *       by a failed begin is destroyed before returning.
 *   R7  Only the traced run is recorded.  The session's vpid tracker starts
 *       as an empty inclusion set, and trc_child_environment(), called in
 *       the forked child before exec, adds the child's pid (it survives
 *       exec).  Other processes carrying hvlab tracepoints (a test suite,
 *       another run, the controller itself) stay out of the trace.  The
 *       child finds the session through active_session, which the fork
 *       copied from the controller (the last session begun wins).
 *   R8  A spec "net://HOST[:CTRL[:DATA]]" (lttng's URL syntax, ports 5342
 *       and 5343 by default) streams the session to an lttng-relayd instead
 *       of a directory; everything else (R4, R5, R7) is the same.  Before
 *       anything is created, both ports are connected to once: the session
 *       daemon itself accepts a URL nobody listens at and fails only later,
 *       with a vaguer message.  The relayd writes the trace under its output
 *       directory as <this host's name>/<session name>-<date>-<time>/, so
 *       several processes (or hosts) reporting to one relayd land side by
 *       side, told apart by their vpid/procname contexts.
 *   R9  A name hint is 1 to 32 characters of [A-Za-z0-9_]: it goes into a
 *       path on the relayd, and R2's parser must still find the pid.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/socket.h>

#include <lttng/lttng.h>

#include "trace/record.h"

#define TRC_SESSION_PREFIX   "hvlab-"
#define TRC_CHANNEL          "hvlab"
#define TRC_EVENT_PATTERN    "hvlab_*"
#define TRC_SUBBUF_SIZE      (4ULL << 20)   /* R4: 8 x 4 MiB lost nothing */
#define TRC_NUM_SUBBUF       8
#define TRC_PENDING_DEADLINE_MS 60000       /* R5: data_pending poll bound */
#define TRC_DESTROY_WAIT_MS  20000          /* R5: destruction wait bound */
#define TRC_NET_SCHEME       "net://"       /* R8 */
#define TRC_NET_CTRL_PORT    5342           /* R8: lttng's defaults */
#define TRC_NET_DATA_PORT    5343
#define TRC_NET_LIVE_PORT    5344
#define TRC_HINT_MAX         32             /* R9 */

/*
 * Invariants: name starts with TRC_SESSION_PREFIX and the creator's pid
 * (R2); exactly one of dir[] (a directory session) and url[] (net) is
 * non-empty; for net, url is "net://<host>:<ctrl>:<data>" with the ports
 * below.
 */
struct trc_session {
    char name[LTTNG_NAME_MAX];      /* "hvlab-<pid>[-<hint>]-<nonce>" (R2) */
    char dir[PATH_MAX];             /* absolute output directory, or "" */
    char url[TRC_HOST_MAX + 32];    /* R8: normalised relayd URL, or "" */
    char host[TRC_HOST_MAX];        /* R8: the relayd's host */
    unsigned ctrl_port, data_port;  /* R8 */
    struct lttng_handle *handle;    /* UST domain, per-PID buffers */
};

/* R7: the session a child forked from this controller joins. */
static char active_session[LTTNG_NAME_MAX];
/* R2/R9: the side named in the next sessions' names, or "". */
static char name_hint[TRC_HINT_MAX + 1];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---------------------------------------------------------------- daemon */

/* R1: run `lttng-sessiond --no-kernel --daemonize`; it exits 0 once ready. */
static int spawn_sessiond(char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot fork to start the LTTng session daemon: %s",
                 strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The daemon must not keep our descriptors (pipes, trace files)
           open, nor inherit a preload meant for a traced program. */
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        syscall(SYS_close_range, 3U, ~0U, 0U);
        unsetenv("LD_PRELOAD");
        execlp("lttng-sessiond", "lttng-sessiond", "--no-kernel", "--daemonize",
               (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "cannot wait for lttng-sessiond to start: %s",
                     strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        snprintf(err, errlen, "no LTTng session daemon is running and "
                 "lttng-sessiond could not be executed; install lttng-tools "
                 "(make deps)");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        lttng_session_daemon_alive() != 1) {
        snprintf(err, errlen, "no LTTng session daemon is running and "
                 "`lttng-sessiond --no-kernel --daemonize` failed (status %#x); "
                 "run it by hand to see why", st);
        return -1;
    }
    return 0;
}

static int ensure_sessiond(char *err, size_t errlen)
{
    if (lttng_session_daemon_alive() == 1)
        return 0;
    return spawn_sessiond(err, errlen);
}

/* ------------------------------------------------------- stale sessions */

/* True while pid names a live process (a zombie is dead). */
static bool pid_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return kill(pid, 0) == 0 || errno == EPERM;
    bool ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* R2: parse "hvlab-<pid>-..." and return the pid, or 0. */
static pid_t session_creator(const char *name)
{
    size_t n = strlen(TRC_SESSION_PREFIX);
    if (strncmp(name, TRC_SESSION_PREFIX, n) != 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long pid = strtol(name + n, &end, 10);
    if (errno || end == name + n || *end != '-' || pid <= 0 || pid > INT_MAX)
        return 0;
    return (pid_t)pid;
}

static void destroy_session_bounded(const char *name, int wait_ms)
{
    struct lttng_destruction_handle *dh = NULL;
    if (lttng_destroy_session_ext(name, &dh) == LTTNG_OK && dh)
        lttng_destruction_handle_wait_for_completion(dh, wait_ms);
    lttng_destruction_handle_destroy(dh);
}

/* R2: destroy every hvlab session whose creator process is gone. */
static void sweep_stale_sessions(void)
{
    struct lttng_session *sessions = NULL;
    int n = lttng_list_sessions(&sessions);
    for (int i = 0; i < n; i++) {
        pid_t creator = session_creator(sessions[i].name);
        if (creator > 0 && creator != getpid() && !pid_alive(creator)) {
            fprintf(stderr, "hvlab: destroying stale trace session %s "
                    "(its creator, pid %d, is gone)\n",
                    sessions[i].name, (int)creator);
            destroy_session_bounded(sessions[i].name, TRC_DESTROY_WAIT_MS);
        }
    }
    free(sessions);
}

/* ------------------------------------------------------ output directory */

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* R3: dir must be absent or an empty directory; create it, make it absolute. */
static int prepare_dir(const char *dir, char *abs, char *err, size_t errlen)
{
    struct stat sb;
    if (!dir || !*dir) {
        snprintf(err, errlen, "no trace directory was given");
        return -1;
    }
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "the trace directory '%s' exists and is not "
                     "a directory", dir);
            return -1;
        }
        DIR *d = opendir(dir);
        if (!d) {
            snprintf(err, errlen, "cannot read the trace directory '%s': %s",
                     dir, strerror(errno));
            return -1;
        }
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = false;
        closedir(d);
        if (!empty) {
            snprintf(err, errlen, "the trace directory '%s' already exists and "
                     "is not empty; give a new or empty directory (a second "
                     "session would overwrite the trace in it)", dir);
            return -1;
        }
    } else if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "cannot create the trace directory '%s': %s",
                 dir, strerror(errno));
        return -1;
    }
    if (!realpath(dir, abs)) {
        snprintf(err, errlen, "cannot resolve the trace directory '%s': %s",
                 dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- begin */

static int lttng_fail(int rc, const char *what, const char *name,
                      char *err, size_t errlen)
{
    snprintf(err, errlen, "LTTng refused to %s for trace session %s: %s",
             what, name, lttng_strerror(rc < 0 ? rc : -rc));
    return -1;
}

static int configure_and_start(struct trc_session *s, char *err, size_t errlen)
{
    struct lttng_domain dom;
    memset(&dom, 0, sizeof(dom));
    dom.type = LTTNG_DOMAIN_UST;
    dom.buf_type = LTTNG_BUFFER_PER_PID;    /* R4 */

    s->handle = lttng_create_handle(s->name, &dom);
    if (!s->handle) {
        snprintf(err, errlen, "cannot create an LTTng handle for trace "
                 "session %s (out of memory?)", s->name);
        return -1;
    }

    struct lttng_channel *chan = lttng_channel_create(&dom);
    if (!chan) {
        snprintf(err, errlen, "cannot create the LTTng channel description "
                 "(out of memory?)");
        return -1;
    }
    snprintf(chan->name, sizeof(chan->name), "%s", TRC_CHANNEL);
    chan->attr.overwrite = 0;                   /* discard mode */
    chan->attr.subbuf_size = TRC_SUBBUF_SIZE;
    chan->attr.num_subbuf = TRC_NUM_SUBBUF;
    int rc = lttng_channel_set_blocking_timeout(chan, -1);
    if (rc < 0) {
        lttng_channel_destroy(chan);
        return lttng_fail(rc, "set the channel's blocking timeout", s->name,
                          err, errlen);
    }
    rc = lttng_enable_channel(s->handle, chan);
    lttng_channel_destroy(chan);
    if (rc < 0)
        return lttng_fail(rc, "enable the 8 x 4 MiB per-PID channel", s->name,
                          err, errlen);

    static const struct { enum lttng_event_context_type type; const char *name; }
    contexts[] = {
        { LTTNG_EVENT_CONTEXT_VPID, "add the vpid context" },
        { LTTNG_EVENT_CONTEXT_VTID, "add the vtid context" },
        { LTTNG_EVENT_CONTEXT_PROCNAME, "add the procname context" },
    };
    for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
        struct lttng_event_context ctx;
        memset(&ctx, 0, sizeof(ctx));
        ctx.ctx = contexts[i].type;
        rc = lttng_add_context(s->handle, &ctx, NULL, TRC_CHANNEL);
        if (rc < 0)
            return lttng_fail(rc, contexts[i].name, s->name, err, errlen);
    }

    struct lttng_event *ev = lttng_event_create();
    if (!ev) {
        snprintf(err, errlen, "cannot create the LTTng event description "
                 "(out of memory?)");
        return -1;
    }
    snprintf(ev->name, sizeof(ev->name), "%s", TRC_EVENT_PATTERN);
    ev->type = LTTNG_EVENT_TRACEPOINT;
    ev->loglevel_type = LTTNG_EVENT_LOGLEVEL_ALL;
    rc = lttng_enable_event(s->handle, ev, TRC_CHANNEL);
    lttng_event_destroy(ev);
    if (rc < 0)
        return lttng_fail(rc, "enable the events " TRC_EVENT_PATTERN, s->name,
                          err, errlen);

    /* R7: track no process until a child joins. */
    struct lttng_process_attr_tracker_handle *th = NULL;
    enum lttng_error_code code = lttng_session_get_tracker_handle(
        s->name, LTTNG_DOMAIN_UST, LTTNG_PROCESS_ATTR_VIRTUAL_PROCESS_ID, &th);
    if (code != LTTNG_OK)
        return lttng_fail(-(int)code, "give access to its process tracker",
                          s->name, err, errlen);
    enum lttng_process_attr_tracker_handle_status ts =
        lttng_process_attr_tracker_handle_set_tracking_policy(
            th, LTTNG_TRACKING_POLICY_INCLUDE_SET);
    lttng_process_attr_tracker_handle_destroy(th);
    if (ts != LTTNG_PROCESS_ATTR_TRACKER_HANDLE_STATUS_OK) {
        snprintf(err, errlen, "LTTng refused to restrict trace session %s "
                 "to the traced process (tracker status %d)", s->name, (int)ts);
        return -1;
    }

    rc = lttng_start_tracing(s->name);
    if (rc < 0)
        return lttng_fail(rc, "start tracing", s->name, err, errlen);
    return 0;
}

/* R7: add pid to the session's tracked processes. */
static int track_pid(const char *name, pid_t pid, char *err, size_t errlen)
{
    struct lttng_process_attr_tracker_handle *th = NULL;
    enum lttng_error_code code = lttng_session_get_tracker_handle(
        name, LTTNG_DOMAIN_UST, LTTNG_PROCESS_ATTR_VIRTUAL_PROCESS_ID, &th);
    if (code != LTTNG_OK)
        return lttng_fail(-(int)code, "give access to its process tracker",
                          name, err, errlen);
    enum lttng_process_attr_tracker_handle_status ts =
        lttng_process_attr_virtual_process_id_tracker_handle_add_pid(th, pid);
    lttng_process_attr_tracker_handle_destroy(th);
    if (ts != LTTNG_PROCESS_ATTR_TRACKER_HANDLE_STATUS_OK &&
        ts != LTTNG_PROCESS_ATTR_TRACKER_HANDLE_STATUS_EXISTS) {
        snprintf(err, errlen, "LTTng refused to track process %d in trace "
                 "session %s (tracker status %d)", (int)pid, name, (int)ts);
        return -1;
    }
    return 0;
}

int trc_record_track_pid(struct trc_session *s, pid_t pid, char *err, size_t errlen)
{
    return track_pid(s->name, pid, err, errlen);
}

/* ------------------------------------------------------ relayd URL (R8) */

bool trc_spec_is_net(const char *spec)
{
    return spec && strncmp(spec, TRC_NET_SCHEME, strlen(TRC_NET_SCHEME)) == 0;
}

static int parse_port(const char *p, const char *end, unsigned *out)
{
    unsigned long v = 0;
    if (p == end || end - p > 5)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* R8: "net://HOST[:CTRL[:DATA]]" into s->host, ports and s->url. */
static int parse_net_url(const char *spec, struct trc_session *s,
                         char *err, size_t errlen)
{
    static const char syntax[] = "expected net://HOST[:CTRL_PORT[:DATA_PORT]], "
                                 "ports 1-65535 (default 5342 and 5343)";
    const char *h = spec + strlen(TRC_NET_SCHEME);
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof(s->host)) {
        snprintf(err, errlen, "'%s' names no relayd host; %s", spec, syntax);
        return -1;
    }
    for (size_t i = 0; i < hl; i++)
        if (!(h[i] == '.' || h[i] == '-' || h[i] == '_' ||
              (h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'z') ||
              (h[i] >= 'A' && h[i] <= 'Z'))) {
            snprintf(err, errlen, "'%s': the host holds '%c'; %s (an IPv4 "
                     "address or a host name)", spec, h[i], syntax);
            return -1;
        }
    memcpy(s->host, h, hl);
    s->host[hl] = '\0';
    s->ctrl_port = TRC_NET_CTRL_PORT;
    s->data_port = TRC_NET_DATA_PORT;
    const char *p = h + hl;
    if (*p == ':') {
        const char *e = p + 1 + strcspn(p + 1, ":/");
        if (parse_port(p + 1, e, &s->ctrl_port) != 0) {
            snprintf(err, errlen, "'%s': bad control port; %s", spec, syntax);
            return -1;
        }
        p = e;
        if (*p == ':') {
            e = p + 1 + strcspn(p + 1, ":/");
            if (parse_port(p + 1, e, &s->data_port) != 0) {
                snprintf(err, errlen, "'%s': bad data port; %s", spec, syntax);
                return -1;
            }
            p = e;
        }
    }
    if (*p != '\0') {
        snprintf(err, errlen, "'%s': unexpected '%s' after the ports; %s",
                 spec, p, syntax);
        return -1;
    }
    if (s->ctrl_port == s->data_port) {
        snprintf(err, errlen, "'%s': the control and data ports must differ; "
                 "%s", spec, syntax);
        return -1;
    }
    snprintf(s->url, sizeof(s->url), TRC_NET_SCHEME "%s:%u:%u", s->host,
             s->ctrl_port, s->data_port);
    return 0;
}

/* The lttng-relayd command line that would listen at s's URL. */
static void relayd_hint(const struct trc_session *s, char *buf, size_t len)
{
    unsigned live = TRC_NET_LIVE_PORT;
    while (live == s->ctrl_port || live == s->data_port)
        live++;
    bool numeric = strspn(s->host, "0123456789.") == strlen(s->host);
    const char *bind = numeric ? s->host : "0.0.0.0";
    snprintf(buf, len, "lttng-relayd -d -o OUTDIR -C tcp://%s:%u "
             "-D tcp://%s:%u -L tcp://%s:%u", bind, s->ctrl_port, bind,
             s->data_port, bind, live);
}

/* R8: connect once to host:port; 0, or -1 with why[] filled. */
static int probe_port(const char *host, unsigned port, char *why, size_t len)
{
    struct addrinfo hints, *ai = NULL;
    char svc[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(svc, sizeof(svc), "%u", port);
    int rc = getaddrinfo(host, svc, &hints, &ai);
    if (rc != 0) {
        snprintf(why, len, "cannot resolve host '%s': %s", host,
                 gai_strerror(rc));
        return -1;
    }
    int ret = -1, e = 0;
    for (struct addrinfo *a = ai; a && ret != 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                        a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            ret = 0;
        else
            e = errno;
        close(fd);
    }
    freeaddrinfo(ai);
    if (ret != 0)
        snprintf(why, len, "port %u on %s: %s", port, host, strerror(e));
    return ret;
}

static int probe_relayd(const struct trc_session *s, char *err, size_t errlen)
{
    char why[512], cmd[1024];
    if (probe_port(s->host, s->ctrl_port, why, sizeof(why)) == 0 &&
        probe_port(s->host, s->data_port, why, sizeof(why)) == 0)
        return 0;
    relayd_hint(s, cmd, sizeof(cmd));
    snprintf(err, errlen, "no lttng-relayd is listening at %s (%s); start "
             "one with: %s", s->url, why, cmd);
    return -1;
}

/* ---------------------------------------------------------- names (R2, R9) */

int trc_record_set_name_hint(const char *hint)
{
    if (!hint || !*hint) {
        name_hint[0] = '\0';
        return 0;
    }
    size_t n = strlen(hint);
    if (n > TRC_HINT_MAX || strspn(hint, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_") != n)
        return -1;
    memcpy(name_hint, hint, n + 1);
    return 0;
}

static void make_name(struct trc_session *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (name_hint[0])
        snprintf(s->name, sizeof(s->name), TRC_SESSION_PREFIX "%d-%s-%lld%09ld",
                 (int)getpid(), name_hint, (long long)ts.tv_sec, ts.tv_nsec);
    else
        snprintf(s->name, sizeof(s->name), TRC_SESSION_PREFIX "%d-%lld%09ld",
                 (int)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
}

/* ------------------------------------------------------------- begin */

/* Everything after the output is known (R1, R2, R4, R6, R7). */
static int begin_session(struct trc_session *s, struct trc_session **out,
                         char *err, size_t errlen)
{
    if (ensure_sessiond(err, errlen) != 0)
        goto fail;
    sweep_stale_sessions();
    make_name(s);

    struct lttng_session_descriptor *desc = s->url[0]
        ? lttng_session_descriptor_network_create(s->name, s->url, NULL)
        : lttng_session_descriptor_local_create(s->name, s->dir);
    if (!desc) {
        snprintf(err, errlen, "LTTng refused the output '%s' of trace "
                 "session %s", s->url[0] ? s->url : s->dir, s->name);
        goto fail;
    }
    enum lttng_error_code code = lttng_create_session_ext(desc);
    lttng_session_descriptor_destroy(desc);
    if (code != LTTNG_OK) {     /* LTTNG_OK is 10, not 0 */
        snprintf(err, errlen, "LTTng could not create trace session %s "
                 "%s '%s': %s", s->name, s->url[0] ? "streaming to" :
                 "writing into", s->url[0] ? s->url : s->dir,
                 lttng_strerror(-(int)code));
        goto fail;
    }
    if (configure_and_start(s, err, errlen) != 0) {
        destroy_session_bounded(s->name, TRC_DESTROY_WAIT_MS);  /* R6 */
        if (s->url[0]) {
            /* R8: the relayd may have gone away since the probe. */
            char more[2048];
            size_t n = strlen(err);
            if (probe_relayd(s, more, sizeof(more)) != 0 && n < errlen)
                snprintf(err + n, errlen - n, "; %s", more);
        }
        goto fail;
    }
    snprintf(active_session, sizeof(active_session), "%s", s->name);
    *out = s;
    return 0;

fail:
    if (s->handle)
        lttng_destroy_handle(s->handle);
    free(s);
    return -1;
}

int trc_record_begin(const char *dir, struct trc_session **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    struct trc_session *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory for the trace session");
        return -1;
    }
    if (prepare_dir(dir, s->dir, err, errlen) != 0) {
        free(s);
        return -1;
    }
    return begin_session(s, out, err, errlen);
}

int trc_record_begin_spec(const char *spec, struct trc_session **out,
                          char *err, size_t errlen)
{
    if (!trc_spec_is_net(spec))
        return trc_record_begin(spec, out, err, errlen);
    *out = NULL;
    struct trc_session *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory for the trace session");
        return -1;
    }
    if (parse_net_url(spec, s, err, errlen) != 0 ||
        probe_relayd(s, err, errlen) != 0) {
        free(s);
        return -1;
    }
    return begin_session(s, out, err, errlen);
}

void trc_session_where(const struct trc_session *s, struct trc_where *w)
{
    memset(w, 0, sizeof(*w));
    w->net = s->url[0] != '\0';
    snprintf(w->session, sizeof(w->session), "%s", s->name);
    snprintf(w->dir, sizeof(w->dir), "%s", s->dir);
    snprintf(w->url, sizeof(w->url), "%s", s->url);
    snprintf(w->host, sizeof(w->host), "%s", s->host);
    if (gethostname(w->hostname, sizeof(w->hostname) - 1) != 0)
        snprintf(w->hostname, sizeof(w->hostname), "localhost");
}

/* --------------------------------------------------------------- end */

int trc_record_end(struct trc_session *s, struct trc_stats *st,
                   char *err, size_t errlen)
{
    int ret = 0;
    struct trc_stats local = { 0, 0 };
    if (!st)
        st = &local;
    st->discarded_events = 0;
    st->lost_packets = 0;
    if (!s) {
        snprintf(err, errlen, "no trace session to end");
        return -1;
    }

    /* R5: stop, then wait for the consumer to flush everything to disk. */
    int rc = lttng_stop_tracing_no_wait(s->name);
    if (rc < 0) {
        lttng_fail(rc, "stop tracing", s->name, err, errlen);
        ret = -1;
    } else {
        uint64_t t0 = now_ms();
        unsigned nap = 1;
        while ((rc = lttng_data_pending(s->name)) > 0) {
            if (now_ms() - t0 > TRC_PENDING_DEADLINE_MS) {
                snprintf(err, errlen, "trace data of session %s was still "
                         "pending after %d s; the trace in '%s' may be "
                         "incomplete", s->name, TRC_PENDING_DEADLINE_MS / 1000,
                         s->url[0] ? s->url : s->dir);
                ret = -1;
                break;
            }
            sleep_ms(nap);
            if (nap < 20)
                nap *= 2;
        }
        if (rc < 0 && ret == 0) {
            lttng_fail(rc, "report pending data", s->name, err, errlen);
            ret = -1;
        }
    }

    /* R5: the counters live in the channel: read them before destroying. */
    struct lttng_channel *chans = NULL;
    int n = lttng_list_channels(s->handle, &chans);
    for (int i = 0; i < n; i++) {
        uint64_t d = 0, l = 0;
        if (lttng_channel_get_discarded_event_count(&chans[i], &d) == 0)
            st->discarded_events += d;
        if (lttng_channel_get_lost_packet_count(&chans[i], &l) == 0)
            st->lost_packets += l;
    }
    free(chans);
    if (n < 0 && ret == 0) {
        lttng_fail(n, "list the channels (loss counters unknown)", s->name,
                   err, errlen);
        ret = -1;
    }

    struct lttng_destruction_handle *dh = NULL;
    enum lttng_error_code code = lttng_destroy_session_ext(s->name, &dh);
    if (code != LTTNG_OK) {
        if (ret == 0)
            snprintf(err, errlen, "LTTng could not destroy trace session %s: %s",
                     s->name, lttng_strerror(-(int)code));
        ret = -1;
    } else {
        enum lttng_destruction_handle_status ds =
            lttng_destruction_handle_wait_for_completion(dh, TRC_DESTROY_WAIT_MS);
        enum lttng_error_code result = LTTNG_OK;
        if (ds == LTTNG_DESTRUCTION_HANDLE_STATUS_TIMEOUT) {
            if (ret == 0)
                snprintf(err, errlen, "trace session %s was not destroyed "
                         "within %d s; the session daemon may be wedged",
                         s->name, TRC_DESTROY_WAIT_MS / 1000);
            ret = -1;
        } else if (ds != LTTNG_DESTRUCTION_HANDLE_STATUS_COMPLETED ||
                   lttng_destruction_handle_get_result(dh, &result) !=
                       LTTNG_DESTRUCTION_HANDLE_STATUS_OK ||
                   result != LTTNG_OK) {
            if (ret == 0)
                snprintf(err, errlen, "destroying trace session %s failed: %s",
                         s->name, lttng_strerror(-(int)result));
            ret = -1;
        }
    }
    lttng_destruction_handle_destroy(dh);
    lttng_destroy_handle(s->handle);
    if (!strcmp(active_session, s->name))
        active_session[0] = '\0';
    free(s);
    return ret;
}

void trc_child_environment(void)
{
    /* Read once by lttng-ust before main(): useless if set later. */
    setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
    setenv("LTTNG_UST_REGISTER_TIMEOUT", "-1", 1);
    if (!active_session[0])
        return;
    /* R7: join the session before exec, so the first event is recorded. */
    char err[512];
    if (track_pid(active_session, getpid(), err, sizeof(err)) != 0)
        fprintf(stderr, "hvlab: %s; this process's events will be missing "
                "from the trace\n", err);
}
