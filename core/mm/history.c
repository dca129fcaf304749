/*
 * core/mm/history.c - per-thread rings of recent frame transitions.
 *
 * Rules:
 *   H1  A thread appends only to its own ring of the machine (one writer per
 *       ring): plain stores of the record, then a release store of the
 *       ring's head.  No atomic read-modify-write, no lock, nothing another
 *       thread writes - except the frame's sequence slot (H4).
 *   H2  A reader copies records below the head it loaded (acquire), then
 *       reloads the head: a record whose index is no longer within the last
 *       FRAME_HISTORY_SIZE may have been overwritten meanwhile and is
 *       skipped.
 *   H3  m->history (the rings' directory) is created on first use
 *       (compare-and-exchange); a ring is created the first time a thread
 *       appends and pushed on the directory's list (compare-and-exchange);
 *       nothing is freed before the machine (frame_history_free).  A
 *       thread finds its ring through a one-entry thread-local cache keyed
 *       by the directory's address and its process-unique id, so a cache
 *       left over from a destroyed machine is never used.
 *   H4  seq[mfn] is the frame's last transition number; an append stores
 *       seq[mfn] + 1 (relaxed load and store: see history.h for what a race
 *       between two threads on one frame does to the order).
 *   H5  The rings and seq[] take part in the write record (core/wrec.h),
 *       each a block of whole pages of its own (W8): an append notes the
 *       slot and the sequence number it stores, and the ring's head once
 *       per epoch (head_noted, W7), so the fuzzer's snapshot reset puts
 *       back only those pages.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/history.h"
#include "core/vcpu.h"
#include "core/wrec.h"

#define FH_MASK     (FRAME_HISTORY_SIZE - 1)

/* A record in a ring (32 bytes). */
struct fh_slot {
    uint64_t old_word, new_word;
    uint32_t mfn;                       /* frame links are 32-bit */
    uint32_t seq;
    uint16_t owner, vcpu, dom;
    uint8_t what, pad;
};
_Static_assert(sizeof(struct fh_slot) == 32, "history record is 32 bytes");

struct fh_ring {
    struct fh_ring *next;               /* directory list; set before push */
    const void *thread;                 /* the one thread appending here */
    uint32_t index;                     /* 0, 1, ...: order of creation */
    _Atomic uint64_t head;              /* records ever appended (H1) */
    uint64_t head_noted;                /* H5: the epoch head was noted in */
    struct fh_slot rec[FRAME_HISTORY_SIZE];
};

struct frame_history {
    uint64_t id;                        /* unique in the process (H3) */
    uint64_t nr_frames;
    _Atomic uint32_t *seq;              /* per frame (H4) */
    struct fh_ring *_Atomic rings;
    _Atomic uint32_t nr_rings;
};

const char *const fh_what_name[FH_NR] = {
    [FH_COUNT] = "count", [FH_TYPE] = "type", [FH_VALIDATE] = "validate",
    [FH_DEVALIDATE] = "devalidate", [FH_ALLOC] = "alloc", [FH_FREE] = "free",
};

static _Atomic uint64_t history_ids;

/* The calling thread's identity (address of a thread-local) and its cache
   of (directory, ring). */
static __thread char tl_token;
static __thread struct {
    const struct frame_history *h;
    uint64_t id;
    struct fh_ring *ring;
} tl_cache;

static struct frame_history *history_create(struct machine *m)
{
    struct frame_history *h = atomic_load_explicit(&m->history,
                                                   memory_order_acquire);
    if (h)
        return h;
    struct frame_history *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->seq = hv_wrec_calloc((m->nr_frames ? m->nr_frames : 1) * sizeof(*n->seq));
    if (!n->seq) {
        free(n);
        return NULL;
    }
    n->nr_frames = m->nr_frames;
    n->id = atomic_fetch_add(&history_ids, 1) + 1;
    if (!atomic_compare_exchange_strong(&m->history, &h, n)) {
        hv_wrec_free(n->seq, (m->nr_frames ? m->nr_frames : 1) * sizeof(*n->seq));
        free(n);                        /* somebody else won (H3) */
        return h;
    }
    /* The winner arranges the free; without a slot the rings stay until
       exit, which only costs memory. */
    (void)machine_at_destroy(m, frame_history_free);
    return n;
}

