/*
 * analysis/ctf_native.c - the native reader of ctf_native.h (C1-C5 there).
 *
 * Rules of the implementation:
 *   K1  Stream files are mapped whole, read-only; every position is in bits
 *       from the start of the file, and every read is checked against the
 *       end of the current packet's content (C3).
 *   K2  A packet's header and context are decoded with clock updates off;
 *       the stream's clock is then set to timestamp_begin.  Event headers
 *       update the clock: an n-bit value replaces the clock's low n bits
 *       and carries one into the bits above when it is smaller than them
 *       (CTF 1.8's rule for compact timestamps).
 *   K3  A variant picks the option named by the label of its tag's value;
 *       a sequence's length is its register (tsdl.h T4).
 *   K4  Before reading, each stream file's packets are walked through
 *       their headers (the same decoding, without the events): that gives
 *       "packet K of N" and finds a file cut short before its events are
 *       reached, so a cut is reported even when another stream's failure
 *       stops the read first.
 *   K5  An event class is resolved once per trace: its catalog id and, per
 *       payload member, the v[] slot it fills (or none).
 *   K7  An event's time never goes back within its stream and never passes
 *       its packet's timestamp_end: a timestamp outside is corrupt bytes
 *       (babeltrace2's muxer refuses such a trace as well).
 *   K8  Step by step (C7): advance() queues the losses and packet
 *       beginnings it meets as notes, and ctfn_next hands the notes out
 *       before the next event.  The stream of an event handed out is
 *       advanced at the start of the next call, after the caller is done
 *       with the event (advance() overwrites it), so notes and events come
 *       out in the order ctfn_read's callbacks always got them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/ctf_native.h"
#include "analysis/read_msg.h"
#include "analysis/trace_find.h"
#include "analysis/tsdl.h"

#define CTF_MAGIC 0xC1FC1FC1u

/* The byte-aligned fast paths (read_bits, K6) load little-endian words with
   memcpy: right on a little-endian host only. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "ctf_native.c's fast paths assume a little-endian host");
#define NO_SLOT 0xff

/*
 * K6: a structure whose members are all byte-aligned little-endian
 * integers of 8, 16, 32 or 64 bits, or arrays of bytes, with no register
 * and no clock (every hvlab payload, LTTng's event context) is decoded by a
 * flat plan: one bounds check, then one load per member.
 */
struct pop {
    uint32_t bytes;
    uint8_t kind;               /* POP_SKIP, POP_U, POP_S */
    uint8_t slot;               /* v[] slot, NO_SLOT */
};
enum { POP_SKIP, POP_U, POP_S };

struct plan {
    bool ok;
    uint32_t bytes;
    size_t n;
    struct pop *op;
};

/* K5 */
struct cls {
    const struct tsdl_event *ev;
    enum hv_event_id id;        /* HVE_NONE: step over it */
    char *broken;               /* C1: why it cannot be decoded */
    uint8_t *slot;              /* per payload member: v[] slot, NO_SLOT */
    int8_t str_slot;
    uint16_t smask;             /* C6: v[] slots the metadata makes signed */
    struct plan plan;           /* K6: the payload's, when it has one */
};

struct sclass {                 /* a stream class's event classes by id */
    const struct tsdl_stream *sc;
    struct cls **by_id;
    size_t nid;
    int clock;                  /* the clock its timestamps map to, -1 */
    const struct tsdl_type *idt[4];     /* the header's "id" integers */
    struct plan ectx;           /* K6: the event context's */
};

struct trace {
    char *dir;
    struct tsdl_meta *m;
    struct cls *cls;            /* one per m->events[] */
    struct sclass *sclasses;    /* one per m->streams[] */
};

struct cur {                    /* K1 */
    const uint8_t *base;
    uint64_t pos, end;          /* bits */
    uint64_t regs[TSDL_MAX_REGS];
    uint64_t clock;
    bool no_clock;              /* K2 */
    bool past_end;              /* the failure was a read past the end */
    uint64_t last;              /* the last integer's value */
    const char *last_str;
    uint64_t last_at;           /* where the last member began (bits) */
    char why[200];
};

struct sfile {
    char *path;
    struct trace *tr;
    const uint8_t *map;
    uint64_t size;              /* bytes */
    struct cur c;
    /* the current packet */
    bool in_pkt, cut_pkt;
    const struct sclass *scl;
    uint64_t pkt_off, pkt_end, content_end;     /* bytes, bytes, bits */
    uint64_t pkt_no;            /* 1-based */
    bool has_ts_end;            /* K7 */
    uint64_t ts_end;
    uint64_t ev_in_pkt, events;
    int64_t last_ts;
    bool has_last;
    bool have_disc, have_seq;
    uint64_t prev_disc, prev_seq;
    /* K4 */
    uint64_t npk;
    bool cut;
    uint64_t cut_off, cut_end;  /* cut_end 0: inside the header */
    uint64_t order[2];          /* C2: stream class id, stream_instance_id */
    /* the next event, decoded */
    bool pending, done;
    struct hv_ev ev;
    bool ev_has_ts;
    const struct cls *ev_cls;   /* C6: the class ev was decoded with */
};

/* K8: what advance() found between two events, handed out in order. */
struct note {
    uint8_t kind;               /* CTFN_LOSS, CTFN_PACKET */
    bool packets;
    uint32_t stream;
    uint64_t count;
};

struct ctfn {                   /* one read, opened by ctfn_open (K8) */
    struct trace *tr;
    size_t ntr;
    struct sfile *f;
    size_t nf;
    bool have_t0;
    int64_t t0;
    uint64_t delivered;
    /* traces left out (C5) */
    char *skipped;
    size_t skip_off, skip_len, ntraces;
    int nskipped;
    /* the step-wise read (K8) */
    bool started;
    struct sfile *to_advance;   /* the stream of the last event handed out */
    const struct sfile *failed;
    uint64_t fail_at;
    struct note *q;
    size_t qhead, qn, qcap;
    bool oom;
    int final;                  /* 0 reading; 1 ended; -1 failed */
    char *final_msg;
};

