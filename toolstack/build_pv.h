/*
 * toolstack/build_pv.h - the PV domain builder.
 *
 * Builds a PV domain as Xen's toolstack (libxenguest) does, and exactly as
 * the boot contract at the top of guest/guest.h describes: populate all of
 * its memory, lay out start_info, the p2m list and the bootstrap page
 * tables in guest frames, set vCPU 0's initial context, and point every vCPU
 * at the PV kernel.
 */
#ifndef HVLAB_TOOLSTACK_BUILD_PV_H
#define HVLAB_TOOLSTACK_BUILD_PV_H

#include <stddef.h>

#include "core/types.h"
#include "guest/guest.h"

struct domain;
struct guest_pv;
struct machine;

struct build_pv_config {
    domid_t domid;
    unsigned nr_vcpus;
    uint64_t nr_pages;                  /* all of its memory */
    const struct guest_options *gopt;
    const struct workload_params *wl;
    bool privileged;                    /* dom0-like: may act on others */
};

/* Where the builder put things (pfns), for reports and tests. */
struct build_pv_layout {
    pfn_t start_info_pfn;               /* 0 */
    pfn_t p2m_pfn;                      /* first pfn of the p2m list */
    uint64_t nr_p2m_frames;
    pfn_t pt_pfn;                       /* the L4; tables follow it */
    uint64_t nr_pt_frames;              /* L4 + L3s + L2s + L1s */
    uint64_t nr_l3, nr_l2, nr_l1;
    mfn_t l4_mfn;
};

/*
 * Create and build domain cfg->domid on m.  On success returns 0 with *d the
 * domain (vCPUs ready to run: entry = guest_pv_vcpu_main) and *g its kernel
 * instance (free with guest_pv_free after the domain is destroyed).  On
 * failure returns -XEN_E*, writes "what failed: why" into err[], and leaves
 * no domain behind.
 */
int build_pv(struct machine *m, const struct build_pv_config *cfg,
             struct domain **d, struct guest_pv **g,
             struct build_pv_layout *layout, char *err, size_t errlen);

/* "-XEN_ENOMEM" for -XEN_ENOMEM: the name of a negative Xen errno. */
const char *build_errname(int rc);
/* Format a builder error into err[] ("what failed: -XEN_E..." when rc is an
   error) and return rc (or -XEN_EINVAL when rc is 0).  Shared by every
   domain builder. */
int build_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The layout build_pv uses for a domain of nr_pages (pure arithmetic). */
void build_pv_plan(uint64_t nr_pages, struct build_pv_layout *layout);

#endif /* HVLAB_TOOLSTACK_BUILD_PV_H */
