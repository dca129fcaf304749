/*
 * tools/hvlab/cmd_top.c - `hvlab top`: live counters and latencies of a
 * running hvlab process, from BPF programs on its USDT probes
 * (trace/usdt.h, trace/bpf/hvlab_top.bpf.c; docs/top.md).
 *
 * Rules:
 *   TP1  Before anything is loaded, the prerequisites are checked in this
 *        order: BPF support built in (the skeleton; bpftool, clang and
 *        /sys/kernel/btf/vmlinux at build time), BTF in the running kernel,
 *        CAP_BPF and CAP_PERFMON in the effective set (or CAP_SYS_ADMIN).
 *        The first one missing is named in one sentence on stderr, exit 2;
 *        so is a kernel that refuses to load the programs.
 *   TP2  The target is the only hvlab process, or the one --pid names
 *        (top_model.h P4); none, several, or a --pid that is not one: a
 *        sentence, exit 2.
 *   TP3  Only the probes shown are attached (so only their semaphores
 *        rise): every probe but hcall_entry, which --entry adds, and
 *        lock_acquired / lock_released, which --locks adds.  Attached to
 *        the target pid only.  A hypercall's latency is then the
 *        hypervisor's own measure (hcall_exit's ns): one probe hit per
 *        call, and no probe's trap inside the figure; with --entry the
 *        BPF program times entry to exit itself (B2), trap included.
 *   TP4  A sample is taken every --interval seconds (default 1); --once
 *        prints one sample and exits 0.  When the target exits, the last
 *        sample (complete: nothing runs any more) is printed, then exit 0.
 *        SIGINT / SIGTERM end the loop the same way, without a sample:
 *        their handlers are installed and the signals blocked before
 *        anything is attached, and they are unblocked only inside the
 *        wait (ppoll), so one that comes between the stop check and the
 *        wait ends it at once.
 *        Every link and the skeleton are destroyed before exiting, which
 *        lowers the semaphores again.
 *   TP5  `--check` checks TP1 (loading the programs, attaching none) and
 *        prints "top: ready" (exit 0): how a test knows BPF is allowed.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tools/hvlab/cmd.h"
#include "tools/hvlab/opt.h"
#include "tools/hvlab/top_model.h"

#ifdef HVLAB_TOP_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hvlab_top.skel.h"
#endif

void cmd_top_help(FILE *f)
{
    fprintf(f,
        "usage: hvlab top [--pid PID] [--interval SECS] [--once] [--json]\n"
        "                 [--hist HYPERCALL] [--locks] [--entry] | --check\n\n"
        "Attach BPF programs to the USDT probes of a running hvlab process\n"
        "(the only one, or PID) and show, refreshed every interval: per\n"
        "domain and hypercall the count, rate, p50 and p99 latency; faults by\n"
        "outcome (fast, fixed, slow, bounced, killed); lock contention;\n"
        "migration rounds (dirty pages per second); grant maps and unmaps;\n"
        "injection firings.\n\n"
        "  --pid PID         the hvlab process to watch\n"
        "  --interval SECS   seconds between samples (default 1)\n"
        "  --once            print one sample and exit\n"
        "  --json            a sample as one JSON object per line\n"
        "  --hist HYPERCALL  that hypercall's log2 latency histogram per domain\n"
        "                    (a name such as mmu_update, or a number)\n"
        "  --locks           also attach the per-lock-operation probes: hold\n"
        "                    times (costs a probe hit per lock operation)\n"
        "  --entry           also attach hcall_entry: the BPF program times each\n"
        "                    call from entry to exit itself (a second probe hit\n"
        "                    per call; by default the hypervisor's measure is used)\n"
        "  --check           only check that BPF can be used here\n\n"
        "Stops on SIGINT/SIGTERM and when the target exits (printing its last\n"
        "sample).  Needs CAP_BPF and CAP_PERFMON and a kernel with BTF; without\n"
        "them it says what is missing and exits 2.  docs/top.md has the probes.\n");
}

/* ---- prerequisites (TP1) -------------------------------------------------- */

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int cap_effective(unsigned cap)
{
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capget, &h, d) != 0)
        return 0;
    return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* The first missing prerequisite, as a sentence; NULL when none is. */