/* ------------------------------------------------------------ decoding */

static bool bad(struct cur *c, bool past_end, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool bad(struct cur *c, bool past_end, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    c->past_end = past_end;
    return false;
}

static inline bool align_to(struct cur *c, unsigned a)
{
    uint64_t p = (c->pos + a - 1) & ~(uint64_t)(a - 1);
    if (p > c->end)
        return bad(c, true, "padding runs past the packet's content");
    c->pos = p;
    return true;
}

static bool read_bits(struct cur *c, unsigned align, unsigned size, bool be, uint64_t *out)
{
    if (!align_to(c, align))
        return false;
    if (c->end - c->pos < size)
        return bad(c, true, "a %u-bit integer runs past the packet's content", size);
    const uint8_t *b = c->base + (c->pos >> 3);
    unsigned sh = (unsigned)(c->pos & 7);
    uint64_t v;
    if (!sh && !be && !(size & 7)) {
        switch (size) {
        case 8: v = b[0]; break;
        case 16: { uint16_t x; memcpy(&x, b, 2); v = x; break; }
        case 32: { uint32_t x; memcpy(&x, b, 4); v = x; break; }
        case 64: memcpy(&v, b, 8); break;
        default: goto generic;
        }
        c->pos += size;
        *out = v;
        return true;
    }
generic:;
    unsigned nbytes = (sh + size + 7) / 8;
    unsigned __int128 acc = 0;
    if (!be) {
        for (unsigned i = 0; i < nbytes; i++)
            acc |= (unsigned __int128)b[i] << (8 * i);
        acc >>= sh;
    } else {
        for (unsigned i = 0; i < nbytes; i++)
            acc = (acc << 8) | b[i];
        acc >>= nbytes * 8 - sh - size;
    }
    v = (uint64_t)acc;
    if (size < 64)
        v &= ((uint64_t)1 << size) - 1;
    c->pos += size;
    *out = v;
    return true;
}

static void clock_update(struct cur *c, uint64_t v, unsigned size)   /* K2 */
{
    if (size >= 64) {
        c->clock = v;
        return;
    }
    uint64_t mask = ((uint64_t)1 << size) - 1;
    if (v < (c->clock & mask))
        c->clock += (uint64_t)1 << size;
    c->clock = (c->clock & ~mask) | v;
}

static bool dec(struct cur *c, const struct tsdl_type *t, int depth);

static const struct tsdl_field *variant_option(struct cur *c, const struct tsdl_type *t)
{
    uint64_t v = c->regs[t->tag_reg];
    const struct tsdl_type *e = t->tag_type;
    for (size_t i = 0; i < e->nranges; i++) {
        const struct tsdl_range *r = &e->ranges[i];
        bool in = e->sgn ? (int64_t)v >= (int64_t)r->lo && (int64_t)v <= (int64_t)r->hi
                         : v >= r->lo && v <= r->hi;
        if (!in)
            continue;
        if (t->option[i] >= 0)
            return &t->f[t->option[i]];
        bad(c, false, "variant tag %s (%" PRIu64 ") selects no option", r->label, v);
        return NULL;
    }
    bad(c, false, "variant tag value %" PRIu64 " has no label", v);
    return NULL;
}

static bool dec(struct cur *c, const struct tsdl_type *t, int depth)
{
    if (depth > 32)
        return bad(c, false, "types nest too deep");
    switch (t->kind) {
    case TK_INT: {
        uint64_t v = 0;
        if (!read_bits(c, t->align, t->size, t->be, &v))
            return false;
        if (t->sgn && t->size < 64 && (v >> (t->size - 1)) & 1)
            v |= ~(((uint64_t)1 << t->size) - 1);
        c->last = v;
        if (t->reg >= 0)
            c->regs[t->reg] = v;
        if (t->clock >= 0 && !c->no_clock)
            clock_update(c, v, t->size);
        return true;
    }
    case TK_FLOAT:
        if (!align_to(c, t->align))
            return false;
        if (c->end - c->pos < t->size)
            return bad(c, true, "a floating-point number runs past the packet's content");
        c->pos += t->size;
        return true;
    case TK_STRING: {
        if (!align_to(c, 8))
            return false;
        const uint8_t *s = c->base + (c->pos >> 3);
        size_t room = (size_t)((c->end - c->pos) >> 3);
        const uint8_t *z = memchr(s, 0, room);
        if (!z)
            return bad(c, true, "a string has no terminating NUL before the packet's "
                       "content ends");
        c->last_str = (const char *)s;
        c->pos += (uint64_t)(z - s + 1) * 8;
        return true;
    }
    case TK_STRUCT:
        if (!align_to(c, t->align))
            return false;
        for (size_t i = 0; i < t->nf; i++)
            if (!dec(c, t->f[i].t, depth + 1))
                return false;
        return true;
    case TK_VARIANT: {
        const struct tsdl_field *o = variant_option(c, t);
        return o && dec(c, o->t, depth + 1);
    }
    case TK_ARRAY:
    case TK_SEQ: {
        uint64_t n = t->kind == TK_ARRAY ? t->len : c->regs[t->tag_reg];
        const struct tsdl_type *e = t->elem;
        if (!align_to(c, t->align))
            return false;
        c->last_at = c->pos;
        if (e->kind == TK_INT && e->size == 8 && e->align == 8) {
            if (n > (c->end - c->pos) / 8)
                return bad(c, true, "an array of %" PRIu64 " bytes runs past the packet's "
                           "content", n);
            c->pos += n * 8;
            return true;
        }
        if (n > c->end - c->pos)    /* every element takes a bit at least (T8) */
            return bad(c, true, "a sequence of %" PRIu64 " elements runs past the "
                       "packet's content", n);
        for (uint64_t i = 0; i < n; i++)        /* each takes a bit at least (T8) */
            if (!dec(c, e, depth + 1))
                return false;
        return true;
    }
    }
    return bad(c, false, "an unknown type");
}

/* The event header: decoded as dec() does, and every integer member named
   "id" (the enumeration, then an extended id in the variant) gives the id. */
static bool dec_header(struct cur *c, const struct sclass *scl, const struct tsdl_type *t,
                       uint64_t *id, int depth)
{
    if (depth > 8)
        return bad(c, false, "the event header nests too deep");
    if (t->kind == TK_VARIANT) {
        const struct tsdl_field *o = variant_option(c, t);
        return o && dec_header(c, scl, o->t, id, depth + 1);
    }
    if (t->kind != TK_STRUCT)
        return dec(c, t, depth);
    if (!align_to(c, t->align))
        return false;
    for (size_t i = 0; i < t->nf; i++) {
        const struct tsdl_type *m = t->f[i].t;
        if (!dec_header(c, scl, m, id, depth + 1))
            return false;
        if (m->kind == TK_INT && (m == scl->idt[0] || m == scl->idt[1] ||
                                  m == scl->idt[2] || m == scl->idt[3]))
            *id = c->last;
    }
    return true;
}

/* The clock a stream class's timestamps map to: the first mapped integer
   of its event header, else of its packet context; -1 none. */
static int stream_clock(const struct tsdl_type *t, int depth)
{
    if (!t || depth > 8)
        return -1;
    if (t->kind == TK_INT)
        return t->clock;
    for (size_t i = 0; i < t->nf; i++) {
        int k = stream_clock(t->f[i].t, depth + 1);
        if (k >= 0)
            return k;
    }
    return -1;
}

/* K6 */
static void plan_build(struct plan *pl, const struct tsdl_type *st, const uint8_t *slot)
{
    memset(pl, 0, sizeof(*pl));
    if (!st || st->kind != TK_STRUCT || st->align > 8 || !st->nf)
        return;
    pl->op = calloc(st->nf, sizeof(*pl->op));
    if (!pl->op)
        return;
    uint64_t total = 0;
    for (size_t i = 0; i < st->nf; i++) {
        const struct tsdl_type *t = st->f[i].t;
        struct pop *o = &pl->op[i];
        o->slot = slot ? slot[i] : NO_SLOT;
        if (t->kind == TK_INT && t->align == 8 && !t->be && t->reg < 0 && t->clock < 0 &&
            (t->size == 8 || t->size == 16 || t->size == 32 || t->size == 64)) {
            o->bytes = t->size / 8;
            o->kind = t->sgn ? POP_S : POP_U;
        } else if (t->kind == TK_ARRAY && t->elem->kind == TK_INT && t->elem->size == 8 &&
                   t->elem->align == 8 && t->len < (1u << 20) && o->slot == NO_SLOT) {
            o->bytes = (uint32_t)t->len;
            o->kind = POP_SKIP;
        } else {
            free(pl->op);
            memset(pl, 0, sizeof(*pl));
            return;
        }
        total += o->bytes;
        if (total > (1u << 20)) {       /* a plan is for small fixed layouts */
            free(pl->op);
            memset(pl, 0, sizeof(*pl));
            return;
        }
    }
    pl->bytes = (uint32_t)total;
    pl->n = st->nf;
    pl->ok = true;
}

/* 1: decoded; 0: the plan does not apply here (not byte-aligned); -1: past
   the content. */
static inline int plan_run(struct cur *c, const struct plan *pl, uint64_t *v)
{
    if (c->pos & 7)
        return 0;
    if ((c->end - c->pos) / 8 < pl->bytes)
        return -1;
    const uint8_t *b = c->base + (c->pos >> 3);
    for (size_t i = 0; i < pl->n; i++) {
        const struct pop *o = &pl->op[i];
        uint64_t x;
        switch (o->bytes) {
        case 1: x = b[0]; if (o->kind == POP_S) x = (uint64_t)(int64_t)(int8_t)x; break;
        case 2: { uint16_t y; memcpy(&y, b, 2); x = o->kind == POP_S ? (uint64_t)(int64_t)(int16_t)y : y; break; }
        case 4: { uint32_t y; memcpy(&y, b, 4); x = o->kind == POP_S ? (uint64_t)(int64_t)(int32_t)y : y; break; }
        case 8: memcpy(&x, b, 8); break;
        default: x = 0; break;
        }
        if (o->kind != POP_SKIP && o->slot != NO_SLOT)
            v[o->slot] = x;
        b += o->bytes;
    }
    c->pos += (uint64_t)pl->bytes * 8;
    return 1;
}

static void collect_ids(struct sclass *sc, const struct tsdl_type *t, int depth)
{
    if (!t || depth > 8)
        return;
    for (size_t i = 0; i < t->nf; i++) {
        const struct tsdl_type *m = t->f[i].t;
        if (m->kind == TK_INT && !strcmp(tsdl_name(t->f[i].name), "id")) {
            for (int k = 0; k < 4; k++)
                if (!sc->idt[k]) {
                    sc->idt[k] = m;
                    break;
                }
        } else if (m->kind == TK_STRUCT || m->kind == TK_VARIANT) {
            collect_ids(sc, m, depth + 1);
        }
    }
}

/* ------------------------------------------------------ event classes (K5) */

static int resolve_cls(struct cls *k, const struct tsdl_event *ev)
{
    k->ev = ev;
    k->str_slot = -1;
    k->id = hv_event_by_name(ev->name);
    if (k->id == HVE_NONE)
        return 0;
    const struct hv_event_desc *d = hv_event_desc(k->id);
    const struct tsdl_type *p = ev->fields;
    size_t nm = p ? p->nf : 0;
    k->slot = malloc(nm ? nm : 1);
    if (!k->slot)
        return -1;
    memset(k->slot, NO_SLOT, nm ? nm : 1);
    char m[400];
    uint16_t smask = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        const char *fname = hv_field_name(d->field[i]);
        int mi = tsdl_member(p, fname);
        if (mi < 0) {
            snprintf(m, sizeof(m), "the trace's event %s has no payload field '%s' that "
                     "this build's catalog expects (a trace from another build?)",
                     ev->name, fname);
            goto broken;
        }
        const struct tsdl_type *ft = p->f[mi].t;
        if (ft->kind == TK_STRING) {
            if (k->str_slot >= 0) {
                snprintf(m, sizeof(m), "the trace's event %s has a second string field "
                         "'%s' (the catalog holds one string per event)", ev->name, fname);
                goto broken;
            }
            k->str_slot = (int8_t)i;
        } else if (ft->kind != TK_INT) {
            snprintf(m, sizeof(m), "the trace's event %s has a field '%s' that is not an "
                     "integer, an enumeration or a string", ev->name, fname);
            goto broken;
        } else if (ft->sgn) {
            smask |= (uint16_t)(1u << i);
        }
        k->slot[mi] = (uint8_t)i;
    }
    k->smask = smask;
    hv_event_learn(k->id, smask, k->str_slot);
    if (k->str_slot < 0)
        plan_build(&k->plan, p, k->slot);
    return 0;
broken:
    k->broken = strdup(m);
    return k->broken ? 0 : -1;
}

