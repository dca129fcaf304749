/*
 * tests/unit/test-grant-review.c - the grant-table review's findings, one
 * test each: Xen pages displaced by add_to_physmap, grant PTEs under the
 * unhook-mode flush, demotion of an L1 holding a grant PTE (domain_crash),
 * unmap tied to the mapping's own slot, unmap_and_replace without a host
 * part, the reserved entries across set_version, read-only status frames,
 * the copy check order, GTF_sub_page on map, dev_bus_addr and the HVM
 * self-map's type ref.
 *
 * Fixture (grant_fixture.h, as in test-grant.c): pv_fixture's privileged
 * PV domain d1 is the grantee (and may set up other domains' tables), d2 a
 * PV granter.  Every test ends with both audits clean and every frame back
 * in the heap.
 */
#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/domctl.h"
#include "core/grant/grant_table.h"
#include "core/grant/private.h"
#include "core/hypercall.h"
#include "core/mm/mem_sharing.h"
#include "core/mm/p2m.h"
#include "core/mm/ptwr.h"
#include "core/mmu.h"
#include "core/traps.h"
#include "tests/unit/grant_fixture.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

/* A second L1 (spare 6) hooked at L2 slot 1, mapped read-only at
   fix_data_va(L1B_SLOT) so the guest can write it (writable pagetables). */
#define L1B_SLOT        20
#define L1B_VA          fix_data_va(L1B_SLOT)
#define RANGE_VA(i)     (FIX_DATA_VA + (2ULL << 20) + (uint64_t)(i) * PAGE_SIZE)

static int replace(struct gf *f, uint64_t addr, uint64_t new_addr,
                   grant_handle_t h)
{
    struct gnttab_unmap_and_replace op = { .host_addr = addr,
                                           .new_addr = new_addr,
                                           .handle = h };
    if (gnttab(f, GNTTABOP_unmap_and_replace, &op, sizeof(op), 1))
        return -100;
    get_op(f, &op, sizeof(op));
    return op.status;
}

/* The second L1 (empty): hooked at L2 slot 1, and d1's own L1 maps it
   read-only at L1B_VA. */
static void setup_l1b(struct gf *f)
{
    f->l1b = fix_spare(&f->pv, 6);
    FIX_REQUIRE(pt_update(f, f->pv.l2, 1, pte_make(f->l1b, FIX_DATA_FLAGS))
                == 0);
    FIX_REQUIRE(pt_update(f, f->pv.l1, L1B_SLOT,
                          pte_make(f->l1b, FIX_RO_FLAGS)) == 0);
}

/* ---- 1: a Xen page displaced by add_to_physmap is only unhooked -------- */

static void t_physmap_displaces_xen_page(void)
{
    struct gf f;
    gsetup(&f);
    struct domain *h3 = hvm_new(&f, 3);
    struct grant_table *gt = h3->grant_table;
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 0, 300), 0);
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 1, 301), 0);
    mfn_t f0 = gt->shared[0], f1 = gt->shared[1];
    uint64_t xen_pages = atomic_load(&h3->xenheap_pages);
    /* Frame 1 goes where frame 0 is: frame 0 stays allocated and shared,
       only its placement is forgotten. */
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 1, 300), 0);
    p2m_type_t t;
    CHECK_EQ(get_gfn_query_unlocked(h3, 300, &t), f1);
    CHECK_EQ(get_gfn_query_unlocked(h3, 301, &t), INVALID_MFN);
    CHECK(atomic_load(&mfn_to_page(f.pv.m, f0)->count_info) & PGC_allocated);
    CHECK_EQ(atomic_load(&h3->xenheap_pages), xen_pages);
    CHECK_EQ(gt->shared_gfn[0], INVALID_PFN);
    CHECK_EQ(gt->shared_gfn[1], 300);
    /* shared_info displaced by a grant frame: still allocated. */
    mfn_t si = h3->shared_info_mfn;
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_shared_info, 0, 310), 0);
    CHECK_EQ(get_gfn_query_unlocked(h3, 310, &t), si);
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 0, 310), 0);
    CHECK_EQ(get_gfn_query_unlocked(h3, 310, &t), f0);
    CHECK(atomic_load(&mfn_to_page(f.pv.m, si)->count_info) & PGC_allocated);
    /* ... and a grant frame displaced by shared_info. */
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_shared_info, 0, 300), 0);
    CHECK_EQ(get_gfn_query_unlocked(h3, 300, &t), si);
    CHECK(atomic_load(&mfn_to_page(f.pv.m, f1)->count_info) & PGC_allocated);
    CHECK_EQ(gt->shared_gfn[1], INVALID_PFN);
    /* shared_info forgot 310 when frame 0 took it: moving it did not
       clear frame 0's slot. */
    CHECK_EQ(get_gfn_query_unlocked(h3, 310, &t), f0);
    CHECK_EQ(gt->shared_gfn[0], 310);
    CHECK_EQ(atomic_load(&h3->xenheap_pages), xen_pages);
    CHECK_EQ(p2m_audit(f.pv.m, stderr), 0);
    CHECK_EQ(domain_destroy(h3), 0);
    finish(&f);
}

