/*
 * guest/pt_reuse.c - story D's guest (XEN-NOTES 12.D, docs/pfinfo.md): a PV
 * kernel that keeps released L1 page tables read-only on a quicklist for
 * reuse, as Linux once did with its per-CPU quicklists, and gives the data
 * pages of unmapped regions back to Xen (a balloon).
 *
 * Rules:
 *   1. pt-reuse runs in a PV kernel only.  Each thread maps a region of
 *      pages/threads pages, 2 MiB aligned in its own 4 GiB window (L4 slot
 *      1 + tid % 254), so the region's L1s map nothing else; touches and
 *      verifies every page (the memory patterns of workload.c rule 3);
 *      unmaps it; `iters` times.
 *   2. Unmap, under the mm lock: an L1 whose 2 MiB no VMA overlaps any
 *      more is unhooked (mmu_update of its L2 entry) with its entries still
 *      in it - Xen devalidates it and drops the references they held, the
 *      type bits stay L1 - and goes, still read-only in the direct map, to
 *      the quicklist; with quicklist=0 its entries are cleared one by one
 *      and it stays hooked.  TLBs are flushed before anything is freed.
 *   3. The quicklist holds at most `quicklist` L1s (ql_lock, a leaf lock);
 *      when full, the oldest is released (made writable, freed) to make
 *      room.  Its frames' content is raw data, the contract of Xen's fix
 *      0a87e677f4: a new L1 is taken from the list first (newest first,
 *      pagetable.c rule 5) and every one of its 512 entries is rewritten
 *      with MMU_NORMAL_PT_UPDATE (one batch) - Xen cannot lock a
 *      devalidated frame as a table, retypes it writable and writes raw
 *      (core/mm/mmu_update.c rule 4) - so that no stale entry, perhaps
 *      naming a frame the guest gave back, is left when the hook validates
 *      it.  A frame whose rewrite failed is leaked (logged), never hooked.
 *   4. Balloon out (balloon=on), for each data pfn the unmap freed, as
 *      Linux's balloon driver does: its direct-map PTE is cleared
 *      (update_va_mapping to 0, flushed on every vCPU), its p2m list entry
 *      set to INVALID_P2M_ENTRY, then the mfns go back in one
 *      XENMEM_decrease_reservation.  A pfn Xen did not take is mapped
 *      again and freed to the allocator.  A ballooned pfn has kind
 *      PFN_BALLOONED: the allocator never hands it out (pfn.c rule 2).
 *   5. Balloon in, before a map when the kernel is low on free pfns (fewer
 *      than a region and its tables for every thread of the workload) and
 *      once every BALLOON_IN_EVERY iterations: the oldest ballooned pfns
 *      get new frames from XENMEM_populate_physmap (Xen sets the M2P),
 *      then the p2m entry and the direct-map PTE are written and the pfn
 *      returns to the allocator.
 *   6. Counted: ql_reuses, ql_released, balloon_out, balloon_in
 *      (struct guest_stats), and traced: hvlab_guest:ql_release, ql_reuse,
 *      balloon.  L1s still on the quicklist when the kernel stops stay
 *      there (read-only, stale entries): the domain's teardown takes them
 *      back with everything else.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <xen/memory.h>
#include <xen/xen.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

#define INVALID_P2M_ENTRY   (~0ULL)     /* Linux's p2m value of "no frame" */
#define L1_SPAN             (1ULL << 21)
#define WINDOW              (4ULL << 30)
#define SLICE_PAGES         16
#define WORDS               (PAGE_SIZE / sizeof(uint64_t))
#define BALLOON_IN_EVERY    4

_Static_assert(ARG_EXT_OFF + ARG_EXT_MAX * sizeof(struct mmuext_op) <=
                   ARG_MEM_OFF &&
               ARG_MEM_OFF + sizeof(struct xen_memory_reservation) +
                   ARG_MEM_EXTENTS * sizeof(xen_pfn_t) <= ARG_DONE_OFF,
               "reservation slot fits between the mmuext ops and done");

struct pt_reuse {
    struct gspin ql_lock;           /* rule 3: leaf */
    pfn_t *ql;                      /* oldest first */
    unsigned ql_n, ql_cap;
    struct gspin bl_lock;           /* rule 4: leaf */
    pfn_t *bl;                      /* ballooned pfns, a FIFO ring */
    uint64_t bl_head, bl_n, bl_cap;
    pte_t dm_flags;                 /* direct-map PTE flags of a data pfn */
};

