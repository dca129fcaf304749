/*
 * analysis/plugin/hvlab.c - the babeltrace2 plugin "hvlab": sink.hvlab.check
 * runs the same engine as `hvlab analyze` inside any babeltrace2 graph, and
 * source.hvlab.ctf (source_ctf.h) reads the traces source.ctf.fs refuses
 * with hvlab's own CTF reader.
 *
 *   babeltrace2 --plugin-path=build TRACE -c sink.hvlab.check
 *   babeltrace2 --plugin-path=build TRACE -c sink.hvlab.check -p json=true
 *   babeltrace2 --plugin-path=build TRACE -c sink.hvlab.check \
 *       -p 'only="story-e",fail-on-findings=true'
 *   babeltrace2 --plugin-path=build -c source.hvlab.ctf -p 'inputs=["TRACE"]' \
 *       -c sink.hvlab.check
 *
 * Rules:
 *   H1  One input port, "in"; its message iterator is made when the graph
 *       is configured.  Every event goes through az_reader_event
 *       (analysis/analyze_read.h), exactly as az_run_trace feeds it, so the
 *       findings are the same as `hvlab analyze` gives for the same trace
 *       (the JSON forms compare byte for byte).
 *   H2  Discarded-events and discarded-packets messages count as losses,
 *       each kind apart (analyze.h A3): the text then begins with the same
 *       warning as `hvlab analyze`'s.
 *   H3  At the end of the stream the checkers' end() runs and the findings
 *       are printed on stdout: text, or finding.h's JSON object with the
 *       parameter json=true.  Parameter only="NAME,..." selects checkers as
 *       --only does, checked by the same az_only_parse (analyze.c N7).
 *   H6  Parameters are checked at init: json (bool), only (string),
 *       fail-on-findings (bool); an unknown key, a wrong type or an --only
 *       name that selects nothing fails the init with an error cause saying
 *       what is accepted.
 *   H7  Ending: with fail-on-findings=true the sink ends the graph with an
 *       error when it found something (babeltrace2 then exits 1, as `hvlab
 *       analyze` does); without it a run with findings ends normally (0).
 *       A stream with no hvlab event checked nothing: that is said on
 *       stderr and always ends the graph with an error.
 *   H4  When the upstream fails (a corrupt or cut trace), the findings of
 *       what came before are printed first, then a line on stderr: when
 *       source.hvlab.ctf failed, its reader's message (the stream file, the
 *       byte offset, the packet; ctf_native.h C3) with the number of hvlab
 *       events before; for any other upstream, the stream of the last event
 *       read and how many of its events were read, and what hvlab's own
 *       reader says when it reads that stream's trace again (the stream
 *       file and the byte offset where it stops).  The error goes on to
 *       babeltrace2, which prints its causes.  A trace with a stream file
 *       cut short reaches the sink through source.hvlab.ctf (babeltrace2's
 *       CLI picks it: source_ctf.c S2); source.ctf.fs would refuse it whole.
 *   H5  Every registration macro is in this file, beside BT_PLUGIN_MODULE()
 *       (babeltrace2 2.0 finds them in the .so's sections): both classes
 *       are registered here, source.hvlab.ctf's methods live in
 *       source_ctf.c.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <babeltrace2/babeltrace.h>

#include "analysis/analyze.h"
#include "analysis/analyze_read.h"
#include "analysis/ctf.h"
#include "analysis/ctf_native.h"
#include "analysis/finding.h"
#include "analysis/plugin/source_ctf.h"

struct hv_stream {
    const bt_stream *s;
    const char *name;           /* borrowed: lives with the graph */
    uint64_t events;
};

struct hv_sink {
    bt_message_iterator *it;
    struct az *az;
    bool json;
    bool fail_on_findings;      /* H7 */
    char *only_buf;
    const char *only[AZ_MAX_ONLY + 1];
    struct hv_stream *streams;
    size_t nstreams, astreams;
    int last;                   /* stream of the last message, -1 */
    bool printed;
};

static void print_result(struct hv_sink *k, bool partial)
{
    if (k->printed)
        return;
    k->printed = true;
    az_end(k->az);
    char loss[256];
    az_loss_words(k->az, loss, sizeof(loss));
    if (k->json) {
        findings_print_json(az_findings(k->az), stdout);
    } else {
        if (*loss)
            printf("WARNING: the trace records %s (the tracer's buffers were "
                   "full): the analysis is incomplete, and a finding may only "
                   "be a transition the trace lost.\n\n", loss);
        printf("%" PRIu64 " hvlab events%s, %zu checkers\n\n",
               az_events(k->az), partial ? " (read up to the error)" : "",
               az_checker_count(k->az));
        findings_print_text(az_findings(k->az), stdout);
    }
    fflush(stdout);
    if (*loss)
        fprintf(stderr, "sink.hvlab.check: the trace records %s: the analysis "
                "is incomplete\n", loss);
}

