/*
 * tests/e2e/trace-emitter.c - emit a known number of hvlab events.
 *
 *   trace-emitter N     emit N hvlab_pt:pte_write events through TRC()
 *
 * Rules: the events go through the same macro and provider objects hvlab
 * itself uses, so a recorder or a plain `lttng` session that catches these
 * catches hvlab's.  Event i carries slot = i % 512 and new_pte = i, so a
 * reader can check payloads as well as counts.  Prints "emitted N".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace/trace.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: trace-emitter N\n");
        return 2;
    }
    char *end = NULL;
    uint64_t n = strtoull(argv[1], &end, 10);
    if (!end || *end) {
        fprintf(stderr, "trace-emitter: '%s' is not a number of events\n", argv[1]);
        return 2;
    }
    for (uint64_t i = 0; i < n; i++)
        TRC(hvlab_pt, pte_write, 0, 1, 0x1000 + i / 512, 1, (uint16_t)(i % 512),
            0, i, 0);
    printf("emitted %" PRIu64 "\n", n);
    return 0;
}
