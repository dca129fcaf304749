/*
 * tests/unit/test-pv-normalise.c - PV page-table normalise (save) and
 * localise (restore), and the pin list (toolstack/pv_normalise.c, N1-N6):
 * synthetic pages against synthetic maps, then the fixture's real PV tree
 * through the machine's M2P, and story D in both mm.pfinfo_devalidated
 * modes.
 */
#include "core/hypercall.h"
#include "core/mm/pfinfo.h"
#include "tests/unit/pv_fixture.h"
#include "tests/unit/test.h"
#include "toolstack/pv_normalise.h"

#define T(x)        XEN_DOMCTL_PFINFO_##x
#define FL          (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED)
#define ODD_FLAGS   (_PAGE_PRESENT | _PAGE_USER | _PAGE_DIRTY | _PAGE_GLOBAL | \
                     _PAGE_NX | (0x5ULL << 9) | (0x3ULL << 52))

/* ---- synthetic maps ------------------------------------------------------- */

#define NR_MFN  4096
#define NR_PFN  256

/* The source: M2P over NR_MFN frames, p2m over NR_PFN pfns (mfn = 1000+pfn*3). */
struct src_map {
    uint64_t m2p[NR_MFN];
    uint64_t p2m[NR_PFN];
    unsigned m2p_calls;
};
static struct src_map S;

static void src_init(void)
{
    memset(&S, 0, sizeof(S));
    for (unsigned i = 0; i < NR_MFN; i++)
        S.m2p[i] = INVALID_M2P_ENTRY;
    for (unsigned p = 0; p < NR_PFN; p++) {
        S.p2m[p] = 1000 + p * 3;
        S.m2p[S.p2m[p]] = p;
    }
}
static uint64_t src_m2p(void *o, uint64_t mfn)
{
    struct src_map *s = o;
    s->m2p_calls++;
    return mfn < NR_MFN ? s->m2p[mfn] : INVALID_M2P_ENTRY;
}
static bool src_in_map(void *o, uint64_t pfn, uint64_t mfn)
{
    struct src_map *s = o;
    return pfn < NR_PFN && s->p2m[pfn] == mfn;
}
static const struct pvn_save_ops save_ops = { src_m2p, src_in_map, &S };

/* The destination: p2m with holes; populate hands out mfns from 50000. */
struct dst_map {
    uint64_t p2m[NR_PFN];
    uint64_t next_mfn;
    unsigned populate_calls, populated;
    uint64_t last_pfns[PVN_ENTRIES];
    int populate_rc;
};
static struct dst_map D;

static void dst_init(bool all)
{
    memset(&D, 0, sizeof(D));
    D.next_mfn = 50000;
    for (unsigned p = 0; p < NR_PFN; p++)
        D.p2m[p] = all ? 7000 + (NR_PFN - p) * 5 : INVALID_MFN;
}
static uint64_t dst_p2m(void *o, uint64_t pfn)
{
    struct dst_map *d = o;
    return pfn < NR_PFN ? d->p2m[pfn] : INVALID_MFN;
}
static int dst_populate(void *o, const uint64_t *pfns, unsigned n)
{
    struct dst_map *d = o;
    d->populate_calls++;
    if (d->populate_rc)
        return d->populate_rc;
    for (unsigned i = 0; i < n; i++) {
        d->last_pfns[i] = pfns[i];
        if (d->p2m[pfns[i]] != INVALID_MFN)
            return -XEN_EEXIST;             /* asked twice: the test fails */
        d->p2m[pfns[i]] = d->next_mfn++;
        d->populated++;
    }
    return 0;
}
static const struct pvn_restore_ops restore_ops = {
    dst_p2m, dst_populate, NR_PFN - 1, &D,
};

static uint64_t page[PVN_ENTRIES], out[PVN_ENTRIES], orig[PVN_ENTRIES];

/* ---- normalise -------------------------------------------------------------- */

/* Every level: present entries mfn -> pfn, flags (all of them) kept,
   absent entries copied as they are. */
