/*
 * guest/dom0_p2m_race.c - the p2m-race workload of a privileged PV domain:
 * story B (XEN-NOTES 12.B) from the side of dom0's tools.
 *
 * Two threads of one process work on the top `gfns` gfns of the target
 * (an HVM domain; the toolstack gives wl.target and wl.target_pages).
 * The target's own kernel hands those gfns out last, so its workload does
 * not use them and nothing but these two threads writes them.
 *
 *   mapper (thread 0), `iters` times: pick a gfn G; mmu_update with
 *     foreigndom = target installs a kernel PTE naming G, writable, in
 *     dom0's mapping area (the translated path: the hypervisor turns G
 *     into a frame); write a pattern through the mapping and read it back;
 *     read the PTE back and ask the M2P whose frame it is; clear the PTE
 *     and INVLPG.  Expected races are counted, not failures: -ENOENT (G is
 *     paged; the pager was asked), -EBUSY (the frame went away under the
 *     lookup and the reference was refused), -ENOMEM (G still shared).
 *   pager (thread 1), until the mapper is done: nominate + evict a random
 *     gfn of the range, and keep at most RESIDENT_SLACK gfns evicted by
 *     prepping one back (XENMEM_paging_op_prep makes it guest-accessible
 *     at once, as Xen's does since 4.2); with sharing=on every third step
 *     instead nominates two gfns and shares one onto the other.  Expected
 *     races: nominate/evict -EBUSY (the mapper holds a reference) and
 *     -EINVAL (the gfn is not pageable or was touched); sharing handle
 *     errors.  At the end it prepares every gfn it evicted.
 *
 * The check that makes story B visible (sound in both lock modes): after
 * the mapping is installed the mapper holds a reference on its frame, so
 * under p2m.lock=locked neither eviction nor sharing can move the gfn away
 * and the M2P must name G.  A frame the M2P gives to another gfn, or to
 * sharing, means the hypervisor installed a mapping from a stale lookup:
 * counted in stale_foreign_maps, logged with the frame, and the mapping is
 * left in place for the audit; the mapper then stops.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/memory.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

/* dom0's foreign-mapping area: a kernel L4 slot of its own (Linux's vmalloc
   range), one L1 hooked at boot, before any process copies the kernel
   slots. */
#define MAP_BASE            0xffffc90000000000ULL
#define MAP_SLOT_MAPPER     0
/* What the M2P holds for a shared frame (Xen's SHARED_M2P_ENTRY). */
#define M2P_SHARED          (~0ULL - 1)
#define RESIDENT_SLACK      2       /* gfns the pager keeps evicted */
#define FOREIGN_FLAGS       (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | \
                             _PAGE_DIRTY)

enum gfn_state { GFN_RESIDENT = 0, GFN_EVICTED };

struct p2m_race {
    pfn_t l1;                       /* the mapping area's L1 */
    uint64_t first_gfn, nr_gfns;
    _Atomic bool mapper_done;
    /* pager-thread private */
    uint8_t *state;                 /* enum gfn_state per gfn of the range */
    uint64_t nr_evicted;
    /* counters, for the summary line */
    _Atomic uint64_t maps, enoent, refused, shared_nomem, holes;
    _Atomic uint64_t nominated, evicted, evict_busy, nominate_busy, prepped,
        shares, share_failed;
};

static void unexpected(struct gcpu *c, const char *what, uint64_t gfn, long rc)
{
    atomic_fetch_add(&c->g->st.hypercall_errors, 1);
    klog(c->g, "vcpu %u: p2m-race: %s of d%u gfn %#llx failed with %ld",
         c->v->vcpu_id, what, c->g->wl.target, (unsigned long long)gfn, rc);
}

/* ---- hypercalls (arguments in this vCPU's argument area, pv_hcall.c rule 1) */

static long race_mmu_update(struct gcpu *c, uint64_t ptr, uint64_t val,
                            unsigned foreigndom)
{
    struct mmu_update req = { .ptr = ptr, .val = val };
    if (mmu_write(c->v, c->arg_va + ARG_MMU_OFF, &req, sizeof(req)) != MMU_OK)
        return -XEN_EFAULT;
    return hypercall(c->v, __HYPERVISOR_mmu_update, c->arg_va + ARG_MMU_OFF,
                     1, 0, foreigndom, 0);
}

