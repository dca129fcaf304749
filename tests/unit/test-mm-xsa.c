/*
 * tests/unit/test-mm-xsa.c - the mm bug zoo (docs/bugzoo.md): each
 * re-introduced XSA's PoC sequence, with its option on (the effect is
 * observed: the audit names the invariant, or the guest writes its own
 * page table) and off (Xen's error code, nothing changed, audit clean).
 *
 * Updates go through mod_pt_entry under page_lock, as mmu_update makes
 * them (core/mm/mmu_update.c); fix_teardown checks every frame came back.
 */
#include "tests/unit/test.h"
#include "tests/unit/pv_fixture.h"

#include "core/mmu.h"
#include "core/hypercall.h"


#define P   _PAGE_PRESENT
#define RW  _PAGE_RW
#define PSE _PAGE_PSE

static void setup_opt(struct pv_fixture *f, bool x182, bool x148, bool x240)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.mm_xsa182 = x182;
    cfg.opt.mm_xsa148 = x148;
    cfg.opt.mm_xsa240 = x240;
    FIX_REQUIRE(fix_setup(f, &cfg) == 0);
}

static void done(struct pv_fixture *f)
{
    CHECK_EQ(fix_teardown(f), 0);
}

/* One update as mmu_update makes it. */
static int mod(struct pv_fixture *f, mfn_t table, unsigned level,
               unsigned slot, pte_t e)
{
    if (!page_lock(f->m, table))
        return -9999;
    int rc = mod_pt_entry(f->v, table, level, slot, e, false, NULL,
                          PTW_MMU_UPDATE);
    page_unlock(f->m, table);
    return rc;
}

/* The audit's text (caller frees) and its violation count. */
static char *audit_text(struct pv_fixture *f, unsigned *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    FIX_REQUIRE(ms);
    *n = mm_audit(f->m, ms);
    fclose(ms);
    return buf;
}

/* VA of slot `slot` of the table that L4 slot s self-maps (4 times). */
static uint64_t self_map_va(unsigned s, unsigned slot)
{
    uint64_t va = ((uint64_t)s << 39) | ((uint64_t)s << 30) |
                  ((uint64_t)s << 21) | ((uint64_t)s << 12);
    if (s & 256)
        va |= 0xffff000000000000ULL;
    return va + slot * 8;
}

/* Validate spare frame i as an L2 from L3 slot l3slot; its mfn. */
static mfn_t new_l2(struct pv_fixture *f, unsigned i, unsigned l3slot)
{
    mfn_t t = fix_spare(f, i);
    FIX_REQUIRE(mod(f, f->l3, 3, l3slot, pte_make(t, P | RW)) == 0);
    return t;
}

static int16_t lpc(struct pv_fixture *f, mfn_t mfn)
{
    return mfn_to_page(f->m, mfn)->linear_pt_count;
}

/* --- options -------------------------------------------------------------- */

static void t_options(void)
{
    struct hv_options o;
    hv_options_default(&o);
    CHECK(!o.mm_xsa182 && !o.mm_xsa148 && !o.mm_xsa240);
    static const char *const keys[] = { "mm.xsa182", "mm.xsa148", "mm.xsa240" };
    for (unsigned i = 0; i < 3; i++) {
        CHECK(hv_option_known(keys[i]));
        CHECK_EQ(hv_option_set(&o, keys[i], "on", NULL, 0), 0);
    }
    CHECK(o.mm_xsa182 && o.mm_xsa148 && o.mm_xsa240);
    char why[128] = "";
    CHECK_EQ(hv_option_set(&o, "mm.xsa182", "yes", why, sizeof(why)), -1);
    CHECK(strstr(why, "on|off") != NULL);
    /* `hvlab options` lists each, naming its XSA. */
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    FIX_REQUIRE(ms);
    hv_options_print(&o, ms);
    fclose(ms);
    CHECK(strstr(buf, "mm.xsa182") && strstr(buf, "XSA-182"));
    CHECK(strstr(buf, "mm.xsa148") && strstr(buf, "XSA-148"));
    CHECK(strstr(buf, "mm.xsa240") && strstr(buf, "XSA-240"));
    free(buf);
}

/* --- XSA-182 -------------------------------------------------------------- */

