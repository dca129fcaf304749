/*
 * tools/hvlab/campaign.c - an AFL++ sync directory read back: its
 * instances' fuzzer_stats combined into one table, its crash files, the
 * line that replays each (docs/fuzz-campaign.md).
 *
 * Rules:
 *   G1  An instance is a subdirectory of the sync dir, not starting with
 *       '.', holding a fuzzer_stats file ("key : value" lines, AFL++
 *       docs/afl-fuzz_approach.md).  Instances are listed by name, main
 *       first.  A missing key reads as 0 (stability: unknown, "-"); an
 *       exec/s AFL++ writes as "inf" (no run time yet) reads as 0.  A
 *       value that does not parse whole (a sign, "nan", trailing text, out
 *       of range, not finite) is garbled: "?" in the table, null in JSON,
 *       0 in the total.
 *   G2  DIR/.hvlab/campaign ("surface=S" and "set=k=v,k=v" lines) records
 *       how `hvlab fuzz` started the campaign, so --status and the replay
 *       lines know the surface and options; AFL++ never looks into a dot
 *       directory of the sync dir.
 *   G3  An instance is running while its stats were updated in the last
 *       CAMP_STALE_SECS and, when it runs on this host, its fuzzer_pid is
 *       alive (ESRCH: stopped).  Its host is DIR/.hvlab/NAME.host (written
 *       by `hvlab fuzz` before it starts it); without that file an
 *       instance named HOST-sN belongs to HOST, any other to this host.
 *       Another host's pid means nothing here: only the stats' age counts.
 *   G4  The total: execs, exec/s, crashes and hangs summed (saturating at
 *       the type's maximum); corpus the
 *       largest (synced corpora hold the same inputs); stability the
 *       lowest; last find the newest; running when any instance is.
 *   G5  The table: one line per instance and the total line, columns
 *       instance, state, execs, exec/s, corpus, crashes, hangs, stability,
 *       last find (as "Ns/Nm/Nh ago", "never").
 *   G6  A status line (not a terminal): elapsed time, instances running
 *       of all, then the total's figures.
 *   G7  --json: one object {dir, surface, sets, instances[], total,
 *       crash_files}; numbers as numbers, stability null when unknown.
 *   G8  A crash file is DIR/INSTANCE/crashes/id:*; each is announced once,
 *       an instance's in id order.  AFL++ numbers them in order, so the
 *       scan remembers the next id per instance (no list of paths, no
 *       limit) and lists a crashes dir again only when its mtime moved.
 *       Its replay line is `HVLAB repro PATH [--surface S] [--set K=V]...`,
 *       with --surface when the path does not name the surface as `hvlab
 *       repro` infers it (a component S, S-*, S_* or *-S), and the path
 *       single-quoted when it holds a character the shell would read.
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "tools/hvlab/campaign.h"

#define CAMP_STALE_SECS 120

/* ---- G1: one fuzzer_stats ------------------------------------------------ */

static void stat_value(const char *line, const char *key, char *val, size_t len)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || (line[k] != ' ' && line[k] != ':'))
        return;
    const char *p = line + k;
    while (*p == ' ')
        p++;
    if (*p != ':')
        return;
    p++;
    while (*p == ' ')
        p++;
    snprintf(val, len, "%s", p);
    size_t n = strlen(val);
    while (n && (val[n - 1] == '\n' || val[n - 1] == ' '))
        val[--n] = '\0';
}

