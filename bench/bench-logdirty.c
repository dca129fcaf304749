/*
 * bench/bench-logdirty.c - what log-dirty costs a hap or PV guest's
 * writes, and what a CLEAN of a 1 GiB domain costs.
 *
 * Figures (best of RUNS runs, same process):
 *   ld_write_off_ns        a guest 8-byte store (mmu_store as the guest's
 *                          vCPU) to a page it has written before, log-dirty
 *                          off: the baseline
 *   ld_write_first_ns      the first store to a page after CLEAN: nested
 *                          fault, mark, ram_logdirty -> ram_rw, retry
 *   ld_write_first_ratio   first / off
 *   ld_write_later_ns      a later store to the same page, log-dirty on
 *   ld_write_later_ratio   later / off
 *   ld_clean_1g_us         CLEAN of a 1 GiB domain (262144 pfns) with every
 *                          bit set: copy out, zero the leaves, and the
 *                          re-arm walk over the p2m, which finds no ram_rw
 *                          entry (the marks were made without writes)
 *   ld_clean_1g_rearm_us   the same CLEAN when every gfn was written (all
 *                          ram_rw): copy, zero and re-flip 262144 entries
 * PV (core/mmu.c rule 24, paging.c L7):
 *   ld_pv_write_off_ns     a PV guest's store to a page written before,
 *                          log-dirty off: the PV baseline
 *   ld_pv_write_first_ns   the first store to a page in a round: re-walk,
 *                          hypervisor-internal fault, mark, re-walk, fill
 *   ld_pv_write_later_ns   a later store to the same page in the round
 *   ld_pv_first_vs_later   first / later, same run
 *   ld_pv_later_ratio      later / off
 *   ld_pv_clean_1g_us      CLEAN of a 1 GiB PV domain (262144 pfns, every
 *                          bit set) including the TLB flush: copy, zero,
 *                          round bump, the flush request to each of its 2
 *                          vCPUs and each vCPU honouring it
 * Shadow-mode HVM (paging.c L10, core/shadow/private.h S8):
 *   ld_sh_write_off_ns     a shadow HVM guest's store to a page written
 *                          before, log-dirty off: the shadow baseline
 *   ld_sh_write_first_ns   the first store to a page in a round: CLEAN
 *                          blew the shadows, so a shadow fault (its share
 *                          of rebuilding the tree and filling the L1
 *                          read-only), mark, RW entry, retry
 *   ld_sh_write_later_ns   a later store to the same page in the round
 *   ld_sh_first_vs_later   first / later, same run
 *   ld_sh_later_ratio      later / off
 * No trace session: each tracepoint is its disabled branch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <xen/xen.h>
#include <xen/domctl.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "bench/lib/clock.h"

#define RUNS        5
#define NDATA       256             /* pages written per round */
#define DATA        16
#define VA_BASE     0x40000000ULL
#define PTE_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define GIB_PAGES   (1ULL << 18)

static void die(const char *what)
{
    fprintf(stderr, "bench-logdirty: %s failed\n", what);
    exit(1);
}

static int sop(struct domain *d, uint32_t op, uint8_t *bm, uint64_t pages)
{
    struct xen_domctl_shadow_op o = { .op = op, .pages = pages };
    current = NULL;
    return domctl_shadow_op(d, &o, bm);
}

