/*
 * analysis/plugin/source_ctf.c - source.hvlab.ctf (source_ctf.h): the
 * traces below a directory, read by hvlab's own CTF reader step by step
 * (analysis/ctf_native.h C7), as babeltrace2 messages.
 *
 * Rules:
 *   S1  Parameters: inputs (an array of one or more strings), nothing
 *       else.  Each input is a directory read as `hvlab analyze DIR` reads
 *       it: every CTF trace below it.  They are checked at init: an unknown
 *       key, a wrong type, an empty array, or an input below which no trace
 *       can be read fails the init with an error cause naming the key or
 *       the input, what was wrong and what is accepted.
 *   S2  babeltrace.support-info (how babeltrace2's CLI picks a source for a
 *       positional TRACE: it asks every source class about the path, then
 *       about each directory below it, and takes the highest weight):
 *       SRC_CTF_WEIGHT, above source.ctf.fs's 0.75, only for a "directory"
 *       below which hvlab's reader can read a trace and where a stream file
 *       that is not empty ends inside a packet (ctfn_probe), which
 *       source.ctf.fs refuses whole; 0 for everything else, so whole traces
 *       keep going through source.ctf.fs.  An unreadable path is weight 0,
 *       never an error (an error stops the CLI's discovery of every input);
 *       only parameters that are not two strings are an error.
 *   S3  One output port per input ("out0", "out1", ...); its iterator reads
 *       that input with one reader and hands on the reader's merged order
 *       (ctf_native.h C2): one message sequence, already in time order,
 *       which the muxer passes on as it is.  A sink therefore gets the
 *       events in the order `hvlab analyze` feeds them, and only hvlab
 *       events (C1: the reader steps over the others).
 *   S4  Trace IR, one set per iterator: a trace class; a clock class of
 *       1 GHz whose origin is the Unix epoch, offset 0, so a snapshot's
 *       value is the reader's e->ts and its ns from origin are the same
 *       number; one stream class with that clock, packets, discarded events
 *       and discarded packets (no clock snapshots on any of them); one trace
 *       named after the input; one stream per stream file, named by its
 *       path, in the reader's order (e->stream).
 *   S5  Event classes are made on first use, one per catalog event id and
 *       payload typing (ctf_native.h C6): named as the catalog names the
 *       event ("hvlab_mm:type_change"), the payload's members the catalog's
 *       fields in its order, each a 64-bit integer, signed where the
 *       trace's metadata says so, and the string slot a string.  event.c's
 *       decoder (E4) reads them back to the very values the reader gave.
 *   S6  Packets and losses: a packet item ends the stream's open packet and
 *       begins the next; a discarded-packets loss ends the open packet
 *       first (such a message sits between packets); a discarded-events
 *       loss stays in the packet.  A loss of unknown count (0) leaves the
 *       message's count unset, which the sink counts as "at least" one
 *       (analyze.h A3), as `hvlab analyze` does.
 *   S7  An event without a timestamp, or before the clock's origin, cannot
 *       be placed in time for babeltrace2's muxer: the read fails naming
 *       the stream file and the event.
 *   S8  next() walks this table; messages made before a failure go out
 *       first (a next() that fails returns none), and the failure's cause
 *       is the reader's message: the trace, the stream file, the byte
 *       offset and the packet (ctf_native.h C3).
 *
 *         state   what next() does                           then
 *         BEGIN   a stream beginning per stream file          READ
 *         READ    ctfn_next: an item -> its messages (S5, S6) READ
 *                             the end                         CLOSE
 *                             a failure (or S7, S9)           FAILED
 *         CLOSE   a packet end per open packet, a stream end  END
 *                 per stream
 *         FAILED  the error, with the saved message           FAILED
 *         END     the end                                     END
 *
 *   S9  A library or memory failure ends the read with a cause saying what
 *       could not be made; nothing a trace holds can crash the iterator
 *       (the reader checks every byte, C3).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <babeltrace2/babeltrace.h>

#include "analysis/ctf_native.h"
#include "analysis/event.h"
#include "analysis/plugin/source_ctf.h"

#define NAME "source.hvlab.ctf"
#define ERRLEN 4096

/* S1 */
#define PARAMS_ACCEPTED "inputs=[\"DIR\", ...] (directories holding hvlab traces, " \
                        "as given to `hvlab analyze`)"

struct src {
    char **inputs;
    size_t ninputs;
};

struct ecl {                    /* S5 */
    enum hv_event_id id;
    uint16_t smask;
    int8_t str;
    bt_event_class *ec;
};

