/*
 * tests/unit/test-kstate.c - the guest kernel's private state as bytes
 * (guest/kstate.c; guest/guest.h KS1-KS4).
 *
 * A PV (and an HVM) domain runs a workload on 2 vCPUs; a second, tiny
 * domain's vCPU is the toolstack: once the guest made progress it writes
 * "suspend" at control/shutdown and waits for the suspend.  Then:
 *   - save, load, save again: the same bytes (KS4), and the loaded kernel
 *     is suspended with nothing recorded to resume (KS3);
 *   - the loaded kernel, resumed as on a new domain (domctl_resume_domain,
 *     !cancelled) on the domain's vCPUs, finishes the workload with no
 *     verify failure, its counters carried over from the saved one; the
 *     audit is clean and every frame comes back;
 *   - truncation at every offset, and single-byte flips at every offset
 *     (two patterns), never crash: a load either succeeds (and saves
 *     again) or fails with an error naming a section and an offset;
 *   - a kernel that is not suspended is -XEN_EINVAL; p2m-race, grant-poc
 *     and blkback kernels are -XEN_EOPNOTSUPP; a PV state is no HVM one.
 */
#include "tests/unit/test.h"

#include <xen/sched.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/options.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "guest/private.h"
#include "guest/xenbus.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"

enum { GUEST = 1, CTL = 2 };

#define SHUTDOWN_KEY    "/local/domain/1/control/shutdown"

struct ctl {
    struct domain *d;
    struct guest_kernel *k;
    struct xenbus *xb;
    uint64_t after_pages;
    bool shut_down;
};

static void controller(struct vcpu *v, void *arg)
{
    struct ctl *c = arg;
    (void)v;
    while (atomic_load(&c->k->st.pages_touched) < c->after_pages) {
        if (atomic_load(&c->d->vcpus_stopped) >= c->d->nr_vcpus)
            return;
        hv_relax();
    }
    xenbus_write(c->xb, SHUTDOWN_KEY, "suspend");
    for (;;) {
        int reason;
        if (domain_shut_down(c->d, &reason)) {
            c->shut_down = reason == SHUTDOWN_suspend;
            return;
        }
        if (atomic_load(&c->d->vcpus_stopped) >= c->d->nr_vcpus)
            return;
        hv_relax();
    }
}

/* One guest of either kind, suspended mid-workload. */
struct rig {
    bool hvm;
    struct machine *m;
    uint64_t free_before;
    struct xenbus *xb;
    struct domain *d, *ctl;
    struct guest_pv *gp;
    struct guest_hvm *gh;
    struct workload_params wl;
};

static struct guest_kernel *rig_kernel(struct rig *r)
{
    return r->hvm ? &r->gh->k : &r->gp->k;
}

static int save(struct rig *r, const struct guest_kernel *k, void **buf,
                size_t *len)
{
    return r->hvm ? guest_hvm_state_save((const struct guest_hvm *)k, buf, len)
                  : guest_pv_state_save((const struct guest_pv *)k, buf, len);
}

static struct guest_kernel *load(bool hvm, const void *buf, size_t len,
                                 char *err, size_t errlen)
{
    return hvm ? (struct guest_kernel *)guest_hvm_state_load(buf, len, err,
                                                            errlen)
               : (struct guest_kernel *)guest_pv_state_load(buf, len, err,
                                                           errlen);
}

static void kfree(bool hvm, struct guest_kernel *k)
{
    if (hvm)
        guest_hvm_free((struct guest_hvm *)k);
    else
        guest_pv_free((struct guest_pv *)k);
}

static void rig_suspend(struct rig *r, enum workload_kind kind, bool hvm,
                        enum sched_mode mode, uint64_t seed)
{
    struct hv_options ho;
    struct guest_options go;
    char err[256] = "";