static void t_normalise_levels(void)
{
    src_init();
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        memset(page, 0, sizeof(page));
        page[0] = pte_make(S.p2m[5], FL);
        page[7] = pte_make(S.p2m[200], ODD_FLAGS);
        page[9] = 0x123400ULL;                      /* absent, junk kept */
        page[511] = pte_make(S.p2m[0], FL | _PAGE_USER);
        uint32_t type = (uint32_t)lvl << XEN_DOMCTL_PFINFO_LTAB_SHIFT;
        struct pvn_fault fault;
        CHECK_EQ(pv_normalise_page(type, page, out, &save_ops, false, &fault), 0);
        CHECK_HEX(out[0], pte_make(5, FL));
        CHECK_HEX(out[7], pte_make(200, ODD_FLAGS));
        CHECK_HEX(pte_flags(out[7]), ODD_FLAGS);
        CHECK_HEX(out[9], 0x123400ULL);
        CHECK_HEX(out[511], pte_make(0, FL | _PAGE_USER));
        CHECK_HEX(out[1], 0);
        /* Pinned reads the same. */
        uint64_t out2[PVN_ENTRIES];
        CHECK_EQ(pv_normalise_page(type | T(LPINTAB), page, out2, &save_ops,
                                   true, NULL), 0);
        CHECK(memcmp(out, out2, sizeof(out)) == 0);
    }
}

/* In place (dst == src) works; the source M2P is asked once per present
   entry. */
static void t_normalise_in_place(void)
{
    src_init();
    memset(page, 0, sizeof(page));
    for (unsigned i = 0; i < 16; i++)
        page[i * 3] = pte_make(S.p2m[i + 40], FL);
    CHECK_EQ(pv_normalise_page(T(L1TAB), page, page, &save_ops, false, NULL), 0);
    for (unsigned i = 0; i < 16; i++)
        CHECK_HEX(page[i * 3], pte_make(i + 40, FL));
    CHECK_EQ(S.m2p_calls, 16);
}

/* The L4's Xen slots 256..271 come out zero (present or not); the same
   slots of an L3, L2 or L1 are the guest's and are translated. */
static void t_normalise_xen_slots(void)
{
    src_init();
    memset(page, 0, sizeof(page));
    for (unsigned i = 250; i < 280; i++)
        page[i] = pte_make(S.p2m[i - 200], FL);
    page[260] = pte_make(NR_MFN + 77, FL);          /* no pfn: ignored */
    page[265] = 0xabcdef000ULL;                     /* absent: zeroed too */
    CHECK_EQ(pv_normalise_page(T(L4TAB) | T(LPINTAB), page, out, &save_ops,
                               true, NULL), 0);
    for (unsigned i = 250; i < 280; i++) {
        if (i >= XEN_L4_SLOT_FIRST && i <= XEN_L4_SLOT_LAST)
            CHECK_HEX(out[i], 0);
        else
            CHECK_HEX(out[i], pte_make(i - 200, FL));
    }
    CHECK_EQ(XEN_L4_SLOT_FIRST, 256);
    CHECK_EQ(XEN_L4_SLOT_LAST, 271);
    page[260] = pte_make(S.p2m[60], FL);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &save_ops, true, NULL), 0);
    CHECK_HEX(out[260], pte_make(60, FL));
}

/* An mfn with no pfn: -EAGAIN while live, -ERANGE once paused; the fault
   names level, slot and mfn; dst untouched. */
static void t_normalise_bad_mfn_live_paused(void)
{
    src_init();
    memset(page, 0, sizeof(page));
    page[3] = pte_make(S.p2m[1], FL);
    page[42] = pte_make(3333, FL);                  /* M2P: none */
    page[43] = pte_make(NR_MFN + 5, FL);            /* past the M2P */
    for (unsigned i = 0; i < PVN_ENTRIES; i++)
        out[i] = 0x5a5a5a5a5a5a5a5aULL;
    struct pvn_fault fault;
    CHECK_EQ(pv_normalise_page(T(L2TAB), page, out, &save_ops, false, &fault),
             -XEN_EAGAIN);
    CHECK_EQ(fault.level, 2);
    CHECK_EQ(fault.slot, 42);
    CHECK_HEX(fault.frame, 3333);
    CHECK_HEX(fault.entry, page[42]);
    CHECK_HEX(out[3], 0x5a5a5a5a5a5a5a5aULL);      /* nothing written */
    CHECK_EQ(pv_normalise_page(T(L2TAB), page, out, &save_ops, true, &fault),
             -XEN_ERANGE);
    CHECK_EQ(fault.slot, 42);
    CHECK_HEX(out[3], 0x5a5a5a5a5a5a5a5aULL);
    page[42] = 0;
    CHECK_EQ(pv_normalise_page(T(L1TAB), page, out, &save_ops, false, &fault),
             -XEN_EAGAIN);
    CHECK_EQ(fault.slot, 43);
    CHECK_EQ(fault.level, 1);
    CHECK_EQ(pv_normalise_page(T(L1TAB), page, out, &save_ops, true, &fault),
             -XEN_ERANGE);
}

