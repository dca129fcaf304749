/*
 * core/options.c - the hypervisor's option table.
 *
 * Rules:
 *   1. Every option is declared once, in opt_table[] below: key, kind,
 *      where it lives in struct hv_options, the values it accepts and a
 *      one-line meaning.  Nothing else parses or prints options.
 *   2. hv_option_set() changes nothing unless the whole value is accepted;
 *      its error message names the key and the accepted values.
 *   3. Defaults are today's Xen behaviour; the historical variants are the
 *      non-default values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/options.h"

enum opt_kind {
    OPT_ENUM,       /* one of names[] -> values[] (stored as an int) */
    OPT_BOOL,       /* on|off (stored as a bool) */
    OPT_UINT,       /* decimal unsigned (stored as an unsigned) */
};

#define OPT_MAX_NAMES 4

/* OPT_ENUM fields are stored through an int. */
_Static_assert(sizeof(enum ptwr_mode) == sizeof(int), "enum option width");
_Static_assert(sizeof(enum sched_strategy) == sizeof(int), "enum option width");
_Static_assert(sizeof(enum p2m_lock_mode) == sizeof(int), "enum option width");
_Static_assert(sizeof(enum shadow_fastpath_oos) == sizeof(int), "enum option width");
_Static_assert(sizeof(enum pfinfo_devalidated) == sizeof(int), "enum option width");

struct opt_desc {
    const char *key;
    enum opt_kind kind;
    size_t offset;                      /* into struct hv_options */
    const char *names[OPT_MAX_NAMES];   /* OPT_ENUM: accepted words */
    int values[OPT_MAX_NAMES];          /* OPT_ENUM: what each word stores */
    const char *accepted;               /* for messages and listings */
    const char *meaning;
};

