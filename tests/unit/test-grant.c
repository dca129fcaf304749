/*
 * tests/unit/test-grant.c - grant tables (core/grant): setup, map/unmap with
 * Xen's status codes, the references a mapping holds, grant PTEs vs the PV
 * MMU hypercalls, version switches, maptrack limits, copy, an HVM grantee,
 * and the audit (invariants 24-26).
 *
 * Fixture: pv_fixture's privileged PV domain d1 is the grantee (it makes
 * every hypercall; being privileged it may set up d2's table) and, for the
 * tests about its own frames, its own granter; d2 is a second PV domain,
 * the usual granter.  Grant entries are written straight into the shared
 * frames, as a guest does.  Every test ends with both audits clean and
 * every frame back in the heap.
 */
#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/xen.h>

#include <xen/memory.h>

#include "core/grant/grant_table.h"
#include "core/grant/private.h"
#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/traps.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/grant/peek.h"
#include "tests/unit/grant_fixture.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

/* ------------------------------------------------------------------------- */

static void t_setup(void)
{
    struct gf f;
    gsetup(&f);
    CHECK_EQ(page_get_owner(f.pv.m, f.table), f.d2);
    CHECK(atomic_load(&mfn_to_page(f.pv.m, f.table)->count_info) &
          PGC_xen_heap);
    struct gnttab_query_size q = { .dom = D2 };
    CHECK_EQ(gnttab(&f, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
    get_op(&f, &q, sizeof(q));
    CHECK_EQ(q.status, GNTST_okay);
    CHECK_EQ(q.nr_frames, 1);
    CHECK_EQ(q.max_nr_frames, 64);
    q.dom = 40;
    CHECK_EQ(gnttab(&f, GNTTABOP_query_size, &q, sizeof(q), 1), 0);
    get_op(&f, &q, sizeof(q));
    CHECK_EQ(q.status, GNTST_bad_domain);
    finish(&f);
}

static void t_map_rw(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t target = f.d2mfn[3];
    grant(&f, f.table, 5, FIX_DOMID, target, GTF_permit_access);
    uint64_t marks = paging_dirty_marks(f.d2);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    pte_t e = map_pte(&f, 0);
    CHECK_EQ(pte_mfn(e), target);
    CHECK(e & _PAGE_GNTTAB);
    CHECK(e & _PAGE_RW);
    CHECK(e & _PAGE_NX);
    CHECK(!(e & _PAGE_USER));
    CHECK_EQ(entry(&f, f.table, 5)->flags,
             GTF_permit_access | GTF_reading | GTF_writing);
    CHECK_EQ(fix_type(&f.pv, target) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(fix_tcount(&f.pv, target), 1);
    CHECK_EQ(fix_count(&f.pv, target), 2);      /* allocation + mapping */
    CHECK_EQ(paging_dirty_marks(f.d2), marks);  /* none at map time */
    struct gnttab_peek pk;                      /* peek.h K2 */
    CHECK_EQ(gnttab_peek_entry(f.d2, 5, &pk), 0);
    CHECK_HEX(pk.entry_frame, target);
    CHECK_EQ(pk.entry_domid, FIX_DOMID);
    CHECK(pk.pin != 0);
    CHECK_EQ(gnttab_peek_entry(f.d2, 1u << 20, &pk), -XEN_EINVAL);
    CHECK_EQ(audits(&f), 0);

    /* The revoke protocol: the guest's cmpxchg to 0 fails while in use. */
    uint16_t expect = GTF_permit_access;
    CHECK(!__atomic_compare_exchange_n(&entry(&f, f.table, 5)->flags,
                                       &expect, 0, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST));

    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(map_pte(&f, 0), 0);
    CHECK_EQ(entry(&f, f.table, 5)->flags, GTF_permit_access);
    CHECK_EQ(fix_tcount(&f.pv, target), 0);
    CHECK_EQ(fix_count(&f.pv, target), 1);
    CHECK_EQ(paging_dirty_marks(f.d2), marks + 1);  /* writable unmap */
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_bad_handle);
    finish(&f);
}

static void t_map_ro_and_app(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t target = f.d2mfn[4];
    grant(&f, f.table, 1, FIX_DOMID, target,
          GTF_permit_access | GTF_readonly);
    CHECK_EQ(map(&f, D2, 1, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_general_error);              /* r/o grant, RW map */
    CHECK_EQ(entry(&f, f.table, 1)->flags, GTF_permit_access | GTF_readonly);
    grant_handle_t h;
    uint64_t marks = paging_dirty_marks(f.d2);
    CHECK_EQ(map(&f, D2, 1, GNTMAP_host_map | GNTMAP_readonly |
                 GNTMAP_application_map, MAP_VA(0), &h, NULL), GNTST_okay);
    pte_t e = map_pte(&f, 0);
    CHECK(!(e & _PAGE_RW));
    CHECK(e & _PAGE_USER);
    CHECK_EQ(entry(&f, f.table, 1)->flags,
             GTF_permit_access | GTF_readonly | GTF_reading);
    CHECK_EQ(fix_tcount(&f.pv, target), 0);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(paging_dirty_marks(f.d2), marks);  /* read-only: no mark */
    finish(&f);
}

static void t_map_errors(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 2, 7, f.d2mfn[1], GTF_permit_access);  /* to d7 */
    CHECK_EQ(map(&f, D2, 2, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_general_error);              /* wrong domid */
    grant(&f, f.table, 3, FIX_DOMID, f.d2mfn[1], GTF_permit_access);
    CHECK_EQ(map(&f, D2, 512, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_bad_gntref);                 /* past the table */
    CHECK_EQ(map(&f, 40, 3, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_bad_domain);
    CHECK_EQ(map(&f, D2, 3, GNTMAP_readonly, MAP_VA(0), NULL, NULL),
             GNTST_bad_gntref);                 /* neither host nor device */
    CHECK_EQ(map(&f, D2, 4, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_general_error);              /* entry invalid */
    CHECK_EQ(map(&f, D2, 3, GNTMAP_host_map | GNTMAP_contains_pte,
                 ((uint64_t)f.pv.l1 << PAGE_SHIFT) + 4, NULL, NULL),
             GNTST_general_error);              /* XSA-227: unaligned */
    grant(&f, f.table, 6, FIX_DOMID, f.d2mfn[15] + 100000,
          GTF_permit_access);
    CHECK_EQ(map(&f, D2, 6, GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_bad_page);                   /* not d2's frame */
    /* Nothing stayed behind: flags, pins, handles, PTE. */
    CHECK_EQ(entry(&f, f.table, 3)->flags, GTF_permit_access);
    CHECK_EQ(entry(&f, f.table, 6)->flags, GTF_permit_access);
    CHECK_EQ(map_pte(&f, 0), 0);
    CHECK_EQ(f.pv.d->grant_table->maptrack_in_use, 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, 12345), GNTST_bad_handle);
    finish(&f);
}

static void t_contains_pte_and_device(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t target = f.d2mfn[2];
    grant(&f, f.table, 9, FIX_DOMID, target, GTF_permit_access);
    grant_handle_t h;
    uint64_t bus;
    uint64_t pte_ma = ((uint64_t)f.pv.l1 << PAGE_SHIFT) +
                      (EMPTY_SLOT + 1) * sizeof(pte_t);
    CHECK_EQ(map(&f, D2, 9, GNTMAP_host_map | GNTMAP_device_map |
                 GNTMAP_contains_pte, pte_ma, &h, &bus), GNTST_okay);
    CHECK_EQ(bus, (uint64_t)target << PAGE_SHIFT);
    CHECK_EQ(pte_mfn(map_pte(&f, 1)), target);
    CHECK_EQ(fix_count(&f.pv, target), 3);      /* alloc + two kinds */
    CHECK_EQ(fix_tcount(&f.pv, target), 2);
    CHECK_EQ(f.d2->grant_table->active[9].pin,
             GNTPIN_hstw_inc | GNTPIN_devw_inc);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, 0, bus + PAGE_SIZE, h), GNTST_bad_dev_addr);
    /* Device kind only: the handle stays for the host kind. */
    CHECK_EQ(unmap(&f, 0, bus, h), GNTST_okay);
    CHECK_EQ(f.d2->grant_table->active[9].pin, GNTPIN_hstw_inc);
    CHECK_EQ(fix_count(&f.pv, target), 2);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, pte_ma, 0, h), GNTST_okay);
    CHECK_EQ(map_pte(&f, 1), 0);
    CHECK_EQ(f.d2->grant_table->active[9].pin, 0);
    CHECK_EQ(entry(&f, f.table, 9)->flags, GTF_permit_access);
    finish(&f);
}

static void t_frozen_while_pinned(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 4, FIX_DOMID, f.d2mfn[5], GTF_permit_access);
    grant_handle_t h1, h2;
    CHECK_EQ(map(&f, D2, 4, GNTMAP_host_map | GNTMAP_readonly, MAP_VA(0),
                 &h1, NULL), GNTST_okay);
    entry(&f, f.table, 4)->frame = (uint32_t)f.d2mfn[6];   /* guest bug */
    CHECK_EQ(map(&f, D2, 4, GNTMAP_host_map | GNTMAP_readonly, MAP_VA(1),
                 &h2, NULL), GNTST_okay);
    CHECK_EQ(pte_mfn(map_pte(&f, 1)), f.d2mfn[5]);  /* the pinned frame */
    CHECK_EQ(f.d2->grant_table->active[4].pin, 2 * GNTPIN_hstr_inc);
    entry(&f, f.table, 4)->frame = (uint32_t)f.d2mfn[5];
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h1), GNTST_okay);
    CHECK_EQ(unmap(&f, MAP_VA(1), 0, h2), GNTST_okay);
    finish(&f);
}