/* A hap domain whose gfns DATA.. are mapped at VA_BASE + i pages. */
static struct domain *make_small(struct machine **mp)
{
    struct hv_options o;
    hv_options_default(&o);
    struct domain *d = NULL;
    struct domain_config dc = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
                                .max_pages = DATA + NDATA, .domid = 1,
                                .paging = PAGING_HAP };
    static mfn_t mfn[DATA + NDATA];
    if (machine_create(64ULL << 20, 0, &o, mp) || domain_create(*mp, &dc, &d) ||
        domctl_populate(d, 0, DATA + NDATA, mfn))
        die("set-up");
    uint64_t *l4 = domctl_map_foreign(d, mfn[1]), *l3 = domctl_map_foreign(d, mfn[2]);
    uint64_t *l2 = domctl_map_foreign(d, mfn[3]), *l1 = domctl_map_foreign(d, mfn[4]);
    l4[0] = (2ULL << PAGE_SHIFT) | PTE_FLAGS;
    l3[1] = (3ULL << PAGE_SHIFT) | PTE_FLAGS;
    l2[0] = (4ULL << PAGE_SHIFT) | PTE_FLAGS;
    for (unsigned i = 0; i < NDATA; i++)
        l1[i] = ((uint64_t)(DATA + i) << PAGE_SHIFT) | PTE_FLAGS;
    if (domctl_set_hvm_cr3(d->vcpu[0], 1ULL << PAGE_SHIFT))
        die("cr3");
    return d;
}

/* ns per store over one round of NDATA stores by v. */
static double round_ns_vcpu(struct vcpu *v, uint64_t val)
{
    current = v;
    double t0 = now_ns();
    for (unsigned i = 0; i < NDATA; i++)
        if (mmu_store(v, VA_BASE + i * PAGE_SIZE, 8, val) != MMU_OK)
            die("store");
    double t = (now_ns() - t0) / NDATA;
    current = NULL;
    return t;
}

static double round_ns(struct domain *d, uint64_t val)
{
    return round_ns_vcpu(d->vcpu[0], val);
}

static double best(double a, double b) { return a < b ? a : b; }

/* A PV domain (pfns 0-3 the tables, DATA_PV.. data) with data page i at
   VA_BASE + i pages, A/D preset, as a domain builder writes it; nr_pages
   populated in all, nr_vcpus vCPUs on that root. */
#define DATA_PV     4
static struct domain *make_pv(struct machine *m, uint64_t nr_pages,
                              unsigned nr_vcpus)
{
    struct domain *d = NULL;
    struct domain_config dc = { .kind = DOMAIN_PV, .nr_vcpus = nr_vcpus,
                                .max_pages = nr_pages, .domid = 1 };
    mfn_t *mfn = malloc(nr_pages * sizeof(*mfn));
    if (!mfn || domain_create(m, &dc, &d) ||
        domctl_populate(d, 0, nr_pages, mfn))
        die("PV set-up");
    int rc = domctl_build_pte(d, mfn[0], 4, pt_index(VA_BASE, 4),
                              pte_make(mfn[1], PTE_FLAGS));
    rc |= domctl_build_pte(d, mfn[1], 3, pt_index(VA_BASE, 3),
                           pte_make(mfn[2], PTE_FLAGS));
    rc |= domctl_build_pte(d, mfn[2], 2, pt_index(VA_BASE, 2),
                           pte_make(mfn[3], PTE_FLAGS));
    for (unsigned i = 0; i < NDATA; i++)
        rc |= domctl_build_pte(d, mfn[3], 1, i,
                               pte_make(mfn[DATA_PV + i], PTE_FLAGS));
    for (unsigned i = 0; i < nr_vcpus; i++) {
        rc |= domctl_set_vcpu_context(d->vcpu[i], mfn[0], INVALID_MFN);
        d->vcpu[i]->in_kernel = true;
    }
    if (rc)
        die("PV tables");
    free(mfn);
    return d;
}

