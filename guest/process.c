/*
 * guest/process.c - processes: address spaces, fork, munmap, exit (both
 * guest kinds; the kind's paging ops do what differs).
 *
 * Rules:
 *   1. Every process has its own L4: the kernel slots (KERNEL_L4_FIRST..511)
 *      copied from the init L4 (in PV, Xen's slots 256..271 are left zero:
 *      the hypervisor fills them when it validates the L4), the user half
 *      private.  A live process's L4 is pinned when the kind pins
 *      (ops->root_pin: PV's MMUEXT_PIN_L4_TABLE; its lower tables are
 *      validated when hooked).  One root serves both modes.
 *   2. fork (Linux's dup_mmap + copy_page_range) under the parent's mm lock:
 *      the child's tables are built while they are plain writable memory;
 *      every present parent L1 entry is write-protected in the PARENT's live
 *      L1 (the bulk writes PV's writable pagetables were invented for) and
 *      copied read-only into the child's; then the parent's TLBs are
 *      flushed, the child's tables are sealed (PV: made read-only) and its
 *      L4 pinned (PV: validating the whole tree at once).  Shared frames are
 *      counted in pfn_maps (K5).
 *   3. exit (Linux's exit_mmap): once no vCPU has the L4 loaded (K6), unpin
 *      it if pinned - a PV hypervisor devalidates the whole tree and drops
 *      every reference its entries held - then walk the tables, put back
 *      the data frames they mapped, release each table (PV: writable again)
 *      and free it.
 *   4. munmap clears the range's PTEs, unhooks tables no VMA needs any more
 *      (ops->set_upper of the parent entry), flushes the TLBs of every vCPU
 *      that has the mm loaded, and only then frees tables and frames.
 *   5. TLB shootdowns go to the vCPUs in the mm's cpumask (set before a vCPU
 *      loads the root, cleared after it loaded another), as Linux's
 *      mm_cpumask: ops->flush_va / flush_all (PV: MMUEXT_INVLPG_MULTI /
 *      MMUEXT_TLB_FLUSH_MULTI; HVM: private.h H1).
 *   6. Leaving a mm for the init L4 (mm_leave: the mm is dying, or the
 *      vCPU is done) is retried MM_LEAVE_TRIES times when the hypervisor
 *      refuses it.  If it keeps refusing, the kernel oopses: the vCPU stops
 *      counting as a user of the mm (so its teardown is not waited on
 *      forever) but marks it root_stuck, and the teardown then leaves the
 *      tables allocated (logged) instead of freeing tables that are still
 *      some vCPU's root.  A guest that could not leave an mm must not
 *      deadlock on itself: that is what an injected failure here tests.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/lock.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

const char *const kill_why_name[KILL_NR] = {
    [KILL_NONE]        = "none",
    [KILL_SEGV_NO_VMA] = "SIGSEGV (no mapping)",
    [KILL_SEGV_ACCESS] = "SIGSEGV (access not allowed)",
    [KILL_SPURIOUS]    = "spurious page fault (no spurious-fault check)",
    [KILL_OOM]         = "out of memory",
    [KILL_KERNEL_OOPS] = "kernel oops",
    [KILL_HCALL]       = "page-table hypercall failed",
};

/* A growable list of pfns (frames and tables to free after a flush). */
struct pfnvec {
    pfn_t *v;
    unsigned *level;
    size_t n, cap;
};

static void pfnvec_push(struct pfnvec *pv, pfn_t pfn, unsigned level)
{
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? 2 * pv->cap : 64;
        pfn_t *nv = realloc(pv->v, cap * sizeof(*nv));
        unsigned *nl = realloc(pv->level, cap * sizeof(*nl));
        if (nv)
            pv->v = nv;
        if (nl)
            pv->level = nl;
        if (!nv || !nl)
            abort();    /* host out of memory: not a guest condition */
        pv->cap = cap;
    }
    pv->v[pv->n] = pfn;
    pv->level[pv->n] = level;
    pv->n++;
}