static void t_pt_frames(void)
{
    struct gf f;
    gsetup(&f);
    /* d1 grants its own L1 table to itself: never writable. */
    grant(&f, f.own_table, 1, FIX_DOMID, f.pv.l1, GTF_permit_access);
    CHECK_EQ(map(&f, FIX_DOMID, 1,
                 GNTMAP_host_map, MAP_VA(0), NULL, NULL),
             GNTST_general_error);
    CHECK_EQ(entry(&f, f.own_table, 1)->flags, GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, FIX_DOMID, 1, GNTMAP_host_map | GNTMAP_readonly,
                 MAP_VA(0), &h, NULL), GNTST_okay);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);

    /* A writably grant-mapped frame cannot become a page table. */
    mfn_t spare = fix_spare(&f.pv, 0);
    grant(&f, f.own_table, 2, FIX_DOMID, spare, GTF_permit_access);
    CHECK_EQ(map(&f, FIX_DOMID, 2, GNTMAP_host_map, MAP_VA(1), &h, NULL),
             GNTST_okay);
    struct mmuext_op pin = { .cmd = MMUEXT_PIN_L1_TABLE };
    pin.arg1.mfn = spare;
    uint64_t va = fix_put(&f.pv, 3 * PAGE_SIZE, &pin, sizeof(pin));
    CHECK(hypercall(f.pv.v, __HYPERVISOR_mmuext_op, va, 1, 0, DOMID_SELF,
                    0) != 0);
    CHECK_EQ(fix_type(&f.pv, spare) & PGT_type_mask, PGT_writable_page);
    CHECK_EQ(unmap(&f, MAP_VA(1), 0, h), GNTST_okay);
    finish(&f);
}

