/*
 * toolstack/image.c - memory images: writer, strict reader, compare.
 *
 * Rules I1-I6 are in toolstack/image.h; the byte layout is docs/image.md.
 * No core/ include here (analysis/ may link this file): only libc, Xen's
 * public headers and xxhash.h, inlined.
 *
 * Layout of this file: byte helpers, writer, reader, compare.
 */
#include "toolstack/image.h"
#include "toolstack/pfinfo_type.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Header field offsets (docs/image.md). */
enum {
    H_MAGIC = 0, H_VERSION = 8, H_HDR_SIZE = 12, H_FLAGS = 16,
    H_PAGE_SIZE = 20, H_HOST_ID = 24, H_DOMID = 28, H_KIND = 32,
    H_MOMENT = 36, H_HASH_ALG = 40, H_RESERVED = 44, H_NR_PAGES = 48,
    H_LABEL = 56, H_HDR_HASH = 120,
};
/* Record head and footer offsets. */
enum { R_PFN = 0, R_TYPE = 8, R_FLAGS = 12, R_HASH = 16 };
enum { F_MAGIC = 0, F_NR_PAGES = 8, F_HEADS_HASH = 16 };

/* Largest pfn: 52 bits, as in Xen's migration stream pfn words. */
#define IMAGE_PFN_MAX   ((1ULL << 52) - 1)

/* ---- byte helpers ---------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static const uint8_t zero_page[IMAGE_PAGE_SIZE];

uint64_t image_page_hash(const void *data)
{
    return XXH3_64bits(data, IMAGE_PAGE_SIZE);
}

bool image_type_valid(uint32_t type)
{
    return pfinfo_type_valid(type);
}

const char *image_moment_name(uint32_t moment)
{
    switch (moment) {
    case IMAGE_MOMENT_OTHER:         return "other";
    case IMAGE_MOMENT_SOURCE_PAUSE:  return "source-at-pause";
    case IMAGE_MOMENT_SOURCE_FINAL:  return "source-final";
    case IMAGE_MOMENT_DEST_RESTORED: return "destination-restored";
    default:                         return "?";
    }
}

static bool label_valid(const char *label)
{
    return memchr(label, '\0', IMAGE_LABEL_LEN) != NULL;
}

static void encode_header(uint8_t *b, const struct image_header *h)
{
    memset(b, 0, IMAGE_HDR_SIZE);
    memcpy(b + H_MAGIC, IMAGE_MAGIC, 8);
    put32(b + H_VERSION, IMAGE_VERSION);
    put32(b + H_HDR_SIZE, IMAGE_HDR_SIZE);
    put32(b + H_FLAGS, h->flags);
    put32(b + H_PAGE_SIZE, IMAGE_PAGE_SIZE);
    put32(b + H_HOST_ID, h->host_id);
    put32(b + H_DOMID, h->domid);
    put32(b + H_KIND, h->kind);
    put32(b + H_MOMENT, h->moment);
    put32(b + H_HASH_ALG, IMAGE_HASH_XXH3_64);
    put64(b + H_NR_PAGES, h->nr_pages);
    size_t n = strnlen(h->label, IMAGE_LABEL_LEN);
    memcpy(b + H_LABEL, h->label, n);       /* rest stays NUL (label_valid) */
    put64(b + H_HDR_HASH, XXH3_64bits(b, H_HDR_HASH));
}

/* ---- writer ---------------------------------------------------------- */

struct image_writer {
    FILE *f;
    struct image_header hdr;
    uint64_t written;               /* records so far */
    uint64_t last_pfn;              /* valid when written > 0 */
    XXH3_state_t *heads;            /* I3: hash over record heads */
    int error;                      /* I5: first error, sticky */
};

static bool kind_valid(uint32_t k)
{
    return k == IMAGE_KIND_PV || k == IMAGE_KIND_HVM;
}

static bool moment_valid(uint32_t m)
{
    return m <= IMAGE_MOMENT_DEST_RESTORED;
}

