/*
 * analysis/report_print.c - the report as text tables for a terminal and
 * as one JSON object (report.h R1-R4).
 *
 * Rules:
 *   RP5 Event rates are count / the trace's whole span (first to last
 *       event), so rates of different events compare.
 *   RP6 What the trace did not hold is shown as unknown: "-" in the text,
 *       null in the JSON; a round's dirtied taken from its to_send (no
 *       CLEAN opened it, RP2) is marked "*" in the text.
 *   RP7 Text columns have fixed widths, so every row of a table is as wide
 *       as its header; JSON strings are escaped, numbers are integers but
 *       for the rates.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "analysis/report_private.h"

static double span_s(int64_t a, int64_t b)
{
    return b > a ? (double)(b - a) / 1e9 : 0.0;
}

/* RP5 */
static double rate(const struct report *r, uint64_t count)
{
    double s = span_s(r->t_first, r->t_last);
    return s > 0 ? (double)count / s : 0.0;
}

/* Provider of event id: the name up to ':' into buf. */
static const char *provider_of(unsigned id, char *buf, size_t len)
{
    const struct hv_event_desc *d = id ? hv_event_desc((enum hv_event_id)id)
                                       : NULL;
    const char *n = d ? d->name : "other";
    const char *colon = strchr(n, ':');
    size_t k = colon ? (size_t)(colon - n) : strlen(n);
    if (k >= len)
        k = len - 1;
    memcpy(buf, n, k);
    buf[k] = '\0';
    return buf;
}

static const char *event_name(unsigned id)
{
    const struct hv_event_desc *d = id ? hv_event_desc((enum hv_event_id)id)
                                       : NULL;
    return d ? d->name : "other";
}

struct prov_stat {
    char name[48];
    struct rp_evstat s;
    unsigned events;
};

/* Per-provider sums, in catalog order; returns how many. */
static size_t providers(const struct report *r, struct prov_stat *p, size_t cap)
{
    size_t n = 0;
    for (unsigned id = 0; id < HVE__COUNT; id++) {
        const struct rp_evstat *s = &r->ev[id];
        if (!s->count)
            continue;
        char name[48];
        provider_of(id, name, sizeof(name));
        size_t i = 0;
        while (i < n && strcmp(p[i].name, name))
            i++;
        if (i == n) {
            if (n == cap)
                continue;
            memset(&p[n], 0, sizeof(p[n]));
            snprintf(p[n].name, sizeof(p[n].name), "%s", name);
            p[n].s.first = s->first;
            p[n].s.last = s->last;
            n++;
        }
        p[i].s.count += s->count;
        p[i].events++;
        if (s->first < p[i].s.first)
            p[i].s.first = s->first;
        if (s->last > p[i].s.last)
            p[i].s.last = s->last;
    }
    return n;
}

/* ---- text -------------------------------------------------------------- */

