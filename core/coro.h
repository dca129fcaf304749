/*
 * core/coro.h - coroutines: a stack and a saved context, switched in user
 * space (no system call per switch).
 *
 * The context switch is the fcontext primitive of Boost.Context
 * (libboost-context-dev: make_fcontext/jump_fcontext, a plain C ABI, ~10
 * instructions saving the callee-saved registers, the FPU control words and
 * the stack pointer).  glibc's swapcontext is not used: it makes an
 * rt_sigprocmask system call on every switch (~1 us on the target host).
 *
 * Rules:
 *   C1  A coroutine's stack is its own mapping of stack_bytes (rounded up to
 *       whole pages) plus one PROT_NONE guard page below it: an overflow is a
 *       SIGSEGV at the guard, never a silent write into a neighbour.
 *   C2  coro_switch(from, to) suspends the caller into `from` and resumes
 *       `to` (first resume: fn(arg) starts).  `from` may be a coroutine made
 *       by coro_init or a plain struct coro (zeroed) standing for the thread's
 *       original stack, which then gets its saved context here.
 *   C3  fn must never return: a coroutine ends by switching away for good
 *       (a return aborts with a message).  Its stack stays mapped until
 *       coro_destroy, so a finished coroutine can still be switched away from.
 *   C4  Nothing thread-local is switched here: whoever switches coroutines
 *       switches what belongs to them (core/sched_det.c: `current`, the
 *       held-lock record).
 */
#ifndef HVLAB_CORE_CORO_H
#define HVLAB_CORE_CORO_H

#include <stddef.h>

/* Default stack: as large as a vCPU thread's (core/sched.c). */
#define CORO_STACK_BYTES    (256 * 1024)
/* Smallest accepted: a tracepoint with contexts takes ~2.3 KB, the guest's
   nested #PF handler much more. */
#define CORO_STACK_MIN      (64 * 1024)

struct coro {
    void *ctx;              /* saved context while suspended (C2) */
    void *map;              /* the mapping: guard page, then the stack */
    size_t map_bytes;
    void (*fn)(void *arg);
    void *arg;
};

/*
 * Make c a coroutine that will run fn(arg) on a new stack of at least
 * stack_bytes (C1; < CORO_STACK_MIN is raised to it).  0, or -1 with errno
 * (ENOMEM) and nothing allocated.
 */
int coro_init(struct coro *c, size_t stack_bytes, void (*fn)(void *arg),
              void *arg);
/* Unmap c's stack (c must not be running).  A zeroed c is fine. */
void coro_destroy(struct coro *c);
/* Suspend into from, resume to (C2).  Returns when someone resumes from. */
void coro_switch(struct coro *from, struct coro *to);

#endif /* HVLAB_CORE_CORO_H */
