/*
 * fuzz/snap_alloc.c - the arena allocator of the snapshot reset
 * (fuzz/snap_alloc.h SA1-SA4).
 *
 * Rules (SA1-SA4, and):
 *   SA5  A block of class c is 1 << c bytes; its header (class, offset
 *        of the caller's pointer from the block's start, magic) is the 16
 *        bytes before the caller's pointer, so an over-aligned block
 *        (posix_memalign, aligned_alloc) frees like any other.
 *   SA6  One spin lock around the lists and the bump pointer: only one
 *        thread is in the hypervisor at a time in the harnesses, but a
 *        free may come from anywhere (SA2).
 *   SA7  Freed blocks are not cleared; calloc clears what it returns,
 *        except a block just carved from the bump area: every byte past
 *        the bump offset is zero (the mapping starts zeroed, the offset
 *        only grows, and the snapshot reset puts offset and bytes back
 *        together, fuzz/snap.h S3).  So a large calloc touches only the
 *        pages its caller writes, as libc's does with fresh pages: a
 *        grant table's maptrack (core/grant/maptrack.c) is reserved at
 *        its maximum, ~15 MB, and clearing it made a grant run write
 *        ~3,700 arena pages.
 *   SA8  Built without coverage, as fuzz/snap.c (S11): which calls come
 *       here depends on who is linked (the fuzzer runtimes' allocations
 *       too), not on the input.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz/snap_alloc.h"

#ifdef __clang__                                            /* SA8 */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), \
                             apply_to = function)
#endif

#define ARENA_MAGIC     0x6876616c61726e61ULL   /* "hvlalarna" */
#define BLOCK_MAGIC     0x5a5aa5a5u
#define HDR_BYTES       16
#define MIN_CLASS       5                       /* 32 bytes */
#define MAX_CLASS       30
#define FIRST_BLOCK     4096

/* SA4: resolved to the real functions by --wrap; NULL without it. */
extern void *__real_malloc(size_t n) __attribute__((weak));
extern void *__real_calloc(size_t k, size_t n) __attribute__((weak));
extern void *__real_realloc(void *p, size_t n) __attribute__((weak));
extern void __real_free(void *p) __attribute__((weak));
extern int __real_posix_memalign(void **p, size_t a, size_t n)
    __attribute__((weak));
extern void *__real_aligned_alloc(size_t a, size_t n) __attribute__((weak));

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

/* SA3: the arena's own state, at its base. */
struct arena_head {
    uint64_t magic;
    uint64_t used;                      /* bump offset */
    void *free_head[MAX_CLASS + 1];
    uint64_t blocks;                    /* live blocks */
};

struct block_hdr {                      /* SA5 */
    uint32_t cls;
    uint32_t magic;
    uint64_t off;                       /* caller's pointer - block */
};
_Static_assert(sizeof(struct block_hdr) == HDR_BYTES, "header is 16 bytes");

static uint8_t *arena;
static __thread unsigned in_hv;
static atomic_flag arena_lock = ATOMIC_FLAG_INIT;

bool fz_arena_wrapped(void)
{
    return __real_malloc != NULL && __real_free != NULL &&
           __real_calloc != NULL && __real_realloc != NULL;
}

int fz_arena_init(void)
{
    if (arena)
        return 0;
    if (!fz_arena_wrapped())
        return -1;
    void *p = mmap(NULL, FZ_ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    struct arena_head *h = p;
    h->magic = ARENA_MAGIC;
    h->used = FIRST_BLOCK;
    arena = p;
    return 0;
}

void fz_arena_enter(void) { in_hv++; }
void fz_arena_leave(void) { if (in_hv) in_hv--; }
bool fz_arena_inside(void) { return in_hv != 0; }
uint8_t *fz_arena_base(void) { return arena; }

size_t fz_arena_used(void)
{
    return arena ? ((struct arena_head *)arena)->used : 0;
}

bool fz_arena_owns(const void *p)
{
    return arena && (const uint8_t *)p >= arena &&
           (const uint8_t *)p < arena + FZ_ARENA_BYTES;
}

static bool use_arena(void)
{
    return in_hv && arena;
}

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&arena_lock,
                                             memory_order_acquire))
        ;
}

static void unlock(void)
{
    atomic_flag_clear_explicit(&arena_lock, memory_order_release);
}

/* The class whose blocks hold n bytes after a header and align - 16 of
   slack; 0 when too big. */
