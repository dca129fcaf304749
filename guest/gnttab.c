/*
 * guest/gnttab.c - the guest kernel's grant-table driver (v1), for both
 * sides of a split driver.
 *
 * Rules:
 *   1. The kernel VA areas (GNT_SHARED_VA for the table's frames,
 *      GNT_MAP_BASE for the mappings a backend makes) get their L1 tables
 *      at workload start, on vCPU 0, before any process copies the kernel
 *      L4 slots - as Linux's alloc_vm_area prepares the page tables that
 *      GNTTABOP_map_grant_ref will write.
 *   2. The table is set up lazily, on the first grant: GNTTABOP_setup_table
 *      for GNT_SHARED_FRAMES frames (arguments and the frame list in the
 *      vCPU's argument area), then each returned mfn is mapped at
 *      GNT_SHARED_VA with update_va_mapping (kernel, RW).  A failure is
 *      remembered and returned by every later grant.
 *   3. Granting (grant_access): frame and domid are written first, then a
 *      write barrier, then the flags (GTF_permit_access, GTF_readonly for a
 *      read-only grant) - through the MMU, as a PV kernel writes its
 *      grant entries.  Refs GNTTAB_NR_RESERVED_ENTRIES and up come from a
 *      free list under a kernel spinlock.
 *   4. Revoking (end_access): a compare-and-swap of the flags to 0, made
 *      only while neither GTF_reading nor GTF_writing is set; otherwise
 *      -XEN_EBUSY and the entry stays (the grantee still has it mapped).
 *      The ref is freed only once revoked.
 *   5. Mapping (a backend): batched GNTTABOP_map_grant_ref /
 *      unmap_grant_ref with GNTMAP_host_map at slots of the mapping area;
 *      each op's status is returned to the caller; a hypercall that did
 *      not run at all is counted and logged.
 *   6. The mapping area's slots are handed out from a bitmap under the
 *      same lock; a slot is free again only after its unmap succeeded.
 *   7. Querying (query): an entry's flags, domid and frame are loaded
 *      through the MMU from the shared frames, as a guest reads what Xen
 *      wrote there (GTF_reading / GTF_writing while a grantee maps it).
 *   8. Migration (Linux's gnttab_suspend / gnttab_resume): before the
 *      suspend the table's frames are unmapped from GNT_SHARED_VA (a live
 *      mapping of a Xen page would fail the save's page-table
 *      normalisation).  A cancelled suspend sets the same table up again
 *      (GNTTABOP_setup_table, mapped at the same VA; every ref as it was);
 *      a resume on a new domain starts from a fresh table: nothing set up,
 *      every ref free, setup_table again on the first grant (rule 2).  The
 *      mapping area's slots stay with whoever holds them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>

#include "core/hypercall.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "trace/trace.h"

#define GNT_PER_FRAME   (PAGE_SIZE / sizeof(grant_entry_v1_t))
#define GNT_BATCH       64      /* map/unmap ops per hypercall */

struct gnttab {
    struct gspin lock;
    pfn_t shared_l1;                /* rule 1 */
    pfn_t map_l1[GNT_MAP_L1S];
    int setup_rc;                   /* rule 2: 0 not yet, 1 done, <0 failed */
    unsigned nr_refs;
    grant_ref_t *free_refs;         /* stack */
    unsigned nr_free;
    uint8_t slot_used[GNT_MAP_SLOTS];
};

static void fail(struct gcpu *c, unsigned op, long rc, const char *what)
{
    struct guest_kernel *g = c->g;
    atomic_fetch_add(&g->st.hypercall_errors, 1);
    klog(g, "vcpu %u: %s: hypercall %u failed with %ld", c->v->vcpu_id, what,
         op, rc);
    TRC(hvlab_guest, hcall_failed, (uint8_t)g->host_id, g->domid,
        (uint16_t)c->v->vcpu_id, op, rc);
}

