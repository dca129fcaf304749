/*
 * toolstack/build_hvm.h - the HVM domain builder.
 *
 * Builds an HVM domain PVH-style, exactly as the HVM boot contract at the
 * end of guest/guest.h describes: create the domain with its paging mode,
 * populate its RAM, write the hvm_start_info and memory map into gfn 0 and
 * the initial gfn-based page tables after it, set every vCPU's guest CR3,
 * and point every vCPU at the HVM kernel.
 */
#ifndef HVLAB_TOOLSTACK_BUILD_HVM_H
#define HVLAB_TOOLSTACK_BUILD_HVM_H

#include <stddef.h>

#include "core/domain.h"
#include "core/types.h"
#include "guest/guest.h"

struct domain;
struct guest_hvm;
struct machine;

struct build_hvm_config {
    domid_t domid;
    unsigned nr_vcpus;
    uint64_t nr_pages;                  /* all of its RAM */
    enum paging_mode paging;            /* PAGING_SHADOW or PAGING_HAP */
    const struct guest_options *gopt;
    const struct workload_params *wl;
};

/* Where the builder put things (gfns), for reports and tests. */
struct build_hvm_layout {
    pfn_t start_info_gfn;               /* 0, memory map right after it */
    pfn_t l4_gfn;                       /* 1; L3s, L2s, L1s follow */
    uint64_t nr_pt_frames;              /* L4 + L3s + L2s + L1s */
    uint64_t nr_l3, nr_l2, nr_l1;
    pfn_t first_free_gfn;               /* first gfn after the boot frames */
};

/*
 * Create and build domain cfg->domid on m.  On success returns 0 with *d
 * the domain (vCPUs ready to run: entry = guest_hvm_vcpu_main) and *g its
 * kernel instance (free with guest_hvm_free after the domain is destroyed).
 * On failure returns -XEN_E* (-XEN_EOPNOTSUPP / -XEN_ENOSYS while the
 * hypervisor cannot run HVM domains), writes "what failed: why" into err[],
 * and leaves no domain behind.
 */
int build_hvm(struct machine *m, const struct build_hvm_config *cfg,
              struct domain **d, struct guest_hvm **g,
              struct build_hvm_layout *layout, char *err, size_t errlen);

/* The layout build_hvm uses for a domain of nr_pages (pure arithmetic). */
void build_hvm_plan(uint64_t nr_pages, struct build_hvm_layout *layout);

#endif /* HVLAB_TOOLSTACK_BUILD_HVM_H */
