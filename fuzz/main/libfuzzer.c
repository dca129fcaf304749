/*
 * fuzz/main/libfuzzer.c - the libFuzzer entry points, one binary per
 * surface (-DFUZZ_SURFACE=FUZZ_MM ...), built by `make fuzz` with clang
 * -fsanitize=fuzzer, plain and with AddressSanitizer and UBSan
 * (docs/fuzz-build.md).
 *
 * Rules:
 *   L1  LLVMFuzzerInitialize builds the world once (fuzz_init); a harness
 *       that cannot start exits 2.
 *   L2  LLVMFuzzerTestOneInput runs one input; a violation aborts (F3),
 *       which libFuzzer records as a crash with the input.
 *   L3  HVLAB_FUZZ_SET="k=v,k=v" switches hypervisor options before the
 *       world is built (fuzz_set_options); a bad one exits 2.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/fuzz.h"

#ifndef FUZZ_SURFACE
#define FUZZ_SURFACE FUZZ_MM
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char why[512];                              /* L3 */
    if (fuzz_set_options(getenv("HVLAB_FUZZ_SET"), why, sizeof(why))) {
        fprintf(stderr, "HVLAB_FUZZ_SET: %s\n", why);
        exit(2);
    }
    if (fuzz_init(FUZZ_SURFACE) != 0)
        exit(2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_result res;
    if (fuzz_one(FUZZ_SURFACE, data, size, &res)) {
        fprintf(stderr, "violation after call %u: %s\n%s\n", res.at_call,
                res.invariant, res.report);
        abort();
    }
    return 0;
}
