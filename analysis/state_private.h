/*
 * analysis/state_private.h - the rebuilt state's tables, shared by the
 * files that rebuild it and the invariant checkers (analysis/check_inv.c).
 * Not for other users: they ask state.h.
 *
 *   analysis/state.c           the events, the mutators (R1-R7), queries
 *   analysis/state_untraced.c  S1 / P3: checked words, debts, findings
 *   analysis/state_table.c     P1: the hash tables
 *
 * Rules:
 *   P1  Every table is open hashing on a (k1, k2) key over a pool of
 *       entries allocated in chunks that never move: a pointer to an entry
 *       stays valid for the state's life (pending transitions, P3, keep
 *       pointers to words).  Nothing is allocated per event once a key has
 *       been seen.
 *   P2  A word the trace reports with an old value (count, type, PTE, M2P,
 *       root, grant pin, p2m entry) is a struct sword: its value and
 *       whether the trace ever set it (S2).
 *   P3  Tracepoints fire after the write they describe, so two writers of
 *       one word may be traced in the opposite order (vCPUs are threads;
 *       real traces show one type_change arriving 25 ms and a hundred
 *       events late).  An event whose old value is not the rebuilt one
 *       opens a "debt" (rebuilt -> the event's old value) and is applied:
 *       the state follows the trace.  A later event that starts where a
 *       debt starts is the late writer: it pays the debt (or its first
 *       part) and changes nothing; two inverse debts cancel.  A debt still
 *       open when the trace ends (state_end), or pushed out of the table
 *       (DEBT_CAP, oldest first), is one "rebuild.untraced" (S1).
 *   P4  The hvlab page words (core/mm/page.h) are hvlab's layout, not Xen's
 *       public ABI: analysis/ may not include core/, so the few bits the
 *       rebuild reads are restated below and must follow that file.
 */
#ifndef HVLAB_ANALYSIS_STATE_PRIVATE_H
#define HVLAB_ANALYSIS_STATE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"
#include "analysis/keytab.h"
#include "analysis/state.h"

/* P4: core/mm/page.h */
#define ST_PGT_type_mask     (7ULL << 61)
#define ST_PGT_l1            (1ULL << 61)
#define ST_PGT_l4            (4ULL << 61)
#define ST_PGT_shared        (6ULL << 61)
#define ST_PGT_writable      (7ULL << 61)
#define ST_PGT_pinned        (1ULL << 59)
#define ST_PGT_validated     (1ULL << 58)
#define ST_PGT_partial       (1ULL << 56)
#define ST_PGT_count_mask    ((1ULL << 55) - 1)
#define ST_PGC_count_mask    ((1ULL << 56) - 1)
#define ST_PGC_allocated     (1ULL << 63)
#define ST_PGC_xen_heap      (1ULL << 62)
#define ST_DOMID_XEN         0x7FF0u
#define ST_DOMID_COW         0x7FF3u
#define ST_DOMID_INVALID     0x7FF4u

/* x86 PTE bits (the hardware's, as core/mm/pv_pt.h uses them) */
#define ST_PTE_P             0x1ULL
#define ST_PTE_RW            0x2ULL
#define ST_PTE_AD            0x60ULL      /* set by the MMU, untraced */
#define ST_PTE_MFN(p)        (((p) >> 12) & 0xFFFFFFFFFFULL)
#define ST_PT_ENTRIES        512
#define ST_PTW_PTWR_UNHOOK   4           /* enum pt_write_path */
#define ST_PTW_PTWR_FLUSH    5
#define ST_PTW_PTWR_PROTECT  7

/* P1: the tables are keytab.h's (T1-T4: entries in chunks that never
   move, O(1) index); the state's use of them ends the analysis when memory
   runs out (state_table.c). */
#define ST_CHUNK KT_CHUNK

void ht_init(struct keytab *t, size_t esize);
void ht_fini(struct keytab *t);
void *ht_find(const struct keytab *t, uint64_t k1, uint64_t k2);
void *ht_get(struct keytab *t, uint64_t k1, uint64_t k2, bool *created);
void *ht_entry(const struct keytab *t, uint32_t idx);      /* 0 .. n-1 */
uint32_t ht_index(const struct keytab *t, const void *entry);

/* P2 */
struct sword { uint64_t v; bool known; };

/* A table frame's 512 entries as the trace wrote them. */
struct st_ptes {
    uint64_t v[ST_PT_ENTRIES];
    uint64_t known[ST_PT_ENTRIES / 64];
};

