/*
 * tests/unit/test-pt-reuse.c - story D's guest (guest/pt_reuse.c) on a
 * built PV domain: released L1s kept read-only on a quicklist and reused,
 * data pages ballooned out and back in, and the state story D needs left
 * behind - a devalidated L1 (type bits L1, count 0, !validated) whose stale
 * entries name frames the domain no longer owns, reported L1TAB with
 * mm.pfinfo_devalidated=pt and NOTAB with =notab, and failing the save
 * side's normalisation once paused (-ERANGE; -EAGAIN while live).
 */
#include "tests/unit/test.h"

#include <xen/domctl.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/mm/page.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "toolstack/build_pv.h"
#include "toolstack/pv_normalise.h"
#include "toolstack/scenario.h"

struct setup {
    unsigned nr_vcpus;
    enum sched_mode mode;
    enum guest_pt_updates pt_updates;
    struct workload_params wl;
    /* Called with the domain alive after its vCPUs stopped. */
    void (*after)(struct machine *m, struct domain *d,
                  const struct build_pv_layout *l);
};

struct run {
    struct guest_stats st;
    unsigned audit_before, audit_live, audit_after;
    uint64_t free_before, free_after;
};

static void run_guest(const struct setup *s, struct run *r)
{
    struct hv_options ho;
    struct guest_options go;
    struct build_pv_layout layout;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_pv *g = NULL;
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    hv_options_default(&ho);
    guest_options_default(&go);
    go.pt_updates = s->pt_updates;
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    r->free_before = m->nr_free;

    struct build_pv_config cfg = {
        .domid = 1, .nr_vcpus = s->nr_vcpus, .nr_pages = 4096,
        .gopt = &go, .wl = &s->wl,
    };
    int rc = build_pv(m, &cfg, &d, &g, &layout, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
    r->audit_before = hv_audit(m, stderr);

    struct sched_config sc = { .mode = s->mode, .seed = s->wl.seed };
    CHECK_EQ(sched_run(&sc, d->vcpu, d->nr_vcpus), 0);

    guest_pv_stats(g, &r->st);
    guest_pv_report(g, stderr);
    r->audit_live = hv_audit(m, stderr);
    if (s->after)
        s->after(m, d, &layout);
    CHECK_EQ(domain_destroy(d), 0);
    r->audit_after = hv_audit(m, stderr);
    r->free_after = m->nr_free;
    guest_pv_free(g);
    machine_destroy(m);
}

static struct setup base(unsigned vcpus, unsigned procs, unsigned threads)
{
    struct setup s = {
        .nr_vcpus = vcpus, .mode = SCHED_THREADS, .pt_updates = GPT_MIXED,
        .wl = { .kind = WL_PT_REUSE, .procs = procs, .threads = threads,
                .iters = 8, .pages = 600, .seed = 7, .quicklist = 4,
                .balloon = true },
    };
    s.wl.pages *= threads;          /* 600 pages (two L1s) per thread */
    return s;
}

/* The guest saw nothing wrong, the audit is clean before, during and after
   the run, and every frame came back. */
static void check_clean(const struct setup *s, const struct run *r)
{
    CHECK_EQ(r->st.verify_failures, 0);
    CHECK_EQ(r->st.hypercall_errors, 0);
    CHECK_EQ(r->st.kernel_oopses, 0);
    CHECK_EQ(r->st.procs_killed, 0);
    CHECK_EQ(r->st.exits, s->wl.procs);
    CHECK_EQ(r->st.pages_touched,
             (uint64_t)s->wl.procs * s->wl.iters * s->wl.pages);
    CHECK_EQ(r->audit_before, 0);
    CHECK_EQ(r->audit_live, 0);
    CHECK_EQ(r->audit_after, 0);
    CHECK_EQ(r->free_after, r->free_before);
}

static void check_reuse(const struct run *r)
{
    CHECK(r->st.ql_released > 0);
    CHECK(r->st.ql_reuses > 0);
    CHECK(r->st.balloon_out > 0);
    CHECK(r->st.balloon_in > 0);
    CHECK(r->st.balloon_in <= r->st.balloon_out);
}

/* ---- the story-D precondition -------------------------------------------- */

/* The guest's p2m list, read from its frames (found by their M2P). */
struct p2m_view {
    struct machine *m;
    struct domain *d;
    mfn_t frames[64];
    uint64_t nr_pages;
};

static uint64_t view_m2p(void *o, uint64_t mfn)
{
    struct p2m_view *v = o;
    return get_gpfn_from_mfn(v->m, mfn);
}

static uint64_t view_p2m(const struct p2m_view *v, uint64_t pfn)
{
    const uint64_t *page = mfn_to_virt(v->m, v->frames[pfn / 512]);
    return page[pfn % 512];
}

static bool view_in_physmap(void *o, uint64_t pfn, uint64_t mfn)
{
    struct p2m_view *v = o;
    return pfn < v->nr_pages && view_p2m(v, pfn) == mfn;
}

static int found_stale;

static void find_stale_l1(struct machine *m, struct domain *d,
                          const struct build_pv_layout *l)
{
    struct p2m_view v = { .m = m, .d = d, .nr_pages = 4096 };
    struct pvn_save_ops ops = { view_m2p, view_in_physmap, &v };
    unsigned nr_p2m = 0;

    REQUIRE(l->nr_p2m_frames <= 64);
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        uint64_t pfn = get_gpfn_from_mfn(m, mfn);
        if (mfn_to_page(m, mfn)->owner == d->domid && pfn >= l->p2m_pfn &&
            pfn < l->p2m_pfn + l->nr_p2m_frames) {
            v.frames[pfn - l->p2m_pfn] = mfn;
            nr_p2m++;
        }
    }
    REQUIRE(nr_p2m == l->nr_p2m_frames);

    found_stale = 0;
    unsigned ballooned = 0;
    for (uint64_t pfn = 0; pfn < v.nr_pages; pfn++)
        ballooned += view_p2m(&v, pfn) == ~0ULL;
    CHECK(ballooned > 0);               /* INVALID_P2M_ENTRY in its p2m */

    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        const struct page_info *pg = mfn_to_page(m, mfn);
        uint64_t t = atomic_load(&pg->type_info);
        if (pg->owner != d->domid ||
            (t & PGT_type_mask) != PGT_l1_page_table ||
            (t & PGT_count_mask) != 0 || (t & (PGT_validated | PGT_pinned)))
            continue;
        const uint64_t *e = mfn_to_virt(m, mfn);
        bool stale = false;
        for (unsigned s = 0; s < 512 && !stale; s++) {
            mfn_t x = pte_mfn(e[s]);
            stale = (e[s] & _PAGE_PRESENT) && mfn_valid(m, x) &&
                    mfn_to_page(m, x)->owner != d->domid;
        }
        if (!stale)
            continue;
        found_stale++;
        if (found_stale > 1)
            continue;                   /* check the first one */

        xen_pfn_t arr[1] = { mfn };
        m->opt.pfinfo_devalidated = PFINFO_DEVAL_PT;
        CHECK_EQ(domctl_getpageframeinfo3(d, arr, 1), 0);
        CHECK_HEX(arr[0], (uint64_t)XEN_DOMCTL_PFINFO_L1TAB);
        arr[0] = mfn;
        m->opt.pfinfo_devalidated = PFINFO_DEVAL_NOTAB;
        CHECK_EQ(domctl_getpageframeinfo3(d, arr, 1), 0);
        CHECK_HEX(arr[0], (uint64_t)XEN_DOMCTL_PFINFO_NOTAB);

        uint64_t dst[512];
        struct pvn_fault f;
        memset(&f, 0, sizeof(f));
        CHECK_EQ(pv_normalise_page(XEN_DOMCTL_PFINFO_L1TAB, e, dst, &ops,
                                   true, &f), -XEN_ERANGE);
        CHECK_EQ(f.level, 1);
        CHECK_EQ(pv_normalise_page(XEN_DOMCTL_PFINFO_L1TAB, e, dst, &ops,
                                   false, &f), -XEN_EAGAIN);
        /* With Xen's fix it is content: copied as it is. */
        CHECK_EQ(pv_normalise_page(XEN_DOMCTL_PFINFO_NOTAB, e, dst, &ops,
                                   true, &f), 0);
        CHECK_EQ(memcmp(dst, e, sizeof(dst)), 0);
    }
}

