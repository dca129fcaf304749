/*
 * core/audit.c - hv_audit(): every subsystem's audit over one machine, and
 * hv_audit_changed(): the same count, re-running only what the marks say
 * may have changed (core/audit.h A1-A11).
 */
#include <stdlib.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/mm/ptwr.h"
#include "core/shadow/shadow.h"
#include "core/vcpu.h"

static _Atomic uint64_t n_audits, n_unchanged, n_mm_skipped, n_gnt_skipped;
static _Atomic bool memo_on = true;
static _Atomic int memo_env = -1;       /* HVLAB_AUDIT_MEMO, read once */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

/* A6: what no mark covers. */
static uint64_t shape_of(const struct machine *m)
{
    uint64_t h = mix(0, m->opt.pfinfo_devalidated);
    h = mix(h, (uintptr_t)atomic_load(&m->dom_cow));
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        const struct domain *d = m->domains[id];
        h = mix(h, (uintptr_t)d);
        if (!d)
            continue;
        h = mix(h, d->kind);
        h = mix(h, (uintptr_t)d->grant_table);
        h = mix(h, (uintptr_t)d->paging_hooks);
        h = mix(h, d->nr_vcpus);
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            h = mix(h, (uintptr_t)d->vcpu[i]);
    }
    return h;
}

/* A4: an open writable-pagetable batch anywhere. */
static bool ptwr_open(struct machine *m)
{
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d || !d->ptwr)
            continue;
        struct ptwr_stats st;
        ptwr_stats(d, &st);
        if (st.open_active || st.open_inactive)
            return true;
    }
    return false;
}

static void take_marks(struct machine *m, bool taken[HV_MARK_NR])
{
    for (unsigned i = 0; i < HV_MARK_NR; i++) {
        taken[i] = atomic_exchange_explicit(&m->audit_memo.dirty[i], 0,
                                            memory_order_acq_rel);
        if (taken[i])
            m->audit_memo.since_take |= (uint8_t)(1u << i);     /* A11 */
    }
}

static unsigned others(struct machine *m, FILE *out)        /* A7 */
{
    return p2m_audit(m, out) + shadow_audit(m, out) +
           evtchn_audit_machine(m, out) + paging_audit(m, out);
}

unsigned hv_audit(struct machine *m, FILE *out)
{
    struct hv_audit_memo *memo = &m->audit_memo;
    bool taken[HV_MARK_NR];
    take_marks(m, taken);
    memo->since_take |= 0x80;                           /* A11 */
    uint64_t shape = shape_of(m);
    /* The order of the text: mm, p2m, shadow, grant, evtchn, paging. */
    unsigned mm = mm_audit(m, out);
    if (mm)                                             /* A10 */
        mm_audit_incr_invalidate(m);
    else if (!mm_audit_incr_valid(m) &&
             atomic_load_explicit(&memo_on, memory_order_relaxed))
        mm_audit_incr_rebuild(m);
    unsigned p2m = p2m_audit(m, out), sh = shadow_audit(m, out);
    unsigned gnt = gnttab_audit(m, out);
    unsigned rest = evtchn_audit_machine(m, out) + paging_audit(m, out);
    memo->mm_last = mm;                                 /* A8 */
    memo->gnt_last = gnt;
    memo->shape = shape;
    memo->valid = true;
    return mm + p2m + sh + gnt + rest;
}