/* The M2P names a pfn the guest's p2m maps elsewhere (ballooned out and
   reused, or the M2P is stale): not in the pseudo-physical map. */
static void t_normalise_not_in_physmap(void)
{
    src_init();
    memset(page, 0, sizeof(page));
    S.m2p[3500] = 9;                                /* p2m[9] != 3500 */
    page[11] = pte_make(3500, FL);
    struct pvn_fault fault;
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &save_ops, false, &fault),
             -XEN_EAGAIN);
    CHECK_EQ(fault.slot, 11);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &save_ops, true, &fault),
             -XEN_ERANGE);
    S.m2p[3501] = SHARED_M2P_ENTRY;
    page[11] = pte_make(3501, FL);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &save_ops, true, &fault),
             -XEN_ERANGE);
    /* Without the physmap callback the M2P's word is taken. */
    struct pvn_save_ops m2p_only = { src_m2p, NULL, &S };
    page[11] = pte_make(3500, FL);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &m2p_only, true, NULL), 0);
    CHECK_HEX(out[11], pte_make(9, FL));
    /* A pfn too wide for an entry's address field is no pfn either. */
    S.m2p[3502] = 1ULL << 41;
    page[11] = pte_make(3502, FL);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &m2p_only, false, NULL),
             -XEN_EAGAIN);
    CHECK_EQ(pv_normalise_page(T(L3TAB), page, out, &m2p_only, true, NULL),
             -XEN_ERANGE);
}

/* PSE at L2..L4 is -E2BIG (live or paused); at L1 bit 7 is PAT and fine;
   a non-present PSE entry is no superpage. */
static void t_normalise_pse(void)
{
    src_init();
    for (unsigned lvl = 2; lvl <= 4; lvl++) {
        memset(page, 0, sizeof(page));
        page[1] = pte_make(S.p2m[2], FL);
        page[5] = pte_make(S.p2m[3], FL | _PAGE_PSE);
        page[6] = _PAGE_PSE | 0x1000;               /* absent */
        uint32_t type = (uint32_t)lvl << XEN_DOMCTL_PFINFO_LTAB_SHIFT;
        struct pvn_fault fault;
        for (int paused = 0; paused <= 1; paused++) {
            CHECK_EQ(pv_normalise_page(type, page, out, &save_ops, paused,
                                       &fault), -XEN_E2BIG);
            CHECK_EQ(fault.level, lvl);
            CHECK_EQ(fault.slot, 5);
        }
    }
    memset(page, 0, sizeof(page));
    page[5] = pte_make(S.p2m[3], FL | _PAGE_PAT);
    CHECK_EQ(pv_normalise_page(T(L1TAB), page, out, &save_ops, true, NULL), 0);
    CHECK_HEX(out[5], pte_make(3, FL | _PAGE_PAT));
}

/* NOTAB and the no-data types are content: unchanged even when it looks
   like a table full of bad mfns, no M2P look-up. */
static void t_normalise_notab_unchanged(void)
{
    src_init();
    for (unsigned i = 0; i < PVN_ENTRIES; i++)
        page[i] = pte_make(3000 + i, FL | (i & 1 ? _PAGE_PSE : 0));
    const uint32_t types[] = { T(NOTAB), T(XTAB), T(XALLOC), T(BROKEN),
                               T(NOTAB) | T(LPINTAB) };
    for (unsigned k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        memset(out, 0, sizeof(out));
        CHECK_EQ(pv_normalise_page(types[k], page, out, &save_ops, true, NULL), 0);
        CHECK(memcmp(out, page, sizeof(page)) == 0);
    }
    CHECK_EQ(S.m2p_calls, 0);
    CHECK_EQ(pv_normalise_page(T(L1TAB), NULL, out, &save_ops, true, NULL),
             -XEN_EINVAL);
    CHECK_EQ(pv_normalise_page(T(L1TAB), page, out, NULL, true, NULL),
             -XEN_EINVAL);
}

