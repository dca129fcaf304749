/*
 * toolstack/stream.h - Xen's migration v2 stream (libxc format, version 3):
 * the byte layouts, a writer over a sink and a strict reader over a source.
 *
 * Rules:
 *   S1  Layout (docs/specs/libxc-migration-stream.pandoc, revision 3): an
 *       image header (24 bytes; marker, id, version and options big-endian),
 *       a domain header (16 bytes, native = little-endian), then records
 *       { u32 type; u32 length; body[length]; zero padding to 8 bytes }.
 *       The last record is END.  Bit 31 of a type marks it optional.
 *   S2  A record's length is at most STREAM_REC_LENGTH_MAX (128 MiB) before
 *       padding, as Xen's read_record() and write_split_record() insist.
 *   S3  PAGE_DATA: { u32 count; u32 reserved; u64 pfn[count]; pages }.  Each
 *       pfn word carries the XEN_DOMCTL_PFINFO_* type (<xen/domctl.h>, the
 *       32-bit value) shifted left by 32, i.e. in bits 63-60; bits 59-52 are
 *       reserved (zero); bits 51-0 are the pfn.  One 4 KiB page of data
 *       follows, in pfn order, for every pfn whose type carries data (NOTAB,
 *       L1-L4TAB, pinned or not); BROKEN, XALLOC and XTAB carry none.
 *   S4  The writer batches pages: at most STREAM_MAX_BATCH pfns a PAGE_DATA
 *       record; any other record first flushes the pending batch, so record
 *       order is call order.  Page data is not copied: each page passed to
 *       stream_write_page() must stay readable until the batch is flushed
 *       (the next non-page record, a full batch, or stream_write_flush()).
 *   S5  Errors are returned, never asserted: negative Xen errnos
 *       (-XEN_EINVAL bad argument, -XEN_E2BIG over S2, -XEN_ENOMEM, or what
 *       the sink returned).  The first error sticks: every later call on the
 *       writer returns it and writes nothing.  Nothing follows END.
 *   S6  The reader is total: for any bytes it returns a record or an error
 *       with a message naming what was wrong - "image header", "domain
 *       header" or "record N (NAME)" - and the stream byte offset.  What it
 *       rejects is listed in docs/stream.md (order rules included).
 */
#ifndef HVLAB_TOOLSTACK_STREAM_H
#define HVLAB_TOOLSTACK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/domctl.h>         /* XEN_DOMCTL_PFINFO_* (with __XEN_TOOLS__) */

/* ---- byte layouts (S1) ---------------------------------------------- */

#define STREAM_IHDR_MARKER      0xffffffffffffffffULL
#define STREAM_IHDR_ID          0x58454E46U     /* "XENF" */
#define STREAM_IHDR_VERSION     3U
#define STREAM_IHDR_OPT_BIG_ENDIAN  (1U << 0)

#define STREAM_DHDR_TYPE_X86_PV     1U
#define STREAM_DHDR_TYPE_X86_HVM    2U
#define STREAM_PAGE_SHIFT       12U
#define STREAM_PAGE_SIZE        (1U << STREAM_PAGE_SHIFT)

/* Image header: every multi-byte field is big-endian on the wire. */
struct stream_ihdr {
    uint64_t marker;
    uint32_t id;
    uint32_t version;
    uint16_t options;
    uint16_t reserved1;
    uint32_t reserved2;
};

/* Domain header: native (little-endian) like everything after it. */
struct stream_dhdr {
    uint32_t type;
    uint16_t page_shift;
    uint16_t reserved;
    uint32_t xen_major;
    uint32_t xen_minor;
};

struct stream_rhdr {
    uint32_t type;
    uint32_t length;
};

enum stream_rec_type {
    STREAM_REC_END                  = 0x00,
    STREAM_REC_PAGE_DATA            = 0x01,
    STREAM_REC_X86_PV_INFO          = 0x02,
    STREAM_REC_X86_PV_P2M_FRAMES    = 0x03,
    STREAM_REC_X86_PV_VCPU_BASIC    = 0x04,
    STREAM_REC_X86_PV_VCPU_EXTENDED = 0x05,
    STREAM_REC_X86_PV_VCPU_XSAVE    = 0x06,
    STREAM_REC_SHARED_INFO          = 0x07,
    STREAM_REC_X86_TSC_INFO         = 0x08,
    STREAM_REC_HVM_CONTEXT          = 0x09,
    STREAM_REC_HVM_PARAMS           = 0x0a,
    STREAM_REC_TOOLSTACK            = 0x0b,     /* deprecated: rejected */
    STREAM_REC_X86_PV_VCPU_MSRS     = 0x0c,
    STREAM_REC_VERIFY               = 0x0d,
    STREAM_REC_CHECKPOINT           = 0x0e,
    STREAM_REC_CHECKPOINT_DIRTY_PFN_LIST = 0x0f, /* back channel only */
    STREAM_REC_STATIC_DATA_END      = 0x10,
    STREAM_REC_X86_CPUID_POLICY     = 0x11,
    STREAM_REC_X86_MSR_POLICY       = 0x12,
    STREAM_REC_NR_KNOWN             = 0x13,
};
#define STREAM_REC_OPTIONAL     (1U << 31)
#define STREAM_REC_LENGTH_MAX   (1U << 27)      /* S2 */
#define STREAM_REC_ALIGN        8U
#define STREAM_MAX_BATCH        1024U           /* S4, libxc's MAX_BATCH_SIZE */