/* The PV figures. */
static void bench_pv(void)
{
    struct hv_options o;
    hv_options_default(&o);
    struct machine *m;
    if (machine_create(64ULL << 20, 0, &o, &m))
        die("PV machine");
    struct domain *d = make_pv(m, DATA_PV + NDATA, 1);
    double off = 1e18, first = 1e18, later = 1e18;
    (void)round_ns(d, 1);                       /* warm the TLB */
    for (int r = 0; r < RUNS; r++)
        off = best(off, round_ns(d, 2));
    if (sop(d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        die("PV enable");
    for (int r = 0; r < RUNS; r++) {
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, 0))
            die("PV clean");
        first = best(first, round_ns(d, 3));
        later = best(later, round_ns(d, 4));
    }
    domain_destroy(d);
    machine_destroy(m);

    if (machine_create((GIB_PAGES << PAGE_SHIFT) + (256ULL << 20), 0, &o, &m))
        die("PV 1 GiB machine");
    d = make_pv(m, GIB_PAGES, 2);
    uint8_t *bm = malloc(GIB_PAGES / 8);
    if (!bm || sop(d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        die("PV 1 GiB enable");
    double clean = 1e18;
    for (int r = 0; r < RUNS; r++) {
        for (pfn_t p = 0; p < GIB_PAGES; p++)
            paging_mark_pfn_dirty(d, p, LD_SRC_COPY);
        for (unsigned i = 0; i < d->nr_vcpus; i++)   /* full TLBs */
            (void)round_ns_vcpu(d->vcpu[i], 5);
        double t0 = now_ns();
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, GIB_PAGES))
            die("PV 1 GiB clean");
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            mmu_sync_requests(d->vcpu[i]);
        clean = best(clean, (now_ns() - t0) / 1e3);
    }
    free(bm);
    domain_destroy(d);
    machine_destroy(m);

    printf("figure ld_pv_write_off_ns: %.1f ns   [PV baseline: log-dirty "
           "off]\n", off);
    printf("figure ld_pv_write_first_ns: %.1f ns   [first write to a clean "
           "page in a round: hypervisor fault + mark]\n", first);
    printf("figure ld_pv_write_later_ns: %.1f ns   [write to a page already "
           "dirty in the round]\n", later);
    printf("figure ld_pv_first_vs_later: %.1f x   [first / later, same run]\n",
           first / later);
    printf("figure ld_pv_later_ratio: %.2f x   [goal <= 1.2]   [vs PV off, "
           "same run]\n", later / off);
    printf("figure ld_pv_clean_1g_us: %.0f us   [262144 pfns all dirty, "
           "bitmap + TLB flush of 2 vCPUs]\n", clean);
}

/* The shadow-mode HVM figures: the hap fixture's tables, paging=shadow
   (the default fault vector: sh_page_fault, hidden from the guest). */
static void bench_shadow(void)
{
    struct hv_options o;
    hv_options_default(&o);
    struct machine *m;
    struct domain *d = NULL;
    struct domain_config dc = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
                                .max_pages = DATA + NDATA, .domid = 1,
                                .paging = PAGING_SHADOW };
    static mfn_t mfn[DATA + NDATA];
    if (machine_create(64ULL << 20, 0, &o, &m) || domain_create(m, &dc, &d) ||
        domctl_populate(d, 0, DATA + NDATA, mfn))
        die("shadow set-up");
    uint64_t *l4 = domctl_map_foreign(d, mfn[1]), *l3 = domctl_map_foreign(d, mfn[2]);
    uint64_t *l2 = domctl_map_foreign(d, mfn[3]), *l1 = domctl_map_foreign(d, mfn[4]);
    l4[0] = (2ULL << PAGE_SHIFT) | PTE_FLAGS;
    l3[1] = (3ULL << PAGE_SHIFT) | PTE_FLAGS;
    l2[0] = (4ULL << PAGE_SHIFT) | PTE_FLAGS;
    for (unsigned i = 0; i < NDATA; i++)
        l1[i] = ((uint64_t)(DATA + i) << PAGE_SHIFT) | PTE_FLAGS;
    d->vcpu[0]->in_kernel = true;
    if (domctl_set_hvm_cr3(d->vcpu[0], 1ULL << PAGE_SHIFT))
        die("shadow cr3");
    double off = 1e18, first = 1e18, later = 1e18;
    (void)round_ns(d, 1);                       /* shadows + TLB warm */
    for (int r = 0; r < RUNS; r++)
        off = best(off, round_ns(d, 2));
    if (sop(d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        die("shadow enable");
    for (int r = 0; r < RUNS; r++) {
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, 0))
            die("shadow clean");
        first = best(first, round_ns(d, 3));
        later = best(later, round_ns(d, 4));
    }
    domain_destroy(d);
    machine_destroy(m);
    printf("figure ld_sh_write_off_ns: %.1f ns   [shadow HVM baseline: "
           "log-dirty off]\n", off);
    printf("figure ld_sh_write_first_ns: %.1f ns   [first write to a page "
           "in a round: shadow fault + mark + RW entry]\n", first);
    printf("figure ld_sh_write_later_ns: %.1f ns   [write to a page already "
           "dirty in the round]\n", later);
    printf("figure ld_sh_first_vs_later: %.1f x   [first / later, same run]\n",
           first / later);
    printf("figure ld_sh_later_ratio: %.2f x   [goal <= 1.2]   [vs shadow "
           "off, same run]\n", later / off);
}

