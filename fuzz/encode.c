/*
 * fuzz/encode.c - programs -> bytes, recorded hypercalls -> programs
 * (fuzz/encode.h C1-C4).
 *
 * The byte format is fuzz/prog.h's and fuzz/pool.c's; this file only
 * writes it.  The MMUEXT command list of fuzz/pool.c is private there: the
 * encoder finds a command's index by resolving the candidates (fz_resolve
 * needs no world for that kind) instead of keeping a copy of the list.
 */
#include <stdint.h>
#include <string.h>

#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/domain.h"
#include "core/grant/peek.h"
#include "core/guest_access.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/mm/ptwr.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "fuzz/encode.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"
#include "guest/guest.h"

#define NONCANON_BASE   0x0000800000000000ULL   /* fuzz/pool.c FZ_V_NONCANON */
#define PTR_ROLES       (FZ_R_BUF + 1)          /* fuzz/pool.c: PTR's roles */
#define REC_MAX_ITEMS   16                      /* per recorded hypercall */

/* --- C1: writing the bytes ------------------------------------------------ */

struct wbuf {
    uint8_t *p;
    size_t cap, len;
    bool over;
};

static void w8(struct wbuf *b, uint8_t v)
{
    if (b->len >= b->cap) {
        b->over = true;
        return;
    }
    b->p[b->len++] = v;
}

static void w16(struct wbuf *b, uint16_t v)
{
    w8(b, (uint8_t)v);
    w8(b, (uint8_t)(v >> 8));
}

static void w64(struct wbuf *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        w8(b, (uint8_t)(v >> (8 * i)));
}

static void put_pick(struct wbuf *b, uint8_t kind, const struct fz_pick *p)
{
    if (p->raw) {
        w8(b, FZ_RAW_BYTE);
        w64(b, p->raw_word);
        return;
    }
    w8(b, (uint8_t)((p->dom & 3) + 4 * p->role));
    w8(b, p->idx);
    if (kind == FZ_K_PTE)
        w8(b, p->flags);
    else if (kind == FZ_K_PTR || kind == FZ_K_VA)
        w16(b, p->slot);
}

static int op_selector(enum fuzz_surface s, uint8_t op)
{
    unsigned n;
    const uint8_t *ops = fz_surface_ops(s, &n);
    for (unsigned i = 0; i < n; i++)
        if (ops[i] == op)
            return (int)i;
    return -1;
}

size_t fz_encode_call(enum fuzz_surface s, const struct fz_call *c,
                      uint8_t *out, size_t cap)
{
    int sel = c->op < FZ_OP_NR ? op_selector(s, c->op) : -1;
    unsigned nd = fz_world_ndoms(s);
    if (sel < 0 || !nd)
        return 0;
    const struct fz_opdesc *d = &fz_ops[c->op];
    unsigned actor = d->actor == FZ_ACT_DOM0 ? 0 : c->actor % nd;
    unsigned vcpu = c->vcpu % fz_world_nr_vcpus(s, actor);
    struct wbuf b = { .p = out, .cap = cap };

    w8(&b, (uint8_t)sel);
    w8(&b, (uint8_t)(actor + nd * vcpu));
    for (unsigned h = 0; h < d->nhead; h++)
        put_pick(&b, d->head[h].kind, &c->head[h]);
    unsigned n = c->nitems ? c->nitems : 1;
    if (d->max_items > 1)
        w8(&b, (uint8_t)(n - 1));
    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < d->nargs; k++)
            put_pick(&b, d->arg[k].kind, &c->pick[i][k]);
    return b.over ? 0 : b.len;
}

size_t fz_encode_prog(const struct fz_prog *p, uint8_t *out, size_t cap)
{
    size_t len = 0;
    for (unsigned i = 0; i < p->ncalls; i++) {
        size_t n = fz_encode_call(p->surface, &p->call[i], out + len,
                                  cap - len);
        if (!n)
            return 0;
        len += n;
    }
    return len;
}

/* --- C2, C3: classifying values ---------------------------------------------- */

