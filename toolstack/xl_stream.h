/*
 * toolstack/xl_stream.h - the wrapping a migration between two hvlab
 * processes travels in: xl's save-file header, then libxl's migration
 * stream (format version 2), whose LIBXC_CONTEXT record is followed by the
 * libxc stream of toolstack/stream.h.  This is what `xl migrate` sends and
 * `xl migrate-receive` / `xl restore` read (Xen's
 * docs/specs/libxl-migration-stream.pandoc, tools/xl/xl_saverestore.c);
 * Xen's checker accepts it as `verify-stream-v2 -f xl`.
 * docs/stream.md "Between two processes".
 *
 * Rules:
 *   X1  xl header (XL_HDR_SIZE + optional data): the 32-byte magic
 *       "Xen saved domain, xl format\n \0 \r", then native u32 byteorder
 *       (0x01020304), mandatory_flags (XL_MANDATORY_FLAG_STREAMV2: the rest
 *       is a libxl v2 stream; hvlab never sets the JSON flag, its config is
 *       scenario text), optional_flags (0), optional_data_len; the optional
 *       data is { u32 config_len; config_len bytes of config }, as xl writes
 *       it.  hvlab's config is the scenario text the receiver rebuilds the
 *       run from (toolstack/run_receive.c).
 *   X2  libxl header (16 bytes, big-endian): ident "LibxlFmt", version 2,
 *       options (bit 0 big-endian stream: never set; bit 1 legacy: never
 *       set).  Then records { u32 type; u32 length; body; zero padding to
 *       8 } native-endian, the last one END (length 0).
 *   X3  LIBXC_CONTEXT has length 0; the libxc stream follows it directly
 *       (read with stream.h's reader on the same source, which stops at
 *       the libxc END without reading past it).  EMULATOR_XENSTORE_DATA and
 *       EMULATOR_CONTEXT start with { u32 id; u32 index }.  hvlab's guest
 *       kernel state (guest/guest.h KS1-KS4) travels as EMULATOR_CONTEXT
 *       with id XL_EMULATOR_ID_UNKNOWN, index XL_HVLAB_KSTATE_INDEX: an
 *       hvlab usage, not Xen's (real guests keep that state in their
 *       memory).
 *   X4  The reader is total, like stream.h's: any bytes give a record or
 *       -XEN_EINVAL with err naming what was wrong ("xl header", "libxl
 *       header", "libxl record N (NAME)") and the byte offset; lengths are
 *       bounded (config XL_CONFIG_MAX, records XL_REC_LENGTH_MAX) before
 *       anything is allocated; padding must be zero; an unknown record
 *       type is rejected.
 */
#ifndef HVLAB_TOOLSTACK_XL_STREAM_H
#define HVLAB_TOOLSTACK_XL_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "toolstack/stream.h"       /* stream_sink_fn, stream_source_fn */

#define XL_MAGIC                "Xen saved domain, xl format\n \0 \r"
#define XL_MAGIC_LEN            32
#define XL_BYTEORDER_VALUE      0x01020304U
#define XL_MANDATORY_FLAG_JSON  (1U << 0)
#define XL_MANDATORY_FLAG_STREAMV2 (1U << 1)
#define XL_HDR_SIZE             (XL_MAGIC_LEN + 16)
#define XL_CONFIG_MAX           (1U << 20)

#define LIBXL_HDR_IDENT         0x4c6962786c466d74ULL   /* "LibxlFmt" */
#define LIBXL_HDR_VERSION       2U
#define LIBXL_HDR_OPT_BIG_ENDIAN (1U << 0)
#define LIBXL_HDR_OPT_LEGACY    (1U << 1)

enum xl_rec_type {
    XL_REC_END                    = 0,
    XL_REC_LIBXC_CONTEXT          = 1,
    XL_REC_EMULATOR_XENSTORE_DATA = 2,
    XL_REC_EMULATOR_CONTEXT       = 3,
    XL_REC_CHECKPOINT_END         = 4,
    XL_REC_CHECKPOINT_STATE       = 5,
    XL_REC_NR
};
#define XL_REC_LENGTH_MAX       (1U << 30)

#define XL_EMULATOR_ID_UNKNOWN      0U
#define XL_EMULATOR_ID_QEMU_TRAD    1U
#define XL_EMULATOR_ID_QEMU_UPSTREAM 2U
#define XL_HVLAB_KSTATE_INDEX       0U

/* "END", "LIBXC_CONTEXT", ...; "unknown" otherwise. */
const char *xl_rec_name(uint32_t type);

/* ---- writer ---------------------------------------------------------------- */
struct xl_writer {
    stream_sink_fn sink;
    void *ctx;
    int error;                      /* first error, sticky */
    uint64_t offset;                /* bytes written */
    bool headers_done, ended;       /* records only between the two */
};
void xl_writer_init(struct xl_writer *w, stream_sink_fn sink, void *ctx);
/* X1 then X2: the xl header with config, then the libxl header. */
int xl_write_headers(struct xl_writer *w, const void *config, size_t len);
/* LIBXC_CONTEXT (length 0): the caller writes the libxc stream next, to
   the same sink. */
int xl_write_libxc_context(struct xl_writer *w);
/* EMULATOR_CONTEXT { id, index } + blob. */
int xl_write_emulator_context(struct xl_writer *w, uint32_t id,
                              uint32_t index, const void *blob, size_t len);
int xl_write_end(struct xl_writer *w);
/* Account bytes the caller wrote to the same sink between records (the
   libxc stream), so offsets in later messages are the stream's. */
void xl_writer_skip(struct xl_writer *w, uint64_t bytes);

/* ---- reader ---------------------------------------------------------------- */
struct xl_record {
    unsigned index;                 /* libxl record number, 0 = first */
    uint64_t offset;                /* of its record header */
    uint32_t type;
    uint32_t length;
    const uint8_t *body;            /* valid until the next read */
    /* EMULATOR_*: */
    uint32_t emu_id, emu_index;
    const uint8_t *emu_data;
    size_t emu_len;
};
struct xl_reader {
    stream_source_fn source;
    void *ctx;
    uint64_t offset;                /* bytes consumed */
    unsigned next_index;
    bool ended, failed;
    uint8_t *buf;
    size_t cap;
    char err[256];
};
void xl_reader_init(struct xl_reader *r, stream_source_fn source, void *ctx);
void xl_reader_free(struct xl_reader *r);
/* X1 and X2: *config is malloc'd and NUL-terminated (the caller frees it).
   0 or -XEN_EINVAL / the source's error, r->err filled. */
int xl_read_headers(struct xl_reader *r, char **config, size_t *len);
/* The next libxl record (X4).  After LIBXC_CONTEXT the caller reads the
   libxc stream from the same source, then tells the reader how many bytes
   that took (xl_reader_skip) before reading on.  0, or -XEN_E* with
   r->err. */
int xl_read_record(struct xl_reader *r, struct xl_record *rec);
void xl_reader_skip(struct xl_reader *r, uint64_t bytes);

#endif /* HVLAB_TOOLSTACK_XL_STREAM_H */