/* d2 grants its frame d2mfn[ref] to d1 in entry ref; d1 maps it writable
   at MAP_VA(0).  The handle. */
static grant_handle_t map_d2_frame(struct gf *f, grant_ref_t ref)
{
    grant(f, f->table, ref, FIX_DOMID, f->d2mfn[ref], GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(f, D2, ref, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    return h;
}

static void t_grant_pte_protected(void)
{
    struct gf f;
    gsetup(&f);
    grant_handle_t h = map_d2_frame(&f, 7);
    pte_t before = map_pte(&f, 0);
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT, 0), -XEN_EINVAL);
    CHECK_EQ(map_pte(&f, 0), before);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_update_va_mapping, MAP_VA(0),
                       pte_make(f.pv.mfn[30], FIX_DATA_FLAGS), 0, 0, 0),
             -XEN_EINVAL);
    CHECK_EQ(map_pte(&f, 0), before);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    finish(&f);
}

static void t_versions(void)
{
    struct gf f;
    gsetup(&f);
    /* Entries past the 8 reserved ones (those may stay pinned). */
    grant(&f, f.own_table, 9, FIX_DOMID, fix_spare(&f.pv, 1),
          GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, FIX_DOMID, 9, GNTMAP_host_map | GNTMAP_readonly,
                 MAP_VA(0), &h, NULL), GNTST_okay);
    CHECK_EQ(set_version(&f, 2), -XEN_EBUSY);
    CHECK_EQ(set_version(&f, 3), -XEN_EINVAL);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    uint64_t xen_pages = atomic_load(&f.pv.d->xenheap_pages);
    CHECK_EQ(set_version(&f, 2), 0);
    CHECK_EQ(atomic_load(&f.pv.d->xenheap_pages), xen_pages + 1);
    struct gnttab_get_version gv = { .dom = DOMID_SELF };
    CHECK_EQ(gnttab(&f, GNTTABOP_get_version, &gv, sizeof(gv), 1), 0);
    get_op(&f, &gv, sizeof(gv));
    CHECK_EQ(gv.version, 2);
    struct gnttab_get_status_frames sf = { .nr_frames = 1,
                                           .dom = DOMID_SELF };
    set_xen_guest_handle(sf.frame_list,
                         (uint64_t *)(uintptr_t)(FIX_BUF_VA + OFF_LIST));
    CHECK_EQ(gnttab(&f, GNTTABOP_get_status_frames, &sf, sizeof(sf), 1), 0);
    get_op(&f, &sf, sizeof(sf));
    CHECK_EQ(sf.status, GNTST_okay);
    uint64_t smfn;
    FIX_REQUIRE(fix_get(&f.pv, OFF_LIST, &smfn, sizeof(smfn)) == 0);
    CHECK_EQ(smfn, f.pv.d->grant_table->status[0]);

    /* v2: the status bits live in the status frame. */
    grant_entry_v2_t *e2 = (grant_entry_v2_t *)fix_frame(&f.pv, f.own_table)
                           + 11;
    e2->full_page.frame = fix_spare(&f.pv, 2);
    e2->hdr.domid = FIX_DOMID;
    e2->hdr.flags = GTF_permit_access;
    CHECK_EQ(map(&f, FIX_DOMID, 11, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    grant_status_t *st = fix_frame(&f.pv, smfn);
    CHECK_EQ(st[11], GTF_reading | GTF_writing);
    CHECK_EQ(e2->hdr.flags, GTF_permit_access);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(set_version(&f, 1), -XEN_EBUSY);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    CHECK_EQ(st[11], 0);
    memset(e2, 0, sizeof(*e2));                 /* the guest revokes it */
    CHECK_EQ(set_version(&f, 1), 0);            /* status frames freed */
    CHECK_EQ(atomic_load(&f.pv.d->xenheap_pages), xen_pages);
    finish(&f);
}

static void t_maptrack_exhaustion(void)
{
    struct gf f;
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.grant_max_maptrack_frames = 1;
    setup_cfg(&f, &cfg);
    for (unsigned r = 0; r < 4; r++)
        grant(&f, f.table, r, FIX_DOMID, f.d2mfn[r], GTF_permit_access);
    unsigned n = MAPTRACK_PER_FRAME;
    grant_handle_t *hs = calloc(n, sizeof(*hs));
    uint64_t bus = 0;
    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(map(&f, D2, i % 4, GNTMAP_device_map | GNTMAP_readonly, 0,
                     &hs[i], &bus), GNTST_okay);
    CHECK_EQ(map(&f, D2, 0, GNTMAP_device_map | GNTMAP_readonly, 0, NULL,
                 NULL), GNTST_no_space);
    CHECK_EQ(f.d2->grant_table->active[0].pin, (n / 4) * GNTPIN_devr_inc);
    CHECK_EQ(audits(&f), 0);
    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(unmap(&f, 0, (uint64_t)f.d2mfn[i % 4] << PAGE_SHIFT, hs[i]),
                 GNTST_okay);
    free(hs);
    finish(&f);
}

static void t_growth(void)
{
    struct gf f;
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.grant_max_frames = 4;
    setup_cfg(&f, &cfg);
    uint64_t xen_pages = atomic_load(&f.d2->xenheap_pages);
    CHECK_EQ(setup(&f, D2, 4, NULL), GNTST_okay);
    CHECK_EQ(f.d2->grant_table->nr_frames, 4);
    CHECK_EQ(atomic_load(&f.d2->xenheap_pages), xen_pages + 3);
    CHECK_EQ(setup(&f, D2, 5, NULL), GNTST_general_error);
    CHECK_EQ(f.d2->grant_table->nr_frames, 4);
    /* Entries of the last frame work. */
    mfn_t last = f.d2->grant_table->shared[3];
    grant(&f, last, 0, FIX_DOMID, f.d2mfn[8], GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 3 * 512, GNTMAP_host_map, MAP_VA(0), &h, NULL),
             GNTST_okay);
    CHECK_EQ(map(&f, D2, 4 * 512, GNTMAP_host_map, MAP_VA(1), NULL, NULL),
             GNTST_bad_gntref);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    /* An unprivileged caller cannot set up another domain's table. */
    f.pv.d->is_privileged = false;
    CHECK_EQ(setup(&f, D2, 1, NULL), GNTST_permission_denied);
    f.pv.d->is_privileged = true;
    finish(&f);
}