int image_writer_open(FILE *f, const struct image_header *hdr,
                      struct image_writer **out)
{
    *out = NULL;
    if (!f || !hdr || (hdr->flags & ~IMAGE_F_KNOWN) || !kind_valid(hdr->kind) ||
        !moment_valid(hdr->moment) || !label_valid(hdr->label) ||
        (hdr->moment == IMAGE_MOMENT_OTHER && hdr->label[0] == '\0'))
        return -XEN_EINVAL;
    struct image_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -XEN_ENOMEM;
    w->heads = XXH3_createState();
    if (!w->heads) {
        free(w);
        return -XEN_ENOMEM;
    }
    XXH3_64bits_reset(w->heads);
    w->f = f;
    w->hdr = *hdr;
    w->hdr.version = IMAGE_VERSION;
    w->hdr.page_size = IMAGE_PAGE_SIZE;
    w->hdr.hash_alg = IMAGE_HASH_XXH3_64;

    uint8_t b[IMAGE_HDR_SIZE];
    encode_header(b, &w->hdr);
    if (fwrite(b, 1, sizeof(b), f) != sizeof(b)) {
        image_writer_abort(w);
        return -XEN_EIO;
    }
    *out = w;
    return 0;
}

int image_add_page(struct image_writer *w, uint64_t pfn, uint32_t type,
                   const void *data)
{
    if (w->error)
        return w->error;
    if ((w->written && pfn <= w->last_pfn) || pfn > IMAGE_PFN_MAX ||
        !image_type_valid(type) || w->written >= w->hdr.nr_pages)
        return -XEN_EINVAL;         /* caller's mistake: not sticky */

    uint8_t head[IMAGE_REC_HEAD_SIZE];
    uint32_t flags = data ? 0 : IMAGE_PAGE_NODATA;
    put64(head + R_PFN, pfn);
    put32(head + R_TYPE, type);
    put32(head + R_FLAGS, flags);
    put64(head + R_HASH, data ? image_page_hash(data) : 0);
    XXH3_64bits_update(w->heads, head, sizeof(head));
    if (fwrite(head, 1, sizeof(head), w->f) != sizeof(head) ||
        (!(w->hdr.flags & IMAGE_F_HASH_ONLY) &&
         fwrite(data ? data : zero_page, 1, IMAGE_PAGE_SIZE, w->f) !=
             IMAGE_PAGE_SIZE))
        return w->error = -XEN_EIO;
    w->written++;
    w->last_pfn = pfn;
    return 0;
}

int image_writer_finish(struct image_writer *w)
{
    int rc = w->error;
    if (!rc && w->written != w->hdr.nr_pages)
        rc = -XEN_EINVAL;           /* I4 */
    if (!rc) {
        uint8_t foot[IMAGE_FOOTER_SIZE];
        memcpy(foot + F_MAGIC, IMAGE_FOOTER_MAGIC, 8);
        put64(foot + F_NR_PAGES, w->written);
        put64(foot + F_HEADS_HASH, XXH3_64bits_digest(w->heads));
        if (fwrite(foot, 1, sizeof(foot), w->f) != sizeof(foot) ||
            fflush(w->f) != 0)
            rc = -XEN_EIO;
    }
    image_writer_abort(w);
    return rc;
}

void image_writer_abort(struct image_writer *w)
{
    if (!w)
        return;
    XXH3_freeState(w->heads);
    free(w);
}

/* ---- reader ---------------------------------------------------------- */

#define RBUF_SIZE   (1U << 20)

enum reader_state { RS_RECORDS, RS_DONE, RS_FAILED, RS_RANDOM };

struct image_reader {
    FILE *f;
    const char *name;
    struct image_header hdr;
    uint32_t rec_size;              /* I1 */
    enum reader_state state;
    uint64_t read;                  /* records so far */
    uint64_t last_pfn;
    XXH3_state_t *heads;
    uint8_t *buf;                   /* buf[pos, len) is unread file data */
    size_t pos, len;
    uint64_t buf_off;               /* file offset of buf[0] */
    int error;
    char msg[256];
};

static int fail(struct image_reader *r, uint64_t off, int err,
                const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct image_reader *r, uint64_t off, int err,
                const char *fmt, ...)
{
    if (r->state == RS_FAILED)
        return r->error;
    char what[180];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(r->msg, sizeof(r->msg), "%s: offset %llu: %s", r->name,
             (unsigned long long)off, what);
    r->state = RS_FAILED;
    r->error = err;
    return err;
}

