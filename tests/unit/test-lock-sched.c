/*
 * tests/unit/test-lock-sched.c - hypervisor locks, lock order, scheduling
 * points and running vCPUs on threads.
 *
 * Lock-order checking is on in this build (core/lock.c enables it unless
 * NDEBUG); the violation tests run the offending code in a child and check
 * that it aborted naming both locks.
 */
#include <pthread.h>

#include "core/lock.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "tests/unit/test.h"

#ifdef NDEBUG
#error "these tests need lock-order checking (built without NDEBUG)"
#endif

static unsigned sp_seen[SP_NR];
static void sp_count(enum sched_point why)
{
    __atomic_fetch_add(&sp_seen[why], 1, __ATOMIC_RELAXED);
}

/* ---- locks ------------------------------------------------------------ */

static hv_lock_t counter_lock = HV_LOCK_INITIALIZER("test.counter", LOCK_LEAF);
static uint64_t counter;            /* protected by counter_lock */

#define CONTENDERS  4
#define INCREMENTS  200000

static void *contender(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < INCREMENTS; i++) {
        hv_lock(&counter_lock);
        uint64_t c = counter;       /* a non-atomic read-modify-write */
        __asm__ __volatile__("" ::: "memory");
        counter = c + 1;
        hv_unlock(&counter_lock);
    }
    return NULL;
}

/* 4 threads incrementing under one lock lose no increment. */
static void t_lock_contention(void)
{
    pthread_t t[CONTENDERS];
    for (unsigned i = 0; i < CONTENDERS; i++) {
        int rc = pthread_create(&t[i], NULL, contender, NULL);
        REQUIRE(rc == 0);
    }
    for (unsigned i = 0; i < CONTENDERS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(counter, (uint64_t)CONTENDERS * INCREMENTS);
    CHECK(!hv_lock_is_locked(&counter_lock));
}

/* trylock fails on a held lock and succeeds on a free one. */
static void t_trylock(void)
{
    hv_lock_t l;
    hv_lock_init(&l, "test.try", LOCK_LEAF);
    CHECK(hv_trylock(&l));
    CHECK(hv_lock_is_locked(&l));
    CHECK_EQ(hv_lock_held_count(), 1);
    CHECK(!hv_trylock(&l));
    hv_unlock(&l);
    CHECK(!hv_lock_is_locked(&l));
    CHECK_EQ(hv_lock_held_count(), 0);
}

/* Locks of increasing (or equal) level, released in any order, are fine. */
static void t_lock_order_ok(void)
{
    hv_lock_t a = HV_LOCK_INITIALIZER("test.p2m", LOCK_P2M);
    hv_lock_t b = HV_LOCK_INITIALIZER("test.alloc1", LOCK_PAGE_ALLOC);
    hv_lock_t c = HV_LOCK_INITIALIZER("test.alloc2", LOCK_PAGE_ALLOC);
    hv_lock(&a);
    hv_lock(&b);
    hv_lock(&c);
    CHECK_EQ(hv_lock_held_count(), 3);
    hv_unlock(&a);                  /* out of order */
    hv_unlock(&c);
    hv_unlock(&b);
    CHECK_EQ(hv_lock_held_count(), 0);
}

/* Run fn in a child; true if it died of SIGABRT with `want` on stderr. */
static bool aborts_saying(void (*fn)(void), const char *want1, const char *want2)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return false;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], 2);
        fn();
        _exit(0);
    }
    close(pipefd[1]);
    char buf[512] = "";
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(buf) - 1 &&
           (r = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(pipefd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)) {
        fprintf(stderr, "  child did not abort (status %#x): %s\n", st, buf);
        return false;
    }
    if (!strstr(buf, want1) || !strstr(buf, want2)) {
        fprintf(stderr, "  abort message lacks '%s'/'%s': %s\n", want1, want2, buf);
        return false;
    }
    return true;
}

static void take_heap_then_p2m(void)
{
    hv_lock_t heap = HV_LOCK_INITIALIZER("test.heap", LOCK_HEAP);
    hv_lock_t p2m = HV_LOCK_INITIALIZER("test.p2m", LOCK_P2M);
    hv_lock(&heap);
    hv_lock(&p2m);
}

static void take_twice(void)
{
    hv_lock_t l = HV_LOCK_INITIALIZER("test.twice", LOCK_LEAF);
    hv_lock(&l);
    hv_lock(&l);
}

static void release_unheld(void)
{
    hv_lock_t l = HV_LOCK_INITIALIZER("test.unheld", LOCK_LEAF);
    hv_unlock(&l);
}

