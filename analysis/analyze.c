/*
 * analysis/analyze.c - the engine: events in, state rebuilt, checkers run,
 * findings out (analyze.h A1-A3 are the contract).
 *
 * Rules:
 *   N1  Dispatch is a table per event id of the checkers that asked for it
 *       (checker.h `events`; NULL: every id), built once in az_new: feeding
 *       an event costs the state, then one short loop.
 *   N2  --only: a checker runs when a name in the list equals its name or
 *       is a prefix of it ending at a '.' ("story-e" runs every story-e
 *       checker).  The state's own finding, "rebuild.untraced", is matched
 *       the same way; when it is not selected the state reports into a
 *       scratch list that is thrown away.
 *   N3  Time: the readers (az_run_trace, the babeltrace2 plugin) give events
 *       their timestamp in ns since the first event of the trace, so "at
 *       12.41 s" in a finding is 12.41 s into the recording.  Both readers
 *       go through az_reader_event (analyze_read.h) to do it the same way.
 *   N4  az_end settles the state (state_end: the untraced words still
 *       unexplained become findings), then runs each checker's end() once; az_feed after az_end is
 *       ignored (a reader that failed half-way still ends cleanly).
 *   N5  az_report renders the frame's last transitions from the state
 *       (K5): by mfn, or by the frame behind (host, dom, pfn) when only the
 *       pfn is known.
 *   N6  ... or from the copy a checker kept earlier (az_keep_history), when
 *       there is one: the history of the moment that mattered, not of the
 *       frame's teardown at the end of the trace.  Kept copies are few (a
 *       checker keeps one per frame it suspects) and live until az_free.
 *   N7  An --only list is checked in one place (az_only_parse), for the CLI
 *       and the plugin alike: every name must select something, the list
 *       holds 1..AZ_MAX_ONLY names; anything else is refused naming it.
 *   N8  Losses (A3) are counted apart: discarded events, discarded packets
 *       (each a whole packet of unknown events), and whether any
 *       notification gave no count (then the counts are lower bounds).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analyze.h"
#include "analysis/analyze_read.h"
#include "analysis/checker.h"
#include "analysis/ctf.h"
#include "analysis/ctf_native.h"
#include "analysis/finding.h"
#include "analysis/report.h"
#include "analysis/state.h"

#define DEFAULT_HISTORY 8
#define HISTORY_LINE 512

struct az_checker {
    const struct checker *c;
    void *priv;
};

/* N6: a frame's history as it was when a checker asked to keep it. */
struct kept {
    uint64_t key;                   /* host << 56 | mfn; 0 = empty slot */
    unsigned n;
    struct hv_ev *ev;               /* history_len events, oldest first */
};

struct az {
    unsigned history_len;
    struct kept *kept;              /* N6: open addressing, power of two */
    size_t kcap, kused;
    struct findings *fs;
    struct findings *scratch;       /* N2: rebuild.untraced not selected */
    struct state *st;
    struct report *report;
    struct az_checker *chk;
    size_t nchk;
    uint16_t *disp[HVE__COUNT];     /* N1: indexes into chk[] */
    uint16_t ndisp[HVE__COUNT];
    uint64_t events, discarded;
    uint64_t discarded_packets;     /* N8 */
    bool discard_unknown;
    bool ended;
    /* N3: the reader's state */
    struct hv_decoder *dec;
    uint64_t seq;
    bool have_t0;
    int64_t t0;
};

/* N2 */
static bool selected(const char *const *only, const char *name)
{
    if (!only)
        return true;
    for (size_t i = 0; only[i]; i++) {
        size_t n = strlen(only[i]);
        if (n == 0)
            continue;
        if (!strncmp(name, only[i], n) &&
            (name[n] == '\0' || name[n] == '.' || only[i][n - 1] == '.'))
            return true;
    }
    return false;
}

bool az_selected(const char *const *only, const char *name)
{
    return selected(only, name);
}

/* N7 */
bool az_only_known(const char *name)
{
    const char *one[2] = { name, NULL };
    if (!name || !*name)
        return false;
    if (selected(one, "rebuild.untraced") || selected(one, "image.differs"))
        return true;
    for (size_t i = 0; hv_checkers[i]; i++)
        if (selected(one, hv_checkers[i]->name))
            return true;
    return false;
}

