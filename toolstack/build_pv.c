/*
 * toolstack/build_pv.c - build a PV domain the way Xen's toolstack does.
 *
 * Guest-physical layout (pfns), the boot contract of guest/guest.h:
 *
 *     0                 start_info (start_info_t of <xen/xen.h>)
 *     1 .. P            the p2m list: one xen_pfn_t mfn per pfn
 *     P+1               the L4 (si.pt_base)
 *     then              L3s, L2s, L1s of the direct map (si.nr_pt_frames
 *                       counts the L4 and all of these)
 *     after that        free memory for the kernel
 *
 * The direct map puts pfn p at GUEST_DIRECTMAP_BASE + p * 4 KiB for every
 * pfn of the domain: kernel-only, P|RW|A|D, except the page-table frames,
 * which are mapped read-only (Xen refuses to validate a table that is
 * writable anywhere).
 *
 * Rules:
 *   B1  Every PTE of the bootstrap tables is written with domctl_build_pte
 *       (traced, path=build), so a trace replays each table from empty.
 *   B2  Data (start_info, the p2m list) is written through
 *       domctl_map_foreign only; the builder never writes hypervisor state.
 *   B3  vCPU 0's initial context makes the L4 its kernel root (the
 *       hypervisor validates the whole tree there).  hvlab has no
 *       VCPUOP_initialise yet, so the other vCPUs get the same root as their
 *       initial context too (one more type ref on the validated L4): without
 *       a root a vCPU cannot reach its first hypercall argument.
 *   B4  On failure the domain is destroyed: a failed build leaves nothing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/domctl.h"
#include "core/machine.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "toolstack/build_pv.h"

/* Flags of the bootstrap mappings. */
#define BUILD_TABLE_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define BUILD_DATA_FLAGS    (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define BUILD_PT_FLAGS      (_PAGE_PRESENT | _PAGE_ACCESSED)

#define PFNS_PER_L1         (1ULL << 9)
#define PFNS_PER_L2         (1ULL << 18)
#define PFNS_PER_L3         (1ULL << 27)

_Static_assert((GUEST_DIRECTMAP_BASE & ((1ULL << 39) - 1)) == 0,
               "the direct map starts at an L4 slot boundary");

int build_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < errlen && rc)
        snprintf(err + n, errlen - n, ": %s", build_errname(rc));
    return rc ? rc : -XEN_EINVAL;
}

/* Xen's errno list, as a table (aliases such as EWOULDBLOCK come second
   and are never returned by the lookup). */
static const struct { int value; const char *name; } xen_errnos[] = {
#define XEN_ERRNO(name, value) { value, "-XEN_" #name },
#include <xen/errno.h>
};

