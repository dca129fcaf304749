/*
 * trace/usdt.h - USDT probes (provider "hvlab") for live observation with
 * BPF: `hvlab top` (docs/top.md) attaches to them in a running process.
 *
 *   HV_USDT(hcall_exit, host, d->domid, v->vcpu_id, op, rc, ns);
 *
 * LTTng (trace/trace.h) records everything for later; these probes let a
 * BPF program count and time a process that was started without tracing.
 * Rules:
 *   U1  Every probe is one row of HV_USDT_PROBES below and one row of the
 *       table in docs/top.md (its arguments, in order).  A probe is named
 *       there and nowhere else; HV_USDT(name, ...) of an unlisted name does
 *       not compile (its semaphore does not exist).
 *   U2  Each probe has a USDT semaphore (hvlab_NAME_semaphore, in the
 *       .probes section): the kernel raises it while a uprobe is attached
 *       to the site, so `hvlab top` enables exactly what it attaches.
 *       HV_USDT() tests the semaphore first: an unattached site costs a
 *       load and a predicted branch, and its arguments are not evaluated
 *       (bench/bench-usdt.c measures it).  Arguments that cost something to
 *       compute (a clock read) are computed only under HV_USDT_ENABLED().
 *   U3  The probe instruction is a 5-byte nop (`.nops 5`), which the kernel
 *       can hit through its optimized uprobe path; the stock 1-byte nop
 *       costs a trap and a single-step (shared/TOOLCHAIN.md).
 *   U4  Arguments are 64-bit integers passed in registers or as constants
 *       (STAP_SDT_ARG_CONSTRAINT nr): the argument specs stay in the forms
 *       libbpf's USDT support reads ("8@%rax", "-8@$5").
 *   U5  Probes sit at coarse sites only (a hypercall, a fault's entry and
 *       its decision, a contended lock, a migration round, a grant map, an
 *       injection firing); lock_acquired / lock_released are per lock operation and
 *       are attached only on request (`hvlab top --locks`).  Never on a
 *       per-access path.
 *   U6  Built with -DHVLAB_NO_TRACE (the notrace library the fuzz harnesses
 *       and the *-notrace benches link) every probe compiles to nothing:
 *       no note, no semaphore, no nop; the arguments stay referenced in
 *       dead code, as TRC() does.
 *   U7  Times are CLOCK_MONOTONIC nanoseconds (hv_usdt_now_ns), the clock
 *       bpf_ktime_get_ns() reads, so the hypervisor's and the BPF program's
 *       timestamps can be subtracted.
 *   U8  Every probe about a domain carries the machine's host_id first
 *       (as TRC does): two hosts of one process (a migration) have
 *       domains with the same id, and a reader keys on (host, dom).
 *       At most 8 arguments (HV_USDT_1 .. HV_USDT_8).
 */
#ifndef HVLAB_TRACE_USDT_H
#define HVLAB_TRACE_USDT_H

#include <stdint.h>
#include <time.h>

/* U1: every probe, in docs/top.md's order. */
#define HV_USDT_PROBES(X) \
    X(hcall_entry)      /* host, dom, vcpu, op */                        \
    X(hcall_exit)       /* host, dom, vcpu, op, rc, ns (or UNTIMED) */   \
    X(fault_entry)      /* host, dom, vcpu, va, error code, nested, gpa */ \
    X(fault)            /* host, dom, vcpu, va, outcome (hv_fault_outcome) */ \
    X(lock_contended)   /* class (lock level), wait ns, lock address */  \
    X(lock_acquired)    /* class, wait ns, lock address */               \
    X(lock_released)    /* class, lock address */                        \
    X(mig_round_begin)  /* host, dom, iter, kind, pages to send */       \
    X(mig_round)        /* host, dom, iter, kind (mig_round_kind), sent,  \
                           dirtied, ns, clean_ns */                      \
    X(grant_map)        /* host, dom, ref, flags, rc (GNTST_*) */        \
    X(grant_unmap)      /* host, dom, ref, flags, rc (GNTST_*) */        \
    X(inject_fire)      /* point id, action (enum inj_action) */

/* hcall_exit's ns for a call that was already running when the probe was
   enabled (nothing measured it): not a time.  TOP_NS_UNTIMED in
   trace/bpf/hvlab_top.h is the same value (tests/unit/test-top.c). */
