/*
 * tests/unit/test-sched-det.c - det mode: vCPUs as coroutines on one thread,
 * seeded strategies, waiting, deadlock detection, schedules and replay.
 *
 * The vCPUs here are bare (no domain): their entries are small programs
 * made of scheduling points, locks and wait loops, and they log the order
 * in which they ran, which is the interleaving under test.
 */
#include <pthread.h>
#include <sys/resource.h>

#include "core/coro.h"
#include "core/lock.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "tests/unit/test.h"

#define NV          4
#define STEPS       200
#define ORDER_MAX   (NV * STEPS * 4 + 64)

/* What ran, in order: one vCPU id per step taken. */
static unsigned order[ORDER_MAX];
static unsigned order_n;
static struct vcpu *seen_current[NV];
static pthread_t seen_thread[NV];

static void log_step(struct vcpu *v)
{
    if (order_n < ORDER_MAX)
        order[order_n++] = v->vcpu_id;
}

/* STEPS hypercall-like points, logging each. */
static void prog_steps(struct vcpu *v, void *arg)
{
    (void)arg;
    seen_current[v->vcpu_id] = current;
    seen_thread[v->vcpu_id] = pthread_self();
    for (unsigned i = 0; i < STEPS; i++) {
        log_step(v);
        sched_point(SP_HCALL_ENTRY);
        if (current != v)
            order_n = ORDER_MAX + 1;    /* poison: current did not follow */
    }
}

static void make_vcpus(struct vcpu **v, unsigned n, vcpu_entry_fn fn, void *arg)
{
    for (unsigned i = 0; i < n; i++) {
        v[i] = vcpu_alloc(NULL, i);
        REQUIRE(v[i] != NULL);
        v[i]->entry = fn;
        v[i]->entry_arg = arg;
    }
}

static void free_vcpus(struct vcpu **v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        vcpu_free(v[i]);
}

/* Run prog_steps under cfg; the order's length, the schedule's hash. */
static uint64_t run_steps(struct sched_config *cfg, unsigned *len)
{
    struct vcpu *v[NV];
    struct sched_report rep;
    make_vcpus(v, NV, prog_steps, NULL);
    order_n = 0;
    cfg->mode = SCHED_DET;
    cfg->report = &rep;
    CHECK_EQ(sched_run(cfg, v, NV), 0);
    free_vcpus(v, NV);
    *len = order_n;
    return rep.schedule_hash;
}

/* ---- running ---------------------------------------------------------- */

/* 4 vCPUs run to completion on the caller's thread, current following. */
static void t_det_runs_all(void)
{
    struct vcpu *v[NV];
    struct sched_report rep;
    make_vcpus(v, NV, prog_steps, NULL);
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 3, .report = &rep };
    CHECK_EQ(sched_run(&cfg, v, NV), 0);
    CHECK_EQ(order_n, NV * STEPS);
    for (unsigned i = 0; i < NV; i++) {
        CHECK(seen_current[i] == v[i]);
        CHECK(pthread_equal(seen_thread[i], pthread_self()));
    }
    CHECK(current == NULL);
    CHECK(!hv_sched_coop);
    CHECK(hv_sched_hook == NULL);
    /* a decision per point, plus the first and one per vCPU that ended
       before the last */
    CHECK_EQ(rep.decisions, NV * STEPS + NV);
    CHECK(rep.switches > STEPS);            /* random: it interleaves */
    free_vcpus(v, NV);
    CHECK_EQ(sched_run(&cfg, v, 0), 0);
}

/* The same seed gives the same interleaving; another seed another one. */
static void t_det_same_seed(void)
{
    static unsigned first[ORDER_MAX];
    unsigned n1, n2, n3;
    struct sched_config cfg = { .seed = 11 };
    uint64_t h1 = run_steps(&cfg, &n1);
    memcpy(first, order, sizeof(first));
    uint64_t h2 = run_steps(&cfg, &n2);
    CHECK_EQ(n1, n2);
    CHECK(memcmp(first, order, n1 * sizeof(order[0])) == 0);
    CHECK_HEX(h1, h2);
    cfg.seed = 12;
    uint64_t h3 = run_steps(&cfg, &n3);
    CHECK(h3 != h1);
}

