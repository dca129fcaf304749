/*
 * analysis/state.h - every frame's state, rebuilt from the trace alone.
 *
 * Per host (a migration's trace holds source and destination), per frame:
 * owner, the count and type words, pins, every PTE that maps it (table,
 * slot, writable or not), grant pins and mappings; per domain and pfn: the
 * frame behind it (M2P / p2m entry and type), shadow state, the log-dirty
 * bit, and for migration the round it was last sent in and the hash sent.
 *
 * Rules:
 *   S1  Every event that carries an "old" value is checked against the
 *       rebuilt state before it is applied: a disagreement means a
 *       transition the trace does not show (an untraced write, or
 *       corruption) and is a finding of its own, "rebuild.untraced",
 *       naming both values.  The event's new value is then taken, so one
 *       gap gives one finding, not one per later event.
 *   S2  What came before the trace began is unknown, not zero: a frame's
 *       first event sets its state without a finding.
 *   S3  Each frame keeps its last history_len events (any event naming it)
 *       for findings (checker.h K5).
 */
#ifndef HVLAB_ANALYSIS_STATE_H
#define HVLAB_ANALYSIS_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/event.h"

struct findings;
struct state;

struct state *state_new(struct findings *sink, unsigned history_len);
void state_free(struct state *st);

/* S1: apply one event (the engine calls this before any checker). */
void state_event(struct state *st, const struct hv_ev *e);

/* A frame as the trace left it.  known is false for a frame no event named. */
struct frame_view {
    bool known;
    uint16_t owner;
    uint64_t count_info;        /* last count_info word seen */
    uint64_t type_info;         /* last type_info word seen */
    uint64_t pfn;               /* M2P / p2m, FINDING_NONE when unknown */
    uint32_t maps_rw, maps_ro;  /* present L1 PTEs mapping it */
    uint32_t grant_maps, grant_maps_rw;  /* grant mappings of it (any domain) */
};
bool state_frame(const struct state *st, uint8_t host, uint64_t mfn,
                 struct frame_view *out);

/* One pfn of a domain as the trace left it. */
struct pfn_view {
    bool known;
    uint64_t mfn;               /* FINDING_NONE */
    uint32_t p2m_type;          /* HVM: p2m_type_t of the entry; PV: 0 */
    bool dirty;                 /* its log-dirty bit is set */
    int32_t last_sent_iter;     /* migration round it was last sent in, -1 */
    uint64_t last_sent_hash;
    int64_t last_sent_ts;
    int64_t last_mark_ts;       /* last log-dirty mark, 0 never */
};
bool state_pfn(const struct state *st, uint8_t host, uint16_t dom,
               uint64_t pfn, struct pfn_view *out);

/* A PTE slot's last written value; false when never written in the trace. */
bool state_pte(const struct state *st, uint8_t host, uint64_t table_mfn,
               unsigned slot, uint64_t *pte);
/* A vCPU's root (kernel: user 0, user: 1); FINDING_NONE when not known. */
uint64_t state_root(const struct state *st, uint8_t host, uint16_t dom,
                    uint16_t vcpu, bool user);

/* S3: up to max events that named the frame, oldest first; pointers valid
   until the next state_event. */
unsigned state_history(const struct state *st, uint8_t host, uint64_t mfn,
                       const struct hv_ev **out, unsigned max);

/* P3 (state_private.h): transitions held back because two writers were
   traced in the opposite order are settled (chained, or reported as
   rebuild.untraced).  The engine calls it once after the last event,
   before the checkers' end(). */
void state_end(struct state *st);
/* rebuild.untraced findings made so far. */
uint64_t state_untraced(const struct state *st);

#endif /* HVLAB_ANALYSIS_STATE_H */
