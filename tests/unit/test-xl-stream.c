/*
 * tests/unit/test-xl-stream.c - xl's header and libxl's stream around the
 * libxc stream (toolstack/xl_stream.h X1-X4).
 *
 * Also a small tool for tests/scenario/xl-stream-verify.sh:
 *   test-xl-stream --write FILE [LIBXC]
 *                      write a complete xl stream: headers with a config,
 *                      LIBXC_CONTEXT and a PV libxc stream (this file's own,
 *                      or the bytes of the libxc stream in LIBXC), an
 *                      EMULATOR_CONTEXT blob, END
 *   test-xl-stream --read FILE
 *                      read it back (libxc part with stream.h's reader):
 *                      "accepted: ..." (exit 0) or "rejected: ..." (exit 1)
 */
#include "tests/unit/test.h"
#include "toolstack/stream.h"
#include "toolstack/xl_stream.h"

#define PFINFO(t) XEN_DOMCTL_PFINFO_##t

static const char config[] = "name pv-demo\nmem 16M\n";   /* 21 bytes */
static uint8_t pages[3][STREAM_PAGE_SIZE];
static const uint8_t kstate[] = "kernel state: pid 1 runs";

/* A small PV libxc stream in libxc's order. */
static int write_libxc_pv(struct stream_writer *w)
{
    static const xen_cpuid_leaf_t leaves[] = {
        { .leaf = 0, .subleaf = XEN_CPUID_NO_SUBLEAF, .a = 0xd },
    };
    static const xen_msr_entry_t msrs[] = { { .idx = 0xce, .val = 0 } };
    static const uint64_t p2m[] = { 0x40 };
    uint8_t blob[64];
    memset(blob, 0x5a, sizeof(blob));
    for (unsigned i = 0; i < 3; i++)
        memset(pages[i], 0x21 * (i + 1), STREAM_PAGE_SIZE);
    int rc = stream_write_headers(w, STREAM_DHDR_TYPE_X86_PV, 4, 17);
    if (!rc) rc = stream_write_x86_pv_info(w, 8, 4);
    if (!rc) rc = stream_write_x86_cpuid_policy(w, leaves, 1);
    if (!rc) rc = stream_write_x86_msr_policy(w, msrs, 1);
    if (!rc) rc = stream_write_static_data_end(w);
    if (!rc) rc = stream_write_x86_pv_p2m_frames(w, 0, 511, p2m, 1);
    if (!rc) rc = stream_write_page(w, 0x10, PFINFO(NOTAB), pages[0]);
    if (!rc) rc = stream_write_page(w, 0x11, PFINFO(L1TAB), pages[1]);
    if (!rc) rc = stream_write_page(w, 0x12, PFINFO(XTAB), NULL);
    if (!rc) rc = stream_write_x86_tsc_info(w, 0, 2000000, 1234, 1);
    if (!rc) rc = stream_write_shared_info(w, pages[2]);
    if (!rc) rc = stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_BASIC, 0, blob, 64);
    if (!rc) rc = stream_write_end(w);
    return rc;
}

/* The whole xl stream into a sink; libxc: a ready libxc stream to embed
   (NULL: write_libxc_pv). */
static int write_xl(stream_sink_fn sink, void *ctx, const uint8_t *libxc,
                    size_t libxc_len, uint64_t *total)
{
    struct xl_writer w;
    xl_writer_init(&w, sink, ctx);
    int rc = xl_write_headers(&w, config, strlen(config));
    if (!rc) rc = xl_write_libxc_context(&w);
    if (!rc && libxc) {
        rc = sink(ctx, libxc, libxc_len);
        xl_writer_skip(&w, libxc_len);
    } else if (!rc) {
        struct stream_writer sw;
        stream_writer_init(&sw, sink, ctx);
        rc = write_libxc_pv(&sw);
        xl_writer_skip(&w, sw.offset);
    }
    if (!rc) rc = xl_write_emulator_context(&w, XL_EMULATOR_ID_UNKNOWN,
                                            XL_HVLAB_KSTATE_INDEX, kstate,
                                            sizeof(kstate));
    if (!rc) rc = xl_write_end(&w);
    if (total)
        *total = w.offset;
    return rc;
}