#define HV_USDT_UNTIMED UINT64_MAX

/* U7 */
static inline uint64_t hv_usdt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#ifdef HVLAB_NO_TRACE
/* U6 */
static inline void hv_usdt_compiled_out(int unused, ...)
{
    (void)unused;
}
#define HV_USDT(name, ...) \
    do { if (0) hv_usdt_compiled_out(0, __VA_ARGS__); } while (0)
#define HV_USDT_ENABLED(name)   0

#else /* !HVLAB_NO_TRACE */

#if defined(_SYS_SDT_H) && !defined(_SDT_HAS_SEMAPHORES)
#error "trace/usdt.h must be included before any other <sys/sdt.h> (U2)"
#endif
#define _SDT_HAS_SEMAPHORES 1
#define STAP_SDT_ARG_CONSTRAINT nr          /* U4 */
#include <sys/sdt.h>
#undef _SDT_NOP
#define _SDT_NOP .nops 5                    /* U3 */

/* U2: one semaphore per probe.  Weak, so every object that includes this
   header may define it and the link keeps one; libbpf finds it through the
   probe's note and the kernel counts attached uprobes in it. */
#define HV_USDT_SEMAPHORE(name) \
    __attribute__((weak, section(".probes"))) \
    volatile unsigned short hvlab_##name##_semaphore;
HV_USDT_PROBES(HV_USDT_SEMAPHORE)
#undef HV_USDT_SEMAPHORE

#define HV_USDT_ENABLED(name) \
    __builtin_expect(hvlab_##name##_semaphore != 0, 0)

/* (uint64_t) casts: U4, and one spec size for every argument. */
#define HV_USDT_A(x)   ((uint64_t)(x))
#define HV_USDT_N(...) HV_USDT_N_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define HV_USDT_N_(a1, a2, a3, a4, a5, a6, a7, a8, n, ...) n
#define HV_USDT_CAT(a, b)  HV_USDT_CAT_(a, b)
#define HV_USDT_CAT_(a, b) a##b
#define HV_USDT_1(n, a)                 STAP_PROBE1(hvlab, n, HV_USDT_A(a))
#define HV_USDT_2(n, a, b)              STAP_PROBE2(hvlab, n, HV_USDT_A(a), \
                                                    HV_USDT_A(b))
#define HV_USDT_3(n, a, b, c)           STAP_PROBE3(hvlab, n, HV_USDT_A(a), \
                                            HV_USDT_A(b), HV_USDT_A(c))
#define HV_USDT_4(n, a, b, c, d)        STAP_PROBE4(hvlab, n, HV_USDT_A(a), \
                                            HV_USDT_A(b), HV_USDT_A(c), \
                                            HV_USDT_A(d))
#define HV_USDT_5(n, a, b, c, d, e)     STAP_PROBE5(hvlab, n, HV_USDT_A(a), \
                                            HV_USDT_A(b), HV_USDT_A(c), \
                                            HV_USDT_A(d), HV_USDT_A(e))
#define HV_USDT_6(n, a, b, c, d, e, f)  STAP_PROBE6(hvlab, n, HV_USDT_A(a), \
                                            HV_USDT_A(b), HV_USDT_A(c), \
                                            HV_USDT_A(d), HV_USDT_A(e), \
                                            HV_USDT_A(f))
#define HV_USDT_7(n, a, b, c, d, e, f, g) \
    STAP_PROBE7(hvlab, n, HV_USDT_A(a), HV_USDT_A(b), HV_USDT_A(c), \
                HV_USDT_A(d), HV_USDT_A(e), HV_USDT_A(f), HV_USDT_A(g))
#define HV_USDT_8(n, a, b, c, d, e, f, g, h) \
    STAP_PROBE8(hvlab, n, HV_USDT_A(a), HV_USDT_A(b), HV_USDT_A(c), \
                HV_USDT_A(d), HV_USDT_A(e), HV_USDT_A(f), HV_USDT_A(g), \
                HV_USDT_A(h))

#define HV_USDT(name, ...) do { \
        if (HV_USDT_ENABLED(name)) \
            HV_USDT_CAT(HV_USDT_, HV_USDT_N(__VA_ARGS__))(name, __VA_ARGS__); \
    } while (0)

#endif /* HVLAB_NO_TRACE */

#endif /* HVLAB_TRACE_USDT_H */
