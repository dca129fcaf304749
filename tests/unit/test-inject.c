/*
 * tests/unit/test-inject.c - the fault injector (inject/): the catalog,
 * plan parsing, firing semantics under a fixed seed, and injections at
 * real points that the hypervisor must survive.
 *
 * No case depends on timing except the remote-flush control case, which
 * only checks that a requester waits while the target stays inside an
 * access (it sleeps to give it the chance to return wrongly).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <xen/memory.h>

#include "core/hypercall.h"
#include "core/lock.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "inject/inject.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

static struct pv_fixture f;

/* ---- the catalog -------------------------------------------------------- */

/* Names: unique, "<subsystem>.<a>[.<b>...]" in [a-z0-9_]; every point has a
   place, a window, at least one action; fail points declare parsable
   errors, others none. */
static void t_catalog(void)
{
    CHECK(INJ_NR_POINTS >= 18);
    for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
        const struct inj_point_desc *d = &inj_points[i];
        REQUIRE(d->name && d->where && d->window && d->errors);
        for (unsigned j = i + 1; j < INJ_NR_POINTS; j++)
            if (strcmp(d->name, inj_points[j].name) == 0) {
                fprintf(stderr, "  duplicate point %s\n", d->name);
                CHECK(0);
            }
        unsigned dots = 0;
        bool ok = islower((unsigned char)d->name[0]);
        for (const char *s = d->name; *s; s++) {
            if (*s == '.') {
                dots++;
                ok &= s[1] && s[1] != '.';
            } else {
                ok &= islower((unsigned char)*s) || isdigit((unsigned char)*s)
                      || *s == '_';
            }
        }
        if (!ok || dots < 1)
            fprintf(stderr, "  bad point name '%s'\n", d->name);
        CHECK(ok && dots >= 1);
        CHECK(strlen(d->window) > 20);
        CHECK(strchr(d->where, '/') && strstr(d->where, "()"));
        CHECK(d->actions != 0 && d->actions < (1u << INJ_NR_ACTIONS));
        CHECK_EQ(inj_point_find(d->name), (int)i);
        if (d->actions & INJ_A_FAIL) {
            CHECK(d->errors[0] != '\0');
        } else {
            CHECK_EQ(d->errors[0], '\0');
        }
    }
    CHECK_EQ(inj_point_find("no.such.point"), -1);
    CHECK(strcmp(inj_errno_name(-XEN_ENOMEM), "-XEN_ENOMEM") == 0);
    CHECK(strcmp(inj_errno_name(-INJ_ERESTART), "-XEN_ERESTART") == 0);
    /* The listing shows every point. */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    inj_catalog_print(m, NULL, NULL);
    fclose(m);
    for (unsigned i = 0; i < INJ_NR_POINTS; i++)
        CHECK(strstr(text, inj_points[i].name) != NULL);
    free(text);
}

/* ---- plan parsing ------------------------------------------------------- */

static char *plan_text(const struct inj_plan *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    inj_plan_print(p, m);
    fclose(m);
    return text;
}

