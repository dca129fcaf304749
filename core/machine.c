/*
 * core/machine.c - the host: RAM arena, frame table, M2P, free-frame heap.
 *
 * Rules:
 *   1. RAM and the frame table are anonymous MAP_NORESERVE mappings: a frame
 *      costs host memory only once touched (RAM in 2 MiB host pages where
 *      transparent huge pages allow: MADV_HUGEPAGE).  The frame table itself is
 *      initialised at creation (every frame must read as free), the RAM is
 *      not: untouched frames are zero, so a never-used free frame needs no
 *      scrub.
 *   2. At creation the machine takes its first frames for itself, in this
 *      order: the M2P (one uint64_t per frame), then Xen's L3, L2s and L1s
 *      that map the M2P read-only at MACH2PHYS_VIRT_START.  These frames are
 *      Xen's for the machine's life: owner DOMID_XEN, count_info
 *      PGC_xen_heap | PGC_allocated | 1 (state inuse), type_info 0.  Every
 *      other frame starts free: PGC_state_free, type_info 0, owner
 *      DOMID_INVALID, on the free list.
 *   3. count_info/type_info have one mutator, core/mm/frame.c, with these
 *      exceptions, all on frames no domain owns: the heap writes them when a
 *      frame enters or leaves the free state (free <-> inuse, count 0,
 *      type 0), and creation writes them for Xen's own frames.  Each such
 *      write is traced (hvlab_mm:count_change, old and new words).
 *   4. The heap (free list, nr_free) is protected by heap_lock (LOCK_HEAP:
 *      only leaf locks may be taken under it, and none is); scrubbing and
 *      TLB flush requests happen outside it.
 *   5. A freed frame is marked PGC_need_scrub and zeroed by its next
 *      allocation.  Its M2P entry becomes INVALID_M2P_ENTRY when it is freed
 *      (a free frame is no guest's pfn).
 *   6. A freed frame may still be cached in some vCPU's TLB (the guest
 *      cleared the PTE but has not flushed yet).  The frame is stamped with
 *      the machine's tlbflush_clock when freed; its next allocation requests
 *      a full flush from every vCPU whose last full flush is not newer than
 *      that stamp, as Xen's allocator does, and (flush-IPI semantics,
 *      core/mmu.c rule 17) waits until none of them is still inside an
 *      access begun before the request; the requests go out in batches of
 *      up to HEAP_FLUSH_BATCH vCPUs, one wait per batch.  The scan reads
 *      m->domains[] and each domain's vcpu[] without a lock: the toolstack
 *      must not destroy a domain while vCPUs of the same machine run (no
 *      runner does today).
 *   7. The only writer of an M2P entry is set_gpfn_from_mfn(), which traces
 *      hvlab_mm:m2p_set with the old and new values.
 *   8. The PTEs of Xen's M2P tables are written once, here, and traced as
 *      hvlab_pt:pte_write with path PTW_XEN, so a trace replays them too.
 *   9. machine_create() sets up the MMU's process-wide flush machinery
 *      (mmu_hw_init) first: no vCPU exists before a machine does.
 *  10. A destroyed machine of at most ARENA_CACHE_MAX_FRAMES frames leaves
 *      its two mappings in a one-slot, process-wide cache for the next
 *      machine of the same size (a seed search creates one per run, and
 *      first touches of fresh anonymous memory are most of a small run's
 *      cost).  Taking them back restores rule 1's promise: every frame that
 *      was ever taken (any frame not in the pristine free state) is zeroed
 *      and the frame table is cleared, so a recycled machine is
 *      indistinguishable from a fresh one, trace events included.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mm/pv_pt.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "trace/trace.h"

/* Entry flags of Xen's M2P tables: user-visible, never writable (rule 2). */
#define XEN_M2P_UPPER_FLAGS (_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)
#define XEN_M2P_LEAF_FLAGS  (_PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED)

#define XEN_FRAME_COUNT     (PGC_state_inuse | PGC_xen_heap | PGC_allocated | 1)

_Static_assert(MACH2PHYS_VIRT_START % (1ULL << 39) == 0,
               "the M2P window starts at an L4 slot boundary");
_Static_assert(((MACH2PHYS_VIRT_START >> 39) & 511) == XEN_L4_SLOT_FIRST,
               "the M2P window is Xen's first L4 slot");

/* Rule 10: the largest machine whose mappings are kept for reuse (1 GiB). */
#define ARENA_CACHE_MAX_FRAMES  (1ULL << 18)

static struct arena_cache {
    pthread_mutex_t lock;
    uint8_t *ram;
    struct page_info *frame_table;
    uint64_t nr_frames;
    uint64_t reused;                /* machines created from the cache */
} arena_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void arena_unmap(uint8_t *ram, struct page_info *ft, uint64_t nr_frames)
{
    if (ram)
        munmap(ram, nr_frames << PAGE_SHIFT);
    if (ft)
        munmap(ft, nr_frames * sizeof(struct page_info));
}

