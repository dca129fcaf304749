/*
 * tools/hvlab/cmd_fuzz.c - `hvlab fuzz SURFACE [-j N] [--out DIR]
 * [--duration SECS] [--set K=V]... [--no-cmplog] [--secondaries-only]` and
 * `hvlab fuzz --status DIR [--json]`: an AFL++ campaign on one surface's
 * harness, its combined status, its findings (docs/fuzz-campaign.md).
 *
 * Rules:
 *   F1  Everything is checked before an instance starts: the arguments,
 *       the surface (a wrong one lists the valid ones), every --set
 *       (fuzz_set_option), afl-fuzz (HVLAB_AFL_FUZZ or HVLAB_FUZZ_AFL,
 *       else afl-fuzz on PATH: "make deps") and the harness
 *       $BUILD/fuzz/afl-SURFACE ("make fuzz";
 *       $BUILD is the directory of this hvlab binary, HVLAB_FUZZ_HARNESS_DIR
 *       overrides $BUILD/fuzz).  A mistake is exit 2 naming it.
 *   F2  N instances (-j, default 1) share one sync dir (--out, default
 *       fuzz-out/SURFACE): "main" (-M) and secondaries s1..s(N-1) (-S).
 *       With --secondaries-only all N are -S, named HOST-s1..HOST-sN (HOST
 *       the host name), for another machine joining the same sync dir.
 *   F3  CMPLOG (-c $BUILD/fuzz/cmplog-SURFACE) runs on one instance: s1
 *       when N >= 2, main when N == 1 unless --no-cmplog, none with
 *       --secondaries-only.  A missing cmplog build is said and skipped.
 *   F4  Each instance gets the dictionary fuzz/dict/SURFACE.dict (-x) and
 *       the seeds fuzz/seeds/SURFACE when that holds a file, else
 *       DIR/.hvlab/seeds-SURFACE with one zero byte (as the smoke run);
 *       fuzz/ is looked up from the current directory, then above the
 *       binary's.  -t and -m are AFL++'s defaults, as the smoke run has.
 *       An instance whose DIR/NAME/queue exists resumes it (-i -), said.
 *   F5  The environment of afl-fuzz: AFL_NO_UI=1, AFL_SKIP_CPUFREQ=1,
 *       AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1, HVLAB_FUZZ_SET from the
 *       --set options (removed when there are none), the rest inherited.
 *       Each instance runs in its own process group (set by both sides of
 *       the fork; a terminal's ^C reaches hvlab only), gets SIGINT if
 *       hvlab dies (checked again after the prctl), logs to
 *       DIR/.hvlab/NAME.log and has its host in DIR/.hvlab/NAME.host (G3).
 *       SIGINT, SIGTERM and SIGCHLD are blocked across each fork; the
 *       child resets their handlers before unblocking.  SIGCHLD is set to
 *       its default at the start (an inherited SIG_IGN would let the
 *       kernel reap the instances; ECHILD reads as exited).
 *       With --secondaries-only, a DIR/.hvlab/campaign naming another
 *       surface or --set options is exit 2 showing both; it is kept.
 *   F6  An instance that exits before writing its fuzzer_stats did not
 *       start: its log's tail is printed, the others are stopped, exit 2.
 *       One that exits later without hvlab's SIGINT, with a non-zero
 *       status or a signal, is named with its log's tail; the others run
 *       on, and the campaign ends with exit 2 naming it again.
 *   F7  While it runs: on a terminal the combined table (campaign.c G5) is
 *       redrawn every F_TTY_SECS; otherwise a status line (G6) every
 *       F_LINE_SECS.  Every new crash file is announced with its path and
 *       the `hvlab repro` line that replays it (G8).
 *   F8  SIGINT, SIGTERM, --duration or every instance having exited stop
 *       the campaign (a stop during the start starts no more instances): SIGINT to each afl-fuzz, up to F_STOP_SECS to exit,
 *       then SIGKILL to its process group.  Then the final table and a
 *       summary; exit 2 after an F6 exit, else 1 when the sync dir holds a
 *       crash, else 0.  Printed command lines shell-quote hvlab (./hvlab
 *       when it has no slash) and the directory.
 *   F9  --status DIR prints the table of DIR once (--json: one JSON
 *       object, G7), running or finished; exit 1 when DIR holds a crash,
 *       0 when not, 2 when DIR is missing or holds no instance.
 *   F10 A race surface's instances (race, hvmrace) get its custom mutator
 *       $BUILD/fuzz/mutator-SURFACE.so (fuzz/main/mutator.c: other
 *       interleavings of a queue entry's program) as
 *       AFL_CUSTOM_MUTATOR_LIBRARY, unless the environment sets one; a
 *       mutator not built is said and the campaign runs without it.
 *   F11 The instances of a race surface and of grant walk the queue in
 *       order (afl-fuzz -Z) instead of AFL++'s weighted draw
 *       (fuzz_surface_in_order).  The draw favours fast entries, and a
 *       race surface's seeds are its slowest entries: the SMP workloads
 *       whose interleavings hold the races.  Drawn, story A's seed was
 *       seldom picked in the first minutes (2 finds in 3 runs of 300 s,
 *       median 223 s); in order, every seed is fuzzed, with the mutator's
 *       interleavings, in the first cycle (3 finds in 3 runs, within
 *       23 s).  Grant's seeds are each a different scenario's workload;
 *       drawn, grant.xsa255 waited up to 956 s for a pick that leads to
 *       it, in order it was found in 0.3-0.5 s (8 of 8 runs).  mm stays
 *       drawn: in order, its easy rows got slower and mm.xsa309 no faster
 *       (docs/fuzz.md "Queue order").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "tools/hvlab/campaign.h"
#include "tools/hvlab/cmd.h"
#include "tools/hvlab/opt.h"

#define F_MAX_SETS   64
#define F_MAX_JOBS   32
#define F_TTY_SECS   2
#define F_LINE_SECS  10
#define F_STOP_SECS  10
#define F_TICK_MS    250

struct fuzz_args {
    int surface;
    const char *surface_arg;
    unsigned jobs;
    const char *out;
    long duration;                      /* seconds, 0: until stopped */
    const char *sets[F_MAX_SETS];
    unsigned nr_sets;
    bool no_cmplog, secondaries_only, json;
    const char *status;
};

