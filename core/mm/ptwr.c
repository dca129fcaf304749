/*
 * core/mm/ptwr.c - writable pagetables (VMASST_TYPE_writable_pagetables).
 *
 * A PV guest kernel may store straight into its own L1 page tables through
 * their read-only mappings.  The store faults; this file decides what the
 * hypervisor does with it.  Two variants, chosen by hv_options.ptwr_mode:
 *
 * EMULATE - today's Xen (pv/ro-page-fault.c; XEN-NOTES 3.1):
 *   E1. Only a supervisor write fault on a present, read-only PTE whose
 *       target is an L1 page table of the faulting domain qualifies.
 *   E2. The store (v->pending, what a decoder would give Xen's emulator) must
 *       be naturally aligned and inside the faulting page; a store narrower
 *       than a PTE is widened with the rest of the current entry.
 *   E3. Under the L1's page lock: get_page_from_l1e(new), write (or
 *       cmpxchg) through pt_write_entry / pt_cmpxchg_entry, path
 *       PTW_PTWR_EMULATE, then put_page_from_l1e(old).  A cmpxchg that finds
 *       another value undoes the new reference and reports what it found.
 *   E4. The access is marked emulated and the fault fixed: the MMU does not
 *       re-execute the store.  An invalid new PTE leaves everything as it was
 *       and the fault goes to the guest, as Xen propagates it.
 *
 * UNHOOK - Xen 3.0 up to 228f081e08 (Aug 2006; mm.c at 228f081e08^;
 * XEN-NOTES 3.2), the behaviour behind story C:
 *   U1. State per domain: an ACTIVE slot (the L1 is hooked into the current
 *       address space) and an INACTIVE one (it is not), each with the L1,
 *       where its read-only mapping lives, the L2 entry unhooked (ACTIVE),
 *       a snapshot of the L1 and the vCPU.  All of it under the domain's big
 *       lock, which the PV memory hypercalls also hold for their whole run
 *       (Xen 3.0 took it in do_mmu_update, do_mmuext_op and
 *       do_update_va_mapping).
 *   U2. Any fault inside the 2 MiB range of the open ACTIVE batch closes the
 *       batch and is fixed (3.0's fixup_page_fault).
 *   U3. A kernel write fault on a read-only mapping of an L1 of this domain:
 *       find where the L1 is hooked in the current address space; hooked at
 *       several places, or mapping the faulting address itself -> emulate.
 *       SMP guest: it must be hooked at most once (type count == pinned +
 *       ACTIVE) and mapped read-only exactly once (general count ==
 *       allocated + type count + 1), else close every batch and emulate.
 *   U4. A batch of the same kind still open is flushed first; if the
 *       previous batch of that kind changed nothing, emulate this write
 *       (3.0's anti-livelock rule; so the very first write is emulated).
 *   U5. ACTIVE: clear PRESENT in the L2 entry (PTW_PTWR_UNHOOK) and flush
 *       every vCPU of the domain.  Snapshot the L1, set RW in the PTE that
 *       maps it (PTW_PTWR_PROTECT) and return "fixed" without emulating:
 *       the guest's store re-executes natively, and so do the following ones.
 *   U6. ptwr_flush (next fault in the range, every hypercall entry, a CR3
 *       load, the spurious-fault check, teardown): clear RW again and INVLPG
 *       the mapping everywhere; revalidate the L1 against the snapshot entry
 *       by entry (an entry merely write-protected drops its writable type
 *       ref; otherwise get the new, put the old), each change traced as
 *       PTW_PTWR_FLUSH old -> new; re-set PRESENT in the L2 (PTW_PTWR_REHOOK).
 *       A snapshot entry holding _PAGE_GNTTAB is restored whatever the
 *       guest stored over it (RW cleared, cleared, replaced), traced as
 *       hvlab_grant:pte_refused with path PTW_PTWR_FLUSH: its references
 *       belong to the grant mapping, as on the emulate path (U3).
 *       A new entry that does not validate: the rest of the L1 is restored
 *       from the snapshot (Xen 3.0 then crashed the domain; hvlab has no
 *       domain crash yet and counts it in nr_revalidate_failures).
 *   U7. Consequence kept on purpose: another vCPU touching the unhooked
 *       range takes a not-present fault; if it gets the lock only after the
 *       batch was flushed, nothing here recognises it and, since guest-mode
 *       faults were never checked for spuriousness in Xen 3.0, it reaches the
 *       guest although its PTE is present (story C).
 *
 * Spurious faults (mm_fault_is_spurious): re-walk the faulting address on
 * the vCPU's current root after closing any batch; reserved-bit faults are
 * never spurious.  Which faults are checked is core/traps.c's policy:
 * faults taken inside the hypervisor always (1a8bbf93b8, Mar 2006, which
 * also closed batches first; 12794ba7df, Jun 2006, stale RO->RW entries),
 * guest faults only in emulate mode (the hardware re-walk of today's
 * machines), never in unhook mode (Xen 3.0).
 */
