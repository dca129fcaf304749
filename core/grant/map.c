/*
 * core/grant/map.c - GNTTABOP_map_grant_ref, unmap_grant_ref,
 * unmap_and_replace, and the release of a dying grantee's mappings.
 *
 * Rules (XEN-NOTES 6.4, 6.5):
 *   R1  Flags first (the area of XSA-224's reference-count bugs): neither
 *       GNTMAP_host_map nor GNTMAP_device_map -> GNTST_bad_gntref; an HVM
 *       grantee may not use device_map, application_map or contains_pte
 *       (GNTST_general_error).  Then the granter (unknown or dying ->
 *       GNTST_bad_domain), a maptrack handle (GNTST_no_space), the ref
 *       (GNTST_bad_gntref) and the pin (active.c: GNTST_general_error,
 *       bad_page, eagain).
 *   R2  References: one general ref per mapping kind (host, device); a
 *       writable device map, and a writable host map of a PV granter's
 *       frame or of the grantee's own frame (Xen's
 *       gnttab_host_mapping_get_page_type), also hold a writable type ref - a page table can never be
 *       mapped writable through a grant ("could not pin" ->
 *       GNTST_general_error), and a writably-mapped frame can never become
 *       a page table.  The refs live in the maptrack entry, not in the PTE.
 *   R3  PV host map: host_addr is a linear address resolved through the
 *       grantee's current tables, or with GNTMAP_contains_pte the machine
 *       address of the L1 entry (8-byte aligned: XSA-227).  The L1 must be
 *       the grantee's, lockable and L1-typed; an entry that is already a
 *       grant PTE is not replaced.  The new PTE is P|A|D|_PAGE_GNTTAB|NX,
 *       +US for application_map, +RW unless readonly, + the guest_avail
 *       bits; written with pt_write_entry (path grant); the old entry's
 *       refs are dropped and the grantee's TLBs flushed.  HVM host map: a
 *       p2m_grant_map_rw/ro entry at host_addr's gfn, which must be a hole.
 *       A successful map returns dev_bus_addr = the frame's machine address
 *       whatever the kinds, as Xen does.
 *   R4  Every error after a step undoes the steps before it: PTE/p2m
 *       entry, pins and status bits, then refs (the granter is not touched
 *       after its frame refs go: the last may reap it), handle.  No
 *       log-dirty mark at map time.
 *   R5  Unmap: a handle not in use -> GNTST_bad_handle; dev_bus_addr, if
 *       given, must be the frame's address (GNTST_bad_dev_addr); the host
 *       mapping is removed only if host_addr is given and names the grant
 *       PTE of this frame in the L1 slot the map recorded (HVM: the gfn
 *       it recorded) - GNTST_general_error otherwise; the device kind
 *       only if dev_bus_addr is given.  Nothing to remove is GNTST_okay.  After the PTE is cleared and the
 *       TLB flushed, the removed kinds' refs and pins are dropped, the
 *       status reduced, and a writable mapping marks the frame dirty
 *       (the unmap writable put: XSA-224's area).  The handle is freed
 *       when no kind is left.
 *   R6  unmap_and_replace moves the PTE found at new_addr (if non-zero)
 *       into the grant PTE's slot and clears new_addr's slot; contains_pte
 *       mappings cannot be replaced (GNTST_general_error).  As Xen's
 *       steal_linear_address: new_addr's PTE is taken out under its own
 *       L1 lock first, then the grant's L1 is locked (one L1 lock at a
 *       time); if that step fails the stolen PTE goes back.  Without a
 *       host_addr, or for a mapping with no host kind, it is GNTST_okay
 *       and nothing is done (R5).
 */
#include <stdio.h>
#include <string.h>

#include "core/domain.h"
#include "core/grant/private.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "core/mm/pv_pt.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"
#include "trace/usdt.h"

static unsigned kinds_of(uint32_t flags)
{
    bool ro = flags & GNTMAP_readonly;
    unsigned k = 0;
    if (flags & GNTMAP_host_map)
        k |= 1u << (ro ? PIN_HSTR : PIN_HSTW);
    if (flags & GNTMAP_device_map)
        k |= 1u << (ro ? PIN_DEVR : PIN_DEVW);
    return k;
}

bool gnt_host_typed(bool ro, const struct domain *ld,
                    const struct domain *rd)
{
    return !ro && (ld == rd || (rd && is_pv_domain(rd)));
}