struct instance {
    char name[CAMP_NAME_LEN];
    bool cmplog, resume;
    bool spawned;                       /* started (F8: the spawn loop) */
    bool asked;                         /* F8: sent SIGINT by hvlab */
    bool exited, lost;                  /* lost: ECHILD, status unknown */
    bool said;                          /* F6: its exit reported */
    pid_t pid;                          /* 0: exited or never started */
    int wstatus;
};

void cmd_fuzz_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab fuzz SURFACE [-j N] [--out DIR] [--duration SECS]\n"
        "                  [--set KEY=VALUE]... [--no-cmplog] [--secondaries-only]\n"
        "       hvlab fuzz --status DIR [--json]\n"
        "\n"
        "Run an AFL++ campaign on one surface's harness (mm, grant, shadow,\n"
        "restore or race - docs/fuzz.md \"Races\"; built by 'make fuzz'), show the combined status of its\n"
        "instances, announce each crash with the 'hvlab repro' line that\n"
        "replays it, and stop cleanly (docs/fuzz-campaign.md).\n"
        "\n"
        "  -j N              instances (default 1): 'main' and secondaries s1..;\n"
        "                    CMPLOG runs on s1 (on main when N is 1)\n"
        "  --out DIR         the sync directory (default fuzz-out/SURFACE); an\n"
        "                    instance whose queue is there resumes it\n"
        "  --duration SECS   stop after SECS seconds (default: at ^C / SIGTERM)\n"
        "  --set KEY=VALUE   a hypervisor option for the harness (HVLAB_FUZZ_SET,\n"
        "                    'hvlab options'); repeatable\n"
        "  --no-cmplog       no CMPLOG instance when N is 1\n"
        "  --secondaries-only\n"
        "                    every instance is a secondary named HOST-sN: join a\n"
        "                    campaign whose main runs on another machine\n"
        "                    sharing DIR\n"
        "  --status DIR      print the combined table of DIR once and exit\n"
        "  --json            with --status: one JSON object instead\n"
        "\n"
        "Environment: HVLAB_AFL_FUZZ the afl-fuzz to run (default: afl-fuzz on\n"
        "PATH); HVLAB_FUZZ_HARNESS_DIR where afl-SURFACE and cmplog-SURFACE are\n"
        "(default: the fuzz/ directory beside this hvlab binary).\n"
        "\n"
        "Exit status: 0 no crash in the sync dir; 1 some (each announced with\n"
        "its replay line); 2 usage error, unknown surface or option, afl-fuzz or\n"
        "the harness missing, a sync dir started with another surface or --set\n"
        "(--secondaries-only), an instance that did not start or exited on its\n"
        "own (non-zero status or a signal: named, with its log's tail).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "hvlab fuzz: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'hvlab fuzz --help')\n");
    return EXIT_USAGE;
}

/* ---- options: one row each ------------------------------------------------ */
static int o_jobs(struct fuzz_args *a, const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || !*v || *end || *v == '-' || n < 1 || n > F_MAX_JOBS)
        return usage_error("-j %s: expected a number of instances from 1 to 32",
                           v);
    a->jobs = (unsigned)n;
    return 0;
}

