/*
 * core/mm/mmu_update.c - HYPERVISOR_mmu_update(reqs, count, done, foreigndom).
 *
 * Xen's semantics (XEN-NOTES 2.4, do_mmu_update), in our own words:
 *   1. Each request is a struct mmu_update {ptr, val} read from guest memory;
 *      ptr[2:0] is the command.  A request that cannot be read stops the
 *      batch with -XEN_EFAULT; `done` (if the guest gave a pointer) always
 *      reports how many requests completed, accumulated over continuations.
 *      hvlab reads the list ahead, MMU_REQ_CHUNK requests per copy (one
 *      walk of the guest's tables instead of one per request); when such a
 *      copy faults it falls back to reading that one request, so the error
 *      lands on exactly the first request that cannot be read.  A request
 *      that remaps the guest's own request list takes effect from the next
 *      chunk (Xen, reading through a TLB flushed only later, gives no
 *      stronger promise).
 *   2. foreigndom[15:0] names the owner of the data frames (FD, DOMID_SELF by
 *      default), foreigndom[31:16] the owner of the page-table frames plus one
 *      (PFD, 0 = the caller).  Unknown domains are -XEN_ESRCH; acting on
 *      another domain needs a privileged caller (-XEN_EPERM, the default XSM
 *      answer, given when the first request is looked at).
 *   3. MMU_NORMAL_PT_UPDATE / PRESERVE_AD / NO_TRANSLATE: ptr is the machine
 *      address of an 8-byte entry in a frame of the page-table owner.  Under
 *      the frame's page lock: an L1 goes through mod_pt_entry; L2..L4 too,
 *      but only when FD == PFD; a writable frame is written raw; any other
 *      type is -XEN_EINVAL.
 *   4. Xen's quirk, kept on purpose: when the page lock cannot be taken (the
 *      frame is not a validated, in-use table - e.g. a devalidated L1) Xen
 *      takes a writable type reference and writes raw.  That silently retypes
 *      a devalidated page table to writable (story D); traced as
 *      PTW_MMU_UPDATE_RAW.
 *   5. MMU_MACHPHYS_UPDATE: only for the caller's own page tables; FD
 *      must not be translated (an HVM domain's M2P entries follow its p2m,
 *      which only the p2m code changes: -XEN_EINVAL, as Xen refuses it);
 *      the frame must belong to FD; sets M2P[mfn] = val.
 *   6. Any other command is -XEN_ENOSYS.
 *   7. Preemption: between requests, when hypercall_preempt_check() says so,
 *      the call continues later with count = left | MMU_UPDATE_PREEMPTED and
 *      the request pointer advanced; a base-pointer put parked in
 *      old_guest_table is finished first.
 *   8. After any successful L2..L4 update every vCPU of the page-table owner
 *      flushes its TLB (stale linear mappings).
 *   9. Like Xen, every request takes and drops a general ref on its table
 *      frame and its page lock.  Consecutive requests on one table keep
 *      the general ref instead of dropping and retaking it, as long as
 *      somebody else holds one too and the owner is unchanged: then the
 *      put and the get would neither free the frame nor fail, so keeping it
 *      is the same as doing both at that instant.  When ours would be the
 *      last ref it is dropped (freeing the frame, as Xen would) and the
 *      next get fails as Xen's does.  The ref is dropped when the batch
 *      stops for any reason.
 */
#include <stdint.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/guest_access.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mm/ptwr.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"

_Static_assert(sizeof(struct mmu_update) == 16, "mmu_update is ptr + val");

/* Requests read per copy from the guest (rule 1): 2 KiB of stack. */
#define MMU_REQ_CHUNK       128

struct domain *pv_get_pg_owner(struct vcpu *v, domid_t domid, long *rc)
{
    struct domain *curr = v->d;
    struct domain *d;

    if (domid == DOMID_SELF)
        return curr;
    /* Naming oneself explicitly is refused, as Xen does. */
    if (domid == curr->domid) {
        *rc = -XEN_ESRCH;
        return NULL;
    }
    /* hvlab models no dom_io / dom_xen: MMIO and Xen-page mappings are out
       of scope, so DOMID_IO / DOMID_XEN name no domain here. */
    d = machine_domain(curr->m, domid);
    if (d == NULL) {
        *rc = -XEN_ESRCH;
        return NULL;
    }
    return d;
}

/* XSM's default for acting on another domain's memory. */
static bool may_act_on(const struct domain *curr, const struct domain *other)
{
    return other == curr || curr->is_privileged;
}

/* Raw 8-byte write into a non-page-table frame (rules 3 and 4). */
static void raw_write(struct machine *m, domid_t dom, mfn_t mfn, unsigned slot,
                      uint64_t val)
{
    pte_t old = pt_read_entry(m, mfn, slot);
    pt_write_entry(m, dom, mfn, 0, slot, old, val, PTW_MMU_UPDATE_RAW);
}

/*
 * The general ref on the table of the current request (rule 9): returns
 * false (-XEN_EINVAL for the request) when it cannot be had.  *held is the
 * frame whose ref we keep between requests (INVALID_MFN: none).
 */
