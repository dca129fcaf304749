/*
 * tests/unit/test-analysis-event.c - the event catalog (analysis/event.c),
 * the babeltrace2 decoder fed by a real in-process graph, the findings list
 * (analysis/finding.c: caps, text, JSON escaping) and the engine's dispatch
 * (analysis/analyze.c).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <babeltrace2/babeltrace.h>

#include "analysis/analyze.h"
#include "analysis/analyze_read.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "tests/unit/test.h"

/* ---- the catalog -------------------------------------------------------- */

static const struct { enum hv_event_id id; const char *name, *fields; } rows[] = {
#define HV_EVENT(prov, name, full, fields) { HVE_##prov##_##name, full, fields },
#include "analysis/events.def"
#undef HV_EVENT
};

static const char *const fnames[] = {
#define HV_FIELD(name) #name,
#include "analysis/events.def"
#undef HV_FIELD
};

static void t_catalog_complete(void)
{
    CHECK_EQ(sizeof(rows) / sizeof(rows[0]), HVE__COUNT - 1);
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        const struct hv_event_desc *d = hv_event_desc(rows[r].id);
        REQUIRE(d);
        CHECK(!strcmp(d->name, rows[r].name));
        /* the fields, in order, are the words of the def's list */
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", rows[r].fields);
        unsigned n = 0;
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w;
             w = strtok_r(NULL, " ", &save), n++) {
            REQUIRE(n < d->nfields);
            CHECK(!strcmp(hv_field_name(d->field[n]), w));
            CHECK_EQ(d->pos[d->field[n]], n);
        }
        CHECK_EQ(d->nfields, n);
        unsigned present = 0;
        for (int f = 0; f < HVF__COUNT; f++)
            present += d->pos[f] != HV_NOFIELD;
        CHECK_EQ(present, n);
        CHECK_EQ(hv_event_by_name(rows[r].name), rows[r].id);
    }
    CHECK(hv_event_desc(HVE_NONE) == NULL);
    CHECK(hv_event_desc(HVE__COUNT) == NULL);
}

static void t_names(void)
{
    for (int f = 0; f < HVF__COUNT; f++) {
        CHECK(!strcmp(hv_field_name((enum hv_field_id)f), fnames[f]));
        CHECK_EQ(hv_field_by_name(fnames[f]), f);
    }
    CHECK_EQ(hv_field_by_name("no_such_field"), HVF__COUNT);
    CHECK_EQ(hv_field_by_name(""), HVF__COUNT);
    CHECK_EQ(hv_event_by_name("hvlab_mm:no_such_event"), HVE_NONE);
    CHECK_EQ(hv_event_by_name("lttng_ust_statedump:start"), HVE_NONE);
    CHECK_EQ(hv_event_by_name("hvlab_mm"), HVE_NONE);
    CHECK_EQ(hv_event_by_name(NULL), HVE_NONE);
}

static void t_set_roundtrip(void)
{
    struct hv_ev e;
    hv_ev_init(&e, HVE_mm_type_change, 1500000000, 7);
    CHECK_EQ(e.id, HVE_mm_type_change);
    CHECK_EQ(e.ts, 1500000000);
    CHECK_EQ(e.seq, 7);
    CHECK_EQ(hv_ev_set(&e, HVF_mfn, 0x8123), 0);
    CHECK_EQ(hv_ev_set(&e, HVF_new_type, 0xe000000000000001ull), 0);
    CHECK_HEX(hv_u(&e, HVF_mfn), 0x8123);
    CHECK_HEX(hv_u(&e, HVF_new_type), 0xe000000000000001ull);
    CHECK(hv_has(&e, HVF_owner));
    /* a field the event does not have: refused, nothing changes, reads 0 */
    struct hv_ev before = e;
    CHECK_EQ(hv_ev_set(&e, HVF_gfn, 5), -1);
    CHECK(!memcmp(&before, &e, sizeof(e)));
    CHECK(!hv_has(&e, HVF_gfn));
    CHECK_EQ(hv_u(&e, HVF_gfn), 0);
    /* an event of no id has no fields at all */
    struct hv_ev none;
    hv_ev_init(&none, HVE_NONE, 0, 0);
    CHECK(none.desc == NULL);
    CHECK_EQ(hv_ev_set(&none, HVF_mfn, 1), -1);
    CHECK(!hv_has(&none, HVF_mfn));
}

