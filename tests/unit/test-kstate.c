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
 *   - crafted states (a real saved state with one field edited) for each
 *     way a loaded kernel could crash or hang once it runs (kstate.c rules
 *     6-7, the BLKFRONT and PTREUSE checks) are refused naming a section;
 *   - every one-byte flip (0xff) inside CORE and PROCS that still loads is
 *     resumed on a domain suspended exactly as the saved one (det mode,
 *     same seed) and run to its end under alarm(): no crash, no hang;
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
#include "toolstack/migrate.h"

#include <signal.h>
#include <unistd.h>

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
        /* Stopped before the shutdown code (see test-suspend.c). */
        bool stopped = atomic_load(&c->d->vcpus_stopped) >= c->d->nr_vcpus;
        if (domain_shut_down(c->d, &reason)) {
            c->shut_down = reason == SHUTDOWN_suspend;
            return;
        }
        if (stopped)
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
        .quicklist = kind == WL_PT_REUSE ? 4 : 0,
        .balloon = kind == WL_PT_REUSE,
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


/* ---- crafted states (one per review finding) ----------------------------------- */

enum { S_CORE = 1, S_PROCS = 4, S_BLKFRONT = 10, S_PTREUSE = 11 };

static uint64_t rd(const uint8_t *b, size_t off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[off + i] << (8 * i);
    return v;
}

