/*
 * inject/inject.c - the injector at run time: the armed flag, the slow path
 * of every point, the run's counts and their reports.
 *
 * Rules (see inject.h I1-I6):
 *   J1  inj_armed is written only by inj_run_begin, inj_run_end and
 *       inj_run_release, while no vCPU runs; points read it relaxed (I1).
 *   J2  Counts are atomics (threads mode: any vCPU hits any point); a
 *       binding's count limit is taken with a compare-exchange, so it never
 *       fires more than `count` times however many vCPUs race for it.
 *   J3  Random draws are a hash (splitmix64) of (seed, binding, hit number,
 *       purpose): no shared generator state, so a draw depends only on the
 *       seed and on which hit it is (I4).
 *   J4  Actions run on the hitting vCPU: a delay spins on CLOCK_MONOTONIC
 *       (or nanosleeps), a yield calls inj_yield_hook (or sched_yield).
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inject/private.h"
#include "trace/trace.h"
#include "trace/usdt.h"

bool inj_armed;
void (*inj_yield_hook)(enum inj_point pt);

/* The run (J1): what is bound and what happened. */
static struct {
    const struct inj_plan *plan;    /* NULL: count hits only */
    uint64_t seed;
    /* plan->b indices grouped by point, plan order within a point */
    unsigned *order;
    unsigned first[INJ_NR_POINTS], nr[INJ_NR_POINTS];
    _Atomic uint64_t *b_hits, *b_fires;     /* per binding */
    unsigned nr_b;
    _Atomic uint64_t hits[INJ_NR_POINTS], fires[INJ_NR_POINTS];
} run;

/* ---- arming ------------------------------------------------------------------- */

static void run_free(void)
{
    free(run.order);
    free((void *)run.b_hits);
    free((void *)run.b_fires);
    run.order = NULL;
    run.b_hits = run.b_fires = NULL;
    run.nr_b = 0;
    run.plan = NULL;
}

/* No arrays, no counts. */
static void run_clear(void)
{
    run_free();
    for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
        atomic_store(&run.hits[i], 0);
        atomic_store(&run.fires[i], 0);
        run.first[i] = run.nr[i] = 0;
    }
}

int inj_run_begin(const struct inj_plan *plan, uint64_t seed)
{
    __atomic_store_n(&inj_armed, false, __ATOMIC_RELAXED);
    run_clear();
    unsigned n = inj_plan_size(plan);
    if (n) {
        run.order = calloc(n, sizeof(*run.order));
        run.b_hits = calloc(n, sizeof(*run.b_hits));
        run.b_fires = calloc(n, sizeof(*run.b_fires));
        if (!run.order || !run.b_hits || !run.b_fires) {
            run_free();
            return -1;
        }
        /* Group by point, keeping plan order (a counting sort). */
        for (unsigned i = 0; i < n; i++)
            run.nr[plan->b[i].point]++;
        unsigned at = 0;
        for (unsigned p = 0; p < INJ_NR_POINTS; p++) {
            run.first[p] = at;
            at += run.nr[p];
        }
        unsigned fill[INJ_NR_POINTS] = { 0 };
        for (unsigned i = 0; i < n; i++) {
            enum inj_point p = plan->b[i].point;
            run.order[run.first[p] + fill[p]++] = i;
        }
    }
    run.plan = n ? plan : NULL;
    run.nr_b = n;
    run.seed = seed;
    TRC(hvlab_inject, arm, seed, n);
    __atomic_store_n(&inj_armed, true, __ATOMIC_SEQ_CST);
    return 0;
}

void inj_run_end(void)
{
    __atomic_store_n(&inj_armed, false, __ATOMIC_SEQ_CST);
}

void inj_run_release(void)
{
    inj_run_end();
    run_free();
}

/* ---- the slow path ------------------------------------------------------------- */

/* J3: splitmix64 of the inputs. */
static uint64_t draw(unsigned binding, uint64_t hit, unsigned purpose)
{
    uint64_t z = run.seed ^ (0x9E3779B97F4A7C15ULL * (binding + 1)) ^
                 (0xD1B54A32D192ED03ULL * hit) ^ ((uint64_t)purpose << 56);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t inj_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* J4. */
static void do_delay(const struct inj_binding *b, uint64_t ns)
{
    (void)b;
    if (b->sleep) {
        struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
                               .tv_nsec = (long)(ns % 1000000000ULL) };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        return;
    }
    uint64_t until = inj_clock_ns() + ns;
    while (inj_clock_ns() < until)
        __asm__ __volatile__("" ::: "memory");
}

