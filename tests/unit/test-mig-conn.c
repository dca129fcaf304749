/*
 * tests/unit/test-mig-conn.c - the migration connection
 * (toolstack/mig_conn.h C1-C5): URLs, a loopback listener and a sender in
 * two threads, the buffered sink and exact source, the handshake, the tee
 * and the file mode.
 */
#include <pthread.h>

#include "tests/unit/test.h"
#include "toolstack/mig_conn.h"
#include "toolstack/stream.h"

/* ---- URLs (C1) ---------------------------------------------------------------- */

struct url_case {
    const char *s;
    int rc;
    enum mig_url_kind kind;
    const char *host_or_path;
    uint16_t port;
    const char *why;            /* in err, when rejected */
};

static const struct url_case urls[] = {
    { "tcp://localhost:5000", 0, MIG_URL_TCP, "localhost", 5000, NULL },
    { "tcp://127.0.0.1:1", 0, MIG_URL_TCP, "127.0.0.1", 1, NULL },
    { "tcp://[::1]:65535", 0, MIG_URL_TCP, "::1", 65535, NULL },
    { "tcp://host-b.example_x:80", 0, MIG_URL_TCP, "host-b.example_x", 80, NULL },
    { "file:/tmp/s.xl", 0, MIG_URL_FILE, "/tmp/s.xl", 0, NULL },
    { "out/s.xl", 0, MIG_URL_FILE, "out/s.xl", 0, NULL },
    { "", -XEN_EINVAL, 0, NULL, 0, "empty URL" },
    { "file:", -XEN_EINVAL, 0, NULL, 0, "empty path" },
    { "tcp://localhost", -XEN_EINVAL, 0, NULL, 0, "missing port" },
    { "tcp://localhost:", -XEN_EINVAL, 0, NULL, 0, "missing port" },
    { "tcp://:5000", -XEN_EINVAL, 0, NULL, 0, "empty host" },
    { "tcp://localhost:0", -XEN_EINVAL, 0, NULL, 0, "out of range" },
    { "tcp://localhost:65536", -XEN_EINVAL, 0, NULL, 0, "out of range" },
    { "tcp://localhost:50x", -XEN_EINVAL, 0, NULL, 0, "not a number" },
    { "tcp://::1:5000", -XEN_EINVAL, 0, NULL, 0, "in brackets" },
    { "tcp://[::1:5000", -XEN_EINVAL, 0, NULL, 0, "no ']'" },
    { "tcp://[nothex]:5000", -XEN_EINVAL, 0, NULL, 0, "not an IPv6" },
    { "tcp://[::1]5000", -XEN_EINVAL, 0, NULL, 0, "missing port" },
    { "tcp://bad host:5000", -XEN_EINVAL, 0, NULL, 0, "bad character" },
    { "tcp:localhost:5000", -XEN_EINVAL, 0, NULL, 0, "tcp://HOST:PORT" },
    { "http://x:80", -XEN_EINVAL, 0, NULL, 0, "unknown scheme" },
};

static void t_urls(void)
{
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        const struct url_case *k = &urls[i];
        struct mig_url u;
        char err[256] = "";
        int rc = mig_url_parse(k->s, &u, err, sizeof(err));
        bool good = rc == k->rc;
        if (good && rc == 0) {
            good = u.kind == k->kind &&
                   strcmp(k->kind == MIG_URL_TCP ? u.host : u.path,
                          k->host_or_path) == 0 && u.port == k->port;
        } else if (good) {
            good = strstr(err, k->why) && strstr(err, k->s);
        }
        if (!good) {
            fprintf(stderr, "  \"%s\": rc %d err \"%s\"\n", k->s, rc, err);
            test_failures++;
        }
    }
}

