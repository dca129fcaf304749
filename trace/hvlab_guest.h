/*
 * trace/hvlab_guest.h - provider hvlab_guest: what guest kernels see and decide.
 *
 * Every event carries host (machine id), dom and, where a vCPU acts, vcpu.
 * pids are the guest kernel's process ids; pfns are guest pseudo-physical,
 * mfns machine frames (the kernel's view through its p2m list).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_guest

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_guest.h"

#if !defined(HVLAB_TRACE_HVLAB_GUEST_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_GUEST_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* guest kernel #PF handler: a fault was delivered; spurious = its PTE is present. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, pf_delivered,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, va, uint32_t, pfec, uint8_t, spurious),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, va, va)
        lttng_ust_field_integer_hex(uint32_t, pfec, pfec)
        lttng_ust_field_integer(uint8_t, spurious, spurious)
    )
)

/* guest/process.c proc_fork(): parent forked child; child_l4 is its new root. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, proc_fork,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, parent, uint32_t, child, uint64_t, child_l4,
                      uint32_t, pages_shared),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, parent, parent)
        lttng_ust_field_integer(uint32_t, child, child)
        lttng_ust_field_integer(uint64_t, child_l4, child_l4)
        lttng_ust_field_integer(uint32_t, pages_shared, pages_shared)
    )
)

/* guest/process.c proc_teardown(): a process's address space is gone
   (killed = 1 when it was killed rather than exited). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, proc_exit,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, pid, uint64_t, l4, uint32_t, tables_freed,
                      uint32_t, pages_freed, uint8_t, killed),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint64_t, l4, l4)
        lttng_ust_field_integer(uint32_t, tables_freed, tables_freed)
        lttng_ust_field_integer(uint32_t, pages_freed, pages_freed)
        lttng_ust_field_integer(uint8_t, killed, killed)
    )
)

/* guest/process.c proc_kill(): the kernel kills a process; why is
   enum kill_why of guest/private.h (1 no VMA, 2 access refused by the VMA,
   3 spurious fault with spurious_check off, 4 out of memory, 5 kernel oops,
   6 page-table hypercall failed); va is the faulting address or 0. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, proc_killed,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, pid, uint8_t, why, uint64_t, va),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint8_t, why, why)
        lttng_ust_field_integer_hex(uint64_t, va, va)
    )
)

/* guest/pv_kernel.c pv_table_seal(): a frame becomes a page table of
   pid at level (1..4), made read-only in the direct map (PV kernels only). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, pt_alloc,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, pid,
                      uint8_t, level, uint64_t, pfn, uint64_t, mfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint8_t, level, level)
        lttng_ust_field_integer(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
    )
)

/* guest/pv_kernel.c pv_table_release(): a page table of pid, unhooked or
   unpinned, is writable again and goes back to the pfn allocator (PV
   kernels only). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, pt_free,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, pid,
                      uint8_t, level, uint64_t, pfn, uint64_t, mfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint8_t, level, level)
        lttng_ust_field_integer(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
    )
)

/* guest/pt_reuse.c ql_put(): an L1 of pid, unhooked with its entries
   still in it (Xen devalidated it: type bits L1, count 0), stays read-only
   on the kernel's quicklist (story D); `kept` L1s are on it now. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, ql_release,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, pid,
                      uint64_t, pfn, uint64_t, mfn, uint32_t, kept),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint32_t, kept, kept)
    )
)

/* guest/pt_reuse.c pt_quicklist_take(): a quicklist L1 becomes a new L1
   of pid, every entry rewritten by MMU_NORMAL_PT_UPDATE before its hook. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, ql_reuse,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, pid,
                      uint64_t, pfn, uint64_t, mfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
    )
)

/* guest/pt_reuse.c balloon_out() / balloon_in(): pfn's frame mfn went
   back to Xen (in 0: XENMEM_decrease_reservation) or pfn got frame mfn
   from XENMEM_populate_physmap (in 1). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, balloon,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, in,
                      uint64_t, pfn, uint64_t, mfn),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, in, in)
        lttng_ust_field_integer(uint64_t, pfn, pfn)
        lttng_ust_field_integer(uint64_t, mfn, mfn)
    )
)

/* guest/workload.c verify_page(): memory did not read back what was
   written (first differing word of the page). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, verify_failed,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, pid, uint64_t, va, uint64_t, expected,
                      uint64_t, found),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, pid, pid)
        lttng_ust_field_integer_hex(uint64_t, va, va)
        lttng_ust_field_integer_hex(uint64_t, expected, expected)
        lttng_ust_field_integer_hex(uint64_t, found, found)
    )
)

/* guest/pv_hcall.c hc_check(): a hypercall the kernel expected to succeed
   failed (op is Xen's __HYPERVISOR_* number, rc the negative errno). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, hcall_failed,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint32_t, op, int64_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint32_t, op, op)
        lttng_ust_field_integer(int64_t, rc, rc)
    )
)

/* guest/blkfront.c fe_submit(): a blkif request was put on the ring (id is
   the frontend's request id, op BLKIF_OP_*, frame the mfn of its first
   data page). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, blk_submit,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, id, uint8_t, op,
                      uint64_t, sector, uint8_t, nr_segments, uint64_t, frame),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint64_t, id, id)
        lttng_ust_field_integer(uint8_t, op, op)
        lttng_ust_field_integer(uint64_t, sector, sector)
        lttng_ust_field_integer(uint8_t, nr_segments, nr_segments)
        lttng_ust_field_integer_hex(uint64_t, frame, frame)
    )
)

/* guest/blkfront.c fe_complete(): the response of request id arrived
   (status BLKIF_RSP_*). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, blk_complete,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, id, uint8_t, op,
                      int16_t, status, uint64_t, sector),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint64_t, id, id)
        lttng_ust_field_integer(uint8_t, op, op)
        lttng_ust_field_integer(int16_t, status, status)
        lttng_ust_field_integer(uint64_t, sector, sector)
    )
)

/* guest/blkfront.c fe_verify(): a READ sector did not hold what the last
   completed WRITE put there (checksums of the expected and read bytes). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, blk_verify_fail,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, sector,
                      uint64_t, expected, uint64_t, got),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint64_t, sector, sector)
        lttng_ust_field_integer_hex(uint64_t, expected, expected)
        lttng_ust_field_integer_hex(uint64_t, got, got)
    )
)

/* guest/suspend.c mig_suspend_point() (phase 0: "suspend" seen at
   control/shutdown; 1: this vCPU parked - batch issued, mm left) and
   suspend_sequence() (phase 2: vCPU 0 issued SCHEDOP_shutdown(suspend);
   rc is its result). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, suspend,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint8_t, phase, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer(uint8_t, phase, phase)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

/* guest/suspend.c resume_sequence(): vCPU 0 resumed the kernel (cancelled:
   same domain and host; ns: from the shutdown to the end of the resume,
   on the host's monotonic clock; rc 0, or the step's error when the
   resume failed). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_guest, resume,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, cancelled,
                      uint64_t, ns, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, cancelled, cancelled)
        lttng_ust_field_integer(uint64_t, ns, ns)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

#endif /* HVLAB_TRACE_HVLAB_GUEST_H */

#include <lttng/tracepoint-event.h>
