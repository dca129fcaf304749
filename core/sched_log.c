/*
 * core/sched_log.c - schedules: the decisions of a det-mode run, kept
 * run-length encoded (sched_private.h L1, L2), hashed, written and read.
 *
 * The file (docs/determinism.md has the full description):
 *
 *     # free text (any number of comment lines, anywhere)
 *     hvlab-schedule 1
 *     vcpus 4
 *     decisions 123456
 *     hash 0x0123456789abcdef
 *     ---
 *     0x12 3 1x7 ...
 *
 * Header: `key value` lines, `hvlab-schedule 1` first; `vcpus` and
 * `decisions` required, `hash` optional (checked when present); unknown
 * keys are refused.  Body after `---`: whitespace-separated tokens, `V`
 * (vCPU V chosen once) or `VxN` (N times in a row), vCPU indices in
 * decimal, counts in decimal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/sched_private.h"

struct sched_log *sched_log_new(void)
{
    return calloc(1, sizeof(struct sched_log));
}

void sched_log_free(struct sched_log *l)
{
    if (l) {
        free(l->runs);
        free(l);
    }
}

bool sched_log_grow(struct sched_log *l)
{
    size_t cap = l->cap ? l->cap * 2 : 4096;
    struct sched_run_len *r = realloc(l->runs, cap * sizeof(*r));
    if (!r)
        return false;
    l->runs = r;
    l->cap = cap;
    return true;
}

/* Append n decisions of vCPU v (L1: merged into the last run). */
static bool sched_log_append_n(struct sched_log *l, unsigned v, uint64_t n)
{
    while (n) {
        struct sched_run_len *last = l->nr_runs ? &l->runs[l->nr_runs - 1] : NULL;
        if (!last || last->vcpu != v || last->count == UINT32_MAX) {
            if (l->nr_runs == l->cap && !sched_log_grow(l))
                return false;
            last = &l->runs[l->nr_runs++];
            *last = (struct sched_run_len){ v, 0 };
        }
        uint64_t room = UINT32_MAX - last->count;
        uint64_t take = n < room ? n : room;
        last->count += (uint32_t)take;
        l->decisions += take;
        n -= take;
    }
    return true;
}

uint64_t sched_log_decisions(const struct sched_log *l)
{
    return l->decisions;
}

unsigned sched_log_vcpus(const struct sched_log *l)
{
    return l->nr_vcpus;
}

uint64_t sched_log_hash(const struct sched_log *l)
{
    return XXH3_64bits(l->runs, l->nr_runs * sizeof(l->runs[0]));
}

int sched_log_write(const struct sched_log *l, const char *comment, FILE *f)
{
    if (comment)
        fprintf(f, "# %s\n", comment);
    fprintf(f, "hvlab-schedule 1\nvcpus %u\ndecisions %" PRIu64 "\n"
            "hash 0x%016" PRIx64 "\n---\n", l->nr_vcpus, l->decisions,
            sched_log_hash(l));
    for (size_t i = 0; i < l->nr_runs; i++) {
        const struct sched_run_len *r = &l->runs[i];
        if (r->count == 1)
            fprintf(f, "%u", r->vcpu);
        else
            fprintf(f, "%ux%u", r->vcpu, r->count);
        fputc((i % 16 == 15 || i + 1 == l->nr_runs) ? '\n' : ' ', f);
    }
    return ferror(f) ? -1 : 0;
}

static bool parse_u64(const char *s, char **end, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, end, 10);
    return errno == 0;
}

struct sched_log *sched_log_read(FILE *f, const char *name, char *why,
                                 size_t whylen)
{
    struct sched_log *l = sched_log_new();
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    bool magic = false, body = false, have_vcpus = false, have_dec = false,
         have_hash = false;
    uint64_t vcpus = 0, decisions = 0, hash = 0;

#define FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); goto fail; } while (0)
    if (!l)
        FAIL("%s: out of memory", name);
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        char *s = line + strspn(line, " \t");
        if (*s == '#' || *s == '\0')
            continue;
        if (!body) {
            char key[32];
            uint64_t val = 0;
            char *end = NULL;
            if (strcmp(s, "---") == 0) {
                if (!magic || !have_vcpus || !have_dec)
                    FAIL("%s:%u: '---' before the 'hvlab-schedule 1', 'vcpus' "
                         "and 'decisions' lines", name, lineno);
                body = true;
                continue;
            }
            size_t kl = strcspn(s, " \t");
            if (kl == 0 || kl >= sizeof(key))
                FAIL("%s:%u: expected 'key value'", name, lineno);
            memcpy(key, s, kl);
            key[kl] = '\0';
            const char *v = s + kl + strspn(s + kl, " \t");
            bool hex = strncmp(v, "0x", 2) == 0;
            if (hex) {
                errno = 0;
                val = strtoull(v + 2, &end, 16);
                if (errno || end == v + 2)
                    end = NULL;
            } else if (!parse_u64(v, &end, &val)) {
                end = NULL;
            }
            if (!end || *end != '\0')
                FAIL("%s:%u: '%s' needs a number", name, lineno, key);
            if (!magic) {
                if (strcmp(key, "hvlab-schedule") != 0 || val != 1)
                    FAIL("%s:%u: not a schedule file (expected "
                         "'hvlab-schedule 1' first)", name, lineno);
                magic = true;
            } else if (strcmp(key, "vcpus") == 0) {
                vcpus = val;
                have_vcpus = true;
            } else if (strcmp(key, "decisions") == 0) {
                decisions = val;
                have_dec = true;
            } else if (strcmp(key, "hash") == 0) {
                hash = val;
                have_hash = true;
            } else {
                FAIL("%s:%u: unknown key '%s' (known: vcpus, decisions, hash)",
                     name, lineno, key);
            }
            continue;
        }
        while (*s) {
            uint64_t v, n = 1;
            char *end;
            if (!parse_u64(s, &end, &v) || v >= vcpus)
                FAIL("%s:%u: '%.20s': expected a vCPU index below %" PRIu64,
                     name, lineno, s, vcpus);
            if (*end == 'x' && !parse_u64(end + 1, &end, &n))
                FAIL("%s:%u: '%.20s': expected VxN", name, lineno, s);
            if (n == 0 || (*end && *end != ' ' && *end != '\t'))
                FAIL("%s:%u: '%.20s': expected V or VxN (N >= 1)", name,
                     lineno, s);
            if (!sched_log_append_n(l, (unsigned)v, n))
                FAIL("%s: out of memory", name);
            s = end + strspn(end, " \t");
        }
    }
    if (!body)
        FAIL("%s: no schedule (missing the '---' line)", name);
    if (l->decisions != decisions)
        FAIL("%s: the header says %" PRIu64 " decisions, the body holds %"
             PRIu64, name, decisions, l->decisions);
    if (have_hash && sched_log_hash(l) != hash)
        FAIL("%s: hash mismatch (header 0x%016" PRIx64 ", body 0x%016" PRIx64
             "): the file was damaged", name, hash, sched_log_hash(l));
    if (vcpus == 0 || vcpus > SCHED_DET_MAX_VCPUS)
        FAIL("%s: 'vcpus %" PRIu64 "' out of range (1..%u)", name, vcpus,
             SCHED_DET_MAX_VCPUS);
    free(line);
    l->nr_vcpus = (unsigned)vcpus;
    return l;
fail:
#undef FAIL
    free(line);
    sched_log_free(l);
    return NULL;
}
