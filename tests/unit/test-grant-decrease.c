/*
 * tests/unit/test-grant-decrease.c - a guest gives back a Xen page shared
 * with it (core/mm/alloc.c A8; tests/data/fuzz/grant-decrease-grant-frame).
 *
 * XENMEM_decrease_reservation of a grant-table frame, a v2 status frame or
 * shared_info counts the extent as done, as Xen's guest_remove_page does;
 * the frame's last put only detaches it (owner DOMID_XEN, count 0, not on
 * the heap): the guest can never take a reference again, the grant table
 * keeps using it, and its Xen user returns it to the heap exactly once
 * (set_version 2 -> 1, table or event-channel teardown).  Every test ends
 * with the audits clean and every frame back (finish: fix_teardown).
 *
 * Fixture: grant_fixture.h's gsetup - d1 (privileged) with its own table
 * frame own_table, and d2 with its table frame `table`.
 */
#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/grant/grant_table.h"
#include "core/grant/private.h"
#include "core/hypercall.h"
#include "tests/unit/grant_fixture.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define GREF            8

static uint64_t count_word(struct gf *f, mfn_t mfn)
{
    return atomic_load(&mfn_to_page(f->pv.m, mfn)->count_info);
}

/* A8: detached - Xen's, no reference, not free, Xen's type ref kept. */
static void check_detached(struct gf *f, mfn_t mfn)
{
    uint64_t c = count_word(f, mfn);
    CHECK_EQ(c & PGC_count_mask, 0);
    CHECK(!(c & PGC_allocated));
    CHECK(c & PGC_xen_heap);
    CHECK_HEX(c & PGC_state, PGC_state_inuse);          /* not on the heap */
    CHECK_EQ(mfn_to_page(f->pv.m, mfn)->owner, DOMID_XEN);
    CHECK_EQ(fix_tcount(&f->pv, mfn), 1);
}

/* d1 grants data #5 to itself through its table and maps it: the table
   works.  Returns the map's status (unmapped again when okay). */
static int self_map(struct gf *f)
{
    mfn_t frame = fix_data(&f->pv, 5);
    grant(f, f->own_table, GREF, FIX_DOMID, frame, GTF_permit_access);
    grant_handle_t h;
    int st = map(f, FIX_DOMID, GREF, GNTMAP_host_map, MAP_VA(0), &h, NULL);
    if (st == GNTST_okay) {
        CHECK_EQ(pte_mfn(map_pte(f, 0)), frame);
        CHECK_EQ(unmap(f, MAP_VA(0), 0, h), GNTST_okay);
    }
    return st;
}

static void t_grant_frame(void)
{
    struct gf f;
    gsetup(&f);
    struct machine *m = f.pv.m;
    mfn_t gf = f.own_table;
    uint64_t xen_pages = atomic_load(&f.pv.d->xenheap_pages);
    uint64_t tot = atomic_load(&f.pv.d->tot_pages);
    uint64_t nr_free = m->nr_free;

    CHECK_EQ(decrease(&f, DOMID_SELF, gf), 1);         /* done, as Xen */
    check_detached(&f, gf);
    CHECK_EQ(m->nr_free, nr_free);                      /* not freed */
    CHECK_EQ(atomic_load(&f.pv.d->xenheap_pages), xen_pages - 1);
    CHECK_EQ(atomic_load(&f.pv.d->tot_pages), tot);
    CHECK_EQ(audits(&f), 0);

    /* The guest can never reference it again (pv_pt.c P4: Xen's frame). */
    CHECK_EQ(decrease(&f, DOMID_SELF, gf), 0);         /* get_page fails */
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT + 1,
                       pte_make(gf, FIX_RO_FLAGS)), -XEN_EBUSY);
    CHECK_EQ(fix_entry(&f.pv, f.pv.l1, EMPTY_SLOT + 1), 0);
    check_detached(&f, gf);

    /* The table still works, and the heap never hands the frame out:
       d2's table grows by a frame, and the fuzzer's finding (dom0's
       setup_table handed the freed frame) cannot recur. */
    CHECK_EQ(self_map(&f), GNTST_okay);
    xen_pfn_t fr = 0;
    CHECK_EQ(setup(&f, D2, 2, &fr), GNTST_okay);
    CHECK(f.d2->grant_table->shared[1] != gf);
    CHECK_EQ(f.pv.d->grant_table->shared[0], gf);
    check_detached(&f, gf);
    finish(&f);                       /* teardown frees it: every frame */
}

/* The guest maps its grant frame, gives it back, then unmaps: the unmap's
   last put detaches it. */
