/*
 * toolstack/scenario.c - the scenario file parser (format: docs/scenarios.md).
 *
 * Rules (see also scenario.h S1-S4):
 *   P1  Directives and their key=value parameters are tables; adding one is
 *       one row, and error messages list the rows.
 *   P2  Every error is "FILE:LINE: what was wrong" and stops the parse: a
 *       scenario is either wholly valid or not returned.
 *   P3  Numbers are decimal or 0x-hex, never negative; sizes take K/M/G.
 *   P4  Defaults are applied when a directive omits a parameter; the
 *       whole-file checks (a workload per domain, RAM enough for the domains)
 *       run after the last line and name the line they concern.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inject/inject.h"
#include "toolstack/scenario.h"

#define SCN_MAX_TOKENS      16
#define SCN_LINE_MAX        1024

/* Defaults (P4), documented in docs/scenarios.md. */
#define DEF_VCPUS           1
#define DEF_MEMORY          (64ULL << 20)
#define DEF_PROCS           4
#define DEF_THREADS         1
#define DEF_ITERS           10
#define DEF_PAGES           16
#define DEF_RACE_GFNS       16      /* p2m-race: target gfns worked on */
#define DEF_BLK_OPS         1000    /* blk-io */
#define DEF_BLK_DEPTH       8
#define DEF_BLK_SEGS        (1ULL << 32 | 4)    /* 1..4 */
#define DEF_QUICKLIST       8       /* pt-reuse: L1s kept for reuse */
#define DEF_BLK_READS       50
#define DEF_BLK_SECTORS     4096    /* 2 MiB */
#define MIN_MEMORY          (1ULL << 20)
/* Machine RAM when no `machine` line: the domains plus room for Xen's own
   frames (M2P and its tables). */
#define RAM_SLACK           (16ULL << 20)

struct parse {
    struct scenario *sc;
    const char *file;
    unsigned line;
    char *err;
    size_t errlen;
};

