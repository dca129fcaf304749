/*
 * core/vcpu.c - the vCPU structure's life and the `current` pointer.
 *
 * Rules:
 *   1. `current` is per OS thread: the scheduler sets it before it runs a
 *      vCPU's entry and clears it afterwards (det mode switches it with the
 *      coroutine).  Hypervisor code called from guest context may read it;
 *      nothing else writes it.
 *   2. A vCPU starts with no page-table roots (INVALID_MFN everywhere), in
 *      kernel mode, with an empty TLB: the first access faults until the
 *      toolstack gives it roots (domctl_set_vcpu_context).
 *   3. The TLB's request lock is a leaf lock: nothing is taken under it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/vcpu.h"
#include "core/wrec.h"

__thread struct vcpu *current;

struct vcpu *vcpu_alloc(struct domain *d, unsigned id)
{
    struct vcpu *v;

    /* Page-aligned: the TLB's entries fill whole pages (core/tlb.h). */
    if (posix_memalign((void **)&v, _Alignof(struct vcpu), sizeof(*v)) != 0)
        return NULL;
    memset(v, 0, sizeof(*v));
    hv_wrec_keep(v->tlb.e, sizeof(v->tlb.e));
    v->vcpu_id = id;
    v->d = d;
    v->guest_table = INVALID_MFN;
    v->hvm_cr3_frame = INVALID_MFN;
    v->guest_table_user = INVALID_MFN;
    v->old_guest_table = INVALID_MFN;
    v->cr3 = INVALID_MFN;
    v->in_kernel = true;
    hv_lock_init(&v->tlb.req_lock, "tlb.req", LOCK_LEAF);
    return v;
}

void vcpu_free(struct vcpu *v)
{
    if (v == NULL)
        return;
    if (current == v)
        current = NULL;
    hv_wrec_forget(v->tlb.e, sizeof(v->tlb.e));
    free(v);
}

void vcpu_entry_done(struct vcpu *v)
{
    if (v && !atomic_exchange(&v->stopped, true) && v->d)
        atomic_fetch_add(&v->d->vcpus_stopped, 1);
}
