/*
 * fuzz/snap.c - the snapshot reset: write-tracked RAM, frame table and
 * arena; the hot pages copied back (fuzz/snap.h S1-S7).
 *
 * Rules (S1-S7, and):
 *   S8  The fault handler is async-signal-safe: bit tests, memcpy and
 *       mprotect on memory set up before the region was protected.
 *   S9  Commit (the end of every join): each hot page's bytes now become
 *       its saved bytes, then every region is read-only again with no hot
 *       page.  What the join built is the snapshot from then on.
 *   S10 Before the commit, one audit runs outside the hypervisor: its
 *       per-thread scratch (core/mm/audit.c U7, kept between audits) is
 *       then a real-heap block, never an arena block a restore would
 *       hand out again.  The history rings (core/mm/history.c) are arena
 *       blocks like any other: a run's appends dirty the few ring pages
 *       after the snapshot's head and the seq[] pages of the frames it
 *       touched, and those pages are put back with the head, so a reader
 *       after a restore sees exactly the snapshot's records.  The
 *       per-thread ring cache (history.c H3) is keyed by the directory's
 *       address and id, both restored, so it stays valid.
 *   S11 Stability: this file and fuzz/snap_alloc.c are not the hypervisor
 *       and are built without coverage (clang: the attribute below; AFL++:
 *       the denylist fuzz/nocov, Makefile).  Their control flow
 *       depends on the run before (a restore loops over what that run
 *       dirtied, a fault saves a page only the first time), so counting
 *       it made the same input give different coverage: the first cause
 *       of the snap reset's instability (AFL++ 98.4% on mm; in-process,
 *       every varying counter was in fz_snap_restore, its qsort
 *       comparator or the fault handler).
 *   S12 The other cause, found by running each input twice in a fresh
 *       child of the harness (as AFL++'s fork server does): domain_crash
 *       keeps its records in a static table of core/domctl.c, outside
 *       the arena.  The first run that crashed a domain recorded it; the
 *       restore did not forget it, so every later run saw the domain as
 *       crashed already (other coverage in domain_crash, and a different
 *       answer from domain_crashed).  The table is now saved at the
 *       commit and put back by every restore, with paging_ld_live (S3).
 *   S13 A restore copies back only the arena's hot pages below the run's
 *       bump offset (the larger of it and the snapshot's, rounded up to a
 *       page; snap_alloc.h SA3, SA7): every byte past it is zero and no
 *       block lives there, so a page above it is as the last restore left
 *       it, the snapshot's zeros.  A page one input carved blocks from is
 *       then copied only by the runs that allocate that far (on an AFL++
 *       corpus of 800 mm inputs: 378 arena pages per restore, from 400).
 *   S14 Kept pages (core/wrec.h): an array whose writers note what they
 *       store (hv_wrec_keep) is not write-tracked.  Its whole pages - not
 *       the first and last, which it may share with other blocks - are
 *       saved at the commit and stay writable; a note marks such a page
 *       and lists it, and a restore copies back only the listed pages.
 *       So a page some earlier run wrote costs nothing to a run that
 *       does not write it (on an AFL++ corpus most hot pages were such
 *       pages: per-frame records of the audit and the frame table).  A
 *       keep takes effect at the next commit and is ignored during a
 *       run; a forget turns the range's pages into hot pages (S3), so
 *       memory freed and used again without notes is still put back.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/audit.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/paging.h"
#include "core/vcpu.h"
#include "core/wrec.h"
#include "fuzz/snap.h"
#include "fuzz/snap_alloc.h"
#include "fuzz/world.h"

#ifdef __clang__                                            /* S11 */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), \
                             apply_to = function)
#endif