enum st { ST_BEGIN, ST_READ, ST_CLOSE, ST_FAILED, ST_END };     /* S8 */

struct it {
    bt_self_message_iterator *self;
    const char *input;          /* the component's: outlives the iterator */
    struct ctfn *r;
    bt_trace_class *tc;
    bt_clock_class *cc;
    bt_stream_class *sc;
    bt_trace *trace;
    size_t ns;
    bt_stream **streams;        /* one per stream file */
    bt_packet **pkts;           /* the open packet, NULL */
    struct ecl *ecls;
    size_t necls, aecls;
    const bt_message **q;       /* made, not yet handed on */
    size_t qhead, qn, qcap;
    enum st st;
    char *err;                  /* FAILED: why */
};

/* -------------------------------------------------------- the component */

static void src_free(struct src *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ninputs; i++)
        free(s->inputs[i]);
    free(s->inputs);
    free(s);
}

struct param_check {
    bt_self_component *self;
    bool bad;
};

/* S1: the one key accepted. */
static bt_value_map_foreach_entry_const_func_status
param_known(const char *key, const bt_value *v, void *data)
{
    struct param_check *pc = data;
    (void)v;
    if (strcmp(key, "inputs") != 0) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(pc->self,
            NAME ": unknown parameter '%s'; accepted: " PARAMS_ACCEPTED, key);
        pc->bad = true;
        return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_ERROR;
    }
    return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

/* S1: inputs, an array of strings each naming a directory with a trace
   the reader can read.  false with an error cause. */
static bool take_inputs(bt_self_component *self, const bt_value *params, struct src *s)
{
    if (!params || !bt_value_is_map(params)) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
            NAME ": no parameters; it needs " PARAMS_ACCEPTED);
        return false;
    }
    struct param_check pc = { self, false };
    bt_value_map_foreach_entry_const(params, param_known, &pc);
    if (pc.bad)
        return false;
    const bt_value *in = bt_value_map_borrow_entry_value_const(params, "inputs");
    if (!in) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
            NAME ": parameter 'inputs' is missing; accepted: " PARAMS_ACCEPTED);
        return false;
    }
    if (!bt_value_is_array(in) || bt_value_array_is_empty(in)) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
            NAME ": parameter 'inputs' must be a non-empty array of strings; "
            "accepted: " PARAMS_ACCEPTED);
        return false;
    }
    uint64_t n = bt_value_array_get_length(in);
    s->inputs = calloc(n, sizeof(*s->inputs));
    if (!s->inputs) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, NAME ": out of memory");
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        const bt_value *e = bt_value_array_borrow_element_by_index_const(in, i);
        if (!bt_value_is_string(e)) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
                NAME ": inputs[%" PRIu64 "] is not a string; accepted: " PARAMS_ACCEPTED,
                i);
            return false;
        }
        const char *dir = bt_value_string_get(e);
        char err[ERRLEN];
        size_t ncut = 0;
        if (ctfn_probe(dir, &ncut, err, sizeof(err)) < 0) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self,
                NAME ": inputs[%" PRIu64 "] '%s': %s", i, dir, err);
            return false;
        }
        if (!(s->inputs[i] = strdup(dir))) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, NAME ": out of memory");
            return false;
        }
        s->ninputs++;
    }
    return true;
}