static void pfnvec_release(struct pfnvec *pv)
{
    free(pv->v);
    free(pv->level);
    memset(pv, 0, sizeof(*pv));
}

/* ---- TLB shootdown (rule 5) ------------------------------------------------ */

void mm_flush_va(struct gcpu *c, struct proc *p, uint64_t va)
{
    c->g->ops->flush_va(c, p, va);
}

void mm_flush_all(struct gcpu *c, struct proc *p)
{
    c->g->ops->flush_all(c, p);
}

/* Load p's L4 (NULL: the init L4) on this vCPU. */
void mm_switch(struct gcpu *c, struct proc *p)
{
    struct proc *old = c->loaded;

    if (old == p)
        return;
    if (p)
        atomic_fetch_or(&p->cpumask, vcpu_bit(c));
    if (c->g->ops->load_root(c, p) != 0) {
        if (p) {
            atomic_fetch_and(&p->cpumask, ~vcpu_bit(c));
            proc_kill(c, p, KILL_HCALL, 0);
        }
        return;
    }
    c->loaded = p;
    if (old)
        atomic_fetch_and(&old->cpumask, ~vcpu_bit(c));
}

#define MM_LEAVE_TRIES  3

bool mm_leave(struct gcpu *c)
{
    struct proc *old = c->loaded;

    for (unsigned i = 0; c->loaded && i < MM_LEAVE_TRIES; i++)
        mm_switch(c, NULL);
    if (!c->loaded)
        return true;
    atomic_fetch_add(&c->g->st.kernel_oopses, 1);
    klog(c->g, "vcpu %u: cannot leave pid %u's L4 for the init L4 after %u "
         "tries: its tables stay allocated", c->v->vcpu_id, old->pid,
         MM_LEAVE_TRIES);
    atomic_store(&old->root_stuck, true);
    c->loaded = NULL;
    atomic_fetch_and(&old->cpumask, ~vcpu_bit(c));
    return false;
}

/* ---- creation ---------------------------------------------------------------- */

static struct proc *proc_new(struct gcpu *c, struct proc *parent,
                             unsigned nthreads)
{
    struct guest_kernel *g = c->g;
    struct proc *p = calloc(1, sizeof(*p));
    struct thread *t = calloc(nthreads, sizeof(*t));

    if (!p || !t) {
        free(p);
        free(t);
        return NULL;
    }
    p->g = g;
    p->parent = parent;
    p->l4_pfn = INVALID_PFN;
    p->l4_mfn = INVALID_MFN;
    p->nthreads = nthreads;
    p->threads = t;
    gspin_lock(&g->proc_lock);
    p->pid = ++g->next_pid;
    p->all_next = g->all_procs;
    g->all_procs = p;
    gspin_unlock(&g->proc_lock);
    for (unsigned i = 0; i < nthreads; i++) {
        t[i].p = p;
        t[i].tid = i;
        t[i].rng = splitmix64(g->wl.seed ^ ((uint64_t)p->pid << 32) ^ i);
    }
    return p;
}

/* A fresh L4, still writable: zeroed, kernel slots copied (rule 1). */
static pfn_t l4_create(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    pfn_t l4 = pfn_alloc(g, PFN_TABLE);

    if (l4 == INVALID_PFN)
        return INVALID_PFN;
    if (pfn_zero(c, l4) != 0)
        goto fail;
    for (unsigned s = KERNEL_L4_FIRST; s < PT_ENTRIES; s++) {
        pte_t e;
        if (!pt_read(c, g->init_l4_pfn, s, &e))
            goto fail;
        if (e && !kstore(c, dm_va(l4) + s * sizeof(pte_t), e))
            goto fail;
    }
    return l4;
fail:
    pfn_free(g, l4);
    return INVALID_PFN;
}

