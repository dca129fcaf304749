/*
 * analysis/state_untraced.c - S1 and P3 (state.h, state_private.h): the one
 * way a word the trace reports with its old value changes, the debts that
 * out-of-order writers leave, and the "rebuild.untraced" findings.
 *
 * Rules:
 *   W1  st_wcheck decides, for every change of a checked word, whether
 *       state.c applies it (st_wapply there: check, then st_apply): every
 *       such change is compared with the rebuilt value first.  This file
 *       never changes a word itself, so it needs nothing of state.c (the
 *       history it copies into a debt is state_history.c's).
 *   W2  A debt keeps the revealing event and the frame's history at that
 *       moment, so a finding made at the end of the trace shows what led
 *       to the gap, not what came long after.
 *   W3  A finding's sentence names the word, the frame (or slot, root,
 *       grant ref, gfn), its domain, both values and the event, in the
 *       trace's time.
 *   W4  Two writers' events can arrive so that the later one undoes the
 *       earlier's jump: the word is 2, an event says 3 -> 2 (a debt 2 -> 3
 *       opens, the word stays 2), then the late event says 2 -> 3.  That
 *       event is the debt's missing step, already folded in: it closes the
 *       debt and is not applied again (applied, it would leave the word at
 *       3 and the debt open, and the next free of the frame would be an
 *       untraced finding on a correct run).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/finding.h"
#include "analysis/state.h"
#include "analysis/state_private.h"

static const char *const wname[] = {
    [W_COUNT] = "count_info", [W_TYPE] = "type_info", [W_PTE] = "PTE",
    [W_M2P] = "M2P entry", [W_ROOT] = "root", [W_PIN] = "grant pin word",
    [W_P2M] = "p2m entry",
};

/* The frame a word's finding is about, from the event that changed it. */
static uint64_t ev_frame(enum wkind k, const struct hv_ev *e)
{
    switch (k) {
    case W_PTE:
        return hv_u(e, HVF_table_mfn);
    case W_ROOT:
    case W_P2M:
        return hv_u(e, HVF_new_mfn) != UINT64_MAX ? hv_u(e, HVF_new_mfn)
                                                  : hv_u(e, HVF_old_mfn);
    default:
        return hv_u(e, HVF_mfn);
    }
}

static void untraced(struct state *st, const struct debt *d)
{
    enum wkind k = d->k;
    const struct hv_ev *e = &d->ev;
    uint64_t rebuilt = d->from, said = d->to;
    char what[640], lines[DEBT_HIST][256];
    const char *hist[DEBT_HIST];
    uint8_t host = (uint8_t)hv_u(e, HVF_host);
    uint64_t mfn = ev_frame(k, e);
    uint16_t dom = FINDING_NODOM;
    uint64_t pfn = FINDING_NONE;
    const char *ename = e->desc ? e->desc->name : "?";
    double t = (double)e->ts / 1e9;
    if (e->ts < 0)
        t = 0;

    if (hv_has(e, HVF_dom))
        dom = (uint16_t)hv_u(e, HVF_dom);
    else if (hv_has(e, HVF_rdom))
        dom = (uint16_t)hv_u(e, HVF_rdom);
    else if (hv_has(e, HVF_owner))
        dom = (uint16_t)hv_u(e, HVF_owner);

    switch (k) {
    case W_PTE:
        snprintf(what, sizeof what,
                 "slot %u of the L%u table mfn %#" PRIx64 " (dom%u) held %#"
                 PRIx64 " by the trace's account, but the %s at %.6f s found %#"
                 PRIx64 ": the entry was written without a trace event",
                 (unsigned)hv_u(e, HVF_slot), (unsigned)hv_u(e, HVF_level),
                 mfn, (unsigned)dom, rebuilt, ename, t, said);
        break;
    case W_ROOT:
        snprintf(what, sizeof what,
                 "dom%u vCPU %u's %s root was mfn %#" PRIx64
                 " by the trace's account, but the %s at %.6f s replaced %#"
                 PRIx64 ": a root change is missing from the trace",
                 (unsigned)dom, (unsigned)hv_u(e, HVF_vcpu),
                 hv_u(e, HVF_user) ? "user" : "kernel", rebuilt, ename, t, said);
        break;
    case W_PIN:
        snprintf(what, sizeof what,
                 "dom%u's grant ref %u (mfn %#" PRIx64 ") had pin word %#" PRIx64
                 " by the trace's account, but the %s at %.6f s found %#" PRIx64
                 ": a pin change is missing from the trace",
                 (unsigned)dom, (unsigned)hv_u(e, HVF_ref), hv_u(e, HVF_mfn),
                 rebuilt, ename, t, said);
        break;
    case W_P2M:
        pfn = hv_u(e, HVF_gfn);
        snprintf(what, sizeof what,
                 "dom%u's p2m entry for gfn %#" PRIx64 " was mfn %#" PRIx64
                 " type %u by the trace's account, but the %s at %.6f s"
                 " replaced mfn %#" PRIx64 " type %u: an entry write is missing"
                 " from the trace",
                 (unsigned)dom, pfn, st_p2m_mfn(rebuilt),
                 (unsigned)(rebuilt >> 48 & 0xFF), ename, t, st_p2m_mfn(said),
                 (unsigned)(said >> 48 & 0xFF));
        break;
    default:
        snprintf(what, sizeof what,
                 "mfn %#" PRIx64 " (owner dom%u) had %s %#" PRIx64
                 " by the trace's account, but the %s at %.6f s changed it from %#"
                 PRIx64 ": a transition of the word is missing from the trace",
                 mfn, (unsigned)dom, wname[k], rebuilt, ename, t, said);
        break;
    }

    unsigned n = d->nhist;
    for (unsigned i = 0; i < n; i++)
        hist[i] = hv_ev_format(&d->hist[i], lines[i], sizeof lines[i]);
    struct finding f = {
        .checker = "rebuild.untraced", .host = host, .dom = dom,
        .mfn = mfn, .pfn = pfn, .ts = e->ts, .seq = e->seq, .what = what,
        .history = hist, .nhistory = n,
    };
    st->untraced++;
    if (st->sink)
        findings_add(st->sink, &f);
}

