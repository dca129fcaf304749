/*
 * fuzz/pool.c - decode, print and resolve picks (fuzz/pool.h Q1-Q4).
 *
 * Byte format of a pick (after fuzz/prog.h's reader):
 *     pool byte b     b >= FZ_RAW_BYTE: a raw u64 follows, nothing else;
 *                     else dom = b % 4, role = (b / 4) % (roles of kind)
 *     index byte
 *     FZ_K_PTE        + flag-row byte (% FZ_PTE_ROWS)
 *     FZ_K_PTR        + u16: slot (bits 0-8) and cmd (bits 9-10, % 3)
 *     FZ_K_VA         + u16: slot (bits 0-8)
 * Kinds without a domain or role (SMALL, MMUEXT, FLAGS, DOMID) use the
 * pool byte alone as their value's selector and the index byte as value.
 */
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>

#include "core/grant/peek.h"
#include "core/machine.h"
#include "core/pte.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"
#include "guest/guest.h"

#define RSVD_BIT51  (1ULL << 51)

const struct fz_pte_row fz_pte_flags[FZ_PTE_ROWS] = {
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY, "P|RW" },
    { _PAGE_PRESENT | _PAGE_ACCESSED, "P" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY,
      "P|RW|US" },
    { _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED, "P|US" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_PSE | _PAGE_ACCESSED, "P|RW|PSE" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_NX | _PAGE_ACCESSED, "P|RW|NX" },
    { _PAGE_PRESENT | _PAGE_RW | RSVD_BIT51, "P|RW|RSVD51" },
    { 0, "NP" },
    { _PAGE_RW | _PAGE_USER, "RW|US(NP)" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_PCD | _PAGE_PWT, "P|RW|PCD|PWT" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_GLOBAL, "P|RW|G" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_GNTTAB, "P|RW|GNTTAB" },
    { _PAGE_PRESENT | _PAGE_RW | 0x200, "P|RW|AVAIL" },
    { _PAGE_PRESENT | _PAGE_USER | _PAGE_PSE, "P|US|PSE" },
    { _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_NX, "P|RW|US|NX" },
    { _PAGE_PRESENT | _PAGE_RW | (1ULL << 52), "P|RW|AVAILHI" },
};

static const char *const role_name[FZ_V_NR] = {
    [FZ_R_L4] = "L4", [FZ_R_L3] = "L3", [FZ_R_L2] = "L2", [FZ_R_L1] = "L1",
    [FZ_R_DATA] = "data", [FZ_R_BUF] = "buf", [FZ_R_BOOT] = "boot",
    [FZ_R_GNT] = "gnttab", [FZ_R_SPARE] = "spare", [FZ_R_BOUND] = "bound",
    [FZ_V_LINEAR] = "linear", [FZ_V_USER] = "user", [FZ_V_M2P] = "m2p",
    [FZ_V_NONCANON] = "noncanon",
};

static const char *const ptr_cmd_name[3] = { "NORMAL", "MACHPHYS",
                                             "PRESERVE_AD" };

/* MMUEXT commands a pick chooses from. */
static const struct { unsigned cmd; const char *name; } mmuext_cmds[] = {
    { MMUEXT_PIN_L1_TABLE, "PIN_L1" }, { MMUEXT_PIN_L2_TABLE, "PIN_L2" },
    { MMUEXT_PIN_L3_TABLE, "PIN_L3" }, { MMUEXT_PIN_L4_TABLE, "PIN_L4" },
    { MMUEXT_UNPIN_TABLE, "UNPIN" }, { MMUEXT_NEW_BASEPTR, "NEW_BASEPTR" },
    { MMUEXT_TLB_FLUSH_LOCAL, "TLB_FLUSH_LOCAL" },
    { MMUEXT_INVLPG_LOCAL, "INVLPG_LOCAL" },
    { MMUEXT_TLB_FLUSH_ALL, "TLB_FLUSH_ALL" },
    { MMUEXT_INVLPG_ALL, "INVLPG_ALL" },
    { MMUEXT_NEW_USER_BASEPTR, "NEW_USER_BASEPTR" },
    { MMUEXT_CLEAR_PAGE, "CLEAR_PAGE" }, { MMUEXT_COPY_PAGE, "COPY_PAGE" },
    { MMUEXT_MARK_SUPER, "MARK_SUPER" }, { MMUEXT_SET_LDT, "SET_LDT" },
};
#define NR_MMUEXT (sizeof(mmuext_cmds) / sizeof(mmuext_cmds[0]))

