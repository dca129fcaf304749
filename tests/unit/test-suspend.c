/*
 * tests/unit/test-suspend.c - the guest kernel's suspend and resume
 * (guest/suspend.c) on the whole machine.
 *
 * A PV domain built by the PV builder runs a workload on 2 vCPUs; a second,
 * tiny domain's vCPU is the toolstack: once the guest made progress it
 * writes "suspend" at control/shutdown and waits for the domain to be shut
 * down for suspend.  Before joining the kernel, the guest's vCPU 1 uses the
 * event-channel and grant drivers (as a split driver would), so shared_info
 * and the grant-table frames are mapped in the kernel's tables when the
 * request comes.  After the run: the kernel says suspended, every vCPU's
 * root is the initial L4, no L1 of the domain maps shared_info or another
 * Xen page, the acknowledgement is in the store and the audit is clean.
 * Then the suspend is cancelled (domctl_resume_domain, guest_pv_resume
 * cancelled), the vCPUs run again, and the workload completes clean, with
 * the mappings back and the grant entry as it was, and every frame comes
 * back at teardown.  Threads and det mode, a few seeds.
 */
#include "tests/unit/test.h"

#include <xen/sched.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "guest/private.h"
#include "guest/xenbus.h"
#include "toolstack/build_pv.h"

enum { GUEST = 1, CTL = 2 };

#define SHUTDOWN_KEY    "/local/domain/1/control/shutdown"

struct ctl {
    struct domain *d;
    struct guest_pv *g;
    struct xenbus *xb;
    uint64_t after_pages;       /* progress before the request */
    bool after_done;            /* request only once the guest finished */
    bool shut_down;             /* domain_shut_down said so */
    int reason;
    unsigned mapped_before;     /* det mode: Xen-page PTEs before */
};

/* vCPU 1's driver use, before it joins the kernel. */
struct drv {
    struct guest_pv *g;
    bool done_once;
    long port_rc, grant_rc;
    evtchn_port_t port;
    grant_ref_t ref;
    /* Second entry (after the resume): the grant entry as the guest reads it. */
    int query_rc;
    uint16_t flags;
    domid_t domid;
    uint32_t frame;
};

/* Present L1 entries of d's (validated) L1 tables naming shared_info or any
   Xen heap page (grant frames). */
static unsigned xen_page_ptes(struct machine *m, struct domain *d)
{
    unsigned n = 0;
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        struct page_info *pg = mfn_to_page(m, mfn);
        uint64_t t = atomic_load(&pg->type_info);
        if (pg->owner != d->domid || (t & PGT_type_mask) != PGT_l1_page_table ||
            (t & PGT_count_mask) == 0)
            continue;
        const pte_t *l1 = mfn_to_virt(m, mfn);
        for (unsigned i = 0; i < PT_ENTRIES; i++) {
            pte_t e = l1[i];
            if (!pte_present(e))
                continue;
            mfn_t tgt = pte_mfn(e);
            if (tgt == d->shared_info_mfn ||
                (tgt < m->nr_frames &&
                 (atomic_load(&mfn_to_page(m, tgt)->count_info) & PGC_xen_heap)))
                n++;
        }
    }
    return n;
}

static void controller(struct vcpu *v, void *arg)
{
    struct ctl *k = arg;
    struct guest_stats st;
    (void)v;

    for (;;) {
        if (k->after_done) {
            if (atomic_load(&k->d->vcpus_stopped) >= k->d->nr_vcpus)
                break;
        } else {
            guest_pv_stats(k->g, &st);
            if (st.pages_touched >= k->after_pages)
                break;
        }
        hv_relax();
    }
    if (!k->after_done)
        k->mapped_before = xen_page_ptes(k->d->m, k->d);
    xenbus_write(k->xb, SHUTDOWN_KEY, "suspend");
    for (;;) {
        /* Stopped is read before the shutdown code: the last vCPU stopping
           between the two reads must not look like an end without one. */
        bool stopped = atomic_load(&k->d->vcpus_stopped) >= k->d->nr_vcpus;
        if (domain_shut_down(k->d, &k->reason)) {
            k->shut_down = true;
            break;
        }
        if (stopped)
            break;              /* finished without suspending */
        hv_relax();
    }
}

