/*
 * fuzz/main/gen-seeds.c - write the fuzzer's seed corpora: `make
 * fuzz-seeds` runs `gen-seeds fuzz/seeds` from the top of the tree
 * (docs/fuzz.md "Seeds").
 *
 *   restore   the migration streams of fuzz/restore_seed.c, as
 *             DIR/restore/NAME: complete libxc streams, readable by Xen's
 *             verify-stream-v2 as well as by hvlab.
 *   mm, grant the hypercalls of a few shipped scenarios (scenarios/NAME.hvl,
 *             run here in det mode, quiet), recorded at the dispatcher
 *             (core/hypercall.h hv_hcall_observer) and encoded as programs
 *             of the surface (fuzz/encode.h), cut into windows of 1..32
 *             calls: DIR/SURFACE/SCENARIO-N.
 *             mm also takes two hand-made programs (DIR/mm/hand-N): the
 *             use a kernel makes of a second page directory (the world's
 *             second L2, fuzz/world.c W9) - a read-only linear entry to it,
 *             taken out again; the directory unhooked, pinned and unpinned
 *             - which the scenarios do not make.  grant takes two
 *             (DIR/grant/hand-N): two grants mapped and one replaced by a
 *             scratch page's PTE (unmap_and_replace); the version 2
 *             status frames asked for, one mapped read-only, unmapped,
 *             and version 1 again.
 *   shadow    the HVM guests' page-table writes, CR3 loads and INVLPGs are
 *             no hypercalls and pass no hook: its seeds are the recorded
 *             memory_op calls of the HVM scenario, if any, and a small
 *             table of hand-made programs (DIR/shadow/hand-N).
 *   race      hand-made programs (DIR/race/hand-N): an empty schedule and
 *             an mm program of dom1's two vCPUs, one rewriting entries of
 *             its second L1 through writable pagetables while the other
 *             reads a page that L1 maps (story C's workload, never its
 *             interleaving).
 *   hvmrace   hand-made programs too (DIR/hvmrace/hand-N): a racer byte,
 *             no schedule, and the ops of one story each (dom1's table
 *             writes, reads and CR3 loads, hand-1 being story A's
 *             workload; dom0's foreign map, paging, sharing), never a
 *             story's interleaving.
 *
 * Rules:
 *   G1  Deterministic: the scenarios run in det mode with their own seed,
 *       the windows are chosen by a fixed rule, so a second run writes the
 *       same bytes.
 *   G2  Bounded: at most SEEDS_MAX recorded seeds and SEEDS_BYTES of their
 *       bytes per surface, plus at most SEEDS_HAND_MAX hand-made ones
 *       (which take no recorded seed's place),
 *       no two alike.
 *   G3  Every seed written runs clean through fuzz_one with the default
 *       options; one that does not is dropped and printed (a finding).
 *   G4  The directories mm/, grant/, shadow/, restore/, race/ and hvmrace/ hold
 *       only what this run wrote, and only a whole run replaces them: every source
 *       scenario is parsed before anything is written, each surface's
 *       seeds are written into DIR/.SURFACE.new, and only once every
 *       surface is complete does each take the place of DIR/SURFACE (the
 *       old one is removed).  Any failure (a scenario that does not parse:
 *       the paths are relative to the top of the tree; a file that cannot
 *       be written) leaves DIR/SURFACE as it was and exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "core/hypercall.h"
#include "fuzz/encode.h"
#include "fuzz/fuzz.h"
#include "fuzz/prog.h"
#include "fuzz/restore_seed.h"
#include "fuzz/world.h"
#include "toolstack/runner.h"
#include "toolstack/scenario.h"

#define SEEDS_MAX       64          /* G2, per surface */
#define SEEDS_BYTES     8192        /* G2, per surface */
#define SEEDS_HAND_MAX  8           /* G2, per surface, besides */
#define WINDOW_MAX      32          /* calls of a seed */
#define REC_MAX         4096        /* calls recorded per scenario */
#define SEED_CAP        4096        /* bytes of one seed */
#define SOURCES_MAX     8           /* scenarios of one surface */

/* Which shipped scenarios feed which surface. */
static const char *const sources_mm[] = {
    "pv-fork-storm-small", "migrate-live", "blk-io", NULL };
static const char *const sources_grant[] = {
    "blk-io", "grant-xsa224", "grant-xsa227", "grant-xsa234",
    "grant-xsa255", "grant-xsa316", NULL };