/* How many roles each kind draws from. */
static unsigned kind_roles(uint8_t kind)
{
    switch (kind) {
    case FZ_K_FRAME: case FZ_K_PFN: case FZ_K_PTE: return FZ_R_NR;
    case FZ_K_PTR: return FZ_R_L1 + 1 + 2;      /* tables, data, buf */
    case FZ_K_VA: return FZ_V_NR;
    default: return 1;
    }
}

void fz_pick_decode(struct fz_reader *r, uint8_t kind, struct fz_pick *p)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    uint8_t b = fz_u8(r);
    if (b >= FZ_RAW_BYTE) {
        p->raw = true;
        p->raw_word = fz_u64(r);
        return;
    }
    p->dom = b % 4;
    p->role = (uint8_t)((b / 4) % kind_roles(kind));
    p->idx = fz_u8(r);
    if (kind == FZ_K_PTE)
        p->flags = fz_u8(r) % FZ_PTE_ROWS;
    else if (kind == FZ_K_PTR || kind == FZ_K_VA)
        p->slot = fz_u16(r);
}

/* --- printing -------------------------------------------------------------- */

static unsigned rel_dom(unsigned s, unsigned actor, unsigned dom)
{
    unsigned n = fz_world_ndoms((enum fuzz_surface)s);
    return n ? (actor + dom) % n : 0;
}

static void print_frame(unsigned s, unsigned actor, const struct fz_pick *p,
                        FILE *f)
{
    unsigned d = rel_dom(s, actor, p->dom);
    fprintf(f, "%s(dom%u,#%u)", role_name[p->role],
            fz_world_domid((enum fuzz_surface)s, d), p->idx);
}

void fz_pick_print(unsigned s, unsigned actor, const struct fz_pick *p,
                   FILE *f)
{
    if (p->raw) {
        fprintf(f, "raw %#llx", (unsigned long long)p->raw_word);
        return;
    }
    switch (p->kind) {
    case FZ_K_FRAME:
        print_frame(s, actor, p, f);
        break;
    case FZ_K_PFN:
        fprintf(f, "pfn ");
        print_frame(s, actor, p, f);
        break;
    case FZ_K_PTE:
        fprintf(f, "PTE(");
        print_frame(s, actor, p, f);
        fprintf(f, ", %s)", fz_pte_flags[p->flags].name);
        break;
    case FZ_K_PTR:
        print_frame(s, actor, p, f);
        fprintf(f, "+slot %u %s", p->slot & 511,
                ptr_cmd_name[((p->slot >> 9) & 3) % 3]);
        break;
    case FZ_K_VA:
        if (p->role < FZ_R_NR) {
            fprintf(f, "va(");
            print_frame(s, actor, p, f);
            fprintf(f, ")+slot %u", p->slot & 511);
            if ((p->slot >> 9) & 7)     /* fuzz/call.c CA11 only */
                fprintf(f, " (pte byte +%u)", (p->slot >> 9) & 7);
        } else {
            fprintf(f, "va %s #%u", role_name[p->role], p->idx);
        }
        break;
    case FZ_K_GREF:
        fprintf(f, "gref #%u", p->idx);
        break;
    case FZ_K_HANDLE:
        fprintf(f, "handle #%u", p->idx);
        break;
    case FZ_K_DOMID:
        if (p->dom == 3)
            fprintf(f, "DOMID_SELF");
        else
            fprintf(f, "dom%u", fz_world_domid((enum fuzz_surface)s,
                                               rel_dom(s, actor, p->dom)));
        break;
    case FZ_K_MMUEXT:
        fprintf(f, "%s", mmuext_cmds[p->idx % NR_MMUEXT].name);
        break;
    case FZ_K_FLAGS:
        fprintf(f, "flags %#x", p->idx);
        break;
    default:
        fprintf(f, "%u", p->idx);
        break;
    }
}

