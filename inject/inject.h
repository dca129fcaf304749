/*
 * inject/inject.h - fault injection: the point catalog, plans, and the one
 * macro code uses at a point.
 *
 * A point is a named place in the hypervisor where a window exists (a
 * race needs another vCPU to act there) or where an error path starts.
 * Every point is declared once in inject/points.def.  A plan binds points
 * to actions (docs/inject.md):
 *
 *   delay  wait N ns (+ jitter), busy or sleeping
 *   yield  let another vCPU run here (det mode: the scheduler switches at
 *          sched_point(SP_INJECT); threads mode: the OS thread yields)
 *   fail   the site returns an error (a Xen errno the point declares)
 *   skip   the site leaves its step out (skippable points only)
 *
 * and, at the migration stream's points only (INJ_ACT sites):
 *
 *   dup      the site does its step twice (a PAGE_DATA page sent again)
 *   reorder  the site swaps this item with the next one
 *   flip     the site flips one bit of what it writes (which: the draw)
 *   truncate the stream ends here, as a dropped connection
 *
 * each with a probability, a count, an nth / every-nth hit and dom/vCPU
 * filters; every random draw comes from the run's seed.
 *
 * At the use site:
 *
 *   INJ_POINT(ptwr_flush_before_rehook, v);          a window
 *   if (INJ_POINT(ptwr_unhook_before_open, v))       a skippable step
 *       return UH_EMULATE;
 *   rc = INJ_FAIL(alloc_domheap, v, rc);             an error path
 *
 * Rules:
 *   I1  With nothing armed a point costs one load of a global flag and a
 *       predicted-not-taken branch; its arguments are not evaluated
 *       (bench/bench-inject.c measures it).
 *   I2  While armed (inj_run_begin .. inj_run_end) every point counts its
 *       hits, also with an empty plan; a run begins by resetting every
 *       count, so runs in one process never see each other's state.
 *   I3  Bindings of a point are tried in plan order.  delay and yield all
 *       act; the first fail or skip that fires decides the site's outcome
 *       and later fail/skip bindings of that point are not tried for that
 *       hit (their counts do not move).
 *   I4  A binding's hit number counts the hits that passed its dom/vCPU
 *       filters; nth/every test it, then the probability draw, then the
 *       count.  The draw is a hash of (run seed, binding, hit number):
 *       deterministic given the seed and the order of hits.
 *   I5  Every firing is traced (hvlab_inject:fire) and counted.
 *   I6  The injector is process-wide: one run at a time is armed.
 */
#ifndef HVLAB_INJECT_INJECT_H
#define HVLAB_INJECT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the catalog ---------------------------------------------------------- */

/* Actions (a point's `actions` is a mask of these). */
enum inj_action {
    INJ_DELAY = 0,
    INJ_YIELD,
    INJ_FAIL,
    INJ_SKIP,
    INJ_DUP,
    INJ_REORDER,
    INJ_FLIP,
    INJ_TRUNCATE,
    INJ_NR_ACTIONS
};
#define INJ_A_DELAY     (1u << INJ_DELAY)
#define INJ_A_YIELD     (1u << INJ_YIELD)
#define INJ_A_FAIL      (1u << INJ_FAIL)
#define INJ_A_SKIP      (1u << INJ_SKIP)
#define INJ_A_DUP       (1u << INJ_DUP)
#define INJ_A_REORDER   (1u << INJ_REORDER)
#define INJ_A_FLIP      (1u << INJ_FLIP)
#define INJ_A_TRUNCATE  (1u << INJ_TRUNCATE)

enum inj_point {
#define INJ_POINT_DEF(id, name, where, actions, errors, window) INJP_##id,
#include "inject/points.def"
    INJ_NR_POINTS
};

struct inj_point_desc {
    const char *name;           /* "ptwr.unhook.after_clear_l2" */
    const char *where;          /* "core/mm/ptwr.c open_batch()" */
    unsigned actions;           /* INJ_A_* */
    const char *errors;         /* "ENOMEM", "*" or "" */
    const char *window;         /* one line */
};

extern const struct inj_point_desc inj_points[INJ_NR_POINTS];
extern const char *const inj_action_names[INJ_NR_ACTIONS];

/* The point named `name`, or -1. */
int inj_point_find(const char *name);

