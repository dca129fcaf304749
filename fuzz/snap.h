/*
 * fuzz/snap.h - the in-process snapshot reset (FUZZ_RESET_SNAP, fuzz/fuzz.h;
 * fuzz/exec.c E8).  Experimental, opt-in.
 *
 * A world's state is its machine's guest RAM and frame table (two
 * mappings, core/machine.c), every heap object of the hypervisor (in the
 * arena, fuzz/snap_alloc.h) and a few globals (paging_ld_live, the
 * domain_crash records).  The snapshot is taken once the world is built;
 * a reset puts back the pages runs have written (S2, S3) and the globals.
 *
 * Rules:
 *   S1  A world joins the snapshot by being rebuilt inside the arena
 *       (fz_world_reset while the thread is in the hypervisor), so all of
 *       its heap objects are arena blocks; the other joined worlds are
 *       restored first, and the join ends with a commit (S9).
 *   S2  RAM, frame table and the whole arena mapping are write-tracked,
 *       but for their kept pages (S14: today all of RAM and the frame
 *       table): read-only after the commit; the first store to a page faults, the
 *       SIGSEGV handler saves the page's pristine bytes (once per commit),
 *       lists the page as hot and makes it writable.  A fault anywhere
 *       else goes to the handler that was there before (libFuzzer's, or
 *       the default: a crash).
 *   S3  Restore: every hot page is copied back from its saved bytes and
 *       stays writable (a hot page costs a 4 KiB copy per restore; a
 *       fault and an mprotect cost ~50 us each on these hosts), and the
 *       globals a run can change are put back (paging_ld_live,
 *       core/mm/paging.h L9).  The arena's bump area past the snapshot is
 *       tracked like the rest, so a block a run carves from it is zero
 *       again after the restore, as it was at the snapshot.
 *   S4  HVLAB_FUZZ_SNAP_CHECK=1: after every restore, fz_world_hash of each
 *       joined world and the arena's bytes are compared with the snapshot;
 *       a difference aborts, naming the world or the first differing
 *       offset.
 *   S5  The world is left as the run made it until the next fz_snap_enter
 *       (or fz_snap_restore), as FUZZ_RESET_REBUILD leaves it.
 *   S6  fz_snap_drop (leaving FUZZ_RESET_SNAP) restores, makes every page
 *       writable again and forgets the snapshot; the worlds stay, their
 *       objects in the arena (freed there when they are destroyed).
 *   S7  Cooling: when more pages are hot after a restore than the limit
 *       (FZ_SNAP_HOT_MAX at first), each region is made read-only again
 *       in one mprotect and its hot list emptied, so a page one odd run
 *       wrote is not copied for ever; and the limit doubles, so a
 *       surface whose every run writes more pages than the limit stops
 *       being cooled - and faulting that many times per run - after a
 *       few restores.
 *   S14 Kept pages: an array whose writers name what they store
 *       (core/wrec.h) is saved whole at the commit and not write-tracked;
 *       a restore copies back only the pages noted since (fuzz/snap.c).
 *   S15 A kept page is put back by chunks of SNAP_CHUNK (256) bytes: a
 *       note marks the chunks it covers, and a restore copies only those,
 *       consecutive ones in one copy.  Most notes are a word or a record
 *       (a PTE, a frame's page_info, a TLB entry), so a run that writes 64
 *       pages this way copies about 16 KiB, not 256 KiB.
 */
#ifndef HVLAB_FUZZ_SNAP_H
#define HVLAB_FUZZ_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fz_world;

/* The snapshot reset can run here: the allocation wraps are linked
   (fuzz/snap_alloc.h SA4). */
bool fz_snap_available(void);

/* Before a run on w: restore if the last run dirtied anything (S3, S4),
   make w join (S1) if it has not, then enter the hypervisor.  0, or -1
   with a message on stderr. */
int fz_snap_enter(struct fz_world *w);
/* After the run: leave the hypervisor; the world is dirty (S5). */
void fz_snap_leave(void);
/* S3 now, if anything is dirty.  0, or -1 (S4 aborts instead). */
int fz_snap_restore(void);
/* S6. */
void fz_snap_drop(void);
/* S7 now: every region read-only, no page hot (for benchmarks). */
void fz_snap_cool(void);

/* S7: hot pages (all regions) above which a restore cools. */
#define FZ_SNAP_HOT_MAX 1024u

struct fz_snap_stats {
    uint64_t restores;
    uint64_t restore_ns;            /* total */
    uint64_t pages;                 /* RAM + frame-table pages put back */
    uint64_t arena_bytes;           /* arena bytes copied back */
    uint64_t faults;                /* write faults taken (S2) */
    uint64_t copy_ns;               /* of restore_ns: the page copies */
    uint64_t cools;                 /* S7 */
    uint64_t cool_ns;               /* of restore_ns: the cooling */
    unsigned last_pages;            /* RAM + frame table, last restore */
    unsigned last_arena_pages;      /* arena, last restore */
    uint64_t noted;                 /* kept pages noted, all restores (S14) */
    uint64_t bytes;                 /* bytes copied back, all restores (S15) */
    unsigned kept;                  /* kept pages now (S14) */
    unsigned hot;                   /* hot pages now (S2, S3) */
    unsigned hot_limit;             /* S7: after the last cool; 0 before */
    size_t snap_arena_bytes;        /* the arena's used part at snapshot */
    unsigned worlds;                /* joined */
};
void fz_snap_stats(struct fz_snap_stats *st);

#endif /* HVLAB_FUZZ_SNAP_H */