#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <xen/xen.h>

#include "core/domain.h"
#include "core/grant/grant_table.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/ptwr.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "inject/inject.h"

#define PTWR_ACTIVE     0
#define PTWR_INACTIVE   1
#define L2_REGION_SHIFT 21      /* one L2 entry covers 2 MiB */

/* One batch (U1).  Valid while l1va != 0. */
struct ptwr_batch {
    uint64_t l1va;              /* faulting address | 1 while open, else 0 */
    mfn_t l1mfn;                /* the L1 made writable */
    mfn_t pte_table;            /* L1 holding the PTE that maps l1mfn ... */
    unsigned pte_slot;          /* ... and its slot */
    mfn_t l2mfn;                /* ACTIVE: L2 whose entry was unhooked ... */
    unsigned l2slot;            /* ... and the slot */
    uint64_t region;            /* ACTIVE: (va >> 21) of the unhooked range */
    struct vcpu *vcpu;          /* who opened it */
    unsigned prev_nr_updates;   /* entries changed by the last batch (U4) */
    pte_t snapshot[PT_ENTRIES];
};

struct ptwr_domain {
    /* The big lock, recursive for the vCPU holding it (3.0's biglock was a
       recursive spinlock: a fault inside a hypercall re-enters). */
    struct vcpu *_Atomic holder;
    unsigned depth;
    struct ptwr_batch b[2];     /* [PTWR_ACTIVE], [PTWR_INACTIVE] */
    uint64_t nr_batches, nr_flushes, nr_emulated, nr_revalidate_failures;
};

/* ---- state and lock ------------------------------------------------------- */

static struct ptwr_domain *ptwr_state(struct domain *d)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    if (pd)
        return pd;
    struct ptwr_domain *fresh = calloc(1, sizeof(*fresh));
    if (!fresh)
        return NULL;
    fresh->b[PTWR_ACTIVE].prev_nr_updates = 0;
    fresh->b[PTWR_INACTIVE].prev_nr_updates = 0;
    if (__atomic_compare_exchange_n(&d->ptwr, &pd, fresh, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    free(fresh);
    return pd;
}

static void big_lock(struct ptwr_domain *pd, struct domain *d, struct vcpu *v)
{
    if (v != NULL && atomic_load(&pd->holder) == v) {
        pd->depth++;
        return;
    }
    hv_lock(&d->big_lock);
    atomic_store(&pd->holder, v);
    pd->depth = 1;
}

static void big_unlock(struct ptwr_domain *pd, struct domain *d)
{
    assert(pd->depth > 0);
    if (--pd->depth == 0) {
        atomic_store(&pd->holder, NULL);
        hv_unlock(&d->big_lock);
    }
}

static bool unhook_mode(const struct domain *d)
{
    return d->m->opt.ptwr_mode == PTWR_UNHOOK && is_pv_domain(d);
}

static uint64_t region_of(uint64_t va)
{
    return (va & ((1ULL << 48) - 1)) >> L2_REGION_SHIFT;
}

/* The root v's MMU walks now (kernel root before the first CR3 load). */
static mfn_t current_root(const struct vcpu *v)
{
    if (v->cr3 != INVALID_MFN)
        return v->cr3;
    return v->in_kernel || v->guest_table_user == INVALID_MFN
           ? v->guest_table : v->guest_table_user;
}

bool ptwr_frame_in_batch(struct domain *d, mfn_t mfn)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    if (!pd)
        return false;
    for (unsigned w = 0; w < 2; w++)
        if (pd->b[w].l1va && pd->b[w].l1mfn == mfn)
            return true;
    return false;
}