static void wr(uint8_t *b, size_t off, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

/* The payload offset of section type (0 when absent), its length in *slen. */
static size_t sec_find(const uint8_t *b, size_t len, uint32_t type,
                       size_t *slen)
{
    for (size_t at = 16; at + 8 <= len; ) {
        uint32_t t = (uint32_t)rd(b, at, 4), l = (uint32_t)rd(b, at + 4, 4);
        if (t == type) {
            if (slen)
                *slen = l;
            return at + 8;
        }
        if (t == 0)
            break;
        at += 8 + l + (8 - l % 8) % 8;
    }
    return 0;
}

/* A copy of b without section type. */
static uint8_t *sec_drop(const uint8_t *b, size_t len, uint32_t type,
                         size_t *out)
{
    size_t slen = 0, at = sec_find(b, len, type, &slen);
    REQUIRE(at != 0);
    size_t whole = 8 + slen + (8 - slen % 8) % 8;
    uint8_t *c = malloc(len);
    REQUIRE(c != NULL);
    memcpy(c, b, at - 8);
    memcpy(c + at - 8, b + at - 8 + whole, len - (at - 8 + whole));
    *out = len - whole;
    return c;
}

/* CORE field offsets (kstate.c save_core). */
enum { CORE_KIND = 7, CORE_ITERS = 19, CORE_PAGES = 23, CORE_OPS = 52,
       CORE_LIVE = 144 };

/* One process of PROCS: where its fields are. */
struct pinfo {
    size_t at, l4, nthreads, live, is_child, parent_threads, threads;
    uint32_t pid, nt;
};

/* The processes of a PROCS payload at off; returns their count, *rq the
   offset of the run queue. */
static unsigned procs_parse(const uint8_t *b, size_t off, struct pinfo *pi,
                            unsigned max, size_t *rq)
{
    uint32_t n = (uint32_t)rd(b, off, 4);
    size_t at = off + 4;
    for (uint32_t i = 0; i < n; i++) {
        struct pinfo x = { .at = at, .pid = (uint32_t)rd(b, at, 4) };
        at += 12;
        x.l4 = at;
        at += 17;
        uint32_t nv = (uint32_t)rd(b, at, 4);
        at += 4 + nv * 17 + 2;
        x.nthreads = at;
        x.nt = (uint32_t)rd(b, at, 4);
        x.live = at + 4;
        at += 8 + 1 + 4;
        x.is_child = at;
        x.parent_threads = at + 1;
        at += 1 + 4 + 4 + 1;
        x.threads = at;
        at += (size_t)x.nt * 48;
        if (i < max)
            pi[i] = x;
    }
    *rq = at;
    return n;
}

/* The state must be refused with an error naming section sec. */
static void refused(bool hvm, const uint8_t *b, size_t len, const char *sec,
                    const char *what)
{
    char err[256] = "", want[64];
    struct guest_kernel *k = load(hvm, b, len, err, sizeof(err));
    snprintf(want, sizeof(want), "section %s at offset ", sec);
    if (k || strncmp(err, want, strlen(want)) != 0)
        fprintf(stderr, "  %s: %s\n", what, k ? "LOADED" : err);
    CHECK(k == NULL);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    if (k)
        kfree(hvm, k);
}

static uint8_t *saved(struct rig *r, size_t *len)
{
    void *buf = NULL;
    REQUIRE(save(r, rig_kernel(r), &buf, len) == 0);
    char err[256] = "";
    struct guest_kernel *k = load(r->hvm, buf, *len, err, sizeof(err));
    if (!k)
        fprintf(stderr, "  the real state: %s\n", err);
    REQUIRE(k != NULL);                 /* the unedited state loads */
    kfree(r->hvm, k);
    return buf;
}

/* Findings 4, 5, 6 (L4): PROCS and CORE fields of a fork-storm kernel. */
static void t_crafted_procs(void)
{
    struct rig r;
    rig_suspend(&r, WL_FORK_STORM, false, SCHED_DET, 5);
    size_t len, plen, rq;
    uint8_t *b = saved(&r, &len), *c = malloc(len);
    REQUIRE(c != NULL);
    size_t core = sec_find(b, len, S_CORE, NULL);
    size_t procs = sec_find(b, len, S_PROCS, &plen);
    REQUIRE(core && procs);
    struct pinfo pi[64];
    unsigned n = procs_parse(b, procs, pi, 64, &rq);
    REQUIRE(n > 0 && n <= 64);
    CHECK_EQ(rq + 4 + rd(b, rq, 4) * 8, procs + plen);  /* parsed it all */
    unsigned lp = 0;                    /* a live process, not a child */
    while (lp < n && (rd(b, pi[lp].live, 4) == 0 || b[pi[lp].is_child]))
        lp++;
    REQUIRE(lp < n);
    struct pinfo *p = &pi[lp];

    /* 4: is_child with parent_threads 0 (and a non-child's fields). */
    memcpy(c, b, len);
    wr(c, p->is_child, 1, 1);
    wr(c, p->parent_threads, 4, 0);
    refused(false, c, len, "PROCS", "is_child, parent_threads 0");
    memcpy(c, b, len);
    wr(c, p->parent_threads, 4, 3);
    refused(false, c, len, "PROCS", "parent_threads on a non-child");
    /* 4: a pc outside the program, a cursor past the pages. */
    memcpy(c, b, len);
    wr(c, p->threads, 4, 99);
    refused(false, c, len, "PROCS", "pc 99");
    memcpy(c, b, len);
    wr(c, p->threads + 8, 8, 1u << 20);
    wr(c, p->threads, 4, 0);
    refused(false, c, len, "PROCS", "cursor past the pages");
    /* 5: a live thread missing from the queue (threads_live one more,
       one less), live_procs wrong, a queued thread of a dead process. */
    memcpy(c, b, len);
    wr(c, p->live, 4, rd(b, p->live, 4) - 1);
    refused(false, c, len, "PROCS", "threads_live one short");
    memcpy(c, b, len);
    wr(c, p->live, 4, 0);
    refused(false, c, len, "PROCS", "queued threads, threads_live 0");
    memcpy(c, b, len);
    wr(c, core + CORE_LIVE, 4, rd(b, core + CORE_LIVE, 4) - 1);
    refused(false, c, len, "PROCS", "live_procs one short");
    if (rd(b, rq, 4) >= 2) {            /* an entry twice */
        memcpy(c, b, len);
        wr(c, rq + 12, 8, rd(b, rq + 4, 8));
        refused(false, c, len, "PROCS", "a thread queued twice");
    }
    /* 6: a live process with an invalid L4 pfn. */
    memcpy(c, b, len);
    wr(c, p->l4, 8, ~0ULL);
    refused(false, c, len, "PROCS", "live process, L4 INVALID_PFN");
    memcpy(c, b, len);
    wr(c, p->l4, 8, 1);                 /* a boot frame, not a table */
    refused(false, c, len, "PROCS", "live process, L4 not a table");
    free(c);
    free(b);
    rig_teardown(&r, NULL);
}

/* Finding 1 (PTREUSE half) and 6 (balloon): a pt-reuse kernel. */
static void t_crafted_ptreuse(void)
{
    struct rig r;
    rig_suspend(&r, WL_PT_REUSE, false, SCHED_DET, 6);
    size_t len, slen, l2;
    uint8_t *b = saved(&r, &len);
    uint8_t *c = sec_drop(b, len, S_PTREUSE, &l2);
    refused(false, c, l2, "END", "pt-reuse without PTREUSE");
    free(c);
    size_t at = sec_find(b, len, S_PTREUSE, &slen);
    REQUIRE(at != 0);
    c = malloc(len);
    REQUIRE(c != NULL);
    /* The balloon's runs: a run of two or more made a constant run. */
    size_t bl = at + 8 + rd(b, at + 4, 4) * 8;
    uint64_t nruns = rd(b, bl + 8, 8), dups = 0;
    for (uint64_t i = 0; i < nruns; i++) {
        size_t run = bl + 16 + i * 16;
        if (rd(b, run, 4) < 2)
            continue;
        memcpy(c, b, len);
        wr(c, run + 4, 4, 0);
        refused(false, c, len, "PTREUSE", "a ballooned pfn twice");
        dups++;
        break;
    }
    fprintf(stderr, "  %llu ballooned, %llu runs%s\n",
            (unsigned long long)rd(b, bl, 8), (unsigned long long)nruns,
            dups ? "" : " (no run to duplicate)");
    /* A queued thread's pc outside the program. */
    size_t procs = sec_find(b, len, S_PROCS, NULL), rq;
    struct pinfo pi[64];
    unsigned n = procs_parse(b, procs, pi, 64, &rq);
    for (unsigned i = 0; i < n && i < 64; i++)
        if (rd(b, pi[i].live, 4)) {
            memcpy(c, b, len);
            wr(c, pi[i].threads, 4, 7);
            refused(false, c, len, "PTREUSE", "pt-reuse pc 7");
            break;
        }
    free(c);
    free(b);
    rig_teardown(&r, NULL);
}


/* Findings 1, 2, 3, 6 (BLKFRONT): a blk-io frontend suspended mid-run
   beside its driver domain. */
struct blk_ctl {
    struct xenbus *xb;
    struct domain *fe;
    struct guest_pv *g;
    int rc;
    char err[256];
};

static void blk_controller(struct vcpu *v, void *arg)
{
    struct blk_ctl *k = arg;
    struct guest_stats st;
    (void)v;
    do {
        guest_pv_stats(k->g, &st);
        hv_relax();
    } while (st.blk_ops < 50);
    k->rc = mig_suspend_guest(k->xb, k->fe, k->err, sizeof(k->err));
    if (k->rc == 0)
        mig_close_source_vbds(k->xb, k->fe->domid);
}

static void t_crafted_blk(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb != NULL);
    REQUIRE(xenbus_add_vbd(xb, 2, 1, 51712, 2048) == 0);
    struct workload_params bw = { .kind = WL_BLKBACK, .xenbus = xb, .seed = 1 };
    struct workload_params fw = {
        .kind = WL_BLK_IO, .xenbus = xb, .backend = 1, .ops = 1600,
        .depth = 8, .segs_min = 1, .segs_max = 4, .reads = 50,
        .verify = true, .sectors = 2048, .seed = 2,
    };
    struct guest_pv *gbe = NULL, *gfe = NULL;
    struct domain *be = NULL, *fe = NULL, *ctl = NULL;
    char err[256] = "";
    struct build_pv_config bc = { .domid = 1, .nr_vcpus = 1, .nr_pages = 1024,
                                  .gopt = &go, .wl = &bw };
    REQUIRE(build_pv(m, &bc, &be, &gbe, NULL, err, sizeof(err)) == 0);
    struct build_pv_config fc = { .domid = 2, .nr_vcpus = 2, .nr_pages = 1024,
                                  .gopt = &go, .wl = &fw };
    REQUIRE(build_pv(m, &fc, &fe, &gfe, NULL, err, sizeof(err)) == 0);
    struct domain_config cc = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                                .max_pages = 1, .domid = 3 };
    REQUIRE(domain_create(m, &cc, &ctl) == 0);
    struct blk_ctl k = { .xb = xb, .fe = fe, .g = gfe };
    ctl->vcpu[0]->entry = blk_controller;
    ctl->vcpu[0]->entry_arg = &k;
    struct vcpu *vs[4] = { be->vcpu[0], fe->vcpu[0], fe->vcpu[1],
                           ctl->vcpu[0] };
    struct sched_config sc = { .mode = SCHED_DET, .seed = 3 };
    CHECK_EQ(sched_run(&sc, vs, 4), 0);
    if (k.rc)
        fprintf(stderr, "  suspend: %s\n", k.err);
    REQUIRE(k.rc == 0 && guest_pv_suspended(gfe));

    struct rig r = { .hvm = false, .gp = gfe };
    size_t len, l2, slen;
    uint8_t *b = saved(&r, &len), *c;
    /* 1: no BLKFRONT in a kernel whose thread runs blkfront_slice. */
    c = sec_drop(b, len, S_BLKFRONT, &l2);
    refused(false, c, l2, "END", "blk-io without BLKFRONT");
    free(c);
    size_t at = sec_find(b, len, S_BLKFRONT, &slen);
    REQUIRE(at != 0);
    size_t o = at + 4;
    o += 2 + rd(b, o, 2);               /* dir */
    o += 2 + rd(b, o, 2);               /* be_dir */
    o += 2;                             /* be */
    size_t ring_set = o, nr_ents = o + 13, ring_pfn = o + 17;
    size_t sectors = o + 36, depth = sectors + 8, segs_min = depth + 4,
           segs_max = depth + 8, slot0 = depth + 12;
    CHECK_EQ(b[ring_set], 1);
    CHECK_EQ(rd(b, nr_ents, 4), 32);
    CHECK_EQ(rd(b, sectors, 8), 2048);
    CHECK_EQ(rd(b, segs_max, 4), 4);
    c = malloc(len);
    REQUIRE(c != NULL);
    /* 2: no ring (nr_ents 0) with the sector maps present. */
    memcpy(c, b, len);
    c[ring_set] = 0;
    wr(c, ring_set + 1, 4, 0);
    wr(c, nr_ents, 4, 0);
    refused(false, c, len, "BLKFRONT", "ring_set 0");
    memcpy(c, b, len);
    wr(c, ring_pfn, 8, ~0ULL);
    refused(false, c, len, "BLKFRONT", "ring pfn INVALID");
    /* 3: a disk smaller than a request; segments and depth out of range. */
    memcpy(c, b, len);
    wr(c, sectors, 8, 1);
    refused(false, c, len, "BLKFRONT", "sectors 1");
    memcpy(c, b, len);
    wr(c, segs_min, 4, 5);
    refused(false, c, len, "BLKFRONT", "segs_min > segs_max");
    memcpy(c, b, len);
    wr(c, depth, 4, 0);
    refused(false, c, len, "BLKFRONT", "depth 0");
    /* 6: a slot's data pfn is the ring page, or another slot's. */
    size_t pfn0 = slot0 + 1 + 1 + 8 + 4 + 4 + 4;     /* slot 0, pfn[0] */
    memcpy(c, b, len);
    wr(c, pfn0, 8, rd(b, ring_pfn, 8));
    refused(false, c, len, "BLKFRONT", "data pfn = ring pfn");
    memcpy(c, b, len);
    wr(c, pfn0 + 14, 8, rd(b, pfn0, 8));              /* pfn[1] = pfn[0] */
    refused(false, c, len, "BLKFRONT", "data pfn twice");
    /* 6: two busy slots on the same sectors. */
    size_t slot_len = 1 + 1 + 8 + 4 + 4 + 4 + 11 * 14, busy[2];
    unsigned nb = 0;
    for (unsigned s2 = 0; s2 < 8 && nb < 2; s2++)
        if (b[slot0 + s2 * slot_len])
            busy[nb++] = slot0 + s2 * slot_len;
    if (nb == 2) {
        memcpy(c, b, len);
        wr(c, busy[1] + 2, 8, rd(b, busy[0] + 2, 8));
        refused(false, c, len, "BLKFRONT", "overlapping busy slots");
    }
    fprintf(stderr, "  %u busy slots checked for overlap\n", nb);
    free(c);
    free(b);
    CHECK_EQ(domain_destroy(ctl), 0);
    CHECK_EQ(domain_destroy(fe), 0);
    CHECK_EQ(domain_destroy(be), 0);
    guest_pv_free(gfe);
    guest_pv_free(gbe);
    machine_destroy(m);
    xenbus_free(xb);
}