static int trace_classes(struct trace *t)
{
    struct tsdl_meta *m = t->m;
    t->cls = calloc(m->nevents ? m->nevents : 1, sizeof(*t->cls));
    t->sclasses = calloc(m->nstreams ? m->nstreams : 1, sizeof(*t->sclasses));
    if (!t->cls || !t->sclasses)
        return -1;
    for (size_t i = 0; i < m->nevents; i++)
        if (resolve_cls(&t->cls[i], &m->events[i]) != 0)
            return -1;
    for (size_t s = 0; s < m->nstreams; s++) {
        struct sclass *sc = &t->sclasses[s];
        sc->sc = &m->streams[s];
        uint64_t max = 0;
        bool any = false;
        for (size_t i = 0; i < m->nevents; i++)
            if (m->events[i].stream_id == sc->sc->id && m->events[i].id < (1u << 20)) {
                any = true;
                if (m->events[i].id > max)
                    max = m->events[i].id;
            }
        sc->nid = any ? (size_t)max + 1 : 0;
        sc->clock = stream_clock(sc->sc->event_header, 0);
        if (sc->clock < 0)
            sc->clock = stream_clock(sc->sc->packet_context, 0);
        collect_ids(sc, sc->sc->event_header, 0);
        plan_build(&sc->ectx, sc->sc->event_context, NULL);
        sc->by_id = calloc(sc->nid ? sc->nid : 1, sizeof(*sc->by_id));
        if (!sc->by_id)
            return -1;
        for (size_t i = 0; i < m->nevents; i++)
            if (m->events[i].stream_id == sc->sc->id && m->events[i].id < sc->nid)
                sc->by_id[m->events[i].id] = &t->cls[i];
    }
    return 0;
}