static void t_signed(void)
{
    struct hv_ev e;
    hv_ev_init(&e, HVE_hcall_exit, 0, 0);
    CHECK_EQ(hv_ev_set(&e, HVF_rc, (uint64_t)(int64_t)-22), 0);
    CHECK_EQ(hv_s(&e, HVF_rc), -22);
    char buf[256];
    hv_ev_format(&e, buf, sizeof(buf));
    CHECK(strstr(buf, " rc=-22") != NULL);
}

static void t_format(void)
{
    struct hv_ev e;
    hv_ev_init(&e, HVE_mm_type_change, 12345678901LL, 3);
    hv_ev_set(&e, HVF_host, 0);
    hv_ev_set(&e, HVF_mfn, 0x1234);
    hv_ev_set(&e, HVF_owner, 2);
    hv_ev_set(&e, HVF_new_type, 10);
    char buf[256];
    CHECK(hv_ev_format(&e, buf, sizeof(buf)) == buf);
    CHECK(!strncmp(buf, "12.345678901 hvlab_mm:type_change host=0 mfn=0x1234 owner=2 ",
                   strlen("12.345678901 hvlab_mm:type_change host=0 mfn=0x1234 owner=2 ")));
    CHECK(strstr(buf, " new_type=0xa") != NULL);
    /* every field is there, in order */
    CHECK(strstr(buf, "old_count=0 new_count=0 old_type=0 new_type=0xa") != NULL);
    /* a short buffer is cut, terminated */
    char small[20];
    memset(small, 'x', sizeof(small));
    hv_ev_format(&e, small, sizeof(small));
    CHECK_EQ(strlen(small), sizeof(small) - 1);
}

/* ---- the decoder, on a real babeltrace2 graph ---------------------------- */

/*
 * A source component that makes four event classes and one event of each:
 *   hvlab_hcall:exit    members in another order than the catalog, one extra,
 *                       rc signed 32-bit = -22 (sign extension);
 *   hvlab_inject:fire   point a string, action an enumeration, err signed;
 *   hvlab_mm:m2p_set    lacking new_pfn (a trace from another build);
 *   other:thing         not an hvlab event.
 */
struct src {
    bt_stream *stream;
    bt_event_class *ec[4];
    int step;
};

static bt_field_class *uint_fc(bt_trace_class *tc, unsigned bits)
{
    bt_field_class *f = bt_field_class_integer_unsigned_create(tc);
    bt_field_class_integer_set_field_value_range(f, bits);
    return f;
}

static bt_field_class *sint_fc(bt_trace_class *tc, unsigned bits)
{
    bt_field_class *f = bt_field_class_integer_signed_create(tc);
    bt_field_class_integer_set_field_value_range(f, bits);
    return f;
}

static void member(bt_field_class *st, const char *name, bt_field_class *f)
{
    bt_field_class_structure_append_member(st, name, f);
    bt_field_class_put_ref(f);
}

static bt_event_class *make_ec(bt_stream_class *sc, const char *name, bt_field_class *payload)
{
    bt_event_class *ec = bt_event_class_create(sc);
    bt_event_class_set_name(ec, name);
    bt_event_class_set_payload_field_class(ec, payload);
    bt_field_class_put_ref(payload);
    return ec;
}