int fz_encode_domain(enum fuzz_surface s, unsigned id)
{
    return id < fz_world_ndoms(s) ? (int)id : -1;
}

static void raw(struct fz_pick *p, uint64_t val)
{
    p->raw = true;
    p->raw_word = val;
}

static uint8_t rel(enum fuzz_surface s, unsigned actor, unsigned w)
{
    unsigned nd = fz_world_ndoms(s);
    return (uint8_t)((w + nd - actor % nd) % nd);
}

/* A frame as the actor passes it (PV mfn, HVM gfn); roles below nroles. */
static void frame_pick(enum fuzz_surface s, const struct vcpu *v,
                       unsigned actor, uint64_t fr, unsigned nroles,
                       struct fz_pick *p)
{
    const struct domain *d = v->d;
    if (d->kind == DOMAIN_HVM) {
        if (fr < d->max_pages) {
            p->role = FZ_R_DATA;
            p->idx = (uint8_t)fr;
        } else if (fr - d->max_pages < 256 && nroles > FZ_R_SPARE) {
            p->role = FZ_R_SPARE;
            p->idx = (uint8_t)(fr - d->max_pages);
        } else {
            raw(p, fr);
        }
        return;
    }
    const struct machine *m = d->m;
    if (!mfn_valid(m, fr)) {
        raw(p, fr);
        return;
    }
    const struct page_info *pg = mfn_to_page(m, fr);
    int w = fz_encode_domain(s, pg->owner);
    if (w < 0) {
        raw(p, fr);
        return;
    }
    if (nroles > FZ_R_GNT &&
        gnttab_is_status_frame(machine_domain(m, pg->owner), fr)) {
        p->dom = rel(s, actor, (unsigned)w);    /* pool.h Q5 */
        p->role = FZ_R_GNT;
        p->idx = 1;
        return;
    }
    uint64_t ti = atomic_load(&pg->type_info);
    uint64_t t = (ti & PGT_type_mask) >> PGT_type_shift;
    unsigned role = t >= 1 && t <= 4 && (ti & PGT_count_mask)
                  ? (unsigned)(4 - t) : FZ_R_DATA;
    if (role >= nroles) {
        raw(p, fr);
        return;
    }
    p->dom = rel(s, actor, (unsigned)w);
    p->role = (uint8_t)role;
    p->idx = (uint8_t)get_gpfn_from_mfn(m, fr);
}

static void pte_pick(enum fuzz_surface s, const struct vcpu *v,
                     unsigned actor, uint64_t val, struct fz_pick *p)
{
    const uint64_t ad = _PAGE_ACCESSED | _PAGE_DIRTY;
    uint64_t fl = val & ~PTE_ADDR_MASK;
    int row = -1;
    for (unsigned r = 0; r < FZ_PTE_ROWS && row < 0; r++)
        if ((fz_pte_flags[r].bits & ~ad) == (fl & ~ad))
            row = (int)r;
    if (val == 0 || row < 0) {
        if (val) {
            raw(p, val);
            return;
        }
        /* Frame 0 (the boundary pick) with the not-present row: 0. */
        p->role = FZ_R_BOUND;
        for (unsigned r = 0; r < FZ_PTE_ROWS; r++)
            if (fz_pte_flags[r].bits == 0)
                p->flags = (uint8_t)r;
        return;
    }
    frame_pick(s, v, actor, pte_mfn(val), FZ_R_NR, p);
    if (p->raw)
        p->raw_word = val;
    else
        p->flags = (uint8_t)row;
}