/* ------------------------------------------------------------ packets */

struct pkt_info {
    uint64_t content, size;     /* bits */
    bool has_ts_begin, has_ts_end, has_disc, has_seq;
    uint64_t sid, inst;         /* stream class id, stream_instance_id */
    uint64_t ts_begin, ts_end, disc, seq;
    const struct sclass *scl;
};

/*
 * Decode the packet header and context at byte off.  0: *pi filled;
 * 1: the file ends inside them (a cut, K4); -1: corrupt (c->why).
 */
static int packet_at(struct sfile *f, uint64_t off, struct pkt_info *pi)
{
    struct cur *c = &f->c;
    const struct tsdl_meta *m = f->tr->m;
    memset(pi, 0, sizeof(*pi));
    c->pos = off * 8;
    c->end = f->size * 8;
    c->no_clock = true;
    uint64_t sid = 0;
    const struct tsdl_type *h = m->packet_header;
    if (h) {
        if (!align_to(c, h->align))
            return 1;
        for (size_t i = 0; i < h->nf; i++) {
            const char *n = tsdl_name(h->f[i].name);
            if (!dec(c, h->f[i].t, 0))
                return c->past_end ? 1 : -1;
            if (!strcmp(n, "magic") && c->last != CTF_MAGIC) {
                bad(c, false, "packet magic %#" PRIx64 " is not CTF's 0xc1fc1fc1", c->last);
                return -1;
            }
            const struct tsdl_type *ut = h->f[i].t;
            if (!strcmp(n, "uuid") && m->has_uuid && ut->kind == TK_ARRAY && ut->len == 16 &&
                ut->elem->kind == TK_INT && ut->elem->size == 8 && !(c->last_at & 7) &&
                memcmp(c->base + (c->last_at >> 3), m->uuid, 16) != 0) {
                bad(c, false, "the packet's trace uuid is not its metadata's");
                return -1;
            }
            if (!strcmp(n, "stream_id"))
                sid = c->last;
            if (!strcmp(n, "stream_instance_id"))
                pi->inst = c->last;
        }
    }
    const struct sclass *scl = NULL;
    for (size_t s = 0; s < m->nstreams; s++)
        if (f->tr->sclasses[s].sc->id == sid)
            scl = &f->tr->sclasses[s];
    if (!scl) {
        bad(c, false, "the packet names stream class %" PRIu64 ", which the metadata "
            "does not declare", sid);
        return -1;
    }
    pi->scl = scl;
    pi->sid = sid;
    bool has_content = false, has_size = false;
    const struct tsdl_type *pc = scl->sc->packet_context;
    if (pc) {
        if (!align_to(c, pc->align))
            return 1;
        for (size_t i = 0; i < pc->nf; i++) {
            const char *n = tsdl_name(pc->f[i].name);
            if (!dec(c, pc->f[i].t, 0))
                return c->past_end ? 1 : -1;
            if (!strcmp(n, "content_size")) {
                pi->content = c->last;
                has_content = true;
            } else if (!strcmp(n, "packet_size")) {
                pi->size = c->last;
                has_size = true;
            } else if (!strcmp(n, "timestamp_begin")) {
                pi->ts_begin = c->last;
                pi->has_ts_begin = true;
            } else if (!strcmp(n, "timestamp_end")) {
                pi->ts_end = c->last;
                pi->has_ts_end = true;
            } else if (!strcmp(n, "events_discarded")) {
                pi->disc = c->last;
                pi->has_disc = true;
            } else if (!strcmp(n, "packet_seq_num")) {
                pi->seq = c->last;
                pi->has_seq = true;
            }
        }
    }
    uint64_t hdr_bits = c->pos - off * 8;
    if (!has_size)
        pi->size = has_content ? (pi->content + 7) / 8 * 8 : (f->size - off) * 8;
    if (!has_content)
        pi->content = pi->size;
    if (pi->size == 0 || pi->size % 8 || pi->content > pi->size || pi->size < hdr_bits ||
        pi->content < hdr_bits) {
        bad(c, false, "the packet's sizes make no sense (content %" PRIu64 " bits, packet %"
            PRIu64 " bits, its header and context %" PRIu64 " bits)", pi->content,
            pi->size, hdr_bits);
        return -1;
    }
    return 0;
}

