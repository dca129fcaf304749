/*
 * core/shadow/oos.c - out-of-sync guest L1s (XEN-NOTES 5.5).
 *
 * Per vCPU: SH_OOS_SLOTS slots (home = gmfn % 3, second chance = home + 1),
 * each with a snapshot frame (the guest L1 at unsync time) and
 * SH_OOS_FIXUPS remembered writable shadow mappings.  All under the
 * paging lock (S1).
 */
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/shadow/private.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "trace/trace.h"

int sh_oos_init_vcpu(struct vcpu *v)
{
    struct shadow_vcpu *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return -XEN_ENOMEM;
    sv->last_emulated = INVALID_MFN;
    for (unsigned i = 0; i < SH_OOS_SLOTS; i++) {
        sv->oos[i] = INVALID_MFN;
        sv->snap[i] = machine_heap_alloc(v->d->m);
        if (sv->snap[i] == INVALID_MFN) {
            for (unsigned j = 0; j < i; j++)
                machine_heap_free(v->d->m, sv->snap[j]);
            free(sv);
            return -XEN_ENOMEM;
        }
        sh_note_used(v->d, sv->snap[i]);                    /* S9 */
        v->d->shadow->pi[sv->snap[i]].type = SH_SNAP;
    }
    v->shadow = sv;
    return 0;
}

void sh_oos_free_vcpu(struct vcpu *v)
{
    struct shadow_vcpu *sv = v->shadow;
    if (!sv)
        return;
    for (unsigned i = 0; i < SH_OOS_SLOTS; i++) {
        v->d->shadow->pi[sv->snap[i]].type = SH_NONE;
        machine_heap_free(v->d->m, sv->snap[i]);
    }
    free(sv);
    v->shadow = NULL;
}

static bool find_slot(struct domain *d, mfn_t gmfn, struct vcpu **vo,
                      unsigned *slot)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct shadow_vcpu *sv = d->vcpu[i] ? d->vcpu[i]->shadow : NULL;
        if (!sv)
            continue;
        for (unsigned s = 0; s < SH_OOS_SLOTS; s++)
            if (sv->oos[s] == gmfn) {
                *vo = d->vcpu[i];
                *slot = s;
                return true;
            }
    }
    return false;
}

/* Re-propagate the entries that changed since the snapshot; refresh it. */
static unsigned resync_l1(struct domain *d, mfn_t gmfn, mfn_t snap)
{
    mfn_t sl1 = sh_lookup(d, gmfn, SH_L1);
    const pte_t *sn = sh_table(d, snap);
    unsigned changed = 0;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t ge = sh_guest_entry(d, gmfn, i);
        if (ge == sn[i])
            continue;
        *(pte_t *)ram_w(&sn[i], sizeof(ge)) = ge;
        changed++;
        if (sl1 != INVALID_MFN)
            sh_write_entry(d, sl1, i, sh_propagate(d, 1, ge, false));
    }
    return changed;
}

static void resync_slot(struct vcpu *vo, unsigned slot,
                        enum sh_resync_reason why)
{
    struct domain *d = vo->d;
    struct shadow_vcpu *sv = vo->shadow;
    mfn_t gmfn = sv->oos[slot];
    struct sh_pinfo *g = sh_pi(d, gmfn);
    INJ_POINT(shadow_resync_before, current);       /* inject: window */
    /* Revoke write access: the fixups, then anything else (brute force). */
    for (unsigned f = 0; f < sv->nr_fix[slot]; f++) {
        struct sh_fixup *x = &sv->fix[slot][f];
        pte_t e = sh_read_entry(d, x->smfn, x->slot);
        if (sh_type_maps_frames(sh_pi(d, x->smfn)->type) && (e & _PAGE_RW) &&
            !sh_l1e_is_magic(e) && pte_mfn(e) == gmfn)
            sh_write_entry(d, x->smfn, x->slot, e & ~_PAGE_RW);
    }
    sv->nr_fix[slot] = 0;
    g->shadow_flags &= (uint8_t)~SHF_OOS_MAY_WRITE;
    sh_remove_write_access(d, gmfn, NULL);
    unsigned changed = resync_l1(d, gmfn, sv->snap[slot]);
    __atomic_and_fetch(&g->shadow_flags, (uint8_t)~SHF_OOS, __ATOMIC_RELEASE);
    sv->oos[slot] = INVALID_MFN;
    sh_flush_all(d);
    atomic_fetch_add(&d->shadow->nr_resync, 1);
    TRC(hvlab_shadow, resync, (uint8_t)d->m->host_id, d->domid,
        (uint16_t)vo->vcpu_id, gmfn, (uint8_t)why, 1, (uint16_t)changed);
    (void)changed;
}

