/*
 * analysis/hcall_name.c - the table behind analysis/hcall_name.h.
 */
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>

#include "analysis/hcall_name.h"

#define HC(n) [__HYPERVISOR_##n] = #n
static const char *const names[64] = {
    HC(set_trap_table), HC(mmu_update), HC(set_gdt), HC(stack_switch),
    HC(set_callbacks), HC(fpu_taskswitch), HC(sched_op_compat),
    HC(platform_op), HC(set_debugreg), HC(get_debugreg),
    HC(update_descriptor), HC(memory_op), HC(multicall),
    HC(update_va_mapping), HC(set_timer_op), HC(event_channel_op_compat),
    HC(xen_version), HC(console_io), HC(physdev_op_compat),
    HC(grant_table_op), HC(vm_assist), HC(update_va_mapping_otherdomain),
    HC(iret), HC(vcpu_op), HC(set_segment_base), HC(mmuext_op),
    HC(xsm_op), HC(nmi_op), HC(sched_op), HC(callback_op), HC(xenoprof_op),
    HC(event_channel_op), HC(physdev_op), HC(hvm_op), HC(sysctl),
    HC(domctl), HC(kexec_op), HC(tmem_op), HC(argo_op), HC(xenpmu_op),
    HC(dm_op), HC(hypfs_op), HC(arch_0), HC(arch_1), HC(arch_2), HC(arch_3),
    HC(arch_4), HC(arch_5), HC(arch_6), HC(arch_7),
};
#undef HC

const char *hcall_name(unsigned op)
{
    return op < sizeof(names) / sizeof(names[0]) ? names[op] : NULL;
}

int hcall_number(const char *name)
{
    for (unsigned op = 0; op < sizeof(names) / sizeof(names[0]); op++)
        if (names[op] && strcmp(names[op], name) == 0)
            return (int)op;
    return -1;
}
