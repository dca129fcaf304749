/*
 * guest/workload.c - the workloads: small programs the kernel's threads run.
 *
 * Rules:
 *   1. A thread's program is a state machine (thread.pc); one slice does at
 *      most SLICE_PAGES page operations or one fork, then yields, so that a
 *      waiting parent never holds a vCPU and threads interleave.
 *   2. Process memory is written and read in user mode only (v->in_kernel
 *      false), through the MMU; a refused access means the kernel killed
 *      the process (the #PF handler said so) and the thread ends.
 *   3. Every value written is a pattern of (seed, pid, page[, iteration],
 *      word): rewriting a page writes the same bytes, so a sibling thread
 *      writing during a fork cannot make a child's copy ambiguous.  A
 *      mismatch is a verify failure (counted, logged with va, expected and
 *      found, traced).
 *   4. Every random choice draws from the workload seed (per-thread
 *      streams derived from seed, pid and thread id).
 *   5. A slice that can make no progress (waiting for a child or for the
 *      parent to stop) calls hv_relax() before it returns: it is a busy
 *      wait, and a det-mode scheduler must see it as one (a slice loop
 *      with no scheduling point would never give the vCPU up).
 *
 * fork-storm: a process of `threads` threads owns `pages` pages; page i
 *   belongs to thread i % threads.  Thread 0, `iters` times: touch its
 *   pages, fork, wait for the child, verify its pages are still its own
 *   (copy-on-write kept them).  The child reads the parent's pages (thread
 *   0's exactly, the siblings' as "zero or the pattern"), writes its own
 *   pattern into all of them (COW), verifies, exits.  Siblings keep
 *   touching their pages in the same 2 MiB regions until thread 0 is done:
 *   the SMP pattern of story C.
 * mmap-churn: each thread maps pages/threads pages at a random place of its
 *   own 4 GiB window (L4 slot 1 + tid % 254), touches and verifies them, unmaps
 *   them (tables that become empty are freed), `iters` times.
 * memtouch: `pages` pages, page i for thread i % threads; each iteration a
 *   thread writes its pages in a seeded random order, then verifies them.
 */
#include <string.h>

#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

#define SLICE_PAGES     16
#define WORK_BASE       GUEST_USER_BASE
#define WORDS           (PAGE_SIZE / sizeof(uint64_t))

static uint64_t pattern(uint64_t seed, unsigned pid, uint64_t key, unsigned word)
{
    return splitmix64(seed ^ ((uint64_t)pid << 44) ^ (key << 9) ^ word);
}

static void fill(struct gcpu *c, unsigned pid, uint64_t key)
{
    uint64_t *w = (uint64_t *)c->ubuf;
    for (unsigned i = 0; i < WORDS; i++)
        w[i] = pattern(c->g->wl.seed, pid, key, i);
}

/* Rule 2. */
static bool user_write_page(struct gcpu *c, uint64_t va)
{
    c->v->in_kernel = false;
    int rc = mmu_write(c->v, va, c->ubuf, PAGE_SIZE);
    c->v->in_kernel = true;
    if (rc == MMU_OK)
        atomic_fetch_add(&c->g->st.pages_touched, 1);
    return rc == MMU_OK;
}

static bool user_read_page(struct gcpu *c, uint64_t va)
{
    c->v->in_kernel = false;
    int rc = mmu_read(c->v, va, c->ubuf2, PAGE_SIZE);
    c->v->in_kernel = true;
    return rc == MMU_OK;
}

/*
 * Rule 3: compare what was read (buf2) with pattern (pid, key).  lenient:
 * a word may also still be zero (a sibling had not written it yet).
 */
