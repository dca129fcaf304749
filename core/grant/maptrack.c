/*
 * core/grant/maptrack.c - a grantee's handle table.
 *
 * Rules:
 *   M1  A handle is an index into ld's maptrack.  Free handles form one
 *       LIFO list (Xen keeps one per vCPU; one list is enough for hvlab's
 *       single-lock design), linked through next_free.
 *   M2  When the list is empty the table grows by one maptrack frame's
 *       worth of entries (MAPTRACK_PER_FRAME, Xen's 16-byte entries per
 *       4 KiB) up to grant.max_maptrack_frames; past that the map fails
 *       with GNTST_no_space.
 *       The array is reserved at its maximum once, so an entry never
 *       moves under a user.
 *   M3  A taken handle has flags == 0 until map.c publishes it (flags are
 *       written last); a handle goes back to the list only with flags == 0
 *       (invariant 25).
 */
#include <stdlib.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/machine.h"
#include "trace/trace.h"

static bool grow(struct grant_table *gt)
{
    if (gt->maptrack_limit >= gt->maptrack_max)
        return false;
    if (!gt->maptrack) {
        /* Reserved once at the maximum and never moved (handles are
           used without the lock); pages are touched only as it grows. */
        gt->maptrack = calloc(gt->maptrack_max, sizeof(*gt->maptrack));
        if (!gt->maptrack)
            return false;
    }
    unsigned n = gt->maptrack_limit + MAPTRACK_PER_FRAME;
    if (n > gt->maptrack_max)
        n = gt->maptrack_max;
    struct grant_mapping *t = gt->maptrack;
    /* New entries go on the list in index order (lowest first). */
    for (unsigned i = n; i-- > gt->maptrack_limit;) {
        t[i] = (struct grant_mapping){ .flags = 0, .l1mfn = INVALID_MFN,
                                       .mfn = INVALID_MFN,
                                       .next_free = gt->maptrack_free };
        gt->maptrack_free = i;
    }
    gt->maptrack_limit = n;
    return true;
}

int maptrack_get(struct domain *ld, domid_t rdom, grant_ref_t ref)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    hv_lock(&gt->maptrack_lock);
    if (gt->maptrack_free == MAPTRACK_TAIL && !grow(gt)) {
        hv_unlock(&gt->maptrack_lock);
        return -1;
    }
    uint32_t h = gt->maptrack_free;
    struct grant_mapping *map = &gt->maptrack[h];
    gt->maptrack_free = map->next_free;
    map->next_free = MAPTRACK_TAIL;
    map->ref = ref;
    map->domid = rdom;
    map->flags = 0;
    gt->maptrack_in_use++;
    TRC(hvlab_grant, maptrack_get, (uint8_t)ld->m->host_id, ld->domid, rdom,
        ref, INVALID_MFN, h, gt->maptrack_in_use);
    hv_unlock(&gt->maptrack_lock);
    return (int)h;
}

void maptrack_put(struct domain *ld, uint32_t handle)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    hv_lock(&gt->maptrack_lock);
    struct grant_mapping *map = &gt->maptrack[handle];
    map->flags = 0;
    map->busy = false;
    map->next_free = gt->maptrack_free;
    gt->maptrack_free = handle;
    gt->maptrack_in_use--;
    TRC(hvlab_grant, maptrack_put, (uint8_t)ld->m->host_id, ld->domid,
        map->domid, map->ref, map->mfn, handle, gt->maptrack_in_use);
    map->mfn = INVALID_MFN;
    map->l1mfn = INVALID_MFN;
    hv_unlock(&gt->maptrack_lock);
}

struct grant_mapping *maptrack_entry(struct domain *ld, uint32_t handle)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    if (!gt || handle >= gt->maptrack_limit)
        return NULL;
    return &gt->maptrack[handle];
}

struct grant_mapping *maptrack_claim(struct domain *ld, uint32_t handle)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    struct grant_mapping *map = NULL;
    hv_lock(&gt->maptrack_lock);
    if (handle < gt->maptrack_limit && gt->maptrack[handle].flags &&
        !gt->maptrack[handle].busy) {
        map = &gt->maptrack[handle];
        map->busy = true;
    }
    hv_unlock(&gt->maptrack_lock);
    return map;
}

void maptrack_unclaim(struct domain *ld, struct grant_mapping *map)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    hv_lock(&gt->maptrack_lock);
    map->busy = false;
    hv_unlock(&gt->maptrack_lock);
}

void maptrack_publish(struct domain *ld, struct grant_mapping *map,
                      uint32_t flags)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);                       /* audit.h A2 */
    struct grant_table *gt = ld->grant_table;
    hv_lock(&gt->maptrack_lock);
    map->flags = flags;
    hv_unlock(&gt->maptrack_lock);
}