static const char *top_missing(char *buf, size_t n)
{
#ifndef HVLAB_TOP_BPF
#ifndef HVLAB_TOP_MISSING
#define HVLAB_TOP_MISSING "the BPF build tools"
#endif
    snprintf(buf, n, "this hvlab was built without BPF support (%s was "
             "missing at build time)", HVLAB_TOP_MISSING);
    return buf;
#else
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        snprintf(buf, n, "the running kernel has no BTF "
                 "(/sys/kernel/btf/vmlinux is missing)");
        return buf;
    }
    if (!cap_effective(CAP_SYS_ADMIN)) {
        const char *lack = !cap_effective(CAP_BPF)
            ? (!cap_effective(CAP_PERFMON) ? "CAP_BPF and CAP_PERFMON" : "CAP_BPF")
            : (!cap_effective(CAP_PERFMON) ? "CAP_PERFMON" : NULL);
        if (lack) {
            snprintf(buf, n, "the effective capabilities lack %s", lack);
            return buf;
        }
    }
    return NULL;
#endif
}

/* ---- signals -------------------------------------------------------------- */

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
    (void)sig;
    top_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#ifdef HVLAB_TOP_BPF

/* ---- the BPF side --------------------------------------------------------- */

/* libbpf's messages only with HVLAB_TOP_DEBUG set; otherwise its
   warnings become our own one sentence (TP1). */
static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
    (void)lvl;
    if (!getenv("HVLAB_TOP_DEBUG"))
        return 0;
    return vfprintf(stderr, fmt, ap);
}

enum { ALWAYS, WITH_ENTRY, WITH_LOCKS };
struct top_probe {
    const char *name;
    int when;               /* TP3 */
};
static const struct top_probe probes[] = {
    { "hcall_entry", WITH_ENTRY }, { "hcall_exit", ALWAYS },
    { "fault", ALWAYS }, { "lock_contended", ALWAYS },
    { "lock_acquired", WITH_LOCKS }, { "lock_released", WITH_LOCKS },
    { "mig_round", ALWAYS }, { "grant_map", ALWAYS },
    { "grant_unmap", ALWAYS }, { "inject_fire", ALWAYS },
};
#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

static struct bpf_program *probe_prog(struct hvlab_top *sk, unsigned i)
{
    struct bpf_program *p[NR_PROBES] = {
        sk->progs.on_hcall_entry, sk->progs.on_hcall_exit, sk->progs.on_fault,
        sk->progs.on_lock_contended, sk->progs.on_lock_acquired,
        sk->progs.on_lock_released, sk->progs.on_mig_round,
        sk->progs.on_grant_map, sk->progs.on_grant_unmap,
        sk->progs.on_inject_fire,
    };
    return p[i];
}

