/*
 * inject/plan.c - plans: bindings of points to actions, parsed from the
 * command line (--inject SPEC), scenario lines (inject SPEC) and plan files.
 *
 * A binding (docs/inject.md):
 *
 *   POINT:ACTION[,KEY=VALUE]...
 *
 *   delay  ns=N | us=N | ms=N   the delay (one of them, required)
 *          jitter=N[us|ms]      + uniform [0, N] ns drawn from the seed
 *          mode=busy|sleep      spin (default) or nanosleep
 *   fail   errno=NAME           a Xen error the point declares (default:
 *                               its first; ENOMEM, -XEN_ENOMEM, -12 ...)
 *   any    p=P                  probability 0..1 (or N%), default 1
 *          count=N              at most N firings
 *          nth=N                only the N-th hit (past the filters)
 *          every=N              every N-th hit (N, 2N, ...)
 *          dom=N vcpu=N         only hits of that domain / vCPU
 *
 * Rules:
 *   L1  A binding is wholly valid or not added (the plan is unchanged).
 *   L2  Every error names the source (FILE:LINE, or --inject and the
 *       spec), the point when one was named, and what would be accepted.
 *   L3  The canonical spelling (struct inj_binding.spec) parses back to the
 *       same binding.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inject/private.h"

#define INJ_MAX_BINDINGS    1024
#define INJ_LINE_MAX        1024

struct inj_plan *inj_plan_new(void)
{
    return calloc(1, sizeof(struct inj_plan));
}

void inj_plan_free(struct inj_plan *p)
{
    if (!p)
        return;
    free(p->b);
    free(p);
}

unsigned inj_plan_size(const struct inj_plan *p)
{
    return p ? p->n : 0;
}

void inj_plan_truncate(struct inj_plan *p, unsigned n)
{
    if (p && n < p->n)
        p->n = n;
}

/* ---- errors (L2) ------------------------------------------------------------- */

struct pctx {
    const char *src;
    unsigned line;
    const char *spec;
    const char *point;          /* once known */
    char *err;
    size_t errlen;
};

static int perr(struct pctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int perr(struct pctx *c, const char *fmt, ...)
{
    int n;
    if (!c->err || !c->errlen)
        return -1;
    if (c->line)
        n = snprintf(c->err, c->errlen, "%s:%u: ", c->src, c->line);
    else
        n = snprintf(c->err, c->errlen, "%s '%s': ", c->src, c->spec);
    if (n >= 0 && (size_t)n < c->errlen && c->point)
        n += snprintf(c->err + n, c->errlen - n, "point '%s': ", c->point);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- values ------------------------------------------------------------------ */

static int parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* N, Nns, Nus, Nms -> ns. */
static int parse_ns(const char *s, uint64_t unit, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (strcmp(end, "ns") == 0)
        unit = 1;
    else if (strcmp(end, "us") == 0)
        unit = 1000;
    else if (strcmp(end, "ms") == 0)
        unit = 1000000;
    else if (*end)
        return -1;
    if (v > UINT64_MAX / unit / 4)
        return -1;
    *out = v * unit;
    return 0;
}

/* 0.25, 1, 25% */
static int parse_prob(const char *s, double *out)
{
    if (!isdigit((unsigned char)*s) && *s != '.')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno)
        return -1;
    if (*end == '%' && end[1] == '\0') {
        v /= 100.0;
        end++;
    }
    if (*end || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

/* ---- one binding ------------------------------------------------------------- */

/* Keys and the actions they belong to (mask; 0 = every action). */
static const struct key_desc {
    const char *key;
    unsigned actions;
} keys[] = {
    { "ns", INJ_A_DELAY }, { "us", INJ_A_DELAY }, { "ms", INJ_A_DELAY },
    { "jitter", INJ_A_DELAY }, { "mode", INJ_A_DELAY },
    { "errno", INJ_A_FAIL },
    { "p", 0 }, { "count", 0 }, { "nth", 0 }, { "every", 0 },
    { "dom", 0 }, { "vcpu", 0 },
};

static void keys_for(enum inj_action a, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < len; i++)
        if (!keys[i].actions || (keys[i].actions & (1u << a)))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
                                  keys[i].key);
}

static void actions_of(enum inj_point pt, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned a = 0; a < INJ_NR_ACTIONS && n < len; a++)
        if (inj_points[pt].actions & (1u << a))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
                                  inj_action_names[a]);
}

