/*
 * toolstack/run_migrate.h - a scenario's `migrate` line inside a run: the
 * control vCPU that saves the domain while its workload runs, restores it
 * on a second machine and starts it there (toolstack/run_migrate.c).
 *
 * The runner (runner.c) builds the source machine's domains as usual, adds
 * the control vCPU of mig_run_new to the vCPUs it runs, and after
 * sched_run collects, audits and tears down the destination through the
 * functions below.  docs/migration.md tells the whole story.
 */
#ifndef HVLAB_TOOLSTACK_RUN_MIGRATE_H
#define HVLAB_TOOLSTACK_RUN_MIGRATE_H

#include <stdio.h>

#include "guest/guest.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

struct machine;
struct domain;
struct vcpu;
struct xenbus;
struct ramdisk;
struct mig_run;

/* The domid of the control domain on the source machine. */
#define MIG_CONTROL_DOMID   (HV_MAX_DOMAINS - 1)

struct mig_run_config {
    const struct scenario *sc;
    const struct run_opts *o;
    struct machine *src;
    struct domain *d;               /* the domain migrated */
    struct guest_pv *gk;            /* its kernel (PV) ... */
    struct guest_hvm *hk;           /* ... or (HVM) */
    struct xenbus *xb;              /* the source host's store */
    /* blk-io: its backend, rebuilt on the destination (-1: none). */
    int backend;                    /* scenario index */
    domid_t backend_domid;
    struct workload_params backend_wl;
    struct run_migration *res;      /* filled as the migration goes */
    domid_t domid;                  /* the migrated domain's id (d is NULL
                                       on a receiver: runner.c U5) */
};

/*
 * Create the control domain (MIG_CONTROL_DOMID on c->src) whose one vCPU
 * runs the migration; *ctl is that vCPU, for the runner's sched_run.
 * 0, or -XEN_E* with err filled.
 */
int mig_run_new(const struct mig_run_config *c, struct mig_run **out,
                struct vcpu **ctl, char *err, size_t errlen);

/* After sched_run: the destination machine (NULL when none was made) and
   its free frames when it was made. */
struct machine *mig_run_dest(const struct mig_run *mr);
uint64_t mig_run_dest_free_before(const struct mig_run *mr);

/* Add what the destination's half of scenario domain `dom` did (vCPU
   counters of the restored domain, the rebuilt backend's kernel stats) to
   rd, with add() summing guest stats. */
void mig_run_collect(const struct mig_run *mr, unsigned dom,
                     struct run_domain *rd,
                     void (*add)(struct guest_stats *t,
                                 const struct guest_stats *s));

/* Destroy the control domain and the destination's domains (the machine
   stays, for the audit); the count of domain_destroy failures, each
   printed to err. */
unsigned mig_run_teardown(struct mig_run *mr, FILE *err);

/* Free everything else: the destination machine, its store, the stream. */
void mig_run_free(struct mig_run *mr);

/* The report's migration paragraph. */
void mig_run_print(const struct run_migration *m, FILE *f);

#endif /* HVLAB_TOOLSTACK_RUN_MIGRATE_H */