/* K4: walk the file's packets by their headers. */
static void prescan(struct sfile *f)
{
    uint64_t off = 0;
    if (f->size == 0) {
        f->cut = true;
        f->cut_off = f->cut_end = 0;
        return;
    }
    while (off < f->size) {
        struct pkt_info pi;
        int rc = packet_at(f, off, &pi);
        if (rc == 1) {
            f->cut = true;
            f->cut_off = off;
            f->cut_end = 0;
            return;
        }
        if (rc < 0)
            return;             /* the read will say so, when it gets there */
        f->npk++;
        if (off + pi.size / 8 > f->size) {
            f->cut = true;
            f->cut_off = off;
            f->cut_end = off + pi.size / 8;
            return;
        }
        off += pi.size / 8;
    }
}

/* ------------------------------------------------------------ reading */

enum step { ST_EVENT, ST_DONE, ST_FAIL };

static int64_t clock_ns(const struct tsdl_meta *m, int clk, uint64_t cycles)
{
    const struct tsdl_clock *k = &m->clocks[clk];
    __int128 ns = (__int128)k->offset_s * 1000000000;
    if (k->freq == 1000000000)
        ns += (__int128)k->offset + cycles;
    else
        ns += ((__int128)k->offset + cycles) * 1000000000 / k->freq;
    if (ns > INT64_MAX || ns < INT64_MIN)
        return 0;
    return (int64_t)ns;
}

/* K8: queue a loss or a packet's beginning for ctfn_next to hand out. */
static void note(struct ctfn *r, const struct sfile *f, uint8_t kind, uint64_t count,
                 bool packets)
{
    if (r->qhead + r->qn == r->qcap) {
        if (r->qhead) {                 /* slide the live notes to the front */
            memmove(r->q, r->q + r->qhead, r->qn * sizeof(*r->q));
            r->qhead = 0;
        } else {
            size_t nc = r->qcap ? r->qcap * 2 : 16;
            struct note *nq = realloc(r->q, nc * sizeof(*nq));
            if (!nq) {
                r->oom = true;
                return;
            }
            r->q = nq;
            r->qcap = nc;
        }
    }
    r->q[r->qhead + r->qn++] = (struct note){ kind, packets, (uint32_t)(f - r->f), count };
}