/* ---- localise --------------------------------------------------------------- */

/* Present entries pfn -> mfn with flags kept; absent entries as they are. */
static void t_localise_basic(void)
{
    dst_init(true);
    memset(page, 0, sizeof(page));
    page[0] = pte_make(5, FL);
    page[100] = pte_make(255, ODD_FLAGS);
    page[101] = 0x777000ULL;
    struct pvn_fault fault;
    CHECK_EQ(pv_localise_page(T(L2TAB) | T(LPINTAB), page, &restore_ops,
                              &fault), 0);
    CHECK_HEX(page[0], pte_make(D.p2m[5], FL));
    CHECK_HEX(page[100], pte_make(D.p2m[255], ODD_FLAGS));
    CHECK_HEX(page[101], 0x777000ULL);
    CHECK_EQ(D.populate_calls, 0);
}

/* pfns referenced but not seen yet are populated first, each once, in one
   call; then translated to their new mfns. */
static void t_localise_populate(void)
{
    dst_init(true);
    D.p2m[17] = D.p2m[18] = D.p2m[99] = INVALID_MFN;
    memset(page, 0, sizeof(page));
    page[1] = pte_make(17, FL);
    page[2] = pte_make(18, FL);
    page[3] = pte_make(17, FL | _PAGE_USER);        /* same pfn again */
    page[4] = pte_make(20, FL);                     /* already there */
    page[5] = pte_make(99, 0) & ~_PAGE_PRESENT;     /* absent: not asked */
    CHECK_EQ(pv_localise_page(T(L1TAB), page, &restore_ops, NULL), 0);
    CHECK_EQ(D.populate_calls, 1);
    CHECK_EQ(D.populated, 2);
    CHECK_HEX(D.last_pfns[0], 17);
    CHECK_HEX(D.last_pfns[1], 18);
    CHECK_HEX(page[1], pte_make(50000, FL));
    CHECK_HEX(page[2], pte_make(50001, FL));
    CHECK_HEX(page[3], pte_make(50000, FL | _PAGE_USER));
    CHECK_HEX(page[4], pte_make(D.p2m[20], FL));
    CHECK_HEX(D.p2m[99], INVALID_MFN);

    /* A failing populate is returned as is, the page untouched. */
    dst_init(false);
    D.populate_rc = -XEN_ENOMEM;
    memset(page, 0, sizeof(page));
    page[8] = pte_make(8, FL);
    memcpy(orig, page, sizeof(page));
    CHECK_EQ(pv_localise_page(T(L3TAB), page, &restore_ops, NULL), -XEN_ENOMEM);
    CHECK(memcmp(orig, page, sizeof(page)) == 0);
}

/* A pfn past max_pfn is -ERANGE naming the slot; nothing populated or
   changed. */
static void t_localise_out_of_range(void)
{
    dst_init(false);
    memset(page, 0, sizeof(page));
    page[2] = pte_make(3, FL);
    page[300] = pte_make(NR_PFN, FL);               /* max_pfn + 1 */
    memcpy(orig, page, sizeof(page));
    struct pvn_fault fault;
    CHECK_EQ(pv_localise_page(T(L4TAB), page, &restore_ops, &fault),
             -XEN_ERANGE);
    CHECK_EQ(fault.level, 4);
    CHECK_EQ(fault.slot, 300);
    CHECK_HEX(fault.frame, NR_PFN);
    CHECK_EQ(D.populate_calls, 0);
    CHECK(memcmp(orig, page, sizeof(page)) == 0);
    /* With no populate callback an unseen pfn cannot be localised. */
    struct pvn_restore_ops nopop = { dst_p2m, NULL, NR_PFN - 1, &D };
    page[300] = 0;
    memcpy(orig, page, sizeof(page));
    CHECK_EQ(pv_localise_page(T(L1TAB), page, &nopop, &fault), -XEN_ERANGE);
    CHECK_HEX(fault.frame, 3);
    CHECK(memcmp(orig, page, sizeof(page)) == 0);
    /* A destination mfn too wide for an entry is refused, not truncated. */
    dst_init(true);
    D.p2m[3] = 1ULL << 41;
    CHECK_EQ(pv_localise_page(T(L1TAB), page, &restore_ops, &fault),
             -XEN_ERANGE);
    CHECK_EQ(fault.slot, 2);
    CHECK(memcmp(orig, page, sizeof(page)) == 0);
}