static const char *const sources_shadow[] = { "hvm-fork-storm", NULL };

static const char *const *const sources[FUZZ_RESTORE] = {
    [FUZZ_MM] = sources_mm, [FUZZ_GRANT] = sources_grant,
    [FUZZ_SHADOW] = sources_shadow,
};

/* G4: every source, parsed before anything is written. */
static struct scenario *parsed[FUZZ_RESTORE][SOURCES_MAX];

static int parse_sources(void)
{
    for (unsigned s = FUZZ_MM; s < FUZZ_RESTORE; s++)
        for (unsigned i = 0; sources[s][i]; i++) {
            char path[512], err[1024];
            if (i >= SOURCES_MAX) {
                fprintf(stderr, "gen-seeds: more than %u sources for %s\n",
                        SOURCES_MAX, fuzz_surface_name(s));
                return -1;
            }
            snprintf(path, sizeof(path), "scenarios/%s.hvl", sources[s][i]);
            parsed[s][i] = scenario_parse_file(path, err, sizeof(err));
            if (!parsed[s][i]) {
                fprintf(stderr, "gen-seeds: %s (run from the top of the "
                        "tree)\n", err);
                return -1;
            }
        }
    return 0;
}

static void free_sources(void)
{
    for (unsigned s = FUZZ_MM; s < FUZZ_RESTORE; s++)
        for (unsigned i = 0; i < SOURCES_MAX; i++) {
            scenario_free(parsed[s][i]);
            parsed[s][i] = NULL;
        }
}

/* --- recording ---------------------------------------------------------------- */

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static enum fuzz_surface rec_surface;
static struct fz_call rec_calls[REC_MAX];
static unsigned rec_n;
static uint64_t rec_hcalls;

static void observe(struct vcpu *v, unsigned op, const uint64_t args[5])
{
    pthread_mutex_lock(&rec_lock);
    rec_hcalls++;
    if (rec_n < REC_MAX)
        rec_n += fz_record(rec_surface, v, op, args, rec_calls + rec_n,
                           REC_MAX - rec_n);
    pthread_mutex_unlock(&rec_lock);
}

/* Run source i of s (scenarios/NAME.hvl, parsed) with the observer on;
   0 or -1. */
static int record(enum fuzz_surface s, unsigned i)
{
    const char *name = sources[s][i];
    const struct scenario *sc = parsed[s][i];
    FILE *null = fopen("/dev/null", "w");
    if (!null)
        return perror("/dev/null"), -1;
    struct run_opts o = { .sched = SCHED_DET, .out = null, .err = stderr };
    rec_surface = s;
    rec_n = 0;
    rec_hcalls = 0;
    hv_hcall_observer = observe;
    int rc = runner_run(sc, &o);
    hv_hcall_observer = NULL;
    fclose(null);
    if (rc != RUN_HELD)
        fprintf(stderr, "gen-seeds: %s: the run did not hold (%d); its calls "
                "are used all the same\n", name, rc);
    return 0;
}

/* --- hand-made programs (shadow) -------------------------------------------- */

/* One call of the shadow world: actor dom1 (HVM) unless the op is dom0's. */
static struct fz_call hcall_of(uint8_t op, unsigned vcpu)
{
    struct fz_call c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.actor = fz_ops[op].actor == FZ_ACT_DOM0 ? 0 : 1;
    c.vcpu = (uint8_t)vcpu;
    c.nitems = 1;
    for (unsigned k = 0; k < fz_ops[op].nargs; k++)
        c.pick[0][k].kind = fz_ops[op].arg[k].kind;
    for (unsigned h = 0; h < fz_ops[op].nhead; h++)
        c.head[h].kind = fz_ops[op].head[h].kind;
    return c;
}

static void setp(struct fz_pick *p, unsigned dom, unsigned role, unsigned idx,
                 unsigned extra)
{
    p->dom = (uint8_t)dom;
    p->role = (uint8_t)role;
    p->idx = (uint8_t)idx;
    if (p->kind == FZ_K_PTE)
        p->flags = (uint8_t)extra;
    else
        p->slot = (uint16_t)extra;
}