    memset(r, 0, sizeof(*r));
    r->hvm = hvm;
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &r->m) == 0);
    r->free_before = r->m->nr_free;
    REQUIRE((r->xb = xenbus_new()) != NULL);
    r->wl = (struct workload_params){
        .kind = kind, .procs = 2, .threads = 2,
        .iters = kind == WL_MEMTOUCH ? 40 : 6, .pages = 96, .seed = seed,
        .xenbus = r->xb,
    };
    int rc;
    if (hvm) {
        struct build_hvm_config cfg = {
            .domid = GUEST, .nr_vcpus = 2, .nr_pages = 2048,
            .paging = PAGING_HAP, .gopt = &go, .wl = &r->wl,
        };
        rc = build_hvm(r->m, &cfg, &r->d, &r->gh, NULL, err, sizeof(err));
        if (rc == -XEN_EOPNOTSUPP || rc == -XEN_ENOSYS) {
            static char why[400];
            snprintf(why, sizeof(why), "this HVM domain cannot run: %s", err);
            SKIP(why);
        }
    } else {
        struct build_pv_config cfg = {
            .domid = GUEST, .nr_vcpus = 2, .nr_pages = 2048, .gopt = &go,
            .wl = &r->wl,
        };
        rc = build_pv(r->m, &cfg, &r->d, &r->gp, NULL, err, sizeof(err));
    }
    if (rc)
        fprintf(stderr, "  build: %s\n", err);
    REQUIRE(rc == 0);
    struct domain_config cc = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                                .max_pages = 1, .domid = CTL };
    REQUIRE(domain_create(r->m, &cc, &r->ctl) == 0);

    /* Not suspended yet: nothing to save (KS1). */
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ(save(r, rig_kernel(r), &buf, &len), -XEN_EINVAL);
    CHECK(buf == NULL);

    struct ctl c = { .d = r->d, .k = rig_kernel(r), .xb = r->xb,
                     .after_pages = 300 };
    r->ctl->vcpu[0]->entry = controller;
    r->ctl->vcpu[0]->entry_arg = &c;
    struct vcpu *vs[3] = { r->d->vcpu[0], r->d->vcpu[1], r->ctl->vcpu[0] };
    struct sched_config sc = { .mode = mode, .seed = seed };
    CHECK_EQ(sched_run(&sc, vs, 3), 0);
    REQUIRE(c.shut_down);
    REQUIRE(atomic_load(&rig_kernel(r)->mig_state) == MIG_SUSPENDED);
}

static void rig_teardown(struct rig *r, struct guest_kernel *loaded)
{
    CHECK_EQ(domain_destroy(r->ctl), 0);
    CHECK_EQ(domain_destroy(r->d), 0);
    CHECK_EQ(hv_audit(r->m, stderr), 0);
    CHECK_EQ(r->m->nr_free, r->free_before);
    if (loaded)
        kfree(r->hvm, loaded);
    kfree(r->hvm, rig_kernel(r));
    xenbus_free(r->xb);
    machine_destroy(r->m);
}

/* KS4, KS3 and the resume of the loaded kernel. */
static void round_trip(enum workload_kind kind, bool hvm,
                       enum sched_mode mode, uint64_t seed)
{
    struct rig r;
    char err[256] = "";
    rig_suspend(&r, kind, hvm, mode, seed);
    struct guest_kernel *src = rig_kernel(&r);

    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    REQUIRE(save(&r, src, &b1, &l1) == 0);
    CHECK_EQ(guest_state_kind(b1, l1, err, sizeof(err)), hvm ? 1 : 0);
    struct guest_kernel *k = load(hvm, b1, l1, err, sizeof(err));
    if (!k)
        fprintf(stderr, "  load: %s\n", err);
    REQUIRE(k != NULL);
    /* The other kind's loader refuses it, naming the header. */
    char err2[256] = "";
    CHECK(load(!hvm, b1, l1, err2, sizeof(err2)) == NULL);
    CHECK(strncmp(err2, "section header at offset 12:", 28) == 0);

    /* KS3: suspended, nothing to resume, same facts. */
    CHECK_EQ(atomic_load(&k->mig_state), MIG_SUSPENDED);
    CHECK(!k->mig_have_resume);
    CHECK(k->wl.xenbus == NULL);
    CHECK_EQ(k->nr_pages, src->nr_pages);
    CHECK_EQ(k->nr_free, src->nr_free);
    CHECK_EQ(k->next_pid, src->next_pid);
    CHECK_EQ(k->log_n, src->log_n);
    CHECK(hvm ? guest_hvm_suspended((struct guest_hvm *)k)
              : guest_pv_suspended((struct guest_pv *)k));
    /* KS4. */
    REQUIRE(save(&r, k, &b2, &l2) == 0);
    CHECK_EQ(l2, l1);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    free(b2);

    struct guest_stats before;
    kernel_stats(src, &before);

