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
 *   W4  A note of bytes within one chunk (WREC_CHUNK bytes, aligned) the
 *       calling thread noted since the recorder last called
 *       hv_wrec_invalidate costs a lookup in a small per-thread table, not
 *       a call into the recorder: after the first note of a chunk in a
 *       run, the chunk's state cannot change until the recorder
 *       invalidates (a restore, a commit, a forget).  The recorder may put
 *       back no less than a chunk (fuzz/snap.h S15), never less.  Notes come
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
 *   W8  An array that takes part is best a block of whole pages of its own
 *       (hv_wrec_calloc): a recorder keeps only the whole pages of a range
 *       (fuzz/snap.h S14), so the first and last page of an array that
 *       shares them with other blocks stay under write tracking, and a
 *       run that writes near either end of it pays for them at every
 *       restore after.
 *   W9  An array filled slot by slot in order (a list: n slots in use, the
 *       next store at slot n) notes a slot only when it is the first store
 *       of the epoch or when it begins a chunk it does not share with the
 *       slot before (hv_wrec_note_append): a recorder puts back whole
 *       chunks, so the slots after it in the same chunk are covered.  A
 *       bitmap a run may write anywhere in, small beside the calls that
 *       would note it bit by bit, is noted whole once per epoch (W7).
 *   W10 Every forget ends the epoch, whether or not the recorder had kept
 *       the range.  Epochs are compared in the hypervisor's own code
 *       (W7, W9), which the fuzzers count as coverage; a recorder keeps a
 *       range only until its first forget, so "invalidate when it was
 *       kept" would end an epoch the first time an input frees an array
 *       and not when the same input runs again - a branch taken a
 *       different number of times for the same input (AFL++ stability fell
 *       to 99.5% on the shadow surface).  Now the epochs a run sees
 *       follow from what the run does.
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
/* W4: the granule of the per-thread table of notes already made. */
#define WREC_CHUNK  256UL

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
    if (__builtin_expect(hv_wrec != NULL, 0) && p) {
        hv_wrec->forget((uintptr_t)p, len);
        hv_wrec_invalidate();                                   /* W10 */
    }
}

/* W8: a zeroed block of len bytes rounded up to whole pages, page
   aligned, kept (W1); NULL when out of memory.  hv_wrec_free forgets it
   (with the same len) and frees it; NULL is ignored. */
void *hv_wrec_calloc(size_t len);
void hv_wrec_free(void *p, size_t len);

/* W4, W5: out of line, in a file built without coverage. */
void hv_wrec_note_slow(uintptr_t a, size_t len);

static inline void hv_wrec_note(const void *p, size_t len)
{
    if (__builtin_expect(hv_wrec != NULL, 0))
        hv_wrec_note_slow((uintptr_t)p, len);
}

/* W9: before storing the slot at p (size bytes) of an array filled in
   order; *epoch is the array's own record of the epoch it last noted in. */
static inline void hv_wrec_note_append(const void *p, size_t size,
                                       uint64_t *epoch)
{
    if (__builtin_expect(hv_wrec != NULL, 0)) {
        uintptr_t off = (uintptr_t)p % WREC_CHUNK;
        uint64_t g = hv_wrec_epoch();
        if (*epoch != g || off == 0 || off + size > WREC_CHUNK) {
            hv_wrec_note_slow((uintptr_t)p, size);
            *epoch = g;
        }
    }
}

/* W7, W9: the whole of [p, p + len), once per epoch (*epoch). */
static inline void hv_wrec_note_whole(const void *p, size_t len,
                                      uint64_t *epoch)
{
    if (__builtin_expect(hv_wrec != NULL, 0)) {
        uint64_t g = hv_wrec_epoch();
        if (*epoch != g) {
            hv_wrec_note_slow((uintptr_t)p, len);
            *epoch = g;
        }
    }
}

#endif /* HVLAB_CORE_WREC_H */