/* Rule 1. */
int gnttab_prepare(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    if (g->gnt)
        return 0;
    struct gnttab *t = calloc(1, sizeof(*t));
    if (!t)
        return -XEN_ENOMEM;
    struct proc kernel = { .l4_pfn = g->init_l4_pfn };
    int rc = pt_walk(c, &kernel, GNT_SHARED_VA, true, &t->shared_l1);
    for (unsigned i = 0; rc == 0 && i < GNT_MAP_L1S; i++)
        rc = pt_walk(c, &kernel, GNT_MAP_BASE + (uint64_t)i * PT_ENTRIES *
                     PAGE_SIZE, true, &t->map_l1[i]);
    if (rc) {
        klog(g, "gnttab: no kernel mapping area (%d)", rc);
        free(t);
        return rc;
    }
    g->gnt = t;
    return 0;
}

void gnttab_free(struct guest_kernel *g)
{
    if (g->gnt)
        free(g->gnt->free_refs);
    free(g->gnt);
    g->gnt = NULL;
}

/* Rule 2's hypercall and mappings: 0, or the error (logged). */
static int setup_frames(struct gcpu *c)
{
    struct gnttab_setup_table st;
    uint64_t va = c->arg_va + ARG_EXT_OFF, list = va + 64;
    memset(&st, 0, sizeof(st));
    st.dom = DOMID_SELF;
    st.nr_frames = GNT_SHARED_FRAMES;
    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)list);
    long rc = -XEN_EFAULT;
    if (mmu_write(c->v, va, &st, sizeof(st)) == MMU_OK)
        rc = hypercall(c->v, __HYPERVISOR_grant_table_op,
                       GNTTABOP_setup_table, va, 1, 0, 0);
    if (rc == 0 && mmu_read(c->v, va, &st, sizeof(st)) != MMU_OK)
        rc = -XEN_EFAULT;
    if (rc == 0 && st.status != GNTST_okay)
        rc = -XEN_EINVAL;
    xen_pfn_t frames[GNT_SHARED_FRAMES];
    if (rc == 0 && mmu_read(c->v, list, frames, sizeof(frames)) != MMU_OK)
        rc = -XEN_EFAULT;
    for (unsigned i = 0; rc == 0 && i < GNT_SHARED_FRAMES; i++)
        rc = hc_uva(c, GNT_SHARED_VA + (uint64_t)i * PAGE_SIZE,
                    ((pte_t)frames[i] << PAGE_SHIFT) | _PAGE_PRESENT |
                    _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY,
                    UVMF_INVLPG | UVMF_LOCAL, "gnttab: mapping a table frame");
    if (rc) {
        if (rc != -XEN_EINVAL || st.status == GNTST_okay)
            fail(c, __HYPERVISOR_grant_table_op, rc, "gnttab: setup_table");
        else
            klog(c->g, "gnttab: setup_table status %d", st.status);
        return (int)(rc < 0 ? rc : -XEN_EINVAL);
    }
    return 0;
}

/* Rule 2 (caller holds t->lock). */
static int setup(struct gcpu *c, struct gnttab *t)
{
    if (t->setup_rc)
        return t->setup_rc < 0 ? t->setup_rc : 0;
    int rc = setup_frames(c);
    if (rc) {
        t->setup_rc = rc;
        return t->setup_rc;
    }
    t->nr_refs = GNT_SHARED_FRAMES * GNT_PER_FRAME;
    t->free_refs = calloc(t->nr_refs, sizeof(*t->free_refs));
    if (!t->free_refs) {
        t->setup_rc = -XEN_ENOMEM;
        return t->setup_rc;
    }
    for (grant_ref_t r = t->nr_refs; r-- > GNTTAB_NR_RESERVED_ENTRIES; )
        t->free_refs[t->nr_free++] = r;
    t->setup_rc = 1;
    return 0;
}

static uint64_t entry_va(grant_ref_t ref)
{
    return GNT_SHARED_VA + (uint64_t)ref * sizeof(grant_entry_v1_t);
}

