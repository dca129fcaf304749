/*
 * core/options.h - the hypervisor's run options (the bug zoo's switches).
 *
 * Where Xen changed behaviour over the years, hvlab keeps each variant as a
 * named option, so a researcher can switch the historical behaviour on:
 *   ptwr.mode = emulate | unhook     (XEN-NOTES 3.1 / 3.2, story C)
 * Options are declared once in the table in options.c; `--set key=value`
 * and scenario files go through hv_option_set().
 */
#ifndef HVLAB_CORE_OPTIONS_H
#define HVLAB_CORE_OPTIONS_H

#include <stdio.h>

#include "core/sched.h"
#include "core/types.h"

enum ptwr_mode {
    PTWR_EMULATE = 0,   /* today's Xen: trap and emulate every L1 write */
    PTWR_UNHOOK  = 1,   /* Xen 3.0: unhook the L1, let the guest write it */
};

enum shadow_fastpath_oos {
    SH_FASTPATH_OOS_FIXED = 0,  /* Xen since July 2009: OOS checked first,
                                   no guest-not-present magic with OOS on */
    SH_FASTPATH_OOS_RACY  = 1,  /* before: read the shadow L1e, check OOS
                                   after (story A) */
};

/* p2m.lock: how p2m lookups that are acted upon are synchronised with p2m
   updates (XEN-NOTES 4.4, 4.5; story B). */
enum p2m_lock_mode {
    P2M_LOCK_LOCKED = 0,    /* Xen since 2012: get_gfn holds the p2m lock
                               until put_gfn */
    P2M_LOCK_NONE   = 1,    /* pre-2011: unlocked lookups, no reference */
};

/* mm.pfinfo_devalidated: what XEN_DOMCTL_getpageframeinfo3 reports for a
   page-table-typed frame that is neither validated nor pinned (XEN-NOTES
   1.6, 8.6; story D, docs/pfinfo.md). */
enum pfinfo_devalidated {
    PFINFO_DEVAL_NOTAB = 0, /* Xen since 0a87e677f4 (4.16): NOTAB */
    PFINFO_DEVAL_PT    = 1, /* before: the stale type bits (e.g. L1TAB) */
};

struct hv_options {
    enum ptwr_mode ptwr_mode;   /* ptwr.mode */
    bool pv_linear_pt;          /* mm.linear_pt: allow linear page tables */
    unsigned preempt_budget;    /* mm.preempt_budget: entries between
                                   preemption checks of long operations
                                   (0 = never preempt) */
    /* det-mode scheduling (--sched det; docs/determinism.md).  They live
       here so scenario files and --set reach them; the runner copies them
       into struct sched_config. */
    enum sched_strategy sched_strategy; /* sched.strategy */
    unsigned sched_pct_depth;   /* sched.pct_depth: d */
    unsigned sched_pct_steps;   /* sched.pct_steps: k (0 = default) */
    unsigned sched_mem_quantum; /* sched.mem_quantum: SP_MEM every N */
    unsigned sched_deadlock;    /* sched.deadlock_after: decisions */
    enum p2m_lock_mode p2m_lock; /* p2m.lock */
    /* HVM shadow paging (core/shadow/shadow.h). */
    bool shadow_oos;            /* shadow.oos: out-of-sync L1s */
    bool shadow_fastpath;       /* shadow.fastpath: lock-free magic path */
    enum shadow_fastpath_oos shadow_fastpath_oos; /* shadow.fastpath_oos */
    unsigned evtchn_max_ports;  /* evtchn.max_ports: highest port number a
                                   domain may use (core/evtchn.c) */
    /* Grant tables (core/grant): per-domain limits, Xen's defaults. */
    unsigned grant_max_frames;  /* grant.max_frames */
    unsigned grant_max_maptrack_frames; /* grant.max_maptrack_frames */
    /* Grant-table bug zoo (docs/grant.md): historical behaviour, off. */
    bool grant_xsa224;          /* grant.xsa224: host-only unmap also puts
                                   the device map's writable type ref */
    bool grant_xsa227;          /* grant.xsa227: contains_pte host_addr
                                   not checked for 8-byte alignment */
    bool grant_xsa234;          /* grant.xsa234: unmap / replace do not
                                   check the PTE's flags */
    bool grant_xsa255;          /* grant.xsa255: v2->v1 frees status
                                   frames the guest still maps */
    bool grant_xsa316;          /* grant.xsa316: map's _set_status error
                                   path returns status 1 */
    enum pfinfo_devalidated pfinfo_devalidated; /* mm.pfinfo_devalidated */
    /* PV page-table bug zoo (docs/bugzoo.md): historical behaviour, off. */
    bool mm_xsa182;             /* mm.xsa182: the L2..L4 fast path lets RW
                                   change although linear PTs are allowed */
    bool mm_xsa148;             /* mm.xsa148: L2 fast path compares only
                                   frame and P, so PSE can be set on it */
    bool mm_xsa240;             /* mm.xsa240: linear entries and linear
                                   uses of one table are not exclusive */
    bool mm_xsa309;             /* mm.xsa309: resuming a partial validation
                                   resets linear_pt_count */
    bool mm_xsa279;             /* mm.xsa279: update_va_mapping flushes
                                   after a failed update, va unaudited */
    /* Log-dirty (core/mm/paging.c). */
    bool logdirty_final_marks_grants; /* logdirty.final_marks_grants */
};

void hv_options_default(struct hv_options *o);

/*
 * Set one option from text.  Returns 0, or -1 with a message in why[]
 * naming the key and the values it accepts.  Keys it does not know are
 * reported as such (callers may try another layer's table first).
 */
int hv_option_set(struct hv_options *o, const char *key, const char *value,
                  char *why, size_t whylen);
bool hv_option_known(const char *key);
/* One line per option: key, current value, accepted values, meaning. */
void hv_options_print(const struct hv_options *o, FILE *f);

#endif /* HVLAB_CORE_OPTIONS_H */