void sh_resync(struct domain *d, mfn_t gmfn, enum sh_resync_reason why)
{
    struct vcpu *vo;
    unsigned slot;
    if (find_slot(d, gmfn, &vo, &slot))
        resync_slot(vo, slot, why);
}

void sh_resync_vcpu(struct vcpu *v, enum sh_resync_reason why)
{
    if (!v->shadow)
        return;
    for (unsigned s = 0; s < SH_OOS_SLOTS; s++)
        if (v->shadow->oos[s] != INVALID_MFN)
            resync_slot(v, s, why);
}

void sh_resync_all(struct domain *d, enum sh_resync_reason why)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i])
            sh_resync_vcpu(d->vcpu[i], why);
}

void sh_sync_other_vcpus(struct vcpu *v)
{
    struct domain *d = v->d;
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *o = d->vcpu[i];
        if (!o || o == v || !o->shadow)
            continue;
        for (unsigned s = 0; s < SH_OOS_SLOTS; s++) {
            mfn_t gmfn = o->shadow->oos[s];
            if (gmfn == INVALID_MFN)
                continue;
            unsigned changed = resync_l1(d, gmfn, o->shadow->snap[s]);
            TRC(hvlab_shadow, resync, (uint8_t)d->m->host_id, d->domid,
                (uint16_t)o->vcpu_id, gmfn, SH_RESYNC_OTHER_VCPU, 0,
                (uint16_t)changed);
            (void)changed;
        }
    }
}

bool sh_unsync(struct vcpu *v, mfn_t gmfn)
{
    struct domain *d = v->d;
    struct shadow_vcpu *sv = v->shadow;
    struct sh_pinfo *g = sh_pi(d, gmfn);
    if (!d->shadow->oos_active || !sv || g->shadow_flags != SHF_L1)
        return false;
    unsigned home = (unsigned)(gmfn % SH_OOS_SLOTS), slot = home;
    if (sv->oos[home] != INVALID_MFN) {
        slot = (home + 1) % SH_OOS_SLOTS;
        if (sv->oos[slot] != INVALID_MFN) {
            resync_slot(v, home, SH_RESYNC_EVICT);
            slot = home;
        }
    }
    sv->oos[slot] = gmfn;
    sv->nr_fix[slot] = 0;
    memcpy(sh_table_w(d, sv->snap[slot]), sh_table(d, gmfn), PAGE_SIZE);
    sh_note_used(d, gmfn);                                  /* S9 */
    g->shadow_flags |= SHF_OOS | SHF_OOS_MAY_WRITE;
    atomic_fetch_add(&d->shadow->nr_unsync, 1);
    TRC(hvlab_shadow, unsync, (uint8_t)d->m->host_id, d->domid,
        (uint16_t)v->vcpu_id, gmfn, (uint8_t)slot);
    return true;
}

void sh_oos_fixup_add(struct domain *d, mfn_t gmfn, mfn_t smfn, unsigned slot)
{
    struct vcpu *vo;
    unsigned s;
    if (!find_slot(d, gmfn, &vo, &s))
        return;
    struct shadow_vcpu *sv = vo->shadow;
    for (unsigned f = 0; f < sv->nr_fix[s]; f++)
        if (sv->fix[s][f].smfn == smfn && sv->fix[s][f].slot == slot)
            return;
    if (sv->nr_fix[s] == SH_OOS_FIXUPS) {
        /* Full: revoke the oldest now (no flush: the frame is OOS). */
        struct sh_fixup *x = &sv->fix[s][0];
        pte_t e = sh_read_entry(d, x->smfn, x->slot);
        if ((e & _PAGE_RW) && !sh_l1e_is_magic(e) && pte_mfn(e) == gmfn)
            sh_write_entry(d, x->smfn, x->slot, e & ~_PAGE_RW);
        sv->fix[s][0] = sv->fix[s][1];
        sv->nr_fix[s]--;
    }
    sv->fix[s][sv->nr_fix[s]++] = (struct sh_fixup){ smfn, slot };
}

void sh_oos_snapshot_update(struct domain *d, mfn_t gmfn, unsigned slot,
                            pte_t ge)
{
    struct vcpu *vo;
    unsigned s;
    if (find_slot(d, gmfn, &vo, &s))
        sh_table_w(d, vo->shadow->snap[s])[slot] = ge;
}