/* Rule 3. */
int gnttab_grant_access(struct gcpu *c, domid_t domid, mfn_t frame,
                        bool readonly, grant_ref_t *ref)
{
    struct gnttab *t = c->g->gnt;
    if (!t)
        return -XEN_EINVAL;
    gspin_lock(&t->lock);
    int rc = setup(c, t);
    grant_ref_t r = 0;
    if (rc == 0 && t->nr_free == 0)
        rc = -XEN_ENOSPC;
    if (rc == 0)
        r = t->free_refs[--t->nr_free];
    gspin_unlock(&t->lock);
    if (rc)
        return rc;
    uint64_t va = entry_va(r);
    if (mmu_store(c->v, va + offsetof(grant_entry_v1_t, domid), 2, domid) !=
            MMU_OK ||
        mmu_store(c->v, va + offsetof(grant_entry_v1_t, frame), 4,
                  (uint32_t)frame) != MMU_OK)
        goto oops;
    atomic_thread_fence(memory_order_release);      /* wmb() */
    if (mmu_store(c->v, va + offsetof(grant_entry_v1_t, flags), 2,
                  GTF_permit_access | (readonly ? GTF_readonly : 0)) != MMU_OK)
        goto oops;
    *ref = r;
    return 0;
oops:
    atomic_fetch_add(&c->g->st.kernel_oopses, 1);
    klog(c->g, "gnttab: grant entry %u at %#llx refused a kernel store", r,
         (unsigned long long)va);
    gspin_lock(&t->lock);
    t->free_refs[t->nr_free++] = r;
    gspin_unlock(&t->lock);
    return -XEN_EFAULT;
}

