/*
 * analysis/state_table.c - the rebuilt state's use of the one table
 * (keytab.h; state_private.h P1).
 *
 * Rules:
 *   T1  The tables are keytab.h's: entries in chunks that never move (P1),
 *       an entry's index kept in the entry (ht_index is O(1)).
 *   T2  No deletion: a key once seen keeps its entry (the state's keys are
 *       frames, pfns, slots and handles of one trace: bounded).
 *   T3  Out of memory ends the analysis (abort with a message): a state
 *       missing entries would report what did not happen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/state_private.h"

static void st_oom(void)
{
    fprintf(stderr, "hvlab analyze: out of memory\n");
    abort();
}

void *st_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        st_oom();
    return p;
}

void *st_xrealloc(void *p, size_t n, size_t sz)
{
    void *np = realloc(p, n * sz);
    if (!np && n && sz)
        st_oom();
    return np;
}

void ht_init(struct keytab *t, size_t esize)
{
    kt_init(t, esize);
}

void ht_fini(struct keytab *t)
{
    kt_fini(t);
}

void *ht_entry(const struct keytab *t, uint32_t idx)
{
    return kt_at(t, idx);
}

uint32_t ht_index(const struct keytab *t, const void *entry)
{
    return (uint32_t)kt_index(t, entry);
}

void *ht_find(const struct keytab *t, uint64_t k1, uint64_t k2)
{
    return kt_find(t, k1, k2);
}

void *ht_get(struct keytab *t, uint64_t k1, uint64_t k2, bool *created)
{
    void *e = kt_get_new(t, k1, k2, created);
    if (!e)
        st_oom();                                       /* T3 */
    return e;
}