/* Rule 1: pin p's L4 if the kind pins roots. */
static int l4_pin(struct gcpu *c, struct proc *p)
{
    const struct kernel_paging_ops *ops = c->g->ops;
    int rc;

    if (!ops->root_pin)
        return 0;
    rc = ops->root_pin(c, p);
    if (rc == 0)
        p->pinned = true;
    return rc;
}

struct proc *proc_spawn(struct gcpu *c, struct proc *parent, unsigned nthreads)
{
    struct proc *p = proc_new(c, parent, nthreads ? nthreads : 1);

    if (!p)
        return NULL;
    p->l4_pfn = l4_create(c);
    if (p->l4_pfn == INVALID_PFN) {
        klog(c->g, "pid %u: no memory for its L4", p->pid);
        return NULL;
    }
    p->l4_mfn = pfn_to_mfn(c, p->l4_pfn);
    if (pt_seal_table(c, p, p->l4_pfn, 4) != 0 || l4_pin(c, p) != 0) {
        pt_free_table(c, p, p->l4_pfn, 4);
        p->l4_pfn = INVALID_PFN;
        return NULL;
    }
    return p;
}

int proc_add_vma(struct proc *p, uint64_t start, uint64_t end, bool writable)
{
    if (start >= end || (start | end) & PAGE_OFFSET_MASK ||
        start < GUEST_USER_BASE || end > GUEST_USER_TOP)
        return -XEN_EINVAL;
    for (unsigned i = 0; i < p->nr_vma; i++)
        if (start < p->vma[i].end && p->vma[i].start < end)
            return -XEN_EEXIST;
    if (p->nr_vma == PROC_MAX_VMAS)
        return -XEN_ENOSPC;
    p->vma[p->nr_vma++] = (struct vma){ start, end, writable };
    return 0;
}

static bool vma_overlaps(const struct proc *p, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < p->nr_vma; i++)
        if (lo < p->vma[i].end && p->vma[i].start < hi)
            return true;
    return false;
}

/* ---- teardown (rule 3) ------------------------------------------------------- */

/* One user mapping of a data pfn goes away (K5). */
static bool page_put(struct gcpu *c, pfn_t pfn)
{
    struct guest_kernel *g = c->g;
    uint32_t before = atomic_fetch_sub(&g->pfn_maps[pfn], 1);

    if (before == 0) {
        atomic_fetch_add(&g->pfn_maps[pfn], 1);
        klog(g, "kernel: pfn %#llx unmapped more often than mapped",
             (unsigned long long)pfn);
        return false;
    }
    if (before == 1) {
        pfn_free(g, pfn);
        return true;
    }
    return false;
}

struct release_count {
    unsigned tables, pages;
};

/* Free a table tree no hardware walk can reach any more (unloaded, and in
   PV unvalidated). */
static void release_tree(struct gcpu *c, struct proc *p, pfn_t table,
                         unsigned level, struct release_count *rc)
{
    unsigned last = level == 4 ? USER_L4_LAST : PT_ENTRIES - 1;

    for (unsigned s = 0; s <= last; s++) {
        pte_t e;
        if (!pt_read(c, table, s, &e) || e == 0)
            continue;
        pfn_t pfn = mfn_to_pfn(c, pte_mfn(e));
        if (pfn == INVALID_PFN)
            continue;
        if (level == 1) {
            if (pte_present(e) && page_put(c, pfn))
                rc->pages++;
        } else {
            release_tree(c, p, pfn, level - 1, rc);
        }
    }
    pt_free_table(c, p, table, level);
    rc->tables++;
}

