/*
 * bench/bench-shadow.c - HVM shadow paging costs.
 *
 * Figures (each the best of 3 runs):
 *   shadow_slow_faults   sh_page_fault slow path (paging lock, guest walk,
 *                        shadows checked top-down, L1e re-propagated) per
 *                        second, called directly for a not-present read
 *   shadow_fast_faults   reserved-bit faults on a guest-not-present magic
 *                        entry reflected by the lock-free fast path, per
 *                        second (shadow.oos=off, so gnp entries exist)
 *   shadow_emulated_pt_writes  guest stores of present entries into its
 *                        own (shadowed) L1
 *                        through the MMU, each trapped, emulated and
 *                        re-propagated, per second (shadow.oos=off)
 * Setup: one HVM domain, 64 gfns, a 4-level gfn-based tree mapping 16 data
 * pages and the L1 itself (as tests/unit/test-shadow.c).
 *
 * Whole runs (runner_run, det mode, one core, as bench-sched.c):
 *   shadow_oos_on_runs, shadow_oos_off_runs   det runs per CPU second of
 *                        a 3-vCPU HVM shadow fork storm (storm[] below),
 *                        each a whole run (machine, build, workload, audits,
 *                        teardown), with shadow.oos=on and =off; the same
 *                        seeds for both, rounds interleaved
 *   shadow_oos_on_vs_off on / off, the median of the per-round ratios
 *                        (> 1: out-of-sync L1s make the storm faster)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/lib/median.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"
#include "bench/lib/clock.h"

#define DATA_VA     0x40000000ULL
#define PT_VA       (DATA_VA + 100 * 4096ULL)
#define HOLE_VA     (DATA_VA + 50 * 4096ULL)
#define N           200000
#define RUNS        3
#define OOS_ROUNDS  7           /* on/off rounds, interleaved */
#define OOS_SEEDS   12          /* det runs per round and setting */

static struct machine *m;
static struct domain *d;
static struct vcpu *v;

static pte_t *gtab(pfn_t gfn)
{
    p2m_type_t t;
    return (pte_t *)mfn_to_virt(m, get_gfn_query_unlocked(d, gfn, &t));
}

static enum pf_outcome vec(struct vcpu *vv, uint64_t va, uint32_t pfec)
{
    uint32_t inj;
    return sh_page_fault(vv, va, pfec, &inj) == SH_INJECT ? PF_KILL : PF_RETRY;
}

static void setup(void)
{
    struct hv_options o;
    hv_options_default(&o);
    o.shadow_oos = false;
    struct domain_config cfg = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
        .max_pages = 256, .domid = 1, .paging = PAGING_SHADOW };
    if (machine_create(64 << 20, 0, &o, &m) != 0 ||
        domain_create(m, &cfg, &d) != 0 || domctl_populate(d, 0, 64, NULL) != 0 ||
        (d->shadow == NULL && shadow_domain_init(d) != 0)) {
        fprintf(stderr, "bench-shadow: setup failed\n");
        exit(1);
    }
    const uint64_t f = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
    gtab(1)[0] = pte_make(2, f);
    gtab(2)[1] = pte_make(3, f);
    gtab(3)[0] = pte_make(4, f);
    for (unsigned i = 0; i < 16; i++)
        gtab(4)[i] = pte_make(8 + i, f);
    gtab(4)[100] = pte_make(4, f);
    v = d->vcpu[0];
    v->pf_vector = vec;
    v->in_kernel = true;
    current = v;
    if (sh_update_cr3(v, 1 << 12) != 0) {
        fprintf(stderr, "bench-shadow: CR3 load failed\n");
        exit(1);
    }
}

/* ---- whole runs: OOS on vs off ------------------------------------------- */

/* A fork-heavy HVM shadow guest: every fork copies L1 tables and
   write-protects the parent's PTEs with plain stores, every first touch
   and copy-on-write faults.  Today's fast path (fastpath_oos=fixed). */
static const char storm[] =
    "machine ram=48M\n"
    "domain storm kind=hvm paging=shadow vcpus=3 memory=16M\n"
    "workload storm fork-storm procs=4 threads=1 iters=4 pages=32\n"
    "set shadow.fastpath_oos=fixed\n"
    "set guest.spurious_check=on\n"
    "expect audit-clean\n"
    "expect workload-ok\n"
    "expect no-spurious-fault\n";

struct oos_figs {
    double runs_per_s;
    uint64_t faults, forks;         /* hypervisor faults, guest forks: sums */
};

/* CPU time of this thread: a det run is all on the caller's thread, and
   on a loaded host wall time measures the other processes as well. */