/* R2: does this kind of mapping hold a writable type ref? */
static bool kind_typed(uint32_t flags, uint32_t kind, const struct domain *ld,
                       const struct domain *rd)
{
    if (kind == GNTMAP_device_map)
        return !(flags & GNTMAP_readonly);
    return gnt_host_typed(flags & GNTMAP_readonly, ld, rd);
}

static void put_kind_refs(struct machine *m, mfn_t mfn, uint32_t flags,
                          uint32_t kind, const struct domain *ld,
                          const struct domain *rd)
{
    if (kind_typed(flags, kind, ld, rd))
        put_page_type(m, mfn);
    put_page(m, mfn);
}

static int get_kind_refs(struct machine *m, mfn_t mfn, uint32_t flags,
                         uint32_t kind, const struct domain *ld,
                         struct domain *rd)
{
    /* The caller holds gnt_acquire's ref, taken with the owner checked
       (rd, or dom_cow for a read-only pin of a shared frame, A4). */
    get_page_light(m, mfn);
    if (kind_typed(flags, kind, ld, rd) &&
        get_page_type(m, mfn, PGT_writable_page) != 0) {
        put_page(m, mfn);
        return GNTST_general_error;     /* could not pin: a page table */
    }
    return GNTST_okay;
}

/* The L1 table and slot of a PV grantee's host_addr (R3), locked, with a
   general reference.  GNTST_okay or GNTST_general_error. */
static int lock_l1e(struct vcpu *v, uint64_t addr, bool contains_pte,
                    mfn_t *l1, unsigned *slot)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    mfn_t t;
    if (contains_pte) {
        /* XSA-227: the fix refuses a host_addr that is not 8-byte aligned;
           grant.xsa227 (off by default) skips the check, as Xen did. */
        if ((addr & (sizeof(pte_t) - 1)) && !d->m->opt.grant_xsa227)
            return GNTST_general_error;
        t = addr >> PAGE_SHIFT;
        *slot = (unsigned)((addr & PAGE_OFFSET_MASK) / sizeof(pte_t));
    } else {
        if (!pv_addr_ok(addr))
            return GNTST_general_error;
        t = v->cr3 != INVALID_MFN ? v->cr3
            : (v->in_kernel || v->guest_table_user == INVALID_MFN
                   ? v->guest_table : v->guest_table_user);
        for (unsigned level = 4; level >= 2; level--) {
            if (!mfn_valid(m, t))
                return GNTST_general_error;
            pte_t e = pt_read_entry(m, t, pt_index(addr, level));
            if ((e & (_PAGE_PRESENT | _PAGE_PSE)) != _PAGE_PRESENT)
                return GNTST_general_error;
            t = pte_mfn(e);
        }
        *slot = pt_index(addr, 1);
    }
    if (!mfn_valid(m, t) || !get_page(m, t, d))
        return GNTST_general_error;
    if (!page_lock(m, t)) {
        put_page(m, t);
        return GNTST_general_error;
    }
    if ((atomic_load(&mfn_to_page(m, t)->type_info) & PGT_type_mask) !=
        PGT_l1_page_table) {
        page_unlock(m, t);
        put_page(m, t);
        return GNTST_general_error;
    }
    *l1 = t;
    return GNTST_okay;
}

static void unlock_l1e(struct machine *m, mfn_t l1)
{
    page_unlock(m, l1);
    put_page(m, l1);
}

static void flush_grantee(struct vcpu *v, uint64_t va)
{
    struct domain *d = v->d;
    pt_flush_vcpus(d, v, pv_all_vcpus(d), va, TLBF_ALL, TLBR_PT_UPDATE);
}

static pte_t grant_pte(mfn_t mfn, uint32_t flags)
{
    uint64_t f = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY |
                 _PAGE_GNTTAB | _PAGE_NX;
    if (flags & GNTMAP_application_map)
        f |= _PAGE_USER;
    if (!(flags & GNTMAP_readonly))
        f |= _PAGE_RW;
    f |= ((uint64_t)(flags >> _GNTMAP_guest_avail0) << 9) & _PAGE_AVAIL;
    return pte_make(mfn, f);
}