#define SNAP_PAGE       4096UL
#define SNAP_REGIONS    (2 * FUZZ_NR + 1)
#define SNAP_KEEPS      64          /* S14: kept ranges per region */
#define SNAP_CHUNK      256UL       /* S15: what a kept page is put back by */
#define SNAP_CHUNKS     (SNAP_PAGE / SNAP_CHUNK)
#define SNAP_ALL        0xFFFFu     /* every chunk of a page */
_Static_assert(SNAP_CHUNK == WREC_CHUNK && SNAP_CHUNKS == 16,
               "S15: one bit per chunk of uint16_t mask[], chunks as W4's");

struct region {
    uint8_t *base;
    size_t npages;
    bool arena;
    uint8_t *saved;         /* per page: pristine bytes in backup */
    uint8_t *hot;           /* per page: writable, put back every restore */
    uint32_t *list;         /* the hot pages, in fault order */
    size_t nhot;
    uint8_t *backup;        /* npages pages, sparse */
    uint8_t *kept;          /* per page: S14 (KEPT, KEPT_NOTED) */
    uint32_t *noted;        /* the kept pages noted since the restore */
    uint16_t *mask;         /* per kept page: its chunks noted (S15) */
    size_t nnoted;
    struct { uint32_t first, end; } keep[SNAP_KEEPS];   /* kept ranges */
    unsigned nkeep;
};

enum { KEPT = 1, KEPT_NOTED = 2 };

static const struct hv_wrec_ops wrec_ops;                       /* S14 */

static struct {
    bool ready;
    bool arena_tracked;
    struct sigaction old;
    struct region reg[SNAP_REGIONS];
    unsigned nreg;
    struct fz_world *world[FUZZ_NR];
    uint64_t hash[FUZZ_NR];         /* S4: each world's pristine hash */
    unsigned nworlds;
    uint8_t *arena_copy;            /* S4 only */
    size_t arena_copy_len;
    size_t arena_len;               /* the arena's used part at commit */
    unsigned ld_live;               /* S3 */
    uint8_t crash[4096];            /* S3, S12: domain_crash_records */
    size_t crash_len;
    struct { const uint8_t *p; size_t len; } pend[SNAP_KEEPS];  /* S14 */
    unsigned npend;
    bool dirty;
    bool check;
    unsigned hot_limit;             /* S7 */
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

/* S2, S8. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    uint8_t *a = si->si_addr;
    for (unsigned i = 0; i < sn.nreg; i++) {
        struct region *r = &sn.reg[i];
        if (a < r->base || a >= r->base + r->npages * SNAP_PAGE)
            continue;
        size_t pg = (size_t)(a - r->base) / SNAP_PAGE;
        if (r->hot[pg])
            break;                      /* writable already: not ours */
        uint8_t *p = r->base + pg * SNAP_PAGE;
        if (!r->saved[pg]) {
            memcpy(r->backup + pg * SNAP_PAGE, p, SNAP_PAGE);
            r->saved[pg] = 1;
        }
        if (mprotect(p, SNAP_PAGE, PROT_READ | PROT_WRITE))
            break;
        r->hot[pg] = 1;
        r->list[r->nhot++] = (uint32_t)pg;
        sn.st.faults++;
        sn.st.hot++;
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
    sn.hot_limit = FZ_SNAP_HOT_MAX;
    hv_wrec_install(&wrec_ops);                                 /* S14 */
    sn.ready = true;
    return 0;
}

/* A new region, writable until the next commit (S9) protects it. */
static int track(void *base, size_t bytes, bool arena)
{
    if (sn.nreg >= SNAP_REGIONS)
        return -1;
    struct region *r = &sn.reg[sn.nreg];
    size_t np = (bytes + SNAP_PAGE - 1) / SNAP_PAGE;
    r->base = base;
    r->npages = np;
    r->arena = arena;
    r->saved = map_anon(np);
    r->hot = map_anon(np);
    r->list = map_anon(np * sizeof(uint32_t));
    r->backup = map_anon(np * SNAP_PAGE);
    r->kept = map_anon(np);
    r->noted = map_anon(np * sizeof(uint32_t));
    r->mask = map_anon(np * sizeof(uint16_t));
    r->nhot = 0;
    r->nnoted = 0;
    r->nkeep = 0;
    if (!r->saved || !r->hot || !r->list || !r->backup || !r->kept ||
        !r->noted || !r->mask)
        return -1;
    (void)madvise(base, np * SNAP_PAGE, MADV_NOHUGEPAGE);
    sn.nreg++;
    return 0;
}

