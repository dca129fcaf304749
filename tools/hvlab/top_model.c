/*
 * tools/hvlab/top_model.c - the pure parts of `hvlab top` (rules P1-P5 in
 * top_model.h): percentiles, names, the sample's JSON and table, and the
 * process search.
 */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/xen.h>

#include "analysis/hcall_name.h"
#include "core/lock.h"
#include "core/traps.h"
#include "inject/inject.h"
#include "tools/hvlab/top_model.h"
#include "toolstack/migrate.h"

/* ---- histograms (P1) ------------------------------------------------------ */

uint64_t top_hist_total(const __u64 *hist, unsigned n)
{
    uint64_t t = 0;
    for (unsigned b = 0; b < n; b++)
        t += hist[b];
    return t;
}

static uint64_t bucket_upper(unsigned b)
{
    return b >= 63 ? UINT64_MAX : (2ull << b) - 1;
}

uint64_t top_hist_percentile(const __u64 *hist, unsigned n, double p)
{
    uint64_t total = top_hist_total(hist, n);
    if (total == 0)
        return 0;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    /* The rank: the smallest count c with c >= p * total (at least 1). */
    double want = p * (double)total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < n; b++) {
        seen += hist[b];
        if (seen >= rank)
            return bucket_upper(b);
    }
    return bucket_upper(n - 1);
}

void top_hist_print(FILE *f, const __u64 *hist, unsigned n)
{
    uint64_t max = 0;
    for (unsigned b = 0; b < n; b++)
        if (hist[b] > max)
            max = hist[b];
    if (max == 0) {
        fprintf(f, "  (no calls)\n");
        return;
    }
    for (unsigned b = 0; b < n; b++) {
        if (!hist[b])
            continue;
        uint64_t lo = b ? 1ull << b : 0;
        unsigned bar = (unsigned)((hist[b] * 40 + max - 1) / max);
        fprintf(f, "  %12llu .. %-12llu ns %10llu |%.*s\n",
                (unsigned long long)lo, (unsigned long long)bucket_upper(b),
                (unsigned long long)hist[b], (int)bar,
                "########################################");
    }
}

/* ---- names ---------------------------------------------------------------- */


const char *top_hcall_name(unsigned op)
{
    return hcall_name(op);
}

int top_hcall_parse(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    long v = strtol(s, &end, 0);
    if (*end == '\0')
        return v >= 0 && v < 4096 ? (int)v : -1;
    return hcall_number(s);
}

/* P3: the table of outcomes. */
static const struct {
    const char *name;
    enum top_fault_class cls;
} fault_outcomes[] = {
    [HVF_PTWR]             = { "ptwr", TOP_FAULT_FIXED },
    [HVF_SPURIOUS]         = { "spurious", TOP_FAULT_FAST },
    [HVF_BOUNCED]          = { "bounced", TOP_FAULT_BOUNCED },
    [HVF_KILLED]           = { "killed", TOP_FAULT_KILLED },
    [HVF_HV_ACCESS_FAILED] = { "hv_access_failed", TOP_FAULT_KILLED },
    [HVF_SH_FIXED]         = { "sh_fixed", TOP_FAULT_FIXED },
    [HVF_SH_EMULATED]      = { "sh_emulated", TOP_FAULT_SLOW },
    [HVF_NPF_FIXED]        = { "npf_fixed", TOP_FAULT_FIXED },
    [HVF_NPF_EMULATED]     = { "npf_emulated", TOP_FAULT_SLOW },
    [HVF_NPF_KILLED]       = { "npf_killed", TOP_FAULT_KILLED },
};
#define NR_OUTCOMES (sizeof(fault_outcomes) / sizeof(fault_outcomes[0]))

static const char *const class_names[TOP_FAULT_NR_CLASSES] = {
    [TOP_FAULT_FAST] = "fast", [TOP_FAULT_FIXED] = "fixed",
    [TOP_FAULT_SLOW] = "slow", [TOP_FAULT_BOUNCED] = "bounced",
    [TOP_FAULT_KILLED] = "killed",
};