/* A lower-level lock under a higher one aborts, naming both with levels. */
static void t_lock_order_violation(void)
{
    CHECK(aborts_saying(take_heap_then_p2m, "'test.p2m' (level 30)",
                        "'test.heap' (level 60)"));
}

/* Taking a held lock again, or releasing one not held, aborts. */
static void t_lock_self_deadlock(void)
{
    CHECK(aborts_saying(take_twice, "test.twice", "already holds"));
    CHECK(aborts_saying(release_unheld, "test.unheld", "does not hold"));
}

static hv_lock_t busy_lock = HV_LOCK_INITIALIZER("test.busy", LOCK_LEAF);
static _Atomic int holder_ready;

static void *holder(void *arg)
{
    (void)arg;
    hv_lock(&busy_lock);
    atomic_store(&holder_ready, 1);
    usleep(20000);
    hv_unlock(&busy_lock);
    return NULL;
}

/* Lock, unlock, a busy lock and hv_relax reach their scheduling points. */
static void t_lock_sched_points(void)
{
    hv_lock_t l = HV_LOCK_INITIALIZER("test.sp", LOCK_LEAF);
    memset(sp_seen, 0, sizeof(sp_seen));
    hv_sched_hook = sp_count;
    hv_lock(&l);
    CHECK_EQ(sp_seen[SP_LOCK], 1);
    CHECK_EQ(sp_seen[SP_UNLOCK], 0);
    hv_unlock(&l);
    CHECK_EQ(sp_seen[SP_UNLOCK], 1);
    CHECK_EQ(sp_seen[SP_SPIN], 0);
    hv_relax();
    CHECK_EQ(sp_seen[SP_SPIN], 1);

    pthread_t t;
    int rc = pthread_create(&t, NULL, holder, NULL);
    REQUIRE(rc == 0);
    while (!atomic_load(&holder_ready))
        hv_relax();
    unsigned spins = sp_seen[SP_SPIN];
    hv_lock(&busy_lock);            /* waits about 20 ms */
    hv_unlock(&busy_lock);
    pthread_join(t, NULL);
    hv_sched_hook = NULL;
    CHECK(sp_seen[SP_SPIN] > spins);
}

/* ---- sched_run --------------------------------------------------------- */

#define NR_VCPUS 4
static _Atomic unsigned arrived;
static struct vcpu *seen_current[NR_VCPUS];
static unsigned ran[NR_VCPUS];

static void vcpu_main(struct vcpu *v, void *arg)
{
    unsigned *slot = arg;
    seen_current[v->vcpu_id] = current;
    /* Wait until every vCPU is running: proves they run concurrently. */
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < NR_VCPUS)
        hv_relax();
    (*slot)++;
}

/* sched_run runs 4 vCPUs at once, each with current set to itself. */
static void t_sched_threads(void)
{
    struct vcpu *v[NR_VCPUS];
    for (unsigned i = 0; i < NR_VCPUS; i++) {
        v[i] = vcpu_alloc(NULL, i);
        REQUIRE(v[i] != NULL);
        v[i]->entry = vcpu_main;
        v[i]->entry_arg = &ran[i];
    }
    struct sched_config cfg = { .mode = SCHED_THREADS, .seed = 1 };
    CHECK_EQ(sched_run(&cfg, v, NR_VCPUS), 0);
    for (unsigned i = 0; i < NR_VCPUS; i++) {
        CHECK_EQ(ran[i], 1);
        CHECK(seen_current[i] == v[i]);
        vcpu_free(v[i]);
    }
    CHECK(current == NULL);
    CHECK_EQ(sched_run(&cfg, v, 0), 0);
}

static void noop_main(struct vcpu *v, void *arg)
{
    (void)v;
    (*(unsigned *)arg)++;
}

/* det mode runs a vCPU (tests/unit/test-sched-det.c has the rest); a vCPU
   without an entry is -EINVAL in either mode. */
static void t_sched_errors(void)
{
    struct vcpu *v = vcpu_alloc(NULL, 0);
    unsigned runs = 0;
    REQUIRE(v != NULL);
    struct sched_config det = { .mode = SCHED_DET, .seed = 7 };
    struct sched_config thr = { .mode = SCHED_THREADS };
    v->entry = noop_main;
    v->entry_arg = &runs;
    CHECK_EQ(sched_run(&det, &v, 1), 0);
    CHECK_EQ(runs, 1);
    v->entry = NULL;
    CHECK_EQ(sched_run(&thr, &v, 1), -XEN_EINVAL);
    CHECK_EQ(sched_run(&det, &v, 1), -XEN_EINVAL);
    vcpu_free(v);
}