/* ---- cases --------------------------------------------------------------- */

static void t_one_vcpu(void)
{
    struct setup s = base(1, 1, 1);
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    check_reuse(&r);
}

static void t_smp_threads(void)
{
    struct setup s = base(2, 2, 2);
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    check_reuse(&r);
}

static void t_det(void)
{
    struct setup s = base(2, 2, 1);
    s.mode = SCHED_DET;
    s.wl.iters = 5;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    check_reuse(&r);
}

static void t_mmu_update_path(void)
{
    struct setup s = base(1, 2, 1);
    s.pt_updates = GPT_MMU_UPDATE;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    check_reuse(&r);
}

static void t_writable_path(void)
{
    struct setup s = base(1, 1, 1);
    s.pt_updates = GPT_WRITABLE;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    check_reuse(&r);
}

static void t_off(void)
{
    struct setup s = base(1, 1, 1);
    s.wl.quicklist = 0;
    s.wl.balloon = false;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    CHECK_EQ(r.st.ql_released, 0);
    CHECK_EQ(r.st.ql_reuses, 0);
    CHECK_EQ(r.st.balloon_out, 0);
    CHECK_EQ(r.st.balloon_in, 0);
}

static void t_balloon_only(void)
{
    struct setup s = base(1, 1, 1);
    s.wl.quicklist = 0;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    CHECK_EQ(r.st.ql_reuses, 0);
    CHECK(r.st.balloon_out > 0);
    CHECK(r.st.balloon_in > 0);
}