static void protect(void *p, size_t bytes, int prot)
{
    if (mprotect(p, bytes, prot)) {
        perror("hvlab-fuzz: snapshot: mprotect");
        abort();
    }
}

/* Every page of r read-only again but the kept ones (S14), none hot (S7,
   S9). */
static void region_cool(struct region *r)
{
    protect(r->base, r->npages * SNAP_PAGE, PROT_READ);
    for (unsigned k = 0; k < r->nkeep; k++)
        protect(r->base + (size_t)r->keep[k].first * SNAP_PAGE,
                (size_t)(r->keep[k].end - r->keep[k].first) * SNAP_PAGE,
                PROT_READ | PROT_WRITE);
    for (size_t i = 0; i < r->nhot; i++)
        r->hot[r->list[i]] = 0;
    sn.st.hot -= (unsigned)r->nhot;
    r->nhot = 0;
}

/* S15: the chunks of page pg that mask names, copied back from the
   backup, consecutive chunks in one copy; the bytes copied. */
static size_t chunks_restore(struct region *r, uint32_t pg, unsigned mask)
{
    uint8_t *dst = r->base + (size_t)pg * SNAP_PAGE;
    const uint8_t *src = r->backup + (size_t)pg * SNAP_PAGE;
    if (mask == SNAP_ALL) {
        memcpy(dst, src, SNAP_PAGE);
        return SNAP_PAGE;
    }
    size_t bytes = 0;
    while (mask) {
        unsigned first = (unsigned)__builtin_ctz(mask);
        unsigned run = (unsigned)__builtin_ctz(~(mask >> first));
        memcpy(dst + first * SNAP_CHUNK, src + first * SNAP_CHUNK,
               run * SNAP_CHUNK);
        bytes += run * SNAP_CHUNK;
        mask &= ~(((1u << run) - 1) << first);
    }
    return bytes;
}

/* S3 for one region: the hot pages below page `limit` copied back, and
   the noted chunks of kept pages (S14, S15); the number of pages, and the
   bytes copied added to *bytes. */
static unsigned region_restore(struct region *r, size_t limit, uint64_t *bytes)
{
    const uint32_t *l = r->list;
    size_t n = r->nhot;
    unsigned copied = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] >= limit)
            continue;                                           /* S13 */
        memcpy(r->base + l[i] * SNAP_PAGE, r->backup + l[i] * SNAP_PAGE,
               SNAP_PAGE);
        *bytes += SNAP_PAGE;
        copied++;
    }
    for (size_t i = 0; i < r->nnoted; i++) {                    /* S14 */
        uint32_t pg = r->noted[i];
        unsigned mask = r->mask[pg];
        r->mask[pg] = 0;
        if (r->kept[pg] != KEPT_NOTED)
            continue;                   /* forgotten since: hot now */
        *bytes += chunks_restore(r, pg, mask);                  /* S15 */
        r->kept[pg] = KEPT;
        copied++;
    }
    sn.st.noted += r->nnoted;
    if (r->nnoted)
        hv_wrec_invalidate();           /* core/wrec.h W4 */
    r->nnoted = 0;
    return copied;
}

/* ---- S14: the write record (core/wrec.h) ------------------------------- */

static struct region *region_of(const uint8_t *p)
{
    for (unsigned i = 0; i < sn.nreg; i++) {
        struct region *r = &sn.reg[i];
        if (p >= r->base && p < r->base + r->npages * SNAP_PAGE)
            return r;
    }
    return NULL;
}

