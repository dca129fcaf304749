/*
 * toolstack/build_hvm.c - build an HVM domain, PVH-style.
 *
 * Guest-physical layout (gfns), the HVM boot contract of guest/guest.h:
 *
 *     0                 struct hvm_start_info, its memory map right after
 *     1                 the L4 (the initial CR3)
 *     then              L3s, L2s, L1s of the direct map
 *     after that        free memory for the kernel
 *
 * The direct map puts gfn p at GUEST_DIRECTMAP_BASE + p * 4 KiB for every
 * RAM gfn: kernel-only, P|RW|A|D, page-table frames included (an HVM guest
 * may map its own tables writable; the hypervisor copes).
 *
 * Rules:
 *   B1  The tables hold gfns.  The builder writes them, the start info and
 *       the memory map through domctl_map_foreign of the mfns
 *       domctl_populate returned: nothing validates an HVM guest's tables,
 *       so there is no domctl_build_pte here; the hypervisor reads them
 *       only when the guest runs (shadow) or the MMU walks them (hap).
 *   B2  Every vCPU starts with its guest CR3 at the L4 (the HVM context
 *       load: domctl_set_hvm_cr3).
 *   B3  On failure the domain is destroyed: a failed build leaves nothing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <xen/arch-x86/hvm/start_info.h>

#include "core/domctl.h"
#include "core/machine.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"

#define BUILD_TABLE_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define BUILD_DATA_FLAGS    (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

#define GFNS_PER_L1         (1ULL << 9)
#define GFNS_PER_L2         (1ULL << 18)
#define GFNS_PER_L3         (1ULL << 27)

#define MEMMAP_OFFSET       128     /* after the start info, in gfn 0 */

_Static_assert(sizeof(struct hvm_start_info) <= MEMMAP_OFFSET,
               "the memory map follows the start info");

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

void build_hvm_plan(uint64_t nr_pages, struct build_hvm_layout *l)
{
    memset(l, 0, sizeof(*l));
    l->start_info_gfn = 0;
    l->l4_gfn = 1;
    l->nr_l1 = div_up(nr_pages, GFNS_PER_L1);
    l->nr_l2 = div_up(nr_pages, GFNS_PER_L2);
    l->nr_l3 = div_up(nr_pages, GFNS_PER_L3);
    l->nr_pt_frames = 1 + l->nr_l3 + l->nr_l2 + l->nr_l1;
    l->first_free_gfn = l->l4_gfn + l->nr_pt_frames;
}

/* One entry of a table frame, through the builder's foreign mapping (B1). */
static int put_entry(struct domain *d, const mfn_t *mfns, pfn_t table,
                     unsigned slot, pte_t val)
{
    pte_t *t = domctl_map_foreign(d, mfns[table]);
    if (!t)
        return -XEN_EINVAL;
    t[slot] = val;
    return 0;
}

static int build_tables(struct domain *d, const struct build_hvm_layout *l,
                        const mfn_t *mfns, uint64_t nr_pages, char *err,
                        size_t errlen)
{
    const pfn_t l4 = l->l4_gfn;
    const pfn_t l3_0 = l4 + 1;
    const pfn_t l2_0 = l3_0 + l->nr_l3;
    const pfn_t l1_0 = l2_0 + l->nr_l2;
    const unsigned l4_slot0 = pt_index(GUEST_DIRECTMAP_BASE, 4);

    for (pfn_t t = l4; t < l->first_free_gfn; t++) {
        void *page = domctl_map_foreign(d, mfns[t]);
        if (!page)
            return build_err(err, errlen, -XEN_EINVAL, "mapping table gfn %#llx",
                        (unsigned long long)t);
        memset(page, 0, PAGE_SIZE);
    }
    for (uint64_t i = 0; i < l->nr_l3; i++)
        if (put_entry(d, mfns, l4, l4_slot0 + (unsigned)i,
                      pte_make(l3_0 + i, BUILD_TABLE_FLAGS)))
            return build_err(err, errlen, -XEN_EINVAL, "writing L4 slot %u",
                        l4_slot0 + (unsigned)i);
    for (uint64_t i = 0; i < l->nr_l2; i++)
        if (put_entry(d, mfns, l3_0 + i / PT_ENTRIES, (unsigned)(i % PT_ENTRIES),
                      pte_make(l2_0 + i, BUILD_TABLE_FLAGS)))
            return build_err(err, errlen, -XEN_EINVAL, "writing the L3 entry of "
                        "L2 #%llu", (unsigned long long)i);
    for (uint64_t i = 0; i < l->nr_l1; i++)
        if (put_entry(d, mfns, l2_0 + i / PT_ENTRIES, (unsigned)(i % PT_ENTRIES),
                      pte_make(l1_0 + i, BUILD_TABLE_FLAGS)))
            return build_err(err, errlen, -XEN_EINVAL, "writing the L2 entry of "
                        "L1 #%llu", (unsigned long long)i);
    for (pfn_t p = 0; p < nr_pages; p++)
        if (put_entry(d, mfns, l1_0 + p / GFNS_PER_L1, (unsigned)(p % PT_ENTRIES),
                      pte_make(p, BUILD_DATA_FLAGS)))
            return build_err(err, errlen, -XEN_EINVAL, "writing the L1 entry of "
                        "gfn %#llx", (unsigned long long)p);
    return 0;
}