bt_component_class_initialize_method_status
src_ctf_init(bt_self_component_source *self, bt_self_component_source_configuration *cfg,
             const bt_value *params, void *init_data)
{
    (void)cfg;
    (void)init_data;
    bt_self_component *sc = bt_self_component_source_as_self_component(self);
    struct src *s = calloc(1, sizeof(*s));
    if (!s)
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
    if (!take_inputs(sc, params, s)) {
        src_free(s);
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    for (size_t i = 0; i < s->ninputs; i++) {                    /* S3 */
        char port[32];
        snprintf(port, sizeof(port), "out%zu", i);
        if (bt_self_component_source_add_output_port(self, port, s->inputs[i], NULL) !=
            BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(sc,
                NAME ": cannot add output port '%s'", port);
            src_free(s);
            return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
    }
    bt_self_component_set_data(sc, s);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

void src_ctf_finalize(bt_self_component_source *self)
{
    src_free(bt_self_component_get_data(bt_self_component_source_as_self_component(self)));
}

/* ------------------------------------------------------------ the query */

bt_component_class_query_method_status
src_ctf_query(bt_self_component_class_source *cls, bt_private_query_executor *qe,
              const char *object, const bt_value *params, void *method_data,
              const bt_value **result)
{
    (void)qe;
    (void)method_data;
    if (strcmp(object, "babeltrace.support-info") != 0)
        return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_UNKNOWN_OBJECT;
    bool map = params && bt_value_is_map(params);
    const bt_value *in = map ? bt_value_map_borrow_entry_value_const(params, "input") : NULL;
    const bt_value *type = map ? bt_value_map_borrow_entry_value_const(params, "type") : NULL;
    if (!in || !type || !bt_value_is_string(in) || !bt_value_is_string(type)) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT_CLASS(
            bt_self_component_class_source_as_self_component_class(cls),
            NAME ": babeltrace.support-info wants the parameters input (a string: "
            "a path) and type (a string: directory, file or string)");
        return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_ERROR;
    }
    double weight = 0;                                            /* S2 */
    if (!strcmp(bt_value_string_get(type), "directory")) {
        char err[ERRLEN];
        size_t ncut = 0;
        if (ctfn_probe(bt_value_string_get(in), &ncut, err, sizeof(err)) > 0 && ncut > 0)
            weight = SRC_CTF_WEIGHT;
    }
    bt_value *w = bt_value_real_create_init(weight);
    if (!w)
        return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_MEMORY_ERROR;
    *result = w;
    return BT_COMPONENT_CLASS_QUERY_METHOD_STATUS_OK;
}

/* -------------------------------------------------------- the iterator */

static void it_free(struct it *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->qn; i++)
        bt_message_put_ref(it->q[it->qhead + i]);
    free(it->q);
    for (size_t i = 0; i < it->necls; i++)
        bt_event_class_put_ref(it->ecls[i].ec);
    free(it->ecls);
    for (size_t i = 0; i < it->ns; i++) {
        bt_packet_put_ref(it->pkts ? it->pkts[i] : NULL);
        bt_stream_put_ref(it->streams ? it->streams[i] : NULL);
    }
    free(it->pkts);
    free(it->streams);
    bt_trace_put_ref(it->trace);
    bt_stream_class_put_ref(it->sc);
    bt_clock_class_put_ref(it->cc);
    bt_trace_class_put_ref(it->tc);
    ctfn_close(it->r);
    free(it->err);
    free(it);
}

/* S8, S9: the read ends in FAILED with this message. */
static void fail(struct it *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct it *it, const char *fmt, ...)
{
    if (it->st == ST_FAILED)
        return;
    it->st = ST_FAILED;
    free(it->err);
    it->err = malloc(ERRLEN);
    if (!it->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->err, ERRLEN, fmt, ap);
    va_end(ap);
}

/* Queue a made message; a NULL one could not be made (S9). */
static bool push(struct it *it, bt_message *m, const char *what)
{
    if (!m) {
        fail(it, "cannot make a %s message (out of memory)", what);
        return false;
    }
    if (it->qhead + it->qn == it->qcap) {
        if (it->qhead) {
            memmove(it->q, it->q + it->qhead, it->qn * sizeof(*it->q));
            it->qhead = 0;
        } else {
            size_t nc = it->qcap ? it->qcap * 2 : 64;
            const bt_message **nq = realloc(it->q, nc * sizeof(*nq));
            if (!nq) {
                bt_message_put_ref(m);
                fail(it, "out of memory");
                return false;
            }
            it->q = nq;
            it->qcap = nc;
        }
    }
    it->q[it->qhead + it->qn++] = m;
    return true;
}

/* S4 */
static bool make_ir(struct it *it)
{
    bt_self_component *comp = bt_self_message_iterator_borrow_component(it->self);
    if (!(it->tc = bt_trace_class_create(comp)) || !(it->cc = bt_clock_class_create(comp)) ||
        !(it->sc = bt_stream_class_create(it->tc)))
        return false;
    bt_clock_class_set_frequency(it->cc, 1000000000);
    bt_clock_class_set_offset(it->cc, 0, 0);
    bt_clock_class_set_origin_is_unix_epoch(it->cc, BT_TRUE);
    if (bt_clock_class_set_name(it->cc, "hvlab_ns") != BT_CLOCK_CLASS_SET_NAME_STATUS_OK ||
        bt_stream_class_set_default_clock_class(it->sc, it->cc) !=
            BT_STREAM_CLASS_SET_DEFAULT_CLOCK_CLASS_STATUS_OK)
        return false;
    bt_stream_class_set_supports_packets(it->sc, BT_TRUE, BT_FALSE, BT_FALSE);
    bt_stream_class_set_supports_discarded_events(it->sc, BT_TRUE, BT_FALSE);
    bt_stream_class_set_supports_discarded_packets(it->sc, BT_TRUE, BT_FALSE);
    if (!(it->trace = bt_trace_create(it->tc)) ||
        bt_trace_set_name(it->trace, it->input) != BT_TRACE_SET_NAME_STATUS_OK)
        return false;
    it->ns = ctfn_streams(it->r);
    it->streams = calloc(it->ns ? it->ns : 1, sizeof(*it->streams));
    it->pkts = calloc(it->ns ? it->ns : 1, sizeof(*it->pkts));
    if (!it->streams || !it->pkts)
        return false;
    for (size_t i = 0; i < it->ns; i++)
        if (!(it->streams[i] = bt_stream_create(it->sc, it->trace)) ||
            bt_stream_set_name(it->streams[i], ctfn_stream_path(it->r, i)) !=
                BT_STREAM_SET_NAME_STATUS_OK)
            return false;
    return true;
}

bt_message_iterator_class_initialize_method_status
src_ctf_iter_init(bt_self_message_iterator *self, bt_self_message_iterator_configuration *cfg,
                  bt_self_component_port_output *port)
{
    (void)cfg;
    struct it *it = calloc(1, sizeof(*it));
    if (!it)
        return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
    it->self = self;
    it->input = bt_self_component_port_get_data(
        bt_self_component_port_output_as_self_component_port(port));
    char err[ERRLEN];
    if (!(it->r = ctfn_open(it->input, err, sizeof(err)))) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self,
            NAME ": '%s': %s", it->input, err);
        it_free(it);
        return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    if (!make_ir(it)) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self,
            NAME ": '%s': cannot make the trace's classes and streams (out of memory)",
            it->input);
        it_free(it);
        return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    bt_self_message_iterator_set_data(self, it);
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

