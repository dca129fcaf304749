/*
 * fuzz/encode.h - the inverse of the decoder (fuzz/prog.h): programs ->
 * bytes, and recorded hypercalls -> programs (the seed corpora of
 * fuzz/main/gen-seeds.c, docs/fuzz.md "Seeds").
 *
 * Two layers:
 *   - fz_encode_call / fz_encode_prog write the canonical bytes of a
 *     symbolic program: the selector is the op's first place in the
 *     surface's list, the actor byte actor + domains * vCPU, a pick its
 *     pool byte dom + 4 * role and index (and flag row / slot), a raw pick
 *     FZ_RAW_BYTE and its word.
 *   - fz_record turns one hypercall of a running machine (a shipped
 *     scenario's guest), with its argument structs read from guest memory
 *     by copy_from_guest as the handlers read them, into calls of the
 *     surface: every concrete value becomes a pick of the same kind, named
 *     by what the value is in the recording machine at that moment.
 *
 * Rules:
 *   C1  Round trip: for every decoded program p of a surface,
 *       fz_decode(fz_encode_prog(p)) == p, field by field (the decoder's
 *       picks are canonical: dom < 4, role < the kind's roles, flag row <
 *       FZ_PTE_ROWS; the encoder writes exactly them back).
 *   C2  Domains map by order: the privileged domain (domid 0) is world
 *       domain 0, domU domid k is world domain k; a call of a domain the
 *       world does not have is not recorded.  A domid argument becomes the
 *       relative DOMID pick of that domain, DOMID_SELF the pick 3.
 *   C3  Frames (PV: mfns, HVM: gfns) are classified by their page_info at
 *       the call: a frame typed L1..L4 is the table pick of that level of
 *       its owner's world domain, another owned frame a data pick, the
 *       index its pfn mod 256 (indexes are modulo the pool, fuzz/pool.h
 *       Q1); a v2 status frame is its owner's gnttab pick with index 1
 *       (fuzz/pool.h Q5).  A PTE is its frame's pick and the first flag
 *       row equal to its flags up to A/D; a zero PTE the not-present row
 *       of frame 0.  An
 *       mmu_update ptr is a table/data pick with its slot and command.
 *       VAs: the direct map (a data pick + slot), user, M2P and
 *       non-canonical pages.  Grant refs and handles are pool picks whose
 *       index is the value mod 256.  Anything else is a raw word (exact).
 *   C4  Only ops the surface lists are recorded; a batch is cut into calls
 *       of at most the op's batch limit.  Recording never changes the
 *       recording machine beyond what the handler's own reads do.
 */
#ifndef HVLAB_FUZZ_ENCODE_H
#define HVLAB_FUZZ_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"
#include "fuzz/prog.h"

struct vcpu;

/* The bytes of one call of surface s into out (at most cap); the number
   written, or 0 if it does not fit or the surface does not list the op. */
size_t fz_encode_call(enum fuzz_surface s, const struct fz_call *c,
                      uint8_t *out, size_t cap);
/* C1: all of p's calls; the number of bytes, or 0 if they do not fit. */
size_t fz_encode_prog(const struct fz_prog *p, uint8_t *out, size_t cap);

/* C3: the pick of kind `kind` for the concrete value val as the call of
   vCPU v (the actor, of world domain `actor`) passes it. */
void fz_encode_value(enum fuzz_surface s, const struct vcpu *v,
                     unsigned actor, uint8_t kind, uint64_t val,
                     struct fz_pick *p);

/* C2: the world domain of domid id on surface s, or -1. */
int fz_encode_domain(enum fuzz_surface s, unsigned id);

/* C4: record hypercall op (Xen's __HYPERVISOR_* number, args a1..a5) of
   vCPU v, at its entry, as at most max calls of surface s in out.
   Returns the number of calls (0: not an op of s, or unreadable). */
unsigned fz_record(enum fuzz_surface s, struct vcpu *v, unsigned op,
                   const uint64_t args[5], struct fz_call *out,
                   unsigned max);

#endif /* HVLAB_FUZZ_ENCODE_H */
