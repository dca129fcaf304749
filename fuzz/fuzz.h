/*
 * fuzz/fuzz.h - the hypercall fuzzer: one entry point, one surface per
 * harness (docs/fuzz.md).
 *
 * An input is bytes from AFL++ or libFuzzer.  fuzz_one() decodes it into a
 * program (fuzz/prog.h), resets the world (fuzz/world.h: a machine with a
 * few domains, built once, restored to its snapshot before every run), runs
 * the program's calls from the domains' vCPUs, and after every call asks
 * the oracle: the full audit of the machine (core/audit.h, every invariant
 * of XEN-NOTES section 11) and the isolation checks (fuzz/isolation.c: no
 * guest mapping of a frame it neither owns nor was granted; no writable
 * mapping of a page-table frame; a read-only grant never mapped writable).
 *
 * Rules:
 *   F1  Decoding is total: any bytes are a program (possibly empty); the
 *       decoder never reads past len and never fails.
 *   F2  Same input, same run: the world is reset to the same snapshot and
 *       nothing of a run survives into the next (AFL stability).
 *   F3  A violation stops the run: res->invariant names it (the audit's
 *       name for it, or "isolation: ..."), res->at_call says after which
 *       call, res->report holds the audit's text (with the frames' recent
 *       history).  In the fuzzing builds (FUZZ_ABORT defined) fuzz_one
 *       prints that and calls abort(), which AFL++ and libFuzzer record as
 *       a crash.
 *   F4  Guest input never crashes the hypervisor: a host crash (SIGSEGV,
 *       an ASan/UBSan report) is a finding of its own.
 */
#ifndef HVLAB_FUZZ_FUZZ_H
#define HVLAB_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fuzz_surface {
    FUZZ_MM = 0,        /* mmu_update, mmuext_op, update_va_mapping,
                           memory_op, vm_assist, guest loads/stores and
                           faults; PV domains */
    FUZZ_GRANT,         /* grant_table_op (map, unmap, copy, setup, query,
                           transfer ...) and event_channel_op between
                           domains, with the mm calls mixed in */
    FUZZ_SHADOW,        /* an HVM shadow domain: guest page-table writes,
                           CR3 loads, INVLPG, faults, p2m changes and
                           log-dirty (domctl shadow_op) from dom0 */
    FUZZ_RESTORE,       /* the migration v2 stream parser and restore
                           (toolstack/mig_restore.c) on the input bytes */
    FUZZ_RACE,          /* the mm calls of dom1 split between its two
                           vCPUs, interleaved by the det scheduler along
                           a schedule the input's first bytes choose
                           (fuzz/race.h) */
    FUZZ_HVMRACE,       /* the race surface's engine on an HVM world: dom1
                           (HVM, shadow paging, OOS and the fast path)
                           or the privileged dom0 (foreign maps, p2m
                           paging and sharing of the HAP guest dom2) races
                           itself on two vCPUs (fuzz/race.h, fuzz/hvmrace.h) */
    FUZZ_NR
};

/* "mm", "grant", "shadow", "restore", "race", "hvmrace"; NULL for others. */
const char *fuzz_surface_name(enum fuzz_surface s);
/* The surface named s, or -1. */
int fuzz_surface_find(const char *s);
/* Does an AFL++ campaign of s walk its queue in order (afl-fuzz -Z) instead
   of AFL++'s draw weighted towards fast entries?  The race surfaces (their
   seeds, the slow SMP workloads, hold the races) and grant (each seed a
   different scenario's workload; drawn, the one a bug needs could wait
   minutes for its turn): docs/fuzz.md "Queue order".  Every campaign
   runner asks this (hvlab fuzz, bench-zoo, bench-fuzz; mk/fuzz-smoke.sh
   keeps the same list). */
bool fuzz_surface_in_order(enum fuzz_surface s);
/* The surface a file's path names, or -1: the innermost component that is
   a surface's name, or starts with it and '-' or '_', or ends with '-' and
   it ("fuzz-out/grant/main/crashes/id:..." and "mm-xsa182" name one). */
