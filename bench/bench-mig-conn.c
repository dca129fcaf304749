/*
 * bench/bench-mig-conn.c - loopback TCP throughput of the migration
 * connection (toolstack/mig_conn.h), against a plain write()/read() loop
 * over the same socket in the same run.
 *
 * Figures (each over BYTES = 1 GiB, one connection on 127.0.0.1):
 *   mig_conn        a sender thread writes through mig_conn_sink in 4 KiB
 *                   pieces (as the save writes pages) and flushes; the
 *                   receiver reads with mig_conn_source in 4 MiB records
 *                   (as the restore does), GB/s
 *   plain           write() of 1 MiB buffers / read() into a 1 MiB buffer
 *                   over the same socket, GB/s
 *   mig_conn_ratio  mig_conn / plain
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolstack/mig_conn.h"
#include "bench/lib/clock.h"

#define BYTES   (1ULL << 30)
#define PIECE   4096U
#define RECORD  (4U << 20)
#define PLAIN   (1U << 20)

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench-mig-conn: %s: %s\n", what, err);
    exit(1);
}

struct side {
    struct mig_conn *c;
    int plain;
    int rc;
};

static void *send_thread(void *p)
{
    struct side *s = p;
    static uint8_t buf[PLAIN];
    memset(buf, 0xa5, sizeof(buf));
    if (s->plain) {
        for (uint64_t left = BYTES; left && !s->rc; ) {
            size_t n = left < PLAIN ? (size_t)left : PLAIN;
            ssize_t w = write(s->c->fd, buf, n);
            if (w <= 0)
                s->rc = -1;
            else
                left -= (uint64_t)w;
        }
        return NULL;
    }
    for (uint64_t off = 0; off < BYTES && !s->rc; off += PIECE)
        s->rc = mig_conn_sink(s->c, buf + (off % PLAIN), PIECE);
    if (!s->rc)
        s->rc = mig_conn_flush(s->c);
    return NULL;
}

static double run(struct mig_conn *snd, struct mig_conn *rcv, int plain,
                  uint8_t *rbuf)
{
    struct side s = { .c = snd, .plain = plain };
    pthread_t t;
    double t0 = now_ns();
    if (pthread_create(&t, NULL, send_thread, &s))
        die("pthread_create", "failed");
    uint64_t got = 0;
    while (got < BYTES) {
        if (plain) {
            ssize_t n = read(rcv->fd, rbuf, PLAIN);
            if (n <= 0)
                die("read", "short");
            got += (uint64_t)n;
        } else {
            size_t want = BYTES - got < RECORD ? (size_t)(BYTES - got) : RECORD;
            long n = mig_conn_source(rcv, rbuf, want);
            if (n != (long)want)
                die("mig_conn_source", rcv->err);
            got += (uint64_t)n;
        }
    }
    pthread_join(t, NULL);
    double dt = now_ns() - t0;
    if (s.rc)
        die("send", snd->err);
    return BYTES / dt;          /* bytes per ns = GB/s */
}

struct acc { int lfd; struct mig_conn *c; char err[256]; };
static void *accept_thread(void *p)
{
    struct acc *a = p;
    a->c = mig_conn_accept(a->lfd, a->err, sizeof(a->err));
    return NULL;
}

int main(void)
{
    char err[256], url[64];
    uint16_t port;
    int lfd = mig_conn_listen("127.0.0.1:0", &port, err, sizeof(err));
    if (lfd < 0)
        die("listen", err);
    struct acc a = { .lfd = lfd };
    pthread_t t;
    pthread_create(&t, NULL, accept_thread, &a);
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
    struct mig_url u;
    if (mig_url_parse(url, &u, err, sizeof(err)))
        die("url", err);
    struct mig_conn *snd = mig_conn_open(&u, err, sizeof(err));
    pthread_join(t, NULL);
    close(lfd);
    if (!snd || !a.c)
        die("connect", snd ? a.err : err);
    uint8_t *rbuf = malloc(RECORD);
    if (!rbuf)
        die("malloc", "no memory");
    /* Alternate, best of two each: loopback is noisy. */
    double gp = 0, gm = 0;
    for (int i = 0; i < 2; i++) {
        double p = run(snd, a.c, 1, rbuf), m = run(snd, a.c, 0, rbuf);
        if (p > gp) gp = p;
        if (m > gm) gm = m;
    }
    printf("figure mig_conn: %.2f GB/s   [1 GiB, 4 KiB sink pieces, 4 MiB source records, loopback]\n", gm);
    printf("figure plain: %.2f GB/s   [same socket, write()/read() of 1 MiB]\n", gp);
    printf("figure mig_conn_ratio: %.2f x   [goal >= 0.8]   [mig_conn / plain]\n", gm / gp);
    mig_conn_close(snd);
    mig_conn_close(a.c);
    free(rbuf);
    return 0;
}