static bool verify_page(struct gcpu *c, struct proc *p, uint64_t va,
                        unsigned pid, uint64_t key, bool lenient)
{
    struct guest_kernel *g = c->g;
    const uint64_t *w = (const uint64_t *)c->ubuf2;

    for (unsigned i = 0; i < WORDS; i++) {
        uint64_t want = pattern(g->wl.seed, pid, key, i);
        if (w[i] == want || (lenient && w[i] == 0))
            continue;
        atomic_fetch_add(&g->st.verify_failures, 1);
        klog(g, "pid %u: verify failed at va %#llx: read %#llx, expected %#llx",
             p->pid, (unsigned long long)(va + i * 8),
             (unsigned long long)w[i], (unsigned long long)want);
        TRC(hvlab_guest, verify_failed, (uint8_t)g->host_id, g->domid,
            (uint16_t)c->v->vcpu_id, p->pid, va + i * 8, want, w[i]);
        return false;
    }
    return true;
}

static uint64_t page_va(uint64_t page)
{
    return WORK_BASE + page * PAGE_SIZE;
}

/* ---- fork-storm -------------------------------------------------------------- */

static enum thread_result fork_storm_parent(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t mine = own_pages(g->wl.pages, p->nthreads, 0);

    switch (t->pc) {
    case FS_TOUCH:
        if (t->iter >= g->wl.iters) {
            atomic_store(&p->stop, true);
            return T_EXITED;
        }
        for (unsigned k = 0; k < SLICE_PAGES && t->cursor < mine; k++, t->cursor++) {
            uint64_t page = t->cursor * p->nthreads;
            fill(c, p->pid, page);
            if (!user_write_page(c, page_va(page)) || !user_read_page(c, page_va(page)))
                return T_EXITED;
            verify_page(c, p, page_va(page), p->pid, page, false);
        }
        if (t->cursor == mine) {
            t->cursor = 0;
            t->pc = FS_FORK;
        }
        return T_RUNNABLE;
    case FS_FORK: {
        struct proc *child;
        int rc = proc_fork(c, p, &child);
        if (rc) {
            klog(g, "pid %u: fork failed (%d)", p->pid, rc);
            t->pc = FS_VERIFY;
            return T_RUNNABLE;
        }
        child->is_child = true;
        child->parent_threads = p->nthreads;
        child->parent_pid = p->pid;
        child->threads[0].pc = FC_READ;
        atomic_store(&p->child_done, false);
        p->child = child;
        proc_start(g, child);
        t->pc = FS_WAIT;
        return T_RUNNABLE;
    }
    case FS_WAIT:
        if (atomic_load(&p->child_done))
            t->pc = FS_VERIFY;
        else
            hv_relax();     /* a busy wait: let the child's vCPU run (rule 5) */
        return T_RUNNABLE;
    case FS_VERIFY:
        for (unsigned k = 0; k < SLICE_PAGES && t->cursor < mine; k++, t->cursor++) {
            uint64_t page = t->cursor * p->nthreads;
            if (!user_read_page(c, page_va(page)))
                return T_EXITED;
            verify_page(c, p, page_va(page), p->pid, page, false);
        }
        if (t->cursor < mine)
            return T_RUNNABLE;
        t->cursor = 0;
        if (++t->iter < g->wl.iters) {
            t->pc = FS_TOUCH;
            return T_RUNNABLE;
        }
        atomic_store(&p->stop, true);   /* siblings finish */
        return T_EXITED;
    }
    return T_EXITED;
}

static enum thread_result fork_storm_sibling(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t mine = own_pages(g->wl.pages, p->nthreads, t->tid);

    if (atomic_load(&p->stop) || mine == 0) {
        if (!atomic_load(&p->stop))
            hv_relax();     /* nothing to do until the parent stops (rule 5) */
        return atomic_load(&p->stop) ? T_EXITED : T_RUNNABLE;
    }
    for (unsigned k = 0; k < SLICE_PAGES; k++) {
        uint64_t page = (t->cursor % mine) * p->nthreads + t->tid;
        t->cursor++;
        fill(c, p->pid, page);
        if (!user_write_page(c, page_va(page)) || !user_read_page(c, page_va(page)))
            return T_EXITED;
        verify_page(c, p, page_va(page), p->pid, page, false);
    }
    return T_RUNNABLE;
}