/* R3: install the host mapping.  GNTST_okay or an error, nothing done. */
static int host_map(struct vcpu *v, struct grant_mapping *map, mfn_t mfn,
                    uint32_t flags, uint64_t addr)
{
    struct domain *ld = v->d;
    struct machine *m = ld->m;
    if (!is_pv_domain(ld)) {
        pfn_t gfn = addr >> PAGE_SHIFT;
        int rc = 0;
        p2m_lock(ld);
        p2m_type_t t;
        mfn_t prev = get_gfn_query_unlocked(ld, gfn, &t);
        if (prev != INVALID_MFN || t != p2m_invalid)
            rc = -XEN_EBUSY;                    /* not a hole */
        else
            rc = p2m_set_entry(ld, gfn, mfn,
                               (flags & GNTMAP_readonly) ? p2m_grant_map_ro
                                                         : p2m_grant_map_rw,
                               p2m_access_rwx);
        p2m_unlock(ld);
        return rc ? GNTST_general_error : GNTST_okay;
    }
    mfn_t l1;
    unsigned slot;
    int st = lock_l1e(v, addr, flags & GNTMAP_contains_pte, &l1, &slot);
    if (st != GNTST_okay)
        return st;
    if ((flags & GNTMAP_contains_pte) && (addr & (sizeof(pte_t) - 1))) {
        /* grant.xsa227 (lock_l1e let a misaligned host_addr through):
           Xen before the XSA-227 fix read and wrote the entry at the
           guest's byte address, so the grant PTE straddles two L1
           entries: its low bytes land in the high bytes of the entry
           below (whose address bits become reserved bits), the rest in
           the entry above.  Raw, unchecked, untraced by pt_write_entry,
           as Xen's update was.  hvlab refuses only when the straddled
           old value looks present (Xen would drop references of junk). */
        const uint8_t *at = (const uint8_t *)mfn_to_virt(m, l1) +
                            (addr & PAGE_OFFSET_MASK);
        pte_t sol, snl = grant_pte(mfn, flags);
        if ((addr & PAGE_OFFSET_MASK) > PAGE_SIZE - sizeof(pte_t)) {
            unlock_l1e(m, l1);
            return GNTST_general_error;         /* past the table's end */
        }
        memcpy(&sol, at, sizeof(sol));
        if (pte_present(sol)) {
            unlock_l1e(m, l1);
            return GNTST_general_error;
        }
        memcpy(ram_w(at, sizeof(snl)), &snl, sizeof(snl));
        unlock_l1e(m, l1);
        map->l1mfn = l1;
        map->slot = (uint16_t)slot;
        flush_grantee(v, MMU_FLUSH_ALL_VA);
        return GNTST_okay;
    }
    pte_t ol = pt_read_entry(m, l1, slot);
    if (pte_present(ol) && (ol & _PAGE_GNTTAB)) {
        unlock_l1e(m, l1);
        return GNTST_general_error;             /* another grant's PTE */
    }
    pt_write_entry(m, ld->domid, l1, 1, slot, ol, grant_pte(mfn, flags),
                   PTW_GRANT);
    unlock_l1e(m, l1);
    map->l1mfn = l1;
    map->slot = (uint16_t)slot;
    if (pte_present(ol)) {
        put_page_from_l1e(m, ol, ld);
        flush_grantee(v, (flags & GNTMAP_contains_pte) ? MMU_FLUSH_ALL_VA
                                                       : addr);
    }
    return GNTST_okay;
}

/* R6: take new_addr's PTE out of its slot (Xen's steal_linear_address),
   under that L1's own lock only.  GNTST_okay and the entry in *stolen. */
static int steal_pte(struct vcpu *v, uint64_t new_addr, pte_t *stolen)
{
    struct machine *m = v->d->m;
    mfn_t l1;
    unsigned slot;
    int st = lock_l1e(v, new_addr, false, &l1, &slot);
    if (st != GNTST_okay)
        return st;
    pte_t nl = pt_read_entry(m, l1, slot);
    /* grant.xsa234: the old replace stole whatever new_addr held,
       another grant's (writable) PTE included. */
    if ((nl & _PAGE_GNTTAB) && !m->opt.grant_xsa234) {
        unlock_l1e(m, l1);
        return GNTST_general_error;
    }
    if (nl)
        pt_write_entry(m, v->d->domid, l1, 1, slot, nl, 0, PTW_GRANT);
    unlock_l1e(m, l1);
    *stolen = nl;
    return GNTST_okay;
}

