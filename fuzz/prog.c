/*
 * fuzz/prog.c - the byte reader, the op table, the decoder and the printer
 * (fuzz/prog.h P1-P3).
 */
#include <string.h>

#include "fuzz/prog.h"
#include "fuzz/world.h"

/* --- P1: the reader ------------------------------------------------------- */

uint8_t fz_u8(struct fz_reader *r)
{
    return r->pos < r->len ? r->p[r->pos++] : 0;
}

uint16_t fz_u16(struct fz_reader *r)
{
    uint16_t lo = fz_u8(r);
    return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8);
}

uint32_t fz_u32(struct fz_reader *r)
{
    uint32_t lo = fz_u16(r);
    return lo | (uint32_t)fz_u16(r) << 16;
}

uint64_t fz_u64(struct fz_reader *r)
{
    uint64_t lo = fz_u32(r);
    return lo | (uint64_t)fz_u32(r) << 32;
}

/* --- P2: the op table ------------------------------------------------------ */

#define A(k, l) { FZ_K_##k, l }

const struct fz_opdesc fz_ops[FZ_OP_NR] = {
    /* name                actor        head picks            items
                                                     per-item picks */
    [FZ_OP_MMU_UPDATE] = { "mmu_update", FZ_ACT_ANY, 1, { A(DOMID, "fd") },
                           4, 2, { A(PTR, "ptr"), A(PTE, "val") } },
    [FZ_OP_MMUEXT] = { "mmuext_op", FZ_ACT_ANY, 1, { A(DOMID, "fd") },
                       2, 4, { A(MMUEXT, "cmd"), A(FRAME, "mfn"),
                               A(VA, "va"), A(FRAME, "src") } },
    [FZ_OP_UPDATE_VA] = { "update_va_mapping", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 3, { A(VA, "va"), A(PTE, "val"),
                                  A(FLAGS, "flags") } },
    [FZ_OP_UPDATE_VA_OTHER] = { "update_va_mapping_otherdomain", FZ_ACT_DOM0,
                                1, { A(DOMID, "dom") },
                                1, 3, { A(VA, "va"), A(PTE, "val"),
                                        A(FLAGS, "flags") } },
    [FZ_OP_MEM_DECREASE] = { "decrease_reservation", FZ_ACT_ANY, 1,
                             { A(DOMID, "dom") },
                             4, 1, { A(FRAME, "gmfn") } },
    [FZ_OP_MEM_POPULATE] = { "populate_physmap", FZ_ACT_ANY, 1,
                             { A(DOMID, "dom") },
                             4, 1, { A(PFN, "gpfn") } },
    [FZ_OP_VM_ASSIST] = { "vm_assist", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 2, { A(SMALL, "cmd"), A(SMALL, "type") } },
    [FZ_OP_LOAD] = { "load", FZ_ACT_ANY, 0, { { 0, 0 } },
                     1, 2, { A(VA, "va"), A(SMALL, "user") } },
    [FZ_OP_STORE] = { "store", FZ_ACT_ANY, 0, { { 0, 0 } },
                      1, 3, { A(VA, "va"), A(PTE, "val"), A(SMALL, "user") } },
    [FZ_OP_GNT_MAP] = { "gnttab_map", FZ_ACT_ANY, 0, { { 0, 0 } },
                        2, 3, { A(GREF, "ref"), A(FLAGS, "flags"),
                                A(VA, "host_addr") } },
    [FZ_OP_GNT_UNMAP] = { "gnttab_unmap", FZ_ACT_ANY, 0, { { 0, 0 } },
                          2, 3, { A(HANDLE, "handle"), A(SMALL, "own_addr"),
                                  A(VA, "host_addr") } },
    [FZ_OP_GNT_COPY] = { "gnttab_copy", FZ_ACT_ANY, 0, { { 0, 0 } },
                         1, 4, { A(GREF, "src"), A(FRAME, "dst"),
                                 A(SMALL, "len"), A(FLAGS, "flags") } },
    [FZ_OP_GNT_QUERY] = { "gnttab_query_size", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 1, { A(DOMID, "dom") } },
    [FZ_OP_GNT_SETUP] = { "gnttab_setup_table", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 2, { A(DOMID, "dom"), A(SMALL, "nr") } },
    [FZ_OP_GNT_VERSION] = { "gnttab_set_version", FZ_ACT_ANY, 0, { { 0, 0 } },
                            1, 1, { A(SMALL, "version") } },
    [FZ_OP_GNT_ENTRY] = { "grant_entry_write", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 4, { A(SMALL, "ref"), A(DOMID, "to"),
                                  A(FRAME, "frame"), A(FLAGS, "flags") } },
    [FZ_OP_EVT_UNBOUND] = { "evtchn_alloc_unbound", FZ_ACT_ANY, 0,
                            { { 0, 0 } }, 1, 1, { A(DOMID, "remote") } },
    [FZ_OP_EVT_BIND] = { "evtchn_bind_interdomain", FZ_ACT_ANY, 0, { { 0, 0 } },
                         1, 2, { A(DOMID, "remote"), A(SMALL, "port") } },
    [FZ_OP_EVT_SEND] = { "evtchn_send", FZ_ACT_ANY, 0, { { 0, 0 } },
                         1, 1, { A(SMALL, "port") } },
    [FZ_OP_EVT_CLOSE] = { "evtchn_close", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 1, { A(SMALL, "port") } },
    [FZ_OP_HVM_CR3] = { "hvm_set_cr3", FZ_ACT_ANY, 0, { { 0, 0 } },
                        1, 1, { A(FRAME, "cr3") } },
    [FZ_OP_HVM_INVLPG] = { "hvm_invlpg", FZ_ACT_ANY, 0, { { 0, 0 } },
                           1, 1, { A(VA, "va") } },
    [FZ_OP_HVM_FLUSH] = { "hvm_flush_tlb", FZ_ACT_ANY, 0, { { 0, 0 } },
                          1, 0, { { 0, 0 } } },
    [FZ_OP_SHADOW_OP] = { "domctl_shadow_op", FZ_ACT_DOM0, 0, { { 0, 0 } },
                          1, 2, { A(SMALL, "op"), A(DOMID, "dom") } },
    [FZ_OP_PFINFO] = { "domctl_getpageframeinfo3", FZ_ACT_DOM0, 1,
                       { A(DOMID, "dom") }, 4, 1, { A(FRAME, "mfn") } },
    /* fuzz/call.c CA9-CA10: story B's mapper and pager (the domain of the
       val / gfn pick is the foreign domain). */
    [FZ_OP_FOREIGN_MAP] = { "foreign_map", FZ_ACT_ANY, 0, { { 0, 0 } },
                            1, 2, { A(SMALL, "slot"), A(PTE, "val") } },
    [FZ_OP_PAGING] = { "paging_op", FZ_ACT_ANY, 0, { { 0, 0 } },
                       1, 2, { A(SMALL, "op"), A(FRAME, "gfn") } },
    [FZ_OP_SHARING] = { "sharing_op", FZ_ACT_ANY, 0, { { 0, 0 } },
                        1, 3, { A(SMALL, "op"), A(FRAME, "gfn"),
                                A(FRAME, "client") } },
    /* fuzz/call.c CA12: the grant ops the first list lacked. */
    [FZ_OP_GNT_REPLACE] = { "gnttab_unmap_and_replace", FZ_ACT_ANY, 0,
                            { { 0, 0 } },
                            2, 4, { A(HANDLE, "handle"), A(SMALL, "own_addr"),
                                    A(VA, "host_addr"),
                                    A(VA, "new_addr") } },
    [FZ_OP_GNT_STATUS] = { "gnttab_get_status_frames", FZ_ACT_ANY, 0,
                           { { 0, 0 } },
                           1, 2, { A(DOMID, "dom"), A(SMALL, "nr") } },
    [FZ_OP_GNT_GETVER] = { "gnttab_get_version", FZ_ACT_ANY, 0, { { 0, 0 } },
                           1, 1, { A(DOMID, "dom") } },
};