static long race_paging_op(struct gcpu *c, unsigned op, uint64_t gfn)
{
    struct xen_mem_paging_op po;
    memset(&po, 0, sizeof(po));
    po.op = (uint8_t)op;
    po.domain = c->g->wl.target;
    po.gfn = gfn;
    if (mmu_write(c->v, c->arg_va + ARG_EXT_OFF, &po, sizeof(po)) != MMU_OK)
        return -XEN_EFAULT;
    return hypercall(c->v, __HYPERVISOR_memory_op, XENMEM_paging_op,
                     c->arg_va + ARG_EXT_OFF, 0, 0, 0);
}

static long race_sharing_op(struct gcpu *c, struct xen_mem_sharing_op *so)
{
    uint64_t va = c->arg_va + ARG_EXT_OFF;
    if (mmu_write(c->v, va, so, sizeof(*so)) != MMU_OK)
        return -XEN_EFAULT;
    long rc = hypercall(c->v, __HYPERVISOR_memory_op, XENMEM_sharing_op, va,
                        0, 0, 0);
    if (rc == 0 && mmu_read(c->v, va, so, sizeof(*so)) != MMU_OK)
        return -XEN_EFAULT;
    return rc;
}

static uint64_t slot_maddr(struct gcpu *c, unsigned slot)
{
    return (pfn_to_mfn(c, c->g->race->l1) << PAGE_SHIFT) +
           slot * sizeof(pte_t);
}

static uint64_t slot_va(unsigned slot)
{
    return MAP_BASE + (uint64_t)slot * PAGE_SIZE;
}

/* ---- the mapper -------------------------------------------------------------- */

/* Whose frame the M2P says mfn is (~0 when unreadable). */
static uint64_t m2p_of(struct gcpu *c, mfn_t mfn)
{
    uint64_t gpfn;
    if (!kload(c, MACH2PHYS_VIRT_START + mfn * sizeof(uint64_t), &gpfn))
        return ~0ULL;
    return gpfn;
}

static void mapper_unmap(struct gcpu *c, uint64_t gfn)
{
    long rc = race_mmu_update(c, slot_maddr(c, MAP_SLOT_MAPPER), 0,
                              DOMID_SELF);
    if (rc)
        unexpected(c, "clearing the foreign mapping", gfn, rc);
    hc_mmuext1(c, MMUEXT_INVLPG_LOCAL, slot_va(MAP_SLOT_MAPPER), 0,
               "p2m-race: INVLPG of the foreign mapping");
}

/* One map / check / write / unmap of a random gfn; false when done. */
static bool mapper_step(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct p2m_race *r = g->race;
    uint64_t gfn = r->first_gfn + wl_rng_next(&t->rng) % r->nr_gfns;
    uint64_t val = (gfn << PAGE_SHIFT) | FOREIGN_FLAGS;

    long rc = race_mmu_update(c, slot_maddr(c, MAP_SLOT_MAPPER), val,
                              g->wl.target);
    switch (rc) {
    case 0:
        break;
    case -XEN_ENOENT:                   /* paged: the pager was asked */
        atomic_fetch_add(&r->enoent, 1);
        return true;
    case -XEN_EBUSY:                    /* the frame went away meanwhile */
        atomic_fetch_add(&r->refused, 1);
        return true;
    case -XEN_ENOMEM:                   /* still shared */
        atomic_fetch_add(&r->shared_nomem, 1);
        return true;
    case -XEN_EINVAL:                   /* a hole (paging_in, no frame) */
        atomic_fetch_add(&r->holes, 1);
        return true;
    default:
        unexpected(c, "foreign mmu_update", gfn, rc);
        return true;
    }
    atomic_fetch_add(&r->maps, 1);

    pte_t e;
    if (!pt_read(c, r->l1, MAP_SLOT_MAPPER, &e)) {
        unexpected(c, "reading back the foreign PTE", gfn, -XEN_EFAULT);
        mapper_unmap(c, gfn);
        return true;
    }
    mfn_t mfn = pte_mfn(e);

    /* Write a pattern through the mapping and read it back. */
    uint64_t *w = (uint64_t *)c->ubuf, *rd = (uint64_t *)c->ubuf2;
    uint64_t key = splitmix64(g->wl.seed ^ (gfn << 20) ^ t->iter);
    for (unsigned i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++)
        w[i] = splitmix64(key + i);
    if (mmu_write(c->v, slot_va(MAP_SLOT_MAPPER), c->ubuf, PAGE_SIZE) != MMU_OK ||
        mmu_read(c->v, slot_va(MAP_SLOT_MAPPER), c->ubuf2, PAGE_SIZE) != MMU_OK) {
        atomic_fetch_add(&g->st.kernel_oopses, 1);
        klog(g, "vcpu %u: p2m-race: access through the foreign mapping of gfn "
             "%#llx refused", c->v->vcpu_id, (unsigned long long)gfn);
    } else if (memcmp(w, rd, PAGE_SIZE) != 0) {
        atomic_fetch_add(&g->st.verify_failures, 1);
        klog(g, "vcpu %u: p2m-race: gfn %#llx (mfn %#llx) did not read back "
             "what was written through the mapping", c->v->vcpu_id,
             (unsigned long long)gfn, (unsigned long long)mfn);
    } else {
        atomic_fetch_add(&g->st.pages_touched, 1);
    }

    /* Was that frame still G's?  The mapping's reference pins it now. */
    uint64_t owner_gfn = m2p_of(c, mfn);
    if (owner_gfn != gfn) {
        atomic_fetch_add(&g->st.stale_foreign_maps, 1);
        klog(g, "vcpu %u: p2m-race: STALE foreign mapping: wrote d%u gfn "
             "%#llx through an RW PTE to mfn %#llx, but the M2P gives that "
             "frame to %s %#llx; the PTE stays at %#llx for the audit",
             c->v->vcpu_id, g->wl.target, (unsigned long long)gfn,
             (unsigned long long)mfn,
             owner_gfn == M2P_SHARED ? "sharing (dom_cow)" : "gfn",
             (unsigned long long)owner_gfn,
             (unsigned long long)slot_va(MAP_SLOT_MAPPER));
        return false;
    }
    mapper_unmap(c, gfn);
    return true;
}