static const struct opt_desc opt_table[] = {
    {
        .key = "shadow.oos", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, shadow_oos),
        .accepted = "on|off",
        .meaning = "HVM shadow: let a written guest L1 go out of sync "
                   "(writable, resynced at CR3 load / INVLPG)",
    },
    {
        .key = "shadow.fastpath", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, shadow_fastpath),
        .accepted = "on|off",
        .meaning = "HVM shadow: lock-free fault path for magic shadow entries",
    },
    {
        .key = "shadow.fastpath_oos", .kind = OPT_ENUM,
        .offset = offsetof(struct hv_options, shadow_fastpath_oos),
        .names = { "fixed", "racy" },
        .values = { SH_FASTPATH_OOS_FIXED, SH_FASTPATH_OOS_RACY },
        .accepted = "fixed|racy",
        .meaning = "HVM shadow fast path vs OOS: check OOS first (Xen since "
                   "2009) or after reading the shadow entry (story A)",
    },
    {
        .key = "ptwr.mode", .kind = OPT_ENUM,
        .offset = offsetof(struct hv_options, ptwr_mode),
        .names = { "emulate", "unhook" },
        .values = { PTWR_EMULATE, PTWR_UNHOOK },
        .accepted = "emulate|unhook",
        .meaning = "writable pagetables: trap and emulate each write (Xen today), "
                   "or unhook the L1 and batch (Xen 3.0)",
    },
    {
        .key = "mm.linear_pt", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, pv_linear_pt),
        .accepted = "on|off",
        .meaning = "allow PV linear (recursive) page-table entries",
    },
    {
        .key = "mm.preempt_budget", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, preempt_budget),
        .accepted = "N (0 = never preempt)",
        .meaning = "entries a long operation handles between preemption checks",
    },
    {
        .key = "mm.pfinfo_devalidated", .kind = OPT_ENUM,
        .offset = offsetof(struct hv_options, pfinfo_devalidated),
        .names = { "notab", "pt" },
        .values = { PFINFO_DEVAL_NOTAB, PFINFO_DEVAL_PT },
        .accepted = "notab|pt",
        .meaning = "getpageframeinfo3 on a devalidated, unpinned page table: "
                   "NOTAB (Xen since 0a87e677f4) or its stale type (story D)",
    },
    {
        .key = "sched.strategy", .kind = OPT_ENUM,
        .offset = offsetof(struct hv_options, sched_strategy),
        .names = { "random", "pct" },
        .values = { SCHED_RANDOM, SCHED_PCT },
        .accepted = "random|pct",
        .meaning = "det mode: pick a runnable vCPU at random at every "
                   "scheduling point, or by PCT priorities",
    },
    {
        .key = "sched.pct_depth", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, sched_pct_depth),
        .accepted = "d >= 1",
        .meaning = "det mode, PCT: bug depth d (d-1 priority change points)",
    },
    {
        .key = "sched.pct_steps", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, sched_pct_steps),
        .accepted = "k (0 = 1000000)",
        .meaning = "det mode, PCT: estimated scheduling decisions in the run "
                   "(a det run reports its count)",
    },
    {
        .key = "sched.mem_quantum", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, sched_mem_quantum),
        .accepted = "power of 2",
        .meaning = "det mode: a scheduling point every N guest memory "
                   "accesses of a vCPU",
    },
    {
        .key = "sched.deadlock_after", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, sched_deadlock),
        .accepted = "N >= 1",
        .meaning = "det mode: decisions in a row with every vCPU spinning "
                   "that make a deadlock",
    },
    {
        .key = "p2m.lock", .kind = OPT_ENUM,
        .offset = offsetof(struct hv_options, p2m_lock),
        .names = { "locked", "none" },
        .values = { P2M_LOCK_LOCKED, P2M_LOCK_NONE },
        .accepted = "locked|none",
        .meaning = "p2m lookups acted upon hold the p2m lock until put_gfn "
                   "(Xen since 2012), or take no lock (pre-2011, story B)",
    },
    {
        .key = "evtchn.max_ports", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, evtchn_max_ports),
        .accepted = "1..4095",
        .meaning = "highest event-channel port a domain may allocate "
                   "(Xen's max_event_channels; the 2-level ABI stops at 4095)",
    },
    {
        .key = "grant.max_frames", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, grant_max_frames),
        .accepted = "N >= 1",
        .meaning = "grant tables: frames a domain's table may grow to "
                   "(Xen's max_grant_frames, default 64)",
    },
    {
        .key = "grant.max_maptrack_frames", .kind = OPT_UINT,
        .offset = offsetof(struct hv_options, grant_max_maptrack_frames),
        .accepted = "N >= 1",
        .meaning = "grant tables: maptrack frames a grantee may grow to "
                   "(Xen's max_maptrack_frames, default 1024)",
    },
    {
        .key = "grant.xsa224", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, grant_xsa224),
        .accepted = "on|off",
        .meaning = "Xen <= 4.9 (XSA-224): a host-only unmap of a writable "
                   "host+device grant map also drops the device map's writable "
                   "type ref",
    },
    {
        .key = "grant.xsa227", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, grant_xsa227),
        .accepted = "on|off",
        .meaning = "Xen <= 4.9 (XSA-227): GNTMAP_contains_pte's host_addr is "
                   "not checked for 8-byte alignment (the grant PTE straddles "
                   "two L1 entries)",
    },
    {
        .key = "grant.xsa234", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, grant_xsa234),
        .accepted = "on|off",
        .meaning = "Xen <= 4.9 (XSA-234): unmap / unmap_and_replace do not "
                   "check the PTE's flags against the mapping (a writable ref "
                   "can be shuffled out)",
    },
    {
        .key = "grant.xsa255", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, grant_xsa255),
        .accepted = "on|off",
        .meaning = "Xen <= 4.10 (XSA-255): set_version 2->1 frees the status "
                   "frames though the guest still maps them",
    },
    {
        .key = "grant.xsa316", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, grant_xsa316),
        .accepted = "on|off",
        .meaning = "Xen <= 4.13 (XSA-316): map_grant_ref returns status 1, not "
                   "GNTST_general_error, when the grant entry refuses the pin",
    },
    {
        .key = "mm.xsa182", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, mm_xsa182),
        .accepted = "on|off",
        .meaning = "Xen <= 4.7 (XSA-182): mod_l2..l4 fast path lets RW change "
                   "with linear page tables allowed (a read-only recursive "
                   "entry becomes writable)",
    },
    {
        .key = "mm.xsa148", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, mm_xsa148),
        .accepted = "on|off",
        .meaning = "Xen <= 4.6 (XSA-148): mod_l2 fast path compares only frame "
                   "and P, so PSE (and RW) is set on an L2 entry unvalidated: "
                   "a 2 MiB writable mapping of an L1 table",
    },
    {
        .key = "mm.xsa240", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, mm_xsa240),
        .accepted = "on|off",
        .meaning = "Xen <= 4.9 (XSA-240): a linear entry may point at a table "
                   "that itself holds linear entries (unbounded chains)",
    },
    {
        .key = "mm.xsa309", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, mm_xsa309),
        .accepted = "on|off",
        .meaning = "Xen <= 4.13 (XSA-309): resuming a preempted page-table "
                   "validation resets linear_pt_count, dropping the linear "
                   "entries already validated (chains as in XSA-240)",
    },
    {
        .key = "mm.xsa279", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, mm_xsa279),
        .accepted = "on|off",
        .meaning = "Xen <= 4.11 (XSA-279): update_va_mapping flushes even "
                   "after a failed update, with an unaudited va; a "
                   "non-canonical UVMF_INVLPG is INVPCID #GP[0] in Xen "
                   "(host crash)",
    },
    {
        .key = "logdirty.final_marks_grants", .kind = OPT_BOOL,
        .offset = offsetof(struct hv_options, logdirty_final_marks_grants),
        .accepted = "on|off",
        .meaning = "a FINAL log-dirty CLEAN/PEEK first marks every frame with "
                   "a writable grant pin; Xen does not do this (XEN-NOTES "
                   "12.E proposes it; default off)",
    },
};