enum top_fault_class top_fault_class_of(unsigned outcome)
{
    if (outcome < NR_OUTCOMES && fault_outcomes[outcome].name)
        return fault_outcomes[outcome].cls;
    return TOP_FAULT_KILLED;
}

const char *top_fault_class_name(enum top_fault_class c)
{
    return (unsigned)c < TOP_FAULT_NR_CLASSES ? class_names[c] : "?";
}

const char *top_fault_outcome_name(unsigned outcome)
{
    if (outcome < NR_OUTCOMES && fault_outcomes[outcome].name)
        return fault_outcomes[outcome].name;
    return "?";
}

const char *top_lock_class_name(unsigned level)
{
    return hv_lock_level_name(level);
}

/* ---- a sample ------------------------------------------------------------- */

static int cmp_hcall(const void *a, const void *b)
{
    const struct top_hcall_row *x = a, *y = b;
    if (x->k.host != y->k.host)
        return x->k.host < y->k.host ? -1 : 1;
    if (x->k.dom != y->k.dom)
        return x->k.dom < y->k.dom ? -1 : 1;
    return x->k.op < y->k.op ? -1 : x->k.op > y->k.op;
}

static int cmp_fault(const void *a, const void *b)
{
    const struct top_fault_row *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    return x->outcome < y->outcome ? -1 : x->outcome > y->outcome;
}

static int cmp_grant(const void *a, const void *b)
{
    const struct top_grant_row *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    return x->dom < y->dom ? -1 : x->dom > y->dom;
}

static int cmp_inject(const void *a, const void *b)
{
    const struct top_inject_row *x = a, *y = b;
    if (x->point != y->point)
        return x->point < y->point ? -1 : 1;
    return x->action < y->action ? -1 : x->action > y->action;
}

void top_sample_finish(struct top_sample *s, const struct top_sample *prev)
{
    qsort(s->hcalls, s->nr_hcalls, sizeof(s->hcalls[0]), cmp_hcall);
    qsort(s->faults, s->nr_faults, sizeof(s->faults[0]), cmp_fault);
    qsort(s->grants, s->nr_grants, sizeof(s->grants[0]), cmp_grant);
    qsort(s->injects, s->nr_injects, sizeof(s->injects[0]), cmp_inject);
    for (unsigned i = 0; i < s->nr_hcalls; i++) {
        struct top_hcall_row *r = &s->hcalls[i];
        uint64_t before = 0;
        if (prev) {
            const struct top_hcall_row *p =
                bsearch(r, prev->hcalls, prev->nr_hcalls, sizeof(*r), cmp_hcall);
            if (p)
                before = p->v.count;
        }
        uint64_t d = r->v.count >= before ? r->v.count - before : 0;
        r->rate = s->interval_s > 0 ? (double)d / s->interval_s : 0;
    }
}

static double per_second(uint64_t n, uint64_t ns)
{
    return ns ? (double)n * 1e9 / (double)ns : 0;
}

double top_mig_dirty_rate(const struct top_sample *s, unsigned i)
{
    /* P6: a round's dirtied pages were dirtied between the previous CLEAN
       of its domain and its own. */
    const struct top_mig_round *r = &s->mig[i];
    if (r->kind == MIG_ROUND_VERIFY || r->clean_ns == 0)
        return 0;
    for (unsigned j = i; j-- > 0; ) {
        const struct top_mig_round *p = &s->mig[j];
        if (p->host != r->host || p->dom != r->dom ||
            p->kind == MIG_ROUND_VERIFY)
            continue;
        if (p->clean_ns == 0 || p->clean_ns >= r->clean_ns)
            return 0;
        return per_second(r->dirtied, r->clean_ns - p->clean_ns);
    }
    return 0;
}

