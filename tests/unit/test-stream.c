/*
 * tests/unit/test-stream.c - the migration v2 stream writer and reader.
 *
 * Also a small tool for tests/scenario/stream-verify.sh:
 *   test-stream --write pv|pv-checkpointed|hvm FILE
 *                      write a sample stream; the three together hold every
 *                      record kind the writer has
 *   test-stream --read [--checkpointed] FILE
 *                      read it strictly: "accepted: N records" (exit 0) or
 *                      "rejected: " and the reader's message (exit 1)
 */
#include <fcntl.h>

#include "tests/unit/test.h"
#include "toolstack/stream.h"

#define PFINFO(t) XEN_DOMCTL_PFINFO_##t

static uint8_t pages[8][STREAM_PAGE_SIZE];
static bool sample_checkpoint;      /* the PV sample as a Remus stream */

static void fill_pages(void)
{
    for (unsigned i = 0; i < 8; i++)
        memset(pages[i], 0x11 * (i + 1), STREAM_PAGE_SIZE);
}

/* Every kind a PV stream has, in the order libxc writes them. */
static int write_pv(struct stream_writer *w)
{
    static const xen_cpuid_leaf_t leaves[] = {
        { .leaf = 0, .subleaf = XEN_CPUID_NO_SUBLEAF, .a = 0xd, .b = 0x756e6547 },
        { .leaf = 7, .subleaf = 0, .b = 0x1 },
    };
    static const xen_msr_entry_t msrs[] = { { .idx = 0xce, .val = 0x80000000 } };
    static const uint64_t p2m[] = { 0x40, 0x41 };
    uint8_t blob[64];
    memset(blob, 0x5a, sizeof(blob));
    fill_pages();
    int rc = stream_write_headers(w, STREAM_DHDR_TYPE_X86_PV, 4, 17);
    if (!rc) rc = stream_write_x86_pv_info(w, 8, 4);
    if (!rc) rc = stream_write_x86_cpuid_policy(w, leaves, 2);
    if (!rc) rc = stream_write_x86_msr_policy(w, msrs, 1);
    if (!rc) rc = stream_write_static_data_end(w);
    if (!rc) rc = stream_write_x86_pv_p2m_frames(w, 0, 1023, p2m, 2);
    if (!rc) rc = stream_write_page(w, 0x10, PFINFO(NOTAB), pages[0]);
    if (!rc) rc = stream_write_page(w, 0x11, PFINFO(L1TAB), pages[1]);
    if (!rc) rc = stream_write_page(w, 0x12, PFINFO(L4TAB) | PFINFO(LPINTAB), pages[2]);
    if (!rc) rc = stream_write_page(w, 0x13, PFINFO(XTAB), NULL);
    if (!rc) rc = stream_write_page(w, 0x14, PFINFO(XALLOC), NULL);
    if (!rc) rc = stream_write_page(w, 0x15, PFINFO(BROKEN), NULL);
    if (!rc) rc = stream_write_page(w, 0x16, PFINFO(L2TAB), pages[3]);
    if (!rc) rc = stream_write_flush(w);
    if (!rc) rc = stream_write_verify(w);
    if (!rc) rc = stream_write_page(w, 0x10, PFINFO(NOTAB), pages[0]);
    if (!rc) rc = stream_write_x86_tsc_info(w, 0, 2000000, 123456789ULL, 1);
    if (!rc) rc = stream_write_shared_info(w, pages[4]);
    if (!rc) rc = stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_BASIC, 0, blob, 64);
    if (!rc) rc = stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_EXTENDED, 0, blob, 24);
    if (!rc) rc = stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_XSAVE, 0, blob, 13);
    if (!rc) rc = stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_MSRS, 0, blob, 16);
    if (!rc && sample_checkpoint) rc = stream_write_checkpoint(w);
    if (!rc) rc = stream_write_end(w);
    return rc;
}

