/*
 * analysis/state_history.c - S3 (state.h): each frame's last events, in a
 * ring per frame, and the query that returns them oldest first.
 *
 * Rules:
 *   H1  A frame gets its ring at the first event naming it, from a pool
 *       block of ST_CHUNK rings; a ring never moves (a finding's history
 *       points into it), and the blocks are freed with the state.
 *   H2  One event naming a frame in two fields (an entry mapping its own
 *       table) is kept once: the ring remembers the number of the last
 *       event it took (state.evno).
 *   H3  A kept event's string field is dropped: it points into the
 *       decoder's buffer, which the next event reuses.
 */
#include <stdint.h>

#include "analysis/state.h"
#include "analysis/state_private.h"

void st_hist_push(struct state *st, struct st_frame *f, const struct hv_ev *e)
{
    if (!f->hist) {
        size_t per = ST_CHUNK;
        if (st->hused == 0 || st->hused == per) {
            st->hpool = st_xrealloc(st->hpool, st->nhpool + 1,
                                    sizeof(*st->hpool));
            st->hpool[st->nhpool++] = st_xcalloc(per * st->hlen, sizeof(struct hv_ev));
            st->hused = 0;
        }
        f->hist = st->hpool[st->nhpool - 1] + st->hused++ * st->hlen;
    }
    /* the same event twice (an entry naming one frame in two fields) */
    if (f->hn && f->hlast == st->evno)
        return;
    f->hlast = st->evno;
    unsigned at = (f->hhead + f->hn) % st->hlen;
    f->hist[at] = *e;
    f->hist[at].str = NULL;
    if (f->hn < st->hlen)
        f->hn++;
    else
        f->hhead = (uint16_t)((f->hhead + 1) % st->hlen);
}

unsigned state_history(const struct state *st, uint8_t host, uint64_t mfn,
                       const struct hv_ev **out, unsigned max)
{
    const struct st_frame *f = ht_find(&st->frames, mfn, host);
    if (!f || !f->hist)
        return 0;
    unsigned n = f->hn < max ? f->hn : max;
    unsigned skip = f->hn - n;
    for (unsigned i = 0; i < n; i++)
        out[i] = &f->hist[(f->hhead + skip + i) % st->hlen];
    return n;
}

