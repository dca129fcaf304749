/*
 * fuzz/hvmrace.h - what the FUZZ_HVMRACE surface adds to the race
 * surface's engine (fuzz/race.c RC8, RC9): the HVM stories' windows as
 * scheduling points, and story A's judge of the faults its HVM guest gets.
 * Story B's check is the foreign-map op's own (fuzz/call.c CA9).
 * docs/fuzz.md "HVM races" has the byte format and the oracle.
 */
#ifndef HVLAB_FUZZ_HVMRACE_H
#define HVLAB_FUZZ_HVMRACE_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct domain;

/* The oracle's findings (res->invariant). */
#define FZ_HVMRACE_SPURIOUS "race: not-present fault for a present guest entry"
#define FZ_HVMRACE_STALE    "race: stale foreign map"

/* The injection points the catalog declares for the HVM stories' windows
   (inject/points.def: p2m lookups acted upon, shadow paging), each bound to
   `yield` on every hit: arm the injector with them for one run (seed: the
   run's); inj_run_release() disarms.  0, or -1 when out of memory. */
int fz_hvmrace_windows_arm(uint64_t seed);
/* Make the plan now (hvmrace.c H1: at the world's first build).  0, or -1
   when out of memory. */
int fz_hvmrace_windows_prepare(void);
/* The plan's text, one binding per line (tests, docs). */
const char *fz_hvmrace_windows_text(void);

/* Story A's judge (hvmrace.c H1-H4) for the racing HVM domain's vCPUs. */
#define FZ_HVMRACE_VCPUS 2
struct fz_hvmrace_judge {
    struct domain *d;
    struct {
        bool entry_ok;          /* H2: the access allowed at fault entry */
        uint64_t gnp_at_entry;  /* H3: the domain's gnp count then */
    } v[FZ_HVMRACE_VCPUS];
    uint64_t judged;            /* not-present faults delivered */
    uint64_t spurious;          /* H4: faults judged spurious */
    char text[256];             /* the first */
};
/* Install the judge on v[0..n-1] (vCPUs of one HVM shadow domain) for one
   run: each vCPU's fault vector is wrapped (H2) and its guest #PF handler
   is the judge's (H4).  The caller restores both after the run (the
   vector it saved, the handler it saved); disarm forgets j. */
void fz_hvmrace_judge_arm(struct fz_hvmrace_judge *j, struct vcpu **v,
                          unsigned n);
void fz_hvmrace_judge_disarm(void);

#endif /* HVLAB_FUZZ_HVMRACE_H */