static void t_mapped_then_unmapped(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t gf = f.own_table;
    pte_t rw = pte_make(gf, FIX_DATA_FLAGS);
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT + 1, rw), 0);
    CHECK_EQ(fix_tcount(&f.pv, gf), 2);                 /* Xen's + RW map */
    CHECK_EQ(decrease(&f, DOMID_SELF, gf), 1);
    CHECK_EQ(fix_count(&f.pv, gf), 1);                  /* the mapping */
    CHECK(!(count_word(&f, gf) & PGC_allocated));
    CHECK_EQ(fix_tcount(&f.pv, gf), 2);                 /* Xen's stays */
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT + 1, 0), 0);
    check_detached(&f, gf);
    CHECK_EQ(self_map(&f), GNTST_okay);
    finish(&f);
}

/* Given back while mapped, and the domain destroyed with the mapping in
   place: the table lets go first (Xen's type ref), the mapping's put at
   teardown frees it.  Given back and still mapped, the frame audits clean:
   the audit counts Xen's type ref while the grant table holds the page
   (core/mm/audit.c collect_xen_frame). */
static void t_mapped_at_teardown(void)
{
    struct gf f;
    gsetup(&f);
    struct machine *m = f.pv.m;
    mfn_t gf = f.own_table;
    CHECK_EQ(pt_update(&f, f.pv.l1, EMPTY_SLOT + 1,
                       pte_make(gf, FIX_DATA_FLAGS)), 0);
    CHECK_EQ(decrease(&f, DOMID_SELF, gf), 1);
    CHECK_EQ(fix_count(&f.pv, gf), 1);
    CHECK_EQ(fix_tcount(&f.pv, gf), 2);
    CHECK_EQ(audits(&f), 0);
    current = NULL;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (m->domains[id])
            domain_destroy(m->domains[id]);
    CHECK_EQ(m->nr_free, f.pv.free_at_start);           /* each one, once */
    CHECK_HEX(count_word(&f, gf) & PGC_state, PGC_state_free);
    machine_destroy(m);
    f.pv.m = NULL;
}

/* A v2 status frame given back: set_version 1 returns it to the heap
   (once: the heap gains exactly that frame). */
static void t_status_frame(void)
{
    struct gf f;
    gsetup(&f);
    struct machine *m = f.pv.m;
    CHECK_EQ(set_version(&f, 2), 0);
    struct grant_table *gt = f.pv.d->grant_table;
    REQUIRE(gt->nr_status >= 1);
    mfn_t sf = gt->status[0];
    CHECK_EQ(decrease(&f, DOMID_SELF, sf), 1);
    check_detached(&f, sf);
    CHECK_EQ(audits(&f), 0);
    uint64_t nr_free = m->nr_free;
    unsigned nr_status = gt->nr_status;
    CHECK_EQ(set_version(&f, 1), 0);
    CHECK_EQ(m->nr_free, nr_free + nr_status);
    CHECK_HEX(count_word(&f, sf) & PGC_state, PGC_state_free);
    CHECK_EQ(self_map(&f), GNTST_okay);
    finish(&f);
}

/* d2's frame given back (by privileged d1 on its behalf), then d2 is
   destroyed: the table frees the detached frame and d2 is reaped. */
static void t_reap(void)
{
    struct gf f;
    gsetup(&f);
    struct machine *m = f.pv.m;
    CHECK_EQ(decrease(&f, D2, f.table), 1);
    check_detached(&f, f.table);
    CHECK_EQ(audits(&f), 0);
    current = NULL;
    CHECK_EQ(domain_destroy(f.d2), 0);
    CHECK(m->domains[D2] == NULL);                      /* reaped (A6) */
    CHECK_HEX(count_word(&f, f.table) & PGC_state, PGC_state_free);
    current = f.pv.v;
    finish(&f);
}

/* shared_info (the event channels' Xen page) given back: detached, then
   returned to the heap by evtchn_domain_destroy. */
static void t_shared_info(void)
{
    struct gf f;
    gsetup(&f);
    mfn_t si = f.pv.d->shared_info_mfn;
    CHECK_EQ(decrease(&f, DOMID_SELF, si), 1);
    check_detached(&f, si);
    CHECK_EQ(f.pv.d->shared_info_mfn, si);              /* still Xen's */
    CHECK_EQ(audits(&f), 0);
    finish(&f);
}

static const struct test tests[] = {
    { "decrease_reservation of its own grant frame is done (1 extent); the "
      "frame is detached, not freed; no ref can be taken again; the table "
      "still maps and the heap never hands it to another table",
      t_grant_frame },
    { "a grant frame mapped RW, given back, then unmapped: the unmap's last "
      "put detaches it; the table still works", t_mapped_then_unmapped },
    { "a grant frame given back while mapped, domain destroyed: every frame "
      "comes back exactly once", t_mapped_at_teardown },
    { "a v2 status frame given back: set_version 1 returns it to the heap "
      "once", t_status_frame },
    { "another domain's grant frame given back, domain destroyed: the frame "
      "is freed and the domain reaped", t_reap },
    { "shared_info given back: detached until the event channels let go",
      t_shared_info },
};

TEST_MAIN(tests)
