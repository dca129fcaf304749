/*
 * tests/unit/test-analysis-source-ctf.c - the plugin's source.hvlab.ctf
 * (analysis/plugin/source_ctf.c) in a babeltrace2 graph of its own:
 * the source -> filter.utils.muxer -> a sink that decodes every event with
 * event.c's decoder, as sink.hvlab.check does.  The trace is
 * tests/unit/ctf_fixture.h's, and what the native reader's callbacks get
 * from it is the reference.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <babeltrace2/babeltrace.h>

#include "analysis/ctf.h"
#include "analysis/ctf_native.h"
#include "analysis/event.h"
#include "analysis/plugin/source_ctf.h"
#include "tests/unit/test.h"
#include "tests/unit/ctf_fixture.h"

/* source.hvlab.ctf as hvlab.c registers it, made here without the .so */
static bt_component_class_source *source_class(void)
{
    bt_message_iterator_class *ic = bt_message_iterator_class_create(src_ctf_iter_next);
    REQUIRE(ic != NULL);
    bt_message_iterator_class_set_initialize_method(ic, src_ctf_iter_init);
    bt_message_iterator_class_set_finalize_method(ic, src_ctf_iter_finalize);
    bt_component_class_source *c = bt_component_class_source_create("ctf", ic);
    bt_message_iterator_class_put_ref(ic);
    REQUIRE(c != NULL);
    bt_component_class_source_set_initialize_method(c, src_ctf_init);
    bt_component_class_source_set_finalize_method(c, src_ctf_finalize);
    bt_component_class_source_set_query_method(c, src_ctf_query);
    return c;
}

static bt_value *inputs(const char *d)
{
    bt_value *p = bt_value_map_create(), *arr = NULL;
    REQUIRE(p && bt_value_map_insert_empty_array_entry(p, "inputs", &arr) ==
                 BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK);
    REQUIRE(bt_value_array_append_string_element(arr, d) ==
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK);
    return p;
}

/* Does a cause of the thread's error hold want?  The error is released. */
static bool error_says(const char *want, char *all, size_t len)
{
    const bt_error *e = bt_current_thread_take_error();
    bool hit = false;
    size_t off = 0;
    if (all && len)
        all[0] = '\0';
    for (uint64_t i = 0; e && i < bt_error_get_cause_count(e); i++) {
        const char *m = bt_error_cause_get_message(bt_error_borrow_cause_by_index(e, i));
        hit = hit || strstr(m, want) != NULL;
        if (all && off < len)
            off += (size_t)snprintf(all + off, len - off, "%s | ", m);
    }
    if (e)
        bt_error_release(e);
    return hit;
}

/* ------------------------------------------------------------ the sink */

struct seen {
    bt_message_iterator *it;
    struct hv_decoder *dec;
    struct got g;               /* the events, as the native callbacks keep them */
    uint64_t disc_events, disc_packets;
    unsigned nbegin, nend, pkt_open, pkt_bad;
};

static bt_graph_simple_sink_component_initialize_func_status
sk_init(bt_message_iterator *it, void *data)
{
    ((struct seen *)data)->it = it;
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_INITIALIZE_FUNC_STATUS_OK;
}

