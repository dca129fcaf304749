/*
 * toolstack/mig_conn.c - the connection a migration between two hvlab
 * processes runs over: URLs, sockets and files, the buffered sink, the
 * exact source, the tee and xl's handshake.
 *
 * Rules (numbers from toolstack/mig_conn.h):
 *   C1  mig_url_parse() is the only parser of URLs; parse_hostport() the
 *       only parser of "HOST:PORT" (shared with the listener's spec).
 *   C2  raw_write() is the one place bytes go out and raw_read() the one
 *       place they come in: both count (C3), both map the system error to
 *       a Xen errno with a message naming the peer (C5).  The sink copies
 *       into wbuf and writes it whole when full; a piece larger than the
 *       buffer goes straight out after what was buffered.  The source reads
 *       exactly what it is asked and never more.
 *   C3  The tee gets the stream (what went through mig_conn_sink and
 *       mig_conn_source), in the order it crossed; the C4 messages are not
 *       stream bytes and do not go there, so the tee of either side is the
 *       xl stream Xen's checker reads.  A tee that cannot be written fails
 *       the connection (-XEN_EIO): a partial copy is worse than none.
 *   C4  Messages are read with poll() against one deadline per message and
 *       compared as they arrive: a wrong byte is reported at once with what
 *       came; a file connection has no handshake (-XEN_EOPNOTSUPP).
 *   C5  Sockets are written with MSG_NOSIGNAL: a closed peer is an error,
 *       never SIGPIPE.  c->error holds the first send error and sticks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <xen/errno.h>

#include "toolstack/mig_conn.h"

/* Socket buffers asked for on both ends (bench/bench-mig-conn.c measures
   what they buy on loopback). */
#define MIG_CONN_SOCKBUF    (4U << 20)

/* ---- errors (C5) ----------------------------------------------------------- */

static int xen_errno(int e)
{
    switch (e) {
    case ENOENT:        return -XEN_ENOENT;
    case EACCES:        return -XEN_EACCES;
    case EPERM:         return -XEN_EPERM;
    case ENOMEM:        return -XEN_ENOMEM;
    case ENOSPC:        return -XEN_ENOSPC;
    case EISDIR:        return -XEN_EISDIR;
    case ENOTDIR:       return -XEN_ENOTDIR;
    case EEXIST:        return -XEN_EEXIST;
    case EROFS:         return -XEN_EROFS;
    case EMFILE:        return -XEN_EMFILE;
    case ENFILE:        return -XEN_ENFILE;
    case ENAMETOOLONG:  return -XEN_ENAMETOOLONG;
    case EADDRINUSE:    return -XEN_EADDRINUSE;
    case EADDRNOTAVAIL: return -XEN_EADDRNOTAVAIL;
    case ECONNREFUSED:  return -XEN_ECONNREFUSED;
    case ETIMEDOUT:     return -XEN_ETIMEDOUT;
    case ENOTCONN:      return -XEN_ENOTCONN;
    case ENOBUFS:       return -XEN_ENOBUFS;
    case EAGAIN:        return -XEN_EAGAIN;
    }
    return -XEN_EIO;
}