/* R6: the grant's slot could not take a stolen entry: it goes back to
   new_addr if that slot is still empty, else its references are dropped
   (Xen drops them in every case). */
static void unsteal_pte(struct vcpu *v, uint64_t new_addr, pte_t nl)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    mfn_t l1;
    unsigned slot;
    if (!nl)
        return;
    if (lock_l1e(v, new_addr, false, &l1, &slot) == GNTST_okay) {
        if (pt_read_entry(m, l1, slot) == 0) {
            pt_write_entry(m, d->domid, l1, 1, slot, 0, nl, PTW_GRANT);
            unlock_l1e(m, l1);
            return;
        }
        unlock_l1e(m, l1);
    }
    if (!(nl & _PAGE_GNTTAB))
        put_page_from_l1e(m, nl, d);
}

/* R5/R6: remove (or replace) the host mapping of map at addr. */
static int host_unmap(struct vcpu *v, struct grant_mapping *map,
                      uint64_t addr, uint64_t new_addr)
{
    struct domain *ld = v->d;
    struct machine *m = ld->m;
    bool ro = map->flags & GNTMAP_readonly;
    if (!is_pv_domain(ld)) {
        pfn_t gfn = addr >> PAGE_SHIFT;
        int rc = GNTST_okay;
        p2m_lock(ld);
        p2m_type_t t;
        mfn_t cur = get_gfn_query_unlocked(ld, gfn, &t);
        /* R5: the mapping's own gfn only. */
        if (gfn != map->host_addr >> PAGE_SHIFT || cur != map->mfn ||
            t != (ro ? p2m_grant_map_ro : p2m_grant_map_rw) || new_addr)
            rc = GNTST_general_error;
        else if (p2m_set_entry(ld, gfn, INVALID_MFN, p2m_invalid,
                               p2m_access_rwx))
            rc = GNTST_general_error;
        p2m_unlock(ld);
        return rc;
    }
    bool cpte = map->flags & GNTMAP_contains_pte;
    if (new_addr && cpte)
        return GNTST_general_error;             /* R6 */
    /* R6: new_addr's entry is stolen first, under its own lock; the
       grant's L1 is locked only afterwards (never two L1 locks). */
    pte_t nl = 0;
    if (new_addr) {
        int st = steal_pte(v, new_addr, &nl);
        if (st != GNTST_okay)
            return st;
    }
    mfn_t l1;
    unsigned slot;
    int st = lock_l1e(v, addr, cpte, &l1, &slot);
    if (st != GNTST_okay) {
        unsteal_pte(v, new_addr, nl);
        return st;
    }
    pte_t ol = pt_read_entry(m, l1, slot);
    /* XSA-234: the fix checks that the entry is this grant's PTE with the
       mapping's rights (_PAGE_GNTTAB, RW as mapped); grant.xsa234 (off by
       default) checks only present + frame, as Xen did before it.  R5:
       the slot must be the one the map recorded (another mapping of the
       same frame is not this handle's). */
    bool xsa234 = m->opt.grant_xsa234;
    if (l1 != map->l1mfn || slot != map->slot ||
        !pte_present(ol) || pte_mfn(ol) != map->mfn ||
        (!xsa234 && (!(ol & _PAGE_GNTTAB) || !(ol & _PAGE_RW) != ro))) {
        unlock_l1e(m, l1);
        unsteal_pte(v, new_addr, nl);
        return GNTST_general_error;
    }
    /* The stolen entry and its references move to the grant's slot. */
    pt_write_entry(m, ld->domid, l1, 1, slot, ol, nl, PTW_GRANT);
    unlock_l1e(m, l1);
    flush_grantee(v, MMU_FLUSH_ALL_VA);
    /* grant.xsa234 only: the entry removed was an ordinary PTE of the
       frame, not the grant's; hvlab drops that PTE's own references (Xen
       leaked them) so the lost ref is the grant's writable one alone. */
    if (xsa234 && !(ol & _PAGE_GNTTAB))
        put_page_from_l1e(m, ol, ld);
    return GNTST_okay;
}

