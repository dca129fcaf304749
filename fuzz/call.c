/*
 * fuzz/call.c - issuing one call of a program, and the oracle after it
 * (fuzz/call.h), for fuzz/exec.c and fuzz/race.c.
 *
 * Rules (fuzz/exec.c E2-E4, here for both users):
 *   CA1  A call runs on c->v with its argument structs written into the
 *       buffer at c->buf through c->v's own MMU (mmu_write), as a guest
 *       would; a buffer that is not mapped writable makes the call a
 *       no-op (0).  Results the pools need (grant handles) are read back
 *       the same way and recorded in *c->st.  Before each such write or
 *       read the actor drops its TLB entries for the buffer's pages (a
 *       well-behaved guest keeps its argument buffer coherent): after an
 *       update_va_mapping of its own buffer without a flush, its stores
 *       would go through the stale entry to the old frame while the
 *       hypervisor's copy walks the tables (core/guest_access.c rule 1) to
 *       the new one, and the call would run with arguments the fuzzer
 *       never wrote - the guest hurting itself, which CA7's contract took
 *       for Xen's status being wrong (tests/data/fuzz/grant-stale-buffer).
 *       A grant map that maps a granted frame over the buffer itself
 *       leaves Xen's statuses and handles in the frame it replaced: the
 *       guest cannot read them, so nothing is read back (no CA7 check, no
 *       handle kept; tests/data/fuzz/grant-map-over-buffer).
 *   CA2  Arguments of a list (reservation extents, setup_table's frame
 *       list) go at buffer offset OFF_LIST, the struct at offset 0: one
 *       buffer page holds both.
 *   CA3  Ops that do not apply to the actor's kind (HVM ops on a PV actor)
 *       do nothing and return 0 (E4); an op number outside the table is
 *       -XEN_ENOSYS.
 *   CA4  fz_oracle: hv_audit_changed (quiet: a full audit's count,
 *       re-running only what may have changed, core/audit.h A1-A10; a full
 *       hv_audit with a memory stream for the report only when it fails),
 *       then the isolation checks (fuzz/isolation.h) over what they read
 *       that changed since their last run, which was clean since the run
 *       goes on (core/audit.h A11; the world's kept walk, isolation.c
 *       I8-I10); the first violation fills res (E3).  With the oracle
 *       off (fuzz_set_oracle, exec.c E10) it checks nothing.
 *   CA5  The actor is a well-behaved granter: it never changes the bits
 *       Xen owns in grant entries (GTF_reading / GTF_writing, grant
 *       invariant 24), its own or - a privileged actor having mapped
 *       another domain's grant-entry frame with pg_owner, which Xen lets
 *       the toolstack do - another domain's, however its stores reach
 *       them (tests/data/fuzz/grant-dom0-buffer-on-foreign-grant-frame).
 *       A program may map a grant-entry frame anywhere, its argument
 *       buffer included: a hypercall whose buffer page is such a frame is
 *       a no-op (its arguments and Xen's results would land in the
 *       entries), so is a GNTTABOP_copy whose destination gmfn is such a
 *       frame (Xen lets a PV guest copy into its own writable shared
 *       page: the bytes would overwrite its entries wholesale;
 *       tests/data/fuzz/grant-copy-into-grant-frame), so is a map or a
 *       copy through a ref whose entry grants a grant-entry frame, however
 *       the entry came to name one (a well-behaved granter grants none:
 *       the grantee would write Xen's bits of the granter's entries;
 *       tests/data/fuzz/grant-copy-via-ref-into-grant-frame,
 *       grant-map-granted-grant-frame-over-buffer), so is an
 *       mmuext_op that clears or copies over a domain's grant-entry frame
 *       (MMUEXT_CLEAR_PAGE / COPY_PAGE take only a writable type ref, which
 *       such a frame gives; tests/data/fuzz/grant-clear-grant-frame), and
 *       a guest store
 *       into such a frame keeps Xen's bits of the entry it writes (as
 *       FZ_OP_GNT_ENTRY does).  The audit then
 *       judges the hypervisor, not the guest's scribbles.  Nor does it
 *       rewrite the domid of an entry in use (GTF_reading or GTF_writing
 *       set): Xen's public grant_table.h says an in-use entry cannot be
 *       invalidated directly, and Xen never re-reads it for a pinned
 *       entry (map_grant_ref checks act->domid), so invariant 24's "the
 *       entry still names the grantee" holds for such a guest only.  Its
 *       frame, flags and the entries not in use stay the fuzzer's.
 *   CA6  A crashed domain runs nothing: Xen's domain_crash shuts the
 *       domain down and pauses its vCPUs for good, while hvlab's only
 *       records it (core/domctl.h).  A call whose actor's domain is
 *       crashed is a no-op (0).  Without this, a vCPU of a domain crashed
 *       for giving back its loaded root (core/hvm.c rule 4) loaded another
 *       CR3, the root frame was freed still shadowed, and the shadow audit
 *       judged a state Xen never reaches (tests/data/fuzz/shadow-crashed-*).
 *   CA7  The API contract of the grant ops: every GNTTABOP status the
 *       fuzzer reads back (map, unmap, unmap_and_replace, copy,
 *       setup_table, query_size, get_status_frames) is
 *       one of the GNTST_* codes <xen/grant_table.h> defines (0 down to
 *       the last of GNTTABOP_error_msgs); and a map whose refusal is
 *       decided by the state before the call gets the status Xen gives
 *       it: with host or device map asked, the granter a live domain with
 *       a table and ref one of its entries, an entry pinned for another
 *       grantee, or unpinned and naming another domain than the actor, is
 *       GNTST_general_error (Xen's map_grant_ref: the pin check and
 *       _set_status), or GNTST_no_space when the maptrack, taken first,
 *       is exhausted.  The first breach of a call is remembered and
 *       fz_oracle reports it after the call as "contract: grant status
 *       ..." (FZ_CONTRACT_GRANT).  It is taken (and cleared) as fz_oracle
 *       starts, so it never outlives the call that made it.
 *   CA8  FZ_OP_PFINFO is the toolstack's XEN_DOMCTL_getpageframeinfo3
 *       (core/domctl.h), issued by the privileged domain (fuzz/prog.h P3)
 *       on up to FZ_MAX_ITEMS frames of the domain the head pick names,
 *       as a PV toolstack passes them (mfns).  An unprivileged actor (the
 *       race surface runs every call as dom1, race.c RC3) is refused
 *       -EPERM with nothing read, as Xen refuses a domU's domctl.
 *   CA9  FZ_OP_FOREIGN_MAP is story B's mapper (XEN-NOTES 12.B, the
 *       p2m-race workload of scenarios/p2m-lookup-race.hvl): the
 *       privileged PV domain's mmu_update of one of its own mapping slots
 *       (empty slots of its first L1, past its RAM in the direct map: vCPU
 *       k owns FZ_FMAP_PER_VCPU of them and the slot pick chooses one)
 *       with foreigndom = the domain of the val pick
 *       (DOMID_SELF when that is the actor).  Any other actor: a no-op
 *       (E4).  The check of that workload is made on what the hypervisor
 *       did, not on what the fuzzer asked (the other vCPU may rewrite the
 *       request in the buffer while the call runs): while fz_foreign_watch
 *       is on, every writable translated foreign L1 entry mmu_update
 *       installs (core/mm/p2m.h p2m_foreign_map_observer, under the L1's
 *       page lock, no scheduling point in between) must map a frame the
 *       M2P gives to the gfn the hypervisor looked up.  The entry's
 *       reference pins the frame, and with p2m.lock=locked the lookup
 *       took it, so neither paging nor sharing can have moved the gfn
 *       away; a frame the M2P gives to another gfn or to sharing was
 *       installed from a stale lookup (p2m.lock=none).  The first such map
 *       of a run goes into the watched state (stale_maps, stale_text); the
 *       race surfaces' oracle reports it (fuzz/race.c RC9).
 *   CA10 FZ_OP_PAGING and FZ_OP_SHARING are story B's pager: XENMEM_
 *       paging_op nominate / evict / prep (op pick mod 3) and XENMEM_
 *       sharing_op nominate_gfn / share (mod 2) on the gfn of a FRAME pick,
 *       for the domain that pick names, issued as the workload does (Xen
 *       refuses an unprivileged caller).  A nominate's handle is kept in
 *       the run's state (pool.h Q6); share passes the handles of its two
 *       gfns, the client being the second pick's domain.
 *   CA11 A grant map with GNTMAP_contains_pte takes the machine address of
 *       a PTE as host_addr: its VA pick, when it names a frame role, gives
 *       that frame's slot (frame << 12 + slot * 8) plus bits 9-11 of the
 *       slot word as a byte offset - 0 an aligned entry, else a misaligned
 *       one (XSA-227's shape).  A raw word, a linear, user, M2P or
 *       non-canonical VA pick is passed as it resolves.  The program
 *       printer shows the pick as a VA with "(pte byte +N)".
 *   CA12 The grant surface also issues GNTTABOP_unmap_and_replace (the
 *       handle's host_addr or a VA pick, and a new_addr VA pick, whose
 *       entry Xen moves into the grant's slot: another grant's PTE is
 *       XSA-234's shape), get_status_frames (up to four frames into the
 *       buffer's list area, CA2) and get_version.  Their statuses come
 *       under CA7; a replace that leaves the buffer mapping another frame
 *       reads nothing back (CA1); a handle replaced is no longer held.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/domctl.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/hvm.h"
#include "core/grant/grant_table.h"
#include "core/grant/peek.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/mm/p2m.h"
#include "core/mm/pfinfo.h"
#include "core/options.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "fuzz/call.h"
#include "fuzz/isolation.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"

#define OFF_LIST    2048        /* CA2: the buffer's second argument area */
#define LD_BITMAP_BYTES (64 * 1024)