static int perr(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int perr(struct parse *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, p->line);
    if (n < 0 || (size_t)n >= p->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- numbers (P3) -------------------------------------------------------- */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int scenario_parse_size(const char *s, uint64_t *bytes)
{
    if (!*s || *s == '-' || *s == '+' || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default: return -1;
        }
        end++;
        if (toupper((unsigned char)*end) == 'I')
            end++;
        if (toupper((unsigned char)*end) == 'B')
            end++;
        if (*end)
            return -1;
    }
    if (shift && v > (~0ULL >> shift))
        return -1;
    *bytes = (uint64_t)v << shift;
    return 0;
}

/* ---- key=value parameters (P1) ------------------------------------------- */
enum param_type { PT_UINT, PT_SIZE, PT_KIND, PT_PAGING, PT_ONOFF, PT_DOMAIN,
                  PT_RANGE /* MIN..MAX, stored as MIN << 32 | MAX */ };

struct param {
    const char *key;
    enum param_type type;
    uint64_t min, max;
    const char *meaning;
    size_t offset;                  /* of a uint64_t field of the args */
};

struct domain_args { uint64_t vcpus, memory, kind, paging; };
struct machine_args { uint64_t ram, host; };
struct workload_args { uint64_t procs, threads, iters, pages, target, gfns,
                        sharing, backend, ops, depth, segs, reads, verify,
                        sectors, xsa, suspend_every, quicklist, balloon; };

#define ARG(type, f)    offsetof(type, f)

static const struct param machine_params[] = {
    { "ram",  PT_SIZE, 4ULL << 20, 1ULL << 40, "host RAM (K/M/G)", ARG(struct machine_args, ram), },
    { "host", PT_UINT, 0, 255, "host id in trace events", ARG(struct machine_args, host), },
    { NULL, 0, 0, 0, NULL, 0 },
};
static const struct param domain_params[] = {
    { "kind",   PT_KIND, 0, 0, "pv or hvm", ARG(struct domain_args, kind), },
    { "paging", PT_PAGING, 0, 0, "hvm: shadow or hap", ARG(struct domain_args, paging), },
    { "vcpus",  PT_UINT, 1, HV_MAX_VCPUS, "virtual CPUs", ARG(struct domain_args, vcpus), },
    { "memory", PT_SIZE, MIN_MEMORY, 1ULL << 38, "guest memory (K/M/G)", ARG(struct domain_args, memory), },
    { NULL, 0, 0, 0, NULL, 0 },
};
static const struct param workload_params[] = {
    { "procs",   PT_UINT, 1, 4096, "concurrent processes", ARG(struct workload_args, procs), },
    { "threads", PT_UINT, 1, 64, "threads per process", ARG(struct workload_args, threads), },
    { "iters",   PT_UINT, 1, 100000000, "iterations per process", ARG(struct workload_args, iters), },
    { "pages",   PT_UINT, 1, 1 << 20, "working-set pages per process", ARG(struct workload_args, pages), },
    /* p2m-race (a privileged domain's story-B workload) */
    { "target",  PT_DOMAIN, 0, 0, "p2m-race: the HVM domain it maps and pages", ARG(struct workload_args, target), },
    { "gfns",    PT_UINT, 1, 4096, "p2m-race: how many of the target's top gfns", ARG(struct workload_args, gfns), },
    { "sharing", PT_ONOFF, 0, 0, "p2m-race: the pager also shares gfns (on/off)", ARG(struct workload_args, sharing), },
    /* blk-io (a PV blkfront; its backend runs the blkback workload) */
    { "backend", PT_DOMAIN, 0, 0, "blk-io: the driver domain (workload blkback)", ARG(struct workload_args, backend), },
    { "ops",     PT_UINT, 1, 100000000, "blk-io: requests to complete", ARG(struct workload_args, ops), },
    { "depth",   PT_UINT, 1, 32, "blk-io: requests in flight at most", ARG(struct workload_args, depth), },
    { "segs",    PT_RANGE, 1, 11, "blk-io: segments per request, MIN..MAX", ARG(struct workload_args, segs), },
    { "reads",   PT_UINT, 0, 100, "blk-io: percent of requests that read", ARG(struct workload_args, reads), },
    { "verify",  PT_ONOFF, 0, 0, "blk-io: check every sector read (on/off)", ARG(struct workload_args, verify), },
    { "sectors", PT_UINT, 88, 1 << 24, "blk-io: disk size in 512-byte sectors", ARG(struct workload_args, sectors), },
    { "suspend-every", PT_UINT, 0, 100000000, "blk-io: suspend and resume the vbd every N requests completed, with requests in flight (0: never)", ARG(struct workload_args, suspend_every), },
    /* grant-poc (a PV guest runs an XTF grant-table proof of concept) */
    { "xsa",     PT_UINT, 224, 316, "grant-poc: 224, 227, 234, 255 or 316", ARG(struct workload_args, xsa), },
    /* pt-reuse (story D's guest, guest/pt_reuse.c) */
    { "quicklist", PT_UINT, 0, 64, "pt-reuse: released L1s kept read-only for reuse, at most", ARG(struct workload_args, quicklist), },
    { "balloon", PT_ONOFF, 0, 0, "pt-reuse: give freed data pages back to Xen (on/off)", ARG(struct workload_args, balloon), },
    { NULL, 0, 0, 0, NULL, 0 },
};

struct migrate_args { uint64_t live, verify, after, max_iters, target_dirty,
                      to_host; };
static const struct param migrate_params[] = {
    { "live",   PT_ONOFF, 0, 0, "live rounds before the pause (on/off)", ARG(struct migrate_args, live), },
    { "verify", PT_ONOFF, 0, 0, "VERIFY record and every page again (on/off)", ARG(struct migrate_args, verify), },
    { "after",  PT_UINT, 0, ~0ULL, "start once the guest did this much (blk ops, else pages touched)", ARG(struct migrate_args, after), },
    { "max-iters", PT_UINT, 1, 64, "live iterations at most (Xen: 5)", ARG(struct migrate_args, max_iters), },
    { "target-dirty", PT_UINT, 0, ~0ULL, "pause once a round finds fewer dirty pages (Xen: 50)", ARG(struct migrate_args, target_dirty), },
    { "to-host", PT_UINT, 0, 255, "host id of the destination machine", ARG(struct migrate_args, to_host), },
    { NULL, 0, 0, 0, NULL, 0 },
};

static void param_keys(const struct param *t, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; t->key && n < len; t++)
        n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", t->key);
}