/* Hand-made shadow program number i (0 .. HAND_NR-1) into p. */
#define HAND_NR 6
static void hand_prog(unsigned i, struct fz_prog *p)
{
    struct fz_call *c = p->call;
    unsigned n = 0;
    p->surface = FUZZ_SHADOW;
    switch (i) {
    case 0:     /* a guest table write and reads through it */
        c[n] = hcall_of(FZ_OP_STORE, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 5);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 3, 0);     /* P|RW */
        n++;
        c[n] = hcall_of(FZ_OP_LOAD, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 3, 0);
        n++;
        c[n] = hcall_of(FZ_OP_HVM_INVLPG, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 3, 0);
        n++;
        break;
    case 1:     /* reload the root, then flush */
        c[n] = hcall_of(FZ_OP_HVM_CR3, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_L4, 0, 0);
        n++;
        c[n] = hcall_of(FZ_OP_STORE, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 7, 1);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 8, 0);
        n++;
        c[n] = hcall_of(FZ_OP_HVM_FLUSH, 1);
        n++;
        break;
    case 2:     /* log-dirty on, a write, clean, peek, off */
        for (unsigned k = 0; k < 5; k++) {
            static const uint8_t sop[5] = { 1, 0xff, 2, 3, 0 };
            if (sop[k] == 0xff) {
                c[n] = hcall_of(FZ_OP_STORE, 0);
                setp(&c[n].pick[0][0], 0, FZ_R_DATA, 2, 0);
                setp(&c[n].pick[0][1], 0, FZ_R_DATA, 2, 0);
            } else {
                c[n] = hcall_of(FZ_OP_SHADOW_OP, 0);
                setp(&c[n].pick[0][0], 0, 0, sop[k], 0);
                setp(&c[n].pick[0][1], 1, 0, 0, 0);     /* dom1 */
            }
            n++;
        }
        break;
    case 3:     /* a page-directory write, unmapping a page table */
        c[n] = hcall_of(FZ_OP_STORE, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L2, 0, 1);
        setp(&c[n].pick[0][1], 0, FZ_R_L1, 1, 7);       /* NP */
        n++;
        c[n] = hcall_of(FZ_OP_HVM_FLUSH, 0);
        n++;
        c[n] = hcall_of(FZ_OP_LOAD, 0);
        setp(&c[n].pick[0][0], 0, FZ_V_USER, 0, 0);
        setp(&c[n].pick[0][1], 0, 0, 1, 0);             /* user */
        n++;
        break;
    case 4:     /* give a data page back and take it again */
        c[n] = hcall_of(FZ_OP_MEM_DECREASE, 0);
        setp(&c[n].head[0], 3, 0, 0, 0);                /* DOMID_SELF */
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 9, 0);
        n++;
        c[n] = hcall_of(FZ_OP_MEM_POPULATE, 0);
        setp(&c[n].head[0], 3, 0, 0, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 9, 0);
        n++;
        c[n] = hcall_of(FZ_OP_LOAD, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 9, 0);
        n++;
        break;
    default:    /* a guest table entry made a second mapping of a table */
        c[n] = hcall_of(FZ_OP_STORE, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 9);
        setp(&c[n].pick[0][1], 0, FZ_R_L1, 0, 0);       /* P|RW */
        n++;
        c[n] = hcall_of(FZ_OP_STORE, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 4, 0);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 4, 1);
        n++;
        c[n] = hcall_of(FZ_OP_HVM_INVLPG, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 0);
        n++;
        break;
    }
    p->ncalls = n;
}

/* --- hand-made programs (mm) ------------------------------------------------- */

/* dom1's mmu_update of one item: L<role> #idx slot := PTE(frame, row). */
static struct fz_call mm_update(unsigned role, unsigned idx, unsigned slot,
                                unsigned vrole, unsigned vidx, unsigned row)
{
    struct fz_call c = hcall_of(FZ_OP_MMU_UPDATE, 0);
    setp(&c.head[0], 3, 0, 0, 0);                       /* DOMID_SELF */
    setp(&c.pick[0][0], 0, role, idx, slot);
    setp(&c.pick[0][1], 0, vrole, vidx, row);
    return c;
}

static struct fz_call mm_ext(unsigned cmd, unsigned role, unsigned idx)
{
    struct fz_call c = hcall_of(FZ_OP_MMUEXT, 0);
    setp(&c.head[0], 3, 0, 0, 0);
    fz_encode_value(FUZZ_MM, NULL, 1, FZ_K_MMUEXT, cmd, &c.pick[0][0]);
    setp(&c.pick[0][1], 0, role, idx, 0);
    return c;
}