static int o_out(struct fuzz_args *a, const char *v)
{
    if (!*v)
        return usage_error("--out%s: needs a directory", "");
    a->out = v;
    return 0;
}

static int o_duration(struct fuzz_args *a, const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || !*v || *end || n < 1)
        return usage_error("--duration %s: expected a positive number of "
                           "seconds", v);
    a->duration = n;
    return 0;
}

static int o_set(struct fuzz_args *a, const char *v)
{
    if (a->nr_sets == F_MAX_SETS)
        return usage_error("too many --set options (at most %s)", "64");
    if (strchr(v, ','))
        return usage_error("--set %s: one KEY=VALUE per --set", v);
    a->sets[a->nr_sets++] = v;
    return 0;
}

static int o_status(struct fuzz_args *a, const char *v)
{
    if (!*v)
        return usage_error("--status%s: needs a sync directory", "");
    a->status = v;
    return 0;
}

static const struct fuzz_option {
    const char *name;
    int (*set)(struct fuzz_args *a, const char *value);
} fuzz_options[] = {
    { "-j",         o_jobs },
    { "--out",      o_out },
    { "--duration", o_duration },
    { "--set",      o_set },
    { "--status",   o_status },
};

static const struct fuzz_flag {
    const char *name;
    size_t field;
} fuzz_flags[] = {
    { "--no-cmplog",         offsetof(struct fuzz_args, no_cmplog) },
    { "--secondaries-only",  offsetof(struct fuzz_args, secondaries_only) },
    { "--json",              offsetof(struct fuzz_args, json) },
};

static bool is_flag(struct fuzz_args *a, const char *arg)
{
    for (size_t k = 0; k < sizeof(fuzz_flags) / sizeof(fuzz_flags[0]); k++)
        if (strcmp(arg, fuzz_flags[k].name) == 0) {
            *(bool *)((char *)a + fuzz_flags[k].field) = true;
            return true;
        }
    return false;
}

static void valid_surfaces(char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int s = 0; s < FUZZ_NR && o < len; s++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", s ? ", " : "",
                              fuzz_surface_name((enum fuzz_surface)s));
}

static int parse_args(int argc, char **argv, struct fuzz_args *a)
{
    memset(a, 0, sizeof(*a));
    a->surface = -1;
    a->jobs = 1;
    bool jobs_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (is_flag(a, arg))
            continue;
        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->surface_arg)
                return usage_error("one surface at a time ('%s' is a second "
                                   "one)", arg);
            a->surface_arg = arg;
            continue;
        }
        static const char *const names[] = {
            "-j", "--out", "--duration", "--set", "--status",
        };
        _Static_assert(sizeof(names) / sizeof(names[0]) ==
                       sizeof(fuzz_options) / sizeof(fuzz_options[0]),
                       "one name per option row");
        const char *value = NULL;
        int k = opt_match("fuzz", argc, argv, &i, names,
                          sizeof(names) / sizeof(names[0]), &value);
        if (k < 0)
            return -1;
        if ((size_t)k == sizeof(names) / sizeof(names[0]))
            return usage_error("unknown option '%s'", arg);
        if (fuzz_options[k].set(a, value) != 0)
            return -1;
        if (fuzz_options[k].set == o_jobs)
            jobs_given = true;
    }
    if (a->status) {
        if (a->surface_arg || jobs_given || a->out || a->duration ||
            a->nr_sets || a->no_cmplog || a->secondaries_only)
            return usage_error("%s", "--status DIR takes only --json");
        return 0;
    }
    if (a->json)
        return usage_error("%s", "--json goes with --status DIR");
    char list[64];
    valid_surfaces(list, sizeof(list));
    if (!a->surface_arg) {
        fprintf(stderr, "hvlab fuzz: missing the SURFACE (one of %s)\n"
                "(see 'hvlab fuzz --help')\n", list);
        return -1;
    }
    a->surface = fuzz_surface_find(a->surface_arg);
    if (a->surface < 0) {
        fprintf(stderr, "hvlab fuzz: unknown surface '%s': expected one of "
                "%s\n(see 'hvlab fuzz --help')\n", a->surface_arg, list);
        return -1;
    }
    return 0;
}

/* ---- F1, F4: finding things ------------------------------------------------- */

static bool is_exec(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* The directory of this binary ($BUILD), or "." */
static void exe_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) {
        snprintf(buf, len, ".");
        return;
    }
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash && slash != buf)
        *slash = '\0';
}

/* This hvlab as the user can type it: relative to the current directory
   when below it. */