static void t_listen_spec(void)
{
    char err[256];
    uint16_t port = 0;
    CHECK_EQ(mig_conn_listen("127.0.0.1:99999", &port, err, sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "out of range") != NULL);
    CHECK_EQ(mig_conn_listen("", &port, err, sizeof(err)), -XEN_EINVAL);
    int fd = mig_conn_listen("0", &port, err, sizeof(err));
    REQUIRE(fd >= 0);
    CHECK(port != 0);
    close(fd);
    fd = mig_conn_listen("127.0.0.1:0", &port, err, sizeof(err));
    REQUIRE(fd >= 0);
    /* The same port again while it listens: in use. */
    char spec[32];
    snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
    CHECK_EQ(mig_conn_listen(spec, NULL, err, sizeof(err)), -XEN_EADDRINUSE);
    close(fd);
    struct mig_url u;
    REQUIRE(mig_url_parse(spec, &u, err, sizeof(err)) == 0);   /* a file name */
    snprintf(spec, sizeof(spec), "tcp://127.0.0.1:%u", port);
    REQUIRE(mig_url_parse(spec, &u, err, sizeof(err)) == 0);
    CHECK(mig_conn_open(&u, err, sizeof(err)) == NULL);   /* nobody listens */
    CHECK(strstr(err, "connect") != NULL);
}

/* ---- two ends over loopback --------------------------------------------------- */

struct pair {
    struct mig_conn *snd, *rcv;
};

struct accept_arg {
    int lfd;
    struct mig_conn *c;
};
static void *accept_thread(void *p)
{
    struct accept_arg *a = p;
    char err[256];
    a->c = mig_conn_accept(a->lfd, err, sizeof(err));
    return NULL;
}

static struct pair connect_pair(void)
{
    char err[256], url[64];
    uint16_t port;
    int lfd = mig_conn_listen("127.0.0.1:0", &port, err, sizeof(err));
    REQUIRE(lfd >= 0);
    struct accept_arg a = { .lfd = lfd };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, accept_thread, &a) == 0);
    snprintf(url, sizeof(url), "tcp://localhost:%u", port);
    struct mig_url u;
    REQUIRE(mig_url_parse(url, &u, err, sizeof(err)) == 0);
    struct pair p = { .snd = mig_conn_open(&u, err, sizeof(err)) };
    pthread_join(t, NULL);
    close(lfd);
    p.rcv = a.c;
    REQUIRE(p.snd && p.rcv);
    CHECK(p.snd->socket && p.rcv->socket);
    CHECK(strstr(p.rcv->peer, "tcp://") == p.rcv->peer);
    return p;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

#define BIG (5U << 20)          /* 5 MiB */
static uint8_t *pattern(void)
{
    uint8_t *b = malloc(BIG);
    REQUIRE(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < BIG; i++) {
        x = x * 1103515245 + 12345;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

struct sender_arg {
    struct mig_conn *c;
    const uint8_t *data;
    int rc;
};
/* Odd piece sizes around the buffer's edge, one piece bigger than it. */
static void *sender_thread(void *p)
{
    struct sender_arg *a = p;
    static const size_t sizes[] = { 1, 4096, 7, 65536, (1U << 20) + 3, 100, 4093 };
    size_t off = 0, k = 0;
    while (!a->rc && off < BIG) {
        size_t n = sizes[k++ % 7];
        if (n > BIG - off)
            n = BIG - off;
        a->rc = mig_conn_sink(a->c, a->data + off, n);
        off += n;
    }
    if (!a->rc)
        a->rc = mig_conn_flush(a->c);
    return NULL;
}

static void t_stream_intact(void)
{
    struct pair p = connect_pair();
    uint8_t *data = pattern(), *got = malloc(BIG);
    REQUIRE(got);
    char teepath[] = "/tmp/hvlab-mig-conn-tee-XXXXXX";
    int tfd = mkstemp(teepath);
    REQUIRE(tfd >= 0);
    p.rcv->tee = fdopen(tfd, "w+b");
    REQUIRE(p.rcv->tee);
    struct sender_arg a = { .c = p.snd, .data = data };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, sender_thread, &a) == 0);
    size_t have = 0;
    while (have < BIG) {        /* 4 MiB records, as the restore reads */
        size_t want = BIG - have < (4U << 20) ? BIG - have : (4U << 20);
        long n = mig_conn_source(p.rcv, got + have, want);
        REQUIRE(n > 0);
        CHECK_EQ(n, want);      /* exactly what was asked */
        have += (size_t)n;
    }
    pthread_join(t, NULL);
    CHECK_EQ(a.rc, 0);
    CHECK_HEX(fnv(0xcbf29ce484222325ULL, got, BIG),
              fnv(0xcbf29ce484222325ULL, data, BIG));
    CHECK_EQ(p.snd->bytes_out, BIG);
    CHECK_EQ(p.rcv->bytes_in, BIG);
    /* The tee holds exactly the bytes. */
    fflush(p.rcv->tee);
    CHECK_EQ(ftell(p.rcv->tee), BIG);
    rewind(p.rcv->tee);
    CHECK_EQ(fread(got, 1, BIG, p.rcv->tee), BIG);
    CHECK(memcmp(got, data, BIG) == 0);
    fclose(p.rcv->tee);
    p.rcv->tee = NULL;
    unlink(teepath);
    CHECK_EQ(mig_conn_close(p.snd), 0);
    CHECK_EQ(mig_conn_close(p.rcv), 0);
    free(data);
    free(got);
}