void hv_options_default(struct hv_options *o)
{
    memset(o, 0, sizeof(*o));
    o->ptwr_mode = PTWR_EMULATE;
    o->pv_linear_pt = true;
    o->preempt_budget = 0;
    o->sched_strategy = SCHED_RANDOM;
    o->sched_pct_depth = SCHED_PCT_DEPTH_DEFAULT;
    o->sched_pct_steps = 0;
    o->sched_mem_quantum = SCHED_MEM_QUANTUM_DEFAULT;
    o->sched_deadlock = SCHED_DEADLOCK_DEFAULT;
    o->p2m_lock = P2M_LOCK_LOCKED;
    o->shadow_oos = true;
    o->shadow_fastpath = true;
    o->shadow_fastpath_oos = SH_FASTPATH_OOS_FIXED;
    o->evtchn_max_ports = 1023;         /* Xen's default for a domU */
    o->grant_max_frames = 64;
    o->grant_max_maptrack_frames = 1024;
    o->pfinfo_devalidated = PFINFO_DEVAL_NOTAB;
}

static const struct opt_desc *opt_find(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
        if (strcmp(opt_table[i].key, key) == 0)
            return &opt_table[i];
    return NULL;
}

bool hv_option_known(const char *key)
{
    return key != NULL && opt_find(key) != NULL;
}

static void why_set(char *why, size_t whylen, const struct opt_desc *d,
                    const char *value)
{
    if (why && whylen)
        snprintf(why, whylen, "option %s: '%s' is not accepted (values: %s)",
                 d->key, value, d->accepted);
}

int hv_option_set(struct hv_options *o, const char *key, const char *value,
                  char *why, size_t whylen)
{
    const struct opt_desc *d = key ? opt_find(key) : NULL;
    if (d == NULL) {
        if (why && whylen) {
            size_t n = (size_t)snprintf(why, whylen,
                                        "unknown option '%s' (known:",
                                        key ? key : "");
            for (size_t i = 0; i < ARRAY_SIZE(opt_table) && n < whylen; i++)
                n += (size_t)snprintf(why + n, whylen - n, " %s",
                                      opt_table[i].key);
            if (n < whylen)
                snprintf(why + n, whylen - n, ")");
        }
        return -1;
    }
    if (value == NULL)
        value = "";
    char *field = (char *)o + d->offset;

    switch (d->kind) {
    case OPT_ENUM:
        for (unsigned i = 0; i < OPT_MAX_NAMES && d->names[i]; i++) {
            if (strcmp(d->names[i], value) == 0) {
                int v = d->values[i];
                memcpy(field, &v, sizeof(v));
                return 0;
            }
        }
        break;
    case OPT_BOOL:
        if (strcmp(value, "on") == 0 || strcmp(value, "off") == 0) {
            bool b = value[1] == 'n';
            memcpy(field, &b, sizeof(b));
            return 0;
        }
        break;
    case OPT_UINT: {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(value, &end, 10);
        if (value[0] >= '0' && value[0] <= '9' && *end == '\0' &&
            errno == 0 && n <= 0xFFFFFFFFull) {
            unsigned u = (unsigned)n;
            memcpy(field, &u, sizeof(u));
            return 0;
        }
        break;
    }
    }
    why_set(why, whylen, d, value);
    return -1;
}

/* Current value of an option as text (into buf). */
static const char *opt_value(const struct hv_options *o,
                             const struct opt_desc *d, char *buf, size_t len)
{
    const char *field = (const char *)o + d->offset;
    switch (d->kind) {
    case OPT_ENUM: {
        int v;
        memcpy(&v, field, sizeof(v));
        for (unsigned i = 0; i < OPT_MAX_NAMES && d->names[i]; i++)
            if (d->values[i] == v)
                return d->names[i];
        snprintf(buf, len, "?%d", v);
        return buf;
    }
    case OPT_BOOL: {
        bool b;
        memcpy(&b, field, sizeof(b));
        return b ? "on" : "off";
    }
    case OPT_UINT: {
        unsigned u;
        memcpy(&u, field, sizeof(u));
        snprintf(buf, len, "%u", u);
        return buf;
    }
    }
    return "?";
}

void hv_options_print(const struct hv_options *o, FILE *f)
{
    char buf[32];
    for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++) {
        const struct opt_desc *d = &opt_table[i];
        fprintf(f, "%-20s = %-8s  [%s]  %s\n", d->key,
                opt_value(o, d, buf, sizeof(buf)), d->accepted, d->meaning);
    }
}
