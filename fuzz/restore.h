/*
 * fuzz/restore.h - the FUZZ_RESTORE surface (fuzz/restore.c): the input
 * bytes are a migration v2 stream, restored into the surface's world, a
 * machine with no domain (fuzz/world.c W10).  fuzz_one(FUZZ_RESTORE, ...)
 * calls it with the world reset as every surface's (fuzz/exec.c E9).
 */
#ifndef HVLAB_FUZZ_RESTORE_H
#define HVLAB_FUZZ_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

struct machine;

/* Restore data as a stream into m (F1-F4 of fuzz/fuzz.h).  0, or 1 with
   the violation in *res. */
int fuzz_restore_run(struct machine *m, const uint8_t *data, size_t len,
                     struct fuzz_result *res);

#endif /* HVLAB_FUZZ_RESTORE_H */