static void t_copy(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t a = f.d2mfn[9], b = f.d2mfn[10];
    mfn_t own = fix_spare(&f.pv, 3), own2 = fix_spare(&f.pv, 4);
    grant(&f, f.table, 1, FIX_DOMID, a, GTF_permit_access | GTF_readonly);
    grant(&f, f.table, 2, FIX_DOMID, b, GTF_permit_access);
    memset(fix_frame(&f.pv, a), 0xA5, PAGE_SIZE);
    memset(fix_frame(&f.pv, own), 0x5A, PAGE_SIZE);
    uint64_t marks = paging_dirty_marks(f.d2);

    /* gref -> gref */
    struct gnttab_copy op = {
        .source = { .u.ref = 1, .domid = D2, .offset = 16 },
        .dest = { .u.ref = 2, .domid = D2, .offset = 32 },
        .len = 100, .flags = GNTCOPY_source_gref | GNTCOPY_dest_gref,
    };
    CHECK_EQ(copy(&f, &op), GNTST_okay);
    CHECK_EQ(((uint8_t *)fix_frame(&f.pv, b))[32], 0xA5);
    CHECK_EQ(((uint8_t *)fix_frame(&f.pv, b))[132], 0);
    CHECK_EQ(paging_dirty_marks(f.d2), marks + 2);  /* copy + release */
    /* gmfn -> gref */
    op.source = (struct gnttab_copy_ptr){ .u.gmfn = own, .domid = DOMID_SELF };
    op.flags = GNTCOPY_dest_gref;
    CHECK_EQ(copy(&f, &op), GNTST_okay);
    CHECK_EQ(((uint8_t *)fix_frame(&f.pv, b))[32], 0x5A);
    /* gref -> gmfn */
    op.source = (struct gnttab_copy_ptr){ .u.ref = 1, .domid = D2 };
    op.dest = (struct gnttab_copy_ptr){ .u.gmfn = own2, .domid = DOMID_SELF,
                                        .offset = 4000 };
    op.len = 96;
    op.flags = GNTCOPY_source_gref;
    CHECK_EQ(copy(&f, &op), GNTST_okay);
    CHECK_EQ(((uint8_t *)fix_frame(&f.pv, own2))[4095], 0xA5);
    /* gmfn -> gmfn */
    op.source = (struct gnttab_copy_ptr){ .u.gmfn = own, .domid = DOMID_SELF };
    op.flags = 0;
    CHECK_EQ(copy(&f, &op), GNTST_okay);
    CHECK_EQ(((uint8_t *)fix_frame(&f.pv, own2))[4095], 0x5A);
    /* crossing a page */
    op.len = 97;
    CHECK_EQ(copy(&f, &op), GNTST_bad_copy_arg);
    /* a frame of another domain by number */
    op.len = 8;
    op.dest.domid = D2;
    CHECK_EQ(copy(&f, &op), GNTST_permission_denied);
    /* into a read-only grant */
    op.dest = (struct gnttab_copy_ptr){ .u.ref = 1, .domid = D2 };
    op.flags = GNTCOPY_dest_gref;
    CHECK_EQ(copy(&f, &op), GNTST_general_error);
    /* into a page table by number */
    op.dest = (struct gnttab_copy_ptr){ .u.gmfn = f.pv.l1,
                                        .domid = DOMID_SELF };
    op.flags = 0;
    CHECK_EQ(copy(&f, &op), GNTST_general_error);
    CHECK_EQ(entry(&f, f.table, 1)->flags, GTF_permit_access | GTF_readonly);
    CHECK_EQ(entry(&f, f.table, 2)->flags, GTF_permit_access);
    CHECK_EQ(f.d2->grant_table->active[2].pin, 0);
    finish(&f);
}

