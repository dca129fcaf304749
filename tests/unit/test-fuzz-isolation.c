/*
 * tests/unit/test-fuzz-isolation.c - the isolation checks (fuzz/isolation.h)
 * on states a well-behaved run reaches, where they must stay silent.
 *
 * A guest may give back (XENMEM_decrease_reservation) a Xen page it maps:
 * its shared_info or its own grant-table frame.  Xen still holds the page
 * (core/mm/alloc.c A8), so the guest's mapping is of a page Xen shares
 * with it, not of a released one (I7), and the audit is clean too.
 *
 * The kept walk (isolation.c I8-I11) looks only at what a call changed:
 * one table entry rewritten is one frame looked at, an unchanged machine
 * none; and a violation one call makes (XSA-182's writable self-map) is
 * found by that look, then confirmed by a walk from scratch.  A frame it
 * remembers as a writable leaf, unmapped and then freed, is forgotten
 * (I13): no finding, no walk from scratch.
 */
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/hypercall.h"
#include "core/mm/mm.h"
#include "core/mm/pv_pt.h"
#include "core/vcpu.h"
#include "fuzz/fuzz.h"
#include "fuzz/isolation.h"
#include "fuzz/world.h"
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

/* dom1's first data frame and the L1 that maps it in the direct map. */
static void data_slot(struct fz_world *w, mfn_t *l1, unsigned *slot)
{
    pfn_t pfn = w->dom[1].data.first;
    *l1 = w->dom[1].p2m[w->dom[1].l1.first + pfn / 512];
    *slot = (unsigned)(pfn % 512);
}

static void t_kept_walk_incremental(void)
{
    struct fz_world w;
    char name[96] = "", detail[256] = "", msg[300] = "";
    REQUIRE(fz_world_build(&w, FUZZ_MM) == 0);
    struct fz_iso_stats a, b;
    fz_iso_stats(w.iso, &a);
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             0);
    fz_iso_stats(w.iso, &b);
    CHECK_EQ(b.unchanged - a.unchanged, 1);     /* settled by the build */

    /* dom1 points its first data slot at its second data frame. */
    mfn_t l1;
    unsigned slot;
    data_slot(&w, &l1, &slot);
    mfn_t other = w.dom[1].p2m[w.dom[1].data.first + 1];
    struct vcpu *v = w.dom[1].d->vcpu[0];
    current = v;
    CHECK_EQ(mod_pt_entry(v, l1, 1, slot, pte_make(other, _PAGE_PRESENT |
                                                   _PAGE_RW),
                          false, NULL, PTW_MMU_UPDATE), 0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);
    a = b;
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             0);
    fz_iso_stats(w.iso, &b);
    CHECK_EQ(b.full, a.full);                   /* no walk from scratch */
    CHECK(b.frames > a.frames && b.frames - a.frames <= 4);
    int bad = fz_iso_verify(w.iso, msg, sizeof msg);
    if (bad)
        fprintf(stderr, "  %s\n", msg);
    CHECK_EQ(bad, 0);
    fz_world_free(&w);
}

static void t_kept_walk_finds(void)
{
    char err[128], name[96] = "", detail[256] = "";
    REQUIRE(fuzz_set_option("mm.xsa182=on", err, sizeof err) == 0);
    struct fz_world w;
    REQUIRE(fz_world_build(&w, FUZZ_MM) == 0);
    mfn_t l4 = w.dom[1].p2m[w.dom[1].l4.first];
    const pte_t *e = mfn_to_virt(w.m, l4);
    unsigned slot = 1;
    while (slot < 256 && pte_present(e[slot]))
        slot++;
    REQUIRE(slot < 256);
    struct vcpu *v = w.dom[1].d->vcpu[0];
    /* XTF's XSA-182 sequence: a read-only self-map, then the same entry
       with RW, which the buggy fast path lets through. */
    current = v;
    CHECK_EQ(mod_pt_entry(v, l4, 4, slot, pte_make(l4, _PAGE_PRESENT),
                          false, NULL, PTW_MMU_UPDATE), 0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             0);
    current = v;
    CHECK_EQ(mod_pt_entry(v, l4, 4, slot, pte_make(l4, _PAGE_PRESENT |
                                                   _PAGE_RW),
                          false, NULL, PTW_MMU_UPDATE), 0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);   /* a self-map: not 9 */
    struct fz_iso_stats a, b;
    fz_iso_stats(w.iso, &a);
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             1);
    fz_iso_stats(w.iso, &b);
    CHECK(strcmp(name, "isolation: writable page-table mapping") == 0);
    CHECK(strstr(detail, "d1 va ") != NULL);    /* the full walk's text */
    CHECK_EQ(b.confirms - a.confirms, 1);       /* seen by the kept walk */
    CHECK_EQ(b.full - a.full, 1);
    /* Taken back: the next check walks from scratch (it stopped at the
       finding) and is clean. */
    current = v;
    CHECK_EQ(mod_pt_entry(v, l4, 4, slot, 0, false, NULL, PTW_MMU_UPDATE),
             0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             0);
    fz_iso_stats(w.iso, &a);
    CHECK_EQ(a.full - b.full, 1);
    CHECK(name[0] == '\0');
    fz_world_free(&w);
    REQUIRE(fuzz_set_option("mm.xsa182=off", err, sizeof err) == 0);
}

