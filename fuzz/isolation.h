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
 */
#ifndef HVLAB_FUZZ_ISOLATION_H
#define HVLAB_FUZZ_ISOLATION_H

#include <stddef.h>

struct machine;

#define FZ_ISO_RELEASED "isolation: released Xen page mapped"

/* 0 when every check holds; else 1 with the violation's name in name[] and
   a line of detail in detail[]. */
int fz_isolation_check(struct machine *m, char *name, size_t namelen,
                       char *detail, size_t detlen);

#endif /* HVLAB_FUZZ_ISOLATION_H */
