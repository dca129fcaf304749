/*
 * fuzz/world.h - the world of a surface: a machine with a few domains,
 * built once, restored to its snapshot before every run (fuzz/fuzz.h F2).
 *
 *   FUZZ_MM, FUZZ_GRANT   dom0 (privileged PV, 128 pages: room for its
 *                         hypercall arguments and nothing else), dom1 and
 *                         dom2 (PV, 16 MiB, 2 vCPUs each); FUZZ_GRANT adds
 *                         grant tables on both domUs with refs granted
 *                         each way (read-write and read-only)
 *   FUZZ_SHADOW           dom0, dom1 (HVM, shadow paging, 4 MiB, 2 vCPUs)
 *   FUZZ_RACE             as FUZZ_MM
 *   FUZZ_HVMRACE          dom0 (privileged PV, 128 pages, 2 vCPUs), dom1
 *                         (HVM, shadow paging, 4 MiB, 2 vCPUs), dom2 (HVM,
 *                         HAP, 1 MiB, 1 vCPU)
 *   FUZZ_RESTORE          no domain: a machine each input restores its
 *                         stream into (fuzz/restore.h, world.c W10)
 *
 * Domains are built with the toolstack's own builders (build_pv / build_hvm:
 * every table entry through domctl_build_pte, the tree validated by
 * domctl_set_vcpu_context), grants set up through the grant_table_op
 * hypercall and written as a granter writes its shared entries.
 *
 * Rules:
 *   W1  The world's layout (which domains, which roles) is a static table
 *       per surface, so a program prints the same with or without a world.
 *   W2  Reset restores the snapshot exactly: the domains and the machine
 *       are destroyed and rebuilt in the same order on a machine of the
 *       same size, whose recycled arena and frame table are indistinguish-
 *       able from fresh ones (core/machine.c rule 10), so every mfn, count
 *       and frame byte repeats.  fz_world_hash() is the check.
 *   W3  The roles of every domain (its tables, data, buffer, boot frames,
 *       grant-table frame) are recorded at build time and never change
 *       during a run; a run may free or retype those frames, and the pools
 *       then name stale frames on purpose.
 */
#ifndef HVLAB_FUZZ_WORLD_H
#define HVLAB_FUZZ_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/types.h"
#include "fuzz/fuzz.h"

struct domain;
struct machine;

#define FZ_MAX_DOMS     3
#define FZ_MAX_GREFS    32
#define FZ_BUF_PAGES    4           /* argument buffer of every domain */

/* A domain's frames by role (W3): pfn ranges [first, first + n). */
struct fz_range {
    pfn_t first;
    uint64_t n;
};

struct fz_dom {
    domid_t domid;
    bool hvm;
    bool privileged;
    unsigned nr_vcpus;
    uint64_t nr_pages;
    struct domain *d;
    mfn_t *p2m;                     /* pfn -> mfn at the snapshot */
    struct fz_range l4, l3, l2, l1, data, buf, boot;
    struct fz_range l2x;            /* world.c W9: a second L2, or n 0 */
    mfn_t gnt_mfn;                  /* first grant-table frame, or
                                       INVALID_MFN */
};

struct fz_gref {
    uint8_t grantee, granter;       /* world indexes */
    uint16_t ref;
    bool readonly;
};

struct fz_world {
    enum fuzz_surface surface;
    struct machine *m;
    unsigned ndoms;
    struct fz_dom dom[FZ_MAX_DOMS];
    unsigned ngrefs;
    struct fz_gref gref[FZ_MAX_GREFS];
    uint64_t max_mfn;               /* frames of the machine */
    uint64_t resets;
    uint64_t reset_ns;              /* total time spent in resets */
    bool thp_off;                   /* exec.c E6: RAM out of huge pages */
    struct fz_iso *iso;             /* the kept isolation walk (W7) */
};

/* W1: the static layout. */
unsigned fz_world_ndoms(enum fuzz_surface s);
domid_t fz_world_domid(enum fuzz_surface s, unsigned i);
bool fz_world_is_hvm(enum fuzz_surface s, unsigned i);
unsigned fz_world_nr_vcpus(enum fuzz_surface s, unsigned i);

/* Build the world of s (any surface; FUZZ_RESTORE's is a bare machine).
   0, or a negative Xen errno with a message on stderr. */
int fz_world_build(struct fz_world *w, enum fuzz_surface s);
/* W2: back to the snapshot.  0 or an error (the world is then unusable). */
int fz_world_reset(struct fz_world *w);
/* Destroy everything. */
void fz_world_free(struct fz_world *w);
/* W7: the isolation walk brought up to date after a full audit outside a
   run (the build's; the snapshot's, fuzz/snap.c S10).  0, or -XEN_EINVAL
   with the finding on stderr. */
int fz_world_settle(struct fz_world *w);
/* Hash of every frame's contents and page_info and the M2P (W2's check). */
uint64_t fz_world_hash(const struct fz_world *w);

/* Direct-map VA of pfn p (both kinds of domain map all their RAM there). */
uint64_t fz_directmap_va(uint64_t pfn);

/* The hypervisor options every world is built and reset with: the
   defaults, as fuzz_set_option (fuzz/exec.c) changed them before the
   first build. */
struct hv_options;
struct hv_options *fz_world_options(void);

#endif /* HVLAB_FUZZ_WORLD_H */
