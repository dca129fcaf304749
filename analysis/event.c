/*
 * analysis/event.c - the event catalog and the babeltrace2 decoder.
 *
 * Rules (event.h V1-V4 are the contract; these say how it is kept):
 *   E1  The catalog is built once (pthread_once) from analysis/events.def:
 *       each event's field list is split into field ids in its order, and
 *       pos[] is the inverse.  Nothing is typed by hand.
 *   E2  The decoder keeps a table (keytab.h, kt_ptr) keyed by the borrowed
 *       bt_event_class pointer.  The first event of a class resolves its
 *       name to an event id and each catalog field to its payload member
 *       index and kind (unsigned, signed, string); every later event of the
 *       class is one hash probe and indexed member reads (V3).
 *   E3  A class whose name is not "hvlab_..." or is unknown to this build is
 *       cached as "skip" (1).  An hvlab class whose payload lacks a catalog
 *       field, or has it with a type the catalog cannot hold (an array, a
 *       structure), is cached as broken: every event of it is -1 with a
 *       message naming the event and the field.
 *   E4  Integer and enumeration members are read with the getter of their
 *       signedness, so a signed member comes back sign-extended (V2).  The
 *       string member goes to str.
 *   E5  The signedness the decoder learns is remembered per event id and
 *       field slot (a process-wide bit mask), so hv_ev_format prints rc=-22
 *       rather than its two's-complement bits; fields named rc and err are
 *       signed even before any trace was decoded (synthetic events).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <babeltrace2/babeltrace.h>

#include "analysis/event.h"
#include "analysis/keytab.h"

/* ------------------------------------------------------------ the catalog */

static const char *const field_names[HVF__COUNT] = {
#define HV_FIELD(name) #name,
#include "analysis/events.def"
#undef HV_FIELD
};

struct def_row {
    const char *name;
    const char *fields;
};

static const struct def_row def_rows[HVE__COUNT] = {
    [HVE_NONE] = { NULL, NULL },
#define HV_EVENT(prov, name, full, fields) [HVE_##prov##_##name] = { full, fields },
#include "analysis/events.def"
#undef HV_EVENT
};

static struct hv_event_desc descs[HVE__COUNT];
static pthread_once_t catalog_once = PTHREAD_ONCE_INIT;
static int catalog_broken;          /* events.def inconsistent: a bug here */
static _Atomic uint16_t signed_mask[HVE__COUNT];     /* E5 */
static _Atomic int8_t string_slot[HVE__COUNT];       /* E5: -1 not learned */

static int field_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Field names sorted, for bsearch in hv_field_by_name (events.def is sorted
   already; sorting again costs nothing and removes the assumption). */
static const char *sorted_fields[HVF__COUNT];

static enum hv_field_id field_lookup(const char *name, size_t len)
{
    for (int f = 0; f < HVF__COUNT; f++)
        if (strlen(field_names[f]) == len && !memcmp(field_names[f], name, len))
            return (enum hv_field_id)f;
    return HVF__COUNT;
}

static void catalog_build(void)     /* E1 */
{
    for (int f = 0; f < HVF__COUNT; f++)
        sorted_fields[f] = field_names[f];
    qsort(sorted_fields, HVF__COUNT, sizeof(sorted_fields[0]), field_cmp);

    for (int id = 0; id < HVE__COUNT; id++)
        string_slot[id] = -1;
    for (int id = 1; id < HVE__COUNT; id++) {
        struct hv_event_desc *d = &descs[id];
        d->name = def_rows[id].name;
        memset(d->pos, HV_NOFIELD, sizeof(d->pos));
        const char *p = def_rows[id].fields;
        while (p && *p) {
            while (*p == ' ')
                p++;
            const char *s = p;
            while (*p && *p != ' ')
                p++;
            if (p == s)
                break;
            enum hv_field_id f = field_lookup(s, (size_t)(p - s));
            if (f == HVF__COUNT || d->nfields >= HV_EV_MAXF ||
                d->pos[f] != HV_NOFIELD) {
                catalog_broken = 1;
                continue;
            }
            d->pos[f] = d->nfields;
            d->field[d->nfields++] = f;
        }
        for (unsigned i = 0; i < d->nfields; i++) {
            const char *n = field_names[d->field[i]];
            if (!strcmp(n, "rc") || !strcmp(n, "err"))
                signed_mask[id] |= (uint16_t)(1u << i);
        }
    }
}

static inline void catalog_init(void)
{
    pthread_once(&catalog_once, catalog_build);
}

const struct hv_event_desc *hv_event_desc(enum hv_event_id id)
{
    catalog_init();
    if ((int)id <= HVE_NONE || id >= HVE__COUNT)
        return NULL;
    return &descs[id];
}

enum hv_event_id hv_event_by_name(const char *full_name)
{
    catalog_init();
    if (!full_name || strncmp(full_name, "hvlab_", 6) != 0)
        return HVE_NONE;
    for (int id = 1; id < HVE__COUNT; id++)
        if (!strcmp(descs[id].name, full_name))
            return (enum hv_event_id)id;
    return HVE_NONE;
}