static void read_sample(struct hvlab_top *sk, struct top_sample *s)
{
    int fd = bpf_map__fd(sk->maps.hcalls);
    struct top_hcall_key k, nk, *prev = NULL;
    s->nr_hcalls = 0;
    while (s->nr_hcalls < TOP_MAX_ROWS &&
           bpf_map_get_next_key(fd, prev, &nk) == 0) {
        struct top_hcall_row *r = &s->hcalls[s->nr_hcalls];
        if (bpf_map_lookup_elem(fd, &nk, &r->v) == 0) {
            /* T2 on a running target: the counters are added one by one,
               so a copy may catch a call in its bucket but not yet in
               count; the buckets are the count. */
            r->v.count = top_hist_total(r->v.hist, TOP_HIST_BUCKETS) +
                         r->v.untimed;
            if (r->v.errors > r->v.count)
                r->v.errors = r->v.count;
            r->k = nk;
            s->nr_hcalls++;
        }
        k = nk;
        prev = &k;
    }

    fd = bpf_map__fd(sk->maps.faults);
    struct top_fault_key fk, fnk, *fprev = NULL;
    s->nr_faults = 0;
    while (s->nr_faults < TOP_MAX_ROWS &&
           bpf_map_get_next_key(fd, fprev, &fnk) == 0) {
        uint64_t c;
        if (bpf_map_lookup_elem(fd, &fnk, &c) == 0)
            s->faults[s->nr_faults++] = (struct top_fault_row){
                .host = fnk.host, .dom = fnk.dom, .outcome = fnk.outcome, .count = c };
        fk = fnk;
        fprev = &fk;
    }

    fd = bpf_map__fd(sk->maps.locks);
    for (uint32_t c = 0; c < TOP_LOCK_CLASSES; c++)
        if (bpf_map_lookup_elem(fd, &c, &s->locks[c]) != 0)
            memset(&s->locks[c], 0, sizeof(s->locks[c]));

    fd = bpf_map__fd(sk->maps.mig_rounds);
    s->nr_mig = 0;
    for (uint32_t i = 0; i < TOP_MIG_RING; i++) {
        struct top_mig_round r;
        if (bpf_map_lookup_elem(fd, &i, &r) == 0 && r.seq)
            s->mig[s->nr_mig++] = r;
    }
    for (unsigned i = 1; i < s->nr_mig; i++)        /* oldest first */
        for (unsigned j = i; j > 0 && s->mig[j - 1].seq > s->mig[j].seq; j--) {
            struct top_mig_round t = s->mig[j];
            s->mig[j] = s->mig[j - 1];
            s->mig[j - 1] = t;
        }

    fd = bpf_map__fd(sk->maps.grants);
    struct top_grant_key gk, gnk, *gprev = NULL;
    s->nr_grants = 0;
    while (bpf_map_get_next_key(fd, gprev, &gnk) == 0) {
        struct top_grant_val v;
        if (bpf_map_lookup_elem(fd, &gnk, &v) == 0) {
            unsigned i;
            for (i = 0; i < s->nr_grants && (s->grants[i].host != gnk.host ||
                                             s->grants[i].dom != gnk.dom); i++)
                ;
            if (i == s->nr_grants && i < TOP_MAX_ROWS)
                s->grants[s->nr_grants++] = (struct top_grant_row){
                    .host = gnk.host, .dom = gnk.dom };
            if (i < s->nr_grants) {
                if (gnk.unmap) {
                    s->grants[i].unmaps = v.count;
                    s->grants[i].unmap_errors = v.errors;
                } else {
                    s->grants[i].maps = v.count;
                    s->grants[i].map_errors = v.errors;
                }
            }
        }
        gk = gnk;
        gprev = &gk;
    }

    fd = bpf_map__fd(sk->maps.injects);
    struct top_inject_key ik, ink, *iprev = NULL;
    s->nr_injects = 0;
    while (s->nr_injects < TOP_MAX_ROWS &&
           bpf_map_get_next_key(fd, iprev, &ink) == 0) {
        uint64_t c;
        if (bpf_map_lookup_elem(fd, &ink, &c) == 0)
            s->injects[s->nr_injects++] = (struct top_inject_row){
                .point = ink.point, .action = ink.action, .count = c };
        ik = ink;
        iprev = &ik;
    }
    s->dropped = sk->bss->dropped;
}

struct top_opts {
    int pid, once, json, locks, entry, hist_op;
    double interval;
};

/* Keep only hist_op's rows (--hist). */
static void only_op(struct top_sample *s, int op)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->nr_hcalls; i++)
        if ((int)s->hcalls[i].k.op == op)
            s->hcalls[n++] = s->hcalls[i];
    s->nr_hcalls = n;
}

static void show(const struct top_opts *o, struct top_sample *s, int screen)
{
    if (o->hist_op >= 0)
        only_op(s, o->hist_op);
    if (o->json) {
        top_sample_json(stdout, s);
    } else {
        if (screen)
            fputs("\033[H\033[2J", stdout);
        if (o->hist_op >= 0) {
            const char *name = top_hcall_name((unsigned)o->hist_op);
            printf("hvlab top - pid %d: %s latency (log2 ns buckets)\n",
                   s->pid, name ? name : "?");
            if (s->nr_hcalls == 0)
                printf("  (no calls)\n");
            for (unsigned i = 0; i < s->nr_hcalls; i++) {
                const struct top_hcall_row *r = &s->hcalls[i];
                printf("\nhost %u dom %u: %llu calls, p50 %llu ns, p99 %llu ns\n",
                       r->k.host, r->k.dom, (unsigned long long)r->v.count,
                       (unsigned long long)top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.5),
                       (unsigned long long)top_hist_percentile(r->v.hist, TOP_HIST_BUCKETS, 0.99));
                top_hist_print(stdout, r->v.hist, TOP_HIST_BUCKETS);
            }
        } else {
            top_sample_table(stdout, s, o->locks);
        }
    }
    fflush(stdout);
}

