/*
 * core/mm/history.h - rings of recent frame transitions, for post-mortems.
 *
 * Every change of a frame's count or type word (and a few events around
 * them) is appended here by core/mm/frame.c, with the vCPU that made it.
 * Appending is on the hottest path of the hypervisor (several times per PTE
 * update), so it shares nothing that other threads write:
 *
 *   - each OS thread that touches a machine's frames appends to a ring of
 *     its own (FRAME_HISTORY_SIZE records per thread and machine), found
 *     through a thread-local cache: a few plain stores and one release
 *     store per record, no atomic read-modify-write, no lock;
 *   - records are ordered by a per-frame sequence number (seq): the frame's
 *     last seq + 1, read and written with relaxed loads and stores.  It is
 *     exact whenever the frame's transitions are not made by two threads at
 *     the same instant (det mode, one vCPU, a quiescent post-mortem); two
 *     threads racing on one frame may draw the same number, and the report
 *     then shows them adjacent in either order (as the old machine-wide
 *     counter, drawn after the exchange, could misorder them too).
 *
 * The audit prints "the frame's last N transitions" from it: the rings are
 * merged by seq when a report asks.  A record being overwritten while it is
 * read is detected (the ring's head moved past it) and skipped.
 */
#ifndef HVLAB_CORE_MM_HISTORY_H
#define HVLAB_CORE_MM_HISTORY_H

#include <stdio.h>

#include "core/types.h"

struct machine;

#define FRAME_HISTORY_SIZE  (1u << 16)      /* records per thread; power of 2 */

/* What a record describes. */
enum fh_what {
    FH_COUNT = 0,       /* count_info changed: old/new are count words */
    FH_TYPE,            /* type_info changed: old/new are type words */
    FH_VALIDATE,        /* validation ended: old = type word, new = rc */
    FH_DEVALIDATE,      /* devalidation ended: old = type word, new = rc */
    FH_ALLOC,           /* frame given to owner: new = tot_pages */
    FH_FREE,            /* frame freed: old = type word */
    FH_NR
};
extern const char *const fh_what_name[FH_NR];

/* One transition, as frame_history_find reports it. */
struct fh_record {
    uint32_t seq;           /* the frame's transition number (from 1) */
    uint32_t ring;          /* which thread's ring held it (0, 1, ...) */
    uint64_t mfn;
    uint64_t old_word, new_word;
    uint16_t owner;
    uint16_t vcpu;          /* 0xFFFF: no vCPU (toolstack, teardown) */
    uint16_t dom;           /* domain of that vCPU */
    uint8_t what;           /* enum fh_what */
};

/* Append one record to the calling thread's ring of m (created on first
   use; if that allocation fails the record is dropped). */
void frame_history_add(struct machine *m, mfn_t mfn, enum fh_what what,
                       uint16_t owner, uint64_t old_word, uint64_t new_word);

/* Create the calling thread's ring of m now, as its first append would:
   a thread that snapshots a machine (fuzz/snap.h) before any transition
   has it in the snapshot rather than making it anew in every run.  0, or
   -1 if the allocation failed. */
int frame_history_prepare(struct machine *m);

/*
 * Copy the newest records about mfn (at most max, newest first, merged
 * across every thread's ring) into out; returns how many.  Scans every
 * ring: meant for reports.
 */
unsigned frame_history_find(struct machine *m, mfn_t mfn,
                            struct fh_record *out, unsigned max);

/* Print the last `max` transitions of mfn, one line each, indented. */
void frame_history_print(struct machine *m, mfn_t mfn, unsigned max, FILE *f);

/* Free m's rings (machine_destroy). */
void frame_history_free(struct machine *m);

#endif /* HVLAB_CORE_MM_HISTORY_H */