static void text_migration(const struct rp_mig *m, size_t idx, FILE *out)
{
    char b1[32];
    fprintf(out, "Migration %zu: host %u dom %u, %zu round%s, ", idx + 1,
            m->host, m->dom, m->nround, m->nround == 1 ? "" : "s");
    if (m->done)
        fprintf(out, "saved rc %" PRId32 ": %" PRIu64 " pages, %.2f MiB",
                m->rc, m->pages, (double)m->bytes / (1024.0 * 1024.0));
    else if (m->open)
        fprintf(out, "no save_done in the trace (still running at its end)");
    else
        fprintf(out, "abandoned (a new migration of the domain began)");
    fprintf(out, "\n  trace %.6f s .. %.6f s", (double)m->t_first / 1e9,
            (double)(m->done ? m->t_done : m->t_last) / 1e9);
    if (m->has_suspend)
        fprintf(out, "; suspend phase %u after %s", m->suspend_phase,
                rp_fmt_ns(m->suspend_ns, b1, sizeof(b1)));
    if (m->pages_seen)
        fprintf(out, "; %" PRIu64 " page%s re-sent (verify pass aside)",
                m->resent, m->resent == 1 ? "" : "s");
    if (m->idle_cleans)
        fprintf(out, "; %" PRIu64 " CLEAN%s opened no round (%" PRIu64
                " dirty)", m->idle_cleans, m->idle_cleans == 1 ? "" : "s",
                m->idle_dirty);
    fputc('\n', out);
    fprintf(out, "  %5s %-6s %9s %9s %9s %9s %7s %8s %12s %10s %10s\n",
            "round", "kind", "to_send", "dirtied", "sent", "re-sent", "dup",
            "deferred", "bytes", "round ms", "trace ms");
    for (size_t i = 0; i < m->nround; i++) {
        const struct rp_round *rd = &m->round[i];
        char dirt[24], sent[24], rs[24], dup[24], def[24], by[24], ms[24],
             tms[24], ts[24];
        if (rd->has_begin)
            snprintf(ts, sizeof(ts), "%" PRIu64, rd->to_send);
        else
            snprintf(ts, sizeof(ts), "-");
        if (rd->has_begin || rd->has_clean)
            snprintf(dirt, sizeof(dirt), "%" PRIu64 "%s", rp_round_dirtied(rd),
                     rd->has_clean ? "" : "*");
        else
            snprintf(dirt, sizeof(dirt), "-");
        if (rd->has_end) {
            snprintf(sent, sizeof(sent), "%" PRIu64, rd->sent);
            snprintf(def, sizeof(def), "%" PRIu64, rd->deferred);
            snprintf(by, sizeof(by), "%" PRIu64, rd->bytes);
            snprintf(ms, sizeof(ms), "%.3f", (double)rd->ns / 1e6);
        } else {
            snprintf(sent, sizeof(sent), "%" PRIu64 "?", rd->pages);
            snprintf(def, sizeof(def), "-");
            snprintf(by, sizeof(by), "-");
            snprintf(ms, sizeof(ms), "-");
        }
        if (m->pages_seen) {
            snprintf(rs, sizeof(rs), "%" PRIu64, rd->resent);
            snprintf(dup, sizeof(dup), "%" PRIu64, rd->dup);
        } else {
            snprintf(rs, sizeof(rs), "-");
            snprintf(dup, sizeof(dup), "-");
        }
        if (rd->has_begin && rd->has_end)
            snprintf(tms, sizeof(tms), "%.3f",
                     (double)(rd->t_end - rd->t_begin) / 1e6);
        else
            snprintf(tms, sizeof(tms), "-");
        fprintf(out, "  %5" PRIu32 " %-6s %9s %9s %9s %9s %7s %8s %12s %10s %10s\n",
                rd->iter, rp_kind_name(rd->kind), ts, dirt, sent, rs, dup, def, by,
                ms, tms);
    }
}

static void text_histogram(const struct rp_op *o, FILE *out)
{
    uint64_t top = 0;
    unsigned lo = LAT_LOG2, hi = 0;
    for (unsigned k = 0; k < LAT_LOG2; k++) {
        if (!o->log2[k])
            continue;
        if (o->log2[k] > top)
            top = o->log2[k];
        if (k < lo)
            lo = k;
        hi = k;
    }
    for (unsigned k = lo; k <= hi && k < LAT_LOG2; k++) {
        char a[16], b[16];
        unsigned bar = top ? (unsigned)((o->log2[k] * 40 + top - 1) / top) : 0;
        fprintf(out, "    [%6s, %6s) %9" PRIu64 " ", rp_fmt_pow2(k, a, sizeof(a)),
                rp_fmt_pow2(k + 1, b, sizeof(b)), o->log2[k]);
        for (unsigned i = 0; i < bar; i++)
            fputc('#', out);
        fputc('\n', out);
    }
}

