/*
 * tests/unit/test-grant-xsa.c - the grant-table bug zoo (docs/grant.md):
 * grant.xsa224, xsa227, xsa234, xsa255 and xsa316, each driven at the
 * hypercall level the way its XTF proof of concept drives Xen, once with
 * the option off (today's Xen: the PoC finds nothing, the audit stays
 * clean, every frame comes back) and once on (the old behaviour: the PoC's
 * "vulnerable" condition holds and, where the state is really
 * inconsistent, the audit says so - and teardown still finishes).
 *
 * Fixture: pv_fixture's PV domain d1 grants to itself (its own table), as
 * the XTF tests do.  Its L1 slots EMPTY_SLOT.. are free linear addresses
 * for the grant mappings.
 */
#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/xen.h>

#include "core/grant/grant_table.h"
#include "core/grant/private.h"
#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/traps.h"
#include "tests/unit/grant_fixture.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define OFF_EXT         (3 * PAGE_SIZE)
#define GREF_A          8
#define GREF_B          9

static void zsetup(struct gf *f, size_t opt_off)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    if (opt_off)
        *(bool *)((char *)&cfg.opt + opt_off) = true;
    memset(f, 0, sizeof(*f));
    FIX_REQUIRE(fix_setup(&f->pv, &cfg) == 0);
    xen_pfn_t fr;
    FIX_REQUIRE(setup(f, DOMID_SELF, 1, &fr) == GNTST_okay);
    f->table = fr;
}
#define OPT(field)  offsetof(struct hv_options, field)

/* After the old behaviour: the audit is known dirty; teardown must still
   finish without a crash and give every frame back. */
static void finish_dirty(struct gf *f)
{
    struct machine *m = f->pv.m;
    current = NULL;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (m->domains[id])
            domain_destroy(m->domains[id]);
    CHECK_EQ(m->nr_free, f->pv.free_at_start);
    machine_destroy(m);
    f->pv.m = NULL;
}

static long ext1(struct gf *f, unsigned cmd, mfn_t mfn)
{
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    uint64_t va = fix_put(&f->pv, OFF_EXT, &op, sizeof(op));
    return hypercall(f->pv.v, __HYPERVISOR_mmuext_op, va, 1, 0, DOMID_SELF,
                     0);
}

static long uva(struct gf *f, uint64_t va, pte_t val)
{
    return hypercall(f->pv.v, __HYPERVISOR_update_va_mapping, va, val,
                     UVMF_INVLPG, 0, 0);
}

/* ---- XSA-224: host+device writable map, two unmaps, one ref too many --- */

static bool xsa224_poc(struct gf *f, bool on)
{
    mfn_t frame = fix_data(&f->pv, 5);          /* mapped RW by d1 */
    memset(fix_frame(&f->pv, frame), 0, PAGE_SIZE);
    grant(f, f->table, GREF_A, FIX_DOMID, frame, GTF_permit_access);
    grant_handle_t h;
    uint64_t bus;
    CHECK_EQ(map(f, FIX_DOMID, GREF_A, GNTMAP_host_map | GNTMAP_device_map,
                 MAP_VA(0), &h, &bus), GNTST_okay);
    CHECK_EQ(fix_tcount(&f->pv, frame), 3);
    CHECK_EQ(unmap(f, MAP_VA(0), 0, h), GNTST_okay);        /* host only */
    CHECK_EQ(fix_tcount(&f->pv, frame), on ? 1 : 2);
    CHECK_EQ(unmap(f, 0, bus, h), GNTST_okay);              /* device */
    CHECK_EQ(fix_tcount(&f->pv, frame), on ? 0 : 1);
    long rc = ext1(f, MMUEXT_PIN_L1_TABLE, frame);
    CHECK_EQ(rc, on ? 0 : -XEN_EINVAL);
    return rc == 0;
}

static void t_xsa224_off(void)
{
    struct gf f;
    zsetup(&f, 0);
    CHECK(!xsa224_poc(&f, false));
    finish(&f);
}