static void t_xsa182_on(void)
{
    struct pv_fixture f;
    setup_opt(&f, true, false, false);
    const unsigned s = 300;
    /* The XTF PoC: a read-only recursive L4 entry, then RW alone added. */
    CHECK_EQ(mod(&f, f.l4, 4, s, pte_make(f.l4, P)), 0);
    uint64_t n4 = fix_tcount(&f, f.l4), c4 = fix_count(&f, f.l4);
    CHECK_EQ(mod(&f, f.l4, 4, s, pte_make(f.l4, P | RW)), 0);
    CHECK(fix_entry(&f, f.l4, s) & RW);
    CHECK_EQ(fix_tcount(&f, f.l4), n4);         /* fast path: no refs */
    CHECK_EQ(fix_count(&f, f.l4), c4);
    /* The guest now writes its own L4 with a plain store, bypassing
       validation (a not-present value, so no reference is faked). */
    CHECK_EQ(mmu_store(f.v, self_map_va(s, 301), 8, 0x200), MMU_OK);
    CHECK_HEX(fix_entry(&f, f.l4, 301), 0x200);
    CHECK_EQ(mmu_store(f.v, self_map_va(s, 301), 8, 0), MMU_OK);
    CHECK_HEX(fix_entry(&f, f.l4, 301), 0);

    /* A linear L2 -> L2 entry made writable the same way: the audit names
       it (invariant 9: a linear entry must be read-only). */
    mfn_t l2b = new_l2(&f, 3, 7);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P)), 0);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P | RW)), 0);
    unsigned n;
    char *txt = audit_text(&f, &n);
    CHECK(n >= 1);
    CHECK(strstr(txt, "audit: invariant 9 (validated table entries are "
                      "well-formed)") != NULL);
    CHECK(strstr(txt, "linear entry is writable (slot 9") != NULL);
    free(txt);
    /* Undo: the refs were never disturbed, so all comes back. */
    CHECK_EQ(mod(&f, f.l2, 2, 9, 0), 0);
    CHECK_EQ(mod(&f, f.l4, 4, s, 0), 0);
    CHECK_EQ(lpc(&f, f.l2), 0);
    CHECK_EQ(lpc(&f, l2b), 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static void t_xsa182_off(void)
{
    struct pv_fixture f;
    setup_opt(&f, false, false, false);
    CHECK_EQ(mod(&f, f.l4, 4, 300, pte_make(f.l4, P)), 0);
    pte_t before = fix_entry(&f, f.l4, 300);
    CHECK_EQ(mod(&f, f.l4, 4, 300, pte_make(f.l4, P | RW)), -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, f.l4, 300), before);
    mfn_t l2b = new_l2(&f, 3, 7);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P)), 0);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(l2b, P | RW)), -XEN_EINVAL);
    CHECK(!(fix_entry(&f, f.l2, 9) & RW));
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(mod(&f, f.l2, 2, 9, 0), 0);
    CHECK_EQ(mod(&f, f.l4, 4, 300, 0), 0);
    done(&f);
}

/* --- XSA-148 -------------------------------------------------------------- */

