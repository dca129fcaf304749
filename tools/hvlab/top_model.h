/*
 * tools/hvlab/top_model.h - the pure parts of `hvlab top`: one sample of
 * the BPF maps as plain rows, histogram percentiles, names, the JSON and
 * table formats, and finding the hvlab process to watch.  No libbpf here
 * (tests/unit/test-top.c tests all of it without BPF).
 *
 * Rules:
 *   P1  A percentile is the upper edge of the log2 bucket (T2 in
 *       trace/bpf/hvlab_top.h) holding that rank: p50 of a row is the
 *       smallest 2^(b+1) - 1 such that buckets 0..b hold >= half its count;
 *       an empty histogram has percentile 0.
 *   P2  A rate is (count now - count at the previous sample) / interval;
 *       the first sample's previous counts are 0.
 *   P3  Fault outcomes (enum hv_fault_outcome, core/traps.h) fall into five
 *       classes: fast (spurious: retried, nothing to fix), fixed (ptwr,
 *       shadow fix, hap p2m fix), slow (emulated), bounced (to the guest),
 *       killed (no handler, a failed hypervisor access, a dead domain).
 *   P4  The process to watch is one whose /proc/PID/exe is a file named
 *       hvlab (or "hvlab (deleted)") running a command that runs a machine
 *       (argv[1] one of top_running_cmds: not `top`, `analyze`, `help`...),
 *       other than the caller; with --pid, that process if it is one.
 *       A candidate whose child is a candidate too is skipped: the child
 *       is the one running (the --trace controller's re-executed child,
 *       explore --jobs workers).
 *   P5  The JSON sample is one object on one line, keys as in docs/top.md;
 *       every row about a domain says its host ("host", usdt.h U8).
 *   P6  A migration round's dirty pages per second are its dirtied pages
 *       over the CLEAN-to-CLEAN window: its CLEAN's time minus the CLEAN
 *       time of the previous round of its (host, domain) kept.  A verify
 *       round, a round without a CLEAN (clean_ns 0) and a first round kept
 *       have no rate (0); a verify round is never a "previous round".
 */
#ifndef HVLAB_TOOLS_HVLAB_TOP_MODEL_H
#define HVLAB_TOOLS_HVLAB_TOP_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "trace/bpf/hvlab_top.h"

enum top_fault_class {
    TOP_FAULT_FAST, TOP_FAULT_FIXED, TOP_FAULT_SLOW, TOP_FAULT_BOUNCED,
    TOP_FAULT_KILLED, TOP_FAULT_NR_CLASSES
};

struct top_hcall_row {
    struct top_hcall_key k;
    struct top_hcall_val v;
    double rate;                        /* P2, per second */
};
struct top_fault_row {
    uint32_t host, dom, outcome;
    uint64_t count;
};
struct top_grant_row {
    uint32_t host, dom;
    uint64_t maps, map_errors, unmaps, unmap_errors;
};
struct top_inject_row {
    uint32_t point, action;
    uint64_t count;
};

struct top_sample {
    int pid;
    double interval_s;
    unsigned nr_hcalls, nr_faults, nr_grants, nr_injects, nr_mig;
    struct top_hcall_row hcalls[TOP_MAX_ROWS];
    struct top_fault_row faults[TOP_MAX_ROWS];
    struct top_grant_row grants[TOP_MAX_ROWS];
    struct top_inject_row injects[TOP_MAX_ROWS];
    struct top_lock_val locks[TOP_LOCK_CLASSES];
    struct top_mig_round mig[TOP_MIG_RING];     /* oldest first */
    uint64_t dropped;
};

/* P1 */
uint64_t top_hist_total(const __u64 *hist, unsigned n);
uint64_t top_hist_percentile(const __u64 *hist, unsigned n, double p);
/* One histogram as text: a line per non-empty bucket, with a bar. */
void top_hist_print(FILE *f, const __u64 *hist, unsigned n);

/* Xen's name of hypercall op ("mmu_update"), or NULL. */
const char *top_hcall_name(unsigned op);
/* A hypercall by name or number: its op, or -1. */
int top_hcall_parse(const char *s);

/* P3 */
enum top_fault_class top_fault_class_of(unsigned outcome);
const char *top_fault_class_name(enum top_fault_class c);
const char *top_fault_outcome_name(unsigned outcome);
/* The name of a lock class (a lock level of core/lock.h), or NULL. */
const char *top_lock_class_name(unsigned level);

/* P6: round i's dirty pages per second. */
double top_mig_dirty_rate(const struct top_sample *s, unsigned i);
/* "live", "final", "verify" (enum mig_round_kind), or "?". */
const char *top_mig_kind_name(unsigned kind);

/* Sorting and rates: rows in (dom, op) order; rates against prev (may be
   NULL: P2). */
void top_sample_finish(struct top_sample *s, const struct top_sample *prev);

/* P5 */
void top_sample_json(FILE *f, const struct top_sample *s);
/* The refreshing table's text (no screen control). */
void top_sample_table(FILE *f, const struct top_sample *s, int locks);

/* P4: candidates under proc_root ("/proc"), other than self and other
   than the parents of candidates; up to max pids into out; returns how
   many there are (may exceed max). */
int top_find_hvlab(const char *proc_root, pid_t self, pid_t *out, int max);
/* P4 for one pid: 1 if it is an hvlab process running a machine, 0 if not. */
int top_is_hvlab(const char *proc_root, pid_t pid);
/* The command line of pid, arguments separated by spaces, into buf (""
   when unreadable); returns buf. */
char *top_cmdline(const char *proc_root, pid_t pid, char *buf, size_t n);

#endif /* HVLAB_TOOLS_HVLAB_TOP_MODEL_H */
