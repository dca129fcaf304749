/*
 * tests/unit/pv_fixture.h - a small PV domain ready for hypercalls.
 *
 * Header-only.  fix_setup() gives a test:
 *
 *   - a machine (default 64 MiB) and one PV domain (domid 1, default one
 *     vCPU) with FIX_NR_FRAMES frames populated at pfns 0..;
 *   - a four-level tree built the way a domain builder does it
 *     (domctl_build_pte, traced path=build), then validated by
 *     domctl_set_vcpu_context as vCPU 0's kernel root (every vCPU gets the
 *     same root):
 *
 *       pfn 0  L4   slot 0 -> L3
 *       pfn 1  L3   slot 1 -> L2               (VA 1 GiB)
 *       pfn 2  L2   slot 0 -> L1
 *       pfn 3  L1   slots 0..15    -> data pfns 4..19, RW  (FIX_DATA_VA)
 *                   slots 256..259 -> pfns 0..3, read-only (FIX_PT_VA)
 *       pfns 20..  spare: populated, unmapped, untyped (fix_spare())
 *
 *     so a test can read (and, for writable pagetables, write) the four
 *     tables at FIX_PT_VA + level-index * 4 KiB;
 *   - the first FIX_BUF_PAGES data pages are the "guest buffer": put a
 *     hypercall argument there with fix_put() and pass its guest VA;
 *   - `current` = vCPU 0, in kernel mode.
 *
 * No helper asserts: they return an error and the test decides (REQUIRE).
 * fix_teardown() destroys everything and reports whether the machine got
 * every frame back and the audit stayed clean.
 */
#ifndef HVLAB_TESTS_UNIT_PV_FIXTURE_H
#define HVLAB_TESTS_UNIT_PV_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/mm.h"
#include "core/mm/page.h"
#include "core/mm/pv_pt.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/vcpu.h"

/*
 * REQUIRE that evaluates its condition once (test.h's REQUIRE evaluates it
 * twice, so REQUIRE(get_page(...)) would take two references).
 */
#define FIX_REQUIRE(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: FIX_REQUIRE(%s) failed\n", __FILE__, \
                __LINE__, #cond); \
        exit(1); \
    } } while (0)

#define FIX_DOMID           1
#define FIX_NR_FRAMES       64          /* populated pfns 0..63 */
#define FIX_NR_DATA         16          /* data pfns 4..19 */
#define FIX_FIRST_DATA_PFN  4
#define FIX_FIRST_SPARE_PFN (FIX_FIRST_DATA_PFN + FIX_NR_DATA)
#define FIX_NR_SPARE        (FIX_NR_FRAMES - FIX_FIRST_SPARE_PFN)
#define FIX_BUF_PAGES       4           /* the first data pages */

#define FIX_DATA_VA         0x0000000040000000ULL  /* L4 0, L3 1, L2 0 */
#define FIX_PT_SLOT         256                    /* L1 slot of the L4 */
#define FIX_PT_VA           (FIX_DATA_VA + FIX_PT_SLOT * PAGE_SIZE)
#define FIX_BUF_VA          FIX_DATA_VA
#define FIX_BUF_BYTES       (FIX_BUF_PAGES * PAGE_SIZE)

/* Flags the builder uses. */
#define FIX_PDE_FLAGS  (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define FIX_DATA_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define FIX_RO_FLAGS   (_PAGE_PRESENT | _PAGE_ACCESSED)

struct fix_config {
    uint64_t ram_bytes;         /* 0: 64 MiB */
    unsigned nr_vcpus;          /* 0: 1 */
    uint64_t max_pages;         /* 0: 1024 */
    bool privileged;
    bool no_tree;               /* populate only: no tables, no roots */
    struct hv_options opt;      /* used when set_opt */
    bool set_opt;
};

struct pv_fixture {
    struct machine *m;
    struct domain *d;
    struct vcpu *v;             /* vCPU 0 (= current) */
    uint64_t free_at_start;     /* m->nr_free before the domain existed */
    mfn_t mfn[FIX_NR_FRAMES];   /* pfn -> mfn */
    mfn_t l4, l3, l2, l1;       /* the tree's tables (pfns 0..3) */
};