static bool table_ref(struct machine *m, struct domain *pt_owner, mfn_t mfn,
                      mfn_t *held)
{
    if (*held == mfn) {
        struct page_info *pg = mfn_to_page(m, mfn);
        uint64_t c = atomic_load_explicit(&pg->count_info,
                                          memory_order_acquire);
        if ((c & PGC_count_mask) >= 2 && pg->owner == pt_owner->domid)
            return true;                /* put + get would change nothing */
    }
    if (*held != INVALID_MFN) {
        put_page(m, *held);
        *held = INVALID_MFN;
    }
    if (!mfn_valid(m, mfn) || !get_page(m, mfn, pt_owner))
        return false;
    *held = mfn;
    return true;
}

/* One MMU_NORMAL_PT_UPDATE-family request; 0 or -XEN_E* / -HV_ERESTART. */
static long normal_update(struct vcpu *pt_v, struct domain *pt_owner,
                          struct domain *pg_owner, uint64_t ptr, uint64_t val,
                          bool preserve_ad, bool *flush_linear, mfn_t *held)
{
    struct machine *m = pt_owner->m;
    mfn_t mfn = ptr >> PAGE_SHIFT;
    unsigned slot = (unsigned)((ptr & PAGE_OFFSET_MASK) / sizeof(pte_t));
    long rc = -XEN_EINVAL;

    if (!table_ref(m, pt_owner, mfn, held))
        return -XEN_EINVAL;

    if (page_lock(m, mfn)) {
        uint64_t type = atomic_load_explicit(&mfn_to_page(m, mfn)->type_info,
                                             memory_order_relaxed) &
                        PGT_type_mask;
        unsigned level = pgt_level(type);

        if (level == 1) {
            /* FD translated (HVM): val names a gfn (core/mm/p2m.h). */
            mfn_t xref = INVALID_MFN;
            pfn_t gfn = INVALID_PFN;
            rc = 0;
            if (pg_owner->p2m && pg_owner != pt_owner && pte_present(val)) {
                gfn = pte_mfn(val);
                rc = p2m_translate_foreign_l1e(pg_owner, &val, &xref);
            }
            if (rc == 0)
                rc = mod_pt_entry(pt_v, mfn, 1, slot, val, preserve_ad,
                                  pg_owner, PTW_MMU_UPDATE);
            if (rc == 0 && gfn != INVALID_PFN && p2m_foreign_map_observer)
                p2m_foreign_map_observer(pg_owner, gfn, val);
            if (xref != INVALID_MFN)
                put_page(m, xref);
        } else if (level >= 2) {
            if (pg_owner == pt_owner) {
                rc = mod_pt_entry(pt_v, mfn, level, slot, val, preserve_ad,
                                  pg_owner, PTW_MMU_UPDATE);
                if (rc == 0)
                    *flush_linear = true;
            }
        } else if (type == PGT_writable_page) {
            raw_write(m, pt_owner->domid, mfn, slot, val);
            rc = 0;
        }
        page_unlock(m, mfn);
        if (rc == -HV_EINTR)
            rc = -HV_ERESTART;
    } else if (get_page_type(m, mfn, PGT_writable_page) == 0) {
        /* Rule 4: not a lockable table - retype to writable, write raw. */
        raw_write(m, pt_owner->domid, mfn, slot, val);
        put_page_type(m, mfn);
        rc = 0;
    }
    return rc;
}

void (*p2m_foreign_map_observer)(struct domain *pg_owner, pfn_t gfn,
                                 uint64_t l1e);

/* MMU_MACHPHYS_UPDATE (rule 5). */
static long machphys_update(struct domain *pg_owner, uint64_t ptr, uint64_t val)
{
    struct machine *m = pg_owner->m;
    mfn_t mfn = ptr >> PAGE_SHIFT;

    if (!mfn_valid(m, mfn) || !get_page(m, mfn, pg_owner))
        return -XEN_EINVAL;
    set_gpfn_from_mfn(m, mfn, val);
    paging_mark_frame(m, mfn, LD_SRC_COPY);     /* log-dirty: its new pfn */
    put_page(m, mfn);
    return 0;
}

