/*
 * tests/unit/test-fuzz-core.c - the fuzzer's core: decoder, printer, world
 * reset, deep programs and the oracle (fuzz/fuzz.h F1-F3).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "core/mm/page.h"
#include "core/mm/pv_pt.h"
#include "core/pte.h"
#include "fuzz/fuzz.h"
#include "fuzz/isolation.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/world.h"
#include "tests/unit/test.h"
#include "core/domctl.h"
#include "core/audit.h"
#include "core/domain.h"
#include "core/mm/frame.h"
#include "core/vcpu.h"

#include <xen/grant_table.h>

struct fz_world *fz_exec_world(enum fuzz_surface s);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

/* F1: any bytes decode, never past len (the copy is exactly len bytes on
   the heap, so a sanitizer build catches an over-read). */
static void t_decode_total(void)
{
    static struct fz_prog p;
    for (unsigned s = FUZZ_MM; s <= FUZZ_SHADOW; s++) {
        fz_decode(s, NULL, 0, &p);
        CHECK_EQ(p.ncalls, 0);
        for (unsigned round = 0; round < 300; round++) {
            size_t len = rnd8() * 8u + rnd8() % 8u;
            uint8_t *b = malloc(len ? len : 1);
            REQUIRE(b);
            for (size_t i = 0; i < len; i++)
                b[i] = rnd8();
            fz_decode(s, b, len, &p);
            CHECK(p.ncalls <= FUZZ_MAX_CALLS);
            CHECK(len == 0 || p.ncalls >= 1);
            for (unsigned i = 0; i < p.ncalls; i++) {
                CHECK(p.call[i].op < FZ_OP_NR);
                CHECK(p.call[i].nitems >= 1 &&
                      p.call[i].nitems <= FZ_MAX_ITEMS);
                CHECK(p.call[i].actor < fz_world_ndoms(s));
            }
            free(b);
        }
    }
}

static void t_truncated(void)
{
    static struct fz_prog p;
    uint8_t full[600];
    for (size_t i = 0; i < sizeof(full); i++)
        full[i] = rnd8();
    unsigned prev = 0;
    for (size_t len = 0; len <= sizeof(full); len++) {
        uint8_t *b = malloc(len ? len : 1);
        REQUIRE(b);
        memcpy(b, full, len);
        fz_decode(FUZZ_GRANT, b, len, &p);
        CHECK(p.ncalls >= prev || p.ncalls == FUZZ_MAX_CALLS);
        prev = p.ncalls;
        free(b);
    }
    CHECK(prev >= 1);
}

/* A valid mmu_update of dom1: L1 #0 slot 5 := data(dom1,#0), P. */
static const uint8_t prog_mmu[] = {
    0,              /* mmu_update */
    1,              /* dom1.v0 */
    3, 0,           /* fd = DOMID_SELF */
    0,              /* one item */
    FZ_R_L1 * 4, 0, 5, 0,           /* ptr = L1(self,#0)+slot 5 NORMAL */
    FZ_R_DATA * 4, 0, 1,            /* val = PTE(data(self,#0), P) */
};

static void t_print(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    REQUIRE(f);
    fuzz_print_program(FUZZ_MM, prog_mmu, sizeof(prog_mmu), f);
    fclose(f);
    CHECK(strstr(text, "dom1.v0 mmu_update fd=DOMID_SELF [{ptr=L1(dom1,#0)+slot"
                       " 5 NORMAL, val=PTE(data(dom1,#0), P)}]") != NULL);
    if (!strstr(text, "mmu_update"))
        fprintf(stderr, "  printed: %s", text);
    free(text);
}

static void t_names(void)
{
    CHECK(strcmp(fuzz_surface_name(FUZZ_GRANT), "grant") == 0);
    CHECK_EQ(fuzz_surface_find("shadow"), FUZZ_SHADOW);
    CHECK_EQ(fuzz_surface_find("nope"), -1);
    CHECK(fuzz_surface_name(FUZZ_NR) == NULL);
}