int az_only_parse(const char *spec, char **buf, const char *only[AZ_MAX_ONLY + 1],
                  char *err, size_t errlen)
{
    size_t n = 0;
    only[0] = NULL;
    *buf = strdup(spec ? spec : "");
    if (!*buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (char *save = NULL, *t = strtok_r(*buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (n == AZ_MAX_ONLY) {
            snprintf(err, errlen, "more than %d checker names", AZ_MAX_ONLY);
            only[0] = NULL;
            return -1;
        }
        if (!az_only_known(t)) {
            snprintf(err, errlen, "no checker is named '%s' (hvlab analyze "
                     "--list)", t);
            only[0] = NULL;
            return -1;
        }
        only[n++] = t;
        only[n] = NULL;
    }
    if (n == 0) {
        snprintf(err, errlen, "no checker name given (NAME,... from hvlab "
                 "analyze --list)");
        return -1;
    }
    return (int)n;
}

struct az *az_new(const struct az_options *o)
{
    struct az_options def = { 0 };
    if (!o)
        o = &def;
    struct az *az = calloc(1, sizeof(*az));
    if (!az)
        return NULL;
    az->history_len = o->history_len ? o->history_len : DEFAULT_HISTORY;
    az->report = o->report;
    az->fs = findings_new(o->max_per_checker);
    if (!az->fs)
        goto fail;
    struct findings *sink = az->fs;
    if (!selected(o->only, "rebuild.untraced")) {
        az->scratch = findings_new(1);
        if (!az->scratch)
            goto fail;
        sink = az->scratch;
    }
    az->st = state_new(sink, az->history_len);
    if (!az->st)
        goto fail;

    size_t n = 0;
    while (hv_checkers[n])
        n++;
    az->chk = calloc(n ? n : 1, sizeof(*az->chk));
    if (!az->chk)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct checker *c = hv_checkers[i];
        if (!selected(o->only, c->name))
            continue;
        struct az_checker *ac = &az->chk[az->nchk];
        ac->c = c;
        ac->priv = calloc(1, c->priv_size ? c->priv_size : 1);    /* K2 */
        if (!ac->priv)
            goto fail;
        if (c->init)
            c->init(ac->priv);
        az->nchk++;
    }

    /* N1: count, then fill */
    for (size_t i = 0; i < az->nchk; i++) {
        const enum hv_event_id *ev = az->chk[i].c->events;
        if (!az->chk[i].c->event)
            continue;           /* end() only */
        if (!ev) {
            for (int id = 1; id < HVE__COUNT; id++)
                az->ndisp[id]++;
            continue;
        }
        for (; *ev != HVE_NONE; ev++)
            if ((int)*ev > 0 && *ev < HVE__COUNT)
                az->ndisp[*ev]++;
    }
    for (int id = 1; id < HVE__COUNT; id++) {
        if (!az->ndisp[id])
            continue;
        az->disp[id] = calloc(az->ndisp[id], sizeof(uint16_t));
        if (!az->disp[id])
            goto fail;
        az->ndisp[id] = 0;
    }
    for (size_t i = 0; i < az->nchk; i++) {
        const enum hv_event_id *ev = az->chk[i].c->events;
        if (!az->chk[i].c->event)
            continue;
        if (!ev) {
            for (int id = 1; id < HVE__COUNT; id++)
                az->disp[id][az->ndisp[id]++] = (uint16_t)i;
            continue;
        }
        for (; *ev != HVE_NONE; ev++) {
            if ((int)*ev <= 0 || *ev >= HVE__COUNT)
                continue;
            /* a checker listing an id twice is called once */
            bool dup = false;
            for (unsigned k = 0; k < az->ndisp[*ev]; k++)
                dup |= az->disp[*ev][k] == (uint16_t)i;
            if (!dup)
                az->disp[*ev][az->ndisp[*ev]++] = (uint16_t)i;
        }
    }
    return az;
fail:
    az_free(az);
    return NULL;
}

void az_free(struct az *az)
{
    if (!az)
        return;
    for (size_t i = 0; az->chk && i < az->nchk; i++) {
        if (az->chk[i].c->fini)
            az->chk[i].c->fini(az->chk[i].priv);
        free(az->chk[i].priv);
    }
    free(az->chk);
    for (int id = 0; id < HVE__COUNT; id++)
        free(az->disp[id]);
    if (az->st)
        state_free(az->st);
    findings_free(az->fs);
    findings_free(az->scratch);
    hv_decoder_free(az->dec);
    for (size_t i = 0; i < az->kcap; i++)
        free(az->kept[i].ev);
    free(az->kept);
    free(az);
}

void az_feed(struct az *az, const struct hv_ev *e)         /* A1 */
{
    if (az->ended || e->id == HVE_NONE || !e->desc)
        return;
    az->events++;
    state_event(az->st, e);
    uint16_t n = az->ndisp[e->id];
    const uint16_t *d = az->disp[e->id];
    for (uint16_t i = 0; i < n; i++) {
        struct az_checker *ac = &az->chk[d[i]];
        ac->c->event(ac->priv, az, e);
    }
    if (az->report)
        report_event(az->report, e);
}

void az_discarded(struct az *az, uint64_t count)         /* A3, N8 */
{
    az->discarded += count ? count : 1;
    az->discard_unknown |= count == 0;
}

void az_discarded_packets(struct az *az, uint64_t count) /* A3, N8 */
{
    az->discarded_packets += count ? count : 1;
    az->discard_unknown |= count == 0;
}

void az_end(struct az *az)                                /* N4 */
{
    if (az->ended)
        return;
    az->ended = true;
    state_end(az->st);      /* open debts become findings first (state.h) */
    for (size_t i = 0; i < az->nchk; i++)
        if (az->chk[i].c->end)
            az->chk[i].c->end(az->chk[i].priv, az);
}

struct findings *az_findings(struct az *az)
{
    return az->fs;
}

uint64_t az_events(const struct az *az)
{
    return az->events;
}

uint64_t az_discarded_events(const struct az *az)
{
    return az->discarded;
}

uint64_t az_discarded_packet_count(const struct az *az)
{
    return az->discarded_packets;
}

bool az_discarded_unknown(const struct az *az)
{
    return az->discard_unknown;
}

const char *az_loss_words(const struct az *az, char *buf, size_t len)
{
    const char *least = az->discard_unknown ? "at least " : "";
    buf[0] = '\0';
    if (az->discarded && az->discarded_packets)
        snprintf(buf, len, "%s%" PRIu64 " discarded event%s and %s%" PRIu64
                 " discarded packet%s", least, az->discarded,
                 az->discarded == 1 ? "" : "s", least, az->discarded_packets,
                 az->discarded_packets == 1 ? "" : "s");
    else if (az->discarded)
        snprintf(buf, len, "%s%" PRIu64 " discarded event%s", least,
                 az->discarded, az->discarded == 1 ? "" : "s");
    else if (az->discarded_packets)
        snprintf(buf, len, "%s%" PRIu64 " discarded packet%s (their events "
                 "are not counted)", least, az->discarded_packets,
                 az->discarded_packets == 1 ? "" : "s");
    return buf;
}

const struct state *az_state(const struct az *az)
{
    return az->st;
}

size_t az_checker_count(const struct az *az)
{
    return az->nchk;
}

/* ------------------------------------------------------------- reporting */

/* N6 */
static uint64_t kept_key(uint8_t host, uint64_t mfn)
{
    return ((uint64_t)host << 56 | (mfn & ((1ULL << 56) - 1))) + 1;
}

static struct kept *kept_slot(struct az *az, uint64_t key, bool insert)
{
    if (insert && (az->kused + 1) * 2 > az->kcap) {
        size_t ncap = az->kcap ? az->kcap * 2 : 64;
        struct kept *nk = calloc(ncap, sizeof(*nk));
        if (!nk)
            return NULL;
        for (size_t i = 0; i < az->kcap; i++) {
            if (!az->kept[i].key)
                continue;
            size_t j = (size_t)(az->kept[i].key * 0x9e3779b97f4a7c15ULL >> 20) & (ncap - 1);
            while (nk[j].key)
                j = (j + 1) & (ncap - 1);
            nk[j] = az->kept[i];
        }
        free(az->kept);
        az->kept = nk;
        az->kcap = ncap;
    }
    if (!az->kcap)
        return NULL;
    size_t j = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & (az->kcap - 1);
    while (az->kept[j].key && az->kept[j].key != key)
        j = (j + 1) & (az->kcap - 1);
    if (az->kept[j].key == key)
        return &az->kept[j];
    if (!insert)
        return NULL;
    az->kept[j].ev = calloc(az->history_len ? az->history_len : 1,
                            sizeof(struct hv_ev));
    if (!az->kept[j].ev)
        return NULL;
    az->kept[j].key = key;
    az->kused++;
    return &az->kept[j];
}

void az_keep_history(struct az *az, uint8_t host, uint64_t mfn)
{
    if (!az->history_len || mfn == FINDING_NONE)
        return;
    struct kept *k = kept_slot(az, kept_key(host, mfn), true);
    if (!k)
        return;
    const struct hv_ev *h[az->history_len];
    k->n = state_history(az->st, host, mfn, h, az->history_len);
    for (unsigned i = 0; i < k->n; i++) {
        k->ev[i] = *h[i];
        k->ev[i].str = NULL;        /* V2 */
    }
}

void az_report(struct az *az, const char *checker, const struct hv_ev *at,
               uint8_t host, uint16_t dom, uint64_t mfn, uint64_t pfn,
               const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);

    uint64_t frame = mfn;                          /* N5 */
    if (frame == FINDING_NONE && pfn != FINDING_NONE && dom != FINDING_NODOM) {
        struct pfn_view pv;
        if (state_pfn(az->st, host, dom, pfn, &pv) && pv.known)
            frame = pv.mfn;
    }
    unsigned max = az->history_len;
    const struct hv_ev **hist = NULL;
    char *lines = NULL;
    const char **ptrs = NULL;
    unsigned nh = 0;
    if (frame != FINDING_NONE && max) {
        hist = calloc(max, sizeof(*hist));
        lines = malloc((size_t)max * HISTORY_LINE);
        ptrs = calloc(max, sizeof(*ptrs));
        struct kept *k = kept_slot(az, kept_key(host, frame), false);
        if (hist && lines && ptrs) {
            if (k) {                                   /* N6 */
                nh = k->n;
                for (unsigned i = 0; i < nh; i++)
                    hist[i] = &k->ev[i];
            } else {
                nh = state_history(az->st, host, frame, hist, max);
            }
            for (unsigned i = 0; i < nh; i++) {
                struct hv_ev copy = *hist[i];
                copy.str = NULL;    /* V2: the string died with its callback */
                ptrs[i] = hv_ev_format(&copy, lines + (size_t)i * HISTORY_LINE,
                                       HISTORY_LINE);
            }
        }
    }
    struct finding f = {
        .checker = checker,
        .host = host,
        .dom = dom,
        .mfn = mfn,
        .pfn = pfn,
        .ts = at ? at->ts : 0,
        .seq = at ? at->seq : 0,
        .what = what,
        .history = ptrs,
        .nhistory = nh,
    };
    findings_add(az->fs, &f);
    free(hist);
    free(lines);
    free(ptrs);
}