static enum thread_result fork_storm_child(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t n = g->wl.pages;

    for (unsigned k = 0; k < SLICE_PAGES && t->cursor < n; k++, t->cursor++) {
        uint64_t page = t->cursor, va = page_va(page);
        switch (t->pc) {
        case FC_READ:
            if (!user_read_page(c, va))
                return T_EXITED;
            verify_page(c, p, va, p->parent_pid, page,
                        page % p->parent_threads != 0);
            break;
        case FC_WRITE:
            fill(c, p->pid, page);
            if (!user_write_page(c, va))
                return T_EXITED;
            break;
        case FC_VERIFY:
            if (!user_read_page(c, va))
                return T_EXITED;
            verify_page(c, p, va, p->pid, page, false);
            break;
        }
    }
    if (t->cursor < n)
        return T_RUNNABLE;
    t->cursor = 0;
    if (t->pc == FC_VERIFY)
        return T_EXITED;
    t->pc++;
    return T_RUNNABLE;
}

/* ---- mmap-churn ---------------------------------------------------------------- */

#define MC_WINDOW   (4ULL << 30)

static uint64_t mc_pages(const struct guest_kernel *g, const struct proc *p)
{
    uint64_t n = g->wl.pages / p->nthreads;
    return n ? n : 1;
}

static enum thread_result mmap_churn(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t n = mc_pages(g, p);

    switch (t->pc) {
    case MC_MAP: {
        if (t->iter >= g->wl.iters)
            return T_EXITED;
        /* L4 slots 1..254: one window per thread (shared past 254). */
        uint64_t base = (uint64_t)(1 + t->tid % 254) << 39;
        uint64_t slots = MC_WINDOW / PAGE_SIZE > n ? MC_WINDOW / PAGE_SIZE - n : 1;
        if (proc_mmap_random(c, t, base, slots, PAGE_SIZE, n) != 0)
            return T_EXITED;
        t->cursor = 0;
        t->pc = MC_TOUCH;
        return T_RUNNABLE;
    }
    case MC_TOUCH:
        for (unsigned k = 0; k < SLICE_PAGES && t->cursor < n; k++, t->cursor++) {
            uint64_t va = t->region + t->cursor * PAGE_SIZE;
            uint64_t key = (va >> PAGE_SHIFT) ^ ((uint64_t)t->iter << 36);
            fill(c, p->pid, key);
            if (!user_write_page(c, va) || !user_read_page(c, va))
                return T_EXITED;
            verify_page(c, p, va, p->pid, key, false);
        }
        if (t->cursor == n)
            t->pc = MC_UNMAP;
        return T_RUNNABLE;
    case MC_UNMAP: {
        int rc = proc_munmap(c, p, t->region, t->region + n * PAGE_SIZE);
        if (rc) {
            klog(g, "pid %u: munmap of %#llx failed (%d)", p->pid,
                 (unsigned long long)t->region, rc);
            proc_kill(c, p, KILL_HCALL, t->region);
            return T_EXITED;
        }
        t->iter++;
        t->pc = MC_MAP;
        return T_RUNNABLE;
    }
    }
    return T_EXITED;
}

/* ---- memtouch ------------------------------------------------------------------- */

static void mt_permute(struct thread *t, uint64_t n)
{
    t->step = n ? wl_rng_next(&t->rng) % n : 0;
    while (n > 1 && gcd64(t->step, n) != 1)
        t->step = (t->step + 1) % n;
    if (n <= 1)
        t->step = 1;
    t->off = n ? wl_rng_next(&t->rng) % n : 0;
}

