/*
 * tests/unit/test-p2m.c - the p2m: entries and their hardware view, the
 * M2P in step, type changes, paging (with its reference guards), sharing
 * and unshare, the memory_op paths of translated domains, teardown, and
 * the two lookup-locking disciplines (p2m.lock=locked|none).
 *
 * Fixture: pv_fixture's privileged PV domain (d1, the toolstack / pager,
 * with a guest buffer for hypercall arguments) plus an HVM hap domain d2
 * made here.  Every test ends with both audits clean and every frame back.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/mm/mem_paging.h"
#include "core/mm/mem_sharing.h"
#include "core/mm/p2m.h"
#include "core/npt.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define HVM_DOMID       2
#define HVM_PAGES       64

struct p2m_fix {
    struct pv_fixture pv;
    struct domain *h;               /* the HVM domain */
};

static void setup_opt(struct p2m_fix *f, enum p2m_lock_mode mode,
                      uint64_t hvm_max)
{
    struct fix_config cfg = { .privileged = true, .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.p2m_lock = mode;
    FIX_REQUIRE(fix_setup(&f->pv, &cfg) == 0);
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = hvm_max,
        .domid = HVM_DOMID, .paging = PAGING_HAP,
    };
    FIX_REQUIRE(domain_create(f->pv.m, &dc, &f->h) == 0);
}

static void setup(struct p2m_fix *f)
{
    setup_opt(f, P2M_LOCK_LOCKED, HVM_PAGES);
}

static unsigned audits(struct p2m_fix *f)
{
    unsigned n = p2m_audit(f->pv.m, NULL);
    if (n)
        p2m_audit(f->pv.m, stderr);
    return n + fix_audit(&f->pv);
}

static void finish(struct p2m_fix *f)
{
    CHECK_EQ(audits(f), 0);
    CHECK_EQ(fix_teardown(&f->pv), 0);
}

static uint64_t count_of(struct p2m_fix *f, mfn_t mfn)
{
    return atomic_load(&mfn_to_page(f->pv.m, mfn)->count_info) & PGC_count_mask;
}

static npte_t leaf(struct p2m_fix *f, pfn_t gfn)
{
    /* Walk the table the way the MMU does in hap mode. */
    mfn_t t = f->h->npt_root;
    for (unsigned level = NPT_LEVELS; level > 1; level--) {
        npte_t e = ((npte_t *)mfn_to_virt(f->pv.m, t))[npt_index(gfn, level)];
        if (!(e & NPT_RWX))
            return 0;
        t = npte_mfn(e);
    }
    return ((npte_t *)mfn_to_virt(f->pv.m, t))[npt_index(gfn, 1)];
}

/* ---- entries, M2P, types ------------------------------------------------- */

/* HVM creation gives an empty p2m; populate maps gfn 5 ram_rw, RWX. */
static void t_populate(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn = INVALID_MFN;
    p2m_type_t t;
    CHECK(f.h->npt_root != INVALID_MFN);
    CHECK_HEX(get_gfn_query_unlocked(f.h, 5, &t), INVALID_MFN);
    CHECK_EQ(t, p2m_invalid);
    CHECK_EQ(domctl_populate(f.h, 5, 1, &mfn), 0);
    CHECK_HEX(get_gfn_query_unlocked(f.h, 5, &t), mfn);
    CHECK_EQ(t, p2m_ram_rw);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), 5);
    CHECK_HEX(leaf(&f, 5) & NPT_RWX, NPT_RWX);
    CHECK_HEX(npte_mfn(leaf(&f, 5)), mfn);
    CHECK_EQ(p2m_max_gfn(f.h), 5);
    CHECK_EQ(atomic_load(&f.h->tot_pages), 1);
    CHECK_EQ(domctl_populate(f.h, 5, 1, NULL), -XEN_EEXIST);
    finish(&f);
}

