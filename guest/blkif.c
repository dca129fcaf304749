/*
 * guest/blkif.c - the blkif shared ring as both ends see it: the layout
 * of <xen/io/ring.h> (struct blkif_sring, union blkif_sring_entry) and
 * its index arithmetic, with every access to the shared page made through
 * a struct blkif_mem (in a kernel: the MMU at the ring's kernel VA).
 *
 * Rules:
 *   B1  The shared page is guest memory: field offsets come from offsetof
 *       on the header's structs, indices are loaded and stored as 32-bit
 *       words, entries are copied whole.  The private counters
 *       (req_prod_pvt / rsp_cons, rsp_prod_pvt / req_cons) are C state.
 *   B2  Producer order (RING_PUSH_*): the entries are written, then a full
 *       barrier, then the producer index; then a full barrier before the
 *       event index is read.  Notify when the event index lies in
 *       (old, new]: (RING_IDX)(new - event) < (RING_IDX)(new - old).
 *   B3  Consumer order: the producer index is read, then a barrier, then
 *       the entries.  RING_FINAL_CHECK_FOR_*: when nothing is left, the
 *       event index is set to cons + 1, a full barrier, and the producer
 *       index is read once more.
 *   B4  (back) A request is copied out of the ring once, then used (no
 *       double fetch); a frontend that produced more requests than the
 *       ring holds (RING_REQUEST_PROD_OVERFLOW) gets -XEN_EOVERFLOW and the
 *       backend stops serving that ring.
 *   B5  A refused access is -XEN_EFAULT and leaves the private counters as
 *       they were.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "core/mmu.h"
#include "guest/private.h"

#define OFF_REQ_PROD    offsetof(struct blkif_sring, req_prod)
#define OFF_REQ_EVENT   offsetof(struct blkif_sring, req_event)
#define OFF_RSP_PROD    offsetof(struct blkif_sring, rsp_prod)
#define OFF_RSP_EVENT   offsetof(struct blkif_sring, rsp_event)
#define OFF_RING        offsetof(struct blkif_sring, ring)
#define ENTRY_SIZE      sizeof(union blkif_sring_entry)

_Static_assert(BLKIF_RING_SIZE == 32, "a 4 KiB blkif ring holds 32 entries");

static uint64_t entry_addr(const struct blkif_mem *m, unsigned nr_ents,
                           RING_IDX i)
{
    return m->base + OFF_RING + (uint64_t)(i & (nr_ents - 1)) * ENTRY_SIZE;
}

static int ld(const struct blkif_mem *m, size_t off, RING_IDX *v)
{
    uint32_t x;
    if (!m->load32(m->ctx, m->base + off, &x))
        return -XEN_EFAULT;
    *v = x;
    return 0;
}

static int st(const struct blkif_mem *m, size_t off, RING_IDX v)
{
    return m->store32(m->ctx, m->base + off, v) ? 0 : -XEN_EFAULT;
}

int blkif_sring_init(const struct blkif_mem *m)
{
    uint8_t zero[OFF_RING];
    memset(zero, 0, sizeof(zero));
    if (!m->write(m->ctx, m->base, zero, sizeof(zero)))
        return -XEN_EFAULT;
    int rc = st(m, OFF_REQ_EVENT, 1);
    if (rc == 0)
        rc = st(m, OFF_RSP_EVENT, 1);
    return rc;
}

/* ---- front end --------------------------------------------------------------- */

void blkif_front_init(struct blkif_front *f, const struct blkif_mem *m)
{
    f->m = *m;
    f->req_prod_pvt = 0;
    f->rsp_cons = 0;
    f->nr_ents = BLKIF_RING_SIZE;
}

unsigned blkif_front_free(const struct blkif_front *f)
{
    return f->nr_ents - (f->req_prod_pvt - f->rsp_cons);
}

int blkif_front_put(struct blkif_front *f, const struct blkif_request *req)
{
    if (blkif_front_free(f) == 0)
        return -XEN_ENOSPC;
    if (!f->m.write(f->m.ctx, entry_addr(&f->m, f->nr_ents, f->req_prod_pvt),
                    req, sizeof(*req)))
        return -XEN_EFAULT;
    f->req_prod_pvt++;
    return 0;
}

/* B2 */
int blkif_front_push(struct blkif_front *f, bool *notify)
{
    RING_IDX old, event, new = f->req_prod_pvt;
    int rc = ld(&f->m, OFF_REQ_PROD, &old);
    if (rc)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = st(&f->m, OFF_REQ_PROD, new)) != 0)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = ld(&f->m, OFF_REQ_EVENT, &event)) != 0)
        return rc;
    *notify = blkif_need_notify(old, new, event);
    return 0;
}

