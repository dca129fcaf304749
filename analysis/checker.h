/*
 * analysis/checker.h - what a checker is, and what the engine gives it.
 *
 * A checker watches the event stream for one mechanism (an invariant of
 * XEN-NOTES section 11 that a trace can decide, or one seed story) and
 * reports what it sees as findings.  The engine (analysis/analyze.c) feeds
 * every event first to the rebuilt state (analysis/state.h), then to each
 * checker that asked for its id, in trace order.
 *
 * Rules:
 *   K1  A checker's name is its findings' name (finding.h F1); the table of
 *       checkers is analysis/checkers.c, one line each.
 *   K2  A checker keeps only what it needs beyond the rebuilt state, in its
 *       private block (priv_size bytes, zeroed, then given to init() before
 *       the first event; fini() frees what init and the events took); it
 *       asks the state (az_state) for frames, PTEs, pfns and history rather
 *       than tracking them again.
 *   K3  The state has already applied the event when a checker sees it:
 *       a checker that needs the value from before reads it from the
 *       event's old_* fields.
 *   K4  end() runs once after the last event: what is still pending then
 *       (a lookup never put, a page written after its last send) is
 *       reported there.
 *   K5  az_report fills the finding's history from the state: the frame's
 *       last transitions (by mfn, or by the pfn's frame when only the pfn
 *       is given).  A checker that reports later than the moment that
 *       matters (at end(), after the frame's teardown has filled its
 *       history) keeps the history of that moment with az_keep_history;
 *       az_report then uses the kept one.
 */
#ifndef HVLAB_ANALYSIS_CHECKER_H
#define HVLAB_ANALYSIS_CHECKER_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"

struct az;
struct state;

struct checker {
    const char *name;            /* "story-e.dirty-after-send" */
    const char *what;            /* one line, for `hvlab analyze --list` */
    size_t priv_size;
    const enum hv_event_id *events;   /* HVE_NONE-terminated; NULL: all */
    void (*init)(void *priv);                    /* may be NULL (K2) */
    void (*event)(void *priv, struct az *az, const struct hv_ev *e);
    void (*end)(void *priv, struct az *az);      /* may be NULL */
    void (*fini)(void *priv);                    /* may be NULL */
};

/* K1: NULL-terminated, in report order. */
extern const struct checker *const hv_checkers[];

const struct state *az_state(const struct az *az);

/* K5: one finding; dom FINDING_NODOM, mfn / pfn FINDING_NONE when not
   known.  `at` is the revealing event (its ts and seq are recorded). */
void az_report(struct az *az, const char *checker, const struct hv_ev *at,
               uint8_t host, uint16_t dom, uint64_t mfn, uint64_t pfn,
               const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* K5: keep (host, mfn)'s history as it is now for a later az_report
   (the last call for a frame wins). */
void az_keep_history(struct az *az, uint8_t host, uint64_t mfn);

#endif /* HVLAB_ANALYSIS_CHECKER_H */
