/*
 * tests/unit/test-fuzz-encode.c - the fuzzer's encoder (fuzz/encode.h):
 * bytes -> program -> bytes round trips, recorded hypercalls become calls
 * of the intended op with picks of the intended kinds, and the committed
 * seed corpora decode and run clean.
 */
#include <dirent.h>
#include <stdint.h>
#include <string.h>

#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "core/hypercall.h"
#include "fuzz/encode.h"
#include "fuzz/fuzz.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"
#include "guest/guest.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static const enum fuzz_surface surfaces[] = { FUZZ_MM, FUZZ_GRANT,
                                              FUZZ_SHADOW };

/* Two programs are the same, call by call (the decoder zeroes each call,
   so the bytes compare). */
static bool same_prog(const struct fz_prog *a, const struct fz_prog *b)
{
    if (a->surface != b->surface || a->ncalls != b->ncalls)
        return false;
    for (unsigned i = 0; i < a->ncalls; i++)
        if (memcmp(&a->call[i], &b->call[i], sizeof(a->call[i])))
            return false;
    return true;
}

static struct fz_prog p1, p2;
static uint8_t in[1024], out[16384], out2[16384];

static void t_round_trip_random(void)
{
    unsigned checked = 0, raws = 0;
    for (unsigned si = 0; si < 3; si++)
        for (unsigned t = 0; t < 3000; t++) {
            size_t len = rnd8() % 160;
            for (size_t i = 0; i < len; i++) {
                uint8_t b = rnd8();
                /* raw picks now and then */
                in[i] = (b & 0xf) == 0 ? (uint8_t)(0xf0 | (b >> 4)) : rnd8();
            }
            fz_decode(surfaces[si], in, len, &p1);
            size_t n = fz_encode_prog(&p1, out, sizeof(out));
            CHECK(p1.ncalls == 0 || n > 0);
            fz_decode(surfaces[si], out, n, &p2);
            if (!same_prog(&p1, &p2)) {
                fprintf(stderr, "  surface %u input %u: round trip differs\n",
                        si, t);
                fz_print_prog(&p1, stderr);
                fz_print_prog(&p2, stderr);
                test_failures++;
                return;
            }
            /* canonical: encoding again gives the same bytes */
            size_t n2 = fz_encode_prog(&p2, out2, sizeof(out2));
            CHECK_EQ(n2, n);
            CHECK(!memcmp(out, out2, n));
            for (unsigned c = 0; c < p1.ncalls; c++)
                for (unsigned k = 0; k < FZ_MAX_ARGS; k++)
                    raws += p1.call[c].pick[0][k].raw;
            checked++;
        }
    CHECK_EQ(checked, 9000);
    CHECK(raws > 0);
}

/* Every op each surface lists, with every item count, round trips. */
static void t_round_trip_every_op(void)
{
    for (unsigned si = 0; si < 3; si++) {
        unsigned nops;
        const uint8_t *ops = fz_surface_ops(surfaces[si], &nops);
        REQUIRE(nops > 0);
        for (unsigned o = 0; o < nops; o++)
            for (unsigned items = 0; items < FZ_MAX_ITEMS; items++)
                for (unsigned t = 0; t < 20; t++) {
                    size_t len = 120;
                    for (size_t i = 0; i < len; i++)
                        in[i] = rnd8();
                    in[0] = (uint8_t)o;
                    in[2] = (uint8_t)items;     /* count byte if no head */
                    fz_decode(surfaces[si], in, len, &p1);
                    REQUIRE(p1.ncalls >= 1);
                    CHECK_EQ(p1.call[0].op, ops[o]);
                    size_t n = fz_encode_call(surfaces[si], &p1.call[0], out,
                                              sizeof(out));
                    REQUIRE(n > 0);
                    CHECK(out[0] < nops);
                    CHECK_EQ(ops[out[0]], ops[o]);
                    fz_decode(surfaces[si], out, n, &p2);
                    CHECK_EQ(p2.ncalls, 1);
                    CHECK(!memcmp(&p1.call[0], &p2.call[0],
                                  sizeof(p1.call[0])));
                }
    }
}

