/*
 * core/mm/hap.c - the nested-fault exit of hap domains.
 *
 * The MMU stopped a guest-physical access because the p2m leaf lacks the
 * right (core/mmu.c rules 19-21).  What happens is decided by the p2m type,
 * looked up again with get_gfn (the leaf the MMU saw may be stale), as
 * Xen's nested-page-fault handler does:
 *   1. The p2m allows the access now (another vCPU fixed it): retry.
 *   2. ram_logdirty, a write: the log-dirty call point (hap_mark_dirty),
 *      then the gfn goes back to ram_rw (p2m_change_type_one, which
 *      flushes the stale translations): retry.
 *   3. ram_ro and grant_map_ro, a write: emulated and discarded (the access
 *      completes without effect: v->pending.emulated; a cmpxchg observes the
 *      frame's current value).  A write of the walk itself (A/D in a guest
 *      page table that lies in read-only memory) cannot be discarded: the
 *      domain cannot go on.
 *   4. Paging types (paging_out, paged, paging_in): the lookup with
 *      P2M_ALLOC asks the pager to bring the page back; the vCPU waits
 *      (hv_relax) until the type is no longer a paging one, then retries.
 *      A dying domain stops waiting (PF_KILL).
 *   5. ram_shared, a write: unshare (get_gfn_unshare); retry, or PF_KILL
 *      when no frame is left to break the sharing with.
 *   6. populate_on_demand: the lookup with P2M_ALLOC populates; retry.
 *   7. mmio_dm: the device-model stand-in: writes are discarded, reads
 *      (and fetches) return all ones, both emulated.
 *   8. Anything else (invalid, broken, a hole, a RAM type refused by its
 *      p2m access): the domain cannot go on: PF_KILL with a message.
 * Every decision is traced (hvlab_hcall:fault, va = gla, pfec = the NPF_*
 * access, outcome HVF_NPF_*).
 */
#include <stdio.h>
#include <string.h>

#include "core/domain.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/hap.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mmu.h"
#include "core/npt.h"
#include "core/traps.h"
#include "core/vcpu.h"
#include "trace/trace.h"
#include "trace/usdt.h"

_Atomic uint64_t hap_dirty_marked;

void hap_mark_dirty(struct domain *d, pfn_t gfn)
{
    atomic_fetch_add_explicit(&hap_dirty_marked, 1, memory_order_relaxed);
    paging_mark_pfn_dirty(d, gfn, LD_SRC_FAULT);    /* core/mm/paging.c */
}