/* Each type's hardware permissions follow Xen's EPT rules. */
static void t_type_perms(void)
{
    static const struct { p2m_type_t t; npte_t perms; } table[] = {
        { p2m_ram_rw,       NPT_RWX },
        { p2m_ram_logdirty, NPT_R | NPT_X },
        { p2m_ram_ro,       NPT_R | NPT_X },
        { p2m_ram_shared,   NPT_R | NPT_X },
        { p2m_grant_map_rw, NPT_R | NPT_W },
        { p2m_grant_map_ro, NPT_R },
        { p2m_mmio_dm,      0 },
        { p2m_ram_paging_out, 0 },
        { p2m_ram_broken,   0 },
    };
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 7, 1, &mfn), 0);
    p2m_lock(f.h);
    for (unsigned i = 0; i < ARRAY_SIZE(table); i++) {
        CHECK_EQ(p2m_set_entry(f.h, 100 + i, mfn, table[i].t, p2m_access_rwx), 0);
        CHECK_HEX(leaf(&f, 100 + i) & NPT_RWX, table[i].perms);
        CHECK_EQ(npte_type(leaf(&f, 100 + i)), table[i].t);
    }
    /* access narrows the type: ram_rw with access r is read-only */
    CHECK_EQ(p2m_set_entry(f.h, 200, mfn, p2m_ram_rw, p2m_access_r), 0);
    CHECK_HEX(leaf(&f, 200) & NPT_RWX, NPT_R);
    /* a gfn beyond the guest-physical space is refused */
    CHECK_EQ(p2m_set_entry(f.h, 1ULL << NPT_GFN_BITS, mfn, p2m_ram_rw,
                           p2m_access_rwx), -XEN_EINVAL);
    for (unsigned i = 0; i < ARRAY_SIZE(table); i++)
        p2m_set_entry(f.h, 100 + i, INVALID_MFN, p2m_invalid, p2m_access_rwx);
    p2m_set_entry(f.h, 200, INVALID_MFN, p2m_invalid, p2m_access_rwx);
    /* the aliases took the M2P with them (rule M3); gfn 7 takes it back */
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), INVALID_M2P_ENTRY);
    CHECK_EQ(p2m_set_entry(f.h, 7, mfn, p2m_ram_rw, p2m_access_rwx), 0);
    p2m_unlock(f.h);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), 7);
    finish(&f);
}

/* remove_page frees the frame and invalidates its M2P entry. */
static void t_remove(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 9, 1, &mfn), 0);
    uint64_t free_before = f.pv.m->nr_free;
    CHECK_EQ(p2m_remove_page(f.h, 9), 0);
    CHECK_EQ(f.pv.m->nr_free, free_before + 1);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, mfn), INVALID_M2P_ENTRY);
    CHECK_EQ(p2m_remove_page(f.h, 9), -XEN_EINVAL);
    CHECK_EQ(atomic_load(&f.h->tot_pages), 0);
    finish(&f);
}

/* change_type_one refuses a wrong old type; global change touches only ot. */
static void t_type_change(void)
{
    struct p2m_fix f;
    setup(&f);
    CHECK_EQ(domctl_populate(f.h, 0, 8, NULL), 0);
    CHECK_EQ(p2m_change_type_one(f.h, 3, p2m_ram_logdirty, p2m_ram_rw), -XEN_EBUSY);
    CHECK_EQ(p2m_change_type_one(f.h, 3, p2m_ram_rw, p2m_ram_ro), 0);
    p2m_change_entry_type_global(f.h, p2m_ram_rw, p2m_ram_logdirty);
    for (pfn_t g = 0; g < 8; g++) {
        p2m_type_t t;
        get_gfn_query_unlocked(f.h, g, &t);
        CHECK_EQ(t, g == 3 ? p2m_ram_ro : p2m_ram_logdirty);
        CHECK(!(leaf(&f, g) & NPT_W));
    }
    p2m_type_t t;
    get_gfn_query_unlocked(f.h, 8, &t);
    CHECK_EQ(t, p2m_invalid);                       /* holes stay holes */
    finish(&f);
}

/* ---- paging ------------------------------------------------------------- */

