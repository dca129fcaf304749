/*
 * tests/unit/test-analysis-ctf-native.c - hvlab's own CTF reader
 * (analysis/tsdl.h, analysis/ctf_native.h) on traces written here, bit by
 * bit, with LTTng-UST's layout: compact and extended event headers, a
 * 27-bit clock that wraps, strings, an odd-sized integer, losses, two
 * stream files merged, a cut file, corrupt bytes and corrupt metadata.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/ctf_native.h"
#include "analysis/event.h"
#include "analysis/tsdl.h"
#include "tests/unit/test.h"
#include "tests/unit/ctf_fixture.h"

/* ------------------------------------------------------------- tests */

/* A variant whose tag names nothing declared. */
#define BAD_TAG ("stream { id = 0; event.header := struct { enum : integer { size = 8; } " \
                 "{ a = 0 } id; variant <nope> { integer { size = 8; } a; } v; }; };")

static void t_tsdl(void)
{
    struct tsdl_meta *m = NULL;
    char err[512] = "";
    int rc = tsdl_parse(META, strlen(META), &m, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    REQUIRE(rc == 0);
    CHECK_EQ(m->nstreams, 1);
    CHECK_EQ(m->nevents, 3);
    CHECK_EQ(m->nclocks, 1);
    CHECK_EQ(m->clocks[0].offset, 1000);
    CHECK(m->has_uuid && !memcmp(m->uuid, UUID, 16));
    CHECK(!m->be);
    const struct tsdl_type *pc = m->streams[0].packet_context;
    int ed = tsdl_member(pc, "events_discarded");
    CHECK(ed >= 0 && pc->f[ed].t->size == 64);          /* "unsigned long" */
    const struct tsdl_type *h = m->streams[0].event_header;
    CHECK_EQ(h->align, 8);
    REQUIRE(h->nf == 2);
    CHECK(h->f[0].t->reg >= 0);                         /* T4 */
    CHECK_EQ(h->f[1].t->tag_reg, h->f[0].t->reg);
    CHECK(h->f[1].t->f[0].t->f[0].t->clock == 0);       /* compact.timestamp */
    const struct tsdl_event *ev = tsdl_event_of(m, 0, 1);
    REQUIRE(ev != NULL);
    const struct tsdl_type *seq = ev->fields->f[3].t;
    CHECK(seq->kind == TK_SEQ && seq->tag_reg == ev->fields->f[2].t->reg);
    CHECK(tsdl_event_of(m, 0, 0)->fields->f[2].t->sgn);
    tsdl_free(m);

    /* T1: errors name the line */
    const char *bad[] = {
        "typealias integer { size = 8; } := u8;\nstruct { u8 a; } x;\nfoo bar;",
        "typealias integer { size = 65; } := u;",
        "typealias integer { size = 8; align = 3; } := u;",
        "trace { major = 2; };",
        BAD_TAG,
        "event { name = \"x\"; stream_id = 4; fields := struct { }; };\nstream { id = 0; };",
        "/* never closed",
        /* T8: elements that can take no bits (a decoder would loop) */
        "typealias integer { size = 8; } := u8;\nstream { id = 0; };\nevent { name = \"e\"; "
        "fields := struct { u8 n; struct { } e[4096][4096]; }; };",
        /* T2/T7: each typedef uses the one before twice: 2^30 copies */
        NULL,
        /* T7: types nested 100 deep */
        NULL,
    };
    char expo[4096], deep[2048];
    size_t o = (size_t)snprintf(expo, sizeof(expo), "typedef struct { integer { size = 8; } a; "
                                "integer { size = 8; } b; } t0;\n");
    for (int i = 1; i <= 30; i++)
        o += (size_t)snprintf(expo + o, sizeof(expo) - o,
                              "typedef struct { t%d a; t%d b; } t%d;\n", i - 1, i - 1, i);
    o = (size_t)snprintf(deep, sizeof(deep), "struct x ");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{ struct ");
    bad[sizeof(bad) / sizeof(bad[0]) - 2] = expo;
    bad[sizeof(bad) / sizeof(bad[0]) - 1] = deep;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        m = NULL;
        CHECK_EQ(tsdl_parse(bad[i], strlen(bad[i]), &m, err, sizeof(err)), -1);
        CHECK(strncmp(err, "line ", 5) == 0);
        CHECK(m == NULL);
    }

    /* T4: registers are counted per root, so 40 events with a sequence
       each (LTTng's tracef and tracelog have 16) are fine */
    char many[16384];
    o = (size_t)snprintf(many, sizeof(many), "stream { id = 0; };\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o,
                              "event { name = \"e%d\"; id = %d; fields := struct { "
                              "integer { size = 8; } _n; integer { size = 8; } _s[ _n ]; }; };\n",
                              i, i);
    m = NULL;
    CHECK_EQ(tsdl_parse(many, o, &m, err, sizeof(err)), 0);
    CHECK(m && m->nregs == 1);
    tsdl_free(m);
}

static void t_read(void)
{
    make_trace();
    struct got g = { .n = 0 };
    char err[1024] = "";
    int rc = ctfn_read(dir, &OPS, &g, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(rc, 1);
    REQUIRE(g.n == 5);
    /* C2: time order across the two files; K2: the 27-bit wrap */
    int64_t want_ts[5] = { 0x7fffff5, 0x7fffff9, 0x8000011, 0x8000020, 0x9000005 };
    enum hv_event_id want_id[5] = { HVE_dirty_enable, HVE_inject_fire, HVE_dirty_enable,
                                    HVE_dirty_enable, HVE_dirty_enable };
    uint32_t want_stream[5] = { 0, 0, 1, 0, 0 };
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(g.ev[i].ts, want_ts[i] + 1000);
        CHECK_EQ(g.ev[i].id, want_id[i]);
        CHECK_EQ(g.ev[i].stream, want_stream[i]);
        CHECK(g.has_ts[i]);
    }
    CHECK_EQ(hv_u(&g.ev[0], HVF_host), 1);
    CHECK_EQ(hv_u(&g.ev[0], HVF_dom), 2);
    CHECK_EQ(hv_s(&g.ev[0], HVF_rc), -22);              /* sign-extended */
    CHECK_EQ(hv_u(&g.ev[2], HVF_dom), 9);
    CHECK_EQ(hv_u(&g.ev[4], HVF_rc), 1);
    CHECK(!strcmp(g.str[1], "mig.send.page"));
    CHECK_EQ(hv_u(&g.ev[1], HVF_point_id), 9);
    CHECK_EQ(hv_s(&g.ev[1], HVF_err), -5);
    CHECK_EQ(hv_u(&g.ev[1], HVF_subject), 0x55);
    CHECK_EQ(g.disc_events, 5);                         /* C4 */
    CHECK_EQ(g.disc_packets, 1);
    remove_trace();
}

static void t_cut(void)
{
    make_trace();
    /* cut inside the first packet's fourth event */
    char p[512];
    snprintf(p, sizeof(p), "%s/t/chan_0", dir);
    size_t cut = 84 + 10 + 40;
    REQUIRE(truncate(p, (off_t)cut) == 0);
    struct got g = { .n = 0 };
    char err[2048] = "";
    CHECK_EQ(ctfn_read(dir, &OPS, &g, err, sizeof(err)), -1);
    CHECK(strstr(err, "chan_0' is cut short") != NULL);
    char want[64];
    snprintf(want, sizeof(want), "ends at byte offset %zu", cut);
    CHECK(strstr(err, want) != NULL);
    CHECK(g.n >= 2);                /* what came before, and the other file */
    remove_trace();
}

/* C3: no byte of a stream file or of the metadata takes the reader down,
   and a failure names the file. */
static void t_corrupt(void)
{
    make_trace();
    char err[2048];
    unsigned failures = 0;
    for (size_t i = 0; i < n0; i++) {
        uint8_t b[4096];
        memcpy(b, s0, n0);
        b[i] ^= (uint8_t)(0xff - (i % 7));
        write_file("chan_0", b, n0);
        struct got g = { .n = 0 };
        err[0] = '\0';
        if (ctfn_read(dir, &OPS, &g, err, sizeof(err)) < 0) {
            failures++;
            CHECK(strstr(err, "chan_0") != NULL);
        }
        write_file("chan_0", b, i);         /* every cut too */
        err[0] = '\0';
        if (ctfn_read(dir, &OPS, &g, err, sizeof(err)) < 0)
            CHECK(strstr(err, "chan_0") != NULL);
    }
    CHECK(failures > 0);
    write_file("chan_0", s0, n0);
    /* the metadata: bytes flipped, and cut short */
    unsigned seed = 7;
    size_t ml = strlen(META);
    for (int k = 0; k < 400; k++) {
        char mb[sizeof(META)];
        memcpy(mb, META, ml);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % ml;
        mb[at] = (char)(seed >> 24);
        write_file("metadata", mb, k % 4 == 3 ? at : ml);
        struct got g = { .n = 0 };
        err[0] = '\0';
        if (ctfn_read(dir, &OPS, &g, err, sizeof(err)) < 0)
            CHECK(strstr(err, "metadata") != NULL || strstr(err, "chan_") != NULL);
    }
    remove_trace();
}

static void t_two_traces(void)
{
    make_trace();
    char p[1024];
    snprintf(p, sizeof(p), "cp -r '%s/t' '%s/u' && printf 'ZZZZ {{{' >> '%s/u/metadata'",
             dir, dir, dir);
    REQUIRE(system(p) == 0);
    struct got g = { .n = 0 };
    char err[2048] = "";
    CHECK_EQ(ctfn_read(dir, &OPS, &g, err, sizeof(err)), -1);
    CHECK(strstr(err, "1 of the 2 traces could not be read") != NULL);
    CHECK(strstr(err, "/u/metadata") != NULL);
    CHECK_EQ(g.n, 5);               /* the other trace, whole */
    snprintf(p, sizeof(p), "%s/none", dir);
    REQUIRE(mkdir(p, 0700) == 0);
    CHECK_EQ(ctfn_read(p, &OPS, &g, err, sizeof(err)), -1);
    CHECK(strstr(err, "no CTF trace") != NULL);
    remove_trace();
}

/* C7: the step-wise read hands out what the callbacks get, in their order,
   with each packet's beginning and the payload's types (C6) besides. */
static void t_steps(void)
{
    make_trace();
    char err[2048] = "";
    struct ctfn *r = ctfn_open(dir, err, sizeof(err));
    REQUIRE(r != NULL);
    CHECK_EQ(ctfn_streams(r), 2);
    CHECK(strstr(ctfn_stream_path(r, 1), "/t/chan_1") != NULL);
    CHECK(ctfn_stream_path(r, 2) == NULL);
    /* P: a packet begins; E: an event; L/D: discarded events/packets */
    static const char want[] = "P0 P1 E0 E0 E1 E0 L0 D0 P0 E0 ";
    char got[64] = "";
    size_t off = 0;
    struct ctfn_item it;
    int rc;
    while ((rc = ctfn_next(r, &it, err, sizeof(err))) > 0 && off + 4 < sizeof(got)) {
        char k = it.kind == CTFN_EVENT ? 'E' : it.kind == CTFN_PACKET ? 'P' :
                 it.packets ? 'D' : 'L';
        off += (size_t)snprintf(got + off, sizeof(got) - off, "%c%u ", k, it.stream);
        if (it.kind == CTFN_LOSS)
            CHECK_EQ(it.count, it.packets ? 1 : 5);
        if (it.kind != CTFN_EVENT)
            continue;
        CHECK(it.ev != NULL && it.has_ts);
        CHECK_EQ(it.stream, it.ev->stream);
        if (it.ev->id == HVE_dirty_enable) {        /* host, dom, rc: rc signed */
            CHECK_EQ(it.signed_slots, 1u << it.ev->desc->pos[HVF_rc]);
            CHECK_EQ(it.str_slot, -1);
        } else {
            CHECK_EQ(it.ev->id, HVE_inject_fire);
            CHECK_EQ(it.str_slot, it.ev->desc->pos[HVF_point]);
            CHECK(it.ev->str && !strcmp(it.ev->str, "mig.send.page"));
            CHECK(it.signed_slots & (1u << it.ev->desc->pos[HVF_err]));
        }
    }
    CHECK_EQ(rc, 0);
    CHECK(!strcmp(got, want));
    if (strcmp(got, want))
        fprintf(stderr, "got  %s\nwant %s\n", got, want);
    CHECK_EQ(ctfn_next(r, &it, err, sizeof(err)), 0);      /* the end stays */
    ctfn_close(r);
    size_t ncut = 9;
    CHECK_EQ(ctfn_probe(dir, &ncut, err, sizeof(err)), 1);
    CHECK_EQ(ncut, 0);
    remove_trace();
}

/* C7 on a cut file: every event, then the very message ctfn_read gives,
   and again on the next call; ctfn_probe counts the cut file. */
static void t_steps_cut(void)
{
    make_trace();
    char p[512];
    snprintf(p, sizeof(p), "%s/t/chan_0", dir);
    REQUIRE(truncate(p, (off_t)(84 + 10 + 40)) == 0);
    struct got g = { .n = 0 };
    char want[2048] = "", err[2048] = "";
    CHECK_EQ(ctfn_read(dir, &OPS, &g, want, sizeof(want)), -1);
    struct ctfn *r = ctfn_open(dir, err, sizeof(err));
    REQUIRE(r != NULL);
    struct ctfn_item it;
    int rc, n = 0;
    while ((rc = ctfn_next(r, &it, err, sizeof(err))) > 0)
        if (it.kind == CTFN_EVENT) {
            CHECK(n < g.n && it.ev->ts == g.ev[n].ts);
            n++;
        }
    CHECK_EQ(rc, -1);
    CHECK_EQ(n, g.n);
    CHECK(!strcmp(err, want));
    err[0] = '\0';
    CHECK_EQ(ctfn_next(r, &it, err, sizeof(err)), -1);
    CHECK(!strcmp(err, want));
    ctfn_close(r);
    size_t ncut = 0;
    CHECK_EQ(ctfn_probe(dir, &ncut, err, sizeof(err)), 1);
    CHECK_EQ(ncut, 1);
    /* nothing to read: NULL (or -1) naming the directory */
    snprintf(p, sizeof(p), "%s/none", dir);
    CHECK(ctfn_open(p, err, sizeof(err)) == NULL);
    CHECK(strstr(err, p) != NULL);
    CHECK_EQ(ctfn_probe(p, &ncut, err, sizeof(err)), -1);
    remove_trace();
}

/* Events that take no bits cannot make the reader spin. */
static void t_zero_bits(void)
{
    make_trace();
    static const char meta[] =
        "/* CTF 1.8 */\ntrace { major = 1; minor = 8; byte_order = le; };\n"
        "stream { id = 0; };\n"
        "event { name = \"x:y\"; id = 0; stream_id = 0; fields := struct { }; };\n";
    uint8_t zero[64] = { 0 };
    write_file("metadata", meta, strlen(meta));
    write_file("chan_0", zero, sizeof(zero));
    char p[512];
    snprintf(p, sizeof(p), "%s/t/chan_1", dir);
    REQUIRE(unlink(p) == 0);
    struct got g = { .n = 0 };
    char err[2048] = "";
    CHECK_EQ(ctfn_read(dir, &OPS, &g, err, sizeof(err)), -1);
    CHECK(strstr(err, "takes no bits") != NULL);
    CHECK(strstr(err, "chan_0") != NULL);
    remove_trace();
}

static const struct test tests[] = {
    { "TSDL: LTTng-UST's metadata parses (aliases of two words, the variant's tag "
      "register, a sequence's length, signedness); bad text names its line", t_tsdl },
    { "two stream files merge in time order, the 27-bit clock wraps, an extended "
      "header, strings, sign extension, an unknown event stepped over, losses", t_read },
    { "a stream file cut inside an event: the read fails naming it and its end, "
      "and what came before is handed on", t_cut },
    { "every flipped byte and every cut of a stream file, and 400 corrupt "
      "metadata texts: never a crash, a failure names the file", t_corrupt },
    { "a trace whose metadata is corrupt is left out naming it; the other is read",
      t_two_traces },
    { "an event that takes no bits stops the read naming the file, never a spin",
      t_zero_bits },
    { "step by step: the callbacks' events and losses in their order, each packet's "
      "beginning, the payload's signedness and string slot; the end stays the end",
      t_steps },
    { "step by step on a cut file: every event, then ctfn_read's very message, "
      "again on the next call; the probe counts the cut file; no trace is NULL", t_steps_cut },
};

TEST_MAIN(tests)