void report_print_text(const struct report *r, FILE *out)
{
    if (!r)
        return;
    if (r->oom)
        fprintf(out, "WARNING: out of memory while counting: the figures "
                "below are short\n\n");

    /* migrations */
    if (!r->nmig)
        fprintf(out, "Migrations: none in this trace\n");
    for (size_t i = 0; i < r->nmig; i++) {
        text_migration(r->mig[i], i, out);
        fputc('\n', out);
    }
    if (r->nmig)
        fprintf(out, "  (dirtied: the CLEAN's dirty_count that opened the "
                "round; * = no CLEAN, the round's to_send)\n");

    /* events */
    fprintf(out, "\nEvents: %" PRIu64 " over %.6f s (%.6f s .. %.6f s)\n",
            r->total, span_s(r->t_first, r->t_last),
            (double)r->t_first / 1e9, (double)r->t_last / 1e9);
    struct prov_stat prov[64];
    size_t np = providers(r, prov, 64);
    fprintf(out, "  %-36s %12s %14s %14s %12s\n", "provider / event", "count",
            "first s", "last s", "per s");
    for (size_t p = 0; p < np; p++) {
        fprintf(out, "  %-36s %12" PRIu64 " %14.6f %14.6f %12.1f\n",
                prov[p].name, prov[p].s.count, (double)prov[p].s.first / 1e9,
                (double)prov[p].s.last / 1e9, rate(r, prov[p].s.count));
        char pn[48];
        for (unsigned id = 0; id < HVE__COUNT; id++) {
            const struct rp_evstat *s = &r->ev[id];
            if (!s->count || strcmp(provider_of(id, pn, sizeof(pn)), prov[p].name))
                continue;
            fprintf(out, "    %-34s %12" PRIu64 " %14.6f %14.6f %12.1f\n",
                    event_name(id), s->count, (double)s->first / 1e9,
                    (double)s->last / 1e9, rate(r, s->count));
        }
    }

    /* hypercalls */
    fprintf(out, "\nHypercalls: %" PRIu64 " timed (entry -> exit per vCPU)",
            r->calls);
    fprintf(out, "; %" PRIu64 " open at the end, %" PRIu64 " entries lost, %"
            PRIu64 " exits unmatched", rp_open_calls(r), r->lost_entries,
            r->unmatched_exits);
    if (r->untimed)
        fprintf(out, ", %" PRIu64 " untimed", r->untimed);
    fputc('\n', out);
    struct rp_op **v = rp_ops_sorted(r);
    if (!v)
        return;
    if (r->nop)
        fprintf(out, "  %3s %-24s %10s %9s %10s %10s %10s %10s %10s\n", "op",
                "name", "calls", "continued", "min", "p50", "p99", "max",
                "mean");
    for (size_t i = 0; i < r->nop; i++) {
        const struct rp_op *o = v[i];
        char nb[24], a[24], b[24], c[24], d[24], e[24];
        fprintf(out, "  %3" PRIu32 " %-24s %10" PRIu64 " %9" PRIu64
                " %10s %10s %10s %10s %10s\n", o->op,
                rp_op_name(o->op, nb, sizeof(nb)), o->calls, o->continued,
                rp_fmt_ns(o->min_ns, a, sizeof(a)),
                rp_fmt_ns(rp_op_percentile(o, 500), b, sizeof(b)),
                rp_fmt_ns(rp_op_percentile(o, 990), c, sizeof(c)),
                rp_fmt_ns(o->max_ns, d, sizeof(d)),
                rp_fmt_ns(o->calls ? o->sum_ns / o->calls : 0, e, sizeof(e)));
    }
    for (size_t i = 0; i < r->nop && i < 3; i++) {
        char nb[24];
        fprintf(out, "\n  %s: latency histogram (log2 ns)\n",
                rp_op_name(v[i]->op, nb, sizeof(nb)));
        text_histogram(v[i], out);
    }
    free(v);
}

