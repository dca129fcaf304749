/*
 * analysis/keytab.h - the one hash table of analysis/: a (k1, k2) key to a
 * fixed-size entry.  Used by the rebuilt state (state_private.h P1), the
 * checkers (check_*.c), the image comparison, and - keyed by a pointer
 * (kt_ptr) - the decoder's and the counter's per-event-class tables
 * (event.c, count.c).
 *
 * Rules:
 *   T1  An entry is created zeroed by kt_get and lives until kt_fini;
 *       entries are numbered in creation order (kt_at(t, 0 .. kt_count - 1),
 *       kt_index is the inverse, O(1)).  No deletion.
 *   T2  Entries live in chunks that never move: a pointer from kt_get /
 *       kt_find / kt_at stays valid until kt_fini (state_private.h P1).
 *   T3  kt_get returns NULL only when memory ran out; nothing changed then.
 *       kt_init allocates nothing and cannot fail.
 *   T4  The slot array holds the key and the entry number, so a probe
 *       compares keys without touching entries; the bucket is the high
 *       bits of a full 64-bit mix of both keys (no key bit is ignored);
 *       the array doubles at 3/4 full and moves slots, never entries.
 */
#ifndef HVLAB_ANALYSIS_KEYTAB_H
#define HVLAB_ANALYSIS_KEYTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kt_slot { uint64_t k1, k2; uint32_t idx; };    /* idx: entry + 1, 0 empty */

struct keytab {
    struct kt_slot *slot;
    size_t cap;                 /* 0, or a power of two */
    unsigned shift;             /* 64 - log2(cap) */
    size_t n;                   /* entries */
    size_t esize, stride;       /* caller's size; with the header, aligned */
    char **chunk;               /* KT_CHUNK entries each, never moved (T2) */
    size_t nchunk, capchunk;
};
#define KT_CHUNK 1024

void kt_init(struct keytab *t, size_t esize);                   /* T3 */
void kt_fini(struct keytab *t);
void *kt_find(const struct keytab *t, uint64_t k1, uint64_t k2);
void *kt_get(struct keytab *t, uint64_t k1, uint64_t k2);       /* T1, T3 */
/* kt_get that also says whether the entry is new. */
void *kt_get_new(struct keytab *t, uint64_t k1, uint64_t k2, bool *created);
size_t kt_count(const struct keytab *t);
void *kt_at(const struct keytab *t, size_t i);                  /* NULL past n */
size_t kt_index(const struct keytab *t, const void *entry);     /* T1 */
/* The key an entry was created with. */
void kt_key(const struct keytab *t, const void *entry, uint64_t *k1, uint64_t *k2);

/* A pointer as a key (k1 = the address, k2 = 0). */
static inline uint64_t kt_ptr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

#endif /* HVLAB_ANALYSIS_KEYTAB_H */
