/*
 * analysis/finding.c - the findings list and its text and JSON forms.
 *
 * Rules (finding.h F1-F4 are the contract; these say how it is kept):
 *   G1  Kept findings live in one array in the order added; each owns its
 *       strings (F2).  Checkers are counted in a small table in the order
 *       their first finding came, which is the order of the summary.
 *   G2  A checker's findings past its cap are counted, not kept (F3): the
 *       text says how many were not shown, per checker.
 *   G3  Text is for a person at 2 a.m.: one paragraph per finding (a header
 *       line with checker, host, domain, frame, pfn and time in seconds, the
 *       sentence, then the frame's history indented), then one summary line
 *       per checker.  Time is printed as seconds of the trace clock.
 *   G4  JSON escapes every string (quotes, backslashes, control characters
 *       as \u00XX; bytes >= 0x80 pass through, the names are ASCII); numbers
 *       that are "not known" are null; mfn and pfn are hex strings, which
 *       is how the text and Xen print them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/finding.h"

#define DEFAULT_CAP 1000

struct checker_count {
    char *name;
    size_t count;       /* all its findings */
    size_t kept;
};

struct findings {
    unsigned cap;
    struct finding *v;      /* G1: kept, owned copies */
    size_t n, alloc;
    struct checker_count *cc;
    size_t ncc, acc;
    size_t total;
};

struct findings *findings_new(unsigned cap_per_checker)
{
    struct findings *fs = calloc(1, sizeof(*fs));
    if (fs)
        fs->cap = cap_per_checker ? cap_per_checker : DEFAULT_CAP;
    return fs;
}

static void finding_release(struct finding *f)
{
    free((char *)f->what);
    for (unsigned i = 0; i < f->nhistory; i++)
        free((char *)f->history[i]);
    free((void *)f->history);
}

void findings_free(struct findings *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++)
        finding_release(&fs->v[i]);
    free(fs->v);
    for (size_t i = 0; i < fs->ncc; i++)
        free(fs->cc[i].name);
    free(fs->cc);
    free(fs);
}

static struct checker_count *checker_slot(struct findings *fs, const char *name,
                                          bool create)
{
    for (size_t i = 0; i < fs->ncc; i++)
        if (!strcmp(fs->cc[i].name, name))
            return &fs->cc[i];
    if (!create)
        return NULL;
    if (fs->ncc == fs->acc) {
        size_t na = fs->acc ? fs->acc * 2 : 16;
        struct checker_count *n = realloc(fs->cc, na * sizeof(*n));
        if (!n)
            return NULL;
        fs->cc = n;
        fs->acc = na;
    }
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    fs->cc[fs->ncc] = (struct checker_count){ copy, 0, 0 };
    return &fs->cc[fs->ncc++];
}

int findings_add(struct findings *fs, const struct finding *f)
{
    const char *name = f->checker ? f->checker : "(unnamed)";
    struct checker_count *cc = checker_slot(fs, name, true);
    if (!cc)
        return -1;
    fs->total++;
    cc->count++;
    if (cc->kept >= fs->cap)        /* F3 / G2 */
        return 0;
    if (fs->n == fs->alloc) {
        size_t na = fs->alloc ? fs->alloc * 2 : 64;
        struct finding *n = realloc(fs->v, na * sizeof(*n));
        if (!n)
            goto oom;
        fs->v = n;
        fs->alloc = na;
    }
    struct finding c = *f;
    c.checker = cc->name;           /* owned by the count table */
    c.what = strdup(f->what ? f->what : "");
    c.history = NULL;
    c.nhistory = 0;
    if (!c.what)
        goto oom;
    if (f->nhistory) {
        const char **h = calloc(f->nhistory, sizeof(*h));
        if (!h) {
            free((char *)c.what);
            goto oom;
        }
        for (unsigned i = 0; i < f->nhistory; i++) {
            h[i] = strdup(f->history[i] ? f->history[i] : "");
            if (!h[i]) {
                c.history = h;
                c.nhistory = i;
                finding_release(&c);
                goto oom;
            }
        }
        c.history = h;
        c.nhistory = f->nhistory;
    }
    fs->v[fs->n++] = c;
    cc->kept++;
    return 0;
oom:
    /* counted but not kept: the summary still says it happened */
    return -1;
}

size_t findings_count(const struct findings *fs)
{
    return fs ? fs->total : 0;
}

