/*
 * core/wrec.c - the write record's globals and the per-thread table of
 * pages noted already (core/wrec.h W2, W4).  Built without coverage by
 * the fuzzing builds (fuzz/nocov; core/wrec.h W5).
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrec.h"

#define WREC_PAGE   4096u

#define WREC_SEEN   512

const struct hv_wrec_ops *hv_wrec;

static __thread struct {
    uintptr_t chunk;
    uint64_t gen;
} seen[WREC_SEEN];
uint64_t hv_wrec_epoch_now = 1;         /* never a zeroed entry's (W4) */

void hv_wrec_install(const struct hv_wrec_ops *ops)
{
    hv_wrec = ops;
    hv_wrec_invalidate();
}

void hv_wrec_invalidate(void)
{
    __atomic_add_fetch(&hv_wrec_epoch_now, 1, __ATOMIC_RELAXED);
}

void hv_wrec_note_slow(uintptr_t a, size_t len)
{
    const struct hv_wrec_ops *ops = hv_wrec;
    if (!ops || !len)
        return;
    uintptr_t c = a / WREC_CHUNK;                               /* W4 */
    uint64_t g = hv_wrec_epoch();
    if ((a + len - 1) / WREC_CHUNK != c) {
        ops->note(a, len);
        return;
    }
    unsigned i = (unsigned)(c & (WREC_SEEN - 1));
    if (seen[i].chunk == c && seen[i].gen == g)
        return;                                                 /* W4 */
    ops->note(a, len);
    seen[i].chunk = c;
    seen[i].gen = g;
}

static size_t whole(size_t len)
{
    return (len + WREC_PAGE - 1) & ~(size_t)(WREC_PAGE - 1);
}

void *hv_wrec_calloc(size_t len)                                /* W8 */
{
    size_t n = whole(len ? len : 1);
    void *p = NULL;
    if (n < len || posix_memalign(&p, WREC_PAGE, n) != 0)
        return NULL;
    memset(p, 0, n);
    hv_wrec_keep(p, n);
    return p;
}

void hv_wrec_free(void *p, size_t len)
{
    if (!p)
        return;
    hv_wrec_forget(p, whole(len ? len : 1));
    free(p);
}
