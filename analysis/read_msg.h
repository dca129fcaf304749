/*
 * analysis/read_msg.h - the words both trace readers (ctf.h through
 * babeltrace2, ctf_native.h on its own) use when a read cannot reach the
 * end, so a cut file is described the same way whichever read it.
 */
#ifndef HVLAB_ANALYSIS_READ_MSG_H
#define HVLAB_ANALYSIS_READ_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* snprintf at err + off, never past errlen; returns the new offset. */
size_t rd_appendf(char *err, size_t errlen, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "stream file 'P' is cut short: it ends at byte offset N, inside the
   packet that starts at byte A and should end at byte B" (or "inside the
   header of the packet at byte A" when cut_end is 0), after "; " when
   something came before. */
size_t rd_cut_words(char *err, size_t errlen, size_t off, const char *path,
                    uint64_t file_size, uint64_t cut_off, uint64_t cut_end);

/* ", the last at S.UUUUUU s": ns since the first event of the read; nothing
   when the stream delivered no timestamped event. */
size_t rd_last_words(char *err, size_t errlen, size_t off, bool has_last,
                     int64_t since_first_ns);

#endif /* HVLAB_ANALYSIS_READ_MSG_H */
