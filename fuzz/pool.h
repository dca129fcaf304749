/*
 * fuzz/pool.h - typed pools: what a pick of the byte format can name.
 *
 * A pick is symbolic (fuzz/prog.h P1): a kind (what the argument is), a
 * domain (relative to the actor: 0 is the actor itself, 1 the next domain
 * of the world, ...), a role (which pool of that domain) and an index, plus
 * a slot or a flag row for some kinds; or a raw word.  fz_resolve() turns
 * it into the number the call passes, against the world as built (the
 * frame numbers of the snapshot, so a pick names the same frame in every
 * run) and the run's own state (grant handles held).
 *
 * Rules:
 *   Q1  Every pool is total: an index is taken modulo the pool's size; an
 *       empty pool resolves to a boundary value (never to host memory).
 *   Q2  Picks of frames name the snapshot's frames by role: the domain's
 *       L4/L3/L2/L1 tables, data frames, the argument buffer, the boot
 *       frames (start_info, p2m list), its grant-table frame, spare
 *       (unpopulated) pfns, and boundary numbers (0, max, max+1, ~0).
 *       The L2 role of a PV domU is its boot L2 and the second L2 the
 *       world hooked at L3 slot 1 (fuzz/world.c W9).
 *   Q3  PTE values are a frame pick and a row of fz_pte_flags[] (valid and
 *       boundary combinations of P/RW/US/PSE/NX/reserved bits).
 *   Q4  Grant refs are those the world's granters gave the actor; grant
 *       handles are those the actor's successful maps returned in this run
 *       (fz_state, reset with the world).
 *   Q5  The one live frame pick: a PV domain's grant-table role with an
 *       odd index names its first v2 status frame as the table holds it
 *       when the call runs (core/grant/peek.h: the table at version 2),
 *       and its shared frame otherwise, as an even index always does.  A
 *       status frame exists only after a set_version 2, so no snapshot
 *       frame can name it (the XSA-255 path: map it, switch back to 1).
 *   Q6  Sharing handles are those XENMEM_sharing_op_nominate_gfn returned
 *       in this run (fz_state), the latest per domain and gfn; a gfn with
 *       none passes handle 0, which no nominate returns.
 */
#ifndef HVLAB_FUZZ_POOL_H
#define HVLAB_FUZZ_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fz_reader;
struct fz_world;

/* Pool bytes from here on mean "a raw 64-bit word follows". */
#define FZ_RAW_BYTE     0xf0

enum fz_kind {
    FZ_K_FRAME,         /* frame number as the actor passes it (PV: mfn,
                           HVM: gfn) */
    FZ_K_PFN,           /* guest pfn (populated by role, or spare) */
    FZ_K_PTE,           /* PTE value: frame + flag row */
    FZ_K_PTR,           /* mmu_update ptr: table frame + slot + cmd */
    FZ_K_VA,            /* virtual address (see enum fz_va_role) */
    FZ_K_GREF,          /* grant ref given to the actor */
    FZ_K_HANDLE,        /* grant handle the actor holds */
    FZ_K_DOMID,         /* a domain id of the world, DOMID_SELF, or junk */
    FZ_K_SMALL,         /* a small number (count, port, type) */
    FZ_K_MMUEXT,        /* an MMUEXT_* command */
    FZ_K_FLAGS,         /* a flag word (uvm flags, grant map flags) */
    FZ_K_NR
};

/* Frame roles (Q2). */
enum fz_role {
    FZ_R_L4, FZ_R_L3, FZ_R_L2, FZ_R_L1, FZ_R_DATA, FZ_R_BUF, FZ_R_BOOT,
    FZ_R_GNT, FZ_R_SPARE, FZ_R_BOUND,
    FZ_R_NR
};
/* VA roles beyond the frame roles (a frame role means: its direct-map VA
   plus slot * 8). */
enum fz_va_role {
    FZ_V_LINEAR = FZ_R_NR,  /* self-map VA through L4 slot idx */
    FZ_V_USER,              /* user VA (nothing mapped there at start) */
    FZ_V_M2P,               /* Xen's read-only M2P window */
    FZ_V_NONCANON,          /* a non-canonical address */
    FZ_V_NR
};

struct fz_pick {
    uint8_t kind;           /* enum fz_kind */
    bool raw;               /* a raw word, in .raw_word */
    uint8_t dom;            /* relative domain */
    uint8_t role;
    uint8_t idx;
    uint8_t flags;          /* PTE: row of fz_pte_flags */
    uint16_t slot;          /* PTR / VA: slot 0..511; PTR: cmd in bits 9-10 */
    uint64_t raw_word;
};

/* Q3: PTE flag rows. */
#define FZ_PTE_ROWS 16
extern const struct fz_pte_row {
    uint64_t bits;
    const char *name;
} fz_pte_flags[FZ_PTE_ROWS];

/* Decode one pick of kind k (total, fuzz/prog.h P1). */
void fz_pick_decode(struct fz_reader *r, uint8_t kind, struct fz_pick *p);

/* Print a pick; actor is the index of the calling domain in the world of
   surface s (for "dom2" instead of "+1"). */
void fz_pick_print(unsigned s, unsigned actor, const struct fz_pick *p,
                   FILE *f);

/* Per-run state the pools read (Q4). */
#define FZ_MAX_HANDLES  32
struct fz_handle {
    uint8_t actor;
    uint32_t handle;
    uint64_t host_addr;
    uint64_t dev_bus_addr;
};
#define FZ_MAX_SHARES   8
struct fz_share {
    uint16_t domid;
    uint64_t gfn;
    uint64_t handle;            /* what XENMEM_sharing_op_nominate_gfn gave */
};
struct fz_state {
    unsigned nhandles;
    struct fz_handle handle[FZ_MAX_HANDLES];
    /* Q6: sharing handles of this run, the latest per gfn (fuzz/call.c
       CA10); a share op passes the ones its gfn picks name. */
    unsigned nshares;
    struct fz_share share[FZ_MAX_SHARES];
    /* fuzz/call.c CA9: foreign maps installed from a stale lookup (the
       race surfaces' oracle reports the first, fuzz/race.c RC9). */
    uint64_t stale_maps;
    char stale_text[256];
};

/* Resolve p for the call of domain index actor.  aux (may be NULL) gets a
   second value: FZ_K_GREF the granter's domid, FZ_K_HANDLE the host_addr
   of the mapping, FZ_K_PTR/FZ_K_VA/FZ_K_FRAME the level of a table role
   (1-4, else 0). */
uint64_t fz_resolve(const struct fz_world *w, const struct fz_state *st,
                    unsigned actor, const struct fz_pick *p, uint64_t *aux);

/* Handles: remember a successful map, forget an unmap. */
void fz_state_add_handle(struct fz_state *st, unsigned actor, uint32_t h,
                         uint64_t host_addr, uint64_t bus);
void fz_state_drop_handle(struct fz_state *st, unsigned actor, uint32_t h);

#endif /* HVLAB_FUZZ_POOL_H */