static int conn_fail(struct mig_conn *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int conn_fail(struct mig_conn *c, int rc, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (snprintf(c->err, sizeof(c->err), "%s: %s", c->peer, what) >=
        (int)sizeof(c->err))
        memcpy(c->err + sizeof(c->err) - 4, "...", 4);  /* cut, and says so */
    return rc;
}

static const char *other_side(const struct mig_conn *c)
{
    return c->sender ? "the receiver" : "the sender";
}

/* ---- URLs (C1) ------------------------------------------------------------- */

static bool host_chars_ok(const char *h)
{
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_')
            return false;
    return true;
}

/* "HOST:PORT", "[V6]:PORT", or (host_optional) "PORT".  host[0] = 0 when
   absent.  NULL, or what was wrong. */
static const char *parse_hostport(const char *s, bool host_optional,
                                  bool port_zero_ok, char *host, size_t hostsz,
                                  uint16_t *port)
{
    const char *ps;
    host[0] = '\0';
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return "no ']' after the IPv6 address";
        size_t n = (size_t)(close - s - 1);
        if (!n)
            return "empty IPv6 address";
        if (n >= hostsz)
            return "host name too long";
        memcpy(host, s + 1, n);
        host[n] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return "not an IPv6 address in the brackets";
        if (close[1] != ':')
            return "missing port";
        ps = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            if (!host_optional)
                return "missing port";
            ps = s;
        } else {
            size_t n = (size_t)(colon - s);
            if (memchr(s, ':', n))
                return "an IPv6 address must be in brackets";
            if (!n)
                return "empty host";
            if (n >= hostsz)
                return "host name too long";
            memcpy(host, s, n);
            host[n] = '\0';
            if (!host_chars_ok(host))
                return "bad character in the host name";
            ps = colon + 1;
        }
    }
    if (!*ps)
        return "missing port";
    unsigned long v = 0;
    for (const char *p = ps; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return "port is not a number";
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return "port out of range (1-65535)";
    }
    if (!v && !port_zero_ok)
        return "port out of range (1-65535)";
    *port = (uint16_t)v;
    return NULL;
}

int mig_url_parse(const char *s, struct mig_url *u, char *err, size_t errlen)
{
    const char *why = NULL;
    memset(u, 0, sizeof(*u));
    if (!s || !*s) {
        snprintf(err, errlen, "\"\": empty URL");
        return -XEN_EINVAL;
    }
    if (strncmp(s, "tcp://", 6) == 0) {
        u->kind = MIG_URL_TCP;
        why = parse_hostport(s + 6, false, false, u->host, sizeof(u->host),
                             &u->port);
    } else if (strncmp(s, "tcp:", 4) == 0) {
        why = "a TCP URL is tcp://HOST:PORT";
    } else if (strstr(s, "://")) {
        why = "unknown scheme (tcp://HOST:PORT, file:PATH or a path)";
    } else {
        const char *path = strncmp(s, "file:", 5) == 0 ? s + 5 : s;
        u->kind = MIG_URL_FILE;
        if (!*path)
            why = "empty path";
        else if (strlen(path) >= sizeof(u->path))
            why = "path too long";
        else
            strcpy(u->path, path);
    }
    if (why) {
        snprintf(err, errlen, "\"%.200s\": %s", s, why);
        memset(u, 0, sizeof(*u));
        return -XEN_EINVAL;
    }
    return 0;
}

/* ---- opening ---------------------------------------------------------------- */

static struct mig_conn *conn_new(int fd, bool socket, bool sender,
                                 const char *peer)
{
    struct mig_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->socket = socket;
    c->sender = sender;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    return c;
}

int mig_conn_io_timeout_s(void)
{
    const char *e = getenv("HVLAB_MIG_TIMEOUT");
    char *end;
    long v = e ? strtol(e, &end, 10) : 0;
    return e && *e && !*end && v >= 1 && v <= 3600 ? (int)v
                                                   : MIG_CONN_IO_TIMEOUT_S;
}

static void sock_tune(int fd)
{
    int v = (int)MIG_CONN_SOCKBUF, one = 1;
    /* Best effort: the kernel caps it at net.core.[rw]mem_max. */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    /* C6: a peer that stops reading or sending is an error after
       MIG_CONN_IO_TIMEOUT_S, a vanished host is found by keepalive. */
    struct timeval tv = { .tv_sec = mig_conn_io_timeout_s() };
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

/* connect() interrupted by a signal goes on in the background: wait for it
   and read its outcome (0 or an errno). */
static int connect_finish(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int r;
    while ((r = poll(&pfd, 1, mig_conn_io_timeout_s() * 1000)) < 0 &&
           errno == EINTR)
        ;
    if (r == 0)
        return ETIMEDOUT;
    if (r < 0)
        return errno;
    int e = 0;
    socklen_t l = sizeof(e);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0)
        return errno;
    return e;
}