bool ptwr_l2_entry_unhooked(struct domain *d, mfn_t l2mfn, unsigned slot)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    const struct ptwr_batch *b = pd ? &pd->b[PTWR_ACTIVE] : NULL;
    return b && b->l1va && b->l2mfn == l2mfn && b->l2slot == slot;
}

const uint64_t *ptwr_batch_snapshot(struct domain *d, mfn_t l1mfn)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    if (!pd)
        return NULL;
    for (unsigned w = 0; w < 2; w++)
        if (pd->b[w].l1va && pd->b[w].l1mfn == l1mfn)
            return pd->b[w].snapshot;
    return NULL;
}

/* ---- emulation (E1-E4; also the unhook mode's fallback) ------------------- */

enum mm_fault ptwr_emulate(struct vcpu *v, uint64_t va, mfn_t l1mfn)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct pending_access *pa = &v->pending;
    unsigned bytes = pa->bytes;
    uint64_t addr = pa->va;

    /* E2: a store we can replay, naturally aligned, in the faulting page. */
    if (!pa->valid || !pa->is_write || pa->emulated)
        return MMF_NOT_MINE;
    if ((bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) ||
        ((addr ^ va) & ~PAGE_OFFSET_MASK) || (addr & (bytes - 1)))
        return MMF_NOT_MINE;

    if (!mfn_valid(m, l1mfn) || !get_page(m, l1mfn, d))
        return MMF_NOT_MINE;
    if (!page_lock(m, l1mfn)) {
        put_page(m, l1mfn);
        return MMF_NOT_MINE;
    }
    if ((atomic_load(&mfn_to_page(m, l1mfn)->type_info) & PGT_type_mask) !=
        PGT_l1_page_table) {
        page_unlock(m, l1mfn);
        put_page(m, l1mfn);
        return MMF_NOT_MINE;
    }

    unsigned slot = (unsigned)((addr & PAGE_OFFSET_MASK) / sizeof(pte_t));
    unsigned shift = (unsigned)(addr & (sizeof(pte_t) - 1)) * 8;
    uint64_t low = bytes == 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
    pte_t nl1e = pa->value, old = pa->expected;

    if (bytes != 8) {
        /* Widen to the full entry with the bits the guest did not write. */
        pte_t full = pt_read_entry(m, l1mfn, slot);
        nl1e = (full & ~(low << shift)) | ((nl1e & low) << shift);
        old = (full & ~(low << shift)) | ((old & low) << shift);
    }

    pte_t cur = pt_read_entry(m, l1mfn, slot);
    if (pte_present(cur) && (cur & _PAGE_GNTTAB)) {
        /* pv_pt.c P9: a grant PTE is only removed by grant unmap; refused,
           nothing changed, the guest gets the fault. */
        gnttab_pte_refused(d, l1mfn, slot, cur, nl1e, PTW_PTWR_EMULATE);
        page_unlock(m, l1mfn);
        put_page(m, l1mfn);
        return MMF_NOT_MINE;
    }
    if (pte_present(nl1e) && get_page_from_l1e(m, nl1e, d, d) != 0) {
        /* E4: invalid new PTE - nothing changed, the guest gets the fault. */
        page_unlock(m, l1mfn);
        put_page(m, l1mfn);
        return MMF_NOT_MINE;
    }

    INJ_POINT(ptwr_emulate_before_write, v);    /* inject: a window */

    if (pa->is_cmpxchg) {
        pte_t found = pt_cmpxchg_entry(m, d->domid, l1mfn, 1, slot, old, nl1e,
                                       PTW_PTWR_EMULATE);
        if (found != old) {
            if (pte_present(nl1e))
                put_page_from_l1e(m, nl1e, d);
            pa->observed = (found >> shift) & low;
        } else {
            pa->observed = pa->expected & low;
            if (pte_present(old))
                put_page_from_l1e(m, old, d);
        }
    } else {
        pte_t ol1e = pt_read_entry(m, l1mfn, slot);
        pt_write_entry(m, d->domid, l1mfn, 1, slot, ol1e, nl1e,
                       PTW_PTWR_EMULATE);
        if (pte_present(ol1e))
            put_page_from_l1e(m, ol1e, d);
    }
    pa->emulated = true;

    page_unlock(m, l1mfn);
    put_page(m, l1mfn);
    return MMF_FIXED;
}

