/*
 * fuzz/restore.h - the FUZZ_RESTORE surface (fuzz/restore.c): the input
 * bytes are a migration v2 stream, restored into the harness's machine.
 * fuzz_one(FUZZ_RESTORE, ...) calls it.
 */
#ifndef HVLAB_FUZZ_RESTORE_H
#define HVLAB_FUZZ_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

/* Restore data as a stream (F1-F4 of fuzz/fuzz.h).  0, or 1 with the
   violation in *res (res may be NULL). */
int fuzz_restore_one(const uint8_t *data, size_t len, struct fuzz_result *res);

#endif /* HVLAB_FUZZ_RESTORE_H */
