/*
 * bench/bench-p2m.c - p2m lookups per second under each lock discipline.
 *
 * Figures (each the best of 3 runs of LOOKUPS lookups, same process):
 *   p2m_lookup_locked   get_gfn + put_gfn with p2m.lock=locked (the lookup
 *                       takes the recursive p2m lock and put_gfn drops it)
 *   p2m_lookup_none     the same pair with p2m.lock=none (no lock)
 *   p2m_lookup_ratio    none / locked
 *   p2m_get_page_locked get_page_from_gfn + put_page, p2m.lock=locked
 * One HVM domain with GFNS populated gfns; lookups cycle through them.
 * No trace session: each tracepoint is its disabled branch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/options.h"
#include "bench/lib/clock.h"

#define LOOKUPS     4000000ULL
#define RUNS        3
#define GFNS        256

static struct domain *make(struct machine **mp, enum p2m_lock_mode mode)
{
    struct hv_options o;
    hv_options_default(&o);
    o.p2m_lock = mode;
    struct domain *d = NULL;
    struct domain_config dc = { .kind = DOMAIN_HVM, .nr_vcpus = 1,
                                .max_pages = GFNS, .domid = 1,
                                .paging = PAGING_HAP };
    if (machine_create(64ULL << 20, 0, &o, mp) || domain_create(*mp, &dc, &d) ||
        domctl_populate(d, 0, GFNS, NULL)) {
        fprintf(stderr, "bench-p2m: set-up failed\n");
        exit(1);
    }
    return d;
}

static double run_lookups(struct domain *d)
{
    double best = 0;
    volatile mfn_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (uint64_t i = 0; i < LOOKUPS; i++) {
            p2m_type_t t;
            pfn_t g = i % GFNS;
            sink += get_gfn(d, g, &t);
            put_gfn(d, g);
        }
        double rate = LOOKUPS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    (void)sink;
    return best;
}

static double run_get_page(struct domain *d)
{
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (uint64_t i = 0; i < LOOKUPS; i++) {
            p2m_type_t t;
            mfn_t mfn = get_page_from_gfn(d, i % GFNS, &t, 0);
            if (mfn != INVALID_MFN)
                put_page(d->m, mfn);
        }
        double rate = LOOKUPS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    return best;
}

int main(void)
{
    struct machine *ml, *mn;
    struct domain *dl = make(&ml, P2M_LOCK_LOCKED);
    struct domain *dn = make(&mn, P2M_LOCK_NONE);

    double locked = run_lookups(dl);
    double none = run_lookups(dn);
    double getpage = run_get_page(dl);

    printf("figure p2m_lookup_locked: %.1f Mlookups/s   [goal >= 10]   "
           "[get_gfn+put_gfn, p2m.lock=locked]\n", locked / 1e6);
    printf("figure p2m_lookup_none: %.1f Mlookups/s   "
           "[get_gfn+put_gfn, p2m.lock=none]\n", none / 1e6);
    printf("figure p2m_lookup_ratio: %.2f x   "
           "[none / locked, same run]\n", none / locked);
    printf("figure p2m_get_page_locked: %.1f Mlookups/s   "
           "[get_page_from_gfn+put_page, p2m.lock=locked]\n", getpage / 1e6);

    domain_destroy(dl);
    domain_destroy(dn);
    machine_destroy(ml);
    machine_destroy(mn);
    return 0;
}
