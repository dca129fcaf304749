/*
 * fuzz/race_input.c - a race surface's input split (fuzz/race_input.h).
 */
#include <string.h>

#include "fuzz/race_input.h"

size_t fz_race_header_len(enum fuzz_surface s)
{
    return s == FUZZ_HVMRACE ? 1 : 0;
}

void fz_race_split(const uint8_t *data, size_t len, struct fz_race_input *in)
{
    fz_race_split_for(FUZZ_RACE, data, len, in);
}

/* RC1, RC2, RC8: byte 0 counts the schedule bytes after it (cut to what
   is there); the rest is the program; the seed is FNV-1a of all.  A
   FUZZ_HVMRACE input's first byte names the racing domain: even dom1
   (story A's HVM guest), odd dom0 (story B's mapper and pager). */
void fz_race_split_for(enum fuzz_surface s, const uint8_t *data, size_t len,
                       struct fz_race_input *in)
{
    memset(in, 0, sizeof(*in));
    if (!data)
        len = 0;
    uint64_t h = 0xcbf29ce484222325ULL;                 /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 0x100000001b3ULL;
    in->seed = h;
    in->racer = 1;
    if (fz_race_header_len(s) && len) {
        in->racer = data[0] % 2 ? 0 : 1;
        data++;
        len--;
        in->prog = data;        /* an input of one byte: no program */
    }
    if (len == 0)
        return;
    size_t n = data[0];
    if (n > len - 1)
        n = len - 1;
    in->sched = data + 1;
    in->nsched = n;
    in->prog = data + 1 + n;
    in->nprog = len - 1 - n;
}
