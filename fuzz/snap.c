/*
 * fuzz/snap.c - the snapshot reset: write-tracked RAM and frame table, the
 * arena copied back (fuzz/snap.h S1-S6).
 *
 * Rules (S1-S6, and):
 *   S7  The fault handler is async-signal-safe: bit tests, memcpy and
 *       mprotect on memory set up before the region was protected.
 *   S8  Before the snapshot, one audit runs outside the hypervisor: its
 *       per-thread scratch (core/mm/audit.c U7, kept between audits) is
 *       then a real-heap block, never an arena block a restore would
 *       hand out again.  The history rings' per-thread cache
 *       (core/mm/history.c) needs nothing: this thread's ring of every
 *       joined machine is made during its build, so it is in the snapshot
 *       and a run only appends to it.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/audit.h"
#include "core/machine.h"
#include "core/mm/paging.h"
#include "core/vcpu.h"
#include "fuzz/snap.h"
#include "fuzz/snap_alloc.h"
#include "fuzz/world.h"

#define SNAP_PAGE       4096UL
#define SNAP_REGIONS    (2 * FUZZ_NR)

struct region {
    uint8_t *base;
    size_t npages;
    uint8_t *saved;         /* per page: pristine bytes in backup */
    uint8_t *dirty;         /* per page: writable now */
    uint32_t *list;         /* the dirty pages, in fault order */
    size_t ndirty;
    uint8_t *backup;        /* npages pages, sparse */
};

static struct {
    bool ready;
    struct sigaction old;
    struct region reg[SNAP_REGIONS];
    unsigned nreg;
    struct fz_world *world[FUZZ_NR];
    uint64_t hash[FUZZ_NR];         /* S4: each world's pristine hash */
    unsigned nworlds;
    uint8_t *arena_copy;            /* S1 */
    size_t arena_len;
    unsigned ld_live;               /* S3 */
    bool dirty;
    bool check;
    struct fz_snap_stats st;
} sn;

static uint64_t snap_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

bool fz_snap_available(void)
{
    return fz_arena_wrapped();
}

static void *map_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* S2, S7. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    uint8_t *a = si->si_addr;
    for (unsigned i = 0; i < sn.nreg; i++) {
        struct region *r = &sn.reg[i];
        if (a < r->base || a >= r->base + r->npages * SNAP_PAGE)
            continue;
        size_t pg = (size_t)(a - r->base) / SNAP_PAGE;
        if (r->dirty[pg])
            break;                      /* writable already: not ours */
        uint8_t *p = r->base + pg * SNAP_PAGE;
        if (!r->saved[pg]) {
            memcpy(r->backup + pg * SNAP_PAGE, p, SNAP_PAGE);
            r->saved[pg] = 1;
        }
        if (mprotect(p, SNAP_PAGE, PROT_READ | PROT_WRITE))
            break;
        r->dirty[pg] = 1;
        r->list[r->ndirty++] = (uint32_t)pg;
        sn.st.faults++;
        return;
    }
    /* S2: somebody else's fault. */
    if (sn.old.sa_flags & SA_SIGINFO) {
        if (sn.old.sa_sigaction) {
            sn.old.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (sn.old.sa_handler != SIG_DFL &&
               sn.old.sa_handler != SIG_IGN) {
        sn.old.sa_handler(sig);
        return;
    }
    signal(SIGSEGV, SIG_DFL);           /* the store faults again: a crash */
}

static int setup(void)
{
    if (sn.ready)
        return 0;
    if (fz_arena_init()) {
        fprintf(stderr, "hvlab-fuzz: the snapshot reset needs the "
                "allocation wraps in the link (Makefile fz_snap_wrap)\n");
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &sn.old)) {
        perror("hvlab-fuzz: sigaction");
        return -1;
    }
    const char *c = getenv("HVLAB_FUZZ_SNAP_CHECK");
    sn.check = c && c[0] == '1';
    sn.ready = true;
    return 0;
}

static int track(void *base, size_t bytes)
{
    if (sn.nreg >= SNAP_REGIONS)
        return -1;
    struct region *r = &sn.reg[sn.nreg];
    size_t np = (bytes + SNAP_PAGE - 1) / SNAP_PAGE;
    r->base = base;
    r->npages = np;
    r->saved = map_anon(np);
    r->dirty = map_anon(np);
    r->list = map_anon(np * sizeof(uint32_t));
    r->backup = map_anon(np * SNAP_PAGE);
    r->ndirty = 0;
    if (!r->saved || !r->dirty || !r->list || !r->backup)
        return -1;
    (void)madvise(base, np * SNAP_PAGE, MADV_NOHUGEPAGE);
    if (mprotect(base, np * SNAP_PAGE, PROT_READ))
        return -1;
    sn.nreg++;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* S3 for one region: copy back, then re-protect runs of pages. */
static unsigned region_restore(struct region *r)
{
    size_t n = r->ndirty;
    if (!n)
        return 0;
    qsort(r->list, n, sizeof(r->list[0]), cmp_u32);
    for (size_t i = 0; i < n; i++) {
        size_t pg = r->list[i];
        memcpy(r->base + pg * SNAP_PAGE, r->backup + pg * SNAP_PAGE,
               SNAP_PAGE);
        r->dirty[pg] = 0;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && r->list[j] == r->list[j - 1] + 1)
            j++;
        if (mprotect(r->base + (size_t)r->list[i] * SNAP_PAGE,
                     (j - i) * SNAP_PAGE, PROT_READ)) {
            perror("hvlab-fuzz: snapshot: mprotect");
            abort();
        }
        i = j;
    }
    r->ndirty = 0;
    return (unsigned)n;
}

