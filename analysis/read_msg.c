/*
 * analysis/read_msg.c - the readers' shared words (read_msg.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "analysis/read_msg.h"

size_t rd_appendf(char *err, size_t errlen, size_t off, const char *fmt, ...)
{
    if (off >= errlen)
        return off;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err + off, errlen - off, fmt, ap);
    va_end(ap);
    return n < 0 ? off : off + (size_t)n;
}

size_t rd_cut_words(char *err, size_t errlen, size_t off, const char *path,
                    uint64_t file_size, uint64_t cut_off, uint64_t cut_end)
{
    off = rd_appendf(err, errlen, off, "%sstream file '%s' is cut short: it ends at byte "
                     "offset %" PRIu64, off ? "; " : "", path, file_size);
    if (cut_end)
        return rd_appendf(err, errlen, off, ", inside the packet that starts at byte %"
                          PRIu64 " and should end at byte %" PRIu64, cut_off, cut_end);
    return rd_appendf(err, errlen, off, ", inside the header of the packet at byte %"
                      PRIu64, cut_off);
}

size_t rd_last_words(char *err, size_t errlen, size_t off, bool has_last,
                     int64_t since_first_ns)
{
    if (!has_last)
        return off;
    int64_t d = since_first_ns;
    return rd_appendf(err, errlen, off, ", the last at %" PRId64 ".%06" PRId64 " s",
                      d / 1000000000, (d % 1000000000) / 1000);
}