/* Rule 10: take the parked mappings if they fit nr_frames exactly, cleaned
   back to the fresh state. */
static bool arena_take(uint64_t nr_frames, uint8_t **ram,
                       struct page_info **ft)
{
    bool hit = false;
    pthread_mutex_lock(&arena_cache.lock);
    if (arena_cache.ram && arena_cache.nr_frames == nr_frames) {
        *ram = arena_cache.ram;
        *ft = arena_cache.frame_table;
        arena_cache.ram = NULL;
        arena_cache.frame_table = NULL;
        arena_cache.reused++;
        hit = true;
    }
    pthread_mutex_unlock(&arena_cache.lock);
    if (!hit)
        return false;
    /* Clean here, not when parked: a process that never creates another
       machine (one `hvlab run`) does not pay for it at exit. */
    for (mfn_t mfn = 0; mfn < nr_frames; mfn++)
        if (atomic_load_explicit(&(*ft)[mfn].count_info,
                                 memory_order_relaxed) != PGC_state_free)
            memset(*ram + (mfn << PAGE_SHIFT), 0, PAGE_SIZE);
    memset(*ft, 0, nr_frames * sizeof(struct page_info));
    return true;
}

/*
 * Rule 10: park m's mappings as they are (arena_take cleans them); whatever
 * was parked before is unmapped.  False (nothing done) for large machines.
 */
static bool arena_park(struct machine *m)
{
    if (m->ram == NULL || m->frame_table == NULL ||
        m->nr_frames > ARENA_CACHE_MAX_FRAMES)
        return false;
    pthread_mutex_lock(&arena_cache.lock);
    uint8_t *old_ram = arena_cache.ram;
    struct page_info *old_ft = arena_cache.frame_table;
    uint64_t old_nr = arena_cache.nr_frames;
    arena_cache.ram = m->ram;
    arena_cache.frame_table = m->frame_table;
    arena_cache.nr_frames = m->nr_frames;
    pthread_mutex_unlock(&arena_cache.lock);
    arena_unmap(old_ram, old_ft, old_nr);
    return true;
}

