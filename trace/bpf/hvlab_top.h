/*
 * trace/bpf/hvlab_top.h - what the BPF program hvlab_top.bpf.c keeps and
 * `hvlab top` (tools/hvlab/cmd_top.c) reads: map keys and values, shared
 * by both sides.
 *
 * Rules:
 *   T1  Only fixed-width __u* fields, laid out without holes, so the BPF
 *       object and the 64-bit user-space reader agree on every offset.
 *   T2  A latency histogram is log2 of nanoseconds: bucket 0 counts 0 and
 *       1 ns, bucket b (b >= 1) counts [2^b, 2^(b+1)) ns; the last bucket
 *       takes everything above.  A row's count is the sum of its buckets
 *       plus its untimed calls (every timed event lands in exactly one
 *       bucket; a call already running when the probes were attached has
 *       no time, TOP_NS_UNTIMED, and lands in none).
 *   T3  Counters only grow; a reader computes rates from two samples.
 *   T4  Every domain key starts with the machine's host id (usdt.h U8):
 *       two hosts of one process never share a row.
 */
#ifndef HVLAB_TRACE_BPF_HVLAB_TOP_H
#define HVLAB_TRACE_BPF_HVLAB_TOP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TOP_HIST_BUCKETS    40
#define TOP_MAX_ROWS        4096        /* domain x hypercall rows, etc. */
#define TOP_LOCK_CLASSES    128         /* lock levels (core/lock.h) */
#define TOP_MIG_RING        64          /* last migration rounds kept */
#define TOP_NS_UNTIMED      ((__u64)-1) /* = HV_USDT_UNTIMED (usdt.h) */

/* Per host x domain x hypercall (hcall_exit). */
struct top_hcall_key {
    __u32 host;
    __u32 dom;
    __u32 op;
};
struct top_hcall_val {
    __u64 count;                        /* completed calls */
    __u64 errors;                       /* of them, rc < 0 */
    __u64 ns_sum;
    __u64 untimed;                      /* of them, with no time (T2) */
    __u64 hist[TOP_HIST_BUCKETS];       /* T2: sums to count */
};

/* The entry timestamp of a call in flight: per thread and vCPU (det mode
   runs every vCPU of a machine on one thread). */
struct top_start_key {
    __u32 tid;
    __u16 dom;
    __u16 vcpu;
    __u32 host;
};

/* Per domain x fault outcome (enum hv_fault_outcome, core/traps.h). */
struct top_fault_key {
    __u32 host;
    __u32 dom;
    __u32 outcome;
};

/* Per lock class (array index: the lock's level). */
struct top_lock_val {
    __u64 contended, wait_ns_sum;
    __u64 acquired, released, hold_ns_sum;  /* released: matched (B3) */
    __u64 wait_hist[TOP_HIST_BUCKETS];  /* contended waits only */
    __u64 hold_hist[TOP_HIST_BUCKETS];  /* --locks only */
};

/* One migration round (ring slot seq % TOP_MIG_RING). */
struct top_mig_round {
    __u64 seq;                          /* 1, 2, ...: 0 = slot unused */
    __u32 host, dom;
    __u32 iter, kind;                   /* kind: enum mig_round_kind */
    __u64 sent, dirtied, ns;
    __u64 clean_ns;                     /* the CLEAN's time; 0: none */
};

/* Per domain x {map, unmap}. */
struct top_grant_key {
    __u32 host;
    __u32 dom;
    __u32 unmap;
};
struct top_grant_val {
    __u64 count, errors;                /* errors: status != GNTST_okay */
};

/* Per injection point x action (inject/inject.h). */
struct top_inject_key {
    __u32 point;
    __u32 action;
};

#endif /* HVLAB_TRACE_BPF_HVLAB_TOP_H */