/* Good bindings, each printed back in its canonical spelling. */
static void t_parse_good(void)
{
    static const struct { const char *in, *out; } cases[] = {
        { "alloc.domheap:fail,errno=ENOMEM,nth=200",
          "alloc.domheap:fail,errno=ENOMEM,nth=200" },
        { "alloc.domheap:fail", "alloc.domheap:fail,errno=ENOMEM" },
        { " alloc.domheap:fail,errno=-XEN_ENOMEM,every=3,dom=1 ",
          "alloc.domheap:fail,errno=ENOMEM,every=3,dom=1" },
        { "alloc.domheap:fail,errno=-12,p=25%",
          "alloc.domheap:fail,errno=ENOMEM,p=0.25" },
        { "hcall.preempt:fail", "hcall.preempt:fail,errno=ERESTART" },
        { "hcall.entry:fail,errno=EFAULT,count=2,vcpu=3",
          "hcall.entry:fail,errno=EFAULT,count=2,vcpu=3" },
        { "traps.pf.before_bounce:delay,us=50,jitter=10us,mode=sleep",
          "traps.pf.before_bounce:delay,ns=50000,jitter=10000,mode=sleep" },
        { "ptwr.flush.before_rehook:yield,p=0.5",
          "ptwr.flush.before_rehook:yield,p=0.5" },
        { "tlb.remote_flush.deliver:skip,vcpu=1",
          "tlb.remote_flush.deliver:skip,vcpu=1" },
    };
    char err[512];
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct inj_plan *p = inj_plan_new();
        int rc = inj_plan_add(p, cases[i].in, NULL, 0, err, sizeof(err));
        if (rc)
            fprintf(stderr, "  %s -> %s\n", cases[i].in, err);
        CHECK_EQ(rc, 0);
        char *t = plan_text(p);
        char want[300];
        snprintf(want, sizeof(want), "%s\n", cases[i].out);
        if (strcmp(t, want) != 0)
            fprintf(stderr, "  %s printed as %s", cases[i].in, t);
        CHECK(strcmp(t, want) == 0);
        /* L3: the canonical spelling parses back to itself. */
        struct inj_plan *q = inj_plan_new();
        CHECK_EQ(inj_plan_add(q, cases[i].out, NULL, 0, err, sizeof(err)), 0);
        char *u = plan_text(q);
        CHECK(strcmp(t, u) == 0);
        free(t);
        free(u);
        inj_plan_free(p);
        inj_plan_free(q);
    }
}