/* Points sharing name's subsystem (first word), for "unknown point". */
static void similar_points(const char *name, char *buf, size_t len)
{
    size_t sub = strcspn(name, ".");
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < INJ_NR_POINTS && n < len; i++) {
        const char *pn = inj_points[i].name;
        if (strncmp(pn, name, sub) == 0 && pn[sub] == '.')
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", pn);
    }
}

static void canonical(struct inj_binding *b)
{
    char *s = b->spec;
    size_t len = sizeof(b->spec), n = 0;

    n += (size_t)snprintf(s + n, len - n, "%s:%s", inj_points[b->point].name,
                          inj_action_names[b->action]);
    if (b->action == INJ_DELAY) {
        n += (size_t)snprintf(s + n, len - n, ",ns=%llu",
                              (unsigned long long)b->ns);
        if (b->jitter_ns && n < len)
            n += (size_t)snprintf(s + n, len - n, ",jitter=%llu",
                                  (unsigned long long)b->jitter_ns);
        if (b->sleep && n < len)
            n += (size_t)snprintf(s + n, len - n, ",mode=sleep");
    }
    if (b->action == INJ_FAIL && n < len)
        n += (size_t)snprintf(s + n, len - n, ",errno=%s",
                              inj_errno_name(b->err) + 5);
    if (b->prob < 1.0 && n < len)
        n += (size_t)snprintf(s + n, len - n, ",p=%.17g", b->prob);
    if (b->count && n < len)
        n += (size_t)snprintf(s + n, len - n, ",count=%llu",
                              (unsigned long long)b->count);
    if (b->nth && n < len)
        n += (size_t)snprintf(s + n, len - n, ",nth=%llu",
                              (unsigned long long)b->nth);
    if (b->every && n < len)
        n += (size_t)snprintf(s + n, len - n, ",every=%llu",
                              (unsigned long long)b->every);
    if (b->dom != INJ_ANY && n < len)
        n += (size_t)snprintf(s + n, len - n, ",dom=%u", b->dom);
    if (b->vcpu != INJ_ANY && n < len)
        snprintf(s + n, len - n, ",vcpu=%u", b->vcpu);
}