/* --- the ops ------------------------------------------------------------- */

static uint64_t R(struct fz_call_ctx *c, const struct fz_pick *p,
                  uint64_t *aux)
{
    return fz_resolve(c->w, c->st, c->actor, p, aux);
}

/* CA1: the buffer's pages [off, off + len) as the hypervisor sees them. */
static void buf_coherent(struct fz_call_ctx *c, size_t off, size_t len)
{
    uint64_t va = c->buf + off;
    for (uint64_t p = va & ~(uint64_t)(PAGE_SIZE - 1); p < va + len;
         p += PAGE_SIZE)
        mmu_invlpg_local(c->v, p);
}

/* CA1: the frame the buffer's first page maps now (a walk, not the TLB),
   INVALID_MFN when it maps none. */
static mfn_t buf_frame(struct fz_call_ctx *c)
{
    mfn_t mfn;
    return mmu_translate(c->v, c->buf, 0, &mfn) == 0 ? mfn : INVALID_MFN;
}

/* E2: place len bytes at buffer offset off; 0 or -1. */
static int put(struct fz_call_ctx *c, size_t off, const void *src, size_t len)
{
    buf_coherent(c, off, len);
    return mmu_write(c->v, c->buf + off, src, len) == MMU_OK ? 0 : -1;
}

static int get(struct fz_call_ctx *c, size_t off, void *dst, size_t len)
{
    buf_coherent(c, off, len);
    return mmu_read(c->v, c->buf + off, dst, len) == MMU_OK ? 0 : -1;
}

/* --- CA7: the grant ops' status contract ---------------------------------- */

static struct {
    bool set;
    char name[96];
    char detail[256];
} breach;