void src_ctf_iter_finalize(bt_self_message_iterator *self)
{
    it_free(bt_self_message_iterator_get_data(self));
}

/* S5: the event class of this event id and payload typing. */
static bt_event_class *event_class(struct it *it, const struct ctfn_item *x)
{
    const struct hv_event_desc *d = x->ev->desc;
    for (size_t i = 0; i < it->necls; i++) {
        const struct ecl *e = &it->ecls[i];
        if (e->id == x->ev->id && e->smask == x->signed_slots && e->str == x->str_slot)
            return e->ec;
    }
    if (it->necls == it->aecls) {
        size_t na = it->aecls ? it->aecls * 2 : 32;
        struct ecl *n = realloc(it->ecls, na * sizeof(*n));
        if (!n)
            return NULL;
        it->ecls = n;
        it->aecls = na;
    }
    bt_event_class *ec = bt_event_class_create(it->sc);
    bt_field_class *pl = bt_field_class_structure_create(it->tc);
    bool ok = ec && pl &&
              bt_event_class_set_name(ec, d->name) == BT_EVENT_CLASS_SET_NAME_STATUS_OK;
    for (unsigned i = 0; ok && i < d->nfields; i++) {
        bt_field_class *fc = (int)i == x->str_slot ? bt_field_class_string_create(it->tc)
                             : x->signed_slots & (1u << i)
                             ? bt_field_class_integer_signed_create(it->tc)
                             : bt_field_class_integer_unsigned_create(it->tc);
        ok = fc && bt_field_class_structure_append_member(pl, hv_field_name(d->field[i]), fc) ==
                   BT_FIELD_CLASS_STRUCTURE_APPEND_MEMBER_STATUS_OK;
        bt_field_class_put_ref(fc);
    }
    ok = ok && bt_event_class_set_payload_field_class(ec, pl) ==
               BT_EVENT_CLASS_SET_FIELD_CLASS_STATUS_OK;
    bt_field_class_put_ref(pl);
    if (!ok) {
        bt_event_class_put_ref(ec);
        return NULL;
    }
    it->ecls[it->necls++] = (struct ecl){ x->ev->id, x->signed_slots, x->str_slot, ec };
    return ec;
}

static bool end_packet(struct it *it, uint32_t s)
{
    if (!it->pkts[s])
        return true;
    bt_message *m = bt_message_packet_end_create(it->self, it->pkts[s]);
    bt_packet_put_ref(it->pkts[s]);
    it->pkts[s] = NULL;
    return push(it, m, "packet end");
}

static bool begin_packet(struct it *it, uint32_t s)
{
    if (!end_packet(it, s))
        return false;
    if (!(it->pkts[s] = bt_packet_create(it->streams[s]))) {
        fail(it, "cannot make a packet (out of memory)");
        return false;
    }
    return push(it, bt_message_packet_beginning_create(it->self, it->pkts[s]),
                "packet beginning");
}

