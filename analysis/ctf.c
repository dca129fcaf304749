/*
 * analysis/ctf.c - the babeltrace2 graph every trace reader goes through.
 *
 * Rules:
 *   R1  source.ctf.fs wants the directories that hold `metadata` (only the
 *       CLI searches), so we walk DIR for them.  Per-PID buffers make one
 *       trace per traced process, each with its own UUID, and one source
 *       component refuses traces whose UUIDs differ: each trace gets its own
 *       source, and the muxer merges them all in time order.
 *   R2  The muxer always has exactly one free input port, its last: each
 *       source output port is connected to that one in turn.
 *   R3  The graph runs until END; AGAIN means "call again".  Errors come
 *       back as sentences built from babeltrace2's own error causes.
 *   R4  Every message borrowed from the iterator is put back, whether the
 *       callback stopped the read or not.
 *   R5  Borrowed trace objects (event classes, names) live until the graph
 *       is destroyed: ops->end runs before that, for readers that keep them.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/ctf.h"

struct ctf_run {
    const struct ctf_reader_ops *ops;
    void *arg;
    char *err;          /* caller's buffer, filled when a callback stops */
    size_t errlen;
    bool stopped;       /* a callback returned non-zero */
};

/* ------------------------------------------------------- finding traces */

static bt_value *walk_inputs;   /* nftw has no user pointer */
static int walk_count;

static int walk_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag != FTW_D)
        return 0;
    char meta[PATH_MAX];
    if (snprintf(meta, sizeof(meta), "%s/metadata", path) >= (int)sizeof(meta))
        return 0;
    if (access(meta, R_OK) == 0) {
        if (bt_value_array_append_string_element(walk_inputs, path) !=
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK)
            return -1;
        walk_count++;
    }
    return 0;
}

/* R1 */
static int find_traces(const char *dir, bt_value *inputs, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        snprintf(err, errlen, "cannot read trace directory '%s': %s", dir,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "'%s' is not a directory (give the directory a "
                 "trace was recorded into)", dir);
        return -1;
    }
    walk_inputs = inputs;
    walk_count = 0;
    int rc = nftw(dir, walk_one, 16, FTW_PHYS);
    walk_inputs = NULL;
    if (rc != 0) {
        snprintf(err, errlen, "cannot walk trace directory '%s'", dir);
        return -1;
    }
    if (walk_count == 0) {
        snprintf(err, errlen, "no CTF trace below '%s' (no directory there "
                 "holds a `metadata` file; was the session ever started?)", dir);
        return -1;
    }
    return walk_count;
}

/* ------------------------------------------------------------- the sink */

static bt_graph_simple_sink_component_initialize_func_status
sink_init(bt_message_iterator *it, void *data)
{
    (void)it;
    (void)data;
    return BT_GRAPH_SIMPLE_SINK_COMPONENT_INITIALIZE_FUNC_STATUS_OK;
}

static void handle_message(struct ctf_run *run, const bt_message *m)
{
    switch (bt_message_get_type(m)) {
    case BT_MESSAGE_TYPE_EVENT: {
        if (!run->ops->event)
            return;
        const bt_event *ev = bt_message_event_borrow_event_const(m);
        int64_t ns = 0;
        bool has_ts = false;
        if (bt_message_event_borrow_stream_class_default_clock_class_const(m)) {
            const bt_clock_snapshot *cs =
                bt_message_event_borrow_default_clock_snapshot_const(m);
            has_ts = bt_clock_snapshot_get_ns_from_origin(cs, &ns) ==
                     BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK;
        }
        if (run->ops->event(ev, ns, has_ts, run->arg, run->err, run->errlen))
            run->stopped = true;
        return;
    }
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
        uint64_t n = 0;
        if (bt_message_discarded_events_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        if (run->ops->discarded)
            run->ops->discarded(n, false, run->arg);
        return;
    }
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS: {
        uint64_t n = 0;
        if (bt_message_discarded_packets_get_count(m, &n) !=
            BT_PROPERTY_AVAILABILITY_AVAILABLE)
            n = 0;
        if (run->ops->discarded)
            run->ops->discarded(n, true, run->arg);
        return;
    }
    default:
        return;
    }
}

