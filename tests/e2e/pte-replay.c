/*
 * tests/e2e/pte-replay.c - replay a trace's PTE writes against a table dump.
 *
 *   pte-replay TRACE_DIR DUMP_FILE
 *
 * Rules:
 *   R1  Every hvlab_pt:pte_write is replayed in trace order: the last
 *       new_pte written to (host, table_mfn, slot) is that entry's value.
 *       The domain builder's writes are traced too, so nothing a table holds
 *       comes from outside the trace.
 *   R2  DUMP_FILE has one line per present entry of every validated page
 *       table at the end of the run: "host mfn level slot pte_hex"
 *       (lines starting with '#' are comments).  Every dumped entry must
 *       equal its replayed value, and its level the replayed write's level,
 *       except for the accessed and dirty bits: the MMU sets those as
 *       hardware does, with no hypervisor transition and no event.
 *   R3  The trace must record no loss: a replay of an incomplete trace
 *       proves nothing.
 * Prints one summary line; on mismatch, up to 20 entries with both values.
 * Exit 0 when every entry matches, 1 when one does not, 2 when the trace or
 * dump cannot be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ctf.h"

/* _PAGE_ACCESSED | _PAGE_DIRTY: the hardware's to set (R2). */
#define PTE_AD_BITS 0x60ULL

struct pte_slot {
    uint64_t mfn;
    uint16_t slot;
    uint8_t host;
    uint8_t level;
    bool used;
    uint64_t pte;
};

struct replay {
    struct pte_slot *tab;       /* open addressing, power-of-two capacity */
    size_t cap, used;
    uint64_t writes, losses;
};

static size_t key_hash(uint8_t host, uint64_t mfn, uint16_t slot, size_t cap)
{
    uint64_t x = mfn * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)slot << 8 | host);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return (size_t)x & (cap - 1);
}

static struct pte_slot *lookup(struct replay *r, uint8_t host, uint64_t mfn,
                               uint16_t slot, bool insert)
{
    if (insert && (r->used + 1) * 2 > r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 1024;
        struct pte_slot *n = calloc(ncap, sizeof(*n));
        if (!n)
            return NULL;
        for (size_t i = 0; i < r->cap; i++) {
            struct pte_slot *o = &r->tab[i];
            if (!o->used)
                continue;
            size_t h = key_hash(o->host, o->mfn, o->slot, ncap);
            while (n[h].used)
                h = (h + 1) & (ncap - 1);
            n[h] = *o;
        }
        free(r->tab);
        r->tab = n;
        r->cap = ncap;
    }
    if (!r->cap)
        return NULL;
    size_t h = key_hash(host, mfn, slot, r->cap);
    while (r->tab[h].used) {
        struct pte_slot *s = &r->tab[h];
        if (s->host == host && s->mfn == mfn && s->slot == slot)
            return s;
        h = (h + 1) & (r->cap - 1);
    }
    if (!insert)
        return NULL;
    r->tab[h] = (struct pte_slot){ .mfn = mfn, .slot = slot, .host = host,
                                   .used = true };
    r->used++;
    return &r->tab[h];
}

static int on_event(const bt_event *ev, int64_t ts, bool has_ts, void *arg,
                    char *err, size_t errlen)
{
    (void)ts;
    (void)has_ts;
    struct replay *r = arg;
    const char *name = bt_event_class_get_name(bt_event_borrow_class_const(ev));
    if (!name || strcmp(name, "hvlab_pt:pte_write") != 0)
        return 0;
    uint64_t host, mfn, level, slot, pte;
    if (ctf_field_u64(ev, "host", &host) || ctf_field_u64(ev, "table_mfn", &mfn) ||
        ctf_field_u64(ev, "level", &level) || ctf_field_u64(ev, "slot", &slot) ||
        ctf_field_u64(ev, "new_pte", &pte)) {
        snprintf(err, errlen, "an hvlab_pt:pte_write event lacks one of the "
                 "fields host, table_mfn, level, slot, new_pte");
        return -1;
    }
    struct pte_slot *s = lookup(r, (uint8_t)host, mfn, (uint16_t)slot, true);
    if (!s) {
        snprintf(err, errlen, "out of memory replaying PTE writes");
        return -1;
    }
    s->pte = pte;
    s->level = (uint8_t)level;
    r->writes++;
    return 0;
}

static void on_discarded(uint64_t n, bool packets, void *arg)
{
    (void)packets;
    ((struct replay *)arg)->losses += n ? n : 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pte-replay TRACE_DIR DUMP_FILE\n");
        return 2;
    }
    struct replay r = { 0 };
    char err[2048];
    static const struct ctf_reader_ops ops = { on_event, on_discarded, NULL };
    if (ctf_read(argv[1], &ops, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "pte-replay: %s\n", err);
        return 2;
    }
    if (r.losses) {     /* R3 */
        fprintf(stderr, "pte-replay: the trace in %s records %" PRIu64
                " lost events or packets; a replay of it proves nothing\n",
                argv[1], r.losses);
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        fprintf(stderr, "pte-replay: cannot read the table dump %s\n", argv[2]);
        return 2;
    }
    char line[256];
    unsigned lineno = 0, bad = 0;
    uint64_t entries = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *p = line, *end;
        uint64_t v[5];
        for (int i = 0; i < 5; i++) {
            v[i] = strtoull(p, &end, i == 4 ? 16 : 0);
            if (end == p) {
                fprintf(stderr, "pte-replay: %s line %u is not \"host mfn "
                        "level slot pte_hex\"\n", argv[2], lineno);
                fclose(f);
                return 2;
            }
            p = end;
        }
        entries++;
        struct pte_slot *s = lookup(&r, (uint8_t)v[0], v[1], (uint16_t)v[3], false);
        if (s && (s->pte & ~PTE_AD_BITS) == (v[4] & ~PTE_AD_BITS) && s->level == v[2])
            continue;
        if (bad++ < 20) {
            if (s)
                fprintf(stderr, "  host %" PRIu64 " mfn %#" PRIx64 " L%" PRIu64
                        " slot %" PRIu64 ": table holds %#" PRIx64 ", trace "
                        "replays %#" PRIx64 " (written at L%u)\n", v[0], v[1],
                        v[2], v[3], v[4], s->pte, s->level);
            else
                fprintf(stderr, "  host %" PRIu64 " mfn %#" PRIx64 " L%" PRIu64
                        " slot %" PRIu64 ": table holds %#" PRIx64 ", but the "
                        "trace never writes this entry\n", v[0], v[1], v[2],
                        v[3], v[4]);
        }
    }
    fclose(f);
    printf("pte-replay: %" PRIu64 " writes to %zu entries replayed; %" PRIu64
           " dumped entries, %u differ\n", r.writes, r.used, entries, bad);
    free(r.tab);
    return bad ? 1 : 0;
}