static uint64_t cur_off(const struct image_reader *r)
{
    return r->buf_off + r->pos;
}

/*
 * Make n bytes available at buf + pos.  Returns how many are (n, or fewer
 * at end of file); -XEN_EIO on a read error.
 */
static long ensure(struct image_reader *r, size_t n)
{
    if (r->len - r->pos >= n)
        return (long)n;
    size_t have = r->len - r->pos;
    memmove(r->buf, r->buf + r->pos, have);
    r->buf_off += r->pos;
    r->pos = 0;
    r->len = have;
    while (r->len < n) {
        size_t got = fread(r->buf + r->len, 1, RBUF_SIZE - r->len, r->f);
        r->len += got;
        if (got == 0) {
            if (ferror(r->f))
                return -XEN_EIO;
            break;
        }
    }
    return (long)(r->len < n ? r->len : n);
}

int image_reader_open(FILE *f, const char *name, struct image_reader **out)
{
    struct image_reader *r = calloc(1, sizeof(*r));
    *out = r;
    if (!r)
        return -XEN_ENOMEM;
    r->f = f;
    r->name = name ? name : "(image)";
    r->buf = malloc(RBUF_SIZE);
    r->heads = XXH3_createState();
    if (!r->buf || !r->heads)
        return fail(r, 0, -XEN_ENOMEM, "out of memory");
    XXH3_64bits_reset(r->heads);

    long n = ensure(r, IMAGE_HDR_SIZE);
    if (n < 0)
        return fail(r, 0, -XEN_EIO, "read error");
    const uint8_t *b = r->buf;
    if (n < 8 || memcmp(b + H_MAGIC, IMAGE_MAGIC, 8) != 0)
        return fail(r, 0, -XEN_EINVAL, "bad magic (not a memory image)");
    if (n < H_HDR_SIZE + 4)
        return fail(r, n, -XEN_EINVAL, "truncated header (%ld of %u bytes)",
                    n, IMAGE_HDR_SIZE);
    uint32_t ver = get32(b + H_VERSION);
    if (ver != IMAGE_VERSION)
        return fail(r, H_VERSION, -XEN_EINVAL,
                    "unsupported version %u (this reader knows %u)", ver,
                    IMAGE_VERSION);
    if (get32(b + H_HDR_SIZE) != IMAGE_HDR_SIZE)
        return fail(r, H_HDR_SIZE, -XEN_EINVAL,
                    "header size %u, expected %u", get32(b + H_HDR_SIZE),
                    IMAGE_HDR_SIZE);
    if (n < IMAGE_HDR_SIZE)
        return fail(r, n, -XEN_EINVAL, "truncated header (%ld of %u bytes)",
                    n, IMAGE_HDR_SIZE);
    uint64_t hh = XXH3_64bits(b, H_HDR_HASH);
    if (get64(b + H_HDR_HASH) != hh)
        return fail(r, H_HDR_HASH, -XEN_EINVAL,
                    "header hash %#llx does not match the header (%#llx)",
                    (unsigned long long)get64(b + H_HDR_HASH),
                    (unsigned long long)hh);

    struct image_header *h = &r->hdr;
    h->version = ver;
    h->flags = get32(b + H_FLAGS);
    h->page_size = get32(b + H_PAGE_SIZE);
    h->host_id = get32(b + H_HOST_ID);
    h->domid = get32(b + H_DOMID);
    h->kind = get32(b + H_KIND);
    h->moment = get32(b + H_MOMENT);
    h->hash_alg = get32(b + H_HASH_ALG);
    h->nr_pages = get64(b + H_NR_PAGES);
    memcpy(h->label, b + H_LABEL, IMAGE_LABEL_LEN);

    if (h->flags & ~IMAGE_F_KNOWN)
        return fail(r, H_FLAGS, -XEN_EINVAL, "unknown flags %#x", h->flags);
    if (h->page_size != IMAGE_PAGE_SIZE)
        return fail(r, H_PAGE_SIZE, -XEN_EINVAL, "page size %u, expected %u",
                    h->page_size, IMAGE_PAGE_SIZE);
    if (!kind_valid(h->kind))
        return fail(r, H_KIND, -XEN_EINVAL, "domain kind %u is neither PV "
                    "(%u) nor HVM (%u)", h->kind, IMAGE_KIND_PV,
                    IMAGE_KIND_HVM);
    if (!moment_valid(h->moment))
        return fail(r, H_MOMENT, -XEN_EINVAL, "unknown moment %u", h->moment);
    if (h->hash_alg != IMAGE_HASH_XXH3_64)
        return fail(r, H_HASH_ALG, -XEN_EINVAL, "unknown hash algorithm %u",
                    h->hash_alg);
    if (get32(b + H_RESERVED) != 0)
        return fail(r, H_RESERVED, -XEN_EINVAL, "reserved field not zero");
    if (!label_valid(h->label))
        return fail(r, H_LABEL, -XEN_EINVAL, "label not NUL-terminated");
    for (size_t i = strlen(h->label); i < IMAGE_LABEL_LEN; i++)
        if (h->label[i])
            return fail(r, H_LABEL + i, -XEN_EINVAL,
                        "label padding not NUL");
    if (h->moment == IMAGE_MOMENT_OTHER && h->label[0] == '\0')
        return fail(r, H_LABEL, -XEN_EINVAL,
                    "moment \"other\" without a label");
    if (h->nr_pages > IMAGE_PFN_MAX + 1)
        return fail(r, H_NR_PAGES, -XEN_EINVAL, "%llu pages is more than "
                    "any pfn space", (unsigned long long)h->nr_pages);

    r->rec_size = IMAGE_REC_HEAD_SIZE +
                  ((h->flags & IMAGE_F_HASH_ONLY) ? 0 : IMAGE_PAGE_SIZE);
    r->pos = IMAGE_HDR_SIZE;
    r->state = RS_RECORDS;
    return 0;
}

