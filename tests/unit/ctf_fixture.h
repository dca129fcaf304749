/*
 * tests/unit/ctf_fixture.h - a CTF trace written bit by bit with
 * LTTng-UST's layout, for the tests of hvlab's own CTF reader
 * (test-analysis-ctf-native.c) and of the plugin's source built on it
 * (test-analysis-source-ctf.c).
 *
 *   make_trace();          // DIR/t: metadata, chan_0 (2 packets), chan_1
 *   ctfn_read(dir, &OPS, &g, err, sizeof err);   // g: what was read
 *   remove_trace();
 *
 * chan_0's second packet comes after one lost packet and 5 discarded
 * events; the five hvlab events are dirty_enable (rc = -22 signed) and
 * inject_fire (a string, err = -5).  Include it after tests/unit/test.h.
 */
#ifndef HVLAB_TESTS_UNIT_CTF_FIXTURE_H
#define HVLAB_TESTS_UNIT_CTF_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/ctf_native.h"
#include "analysis/event.h"

static const char META[] =
    "/* CTF 1.8 */\n"
    "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
    "typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
    "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; } := unsigned long;\n"
    "typealias integer { size = 5; align = 1; signed = false; } := uint5_t;\n"
    "trace {\n major = 1; minor = 8;\n uuid = \"645c0df0-e384-4bb4-8b94-6cca080bd1f6\";\n"
    " byte_order = le;\n packet.header := struct {\n  uint32_t magic;\n  uint8_t  uuid[16];\n"
    "  uint32_t stream_id;\n  uint64_t stream_instance_id;\n };\n};\n"
    "env { domain = \"ust\"; tracer_major = 2; };\n"
    "clock {\n name = \"monotonic\";\n freq = 1000000000; /* Hz */\n offset = 1000;\n};\n"
    "typealias integer { size = 27; align = 1; signed = false; map = clock.monotonic.value; }"
    " := uint27_clock_monotonic_t;\n"
    "typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; }"
    " := uint64_clock_monotonic_t;\n"
    "struct packet_context {\n uint64_clock_monotonic_t timestamp_begin;\n"
    " uint64_clock_monotonic_t timestamp_end;\n uint64_t content_size;\n uint64_t packet_size;\n"
    " uint64_t packet_seq_num;\n unsigned long events_discarded;\n uint32_t cpu_id;\n};\n"
    "struct event_header_compact {\n enum : uint5_t { compact = 0 ... 30, extended = 31 } id;\n"
    " variant <id> {\n  struct { uint27_clock_monotonic_t timestamp; } compact;\n"
    "  struct { uint32_t id; uint64_clock_monotonic_t timestamp; } extended;\n } v;\n} align(8);\n"
    "stream {\n id = 0;\n event.header := struct event_header_compact;\n"
    " packet.context := struct packet_context;\n};\n"
    "event {\n name = \"hvlab_dirty:enable\";\n id = 0;\n stream_id = 0;\n loglevel = 13;\n"
    " fields := struct {\n  integer { size = 8; align = 8; signed = 0; encoding = none; base = 10; } _host;\n"
    "  integer { size = 16; align = 8; signed = 0; encoding = none; base = 10; } _dom;\n"
    "  integer { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _rc;\n };\n};\n"
    "event {\n name = \"other:thing\";\n id = 1;\n stream_id = 0;\n"
    " fields := struct {\n  string _s;\n  integer { size = 3; align = 1; signed = 0; } _bits;\n"
    "  integer { size = 8; align = 8; signed = 0; } _len;\n"
    "  integer { size = 16; align = 8; signed = 0; } _seq[ _len ];\n };\n};\n"
    "event {\n name = \"hvlab_inject:fire\";\n id = 40;\n stream_id = 0;\n"
    " fields := struct {\n  string _point;\n  uint32_t _point_id;\n  uint32_t _binding;\n"
    "  uint8_t _action;\n  uint16_t _dom;\n  uint16_t _vcpu;\n  uint64_t _hit;\n"
    "  integer { size = 32; align = 8; signed = 1; } _err;\n  uint64_t _ns;\n  uint64_t _subject;\n"
    " };\n};\n";

static const uint8_t UUID[16] = { 0x64, 0x5c, 0x0d, 0xf0, 0xe3, 0x84, 0x4b, 0xb4,
                                  0x8b, 0x94, 0x6c, 0xca, 0x08, 0x0b, 0xd1, 0xf6 };

/* ------------------------------------------------------ a little writer */

struct bw {
    uint8_t buf[4096];
    uint64_t pos;               /* bits */
};

static void put(struct bw *w, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++, w->pos++)
        if ((v >> i) & 1)
            w->buf[w->pos / 8] |= (uint8_t)(1u << (w->pos % 8));
}

static void align8(struct bw *w)
{
    w->pos = (w->pos + 7) / 8 * 8;
}

static void put_str(struct bw *w, const char *s)
{
    align8(w);
    memcpy(w->buf + w->pos / 8, s, strlen(s) + 1);
    w->pos += (strlen(s) + 1) * 8;
}

