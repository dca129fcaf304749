/*
 * tests/unit/test-guest-pv.c - the PV guest kernel on the whole machine.
 *
 * Each case builds a domain with the PV builder, runs the kernel's
 * workload on its vCPUs (threads mode), and checks what the kernel saw
 * (no verify failures, no hypercall errors, no oops, every process
 * exited) and what the machine says: the audit is clean with the domain
 * alive and after domain_destroy, and every frame went back to the heap.
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
#include "toolstack/build_pv.h"

struct run {
    struct guest_stats st;
    unsigned audit_before, audit_live, audit_after;
    uint64_t free_before, free_after;
    uint64_t nr_spurious_hv;        /* faults the hypervisor called spurious */
};

struct setup {
    unsigned nr_vcpus;
    uint64_t nr_pages;
    enum ptwr_mode ptwr;
    bool spurious_check;
    enum guest_pt_updates pt_updates;
    struct workload_params wl;
    /* Called with the domain alive after its vCPUs stopped. */
    void (*after)(struct domain *d, struct guest_pv *g);
};

static void run_guest(const struct setup *s, struct run *r)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_pv *g = NULL;
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    hv_options_default(&ho);
    ho.ptwr_mode = s->ptwr;
    guest_options_default(&go);
    go.spurious_check = s->spurious_check;
    go.pt_updates = s->pt_updates;
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    r->free_before = m->nr_free;

    struct build_pv_config cfg = {
        .domid = 1, .nr_vcpus = s->nr_vcpus, .nr_pages = s->nr_pages,
        .gopt = &go, .wl = &s->wl,
    };
    int rc = build_pv(m, &cfg, &d, &g, NULL, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
    r->audit_before = hv_audit(m, stderr);

    struct sched_config sc = { .mode = SCHED_THREADS, .seed = s->wl.seed };
    CHECK_EQ(sched_run(&sc, d->vcpu, d->nr_vcpus), 0);

    if (s->after)
        s->after(d, g);
    guest_pv_stats(g, &r->st);
    guest_pv_report(g, stderr);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        r->nr_spurious_hv += d->vcpu[i]->nr_spurious;
    r->audit_live = hv_audit(m, stderr);
    CHECK_EQ(domain_destroy(d), 0);
    r->audit_after = hv_audit(m, stderr);
    r->free_after = m->nr_free;
    guest_pv_free(g);
    machine_destroy(m);
}

/* What every clean run shows: the guest saw nothing wrong, the audit is
   clean before, during and after the run, and every frame came back. */
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
    if (s->wl.kind == WL_FORK_STORM) {
        CHECK_EQ(r->st.forks, (uint64_t)s->wl.procs * s->wl.iters);
        CHECK_EQ(r->st.exits, r->st.forks + s->wl.procs);
    } else {
        CHECK_EQ(r->st.exits, s->wl.procs);
    }
}

static struct setup base(enum workload_kind kind, unsigned vcpus)
{
    struct setup s = {
        .nr_vcpus = vcpus, .nr_pages = 2048, .ptwr = PTWR_EMULATE,
        .spurious_check = true, .pt_updates = GPT_MIXED,
        .wl = { .kind = kind, .procs = 2, .threads = 1, .iters = 3,
                .pages = 64, .seed = 42 },
    };
    return s;
}

static void run_clean(const struct setup *s)
{
    struct run r;
    run_guest(s, &r);
    check_clean(s, &r);
}

/* One vCPU, each workload small. */
static void t_memtouch_1(void) { struct setup s = base(WL_MEMTOUCH, 1); run_clean(&s); }
static void t_mmap_churn_1(void) { struct setup s = base(WL_MMAP_CHURN, 1); run_clean(&s); }
static void t_fork_storm_1(void) { struct setup s = base(WL_FORK_STORM, 1); run_clean(&s); }