static void t_xsa224_on(void)
{
    struct gf f;
    zsetup(&f, OPT(grant_xsa224));
    CHECK(xsa224_poc(&f, true));
    /* A page table that d1 still maps writable: invariant 3/4 broken. */
    CHECK(mm_audit(f.pv.m, NULL) > 0);
    CHECK_EQ(ext1(&f, MMUEXT_UNPIN_TABLE, fix_data(&f.pv, 5)), 0);
    CHECK(mm_audit(f.pv.m, NULL) > 0);          /* type count 0, RW PTE */
    finish_dirty(&f);                           /* restored at teardown */
}

/* ---- XSA-227: misaligned GNTMAP_contains_pte ----------------------------- */

static bool xsa227_poc(struct gf *f, bool on)
{
    /* The neighbour (slot A = MAP_VA(0)) holds a read-only grant PTE;
       slot B = MAP_VA(1) is empty; the PTE goes 2 bytes below B. */
    grant(f, f->table, GREF_B, FIX_DOMID, fix_data(&f->pv, 7),
          GTF_permit_access);
    grant(f, f->table, GREF_A, FIX_DOMID, fix_data(&f->pv, 6),
          GTF_permit_access);
    grant_handle_t ha, hb;
    CHECK_EQ(map(f, FIX_DOMID, GREF_B, GNTMAP_host_map | GNTMAP_readonly,
                 MAP_VA(0), &ha, NULL), GNTST_okay);
    pte_t a0 = fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT);
    uint64_t maddr = ((uint64_t)f->pv.l1 << PAGE_SHIFT) +
                     (EMPTY_SLOT + 1) * sizeof(pte_t) - 2;
    int st = map(f, FIX_DOMID, GREF_A,
                 GNTMAP_host_map | GNTMAP_contains_pte, maddr, &hb, NULL);
    CHECK_EQ(st, on ? GNTST_okay : GNTST_general_error);
    pte_t a1 = fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT);
    CHECK_EQ(a1 == a0, !on);
    mfn_t got;
    uint32_t pf = mmu_translate(f->pv.v, MAP_VA(0), 0, &got);
    if (!on) {
        CHECK_EQ(pf, 0);
        CHECK_EQ(got, fix_data(&f->pv, 7));
        CHECK_EQ(fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT + 1), 0);
        CHECK_EQ(unmap(f, MAP_VA(0), 0, ha), GNTST_okay);
    }
    return (pf & MMU_WALK_FAULT) && (pf & PFEC_RSVD);
}

static void t_xsa227_off(void)
{
    struct gf f;
    zsetup(&f, 0);
    CHECK(!xsa227_poc(&f, false));
    finish(&f);
}

static void t_xsa227_on(void)
{
    struct gf f;
    zsetup(&f, OPT(grant_xsa227));
    CHECK(xsa227_poc(&f, true));
    /* Two grant mappings whose PTEs are not what they hold (26). */
    CHECK(gnttab_audit(f.pv.m, NULL) >= 2);
    finish_dirty(&f);
}

/* ---- XSA-234: unmap_and_replace steals a writable grant PTE -------------- */

