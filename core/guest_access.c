/*
 * core/guest_access.c - the hypervisor reading and writing guest memory.
 *
 * Rules:
 *   1. A guest virtual address is translated on the vCPU's current root
 *      (v->cr3) with the guest kernel's rights, page by page, by a walk that
 *      sets A (and D for writes) as the CPU would; the TLB is not used.
 *   2. Any translation failure is -XEN_EFAULT.  No fault is delivered to the
 *      hypervisor's fault handler or to the guest: a bad hypercall pointer
 *      is the guest's error, reported as Xen reports it.
 *   3. An address range that wraps around the address space is -XEN_EFAULT
 *      before anything is copied.  Otherwise a fault part-way leaves the
 *      pages before it copied (as Xen's copy_to/from_user does).
 *   4. v->in_hypervisor_access is set for the duration of the copy.
 *   5. Log-dirty (core/mm/paging.c): a copy into the guest marks every
 *      page it wrote, after the bytes are in (Xen's hvm_copy_to_guest does
 *      for HVM, shadow or hap; PV shadow mode catches the hypervisor's
 *      writes through the shared address space).  Marking after the write
 *      matters: hvlab's domain_pause does not stop the vCPUs, so a CLEAN
 *      that copied the bitmap between a mark and its write would send the
 *      page before the write and never again.  A ram_logdirty gfn on the
 *      way (data page or guest table written by the walk's A/D update) is
 *      marked and made ram_rw rather than failing the copy.
 */
#include <string.h>

#include "core/domain.h"
#include "core/guest_access.h"
#include "core/machine.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/vcpu.h"

/*
 * Rule 1, and rule 5's fix-up: a hap walk the p2m refuses only because a
 * gfn (the data page, or a guest table whose A/D bit the walk sets) is
 * ram_logdirty is not the guest's error: mark it, make it ram_rw, retry.
 */
static uint32_t translate(struct vcpu *v, uint64_t gva, bool to_guest,
                          mfn_t *mfn)
{
    uint32_t access = to_guest ? PFEC_WRITE : 0;
    if (v->d->paging != PAGING_HAP)
        return mmu_translate(v, gva, access, mfn);
    for (unsigned tries = 0; tries < 8; tries++) {     /* 4 tables + data */
        struct mmu_walk w;
        struct mmu_npf npf;
        uint32_t pfec = mmu_walk_hap(v->d->m, v->d->npt_root, v->guest_cr3,
                                     gva, access, true, &w, &npf);
        if (pfec == 0) {
            *mfn = w.mfn;
            return 0;
        }
        if (pfec != MMU_WALK_NPF ||
            !paging_hap_write_fixup(v->d, npf.gpa >> PAGE_SHIFT))
            return pfec;
    }
    return MMU_WALK_NPF;
}

/* Copy len bytes between host memory and guest va (to_guest: direction). */
static int guest_copy(struct vcpu *v, uint64_t gva, void *host, size_t len,
                      bool to_guest)
{
    struct machine *m = v->d->m;
    uint8_t *p = host;

    if (len == 0)
        return 0;
    if (gva + len - 1 < gva)                        /* rule 3 */
        return -XEN_EFAULT;

    bool was = v->in_hypervisor_access;
    v->in_hypervisor_access = true;
    int rc = 0;
    while (len > 0) {
        size_t off = gva & PAGE_OFFSET_MASK;
        size_t chunk = PAGE_SIZE - off;
        mfn_t mfn;
        if (chunk > len)
            chunk = len;
        if (translate(v, gva, to_guest, &mfn) != 0) {
            rc = -XEN_EFAULT;
            break;
        }
        const uint8_t *g = (const uint8_t *)mfn_to_virt(m, mfn) + off;
        if (to_guest) {
            if (atomic_load_explicit(&mfn_to_page(m, mfn)->count_info,
                                     memory_order_relaxed) & PGC_xen_heap)
                HV_AUDIT_MARK(m, HV_MARK_STORE);    /* core/audit.h A3 */
            if (v->d->kind != DOMAIN_PV)
                HV_AUDIT_MARK(m, HV_MARK_ISO);      /* core/audit.h A11 */
            if (m->audit_memo.touch &&              /* core/audit.h A4 */
                pgt_level(atomic_load_explicit(
                    &mfn_to_page(m, mfn)->type_info, memory_order_relaxed))) {
                HV_AUDIT_TOUCH(m, mfn);
                HV_AUDIT_MARK(m, HV_MARK_ISO);
            }
            memcpy(ram_w(g, chunk), p, chunk);
            paging_mark_dirty_from(v->d, mfn, LD_SRC_COPY);   /* rule 5 */
        } else {
            memcpy(p, g, chunk);
        }
        gva += chunk;
        p += chunk;
        len -= chunk;
    }
    v->in_hypervisor_access = was;
    return rc;
}

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gva, size_t len)
{
    return guest_copy(v, gva, dst, len, false);
}

int copy_to_guest(struct vcpu *v, uint64_t gva, const void *src, size_t len)
{
    return guest_copy(v, gva, (void *)src, len, true);
}