static pte_t l1_entry(struct fz_world *w, unsigned dom, pfn_t l1_index,
                      unsigned slot)
{
    const struct fz_dom *fd = &w->dom[dom];
    return pt_read_entry(w->m, fd->p2m[fd->l1.first + l1_index], slot);
}

static void t_mmu_update_deep(void)
{
    struct fuzz_result r;
    REQUIRE(fuzz_init(FUZZ_MM) == 0);
    CHECK_EQ(fuzz_one(FUZZ_MM, prog_mmu, sizeof(prog_mmu), &r), 0);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.calls_run, 1);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    REQUIRE(w);
    pte_t e = l1_entry(w, 1, 0, 5);
    CHECK_HEX(pte_mfn(e), w->dom[1].p2m[w->dom[1].data.first]);
    CHECK(pte_present(e) && !(e & _PAGE_RW));
    /* The next run starts from the snapshot again: slot 5 maps pfn 5. */
    static const uint8_t nop[] = { 9, 1, 0, 0, 0, 0, 0 };   /* a load */
    CHECK_EQ(fuzz_one(FUZZ_MM, nop, sizeof(nop), &r), 0);
    CHECK_HEX(pte_mfn(l1_entry(w, 1, 0, 5)), w->dom[1].p2m[5]);
}

static void t_pin_deep(void)
{
    static const uint8_t prog[] = {
        2, 1, 3, 0, 0,              /* mmuext_op dom1.v0 fd=SELF, 1 op */
        0, 0,                       /* PIN_L1 */
        FZ_R_L1 * 4, 1,             /* mfn = L1(dom1,#1) */
        0, 0, 0, 0,                 /* va (unused) */
        0, 0,                       /* src (unused) */
    };
    struct fuzz_result r;
    REQUIRE(fuzz_init(FUZZ_MM) == 0);
    CHECK_EQ(fuzz_one(FUZZ_MM, prog, sizeof(prog), &r), 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    mfn_t l1 = w->dom[1].p2m[w->dom[1].l1.first + 1];
    uint64_t t = atomic_load(&mfn_to_page(w->m, l1)->type_info);
    CHECK(t & PGT_pinned);
    CHECK_HEX(t & PGT_type_mask, PGT_l1_page_table);
}

static void t_grant_map_deep(void)
{
    static const uint8_t prog[] = {
        0, 2, 0,                    /* gnttab_map dom2.v0, 1 item */
        0, 0,                       /* gref #0: dom1's ref 8, read-write */
        0, 0,                       /* flags: host_map */
        FZ_R_DATA * 4, 0, 0, 0,     /* host_addr = va(data(dom2,#0)) */
    };
    struct fuzz_result r;
    REQUIRE(fuzz_init(FUZZ_GRANT) == 0);
    CHECK_EQ(fuzz_one(FUZZ_GRANT, prog, sizeof(prog), &r), 0);
    if (r.violation)
        fprintf(stderr, "  %s\n%s", r.invariant, r.report);
    struct fz_world *w = fz_exec_world(FUZZ_GRANT);
    pfn_t pfn = w->dom[2].data.first;
    pte_t e = l1_entry(w, 2, pfn / 512, pfn % 512);
    CHECK_HEX(pte_mfn(e), w->dom[1].p2m[w->dom[1].data.first]);
    CHECK(e & _PAGE_GNTTAB);
}

/* F2: same input, same result, same machine. */
static void t_same_twice(void)
{
    for (unsigned s = FUZZ_MM; s <= FUZZ_SHADOW; s++) {
        REQUIRE(fuzz_init(s) == 0);
        struct fz_world *w = fz_exec_world(s);
        for (unsigned round = 0; round < 6; round++) {
            uint8_t b[400];
            for (size_t i = 0; i < sizeof(b); i++)
                b[i] = rnd8();
            static struct fuzz_result r1, r2;
            int a = fuzz_one(s, b, sizeof(b), &r1);
            uint64_t h1 = fz_world_hash(w);
            int c = fuzz_one(s, b, sizeof(b), &r2);
            uint64_t h2 = fz_world_hash(w);
            CHECK_EQ(a, c);
            CHECK_EQ(r1.calls_run, r2.calls_run);
            CHECK_EQ(r1.violation, r2.violation);
            CHECK(strcmp(r1.invariant, r2.invariant) == 0);
            CHECK_HEX(h1, h2);
            if (r1.violation)
                fprintf(stderr, "  (surface %u round %u found: %s)\n", s,
                        round, r1.invariant);
        }
    }
}

/* W2: a reset gives the snapshot's exact machine. */
static void t_reset_exact(void)
{
    struct fz_world w;
    REQUIRE(fz_world_build(&w, FUZZ_GRANT) == 0);
    uint64_t h0 = fz_world_hash(&w);
    CHECK(h0 != 0);
    /* Dirty something, then reset. */
    *(uint64_t *)mfn_to_virt(w.m, w.dom[1].p2m[w.dom[1].data.first]) = 42;
    CHECK(fz_world_hash(&w) != h0);
    REQUIRE(fz_world_reset(&w) == 0);
    CHECK_HEX(fz_world_hash(&w), h0);
    CHECK_EQ(w.ngrefs, 16);
    fprintf(stderr, "  reset: %.1f us\n", w.reset_ns / 1000.0 / w.resets);
    fz_world_free(&w);
}

/* W9: every PV domU of the mm surface has a second L2: its last pfn, out
   of the data role, validated and hooked at L3 slot 1, read-only in the
   direct map; the L2 pool names both.  HVM worlds have none. */
static void t_second_l2(void)
{
    struct fz_world w;
    REQUIRE(fz_world_build(&w, FUZZ_MM) == 0);
    CHECK_EQ(w.dom[0].l2x.n, 0);                /* dom0: none */
    for (unsigned i = 1; i < 3; i++) {
        const struct fz_dom *fd = &w.dom[i];
        REQUIRE(fd->l2x.n == 1);
        CHECK_EQ(fd->l2x.first, fd->data.first + fd->data.n);
        CHECK_EQ(fd->l2x.first, fd->nr_pages - 1);
        mfn_t mfn = fd->p2m[fd->l2x.first];
        unsigned long t = mfn_to_page(w.m, mfn)->type_info;
        CHECK_HEX(t & PGT_type_mask, PGT_l2_page_table);
        CHECK(t & PGT_validated);
        const pte_t *l3 = mfn_to_virt(w.m, fd->p2m[fd->l3.first]);
        CHECK_HEX(pte_mfn(l3[1]), mfn);
        CHECK(pte_flags(l3[1]) & _PAGE_PRESENT);
        const pte_t *l1 = mfn_to_virt(w.m, fd->p2m[fd->l1.first +
                                                   fd->l2x.first / 512]);
        CHECK_HEX(pte_mfn(l1[fd->l2x.first % 512]), mfn);
        CHECK(!(pte_flags(l1[fd->l2x.first % 512]) & _PAGE_RW));
        /* The pool: L2 #0 the boot one, #1 this one, #2 the boot one. */
        struct fz_state st;
        memset(&st, 0, sizeof(st));
        struct fz_pick p = { .kind = FZ_K_FRAME, .dom = 0, .role = FZ_R_L2 };
        uint64_t got[3];
        for (unsigned k = 0; k < 3; k++) {
            p.idx = (uint8_t)k;
            got[k] = fz_resolve(&w, &st, i, &p, NULL);
        }
        CHECK_HEX(got[0], fd->p2m[fd->l2.first]);
        CHECK_HEX(got[1], mfn);
        CHECK_HEX(got[2], got[0]);
    }
    fz_world_free(&w);
    REQUIRE(fz_world_build(&w, FUZZ_SHADOW) == 0);
    CHECK_EQ(w.dom[1].l2x.n, 0);
    fz_world_free(&w);
}

/* F3: a broken page_info is named by the oracle, at the call it follows. */
static void t_oracle_audit(void)
{
    REQUIRE(fuzz_init(FUZZ_MM) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_MM);
    struct fuzz_result r;
    static const uint8_t nop[] = { 9, 1, 0, 0, 0, 0, 0 };
    CHECK_EQ(fuzz_one(FUZZ_MM, nop, sizeof(nop), &r), 0);
    /* Corrupt a general count after the reset the next run would do:
       reset first by running, then break, then run without a reset is not
       possible through fuzz_one, so break now and rely on the reset. */
    mfn_t mfn = w->dom[1].p2m[w->dom[1].data.first + 3];
    REQUIRE(fz_world_reset(w) == 0);
    atomic_fetch_add(&mfn_to_page(w->m, mfn)->count_info, 1);
    /* fuzz_one resets again (the world was touched), so the corruption is
       gone: the world is clean. */
    CHECK_EQ(fuzz_one(FUZZ_MM, nop, sizeof(nop), &r), 0);
    CHECK(!r.violation);
    /* A fresh world (never touched) is not reset before its first run. */
    struct fz_world *fresh = NULL;
    (void)fresh;
    REQUIRE(fuzz_init(FUZZ_SHADOW) == 0);
    struct fz_world *ws = fz_exec_world(FUZZ_SHADOW);
    mfn_t m2 = ws->dom[0].p2m[ws->dom[0].data.first];
    atomic_fetch_add(&mfn_to_page(ws->m, m2)->count_info, 1);
    hv_audit_forget(ws->m);             /* behind the mutators (audit.h A9) */
    static const uint8_t load[] = { 3, 1, 0, 0, 0, 0, 0 };
    CHECK_EQ(fuzz_one(FUZZ_SHADOW, load, sizeof(load), &r), 1);
    CHECK(r.violation);
    CHECK_EQ(r.at_call, 0);
    CHECK(strncmp(r.invariant, "audit: invariant 1", 18) == 0);
    CHECK(strstr(r.report, "mfn") != NULL);
    /* And the run after it is clean again. */
    CHECK_EQ(fuzz_one(FUZZ_SHADOW, load, sizeof(load), &r), 0);
}

/* The isolation checks name a foreign and a writable page-table mapping. */
static void t_oracle_isolation(void)
{
    struct fz_world w;
    char name[96], detail[256];
    REQUIRE(fz_world_build(&w, FUZZ_MM) == 0);
    CHECK_EQ(fz_isolation_check(w.m, name, sizeof(name), detail,
                                sizeof(detail)), 0);
    /* dom1's direct-map slot of data #0 now points at dom2's data #0. */
    pfn_t pfn = w.dom[1].data.first;
    pte_t *l1 = mfn_to_virt_w(w.m, w.dom[1].p2m[w.dom[1].l1.first + pfn / 512]);
    pte_t old = l1[pfn % 512];
    l1[pfn % 512] = pte_make(w.dom[2].p2m[w.dom[2].data.first],
                             _PAGE_PRESENT | _PAGE_RW);
    CHECK_EQ(fz_isolation_check(w.m, name, sizeof(name), detail,
                                sizeof(detail)), 1);
    CHECK(strcmp(name, "isolation: foreign frame mapped") == 0);
    /* ... at dom1's own L4, writable. */
    l1[pfn % 512] = pte_make(w.dom[1].p2m[w.dom[1].l4.first],
                             _PAGE_PRESENT | _PAGE_RW);
    CHECK_EQ(fz_isolation_check(w.m, name, sizeof(name), detail,
                                sizeof(detail)), 1);
    CHECK(strcmp(name, "isolation: writable page-table mapping") == 0);
    l1[pfn % 512] = old;
    CHECK_EQ(fz_isolation_check(w.m, name, sizeof(name), detail,
                                sizeof(detail)), 0);
    fz_world_free(&w);
}

/* The fuzzer's first finding (shadow surface, fuzz-smoke): a vCPU gives its
   loaded root back with decrease_reservation.  The shadows of a loaded
   root cannot all go, so the domain crashes as Xen's
   sh_remove_all_shadows_and_parents makes it; the vCPU's CR3 ref (Xen's
   HVM guest_table) keeps the frame allocated and shadowed, and the audit
   stays clean.  Before the fix the frame was freed with its shadow flags
   set ("shadow_flags 0x10 vs PGC_shadowed_pt 0"). */
static void t_finding_shadow_root_freed(void)
{
    static const uint8_t prog[] = { 0xbc, 0x03, 0xbc, 0x03 };
    REQUIRE(fuzz_init(FUZZ_SHADOW) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_SHADOW);
    static struct fuzz_result r;
    char text[512] = "";
    FILE *f = fmemopen(text, sizeof(text), "w");
    fuzz_print_program(FUZZ_SHADOW, prog, sizeof(prog), f);
    fclose(f);
    CHECK(strstr(text, "decrease_reservation") != NULL);
    CHECK(strstr(text, "L4(dom1,#0)") != NULL);
    CHECK_EQ(fuzz_one(FUZZ_SHADOW, prog, sizeof(prog), &r), 0);
    CHECK(!r.violation);
    if (r.violation)
        fprintf(stderr, "  %s\n%s\n", r.invariant, r.report);
    CHECK_EQ(r.calls_run, 1);
    struct domain *d = NULL;
    for (unsigned i = 0; i < w->ndoms; i++)
        if (w->dom[i].hvm)
            d = w->dom[i].d;
    REQUIRE(d != NULL);
    CHECK(domain_crashed(d) != NULL);
    CHECK(domain_crashed(d) && strstr(domain_crashed(d), "can't find all shadows"));
}

/* fuzz/call.c CA6 (tests/data/fuzz/shadow-crashed-cr3-b): dom1 gives back
   its loaded root and is crashed for it; its two CR3 loads after that are
   not run, as Xen runs no vCPU of a crashed domain.  Both vCPUs still hold
   the root frame, which stays allocated, and the audit stays clean.
   Before, the second load put the last ref and the frame was freed still
   shadowed ("shadow_flags 0x10 vs PGC_shadowed_pt 0"). */
static void t_crashed_domain_runs_nothing(void)
{
    static const uint8_t prog[] = {
        0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xdd, 0x0b, 0xdd, 0x00,
        0xdd, 0xdd, 0xdd,
    };
    REQUIRE(fuzz_init(FUZZ_SHADOW) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_SHADOW);
    unsigned h = 0;
    for (unsigned i = 0; i < w->ndoms; i++)
        if (w->dom[i].hvm)
            h = i;
    REQUIRE(w->dom[h].hvm && w->dom[h].nr_vcpus == 2);
    mfn_t root0 = w->dom[h].d->vcpu[0]->hvm_cr3_frame;
    mfn_t root1 = w->dom[h].d->vcpu[1]->hvm_cr3_frame;
    REQUIRE(root0 != INVALID_MFN);
    static struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_SHADOW, prog, sizeof(prog), &r), 0);
    if (r.violation)
        fprintf(stderr, "  %s\n%s\n", r.invariant, r.report);
    CHECK_EQ(r.calls_run, 3);
    struct domain *d = w->dom[h].d;
    CHECK(domain_crashed(d) != NULL);
    CHECK_HEX(d->vcpu[0]->hvm_cr3_frame, root0);        /* mfns repeat (F2) */
    CHECK_HEX(d->vcpu[1]->hvm_cr3_frame, root1);
    CHECK_HEX(atomic_load(&mfn_to_page(w->m, root0)->count_info) & PGC_state,
              PGC_state_inuse);
}

