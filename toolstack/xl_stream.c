/*
 * toolstack/xl_stream.c - xl's save-file header and libxl's migration
 * stream v2 around the libxc stream: the writer and the total reader.
 *
 * Rules (numbers from toolstack/xl_stream.h):
 *   X1  The xl header is written and checked field by field in the order of
 *       the layout: magic, byteorder, mandatory flags (STREAMV2 required,
 *       JSON and unknown bits rejected), optional flags (ignored, as xl
 *       ignores them), then the optional data: { u32 config_len; config }
 *       (or empty: no config), the config written with its trailing NUL
 *       counted in config_len as xl writes it, and read with or without
 *       one; optional data after the config is skipped, as xl does.
 *   X2  The libxl header is big-endian; the BIG_ENDIAN and LEGACY options
 *       and every reserved option bit are rejected.  Record headers and
 *       bodies are native.
 *   X3  Each record kind's fixed length rule (END, LIBXC_CONTEXT and
 *       CHECKPOINT_END empty; EMULATOR_* at least their 8-byte header;
 *       CHECKPOINT_STATE not empty) is checked from the record header,
 *       before the body is read; the body rules after (emulator ids Xen
 *       knows; xenstore data NUL-terminated key/value pairs), as Xen's
 *       checker does.
 *   X4  Every error goes through reject(), which names the part and the
 *       byte offset and makes the reader fail every later call.  A record
 *       body is read in pieces of at most XL_READ_CHUNK bytes, so a lying
 *       length on a short stream never allocates more than what came plus
 *       one piece.
 *   W1  The writer's first error sticks (like stream.h S5): every later call
 *       returns it and writes nothing; nothing follows END; records only
 *       after the headers.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "toolstack/xl_stream.h"

#define XL_READ_CHUNK   (1U << 20)
#define XL_REC_ALIGN    8U

/* The xl header's fixed part (xl's struct save_file_header). */
struct xl_hdr {
    char magic[XL_MAGIC_LEN];
    uint32_t byteorder;
    uint32_t mandatory_flags;
    uint32_t optional_flags;
    uint32_t optional_data_len;
};
_Static_assert(sizeof(struct xl_hdr) == XL_HDR_SIZE, "xl header layout");

/* The libxl header: every field big-endian. */
struct libxl_hdr {
    uint64_t ident;
    uint32_t version;
    uint32_t options;
};
_Static_assert(sizeof(struct libxl_hdr) == 16, "libxl header layout");

struct libxl_rhdr {
    uint32_t type;
    uint32_t length;
};

struct libxl_emu_hdr {
    uint32_t id;
    uint32_t index;
};

#define XL_MANDATORY_KNOWN  (XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2)

static const char *const rec_names[XL_REC_NR] = {
    [XL_REC_END]                    = "END",
    [XL_REC_LIBXC_CONTEXT]          = "LIBXC_CONTEXT",
    [XL_REC_EMULATOR_XENSTORE_DATA] = "EMULATOR_XENSTORE_DATA",
    [XL_REC_EMULATOR_CONTEXT]       = "EMULATOR_CONTEXT",
    [XL_REC_CHECKPOINT_END]         = "CHECKPOINT_END",
    [XL_REC_CHECKPOINT_STATE]       = "CHECKPOINT_STATE",
};

const char *xl_rec_name(uint32_t type)
{
    return type < XL_REC_NR ? rec_names[type] : "unknown";
}

static size_t padded_len(uint32_t length)
{
    return ((size_t)length + XL_REC_ALIGN - 1) & ~(size_t)(XL_REC_ALIGN - 1);
}

/* ---- writer (W1) ----------------------------------------------------------- */

static int wfail(struct xl_writer *w, int rc)
{
    if (!w->error)
        w->error = rc;
    return w->error;
}

static int wput(struct xl_writer *w, const void *buf, size_t len)
{
    if (!len)
        return 0;
    int rc = w->sink(w->ctx, buf, len);
    if (rc)
        return wfail(w, rc < 0 ? rc : -XEN_EIO);
    w->offset += len;
    return 0;
}

