/*
 * fuzz/snap_alloc.h - the arena the hypervisor's heap lives in under the
 * snapshot reset (fuzz/snap.h, FUZZ_RESET_SNAP of fuzz/fuzz.h).
 *
 * The fuzzing harnesses (not the ASan builds) link with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,
 * --wrap=posix_memalign,--wrap=aligned_alloc (Makefile fz_snap_wrap), so
 * every allocation call of core/, guest/, toolstack/ and fuzz/ comes here.
 *
 * Rules:
 *   SA1  One reserved mapping (FZ_ARENA_BYTES, MAP_NORESERVE) at a fixed
 *        address for the life of the process.  An allocation is taken
 *        from it only while the calling thread is "in the hypervisor"
 *        (fz_arena_enter .. fz_arena_leave: the world's build and the run
 *        of a program); every other call - the fuzzer runtimes', other
 *        threads', libc's - goes to the real allocator.
 *   SA2  free and realloc decide by address: an arena pointer goes back to
 *        the arena whoever frees it, any other pointer to the real
 *        allocator.
 *   SA3  Power-of-two size classes with one free list each, and a bump
 *        pointer; every byte of metadata (the lists' heads, the bump
 *        offset, the 16-byte header before each block) is inside the
 *        mapping, so copying back [base, base + used) restores the
 *        allocator's state with the objects.
 *   SA4  Without the wraps in the link (plain and ASan builds) the arena
 *        is never used: fz_arena_wrapped() is false.
 */
#ifndef HVLAB_FUZZ_SNAP_ALLOC_H
#define HVLAB_FUZZ_SNAP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_ARENA_BYTES  (1ULL << 30)

/* SA4: the link wraps the allocation functions. */
bool fz_arena_wrapped(void);
/* Reserve the mapping (once).  0, or -1 (no wraps, or mmap failed). */
int fz_arena_init(void);
/* SA1: the calling thread enters / leaves the hypervisor.  Nesting
   counts. */
void fz_arena_enter(void);
void fz_arena_leave(void);
bool fz_arena_inside(void);

/* The mapping and its used part [base, base + used). */
uint8_t *fz_arena_base(void);
size_t fz_arena_used(void);
bool fz_arena_owns(const void *p);

#endif /* HVLAB_FUZZ_SNAP_ALLOC_H */
