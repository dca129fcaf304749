/*
 * toolstack/stream_write.c - the migration v2 stream writer and sinks.
 *
 * Rules (numbers from toolstack/stream.h):
 *   S1  stream_write_record() is the one place that emits a record: header,
 *       body parts, zero padding, and the per-type counters.
 *   S2  A record over STREAM_REC_LENGTH_MAX is -XEN_E2BIG and writes nothing.
 *   S4  PAGE_DATA batches flush when full and before any other record.
 *   S5  w->error is set by fail() only; every entry point checks it first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolstack/stream.h"
#include "toolstack/pfinfo_type.h"

static const char *const rec_names[STREAM_REC_NR_KNOWN] = {
    [STREAM_REC_END]                  = "END",
    [STREAM_REC_PAGE_DATA]            = "PAGE_DATA",
    [STREAM_REC_X86_PV_INFO]          = "X86_PV_INFO",
    [STREAM_REC_X86_PV_P2M_FRAMES]    = "X86_PV_P2M_FRAMES",
    [STREAM_REC_X86_PV_VCPU_BASIC]    = "X86_PV_VCPU_BASIC",
    [STREAM_REC_X86_PV_VCPU_EXTENDED] = "X86_PV_VCPU_EXTENDED",
    [STREAM_REC_X86_PV_VCPU_XSAVE]    = "X86_PV_VCPU_XSAVE",
    [STREAM_REC_SHARED_INFO]          = "SHARED_INFO",
    [STREAM_REC_X86_TSC_INFO]         = "X86_TSC_INFO",
    [STREAM_REC_HVM_CONTEXT]          = "HVM_CONTEXT",
    [STREAM_REC_HVM_PARAMS]           = "HVM_PARAMS",
    [STREAM_REC_TOOLSTACK]            = "TOOLSTACK",
    [STREAM_REC_X86_PV_VCPU_MSRS]     = "X86_PV_VCPU_MSRS",
    [STREAM_REC_VERIFY]               = "VERIFY",
    [STREAM_REC_CHECKPOINT]           = "CHECKPOINT",
    [STREAM_REC_CHECKPOINT_DIRTY_PFN_LIST] = "CHECKPOINT_DIRTY_PFN_LIST",
    [STREAM_REC_STATIC_DATA_END]      = "STATIC_DATA_END",
    [STREAM_REC_X86_CPUID_POLICY]     = "X86_CPUID_POLICY",
    [STREAM_REC_X86_MSR_POLICY]       = "X86_MSR_POLICY",
};

const char *stream_rec_name(uint32_t type)
{
    if (type < STREAM_REC_NR_KNOWN)
        return rec_names[type];
    return (type & STREAM_REC_OPTIONAL) ? "unknown optional" : "unknown";
}

bool stream_pfinfo_valid(uint32_t type)
{
    return pfinfo_type_valid(type);
}

bool stream_pfinfo_has_data(uint32_t type)
{
    return stream_pfinfo_valid(type) && type != XEN_DOMCTL_PFINFO_BROKEN &&
           type != XEN_DOMCTL_PFINFO_XALLOC && type != XEN_DOMCTL_PFINFO_XTAB;
}

/* ---- sinks ------------------------------------------------------------- */

int stream_sink_fd(void *ctx, const void *buf, size_t len)
{
    int fd = *(int *)ctx;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -XEN_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int stream_sink_file(void *ctx, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, (FILE *)ctx) == len ? 0 : -XEN_EIO;
}

int stream_sink_mem(void *ctx, const void *buf, size_t len)
{
    struct stream_membuf *m = ctx;
    if (m->limit && len > m->limit - m->len)
        return -XEN_ENOSPC;
    if (len > m->cap - m->len) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap - m->len < len)
            cap *= 2;
        uint8_t *nb = realloc(m->buf, cap);
        if (!nb)
            return -XEN_ENOMEM;
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    return 0;
}

/* ---- writer core ------------------------------------------------------- */

static int fail(struct stream_writer *w, int rc)
{
    if (!w->error)
        w->error = rc;
    return w->error;
}

static int put(struct stream_writer *w, const void *buf, size_t len)
{
    if (!len)
        return 0;
    int rc = w->sink(w->ctx, buf, len);
    if (rc)
        return fail(w, rc < 0 ? rc : -XEN_EIO);
    w->offset += len;
    return 0;
}

void stream_writer_init(struct stream_writer *w, stream_sink_fn sink, void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->sink = sink;
    w->ctx = ctx;
}