long do_mmu_update(struct vcpu *v, uint64_t ureqs, unsigned count,
                   uint64_t pdone, unsigned foreigndom)
{
    struct domain *d = v->d, *pt_owner = d, *pg_owner;
    struct vcpu *pt_v = v;
    unsigned i = 0, done = 0;
    bool flush_linear = false, checked_normal = false, checked_m2p = false;
    long rc = put_old_guest_table(v);

    if (rc) {
        if (rc == -HV_ERESTART)
            rc = hypercall_create_continuation(v, __HYPERVISOR_mmu_update,
                                               ureqs, count, pdone,
                                               foreigndom, 0);
        return rc;
    }

    /* The final leg of a batch that parked a type put: carries the rc. */
    if (count == MMU_UPDATE_PREEMPTED && ureqs == 0)
        return (int)foreigndom;

    if (count & MMU_UPDATE_PREEMPTED) {
        count &= ~MMU_UPDATE_PREEMPTED;
        if (pdone != 0)
            (void)copy_from_guest(v, &done, pdone, sizeof(done));
    }

    if (!pv_range_ok(ureqs, (uint64_t)count * sizeof(struct mmu_update)))
        return -XEN_EFAULT;

    unsigned pt_dom = foreigndom >> 16;
    if (pt_dom != 0) {
        pt_owner = machine_domain(d->m, (domid_t)(pt_dom - 1));
        if (pt_owner == NULL)
            return -XEN_ESRCH;
        if (pt_owner != d) {
            pt_v = pt_owner->nr_vcpus ? pt_owner->vcpu[0] : NULL;
            if (pt_v == NULL) {
                rc = -XEN_EINVAL;
                goto out;
            }
        }
    }

    pg_owner = pv_get_pg_owner(v, (domid_t)(foreigndom & 0xFFFF), &rc);
    if (pg_owner == NULL)
        goto out;
    rc = 0;

    struct mmu_update buf[MMU_REQ_CHUNK];
    unsigned have = 0, next = 0;        /* buf holds requests [i-next, i-next+have) */
    mfn_t held = INVALID_MFN;           /* table whose ref we keep (rule 9) */

    for (i = 0; i < count; i++) {
        if (v->old_guest_table != INVALID_MFN ||
            (i && hypercall_preempt_check(v))) {
            rc = -HV_ERESTART;
            break;
        }
        if (next == have) {             /* rule 1: read ahead */
            unsigned n = count - i < MMU_REQ_CHUNK ? count - i
                                                   : MMU_REQ_CHUNK;
            uint64_t at = ureqs + (uint64_t)i * sizeof(buf[0]);
            if (copy_from_guest(v, buf, at, n * sizeof(buf[0]))) {
                /* A fault in the chunk: read what lies in this request's
                   page, then this request alone, so that the error is
                   reported on exactly the first unreadable one. */
                unsigned in_page = (unsigned)((PAGE_SIZE -
                                               (at & PAGE_OFFSET_MASK)) /
                                              sizeof(buf[0]));
                n = in_page > 1 && in_page < n ? in_page : 1;
                int bad = copy_from_guest(v, buf, at, n * sizeof(buf[0]));
                if (bad && n > 1) {
                    n = 1;
                    bad = copy_from_guest(v, buf, at, sizeof(buf[0]));
                }
                if (bad) {
                    rc = -XEN_EFAULT;
                    break;
                }
            }
            have = n;
            next = 0;
        }
        const struct mmu_update req = buf[next++];

        unsigned cmd = (unsigned)(req.ptr & (sizeof(pte_t) - 1));
        switch (cmd) {
        case MMU_NORMAL_PT_UPDATE:
        case MMU_PT_UPDATE_PRESERVE_AD:
        case MMU_PT_UPDATE_NO_TRANSLATE:
            if (!checked_normal) {
                if (!may_act_on(d, pt_owner) || !may_act_on(d, pg_owner)) {
                    rc = -XEN_EPERM;
                    break;
                }
                checked_normal = true;
            }
            rc = normal_update(pt_v, pt_owner, pg_owner, req.ptr - cmd,
                               req.val, cmd == MMU_PT_UPDATE_PRESERVE_AD,
                               &flush_linear, &held);
            break;

        case MMU_MACHPHYS_UPDATE:
            if (d != pt_owner) {
                rc = -XEN_EPERM;
                break;
            }
            if (!is_pv_domain(pg_owner)) {      /* rule 5: translated FD */
                rc = -XEN_EINVAL;
                break;
            }
            if (!checked_m2p) {
                if (!may_act_on(d, pg_owner)) {
                    rc = -XEN_EPERM;
                    break;
                }
                checked_m2p = true;
            }
            rc = machphys_update(pg_owner, req.ptr, req.val);
            break;

        default:
            rc = -XEN_ENOSYS;
            break;
        }

        if (rc)
            break;
    }
    if (held != INVALID_MFN)
        put_page(pt_owner->m, held);

    if (rc == -HV_ERESTART) {
        rc = hypercall_create_continuation(
            v, __HYPERVISOR_mmu_update,
            ureqs + (uint64_t)i * sizeof(struct mmu_update),
            (count - i) | MMU_UPDATE_PREEMPTED, pdone, foreigndom, 0);
    } else if (v->old_guest_table != INVALID_MFN) {
        /* Finish the parked put first; the last leg returns this rc. */
        rc = hypercall_create_continuation(v, __HYPERVISOR_mmu_update, 0,
                                           MMU_UPDATE_PREEMPTED, 0,
                                           (uint32_t)rc, 0);
    }

    if (flush_linear)
        pt_flush_vcpus(pt_owner, v, pv_all_vcpus(pt_owner), MMU_FLUSH_ALL_VA,
                       TLBF_ALL, TLBR_PT_UPDATE);

out:
    if (pdone != 0) {
        done += i;
        (void)copy_to_guest(v, pdone, &done, sizeof(done));
    }
    return rc;
}