/* PCT: same seed, same run; its bound is 1/(n k^(d-1)). */
static void t_det_pct(void)
{
    struct vcpu *v[NV];
    struct sched_report rep;
    static unsigned first[ORDER_MAX];
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 5,
                                .strategy = SCHED_PCT, .pct_depth = 3,
                                .pct_steps = 1000, .report = &rep };
    make_vcpus(v, NV, prog_steps, NULL);
    order_n = 0;
    CHECK_EQ(sched_run(&cfg, v, NV), 0);
    unsigned n1 = order_n;
    memcpy(first, order, sizeof(first));
    CHECK_EQ(rep.strategy, SCHED_PCT);
    CHECK(rep.pct_bound > 0.99 / (4.0 * 1e6) && rep.pct_bound < 1.01 / (4.0 * 1e6));
    /* Priorities: the run is long stretches of one vCPU (at most d-1 = 2
       priority changes, plus each vCPU's end). */
    CHECK(rep.switches <= 2 + NV);
    order_n = 0;
    CHECK_EQ(sched_run(&cfg, v, NV), 0);
    CHECK_EQ(order_n, n1);
    CHECK(memcmp(first, order, n1 * sizeof(order[0])) == 0);
    free_vcpus(v, NV);
}

/* ---- point pairs (D9) ------------------------------------------------- */

/* v0 yields at injection point 7, then 3 hypercall entries; v1 makes 3
   hypercall entries of hypercall 5. */
static void prog_pairs(struct vcpu *v, void *arg)
{
    (void)arg;
    if (v->vcpu_id == 0)
        sched_point_at(SP_INJECT, 7);
    for (unsigned i = 0; i < 3; i++)
        sched_point_at(SP_HCALL_ENTRY, v->vcpu_id == 0 ? 0 : 5);
}

static void run_pairs(uint64_t seed, uint8_t *pairs)
{
    struct vcpu *v[2];
    make_vcpus(v, 2, prog_pairs, NULL);
    memset(pairs, 0, SCHED_PAIR_SLOTS);
    struct sched_config cfg = { .mode = SCHED_DET, .seed = seed,
                                .pairs = pairs };
    CHECK_EQ(sched_run(&cfg, v, 2), 0);
    free_vcpus(v, 2);
}

/* D9: every point reached beside a live vCPU counts one pair; the same
   seed gives the same counts, other interleavings other pairs. */
static void t_det_pairs(void)
{
    static uint8_t a[SCHED_PAIR_SLOTS], b[SCHED_PAIR_SLOTS];
    static uint8_t seen[SCHED_PAIR_SLOTS];
    unsigned distinct_runs = 0, union_slots = 0, max_slots = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        run_pairs(seed, a);
        run_pairs(seed, b);
        CHECK(memcmp(a, b, sizeof(a)) == 0);
        unsigned total = 0, slots = 0, fresh = 0;
        for (unsigned i = 0; i < SCHED_PAIR_SLOTS; i++) {
            total += a[i];
            slots += a[i] != 0;
            if (a[i] && !seen[i]) {
                seen[i] = 1;
                fresh++;
                union_slots++;
            }
        }
        /* 7 points in all; the last vCPU's points after the other ended
           pair with nobody. */
        CHECK(total >= 1 && total <= 7);
        distinct_runs += fresh != 0;
        if (slots > max_slots)
            max_slots = slots;
    }
    CHECK(distinct_runs > 1);
    CHECK(union_slots > max_slots);
    /* Without counters nothing is written and the run is the same. */
    struct vcpu *v[2];
    make_vcpus(v, 2, prog_pairs, NULL);
    struct sched_report r1, r2;
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 3, .report = &r1 };
    CHECK_EQ(sched_run(&cfg, v, 2), 0);
    cfg.report = &r2;
    cfg.pairs = a;
    CHECK_EQ(sched_run(&cfg, v, 2), 0);
    CHECK_HEX(r1.schedule_hash, r2.schedule_hash);
    free_vcpus(v, 2);
}

/* ---- waiting ------------------------------------------------------------ */

static hv_lock_t det_lock = HV_LOCK_INITIALIZER("test.det", LOCK_LEAF);
static uint64_t counter;        /* det_lock */

static void prog_locked_incr(struct vcpu *v, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < STEPS; i++) {
        hv_lock(&det_lock);
        CHECK_EQ(hv_lock_held_count(), 1);
        uint64_t c = counter;
        sched_point(SP_MEM);        /* switch inside the critical section */
        counter = c + 1;
        hv_unlock(&det_lock);
        CHECK_EQ(hv_lock_held_count(), 0);
        log_step(v);
    }
}

/* A busy lock yields to its holder; the held-lock record follows the vCPU. */
static void t_det_lock(void)
{
    struct vcpu *v[NV];
    struct sched_report rep;
    make_vcpus(v, NV, prog_locked_incr, NULL);
    counter = 0;
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 9, .report = &rep,
                                .deadlock_after = 1000 };
    CHECK_EQ(sched_run(&cfg, v, NV), 0);
    CHECK_EQ(counter, NV * STEPS);
    CHECK(rep.spin_decisions > 0);          /* someone found it busy */
    /* D3: a waiter re-checks once per round of the others, never in a
       loop alone: spins are a minority of the decisions. */
    CHECK(rep.spin_decisions < rep.decisions / 2);
    CHECK_EQ(hv_lock_held_count(), 0);
    CHECK(!hv_lock_is_locked(&det_lock));
    free_vcpus(v, NV);
}