/* Each way of writing L1 entries, on a fork storm and an mmap churn. */
static void t_fork_writable(void)
{
    struct setup s = base(WL_FORK_STORM, 1);
    s.pt_updates = GPT_WRITABLE;
    run_clean(&s);
}
static void t_fork_mmu_update(void)
{
    struct setup s = base(WL_FORK_STORM, 1);
    s.pt_updates = GPT_MMU_UPDATE;
    run_clean(&s);
}
static void t_churn_writable(void)
{
    struct setup s = base(WL_MMAP_CHURN, 1);
    s.pt_updates = GPT_WRITABLE;
    run_clean(&s);
}
static void t_churn_mmu_update(void)
{
    struct setup s = base(WL_MMAP_CHURN, 1);
    s.pt_updates = GPT_MMU_UPDATE;
    run_clean(&s);
}

/* SMP: several vCPUs, threads sharing an address space. */
static void t_fork_storm_smp(void)
{
    struct setup s = base(WL_FORK_STORM, 4);
    s.wl.procs = 3;
    s.wl.threads = 3;
    s.wl.pages = 96;
    run_clean(&s);
}
static void t_fork_storm_2(void)
{
    struct setup s = base(WL_FORK_STORM, 2);
    s.wl.threads = 2;
    s.pt_updates = GPT_WRITABLE;
    run_clean(&s);
}
static void t_memtouch_smp(void)
{
    struct setup s = base(WL_MEMTOUCH, 3);
    s.wl.threads = 3;
    s.wl.pages = 150;
    run_clean(&s);
}
static void t_churn_smp(void)
{
    struct setup s = base(WL_MMAP_CHURN, 3);
    s.wl.threads = 2;
    s.wl.iters = 4;
    run_clean(&s);
}

/* Xen 3.0's batched writable pagetables: with the guest's spurious-fault
   check on, whatever spurious faults arrive are survived. */
static void t_unhook_check_on(void)
{
    struct setup s = base(WL_FORK_STORM, 4);
    s.ptwr = PTWR_UNHOOK;
    s.pt_updates = GPT_WRITABLE;
    s.wl.procs = 2;
    s.wl.threads = 4;
    s.wl.pages = 128;
    struct run r;
    run_guest(&s, &r);
    check_clean(&s, &r);
}

/* Single vCPU under unhook: nobody else can touch an unhooked region. */
static void t_unhook_up(void)
{
    struct setup s = base(WL_FORK_STORM, 1);
    s.ptwr = PTWR_UNHOOK;
    s.pt_updates = GPT_WRITABLE;
    s.spurious_check = false;
    run_clean(&s);
}

/*
 * The #PF handler's judgement, driven directly on the booted kernel (no
 * processes: it idles on the init L4).  The start_info page is mapped
 * present and readable in the direct map, so a read fault there is
 * spurious; a write fault on the read-only initial L4 is not (an oops).
 */
static enum pf_outcome deliver(struct domain *d, uint64_t va, uint32_t pfec)
{
    struct vcpu *v = d->vcpu[0];
    current = v;
    enum pf_outcome o = v->guest_pf_handler(v, va, pfec, v->guest_ctx);
    current = NULL;
    return o;
}

static void probe_spurious(struct domain *d, struct guest_pv *g)
{
    (void)g;
    REQUIRE(d->vcpu[0]->guest_pf_handler != NULL);
    CHECK_EQ(deliver(d, GUEST_DIRECTMAP_BASE, 0), PF_RETRY);
}

static void probe_spurious_fatal(struct domain *d, struct guest_pv *g)
{
    (void)g;
    REQUIRE(d->vcpu[0]->guest_pf_handler != NULL);
    CHECK_EQ(deliver(d, GUEST_DIRECTMAP_BASE, 0), PF_KILL);
}

static void probe_oops(struct domain *d, struct guest_pv *g)
{
    (void)g;
    REQUIRE(d->vcpu[0]->guest_pf_handler != NULL);
    /* The bootstrap L4 is mapped read-only in the direct map. */
    struct build_pv_layout l;
    build_pv_plan(2048, &l);
    CHECK_EQ(deliver(d, GUEST_DIRECTMAP_BASE + l.pt_pfn * PAGE_SIZE,
                     PFEC_PRESENT | PFEC_WRITE), PF_KILL);
    /* A user-mode fault with no process running is refused too. */
    CHECK_EQ(deliver(d, GUEST_USER_BASE, PFEC_USER), PF_KILL);
}