static const char *type_name(unsigned t)
{
    static const char *const names[] = {
        "ram_rw", "invalid", "ram_logdirty", "ram_ro", "mmio_dm",
        "mmio_direct", "populate_on_demand", "grant_map_rw", "grant_map_ro",
        "ram_paging_out", "ram_paged", "ram_paging_in", "ram_shared",
        "ram_broken", "map_foreign", "ioreq_server",
    };
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static enum pf_outcome killed(struct vcpu *v, uint64_t gpa, uint64_t gla,
                              uint32_t access, unsigned type, const char *why)
{
    fprintf(stderr, "hvlab: hap: d%u vCPU %u: nested fault at gpa %#llx "
            "(gla %#llx, %s%s) on a p2m_%s entry: %s; the domain cannot go "
            "on\n", v->d->domid, v->vcpu_id, (unsigned long long)gpa,
            (unsigned long long)gla,
            (access & NPF_WRITE) ? "write" : (access & NPF_EXEC) ? "fetch" : "read",
            (access & NPF_GUEST_WALK) ? " by the page walk" : "",
            type_name(type), why);
    return hv_fault_decided(v, gla, access, HVF_NPF_KILLED, PF_KILL);
}

/* Rule 3 and 7: the access completes without touching memory. */
static enum pf_outcome emulated(struct vcpu *v, uint64_t gla, uint32_t access,
                                uint64_t observed)
{
    v->pending.emulated = true;
    v->pending.observed = observed;
    return hv_fault_decided(v, gla, access, HVF_NPF_EMULATED, PF_RETRY);
}

static uint64_t frame_value(struct domain *d, mfn_t mfn, uint64_t gpa,
                            unsigned bytes)
{
    uint64_t val = 0;
    if (!mfn_valid(d->m, mfn) || bytes == 0 || bytes > 8)
        return 0;
    memcpy(&val, (const uint8_t *)mfn_to_virt(d->m, mfn) +
                 (gpa & PAGE_OFFSET_MASK),
           bytes);
    return val;
}

static npte_t npt_need(uint32_t access)
{
    return ((access & NPF_WRITE) ? NPT_W : 0) |
           ((access & NPF_EXEC) ? NPT_X : 0) |
           ((access & (NPF_WRITE | NPF_EXEC)) ? 0 : NPT_R);
}

enum pf_outcome hap_nested_fault(struct vcpu *v, uint64_t gpa, uint64_t gla,
                                 uint32_t access, uint64_t npte)
{
    struct domain *d = v->d;
    pfn_t gfn = gpa >> PAGE_SHIFT;
    bool write = access & NPF_WRITE;
    bool walk = access & NPF_GUEST_WALK;
    (void)npte;     /* what the hardware saw; rule 1 re-reads the entry now */
    HV_USDT(fault_entry, d->m->host_id, d->domid, v->vcpu_id, gla, access, 1,
            gpa);

    /* Rule 1. */
    npte_t now = mmu_npt_lookup(d->m, d->npt_root, gfn);
    if ((now & npt_need(access)) == npt_need(access) &&
        mfn_valid(d->m, npte_mfn(now)))
        return hv_fault_decided(v, gla, access, HVF_NPF_FIXED, PF_RETRY);

    p2m_type_t t;
    p2m_access_t a;
    mfn_t mfn = get_gfn_type_access(d, gfn, &t, &a, 0);
    enum pf_outcome o;

    switch (t) {
    case p2m_ram_logdirty:                              /* rule 2 */
        if (!write)
            break;
        hap_mark_dirty(d, gfn);
        p2m_change_type_one(d, gfn, p2m_ram_logdirty, p2m_ram_rw);
        put_gfn(d, gfn);
        return hv_fault_decided(v, gla, access, HVF_NPF_FIXED, PF_RETRY);

    case p2m_ram_ro:                                    /* rule 3 */
    case p2m_grant_map_ro:
        if (!write)
            break;
        if (walk) {
            put_gfn(d, gfn);
            return killed(v, gpa, gla, access, t,
                          "a guest page table in read-only memory");
        }
        o = emulated(v, gla, access,
                     v->pending.is_cmpxchg
                         ? frame_value(d, mfn, gpa, v->pending.bytes) : 0);
        put_gfn(d, gfn);
        return o;

    case p2m_ram_paging_out:                            /* rule 4 */
    case p2m_ram_paged:
    case p2m_ram_paging_in:
        put_gfn(d, gfn);
        for (;;) {
            (void)get_gfn_type_access(d, gfn, &t, NULL, P2M_ALLOC);
            put_gfn(d, gfn);
            if (!p2m_is_paging(t))
                return hv_fault_decided(v, gla, access, HVF_NPF_FIXED,
                                        PF_RETRY);
            if (atomic_load(&d->is_dying))
                return killed(v, gpa, gla, access, t,
                              "the domain died while the page was paged out");
            hv_relax();
        }

    case p2m_ram_shared:                                /* rule 5 */
        if (!write)
            break;
        put_gfn(d, gfn);
        (void)get_gfn_unshare(d, gfn, &t);
        put_gfn(d, gfn);
        if (p2m_is_shared(t))
            return killed(v, gpa, gla, access, t,
                          "unsharing failed (no frame to copy into)");
        return hv_fault_decided(v, gla, access, HVF_NPF_FIXED, PF_RETRY);

    case p2m_populate_on_demand:                        /* rule 6 */
        put_gfn(d, gfn);
        (void)get_gfn_type_access(d, gfn, &t, NULL, P2M_ALLOC);
        put_gfn(d, gfn);
        if (t == p2m_populate_on_demand || !p2m_is_ram(t))
            return killed(v, gpa, gla, access, t,
                          "populate on demand found no frame");
        return hv_fault_decided(v, gla, access, HVF_NPF_FIXED, PF_RETRY);

    case p2m_mmio_dm:                                   /* rule 7 */
        if (walk)
            break;
        put_gfn(d, gfn);
        return emulated(v, gla, access, write ? 0 : ~0ULL);

    default:
        break;
    }

    /* Rule 8. */
    put_gfn(d, gfn);
    return killed(v, gpa, gla, access, t,
                  p2m_is_ram(t) ? "the p2m access refuses it"
                                : "no memory the guest may use there");
}