enum { PR_MAP, PR_TOUCH, PR_UNMAP };

/* ---- the quicklist (rule 3) ---------------------------------------------- */

static void ql_put(struct gcpu *c, struct proc *p, pfn_t l1)
{
    struct guest_kernel *g = c->g;
    struct pt_reuse *r = g->ptr;
    pfn_t victim = INVALID_PFN;
    unsigned kept;

    gspin_lock(&r->ql_lock);
    if (r->ql_n == r->ql_cap) {
        victim = r->ql[0];
        memmove(r->ql, r->ql + 1, (r->ql_n - 1) * sizeof(*r->ql));
        r->ql_n--;
    }
    r->ql[r->ql_n++] = l1;
    kept = r->ql_n;
    gspin_unlock(&r->ql_lock);
    atomic_fetch_add(&g->st.ql_released, 1);
    TRC(hvlab_guest, ql_release, (uint8_t)g->host_id, g->domid,
        p ? p->pid : 0, l1, pfn_to_mfn(c, l1), kept);
    if (victim != INVALID_PFN)
        pt_free_table(c, p, victim, 1);     /* writable again, freed */
}

pfn_t pt_quicklist_take(struct gcpu *c, struct proc *p)
{
    struct guest_kernel *g = c->g;
    struct pt_reuse *r = g->ptr;
    pfn_t l1 = INVALID_PFN;

    if (!r || r->ql_cap == 0)
        return INVALID_PFN;
    gspin_lock(&r->ql_lock);
    if (r->ql_n > 0)
        l1 = r->ql[--r->ql_n];
    gspin_unlock(&r->ql_lock);
    if (l1 == INVALID_PFN)
        return INVALID_PFN;

    mfn_t mfn = pfn_to_mfn(c, l1);
    int rc = mfn == INVALID_MFN ? -XEN_EIO : 0;
    for (unsigned s = 0; s < PT_ENTRIES && rc == 0; s++)
        rc = pt_batch_add(c, ((uint64_t)mfn << PAGE_SHIFT) +
                                 s * sizeof(pte_t) + MMU_NORMAL_PT_UPDATE, 0);
    if (rc == 0)
        rc = pt_batch_flush(c, "pt-reuse: rewriting a quicklist L1");
    if (rc) {
        klog(g, "pid %u: quicklist L1 pfn %#llx could not be rewritten "
             "(%d): leaked", p ? p->pid : 0, (unsigned long long)l1, rc);
        return INVALID_PFN;
    }
    atomic_fetch_add(&g->st.ql_reuses, 1);
    TRC(hvlab_guest, ql_reuse, (uint8_t)g->host_id, g->domid,
        p ? p->pid : 0, l1, mfn);
    return l1;
}

/* ---- the balloon (rules 4, 5) -------------------------------------------- */

static long memory_op(struct gcpu *c, unsigned cmd, const xen_pfn_t *ext,
                      unsigned n, xen_pfn_t *out, const char *what)
{
    struct guest_kernel *g = c->g;
    struct xen_memory_reservation res;
    uint64_t ext_va = c->arg_va + ARG_MEM_OFF + sizeof(res);
    long rc;

    memset(&res, 0, sizeof(res));
    res.extent_start.p = (xen_pfn_t *)(uintptr_t)ext_va;
    res.nr_extents = n;
    res.extent_order = 0;
    res.domid = DOMID_SELF;
    if (mmu_write(c->v, c->arg_va + ARG_MEM_OFF, &res, sizeof(res)) != MMU_OK ||
        mmu_write(c->v, ext_va, ext, n * sizeof(*ext)) != MMU_OK) {
        rc = -XEN_EFAULT;
    } else {
        rc = hypercall(c->v, __HYPERVISOR_memory_op, cmd,
                       c->arg_va + ARG_MEM_OFF, 0, 0, 0);
        if (rc > 0 && out &&
            mmu_read(c->v, ext_va, out, (size_t)rc * sizeof(*out)) != MMU_OK)
            rc = -XEN_EFAULT;
    }
    if (rc != (long)n) {
        atomic_fetch_add(&g->st.hypercall_errors, 1);
        klog(g, "vcpu %u: %s: memory_op %u did %ld of %u extents",
             c->v->vcpu_id, what, cmd, rc, n);
        TRC(hvlab_guest, hcall_failed, (uint8_t)g->host_id, g->domid,
            (uint16_t)c->v->vcpu_id, __HYPERVISOR_memory_op,
            rc < 0 ? rc : -XEN_ENOMEM);
    }
    return rc;
}