/* An op the surface does not list, or a buffer too small, writes nothing. */
static void t_refuses(void)
{
    struct fz_call c;
    memset(&c, 0, sizeof(c));
    c.op = FZ_OP_HVM_CR3;
    c.nitems = 1;
    CHECK_EQ(fz_encode_call(FUZZ_MM, &c, out, sizeof(out)), 0);
    CHECK(fz_encode_call(FUZZ_SHADOW, &c, out, sizeof(out)) > 0);
    c.op = FZ_OP_MMU_UPDATE;
    c.pick[0][0].kind = FZ_K_PTR;
    c.pick[0][1].kind = FZ_K_PTE;
    CHECK_EQ(fz_encode_call(FUZZ_MM, &c, out, 5), 0);
    CHECK(fz_encode_call(FUZZ_MM, &c, out, sizeof(out)) > 5);
}

/* --- recorded calls ---------------------------------------------------------- */

static struct pv_fixture f;

static void setup(void)
{
    REQUIRE(fix_setup(&f, NULL) == 0);
    REQUIRE(f.d->domid == FIX_DOMID);
}

/* Record, then check the encoded bytes decode to the recorded calls. */
static unsigned rec(enum fuzz_surface s, unsigned op, uint64_t a1,
                    uint64_t a2, uint64_t a3, uint64_t a4,
                    struct fz_call *c, unsigned max)
{
    const uint64_t args[5] = { a1, a2, a3, a4, 0 };
    unsigned n = fz_record(s, f.v, op, args, c, max);
    for (unsigned i = 0; i < n; i++) {
        size_t len = fz_encode_call(s, &c[i], out, sizeof(out));
        CHECK(len > 0);
        fz_decode(s, out, len, &p2);
        CHECK_EQ(p2.ncalls, 1);
        CHECK(!memcmp(&c[i], &p2.call[0], sizeof(c[i])));
    }
    return n;
}

