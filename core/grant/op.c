/*
 * core/grant/op.c - HYPERVISOR_grant_table_op(cmd, uop, count).
 *
 * Rules:
 *   O1  cmd is a GNTTABOP_* number of <xen/grant_table.h>; anything not
 *       modelled (transfer, dump_table, swap_grant_ref, cache_flush, and
 *       unknown numbers) is -ENOSYS.  A count that is negative as an int is
 *       -EINVAL.
 *   O2  map / unmap / unmap_and_replace / copy work element by element:
 *       each element is copied in, done, and its results copied out before
 *       the next; an unreadable or unwritable element stops the call with
 *       -EFAULT (elements before it are done).  The per-element outcome is
 *       its status field; the call itself returns 0.
 *   O3  Between elements the call may be preempted (hypercall_preempt_check,
 *       as Xen checks after each map/copy and after every
 *       GNTTAB_UNMAP_BATCH_SIZE unmaps): it continues with uop advanced past
 *       the elements done and count reduced, as Xen's continuation does.
 *   O4  The size/version ops take count == 1 (table.c T3).
 */
#include <stdint.h>

#include <xen/grant_table.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/guest_access.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/paging.h"
#include "core/vcpu.h"
#include "trace/trace.h"

#define GNTTAB_UNMAP_BATCH_SIZE 32

#define BATCH_LOOP(type, one, batch)                                        \
    for (unsigned i = 0; i < count; i++) {                                  \
        if (i && (i % (batch)) == 0 && hypercall_preempt_check(v))          \
            return hypercall_create_continuation(                          \
                v, __HYPERVISOR_grant_table_op, cmd,                       \
                uop + i * sizeof(type), count - i, 0, 0);                  \
        type op;                                                            \
        uint64_t at = uop + (uint64_t)i * sizeof(type);                    \
        if (copy_from_guest(v, &op, at, sizeof(op)))                        \
            return -XEN_EFAULT;                                             \
        one(v, &op);                                                        \
        if (copy_to_guest(v, at, &op, sizeof(op)))                          \
            return -XEN_EFAULT;                                             \
    }                                                                       \
    return 0

long do_grant_table_op(struct vcpu *v, unsigned cmd, uint64_t uop,
                       unsigned count)
{
    HV_AUDIT_MARK(v->d->m, HV_MARK_GNT);                    /* audit.h A3 */
    if ((int)count < 0)
        return -XEN_EINVAL;
    if (!v->d->grant_table)
        return -XEN_ENOSYS;
    switch (cmd) {
    case GNTTABOP_map_grant_ref:
        BATCH_LOOP(struct gnttab_map_grant_ref, gnttab_map_one, 1);
    case GNTTABOP_unmap_grant_ref:
        BATCH_LOOP(struct gnttab_unmap_grant_ref, gnttab_unmap_one,
                   GNTTAB_UNMAP_BATCH_SIZE);
    case GNTTABOP_unmap_and_replace:
        BATCH_LOOP(struct gnttab_unmap_and_replace,
                   gnttab_unmap_and_replace_one, GNTTAB_UNMAP_BATCH_SIZE);
    case GNTTABOP_copy:
        BATCH_LOOP(struct gnttab_copy, gnttab_copy_one, 1);
    case GNTTABOP_setup_table:
        return gnttab_op_setup_table(v, uop, count);
    case GNTTABOP_query_size:
        return gnttab_op_query_size(v, uop, count);
    case GNTTABOP_set_version:
        return gnttab_op_set_version(v, uop, count);
    case GNTTABOP_get_version:
        return gnttab_op_get_version(v, uop, count);
    case GNTTABOP_get_status_frames:
        return gnttab_op_get_status_frames(v, uop, count);
    default:
        /* transfer, dump_table, swap_grant_ref, cache_flush: not modelled */
        return -XEN_ENOSYS;
    }
}

void gnttab_mark_dirty_why(struct domain *d, grant_ref_t ref, mfn_t mfn,
                           enum gnt_dirty_why why)
{
    TRC(hvlab_grant, mark_dirty, (uint8_t)d->m->host_id, d->domid, ref, mfn,
        (uint8_t)why);
    paging_mark_dirty(d, mfn);
}

void gnttab_mark_dirty(struct domain *d, mfn_t mfn)
{
    gnttab_mark_dirty_why(d, ~0u, mfn, GDIRTY_UNMAP);
}

void gnttab_pte_refused(struct domain *d, mfn_t table, unsigned slot,
                        uint64_t old, uint64_t new_pte, unsigned path)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    TRC(hvlab_grant, pte_refused, (uint8_t)d->m->host_id, d->domid, ~0u,
        table, (uint16_t)slot, old, new_pte, (uint8_t)path);
}

void gnttab_for_each_writable_pin(struct domain *d,
                                  void (*fn)(void *ctx, mfn_t mfn), void *ctx)
{
    struct grant_table *gt = d->grant_table;
    if (!gt)
        return;
    hv_lock(&gt->lock);
    unsigned n = gt->nr_frames * GNT_PER_FRAME_V1;
    for (unsigned i = 0; i < n; i++)
        if (gt->active[i].pin & GNTPIN_write_mask)
            fn(ctx, gt->active[i].mfn);
    hv_unlock(&gt->lock);
}
