/*
 * trace/hvlab_mig.h - provider hvlab_mig: live migration, both sides
 * (toolstack/mig_save.c on the source host, toolstack/mig_restore.c on the
 * destination), in the terms of Xen's migration v2 stream.
 *
 * iter is the save loop's iteration: 0 sends every pfn, 1.. are the live
 * rounds over the dirty bitmap, and the paused (final) round and the verify
 * pass carry their own numbers (the save loop's last iteration + 1, + 2;
 * `final` says which).  type is the XEN_DOMCTL_PFINFO_* word (32-bit form)
 * the page was sent or received with; hash the XXH3-64 of the 4 KiB that
 * went on the wire (after normalising), 0 for a page without data.
 * offset is the byte offset in the stream of the record concerned.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_mig

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_mig.h"

#if !defined(HVLAB_TRACE_HVLAB_MIG_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_MIG_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* mig_save.c: a round starts; to_send = pfns it will look at (every pfn in
   iteration 0, the dirty count after CLEAN later); final: 0 live, 1 the
   paused round, 2 the verify pass. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, round_begin,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, iter,
                      uint8_t, final, uint64_t, to_send),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, iter, iter)
        lttng_ust_field_integer(uint8_t, final, final)
        lttng_ust_field_integer(uint64_t, to_send, to_send)
    )
)

/* mig_save.c: a round ended: pages sent with data, deferred (normalise
   said EAGAIN, or no gfn), bytes written in it and its wall time. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, round_end,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, iter,
                      uint8_t, final, uint64_t, sent, uint64_t, deferred,
                      uint64_t, bytes, uint64_t, ns),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, iter, iter)
        lttng_ust_field_integer(uint8_t, final, final)
        lttng_ust_field_integer(uint64_t, sent, sent)
        lttng_ust_field_integer(uint64_t, deferred, deferred)
        lttng_ust_field_integer(uint64_t, bytes, bytes)
        lttng_ust_field_integer(uint64_t, ns, ns)
    )
)

/* mig_save.c: one pfn went into a PAGE_DATA record: mfn it was read
   from, type as reported (before any XTAB for a deferral), normalised = 1
   when its entries were rewritten mfn -> pfn, hash of what was sent. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, send_page,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, iter,
                      uint64_t, pfn, uint64_t, mfn, uint32_t, type,
                      uint8_t, normalised, uint64_t, hash),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, iter, iter)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint32_t, type, type)
        lttng_ust_field_integer(uint8_t, normalised, normalised)
        lttng_ust_field_integer_hex(uint64_t, hash, hash)
    )
)

/* mig_save.c: normalising pfn failed (rc: -EAGAIN deferred while live,
   -ERANGE / -E2BIG fatal once paused); level/slot/entry: the first bad
   entry. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, normalise_fail,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint32_t, iter,
                      uint64_t, pfn, uint32_t, type, int32_t, rc,
                      uint8_t, level, uint16_t, slot, uint64_t, entry),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint32_t, iter, iter)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer_hex(uint32_t, type, type)
        lttng_ust_field_integer(int32_t, rc, rc)
        lttng_ust_field_integer(uint8_t, level, level)
        lttng_ust_field_integer(uint16_t, slot, slot)
        lttng_ust_field_integer_hex(uint64_t, entry, entry)
    )
)

/* mig_save.c: a step of the suspend sequence: phase 0 asked the guest,
   1 the guest is shut down (suspend), 2 its backends acknowledged
   (quiesced or not), 3 the final CLEAN returned; ns since phase 0. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, suspend,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, phase,
                      uint64_t, ns),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, phase, phase)
        lttng_ust_field_integer(uint64_t, ns, ns)
    )
)

/* mig_save.c / mig_restore.c: the stream ended: rc 0 or the Xen errno
   that stopped it; pages = pages of data written (save) or read
   (restore); bytes of stream. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_mig, done_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc,
                      uint64_t, pages, uint64_t, bytes),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(int32_t, rc, rc)
        lttng_ust_field_integer(uint64_t, pages, pages)
        lttng_ust_field_integer(uint64_t, bytes, bytes)
    )
)
/* mig_save.c mig_save(): the save side finished (END written or failed). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mig, done_class, hvlab_mig, save_done,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc,
                      uint64_t, pages, uint64_t, bytes))
/* mig_restore.c mig_restore(): the restore side finished (the domain is
   complete, or was destroyed on error). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_mig, done_class, hvlab_mig, restore_done,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, int32_t, rc,
                      uint64_t, pages, uint64_t, bytes))

/* mig_restore.c: one pfn of a PAGE_DATA record was applied: the mfn it
   landed in, the type received, the hash of the bytes received (before
   localising); verify = 1 for a page after the VERIFY record (compared,
   not written). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, recv_page,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, pfn,
                      uint64_t, mfn, uint32_t, type, uint64_t, hash,
                      uint8_t, verify),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint32_t, type, type)
        lttng_ust_field_integer_hex(uint64_t, hash, hash)
        lttng_ust_field_integer(uint8_t, verify, verify)
    )
)

/* mig_restore.c: verify mode: the page the source sent after VERIFY
   differs from what restore holds; first = first differing byte offset
   in the page, bytes = how many bytes differ. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, verify_mismatch,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, pfn,
                      uint32_t, type, uint16_t, first, uint16_t, bytes),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, pfn, pfn)
        lttng_ust_field_integer_hex(uint32_t, type, type)
        lttng_ust_field_integer(uint16_t, first, first)
        lttng_ust_field_integer(uint16_t, bytes, bytes)
    )
)

/* run_migrate.c: a step of a migration between two processes (xl's
   wrapping and handshake, toolstack/mig_conn.h C4), on the side that took
   it: step 1 xl and libxl headers written / read, 2 the libxc stream
   ended (END sent / restore done), 3 the guest kernel's state sent /
   loaded, 4 libxl END, 5 "ready to unpause" received / sent, 6 the
   permission to go sent / received, 7 the report (rc: its byte) received
   / sent; rc < 0: the step failed with that Xen errno.  bytes: the
   connection's count so far. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_mig, xl_step,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, receiver,
                      uint8_t, step, int32_t, rc, uint64_t, bytes),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, receiver, receiver)
        lttng_ust_field_integer(uint8_t, step, step)
        lttng_ust_field_integer(int32_t, rc, rc)
        lttng_ust_field_integer(uint64_t, bytes, bytes)
    )
)

#endif /* HVLAB_TRACE_HVLAB_MIG_H */

#include <lttng/tracepoint-event.h>
