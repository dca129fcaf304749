/*
 * toolstack/migrate.h - live migration: the save loop (mig_save.c), the
 * restore (mig_restore.c) and the suspend sequence between them
 * (migrate.c), in Xen's migration v2 stream (toolstack/stream.h).
 * XEN-NOTES 7 and 8; docs/migration.md.
 *
 * Save (Xen's xg_sr_save.c):
 *   M1  Setup: the domain's pfn -> frame map (PV: the guest's own p2m list,
 *       whose frames X86_PV_P2M_FRAMES names; HVM: gfns 0..max_gpfn), the
 *       headers, the static records, STATIC_DATA_END, then (PV)
 *       X86_PV_P2M_FRAMES.
 *   M2  Live: ENABLE_LOGDIRTY; iteration 0 sends every pfn; then, while
 *       the policy says go on (Xen's simple_precopy_policy: stop once the
 *       dirty count is under target_dirty or after max_iters iterations),
 *       CLEAN and send the pfns the bitmap names.  Non-live: suspend first,
 *       then one pass over every pfn.
 *   M3  Batches: types from getpageframeinfo3, then per pfn: types that
 *       carry data are read from the frame; PV page tables (L1TAB..L4TAB by
 *       the reported type) are normalised (pv_normalise.h): an error while
 *       live defers the pfn (sent XTAB now, resent in the final round),
 *       any error once paused is fatal.
 *   M4  Suspend: mig_save_hooks.suspend (the guest shuts down with
 *       SHUTDOWN_suspend; its backends quiesce); then CLEAN with
 *       XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL; the dirty pfns and the deferred
 *       ones are sent; then the tail records (PV: TSC_INFO, SHARED_INFO,
 *       X86_PV_VCPU_BASIC per vCPU; HVM: TSC_INFO, HVM_PARAMS,
 *       HVM_CONTEXT) and END.  Log-dirty is switched off on every exit.
 *   M5  Verify (opts.verify): after the final round, a VERIFY record and
 *       every pfn again, before the tail records; the restore compares
 *       instead of writing.
 *   M6  Errors: a negative Xen errno, with st->err saying what failed
 *       (the pfn, the record, the step); the stream is then incomplete (no
 *       END) and the source domain is left suspended or running as it
 *       was, log-dirty off, for the caller to resume.
 *
 * Restore (Xen's xg_sr_restore.c):
 *   R1  A new domain on the destination machine with the stream's kind;
 *       pages populated as PAGE_DATA names them; PV page tables localised
 *       (pfn -> new mfn) as they arrive; after END: PV tables pinned as
 *       their last type says, the guest's p2m frames rewritten with the
 *       new mfns, start_info's shared_info field pointed at the new
 *       domain's shared_info, vCPU contexts set (PV roots, HVM CR3).
 *   R2  After VERIFY, pages are compared with what restore holds, not
 *       written; every differing pfn is counted, traced
 *       (hvlab_mig:verify_mismatch) and the first MIG_MISMATCH_LIST are
 *       kept.
 *   R3  Any error (the stream reader's, a bad pfn, a failed populate,
 *       localise or pin): the half-built domain is destroyed, every frame
 *       back in the destination's heap, res->d NULL, res->err naming the
 *       record and the stream offset.
 */
#ifndef HVLAB_TOOLSTACK_MIGRATE_H
#define HVLAB_TOOLSTACK_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/domain.h"
#include "core/types.h"
#include "toolstack/stream.h"

struct machine;
struct xenbus;

#define MIG_MAX_ITERS_DEFAULT       5       /* Xen's SPP_MAX_ITERATIONS */
#define MIG_TARGET_DIRTY_DEFAULT    50      /* Xen's SPP_TARGET_DIRTY_COUNT */
#define MIG_MAX_ROUNDS              64      /* rounds a stats record keeps */
#define MIG_MISMATCH_LIST           16

/* One round of the save loop (also the progress display's line). */
enum mig_round_kind { MIG_ROUND_LIVE = 0, MIG_ROUND_FINAL = 1,
                      MIG_ROUND_VERIFY = 2 };
