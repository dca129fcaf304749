/*
 * toolstack/image.h - memory images for migration analysis: a documented
 * file format (docs/image.md), a writer, a strict reader and a compare.
 *
 * An image is a domain's memory at one moment (the source at pause, the
 * source after the final round, the destination after restore, or another
 * moment named by a label): per page its pfn, its XEN_DOMCTL_PFINFO_* type
 * as getpageframeinfo3 reports it, an XXH3-64 hash of its 4 KiB and,
 * unless the image is hash-only, the 4 KiB themselves.
 *
 * This file and image.c include nothing of core/: analysis/ (which links
 * nothing of core/, DESIGN.md) may link image.c as it stands.  They need
 * only libc, Xen's public headers and xxhash.h (inlined, no library).
 *
 * Rules:
 *   I1  Layout (all integers little-endian): a 128-byte header, nr_pages
 *       page records of one fixed size (24 bytes, plus 4096 bytes of
 *       content unless IMAGE_F_HASH_ONLY), a 24-byte footer.  Record i
 *       starts at IMAGE_HDR_SIZE + i * record size, so a reader can
 *       binary-search a pfn (image_reader_find) without an index.
 *   I2  Records are in strictly increasing pfn order (no duplicates).
 *   I3  Hashes: the header carries XXH3-64 of its first 120 bytes; each
 *       record the XXH3-64 of its 4096 content bytes (0 and all-zero
 *       content for IMAGE_PAGE_NODATA pages); the footer XXH3-64 over the
 *       24-byte record heads in order.  So every single flipped bit in a
 *       file is caught by some check.
 *   I4  The header declares nr_pages; the writer refuses to finish with
 *       another count, the reader insists on exactly that many records and
 *       then the footer, then end of file.
 *   I5  Errors are negative Xen errnos; the first writer error sticks.  The
 *       reader is total: on any bytes it returns pages or an error, and its
 *       message (image_reader_error) reads "FILE: offset N: what".
 *   I6  image_compare walks two images in pfn order and reports each pfn
 *       that differs once: present in one only, type differs, content
 *       differs.  Hashes decide first; bytes are compared only where the
 *       hashes differ and both images carry content.
 */
#ifndef HVLAB_TOOLSTACK_IMAGE_H
#define HVLAB_TOOLSTACK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/domctl.h>         /* XEN_DOMCTL_PFINFO_* (with __XEN_TOOLS__) */

/* ---- byte layout (I1) ------------------------------------------------ */

#define IMAGE_MAGIC             "HVLMIMG\n"     /* 8 bytes at offset 0 */
#define IMAGE_FOOTER_MAGIC      "HVLMEND\n"
#define IMAGE_VERSION           1U
#define IMAGE_HDR_SIZE          128U
#define IMAGE_REC_HEAD_SIZE     24U
#define IMAGE_FOOTER_SIZE       24U
#define IMAGE_PAGE_SIZE         4096U
#define IMAGE_LABEL_LEN         64U             /* NUL-padded, NUL-terminated */
#define IMAGE_HASH_XXH3_64      1U

/* Header flags */
#define IMAGE_F_HASH_ONLY       (1U << 0)       /* records carry no content */
#define IMAGE_F_KNOWN           (IMAGE_F_HASH_ONLY)

/* Record flags */
#define IMAGE_PAGE_NODATA       (1U << 0)       /* XTAB/BROKEN etc.: no content */
#define IMAGE_PAGE_KNOWN        (IMAGE_PAGE_NODATA)

enum image_kind { IMAGE_KIND_PV = 1, IMAGE_KIND_HVM = 2 };

enum image_moment {
    IMAGE_MOMENT_OTHER = 0,             /* the label says which */
    IMAGE_MOMENT_SOURCE_PAUSE = 1,
    IMAGE_MOMENT_SOURCE_FINAL = 2,
    IMAGE_MOMENT_DEST_RESTORED = 3,
};

/* The header, decoded. */
struct image_header {
    uint32_t version;                   /* IMAGE_VERSION */
    uint32_t flags;                     /* IMAGE_F_* */
    uint32_t page_size;                 /* IMAGE_PAGE_SIZE */
    uint32_t host_id;
    uint32_t domid;
    uint32_t kind;                      /* enum image_kind */
    uint32_t moment;                    /* enum image_moment */
    uint32_t hash_alg;                  /* IMAGE_HASH_XXH3_64 */
    uint64_t nr_pages;
    char label[IMAGE_LABEL_LEN];
};

