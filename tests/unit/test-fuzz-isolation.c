/*
 * tests/unit/test-fuzz-isolation.c - the isolation checks (fuzz/isolation.h)
 * on states a well-behaved run reaches, where they must stay silent.
 *
 * A guest may give back (XENMEM_decrease_reservation) a Xen page it maps:
 * its shared_info or its own grant-table frame.  Xen still holds the page
 * (core/mm/alloc.c A8), so the guest's mapping is of a page Xen shares
 * with it, not of a released one (I7), and the audit is clean too.
 */
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/hypercall.h"
#include "fuzz/isolation.h"
#include "tests/unit/grant_fixture.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"



/* Map x read-write, give it back, and ask both oracles. */
static void mapped_then_given_back(struct gf *f, mfn_t x)
{
    CHECK_EQ(pt_update(f, f->pv.l1, EMPTY_SLOT + 1, pte_make(x, FIX_DATA_FLAGS)),
             0);
    CHECK_EQ(decrease(f, DOMID_SELF, x), 1);
    char name[128] = "", detail[256] = "";
    int iso = fz_isolation_check(f->pv.m, name, sizeof name, detail,
                                 sizeof detail);
    if (iso)
        fprintf(stderr, "  %s: %s\n", name, detail);
    CHECK_EQ(iso, 0);
    CHECK_EQ(hv_audit(f->pv.m, stderr), 0);
}

static void t_shared_info(void)
{
    struct gf f;
    gsetup(&f);
    mapped_then_given_back(&f, f.pv.d->shared_info_mfn);
}

static void t_grant_frame(void)
{
    struct gf f;
    gsetup(&f);
    mapped_then_given_back(&f, f.own_table);
}

static const struct test tests[] = {
    { "shared_info mapped read-write and given back: Xen still shares it, no isolation finding, audit clean", t_shared_info },
    { "an own grant-table frame mapped read-write and given back: the same", t_grant_frame },
};
TEST_MAIN(tests)