static void proc_teardown(struct gcpu *c, struct proc *p)
{
    struct guest_kernel *g = c->g;
    struct release_count rc = { 0, 0 };

    atomic_store(&p->dying, true);
    if (c->loaded == p)
        mm_leave(c);
    /* K6: the other vCPUs leave a dying mm at their next decision. */
    while (atomic_load(&p->cpumask) != 0)
        hv_relax();

    if (atomic_load(&p->root_stuck)) {          /* rule 6 */
        klog(g, "pid %u: L4 mfn %#llx is still a vCPU's root: its tables "
             "are leaked", p->pid, (unsigned long long)p->l4_mfn);
    } else if (p->l4_pfn != INVALID_PFN) {
        if (p->pinned && g->ops->root_unpin(c, p) != 0) {
            klog(g, "pid %u: L4 mfn %#llx still pinned: its tables are leaked",
                 p->pid, (unsigned long long)p->l4_mfn);
        } else {
            p->pinned = false;
            release_tree(c, p, p->l4_pfn, 4, &rc);
        }
    }
    int killed = atomic_load(&p->killed);
    TRC(hvlab_guest, proc_exit, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, p->pid, p->l4_mfn, rc.tables, rc.pages,
        (uint8_t)(killed != KILL_NONE));
    if (killed == KILL_NONE)
        atomic_fetch_add(&g->st.exits, 1);
    if (p->parent)
        atomic_store(&p->parent->child_done, true);
    if (atomic_fetch_sub(&g->live_procs, 1) == 1)
        atomic_store(&g->done, true);
}

void proc_thread_exit(struct gcpu *c, struct thread *t)
{
    struct proc *p = t->p;

    if (atomic_fetch_sub(&p->threads_live, 1) == 1)
        proc_teardown(c, p);
}

void proc_kill(struct gcpu *c, struct proc *p, enum kill_why why, uint64_t va)
{
    struct guest_kernel *g = c->g;
    int none = KILL_NONE;

    atomic_store(&p->stop, true);
    if (!atomic_compare_exchange_strong(&p->killed, &none, (int)why))
        return;
    atomic_fetch_add(&g->st.procs_killed, 1);
    klog(g, "pid %u killed on vcpu %u: %s (va %#llx)", p->pid,
         c->v->vcpu_id, kill_why_name[why], (unsigned long long)va);
    TRC(hvlab_guest, proc_killed, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, p->pid, (uint8_t)why, va);
}

/* ---- fork (rule 2) ------------------------------------------------------------ */

struct fork_ctx {
    struct gcpu *c;
    struct proc *parent, *child;
    struct pfnvec tables;       /* child tables to seal */
    unsigned shared;
    int err;                    /* first error: -XEN_ENOMEM / -XEN_EIO */
};

static pfn_t fork_table(struct fork_ctx *f, pfn_t parent_table, unsigned slot,
                        unsigned level)
{
    struct gcpu *c = f->c;
    pfn_t t = pfn_alloc(c->g, PFN_TABLE);

    if (t == INVALID_PFN) {
        f->err = -XEN_ENOMEM;
        return INVALID_PFN;
    }
    if (pfn_zero(c, t) != 0 ||
        !kstore(c, dm_va(parent_table) + slot * sizeof(pte_t),
                pte_make(pfn_to_mfn(c, t), PT_TABLE_FLAGS))) {
        pfn_free(c->g, t);
        f->err = -XEN_EIO;
        return INVALID_PFN;
    }
    pfnvec_push(&f->tables, t, level);
    return t;
}

/* Copy one parent L1 into the child's new (writable) L1. */
static void fork_l1(struct fork_ctx *f, pfn_t pl1, pfn_t cl1)
{
    struct gcpu *c = f->c;
    struct guest_kernel *g = c->g;

    for (unsigned s = 0; s < PT_ENTRIES && !f->err; s++) {
        pte_t e;
        if (!pt_read(c, pl1, s, &e)) {
            f->err = -XEN_EIO;
            return;
        }
        if (!pte_present(e))
            continue;
        pfn_t d = mfn_to_pfn(c, pte_mfn(e));
        if (d == INVALID_PFN) {
            f->err = -XEN_EIO;
            return;
        }
        pte_t ro = e & ~(pte_t)_PAGE_RW;
        if (e & _PAGE_RW) {
            if (pt_set_l1e(c, pl1, s, e, ro, PTE_OP_WRPROTECT) != 0) {
                f->err = -XEN_EIO;
                return;
            }
        }
        atomic_fetch_add(&g->pfn_maps[d], 1);
        if (!kstore(c, dm_va(cl1) + s * sizeof(pte_t), ro)) {
            page_put(c, d);
            f->err = -XEN_EIO;
            return;
        }
        f->shared++;
    }
}