static void exe_name(char *buf, size_t len)
{
    char exe[PATH_MAX], cwd[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(buf, len, "hvlab");
        return;
    }
    exe[n] = '\0';
    size_t c = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
    if (c && strncmp(exe, cwd, c) == 0 && exe[c] == '/')
        /* no slash: the shell would look it up on PATH */
        snprintf(buf, len, "%s%s", strchr(exe + c + 1, '/') ? "" : "./",
                 exe + c + 1);
    else
        snprintf(buf, len, "%s", exe);
}

static int find_afl(char *buf, size_t len)
{
    const char *env = getenv("HVLAB_AFL_FUZZ");
    if (!env || !*env)
        env = getenv("HVLAB_FUZZ_AFL");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return is_exec(buf) ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, len, "%.*s/afl-fuzz", (int)n, n ? path : ".");
        if (is_exec(buf))
            return 0;
        path += n;
        if (*path == ':')
            path++;
    }
    snprintf(buf, len, "afl-fuzz");
    return -1;
}

/* fuzz/REL from the current directory, else above this binary's directory
   (up to three levels); 0 when found. */
static int find_tree_file(const char *rel, char *buf, size_t len, bool dir)
{
    char base[PATH_MAX];
    exe_dir(base, sizeof(base));
    for (int up = -1; up <= 3; up++) {
        if (up < 0)
            snprintf(buf, len, "%s", rel);
        else {
            int o = snprintf(buf, len, "%s", base);
            for (int k = 0; k < up && o > 0 && (size_t)o < len; k++)
                o += snprintf(buf + o, len - (size_t)o, "/..");
            if (o > 0 && (size_t)o < len)
                snprintf(buf + o, len - (size_t)o, "/%s", rel);
        }
        struct stat st;
        if (stat(buf, &st) == 0 && (dir ? S_ISDIR(st.st_mode)
                                         : S_ISREG(st.st_mode)))
            return 0;
    }
    return -1;
}

static bool dir_has_file(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)))
        any = e->d_name[0] != '.';
    closedir(d);
    return any;
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* ---- F9: --status ------------------------------------------------------------ */

static int status_once(const struct fuzz_args *a)
{
    static struct campaign c;
    if (camp_read(&c, a->status) != 0) {
        fprintf(stderr, "hvlab fuzz: --status %s: %s\n", a->status,
                strerror(errno));
        return EXIT_USAGE;
    }
    if (c.n == 0) {
        fprintf(stderr, "hvlab fuzz: --status %s: no afl-fuzz instance there "
                "(no DIR/*/fuzzer_stats)\n", a->status);
        return EXIT_USAGE;
    }
    time_t now = time(NULL);
    if (a->json) {
        camp_print_json(&c, stdout, now);
    } else {
        printf("campaign %s%s%s%s%s%s\n", a->status, c.surface[0] ? " (" : "",
               c.surface, c.surface[0] && c.sets[0] ? ", " : "",
               c.surface[0] ? c.sets : "", c.surface[0] ? ")" : "");
        camp_print_table(&c, stdout, now);
    }
    fflush(stdout);
    return camp_count_crashes(a->status) ? EXIT_BROKEN : EXIT_HELD;
}

/* ---- F5, F6, F8: the instances -------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct plan {
    char afl[PATH_MAX];
    char harness[PATH_MAX + 32], cmplog[PATH_MAX + 32];
    char mutator[PATH_MAX + 32];            /* F10; "" for none */
    bool in_order;                          /* F11: -Z */
    char dict[PATH_MAX], seeds[PATH_MAX + 32];
    char sets[1024];
    char meta[PATH_MAX];
    const char *out;
    time_t started;
};