/* ---- the pager ------------------------------------------------------------------ */

static bool pager_prep(struct gcpu *c, uint64_t i)
{
    struct p2m_race *r = c->g->race;
    uint64_t gfn = r->first_gfn + i;
    long rc = race_paging_op(c, XENMEM_paging_op_prep, gfn);
    if (rc == 0) {
        r->state[i] = GFN_RESIDENT;
        r->nr_evicted--;
        atomic_fetch_add(&r->prepped, 1);
        return true;
    }
    if (rc != -XEN_ENOMEM)
        unexpected(c, "paging prep", gfn, rc);
    return false;
}

static void pager_evict_one(struct gcpu *c, struct thread *t)
{
    struct p2m_race *r = c->g->race;
    uint64_t i = wl_rng_next(&t->rng) % r->nr_gfns, gfn = r->first_gfn + i;
    if (r->state[i] == GFN_EVICTED)
        return;
    long rc = race_paging_op(c, XENMEM_paging_op_nominate, gfn);
    if (rc == -XEN_EBUSY || rc == -XEN_EINVAL) {
        atomic_fetch_add(&r->nominate_busy, 1);     /* mapped, or shared */
        return;
    }
    if (rc) {
        unexpected(c, "paging nominate", gfn, rc);
        return;
    }
    atomic_fetch_add(&r->nominated, 1);
    rc = race_paging_op(c, XENMEM_paging_op_evict, gfn);
    if (rc == -XEN_EBUSY || rc == -XEN_EINVAL) {
        atomic_fetch_add(&r->evict_busy, 1);        /* mapped, or touched */
        return;
    }
    if (rc) {
        unexpected(c, "paging evict", gfn, rc);
        return;
    }
    r->state[i] = GFN_EVICTED;
    r->nr_evicted++;
    atomic_fetch_add(&r->evicted, 1);
}

static void pager_share_two(struct gcpu *c, struct thread *t)
{
    struct p2m_race *r = c->g->race;
    uint64_t gfn[2];
    uint64_t handle[2];
    for (unsigned k = 0; k < 2; k++) {
        uint64_t i = wl_rng_next(&t->rng) % r->nr_gfns;
        if (r->state[i] == GFN_EVICTED)
            return;
        gfn[k] = r->first_gfn + i;
        struct xen_mem_sharing_op so;
        memset(&so, 0, sizeof(so));
        so.op = XENMEM_sharing_op_nominate_gfn;
        so.domain = c->g->wl.target;
        so.u.nominate.u.gfn = gfn[k];
        long rc = race_sharing_op(c, &so);
        if (rc == -XEN_EBUSY || rc == -XEN_EINVAL) {
            atomic_fetch_add(&r->share_failed, 1);
            return;
        }
        if (rc) {
            unexpected(c, "sharing nominate", gfn[k], rc);
            return;
        }
        handle[k] = so.u.nominate.handle;
    }
    struct xen_mem_sharing_op so;
    memset(&so, 0, sizeof(so));
    so.op = XENMEM_sharing_op_share;
    so.domain = c->g->wl.target;
    so.u.share.source_gfn = gfn[0];
    so.u.share.source_handle = handle[0];
    so.u.share.client_gfn = gfn[1];
    so.u.share.client_handle = handle[1];
    so.u.share.client_domain = c->g->wl.target;
    long rc = race_sharing_op(c, &so);
    if (rc == 0)
        atomic_fetch_add(&r->shares, 1);
    else if (rc == XENMEM_SHARING_OP_S_HANDLE_INVALID ||
             rc == XENMEM_SHARING_OP_C_HANDLE_INVALID)
        atomic_fetch_add(&r->share_failed, 1);      /* unshared meanwhile */
    else
        unexpected(c, "sharing share", gfn[1], rc);
}

