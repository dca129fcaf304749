/*
 * core/grant/peek.c - read-only questions about a grant table from outside
 * core/grant (core/grant/peek.h).
 *
 * Rules:
 *   K1  Read-only and lock-free: nothing here writes a table, takes a lock
 *       or a reference, or traces.  The callers ask between hypercalls (a
 *       quiescent machine, or the one thread that is about to issue the
 *       next call), as gnttab_is_shared_frame does; taking the table lock
 *       would be a scheduling point of its own in det mode.
 *   K2  An entry reads as the guest wrote it: the {flags, domid} header
 *       (the same first word in v1 and v2 layouts) and the frame, beside
 *       Xen's active
 *       entry (pin counters, the pinning grantee).  A ref at or past the
 *       table's entries (nr_frames x entries per frame of its version) or
 *       a released table is -XEN_EINVAL: what GNTTABOP_map_grant_ref
 *       answers GNTST_bad_gntref for.
 *   K3  A status frame is one only while the table is at version 2 and
 *       the frame is one of its nr_status status frames (table.c T1, T5):
 *       a frame a switch to version 1 let go is no longer one, whoever
 *       still maps it.
 */
#include "core/domain.h"
#include "core/grant/peek.h"
#include "core/grant/private.h"

int gnttab_peek_entry(struct domain *rd, grant_ref_t ref,
                      struct gnttab_peek *out)
{
    struct grant_table *gt = rd ? rd->grant_table : NULL;
    if (!gt || ref >= nr_grant_entries(gt))                 /* K2 */
        return -XEN_EINVAL;
    uint32_t w = atomic_load(gnt_shared_word(gt, ref));
    const struct active_grant_entry *act = &gt->active[ref];
    out->version = gt->version;
    out->entry_flags = (uint16_t)(w & 0xffff);      /* little-endian hdr */
    out->entry_domid = (domid_t)(w >> 16);
    out->entry_frame = gnt_entry_frame(gt, ref);
    out->pin = act->pin;
    out->pin_domid = act->pin ? act->domid : DOMID_INVALID;
    return 0;
}

mfn_t gnttab_status_frame(struct domain *d, unsigned idx)
{
    struct grant_table *gt = d ? d->grant_table : NULL;
    if (!gt || gt->released || gt->version != 2 || idx >= gt->nr_status)
        return INVALID_MFN;                                 /* K3 */
    return gt->status[idx];
}

bool gnttab_is_status_frame(struct domain *d, mfn_t mfn)
{
    struct grant_table *gt = d ? d->grant_table : NULL;
    if (!gt || mfn == INVALID_MFN)
        return false;
    for (unsigned i = 0; gnttab_status_frame(d, i) != INVALID_MFN; i++)
        if (gt->status[i] == mfn)
            return true;
    return false;
}
