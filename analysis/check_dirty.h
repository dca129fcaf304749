/*
 * analysis/check_dirty.h - story E's checker (check_dirty.c) as the image
 * comparison (images.c) asks it: why a page of a migrated domain may have
 * arrived stale.
 *
 * Rules:
 *   W1  The answer comes from the story-e checker that ran beside `st` in
 *       the same analysis (az_state() of its engine); without one (the
 *       checker not selected, or no trace analysed) the answer is -1.
 *   W2  The text is one clause for a finding's sentence: "last sent in
 *       round 2 at 1.538 s; written after that through dom1's grant
 *       mapping (ref 8), open across that send and never unmapped; never
 *       marked dirty".
 */
#ifndef HVLAB_ANALYSIS_CHECK_DIRTY_H
#define HVLAB_ANALYSIS_CHECK_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state;

/* What the trace says about one pfn of a migrated domain (W1). */
struct dirty_page {
    bool sent;                  /* sent by the source (not the verify pass) */
    int32_t send_iter;
    int64_t send_ts;
    uint64_t send_hash;         /* of what went on the wire */
    bool received;              /* arrived on another host */
    uint8_t recv_host;
    uint64_t recv_hash;         /* of the last page that arrived */
    bool written;               /* a write after the last send was seen */
    char text[512];             /* W2: the clause, when sent */
};

/* 0 and *out filled; -1: no story-e data for this state, domain or pfn. */
int dirty_page_info(const struct state *st, uint8_t host, uint16_t dom,
                    uint64_t pfn, struct dirty_page *out);

#endif /* HVLAB_ANALYSIS_CHECK_DIRTY_H */