static void va_pick(const struct vcpu *v, uint64_t va, struct fz_pick *p)
{
    uint64_t nr = v->d->max_pages;
    uint16_t slot = (uint16_t)((va & (PAGE_SIZE - 1)) >> 3);
    if (va & 7) {
        raw(p, va);
    } else if (va >= GUEST_DIRECTMAP_BASE &&
               (va - GUEST_DIRECTMAP_BASE) >> PAGE_SHIFT < nr) {
        p->role = FZ_R_DATA;
        p->idx = (uint8_t)((va - GUEST_DIRECTMAP_BASE) >> PAGE_SHIFT);
        p->slot = slot;
    } else if (va >= GUEST_USER_BASE &&
               (va - GUEST_USER_BASE) >> PAGE_SHIFT < 256) {
        p->role = FZ_V_USER;
        p->idx = (uint8_t)((va - GUEST_USER_BASE) >> PAGE_SHIFT);
        p->slot = slot;
    } else if (va >= MACH2PHYS_VIRT_START &&
               (va - MACH2PHYS_VIRT_START) >> PAGE_SHIFT < 256) {
        p->role = FZ_V_M2P;
        p->idx = (uint8_t)((va - MACH2PHYS_VIRT_START) >> PAGE_SHIFT);
        p->slot = slot;
    } else if (va >= NONCANON_BASE && !(va & (PAGE_SIZE - 1)) &&
               (va - NONCANON_BASE) >> PAGE_SHIFT < 256) {
        p->role = FZ_V_NONCANON;
        p->idx = (uint8_t)((va - NONCANON_BASE) >> PAGE_SHIFT);
    } else {
        raw(p, va);
    }
}

static void mmuext_pick(uint64_t cmd, struct fz_pick *p)
{
    static const struct fz_world none;
    struct fz_pick t = { .kind = FZ_K_MMUEXT };
    for (unsigned i = 0; i < 256; i++) {
        t.idx = (uint8_t)i;
        if (fz_resolve(&none, NULL, 0, &t, NULL) == cmd) {
            p->idx = (uint8_t)i;
            return;
        }
    }
    raw(p, cmd);
}

void fz_encode_value(enum fuzz_surface s, const struct vcpu *v,
                     unsigned actor, uint8_t kind, uint64_t val,
                     struct fz_pick *p)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    switch (kind) {
    case FZ_K_FRAME:
        frame_pick(s, v, actor, val, FZ_R_NR, p);
        break;
    case FZ_K_PFN:
        if (val < v->d->max_pages) {
            p->role = FZ_R_DATA;
            p->idx = (uint8_t)val;
        } else if (val - v->d->max_pages < 256) {
            p->role = FZ_R_SPARE;
            p->idx = (uint8_t)(val - v->d->max_pages);
        } else {
            raw(p, val);
        }
        break;
    case FZ_K_PTE:
        pte_pick(s, v, actor, val, p);
        break;
    case FZ_K_PTR: {
        unsigned cmd = (unsigned)(val & 3);
        if (cmd > MMU_PT_UPDATE_PRESERVE_AD || (val & 4)) {
            raw(p, val);
            break;
        }
        frame_pick(s, v, actor, val >> PAGE_SHIFT, PTR_ROLES, p);
        if (p->raw)
            p->raw_word = val;
        else
            p->slot = (uint16_t)(((val & (PAGE_SIZE - 1)) >> 3) | cmd << 9);
        break;
    }
    case FZ_K_VA:
        va_pick(v, val, p);
        break;
    case FZ_K_GREF:
    case FZ_K_HANDLE:
        p->idx = (uint8_t)val;
        break;
    case FZ_K_DOMID: {
        int w = val == DOMID_SELF ? -1 : fz_encode_domain(s, (unsigned)val);
        if (val == DOMID_SELF)
            p->dom = 3;
        else if (w >= 0)
            p->dom = rel(s, actor, (unsigned)w);
        else
            raw(p, val);
        break;
    }
    case FZ_K_MMUEXT:
        mmuext_pick(val, p);
        break;
    default:                            /* SMALL, FLAGS */
        if (val < 256)
            p->idx = (uint8_t)val;
        else
            raw(p, val);
        break;
    }
}

/* --- C4: recording ---------------------------------------------------------- */

struct rec {
    enum fuzz_surface s;
    struct vcpu *v;
    unsigned actor;
    struct fz_call *out;
    unsigned max, n;
};

/* A new call of op with nitems items, its picks' kinds set (as the decoder
   leaves them), or NULL. */
