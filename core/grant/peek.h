/*
 * core/grant/peek.h - read-only questions about a domain's grant table, for
 * callers outside core/grant that judge the hypervisor from the outside
 * (the fuzzer's contract and isolation oracles, fuzz/call.c CA7 and
 * fuzz/isolation.c I1).  core/grant/peek.c states the rules.
 */
#ifndef HVLAB_CORE_GRANT_PEEK_H
#define HVLAB_CORE_GRANT_PEEK_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/grant_table.h>

#include "core/types.h"

struct domain;

/* What one entry of a granter's table holds right now (K2). */
struct gnttab_peek {
    unsigned version;           /* the table's version, 1 or 2 */
    domid_t entry_domid;        /* the domid the guest wrote in the entry */
    uint16_t entry_flags;       /* its GTF_* flags (v2: the header's) */
    uint64_t entry_frame;       /* its frame (v2: full_page.frame) */
    uint32_t pin;               /* Xen's pin counters (0: not pinned) */
    domid_t pin_domid;          /* the grantee holding the pins, if any */
};

/* K2: 0 and *out, or -XEN_EINVAL when rd has no table (or a released
   one) or ref is not below its number of entries. */
int gnttab_peek_entry(struct domain *rd, grant_ref_t ref,
                      struct gnttab_peek *out);

/* K3: is mfn one of d's v2 status frames (the table at version 2)? */
bool gnttab_is_status_frame(struct domain *d, mfn_t mfn);

/* K3: d's status frame idx while its table is at version 2 (idx below its
   number of status frames), else INVALID_MFN. */
mfn_t gnttab_status_frame(struct domain *d, unsigned idx);

#endif /* HVLAB_CORE_GRANT_PEEK_H */
