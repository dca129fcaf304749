/*
 * core/wrec.c - the write record's globals and the per-thread table of
 * pages noted already (core/wrec.h W2, W4).  Built without coverage by
 * the fuzzing builds (fuzz/nocov; core/wrec.h W5).
 */
#include "core/wrec.h"

#define WREC_SEEN   256

const struct hv_wrec_ops *hv_wrec;

static __thread struct {
    uintptr_t page;
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
    uintptr_t pg = a >> 12;
    uint64_t g = hv_wrec_epoch();
    if (((a + len - 1) >> 12) != pg) {
        ops->note(a, len);
        return;
    }
    unsigned i = (unsigned)(pg & (WREC_SEEN - 1));
    if (seen[i].page == pg && seen[i].gen == g)
        return;                                                 /* W4 */
    ops->note(a, len);
    seen[i].page = pg;
    seen[i].gen = g;
}
