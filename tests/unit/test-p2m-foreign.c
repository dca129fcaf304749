/*
 * tests/unit/test-p2m-foreign.c - XENMEM_add_to_physmap(_batch) with
 * XENMAPSPACE_gmfn_foreign (core/mm/p2m_foreign.c F1-F5): every error
 * code of the call and of one page, and the success case with the
 * reference its entry holds.
 *
 * Fixture: pv_fixture's privileged PV domain (d1, the caller, with a guest
 * buffer for the arguments), an HVM source domain d2 whose gfns are
 * mapped, and an HVM target d3 whose p2m receives them (a PVH-dom0-like
 * control domain: Xen lets only a domain privileged over the source hold
 * its frames).  Every test ends with both audits clean and every frame
 * back in the heap.
 */
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/mm/mem_paging.h"
#include "core/mm/mem_sharing.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/ptwr.h"           /* MEMOP_EXTENT_SHIFT */
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define SRC_DOMID       2
#define TGT_DOMID       3
#define HVM_PAGES       64

/* Guest-buffer offsets of the arguments. */
#define OFF_ARG         0
#define OFF_IDXS        512
#define OFF_GPFNS       1024
#define OFF_ERRS        1536

struct ff {
    struct pv_fixture pv;
    struct domain *src, *tgt;
};

static void setup(struct ff *f)
{
    struct fix_config cfg = { .privileged = true };
    FIX_REQUIRE(fix_setup(&f->pv, &cfg) == 0);
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = HVM_PAGES,
        .domid = SRC_DOMID, .paging = PAGING_HAP,
    };
    FIX_REQUIRE(domain_create(f->pv.m, &dc, &f->src) == 0);
    dc.domid = TGT_DOMID;
    dc.privileged = true;
    FIX_REQUIRE(domain_create(f->pv.m, &dc, &f->tgt) == 0);
}

static unsigned audits(struct ff *f)
{
    unsigned n = p2m_audit(f->pv.m, NULL);
    if (n)
        p2m_audit(f->pv.m, stderr);
    return n + fix_audit(&f->pv);
}

static void finish(struct ff *f)
{
    CHECK_EQ(audits(f), 0);
    CHECK_EQ(fix_teardown(&f->pv), 0);
}

static uint64_t count_of(struct ff *f, mfn_t mfn)
{
    return atomic_load(&mfn_to_page(f->pv.m, mfn)->count_info) &
           PGC_count_mask;
}

/* The batch call with one page (idx -> gpfn); *err gets errs[0]. */
static long batch(struct ff *f, domid_t domid, uint16_t space, domid_t fd,
                  xen_ulong_t idx, xen_pfn_t gpfn, int *err)
{
    int minus = 12345;
    uint64_t idxs = fix_put(&f->pv, OFF_IDXS, &idx, sizeof(idx));
    uint64_t gpfns = fix_put(&f->pv, OFF_GPFNS, &gpfn, sizeof(gpfn));
    uint64_t errs = fix_put(&f->pv, OFF_ERRS, &minus, sizeof(minus));
    struct xen_add_to_physmap_batch b = {
        .domid = domid, .space = space, .size = 1,
    };
    b.u.foreign_domid = fd;
    set_xen_guest_handle(b.idxs, (xen_ulong_t *)(uintptr_t)idxs);
    set_xen_guest_handle(b.gpfns, (xen_pfn_t *)(uintptr_t)gpfns);
    set_xen_guest_handle(b.errs, (int *)(uintptr_t)errs);
    uint64_t arg = fix_put(&f->pv, OFF_ARG, &b, sizeof(b));
    long rc = do_memory_op(f->pv.v, XENMEM_add_to_physmap_batch, arg);
    if (err)
        FIX_REQUIRE(fix_get(&f->pv, OFF_ERRS, err, sizeof(*err)) == 0);
    return rc;
}

/* One page of gmfn_foreign from the privileged caller into d3. */
static int map_one(struct ff *f, domid_t fd, xen_ulong_t fgfn, xen_pfn_t gpfn)
{
    int err = 12345;
    CHECK_EQ(batch(f, TGT_DOMID, XENMAPSPACE_gmfn_foreign, fd, fgfn, gpfn,
                   &err), 0);
    return err;
}

/* ---- success ------------------------------------------------------------- */

/* The gfn's frame appears at gpfn as map_foreign; the entry holds one
   reference, the M2P still names the source's gfn; removing the entry
   gives the reference back. */