static int write_hvm(struct stream_writer *w)
{
    static const xen_cpuid_leaf_t leaves[] = {
        { .leaf = 1, .subleaf = XEN_CPUID_NO_SUBLEAF, .a = 0x306c3 },
    };
    static const xen_msr_entry_t msrs[] = { { .idx = 0x10a, .val = 0 } };
    static const struct stream_hvm_params_entry params[] = {
        { .index = 1, .value = 0xfeffe }, { .index = 2, .value = 3 },
    };
    uint8_t ctxt[100];
    memset(ctxt, 0xc3, sizeof(ctxt));
    fill_pages();
    int rc = stream_write_headers(w, STREAM_DHDR_TYPE_X86_HVM, 4, 17);
    if (!rc) rc = stream_write_x86_cpuid_policy(w, leaves, 1);
    if (!rc) rc = stream_write_x86_msr_policy(w, msrs, 1);
    if (!rc) rc = stream_write_static_data_end(w);
    for (unsigned i = 0; !rc && i < 6; i++)
        rc = stream_write_page(w, 0x100 + i, PFINFO(NOTAB), pages[i]);
    if (!rc) rc = stream_write_page(w, 0x200, PFINFO(XTAB), NULL);
    if (!rc) rc = stream_write_x86_tsc_info(w, 1, 3000000, 42, 0);
    if (!rc) rc = stream_write_hvm_params(w, params, 2);
    if (!rc) rc = stream_write_hvm_context(w, ctxt, sizeof(ctxt));
    if (!rc) rc = stream_write_end(w);
    return rc;
}

static struct stream_membuf make(int (*fn)(struct stream_writer *))
{
    struct stream_membuf m = { 0 };
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_mem, &m);
    REQUIRE(fn(&w) == 0);
    return m;
}

/* Read a whole stream: 0 accepted, else the error; *nrec records read. */
static int read_all(const uint8_t *buf, size_t len, char *err, size_t errsz,
                    unsigned *nrec)
{
    struct stream_memsrc src = { .buf = buf, .len = len };
    struct stream_reader r;
    struct stream_record rec;
    int rc;
    unsigned n = 0;
    stream_reader_init(&r, stream_source_mem, &src);
    while ((rc = stream_read_record(&r, &rec)) == 0)
        n++;
    if (err)
        snprintf(err, errsz, "%s", rc < 0 ? r.err : "");
    if (nrec)
        *nrec = n;
    stream_reader_free(&r);
    return rc < 0 ? rc : 0;
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Offset of record number idx (0-based) in a stream. */
static size_t rec_off(const struct stream_membuf *m, unsigned idx)
{
    size_t off = 24 + 16;
    for (unsigned i = 0; i < idx; i++)
        off += 8 + ((rd32(m->buf + off + 4) + 7u) & ~7u);
    return off;
}

/* Offset of the first record of a type. */
static size_t find_rec(const struct stream_membuf *m, uint32_t type)
{
    size_t off = 24 + 16;
    while (off + 8 <= m->len && rd32(m->buf + off) != type)
        off += 8 + ((rd32(m->buf + off + 4) + 7u) & ~7u);
    REQUIRE(off + 8 <= m->len);
    return off;
}

/* ---- tests --------------------------------------------------------------- */

static void t_headers_bytes(void)
{
    struct stream_membuf m = make(write_pv);
    static const uint8_t ihdr[24] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'X', 'E', 'N', 'F',
        0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK(memcmp(m.buf, ihdr, 24) == 0);
    CHECK_EQ(rd32(m.buf + 24), STREAM_DHDR_TYPE_X86_PV);
    CHECK_EQ(m.buf[28], 12);
    CHECK_EQ(rd32(m.buf + 32), 4);
    CHECK_EQ(rd32(m.buf + 36), 17);
    CHECK_EQ(m.len % 8, 0);
    free(m.buf);
}

static void t_pv_roundtrip(void)
{
    struct stream_membuf m = make(write_pv);
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_mem, &src);
    static const uint32_t want[] = {
        STREAM_REC_X86_PV_INFO, STREAM_REC_X86_CPUID_POLICY,
        STREAM_REC_X86_MSR_POLICY, STREAM_REC_STATIC_DATA_END,
        STREAM_REC_X86_PV_P2M_FRAMES, STREAM_REC_PAGE_DATA, STREAM_REC_VERIFY,
        STREAM_REC_PAGE_DATA, STREAM_REC_X86_TSC_INFO, STREAM_REC_SHARED_INFO,
        STREAM_REC_X86_PV_VCPU_BASIC, STREAM_REC_X86_PV_VCPU_EXTENDED,
        STREAM_REC_X86_PV_VCPU_XSAVE, STREAM_REC_X86_PV_VCPU_MSRS,
        STREAM_REC_END };
    unsigned n = 0;
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0) {
        REQUIRE(n < sizeof(want) / sizeof(want[0]));
        CHECK_EQ(rec.type, want[n]);
        CHECK_EQ(rec.index, n);
        if (n == 0) {
            CHECK_EQ(rec.u.pv_info.guest_width, 8);
            CHECK_EQ(rec.u.pv_info.pt_levels, 4);
        }
        if (n == 1) {
            CHECK_EQ(rec.u.cpuid.nr, 2);
            CHECK_HEX(rec.u.cpuid.l[0].b, 0x756e6547);
        }
        if (n == 4) {
            CHECK_EQ(rec.u.p2m_frames.end_pfn, 1023);
            CHECK_EQ(rec.u.p2m_frames.nr, 2);
            CHECK_HEX(rec.u.p2m_frames.pfn[1], 0x41);
        }
        if (n == 5) {
            CHECK_EQ(rec.u.page_data.count, 7);
            CHECK_EQ(rec.u.page_data.nr_data, 4);
            /* type in bits 63-60: the PFINFO value shifted left by 32 */
            CHECK_HEX(rec.u.page_data.pfn[1], (1ULL << 60) | 0x11);
            CHECK_HEX(rec.u.page_data.pfn[2], (0xcULL << 60) | 0x12);
            CHECK_HEX(rec.u.page_data.pfn[3], (0xfULL << 60) | 0x13);
            CHECK_HEX(rec.u.page_data.pfn[4], (0xeULL << 60) | 0x14);
            CHECK_HEX(rec.u.page_data.pfn[5], (0xdULL << 60) | 0x15);
            /* data only for data-carrying types, in pfn order */
            CHECK_EQ(rec.u.page_data.data[0], 0x11);
            CHECK_EQ(rec.u.page_data.data[2 * STREAM_PAGE_SIZE], 0x33);
            CHECK_EQ(rec.u.page_data.data[3 * STREAM_PAGE_SIZE], 0x44);
        }
        if (n == 8) {
            CHECK_EQ(rec.u.tsc.khz, 2000000);
            CHECK_EQ(rec.u.tsc.nsec, 123456789ULL);
            CHECK_EQ(rec.u.tsc.incarnation, 1);
        }
        if (n == 12)
            CHECK_EQ(rec.u.vcpu.len, 13);
        n++;
    }
    CHECK_EQ(rc, 1);
    CHECK_EQ(n, sizeof(want) / sizeof(want[0]));
    CHECK_EQ(r.offset, m.len);
    stream_reader_free(&r);
    free(m.buf);
}

