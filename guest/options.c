/*
 * guest/options.c - the guest kernel's run options and workload names.
 *
 * Rules:
 *   1. Every option is declared once, in the table below (key, values,
 *      default, meaning); set, known and print read only the table.
 *   2. An unknown key is -1 with "unknown key" in why[] (the caller may try
 *      the hypervisor's table next); a bad value names the values accepted.
 */
#include <stdio.h>
#include <string.h>

#include "guest/guest.h"

const char *const workload_kind_name[WL_NR] = {
    [WL_FORK_STORM] = "fork-storm",
    [WL_MMAP_CHURN] = "mmap-churn",
    [WL_MEMTOUCH]   = "memtouch",
    [WL_P2M_RACE]   = "p2m-race",
    [WL_BLK_IO]     = "blk-io",
    [WL_BLKBACK]    = "blkback",
    [WL_GRANT_POC]  = "grant-poc",
    [WL_PT_REUSE]   = "pt-reuse",
};

static const char *const pt_updates_name[] = {
    [GPT_WRITABLE]   = "writable",
    [GPT_MMU_UPDATE] = "mmu_update",
    [GPT_MIXED]      = "mixed",
};

enum gopt_id { GOPT_SPURIOUS_CHECK, GOPT_PT_UPDATES, GOPT_BLKBACK_PERSISTENT,
                GOPT_BLKBACK_QUIESCE };

static const struct gopt_desc {
    enum gopt_id id;
    const char *key;
    const char *values;
    const char *meaning;
} gopt_table[] = {
    { GOPT_SPURIOUS_CHECK, "guest.spurious_check", "on|off",
      "#PF handler ignores faults whose PTE is present (off: such a fault "
      "kills the process, as old kernels did)" },
    { GOPT_PT_UPDATES, "guest.pt_updates", "writable|mmu_update|mixed",
      "how the kernel writes L1 entries of live page tables: stores trapped "
      "by writable pagetables, batched mmu_update, or Linux's mix" },
    { GOPT_BLKBACK_PERSISTENT, "blkback.persistent", "on|off",
      "blkback offers persistent grants (feature-persistent): data pages "
      "stay mapped in a bounded cache instead of map/unmap per request" },
    { GOPT_BLKBACK_QUIESCE, "blkback.quiesce", "on|off",
      "on a frontend's Closing or a vbd's suspend=1, blkback completes every "
      "request it took and unmaps every grant before acknowledging (off: "
      "acknowledges at once, story E)" },
};

void guest_options_default(struct guest_options *o)
{
    o->spurious_check = true;
    o->pt_updates = GPT_MIXED;
    o->blkback_persistent = false;
    o->blkback_quiesce = true;
}

static const struct gopt_desc *gopt_find(const char *key)
{
    for (size_t i = 0; i < sizeof(gopt_table) / sizeof(gopt_table[0]); i++)
        if (strcmp(gopt_table[i].key, key) == 0)
            return &gopt_table[i];
    return NULL;
}

bool guest_option_known(const char *key)
{
    return gopt_find(key) != NULL;
}

int guest_option_set(struct guest_options *o, const char *key,
                     const char *value, char *why, size_t whylen)
{
    const struct gopt_desc *d = gopt_find(key);

    if (d == NULL) {
        snprintf(why, whylen, "unknown key '%s'", key);
        return -1;
    }
    switch (d->id) {
    case GOPT_SPURIOUS_CHECK:
        if (strcmp(value, "on") == 0) {
            o->spurious_check = true;
            return 0;
        }
        if (strcmp(value, "off") == 0) {
            o->spurious_check = false;
            return 0;
        }
        break;
    case GOPT_BLKBACK_PERSISTENT:
    case GOPT_BLKBACK_QUIESCE: {
        bool *b = d->id == GOPT_BLKBACK_PERSISTENT ? &o->blkback_persistent
                                                   : &o->blkback_quiesce;
        if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
            *b = value[1] == 'n';
            return 0;
        }
        break;
    }
    case GOPT_PT_UPDATES:
        for (unsigned i = 0; i < sizeof(pt_updates_name) / sizeof(pt_updates_name[0]); i++) {
            if (strcmp(value, pt_updates_name[i]) == 0) {
                o->pt_updates = (enum guest_pt_updates)i;
                return 0;
            }
        }
        break;
    }
    snprintf(why, whylen, "%s: bad value '%s' (accepted: %s)", key, value,
             d->values);
    return -1;
}

void guest_options_print(const struct guest_options *o, FILE *f)
{
    for (size_t i = 0; i < sizeof(gopt_table) / sizeof(gopt_table[0]); i++) {
        const struct gopt_desc *d = &gopt_table[i];
        const char *cur = "?";
        switch (d->id) {
        case GOPT_SPURIOUS_CHECK:
            cur = o->spurious_check ? "on" : "off";
            break;
        case GOPT_PT_UPDATES:
            if ((unsigned)o->pt_updates < sizeof(pt_updates_name) / sizeof(pt_updates_name[0]))
                cur = pt_updates_name[o->pt_updates];
            break;
        case GOPT_BLKBACK_PERSISTENT:
            cur = o->blkback_persistent ? "on" : "off";
            break;
        case GOPT_BLKBACK_QUIESCE:
            cur = o->blkback_quiesce ? "on" : "off";
            break;
        }
        fprintf(f, "%-22s = %-10s (%s) %s\n", d->key, cur, d->values, d->meaning);
    }
}