static _Atomic bool never;

static void prog_wait_forever(struct vcpu *v, void *arg)
{
    (void)arg;
    if (v->vcpu_id == 0)
        hv_lock(&det_lock);
    while (!atomic_load(&never))
        hv_relax();
}

/* Every vCPU waiting for ever is a deadlock, reported with the locks held. */
static void t_det_deadlock(void)
{
    struct vcpu *v[2];
    struct sched_report rep;
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    REQUIRE(err != NULL);
    make_vcpus(v, 2, prog_wait_forever, NULL);
    struct sched_config cfg = { .mode = SCHED_DET, .seed = 1, .report = &rep,
                                .deadlock_after = 500, .err = err };
    CHECK_EQ(sched_run(&cfg, v, 2), -XEN_EDEADLK);
    fclose(err);
    CHECK(rep.deadlock);
    CHECK(strstr(text, "DEADLOCK") != NULL);
    CHECK(strstr(text, "'test.det' (level 90)") != NULL);
    CHECK(strstr(text, "waiting at a spin point") != NULL);
    CHECK(current == NULL);
    CHECK(!hv_sched_coop);
    free(text);
}

/* ---- schedules -------------------------------------------------------------- */

/* A recorded schedule replays the same interleaving under another seed. */
static void t_det_replay(void)
{
    static unsigned first[ORDER_MAX];
    struct sched_log *rec = sched_log_new();
    REQUIRE(rec != NULL);
    unsigned n1, n2;
    struct sched_config cfg = { .seed = 21, .record = rec };
    uint64_t h1 = run_steps(&cfg, &n1);
    memcpy(first, order, sizeof(first));
    CHECK_EQ(sched_log_vcpus(rec), NV);
    CHECK_HEX(sched_log_hash(rec), h1);

    /* Through a file and back. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    REQUIRE(f != NULL);
    CHECK_EQ(sched_log_write(rec, "test", f), 0);
    fclose(f);
    f = fmemopen(text, len, "r");
    char why[256];
    struct sched_log *back = sched_log_read(f, "mem", why, sizeof(why));
    fclose(f);
    REQUIRE(back != NULL);
    CHECK_HEX(sched_log_hash(back), h1);
    CHECK_EQ(sched_log_decisions(back), sched_log_decisions(rec));

    struct sched_report rep;
    struct sched_config rp = { .seed = 999, .replay = back };
    uint64_t h2 = run_steps(&rp, &n2);
    (void)rep;
    CHECK_HEX(h2, h1);
    CHECK_EQ(n2, n1);
    CHECK(memcmp(first, order, n1 * sizeof(order[0])) == 0);
    sched_log_free(back);
    sched_log_free(rec);
    free(text);
}

/* A schedule for other vCPUs is refused; a short one diverges, loudly. */
static void t_det_replay_mismatch(void)
{
    const char *two = "hvlab-schedule 1\nvcpus 2\ndecisions 3\n---\n0 1x2\n";
    char why[256];
    FILE *f = fmemopen((void *)two, strlen(two), "r");
    struct sched_log *l = sched_log_read(f, "two", why, sizeof(why));
    fclose(f);
    REQUIRE(l != NULL);
    struct vcpu *v[NV];
    make_vcpus(v, NV, prog_steps, NULL);
    FILE *err = fopen("/dev/null", "w");
    struct sched_config cfg = { .mode = SCHED_DET, .replay = l, .err = err };
    CHECK_EQ(sched_run(&cfg, v, NV), -XEN_EINVAL);
    struct sched_report rep;
    cfg.report = &rep;
    CHECK_EQ(sched_run(&cfg, v, 2), 0);
    CHECK(rep.diverged);
    fclose(err);
    sched_log_free(l);
    free_vcpus(v, NV);
}

/* Malformed schedule files are refused naming the line. */
static void t_sched_log_errors(void)
{
    static const struct { const char *text, *why; } bad[] = {
        { "vcpus 2\n", "mem:1: not a schedule file" },
        { "hvlab-schedule 1\nvcpus 2\n---\n", "mem:3: '---' before" },
        { "hvlab-schedule 1\nvcpus 2\ndecisions 1\n---\n2\n", "mem:5: '2': expected a vCPU index below 2" },
        { "hvlab-schedule 1\nvcpus 2\ndecisions 1\n---\n1x0\n", "mem:5: '1x0': expected V or VxN" },
        { "hvlab-schedule 1\nvcpus 2\ndecisions 5\n---\n1x2\n", "header says 5 decisions, the body holds 2" },
        { "hvlab-schedule 1\nvcpus 2\ndecisions 1\nhash 0x1\n---\n1\n", "hash mismatch" },
        { "hvlab-schedule 1\nfrob 2\n", "mem:2: unknown key 'frob'" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char why[256] = "";
        FILE *f = fmemopen((void *)bad[i].text, strlen(bad[i].text), "r");
        struct sched_log *l = sched_log_read(f, "mem", why, sizeof(why));
        fclose(f);
        CHECK(l == NULL);
        if (!strstr(why, bad[i].why)) {
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, why, bad[i].why);
            test_failures++;
        }
        sched_log_free(l);
    }
}

/* Configurations det mode cannot run are -EINVAL, explained. */
static void t_det_bad_config(void)
{
    struct vcpu *v[NV];
    make_vcpus(v, NV, prog_steps, NULL);
    FILE *err = fopen("/dev/null", "w");
    struct sched_config cfg = { .mode = SCHED_DET, .mem_quantum = 48, .err = err };
    CHECK_EQ(sched_run(&cfg, v, NV), -XEN_EINVAL);
    cfg.mem_quantum = 0;
    cfg.strategy = (enum sched_strategy)7;
    CHECK_EQ(sched_run(&cfg, v, NV), -XEN_EINVAL);
    fclose(err);
    free_vcpus(v, NV);
}

/* ---- coroutines ------------------------------------------------------------ */

static struct coro co_main, co_a;
static unsigned co_trace[8], co_n;

static void co_fn(void *arg)
{
    (void)arg;
    co_trace[co_n++] = 1;
    coro_switch(&co_a, &co_main);
    co_trace[co_n++] = 3;
    coro_switch(&co_a, &co_main);
    abort();                        /* never resumed a third time */
}

/* A coroutine switches back and forth with the thread's own stack. */
static void t_coro_switch(void)
{
    REQUIRE(coro_init(&co_a, 0, co_fn, NULL) == 0);
    coro_switch(&co_main, &co_a);
    co_trace[co_n++] = 2;
    coro_switch(&co_main, &co_a);
    CHECK_EQ(co_n, 3);
    CHECK_EQ(co_trace[0], 1);
    CHECK_EQ(co_trace[1], 2);
    CHECK_EQ(co_trace[2], 3);
    coro_destroy(&co_a);
}

static unsigned __attribute__((noinline)) recurse(unsigned depth)
{
    volatile char pad[1024];
    pad[0] = (char)depth;
    return depth ? recurse(depth - 1) + pad[0] : 0;
}

static void co_overflow(void *arg)
{
    (void)arg;
    recurse(100000);                /* ~100 MiB of frames */
    coro_switch(&co_a, &co_main);
}

/* Overflowing a coroutine's stack hits the guard page (SIGSEGV). */
static void t_coro_guard(void)
{
    sigset_t saved;
    lttng_ust_before_fork(&saved);
    pid_t pid = fork();
    if (pid == 0) {
        lttng_ust_after_fork_child(&saved);
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        if (coro_init(&co_a, 64 * 1024, co_overflow, NULL) != 0)
            _exit(2);
        coro_switch(&co_main, &co_a);
        _exit(0);
    }
    lttng_ust_after_fork_parent(&saved);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

static const struct test tests[] = {
    { "det runs every vCPU to completion on the caller's thread, current following", t_det_runs_all },
    { "the same seed gives the same interleaving, another seed another", t_det_same_seed },
    { "PCT runs by priorities, repeats with its seed and reports 1/(n k^(d-1))", t_det_pct },
    { "a busy lock yields to its holder and the held-lock record follows the vCPU", t_det_lock },
    { "point pairs: counted beside a live vCPU, the same for a seed, new "
      "pairs from other interleavings, the schedule unchanged", t_det_pairs },
    { "every vCPU waiting for ever is a deadlock, reported with the locks held", t_det_deadlock },
    { "a recorded schedule, written and read back, replays the same interleaving", t_det_replay },
    { "a schedule for other vCPUs is refused and a short one diverges", t_det_replay_mismatch },
    { "malformed schedule files are refused naming the line", t_sched_log_errors },
    { "configurations det mode cannot run are -EINVAL", t_det_bad_config },
    { "a coroutine switches back and forth with the thread's own stack", t_coro_switch },
    { "overflowing a coroutine's stack hits the guard page", t_coro_guard },
};

TEST_MAIN(tests)