    /* The loaded kernel resumes as on a new domain and finishes. */
    CHECK_EQ(domctl_resume_domain(r.d), 0);
    struct guest_resume gr = { .cancelled = false, .host_id = 0,
                               .xenbus = r.xb };
    CHECK_EQ(hvm ? guest_hvm_resume((struct guest_hvm *)k, &gr)
                 : guest_pv_resume((struct guest_pv *)k, &gr), 0);
    for (unsigned i = 0; i < r.d->nr_vcpus; i++) {
        r.d->vcpu[i]->entry = hvm ? guest_hvm_vcpu_main : guest_pv_vcpu_main;
        r.d->vcpu[i]->entry_arg = k;
    }
    struct sched_config sc2 = { .mode = mode, .seed = seed + 7 };
    CHECK_EQ(sched_run(&sc2, r.d->vcpu, r.d->nr_vcpus), 0);
    struct guest_stats st;
    kernel_stats(k, &st);
    kernel_report(k, stderr);
    CHECK_EQ(atomic_load(&k->mig_state), MIG_RUNNING);
    CHECK_EQ(st.mig_suspends, 1);
    CHECK_EQ(st.mig_resumes, 1);
    CHECK(st.pages_touched > before.pages_touched);
    CHECK_EQ(st.verify_failures, 0);
    CHECK_EQ(st.hypercall_errors, 0);
    CHECK_EQ(st.kernel_oopses, 0);
    CHECK_EQ(st.procs_killed, 0);
    if (kind == WL_FORK_STORM) {
        CHECK_EQ(st.forks, (uint64_t)r.wl.procs * r.wl.iters);
        CHECK_EQ(st.exits, st.forks + r.wl.procs);
    } else {
        CHECK_EQ(st.exits, r.wl.procs);
    }
    CHECK_EQ(hv_audit(r.m, stderr), 0);
    free(b1);
    rig_teardown(&r, k);
}

static void t_pv_memtouch(void)  { round_trip(WL_MEMTOUCH, false, SCHED_THREADS, 42); }
static void t_pv_fork(void)      { round_trip(WL_FORK_STORM, false, SCHED_THREADS, 43); }
static void t_pv_mmap_det(void)
{
    for (uint64_t seed = 1; seed <= 2; seed++)
        round_trip(WL_MMAP_CHURN, false, SCHED_DET, seed);
}
static void t_pv_fork_det(void)
{
    for (uint64_t seed = 1; seed <= 2; seed++)
        round_trip(WL_FORK_STORM, false, SCHED_DET, seed);
}
static void t_hvm_memtouch(void) { round_trip(WL_MEMTOUCH, true, SCHED_THREADS, 44); }
static void t_hvm_fork_det(void) { round_trip(WL_FORK_STORM, true, SCHED_DET, 3); }

/* KS2: a load of broken bytes fails cleanly, naming a section. */
static bool check_one(bool hvm, const void *buf, size_t len, bool must_fail,
                      unsigned *loaded)
{
    char err[256] = "";
    struct guest_kernel *k = load(hvm, buf, len, err, sizeof(err));
    if (k) {
        (*loaded)++;
        void *b = NULL;
        size_t l = 0;
        /* Whatever loaded saves again (and then is byte-stable). */
        bool ok = !must_fail &&
                  (hvm ? guest_hvm_state_save((struct guest_hvm *)k, &b, &l)
                       : guest_pv_state_save((struct guest_pv *)k, &b, &l)) == 0;
        if (ok) {
            struct guest_kernel *k2 = load(hvm, b, l, err, sizeof(err));
            void *b2 = NULL;
            size_t l2 = 0;
            ok = k2 && (hvm ? guest_hvm_state_save((struct guest_hvm *)k2,
                                                   &b2, &l2)
                            : guest_pv_state_save((struct guest_pv *)k2,
                                                  &b2, &l2)) == 0 &&
                 l2 == l && memcmp(b, b2, l) == 0;
            if (k2)
                kfree(hvm, k2);
            free(b2);
        }
        free(b);
        kfree(hvm, k);
        return ok;
    }
    if (strncmp(err, "section ", 8) != 0 || !strstr(err, " at offset ")) {
        fprintf(stderr, "  error without a section: '%s'\n", err);
        return false;
    }
    return true;
}