static bt_message_iterator_class_initialize_method_status
src_iter_init(bt_self_message_iterator *it, bt_self_message_iterator_configuration *cfg,
              bt_self_component_port_output *port)
{
    (void)cfg;
    (void)port;
    bt_self_component *self = bt_self_message_iterator_borrow_component(it);
    struct src *s = calloc(1, sizeof(*s));
    bt_trace_class *tc = bt_trace_class_create(self);
    bt_stream_class *sc = bt_stream_class_create(tc);

    bt_field_class *p = bt_field_class_structure_create(tc);
    member(p, "rc", sint_fc(tc, 32));
    member(p, "op", uint_fc(tc, 32));
    member(p, "extra", uint_fc(tc, 8));
    member(p, "vcpu", uint_fc(tc, 16));
    member(p, "dom", uint_fc(tc, 16));
    member(p, "host", uint_fc(tc, 8));
    s->ec[0] = make_ec(sc, "hvlab_hcall:exit", p);

    p = bt_field_class_structure_create(tc);
    member(p, "point", bt_field_class_string_create(tc));
    member(p, "point_id", uint_fc(tc, 32));
    member(p, "binding", uint_fc(tc, 32));
    bt_field_class *en = bt_field_class_enumeration_unsigned_create(tc);
    bt_field_class_integer_set_field_value_range(en, 8);
    bt_integer_range_set_unsigned *rs = bt_integer_range_set_unsigned_create();
    bt_integer_range_set_unsigned_add_range(rs, 2, 2);
    bt_field_class_enumeration_unsigned_add_mapping(en, "fail", rs);
    bt_integer_range_set_unsigned_put_ref(rs);
    member(p, "action", en);
    member(p, "dom", uint_fc(tc, 16));
    member(p, "vcpu", uint_fc(tc, 16));
    member(p, "hit", uint_fc(tc, 64));
    member(p, "err", sint_fc(tc, 32));
    member(p, "ns", uint_fc(tc, 64));
    member(p, "subject", uint_fc(tc, 64));
    s->ec[1] = make_ec(sc, "hvlab_inject:fire", p);

    p = bt_field_class_structure_create(tc);
    member(p, "host", uint_fc(tc, 8));
    member(p, "mfn", uint_fc(tc, 64));
    member(p, "old_pfn", uint_fc(tc, 64));
    s->ec[2] = make_ec(sc, "hvlab_mm:m2p_set", p);

    p = bt_field_class_structure_create(tc);
    member(p, "x", uint_fc(tc, 8));
    s->ec[3] = make_ec(sc, "other:thing", p);

    bt_trace *tr = bt_trace_create(tc);
    s->stream = bt_stream_create(sc, tr);
    bt_trace_put_ref(tr);
    bt_stream_class_put_ref(sc);
    bt_trace_class_put_ref(tc);
    bt_self_message_iterator_set_data(it, s);
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static void src_iter_fini(bt_self_message_iterator *it)
{
    struct src *s = bt_self_message_iterator_get_data(it);
    for (int i = 0; i < 4; i++)
        bt_event_class_put_ref(s->ec[i]);
    bt_stream_put_ref(s->stream);
    free(s);
}

static void set_u(bt_field *payload, const char *name, uint64_t v)
{
    bt_field_integer_unsigned_set_value(
        bt_field_structure_borrow_member_field_by_name(payload, name), v);
}

static bt_message_iterator_class_next_method_status
src_next(bt_self_message_iterator *it, bt_message_array_const msgs, uint64_t cap,
         uint64_t *count)
{
    struct src *s = bt_self_message_iterator_get_data(it);
    (void)cap;
    if (s->step == 6)
        return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
    bt_message *m;
    if (s->step == 0) {
        m = bt_message_stream_beginning_create(it, s->stream);
    } else if (s->step == 5) {
        m = bt_message_stream_end_create(it, s->stream);
    } else {
        m = bt_message_event_create(it, s->ec[s->step - 1], s->stream);
        bt_field *p = bt_event_borrow_payload_field(bt_message_event_borrow_event(m));
        switch (s->step) {
        case 1:
            bt_field_integer_signed_set_value(
                bt_field_structure_borrow_member_field_by_name(p, "rc"), -22);
            set_u(p, "op", 26);
            set_u(p, "extra", 99);
            set_u(p, "vcpu", 1);
            set_u(p, "dom", 3);
            set_u(p, "host", 1);
            break;
        case 2:
            bt_field_string_set_value(
                bt_field_structure_borrow_member_field_by_name(p, "point"), "mm.get_page");
            set_u(p, "point_id", 4);
            set_u(p, "binding", 0);
            set_u(p, "action", 2);
            set_u(p, "dom", 1);
            set_u(p, "vcpu", 0);
            set_u(p, "hit", 17);
            bt_field_integer_signed_set_value(
                bt_field_structure_borrow_member_field_by_name(p, "err"), -12);
            set_u(p, "ns", 0);
            set_u(p, "subject", 0x2a);
            break;
        case 3:
            set_u(p, "host", 0);
            set_u(p, "mfn", 5);
            set_u(p, "old_pfn", 6);
            break;
        default:
            set_u(p, "x", 1);
        }
    }
    s->step++;
    msgs[0] = m;
    *count = 1;
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
}

static bt_component_class_initialize_method_status
src_init(bt_self_component_source *self, bt_self_component_source_configuration *cfg,
         const bt_value *params, void *data)
{
    (void)cfg;
    (void)params;
    (void)data;
    bt_self_component_source_add_output_port(self, "out", NULL, NULL);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

/* What the sink saw. */
static struct {
    struct hv_decoder *d;
    int rc[8];
    struct hv_ev ev[8];
    char str[8][64];
    char err[8][512];
    int n;
} seen;

static bt_graph_simple_sink_component_initialize_func_status
sink_init(bt_message_iterator *it, void *data)
{
    (void)it;
    (void)data;
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_INITIALIZE_FUNC_STATUS_OK;
}

static bt_graph_simple_sink_component_consume_func_status
sink_consume(bt_message_iterator *it, void *data)
{
    (void)data;
    bt_message_array_const msgs;
    uint64_t count;
    bt_message_iterator_next_status st = bt_message_iterator_next(it, &msgs, &count);
    if (st == BT_MESSAGE_ITERATOR_NEXT_STATUS_END)
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
    if (st != BT_MESSAGE_ITERATOR_NEXT_STATUS_OK)
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
    for (uint64_t i = 0; i < count; i++) {
        if (bt_message_get_type(msgs[i]) == BT_MESSAGE_TYPE_EVENT && seen.n < 8) {
            /* twice: the second goes through the decoder's class cache */
            for (int pass = 0; pass < 2; pass++) {
                int k = seen.n;
                seen.ev[k].seq = 1000 + (uint64_t)k;
                seen.rc[k] = hv_decode(seen.d, bt_message_event_borrow_event_const(msgs[i]),
                                       42, true, &seen.ev[k], seen.err[k],
                                       sizeof(seen.err[k]));
                if (seen.ev[k].str)
                    snprintf(seen.str[k], sizeof(seen.str[k]), "%s", seen.ev[k].str);
                if (pass == 1)
                    seen.n++;
            }
        }
        bt_message_put_ref(msgs[i]);
    }
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

static void run_source_graph(void)
{
    seen.d = hv_decoder_new();
    REQUIRE(seen.d);
    bt_message_iterator_class *mic = bt_message_iterator_class_create(src_next);
    bt_message_iterator_class_set_initialize_method(mic, src_iter_init);
    bt_message_iterator_class_set_finalize_method(mic, src_iter_fini);
    bt_component_class_source *cc = bt_component_class_source_create("src", mic);
    bt_component_class_source_set_initialize_method(cc, src_init);
    bt_graph *g = bt_graph_create(0);
    const bt_component_source *src;
    const bt_component_sink *sink;
    REQUIRE(bt_graph_add_source_component(g, cc, "src", NULL, BT_LOGGING_LEVEL_NONE,
                                          &src) == BT_GRAPH_ADD_COMPONENT_STATUS_OK);
    REQUIRE(bt_graph_add_simple_sink_component(g, "sink", sink_init, sink_consume,
                                               NULL, NULL, &sink) ==
            BT_GRAPH_ADD_COMPONENT_STATUS_OK);
    REQUIRE(bt_graph_connect_ports(g,
                bt_component_source_borrow_output_port_by_index_const(src, 0),
                bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) ==
            BT_GRAPH_CONNECT_PORTS_STATUS_OK);
    bt_graph_run_status st;
    do
        st = bt_graph_run(g);
    while (st == BT_GRAPH_RUN_STATUS_AGAIN);
    CHECK_EQ(st, BT_GRAPH_RUN_STATUS_OK);
    bt_graph_put_ref(g);
    bt_component_class_source_put_ref(cc);
    bt_message_iterator_class_put_ref(mic);
    hv_decoder_free(seen.d);
}

static void t_decode(void)
{
    run_source_graph();
    REQUIRE(seen.n == 4);
    /* members found by name whatever their order; rc sign-extended */
    struct hv_ev *e = &seen.ev[0];
    CHECK_EQ(seen.rc[0], 0);
    CHECK_EQ(e->id, HVE_hcall_exit);
    CHECK_EQ(hv_s(e, HVF_rc), -22);
    CHECK_HEX(hv_u(e, HVF_rc), (uint64_t)(int64_t)-22);
    CHECK_EQ(hv_u(e, HVF_op), 26);
    CHECK_EQ(hv_u(e, HVF_vcpu), 1);
    CHECK_EQ(hv_u(e, HVF_dom), 3);
    CHECK_EQ(hv_u(e, HVF_host), 1);
    CHECK_EQ(e->ts, 42);
    CHECK_EQ(e->seq, 1000);          /* the caller's, left alone */
    /* string, enumeration and a second signed field */
    e = &seen.ev[1];
    CHECK_EQ(seen.rc[1], 0);
    CHECK_EQ(e->id, HVE_inject_fire);
    CHECK(!strcmp(seen.str[1], "mm.get_page"));
    CHECK_EQ(hv_u(e, HVF_action), 2);
    CHECK_EQ(hv_s(e, HVF_err), -12);
    CHECK_EQ(hv_u(e, HVF_hit), 17);
    CHECK_EQ(hv_u(e, HVF_point_id), 4);
    CHECK_HEX(hv_u(e, HVF_subject), 0x2a);
    /* a payload lacking a catalog field: -1, naming event and field */
    CHECK_EQ(seen.rc[2], -1);
    CHECK(strstr(seen.err[2], "hvlab_mm:m2p_set") != NULL);
    CHECK(strstr(seen.err[2], "new_pfn") != NULL);
    CHECK_EQ(seen.ev[2].id, HVE_NONE);
    /* not an hvlab event: 1, skipped */
    CHECK_EQ(seen.rc[3], 1);
    CHECK_EQ(seen.ev[3].id, HVE_NONE);
}

static void t_format_learned(void)
{
    /* after decoding, the format knows err is signed and point a string */
    run_source_graph();
    REQUIRE(seen.n == 4);
    struct hv_ev e = seen.ev[1];
    e.str = seen.str[1];
    char buf[512];
    hv_ev_format(&e, buf, sizeof(buf));
    CHECK(strstr(buf, "point=\"mm.get_page\"") != NULL);
    CHECK(strstr(buf, " err=-12") != NULL);
    CHECK(strstr(buf, " action=2") != NULL);
}

/* ---- findings ----------------------------------------------------------- */

static char *capture(void (*print)(const struct findings *, FILE *),
                     const struct findings *fs)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    print(fs, f);
    fclose(f);
    return buf;
}

static void t_findings_cap(void)
{
    struct findings *fs = findings_new(3);
    REQUIRE(fs);
    for (int i = 0; i < 10; i++) {
        char what[64];
        snprintf(what, sizeof(what), "copy %d of one problem", i);
        struct finding f = { .checker = "inv.3", .dom = 1, .mfn = 0x10 + (uint64_t)i,
                             .pfn = FINDING_NONE, .ts = i, .seq = (uint64_t)i,
                             .what = what };
        CHECK_EQ(findings_add(fs, &f), 0);
    }
    struct finding g = { .checker = "story-e.dirty-after-send", .dom = FINDING_NODOM,
                         .mfn = FINDING_NONE, .pfn = 0x1a3, .what = "other" };
    CHECK_EQ(findings_add(fs, &g), 0);
    CHECK_EQ(findings_count(fs), 11);
    CHECK_EQ(findings_count_checker(fs, "inv.3"), 10);
    CHECK_EQ(findings_count_checker(fs, "story-e.dirty-after-send"), 1);
    CHECK_EQ(findings_count_checker(fs, "nothing"), 0);
    CHECK_EQ(findings_kept(fs), 4);
    CHECK(!strcmp(findings_get(fs, 2)->what, "copy 2 of one problem"));
    CHECK(!strcmp(findings_get(fs, 3)->checker, "story-e.dirty-after-send"));
    CHECK(findings_get(fs, 4) == NULL);
    char *t = capture(findings_print_text, fs);
    CHECK(strstr(t, "11 findings") != NULL);
    CHECK(strstr(t, "(3 shown, 7 more not shown)") != NULL);
    CHECK(strstr(t, "inv.3: host 0, dom1, mfn 0x12") != NULL);
    CHECK(strstr(t, "pfn 0x1a3") != NULL);
    free(t);
    char *j = capture(findings_print_json, fs);
    CHECK(strstr(j, "\"by_checker\": {\"inv.3\": 10, \"story-e.dirty-after-send\": 1}") != NULL);
    CHECK(strstr(j, "\"total\": 11}") != NULL);
    CHECK(strstr(j, "\"dom\": null") != NULL);
    CHECK(strstr(j, "\"mfn\": null, \"pfn\": \"0x1a3\"") != NULL);
    free(j);
    findings_free(fs);
}

static void t_findings_copy_and_escape(void)
{
    struct findings *fs = findings_new(0);
    char what[64] = "a \"quoted\" back\\slash\nnew line\t\x01 end";
    char h0[32] = "0.1 hvlab_mm:pin \"x\"";
    const char *hist[] = { h0, "0.2 second" };
    struct finding f = { .checker = "rebuild.untraced", .host = 1, .dom = 2,
                         .mfn = 0x8123, .pfn = 0x1a3, .ts = 12410000000LL, .seq = 99,
                         .what = what, .history = hist, .nhistory = 2 };
    CHECK_EQ(findings_add(fs, &f), 0);
    /* F2: the caller's buffers may change afterwards */
    strcpy(what, "overwritten");
    strcpy(h0, "overwritten");
    const struct finding *k = findings_get(fs, 0);
    CHECK(!strncmp(k->what, "a \"quoted\"", 10));
    CHECK(!strcmp(k->history[0], "0.1 hvlab_mm:pin \"x\""));
    CHECK_EQ(k->nhistory, 2);
    char *j = capture(findings_print_json, fs);
    CHECK(strstr(j, "\"what\": \"a \\\"quoted\\\" back\\\\slash\\nnew line\\t\\u0001 end\"") != NULL);
    CHECK(strstr(j, "\"history\": [\"0.1 hvlab_mm:pin \\\"x\\\"\", \"0.2 second\"]") != NULL);
    CHECK(strstr(j, "\"ts\": 12410000000, \"seq\": 99") != NULL);
    free(j);
    char *t = capture(findings_print_text, fs);
    CHECK(strstr(t, "rebuild.untraced: host 1, dom2, mfn 0x8123, pfn 0x1a3, at 12.410000 s (event #99)") != NULL);
    CHECK(strstr(t, "    0.2 second\n") != NULL);
    CHECK(strstr(t, "1 finding:") != NULL);
    free(t);
    findings_free(fs);
    /* an empty list says so, and its JSON is complete */
    fs = findings_new(0);
    t = capture(findings_print_text, fs);
    CHECK(!strcmp(t, "no findings\n"));
    free(t);
    j = capture(findings_print_json, fs);
    CHECK(!strcmp(j, "{\"findings\": [],\n \"by_checker\": {},\n \"total\": 0}\n"));
    free(j);
    findings_free(fs);
}

/* ---- the engine --------------------------------------------------------- */

static void t_engine_only(void)
{
    /* --only prefixes end at a dot; exact names match */
    const char *a[] = { "story-e", NULL };
    CHECK(az_selected(a, "story-e.dirty-after-send"));
    CHECK(!az_selected(a, "story-ex.other"));
    const char *b[] = { "inv.3", NULL };
    CHECK(az_selected(b, "inv.3"));
    CHECK(!az_selected(b, "inv.30"));
    CHECK(az_selected(NULL, "anything"));
    /* selecting nothing that exists runs no checker, feeding still works */
    const char *none[] = { "no-such-checker", NULL };
    struct az *az = az_new(&(struct az_options){ .only = none });
    REQUIRE(az);
    CHECK_EQ(az_checker_count(az), 0);
    struct hv_ev e;
    hv_ev_init(&e, HVE_mm_page_alloc, 1, 0);
    hv_ev_set(&e, HVF_mfn, 0x42);
    az_feed(az, &e);
    hv_ev_init(&e, HVE_NONE, 2, 1);
    az_feed(az, &e);                    /* not an hvlab event: not counted */
    CHECK_EQ(az_events(az), 1);
    az_discarded(az, 0);                /* a loss without a number is one */
    az_discarded(az, 5);
    CHECK_EQ(az_discarded_events(az), 6);
    az_end(az);
    az_end(az);
    az_feed(az, &e);
    CHECK_EQ(az_events(az), 1);
    /* rebuild.untraced not selected: the state's findings go nowhere */
    CHECK_EQ(findings_count(az_findings(az)), 0);
    az_free(az);
}

static void t_engine_report(void)
{
    struct az *az = az_new(NULL);
    REQUIRE(az);
    size_t n = 0;
    while (hv_checkers[n])
        n++;
    CHECK_EQ(az_checker_count(az), n);
    struct hv_ev e;
    hv_ev_init(&e, HVE_mm_page_alloc, 5000000000LL, 17);
    hv_ev_set(&e, HVF_mfn, 0x42);
    hv_ev_set(&e, HVF_owner, 1);
    az_feed(az, &e);
    az_report(az, "test.one", &e, 0, 1, 0x42, FINDING_NONE, "frame %#x of dom%d", 0x42, 1);
    const struct finding *f = NULL;
    for (size_t i = 0; i < findings_kept(az_findings(az)); i++)
        if (!strcmp(findings_get(az_findings(az), i)->checker, "test.one"))
            f = findings_get(az_findings(az), i);
    REQUIRE(f);
    CHECK(!strcmp(f->what, "frame 0x42 of dom1"));
    CHECK_EQ(f->ts, 5000000000LL);
    CHECK_EQ(f->seq, 17);
    CHECK_EQ(f->dom, 1);
    CHECK_HEX(f->mfn, 0x42);
    /* K5: the frame's history comes from the state */
    CHECK(f->nhistory >= 1);
    if (f->nhistory)
        CHECK(strstr(f->history[f->nhistory - 1], "hvlab_mm:page_alloc") != NULL);
    az_end(az);
    az_free(az);
}

static const struct test tests[] = {
    { "every catalog event has a desc with its fields in order, found by name",
      t_catalog_complete },
    { "field names and ids map both ways; unknown names are refused", t_names },
    { "hv_ev_set / hv_u round trip; a field the event lacks is refused", t_set_roundtrip },
    { "a negative rc set as bits reads back signed and formats as -22", t_signed },
    { "hv_ev_format prints time, name and every field, hex above 9", t_format },
    { "the decoder finds members by name, sign-extends, reads enums and strings, "
      "refuses a payload lacking a field and skips other events", t_decode },
    { "after decoding, the format prints learned strings and signed fields",
      t_format_learned },
    { "a checker's findings past the cap are counted, not kept, and the text "
      "says so", t_findings_cap },
    { "findings copy their strings and JSON escapes quotes, backslashes and "
      "control characters", t_findings_copy_and_escape },
    { "--only selects by name or dotted prefix; the engine counts events and "
      "losses and ends once", t_engine_only },
    { "az_report records time, position and the frame's history", t_engine_report },
};

TEST_MAIN(tests)