static void t_hvm_grantee(void)
{
    struct gf f;
    gsetup(&f);
    struct domain *h3 = hvm_new(&f, 3);
    grant(&f, f.table, 8, 3, f.d2mfn[11], GTF_permit_access);
    struct gnttab_map_grant_ref op = {
        .host_addr = 200ULL << PAGE_SHIFT, .flags = GNTMAP_host_map,
        .ref = 8, .dom = D2,
    };
    gnttab_map_one(h3->vcpu[0], &op);
    CHECK_EQ(op.status, GNTST_okay);
    p2m_type_t t;
    CHECK_EQ(get_gfn_query_unlocked(h3, 200, &t), f.d2mfn[11]);
    CHECK_EQ(t, p2m_grant_map_rw);
    CHECK_EQ(fix_tcount(&f.pv, f.d2mfn[11]), 1);    /* PV granter */
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(p2m_audit(f.pv.m, stderr), 0);
    struct gnttab_map_grant_ref bad = op;
    bad.flags |= GNTMAP_device_map;
    bad.host_addr = 201ULL << PAGE_SHIFT;
    gnttab_map_one(h3->vcpu[0], &bad);
    CHECK_EQ(bad.status, GNTST_general_error);
    struct gnttab_unmap_grant_ref un = { .host_addr = op.host_addr,
                                         .handle = op.handle };
    gnttab_unmap_one(h3->vcpu[0], &un);
    CHECK_EQ(un.status, GNTST_okay);
    CHECK_EQ(get_gfn_query_unlocked(h3, 200, &t), INVALID_MFN);
    /* A mapping left in place goes with the grantee. */
    op.ref = 8;
    gnttab_map_one(h3->vcpu[0], &op);
    CHECK_EQ(op.status, GNTST_okay);
    CHECK_EQ(domain_destroy(h3), 0);
    CHECK_EQ(entry(&f, f.table, 8)->flags, GTF_permit_access);
    CHECK_EQ(fix_count(&f.pv, f.d2mfn[11]), 1);
    finish(&f);
}