/* ---- JSON (R1-R4) ------------------------------------------------------- */

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_round(const struct rp_mig *m, const struct rp_round *rd,
                       FILE *out)
{
    fprintf(out, "{\"iter\": %" PRIu32 ", \"kind\": \"%s\", \"final\": %u",
            rd->iter, rp_kind_name(rd->kind), rd->kind);
    if (rd->has_begin)
        fprintf(out, ", \"to_send\": %" PRIu64, rd->to_send);
    else
        fprintf(out, ", \"to_send\": null");
    if (rd->has_clean)
        fprintf(out, ", \"dirty_count\": %" PRIu32, rd->dirty_count);
    else
        fprintf(out, ", \"dirty_count\": null");
    if (rd->has_begin || rd->has_clean)
        fprintf(out, ", \"dirtied\": %" PRIu64, rp_round_dirtied(rd));
    else
        fprintf(out, ", \"dirtied\": null");
    if (rd->has_end)
        fprintf(out, ", \"sent\": %" PRIu64 ", \"deferred\": %" PRIu64
                ", \"bytes\": %" PRIu64 ", \"ns\": %" PRIu64, rd->sent,
                rd->deferred, rd->bytes, rd->ns);
    else
        fprintf(out, ", \"sent\": null, \"deferred\": null, \"bytes\": null, "
                "\"ns\": null");
    fprintf(out, ", \"pages_traced\": %" PRIu64 ", \"nodata_traced\": %" PRIu64,
            rd->pages, rd->nodata);
    if (m->pages_seen)
        fprintf(out, ", \"resent\": %" PRIu64 ", \"dup\": %" PRIu64,
                rd->resent, rd->dup);
    else
        fprintf(out, ", \"resent\": null, \"dup\": null");
    fprintf(out, ", \"normalise_fail\": %" PRIu64, rd->norm_fail);
    if (rd->has_begin)
        fprintf(out, ", \"begin_ns\": %" PRId64, rd->t_begin);
    if (rd->has_end)
        fprintf(out, ", \"end_ns\": %" PRId64, rd->t_end);
    if (rd->has_begin && rd->has_end)
        fprintf(out, ", \"trace_ns\": %" PRId64, rd->t_end - rd->t_begin);
    else
        fprintf(out, ", \"trace_ns\": null");
    fputc('}', out);
}

static void json_migration(const struct rp_mig *m, FILE *out)
{
    fprintf(out, "{\"host\": %u, \"dom\": %u, \"state\": \"%s\"", m->host,
            m->dom, m->done ? "saved" : m->open ? "running" : "abandoned");
    if (m->done)
        fprintf(out, ", \"rc\": %" PRId32 ", \"pages\": %" PRIu64
                ", \"bytes\": %" PRIu64 ", \"done_ns\": %" PRId64, m->rc,
                m->pages, m->bytes, m->t_done);
    fprintf(out, ", \"first_ns\": %" PRId64 ", \"last_ns\": %" PRId64,
            m->t_first, m->done ? m->t_done : m->t_last);
    if (m->has_suspend)
        fprintf(out, ", \"suspend\": {\"begin_ns\": %" PRId64 ", \"phase\": %u"
                ", \"ns\": %" PRIu64 "}", m->t_suspend, m->suspend_phase,
                m->suspend_ns);
    fprintf(out, ", \"pages_traced\": %" PRIu64, m->pages_seen);
    if (m->pages_seen)
        fprintf(out, ", \"resent\": %" PRIu64, m->resent);
    else
        fprintf(out, ", \"resent\": null");
    fprintf(out, ", \"idle_cleans\": %" PRIu64 ", \"idle_dirty\": %" PRIu64,
            m->idle_cleans, m->idle_dirty);
    fprintf(out, ", \"rounds\": [");
    for (size_t i = 0; i < m->nround; i++) {
        fprintf(out, "%s\n    ", i ? "," : "");
        json_round(m, &m->round[i], out);
    }
    fprintf(out, "]}");
}

