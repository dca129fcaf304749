/*
 * core/domctl.c - the host API the toolstack drives domains with.
 *
 * Rules:
 *   D1  Every call checks its arguments and returns 0 or -XEN_E*; nothing
 *       is changed when it fails.
 *   D2  A domain is registered in m->domains[] from creation until its
 *       structure is freed; a destroyed domain whose frames are still
 *       referenced by someone else (foreign mappings) stays registered,
 *       dying, until its last frame is freed (then domain_reap_if_dead
 *       frees it), as Xen keeps a zombie domain.
 *   D3  domctl_build_pte writes only into frames the domain owns that are
 *       not validated tables (a validated table changes through
 *       mod_pt_entry only), and traces the write (path build).
 *   D4  Pause is a counter: the domain runs when it is zero.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <xen/xen.h>
#include <xen/sched.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/hvm.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mm/private.h"
#include "core/mm/pv_pt.h"
#include "core/shadow/shadow.h"
#include "core/traps.h"
#include "core/vcpu.h"
#include "trace/trace.h"

/* domain_crash records: keyed by the domain structure, cleared when it is
   freed (struct domain has no field for it).  `live` counts the records in
   use, so the question asked after every fuzzed call - is this domain
   crashed? - costs one load while none is; it is part of the bytes the
   snapshot reset saves (domain_crash_records). */
#define CRASH_RECORDS 64
static struct {
    _Atomic unsigned live;
    struct crash_record {
        const struct domain *d;
        const char *reason;
    } r[CRASH_RECORDS];
} crash;
#define crash_records crash.r
static pthread_mutex_t crash_lock = PTHREAD_MUTEX_INITIALIZER;

void domain_crash(struct domain *d, const char *reason)
{
    bool first = false;
    pthread_mutex_lock(&crash_lock);
    struct crash_record *free_rec = NULL, *rec = NULL;
    for (unsigned i = 0; i < CRASH_RECORDS && !rec; i++) {
        if (crash_records[i].d == d)
            rec = &crash_records[i];
        else if (!crash_records[i].d && !free_rec)
            free_rec = &crash_records[i];
    }
    if (!rec && free_rec) {
        free_rec->d = d;
        free_rec->reason = reason;
        atomic_fetch_add(&crash.live, 1);
        first = true;
    }
    pthread_mutex_unlock(&crash_lock);
    if (first)
        TRC(hvlab_mm, domain_crash, (uint8_t)d->m->host_id, d->domid, reason);
}

const char *domain_crashed(const struct domain *d)
{
    const char *r = NULL;
    if (atomic_load_explicit(&crash.live, memory_order_acquire) == 0)
        return NULL;
    pthread_mutex_lock(&crash_lock);
    for (unsigned i = 0; i < CRASH_RECORDS && !r; i++)
        if (crash_records[i].d == d)
            r = crash_records[i].reason;
    pthread_mutex_unlock(&crash_lock);
    return r;
}

/* The records as bytes (core/domctl.h): the fuzzer's snapshot reset saves
   them with its snapshot and puts them back after every run. */
void *domain_crash_records(size_t *len)
{
    *len = sizeof(crash);
    return &crash;
}

static void crash_forget(const struct domain *d)
{
    pthread_mutex_lock(&crash_lock);
    for (unsigned i = 0; i < CRASH_RECORDS; i++)
        if (crash_records[i].d == d) {
            crash_records[i].d = NULL;
            atomic_fetch_sub(&crash.live, 1);
        }
    pthread_mutex_unlock(&crash_lock);
}

static void domain_free(struct domain *d)
{
    struct machine *m = d->m;
    crash_forget(d);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        vcpu_free(d->vcpu[i]);
    if (m->domains[d->domid] == d)
        m->domains[d->domid] = NULL;
    p2m_teardown(d);                    /* no-op once destroyed */
    evtchn_domain_free(d);
    gnttab_domain_free(d);
    paging_log_dirty_free(d);           /* the dirty bitmap, if any */
    free(d);
}

int domain_create(struct machine *m, const struct domain_config *cfg,
                  struct domain **out)
{
    *out = NULL;
    if (!m || !cfg || cfg->domid >= HV_MAX_DOMAINS || cfg->nr_vcpus == 0 ||
        cfg->nr_vcpus > HV_MAX_VCPUS ||
        (cfg->kind != DOMAIN_PV && cfg->kind != DOMAIN_HVM))
        return -XEN_EINVAL;
    if (m->domains[cfg->domid])
        return -XEN_EEXIST;
    /* PV domains page directly; HVM ones shadow or use hap. */
    if (cfg->kind == DOMAIN_PV ? cfg->paging != PAGING_PV
                               : (cfg->paging != PAGING_SHADOW &&
                                  cfg->paging != PAGING_HAP))
        return -XEN_EINVAL;