/* nominate -> evict -> access -> prep -> resume gives the content back. */
static void t_paging_round_trip(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 4, 1, &mfn), 0);
    uint8_t saved[PAGE_SIZE];
    memset(mfn_to_virt_w(f.pv.m, mfn), 0x5A, PAGE_SIZE);
    memcpy(saved, mfn_to_virt(f.pv.m, mfn), PAGE_SIZE);

    CHECK_EQ(mem_paging_nominate(f.h, 4), 0);
    CHECK_EQ(mem_paging_evict(f.h, 4), 0);
    p2m_type_t t;
    CHECK_HEX(get_gfn_query_unlocked(f.h, 4, &t), INVALID_MFN);
    CHECK_EQ(t, p2m_ram_paged);
    CHECK_EQ(atomic_load(&f.h->tot_pages), 0);

    pfn_t req;
    CHECK_EQ(mem_paging_next_request(f.h, &req), -XEN_ENOENT);
    CHECK_HEX(get_gfn(f.h, 4, &t), INVALID_MFN);    /* populate on access */
    put_gfn(f.h, 4);
    CHECK(p2m_is_paging(t));
    CHECK_HEX(get_gfn(f.h, 4, &t), INVALID_MFN);    /* asked only once */
    put_gfn(f.h, 4);
    CHECK_EQ(mem_paging_next_request(f.h, &req), 0);
    CHECK_EQ(req, 4);
    CHECK_EQ(mem_paging_next_request(f.h, &req), -XEN_ENOENT);
    CHECK_EQ(mem_paging_resume(f.h, 4), -XEN_EINVAL);  /* no frame yet */

    CHECK_EQ(mem_paging_prep(f.h, 4, saved), 0);
    CHECK_EQ(mem_paging_resume(f.h, 4), 0);
    mfn_t back = get_gfn_query_unlocked(f.h, 4, &t);
    CHECK_EQ(t, p2m_ram_rw);
    REQUIRE(back != INVALID_MFN);
    CHECK_EQ(memcmp(mfn_to_virt(f.pv.m, back), saved, PAGE_SIZE), 0);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, back), 4);
    finish(&f);
}

/* A nominated gfn that is touched before eviction is simply taken back. */
static void t_paging_touch_nominated(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 4, 1, &mfn), 0);
    CHECK_EQ(mem_paging_nominate(f.h, 4), 0);
    p2m_type_t t;
    CHECK_HEX(get_gfn(f.h, 4, &t), mfn);
    put_gfn(f.h, 4);
    CHECK_EQ(t, p2m_ram_rw);
    CHECK_EQ(mem_paging_evict(f.h, 4), -XEN_EINVAL);   /* not paging_out */
    finish(&f);
}

/* Guards: a mapper's reference makes nominate and evict fail -EBUSY. */
static void t_paging_guards(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    p2m_type_t t;
    CHECK_EQ(domctl_populate(f.h, 4, 1, &mfn), 0);
    CHECK_HEX(get_page_from_gfn(f.h, 4, &t, 0), mfn);  /* mapper's ref */
    CHECK_EQ(mem_paging_nominate(f.h, 4), -XEN_EBUSY);
    put_page(f.pv.m, mfn);
    CHECK_EQ(mem_paging_nominate(f.h, 4), 0);
    /* the ref arrives between nominate and evict */
    CHECK(get_page(f.pv.m, mfn, f.h));
    CHECK_EQ(mem_paging_evict(f.h, 4), -XEN_EBUSY);
    get_gfn_query_unlocked(f.h, 4, &t);
    CHECK_EQ(t, p2m_ram_paging_out);
    put_page(f.pv.m, mfn);
    CHECK_EQ(mem_paging_evict(f.h, 4), 0);
    /* get_page_from_gfn of a paged gfn: no ref, the pager is asked */
    CHECK_HEX(get_page_from_gfn(f.h, 4, &t, P2M_ALLOC), INVALID_MFN);
    CHECK(p2m_is_paging(t));
    pfn_t req;
    CHECK_EQ(mem_paging_next_request(f.h, &req), 0);
    CHECK_EQ(mem_paging_nominate(f.h, 50), -XEN_EINVAL);  /* a hole */
    finish(&f);
}

/* ---- sharing ------------------------------------------------------------- */

/* nominate + share: both gfns map one dom_cow frame, read-only. */
static void t_share(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t a, b;
    uint64_t ha, hb;
    CHECK_EQ(domctl_populate(f.h, 1, 1, &a), 0);
    CHECK_EQ(domctl_populate(f.h, 2, 1, &b), 0);
    memset(mfn_to_virt_w(f.pv.m, a), 0x11, PAGE_SIZE);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 1, &ha), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 2, &hb), 0);
    CHECK_EQ(mfn_to_page(f.pv.m, a)->owner, DOMID_COW);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, a), SHARED_M2P_ENTRY);
    CHECK_EQ(atomic_load(&f.h->tot_pages), 0);
    CHECK_EQ(mem_sharing_share(f.h, 1, hb, f.h, 2, hb),
             XENMEM_SHARING_OP_S_HANDLE_INVALID);
    uint64_t free_before = f.pv.m->nr_free;
    CHECK_EQ(mem_sharing_share(f.h, 1, ha, f.h, 2, hb), 0);
    CHECK_EQ(f.pv.m->nr_free, free_before + 1);        /* b is gone */
    p2m_type_t t;
    CHECK_HEX(get_gfn_query_unlocked(f.h, 2, &t), a);
    CHECK_EQ(t, p2m_ram_shared);
    CHECK(!(leaf(&f, 2) & NPT_W));
    CHECK_EQ(count_of(&f, a), 3);                       /* alloc + 2 gfns */
    CHECK_EQ(mem_sharing_share(f.h, 1, ha, f.h, 2, hb),
             XENMEM_SHARING_OP_C_HANDLE_INVALID);       /* stale handle */
    CHECK_EQ(audits(&f), 0);
    finish(&f);
}