static bool xsa234_poc(struct gf *f, bool on)
{
    mfn_t f1 = fix_data(&f->pv, 6), f2 = fix_data(&f->pv, 7);
    memset(fix_frame(&f->pv, f1), 0, PAGE_SIZE);
    /* frame1's own mapping read-only: no writable ref of d1's own. */
    CHECK_EQ(uva(f, fix_data_va(6), pte_make(f1, FIX_RO_FLAGS)), 0);
    CHECK_EQ(fix_tcount(&f->pv, f1), 0);
    grant(f, f->table, GREF_A, FIX_DOMID, f1, GTF_permit_access);
    grant(f, f->table, GREF_B, FIX_DOMID, f2, GTF_permit_access);
    grant_handle_t h1, h2;
    CHECK_EQ(map(f, FIX_DOMID, GREF_A, GNTMAP_host_map, MAP_VA(0), &h1, NULL),
             GNTST_okay);
    CHECK_EQ(map(f, FIX_DOMID, GREF_B, GNTMAP_host_map | GNTMAP_readonly,
                 MAP_VA(1), &h2, NULL), GNTST_okay);
    struct gnttab_unmap_and_replace ur = { .host_addr = MAP_VA(1),
                                           .new_addr = MAP_VA(0),
                                           .handle = h2 };
    CHECK_EQ(gnttab(f, GNTTABOP_unmap_and_replace, &ur, sizeof(ur), 1), 0);
    get_op(f, &ur, sizeof(ur));
    CHECK_EQ(ur.status, on ? GNTST_okay : GNTST_general_error);
    if (on) {
        /* The writable grant PTE of frame1 now sits at MAP_VA(1). */
        pte_t e = fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT + 1);
        CHECK_EQ(pte_mfn(e), f1);
        CHECK(e & _PAGE_RW);
        CHECK_EQ(uva(f, MAP_VA(0), pte_make(f1, FIX_RO_FLAGS)), 0);
        CHECK_EQ(unmap(f, MAP_VA(0), 0, h1), GNTST_okay);
    }
    long rc = ext1(f, MMUEXT_PIN_L1_TABLE, f1);
    CHECK_EQ(rc, on ? 0 : -XEN_EINVAL);
    if (!on) {
        CHECK_EQ(unmap(f, MAP_VA(0), 0, h1), GNTST_okay);
        CHECK_EQ(unmap(f, MAP_VA(1), 0, h2), GNTST_okay);
    }
    return rc == 0;
}

static void t_xsa234_off(void)
{
    struct gf f;
    zsetup(&f, 0);
    CHECK(!xsa234_poc(&f, false));
    finish(&f);
}

static void t_xsa234_on(void)
{
    struct gf f;
    zsetup(&f, OPT(grant_xsa234));
    CHECK(xsa234_poc(&f, true));
    /* A grant PTE no mapping owns (26). */
    CHECK(gnttab_audit(f.pv.m, NULL) > 0);
    CHECK_EQ(ext1(&f, MMUEXT_UNPIN_TABLE, fix_data(&f.pv, 6)), 0);
    finish_dirty(&f);
}

/* ---- XSA-255: v2 -> v1 with a status frame still mapped ------------------ */

static bool xsa255_poc(struct gf *f, bool on)
{
    CHECK_EQ(set_version(f, 2), 0);
    struct gnttab_get_status_frames gs = { .dom = DOMID_SELF,
                                           .nr_frames = 1 };
    set_xen_guest_handle(gs.frame_list,
                         (uint64_t *)(uintptr_t)(FIX_BUF_VA + OFF_LIST));
    CHECK_EQ(gnttab(f, GNTTABOP_get_status_frames, &gs, sizeof(gs), 1), 0);
    get_op(f, &gs, sizeof(gs));
    CHECK_EQ(gs.status, GNTST_okay);
    uint64_t sf = 0;
    FIX_REQUIRE(fix_get(&f->pv, OFF_LIST, &sf, sizeof(sf)) == 0);
    /* Map the status frame (shared read-only, so read-only) over data
       page 8. */
    CHECK_EQ(uva(f, fix_data_va(8), pte_make(sf, FIX_RO_FLAGS)), 0);
    long rc = set_version(f, 1);
    CHECK_EQ(rc, on ? 0 : -XEN_EBUSY);
    if (on) {
        /* The table forgot the frame; the guest still maps it. */
        CHECK_EQ(f->pv.d->grant_table->nr_status, 0);
        CHECK_EQ(pte_mfn(fix_entry(&f->pv, f->pv.l1,
                                   pt_index(fix_data_va(8), 1))), sf);
        CHECK(!(atomic_load(&mfn_to_page(f->pv.m, sf)->count_info) &
                PGC_allocated));
    }
    CHECK_EQ(uva(f, fix_data_va(8), pte_make(fix_data(&f->pv, 8),
                                             FIX_DATA_FLAGS)), 0);
    if (!on)
        CHECK_EQ(set_version(f, 1), 0);
    return rc == 0;
}

static void t_xsa255_off(void)
{
    struct gf f;
    zsetup(&f, 0);
    CHECK(!xsa255_poc(&f, false));
    finish(&f);
}