static void fork_level(struct fork_ctx *f, pfn_t ptab, pfn_t ctab,
                       unsigned level)
{
    struct gcpu *c = f->c;
    unsigned last = level == 4 ? USER_L4_LAST : PT_ENTRIES - 1;

    for (unsigned s = 0; s <= last && !f->err; s++) {
        pte_t e;
        if (!pt_read(c, ptab, s, &e)) {
            f->err = -XEN_EIO;
            return;
        }
        if (e == 0)     /* rule 3 of pagetable.c: non-zero = there */
            continue;
        pfn_t pnext = mfn_to_pfn(c, pte_mfn(e));
        if (pnext == INVALID_PFN) {
            f->err = -XEN_EIO;
            return;
        }
        pfn_t cnext = fork_table(f, ctab, s, level - 1);
        if (cnext == INVALID_PFN)
            return;
        if (level == 2)
            fork_l1(f, pnext, cnext);
        else
            fork_level(f, pnext, cnext, level - 1);
    }
}

int proc_fork(struct gcpu *c, struct proc *parent, struct proc **childp)
{
    struct guest_kernel *g = c->g;
    struct proc *child = proc_new(c, parent, 1);
    struct fork_ctx f = { .c = c, .parent = parent, .child = child };

    *childp = NULL;
    if (!child)
        return -XEN_ENOMEM;
    child->l4_pfn = l4_create(c);
    if (child->l4_pfn == INVALID_PFN)
        return -XEN_ENOMEM;
    child->l4_mfn = pfn_to_mfn(c, child->l4_pfn);
    pfnvec_push(&f.tables, child->l4_pfn, 4);

    gspin_lock(&parent->mm_lock);
    memcpy(child->vma, parent->vma, sizeof(parent->vma));
    child->nr_vma = parent->nr_vma;
    fork_level(&f, parent->l4_pfn, child->l4_pfn, 4);
    if (pt_commit(c, "fork: write-protecting the parent") != 0 && !f.err)
        f.err = -XEN_EIO;
    /* The parent's writable TLB entries must go before anyone relies on
       the write-protection; in PV the hypercall also closes an open ptwr
       batch. */
    mm_flush_all(c, parent);
    gspin_unlock(&parent->mm_lock);

    for (size_t i = f.tables.n; i-- > 0 && !f.err; )
        if (pt_seal_table(c, child, f.tables.v[i], f.tables.level[i]) != 0)
            f.err = -XEN_EIO;
    if (!f.err && l4_pin(c, child) != 0)
        f.err = -XEN_EIO;
    pfnvec_release(&f.tables);

    if (f.err) {
        struct release_count rc = { 0, 0 };
        release_tree(c, child, child->l4_pfn, 4, &rc);
        child->l4_pfn = INVALID_PFN;
        return f.err;
    }
    atomic_fetch_add(&g->st.forks, 1);
    TRC(hvlab_guest, proc_fork, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, parent->pid, child->pid, child->l4_mfn,
        f.shared);
    *childp = child;
    return 0;
}

/* ---- munmap (rule 4) ----------------------------------------------------------- */

static bool table_is_empty(struct gcpu *c, pfn_t table, unsigned level)
{
    unsigned last = level == 4 ? USER_L4_LAST : PT_ENTRIES - 1;
    for (unsigned s = 0; s <= last; s++) {
        pte_t e;
        if (!pt_read(c, table, s, &e) || e != 0)
            return false;
    }
    return true;
}