static int stream_of(struct hv_sink *k, const bt_stream *s)
{
    if (k->last >= 0 && k->streams[k->last].s == s)
        return k->last;
    for (size_t i = 0; i < k->nstreams; i++)
        if (k->streams[i].s == s)
            return k->last = (int)i;
    if (k->nstreams == k->astreams) {
        size_t na = k->astreams ? k->astreams * 2 : 16;
        struct hv_stream *n = realloc(k->streams, na * sizeof(*n));
        if (!n)
            return -1;
        k->streams = n;
        k->astreams = na;
    }
    const char *name = bt_stream_get_name(s);
    k->streams[k->nstreams] = (struct hv_stream){ s, name ? name : "?", 0 };
    return k->last = (int)k->nstreams++;
}

/* ------------------------------------------------------------ lifecycle */

/* H6: the parameters this sink accepts. */
#define PARAMS_ACCEPTED "json=true|false, only=\"NAME,...\" (hvlab analyze " \
                        "--list), fail-on-findings=true|false"

struct param_check {
    bt_self_component *self;
    bool bad;
};

static bt_value_map_foreach_entry_const_func_status
param_known(const char *key, const bt_value *v, void *data)
{
    struct param_check *pc = data;
    const char *want = NULL;
    if (!strcmp(key, "json") || !strcmp(key, "fail-on-findings")) {
        if (!bt_value_is_bool(v))
            want = "a boolean (true or false)";
    } else if (!strcmp(key, "only")) {
        if (!bt_value_is_string(v))
            want = "a string (only=\"NAME,...\")";
    } else {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(pc->self,
            "sink.hvlab.check: unknown parameter '%s'; accepted: "
            PARAMS_ACCEPTED, key);
        pc->bad = true;     /* an error cause: the walk must stop in error */
        return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_ERROR;
    }
    if (want) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(pc->self,
            "sink.hvlab.check: parameter '%s' must be %s; accepted: "
            PARAMS_ACCEPTED, key, want);
        pc->bad = true;
        return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_ERROR;
    }
    return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