/*
 * Xen's ERESTART: hypervisor-internal, never a guest's errno (core/types.h
 * HV_ERESTART; core/hypercall.c asserts they agree).  The only error
 * hcall.preempt can inject.
 */
#define INJ_ERESTART    85

/* "-XEN_ENOMEM" for -12, "-XEN_ERESTART" for -85; "?" when unknown. */
const char *inj_errno_name(int neg_err);

/*
 * The catalog, one point per entry: name, actions (with errors), where,
 * and the window.  With hits != NULL (INJ_NR_POINTS counts, as read by
 * inj_stats_read) each entry also shows its hit and fire counts.
 */
void inj_catalog_print(FILE *f, const uint64_t *hits, const uint64_t *fires);

/* ---- plans ---------------------------------------------------------------- */

struct inj_plan;                /* opaque: inject/private.h */

struct inj_plan *inj_plan_new(void);
void inj_plan_free(struct inj_plan *p);
unsigned inj_plan_size(const struct inj_plan *p);
/* Drop every binding past the first n (a no-op when there are n or fewer):
   undoes inj_plan_add calls made after inj_plan_size returned n. */
void inj_plan_truncate(struct inj_plan *p, unsigned n);

/*
 * Add one binding, "point:action[,key=value]..." (docs/inject.md).  `src`
 * and `line` name where it came from: with line > 0 an error reads
 * "SRC:LINE: point 'NAME': what was wrong", with line 0 "SRC 'SPEC': point
 * 'NAME': ...".  0, or -1 with err[] filled and the plan unchanged.
 */
int inj_plan_add(struct inj_plan *p, const char *spec, const char *src,
                 unsigned line, char *err, size_t errlen);
/* Add every binding of a plan text / file (one per line, '#' comments).
   Stops at the first bad line: 0, or -1 with err[] naming it. */
int inj_plan_add_text(struct inj_plan *p, const char *name, const char *text,
                      char *err, size_t errlen);
int inj_plan_add_file(struct inj_plan *p, const char *path, char *err,
                      size_t errlen);
/* One binding per line, in the canonical spelling (parses back the same). */
void inj_plan_print(const struct inj_plan *p, FILE *f);

/* ---- a run ---------------------------------------------------------------- */

/*
 * Arm the injector for one run: reset every count (I2), bind plan (NULL:
 * count hits only) and take the run's seed.  The plan must stay alive
 * until inj_run_end().  -1 when out of memory (nothing armed).
 */
int inj_run_begin(const struct inj_plan *plan, uint64_t seed);
/* Disarm; the counts stay readable until the next inj_run_begin(). */
void inj_run_end(void);
/* Disarm and give back what the run allocated: the points' counts stay
   readable, the bindings' read 0.  For a caller whose heap is put back
   after each run (the fuzzer's snapshot reset): the next inj_run_begin()
   then frees nothing. */
void inj_run_release(void);

/* Counts of the last (or current) run. */
uint64_t inj_point_hits(enum inj_point pt);
uint64_t inj_point_fires(enum inj_point pt);
/* Binding i of the bound plan (plan order): hits past its filters, fires. */
uint64_t inj_binding_hits(unsigned i);
uint64_t inj_binding_fires(unsigned i);

/*
 * After a run with a plan: one line per point that was hit or bound (hits,
 * fires) and one per binding (its spec, hits, fires).
 */
void inj_stats_print(const struct inj_plan *plan, FILE *f);
/* Every point's counts as "NAME HITS FIRES" lines (docs/inject.md). */
int inj_stats_write(FILE *f, uint64_t seed);
/* Read such a file into hits[]/fires[] (INJ_NR_POINTS each; points it
   does not name stay 0).  0, or -1 with err[] naming the file and line. */
int inj_stats_read(const char *path, uint64_t *hits, uint64_t *fires,
                   char *err, size_t errlen);

/*
 * How a yield binding lets another vCPU run, told which point yields.
 * core/ installs it (a det scheduler switches at sched_point(SP_INJECT),
 * the point its detail); NULL: sched_yield().
 */
extern void (*inj_yield_hook)(enum inj_point pt);

/* ---- the use-site macros (I1) ----------------------------------------------- */

/* Armed: some run bound a plan or asked for hit counts. */
extern bool inj_armed;