static void trace_map(struct domain *ld, domid_t rdom, grant_ref_t ref,
                      mfn_t mfn, uint32_t flags, uint32_t handle,
                      uint64_t addr, int16_t status, bool unmap)
{
    if (unmap)
        TRC(hvlab_grant, unmap, (uint8_t)ld->m->host_id, ld->domid, rdom,
            ref, mfn, flags, handle, addr, status);
    else
        TRC(hvlab_grant, map, (uint8_t)ld->m->host_id, ld->domid, rdom,
            ref, mfn, flags, handle, addr, status);
    if (unmap)
        HV_USDT(grant_unmap, ld->m->host_id, ld->domid, ref, flags,
                (int64_t)status);
    else
        HV_USDT(grant_map, ld->m->host_id, ld->domid, ref, flags,
                (int64_t)status);
}

void gnttab_map_one(struct vcpu *v, struct gnttab_map_grant_ref *op)
{
    struct domain *ld = v->d;
    struct machine *m = ld->m;
    uint32_t flags = op->flags;
    unsigned kinds = kinds_of(flags);
    bool ro = flags & GNTMAP_readonly;
    int st = GNTST_okay;
    int handle = -1;
    mfn_t mfn = INVALID_MFN;
    struct domain *rd = NULL;
    domid_t rdom = op->dom;         /* captured: rd may go on the undo */
    struct grant_mapping *map = NULL;
    unsigned got_kinds = 0;

    op->handle = ~0u;
    op->dev_bus_addr = 0;
    /* R1: the flags (XSA-224's area: which kinds a map holds). */
    if (!(flags & (GNTMAP_host_map | GNTMAP_device_map))) {
        st = GNTST_bad_gntref;
        goto out;
    }
    if (!is_pv_domain(ld) &&
        (flags & (GNTMAP_device_map | GNTMAP_application_map |
                  GNTMAP_contains_pte))) {
        st = GNTST_general_error;
        goto out;
    }
    rd = op->dom < HV_MAX_DOMAINS ? machine_domain(m, op->dom) : NULL;
    if (!rd || !rd->grant_table || atomic_load(&rd->is_dying)) {
        rd = NULL;
        st = GNTST_bad_domain;
        goto out;
    }
    rdom = rd->domid;
    handle = maptrack_get(ld, rd->domid, op->ref);
    if (handle < 0) {
        st = GNTST_no_space;
        goto out;
    }
    map = maptrack_entry(ld, (uint32_t)handle);

    INJ_POINT(grant_map_after_check, v);        /* inject: a window */
    if (INJ_FAIL(grant_map_after_check, v, 0)) {
        st = GNTST_general_error;
        goto out;
    }

    st = gnt_acquire(rd, op->ref, ld->domid, kinds, ro, false, &mfn, NULL,
                     NULL);
    if (st != GNTST_okay)
        goto out;
    /* R2: one general ref per kind (+ writable type ref). */
    static const uint32_t kind_flag[2] = { GNTMAP_host_map,
                                           GNTMAP_device_map };
    for (unsigned k = 0; k < 2 && st == GNTST_okay; k++)
        if (flags & kind_flag[k]) {
            st = get_kind_refs(m, mfn, flags, kind_flag[k], ld, rd);
            if (st == GNTST_okay)
                got_kinds |= kind_flag[k];
        }
    if (st != GNTST_okay)
        goto undo;

    INJ_POINT(grant_map_after_pin, v);          /* inject: a window */

    map->mfn = mfn;
    map->host_addr = op->host_addr;
    if (flags & GNTMAP_host_map) {
        st = host_map(v, map, mfn, flags, op->host_addr);
        if (st != GNTST_okay)
            goto undo;
    }
    /* R3: the frame's machine address, whatever the kinds (Xen). */
    op->dev_bus_addr = (uint64_t)mfn << PAGE_SHIFT;
    maptrack_publish(ld, map, flags);           /* M3: flags last */
    op->handle = (uint32_t)handle;
    op->status = GNTST_okay;
    trace_map(ld, rdom, op->ref, mfn, flags, (uint32_t)handle,
              op->host_addr, GNTST_okay, false);
    put_page(m, mfn);                           /* gnt_acquire's ref */
    return;

undo:
    /* R4: the map error codes and their unwinding - every status above
       returns with refs, pins, status bits and handle as before the call
       (an XSA-prone path; no single XSA number is claimed here).  Pins
       first, then the references, rd not touched after them: the last
       ref may reap a destroyed granter (as in unmap_complete). */
    gnt_release(rd, op->ref, ld->domid, kinds);
    for (unsigned k = 0; k < 2; k++) {
        uint32_t kf = k ? GNTMAP_device_map : GNTMAP_host_map;
        if (got_kinds & kf)
            put_kind_refs(m, mfn, flags, kf, ld, rd);
    }
    put_page(m, mfn);                           /* gnt_acquire's ref */
out:
    if (handle >= 0)
        maptrack_put(ld, (uint32_t)handle);
    op->status = (int16_t)st;
    trace_map(ld, rdom, op->ref, mfn, flags,
              ~0u, op->host_addr, (int16_t)st, false);
}