/* The surfaces' op lists (repeats weigh an op up).  The mm list is its
   first twelve ops twice, the second STORE of the second copy replaced by
   the toolstack's getpageframeinfo3: a selector byte names the op it
   named before that op came (byte % 24 and byte % 12 pick the same op)
   except the bytes 23 (mod 24), so the checked-in mm and race inputs keep
   their meaning. */
static const uint8_t ops_mm[] = {
    FZ_OP_MMU_UPDATE, FZ_OP_MMU_UPDATE, FZ_OP_MMUEXT, FZ_OP_MMUEXT,
    FZ_OP_UPDATE_VA, FZ_OP_UPDATE_VA_OTHER, FZ_OP_MEM_DECREASE,
    FZ_OP_MEM_POPULATE, FZ_OP_VM_ASSIST, FZ_OP_LOAD, FZ_OP_STORE,
    FZ_OP_STORE,
    FZ_OP_MMU_UPDATE, FZ_OP_MMU_UPDATE, FZ_OP_MMUEXT, FZ_OP_MMUEXT,
    FZ_OP_UPDATE_VA, FZ_OP_UPDATE_VA_OTHER, FZ_OP_MEM_DECREASE,
    FZ_OP_MEM_POPULATE, FZ_OP_VM_ASSIST, FZ_OP_LOAD, FZ_OP_STORE,
    FZ_OP_PFINFO,
};
/* The grant list is its first nineteen ops twice, with three places of
   the second copy given to the grant ops that came later (CA12): the
   second gnttab_unmap (22) to unmap_and_replace, the second query_size
   (24) to get_status_frames, the second evtchn_close (31) to
   get_version.  As for mm, byte % 38 and byte % 19 pick the same op
   except the bytes 22, 24 and 31 (mod 38). */