const char *hv_field_name(enum hv_field_id f)
{
    if ((int)f < 0 || f >= HVF__COUNT)
        return NULL;
    return field_names[f];
}

enum hv_field_id hv_field_by_name(const char *name)
{
    catalog_init();
    if (!name)
        return HVF__COUNT;
    const char *const *hit = bsearch(&name, sorted_fields, HVF__COUNT,
                                     sizeof(sorted_fields[0]), field_cmp);
    if (!hit)
        return HVF__COUNT;
    return field_lookup(*hit, strlen(*hit));
}

/* ------------------------------------------------------ synthetic events */

void hv_ev_init(struct hv_ev *e, enum hv_event_id id, int64_t ts, uint64_t seq)
{
    memset(e, 0, sizeof(*e));
    e->desc = hv_event_desc(id);
    e->id = e->desc ? id : HVE_NONE;
    e->ts = ts;
    e->seq = seq;
}

int hv_ev_set(struct hv_ev *e, enum hv_field_id f, uint64_t v)
{
    if (!e->desc || (int)f < 0 || f >= HVF__COUNT || e->desc->pos[f] == HV_NOFIELD)
        return -1;
    e->v[e->desc->pos[f]] = v;
    return 0;
}

char *hv_ev_format(const struct hv_ev *e, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    int64_t ts = e->ts;
    const char *sign = ts < 0 ? "-" : "";
    uint64_t ats = ts < 0 ? (uint64_t)0 - (uint64_t)ts : (uint64_t)ts;
    size_t off = (size_t)snprintf(buf, len, "%s%" PRIu64 ".%09" PRIu64 " %s",
                                  sign, ats / 1000000000u, ats % 1000000000u,
                                  e->desc ? e->desc->name : "(not an hvlab event)");
    if (!e->desc)
        return buf;
    uint16_t smask = signed_mask[e->id];
    int sslot = e->str ? string_slot[e->id] : -1;
    for (unsigned i = 0; i < e->desc->nfields && off < len; i++) {
        const char *n = field_names[e->desc->field[i]];
        uint64_t v = e->v[i];
        int w;
        if ((int)i == sslot)
            w = snprintf(buf + off, len - off, " %s=\"%s\"", n, e->str);
        else if ((smask & (1u << i)) && (int64_t)v < 0)
            w = snprintf(buf + off, len - off, " %s=%" PRId64, n, (int64_t)v);
        else if (v > 9)
            w = snprintf(buf + off, len - off, " %s=%#" PRIx64, n, v);
        else
            w = snprintf(buf + off, len - off, " %s=%" PRIu64, n, v);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (e->str && sslot < 0 && off < len)
        snprintf(buf + off, len - off, " \"%s\"", e->str);
    return buf;
}

/* ------------------------------------------------------------ the decoder */

enum member_kind { MK_UNSIGNED, MK_SIGNED, MK_BOOL, MK_STRING };

struct class_entry {
    const bt_event_class *cls;      /* borrowed; the key */
    enum hv_event_id id;            /* HVE_NONE: skip (E3) */
    bool broken;                    /* E3: message below */
    uint8_t nf;
    int8_t str_slot;                /* v[] slot of the string field, -1 */
    uint32_t member[HV_EV_MAXF];    /* payload member index per v[] slot */
    uint8_t kind[HV_EV_MAXF];
    char *msg;                      /* broken: why */
};

struct hv_decoder {
    struct keytab classes;              /* kt_ptr(cls) -> class_entry */
    const bt_event_class *last_cls;     /* one-entry cache in front */
    struct class_entry *last;
};

struct hv_decoder *hv_decoder_new(void)
{
    catalog_init();
    if (catalog_broken)     /* events.def disagrees with itself: a bug here */
        return NULL;
    struct hv_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    kt_init(&d->classes, sizeof(struct class_entry));
    return d;
}

void hv_decoder_free(struct hv_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < kt_count(&d->classes); i++)
        free(((struct class_entry *)kt_at(&d->classes, i))->msg);
    kt_fini(&d->classes);
    free(d);
}

static void set_broken(struct class_entry *c, const char *fmt, const char *a,
                       const char *b)
{
    char m[512];
    snprintf(m, sizeof(m), fmt, a, b);
    c->broken = true;
    c->msg = strdup(m);
}