static int top_run(const struct top_opts *o)
{
    char why[256];
    struct bpf_link *links[NR_PROBES] = { 0 };
    struct top_sample *cur = calloc(1, sizeof(*cur));
    struct top_sample *prev = calloc(1, sizeof(*prev));
    int rc = EXIT_HELD, pidfd = -1, masked = 0;
    sigset_t waitmask;                  /* the mask inside the wait */
    sigemptyset(&waitmask);

    if (!cur || !prev) {
        fprintf(stderr, "hvlab top: out of memory for a sample (%zu bytes)\n",
                sizeof(*cur));
        free(cur);
        free(prev);
        return EXIT_USAGE;
    }
    libbpf_set_print(libbpf_quiet);
    struct hvlab_top *sk = hvlab_top__open_and_load();
    if (!sk) {
        int e = errno;
        fprintf(stderr, "hvlab top: the kernel refused to load the BPF "
                "programs (%s)\n", strerror(e));
        free(cur);
        free(prev);
        hvlab_top__destroy(sk);
        return EXIT_USAGE;
    }
    if (o->pid == 0) {                              /* TP5: --check */
        printf("top: ready\n");
        goto out;
    }

    /* TP4: handlers first, the signals blocked but inside ppoll. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, &waitmask);
    masked = 1;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);

    char exe[64];
    snprintf(exe, sizeof(exe), "/proc/%d/exe", o->pid);
    for (unsigned i = 0; i < NR_PROBES; i++) {
        if ((probes[i].when == WITH_LOCKS && !o->locks) ||
            (probes[i].when == WITH_ENTRY && !o->entry))
            continue;
        links[i] = bpf_program__attach_usdt(probe_prog(sk, i), o->pid, exe,
                                            "hvlab", probes[i].name, NULL);
        if (!links[i]) {
            int e = errno;
            snprintf(why, sizeof(why), "%s", strerror(e));
            if (kill(o->pid, 0) != 0) {
                fprintf(stderr, "hvlab top: process %d exited before it "
                        "could be attached\n", o->pid);
            } else {
                fprintf(stderr, "hvlab top: cannot attach to probe hvlab:%s "
                        "of process %d (%s)\n", probes[i].name, o->pid, why);
            }
            rc = EXIT_USAGE;
            goto out;
        }
    }

    unsigned attached = 0;
    for (unsigned i = 0; i < NR_PROBES; i++)
        attached += links[i] != NULL;
    fprintf(stderr, "hvlab top: attached to process %d (%u probes)\n",
            o->pid, attached);

    /* TP4: the target's exit ends the loop (pidfd, else kill(pid, 0)). */
    pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);

    int screen = !o->json && isatty(STDOUT_FILENO);
    double t_prev = now_s();
    for (;;) {
        double deadline = t_prev + o->interval;
        int exited = 0;
        while (!top_stop) {
            double left = deadline - now_s();
            if (left <= 0)
                break;
            if (pidfd < 0 && kill(o->pid, 0) != 0 && errno == ESRCH) {
                exited = 1;
                break;
            }
            if (pidfd < 0 && left > 0.1)
                left = 0.1;             /* no pidfd: look again soon */
            struct timespec ts = {
                .tv_sec = (time_t)left,
                .tv_nsec = (long)((left - (double)(time_t)left) * 1e9),
            };
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            int n = ppoll(&p, pidfd >= 0 ? 1 : 0, &ts, &waitmask);
            if (n > 0) {
                exited = 1;
                break;
            }
        }
        if (top_stop)
            break;
        double t = now_s();
        memset(cur, 0, sizeof(*cur));
        cur->pid = o->pid;
        cur->interval_s = t - t_prev;
        read_sample(sk, cur);
        top_sample_finish(cur, prev);
        show(o, cur, screen);
        if (exited) {
            if (!o->json)
                printf("\nprocess %d exited\n", o->pid);
            break;
        }
        if (o->once)
            break;
        struct top_sample *x = prev;
        prev = cur;
        cur = x;
        t_prev = t;
    }

