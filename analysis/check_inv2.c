/*
 * analysis/check_inv2.c - two more invariants of XEN-NOTES section 11 that
 * a trace decides from the words of one event (checker.h; named "inv.N"
 * as in check_inv.c).
 *
 * Rules:
 *   J1  inv.10 reads only the counts hvlab_mm:linear_pt_add / _del carry:
 *       linear_pt_count of the table and of the target after the change.
 *       One counter holds either the linear entries a table holds (> 0) or
 *       the linear entries that use it (< 0).  After an add, the table's
 *       count is > 0 and the target's < 0; after a del, the table's is
 *       >= 0 and the target's <= 0.  A count on the wrong side means the
 *       table held linear entries while it was used linearly (or the
 *       reverse), or its counter no longer covers its entries.  Counts
 *       are not followed from one event to the next: a frame's counter is
 *       reset without an event when it takes a new type.
 *   J2  inv.31 (its second half): normalisation never fails once the
 *       domain is paused.  A domain's saver is paused from
 *       hvlab_mig:suspend phase 1 (the guest is shut down) until its
 *       hvlab_mig:save_done, or until a round 0 begins (a new migration);
 *       an hvlab_mig:normalise_fail of that (host, dom) in between is
 *       reported.  A failure while live defers the page (-EAGAIN) and is
 *       no finding.  A trace that does not show the suspend decides
 *       nothing.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "analysis/checker.h"
#include "analysis/finding.h"
#include "analysis/keytab.h"
#include "analysis/state_private.h"

/* ---- inv.10 ------------------------------------------------------------------ */

static void inv10_event(void *priv, struct az *az, const struct hv_ev *e)
{
    (void)priv;
    bool add = e->id == HVE_mm_linear_pt_add;
    int64_t tc = hv_s(e, HVF_table_count), uc = hv_s(e, HVF_target_count);
    bool tbad = add ? tc <= 0 : tc < 0;     /* J1 */
    bool ubad = add ? uc >= 0 : uc > 0;
    if (!tbad && !ubad)
        return;
    uint64_t table = hv_u(e, HVF_table_mfn), target = hv_u(e, HVF_target_mfn);
    az_report(az, "inv.10", e, (uint8_t)hv_u(e, HVF_host), FINDING_NODOM,
              tbad ? table : target, FINDING_NONE,
              "invariant 10 (a table holding linear entries is not used"
              " linearly, and the reverse): %s the L%u linear entry of mfn %#"
              PRIx64 " to mfn %#" PRIx64 " left linear_pt_count %" PRId64
              " on the table and %" PRId64 " on the target: %s",
              add ? "adding" : "removing", (unsigned)hv_u(e, HVF_level),
              table, target, tc, uc,
              tbad ? (add ? "the table was used linearly when it took a"
                            " linear entry"
                          : "the table's count says it is used linearly"
                            " while it held a linear entry")
                   : (add ? "the target held linear entries when it was"
                            " used linearly"
                          : "the target's count says it holds linear"
                            " entries while it was used linearly"));
}

static const enum hv_event_id inv10_ids[] = {
    HVE_mm_linear_pt_add, HVE_mm_linear_pt_del, HVE_NONE,
};
const struct checker chk_inv10 = {
    .name = "inv.10",
    .what = "linear_pt_count (linear_pt_add / _del) never shows a table "
            "holding linear entries while used linearly, or the reverse",
    .events = inv10_ids,
    .event = inv10_event,
};

/* ---- inv.31 ------------------------------------------------------------------ */

struct inv31_priv {
    struct keytab paused;   /* (dom, host) -> uint8_t: J2 */
};

static void inv31_init(void *priv)
{
    struct inv31_priv *p = priv;
    ht_init(&p->paused, sizeof(uint8_t));
}

static void inv31_fini(void *priv)
{
    struct inv31_priv *p = priv;
    ht_fini(&p->paused);
}

static void inv31_event(void *priv, struct az *az, const struct hv_ev *e)
{
    struct inv31_priv *p = priv;
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint16_t dom = (uint16_t)hv_u(e, HVF_dom);

    switch (e->id) {
    case HVE_mig_suspend:
        if (hv_u(e, HVF_phase) >= 1)
            *(uint8_t *)ht_get(&p->paused, dom, host, NULL) = 1;
        return;
    case HVE_mig_round_begin:
        if (hv_u(e, HVF_iter) != 0)
            return;
        __attribute__((fallthrough));  /* a new migration starts live */
    case HVE_mig_save_done: {
        uint8_t *v = ht_find(&p->paused, dom, host);
        if (v)
            *v = 0;
        return;
    }
    case HVE_mig_normalise_fail: {
        const uint8_t *v = ht_find(&p->paused, dom, host);
        if (!v || !*v)
            return;
        az_report(az, "inv.31", e, host, dom, FINDING_NONE, hv_u(e, HVF_pfn),
                  "invariant 31 (normalisation never fails in the paused"
                  " round): dom%u's pfn %#" PRIx64 " (type %#" PRIx64 ") did"
                  " not normalise in round %u after the domain was suspended"
                  " (rc %" PRId64 ", L%u slot %u entry %#" PRIx64 ")",
                  (unsigned)dom, hv_u(e, HVF_pfn), hv_u(e, HVF_type),
                  (unsigned)hv_u(e, HVF_iter), hv_s(e, HVF_rc),
                  (unsigned)hv_u(e, HVF_level), (unsigned)hv_u(e, HVF_slot),
                  hv_u(e, HVF_entry));
        return;
    }
    default:
        return;
    }
}

static const enum hv_event_id inv31_ids[] = {
    HVE_mig_suspend, HVE_mig_round_begin, HVE_mig_save_done,
    HVE_mig_normalise_fail, HVE_NONE,
};
const struct checker chk_inv31 = {
    .name = "inv.31",
    .what = "no page fails to normalise once the saved domain is suspended "
            "(normalise_fail in the paused round)",
    .priv_size = sizeof(struct inv31_priv),
    .events = inv31_ids,
    .init = inv31_init,
    .event = inv31_event,
    .fini = inv31_fini,
};