void xl_writer_init(struct xl_writer *w, stream_sink_fn sink, void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->sink = sink;
    w->ctx = ctx;
}

int xl_write_headers(struct xl_writer *w, const void *config, size_t len)
{
    if (w->error)
        return w->error;
    if (w->headers_done || (len && !config))
        return wfail(w, -XEN_EINVAL);
    if (len > XL_CONFIG_MAX)
        return wfail(w, -XEN_E2BIG);
    struct xl_hdr h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, XL_MAGIC, XL_MAGIC_LEN);
    h.byteorder = XL_BYTEORDER_VALUE;
    h.mandatory_flags = XL_MANDATORY_FLAG_STREAMV2;
    h.optional_flags = 0;
    /* X1: xl counts the config's NUL in its length. */
    uint32_t config_len = len ? (uint32_t)len + 1 : 0;
    h.optional_data_len = len ? (uint32_t)(sizeof(uint32_t) + config_len)
                              : 0;
    static const char nul;
    struct libxl_hdr lh = {
        .ident = htobe64(LIBXL_HDR_IDENT),
        .version = htonl(LIBXL_HDR_VERSION),
        .options = htonl(0),
    };
    int rc = wput(w, &h, sizeof(h));
    if (!rc && len) rc = wput(w, &config_len, sizeof(config_len));
    if (!rc && len) rc = wput(w, config, len);
    if (!rc && len) rc = wput(w, &nul, 1);
    if (!rc) rc = wput(w, &lh, sizeof(lh));
    if (!rc)
        w->headers_done = true;
    return rc;
}

/* The one place a libxl record is emitted: header, parts, zero padding. */
static int write_record(struct xl_writer *w, uint32_t type, const void *hdr,
                        size_t hlen, const void *body, size_t blen)
{
    static const uint8_t zeros[XL_REC_ALIGN];
    if (w->error)
        return w->error;
    if (!w->headers_done || w->ended || (blen && !body))
        return wfail(w, -XEN_EINVAL);
    if (blen > XL_REC_LENGTH_MAX || hlen + blen > XL_REC_LENGTH_MAX)
        return wfail(w, -XEN_E2BIG);
    struct libxl_rhdr rh = { .type = type, .length = (uint32_t)(hlen + blen) };
    int rc = wput(w, &rh, sizeof(rh));
    if (!rc) rc = wput(w, hdr, hlen);
    if (!rc) rc = wput(w, body, blen);
    if (!rc) rc = wput(w, zeros, padded_len(rh.length) - rh.length);
    if (!rc && type == XL_REC_END)
        w->ended = true;
    return rc;
}

int xl_write_libxc_context(struct xl_writer *w)
{
    return write_record(w, XL_REC_LIBXC_CONTEXT, NULL, 0, NULL, 0);
}

int xl_write_emulator_context(struct xl_writer *w, uint32_t id,
                              uint32_t index, const void *blob, size_t len)
{
    if (w->error)
        return w->error;
    if (id > XL_EMULATOR_ID_QEMU_UPSTREAM)
        return wfail(w, -XEN_EINVAL);
    struct libxl_emu_hdr eh = { .id = id, .index = index };
    return write_record(w, XL_REC_EMULATOR_CONTEXT, &eh, sizeof(eh), blob, len);
}

int xl_write_end(struct xl_writer *w)
{
    return write_record(w, XL_REC_END, NULL, 0, NULL, 0);
}

void xl_writer_skip(struct xl_writer *w, uint64_t bytes)
{
    w->offset += bytes;
}

/* ---- reader (X4) ----------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static int reject(struct xl_reader *r, int rc, const char *where,
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

/* Read exactly len bytes: 0, 1 if the source ended first (*got says how
 * many came), or the source's negative errno. */
static int read_exact(struct xl_reader *r, void *buf, size_t len, size_t *got)
{
    size_t have = 0;
    while (have < len) {
        long n = r->source(r->ctx, (uint8_t *)buf + have, len - have);
        if (n < 0) {
            r->offset += have;
            return (int)n;
        }
        if (n == 0 || (size_t)n > len - have)
            break;
        have += (size_t)n;
    }
    r->offset += have;
    if (got)
        *got = have;
    return have == len ? 0 : 1;
}