static struct fz_call *emit(struct rec *r, uint8_t op, unsigned nitems)
{
    if (op_selector(r->s, op) < 0 || r->n >= r->max)
        return NULL;
    const struct fz_opdesc *d = &fz_ops[op];
    struct fz_call *c = &r->out[r->n++];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->actor = (uint8_t)(d->actor == FZ_ACT_DOM0 ? 0 : r->actor);
    c->vcpu = (uint8_t)(r->v->vcpu_id % fz_world_nr_vcpus(r->s, c->actor));
    c->nitems = (uint8_t)nitems;
    for (unsigned h = 0; h < d->nhead; h++)
        c->head[h].kind = d->head[h].kind;
    for (unsigned i = 0; i < nitems; i++)
        for (unsigned k = 0; k < d->nargs; k++)
            c->pick[i][k].kind = d->arg[k].kind;
    return c;
}

static void val(struct rec *r, const struct fz_call *c, struct fz_pick *p,
                uint64_t v)
{
    fz_encode_value(r->s, r->v, c->actor, p->kind, v, p);
}

static void rawpick(struct fz_pick *p, uint64_t v)
{
    uint8_t kind = p->kind;
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    raw(p, v);
}

static bool listed(enum fuzz_surface s, uint8_t op)
{
    return op_selector(s, op) >= 0;
}

static void rec_mmu_update(struct rec *r, const uint64_t a[5])
{
    uint64_t count = a[1] & ~(uint64_t)MMU_UPDATE_PREEMPTED;
    if (count > REC_MAX_ITEMS)
        count = REC_MAX_ITEMS;
    for (uint64_t i = 0; i < count; i += FZ_MAX_ITEMS) {
        struct mmu_update req[FZ_MAX_ITEMS];
        unsigned n = (unsigned)(count - i < FZ_MAX_ITEMS ? count - i
                                                         : FZ_MAX_ITEMS);
        if (copy_from_guest(r->v, req, a[0] + i * sizeof(req[0]),
                            n * sizeof(req[0])))
            return;
        struct fz_call *c = emit(r, FZ_OP_MMU_UPDATE, n);
        if (!c)
            return;
        val(r, c, &c->head[0], a[3]);
        for (unsigned k = 0; k < n; k++) {
            val(r, c, &c->pick[k][0], req[k].ptr);
            if ((req[k].ptr & 3) == MMU_MACHPHYS_UPDATE)
                rawpick(&c->pick[k][1], req[k].val);
            else
                val(r, c, &c->pick[k][1], req[k].val);
        }
    }
}

static void rec_mmuext(struct rec *r, const uint64_t a[5])
{
    uint64_t count = a[1] & ~(uint64_t)MMU_UPDATE_PREEMPTED;
    if (count > REC_MAX_ITEMS)
        count = REC_MAX_ITEMS;
    for (uint64_t i = 0; i < count; i += 2) {
        struct mmuext_op op[2];
        unsigned n = count - i < 2 ? 1 : 2;
        if (copy_from_guest(r->v, op, a[0] + i * sizeof(op[0]),
                            n * sizeof(op[0])))
            return;
        struct fz_call *c = emit(r, FZ_OP_MMUEXT, n);
        if (!c)
            return;
        val(r, c, &c->head[0], a[3]);
        for (unsigned k = 0; k < n; k++) {
            unsigned cmd = op[k].cmd;
            val(r, c, &c->pick[k][0], cmd);
            switch (cmd) {
            case MMUEXT_INVLPG_LOCAL: case MMUEXT_INVLPG_ALL:
                val(r, c, &c->pick[k][2], op[k].arg1.linear_addr);
                break;
            case MMUEXT_SET_LDT:
                val(r, c, &c->pick[k][2], op[k].arg1.linear_addr);
                rawpick(&c->pick[k][3], op[k].arg2.nr_ents);
                break;
            case MMUEXT_TLB_FLUSH_LOCAL: case MMUEXT_TLB_FLUSH_ALL:
            case MMUEXT_TLB_FLUSH_MULTI: case MMUEXT_INVLPG_MULTI:
                break;
            case MMUEXT_COPY_PAGE:
                val(r, c, &c->pick[k][3], op[k].arg2.src_mfn);
                /* fall through */
            default:
                val(r, c, &c->pick[k][1], op[k].arg1.mfn);
                break;
            }
        }
    }
}