/* Bad bindings: the exact message, and the plan is left unchanged. */
static void t_parse_bad(void)
{
    static const struct { const char *in, *msg; } cases[] = {
        { "alloc.domheap",
          "--inject 'alloc.domheap': expected POINT:ACTION[,key=value]... "
          "(e.g. 'alloc.domheap:fail,errno=ENOMEM,nth=3')" },
        { "no.such:delay,ns=1",
          "--inject 'no.such:delay,ns=1': unknown point 'no.such' ('hvlab "
          "inject list' prints the catalog)" },
        { "alloc.domheap:skip",
          "--inject 'alloc.domheap:skip': point 'alloc.domheap': cannot skip "
          "here (this point can: delay, yield, fail)" },
        { "alloc.domheap:explode",
          "--inject 'alloc.domheap:explode': point 'alloc.domheap': unknown "
          "action 'explode' (this point can: delay, yield, fail)" },
        { "alloc.domheap:fail,errno=EFAULT",
          "--inject 'alloc.domheap:fail,errno=EFAULT': point 'alloc.domheap': "
          "fail: errno=EFAULT is not an error this point returns (it "
          "returns: ENOMEM)" },
        { "alloc.domheap:fail,errno=EWHAT",
          "--inject 'alloc.domheap:fail,errno=EWHAT': point 'alloc.domheap': "
          "fail: errno=EWHAT is not a Xen error name or number (this point "
          "returns: ENOMEM)" },
        { "hcall.entry:fail",
          "--inject 'hcall.entry:fail': point 'hcall.entry': fail: needs "
          "errno=NAME (this point returns any Xen errno)" },
        { "hcall.entry:fail,errno=ERESTART",
          "--inject 'hcall.entry:fail,errno=ERESTART': point 'hcall.entry': "
          "fail: errno=ERESTART is not an error this point returns (it "
          "returns: any Xen errno but ERESTART)" },
        { "uva.before_flush:delay",
          "--inject 'uva.before_flush:delay': point 'uva.before_flush': "
          "delay: needs ns=N, us=N or ms=N" },
        { "uva.before_flush:delay,ns=5,us=5",
          "--inject 'uva.before_flush:delay,ns=5,us=5': point "
          "'uva.before_flush': delay: give one of ns=, us=, ms=" },
        { "uva.before_flush:yield,nth=0",
          "--inject 'uva.before_flush:yield,nth=0': point 'uva.before_flush': "
          "nth=0: expected a positive number" },
        { "uva.before_flush:yield,p=1.5",
          "--inject 'uva.before_flush:yield,p=1.5': point 'uva.before_flush': "
          "p=1.5: expected a probability 0..1 (or 0%..100%)" },
        { "uva.before_flush:yield,nth=2,every=3",
          "--inject 'uva.before_flush:yield,nth=2,every=3': point "
          "'uva.before_flush': nth= and every= exclude each other" },
        { "uva.before_flush:yield,ns=3",
          "--inject 'uva.before_flush:yield,ns=3': point 'uva.before_flush': "
          "yield: unknown parameter 'ns' (keys: p, count, nth, every, dom, "
          "vcpu)" },
        { "uva.before_flush:yield,count",
          "--inject 'uva.before_flush:yield,count': point 'uva.before_flush': "
          "yield: expected key=value, got 'count' (keys: p, count, nth, "
          "every, dom, vcpu)" },
        { "uva.before_flush:yield,dom=1,dom=2",
          "--inject 'uva.before_flush:yield,dom=1,dom=2': point "
          "'uva.before_flush': yield: 'dom' given twice" },
        { "uva.before_flush:delay,ns=1,mode=fast",
          "--inject 'uva.before_flush:delay,ns=1,mode=fast': point "
          "'uva.before_flush': delay: mode=fast: expected busy or sleep" },
    };
    char err[512];
    struct inj_plan *p = inj_plan_new();
    REQUIRE(inj_plan_add(p, "hcall.entry:yield", NULL, 0, err,
                         sizeof(err)) == 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        err[0] = '\0';
        CHECK_EQ(inj_plan_add(p, cases[i].in, NULL, 0, err, sizeof(err)), -1);
        if (strcmp(err, cases[i].msg) != 0)
            fprintf(stderr, "  got:  %s\n  want: %s\n", err, cases[i].msg);
        CHECK(strcmp(err, cases[i].msg) == 0);
    }
    CHECK_EQ(inj_plan_size(p), 1);
    /* An unknown point of a known subsystem lists its points. */
    CHECK_EQ(inj_plan_add(p, "ptwr.flush:yield", NULL, 0, err, sizeof(err)),
             -1);
    CHECK(strstr(err, "unknown point 'ptwr.flush' (points of that subsystem: "
                      "ptwr.emulate.before_write, ") != NULL);
    inj_plan_free(p);
}

/* A plan text: comments and blanks skipped; the first bad line stops it,
   named by file and line. */
static void t_parse_file(void)
{
    char err[512];
    struct inj_plan *p = inj_plan_new();
    const char *good = "# story C\n\n"
                       "traps.pf.before_bounce:yield   # widen it\n"
                       "  ptwr.flush.before_rehook:delay,us=20\n";
    CHECK_EQ(inj_plan_add_text(p, "c.plan", good, err, sizeof(err)), 0);
    CHECK_EQ(inj_plan_size(p), 2);
    const char *bad = "hcall.entry:yield\n#\nalloc.domheap:skip\n";
    CHECK_EQ(inj_plan_add_text(p, "bad.plan", bad, err, sizeof(err)), -1);
    CHECK(strcmp(err, "bad.plan:3: point 'alloc.domheap': cannot skip here "
                      "(this point can: delay, yield, fail)") == 0);
    CHECK_EQ(inj_plan_add_file(p, "/nonexistent/x.plan", err, sizeof(err)),
             -1);
    CHECK(strncmp(err, "/nonexistent/x.plan: cannot open plan:", 38) == 0);
    inj_plan_free(p);
}

/* ---- semantics under a fixed seed --------------------------------------- */

static struct inj_plan *plan_of(const char *const *specs, unsigned n)
{
    char err[512];
    struct inj_plan *p = inj_plan_new();
    for (unsigned i = 0; i < n; i++)
        if (inj_plan_add(p, specs[i], NULL, 0, err, sizeof(err)) != 0) {
            fprintf(stderr, "  %s\n", err);
            exit(1);
        }
    return p;
}