/* ---- flipped states that load also resume and run ------------------------------ */

static void watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "  watchdog: a resumed flipped state hung\n";
    if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(2);
    _exit(1);
}

/* Resume k on a fresh rig suspended exactly as the saved one (det mode,
   same seed: the same bytes) and run it to its end; a hang is the alarm. */
static bool run_loaded(struct guest_kernel *k, const uint8_t *orig,
                       size_t len)
{
    struct rig r;
    rig_suspend(&r, WL_FORK_STORM, false, SCHED_DET, 5);
    void *buf = NULL;
    size_t l = 0;
    bool same = save(&r, rig_kernel(&r), &buf, &l) == 0 && l == len;
    size_t mlen = 0, mig = same ? sec_find(buf, l, 7, &mlen) : 0;
    if (mig)                            /* MIG holds the suspend's time */
        memcpy((uint8_t *)buf + mig, orig + mig, mlen);
    same = same && memcmp(buf, orig, len) == 0;
    free(buf);
    if (same) {
        domctl_resume_domain(r.d);
        struct guest_resume gr = { .cancelled = false, .xenbus = r.xb };
        if (guest_pv_resume((struct guest_pv *)k, &gr) == 0) {
            for (unsigned i = 0; i < r.d->nr_vcpus; i++) {
                r.d->vcpu[i]->entry = guest_pv_vcpu_main;
                r.d->vcpu[i]->entry_arg = k;
            }
            struct sched_config sc = { .mode = SCHED_DET, .seed = 12 };
            alarm(20);
            sched_run(&sc, r.d->vcpu, r.d->nr_vcpus);
            alarm(0);
        }
    }
    domain_destroy(r.ctl);
    domain_destroy(r.d);
    kfree(false, rig_kernel(&r));
    xenbus_free(r.xb);
    machine_destroy(r.m);
    return same;
}