static pid_t spawn(const struct plan *p, const struct instance *in)
{
    char log[PATH_MAX + 2 * CAMP_NAME_LEN];
    snprintf(log, sizeof(log), "%s/%.63s.log", p->meta, in->name);
    const char *argv[24];
    unsigned n = 0;
    argv[n++] = p->afl;
    argv[n++] = "-i";
    argv[n++] = in->resume ? "-" : p->seeds;
    argv[n++] = "-o";
    argv[n++] = p->out;
    argv[n++] = strcmp(in->name, "main") == 0 ? "-M" : "-S";
    argv[n++] = in->name;
    if (p->dict[0]) {
        argv[n++] = "-x";
        argv[n++] = p->dict;
    }
    if (in->cmplog) {
        argv[n++] = "-c";
        argv[n++] = p->cmplog;
    }
    if (p->in_order)                                    /* F11 */
        argv[n++] = "-Z";
    argv[n++] = "--";
    argv[n++] = p->harness;
    argv[n] = NULL;

    if (camp_write_host(p->out, in->name) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    /* No signal between fork and the child's own handlers: SIGINT/SIGTERM
       would run hvlab's handler in the child, SIGCHLD nothing useful. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        int e = errno;
        if (pid > 0)
            setpgid(pid, pid);          /* both sides: no window */
        sigprocmask(SIG_SETMASK, &old, NULL);
        errno = e;
        return pid;
    }
    /* the child */
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGINT);
    if (getppid() != parent)            /* hvlab died before the prctl */
        _exit(125);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    int nul = open("/dev/null", O_RDONLY);
    if (fd < 0 || nul < 0)
        _exit(126);
    dup2(nul, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("AFL_NO_UI", "1", 1);
    setenv("AFL_SKIP_CPUFREQ", "1", 1);
    setenv("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1", 1);
    if (p->sets[0])
        setenv("HVLAB_FUZZ_SET", p->sets, 1);
    else
        unsetenv("HVLAB_FUZZ_SET");
    if (p->mutator[0])                                  /* F10 */
        setenv("AFL_CUSTOM_MUTATOR_LIBRARY", p->mutator, 0);
    execv(p->afl, (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", p->afl, strerror(errno));
    _exit(127);
}

static void log_tail(const struct plan *p, const char *name)
{
    char path[PATH_MAX + 2 * CAMP_NAME_LEN];
    snprintf(path, sizeof(path), "%s/%.63s.log", p->meta, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    static char lines[15][256];
    unsigned n = 0;
    char line[256];
    while (fgets(line, sizeof(line), f))
        snprintf(lines[n++ % 15], sizeof(lines[0]), "%s", line);
    fclose(f);
    fprintf(stderr, "  %s ends:\n", path);
    for (unsigned i = n > 15 ? n - 15 : 0; i < n; i++)
        fprintf(stderr, "    %s", lines[i % 15]);
}

static bool stats_written(const struct plan *p, const char *name)
{
    char path[PATH_MAX + 2 * CAMP_NAME_LEN];
    snprintf(path, sizeof(path), "%s/%.63s/fuzzer_stats", p->out, name);
    struct stat st;
    return stat(path, &st) == 0 && st.st_mtime >= p->started;
}

static void describe_status(char *buf, size_t len, const struct instance *x)
{
    int ws = x->wstatus;
    if (x->lost)
        snprintf(buf, len, "status unknown: reaped elsewhere");
    else if (WIFEXITED(ws))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(ws));
    else if (WIFSIGNALED(ws))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(ws));
    else
        snprintf(buf, len, "status %d", ws);
}

/* Reap what exited; the number still running. */
static unsigned reap(struct instance *in, unsigned n)
{
    unsigned alive = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!in[i].pid)
            continue;
        int ws;
        pid_t r = waitpid(in[i].pid, &ws, WNOHANG);
        if (r == in[i].pid) {
            in[i].pid = 0;
            in[i].wstatus = ws;
            in[i].exited = true;
        } else if (r < 0 && errno == ECHILD) {
            in[i].pid = 0;              /* reaped elsewhere: gone */
            in[i].exited = in[i].lost = true;
        } else {
            alive++;
        }
    }
    return alive;
}

static void stop_all(struct instance *in, unsigned n)
{
    unsigned alive = reap(in, n);
    if (!alive)
        return;
    printf("stopping: SIGINT to %u afl-fuzz instance%s\n", alive,
           alive == 1 ? "" : "s");
    fflush(stdout);
    for (unsigned i = 0; i < n; i++)
        if (in[i].pid) {
            in[i].asked = true;
            kill(in[i].pid, SIGINT);
        }
    long long deadline = now_ms() + F_STOP_SECS * 1000;
    while (reap(in, n) && now_ms() < deadline)
        usleep(50 * 1000);
    for (unsigned i = 0; i < n; i++)
        if (in[i].pid) {
            printf("%s did not stop in %d s: SIGKILL\n", in[i].name,
                   F_STOP_SECS);
            kill(-in[i].pid, SIGKILL);
            kill(in[i].pid, SIGKILL);
            if (waitpid(in[i].pid, &in[i].wstatus, 0) < 0)
                in[i].lost = true;
            in[i].pid = 0;
            in[i].exited = true;
        }
}

static bool exit_clean(const struct instance *x)
{
    return !x->lost && WIFEXITED(x->wstatus) && WEXITSTATUS(x->wstatus) == 0;
}

/* F6: say each exit not said yet.  One nobody asked for (no SIGINT from
   hvlab) with a non-zero status or a signal counts in *failed, with its
   log's tail; true when one did not even start (stop everything). */