static unsigned class_of(size_t n, size_t align)
{
    size_t need = n + HDR_BYTES + (align > HDR_BYTES ? align - HDR_BYTES : 0);
    if (need < n)
        return 0;
    unsigned c = MIN_CLASS;
    while (c <= MAX_CLASS && ((size_t)1 << c) < need)
        c++;
    return c <= MAX_CLASS ? c : 0;
}

/* SA3/SA5: a block of n bytes aligned to align (a power of two); *fresh
   set when it came from the bump area (SA7). */
static void *arena_alloc_block(size_t n, size_t align, bool *fresh)
{
    unsigned c = class_of(n, align);
    if (!c)
        return NULL;
    struct arena_head *h = (struct arena_head *)arena;
    lock();
    uint8_t *b = h->free_head[c];
    *fresh = !b;
    if (b) {
        h->free_head[c] = *(void **)b;
    } else {
        uint64_t at = (h->used + 15) & ~15ULL;
        if (at + ((uint64_t)1 << c) > FZ_ARENA_BYTES) {
            unlock();
            return NULL;
        }
        b = arena + at;
        h->used = at + ((uint64_t)1 << c);
    }
    h->blocks++;
    unlock();
    uintptr_t u = (uintptr_t)b + HDR_BYTES;
    if (align > HDR_BYTES)
        u = (u + align - 1) & ~(uintptr_t)(align - 1);
    struct block_hdr *hd = (struct block_hdr *)(u - HDR_BYTES);
    hd->cls = c;
    hd->magic = BLOCK_MAGIC;
    hd->off = u - (uintptr_t)b;
    return (void *)u;
}

static void *arena_alloc(size_t n, size_t align)
{
    bool fresh;
    return arena_alloc_block(n, align, &fresh);
}

static struct block_hdr *header(void *p)
{
    struct block_hdr *hd = (struct block_hdr *)((uint8_t *)p - HDR_BYTES);
    if (hd->magic != BLOCK_MAGIC || hd->cls < MIN_CLASS ||
        hd->cls > MAX_CLASS)
        abort();                        /* not a live arena block */
    return hd;
}

static void arena_free(void *p)
{
    struct block_hdr *hd = header(p);
    unsigned c = hd->cls;
    uint8_t *b = (uint8_t *)p - hd->off;
    struct arena_head *h = (struct arena_head *)arena;
    hd->magic = 0;
    lock();
    *(void **)b = h->free_head[c];
    h->free_head[c] = b;
    h->blocks--;
    unlock();
}

static size_t capacity(void *p)
{
    struct block_hdr *hd = header(p);
    return ((size_t)1 << hd->cls) - hd->off;
}

void *__wrap_malloc(size_t n)
{
    if (!use_arena())
        return __real_malloc(n);
    void *p = arena_alloc(n, 0);
    if (!p)
        errno = ENOMEM;
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (!use_arena())
        return __real_calloc(k, n);
    size_t t;
    if (__builtin_mul_overflow(k, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    bool fresh;
    void *p = arena_alloc_block(t, 0, &fresh);
    if (!p)
        errno = ENOMEM;
    else if (!fresh)
        memset(p, 0, t);                /* SA7 */
    return p;
}

void __wrap_free(void *p)
{
    if (!p)
        return;
    if (fz_arena_owns(p))               /* SA2 */
        arena_free(p);
    else
        __real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!p)
        return __wrap_malloc(n);
    if (!fz_arena_owns(p))              /* SA2 */
        return __real_realloc(p, n);
    if (!n) {
        arena_free(p);
        return NULL;
    }
    size_t cap = capacity(p);
    if (n <= cap)
        return p;
    void *q = arena_alloc(n, 0);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(q, p, cap);
    arena_free(p);
    return q;
}

int __wrap_posix_memalign(void **out, size_t a, size_t n)
{
    if (!use_arena())
        return __real_posix_memalign(out, a, n);
    if (a < sizeof(void *) || (a & (a - 1)))
        return EINVAL;
    void *p = arena_alloc(n, a);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (!use_arena())
        return __real_aligned_alloc(a, n);
    if (!a || (a & (a - 1))) {
        errno = EINVAL;
        return NULL;
    }
    void *p = arena_alloc(n, a);
    if (!p)
        errno = ENOMEM;
    return p;
}

#ifdef __clang__
#pragma clang attribute pop
#endif