static void t_fuzz_run(void)
{
    struct rig r;
    rig_suspend(&r, WL_FORK_STORM, false, SCHED_DET, 5);
    size_t len, clen, plen;
    uint8_t *b = saved(&r, &len), *c = malloc(len);
    REQUIRE(c != NULL);
    size_t core = sec_find(b, len, S_CORE, &clen);
    size_t procs = sec_find(b, len, S_PROCS, &plen);
    struct guest_kernel *orig = load(false, b, len, NULL, 0);
    REQUIRE(orig != NULL);
    rig_teardown(&r, orig);
    signal(SIGALRM, watchdog);
    unsigned loaded = 0, ran = 0, longer = 0;
    size_t ranges[2][2] = { { core, core + clen }, { procs, procs + plen } };
    for (unsigned g = 0; g < 2; g++)
        for (size_t off = ranges[g][0]; off < ranges[g][1]; off++) {
            memcpy(c, b, len);
            c[off] ^= 0xff;
            char err[256];
            struct guest_kernel *k = load(false, c, len, err, sizeof(err));
            if (!k)
                continue;
            loaded++;
            /* A longer workload is a valid state, not a hang: not run. */
            if (k->wl.iters > 64 || k->wl.pages > 4096) {
                longer++;
                kfree(false, k);
                continue;
            }
            CHECK(run_loaded(k, b, len));
            ran++;
            kfree(false, k);
        }
    fprintf(stderr, "  CORE %zu + PROCS %zu bytes flipped: %u loaded, %u "
            "resumed and ran to the end, %u longer workloads not run\n",
            clen, plen, loaded, ran, longer);
    CHECK(ran > 0);
    signal(SIGALRM, SIG_DFL);
    free(c);
    free(b);
}

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
    { "crafted PROCS/CORE: child without parent threads, bad pc and cursor, live threads off the queue, live_procs, INVALID L4 are refused", t_crafted_procs },
    { "crafted pt-reuse: no PTREUSE section, a ballooned pfn twice, a bad pc are refused", t_crafted_ptreuse },
    { "crafted BLKFRONT: no section, no ring, sectors 1, bad segments and depth, shared data pfns, overlapping slots are refused", t_crafted_blk },
    { "every CORE/PROCS byte flip that loads resumes on a restored domain and runs to its end (watchdog)", t_fuzz_run },
    { "p2m-race, grant-poc, blkback are -EOPNOTSUPP; not suspended is -EINVAL; bad headers are named", t_refused },
};

TEST_MAIN(tests)