const struct image_header *image_reader_header(const struct image_reader *r)
{
    return &r->hdr;
}

const char *image_reader_error(const struct image_reader *r)
{
    return r->msg;
}

void image_reader_close(struct image_reader *r)
{
    if (!r)
        return;
    XXH3_freeState(r->heads);
    free(r->buf);
    free(r);
}

/* Decode and check one record at buf + pos (rec_size bytes available). */
static int decode_record(struct image_reader *r, struct image_page *pg)
{
    const uint8_t *p = r->buf + r->pos;
    uint64_t off = cur_off(r);
    pg->offset = off;
    pg->pfn = get64(p + R_PFN);
    pg->type = get32(p + R_TYPE);
    pg->flags = get32(p + R_FLAGS);
    pg->hash = get64(p + R_HASH);
    pg->data = NULL;
    if (pg->pfn > IMAGE_PFN_MAX)
        return fail(r, off + R_PFN, -XEN_EINVAL, "record %llu: pfn %#llx "
                    "beyond 52 bits", (unsigned long long)r->read,
                    (unsigned long long)pg->pfn);
    if (!image_type_valid(pg->type))
        return fail(r, off + R_TYPE, -XEN_EINVAL, "record %llu (pfn %#llx): "
                    "type %#x is no XEN_DOMCTL_PFINFO_* value",
                    (unsigned long long)r->read, (unsigned long long)pg->pfn,
                    pg->type);
    if (pg->flags & ~IMAGE_PAGE_KNOWN)
        return fail(r, off + R_FLAGS, -XEN_EINVAL, "record %llu (pfn %#llx): "
                    "unknown record flags %#x", (unsigned long long)r->read,
                    (unsigned long long)pg->pfn, pg->flags);
    bool nodata = pg->flags & IMAGE_PAGE_NODATA;
    if (nodata && pg->hash != 0)
        return fail(r, off + R_HASH, -XEN_EINVAL, "record %llu (pfn %#llx): "
                    "no-data page with hash %#llx (must be 0)",
                    (unsigned long long)r->read, (unsigned long long)pg->pfn,
                    (unsigned long long)pg->hash);
    if (!(r->hdr.flags & IMAGE_F_HASH_ONLY)) {
        const uint8_t *d = p + IMAGE_REC_HEAD_SIZE;
        if (nodata) {
            if (memcmp(d, zero_page, IMAGE_PAGE_SIZE) != 0)
                return fail(r, off + IMAGE_REC_HEAD_SIZE, -XEN_EINVAL,
                            "record %llu (pfn %#llx): no-data page with "
                            "non-zero content", (unsigned long long)r->read,
                            (unsigned long long)pg->pfn);
        } else {
            uint64_t h = image_page_hash(d);
            if (h != pg->hash)
                return fail(r, off + R_HASH, -XEN_EINVAL, "record %llu "
                            "(pfn %#llx): hash %#llx does not match the "
                            "content (%#llx)", (unsigned long long)r->read,
                            (unsigned long long)pg->pfn,
                            (unsigned long long)pg->hash,
                            (unsigned long long)h);
            pg->data = d;
        }
    }
    return 0;
}