/* ---- 3: unhook mode: a native store over a grant PTE is undone --------- */

static void t_unhook_flush_keeps_grant_pte(void)
{
    struct gf f;
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.ptwr_mode = PTWR_UNHOOK;
    setup_cfg(&f, &cfg);
    FIX_REQUIRE(hypercall(f.pv.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                          VMASST_TYPE_writable_pagetables, 0, 0, 0) == 0);
    setup_l1b(&f);
    mfn_t target = f.d2mfn[7];
    grant(&f, f.table, 9, FIX_DOMID, target, GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 9, GNTMAP_host_map, RANGE_VA(5), &h, NULL),
             GNTST_okay);
    pte_t gpte = fix_entry(&f.pv, f.l1b, 5);
    CHECK(gpte & _PAGE_GNTTAB);
    CHECK_EQ(fix_tcount(&f.pv, target), 1);
    /* First store emulated, second opens the batch, then native stores:
       RW cleared on the grant PTE. */
    mfn_t a = fix_spare(&f.pv, 8);
    CHECK_EQ(mmu_store(f.pv.v, L1B_VA + 1 * 8, 8, pte_make(a, FIX_RO_FLAGS)),
             MMU_OK);
    CHECK_EQ(mmu_store(f.pv.v, L1B_VA + 2 * 8, 8, pte_make(a, FIX_RO_FLAGS)),
             MMU_OK);
    CHECK(ptwr_frame_in_batch(f.pv.d, f.l1b));
    CHECK_EQ(mmu_store(f.pv.v, L1B_VA + 5 * 8, 8, gpte & ~_PAGE_RW), MMU_OK);
    ptwr_sync(f.pv.v);
    CHECK_HEX(fix_entry(&f.pv, f.l1b, 5), gpte);    /* restored */
    CHECK_EQ(fix_tcount(&f.pv, target), 1);        /* the mapping's ref */
    CHECK_EQ(audits(&f), 0);
    /* Cleared natively: restored too. */
    CHECK_EQ(mmu_store(f.pv.v, L1B_VA + 3 * 8, 8, pte_make(a, FIX_RO_FLAGS)),
             MMU_OK);
    CHECK_EQ(mmu_store(f.pv.v, L1B_VA + 5 * 8, 8, 0), MMU_OK);
    ptwr_sync(f.pv.v);
    CHECK_HEX(fix_entry(&f.pv, f.l1b, 5), gpte);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, RANGE_VA(5), 0, h), GNTST_okay);
    CHECK_EQ(fix_tcount(&f.pv, target), 0);
    finish(&f);
}

/* ---- 6: demoting an L1 that holds a grant PTE crashes the domain ------- */