/* The whole C4 exchange: the receiver in a thread. */
static void *receiver_thread(void *p)
{
    struct mig_conn *c = p;
    uint8_t buf[5];
    intptr_t bad = 0;
    bad |= mig_conn_send_msg(c, MIG_MSG_BANNER, sizeof(MIG_MSG_BANNER) - 1) != 0;
    bad |= mig_conn_source(c, buf, 5) != 5 || memcmp(buf, "DATA!", 5) != 0;
    bad |= mig_conn_send_msg(c, MIG_MSG_READY, sizeof(MIG_MSG_READY)) != 0;
    bad |= mig_conn_expect_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO), 5000) != 0;
    bad |= mig_conn_send_msg(c, MIG_MSG_REPORT, sizeof(MIG_MSG_REPORT)) != 0;
    bad |= mig_conn_send_byte(c, 0) != 0;
    return (void *)bad;
}

static void t_handshake_flow(void)
{
    /* READY only comes after the receiver has the whole stream, so the
       sender flushes before it waits (the messages it sends flush too). */
    struct pair p = connect_pair();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, receiver_thread, p.rcv) == 0);
    struct mig_conn *c = p.snd;
    uint8_t b = 0xff;
    CHECK_EQ(mig_conn_expect_msg(c, MIG_MSG_BANNER, sizeof(MIG_MSG_BANNER) - 1, 5000), 0);
    CHECK_EQ(mig_conn_sink(c, "DATA!", 5), 0);
    CHECK_EQ(mig_conn_flush(c), 0);
    CHECK_EQ(mig_conn_expect_msg(c, MIG_MSG_READY, sizeof(MIG_MSG_READY), 5000), 0);
    CHECK_EQ(mig_conn_send_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO)), 0);
    CHECK_EQ(mig_conn_expect_msg(c, MIG_MSG_REPORT, sizeof(MIG_MSG_REPORT), 5000), 0);
    CHECK_EQ(mig_conn_read_byte(c, &b, 5000), 0);
    CHECK_EQ(b, 0);
    void *bad;
    pthread_join(t, &bad);
    CHECK(bad == NULL);
    CHECK_EQ(c->bytes_out, 5 + sizeof(MIG_MSG_GO));
    CHECK_EQ(c->bytes_in, sizeof(MIG_MSG_BANNER) - 1 + sizeof(MIG_MSG_READY) +
                          sizeof(MIG_MSG_REPORT) + 1);
    CHECK_EQ(mig_conn_close(p.snd), 0);
    CHECK_EQ(mig_conn_close(p.rcv), 0);
}

static void t_wrong_message(void)
{
    struct pair p = connect_pair();
    CHECK_EQ(mig_conn_send_msg(p.rcv, "migration refused\n", 18), 0);
    CHECK_EQ(mig_conn_expect_msg(p.snd, MIG_MSG_BANNER, sizeof(MIG_MSG_BANNER) - 1, 5000),
             -XEN_EINVAL);
    CHECK(strstr(p.snd->err, "got \"m") != NULL);
    CHECK(strstr(p.snd->err, "expected \"xl migration receiver ready") != NULL);
    mig_conn_close(p.snd);
    mig_conn_close(p.rcv);
}