static struct stream_membuf make_good(void)
{
    struct stream_membuf m = { 0 };
    uint64_t total = 0;
    REQUIRE(write_xl(stream_sink_mem, &m, NULL, 0, &total) == 0);
    REQUIRE(total == m.len);
    return m;
}

/* Read a whole xl stream: 0, or the error with its message in err. */
struct read_result {
    char config[64];
    unsigned libxl_records, libxc_records;
    uint32_t emu_id, emu_index;
    uint8_t emu[64];
    size_t emu_len;
    uint64_t end_offset;
};
static int read_xl(stream_source_fn src, void *ctx, char *err, size_t errsz,
                   struct read_result *res)
{
    struct xl_reader r;
    struct xl_record rec;
    char *cfg = NULL;
    size_t cfglen = 0;
    memset(res, 0, sizeof(*res));
    xl_reader_init(&r, src, ctx);
    int rc = xl_read_headers(&r, &cfg, &cfglen);
    if (!rc) {
        snprintf(res->config, sizeof(res->config), "%s", cfg);
        free(cfg);
    }
    while (!rc && !(rc = xl_read_record(&r, &rec))) {
        res->libxl_records++;
        if (rec.type == XL_REC_END) {
            res->end_offset = rec.offset;
            break;
        }
        if (rec.type == XL_REC_EMULATOR_CONTEXT) {
            res->emu_id = rec.emu_id;
            res->emu_index = rec.emu_index;
            res->emu_len = rec.emu_len;
            memcpy(res->emu, rec.emu_data,
                   rec.emu_len < sizeof(res->emu) ? rec.emu_len : sizeof(res->emu));
        }
        if (rec.type != XL_REC_LIBXC_CONTEXT)
            continue;
        struct stream_reader sr;
        struct stream_record srec;
        stream_reader_init(&sr, src, ctx);
        while (!(rc = stream_read_record(&sr, &srec))) {
            res->libxc_records++;
            if (srec.type == STREAM_REC_END)
                break;
        }
        if (rc) {
            if (snprintf(err, errsz, "libxc: %s", sr.err) < 0)
                err[0] = '\0';
            stream_reader_free(&sr);
            xl_reader_free(&r);
            return rc < 0 ? rc : -XEN_EINVAL;
        }
        xl_reader_skip(&r, sr.offset);
        stream_reader_free(&sr);
    }
    if (rc)
        snprintf(err, errsz, "%s", r.err);
    xl_reader_free(&r);
    return rc;
}

static int read_mem(const uint8_t *buf, size_t len, char *err, size_t errsz,
                    struct read_result *res)
{
    struct stream_memsrc src = { .buf = buf, .len = len };
    return read_xl(stream_source_mem, &src, err, errsz, res);
}

/* ---- round trips ------------------------------------------------------------- */

static void t_round_trip(void)
{
    struct stream_membuf m = make_good();
    char err[256] = "";
    struct read_result res;
    int rc = read_mem(m.buf, m.len, err, sizeof(err), &res);
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(res.config, config) == 0);
    CHECK_EQ(res.libxl_records, 3);        /* LIBXC_CONTEXT, EMULATOR, END */
    CHECK_EQ(res.libxc_records, 10);
    CHECK_EQ(res.emu_id, XL_EMULATOR_ID_UNKNOWN);
    CHECK_EQ(res.emu_index, XL_HVLAB_KSTATE_INDEX);
    CHECK_EQ(res.emu_len, sizeof(kstate));
    CHECK(memcmp(res.emu, kstate, sizeof(kstate)) == 0);
    CHECK_EQ(res.end_offset, m.len - 8);   /* END is the last 8 bytes */
    free(m.buf);
}