/* Decode the next hvlab event of f into f->ev (C1, C3). */
static enum step advance(struct ctfn *r, struct sfile *f, uint64_t *ev_off)
{
    struct cur *c = &f->c;
    for (;;) {
        if (!f->in_pkt) {
            uint64_t off = f->pkt_no ? f->pkt_end : 0;
            if (off >= f->size || (f->cut && off > f->cut_off) ||
                (f->cut && !f->cut_end && off >= f->cut_off))
                return ST_DONE;
            struct pkt_info pi;
            int rc = packet_at(f, off, &pi);
            *ev_off = off;
            if (rc == 1)
                return ST_DONE;         /* a cut header (K4 knew) */
            if (rc < 0) {
                f->pkt_off = off;
                f->pkt_end = off;
                return ST_FAIL;
            }
            if (!f->pkt_no) {
                f->order[0] = pi.sid;
                f->order[1] = pi.inst;
            }
            f->pkt_no++;
            f->pkt_off = off;
            f->pkt_end = off + pi.size / 8;
            f->scl = pi.scl;
            f->cut_pkt = f->pkt_end > f->size;
            f->content_end = off * 8 + pi.content;
            if (f->cut_pkt && f->content_end > f->size * 8)
                f->content_end = f->size * 8;
            c->end = f->content_end;
            c->no_clock = false;
            if (pi.has_ts_begin)
                c->clock = pi.ts_begin;
            f->has_ts_end = pi.has_ts_end && pi.has_ts_begin && pi.ts_end >= pi.ts_begin;
            f->ts_end = pi.ts_end;
            if (pi.has_disc) {                                      /* C4 */
                if (f->have_disc && pi.disc > f->prev_disc)
                    note(r, f, CTFN_LOSS, pi.disc - f->prev_disc, false);
                else if (!f->have_disc && pi.disc)
                    note(r, f, CTFN_LOSS, 0, false);    /* lost before: how many unknown */
                f->prev_disc = pi.disc;
                f->have_disc = true;
            }
            if (pi.has_seq) {
                if (f->have_seq && pi.seq > f->prev_seq + 1)
                    note(r, f, CTFN_LOSS, pi.seq - f->prev_seq - 1, true);
                f->prev_seq = pi.seq;
                f->have_seq = true;
            }
            note(r, f, CTFN_PACKET, 0, false);                      /* K8 */
            f->ev_in_pkt = 0;
            f->in_pkt = true;
        }
        if (c->pos >= f->content_end) {
            f->in_pkt = false;
            if (f->cut_pkt)
                return ST_DONE;
            continue;
        }
        const struct sclass *scl = f->scl;
        const struct tsdl_stream *sc = scl->sc;
        uint64_t id = 0;
        uint64_t ev_start = c->pos;
        *ev_off = c->pos / 8;
        if (sc->event_header) {
            if (!align_to(c, sc->event_header->align))
                goto failed;
            *ev_off = c->pos / 8;
            uint64_t prev_clock = c->clock;
            if (!dec_header(c, scl, sc->event_header, &id, 0))
                goto failed;
            if (c->clock < prev_clock || (f->has_ts_end && c->clock > f->ts_end)) {  /* K7 */
                bad(c, false, "the event's time (%" PRIu64 " cycles) is before the previous "
                    "event's (%" PRIu64 ") or after its packet's end (%" PRIu64 ")", c->clock,
                    prev_clock, f->ts_end);
                goto failed;
            }
        }
        if (sc->event_context) {
            int pr = scl->ectx.ok ? plan_run(c, &scl->ectx, NULL) : 0;
            if (pr < 0) {
                bad(c, true, "the event context runs past the packet's content");
                goto failed;
            }
            if (pr == 0 && !dec(c, sc->event_context, 0))
                goto failed;
        }
        struct cls *k = id < scl->nid ? scl->by_id[id] : NULL;
        if (!k) {
            bad(c, false, "the event header gives event id %" PRIu64 ", which the metadata "
                "does not declare in stream class %" PRIu64, id, sc->id);
            goto failed;
        }
        if (k->ev->context && !dec(c, k->ev->context, 0))
            goto failed;
        const struct tsdl_type *p = k->ev->fields;
        struct hv_ev *e = &f->ev;
        if (k->id == HVE_NONE || k->broken) {
            if (p && !dec(c, p, 0))
                goto failed;
            if (c->pos == ev_start) {       /* the next one would be here again */
                bad(c, false, "event %s takes no bits", k->ev->name);
                goto failed;
            }
            f->ev_in_pkt++;
            f->events++;
            if (k->broken) {
                snprintf(c->why, sizeof(c->why), "%s", k->broken);
                return ST_FAIL;
            }
            continue;
        }
        e->id = k->id;
        e->desc = hv_event_desc(k->id);
        e->str = NULL;
        int pr = 0;
        if (p && k->plan.ok) {
            if (!align_to(c, p->align))
                goto failed;
            pr = plan_run(c, &k->plan, e->v);
            if (pr < 0) {
                bad(c, true, "the payload of %s runs past the packet's content", k->ev->name);
                goto failed;
            }
        }
        if (pr == 0)        /* K6: a plan fills every catalog slot */
            memset(e->v, 0, sizeof(e->v));
        if (p && pr == 0) {
            if (!align_to(c, p->align))
                goto failed;
            for (size_t i = 0; i < p->nf; i++) {
                if (!dec(c, p->f[i].t, 1))
                    goto failed;
                uint8_t s = k->slot[i];
                if (s == NO_SLOT)
                    continue;
                if ((int)s == k->str_slot)
                    e->str = c->last_str;
                else
                    e->v[s] = c->last;
            }
        }
        int clk = scl->clock;
        f->ev_has_ts = clk >= 0;
        e->ts = clk >= 0 ? clock_ns(f->tr->m, clk, c->clock) : 0;
        if (c->pos == ev_start) {
            bad(c, false, "event %s takes no bits", k->ev->name);
            goto failed;
        }
        e->stream = (uint32_t)(f - r->f);
        f->ev_cls = k;
        f->ev_in_pkt++;
        f->events++;
        return ST_EVENT;
failed:
        if (f->cut_pkt && c->past_end)
            return ST_DONE;     /* the cut (C3): reported at the end */
        return ST_FAIL;
    }
}

/* ------------------------------------------------------------- messages */

static size_t append_last(const struct ctfn *r, const struct sfile *f, char *err,
                          size_t errlen, size_t off)
{
    return rd_last_words(err, errlen, off, f->has_last && r->have_t0, f->last_ts - r->t0);
}

static size_t describe_cuts(const struct ctfn *r, char *err, size_t errlen, size_t off)
{
    for (size_t i = 0; i < r->nf; i++) {
        const struct sfile *f = &r->f[i];
        if (!f->cut)
            continue;
        off = rd_cut_words(err, errlen, off, f->path, f->size, f->cut_off, f->cut_end);
        off = rd_appendf(err, errlen, off, "; reading stopped there, %" PRIu64 " events of "
                      "that stream were read", f->events);
        off = append_last(r, f, err, errlen, off);
    }
    return off;
}