const char *build_errname(int rc)
{
    if (-rc == HV_ERESTART)
        return "-HV_ERESTART";
    for (size_t i = 0; i < ARRAY_SIZE(xen_errnos); i++)
        if (xen_errnos[i].value == -rc)
            return xen_errnos[i].name;
    return "unknown error";
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

void build_pv_plan(uint64_t nr_pages, struct build_pv_layout *l)
{
    memset(l, 0, sizeof(*l));
    l->start_info_pfn = 0;
    l->p2m_pfn = 1;
    l->nr_p2m_frames = div_up(nr_pages * sizeof(xen_pfn_t), PAGE_SIZE);
    l->nr_l1 = div_up(nr_pages, PFNS_PER_L1);
    l->nr_l2 = div_up(nr_pages, PFNS_PER_L2);
    l->nr_l3 = div_up(nr_pages, PFNS_PER_L3);
    l->pt_pfn = l->p2m_pfn + l->nr_p2m_frames;
    l->nr_pt_frames = 1 + l->nr_l3 + l->nr_l2 + l->nr_l1;
    l->l4_mfn = INVALID_MFN;
}

static uint64_t directmap_va(pfn_t pfn)
{
    return GUEST_DIRECTMAP_BASE + (pfn << PAGE_SHIFT);
}

/* Write the page tables (B1).  mfns[] is the p2m. */
static int build_tables(struct domain *d, const struct build_pv_layout *l,
                        const mfn_t *mfns, uint64_t nr_pages, char *err,
                        size_t errlen)
{
    const pfn_t l4 = l->pt_pfn;
    const pfn_t l3_0 = l4 + 1;
    const pfn_t l2_0 = l3_0 + l->nr_l3;
    const pfn_t l1_0 = l2_0 + l->nr_l2;
    const pfn_t pt_end = l->pt_pfn + l->nr_pt_frames;
    const unsigned l4_slot0 = pt_index(GUEST_DIRECTMAP_BASE, 4);
    int rc;

    /* L4 -> L3s: one slot per L3, starting at the direct map's slot. */
    for (uint64_t i = 0; i < l->nr_l3; i++) {
        rc = domctl_build_pte(d, mfns[l4], 4, l4_slot0 + (unsigned)i,
                              pte_make(mfns[l3_0 + i], BUILD_TABLE_FLAGS));
        if (rc)
            return build_err(err, errlen, rc, "writing L4 slot %u",
                        l4_slot0 + (unsigned)i);
    }
    /* L3s -> L2s. */
    for (uint64_t i = 0; i < l->nr_l2; i++) {
        rc = domctl_build_pte(d, mfns[l3_0 + i / PT_ENTRIES], 3,
                              (unsigned)(i % PT_ENTRIES),
                              pte_make(mfns[l2_0 + i], BUILD_TABLE_FLAGS));
        if (rc)
            return build_err(err, errlen, rc, "writing L3 entry for L2 #%llu",
                        (unsigned long long)i);
    }
    /* L2s -> L1s. */
    for (uint64_t i = 0; i < l->nr_l1; i++) {
        rc = domctl_build_pte(d, mfns[l2_0 + i / PT_ENTRIES], 2,
                              (unsigned)(i % PT_ENTRIES),
                              pte_make(mfns[l1_0 + i], BUILD_TABLE_FLAGS));
        if (rc)
            return build_err(err, errlen, rc, "writing L2 entry for L1 #%llu",
                        (unsigned long long)i);
    }
    /* L1s -> every pfn; page-table frames read-only. */
    for (pfn_t p = 0; p < nr_pages; p++) {
        bool is_pt = p >= l->pt_pfn && p < pt_end;
        rc = domctl_build_pte(d, mfns[l1_0 + p / PFNS_PER_L1], 1,
                              (unsigned)(p % PT_ENTRIES),
                              pte_make(mfns[p], is_pt ? BUILD_PT_FLAGS
                                                      : BUILD_DATA_FLAGS));
        if (rc)
            return build_err(err, errlen, rc, "writing the L1 entry of pfn %#llx",
                        (unsigned long long)p);
    }
    return 0;
}

/* start_info and the p2m list (B2). */
static int build_data(struct domain *d, const struct build_pv_layout *l,
                      const mfn_t *mfns, uint64_t nr_pages, char *err,
                      size_t errlen)
{
    start_info_t *si = domctl_map_foreign(d, mfns[l->start_info_pfn]);
    if (!si)
        return build_err(err, errlen, -XEN_EINVAL, "mapping start_info (pfn 0, "
                    "mfn %#llx)", (unsigned long long)mfns[0]);
    memset(si, 0, sizeof(*si));
    snprintf(si->magic, sizeof(si->magic), "xen-3.0-x86_64");
    si->nr_pages = nr_pages;
    /* Machine address of the domain's shared_info (core/evtchn.c). */
    si->shared_info = d->shared_info_mfn == INVALID_MFN
                      ? 0 : d->shared_info_mfn << PAGE_SHIFT;
    /* dom0 is told so, as Xen's builder does; a domU gets no flags. */
    si->flags = d->is_privileged ? SIF_PRIVILEGED | SIF_INITDOMAIN : 0;
    si->pt_base = directmap_va(l->pt_pfn);
    si->nr_pt_frames = l->nr_pt_frames;
    si->mfn_list = directmap_va(l->p2m_pfn);
    si->first_p2m_pfn = l->p2m_pfn;
    si->nr_p2m_frames = l->nr_p2m_frames;

    for (uint64_t f = 0; f < l->nr_p2m_frames; f++) {
        xen_pfn_t *list = domctl_map_foreign(d, mfns[l->p2m_pfn + f]);
        if (!list)
            return build_err(err, errlen, -XEN_EINVAL, "mapping p2m frame %llu",
                        (unsigned long long)f);
        uint64_t first = f * (PAGE_SIZE / sizeof(xen_pfn_t));
        for (uint64_t i = 0; i < PAGE_SIZE / sizeof(xen_pfn_t); i++)
            list[i] = first + i < nr_pages ? mfns[first + i] : ~(xen_pfn_t)0;
    }
    return 0;
}

int build_pv(struct machine *m, const struct build_pv_config *cfg,
             struct domain **dp, struct guest_pv **gp,
             struct build_pv_layout *layout, char *err, size_t errlen)
{
    struct build_pv_layout l;
    struct domain *d = NULL;
    struct guest_pv *g = NULL;
    mfn_t *mfns = NULL;
    int rc;

    *dp = NULL;
    *gp = NULL;
    build_pv_plan(cfg->nr_pages, &l);
    if (l.pt_pfn + l.nr_pt_frames >= cfg->nr_pages)
        return build_err(err, errlen, -XEN_EINVAL, "dom%u: %llu pages cannot hold "
                    "its own boot frames (%llu)", cfg->domid,
                    (unsigned long long)cfg->nr_pages,
                    (unsigned long long)(l.pt_pfn + l.nr_pt_frames));

    struct domain_config dc = {
        .kind = DOMAIN_PV, .nr_vcpus = cfg->nr_vcpus,
        .max_pages = cfg->nr_pages, .privileged = cfg->privileged, .domid = cfg->domid,
    };
    rc = domain_create(m, &dc, &d);
    if (rc)
        return build_err(err, errlen, rc, "dom%u: domain_create (%u vCPUs, %llu "
                    "pages)", cfg->domid, cfg->nr_vcpus,
                    (unsigned long long)cfg->nr_pages);

    mfns = calloc(cfg->nr_pages, sizeof(*mfns));
    if (!mfns) {
        rc = build_err(err, errlen, -XEN_ENOMEM, "dom%u: p2m array", cfg->domid);
        goto fail;
    }
    rc = domctl_populate(d, 0, cfg->nr_pages, mfns);
    if (rc) {
        build_err(err, errlen, rc, "dom%u: populating %llu pages", cfg->domid,
             (unsigned long long)cfg->nr_pages);
        goto fail;
    }
    rc = build_data(d, &l, mfns, cfg->nr_pages, err, errlen);
    if (rc)
        goto fail;
    rc = build_tables(d, &l, mfns, cfg->nr_pages, err, errlen);
    if (rc)
        goto fail;
    l.l4_mfn = mfns[l.pt_pfn];

    /* B3: the hypervisor validates the whole tree at vCPU 0. */
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        rc = domctl_set_vcpu_context(d->vcpu[i], l.l4_mfn, INVALID_MFN);
        if (rc) {
            build_err(err, errlen, rc, "dom%u: setting vCPU %u's context (kernel "
                 "root: the L4, mfn %#llx)", cfg->domid, i,
                 (unsigned long long)l.l4_mfn);
            goto fail;
        }
    }

    g = guest_pv_new(directmap_va(l.start_info_pfn), cfg->gopt, cfg->wl);
    if (!g) {
        rc = build_err(err, errlen, -XEN_ENOMEM, "dom%u: guest_pv_new", cfg->domid);
        goto fail;
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        d->vcpu[i]->entry = guest_pv_vcpu_main;
        d->vcpu[i]->entry_arg = g;
    }
    free(mfns);
    if (layout)
        *layout = l;
    *dp = d;
    *gp = g;
    return 0;

fail:   /* B4 */
    free(mfns);
    if (d)
        domain_destroy(d);
    return rc;
}
