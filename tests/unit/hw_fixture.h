/*
 * tests/unit/hw_fixture.h - a bare machine for tests of the hardware model.
 *
 * No core/mm: a machine, a domain structure filled by hand, one vCPU, and
 * page tables written straight into machine frames.  Frames come from the
 * raw heap (state inuse, no owner, no references), which is all the MMU
 * needs.  Header-only; every helper REQUIREs what it needs.
 *
 *   struct hw h; hw_setup(&h, 16 << 20);
 *   mfn_t data = hw_frame(&h);
 *   hw_map(&h, h.l4, 0x400000, data, _PAGE_RW, _PAGE_RW);
 *   mmu_store(h.v, 0x400000, 8, 42);
 */
#ifndef HVLAB_TESTS_UNIT_HW_FIXTURE_H
#define HVLAB_TESTS_UNIT_HW_FIXTURE_H

#include "core/domain.h"
#include "core/machine.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "tests/unit/test.h"

/* Upper-level flags that allow everything (each test restricts one level). */
#define HW_ALL   (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)

struct hw {
    struct machine *m;
    struct domain d;        /* only m, domid, nr_vcpus and vcpu[] are set */
    struct vcpu *v;         /* vCPU 0, kernel mode, cr3 = l4 */
    mfn_t l4;
};

/* Machine of ram_bytes, domain 1 registered in it, vCPU 0 on an empty L4. */
static inline void hw_setup(struct hw *h, uint64_t ram_bytes)
{
    memset(h, 0, sizeof(*h));
    int rc = machine_create(ram_bytes, 0, NULL, &h->m);  /* REQUIRE: twice */
    REQUIRE(rc == 0);
    h->d.domid = 1;
    h->d.m = h->m;
    h->d.nr_vcpus = 1;
    h->v = vcpu_alloc(&h->d, 0);
    REQUIRE(h->v != NULL);
    h->d.vcpu[0] = h->v;
    h->m->domains[1] = &h->d;
    h->l4 = machine_heap_alloc(h->m);
    REQUIRE(h->l4 != INVALID_MFN);
    mmu_load_cr3(h->v, h->l4);
    current = h->v;
}

static inline void hw_teardown(struct hw *h)
{
    h->m->domains[1] = NULL;
    vcpu_free(h->v);
    machine_destroy(h->m);
}

/* A second vCPU of the same domain, on the same root. */
static inline struct vcpu *hw_vcpu(struct hw *h, unsigned id)
{
    struct vcpu *v = vcpu_alloc(&h->d, id);
    REQUIRE(v != NULL && id < HV_MAX_VCPUS);
    h->d.vcpu[id] = v;
    if (h->d.nr_vcpus <= id)
        h->d.nr_vcpus = id + 1;
    mmu_load_cr3(v, h->l4);
    return v;
}

static inline mfn_t hw_frame(struct hw *h)
{
    mfn_t mfn = machine_heap_alloc(h->m);
    REQUIRE(mfn != INVALID_MFN);
    return mfn;
}

static inline pte_t *hw_table(struct hw *h, mfn_t table)
{
    return (pte_t *)mfn_to_virt(h->m, table);
}

/*
 * Pointer to the entry for va at `level` under root; the tables above it
 * must be present (4K tables only).
 */
static inline pte_t *hw_pte(struct hw *h, mfn_t root, uint64_t va,
                            unsigned level)
{
    mfn_t t = root;
    for (unsigned l = PT_LEVELS; l > level; l--) {
        pte_t e = hw_table(h, t)[pt_index(va, l)];
        REQUIRE(e & _PAGE_PRESENT);
        t = pte_mfn(e);
    }
    return &hw_table(h, t)[pt_index(va, level)];
}

/*
 * Map the 4K page at va to target: leaf = P | leaf_flags; missing tables
 * are allocated with entries P | upper_flags (present ones are kept).
 */
static inline void hw_map(struct hw *h, mfn_t root, uint64_t va, mfn_t target,
                          uint64_t leaf_flags, uint64_t upper_flags)
{
    mfn_t t = root;
    for (unsigned l = PT_LEVELS; l > 1; l--) {
        pte_t *e = &hw_table(h, t)[pt_index(va, l)];
        if (!(*e & _PAGE_PRESENT))
            *e = pte_make(hw_frame(h), _PAGE_PRESENT | upper_flags);
        t = pte_mfn(*e);
    }
    hw_table(h, t)[pt_index(va, 1)] = pte_make(target, _PAGE_PRESENT | leaf_flags);
}

/* Host view of a frame's byte at offset off. */
static inline uint8_t *hw_host(struct hw *h, mfn_t mfn, unsigned off)
{
    return (uint8_t *)mfn_to_virt(h->m, mfn) + off;
}

#endif /* HVLAB_TESTS_UNIT_HW_FIXTURE_H */
