/*
 * tests/unit/test-guest-hvm.c - the HVM guest kernel on the whole machine.
 *
 * Each case builds an HVM domain with the HVM builder (shadow or hap
 * paging), runs the kernel's workload on its vCPUs (threads mode), and
 * checks what the kernel saw (no verify failures, no oops, every process
 * exited) and what the machine says: the audit is clean with the domain
 * alive and after domain_destroy, and every frame went back to the heap.
 * While the hypervisor cannot run HVM domains yet (domain_create or the
 * CR3 load refuses them) a case reports SKIP with the reason.
 */
#include "tests/unit/test.h"

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/audit.h"
#include "core/mm/mm.h"
#include "core/options.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"

struct run {
    struct guest_stats st;
    unsigned audit_before, audit_live, audit_after;
    uint64_t free_before, free_after;
};

struct setup {
    unsigned nr_vcpus;
    uint64_t nr_pages;
    enum paging_mode paging;
    bool spurious_check;
    struct workload_params wl;
};

/* The hypervisor side of HVM is not there yet: skip, saying why. */
static void skip_if_unsupported(int rc, const char *err)
{
    static char why[400];
    if (rc == -XEN_EOPNOTSUPP || rc == -XEN_ENOSYS ||
        (rc == -XEN_EINVAL && (strstr(err, "domain_create") ||
                               strstr(err, "CR3")))) {
        snprintf(why, sizeof(why), "test-guest-hvm: the hypervisor cannot "
                 "run this HVM domain yet (%s)", err);
        SKIP(why);
    }
}

static void run_guest(const struct setup *s, struct run *r)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_hvm *g = NULL;
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    hv_options_default(&ho);
    guest_options_default(&go);
    go.spurious_check = s->spurious_check;
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    r->free_before = m->nr_free;

    struct build_hvm_config cfg = {
        .domid = 1, .nr_vcpus = s->nr_vcpus, .nr_pages = s->nr_pages,
        .paging = s->paging, .gopt = &go, .wl = &s->wl,
    };
    int rc = build_hvm(m, &cfg, &d, &g, NULL, err, sizeof(err));
    if (rc) {
        machine_destroy(m);
        skip_if_unsupported(rc, err);
        fprintf(stderr, "  build_hvm: %s\n", err);
    }
    REQUIRE(rc == 0);
    r->audit_before = hv_audit(m, stderr);

    struct sched_config sc = { .mode = SCHED_THREADS, .seed = s->wl.seed };
    CHECK_EQ(sched_run(&sc, d->vcpu, d->nr_vcpus), 0);

    guest_hvm_stats(g, &r->st);
    guest_hvm_report(g, stderr);
    r->audit_live = hv_audit(m, stderr);
    CHECK_EQ(domain_destroy(d), 0);
    r->audit_after = hv_audit(m, stderr);
    r->free_after = m->nr_free;
    guest_hvm_free(g);
    machine_destroy(m);
}

static void check_clean(const struct setup *s, const struct run *r)
{
    CHECK_EQ(r->st.verify_failures, 0);
    CHECK_EQ(r->st.hypercall_errors, 0);
    CHECK_EQ(r->st.kernel_oopses, 0);
    CHECK_EQ(r->st.procs_killed, 0);
    CHECK_EQ(r->st.spurious_fatal, 0);
    CHECK_EQ(r->audit_before, 0);
    CHECK_EQ(r->audit_live, 0);
    CHECK_EQ(r->audit_after, 0);
    CHECK_EQ(r->free_after, r->free_before);
    CHECK(r->st.pages_touched > 0);
    CHECK(r->st.faults_delivered > 0);      /* demand faults: first touches */
    if (s->wl.kind == WL_FORK_STORM) {
        CHECK_EQ(r->st.forks, (uint64_t)s->wl.procs * s->wl.iters);
        CHECK_EQ(r->st.exits, r->st.forks + s->wl.procs);
    } else {
        CHECK_EQ(r->st.exits, s->wl.procs);
    }
}

static void run_clean(enum paging_mode paging, enum workload_kind kind,
                      unsigned vcpus)
{
    struct setup s = {
        .nr_vcpus = vcpus, .nr_pages = 2048, .paging = paging,
        .spurious_check = true,
        .wl = { .kind = kind, .procs = 2, .threads = vcpus > 1 ? 2 : 1,
                .iters = 3, .pages = 64, .seed = 42 },
    };
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
}

