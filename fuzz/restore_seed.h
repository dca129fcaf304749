/*
 * fuzz/restore_seed.h - the FUZZ_RESTORE harness's geometry and its seed
 * streams (fuzz/restore_seed.c), written with toolstack/stream.h's writer.
 *
 * Rules:
 *   RD1  The harness restores every input as domain FUZZ_RESTORE_DOMID with
 *        FUZZ_RESTORE_VCPUS vCPUs and FUZZ_RESTORE_MAX_PAGES pages (HVM:
 *        HAP) on one machine of FUZZ_RESTORE_RAM bytes; the seeds are
 *        streams a source of that shape sends.
 *   RD2  Seeds are a valid stream per kind and feature (PV minimal, PV with
 *        a four-level tree, XALLOC/XTAB and a ballooned pfn, PV in verify
 *        mode, HVM) plus streams restore must reject; each restores as its
 *        table says (fuzz_restore_seed_ok) on a fresh machine.
 */
#ifndef HVLAB_FUZZ_RESTORE_SEED_H
#define HVLAB_FUZZ_RESTORE_SEED_H

#include <stdbool.h>

#include "toolstack/stream.h"

#define FUZZ_RESTORE_DOMID      1
#define FUZZ_RESTORE_VCPUS      1
#define FUZZ_RESTORE_MAX_PAGES  64
#define FUZZ_RESTORE_RAM        (8ULL << 20)

unsigned fuzz_restore_nr_seeds(void);
/* Seed i's file name ("pv-min", ...); NULL past the end. */
const char *fuzz_restore_seed_name(unsigned i);
/* Whether seed i restores (true) or must be rejected (false). */
bool fuzz_restore_seed_ok(unsigned i);
/* Write seed i into *out (zeroed first; free out->buf).  0 or -XEN_E*. */
int fuzz_restore_seed(unsigned i, struct stream_membuf *out);

#endif /* HVLAB_FUZZ_RESTORE_SEED_H */