static void t_record_mmu_update(void)
{
    setup();
    struct mmu_update req[5] = {
        { (f.l1 << PAGE_SHIFT) + 5 * 8 + MMU_NORMAL_PT_UPDATE,
          pte_make(fix_data(&f, 6), FIX_DATA_FLAGS) },
        { (f.l2 << PAGE_SHIFT) + 9 * 8 + MMU_PT_UPDATE_PRESERVE_AD,
          pte_make(f.l1, _PAGE_PRESENT | _PAGE_RW) },
        { (fix_data(&f, 2) << PAGE_SHIFT) + 8, 0 },
        { (f.l1 << PAGE_SHIFT) + 7 * 8,
          pte_make(fix_data(&f, 1), _PAGE_PRESENT | (1ULL << 55)) },
        { (f.l1 << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 12 },
    };
    uint64_t va = fix_put(&f, 0, req, sizeof(req));
    REQUIRE(va);
    struct fz_call c[4];
    CHECK_EQ(rec(FUZZ_MM, __HYPERVISOR_mmu_update, va, 5, 0, DOMID_SELF, c,
                 4), 2);                         /* 4 + 1 items */
    CHECK_EQ(c[0].op, FZ_OP_MMU_UPDATE);
    CHECK_EQ(c[0].actor, 1);                     /* domid 1: world dom 1 */
    CHECK_EQ(c[0].nitems, 4);
    CHECK_EQ(c[1].nitems, 1);
    CHECK_EQ(c[0].head[0].dom, 3);               /* DOMID_SELF */
    const struct fz_pick *p = &c[0].pick[0][0];
    CHECK(!p->raw);
    CHECK_EQ(p->role, FZ_R_L1);
    CHECK_EQ(p->dom, 0);
    CHECK_EQ(p->slot, 5);
    p = &c[0].pick[0][1];
    CHECK(!p->raw);
    CHECK_EQ(p->kind, FZ_K_PTE);
    CHECK_EQ(p->role, FZ_R_DATA);
    CHECK(!strcmp(fz_pte_flags[p->flags].name, "P|RW"));
    p = &c[0].pick[1][0];
    CHECK_EQ(p->role, FZ_R_L2);
    CHECK_EQ(p->slot, 9 | MMU_PT_UPDATE_PRESERVE_AD << 9);
    p = &c[0].pick[1][1];                        /* P|RW without A/D */
    CHECK(!p->raw);
    CHECK_EQ(p->role, FZ_R_L1);
    CHECK(!strcmp(fz_pte_flags[p->flags].name, "P|RW"));
    CHECK_EQ(c[0].pick[2][0].role, FZ_R_DATA);
    CHECK(!strcmp(fz_pte_flags[c[0].pick[2][1].flags].name, "NP"));
    CHECK_EQ(c[0].pick[2][1].role, FZ_R_BOUND);  /* a zero PTE */
    CHECK(c[0].pick[3][1].raw);                  /* no row has bit 55 */
    CHECK_HEX(c[0].pick[3][1].raw_word, req[3].val);
    CHECK_EQ(c[1].pick[0][0].slot >> 9, MMU_MACHPHYS_UPDATE);
    CHECK(c[1].pick[0][1].raw);                  /* a pfn, not a PTE */
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_record_mmuext_memop(void)
{
    setup();
    struct mmuext_op op[3];
    memset(op, 0, sizeof(op));
    op[0].cmd = MMUEXT_PIN_L2_TABLE;
    op[0].arg1.mfn = f.l2;
    op[1].cmd = MMUEXT_INVLPG_LOCAL;
    op[1].arg1.linear_addr = GUEST_USER_BASE + 3 * PAGE_SIZE;
    op[2].cmd = MMUEXT_COPY_PAGE;
    op[2].arg1.mfn = fix_data(&f, 3);
    op[2].arg2.src_mfn = f.l4;
    uint64_t va = fix_put(&f, 0, op, sizeof(op));
    struct fz_call c[4];
    CHECK_EQ(rec(FUZZ_MM, __HYPERVISOR_mmuext_op, va, 3, 0, FIX_DOMID, c, 4),
             2);
    CHECK_EQ(c[0].op, FZ_OP_MMUEXT);
    CHECK_EQ(c[0].head[0].dom, 0);               /* its own domid */
    CHECK(!c[0].head[0].raw);
    static const struct fz_world none;
    CHECK_EQ(fz_resolve(&none, NULL, 0, &c[0].pick[0][0], NULL),
             MMUEXT_PIN_L2_TABLE);
    CHECK_EQ(c[0].pick[0][1].role, FZ_R_L2);
    CHECK_EQ(fz_resolve(&none, NULL, 0, &c[0].pick[1][0], NULL),
             MMUEXT_INVLPG_LOCAL);
    CHECK_EQ(c[0].pick[1][2].role, FZ_V_USER);
    CHECK_EQ(c[0].pick[1][2].idx, 3);
    CHECK_EQ(c[1].pick[0][1].role, FZ_R_DATA);
    CHECK_EQ(c[1].pick[0][3].role, FZ_R_L4);

    /* decrease_reservation of an untyped frame, populate of a spare pfn */
    xen_pfn_t list[2] = { fix_spare(&f, 0), FIX_NR_FRAMES + 2 };
    struct xen_memory_reservation r;
    memset(&r, 0, sizeof(r));
    set_xen_guest_handle(r.extent_start,
                         (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + 512));
    r.nr_extents = 1;
    r.domid = DOMID_SELF;
    fix_put(&f, 512, list, sizeof(list));
    va = fix_put(&f, 0, &r, sizeof(r));
    CHECK_EQ(rec(FUZZ_MM, __HYPERVISOR_memory_op,
                 XENMEM_decrease_reservation, va, 0, 0, c, 4), 1);
    CHECK_EQ(c[0].op, FZ_OP_MEM_DECREASE);
    CHECK_EQ(c[0].pick[0][0].kind, FZ_K_FRAME);
    CHECK_EQ(c[0].pick[0][0].role, FZ_R_DATA);
    set_xen_guest_handle(r.extent_start,
                         (xen_pfn_t *)(uintptr_t)(FIX_BUF_VA + 520));
    va = fix_put(&f, 0, &r, sizeof(r));
    CHECK_EQ(rec(FUZZ_MM, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                 va, 0, 0, c, 4), 1);
    CHECK_EQ(c[0].op, FZ_OP_MEM_POPULATE);
    CHECK_EQ(c[0].pick[0][0].kind, FZ_K_PFN);
    /* max_pages 1024 by default: pfn 66 is populated-range data */
    CHECK_EQ(c[0].pick[0][0].role, FZ_R_DATA);
    /* the shadow surface lists memory_op but the grant surface no populate */
    CHECK_EQ(rec(FUZZ_GRANT, __HYPERVISOR_memory_op, XENMEM_populate_physmap,
                 va, 0, 0, c, 4), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_record_grant_evtchn(void)
{
    setup();
    struct gnttab_map_grant_ref m[3];
    memset(m, 0, sizeof(m));
    m[0].ref = 9;
    m[0].dom = 2;
    m[0].flags = GNTMAP_host_map | GNTMAP_readonly;
    m[0].host_addr = GUEST_DIRECTMAP_BASE + 7 * PAGE_SIZE;
    m[1].ref = 300;
    m[1].flags = GNTMAP_device_map;
    m[2].flags = GNTMAP_host_map | GNTMAP_application_map;
    uint64_t va = fix_put(&f, 0, m, sizeof(m));
    struct fz_call c[4];
    CHECK_EQ(rec(FUZZ_GRANT, __HYPERVISOR_grant_table_op,
                 GNTTABOP_map_grant_ref, va, 3, 0, c, 4), 2);
    CHECK_EQ(c[0].op, FZ_OP_GNT_MAP);
    CHECK_EQ(c[0].nitems, 2);
    CHECK_EQ(c[0].pick[0][0].kind, FZ_K_GREF);
    CHECK_EQ(c[0].pick[0][0].idx, 9);
    CHECK_EQ(c[0].pick[0][1].idx, GNTMAP_readonly);      /* + host_map */
    CHECK_EQ(c[0].pick[0][2].role, FZ_R_DATA);
    CHECK_EQ(c[0].pick[0][2].idx, 7);
    CHECK_EQ(c[0].pick[1][0].idx, 300 & 0xff);
    CHECK_EQ(c[0].pick[1][1].idx, 0x80 | GNTMAP_device_map);
    CHECK(c[1].pick[0][1].raw);                  /* application_map */
    /* mm does not list grant ops */
    CHECK_EQ(rec(FUZZ_MM, __HYPERVISOR_grant_table_op,
                 GNTTABOP_map_grant_ref, va, 3, 0, c, 4), 0);

    struct evtchn_bind_interdomain bi = { .remote_dom = 2,
                                          .remote_port = 5 };
    va = fix_put(&f, 0, &bi, sizeof(bi));
    CHECK_EQ(rec(FUZZ_GRANT, __HYPERVISOR_event_channel_op,
                 EVTCHNOP_bind_interdomain, va, 0, 0, c, 4), 1);
    CHECK_EQ(c[0].op, FZ_OP_EVT_BIND);
    CHECK_EQ(c[0].pick[0][0].dom, 1);            /* dom2 from dom1: +1 */
    CHECK_EQ(c[0].pick[0][1].idx, 5);
    struct evtchn_send se = { .port = 4 };
    va = fix_put(&f, 0, &se, sizeof(se));
    CHECK_EQ(rec(FUZZ_GRANT, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
                 va, 0, 0, c, 4), 1);
    CHECK_EQ(c[0].op, FZ_OP_EVT_SEND);
    CHECK_EQ(c[0].pick[0][0].idx, 4);
    /* an unreadable argument records nothing */
    CHECK_EQ(rec(FUZZ_GRANT, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
                 0x7000000000ULL, 0, 0, c, 4), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

static void t_values(void)
{
    setup();
    struct fz_pick p;
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_DOMID, 77, &p);
    CHECK(p.raw);
    CHECK_EQ(p.raw_word, 77);
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_DOMID, 0, &p);
    CHECK(!p.raw);
    CHECK_EQ(p.dom, 2);                          /* dom0 from dom1: +2 */
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_SMALL, 300, &p);
    CHECK(p.raw);
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_VA, 0x0000800000005000ULL, &p);
    CHECK_EQ(p.role, FZ_V_NONCANON);
    CHECK_EQ(p.idx, 5);
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_VA, MACH2PHYS_VIRT_START + 8, &p);
    CHECK_EQ(p.role, FZ_V_M2P);
    CHECK_EQ(p.slot, 1);
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_VA, GUEST_USER_BASE + 3, &p);
    CHECK(p.raw);                                /* not 8-aligned */
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_FRAME, f.m->nr_frames + 5, &p);
    CHECK(p.raw);                                /* no such frame */
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_MMUEXT, 12345, &p);
    CHECK(p.raw);
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_PTR, (f.l3 << PAGE_SHIFT) | 4, &p);
    CHECK(p.raw);                                /* not a slot */
    fz_encode_value(FUZZ_MM, f.v, 1, FZ_K_PTR, f.l3 << PAGE_SHIFT, &p);
    CHECK_EQ(p.role, FZ_R_L3);
    CHECK_EQ(fz_encode_domain(FUZZ_SHADOW, 2), -1);
    CHECK_EQ(fz_encode_domain(FUZZ_MM, 2), 2);
    /* a call of a domain the world does not have is not recorded */
    f.d->domid = 5;
    struct fz_call c[2];
    const uint64_t a[5] = { 0, 0, 0, 0, 0 };
    CHECK_EQ(fz_record(FUZZ_MM, f.v, __HYPERVISOR_vm_assist, a, c, 2), 0);
    f.d->domid = FIX_DOMID;
    CHECK_EQ(fz_record(FUZZ_MM, f.v, __HYPERVISOR_vm_assist, a, c, 2), 1);
    CHECK_EQ(c[0].op, FZ_OP_VM_ASSIST);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* --- the committed corpora ------------------------------------------------- */