/* The layout is pure arithmetic: gfn 0, the L4 at gfn 1, tables after. */
static void t_plan(void)
{
    struct build_hvm_layout l;
    build_hvm_plan(2048, &l);
    CHECK_EQ(l.start_info_gfn, 0);
    CHECK_EQ(l.l4_gfn, 1);
    CHECK_EQ(l.nr_l1, 4);
    CHECK_EQ(l.nr_l2, 1);
    CHECK_EQ(l.nr_l3, 1);
    CHECK_EQ(l.nr_pt_frames, 7);
    CHECK_EQ(l.first_free_gfn, 8);
}

/* A PV paging mode is refused before any domain exists. */
static void t_bad_paging(void)
{
    struct hv_options ho;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_hvm *g = NULL;
    struct workload_params wl = { .kind = WL_MEMTOUCH, .procs = 1 };
    char err[256] = "";

    hv_options_default(&ho);
    REQUIRE(machine_create(16ULL << 20, 0, &ho, &m) == 0);
    struct build_hvm_config cfg = { .domid = 1, .nr_vcpus = 1,
                                    .nr_pages = 256, .paging = PAGING_PV,
                                    .wl = &wl };
    CHECK_EQ(build_hvm(m, &cfg, &d, &g, NULL, err, sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "paging=shadow or paging=hap") != NULL);
    CHECK(d == NULL && g == NULL);
    machine_destroy(m);
}

static void t_shadow_memtouch_1(void) { run_clean(PAGING_SHADOW, WL_MEMTOUCH, 1); }
static void t_shadow_churn_1(void)    { run_clean(PAGING_SHADOW, WL_MMAP_CHURN, 1); }
static void t_shadow_fork_1(void)     { run_clean(PAGING_SHADOW, WL_FORK_STORM, 1); }
static void t_shadow_memtouch_3(void) { run_clean(PAGING_SHADOW, WL_MEMTOUCH, 3); }
static void t_shadow_churn_3(void)    { run_clean(PAGING_SHADOW, WL_MMAP_CHURN, 3); }
static void t_shadow_fork_3(void)     { run_clean(PAGING_SHADOW, WL_FORK_STORM, 3); }
static void t_hap_memtouch_1(void)    { run_clean(PAGING_HAP, WL_MEMTOUCH, 1); }
static void t_hap_churn_1(void)       { run_clean(PAGING_HAP, WL_MMAP_CHURN, 1); }
static void t_hap_fork_1(void)        { run_clean(PAGING_HAP, WL_FORK_STORM, 1); }
static void t_hap_memtouch_3(void)    { run_clean(PAGING_HAP, WL_MEMTOUCH, 3); }
static void t_hap_churn_3(void)       { run_clean(PAGING_HAP, WL_MMAP_CHURN, 3); }
static void t_hap_fork_3(void)        { run_clean(PAGING_HAP, WL_FORK_STORM, 3); }

static const struct test tests[] = {
    { "the HVM layout puts start info at gfn 0 and the L4 at gfn 1", t_plan },
    { "an HVM domain without shadow or hap paging is refused", t_bad_paging },
    { "shadow, one vCPU: memtouch verifies every page", t_shadow_memtouch_1 },
    { "shadow, one vCPU: mmap-churn frees every table it made", t_shadow_churn_1 },
    { "shadow, one vCPU: fork-storm children exit, COW keeps parents' pages", t_shadow_fork_1 },
    { "shadow, 3 vCPUs: memtouch with 2 threads per process is clean", t_shadow_memtouch_3 },
    { "shadow, 3 vCPUs: mmap-churn with 2 threads per process is clean", t_shadow_churn_3 },
    { "shadow, 3 vCPUs: fork-storm with 2 threads per process is clean", t_shadow_fork_3 },
    { "hap, one vCPU: memtouch verifies every page", t_hap_memtouch_1 },
    { "hap, one vCPU: mmap-churn frees every table it made", t_hap_churn_1 },
    { "hap, one vCPU: fork-storm children exit, COW keeps parents' pages", t_hap_fork_1 },
    { "hap, 3 vCPUs: memtouch with 2 threads per process is clean", t_hap_memtouch_3 },
    { "hap, 3 vCPUs: mmap-churn with 2 threads per process is clean", t_hap_churn_3 },
    { "hap, 3 vCPUs: fork-storm with 2 threads per process is clean", t_hap_fork_3 },
};

TEST_MAIN(tests)