/* Hand-made mm programs: a kernel's use of its second page directory
   (fuzz/world.c W9) that no shipped scenario makes, never an XSA's shape.
   PTE rows: 1 is P (read-only), 7 not present. */
#define MM_HAND_NR 2
static void mm_hand_prog(unsigned i, struct fz_prog *p)
{
    struct fz_call *c = p->call;
    unsigned n = 0;
    p->surface = FUZZ_MM;
    switch (i) {
    case 0:     /* a read-only linear entry to the second L2, then gone */
        c[n++] = mm_update(FZ_R_L2, 0, 10, FZ_R_L2, 1, 1);
        c[n++] = mm_update(FZ_R_L2, 0, 10, FZ_R_L4, 0, 7);
        break;
    default:    /* the second L2 leaves use, is pinned, unpinned */
        c[n++] = mm_update(FZ_R_L3, 0, 1, FZ_R_L4, 0, 7);
        c[n++] = mm_ext(MMUEXT_PIN_L2_TABLE, FZ_R_L2, 1);
        c[n++] = mm_ext(MMUEXT_UNPIN_TABLE, FZ_R_L2, 1);
        break;
    }
    p->ncalls = n;
}

/* --- hand-made programs (grant) ---------------------------------------------- */

static struct fz_call gnt_map(unsigned gref, unsigned flags, unsigned didx)
{
    struct fz_call c = hcall_of(FZ_OP_GNT_MAP, 0);
    setp(&c.pick[0][0], 0, 0, gref, 0);
    setp(&c.pick[0][1], 0, 0, flags, 0);
    setp(&c.pick[0][2], 0, FZ_R_DATA, didx, 0);     /* va(data #didx) */
    return c;
}

static struct fz_call gnt_small(uint8_t op, unsigned v)
{
    struct fz_call c = hcall_of(op, 0);
    setp(&c.pick[0][0], 0, 0, v, 0);
    return c;
}

/* Hand-made grant programs: the grant ops a kernel uses that the shipped
   scenarios make only inside an XSA's PoC (whose grant area the fuzz world
   does not have), never an XSA's shape.  Flags: 0 host map read-write,
   GNTMAP_readonly (4). */
#define GRANT_HAND_NR 2
static void grant_hand_prog(unsigned i, struct fz_prog *p)
{
    struct fz_call *c = p->call;
    unsigned n = 0;
    p->surface = FUZZ_GRANT;
    switch (i) {
    case 0:     /* two grants mapped; one replaced by a scratch page's PTE */
        c[n++] = gnt_map(0, 0, 5);
        c[n++] = gnt_map(1, GNTMAP_readonly, 6);
        c[n] = hcall_of(FZ_OP_GNT_REPLACE, 0);
        setp(&c[n].pick[0][0], 0, 0, 1, 0);             /* handle #1 */
        setp(&c[n].pick[0][3], 0, FZ_R_DATA, 7, 0);     /* new: data #7 */
        n++;
        c[n] = hcall_of(FZ_OP_GNT_UNMAP, 0);            /* handle #0 */
        n++;
        break;
    default:    /* version 2: a status frame mapped read-only, unmapped,
                   version 1 again */
        c[n++] = gnt_small(FZ_OP_GNT_VERSION, 2);
        c[n] = hcall_of(FZ_OP_GNT_STATUS, 0);
        setp(&c[n].pick[0][0], 3, 0, 0, 0);             /* DOMID_SELF */
        setp(&c[n].pick[0][1], 0, 0, 1, 0);
        n++;
        c[n++] = mm_update(FZ_R_L1, 0, 40, FZ_R_GNT, 1, 1);
        c[n++] = mm_update(FZ_R_L1, 0, 40, FZ_R_BOUND, 0, 7);
        c[n++] = gnt_small(FZ_OP_GNT_VERSION, 1);
        break;
    }
    p->ncalls = n;
}

/* --- the corpus of one surface ---------------------------------------------- */

struct corpus {
    enum fuzz_surface s;
    const char *dir;            /* DIR: the names the seeds will have */
    const char *out;            /* DIR/.SURFACE.new: where they go now */
    bool failed;                /* a seed could not be written (G4) */
    unsigned n;                 /* every seed kept ... */
    size_t bytes;
    unsigned hand;              /* ... the hand-made ones among them (G2) */
    size_t hand_bytes;
    struct { uint8_t *data; size_t len; } seed[SEEDS_MAX + SEEDS_HAND_MAX];
    unsigned written, dropped;
};