/* One page as read. */
struct image_page {
    uint64_t pfn;
    uint32_t type;                      /* XEN_DOMCTL_PFINFO_* */
    uint32_t flags;                     /* IMAGE_PAGE_* */
    uint64_t hash;
    const uint8_t *data;                /* NULL in hash-only images and for
                                           NODATA pages; valid until the next
                                           read on the same reader */
    uint64_t offset;                    /* byte offset of the record */
};

/* XXH3-64 of one page, as images store it. */
uint64_t image_page_hash(const void *data);

/* True for a type getpageframeinfo3 can report. */
bool image_type_valid(uint32_t type);

const char *image_moment_name(uint32_t moment);

/* ---- writer ---------------------------------------------------------- */

struct image_writer;

/*
 * Write the header to f (not closed by the writer) and return a writer.
 * hdr->nr_pages is the count image_writer_finish() will insist on; version,
 * page_size and hash_alg are filled in.  -XEN_EINVAL on a bad header.
 */
int image_writer_open(FILE *f, const struct image_header *hdr,
                      struct image_writer **out);

/*
 * Append one page.  data: IMAGE_PAGE_SIZE bytes, or NULL for a page with
 * no content (the record is marked IMAGE_PAGE_NODATA).  -XEN_EINVAL for a
 * pfn not above the previous one, a type image_type_valid() refuses, or
 * more pages than declared; -XEN_EIO when the file write fails.
 */
int image_add_page(struct image_writer *w, uint64_t pfn, uint32_t type,
                   const void *data);

/* Write the footer and flush.  The writer is freed whatever the result. */
int image_writer_finish(struct image_writer *w);

/* Free without a footer (the image is then incomplete). */
void image_writer_abort(struct image_writer *w);

/* ---- reader ---------------------------------------------------------- */

struct image_reader;

/*
 * Read and check the header of f (positioned at the start; not closed by
 * the reader).  name is used in messages.  On error *out is still a reader
 * whose image_reader_error() says what was wrong (or NULL on -XEN_ENOMEM);
 * free it with image_reader_close().
 */
int image_reader_open(FILE *f, const char *name, struct image_reader **out);

const struct image_header *image_reader_header(const struct image_reader *r);

/* 1 and *pg filled, 0 at a valid end (footer checked), or a negative errno. */
int image_read_page(struct image_reader *r, struct image_page *pg);

/*
 * Seek to pfn in a seekable file (I1) and read its record into *pg without
 * the sequential checks: 1 found, 0 absent, negative on error.  Afterwards
 * sequential reading is no longer possible on this reader.
 */
int image_reader_find(struct image_reader *r, uint64_t pfn,
                      struct image_page *pg);

/* "" when no error yet. */
const char *image_reader_error(const struct image_reader *r);

void image_reader_close(struct image_reader *r);

/* ---- compare (I6) ---------------------------------------------------- */

#define IMAGE_DIFF_ONLY_A       (1U << 0)
#define IMAGE_DIFF_ONLY_B       (1U << 1)
#define IMAGE_DIFF_TYPE         (1U << 2)
#define IMAGE_DIFF_CONTENT      (1U << 3)

struct image_diff {
    uint64_t pfn;
    uint32_t what;                      /* IMAGE_DIFF_* */
    uint32_t type_a, type_b;            /* the side(s) present */
    uint64_t hash_a, hash_b;
    bool bytes_known;                   /* both carried content */
    uint32_t first, last;               /* differing byte offsets (known) */
    uint32_t count;                     /* differing bytes (known) */
};

/* Return 0 to go on, or a negative errno to stop (image_compare returns it). */
typedef int (*image_diff_fn)(const struct image_diff *d, void *ctx);

struct image_compare_stats {
    uint64_t pages_a, pages_b, same, differing, byte_diffed;
};

/*
 * Walk a and b (freshly opened) to their ends.  Returns the number of
 * differing pfns, the callback's negative value when it stopped the walk,
 * or a reader's negative errno (-XEN_EINVAL malformed, -XEN_EIO unreadable;
 * its message in image_reader_error() of that reader).  stats may be NULL.
 */
long image_compare(struct image_reader *a, struct image_reader *b,
                   image_diff_fn fn, void *ctx,
                   struct image_compare_stats *stats);

#endif /* HVLAB_TOOLSTACK_IMAGE_H */