static void rec_update_va(struct rec *r, const uint64_t a[5], bool other)
{
    struct fz_call *c = emit(r, other ? FZ_OP_UPDATE_VA_OTHER
                                      : FZ_OP_UPDATE_VA, 1);
    if (!c)
        return;
    if (other)
        val(r, c, &c->head[0], a[3]);
    val(r, c, &c->pick[0][0], a[0]);
    val(r, c, &c->pick[0][1], a[1]);
    if (a[2] & ~7ULL)                   /* exec.c keeps 3 bits of a pick */
        rawpick(&c->pick[0][2], a[2]);
    else
        val(r, c, &c->pick[0][2], a[2]);
}

static void rec_memory_op(struct rec *r, const uint64_t a[5])
{
    unsigned cmd = (unsigned)(a[0] & MEMOP_CMD_MASK);
    uint8_t op = cmd == XENMEM_decrease_reservation ? FZ_OP_MEM_DECREASE
               : cmd == XENMEM_populate_physmap ? FZ_OP_MEM_POPULATE
               : FZ_OP_NR;
    struct xen_memory_reservation res;
    if (op == FZ_OP_NR || !listed(r->s, op) ||
        copy_from_guest(r->v, &res, a[1], sizeof(res)))
        return;
    uint64_t list = (uint64_t)(uintptr_t)res.extent_start.p;
    uint64_t count = res.nr_extents < REC_MAX_ITEMS ? res.nr_extents
                                                     : REC_MAX_ITEMS;
    for (uint64_t i = 0; i < count; i += FZ_MAX_ITEMS) {
        xen_pfn_t pfn[FZ_MAX_ITEMS];
        unsigned n = (unsigned)(count - i < FZ_MAX_ITEMS ? count - i
                                                         : FZ_MAX_ITEMS);
        if (copy_from_guest(r->v, pfn, list + i * sizeof(pfn[0]),
                            n * sizeof(pfn[0])))
            return;
        struct fz_call *c = emit(r, op, n);
        if (!c)
            return;
        val(r, c, &c->head[0], res.domid);
        for (unsigned k = 0; k < n; k++)
            val(r, c, &c->pick[k][0], pfn[k]);
    }
}

static void rec_gnt_map(struct rec *r, uint64_t uop, uint64_t count)
{
    for (uint64_t i = 0; i < count; i += 2) {
        struct gnttab_map_grant_ref op[2];
        unsigned n = count - i < 2 ? 1 : 2;
        if (copy_from_guest(r->v, op, uop + i * sizeof(op[0]),
                            n * sizeof(op[0])))
            return;
        struct fz_call *c = emit(r, FZ_OP_GNT_MAP, n);
        if (!c)
            return;
        for (unsigned k = 0; k < n; k++) {
            const uint32_t kept = GNTMAP_device_map | GNTMAP_readonly |
                                  GNTMAP_contains_pte;
            uint32_t f = op[k].flags;
            val(r, c, &c->pick[k][0], op[k].ref);
            if (f & ~(kept | GNTMAP_host_map))
                rawpick(&c->pick[k][1], f);
            else                        /* exec.c: 0x80 drops host_map */
                val(r, c, &c->pick[k][1], (f & kept) |
                    ((f & GNTMAP_host_map) ? 0 : 0x80));
            val(r, c, &c->pick[k][2], op[k].host_addr);
        }
    }
}