static bool said_exits(const struct plan *p, struct instance *in, unsigned n,
                       unsigned *failed)
{
    bool not_started = false;
    for (unsigned i = 0; i < n; i++) {
        struct instance *x = &in[i];
        if (!x->exited || x->said)
            continue;
        x->said = true;
        if (x->asked)
            continue;
        char why[64];
        describe_status(why, sizeof(why), x);
        if (!stats_written(p, x->name)) {
            fprintf(stderr, "hvlab fuzz: afl-fuzz instance %s did not "
                    "start (%s)\n", x->name, why);
            log_tail(p, x->name);
            not_started = true;
        } else if (exit_clean(x)) {
            printf("%s exited (%s)\n", x->name, why);
        } else {
            fflush(stdout);
            fprintf(stderr, "hvlab fuzz: afl-fuzz instance %s exited on its "
                    "own (%s)\n", x->name, why);
            log_tail(p, x->name);
            (*failed)++;
        }
    }
    fflush(stdout);
    fflush(stderr);
    return not_started;
}

/* ---- F7: the display ------------------------------------------------------- */

struct display {
    bool tty;
    unsigned drawn;                     /* table lines on the screen */
    char hvlab[PATH_MAX];
    const struct plan *p;
    const char *surface;
    unsigned new_crashes;
};

static void undraw(struct display *d)
{
    if (d->tty && d->drawn) {
        printf("\033[%uA\033[J", d->drawn);
        d->drawn = 0;
    }
}

static void announce(const char *path, void *arg)
{
    struct display *d = arg;
    char line[2 * PATH_MAX];
    undraw(d);
    camp_repro_line(line, sizeof(line), d->hvlab, path, d->surface,
                    d->p->sets);
    d->new_crashes++;
    printf("crash: %s\n  replay: %s\n", path, line);
    fflush(stdout);
}

static void show(struct display *d, long elapsed)
{
    static struct campaign c;
    if (camp_read(&c, d->p->out) != 0)
        return;
    time_t now = time(NULL);
    if (d->tty) {
        undraw(d);
        camp_print_table(&c, stdout, now);
        d->drawn = camp_table_lines(&c);
        fflush(stdout);
    } else {
        camp_print_line(&c, stdout, now, elapsed);
    }
}

/* ---- the command ---------------------------------------------------------- */

static int prepare(const struct fuzz_args *a, struct plan *p,
                   struct instance *in, unsigned *nr)
{
    const char *s = fuzz_surface_name((enum fuzz_surface)a->surface);
    char err[768], dir[PATH_MAX];