static bool known(const struct corpus *k, const uint8_t *d, size_t len)
{
    for (unsigned i = 0; i < k->n; i++)
        if (k->seed[i].len == len && !memcmp(k->seed[i].data, d, len))
            return true;
    return false;
}

/* G2, G3: keep d as DIR/SURFACE/NAME-N if new, within budget and clean.
   1 kept, 0 not. */
static int offer(struct corpus *k, const char *name, unsigned *nth,
                 const uint8_t *d, size_t len)
{
    bool hand = !strcmp(name, "hand");                          /* G2 */
    bool full = hand
                ? k->hand >= SEEDS_HAND_MAX
                : k->n - k->hand >= SEEDS_MAX ||
                  k->bytes - k->hand_bytes + len > SEEDS_BYTES;
    if (!len || full || known(k, d, len))
        return 0;
    struct fuzz_result *res = malloc(sizeof(*res));
    if (!res)
        return 0;
    char path[4096], tmp[4096];
    snprintf(path, sizeof(path), "%s/%s/%s-%u", k->dir,
             fuzz_surface_name(k->s), name, *nth);
    snprintf(tmp, sizeof(tmp), "%s/%s-%u", k->out, name, *nth);
    if (fuzz_one(k->s, d, len, res)) {
        printf("%s: DROPPED: %s after call %u (a finding: the seed breaks "
               "the oracle with the default options)\n%s", path,
               res->invariant, res->at_call, res->report);
        fuzz_print_program(k->s, d, len, stdout);
        k->dropped++;
        free(res);
        return 0;
    }
    free(res);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(d, 1, len, f) == len;
    if (f && fclose(f))
        ok = false;
    if (!ok) {
        perror(tmp);
        k->failed = true;
        return 0;
    }
    k->seed[k->n].data = malloc(len);
    if (!k->seed[k->n].data) {
        fprintf(stderr, "gen-seeds: out of memory\n");
        k->failed = true;
        return 0;
    }
    memcpy(k->seed[k->n].data, d, len);
    k->seed[k->n].len = len;
    k->n++;
    k->bytes += len;
    if (hand) {
        k->hand++;
        k->hand_bytes += len;
    }
    k->written++;
    (*nth)++;
    return 1;
}

static const unsigned window_len[] = { 1, 2, 4, 8, 16, 32, 3, 6, 12, 24 };
#define NR_WINDOW_LEN (sizeof(window_len) / sizeof(window_len[0]))

/* G1: cut the recorded calls into windows and offer them, at most quota. */
static void windows(struct corpus *k, const char *name, unsigned quota)
{
    static struct fz_prog p;
    static uint8_t buf[SEED_CAP];
    unsigned nth = 0, kept = 0;
    if (!rec_n)
        return;
    for (unsigned t = 0; t < 8 * quota && kept < quota; t++) {
        unsigned len = window_len[t % NR_WINDOW_LEN];
        if (len > rec_n)
            len = rec_n;
        if (len > WINDOW_MAX)
            len = WINDOW_MAX;
        unsigned start = (unsigned)(((uint64_t)t * 2654435761u) %
                                    (rec_n - len + 1));
        p.surface = k->s;
        p.ncalls = len;
        memcpy(p.call, rec_calls + start, len * sizeof(p.call[0]));
        size_t n = fz_encode_prog(&p, buf, sizeof(buf));
        kept += (unsigned)offer(k, name, &nth, buf, n);
    }
}

static int clean_dir(const char *path)
{
    if (mkdir(path, 0755) && errno != EEXIST)
        return perror(path), -1;
    DIR *dir = opendir(path);
    if (!dir)
        return perror(path), -1;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            (void)unlinkat(dirfd(dir), e->d_name, 0);
    closedir(dir);
    return 0;
}

/* Remove the flat directory path and its files, if it exists. */
static int remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT ? 0 : (perror(path), -1);
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            (void)unlinkat(dirfd(dir), e->d_name, 0);
    closedir(dir);
    if (rmdir(path))
        return perror(path), -1;
    return 0;
}

/* --- hand-made programs (race) ---------------------------------------------- */