/* Unhook the tables under [start, end) that no VMA needs and are empty. */
static void prune(struct gcpu *c, struct proc *p, pfn_t table, unsigned level,
                  uint64_t base, uint64_t start, uint64_t end,
                  struct pfnvec *freed)
{
    uint64_t span = pt_entry_span(level);
    unsigned last = level == 4 ? USER_L4_LAST : PT_ENTRIES - 1;

    for (unsigned s = 0; s <= last; s++) {
        uint64_t lo = base + s * span, hi = lo + span;
        pte_t e;
        if (hi <= start || lo >= end)
            continue;
        if (!pt_read(c, table, s, &e) || e == 0)
            continue;
        pfn_t next = mfn_to_pfn(c, pte_mfn(e));
        if (next == INVALID_PFN)
            continue;
        if (level > 2)
            prune(c, p, next, level - 1, lo, start, end, freed);
        if (!vma_overlaps(p, lo, hi) && table_is_empty(c, next, level - 1) &&
            pt_set_upper(c, table, s, 0, "unhooking an empty table") == 0)
            pfnvec_push(freed, next, level - 1);
    }
}

int proc_mmap_random(struct gcpu *c, struct thread *t, uint64_t base,
                     uint64_t slots, uint64_t stride, uint64_t n)
{
    struct proc *p = t->p;
    int rc = -XEN_EEXIST;
    for (unsigned tries = 0; tries < 8 && rc == -XEN_EEXIST; tries++) {
        t->region = base + (wl_rng_next(&t->rng) % slots) * stride;
        gspin_lock(&p->mm_lock);
        rc = proc_add_vma(p, t->region, t->region + n * PAGE_SIZE, true);
        gspin_unlock(&p->mm_lock);
    }
    if (rc)
        klog(c->g, "pid %u: mmap of %llu pages at %#llx failed (%d)", p->pid,
             (unsigned long long)n, (unsigned long long)t->region, rc);
    return rc;
}

int proc_munmap(struct gcpu *c, struct proc *p, uint64_t start, uint64_t end)
{
    struct pfnvec pages = { 0 }, tables = { 0 };
    int rc = 0;

    gspin_lock(&p->mm_lock);
    unsigned i;
    for (i = 0; i < p->nr_vma; i++)
        if (p->vma[i].start == start && p->vma[i].end == end)
            break;
    if (i == p->nr_vma) {
        gspin_unlock(&p->mm_lock);
        return -XEN_EINVAL;
    }
    p->vma[i] = p->vma[--p->nr_vma];

    for (uint64_t va = start; va < end && rc == 0; ) {
        pfn_t l1;
        int wrc = pt_walk(c, p, va, false, &l1);
        if (wrc == -XEN_ENOENT) {
            va = (va | (pt_entry_span(2) - 1)) + 1;
            continue;
        }
        if (wrc) {
            rc = wrc;
            break;
        }
        for (unsigned s = pt_index(va, 1); s < PT_ENTRIES && va < end;
             s++, va += PAGE_SIZE) {
            pte_t e;
            if (!pt_read(c, l1, s, &e)) {
                rc = -XEN_EIO;
                break;
            }
            if (!pte_present(e))
                continue;
            pfn_t d = mfn_to_pfn(c, pte_mfn(e));
            if (d == INVALID_PFN || pt_set_l1e(c, l1, s, e, 0, PTE_OP_ZAP) != 0) {
                rc = -XEN_EIO;
                break;
            }
            pfnvec_push(&pages, d, 0);
        }
    }
    if (pt_commit(c, "munmap: clearing PTEs") != 0 && rc == 0)
        rc = -XEN_EIO;
    prune(c, p, p->l4_pfn, 4, 0, start, end, &tables);
    mm_flush_all(c, p);
    gspin_unlock(&p->mm_lock);

    for (size_t k = 0; k < tables.n; k++)
        pt_free_table(c, p, tables.v[k], tables.level[k]);
    for (size_t k = 0; k < pages.n; k++)
        page_put(c, pages.v[k]);
    pfnvec_release(&pages);
    pfnvec_release(&tables);
    return rc;
}
