/*
 * toolstack/stream_read.c - the strict migration v2 stream reader.
 *
 * Rules (numbers from toolstack/stream.h):
 *   S6  Every error goes through reject(), which names where ("image
 *       header", "domain header", "record N (NAME)") and the byte offset, and
 *       makes the reader fail every later call the same way.
 *   R1  Headers: marker all ones, id "XENF", version 3, options zero (the
 *       endianness bit set is a big-endian stream, rejected like Xen does;
 *       other option bits and reserved fields must be zero, as Xen's checker
 *       says), domain type x86 PV or HVM, page_shift 12, reserved zero.
 *   R2  Records: length <= 128 MiB; padding must be zero (Xen's checker
 *       checks it, Xen's reader does not: stricter than Xen); unknown
 *       mandatory types, TOOLSTACK and CHECKPOINT_DIRTY_PFN_LIST are
 *       rejected; unknown optional types are skipped; CHECKPOINT only when
 *       the reader was told the stream is checkpointed.
 *   R3  Body rules per kind: check_body() (the checker's and Xen's size and
 *       reserved-field rules; PAGE_DATA as handle_page_data()).
 *   R4  Order: check_order() - nothing after END; at most one
 *       STATIC_DATA_END, and PAGE_DATA only after it; X86_PV_INFO, the CPUID
 *       and MSR policies only before it; X86_PV_INFO once, and before
 *       X86_PV_P2M_FRAMES and PAGE_DATA in a PV stream; PV-only records in an
 *       HVM stream and HVM-only ones in a PV stream are rejected (Xen: a
 *       mandatory record not handled).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolstack/stream.h"

/* ---- sources ----------------------------------------------------------- */

long stream_source_fd(void *ctx, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -XEN_EIO;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long)got;
}

long stream_source_file(void *ctx, void *buf, size_t len)
{
    FILE *f = ctx;
    size_t n = fread(buf, 1, len, f);
    if (n < len && ferror(f))
        return -XEN_EIO;
    return (long)n;
}

long stream_source_mem(void *ctx, void *buf, size_t len)
{
    struct stream_memsrc *m = ctx;
    size_t left = m->len - m->pos;
    size_t n = len < left ? len : left;
    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    return (long)n;
}

/* ---- errors (S6) ------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int reject(struct stream_reader *r, int rc, const char *where,
                  const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (!r->failed)
        snprintf(r->err, sizeof(r->err), "%s: %s", where, what);
    r->failed = true;
    return rc;
}

/* "record N (NAME) at offset 0x..." */
static const char *rec_where(char *buf, size_t sz, unsigned index,
                             uint32_t type, uint64_t offset)
{
    snprintf(buf, sz, "record %u (%s, type %#x) at offset %#llx", index,
             stream_rec_name(type), type, (unsigned long long)offset);
    return buf;
}

/* Read exactly len bytes: 0, 1 if the source ended first (*got says how
 * many came), or a negative errno. */
static int read_exact(struct stream_reader *r, void *buf, size_t len,
                      size_t *got)
{
    size_t have = 0;
    while (have < len) {
        long n = r->source(r->ctx, (uint8_t *)buf + have, len - have);
        if (n < 0)
            return (int)n;
        if (n == 0 || (size_t)n > len - have)
            break;
        have += (size_t)n;
    }
    r->offset += have;
    if (got)
        *got = have;
    return have == len ? 0 : 1;
}

void stream_reader_init(struct stream_reader *r, stream_source_fn source,
                        void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->source = source;
    r->ctx = ctx;
}