const char *top_mig_kind_name(unsigned kind)
{
    static const char *const names[] = {
        [MIG_ROUND_LIVE] = "live", [MIG_ROUND_FINAL] = "final",
        [MIG_ROUND_VERIFY] = "verify",
    };
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static const char *inject_name(uint32_t point)
{
    return point < INJ_NR_POINTS ? inj_points[point].name : "?";
}

static const char *action_name(uint32_t action)
{
    return action < INJ_NR_ACTIONS ? inj_action_names[action] : "?";
}

static void json_hist(FILE *f, const __u64 *h, unsigned n)
{
    fputc('[', f);
    for (unsigned b = 0; b < n; b++)
        fprintf(f, "%s%llu", b ? "," : "", (unsigned long long)h[b]);
    fputc(']', f);
}

void top_sample_json(FILE *f, const struct top_sample *s)
{
    fprintf(f, "{\"pid\":%d,\"interval_s\":%.3f,\"hypercalls\":[",
            s->pid, s->interval_s);
    for (unsigned i = 0; i < s->nr_hcalls; i++) {
        const struct top_hcall_row *r = &s->hcalls[i];
        const char *name = top_hcall_name(r->k.op);
        fprintf(f, "%s{\"host\":%u,\"dom\":%u,\"op\":%u,\"name\":\"%s\","
                   "\"count\":%llu,"
                   "\"errors\":%llu,\"untimed\":%llu,\"rate\":%.1f,"
                   "\"mean_ns\":%llu,"
                   "\"p50_ns\":%llu,\"p99_ns\":%llu,\"hist\":",
                i ? "," : "", r->k.host, r->k.dom, r->k.op, name ? name : "?",
                (unsigned long long)r->v.count,
                (unsigned long long)r->v.errors,
                (unsigned long long)r->v.untimed, r->rate,
                (unsigned long long)(r->v.count > r->v.untimed
                    ? r->v.ns_sum / (r->v.count - r->v.untimed) : 0),
                (unsigned long long)top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.50),
                (unsigned long long)top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.99));
        json_hist(f, r->v.hist, TOP_HIST_BUCKETS);
        fputc('}', f);
    }
    fputs("],\"faults\":[", f);
    for (unsigned i = 0; i < s->nr_faults; i++) {
        const struct top_fault_row *r = &s->faults[i];
        fprintf(f, "%s{\"host\":%u,\"dom\":%u,\"outcome\":\"%s\","
                   "\"class\":\"%s\",\"count\":%llu}", i ? "," : "",
                r->host, r->dom,
                top_fault_outcome_name(r->outcome),
                top_fault_class_name(top_fault_class_of(r->outcome)),
                (unsigned long long)r->count);
    }
    fputs("],\"locks\":[", f);
    int first = 1;
    for (unsigned c = 0; c < TOP_LOCK_CLASSES; c++) {
        const struct top_lock_val *l = &s->locks[c];
        if (!l->contended && !l->acquired && !l->released)
            continue;
        const char *name = top_lock_class_name(c);
        fprintf(f, "%s{\"class\":%u,\"name\":\"%s\",\"contended\":%llu,"
                   "\"wait_ns\":%llu,\"wait_p50_ns\":%llu,\"wait_p99_ns\":%llu,"
                   "\"acquired\":%llu,\"released\":%llu,\"hold_p50_ns\":%llu,"
                   "\"hold_p99_ns\":%llu}",
                first ? "" : ",", c, name ? name : "?",
                (unsigned long long)l->contended,
                (unsigned long long)l->wait_ns_sum,
                (unsigned long long)top_hist_percentile(l->wait_hist, TOP_HIST_BUCKETS, 0.50),
                (unsigned long long)top_hist_percentile(l->wait_hist, TOP_HIST_BUCKETS, 0.99),
                (unsigned long long)l->acquired, (unsigned long long)l->released,
                (unsigned long long)top_hist_percentile(l->hold_hist, TOP_HIST_BUCKETS, 0.50),
                (unsigned long long)top_hist_percentile(l->hold_hist, TOP_HIST_BUCKETS, 0.99));
        first = 0;
    }
    fputs("],\"migration\":[", f);
    for (unsigned i = 0; i < s->nr_mig; i++) {
        const struct top_mig_round *r = &s->mig[i];
        fprintf(f, "%s{\"host\":%u,\"dom\":%u,\"iter\":%u,\"kind\":\"%s\","
                   "\"final\":%s,\"sent\":%llu,"
                   "\"dirtied\":%llu,\"ns\":%llu,\"dirty_pages_per_s\":%.0f}",
                i ? "," : "", r->host, r->dom, r->iter,
                top_mig_kind_name(r->kind),
                r->kind == MIG_ROUND_FINAL ? "true" : "false",
                (unsigned long long)r->sent, (unsigned long long)r->dirtied,
                (unsigned long long)r->ns, top_mig_dirty_rate(s, i));
    }
    fputs("],\"grants\":[", f);
    for (unsigned i = 0; i < s->nr_grants; i++) {
        const struct top_grant_row *r = &s->grants[i];
        fprintf(f, "%s{\"host\":%u,\"dom\":%u,\"maps\":%llu,"
                   "\"map_errors\":%llu,"
                   "\"unmaps\":%llu,\"unmap_errors\":%llu}", i ? "," : "",
                r->host, r->dom, (unsigned long long)r->maps,
                (unsigned long long)r->map_errors,
                (unsigned long long)r->unmaps,
                (unsigned long long)r->unmap_errors);
    }
    fputs("],\"injections\":[", f);
    for (unsigned i = 0; i < s->nr_injects; i++) {
        const struct top_inject_row *r = &s->injects[i];
        fprintf(f, "%s{\"point\":\"%s\",\"action\":\"%s\",\"count\":%llu}",
                i ? "," : "", inject_name(r->point), action_name(r->action),
                (unsigned long long)r->count);
    }
    fprintf(f, "],\"dropped\":%llu}\n", (unsigned long long)s->dropped);
}