/* Drop what the kinds in `done` hold (R5, after the PTE is gone). */
static void unmap_complete(struct domain *ld, struct domain *rd,
                           struct grant_mapping *map, uint32_t done)
{
    struct machine *m = ld->m;
    uint32_t flags = map->flags;
    unsigned kinds = kinds_of(done | (flags & GNTMAP_readonly));
    /* The unmap writable put (XSA-224's area: which kinds were really
       removed decides which refs and pins go).  Pins and the dirty mark before the refs: the last ref may free a
       destroyed granter (domain_reap_if_dead) with its table. */
    gnt_release(rd, map->ref, ld->domid, kinds);
    if (!(flags & GNTMAP_readonly))
        gnttab_mark_dirty_why(rd, map->ref, map->mfn, GDIRTY_UNMAP);
    /* XSA-224 (CVE-2017-10920): Xen put the device map's references by
       the mapping's flags, not by whether this unmap removed the device
       kind (dev_bus_addr given).  The fix puts only what was removed;
       grant.xsa224 (off by default) re-creates the extra writable type
       put of a host-only unmap of a writable host+device mapping - the
       device unmap later puts it again, one too many. */
    if (m->opt.grant_xsa224 && (done & GNTMAP_host_map) &&
        !(done & GNTMAP_device_map) && (flags & GNTMAP_device_map) &&
        kind_typed(flags, GNTMAP_device_map, ld, rd)) {
        put_page_type(m, map->mfn);
        gnttab_xsa_lost(rd, map->mfn);
    }
    for (unsigned k = 0; k < 2; k++) {
        uint32_t kf = k ? GNTMAP_device_map : GNTMAP_host_map;
        if (done & kf)
            put_kind_refs(m, map->mfn, flags, kf, ld, rd);
    }
}

static int16_t unmap_common(struct vcpu *v, uint64_t host_addr,
                            uint64_t dev_bus_addr, grant_handle_t handle,
                            uint64_t new_addr, bool replace)
{
    struct domain *ld = v->d;
    struct machine *m = ld->m;
    struct grant_mapping *map = maptrack_claim(ld, handle);
    if (!map) {
        trace_map(ld, DOMID_INVALID, 0, INVALID_MFN, 0, handle, host_addr,
                  GNTST_bad_handle, true);
        return GNTST_bad_handle;
    }
    struct domain *rd = machine_domain(m, map->domid);
    int st = GNTST_okay;
    uint32_t done = 0;
    if (!rd) {
        st = GNTST_bad_domain;          /* cannot happen: pins keep it */
        goto out;
    }
    if (dev_bus_addr && dev_bus_addr != ((uint64_t)map->mfn << PAGE_SHIFT)) {
        st = GNTST_bad_dev_addr;
        goto out;
    }
    /* R5/R6: as Xen's unmap_common, the host part only with a host_addr
       and a host kind (replace included: otherwise okay, nothing done). */
    if (host_addr && (map->flags & GNTMAP_host_map)) {
        st = host_unmap(v, map, host_addr, new_addr);
        if (st != GNTST_okay)
            goto out;
        done |= GNTMAP_host_map;
    }
    if (!replace && dev_bus_addr && (map->flags & GNTMAP_device_map))
        done |= GNTMAP_device_map;
    if (!done)
        goto out;

    INJ_POINT(grant_unmap_before_put, v);       /* inject: a window */

    unmap_complete(ld, rd, map, done);
    uint32_t left = map->flags & ~done;
    if (!(left & (GNTMAP_host_map | GNTMAP_device_map)))
        left = 0;
    trace_map(ld, map->domid, map->ref, map->mfn, map->flags, handle,
              host_addr, GNTST_okay, true);
    if (!left) {
        maptrack_put(ld, handle);
        return GNTST_okay;
    }
    maptrack_publish(ld, map, left);
    maptrack_unclaim(ld, map);
    return GNTST_okay;
out:
    trace_map(ld, map->domid, map->ref, map->mfn, map->flags, handle,
              host_addr, (int16_t)st, true);
    maptrack_unclaim(ld, map);
    return (int16_t)st;
}

