/*
 * fuzz/call.h - issuing one call of a program (fuzz/call.c CA1-CA10): the
 * sequential surfaces (fuzz/exec.c) and the race surface (fuzz/race.c)
 * share it, so a call means the same thing on every surface.
 */
#ifndef HVLAB_FUZZ_CALL_H
#define HVLAB_FUZZ_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/fuzz.h"

struct fz_call;
struct fz_state;
struct fz_world;
struct vcpu;

/* Who issues a call, and where its arguments go. */
struct fz_call_ctx {
    struct fz_world *w;
    struct fz_state *st;        /* the run's pool state (fuzz/pool.h) */
    unsigned actor;             /* world index of the issuing domain */
    struct vcpu *v;             /* the vCPU it runs on (`current`) */
    uint64_t buf;               /* VA of its argument buffer */
};

/* CA9: the foreign-mapping slots of the privileged domain's first L1
   (empty: past its RAM in the direct map), FZ_FMAP_PER_VCPU for each of
   its first FZ_FMAP_VCPUS vCPUs. */
#define FZ_FMAP_FIRST       256
#define FZ_FMAP_PER_VCPU    8
#define FZ_FMAP_VCPUS       2

/* CA9: check every writable foreign map mmu_update installs, noting the
   first stale one in *st (stale_maps, stale_text); NULL stops. */
void fz_foreign_watch(struct fz_state *st);

/* Run k on c->v (the caller sets `current`); the hypercall's or access's
   result, which the fuzzer ignores. */
long fz_run_call(struct fz_call_ctx *c, const struct fz_call *k);
/* Run k as its actor issues it (fuzz/exec.c E2): c's actor, vCPU and
   buffer become k's, the vCPU is `current` for the call (NULL after).
   c->w and c->st are the caller's. */
long fz_run_as_actor(struct fz_call_ctx *c, const struct fz_call *k);

/* The name of an API-contract breach of the grant ops (call.c CA7):
   FZ_CONTRACT_GRANT " not a GNTST code" or FZ_CONTRACT_GRANT " not Xen's". */
#define FZ_CONTRACT_GRANT   "contract: grant status"

/* E3 on w's machine: 0, or 1 with res->invariant and res->report filled;
   a contract breach of the call just run (call.c CA7) is reported after
   the audit and the isolation checks. */
int fz_oracle(struct fz_world *w, struct fuzz_result *res);

/* The invariant's name in an audit report: its first line, up to the
   first ':' after "invariant" (or the whole line). */
void fz_invariant_name(const char *report, char *name, size_t len);

#endif /* HVLAB_FUZZ_CALL_H */