/* --------------------------------------------------------------- reading */

static void az_reader_feed(struct az *az, struct hv_ev *e, int64_t ts_ns, bool has_ts);

int az_reader_event(struct az *az, const bt_event *ev, int64_t ts_ns,
                    bool has_ts, uint32_t stream, char *err, size_t errlen)
{
    if (!az->dec) {
        az->dec = hv_decoder_new();
        if (!az->dec) {
            snprintf(err, errlen, "out of memory starting the decoder");
            return -1;
        }
    }
    struct hv_ev e;
    int rc = hv_decode(az->dec, ev, ts_ns, has_ts, &e, err, errlen);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    e.stream = stream;
    az_reader_feed(az, &e, ts_ns, has_ts);
    return 0;
}

/* Q1 for both readers: the time since the first timestamped event (N3),
   the delivery order, then the engine. */
static void az_reader_feed(struct az *az, struct hv_ev *e, int64_t ts_ns, bool has_ts)
{
    if (has_ts) {                                  /* N3 */
        if (!az->have_t0) {
            az->have_t0 = true;
            az->t0 = ts_ns;
        }
        e->ts = ts_ns - az->t0;
    } else {
        e->ts = 0;
    }
    e->seq = az->seq++;
    az_feed(az, e);
}

struct run_arg {
    struct az *az;
};

