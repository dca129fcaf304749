/*
 * fuzz/exec.c - fuzz_one(), fuzz_init(), fuzz_print_program() (fuzz/fuzz.h).
 *
 * Rules (F1-F4 of fuzz/fuzz.h, and):
 *   E1  One world per surface, built by the first fuzz_init/fuzz_one; it is
 *       reset (fuzz/world.h W2) before a run when the previous run touched
 *       it, so every run starts from the snapshot.
 *   E2  A call runs on its actor's vCPU (`current`), with its argument
 *       structs written into the actor's buffer through the actor's own MMU
 *       (mmu_write at the buffer's direct-map VA), as a guest would; a
 *       buffer the program unmapped makes the call a no-op.  Results the
 *       pools need (grant handles) are read back the same way.  The call
 *       code is fuzz/call.h's, shared with the race surface.
 *   E3  After every call: hv_audit_changed (every invariant, quiet: the
 *       count of a full audit, re-running only what the mutators marked
 *       since the last one, core/audit.h A1-A9; a full hv_audit with a
 *       memory stream for the report only when it fails), then the isolation
 *       checks (fuzz/isolation.h): fz_oracle (fuzz/call.h).  The first
 *       violation stops the run.
 *   E4  Ops that do not apply to the actor's kind (HVM ops on a PV actor)
 *       do nothing and count as run.
 *   E5  Options (fuzz_set_option) go into the worlds' hv_options before
 *       the first fuzz_init / fuzz_one; after that they are fixed, so
 *       every reset rebuilds the same machine (F2).
 *   E6  Two resets (fuzz_set_reset): FUZZ_RESET_REBUILD runs the program
 *       in this process and rebuilds the world after it (the world is
 *       left as the run made it, for tests and `hvlab repro`);
 *       FUZZ_RESET_FORK keeps this process's world pristine and runs each
 *       program in a forked child, so only the pages the run dirtied are
 *       copied (by the host kernel's copy-on-write) and all of them vanish
 *       with the child: the whole hypervisor state, heap objects included,
 *       is back for the next run at the cost of a fork.  The child's result
 *       comes back through shared memory; a child killed by a signal (the
 *       hypervisor crashed on the input, F4) makes this process die of the
 *       same signal after printing the program, as AFL++ expects; one
 *       that exits without having finished its run (a sanitizer's report
 *       ends the process with exit(), not a signal) makes it abort.  The
 *       guest RAM of a forked world is advised out of transparent huge
 *       pages: one store must not copy 2 MiB.  The child dies with this
 *       process (PR_SET_PDEATHSIG): when AFL++ kills a harness past its
 *       time limit, an orphaned child went on writing into the shared
 *       coverage map while the next inputs ran (AFL++ stability 28% on
 *       hvmrace on a loaded machine).  AFL++ coverage is shared
 *       memory, so the child's edges count; libFuzzer's counters are not,
 *       so the libFuzzer mains need E7 to use it.
 *   E7  Coverage carried back (fuzz_set_fork_coverage): the child copies
 *       the counter region into a shared buffer as its last act and the
 *       parent copies it over its own region once the child has exited
 *       normally; the child's counters began as the parent's (fork copies
 *       them), so the result is what the run would have counted here.  A
 *       child that died of a signal takes its counters with it: the
 *       parent dies of the same signal anyway (F4).
 *   E8  FUZZ_RESET_SNAP (experimental, fuzz/snap.h): the program runs in
 *       this process inside the hypervisor's arena; the next fuzz_one
 *       (or fz_snap_restore) puts back the arena, RAM and frame-table
 *       pages the run wrote (the hot pages, fuzz/snap.h), and core/'s
 *       static crash table.  The world joins by being
 *       rebuilt in the arena at its first SNAP run.  The race surfaces
 *       take it too: the det scheduler's state and the injector's arrays
 *       are arena blocks freed by the run's end, the coroutine stacks
 *       mappings of their own unmapped by it (a deadlocked run's stay,
 *       fuzz/race.c RC7), and what outlives runs (hvmrace's injector
 *       plan) is made with the world (fuzz/world.c W8).  This file's
 *       statics a run changes need no restore: prog is decoded afresh by every run and
 *       fuzz/call.c's op_shadow bitmap is only written (an output of the
 *       domctl).
 *       Leaving SNAP (fuzz_set_reset) restores and drops the snapshot.
 *   E9  FUZZ_RESTORE's world is a bare machine (fuzz/world.c W10); a run
 *       restores the input's stream into it (fuzz/restore.c) under the
 *       same resets.  Under FUZZ_RESET_REBUILD only a run with a finding
 *       rebuilds it: a clean run leaves no domain and every frame free
 *       (restore.c FR3), though not the free heap's order, which only the
 *       snapshot and fork resets put back (AFL++ stability).
 *   E10 fuzz_set_oracle(false) turns E3 off (the switch: fuzz/oracle.c):
 *       fz_oracle (fuzz/call.c CA4) then only forgets the call's contract
 *       breach, and the restore surface skips its audits (fuzz/restore.c
 *       FR2).  The switch is set outside runs, so no reset puts it back.
 */
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/domctl.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/hvm.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/vcpu.h"
#include "fuzz/call.h"
#include "fuzz/fuzz.h"
#include "fuzz/isolation.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/race.h"
#include "fuzz/restore.h"
#include "fuzz/snap.h"
#include "fuzz/world.h"