size_t findings_count_checker(const struct findings *fs, const char *checker)
{
    if (!fs || !checker)
        return 0;
    for (size_t i = 0; i < fs->ncc; i++)
        if (!strcmp(fs->cc[i].name, checker))
            return fs->cc[i].count;
    return 0;
}

size_t findings_kept(const struct findings *fs)
{
    return fs ? fs->n : 0;
}

const struct finding *findings_get(const struct findings *fs, size_t i)
{
    return fs && i < fs->n ? &fs->v[i] : NULL;
}

/* ------------------------------------------------------------------ text */

static void print_seconds(FILE *out, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    fprintf(out, "%s%" PRIu64 ".%06" PRIu64 " s", ns < 0 ? "-" : "",
            a / 1000000000u, (a % 1000000000u) / 1000u);
}

void findings_print_text(const struct findings *fs, FILE *out)     /* G3 */
{
    size_t n = findings_kept(fs);
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = &fs->v[i];
        fprintf(out, "%s: host %u", f->checker, (unsigned)f->host);
        if (f->dom != FINDING_NODOM)
            fprintf(out, ", dom%u", (unsigned)f->dom);
        if (f->mfn != FINDING_NONE)
            fprintf(out, ", mfn %#" PRIx64, f->mfn);
        if (f->pfn != FINDING_NONE)
            fprintf(out, ", pfn %#" PRIx64, f->pfn);
        fprintf(out, ", at ");
        print_seconds(out, f->ts);
        fprintf(out, " (event #%" PRIu64 ")\n", f->seq);
        fprintf(out, "  %s\n", f->what);
        if (f->nhistory) {
            fprintf(out, "  last transitions, oldest first:\n");
            for (unsigned h = 0; h < f->nhistory; h++)
                fprintf(out, "    %s\n", f->history[h]);
        }
        fprintf(out, "\n");
    }
    if (!fs || fs->total == 0) {
        fprintf(out, "no findings\n");
        return;
    }
    fprintf(out, "%zu finding%s:\n", fs->total, fs->total == 1 ? "" : "s");
    size_t w = 0;
    for (size_t i = 0; i < fs->ncc; i++)
        if (strlen(fs->cc[i].name) > w)
            w = strlen(fs->cc[i].name);
    for (size_t i = 0; i < fs->ncc; i++) {
        const struct checker_count *c = &fs->cc[i];
        fprintf(out, "  %-*s %8zu", (int)w, c->name, c->count);
        if (c->kept < c->count)
            fprintf(out, "   (%zu shown, %zu more not shown)", c->kept,
                    c->count - c->kept);
        fprintf(out, "\n");
    }
}

/* ------------------------------------------------------------------ JSON */

static void json_str(FILE *out, const char *s)        /* G4 */
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void json_hex_or_null(FILE *out, uint64_t v)
{
    if (v == FINDING_NONE)
        fputs("null", out);
    else
        fprintf(out, "\"%#" PRIx64 "\"", v);
}

void findings_print_json(const struct findings *fs, FILE *out)     /* F4 */
{
    size_t n = findings_kept(fs);
    fputs("{\"findings\": [", out);
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = &fs->v[i];
        fputs(i ? ",\n  {" : "\n  {", out);
        fputs("\"checker\": ", out);
        json_str(out, f->checker);
        fprintf(out, ", \"host\": %u, \"dom\": ", (unsigned)f->host);
        if (f->dom == FINDING_NODOM)
            fputs("null", out);
        else
            fprintf(out, "%u", (unsigned)f->dom);
        fputs(", \"mfn\": ", out);
        json_hex_or_null(out, f->mfn);
        fputs(", \"pfn\": ", out);
        json_hex_or_null(out, f->pfn);
        fprintf(out, ", \"ts\": %" PRId64 ", \"seq\": %" PRIu64 ", \"what\": ",
                f->ts, f->seq);
        json_str(out, f->what);
        fputs(", \"history\": [", out);
        for (unsigned h = 0; h < f->nhistory; h++) {
            if (h)
                fputs(", ", out);
            json_str(out, f->history[h]);
        }
        fputs("]}", out);
    }
    fputs(n ? "\n],\n \"by_checker\": {" : "],\n \"by_checker\": {", out);
    for (size_t i = 0; fs && i < fs->ncc; i++) {
        if (i)
            fputs(", ", out);
        json_str(out, fs->cc[i].name);
        fprintf(out, ": %zu", fs->cc[i].count);
    }
    fprintf(out, "},\n \"total\": %zu}\n", findings_count(fs));
}