static struct fz_call race_wpt(unsigned vcpu)    /* writable pagetables on */
{
    struct fz_call c = hcall_of(FZ_OP_VM_ASSIST, vcpu);
    setp(&c.pick[0][0], 0, 0, 0, 0);                /* VMASST_CMD_enable */
    setp(&c.pick[0][1], 0, 0, 2, 0);     /* VMASST_TYPE_writable_pagetables */
    return c;
}

/* store va(L1 #l1)+slot := PTE(data #d, P|RW): a writable-pagetable write. */
static struct fz_call race_store(unsigned vcpu, unsigned l1, unsigned slot,
                                 unsigned d)
{
    struct fz_call c = hcall_of(FZ_OP_STORE, vcpu);
    setp(&c.pick[0][0], 0, FZ_R_L1, l1, slot);
    setp(&c.pick[0][1], 0, FZ_R_DATA, d, 0);
    return c;
}

static struct fz_call race_load(unsigned vcpu, uint64_t va)
{
    struct fz_call c = hcall_of(FZ_OP_LOAD, vcpu);
    c.pick[0][0].raw = true;
    c.pick[0][0].raw_word = va;
    return c;
}

/* Hand-made race programs (an mm program after an empty schedule, L = 0:
   the random strategy decides): an SMP kernel's ordinary writable-
   pagetable use, one vCPU rewriting entries of dom1's second L1 (which
   maps pfns 512-1023) while the other reads a page that L1 maps.  Story
   C's workload (XEN-NOTES 12.C), never its interleaving, which the
   campaign has to find. */
#define RACE_HAND_NR 2
static void race_prog(unsigned i, struct fz_prog *p)
{
    struct fz_call *c = p->call;
    unsigned n = 0;
    p->surface = FUZZ_MM;               /* fuzz/race.h: the mm format */
    unsigned w = i == 0 ? 0 : 1, r = 1 - w;
    c[n++] = race_wpt(w);
    c[n++] = race_store(w, 1, 0, 0);
    c[n++] = race_store(w, 1, 1, 1);
    c[n++] = race_load(r, fz_directmap_va(600));
    c[n++] = race_wpt(w);               /* the writer's next hypercall */
    p->ncalls = n;
}

/* --- hand-made programs (hvmrace) ------------------------------------------- */

/* Hand-made hvmrace program i (0 .. HVMRACE_HAND_NR-1): each shows the ops
   of one story to the fuzzer, on one racer, with no schedule (the random
   strategy decides) - never a story's interleaving, which the campaign has
   to find (docs/bugzoo.md "Time to find").  *racer: the world index. */