static void guest_vcpu(struct vcpu *v, void *arg)
{
    struct drv *dr = arg;
    struct guest_kernel *g = &dr->g->k;

    if (v->vcpu_id == 1) {
        while (atomic_load(&g->boot_state) == 0)
            hv_relax();
        struct gcpu *c = &g->cpu[1];
        c->v = v;
        if (!dr->done_once && atomic_load(&g->boot_state) > 0) {
            dr->done_once = true;
            dr->port_rc = gevtchn_alloc_unbound(c, CTL, &dr->port);
            dr->grant_rc = gnttab_prepare(c);
            if (dr->grant_rc == 0)
                dr->grant_rc = gnttab_grant_access(c, CTL, 0x1234, true,
                                                   &dr->ref);
        } else if (dr->done_once) {
            /* Resumed: wait for vCPU 0's resume, read the entry again. */
            int st;
            while ((st = atomic_load(&g->mig_state)) != MIG_RUNNING &&
                   st != MIG_FAILED)
                hv_relax();
            dr->query_rc = gnttab_query(c, dr->ref, &dr->flags, &dr->domid,
                                        &dr->frame);
        }
    }
    guest_pv_vcpu_main(v, dr->g);
}

/*
 * Threads mode: the controller must see the workload under way and ask
 * before it ends; on a loaded host its thread can wait many milliseconds
 * for a CPU while the two vCPU threads run.  A workload 25 times longer
 * leaves it that much more time (det mode interleaves by seed: no race).
 */
#define ITERS_SCALE(mode) ((mode) == SCHED_THREADS ? 25 : 1)

struct setup {
    enum workload_kind kind;
    enum sched_mode mode;
    uint64_t seed;
};

