/*
 * core/audit.h - the whole machine's invariant audit, in one call.
 *
 * The oracle tests, scenarios and (later) the fuzzer use: frame and type
 * invariants (core/mm/audit.c, XEN-NOTES section 11 items 1-12), p2m
 * invariants (core/mm/p2m_audit.c, 21-23) and shadow invariants
 * (core/shadow/audit.c, 13-17).  Every violation is printed to `out` (may be
 * NULL) with its invariant, frame and recent history.
 */
#ifndef HVLAB_CORE_AUDIT_H
#define HVLAB_CORE_AUDIT_H

#include <stdio.h>

struct machine;

/* Returns the number of violations; the machine must be quiescent (no vCPU
   running). */
unsigned hv_audit(struct machine *m, FILE *out);

#endif /* HVLAB_CORE_AUDIT_H */
