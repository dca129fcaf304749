/*
 * fuzz/main/afl.c - the AFL++ persistent-mode harness: one binary per
 * surface, chosen at compile time (-DFUZZ_SURFACE=FUZZ_MM ...); `make fuzz`
 * builds it with afl-clang-fast (docs/fuzz-build.md).
 *
 * Rules:
 *   A1  The world is built before __AFL_INIT (fuzz_init, then one empty
 *       input for what a surface builds at its first run), so the fork
 *       server forks a process that has it and no input pays for it.
 *   A2  Input comes through shared memory (__AFL_FUZZ_TESTCASE_BUF/LEN) in
 *       a __AFL_LOOP(10000) loop; one fuzz_one per input.
 *   A3  A violation is a crash: fuzz_one aborts under FUZZ_ABORT (F3); the
 *       loop aborts too when fuzz_one returns 1, whatever the build.
 *   A4  Built with -DFUZZ_EMPTY the loop body does nothing: the baseline of
 *       the harness's cost (bench/bench-fuzz.sh).
 *   A5  Built by a plain compiler it reads one input from stdin (or the
 *       file named by argv[1]) and runs it once: a reproducer.
 *   A6  HVLAB_FUZZ_SET="k=v,k=v" switches hypervisor options (a bug zoo
 *       behaviour) before the world is built (fuzz_set_options); a bad
 *       one exits 2.
 *   A7  Each input runs on the world as the snapshot reset put it back
 *       (FUZZ_RESET_SNAP, fuzz/snap.h, fuzz/exec.c E8): every run starts
 *       from the same bytes of hypervisor state (stability), and only the
 *       pages the last run wrote are copied back, in this process.  That
 *       needs the allocation wraps (afl-SURFACE has them); a build
 *       without (cmplog-SURFACE) takes the fork reset.  HVLAB_FUZZ_RESET=fork runs each input in a
 *       forked child of the pristine world (FUZZ_RESET_FORK, E6);
 *       HVLAB_FUZZ_RESET=rebuild rebuilds in this process.
 *   A8  HVLAB_FUZZ_RESET=snap asks for the snapshot reset by name: a build
 *       without the wraps says so on stderr and forks.
 *   A9  HVLAB_FUZZ_ORACLE=off runs without the oracle (fuzz_set_oracle,
 *       fuzz/exec.c E10): what bench-fuzz measures the harness's floor
 *       with; anything else but "on" or unset exits 2.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "fuzz/snap.h"

#ifndef FUZZ_SURFACE
#define FUZZ_SURFACE FUZZ_MM
#endif

#ifndef __AFL_FUZZ_TESTCASE_LEN                 /* A5 */
static ssize_t fuzz_len;
static unsigned char fuzz_buf[1 << 20];
static int fuzz_once;
#define __AFL_FUZZ_TESTCASE_LEN fuzz_len
#define __AFL_FUZZ_TESTCASE_BUF fuzz_buf
#define __AFL_FUZZ_INIT() void fuzz_afl_none(void)
#define __AFL_LOOP(x) \
    (!fuzz_once++ && (fuzz_len = read(0, fuzz_buf, sizeof(fuzz_buf))) >= 0)
#endif

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
    if (argc > 1 && !freopen(argv[1], "rb", stdin)) {
        perror(argv[1]);
        return 2;
    }
#ifndef FUZZ_EMPTY
    char why[512];                              /* A6 */
    if (fuzz_set_options(getenv("HVLAB_FUZZ_SET"), why, sizeof(why))) {
        fprintf(stderr, "HVLAB_FUZZ_SET: %s\n", why);
        return 2;
    }
    const char *orc = getenv("HVLAB_FUZZ_ORACLE");       /* A9 */
    if (fuzz_set_oracle_named(orc)) {
        fprintf(stderr, "HVLAB_FUZZ_ORACLE=%s: not \"on\" or \"off\"\n",
                orc);
        return 2;
    }
    const char *rs = getenv("HVLAB_FUZZ_RESET");        /* A7 */
    fuzz_set_reset(rs && !strcmp(rs, "rebuild") ? FUZZ_RESET_REBUILD
                                                : FUZZ_RESET_FORK);
    bool named = rs && !strcmp(rs, "snap");
    if (named || !rs || !*rs) {
        if (fz_snap_available())
            fuzz_set_reset(FUZZ_RESET_SNAP);
        else if (named)                                 /* A8 */
            fprintf(stderr, "HVLAB_FUZZ_RESET=snap: this build has no "
                    "allocation wraps; the fork reset runs\n");
    }
    if (fuzz_init(FUZZ_SURFACE) != 0)           /* A1 */
        return 2;
    fuzz_one(FUZZ_SURFACE, NULL, 0, NULL);      /* lazily built state too */
#endif
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {                 /* A2 */
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
#ifdef FUZZ_EMPTY
        (void)buf;
        (void)len;
#else
        static struct fuzz_result res;
        if (fuzz_one(FUZZ_SURFACE, buf, len, &res)) {   /* A3 */
            fprintf(stderr, "violation after call %u: %s\n%s\n", res.at_call,
                    res.invariant, res.report);
            abort();
        }
#endif
    }
    return 0;
}