static void url_name(const struct mig_url *u, char *buf, size_t sz)
{
    if (u->kind == MIG_URL_FILE) {
        if (snprintf(buf, sz, "%s", u->path) >= (int)sz)
            memcpy(buf + sz - 4, "...", 4);
    } else if (strchr(u->host, ':'))
        snprintf(buf, sz, "tcp://[%s]:%u", u->host, u->port);
    else
        snprintf(buf, sz, "tcp://%s:%u", u->host, u->port);
}

struct mig_conn *mig_conn_open(const struct mig_url *u, char *err,
                               size_t errlen)
{
    char name[300];
    url_name(u, name, sizeof(name));
    int fd = -1;
    if (u->kind == MIG_URL_FILE) {
        fd = open(u->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "%s: %s", name, strerror(errno));
            return NULL;
        }
    } else {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                                  .ai_family = AF_UNSPEC }, *ai, *a;
        char port[8];
        snprintf(port, sizeof(port), "%u", u->port);
        int g = getaddrinfo(u->host, port, &hints, &ai);
        if (g) {
            snprintf(err, errlen, "%s: %s", name, gai_strerror(g));
            return NULL;
        }
        int last = 0;
        for (a = ai; a; a = a->ai_next) {
            fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                        a->ai_protocol);
            if (fd < 0) {
                last = errno;
                continue;
            }
            sock_tune(fd);
            int r = connect(fd, a->ai_addr, a->ai_addrlen);
            if (r < 0 && errno == EINTR && (r = connect_finish(fd)) != 0)
                errno = r;
            if (r == 0)
                break;
            last = errno;
            close(fd);
            fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0) {
            snprintf(err, errlen, "%s: connect: %s", name, strerror(last));
            return NULL;
        }
    }
    struct mig_conn *c = conn_new(fd, u->kind == MIG_URL_TCP, true, name);
    if (!c) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", name);
    }
    return c;
}

int mig_conn_listen(const char *spec, uint16_t *port, char *err,
                    size_t errlen)
{
    char host[256];
    uint16_t p = 0;
    const char *why = spec && *spec
        ? parse_hostport(spec, true, true, host, sizeof(host), &p)
        : "empty listen address";
    if (why) {
        snprintf(err, errlen, "listen \"%.200s\": %s", spec ? spec : "", why);
        return -XEN_EINVAL;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE,
                              .ai_family = host[0] ? AF_UNSPEC : AF_INET6 },
                    *ai = NULL, *a;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", p);
    int g = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
    if (g && !host[0]) {            /* no IPv6 here: every IPv4 address */
        hints.ai_family = AF_INET;
        g = getaddrinfo(NULL, ps, &hints, &ai);
    }
    if (g) {
        snprintf(err, errlen, "listen %s: %s", spec, gai_strerror(g));
        return -XEN_EINVAL;
    }
    int fd = -1, last = 0;
retry:
    for (a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1, zero = 0;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->ai_family == AF_INET6 && !host[0])
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        sock_tune(fd);      /* inherited by the accepted socket */
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4) == 0)
            break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    ai = NULL;
    if (fd < 0 && !host[0] && hints.ai_family == AF_INET6) {
        /* IPv6 there but unusable (ipv6.disable=1): every IPv4 address */
        hints.ai_family = AF_INET;
        if (getaddrinfo(NULL, ps, &hints, &ai) == 0)
            goto retry;
    }
    if (fd < 0) {
        snprintf(err, errlen, "listen %s: %s", spec, strerror(last));
        return xen_errno(last);
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "listen %s: getsockname: %s", spec, strerror(e));
        return xen_errno(e);
    }
    if (port)
        *port = ntohs(ss.ss_family == AF_INET6
                      ? ((struct sockaddr_in6 *)&ss)->sin6_port
                      : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

struct mig_conn *mig_conn_accept(int lfd, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd;
    while ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC)) < 0 &&
           errno == EINTR)
        sl = sizeof(ss);
    if (fd < 0) {
        snprintf(err, errlen, "accept: %s", strerror(errno));
        return NULL;
    }
    char h[INET6_ADDRSTRLEN + 8] = "?", s[8] = "?", name[300];
    (void)getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), s, sizeof(s),
                      NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(name, sizeof(name), strchr(h, ':') ? "tcp://[%s]:%s"
                                                : "tcp://%s:%s", h, s);
    struct mig_conn *c = conn_new(fd, true, false, name);
    if (!c) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", name);
    }
    return c;
}