static void t_success(void)
{
    struct ff f;
    setup(&f);
    mfn_t mfn;
    p2m_type_t t;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &mfn), 0);
    CHECK_EQ(count_of(&f, mfn), 1);
    CHECK_EQ(map_one(&f, SRC_DOMID, 7, 40), 0);
    CHECK_HEX(get_gfn_query_unlocked(f.tgt, 40, &t), mfn);
    CHECK_EQ(t, p2m_map_foreign);
    CHECK_EQ(count_of(&f, mfn), 2);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), 7);
    CHECK_EQ(audits(&f), 0);
    /* Its reference keeps the pager off the source gfn. */
    CHECK_EQ(mem_paging_nominate(f.src, 7), -XEN_EBUSY);
    CHECK_EQ(p2m_remove_page(f.tgt, 40), 0);
    get_gfn_query_unlocked(f.tgt, 40, &t);
    CHECK_EQ(t, p2m_invalid);
    CHECK_EQ(count_of(&f, mfn), 1);
    finish(&f);
}

/* What the target had at gpfn goes first: its own RAM is freed; an older
   foreign entry gives its reference back. */
static void t_replaces(void)
{
    struct ff f;
    setup(&f);
    mfn_t a, b, own;
    p2m_type_t t;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &a), 0);
    CHECK_EQ(domctl_populate(f.src, 8, 1, &b), 0);
    CHECK_EQ(domctl_populate(f.tgt, 40, 1, &own), 0);
    CHECK_EQ(atomic_load(&f.tgt->tot_pages), 1);
    CHECK_EQ(map_one(&f, SRC_DOMID, 7, 40), 0);
    CHECK_EQ(atomic_load(&f.tgt->tot_pages), 0);    /* own frame freed */
    CHECK_EQ(map_one(&f, SRC_DOMID, 8, 40), 0);
    CHECK_HEX(get_gfn_query_unlocked(f.tgt, 40, &t), b);
    CHECK_EQ(count_of(&f, a), 1);
    CHECK_EQ(count_of(&f, b), 2);
    CHECK_EQ(audits(&f), 0);
    finish(&f);                 /* teardown drops the entry's reference */
}

/* ---- the call as a whole (F1, F2) ---------------------------------------- */

static void t_call_errors(void)
{
    struct ff f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &mfn), 0);

    /* F1: the one-page call never maps foreign frames. */
    struct xen_add_to_physmap one = {
        .domid = TGT_DOMID, .size = 1, .space = XENMAPSPACE_gmfn_foreign,
        .idx = 7, .gpfn = 40,
    };
    uint64_t arg = fix_put(&f.pv, OFF_ARG, &one, sizeof(one));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap, arg), -XEN_ENOSYS);

    /* F2 */
    CHECK_EQ(batch(&f, TGT_DOMID, XENMAPSPACE_gmfn_range, SRC_DOMID, 7, 40,
                   NULL), -XEN_EOPNOTSUPP);
    CHECK_EQ(batch(&f, 77, XENMAPSPACE_gmfn_foreign, SRC_DOMID, 7, 40, NULL),
             -XEN_ESRCH);
    CHECK_EQ(batch(&f, DOMID_SELF, XENMAPSPACE_gmfn_foreign, SRC_DOMID, 7, 40,
                   NULL), -XEN_EACCES);     /* a PV caller: not translated */
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch, 0x1000),
             -XEN_EFAULT);
    /* A good one-page batch (it maps), then the same argument again with
       start_extent past or at its size. */
    CHECK_EQ(map_one(&f, SRC_DOMID, 7, 40), 0);
    arg = fix_put(&f.pv, OFF_ARG, NULL, 0);
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch |
                          (0x10000UL << MEMOP_EXTENT_SHIFT), arg), -XEN_EDOM);
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch |
                          (2UL << MEMOP_EXTENT_SHIFT), arg), -XEN_EILSEQ);
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch |
                          (1UL << MEMOP_EXTENT_SHIFT), arg), -XEN_EILSEQ);

    /* A caller that is not privileged may not change another domain. */
    f.pv.d->is_privileged = false;
    CHECK_EQ(batch(&f, TGT_DOMID, XENMAPSPACE_gmfn_foreign, SRC_DOMID, 7, 40,
                   NULL), -XEN_EPERM);
    f.pv.d->is_privileged = true;

    /* F3: errs that cannot be written stops the call. */
    xen_ulong_t idx = 7;
    xen_pfn_t gpfn = 40;
    struct xen_add_to_physmap_batch b = {
        .domid = TGT_DOMID, .space = XENMAPSPACE_gmfn_foreign, .size = 1,
    };
    b.u.foreign_domid = SRC_DOMID;
    set_xen_guest_handle(b.idxs, (xen_ulong_t *)(uintptr_t)
                         fix_put(&f.pv, OFF_IDXS, &idx, sizeof(idx)));
    set_xen_guest_handle(b.gpfns, (xen_pfn_t *)(uintptr_t)
                         fix_put(&f.pv, OFF_GPFNS, &gpfn, sizeof(gpfn)));
    set_xen_guest_handle(b.errs, (int *)(uintptr_t)0x7000000000ULL);
    arg = fix_put(&f.pv, OFF_ARG, &b, sizeof(b));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch, arg),
             -XEN_EFAULT);
    /* ... and an empty batch does nothing. */
    b.size = 0;
    arg = fix_put(&f.pv, OFF_ARG, &b, sizeof(b));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_add_to_physmap_batch, arg), 0);
    finish(&f);
}