static bool p2m_set(struct gcpu *c, pfn_t pfn, uint64_t val)
{
    return kstore(c, c->g->p2m_va + pfn * sizeof(xen_pfn_t), val);
}

/* Map pfn at mfn again (p2m and direct map) after Xen did not take it, or
   after it was populated.  false when the kernel could not (logged). */
static bool remap(struct gcpu *c, pfn_t pfn, mfn_t mfn)
{
    struct pt_reuse *r = c->g->ptr;

    if (!p2m_set(c, pfn, mfn) ||
        hc_uva(c, dm_va(pfn), pte_make(mfn, pte_flags(r->dm_flags)),
               UVMF_INVLPG | UVMF_LOCAL, "balloon: mapping a pfn again") != 0) {
        klog(c->g, "balloon: pfn %#llx could not be mapped at mfn %#llx: "
             "leaked", (unsigned long long)pfn, (unsigned long long)mfn);
        return false;
    }
    return true;
}

/* Rule 4: pfns[0..n) are data pfns nothing maps any more. */
static void balloon_out(struct gcpu *c, const pfn_t *pfns, size_t n)
{
    struct guest_kernel *g = c->g;
    struct pt_reuse *r = g->ptr;
    pfn_t batch[ARG_MEM_EXTENTS];
    xen_pfn_t mfns[ARG_MEM_EXTENTS];

    while (n > 0) {
        unsigned k = 0;
        for (; n > 0 && k < ARG_MEM_EXTENTS; pfns++, n--) {
            pfn_t pfn = *pfns;
            mfn_t mfn = pfn_to_mfn(c, pfn);
            pte_t e;
            if (mfn == INVALID_MFN || pv_dm_pte(c, pfn, &e) != 0) {
                pfn_free(g, pfn);
                continue;
            }
            r->dm_flags = pte_flags(e);
            if (hc_uva(c, dm_va(pfn), 0, UVMF_INVLPG | UVMF_ALL,
                       "balloon: unmapping a pfn from the direct map") != 0) {
                pfn_free(g, pfn);
                continue;
            }
            if (!p2m_set(c, pfn, INVALID_P2M_ENTRY)) {
                if (remap(c, pfn, mfn))
                    pfn_free(g, pfn);
                continue;
            }
            batch[k] = pfn;
            mfns[k++] = mfn;
        }
        if (k == 0)
            continue;
        long done = memory_op(c, XENMEM_decrease_reservation, mfns, k, NULL,
                              "balloon: decrease_reservation");
        if (done < 0)
            done = 0;
        for (unsigned i = 0; i < k; i++) {
            if (i < done) {
                atomic_store(&g->pfn_kind[batch[i]], (uint8_t)PFN_BALLOONED);
                gspin_lock(&r->bl_lock);
                r->bl[(r->bl_head + r->bl_n++) % r->bl_cap] = batch[i];
                gspin_unlock(&r->bl_lock);
                atomic_fetch_add(&g->st.balloon_out, 1);
                TRC(hvlab_guest, balloon, (uint8_t)g->host_id, g->domid, 0,
                    batch[i], mfns[i]);
            } else if (remap(c, batch[i], mfns[i])) {
                pfn_free(g, batch[i]);
            }
        }
    }
}

/* Rule 5: up to max of the oldest ballooned pfns come back; how many. */
static unsigned balloon_in(struct gcpu *c, unsigned max)
{
    struct guest_kernel *g = c->g;
    struct pt_reuse *r = g->ptr;
    xen_pfn_t pfns[ARG_MEM_EXTENTS], mfns[ARG_MEM_EXTENTS];
    unsigned k = 0, back = 0;

    if (max > ARG_MEM_EXTENTS)
        max = ARG_MEM_EXTENTS;
    gspin_lock(&r->bl_lock);
    while (k < max && r->bl_n > 0) {
        pfns[k++] = r->bl[r->bl_head];
        r->bl_head = (r->bl_head + 1) % r->bl_cap;
        r->bl_n--;
    }
    gspin_unlock(&r->bl_lock);
    if (k == 0)
        return 0;
    long done = memory_op(c, XENMEM_populate_physmap, pfns, k, mfns,
                          "balloon: populate_physmap");
    if (done < 0)
        done = 0;
    for (unsigned i = 0; i < k; i++) {
        if (i < done) {
            if (!remap(c, pfns[i], mfns[i]))
                continue;
            atomic_store(&g->pfn_kind[pfns[i]], (uint8_t)PFN_DATA);
            pfn_free(g, pfns[i]);
            atomic_fetch_add(&g->st.balloon_in, 1);
            TRC(hvlab_guest, balloon, (uint8_t)g->host_id, g->domid, 1,
                pfns[i], mfns[i]);
            back++;
        } else {
            gspin_lock(&r->bl_lock);
            r->bl[(r->bl_head + r->bl_n++) % r->bl_cap] = pfns[i];
            gspin_unlock(&r->bl_lock);
        }
    }
    return back;
}