void stream_reader_free(struct stream_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

/* ---- headers (R1) ------------------------------------------------------ */

int stream_read_headers(struct stream_reader *r)
{
    if (r->failed)
        return -XEN_EINVAL;
    if (r->headers_done)
        return 0;
    struct stream_ihdr ih;
    struct stream_dhdr dh;
    char where[64];
    size_t got;
    snprintf(where, sizeof(where), "image header at offset %#llx",
             (unsigned long long)r->offset);
    int rc = read_exact(r, &ih, sizeof(ih), &got);
    if (rc < 0)
        return reject(r, rc, where, "read error %d", rc);
    if (rc)
        return reject(r, -XEN_EINVAL, where, "truncated: %zu of %zu bytes",
                      got, sizeof(ih));
    uint32_t id = ntohl(ih.id), version = ntohl(ih.version);
    uint16_t options = ntohs(ih.options);
    if (ih.marker != STREAM_IHDR_MARKER)
        return reject(r, -XEN_EINVAL, where, "bad marker %#llx (want all ones)",
                      (unsigned long long)ih.marker);
    if (id != STREAM_IHDR_ID)
        return reject(r, -XEN_EINVAL, where, "bad id %#x (want %#x \"XENF\")",
                      id, STREAM_IHDR_ID);
    if (version != STREAM_IHDR_VERSION)
        return reject(r, -XEN_EINVAL, where, "unsupported version %u (want %u)",
                      version, STREAM_IHDR_VERSION);
    if (options & STREAM_IHDR_OPT_BIG_ENDIAN)
        return reject(r, -XEN_EINVAL, where,
                      "big-endian stream (options %#x): only little-endian "
                      "streams are supported", options);
    if (options)
        return reject(r, -XEN_EINVAL, where, "reserved option bits %#x set",
                      options);
    if (ih.reserved1 || ih.reserved2)
        return reject(r, -XEN_EINVAL, where, "reserved fields not zero");
    r->version = version;

    snprintf(where, sizeof(where), "domain header at offset %#llx",
             (unsigned long long)r->offset);
    rc = read_exact(r, &dh, sizeof(dh), &got);
    if (rc < 0)
        return reject(r, rc, where, "read error %d", rc);
    if (rc)
        return reject(r, -XEN_EINVAL, where, "truncated: %zu of %zu bytes",
                      got, sizeof(dh));
    if (dh.type != STREAM_DHDR_TYPE_X86_PV && dh.type != STREAM_DHDR_TYPE_X86_HVM)
        return reject(r, -XEN_EINVAL, where, "unknown domain type %#x", dh.type);
    if (dh.page_shift != STREAM_PAGE_SHIFT)
        return reject(r, -XEN_EINVAL, where, "page_shift %u (want 12)",
                      dh.page_shift);
    if (dh.reserved)
        return reject(r, -XEN_EINVAL, where, "reserved field %#x not zero",
                      dh.reserved);
    r->dom_type = dh.type;
    r->xen_major = dh.xen_major;
    r->xen_minor = dh.xen_minor;
    r->headers_done = true;
    return 0;
}

/* ---- body rules (R3) --------------------------------------------------- */

static int check_page_data(struct stream_reader *r, struct stream_record *rec,
                           const char *where)
{
    const struct stream_page_data_hdr *ph = (const void *)rec->body;
    if (rec->length < sizeof(*ph))
        return reject(r, -XEN_EINVAL, where, "length %u shorter than the "
                      "%zu-byte header", rec->length, sizeof(*ph));
    if (ph->count < 1)
        return reject(r, -XEN_EINVAL, where, "count 0 (want at least 1 pfn)");
    if (ph->reserved)
        return reject(r, -XEN_EINVAL, where, "reserved field %#x not zero",
                      ph->reserved);
    uint64_t pfn_bytes = (uint64_t)ph->count * sizeof(uint64_t);
    if (pfn_bytes > rec->length - sizeof(*ph))
        return reject(r, -XEN_EINVAL, where, "length %u too short for %u pfns",
                      rec->length, ph->count);
    const uint64_t *pfn = (const uint64_t *)(rec->body + sizeof(*ph));
    uint32_t nr_data = 0;
    for (uint32_t i = 0; i < ph->count; i++) {
        uint32_t type = (uint32_t)((pfn[i] & STREAM_PFN_TYPE_MASK) >> 32);
        if (pfn[i] & STREAM_PFN_RESERVED_MASK)
            return reject(r, -XEN_EINVAL, where, "pfn[%u] %#llx has reserved "
                          "bits 59-52 set", i, (unsigned long long)pfn[i]);
        if (!stream_pfinfo_valid(type))
            return reject(r, -XEN_EINVAL, where, "pfn[%u] %#llx: type %#x is "
                          "not a valid XEN_DOMCTL_PFINFO value", i,
                          (unsigned long long)pfn[i], type);
        if (stream_pfinfo_has_data(type))
            nr_data++;
    }
    uint64_t want = sizeof(*ph) + pfn_bytes + (uint64_t)nr_data * STREAM_PAGE_SIZE;
    if (rec->length != want)
        return reject(r, -XEN_EINVAL, where, "length %u, expected %zu + %llu + "
                      "%llu for %u pfns of which %u carry data", rec->length,
                      sizeof(*ph), (unsigned long long)pfn_bytes,
                      (unsigned long long)nr_data * STREAM_PAGE_SIZE,
                      ph->count, nr_data);
    rec->u.page_data.count = ph->count;
    rec->u.page_data.nr_data = nr_data;
    rec->u.page_data.pfn = pfn;
    rec->u.page_data.data = rec->body + sizeof(*ph) + pfn_bytes;
    return 0;
}

static int want_len(struct stream_reader *r, const struct stream_record *rec,
                    const char *where, size_t len)
{
    if (rec->length != len)
        return reject(r, -XEN_EINVAL, where, "length %u (want %zu)",
                      rec->length, len);
    return 0;
}

static int want_array(struct stream_reader *r, const struct stream_record *rec,
                      const char *where, size_t hdr, size_t elem, bool nonempty)
{
    if (rec->length < hdr || (rec->length - hdr) % elem ||
        (nonempty && rec->length == hdr))
        return reject(r, -XEN_EINVAL, where, "length %u is not %zu + a %s"
                      "multiple of %zu", rec->length, hdr,
                      nonempty ? "non-zero " : "", elem);
    return 0;
}

static int check_body(struct stream_reader *r, struct stream_record *rec,
                      const char *where)
{
    const uint8_t *b = rec->body;
    int rc;
    switch (rec->type) {
    case STREAM_REC_END:
    case STREAM_REC_VERIFY:
    case STREAM_REC_CHECKPOINT:
    case STREAM_REC_STATIC_DATA_END:
        return want_len(r, rec, where, 0);
    case STREAM_REC_PAGE_DATA:
        return check_page_data(r, rec, where);
    case STREAM_REC_X86_PV_INFO: {
        if ((rc = want_len(r, rec, where, sizeof(struct stream_x86_pv_info))))
            return rc;
        const struct stream_x86_pv_info *pi = (const void *)b;
        if (pi->guest_width != 4 && pi->guest_width != 8)
            return reject(r, -XEN_EINVAL, where, "guest_width %u (want 4 or 8)",
                          pi->guest_width);
        if (pi->pt_levels != 3 && pi->pt_levels != 4)
            return reject(r, -XEN_EINVAL, where, "pt_levels %u (want 3 or 4)",
                          pi->pt_levels);
        if (pi->reserved1 || pi->reserved2)
            return reject(r, -XEN_EINVAL, where, "reserved fields not zero");
        rec->u.pv_info.guest_width = pi->guest_width;
        rec->u.pv_info.pt_levels = pi->pt_levels;
        return 0;
    }
    case STREAM_REC_X86_PV_P2M_FRAMES: {
        if ((rc = want_array(r, rec, where, sizeof(struct stream_x86_pv_p2m_frames),
                             sizeof(uint64_t), false)))
            return rc;
        const struct stream_x86_pv_p2m_frames *pf = (const void *)b;
        if (pf->start_pfn > pf->end_pfn)
            return reject(r, -XEN_EINVAL, where, "start_pfn %#x > end_pfn %#x",
                          pf->start_pfn, pf->end_pfn);
        rec->u.p2m_frames.start_pfn = pf->start_pfn;
        rec->u.p2m_frames.end_pfn = pf->end_pfn;
        rec->u.p2m_frames.nr = (rec->length - sizeof(*pf)) / sizeof(uint64_t);
        rec->u.p2m_frames.pfn = (const uint64_t *)(b + sizeof(*pf));
        return 0;
    }
    case STREAM_REC_X86_PV_VCPU_BASIC:
    case STREAM_REC_X86_PV_VCPU_EXTENDED:
    case STREAM_REC_X86_PV_VCPU_XSAVE:
    case STREAM_REC_X86_PV_VCPU_MSRS: {
        const struct stream_x86_pv_vcpu_hdr *vh = (const void *)b;
        if (rec->length < sizeof(*vh))
            return reject(r, -XEN_EINVAL, where, "length %u shorter than the "
                          "%zu-byte vcpu header", rec->length, sizeof(*vh));
        if (vh->reserved)
            return reject(r, -XEN_EINVAL, where, "reserved field %#x not zero",
                          vh->reserved);
        rec->u.vcpu.vcpu_id = vh->vcpu_id;
        rec->u.vcpu.len = rec->length - sizeof(*vh);
        rec->u.vcpu.ctxt = b + sizeof(*vh);
        return 0;
    }
    case STREAM_REC_SHARED_INFO:
        return want_len(r, rec, where, STREAM_PAGE_SIZE);
    case STREAM_REC_X86_TSC_INFO:
        if ((rc = want_len(r, rec, where, sizeof(struct stream_x86_tsc_info))))
            return rc;
        memcpy(&rec->u.tsc, b, sizeof(rec->u.tsc));
        if (rec->u.tsc.reserved)
            return reject(r, -XEN_EINVAL, where, "reserved field %#x not zero",
                          rec->u.tsc.reserved);
        return 0;
    case STREAM_REC_HVM_CONTEXT:
        if (!rec->length)
            return reject(r, -XEN_EINVAL, where, "empty HVM context");
        return 0;
    case STREAM_REC_HVM_PARAMS: {
        const struct stream_hvm_params *hp = (const void *)b;
        if (rec->length < sizeof(*hp))
            return reject(r, -XEN_EINVAL, where, "length %u shorter than the "
                          "%zu-byte header", rec->length, sizeof(*hp));
        if (hp->reserved)
            return reject(r, -XEN_EINVAL, where, "reserved field %#x not zero",
                          hp->reserved);
        if ((uint64_t)rec->length != sizeof(*hp) +
            (uint64_t)hp->count * sizeof(struct stream_hvm_params_entry))
            return reject(r, -XEN_EINVAL, where, "length %u does not hold "
                          "exactly %u params", rec->length, hp->count);
        rec->u.params.nr = hp->count;
        rec->u.params.p = (const void *)(b + sizeof(*hp));
        return 0;
    }
    case STREAM_REC_X86_CPUID_POLICY:
        if ((rc = want_array(r, rec, where, 0, sizeof(xen_cpuid_leaf_t), true)))
            return rc;
        rec->u.cpuid.nr = rec->length / sizeof(xen_cpuid_leaf_t);
        rec->u.cpuid.l = (const void *)b;
        return 0;
    case STREAM_REC_X86_MSR_POLICY:
        if ((rc = want_array(r, rec, where, 0, sizeof(xen_msr_entry_t), true)))
            return rc;
        rec->u.msr.nr = rec->length / sizeof(xen_msr_entry_t);
        rec->u.msr.m = (const void *)b;
        return 0;
    }
    return reject(r, -XEN_EINVAL, where, "no rule for this record type");
}

/* ---- order rules (R2, R4) --------------------------------------------- */

static bool pv_only(uint32_t t)
{
    return t == STREAM_REC_X86_PV_INFO || t == STREAM_REC_X86_PV_P2M_FRAMES ||
           t == STREAM_REC_X86_PV_VCPU_BASIC || t == STREAM_REC_X86_PV_VCPU_EXTENDED ||
           t == STREAM_REC_X86_PV_VCPU_XSAVE || t == STREAM_REC_X86_PV_VCPU_MSRS ||
           t == STREAM_REC_SHARED_INFO;
}

static bool hvm_only(uint32_t t)
{
    return t == STREAM_REC_HVM_CONTEXT || t == STREAM_REC_HVM_PARAMS;
}

static int check_order(struct stream_reader *r, const struct stream_record *rec,
                       const char *where)
{
    uint32_t t = rec->type;
    bool pv = r->dom_type == STREAM_DHDR_TYPE_X86_PV;
    if (pv && hvm_only(t))
        return reject(r, -XEN_EINVAL, where, "HVM-only record in an x86 PV stream");
    if (!pv && pv_only(t))
        return reject(r, -XEN_EINVAL, where, "PV-only record in an x86 HVM stream");
    switch (t) {
    case STREAM_REC_STATIC_DATA_END:
        if (r->seen_static_data_end)
            return reject(r, -XEN_EINVAL, where, "second STATIC_DATA_END");
        if (pv && !r->seen_pv_info)
            return reject(r, -XEN_EINVAL, where, "static data ends with no "
                          "X86_PV_INFO in an x86 PV stream");
        break;
    case STREAM_REC_X86_PV_INFO:
        if (r->seen_pv_info)
            return reject(r, -XEN_EINVAL, where, "second X86_PV_INFO");
        /* fall through */
    case STREAM_REC_X86_CPUID_POLICY:
    case STREAM_REC_X86_MSR_POLICY:
        if (r->seen_static_data_end)
            return reject(r, -XEN_EINVAL, where, "static data record after "
                          "STATIC_DATA_END");
        break;
    case STREAM_REC_X86_PV_P2M_FRAMES:
        if (!r->seen_pv_info)
            return reject(r, -XEN_EINVAL, where, "X86_PV_P2M_FRAMES before "
                          "X86_PV_INFO");
        break;
    case STREAM_REC_PAGE_DATA:
        if (!r->seen_static_data_end)
            return reject(r, -XEN_EINVAL, where, "PAGE_DATA before "
                          "STATIC_DATA_END");
        if (pv && !r->seen_pv_info)
            return reject(r, -XEN_EINVAL, where, "PAGE_DATA before X86_PV_INFO");
        break;
    case STREAM_REC_CHECKPOINT:
        if (!r->checkpointed)
            return reject(r, -XEN_EINVAL, where, "CHECKPOINT in a plain "
                          "(not checkpointed) stream");
        break;
    case STREAM_REC_TOOLSTACK:
        return reject(r, -XEN_EINVAL, where, "deprecated record");
    case STREAM_REC_CHECKPOINT_DIRTY_PFN_LIST:
        return reject(r, -XEN_EINVAL, where, "back-channel record in a "
                      "forward stream");
    }
    return 0;
}

static void note_seen(struct stream_reader *r, const struct stream_record *rec)
{
    switch (rec->type) {
    case STREAM_REC_STATIC_DATA_END: r->seen_static_data_end = true; break;
    case STREAM_REC_X86_PV_INFO:
        r->seen_pv_info = true;
        r->guest_width = rec->u.pv_info.guest_width;
        break;
    case STREAM_REC_X86_PV_P2M_FRAMES: r->seen_p2m_frames = true; break;
    case STREAM_REC_END: r->ended = true; break;
    }
    r->rec_count[rec->type < STREAM_REC_NR_KNOWN ? rec->type
                                                 : STREAM_REC_NR_KNOWN]++;
}

/* ---- one record ------------------------------------------------------- */

int stream_read_record(struct stream_reader *r, struct stream_record *rec)
{
    char where[96];
    int rc;
    if (r->failed)
        return -XEN_EINVAL;
    if (!r->headers_done && (rc = stream_read_headers(r)))
        return rc;
    for (;;) {
        struct stream_rhdr rh;
        size_t got;
        uint64_t off = r->offset;
        unsigned index = r->next_index;
        rc = read_exact(r, &rh, sizeof(rh), &got);
        if (rc < 0) {
            snprintf(where, sizeof(where), "record %u at offset %#llx", index,
                     (unsigned long long)off);
            return reject(r, rc, where, "read error %d", rc);
        }
        if (r->ended) {
            if (rc == 1 && got == 0)
                return 1;
            if (r->allow_trailing)
                return 1;
            snprintf(where, sizeof(where), "after END at offset %#llx",
                     (unsigned long long)off);
            return reject(r, -XEN_EINVAL, where, "data after the END record");
        }
        if (rc) {
            snprintf(where, sizeof(where), "record %u at offset %#llx", index,
                     (unsigned long long)off);
            if (got)
                return reject(r, -XEN_EINVAL, where, "truncated record header: "
                              "%zu of 8 bytes", got);
            return reject(r, -XEN_EINVAL, where, "stream ends with no END record");
        }
        rec_where(where, sizeof(where), index, rh.type, off);
        if (rh.length > STREAM_REC_LENGTH_MAX)
            return reject(r, -XEN_EINVAL, where, "length %#x exceeds the "
                          "maximum %#x", rh.length, STREAM_REC_LENGTH_MAX);
        size_t padded = ((size_t)rh.length + STREAM_REC_ALIGN - 1) &
                        ~(size_t)(STREAM_REC_ALIGN - 1);
        if (padded > r->cap) {
            uint8_t *nb = realloc(r->buf, padded);
            if (!nb)
                return reject(r, -XEN_ENOMEM, where, "no memory for %zu bytes",
                              padded);
            r->buf = nb;
            r->cap = padded;
        }
        rc = read_exact(r, r->buf, padded, &got);
        if (rc < 0)
            return reject(r, rc, where, "read error %d", rc);
        if (rc)
            return reject(r, -XEN_EINVAL, where, "truncated: %zu of %zu body "
                          "and padding bytes", got, padded);
        for (size_t i = rh.length; i < padded; i++)
            if (r->buf[i])
                return reject(r, -XEN_EINVAL, where, "non-zero padding byte "
                              "at offset %#llx", (unsigned long long)
                              (off + sizeof(rh) + i));
        r->next_index++;
        if (rh.type >= STREAM_REC_NR_KNOWN) {
            if (rh.type & STREAM_REC_OPTIONAL) {
                r->skipped_optional++;
                continue;
            }
            return reject(r, -XEN_EINVAL, where, "unknown mandatory record type");
        }
        memset(rec, 0, sizeof(*rec));
        rec->index = index;
        rec->offset = off;
        rec->type = rh.type;
        rec->length = rh.length;
        rec->body = r->buf;
        if ((rc = check_order(r, rec, where)) || (rc = check_body(r, rec, where)))
            return rc;
        note_seen(r, rec);
        return 0;
    }
}
