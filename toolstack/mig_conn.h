/*
 * toolstack/mig_conn.h - the connection a migration between two hvlab
 * processes runs over: a TCP socket (`hvlab migrate --to tcp://HOST:PORT`,
 * `hvlab receive --listen [HOST:]PORT`) or a file (`--to file:PATH`,
 * `hvlab receive --from PATH`), with xl's handshake on sockets.
 *
 * Rules:
 *   C1  URLs: "tcp://HOST:PORT" (HOST a name or an IPv4/IPv6 address,
 *       IPv6 in brackets), "file:PATH", or a plain PATH (a file).  Anything
 *       else, a missing or out-of-range port, is -XEN_EINVAL with err
 *       naming the URL and what was wrong.
 *   C2  The send side is buffered (MIG_CONN_BUF bytes; mig_conn_sink is a
 *       stream_sink_fn): a migration writes through few system calls.
 *       mig_conn_flush pushes what is buffered; every message of the
 *       handshake flushes first.  The receive side (mig_conn_source, a
 *       stream_source_fn) reads what is asked and never more, so one
 *       connection carries the xl header, the libxc stream, the libxl
 *       records and then the handshake.
 *   C3  Every byte that crosses is counted (bytes_out / bytes_in); with a
 *       tee file set, every stream byte read or written (mig_conn_sink,
 *       mig_conn_source; not the C4 messages) is also written there
 *       (--save-stream), exactly as it crossed: either side's tee is the
 *       xl stream.
 *   C4  The handshake, on sockets only (xl's xl_migrate.c strings):
 *         receiver -> MIG_MSG_BANNER (without its NUL) once it accepted;
 *         sender   -> the stream (xl header .. libxl END);
 *         receiver -> MIG_MSG_READY (with NUL) once the domain is restored
 *                     and ready to unpause, or it closes / sends nothing
 *                     on failure;
 *         sender   -> MIG_MSG_GO (with NUL): the domain is the receiver's;
 *         receiver -> MIG_MSG_REPORT (with NUL) and one byte, 0 when the
 *                     guest resumed and runs.
 *       The sender that gets anything else (or a closed connection, or
 *       nothing within the timeout) resumes the guest where it was.
 *   C5  Errors are negative Xen errnos with err naming the peer and the
 *       system error; a peer closing early is -XEN_EIO ("the receiver
 *       closed the connection after N bytes").  SIGPIPE never kills the
 *       process (MSG_NOSIGNAL).
 *   C6  No wait is endless: a socket that moves no byte for
 *       MIG_CONN_IO_TIMEOUT_S (a receiver that stopped reading, a sender
 *       that vanished without closing) is -XEN_ETIMEDOUT naming the peer;
 *       keepalive finds a host that went away.  The handshake messages
 *       have their own limits (C4).  HVLAB_MIG_TIMEOUT=SECONDS (1..3600)
 *       in the environment sets another limit (tests use a short one).
 */
#ifndef HVLAB_TOOLSTACK_MIG_CONN_H
#define HVLAB_TOOLSTACK_MIG_CONN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MIG_CONN_BUF        (1U << 20)
#define MIG_CONN_IO_TIMEOUT_S   120

#define MIG_MSG_BANNER  "xl migration receiver ready, send binary domain data.\n"
#define MIG_MSG_READY   "domain received, ready to unpause"
#define MIG_MSG_GO      "domain is yours, you are cleared to unpause"
#define MIG_MSG_REPORT  "my copy unpause results are as follows"

enum mig_url_kind { MIG_URL_TCP, MIG_URL_FILE };
struct mig_url {
    enum mig_url_kind kind;
    char host[256];                 /* tcp */
    uint16_t port;                  /* tcp */
    char path[PATH_MAX];            /* file */
};
/* C1.  0 or -XEN_EINVAL. */
int mig_url_parse(const char *s, struct mig_url *u, char *err, size_t errlen);

struct mig_conn {
    int fd;
    bool socket;                    /* C4 applies */
    bool sender;                    /* opened by mig_conn_open (messages
                                       name the other side) */
    char peer[300];                 /* "tcp://127.0.0.1:5000" / the path */
    uint8_t *wbuf;                  /* C2 */
    size_t wlen;
    uint64_t bytes_out, bytes_in;   /* C3 */
    FILE *tee;                      /* C3, or NULL */
    int error;                      /* first send error, sticky */
    char err[256];
};

/* Sender: connect to u (tcp) or create/truncate u's file.  NULL with err
   filled on failure. */
struct mig_conn *mig_conn_open(const struct mig_url *u, char *err,
                               size_t errlen);
/* Receiver: a listening socket on "[HOST:]PORT" (HOST default: every
   address; PORT 0: any free one), its port in *port.  The fd, or
   -XEN_E* with err filled. */
int mig_conn_listen(const char *spec, uint16_t *port, char *err,
                    size_t errlen);
/* Accept one connection on lfd (waits), or NULL with err filled. */
struct mig_conn *mig_conn_accept(int lfd, char *err, size_t errlen);
/* Receiver: read from a file. */
struct mig_conn *mig_conn_open_read(const char *path, char *err,
                                    size_t errlen);
/* Flush and close (NULL is fine).  0, or the flush's error. */
int mig_conn_close(struct mig_conn *c);

/* C6: the limit in seconds. */
int mig_conn_io_timeout_s(void);

/* stream_sink_fn / stream_source_fn over a struct mig_conn *. */
int mig_conn_sink(void *ctx, const void *buf, size_t len);
long mig_conn_source(void *ctx, void *buf, size_t len);
int mig_conn_flush(struct mig_conn *c);

/* C4: send a message (flushing first), or read one and check it is
   exactly msg (len bytes) within timeout_ms (-1: no limit).  0,
   -XEN_EIO (closed), -XEN_ETIMEDOUT, or -XEN_EINVAL (other bytes: err
   shows what came). */
int mig_conn_send_msg(struct mig_conn *c, const void *msg, size_t len);
int mig_conn_expect_msg(struct mig_conn *c, const void *msg, size_t len,
                        int timeout_ms);
/* One byte (the report's result). */
int mig_conn_send_byte(struct mig_conn *c, uint8_t b);
int mig_conn_read_byte(struct mig_conn *c, uint8_t *b, int timeout_ms);

#endif /* HVLAB_TOOLSTACK_MIG_CONN_H */
