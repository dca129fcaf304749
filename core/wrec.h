/*
 * core/wrec.h - the write record: large arrays whose writers name the
 * bytes they are about to store, so that a snapshot reset (fuzz/snap.h)
 * puts back exactly the pages a run wrote, instead of trapping the first
 * store to each page or copying back every page some earlier run wrote.
 *
 * Rules:
 *   W1  An array takes part once it is allocated: hv_wrec_keep(p, len).
 *       From then on every store to it follows an hv_wrec_note naming the
 *       bytes, in the same function, before the store (before the
 *       compare-and-exchange, for an atomic word).  hv_wrec_forget(p, len)
 *       before it is freed.
 *   W2  The recorder decides what a keep means; it may ignore one (the
 *       array then stays under whatever tracking it had: never unsafe).
 *       With no recorder installed - everything but the fuzzer's snapshot
 *       reset - each call is one load and an untaken branch.
 *   W3  A missing note is found, not lost: under HVLAB_FUZZ_SNAP_CHECK=1
 *       every restore compares each kept page with its snapshot and names
 *       the first that differs (fuzz/snap.h S4); test-fuzz-snap runs the
 *       mm, grant and shadow surfaces so, 300 inputs each (restore and
 *       race do not use the snapshot).
 *   W4  A note of bytes within one page the calling thread noted since the
 *       recorder last called hv_wrec_invalidate costs a lookup in a small
 *       per-thread table, not a call into the recorder: after the first
 *       note of a page in a run, the page's state cannot change until the
 *       recorder invalidates (a restore, a commit, a forget).  Notes come
 *       in floods - each reference a demotion drops notes the frame table,
 *       the history and the audit's records - and most repeat a page.
 *   W5  What is inlined into the hypervisor is only the test for a
 *       recorder, the same for the whole process; the lookup is in
 *       core/wrec.c, built without coverage (fuzz/nocov).  Inlined, its
 *       hits and misses - which depend on the runs before - were counted
 *       as the hypervisor's coverage: AFL++ stability fell from 100% to
 *       99.2%.
 *   W7  A writer that noted a whole array may remember the epoch it did so
 *       in (hv_wrec_epoch) and skip its notes while the epoch stays: every
 *       page of the array is noted until the next invalidation.  A flag
 *       would not do: set while a snapshot is being built, it would be
 *       part of the snapshot and skip the notes of every run after.
 *   W6  Taking part so far: the frame table (every page_info writer in
 *       core/mm/frame.c, alloc.c, pv_pt.c, p2m.c and core/machine.c), the
 *       machine's RAM (core/machine.h: mfn_to_virt is const, every store
 *       goes through ram_w or mfn_to_virt_w, so the compiler names a
 *       writer that does not note), each vCPU's TLB entries (core/tlb.h,
 *       core/mmu.c tlb_w), the incremental frame audit's per-frame
 *       records, table records and frame sets (core/mm/audit_incr.c), the
 *       frame history's ring and sequence numbers (core/mm/history.c)
 *       and the fuzzer's kept isolation walk (fuzz/isolation.c).
 */
#ifndef HVLAB_CORE_WREC_H
#define HVLAB_CORE_WREC_H

#include <stddef.h>
#include <stdint.h>

/* Addresses, not pointers: a keep names memory nobody has written yet. */
struct hv_wrec_ops {
    void (*keep)(uintptr_t a, size_t len);
    void (*forget)(uintptr_t a, size_t len);
    void (*note)(uintptr_t a, size_t len);
};

/* W2: the installed recorder, or NULL. */
extern const struct hv_wrec_ops *hv_wrec;

void hv_wrec_install(const struct hv_wrec_ops *ops);

/* W4: the recorder forgets every thread's seen pages (after a restore, a
   commit, a forget). */
void hv_wrec_invalidate(void);

/* W4: the number of invalidations so far.  A writer that noted a whole
   array may skip its notes while this has not moved (W7). */
extern uint64_t hv_wrec_epoch_now;
static inline uint64_t hv_wrec_epoch(void)
{
    return __atomic_load_n(&hv_wrec_epoch_now, __ATOMIC_RELAXED);
}

static inline void hv_wrec_keep(const void *p, size_t len)
{
    if (__builtin_expect(hv_wrec != NULL, 0) && p)
        hv_wrec->keep((uintptr_t)p, len);
}

static inline void hv_wrec_forget(const void *p, size_t len)
{
    if (__builtin_expect(hv_wrec != NULL, 0) && p)
        hv_wrec->forget((uintptr_t)p, len);
}

/* W4, W5: out of line, in a file built without coverage. */
void hv_wrec_note_slow(uintptr_t a, size_t len);

static inline void hv_wrec_note(const void *p, size_t len)
{
    if (__builtin_expect(hv_wrec != NULL, 0))
        hv_wrec_note_slow((uintptr_t)p, len);
}

#endif /* HVLAB_CORE_WREC_H */