int fuzz_surface_of_path(const char *path);

#define FUZZ_REPORT_MAX     8192

struct fuzz_result {
    unsigned calls;             /* calls decoded */
    unsigned calls_run;         /* calls issued before the end or a stop */
    bool violation;             /* F3 */
    char invariant[96];         /* its name */
    unsigned at_call;           /* after call N (0-based) */
    bool finished;              /* exec.c E6: the run got to its end */
    char report[FUZZ_REPORT_MAX];   /* the audit's text, cut to fit */
};

/* How the world goes back to its snapshot between runs (fuzz/exec.c E6):
   REBUILD (the default) runs in this process and rebuilds afterwards;
   FORK runs each program in a forked child of a pristine world, so only
   what the run dirtied is copied and it all vanishes with the child.  SNAP
   (experimental, exec.c E8, fuzz/snap.h) runs in this process with the
   hypervisor's heap in an arena and puts back the arena and the RAM pages
   the run wrote; only in a link with the allocation wraps
   (fz_snap_available()), not for the race surfaces.  Set before the first
   fuzz_one. */
enum fuzz_reset { FUZZ_RESET_REBUILD = 0, FUZZ_RESET_FORK, FUZZ_RESET_SNAP };
void fuzz_set_reset(enum fuzz_reset mode);

/* The oracle (exec.c E3, E10): on unless turned off.  Off, nothing is
   checked after a call but what the hypervisor checks itself (a failed
   assert still aborts), and the restore surface skips its audits: what
   the harness costs without its oracle, which bench-fuzz measures beside
   the oracle's cost (HVLAB_FUZZ_ORACLE=off in the harnesses,
   docs/fuzz-build.md "The floor").  Most of the bug zoo is found only by
   the oracle.  Set between runs, never during one. */
void fuzz_set_oracle(bool on);
bool fuzz_oracle_on(void);
/* The same by name, as the harnesses take HVLAB_FUZZ_ORACLE: NULL, "" or
   "on" turn it on, "off" off; 0, or -1 for anything else (unchanged). */
int fuzz_set_oracle_named(const char *name);

/* FUZZ_RESET_FORK for a fuzzer whose coverage lives in this process's
   private memory (libFuzzer's inline 8-bit counters, [start, end)): the
   child's counters are copied back over this process's after every run,
   so the edges the run took count as if it had run here (exec.c E7).
   NULL, NULL turns it off.  0, or -1 when the shared copy cannot be made. */
int fuzz_set_fork_coverage(void *start, void *end);

/* Build the world of s once (the first fuzz_one does it if not done).
   0, or -1 with a message on stderr (the harness cannot start). */
int fuzz_init(enum fuzz_surface s);

/* F1-F3: run one input.  Returns 0 (nothing found) or 1 (a violation, in
   *res); res may be NULL. */
int fuzz_one(enum fuzz_surface s, const uint8_t *data, size_t len,
             struct fuzz_result *res);

/* The decoded program of an input, one call per line, as `hvlab repro`
   prints it. */
void fuzz_print_program(enum fuzz_surface s, const uint8_t *data, size_t len,
                        FILE *f);

/* Switch a hypervisor option ("grant.xsa224=on", the keys and values of
   `hvlab options` / `hvlab run --set`) for every world built afterwards
   (mm, grant, shadow; the restore surface keeps the defaults).  Only
   before the first fuzz_init / fuzz_one: the world, once built, is reset
   to its snapshot and its options are fixed.  0, or -1 with a message in
   err (an unknown key, a bad value, or "options are fixed once the world
   is built"). */
int fuzz_set_option(const char *key_eq_value, char *err, size_t len);
/* The same for a comma-separated list "k=v,k=v" (the harnesses'
   HVLAB_FUZZ_SET); NULL or "" sets nothing.  Stops at the first error. */
int fuzz_set_options(const char *list, char *err, size_t len);

#endif /* HVLAB_FUZZ_FUZZ_H */