static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* OOS_SEEDS det runs (seeds 1..OOS_SEEDS) of the storm with shadow.oos=oos. */
static int oos_runs(const char *oos, struct oos_figs *f)
{
    char err[512], kv[32];
    struct scenario *sc = scenario_parse_text("bench-shadow storm", storm,
                                              err, sizeof(err));
    snprintf(kv, sizeof(kv), "shadow.oos=%s", oos);
    if (!sc || scenario_set(sc, kv, "bench", err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-shadow: %s\n", err);
        scenario_free(sc);
        return -1;
    }
    FILE *devnull = fopen("/dev/null", "w");
    struct run_result r;
    f->faults = f->forks = 0;
    double t0 = cpu_ns();
    for (unsigned i = 0; i < OOS_SEEDS; i++) {
        struct run_opts o = {
            .seed = i + 1, .seed_given = true, .sched = SCHED_DET,
            .out = devnull, .err = stderr, .result = &r,
        };
        if (runner_run(sc, &o) != RUN_HELD) {
            fprintf(stderr, "bench-shadow: the storm with %s did not hold "
                    "(seed %u)\n", kv, i + 1);
            fclose(devnull);
            scenario_free(sc);
            return -1;
        }
        f->faults += r.dom[0].hv_faults;
        f->forks += r.total.forks;
    }
    f->runs_per_s = OOS_SEEDS / ((cpu_ns() - t0) / 1e9);
    fclose(devnull);
    scenario_free(sc);
    return 0;
}

static int oos_figures(void)
{
    double on[OOS_ROUNDS], off[OOS_ROUNDS], ratio[OOS_ROUNDS];
    struct oos_figs fon, foff;
    for (unsigned r = 0; r < OOS_ROUNDS; r++) {
        if (oos_runs("on", &fon) != 0 || oos_runs("off", &foff) != 0)
            return -1;
        on[r] = fon.runs_per_s;
        off[r] = foff.runs_per_s;
        ratio[r] = on[r] / off[r];
    }
    double ron = median(on, OOS_ROUNDS), roff = median(off, OOS_ROUNDS);
    printf("figure shadow_oos_on_vs_off: %.2f x   [on: %.0f runs/s, %.0f "
           "hypervisor faults a run; off: %.0f runs/s, %.0f faults a run; "
           "det runs of a 3-vCPU HVM shadow fork storm, procs=4 iters=4 "
           "pages=32, 16 MiB, seeds 1..%d, runs per CPU second, median of %d "
           "interleaved rounds]\n",
           median(ratio, OOS_ROUNDS), ron, (double)fon.faults / OOS_SEEDS,
           roff, (double)foff.faults / OOS_SEEDS, OOS_SEEDS, OOS_ROUNDS);
    printf("figure shadow_oos_on_runs: %.0f runs/s   [shadow.oos=on, %.1f "
           "forks a run, whole det runs incl. machine and audits, per CPU "
           "second]\n", ron,
           (double)fon.forks / OOS_SEEDS);
    printf("figure shadow_oos_off_runs: %.0f runs/s   [shadow.oos=off, %.1f "
           "forks a run]\n", roff, (double)foff.forks / OOS_SEEDS);
    return 0;
}

int main(void)
{
    setup();
    uint64_t val;
    if (mmu_load(v, DATA_VA, 8, &val) != MMU_OK) {
        fprintf(stderr, "bench-shadow: first access failed\n");
        return 1;
    }
    double slow = 1e30, fast = 1e30, emul = 1e30;
    for (int r = 0; r < RUNS; r++) {
        uint32_t inj;
        double t0 = now_ns();
        for (int i = 0; i < N; i++)
            (void)sh_page_fault(v, DATA_VA + (uint64_t)(i & 15) * 4096, 0, &inj);
        double t1 = now_ns();
        for (int i = 0; i < N; i++)
            (void)sh_page_fault(v, HOLE_VA, PFEC_RSVD | PFEC_PRESENT, &inj);
        double t2 = now_ns();
        /* Present, read-only entries for slot 60, alternating frames: a
           run of zero stores would trip Xen's early-unshadow heuristic
           (a table being torn down) and measure re-shadowing instead. */
        for (int i = 0; i < N; i++)
            (void)mmu_store(v, PT_VA + 60 * 8, 8,
                            pte_make(8 + (i & 7), _PAGE_PRESENT | _PAGE_USER |
                                                  _PAGE_ACCESSED));
        double t3 = now_ns();
        if (t1 - t0 < slow) slow = t1 - t0;
        if (t2 - t1 < fast) fast = t2 - t1;
        if (t3 - t2 < emul) emul = t3 - t2;
    }
    printf("figure shadow_slow_faults: %.0f /s\n", N / (slow / 1e9));
    printf("figure shadow_fast_faults: %.0f /s\n", N / (fast / 1e9));
    printf("figure shadow_emulated_pt_writes: %.0f /s\n", N / (emul / 1e9));
    if (shadow_audit(m, stderr) != 0)
        return 1;
    shadow_teardown(d);
    domain_destroy(d);
    machine_destroy(m);
    current = NULL;
    return oos_figures() == 0 ? 0 : 1;
}