static void do_yield(enum inj_point pt)
{
    if (inj_yield_hook)
        inj_yield_hook(pt);
    else
        sched_yield();
}

/* J2: one more firing, unless the binding reached its count. */
static bool take_firing(unsigned i, uint64_t count)
{
    uint64_t f = atomic_load_explicit(&run.b_fires[i], memory_order_relaxed);
    do {
        if (count && f >= count)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&run.b_fires[i], &f, f + 1,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* The site outcome of each deciding action (I3: the first that fires). */
static const int decided_by[INJ_NR_ACTIONS] = {
    [INJ_FAIL] = INJ_R_FAIL, [INJ_SKIP] = INJ_R_SKIP,
    [INJ_DUP] = INJ_R_DUP, [INJ_REORDER] = INJ_R_REORDER,
    [INJ_FLIP] = INJ_R_FLIP, [INJ_TRUNCATE] = INJ_R_TRUNCATE,
};

static int hit(enum inj_point pt, unsigned dom, unsigned vcpu, int *err,
               uint64_t *drawn, uint64_t subject)
{
    uint64_t hit = atomic_fetch_add_explicit(&run.hits[pt], 1,
                                             memory_order_relaxed) + 1;
    int result = INJ_R_NONE;

    if (run.nr[pt] == 0)
        return result;
    const struct inj_plan *plan = run.plan;
    for (unsigned k = 0; k < run.nr[pt]; k++) {
        unsigned i = run.order[run.first[pt] + k];
        const struct inj_binding *b = &plan->b[i];
        bool decides = decided_by[b->action] != INJ_R_NONE;

        if (decides && result != INJ_R_NONE)
            continue;                                   /* I3 */
        if ((b->dom != INJ_ANY && b->dom != dom) ||
            (b->vcpu != INJ_ANY && b->vcpu != vcpu))
            continue;
        uint64_t n = atomic_fetch_add_explicit(&run.b_hits[i], 1,
                                               memory_order_relaxed) + 1;
        if (b->nth && n != b->nth)
            continue;
        if (b->every && n % b->every)
            continue;
        if (b->prob < 1.0 && draw(i, n, 0) >= b->prob_threshold)
            continue;
        if (!take_firing(i, b->count))
            continue;
        atomic_fetch_add_explicit(&run.fires[pt], 1, memory_order_relaxed);

        uint64_t ns = 0;
        int e = 0;
        switch (b->action) {
        case INJ_DELAY:
            ns = b->ns + (b->jitter_ns ? draw(i, n, 1) % (b->jitter_ns + 1)
                                       : 0);
            break;
        case INJ_FAIL:
            e = b->err;
            break;
        default:
            break;
        }
        TRC(hvlab_inject, fire, inj_points[pt].name, (uint16_t)pt,
            (uint16_t)i, (uint8_t)b->action, (uint16_t)dom, (uint16_t)vcpu,
            hit, e, ns, subject);
        HV_USDT(inject_fire, pt, b->action);
        switch (b->action) {
        case INJ_DELAY:
            do_delay(b, ns);
            break;
        case INJ_YIELD:
            do_yield(pt);
            break;
        case INJ_FAIL:
            *err = e;
            result = INJ_R_FAIL;
            break;
        case INJ_SKIP:
        case INJ_DUP:
        case INJ_REORDER:
        case INJ_FLIP:
        case INJ_TRUNCATE:
            result = decided_by[b->action];
            if (drawn)
                *drawn = draw(i, n, 2);
            break;
        case INJ_NR_ACTIONS:
            break;
        }
    }
    return result;
}

int inj_hit(enum inj_point pt, unsigned dom, unsigned vcpu, int *err)
{
    return hit(pt, dom, vcpu, err, NULL, INJ_NO_SUBJECT);
}

int inj_hit_act(enum inj_point pt, unsigned dom, unsigned vcpu,
                struct inj_act *out)
{
    out->err = 0;
    out->draw = 0;
    out->outcome = hit(pt, dom, vcpu, &out->err, &out->draw, INJ_NO_SUBJECT);
    return out->outcome;
}

int inj_hit_act_on(enum inj_point pt, unsigned dom, unsigned vcpu,
                   uint64_t subject, struct inj_act *out)
{
    out->err = 0;
    out->draw = 0;
    out->outcome = hit(pt, dom, vcpu, &out->err, &out->draw, subject);
    return out->outcome;
}

bool inj_hit_skip_on(enum inj_point pt, unsigned dom, unsigned vcpu,
                     uint64_t subject)
{
    int err = 0;
    return hit(pt, dom, vcpu, &err, NULL, subject) == INJ_R_SKIP;
}

bool inj_hit_skip(enum inj_point pt, unsigned dom, unsigned vcpu)
{
    int err = 0;
    return inj_hit(pt, dom, vcpu, &err) == INJ_R_SKIP;
}

int inj_hit_fail(enum inj_point pt, unsigned dom, unsigned vcpu, int rc)
{
    int err = 0;
    return inj_hit(pt, dom, vcpu, &err) == INJ_R_FAIL ? err : rc;
}

/* ---- counts and reports -------------------------------------------------------- */

uint64_t inj_point_hits(enum inj_point pt)
{
    return pt < INJ_NR_POINTS ? atomic_load(&run.hits[pt]) : 0;
}

uint64_t inj_point_fires(enum inj_point pt)
{
    return pt < INJ_NR_POINTS ? atomic_load(&run.fires[pt]) : 0;
}

uint64_t inj_binding_hits(unsigned i)
{
    return i < run.nr_b ? atomic_load(&run.b_hits[i]) : 0;
}

uint64_t inj_binding_fires(unsigned i)
{
    return i < run.nr_b ? atomic_load(&run.b_fires[i]) : 0;
}

void inj_stats_print(const struct inj_plan *plan, FILE *f)
{
    unsigned n = inj_plan_size(plan);
    fprintf(f, "  inject: %u binding%s, seed %llu\n", n, n == 1 ? "" : "s",
            (unsigned long long)run.seed);
    for (unsigned pt = 0; pt < INJ_NR_POINTS; pt++) {
        uint64_t h = inj_point_hits(pt);
        if (!h && !run.nr[pt])
            continue;
        fprintf(f, "    %-34s %10llu hits %8llu fired\n", inj_points[pt].name,
                (unsigned long long)h,
                (unsigned long long)inj_point_fires(pt));
    }
    for (unsigned i = 0; i < n && plan == run.plan; i++)
        fprintf(f, "    [%u] %s: %llu hits past its filters, %llu fired\n", i,
                plan->b[i].spec, (unsigned long long)inj_binding_hits(i),
                (unsigned long long)inj_binding_fires(i));
}

int inj_stats_write(FILE *f, uint64_t seed)
{
    fprintf(f, "# hvlab inject stats: point hits fires (seed %llu)\n",
            (unsigned long long)seed);
    for (unsigned pt = 0; pt < INJ_NR_POINTS; pt++)
        fprintf(f, "%s %llu %llu\n", inj_points[pt].name,
                (unsigned long long)inj_point_hits(pt),
                (unsigned long long)inj_point_fires(pt));
    return ferror(f) ? -1 : 0;
}

int inj_stats_read(const char *path, uint64_t *hits, uint64_t *fires,
                   char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    memset(hits, 0, INJ_NR_POINTS * sizeof(*hits));
    memset(fires, 0, INJ_NR_POINTS * sizeof(*fires));
    char line[512];
    unsigned no = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        no++;
        char name[128];
        unsigned long long h, fi;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%127s %llu %llu", name, &h, &fi) != 3) {
            snprintf(err, errlen, "%s:%u: expected 'POINT HITS FIRES'", path, no);
            rc = -1;
            break;
        }
        int pt = inj_point_find(name);
        if (pt < 0)
            continue;           /* a point of another build: ignored */
        hits[pt] = h;
        fires[pt] = fi;
    }
    fclose(f);
    return rc;
}
