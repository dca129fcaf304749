/*
 * analysis/tsdl.h - a CTF 1.8 trace's metadata (its TSDL text), parsed into
 * the layouts the native reader (analysis/ctf_native.c) decodes with.
 *
 *   struct tsdl_meta *m;
 *   if (tsdl_load("TRACE/metadata", &m, err, sizeof err) < 0) ...
 *   const struct tsdl_event *ev = tsdl_event_of(m, stream_id, id);
 *   tsdl_free(m);
 *
 * Rules:
 *   T1  The subset parsed is what CTF 1.8 writers emit and LTTng-UST 2.x
 *       emits in full: typealias and typedef, integer (size, align,
 *       signed, byte_order, map = clock.NAME.value), floating_point,
 *       string, enum with labels and ranges, struct with align(N), variant
 *       with a <tag>, fixed arrays and sequences; the trace, clock, stream
 *       and event blocks.  env, callsite and any other block are skipped
 *       whole.  Anything else is an error naming the line.
 *   T2  Every use of a type name is a copy of the type, so marks set on a
 *       use (T4) belong to that use alone.
 *   T3  Integers whose byte order is native take the trace's byte_order
 *       (which LTTng declares after its first typealiases): resolved once
 *       the whole text is read.  Alignments are powers of two, in bits.
 *   T4  A variant's tag and a sequence's length name a member declared
 *       before them in the same structure or an enclosing one, within one
 *       root (a packet header, an event header, an event's payload...).
 *       Each such member gets a register number (reg), counted per root;
 *       the variant or sequence reads that register (tag_reg), and a
 *       variant knows which option each of its tag's labels selects
 *       (option): the decoder needs no name lookup.  An unresolved name is
 *       an error.
 *   T5  Member names keep the leading underscore CTF writers add; readers
 *       strip it when they match names (tsdl_name).
 *   T6  A metadata file is either plain text or packetized (LTTng: each
 *       packet a 37-byte header with magic 0x75d11d57 and its content and
 *       packet sizes in bits).  A file cut short or whose packets make no
 *       sense is refused with the file, its size and what is wrong.
 *   T7  Hostile text cannot exhaust the parser: types nest at most 64
 *       deep, and the declarations, expanded (T2), take at most 64 MiB.
 *   T8  An array's or sequence's element takes one bit at least (no empty
 *       structure, no sequence, no variant with an empty option), so a
 *       decoder's loops are bounded by the bits it has.
 */
#ifndef HVLAB_ANALYSIS_TSDL_H
#define HVLAB_ANALYSIS_TSDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tsdl_kind { TK_INT, TK_FLOAT, TK_STRING, TK_STRUCT, TK_VARIANT, TK_ARRAY, TK_SEQ };

struct tsdl_range {             /* an enumeration's label: lo..hi */
    const char *label;
    uint64_t lo, hi;            /* as the integer's bits (signed: two's complement) */
};

struct tsdl_field;

struct tsdl_type {
    enum tsdl_kind kind;
    unsigned align;             /* bits, a power of two */
    unsigned size;              /* TK_INT, TK_FLOAT: bits */
    bool sgn, be;
    uint8_t bo;                 /* parse time: 0 native, 1 le, 2 be (T3) */
    int clock;                  /* TK_INT mapped to a clock: its index, else -1 */
    const char *clock_name;     /* parse time */
    const struct tsdl_range *ranges;   /* TK_INT of an enum */
    size_t nranges;
    const struct tsdl_field *f; /* TK_STRUCT, TK_VARIANT: members, options */
    size_t nf;
    const char *tag;            /* TK_VARIANT: tag; TK_SEQ: length member */
    const struct tsdl_type *elem;      /* TK_ARRAY, TK_SEQ */
    uint64_t len;               /* TK_ARRAY */
    int reg;                    /* T4: the register this integer's value goes to, -1 */
    int tag_reg;                /* T4: the register a variant or sequence reads */
    const struct tsdl_type *tag_type;  /* TK_VARIANT: the tag's enumeration */
    const int *option;          /* TK_VARIANT: per tag range, its option's index
                                   in f[], -1 none (T4) */
};

struct tsdl_field {
    const char *name;
    const struct tsdl_type *t;
};

struct tsdl_clock {
    const char *name;
    uint64_t freq;              /* Hz; 1e9 when not given */
    int64_t offset_s;           /* seconds */
    int64_t offset;             /* cycles */
};

struct tsdl_stream {
    uint64_t id;
    const struct tsdl_type *packet_context, *event_header, *event_context;
};

struct tsdl_event {
    const char *name;
    uint64_t id, stream_id;
    const struct tsdl_type *context, *fields;
};

#define TSDL_MAX_REGS 16

struct tsdl_meta {
    bool be;                    /* the trace's byte order */
    bool has_uuid;
    uint8_t uuid[16];
    const struct tsdl_type *packet_header;
    struct tsdl_clock *clocks;
    size_t nclocks;
    struct tsdl_stream *streams;
    size_t nstreams;
    struct tsdl_event *events;
    size_t nevents;
    int nregs;                  /* T4: most registers one root uses (<= TSDL_MAX_REGS) */
    struct tsdl_arena *arena;   /* every allocation above */
};

/* Parse TSDL text (T1-T5).  0, or -1 with err naming the line. */
int tsdl_parse(const char *text, size_t len, struct tsdl_meta **out,
               char *err, size_t errlen);
/* Read a metadata file (T6) and parse it.  0, or -1 with err naming the
   file (and its size when its framing is wrong). */
int tsdl_load(const char *path, struct tsdl_meta **out, char *err, size_t errlen);
void tsdl_free(struct tsdl_meta *m);

const struct tsdl_stream *tsdl_stream_of(const struct tsdl_meta *m, uint64_t id);
const struct tsdl_event *tsdl_event_of(const struct tsdl_meta *m, uint64_t stream_id,
                                       uint64_t id);
/* A member of a structure by name, leading underscore ignored (T5); its
   index or -1. */
int tsdl_member(const struct tsdl_type *st, const char *name);
/* A member name without the writer's leading underscore (T5). */
static inline const char *tsdl_name(const char *n)
{
    return n[0] == '_' ? n + 1 : n;
}

#endif /* HVLAB_ANALYSIS_TSDL_H */