struct mig_round {
    unsigned iter;
    enum mig_round_kind kind;
    uint64_t to_send;           /* pfns looked at: all, or the dirty ones */
    uint64_t dirty_count;       /* the CLEAN's stats.dirty_count */
    uint64_t sent;              /* pages sent with data */
    uint64_t deferred;          /* pfns deferred (sent XTAB) */
    uint64_t bytes;             /* stream bytes written in the round */
    uint64_t ns;                /* its wall time */
};

struct mig_save_stats {
    unsigned nr_rounds;                     /* kept in round[] */
    struct mig_round round[MIG_MAX_ROUNDS];
    unsigned live_rounds;                   /* iterations incl. 0 */
    uint64_t pages_sent, bytes;
    uint64_t total_ns;
    uint64_t downtime_ns;       /* suspend asked .. END written */
    uint64_t deferred_final;    /* pfns still deferred at the pause */
    char err[256];              /* M6: what failed ("" when rc == 0) */
};

struct mig_save_hooks {
    /* Suspend the guest of d and quiesce its backends (M4): return once
       domain_shut_down(d) says SHUTDOWN_suspend.  0, or a negative Xen
       errno with err filled (the guest finished or would not stop). */
    int (*suspend)(void *arg, struct domain *d, char *err, size_t errlen);
    /* After each round (done = the last call, after END); may be NULL. */
    void (*progress)(void *arg, const struct mig_round *r, bool done);
    void *arg;
};

struct mig_save_opts {
    struct domain *d;
    struct stream_writer *w;    /* headers not yet written */
    unsigned max_iters;         /* 0: MIG_MAX_ITERS_DEFAULT */
    uint64_t target_dirty;      /* 0: MIG_TARGET_DIRTY_DEFAULT */
    bool live;                  /* false: suspend, then one pass */
    bool verify;                /* M5 */
    FILE *image_pause;          /* image (toolstack/image.h) of the source
                                   when the guest has stopped, or NULL */
    FILE *image_final;          /* ... after the final round, or NULL */
    struct mig_save_hooks hooks;
};

/* Run the save loop on the calling thread (M1-M6).  0 or -XEN_E*. */
int mig_save(const struct mig_save_opts *o, struct mig_save_stats *st);

struct mig_restore_opts {
    struct machine *m;          /* the destination */
    domid_t domid;              /* the new domain's id there */
    unsigned nr_vcpus;
    uint64_t max_pages;
    enum paging_mode paging;    /* HVM: PAGING_SHADOW / PAGING_HAP */
    struct stream_reader *r;
    FILE *image_restored;       /* image of the new domain, or NULL */
};

struct mig_restore_result {
    struct domain *d;           /* the new domain (NULL on error, R3) */
    uint32_t dom_type;          /* STREAM_DHDR_TYPE_* */
    uint64_t pages;             /* pages of data written */
    uint64_t bytes;             /* stream bytes read */
    bool verify_seen;
    uint64_t verify_pages;      /* pages compared after VERIFY */
    uint64_t verify_mismatches;
    unsigned nr_mismatch_listed;
    uint64_t mismatch_pfn[MIG_MISMATCH_LIST];
    char err[256];              /* R3: "record N (NAME) at offset X: ..." */
};

/* Build a domain from the stream (R1-R3).  0 or -XEN_E*. */
int mig_restore(const struct mig_restore_opts *o,
                struct mig_restore_result *res);

/*
 * The suspend sequence a toolstack runs for a guest with split devices
 * (migrate.c; Xen's libxl domain_suspend): write "suspend" at
 * /local/domain/<domid>/control/shutdown of xb, wait until d is shut down
 * with SHUTDOWN_suspend (or -XEN_ESRCH when the guest's vCPUs all stopped
 * without suspending: its workload ended first), then (point
 * mig.suspend.quiesce) ask every backend of one of its vbds to suspend
 * and wait for each one's suspended=1.  0 or -XEN_E* with err filled.
 */
int mig_suspend_guest(struct xenbus *xb, struct domain *d, char *err,
                      size_t errlen);

/* The vbds of d in xb whose backends the source's toolstack closes once
   the migration is done (the backend tears the connection down and its
   workload may end).  0 or -XEN_E*. */
int mig_close_source_vbds(struct xenbus *xb, domid_t domid);

#endif /* HVLAB_TOOLSTACK_MIGRATE_H */