/* A count: digits only (no sign), all of val; -1 when garbled.  "" is 0. */
static int parse_count(const char *val, unsigned long long max,
                       unsigned long long *out)
{
    *out = 0;
    if (!val[0])
        return 0;
    if (val[0] < '0' || val[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A finite, non-negative real, all of val but a trailing '%' when pct;
   -1 when garbled.  "" is 0. */
static int parse_real(const char *val, bool pct, double *out)
{
    *out = 0;
    if (!val[0])
        return 0;
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (pct && *end == '%')
        end++;
    if (end == val || *end || errno == ERANGE || !isfinite(v) || v < 0 ||
        v > 1e15)
        return -1;
    *out = v;
    return 0;
}

/* G3: NAME was started on another host: DIR/.hvlab/NAME.host names
   another host, or (no such file) NAME is HOST-sN for another HOST. */
static bool is_remote(const char *dir, const char *name)
{
    char here[64], there[128] = "";
    camp_host(here, sizeof(here));
    char path[CAMP_PATH_LEN + 2 * CAMP_NAME_LEN];
    snprintf(path, sizeof(path), "%s/" CAMP_META_DIR "/%s.host", dir, name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(there, sizeof(there), f))
            there[0] = '\0';
        fclose(f);
        there[strcspn(there, "\n")] = '\0';
        return there[0] && strcmp(there, here) != 0;
    }
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || dash[1] != 's' || !dash[2] ||
        strspn(dash + 2, "0123456789") != strlen(dash + 2))
        return false;
    return (size_t)(dash - name) != strlen(here) ||
           strncmp(name, here, strlen(here)) != 0;
}

static int read_stats(const char *dir, struct camp_instance *in, time_t now)
{
    char path[CAMP_PATH_LEN + 2 * CAMP_NAME_LEN];
    snprintf(path, sizeof(path), "%s/%s/fuzzer_stats", dir, in->name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    char pid[32] = "", execs[32] = "", eps[32] = "", corpus[32] = "",
         cr[32] = "", hg[32] = "", stab[32] = "", lf[32] = "", lu[32] = "",
         rt[32] = "";
    while (fgets(line, sizeof(line), f)) {
        stat_value(line, "fuzzer_pid", pid, sizeof(pid));
        stat_value(line, "execs_done", execs, sizeof(execs));
        stat_value(line, "execs_per_sec", eps, sizeof(eps));
        stat_value(line, "corpus_count", corpus, sizeof(corpus));
        stat_value(line, "saved_crashes", cr, sizeof(cr));
        stat_value(line, "saved_hangs", hg, sizeof(hg));
        stat_value(line, "stability", stab, sizeof(stab));
        stat_value(line, "last_find", lf, sizeof(lf));
        stat_value(line, "last_update", lu, sizeof(lu));
        stat_value(line, "run_time", rt, sizeof(rt));
    }
    fclose(f);
    unsigned long long v;
    in->pid = parse_count(pid, LONG_MAX, &v) == 0 ? (long)v : 0;
    if (parse_count(execs, ULLONG_MAX, &in->execs) != 0)
        in->bad |= CAMP_BAD_EXECS;
    if (!strcmp(eps, "inf"))                    /* G1: at run_time 0 */
        in->execs_per_sec = 0;
    else if (parse_real(eps, false, &in->execs_per_sec) != 0)
        in->bad |= CAMP_BAD_EPS;
    if (parse_count(corpus, ULONG_MAX, &v) != 0)
        in->bad |= CAMP_BAD_CORPUS;
    in->corpus = (unsigned long)v;
    if (parse_count(cr, ULONG_MAX, &v) != 0)
        in->bad |= CAMP_BAD_CRASHES;
    in->crashes = (unsigned long)v;
    if (parse_count(hg, ULONG_MAX, &v) != 0)
        in->bad |= CAMP_BAD_HANGS;
    in->hangs = (unsigned long)v;
    in->stability = -1.0;
    if (stab[0] && parse_real(stab, true, &in->stability) != 0) {
        in->bad |= CAMP_BAD_STAB;
        in->stability = -1.0;
    }
    if (parse_count(lf, LLONG_MAX, &v) != 0)
        in->bad |= CAMP_BAD_FIND;
    in->last_find = (long long)v;
    if (parse_count(rt, LLONG_MAX, &v) != 0)
        in->bad |= CAMP_BAD_RUNTIME;
    in->run_time = (long long)v;
    long long upd = parse_count(lu, LLONG_MAX, &v) == 0 ? (long long)v : 0;
    /* G3 */
    bool fresh = upd && now - upd <= CAMP_STALE_SECS;
    in->remote = is_remote(dir, in->name);
    bool gone = !in->remote && in->pid > 0 && kill((pid_t)in->pid, 0) != 0 &&
                errno == ESRCH;
    in->running = fresh && !gone;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const struct camp_instance *x = a, *y = b;
    bool xm = strcmp(x->name, "main") == 0, ym = strcmp(y->name, "main") == 0;
    if (xm != ym)
        return xm ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* dst = src, cut to fit. */
static void copy_cut(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* G2 */
int camp_read_meta(const char *dir, char *surface, size_t slen, char *sets,
                   size_t setslen)
{
    char path[CAMP_PATH_LEN + 32], line[1100];
    snprintf(path, sizeof(path), "%s/" CAMP_META_DIR "/campaign", dir);
    surface[0] = sets[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "surface=", 8))
            copy_cut(surface, slen, line + 8);
        else if (!strncmp(line, "set=", 4))
            copy_cut(sets, setslen, line + 4);
    }
    fclose(f);
    return 0;
}

static void read_meta(struct campaign *c)
{
    camp_read_meta(c->dir, c->surface, sizeof(c->surface), c->sets,
                   sizeof(c->sets));
}

/* Each k=v of a is one of b's. */
static bool sets_within(const char *a, const char *b)
{
    while (*a) {
        size_t n = strcspn(a, ",");
        bool found = n == 0;
        for (const char *q = b; *q && !found;) {
            size_t m = strcspn(q, ",");
            found = m == n && !memcmp(a, q, n);
            q += m + (q[m] == ',');
        }
        if (!found)
            return false;
        a += n + (a[n] == ',');
    }
    return true;
}

bool camp_same_sets(const char *a, const char *b)
{
    return sets_within(a, b) && sets_within(b, a);
}

/* G3 */
void camp_host(char *buf, size_t len)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0 || !host[0])
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    for (char *c = host; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-", *c))
            *c = '_';
    host[40] = '\0';
    snprintf(buf, len, "%s", host);
}

int camp_write_host(const char *dir, const char *name)
{
    char path[CAMP_PATH_LEN + 2 * CAMP_NAME_LEN], host[64];
    snprintf(path, sizeof(path), "%s/" CAMP_META_DIR "/%s.host", dir, name);
    camp_host(host, sizeof(host));
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", host);
    return fclose(f);
}

int camp_write_meta(const char *dir, const char *surface, const char *sets)
{
    char path[CAMP_PATH_LEN + 32];
    snprintf(path, sizeof(path), "%s/" CAMP_META_DIR, dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof(path), "%s/" CAMP_META_DIR "/campaign", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "surface=%s\nset=%s\n", surface, sets);
    return fclose(f);
}

int camp_read(struct campaign *c, const char *dir)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) && c->n < CAMP_MAX_INSTANCES) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= CAMP_NAME_LEN)
            continue;
        struct camp_instance *in = &c->in[c->n];
        memset(in, 0, sizeof(*in));
        snprintf(in->name, sizeof(in->name), "%s", e->d_name);
        if (read_stats(dir, in, now) == 0)
            c->n++;
    }
    closedir(d);
    qsort(c->in, c->n, sizeof(c->in[0]), by_name);
    read_meta(c);

    /* G4 */
    struct camp_instance *t = &c->total;
    snprintf(t->name, sizeof(t->name), "total");
    t->stability = -1.0;
    for (unsigned i = 0; i < c->n; i++) {
        const struct camp_instance *in = &c->in[i];
        t->running |= in->running;
        t->execs = in->execs > ULLONG_MAX - t->execs ? ULLONG_MAX
                                                     : t->execs + in->execs;
        t->execs_per_sec += in->execs_per_sec;
        if (!isfinite(t->execs_per_sec))
            t->execs_per_sec = DBL_MAX;
        if (in->corpus > t->corpus)
            t->corpus = in->corpus;
        t->crashes = in->crashes > ULONG_MAX - t->crashes
                     ? ULONG_MAX : t->crashes + in->crashes;
        t->hangs = in->hangs > ULONG_MAX - t->hangs ? ULONG_MAX
                                                    : t->hangs + in->hangs;
        if (in->stability >= 0 &&
            (t->stability < 0 || in->stability < t->stability))
            t->stability = in->stability;
        if (in->last_find > t->last_find)
            t->last_find = in->last_find;
        if (in->run_time > t->run_time)
            t->run_time = in->run_time;
    }
    return 0;
}

