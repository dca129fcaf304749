/*
 * fuzz/prog.h - the fuzzer's byte format: input bytes -> a program.
 *
 * A program is at most FUZZ_MAX_CALLS calls.  Each call is
 *
 *     selector byte   the op: index into the surface's op list, modulo
 *     actor byte      which domain of the world (modulo) and which vCPU
 *     head picks      the op's once-per-call arguments (e.g. foreigndom)
 *     [count byte]    batched ops only: 1 + byte % the op's batch limit
 *     arguments       per item, per argument of the op's row, one pick
 *
 * A pick (fuzz/pool.h) is a pool byte and an index (plus a slot or flag
 * byte for some kinds), or, for pool bytes >= FZ_RAW_BYTE, a raw word, so
 * most picks name something that makes sense to the state and a few are
 * arbitrary.  Picks are symbolic: they are resolved against the world only
 * when the call runs (fuzz/pool.c), so decoding needs no world and the
 * printed program reads the same before and after a run.
 *
 * Rules:
 *   P1  Decoding is total (F1): the reader yields 0 past the end, never
 *       reads past len, and any bytes decode to a program; decoding stops
 *       at FUZZ_MAX_CALLS calls or when no byte is left at a call's start.
 *   P2  The op tables are tables: one row per op with its name, the actors
 *       it accepts, its batch limit and its argument kinds; the decoder and
 *       the printer are driven by the row alone.
 *   P3  The actor of a privileged op (domctl / shadow_op) is always dom0;
 *       the actor byte then only chooses the vCPU.
 */
#ifndef HVLAB_FUZZ_PROG_H
#define HVLAB_FUZZ_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz/fuzz.h"
#include "fuzz/pool.h"
#include "fuzz/race_input.h"

#define FUZZ_MAX_CALLS  64
#define FZ_MAX_ITEMS    4       /* items of a batched call */
#define FZ_MAX_ARGS     4       /* picks per item */
#define FZ_MAX_HEAD     2       /* picks once per call */

/* The byte reader of P1. */
struct fz_reader {
    const uint8_t *p;
    size_t len, pos;
};

static inline void fz_reader_init(struct fz_reader *r, const uint8_t *p,
                                  size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
}
static inline bool fz_left(const struct fz_reader *r)
{
    return r->pos < r->len;
}
uint8_t fz_u8(struct fz_reader *r);
uint16_t fz_u16(struct fz_reader *r);
uint32_t fz_u32(struct fz_reader *r);
uint64_t fz_u64(struct fz_reader *r);

/* Ops of every surface (one enum; each surface lists the ones it uses). */
enum fz_opid {
    FZ_OP_MMU_UPDATE,
    FZ_OP_MMUEXT,
    FZ_OP_UPDATE_VA,
    FZ_OP_UPDATE_VA_OTHER,
    FZ_OP_MEM_DECREASE,
    FZ_OP_MEM_POPULATE,
    FZ_OP_VM_ASSIST,
    FZ_OP_LOAD,
    FZ_OP_STORE,
    FZ_OP_GNT_MAP,
    FZ_OP_GNT_UNMAP,
    FZ_OP_GNT_COPY,
    FZ_OP_GNT_QUERY,
    FZ_OP_GNT_SETUP,
    FZ_OP_GNT_VERSION,
    FZ_OP_GNT_ENTRY,
    FZ_OP_EVT_UNBOUND,
    FZ_OP_EVT_BIND,
    FZ_OP_EVT_SEND,
    FZ_OP_EVT_CLOSE,
    FZ_OP_HVM_CR3,
    FZ_OP_HVM_INVLPG,
    FZ_OP_HVM_FLUSH,
    FZ_OP_SHADOW_OP,
    FZ_OP_PFINFO,
    FZ_OP_FOREIGN_MAP,
    FZ_OP_PAGING,
    FZ_OP_SHARING,
    FZ_OP_GNT_REPLACE,
    FZ_OP_GNT_STATUS,
    FZ_OP_GNT_GETVER,
    FZ_OP_NR
};

/* Which actors an op accepts (P3). */
enum fz_actor_kind {
    FZ_ACT_ANY,         /* any domain of the world */
    FZ_ACT_DOM0,        /* the privileged domain only */
};

/* P2: one row per op. */
struct fz_opdesc {
    const char *name;
    uint8_t actor;                  /* enum fz_actor_kind */
    uint8_t nhead;                  /* picks once per call */
    struct {
        uint8_t kind;
        const char *label;
    } head[FZ_MAX_HEAD];
    uint8_t max_items;              /* 1: not batched */
    uint8_t nargs;                  /* picks per item */
    struct {
        uint8_t kind;               /* enum fz_kind */
        const char *label;
    } arg[FZ_MAX_ARGS];
};
extern const struct fz_opdesc fz_ops[FZ_OP_NR];

/* The op list of a surface; *n gets its length (0 for FUZZ_RESTORE). */
const uint8_t *fz_surface_ops(enum fuzz_surface s, unsigned *n);

struct fz_call {
    uint8_t op;                     /* enum fz_opid */
    uint8_t actor;                  /* index into the world's domains */
    uint8_t vcpu;                   /* modulo the actor's vCPUs */
    uint8_t nitems;
    struct fz_pick head[FZ_MAX_HEAD];
    struct fz_pick pick[FZ_MAX_ITEMS][FZ_MAX_ARGS];
};

struct fz_prog {
    enum fuzz_surface surface;
    unsigned ncalls;
    struct fz_call call[FUZZ_MAX_CALLS];
};

/* P1: decode data into *p (never fails). */
void fz_decode(enum fuzz_surface s, const uint8_t *data, size_t len,
               struct fz_prog *p);

/* A race surface's input split (fuzz/race_input.h). */
/* Is s a race surface (fuzz/race.h), and the surface whose op list its
   programs use (FUZZ_MM for FUZZ_RACE, itself for FUZZ_HVMRACE). */
bool fz_is_race_surface(enum fuzz_surface s);
enum fuzz_surface fz_race_prog_surface(enum fuzz_surface s);

/* The byte range [start[i], end[i]) each decoded call i was read from,
   for minimizers (`hvlab repro --minimize`): P1's decoding, offsets only.
   end is clamped to len (the reader's zeros past the end are no bytes).
   FUZZ_RACE, FUZZ_HVMRACE: the calls after the schedule prefix (fuzz/race.h
   RC1, RC8).
   Returns the number of calls (at most max; at most FUZZ_MAX_CALLS). */
unsigned fz_call_spans(enum fuzz_surface s, const uint8_t *data, size_t len,
                       size_t *start, size_t *end, unsigned max);

/* The same for bytes that are a program of s's op list with no prefix,
   whatever s is (a race surface's program after its prefix). */
unsigned fz_program_spans(enum fuzz_surface s, const uint8_t *data,
                          size_t len, size_t *start, size_t *end, unsigned max);

/* One line per call: "dom1.v0 mmu_update [{ptr=..., val=...}]". */
void fz_print_call(enum fuzz_surface s, const struct fz_call *c, FILE *f);
void fz_print_prog(const struct fz_prog *p, FILE *f);

#endif /* HVLAB_FUZZ_PROG_H */