out:
    for (unsigned i = 0; i < NR_PROBES; i++)
        bpf_link__destroy(links[i]);
    hvlab_top__destroy(sk);
    if (pidfd >= 0)
        close(pidfd);
    if (masked) {                       /* a pending stop: its handler */
        sigset_t stops;
        sigemptyset(&stops);
        sigaddset(&stops, SIGINT);
        sigaddset(&stops, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &stops, NULL);
    }
    free(cur);
    free(prev);
    return rc;
}
#endif /* HVLAB_TOP_BPF */

/* ---- the command ---------------------------------------------------------- */

int cmd_top(int argc, char **argv)
{
    static const char *const names[] = { "--pid", "--interval", "--hist" };
    int pid = -1, once = 0, json = 0, locks = 0, entry = 0, check = 0;
    int hist_op = -1;
    double interval = 1.0;

    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        if (strcmp(argv[i], "--once") == 0) {
            once = 1;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (strcmp(argv[i], "--locks") == 0) {
            locks = 1;
            continue;
        }
        if (strcmp(argv[i], "--entry") == 0) {
            entry = 1;
            continue;
        }
        if (strcmp(argv[i], "--check") == 0) {
            check = 1;
            continue;
        }
        int k = opt_match("top", argc, argv, &i, names, 3, &val);
        if (k < 0)
            return EXIT_USAGE;
        char *end;
        switch (k) {
        case 0:
            pid = (int)strtol(val, &end, 10);
            if (*end || pid <= 0) {
                fprintf(stderr, "hvlab top: --pid: '%s' is not a process id\n", val);
                return EXIT_USAGE;
            }
            break;
        case 1:
            interval = strtod(val, &end);
            if (*end || !(interval >= 0.01 && interval <= 3600)) {
                fprintf(stderr, "hvlab top: --interval: '%s' is not a number "
                        "of seconds between 0.01 and 3600\n", val);
                return EXIT_USAGE;
            }
            break;
        case 2:
            hist_op = top_hcall_parse(val);
            if (hist_op < 0) {
                fprintf(stderr, "hvlab top: --hist: '%s' is not a hypercall "
                        "(a name such as mmu_update, or a number)\n", val);
                return EXIT_USAGE;
            }
            break;
        default:
            fprintf(stderr, "hvlab top: unknown argument '%s'\n(see 'hvlab "
                    "top --help')\n", argv[i]);
            return EXIT_USAGE;
        }
    }

    char why[256];
    const char *missing = top_missing(why, sizeof(why));
    if (missing) {
        fprintf(stderr, "hvlab top: %s\n", missing);
        return EXIT_USAGE;
    }
#ifdef HVLAB_TOP_BPF
    if (!check) {
        /* TP2 */
        if (pid > 0) {
            if (!top_is_hvlab("/proc", pid)) {
                fprintf(stderr, "hvlab top: process %d is not an hvlab "
                        "running a machine (run, migrate, receive, explore, "
                        "repro, fuzz)\n", pid);
                return EXIT_USAGE;
            }
        } else {
            pid_t found[8];
            int n = top_find_hvlab("/proc", getpid(), found, 8);
            if (n == 0) {
                fprintf(stderr, "hvlab top: no hvlab process is running\n");
                return EXIT_USAGE;
            }
            if (n > 1) {
                char cl[200];
                fprintf(stderr, "hvlab top: %d hvlab processes are running; "
                        "name one with --pid:\n", n);
                for (int i = 0; i < n && i < 8; i++)
                    fprintf(stderr, "  %d  %s\n", (int)found[i],
                            top_cmdline("/proc", found[i], cl, sizeof(cl)));
                if (n > 8)
                    fprintf(stderr, "  ... and %d more\n", n - 8);
                return EXIT_USAGE;
            }
            pid = found[0];
        }
    }
    struct top_opts o = {
        .pid = check ? 0 : pid, .once = once, .json = json, .locks = locks,
        .entry = entry, .hist_op = hist_op, .interval = interval,
    };
    return top_run(&o);
#else
    (void)pid; (void)once; (void)json; (void)locks; (void)entry; (void)check;
    (void)hist_op;
    (void)interval; (void)cap_effective; (void)now_s; (void)on_signal;
    return EXIT_USAGE;
#endif
}