static int on_event(const bt_event *ev, int64_t ts_ns, bool has_ts, void *arg,
                    char *err, size_t errlen)
{
    struct run_arg *r = arg;
    return az_reader_event(r->az, ev, ts_ns, has_ts, ctf_current_stream(),
                           err, errlen);
}

static void on_discarded(uint64_t count, bool packets, void *arg)
{
    struct run_arg *r = arg;
    if (packets)
        az_discarded_packets(r->az, count);     /* N8 */
    else
        az_discarded(r->az, count);
}

int az_run_trace(struct az *az, const char *dir, char *err, size_t errlen)
{
    struct run_arg r = { az };
    struct ctf_reader_ops ops = {
        .event = on_event,
        .discarded = on_discarded,
        .end = NULL,
    };
    int rc = ctf_read(dir, &ops, &r, err, errlen);
    return rc < 0 ? -1 : 0;
}

static int on_native_event(const struct hv_ev *ev, bool has_ts, void *arg, char *err,
                           size_t errlen)
{
    (void)err;
    (void)errlen;
    struct run_arg *r = arg;
    struct hv_ev e = *ev;
    az_reader_feed(r->az, &e, ev->ts, has_ts);
    return 0;
}

int az_run_trace_native(struct az *az, const char *dir, char *err, size_t errlen)
{
    struct run_arg r = { az };
    struct ctfn_ops ops = {
        .event = on_native_event,
        .discarded = on_discarded,
    };
    int rc = ctfn_read(dir, &ops, &r, err, errlen);
    return rc < 0 ? -1 : 0;
}