/* A write (P2M_UNSHARE) gives a private copy; the last sharer frees it. */
static void t_unshare(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t a, b;
    uint64_t ha, hb;
    CHECK_EQ(domctl_populate(f.h, 1, 1, &a), 0);
    CHECK_EQ(domctl_populate(f.h, 2, 1, &b), 0);
    memset(mfn_to_virt_w(f.pv.m, a), 0x22, PAGE_SIZE);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 1, &ha), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 2, &hb), 0);
    CHECK_EQ(mem_sharing_share(f.h, 1, ha, f.h, 2, hb), 0);

    p2m_type_t t;
    mfn_t c = get_gfn_unshare(f.h, 2, &t);
    put_gfn(f.h, 2);
    CHECK_EQ(t, p2m_ram_rw);
    REQUIRE(c != INVALID_MFN && c != a);
    CHECK_EQ(((uint8_t *)mfn_to_virt(f.pv.m, c))[100], 0x22);
    CHECK_HEX(get_gpfn_from_mfn(f.pv.m, c), 2);
    CHECK_EQ(count_of(&f, a), 2);
    CHECK_EQ(audits(&f), 0);

    uint64_t free_before = f.pv.m->nr_free;
    mfn_t d1 = get_gfn_unshare(f.h, 1, &t);
    put_gfn(f.h, 1);
    CHECK(d1 != INVALID_MFN);
    CHECK_EQ(f.pv.m->nr_free, free_before);     /* one taken, one freed */
    CHECK_EQ(mfn_to_page(f.pv.m, a)->owner, DOMID_INVALID);
    finish(&f);
}

/* No frame left for the copy: the lookup fails and the gfn stays shared. */
static void t_unshare_enomem(void)
{
    struct p2m_fix f;
    setup_opt(&f, P2M_LOCK_LOCKED, 2);
    mfn_t a;
    uint64_t ha;
    CHECK_EQ(domctl_populate(f.h, 1, 1, &a), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 1, &ha), 0);
    CHECK_EQ(domctl_populate(f.h, 2, 2, NULL), 0);     /* max_pages used */
    p2m_type_t t;
    CHECK_HEX(get_gfn_unshare(f.h, 1, &t), INVALID_MFN);
    put_gfn(f.h, 1);
    CHECK_EQ(t, p2m_ram_shared);
    CHECK_HEX(get_page_from_gfn(f.h, 1, &t, P2M_UNSHARE), INVALID_MFN);
    finish(&f);
}

/* ---- hypercalls from the privileged domain ------------------------------- */

/* memory_op populate_physmap / decrease_reservation on a translated domain
   work by gfn, and paging_op / sharing_op reach the p2m. */