static void t_hvm_roundtrip(void)
{
    struct stream_membuf m = make(write_hvm);
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_mem, &src);
    unsigned n = 0, params = 0, pages_seen = 0;
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0) {
        if (rec.type == STREAM_REC_HVM_PARAMS) {
            params = (unsigned)rec.u.params.nr;
            CHECK_HEX(rec.u.params.p[0].value, 0xfeffe);
        }
        if (rec.type == STREAM_REC_PAGE_DATA)
            pages_seen += rec.u.page_data.nr_data;
        if (rec.type == STREAM_REC_HVM_CONTEXT)
            CHECK_EQ(rec.length, 100);
        n++;
    }
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.dom_type, STREAM_DHDR_TYPE_X86_HVM);
    CHECK_EQ(r.xen_major, 4);
    CHECK_EQ(r.xen_minor, 17);
    CHECK_EQ(params, 2);
    CHECK_EQ(pages_seen, 6);
    CHECK_EQ(n, 8);
    stream_reader_free(&r);
    free(m.buf);
}

static void t_batching(void)
{
    struct stream_membuf m = { 0 };
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_mem, &m);
    fill_pages();
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17) == 0);
    REQUIRE(stream_write_static_data_end(&w) == 0);
    for (unsigned i = 0; i < 2500; i++)
        REQUIRE(stream_write_page(&w, i, PFINFO(NOTAB), pages[i % 8]) == 0);
    /* two full batches went out on their own, 452 pfns wait */
    CHECK_EQ(w.rec_count[STREAM_REC_PAGE_DATA], 2);
    CHECK_EQ(w.batch_count, 2500 - 2 * STREAM_MAX_BATCH);
    REQUIRE(stream_write_end(&w) == 0);     /* flushes first */
    CHECK_EQ(w.rec_count[STREAM_REC_PAGE_DATA], 3);
    CHECK_EQ(w.pages_sent, 2500);
    CHECK_EQ(w.rec_bytes[STREAM_REC_PAGE_DATA],
             3 * 16 + 2500 * 8 + 2500ULL * STREAM_PAGE_SIZE);
    uint64_t sum = 40;
    for (unsigned i = 0; i <= STREAM_REC_NR_KNOWN; i++)
        sum += w.rec_bytes[i];
    CHECK_EQ(sum, m.len);
    CHECK_EQ(w.offset, m.len);
    unsigned n;
    char err[256];
    CHECK_EQ(read_all(m.buf, m.len, err, sizeof(err), &n), 0);
    CHECK_EQ(n, 5);
    CHECK_EQ(rd32(m.buf + rec_off(&m, 1) + 8), STREAM_MAX_BATCH);
    CHECK_EQ(rd32(m.buf + rec_off(&m, 3) + 8), 452);
    free(m.buf);
}