static uint64_t nr_free(struct guest_kernel *g)
{
    gspin_lock(&g->pfn_lock);
    uint64_t n = g->nr_free;
    gspin_unlock(&g->pfn_lock);
    return n;
}

/* ---- unmap (rule 2) ------------------------------------------------------ */

static bool vma_overlaps(const struct proc *p, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < p->nr_vma; i++)
        if (lo < p->vma[i].end && p->vma[i].start < hi)
            return true;
    return false;
}

/* The L2 under va (-XEN_ENOENT: none). */
static int l2_of(struct gcpu *c, struct proc *p, uint64_t va, pfn_t *l2)
{
    pfn_t table = p->l4_pfn;

    for (unsigned level = 4; level >= 3; level--) {
        pte_t e;
        if (!pt_read(c, table, pt_index(va, level), &e))
            return -XEN_EIO;
        if (e == 0)
            return -XEN_ENOENT;
        table = mfn_to_pfn(c, pte_mfn(e));
        if (table == INVALID_PFN)
            return -XEN_EIO;
    }
    *l2 = table;
    return 0;
}

struct unmapped {
    pfn_t *pages, *tables;
    size_t nr_pages, nr_tables;
};

/* One L1's part of [start, end) under the mm lock; 0 or -XEN_E*. */
static int unmap_l1(struct gcpu *c, struct proc *p, uint64_t lo,
                    uint64_t start, uint64_t end, struct unmapped *u)
{
    struct guest_kernel *g = c->g;
    pfn_t l2, l1;
    pte_t e;
    int rc = l2_of(c, p, lo, &l2);

    if (rc)
        return rc == -XEN_ENOENT ? 0 : rc;
    unsigned slot2 = pt_index(lo, 2);
    if (!pt_read(c, l2, slot2, &e))
        return -XEN_EIO;
    if (e == 0)
        return 0;
    l1 = mfn_to_pfn(c, pte_mfn(e));
    if (l1 == INVALID_PFN)
        return -XEN_EIO;

    bool whole = g->ptr->ql_cap > 0 && !vma_overlaps(p, lo, lo + L1_SPAN);
    size_t first = u->nr_pages;
    for (unsigned s = 0; s < PT_ENTRIES; s++) {
        uint64_t va = lo + (uint64_t)s * PAGE_SIZE;
        pte_t pe;
        if (va < start || va >= end)
            continue;
        if (!pt_read(c, l1, s, &pe))
            return -XEN_EIO;
        if (!pte_present(pe))
            continue;
        pfn_t d = mfn_to_pfn(c, pte_mfn(pe));
        if (d == INVALID_PFN)
            return -XEN_EIO;
        if (!whole && pt_set_l1e(c, l1, s, pe, 0, PTE_OP_ZAP) != 0)
            return -XEN_EIO;
        u->pages[u->nr_pages++] = d;
    }
    if (whole) {
        if (pt_set_upper(c, l2, slot2, 0,
                         "pt-reuse: unhooking an L1 with its entries") != 0) {
            u->nr_pages = first;        /* still mapped: nothing to free */
            return -XEN_EIO;
        }
        u->tables[u->nr_tables++] = l1;
    }
    return 0;
}