static struct fz_world worlds[FUZZ_NR];
static bool built[FUZZ_NR];
static bool touched[FUZZ_NR];
static enum fuzz_reset reset_mode = FUZZ_RESET_REBUILD;   /* E6 */
static struct fuzz_result *child_res;      /* E6: shared with the child */
static uint8_t *cov_start, *cov_shared;    /* E7 */
static size_t cov_len;

void fuzz_set_reset(enum fuzz_reset mode)
{
    if (reset_mode == FUZZ_RESET_SNAP && mode != FUZZ_RESET_SNAP)
        fz_snap_drop();                                 /* E8 */
    reset_mode = mode;
}

int fuzz_set_fork_coverage(void *start, void *end)
{
    size_t len = start && end > start ? (size_t)((uint8_t *)end -
                                                 (uint8_t *)start) : 0;
    if (cov_shared)
        munmap(cov_shared, cov_len);
    cov_start = cov_shared = NULL;
    cov_len = 0;
    if (!len)
        return 0;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    cov_start = start;
    cov_shared = p;
    cov_len = len;
    return 0;
}

static const char *const surface_names[FUZZ_NR] = {
    [FUZZ_MM] = "mm", [FUZZ_GRANT] = "grant", [FUZZ_SHADOW] = "shadow",
    [FUZZ_RESTORE] = "restore",
    [FUZZ_RACE] = "race", [FUZZ_HVMRACE] = "hvmrace",
};

const char *fuzz_surface_name(enum fuzz_surface s)
{
    return (unsigned)s < FUZZ_NR ? surface_names[s] : NULL;
}

bool fuzz_surface_in_order(enum fuzz_surface s)
{
    return s == FUZZ_GRANT || s == FUZZ_RACE || s == FUZZ_HVMRACE;
}

int fuzz_surface_find(const char *s)
{
    for (unsigned i = 0; s && i < FUZZ_NR; i++)
        if (!strcmp(s, surface_names[i]))
            return (int)i;
    return -1;
}

/* Does path component c[0..n) name the surface `name` (fuzz.h)? */
static bool component_names(const char *c, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n < k)
        return false;
    if (n == k)
        return !memcmp(c, name, k);
    if (!memcmp(c, name, k) && (c[k] == '-' || c[k] == '_'))
        return true;
    return !memcmp(c + n - k, name, k) && c[n - k - 1] == '-';
}

int fuzz_surface_of_path(const char *path)
{
    size_t len = path ? strlen(path) : 0;
    while (len) {                       /* innermost component first */
        while (len && path[len - 1] == '/')
            len--;
        size_t start = len;
        while (start && path[start - 1] != '/')
            start--;
        for (int s = 0; len > start && s < FUZZ_NR; s++)
            if (component_names(path + start, len - start, surface_names[s]))
                return s;
        len = start;
    }
    return -1;
}