/* Site outcome of the slow path. */
#define INJ_R_NONE      0
#define INJ_R_SKIP      1
#define INJ_R_FAIL      2
#define INJ_R_DUP       3
#define INJ_R_REORDER   4
#define INJ_R_FLIP      5
#define INJ_R_TRUNCATE  6

/* Filters' "not known here" (a point hit outside any vCPU or domain). */
#define INJ_ANY         0xFFFFu

/* The slow path: count the hit, act on matching bindings.  Returns
   INJ_R_*; for INJ_R_FAIL *err holds the negative error. */
int inj_hit(enum inj_point pt, unsigned dom, unsigned vcpu, int *err);
bool inj_hit_skip(enum inj_point pt, unsigned dom, unsigned vcpu);
int inj_hit_fail(enum inj_point pt, unsigned dom, unsigned vcpu, int rc);

static inline bool inj_is_armed(void)
{
    return __builtin_expect(__atomic_load_n(&inj_armed, __ATOMIC_RELAXED), 0);
}

/* What fired at an INJ_ACT site: outcome INJ_R_* (NONE, SKIP, FAIL with
   err, DUP, REORDER, FLIP, TRUNCATE) and 64 bits drawn from the run's seed
   for this firing (which bit a flip turns, where a truncate cuts). */
struct inj_act {
    int outcome;
    int err;
    uint64_t draw;
};
int inj_hit_act(enum inj_point pt, unsigned dom, unsigned vcpu,
                struct inj_act *out);

/* dom / vCPU of a struct vcpu pointer (expanded at the use site, which
   knows struct vcpu; evaluated only when armed). */
#define INJ_DOM_OF(v)   ((v) ? (unsigned)(v)->d->domid : INJ_ANY)
#define INJ_VCPU_OF(v)  ((v) ? (unsigned)(v)->vcpu_id : INJ_ANY)

/* A window or a skippable step: true when a skip fired.  A statement
   expression, so a window site may ignore the value without a warning. */
#define INJ_POINT(id, v) \
    INJ_POINT_AT(id, INJ_DOM_OF(v), INJ_VCPU_OF(v))
#define INJ_POINT_AT(id, dom, vcpu) __extension__ ({ \
    bool inj_skip_ = inj_is_armed() && \
                     inj_hit_skip(INJP_##id, (dom), (vcpu)); \
    inj_skip_; })

/* An error path: rc, or the error a fail binding injected. */
#define INJ_FAIL(id, v, rc) \
    INJ_FAIL_AT(id, INJ_DOM_OF(v), INJ_VCPU_OF(v), rc)
#define INJ_FAIL_AT(id, dom, vcpu, rc) \
    (inj_is_armed() ? inj_hit_fail(INJP_##id, (dom), (vcpu), (rc)) : (rc))

/* A site with stream actions: fills *out (outcome INJ_R_NONE when nothing
   fired or the injector is not armed) and returns out->outcome.  dom is a
   domid (the domain migrated), vcpu INJ_ANY. */
#define INJ_ACT(id, dom, out) \
    (inj_is_armed() ? inj_hit_act(INJP_##id, (dom), INJ_ANY, (out)) \
                    : ((out)->outcome = INJ_R_NONE))

/* The same, for a site that acts on one item (a pfn): `subject` is
   recorded in hvlab_inject:fire, so a trace says which item each firing
   hit (the ground truth of an accuracy run).  INJ_NO_SUBJECT: none. */
#define INJ_NO_SUBJECT  UINT64_MAX
int inj_hit_act_on(enum inj_point pt, unsigned dom, unsigned vcpu,
                   uint64_t subject, struct inj_act *out);
bool inj_hit_skip_on(enum inj_point pt, unsigned dom, unsigned vcpu,
                     uint64_t subject);
#define INJ_ACT_ON(id, dom, subject, out) \
    (inj_is_armed() ? inj_hit_act_on(INJP_##id, (dom), INJ_ANY, (subject), \
                                     (out)) \
                    : ((out)->outcome = INJ_R_NONE))
#define INJ_POINT_ON(id, dom, vcpu, subject) __extension__ ({ \
    bool inj_skip_ = inj_is_armed() && \
                     inj_hit_skip_on(INJP_##id, (dom), (vcpu), (subject)); \
    inj_skip_; })

#endif /* HVLAB_INJECT_INJECT_H */