void gnttab_unmap_one(struct vcpu *v, struct gnttab_unmap_grant_ref *op)
{
    op->status = unmap_common(v, op->host_addr, op->dev_bus_addr, op->handle,
                              0, false);
}

void gnttab_unmap_and_replace_one(struct vcpu *v,
                                  struct gnttab_unmap_and_replace *op)
{
    op->status = unmap_common(v, op->host_addr, 0, op->handle, op->new_addr,
                              true);
}

void gnttab_release_mappings(struct domain *ld)
{
    HV_AUDIT_MARK(ld->m, HV_MARK_GNT);                      /* audit.h A3 */
    HV_AUDIT_MARK(ld->m, HV_MARK_MM);
    struct grant_table *gt = ld->grant_table;
    struct machine *m = ld->m;
    for (uint32_t h = 0; h < gt->maptrack_limit; h++) {
        struct grant_mapping *map = maptrack_claim(ld, h);
        if (!map)
            continue;
        struct domain *rd = machine_domain(m, map->domid);
        uint32_t done = map->flags & (GNTMAP_host_map | GNTMAP_device_map);
        if (is_pv_domain(ld) && (done & GNTMAP_host_map) &&
            map->l1mfn != INVALID_MFN) {
            /* The grant PTE goes too (the dying grantee's L1 is demoted
               later; its entry would otherwise name a frame without a
               reference). */
            pte_t ol = pt_read_entry(m, map->l1mfn, map->slot);
            if ((ol & _PAGE_GNTTAB) && pte_mfn(ol) == map->mfn)
                pt_write_entry(m, ld->domid, map->l1mfn, 1, map->slot, ol, 0,
                               PTW_TEARDOWN);
        } else if (!is_pv_domain(ld) && (done & GNTMAP_host_map)) {
            pfn_t gfn = map->host_addr >> PAGE_SHIFT;
            p2m_lock(ld);
            p2m_type_t t;
            if (get_gfn_query_unlocked(ld, gfn, &t) == map->mfn &&
                p2m_is_grant(t))
                (void)p2m_set_entry(ld, gfn, INVALID_MFN, p2m_invalid,
                                    p2m_access_rwx);
            p2m_unlock(ld);
        }
        if (rd)
            unmap_complete(ld, rd, map, done);
        maptrack_put(ld, h);
    }
}

/* Bug zoo bookkeeping (grant.xsa224): which frames lost a type ref. */
void gnttab_xsa_lost(struct domain *rd, mfn_t mfn)
{
    HV_AUDIT_MARK(rd->m, HV_MARK_GNT);                      /* audit.h A3 */
    HV_AUDIT_MARK(rd->m, HV_MARK_MM);
    struct grant_table *gt = rd->grant_table;
    hv_lock(&gt->lock);
    if (gt->nr_xsa_lost < GNT_XSA_LOST_MAX)
        gt->xsa_lost[gt->nr_xsa_lost++] = mfn;
    hv_unlock(&gt->lock);
}

/*
 * Before d's frames are relinquished: give back each lost writable type
 * ref, so that the last writable PTE's put does not underflow the count
 * (Xen had no such repair: a vulnerable host crashed or leaked).  A frame
 * that is a page table again (still pinned) cannot take it; it is left.
 */
void gnttab_xsa_restore(struct domain *d)
{
    HV_AUDIT_MARK(d->m, HV_MARK_GNT);                       /* audit.h A3 */
    HV_AUDIT_MARK(d->m, HV_MARK_MM);
    struct grant_table *gt = d->grant_table;
    struct machine *m = d->m;
    for (unsigned i = 0; i < gt->nr_xsa_lost; i++) {
        mfn_t mfn = gt->xsa_lost[i];
        if (page_get_owner(m, mfn) == d &&
            get_page_type(m, mfn, PGT_writable_page) != 0)
            fprintf(stderr, "hvlab: grant.xsa224: d%u mfn %#llx keeps its "
                    "lost type ref (a page table now)\n", d->domid,
                    (unsigned long long)mfn);
    }
    gt->nr_xsa_lost = 0;
}