/* E1: the PTE mapping va in v's kernel view, if it is present and RO. */
static bool find_ro_l1_mapping(struct vcpu *v, uint64_t va, pte_t *pte,
                               mfn_t *table, unsigned *slot)
{
    struct machine *m = v->d->m;
    mfn_t t = current_root(v);

    if (!pv_addr_ok(va) || !mfn_valid(m, t))
        return false;
    for (unsigned level = 4; level >= 2; level--) {
        pte_t e = pt_read_entry(m, t, pt_index(va, level));
        if ((e & (_PAGE_PRESENT | _PAGE_PSE)) != _PAGE_PRESENT)
            return false;
        t = pte_mfn(e);
        if (!mfn_valid(m, t))
            return false;
    }
    *table = t;
    *slot = pt_index(va, 1);
    *pte = pt_read_entry(m, t, *slot);
    return true;
}

/* The target frame is an in-use L1 of d (E1 / U3). */
static bool is_l1_of(struct machine *m, struct domain *d, mfn_t mfn)
{
    if (!mfn_valid(m, mfn) || page_get_owner(m, mfn) != d)
        return false;
    uint64_t t = atomic_load(&mfn_to_page(m, mfn)->type_info);
    return (t & PGT_type_mask) == PGT_l1_page_table && (t & PGT_count_mask);
}

static enum mm_fault emulate_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct domain *d = v->d;
    pte_t pte;
    mfn_t table;
    unsigned slot;

    if (!(pfec & PFEC_PRESENT))
        return MMF_NOT_MINE;
    if (!find_ro_l1_mapping(v, va, &pte, &table, &slot))
        return MMF_NOT_MINE;
    if ((pte & (_PAGE_PRESENT | _PAGE_RW)) != _PAGE_PRESENT)
        return MMF_NOT_MINE;
    if (!is_l1_of(d->m, d, pte_mfn(pte)))
        return MMF_NOT_MINE;
    return ptwr_emulate(v, va, pte_mfn(pte));
}

/* ---- unhook mode: flush (U6) ---------------------------------------------- */

/* Close batch `which`.  Big lock held. */
static void ptwr_flush(struct vcpu *v, struct domain *d,
                       struct ptwr_domain *pd, unsigned which)
{
    struct machine *m = d->m;
    struct ptwr_batch *b = &pd->b[which];
    unsigned modified = 0;

    assert(b->l1va != 0);

    /* 1. Write-protect the L1 again; no writable TLB entry may survive. */
    pte_t pte = pt_read_entry(m, b->pte_table, b->pte_slot);
    pt_write_entry(m, d->domid, b->pte_table, 1, b->pte_slot, pte,
                   pte & ~_PAGE_RW, PTW_PTWR_PROTECT);
    pt_flush_vcpus(d, v, pv_all_vcpus(d), b->l1va & ~PAGE_OFFSET_MASK,
                   TLBF_ALL, TLBR_PTWR);
    INJ_POINT(ptwr_flush_before_revalidate, v); /* inject: a window */

    /* 2. Revalidate what the guest wrote natively. */
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t ol1e = b->snapshot[i];
        pte_t nl1e = pt_read_entry(m, b->l1mfn, i);

        if (ol1e == nl1e)
            continue;
        modified++;

        if (pte_present(ol1e) && (ol1e & _PAGE_GNTTAB)) {
            /* U6: a grant PTE's refs are the grant mapping's; the guest
               may not change it natively either (the emulate path refuses
               it): the snapshot entry goes back, the attempt is traced. */
            gnttab_pte_refused(d, b->l1mfn, i, ol1e, nl1e, PTW_PTWR_FLUSH);
            pt_write_entry(m, d->domid, b->l1mfn, 1, i, nl1e, ol1e,
                           PTW_PTWR_FLUSH);
            continue;
        }

        if (ol1e == (nl1e | _PAGE_RW)) {
            /* Merely write-protected (fork): drop the writable type ref. */
            if (pte_present(nl1e))
                put_page_type(m, pte_mfn(nl1e));
            pt_write_entry(m, d->domid, b->l1mfn, 1, i, ol1e, nl1e,
                           PTW_PTWR_FLUSH);
            continue;
        }