static void t_header_bytes(void)
{
    struct stream_membuf m = make_good();
    uint32_t v[4], cl;
    REQUIRE(m.len > 100);
    CHECK(memcmp(m.buf, "Xen saved domain, xl format\n \0 \r", 32) == 0);
    memcpy(v, m.buf + 32, 16);
    CHECK_HEX(v[0], 0x01020304);
    CHECK_HEX(v[1], XL_MANDATORY_FLAG_STREAMV2);
    CHECK_EQ(v[2], 0);
    CHECK_EQ(v[3], 4 + strlen(config) + 1);     /* xl counts the NUL */
    memcpy(&cl, m.buf + 48, 4);
    CHECK_EQ(cl, strlen(config) + 1);
    CHECK_EQ(m.buf[52 + strlen(config)], 0);
    const uint8_t *lh = m.buf + 52 + strlen(config) + 1;
    CHECK(memcmp(lh, "LibxlFmt", 8) == 0);
    static const uint8_t ver_opt[8] = { 0, 0, 0, 2, 0, 0, 0, 0 };
    CHECK(memcmp(lh + 8, ver_opt, 8) == 0);
    uint32_t rh[2];
    memcpy(rh, lh + 16, 8);
    CHECK_EQ(rh[0], XL_REC_LIBXC_CONTEXT);
    CHECK_EQ(rh[1], 0);
    free(m.buf);
}

static void t_offsets_and_records(void)
{
    struct stream_membuf m = make_good();
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    struct xl_reader r;
    struct xl_record rec;
    char *cfg;
    size_t len;
    xl_reader_init(&r, stream_source_mem, &src);
    REQUIRE(xl_read_headers(&r, &cfg, &len) == 0);
    CHECK_EQ(len, strlen(config));
    CHECK_EQ(cfg[len], '\0');
    free(cfg);
    CHECK_EQ(r.offset, 52 + strlen(config) + 1 + 16);
    REQUIRE(xl_read_record(&r, &rec) == 0);
    CHECK_EQ(rec.index, 0);
    CHECK_EQ(rec.type, XL_REC_LIBXC_CONTEXT);
    CHECK_EQ(rec.offset, 52 + strlen(config) + 1 + 16);
    /* Skip the libxc stream by reading it. */
    struct stream_reader sr;
    struct stream_record srec;
    stream_reader_init(&sr, stream_source_mem, &src);
    while (stream_read_record(&sr, &srec) == 0 && srec.type != STREAM_REC_END)
        ;
    CHECK_EQ(srec.type, STREAM_REC_END);
    CHECK_EQ(src.pos, r.offset + sr.offset);   /* not one byte past END */
    xl_reader_skip(&r, sr.offset);
    stream_reader_free(&sr);
    REQUIRE(xl_read_record(&r, &rec) == 0);
    CHECK_EQ(rec.index, 1);
    CHECK_EQ(rec.type, XL_REC_EMULATOR_CONTEXT);
    CHECK_EQ(rec.length, 8 + sizeof(kstate));
    CHECK_EQ(rec.offset, src.pos - 8 - ((8 + sizeof(kstate) + 7) & ~7UL));
    REQUIRE(xl_read_record(&r, &rec) == 0);
    CHECK_EQ(rec.type, XL_REC_END);
    CHECK_EQ(r.offset, m.len);
    /* Nothing is read past END: the handshake follows on a socket. */
    CHECK_EQ(xl_read_record(&r, &rec), -XEN_EINVAL);
    CHECK(strstr(r.err, "past the END") != NULL);
    CHECK_EQ(src.pos, m.len);
    xl_reader_free(&r);
    free(m.buf);
}

static void t_no_config(void)
{
    struct stream_membuf m = { 0 };
    struct xl_writer w;
    xl_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(xl_write_headers(&w, NULL, 0), 0);
    CHECK_EQ(xl_write_end(&w), 0);
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    struct xl_reader r;
    struct xl_record rec;
    char *cfg;
    size_t len = 99;
    xl_reader_init(&r, stream_source_mem, &src);
    CHECK_EQ(xl_read_headers(&r, &cfg, &len), 0);
    CHECK_EQ(len, 0);
    CHECK(cfg && cfg[0] == '\0');
    free(cfg);
    CHECK_EQ(xl_read_record(&r, &rec), 0);
    CHECK_EQ(rec.type, XL_REC_END);
    xl_reader_free(&r);
    free(m.buf);
}