/* Hit hcall.entry n times as dom/vcpu; bit k of the result: hit k+1 failed. */
static uint64_t hits(unsigned n, unsigned dom, unsigned vcpu)
{
    uint64_t fired = 0;
    for (unsigned k = 0; k < n; k++)
        if (INJ_FAIL_AT(hcall_entry, dom, vcpu, 0) != 0)
            fired |= 1ULL << k;
    return fired;
}

/* nth fires once, every fires periodically, count caps the firings. */
static void t_nth_every_count(void)
{
    const char *nth[] = { "hcall.entry:fail,errno=EINVAL,nth=3" };
    struct inj_plan *p = plan_of(nth, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_HEX(hits(10, 1, 0), 1u << 2);
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 10);
    CHECK_EQ(inj_point_fires(INJP_hcall_entry), 1);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 7), 7);     /* rc passes through */
    inj_run_end();
    inj_plan_free(p);

    const char *every[] = { "hcall.entry:fail,errno=EINVAL,every=3" };
    p = plan_of(every, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_HEX(hits(10, 1, 0), (1u << 2) | (1u << 5) | (1u << 8));
    inj_run_end();
    inj_plan_free(p);

    const char *count[] = { "hcall.entry:fail,errno=EINVAL,count=2" };
    p = plan_of(count, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_HEX(hits(10, 1, 0), 3);
    CHECK_EQ(inj_binding_fires(0), 2);
    CHECK_EQ(inj_binding_hits(0), 10);
    /* The error is the one bound. */
    inj_run_end();
    REQUIRE(inj_run_begin(p, 1) == 0);     /* I2: a new run starts over */
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 0);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), -XEN_EINVAL);
    inj_run_end();
    inj_plan_free(p);

    /* Disarmed: nothing fires, nothing counts. */
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), 0);
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 1);
}

/* inj_run_release: disarmed, the points' counts kept, the bindings' gone;
   a plan freed after it is not looked at again, and the next run arms as
   usual. */
static void t_release(void)
{
    const char *count[] = { "hcall.entry:fail,errno=EINVAL,count=2" };
    struct inj_plan *p = plan_of(count, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_HEX(hits(5, 1, 0), 3);
    inj_run_release();
    inj_plan_free(p);
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 5);
    CHECK_EQ(inj_point_fires(INJP_hcall_entry), 2);
    CHECK_EQ(inj_binding_hits(0), 0);
    CHECK_EQ(inj_binding_fires(0), 0);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), 0);     /* disarmed */
    inj_run_release();                                  /* twice: harmless */
    p = plan_of(count, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 0);
    CHECK_HEX(hits(3, 1, 0), 3);
    CHECK_EQ(inj_binding_fires(0), 2);
    inj_run_end();
    inj_plan_free(p);
}

/* dom and vcpu filters: hits of others neither fire nor count toward nth. */
static void t_filters(void)
{
    const char *s[] = { "hcall.entry:fail,errno=EINVAL,dom=2,vcpu=1,nth=2" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 5) == 0);
    CHECK_EQ(hits(5, 1, 1), 0);
    CHECK_EQ(hits(5, 2, 0), 0);
    CHECK_EQ(inj_binding_hits(0), 0);
    CHECK_HEX(hits(3, 2, 1), 2);
    CHECK_EQ(inj_binding_hits(0), 3);
    CHECK_EQ(inj_point_hits(INJP_hcall_entry), 13);
    /* A site with no vCPU (INJ_ANY) does not match a vcpu filter. */
    CHECK_EQ(hits(3, 2, INJ_ANY), 0);
    inj_run_end();
    inj_plan_free(p);
}

/* p=0.3: the same seed fires on the same hits, another seed on others; the
   rate is about right. */
