/*
 * inject/private.h - what a plan is made of (inject/ only).
 */
#ifndef HVLAB_INJECT_PRIVATE_H
#define HVLAB_INJECT_PRIVATE_H

#include "inject/inject.h"

#define INJ_SPEC_MAX    256

/* One binding: a point, an action and when it fires.  Immutable once in a
   plan; the run's counts live in the injector (inject.c). */
struct inj_binding {
    enum inj_point point;
    enum inj_action action;
    /* delay */
    uint64_t ns;                /* base delay */
    uint64_t jitter_ns;         /* + uniform [0, jitter_ns] from the seed */
    bool sleep;                 /* nanosleep instead of spinning */
    /* fail */
    int err;                    /* negative Xen errno */
    /* when */
    double prob;                /* 0..1; 1 = no draw */
    uint64_t prob_threshold;    /* fires when draw < threshold (prob < 1) */
    uint64_t count;             /* at most this many firings; 0 = no limit */
    uint64_t nth;               /* only on this hit; 0 = any */
    uint64_t every;             /* on every n-th hit; 0 = any */
    unsigned dom, vcpu;         /* INJ_ANY = any */
    /* where it came from, for reports */
    char spec[INJ_SPEC_MAX];    /* canonical spelling */
};

struct inj_plan {
    unsigned n, cap;
    struct inj_binding *b;      /* in plan order */
};

/* catalog.c: an error name ("ENOMEM", "XEN_ENOMEM", "-XEN_ENOMEM",
   "ERESTART", or a number such as -12) to a negative errno.  0 or -1. */
int inj_errno_parse(const char *s, int *neg_err);
/* May point pt return neg_err (its `errors` list)?  The point's default
   error (first of the list) into *def when def != NULL. */
bool inj_point_allows_err(enum inj_point pt, int neg_err, int *def);

#endif /* HVLAB_INJECT_PRIVATE_H */