static void t_audit_detects(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 5, FIX_DOMID, f.d2mfn[3], GTF_permit_access);
    grant_handle_t h;
    CHECK_EQ(map(&f, D2, 5, GNTMAP_host_map | GNTMAP_readonly, MAP_VA(0), &h,
                 NULL), GNTST_okay);
    CHECK_EQ(gnttab_audit(f.pv.m, NULL), 0);
    __atomic_and_fetch(&entry(&f, f.table, 5)->flags,
                       (uint16_t)~GTF_reading, __ATOMIC_SEQ_CST);
    CHECK(gnttab_audit(f.pv.m, NULL) >= 1);             /* invariant 24 */
    __atomic_or_fetch(&entry(&f, f.table, 5)->flags, GTF_reading,
                      __ATOMIC_SEQ_CST);
    f.d2->grant_table->active[5].pin += GNTPIN_hstr_inc;
    CHECK(gnttab_audit(f.pv.m, NULL) >= 1);             /* invariant 25 */
    f.d2->grant_table->active[5].pin -= GNTPIN_hstr_inc;
    CHECK_EQ(gnttab_audit(f.pv.m, NULL), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    finish(&f);
}

static void t_teardown_with_mappings(void)
{
    struct gf f;
    gsetup(&f);
    grant(&f, f.table, 1, FIX_DOMID, f.d2mfn[1], GTF_permit_access);
    grant(&f, f.table, 2, FIX_DOMID, f.d2mfn[2], GTF_permit_access);
    grant_handle_t h1, h2;
    CHECK_EQ(map(&f, D2, 1, GNTMAP_host_map, MAP_VA(0), &h1, NULL),
             GNTST_okay);
    CHECK_EQ(map(&f, D2, 2, GNTMAP_host_map | GNTMAP_device_map, MAP_VA(1),
                 &h2, NULL), GNTST_okay);
    /* The granter goes first: its frames stay while mapped. */
    CHECK_EQ(domain_destroy(f.d2), 0);
    CHECK_EQ(fix_count(&f.pv, f.d2mfn[1]), 1);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h1), GNTST_okay);
    /* The grantee's teardown releases the other mapping. */
    finish(&f);
}