static void contract_breach(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void contract_breach(const char *name, const char *fmt, ...)
{
    if (breach.set)                     /* the first of the call */
        return;
    breach.set = true;
    snprintf(breach.name, sizeof(breach.name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(breach.detail, sizeof(breach.detail), fmt, ap);
    va_end(ap);
}

/* Is st one of the GNTST_* codes? */
static bool gntst_defined(int16_t st)
{
    static const char *const msgs[] = GNTTABOP_error_msgs;
    const int lowest = -(int)(sizeof(msgs) / sizeof(msgs[0]) - 1);
    return st <= GNTST_okay && st >= lowest;
}

static void check_status(struct fz_call_ctx *c, const char *op, int16_t st)
{
    if (!gntst_defined(st))
        contract_breach(FZ_CONTRACT_GRANT " not a GNTST code",
                        "d%u %s returned status %d, which <xen/grant_table.h> "
                        "does not define", c->v->d->domid, op, st);
}

/* CA7: the status Xen gives a map refused by the state before the call,
   or 1 when the state does not decide it (0 is never an expectation). */
static int16_t map_expected(struct fz_call_ctx *c,
                            const struct gnttab_map_grant_ref *op)
{
    struct gnttab_peek e;
    if (!(op->flags & (GNTMAP_host_map | GNTMAP_device_map)) ||
        c->v->d->kind != DOMAIN_PV)
        return 1;
    struct domain *rd = op->dom < HV_MAX_DOMAINS
                        ? machine_domain(c->w->m, op->dom) : NULL;
    if (!rd || atomic_load(&rd->is_dying) ||
        gnttab_peek_entry(rd, op->ref, &e))
        return 1;
    domid_t ld = c->v->d->domid;
    if (e.pin ? e.pin_domid != ld : e.entry_domid != ld)
        return GNTST_general_error;
    return 1;
}

static void check_map(struct fz_call_ctx *c, unsigned i, int16_t want,
                      const struct gnttab_map_grant_ref *op)
{
    if (want > 0 || op->status == want || op->status == GNTST_no_space ||
        !gntst_defined(op->status))
        return;
    contract_breach(FZ_CONTRACT_GRANT " not Xen's",
                    "d%u map_grant_ref item %u (d%u ref %u): status %d, "
                    "Xen gives %d for an entry pinned for or naming another "
                    "domain", c->v->d->domid, i, op->dom, op->ref, op->status,
                    want);
}

static long hcall(struct fz_call_ctx *c, unsigned op, uint64_t a1, uint64_t a2,
                  uint64_t a3, uint64_t a4)
{
    return hypercall(c->v, op, a1, a2, a3, a4, 0);
}

static long op_mmu_update(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct mmu_update req[FZ_MAX_ITEMS];
    for (unsigned i = 0; i < k->nitems; i++) {
        req[i].ptr = R(c, &k->pick[i][0], NULL);
        req[i].val = R(c, &k->pick[i][1], NULL);
    }
    if (put(c, 0, req, k->nitems * sizeof(req[0])))
        return 0;
    return hcall(c, __HYPERVISOR_mmu_update, c->buf, k->nitems, 0,
                 R(c, &k->head[0], NULL));
}

/* CA5: is mfn a grant-entry frame of the domain that owns it? */
static bool grant_frame_of_owner(struct fz_call_ctx *c, uint64_t mfn)
{
    struct machine *m = c->v->d->m;
    if (!mfn_valid(m, mfn))
        return false;
    uint16_t owner = mfn_to_page(m, mfn)->owner;
    struct domain *o = owner < HV_MAX_DOMAINS ? machine_domain(m, owner)
                                              : NULL;
    return o && gnttab_nr_shared_frames(o) && gnttab_is_shared_frame(o, mfn);
}

/* CA5: does entry ref of domain dom (DOMID_SELF: the actor's) grant a
   grant-entry frame?  A well-behaved granter never grants one, however
   the entry was written; a map or copy through such a ref is not issued. */
static bool ref_grants_grant_frame(struct fz_call_ctx *c, domid_t dom,
                                   grant_ref_t ref)
{
    struct domain *rd = dom == DOMID_SELF ? c->v->d
                      : dom < HV_MAX_DOMAINS ? machine_domain(c->v->d->m, dom)
                                             : NULL;
    struct gnttab_peek e;
    return rd && !gnttab_peek_entry(rd, ref, &e) &&
           grant_frame_of_owner(c, e.entry_frame);
}

static long op_mmuext(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct mmuext_op ops[FZ_MAX_ITEMS];
    memset(ops, 0, sizeof(ops));
    for (unsigned i = 0; i < k->nitems; i++) {
        unsigned cmd = (unsigned)R(c, &k->pick[i][0], NULL);
        ops[i].cmd = cmd;
        if (cmd == MMUEXT_INVLPG_LOCAL || cmd == MMUEXT_INVLPG_ALL ||
            cmd == MMUEXT_SET_LDT)
            ops[i].arg1.linear_addr = R(c, &k->pick[i][2], NULL);
        else
            ops[i].arg1.mfn = R(c, &k->pick[i][1], NULL);
        if (cmd == MMUEXT_COPY_PAGE)
            ops[i].arg2.src_mfn = R(c, &k->pick[i][3], NULL);
        else if (cmd == MMUEXT_SET_LDT)
            ops[i].arg2.nr_ents = (unsigned)R(c, &k->pick[i][3], NULL) & 0xff;
        /* CA5: no page cleared or copied over a grant-entry frame. */
        if ((cmd == MMUEXT_CLEAR_PAGE || cmd == MMUEXT_COPY_PAGE) &&
            grant_frame_of_owner(c, ops[i].arg1.mfn))
            return 0;
    }
    if (put(c, 0, ops, k->nitems * sizeof(ops[0])))
        return 0;
    return hcall(c, __HYPERVISOR_mmuext_op, c->buf, k->nitems, 0,
                 R(c, &k->head[0], NULL));
}

static uint64_t uvm_flags(struct fz_call_ctx *c, const struct fz_pick *p)
{
    uint64_t f = R(c, p, NULL);
    return p->raw ? f : (f & 7);
}

static long op_update_va(struct fz_call_ctx *c, const struct fz_call *k,
                         bool other)
{
    uint64_t va = R(c, &k->pick[0][0], NULL);
    uint64_t val = R(c, &k->pick[0][1], NULL);
    uint64_t fl = uvm_flags(c, &k->pick[0][2]);
    if (other)
        return hcall(c, __HYPERVISOR_update_va_mapping_otherdomain, va, val,
                     fl, R(c, &k->head[0], NULL));
    return hcall(c, __HYPERVISOR_update_va_mapping, va, val, fl, 0);
}

static long op_reservation(struct fz_call_ctx *c, const struct fz_call *k,
                           unsigned cmd)
{
    xen_pfn_t list[FZ_MAX_ITEMS];
    for (unsigned i = 0; i < k->nitems; i++)
        list[i] = R(c, &k->pick[i][0], NULL);
    struct xen_memory_reservation r;
    memset(&r, 0, sizeof(r));
    set_xen_guest_handle(r.extent_start,
                         (xen_pfn_t *)(uintptr_t)(c->buf + OFF_LIST));
    r.nr_extents = k->nitems;
    r.domid = (domid_t)R(c, &k->head[0], NULL);
    if (put(c, OFF_LIST, list, k->nitems * sizeof(list[0])) ||
        put(c, 0, &r, sizeof(r)))
        return 0;
    return hcall(c, __HYPERVISOR_memory_op, cmd, c->buf, 0, 0);
}

/* CA5: does va map a grant-entry frame of any domain (the actor's own, or
   another's that a privileged actor mapped with pg_owner)?  Asked only
   on a machine where some domain has them: the walk sets accessed bits,
   which must not change a surface without grants (the race surface's
   schedules). */
static bool grant_frame_at(struct fz_call_ctx *c, uint64_t va)
{
    const struct fz_world *w = c->w;
    bool any = false;
    for (unsigned i = 0; i < w->ndoms && !any; i++)
        any = w->dom[i].d && gnttab_nr_shared_frames(w->dom[i].d);
    mfn_t mfn;
    return any && mmu_translate(c->v, va, 0, &mfn) == 0 &&
           grant_frame_of_owner(c, mfn);
}

static long op_access(struct fz_call_ctx *c, const struct fz_call *k,
                      bool store)
{
    uint64_t va = R(c, &k->pick[0][0], NULL) & ~7ULL;
    bool user = R(c, &k->pick[0][store ? 2 : 1], NULL) & 1;
    bool was = c->v->in_kernel;
    uint64_t val = 0;
    int rc;
    c->v->in_kernel = !user;
    if (store) {
        val = R(c, &k->pick[0][1], NULL);
        uint64_t old;                   /* CA5: one 8-byte v1 entry */
        const uint64_t xen_bits = GTF_reading | GTF_writing;
        if (grant_frame_at(c, va) && mmu_load(c->v, va, 8, &old) == MMU_OK) {
            val = (val & ~xen_bits) | (old & xen_bits);
            if (old & xen_bits)         /* in use: keep its domid too */
                val = (val & ~0xffff0000ULL) | (old & 0xffff0000ULL);
        }
        rc = mmu_store(c->v, va, 8, val);
    } else
        rc = mmu_load(c->v, va, 8, &val);
    c->v->in_kernel = was;
    return rc;
}

/* CA11: the PTE machine address a contains_pte map's host_addr pick names. */
static uint64_t pte_maddr(struct fz_call_ctx *c, const struct fz_pick *p)
{
    if (p->raw || p->role >= FZ_R_NR)
        return R(c, p, NULL);
    struct fz_pick f = *p;
    f.kind = FZ_K_FRAME;
    return (R(c, &f, NULL) << PAGE_SHIFT) + (p->slot & 511) * 8 +
           ((p->slot >> 9) & 7);
}

static long op_gnt_map(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct gnttab_map_grant_ref op[FZ_MAX_ITEMS];
    memset(op, 0, sizeof(op));
    for (unsigned i = 0; i < k->nitems; i++) {
        uint64_t dom = 0;
        op[i].ref = (grant_ref_t)R(c, &k->pick[i][0], &dom);
        op[i].dom = (domid_t)dom;
        const struct fz_pick *fp = &k->pick[i][1];
        uint64_t f = R(c, fp, NULL);
        op[i].flags = fp->raw ? (uint32_t)f
                    : (uint32_t)((f & (GNTMAP_device_map | GNTMAP_readonly |
                                       GNTMAP_contains_pte)) |
                                 ((f & 0x80) ? (f & GNTMAP_host_map)
                                             : GNTMAP_host_map));
        op[i].host_addr = (op[i].flags & GNTMAP_contains_pte)   /* CA11 */
                          ? pte_maddr(c, &k->pick[i][2])
                          : R(c, &k->pick[i][2], NULL);
    }
    int16_t want[FZ_MAX_ITEMS];                         /* CA7 */
    for (unsigned i = 0; i < k->nitems; i++) {
        if (ref_grants_grant_frame(c, op[i].dom, op[i].ref))  /* CA5 */
            return 0;
        want[i] = map_expected(c, &op[i]);
    }
    if (put(c, 0, op, k->nitems * sizeof(op[0])))
        return 0;
    mfn_t frame = buf_frame(c);
    long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref,
                    c->buf, k->nitems, 0);
    /* CA1: an item mapped over the buffer itself (its host_addr, or a PTE
       that maps it): the statuses and handles Xen wrote are in the old
       frame, and what the guest reads back is the granted page */
    if (buf_frame(c) != frame || get(c, 0, op, k->nitems * sizeof(op[0])))
        return rc;
    for (unsigned i = 0; rc == 0 && i < k->nitems; i++) {
        check_status(c, "map_grant_ref", op[i].status);
        check_map(c, i, want[i], &op[i]);
    }
    for (unsigned i = 0; i < k->nitems; i++)
        if (op[i].status == GNTST_okay)
            fz_state_add_handle(c->st, c->actor, op[i].handle,
                                op[i].host_addr, op[i].dev_bus_addr);
    return rc;
}

/* An unmap item's handle (pick 0) and host_addr: the handle's own
   address when the own_addr pick (1) is below 192, else the VA pick (2).
   *own says which. */
static grant_handle_t unmap_target(struct fz_call_ctx *c,
                                   const struct fz_pick *pk,
                                   uint64_t *host_addr, bool *own)
{
    uint64_t addr = 0;
    grant_handle_t h = (grant_handle_t)R(c, &pk[0], &addr);
    *own = R(c, &pk[1], NULL) < 192;
    *host_addr = *own ? addr : R(c, &pk[2], NULL);
    return h;
}

static long op_gnt_unmap(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct gnttab_unmap_grant_ref op[FZ_MAX_ITEMS];
    memset(op, 0, sizeof(op));
    for (unsigned i = 0; i < k->nitems; i++) {
        bool own;
        op[i].handle = unmap_target(c, k->pick[i], &op[i].host_addr, &own);
        for (unsigned h = 0; h < c->st->nhandles; h++)
            if (c->st->handle[h].actor == c->actor &&
                c->st->handle[h].handle == op[i].handle && own)
                op[i].dev_bus_addr = c->st->handle[h].dev_bus_addr;
    }
    if (put(c, 0, op, k->nitems * sizeof(op[0])))
        return 0;
    long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref,
                    c->buf, k->nitems, 0);
    if (get(c, 0, op, k->nitems * sizeof(op[0])))
        return rc;
    for (unsigned i = 0; rc == 0 && i < k->nitems; i++)      /* CA7 */
        check_status(c, "unmap_grant_ref", op[i].status);
    for (unsigned i = 0; i < k->nitems; i++)
        if (op[i].status == GNTST_okay)
            fz_state_drop_handle(c->st, c->actor, op[i].handle);
    return rc;
}

/* CA12: GNTTABOP_unmap_and_replace.  host_addr is the handle's own
   address unless own_addr says otherwise, as for an unmap; new_addr is
   any VA pick, another grant's address included (XSA-234's shape). */
static long op_gnt_replace(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct gnttab_unmap_and_replace op[FZ_MAX_ITEMS];
    memset(op, 0, sizeof(op));
    for (unsigned i = 0; i < k->nitems; i++) {
        bool own;
        op[i].handle = unmap_target(c, k->pick[i], &op[i].host_addr, &own);
        op[i].new_addr = R(c, &k->pick[i][3], NULL);
    }
    if (put(c, 0, op, k->nitems * sizeof(op[0])))
        return 0;
    mfn_t frame = buf_frame(c);
    long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_unmap_and_replace,
                    c->buf, k->nitems, 0);
    /* CA1: new_addr may be the buffer's own address (its entry is
       stolen), or host_addr a grant mapped over it (the stolen entry
       takes its place): what Xen wrote is then out of the guest's
       reach. */
    if (buf_frame(c) != frame || get(c, 0, op, k->nitems * sizeof(op[0])))
        return rc;
    for (unsigned i = 0; rc == 0 && i < k->nitems; i++) {    /* CA7 */
        check_status(c, "unmap_and_replace", op[i].status);
        if (op[i].status == GNTST_okay)
            fz_state_drop_handle(c->st, c->actor, op[i].handle);
    }
    return rc;
}