/* fuzz_set_option: refused once any world exists. */
static bool options_fixed;

int fuzz_set_option(const char *kv, char *err, size_t len)
{
    char key[128];
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (options_fixed) {
        snprintf(err, len, "options are fixed once the world is built");
        return -1;
    }
    if (!eq || eq == kv || !eq[1]) {
        snprintf(err, len, "expected KEY=VALUE, got '%s'", kv ? kv : "");
        return -1;
    }
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof(key)) {
        snprintf(err, len, "option key too long in '%s'", kv);
        return -1;
    }
    memcpy(key, kv, klen);
    key[klen] = '\0';
    if (!hv_option_known(key)) {
        snprintf(err, len, "unknown hypervisor option '%s' (see 'hvlab "
                 "options')", key);
        return -1;
    }
    return hv_option_set(fz_world_options(), key, eq + 1, err, len) ? -1
                                                                     : 0;
}

int fuzz_set_options(const char *list, char *err, size_t len)
{
    char one[256];
    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n >= sizeof(one)) {
            snprintf(err, len, "option too long in '%s'", list);
            return -1;
        }
        memcpy(one, list, n);
        one[n] = '\0';
        if (n && fuzz_set_option(one, err, len))
            return -1;
        list += n + (list[n] == ',');
    }
    return 0;
}

int fuzz_init(enum fuzz_surface s)
{
    options_fixed = true;
    if ((unsigned)s >= FUZZ_NR)
        return -1;
    if (built[s])
        return 0;
    if (fz_world_build(&worlds[s], s))
        return -1;
    built[s] = true;
    touched[s] = false;
    return 0;
}

/* For tests and the benchmark: the world of s (built), or NULL. */
struct fz_world *fz_exec_world(enum fuzz_surface s);
struct fz_world *fz_exec_world(enum fuzz_surface s)
{
    return (unsigned)s < FUZZ_NR && built[s] ? &worlds[s] : NULL;
}

/* --- the entry points ------------------------------------------------------ */

static struct fz_prog prog;     /* big: not on the stack */

/* The program on the world as it stands; 0 or 1 (a violation in res),
   aborting on a violation when abort_on is set. */
static int run_program(enum fuzz_surface s, struct fz_world *w,
                       const uint8_t *data, size_t len,
                       struct fuzz_result *res, bool abort_on)
{
    if (fz_is_race_surface(s))          /* fuzz/race.h */
        return fz_race_run(w, data, len, res, abort_on);
    if (s == FUZZ_RESTORE)              /* E9; A3 aborts on a finding */
        return fuzz_restore_run(w->m, data, len, res);
    fz_decode(s, data, len, &prog);
    res->calls = prog.ncalls;

    struct fz_state st = { 0 };
    struct fz_call_ctx c = { .w = w, .st = &st };
    for (unsigned i = 0; i < prog.ncalls; i++) {
        (void)fz_run_as_actor(&c, &prog.call[i]);
        res->calls_run = i + 1;
        if (fz_oracle(w, res)) {
            res->violation = true;
            res->at_call = i;
            if (abort_on) {
                fprintf(stderr, "hvlab-fuzz: %s after call %u\n%s",
                        res->invariant, i, res->report);
                fz_print_prog(&prog, stderr);
                abort();
            }
            return 1;
        }
    }
    return 0;
}

#ifdef FUZZ_ABORT
#define ABORT_ON_VIOLATION true
#else
#define ABORT_ON_VIOLATION false
#endif

