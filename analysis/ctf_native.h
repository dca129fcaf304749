/*
 * analysis/ctf_native.h - hvlab's own CTF 1.8 reader: the trace directories
 * below DIR decoded straight into engine events (event.h), merged in time
 * order, without babeltrace2.
 *
 *   static const struct ctfn_ops ops = { on_event, on_discarded };
 *   if (ctfn_read("build/trace", &ops, arg, err, sizeof err) < 0) ...
 *
 * It exists for speed: reading through babeltrace2 is 90 % of what `hvlab
 * analyze` costs (docs/analyze.md "Speed").  `hvlab analyze --reader
 * native` uses it; babeltrace2's reader (ctf.h) stays the default, and the
 * plugin is babeltrace2's by nature.
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

#endif /* HVLAB_ANALYSIS_CTF_NATIVE_H */