/* sched_spawn: a vCPU starts two more in its run; the run returns after
   all three, each ran once with current set to itself, and each is
   stopped; outside a run, or without an entry, it is -EINVAL. */
static struct vcpu *spawned[2];
static unsigned spawn_ran[3];
static struct vcpu *spawn_seen[3];

static void spawned_main(struct vcpu *v, void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    spawn_seen[i] = current;
    (void)v;
    spawn_ran[i]++;
}

static void spawner_main(struct vcpu *v, void *arg)
{
    (void)arg;
    spawn_seen[0] = current;
    for (unsigned i = 0; i < 2; i++)
        CHECK_EQ(sched_spawn(spawned[i]), 0);
    struct vcpu *none = vcpu_alloc(NULL, 9);
    CHECK_EQ(sched_spawn(none), -XEN_EINVAL);       /* no entry */
    vcpu_free(none);
    (void)v;
    spawn_ran[0]++;
}

static void t_sched_spawn(void)
{
    for (int mode = 0; mode < 2; mode++) {
        struct vcpu *v = vcpu_alloc(NULL, 0);
        REQUIRE(v != NULL);
        v->entry = spawner_main;
        for (unsigned i = 0; i < 2; i++) {
            spawned[i] = vcpu_alloc(NULL, 1 + i);
            REQUIRE(spawned[i] != NULL);
            spawned[i]->entry = spawned_main;
            spawned[i]->entry_arg = (void *)(uintptr_t)(1 + i);
        }
        memset(spawn_ran, 0, sizeof(spawn_ran));
        memset(spawn_seen, 0, sizeof(spawn_seen));
        struct sched_config cfg = { .mode = mode ? SCHED_DET : SCHED_THREADS,
                                    .seed = 3 };
        CHECK_EQ(sched_run(&cfg, &v, 1), 0);
        CHECK(spawn_seen[0] == v);
        for (unsigned i = 0; i < 2; i++) {
            CHECK_EQ(spawn_ran[1 + i], 1);
            CHECK(spawn_seen[1 + i] == spawned[i]);
            CHECK(atomic_load(&spawned[i]->stopped));
            vcpu_free(spawned[i]);
        }
        CHECK_EQ(spawn_ran[0], 1);
        vcpu_free(v);
    }
    struct vcpu *w = vcpu_alloc(NULL, 0);
    REQUIRE(w != NULL);
    w->entry = noop_main;
    CHECK_EQ(sched_spawn(w), -XEN_EINVAL);          /* not in a run */
    vcpu_free(w);
}

/* A new vCPU has no roots, runs in kernel mode, with an empty TLB. */
static void t_vcpu_alloc(void)
{
    struct vcpu *v = vcpu_alloc(NULL, 5);
    REQUIRE(v != NULL);
    CHECK_EQ(v->vcpu_id, 5);
    CHECK_EQ(v->cr3, INVALID_MFN);
    CHECK_EQ(v->guest_table, INVALID_MFN);
    CHECK_EQ(v->guest_table_user, INVALID_MFN);
    CHECK(v->in_kernel);
    for (unsigned i = 0; i < TLB_ENTRIES; i++)
        CHECK_EQ(v->tlb.e[i].flags, 0);
    CHECK(v->tlb.req_lock.name != NULL);
    vcpu_free(v);
}

static const struct test tests[] = {
    { "4 threads incrementing under one lock lose no increment", t_lock_contention },
    { "trylock fails on a held lock and succeeds on a free one", t_trylock },
    { "locks of increasing or equal level, released in any order, are fine", t_lock_order_ok },
    { "a lower-level lock taken under a higher one aborts naming both with levels", t_lock_order_violation },
    { "taking a held lock again, or releasing one not held, aborts", t_lock_self_deadlock },
    { "lock, unlock, a busy lock and hv_relax reach their scheduling points", t_lock_sched_points },
    { "sched_run runs 4 vCPUs at once, each with current set to itself", t_sched_threads },
    { "det mode runs a vCPU and a vCPU without an entry is -EINVAL", t_sched_errors },
    { "a new vCPU has no roots, runs in kernel mode, with an empty TLB", t_vcpu_alloc },
    { "sched_spawn starts vCPUs in the running run (threads and det); the run waits for them", t_sched_spawn },
};

TEST_MAIN(tests)