static int failing_sink(void *ctx, const void *buf, size_t len)
{
    (void)buf; (void)len;
    return --*(int *)ctx < 0 ? -XEN_EIO : 0;
}

static void t_writer_errors(void)
{
    struct stream_membuf m = { 0 };
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(stream_write_end(&w), -XEN_EINVAL);             /* no headers */
    stream_writer_init(&w, stream_sink_mem, &m);
    CHECK_EQ(stream_write_headers(&w, 3, 4, 17), -XEN_EINVAL);
    stream_writer_init(&w, stream_sink_mem, &m);
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_PV, 4, 17) == 0);
    /* a type that is no PFINFO value; data missing / data for XTAB */
    CHECK_EQ(stream_write_page(&w, 1, 0x5U << 28, pages[0]), -XEN_EINVAL);
    CHECK_EQ(stream_write_x86_pv_info(&w, 8, 4), -XEN_EINVAL); /* sticky */
    size_t len = m.len;
    stream_writer_init(&w, stream_sink_mem, &m);
    m.len = 0;
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_PV, 4, 17) == 0);
    CHECK_EQ(stream_write_page(&w, 1, PFINFO(NOTAB), NULL), -XEN_EINVAL);
    stream_writer_init(&w, stream_sink_mem, &m);
    m.len = 0;
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_PV, 4, 17) == 0);
    CHECK_EQ(stream_write_page(&w, 1, PFINFO(XTAB), pages[0]), -XEN_EINVAL);
    CHECK_EQ(stream_write_page(&w, 1ULL << 52, PFINFO(XTAB), NULL), -XEN_EINVAL);
    /* over 128 MiB: E2BIG, nothing written */
    stream_writer_init(&w, stream_sink_mem, &m);
    m.len = 0;
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17) == 0);
    len = m.len;
    static uint8_t big;
    CHECK_EQ(stream_write_hvm_context(&w, &big, STREAM_REC_LENGTH_MAX + 1ULL),
             -XEN_E2BIG);
    CHECK_EQ(m.len, len);
    /* after END nothing more */
    stream_writer_init(&w, stream_sink_mem, &m);
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17) == 0);
    REQUIRE(stream_write_end(&w) == 0);
    CHECK_EQ(stream_write_verify(&w), -XEN_EINVAL);
    /* the sink's error comes back, and sticks */
    int budget = 3;
    stream_writer_init(&w, failing_sink, &budget);
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17) == 0);
    CHECK_EQ(stream_write_hvm_context(&w, pages[0], 100), -XEN_EIO);
    CHECK_EQ(stream_write_end(&w), -XEN_EIO);
    /* a memory limit */
    struct stream_membuf lim = { .limit = 64 };
    stream_writer_init(&w, stream_sink_mem, &lim);
    REQUIRE(stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17) == 0);
    CHECK_EQ(stream_write_shared_info(&w, pages[0]), -XEN_ENOSPC);
    free(lim.buf);
    free(m.buf);
}

/* One corruption of the PV sample and the words its message must hold. */
struct corruption {
    const char *what;
    void (*apply)(struct stream_membuf *m);
    const char *want;
};