static void t_memory_op(void)
{
    struct p2m_fix f;
    setup(&f);
    xen_pfn_t gfns[2] = { 30, 31 };
    uint64_t list = fix_put(&f.pv, 0, gfns, sizeof(gfns));
    struct xen_memory_reservation r = { .nr_extents = 2, .domid = HVM_DOMID };
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
    uint64_t arg = fix_put(&f.pv, 256, &r, sizeof(r));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_populate_physmap, arg), 2);
    p2m_type_t t;
    CHECK(get_gfn_query_unlocked(f.h, 31, &t) != INVALID_MFN);
    CHECK_EQ(t, p2m_ram_rw);

    struct xen_mem_paging_op po = { .op = XENMEM_paging_op_nominate,
                                    .domain = HVM_DOMID, .gfn = 30 };
    arg = fix_put(&f.pv, 512, &po, sizeof(po));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_paging_op, arg), 0);
    po.op = XENMEM_paging_op_evict;
    arg = fix_put(&f.pv, 512, &po, sizeof(po));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_paging_op, arg), 0);
    get_gfn_query_unlocked(f.h, 30, &t);
    CHECK_EQ(t, p2m_ram_paged);

    struct xen_mem_sharing_op so = { .op = XENMEM_sharing_op_nominate_gfn,
                                     .domain = HVM_DOMID };
    so.u.nominate.u.gfn = 31;
    arg = fix_put(&f.pv, 1024, &so, sizeof(so));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_sharing_op, arg), 0);
    CHECK_EQ(fix_get(&f.pv, 1024, &so, sizeof(so)), 0);
    CHECK_HEX(so.u.nominate.handle, get_gfn_query_unlocked(f.h, 31, &t));
    CHECK_EQ(t, p2m_ram_shared);

    r.nr_extents = 2;
    arg = fix_put(&f.pv, 256, &r, sizeof(r));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_decrease_reservation, arg), 2);
    get_gfn_query_unlocked(f.h, 30, &t);
    CHECK_EQ(t, p2m_invalid);
    get_gfn_query_unlocked(f.h, 31, &t);
    CHECK_EQ(t, p2m_invalid);

    f.pv.d->is_privileged = false;                  /* a plain domU */
    arg = fix_put(&f.pv, 512, &po, sizeof(po));
    CHECK_EQ(do_memory_op(f.pv.v, XENMEM_paging_op, arg), -XEN_EPERM);
    f.pv.d->is_privileged = true;
    finish(&f);
}

/* ---- foreign mappings by gfn (story B's fixed behaviour) ---------------- */

#define MAP_SLOT    100                 /* a free slot of the fixture's L1 */

/* dom0 mmu_update with FD = the HVM domain: val names a gfn. */
static long map_gfn(struct p2m_fix *f, pfn_t gfn, bool rw)
{
    struct mmu_update req = {
        .ptr = ((uint64_t)f->pv.l1 << PAGE_SHIFT) + MAP_SLOT * sizeof(pte_t),
        .val = pte_make(gfn, _PAGE_PRESENT | (rw ? _PAGE_RW : 0)),
    };
    uint64_t ureq = fix_put(&f->pv, 2048, &req, sizeof(req));
    return do_mmu_update(f->pv.v, ureq, 1, 0, HVM_DOMID);
}

static long unmap_gfn(struct p2m_fix *f)
{
    struct mmu_update req = {
        .ptr = ((uint64_t)f->pv.l1 << PAGE_SHIFT) + MAP_SLOT * sizeof(pte_t),
        .val = 0,
    };
    uint64_t ureq = fix_put(&f->pv, 2048, &req, sizeof(req));
    return do_mmu_update(f->pv.v, ureq, 1, 0, DOMID_SELF);
}

/* The PTE gets the frame behind the gfn; while it holds its reference the
   pager cannot evict the gfn. */
static void t_foreign_map(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 12, 1, &mfn), 0);
    CHECK_EQ(map_gfn(&f, 12, true), 0);
    pte_t e = fix_entry(&f.pv, f.pv.l1, MAP_SLOT);
    CHECK_HEX(pte_mfn(e), mfn);
    CHECK(e & _PAGE_RW);
    CHECK_EQ(count_of(&f, mfn), 2);             /* allocation + the PTE */
    CHECK_EQ(mem_paging_nominate(f.h, 12), -XEN_EBUSY);
    CHECK_EQ(unmap_gfn(&f), 0);
    CHECK_EQ(count_of(&f, mfn), 1);
    CHECK_EQ(mem_paging_nominate(f.h, 12), 0);
    CHECK_EQ(map_gfn(&f, 13, false), -XEN_EINVAL);   /* a hole */
    CHECK_EQ(audits(&f), 0);
    finish(&f);
}

/* A paged gfn: -ENOENT and the pager is asked; mapping works after resume. */
static void t_foreign_map_paged(void)
{
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 12, 1, &mfn), 0);
    CHECK_EQ(mem_paging_nominate(f.h, 12), 0);
    CHECK_EQ(mem_paging_evict(f.h, 12), 0);
    CHECK_EQ(map_gfn(&f, 12, false), -XEN_ENOENT);
    pfn_t req;
    CHECK_EQ(mem_paging_next_request(f.h, &req), 0);
    CHECK_EQ(req, 12);
    CHECK_EQ(map_gfn(&f, 12, false), -XEN_ENOENT);   /* still paging in */
    CHECK_EQ(mem_paging_prep(f.h, 12, NULL), 0);
    CHECK_EQ(mem_paging_resume(f.h, 12), 0);
    CHECK_EQ(map_gfn(&f, 12, true), 0);
    CHECK_EQ(unmap_gfn(&f), 0);
    finish(&f);
}

