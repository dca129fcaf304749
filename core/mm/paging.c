/*
 * core/mm/paging.c - paging_mark_dirty(), counting only.
 *
 * Rules:
 *   1. A mark is counted per domain (by host and domid) and nothing else
 *      happens: the log-dirty bitmap, its enable/clean/peek operations and
 *      the pfn translation land with log-dirty, which replaces this body.
 *   2. Marks for a frame that is not d's (freed meanwhile) still count:
 *      the caller knows what it wrote.
 */
#include <stdatomic.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/paging.h"

#define PAGING_HOSTS 8

static _Atomic uint64_t dirty_marks[PAGING_HOSTS][HV_MAX_DOMAINS];

void paging_mark_dirty(struct domain *d, mfn_t mfn)
{
    (void)mfn;
    if (!d || d->domid >= HV_MAX_DOMAINS)
        return;
    atomic_fetch_add(&dirty_marks[d->m->host_id % PAGING_HOSTS][d->domid], 1);
}

uint64_t paging_dirty_marks(const struct domain *d)
{
    if (!d || d->domid >= HV_MAX_DOMAINS)
        return 0;
    return atomic_load(&dirty_marks[d->m->host_id % PAGING_HOSTS][d->domid]);
}