static void c_marker(struct stream_membuf *m) { m->buf[3] = 0xfe; }
static void c_id(struct stream_membuf *m) { m->buf[8] = 'Y'; }
static void c_version(struct stream_membuf *m) { m->buf[15] = 2; }
static void c_endian(struct stream_membuf *m) { m->buf[17] = 1; }
static void c_domtype(struct stream_membuf *m) { wr32(m->buf + 24, 3); }
static void c_shift(struct stream_membuf *m) { m->buf[28] = 13; }
static void c_trunc_hdr(struct stream_membuf *m) { m->len = 30; }
static void c_trunc_rec(struct stream_membuf *m)
{ m->len = find_rec(m, STREAM_REC_SHARED_INFO) + 100; }
static void c_no_end(struct stream_membuf *m) { m->len -= 8; }
static void c_too_long(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_SHARED_INFO) + 4, STREAM_REC_LENGTH_MAX + 8); }
static void c_padding(struct stream_membuf *m)
{   /* XSAVE is 8 + 13 bytes: 3 bytes of padding */
    size_t o = find_rec(m, STREAM_REC_X86_PV_VCPU_XSAVE);
    m->buf[o + 8 + 21 + 1] = 1;
}
static void c_count0(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_PAGE_DATA) + 8, 0); }
static void c_count_big(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_PAGE_DATA) + 8, 0x10000000); }
static void c_bad_type(struct stream_membuf *m)
{
    size_t o = find_rec(m, STREAM_REC_PAGE_DATA) + 16;
    wr64(m->buf + o, (5ULL << 60) | 0x10);
}
static void c_type_nodata(struct stream_membuf *m)
{   /* pfn[0] NOTAB -> XTAB: one page of data too many */
    size_t o = find_rec(m, STREAM_REC_PAGE_DATA) + 16;
    wr64(m->buf + o, (0xfULL << 60) | 0x10);
}
static void c_reserved_pfn(struct stream_membuf *m)
{
    size_t o = find_rec(m, STREAM_REC_PAGE_DATA) + 16;
    wr64(m->buf + o, rd64(m->buf + o) | (1ULL << 55));
}
static void c_after_end(struct stream_membuf *m)
{
    uint8_t extra[8] = { 0x0d, 0, 0, 0, 0, 0, 0, 0 };
    stream_sink_mem(m, extra, 8);
}
static void c_unknown(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_VERIFY), 0x13); }
static void c_toolstack(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_VERIFY), STREAM_REC_TOOLSTACK); }
static void c_checkpoint(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_VERIFY), STREAM_REC_CHECKPOINT); }
static void c_sde_twice(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_VERIFY), STREAM_REC_STATIC_DATA_END); }
static void c_no_sde(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_STATIC_DATA_END), STREAM_REC_VERIFY); }
static void c_no_pv_info(struct stream_membuf *m)
{   /* X86_PV_INFO (8-byte body) -> an optional unknown record: skipped */
    wr32(m->buf + find_rec(m, STREAM_REC_X86_PV_INFO), STREAM_REC_OPTIONAL | 0x77);
}
static void c_hvm_in_pv(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_X86_PV_VCPU_BASIC), STREAM_REC_HVM_CONTEXT); }
static void c_pv_width(struct stream_membuf *m)
{ m->buf[find_rec(m, STREAM_REC_X86_PV_INFO) + 8] = 6; }
static void c_tsc_len(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_X86_TSC_INFO) + 4, 16); }
static void c_shinfo_len(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_SHARED_INFO) + 4, 4088); }
static void c_policy_len(struct stream_membuf *m)
{ wr32(m->buf + find_rec(m, STREAM_REC_X86_CPUID_POLICY) + 4, 40); }

