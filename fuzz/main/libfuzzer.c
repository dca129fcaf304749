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
 *   L4  lf-SURFACE runs each input on the world as the snapshot reset put
 *       it back (FUZZ_RESET_SNAP, fuzz/snap.h): in this process, so the
 *       counters need no carrying back.  HVLAB_FUZZ_RESET=fork (and
 *       lf-asan-SURFACE, below) runs each input in a forked child of the
 *       pristine world (FUZZ_RESET_FORK), its inline 8-bit counters carried back
 *       (fuzz_set_fork_coverage).  Their bounds are what the
 *       instrumentation's constructor hands libFuzzer: the link wraps
 *       __sanitizer_cov_8bit_counters_init (-Wl,--wrap, Makefile) and
 *       the wrapper notes them on the way through.  Naming the section's
 *       __start_/__stop_ symbols here instead silently stops libFuzzer
 *       from registering the counters (no "cov:" in its status lines).
 *       HVLAB_FUZZ_RESET=rebuild runs in this process and rebuilds
 *       instead.  Compare-tracing hints (value profile, the table of
 *       recent compares) stay in the child.
 *   L5  The snapshot reset needs the allocation wraps: lf-asan-SURFACE has
 *       none (ASan owns the heap) and forks; asked for by name
 *       (HVLAB_FUZZ_RESET=snap) it says so on stderr.
 *   L6  HVLAB_FUZZ_ORACLE=off runs without the oracle, as afl.c A9.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/snap.h"

#ifndef FUZZ_SURFACE
#define FUZZ_SURFACE FUZZ_MM
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* L4: the counters, as the instrumentation registers them. */
void __real___sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *end);
void __wrap___sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *end);
static uint8_t *cntrs_start, *cntrs_end;

void __wrap___sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *end)
{
    if (start < end) {          /* one module in a static binary; widen */
        if (!cntrs_start || start < cntrs_start)
            cntrs_start = start;
        if (end > cntrs_end)
            cntrs_end = end;
    }
    __real___sanitizer_cov_8bit_counters_init(start, end);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char why[512];                              /* L3 */
    if (fuzz_set_options(getenv("HVLAB_FUZZ_SET"), why, sizeof(why))) {
        fprintf(stderr, "HVLAB_FUZZ_SET: %s\n", why);
        exit(2);
    }
    const char *orc = getenv("HVLAB_FUZZ_ORACLE");          /* L6 */
    if (fuzz_set_oracle_named(orc)) {
        fprintf(stderr, "HVLAB_FUZZ_ORACLE=%s: not \"on\" or \"off\"\n",
                orc);
        exit(2);
    }
    const char *rs = getenv("HVLAB_FUZZ_RESET");            /* L4 */
    bool named = rs && !strcmp(rs, "snap");
    bool snap = (named || !rs || !*rs) && fz_snap_available();
    if (named && !snap)                                     /* L5 */
        fprintf(stderr, "HVLAB_FUZZ_RESET=snap: this build has no "
                "allocation wraps; the fork reset runs\n");
    /* L4: a forked child's counters come back to this process (E7). */
    if (!snap && !(rs && !strcmp(rs, "rebuild")) && cntrs_start &&
        fuzz_set_fork_coverage(cntrs_start, cntrs_end)) {
        fprintf(stderr, "hvlab-fuzz: no shared memory for the "
                "coverage counters\n");
        exit(2);
    }
    if (snap)
        fuzz_set_reset(FUZZ_RESET_SNAP);
    else if (!(rs && !strcmp(rs, "rebuild")) && cntrs_start)
        fuzz_set_reset(FUZZ_RESET_FORK);
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