/* Parse tokens "k=v" against table t into the args struct. */
static int parse_params(struct parse *p, const char *what, const struct param *t,
                        char **tok, unsigned ntok, void *args)
{
    for (unsigned i = 0; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        char known[256];
        param_keys(t, known, sizeof(known));
        if (!eq)
            return perr(p, "%s: expected key=value, got '%s' (keys: %s)",
                        what, tok[i], known);
        *eq = '\0';
        const char *key = tok[i], *val = eq + 1;
        const struct param *pm = t;
        while (pm->key && strcmp(pm->key, key) != 0)
            pm++;
        if (!pm->key)
            return perr(p, "%s: unknown parameter '%s' (keys: %s)", what, key,
                        known);
        uint64_t v = 0;
        switch (pm->type) {
        case PT_KIND:
            if (strcmp(val, "pv") == 0)
                v = DOMAIN_PV;
            else if (strcmp(val, "hvm") == 0)
                v = DOMAIN_HVM;
            else
                return perr(p, "%s: kind must be pv or hvm, not '%s'", what, val);
            break;
        case PT_PAGING:
            if (strcmp(val, "shadow") == 0)
                v = PAGING_SHADOW;
            else if (strcmp(val, "hap") == 0)
                v = PAGING_HAP;
            else
                return perr(p, "%s: paging must be shadow or hap, not '%s'",
                            what, val);
            break;
        case PT_ONOFF:
            if (strcmp(val, "on") == 0)
                v = 1;
            else if (strcmp(val, "off") == 0)
                v = 0;
            else
                return perr(p, "%s: %s must be on or off, not '%s'", what,
                            key, val);
            break;
        case PT_DOMAIN: {          /* stored as its index + 1 */
            unsigned i = 0;
            while (i < p->sc->nr_domains && strcmp(p->sc->dom[i].name, val))
                i++;
            if (i == p->sc->nr_domains)
                return perr(p, "%s: %s=%s names no domain declared above",
                            what, key, val);
            v = i + 1;
            break;
        }
        case PT_SIZE:
            if (scenario_parse_size(val, &v) != 0)
                return perr(p, "%s: %s=%s is not a size (use e.g. 64M, 1G)",
                            what, key, val);
            if (v < pm->min || v > pm->max)
                return perr(p, "%s: %s=%s is out of range (%llu MiB to %llu GiB)",
                            what, key, val,
                            (unsigned long long)(pm->min >> 20),
                            (unsigned long long)(pm->max >> 30));
            break;
        case PT_RANGE: {
            uint64_t lo, hi;
            char *dots = strstr(val, "..");
            if (dots) {
                *dots = '\0';
                int bad = parse_u64(val, &lo) || parse_u64(dots + 2, &hi);
                *dots = '.';
                if (bad)
                    return perr(p, "%s: %s=%s is not MIN..MAX", what, key, val);
            } else if (parse_u64(val, &lo) == 0) {
                hi = lo;
            } else {
                return perr(p, "%s: %s=%s is not MIN..MAX", what, key, val);
            }
            if (lo < pm->min || hi > pm->max || lo > hi)
                return perr(p, "%s: %s=%s is out of range (%llu..%llu, MIN <= "
                            "MAX)", what, key, val,
                            (unsigned long long)pm->min,
                            (unsigned long long)pm->max);
            v = lo << 32 | hi;
            break;
        }
        case PT_UINT:
            if (parse_u64(val, &v) != 0)
                return perr(p, "%s: %s=%s is not a number", what, key, val);
            if (v < pm->min || v > pm->max)
                return perr(p, "%s: %s=%s is out of range (%llu..%llu)", what,
                            key, val, (unsigned long long)pm->min,
                            (unsigned long long)pm->max);
            break;
        }
        *(uint64_t *)((char *)args + pm->offset) = v;
    }
    return 0;
}

/* ---- options (S2) -------------------------------------------------------- */

/* Keys of a layer's option table, taken from its printer: the first word
   of every line that looks like a dotted key. */
static void layer_keys(void (*print)(FILE *), char *buf, size_t len, size_t *n)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f)
        return;
    print(f);
    fclose(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (isspace((unsigned char)*line))
            line++;
        size_t k = strcspn(line, " \t=:");
        if (k == 0 || memchr(line, '.', k) == NULL || line[0] == '#')
            continue;
        if (*n < len)
            *n += snprintf(buf + *n, len - *n, "%s%.*s", *n ? ", " : "",
                           (int)k, line);
    }
    free(text);
}