/* ---- G5-G7: printing -------------------------------------------------------- */

static void ago(char *buf, size_t len, long long when, time_t now)
{
    if (!when) {
        snprintf(buf, len, "never");
        return;
    }
    long long s = now - when;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, len, "%llds ago", s);
    else if (s < 2 * 3600)
        snprintf(buf, len, "%lldm ago", s / 60);
    else
        snprintf(buf, len, "%lldh ago", s / 3600);
}

static void stab_text(char *buf, size_t len, double st)
{
    if (st < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f%%", st);
}

/* A figure of the table, "?" when garbled (G1). */
static const char *fig(char *buf, size_t len, bool bad, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *fig(char *buf, size_t len, bool bad, const char *fmt, ...)
{
    if (bad)
        return "?";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return buf;
}

static void row(FILE *f, const struct camp_instance *in, time_t now)
{
    char last[32], st[16], ex[24], eps[32], co[24], cr[24], hg[24];
    unsigned b = in->bad;
    ago(last, sizeof(last), in->last_find, now);
    stab_text(st, sizeof(st), in->stability);
    fprintf(f, "%-16s %-8s %12s %9s %7s %7s %6s %9s  %s\n", in->name,
            in->running ? "running" : "stopped",
            fig(ex, sizeof(ex), b & CAMP_BAD_EXECS, "%llu", in->execs),
            fig(eps, sizeof(eps), b & CAMP_BAD_EPS, "%.1f", in->execs_per_sec),
            fig(co, sizeof(co), b & CAMP_BAD_CORPUS, "%lu", in->corpus),
            fig(cr, sizeof(cr), b & CAMP_BAD_CRASHES, "%lu", in->crashes),
            fig(hg, sizeof(hg), b & CAMP_BAD_HANGS, "%lu", in->hangs),
            b & CAMP_BAD_STAB ? "?" : st, b & CAMP_BAD_FIND ? "?" : last);
}

unsigned camp_table_lines(const struct campaign *c)
{
    return c->n + 2;
}

void camp_print_table(const struct campaign *c, FILE *f, time_t now)
{
    fprintf(f, "%-16s %-8s %12s %9s %7s %7s %6s %9s  %s\n", "instance", "state",
            "execs", "exec/s", "corpus", "crashes", "hangs", "stability",
            "last find");
    for (unsigned i = 0; i < c->n; i++)
        row(f, &c->in[i], now);
    row(f, &c->total, now);
}

void camp_print_line(const struct campaign *c, FILE *f, time_t now,
                     long elapsed)
{
    unsigned running = 0;
    for (unsigned i = 0; i < c->n; i++)
        running += c->in[i].running;
    char last[32], st[16];
    ago(last, sizeof(last), c->total.last_find, now);
    stab_text(st, sizeof(st), c->total.stability);
    fprintf(f, "[%5lds] %u/%u running: execs %llu, %.1f exec/s, corpus %lu, "
            "crashes %lu, hangs %lu, stability %s, last find %s\n", elapsed,
            running, c->n, c->total.execs, c->total.execs_per_sec,
            c->total.corpus, c->total.crashes, c->total.hangs, st, last);
    fflush(f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* One "key": number, null when garbled (G1, G7). */
static void json_num(FILE *f, const char *key, bool bad, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void json_num(FILE *f, const char *key, bool bad, const char *fmt, ...)
{
    fprintf(f, ", \"%s\": ", key);
    if (bad) {
        fprintf(f, "null");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

static void json_instance(FILE *f, const struct camp_instance *in)
{
    unsigned b = in->bad;
    fprintf(f, "{\"name\": ");
    json_str(f, in->name);
    fprintf(f, ", \"state\": \"%s\"", in->running ? "running" : "stopped");
    json_num(f, "execs", b & CAMP_BAD_EXECS, "%llu", in->execs);
    json_num(f, "execs_per_sec", b & CAMP_BAD_EPS || !isfinite(in->execs_per_sec),
             "%.2f", in->execs_per_sec);
    json_num(f, "corpus", b & CAMP_BAD_CORPUS, "%lu", in->corpus);
    json_num(f, "crashes", b & CAMP_BAD_CRASHES, "%lu", in->crashes);
    json_num(f, "hangs", b & CAMP_BAD_HANGS, "%lu", in->hangs);
    json_num(f, "stability", in->stability < 0 || !isfinite(in->stability),
             "%.2f", in->stability);
    json_num(f, "last_find", b & CAMP_BAD_FIND, "%lld", in->last_find);
    json_num(f, "run_time", b & CAMP_BAD_RUNTIME, "%lld", in->run_time);
    fprintf(f, "}");
}

struct json_crashes {
    FILE *f;
    unsigned n;
};

static void json_crash(const char *path, void *arg)
{
    struct json_crashes *j = arg;
    fprintf(j->f, "%s", j->n++ ? ", " : "");
    json_str(j->f, path);
}

void camp_print_json(const struct campaign *c, FILE *f, time_t now)
{
    fprintf(f, "{\"dir\": ");
    json_str(f, c->dir);
    fprintf(f, ", \"surface\": ");
    json_str(f, c->surface);
    fprintf(f, ", \"sets\": ");
    json_str(f, c->sets);
    fprintf(f, ", \"time\": %lld, \"instances\": [", (long long)now);
    for (unsigned i = 0; i < c->n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_instance(f, &c->in[i]);
    }
    fprintf(f, "], \"total\": ");
    json_instance(f, &c->total);
    fprintf(f, ", \"crash_files\": [");
    struct camp_seen *s = camp_seen_new();
    struct json_crashes j = { f, 0 };
    if (s)
        camp_scan_crashes(c->dir, s, json_crash, &j);
    camp_seen_free(s);
    fprintf(f, "]}\n");
}

/* ---- G8: crash files ---------------------------------------------------- */

/* Per instance: the next crash id not yet announced (AFL++ numbers an
   instance's crashes id:000000, id:000001, ... in order), how many crash
   files were seen, and the crashes dir's mtime at a scan that could not
   have missed a file of that mtime (then an unchanged mtime skips it). */
struct camp_seen_one {
    char name[256];
    unsigned long long next_id;
    unsigned long count;
    struct timespec mtime;
    bool settled;
};

struct camp_seen {
    struct camp_seen_one *in;
    size_t n, cap;
};

struct camp_seen *camp_seen_new(void)
{
    return calloc(1, sizeof(struct camp_seen));
}

void camp_seen_free(struct camp_seen *s)
{
    if (!s)
        return;
    free(s->in);
    free(s);
}

static struct camp_seen_one *seen_of(struct camp_seen *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->in[i].name, name))
            return &s->in[i];
    if (strlen(name) >= sizeof(s->in[0].name))
        return NULL;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct camp_seen_one *p = realloc(s->in, cap * sizeof(*p));
        if (!p)
            return NULL;
        s->in = p;
        s->cap = cap;
    }
    struct camp_seen_one *o = &s->in[s->n++];
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    return o;
}

struct crash_name {
    unsigned long long id;
    char *name;
};

static int by_id(const void *a, const void *b)
{
    const struct crash_name *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The id of a crash file name "id:NNNNNN...", -1 when it is none. */
static int crash_id(const char *name, unsigned long long *id)
{
    if (strncmp(name, "id:", 3) != 0)
        return -1;
    *id = name[3] >= '0' && name[3] <= '9' ? strtoull(name + 3, NULL, 10) : 0;
    return 0;
}

/* One instance's new crash files, in id order. */
static void scan_one(const char *cdir, struct camp_seen_one *o,
                     void (*fn)(const char *path, void *arg), void *arg)
{
    struct stat st;
    if (stat(cdir, &st) != 0)
        return;
    if (o->settled && st.st_mtim.tv_sec == o->mtime.tv_sec &&
        st.st_mtim.tv_nsec == o->mtime.tv_nsec)
        return;
    struct timespec began;
    clock_gettime(CLOCK_REALTIME, &began);
    DIR *cd = opendir(cdir);
    if (!cd)
        return;
    struct crash_name *names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ce;
    bool complete = true;
    while ((ce = readdir(cd))) {
        unsigned long long id;
        if (crash_id(ce->d_name, &id) != 0 || id < o->next_id)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct crash_name *p = realloc(names, nc * sizeof(*p));
            if (!p) {
                complete = false;
                break;
            }
            names = p;
            cap = nc;
        }
        names[n].id = id;
        names[n].name = strdup(ce->d_name);
        if (!names[n].name) {
            complete = false;
            break;
        }
        n++;
    }
    closedir(cd);
    if (n)
        qsort(names, n, sizeof(names[0]), by_id);
    for (size_t i = 0; i < n; i++) {
        char path[CAMP_PATH_LEN + 1024];
        snprintf(path, sizeof(path), "%s/%s", cdir, names[i].name);
        o->count++;
        if (fn)
            fn(path, arg);
        if (names[i].id >= o->next_id)
            o->next_id = names[i].id + 1;
        free(names[i].name);
    }
    free(names);
    /* A file added in the same clock tick as the listing leaves the mtime
       as read: only a listing a second younger than the mtime settles. */
    o->mtime = st.st_mtim;
    o->settled = complete && began.tv_sec > st.st_mtim.tv_sec + 1;
}

unsigned camp_scan_crashes(const char *dir, struct camp_seen *s,
                           void (*fn)(const char *path, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct camp_seen_one *o = seen_of(s, e->d_name);
        if (!o)
            continue;
        char cdir[CAMP_PATH_LEN + 512];
        snprintf(cdir, sizeof(cdir), "%s/%s/crashes", dir, e->d_name);
        scan_one(cdir, o, fn, arg);
    }
    closedir(d);
    unsigned long count = 0;
    for (size_t i = 0; i < s->n; i++)
        count += s->in[i].count;
    return count > UINT_MAX ? UINT_MAX : (unsigned)count;
}

unsigned camp_count_crashes(const char *dir)
{
    struct camp_seen *s = camp_seen_new();
    unsigned n = s ? camp_scan_crashes(dir, s, NULL, NULL) : 0;
    camp_seen_free(s);
    return n;
}

void camp_shell_word(char *buf, size_t len, const char *w)
{
    bool plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_./:,+=@%-", *p))
            plain = false;
    if (plain) {
        snprintf(buf, len, "%s", w);
        return;
    }
    size_t o = 0;
    if (o + 1 < len)
        buf[o++] = '\'';
    for (const char *p = w; *p && o + 5 < len; p++) {
        if (*p == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *p;
        }
    }
    if (o + 1 < len)
        buf[o++] = '\'';
    buf[o] = '\0';
}

void camp_repro_line(char *buf, size_t len, const char *hvlab,
                     const char *path, const char *surface, const char *sets)
{
    char w[CAMP_PATH_LEN + 64], h[CAMP_PATH_LEN + 64];
    camp_shell_word(w, sizeof(w), path);
    camp_shell_word(h, sizeof(h), hvlab);
    int o = snprintf(buf, len, "%s repro %s", h, w);
    int inf_s = fuzz_surface_of_path(path);
    const char *inf = inf_s >= 0 ? fuzz_surface_name((enum fuzz_surface)inf_s)
                                 : NULL;
    if (surface[0] && (!inf || strcmp(inf, surface) != 0) && o >= 0 &&
        (size_t)o < len)
        o += snprintf(buf + o, len - (size_t)o, " --surface %s", surface);
    /* one --set per k=v of the comma list */
    const char *p = sets;
    while (*p && o >= 0 && (size_t)o < len) {
        size_t n = strcspn(p, ",");
        char one[512];
        snprintf(one, sizeof(one), "%.*s", (int)(n < 511 ? n : 511), p);
        if (one[0]) {
            camp_shell_word(w, sizeof(w), one);
            o += snprintf(buf + o, len - (size_t)o, " --set %s", w);
        }
        p += n;
        if (*p == ',')
            p++;
    }
}