        if (pte_present(nl1e) && get_page_from_l1e(m, nl1e, d, d) != 0) {
            /* Keep the counts right: the rest goes back to the snapshot. */
            for (unsigned j = i; j < PT_ENTRIES; j++) {
                pte_t cur = pt_read_entry(m, b->l1mfn, j);
                if (cur != b->snapshot[j])
                    pt_write_entry(m, d->domid, b->l1mfn, 1, j, cur,
                                   b->snapshot[j], PTW_PTWR_FLUSH);
            }
            pd->nr_revalidate_failures++;
            break;
        }
        pt_write_entry(m, d->domid, b->l1mfn, 1, i, ol1e, nl1e,
                       PTW_PTWR_FLUSH);
        if (pte_present(ol1e))
            put_page_from_l1e(m, ol1e, d);
    }

    /* 3. Hook the L1 back into the address space. */
    if (which == PTWR_ACTIVE) {
        INJ_POINT(ptwr_flush_before_rehook, v); /* inject: story C's window */
        pte_t l2e = pt_read_entry(m, b->l2mfn, b->l2slot);
        pt_write_entry(m, d->domid, b->l2mfn, 2, b->l2slot, l2e,
                       l2e | _PAGE_PRESENT, PTW_PTWR_REHOOK);
    }

    /* 4. Done. */
    b->l1va = 0;
    b->vcpu = NULL;
    b->prev_nr_updates = modified;
    pd->nr_flushes++;
}

static void flush_all_locked(struct vcpu *v, struct domain *d,
                             struct ptwr_domain *pd)
{
    if (pd->b[PTWR_ACTIVE].l1va)
        ptwr_flush(v, d, pd, PTWR_ACTIVE);
    if (pd->b[PTWR_INACTIVE].l1va)
        ptwr_flush(v, d, pd, PTWR_INACTIVE);
}

void ptwr_sync(struct vcpu *v)
{
    struct domain *d = v->d;
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);

    if (!pd || !unhook_mode(d))
        return;
    big_lock(pd, d, v);
    flush_all_locked(v, d, pd);
    big_unlock(pd, d);
}

void ptwr_hypercall_enter(struct vcpu *v)
{
    struct domain *d = v->d;
    if (!unhook_mode(d))
        return;
    struct ptwr_domain *pd = ptwr_state(d);
    if (!pd)
        return;
    big_lock(pd, d, v);
    flush_all_locked(v, d, pd);
}

void ptwr_hypercall_exit(struct vcpu *v)
{
    struct domain *d = v->d;
    if (!unhook_mode(d))
        return;
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    if (pd)
        big_unlock(pd, d);
}

void ptwr_domain_destroy(struct domain *d)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    if (!pd)
        return;
    hv_lock(&d->big_lock);
    flush_all_locked(NULL, d, pd);
    hv_unlock(&d->big_lock);
    __atomic_store_n(&d->ptwr, NULL, __ATOMIC_RELEASE);
    free(pd);
}

/* ---- unhook mode: open a batch (U3-U5) ------------------------------------ */

/*
 * Where is l1mfn hooked in the address space rooted at `root`?  Counts the
 * L2 entries that point at it (present, or the one the open ACTIVE batch
 * unhooked) and returns the first.
 */
static unsigned find_hooks(struct machine *m, struct ptwr_domain *pd,
                           mfn_t root, mfn_t l1mfn, mfn_t *l2mfn,
                           unsigned *l2slot, uint64_t *region)
{
    const struct ptwr_batch *act = &pd->b[PTWR_ACTIVE];
    unsigned found = 0;

    for (unsigned i4 = 0; i4 < PT_ENTRIES; i4++) {
        if (i4 >= XEN_L4_SLOT_FIRST && i4 <= XEN_L4_SLOT_LAST)
            continue;
        pte_t e4 = pt_read_entry(m, root, i4);
        if (!pte_present(e4) || !mfn_valid(m, pte_mfn(e4)))
            continue;
        for (unsigned i3 = 0; i3 < PT_ENTRIES; i3++) {
            pte_t e3 = pt_read_entry(m, pte_mfn(e4), i3);
            if ((e3 & (_PAGE_PRESENT | _PAGE_PSE)) != _PAGE_PRESENT ||
                !mfn_valid(m, pte_mfn(e3)))
                continue;
            mfn_t l2 = pte_mfn(e3);
            for (unsigned i2 = 0; i2 < PT_ENTRIES; i2++) {
                pte_t e2 = pt_read_entry(m, l2, i2);
                if (pte_mfn(e2) != l1mfn || (e2 & _PAGE_PSE))
                    continue;
                if (!pte_present(e2) &&
                    !(act->l1va && act->l2mfn == l2 && act->l2slot == i2))
                    continue;
                if (found++ == 0) {
                    *l2mfn = l2;
                    *l2slot = i2;
                    *region = ((uint64_t)i4 << 18) | ((uint64_t)i3 << 9) | i2;
                }
            }
        }
    }
    return found;
}