static void suspend_resume(const struct setup *s)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    struct domain *d = NULL, *ctl = NULL;
    struct guest_pv *g = NULL;
    struct build_pv_layout lay;
    char err[256] = "", val[XENBUS_VALUE_MAX];

    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    uint64_t free_before = m->nr_free;
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb != NULL);
    struct workload_params wl = {
        .kind = s->kind, .procs = 2, .threads = 2,
        .iters = (s->kind == WL_MEMTOUCH ? 40 : 6) * ITERS_SCALE(s->mode),
        .pages = 96,
        .seed = s->seed, .xenbus = xb,
    };
    struct build_pv_config cfg = {
        .domid = GUEST, .nr_vcpus = 2, .nr_pages = 2048, .gopt = &go,
        .wl = &wl,
    };
    int rc = build_pv(m, &cfg, &d, &g, &lay, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
    struct domain_config cc = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                                .max_pages = 1, .domid = CTL };
    REQUIRE(domain_create(m, &cc, &ctl) == 0);

    /* Not suspended: nothing to resume. */
    struct guest_resume cancel = { .cancelled = true, .host_id = 0,
                                   .xenbus = xb };
    CHECK_EQ(guest_pv_resume(g, &cancel), -XEN_EINVAL);

    struct drv dr = { .g = g };
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        d->vcpu[i]->entry = guest_vcpu;
        d->vcpu[i]->entry_arg = &dr;
    }
    struct ctl k = { .d = d, .g = g, .xb = xb, .after_pages = 200 };
    ctl->vcpu[0]->entry = controller;
    ctl->vcpu[0]->entry_arg = &k;
    struct vcpu *vs[3] = { d->vcpu[0], d->vcpu[1], ctl->vcpu[0] };
    struct sched_config sc = { .mode = s->mode, .seed = s->seed };
    CHECK_EQ(sched_run(&sc, vs, 3), 0);

    /* Suspended. */
    CHECK_EQ(dr.port_rc, 0);
    CHECK_EQ(dr.grant_rc, 0);
    CHECK(k.shut_down);
    CHECK_EQ(k.reason, SHUTDOWN_suspend);
    REQUIRE(guest_pv_suspended(g));     /* the rest needs a suspended one */
    if (s->mode == SCHED_DET)
        CHECK(k.mapped_before >= 1 + 4);    /* shared_info, grant frames */
    CHECK_EQ(xen_page_ptes(m, d), 0);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        CHECK_HEX(d->vcpu[i]->cr3, lay.l4_mfn);
    CHECK_EQ(xenbus_read(xb, SHUTDOWN_KEY, val, sizeof(val)), 0);
    CHECK_EQ(strcmp(val, ""), 0);
    struct guest_stats s1;
    guest_pv_stats(g, &s1);
    CHECK_EQ(s1.mig_suspends, 1);
    CHECK_EQ(s1.mig_resumes, 0);
    CHECK(s1.pages_touched >= 200);
    CHECK_EQ(hv_audit(m, stderr), 0);

    /* Cancelled: the same domain runs on. */
    CHECK_EQ(domctl_resume_domain(d), 0);
    CHECK_EQ(guest_pv_resume(g, &cancel), 0);
    CHECK(guest_pv_suspended(g));           /* until its vCPUs run */
    struct sched_config sc2 = { .mode = s->mode, .seed = s->seed + 7 };
    CHECK_EQ(sched_run(&sc2, d->vcpu, d->nr_vcpus), 0);

    struct guest_stats st;
    guest_pv_stats(g, &st);
    guest_pv_report(g, stderr);
    CHECK(!guest_pv_suspended(g));
    CHECK_EQ(st.mig_suspends, 1);
    CHECK_EQ(st.mig_resumes, 1);
    CHECK_EQ(st.verify_failures, 0);
    CHECK_EQ(st.hypercall_errors, 0);
    CHECK_EQ(st.kernel_oopses, 0);
    CHECK_EQ(st.procs_killed, 0);
    if (s->kind == WL_FORK_STORM) {
        CHECK_EQ(st.forks, (uint64_t)wl.procs * wl.iters);
        CHECK_EQ(st.exits, st.forks + wl.procs);
    } else {
        CHECK_EQ(st.exits, wl.procs);
    }
    CHECK(!domain_shut_down(d, NULL));
    /* The mappings are back, the grant entry is as it was. */
    CHECK(xen_page_ptes(m, d) >= 1 + 4);
    CHECK_EQ(dr.query_rc, 0);
    CHECK_HEX(dr.flags, GTF_permit_access | GTF_readonly);
    CHECK_EQ(dr.domid, CTL);
    CHECK_HEX(dr.frame, 0x1234);
    CHECK_EQ(hv_audit(m, stderr), 0);

    CHECK_EQ(domain_destroy(ctl), 0);
    CHECK_EQ(domain_destroy(d), 0);
    CHECK_EQ(hv_audit(m, stderr), 0);
    CHECK_EQ(m->nr_free, free_before);
    guest_pv_free(g);
    xenbus_free(xb);
    machine_destroy(m);
}

static void t_memtouch_threads(void)
{
    struct setup s = { WL_MEMTOUCH, SCHED_THREADS, 42 };
    suspend_resume(&s);
}
static void t_fork_threads(void)
{
    struct setup s = { WL_FORK_STORM, SCHED_THREADS, 43 };
    suspend_resume(&s);
}
static void t_memtouch_det(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct setup s = { WL_MEMTOUCH, SCHED_DET, seed };
        suspend_resume(&s);
    }
}
static void t_fork_det(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct setup s = { WL_FORK_STORM, SCHED_DET, seed };
        suspend_resume(&s);
    }
}

/* A kernel whose workload is done does not suspend: its vCPUs just return,
   and there is nothing to resume. */
