/*
 * tests/unit/test-hypercall.c - the hypercall boundary (core/hypercall.c):
 * dispatch by Xen's numbers, -ENOSYS for the rest, scheduling points,
 * continuations and the preemption budget.
 */
#include "core/hypercall.h"
#include "core/lock.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

static struct pv_fixture f;

static void setup_budget(unsigned budget)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.preempt_budget = budget;
    REQUIRE(fix_setup(&f, &cfg) == 0);
}
static void teardown(void) { CHECK_EQ(fix_teardown(&f), 0); }

static unsigned points[SP_NR];
static void count_points(enum sched_point why) { points[why]++; }

/* Numbers hvlab does not implement, and out-of-range ones: -ENOSYS. */
static void t_enosys(void)
{
    setup_budget(0);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0),
             -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_physdev_op, 0, 0, 0, 0, 0),
             -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.v, 4096, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.v, ~0u, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    teardown();
}

/* Every call passes one entry and one exit scheduling point and is
   counted; the vCPU is not left "in a hypercall". */
static void t_entry_exit(void)
{
    setup_budget(0);
    uint64_t n = f.v->nr_hypercalls;
    hv_sched_hook = count_points;
    hypercall(f.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
              VMASST_TYPE_writable_pagetables, 0, 0, 0);
    hypercall(f.v, 77, 0, 0, 0, 0, 0);
    hv_sched_hook = NULL;
    CHECK_EQ(points[SP_HCALL_ENTRY], 2);
    CHECK_EQ(points[SP_HCALL_EXIT], 2);
    CHECK_EQ(points[SP_PREEMPT], 0);
    CHECK_EQ(f.v->nr_hypercalls, n + 2);
    CHECK(!f.v->in_hypercall);
    teardown();
}

/* Budget 0 never preempts; budget 3 says "stop" at every third check. */
static void t_preempt_budget(void)
{
    setup_budget(0);
    for (unsigned i = 0; i < 100; i++)
        CHECK(!hypercall_preempt_check(f.v));
    f.m->opt.preempt_budget = 3;
    f.v->preempt_work = 0;
    unsigned yes = 0;
    for (unsigned i = 0; i < 9; i++)
        yes += hypercall_preempt_check(f.v);
    CHECK_EQ(yes, 3);
    CHECK(!hypercall_preempt_check(NULL));
    teardown();
}

/* A handler's continuation is re-issued by the dispatcher (one SP_PREEMPT
   per re-issue) until it completes; the guest sees one call. */
static void t_continuation(void)
{
    setup_budget(1);
    struct mmuext_op ops[5];
    memset(ops, 0, sizeof(ops));
    for (unsigned i = 0; i < 5; i++)
        ops[i].cmd = MMUEXT_TLB_FLUSH_LOCAL;
    uint64_t p = fix_put(&f, 0, ops, sizeof(ops));
    unsigned done = 0;
    uint64_t pd = fix_put(&f, 8192, &done, sizeof(done));
    memset(points, 0, sizeof(points));
    hv_sched_hook = count_points;
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, p, 5, pd, DOMID_SELF, 0),
             0);
    hv_sched_hook = NULL;
    CHECK_EQ(points[SP_PREEMPT], 4);
    CHECK_EQ(points[SP_HCALL_ENTRY], 1);
    fix_get(&f, 8192, &done, sizeof(done));
    CHECK_EQ(done, 5);
    CHECK(!f.v->cont.pending);
    teardown();
}

/* hypercall_create_continuation records the op and arguments. */
static void t_create_continuation(void)
{
    setup_budget(0);
    CHECK_EQ(hypercall_create_continuation(f.v, 26, 1, 2, 3, 4, 5), 26);
    CHECK(f.v->cont.pending);
    CHECK_EQ(f.v->cont.op, 26);
    CHECK_EQ(f.v->cont.args[2], 3);
    f.v->cont.pending = false;
    teardown();
}

/* An HVM domain cannot use the PV-only page-table calls. */
static void t_hvm_pv_only(void)
{
    setup_budget(0);
    f.d->kind = DOMAIN_HVM;
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmu_update, 0, 0, 0, DOMID_SELF, 0),
             -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_update_va_mapping, 0, 0, 0, 0, 0),
             -XEN_ENOSYS);
    struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    uint64_t p = fix_put(&f, 0, &op, sizeof(op));
    CHECK_EQ(hypercall(f.v, __HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF, 0),
             -XEN_EINVAL);                   /* the page owner is not PV */
    f.d->kind = DOMAIN_PV;
    teardown();
}

static const struct test tests[] = {
    { "unimplemented and out-of-range hypercall numbers are -ENOSYS", t_enosys },
    { "every hypercall passes one entry and one exit scheduling point", t_entry_exit },
    { "the preemption budget: 0 never, N every Nth check", t_preempt_budget },
    { "a preempted batch is re-issued until done, seen by the guest as one call", t_continuation },
    { "hypercall_create_continuation records the call to re-issue", t_create_continuation },
    { "an HVM domain gets -ENOSYS for the PV-only page-table calls", t_hvm_pv_only },
};
TEST_MAIN(tests)
