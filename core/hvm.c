/*
 * core/hvm.c - the HVM exits that touch paging: MOV to CR3, INVLPG and TLB
 * flushes, dispatched by the domain's paging mode (core/hvm.h).
 *
 * Rules:
 *   1. Shadow mode: a CR3 load and an INVLPG are resync points of the
 *      shadow code, which also loads the shadow root into v->cr3
 *      (sh_update_cr3, sh_invlpg).  A full flush reloads the current guest
 *      CR3 through sh_update_cr3 (as a CR4.PGE toggle makes Xen update the
 *      paging mode) and then flushes the vCPU's TLB.
 *   2. Hap mode: the hardware does it all.  A CR3 load checks the root is
 *      guest RAM in the p2m, sets v->guest_cr3 and flushes the vCPU's
 *      non-global TLB entries; INVLPG drops one address; a flush drops all.
 *   3. These run on the vCPU itself (the guest kernel's instruction), so
 *      every TLB operation is local; v->cr3 is not used by hap walks.
 *   4. Both modes: the frame behind the loaded CR3 holds a general ref
 *      from the vCPU (v->hvm_cr3_frame; Xen's HVM guest_table), taken
 *      before the switch and the old one put after, and put when the
 *      domain is relinquished.  A guest that gives its loaded root back
 *      (decrease_reservation) leaves the frame allocated and shadowed until
 *      it loads another root.
 */
#include <stdio.h>

#include "core/domain.h"
#include "core/hvm.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mmu.h"
#include "core/npt.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"

const char *const paging_mode_name[3] = {
    [PAGING_PV] = "pv",
    [PAGING_SHADOW] = "shadow",
    [PAGING_HAP] = "hap",
};

/* Rule 2: the root must be RAM the guest has in its p2m. */
static bool hap_root_ok(struct domain *d, uint64_t guest_cr3)
{
    uint64_t npte = mmu_npt_lookup(d->m, d->npt_root,
                                   (guest_cr3 & NPT_ADDR_MASK) >> PAGE_SHIFT);
    return p2m_is_ram((p2m_type_t)npte_type(npte)) && (npte & NPT_RWX) != 0;
}

/* Rule 4: false when the root is not RAM in d's p2m; else *ref is the
   frame now holding the vCPU's ref, or INVALID_MFN when it is not d's to
   take one on (a shared frame, owned by the sharing domain). */
static bool cr3_frame_get(struct domain *d, uint64_t guest_cr3, mfn_t *ref)
{
    p2m_type_t t;
    mfn_t mfn = get_gfn_query_unlocked(d, guest_cr3 >> PAGE_SHIFT, &t);
    *ref = INVALID_MFN;
    if (mfn == INVALID_MFN || !mfn_valid(d->m, mfn) || !p2m_is_ram(t))
        return false;
    if (get_page(d->m, mfn, d))
        *ref = mfn;
    return true;
}

static void cr3_frame_set(struct vcpu *v, mfn_t mfn)
{
    mfn_t old = v->hvm_cr3_frame;
    v->hvm_cr3_frame = mfn;
    HV_AUDIT_MARK(v->d->m, HV_MARK_MM);                 /* audit.h A2 */
    HV_AUDIT_MARK(v->d->m, HV_MARK_ISO);                /* audit.h A11 */
    if (old != INVALID_MFN)
        put_page(v->d->m, old);
}

void hvm_cr3_release(struct vcpu *v)
{
    cr3_frame_set(v, INVALID_MFN);
}

int hvm_set_cr3(struct vcpu *v, uint64_t guest_cr3)
{
    struct domain *d = v->d;
    mfn_t frame;
    int rc;

    switch (d->paging) {
    case PAGING_SHADOW:
        if (!cr3_frame_get(d, guest_cr3, &frame))
            return -XEN_EINVAL;
        if ((rc = sh_update_cr3(v, guest_cr3)) != 0) {
            if (frame != INVALID_MFN)
                put_page(d->m, frame);
            return rc;
        }
        cr3_frame_set(v, frame);
        return 0;
    case PAGING_HAP:
        if (!hap_root_ok(d, guest_cr3) || !cr3_frame_get(d, guest_cr3, &frame))
            return -XEN_EINVAL;
        v->guest_cr3 = guest_cr3;
        cr3_frame_set(v, frame);
        mmu_load_cr3(v, v->cr3);        /* the flush of a CR3 load */
        /* Its TLB now caches translations through d's p2m: p2m changes
           that take rights away must flush it (p2m.c M5). */
        atomic_fetch_or(&d->dirty_vcpumask, 1ULL << (v->vcpu_id & 63));
        return 0;
    case PAGING_PV:
    default:
        return -XEN_EINVAL;
    }
}

void hvm_invlpg(struct vcpu *v, uint64_t va)
{
    if (v->d->paging == PAGING_SHADOW) {
        sh_invlpg(v, va);
        return;
    }
    mmu_invlpg_local(v, va);
}

void hvm_flush_tlb(struct vcpu *v)
{
    if (v->d->paging == PAGING_SHADOW)
        (void)sh_update_cr3(v, v->guest_cr3);
    mmu_flush_local(v);
}