static void json_evstat(const struct report *r, const struct rp_evstat *s,
                        FILE *out)
{
    fprintf(out, "{\"count\": %" PRIu64 ", \"first_ns\": %" PRId64
            ", \"last_ns\": %" PRId64 ", \"per_s\": %.3f}", s->count, s->first,
            s->last, rate(r, s->count));
}

static void json_op(const struct rp_op *o, FILE *out)
{
    fprintf(out, "{\"op\": %" PRIu32 ", \"calls\": %" PRIu64 ", \"continued\": %"
            PRIu64 ", \"continuations\": %" PRIu64 ", \"min_ns\": %" PRIu64
            ", \"p50_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"max_ns\": %"
            PRIu64 ", \"mean_ns\": %" PRIu64 ", \"log2_ns\": [", o->op, o->calls,
            o->continued, o->continuations, o->calls ? o->min_ns : 0,
            rp_op_percentile(o, 500), rp_op_percentile(o, 990), o->max_ns,
            o->calls ? o->sum_ns / o->calls : 0);
    bool first = true;
    for (unsigned k = 0; k < LAT_LOG2; k++) {
        if (!o->log2[k])
            continue;
        fprintf(out, "%s{\"lo\": %" PRIu64 ", \"hi\": %" PRIu64 ", \"count\": %"
                PRIu64 "}", first ? "" : ", ", k ? (uint64_t)1 << k : 0,
                k < 63 ? (uint64_t)1 << (k + 1) : UINT64_MAX, o->log2[k]);
        first = false;
    }
    fprintf(out, "]}");
}

void report_print_json(const struct report *r, FILE *out)
{
    if (!r)
        return;
    fprintf(out, "{\"complete\": %s,\n\"migrations\": [", r->oom ? "false" : "true");
    for (size_t i = 0; i < r->nmig; i++) {
        fprintf(out, "%s\n  ", i ? "," : "");
        json_migration(r->mig[i], out);
    }
    fprintf(out, "],\n\"events\": {\"total\": %" PRIu64 ", \"first_ns\": %"
            PRId64 ", \"last_ns\": %" PRId64 ", \"span_ns\": %" PRId64,
            r->total, r->t_first, r->t_last,
            r->t_last > r->t_first ? r->t_last - r->t_first : 0);
    struct prov_stat prov[64];
    size_t np = providers(r, prov, 64);
    fprintf(out, ",\n  \"providers\": {");
    for (size_t p = 0; p < np; p++) {
        fprintf(out, "%s\n    ", p ? "," : "");
        json_str(out, prov[p].name);
        fprintf(out, ": ");
        json_evstat(r, &prov[p].s, out);
    }
    fprintf(out, "},\n  \"by_event\": {");
    bool first = true;
    for (unsigned id = 0; id < HVE__COUNT; id++) {
        if (!r->ev[id].count)
            continue;
        fprintf(out, "%s\n    ", first ? "" : ",");
        json_str(out, event_name(id));
        fprintf(out, ": ");
        json_evstat(r, &r->ev[id], out);
        first = false;
    }
    fprintf(out, "}},\n\"hypercalls\": {\"timed\": %" PRIu64 ", \"open\": %"
            PRIu64 ", \"lost_entries\": %" PRIu64 ", \"unmatched_exits\": %"
            PRIu64 ", \"unmatched_continuations\": %" PRIu64
            ", \"untimed\": %" PRIu64 ", \"by_op\": {", r->calls, rp_open_calls(r),
            r->lost_entries, r->unmatched_exits, r->unmatched_conts, r->untimed);
    struct rp_op **v = rp_ops_sorted(r);
    for (size_t i = 0; v && i < r->nop; i++) {
        char nb[24];
        fprintf(out, "%s\n  ", i ? "," : "");
        json_str(out, rp_op_name(v[i]->op, nb, sizeof(nb)));
        fprintf(out, ": ");
        json_op(v[i], out);
    }
    free(v);
    fprintf(out, "}}}\n");
}
