/*
 * core/types.h - the vocabulary every hypervisor file shares.
 *
 * Frame numbers, domain ids and error codes.  The ABI (hypercall numbers,
 * argument structs, DOMID_*, XEN_E*) always comes from Xen's public headers
 * (libxen-dev); this file only adds what Xen keeps hypervisor-internal.
 */
#ifndef HVLAB_CORE_TYPES_H
#define HVLAB_CORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/errno.h>          /* enum { XEN_EPERM = 1, ... } */

#define PAGE_SHIFT      12
#define PAGE_SIZE       (1UL << PAGE_SHIFT)
#define PAGE_OFFSET_MASK (PAGE_SIZE - 1)

/* Machine frame number: index into the host's RAM arena. */
typedef uint64_t mfn_t;
/* Guest pseudo-physical frame number (PV) / guest frame number (HVM). */
typedef uint64_t pfn_t;

#define INVALID_MFN     ((mfn_t)~0ULL)
#define INVALID_PFN     ((pfn_t)~0ULL)

/*
 * Hypervisor-internal return codes.  Xen's ERESTART never reaches a guest:
 * the hypercall layer turns it into a continuation.  HV_EINTR is Xen's
 * "interrupted before doing anything" (public EINTR value, internal use).
 */
#define HV_ERESTART     85
#define HV_EINTR        4   /* Xen EINTR: <xen/errno.h> has XEN_EINTR only under __XEN__ */

/* Upper bound on vCPUs per domain and domains per machine in hvlab. */
#define HV_MAX_VCPUS    64
#define HV_MAX_DOMAINS  64

#define HV_UNUSED       __attribute__((unused))
#define likely(x)       __builtin_expect(!!(x), 1)
#define unlikely(x)     __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))

#endif /* HVLAB_CORE_TYPES_H */