static bt_graph_simple_sink_component_consume_func_status
sink_consume(bt_message_iterator *it, void *data)
{
    struct ctf_run *run = data;
    bt_message_array_const msgs;
    uint64_t count = 0;

    switch (bt_message_iterator_next(it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
    default:
        return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (!run->stopped)
            handle_message(run, msgs[i]);
        bt_message_put_ref(msgs[i]);    /* R4 */
    }
    return run->stopped ? BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR
                        : BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* ------------------------------------------------------------ the graph */

/* R3: turn babeltrace2's error causes into one sentence. */
static void take_bt_error(const char *what, char *err, size_t errlen)
{
    const bt_error *e = bt_current_thread_take_error();
    size_t off = (size_t)snprintf(err, errlen, "%s", what);
    if (e) {
        uint64_t n = bt_error_get_cause_count(e);
        for (uint64_t i = 0; i < n && off < errlen; i++) {
            const bt_error_cause *c = bt_error_borrow_cause_by_index(e, i);
            off += (size_t)snprintf(err + off, errlen - off, "%s %s",
                                    i ? ";" : ":", bt_error_cause_get_message(c));
        }
        bt_error_release(e);
    }
}

/* One source.ctf.fs for one trace directory, every port into the muxer. */
static int add_source(bt_graph *graph, const bt_component_class_source *fs_cls,
                      const bt_component_filter *mux, int index, const char *path,
                      char *err, size_t errlen)
{
    int ret = -1;
    char name[32];
    const bt_component_source *src = NULL;
    bt_value *params = bt_value_map_create();
    bt_value *inputs = NULL;
    if (!params || bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) !=
                       BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
        bt_value_array_append_string_element(inputs, path) !=
            BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    snprintf(name, sizeof(name), "src%d", index);
    if (bt_graph_add_source_component(graph, fs_cls, name, params,
                                      BT_LOGGING_LEVEL_WARNING, &src) !=
        BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
        char what[PATH_MAX + 64];
        snprintf(what, sizeof(what), "babeltrace2 cannot open the CTF trace "
                 "in '%s'", path);
        take_bt_error(what, err, errlen);
        goto out;
    }
    uint64_t nout = bt_component_source_get_output_port_count(src);
    for (uint64_t i = 0; i < nout; i++) {       /* R2 */
        const bt_port_output *op =
            bt_component_source_borrow_output_port_by_index_const(src, i);
        const bt_port_input *ip = bt_component_filter_borrow_input_port_by_index_const(
            mux, bt_component_filter_get_input_port_count(mux) - 1);
        if (bt_graph_connect_ports(graph, op, ip, NULL) !=
            BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
            take_bt_error("babeltrace2 cannot connect a trace stream to the "
                          "muxer", err, errlen);
            goto out;
        }
    }
    ret = 0;
out:
    bt_value_put_ref(params);
    return ret;
}

int ctf_read(const char *dir, const struct ctf_reader_ops *ops, void *arg,
             char *err, size_t errlen)
{
    int ret = -1;
    const bt_plugin *ctf = NULL, *utils = NULL;
    bt_graph *graph = NULL;
    bt_value *inputs = NULL;
    struct ctf_run run = { ops, arg, err, errlen, false };

    if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &ctf) !=
            BT_PLUGIN_FIND_STATUS_OK ||
        bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) !=
            BT_PLUGIN_FIND_STATUS_OK) {
        snprintf(err, errlen, "babeltrace2's ctf and utils plugins were not "
                 "found; install babeltrace2 (make deps)");
        goto out;
    }
    const bt_component_class_source *fs_cls =
        bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
    const bt_component_class_filter *mux_cls =
        bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
    if (!fs_cls || !mux_cls) {
        snprintf(err, errlen, "babeltrace2 has no source.ctf.fs or "
                 "filter.utils.muxer component class");
        goto out;
    }

    inputs = bt_value_array_create();
    if (!inputs) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    int ntraces = find_traces(dir, inputs, err, errlen);
    if (ntraces < 0)
        goto out;

    graph = bt_graph_create(0);
    const bt_component_filter *mux = NULL;
    const bt_component_sink *sink = NULL;
    if (!graph) {
        snprintf(err, errlen, "out of memory building the trace reader");
        goto out;
    }
    if (bt_graph_add_filter_component(graph, mux_cls, "mux", NULL,
                                      BT_LOGGING_LEVEL_WARNING, &mux) !=
        BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
        take_bt_error("babeltrace2 cannot create its muxer", err, errlen);
        goto out;
    }
    for (int t = 0; t < ntraces; t++) {         /* R1: one source per trace */
        const char *path = bt_value_string_get(
            bt_value_array_borrow_element_by_index_const(inputs, (uint64_t)t));
        if (add_source(graph, fs_cls, mux, t, path, err, errlen) != 0)
            goto out;
    }
    if (bt_graph_add_simple_sink_component(graph, "hvlab-reader", sink_init,
                                           sink_consume, NULL, &run, &sink) !=
            BT_GRAPH_ADD_COMPONENT_STATUS_OK ||
        bt_graph_connect_ports(graph,
            bt_component_filter_borrow_output_port_by_index_const(mux, 0),
            bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) !=
            BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
        take_bt_error("babeltrace2 cannot attach the reader's sink", err, errlen);
        goto out;
    }

    bt_graph_run_status st;
    do
        st = bt_graph_run(graph);
    while (st == BT_GRAPH_RUN_STATUS_AGAIN);       /* R3 */
    if (run.stopped) {
        bt_current_thread_clear_error();        /* err[] already says why */
        goto out;
    }
    if (st != BT_GRAPH_RUN_STATUS_OK) {
        char what[512];
        snprintf(what, sizeof(what), "babeltrace2 failed reading the trace in "
                 "'%s'", dir);
        take_bt_error(what, err, errlen);
        goto out;
    }
    if (ops->end && ops->end(arg, err, errlen) != 0)
        goto out;
    ret = ntraces;

out:
    bt_graph_put_ref(graph);
    bt_value_put_ref(inputs);
    bt_plugin_put_ref(ctf);
    bt_plugin_put_ref(utils);
    return ret;
}

int ctf_field_u64(const bt_event *ev, const char *name, uint64_t *out)
{
    const bt_field *payload = bt_event_borrow_payload_field_const(ev);
    if (!payload)
        return -1;
    const bt_field *f = bt_field_structure_borrow_member_field_by_name_const(
        payload, name);
    if (!f)
        return -1;
    if (bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER ||
        bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_UNSIGNED_ENUMERATION) {
        *out = bt_field_integer_unsigned_get_value(f);
        return 0;
    }
    if (bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER ||
        bt_field_get_class_type(f) == BT_FIELD_CLASS_TYPE_SIGNED_ENUMERATION) {
        *out = (uint64_t)bt_field_integer_signed_get_value(f);
        return 0;
    }
    return -1;
}