static void print_hv(FILE *f)
{
    struct hv_options o;
    hv_options_default(&o);
    hv_options_print(&o, f);
}

static void print_guest(FILE *f)
{
    struct guest_options o;
    guest_options_default(&o);
    guest_options_print(&o, f);
}

void scenario_option_keys(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    layer_keys(print_hv, buf, len, &n);
    layer_keys(print_guest, buf, len, &n);
}

/* Apply key=value to the right layer; -1 with why[] filled. */
static int apply_option(struct scenario *sc, const char *kv, char *why,
                        size_t whylen)
{
    char key[128];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(why, whylen, "expected key=value, got '%s'", kv);
        return -1;
    }
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof(key)) {
        snprintf(why, whylen, "option key too long in '%s'", kv);
        return -1;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    const char *val = eq + 1;
    if (!*val) {
        snprintf(why, whylen, "option %s has no value", key);
        return -1;
    }
    if (hv_option_known(key))
        return hv_option_set(&sc->hv, key, val, why, whylen);
    if (guest_option_known(key))
        return guest_option_set(&sc->guest, key, val, why, whylen);
    char keys[512];
    scenario_option_keys(keys, sizeof(keys));
    snprintf(why, whylen, "unknown option '%s' (known: %s)", key, keys);
    return -1;
}