/* RW map of a shared gfn unshares first; with no frame left: -ENOMEM. */
static void t_foreign_map_shared(void)
{
    struct p2m_fix f;
    setup_opt(&f, P2M_LOCK_LOCKED, 2);
    mfn_t a;
    uint64_t h;
    CHECK_EQ(domctl_populate(f.h, 12, 1, &a), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 12, &h), 0);
    CHECK_EQ(domctl_populate(f.h, 20, 2, NULL), 0);  /* max_pages used */
    CHECK_EQ(map_gfn(&f, 12, true), -XEN_ENOMEM);
    p2m_type_t t;
    get_gfn_query_unlocked(f.h, 12, &t);
    CHECK_EQ(t, p2m_ram_shared);
    CHECK_EQ(p2m_remove_page(f.h, 20), 0);           /* room for a copy */
    CHECK_EQ(map_gfn(&f, 12, true), 0);
    mfn_t now = get_gfn_query_unlocked(f.h, 12, &t);
    CHECK_EQ(t, p2m_ram_rw);
    CHECK_HEX(pte_mfn(fix_entry(&f.pv, f.pv.l1, MAP_SLOT)), now);
    CHECK(now != a);
    CHECK_EQ(unmap_gfn(&f), 0);
    finish(&f);
}

/* ---- teardown ----------------------------------------------------------- */

/* Destroying the domain frees every table frame and every frame it had,
   shared and paged ones included. */
static void t_teardown(void)
{
    struct p2m_fix f;
    setup(&f);
    uint64_t free_with_root = f.pv.m->nr_free;
    CHECK_EQ(domctl_populate(f.h, 0, 4, NULL), 0);
    CHECK_EQ(domctl_populate(f.h, 1ULL << 30, 1, NULL), 0);  /* far gfn */
    uint64_t ha, hb;
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 0, &ha), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 1, &hb), 0);
    CHECK_EQ(mem_sharing_share(f.h, 0, ha, f.h, 1, hb), 0);
    CHECK_EQ(mem_paging_nominate(f.h, 2), 0);
    CHECK_EQ(mem_paging_evict(f.h, 2), 0);
    CHECK(f.pv.m->nr_free < free_with_root);
    CHECK_EQ(audits(&f), 0);
    current = NULL;
    CHECK_EQ(domain_destroy(f.h), 0);
    /* the fixture checks every frame is back at teardown */
    finish(&f);
}

/* ---- the audit ---------------------------------------------------------- */

static npte_t *leaf_slot(struct p2m_fix *f, pfn_t gfn)
{
    mfn_t t = f->h->npt_root;
    for (unsigned level = NPT_LEVELS; level > 1; level--)
        t = npte_mfn(((npte_t *)mfn_to_virt(f->pv.m, t))[npt_index(gfn, level)]);
    return &((npte_t *)mfn_to_virt(f->pv.m, t))[npt_index(gfn, 1)];
}

/* Corrupted entries are reported: a writable read-only type (23), a paged
   gfn that still names a frame (21), a RAM gfn whose M2P is wrong (M3). */
static void t_audit_catches(void)
{
    static const struct { const char *what; npte_t set, clear; } cases[] = {
        { "ram_ro made writable", NPT_W, 0 },
        { "type paged with a frame", (npte_t)p2m_ram_paged << NPT_TYPE_SHIFT,
          NPT_TYPE_MASK | NPT_RWX },
    };
    struct p2m_fix f;
    setup(&f);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 6, 1, &mfn), 0);
    CHECK_EQ(p2m_change_type_one(f.h, 6, p2m_ram_rw, p2m_ram_ro), 0);
    CHECK_EQ(p2m_audit(f.pv.m, NULL), 0);
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        npte_t *e = leaf_slot(&f, 6), saved = *e;
        *e = (*e & ~cases[i].clear) | cases[i].set;
        if (p2m_audit(f.pv.m, NULL) == 0)
            fprintf(stderr, "  not caught: %s\n", cases[i].what);
        CHECK(p2m_audit(f.pv.m, NULL) > 0);
        *e = saved;
    }
    set_gpfn_from_mfn(f.pv.m, mfn, 77);
    CHECK(p2m_audit(f.pv.m, NULL) > 0);
    set_gpfn_from_mfn(f.pv.m, mfn, 6);
    finish(&f);
}

