/*
 * core/tlb.h - one vCPU's TLB: the translations it caches until flushed.
 *
 * Direct-mapped by virtual page number.  An entry records what the walk
 * allowed; a write hits only if the walk already set the PTE's D bit
 * (TLB_W), as on real hardware a write through a clean entry re-walks.
 * The TLB stays stale until INVLPG, a CR3 load or a flush: that staleness
 * is part of the model (stories A and C live in it).
 *
 * Remote flushes are requests: another vCPU sets flush_pending (or queues a
 * VA) and the owner honours it at its next access.  As with a flush IPI, the
 * requester then waits until the owner has passed an instruction boundary:
 * the owner publishes access_seq (odd while an access is in flight, from its
 * TLB lookup to its load/store), and mmu_request_flush() waits while it is
 * odd and unchanged (core/mmu.c, rule 17).
 *
 * The entries take part in the write record (core/wrec.h): they fill whole
 * pages of their own (the vCPU is page-aligned, core/vcpu.c), kept from
 * the vCPU's allocation to its free, and every store to one is noted
 * first (core/mmu.c tlb_w), so a fuzzer's restore copies back the entries
 * a run changed, not the 8 KiB some earlier run wrote.
 */
#ifndef HVLAB_CORE_TLB_H
#define HVLAB_CORE_TLB_H

#include <stdatomic.h>

#include "core/lock.h"
#include "core/types.h"

#define TLB_ENTRIES     256             /* power of two */
#define TLB_INVLPG_Q    8               /* queued remote INVLPGs; overflow
                                           turns into a full flush */

#define TLB_VALID       0x01u
#define TLB_W           0x02u           /* writable and PTE already dirty */
#define TLB_U           0x04u           /* user accessible */
#define TLB_NX          0x08u
#define TLB_G           0x10u           /* global: survives CR3 loads */
#define TLB_RW          0x20u           /* writable per the walk, D maybe
                                           clear: a write re-walks to set D */
#define TLB_SUPER       0x40u           /* part of a 2M/1G page (INVLPG of any
                                           address in it drops it) */

struct tlb_entry {
    uint64_t vpn;                       /* va >> PAGE_SHIFT */
    const uint8_t *host;                /* host address of the frame (a
                                           store goes through ram_w) */
    mfn_t mfn;
    uint32_t flags;                     /* TLB_* */
};

/* Pending-flush request bits (struct tlb.flush_pending). */
#define TLB_REQ_ALL     0x1u            /* flush everything, globals too */
#define TLB_REQ_NONGLOBAL 0x2u          /* flush like a CR3 reload */
#define TLB_REQ_VA      0x4u            /* see invlpg_q */

struct tlb {
    struct tlb_entry e[TLB_ENTRIES];    /* first: page-aligned in a vCPU */
    _Atomic uint32_t flush_pending;     /* TLB_REQ_*, set by other vCPUs */
    /* Odd while the owner is inside an access (TLB lookup or walk + fill +
       the memory operation; never the fault vector), even outside.
       Owner-written, read by requesters (core/mmu.c rule 17). */
    _Atomic uint32_t access_seq;
    /* Hook for the fault injector: while set, remote requests to this vCPU
       are posted but not waited for (the target may still finish an access
       through the old translation: a late flush IPI). */
    bool flush_late;
    /* Requests that found an access in flight and waited for it
       (requester-written, statistics and tests). */
    _Atomic uint64_t ipi_waits;
    hv_lock_t req_lock;                 /* protects invlpg_q/invlpg_n */
    unsigned invlpg_n;
    uint64_t invlpg_q[TLB_INVLPG_Q];
    /* machine tlbflush_clock value taken at this TLB's last full flush: a
       frame freed at clock c may still be cached here iff flush_time <= c
       (owner-written, read by the allocator's filtered flush). */
    _Atomic uint32_t flush_time;
    bool has_super;                     /* some entry has TLB_SUPER */
    uint64_t hits, misses, flushes;     /* statistics, owner-written */
};

#endif /* HVLAB_CORE_TLB_H */