/* Rule 4. */
int gnttab_end_access(struct gcpu *c, grant_ref_t ref)
{
    struct gnttab *t = c->g->gnt;
    if (!t || ref >= t->nr_refs || ref < GNTTAB_NR_RESERVED_ENTRIES)
        return -XEN_EINVAL;
    uint64_t va = entry_va(ref) + offsetof(grant_entry_v1_t, flags), flags;
    if (mmu_load(c->v, va, 2, &flags) != MMU_OK)
        return -XEN_EFAULT;
    for (;;) {
        if (flags & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
        uint64_t old = flags;
        int mrc = mmu_cmpxchg(c->v, va, 2, &old, 0);
        if (mrc != MMU_OK && old == flags)
            return -XEN_EFAULT;
        if (old == flags)
            break;
        flags = old;            /* Xen changed the flags meanwhile: retry */
    }
    gspin_lock(&t->lock);
    t->free_refs[t->nr_free++] = ref;
    gspin_unlock(&t->lock);
    return 0;
}

/* Rule 6. */
uint64_t gnttab_slot_alloc(struct gcpu *c)
{
    struct gnttab *t = c->g->gnt;
    uint64_t va = 0;
    if (!t)
        return 0;
    gspin_lock(&t->lock);
    for (unsigned i = 0; i < GNT_MAP_SLOTS; i++)
        if (!t->slot_used[i]) {
            t->slot_used[i] = 1;
            va = GNT_MAP_BASE + (uint64_t)i * PAGE_SIZE;
            break;
        }
    gspin_unlock(&t->lock);
    return va;
}

void gnttab_slot_free(struct gcpu *c, uint64_t va)
{
    struct gnttab *t = c->g->gnt;
    uint64_t i = (va - GNT_MAP_BASE) / PAGE_SIZE;
    if (!t || va < GNT_MAP_BASE || i >= GNT_MAP_SLOTS)
        return;
    gspin_lock(&t->lock);
    t->slot_used[i] = 0;
    gspin_unlock(&t->lock);
}

/* Rule 5. */
int gnttab_map(struct gcpu *c, struct gnt_map *m, unsigned n)
{
    uint64_t va = c->arg_va + ARG_EXT_OFF;
    int frc = pt_batch_flush(c, "queued L1 updates before a grant map");
    if (frc)
        return frc;
    while (n > 0) {
        unsigned chunk = n > GNT_BATCH ? GNT_BATCH : n;
        struct gnttab_map_grant_ref op[GNT_BATCH];
        memset(op, 0, sizeof(op));
        for (unsigned i = 0; i < chunk; i++) {
            op[i].host_addr = m[i].va;
            op[i].flags = GNTMAP_host_map |
                          (m[i].readonly ? GNTMAP_readonly : 0);
            op[i].ref = m[i].ref;
            op[i].dom = m[i].dom;
        }
        long rc = -XEN_EFAULT;
        if (mmu_write(c->v, va, op, chunk * sizeof(op[0])) == MMU_OK)
            rc = hypercall(c->v, __HYPERVISOR_grant_table_op,
                           GNTTABOP_map_grant_ref, va, chunk, 0, 0);
        if (rc == 0 && mmu_read(c->v, va, op, chunk * sizeof(op[0])) != MMU_OK)
            rc = -XEN_EFAULT;
        if (rc) {
            fail(c, __HYPERVISOR_grant_table_op, rc, "gnttab: map_grant_ref");
            return (int)rc;
        }
        for (unsigned i = 0; i < chunk; i++) {
            m[i].status = op[i].status;
            m[i].handle = op[i].handle;
        }
        m += chunk;
        n -= chunk;
    }
    return 0;
}

int gnttab_unmap(struct gcpu *c, struct gnt_map *m, unsigned n)
{
    uint64_t va = c->arg_va + ARG_EXT_OFF;
    while (n > 0) {
        unsigned chunk = n > GNT_BATCH ? GNT_BATCH : n;
        struct gnttab_unmap_grant_ref op[GNT_BATCH];
        memset(op, 0, sizeof(op));
        for (unsigned i = 0; i < chunk; i++) {
            op[i].host_addr = m[i].va;
            op[i].handle = m[i].handle;
        }
        long rc = -XEN_EFAULT;
        if (mmu_write(c->v, va, op, chunk * sizeof(op[0])) == MMU_OK)
            rc = hypercall(c->v, __HYPERVISOR_grant_table_op,
                           GNTTABOP_unmap_grant_ref, va, chunk, 0, 0);
        if (rc == 0 && mmu_read(c->v, va, op, chunk * sizeof(op[0])) != MMU_OK)
            rc = -XEN_EFAULT;
        if (rc) {
            fail(c, __HYPERVISOR_grant_table_op, rc, "gnttab: unmap_grant_ref");
            return (int)rc;
        }
        for (unsigned i = 0; i < chunk; i++)
            m[i].status = op[i].status;
        m += chunk;
        n -= chunk;
    }
    return 0;
}

/* Rule 7. */
unsigned gnttab_nr_refs(struct gcpu *c)
{
    struct gnttab *t = c->g->gnt;
    return t && t->setup_rc == 1 ? t->nr_refs : 0;
}

int gnttab_query(struct gcpu *c, grant_ref_t ref, uint16_t *flags,
                 domid_t *domid, uint32_t *frame)
{
    struct gnttab *t = c->g->gnt;
    if (!t || t->setup_rc != 1 || ref >= t->nr_refs)
        return -XEN_EINVAL;
    uint64_t va = entry_va(ref), f, d, fr;
    if (mmu_load(c->v, va + offsetof(grant_entry_v1_t, flags), 2, &f) !=
            MMU_OK ||
        mmu_load(c->v, va + offsetof(grant_entry_v1_t, domid), 2, &d) !=
            MMU_OK ||
        mmu_load(c->v, va + offsetof(grant_entry_v1_t, frame), 4, &fr) !=
            MMU_OK)
        return -XEN_EFAULT;
    *flags = (uint16_t)f;
    *domid = (domid_t)d;
    *frame = (uint32_t)fr;
    return 0;
}

/* Rule 8 (vCPU 0, every other vCPU parked). */
int gnttab_mig_suspend(struct gcpu *c)
{
    struct gnttab *t = c->g->gnt;
    if (!t || t->setup_rc != 1)
        return 0;
    for (unsigned i = 0; i < GNT_SHARED_FRAMES; i++) {
        long rc = hc_uva(c, GNT_SHARED_VA + (uint64_t)i * PAGE_SIZE, 0,
                         UVMF_INVLPG | UVMF_ALL,
                         "suspend: unmapping a grant-table frame");
        if (rc)
            return (int)rc;
    }
    return 0;
}

int gnttab_mig_resume(struct gcpu *c, bool cancelled)
{
    struct gnttab *t = c->g->gnt;
    if (!t)
        return 0;
    gspin_lock(&t->lock);
    int rc = 0;
    if (!cancelled) {
        free(t->free_refs);
        t->free_refs = NULL;
        t->nr_refs = t->nr_free = 0;
        t->setup_rc = 0;
    } else if (t->setup_rc == 1) {
        rc = setup_frames(c);
    }
    gspin_unlock(&t->lock);
    return rc;
}

/* ---- the table's state as bytes (kstate.c, section GNTTAB) --------------- */

int gnttab_state_save(struct ks_out *o, const struct guest_kernel *g)
{
    const struct gnttab *t = g->gnt;
    ks_put_u64(o, t->shared_l1);
    for (unsigned i = 0; i < GNT_MAP_L1S; i++)
        ks_put_u64(o, t->map_l1[i]);
    ks_put_u32(o, (uint32_t)t->setup_rc);
    ks_put_u32(o, t->nr_refs);
    ks_put_u32(o, t->nr_free);
    for (unsigned i = 0; i < t->nr_free; i++)
        ks_put_u32(o, t->free_refs[i]);
    uint8_t bits[GNT_MAP_SLOTS / 8];
    memset(bits, 0, sizeof(bits));
    for (unsigned i = 0; i < GNT_MAP_SLOTS; i++)
        if (t->slot_used[i])
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
    ks_put_bytes(o, bits, sizeof(bits));
    return 0;
}

void gnttab_state_load(struct ks_in *in, struct guest_kernel *g)
{
    struct gnttab *t = calloc(1, sizeof(*t));
    if (!t) {
        ks_bad(in, "no memory for the grant table");
        return;
    }
    g->gnt = t;                 /* freed by gnttab_free on any error */
    t->shared_l1 = ks_get_u64(in);
    ks_check_pfn(in, g, t->shared_l1, false, "shared-frames L1");
    for (unsigned i = 0; i < GNT_MAP_L1S; i++) {
        t->map_l1[i] = ks_get_u64(in);
        ks_check_pfn(in, g, t->map_l1[i], false, "mapping-area L1");
    }
    t->setup_rc = (int)ks_get_u32(in);
    if (!ks_failed(in) && t->setup_rc > 1) {
        ks_bad(in, "setup state %d (1, 0 or an error)", t->setup_rc);
        return;
    }
    unsigned full = GNT_SHARED_FRAMES * GNT_PER_FRAME;
    t->nr_refs = ks_get_u32(in);
    if (!ks_failed(in) && t->nr_refs != (t->setup_rc == 1 ? full : 0)) {
        ks_bad(in, "%u refs with setup state %d", t->nr_refs, t->setup_rc);
        return;
    }
    unsigned nr_free = ks_get_below(in, t->nr_refs + 1ULL, "free ref count");
    if (ks_failed(in))
        return;
    if (t->nr_refs) {
        t->free_refs = calloc(t->nr_refs, sizeof(*t->free_refs));
        uint8_t *seen = calloc(t->nr_refs, 1);
        if (!t->free_refs || !seen) {
            free(seen);
            ks_bad(in, "no memory for %u refs", t->nr_refs);
            return;
        }
        for (unsigned i = 0; i < nr_free && !ks_failed(in); i++) {
            grant_ref_t r = ks_get_u32(in);
            if (ks_failed(in))
                break;
            if (r < GNTTAB_NR_RESERVED_ENTRIES || r >= t->nr_refs || seen[r])
                ks_bad(in, "free ref %u is reserved, out of range or twice",
                       r);
            else
                seen[r] = 1;
            t->free_refs[i] = r;
        }
        free(seen);
        t->nr_free = nr_free;
    }
    uint8_t bits[GNT_MAP_SLOTS / 8];
    ks_get_bytes(in, bits, sizeof(bits));
    for (unsigned i = 0; i < GNT_MAP_SLOTS; i++)
        t->slot_used[i] = (bits[i / 8] >> (i % 8)) & 1;
}
