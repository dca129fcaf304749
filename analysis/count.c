/*
 * analysis/count.c - count a trace's events per name and per provider.
 *
 * Rules:
 *   R1  Names are counted per event class: a table (keytab.h, kt_ptr)
 *       maps the (borrowed) event class to its count, so the per-event cost
 *       is one hash probe, not a string compare.  Event classes live as long
 *       as the graph, which outlives the count.
 *   R2  The same event name in several traces (one per traced PID) is one
 *       name: classes are merged by name when the count ends.
 *   R3  A provider is the part of the event name before ':' (LTTng-UST
 *       names are "provider:event"); a name without ':' is its own provider.
 *   R4  Losses are what the trace itself says: discarded-event and
 *       discarded-packet notifications, counted even when they carry no
 *       number.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/count.h"
#include "analysis/ctf.h"
#include "analysis/keytab.h"

struct class_slot {
    const bt_event_class *cls;      /* borrowed; the key */
    uint64_t count;
};

struct count_run {
    struct trace_counts *out;
    struct keytab classes;          /* R1: kt_ptr(cls) -> class_slot */
};

static int on_event(const bt_event *ev, int64_t ts, bool has_ts, void *arg,
                    char *err, size_t errlen)
{
    struct count_run *r = arg;
    struct trace_counts *c = r->out;
    const bt_event_class *cls = bt_event_borrow_class_const(ev);

    struct class_slot *s = kt_get(&r->classes, kt_ptr(cls), 0);
    if (!s) {
        snprintf(err, errlen, "out of memory counting events");
        return -1;
    }
    s->cls = cls;
    s->count++;

    c->events++;
    if (has_ts) {
        if (!c->has_time || ts < c->first_ns)
            c->first_ns = ts;
        if (!c->has_time || ts > c->last_ns)
            c->last_ns = ts;
        c->has_time = true;
    }
    return 0;
}

static void on_discarded(uint64_t n, bool packets, void *arg)     /* R4 */
{
    struct count_run *r = arg;
    r->out->loss_notices++;
    if (packets)
        r->out->discarded_packets += n;
    else
        r->out->discarded_events += n;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct trace_name_count *)a)->name,
                  ((const struct trace_name_count *)b)->name);
}

/* Add n to name in a sorted-later array (linear: names are few). */
static int add_name(struct trace_name_count **arr, size_t *nr, const char *name,
                    size_t len, uint64_t n)
{
    for (size_t i = 0; i < *nr; i++)
        if (strlen((*arr)[i].name) == len && !strncmp((*arr)[i].name, name, len)) {
            (*arr)[i].count += n;
            return 0;
        }
    struct trace_name_count *grown = realloc(*arr, (*nr + 1) * sizeof(**arr));
    if (!grown)
        return -1;
    *arr = grown;
    grown[*nr].name = strndup(name, len);
    if (!grown[*nr].name)
        return -1;
    grown[*nr].count = n;
    (*nr)++;
    return 0;
}

/* R2, R3: fold the per-class table into names and providers. */
static int fold(struct count_run *r)
{
    struct trace_counts *c = r->out;
    for (size_t i = 0; i < kt_count(&r->classes); i++) {
        const struct class_slot *s = kt_at(&r->classes, i);
        const char *name = bt_event_class_get_name(s->cls);
        if (!name)
            name = "(unnamed)";
        const char *colon = strchr(name, ':');
        size_t plen = colon ? (size_t)(colon - name) : strlen(name);
        if (add_name(&c->by_event, &c->nr_events, name, strlen(name),
                     s->count) != 0 ||
            add_name(&c->by_provider, &c->nr_providers, name, plen,
                     s->count) != 0)
            return -1;
    }
    if (c->nr_events)
        qsort(c->by_event, c->nr_events, sizeof(*c->by_event), cmp_name);
    if (c->nr_providers)
        qsort(c->by_provider, c->nr_providers, sizeof(*c->by_provider), cmp_name);
    return 0;
}

static int on_end(void *arg, char *err, size_t errlen)
{
    if (fold(arg) != 0) {
        snprintf(err, errlen, "out of memory counting events");
        return -1;
    }
    return 0;
}

int trace_count(const char *dir, struct trace_counts *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct count_run r = { .out = out };
    kt_init(&r.classes, sizeof(struct class_slot));
    static const struct ctf_reader_ops ops = {
        .event = on_event,
        .discarded = on_discarded,
        .end = on_end,
    };
    int n = ctf_read(dir, &ops, &r, err, errlen);
    kt_fini(&r.classes);
    if (n < 0) {
        trace_counts_free(out);
        return -1;
    }
    out->nr_traces = (unsigned)n;
    return 0;
}

uint64_t trace_counts_get(const struct trace_counts *c, const char *name)
{
    const struct trace_name_count *arr = strchr(name, ':') ? c->by_event
                                                           : c->by_provider;
    size_t nr = strchr(name, ':') ? c->nr_events : c->nr_providers;
    for (size_t i = 0; i < nr; i++)
        if (!strcmp(arr[i].name, name))
            return arr[i].count;
    return 0;
}

bool trace_counts_complete(const struct trace_counts *c)
{
    return c->loss_notices == 0 && c->discarded_events == 0 &&
           c->discarded_packets == 0;
}

void trace_counts_print(const struct trace_counts *c, FILE *f)
{
    fprintf(f, "trace: %" PRIu64 " events in %u trace%s", c->events,
            c->nr_traces, c->nr_traces == 1 ? "" : "s");
    if (c->has_time)
        fprintf(f, ", spanning %.6f s", (double)(c->last_ns - c->first_ns) / 1e9);
    fprintf(f, "\n");
    if (trace_counts_complete(c))
        fprintf(f, "losses: none (no discarded events or packets)\n");
    else
        fprintf(f, "losses: %" PRIu64 " discarded events, %" PRIu64
                " discarded packets in %" PRIu64 " notices: THE TRACE IS "
                "INCOMPLETE\n", c->discarded_events, c->discarded_packets,
                c->loss_notices);
    fprintf(f, "per provider:\n");
    for (size_t i = 0; i < c->nr_providers; i++)
        fprintf(f, "  %-32s %12" PRIu64 "\n", c->by_provider[i].name,
                c->by_provider[i].count);
    fprintf(f, "per event:\n");
    for (size_t i = 0; i < c->nr_events; i++)
        fprintf(f, "  %-32s %12" PRIu64 "\n", c->by_event[i].name,
                c->by_event[i].count);
}

void trace_counts_free(struct trace_counts *c)
{
    for (size_t i = 0; i < c->nr_events; i++)
        free(c->by_event[i].name);
    for (size_t i = 0; i < c->nr_providers; i++)
        free(c->by_provider[i].name);
    free(c->by_event);
    free(c->by_provider);
    memset(c, 0, sizeof(*c));
}