static int unmap(struct gcpu *c, struct proc *p, uint64_t start, uint64_t end)
{
    struct guest_kernel *g = c->g;
    uint64_t nl1 = (end - start + L1_SPAN - 1) / L1_SPAN;
    struct unmapped u = { 0 };
    int rc = 0;

    u.pages = calloc(nl1 * PT_ENTRIES, sizeof(*u.pages));
    u.tables = calloc(nl1, sizeof(*u.tables));
    if (!u.pages || !u.tables) {
        free(u.pages);
        free(u.tables);
        return -XEN_ENOMEM;
    }
    gspin_lock(&p->mm_lock);
    unsigned i;
    for (i = 0; i < p->nr_vma; i++)
        if (p->vma[i].start == start && p->vma[i].end == end)
            break;
    if (i == p->nr_vma) {
        gspin_unlock(&p->mm_lock);
        free(u.pages);
        free(u.tables);
        return -XEN_EINVAL;
    }
    p->vma[i] = p->vma[--p->nr_vma];
    for (uint64_t lo = start & ~(L1_SPAN - 1); lo < end && rc == 0;
         lo += L1_SPAN)
        rc = unmap_l1(c, p, lo, start, end, &u);
    if (pt_commit(c, "pt-reuse: clearing PTEs") != 0 && rc == 0)
        rc = -XEN_EIO;
    mm_flush_all(c, p);
    gspin_unlock(&p->mm_lock);

    for (size_t k = 0; k < u.nr_tables; k++)
        ql_put(c, p, u.tables[k]);
    /* K5: the pfns whose last mapping went. */
    size_t nfree = 0;
    for (size_t k = 0; k < u.nr_pages; k++) {
        pfn_t d = u.pages[k];
        uint32_t before = atomic_fetch_sub(&g->pfn_maps[d], 1);
        if (before == 0) {
            atomic_fetch_add(&g->pfn_maps[d], 1);
            klog(g, "kernel: pfn %#llx unmapped more often than mapped",
                 (unsigned long long)d);
        } else if (before == 1) {
            u.pages[nfree++] = d;
        }
    }
    if (g->wl.balloon)
        balloon_out(c, u.pages, nfree);
    else
        for (size_t k = 0; k < nfree; k++)
            pfn_free(g, u.pages[k]);
    free(u.pages);
    free(u.tables);
    return rc;
}

/* ---- the program (rule 1) ------------------------------------------------ */

static uint64_t pattern(uint64_t seed, unsigned pid, uint64_t key,
                        unsigned word)
{
    return splitmix64(seed ^ ((uint64_t)pid << 44) ^ (key << 9) ^ word);
}

/* Write the page's pattern in user mode, read it back, compare. */
static bool touch_page(struct gcpu *c, struct proc *p, uint64_t va,
                       uint64_t key)
{
    struct guest_kernel *g = c->g;
    uint64_t *w = (uint64_t *)c->ubuf;
    const uint64_t *rd = (const uint64_t *)c->ubuf2;

    for (unsigned i = 0; i < WORDS; i++)
        w[i] = pattern(g->wl.seed, p->pid, key, i);
    c->v->in_kernel = false;
    int rc = mmu_write(c->v, va, c->ubuf, PAGE_SIZE);
    if (rc == MMU_OK)
        rc = mmu_read(c->v, va, c->ubuf2, PAGE_SIZE);
    c->v->in_kernel = true;
    if (rc != MMU_OK)
        return false;           /* killed: the #PF handler said why */
    atomic_fetch_add(&g->st.pages_touched, 1);
    for (unsigned i = 0; i < WORDS; i++) {
        if (rd[i] == w[i])
            continue;
        atomic_fetch_add(&g->st.verify_failures, 1);
        klog(g, "pid %u: verify failed at va %#llx: read %#llx, expected "
             "%#llx", p->pid, (unsigned long long)(va + i * 8),
             (unsigned long long)rd[i], (unsigned long long)w[i]);
        TRC(hvlab_guest, verify_failed, (uint8_t)g->host_id, g->domid,
            (uint16_t)c->v->vcpu_id, p->pid, va + i * 8, w[i], rd[i]);
        break;
    }
    return true;
}

static uint64_t region_pages(const struct guest_kernel *g, const struct proc *p)
{
    uint64_t n = g->wl.pages / p->nthreads;
    return n ? n : 1;
}