static long op_gnt_copy(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct gnttab_copy op;
    memset(&op, 0, sizeof(op));
    uint64_t dom = 0;
    op.source.u.ref = (grant_ref_t)R(c, &k->pick[0][0], &dom);
    op.source.domid = (domid_t)dom;
    op.dest.u.gmfn = R(c, &k->pick[0][1], NULL);
    op.dest.domid = DOMID_SELF;
    op.len = (uint16_t)(R(c, &k->pick[0][2], NULL) * 16);
    const struct fz_pick *fp = &k->pick[0][3];
    uint64_t f = R(c, fp, NULL);
    op.flags = fp->raw ? (uint16_t)f
             : (uint16_t)(GNTCOPY_source_gref | (f & GNTCOPY_dest_gref));
    /* CA5: no copy into one of its own grant-entry frames, and none
       through a ref that grants one */
    if (!(op.flags & GNTCOPY_dest_gref) ?
        gnttab_is_shared_frame(c->v->d, op.dest.u.gmfn) :
        ref_grants_grant_frame(c, DOMID_SELF, op.dest.u.ref))
        return 0;
    if ((op.flags & GNTCOPY_source_gref) &&
        ref_grants_grant_frame(c, op.source.domid, op.source.u.ref))
        return 0;
    if (put(c, 0, &op, sizeof(op)))
        return 0;
    long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_copy, c->buf, 1,
                    0);
    if (rc == 0 && get(c, 0, &op, sizeof(op)) == 0)         /* CA7 */
        check_status(c, "copy", op.status);
    return rc;
}