/* I13: dom1's first data frame, mapped writable by the direct map, is
   unmapped (its writable type ref goes: the walk looks at it again) and
   then given back.  The frame audit's cache says nothing maps it any
   more, so its leaf bits are forgotten at the first look: the freed frame
   is no "foreign frame mapped", there is no walk from scratch, and
   nothing a walk from scratch reaches is missing. */
static void t_kept_walk_forgets(void)
{
    struct fz_world w;
    char name[96] = "", detail[256] = "", msg[300] = "";
    REQUIRE(fz_world_build(&w, FUZZ_MM) == 0);
    mfn_t l1;
    unsigned slot;
    data_slot(&w, &l1, &slot);
    mfn_t x = w.dom[1].p2m[w.dom[1].data.first];
    REQUIRE(pte_mfn(((const pte_t *)mfn_to_virt(w.m, l1))[slot]) == x);
    struct fz_iso_stats a, b;
    fz_iso_stats(w.iso, &a);
    struct vcpu *v = w.dom[1].d->vcpu[0];
    current = v;
    CHECK_EQ(mod_pt_entry(v, l1, 1, slot, 0, false, NULL, PTW_MMU_UPDATE), 0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);
    CHECK(!hv_audit_may_map(w.m, x, true));
    CHECK(!hv_audit_may_map(w.m, x, false));
    /* x lost its writable type ref: looked at again, and forgotten. */
    CHECK_EQ(fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail),
             0);
    fz_iso_stats(w.iso, &b);
    CHECK_EQ(b.forgotten - a.forgotten, 1);
    current = v;
    CHECK_EQ(guest_remove_page(w.dom[1].d, x), 0);
    current = NULL;
    CHECK_EQ(hv_audit_changed(w.m, NULL), 0);
    int bad = fz_iso_check(w.iso, name, sizeof name, detail, sizeof detail);
    if (bad)
        fprintf(stderr, "  %s: %s\n", name, detail);
    CHECK_EQ(bad, 0);
    fz_iso_stats(w.iso, &b);
    CHECK_EQ(b.full, a.full);                   /* no walk from scratch */
    CHECK_EQ(b.confirms, a.confirms);
    bad = fz_iso_verify(w.iso, msg, sizeof msg);
    if (bad)
        fprintf(stderr, "  %s\n", msg);
    CHECK_EQ(bad, 0);
    fz_world_free(&w);
}

static const struct test tests[] = {
    { "shared_info mapped read-write and given back: Xen still shares it, no isolation finding, audit clean", t_shared_info },
    { "an own grant-table frame mapped read-write and given back: the same", t_grant_frame },
    { "the kept walk: a built world is settled, one rewritten entry is a look at a few frames, no walk from scratch, and covers what one would reach", t_kept_walk_incremental },
    { "the kept walk forgets a writable leaf unmapped and freed since: no finding, no walk from scratch", t_kept_walk_forgets },
    { "the kept walk finds XSA-182's writable self-map from the one entry changed, a walk from scratch confirms it, and the next check after it is taken back is from scratch and clean", t_kept_walk_finds },
};
TEST_MAIN(tests)