/* ---- lock discipline (story B) ------------------------------------------- */

struct writer {
    struct domain *d;
    pfn_t gfn;
    _Atomic int started, done;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    atomic_store(&w->started, 1);
    p2m_change_type_one(w->d, w->gfn, p2m_ram_rw, p2m_ram_ro);
    atomic_store(&w->done, 1);
    return NULL;
}

/* locked: a set_entry from another thread waits until put_gfn. */
static void t_locked_waits(void)
{
    struct p2m_fix f;
    setup_opt(&f, P2M_LOCK_LOCKED, HVM_PAGES);
    CHECK_EQ(domctl_populate(f.h, 3, 1, NULL), 0);
    current = NULL;
    p2m_type_t t;
    get_gfn(f.h, 3, &t);
    CHECK(p2m_locked_by_me(f.h));
    struct writer w = { .d = f.h, .gfn = 3 };
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, writer_main, &w) == 0);
    while (!atomic_load(&w.started))
        sched_yield();
    for (int i = 0; i < 2000; i++)
        sched_yield();
    CHECK_EQ(atomic_load(&w.done), 0);          /* cannot finish: we hold it */
    get_gfn_query_unlocked(f.h, 3, &t);
    CHECK_EQ(t, p2m_ram_rw);                    /* our result still holds */
    put_gfn(f.h, 3);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&w.done), 1);
    get_gfn_query_unlocked(f.h, 3, &t);
    CHECK_EQ(t, p2m_ram_ro);
    finish(&f);
}

/* none: a set_entry from another thread does not wait for put_gfn. */
static void t_none_does_not_wait(void)
{
    struct p2m_fix f;
    setup_opt(&f, P2M_LOCK_NONE, HVM_PAGES);
    CHECK_EQ(domctl_populate(f.h, 3, 1, NULL), 0);
    current = NULL;
    p2m_type_t t;
    get_gfn(f.h, 3, &t);
    CHECK_EQ(t, p2m_ram_rw);
    CHECK(!p2m_locked_by_me(f.h));
    struct writer w = { .d = f.h, .gfn = 3 };
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, writer_main, &w) == 0);
    pthread_join(th, NULL);                     /* finished before put_gfn */
    CHECK_EQ(atomic_load(&w.done), 1);
    get_gfn_query_unlocked(f.h, 3, &t);
    CHECK_EQ(t, p2m_ram_ro);                    /* our result is stale */
    put_gfn(f.h, 3);
    finish(&f);
}

/* none: between a lookup and its use the pager evicts the frame (story B:
   the mapper acts on a frame that no longer backs the gfn). */
static void t_none_stale_evict(void)
{
    struct p2m_fix f;
    setup_opt(&f, P2M_LOCK_NONE, HVM_PAGES);
    mfn_t mfn;
    CHECK_EQ(domctl_populate(f.h, 3, 1, &mfn), 0);
    p2m_type_t t;
    mfn_t seen = get_gfn(f.h, 3, &t);           /* the mapper's lookup */
    CHECK_HEX(seen, mfn);
    CHECK_EQ(mem_paging_nominate(f.h, 3), 0);   /* the pager, meanwhile */
    CHECK_EQ(mem_paging_evict(f.h, 3), 0);
    CHECK_EQ(atomic_load(&mfn_to_page(f.pv.m, seen)->count_info) & PGC_state,
             PGC_state_free);                   /* acted on: a freed frame */
    put_gfn(f.h, 3);
    finish(&f);
}

/* A gfn shared between the mapper's lookup and its reference: locked (and
   today's Xen) refuses an L1 entry to the dom_cow frame; none takes the
   pre-2012 path and accepts it with a general reference only, and the
   frame audit reports the writable mapping of a shared frame (22). */
