/*
 * core/guest_access.h - the hypervisor reading and writing guest memory.
 *
 * Hypercall arguments are guest virtual addresses.  These walk the guest's
 * own page tables (the vCPU's current root) with the guest kernel's rights;
 * a bad pointer is -XEN_EFAULT, never a crash, and no fault reaches the
 * guest.  Writes set the D bit as the CPU would.
 */
#ifndef HVLAB_CORE_GUEST_ACCESS_H
#define HVLAB_CORE_GUEST_ACCESS_H

#include "core/types.h"

struct vcpu;

/* 0 or -XEN_EFAULT; on a fault part of the buffer may have been copied. */
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gva, size_t len);
int copy_to_guest(struct vcpu *v, uint64_t gva, const void *src, size_t len);

#endif /* HVLAB_CORE_GUEST_ACCESS_H */