static size_t describe_failure(const struct ctfn *r, const struct sfile *f, uint64_t at,
                               char *err, size_t errlen)
{
    size_t off = rd_appendf(err, errlen, 0, "stopped reading the trace in '%s' in stream file "
                         "'%s' at byte offset %" PRIu64, f->tr->dir, f->path, at);
    if (at == f->pkt_off && !f->in_pkt)
        off = f->pkt_no + 1 <= f->npk
              ? rd_appendf(err, errlen, off, ", where packet %" PRIu64 " of %" PRIu64
                           " begins", f->pkt_no + 1, f->npk)
              : rd_appendf(err, errlen, off, ", where its packet %" PRIu64 " begins",
                           f->pkt_no + 1);
    else
        off = rd_appendf(err, errlen, off, ", where event %" PRIu64 " of the packet begins, "
                      "inside the packet at byte offset %" PRIu64 " (bytes %" PRIu64 "..%"
                      PRIu64 ", packet %" PRIu64 " of %" PRIu64 ")", f->ev_in_pkt + 1,
                      f->pkt_off, f->pkt_off, f->pkt_end, f->pkt_no, f->npk);
    off = rd_appendf(err, errlen, off, " after %" PRIu64 " events of that packet (%" PRIu64
                  " of the stream)", f->in_pkt ? f->ev_in_pkt : 0, f->events);
    off = append_last(r, f, err, errlen, off);
    off = rd_appendf(err, errlen, off, ": %s; the %" PRIu64 " events before were read",
                  f->c.why, r->delivered);
    return off;
}

/* ------------------------------------------------------------- finding */

struct pathlist {
    char **v;
    size_t n, cap;
};