static void t_probability(void)
{
    const char *s[] = { "hcall.entry:fail,errno=EINVAL,p=0.3" };
    struct inj_plan *p = plan_of(s, 1);
    uint64_t a[16], b[16], c[16];
    unsigned fires = 0;
    REQUIRE(inj_run_begin(p, 42) == 0);
    for (unsigned i = 0; i < 16; i++)
        a[i] = hits(64, 1, 0);
    fires = (unsigned)inj_point_fires(INJP_hcall_entry);
    REQUIRE(inj_run_begin(p, 42) == 0);
    for (unsigned i = 0; i < 16; i++)
        b[i] = hits(64, 1, 0);
    REQUIRE(inj_run_begin(p, 43) == 0);
    for (unsigned i = 0; i < 16; i++)
        c[i] = hits(64, 1, 0);
    inj_run_end();
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    CHECK(memcmp(a, c, sizeof(a)) != 0);
    CHECK(fires > 1024 * 25 / 100 && fires < 1024 * 35 / 100);
    inj_plan_free(p);

    /* p=0 never, p=1 always. */
    const char *edge[] = { "hcall.entry:fail,errno=EINVAL,p=0",
                           "hcall.entry:fail,errno=EPERM,p=1" };
    p = plan_of(edge, 2);
    REQUIRE(inj_run_begin(p, 7) == 0);
    for (unsigned i = 0; i < 100; i++)
        CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), -XEN_EPERM);
    inj_run_end();
    inj_plan_free(p);
}

/* I3: the first fail/skip that fires decides; later ones are not tried for
   that hit; delays before it act. */
static void t_order(void)
{
    const char *s[] = { "hcall.entry:delay,ns=1",
                        "hcall.entry:fail,errno=EINVAL,every=2",
                        "hcall.entry:fail,errno=EPERM" };
    struct inj_plan *p = plan_of(s, 3);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), -XEN_EPERM);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), -XEN_EINVAL);
    CHECK_EQ(INJ_FAIL_AT(hcall_entry, 1, 0, 0), -XEN_EPERM);
    CHECK_EQ(inj_binding_fires(0), 3);
    CHECK_EQ(inj_binding_fires(1), 1);
    CHECK_EQ(inj_binding_hits(2), 2);
    CHECK_EQ(inj_point_fires(INJP_hcall_entry), 6);
    inj_run_end();
    inj_plan_free(p);
}