int stream_write_headers(struct stream_writer *w, uint32_t dom_type,
                         uint32_t xen_major, uint32_t xen_minor)
{
    if (w->error)
        return w->error;
    if (w->headers_done ||
        (dom_type != STREAM_DHDR_TYPE_X86_PV && dom_type != STREAM_DHDR_TYPE_X86_HVM))
        return fail(w, -XEN_EINVAL);
    struct stream_ihdr ih = {
        .marker = STREAM_IHDR_MARKER,
        .id = htonl(STREAM_IHDR_ID),
        .version = htonl(STREAM_IHDR_VERSION),
        .options = htons(0),            /* little-endian stream */
    };
    struct stream_dhdr dh = {
        .type = dom_type, .page_shift = STREAM_PAGE_SHIFT,
        .xen_major = xen_major, .xen_minor = xen_minor,
    };
    int rc = put(w, &ih, sizeof(ih));
    if (!rc)
        rc = put(w, &dh, sizeof(dh));
    if (rc)
        return rc;
    w->dom_type = dom_type;
    w->headers_done = true;
    return 0;
}

static int flush_batch(struct stream_writer *w);

/* Emit one record made of up to three parts (S1, S2). */
static int emit(struct stream_writer *w, uint32_t type,
                const void *a, size_t alen, const void *b, size_t blen,
                const void *const *pages, unsigned npages)
{
    static const uint8_t zeroes[STREAM_REC_ALIGN];
    if (w->error)
        return w->error;
    if (!w->headers_done || w->ended)
        return fail(w, -XEN_EINVAL);
    if ((alen && !a) || (blen && !b))
        return fail(w, -XEN_EINVAL);
    uint64_t len = (uint64_t)alen + blen + (uint64_t)npages * STREAM_PAGE_SIZE;
    if (len > STREAM_REC_LENGTH_MAX)
        return fail(w, -XEN_E2BIG);
    size_t pad = (size_t)(-len & (STREAM_REC_ALIGN - 1));
    struct stream_rhdr rh = { .type = type, .length = (uint32_t)len };
    uint64_t start = w->offset;
    int rc = put(w, &rh, sizeof(rh));
    if (!rc) rc = put(w, a, alen);
    if (!rc) rc = put(w, b, blen);
    for (unsigned i = 0; !rc && i < npages; i++)
        rc = put(w, pages[i], STREAM_PAGE_SIZE);
    if (!rc) rc = put(w, zeroes, pad);
    if (rc)
        return rc;
    unsigned slot = type < STREAM_REC_NR_KNOWN ? type : STREAM_REC_NR_KNOWN;
    w->rec_count[slot]++;
    w->rec_bytes[slot] += w->offset - start;
    if (type == STREAM_REC_END)
        w->ended = true;
    return 0;
}

int stream_write_record(struct stream_writer *w, uint32_t type,
                        const void *hdr, size_t hlen,
                        const void *body, size_t blen)
{
    int rc = flush_batch(w);
    if (rc)
        return rc;
    return emit(w, type, hdr, hlen, body, blen, NULL, 0);
}

/* ---- PAGE_DATA batching (S3, S4) ------------------------------------ */

static int flush_batch(struct stream_writer *w)
{
    if (w->error)
        return w->error;
    if (!w->batch_count)
        return 0;
    struct stream_page_data_hdr ph = { .count = w->batch_count };
    unsigned npages = 0;
    const void *pages[STREAM_MAX_BATCH];
    for (unsigned i = 0; i < w->batch_count; i++)
        if (w->batch_page[i])
            pages[npages++] = w->batch_page[i];
    int rc = emit(w, STREAM_REC_PAGE_DATA, &ph, sizeof(ph), w->batch_pfn,
                  w->batch_count * sizeof(uint64_t), pages, npages);
    if (rc)
        return rc;
    w->pages_sent += npages;
    w->batch_count = 0;
    return 0;
}

int stream_write_flush(struct stream_writer *w)
{
    return flush_batch(w);
}

int stream_write_page(struct stream_writer *w, uint64_t pfn, uint32_t pfinfo,
                      const void *data)
{
    if (w->error)
        return w->error;
    if (!w->headers_done || w->ended || pfn > STREAM_PFN_MASK ||
        !stream_pfinfo_valid(pfinfo) ||
        (stream_pfinfo_has_data(pfinfo) != (data != NULL)))
        return fail(w, -XEN_EINVAL);
    w->batch_pfn[w->batch_count] = ((uint64_t)pfinfo << 32) | pfn;
    w->batch_page[w->batch_count] = data;
    if (++w->batch_count == STREAM_MAX_BATCH)
        return flush_batch(w);
    return 0;
}

/* ---- one function per record kind --------------------------------------- */

int stream_write_end(struct stream_writer *w)
{
    return stream_write_record(w, STREAM_REC_END, NULL, 0, NULL, 0);
}

