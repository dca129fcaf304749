/*
 * guest/pv_hcall.c - the kernel's hypercall wrappers.
 *
 * Rules:
 *   1. (K1) Argument structs are written into the calling vCPU's argument
 *      area - ARG_PAGES kernel pages of the direct map - and passed as
 *      guest virtual addresses, as a PV kernel passes pointers to its own
 *      memory.  The hypervisor reads them through the vCPU's page tables.
 *   2. Hypercalls are made in kernel mode only.
 *   3. Every return code is checked: a failure is counted in
 *      stats.hypercall_errors, logged with what the kernel was doing (and,
 *      for a batch, the request that failed) and traced
 *      (hvlab_guest:hcall_failed).  The caller decides what else to do.
 *   4. mmu_update requests are queued per vCPU (Linux's lazy MMU batch) and
 *      issued when the queue is full, on pt_batch_flush, or before any other
 *      page-table hypercall, so the hypervisor sees them in program order.
 */
#include <assert.h>
#include <string.h>
#include <stdint.h>

#include <xen/xen.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

/* Rule 3. */
static long hc_check(struct gcpu *c, unsigned op, long rc, const char *what)
{
    struct guest_kernel *g = c->g;

    if (rc >= 0)
        return rc;
    atomic_fetch_add(&g->st.hypercall_errors, 1);
    klog(g, "vcpu %u: %s: hypercall %u failed with %ld", c->v->vcpu_id,
         what, op, rc);
    TRC(hvlab_guest, hcall_failed, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, op, rc);
    return rc;
}

/* Copy arguments into the argument area (kernel store through the MMU). */
static int arg_write(struct gcpu *c, uint64_t off, const void *src, size_t len)
{
    assert(c->v->in_kernel);
    if (mmu_write(c->v, c->arg_va + off, src, len) != MMU_OK) {
        atomic_fetch_add(&c->g->st.kernel_oopses, 1);
        klog(c->g, "vcpu %u: argument area %#llx refused a kernel store",
             c->v->vcpu_id, (unsigned long long)(c->arg_va + off));
        return -XEN_EFAULT;
    }
    return 0;
}

static uint64_t arg_read_done(struct gcpu *c)
{
    uint64_t done = 0;
    if (mmu_load(c->v, c->arg_va + ARG_DONE_OFF, 4, &done) != MMU_OK)
        return ~0ULL;
    return done & 0xffffffffu;
}

long hc_mmu_update(struct gcpu *c, const struct mmu_update *req, unsigned n,
                   const char *what)
{
    while (n > 0) {
        unsigned chunk = n > ARG_MMU_MAX ? ARG_MMU_MAX : n;
        uint32_t zero = 0;
        int wrc = arg_write(c, ARG_MMU_OFF, req, chunk * sizeof(*req));
        if (wrc == 0)
            wrc = arg_write(c, ARG_DONE_OFF, &zero, sizeof(zero));
        if (wrc)
            return hc_check(c, __HYPERVISOR_mmu_update, wrc, what);
        long rc = hypercall(c->v, __HYPERVISOR_mmu_update,
                            c->arg_va + ARG_MMU_OFF, chunk,
                            c->arg_va + ARG_DONE_OFF, DOMID_SELF, 0);
        if (rc < 0) {
            uint64_t done = arg_read_done(c);
            if (done < chunk)
                klog(c->g, "vcpu %u: %s: mmu_update request %llu of %u "
                     "(ptr %#llx val %#llx) refused", c->v->vcpu_id, what,
                     (unsigned long long)done, chunk,
                     (unsigned long long)req[done].ptr,
                     (unsigned long long)req[done].val);
            return hc_check(c, __HYPERVISOR_mmu_update, rc, what);
        }
        req += chunk;
        n -= chunk;
    }
    return 0;
}

long hc_mmuext(struct gcpu *c, const struct mmuext_op *op, unsigned n,
               const char *what)
{
    int frc = pt_batch_flush(c, "queued L1 updates before an mmuext op");
    if (frc)
        return frc;
    while (n > 0) {
        unsigned chunk = n > ARG_EXT_MAX ? ARG_EXT_MAX : n;
        int wrc = arg_write(c, ARG_EXT_OFF, op, chunk * sizeof(*op));
        if (wrc)
            return hc_check(c, __HYPERVISOR_mmuext_op, wrc, what);
        long rc = hypercall(c->v, __HYPERVISOR_mmuext_op,
                            c->arg_va + ARG_EXT_OFF, chunk,
                            c->arg_va + ARG_DONE_OFF, DOMID_SELF, 0);
        if (rc < 0)
            return hc_check(c, __HYPERVISOR_mmuext_op, rc, what);
        op += chunk;
        n -= chunk;
    }
    return 0;
}

long hc_mmuext1(struct gcpu *c, unsigned cmd, uint64_t arg1, uint64_t arg2,
                const char *what)
{
    struct mmuext_op op;

    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1.mfn = arg1;
    memcpy(&op.arg2, &arg2, sizeof(arg2));
    return hc_mmuext(c, &op, 1, what);
}

/* TLB_FLUSH_MULTI / INVLPG_MULTI over the vCPUs in mask. */
long hc_flush_mask(struct gcpu *c, unsigned cmd, uint64_t va, uint64_t mask,
                   const char *what)
{
    int wrc = arg_write(c, ARG_MASK_OFF, &mask, sizeof(mask));
    if (wrc)
        return hc_check(c, __HYPERVISOR_mmuext_op, wrc, what);
    return hc_mmuext1(c, cmd, va, c->arg_va + ARG_MASK_OFF, what);
}

long hc_uva(struct gcpu *c, uint64_t va, pte_t val, uint64_t flags,
            const char *what)
{
    int frc = pt_batch_flush(c, "queued L1 updates before update_va_mapping");
    if (frc)
        return frc;
    long rc = hypercall(c->v, __HYPERVISOR_update_va_mapping, va, val, flags,
                        0, 0);
    if (rc < 0)
        klog(c->g, "vcpu %u: %s: update_va_mapping(%#llx, %#llx) refused",
             c->v->vcpu_id, what, (unsigned long long)va,
             (unsigned long long)val);
    return hc_check(c, __HYPERVISOR_update_va_mapping, rc, what);
}

long hc_vm_assist(struct gcpu *c, unsigned cmd, unsigned type, const char *what)
{
    long rc = hypercall(c->v, __HYPERVISOR_vm_assist, cmd, type, 0, 0, 0);
    return hc_check(c, __HYPERVISOR_vm_assist, rc, what);
}

/* Rule 4. */
int pt_batch_add(struct gcpu *c, uint64_t ptr, uint64_t val)
{
    if (c->batch_n == ARG_MMU_MAX) {
        int rc = pt_batch_flush(c, "mmu_update batch (full)");
        if (rc)
            return rc;
    }
    c->batch[c->batch_n].ptr = ptr;
    c->batch[c->batch_n].val = val;
    c->batch_n++;
    return 0;
}

int pt_batch_flush(struct gcpu *c, const char *what)
{
    unsigned n = c->batch_n;

    if (n == 0)
        return 0;
    c->batch_n = 0;
    return (int)hc_mmu_update(c, c->batch, n, what);
}
