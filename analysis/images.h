/*
 * analysis/images.h - compare a migration's source and destination memory
 * images (toolstack/image.h, docs/image.md) and say, for every page that
 * differs, why: the round it was last sent in and the last transition of
 * its frame in the trace.
 *
 * Rules:
 *   I1  Pages are compared by hash first; bytes are compared only where the
 *       hashes differ (toolstack/image.c does both, >= 2 GB/s per core).
 *   I2  Each differing pfn is one finding "image.differs" with its pfn,
 *       the byte offsets that differ, and, when a trace was analysed
 *       (st != NULL), the round it was last sent in, whether it was marked
 *       dirty after that send, and the last event that touched its frame.
 *   I3  A malformed image is an error naming the file and offset (the
 *       reader's message); nothing is reported as a difference then.
 *   I4  A page that arrived exactly as sent and differs in an image taken
 *       right after the restore (moment destination-restored) was
 *       rewritten by the restore itself, as Xen's restore rewrites the
 *       guest's p2m frames and start info: counted as expected, not a
 *       finding.  With no trace nothing can be told apart: every
 *       difference is a finding.
 */
#ifndef HVLAB_ANALYSIS_IMAGES_H
#define HVLAB_ANALYSIS_IMAGES_H

#include <stddef.h>
#include <stdint.h>

struct findings;
struct state;

struct images_result {
    uint64_t pages_src, pages_dst;
    uint64_t differ;            /* pfns reported */
    uint64_t attributed;        /* of those, explained from the trace */
    uint64_t expected;          /* I4: rewritten by the restore, no finding */
    uint64_t bytes_compared;
    double seconds;
};

int images_compare(const char *src_path, const char *dst_path,
                   const struct state *st, struct findings *out,
                   struct images_result *res, char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_IMAGES_H */