/* Parse spec (a private, writable copy) into b. */
static int parse_binding(struct pctx *c, char *spec, struct inj_binding *b)
{
    char known[160];

    memset(b, 0, sizeof(*b));
    b->prob = 1.0;
    b->dom = b->vcpu = INJ_ANY;

    char *colon = strchr(spec, ':');
    if (!colon || colon == spec)
        return perr(c, "expected POINT:ACTION[,key=value]... (e.g. "
                    "'alloc.domheap:fail,errno=ENOMEM,nth=3')");
    *colon = '\0';
    char *point = spec, *rest = colon + 1;
    int pt = inj_point_find(point);
    if (pt < 0) {
        similar_points(point, known, sizeof(known));
        if (known[0])
            return perr(c, "unknown point '%s' (points of that subsystem: %s; "
                        "'hvlab inject list' prints the catalog)", point, known);
        return perr(c, "unknown point '%s' ('hvlab inject list' prints the "
                    "catalog)", point);
    }
    b->point = (enum inj_point)pt;
    c->point = inj_points[pt].name;

    char *comma = strchr(rest, ',');
    if (comma)
        *comma = '\0';
    unsigned a;
    for (a = 0; a < INJ_NR_ACTIONS; a++)
        if (strcmp(inj_action_names[a], rest) == 0)
            break;
    actions_of(b->point, known, sizeof(known));
    if (a == INJ_NR_ACTIONS)
        return perr(c, "unknown action '%s' (this point can: %s)", rest, known);
    if (!(inj_points[pt].actions & (1u << a)))
        return perr(c, "cannot %s here (this point can: %s)",
                    inj_action_names[a], known);
    b->action = (enum inj_action)a;

    bool have_time = false, have_errno = false;
    unsigned seen = 0;              /* bit per keys[] row */
    for (char *kv = comma ? comma + 1 : NULL; kv; ) {
        char *next = strchr(kv, ',');
        if (next)
            *next++ = '\0';
        keys_for(b->action, known, sizeof(known));
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv || !eq[1])
            return perr(c, "%s: expected key=value, got '%s' (keys: %s)",
                        inj_action_names[a], kv, known);
        *eq = '\0';
        const char *key = kv, *val = eq + 1;
        size_t k;
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (strcmp(keys[k].key, key) == 0)
                break;
        if (k == sizeof(keys) / sizeof(keys[0]) ||
            (keys[k].actions && !(keys[k].actions & (1u << a))))
            return perr(c, "%s: unknown parameter '%s' (keys: %s)",
                        inj_action_names[a], key, known);
        if (seen & (1u << k))
            return perr(c, "%s: '%s' given twice", inj_action_names[a], key);
        seen |= 1u << k;

        uint64_t u = 0;
        bool bad = false;
        if (!strcmp(key, "ns") || !strcmp(key, "us") || !strcmp(key, "ms")) {
            if (have_time)
                return perr(c, "delay: give one of ns=, us=, ms=");
            have_time = true;
            uint64_t unit = key[0] == 'n' ? 1 : key[0] == 'u' ? 1000 : 1000000;
            bad = parse_u64(val, &u) != 0 || u > UINT64_MAX / unit / 4;
            b->ns = u * unit;
        } else if (!strcmp(key, "jitter")) {
            bad = parse_ns(val, 1, &b->jitter_ns) != 0;
        } else if (!strcmp(key, "mode")) {
            if (!strcmp(val, "busy"))
                b->sleep = false;
            else if (!strcmp(val, "sleep"))
                b->sleep = true;
            else
                return perr(c, "delay: mode=%s: expected busy or sleep", val);
        } else if (!strcmp(key, "errno")) {
            int e;
            char errs[96];
            snprintf(errs, sizeof(errs), "%s", inj_points[pt].errors);
            if (inj_errno_parse(val, &e) != 0)
                return perr(c, "fail: errno=%s is not a Xen error name or "
                            "number (this point returns: %s)", val,
                            strcmp(errs, "*") == 0 ? "any Xen errno" : errs);
            if (!inj_point_allows_err(b->point, e, NULL))
                return perr(c, "fail: errno=%s is not an error this point "
                            "returns (it returns: %s)", val,
                            strcmp(errs, "*") == 0 ? "any Xen errno but "
                            "ERESTART" : errs);
            b->err = e;
            have_errno = true;
        } else if (!strcmp(key, "p")) {
            if (parse_prob(val, &b->prob) != 0)
                return perr(c, "p=%s: expected a probability 0..1 (or 0%%.."
                            "100%%)", val);
        } else if (!strcmp(key, "dom") || !strcmp(key, "vcpu")) {
            bad = parse_u64(val, &u) != 0 || u >= INJ_ANY;
            if (key[0] == 'd')
                b->dom = (unsigned)u;
            else
                b->vcpu = (unsigned)u;
        } else {                    /* count, nth, every */
            bad = parse_u64(val, &u) != 0 || u == 0;
            if (!strcmp(key, "count"))
                b->count = u;
            else if (!strcmp(key, "nth"))
                b->nth = u;
            else
                b->every = u;
        }
        if (bad)
            return perr(c, "%s=%s: expected a %snumber", key, val,
                        !strcmp(key, "jitter") ? "duration (N, Nus, Nms): " :
                        !strcmp(key, "dom") || !strcmp(key, "vcpu") ? "" :
                        "positive ");
        kv = next;
    }

    if (b->action == INJ_DELAY && !have_time)
        return perr(c, "delay: needs ns=N, us=N or ms=N");
    if (b->action == INJ_FAIL && !have_errno) {
        int def;
        (void)inj_point_allows_err(b->point, 0, &def);
        if (def == 0)
            return perr(c, "fail: needs errno=NAME (this point returns any "
                        "Xen errno)");
        b->err = def;
    }
    if (b->nth && b->every)
        return perr(c, "nth= and every= exclude each other");
    if (b->prob < 1.0)
        b->prob_threshold = b->prob <= 0.0 ? 0
                          : (uint64_t)ldexp(b->prob, 64);
    canonical(b);
    return 0;
}