static void rec_gnt_unmap(struct rec *r, uint64_t uop, uint64_t count)
{
    for (uint64_t i = 0; i < count; i += 2) {
        struct gnttab_unmap_grant_ref op[2];
        unsigned n = count - i < 2 ? 1 : 2;
        if (copy_from_guest(r->v, op, uop + i * sizeof(op[0]),
                            n * sizeof(op[0])))
            return;
        struct fz_call *c = emit(r, FZ_OP_GNT_UNMAP, n);
        if (!c)
            return;
        for (unsigned k = 0; k < n; k++) {
            val(r, c, &c->pick[k][0], op[k].handle);
            val(r, c, &c->pick[k][1], 0);   /* the handle's own address */
            val(r, c, &c->pick[k][2], op[k].host_addr);
        }
    }
}

static void rec_gnt_replace(struct rec *r, uint64_t uop, uint64_t count)
{
    for (uint64_t i = 0; i < count; i += 2) {
        struct gnttab_unmap_and_replace op[2];
        unsigned n = count - i < 2 ? 1 : 2;
        if (copy_from_guest(r->v, op, uop + i * sizeof(op[0]),
                            n * sizeof(op[0])))
            return;
        struct fz_call *c = emit(r, FZ_OP_GNT_REPLACE, n);
        if (!c)
            return;
        for (unsigned k = 0; k < n; k++) {
            val(r, c, &c->pick[k][0], op[k].handle);
            val(r, c, &c->pick[k][1], 0);   /* the handle's own address */
            val(r, c, &c->pick[k][2], op[k].host_addr);
            val(r, c, &c->pick[k][3], op[k].new_addr);
        }
    }
}

static void rec_gnt_copy(struct rec *r, uint64_t uop, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        struct gnttab_copy op;
        if (copy_from_guest(r->v, &op, uop + i * sizeof(op), sizeof(op)))
            return;
        struct fz_call *c = emit(r, FZ_OP_GNT_COPY, 1);
        if (!c)
            return;
        bool sref = op.flags & GNTCOPY_source_gref;
        if (sref)
            val(r, c, &c->pick[0][0], op.source.u.ref);
        else
            rawpick(&c->pick[0][0], op.source.u.gmfn);
        if (op.flags & GNTCOPY_dest_gref)
            rawpick(&c->pick[0][1], op.dest.u.ref);
        else
            val(r, c, &c->pick[0][1], op.dest.u.gmfn);
        if (op.len % 16 == 0 && op.len / 16 < 256)
            val(r, c, &c->pick[0][2], op.len / 16);
        else
            rawpick(&c->pick[0][2], op.len / 16);
        if (sref && !(op.flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref)))
            val(r, c, &c->pick[0][3], op.flags & GNTCOPY_dest_gref);
        else
            rawpick(&c->pick[0][3], op.flags);
    }
}

static void rec_grant(struct rec *r, const uint64_t a[5])
{
    uint64_t count = a[2] < REC_MAX_ITEMS ? a[2] : REC_MAX_ITEMS;
    struct fz_call *c;
    switch (a[0]) {
    case GNTTABOP_map_grant_ref:
        rec_gnt_map(r, a[1], count);
        break;
    case GNTTABOP_unmap_grant_ref:
        rec_gnt_unmap(r, a[1], count);
        break;
    case GNTTABOP_copy:
        rec_gnt_copy(r, a[1], count);
        break;
    case GNTTABOP_unmap_and_replace:
        rec_gnt_replace(r, a[1], count);
        break;
    case GNTTABOP_get_status_frames: {
        struct gnttab_get_status_frames g;
        if (!copy_from_guest(r->v, &g, a[1], sizeof(g)) &&
            (c = emit(r, FZ_OP_GNT_STATUS, 1))) {
            val(r, c, &c->pick[0][0], g.dom);
            val(r, c, &c->pick[0][1], g.nr_frames);
        }
        break;
    }
    case GNTTABOP_get_version: {
        struct gnttab_get_version gv;
        if (!copy_from_guest(r->v, &gv, a[1], sizeof(gv)) &&
            (c = emit(r, FZ_OP_GNT_GETVER, 1)))
            val(r, c, &c->pick[0][0], gv.dom);
        break;
    }
    case GNTTABOP_query_size: {
        struct gnttab_query_size q;
        if (!copy_from_guest(r->v, &q, a[1], sizeof(q)) &&
            (c = emit(r, FZ_OP_GNT_QUERY, 1)))
            val(r, c, &c->pick[0][0], q.dom);
        break;
    }
    case GNTTABOP_setup_table: {
        struct gnttab_setup_table st;
        if (!copy_from_guest(r->v, &st, a[1], sizeof(st)) &&
            (c = emit(r, FZ_OP_GNT_SETUP, 1))) {
            val(r, c, &c->pick[0][0], st.dom);
            val(r, c, &c->pick[0][1], st.nr_frames);
        }
        break;
    }
    case GNTTABOP_set_version: {
        struct gnttab_set_version sv;
        if (!copy_from_guest(r->v, &sv, a[1], sizeof(sv)) &&
            (c = emit(r, FZ_OP_GNT_VERSION, 1)))
            val(r, c, &c->pick[0][0], sv.version);
        break;
    }
    default:
        break;
    }
}