/* --- resolving -------------------------------------------------------------- */

static const struct fz_range *role_range(const struct fz_dom *fd, unsigned r)
{
    switch (r) {
    case FZ_R_L4: return &fd->l4;
    case FZ_R_L3: return &fd->l3;
    case FZ_R_L2: return &fd->l2;
    case FZ_R_L1: return &fd->l1;
    case FZ_R_DATA: return &fd->data;
    case FZ_R_BUF: return &fd->buf;
    case FZ_R_BOOT: return &fd->boot;
    default: return NULL;
    }
}

/* Q2: the pfn a frame pick names in domain fd (or the boundary). */
static uint64_t role_pfn(const struct fz_world *w, const struct fz_dom *fd,
                         const struct fz_pick *p)
{
    const struct fz_range *rg = role_range(fd, p->role);
    if (rg == &fd->l2 && fd->l2x.n) {   /* world.c W9: the two L2s */
        uint64_t k = p->idx % (rg->n + fd->l2x.n);
        return k < rg->n ? rg->first + k : fd->l2x.first + (k - rg->n);
    }
    if (rg)
        return rg->n ? rg->first + p->idx % rg->n : 0;
    switch (p->role) {
    case FZ_R_SPARE:
        return fd->nr_pages + p->idx;
    case FZ_R_GNT:
        return fd->nr_pages;            /* a pfn: the first unpopulated */
    default: {
        const uint64_t bound[4] = { 0, w->max_mfn - 1, w->max_mfn,
                                    (1ULL << 40) - 1 };
        return bound[p->idx % 4];
    }
    }
}

/* The frame number as the actor passes it: PV mfn, HVM gfn. */
static uint64_t role_frame(const struct fz_world *w, const struct fz_dom *fd,
                           const struct fz_pick *p)
{
    if (p->role == FZ_R_BOUND)
        return role_pfn(w, fd, p);
    if (p->role == FZ_R_GNT && !fd->hvm) {
        /* Q5: an odd index is the first v2 status frame, live. */
        mfn_t st = (p->idx & 1) ? gnttab_status_frame(fd->d, 0)
                                : INVALID_MFN;
        if (st != INVALID_MFN)
            return st;
        return fd->gnt_mfn != INVALID_MFN ? fd->gnt_mfn : 0;
    }
    uint64_t pfn = role_pfn(w, fd, p);
    if (fd->hvm)
        return pfn;
    if (p->role == FZ_R_SPARE)          /* frames past the world: free */
        return w->max_mfn > 1ULL + p->idx ? w->max_mfn - 1ULL - p->idx : 0;
    return pfn < fd->nr_pages ? fd->p2m[pfn] : 0;
}

static unsigned table_level(uint8_t role)
{
    return role <= FZ_R_L1 ? 4 - role : 0;
}