static bt_component_class_initialize_method_status
check_init(bt_self_component_sink *self, bt_self_component_sink_configuration *cfg,
           const bt_value *params, void *init_data)
{
    (void)cfg;
    (void)init_data;
    struct hv_sink *k = calloc(1, sizeof(*k));
    if (!k)
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
    k->last = -1;
    bt_self_component *sc = bt_self_component_sink_as_self_component(self);
    struct param_check pc = { sc, false };                 /* H6 */
    if (params && bt_value_is_map(params))
        bt_value_map_foreach_entry_const(params, param_known, &pc);
    const bt_value *v = params ? bt_value_map_borrow_entry_value_const(params,
                                                                       "json")
                               : NULL;
    if (!pc.bad && v)
        k->json = bt_value_bool_get(v);
    v = params ? bt_value_map_borrow_entry_value_const(params,
                                                       "fail-on-findings")
               : NULL;
    if (!pc.bad && v)
        k->fail_on_findings = bt_value_bool_get(v);
    v = params ? bt_value_map_borrow_entry_value_const(params, "only") : NULL;
    if (!pc.bad && v) {
        char oerr[256];
        if (az_only_parse(bt_value_string_get(v), &k->only_buf, k->only, oerr,
                          sizeof(oerr)) < 0) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(sc,
                "sink.hvlab.check: only=\"%s\": %s",
                bt_value_string_get(v), oerr);
            pc.bad = true;
        }
    }
    if (pc.bad) {
        free(k->only_buf);
        free(k);
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    k->az = az_new(&(struct az_options){ .only = k->only[0] ? k->only : NULL });
    if (!k->az) {
        free(k->only_buf);
        free(k);
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
    }
    if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
        BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
        az_free(k->az);
        free(k->only_buf);
        free(k);
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    bt_self_component_set_data(bt_self_component_sink_as_self_component(self), k);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static void check_finalize(bt_self_component_sink *self)
{
    struct hv_sink *k = bt_self_component_get_data(
        bt_self_component_sink_as_self_component(self));
    if (!k)
        return;
    bt_message_iterator_put_ref(k->it);
    az_free(k->az);
    free(k->streams);
    free(k->only_buf);
    free(k);
}

static bt_component_class_sink_graph_is_configured_method_status
check_configured(bt_self_component_sink *self)
{
    struct hv_sink *k = bt_self_component_get_data(
        bt_self_component_sink_as_self_component(self));
    bt_self_component_port_input *in =
        bt_self_component_sink_borrow_input_port_by_name(self, "in");
    if (bt_message_iterator_create_from_sink_component(self, in, &k->it) !=
        BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
        return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
    return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

/* ---------------------------------------------------------------- events */

/* H4: the message source.hvlab.ctf's iterator gave with its failure (a
   copy, without its "source.hvlab.ctf: " prefix), or NULL when the failure
   came from another component.  The thread's error stays as it was. */
static char *reader_words(void)
{
    const bt_error *e = bt_current_thread_take_error();
    if (!e)
        return NULL;
    char *msg = NULL;
    uint64_t n = bt_error_get_cause_count(e);
    for (uint64_t i = 0; i < n && !msg; i++) {
        const bt_error_cause *c = bt_error_borrow_cause_by_index(e, i);
        if (bt_error_cause_get_actor_type(c) != BT_ERROR_CAUSE_ACTOR_TYPE_MESSAGE_ITERATOR)
            continue;
        const char *plugin = bt_error_cause_message_iterator_actor_get_plugin_name(c);
        const char *cls = bt_error_cause_message_iterator_actor_get_component_class_name(c);
        const char *m = bt_error_cause_get_message(c);
        if (plugin && cls && m && !strcmp(plugin, "hvlab") && !strcmp(cls, "ctf")) {
            static const char prefix[] = "source.hvlab.ctf: ";
            if (!strncmp(m, prefix, sizeof(prefix) - 1))
                m += sizeof(prefix) - 1;
            msg = strdup(m);
        }
    }
    bt_current_thread_move_error(e);
    return msg;
}

/* H4: when another upstream (source.ctf.fs) stopped in stream file
   `path`, hvlab's own reader reads that file's trace again to say where
   and why: its message (the stream file, the byte offset, the packet;
   ctf_native.h C3), or NULL when it reads the trace through (or the name
   is not a stream file of a trace).  Only after a failure: the cost of
   one more read of the trace. */
static char *native_words(const char *path)
{
    char dir[4096], meta[4200];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return NULL;
    *slash = '\0';
    snprintf(meta, sizeof(meta), "%s/metadata", dir);
    FILE *f = fopen(meta, "r");
    if (!f)
        return NULL;
    fclose(f);
    char err[1024] = "";
    struct ctfn *r = ctfn_open(dir, err, sizeof(err));
    if (!r)
        return err[0] ? strdup(err) : NULL;
    struct ctfn_item it;
    int rc;
    while ((rc = ctfn_next(r, &it, err, sizeof(err))) == 1)
        ;
    ctfn_close(r);
    return rc < 0 && err[0] ? strdup(err) : NULL;
}

static int handle(struct hv_sink *k, const bt_message *m, char *err, size_t errlen)
{
    switch (bt_message_get_type(m)) {
    case BT_MESSAGE_TYPE_EVENT: {
        const bt_event *ev = bt_message_event_borrow_event_const(m);
        int si = stream_of(k, bt_event_borrow_stream_const(ev));
        int64_t ns = 0;
        bool has_ts = ctf_event_ns(m, &ns);
        if (si >= 0)
            k->streams[si].events++;
        return az_reader_event(k->az, ev, ns, has_ts, si < 0 ? 0 : (uint32_t)si,
                               err, errlen);
    }
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {           /* H2 */
        uint64_t n = 0;
        stream_of(k, bt_message_discarded_events_borrow_stream_const(m));
        if (bt_message_discarded_events_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        az_discarded(k->az, n);
        return 0;
    }
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS: {
        uint64_t n = 0;
        stream_of(k, bt_message_discarded_packets_borrow_stream_const(m));
        if (bt_message_discarded_packets_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        az_discarded_packets(k->az, n);                  /* A3: apart */
        return 0;
    }
    case BT_MESSAGE_TYPE_PACKET_BEGINNING:
        stream_of(k, bt_packet_borrow_stream_const(
                         bt_message_packet_beginning_borrow_packet_const(m)));
        return 0;
    default:
        return 0;
    }
}

static bt_component_class_sink_consume_method_status
check_consume(bt_self_component_sink *self)
{
    struct hv_sink *k = bt_self_component_get_data(
        bt_self_component_sink_as_self_component(self));
    bt_message_array_const msgs;
    uint64_t count = 0;

    switch (bt_message_iterator_next(k->it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END: {
        print_result(k, false);                         /* H3 */
        bt_message_iterator_put_ref(k->it);
        k->it = NULL;
        bt_self_component *sc = bt_self_component_sink_as_self_component(self);
        if (az_events(k->az) == 0) {                    /* H7 */
            fprintf(stderr, "sink.hvlab.check: the trace holds no hvlab "
                    "event: nothing was checked\n");
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(sc,
                "sink.hvlab.check: no hvlab event in the input: nothing was "
                "checked");
            return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
        }
        size_t nf = findings_count(az_findings(k->az));
        if (k->fail_on_findings && nf) {
            BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(sc,
                "sink.hvlab.check: %zu finding%s (fail-on-findings=true)", nf,
                nf == 1 ? "" : "s");
            return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
        }
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
    }
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    default: {                                          /* H4 */
        print_result(k, true);
        char *why = reader_words();
        if (why)
            fprintf(stderr, "sink.hvlab.check: the findings above are of the %" PRIu64
                    " hvlab events before the upstream stopped: %s\n", az_events(k->az),
                    why);
        else if (k->last >= 0) {
            char *where = native_words(k->streams[k->last].name);
            fprintf(stderr, "sink.hvlab.check: the upstream stopped after %" PRIu64
                    " events of stream '%s' (the last one read); the findings above "
                    "are of the %" PRIu64 " hvlab events before; %s%s\n",
                    k->streams[k->last].events, k->streams[k->last].name,
                    az_events(k->az), where ? "hvlab's reader: " :
                    "`hvlab analyze` names the byte offset where a trace stops",
                    where ? where : "");
            free(where);
        }
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
            bt_self_component_sink_as_self_component(self),
            "sink.hvlab.check: the upstream failed after %" PRIu64 " hvlab "
            "events%s%s", az_events(k->az), why ? ": " : "", why ? why : "");
        free(why);
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
    }
    }
    char err[512] = "";
    int rc = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (rc == 0)
            rc = handle(k, msgs[i], err, sizeof(err));
        bt_message_put_ref(msgs[i]);
    }
    if (rc != 0) {
        print_result(k, true);
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
            bt_self_component_sink_as_self_component(self), "%s", err);
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
    }
    return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

/* ------------------------------------------------------------ the plugin */

BT_PLUGIN_MODULE();
BT_PLUGIN(hvlab);
BT_PLUGIN_DESCRIPTION("hvlab: rebuild every frame's state from an hvlab trace "
                      "and check it");
BT_PLUGIN_AUTHOR("hvlab");
BT_PLUGIN_LICENSE("GPL-2.0");
BT_PLUGIN_SINK_COMPONENT_CLASS(check, check_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(check, "Run hvlab's analysis on an "
    "hvlab trace and print its findings (parameters: json=true, "
    "only=\"NAME,...\", fail-on-findings=true; a trace cut short is read by "
    "source.hvlab.ctf)");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(check, check_init);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(check, check_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(check, check_configured);

BT_PLUGIN_SOURCE_COMPONENT_CLASS(ctf, src_ctf_iter_next);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_DESCRIPTION(ctf, "Read hvlab traces with hvlab's own "
    "CTF reader, as `hvlab analyze` does, including a trace whose stream file is cut "
    "short (parameter: inputs=[\"DIR\", ...]; chosen for such a trace on its own)");
BT_PLUGIN_SOURCE_COMPONENT_CLASS_HELP(ctf, "Every CTF trace below each input directory "
    "is read with hvlab's own reader (docs/analyze.md \"The reader\") and merged in "
    "time order; only hvlab events are handed on.  A stream file cut short is read "
    "up to its last whole event, then the read ends with an error naming the stream "
    "file, the byte offset and the packet.  For a directory holding such a trace, "
    "babeltrace2's automatic source discovery prefers this class to source.ctf.fs, "
    "which refuses the whole trace.");
BT_PLUGIN_SOURCE_COMPONENT_CLASS_INITIALIZE_METHOD(ctf, src_ctf_init);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_FINALIZE_METHOD(ctf, src_ctf_finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_QUERY_METHOD(ctf, src_ctf_query);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(ctf,
    src_ctf_iter_init);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(ctf,
    src_ctf_iter_finalize);