static void t_writer_errors(void)
{
    struct stream_membuf m = { 0 };
    struct xl_writer w;
    xl_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(xl_write_end(&w), -XEN_EINVAL);         /* before the headers */
    CHECK_EQ(xl_write_headers(&w, config, 4), -XEN_EINVAL);   /* sticky */
    CHECK_EQ(m.len, 0);

    xl_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(xl_write_headers(&w, config, XL_CONFIG_MAX + 1), -XEN_E2BIG);
    CHECK_EQ(m.len, 0);

    xl_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(xl_write_headers(&w, config, 4), 0);
    size_t at = m.len;
    CHECK_EQ(xl_write_emulator_context(&w, 3, 0, "x", 1), -XEN_EINVAL);
    CHECK_EQ(m.len, at);

    xl_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(xl_write_headers(&w, config, 4), 0);
    CHECK_EQ(xl_write_end(&w), 0);
    at = m.len;
    CHECK_EQ(xl_write_libxc_context(&w), -XEN_EINVAL);  /* nothing after END */
    CHECK_EQ(m.len, at);

    struct stream_membuf small = { .limit = 20 };
    xl_writer_init(&w, stream_sink_mem, &small);
    CHECK_EQ(xl_write_headers(&w, config, 4), -XEN_ENOSPC);
    CHECK_EQ(xl_write_end(&w), -XEN_ENOSPC);
    free(m.buf);
    free(small.buf);
}

/* ---- rejections ----------------------------------------------------------------- */

/* Offsets in the good stream (config of 21 bytes and xl's NUL). */
#define O_BYTEORDER     32
#define O_MANDATORY     36
#define O_OPTIONAL      40
#define O_OPTLEN        44
#define O_CFGLEN        48
#define O_LIBXL         (52 + 22)
#define O_REC0          (O_LIBXL + 16)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Headers then raw record bytes. */
static size_t with_records(uint8_t *buf, const void *recs, size_t len)
{
    struct stream_membuf m = { 0 };
    struct xl_writer w;
    xl_writer_init(&w, stream_sink_mem, &m);
    REQUIRE(xl_write_headers(&w, config, strlen(config)) == 0);
    memcpy(buf, m.buf, m.len);
    memcpy(buf + m.len, recs, len);
    size_t n = m.len + len;
    free(m.buf);
    return n;
}

struct bad {
    const char *name;
    void (*mutate)(uint8_t *buf, size_t *len);
    const char *want;       /* in the message */
};

static void m_trunc(uint8_t *b, size_t *n) { (void)b; *n = 20; }
static void m_magic(uint8_t *b, size_t *n) { (void)n; b[4] = 'S'; }
static void m_order_swapped(uint8_t *b, size_t *n) { (void)n; put32(b + O_BYTEORDER, 0x04030201); }
static void m_order_bad(uint8_t *b, size_t *n) { (void)n; put32(b + O_BYTEORDER, 0x12345678); }
static void m_mand_unknown(uint8_t *b, size_t *n) { (void)n; put32(b + O_MANDATORY, 2 | 8); }
static void m_mand_nov2(uint8_t *b, size_t *n) { (void)n; put32(b + O_MANDATORY, 0); }
static void m_mand_json(uint8_t *b, size_t *n) { (void)n; put32(b + O_MANDATORY, 3); }
static void m_optlen_big(uint8_t *b, size_t *n) { (void)n; put32(b + O_OPTLEN, XL_CONFIG_MAX + 5); }
static void m_optlen_small(uint8_t *b, size_t *n) { (void)n; put32(b + O_OPTLEN, 3); }
static void m_cfglen(uint8_t *b, size_t *n) { (void)n; put32(b + O_CFGLEN, 23); }
static void m_cfg_trunc(uint8_t *b, size_t *n) { (void)b; *n = O_CFGLEN + 10; }
static void m_ident(uint8_t *b, size_t *n) { (void)n; b[O_LIBXL] = 'l'; }
static void m_version(uint8_t *b, size_t *n) { (void)n; b[O_LIBXL + 11] = 3; }
static void m_opt_be(uint8_t *b, size_t *n) { (void)n; b[O_LIBXL + 15] = 1; }
static void m_opt_legacy(uint8_t *b, size_t *n) { (void)n; b[O_LIBXL + 15] = 2; }
static void m_opt_resv(uint8_t *b, size_t *n) { (void)n; b[O_LIBXL + 14] = 1; }
static void m_libxl_trunc(uint8_t *b, size_t *n) { (void)b; *n = O_LIBXL + 9; }