static void fmt_ns(char *buf, size_t n, uint64_t ns)
{
    if (ns < 10000)
        snprintf(buf, n, "%lluns", (unsigned long long)ns);
    else if (ns < 10000000)
        snprintf(buf, n, "%.1fus", (double)ns / 1e3);
    else
        snprintf(buf, n, "%.1fms", (double)ns / 1e6);
}

void top_sample_table(FILE *f, const struct top_sample *s, int locks)
{
    char a[32], b[32];
    fprintf(f, "hvlab top - pid %d, every %.1fs\n\n", s->pid, s->interval_s);
    fprintf(f, "%-4s %-5s %-30s %12s %10s %9s %9s %8s\n", "HOST", "DOM",
            "HYPERCALL",
            "COUNT", "RATE/s", "P50", "P99", "ERRORS");
    for (unsigned i = 0; i < s->nr_hcalls; i++) {
        const struct top_hcall_row *r = &s->hcalls[i];
        const char *name = top_hcall_name(r->k.op);
        char nb[32];
        if (!name) {
            snprintf(nb, sizeof(nb), "op %u", r->k.op);
            name = nb;
        }
        fmt_ns(a, sizeof(a), top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.50));
        fmt_ns(b, sizeof(b), top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.99));
        fprintf(f, "%-4u %-5u %-30s %12llu %10.0f %9s %9s %8llu\n",
                r->k.host, r->k.dom, name,
                (unsigned long long)r->v.count, r->rate, a, b,
                (unsigned long long)r->v.errors);
    }
    if (s->nr_faults) {
        fprintf(f, "\n%-4s %-5s %10s %10s %10s %10s %10s\n", "HOST", "DOM",
                "FAST", "FIXED", "SLOW", "BOUNCED", "KILLED");
        for (unsigned i = 0; i < s->nr_faults; ) {
            uint32_t host = s->faults[i].host, dom = s->faults[i].dom;
            uint64_t c[TOP_FAULT_NR_CLASSES] = { 0 };
            for (; i < s->nr_faults && s->faults[i].host == host &&
                   s->faults[i].dom == dom; i++)
                c[top_fault_class_of(s->faults[i].outcome)] += s->faults[i].count;
            fprintf(f, "%-4u %-5u %10llu %10llu %10llu %10llu %10llu\n",
                    host, dom,
                    (unsigned long long)c[0], (unsigned long long)c[1],
                    (unsigned long long)c[2], (unsigned long long)c[3],
                    (unsigned long long)c[4]);
        }
    }
    int hdr = 0;
    for (unsigned c = 0; c < TOP_LOCK_CLASSES; c++) {
        const struct top_lock_val *l = &s->locks[c];
        if (!l->contended && !l->acquired)
            continue;
        if (!hdr) {
            fprintf(f, "\n%-12s %12s %9s %9s", "LOCK", "CONTENDED",
                    "WAIT P50", "WAIT P99");
            if (locks)
                fprintf(f, " %12s %9s %9s", "ACQUIRED", "HOLD P50", "HOLD P99");
            fputc('\n', f);
            hdr = 1;
        }
        const char *name = top_lock_class_name(c);
        char nb[32];
        if (!name) {
            snprintf(nb, sizeof(nb), "level %u", c);
            name = nb;
        }
        fmt_ns(a, sizeof(a), top_hist_percentile(l->wait_hist, TOP_HIST_BUCKETS, 0.50));
        fmt_ns(b, sizeof(b), top_hist_percentile(l->wait_hist, TOP_HIST_BUCKETS, 0.99));
        fprintf(f, "%-12s %12llu %9s %9s", name,
                (unsigned long long)l->contended, a, b);
        if (locks) {
            fmt_ns(a, sizeof(a), top_hist_percentile(l->hold_hist, TOP_HIST_BUCKETS, 0.50));
            fmt_ns(b, sizeof(b), top_hist_percentile(l->hold_hist, TOP_HIST_BUCKETS, 0.99));
            fprintf(f, " %12llu %9s %9s", (unsigned long long)l->acquired, a, b);
        }
        fputc('\n', f);
    }
    if (s->nr_mig) {
        fprintf(f, "\n%-4s %-5s %5s %6s %10s %10s %10s %14s\n", "HOST",
                "DOM", "ROUND", "KIND", "SENT", "DIRTIED", "TIME",
                "DIRTY PAGES/s");
        for (unsigned i = 0; i < s->nr_mig; i++) {
            const struct top_mig_round *r = &s->mig[i];
            fmt_ns(a, sizeof(a), r->ns);
            fprintf(f, "%-4u %-5u %5u %6s %10llu %10llu %10s %14.0f\n",
                    r->host, r->dom, r->iter, top_mig_kind_name(r->kind),
                    (unsigned long long)r->sent,
                    (unsigned long long)r->dirtied, a,
                    top_mig_dirty_rate(s, i));
        }
    }
    if (s->nr_grants) {
        fprintf(f, "\n%-4s %-5s %10s %10s %10s %10s\n", "HOST", "DOM",
                "MAPS", "MAP ERR", "UNMAPS", "UNMAP ERR");
        for (unsigned i = 0; i < s->nr_grants; i++) {
            const struct top_grant_row *r = &s->grants[i];
            fprintf(f, "%-4u %-5u %10llu %10llu %10llu %10llu\n",
                    r->host, r->dom,
                    (unsigned long long)r->maps,
                    (unsigned long long)r->map_errors,
                    (unsigned long long)r->unmaps,
                    (unsigned long long)r->unmap_errors);
        }
    }
    if (s->nr_injects) {
        fprintf(f, "\n%-40s %-10s %10s\n", "INJECTION POINT", "ACTION", "FIRED");
        for (unsigned i = 0; i < s->nr_injects; i++)
            fprintf(f, "%-40s %-10s %10llu\n", inject_name(s->injects[i].point),
                    action_name(s->injects[i].action),
                    (unsigned long long)s->injects[i].count);
    }
    if (s->dropped)
        fprintf(f, "\n(%llu events dropped: a map was full)\n",
                (unsigned long long)s->dropped);
}