static void pager_step(struct gcpu *c, struct thread *t)
{
    struct p2m_race *r = c->g->race;
    if (c->g->wl.sharing && wl_rng_next(&t->rng) % 3 == 0)
        pager_share_two(c, t);
    else
        pager_evict_one(c, t);
    /* Page one back when too many are out: the frame just freed is the
       first the allocator hands out again. */
    while (r->nr_evicted > RESIDENT_SLACK) {
        uint64_t i = wl_rng_next(&t->rng) % r->nr_gfns;
        if (r->state[i] == GFN_EVICTED && !pager_prep(c, i))
            break;
    }
}

static void pager_drain(struct gcpu *c)
{
    struct p2m_race *r = c->g->race;
    for (uint64_t i = 0; i < r->nr_gfns; i++)
        if (r->state[i] == GFN_EVICTED)
            pager_prep(c, i);
}

/* ---- the workload ---------------------------------------------------------------- */

static void summary(struct guest_kernel *g)
{
    struct p2m_race *r = g->race;
    klog(g, "p2m-race: mapper %llu maps (%llu -ENOENT paged, %llu refused, "
         "%llu -ENOMEM shared, %llu holes); pager %llu nominated, %llu "
         "evicted (%llu nominate and %llu evict refusals), %llu prepped, "
         "%llu shares (%llu refused)",
         (unsigned long long)r->maps, (unsigned long long)r->enoent,
         (unsigned long long)r->refused, (unsigned long long)r->shared_nomem,
         (unsigned long long)r->holes, (unsigned long long)r->nominated,
         (unsigned long long)r->evicted, (unsigned long long)r->nominate_busy,
         (unsigned long long)r->evict_busy, (unsigned long long)r->prepped,
         (unsigned long long)r->shares, (unsigned long long)r->share_failed);
}

enum thread_result p2m_race_slice(struct gcpu *c, struct thread *t)
{
    struct p2m_race *r = c->g->race;
    if (t->tid == 0) {
        if (t->iter >= c->g->wl.iters || !mapper_step(c, t)) {
            atomic_store(&r->mapper_done, true);
            return T_EXITED;
        }
        t->iter++;
        return T_RUNNABLE;
    }
    if (atomic_load(&r->mapper_done)) {
        pager_drain(c);
        summary(c->g);
        return T_EXITED;
    }
    pager_step(c, t);
    return T_RUNNABLE;
}

void p2m_race_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    const struct workload_params *wl = &g->wl;
    struct p2m_race *r = calloc(1, sizeof(*r));
    uint64_t n = wl->gfns ? wl->gfns : 16;

    if (!r || wl->target_pages < n + 1) {
        klog(g, "p2m-race: no state, or target d%u has %llu pages for %llu "
             "gfns", wl->target, (unsigned long long)wl->target_pages,
             (unsigned long long)n);
        free(r);
        goto none;
    }
    g->race = r;
    r->nr_gfns = n;
    r->first_gfn = wl->target_pages - n;
    r->state = calloc(n, 1);
    struct proc kernel = { .l4_pfn = g->init_l4_pfn };
    int rc = r->state ? pt_walk(c, &kernel, MAP_BASE, true, &r->l1)
                      : -XEN_ENOMEM;
    if (rc) {
        klog(g, "p2m-race: no mapping area (%d)", rc);
        goto none;
    }
    struct proc *p = proc_spawn(c, NULL, 2);
    if (!p) {
        klog(g, "p2m-race: the mapper/pager process could not be created");
        goto none;
    }
    for (unsigned k = 0; k < 2; k++)
        p->threads[k].rng = splitmix64(wl->seed + k);
    proc_start(g, p);
    return;
none:
    atomic_fetch_add(&g->st.hypercall_errors, 1);
    atomic_store(&g->done, true);
}

void p2m_race_free(struct guest_kernel *g)
{
    if (g->race)
        free(g->race->state);
    free(g->race);
    g->race = NULL;
}