/* mfn of data page i (0 <= i < FIX_NR_DATA), mapped RW at fix_data_va(i). */
static inline mfn_t fix_data(const struct pv_fixture *f, unsigned i)
{
    return f->mfn[FIX_FIRST_DATA_PFN + i];
}
static inline uint64_t fix_data_va(unsigned i)
{
    return FIX_DATA_VA + (uint64_t)i * PAGE_SIZE;
}
/* mfn of spare frame i (0 <= i < FIX_NR_SPARE): populated, unmapped. */
static inline mfn_t fix_spare(const struct pv_fixture *f, unsigned i)
{
    return f->mfn[FIX_FIRST_SPARE_PFN + i];
}
/* VA of the read-only mapping of the tree table of a level (1..4). */
static inline uint64_t fix_pt_va(unsigned level)
{
    return FIX_PT_VA + (uint64_t)(4 - level) * PAGE_SIZE;
}
/* Host pointer to a frame's contents (for checks; bypasses the MMU). */
static inline void *fix_frame(const struct pv_fixture *f, mfn_t mfn)
{
    return mfn_to_virt_w(f->m, mfn);
}
static inline pte_t fix_entry(const struct pv_fixture *f, mfn_t table,
                              unsigned slot)
{
    return pt_read_entry(f->m, table, slot);
}
static inline uint64_t fix_type(const struct pv_fixture *f, mfn_t mfn)
{
    return atomic_load(&mfn_to_page(f->m, mfn)->type_info);
}
static inline uint64_t fix_count(const struct pv_fixture *f, mfn_t mfn)
{
    return atomic_load(&mfn_to_page(f->m, mfn)->count_info) & PGC_count_mask;
}
static inline uint64_t fix_tcount(const struct pv_fixture *f, mfn_t mfn)
{
    return fix_type(f, mfn) & PGT_count_mask;
}

/*
 * Create a domain on m: PV (or cfg kind), nr_vcpus, max_pages, privileged.
 * Returns NULL on failure (rc printed to stderr).
 */
static inline struct domain *fix_domain_new(struct machine *m, domid_t domid,
                                            unsigned nr_vcpus,
                                            uint64_t max_pages, bool privileged)
{
    struct domain_config cfg = {
        .kind = DOMAIN_PV, .nr_vcpus = nr_vcpus, .max_pages = max_pages,
        .privileged = privileged, .domid = domid,
    };
    struct domain *d = NULL;
    int rc = domain_create(m, &cfg, &d);
    if (rc) {
        fprintf(stderr, "  fixture: domain_create(%u) = %d\n", domid, rc);
        return NULL;
    }
    return d;
}

/*
 * Write the builder's tree (see the top of this file) into f's frames.
 * Only valid before the tables are validated.  0 or the first error.
 */
static inline int fix_build_tree(struct pv_fixture *f)
{
    int rc = 0;
    f->l4 = f->mfn[0]; f->l3 = f->mfn[1]; f->l2 = f->mfn[2]; f->l1 = f->mfn[3];
    rc |= domctl_build_pte(f->d, f->l4, 4, pt_index(FIX_DATA_VA, 4),
                           pte_make(f->l3, FIX_PDE_FLAGS));
    rc |= domctl_build_pte(f->d, f->l3, 3, pt_index(FIX_DATA_VA, 3),
                           pte_make(f->l2, FIX_PDE_FLAGS));
    rc |= domctl_build_pte(f->d, f->l2, 2, pt_index(FIX_DATA_VA, 2),
                           pte_make(f->l1, FIX_PDE_FLAGS));
    for (unsigned i = 0; i < FIX_NR_DATA; i++)
        rc |= domctl_build_pte(f->d, f->l1, 1, pt_index(fix_data_va(i), 1),
                               pte_make(fix_data(f, i), FIX_DATA_FLAGS));
    /* The tables themselves, read-only: L4, L3, L2, L1 at FIX_PT_VA.. */
    const mfn_t t[4] = { f->l4, f->l3, f->l2, f->l1 };
    for (unsigned k = 0; k < 4; k++)
        rc |= domctl_build_pte(f->d, f->l1, 1, FIX_PT_SLOT + k,
                               pte_make(t[k], FIX_RO_FLAGS));
    return rc;
}

/*
 * Set up the fixture (cfg may be NULL for the defaults).  0 or an error
 * (printed).  On success current == f->v.
 */