/* PAGE_DATA (S3). */
struct stream_page_data_hdr {
    uint32_t count;
    uint32_t reserved;
};
#define STREAM_PFN_MASK         ((1ULL << 52) - 1)
#define STREAM_PFN_RESERVED_MASK (((1ULL << 60) - 1) & ~STREAM_PFN_MASK)
#define STREAM_PFN_TYPE_MASK    (0xfULL << 60)

struct stream_x86_pv_info {
    uint8_t guest_width;        /* 4 or 8 */
    uint8_t pt_levels;          /* 3 or 4 */
    uint16_t reserved1;
    uint32_t reserved2;
};

struct stream_x86_pv_p2m_frames {
    uint32_t start_pfn;
    uint32_t end_pfn;
    /* uint64_t p2m_pfns[] follow */
};

/* Header of X86_PV_VCPU_{BASIC,EXTENDED,XSAVE,MSRS}; the context follows. */
struct stream_x86_pv_vcpu_hdr {
    uint32_t vcpu_id;
    uint32_t reserved;
};

struct stream_x86_tsc_info {
    uint32_t mode;
    uint32_t khz;
    uint64_t nsec;
    uint32_t incarnation;
    uint32_t reserved;
};

struct stream_hvm_params_entry {
    uint64_t index;
    uint64_t value;
};

struct stream_hvm_params {
    uint32_t count;
    uint32_t reserved;
    /* struct stream_hvm_params_entry param[count] follow */
};

/* X86_CPUID_POLICY is xen_cpuid_leaf_t[], X86_MSR_POLICY xen_msr_entry_t[]
 * (<xen/arch-x86/xen.h>), at least one entry each. */

_Static_assert(sizeof(struct stream_ihdr) == 24, "image header layout");
_Static_assert(sizeof(struct stream_dhdr) == 16, "domain header layout");
_Static_assert(sizeof(struct stream_rhdr) == 8, "record header layout");
_Static_assert(sizeof(struct stream_x86_pv_info) == 8, "X86_PV_INFO layout");
_Static_assert(sizeof(struct stream_x86_tsc_info) == 24, "X86_TSC_INFO layout");
_Static_assert(sizeof(struct stream_hvm_params_entry) == 16, "HVM_PARAMS entry");
_Static_assert(sizeof(xen_cpuid_leaf_t) == 24, "CPUID policy entry");
_Static_assert(sizeof(xen_msr_entry_t) == 16, "MSR policy entry");

/* "PAGE_DATA", ...; "unknown" for others (never NULL). */
const char *stream_rec_name(uint32_t type);
/* A 32-bit XEN_DOMCTL_PFINFO_* value: one a stream may carry / one with a
 * page of data (S3). */
bool stream_pfinfo_valid(uint32_t type);
bool stream_pfinfo_has_data(uint32_t type);

/* ---- writer ------------------------------------------------------------ */

/* A sink takes exactly len bytes; 0 or a negative Xen errno. */
typedef int (*stream_sink_fn)(void *ctx, const void *buf, size_t len);

int stream_sink_fd(void *ctx /* int * */, const void *buf, size_t len);
int stream_sink_file(void *ctx /* FILE * */, const void *buf, size_t len);

/* A growing memory buffer (free buf when done). */
struct stream_membuf {
    uint8_t *buf;
    size_t len, cap;
    size_t limit;               /* 0: none; else -XEN_ENOSPC past it */
};
int stream_sink_mem(void *ctx /* struct stream_membuf * */, const void *buf,
                    size_t len);

struct stream_writer {
    stream_sink_fn sink;
    void *ctx;
    uint32_t dom_type;
    int error;                  /* S5: first error, sticky */
    bool headers_done, ended;
    uint64_t offset;            /* bytes written */
    /* Per record type (index STREAM_REC_*; unknown types in [NR_KNOWN]):
     * records and bytes including record header and padding. */
    uint64_t rec_count[STREAM_REC_NR_KNOWN + 1];
    uint64_t rec_bytes[STREAM_REC_NR_KNOWN + 1];
    uint64_t pages_sent;        /* pages of data in PAGE_DATA records */
    /* The pending PAGE_DATA batch (S4). */
    unsigned batch_count;
    uint64_t batch_pfn[STREAM_MAX_BATCH];
    const void *batch_page[STREAM_MAX_BATCH];
};

void stream_writer_init(struct stream_writer *w, stream_sink_fn sink, void *ctx);
/* Image and domain headers: STREAM_DHDR_TYPE_X86_PV / _HVM. */
int stream_write_headers(struct stream_writer *w, uint32_t dom_type,
                         uint32_t xen_major, uint32_t xen_minor);