static void t_bad_calls(void)
{
    struct gf f;
    gsetup(&f);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_grant_table_op, 99, FIX_BUF_VA, 1,
                       0, 0), -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_grant_table_op,
                       GNTTABOP_transfer, FIX_BUF_VA, 1, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_grant_table_op,
                       GNTTABOP_map_grant_ref, 0x10000000ULL, 1, 0, 0),
             -XEN_EFAULT);
    CHECK_EQ(hypercall(f.pv.v, __HYPERVISOR_grant_table_op,
                       GNTTABOP_setup_table, FIX_BUF_VA, 2, 0, 0),
             -XEN_EINVAL);
    /* A batch: statuses per element. */
    grant(&f, f.table, 1, FIX_DOMID, f.d2mfn[1], GTF_permit_access);
    struct gnttab_map_grant_ref ops[2] = {
        { .host_addr = MAP_VA(0), .flags = GNTMAP_host_map, .ref = 1,
          .dom = D2 },
        { .host_addr = MAP_VA(1), .flags = GNTMAP_host_map, .ref = 2,
          .dom = D2 },
    };
    CHECK_EQ(gnttab(&f, GNTTABOP_map_grant_ref, ops, sizeof(ops[0]), 2), 0);
    get_op(&f, ops, sizeof(ops));
    CHECK_EQ(ops[0].status, GNTST_okay);
    CHECK_EQ(ops[1].status, GNTST_general_error);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, ops[0].handle), GNTST_okay);
    finish(&f);
}

static enum pf_outcome kill_pf(struct vcpu *v, uint64_t va, uint32_t pfec,
                               void *ctx)
{
    (void)v; (void)va; (void)pfec;
    ++*(unsigned *)ctx;
    return PF_KILL;
}

static void t_grant_pte_ptwr(void)
{
    struct gf f;
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.ptwr_mode = PTWR_EMULATE;
    setup_cfg(&f, &cfg);
    FIX_REQUIRE(hypercall(f.pv.v, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
                          VMASST_TYPE_writable_pagetables, 0, 0, 0) == 0);
    unsigned faults = 0;
    vcpu_set_guest_pf_handler(f.pv.v, kill_pf, &faults);
    grant_handle_t h = map_d2_frame(&f, 7);
    pte_t before = map_pte(&f, 0);
    /* The guest stores 0 over the grant PTE through its read-only view of
       the L1: not emulated, the fault is the guest's. */
    uint64_t pte_va = fix_pt_va(1) + EMPTY_SLOT * 8;
    CHECK(mmu_store(f.pv.v, pte_va, 8, 0) != MMU_OK);
    CHECK(faults >= 1);
    CHECK_EQ(map_pte(&f, 0), before);
    CHECK_EQ(audits(&f), 0);
    CHECK_EQ(unmap(&f, MAP_VA(0), 0, h), GNTST_okay);
    finish(&f);
}

static void t_unmap_and_replace(void)
{
    struct gf f;
    gsetup(&f);
    grant_handle_t h = map_d2_frame(&f, 3);
    /* The ordinary mapping at MAP_VA(1) moves into the grant's slot. */
    mfn_t spare = fix_spare(&f.pv, 5);
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT + 1,
                       pte_make(spare, FIX_DATA_FLAGS)), 0);
    struct gnttab_unmap_and_replace op = { .host_addr = MAP_VA(0),
                                           .new_addr = MAP_VA(1),
                                           .handle = h };
    CHECK_EQ(gnttab(&f, GNTTABOP_unmap_and_replace, &op, sizeof(op), 1), 0);
    get_op(&f, &op, sizeof(op));
    CHECK_EQ(op.status, GNTST_okay);
    CHECK_EQ(map_pte(&f, 0), pte_make(spare, FIX_DATA_FLAGS));
    CHECK_EQ(map_pte(&f, 1), 0);
    CHECK_EQ(fix_count(&f.pv, spare), 2);
    CHECK_EQ(fix_count(&f.pv, f.d2mfn[3]), 1);
    CHECK_EQ(entry(&f, f.table, 3)->flags, GTF_permit_access);
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT, 0), 0);
    finish(&f);
}