static int read_footer(struct image_reader *r)
{
    uint64_t off = cur_off(r);
    long n = ensure(r, IMAGE_FOOTER_SIZE);
    if (n < 0)
        return fail(r, off, -XEN_EIO, "read error");
    if (n < IMAGE_FOOTER_SIZE)
        return fail(r, off + n, -XEN_EINVAL, "truncated: footer has %ld of "
                    "%u bytes", n, IMAGE_FOOTER_SIZE);
    const uint8_t *p = r->buf + r->pos;
    if (memcmp(p + F_MAGIC, IMAGE_FOOTER_MAGIC, 8) != 0)
        return fail(r, off, -XEN_EINVAL, "bad footer magic after %llu "
                    "records (more records than the header's nr_pages?)",
                    (unsigned long long)r->read);
    if (get64(p + F_NR_PAGES) != r->read)
        return fail(r, off + F_NR_PAGES, -XEN_EINVAL, "footer counts %llu "
                    "pages, the file has %llu",
                    (unsigned long long)get64(p + F_NR_PAGES),
                    (unsigned long long)r->read);
    uint64_t hh = XXH3_64bits_digest(r->heads);
    if (get64(p + F_HEADS_HASH) != hh)
        return fail(r, off + F_HEADS_HASH, -XEN_EINVAL, "footer hash %#llx "
                    "does not match the record heads (%#llx)",
                    (unsigned long long)get64(p + F_HEADS_HASH),
                    (unsigned long long)hh);
    r->pos += IMAGE_FOOTER_SIZE;
    n = ensure(r, 1);
    if (n < 0)
        return fail(r, cur_off(r), -XEN_EIO, "read error");
    if (n > 0)
        return fail(r, cur_off(r), -XEN_EINVAL, "trailing bytes after the "
                    "footer");
    r->state = RS_DONE;
    return 0;
}

int image_read_page(struct image_reader *r, struct image_page *pg)
{
    switch (r->state) {
    case RS_DONE:
        return 0;
    case RS_FAILED:
        return r->error;
    case RS_RANDOM:
        return -XEN_EINVAL;
    case RS_RECORDS:
        break;
    }
    if (r->read == r->hdr.nr_pages)
        return read_footer(r);

    uint64_t off = cur_off(r);
    long n = ensure(r, r->rec_size);
    if (n < 0)
        return fail(r, off, -XEN_EIO, "read error");
    if ((size_t)n < r->rec_size)
        return fail(r, off + n, -XEN_EINVAL, "truncated: record %llu of %llu "
                    "has %ld of %u bytes", (unsigned long long)r->read,
                    (unsigned long long)r->hdr.nr_pages, n, r->rec_size);
    int rc = decode_record(r, pg);
    if (rc)
        return rc;
    if (r->read && pg->pfn <= r->last_pfn)
        return fail(r, off + R_PFN, -XEN_EINVAL, "record %llu: pfn %#llx "
                    "%s pfn %#llx of the record before",
                    (unsigned long long)r->read, (unsigned long long)pg->pfn,
                    pg->pfn == r->last_pfn ? "duplicates" : "is below",
                    (unsigned long long)r->last_pfn);
    XXH3_64bits_update(r->heads, r->buf + r->pos, IMAGE_REC_HEAD_SIZE);
    r->pos += r->rec_size;
    r->read++;
    r->last_pfn = pg->pfn;
    return 1;
}