/* ---- the process (P4) ----------------------------------------------------- */

/* The commands that run a machine: an hvlab running any other (top,
   analyze, help, options, inject list, version) has no vCPU to watch. */
static const char *const top_running_cmds[] = {
    "run", "migrate", "receive", "explore", "repro", "fuzz",
};

static int is_hvlab_exe(const char *target)
{
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    return strcmp(base, "hvlab") == 0 || strcmp(base, "hvlab (deleted)") == 0;
}

/* The raw cmdline of pid (NUL-separated) into buf; its length, -1 if
   unreadable. */
static ssize_t read_cmdline(const char *proc_root, pid_t pid, char *buf,
                            size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* argv[1] of the process is a command that runs a machine. */
static int runs_machine(const char *proc_root, pid_t pid)
{
    char buf[256];
    ssize_t n = read_cmdline(proc_root, pid, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    size_t l0 = strnlen(buf, (size_t)n);
    if (l0 + 1 >= (size_t)n)
        return 0;                       /* no argv[1] */
    const char *cmd = buf + l0 + 1;
    for (size_t i = 0; i < sizeof(top_running_cmds) / sizeof(top_running_cmds[0]); i++)
        if (strcmp(cmd, top_running_cmds[i]) == 0)
            return 1;
    return 0;
}

char *top_cmdline(const char *proc_root, pid_t pid, char *buf, size_t n)
{
    ssize_t got = read_cmdline(proc_root, pid, buf, n);
    if (got <= 0) {
        buf[0] = '\0';
        return buf;
    }
    while (got > 0 && buf[got - 1] == '\0')
        got--;
    for (ssize_t i = 0; i < got; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[got] = '\0';
    return buf;
}

/* The parent pid from PID/stat ("pid (comm) state ppid ..."), 0 if none. */
static pid_t parent_of(const char *proc_root, pid_t pid)
{
    char path[PATH_MAX], buf[512];
    snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');  /* comm may hold spaces and ')' */
    char state;
    int ppid;
    if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || ppid < 0)
        return 0;
    return (pid_t)ppid;
}

int top_is_hvlab(const char *proc_root, pid_t pid)
{
    char path[PATH_MAX], target[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)pid);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return is_hvlab_exe(target) && runs_machine(proc_root, pid);
}

int top_find_hvlab(const char *proc_root, pid_t self, pid_t *out, int max)
{
    DIR *d = opendir(proc_root);
    if (!d)
        return 0;
    size_t nr = 0, cap = 0;
    struct cand { pid_t pid, ppid; } *c = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        if (!top_is_hvlab(proc_root, (pid_t)pid))
            continue;
        if (nr == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct cand *nc = realloc(c, ncap * sizeof(*c));
            if (!nc)
                break;
            c = nc;
            cap = ncap;
        }
        c[nr].pid = (pid_t)pid;
        c[nr].ppid = parent_of(proc_root, (pid_t)pid);
        nr++;
    }
    closedir(d);
    int found = 0;
    for (size_t i = 0; i < nr; i++) {
        int parent = 0;                 /* P4: a child is the one running */
        for (size_t j = 0; j < nr && !parent; j++)
            parent = c[j].ppid == c[i].pid;
        if (parent)
            continue;
        if (found < max)
            out[found] = c[i].pid;
        found++;
    }
    free(c);
    return found;
}