/* ---- plans ------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int inj_plan_add(struct inj_plan *p, const char *spec, const char *src,
                 unsigned line, char *err, size_t errlen)
{
    struct pctx c = { .src = src ? src : "--inject", .line = line,
                      .spec = spec, .point = NULL, .err = err,
                      .errlen = errlen };
    char buf[INJ_LINE_MAX];
    struct inj_binding b;

    if (strlen(spec) >= sizeof(buf))
        return perr(&c, "longer than %d characters", INJ_LINE_MAX - 1);
    snprintf(buf, sizeof(buf), "%s", spec);
    char *s = trim(buf);
    if (strpbrk(s, " \t"))
        return perr(&c, "no blanks inside a binding (POINT:ACTION,key=value,...)");
    if (parse_binding(&c, s, &b) != 0)
        return -1;
    if (p->n == INJ_MAX_BINDINGS)
        return perr(&c, "too many bindings (at most %d)", INJ_MAX_BINDINGS);
    if (p->n == p->cap) {
        unsigned cap = p->cap ? p->cap * 2 : 8;
        struct inj_binding *nb = realloc(p->b, cap * sizeof(*nb));
        if (!nb)
            return perr(&c, "out of memory");
        p->b = nb;
        p->cap = cap;
    }
    p->b[p->n++] = b;
    return 0;
}

int inj_plan_add_text(struct inj_plan *p, const char *name, const char *text,
                      char *err, size_t errlen)
{
    unsigned line = 0;
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char buf[INJ_LINE_MAX];
        line++;
        if (len >= sizeof(buf)) {
            snprintf(err, errlen, "%s:%u: line longer than %d characters",
                     name, line, INJ_LINE_MAX - 1);
            return -1;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *t = trim(buf);
        if (*t && inj_plan_add(p, t, name, line, err, errlen) != 0)
            return -1;
        s += len + (nl ? 1 : 0);
    }
    return 0;
}

int inj_plan_add_file(struct inj_plan *p, const char *path, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open plan: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char buf[4096];
    size_t n;
    while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, m);
    bool bad = ferror(f) || !m;
    fclose(f);
    if (m)
        fclose(m);
    if (bad || memchr(text ? text : "", '\0', len)) {
        free(text);
        snprintf(err, errlen, "%s: %s", path, bad ? "read error"
                                                  : "not a text file");
        return -1;
    }
    /* All or nothing: parse into a scratch plan, then append. */
    struct inj_plan scratch = { 0 };
    int rc = inj_plan_add_text(&scratch, path, text ? text : "", err, errlen);
    free(text);
    if (rc == 0 && p->n + scratch.n > INJ_MAX_BINDINGS) {
        snprintf(err, errlen, "%s: too many bindings (at most %d)", path,
                 INJ_MAX_BINDINGS);
        rc = -1;
    }
    for (unsigned i = 0; rc == 0 && i < scratch.n; i++) {
        if (p->n == p->cap) {
            unsigned cap = p->cap ? p->cap * 2 : 8;
            struct inj_binding *nb = realloc(p->b, cap * sizeof(*nb));
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            p->b = nb;
            p->cap = cap;
        }
        p->b[p->n++] = scratch.b[i];
    }
    free(scratch.b);
    return rc;
}

void inj_plan_print(const struct inj_plan *p, FILE *f)
{
    for (unsigned i = 0; p && i < p->n; i++)
        fprintf(f, "%s\n", p->b[i].spec);
}