static long op_gnt_misc(struct fz_call_ctx *c, const struct fz_call *k)
{
    switch (k->op) {
    case FZ_OP_GNT_QUERY: {
        struct gnttab_query_size q = {
            .dom = (domid_t)R(c, &k->pick[0][0], NULL) };
        if (put(c, 0, &q, sizeof(q)))
            return 0;
        long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_query_size,
                        c->buf, 1, 0);
        if (rc == 0 && get(c, 0, &q, sizeof(q)) == 0)       /* CA7 */
            check_status(c, "query_size", q.status);
        return rc;
    }
    case FZ_OP_GNT_SETUP: {
        struct gnttab_setup_table s;
        memset(&s, 0, sizeof(s));
        s.dom = (domid_t)R(c, &k->pick[0][0], NULL);
        s.nr_frames = (uint32_t)R(c, &k->pick[0][1], NULL) % 5;
        set_xen_guest_handle(s.frame_list,
                             (xen_pfn_t *)(uintptr_t)(c->buf + OFF_LIST));
        if (put(c, 0, &s, sizeof(s)))
            return 0;
        long rc = hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_setup_table,
                        c->buf, 1, 0);
        if (rc == 0 && get(c, 0, &s, sizeof(s)) == 0)       /* CA7 */
            check_status(c, "setup_table", s.status);
        return rc;
    }
    case FZ_OP_GNT_VERSION: {
        struct gnttab_set_version sv = {
            .version = (uint32_t)R(c, &k->pick[0][0], NULL) % 4 };
        if (put(c, 0, &sv, sizeof(sv)))
            return 0;
        return hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_set_version,
                     c->buf, 1, 0);
    }
    case FZ_OP_GNT_STATUS: {                                /* CA12 */
        struct gnttab_get_status_frames g;
        memset(&g, 0, sizeof(g));
        g.dom = (domid_t)R(c, &k->pick[0][0], NULL);
        g.nr_frames = (uint32_t)R(c, &k->pick[0][1], NULL) % 5;
        set_xen_guest_handle(g.frame_list,
                             (uint64_t *)(uintptr_t)(c->buf + OFF_LIST));
        if (put(c, 0, &g, sizeof(g)))
            return 0;
        long rc = hcall(c, __HYPERVISOR_grant_table_op,
                        GNTTABOP_get_status_frames, c->buf, 1, 0);
        if (rc == 0 && get(c, 0, &g, sizeof(g)) == 0)       /* CA7 */
            check_status(c, "get_status_frames", g.status);
        return rc;
    }
    case FZ_OP_GNT_GETVER: {                                /* CA12 */
        struct gnttab_get_version gv = {
            .dom = (domid_t)R(c, &k->pick[0][0], NULL) };
        if (put(c, 0, &gv, sizeof(gv)))
            return 0;
        return hcall(c, __HYPERVISOR_grant_table_op, GNTTABOP_get_version,
                     c->buf, 1, 0);
    }
    default: {          /* FZ_OP_GNT_ENTRY: the granter's own store */
        const struct fz_dom *fd = &c->w->dom[c->actor];
        if (fd->gnt_mfn == INVALID_MFN || !mfn_valid(c->w->m, fd->gnt_mfn))
            return 0;
        const struct page_info *pg = mfn_to_page(c->w->m, fd->gnt_mfn);
        if (pg->owner != fd->domid ||
            (atomic_load(&pg->count_info) & PGC_state) != PGC_state_inuse)
            return 0;
        grant_entry_v1_t *e = mfn_to_virt_w(c->w->m, fd->gnt_mfn);
        unsigned ref = (unsigned)R(c, &k->pick[0][0], NULL) %
                       (PAGE_SIZE / sizeof(*e));
        uint64_t fl = R(c, &k->pick[0][3], NULL);
        /* A well-behaved granter never clears the bits Xen owns
           (GTF_reading / GTF_writing of an entry in use) nor renames the
           grantee of an entry in use: keep them, so the audit's G24
           judges the hypervisor, not the guest. */
        /* Pinned is in use in either version (v2 keeps GTF_reading /
           GTF_writing in its status frames); a v1-sized store at ref lands
           in v2 entry ref / 2, whose header or frame we then leave alone.
           The store is the guest's, behind every mutator: tell the audit
           (core/audit.h A3). */
        struct gnttab_peek pk;
        bool v2 = gnttab_peek_entry(fd->d, 0, &pk) == 0 &&
                  pk.version == 2;
        if (v2 && gnttab_peek_entry(fd->d, ref / 2, &pk) == 0 &&
            pk.pin)
            return 0;
        HV_AUDIT_MARK(c->w->m, HV_MARK_STORE);
        uint16_t busy = e[ref].flags & (GTF_reading | GTF_writing);
        e[ref].frame = (uint32_t)R(c, &k->pick[0][2], NULL);
        if (!busy)
            e[ref].domid = (domid_t)R(c, &k->pick[0][1], NULL);
        uint16_t nf = (uint16_t)(k->pick[0][3].raw ? fl
                                 : (fl & 0x1f) | GTF_permit_access);
        __atomic_store_n(&e[ref].flags,
                         (uint16_t)((nf & ~(GTF_reading | GTF_writing)) |
                                    busy), __ATOMIC_RELEASE);
        return 0;
    }
    }
}

