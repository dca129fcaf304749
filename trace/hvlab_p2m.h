/*
 * trace/hvlab_p2m.h - provider hvlab_p2m: an HVM domain's p2m entries,
 * lookups, type changes, paging and sharing transitions.
 *
 * Types are p2m_type_t values (core/mm/p2m.h, Xen's numbering), accesses
 * p2m_access_t values.  mfn ~0 means "no frame" (INVALID_MFN).  vcpu is
 * the acting vCPU, 0xFFFF when the hypervisor or the host API acts.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hvlab_p2m

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "trace/hvlab_p2m.h"

#if !defined(HVLAB_TRACE_HVLAB_P2M_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HVLAB_TRACE_HVLAB_P2M_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* p2m.c p2m_set_entry(): one p2m entry written (always under the p2m lock;
   `locked` records that the writer held it, invariant 19).  The argument
   `access` packs old_access << 8 | new_access (the argument list is at
   LTTng's limit); the event has both fields. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_p2m, entry_set,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gfn, uint64_t, old_mfn, uint64_t, new_mfn,
                      uint8_t, old_type, uint8_t, new_type,
                      uint16_t, access, uint8_t, locked),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gfn, gfn)
        lttng_ust_field_integer_hex(uint64_t, old_mfn, old_mfn)
        lttng_ust_field_integer_hex(uint64_t, new_mfn, new_mfn)
        lttng_ust_field_integer(uint8_t, old_type, old_type)
        lttng_ust_field_integer(uint8_t, new_type, new_type)
        lttng_ust_field_integer(uint8_t, old_access, access >> 8)
        lttng_ust_field_integer(uint8_t, new_access, access & 0xFF)
        lttng_ust_field_integer(uint8_t, locked, locked)
    )
)

/* p2m.c get_gfn_type_access() / get_page_from_gfn(): a lookup whose result
   is acted upon.  q is the P2M_* query flags; locked = the p2m lock is held
   from here to put_gfn (p2m.lock=locked); ref = the caller got a page
   reference taken under the lock (get_page_from_gfn). */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_p2m, lookup,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gfn, uint64_t, mfn, uint8_t, type,
                      uint8_t, q, uint8_t, locked, uint8_t, ref),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gfn, gfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(uint8_t, type, type)
        lttng_ust_field_integer(uint8_t, q, q)
        lttng_ust_field_integer(uint8_t, locked, locked)
        lttng_ust_field_integer(uint8_t, ref, ref)
    )
)

/* p2m.c put_gfn(): the end of a lookup's use; locked = the lock taken by
   the matching lookup is released here. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_p2m, put_gfn,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint16_t, vcpu,
                      uint64_t, gfn, uint8_t, locked),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint16_t, vcpu, vcpu)
        lttng_ust_field_integer_hex(uint64_t, gfn, gfn)
        lttng_ust_field_integer(uint8_t, locked, locked)
    )
)

/* p2m.c p2m_change_entry_type_global(): every entry of old_type became
   new_type (each one also traced as entry_set); nr = entries changed. */
LTTNG_UST_TRACEPOINT_EVENT(hvlab_p2m, type_change_global,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint8_t, old_type,
                      uint8_t, new_type, uint64_t, nr),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer(uint8_t, old_type, old_type)
        lttng_ust_field_integer(uint8_t, new_type, new_type)
        lttng_ust_field_integer(uint64_t, nr, nr)
    )
)

/* p2m_paging.c: one step of a gfn's paging state machine; mfn is the
   frame involved (~0 if none), rc 0 or the negative Xen errno returned. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_p2m, paging_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, gfn, gfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

/* p2m_paging.c p2m_mem_paging_nominate(): ram_rw -> paging_out. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, paging_class, hvlab_p2m, paging_nominate,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc))

/* p2m_paging.c p2m_mem_paging_evict(): paging_out -> paged, frame freed. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, paging_class, hvlab_p2m, paging_evict,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc))

/* p2m_paging.c p2m_mem_paging_populate(): an access to a paged gfn; the
   pager is asked for it (paged -> paging_in), or a nominated one is taken
   back (paging_out -> ram_rw). */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, paging_class, hvlab_p2m, paging_populate,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc))

/* p2m_paging.c p2m_mem_paging_prep(): the pager supplied the content; the
   gfn is paging_in with a fresh frame. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, paging_class, hvlab_p2m, paging_prep,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc))

/* p2m_paging.c p2m_mem_paging_resume(): paging_in -> ram_rw. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, paging_class, hvlab_p2m, paging_resume,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, int32_t, rc))

/* p2m_sharing.c: one sharing transition.  mfn is the shared frame (owner
   dom_cow), other_mfn the frame given up (share: the client's old frame)
   or taken (unshare: the private copy); ~0 if none. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hvlab_p2m, share_class,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, uint64_t, other_mfn, int32_t, rc),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint8_t, host, host)
        lttng_ust_field_integer(uint16_t, dom, dom)
        lttng_ust_field_integer_hex(uint64_t, gfn, gfn)
        lttng_ust_field_integer_hex(uint64_t, mfn, mfn)
        lttng_ust_field_integer_hex(uint64_t, other_mfn, other_mfn)
        lttng_ust_field_integer(int32_t, rc, rc)
    )
)

/* p2m_sharing.c mem_sharing_nominate_gfn(): ram_rw -> ram_shared, the
   frame moves to dom_cow. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, share_class, hvlab_p2m, share_nominate,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, uint64_t, other_mfn, int32_t, rc))

/* p2m_sharing.c mem_sharing_share(): the client gfn (dom, gfn) now maps
   the source's shared frame; its own frame is released. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, share_class, hvlab_p2m, share_share,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, uint64_t, other_mfn, int32_t, rc))

/* p2m_sharing.c mem_sharing_unshare(): a write (P2M_UNSHARE) gave the gfn
   a private copy of the shared frame. */
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hvlab_p2m, share_class, hvlab_p2m, share_unshare,
    LTTNG_UST_TP_ARGS(uint8_t, host, uint16_t, dom, uint64_t, gfn,
                      uint64_t, mfn, uint64_t, other_mfn, int32_t, rc))

#endif /* HVLAB_TRACE_HVLAB_P2M_H */

#include <lttng/tracepoint-event.h>