/* A yield binding goes through the scheduler's SP_INJECT point. */
static unsigned inject_points;
static void count_inject(enum sched_point why)
{
    inject_points += why == SP_INJECT;
}
static void t_yield(void)
{
    const char *s[] = { "hcall.entry:yield,nth=2" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    hv_sched_hook = count_inject;
    hits(4, 1, 0);
    hv_sched_hook = NULL;
    CHECK_EQ(inject_points, 1);
    inj_run_end();
    inj_plan_free(p);
}

/* ---- injections at real points ------------------------------------------ */

/* alloc.domheap fails the 5th allocation of a 10-page populate: the
   populate is -ENOMEM, takes nothing, and the machine gets everything
   back. */
static void t_alloc_populate(void)
{
    struct machine *m;
    struct hv_options opt;
    hv_options_default(&opt);
    REQUIRE(machine_create(16ULL << 20, 0, &opt, &m) == 0);
    uint64_t free0 = m->nr_free;
    struct domain *d = fix_domain_new(m, 1, 1, 64, false);
    REQUIRE(d);
    const char *s[] = { "alloc.domheap:fail,errno=ENOMEM,nth=5" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    mfn_t mfns[10];
    CHECK_EQ(domctl_populate(d, 0, 10, mfns), -XEN_ENOMEM);
    CHECK_EQ(atomic_load(&d->tot_pages), 0);
    CHECK_EQ(inj_point_hits(INJP_alloc_domheap), 5);
    CHECK_EQ(mm_audit(m, stderr), 0);
    /* The next populate works (nth fired already). */
    CHECK_EQ(domctl_populate(d, 0, 10, mfns), 0);
    inj_run_end();
    CHECK_EQ(domain_destroy(d), 0);
    CHECK_EQ(mm_audit(m, stderr), 0);
    CHECK_EQ(m->nr_free, free0);
    machine_destroy(m);
    inj_plan_free(p);
}

/* A guest's populate_physmap meets the failure: the call returns the
   extents done (Xen's way of reporting it), nothing leaks. */
static void t_alloc_guest_memory_op(void)
{
    REQUIRE(fix_setup(&f, NULL) == 0);
    xen_pfn_t pfns[4] = { 100, 101, 102, 103 };
    uint64_t list = fix_put(&f, 0, pfns, sizeof(pfns));
    struct xen_memory_reservation r = {
        .nr_extents = 4, .extent_order = 0, .domid = DOMID_SELF,
    };
    r.extent_start.p = (xen_pfn_t *)(uintptr_t)list;
    uint64_t arg = fix_put(&f, 4096, &r, sizeof(r));
    uint64_t tot = atomic_load(&f.d->tot_pages);
    const char *s[] = { "alloc.domheap:fail,nth=3,dom=1" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                       arg, 0, 0, 0), 2);
    inj_run_end();
    CHECK_EQ(atomic_load(&f.d->tot_pages), tot + 2);
    CHECK_EQ(inj_point_fires(INJP_alloc_domheap), 1);
    CHECK_EQ(fix_teardown(&f), 0);
    inj_plan_free(p);
}

/* Writable pagetables, unhook mode: skipping ptwr.unhook.before_open makes
   the write that would open a batch emulated instead - no batch, no fault
   for the guest, references right, audit clean. */
#define DATA_RW     (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define DATA_RO     (_PAGE_PRESENT | _PAGE_ACCESSED)
static long update(mfn_t table, unsigned slot, uint64_t val)
{
    struct mmu_update r = { (table << PAGE_SHIFT) + slot * 8, val };
    uint64_t p = fix_put(&f, 0, &r, sizeof(r));
    return hypercall(f.v, __HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF, 0);
}
static void t_skip_unhook_open(void)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.ptwr_mode = PTWR_UNHOOK;
    REQUIRE(fix_setup(&f, &cfg) == 0);
    REQUIRE(hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                      VMASST_TYPE_writable_pagetables, 0, 0, 0) == 0);
    mfn_t l1b = fix_spare(&f, 0), a = fix_spare(&f, 3), b = fix_spare(&f, 4);
    REQUIRE(update(f.l2, 1, pte_make(l1b, DATA_RW)) == 0);
    REQUIRE(update(l1b, 0, pte_make(fix_spare(&f, 1), DATA_RW)) == 0);
    REQUIRE(update(f.l1, 20, pte_make(l1b, DATA_RO)) == 0);

    const char *s[] = { "ptwr.unhook.before_open:skip" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    uint64_t l1b_va = fix_data_va(20);
    CHECK_EQ(mmu_store(f.v, l1b_va + 8, 8, pte_make(a, DATA_RW)), MMU_OK);
    CHECK_EQ(mmu_store(f.v, l1b_va + 16, 8, pte_make(b, DATA_RW)), MMU_OK);
    inj_run_end();
    struct ptwr_stats st;
    ptwr_stats(f.d, &st);
    CHECK_EQ(st.nr_batches, 0);
    CHECK_EQ(st.nr_emulated, 2);
    CHECK(!st.open_active);
    CHECK_EQ(inj_point_fires(INJP_ptwr_unhook_before_open), 1);
    CHECK(pte_present(fix_entry(&f, f.l2, 1)));
    CHECK_EQ(fix_tcount(&f, a), 1);
    CHECK_EQ(fix_tcount(&f, b), 1);
    CHECK_EQ(f.v->nr_faults_bounced, 0);
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(fix_teardown(&f), 0);
    inj_plan_free(p);
}