static long op_evtchn(struct fz_call_ctx *c, const struct fz_call *k)
{
    union {
        struct evtchn_alloc_unbound au;
        struct evtchn_bind_interdomain bi;
        struct evtchn_send se;
        struct evtchn_close cl;
    } u;
    unsigned cmd;
    memset(&u, 0, sizeof(u));
    switch (k->op) {
    case FZ_OP_EVT_UNBOUND:
        cmd = EVTCHNOP_alloc_unbound;
        u.au.dom = DOMID_SELF;
        u.au.remote_dom = (domid_t)R(c, &k->pick[0][0], NULL);
        break;
    case FZ_OP_EVT_BIND:
        cmd = EVTCHNOP_bind_interdomain;
        u.bi.remote_dom = (domid_t)R(c, &k->pick[0][0], NULL);
        u.bi.remote_port = (evtchn_port_t)R(c, &k->pick[0][1], NULL);
        break;
    case FZ_OP_EVT_SEND:
        cmd = EVTCHNOP_send;
        u.se.port = (evtchn_port_t)R(c, &k->pick[0][0], NULL);
        break;
    default:
        cmd = EVTCHNOP_close;
        u.cl.port = (evtchn_port_t)R(c, &k->pick[0][0], NULL);
        break;
    }
    if (put(c, 0, &u, sizeof(u)))
        return 0;
    return hcall(c, __HYPERVISOR_event_channel_op, cmd, c->buf, 0, 0);
}

static long op_hvm(struct fz_call_ctx *c, const struct fz_call *k)
{
    if (c->v->d->kind != DOMAIN_HVM)
        return 0;                               /* E4 */
    switch (k->op) {
    case FZ_OP_HVM_CR3:
        return hvm_set_cr3(c->v, R(c, &k->pick[0][0], NULL) << PAGE_SHIFT);
    case FZ_OP_HVM_INVLPG:
        hvm_invlpg(c->v, R(c, &k->pick[0][0], NULL));
        return 0;
    default:
        hvm_flush_tlb(c->v);
        return 0;
    }
}

static long op_shadow(struct fz_call_ctx *c, const struct fz_call *k)
{
    static uint8_t bitmap[LD_BITMAP_BYTES];
    static const uint32_t ops[] = {
        XEN_DOMCTL_SHADOW_OP_OFF, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
        XEN_DOMCTL_SHADOW_OP_CLEAN, XEN_DOMCTL_SHADOW_OP_PEEK,
    };
    const struct fz_pick *op = &k->pick[0][0];
    uint64_t o = R(c, op, NULL);
    struct xen_domctl_shadow_op sop;
    memset(&sop, 0, sizeof(sop));
    sop.op = op->raw ? (uint32_t)o : ops[o % 4];
    domid_t id = (domid_t)R(c, &k->pick[0][1], NULL);
    struct domain *d = machine_domain(c->w->m, id);
    if (!d)
        return -XEN_ESRCH;
    sop.pages = op->raw ? (o >> 32) % (LD_BITMAP_BYTES * 8)
                        : c->w->dom[(c->actor + k->pick[0][1].dom) %
                                    c->w->ndoms].nr_pages;
    return domctl_shadow_op(d, &sop, (o & 0x10) ? NULL : bitmap);
}