static void run_stale_shared(enum p2m_lock_mode mode)
{
    struct p2m_fix f;
    setup_opt(&f, mode, HVM_PAGES);
    mfn_t mfn;
    uint64_t h;
    CHECK_EQ(domctl_populate(f.h, 12, 1, &mfn), 0);
    CHECK_EQ(mem_sharing_nominate_gfn(f.h, 12, &h), 0);
    uint64_t before = count_of(&f, mfn);
    pte_t e = pte_make(mfn, _PAGE_PRESENT | _PAGE_RW);
    if (mode == P2M_LOCK_LOCKED) {
        CHECK_EQ(get_page_from_l1e(f.pv.m, e, f.pv.d, f.h), -XEN_EBUSY);
        CHECK_EQ(count_of(&f, mfn), before);
        finish(&f);
        return;
    }
    CHECK_EQ(get_page_from_l1e(f.pv.m, e, f.pv.d, f.h), 0);
    CHECK_EQ(count_of(&f, mfn), before + 1);
    CHECK_EQ(atomic_load(&mfn_to_page(f.pv.m, mfn)->type_info) &
             PGT_count_mask, 1);                /* still only shared's */
    pt_write_entry(f.pv.m, f.pv.d->domid, f.pv.l1, 1, MAP_SLOT, 0, e,
                   PTW_MMU_UPDATE);
    CHECK(mm_audit(f.pv.m, NULL) > 0);
    pt_write_entry(f.pv.m, f.pv.d->domid, f.pv.l1, 1, MAP_SLOT, e, 0,
                   PTW_MMU_UPDATE);
    put_page_from_l1e(f.pv.m, e, f.pv.d);
    CHECK_EQ(count_of(&f, mfn), before);
    finish(&f);
}

static void t_locked_refuses_shared(void) { run_stale_shared(P2M_LOCK_LOCKED); }
static void t_none_maps_shared(void) { run_stale_shared(P2M_LOCK_NONE); }

/* The option parses both words and nothing else. */
static void t_option(void)
{
    struct hv_options o;
    char why[256];
    hv_options_default(&o);
    CHECK_EQ(o.p2m_lock, P2M_LOCK_LOCKED);
    CHECK_EQ(hv_option_set(&o, "p2m.lock", "none", why, sizeof(why)), 0);
    CHECK_EQ(o.p2m_lock, P2M_LOCK_NONE);
    CHECK_EQ(hv_option_set(&o, "p2m.lock", "maybe", why, sizeof(why)), -1);
    CHECK_EQ(o.p2m_lock, P2M_LOCK_NONE);
}

static const struct test tests[] = {
    { "populate maps a fresh frame ram_rw, RWX, with the M2P naming the gfn", t_populate },
    { "each p2m type gets Xen's hardware permissions, narrowed by access", t_type_perms },
    { "remove_page frees the frame and invalidates its M2P entry", t_remove },
    { "type changes: one refuses a wrong old type, global touches only it", t_type_change },
    { "paging: nominate, evict, access, prep, resume gives the content back", t_paging_round_trip },
    { "paging: a nominated gfn touched before eviction is taken back", t_paging_touch_nominated },
    { "paging: a mapper's reference makes nominate and evict fail -EBUSY", t_paging_guards },
    { "sharing: two gfns share one read-only dom_cow frame", t_share },
    { "sharing: a write unshares into a private copy; the last frees it", t_unshare },
    { "sharing: unshare with no frame left fails and stays shared", t_unshare_enomem },
    { "memory_op populate/decrease by gfn, paging_op and sharing_op from dom0", t_memory_op },
    { "dom0 maps an HVM gfn by mmu_update; its reference blocks paging", t_foreign_map },
    { "mapping a paged gfn is -ENOENT and asks the pager", t_foreign_map_paged },
    { "an RW map of a shared gfn unshares first, or fails -ENOMEM", t_foreign_map_shared },
    { "destroying an HVM domain frees every p2m table and frame", t_teardown },
    { "the p2m audit catches RO-writable, paged-with-frame and M2P faults", t_audit_catches },
    { "p2m.lock=locked: a set_entry elsewhere waits until put_gfn", t_locked_waits },
    { "p2m.lock=none: a set_entry elsewhere does not wait for put_gfn", t_none_does_not_wait },
    { "p2m.lock=none: the pager evicts the frame under a mapper's lookup", t_none_stale_evict },
    { "p2m.lock=locked: an RW L1 entry to a dom_cow frame is refused -EBUSY", t_locked_refuses_shared },
    { "p2m.lock=none: it is taken with a general ref and the audit reports 22", t_none_maps_shared },
    { "p2m.lock accepts locked|none", t_option },
};

TEST_MAIN(tests)