/* fuzz/call.c CA5 (tests/data/fuzz/grant-pinned-entry-domid): dom1 maps
   dom2's ref 13 read-only, then dom2 writes that entry naming itself.  The
   well-behaved granter keeps the domid of an entry in use (Xen keeps using
   act->domid; public grant_table.h: an in-use entry cannot be changed
   directly), so the entry still names dom1 and invariant 24 holds. */
static void t_granter_keeps_inuse_domid(void)
{
    static const uint8_t prog[] = {
        0x00, 0x0d, 0x0d, 0x00, 0x0d, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00,
        0x0d,
    };
    REQUIRE(fuzz_init(FUZZ_GRANT) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_GRANT);
    static struct fuzz_result r;
    CHECK_EQ(fuzz_one(FUZZ_GRANT, prog, sizeof(prog), &r), 0);
    if (r.violation)
        fprintf(stderr, "  %s\n%s\n", r.invariant, r.report);
    CHECK_EQ(r.calls_run, 2);
    REQUIRE(w->dom[2].gnt_mfn != INVALID_MFN);
    const grant_entry_v1_t *e = mfn_to_virt(w->m, w->dom[2].gnt_mfn);
    CHECK(e[13].flags & GTF_reading);                   /* the map pinned it */
    CHECK_EQ(e[13].domid, w->dom[1].domid);
}