static void t_hvm_physmap(void)
{
    struct gf f;
    gsetup(&f);
    struct domain *h3 = hvm_new(&f, 3);
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table, 1, 300), 0);
    CHECK_EQ(h3->grant_table->nr_frames, 2);            /* grown to idx+1 */
    p2m_type_t t;
    CHECK_EQ(get_gfn_query_unlocked(h3, 300, &t), h3->grant_table->shared[1]);
    /* setup_table reports where the guest put them. */
    struct gnttab_setup_table op = { .dom = 3, .nr_frames = 2 };
    set_xen_guest_handle(op.frame_list,
                         (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + OFF_LIST));
    CHECK_EQ(gnttab(&f, GNTTABOP_setup_table, &op, sizeof(op), 1), 0);
    xen_pfn_t list[2];
    FIX_REQUIRE(fix_get(&f.pv, OFF_LIST, list, sizeof(list)) == 0);
    CHECK_EQ(list[0], (xen_pfn_t)INVALID_PFN);
    CHECK_EQ(list[1], 300);
    /* A status frame of a v1 table does not exist. */
    CHECK_EQ(xatp(&f, 3, XENMAPSPACE_grant_table,
                  XENMAPIDX_grant_table_status, 300), -XEN_EINVAL);
    CHECK_EQ(p2m_audit(f.pv.m, stderr), 0);
    CHECK_EQ(domain_destroy(h3), 0);
    finish(&f);
}

static const struct test tests[] = {
    { "setup_table gives the granter's Xen-shared frame; query_size reports "
      "1 of 64 frames; an unknown domain is bad_domain", t_setup },
    { "a writable host map installs a _PAGE_GNTTAB|RW|NX PTE, sets "
      "reading|writing, holds a general and a writable type ref, blocks a "
      "revoke; unmap undoes all and marks the frame dirty once", t_map_rw },
    { "a read-only grant cannot be mapped writable; a read-only "
      "application map has US and no RW, sets reading only, marks nothing",
      t_map_ro_and_app },
    { "map errors: wrong domid, ref past the table, unknown domain, no "
      "kind, invalid entry, unaligned contains_pte, foreign frame - each "
      "leaves nothing behind", t_map_errors },
    { "contains_pte + device_map: two kinds, two refs, dev_bus_addr; a "
      "wrong dev_bus_addr is bad_dev_addr; kinds unmap separately",
      t_contains_pte_and_device },
    { "a pinned entry's frame is frozen: a second map uses the pinned "
      "frame even after the guest rewrote the entry", t_frozen_while_pinned },
    { "a page-table frame is never grant-mapped writable; a writably "
      "grant-mapped frame cannot be pinned as a page table", t_pt_frames },
    { "mmu_update and update_va_mapping cannot clear or replace a grant "
      "PTE (-EINVAL, unchanged)", t_grant_pte_protected },
    { "set_version: -EBUSY while pinned, -EINVAL for 3; v2 adds a status "
      "frame holding the status bits; back to v1 frees it",
      t_versions },
    { "maptrack exhaustion after grant.max_maptrack_frames is no_space",
      t_maptrack_exhaustion },
    { "the table grows to grant.max_frames and no further; refs past it "
      "are bad_gntref; unprivileged setup of another domain is denied",
      t_growth },
    { "grant copy in all gref/gmfn combinations, bad_copy_arg across a "
      "page, permission_denied for another domain's gmfn, no copy into a "
      "read-only grant or a page table; destination marked dirty", t_copy },
    { "an HVM grantee's map is a p2m grant_map_rw entry; device_map is "
      "refused; its teardown releases a mapping left in place",
      t_hvm_grantee },
    { "the audit finds a cleared GTF_reading (24) and a pin no mapping "
      "accounts for (25)", t_audit_detects },
    { "granter destroyed while mapped keeps its frames until unmap; the "
      "grantee's teardown releases its mappings", t_teardown_with_mappings },
    { "unknown op and transfer are -ENOSYS, a bad pointer -EFAULT, setup "
      "with count 2 -EINVAL; a batch reports per element", t_bad_calls },
    { "writable pagetables: a guest store over a grant PTE is not "
      "emulated; the PTE stays", t_grant_pte_ptwr },
    { "unmap_and_replace moves new_addr's PTE into the grant's slot and "
      "clears new_addr", t_unmap_and_replace },
    { "an HVM guest places grant frame 1 with add_to_physmap (the table "
      "grows); setup_table reports the gfns; no status frame in v1",
      t_hvm_physmap },
};

TEST_MAIN(tests)