static void t_story_d_state(void)
{
    struct setup s = base(1, 1, 1);
    s.after = find_stale_l1;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
    CHECK(found_stale > 0);
}

/* The scenario file's workload parameters. */
static void t_scenario_params(void)
{
    char err[1024] = "";
    struct scenario *sc = scenario_parse_text("t.hvl",
        "domain g\nworkload g pt-reuse quicklist=3 balloon=on\n", err,
        sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->dom[0].wl.kind, WL_PT_REUSE);
    CHECK_EQ(sc->dom[0].wl.quicklist, 3);
    CHECK(sc->dom[0].wl.balloon);
    scenario_free(sc);

    sc = scenario_parse_text("t.hvl", "domain g\nworkload g pt-reuse\n",
                             err, sizeof(err));
    REQUIRE(sc != NULL);
    CHECK_EQ(sc->dom[0].wl.quicklist, 8);   /* the default */
    CHECK(!sc->dom[0].wl.balloon);
    scenario_free(sc);

    sc = scenario_parse_text("t.hvl",
        "domain g\nworkload g mmap-churn balloon=on\n", err, sizeof(err));
    CHECK(sc == NULL);
    CHECK(strstr(err, "t.hvl:2: ") && strstr(err, "are for pt-reuse"));
    sc = scenario_parse_text("t.hvl",
        "domain g kind=hvm\nworkload g pt-reuse\n", err, sizeof(err));
    CHECK(sc == NULL);
    CHECK(strstr(err, "pt-reuse runs in a PV domain") != NULL);
    sc = scenario_parse_text("t.hvl",
        "domain g\nworkload g pt-reuse quicklist=65\n", err, sizeof(err));
    CHECK(sc == NULL);
}

static const struct test tests[] = {
    { "pt-reuse on one vCPU: released L1s are reused from the quicklist, "
      "pages ballooned out and back in, every pattern verifies, the audit is "
      "clean and every frame comes back", t_one_vcpu },
    { "pt-reuse with two vCPUs, two processes of two threads (threads mode) "
      "stays clean and reuses", t_smp_threads },
    { "pt-reuse under the deterministic scheduler stays clean and reuses",
      t_det },
    { "pt-reuse with every L1 change by mmu_update stays clean",
      t_mmu_update_path },
    { "pt-reuse with every L1 change by writable-pagetable stores stays clean",
      t_writable_path },
    { "quicklist=0 balloon=off: no reuse, no balloon, still clean", t_off },
    { "quicklist=0 balloon=on: pages ballooned out and in, L1s cleared and "
      "kept hooked", t_balloon_only },
    { "after the run a devalidated L1 on the quicklist names frames the "
      "domain gave back: L1TAB with pfinfo_devalidated=pt, NOTAB with =notab, "
      "normalising it is -ERANGE once paused and -EAGAIN while live",
      t_story_d_state },
    { "the scenario file takes quicklist= and balloon= for pt-reuse only, "
      "in a PV domain, quicklist at most 64", t_scenario_params },
};

TEST_MAIN(tests)