static void t_xsa255_on(void)
{
    struct gf f;
    zsetup(&f, OPT(grant_xsa255));
    CHECK(xsa255_poc(&f, true));
    finish(&f);             /* the guest's unmap freed the frame at last */
}

/* ---- XSA-316: status 1 for a refused pin --------------------------------- */

static int xsa316_poc(struct gf *f)
{
    /* The entry names another domain (5), not the mapper. */
    grant(f, f->table, GREF_A, 5, fix_data(&f->pv, 6), GTF_permit_access);
    grant_handle_t h;
    int st = map(f, FIX_DOMID, GREF_A, GNTMAP_host_map, MAP_VA(0), &h, NULL);
    CHECK_EQ(fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT), 0);
    CHECK_EQ(f->pv.d->grant_table->active[GREF_A].pin, 0);
    return st;
}

static void t_xsa316_off(void)
{
    struct gf f;
    zsetup(&f, 0);
    CHECK_EQ(xsa316_poc(&f), GNTST_general_error);
    finish(&f);
}

static void t_xsa316_on(void)
{
    struct gf f;
    zsetup(&f, OPT(grant_xsa316));
    CHECK_EQ(xsa316_poc(&f), 1);
    finish(&f);             /* a wrong status, nothing else changed */
}

static void t_options(void)
{
    static const char *const keys[] = { "grant.xsa224", "grant.xsa227",
                                        "grant.xsa234", "grant.xsa255",
                                        "grant.xsa316" };
    struct hv_options o;
    hv_options_default(&o);
    CHECK(!o.grant_xsa224 && !o.grant_xsa227 && !o.grant_xsa234 &&
          !o.grant_xsa255 && !o.grant_xsa316);
    char why[256];
    for (unsigned i = 0; i < 5; i++) {
        CHECK(hv_option_known(keys[i]));
        CHECK_EQ(hv_option_set(&o, keys[i], "on", why, sizeof(why)), 0);
    }
    CHECK(o.grant_xsa224 && o.grant_xsa227 && o.grant_xsa234 &&
          o.grant_xsa255 && o.grant_xsa316);
    CHECK(hv_option_set(&o, "grant.xsa224", "maybe", why, sizeof(why)) != 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    hv_options_print(&o, mf);
    fclose(mf);
    for (unsigned i = 0; i < 5; i++)
        CHECK(strstr(buf, keys[i]) != NULL);
    free(buf);
}

static const struct test tests[] = {
    { "the five grant.xsa* options are off by default, take on|off and are "
      "listed by hv_options_print", t_options },
    { "xsa224 off: host then device unmap of a writable host+device map "
      "leave the own RW ref; pin L1 is -EINVAL", t_xsa224_off },
    { "xsa224 on: one writable type ref too many goes; the frame pins as "
      "an L1 while mapped RW; audit dirty; teardown gives every frame back",
      t_xsa224_on },
    { "xsa227 off: a misaligned contains_pte host_addr is general_error, "
      "the neighbour entry unchanged", t_xsa227_off },
    { "xsa227 on: the grant PTE straddles two entries; the neighbour's "
      "access faults with PFEC_RSVD; audit dirty; teardown finishes",
      t_xsa227_on },
    { "xsa234 off: unmap_and_replace may not steal a grant PTE; pin L1 of "
      "the writably granted frame is -EINVAL", t_xsa234_off },
    { "xsa234 on: the writable grant PTE is stolen, the unmap accepts a RO "
      "PTE, the frame pins as an L1 while mapped RW; audit names 26",
      t_xsa234_on },
    { "xsa255 off: set_version 1 is -EBUSY while a status frame is mapped, "
      "0 after the unmap", t_xsa255_off },
    { "xsa255 on: set_version 1 succeeds under the mapping; the guest's "
      "ref keeps the forgotten frame until it unmaps", t_xsa255_on },
    { "xsa316 off: an entry naming another domain is general_error",
      t_xsa316_off },
    { "xsa316 on: the same map returns status 1; nothing else changes",
      t_xsa316_on },
};

TEST_MAIN(tests)