/* Packet header and context; returns the bit where content_size goes. */
static uint64_t packet_begin(struct bw *w, uint64_t ts_begin, uint64_t seq, uint64_t disc)
{
    put(w, 32, 0xC1FC1FC1u);
    for (int i = 0; i < 16; i++)
        put(w, 8, UUID[i]);
    put(w, 32, 0);
    put(w, 64, 7);
    put(w, 64, ts_begin);
    put(w, 64, ts_begin + 100000);
    uint64_t at = w->pos;
    put(w, 64, 0);              /* content_size, patched */
    put(w, 64, 0);              /* packet_size, patched */
    put(w, 64, seq);
    put(w, 64, disc);
    put(w, 32, 0);
    return at;
}

static void packet_end(struct bw *w, uint64_t at, uint64_t start)
{
    uint64_t content = w->pos - start;
    align8(w);
    uint64_t size = (w->pos - start + 63) / 64 * 64;      /* padded to 8 bytes */
    w->pos = start + size;
    struct bw tmp = { .pos = 0 };
    put(&tmp, 64, content);
    put(&tmp, 64, size);
    memcpy(w->buf + at / 8, tmp.buf, 16);
}

static void ev_compact(struct bw *w, unsigned id, uint64_t ts27)
{
    align8(w);
    put(w, 5, id);
    put(w, 27, ts27 & ((1u << 27) - 1));
}

static void ev_extended(struct bw *w, uint32_t id, uint64_t ts)
{
    align8(w);
    put(w, 5, 31);
    align8(w);
    put(w, 32, id);
    put(w, 64, ts);
}

static void dirty_enable(struct bw *w, uint8_t host, uint16_t dom, int32_t rc)
{
    put(w, 8, host);
    put(w, 16, dom);
    put(w, 32, (uint32_t)rc);
}

/* Stream file 0: two packets (the second after one lost packet and 5
   discarded events); stream file 1: one packet whose events fall between. */
static size_t write_stream0(uint8_t *out)
{
    struct bw w = { .pos = 0 };
    uint64_t at = packet_begin(&w, 0x7fffff0, 1, 0);
    ev_compact(&w, 0, 0x7fffff5);                   /* t = 0x7fffff5 */
    dirty_enable(&w, 1, 2, -22);
    ev_compact(&w, 1, 0x7fffff8);                   /* other:thing, stepped over */
    put_str(&w, "skip me");
    put(&w, 3, 5);
    align8(&w);
    put(&w, 8, 3);
    for (int i = 0; i < 3; i++)
        put(&w, 16, (uint64_t)(0x100 + i));
    ev_extended(&w, 40, 0x7fffff9);                 /* inject:fire */
    put_str(&w, "mig.send.page");
    put(&w, 32, 9);
    put(&w, 32, 1);
    put(&w, 8, 2);
    put(&w, 16, 3);
    put(&w, 16, 1);
    put(&w, 64, 4);
    put(&w, 32, (uint32_t)-5);
    put(&w, 64, 6);
    put(&w, 64, 0x55);
    ev_compact(&w, 0, 0x0000020);                   /* below 0x7fffff9: 0x8000020 */
    dirty_enable(&w, 0, 7, 0);
    packet_end(&w, at, 0);
    uint64_t start = w.pos;
    at = packet_begin(&w, 0x9000000, 3, 5);
    ev_compact(&w, 0, 0x1000005);                   /* 0x9000000 -> 0x9000005 */
    dirty_enable(&w, 0, 8, 1);
    packet_end(&w, at, start);
    memcpy(out, w.buf, w.pos / 8);
    return w.pos / 8;
}

static size_t write_stream1(uint8_t *out)
{
    struct bw w = { .pos = 0 };
    uint64_t at = packet_begin(&w, 0x8000000, 0, 0);
    ev_compact(&w, 0, 0x8000011);                   /* between fire and the wrap */
    dirty_enable(&w, 1, 9, 0);
    packet_end(&w, at, 0);
    memcpy(out, w.buf, w.pos / 8);
    return w.pos / 8;
}

/* ------------------------------------------------------- the fixture */

static char dir[256];

static void write_file(const char *name, const void *b, size_t n)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/t/%s", dir, name);
    FILE *f = fopen(p, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(b, 1, n, f) == n);
    fclose(f);
}

static uint8_t s0[4096], s1[4096];
static size_t n0, n1;

static void make_trace(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hvlab-ctfn-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    char p[512];
    snprintf(p, sizeof(p), "%s/t", dir);
    REQUIRE(mkdir(p, 0700) == 0);
    write_file("metadata", META, strlen(META));
    n0 = write_stream0(s0);
    n1 = write_stream1(s1);
    write_file("chan_0", s0, n0);
    write_file("chan_1", s1, n1);
}

static void remove_trace(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

struct got {
    struct hv_ev ev[16];
    char str[16][32];
    bool has_ts[16];
    int n;
    uint64_t disc_events, disc_packets;
};

static int on_event(const struct hv_ev *e, bool has_ts, void *arg, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct got *g = arg;
    if (g->n < 16) {
        g->ev[g->n] = *e;
        g->has_ts[g->n] = has_ts;
        snprintf(g->str[g->n], sizeof(g->str[0]), "%s", e->str ? e->str : "");
        g->ev[g->n].str = NULL;
    }
    g->n++;
    return 0;
}

static void on_disc(uint64_t count, bool packets, void *arg)
{
    struct got *g = arg;
    if (packets)
        g->disc_packets += count;
    else
        g->disc_events += count;
}

static const struct ctfn_ops OPS = { on_event, on_disc };

#endif /* HVLAB_TESTS_UNIT_CTF_FIXTURE_H */
