/*
 * analysis/report_private.h - the report's counters, shared by its three
 * files: report.c (feeding them), report_print.c (text and JSON) and
 * report_plot.c (gnuplot).  Nothing outside analysis/report*.c includes it.
 *
 * Invariants (report.c keeps them, RP1-RP4 there; rp_audit checks them):
 *   - a migration is open (findable by host, dom) until its save_done, or
 *     until a round_begin that does not go past its last round;
 *   - a migration's pfn set exists only while it is open (RP3);
 *   - a round's has_* flags say which of its values the trace held: a
 *     value whose flag is false is unknown and printed as such;
 *   - a call slot is used once its vCPU has entered the hypervisor; it is
 *     open while op != 0 (op is the hypercall number + 1);
 *   - counts add up: events by id to the total, a migration's rounds to its
 *     re-sent and traced pages, each op's histograms to its calls, the ops
 *     to the timed calls.  rp_audit checks all of it.
 */
#ifndef HVLAB_ANALYSIS_REPORT_PRIVATE_H
#define HVLAB_ANALYSIS_REPORT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"
#include "analysis/report.h"

enum round_kind { RK_LIVE = 0, RK_FINAL = 1, RK_VERIFY = 2 };

struct rp_round {
    uint32_t iter;
    uint8_t kind;               /* round_begin's / round_end's final field */
    bool has_begin, has_end;    /* RP1: what the trace held */
    bool has_clean;             /* RP2 */
    uint64_t to_send;           /* round_begin */
    uint32_t dirty_count;       /* RP2: the CLEAN that opened it */
    uint64_t sent, deferred, bytes, ns;     /* round_end */
    uint64_t pages;             /* send_page events with data */
    uint64_t nodata;            /* send_page events without (XTAB...) */
    uint64_t resent;            /* RP3 */
    uint64_t dup;               /* RP3: twice in this round */
    uint64_t norm_fail;         /* normalise_fail events */
    int64_t t_begin, t_end;     /* trace clock */
};

struct pfn_slot {
    uint64_t pfn;
    uint32_t round1;            /* index + 1 of the last round that sent it
                                   with data; 0 = empty slot */
};

struct rp_mig {
    uint8_t host;
    uint16_t dom;
    bool open;                  /* RP1: no save_done yet, still findable */
    bool done;                  /* save_done seen */
    int32_t rc;
    uint64_t pages, bytes;      /* save_done */
    int64_t t_first, t_last, t_done;
    bool has_suspend;
    int64_t t_suspend;          /* suspend phase 0 on the trace clock */
    uint64_t suspend_ns;        /* the last suspend event's own ns */
    uint8_t suspend_phase;
    struct rp_round *round;
    size_t nround, capround;
    uint64_t resent;            /* RP3, the verify pass not counted */
    uint64_t pages_seen;
    uint64_t idle_cleans;       /* RP2: CLEANs that opened no round */
    uint64_t idle_dirty;        /* and the pages they reported */
    struct pfn_slot *set;       /* RP3, NULL once closed */
    size_t setcap, setused;
};

/* RP2: a CLEAN waiting for the round it opens. */
struct rp_clean {
    uint8_t host;
    uint16_t dom;
    bool valid;
    uint32_t dirty_count;
};

#define LAT_SUB_BITS 4
#define LAT_SUB (1u << LAT_SUB_BITS)
#define LAT_FINE ((64 - LAT_SUB_BITS + 1) * LAT_SUB)
#define LAT_LOG2 64

struct rp_op {
    uint32_t op;
    uint64_t calls, continued, continuations;
    uint64_t sum_ns, min_ns, max_ns;
    uint64_t log2[LAT_LOG2];
    uint64_t fine[LAT_FINE];
};

struct rp_call {                /* RP4: an open hypercall */
    uint64_t key;               /* host << 32 | dom << 16 | vcpu; */
    bool used;
    uint32_t op;
    uint32_t conts;
    int64_t t;
};

struct rp_evstat {
    uint64_t count;
    int64_t first, last;
};

struct report {
    /* event statistics */
    struct rp_evstat ev[HVE__COUNT];
    uint64_t total;
    int64_t t_first, t_last;
    /* migrations */
    struct rp_mig **mig;
    size_t nmig, capmig;
    struct rp_mig *last_mig;    /* lookup cache */
    struct rp_clean *clean;
    size_t nclean, capclean;
    /* hypercalls */
    struct rp_op **op;
    size_t nop, capop;
    struct rp_op *op_small[64]; /* direct index of op < 64 */
    struct rp_call *call;
    size_t capcall, usedcall;
    uint64_t calls, lost_entries, unmatched_exits, unmatched_conts, untimed;
    bool oom;                   /* an allocation failed: counts are short */
};

/* report.c: names, derived values, formatting shared by the outputs. */
const char *rp_op_name(uint32_t op, char *buf, size_t len);   /* Xen's name */
const char *rp_kind_name(uint8_t kind);                        /* live ... */
uint64_t rp_round_dirtied(const struct rp_round *rd);          /* RP2 */
uint64_t rp_open_calls(const struct report *r);
struct rp_op **rp_ops_sorted(const struct report *r);  /* busiest first; free */
uint64_t rp_op_percentile(const struct rp_op *o, unsigned permille);  /* RP4 */
const char *rp_fmt_ns(uint64_t ns, char *buf, size_t len);     /* "1.2 us" */
const char *rp_fmt_pow2(unsigned k, char *buf, size_t len);    /* "1.02us" */

/* The invariants above and the counters' sums: 0, or -1 with why. */
int rp_audit(const struct report *r, char *why, size_t len);

#endif /* HVLAB_ANALYSIS_REPORT_PRIVATE_H */