/* The whole pages of [p, p + len) in r: [*first, *end); false if none. */
static bool whole_pages(const struct region *r, const uint8_t *p, size_t len,
                        uint32_t *first, uint32_t *end)
{
    const uint8_t *lim = r->base + r->npages * SNAP_PAGE;
    const uint8_t *q = p + len > lim ? lim : p + len;
    size_t f = ((size_t)(p - r->base) + SNAP_PAGE - 1) / SNAP_PAGE;
    size_t e = (size_t)(q - r->base) / SNAP_PAGE;
    if (f >= e)
        return false;
    *first = (uint32_t)f;
    *end = (uint32_t)e;
    return true;
}

static void wrec_note(uintptr_t a, size_t len)
{
    const uint8_t *p = (const uint8_t *)a;
    struct region *r = region_of(p);
    if (!r || !len)
        return;
    size_t off = (size_t)(p - r->base), end = off + len;
    if (end > r->npages * SNAP_PAGE)
        end = r->npages * SNAP_PAGE;
    for (size_t pg = off / SNAP_PAGE; pg * SNAP_PAGE < end; pg++) {
        if (!r->kept[pg])
            continue;
        size_t lo = pg * SNAP_PAGE > off ? 0 : off - pg * SNAP_PAGE;
        size_t hi = end - pg * SNAP_PAGE >= SNAP_PAGE ? SNAP_PAGE
                                                     : end - pg * SNAP_PAGE;
        unsigned c0 = (unsigned)(lo / SNAP_CHUNK);
        unsigned c1 = (unsigned)((hi - 1) / SNAP_CHUNK);          /* S15 */
        r->mask[pg] |= (uint16_t)(((2u << c1) - 1) & ~((1u << c0) - 1));
        if (r->kept[pg] == KEPT) {
            r->kept[pg] = KEPT_NOTED;
            r->noted[r->nnoted++] = (uint32_t)pg;
        }
    }
}

static void wrec_keep(uintptr_t a, size_t len)
{
    const uint8_t *p = (const uint8_t *)a;
    if (sn.dirty || sn.npend >= SNAP_KEEPS)
        return;                         /* S14: ignored (core/wrec.h W2) */
    sn.pend[sn.npend].p = p;
    sn.pend[sn.npend].len = len;
    sn.npend++;
}

static void wrec_forget(uintptr_t a, size_t len)
{
    const uint8_t *p = (const uint8_t *)a;
    for (unsigned i = 0; i < sn.npend; i++)
        if (sn.pend[i].p == p) {
            sn.pend[i] = sn.pend[--sn.npend];
            break;
        }
    struct region *r = region_of(p);
    uint32_t f, e;
    if (!r || !whole_pages(r, p, len, &f, &e))
        return;
    for (unsigned k = 0; k < r->nkeep; k++) {
        if (r->keep[k].first != f || r->keep[k].end != e)
            continue;
        for (uint32_t pg = f; pg < e; pg++) {           /* now hot (S3) */
            r->kept[pg] = 0;
            if (!r->hot[pg]) {
                r->hot[pg] = 1;
                r->list[r->nhot++] = pg;
                sn.st.hot++;
            }
        }
        r->keep[k] = r->keep[--r->nkeep];
        sn.st.kept -= e - f;
        return;                         /* hv_wrec_forget invalidates (W10) */
    }
}

static const struct hv_wrec_ops wrec_ops = {
    .keep = wrec_keep, .forget = wrec_forget, .note = wrec_note,
};

/* At the commit: the pending keeps become kept ranges, and every kept
   page's bytes its saved bytes (S9, S14). */