uint64_t machine_arena_reuses(void)
{
    pthread_mutex_lock(&arena_cache.lock);
    uint64_t n = arena_cache.reused;
    pthread_mutex_unlock(&arena_cache.lock);
    return n;
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

static void *map_noreserve(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Rule 3: a count_info change of a frame no domain owns, traced. */
static void frame_set_unowned(struct machine *m, mfn_t mfn, uint64_t count,
                              uint16_t owner)
{
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t old_count = atomic_load_explicit(&pg->count_info,
                                              memory_order_relaxed);
    uint64_t old_type = atomic_load_explicit(&pg->type_info,
                                             memory_order_relaxed);
    page_note(pg);
    pg->owner = owner;
    atomic_store_explicit(&pg->type_info, 0, memory_order_relaxed);
    atomic_store_explicit(&pg->count_info, count, memory_order_release);
    TRC(hvlab_mm, count_change, (uint8_t)m->host_id, mfn, owner,
        old_count, count, old_type, 0);
    (void)old_count;                    /* unused when tracing is compiled out */
    (void)old_type;
}

/* Rule 8: one entry of Xen's own tables. */
static void xen_pte_write(struct machine *m, mfn_t table, unsigned level,
                          unsigned slot, pte_t e)
{
    pte_t *t = ram_w((const pte_t *)mfn_to_virt(m, table) + slot, sizeof(e));
    __atomic_store_n(t, e, __ATOMIC_RELAXED);
    TRC(hvlab_pt, pte_write, (uint8_t)m->host_id, DOMID_XEN, table,
        (uint8_t)level, (uint16_t)slot, 0, e, PTW_XEN);
    (void)level;
}

/*
 * Build the M2P and Xen's tables mapping it (rule 2).  Frames
 * [0, first_free) are Xen's afterwards.  Returns first_free.
 */
static mfn_t machine_build_xen(struct machine *m)
{
    uint64_t m2p_frames = div_round_up(m->nr_frames * sizeof(uint64_t),
                                       PAGE_SIZE);
    uint64_t nr_l1 = div_round_up(m2p_frames, PT_ENTRIES);
    uint64_t nr_l2 = div_round_up(nr_l1, PT_ENTRIES);
    mfn_t m2p_first = 0;
    mfn_t l3 = m2p_first + m2p_frames;
    mfn_t l2_first = l3 + 1;
    mfn_t l1_first = l2_first + nr_l2;
    mfn_t first_free = l1_first + nr_l1;

    for (mfn_t mfn = 0; mfn < first_free; mfn++)
        frame_set_unowned(m, mfn, XEN_FRAME_COUNT, DOMID_XEN);

    m->m2p_first_mfn = m2p_first;
    m->m2p_nr_frames = m2p_frames;
    m->m2p = mfn_to_virt(m, m2p_first);
    memset(ram_w(m->m2p, m2p_frames * PAGE_SIZE), 0xFF,
           m2p_frames * PAGE_SIZE);                 /* INVALID_M2P_ENTRY */

    for (uint64_t i = 0; i < nr_l2; i++)
        xen_pte_write(m, l3, 3, (unsigned)i,
                      pte_make(l2_first + i, XEN_M2P_UPPER_FLAGS));
    for (uint64_t i = 0; i < nr_l1; i++)
        xen_pte_write(m, l2_first + i / PT_ENTRIES, 2,
                      (unsigned)(i % PT_ENTRIES),
                      pte_make(l1_first + i, XEN_M2P_UPPER_FLAGS));
    for (uint64_t i = 0; i < m2p_frames; i++)
        xen_pte_write(m, l1_first + i / PT_ENTRIES, 1,
                      (unsigned)(i % PT_ENTRIES),
                      pte_make(m2p_first + i, XEN_M2P_LEAF_FLAGS));

    memset(m->xen_l4_slots, 0, sizeof(m->xen_l4_slots));
    m->xen_l4_slots[0] = pte_make(l3, XEN_M2P_UPPER_FLAGS);
    return first_free;
}

int machine_create(uint64_t ram_bytes, unsigned host_id,
                   const struct hv_options *opt, struct machine **out)
{
    uint64_t nr_frames = ram_bytes >> PAGE_SHIFT;

    *out = NULL;
    mmu_hw_init();          /* rule 9: before any vCPU of it can run */
    /*
     * Room for Xen's frames plus some guest memory; frame numbers must fit
     * the 32-bit list links, and the M2P must fit its 256 GiB window.
     */
    if (nr_frames < 64 || nr_frames >= PAGE_LIST_NULL ||
        nr_frames * sizeof(uint64_t) > MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START)
        return -XEN_EINVAL;

    struct machine *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -XEN_ENOMEM;
    m->host_id = host_id;
    m->nr_frames = nr_frames;
    if (!arena_take(nr_frames, &m->ram, &m->frame_table)) {
        m->ram = map_noreserve(nr_frames << PAGE_SHIFT);
        /* Rule 1: 2 MiB host pages where the kernel allows them, so the
           first touch of guest RAM costs a fault per 512 frames (a
           restore fills a whole domain at once); advice only. */
        if (m->ram)
            (void)madvise(m->ram, nr_frames << PAGE_SHIFT, MADV_HUGEPAGE);
        m->frame_table = map_noreserve(nr_frames * sizeof(struct page_info));
    }
    if (m->ram == NULL || m->frame_table == NULL) {
        machine_destroy(m);
        return -XEN_ENOMEM;
    }
    if (opt)
        m->opt = *opt;
    else
        hv_options_default(&m->opt);
    hv_lock_init(&m->heap_lock, "machine.heap", LOCK_HEAP);
    atomic_store_explicit(&m->tlbflush_clock, 1, memory_order_relaxed);

    /* Rule 2: every frame free first (the mapping reads as zeroes). */
    for (mfn_t mfn = 0; mfn < nr_frames; mfn++) {
        struct page_info *pg = &m->frame_table[mfn];
        atomic_store_explicit(&pg->count_info, PGC_state_free,
                              memory_order_relaxed);
        pg->owner = DOMID_INVALID;
        pg->list_prev = PAGE_LIST_NULL;
        pg->list_next = mfn + 1 < nr_frames ? (uint32_t)(mfn + 1)
                                            : PAGE_LIST_NULL;
    }

    mfn_t first_free = machine_build_xen(m);
    for (mfn_t mfn = 0; mfn < first_free; mfn++)
        m->frame_table[mfn].list_next = PAGE_LIST_NULL;
    m->free_head = first_free < nr_frames ? (uint32_t)first_free
                                          : PAGE_LIST_NULL;
    m->nr_free = nr_frames - first_free;
    hv_wrec_keep(m->frame_table, nr_frames * sizeof(struct page_info));
    *out = m;
    return 0;
}

int machine_at_destroy(struct machine *m, void (*fn)(struct machine *m))
{
    unsigned i = atomic_fetch_add(&m->nr_dtors, 1);
    if (i >= ARRAY_SIZE(m->dtors)) {
        atomic_fetch_sub(&m->nr_dtors, 1);
        return -XEN_ENOSPC;
    }
    m->dtors[i] = fn;
    return 0;
}

void machine_destroy(struct machine *m)
{
    if (m == NULL)
        return;
    for (unsigned i = atomic_load(&m->nr_dtors); i-- > 0;)
        if (m->dtors[i])
            m->dtors[i](m);
    hv_wrec_forget(m->frame_table, m->nr_frames * sizeof(struct page_info));
    if (!arena_park(m))
        arena_unmap(m->ram, m->frame_table, m->nr_frames);
    free(m);
}

#define HEAP_FLUSH_BATCH    64

/*
 * Rule 6: request a full flush from every vCPU of this machine that may
 * still cache a frame freed at clock `stamp`.  Domains are only read here;
 * the toolstack never destroys a domain whose vCPUs are running.
 */
static void heap_flush_stale(struct machine *m, uint32_t stamp)
{
    struct vcpu *batch[HEAP_FLUSH_BATCH];
    unsigned n = 0;

    for (unsigned d = 0; d < HV_MAX_DOMAINS; d++) {
        struct domain *dom = m->domains[d];
        if (dom == NULL)
            continue;
        for (unsigned i = 0; i < dom->nr_vcpus && i < HV_MAX_VCPUS; i++) {
            struct vcpu *v = dom->vcpu[i];
            if (v == NULL)
                continue;
            uint32_t t = atomic_load_explicit(&v->tlb.flush_time,
                                              memory_order_acquire);
            if ((int32_t)(t - stamp) > 0)
                continue;
            batch[n++] = v;
            if (n == HEAP_FLUSH_BATCH) {
                mmu_request_flush_many(batch, n, MMU_FLUSH_ALL_VA);
                n = 0;
            }
        }
    }
    if (n > 0)
        mmu_request_flush_many(batch, n, MMU_FLUSH_ALL_VA);
}

mfn_t machine_heap_alloc(struct machine *m)
{
    HV_AUDIT_MARK(m, HV_MARK_MM);                           /* audit.h A2 */
    hv_lock(&m->heap_lock);
    uint32_t head = m->free_head;
    if (head == PAGE_LIST_NULL) {
        hv_unlock(&m->heap_lock);
        return INVALID_MFN;
    }
    struct page_info *pg = &m->frame_table[head];
    m->free_head = pg->list_next;
    m->nr_free--;
    page_note(pg);
    pg->list_next = PAGE_LIST_NULL;
    pg->list_prev = PAGE_LIST_NULL;
    hv_unlock(&m->heap_lock);

    mfn_t mfn = head;
    uint64_t old = atomic_load_explicit(&pg->count_info, memory_order_relaxed);
    assert((old & PGC_state) == PGC_state_free);
    if (old & PGC_need_scrub)
        memset(mfn_to_virt_w(m, mfn), 0, PAGE_SIZE);
    if (old & PGC_need_scrub)           /* only freed frames can be cached */
        heap_flush_stale(m, pg->tlbflush_timestamp);
    frame_set_unowned(m, mfn, PGC_state_inuse, DOMID_INVALID);
    return mfn;
}

void machine_heap_free(struct machine *m, mfn_t mfn)
{
    assert(mfn_valid(m, mfn));
    HV_AUDIT_TOUCH(m, mfn);                                 /* audit.h A2 */
    struct page_info *pg = mfn_to_page(m, mfn);
    uint64_t count = atomic_load_explicit(&pg->count_info, memory_order_relaxed);
    uint64_t type = atomic_load_explicit(&pg->type_info, memory_order_relaxed);
    /* Hypervisor invariants: only unreferenced, in-use, non-Xen frames. */
    assert((count & PGC_state) == PGC_state_inuse);
    assert((count & (PGC_count_mask | PGC_xen_heap)) == 0);
    assert((type & PGT_count_mask) == 0);
    (void)count;
    (void)type;

    if (get_gpfn_from_mfn(m, mfn) != INVALID_M2P_ENTRY)
        set_gpfn_from_mfn(m, mfn, INVALID_M2P_ENTRY);
    page_note(pg);
    pg->tlbflush_timestamp = atomic_load_explicit(&m->tlbflush_clock,
                                                  memory_order_acquire);
    frame_set_unowned(m, mfn, PGC_state_free | PGC_need_scrub, DOMID_INVALID);

    hv_lock(&m->heap_lock);
    page_note(pg);
    pg->list_prev = PAGE_LIST_NULL;
    pg->list_next = m->free_head;
    m->free_head = (uint32_t)mfn;
    m->nr_free++;
    hv_unlock(&m->heap_lock);
}

void set_gpfn_from_mfn(struct machine *m, mfn_t mfn, uint64_t pfn)
{
    assert(mfn_valid(m, mfn));
    uint64_t *e = ram_w(&m->m2p[mfn], sizeof(*e));
    uint64_t old = __atomic_exchange_n(e, pfn, __ATOMIC_RELAXED);
    TRC(hvlab_mm, m2p_set, (uint8_t)m->host_id, mfn, old, pfn);
    (void)old;
}
