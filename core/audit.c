/*
 * core/audit.c - hv_audit(): every subsystem's audit over one machine.
 */
#include "core/audit.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/mm/mm.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/shadow/shadow.h"

unsigned hv_audit(struct machine *m, FILE *out)
{
    return mm_audit(m, out) + p2m_audit(m, out) + shadow_audit(m, out) +
           gnttab_audit(m, out) + evtchn_audit_machine(m, out) +
           paging_audit(m, out);
}