/* hcall.preempt forces a continuation after every request of an 8-request
   mmu_update batch: 7 continuations, and the same final tables and counts
   as the batch run in one pass. */
static unsigned preempts;
static void count_preempt(enum sched_point why)
{
    preempts += why == SP_PREEMPT;
}
static void run_batch(bool forced, pte_t out[8], uint64_t counts[8],
                      unsigned *nr_preempts)
{
    REQUIRE(fix_setup(&f, NULL) == 0);
    struct mmu_update req[8];
    for (unsigned k = 0; k < 8; k++) {
        req[k].ptr = (f.l1 << PAGE_SHIFT) + (32 + k) * 8 + MMU_NORMAL_PT_UPDATE;
        req[k].val = pte_make(fix_spare(&f, k), k & 1 ? DATA_RO : DATA_RW);
    }
    uint64_t reqs = fix_put(&f, 0, req, sizeof(req));
    unsigned done = 0;
    uint64_t pdone = fix_put(&f, 8192, &done, sizeof(done));
    const char *s[] = { "hcall.preempt:fail" };
    struct inj_plan *p = plan_of(s, 1);
    if (forced)
        REQUIRE(inj_run_begin(p, 1) == 0);
    preempts = 0;
    hv_sched_hook = count_preempt;
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmu_update, reqs, 8, pdone,
                       DOMID_SELF, 0), 0);
    hv_sched_hook = NULL;
    inj_run_end();
    fix_get(&f, 8192, &done, sizeof(done));
    CHECK_EQ(done, 8);
    *nr_preempts = preempts;
    for (unsigned k = 0; k < 8; k++) {
        /* As pfn-relative values: the two runs' machines are alike. */
        out[k] = fix_entry(&f, f.l1, 32 + k) - (fix_spare(&f, k) << PAGE_SHIFT);
        counts[k] = fix_count(&f, fix_spare(&f, k)) << 32 |
                    fix_tcount(&f, fix_spare(&f, k));
    }
    CHECK_EQ(fix_teardown(&f), 0);
    inj_plan_free(p);
}
static void t_preempt_batch(void)
{
    pte_t plain[8], forced[8];
    uint64_t cp[8], cf[8];
    unsigned np, nf;
    run_batch(false, plain, cp, &np);
    run_batch(true, forced, cf, &nf);
    CHECK_EQ(np, 0);
    CHECK_EQ(nf, 7);
    CHECK(memcmp(plain, forced, sizeof(plain)) == 0);
    CHECK(memcmp(cp, cf, sizeof(cp)) == 0);
    CHECK_EQ(inj_point_fires(INJP_hcall_preempt), 7);
}

/* tlb.remote_flush.deliver skip: a remote flush to a vCPU that is inside an
   access returns at once, before the target honoured it (its TLB still
   holds the old translation and the request is pending); without the
   injection the requester waits for the target. */