static bool on_event(struct it *it, const struct ctfn_item *x)
{
    const struct hv_ev *e = x->ev;
    if (!x->has_ts || e->ts < 0) {                               /* S7 */
        fail(it, "stream file '%s': event %s has %s, so babeltrace2 cannot order it; "
             "`hvlab analyze %s` reads such a trace", ctfn_stream_path(it->r, x->stream),
             e->desc->name, !x->has_ts ? "no timestamp (its stream has no clock)"
                                       : "a time before the clock's origin", it->input);
        return false;
    }
    if (!it->pkts[x->stream] && !begin_packet(it, x->stream))
        return false;
    bt_event_class *ec = event_class(it, x);
    if (!ec) {
        fail(it, "cannot make the event class of %s (out of memory)", e->desc->name);
        return false;
    }
    bt_message *m = bt_message_event_create_with_packet_and_default_clock_snapshot(
        it->self, ec, it->pkts[x->stream], (uint64_t)e->ts);
    if (!m)
        return push(it, NULL, "event");
    bt_field *pl = bt_event_borrow_payload_field(bt_message_event_borrow_event(m));
    for (unsigned i = 0; i < e->desc->nfields; i++) {            /* S5 */
        bt_field *f = bt_field_structure_borrow_member_field_by_index(pl, i);
        if ((int)i == x->str_slot) {
            if (bt_field_string_set_value(f, e->str ? e->str : "") !=
                BT_FIELD_STRING_SET_VALUE_STATUS_OK) {
                bt_message_put_ref(m);
                return push(it, NULL, "event");
            }
        } else if (x->signed_slots & (1u << i)) {
            bt_field_integer_signed_set_value(f, (int64_t)e->v[i]);
        } else {
            bt_field_integer_unsigned_set_value(f, e->v[i]);
        }
    }
    return push(it, m, "event");
}

static void on_item(struct it *it, const struct ctfn_item *x)
{
    if (x->stream >= it->ns) {      /* the reader's bug, not the trace's */
        fail(it, "the reader named stream %u of %zu", x->stream, it->ns);
        return;
    }
    bt_message *m;
    switch (x->kind) {
    case CTFN_EVENT:
        on_event(it, x);
        return;
    case CTFN_PACKET:                                             /* S6 */
        begin_packet(it, x->stream);
        return;
    case CTFN_LOSS:
        if (x->packets) {
            if (!end_packet(it, x->stream))
                return;
            m = bt_message_discarded_packets_create(it->self, it->streams[x->stream]);
            if (m && x->count)
                bt_message_discarded_packets_set_count(m, x->count);
            push(it, m, "discarded packets");
        } else {
            m = bt_message_discarded_events_create(it->self, it->streams[x->stream]);
            if (m && x->count)
                bt_message_discarded_events_set_count(m, x->count);
            push(it, m, "discarded events");
        }
        return;
    }
}

/* S8: one step of the table: it queues messages or changes the state. */
static void step(struct it *it)
{
    switch (it->st) {
    case ST_BEGIN:
        for (size_t i = 0; i < it->ns; i++)
            if (!push(it, bt_message_stream_beginning_create(it->self, it->streams[i]),
                      "stream beginning"))
                return;
        it->st = ST_READ;
        return;
    case ST_READ: {
        struct ctfn_item x;
        char err[ERRLEN];
        int rc = ctfn_next(it->r, &x, err, sizeof(err));
        if (rc > 0)
            on_item(it, &x);
        else if (rc == 0)
            it->st = ST_CLOSE;
        else
            fail(it, "%s", err);
        return;
    }
    case ST_CLOSE:
        for (size_t i = 0; i < it->ns; i++)
            if (!end_packet(it, (uint32_t)i) ||
                !push(it, bt_message_stream_end_create(it->self, it->streams[i]),
                      "stream end"))
                return;
        it->st = ST_END;
        return;
    case ST_FAILED:
    case ST_END:
        return;
    }
}

bt_message_iterator_class_next_method_status
src_ctf_iter_next(bt_self_message_iterator *self, bt_message_array_const msgs,
                  uint64_t capacity, uint64_t *count)
{
    struct it *it = bt_self_message_iterator_get_data(self);
    *count = 0;
    while (*count < capacity) {
        if (it->qn) {
            msgs[(*count)++] = it->q[it->qhead++];
            it->qn--;
            continue;
        }
        if (it->st == ST_FAILED || it->st == ST_END)
            break;
        step(it);
    }
    if (*count)
        return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
    if (it->st == ST_END)
        return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self,      /* S8 */
        NAME ": reading '%s': %s", it->input, it->err ? it->err : "out of memory");
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
}
