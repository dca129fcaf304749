/*
 * analysis/state_private.h - the rebuilt state's tables, shared by the
 * files that rebuild it and the invariant checkers (analysis/check_inv.c).
 * Not for other users: they ask state.h.
 *
 *   analysis/state.c           the events, the mutators (R1-R7), queries
 *   analysis/state_untraced.c  S1 / P3: checked words, debts, findings
 *   analysis/state_history.c   S3: each frame's ring of last events
 *   analysis/state_table.c     P1: the hash tables, allocation that
 *                              never fails
 *
 *   state.c calls the three others; they call only state_table.c.
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
 *       public ABI: the bits the rebuild reads are analysis/layout.h's
 *       (checked against core/ by tests/unit/test-trace-layout.c).
 */
#ifndef HVLAB_ANALYSIS_STATE_PRIVATE_H
#define HVLAB_ANALYSIS_STATE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/event.h"
#include "analysis/keytab.h"
#include "analysis/layout.h"
#include "analysis/state.h"


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

void *st_xrealloc(void *p, size_t n, size_t sz); /* T3: never NULL */

/* S1, S2, P3 (state_untraced.c): check an event's change of a word against
   the rebuilt value, open or settle debts; true when the caller must apply
   nv (state.c R1). */
bool st_wcheck(struct state *st, enum wkind k, uint64_t *w, bool known,
               uint64_t old, uint64_t nv, const struct hv_ev *e);
/* S3 (state_history.c): append an event to a frame's ring. */
void st_hist_push(struct state *st, struct st_frame *f, const struct hv_ev *e);

/* Internal lookups for the checkers (check_inv.c). */
const struct st_frame *st_frame_find(const struct state *st, uint8_t host,
                                     uint64_t mfn);
bool st_pt_live(uint64_t type);     /* a validated L1 */

/* The counters beside the tables (maps_*, grant maps) recomputed and
   compared; 0, or -1 with the first disagreement in err.  Slow: tests. */
int st_audit(const struct state *st, char *err, size_t errlen);

#endif /* HVLAB_ANALYSIS_STATE_PRIVATE_H */