static int push(struct pathlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void pl_free(struct pathlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int stream_files(const char *dir, struct pathlist *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    char p[PATH_MAX];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata"))
            continue;
        if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
            continue;
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (push(out, p) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    return 0;
}

/* C2: at equal times, the stream with the lower stream class id, then
   stream_instance_id (babeltrace2's muxer's order), then the file found
   first. */
static bool goes_first(const struct sfile *a, const struct sfile *b)
{
    if (a->tr != b->tr)
        return a < b;
    if (a->order[0] != b->order[0])
        return a->order[0] < b->order[0];
    if (a->order[1] != b->order[1])
        return a->order[1] < b->order[1];
    return a < b;
}

/* ------------------------------------------------------------- the read */

void ctfn_close(struct ctfn *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nf; i++) {
        if (r->f[i].map && r->f[i].size)
            munmap((void *)r->f[i].map, r->f[i].size);
        free(r->f[i].path);
    }
    free(r->f);
    for (size_t t = 0; t < r->ntr; t++) {
        struct trace *tr = &r->tr[t];
        if (tr->m) {
            for (size_t i = 0; tr->cls && i < tr->m->nevents; i++) {
                free(tr->cls[i].slot);
                free(tr->cls[i].broken);
                free(tr->cls[i].plan.op);
            }
            for (size_t s = 0; tr->sclasses && s < tr->m->nstreams; s++) {
                free(tr->sclasses[s].by_id);
                free(tr->sclasses[s].ectx.op);
            }
        }
        free(tr->cls);
        free(tr->sclasses);
        tsdl_free(tr->m);
        free(tr->dir);
    }
    free(r->tr);
    free(r->q);
    free(r->skipped);
    free(r->final_msg);
    free(r);
}

/* Map one stream file and walk its packets (K4).  0, or -1 with err. */
static int open_stream(struct sfile *f, bool populate, char *err, size_t errlen)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat fs;
    if (fd < 0 || fstat(fd, &fs) != 0) {
        snprintf(err, errlen, "cannot read stream file '%s': %s", f->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f->size = (uint64_t)fs.st_size;
    if (f->size) {
        void *mp = mmap(NULL, f->size, PROT_READ,
                        MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
        if (mp == MAP_FAILED) {
            snprintf(err, errlen, "cannot map stream file '%s': %s", f->path,
                     strerror(errno));
            close(fd);
            return -1;
        }
        f->map = mp;
    }
    close(fd);
    f->c.base = f->map;
    prescan(f);                                                  /* K4 */
    return 0;
}

/* K8: ctfn_open, and ctfn_probe without reading the files ahead. */
static struct ctfn *open_read(const char *dir, bool populate, char *err, size_t errlen)
{
    struct ctfn *r = calloc(1, sizeof(*r));
    struct pathlist traces = { 0 };
    if (!r || !(r->skipped = calloc(1, errlen ? errlen : 1))) {
        snprintf(err, errlen, "out of memory");
        free(r);
        return NULL;
    }
    r->skip_len = errlen ? errlen : 1;
    int ntraces = trace_find(dir, &traces.v, err, errlen);
    if (ntraces < 0)
        goto fail;
    traces.n = traces.cap = (size_t)ntraces;
    r->ntraces = traces.n;
    r->tr = calloc(traces.n, sizeof(*r->tr));
    if (!r->tr) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t t = 0; t < traces.n; t++) {                     /* C5 */
        struct trace *tr = &r->tr[r->ntr];
        char mp[PATH_MAX + 16], msg[1024];
        snprintf(mp, sizeof(mp), "%s/metadata", traces.v[t]);
        if (tsdl_load(mp, &tr->m, msg, sizeof(msg)) != 0) {
            r->nskipped++;
            r->skip_off = rd_appendf(r->skipped, r->skip_len, r->skip_off, "%s%s",
                                     r->skip_off ? "; " : "", msg);
            continue;
        }
        tr->dir = strdup(traces.v[t]);
        r->ntr++;
        if (!tr->dir || trace_classes(tr) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        struct pathlist sf = { 0 };
        if (stream_files(tr->dir, &sf) != 0) {
            pl_free(&sf);
            snprintf(err, errlen, "cannot list the stream files of '%s'", tr->dir);
            goto fail;
        }
        struct sfile *nf = realloc(r->f, (r->nf + sf.n + 1) * sizeof(*nf));
        if (!nf) {
            pl_free(&sf);
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        r->f = nf;
        for (size_t i = 0; i < sf.n; i++) {
            struct sfile *f = &r->f[r->nf];
            memset(f, 0, sizeof(*f));
            f->path = sf.v[i];
            sf.v[i] = NULL;
            f->tr = tr;
            r->nf++;
            if (open_stream(f, populate, err, errlen) != 0) {
                pl_free(&sf);
                goto fail;
            }
        }
        pl_free(&sf);
    }
    if (r->ntr == 0) {
        snprintf(err, errlen, "%s", r->skipped);
        goto fail;
    }
    pl_free(&traces);
    return r;
fail:
    pl_free(&traces);
    ctfn_close(r);
    return NULL;
}

struct ctfn *ctfn_open(const char *dir, char *err, size_t errlen)
{
    return open_read(dir, true, err, errlen);
}

int ctfn_probe(const char *dir, size_t *cut_files, char *err, size_t errlen)
{
    *cut_files = 0;
    struct ctfn *r = open_read(dir, false, err, errlen);
    if (!r)
        return -1;
    for (size_t i = 0; i < r->nf; i++)
        if (r->f[i].cut && r->f[i].size)
            (*cut_files)++;
    int n = (int)r->ntr;
    ctfn_close(r);
    return n;
}

size_t ctfn_streams(const struct ctfn *r)
{
    return r->nf;
}

const char *ctfn_stream_path(const struct ctfn *r, size_t i)
{
    return i < r->nf ? r->f[i].path : NULL;
}

/* Advance f past the event just handed out; a failure ends the merge. */
static void step(struct ctfn *r, struct sfile *f)
{
    uint64_t at = 0;
    enum step s = advance(r, f, &at);
    f->pending = s == ST_EVENT;
    f->done = s == ST_DONE;
    if (s == ST_FAIL) {
        r->failed = f;
        r->fail_at = at;
    }
}

/* The end of the read (C3, C5): 1, or -1 with its message kept. */
static int finish(struct ctfn *r)
{
    size_t len = r->skip_len, off = 0;
    if (!(r->final_msg = calloc(1, len))) {
        r->oom = true;
        return r->final = -1;
    }
    if (r->failed)
        off = describe_failure(r, r->failed, r->fail_at, r->final_msg, len);
    off = describe_cuts(r, r->final_msg, len, off);
    if (r->nskipped)
        off = rd_appendf(r->final_msg, len, off, "%s%d of the %zu traces could not be read: %s",
                         off ? "; " : "", r->nskipped, r->ntraces, r->skipped);
    return r->final = off ? -1 : 1;
}

int ctfn_next(struct ctfn *r, struct ctfn_item *it, char *err, size_t errlen)
{
    if (!r->final) {
        if (!r->started) {                                      /* C2: the merge */
            r->started = true;
            for (size_t i = 0; i < r->nf && !r->failed; i++)
                step(r, &r->f[i]);
        } else if (r->to_advance) {
            struct sfile *f = r->to_advance;
            r->to_advance = NULL;
            step(r, f);
        }
    }
    if (r->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (r->qn) {                                                /* K8 */
        const struct note *n = &r->q[r->qhead++];
        r->qn--;
        memset(it, 0, sizeof(*it));
        it->kind = n->kind;
        it->stream = n->stream;
        it->count = n->count;
        it->packets = n->packets;
        return 1;
    }
    struct sfile *best = NULL;
    if (!r->final && !r->failed)
        for (size_t i = 0; i < r->nf; i++) {
            struct sfile *f = &r->f[i];
            if (f->pending && (!best || f->ev.ts < best->ev.ts ||
                               (f->ev.ts == best->ev.ts && goes_first(f, best))))
                best = f;
        }
    if (!best) {
        if (!r->final)
            finish(r);
        if (r->oom) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (r->final < 0)
            snprintf(err, errlen, "%s", r->final_msg);
        return r->final < 0 ? -1 : 0;
    }
    struct hv_ev *e = &best->ev;
    if (best->ev_has_ts) {
        if (!r->have_t0) {
            r->have_t0 = true;
            r->t0 = e->ts;
        }
        best->last_ts = e->ts;
        best->has_last = true;
    }
    r->delivered++;
    r->to_advance = best;                       /* K8: after the caller's turn */
    it->kind = CTFN_EVENT;
    it->stream = e->stream;
    it->ev = e;
    it->has_ts = best->ev_has_ts;
    it->signed_slots = best->ev_cls->smask;
    it->str_slot = best->ev_cls->str_slot;
    it->count = 0;
    it->packets = false;
    return 1;
}

int ctfn_read(const char *dir, const struct ctfn_ops *ops, void *arg, char *err,
              size_t errlen)
{
    struct ctfn *r = ctfn_open(dir, err, errlen);
    if (!r)
        return -1;
    struct ctfn_item it;
    int rc;
    while ((rc = ctfn_next(r, &it, err, errlen)) > 0) {
        if (it.kind == CTFN_EVENT) {
            if (ops->event(it.ev, it.has_ts, arg, err, errlen) != 0) {
                rc = -1;
                break;
            }
        } else if (it.kind == CTFN_LOSS && ops->discarded) {
            ops->discarded(it.count, it.packets, arg);
        }
    }
    int ntr = (int)r->ntr;
    ctfn_close(r);
    return rc < 0 ? -1 : ntr;
}
