/*
 * analysis/hcall_name.h - Xen's hypercall names, by the numbers of its
 * public header (<xen/xen.h> __HYPERVISOR_*): one table for every reader
 * of hypercall numbers (the trace report, `hvlab top`).  Plain C, no
 * babeltrace2: tools link it alone.
 */
#ifndef HVLAB_ANALYSIS_HCALL_NAME_H
#define HVLAB_ANALYSIS_HCALL_NAME_H

/* "mmu_update" for __HYPERVISOR_mmu_update; NULL for a number Xen names
   nothing. */
const char *hcall_name(unsigned op);
/* The number of a name hcall_name gives, or -1. */
int hcall_number(const char *name);

#endif /* HVLAB_ANALYSIS_HCALL_NAME_H */