enum unhook_result { UH_NOT_MINE, UH_FIXED, UH_EMULATE };

static enum unhook_result open_batch(struct vcpu *v, uint64_t va,
                                     struct ptwr_domain *pd, mfn_t *l1out)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    pte_t pte;
    mfn_t pte_table;
    unsigned pte_slot;

    if (!find_ro_l1_mapping(v, va, &pte, &pte_table, &pte_slot))
        return UH_NOT_MINE;

    if ((pte & (_PAGE_PRESENT | _PAGE_RW)) == (_PAGE_PRESENT | _PAGE_RW)) {
        /* Made writable meanwhile (another vCPU won the race): retry if the
           whole walk allows the write now. */
        struct mmu_walk w;
        return mmu_walk(m, current_root(v), va, PFEC_WRITE, false, &w) == 0
               ? UH_FIXED : UH_NOT_MINE;
    }
    if ((pte & (_PAGE_PRESENT | _PAGE_RW)) != _PAGE_PRESENT)
        return UH_NOT_MINE;

    mfn_t l1mfn = pte_mfn(pte);
    if (!is_l1_of(m, d, l1mfn))
        return UH_NOT_MINE;
    *l1out = l1mfn;

    /* Never emulate into, or re-open, an L1 an open batch holds. */
    for (unsigned w = 0; w < 2; w++)
        if (pd->b[w].l1va && pd->b[w].l1mfn == l1mfn)
            ptwr_flush(v, d, pd, w);

    mfn_t l2mfn = INVALID_MFN;
    unsigned l2slot = 0;
    uint64_t region = 0;
    unsigned hooks = find_hooks(m, pd, current_root(v), l1mfn, &l2mfn,
                                &l2slot, &region);
    if (hooks > 1)
        return UH_EMULATE;                  /* hooked at several places */
    unsigned which = hooks ? PTWR_ACTIVE : PTWR_INACTIVE;
    if (which == PTWR_ACTIVE && region == region_of(va))
        return UH_EMULATE;                  /* the table maps itself */

    if (d->nr_vcpus > 1) {
        struct page_info *pg = mfn_to_page(m, l1mfn);
        uint64_t t = atomic_load(&pg->type_info);
        uint64_t c = atomic_load(&pg->count_info);
        uint64_t n = t & PGT_count_mask;
        if (n != (uint64_t)!!(t & PGT_pinned) + (which == PTWR_ACTIVE) ||
            (c & PGC_count_mask) != (uint64_t)!!(c & PGC_allocated) + n + 1) {
            /* Other vCPUs could hold conflicting writable mappings. */
            flush_all_locked(v, d, pd);
            return UH_EMULATE;
        }
    }

    struct ptwr_batch *b = &pd->b[which];
    if (b->l1va)
        ptwr_flush(v, d, pd, which);
    if (b->prev_nr_updates == 0) {
        b->prev_nr_updates = 1;             /* U4: do not get stuck */
        return UH_EMULATE;
    }
    /* inject: skip = emulate this write instead of opening a batch. */
    if (INJ_POINT(ptwr_unhook_before_open, v))
        return UH_EMULATE;

    if (which == PTWR_ACTIVE) {
        pte_t l2e = pt_read_entry(m, l2mfn, l2slot);
        pt_write_entry(m, d->domid, l2mfn, 2, l2slot, l2e,
                       l2e & ~_PAGE_PRESENT, PTW_PTWR_UNHOOK);
        pt_flush_vcpus(d, v, pv_all_vcpus(d), MMU_FLUSH_ALL_VA, TLBF_ALL,
                       TLBR_PTWR);
        INJ_POINT(ptwr_unhook_after_clear_l2, v);   /* inject: a window */
    }

    for (unsigned i = 0; i < PT_ENTRIES; i++)
        b->snapshot[i] = pt_read_entry(m, l1mfn, i);

    pt_write_entry(m, d->domid, pte_table, 1, pte_slot, pte, pte | _PAGE_RW,
                   PTW_PTWR_PROTECT);
    /* The read-only translation we faulted on must not be reused. */
    pt_flush_vcpus(d, v, 1ULL << v->vcpu_id, va & ~PAGE_OFFSET_MASK,
                   TLBF_LOCAL, TLBR_PTWR);

    b->l1va = va | 1;
    b->l1mfn = l1mfn;
    b->pte_table = pte_table;
    b->pte_slot = pte_slot;
    b->l2mfn = l2mfn;
    b->l2slot = l2slot;
    b->region = region;
    b->vcpu = v;
    pd->nr_batches++;
    return UH_FIXED;
}