static void t_demote_grant_l1_crashes(void)
{
    struct gf f;
    gsetup(&f);
    setup_l1b(&f);
    mfn_t target = f.d2mfn[8];
    grant(&f, f.table, 10, FIX_DOMID, target, GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 10, GNTMAP_host_map, RANGE_VA(6), &h, NULL),
             GNTST_okay);
    CHECK(domain_crashed(f.pv.d) == NULL);
    /* Unhook the L1 (its last type ref goes): Xen crashes the domain. */
    CHECK_EQ(pt_update(&f, f.pv.l2, 1, 0), 0);
    CHECK(domain_crashed(f.pv.d) != NULL);
    CHECK_EQ(strcmp(domain_crashed(f.pv.d),
                    "Attempt to implicitly unmap a granted PTE"), 0);
    CHECK(domain_crashed(f.d2) == NULL);
    /* The mapping keeps its refs; the teardown gives every frame back. */
    CHECK_EQ(fix_count(&f.pv, target), 2);
    CHECK_EQ(fix_tcount(&f.pv, target), 1);
    CHECK_EQ(fix_teardown(&f.pv), 0);
}

/* ---- 7: unmap only through the mapping's own slot ----------------------- */

static void t_unmap_own_slot(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t target = f.d2mfn[3];
    grant(&f, f.table, 5, FIX_DOMID, target, GTF_permit_access);
    grant_handle_t ha, hb;
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map, MAP_VA(0), &ha, NULL),
             GNTST_okay);
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map, MAP_VA(1), &hb, NULL),
             GNTST_okay);
    pte_t a = map_pte(&f, 0), b = map_pte(&f, 1);
    CHECK_EQ(unmap(&f, MAP_VA(1), 0, ha), GNTST_general_error);
    CHECK_EQ(map_pte(&f, 0), a);
    CHECK_EQ(map_pte(&f, 1), b);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, ha), GNTST_okay);
    CHECK_EQ(unmap(&f, MAP_VA(1), 0, hb), GNTST_okay);
    CHECK_EQ(fix_count(&f.pv, target), 1);
    finish(&f);
}

/* ---- 8: unmap_and_replace without a host part is okay, does nothing ---- */

static void t_replace_without_host(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 5, FIX_DOMID, f.d2mfn[3], GTF_permit_access);
    grant(&f, f.table, 6, FIX_DOMID, f.d2mfn[4], GTF_permit_access);
    grant_handle_t h, hd;
    uint64_t bus;
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    pte_t before = map_pte(&f, 0);
    CHECK_EQ(replace(&f, 0, 0, h), GNTST_okay);
    CHECK_EQ(map_pte(&f, 0), before);
    CHECK_EQ(f.d2->grant_table->active[5].pin, GNTPIN_hstw_inc);
    CHECK_EQ(map(&f, D2, 6, GNTMAP_device_map, 0, &hd, &bus), GNTST_okay);
    CHECK_EQ(replace(&f, MAP_VA(1), 0, hd), GNTST_okay);
    CHECK_EQ(f.d2->grant_table->active[6].pin, GNTPIN_devw_inc);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(unmap(&f, 0, bus, hd), GNTST_okay);
    finish(&f);
}

/* ---- 4: replace across two L1s; a failed replace restores new_addr ----- */

static void t_replace_two_tables(void)
{
    struct gf f;
    gsetup(&f);
    setup_l1b(&f);
    mfn_t target = f.d2mfn[3], spare = fix_spare(&f.pv, 8);
    grant(&f, f.table, 5, FIX_DOMID, target, GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    pte_t n = pte_make(spare, FIX_DATA_FLAGS);
    CHECK_EQ(pt_update(&f, f.l1b, 4, n), 0);
    /* The second step fails (wrong host_addr): the stolen PTE is back. */
    CHECK_EQ(replace(&f, MAP_VA(1), RANGE_VA(4), h), GNTST_general_error);
    CHECK_HEX(fix_entry(&f.pv, f.l1b, 4), n);
    CHECK_EQ(fix_count(&f.pv, spare), 2);
    CHECK_EQ(audits(&f), 0);
    /* The real one: new_addr's PTE (other L1) moves into the grant slot. */
    CHECK_EQ(replace(&f, MAP_VA(0), RANGE_VA(4), h), GNTST_okay);
    CHECK_HEX(map_pte(&f, 0), n);
    CHECK_HEX(fix_entry(&f.pv, f.l1b, 4), 0);
    CHECK_EQ(fix_count(&f.pv, spare), 2);
    CHECK_EQ(fix_count(&f.pv, target), 1);
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT, 0), 0);
    finish(&f);
}