static int build_start_info(struct domain *d, const struct build_hvm_layout *l,
                            const mfn_t *mfns, uint64_t nr_pages, char *err,
                            size_t errlen)
{
    uint8_t *page = domctl_map_foreign(d, mfns[l->start_info_gfn]);
    if (!page)
        return build_err(err, errlen, -XEN_EINVAL, "mapping gfn 0 (mfn %#llx)",
                    (unsigned long long)mfns[l->start_info_gfn]);
    memset(page, 0, PAGE_SIZE);

    struct hvm_start_info *si = (struct hvm_start_info *)page;
    struct hvm_memmap_table_entry *mm =
        (struct hvm_memmap_table_entry *)(page + MEMMAP_OFFSET);
    mm[0] = (struct hvm_memmap_table_entry){
        .addr = 0, .size = (uint64_t)l->first_free_gfn << PAGE_SHIFT,
        .type = XEN_HVM_MEMMAP_TYPE_RESERVED };
    mm[1] = (struct hvm_memmap_table_entry){
        .addr = (uint64_t)l->first_free_gfn << PAGE_SHIFT,
        .size = (nr_pages - l->first_free_gfn) << PAGE_SHIFT,
        .type = XEN_HVM_MEMMAP_TYPE_RAM };
    si->magic = XEN_HVM_START_MAGIC_VALUE;
    si->version = 1;
    si->memmap_paddr = ((uint64_t)l->start_info_gfn << PAGE_SHIFT) + MEMMAP_OFFSET;
    si->memmap_entries = 2;
    return 0;
}

int build_hvm(struct machine *m, const struct build_hvm_config *cfg,
              struct domain **dp, struct guest_hvm **gp,
              struct build_hvm_layout *layout, char *err, size_t errlen)
{
    struct build_hvm_layout l;
    struct domain *d = NULL;
    struct guest_hvm *g = NULL;
    mfn_t *mfns = NULL;
    int rc;

    *dp = NULL;
    *gp = NULL;
    build_hvm_plan(cfg->nr_pages, &l);
    if (l.first_free_gfn >= cfg->nr_pages)
        return build_err(err, errlen, -XEN_EINVAL, "dom%u: %llu pages cannot hold "
                    "its own boot frames (%llu)", cfg->domid,
                    (unsigned long long)cfg->nr_pages,
                    (unsigned long long)l.first_free_gfn);
    if (cfg->paging != PAGING_SHADOW && cfg->paging != PAGING_HAP)
        return build_err(err, errlen, -XEN_EINVAL, "dom%u: an HVM domain needs "
                    "paging=shadow or paging=hap", cfg->domid);

    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = cfg->nr_vcpus,
        .max_pages = cfg->nr_pages, .privileged = false, .domid = cfg->domid,
        .paging = cfg->paging,
    };
    rc = domain_create(m, &dc, &d);
    if (rc)
        return build_err(err, errlen, rc, "dom%u: domain_create (HVM, %s paging, "
                    "%u vCPUs, %llu pages)", cfg->domid,
                    cfg->paging == PAGING_HAP ? "hap" : "shadow",
                    cfg->nr_vcpus, (unsigned long long)cfg->nr_pages);

    mfns = calloc(cfg->nr_pages, sizeof(*mfns));
    if (!mfns) {
        rc = build_err(err, errlen, -XEN_ENOMEM, "dom%u: mfn array", cfg->domid);
        goto fail;
    }
    rc = domctl_populate(d, 0, cfg->nr_pages, mfns);
    if (rc) {
        build_err(err, errlen, rc, "dom%u: populating %llu pages", cfg->domid,
             (unsigned long long)cfg->nr_pages);
        goto fail;
    }
    rc = build_start_info(d, &l, mfns, cfg->nr_pages, err, errlen);
    if (rc)
        goto fail;
    rc = build_tables(d, &l, mfns, cfg->nr_pages, err, errlen);
    if (rc)
        goto fail;

    for (unsigned i = 0; i < d->nr_vcpus; i++) {    /* B2 */
        /* The HVM context load. */
        rc = domctl_set_hvm_cr3(d->vcpu[i], (uint64_t)l.l4_gfn << PAGE_SHIFT);
        if (rc) {
            build_err(err, errlen, rc, "dom%u: setting vCPU %u's CR3 (the L4, gfn "
                 "%#llx)", cfg->domid, i, (unsigned long long)l.l4_gfn);
            goto fail;
        }
    }

    g = guest_hvm_new(GUEST_DIRECTMAP_BASE +
                      ((uint64_t)l.start_info_gfn << PAGE_SHIFT),
                      cfg->gopt, cfg->wl);
    if (!g) {
        rc = build_err(err, errlen, -XEN_ENOMEM, "dom%u: guest_hvm_new", cfg->domid);
        goto fail;
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        d->vcpu[i]->entry = guest_hvm_vcpu_main;
        d->vcpu[i]->entry_arg = g;
    }
    free(mfns);
    if (layout)
        *layout = l;
    *dp = d;
    *gp = g;
    return 0;

fail:   /* B3 */
    free(mfns);
    if (d)
        domain_destroy(d);
    return rc;
}
