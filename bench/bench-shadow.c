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
 *   shadow_emulated_pt_writes  guest stores into its own (shadowed) L1
 *                        through the MMU, each trapped, emulated and
 *                        re-propagated, per second (shadow.oos=off)
 * Setup: one HVM domain, 64 gfns, a 4-level gfn-based tree mapping 16 data
 * pages and the L1 itself (as tests/unit/test-shadow.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"

#define DATA_VA     0x40000000ULL
#define PT_VA       (DATA_VA + 100 * 4096ULL)
#define HOLE_VA     (DATA_VA + 50 * 4096ULL)
#define N           200000
#define RUNS        3

static struct machine *m;
static struct domain *d;
static struct vcpu *v;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

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
        for (int i = 0; i < N; i++)
            (void)mmu_store(v, PT_VA + 50 * 8, 8, 0);
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
    return 0;
}
