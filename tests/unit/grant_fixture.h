/*
 * tests/unit/grant_fixture.h - grant-table tests on top of pv_fixture.h.
 *
 * Header-only.  It gives a test:
 *
 *   - struct gf: pv_fixture's domain d1 (FIX_DOMID) plus, after gsetup() /
 *     setup_cfg(), a second PV domain d2 (domid D2, D2_PAGES populated
 *     frames in d2mfn[]) and the first grant-table frame of each: `table`
 *     (d2's) and `own_table` (d1's).  d1 is made privileged so that it may
 *     set up d2's table.  A test that needs only d1 calls fix_setup() and
 *     setup() itself;
 *   - the hypercall wrappers, each placing its argument at OFF_OP of the
 *     guest buffer and returning the op's GNTST_ status (or -100 when the
 *     hypercall itself failed): setup(), map(), unmap(), copy(); gnttab()
 *     for any other command (returns the hypercall's rc), get_op() to read
 *     the op back, set_version();
 *   - entry() / grant(): write a v1 grant entry straight into a shared
 *     frame, as a guest does (frame and domid first, flags last);
 *   - MAP_VA(i) / map_pte(): free linear addresses of d1 (its L1 slots
 *     EMPTY_SLOT..) for grant mappings, and the PTE behind one;
 *   - pt_update() (mmu_update of one PTE of d1), hvm_new() (a HAP domain
 *     beside them) and xatp() (add_to_physmap), the other hypercalls the
 *     grant tests make;
 *   - audits() / finish(): the grant and fixture audits; finish() checks
 *     them clean and that every frame came back (fix_teardown).
 */
#ifndef HVLAB_TESTS_UNIT_GRANT_FIXTURE_H
#define HVLAB_TESTS_UNIT_GRANT_FIXTURE_H

#include <stdint.h>

#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/grant/grant_table.h"
#include "core/hypercall.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

#define D2              2
#define D2_PAGES        16
#define OFF_OP          0
#define OFF_LIST        2048
#define EMPTY_SLOT      100                     /* unmapped slot of d1's L1 */
#define MAP_VA(i)       (FIX_DATA_VA + (uint64_t)(EMPTY_SLOT + (i)) * PAGE_SIZE)

struct gf {
    struct pv_fixture pv;
    struct domain *d2;
    mfn_t d2mfn[D2_PAGES];
    mfn_t table;                /* d2's first grant-table frame (or d1's,
                                   for a test without d2) */
    mfn_t own_table;            /* d1's first grant-table frame */
    mfn_t l1b;                  /* a test's second L1, if it hooks one */
};

static inline long gnttab(struct gf *f, unsigned cmd, const void *op,
                          size_t size, unsigned count)
{
    uint64_t va = fix_put(&f->pv, OFF_OP, op, size * count);
    return hypercall(f->pv.v, __HYPERVISOR_grant_table_op, cmd, va, count, 0,
                     0);
}

static inline void get_op(struct gf *f, void *op, size_t size)
{
    FIX_REQUIRE(fix_get(&f->pv, OFF_OP, op, size) == 0);
}

/* setup_table for dom: status, first frame in *frame. */
static inline int setup(struct gf *f, domid_t dom, unsigned nr,
                        xen_pfn_t *frame)
{
    struct gnttab_setup_table op = { .dom = dom, .nr_frames = nr };
    set_xen_guest_handle(op.frame_list,
                         (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + OFF_LIST));
    if (gnttab(f, GNTTABOP_setup_table, &op, sizeof(op), 1))
        return -100;
    get_op(f, &op, sizeof(op));
    if (frame && op.status == GNTST_okay)
        FIX_REQUIRE(fix_get(&f->pv, OFF_LIST, frame, sizeof(*frame)) == 0);
    return op.status;
}

static inline void setup_cfg(struct gf *f, struct fix_config *cfg)
{
    memset(f, 0, sizeof(*f));
    cfg->privileged = true;
    FIX_REQUIRE(fix_setup(&f->pv, cfg) == 0);
    f->d2 = fix_domain_new(f->pv.m, D2, 1, 256, false);
    FIX_REQUIRE(f->d2);
    FIX_REQUIRE(domctl_populate(f->d2, 0, D2_PAGES, f->d2mfn) == 0);
    xen_pfn_t fr = 0;
    FIX_REQUIRE(setup(f, D2, 1, &fr) == GNTST_okay);
    f->table = fr;
    FIX_REQUIRE(setup(f, DOMID_SELF, 1, &fr) == GNTST_okay);
    f->own_table = fr;
}

static inline void gsetup(struct gf *f)
{
    struct fix_config cfg = { 0 };
    setup_cfg(f, &cfg);
}

static inline unsigned audits(struct gf *f)
{
    unsigned n = gnttab_audit(f->pv.m, NULL);
    if (n)
        gnttab_audit(f->pv.m, stderr);
    return n + fix_audit(&f->pv);
}