static const struct corruption corruptions[] = {
    { "bad marker", c_marker, "image header at offset 0: bad marker" },
    { "bad id", c_id, "image header at offset 0: bad id" },
    { "version 2", c_version, "unsupported version 2" },
    { "endianness bit", c_endian, "big-endian stream" },
    { "unknown domain type", c_domtype, "domain header at offset 0x18: unknown domain type 0x3" },
    { "page_shift 13", c_shift, "page_shift 13" },
    { "truncated domain header", c_trunc_hdr, "domain header at offset 0x18: truncated" },
    { "truncated record", c_trunc_rec, "(SHARED_INFO, type 0x7) at offset" },
    { "no END", c_no_end, "stream ends with no END record" },
    { "length over 128 MiB", c_too_long, "length 0x8000008 exceeds the maximum 0x8000000" },
    { "non-zero padding", c_padding, "non-zero padding" },
    { "PAGE_DATA count 0", c_count0, "record 5 (PAGE_DATA, type 0x1) at offset 0xb0: count 0" },
    { "PAGE_DATA count*8 > length", c_count_big, "too short for 268435456 pfns" },
    { "pfn type 5", c_bad_type, "type 0x50000000 is not a valid XEN_DOMCTL_PFINFO" },
    { "data length not matching", c_type_nodata, "of which 3 carry data" },
    { "pfn reserved bits", c_reserved_pfn, "reserved bits 59-52" },
    { "record after END", c_after_end, "data after the END record" },
    { "unknown mandatory type", c_unknown, "unknown mandatory record type" },
    { "TOOLSTACK", c_toolstack, "(TOOLSTACK, type 0xb)" },
    { "CHECKPOINT in a plain stream", c_checkpoint, "not checkpointed" },
    { "second STATIC_DATA_END", c_sde_twice, "second STATIC_DATA_END" },
    { "PAGE_DATA before STATIC_DATA_END", c_no_sde, "PAGE_DATA before STATIC_DATA_END" },
    { "no X86_PV_INFO", c_no_pv_info, "no X86_PV_INFO" },
    { "HVM record in a PV stream", c_hvm_in_pv, "HVM-only record" },
    { "guest_width 6", c_pv_width, "guest_width 6" },
    { "TSC_INFO length", c_tsc_len, "(X86_TSC_INFO, type 0x8)" },
    { "SHARED_INFO length", c_shinfo_len, "length 4088 (want 4096)" },
    { "CPUID policy length", c_policy_len, "multiple of 24" },
};

static void t_rejections(void)
{
    for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
        struct stream_membuf m = make(write_pv);
        corruptions[i].apply(&m);
        char err[256];
        int rc = read_all(m.buf, m.len, err, sizeof(err), NULL);
        if (rc >= 0 || !strstr(err, corruptions[i].want))
            fprintf(stderr, "  %s: rc %d, message \"%s\", want \"%s\"\n",
                    corruptions[i].what, rc, err, corruptions[i].want);
        CHECK(rc < 0);
        CHECK(strstr(err, corruptions[i].want) != NULL);
        free(m.buf);
    }
}

static void t_optional_skipped(void)
{
    struct stream_membuf m = make(write_hvm);
    /* VERIFY-less HVM sample: turn TSC_INFO into an optional unknown type */
    wr32(m.buf + find_rec(&m, STREAM_REC_X86_TSC_INFO), STREAM_REC_OPTIONAL | 0x42);
    struct stream_memsrc src = { .buf = m.buf, .len = m.len };
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_mem, &src);
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0)
        CHECK(rec.type != (STREAM_REC_OPTIONAL | 0x42));
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.skipped_optional, 1);
    CHECK_EQ(r.rec_count[STREAM_REC_X86_TSC_INFO], 0);
    stream_reader_free(&r);
    /* and a CHECKPOINT passes when the stream is declared checkpointed */
    free(m.buf);
    m = make(write_pv);
    wr32(m.buf + find_rec(&m, STREAM_REC_VERIFY), STREAM_REC_CHECKPOINT);
    src = (struct stream_memsrc){ .buf = m.buf, .len = m.len };
    stream_reader_init(&r, stream_source_mem, &src);
    r.checkpointed = true;
    while ((rc = stream_read_record(&r, &rec)) == 0)
        ;
    CHECK_EQ(rc, 1);
    CHECK_EQ(r.rec_count[STREAM_REC_CHECKPOINT], 1);
    stream_reader_free(&r);
    free(m.buf);
}

static void t_every_truncation(void)
{
    struct stream_membuf m = make(write_pv);
    unsigned rejected = 0;
    for (size_t len = 0; len < m.len; len++) {
        char err[256];
        int rc = read_all(m.buf, len, err, sizeof(err), NULL);
        CHECK(rc < 0);
        CHECK(err[0] != '\0');
        CHECK(strstr(err, "offset") != NULL);
        rejected += rc < 0;
    }
    CHECK_EQ(rejected, m.len);
    CHECK_EQ(read_all(m.buf, m.len, NULL, 0, NULL), 0);
    free(m.buf);
}

