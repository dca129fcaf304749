/*
 * analysis/event.h - one hvlab trace event, decoded once into a flat record.
 *
 *   struct hv_decoder *d = hv_decoder_new();
 *   struct hv_ev ev;
 *   if (hv_decode(d, bt_ev, ts, has_ts, &ev) == 0 && ev.id == HVE_mm_type_change)
 *       use(hv_u(&ev, HVF_mfn), hv_u(&ev, HVF_new_type));
 *
 * Rules:
 *   V1  The catalog is analysis/events.def, generated from trace/hvlab_*.h
 *       (the event catalog is the one thing analysis/ shares with the code
 *       it observes, DESIGN.md): an event id per event, a field id per
 *       distinct field name.  Nothing here is typed by hand.
 *   V2  Payload values are kept in the catalog's field order in v[]; a
 *       signed field is stored sign-extended, so hv_s() gives it back.
 *       hv_u() of a field the event does not have is 0: ask hv_has() when
 *       that matters.  The one string field an event may carry (an
 *       injection point's name, a crash reason) is in str, valid only
 *       during the callback that received the event.
 *   V3  Decoding costs no name lookup per event: the decoder resolves an
 *       event class's name and member positions the first time it sees the
 *       class and keeps the answer (analysis/event.c).
 *   V4  Tests and the synthetic traces of the unit tests build events with
 *       hv_ev_init / hv_ev_set, without babeltrace2.
 */
#ifndef HVLAB_ANALYSIS_EVENT_H
#define HVLAB_ANALYSIS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hv_event_id {
    HVE_NONE = 0,           /* not an hvlab event (or unknown to this build) */
#define HV_EVENT(prov, name, full, fields) HVE_##prov##_##name,
#include "analysis/events.def"
#undef HV_EVENT
    HVE__COUNT
};

enum hv_field_id {
#define HV_FIELD(name) HVF_##name,
#include "analysis/events.def"
#undef HV_FIELD
    HVF__COUNT
};

#define HV_EV_MAXF 12       /* the widest event has 11 fields */
#define HV_NOFIELD 0xff

struct hv_event_desc {
    const char *name;               /* "hvlab_mm:count_change" */
    uint8_t nfields;
    enum hv_field_id field[HV_EV_MAXF];  /* v[i] holds field[i] */
    uint8_t pos[HVF__COUNT];        /* v[] index of a field, HV_NOFIELD */
};

struct hv_ev {
    enum hv_event_id id;
    const struct hv_event_desc *desc;
    int64_t ts;             /* ns of the trace clock; 0 when its stream has none */
    uint64_t seq;           /* 0, 1, 2... in the order the reader delivered */
    uint32_t stream;        /* reader's index of the CTF stream (messages) */
    uint64_t v[HV_EV_MAXF];
    const char *str;        /* the string field, or NULL (V2) */
};

/* The catalog (built once, thread-safe). */
const struct hv_event_desc *hv_event_desc(enum hv_event_id id);
enum hv_event_id hv_event_by_name(const char *full_name);   /* HVE_NONE */
const char *hv_field_name(enum hv_field_id f);
enum hv_field_id hv_field_by_name(const char *name);         /* HVF__COUNT */

static inline bool hv_has(const struct hv_ev *e, enum hv_field_id f)
{
    return e->desc && e->desc->pos[f] != HV_NOFIELD;
}

static inline uint64_t hv_u(const struct hv_ev *e, enum hv_field_id f)
{
    uint8_t p = e->desc ? e->desc->pos[f] : HV_NOFIELD;
    return p == HV_NOFIELD ? 0 : e->v[p];
}

static inline int64_t hv_s(const struct hv_ev *e, enum hv_field_id f)
{
    return (int64_t)hv_u(e, f);
}

/* V4: a zeroed event of this id (desc set, ts and seq as given). */
void hv_ev_init(struct hv_ev *e, enum hv_event_id id, int64_t ts, uint64_t seq);
/* Set a field the event has; returns -1 (and changes nothing) otherwise. */
int hv_ev_set(struct hv_ev *e, enum hv_field_id f, uint64_t v);

/* "12.345678901 hvlab_mm:type_change host=0 mfn=0x1234 ..." into buf
   (every field, hex for values above 9); returns buf. */
char *hv_ev_format(const struct hv_ev *e, char *buf, size_t len);

/* E5: a decoder that read an event class's field types says which v[]
   slots are signed and which one holds the string (-1: none), so
   hv_ev_format prints them as such. */
void hv_event_learn(enum hv_event_id id, uint16_t signed_slots, int str_slot);

/* ---- decoding babeltrace2 events (analysis/event.c) ---------------------- */

struct hv_decoder;
typedef struct bt_event bt_event;

struct hv_decoder *hv_decoder_new(void);
void hv_decoder_free(struct hv_decoder *d);

/*
 * Decode one babeltrace2 event into *out (seq and stream are the caller's:
 * left as they are).  0: decoded; 1: not an hvlab event (out->id HVE_NONE,
 * skip it); -1: an hvlab event whose payload does not match the catalog
 * (a trace from another build), with the reason in err.
 */
int hv_decode(struct hv_decoder *d, const bt_event *ev, int64_t ts_ns,
              bool has_ts, struct hv_ev *out, char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_EVENT_H */