int scenario_set(struct scenario *sc, const char *kv, const char *where,
                 char *err, size_t errlen)
{
    char why[768];
    if (apply_option(sc, kv, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s %s: %s", where, kv, why);
        return -1;
    }
    return 0;
}

/* ---- directives (P1) ----------------------------------------------------- */
struct directive {
    const char *name;
    const char *usage;
    int (*parse)(struct parse *p, char **tok, unsigned ntok);
};

static struct scn_domain *find_domain(struct scenario *sc, const char *name)
{
    for (unsigned i = 0; i < sc->nr_domains; i++)
        if (strcmp(sc->dom[i].name, name) == 0)
            return &sc->dom[i];
    return NULL;
}

static int d_machine(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    if (sc->has_machine)
        return perr(p, "machine: declared twice (one machine per scenario)");
    struct machine_args a = { .ram = 0, .host = 0 };
    if (parse_params(p, "machine", machine_params, tok, ntok, &a) != 0)
        return -1;
    sc->has_machine = true;
    sc->machine_line = p->line;
    sc->ram_bytes = a.ram;
    sc->host_id = (unsigned)a.host;
    return 0;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) >= SCN_NAME_MAX || !isalpha((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

static int d_domain(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    if (ntok < 1)
        return perr(p, "domain: missing its name (domain NAME vcpus=N memory=SIZE)");
    if (!valid_name(tok[0]) || strchr(tok[0], '='))
        return perr(p, "domain: '%s' is not a name (a letter, then letters, "
                    "digits, '-' or '_'; under %d characters)", tok[0], SCN_NAME_MAX);
    if (find_domain(sc, tok[0]))
        return perr(p, "domain: '%s' is declared twice (first on line %u)",
                    tok[0], find_domain(sc, tok[0])->line);
    if (sc->nr_domains >= HV_MAX_DOMAINS - 1)
        return perr(p, "domain: too many domains (at most %d)", HV_MAX_DOMAINS - 1);
    struct domain_args a = { .vcpus = DEF_VCPUS, .memory = DEF_MEMORY,
                             .kind = DOMAIN_PV, .paging = PAGING_PV };
    /* `privileged`: a bare word, anywhere after the name. */
    bool privileged = false;
    unsigned np = 0;
    char *params[SCN_MAX_TOKENS];
    for (unsigned i = 1; i < ntok; i++) {
        if (strcmp(tok[i], "privileged") == 0)
            privileged = true;
        else
            params[np++] = tok[i];
    }
    if (parse_params(p, "domain", domain_params, params, np, &a) != 0)
        return -1;
    if (privileged) {
        for (unsigned i = 0; i < sc->nr_domains; i++)
            if (sc->dom[i].privileged)
                return perr(p, "domain: '%s' is privileged too, but '%s' "
                            "(line %u) already is (one privileged domain)",
                            tok[0], sc->dom[i].name, sc->dom[i].line);
        if (a.kind != DOMAIN_PV)
            return perr(p, "domain: a privileged domain is kind=pv (its "
                        "tools map and page with PV hypercalls)");
    }
    if (a.kind == DOMAIN_PV && a.paging != PAGING_PV)
        return perr(p, "domain: paging= is for kind=hvm (a PV domain pages "
                    "directly)");
    if (a.kind == DOMAIN_HVM && a.paging == PAGING_PV)
        a.paging = PAGING_SHADOW;
    if (a.memory & PAGE_OFFSET_MASK)
        return perr(p, "domain: memory must be a whole number of 4 KiB pages");
    struct scn_domain *d = &sc->dom[sc->nr_domains++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", tok[0]);
    d->line = p->line;
    d->kind = (enum domain_kind)a.kind;
    d->paging = (enum paging_mode)a.paging;
    d->nr_vcpus = (unsigned)a.vcpus;
    d->nr_pages = a.memory >> PAGE_SHIFT;
    d->privileged = privileged;
    return 0;
}

static void workload_kinds(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < WL_NR && n < len; k++)
        n += snprintf(buf + n, len - n, "%s%s", k ? ", " : "",
                      workload_kind_name[k]);
}

static void domain_names(const struct scenario *sc, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sc->nr_domains && n < len; i++)
        n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", sc->dom[i].name);
    if (!sc->nr_domains)
        snprintf(buf, len, "none declared above this line");
}

static int d_workload(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    char list[256];
    if (ntok < 2)
        return perr(p, "workload: expected 'workload DOMAIN KIND [key=value...]'");
    struct scn_domain *d = find_domain(sc, tok[0]);
    if (!d) {
        domain_names(sc, list, sizeof(list));
        return perr(p, "workload: no domain '%s' (domains: %s)", tok[0], list);
    }
    if (d->has_workload)
        return perr(p, "workload: domain '%s' already has one (line %u)",
                    d->name, d->workload_line);
    unsigned kind = 0;
    while (kind < WL_NR && strcmp(workload_kind_name[kind], tok[1]) != 0)
        kind++;
    if (kind == WL_NR) {
        workload_kinds(list, sizeof(list));
        return perr(p, "workload: unknown kind '%s' (kinds: %s)", tok[1], list);
    }
    struct workload_args a = { .procs = DEF_PROCS, .threads = DEF_THREADS,
                               .iters = DEF_ITERS, .pages = DEF_PAGES,
                               .gfns = DEF_RACE_GFNS, .ops = DEF_BLK_OPS,
                               .depth = DEF_BLK_DEPTH, .segs = DEF_BLK_SEGS,
                               .reads = DEF_BLK_READS, .verify = 1,
                               .sectors = DEF_BLK_SECTORS,
                               .quicklist = DEF_QUICKLIST };
    if (parse_params(p, "workload", workload_params, tok + 2, ntok - 2, &a) != 0)
        return -1;
    bool race = kind == WL_P2M_RACE;
    if (!race && (a.target || a.sharing || a.gfns != DEF_RACE_GFNS))
        return perr(p, "workload: target=, gfns= and sharing= are for "
                    "p2m-race");
    bool blk = kind == WL_BLK_IO;
    if (!blk && (a.backend || a.ops != DEF_BLK_OPS || a.depth != DEF_BLK_DEPTH ||
                 a.segs != DEF_BLK_SEGS || a.reads != DEF_BLK_READS ||
                 !a.verify || a.sectors != DEF_BLK_SECTORS || a.suspend_every))
        return perr(p, "workload: backend=, ops=, depth=, segs=, reads=, "
                    "verify=, sectors= and suspend-every= are for blk-io");
    if (blk) {
        const struct scn_domain *b = a.backend ? &sc->dom[a.backend - 1] : NULL;
        if (d->kind != DOMAIN_PV)
            return perr(p, "workload: blk-io runs in a PV domain");
        if (!b)
            return perr(p, "workload: blk-io needs backend=NAME (a PV domain "
                        "declared above, whose workload is blkback)");
        if (b == d || b->kind != DOMAIN_PV ||
            (b->has_workload && b->wl.kind != WL_BLKBACK))
            return perr(p, "workload: blk-io backend '%s' must be another, "
                        "kind=pv, domain with workload blkback", b->name);
        if (a.sectors < (a.segs & 0xffffffffu) * 8)
            return perr(p, "workload: blk-io sectors=%llu is less than one "
                        "request of %llu pages", (unsigned long long)a.sectors,
                        (unsigned long long)(a.segs & 0xffffffffu));
    }
    if (kind == WL_BLKBACK && d->kind != DOMAIN_PV)
        return perr(p, "workload: blkback runs in a PV domain");
    bool poc = kind == WL_GRANT_POC;
    if (!poc && a.xsa)
        return perr(p, "workload: xsa= is for grant-poc");
    if (poc && d->kind != DOMAIN_PV)
        return perr(p, "workload: grant-poc runs in a PV domain");
    if (poc && a.xsa != 224 && a.xsa != 227 && a.xsa != 234 &&
        a.xsa != 255 && a.xsa != 316)
        return perr(p, "workload: grant-poc needs xsa=224, 227, 234, 255 "
                    "or 316");
    bool ptr = kind == WL_PT_REUSE;
    if (!ptr && (a.quicklist != DEF_QUICKLIST || a.balloon))
        return perr(p, "workload: quicklist= and balloon= are for pt-reuse");
    if (ptr && d->kind != DOMAIN_PV)
        return perr(p, "workload: pt-reuse runs in a PV domain");
    if (race) {
        const struct scn_domain *t = a.target ? &sc->dom[a.target - 1] : NULL;
        if (!d->privileged)
            return perr(p, "workload: p2m-race runs in a privileged domain "
                        "('domain %s privileged ...')", d->name);
        if (!t)
            return perr(p, "workload: p2m-race needs target=NAME (an HVM "
                        "domain declared above)");
        if (t == d || t->kind != DOMAIN_HVM)
            return perr(p, "workload: p2m-race target '%s' must be another, "
                        "kind=hvm, domain", t->name);
        if (t->nr_pages <= a.gfns)
            return perr(p, "workload: p2m-race gfns=%llu leaves target '%s' "
                        "no memory of its own", (unsigned long long)a.gfns,
                        t->name);
    }
    d->has_workload = true;
    d->workload_line = p->line;
    d->wl = (struct workload_params){
        .kind = (enum workload_kind)kind, .procs = (unsigned)a.procs,
        .threads = (unsigned)a.threads, .iters = (unsigned)a.iters,
        .pages = (unsigned)a.pages, .seed = 0,
        .gfns = race ? (unsigned)a.gfns : 0, .sharing = a.sharing != 0,
        .ops = blk ? (unsigned)a.ops : 0, .depth = blk ? (unsigned)a.depth : 0,
        .segs_min = blk ? (unsigned)(a.segs >> 32) : 0,
        .segs_max = blk ? (unsigned)(a.segs & 0xffffffffu) : 0,
        .reads = blk ? (unsigned)a.reads : 0, .verify = blk && a.verify,
        .sectors = blk ? a.sectors : 0,
        .suspend_every = blk ? (unsigned)a.suspend_every : 0,
        .xsa = poc ? (unsigned)a.xsa : 0,
        .quicklist = ptr ? (unsigned)a.quicklist : 0,
        .balloon = ptr && a.balloon,
    };
    d->wl_target = (unsigned)a.target;
    d->wl_backend = (unsigned)a.backend;
    return 0;
}

static int d_set(struct parse *p, char **tok, unsigned ntok)
{
    if (ntok != 1)
        return perr(p, "set: expected exactly one key=value (no spaces "
                    "around '=')");
    char why[768];
    if (apply_option(p->sc, tok[0], why, sizeof(why)) != 0)
        return perr(p, "set %s: %s", tok[0], why);
    return 0;
}

static int d_seed(struct parse *p, char **tok, unsigned ntok)
{
    if (ntok != 1 || parse_u64(tok[0], &p->sc->seed) != 0)
        return perr(p, "seed: expected one number ('seed 42')");
    return 0;
}

static int d_expect(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    char list[512];
    if (ntok < 1) {
        expect_names(list, sizeof(list));
        return perr(p, "expect: missing its name (expectations: %s)", list);
    }
    const struct expect_kind *k = expect_find(tok[0]);
    if (!k) {
        expect_names(list, sizeof(list));
        return perr(p, "expect: unknown expectation '%s' (expectations: %s)",
                    tok[0], list);
    }
    uint64_t arg = 0;
    if (k->arg) {
        if (ntok != 2)
            return perr(p, "expect %s: takes one number, %s ('expect %s 10')",
                        k->name, k->arg, k->name);
        if (parse_u64(tok[1], &arg) != 0)
            return perr(p, "expect %s: %s must be a number, not '%s'", k->name,
                        k->arg, tok[1]);
    } else if (ntok != 1) {
        return perr(p, "expect %s: takes no argument (got '%s')", k->name, tok[1]);
    }
    if (sc->nr_expects >= SCN_MAX_EXPECTS)
        return perr(p, "expect: too many expectations (at most %d)",
                    SCN_MAX_EXPECTS);
    sc->expect[sc->nr_expects++] = (struct scn_expect){ k, arg, p->line };
    return 0;
}

/* inject POINT:ACTION[,key=value]... (docs/inject.md) */
static int d_inject(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    char why[512];
    if (ntok != 1)
        return perr(p, "inject: expected one binding, POINT:ACTION[,key=value]"
                    "... with no blanks (e.g. 'inject alloc.domheap:fail,"
                    "errno=ENOMEM,nth=3')");
    if (!sc->inject && !(sc->inject = inj_plan_new()))
        return perr(p, "inject: out of memory");
    if (inj_plan_add(sc->inject, tok[0], p->file, p->line, why,
                     sizeof(why)) != 0) {
        snprintf(p->err, p->errlen, "%s", why);     /* names FILE:LINE */
        return -1;
    }
    return 0;
}

static int d_migrate(struct parse *p, char **tok, unsigned ntok)
{
    struct scenario *sc = p->sc;
    if (sc->mig.set)
        return perr(p, "migrate: one migration per scenario (the first is "
                    "on line %u)", sc->mig.line);
    if (ntok < 1)
        return perr(p, "migrate: missing the domain (migrate DOMAIN ...)");
    struct scn_domain *d = find_domain(sc, tok[0]);
    if (!d)
        return perr(p, "migrate: '%s' names no domain declared above", tok[0]);
    if (d->privileged)
        return perr(p, "migrate: '%s' is the privileged domain; hvlab "
                    "migrates guests, not dom0", tok[0]);
    struct migrate_args a = { .live = 1, .verify = 0, .after = 0,
                              .to_host = 256 };
    if (parse_params(p, "migrate", migrate_params, tok + 1, ntok - 1, &a) != 0)
        return -1;
    sc->mig = (struct scn_migrate){
        .set = true, .line = p->line, .dom = (unsigned)(d - sc->dom),
        .live = a.live, .verify = a.verify, .after = a.after,
        .max_iters = (unsigned)a.max_iters, .target_dirty = a.target_dirty,
        .to_host = (unsigned)a.to_host,    /* 256: the runner picks */
    };
    return 0;
}

int scenario_inject(struct scenario *sc, const char *arg, char *err,
                    size_t errlen)
{
    struct stat st;
    if (!sc->inject && !(sc->inject = inj_plan_new())) {
        snprintf(err, errlen, "--inject: out of memory");
        return -1;
    }
    if (stat(arg, &st) == 0 && S_ISREG(st.st_mode))
        return inj_plan_add_file(sc->inject, arg, err, errlen);
    return inj_plan_add(sc->inject, arg, "--inject", 0, err, errlen);
}

static const struct directive directives[] = {
    { "machine",  "machine ram=SIZE [host=N]",                 d_machine },
    { "domain",   "domain NAME [kind=pv|hvm] [paging=shadow|hap] [privileged] [vcpus=N] [memory=SIZE]", d_domain },
    { "workload", "workload DOMAIN KIND [procs=N] [threads=N] [iters=N] [pages=N] [target=NAME gfns=N sharing=on|off] [backend=NAME ops=N depth=N segs=MIN..MAX reads=PCT verify=on|off sectors=N suspend-every=N] [quicklist=N balloon=on|off]",
                                                               d_workload },
    { "set",      "set KEY=VALUE",                             d_set },
    { "seed",     "seed N",                                    d_seed },
    { "expect",   "expect NAME [N]",                           d_expect },
    { "inject",   "inject POINT:ACTION[,key=value]...",        d_inject },
    { "migrate",  "migrate DOMAIN [live=on|off] [verify=on|off] [after=N] [max-iters=N] [target-dirty=N] [to-host=N]",
                                                               d_migrate },
};

/* ---- the file ------------------------------------------------------------ */

/* Split a line into whitespace-separated tokens (in place); drops comments. */
static unsigned tokenize(char *line, char **tok, unsigned max, bool *overflow)
{
    unsigned n = 0;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    *overflow = false;
    for (char *s = strtok(line, " \t\r\n"); s; s = strtok(NULL, " \t\r\n")) {
        if (n == max) {
            *overflow = true;
            break;
        }
        tok[n++] = s;
    }
    return n;
}

static int parse_line(struct parse *p, char *line)
{
    char *tok[SCN_MAX_TOKENS];
    bool overflow;
    unsigned n = tokenize(line, tok, SCN_MAX_TOKENS, &overflow);
    if (overflow)
        return perr(p, "too many words on one line (at most %d)", SCN_MAX_TOKENS);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(directives); i++)
        if (strcmp(directives[i].name, tok[0]) == 0)
            return directives[i].parse(p, tok + 1, n - 1);
    char list[256];
    size_t k = 0;
    for (size_t i = 0; i < ARRAY_SIZE(directives); i++)
        k += snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "",
                      directives[i].name);
    return perr(p, "unknown directive '%s' (directives: %s)", tok[0], list);
}