static void m_rec_unknown(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { 6, 0, 0, 0 };
    *n = with_records(b, r, 16);
}
static void m_rec_oversized(uint8_t *b, size_t *n)
{
    uint32_t r[2] = { XL_REC_EMULATOR_CONTEXT, XL_REC_LENGTH_MAX + 1 };
    *n = with_records(b, r, 8);
}
static void m_end_len(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { XL_REC_END, 8, 0, 0 };
    *n = with_records(b, r, 16);
}
static void m_libxc_len(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { XL_REC_LIBXC_CONTEXT, 4, 0, 0 };
    *n = with_records(b, r, 16);
}
static void m_emu_short(uint8_t *b, size_t *n)
{
    uint32_t r[6] = { XL_REC_EMULATOR_CONTEXT, 4, 0, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 24);
}
static void m_xs_short(uint8_t *b, size_t *n)
{
    uint32_t r[6] = { XL_REC_EMULATOR_XENSTORE_DATA, 7, 0, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 24);
}
static void m_padding(uint8_t *b, size_t *n)
{
    uint32_t r[8] = { XL_REC_EMULATOR_CONTEXT, 9, 0, 0, 0x41, 0x100, XL_REC_END, 0 };
    *n = with_records(b, r, 32);
}
static void m_emu_id(uint8_t *b, size_t *n)
{
    uint32_t r[6] = { XL_REC_EMULATOR_CONTEXT, 8, 7, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 24);
}
static void m_xs_nul(uint8_t *b, size_t *n)
{
    uint32_t r[8] = { XL_REC_EMULATOR_XENSTORE_DATA, 12, 0, 0, 0x41414141, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 32);
}
static void m_xs_odd(uint8_t *b, size_t *n)
{
    /* data "AAA\0": one string, no value for its key */
    uint32_t r[8] = { XL_REC_EMULATOR_XENSTORE_DATA, 12, 0, 0, 0x00414141, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 32);
}
static void m_cp_state(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { XL_REC_CHECKPOINT_STATE, 0, XL_REC_END, 0 };
    *n = with_records(b, r, 16);
}
static void m_no_end(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { XL_REC_EMULATOR_CONTEXT, 8, 0, 0 };
    *n = with_records(b, r, 16);
}
static void m_rec_trunc(uint8_t *b, size_t *n)
{
    uint32_t r[2] = { XL_REC_EMULATOR_CONTEXT, 8 };
    *n = with_records(b, r, 5);
}
static void m_body_trunc(uint8_t *b, size_t *n)
{
    uint32_t r[4] = { XL_REC_EMULATOR_CONTEXT, 16, 0, 0 };
    *n = with_records(b, r, 16);
}