static void t_done_does_not_suspend(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    struct domain *d = NULL, *ctl = NULL;
    struct guest_pv *g = NULL;
    char err[256] = "", val[XENBUS_VALUE_MAX];

    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    uint64_t free_before = m->nr_free;
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb != NULL);
    struct workload_params wl = {
        .kind = WL_MEMTOUCH, .procs = 1, .threads = 2, .iters = 1,
        .pages = 16, .seed = 5, .xenbus = xb,
    };
    struct build_pv_config cfg = {
        .domid = GUEST, .nr_vcpus = 2, .nr_pages = 1024, .gopt = &go,
        .wl = &wl,
    };
    REQUIRE(build_pv(m, &cfg, &d, &g, NULL, err, sizeof(err)) == 0);
    struct domain_config cc = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                                .max_pages = 1, .domid = CTL };
    REQUIRE(domain_create(m, &cc, &ctl) == 0);
    struct ctl k = { .d = d, .g = g, .xb = xb, .after_done = true };
    ctl->vcpu[0]->entry = controller;
    ctl->vcpu[0]->entry_arg = &k;
    struct vcpu *vs[3] = { d->vcpu[0], d->vcpu[1], ctl->vcpu[0] };
    struct sched_config sc = { .mode = SCHED_DET, .seed = 11 };
    CHECK_EQ(sched_run(&sc, vs, 3), 0);

    struct guest_stats st;
    guest_pv_stats(g, &st);
    CHECK(!k.shut_down);
    CHECK(!guest_pv_suspended(g));
    CHECK_EQ(st.mig_suspends, 0);
    CHECK_EQ(st.exits, 1);
    CHECK_EQ(xenbus_read(xb, SHUTDOWN_KEY, val, sizeof(val)), 0);
    CHECK_EQ(strcmp(val, "suspend"), 0);    /* never acknowledged */
    struct guest_resume r = { .cancelled = true, .xenbus = xb };
    CHECK_EQ(guest_pv_resume(g, &r), -XEN_EINVAL);
    CHECK_EQ(guest_pv_resume(g, NULL), -XEN_EINVAL);
    CHECK_EQ(domctl_resume_domain(d), -XEN_EINVAL);     /* not shut down */
    CHECK_EQ(hv_audit(m, stderr), 0);

    CHECK_EQ(domain_destroy(ctl), 0);
    CHECK_EQ(domain_destroy(d), 0);
    CHECK_EQ(m->nr_free, free_before);
    guest_pv_free(g);
    xenbus_free(xb);
    machine_destroy(m);
}

/* A kernel without a xenbus is never asked: it runs to its end. */
static void t_no_xenbus(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_pv *g = NULL;
    char err[256] = "";

    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    struct workload_params wl = {
        .kind = WL_FORK_STORM, .procs = 1, .threads = 1, .iters = 2,
        .pages = 16, .seed = 3,
    };
    struct build_pv_config cfg = {
        .domid = GUEST, .nr_vcpus = 2, .nr_pages = 1024, .gopt = &go,
        .wl = &wl,
    };
    REQUIRE(build_pv(m, &cfg, &d, &g, NULL, err, sizeof(err)) == 0);
    struct sched_config sc = { .mode = SCHED_THREADS, .seed = 3 };
    CHECK_EQ(sched_run(&sc, d->vcpu, d->nr_vcpus), 0);
    struct guest_stats st;
    guest_pv_stats(g, &st);
    CHECK(!guest_pv_suspended(g));
    CHECK_EQ(st.mig_suspends, 0);
    CHECK_EQ(st.exits, st.forks + 1);
    CHECK_EQ(domain_destroy(d), 0);
    guest_pv_free(g);
    machine_destroy(m);
}

static const struct test tests[] = {
    { "memtouch on 2 vCPUs suspends on request and resumes cancelled (threads)", t_memtouch_threads },
    { "fork-storm on 2 vCPUs suspends on request and resumes cancelled (threads)", t_fork_threads },
    { "memtouch suspend / cancelled resume, det mode, seeds 1-3", t_memtouch_det },
    { "fork-storm suspend / cancelled resume, det mode, seeds 1-3", t_fork_det },
    { "a kernel that is done does not suspend; resume is -EINVAL", t_done_does_not_suspend },
    { "a kernel without a xenbus runs to its end", t_no_xenbus },
};

TEST_MAIN(tests)
