/*
 * fuzz/snap.h - the in-process snapshot reset (FUZZ_RESET_SNAP, fuzz/fuzz.h;
 * fuzz/exec.c E8).  Experimental, opt-in.
 *
 * A world's state is its machine's guest RAM and frame table (two
 * mappings, core/machine.c), every heap object of the hypervisor (in the
 * arena, fuzz/snap_alloc.h) and a few globals.  The snapshot is taken
 * once the world is built; a reset puts back only what a run changed.
 *
 * Rules:
 *   S1  A world joins the snapshot by being rebuilt inside the arena
 *       (fz_world_reset while the thread is in the hypervisor), so all of
 *       its heap objects are arena blocks; then the arena's used part is
 *       copied (the copy covers every joined world: the others are
 *       restored to their snapshot first).
 *   S2  RAM and frame table are write-tracked: read-only after the
 *       snapshot; the first store to a page faults, the SIGSEGV handler
 *       saves the page's pristine bytes (the first time ever), records it
 *       and makes it writable.  A fault anywhere else goes to the handler
 *       that was there before (libFuzzer's, or the default: a crash).
 *   S3  Restore: the arena's used part of the snapshot is copied back, the
 *       recorded pages are copied back from their saved bytes and made
 *       read-only again, and the globals a run can change are put back
 *       (paging_ld_live, core/mm/paging.h L9).  A run that changed nothing
 *       costs the arena copy only.
 *   S4  HVLAB_FUZZ_SNAP_CHECK=1: after every restore, fz_world_hash of each
 *       joined world and the arena's bytes are compared with the snapshot;
 *       a difference aborts, naming the world or the first differing
 *       offset.
 *   S5  The world is left as the run made it until the next fz_snap_enter
 *       (or fz_snap_restore), as FUZZ_RESET_REBUILD leaves it.
 *   S6  fz_snap_drop (leaving FUZZ_RESET_SNAP) restores, makes every page
 *       writable again and forgets the snapshot; the worlds stay, their
 *       objects in the arena (freed there when they are destroyed).
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

struct fz_snap_stats {
    uint64_t restores;
    uint64_t restore_ns;            /* total */
    uint64_t pages;                 /* RAM + frame-table pages put back */
    uint64_t arena_bytes;           /* arena bytes copied back */
    uint64_t faults;                /* write faults taken (S2) */
    unsigned last_pages;            /* of the last restore */
    size_t snap_arena_bytes;        /* the arena's used part at snapshot */
    unsigned worlds;                /* joined */
};
void fz_snap_stats(struct fz_snap_stats *st);

#endif /* HVLAB_FUZZ_SNAP_H */