struct st_frame {
    uint64_t mfn;
    uint8_t host;
    bool owner_known;
    bool counted;           /* its L1 entries are in the targets' maps_* */
    bool devalidating;      /* between devalidate_begin and _end */
    bool in_batch;          /* an unhook-mode ptwr batch may store into it */
    uint8_t shadow_flags;
    uint16_t owner;
    struct sword count, type, pfn;
    uint32_t maps_rw, maps_ro, gmaps, gmaps_rw;
    struct st_ptes *pt;     /* NULL until an entry of it is written */
    struct hv_ev *hist;     /* history_len events, a ring */
    uint16_t hhead, hn;
    uint64_t hlast;         /* the state's event number of the last push */
};

struct st_pfn {
    struct sword p2m;       /* packed: st_p2m_pack */
    bool have_mfn;
    bool dirty;
    uint32_t dirty_epoch;
    uint64_t mfn;
    int32_t last_sent_iter;
    uint64_t last_sent_hash;
    int64_t last_sent_ts, last_mark_ts;
};

struct st_dom {
    uint32_t clean_epoch;   /* a CLEAN bumps it: older marks are clear */
    bool logdirty_on;
};

struct st_gmap {            /* one grant mapping (ldom, handle) */
    bool live;
    uint8_t host;
    bool rw;
    uint16_t rdom;
    uint32_t ref;
    uint64_t mfn;
};

static inline uint64_t st_p2m_pack(uint64_t mfn, uint64_t type)
{
    return (mfn & 0xFFFFFFFFFFFFULL) | (type & 0xFF) << 48;
}
static inline uint64_t st_p2m_mfn(uint64_t w)
{
    uint64_t m = w & 0xFFFFFFFFFFFFULL;
    return m == 0xFFFFFFFFFFFFULL ? UINT64_MAX : m;
}

/* ---- the state (analysis/state.c) ----------------------------------------- */

enum wkind { W_COUNT, W_TYPE, W_PTE, W_M2P, W_ROOT, W_PIN, W_P2M };

/* P3: a jump the trace made on a word, waiting for the late event that
   explains it. */
#define DEBT_CAP 4096
#define DEBT_HIST 8
struct debt {
    uint64_t *w;            /* the word (stable, P1) */
    enum wkind k;
    uint64_t from, to;      /* rebuilt value -> the trace's old value */
    struct hv_ev ev;        /* the event that revealed the jump */
    struct hv_ev hist[DEBT_HIST];   /* the frame's history then */
    unsigned nhist;
};

/* Which fields of an event name a frame (R5), per event id. */
#define ST_MAXNAME 6
struct st_names { uint8_t n; enum hv_field_id f[ST_MAXNAME]; };

struct state {
    struct findings *sink;
    unsigned hlen;
    struct keytab frames;    /* (mfn, host) -> st_frame */
    struct keytab pfns;      /* (pfn, host<<16|dom) -> st_pfn */
    struct keytab doms;      /* (dom, host) -> st_dom */
    struct keytab roots;     /* (vcpu<<1|user, host<<16|dom) -> sword */
    struct keytab pins;      /* (ref, host<<16|rdom) -> sword */
    struct keytab gmaps;     /* (handle, host<<16|ldom) -> st_gmap */
    struct st_ptes **ptpool;    /* page-table copies (freed at the end) */
    size_t nptpool, capptpool;
    struct hv_ev **hpool;       /* history rings, ST_CHUNK frames each */
    size_t nhpool, hused;
    struct debt *debt;      /* P3, DEBT_CAP at most */
    unsigned ndebt;
    uint64_t untraced;
    uint64_t evno;          /* events applied, for hist_push's dedup */
    struct st_names names[HVE__COUNT];
};

void *st_xcalloc(size_t n, size_t sz);       /* T3: never NULL */

/* R1 (state.c): set a word, with its side effects (type: the maps counts;
   PTE: the table copy; p2m: the pfn's view). */
void st_apply(struct state *st, enum wkind k, uint64_t *w, uint64_t nv,
              const struct hv_ev *e);
/* S1, S2, P3 (state_untraced.c): check, then set a word. */
void st_wapply(struct state *st, enum wkind k, uint64_t *w, bool known,
               uint64_t old, uint64_t nv, const struct hv_ev *e);

/* Internal lookups for the checkers (check_inv.c). */
const struct st_frame *st_frame_find(const struct state *st, uint8_t host,
                                     uint64_t mfn);
bool st_pt_live(uint64_t type);     /* a validated L1 */

/* The counters beside the tables (maps_*, grant maps) recomputed and
   compared; 0, or -1 with the first disagreement in err.  Slow: tests. */
int st_audit(const struct state *st, char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_STATE_PRIVATE_H */