static struct fh_ring *ring_lookup(struct machine *m);

int frame_history_prepare(struct machine *m)
{
    return ring_lookup(m) ? 0 : -1;
}

/* Find or create this thread's ring of m and cache it (H3). */
static struct fh_ring *ring_lookup(struct machine *m)
{
    struct frame_history *h = history_create(m);
    if (!h)
        return NULL;
    struct fh_ring *r;
    for (r = atomic_load_explicit(&h->rings, memory_order_acquire); r;
         r = r->next)
        if (r->thread == &tl_token)
            break;                      /* ours (or a dead thread's) */
    if (!r) {
        r = hv_wrec_calloc(sizeof(*r));                         /* H5 */
        if (!r)
            return NULL;
        r->thread = &tl_token;
        r->index = atomic_fetch_add(&h->nr_rings, 1);
        struct fh_ring *top = atomic_load(&h->rings);
        do {
            r->next = top;
        } while (!atomic_compare_exchange_weak(&h->rings, &top, r));
    }
    tl_cache.h = h;
    tl_cache.id = h->id;
    tl_cache.ring = r;
    return r;
}

/* Cache miss: look the ring up, then append through the fast path (kept
   out of line so that the fast path is a leaf with no spills). */
static __attribute__((noinline, cold)) void
history_add_slow(struct machine *m, mfn_t mfn, enum fh_what what,
                 uint16_t owner, uint64_t old_word, uint64_t new_word)
{
    if (ring_lookup(m))
        frame_history_add(m, mfn, what, owner, old_word, new_word);
}

void frame_history_add(struct machine *m, mfn_t mfn, enum fh_what what,
                       uint16_t owner, uint64_t old_word, uint64_t new_word)
{
    struct frame_history *h = atomic_load_explicit(&m->history,
                                                   memory_order_acquire);
    if (unlikely(h == NULL || h != tl_cache.h || h->id != tl_cache.id)) {
        history_add_slow(m, mfn, what, owner, old_word, new_word);
        return;
    }
    struct fh_ring *r = tl_cache.ring;

    uint32_t seq = 0;
    if (likely(mfn < h->nr_frames)) {                           /* H4 */
        seq = atomic_load_explicit(&h->seq[mfn], memory_order_relaxed) + 1;
        hv_wrec_note(&h->seq[mfn], sizeof(h->seq[mfn]));        /* H5 */
        atomic_store_explicit(&h->seq[mfn], seq, memory_order_relaxed);
    }
    uint64_t n = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (unlikely(r->head_noted != hv_wrec_epoch())) {           /* H5 */
        hv_wrec_note(&r->head, sizeof(r->head));
        hv_wrec_note(&r->head_noted, sizeof(r->head_noted));
        r->head_noted = hv_wrec_epoch();
    }
    struct fh_slot *s = &r->rec[n & FH_MASK];
    const struct vcpu *v = current;
    hv_wrec_note(s, sizeof(*s));                                /* H5 */
    s->old_word = old_word;
    s->new_word = new_word;
    s->mfn = (uint32_t)mfn;
    s->seq = seq;
    s->owner = owner;
    s->vcpu = v ? (uint16_t)v->vcpu_id : 0xFFFF;
    s->dom = v && v->d ? v->d->domid : 0xFFFF;
    s->what = (uint8_t)what;
    atomic_store_explicit(&r->head, n + 1, memory_order_release);   /* H1 */
}

/* Newest first; equal numbers (a race, H4) by ring. */
static int newest_first(const void *a, const void *b)
{
    const struct fh_record *x = a, *y = b;
    int32_t d = (int32_t)(y->seq - x->seq);
    if (d)
        return d < 0 ? -1 : 1;
    return x->ring < y->ring ? -1 : x->ring > y->ring;
}

