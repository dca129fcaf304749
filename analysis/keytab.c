/*
 * analysis/keytab.c - the (k1, k2) -> entry table of keytab.h (T1-T4).
 *
 * An entry is a header (its keys and its number) followed by the caller's
 * esize bytes, in chunks of KT_CHUNK; the header makes kt_key and kt_index
 * O(1).  Linear probing over the slot array.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/keytab.h"

struct kt_head { uint64_t k1, k2; uint64_t idx; };
#define KT_HEAD sizeof(struct kt_head)

/* T4: a full mix of both keys; the caller takes the high bits. */
static inline uint64_t kt_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = k1 * 0x9E3779B97F4A7C15ULL ^ (k2 + 0x632BE59BD9B4E019ULL);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 32);
}

static inline size_t kt_bucket(const struct keytab *t, uint64_t k1, uint64_t k2)
{
    return (size_t)(kt_hash(k1, k2) >> t->shift);
}

void kt_init(struct keytab *t, size_t esize)
{
    memset(t, 0, sizeof(*t));
    t->esize = esize;
    t->stride = (KT_HEAD + esize + 7) & ~(size_t)7;
}

void kt_fini(struct keytab *t)
{
    for (size_t i = 0; i < t->nchunk; i++)
        free(t->chunk[i]);
    free(t->chunk);
    free(t->slot);
    kt_init(t, t->esize);
}

static inline struct kt_head *kt_raw(const struct keytab *t, size_t i)
{
    return (struct kt_head *)(t->chunk[i / KT_CHUNK] + (i % KT_CHUNK) * t->stride);
}

void *kt_find(const struct keytab *t, uint64_t k1, uint64_t k2)
{
    if (!t->cap)
        return NULL;
    size_t m = t->cap - 1;
    for (size_t i = kt_bucket(t, k1, k2);; i = (i + 1) & m) {
        const struct kt_slot *s = &t->slot[i];
        if (!s->idx)
            return NULL;
        if (s->k1 == k1 && s->k2 == k2)
            return (char *)kt_raw(t, s->idx - 1) + KT_HEAD;
    }
}

static int kt_grow(struct keytab *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    unsigned nshift = 64;
    for (size_t c = ncap; c > 1; c >>= 1)
        nshift--;
    struct kt_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    struct kt_slot *old = t->slot;
    size_t ocap = t->cap;
    t->slot = ns;
    t->cap = ncap;
    t->shift = nshift;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].idx)
            continue;
        size_t j = kt_bucket(t, old[i].k1, old[i].k2);
        while (ns[j].idx)
            j = (j + 1) & (ncap - 1);
        ns[j] = old[i];
    }
    free(old);
    return 0;
}

void *kt_get_new(struct keytab *t, uint64_t k1, uint64_t k2, bool *created)
{
    if (created)
        *created = false;
    void *e = kt_find(t, k1, k2);
    if (e)
        return e;
    /* T3: every allocation first, then the changes */
    if ((t->n + 1) * 4 > t->cap * 3 && kt_grow(t) < 0)
        return NULL;
    if (t->n / KT_CHUNK >= t->nchunk) {
        if (t->nchunk == t->capchunk) {
            size_t nc = t->capchunk ? t->capchunk * 2 : 4;
            char **c = realloc(t->chunk, nc * sizeof(*c));
            if (!c)
                return NULL;
            t->chunk = c;
            t->capchunk = nc;
        }
        char *c = calloc(KT_CHUNK, t->stride);
        if (!c)
            return NULL;
        t->chunk[t->nchunk++] = c;
    }
    size_t idx = t->n++;
    struct kt_head *h = kt_raw(t, idx);
    h->k1 = k1;
    h->k2 = k2;
    h->idx = idx;
    size_t m = t->cap - 1, i = kt_bucket(t, k1, k2);
    while (t->slot[i].idx)
        i = (i + 1) & m;
    t->slot[i] = (struct kt_slot){ k1, k2, (uint32_t)(idx + 1) };
    if (created)
        *created = true;
    return (char *)h + KT_HEAD;
}

void *kt_get(struct keytab *t, uint64_t k1, uint64_t k2)
{
    return kt_get_new(t, k1, k2, NULL);
}

size_t kt_count(const struct keytab *t)
{
    return t->n;
}

void *kt_at(const struct keytab *t, size_t i)
{
    return i < t->n ? (char *)kt_raw(t, i) + KT_HEAD : NULL;
}

size_t kt_index(const struct keytab *t, const void *entry)
{
    (void)t;
    return (size_t)((const struct kt_head *)((const char *)entry - KT_HEAD))->idx;
}

void kt_key(const struct keytab *t, const void *entry, uint64_t *k1, uint64_t *k2)
{
    (void)t;
    const struct kt_head *h = (const struct kt_head *)((const char *)entry - KT_HEAD);
    *k1 = h->k1;
    *k2 = h->k2;
}
