/*
 * bench/bench-grant.c - grant map/unmap and grant copy throughput.
 *
 * Figures (best of RUNS, one process, no trace session):
 *   grant_map_unmap_b1     map+unmap pairs/s, PV grantee, one page, one
 *                          element per hypercall
 *   grant_map_unmap_b32    the same with 32 elements per hypercall
 *   grant_vs_mmu_update    b1 pairs / mmu_update install+clear pairs of the
 *                          same PTE slot (the plain PV baseline, same run)
 *   grant_copy             GB/s of 4 KiB GNTTABOP_copy gref -> gmfn
 *   grant_copy_vs_memcpy   copy GB/s / memcpy GB/s of the same 4 KiB
 * Set-up: pv_fixture's privileged d1 is the grantee; d2 grants one frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include <xen/grant_table.h>

#include "core/hypercall.h"
#include "tests/unit/pv_fixture.h"
#include "bench/lib/clock.h"

#define RUNS        3
#define PAIRS       100000
#define COPIES      200000
#define BATCH       32
#define SLOT0       100

static struct pv_fixture f;
static struct domain *d2;
static mfn_t d2mfn[4];

static void die(const char *what)
{
    fprintf(stderr, "bench-grant: %s failed\n", what);
    exit(1);
}

static long gnttab(unsigned cmd, const void *op, size_t size, unsigned n)
{
    uint64_t va = fix_put(&f, 0, op, size * n);
    return hypercall(f.v, __HYPERVISOR_grant_table_op, cmd, va, n, 0, 0);
}

static void set_up(void)
{
    struct fix_config cfg = { .privileged = true };
    if (fix_setup(&f, &cfg))
        die("fixture");
    d2 = fix_domain_new(f.m, 2, 1, 64, false);
    if (!d2 || domctl_populate(d2, 0, 4, d2mfn))
        die("granter");
    struct gnttab_setup_table st = { .dom = 2, .nr_frames = 1 };
    set_xen_guest_handle(st.frame_list,
                         (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + 8192));
    if (gnttab(GNTTABOP_setup_table, &st, sizeof(st), 1))
        die("setup_table");
    xen_pfn_t table;
    fix_get(&f, 8192, &table, sizeof(table));
    grant_entry_v1_t *e = mfn_to_virt_w(f.m, table);
    e[1].frame = (uint32_t)d2mfn[1];
    e[1].domid = FIX_DOMID;
    e[1].flags = GTF_permit_access;
}

static double map_unmap(unsigned batch)
{
    struct gnttab_map_grant_ref m[BATCH];
    struct gnttab_unmap_grant_ref u[BATCH];
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (unsigned i = 0; i < PAIRS; i += batch) {
            for (unsigned k = 0; k < batch; k++)
                m[k] = (struct gnttab_map_grant_ref){
                    .host_addr = FIX_DATA_VA + (SLOT0 + k) * PAGE_SIZE,
                    .flags = GNTMAP_host_map, .ref = 1, .dom = 2 };
            if (gnttab(GNTTABOP_map_grant_ref, m, sizeof(m[0]), batch))
                die("map");
            fix_get(&f, 0, m, sizeof(m[0]) * batch);
            for (unsigned k = 0; k < batch; k++) {
                if (m[k].status)
                    die("map status");
                u[k] = (struct gnttab_unmap_grant_ref){
                    .host_addr = m[k].host_addr, .handle = m[k].handle };
            }
            if (gnttab(GNTTABOP_unmap_grant_ref, u, sizeof(u[0]), batch))
                die("unmap");
        }
        double rate = PAIRS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    return best;
}

static double mmu_pairs(void)
{
    double best = 0;
    uint64_t ptr = (((uint64_t)f.l1 << PAGE_SHIFT) + SLOT0 * sizeof(pte_t)) |
                   MMU_NORMAL_PT_UPDATE;
    struct mmu_update req[2] = {
        { .ptr = ptr, .val = pte_make(fix_spare(&f, 0), FIX_DATA_FLAGS) },
        { .ptr = ptr, .val = 0 },
    };
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (unsigned i = 0; i < PAIRS; i++)
            for (unsigned k = 0; k < 2; k++) {
                uint64_t va = fix_put(&f, 0, &req[k], sizeof(req[k]));
                if (hypercall(f.v, __HYPERVISOR_mmu_update, va, 1, 0,
                              DOMID_SELF, 0))
                    die("mmu_update");
            }
        double rate = PAIRS / ((now_ns() - t0) / 1e9);
        if (rate > best)
            best = rate;
    }
    return best;
}

static double copies(void)
{
    struct gnttab_copy op = {
        .source = { .u.ref = 1, .domid = 2 },
        .dest = { .u.gmfn = fix_spare(&f, 1), .domid = DOMID_SELF },
        .len = PAGE_SIZE, .flags = GNTCOPY_source_gref,
    };
    uint64_t va = fix_put(&f, 0, &op, sizeof(op));
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (unsigned i = 0; i < COPIES; i++)
            if (hypercall(f.v, __HYPERVISOR_grant_table_op, GNTTABOP_copy, va,
                          1, 0, 0))
                die("copy");
        double gbs = (double)COPIES * PAGE_SIZE / (now_ns() - t0);
        if (gbs > best)
            best = gbs;
    }
    fix_get(&f, 0, &op, sizeof(op));
    if (op.status)
        die("copy status");
    return best;
}

static double memcpys(void)
{
    const void *src = mfn_to_virt(f.m, d2mfn[1]);
    void *dst = mfn_to_virt_w(f.m, fix_spare(&f, 1));
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (unsigned i = 0; i < COPIES; i++) {
            memcpy(dst, src, PAGE_SIZE);
            __asm__ volatile("" ::: "memory");
        }
        double gbs = (double)COPIES * PAGE_SIZE / (now_ns() - t0);
        if (gbs > best)
            best = gbs;
    }
    return best;
}

int main(void)
{
    set_up();
    double b1 = map_unmap(1), b32 = map_unmap(BATCH), mmu = mmu_pairs();
    double cp = copies(), mc = memcpys();
    printf("figure grant_map_unmap_b1: %.0f kpairs/s   "
           "[PV grantee, one page, 1 op per hypercall]\n", b1 / 1e3);
    printf("figure grant_map_unmap_b32: %.0f kpairs/s   "
           "[32 ops per hypercall]\n", b32 / 1e3);
    printf("figure grant_vs_mmu_update: %.2f x   "
           "[b1 pairs / mmu_update install+clear pairs (%.0f kpairs/s), "
           "same run]\n", b1 / mmu, mmu / 1e3);
    printf("figure grant_copy: %.2f GB/s   [4 KiB GNTTABOP_copy gref->gmfn]\n",
           cp);
    printf("figure grant_copy_vs_memcpy: %.3f x   "
           "[copy / memcpy of the same 4 KiB (%.1f GB/s), same run]\n",
           cp / mc, mc);
    if (fix_teardown(&f))
        die("teardown");
    return 0;
}