static enum thread_result memtouch(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct proc *p = t->p;
    uint64_t mine = own_pages(g->wl.pages, p->nthreads, t->tid);

    if (t->iter >= g->wl.iters || mine == 0)
        return T_EXITED;
    for (unsigned k = 0; k < SLICE_PAGES && t->cursor < mine; k++, t->cursor++) {
        uint64_t idx = (t->cursor * t->step + t->off) % mine;
        uint64_t page = idx * p->nthreads + t->tid;
        uint64_t key = page ^ ((uint64_t)t->iter << 36);
        uint64_t va = page_va(page);
        if (t->pc == MT_WRITE) {
            fill(c, p->pid, key);
            if (!user_write_page(c, va))
                return T_EXITED;
        } else {
            if (!user_read_page(c, va))
                return T_EXITED;
            verify_page(c, p, va, p->pid, key, false);
        }
    }
    if (t->cursor < mine)
        return T_RUNNABLE;
    t->cursor = 0;
    if (t->pc == MT_WRITE) {
        t->pc = MT_VERIFY;
    } else {
        t->pc = MT_WRITE;
        t->iter++;
        mt_permute(t, mine);
    }
    return T_RUNNABLE;
}

/* ---- entry points ------------------------------------------------------------------ */

enum thread_result workload_slice(struct gcpu *c, struct thread *t)
{
    struct proc *p = t->p;

    if (atomic_load(&p->killed) != KILL_NONE)
        return T_EXITED;
    switch (c->g->wl.kind) {
    case WL_FORK_STORM:
        if (p->is_child)
            return fork_storm_child(c, t);
        return t->tid == 0 ? fork_storm_parent(c, t) : fork_storm_sibling(c, t);
    case WL_MMAP_CHURN:
        return mmap_churn(c, t);
    case WL_MEMTOUCH:
        return memtouch(c, t);
    case WL_P2M_RACE:
        return p2m_race_slice(c, t);
    case WL_BLK_IO:
        return blkfront_slice(c, t);
    case WL_BLKBACK:
        return blkback_slice(c, t);
    case WL_GRANT_POC:          /* runs at start, no threads */
        return T_EXITED;
    case WL_PT_REUSE:
        return pt_reuse_slice(c, t);
    case WL_NR:
        break;
    }
    return T_EXITED;
}

/* Called on vCPU 0 at the end of boot: the initial processes. */
void workload_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    unsigned nthreads = g->wl.threads ? g->wl.threads : 1;

    if (g->wl.kind == WL_P2M_RACE) {
        p2m_race_start(c);
        return;
    }
    if (g->wl.kind == WL_BLK_IO) {
        blkfront_start(c);
        return;
    }
    if (g->wl.kind == WL_BLKBACK) {
        blkback_start(c);
        return;
    }
    if (g->wl.kind == WL_GRANT_POC) {
        grant_poc_start(c);
        return;
    }
    if (g->wl.kind == WL_PT_REUSE) {
        pt_reuse_start(c);
        return;
    }
    for (unsigned i = 0; i < g->wl.procs; i++) {
        struct proc *p = proc_spawn(c, NULL, nthreads);
        if (!p) {
            klog(g, "workload: process %u of %u could not be created", i + 1,
                 g->wl.procs);
            continue;
        }
        if (g->wl.kind != WL_MMAP_CHURN && g->wl.pages > 0) {
            gspin_lock(&p->mm_lock);
            int rc = proc_add_vma(p, WORK_BASE, page_va(g->wl.pages), true);
            gspin_unlock(&p->mm_lock);
            if (rc)
                klog(g, "pid %u: working set of %u pages does not fit (%d)",
                     p->pid, g->wl.pages, rc);
        }
        for (unsigned k = 0; k < nthreads; k++) {
            struct thread *t = &p->threads[k];
            switch (g->wl.kind) {
            case WL_FORK_STORM:
                t->pc = k == 0 ? FS_TOUCH : FS_SIB;
                break;
            case WL_MMAP_CHURN:
                t->pc = MC_MAP;
                break;
            default:
                t->pc = MT_WRITE;
                mt_permute(t, own_pages(g->wl.pages, nthreads, k));
                break;
            }
        }
        proc_start(g, p);
    }
    if (atomic_load(&g->live_procs) == 0)
        atomic_store(&g->done, true);
}