/* One record: hdr (hlen bytes) then body (blen bytes), padded (S1, S2). */
int stream_write_record(struct stream_writer *w, uint32_t type,
                        const void *hdr, size_t hlen,
                        const void *body, size_t blen);

/* Queue one pfn of a PAGE_DATA batch; data is NULL for types without. */
int stream_write_page(struct stream_writer *w, uint64_t pfn, uint32_t pfinfo,
                      const void *data);
int stream_write_flush(struct stream_writer *w);

int stream_write_end(struct stream_writer *w);
int stream_write_x86_pv_info(struct stream_writer *w, unsigned guest_width,
                             unsigned pt_levels);
int stream_write_x86_pv_p2m_frames(struct stream_writer *w, uint32_t start_pfn,
                                   uint32_t end_pfn, const uint64_t *p2m_pfns,
                                   size_t nr);
/* type: STREAM_REC_X86_PV_VCPU_BASIC / _EXTENDED / _XSAVE / _MSRS. */
int stream_write_x86_pv_vcpu(struct stream_writer *w, uint32_t type,
                             uint32_t vcpu_id, const void *ctxt, size_t len);
int stream_write_shared_info(struct stream_writer *w, const void *page);
int stream_write_x86_tsc_info(struct stream_writer *w, uint32_t mode,
                              uint32_t khz, uint64_t nsec, uint32_t incarnation);
int stream_write_hvm_context(struct stream_writer *w, const void *blob,
                             size_t len);
int stream_write_hvm_params(struct stream_writer *w,
                            const struct stream_hvm_params_entry *p, size_t nr);
int stream_write_verify(struct stream_writer *w);
int stream_write_checkpoint(struct stream_writer *w);
int stream_write_static_data_end(struct stream_writer *w);
int stream_write_x86_cpuid_policy(struct stream_writer *w,
                                  const xen_cpuid_leaf_t *l, size_t nr);
int stream_write_x86_msr_policy(struct stream_writer *w,
                                const xen_msr_entry_t *m, size_t nr);

/* ---- reader ------------------------------------------------------------ */

/* A source fills up to len bytes: the count read (0 at end of stream), or a
 * negative Xen errno. */
typedef long (*stream_source_fn)(void *ctx, void *buf, size_t len);

long stream_source_fd(void *ctx /* int * */, void *buf, size_t len);
long stream_source_file(void *ctx /* FILE * */, void *buf, size_t len);
struct stream_memsrc {
    const uint8_t *buf;
    size_t len, pos;
};
long stream_source_mem(void *ctx /* struct stream_memsrc * */, void *buf,
                       size_t len);

/* One decoded record; pointers are into the reader's buffer and valid until
 * the next stream_read_record(). */
struct stream_record {
    unsigned index;             /* 0 = first record after the headers */
    uint64_t offset;            /* of its record header */
    uint32_t type;
    uint32_t length;
    const uint8_t *body;
    union {
        struct { uint32_t count, nr_data; const uint64_t *pfn;
                 const uint8_t *data; } page_data;
        struct { unsigned guest_width, pt_levels; } pv_info;
        struct { uint32_t start_pfn, end_pfn; size_t nr;
                 const uint64_t *pfn; } p2m_frames;
        struct { uint32_t vcpu_id; size_t len; const uint8_t *ctxt; } vcpu;
        struct stream_x86_tsc_info tsc;
        struct { size_t nr; const struct stream_hvm_params_entry *p; } params;
        struct { size_t nr; const xen_cpuid_leaf_t *l; } cpuid;
        struct { size_t nr; const xen_msr_entry_t *m; } msr;
    } u;
};

struct stream_reader {
    stream_source_fn source;
    void *ctx;
    bool checkpointed;          /* accept CHECKPOINT (Remus/COLO streams) */
    bool allow_trailing;        /* bytes after END are not an error */
    /* From the headers. */
    uint32_t version, dom_type, xen_major, xen_minor;
    /* Progress and order state (docs/stream.md "order"). */
    bool headers_done, ended, failed;
    bool seen_static_data_end, seen_pv_info, seen_p2m_frames;
    unsigned guest_width;
    unsigned next_index;
    uint64_t offset;
    uint64_t skipped_optional;
    uint64_t rec_count[STREAM_REC_NR_KNOWN + 1];
    uint8_t *buf;
    size_t cap;
    char err[256];              /* the message of the last error */
};

void stream_reader_init(struct stream_reader *r, stream_source_fn source,
                        void *ctx);
void stream_reader_free(struct stream_reader *r);
/* 0, or a negative Xen errno with r->err set. */
int stream_read_headers(struct stream_reader *r);
/* 0 and *rec filled; 1 once END was read and the source is at its end (no
 * record); or a negative Xen errno with r->err set (and every later call
 * fails the same way).  Reads the headers first if not done yet; skips
 * unknown optional records. */
int stream_read_record(struct stream_reader *r, struct stream_record *rec);

#endif /* HVLAB_TOOLSTACK_STREAM_H */