static const struct bad bads[] = {
    { "truncated xl header", m_trunc, "xl header at offset 0: truncated: 20 of 48" },
    { "bad magic", m_magic, "xl header at offset 0: bad magic" },
    { "byteorder of the other endianness", m_order_swapped, "other endianness" },
    { "bad byteorder", m_order_bad, "bad byteorder 0x12345678 at offset 0x20" },
    { "unknown mandatory flag", m_mand_unknown, "unknown mandatory flags 0x8" },
    { "no STREAMV2 flag", m_mand_nov2, "lack STREAMV2" },
    { "JSON config flag", m_mand_json, "JSON config flag" },
    { "oversized optional data", m_optlen_big, "exceeds the maximum" },
    { "optional data shorter than the config length", m_optlen_small, "shorter than its config length" },
    { "config length not filling the optional data", m_cfglen, "config length at offset 0x30: config of 23 bytes" },
    { "truncated config", m_cfg_trunc, "xl config at offset 0x34: truncated: 6 of 22" },
    { "bad libxl ident", m_ident, "libxl header at offset 0x4a: bad ident" },
    { "bad libxl version", m_version, "libxl header at offset 0x4a: unsupported version 3" },
    { "big-endian libxl options", m_opt_be, "big-endian stream" },
    { "legacy libxl options", m_opt_legacy, "legacy" },
    { "reserved libxl option bits", m_opt_resv, "reserved option bits 0x100" },
    { "truncated libxl header", m_libxl_trunc, "libxl header at offset 0x4a: truncated: 9 of 16" },
    { "unknown record type", m_rec_unknown, "libxl record 0 (unknown, type 0x6) at offset 0x5a: unknown record type" },
    { "oversized record", m_rec_oversized, "exceeds the maximum 0x40000000" },
    { "END with a length", m_end_len, "libxl record 0 (END, type 0) at offset 0x5a: length 8: END must have length 0" },
    { "LIBXC_CONTEXT with a length", m_libxc_len, "LIBXC_CONTEXT must have length 0" },
    { "EMULATOR_CONTEXT shorter than its header", m_emu_short, "length 4: EMULATOR_CONTEXT is shorter than its 8-byte" },
    { "EMULATOR_XENSTORE_DATA shorter than its header", m_xs_short, "EMULATOR_XENSTORE_DATA is shorter" },
    { "non-zero padding", m_padding, "non-zero padding byte at offset 0x6f" },
    { "unknown emulator id", m_emu_id, "unknown emulator id 0x7" },
    { "xenstore data without its NUL", m_xs_nul, "not NUL-terminated" },
    { "xenstore data with an odd string count", m_xs_odd, "not key/value pairs" },
    { "empty CHECKPOINT_STATE", m_cp_state, "CHECKPOINT_STATE must not be empty" },
    { "no END record", m_no_end, "libxl record 1 at offset 0x6a: stream ends with no END record" },
    { "truncated record header", m_rec_trunc, "truncated record header: 5 of 8" },
    { "truncated record body", m_body_trunc, "truncated: 8 of 16 body" },
};

static void t_rejections(void)
{
    struct stream_membuf good = make_good();
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        uint8_t buf[512];
        size_t len = good.len < sizeof(buf) ? good.len : sizeof(buf);
        memcpy(buf, good.buf, len);
        bads[i].mutate(buf, &len);
        char err[256] = "";
        struct read_result res;
        int rc = read_mem(buf, len, err, sizeof(err), &res);
        if (rc != -XEN_EINVAL || !strstr(err, bads[i].want) ||
            !strstr(err, "offset")) {
            fprintf(stderr, "  %s: rc %d, \"%s\" (want \"%s\")\n",
                    bads[i].name, rc, err, bads[i].want);
            test_failures++;
        }
    }
    free(good.buf);
}

static void t_sticky(void)
{
    struct stream_membuf good = make_good();
    good.buf[4] = 'x';
    struct stream_memsrc src = { .buf = good.buf, .len = good.len };
    struct xl_reader r;
    struct xl_record rec;
    char *cfg = (char *)1;
    size_t len = 1;
    xl_reader_init(&r, stream_source_mem, &src);
    CHECK_EQ(xl_read_headers(&r, &cfg, &len), -XEN_EINVAL);
    CHECK(cfg == NULL);
    CHECK_EQ(len, 0);
    char first[256];
    snprintf(first, sizeof(first), "%s", r.err);
    CHECK_EQ(xl_read_record(&r, &rec), -XEN_EINVAL);
    CHECK(strcmp(first, r.err) == 0);
    xl_reader_free(&r);
    free(good.buf);
}