unsigned hv_audit_changed(struct machine *m, FILE *out)
{
    struct hv_audit_memo *memo = &m->audit_memo;
    if (unlikely(atomic_load_explicit(&memo_env, memory_order_relaxed) < 0)) {
        const char *e = getenv("HVLAB_AUDIT_MEMO");
        atomic_store(&memo_env, !(e && e[0] == '0'));
        if (e && e[0] == '0')
            atomic_store(&memo_on, false);
    }
    if (out || !memo->valid ||                          /* A8 */
        !atomic_load_explicit(&memo_on, memory_order_relaxed))
        return hv_audit(m, out);
    atomic_fetch_add_explicit(&n_audits, 1, memory_order_relaxed);
    bool taken[HV_MARK_NR];
    take_marks(m, taken);
    uint64_t shape = shape_of(m);
    if (shape != memo->shape) {                         /* A6 */
        memo->valid = false;
        return hv_audit(m, out);
    }
    if (!taken[HV_MARK_MM] && !taken[HV_MARK_GNT] && !taken[HV_MARK_STORE])
        atomic_fetch_add_explicit(&n_unchanged, 1, memory_order_relaxed);

    unsigned mm;
    if (memo->mm_last || atomic_load(&memo->untyped_writer) ||  /* A4, A5 */
        ptwr_open(m)) {
        mm = mm_audit(m, NULL);
        mm_audit_incr_invalidate(m);
    } else if (taken[HV_MARK_MM]) {                             /* A2 */
        mm = mm_audit_incr(m);                                  /* A10 */
        if (mm)
            mm = mm_audit(m, NULL);
    } else {
        mm = memo->mm_last;
        atomic_fetch_add_explicit(&n_mm_skipped, 1, memory_order_relaxed);
    }
    unsigned gnt;
    if (taken[HV_MARK_MM] || taken[HV_MARK_GNT] ||              /* A3 */
        taken[HV_MARK_STORE]) {
        uint64_t ptes;                  /* grant/audit.c U4 */
        gnt = mm_audit_incr_grant_ptes(m, &ptes)
              ? gnttab_audit_counted(m, ptes) : gnttab_audit(m, NULL);
    } else {
        gnt = memo->gnt_last;
        atomic_fetch_add_explicit(&n_gnt_skipped, 1, memory_order_relaxed);
    }
    memo->mm_last = mm;
    memo->gnt_last = gnt;
    return mm + gnt + others(m, NULL);
}

/* A11: a domain whose own tables the walk reads through its CR3. */
static bool any_translated(const struct machine *m)
{
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (m->domains[id] && m->domains[id]->kind != DOMAIN_PV)
            return true;
    return false;
}

unsigned hv_audit_take_delta(struct machine *m,
                             void (*frame)(void *arg, uint64_t mfn), void *arg)
{
    struct hv_audit_memo *memo = &m->audit_memo;
    uint8_t since = memo->since_take;
    for (unsigned i = 0; i < HV_MARK_NR; i++)
        if (atomic_load_explicit(&memo->dirty[i], memory_order_relaxed))
            since |= (uint8_t)(1u << i);
    memo->since_take = 0;
    /* Guest stores into PV memory are not the walk's; an MM mark only
       when the frame audit's cache names frames the walk reads (A11). */
    unsigned delta = 0;
    if ((since & 0x80) || !memo->valid ||
        !atomic_load_explicit(&memo_on, memory_order_relaxed))
        delta = HV_DELTA_ALL;
    if (since & (1u << HV_MARK_GNT))
        delta |= HV_DELTA_GRANTS;
    if (since & (1u << HV_MARK_ISO))
        delta |= HV_DELTA_ROOTS;
    if (since & (1u << HV_MARK_MM)) {
        bool all = (delta & HV_DELTA_ALL) || any_translated(m);
        int n = mm_audit_incr_take_iso(m, all ? NULL : frame, arg);
        if (n < 0 || (n > 0 && all))
            delta |= HV_DELTA_ALL;
        else if (n > 0)
            delta |= HV_DELTA_FRAMES;
    }
    return delta;
}

bool hv_audit_may_map(const struct machine *m, uint64_t mfn, bool rw)
{
    return mm_audit_incr_may_map(m, mfn, rw);
}

bool hv_audit_take_changed(struct machine *m)
{
    return hv_audit_take_delta(m, NULL, NULL) != 0;
}

void hv_audit_forget(struct machine *m)
{
    m->audit_memo.valid = false;
    m->audit_memo.since_take |= 0x80;
    mm_audit_incr_invalidate(m);
}

void hv_audit_memo_enable(bool on)
{
    atomic_store(&memo_on, on);
}

void hv_audit_counts(struct hv_audit_counts *out)
{
    out->audits = atomic_load(&n_audits);
    out->unchanged = atomic_load(&n_unchanged);
    out->mm_skipped = atomic_load(&n_mm_skipped);
    out->gnt_skipped = atomic_load(&n_gnt_skipped);
}