/* Read record i at its fixed place (I1). */
static int read_record_at(struct image_reader *r, uint64_t i,
                          struct image_page *pg)
{
    uint64_t off = IMAGE_HDR_SIZE + i * r->rec_size;
    if (fseeko(r->f, (off_t)off, SEEK_SET) != 0)
        return fail(r, off, -XEN_EIO, "cannot seek (not a seekable file?)");
    r->buf_off = off;
    r->pos = r->len = 0;
    long n = ensure(r, r->rec_size);
    if (n < 0)
        return fail(r, off, -XEN_EIO, "read error");
    if ((size_t)n < r->rec_size)
        return fail(r, off + n, -XEN_EINVAL, "truncated: record %llu has "
                    "%ld of %u bytes", (unsigned long long)i, n, r->rec_size);
    uint64_t saved = r->read;
    r->read = i;                    /* for messages */
    int rc = decode_record(r, pg);
    r->read = saved;
    return rc;
}

int image_reader_find(struct image_reader *r, uint64_t pfn,
                      struct image_page *pg)
{
    if (r->state == RS_FAILED)
        return r->error;
    r->state = RS_RANDOM;
    uint64_t lo = 0, hi = r->hdr.nr_pages;     /* search [lo, hi) */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int rc = read_record_at(r, mid, pg);
        if (rc)
            return rc;
        if (pg->pfn == pfn)
            return 1;
        if (pg->pfn < pfn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- compare (I6) ---------------------------------------------------- */

static void byte_diff(const uint8_t *a, const uint8_t *b,
                      struct image_diff *d)
{
    uint32_t first = 0, last = 0, count = 0;
    for (uint32_t i = 0; i < IMAGE_PAGE_SIZE; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x == y)
            continue;
        for (uint32_t j = i; j < i + 8; j++) {
            if (a[j] == b[j])
                continue;
            if (!count)
                first = j;
            last = j;
            count++;
        }
    }
    d->bytes_known = true;
    d->first = first;
    d->last = last;
    d->count = count;
}

long image_compare(struct image_reader *a, struct image_reader *b,
                   image_diff_fn fn, void *ctx,
                   struct image_compare_stats *stats)
{
    struct image_compare_stats st = { 0 };
    struct image_page pa, pb;
    int ra = image_read_page(a, &pa);
    int rb = image_read_page(b, &pb);
    long differing = 0;

    for (;;) {
        if (ra < 0)
            return ra;
        if (rb < 0)
            return rb;
        if (ra == 0 && rb == 0)
            break;
        struct image_diff d = { 0 };
        bool adv_a = false, adv_b = false;
        if (rb == 0 || (ra == 1 && pa.pfn < pb.pfn)) {
            d.pfn = pa.pfn;
            d.what = IMAGE_DIFF_ONLY_A;
            d.type_a = pa.type;
            d.hash_a = pa.hash;
            adv_a = true;
        } else if (ra == 0 || pb.pfn < pa.pfn) {
            d.pfn = pb.pfn;
            d.what = IMAGE_DIFF_ONLY_B;
            d.type_b = pb.type;
            d.hash_b = pb.hash;
            adv_b = true;
        } else {
            d.pfn = pa.pfn;
            d.type_a = pa.type;
            d.type_b = pb.type;
            d.hash_a = pa.hash;
            d.hash_b = pb.hash;
            if (pa.type != pb.type)
                d.what |= IMAGE_DIFF_TYPE;
            if (pa.hash != pb.hash ||
                (pa.flags & IMAGE_PAGE_NODATA) != (pb.flags & IMAGE_PAGE_NODATA)) {
                d.what |= IMAGE_DIFF_CONTENT;
                if (pa.data && pb.data) {
                    byte_diff(pa.data, pb.data, &d);
                    st.byte_diffed++;
                }
            }
            adv_a = adv_b = true;
        }
        if (adv_a)
            st.pages_a++;
        if (adv_b)
            st.pages_b++;
        if (d.what) {
            differing++;
            st.differing++;
            if (fn) {
                int rc = fn(&d, ctx);
                if (rc) {
                    if (stats)
                        *stats = st;
                    return rc < 0 ? rc : -XEN_EINVAL;
                }
            }
        } else {
            st.same++;
        }
        if (adv_a)
            ra = image_read_page(a, &pa);
        if (adv_b)
            rb = image_read_page(b, &pb);
    }
    if (stats)
        *stats = st;
    return differing;
}