/* Up to max records about mfn from one ring, newest first (H2). */
static unsigned ring_find(const struct fh_ring *r, mfn_t mfn,
                          struct fh_record *out, unsigned max)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t lo = head > FRAME_HISTORY_SIZE ? head - FRAME_HISTORY_SIZE : 0;
    uint64_t idx[64];
    unsigned n = 0;
    if (max > 64)
        max = 64;
    for (uint64_t i = head; i > lo && n < max; i--) {
        const struct fh_slot *s = &r->rec[(i - 1) & FH_MASK];
        if (s->mfn != mfn)
            continue;
        out[n] = (struct fh_record){
            .seq = s->seq, .ring = r->index, .mfn = s->mfn,
            .old_word = s->old_word, .new_word = s->new_word,
            .owner = s->owner, .vcpu = s->vcpu, .dom = s->dom,
            .what = s->what,
        };
        idx[n++] = i - 1;
    }
    atomic_thread_fence(memory_order_acquire);
    uint64_t now = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* The writer may be filling index `now`, which reuses now - SIZE. */
    while (n > 0 && idx[n - 1] + FRAME_HISTORY_SIZE <= now)
        n--;                            /* oldest ones were overwritten */
    return n;
}

unsigned frame_history_find(struct machine *m, mfn_t mfn,
                            struct fh_record *out, unsigned max)
{
    struct frame_history *h = atomic_load_explicit(&m->history,
                                                   memory_order_acquire);
    if (!h || !max)
        return 0;
    if (max > 64)
        max = 64;
    /* Rings pushed after this snapshot of the list are left out. */
    struct fh_ring *top = atomic_load_explicit(&h->rings,
                                               memory_order_acquire);
    size_t nr = 0;
    for (struct fh_ring *r = top; r; r = r->next)
        nr++;
    if (!nr)
        return 0;
    struct fh_record *all = calloc(nr * max, sizeof(*all));
    if (!all)
        return 0;
    unsigned n = 0;
    for (struct fh_ring *r = top; r; r = r->next)
        n += ring_find(r, mfn, all + n, max);
    qsort(all, n, sizeof(*all), newest_first);
    if (n > max)
        n = max;
    for (unsigned i = 0; i < n; i++)
        out[i] = all[i];
    free(all);
    return n;
}

void frame_history_print(struct machine *m, mfn_t mfn, unsigned max, FILE *f)
{
    struct fh_record rec[64];
    if (max > ARRAY_SIZE(rec))
        max = ARRAY_SIZE(rec);
    unsigned n = frame_history_find(m, mfn, rec, max);
    if (!n) {
        fprintf(f, "    (no recorded transitions)\n");
        return;
    }
    fprintf(f, "    last %u transitions, newest first:\n", n);
    for (unsigned i = 0; i < n; i++) {
        const struct fh_record *r = &rec[i];
        char who[32];
        if (r->vcpu == 0xFFFF)
            snprintf(who, sizeof(who), "host");
        else
            snprintf(who, sizeof(who), "d%u.v%u", r->dom, r->vcpu);
        fprintf(f, "      #%-8u %-10s %-8s owner d%u  %#018llx -> %#018llx\n",
                r->seq, r->what < FH_NR ? fh_what_name[r->what] : "?", who,
                r->owner, (unsigned long long)r->old_word,
                (unsigned long long)r->new_word);
    }
}

void frame_history_free(struct machine *m)
{
    struct frame_history *h = atomic_exchange(&m->history, NULL);
    if (!h)
        return;
    struct fh_ring *r = atomic_load(&h->rings);
    while (r) {
        struct fh_ring *next = r->next;
        hv_wrec_free(r, sizeof(*r));
        r = next;
    }
    hv_wrec_free(h->seq, (h->nr_frames ? h->nr_frames : 1) * sizeof(*h->seq));
    free(h);
}