/* NOTAB (story D) keeps its content: no look-up, no populate. */
static void t_localise_notab_untouched(void)
{
    dst_init(false);
    for (unsigned i = 0; i < PVN_ENTRIES; i++)
        page[i] = pte_make(i * 1000, FL);           /* far out of range */
    memcpy(orig, page, sizeof(page));
    CHECK_EQ(pv_localise_page(T(NOTAB), page, &restore_ops, NULL), 0);
    CHECK_EQ(pv_localise_page(T(XTAB), page, &restore_ops, NULL), 0);
    CHECK(memcmp(orig, page, sizeof(page)) == 0);
    CHECK_EQ(D.populate_calls, 0);
}

/* normalise -> localise with a different destination map: every present
   entry of the result names the frame that backs the same pfn on the
   destination, with the same flags; Xen's L4 slots come back empty. */
static void t_round_trip(void)
{
    src_init();
    dst_init(true);
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        for (unsigned i = 0; i < PVN_ENTRIES; i++)
            page[i] = (i % 3) ? pte_make(S.p2m[(i * 7) % NR_PFN],
                                         FL | ((i % 5) ? _PAGE_USER : 0))
                              : (uint64_t)i << 12;  /* absent */
        uint32_t type = (uint32_t)lvl << XEN_DOMCTL_PFINFO_LTAB_SHIFT;
        uint64_t wire[PVN_ENTRIES];
        CHECK_EQ(pv_normalise_page(type, page, wire, &save_ops, true, NULL), 0);
        CHECK_EQ(pv_localise_page(type, wire, &restore_ops, NULL), 0);
        unsigned bad = 0;
        for (unsigned i = 0; i < PVN_ENTRIES; i++) {
            uint64_t want = page[i];
            if (lvl == 4 && i >= XEN_L4_SLOT_FIRST && i <= XEN_L4_SLOT_LAST)
                want = 0;
            else if (want & _PAGE_PRESENT)
                want = pte_make(D.p2m[S.m2p[pte_mfn(want)]], pte_flags(want));
            bad += wire[i] != want;
            if (pte_present(wire[i]))
                bad += pte_mfn(wire[i]) == pte_mfn(page[i]); /* maps differ */
        }
        CHECK_EQ(bad, 0);
    }
    CHECK_EQ(D.populate_calls, 0);
}

/* ---- the pin list ------------------------------------------------------------ */

/* Pinned tables only, ascending pfn, MMUEXT_PIN_Ln_TABLE by level; XTAB
   (whose word has bit 31 set) is no pinned table. */
