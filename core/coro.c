/*
 * core/coro.c - coroutines on Boost.Context's fcontext (coro.h C1-C4).
 *
 * The fcontext ABI, declared here because Boost ships it only as C++
 * (boost/context/detail/fcontext.hpp; the symbols are extern "C"):
 *   make_fcontext(sp, size, fn): a context that, when first jumped to, runs
 *       fn(transfer) on the stack whose top is sp.
 *   jump_fcontext(to, data): save the caller as a new context, resume `to`;
 *       `to` sees {the caller's saved context, data}.  It returns, in the
 *       caller, when somebody jumps back, with that jumper's context.
 * A saved context is valid for exactly one resume: every resume therefore
 * stores the suspended side's new context into its struct coro.  The data
 * word carries {from, to} so the resumed side knows where to store it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/coro.h"

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;

extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

struct coro_xfer {
    struct coro *from;      /* gets the context saved by this switch */
    struct coro *to;
};

static void coro_start(transfer_t t)
{
    struct coro_xfer *x = t.data;
    struct coro *self = x->to;

    x->from->ctx = t.fctx;
    self->fn(self->arg);
    /* C3: nobody to return to (the context that started us has moved on). */
    fprintf(stderr, "hvlab: coroutine %p returned from its function\n",
            (void *)self);
    abort();
}

int coro_init(struct coro *c, size_t stack_bytes, void (*fn)(void *arg),
              void *arg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (stack_bytes < CORO_STACK_MIN)
        stack_bytes = CORO_STACK_MIN;
    stack_bytes = (stack_bytes + page - 1) & ~(page - 1);
    c->ctx = NULL;
    c->map_bytes = stack_bytes + page;
    c->map = mmap(NULL, c->map_bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                  -1, 0);
    if (c->map == MAP_FAILED) {
        c->map = NULL;
        return -1;
    }
    if (mprotect(c->map, page, PROT_NONE) != 0) {      /* C1: the guard */
        munmap(c->map, c->map_bytes);
        c->map = NULL;
        return -1;
    }
    c->fn = fn;
    c->arg = arg;
    c->ctx = make_fcontext((char *)c->map + c->map_bytes, stack_bytes,
                           coro_start);
    return 0;
}

void coro_destroy(struct coro *c)
{
    if (c->map)
        munmap(c->map, c->map_bytes);
    c->map = NULL;
    c->ctx = NULL;
}

void coro_switch(struct coro *from, struct coro *to)
{
    struct coro_xfer x = { from, to };
    transfer_t t = jump_fcontext(to->ctx, &x);
    /* Resumed: t.data is the x of whoever switched to us. */
    struct coro_xfer *back = t.data;
    back->from->ctx = t.fctx;
}