static void t_seeds_clean(void)
{
    unsigned seen = 0;
    static struct fuzz_result res;
    static uint8_t buf[16384];
    for (unsigned si = 0; si < 3; si++) {
        char path[512];
        snprintf(path, sizeof(path), "fuzz/seeds/%s",
                 fuzz_surface_name(surfaces[si]));
        DIR *dir = opendir(path);
        if (!dir)
            SKIP("fuzz/seeds/SURFACE not found (run from the top of the "
                 "tree)");
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char file[1024];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            FILE *fp = fopen(file, "rb");
            REQUIRE(fp);
            size_t len = fread(buf, 1, sizeof(buf), fp);
            fclose(fp);
            /* canonical bytes: the encoder writes them back unchanged */
            fz_decode(surfaces[si], buf, len, &p1);
            CHECK(p1.ncalls >= 1 && p1.ncalls <= 32);
            CHECK_EQ(fz_encode_prog(&p1, out, sizeof(out)), len);
            CHECK(!memcmp(out, buf, len));
            if (fuzz_one(surfaces[si], buf, len, &res)) {
                fprintf(stderr, "  %s: %s after call %u\n", file,
                        res.invariant, res.at_call);
                test_failures++;
            }
            seen++;
        }
        closedir(dir);
    }
    CHECK(seen >= 3);
}

static const struct test tests[] = {
    { "random inputs decode, encode and decode to the same program, and "
      "encoding is canonical", t_round_trip_random },
    { "every op of every surface round trips with every item count",
      t_round_trip_every_op },
    { "an op the surface does not list, or a short buffer, encodes to "
      "nothing", t_refuses },
    { "a recorded mmu_update becomes L1/L2/data picks with its slots and "
      "PTE rows, cut into batches of 4", t_record_mmu_update },
    { "recorded mmuext_op and memory_op become MMUEXT, table, user-VA, "
      "frame and pfn picks", t_record_mmuext_memop },
    { "recorded grant maps and event-channel calls become gref, flag, VA, "
      "domid and port picks", t_record_grant_evtchn },
    { "unclassifiable values are raw words; unknown domains are not "
      "recorded", t_values },
    { "the committed seeds are canonical and run clean through fuzz_one",
      t_seeds_clean },
};

TEST_MAIN(tests)