enum thread_result pt_reuse_slice(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t n = region_pages(g, p);

    switch (t->pc) {
    case PR_MAP: {
        if (t->iter >= g->wl.iters || !g->ptr)
            return T_EXITED;
        if (g->wl.balloon) {
            /* Rule 5: a region and its tables for every thread. */
            uint64_t want = (n + n / PT_ENTRIES + 4) * g->wl.procs *
                            p->nthreads;
            if (t->iter % BALLOON_IN_EVERY == BALLOON_IN_EVERY - 1)
                balloon_in(c, ARG_MEM_EXTENTS);
            while (nr_free(g) < want && balloon_in(c, ARG_MEM_EXTENTS) > 0)
                ;
        }
        uint64_t base = (uint64_t)(1 + t->tid % 254) << 39;
        uint64_t span = (n * PAGE_SIZE + L1_SPAN - 1) / L1_SPAN;
        uint64_t slots = WINDOW / L1_SPAN > span ? WINDOW / L1_SPAN - span : 1;
        if (proc_mmap_random(c, t, base, slots, L1_SPAN, n) != 0)
            return T_EXITED;
        t->cursor = 0;
        t->pc = PR_TOUCH;
        return T_RUNNABLE;
    }
    case PR_TOUCH:
        for (unsigned k = 0; k < SLICE_PAGES && t->cursor < n;
             k++, t->cursor++) {
            uint64_t va = t->region + t->cursor * PAGE_SIZE;
            if (!touch_page(c, p, va,
                            (va >> PAGE_SHIFT) ^ ((uint64_t)t->iter << 36)))
                return T_EXITED;
        }
        if (t->cursor == n)
            t->pc = PR_UNMAP;
        return T_RUNNABLE;
    case PR_UNMAP: {
        int rc = unmap(c, p, t->region, t->region + n * PAGE_SIZE);
        if (rc) {
            klog(g, "pid %u: munmap of %#llx failed (%d)", p->pid,
                 (unsigned long long)t->region, rc);
            proc_kill(c, p, KILL_HCALL, t->region);
            return T_EXITED;
        }
        t->iter++;
        t->pc = PR_MAP;
        return T_RUNNABLE;
    }
    }
    return T_EXITED;
}

/* vCPU 0 at the end of boot: the state, then the processes. */
void pt_reuse_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    unsigned nthreads = g->wl.threads ? g->wl.threads : 1;
    struct pt_reuse *r;

    if (g->ops != &pv_paging_ops) {
        klog(g, "pt-reuse: runs in a PV kernel only");
        atomic_store(&g->done, true);
        return;
    }
    r = calloc(1, sizeof(*r));
    if (r) {
        r->ql_cap = g->wl.quicklist;
        r->ql = calloc(r->ql_cap ? r->ql_cap : 1, sizeof(*r->ql));
        r->bl_cap = g->nr_pages;
        r->bl = calloc(r->bl_cap, sizeof(*r->bl));
    }
    if (!r || !r->ql || !r->bl) {
        if (r) {
            free(r->ql);
            free(r->bl);
            free(r);
        }
        klog(g, "pt-reuse: no memory for the quicklist and balloon");
        atomic_store(&g->done, true);
        return;
    }
    g->ptr = r;
    for (unsigned i = 0; i < g->wl.procs; i++) {
        struct proc *p = proc_spawn(c, NULL, nthreads);
        if (!p) {
            klog(g, "workload: process %u of %u could not be created", i + 1,
                 g->wl.procs);
            continue;
        }
        for (unsigned k = 0; k < nthreads; k++)
            p->threads[k].pc = PR_MAP;
        proc_start(g, p);
    }
    if (atomic_load(&g->live_procs) == 0)
        atomic_store(&g->done, true);
}

void pt_reuse_free(struct guest_kernel *g)
{
    struct pt_reuse *r = g->ptr;

    if (!r)
        return;
    free(r->ql);
    free(r->bl);
    free(r);
    g->ptr = NULL;
}

/* ---- the state as bytes (kstate.c, section PTREUSE) ----------------------- */

static uint64_t get_bl(const void *ctx, uint64_t i)
{
    const struct pt_reuse *r = ctx;
    return r->bl[(r->bl_head + i) % r->bl_cap];
}

static void put_bl(void *ctx, uint64_t i, uint64_t v)
{
    ((struct pt_reuse *)ctx)->bl[i] = v;
}

int pt_reuse_state_save(struct ks_out *o, const struct guest_kernel *g)
{
    const struct pt_reuse *r = g->ptr;
    ks_put_u32(o, r->ql_cap);
    ks_put_u32(o, r->ql_n);
    for (unsigned i = 0; i < r->ql_n; i++)
        ks_put_u64(o, r->ql[i]);
    ks_put_u64(o, r->bl_n);
    ks_put_runs(o, r->bl_n, get_bl, r);     /* oldest first */
    ks_put_u64(o, r->dm_flags);
    return 0;
}