/* ---- 9: reserved entries across set_version ----------------------------- */

static void t_version_reserved(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t res = fix_spare(&f.pv, 1);
    grant(&f, f.own_table, 1, FIX_DOMID, res, GTF_permit_access);
    grant(&f, f.own_table, 20, 7, fix_spare(&f.pv, 2), GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, FIX_DOMID, 1, GNTMAP_host_map | GNTMAP_readonly,
                 MAP_VA(0), &h, NULL), GNTST_okay);
    CHECK_EQ(set_version(&f, 2), 0);        /* a reserved entry may stay */
    struct grant_table *gt = f.pv.d->grant_table;
    grant_entry_v2_t *e2 = (grant_entry_v2_t *)fix_frame(&f.pv, f.own_table);
    grant_status_t *st = fix_frame(&f.pv, gt->status[0]);
    CHECK_EQ(e2[1].hdr.flags, GTF_permit_access);
    CHECK_EQ(e2[1].hdr.domid, FIX_DOMID);
    CHECK_EQ(e2[1].full_page.frame, res);
    CHECK_EQ(st[1], GTF_reading);
    CHECK_EQ(e2[10].hdr.flags, 0);          /* the rest was cleared */
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(st[1], 0);
    /* A reserved entry v1 cannot hold: -ERANGE, nothing changes. */
    e2[2].full_page.frame = 1ULL << 33;
    e2[2].hdr.domid = FIX_DOMID;
    e2[2].hdr.flags = GTF_permit_access;
    CHECK_EQ(set_version(&f, 1), -XEN_ERANGE);
    CHECK_EQ(gt->version, 2);
    memset(&e2[2], 0, sizeof(e2[2]));
    CHECK_EQ(set_version(&f, 1), 0);
    grant_entry_v1_t *e1 = entry(&f, f.own_table, 1);
    CHECK_EQ(e1->flags, GTF_permit_access);
    CHECK_EQ(e1->frame, res);
    finish(&f);
}

/* ---- 10: v2 status frames are shared read-only -------------------------- */

static void t_status_frame_ro(void)
{
    struct gf f;
    gsetup(&f);
    CHECK_EQ(set_version(&f, 2), 0);
    mfn_t sf = f.pv.d->grant_table->status[0];
    CHECK_EQ(fix_type(&f.pv, sf) & PGT_type_mask, PGT_none);
    CHECK_EQ(fix_tcount(&f.pv, sf), 1);             /* Xen's none ref */
    CHECK(hypercall(f.pv.v, __HYPERVISOR_update_va_mapping, fix_data_va(8),
                    pte_make(sf, FIX_DATA_FLAGS), 0, 0, 0) != 0);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_update_va_mapping,
                       fix_data_va(8), pte_make(sf, FIX_RO_FLAGS), 0, 0, 0),
             0);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_update_va_mapping,
                       fix_data_va(8), pte_make(fix_data(&f.pv, 8),
                                                FIX_DATA_FLAGS), 0, 0, 0), 0);
    /* The shared entry frames stay writable. */
    CHECK_EQ(fix_type(&f.pv, f.own_table) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(set_version(&f, 1), 0);
    finish(&f);
}

/* ---- 12: copy: domains and claims before bad_copy_arg ------------------- */

