/*
 * analysis/analyze_read.h - what the two readers of the engine share:
 * `hvlab analyze` (through az_run_trace) and the babeltrace2 plugin's
 * sink.hvlab.check both turn babeltrace2 events into engine events here,
 * so they give the same findings for the same trace (analyze.h).
 *
 * Rules:
 *   Q1  az_reader_event decodes with the engine's own decoder (event.h V3),
 *       numbers the events 0, 1, 2... in delivery order, and gives them
 *       their time in ns since the first timestamped event (analyze.c N3).
 *   Q2  It returns 0 (fed or skipped: not an hvlab event) or -1 with err
 *       (an hvlab event this build cannot decode: stop, the trace is from
 *       another build).
 */
#ifndef HVLAB_ANALYSIS_ANALYZE_READ_H
#define HVLAB_ANALYSIS_ANALYZE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <babeltrace2/babeltrace.h>

struct az;

int az_reader_event(struct az *az, const bt_event *ev, int64_t ts_ns,
                    bool has_ts, uint32_t stream, char *err, size_t errlen);

/* analyze.c N2: does the --only list select this checker name? */
bool az_selected(const char *const *only, const char *name);

/*
 * analyze.c N7: the one check of an --only list, for `hvlab analyze
 * --only` and the plugin's only=.  Splits spec ("NAME,NAME...") at commas
 * into buf's copy, fills only[] (at most AZ_MAX_ONLY names, NULL after the
 * last) and checks that each name selects a checker (or rebuild.untraced,
 * image.differs).  Returns the number of names (>= 1), or -1 with err
 * naming the bad name (or saying the list is empty or too long).  *buf is
 * malloc'ed (free it after the analysis) even on error.
 */
#define AZ_MAX_ONLY 64
int az_only_parse(const char *spec, char **buf, const char *only[AZ_MAX_ONLY + 1],
                  char *err, size_t errlen);
/* Does this one name select anything? */
bool az_only_known(const char *name);

/* A message for the losses (A3), "" when there were none: "1234 discarded
   events and 2 discarded packets" (with "at least" when a count was
   unknown).  Returns buf. */
const char *az_loss_words(const struct az *az, char *buf, size_t len);

/* Checkers that run (after --only). */
size_t az_checker_count(const struct az *az);

#endif /* HVLAB_ANALYSIS_ANALYZE_READ_H */