#define HVMRACE_HAND_NR 5
static void hvmrace_prog(unsigned i, struct fz_prog *p, unsigned *racer)
{
    struct fz_call *c = p->call;
    unsigned n = 0;
    p->surface = FUZZ_HVMRACE;
    *racer = i < 2 ? 1 : 0;
    switch (i) {
    case 0:     /* dom1: a guest table write (the entry of data #4 in
                   its first L1: slot 14), a read through it on the other
                   vCPU, INVLPG */
        c[n] = hcall_of(FZ_OP_STORE, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 14);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 4, 0);     /* P|RW */
        n++;
        c[n] = hcall_of(FZ_OP_LOAD, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 4, 0);
        n++;
        c[n] = hcall_of(FZ_OP_HVM_INVLPG, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 4, 0);
        n++;
        break;
    case 1:     /* dom1: what its kernel and a process do in story A's
                   fork storm: one vCPU unmaps a page (data #4, slot 14),
                   switches address spaces, maps it again and switches
                   again; the other touches that page.  The program of
                   the scenario's workload; the interleaving that breaks
                   it (the second switch inside the reader's fast-path
                   window) is the campaign's to find */
        c[n] = hcall_of(FZ_OP_STORE, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 14);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 4, 7);     /* NP */
        n++;
        c[n] = hcall_of(FZ_OP_HVM_CR3, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L4, 0, 0);
        n++;
        c[n] = hcall_of(FZ_OP_STORE, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L1, 0, 14);
        setp(&c[n].pick[0][1], 0, FZ_R_DATA, 4, 0);     /* P|RW */
        n++;
        c[n] = hcall_of(FZ_OP_LOAD, 1);
        setp(&c[n].pick[0][0], 0, FZ_R_DATA, 4, 0);
        n++;
        c[n] = hcall_of(FZ_OP_HVM_CR3, 0);
        setp(&c[n].pick[0][0], 0, FZ_R_L4, 0, 0);
        n++;
        break;
    case 2:     /* dom0: map a gfn of dom2 writable, then unmap it */
        c[n] = hcall_of(FZ_OP_FOREIGN_MAP, 0);
        setp(&c[n].pick[0][0], 0, 0, 1, 0);
        setp(&c[n].pick[0][1], 2, FZ_R_DATA, 2, 0);     /* P|RW */
        n++;
        c[n] = hcall_of(FZ_OP_FOREIGN_MAP, 0);
        setp(&c[n].pick[0][0], 0, 0, 1, 0);
        setp(&c[n].pick[0][1], 2, FZ_R_DATA, 2, 7);     /* NP */
        n++;
        break;
    case 3:     /* dom0: page a gfn of dom2 out and back in */
        for (unsigned op = 0; op < 3; op++) {
            c[n] = hcall_of(FZ_OP_PAGING, 1);
            setp(&c[n].pick[0][0], 0, 0, op, 0);
            setp(&c[n].pick[0][1], 2, FZ_R_DATA, 3, 0);
            n++;
        }
        break;
    default:    /* dom0: nominate two gfns of dom2 and share them */
        for (unsigned k = 0; k < 3; k++) {
            c[n] = hcall_of(FZ_OP_SHARING, 1);
            setp(&c[n].pick[0][0], 0, 0, k == 2, 0);
            setp(&c[n].pick[0][1], 2, FZ_R_DATA, k == 1 ? 5 : 4, 0);
            setp(&c[n].pick[0][2], 2, FZ_R_DATA, 5, 0);
            n++;
        }
        break;
    }
    for (unsigned k = 0; k < n; k++)
        c[k].actor = (uint8_t)*racer;
    p->ncalls = n;
}

/* G4: DIR/.SURFACE.new (or .old). */
static void side_dir(char *buf, size_t len, const char *top,
                     enum fuzz_surface s, const char *what)
{
    snprintf(buf, len, "%s/.%s.%s", top, fuzz_surface_name(s), what);
}

/* The hand-made programs 0 .. nr-1 of build, as DIR/SURFACE/hand-N. */
static void offer_hand(struct corpus *k, unsigned nr,
                       void (*build)(unsigned, struct fz_prog *))
{
    static struct fz_prog p;
    static uint8_t buf[SEED_CAP];
    unsigned nth = 0;
    for (unsigned i = 0; i < nr; i++) {
        build(i, &p);
        size_t n = fz_encode_prog(&p, buf, sizeof(buf));
        offer(k, "hand", &nth, buf, n);
    }
}

/* The seeds of s into DIR/.SURFACE.new; 0 or -1. */
static int gen_surface(const char *top, enum fuzz_surface s)
{
    static struct corpus k;
    char out[4096];
    side_dir(out, sizeof(out), top, s, "new");
    if (remove_dir(out) || clean_dir(out))          /* G4 */
        return -1;
    for (unsigned i = 0; i < k.n; i++)
        free(k.seed[i].data);
    memset(&k, 0, sizeof(k));
    k.s = s;
    k.dir = top;
    k.out = out;

    unsigned nsrc = 0;
    while (s < FUZZ_RESTORE && sources[s][nsrc])
        nsrc++;
    if (s == FUZZ_HVMRACE) {        /* racer byte, no schedule, program */
        static struct fz_prog p;
        static uint8_t buf[SEED_CAP];
        unsigned nth = 0, racer;
        for (unsigned i = 0; i < HVMRACE_HAND_NR; i++) {
            hvmrace_prog(i, &p, &racer);
            buf[0] = racer == 0;
            buf[1] = 0;
            size_t n = fz_encode_prog(&p, buf + 2, sizeof(buf) - 2);
            offer(&k, "hand", &nth, buf, n ? n + 2 : 0);
        }
    }
    if (s == FUZZ_RACE) {               /* L = 0, then an mm program */
        static struct fz_prog p;
        static uint8_t buf[SEED_CAP];
        unsigned nth = 0;
        for (unsigned i = 0; i < RACE_HAND_NR; i++) {
            race_prog(i, &p);
            buf[0] = 0;
            size_t n = fz_encode_prog(&p, buf + 1, sizeof(buf) - 1);
            offer(&k, "hand", &nth, buf, n ? n + 1 : 0);
        }
    }
    if (s == FUZZ_MM)
        offer_hand(&k, MM_HAND_NR, mm_hand_prog);
    if (s == FUZZ_GRANT)
        offer_hand(&k, GRANT_HAND_NR, grant_hand_prog);
    if (s == FUZZ_SHADOW)
        offer_hand(&k, HAND_NR, hand_prog);
    for (unsigned i = 0; i < nsrc && !k.failed; i++) {
        if (record(s, i))
            return -1;
        unsigned quota = (SEEDS_MAX - (k.n - k.hand)) / (nsrc - i);
        printf("%s: %s: %llu hypercalls, %u calls of the surface\n",
               fuzz_surface_name(s), sources[s][i],
               (unsigned long long)rec_hcalls, rec_n);
        windows(&k, sources[s][i], quota);
    }
    if (k.failed)
        return -1;
    printf("%s/%s: %u seeds, %zu bytes%s", top, fuzz_surface_name(s),
           k.written, k.bytes, k.dropped ? "" : "\n");
    if (k.dropped)
        printf(", %u DROPPED (see above)\n", k.dropped);
    return 0;
}