struct requester { struct vcpu *from, *to; _Atomic bool done; };
static void *request_flush(void *arg)
{
    struct requester *rq = arg;
    current = rq->from;
    mmu_request_flush(rq->to, MMU_FLUSH_ALL_VA);
    atomic_store(&rq->done, true);
    return NULL;
}
static void t_remote_flush_late(void)
{
    struct fix_config cfg = { .nr_vcpus = 2 };
    REQUIRE(fix_setup(&f, &cfg) == 0);
    struct vcpu *t = f.d->vcpu[1];
    uint64_t val;
    /* The target caches a translation of a data page. */
    current = t;
    REQUIRE(mmu_load(t, fix_data_va(5), 8, &val) == MMU_OK);
    current = f.v;
    uint64_t vpn = fix_data_va(5) >> PAGE_SHIFT;
    const struct tlb_entry *e = &t->tlb.e[vpn & (TLB_ENTRIES - 1)];
    REQUIRE(e->vpn == vpn && (e->flags & TLB_VALID));

    /* The target is inside an access (its window is open). */
    uint32_t seq = atomic_load(&t->tlb.access_seq);
    atomic_store(&t->tlb.access_seq, seq | 1);

    const char *s[] = { "tlb.remote_flush.deliver:skip,vcpu=1" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 1) == 0);
    mmu_request_flush(t, MMU_FLUSH_ALL_VA);         /* returns: late */
    inj_run_end();
    CHECK_EQ(inj_point_fires(INJP_tlb_remote_flush_deliver), 1);
    CHECK(atomic_load(&t->tlb.flush_pending) != 0);
    CHECK(e->vpn == vpn && (e->flags & TLB_VALID));
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 0);

    /* Control: without the injection the requester waits for the target. */
    struct requester rq = { .from = f.v, .to = t, .done = false };
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, request_flush, &rq) == 0);
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    CHECK(!atomic_load(&rq.done));
    atomic_store(&t->tlb.access_seq, (seq | 1) + 1);    /* access ends */
    pthread_join(th, NULL);
    CHECK(atomic_load(&rq.done));
    CHECK_EQ(atomic_load(&t->tlb.ipi_waits), 1);

    /* The target honours the requests at its next access. */
    current = t;
    mmu_sync_requests(t);
    CHECK_EQ(atomic_load(&t->tlb.flush_pending), 0);
    CHECK(!(e->flags & TLB_VALID));
    current = f.v;
    CHECK_EQ(fix_teardown(&f), 0);
    inj_plan_free(p);
}

/* --inject-stats: every point's counts round-trip through the file. */
static void t_stats_file(void)
{
    const char *s[] = { "hcall.entry:fail,errno=EINVAL,nth=2" };
    struct inj_plan *p = plan_of(s, 1);
    REQUIRE(inj_run_begin(p, 9) == 0);
    hits(3, 1, 0);
    inj_run_end();
    char path[] = "/tmp/hvlab-inject-stats-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    CHECK_EQ(inj_stats_write(fp, 9), 0);
    fclose(fp);
    uint64_t h[INJ_NR_POINTS], fi[INJ_NR_POINTS];
    char err[256];
    CHECK_EQ(inj_stats_read(path, h, fi, err, sizeof(err)), 0);
    CHECK_EQ(h[INJP_hcall_entry], 3);
    CHECK_EQ(fi[INJP_hcall_entry], 1);
    CHECK_EQ(h[INJP_alloc_domheap], 0);
    unlink(path);
    inj_plan_free(p);
}

static const struct test tests[] = {
    { "catalog: unique well-formed names, a place, a window and actions each", t_catalog },
    { "plan: good bindings print back canonically and re-parse", t_parse_good },
    { "plan: bad bindings are refused with exact messages, plan unchanged", t_parse_bad },
    { "plan: a plan text names the file and line of its first bad binding", t_parse_file },
    { "semantics: nth fires once, every periodically, count caps; runs reset", t_nth_every_count },
    { "semantics: a released run is disarmed, keeps the point counts and "
      "drops the binding counts; the next run arms as usual", t_release },
    { "semantics: dom/vcpu filters gate firing and nth counting", t_filters },
    { "semantics: probability draws are a function of the seed and hit", t_probability },
    { "semantics: the first fail that fires decides; delays act first", t_order },
    { "yield: a yield binding reaches the scheduler at SP_INJECT", t_yield },
    { "alloc.domheap fail: populate is -ENOMEM, takes nothing, no leak", t_alloc_populate },
    { "alloc.domheap fail: a guest's populate_physmap stops short, no leak", t_alloc_guest_memory_op },
    { "ptwr.unhook.before_open skip: the write is emulated, no batch, clean", t_skip_unhook_open },
    { "hcall.preempt: forced continuations reach the same final state", t_preempt_batch },
    { "tlb.remote_flush.deliver skip: the flush returns before the target honoured it", t_remote_flush_late },
    { "inject stats: counts round-trip through the stats file", t_stats_file },
};

TEST_MAIN(tests)