static void fuzz(enum workload_kind kind, bool hvm)
{
    struct rig r;
    rig_suspend(&r, kind, hvm, SCHED_DET, 5);
    void *buf = NULL;
    size_t len = 0;
    REQUIRE(save(&r, rig_kernel(&r), &buf, &len) == 0);
    uint8_t *b = buf;
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    unsigned bad = 0, loaded = 0, tried = 0;
    size_t stride = len > 16384 ? len / 8192 : 1;

    for (size_t n = 0; n < len; n += stride) {      /* truncation */
        memcpy(copy, b, n);
        if (!check_one(hvm, copy, n, true, &loaded))
            bad++;
        tried++;
    }
    CHECK_EQ(loaded, 0);
    unsigned flips_loaded = 0;
    static const uint8_t pat[] = { 0xff, 0x01 };
    for (unsigned p = 0; p < 2; p++)
        for (size_t off = 0; off < len; off += stride) {
            memcpy(copy, b, len);
            copy[off] ^= pat[p];
            if (!check_one(hvm, copy, len, false, &flips_loaded))
                bad++;
            tried++;
        }
    fprintf(stderr, "  %zu bytes: %u cases, %u flips loaded\n", len, tried,
            flips_loaded);
    CHECK_EQ(bad, 0);
    CHECK(flips_loaded < tried);
    free(copy);
    free(buf);
    rig_teardown(&r, NULL);
}

static void t_fuzz_pv(void)  { fuzz(WL_FORK_STORM, false); }
static void t_fuzz_hvm(void) { fuzz(WL_MEMTOUCH, true); }

/* Kinds that do not migrate, and a few headers. */
static void t_refused(void)
{
    static const enum workload_kind kinds[] = { WL_P2M_RACE, WL_GRANT_POC,
                                                WL_BLKBACK };
    for (unsigned i = 0; i < 3; i++) {
        struct workload_params wl = { .kind = kinds[i] };
        struct guest_pv *g = guest_pv_new(0, NULL, &wl);
        REQUIRE(g != NULL);
        void *buf = (void *)1;
        size_t len = 1;
        CHECK_EQ(guest_pv_state_save(g, &buf, &len), -XEN_EOPNOTSUPP);
        atomic_store(&g->k.mig_state, MIG_SUSPENDED);
        atomic_store(&g->k.boot_state, 1);
        g->k.nr_vcpus = 1;
        CHECK_EQ(guest_pv_state_save(g, &buf, &len), -XEN_EOPNOTSUPP);
        CHECK(buf == NULL);
        CHECK_EQ(len, 0);
        atomic_store(&g->k.mig_state, MIG_RUNNING);
        guest_pv_free(g);
    }
    /* A memtouch kernel that never booted is not suspended. */
    struct workload_params wl = { .kind = WL_MEMTOUCH };
    struct guest_hvm *h = guest_hvm_new(0, NULL, &wl);
    void *buf = NULL;
    size_t len = 0;
    CHECK_EQ(guest_hvm_state_save(h, &buf, &len), -XEN_EINVAL);
    CHECK_EQ(guest_pv_state_save((struct guest_pv *)h, &buf, &len),
             -XEN_EINVAL);                  /* not a PV kernel */
    guest_hvm_free(h);

    char err[256];
    CHECK_EQ(guest_state_kind("HVLABGK", 8, err, sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "section header at offset 8: truncated") == err);
    CHECK_EQ(guest_state_kind("XVLABGK\0\1\0\0\0\0\0\0\0", 16, err,
                              sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "bad magic") != NULL);
    CHECK_EQ(guest_state_kind("HVLABGK\0\2\0\0\0\0\0\0\0", 16, err,
                              sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "at offset 8: version 2") != NULL);
    CHECK_EQ(guest_state_kind("HVLABGK\0\1\0\0\0\1\0\0\0", 16, err,
                              sizeof(err)), 1);
    CHECK(guest_pv_state_load(NULL, 0, err, sizeof(err)) == NULL);
    CHECK(guest_pv_state_load("HVLABGK\0\1\0\0\0\0\0\0\0", 16, err,
                              sizeof(err)) == NULL);
    CHECK(strstr(err, "no END section") != NULL);
}

static const struct test tests[] = {
    { "PV memtouch: save, load, save is byte-identical; the loaded kernel resumes and finishes clean (threads)", t_pv_memtouch },
    { "PV fork-storm: the same (threads)", t_pv_fork },
    { "PV mmap-churn: the same, det mode, seeds 1-2", t_pv_mmap_det },
    { "PV fork-storm: the same, det mode, seeds 1-2", t_pv_fork_det },
    { "HVM memtouch: the same (threads)", t_hvm_memtouch },
    { "HVM fork-storm: the same, det mode", t_hvm_fork_det },
    { "PV state truncated at every offset or with a byte flipped never crashes; errors name a section", t_fuzz_pv },
    { "HVM state truncated or flipped: the same", t_fuzz_hvm },
    { "p2m-race, grant-poc, blkback are -EOPNOTSUPP; not suspended is -EINVAL; bad headers are named", t_refused },
};

TEST_MAIN(tests)
