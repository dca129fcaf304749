/*
 * analysis/ctf_native.h - hvlab's own CTF 1.8 reader: the trace directories
 * below DIR decoded straight into engine events (event.h), merged in time
 * order, without babeltrace2.
 *
 *   static const struct ctfn_ops ops = { on_event, on_discarded };
 *   if (ctfn_read("build/trace", &ops, arg, err, sizeof err) < 0) ...
 *
 * or step by step, as a babeltrace2 message iterator must (C7):
 *
 *   struct ctfn *r = ctfn_open("build/trace", err, sizeof err);
 *   struct ctfn_item it;
 *   while ((rc = ctfn_next(r, &it, err, sizeof err)) > 0) ...
 *   ctfn_close(r);
 *
 * It exists for speed: reading through babeltrace2 is 90 % of what `hvlab
 * analyze` costs (docs/analyze.md "Speed"), and for traces babeltrace2
 * refuses: `hvlab analyze` reads with it by default (--reader native), and
 * the plugin's source.hvlab.ctf (analysis/plugin/source_ctf.h) hands its
 * events to babeltrace2 when a stream file is cut short.
 *
 * Rules:
 *   C1  Only hvlab events known to this build are handed on (V1); every
 *       other event is decoded to step over it.  An hvlab event whose
 *       payload lacks a catalog field, or holds it in a type the catalog
 *       cannot hold, stops the read naming the event and the field (as
 *       event.c E3).
 *   C2  Events of every stream file of every trace come out in timestamp
 *       order; at equal times, as babeltrace2's muxer orders them within a
 *       trace: the lower stream class id, then stream_instance_id, then the
 *       stream file found first.
 *       e->ts is ns from the clock's origin; e->stream is the index of the
 *       stream file (0, 1, ... in the order found).  e->str points into
 *       the mapped stream file: valid during the callback.
 *   C3  Nothing in a stream file is trusted: every read is checked against
 *       the packet's content.  A packet that ends past the end of its file
 *       (a recording cut short) is read up to its last whole event; the
 *       stream ends there and the read, once every other stream is read,
 *       fails naming the file, the byte it ends at and the packet it ends
 *       in.  Any other undecodable byte stops the whole read at once,
 *       naming the trace, the stream file, the byte offset where the bad
 *       event (or packet) begins, its packet, and what was wrong; every
 *       event before it in time order has been handed on.
 *   C4  Losses: an events_discarded counter that grows between two packets
 *       of a stream is that many discarded events (a stream's first packet
 *       that counts some: an unknown number, count 0); a gap in
 *       packet_seq_num is that many discarded packets (ops->discarded).
 *   C5  A trace whose metadata cannot be read or parsed (tsdl.h T6) is left
 *       out naming it, the others are read, and the read fails in the end
 *       saying how many of how many traces could not be read.
 *   C6  An event item also says how the trace's metadata types its payload:
 *       which v[] slots are signed integers and which one is the string
 *       (-1 none), so a consumer can rebuild the fields as they were.
 *   C7  ctfn_read is a loop over ctfn_next, which hands out, in order, what
 *       the callbacks would get: events (C2), losses (C4) at the point the
 *       reader meets them, and the beginning of every packet it enters
 *       (which the callbacks are not told).  ctfn_next returns 1 (an item),
 *       0 (the end: every trace read to its end), or -1 with the very
 *       message ctfn_read would give (C3, C5); after 0 or -1 it returns the
 *       same again.  An item, its event and the event's string are valid
 *       until the next ctfn_next or ctfn_close.
 */
#ifndef HVLAB_ANALYSIS_CTF_NATIVE_H
#define HVLAB_ANALYSIS_CTF_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"

struct ctfn_ops {
    /* One hvlab event (C1, C2); has_ts false when its stream has no clock.
       Non-zero stops the read (the callback fills err). */
    int (*event)(const struct hv_ev *e, bool has_ts, void *arg, char *err,
                 size_t errlen);
    /* C4: count discarded events (packets false) or packets (true). */
    void (*discarded)(uint64_t count, bool packets, void *arg);
};

/* Read every trace below dir.  The number of traces read (>= 1), or -1
   with err (C3, C5; no trace below dir; a callback stopped the read). */
int ctfn_read(const char *dir, const struct ctfn_ops *ops, void *arg, char *err,
              size_t errlen);

/* ---- step by step (C7) --------------------------------------------------- */

struct ctfn;

enum ctfn_kind {
    CTFN_EVENT,             /* ev, has_ts, signed_slots, str_slot (C1, C2, C6) */
    CTFN_LOSS,              /* count (0: unknown), packets (C4) */
    CTFN_PACKET,            /* the stream enters its next packet */
};

struct ctfn_item {
    enum ctfn_kind kind;
    uint32_t stream;                /* the stream file's index (ctfn_stream_path) */
    const struct hv_ev *ev;
    bool has_ts;
    uint16_t signed_slots;          /* C6: bit i set: v[i] is a signed integer */
    int8_t str_slot;                /* C6: the string's slot, -1 */
    uint64_t count;
    bool packets;
};

/* Find the traces below dir, parse their metadata, map their stream files
   and walk their packets' headers.  NULL with err when no trace below dir
   can be read (or out of memory, a stream file that cannot be mapped). */
struct ctfn *ctfn_open(const char *dir, char *err, size_t errlen);
/* 1: *it filled; 0: the end; -1: err (C7). */
int ctfn_next(struct ctfn *r, struct ctfn_item *it, char *err, size_t errlen);
void ctfn_close(struct ctfn *r);

/* The stream files, 0 .. ctfn_streams() - 1, in the order of e->stream. */
size_t ctfn_streams(const struct ctfn *r);
const char *ctfn_stream_path(const struct ctfn *r, size_t i);

/* Open dir as ctfn_open does (without reading the files ahead) and count
   the stream files that are not empty and end inside a packet (C3).  The
   number of traces that can be read, or -1 with err. */
int ctfn_probe(const char *dir, size_t *cut_files, char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_CTF_NATIVE_H */