/* E2/E3: resolve a class the first time it is seen. */
static void resolve(struct class_entry *c, const bt_event_class *cls)
{
    c->cls = cls;
    c->id = HVE_NONE;
    c->str_slot = -1;
    const char *name = bt_event_class_get_name(cls);
    if (!name)
        return;
    enum hv_event_id id = hv_event_by_name(name);
    if (id == HVE_NONE)
        return;
    const struct hv_event_desc *desc = &descs[id];
    c->id = id;
    c->nf = desc->nfields;

    const bt_field_class *pfc = bt_event_class_borrow_payload_field_class_const(cls);
    if (desc->nfields && (!pfc || bt_field_class_get_type(pfc) !=
                                  BT_FIELD_CLASS_TYPE_STRUCTURE)) {
        set_broken(c, "the trace's event %s has no payload, but this build's "
                   "catalog gives it the fields \"%s\" (a trace from another "
                   "build?)", desc->name, def_rows[id].fields);
        return;
    }
    uint64_t nmem = desc->nfields ? bt_field_class_structure_get_member_count(pfc) : 0;
    uint16_t smask = 0;
    for (unsigned i = 0; i < desc->nfields; i++) {
        const char *fname = field_names[desc->field[i]];
        uint64_t m;
        const bt_field_class *mfc = NULL;
        for (m = 0; m < nmem; m++) {
            const bt_field_class_structure_member *mem =
                bt_field_class_structure_borrow_member_by_index_const(pfc, m);
            if (!strcmp(bt_field_class_structure_member_get_name(mem), fname)) {
                mfc = bt_field_class_structure_member_borrow_field_class_const(mem);
                break;
            }
        }
        if (!mfc) {
            set_broken(c, "the trace's event %s has no payload field '%s' that "
                       "this build's catalog expects (a trace from another "
                       "build?)", desc->name, fname);
            return;
        }
        c->member[i] = (uint32_t)m;
        switch (bt_field_class_get_type(mfc)) {
        case BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER:
        case BT_FIELD_CLASS_TYPE_UNSIGNED_ENUMERATION:
            c->kind[i] = MK_UNSIGNED;
            break;
        case BT_FIELD_CLASS_TYPE_BOOL:
            c->kind[i] = MK_BOOL;
            break;
        case BT_FIELD_CLASS_TYPE_SIGNED_INTEGER:
        case BT_FIELD_CLASS_TYPE_SIGNED_ENUMERATION:
            c->kind[i] = MK_SIGNED;
            smask |= (uint16_t)(1u << i);
            break;
        case BT_FIELD_CLASS_TYPE_STRING:
            if (c->str_slot >= 0) {
                set_broken(c, "the trace's event %s has a second string field "
                           "'%s' (the catalog holds one string per event)",
                           desc->name, fname);
                return;
            }
            c->kind[i] = MK_STRING;
            c->str_slot = (int8_t)i;
            break;
        default:
            set_broken(c, "the trace's event %s has a field '%s' that is not an "
                       "integer, an enumeration or a string", desc->name, fname);
            return;
        }
    }
    hv_event_learn(id, smask, c->str_slot);
}

void hv_event_learn(enum hv_event_id id, uint16_t signed_slots, int str_slot)
{
    catalog_init();
    if ((int)id <= HVE_NONE || id >= HVE__COUNT)
        return;
    if (signed_slots)
        atomic_fetch_or(&signed_mask[id], signed_slots);     /* E5 */
    if (str_slot >= 0)
        string_slot[id] = (int8_t)str_slot;
}

static struct class_entry *lookup(struct hv_decoder *d, const bt_event_class *cls)
{
    if (cls == d->last_cls)
        return d->last;
    bool created;
    struct class_entry *c = kt_get_new(&d->classes, kt_ptr(cls), 0, &created);
    if (!c)
        return NULL;
    if (created)
        resolve(c, cls);
    d->last_cls = cls;
    d->last = c;
    return c;
}

int hv_decode(struct hv_decoder *d, const bt_event *ev, int64_t ts_ns,
              bool has_ts, struct hv_ev *out, char *err, size_t errlen)
{
    const bt_event_class *cls = bt_event_borrow_class_const(ev);
    struct class_entry *c = lookup(d, cls);
    out->id = HVE_NONE;
    out->desc = NULL;
    out->str = NULL;
    if (!c) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory decoding the trace");
        return -1;
    }
    if (c->id == HVE_NONE)
        return 1;
    if (c->broken) {
        if (err && errlen)
            snprintf(err, errlen, "%s", c->msg ? c->msg : "undecodable event");
        return -1;
    }
    out->id = c->id;
    out->desc = &descs[c->id];
    out->ts = has_ts ? ts_ns : 0;
    const bt_field *payload = c->nf ? bt_event_borrow_payload_field_const(ev) : NULL;
    for (unsigned i = 0; i < c->nf; i++) {
        const bt_field *f =
            bt_field_structure_borrow_member_field_by_index_const(payload, c->member[i]);
        switch (c->kind[i]) {       /* E4 */
        case MK_UNSIGNED:
            out->v[i] = bt_field_integer_unsigned_get_value(f);
            break;
        case MK_BOOL:
            out->v[i] = (uint64_t)bt_field_bool_get_value(f);
            break;
        case MK_SIGNED:
            out->v[i] = (uint64_t)bt_field_integer_signed_get_value(f);
            break;
        default:
            out->v[i] = 0;
            out->str = bt_field_string_get_value(f);
            break;
        }
    }
    for (unsigned i = c->nf; i < HV_EV_MAXF; i++)
        out->v[i] = 0;
    return 0;
}