void xl_reader_init(struct xl_reader *r, stream_source_fn source, void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->source = source;
    r->ctx = ctx;
}

void xl_reader_free(struct xl_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

void xl_reader_skip(struct xl_reader *r, uint64_t bytes)
{
    r->offset += bytes;
}

/* Read one fixed-size part; a short read is "truncated". */
static int read_part(struct xl_reader *r, void *buf, size_t len,
                     const char *where)
{
    size_t got = 0;
    int rc = read_exact(r, buf, len, &got);
    if (rc < 0)
        return reject(r, rc, where, "read error %d", rc);
    if (rc)
        return reject(r, -XEN_EINVAL, where, "truncated: %zu of %zu bytes",
                      got, len);
    return 0;
}

static int check_xl_hdr(struct xl_reader *r, const struct xl_hdr *h,
                        const char *where)
{
    if (memcmp(h->magic, XL_MAGIC, XL_MAGIC_LEN) != 0)
        return reject(r, -XEN_EINVAL, where, "bad magic (not \"Xen saved "
                      "domain, xl format\")");
    if (h->byteorder == __builtin_bswap32(XL_BYTEORDER_VALUE))
        return reject(r, -XEN_EINVAL, where, "byteorder %#x at offset %#llx: "
                      "written on a host of the other endianness",
                      h->byteorder, (unsigned long long)r->offset - 16);
    if (h->byteorder != XL_BYTEORDER_VALUE)
        return reject(r, -XEN_EINVAL, where, "bad byteorder %#x at offset "
                      "%#llx (want %#x)", h->byteorder,
                      (unsigned long long)r->offset - 16, XL_BYTEORDER_VALUE);
    if (h->mandatory_flags & ~XL_MANDATORY_KNOWN)
        return reject(r, -XEN_EINVAL, where, "unknown mandatory flags %#x",
                      h->mandatory_flags & ~XL_MANDATORY_KNOWN);
    if (!(h->mandatory_flags & XL_MANDATORY_FLAG_STREAMV2))
        return reject(r, -XEN_EINVAL, where, "mandatory flags %#x lack "
                      "STREAMV2: a legacy (libxc v1) image is not read",
                      h->mandatory_flags);
    if (h->mandatory_flags & XL_MANDATORY_FLAG_JSON)
        return reject(r, -XEN_EINVAL, where, "JSON config flag set: hvlab's "
                      "config is scenario text");
    if (h->optional_data_len > sizeof(uint32_t) + XL_CONFIG_MAX)
        return reject(r, -XEN_EINVAL, where, "optional data of %u bytes "
                      "exceeds the maximum %zu", h->optional_data_len,
                      sizeof(uint32_t) + XL_CONFIG_MAX);
    if (h->optional_data_len && h->optional_data_len < sizeof(uint32_t))
        return reject(r, -XEN_EINVAL, where, "optional data of %u bytes is "
                      "shorter than its config length", h->optional_data_len);
    return 0;
}

static int check_libxl_hdr(struct xl_reader *r, const struct libxl_hdr *h,
                           const char *where)
{
    uint64_t ident = be64toh(h->ident);
    uint32_t version = ntohl(h->version), options = ntohl(h->options);
    if (ident != LIBXL_HDR_IDENT)
        return reject(r, -XEN_EINVAL, where, "bad ident %#llx (want %#llx "
                      "\"LibxlFmt\")", (unsigned long long)ident,
                      (unsigned long long)LIBXL_HDR_IDENT);
    if (version != LIBXL_HDR_VERSION)
        return reject(r, -XEN_EINVAL, where, "unsupported version %u (want %u)",
                      version, LIBXL_HDR_VERSION);
    if (options & LIBXL_HDR_OPT_BIG_ENDIAN)
        return reject(r, -XEN_EINVAL, where, "big-endian stream (options %#x)",
                      options);
    if (options & LIBXL_HDR_OPT_LEGACY)
        return reject(r, -XEN_EINVAL, where, "legacy (converted v1) stream "
                      "(options %#x)", options);
    if (options)
        return reject(r, -XEN_EINVAL, where, "reserved option bits %#x set",
                      options);
    return 0;
}

int xl_read_headers(struct xl_reader *r, char **config, size_t *len)
{
    char where[64];
    struct xl_hdr h;
    struct libxl_hdr lh;
    uint32_t config_len = 0;
    *config = NULL;
    *len = 0;
    if (r->failed)
        return -XEN_EINVAL;
    if (r->offset || r->next_index)
        return reject(r, -XEN_EINVAL, "xl header", "headers read twice");

    snprintf(where, sizeof(where), "xl header at offset %#llx",
             (unsigned long long)r->offset);
    int rc = read_part(r, &h, sizeof(h), where);
    if (rc || (rc = check_xl_hdr(r, &h, where)))
        return rc;
    if (h.optional_data_len) {
        snprintf(where, sizeof(where), "xl config length at offset %#llx",
                 (unsigned long long)r->offset);
        if ((rc = read_part(r, &config_len, sizeof(config_len), where)))
            return rc;
        if (config_len > h.optional_data_len - sizeof(uint32_t))
            return reject(r, -XEN_EINVAL, where, "config of %u bytes does not "
                          "fit the %u bytes of optional data", config_len,
                          h.optional_data_len);
    }
    char *cfg = malloc((size_t)config_len + 1);
    if (!cfg)
        return reject(r, -XEN_ENOMEM, "xl config", "no memory for %u bytes",
                      config_len);
    snprintf(where, sizeof(where), "xl config at offset %#llx",
             (unsigned long long)r->offset);
    if ((rc = read_part(r, cfg, config_len, where))) {
        free(cfg);
        return rc;
    }
    cfg[config_len] = '\0';
    /* X1: what xl puts after the config is skipped. */
    uint32_t rest = h.optional_data_len ? h.optional_data_len -
                    (uint32_t)sizeof(uint32_t) - config_len : 0;
    snprintf(where, sizeof(where), "xl optional data at offset %#llx",
             (unsigned long long)r->offset);
    while (rest) {
        char skip[256];
        uint32_t n = rest < sizeof(skip) ? rest : (uint32_t)sizeof(skip);
        if ((rc = read_part(r, skip, n, where))) {
            free(cfg);
            return rc;
        }
        rest -= n;
    }

    snprintf(where, sizeof(where), "libxl header at offset %#llx",
             (unsigned long long)r->offset);
    if ((rc = read_part(r, &lh, sizeof(lh), where)) ||
        (rc = check_libxl_hdr(r, &lh, where))) {
        free(cfg);
        return rc;
    }
    *config = cfg;
    *len = strlen(cfg);             /* without xl's NUL */
    return 0;
}

/* X3: the rule a record's length must meet, from its header alone. */
static const char *length_rule(uint32_t type, uint32_t length)
{
    switch (type) {
    case XL_REC_END:
    case XL_REC_LIBXC_CONTEXT:
    case XL_REC_CHECKPOINT_END:
        return length ? "must have length 0" : NULL;
    case XL_REC_EMULATOR_XENSTORE_DATA:
    case XL_REC_EMULATOR_CONTEXT:
        return length < sizeof(struct libxl_emu_hdr)
               ? "is shorter than its 8-byte emulator header" : NULL;
    case XL_REC_CHECKPOINT_STATE:
        return length ? NULL : "must not be empty";
    }
    return NULL;
}

/* Read body and padding into r->buf, growing it a piece at a time. */
static int read_body(struct xl_reader *r, size_t padded, const char *where)
{
    size_t have = 0;
    while (have < padded) {
        size_t want = padded - have < XL_READ_CHUNK ? padded - have
                                                     : XL_READ_CHUNK;
        if (have + want > r->cap) {
            uint8_t *nb = realloc(r->buf, have + want);
            if (!nb)
                return reject(r, -XEN_ENOMEM, where, "no memory for %zu bytes",
                              have + want);
            r->buf = nb;
            r->cap = have + want;
        }
        size_t got = 0;
        int rc = read_exact(r, r->buf + have, want, &got);
        if (rc < 0)
            return reject(r, rc, where, "read error %d", rc);
        have += got;
        if (rc)
            return reject(r, -XEN_EINVAL, where, "truncated: %zu of %zu body "
                          "and padding bytes", have, padded);
    }
    return 0;
}

/* X3: the body rules of EMULATOR_* records. */
static int check_emulator(struct xl_reader *r, struct xl_record *rec,
                          const char *where)
{
    struct libxl_emu_hdr eh;
    memcpy(&eh, rec->body, sizeof(eh));
    if (eh.id > XL_EMULATOR_ID_QEMU_UPSTREAM)
        return reject(r, -XEN_EINVAL, where, "unknown emulator id %#x", eh.id);
    rec->emu_id = eh.id;
    rec->emu_index = eh.index;
    rec->emu_data = rec->body + sizeof(eh);
    rec->emu_len = rec->length - sizeof(eh);
    if (rec->type != XL_REC_EMULATOR_XENSTORE_DATA || !rec->emu_len)
        return 0;
    if (rec->emu_data[rec->emu_len - 1])
        return reject(r, -XEN_EINVAL, where, "xenstore data not NUL-terminated");
    size_t strings = 0;
    for (size_t i = 0; i < rec->emu_len; i++)
        strings += rec->emu_data[i] == 0;
    if (strings % 2)
        return reject(r, -XEN_EINVAL, where, "xenstore data holds %zu strings, "
                      "not key/value pairs", strings);
    return 0;
}

int xl_read_record(struct xl_reader *r, struct xl_record *rec)
{
    char where[112];
    struct libxl_rhdr rh;
    size_t got = 0;
    uint64_t off = r->offset;
    unsigned index = r->next_index;
    if (r->failed)
        return -XEN_EINVAL;
    if (r->ended)
        return reject(r, -XEN_EINVAL, "libxl stream", "read past the END "
                      "record (offset %#llx)", (unsigned long long)off);
    if (!r->offset)
        return reject(r, -XEN_EINVAL, "libxl stream", "records read before "
                      "the headers");
    snprintf(where, sizeof(where), "libxl record %u at offset %#llx", index,
             (unsigned long long)off);
    int rc = read_exact(r, &rh, sizeof(rh), &got);
    if (rc < 0)
        return reject(r, rc, where, "read error %d", rc);
    if (rc && !got)
        return reject(r, -XEN_EINVAL, where, "stream ends with no END record");
    if (rc)
        return reject(r, -XEN_EINVAL, where, "truncated record header: %zu of "
                      "8 bytes", got);
    snprintf(where, sizeof(where), "libxl record %u (%s, type %#x) at offset "
             "%#llx", index, xl_rec_name(rh.type), rh.type,
             (unsigned long long)off);
    if (rh.type >= XL_REC_NR)
        return reject(r, -XEN_EINVAL, where, "unknown record type");
    if (rh.length > XL_REC_LENGTH_MAX)
        return reject(r, -XEN_EINVAL, where, "length %#x exceeds the maximum "
                      "%#x", rh.length, XL_REC_LENGTH_MAX);
    const char *bad = length_rule(rh.type, rh.length);
    if (bad)
        return reject(r, -XEN_EINVAL, where, "length %u: %s %s", rh.length,
                      xl_rec_name(rh.type), bad);
    size_t padded = padded_len(rh.length);
    if ((rc = read_body(r, padded, where)))
        return rc;
    for (size_t i = rh.length; i < padded; i++)
        if (r->buf[i])
            return reject(r, -XEN_EINVAL, where, "non-zero padding byte at "
                          "offset %#llx", (unsigned long long)
                          (off + sizeof(rh) + i));
    memset(rec, 0, sizeof(*rec));
    rec->index = index;
    rec->offset = off;
    rec->type = rh.type;
    rec->length = rh.length;
    rec->body = r->buf;
    if ((rh.type == XL_REC_EMULATOR_CONTEXT ||
         rh.type == XL_REC_EMULATOR_XENSTORE_DATA) &&
        (rc = check_emulator(r, rec, where)))
        return rc;
    r->next_index++;
    if (rh.type == XL_REC_END)
        r->ended = true;
    return 0;
}