static inline void finish(struct gf *f)
{
    CHECK_EQ(audits(f), 0);
    CHECK_EQ(fix_teardown(&f->pv), 0);
}

static inline grant_entry_v1_t *entry(struct gf *f, mfn_t table,
                                      grant_ref_t ref)
{
    return (grant_entry_v1_t *)fix_frame(&f->pv, table) + ref;
}

/* The granter writes entry ref of table frame `table` (v1): frame and
   domid first, flags last, as the guest protocol says. */
static inline void grant(struct gf *f, mfn_t table, grant_ref_t ref,
                         domid_t to, mfn_t frame, uint16_t flags)
{
    grant_entry_v1_t *e = entry(f, table, ref);
    e->frame = (uint32_t)frame;
    e->domid = to;
    __atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
}

static inline int map(struct gf *f, domid_t dom, grant_ref_t ref,
                      uint32_t flags, uint64_t addr, grant_handle_t *h,
                      uint64_t *bus)
{
    struct gnttab_map_grant_ref op = { .host_addr = addr, .flags = flags,
                                       .ref = ref, .dom = dom };
    if (h)
        *h = ~0u;
    if (bus)
        *bus = 0;
    if (gnttab(f, GNTTABOP_map_grant_ref, &op, sizeof(op), 1))
        return -100;
    get_op(f, &op, sizeof(op));
    if (h)
        *h = op.handle;
    if (bus)
        *bus = op.dev_bus_addr;
    return op.status;
}

static inline int unmap(struct gf *f, uint64_t addr, uint64_t bus,
                        grant_handle_t h)
{
    struct gnttab_unmap_grant_ref op = { .host_addr = addr,
                                         .dev_bus_addr = bus, .handle = h };
    if (gnttab(f, GNTTABOP_unmap_grant_ref, &op, sizeof(op), 1))
        return -100;
    get_op(f, &op, sizeof(op));
    return op.status;
}

static inline int copy(struct gf *f, struct gnttab_copy *op)
{
    if (gnttab(f, GNTTABOP_copy, op, sizeof(*op), 1))
        return -100;
    get_op(f, op, sizeof(*op));
    return op->status;
}

static inline long set_version(struct gf *f, uint32_t v)
{
    struct gnttab_set_version op = { .version = v };
    return gnttab(f, GNTTABOP_set_version, &op, sizeof(op), 1);
}

static inline pte_t map_pte(struct gf *f, unsigned i)
{
    return fix_entry(&f->pv, f->pv.l1, EMPTY_SLOT + i);
}

/* mmu_update of one entry of d1's table `table`. */
static inline long pt_update(struct gf *f, mfn_t table, unsigned slot,
                             pte_t val)
{
    struct mmu_update req = {
        .ptr = (((uint64_t)table << PAGE_SHIFT) + slot * sizeof(pte_t)) |
               MMU_NORMAL_PT_UPDATE,
        .val = val,
    };
    uint64_t va = fix_put(&f->pv, 3 * PAGE_SIZE, &req, sizeof(req));
    return hypercall(f->pv.v, __HYPERVISOR_mmu_update, va, 1, 0, DOMID_SELF,
                     0);
}

/* d1's XENMEM_decrease_reservation of one frame of dom (DOMID_SELF: its
   own): the extents done.  Its arguments sit at 1024 (the reservation)
   and 1536 (the extent list) of d1's argument page. */
static inline long decrease(struct gf *f, domid_t dom, mfn_t mfn)
{
    xen_pfn_t ext = mfn;
    uint64_t eva = fix_put(&f->pv, 1536, &ext, sizeof(ext));
    struct xen_memory_reservation r = { .nr_extents = 1, .domid = dom };
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)eva);
    uint64_t va = fix_put(&f->pv, 1024, &r, sizeof(r));
    return hypercall(f->pv.v, __HYPERVISOR_memory_op,
                     XENMEM_decrease_reservation, va, 0, 0, 0);
}

/* A one-vCPU HAP domain with domid id, beside d1 and d2. */
static inline struct domain *hvm_new(struct gf *f, domid_t id)
{
    struct domain_config dc = {
        .kind = DOMAIN_HVM, .nr_vcpus = 1, .max_pages = 64, .domid = id,
        .paging = PAGING_HAP,
    };
    struct domain *h;
    FIX_REQUIRE(domain_create(f->pv.m, &dc, &h) == 0);
    return h;
}

/* XENMEM_add_to_physmap, made by d1. */
static inline long xatp(struct gf *f, domid_t dom, unsigned space,
                        uint64_t idx, uint64_t gpfn)
{
    struct xen_add_to_physmap x = { .domid = dom, .space = space,
                                    .idx = idx, .gpfn = gpfn };
    uint64_t va = fix_put(&f->pv, 0, &x, sizeof(x));
    return hypercall(f->pv.v, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
                     va, 0, 0, 0);
}

#endif
