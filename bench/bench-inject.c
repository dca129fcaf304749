/*
 * bench/bench-inject.c - what one injection point costs.
 *
 *   unarmed      INJ_POINT(...) with no run armed, against the same loop
 *                with nothing in it (goal: <= 1 ns more, DESIGN.md "a
 *                predicted branch");
 *   armed, none  armed with a plan that binds other points only: the
 *                point counts its hit (one atomic add);
 *   armed, miss  a plan binding this point with a dom filter that never
 *                matches: count, walk the point's bindings, filter out.
 *
 * Rules:
 *   R1  The loops are the same but for the point; the point's dom/vCPU come
 *       from a struct the loop reads, as a use site's v->d->domid does.
 *   R2  Each figure is a median over rounds, variants interleaved round by
 *       round; nothing is asserted, goals are printed next to the values.
 *   R3  Output lines: "figure NAME: VALUE UNIT   goal ...   free text".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/lib/median.h"
#include "inject/inject.h"

#define ROUNDS          11
#define ITERS           20000000ULL     /* per round: ~10-20 ms unarmed */
#define ARMED_ITERS     2000000ULL

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* What a use site has at hand: a vCPU and its domain. */
struct fake_domain { unsigned short domid; };
struct fake_vcpu { unsigned vcpu_id; struct fake_domain *d; };

static __attribute__((noinline)) double loop_empty(uint64_t n,
                                                   struct fake_vcpu *v)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        __asm__ __volatile__("" : : "r"(i), "r"(v) : "memory");
    return (now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double loop_point(uint64_t n,
                                                   struct fake_vcpu *v)
{
    double t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        __asm__ __volatile__("" : : "r"(i), "r"(v) : "memory");
        if (INJ_POINT(uva_before_flush, v))
            __asm__ __volatile__("" ::: "memory");
    }
    return (now_ns() - t0) / (double)n;
}

static struct inj_plan *plan(const char *spec)
{
    char err[256];
    struct inj_plan *p = inj_plan_new();
    if (!p || inj_plan_add(p, spec, "bench", 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-inject: %s\n", err);
        exit(2);
    }
    return p;
}

int main(void)
{
    struct fake_domain d = { .domid = 1 };
    struct fake_vcpu v = { .vcpu_id = 0, .d = &d };
    double empty[ROUNDS], point[ROUNDS], none[ROUNDS], miss[ROUNDS];
    struct inj_plan *other = plan("hcall.entry:delay,ns=1");
    struct inj_plan *filtered = plan("uva.before_flush:delay,ns=1,dom=7");

    /* Warm up. */
    loop_empty(ITERS / 10, &v);
    loop_point(ITERS / 10, &v);
    for (int r = 0; r < ROUNDS; r++) {
        inj_run_end();
        empty[r] = loop_empty(ITERS, &v);
        point[r] = loop_point(ITERS, &v);
        inj_run_begin(other, 1);
        none[r] = loop_point(ARMED_ITERS, &v);
        inj_run_begin(filtered, 1);
        miss[r] = loop_point(ARMED_ITERS, &v);
        inj_run_end();
    }
    double e = median(empty, ROUNDS), p = median(point, ROUNDS);
    double cost = p - e;
    printf("figure inject point unarmed: %.2f ns   goal <= 1 ns   "
           "(loop with the point %.2f ns, empty loop %.2f ns per iteration)\n",
           cost < 0 ? 0.0 : cost, p, e);
    printf("figure inject point armed, not bound: %.2f ns   goal -   "
           "(a plan binds other points: the hit is counted)\n",
           median(none, ROUNDS) - e);
    printf("figure inject point armed, filtered out: %.2f ns   goal -   "
           "(a binding here whose dom filter never matches)\n",
           median(miss, ROUNDS) - e);
    printf("figure inject hits counted: %llu   goal -   (point hits of the "
           "last round, a check that the armed loops ran the slow path)\n",
           (unsigned long long)inj_point_hits(INJP_uva_before_flush));
    inj_plan_free(other);
    inj_plan_free(filtered);
    return 0;
}