static void t_closed_peer(void)
{
    struct pair p = connect_pair();
    CHECK_EQ(mig_conn_send_msg(p.rcv, "domain", 6), 0);
    mig_conn_close(p.rcv);
    CHECK_EQ(mig_conn_expect_msg(p.snd, MIG_MSG_READY, sizeof(MIG_MSG_READY), 5000),
             -XEN_EIO);
    CHECK(strstr(p.snd->err, "the receiver closed the connection") != NULL);
    /* Writing to it: -EIO, never SIGPIPE, and it sticks. */
    static uint8_t chunk[1 << 16];
    int rc = 0;
    for (int i = 0; i < 200 && !rc; i++)
        rc = mig_conn_sink(p.snd, chunk, sizeof(chunk));
    if (!rc)
        rc = mig_conn_flush(p.snd);
    CHECK_EQ(rc, -XEN_EIO);
    CHECK(strstr(p.snd->err, "closed the connection after") != NULL);
    CHECK_EQ(mig_conn_flush(p.snd), -XEN_EIO);
    CHECK_EQ(mig_conn_close(p.snd), -XEN_EIO);
}

static void t_timeout(void)
{
    struct pair p = connect_pair();
    uint8_t b;
    CHECK_EQ(mig_conn_expect_msg(p.snd, MIG_MSG_READY, sizeof(MIG_MSG_READY), 50),
             -XEN_ETIMEDOUT);
    CHECK(strstr(p.snd->err, "within 50 ms") != NULL);
    CHECK_EQ(mig_conn_send_msg(p.rcv, "domain", 6), 0);     /* part of it */
    CHECK_EQ(mig_conn_expect_msg(p.snd, MIG_MSG_READY, sizeof(MIG_MSG_READY), 50),
             -XEN_ETIMEDOUT);
    CHECK(strstr(p.snd->err, "6 of 34 bytes came") != NULL);
    CHECK_EQ(mig_conn_read_byte(p.rcv, &b, 0), -XEN_ETIMEDOUT);
    mig_conn_close(p.snd);
    mig_conn_close(p.rcv);
}

static void t_file_mode(void)
{
    char path[] = "/tmp/hvlab-mig-conn-file-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    char err[256], url[64];
    snprintf(url, sizeof(url), "file:%s", path);
    struct mig_url u;
    REQUIRE(mig_url_parse(url, &u, err, sizeof(err)) == 0);
    struct mig_conn *c = mig_conn_open(&u, err, sizeof(err));
    REQUIRE(c);
    CHECK(!c->socket);
    uint8_t *data = pattern();
    for (size_t off = 0; off < BIG; off += 4096)
        CHECK_EQ(mig_conn_sink(c, data + off, 4096), 0);
    CHECK_EQ(mig_conn_send_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO)), -XEN_EOPNOTSUPP);
    CHECK_EQ(mig_conn_close(c), 0);
    c = mig_conn_open_read(path, err, sizeof(err));
    REQUIRE(c);
    uint8_t *got = malloc(BIG + 1);
    REQUIRE(got);
    CHECK_EQ(mig_conn_source(c, got, BIG + 1), BIG);        /* then the end */
    CHECK(memcmp(got, data, BIG) == 0);
    CHECK_EQ(mig_conn_source(c, got, 1), 0);
    CHECK_EQ(c->bytes_in, BIG);
    mig_conn_close(c);
    unlink(path);
    CHECK(mig_conn_open_read(path, err, sizeof(err)) == NULL);
    CHECK(strstr(err, path) != NULL);
    free(data);
    free(got);
}

static const struct test tests[] = {
    { "URLs: tcp://HOST:PORT, [v6], file:PATH, PATH; every bad form is -EINVAL naming it", t_urls },
    { "listen: [HOST:]PORT, port 0 picks one, a busy port is -EADDRINUSE, connect to none fails", t_listen_spec },
    { "5 MiB through the buffered sink arrives intact; counters and the tee hold exactly the bytes", t_stream_intact },
    { "the whole handshake: banner, stream, ready, go, report and its byte", t_handshake_flow },
    { "a wrong message is -EINVAL showing what came", t_wrong_message },
    { "a closed peer is -EIO, on read and on write (no SIGPIPE)", t_closed_peer },
    { "no message within the timeout is -ETIMEDOUT", t_timeout },
    { "file mode writes and reads back; no handshake on a file", t_file_mode },
};

TEST_MAIN(tests)