static void t_xsa148_on(void)
{
    struct pv_fixture f;
    setup_opt(&f, false, true, false);
    unsigned slot = pt_index(FIX_DATA_VA, 2);
    pte_t e = fix_entry(&f, f.l2, slot);
    CHECK_EQ(pte_mfn(e), f.l1);
    uint64_t c1 = fix_count(&f, f.l1), t1 = fix_type(&f, f.l1);
    /* Same frame, same P: the pre-XSA-148 fast path takes PSE as is. */
    CHECK_EQ(mod(&f, f.l2, 2, slot, e | PSE), 0);
    CHECK_HEX(fix_entry(&f, f.l2, slot), e | PSE);
    CHECK_EQ(fix_count(&f, f.l1), c1);
    CHECK_HEX(fix_type(&f, f.l1), t1);          /* still a live L1 */
    /* A 2 MiB writable mapping whose first frame is that L1 table. */
    unsigned n;
    char *txt = audit_text(&f, &n);
    CHECK(n >= 1);
    CHECK(strstr(txt, "audit: invariant 9 (validated table entries are "
                      "well-formed)") != NULL);
    CHECK(strstr(txt, "entry with disallowed flags") != NULL);
    free(txt);
    /* A new PSE entry still goes to get_page_from_l2e, which refuses it
       (no superpage support): -EINVAL, as Xen without allowsuperpage. */
    CHECK_EQ(mod(&f, f.l2, 2, 40, pte_make(fix_spare(&f, 1), P | RW | PSE)),
             -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, f.l2, 40), 0);
    /* Clearing PSE again takes the same fast path; all is as before. */
    CHECK_EQ(mod(&f, f.l2, 2, slot, e), 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static void t_xsa148_off(void)
{
    struct pv_fixture f;
    setup_opt(&f, false, false, false);
    unsigned slot = pt_index(FIX_DATA_VA, 2);
    pte_t e = fix_entry(&f, f.l2, slot);
    CHECK_EQ(mod(&f, f.l2, 2, slot, e | PSE), -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, f.l2, slot), e);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* --- XSA-240 -------------------------------------------------------------- */

#define CHAIN 6

static void t_xsa240_on(void)
{
    struct pv_fixture f;
    setup_opt(&f, false, false, true);
    mfn_t t[CHAIN];
    t[0] = f.l2;
    for (unsigned i = 1; i < CHAIN; i++)
        t[i] = new_l2(&f, i, 6 + i);
    /* t0 -> t1 -> ... -> t5, each a read-only linear entry into a table
       that itself holds one: every link is accepted. */
    for (unsigned i = 0; i + 1 < CHAIN; i++)
        CHECK_EQ(mod(&f, t[i], 2, 9, pte_make(t[i + 1], P)), 0);
    CHECK_EQ(lpc(&f, t[0]), 1);
    for (unsigned i = 1; i + 1 < CHAIN; i++)
        CHECK_EQ(lpc(&f, t[i]), 0);             /* +1 entry, -1 use */
    CHECK_EQ(lpc(&f, t[CHAIN - 1]), -1);
    unsigned n;
    char *txt = audit_text(&f, &n);
    CHECK_EQ(n, CHAIN - 2);                     /* each middle table */
    CHECK(strstr(txt, "audit: invariant 10 (linear count: entries or uses, "
                      "not both)") != NULL);
    CHECK(strstr(txt, "1 linear entries and 1 linear uses") != NULL);
    free(txt);
    /* Undo in any order (the net count is kept): clean again. */
    for (unsigned i = 0; i + 1 < CHAIN; i++)
        CHECK_EQ(mod(&f, t[i], 2, 9, 0), 0);
    for (unsigned i = 0; i < CHAIN; i++)
        CHECK_EQ(lpc(&f, t[i]), 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static void t_xsa240_off(void)
{
    struct pv_fixture f;
    setup_opt(&f, false, false, false);
    mfn_t b = new_l2(&f, 1, 7), c = new_l2(&f, 2, 8);
    CHECK_EQ(mod(&f, f.l2, 2, 9, pte_make(b, P)), 0);
    uint64_t nc = fix_tcount(&f, c);
    /* b is used linearly: it may not hold a linear entry itself ... */
    CHECK_EQ(mod(&f, b, 2, 9, pte_make(c, P)), -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, b, 9), 0);
    CHECK_EQ(fix_tcount(&f, c), nc);
    CHECK_EQ(lpc(&f, b), -1);
    CHECK_EQ(lpc(&f, c), 0);
    /* ... nor may a table with linear entries be the target of one. */
    CHECK_EQ(mod(&f, c, 2, 9, pte_make(f.l2, P)), -XEN_EINVAL);
    CHECK_EQ(lpc(&f, f.l2), 1);
    CHECK_EQ(fix_audit(&f), 0);
    CHECK_EQ(mod(&f, f.l2, 2, 9, 0), 0);
    done(&f);
}

/* --- XSA-309 -------------------------------------------------------------- */

/* A new L2 whose slot 0 is a read-only linear entry to the tree's L2 and
   whose slots 1..3 map the tree's L1, pinned by MMUEXT_PIN_L2_TABLE with
   a preemption budget of 2: the validation stops after slot 1 with the
   linear entry already holding its references, and the continuation
   resumes it (many times, to slot 511). */
static mfn_t pin_preempted_l2(struct pv_fixture *f, unsigned spare)
{
    mfn_t t = fix_spare(f, spare);
    FIX_REQUIRE(domctl_build_pte(f->d, t, 2, 0, pte_make(f->l2, P)) == 0);
    for (unsigned s = 1; s < 4; s++)
        FIX_REQUIRE(domctl_build_pte(f->d, t, 2, s,
                                     pte_make(f->l1, FIX_PDE_FLAGS)) == 0);
    struct mmuext_op op = { .cmd = MMUEXT_PIN_L2_TABLE };
    op.arg1.mfn = t;
    uint64_t p = fix_put(f, 4096, &op, sizeof(op));
    CHECK_EQ(hypercall(f->v, __HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF, 0),
             0);
    CHECK_HEX(fix_type(f, t), PGT_l2_page_table | PGT_validated |
                              PGT_pinned | 1);
    return t;
}

static void setup_309(struct pv_fixture *f, bool on)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.mm_xsa309 = on;
    cfg.opt.preempt_budget = 2;
    FIX_REQUIRE(fix_setup(f, &cfg) == 0);
}

static long unpin(struct pv_fixture *f, mfn_t t)
{
    struct mmuext_op op = { .cmd = MMUEXT_UNPIN_TABLE };
    op.arg1.mfn = t;
    uint64_t p = fix_put(f, 4096, &op, sizeof(op));
    return hypercall(f->v, __HYPERVISOR_mmuext_op, p, 1, 0, DOMID_SELF, 0);
}

static void t_xsa309_on(void)
{
    struct pv_fixture f;
    setup_309(&f, true);
    uint64_t n1 = fix_tcount(&f, f.l1);
    mfn_t t = pin_preempted_l2(&f, 5);
    /* Every entry holds its references ... */
    CHECK_EQ(fix_tcount(&f, f.l1), n1 + 3);
    CHECK_EQ(lpc(&f, f.l2), -1);                /* used once, linearly */
    /* ... but the resumed validation forgot the linear entry. */
    CHECK_EQ(lpc(&f, t), 0);
    unsigned n;
    char *txt = audit_text(&f, &n);
    CHECK_EQ(n, 1);
    CHECK(strstr(txt, "audit: invariant 10 (linear count: entries or uses, "
                      "not both)") != NULL);
    CHECK(strstr(txt, "linear entries found 1, linear_pt_count 0") != NULL);
    free(txt);
    /* The XSA-240 chain the count was to prevent: a linear entry into t,
       which itself holds one, is accepted (u -> t -> the tree's L2). */
    mfn_t u = new_l2(&f, 3, 7);
    CHECK_EQ(mod(&f, u, 2, 9, pte_make(t, P)), 0);
    CHECK_EQ(lpc(&f, t), -1);
    txt = audit_text(&f, &n);
    CHECK(strstr(txt, "1 linear entries and 1 linear uses") != NULL);
    free(txt);
    /* Unwinding: the references all come back (the count of t ends at
       -1 where Xen's debug build asserted 'oc > 0'). */
    CHECK_EQ(mod(&f, u, 2, 9, 0), 0);
    CHECK_EQ(unpin(&f, t), 0);
    CHECK_EQ(fix_tcount(&f, f.l1), n1);
    CHECK_EQ(lpc(&f, f.l2), 0);
    CHECK_EQ(lpc(&f, t), -1);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static void t_xsa309_off(void)
{
    struct pv_fixture f;
    setup_309(&f, false);
    mfn_t t = pin_preempted_l2(&f, 5);
    CHECK_EQ(lpc(&f, t), 1);                    /* kept across the resume */
    CHECK_EQ(lpc(&f, f.l2), -1);
    CHECK_EQ(fix_audit(&f), 0);
    mfn_t u = new_l2(&f, 3, 7);
    uint64_t nt = fix_tcount(&f, t);
    CHECK_EQ(mod(&f, u, 2, 9, pte_make(t, P)), -XEN_EINVAL);
    CHECK_HEX(fix_entry(&f, u, 9), 0);
    CHECK_EQ(fix_tcount(&f, t), nt);
    CHECK_EQ(lpc(&f, t), 1);
    CHECK_EQ(unpin(&f, t), 0);
    CHECK_EQ(lpc(&f, t), 0);
    CHECK_EQ(lpc(&f, f.l2), 0);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

/* An option of the zoo: off by default, known, settable, and listed by
   hv_options_print with the XSA it re-introduces. */
static void check_zoo_option(const char *key, const char *xsa,
                             bool (*get)(const struct hv_options *))
{
    struct hv_options o;
    hv_options_default(&o);
    CHECK(!get(&o));
    CHECK(hv_option_known(key));
    CHECK_EQ(hv_option_set(&o, key, "on", NULL, 0), 0);
    CHECK(get(&o));
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    FIX_REQUIRE(ms);
    hv_options_print(&o, ms);
    fclose(ms);
    CHECK(strstr(buf, key) && strstr(buf, xsa));
    free(buf);
}

static bool get_xsa309(const struct hv_options *o) { return o->mm_xsa309; }
static bool get_xsa279(const struct hv_options *o) { return o->mm_xsa279; }

static void t_xsa309_option(void)
{
    check_zoo_option("mm.xsa309", "XSA-309", get_xsa309);
}

/* --- XSA-279 -------------------------------------------------------------- */

static void setup_279(struct pv_fixture *f, bool on)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.mm_xsa279 = on;
    FIX_REQUIRE(fix_setup(f, &cfg) == 0);
}

/* XTF's PoC: update_va_mapping(1 << 63, 0, UVMF_INVLPG | UVMF_ALL). */
static long uva(struct pv_fixture *f, uint64_t va, uint64_t flags)
{
    return hypercall(f->v, __HYPERVISOR_update_va_mapping, va, 0, flags, 0,
                     0);
}

static void t_xsa279_option(void)
{
    check_zoo_option("mm.xsa279", "XSA-279", get_xsa279);
}

static void t_xsa279_on(void)
{
    /* Failed updates that reach the flush harmlessly: no INVLPG, or a
       whole flush (the va is not used), or a canonical va. */
    struct pv_fixture f;
    setup_279(&f, true);
    CHECK_EQ(uva(&f, 1ULL << 63, UVMF_NONE), -XEN_EINVAL);
    CHECK_EQ(uva(&f, 1ULL << 63, UVMF_TLB_FLUSH | UVMF_ALL), -XEN_EINVAL);
    CHECK_EQ(uva(&f, 0xffff800000000000ULL, UVMF_INVLPG | UVMF_ALL),
             -XEN_EINVAL);                      /* Xen's range: canonical */
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);

    /* The PoC in a child: the flush of the non-canonical va is a #GP in
       the hypervisor, which dies (SIGABRT) naming it. */
    int p[2];
    FIX_REQUIRE(pipe(p) == 0);
    fflush(NULL);
    sigset_t saved;
    lttng_ust_before_fork(&saved);
    pid_t pid = fork();
    FIX_REQUIRE(pid >= 0);
    if (pid == 0) {
        lttng_ust_after_fork_child(&saved);
        dup2(p[1], 2);
        close(p[0]);
        struct pv_fixture c;
        setup_279(&c, true);
        (void)uva(&c, 1ULL << 63, UVMF_INVLPG | UVMF_ALL);
        _exit(0);                               /* survived: the test fails */
    }
    lttng_ust_after_fork_parent(&saved);
    close(p[1]);
    char msg[512] = "";
    size_t got = 0;
    ssize_t n;
    while (got + 1 < sizeof(msg) &&
           (n = read(p[0], msg + got, sizeof(msg) - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = 0;
    close(p[0]);
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(msg, "FATAL TRAP: #GP[0]") != NULL);
    CHECK(strstr(msg, "non-canonical address 0x8000000000000000") != NULL);
    CHECK(strstr(msg, "XSA-279") != NULL);
}

static void t_xsa279_off(void)
{
    struct pv_fixture f;
    setup_279(&f, false);
    /* The fix: a failed update returns before any flush. */
    CHECK_EQ(uva(&f, 1ULL << 63, UVMF_INVLPG | UVMF_ALL), -XEN_EINVAL);
    CHECK_EQ(uva(&f, 1ULL << 63, UVMF_INVLPG | UVMF_LOCAL), -XEN_EINVAL);
    CHECK_EQ(fix_audit(&f), 0);
    done(&f);
}

static const struct test tests[] = {
    { "mm.xsa182, mm.xsa148, mm.xsa240 are off by default, settable, and listed naming their XSA", t_options },
    { "XSA-182 on: RW is added to a read-only recursive L4 entry without revalidation, the guest stores into its own L4, and a writable linear L2 entry breaks invariant 9", t_xsa182_on },
    { "XSA-182 off: adding RW to a read-only linear entry is -EINVAL and changes nothing", t_xsa182_off },
    { "XSA-148 on: PSE set on an L2 entry through the fast path maps its L1 table writable (invariant 9); a new PSE entry is still -EINVAL", t_xsa148_on },
    { "XSA-148 off: PSE on an L2 entry is -EINVAL and changes nothing", t_xsa148_off },
    { "XSA-240 on: a chain of six linear L2s is accepted, each middle table breaks invariant 10, and unwinding it is clean", t_xsa240_on },
    { "XSA-240 off: a table used linearly gets no linear entry and a table with one is no target (-EINVAL), counts unchanged", t_xsa240_off },
    { "mm.xsa309 is off by default, settable, and listed naming XSA-309", t_xsa309_option },
    { "XSA-309 on: an L2 pin preempted after its linear entry resumes with linear_pt_count reset (invariant 10), and a linear entry into it then chains (XSA-240)", t_xsa309_on },
    { "XSA-309 off: the preempted pin keeps the linear count, a linear entry into that table is -EINVAL, unpin clears both counts", t_xsa309_off },
    { "mm.xsa279 is off by default, settable, and listed naming XSA-279", t_xsa279_option },
    { "XSA-279 on: failed updates still flush; XTF's PoC (UVMF_INVLPG of va 1<<63) is a fatal #GP in the hypervisor (the process dies of SIGABRT naming it), other failed flushes return -EINVAL", t_xsa279_on },
    { "XSA-279 off: the PoC is -EINVAL with no flush, the audit stays clean", t_xsa279_off },
};
TEST_MAIN(tests)