/* CA8: the toolstack's getpageframeinfo3 on frames of the named domain. */
static long op_pfinfo(struct fz_call_ctx *c, const struct fz_call *k)
{
    if (!c->v->d->is_privileged)
        return -XEN_EPERM;
    domid_t id = (domid_t)R(c, &k->head[0], NULL);
    struct domain *d = machine_domain(c->w->m,
                                      id == DOMID_SELF ? c->v->d->domid : id);
    xen_pfn_t arr[FZ_MAX_ITEMS];
    for (unsigned i = 0; i < k->nitems; i++)
        arr[i] = R(c, &k->pick[i][0], NULL);
    return domctl_getpageframeinfo3(d, arr, k->nitems);
}

/* --- CA9, CA10: story B's mapper and pager ------------------------------------ */

/* The world domain a pick names (the actor's own for a raw word). */
static const struct fz_dom *pick_dom(struct fz_call_ctx *c,
                                     const struct fz_pick *p)
{
    return &c->w->dom[(c->actor + (p->raw ? 0 : p->dom)) % c->w->ndoms];
}

static long op_foreign_map(struct fz_call_ctx *c, const struct fz_call *k)
{
    const struct fz_dom *me = &c->w->dom[c->actor];
    if (c->v->d->kind != DOMAIN_PV || !c->v->d->is_privileged ||
        !me->l1.n || c->v->vcpu_id >= FZ_FMAP_VCPUS)
        return 0;                                       /* E4 */
    mfn_t l1 = me->p2m[me->l1.first];
    unsigned slot = FZ_FMAP_FIRST + c->v->vcpu_id * FZ_FMAP_PER_VCPU +
                    (unsigned)(R(c, &k->pick[0][0], NULL) % FZ_FMAP_PER_VCPU);
    const struct fz_dom *fd = pick_dom(c, &k->pick[0][1]);
    unsigned foreigndom = fd == me ? DOMID_SELF : fd->domid;
    struct mmu_update req = {
        .ptr = (l1 << PAGE_SHIFT) + slot * sizeof(pte_t) + MMU_NORMAL_PT_UPDATE,
        .val = R(c, &k->pick[0][1], NULL),
    };
    if (put(c, 0, &req, sizeof(req)))
        return 0;
    return hcall(c, __HYPERVISOR_mmu_update, c->buf, 1, 0, foreigndom);
}

/* CA9: the check, on what the hypervisor installed. */
static struct fz_state *watched;

static void foreign_installed(struct domain *fd, pfn_t gfn, uint64_t l1e)
{
    struct machine *m = fd->m;
    mfn_t f = pte_mfn(l1e);
    if (!watched || !(l1e & _PAGE_RW) || !mfn_valid(m, f))
        return;
    uint64_t owner_gfn = get_gpfn_from_mfn(m, f);
    if (owner_gfn == gfn || watched->stale_maps++)
        return;
    const struct vcpu *v = current;
    snprintf(watched->stale_text, sizeof(watched->stale_text),
             "d%u v%u mapped d%u gfn %#llx writable and got mfn %#llx, "
             "which the M2P gives to %s %#llx (owner d%u); p2m.lock=%s\n",
             v ? v->d->domid : 0xffffu, v ? v->vcpu_id : 0u, fd->domid,
             (unsigned long long)gfn, (unsigned long long)f,
             owner_gfn == SHARED_M2P_ENTRY ? "sharing" : "gfn",
             (unsigned long long)owner_gfn, mfn_to_page(m, f)->owner,
             m->opt.p2m_lock == P2M_LOCK_NONE ? "none" : "locked");
}

void fz_foreign_watch(struct fz_state *st)
{
    watched = st;
    p2m_foreign_map_observer = st ? foreign_installed : NULL;
}

static long op_paging(struct fz_call_ctx *c, const struct fz_call *k)
{
    static const uint8_t ops[] = {
        XENMEM_paging_op_nominate, XENMEM_paging_op_evict,
        XENMEM_paging_op_prep,
    };
    struct xen_mem_paging_op po;
    memset(&po, 0, sizeof(po));
    po.op = ops[R(c, &k->pick[0][0], NULL) % 3];
    po.domain = pick_dom(c, &k->pick[0][1])->domid;
    po.gfn = R(c, &k->pick[0][1], NULL);
    if (put(c, 0, &po, sizeof(po)))
        return 0;
    return hcall(c, __HYPERVISOR_memory_op, XENMEM_paging_op, c->buf, 0, 0);
}

/* Q6: the handle kept for (domid, gfn), or 0. */
static uint64_t share_handle(const struct fz_state *st, uint16_t domid,
                             uint64_t gfn)
{
    for (unsigned i = 0; i < st->nshares; i++)
        if (st->share[i].domid == domid && st->share[i].gfn == gfn)
            return st->share[i].handle;
    return 0;
}

static void share_keep(struct fz_state *st, uint16_t domid, uint64_t gfn,
                       uint64_t handle)
{
    unsigned i = 0;
    while (i < st->nshares &&
           (st->share[i].domid != domid || st->share[i].gfn != gfn))
        i++;
    if (i == FZ_MAX_SHARES)
        i = (unsigned)(gfn % FZ_MAX_SHARES);    /* full: replace one */
    else if (i == st->nshares)
        st->nshares++;
    st->share[i] = (struct fz_share){ domid, gfn, handle };
}

static long op_sharing(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct xen_mem_sharing_op so;
    memset(&so, 0, sizeof(so));
    uint16_t dom = pick_dom(c, &k->pick[0][1])->domid;
    uint64_t gfn = R(c, &k->pick[0][1], NULL);
    so.domain = dom;
    if (R(c, &k->pick[0][0], NULL) % 2 == 0) {
        so.op = XENMEM_sharing_op_nominate_gfn;
        so.u.nominate.u.gfn = gfn;
    } else {
        uint16_t cdom = pick_dom(c, &k->pick[0][2])->domid;
        uint64_t cgfn = R(c, &k->pick[0][2], NULL);
        so.op = XENMEM_sharing_op_share;
        so.u.share.source_gfn = gfn;
        so.u.share.source_handle = share_handle(c->st, dom, gfn);
        so.u.share.client_gfn = cgfn;
        so.u.share.client_handle = share_handle(c->st, cdom, cgfn);
        so.u.share.client_domain = cdom;
    }
    if (put(c, 0, &so, sizeof(so)))
        return 0;
    long rc = hcall(c, __HYPERVISOR_memory_op, XENMEM_sharing_op, c->buf, 0,
                    0);
    if (rc == 0 && so.op == XENMEM_sharing_op_nominate_gfn &&
        get(c, 0, &so, sizeof(so)) == 0)
        share_keep(c->st, dom, gfn, so.u.nominate.handle);
    return rc;
}