static inline bool wmatch(enum wkind k, uint64_t a, uint64_t b)
{
    uint64_t mask = k == W_PTE ? ~ST_PTE_AD : ~0ULL;
    return ((a ^ b) & mask) == 0;
}

static void debt_drop(struct state *st, unsigned i)
{
    st->debt[i] = st->debt[--st->ndebt];
}

/* P3: the oldest debt can wait no longer (the table is full). */
static void debt_report_oldest(struct state *st)
{
    unsigned o = 0;
    for (unsigned i = 1; i < st->ndebt; i++)
        if (st->debt[i].ev.seq < st->debt[o].ev.seq)
            o = i;
    untraced(st, &st->debt[o]);
    debt_drop(st, o);
}

static void debt_add(struct state *st, enum wkind k, uint64_t *w,
                     uint64_t from, uint64_t to, const struct hv_ev *e)
{
    /* the inverse jump of an open debt: the two were one reordering */
    for (unsigned i = 0; i < st->ndebt; i++) {
        struct debt *d = &st->debt[i];
        if (d->w == w && wmatch(k, d->from, to) && wmatch(k, d->to, from)) {
            debt_drop(st, i);
            return;
        }
    }
    if (!st->debt)
        st->debt = st_xcalloc(DEBT_CAP, sizeof(*st->debt));
    if (st->ndebt == DEBT_CAP)
        debt_report_oldest(st);
    struct debt *d = &st->debt[st->ndebt++];
    d->w = w;
    d->k = k;
    d->from = from;
    d->to = to;
    d->ev = *e;
    d->ev.str = NULL;
    const struct hv_ev *h[DEBT_HIST];
    uint64_t mfn = ev_frame(k, e);
    d->nhist = mfn == UINT64_MAX ? 0 :
        state_history(st, (uint8_t)hv_u(e, HVF_host), mfn, h, DEBT_HIST);
    for (unsigned i = 0; i < d->nhist; i++) {
        d->hist[i] = *h[i];
        d->hist[i].str = NULL;
    }
}

/*
 * S1, S2, P3: may a checked word take an event's new value?  An event whose old
 * value is not the rebuilt one is either late (another writer's event,
 * traced before it, already moved the word on: an open debt starts at its
 * old value) or the trace jumped (a debt is opened and the event applied:
 * the state follows the trace).  True: apply nv (state.c does).
 */
bool st_wcheck(struct state *st, enum wkind k, uint64_t *w, bool known,
               uint64_t old, uint64_t nv, const struct hv_ev *e)
{
    if (!known || wmatch(k, old, *w)) {
        /* W4: the missing step of an open jump, arriving after a writer
           that moved the word back to where the step starts */
        for (unsigned i = 0; known && i < st->ndebt; i++) {
            struct debt *d = &st->debt[i];
            if (d->w == w && wmatch(k, d->from, old) && wmatch(k, d->to, nv)) {
                debt_drop(st, i);
                return false;
            }
        }
        return true;
    }
    for (unsigned i = 0; i < st->ndebt; i++) {
        struct debt *d = &st->debt[i];
        if (d->w != w || !wmatch(k, d->from, old))
            continue;
        /* late: it explains (the start of) the jump; the word has moved on */
        if (wmatch(k, d->to, nv))
            debt_drop(st, i);
        else
            d->from = nv;
        return false;
    }
    debt_add(st, k, w, *w, old, e);
    return true;
}

void state_end(struct state *st)
{
    while (st->ndebt) {
        untraced(st, &st->debt[0]);
        debt_drop(st, 0);
    }
}

uint64_t state_untraced(const struct state *st)
{
    return st->untraced;
}