int stream_write_x86_pv_info(struct stream_writer *w, unsigned guest_width,
                             unsigned pt_levels)
{
    if ((guest_width != 4 && guest_width != 8) || (pt_levels != 3 && pt_levels != 4))
        return fail(w, -XEN_EINVAL);
    struct stream_x86_pv_info pi = { .guest_width = (uint8_t)guest_width,
                                     .pt_levels = (uint8_t)pt_levels };
    return stream_write_record(w, STREAM_REC_X86_PV_INFO, &pi, sizeof(pi), NULL, 0);
}

int stream_write_x86_pv_p2m_frames(struct stream_writer *w, uint32_t start_pfn,
                                   uint32_t end_pfn, const uint64_t *p2m_pfns,
                                   size_t nr)
{
    if (start_pfn > end_pfn || nr > STREAM_REC_LENGTH_MAX / sizeof(uint64_t))
        return fail(w, -XEN_EINVAL);
    struct stream_x86_pv_p2m_frames pf = { .start_pfn = start_pfn,
                                           .end_pfn = end_pfn };
    return stream_write_record(w, STREAM_REC_X86_PV_P2M_FRAMES, &pf, sizeof(pf),
                               p2m_pfns, nr * sizeof(uint64_t));
}

int stream_write_x86_pv_vcpu(struct stream_writer *w, uint32_t type,
                             uint32_t vcpu_id, const void *ctxt, size_t len)
{
    if (type != STREAM_REC_X86_PV_VCPU_BASIC &&
        type != STREAM_REC_X86_PV_VCPU_EXTENDED &&
        type != STREAM_REC_X86_PV_VCPU_XSAVE &&
        type != STREAM_REC_X86_PV_VCPU_MSRS)
        return fail(w, -XEN_EINVAL);
    struct stream_x86_pv_vcpu_hdr vh = { .vcpu_id = vcpu_id };
    return stream_write_record(w, type, &vh, sizeof(vh), ctxt, len);
}

int stream_write_shared_info(struct stream_writer *w, const void *page)
{
    if (!page)
        return fail(w, -XEN_EINVAL);
    return stream_write_record(w, STREAM_REC_SHARED_INFO, page,
                               STREAM_PAGE_SIZE, NULL, 0);
}

int stream_write_x86_tsc_info(struct stream_writer *w, uint32_t mode,
                              uint32_t khz, uint64_t nsec, uint32_t incarnation)
{
    struct stream_x86_tsc_info ti = { .mode = mode, .khz = khz, .nsec = nsec,
                                      .incarnation = incarnation };
    return stream_write_record(w, STREAM_REC_X86_TSC_INFO, &ti, sizeof(ti), NULL, 0);
}

int stream_write_hvm_context(struct stream_writer *w, const void *blob,
                             size_t len)
{
    if (!len)
        return fail(w, -XEN_EINVAL);
    return stream_write_record(w, STREAM_REC_HVM_CONTEXT, blob, len, NULL, 0);
}

int stream_write_hvm_params(struct stream_writer *w,
                            const struct stream_hvm_params_entry *p, size_t nr)
{
    if (nr > STREAM_REC_LENGTH_MAX / sizeof(*p))
        return fail(w, -XEN_E2BIG);
    struct stream_hvm_params hp = { .count = (uint32_t)nr };
    return stream_write_record(w, STREAM_REC_HVM_PARAMS, &hp, sizeof(hp),
                               p, nr * sizeof(*p));
}

int stream_write_verify(struct stream_writer *w)
{
    return stream_write_record(w, STREAM_REC_VERIFY, NULL, 0, NULL, 0);
}

int stream_write_checkpoint(struct stream_writer *w)
{
    return stream_write_record(w, STREAM_REC_CHECKPOINT, NULL, 0, NULL, 0);
}

int stream_write_static_data_end(struct stream_writer *w)
{
    return stream_write_record(w, STREAM_REC_STATIC_DATA_END, NULL, 0, NULL, 0);
}

int stream_write_x86_cpuid_policy(struct stream_writer *w,
                                  const xen_cpuid_leaf_t *l, size_t nr)
{
    if (!nr || nr > STREAM_REC_LENGTH_MAX / sizeof(*l))
        return fail(w, -XEN_EINVAL);
    return stream_write_record(w, STREAM_REC_X86_CPUID_POLICY, l,
                               nr * sizeof(*l), NULL, 0);
}

int stream_write_x86_msr_policy(struct stream_writer *w,
                                const xen_msr_entry_t *m, size_t nr)
{
    if (!nr || nr > STREAM_REC_LENGTH_MAX / sizeof(*m))
        return fail(w, -XEN_EINVAL);
    return stream_write_record(w, STREAM_REC_X86_MSR_POLICY, m,
                               nr * sizeof(*m), NULL, 0);
}