    struct domain *d = calloc(1, sizeof(*d));
    if (!d)
        return -XEN_ENOMEM;
    d->domid = cfg->domid;
    d->m = m;
    d->kind = cfg->kind;
    d->is_privileged = cfg->privileged;
    d->max_pages = cfg->max_pages;
    hv_lock_init(&d->big_lock, "domain.big", LOCK_DOMAIN_BIG);
    d->paging = cfg->paging;
    d->npt_root = INVALID_MFN;
    atomic_store(&d->shutdown_code, -1);
    int rc = mm_domain_init(d);
    if (rc == 0 && d->kind == DOMAIN_HVM)
        rc = p2m_init(d);               /* translated: an empty p2m */
    if (rc == 0)
        rc = gnttab_domain_init(d);     /* an empty version-1 table */
    if (rc) {
        free(d);
        return rc;
    }
    for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
        struct vcpu *v = vcpu_alloc(d, i);
        if (!v) {
            d->nr_vcpus = i;
            domain_free(d);
            return -XEN_ENOMEM;
        }
        d->vcpu[i] = v;
        d->nr_vcpus = i + 1;
        traps_init_vcpu(v);
    }
    if (d->paging == PAGING_SHADOW) {
        rc = shadow_domain_init(d);     /* per-vCPU OOS state: after vCPUs */
        if (rc) {
            domain_free(d);             /* frees the p2m too */
            return rc;
        }
    }
    rc = evtchn_domain_init(d);         /* shared_info, the port table */
    if (rc) {
        domain_free(d);
        return rc;
    }
    m->domains[d->domid] = d;
    *out = d;
    return 0;
}

void domain_reap_if_dead(struct domain *d)
{
    /* Called when d's last frame was freed (D2). */
    if (atomic_load(&d->is_dying) && atomic_load(&d->tot_pages) == 0 &&
        atomic_load(&d->xenheap_pages) == 0 &&
        d->m->domains[d->domid] == d && atomic_load(&d->pause_count) < 0)
        domain_free(d);
}

int domain_destroy(struct domain *d)
{
    if (!d)
        return -XEN_EINVAL;
    if (atomic_exchange(&d->is_dying, true) && atomic_load(&d->pause_count) < 0)
        return -XEN_EINVAL;                     /* already destroyed */
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i])
            hvm_cr3_release(d->vcpu[i]);    /* hvm.c rule 4 */
    if (d->paging == PAGING_SHADOW)
        shadow_teardown(d);             /* shadows hold guest-frame refs */
    evtchn_domain_destroy(d);           /* ports closed, shared_info unshared */
    gnttab_domain_destroy(d);           /* its grant mappings, table frames */
    mm_relinquish(d);
    p2m_teardown(d);                    /* after the frames it described */
    if (atomic_load(&d->tot_pages) == 0 &&
        atomic_load(&d->xenheap_pages) == 0) {
        domain_free(d);
        return 0;
    }
    /* Frames still mapped by others: a zombie, reaped with its last frame.
       A negative pause count marks "destroyed, awaiting reap". */
    atomic_store(&d->pause_count, -1);
    return 0;
}