static void t_pin_list(void)
{
    uint32_t types[12] = {
        [0] = T(L4TAB) | T(LPINTAB), [1] = T(L3TAB), [2] = T(L1TAB) | T(LPINTAB),
        [3] = T(XTAB), [4] = T(NOTAB), [5] = T(L2TAB) | T(LPINTAB),
        [6] = T(BROKEN), [7] = T(XALLOC), [8] = T(L3TAB) | T(LPINTAB),
        [9] = T(NOTAB) | T(LPINTAB), [10] = T(L1TAB), [11] = T(L4TAB) | T(LPINTAB),
    };
    struct pvn_pin pins[12];
    size_t n = 0;
    CHECK_EQ(pv_pin_list(types, 12, NULL, 0, &n), -XEN_E2BIG);
    CHECK_EQ(n, 5);
    CHECK_EQ(pv_pin_list(types, 12, pins, 4, &n), -XEN_E2BIG);
    CHECK_EQ(pv_pin_list(types, 12, pins, 12, &n), 0);
    REQUIRE(n == 5);
    const struct pvn_pin want[5] = {
        { 0, MMUEXT_PIN_L4_TABLE }, { 2, MMUEXT_PIN_L1_TABLE },
        { 5, MMUEXT_PIN_L2_TABLE }, { 8, MMUEXT_PIN_L3_TABLE },
        { 11, MMUEXT_PIN_L4_TABLE },
    };
    for (unsigned i = 0; i < 5; i++) {
        CHECK_EQ(pins[i].pfn, want[i].pfn);
        CHECK_EQ(pins[i].cmd, want[i].cmd);
    }
    /* The last type wins: unpinned in a later round, not pinned. */
    types[0] = T(L4TAB);
    CHECK_EQ(pv_pin_list(types, 12, pins, 12, &n), 0);
    CHECK_EQ(n, 4);
    CHECK_EQ(pins[0].pfn, 2);
    CHECK_EQ(pv_pin_list(NULL, 0, NULL, 0, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(pv_pin_list(types, 12, pins, 12, NULL), -XEN_EINVAL);
}

/* ---- a real PV domain ------------------------------------------------------- */

static struct pv_fixture f;

static uint64_t m2p_read(void *o, uint64_t mfn)
{
    return get_gpfn_from_mfn(((struct pv_fixture *)o)->m, mfn);
}
static bool fix_in_map(void *o, uint64_t pfn, uint64_t mfn)
{
    struct pv_fixture *fx = o;
    return pfn < FIX_NR_FRAMES && fx->mfn[pfn] == mfn;
}

static uint32_t info(mfn_t mfn)
{
    xen_pfn_t a = mfn;
    REQUIRE(domctl_getpageframeinfo3(f.d, &a, 1) == 0);
    return (uint32_t)a;
}

/* The fixture's L4..L1, typed by getpageframeinfo3, normalised through the
   machine's M2P: each entry is the pfn the fixture placed, flags kept; the
   L4's Xen slots (filled on the machine) are zero in the copy. */
static void t_fixture_tree(void)
{
    REQUIRE(fix_setup(&f, NULL) == 0);
    const struct pvn_save_ops ops = { m2p_read, fix_in_map, &f };
    const mfn_t tab[5] = { 0, f.l1, f.l2, f.l3, f.l4 };
    uint64_t n[5][PVN_ENTRIES];
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        uint32_t type = info(tab[lvl]);
        CHECK_EQ(pvn_type_level(type), lvl);
        CHECK_EQ(pv_normalise_page(type, fix_frame(&f, tab[lvl]), n[lvl], &ops,
                                   true, NULL), 0);
    }
    CHECK_HEX(n[4][pt_index(FIX_DATA_VA, 4)], pte_make(1, FIX_PDE_FLAGS));
    CHECK_HEX(n[3][pt_index(FIX_DATA_VA, 3)], pte_make(2, FIX_PDE_FLAGS));
    CHECK_HEX(n[2][pt_index(FIX_DATA_VA, 2)], pte_make(3, FIX_PDE_FLAGS));
    for (unsigned i = 0; i < FIX_NR_DATA; i++)
        CHECK_HEX(n[1][pt_index(fix_data_va(i), 1)],
                  pte_make(FIX_FIRST_DATA_PFN + i, FIX_DATA_FLAGS));
    for (unsigned k = 0; k < 4; k++)
        CHECK_HEX(n[1][FIX_PT_SLOT + k], pte_make(k, FIX_RO_FLAGS));
    /* Every other entry is empty; the machine's L4 has Xen slots, the
       normalised copy none. */
    unsigned present = 0, xen_on_machine = 0;
    const uint64_t *l4 = fix_frame(&f, f.l4);
    for (unsigned lvl = 1; lvl <= 4; lvl++)
        for (unsigned i = 0; i < PVN_ENTRIES; i++)
            present += pte_present(n[lvl][i]);
    for (unsigned i = XEN_L4_SLOT_FIRST; i <= XEN_L4_SLOT_LAST; i++) {
        xen_on_machine += pte_present(l4[i]);
        CHECK_HEX(n[4][i], 0);
    }
    CHECK_EQ(present, 3 + FIX_NR_DATA + 4);
    CHECK(xen_on_machine > 0);
    CHECK_EQ(fix_teardown(&f), 0);
}

/* Story D on a real page: an L1 hooked in and unhooked keeps its entries
   (old mfns).  Under mm.pfinfo_devalidated=pt it reads L1TAB and its
   entries are translated; under notab it reads NOTAB and they are not. */
static long update(mfn_t table, unsigned slot, uint64_t val)
{
    struct mmu_update r = { (table << PAGE_SHIFT) + slot * 8 +
                            MMU_NORMAL_PT_UPDATE, val };
    uint64_t p = fix_put(&f, 0, &r, sizeof(r));
    return hypercall(f.v, __HYPERVISOR_mmu_update, p, 1, 0, DOMID_SELF, 0);
}
static void story_d(enum pfinfo_devalidated mode)
{
    struct fix_config cfg = { .set_opt = true };
    hv_options_default(&cfg.opt);
    cfg.opt.pfinfo_devalidated = mode;
    REQUIRE(fix_setup(&f, &cfg) == 0);
    mfn_t p = fix_spare(&f, 0);
    uint64_t *raw = fix_frame(&f, p);
    raw[3] = pte_make(fix_data(&f, 2), FIX_RO_FLAGS);    /* before typing */
    CHECK_EQ(update(f.l2, 7, pte_make(p, FIX_PDE_FLAGS)), 0);
    CHECK_EQ(update(f.l2, 7, 0), 0);                      /* devalidated */
    CHECK_EQ(fix_tcount(&f, p), 0);
    uint32_t type = info(p);
    const struct pvn_save_ops ops = { m2p_read, fix_in_map, &f };
    uint64_t copy[PVN_ENTRIES];
    CHECK_EQ(pv_normalise_page(type, raw, copy, &ops, true, NULL), 0);
    if (mode == PFINFO_DEVAL_PT) {
        CHECK_HEX(type, T(L1TAB));
        CHECK_HEX(copy[3], pte_make(FIX_FIRST_DATA_PFN + 2, FIX_RO_FLAGS));
    } else {
        CHECK_HEX(type, T(NOTAB));
        CHECK_HEX(copy[3], pte_make(fix_data(&f, 2), FIX_RO_FLAGS));
    }
    /* Make it ordinary again so the teardown audit is clean in pt. */
    CHECK_EQ(update(p, 0, 0), 0);
    CHECK_EQ(fix_teardown(&f), 0);
}
static void t_story_d_pt(void) { story_d(PFINFO_DEVAL_PT); }
static void t_story_d_notab(void) { story_d(PFINFO_DEVAL_NOTAB); }

static const struct test tests[] = {
    { "normalise: each level maps present mfns to pfns keeping every flag",
      t_normalise_levels },
    { "normalise: in place, one M2P look-up per present entry",
      t_normalise_in_place },
    { "normalise: the L4's Xen slots 256..271 are zeroed, other levels' not",
      t_normalise_xen_slots },
    { "normalise: an mfn with no pfn is -EAGAIN live, -ERANGE paused, slot named",
      t_normalise_bad_mfn_live_paused },
    { "normalise: an M2P pfn outside the pseudo-physical map is refused",
      t_normalise_not_in_physmap },
    { "normalise: a superpage at L2..L4 is -E2BIG, PAT at L1 is fine",
      t_normalise_pse },
    { "normalise: NOTAB and no-data types are copied unchanged",
      t_normalise_notab_unchanged },
    { "localise: present pfns become destination mfns, flags kept",
      t_localise_basic },
    { "localise: unseen pfns are populated once each, then translated",
      t_localise_populate },
    { "localise: a pfn past max_pfn is -ERANGE naming the slot",
      t_localise_out_of_range },
    { "localise: a NOTAB page keeps its content (story D)",
      t_localise_notab_untouched },
    { "round trip through a different destination map keeps the structure",
      t_round_trip },
    { "pin list: pinned tables only, ascending pfn, by level",
      t_pin_list },
    { "the fixture's tree normalises through the machine's M2P to its pfns",
      t_fixture_tree },
    { "story D, mm.pfinfo_devalidated=pt: a devalidated L1 is translated",
      t_story_d_pt },
    { "story D, mm.pfinfo_devalidated=notab: it is sent as it is",
      t_story_d_notab },
};
TEST_MAIN(tests)