static void t_copy_order(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t own = fix_spare(&f.pv, 3), own2 = fix_spare(&f.pv, 4);
    struct gnttab_copy op = {
        .source = { .u.ref = 1, .domid = 40 },
        .dest = { .u.gmfn = own2, .domid = DOMID_SELF },
        .len = 100, .flags = GNTCOPY_source_gref,
    };
    op.source.offset = 4000;                /* crosses the page too */
    CHECK_EQ(copy(&f, &op), GNTST_bad_domain);
    op.source = (struct gnttab_copy_ptr){ .u.gmfn = own, .domid = D2,
                                          .offset = 4000 };
    op.flags = 0;
    CHECK_EQ(copy(&f, &op), GNTST_permission_denied);
    /* An entry that grants nothing: the claim's error first. */
    op.source = (struct gnttab_copy_ptr){ .u.ref = 3, .domid = D2,
                                          .offset = 4000 };
    op.flags = GNTCOPY_source_gref;
    CHECK_EQ(copy(&f, &op), GNTST_general_error);
    /* Both claimed: now the range. */
    grant(&f, f.table, 3, FIX_DOMID, f.d2mfn[2], GTF_permit_access);
    CHECK_EQ(copy(&f, &op), GNTST_bad_copy_arg);
    CHECK_EQ(f.d2->grant_table->active[3].pin, 0);
    CHECK_EQ(entry(&f, f.table, 3)->flags, GTF_permit_access);
    finish(&f);
}

/* ---- 13: a map refuses GTF_sub_page ------------------------------------- */

static void t_map_sub_page(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 4, FIX_DOMID, f.d2mfn[2],
          GTF_permit_access | GTF_sub_page);
    CHECK_EQ(map(&f, D2, 4, GNTMAP_host_map | GNTMAP_readonly, MAP_VA(0),
                 NULL, NULL), GNTST_general_error);
    CHECK_EQ(entry(&f, f.table, 4)->flags, GTF_permit_access | GTF_sub_page);
    CHECK_EQ(f.d2->grant_table->active[4].pin, 0);
    CHECK_EQ(map_pte(&f, 0), 0);
    finish(&f);
}

/* ---- 14: dev_bus_addr always; an HVM writable self-map is typed --------- */

static void t_bus_addr_and_hvm_self_map(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 4, FIX_DOMID, f.d2mfn[2], GTF_permit_access);
    grant_handle_t h;
    uint64_t bus;
    CHECK_EQ(map(&f, D2, 4, GNTMAP_host_map, MAP_VA(0), &h, &bus),
             GNTST_okay);
    CHECK_EQ(bus, (uint64_t)f.d2mfn[2] << PAGE_SHIFT);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);

    struct domain *h3 = hvm_new(&f, 3);
    mfn_t mfns[4];
    FIX_REQUIRE(domctl_populate(h3, 0, 4, mfns) == 0);
    FIX_REQUIRE(setup(&f, 3, 1, NULL) == GNTST_okay);
    grant_entry_v1_t *e =
        (grant_entry_v1_t *)fix_frame(&f.pv, h3->grant_table->shared[0]) + 9;
    e->frame = 2;                           /* a gfn of h3 */
    e->domid = 3;
    __atomic_store_n(&e->flags, GTF_permit_access, __ATOMIC_RELEASE);
    struct gnttab_map_grant_ref op = {
        .host_addr = 200ULL << PAGE_SHIFT, .flags = GNTMAP_host_map,
        .ref = 9, .dom = 3,
    };
    gnttab_map_one(h3->vcpu[0], &op);
    CHECK_EQ(op.status, GNTST_okay);
    CHECK_EQ(op.dev_bus_addr, (uint64_t)mfns[2] << PAGE_SHIFT);
    CHECK_EQ(fix_type(&f.pv, mfns[2]) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(fix_tcount(&f.pv, mfns[2]), 1);
    CHECK_EQ(audits(&f), 0);
    struct gnttab_unmap_grant_ref un = { .host_addr = op.host_addr,
                                         .handle = op.handle };
    gnttab_unmap_one(h3->vcpu[0], &un);
    CHECK_EQ(un.status, GNTST_okay);
    CHECK_EQ(fix_tcount(&f.pv, mfns[2]), 0);
    CHECK_EQ(domain_destroy(h3), 0);
    finish(&f);
}