long fz_run_as_actor(struct fz_call_ctx *c, const struct fz_call *k)
{
    struct fz_dom *fd = &c->w->dom[k->actor % c->w->ndoms];
    c->actor = k->actor % c->w->ndoms;
    c->v = fd->d->vcpu[k->vcpu % fd->d->nr_vcpus];
    c->buf = fz_directmap_va(fd->buf.first);
    current = c->v;
    long rc = fz_run_call(c, k);
    current = NULL;
    return rc;
}

long fz_run_call(struct fz_call_ctx *c, const struct fz_call *k)
{
    if (domain_crashed(c->v->d))        /* CA6: its vCPUs never run again */
        return 0;
    switch (k->op) {                    /* CA5: the ops that use the buffer */
    case FZ_OP_LOAD: case FZ_OP_STORE: case FZ_OP_GNT_ENTRY:
    case FZ_OP_HVM_CR3: case FZ_OP_HVM_INVLPG: case FZ_OP_HVM_FLUSH:
        break;
    default:
        if (grant_frame_at(c, c->buf))
            return 0;
    }
    switch (k->op) {
    case FZ_OP_MMU_UPDATE: return op_mmu_update(c, k);
    case FZ_OP_MMUEXT: return op_mmuext(c, k);
    case FZ_OP_UPDATE_VA: return op_update_va(c, k, false);
    case FZ_OP_UPDATE_VA_OTHER: return op_update_va(c, k, true);
    case FZ_OP_MEM_DECREASE:
        return op_reservation(c, k, XENMEM_decrease_reservation);
    case FZ_OP_MEM_POPULATE:
        return op_reservation(c, k, XENMEM_populate_physmap);
    case FZ_OP_VM_ASSIST:
        return hcall(c, __HYPERVISOR_vm_assist,
                     R(c, &k->pick[0][0], NULL) % 2,
                     R(c, &k->pick[0][1], NULL) % 8, 0, 0);
    case FZ_OP_LOAD: return op_access(c, k, false);
    case FZ_OP_STORE: return op_access(c, k, true);
    case FZ_OP_GNT_MAP: return op_gnt_map(c, k);
    case FZ_OP_GNT_UNMAP: return op_gnt_unmap(c, k);
    case FZ_OP_GNT_COPY: return op_gnt_copy(c, k);
    case FZ_OP_GNT_REPLACE: return op_gnt_replace(c, k);
    case FZ_OP_GNT_QUERY: case FZ_OP_GNT_SETUP: case FZ_OP_GNT_VERSION:
    case FZ_OP_GNT_STATUS: case FZ_OP_GNT_GETVER:
    case FZ_OP_GNT_ENTRY:
        return op_gnt_misc(c, k);
    case FZ_OP_EVT_UNBOUND: case FZ_OP_EVT_BIND: case FZ_OP_EVT_SEND:
    case FZ_OP_EVT_CLOSE:
        return op_evtchn(c, k);
    case FZ_OP_HVM_CR3: case FZ_OP_HVM_INVLPG: case FZ_OP_HVM_FLUSH:
        return op_hvm(c, k);
    case FZ_OP_SHADOW_OP: return op_shadow(c, k);
    case FZ_OP_PFINFO: return op_pfinfo(c, k);
    case FZ_OP_FOREIGN_MAP: return op_foreign_map(c, k);
    case FZ_OP_PAGING: return op_paging(c, k);
    case FZ_OP_SHARING: return op_sharing(c, k);
    default: return -XEN_ENOSYS;
    }
}

/* --- the oracle ----------------------------------------------------------- */

/* The invariant's name: the first line of the audit's text, up to the
   first ':' after "invariant" (or the whole line). */
void fz_invariant_name(const char *report, char *name, size_t len)
{
    size_t n = strcspn(report, "\n");
    const char *inv = strstr(report, "invariant");
    if (inv && (size_t)(inv - report) < n) {
        const char *colon = strchr(inv, ':');
        if (colon && (size_t)(colon - report) < n)
            n = (size_t)(colon - report);
    }
    if (n >= len)
        n = len - 1;
    memcpy(name, report, n);
    name[n] = '\0';
}

/* E3: 1 and *res filled on a violation. */
int fz_oracle(struct fz_world *w, struct fuzz_result *res)
{
    current = NULL;
    bool broke = breach.set;                    /* CA7: this call's */
    breach.set = false;
    if (!fuzz_oracle_on())                      /* fuzz/exec.c E10 */
        return 0;
    if (hv_audit_changed(w->m, NULL)) {     /* core/audit.h A1-A9 */
        char *text = NULL;
        size_t tlen = 0;
        FILE *ms = open_memstream(&text, &tlen);
        if (ms) {
            hv_audit(w->m, ms);
            fclose(ms);
        }
        const char *t = text ? text : "audit: violation";
        fz_invariant_name(t, res->invariant, sizeof(res->invariant));
        snprintf(res->report, sizeof(res->report), "%s", t);
        free(text);
        return 1;
    }
    /* The isolation walk, over what it reads that changed since its last
       (clean) run (CA4, core/audit.h A11, fuzz/isolation.c I9). */
    char detail[256];
    if (fz_iso_check(w->iso, res->invariant, sizeof(res->invariant),
                     detail, sizeof(detail))) {
        snprintf(res->report, sizeof(res->report), "%s: %s\n",
                 res->invariant, detail);
        return 1;
    }
    if (broke) {                                /* CA7 */
        snprintf(res->invariant, sizeof(res->invariant), "%s", breach.name);
        snprintf(res->report, sizeof(res->report), "%s: %s\n", breach.name,
                 breach.detail);
        return 1;
    }
    return 0;
}