static void keep_commit(struct region *r)
{
    for (unsigned i = 0; i < sn.npend; i++) {
        const uint8_t *p = sn.pend[i].p;
        uint32_t f, e;
        if (region_of(p) != r || !whole_pages(r, p, sn.pend[i].len, &f, &e))
            continue;
        bool overlap = r->nkeep >= SNAP_KEEPS;
        for (unsigned k = 0; k < r->nkeep && !overlap; k++)
            overlap = f < r->keep[k].end && r->keep[k].first < e;
        if (overlap)
            continue;                   /* kept once is enough */
        r->keep[r->nkeep].first = f;
        r->keep[r->nkeep].end = e;
        r->nkeep++;
        sn.st.kept += e - f;
        for (uint32_t pg = f; pg < e; pg++)
            r->kept[pg] = KEPT;
    }
    for (unsigned k = 0; k < r->nkeep; k++) {
        size_t f = r->keep[k].first, n = r->keep[k].end - f;
        memcpy(r->backup + f * SNAP_PAGE, r->base + f * SNAP_PAGE,
               n * SNAP_PAGE);
        memset(r->saved + f, 1, n);
    }
    for (size_t i = 0; i < r->nnoted; i++) {
        r->mask[r->noted[i]] = 0;
        if (r->kept[r->noted[i]] == KEPT_NOTED)
            r->kept[r->noted[i]] = KEPT;
    }
    r->nnoted = 0;
    hv_wrec_invalidate();
}