int main(void)
{
    struct machine *m;
    struct domain *d = make_small(&m);
    double off = 1e18, first = 1e18, later = 1e18;

    (void)round_ns(d, 1);                       /* warm the TLB */
    for (int r = 0; r < RUNS; r++)
        off = best(off, round_ns(d, 2));
    if (sop(d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        die("enable");
    for (int r = 0; r < RUNS; r++) {
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, NULL, 0))
            die("clean");
        first = best(first, round_ns(d, 3));
        later = best(later, round_ns(d, 4));
    }
    domain_destroy(d);
    machine_destroy(m);

    /* 1 GiB. */
    struct hv_options o;
    hv_options_default(&o);
    struct domain_config dc = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
                                .max_pages = GIB_PAGES, .domid = 1,
                                .paging = PAGING_HAP };
    if (machine_create((GIB_PAGES << PAGE_SHIFT) + (256ULL << 20), 0, &o, &m) ||
        domain_create(m, &dc, &d) || domctl_populate(d, 0, GIB_PAGES, NULL))
        die("1 GiB set-up");
    uint8_t *bm = malloc(GIB_PAGES / 8);
    if (!bm || sop(d, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0))
        die("1 GiB enable");
    double clean = 1e18, rearm = 1e18;
    for (int r = 0; r < RUNS; r++) {
        for (pfn_t p = 0; p < GIB_PAGES; p++)
            paging_mark_pfn_dirty(d, p, LD_SRC_COPY);
        double t0 = now_ns();
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, GIB_PAGES))
            die("1 GiB clean");
        clean = best(clean, (now_ns() - t0) / 1e3);
    }
    for (int r = 0; r < RUNS; r++) {
        for (pfn_t p = 0; p < GIB_PAGES; p++)
            paging_mark_pfn_dirty(d, p, LD_SRC_COPY);
        p2m_change_entry_type_global(d, p2m_ram_logdirty, p2m_ram_rw);
        double t0 = now_ns();
        if (sop(d, XEN_DOMCTL_SHADOW_OP_CLEAN, bm, GIB_PAGES))
            die("1 GiB clean");
        rearm = best(rearm, (now_ns() - t0) / 1e3);
    }

    printf("figure ld_write_off_ns: %.1f ns   [baseline: log-dirty off]\n", off);
    printf("figure ld_write_first_ns: %.1f ns   [first write after CLEAN: "
           "fault + mark + flip]\n", first);
    printf("figure ld_write_first_ratio: %.1f x   [vs off, same run]\n",
           first / off);
    printf("figure ld_write_later_ns: %.1f ns   [log-dirty on, page rw]\n",
           later);
    printf("figure ld_write_later_ratio: %.2f x   [goal <= 1.2]   "
           "[vs off, same run]\n", later / off);
    printf("figure ld_clean_1g_us: %.0f us   [262144 pfns all dirty, "
           "bitmap + a re-arm walk that flips nothing]\n", clean);
    printf("figure ld_clean_1g_rearm_us: %.0f us   [the same + 262144 "
           "entries re-flipped rw -> logdirty]\n", rearm);
    free(bm);
    domain_destroy(d);
    machine_destroy(m);
    bench_pv();
    bench_shadow();
    return 0;
}