static void rec_evtchn(struct rec *r, const uint64_t a[5])
{
    struct fz_call *c;
    switch (a[0]) {
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound au;
        if (!copy_from_guest(r->v, &au, a[1], sizeof(au)) &&
            (c = emit(r, FZ_OP_EVT_UNBOUND, 1)))
            val(r, c, &c->pick[0][0], au.remote_dom);
        break;
    }
    case EVTCHNOP_bind_interdomain: {
        struct evtchn_bind_interdomain bi;
        if (!copy_from_guest(r->v, &bi, a[1], sizeof(bi)) &&
            (c = emit(r, FZ_OP_EVT_BIND, 1))) {
            val(r, c, &c->pick[0][0], bi.remote_dom);
            val(r, c, &c->pick[0][1], bi.remote_port);
        }
        break;
    }
    case EVTCHNOP_send: {
        struct evtchn_send se;
        if (!copy_from_guest(r->v, &se, a[1], sizeof(se)) &&
            (c = emit(r, FZ_OP_EVT_SEND, 1)))
            val(r, c, &c->pick[0][0], se.port);
        break;
    }
    case EVTCHNOP_close: {
        struct evtchn_close cl;
        if (!copy_from_guest(r->v, &cl, a[1], sizeof(cl)) &&
            (c = emit(r, FZ_OP_EVT_CLOSE, 1)))
            val(r, c, &c->pick[0][0], cl.port);
        break;
    }
    default:
        break;
    }
}

unsigned fz_record(enum fuzz_surface s, struct vcpu *v, unsigned op,
                   const uint64_t args[5], struct fz_call *out,
                   unsigned max)
{
    int actor = v && v->d ? fz_encode_domain(s, v->d->domid) : -1;
    if (actor < 0 || !fz_world_ndoms(s))
        return 0;
    struct rec r = { .s = s, .v = v, .actor = (unsigned)actor, .out = out,
                     .max = max };
    switch (op) {
    case __HYPERVISOR_mmu_update: rec_mmu_update(&r, args); break;
    case __HYPERVISOR_mmuext_op: rec_mmuext(&r, args); break;
    case __HYPERVISOR_update_va_mapping: rec_update_va(&r, args, false); break;
    case __HYPERVISOR_update_va_mapping_otherdomain:
        rec_update_va(&r, args, true);
        break;
    case __HYPERVISOR_memory_op: rec_memory_op(&r, args); break;
    case __HYPERVISOR_vm_assist: {
        struct fz_call *c = emit(&r, FZ_OP_VM_ASSIST, 1);
        if (c) {
            val(&r, c, &c->pick[0][0], args[0]);
            val(&r, c, &c->pick[0][1], args[1]);
        }
        break;
    }
    case __HYPERVISOR_grant_table_op: rec_grant(&r, args); break;
    case __HYPERVISOR_event_channel_op: rec_evtchn(&r, args); break;
    default: break;
    }
    return r.n;
}