/* ---- 11: shared (dom_cow) frames: read pins allowed, write pins unshare */

static void t_shared_frame_pins(void)
{
    struct gf f;
    gsetup(&f);
    struct domain *h3 = hvm_new(&f, 3);
    mfn_t mfns[4];
    FIX_REQUIRE(domctl_populate(h3, 0, 4, mfns) == 0);
    FIX_REQUIRE(setup(&f, 3, 1, NULL) == GNTST_okay);
    uint64_t sh;
    CHECK_EQ(mem_sharing_nominate_gfn(h3, 2, &sh), 0);
    p2m_type_t t;
    mfn_t shared = get_gfn_query_unlocked(h3, 2, &t);
    CHECK_EQ(t, p2m_ram_shared);
    grant_entry_v1_t *e =
        (grant_entry_v1_t *)fix_frame(&f.pv, h3->grant_table->shared[0]);
    e[9].frame = 2;
    e[9].domid = FIX_DOMID;
    __atomic_store_n(&e[9].flags, GTF_permit_access, __ATOMIC_RELEASE);
    /* Read-only: the shared frame itself. */
    grant_handle_t h;
    CHECK_EQ(map(&f, 3, 9, GNTMAP_host_map | GNTMAP_readonly, MAP_VA(0), &h,
                 NULL), GNTST_okay);
    CHECK_EQ(pte_mfn(map_pte(&f, 0)), shared);
    CHECK_EQ(get_gfn_query_unlocked(h3, 2, &t), shared);
    CHECK_EQ(t, p2m_ram_shared);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    /* Writable: the gfn is unshared first, the private copy mapped. */
    CHECK_EQ(map(&f, 3, 9, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    mfn_t priv = get_gfn_query_unlocked(h3, 2, &t);
    CHECK_EQ(t, p2m_ram_rw);
    CHECK_EQ(pte_mfn(map_pte(&f, 0)), priv);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(domain_destroy(h3), 0);
    finish(&f);
}

static const struct test tests[] = {
    { "add_to_physmap over a grant frame or shared_info only unhooks it: "
      "still allocated, its recorded gfn cleared", t_physmap_displaces_xen_page },
    { "unhook mode: clearing RW on or clearing a grant PTE natively is "
      "restored at the flush; the mapping keeps its type ref",
      t_unhook_flush_keeps_grant_pte },
    { "unhooking an L1 that holds a grant PTE crashes the domain (first "
      "reason kept); teardown still gives every frame back",
      t_demote_grant_l1_crashes },
    { "unmap with another mapping's host_addr is general_error and changes "
      "neither PTE", t_unmap_own_slot },
    { "unmap_and_replace with host_addr 0 or of a device-only mapping is "
      "okay and changes nothing", t_replace_without_host },
    { "unmap_and_replace across two L1s moves the PTE; a failed one puts "
      "the stolen PTE back", t_replace_two_tables },
    { "set_version keeps a pinned reserved entry (converted, status bits "
      "too), clears the rest; -ERANGE for an entry v1 cannot hold",
      t_version_reserved },
    { "v2 status frames are shared read-only: type none, no writable "
      "mapping", t_status_frame_ro },
    { "copy: bad_domain, permission_denied and the claim's error come "
      "before bad_copy_arg", t_copy_order },
    { "a map of a GTF_sub_page entry is general_error, nothing changes",
      t_map_sub_page },
    { "a read-only map of a shared (dom_cow) gfn maps the shared frame; a "
      "writable one unshares it first", t_shared_frame_pins },
    { "dev_bus_addr on every successful map; an HVM writable self-map "
      "takes a writable type ref", t_bus_addr_and_hvm_self_map },
};

TEST_MAIN(tests)