static void t_every_truncation(void)
{
    struct stream_membuf good = make_good();
    char err[256];
    struct read_result res;
    unsigned bad = 0;
    for (size_t cut = 0; cut < good.len; cut++) {
        err[0] = '\0';
        int rc = read_mem(good.buf, cut, err, sizeof(err), &res);
        if (rc != -XEN_EINVAL || !strstr(err, "offset")) {
            if (bad++ < 5)
                fprintf(stderr, "  cut at %zu: rc %d \"%s\"\n", cut, rc, err);
        }
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(read_mem(good.buf, good.len, err, sizeof(err), &res), 0);
    free(good.buf);
}

/* X1: as xl does, optional flags are ignored and optional data after the
   config is skipped; a config without xl's NUL reads the same. */
static void t_xl_leniency(void)
{
    struct stream_membuf m = make_good();
    put32(m.buf + O_OPTIONAL, 5);
    char err[256];
    struct read_result res;
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    CHECK_EQ(read_xl(stream_source_mem, &src, err, sizeof(err), &res), 0);
    CHECK(strcmp(res.config, config) == 0);
    /* The config's NUL becomes optional data after a 21-byte config. */
    put32(m.buf + O_CFGLEN, (uint32_t)strlen(config));
    struct stream_memsrc src2 = { .buf = m.buf, .len = m.len };
    CHECK_EQ(read_xl(stream_source_mem, &src2, err, sizeof(err), &res), 0);
    CHECK(strcmp(res.config, config) == 0);
    free(m.buf);
}

static const struct test tests[] = {
    { "optional flags are ignored and data after the config skipped, as xl does", t_xl_leniency },
    { "headers, config, LIBXC_CONTEXT + a libxc stream, EMULATOR_CONTEXT and END round-trip", t_round_trip },
    { "the xl and libxl headers have xl's and libxl's bytes", t_header_bytes },
    { "record offsets and indexes; the libxc reader stops at its END; nothing after END", t_offsets_and_records },
    { "a stream without config reads back an empty config", t_no_config },
    { "writer: order, E2BIG config, unknown emulator id, sink errors stick", t_writer_errors },
    { "every malformed header and record is -EINVAL naming part and offset", t_rejections },
    { "a reader error sticks and leaves no config behind", t_sticky },
    { "every truncation of a complete stream is -EINVAL with an offset", t_every_truncation },
};

/* ---- the tool -------------------------------------------------------------------- */

static int tool_write(const char *path, const char *libxc_path)
{
    uint8_t *libxc = NULL;
    size_t libxc_len = 0;
    if (libxc_path) {
        FILE *in = fopen(libxc_path, "rb");
        if (!in) {
            perror(libxc_path);
            return 2;
        }
        size_t cap = 1 << 16;
        libxc = malloc(cap);
        size_t n;
        while (libxc && (n = fread(libxc + libxc_len, 1, cap - libxc_len, in)) > 0)
            if ((libxc_len += n) == cap)
                libxc = realloc(libxc, cap *= 2);
        fclose(in);
        if (!libxc)
            return 2;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        free(libxc);
        return 2;
    }
    uint64_t total = 0;
    int rc = write_xl(stream_sink_file, f, libxc, libxc_len, &total);
    if (fclose(f) != 0 && !rc)
        rc = -XEN_EIO;
    free(libxc);
    if (rc) {
        fprintf(stderr, "%s: write failed: %d\n", path, rc);
        return 1;
    }
    printf("%s: %llu bytes\n", path, (unsigned long long)total);
    return 0;
}

static int tool_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    char err[256] = "";
    struct read_result res;
    int rc = read_xl(stream_source_file, f, err, sizeof(err), &res);
    fclose(f);
    if (rc)
        printf("rejected: %s\n", err);
    else
        printf("accepted: %u libxl records, %u libxc records\n",
               res.libxl_records, res.libxc_records);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--write") == 0)
        return tool_write(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 3 && strcmp(argv[1], "--read") == 0)
        return tool_read(argv[2]);
    int failed = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        failed += test_run_one(&tests[i]);
    }
    return failed ? 1 : 0;
}