/* E6: in fork mode every run happens in a child of the pristine world:
   the world this process holds never changes, the same input gives the
   same result, a violation comes back through shared memory, and a run
   that would leave state behind leaves none. */
static void t_fork_reset(void)
{
    fuzz_set_reset(FUZZ_RESET_FORK);
    REQUIRE(fuzz_init(FUZZ_GRANT) == 0);
    struct fz_world *w = fz_exec_world(FUZZ_GRANT);
    uint64_t h0 = fz_world_hash(w);
    static struct fuzz_result r1, r2;
    uint8_t b[300];
    unsigned found = 0;
    for (unsigned round = 0; round < 8; round++) {
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = rnd8();
        int a = fuzz_one(FUZZ_GRANT, b, sizeof(b), &r1);
        int c = fuzz_one(FUZZ_GRANT, b, sizeof(b), &r2);
        CHECK_EQ(a, c);
        CHECK_EQ(r1.calls_run, r2.calls_run);
        CHECK(strcmp(r1.invariant, r2.invariant) == 0);
        CHECK_HEX(fz_world_hash(w), h0);        /* never touched here */
        found += (unsigned)a;
    }
    /* A violation comes back: the page_info corrupted in this process's
       world is seen by the child's audit at its first call. */
    mfn_t mfn = w->dom[1].p2m[w->dom[1].data.first + 2];
    atomic_fetch_add(&mfn_to_page(w->m, mfn)->count_info, 1);
    hv_audit_forget(w->m);              /* behind the mutators (audit.h A9) */
    static const uint8_t nop[] = { 9, 1, 0, 0, 0, 0, 0 };
    CHECK_EQ(fuzz_one(FUZZ_GRANT, nop, sizeof(nop), &r1), 1);
    CHECK(r1.violation);
    CHECK(strncmp(r1.invariant, "audit: invariant 1", 18) == 0);
    CHECK(strstr(r1.report, "mfn") != NULL);
    atomic_fetch_sub(&mfn_to_page(w->m, mfn)->count_info, 1);
    CHECK_HEX(fz_world_hash(w), h0);
    (void)found;
}