/* S9: what the regions hold now becomes the snapshot. */
static void commit(void)
{
    for (unsigned i = 0; i < sn.nreg; i++) {
        struct region *r = &sn.reg[i];
        for (size_t k = 0; k < r->nhot; k++) {
            size_t pg = r->list[k];
            memcpy(r->backup + pg * SNAP_PAGE, r->base + pg * SNAP_PAGE,
                   SNAP_PAGE);
            r->saved[pg] = 1;
        }
        keep_commit(r);
        region_cool(r);
    }
    sn.npend = 0;
    sn.arena_len = fz_arena_used();
    sn.st.snap_arena_bytes = sn.arena_len;
    sn.ld_live = atomic_load(&paging_ld_live);
    size_t cl;
    const void *cr = domain_crash_records(&cl);                 /* S12 */
    if (cl > sizeof(sn.crash)) {
        fprintf(stderr, "hvlab-fuzz: snapshot: the crash records do not "
                "fit\n");
        abort();
    }
    memcpy(sn.crash, cr, cl);
    sn.crash_len = cl;
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
    for (size_t i = 0; i < sn.arena_copy_len; i++)
        if (a[i] != sn.arena_copy[i]) {
            fprintf(stderr, "hvlab-fuzz: snapshot check: arena byte at "
                    "offset %zu differs\n", i);
            abort();
        }
    for (unsigned i = 0; i < sn.nreg; i++) {
        const struct region *r = &sn.reg[i];
        for (size_t pg = 0; pg < r->npages && !r->arena; pg++)
            if (r->saved[pg] && memcmp(r->base + pg * SNAP_PAGE,
                                       r->backup + pg * SNAP_PAGE,
                                       SNAP_PAGE)) {
                fprintf(stderr, "hvlab-fuzz: snapshot check: page %zu of "
                        "the %s at %p differs%s\n", pg,
                        i % 2 ? "guest RAM" : "frame table",
                        (void *)r->base, r->kept[pg] ? " (kept: a writer "
                        "did not note it, core/wrec.h W1)" : "");
                abort();
            }
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
    size_t cl;
    if (memcmp(domain_crash_records(&cl), sn.crash, sn.crash_len)) {
        fprintf(stderr, "hvlab-fuzz: snapshot check: crash records\n");
        abort();
    }
}

int fz_snap_restore(void)
{
    if (!sn.dirty)
        return 0;
    uint64_t t0 = snap_now_ns();
    current = NULL;
    unsigned pages = 0, arena_pages = 0;
    uint64_t bytes = 0;
    /* S13: the arena above the run's bump offset was not written. */
    size_t used = fz_arena_used();
    if (used < sn.arena_len)
        used = sn.arena_len;
    size_t arena_limit = (used + SNAP_PAGE - 1) / SNAP_PAGE;
    for (unsigned i = 0; i < sn.nreg; i++) {
        unsigned n = region_restore(&sn.reg[i], sn.reg[i].arena
                                                ? arena_limit : SIZE_MAX,
                                    &bytes);
        if (sn.reg[i].arena)
            arena_pages += n;
        else
            pages += n;
    }
    atomic_store(&paging_ld_live, sn.ld_live);
    size_t cl;
    memcpy(domain_crash_records(&cl), sn.crash, sn.crash_len);  /* S12 */
    uint64_t t1 = snap_now_ns();
    if (sn.st.hot > sn.hot_limit) {                             /* S7 */
        for (unsigned i = 0; i < sn.nreg; i++)
            region_cool(&sn.reg[i]);
        if (sn.hot_limit < (1u << 30))
            sn.hot_limit *= 2;
        sn.st.hot_limit = sn.hot_limit;
        sn.st.cools++;
        sn.st.cool_ns += snap_now_ns() - t1;
    }
    sn.dirty = false;
    sn.st.restores++;
    sn.st.restore_ns += snap_now_ns() - t0;
    sn.st.copy_ns += t1 - t0;
    sn.st.pages += pages;
    sn.st.arena_bytes += (uint64_t)arena_pages * SNAP_PAGE;
    sn.st.bytes += bytes;
    sn.st.last_pages = pages;
    sn.st.last_arena_pages = arena_pages;
    if (sn.check)
        snap_check();
    return 0;
}

/* S4: the arena's used part, now (only when checking). */
static int take_arena(void)
{
    if (!sn.check)
        return 0;
    size_t len = fz_arena_used();
    if (len > sn.arena_copy_len || !sn.arena_copy) {
        if (sn.arena_copy)
            munmap(sn.arena_copy, sn.arena_copy_len);
        sn.arena_copy = map_anon(len);
        if (!sn.arena_copy)
            return -1;
    }
    memcpy(sn.arena_copy, fz_arena_base(), len);
    sn.arena_copy_len = len;
    return 0;
}

/* S1, S9, S10. */
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
    (void)hv_audit(w->m, NULL);                 /* S10 */
    fz_arena_enter();
    rc = fz_world_settle(w);                    /* world.c W7 */
    fz_arena_leave();
    if (rc)
        return -1;
    current = NULL;
    if ((!sn.arena_tracked &&
         track(fz_arena_base(), FZ_ARENA_BYTES, true)) ||
        track(w->m->ram, w->max_mfn * SNAP_PAGE, false) ||
        track(w->m->frame_table, w->m->nr_frames * sizeof(struct page_info),
              false)) {
        fprintf(stderr, "hvlab-fuzz: snapshot: cannot track the RAM\n");
        return -1;
    }
    sn.arena_tracked = true;
    /* S14: every store to RAM is named (core/machine.h ram_w). */
    wrec_keep((uintptr_t)w->m->ram, w->max_mfn * SNAP_PAGE);
    commit();
    if (take_arena())
        return -1;
    sn.world[sn.nworlds] = w;
    sn.hash[sn.nworlds] = fz_world_hash(w);
    sn.nworlds++;
    sn.st.worlds = sn.nworlds;
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
        munmap(r->hot, r->npages);
        munmap(r->list, r->npages * sizeof(uint32_t));
        munmap(r->backup, r->npages * SNAP_PAGE);
        munmap(r->kept, r->npages);
        munmap(r->noted, r->npages * sizeof(uint32_t));
        munmap(r->mask, r->npages * sizeof(uint16_t));
        memset(r, 0, sizeof(*r));
    }
    sn.nreg = 0;
    sn.npend = 0;
    sn.st.kept = 0;
    sn.nworlds = 0;
    sn.arena_tracked = false;
    sn.st.worlds = 0;
    sn.st.hot = 0;
}

void fz_snap_cool(void)
{
    fz_snap_restore();
    for (unsigned i = 0; i < sn.nreg; i++)
        region_cool(&sn.reg[i]);
}

void fz_snap_stats(struct fz_snap_stats *st)
{
    *st = sn.st;
}

#ifdef __clang__
#pragma clang attribute pop
#endif