/* S4. */
static void snap_check(void)
{
    uint8_t *a = fz_arena_base();
    if (fz_arena_used() != sn.arena_len) {
        fprintf(stderr, "hvlab-fuzz: snapshot check: the arena's used part "
                "is %zu bytes, %zu at the snapshot\n", fz_arena_used(),
                sn.arena_len);
        abort();
    }
    for (size_t i = 0; i < sn.arena_len; i++)
        if (a[i] != sn.arena_copy[i]) {
            fprintf(stderr, "hvlab-fuzz: snapshot check: arena byte at "
                    "offset %zu differs\n", i);
            abort();
        }
    for (unsigned i = 0; i < sn.nworlds; i++) {
        uint64_t h = fz_world_hash(sn.world[i]);
        if (h != sn.hash[i]) {
            fprintf(stderr, "hvlab-fuzz: snapshot check: the world of "
                    "surface %s hashes %#llx, %#llx at the snapshot\n",
                    fuzz_surface_name(sn.world[i]->surface),
                    (unsigned long long)h, (unsigned long long)sn.hash[i]);
            abort();
        }
    }
    if (atomic_load(&paging_ld_live) != sn.ld_live) {
        fprintf(stderr, "hvlab-fuzz: snapshot check: paging_ld_live\n");
        abort();
    }
}

int fz_snap_restore(void)
{
    if (!sn.dirty)
        return 0;
    uint64_t t0 = snap_now_ns();
    current = NULL;
    memcpy(fz_arena_base(), sn.arena_copy, sn.arena_len);
    unsigned pages = 0;
    for (unsigned i = 0; i < sn.nreg; i++)
        pages += region_restore(&sn.reg[i]);
    atomic_store(&paging_ld_live, sn.ld_live);
    sn.dirty = false;
    sn.st.restores++;
    sn.st.restore_ns += snap_now_ns() - t0;
    sn.st.pages += pages;
    sn.st.arena_bytes += sn.arena_len;
    sn.st.last_pages = pages;
    if (sn.check)
        snap_check();
    return 0;
}

/* S1: the arena's used part, now. */
static int take_arena(void)
{
    size_t len = fz_arena_used();
    if (len > sn.arena_len || !sn.arena_copy) {
        if (sn.arena_copy)
            munmap(sn.arena_copy, sn.arena_len);
        sn.arena_copy = map_anon(len);
        if (!sn.arena_copy)
            return -1;
    }
    memcpy(sn.arena_copy, fz_arena_base(), len);
    sn.arena_len = len;
    sn.st.snap_arena_bytes = len;
    sn.ld_live = atomic_load(&paging_ld_live);
    return 0;
}

/* S1, S8. */
static int join(struct fz_world *w)
{
    fz_arena_enter();
    int rc = fz_world_reset(w);
    fz_arena_leave();
    if (rc) {
        fprintf(stderr, "hvlab-fuzz: snapshot: the world could not be "
                "rebuilt in the arena\n");
        return -1;
    }
    (void)hv_audit(w->m, NULL);                 /* S8 */
    current = NULL;
    if (take_arena())
        return -1;
    sn.world[sn.nworlds] = w;
    sn.hash[sn.nworlds] = fz_world_hash(w);
    sn.nworlds++;
    sn.st.worlds = sn.nworlds;
    if (track(w->m->ram, w->max_mfn * SNAP_PAGE) ||
        track(w->m->frame_table, w->m->nr_frames * sizeof(struct page_info))) {
        fprintf(stderr, "hvlab-fuzz: snapshot: cannot track the RAM\n");
        return -1;
    }
    return 0;
}

int fz_snap_enter(struct fz_world *w)
{
    if (setup())
        return -1;
    fz_snap_restore();
    bool joined = false;
    for (unsigned i = 0; i < sn.nworlds; i++)
        joined |= sn.world[i] == w;
    if (!joined && (sn.nworlds >= FUZZ_NR || join(w)))
        return -1;
    fz_arena_enter();
    sn.dirty = true;
    return 0;
}

void fz_snap_leave(void)
{
    fz_arena_leave();
}

void fz_snap_drop(void)
{
    if (!sn.ready)
        return;
    fz_snap_restore();
    for (unsigned i = 0; i < sn.nreg; i++) {
        struct region *r = &sn.reg[i];
        (void)mprotect(r->base, r->npages * SNAP_PAGE,
                       PROT_READ | PROT_WRITE);
        munmap(r->saved, r->npages);
        munmap(r->dirty, r->npages);
        munmap(r->list, r->npages * sizeof(uint32_t));
        munmap(r->backup, r->npages * SNAP_PAGE);
        memset(r, 0, sizeof(*r));
    }
    sn.nreg = 0;
    sn.nworlds = 0;
    sn.st.worlds = 0;
}

void fz_snap_stats(struct fz_snap_stats *st)
{
    *st = sn.st;
}