uint64_t fz_resolve(const struct fz_world *w, const struct fz_state *st,
                    unsigned actor, const struct fz_pick *p, uint64_t *aux)
{
    uint64_t dummy;
    if (!aux)
        aux = &dummy;
    *aux = 0;
    if (p->raw)
        return p->raw_word;
    const struct fz_dom *fd = &w->dom[w->ndoms ? (actor + p->dom) % w->ndoms
                                               : 0];
    switch (p->kind) {
    case FZ_K_FRAME:
        *aux = table_level(p->role);
        return role_frame(w, fd, p);
    case FZ_K_PFN:
        return role_pfn(w, fd, p);
    case FZ_K_PTE:
        return pte_make(role_frame(w, fd, p), 0) | fz_pte_flags[p->flags].bits;
    case FZ_K_PTR: {
        *aux = table_level(p->role);
        uint64_t fr = role_frame(w, fd, p);
        unsigned cmd = ((p->slot >> 9) & 3) % 3;
        if (cmd == MMU_MACHPHYS_UPDATE)
            return (fr << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
        return (fr << PAGE_SHIFT) + (p->slot & 511) * 8 + cmd;
    }
    case FZ_K_VA:
        if (p->role < FZ_R_NR) {
            *aux = table_level(p->role);
            uint64_t pfn = p->role == FZ_R_BOUND ? fd->nr_pages + p->idx
                         : role_pfn(w, fd, p);
            return fz_directmap_va(pfn) + (p->slot & 511) * 8;
        }
        switch (p->role) {
        case FZ_V_LINEAR: {
            uint64_t s = p->idx;            /* L4 slot s, mapped 4 times */
            uint64_t va = (s << 39) | (s << 30) | (s << 21) | (s << 12);
            if (s & 256)
                va |= 0xffff000000000000ULL;
            return va + (p->slot & 511) * 8;
        }
        case FZ_V_USER:
            return GUEST_USER_BASE + ((uint64_t)p->idx << PAGE_SHIFT) +
                   (p->slot & 511) * 8;
        case FZ_V_M2P:
            return MACH2PHYS_VIRT_START + (uint64_t)p->idx * 8 * 512 +
                   (p->slot & 511) * 8;
        default:
            return 0x0000800000000000ULL + ((uint64_t)p->idx << PAGE_SHIFT);
        }
    case FZ_K_GREF: {
        unsigned n = 0;
        for (unsigned i = 0; i < w->ngrefs; i++)
            n += w->gref[i].grantee == actor;
        if (!n) {
            *aux = DOMID_SELF;
            return p->idx;
        }
        unsigned k = p->idx % n;
        for (unsigned i = 0; i < w->ngrefs; i++)
            if (w->gref[i].grantee == actor && k-- == 0) {
                *aux = w->dom[w->gref[i].granter].domid;
                return w->gref[i].ref;
            }
        return 0;
    }
    case FZ_K_HANDLE: {
        unsigned n = 0;
        for (unsigned i = 0; i < st->nhandles; i++)
            n += st->handle[i].actor == actor;
        if (!n)
            return p->idx;              /* Q1: a handle nobody holds */
        unsigned k = p->idx % n;
        for (unsigned i = 0; i < st->nhandles; i++)
            if (st->handle[i].actor == actor && k-- == 0) {
                *aux = st->handle[i].host_addr;
                return st->handle[i].handle;
            }
        return 0;
    }
    case FZ_K_DOMID:
        return p->dom == 3 ? DOMID_SELF : fd->domid;
    case FZ_K_MMUEXT:
        return mmuext_cmds[p->idx % NR_MMUEXT].cmd;
    default:
        return p->idx;
    }
}

void fz_state_add_handle(struct fz_state *st, unsigned actor, uint32_t h,
                         uint64_t host_addr, uint64_t bus)
{
    if (st->nhandles >= FZ_MAX_HANDLES)
        return;
    st->handle[st->nhandles++] = (struct fz_handle){
        .actor = (uint8_t)actor, .handle = h, .host_addr = host_addr,
        .dev_bus_addr = bus };
}

void fz_state_drop_handle(struct fz_state *st, unsigned actor, uint32_t h)
{
    for (unsigned i = 0; i < st->nhandles; i++)
        if (st->handle[i].actor == actor && st->handle[i].handle == h) {
            st->handle[i] = st->handle[--st->nhandles];
            return;
        }
}
