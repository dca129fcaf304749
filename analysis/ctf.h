/*
 * analysis/ctf.h - read a CTF trace directory through a babeltrace2 graph.
 *
 *   source.ctf.fs (every directory holding a `metadata` file below DIR)
 *     -> filter.utils.muxer (one time-ordered stream)
 *     -> an in-process sink that calls ops->event for every event.
 *
 * The one place analysis code builds a graph; readers (count.c, the PTE
 * replay of the end-to-end tests) supply callbacks.  Links nothing of core/:
 * the event catalog (trace/hvlab_*.h) is the only thing shared with it.
 */
#ifndef HVLAB_ANALYSIS_CTF_H
#define HVLAB_ANALYSIS_CTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <babeltrace2/babeltrace.h>

struct ctf_reader_ops {
    /*
     * One event, in timestamp order.  has_ts is false when its stream has
     * no clock.  Return 0 to go on, non-zero to stop the read with an error
     * (the callback fills its own message through ctf_read's err buffer,
     * passed back as the last argument).
     */
    int (*event)(const bt_event *ev, int64_t ts_ns, bool has_ts, void *arg,
                 char *err, size_t errlen);
    /* A discarded-events (packets = false) or discarded-packets (true)
       notification; count is 0 when the trace does not say how many. */
    void (*discarded)(uint64_t count, bool packets, void *arg);
    /* After the last message, while the trace's classes (event names) are
       still alive.  Return non-zero (with err[] filled) to fail the read. */
    int (*end)(void *arg, char *err, size_t errlen);
};

/*
 * Read every CTF trace below dir.  Returns the number of trace directories
 * read (>= 1), or -1 with err[] filled (no trace found, babeltrace2 failed
 * with its causes, or a callback stopped the read).
 */
int ctf_read(const char *dir, const struct ctf_reader_ops *ops, void *arg,
             char *err, size_t errlen);

/*
 * The reader's index (0, 1, 2... in order of first appearance) of the CTF
 * stream of the event being handed to ops->event; valid during the callback
 * only, on the reading thread.  ctf_current_stream_name gives its name (the
 * stream file's path, as source.ctf.fs names streams).
 */
uint32_t ctf_current_stream(void);
const char *ctf_current_stream_name(void);

/*
 * Position (rules R6-R8 of ctf.c): when the trace cannot be read to its end,
 * ctf_read's err names the stream file and the byte offset where reading
 * stopped, and every event before it has been handed to ops->event.
 * A stream file cut short (the recorder died, the disk filled up) is read
 * up to its last byte through a patched copy of its last packet's header,
 * or, when babeltrace2 cannot take that packet, up to its last whole packet
 * (the error says which bytes were not read).  No trace bytes abort the
 * process: the probes that might run in forked children.  A trace whose
 * metadata is cut short, or that babeltrace2 refuses, is left out and the
 * others are read; the read still fails, naming it.
 */

/* Payload integer field by name (signed fields are returned as their
   two's-complement bits).  0, or -1 if the event has no such integer. */
int ctf_field_u64(const bt_event *ev, const char *name, uint64_t *out);

/* An event message's time, ns from its clock's origin; false (ns 0) when
   its stream has no clock or the time does not fit (both readers use it). */
bool ctf_event_ns(const bt_message *m, int64_t *ns);

#endif /* HVLAB_ANALYSIS_CTF_H */