static const uint8_t ops_grant[] = {
    FZ_OP_GNT_MAP, FZ_OP_GNT_MAP, FZ_OP_GNT_UNMAP, FZ_OP_GNT_UNMAP,
    FZ_OP_GNT_COPY, FZ_OP_GNT_QUERY, FZ_OP_GNT_SETUP, FZ_OP_GNT_VERSION,
    FZ_OP_GNT_ENTRY, FZ_OP_EVT_UNBOUND, FZ_OP_EVT_BIND, FZ_OP_EVT_SEND,
    FZ_OP_EVT_CLOSE, FZ_OP_MMU_UPDATE, FZ_OP_MMUEXT, FZ_OP_UPDATE_VA,
    FZ_OP_MEM_DECREASE, FZ_OP_LOAD, FZ_OP_STORE,
    FZ_OP_GNT_MAP, FZ_OP_GNT_MAP, FZ_OP_GNT_UNMAP, FZ_OP_GNT_REPLACE,
    FZ_OP_GNT_COPY, FZ_OP_GNT_STATUS, FZ_OP_GNT_SETUP, FZ_OP_GNT_VERSION,
    FZ_OP_GNT_ENTRY, FZ_OP_EVT_UNBOUND, FZ_OP_EVT_BIND, FZ_OP_EVT_SEND,
    FZ_OP_GNT_GETVER, FZ_OP_MMU_UPDATE, FZ_OP_MMUEXT, FZ_OP_UPDATE_VA,
    FZ_OP_MEM_DECREASE, FZ_OP_LOAD, FZ_OP_STORE,
};
static const uint8_t ops_shadow[] = {
    FZ_OP_STORE, FZ_OP_STORE, FZ_OP_STORE, FZ_OP_LOAD, FZ_OP_LOAD,
    FZ_OP_HVM_CR3, FZ_OP_HVM_INVLPG, FZ_OP_HVM_FLUSH, FZ_OP_MEM_DECREASE,
    FZ_OP_MEM_POPULATE, FZ_OP_SHADOW_OP, FZ_OP_SHADOW_OP,
};

/* FUZZ_HVMRACE (fuzz/hvmrace.h): story A's guest ops (the shadow list's
   accesses, CR3 loads and flushes), then story B's foreign maps and p2m
   paging and sharing; an op that is not the racing domain's does nothing
   or is refused, as its hypercall would be. */
static const uint8_t ops_hvmrace[] = {
    FZ_OP_STORE, FZ_OP_STORE, FZ_OP_STORE, FZ_OP_LOAD, FZ_OP_LOAD,
    FZ_OP_HVM_CR3, FZ_OP_HVM_CR3, FZ_OP_HVM_INVLPG, FZ_OP_HVM_FLUSH,
    FZ_OP_FOREIGN_MAP, FZ_OP_FOREIGN_MAP, FZ_OP_FOREIGN_MAP,
    FZ_OP_PAGING, FZ_OP_PAGING, FZ_OP_SHARING, FZ_OP_SHARING,
};

#define LEN(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

const uint8_t *fz_surface_ops(enum fuzz_surface s, unsigned *n)
{
    switch (s) {
    case FUZZ_MM: *n = LEN(ops_mm); return ops_mm;
    case FUZZ_GRANT: *n = LEN(ops_grant); return ops_grant;
    case FUZZ_SHADOW: *n = LEN(ops_shadow); return ops_shadow;
    case FUZZ_HVMRACE: *n = LEN(ops_hvmrace); return ops_hvmrace;
    default: *n = 0; return NULL;
    }
}

/* --- the decoder ------------------------------------------------------------ */

void fz_decode(enum fuzz_surface s, const uint8_t *data, size_t len,
               struct fz_prog *p)
{
    struct fz_reader r;
    unsigned nops;
    const uint8_t *ops = fz_surface_ops(s, &nops);
    unsigned ndoms = fz_world_ndoms(s);