/* ---- one page (F4) ---------------------------------------------------------- */

static void t_page_errors(void)
{
    struct ff f;
    setup(&f);
    mfn_t mfn;
    p2m_type_t t;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &mfn), 0);
    CHECK_EQ(domctl_populate(f.src, 8, 1, NULL), 0);
    CHECK_EQ(domctl_populate(f.src, 9, 1, NULL), 0);

    CHECK_EQ(map_one(&f, DOMID_SELF, 7, 40), -XEN_ESRCH);
    CHECK_EQ(map_one(&f, 77, 7, 40), -XEN_ESRCH);
    CHECK_EQ(map_one(&f, FIX_DOMID, 7, 40), -XEN_EPERM);   /* the caller */
    CHECK_EQ(map_one(&f, TGT_DOMID, 7, 40), -XEN_EINVAL);  /* the target */
    CHECK_EQ(map_one(&f, SRC_DOMID, 30, 40), -XEN_EINVAL); /* a hole */

    uint64_t h;
    CHECK_EQ(mem_sharing_nominate_gfn(f.src, 8, &h), 0);
    CHECK_EQ(map_one(&f, SRC_DOMID, 8, 40), -XEN_EINVAL);  /* shared */

    CHECK_EQ(mem_paging_nominate(f.src, 9), 0);
    CHECK_EQ(mem_paging_evict(f.src, 9), 0);
    CHECK_EQ(map_one(&f, SRC_DOMID, 9, 40), -XEN_EINVAL);  /* paged ... */
    get_gfn_query_unlocked(f.src, 9, &t);
    CHECK_EQ(t, p2m_ram_paging_in);                        /* ... pager asked */
    CHECK_EQ(mem_paging_prep(f.src, 9, NULL), 0);
    CHECK_EQ(mem_paging_resume(f.src, 9), 0);

    /* XSM: the target must be privileged over the source. */
    f.tgt->is_privileged = false;
    CHECK_EQ(map_one(&f, SRC_DOMID, 7, 40), -XEN_EPERM);
    f.tgt->is_privileged = true;

    /* No failure left an entry or a reference behind. */
    get_gfn_query_unlocked(f.tgt, 40, &t);
    CHECK_EQ(t, p2m_invalid);
    CHECK_EQ(count_of(&f, mfn), 1);
    finish(&f);
}

/* The frame audit counts the entry's reference, and notices a leak. */
static void t_audit_counts(void)
{
    struct ff f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &mfn), 0);
    CHECK_EQ(map_one(&f, SRC_DOMID, 7, 40), 0);
    CHECK_EQ(audits(&f), 0);
    CHECK(get_page(f.pv.m, mfn, f.src));           /* a stray reference */
    CHECK(mm_audit(f.pv.m, NULL) > 0);
    put_page(f.pv.m, mfn);
    finish(&f);
}

/* MMU_MACHPHYS_UPDATE with a translated FD: -EINVAL and the M2P as it
   was, as Xen refuses it (core/mm/mmu_update.c rule 5).  Found by a clean
   hvmrace campaign: dom0 renamed an HVM guest's frame in the M2P and the
   p2m audit's M3 fired (tests/data/fuzz/hvmrace-machphys-translated). */
static void t_machphys_translated(void)
{
    struct ff f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.src, 7, 1, &mfn), 0);
    struct mmu_update r = { (mfn << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 9 };
    uint64_t req = fix_put(&f.pv, OFF_ARG, &r, sizeof(r));
    CHECK_EQ(do_mmu_update(f.pv.v, req, 1, 0, SRC_DOMID), -XEN_EINVAL);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), 7);
    /* Not the FD's frame either: still the translate check first. */
    CHECK_EQ(do_mmu_update(f.pv.v, req, 1, 0, TGT_DOMID), -XEN_EINVAL);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), 7);
    finish(&f);
}

static const struct test tests[] = {
    { "MMU_MACHPHYS_UPDATE for a translated domain is EINVAL, the M2P "
      "unchanged", t_machphys_translated },
    { "gmfn_foreign maps the source's frame as map_foreign with one reference", t_success },
    { "a foreign add frees the target's own frame, or drops an older entry's ref", t_replaces },
    { "the call: ENOSYS one-page, EOPNOTSUPP range, ESRCH, EACCES, EDOM, EFAULT, EILSEQ, EPERM", t_call_errors },
    { "one page: ESRCH self/unknown, EPERM caller, EINVAL target/hole/shared/paged, EPERM XSM", t_page_errors },
    { "the frame audit counts a foreign entry's reference and no more", t_audit_counts },
};

TEST_MAIN(tests)
