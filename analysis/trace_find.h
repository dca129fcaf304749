/*
 * analysis/trace_find.h - the CTF traces below a directory, for both trace
 * readers (ctf.h, ctf_native.h): every directory there that holds a
 * `metadata` file is one trace (per-PID buffers make one per traced
 * process).
 */
#ifndef HVLAB_ANALYSIS_TRACE_FIND_H
#define HVLAB_ANALYSIS_TRACE_FIND_H

#include <stddef.h>

/*
 * The trace directories below dir, sorted, in *paths (malloc'ed, free with
 * trace_find_free).  Their number (>= 1), or -1 with err: dir missing or
 * not a directory, a walk that failed, or no trace below it.
 */
int trace_find(const char *dir, char ***paths, char *err, size_t errlen);
void trace_find_free(char **paths, int n);

#endif /* HVLAB_ANALYSIS_TRACE_FIND_H */