/* Whole-file checks (P4). */
static int finish(struct parse *p)
{
    struct scenario *sc = p->sc;
    if (sc->nr_domains == 0) {
        p->line++;      /* past the last line */
        return perr(p, "no domain declared (add 'domain NAME vcpus=N memory=SIZE')");
    }
    uint64_t need = RAM_SLACK;
    for (unsigned i = 0; i < sc->nr_domains; i++) {
        struct scn_domain *d = &sc->dom[i];
        if (!d->has_workload) {
            p->line = d->line;
            return perr(p, "domain '%s' has no workload (add 'workload %s "
                        "fork-storm procs=N ...')", d->name, d->name);
        }
        need += d->nr_pages << PAGE_SHIFT;
    }
    if (!sc->has_machine) {
        sc->ram_bytes = need;
    } else if (sc->ram_bytes < need) {
        p->line = sc->machine_line;
        return perr(p, "machine: ram=%llu MiB cannot hold its domains "
                    "(they need %llu MiB with Xen's own frames)",
                    (unsigned long long)(sc->ram_bytes >> 20),
                    (unsigned long long)(need >> 20));
    }
    return 0;
}

struct scenario *scenario_parse_text(const char *name, const char *text,
                                     char *err, size_t errlen)
{
    struct scenario *sc = calloc(1, sizeof(*sc));
    if (!sc) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    snprintf(sc->path, sizeof(sc->path), "%s", name);
    hv_options_default(&sc->hv);
    guest_options_default(&sc->guest);
    struct parse p = { .sc = sc, .file = name, .line = 0, .err = err,
                       .errlen = errlen };
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[SCN_LINE_MAX];
        p.line++;
        if (len >= sizeof(line)) {
            perr(&p, "line longer than %d characters", SCN_LINE_MAX - 1);
            goto fail;
        }
        memcpy(line, s, len);
        line[len] = '\0';
        if (parse_line(&p, line) != 0)
            goto fail;
        s += len + (nl ? 1 : 0);
    }
    if (finish(&p) != 0)
        goto fail;
    return sc;
fail:
    scenario_free(sc);
    return NULL;
}

struct scenario *scenario_parse_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open scenario: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t cap = 0, len = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return NULL;
            }
            text = t;
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        snprintf(err, errlen, "%s: read error", path);
        return NULL;
    }
    if (memchr(text ? text : "", '\0', len)) {
        free(text);
        snprintf(err, errlen, "%s: not a text file", path);
        return NULL;
    }
    if (text)
        text[len] = '\0';
    struct scenario *sc = scenario_parse_text(path, text ? text : "", err, errlen);
    free(text);
    return sc;
}

void scenario_free(struct scenario *sc)
{
    if (sc)
        inj_plan_free(sc->inject);
    free(sc);
}