struct mig_conn *mig_conn_open_read(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct mig_conn *c = conn_new(fd, false, false, path);
    if (!c) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
    }
    return c;
}

/* ---- bytes out (C2, C3, C5) ------------------------------------------------ */

static int send_fail(struct mig_conn *c, int rc)
{
    if (!c->error)
        c->error = rc;
    return c->error;
}

static int tee_put(struct mig_conn *c, const void *buf, size_t len)
{
    if (c->tee && len && fwrite(buf, 1, len, c->tee) != len)
        return conn_fail(c, -XEN_EIO, "tee: write failed after %llu bytes",
                         (unsigned long long)(c->bytes_out + c->bytes_in));
    return 0;
}

static int raw_write(struct mig_conn *c, const void *buf, size_t len, bool tee)
{
    const uint8_t *p = buf;
    if (c->error)
        return c->error;
    while (len) {
        ssize_t n = c->socket ? send(c->fd, p, len, MSG_NOSIGNAL)
                              : write(c->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            if (c->socket && (e == EPIPE || e == ECONNRESET))
                return send_fail(c, conn_fail(c, -XEN_EIO, "%s closed the "
                                 "connection after %llu bytes", other_side(c),
                                 (unsigned long long)c->bytes_out));
            if (c->socket && (e == EAGAIN || e == EWOULDBLOCK))   /* C6 */
                return send_fail(c, conn_fail(c, -XEN_ETIMEDOUT, "%s read "
                                 "nothing for %d s, after %llu bytes",
                                 other_side(c), mig_conn_io_timeout_s(),
                                 (unsigned long long)c->bytes_out));
            return send_fail(c, conn_fail(c, xen_errno(e), "write after %llu "
                             "bytes: %s", (unsigned long long)c->bytes_out,
                             strerror(e)));
        }
        if (tee && tee_put(c, p, (size_t)n))
            return send_fail(c, -XEN_EIO);
        c->bytes_out += (uint64_t)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mig_conn_flush(struct mig_conn *c)
{
    if (c->error)
        return c->error;
    int rc = raw_write(c, c->wbuf, c->wlen, true);
    if (!rc)
        c->wlen = 0;
    return rc;
}

int mig_conn_sink(void *ctx, const void *buf, size_t len)
{
    struct mig_conn *c = ctx;
    if (c->error)
        return c->error;
    if (!c->wbuf && !(c->wbuf = malloc(MIG_CONN_BUF)))
        return send_fail(c, conn_fail(c, -XEN_ENOMEM, "no memory for the "
                                      "send buffer"));
    if (len <= MIG_CONN_BUF - c->wlen) {
        memcpy(c->wbuf + c->wlen, buf, len);
        c->wlen += len;
        return c->wlen == MIG_CONN_BUF ? mig_conn_flush(c) : 0;
    }
    int rc = mig_conn_flush(c);
    if (rc)
        return rc;
    if (len >= MIG_CONN_BUF)
        return raw_write(c, buf, len, true);
    memcpy(c->wbuf, buf, len);
    c->wlen = len;
    return 0;
}

int mig_conn_close(struct mig_conn *c)
{
    if (!c)
        return 0;
    int rc = c->wlen ? mig_conn_flush(c) : c->error;
    if (c->tee)
        fflush(c->tee);
    if (close(c->fd) != 0 && !rc)
        rc = xen_errno(errno);
    free(c->wbuf);
    free(c);
    return rc;
}

/* ---- bytes in (C2, C3) ----------------------------------------------------- */

/* One read(): the count (0 at the end), or a negative Xen errno. */
static long raw_read(struct mig_conn *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(c->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && c->socket && (errno == EAGAIN || errno == EWOULDBLOCK))
            return conn_fail(c, -XEN_ETIMEDOUT, "%s sent nothing for %d s, "
                             "after %llu bytes", other_side(c),
                             mig_conn_io_timeout_s(),
                             (unsigned long long)c->bytes_in);   /* C6 */
        if (n < 0)
            return conn_fail(c, xen_errno(errno), "read after %llu bytes: %s",
                             (unsigned long long)c->bytes_in, strerror(errno));
        c->bytes_in += (uint64_t)n;
        return (long)n;
    }
}

long mig_conn_source(void *ctx, void *buf, size_t len)
{
    struct mig_conn *c = ctx;
    size_t got = 0;
    while (got < len) {
        long n = raw_read(c, (uint8_t *)buf + got, len - got);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        if (tee_put(c, (uint8_t *)buf + got, (size_t)n))
            return -XEN_EIO;
        got += (size_t)n;
    }
    return (long)got;
}

/* ---- the handshake (C4) ---------------------------------------------------- */

int mig_conn_send_msg(struct mig_conn *c, const void *msg, size_t len)
{
    if (!c->socket)
        return conn_fail(c, -XEN_EOPNOTSUPP, "no handshake on a file");
    int rc = mig_conn_flush(c);
    return rc ? rc : raw_write(c, msg, len, false);
}

int mig_conn_send_byte(struct mig_conn *c, uint8_t b)
{
    return mig_conn_send_msg(c, &b, 1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "abc\n\0" as C text, cut to fit. */
static void escape(const uint8_t *p, size_t n, char *out, size_t sz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < sz; i++) {
        if (p[i] == '"' || p[i] == '\\')
            o += (size_t)snprintf(out + o, sz - o, "\\%c", p[i]);
        else if (isprint(p[i]))
            out[o++] = (char)p[i];
        else if (p[i] == '\n')
            o += (size_t)snprintf(out + o, sz - o, "\\n");
        else
            o += (size_t)snprintf(out + o, sz - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
}

/* Read len bytes into buf by timeout_ms, comparing with want (if given) as
   they come. */
static int read_timed(struct mig_conn *c, uint8_t *buf, size_t len,
                      const uint8_t *want, const char *what, int timeout_ms)
{
    if (!c->socket)
        return conn_fail(c, -XEN_EOPNOTSUPP, "no handshake on a file");
    int64_t deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
    size_t got = 0;
    char shown[96];
    while (got < len) {
        int wait = -1;
        if (timeout_ms >= 0) {
            int64_t left = deadline - now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return conn_fail(c, xen_errno(errno), "poll: %s", strerror(errno));
        if (pr == 0)
            return conn_fail(c, -XEN_ETIMEDOUT, "nothing more within %d ms "
                             "while waiting for %s (%zu of %zu bytes came)",
                             timeout_ms, what, got, len);
        long n = raw_read(c, buf + got, len - got);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return conn_fail(c, -XEN_EIO, "%s closed the connection after "
                             "%llu bytes, while waiting for %s (%zu of %zu "
                             "bytes came)", other_side(c),
                             (unsigned long long)c->bytes_in, what, got, len);
        if (want && memcmp(buf + got, want + got, (size_t)n) != 0) {
            escape(buf, got + (size_t)n, shown, sizeof(shown));
            return conn_fail(c, -XEN_EINVAL, "expected %s, got \"%s\"", what,
                             shown);
        }
        got += (size_t)n;
    }
    return 0;
}

int mig_conn_expect_msg(struct mig_conn *c, const void *msg, size_t len,
                        int timeout_ms)
{
    char what[96], shown[80];
    escape(msg, len, shown, sizeof(shown));
    snprintf(what, sizeof(what), "\"%s\"", shown);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return conn_fail(c, -XEN_ENOMEM, "no memory for a message");
    int rc = read_timed(c, buf, len, msg, what, timeout_ms);
    free(buf);
    return rc;
}

int mig_conn_read_byte(struct mig_conn *c, uint8_t *b, int timeout_ms)
{
    return read_timed(c, b, 1, NULL, "the report's result byte", timeout_ms);
}