static void on_msg(struct seen *s, const bt_message *m)
{
    uint64_t n = 0;
    switch (bt_message_get_type(m)) {
    case BT_MESSAGE_TYPE_EVENT: {
        int64_t ns = 0;
        bool has_ts = ctf_event_ns(m, &ns);
        struct hv_ev e;
        char err[256];
        CHECK_EQ(hv_decode(s->dec, bt_message_event_borrow_event_const(m), ns, has_ts, &e,
                           err, sizeof(err)), 0);
        e.stream = 0;
        on_event(&e, has_ts, &s->g, err, sizeof(err));
        break;
    }
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
        if (bt_message_discarded_events_get_count(m, &n) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
            s->disc_events += n;
        break;
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
        s->pkt_bad += s->pkt_open & 1;      /* S6: only between packets (chan_0) */
        if (bt_message_discarded_packets_get_count(m, &n) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
            s->disc_packets += n;
        break;
    case BT_MESSAGE_TYPE_PACKET_BEGINNING:
    case BT_MESSAGE_TYPE_PACKET_END: {
        const bt_packet *p = bt_message_get_type(m) == BT_MESSAGE_TYPE_PACKET_BEGINNING
            ? bt_message_packet_beginning_borrow_packet_const(m)
            : bt_message_packet_end_borrow_packet_const(m);
        const char *name = bt_stream_get_name(bt_packet_borrow_stream_const(p));
        unsigned bit = name && strstr(name, "chan_1") ? 2 : 1;
        if (bt_message_get_type(m) == BT_MESSAGE_TYPE_PACKET_BEGINNING) {
            s->pkt_bad += (s->pkt_open & bit) != 0;
            s->pkt_open |= bit;
        } else {
            s->pkt_bad += (s->pkt_open & bit) == 0;
            s->pkt_open &= ~bit;
        }
        break;
    }
    case BT_MESSAGE_TYPE_STREAM_BEGINNING:
        s->nbegin++;
        break;
    case BT_MESSAGE_TYPE_STREAM_END:
        s->nend++;
        break;
    default:
        break;
    }
}

static bt_graph_simple_sink_component_consume_func_status
sk_consume(bt_message_iterator *it, void *data)
{
    struct seen *s = data;
    (void)it;
    bt_message_array_const msgs;
    uint64_t count = 0;
    switch (bt_message_iterator_next(s->it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        for (uint64_t i = 0; i < count; i++) {
            on_msg(s, msgs[i]);
            bt_message_put_ref(msgs[i]);
        }
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
    default:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
    }
}

/* source(params) -> muxer -> the sink; the graph's last status. */
static bt_graph_run_status run_graph(const bt_value *params, struct seen *s)
{
    static bt_component_class_source *cls;
    if (!cls)
        cls = source_class();
    const bt_plugin *utils = NULL;
    REQUIRE(bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) ==
            BT_PLUGIN_FIND_STATUS_OK);
    const bt_component_class_filter *mux_cls =
        bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
    REQUIRE(mux_cls != NULL);
    bt_graph *g = bt_graph_create(0);
    const bt_component_source *src = NULL;
    const bt_component_filter *mux = NULL;
    const bt_component_sink *sink = NULL;
    memset(s, 0, sizeof(*s));
    s->dec = hv_decoder_new();
    REQUIRE(g && s->dec);
    bt_graph_run_status st = BT_GRAPH_RUN_STATUS_ERROR;
    if (bt_graph_add_source_component(g, cls, "src", params, BT_LOGGING_LEVEL_NONE, &src) !=
        BT_GRAPH_ADD_COMPONENT_STATUS_OK)
        goto out;
    REQUIRE(bt_graph_add_filter_component(g, mux_cls, "mux", NULL, BT_LOGGING_LEVEL_NONE,
                                          &mux) == BT_GRAPH_ADD_COMPONENT_STATUS_OK);
    REQUIRE(bt_graph_add_simple_sink_component(g, "sink", sk_init, sk_consume, NULL, s,
                                               &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK);
    for (uint64_t i = 0; i < bt_component_source_get_output_port_count(src); i++)
        REQUIRE(bt_graph_connect_ports(g,
                    bt_component_source_borrow_output_port_by_index_const(src, i),
                    bt_component_filter_borrow_input_port_by_index_const(mux, i), NULL) ==
                BT_GRAPH_CONNECT_PORTS_STATUS_OK);
    REQUIRE(bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_index_const(mux, 0),
                                   bt_component_sink_borrow_input_port_by_index_const(sink, 0),
                                   NULL) == BT_GRAPH_CONNECT_PORTS_STATUS_OK);
    do
        st = bt_graph_run(g);
    while (st == BT_GRAPH_RUN_STATUS_AGAIN);
out:
    bt_graph_put_ref(g);
    bt_plugin_put_ref(utils);
    hv_decoder_free(s->dec);
    s->dec = NULL;
    return st;
}

/* ------------------------------------------------------------- tests */

static void same_events(const struct got *a, const struct got *b)
{
    CHECK_EQ(a->n, b->n);
    for (int i = 0; i < a->n && i < b->n && i < 16; i++) {
        CHECK_EQ(a->ev[i].id, b->ev[i].id);
        CHECK_EQ(a->ev[i].ts, b->ev[i].ts);
        CHECK_EQ(a->has_ts[i], b->has_ts[i]);
        /* the catalog's slots (the reader leaves the ones past them as
           they were: nothing reads them, event.h V2) */
        for (unsigned f = 0; a->ev[i].desc && f < a->ev[i].desc->nfields; f++)
            CHECK_HEX(a->ev[i].v[f], b->ev[i].v[f]);
        CHECK(!strcmp(a->str[i], b->str[i]));
    }
}

/* S3-S6: what the sink decodes is what the native reader gives. */
static void t_whole(void)
{
    make_trace();
    struct got want = { .n = 0 };
    char err[2048];
    REQUIRE(ctfn_read(dir, &OPS, &want, err, sizeof(err)) == 1);
    bt_value *p = inputs(dir);
    struct seen s;
    CHECK_EQ(run_graph(p, &s), BT_GRAPH_RUN_STATUS_OK);
    same_events(&s.g, &want);
    CHECK_EQ(s.g.n, 5);
    CHECK_EQ(hv_s(&s.g.ev[0], HVF_rc), -22);            /* signed, as the metadata says */
    CHECK(!strcmp(s.g.str[1], "mig.send.page"));         /* the one string */
    CHECK_EQ(s.disc_events, want.disc_events);           /* S6: 5 */
    CHECK_EQ(s.disc_packets, want.disc_packets);         /* 1 */
    CHECK_EQ(s.nbegin, 2);
    CHECK_EQ(s.nend, 2);
    CHECK_EQ(s.pkt_bad, 0);
    CHECK_EQ(s.pkt_open, 0);
    bt_value_put_ref(p);
    remove_trace();
}

/* S8: a cut file: every event before, then the reader's message. */
static void t_cut(void)
{
    make_trace();
    char path[512];
    snprintf(path, sizeof(path), "%s/t/chan_0", dir);
    REQUIRE(truncate(path, 84 + 10 + 40) == 0);
    struct got want = { .n = 0 };
    char werr[2048], all[8192];
    REQUIRE(ctfn_read(dir, &OPS, &want, werr, sizeof(werr)) == -1);
    bt_value *p = inputs(dir);
    struct seen s;
    CHECK_EQ(run_graph(p, &s), BT_GRAPH_RUN_STATUS_ERROR);
    same_events(&s.g, &want);
    CHECK(s.g.n >= 2);
    CHECK(error_says(werr, all, sizeof(all)));          /* the very message */
    CHECK(strstr(all, "chan_0' is cut short: it ends at byte offset 134") != NULL);
    bt_value_put_ref(p);
    remove_trace();
}

/* S1: every wrong parameter is refused at init, naming what was wrong. */
static void t_params(void)
{
    make_trace();
    static const struct {
        const char *json_like;      /* what is built below, for the message */
        const char *want;
    } cases[] = {
        { "(none)", "parameter 'inputs' is missing" },
        { "inputs=\"x\"", "must be a non-empty array of strings" },
        { "inputs=[]", "must be a non-empty array of strings" },
        { "inputs=[1]", "inputs[0] is not a string" },
        { "inputs=[\"/nonexistent\"]", "cannot read trace directory '/nonexistent'" },
        { "inputs=[DIR/none]", "no CTF trace below" },
        { "inputs=[DIR],jsn=1", "unknown parameter 'jsn'" },
    };
    char none[512];
    snprintf(none, sizeof(none), "%s/none", dir);
    REQUIRE(mkdir(none, 0700) == 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bt_value *p = bt_value_map_create(), *arr = NULL;
        switch (i) {
        case 0: break;
        case 1: bt_value_map_insert_string_entry(p, "inputs", "x"); break;
        case 2: bt_value_map_insert_empty_array_entry(p, "inputs", &arr); break;
        case 3: bt_value_map_insert_empty_array_entry(p, "inputs", &arr);
                bt_value_array_append_signed_integer_element(arr, 1); break;
        case 4: bt_value_map_insert_empty_array_entry(p, "inputs", &arr);
                bt_value_array_append_string_element(arr, "/nonexistent"); break;
        case 5: bt_value_map_insert_empty_array_entry(p, "inputs", &arr);
                bt_value_array_append_string_element(arr, none); break;
        default: bt_value_map_insert_empty_array_entry(p, "inputs", &arr);
                 bt_value_array_append_string_element(arr, dir);
                 bt_value_map_insert_signed_integer_entry(p, "jsn", 1); break;
        }
        struct seen s;
        char all[4096];
        CHECK_EQ(run_graph(p, &s), BT_GRAPH_RUN_STATUS_ERROR);
        if (!error_says(cases[i].want, all, sizeof(all))) {
            fprintf(stderr, "  %s: no cause says \"%s\": %s\n", cases[i].json_like,
                    cases[i].want, all);
            CHECK(false);
        }
        CHECK_EQ(s.g.n, 0);
        bt_value_put_ref(p);
    }
    remove_trace();
}

static double support(bt_component_class_source *cls, const char *in, const char *type,
                      bool *ok)
{
    bt_value *p = bt_value_map_create();
    REQUIRE(p);
    if (in)
        bt_value_map_insert_string_entry(p, "input", in);
    if (type)
        bt_value_map_insert_string_entry(p, "type", type);
    bt_query_executor *q = bt_query_executor_create(
        bt_component_class_source_as_component_class_const(cls), "babeltrace.support-info", p);
    REQUIRE(q);
    const bt_value *r = NULL;
    *ok = bt_query_executor_query(q, &r) == BT_QUERY_EXECUTOR_QUERY_STATUS_OK &&
          r && bt_value_is_real(r);
    double w = *ok ? bt_value_real_get(r) : -1;
    bt_value_put_ref(r);
    bt_query_executor_put_ref(q);
    bt_value_put_ref(p);
    return w;
}

/* S2: the weight beats source.ctf.fs's only where a stream file is cut. */
static void t_support_info(void)
{
    make_trace();
    bt_component_class_source *cls = source_class();
    bool ok;
    char t[512], path[512];
    snprintf(t, sizeof(t), "%s/t", dir);
    CHECK(support(cls, dir, "directory", &ok) == 0 && ok);          /* whole */
    snprintf(path, sizeof(path), "%s/t/chan_1", dir);
    REQUIRE(truncate(path, 60) == 0);
    CHECK(support(cls, dir, "directory", &ok) == SRC_CTF_WEIGHT && ok);
    CHECK(support(cls, t, "directory", &ok) == SRC_CTF_WEIGHT && ok);
    CHECK(SRC_CTF_WEIGHT > 0.75);
    CHECK(support(cls, t, "string", &ok) == 0 && ok);
    CHECK(support(cls, path, "file", &ok) == 0 && ok);
    CHECK(support(cls, "/nonexistent", "directory", &ok) == 0 && ok);   /* never an error */
    REQUIRE(truncate(path, 0) == 0);            /* empty: source.ctf.fs reads the rest */
    CHECK(support(cls, dir, "directory", &ok) == 0 && ok);
    support(cls, NULL, "directory", &ok);       /* a query without input: an error */
    CHECK(!ok);
    CHECK(error_says("wants the parameters input", NULL, 0));
    bt_component_class_source_put_ref(cls);
    remove_trace();
}

static const struct test tests[] = {
    { "a whole trace through source -> muxer -> sink: the native reader's events, values, "
      "signedness and string, 5 discarded events and 1 discarded packet, packets paired",
      t_whole },
    { "a cut stream file: every event before the cut, then an error whose cause is the "
      "reader's message (the file, byte offset 134, the packet)", t_cut },
    { "a missing, mistyped, empty or unknown parameter and a directory without a trace "
      "fail the init with a cause naming what was wrong", t_params },
    { "babeltrace.support-info: 0.8 for a directory with a cut stream file, 0 for a whole "
      "or empty-file trace, a file, a string, a missing path; bad parameters an error",
      t_support_info },
};

TEST_MAIN(tests)