static enum mm_fault unhook_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct domain *d = v->d;
    struct ptwr_domain *pd = ptwr_state(d);
    enum mm_fault rc = MMF_NOT_MINE;

    if (!pd)
        return emulate_fault(v, va, pfec);

    big_lock(pd, d, v);

    /* U2: any fault in the unhooked range closes the batch. */
    struct ptwr_batch *act = &pd->b[PTWR_ACTIVE];
    if (act->l1va && region_of(va) == act->region) {
        ptwr_flush(v, d, pd, PTWR_ACTIVE);
        rc = MMF_FIXED;
        goto out;
    }

    /* U3: kernel-mode writes only (not the hypervisor's own accesses). */
    if (!v->in_kernel || v->in_hypervisor_access ||
        (pfec & (PFEC_USER | PFEC_RSVD)) || !(pfec & PFEC_WRITE))
        goto out;

    mfn_t l1mfn = INVALID_MFN;
    switch (open_batch(v, va, pd, &l1mfn)) {
    case UH_FIXED:
        rc = MMF_FIXED;
        break;
    case UH_EMULATE:
        rc = ptwr_emulate(v, va, l1mfn);
        if (rc == MMF_FIXED)
            pd->nr_emulated++;
        break;
    case UH_NOT_MINE:
        break;
    }
out:
    big_unlock(pd, d);
    return rc;
}

/* ---- entry points ----------------------------------------------------------- */

enum mm_fault ptwr_do_page_fault(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct domain *d = v->d;

    if (!is_pv_domain(d) ||
        !vm_assist_enabled(d, VMASST_TYPE_writable_pagetables))
        return MMF_NOT_MINE;
    if (unhook_mode(d))
        return unhook_fault(v, va, pfec);

    /* Today's fixup_page_fault: kernel-mode writes, not reserved-bit or
       instruction fetches, not the hypervisor's own accesses. */
    if (!v->in_kernel || v->in_hypervisor_access ||
        (pfec & (PFEC_USER | PFEC_RSVD | PFEC_INSN)) || !(pfec & PFEC_WRITE))
        return MMF_NOT_MINE;
    return emulate_fault(v, va, pfec);
}

bool mm_fault_is_spurious(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    struct mmu_walk w;

    if (pfec & PFEC_RSVD)
        return false;
    /* 1a8bbf93b8: close any open batch first, then look again. */
    ptwr_sync(v);
    mfn_t root = current_root(v);
    if (!mfn_valid(v->d->m, root))
        return false;
    return mmu_walk(v->d->m, root, va,
                    pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN), false,
                    &w) == 0;
}

void ptwr_stats(struct domain *d, struct ptwr_stats *st)
{
    struct ptwr_domain *pd = __atomic_load_n(&d->ptwr, __ATOMIC_ACQUIRE);
    st->nr_batches = pd ? pd->nr_batches : 0;
    st->nr_flushes = pd ? pd->nr_flushes : 0;
    st->nr_emulated = pd ? pd->nr_emulated : 0;
    st->nr_revalidate_failures = pd ? pd->nr_revalidate_failures : 0;
    st->open_active = pd && pd->b[PTWR_ACTIVE].l1va;
    st->open_inactive = pd && pd->b[PTWR_INACTIVE].l1va;
}