static void t_random_flips(void)
{
    struct stream_membuf pv = make(write_pv), hvm = make(write_hvm);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    unsigned accepted = 0, rejected = 0;
    uint8_t *copy = malloc(pv.len > hvm.len ? pv.len : hvm.len);
    REQUIRE(copy);
    for (unsigned iter = 0; iter < 4000; iter++) {
        const struct stream_membuf *s = (iter & 1) ? &hvm : &pv;
        memcpy(copy, s->buf, s->len);
        unsigned flips = 1 + iter % 4;
        for (unsigned f = 0; f < flips; f++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            /* half the flips land in the first 512 bytes: headers and
             * record headers, where the rules are */
            size_t pos = (x >> 8) % ((x & 1) ? s->len : 512);
            copy[pos] ^= (uint8_t)(1u << ((x >> 3) & 7));
        }
        char err[256];
        int rc = read_all(copy, s->len, err, sizeof(err), NULL);
        if (rc < 0) {
            CHECK(err[0] != '\0');
            rejected++;
        } else {
            accepted++;
        }
    }
    fprintf(stderr, "  flips: %u accepted, %u rejected\n", accepted, rejected);
    /* a flip inside page data or a vCPU blob is still a valid stream;
     * the seed is fixed, so these counts are too */
    CHECK(rejected >= 500);
    CHECK(accepted >= 500);
    CHECK_EQ(accepted + rejected, 4000);
    free(copy);
    free(pv.buf);
    free(hvm.buf);
}

static void t_fd_sink_source(void)
{
    char path[] = "/tmp/hvlab-stream-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_fd, &fd);
    REQUIRE(write_hvm(&w) == 0);
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_fd, &fd);
    unsigned n = 0;
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0)
        n++;
    CHECK_EQ(rc, 1);
    CHECK_EQ(n, 8);
    CHECK_EQ(r.offset, w.offset);
    stream_reader_free(&r);
    close(fd);
}

static const struct test tests[] = {
    { "the image header is big-endian XENF v3, the domain header x86 PV 4.17", t_headers_bytes },
    { "a PV stream with every PV record kind reads back field by field", t_pv_roundtrip },
    { "an HVM stream with params and context reads back", t_hvm_roundtrip },
    { "PAGE_DATA batches hold at most 1024 pfns; byte counters add up to the stream", t_batching },
    { "the writer returns errors (bad type, E2BIG, after END, sink failure) and they stick", t_writer_errors },
    { "the reader rejects each corruption naming record, type and offset", t_rejections },
    { "unknown optional records are skipped; CHECKPOINT only when checkpointed", t_optional_skipped },
    { "every truncation of a valid stream is rejected with a message", t_every_truncation },
    { "4000 random bit flips: each accepted or rejected with a message", t_random_flips },
    { "the fd sink and fd source carry a stream", t_fd_sink_source },
};

/* ---- the tool ---------------------------------------------------------- */

static int tool_write(const char *kind, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_file, f);
    sample_checkpoint = strcmp(kind, "pv-checkpointed") == 0;
    int rc = strcmp(kind, "hvm") == 0 ? write_hvm(&w) : write_pv(&w);
    if (fclose(f) != 0 && !rc)
        rc = -XEN_EIO;
    if (rc) {
        fprintf(stderr, "%s: write failed: %d\n", path, rc);
        return 1;
    }
    printf("%s: %llu bytes\n", path, (unsigned long long)w.offset);
    return 0;
}

static int tool_read(const char *path, bool checkpointed)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_file, f);
    r.checkpointed = checkpointed;
    unsigned n = 0;
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0)
        n++;
    fclose(f);
    if (rc < 0)
        printf("rejected: %s\n", r.err);
    else
        printf("accepted: %u records\n", n);
    stream_reader_free(&r);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--write") == 0)
        return tool_write(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "--read") == 0)
        return tool_read(argv[2], false);
    if (argc == 4 && strcmp(argv[1], "--read") == 0 &&
        strcmp(argv[2], "--checkpointed") == 0)
        return tool_read(argv[3], true);
    int failed = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        failed += test_run_one(&tests[i]);
    }
    return failed ? 1 : 0;
}