static const struct test tests[] = {
    { "fork mode: runs in a child, the world stays pristine, results come back", t_fork_reset },
    { "the shadow finding: giving back the loaded root crashes the domain, audit clean",
      t_finding_shadow_root_freed },
    { "a crashed domain's calls are not run: its vCPUs keep the given-back root",
      t_crashed_domain_runs_nothing },
    { "the granter keeps the domid of an entry in use, invariant 24 holds",
      t_granter_keeps_inuse_domid },
    { "decoding random inputs of every length is total", t_decode_total },
    { "every truncation of an input decodes, to a prefix", t_truncated },
    { "a program prints one line per call with pool names", t_print },
    { "surfaces have names and are found by them", t_names },
    { "a valid mmu_update succeeds and the next run undoes it",
      t_mmu_update_deep },
    { "a pin through mmuext_op reaches the frame", t_pin_deep },
    { "a grant map of a granted ref succeeds", t_grant_map_deep },
    { "the same input twice gives the same result and machine",
      t_same_twice },
    { "a reset restores the snapshot's exact machine", t_reset_exact },
    { "every PV domU has a second L2, validated at L3 slot 1 and read-only "
      "in its direct map; the L2 pool names both (W9)", t_second_l2 },
    { "a corrupted page_info is named by the audit oracle", t_oracle_audit },
    { "the isolation oracle names foreign and writable-table mappings",
      t_oracle_isolation },
};

TEST_MAIN(tests)