    fz_reader_init(&r, data, len);
    p->surface = s;
    p->ncalls = 0;
    if (!nops || !ndoms)
        return;
    while (fz_left(&r) && p->ncalls < FUZZ_MAX_CALLS) {
        struct fz_call *c = &p->call[p->ncalls++];
        memset(c, 0, sizeof(*c));
        c->op = ops[fz_u8(&r) % nops];
        const struct fz_opdesc *d = &fz_ops[c->op];
        uint8_t a = fz_u8(&r);
        c->actor = d->actor == FZ_ACT_DOM0 ? 0 : (uint8_t)(a % ndoms);
        c->vcpu = (uint8_t)((a / ndoms) % fz_world_nr_vcpus(s, c->actor));
        for (unsigned h = 0; h < d->nhead; h++)
            fz_pick_decode(&r, d->head[h].kind, &c->head[h]);
        c->nitems = d->max_items > 1 ? 1 + fz_u8(&r) % d->max_items : 1;
        for (unsigned i = 0; i < c->nitems; i++)
            for (unsigned k = 0; k < d->nargs; k++)
                fz_pick_decode(&r, d->arg[k].kind, &c->pick[i][k]);
    }
}

/* The race surfaces' programs (fuzz/race.h; their input's split is
   fuzz/race_input.c). */
bool fz_is_race_surface(enum fuzz_surface s)
{
    return s == FUZZ_RACE || s == FUZZ_HVMRACE;
}

enum fuzz_surface fz_race_prog_surface(enum fuzz_surface s)
{
    return s == FUZZ_RACE ? FUZZ_MM : s;
}

unsigned fz_call_spans(enum fuzz_surface s, const uint8_t *data, size_t len,
                       size_t *start, size_t *end, unsigned max)
{
    unsigned n = 0;
    if (!data)
        len = 0;
    if (fz_is_race_surface(s) && len) {
        /* fuzz/race.h RC1, RC8: the calls follow the schedule prefix; their
           spans are offsets into the whole input. */
        struct fz_race_input in;
        fz_race_split_for(s, data, len, &in);
        if (!in.prog)
            return 0;
        size_t off = (size_t)(in.prog - data);
        n = fz_program_spans(fz_race_prog_surface(s), in.prog, in.nprog,
                             start, end, max);
        for (unsigned i = 0; i < n; i++) {
            start[i] += off;
            end[i] += off;
        }
        return n;
    }
    return fz_program_spans(s, data, len, start, end, max);
}

unsigned fz_program_spans(enum fuzz_surface s, const uint8_t *data,
                          size_t len, size_t *start, size_t *end, unsigned max)
{
    static struct fz_prog one;          /* big: not on the stack */
    unsigned n = 0;
    size_t pos = 0;
    /* A call's bytes do not depend on the calls before it (P1), so each
       call is the first call of the input that starts where it starts. */
    while (pos < len && n < max && n < FUZZ_MAX_CALLS) {
        struct fz_reader r;
        fz_reader_init(&r, data + pos, len - pos);
        fz_decode(s, data + pos, len - pos, &one);
        if (!one.ncalls)
            break;
        /* Measure the first call alone: decode it again through a reader
           so its length is the bytes consumed. */
        const struct fz_call *c = &one.call[0];
        const struct fz_opdesc *d = &fz_ops[c->op];
        (void)fz_u8(&r);
        (void)fz_u8(&r);
        struct fz_pick tmp;
        for (unsigned h = 0; h < d->nhead; h++)
            fz_pick_decode(&r, d->head[h].kind, &tmp);
        if (d->max_items > 1)
            (void)fz_u8(&r);
        for (unsigned i = 0; i < c->nitems; i++)
            for (unsigned k = 0; k < d->nargs; k++)
                fz_pick_decode(&r, d->arg[k].kind, &tmp);
        size_t used = r.pos ? r.pos : 1;
        start[n] = pos;
        end[n] = pos + used > len ? len : pos + used;
        n++;
        pos += used;
    }
    return n;
}

/* --- the printer ------------------------------------------------------------ */

void fz_print_call(enum fuzz_surface s, const struct fz_call *c, FILE *f)
{
    const struct fz_opdesc *d = &fz_ops[c->op];
    fprintf(f, "dom%u.v%u %s", fz_world_domid(s, c->actor), c->vcpu, d->name);
    for (unsigned h = 0; h < d->nhead; h++) {
        fprintf(f, " %s=", d->head[h].label);
        fz_pick_print(s, c->actor, &c->head[h], f);
    }
    fprintf(f, " [");
    for (unsigned i = 0; i < c->nitems; i++) {
        fprintf(f, "%s{", i ? ", " : "");
        for (unsigned k = 0; k < d->nargs; k++) {
            fprintf(f, "%s%s=", k ? ", " : "", d->arg[k].label);
            fz_pick_print(s, c->actor, &c->pick[i][k], f);
        }
        fprintf(f, "}");
    }
    fprintf(f, "]\n");
}

void fz_print_prog(const struct fz_prog *p, FILE *f)
{
    for (unsigned i = 0; i < p->ncalls; i++) {
        fprintf(f, "%2u: ", i);
        fz_print_call(p->surface, &p->call[i], f);
    }
}