/* B3: 1 with *rsp, 0 when there is none. */
int blkif_front_get(struct blkif_front *f, struct blkif_response *rsp)
{
    RING_IDX prod;
    int rc = ld(&f->m, OFF_RSP_PROD, &prod);
    if (rc)
        return rc;
    if (prod == f->rsp_cons)
        return 0;
    atomic_thread_fence(memory_order_acquire);
    if (!f->m.read(f->m.ctx, entry_addr(&f->m, f->nr_ents, f->rsp_cons), rsp,
                   sizeof(*rsp)))
        return -XEN_EFAULT;
    f->rsp_cons++;
    return 1;
}

int blkif_front_final_check(struct blkif_front *f, bool *more)
{
    RING_IDX prod;
    int rc = ld(&f->m, OFF_RSP_PROD, &prod);
    if (rc)
        return rc;
    if (prod != f->rsp_cons) {
        *more = true;
        return 0;
    }
    if ((rc = st(&f->m, OFF_RSP_EVENT, f->rsp_cons + 1)) != 0)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = ld(&f->m, OFF_RSP_PROD, &prod)) != 0)
        return rc;
    *more = prod != f->rsp_cons;
    return 0;
}

/* ---- back end ---------------------------------------------------------------- */

void blkif_back_init(struct blkif_back *b, const struct blkif_mem *m)
{
    b->m = *m;
    b->rsp_prod_pvt = 0;
    b->req_cons = 0;
    b->nr_ents = BLKIF_RING_SIZE;
}

/* B3, B4: 1 with *req, 0 when there is none. */
int blkif_back_get(struct blkif_back *b, struct blkif_request *req)
{
    RING_IDX prod;
    int rc = ld(&b->m, OFF_REQ_PROD, &prod);
    if (rc)
        return rc;
    if ((RING_IDX)(prod - b->rsp_prod_pvt) > b->nr_ents)
        return -XEN_EOVERFLOW;
    if (prod == b->req_cons)
        return 0;
    /* RING_REQUEST_CONS_OVERFLOW: never consume past a slot whose response
       is not yet produced. */
    if ((RING_IDX)(b->req_cons - b->rsp_prod_pvt) >= b->nr_ents)
        return 0;
    atomic_thread_fence(memory_order_acquire);
    if (!b->m.read(b->m.ctx, entry_addr(&b->m, b->nr_ents, b->req_cons), req,
                   sizeof(*req)))
        return -XEN_EFAULT;
    b->req_cons++;
    return 1;
}

int blkif_back_put(struct blkif_back *b, const struct blkif_response *rsp)
{
    if (!b->m.write(b->m.ctx, entry_addr(&b->m, b->nr_ents, b->rsp_prod_pvt),
                    rsp, sizeof(*rsp)))
        return -XEN_EFAULT;
    b->rsp_prod_pvt++;
    return 0;
}

int blkif_back_push(struct blkif_back *b, bool *notify)
{
    RING_IDX old, event, new = b->rsp_prod_pvt;
    int rc = ld(&b->m, OFF_RSP_PROD, &old);
    if (rc)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = st(&b->m, OFF_RSP_PROD, new)) != 0)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = ld(&b->m, OFF_RSP_EVENT, &event)) != 0)
        return rc;
    *notify = blkif_need_notify(old, new, event);
    return 0;
}

int blkif_back_final_check(struct blkif_back *b, bool *more)
{
    RING_IDX prod;
    int rc = ld(&b->m, OFF_REQ_PROD, &prod);
    if (rc)
        return rc;
    if (prod != b->req_cons) {
        *more = true;
        return 0;
    }
    if ((rc = st(&b->m, OFF_REQ_EVENT, b->req_cons + 1)) != 0)
        return rc;
    atomic_thread_fence(memory_order_seq_cst);
    if ((rc = ld(&b->m, OFF_REQ_PROD, &prod)) != 0)
        return rc;
    *more = prod != b->req_cons;
    return 0;
}

/* ---- through the kernel's MMU -------------------------------------------------- */

static bool k_load32(void *ctx, uint64_t va, uint32_t *v)
{
    uint64_t x;
    if (mmu_load(((struct gcpu *)ctx)->v, va, 4, &x) != MMU_OK)
        return false;
    *v = (uint32_t)x;
    return true;
}

static bool k_store32(void *ctx, uint64_t va, uint32_t v)
{
    return mmu_store(((struct gcpu *)ctx)->v, va, 4, v) == MMU_OK;
}

static bool k_read(void *ctx, uint64_t va, void *buf, size_t len)
{
    return mmu_read(((struct gcpu *)ctx)->v, va, buf, len) == MMU_OK;
}

static bool k_write(void *ctx, uint64_t va, const void *buf, size_t len)
{
    return mmu_write(((struct gcpu *)ctx)->v, va, buf, len) == MMU_OK;
}

void blkif_mem_kernel(struct blkif_mem *m, struct gcpu *c, uint64_t va)
{
    m->ctx = c;
    m->base = va;
    m->load32 = k_load32;
    m->store32 = k_store32;
    m->read = k_read;
    m->write = k_write;
}
