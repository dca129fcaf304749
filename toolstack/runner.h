/*
 * toolstack/runner.h - run a scenario and judge it by its expectations.
 *
 * Rules:
 *   N1  A run is: create the machine, build every domain, run all vCPUs to
 *       completion, read what the guests saw, audit the live machine, dump the
 *       page tables (on request), destroy the domains, audit again and check
 *       that every frame went back to the heap, destroy the machine.
 *   N2  The runner reads hypervisor state (frame table, vCPU counters) but
 *       never writes it: every change goes through core/domctl.h.
 *   N3  Exit codes: RUN_HELD (0) every expectation held, RUN_BROKEN (1) one
 *       or more broke (each printed with its evidence), RUN_ERROR (2) the
 *       scenario could not be run (usage, scenario or build error).
 *   N4  det mode: a deadlock of the vCPUs (every one only waiting) is
 *       RUN_BROKEN, reported with where each vCPU waits; the domains are
 *       then left as they are (tearing them down would wait on the locks
 *       the stopped vCPUs hold).  A replayed schedule that does not fit the
 *       run (it diverged) is RUN_ERROR after the report: the run is not the
 *       one the schedule recorded.  --schedule-out is written in every case
 *       where the vCPUs ran.
 */
#ifndef HVLAB_TOOLSTACK_RUNNER_H
#define HVLAB_TOOLSTACK_RUNNER_H

#include <stdio.h>

#include "core/sched.h"
#include "core/shadow/shadow.h"
#include "guest/guest.h"
#include "toolstack/migrate.h"
#include "toolstack/scenario.h"

enum run_status { RUN_HELD = 0, RUN_BROKEN = 1, RUN_ERROR = 2 };

struct run_result;
struct mig_conn;
struct xl_reader;

struct run_opts {
    uint64_t seed;
    bool seed_given;                /* --seed overrides the file's seed */
    enum sched_mode sched;
    const char *schedule_in;        /* det: --schedule FILE to replay, or NULL */
    const char *schedule_out;       /* det: --schedule-out FILE, or NULL */
    const char *dump_tables;        /* --dump-tables FILE, or NULL */
    const char *inject_stats;       /* --inject-stats FILE: every point's
                                       hit count (docs/inject.md), or NULL */
    const char *save_stream;        /* --save-stream FILE: the migration's
                                       stream as it went over the wire */
    const char *images_dir;         /* --images DIR: memory images of the
                                       migration (docs/image.md) */
    /* Migration between two processes (docs/migration.md "Two
       processes"; toolstack/mig_conn.h, xl_stream.h, mig_config.h). */
    const char *mig_to;             /* sender: --to URL, or NULL */
    const char *mig_config;         /* sender: the xl header's config */
    size_t mig_config_len;
    const char *mig_disk;           /* both: the migrated blk-io domain's
                                       shared disk file (NULL: in memory) */
    bool mig_disk_temp;             /* sender: the disk file is the run's
                                       own; removed once it is done */
    struct mig_conn *mig_from;      /* receiver: the connection, its xl
                                       header read (mig_from_xl) */
    struct xl_reader *mig_from_xl;
    unsigned mig_from_host;         /* receiver: the sender's host id */
    const char *mig_from_peer;      /* receiver: where it came from */
    FILE *out;                      /* the report (stdout) */
    FILE *err;                      /* error messages (stderr) */
    struct run_result *result;      /* if set: receives the run's figures
                                       (its text fields are left NULL) */
};

/* What one domain did. */
struct run_domain {
    char name[SCN_NAME_MAX];
    domid_t domid;
    unsigned nr_vcpus;
    uint64_t nr_pages;
    struct workload_params wl;
    struct guest_stats gs;          /* what its kernel saw */
    char *guest_report;             /* guest_pv_report text (malloc'd) */
    /* Hypervisor-side vCPU counters, summed over its vCPUs. */
    uint64_t hypercalls, hv_faults, hv_bounced, hv_spurious;
    bool shadowed;                  /* paging=shadow: `sh` is valid */
    struct shadow_stats sh;
    bool away;                      /* not on this host when the run
                                       ended: it left for another process
                                       (sender) or never came (receiver);
                                       out of the totals and of every
                                       per-domain expectation here */
};

/* What the scenario's migration did (toolstack/run_migrate.c). */
struct run_migration {
    bool set;                       /* the scenario migrates a domain */
    char dom_name[SCN_NAME_MAX];
    domid_t domid;
    unsigned from_host, to_host;
    bool live, verify;
    bool started;                   /* the save began */
    int save_rc;                    /* 0, or the Xen errno it failed with */
    int restore_rc;                 /* 0, or ...; 1: restore never ran */
    bool resumed_dest;              /* the guest resumed on the destination */
    bool resumed_source;            /* the save or restore failed and the
                                       guest resumed where it was */
    char err[512];                  /* what failed, "" if nothing did */
    struct mig_save_stats save;
    uint64_t restore_pages, stream_bytes;
    uint64_t kstate_bytes;          /* the guest kernel's saved state
                                       (guest/kstate.c), 0 if none */
    bool verify_seen;
    uint64_t verify_pages, verify_mismatches;
    unsigned nr_mismatch_listed;
    uint64_t mismatch_pfn[MIG_MISMATCH_LIST];
    /* Two processes: this run's side, and the other host's. */
    enum { MIG_SIDE_BOTH = 0, MIG_SIDE_SENDER, MIG_SIDE_RECEIVER } side;
    char peer[300];                 /* the URL / file of the other side */
    bool to_file;                   /* sender: saved to a file (xl save):
                                       the receiver restores it later */
};

struct run_result {
    uint64_t seed;
    enum sched_mode sched;
    const char *ptwr_mode;          /* "emulate" / "unhook" */
    char paging_opts[128];          /* the paging options that matter to
                                       this run's domain kinds, as key=value
                                       pairs (for the header and evidence) */
    bool spurious_check;
    bool blk_persistent, blk_quiesce;  /* blkback.* options of the run */
    unsigned nr_domains;
    struct run_domain dom[HV_MAX_DOMAINS];
    struct guest_stats total;       /* sum over the domains */
    double seconds;                 /* sched_run wall time */
    struct sched_report sched_det;  /* det mode: what the scheduler did */

    unsigned audit_live;            /* violations after the workload */
    char *audit_live_text;          /* their report (malloc'd, may be NULL) */
    unsigned audit_after;           /* violations after domain_destroy */
    char *audit_after_text;
    uint64_t free_before;           /* heap frames before the first domain */
    uint64_t free_after;            /* ... after the last was destroyed */
    uint64_t free_after_extra;      /* of that, the migration's destination */
    unsigned destroy_errors;        /* domain_destroy failures */
    struct run_migration mig;
    bool run_failed;                /* RUN_ERROR after an armed injector
                                       made the run fail part-way: only
                                       audit_after / free_* are set, from
                                       the teardown that followed */
};

/*
 * Run sc (N1) and print the report to o->out.  Returns enum run_status.
 * Errors (RUN_ERROR) are printed to o->err naming what failed.
 */
int runner_run(const struct scenario *sc, const struct run_opts *o);

/* Evaluate sc's expectations on a finished run; print each held/BROKEN
   with evidence to f.  Returns RUN_HELD or RUN_BROKEN. */
int expect_evaluate(const struct scenario *sc, const struct run_result *r,
                    FILE *f);

#endif /* HVLAB_TOOLSTACK_RUNNER_H */