/* E6: the program in a child of this process. */
static int run_forked(enum fuzz_surface s, struct fz_world *w,
                      const uint8_t *data, size_t len,
                      struct fuzz_result *res)
{
    if (!child_res) {
        void *p = mmap(NULL, sizeof(*child_res), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "hvlab-fuzz: no shared memory for the results: "
                    "%m\n");
            abort();
        }
        child_res = p;
    }
    memset(child_res, 0, offsetof(struct fuzz_result, report));
    child_res->report[0] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "hvlab-fuzz: fork: %m\n");
        abort();
    }
    if (pid == 0) {
        /* E6: a child never outlives the harness (AFL++ kills a harness
           past its time limit; an orphan would go on writing into the
           shared coverage map during the next runs). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
            _exit(3);
        int rc = run_program(s, w, data, len, child_res, false);
        child_res->finished = true;                     /* E6 */
        if (cov_len)                                    /* E7 */
            memcpy(cov_shared, cov_start, cov_len);
        _exit(rc);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st) && !child_res->finished) {
        /* E6: the child left without finishing its run - a sanitizer's
           report or an exit() in the hypervisor: it died all the same. */
        fprintf(stderr, "hvlab-fuzz: the hypervisor exited (status %d) in "
                "the middle of the run:\n", WEXITSTATUS(st));
        fuzz_print_program(s, data, len, stderr);
        abort();
    }
    if (WIFSIGNALED(st)) {                  /* F4: the hypervisor died */
        int sig = WTERMSIG(st);
        fprintf(stderr, "hvlab-fuzz: the hypervisor died of signal %d (%s) "
                "running:\n", sig, strsignal(sig));
        fuzz_print_program(s, data, len, stderr);
        signal(sig, SIG_DFL);
        raise(sig);
        abort();
    }
    if (cov_len)                                        /* E7 */
        memcpy(cov_start, cov_shared, cov_len);
    memcpy(res, child_res, sizeof(*res));
    if (res->violation && ABORT_ON_VIOLATION) {
        fprintf(stderr, "hvlab-fuzz: %s after call %u\n%s", res->invariant,
                res->at_call, res->report);
        fuzz_print_program(s, data, len, stderr);
        abort();
    }
    (void)w;
    return res->violation ? 1 : 0;
}

int fuzz_one(enum fuzz_surface s, const uint8_t *data, size_t len,
             struct fuzz_result *res)
{
    struct fuzz_result local;
    if (!res)
        res = &local;
    options_fixed = true;
    memset(res, 0, offsetof(struct fuzz_result, report));
    res->report[0] = '\0';
    if (fuzz_init(s))
        return 0;
    struct fz_world *w = &worlds[s];
    if (touched[s]) {
        if (fz_world_reset(w)) {
            fprintf(stderr, "hvlab-fuzz: the world could not be reset\n");
            abort();
        }
        w->thp_off = false;             /* a rebuilt machine: advise again */
    }
    enum fuzz_reset mode = reset_mode;
    if (mode == FUZZ_RESET_SNAP) {                             /* E8 */
        touched[s] = false;
        if (fz_snap_enter(w))
            abort();
        int rc = run_program(s, w, data, len, res, ABORT_ON_VIOLATION);
        fz_snap_leave();
        return rc;
    }
    if (mode == FUZZ_RESET_FORK) {                      /* E6 */
        touched[s] = false;
        if (!w->thp_off && w->m) {
            (void)madvise(w->m->ram, w->max_mfn << PAGE_SHIFT,
                          MADV_NOHUGEPAGE);
            w->thp_off = true;
        }
        return run_forked(s, w, data, len, res);
    }
    int rc = run_program(s, w, data, len, res, ABORT_ON_VIOLATION);
    /* E9: a clean restore leaves the machine as it found it (restore.c
       FR3), so only a finding's machine is built again. */
    touched[s] = s != FUZZ_RESTORE || rc;
    return rc;
}

void fuzz_print_program(enum fuzz_surface s, const uint8_t *data, size_t len,
                        FILE *f)
{
    if (s == FUZZ_RESTORE) {
        fprintf(f, "(a migration stream of %zu bytes)\n", len);
        return;
    }
    if (fz_is_race_surface(s)) {        /* fuzz/race.h */
        fz_race_print(s, data, len, f);
        return;
    }
    fz_decode(s, data, len, &prog);
    fz_print_prog(&prog, f);
}
