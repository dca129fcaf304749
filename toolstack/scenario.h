/*
 * toolstack/scenario.h - scenario files: one reproducible experiment.
 *
 * A scenario (a .hvl file in scenarios/, format in docs/scenarios.md) declares the
 * machine, its domains, one workload per domain, the options of every layer
 * and the expectations a run is judged by.  The parser is line-oriented and
 * strict: every error names the file, the line and what was wrong, and a
 * parsed scenario is complete (all defaults applied, every option valid).
 *
 * Rules:
 *   S1  One directive per line; '#' starts a comment; blank lines are fine.
 *   S2  Options (`set key=value`) are applied in file order to the
 *       hypervisor's or the guest's option table; `--set` on the command line
 *       (scenario_set) is applied afterwards, so it overrides the file.
 *   S3  A workload names a domain declared above it; a domain has at most one.
 *   S4  Expectations are looked up in the table of toolstack/expect.c.
 */
#ifndef HVLAB_TOOLSTACK_SCENARIO_H
#define HVLAB_TOOLSTACK_SCENARIO_H

#include <stdio.h>

#include "core/domain.h"
#include "core/options.h"
#include "core/types.h"
#include "guest/guest.h"

#define SCN_NAME_MAX        32
#define SCN_MAX_EXPECTS     32

struct inj_plan;
struct run_result;

/* ---- expectations (the table lives in toolstack/expect.c) ---------------- */
/* Where an expectation is judged when a migration splits the run between
   two processes (toolstack/expect.c E4). */
enum expect_where {
    EXPECT_HERE = 0,    /* on every host, on what ran there */
    EXPECT_DOMAIN,      /* the domains running workload `wl`: where one of
                           them is, n/a where all are away */
    EXPECT_WORK,        /* a sum of work done: where the migrated domain
                           finished (its counters carry its whole life) */
    EXPECT_FAILURES,    /* counts of failures: on every host with a domain,
                           each over its own; n/a where all are away */
    EXPECT_RECEIVER,    /* on the receiver only (what it compared) */
};

struct expect_kind {
    const char *name;               /* as written after `expect` */
    const char *arg;                /* name of its one numeric argument, or
                                       NULL when it takes none */
    const char *help;               /* one line: what must hold */
    /* true when the expectation held for this run */
    bool (*check)(const struct run_result *r, uint64_t arg);
    /* why it broke: counts and the first pieces of evidence, one paragraph */
    void (*evidence)(const struct run_result *r, uint64_t arg, FILE *f);
    enum expect_where where;        /* E4 */
    enum workload_kind wl;          /* EXPECT_DOMAIN: the workload */
};

/* The entry named `name`, or NULL. */
const struct expect_kind *expect_find(const char *name);
/* One line per expectation: name, argument, help. */
void expect_list(FILE *f);
/* Names joined by ", " into buf (for error messages). */
void expect_names(char *buf, size_t len);

/* ---- a parsed scenario --------------------------------------------------- */
struct scn_domain {
    char name[SCN_NAME_MAX];
    unsigned line;                  /* where it was declared */
    enum domain_kind kind;
    enum paging_mode paging;        /* HVM: shadow or hap; PV: PAGING_PV */
    unsigned nr_vcpus;
    uint64_t nr_pages;              /* memory, in 4 KiB pages */
    bool privileged;                /* `privileged`: domid 0, may map and
                                       page other domains (one at most) */
    unsigned wl_target;             /* p2m-race target=: index + 1 */
    unsigned wl_backend;            /* blk-io backend=: index + 1 */
    bool has_workload;
    unsigned workload_line;
    struct workload_params wl;      /* wl.seed is set by the runner */
};

struct scn_expect {
    const struct expect_kind *kind;
    uint64_t arg;
    unsigned line;
};

/* `migrate DOMAIN ...`: live-migrate one domain to a second machine while
   the workloads run (toolstack/run_migrate.c, docs/migration.md). */
struct scn_migrate {
    bool set;
    unsigned line;
    unsigned dom;                   /* index of the domain migrated */
    bool live;                      /* live=on (default) */
    bool verify;                    /* verify=on: VERIFY + resend all */
    uint64_t after;                 /* start once the guest's progress
                                       (blk ops, else pages touched) has
                                       reached it */
    unsigned max_iters;             /* 0: Xen's default */
    uint64_t target_dirty;          /* 0: Xen's default */
    unsigned to_host;               /* the destination's host id; 256:
                                       the source's + 1 */
};

struct scenario {
    char path[256];                 /* as given, for messages */
    bool has_machine;
    unsigned machine_line;
    uint64_t ram_bytes;
    unsigned host_id;
    uint64_t seed;                  /* `seed N`; --seed overrides */
    struct hv_options hv;           /* file options applied (S2) */
    struct guest_options guest;
    unsigned nr_domains;
    struct scn_domain dom[HV_MAX_DOMAINS];
    unsigned nr_expects;
    struct scn_expect expect[SCN_MAX_EXPECTS];
    /* `inject SPEC` lines, then --inject (inject/inject.h); NULL: none */
    struct inj_plan *inject;
    struct scn_migrate mig;
};

/*
 * Parse a scenario file / text.  Returns a scenario to free with
 * scenario_free(), or NULL with err[] holding "FILE:LINE: what was wrong"
 * (or "FILE: ..." for an error not tied to a line, such as a missing file).
 */
struct scenario *scenario_parse_file(const char *path, char *err, size_t errlen);
struct scenario *scenario_parse_text(const char *name, const char *text,
                                     char *err, size_t errlen);
void scenario_free(struct scenario *sc);

/*
 * Apply one "key=value" option on top of the file's (S2).  `where` names the
 * source for messages ("--set").  0, or -1 with err[] naming the key, and for
 * an unknown key listing the keys every layer knows.
 */
int scenario_set(struct scenario *sc, const char *kv, const char *where,
                 char *err, size_t errlen);

/*
 * Add injection bindings on top of the file's `inject` lines: `arg` is a
 * plan file when it names an existing file, else one binding
 * (POINT:ACTION,...; docs/inject.md).  0, or -1 with err[] naming the
 * file and line, or the binding, and the point.
 */
int scenario_inject(struct scenario *sc, const char *arg, char *err,
                    size_t errlen);

/* Every option key of every layer, joined by ", " into buf. */
void scenario_option_keys(char *buf, size_t len);

/* Parse "64M", "1G", "4096K", "65536" (bytes) into bytes.  0 or -1. */
int scenario_parse_size(const char *s, uint64_t *bytes);

#endif /* HVLAB_TOOLSTACK_SCENARIO_H */