static void t_spurious_on(void)
{
    struct setup s = base(WL_MEMTOUCH, 1);
    struct run r;
    s.wl.procs = 0;
    s.after = probe_spurious;
    run_guest(&s, &r);
    CHECK_EQ(r.st.faults_delivered, 1);
    CHECK_EQ(r.st.spurious_seen, 1);
    CHECK_EQ(r.st.spurious_fatal, 0);
    CHECK_EQ(r.st.hypercall_errors, 0);
    CHECK_EQ(r.audit_after, 0);
    CHECK_EQ(r.free_after, r.free_before);
}

static void t_spurious_off(void)
{
    struct setup s = base(WL_MEMTOUCH, 1);
    struct run r;
    s.wl.procs = 0;
    s.spurious_check = false;
    s.after = probe_spurious_fatal;
    run_guest(&s, &r);
    CHECK_EQ(r.st.spurious_seen, 1);
    CHECK_EQ(r.st.spurious_fatal, 1);
    CHECK_EQ(r.audit_after, 0);
}

static void t_oops(void)
{
    struct setup s = base(WL_MEMTOUCH, 1);
    struct run r;
    s.wl.procs = 0;
    s.after = probe_oops;
    run_guest(&s, &r);
    CHECK_EQ(r.st.faults_delivered, 2);
    CHECK_EQ(r.st.spurious_seen, 0);
    CHECK_EQ(r.st.kernel_oopses, 1);
    CHECK_EQ(r.audit_after, 0);
}

static void t_options(void)
{
    struct guest_options o;
    char why[160];

    guest_options_default(&o);
    CHECK(o.spurious_check);
    CHECK_EQ(o.pt_updates, GPT_MIXED);
    CHECK_EQ(guest_option_set(&o, "guest.spurious_check", "off", why, sizeof(why)), 0);
    CHECK(!o.spurious_check);
    CHECK_EQ(guest_option_set(&o, "guest.pt_updates", "mmu_update", why, sizeof(why)), 0);
    CHECK_EQ(o.pt_updates, GPT_MMU_UPDATE);
    CHECK_EQ(guest_option_set(&o, "guest.pt_updates", "sometimes", why, sizeof(why)), -1);
    CHECK(strstr(why, "writable|mmu_update|mixed") != NULL);
    CHECK_EQ(guest_option_set(&o, "ptwr.mode", "unhook", why, sizeof(why)), -1);
    CHECK(!guest_option_known("ptwr.mode"));
    CHECK(guest_option_known("guest.spurious_check"));
    CHECK(strcmp(workload_kind_name[WL_MMAP_CHURN], "mmap-churn") == 0);
}

static const struct test tests[] = {
    { "guest options parse on|off and the three PTE write paths", t_options },
    { "a fault on a present, readable PTE is spurious and retried (check on)", t_spurious_on },
    { "with the check off a spurious fault is fatal", t_spurious_off },
    { "a write fault on a read-only page table is a kernel oops, not spurious", t_oops },
    { "one vCPU boots and memtouch verifies every page", t_memtouch_1 },
    { "one vCPU runs mmap-churn and frees every table it made", t_mmap_churn_1 },
    { "one vCPU runs fork-storm: children exit, COW keeps parents' pages", t_fork_storm_1 },
    { "fork-storm with every L1 write a trapped store", t_fork_writable },
    { "fork-storm with every L1 write a batched mmu_update", t_fork_mmu_update },
    { "mmap-churn with every L1 write a trapped store", t_churn_writable },
    { "mmap-churn with every L1 write a batched mmu_update", t_churn_mmu_update },
    { "fork-storm on 2 vCPUs with 2 threads per process is clean", t_fork_storm_2 },
    { "fork-storm on 4 vCPUs with 3 threads per process is clean", t_fork_storm_smp },
    { "memtouch on 3 vCPUs with 3 threads per process is clean", t_memtouch_smp },
    { "mmap-churn on 3 vCPUs with 2 threads per process is clean", t_churn_smp },
    { "unhook mode on one vCPU needs no spurious-fault check", t_unhook_up },
    { "unhook mode on 4 vCPUs is survived with the spurious check on", t_unhook_check_on },
};

TEST_MAIN(tests)
