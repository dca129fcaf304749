/*
 * inject/catalog.c - the injection-point catalog (expanded from
 * inject/points.def), error names, and `hvlab inject list`'s listing.
 *
 * Rules:
 *   K1  inj_points[] is the only expansion of points.def into data; the
 *       enum in inject.h is the other.
 *   K2  Error names come from Xen's own <xen/errno.h> X-macro list, plus
 *       the internal ERESTART (never retyped elsewhere).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>

#include "inject/private.h"

const struct inj_point_desc inj_points[INJ_NR_POINTS] = {
#define INJ_POINT_DEF(id, name_, where_, actions_, errors_, window_) \
    [INJP_##id] = { .name = name_, .where = where_, .actions = actions_, \
                    .errors = errors_, .window = window_ },
#include "inject/points.def"
};

/* K1: a row per enum value (a duplicated id does not compile: the enum
   would declare it twice; duplicated names are tests/unit/test-inject.c's). */
_Static_assert(sizeof(inj_points) / sizeof(inj_points[0]) == INJ_NR_POINTS,
               "points.def expands to as many rows as enum values");

const char *const inj_action_names[INJ_NR_ACTIONS] = {
    [INJ_DELAY] = "delay",
    [INJ_YIELD] = "yield",
    [INJ_FAIL]  = "fail",
    [INJ_SKIP]  = "skip",
    [INJ_DUP]   = "dup",
    [INJ_REORDER] = "reorder",
    [INJ_FLIP]  = "flip",
    [INJ_TRUNCATE] = "truncate",
};

int inj_point_find(const char *name)
{
    for (unsigned i = 0; i < INJ_NR_POINTS; i++)
        if (strcmp(inj_points[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- errors (K2) ------------------------------------------------------------- */

static const struct { int value; const char *name; } xen_errnos[] = {
#define XEN_ERRNO(name, value) { value, #name },
#include <xen/errno.h>
    { INJ_ERESTART, "ERESTART" },
};

const char *inj_errno_name(int neg_err)
{
    static const char *const full[] = {
#define XEN_ERRNO(name, value) "-XEN_" #name,
#include <xen/errno.h>
        "-XEN_ERESTART",
    };
    _Static_assert(sizeof(full) / sizeof(full[0]) ==
                   sizeof(xen_errnos) / sizeof(xen_errnos[0]), "error tables");
    for (size_t i = 0; i < sizeof(xen_errnos) / sizeof(xen_errnos[0]); i++)
        if (xen_errnos[i].value == -neg_err)
            return full[i];
    return "?";
}

int inj_errno_parse(const char *s, int *neg_err)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (strncmp(p, "XEN_", 4) == 0)
        p += 4;
    for (size_t i = 0; i < sizeof(xen_errnos) / sizeof(xen_errnos[0]); i++)
        if (strcmp(xen_errnos[i].name, p) == 0) {
            *neg_err = -xen_errnos[i].value;
            return 0;
        }
    /* A number: -12 or 12 both mean -XEN_ENOMEM, if Xen knows it. */
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && !*end && !errno && v != 0 && labs(v) < 4096) {
        int neg = v < 0 ? (int)v : (int)-v;
        if (strcmp(inj_errno_name(neg), "?") != 0) {
            *neg_err = neg;
            return 0;
        }
    }
    return -1;
}

bool inj_point_allows_err(enum inj_point pt, int neg_err, int *def)
{
    const char *list = inj_points[pt].errors;
    bool ok = false, first = true;

    if (def)
        *def = 0;
    if (strcmp(list, "*") == 0)
        return neg_err != -INJ_ERESTART && neg_err != 0 &&
               strcmp(inj_errno_name(neg_err), "?") != 0;
    while (*list) {
        char word[32];
        size_t n = strcspn(list, " ");
        if (n && n < sizeof(word)) {
            memcpy(word, list, n);
            word[n] = '\0';
            int e;
            if (inj_errno_parse(word, &e) == 0) {
                if (first && def)
                    *def = e;
                first = false;
                ok |= e == neg_err;
            }
        }
        list += n;
        while (*list == ' ')
            list++;
    }
    return ok;
}

/* ---- the listing ------------------------------------------------------------- */

static void actions_text(const struct inj_point_desc *d, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned a = 0; a < INJ_NR_ACTIONS && n < len; a++) {
        if (!(d->actions & (1u << a)))
            continue;
        if (a == INJ_FAIL && d->errors[0])
            n += (size_t)snprintf(buf + n, len - n, "%sfail(%s)", n ? " " : "",
                                  strcmp(d->errors, "*") == 0 ? "any"
                                                              : d->errors);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "",
                                  inj_action_names[a]);
    }
}

/* Print `text` wrapped at `width` columns, each line indented by `indent`. */
static void wrap(FILE *f, const char *text, unsigned indent, unsigned width)
{
    const char *s = text;
    while (*s) {
        size_t room = width - indent, n = strlen(s);
        if (n > room) {
            n = room;
            while (n > 0 && s[n] != ' ')
                n--;
            if (n == 0)
                n = room;
        }
        fprintf(f, "%*s%.*s\n", (int)indent, "", (int)n, s);
        s += n;
        while (*s == ' ')
            s++;
    }
}

void inj_catalog_print(FILE *f, const uint64_t *hits, const uint64_t *fires)
{
    char acts[128];
    for (unsigned i = 0; i < INJ_NR_POINTS; i++) {
        const struct inj_point_desc *d = &inj_points[i];
        actions_text(d, acts, sizeof(acts));
        if (hits)
            fprintf(f, "%-34s %-28s hits %llu, fires %llu\n", d->name, acts,
                    (unsigned long long)hits[i],
                    (unsigned long long)(fires ? fires[i] : 0));
        else
            fprintf(f, "%-34s %s\n", d->name, acts);
        fprintf(f, "    at %s\n", d->where);
        wrap(f, d->window, 4, 78);
    }
}