/* G4: every surface is complete: DIR/.SURFACE.new becomes DIR/SURFACE. */
static int swap_surface(const char *top, enum fuzz_surface s)
{
    char path[4096], fresh[4096], old[4096];
    snprintf(path, sizeof(path), "%s/%s", top, fuzz_surface_name(s));
    side_dir(fresh, sizeof(fresh), top, s, "new");
    side_dir(old, sizeof(old), top, s, "old");
    if (remove_dir(old))
        return -1;
    if (rename(path, old) && errno != ENOENT)
        return perror(path), -1;
    if (rename(fresh, path)) {
        perror(fresh);
        (void)rename(old, path);
        return -1;
    }
    return remove_dir(old);
}

/* The restore seeds into DIR/.restore.new; 0 or 1. */
static int gen_restore(const char *top)
{
    char path[8192], out[4096];
    side_dir(out, sizeof(out), top, FUZZ_RESTORE, "new");
    if (remove_dir(out) || clean_dir(out))          /* G4 */
        return 1;
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        int rc = fuzz_restore_seed(i, &mb);
        if (rc) {
            fprintf(stderr, "seed %s: %d\n", fuzz_restore_seed_name(i), rc);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/%s", out, fuzz_restore_seed_name(i));
        FILE *f = fopen(path, "wb");
        bool ok = f && fwrite(mb.buf, 1, mb.len, f) == mb.len;
        if (f && fclose(f))
            ok = false;
        if (!ok) {
            perror(path);
            free(mb.buf);
            return 1;
        }
        printf("%s/restore/%s: %zu bytes\n", top, fuzz_restore_seed_name(i),
               mb.len);
        free(mb.buf);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-seeds DIR  (from the top of the tree: "
                "the scenarios are read from scenarios/)\n");
        return 2;
    }
    if (parse_sources()) {                          /* G4 */
        free_sources();
        return 1;
    }
    if (mkdir(argv[1], 0755) && errno != EEXIST)
        return perror(argv[1]), 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = gen_restore(argv[1]);
    for (unsigned s = FUZZ_MM; s < FUZZ_RESTORE && !rc; s++)
        rc = gen_surface(argv[1], (enum fuzz_surface)s);
    if (!rc)
        rc = gen_surface(argv[1], FUZZ_RACE);
    if (!rc)
        rc = gen_surface(argv[1], FUZZ_HVMRACE);
    if (rc)
        fprintf(stderr, "gen-seeds: failed: %s/{mm,grant,shadow,restore,"
                "race,hvmrace} are left as they were\n", argv[1]);
    static const enum fuzz_surface written[] = {
        FUZZ_MM, FUZZ_GRANT, FUZZ_SHADOW, FUZZ_RESTORE, FUZZ_RACE,
        FUZZ_HVMRACE };
    for (unsigned i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
        enum fuzz_surface s = written[i];
        char fresh[4096];
        if (!rc)
            rc = swap_surface(argv[1], (enum fuzz_surface)s);
        side_dir(fresh, sizeof(fresh), argv[1], (enum fuzz_surface)s, "new");
        (void)remove_dir(fresh);        /* left only after a failure */
    }
    free_sources();
    return rc ? 1 : 0;
}