int domctl_set_vm_assist(struct domain *d, uint64_t bits)
{
    if (!d || atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    return memory_set_vm_assist(d, bits);
}

int domctl_remove_page(struct domain *d, mfn_t frame)
{
    if (!d || atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    return guest_remove_page(d, frame);
}

int domain_shutdown(struct domain *d, unsigned reason)
{
    if (!d || reason > SHUTDOWN_MAX)
        return -XEN_EINVAL;
    int none = -1;
    if (atomic_compare_exchange_strong(&d->shutdown_code, &none, (int)reason))
        TRC(hvlab_mm, domain_shutdown, (uint8_t)d->m->host_id, d->domid,
            (uint8_t)reason, 1);
    return 0;
}

bool domain_shut_down(const struct domain *d, int *reason)
{
    struct domain *m = (struct domain *)d;      /* atomics need non-const */
    int code = atomic_load(&m->shutdown_code);
    if (reason)
        *reason = code;
    return code >= 0 && atomic_load(&m->vcpus_stopped) >= d->nr_vcpus;
}

int domctl_resume_domain(struct domain *d)
{
    if (!d || atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    if (!domain_shut_down(d, NULL))
        return -XEN_EINVAL;
    int code = atomic_load(&d->shutdown_code);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        atomic_store(&d->vcpu[i]->stopped, false);
    atomic_store(&d->vcpus_stopped, 0);
    atomic_store(&d->shutdown_code, -1);
    TRC(hvlab_mm, domain_shutdown, (uint8_t)d->m->host_id, d->domid,
        (uint8_t)code, 0);
    return 0;
}

void domain_pause(struct domain *d)
{
    if (atomic_load(&d->pause_count) >= 0)
        atomic_fetch_add(&d->pause_count, 1);
    /* Pausing closes open writable-pagetable batches (Xen 3.0 flushed them
     * on pause), so a paused domain's tables are all hooked and validated. */
    if (d->nr_vcpus && d->vcpu[0])
        ptwr_sync(d->vcpu[0]);
}

void domain_unpause(struct domain *d)
{
    int c = atomic_load(&d->pause_count);
    while (c > 0 && !atomic_compare_exchange_weak(&d->pause_count, &c, c - 1))
        ;
}

int domctl_populate(struct domain *d, pfn_t first, uint64_t nr, mfn_t *mfns)
{
    if (!d || atomic_load(&d->is_dying))
        return -XEN_EINVAL;
    if (d->p2m) {
        /* Translated: fresh frames behind gfns [first, first+nr). */
        if (first + nr < first)
            return -XEN_EINVAL;
        for (uint64_t i = 0; i < nr; i++) {
            int rc = p2m_populate(d, first + i, mfns ? &mfns[i] : NULL);
            if (rc) {
                while (i-- > 0)         /* D1: nothing half-done */
                    p2m_remove_page(d, first + i);
                return rc;
            }
        }
        return 0;
    }
    return mm_populate(d, first, nr, mfns);
}

void *domctl_map_foreign(struct domain *d, mfn_t mfn)
{
    if (!d || !mfn_valid(d->m, mfn) || page_get_owner(d->m, mfn) != d)
        return NULL;
    return mfn_to_virt_w(d->m, mfn);
}

void *domctl_map_foreign_rw(struct domain *d, mfn_t mfn, int *rc)
{
    if (!d || !mfn_valid(d->m, mfn) || page_get_owner(d->m, mfn) != d) {
        *rc = -XEN_EINVAL;
        return NULL;
    }
    *rc = get_page_and_type(d->m, mfn, d, PGT_writable_page);
    return *rc ? NULL : mfn_to_virt_w(d->m, mfn);
}

void domctl_unmap_foreign_rw(struct domain *d, mfn_t mfn)
{
    /* As Xen's put of a writable foreign mapping: the frame was written
       by an agent the guest's paging cannot see. */
    paging_mark_dirty_from(d, mfn, LD_SRC_COPY);
    put_page_and_type(d->m, mfn);
}

int domctl_build_pte(struct domain *d, mfn_t table, unsigned level,
                     unsigned slot, uint64_t pte)
{
    if (!d || level < 1 || level > 4 || slot >= PT_ENTRIES ||
        !mfn_valid(d->m, table) || page_get_owner(d->m, table) != d)
        return -XEN_EINVAL;
    uint64_t t = atomic_load(&mfn_to_page(d->m, table)->type_info);
    if (pgt_level(t) && (t & (PGT_validated | PGT_partial | PGT_count_mask)))
        return -XEN_EINVAL;                     /* D3 */
    pt_write_entry(d->m, d->domid, table, level, slot,
                   pt_read_entry(d->m, table, slot), pte, PTW_BUILD);
    return 0;
}

int domctl_set_vcpu_context(struct vcpu *v, mfn_t kernel_root,
                            mfn_t user_root)
{
    if (!v || !v->d || atomic_load(&v->d->is_dying))
        return -XEN_EINVAL;
    return mm_set_vcpu_roots(v, kernel_root, user_root);
}

int domctl_pin_table(struct domain *d, mfn_t mfn, unsigned level)
{
    if (!d || !is_pv_domain(d) || atomic_load(&d->is_dying) || level < 1 ||
        level > 4 || !mfn_valid(d->m, mfn) || !get_page(d->m, mfn, d))
        return -XEN_EINVAL;
    /* As mmuext's pin: the type ref, then the pin flag; a preempted
       validation keeps its progress in the frame and is resumed. */
    int rc;
    do
        rc = get_page_type_preemptible(d->m, mfn, pgt_of_level(level));
    while (rc == -HV_ERESTART || rc == -HV_EINTR);
    if (rc) {
        put_page(d->m, mfn);
        return rc;
    }
    if (page_set_pinned(d->m, mfn)) {
        put_page_and_type(d->m, mfn);
        return -XEN_EINVAL;
    }
    return 0;
}

int domctl_set_hvm_cr3(struct vcpu *v, uint64_t guest_cr3)
{
    if (!v || v->d->kind != DOMAIN_HVM)
        return -XEN_EINVAL;
    return hvm_set_cr3(v, guest_cr3);
}

int domctl_shadow_op(struct domain *d, struct xen_domctl_shadow_op *op,
                     uint8_t *bitmap)
{
    return paging_domctl_shadow_op(d, op, bitmap);
}