void pt_reuse_state_load(struct ks_in *in, struct guest_kernel *g)
{
    struct pt_reuse *r = calloc(1, sizeof(*r));
    if (!r) {
        ks_bad(in, "no memory for the quicklist");
        return;
    }
    g->ptr = r;                 /* freed by pt_reuse_free on any error */
    r->ql_cap = ks_get_u32(in);
    if (!ks_failed(in) && (r->ql_cap != g->wl.quicklist ||
                           r->ql_cap > g->nr_pages)) {
        ks_bad(in, "quicklist of %u, the workload says %u", r->ql_cap,
               g->wl.quicklist);
        return;
    }
    unsigned n = ks_get_below(in, r->ql_cap + 1ULL, "quicklist length");
    if (ks_failed(in))
        return;
    r->bl_cap = g->nr_pages;
    r->ql = calloc(r->ql_cap ? r->ql_cap : 1, sizeof(*r->ql));
    r->bl = calloc(r->bl_cap, sizeof(*r->bl));
    if (!r->ql || !r->bl) {
        ks_bad(in, "no memory for the quicklist and balloon");
        return;
    }
    for (unsigned i = 0; i < n && !ks_failed(in); i++) {
        pfn_t l1 = ks_get_u64(in);
        if (ks_check_pfn(in, g, l1, false, "quicklist L1") &&
            atomic_load(&g->pfn_kind[l1]) != PFN_TABLE)
            ks_bad(in, "quicklist L1 %#llx is not a table",
                   (unsigned long long)l1);
        for (unsigned k = 0; k < i && !ks_failed(in); k++)
            if (r->ql[k] == l1)
                ks_bad(in, "quicklist L1 %#llx is on it twice",
                       (unsigned long long)l1);
        r->ql[i] = l1;
    }
    r->ql_n = n;
    uint64_t bl_n = ks_get_u64(in);
    if (!ks_failed(in) && bl_n > r->bl_cap) {
        ks_bad(in, "%llu ballooned pfns of %llu", (unsigned long long)bl_n,
               (unsigned long long)r->bl_cap);
        return;
    }
    if (!ks_get_runs(in, bl_n, g->nr_pages - 1, put_bl, r, "ballooned pfns"))
        return;
    uint64_t kinds = 0;
    for (uint64_t p = 0; p < g->nr_pages; p++)
        kinds += atomic_load(&g->pfn_kind[p]) == PFN_BALLOONED;
    uint8_t *seen = calloc(g->nr_pages, 1);
    if (!seen) {
        ks_bad(in, "no memory to check the balloon");
        return;
    }
    for (uint64_t i = 0; i < bl_n && !ks_failed(in); i++) {
        if (atomic_load(&g->pfn_kind[r->bl[i]]) != PFN_BALLOONED)
            ks_bad(in, "ballooned pfn %#llx has kind %u",
                   (unsigned long long)r->bl[i],
                   atomic_load(&g->pfn_kind[r->bl[i]]));
        else if (seen[r->bl[i]]++)
            ks_bad(in, "ballooned pfn %#llx is in the balloon twice",
                   (unsigned long long)r->bl[i]);
    }
    free(seen);
    if (!ks_failed(in) && kinds != bl_n)
        ks_bad(in, "%llu pfns are BALLOONED, the balloon holds %llu",
               (unsigned long long)kinds, (unsigned long long)bl_n);
    r->bl_n = bl_n;
    r->dm_flags = ks_get_u64(in);
    /* kstate.c rule 7 for this program: every thread that will run (on
       the run queue) has a pc of it, a cursor within its region, and a
       region that is one of its VMAs once mapped. */
    for (struct proc *p = g->all_procs; p && !ks_failed(in); p = p->all_next)
        for (unsigned i = 0; i < p->nthreads && !ks_failed(in); i++) {
            struct thread *t = &p->threads[i];
            uint64_t n = region_pages(g, p);
            if (!t->rq_next && g->rq_tail != t)
                continue;
            if (t->pc > PR_UNMAP ||
                (t->pc != PR_MAP && (t->cursor > n ||
                                     !ks_region_is_vma(p, t->region, n))))
                ks_bad(in, "pid %u thread %u: pc %u, region %#llx of %llu "
                       "pages, cursor %llu", p->pid, i, t->pc,
                       (unsigned long long)t->region, (unsigned long long)n,
                       (unsigned long long)t->cursor);
        }
}
