/*
 * fuzz/isolation.h - the fuzzer's isolation oracle (fuzz/fuzz.h F3).
 *
 * Walks every domain's reachable page tables (a PV vCPU's kernel and user
 * roots: the validated tables; a shadow vCPU's root: the shadows; Xen's
 * L4 slots are skipped) and checks each leaf:
 *   I1  "isolation: foreign frame mapped": the frame is neither owned by
 *       the domain nor held by one of its grant mappings (the privileged
 *       domain may map any guest frame: foreign mappings are its job).
 *   I2  "isolation: writable page-table mapping": a writable leaf of a
 *       frame typed as a page table (L1-L4) with type users.
 *   I3  "isolation: read-only grant writable": a writable leaf of a frame
 *       the domain does not own and holds only read-only grant mappings of.
 *   I1 also (isolation.c I7): a Xen page shared with the domain counts as
 *       its own only while Xen still shares it; one Xen let go (a v2
 *       status frame freed by a switch to version 1, grant.xsa255) is
 *       FZ_ISO_RELEASED.
 *
 * Two ways to run it: fz_isolation_check walks everything once; a
 * struct fz_iso keeps what its last walk reached and, asked again, looks
 * only at what changed since (isolation.c I8-I11, core/audit.h A11).
 */
#ifndef HVLAB_FUZZ_ISOLATION_H
#define HVLAB_FUZZ_ISOLATION_H

#include <stddef.h>
#include <stdint.h>

struct machine;
struct fz_iso;

#define FZ_ISO_RELEASED "isolation: released Xen page mapped"

/* 0 when every check holds; else 1 with the violation's name in name[] and
   a line of detail in detail[]. */
int fz_isolation_check(struct machine *m, char *name, size_t namelen,
                       char *detail, size_t detlen);

/* The kept walk of m (NULL when out of memory).  Its first check walks
   everything. */
struct fz_iso *fz_iso_new(struct machine *m);
void fz_iso_free(struct fz_iso *fi);
/* fz_isolation_check's answer, from what changed since the last call
   (core/audit.h hv_audit_take_delta; this consumes it). */
int fz_iso_check(struct fz_iso *fi, char *name, size_t namelen,
                 char *detail, size_t detlen);
/* I11: does the kept walk cover all a walk from scratch reaches now?  0,
   or 1 with the first frame it misses named in msg[]. */
int fz_iso_verify(struct fz_iso *fi, char *msg, size_t msglen);

struct fz_iso_stats {
    uint64_t checks;        /* fz_iso_check calls */
    uint64_t unchanged;     /* ... with nothing the walk reads changed */
    uint64_t full;          /* ... that walked everything */
    uint64_t frames;        /* frames looked at again by the others */
    uint64_t confirms;      /* incremental findings a full walk re-judged */
    uint64_t forgotten;     /* leaf bits of mappings gone (I13) */
};
void fz_iso_stats(const struct fz_iso *fi, struct fz_iso_stats *out);

#endif /* HVLAB_FUZZ_ISOLATION_H */