    for (unsigned i = 0; i < a->nr_sets; i++) {
        if (fuzz_set_option(a->sets[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "hvlab fuzz: --set %s: %s\n", a->sets[i], err);
            return -1;
        }
        size_t o = strlen(p->sets);
        snprintf(p->sets + o, sizeof(p->sets) - o, "%s%s", o ? "," : "",
                 a->sets[i]);
    }
    if (find_afl(p->afl, sizeof(p->afl)) != 0) {
        fprintf(stderr, "hvlab fuzz: %s: AFL++ is not installed (no "
                "executable afl-fuzz%s): run 'make deps'\n", p->afl,
                getenv("HVLAB_AFL_FUZZ") ? ", HVLAB_AFL_FUZZ" : " on PATH");
        return -1;
    }
    const char *hd = getenv("HVLAB_FUZZ_HARNESS_DIR");
    if (hd && *hd)
        snprintf(dir, sizeof(dir), "%s", hd);
    else {
        char base[PATH_MAX - 8];
        exe_dir(base, sizeof(base));
        snprintf(dir, sizeof(dir), "%s/fuzz", base);
    }
    snprintf(p->harness, sizeof(p->harness), "%s/afl-%s", dir, s);
    snprintf(p->cmplog, sizeof(p->cmplog), "%s/cmplog-%s", dir, s);
    p->mutator[0] = '\0';                               /* F10 */
    bool race = !strcmp(s, "race") || !strcmp(s, "hvmrace");
    p->in_order = fuzz_surface_in_order((enum fuzz_surface)a->surface); /* F11 */
    if (race) {
        snprintf(p->mutator, sizeof(p->mutator), "%s/mutator-%s.so", dir, s);
        if (access(p->mutator, R_OK) != 0) {
            fprintf(stderr, "hvlab fuzz: %s is not built: the instances run "
                    "without the race mutator ('make fuzz-afl' builds it)\n",
                    p->mutator);
            p->mutator[0] = '\0';
        }
    }
    if (!is_exec(p->harness)) {
        fprintf(stderr, "hvlab fuzz: %s is not built: run 'make fuzz' (with "
                "the BUILD= of this hvlab)\n", p->harness);
        return -1;
    }

    p->out = a->out;
    snprintf(p->meta, sizeof(p->meta), "%s/" CAMP_META_DIR, p->out);
    if (mkdir_p(p->meta) != 0) {
        fprintf(stderr, "hvlab fuzz: %s: %s\n", p->meta, strerror(errno));
        return -1;
    }

    char rel[64];
    snprintf(rel, sizeof(rel), "fuzz/dict/%s.dict", s);
    if (find_tree_file(rel, p->dict, sizeof(p->dict), false) != 0) {
        printf("note: no %s: running without a dictionary\n", rel);
        p->dict[0] = '\0';
    }
    snprintf(rel, sizeof(rel), "fuzz/seeds/%s", s);
    if (find_tree_file(rel, p->seeds, sizeof(p->seeds), true) != 0 ||
        !dir_has_file(p->seeds)) {
        snprintf(p->seeds, sizeof(p->seeds), "%s/seeds-%.16s", p->meta, s);
        char zero[PATH_MAX + 64];
        snprintf(zero, sizeof(zero), "%s/zero", p->seeds);
        FILE *f = NULL;
        if (mkdir_p(p->seeds) != 0 || !(f = fopen(zero, "wb")) ||
            fputc(0, f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "hvlab fuzz: %s: %s\n", zero, strerror(errno));
            return -1;
        }
    }
    /* F2: a machine joining must run the campaign as it was started. */
    char was_s[16], was_sets[1024];
    bool recorded = camp_read_meta(p->out, was_s, sizeof(was_s), was_sets,
                                   sizeof(was_sets)) == 0;
    if (a->secondaries_only && recorded &&
        (strcmp(was_s, s) != 0 || !camp_same_sets(was_sets, p->sets))) {
        fprintf(stderr, "hvlab fuzz: %s was started as: %s%s%s\n"
                "  this run is:                 %s%s%s\n"
                "  a machine joining with --secondaries-only gives the same "
                "surface and --set options\n", p->out, was_s,
                was_sets[0] ? " --set " : " (no --set)", was_sets, s,
                p->sets[0] ? " --set " : " (no --set)", p->sets);
        return -1;
    }
    if (!(a->secondaries_only && recorded) &&
        camp_write_meta(p->out, s, p->sets) != 0) {
        fprintf(stderr, "hvlab fuzz: %s/campaign: %s\n", p->meta,
                strerror(errno));
        return -1;
    }

    /* F2, F3 */
    char host[64];
    camp_host(host, sizeof(host));
    bool have_cmplog = is_exec(p->cmplog);
    for (unsigned i = 0; i < a->jobs; i++) {
        struct instance *x = &in[i];
        memset(x, 0, sizeof(*x));
        if (a->secondaries_only)
            snprintf(x->name, sizeof(x->name), "%.40s-s%u", host, i + 1);
        else if (i == 0)
            snprintf(x->name, sizeof(x->name), "main");
        else
            snprintf(x->name, sizeof(x->name), "s%u", i);
        if (!a->secondaries_only)
            x->cmplog = a->jobs >= 2 ? i == 1 : !a->no_cmplog;
        if (x->cmplog && !have_cmplog) {
            printf("note: %s is not built ('make fuzz'): %s runs without "
                   "CMPLOG\n", p->cmplog, x->name);
            x->cmplog = false;
        }
        char q[PATH_MAX + 2 * CAMP_NAME_LEN];
        snprintf(q, sizeof(q), "%s/%s/queue", p->out, x->name);
        struct stat st;
        x->resume = stat(q, &st) == 0 && S_ISDIR(st.st_mode);
    }
    *nr = a->jobs;
    return 0;
}

int cmd_fuzz(int argc, char **argv)
{
    struct fuzz_args a;
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;
    if (a.status)
        return status_once(&a);

    const char *s = fuzz_surface_name((enum fuzz_surface)a.surface);
    char out_default[64];
    if (!a.out) {
        snprintf(out_default, sizeof(out_default), "fuzz-out/%s", s);
        a.out = out_default;
    }
    static struct plan p;
    static struct instance in[F_MAX_JOBS];
    unsigned n = 0;
    if (prepare(&a, &p, in, &n) != 0)
        return EXIT_USAGE;

    /* F8: an inherited SIG_IGN would let the kernel reap the instances. */
    signal(SIGCHLD, SIG_DFL);
    struct display d = { .tty = isatty(1) != 0, .p = &p, .surface = s };
    exe_name(d.hvlab, sizeof(d.hvlab));

    /* Crashes already there are not new (a resumed campaign). */
    struct camp_seen *seen = camp_seen_new();
    if (!seen) {
        fprintf(stderr, "hvlab fuzz: out of memory\n");
        return EXIT_USAGE;
    }
    unsigned before = camp_scan_crashes(p.out, seen, NULL, NULL);

    printf("campaign %s: %u instance%s in %s%s%s\n", s, n, n == 1 ? "" : "s",
           p.out, p.sets[0] ? ", HVLAB_FUZZ_SET=" : "", p.sets);
    printf("  harness %s, seeds %s, dictionary %s\n", p.harness,
           p.seeds, p.dict[0] ? p.dict : "none");
    if (p.mutator[0])
        printf("  custom mutator %s (interleavings)\n", p.mutator);
    if (p.in_order)
        printf("  queue walked in order (-Z): every seed is fuzzed in the "
               "first cycle\n");
    if (before)
        printf("  %u crash%s from before in %s\n", before,
               before == 1 ? "" : "es", p.out);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    p.started = time(NULL);
    long long t0 = now_ms();
    for (unsigned i = 0; i < n && !stop_signal; i++) {
        printf("  %-16s %s%s%s\n", in[i].name,
               strcmp(in[i].name, "main") == 0 ? "-M (main)" : "-S (secondary)",
               in[i].cmplog ? ", CMPLOG" : "",
               in[i].resume ? ", resuming its queue (-i -)" : "");
        in[i].pid = spawn(&p, &in[i]);
        in[i].spawned = in[i].pid > 0;
        if (in[i].pid < 0) {
            fprintf(stderr, "hvlab fuzz: starting %s: %s\n", in[i].name,
                    strerror(errno));
            in[i].pid = 0;
            stop_all(in, n);
            camp_seen_free(seen);
            return EXIT_USAGE;
        }
    }
    printf("  logs in %s/; stop with ^C%s\n", p.meta,
           a.duration ? " or at --duration" : "");
    fflush(stdout);

    /* F6, F7 */
    long long next_show = t0 + 1000;
    long long deadline = a.duration ? t0 + a.duration * 1000LL : 0;
    int rc = -1;
    unsigned failed = 0;                /* F6: instances that exited on their own */
    while (!stop_signal && (!deadline || now_ms() < deadline)) {
        usleep(F_TICK_MS * 1000);
        unsigned alive = reap(in, n);
        undraw(&d);
        if (said_exits(&p, in, n, &failed)) {
            rc = EXIT_USAGE;            /* F6: did not start */
            break;
        }
        if (!alive)
            break;
        camp_scan_crashes(p.out, seen, announce, &d);
        if (now_ms() >= next_show) {
            show(&d, (long)((now_ms() - t0) / 1000));
            next_show = now_ms() + (d.tty ? F_TTY_SECS : F_LINE_SECS) * 1000;
        }
    }

    /* F8 */
    undraw(&d);
    if (stop_signal)
        printf("%s: stopping the campaign\n",
               stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    else if (rc < 0 && deadline && now_ms() >= deadline)
        printf("--duration %ld s reached: stopping the campaign\n",
               a.duration);
    stop_all(in, n);
    if (said_exits(&p, in, n, &failed))
        rc = EXIT_USAGE;                /* did not start: no table */
    camp_scan_crashes(p.out, seen, announce, &d);
    camp_seen_free(seen);
    if (rc >= 0)
        return rc;

    static struct campaign c;
    time_t now = time(NULL);
    long secs = (long)((now_ms() - t0) / 1000);
    printf("\n");
    if (camp_read(&c, p.out) == 0 && c.n)
        camp_print_table(&c, stdout, now);
    unsigned crashes = camp_count_crashes(p.out);
    printf("\nsummary: %s, %u instance%s, %ld s: %llu execs, corpus %lu, "
           "%u new crash%s (%u in %s), %lu hang%s\n", s, n, n == 1 ? "" : "s",
           secs, c.total.execs, c.total.corpus, d.new_crashes,
           d.new_crashes == 1 ? "" : "es", crashes, p.out, c.total.hangs,
           c.total.hangs == 1 ? "" : "s");
    if (crashes) {
        char h[PATH_MAX + 64], o[PATH_MAX + 64];
        camp_shell_word(h, sizeof(h), d.hvlab);
        camp_shell_word(o, sizeof(o), p.out);
        printf("triage: each crash's 'replay:' line above; all of them: "
               "%s fuzz --status %s --json\n", h, o);
    }
    if (failed) {
        printf("failed: %u instance%s exited on its own:", failed,
               failed == 1 ? "" : "s");
        for (unsigned i = 0; i < n; i++)
            if (in[i].exited && !in[i].asked && !exit_clean(&in[i]))
                printf(" %s", in[i].name);
        printf(" (see above)\n");
    }
    fflush(stdout);
    if (failed)
        return EXIT_USAGE;
    return crashes ? EXIT_BROKEN : EXIT_HELD;
}