static inline int fix_setup(struct pv_fixture *f, const struct fix_config *cfg)
{
    struct fix_config def = { 0 };
    if (!cfg)
        cfg = &def;
    memset(f, 0, sizeof(*f));
    struct hv_options opt;
    if (cfg->set_opt)
        opt = cfg->opt;
    else
        hv_options_default(&opt);
    int rc = machine_create(cfg->ram_bytes ? cfg->ram_bytes : (64ULL << 20),
                            0, &opt, &f->m);
    if (rc) {
        fprintf(stderr, "  fixture: machine_create = %d\n", rc);
        return rc;
    }
    f->free_at_start = f->m->nr_free;
    f->d = fix_domain_new(f->m, FIX_DOMID, cfg->nr_vcpus ? cfg->nr_vcpus : 1,
                          cfg->max_pages ? cfg->max_pages : 1024,
                          cfg->privileged);
    if (!f->d)
        return -XEN_ENOMEM;
    f->v = f->d->vcpu[0];
    current = f->v;
    rc = domctl_populate(f->d, 0, FIX_NR_FRAMES, f->mfn);
    if (rc) {
        fprintf(stderr, "  fixture: domctl_populate = %d\n", rc);
        return rc;
    }
    if (cfg->no_tree)
        return 0;
    rc = fix_build_tree(f);
    if (rc) {
        fprintf(stderr, "  fixture: build tree = %d\n", rc);
        return rc;
    }
    for (unsigned i = 0; i < f->d->nr_vcpus; i++) {
        rc = domctl_set_vcpu_context(f->d->vcpu[i], f->l4, INVALID_MFN);
        if (rc) {
            fprintf(stderr, "  fixture: set_vcpu_context(%u) = %d\n", i, rc);
            return rc;
        }
        f->d->vcpu[i]->in_kernel = true;
    }
    current = f->v;
    return 0;
}

/* Copy len bytes into the guest buffer at offset off; returns the guest VA
   (0 if it does not fit). */
static inline uint64_t fix_put(struct pv_fixture *f, size_t off,
                               const void *src, size_t len)
{
    if (off + len > FIX_BUF_BYTES)
        return 0;
    size_t done = 0;
    while (done < len) {
        size_t o = off + done, page = o / PAGE_SIZE, in = o % PAGE_SIZE;
        size_t n = PAGE_SIZE - in < len - done ? PAGE_SIZE - in : len - done;
        memcpy((uint8_t *)fix_frame(f, fix_data(f, page)) + in,
               (const uint8_t *)src + done, n);
        done += n;
    }
    return FIX_BUF_VA + off;
}

/* Copy len bytes out of the guest buffer at offset off; 0 or -1. */
static inline int fix_get(struct pv_fixture *f, size_t off, void *dst,
                          size_t len)
{
    if (off + len > FIX_BUF_BYTES)
        return -1;
    size_t done = 0;
    while (done < len) {
        size_t o = off + done, page = o / PAGE_SIZE, in = o % PAGE_SIZE;
        size_t n = PAGE_SIZE - in < len - done ? PAGE_SIZE - in : len - done;
        memcpy((uint8_t *)dst + done,
               (const uint8_t *)fix_frame(f, fix_data(f, page)) + in, n);
        done += n;
    }
    return 0;
}

/* Audit the machine quietly; returns the violation count (printed to
   stderr when non-zero). */
static inline unsigned fix_audit(struct pv_fixture *f)
{
    unsigned n = mm_audit(f->m, NULL);
    if (n)
        mm_audit(f->m, stderr);
    return n;
}

/*
 * Destroy the domain (and any other domains the test made on f->m) and the
 * machine.  Returns 0 if every frame came back to the heap and the audit
 * was clean just before, else -1 (details on stderr).
 */
static inline int fix_teardown(struct pv_fixture *f)
{
    int bad = 0;
    if (!f->m)
        return 0;
    if (fix_audit(f))
        bad = -1;
    current = NULL;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (f->m->domains[id])
            domain_destroy(f->m->domains[id]);
    if (f->m->nr_free != f->free_at_start) {
        fprintf(stderr, "  fixture: %llu frames free after teardown, %llu "
                "before the domain\n", (unsigned long long)f->m->nr_free,
                (unsigned long long)f->free_at_start);
        bad = -1;
    }
    machine_destroy(f->m);
    f->m = NULL;
    return bad;
}

#endif /* HVLAB_TESTS_UNIT_PV_FIXTURE_H */
