/*
 * tests/unit/test-mig-restore.c - the migration restore (toolstack/
 * mig_restore.c, migrate.h R1-R3): streams written here, in Xen's record
 * order, from a real domain built on machine A (its frames, their
 * getpageframeinfo3 types, its tables normalised through A's M2P), are
 * restored on machine B; then the broken streams, each leaving B's heap as
 * it was, and verify mode.
 */
#include <stdint.h>

#include <xen/xen.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>
#include <xen/sched.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/frame.h"
#include "core/mm/p2m.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "tests/unit/test.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"
#include "toolstack/image.h"
#include "toolstack/migrate.h"
#include "toolstack/pv_normalise.h"

#define T(x)        XEN_DOMCTL_PFINFO_##x
#define NR_PAGES    1024
#define NR_VCPUS    2
#define DOMID       1
#define PG          STREAM_PAGE_SIZE

/* ---- the source: a built domain on machine A -------------------------------- */

struct src {
    struct machine *m;
    struct domain *d;
    struct guest_pv *gpv;
    struct guest_hvm *ghvm;
    struct build_pv_layout pl;
    struct build_hvm_layout hl;
    bool hvm;
    mfn_t p2m[NR_PAGES];
    uint32_t type[NR_PAGES];
    uint8_t *wire;                      /* the pages as sent (normalised) */
    uint8_t alt[PG];                    /* a changed page */
};
static struct src S;

static uint64_t m2p_read(void *o, uint64_t mfn)
{
    return get_gpfn_from_mfn(((struct src *)o)->m, mfn);
}
static bool in_map(void *o, uint64_t pfn, uint64_t mfn)
{
    return pfn < NR_PAGES && ((struct src *)o)->p2m[pfn] == mfn;
}

/* pfn -> mfn of a PV domain from the M2P of its machine. */
static void pv_p2m(struct machine *m, struct domain *d, mfn_t *p2m)
{
    for (unsigned p = 0; p < NR_PAGES; p++)
        p2m[p] = INVALID_MFN;
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        uint64_t pfn = get_gpfn_from_mfn(m, mfn);
        if (page_get_owner(m, mfn) == d && pfn < NR_PAGES)
            p2m[pfn] = mfn;
    }
}

static void src_pv(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct workload_params wl = { .kind = WL_MEMTOUCH, .procs = 1 };
    char err[256] = "";

    memset(&S, 0, sizeof(S));
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(32ULL << 20, 1, &ho, &S.m) == 0);
    struct build_pv_config cfg = { .domid = DOMID, .nr_vcpus = NR_VCPUS,
                                   .nr_pages = NR_PAGES, .gopt = &go, .wl = &wl };
    int rc = build_pv(S.m, &cfg, &S.d, &S.gpv, &S.pl, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
    /* The kernel's first act: pin its L4 (guest/pv_kernel.c). */
    REQUIRE(domctl_pin_table(S.d, S.pl.l4_mfn, 4) == 0);
    CHECK_EQ(domctl_pin_table(S.d, S.pl.l4_mfn, 4), -XEN_EINVAL);
    /* Some vCPU state in shared_info, and pending events Xen drops. */
    shared_info_t *si = mfn_to_virt_w(S.m, S.d->shared_info_mfn);
    si->vcpu_info[0].evtchn_upcall_mask = 1;
    si->vcpu_info[1].time.version = 42;
    si->vcpu_info[0].evtchn_pending_sel = 3;
    si->evtchn_pending[0] = 5;
    si->arch.max_pfn = NR_PAGES;

    pv_p2m(S.m, S.d, S.p2m);
    S.wire = malloc((size_t)NR_PAGES * PG);
    REQUIRE(S.wire);
    const struct pvn_save_ops ops = { m2p_read, in_map, &S };
    for (unsigned p = 0; p < NR_PAGES; p++) {
        REQUIRE(S.p2m[p] != INVALID_MFN);
        xen_pfn_t a = S.p2m[p];
        REQUIRE(domctl_getpageframeinfo3(S.d, &a, 1) == 0);
        S.type[p] = (uint32_t)a;
        REQUIRE(pv_normalise_page(S.type[p], mfn_to_virt(S.m, S.p2m[p]),
                                  (uint64_t *)(S.wire + (size_t)p * PG), &ops,
                                  true, NULL) == 0);
    }
    CHECK_HEX(S.type[S.pl.pt_pfn], T(L4TAB) | T(LPINTAB));
    CHECK_HEX(S.type[S.pl.pt_pfn + 1], T(L3TAB));
    CHECK_HEX(S.type[0], T(NOTAB));
    memset(S.alt, 0xa5, PG);
}

static void src_hvm(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct workload_params wl = { .kind = WL_MEMTOUCH, .procs = 1 };
    char err[256] = "";

    memset(&S, 0, sizeof(S));
    S.hvm = true;
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(32ULL << 20, 1, &ho, &S.m) == 0);
    struct build_hvm_config cfg = { .domid = DOMID, .nr_vcpus = NR_VCPUS,
                                    .nr_pages = NR_PAGES, .paging = PAGING_HAP,
                                    .gopt = &go, .wl = &wl };
    int rc = build_hvm(S.m, &cfg, &S.d, &S.ghvm, &S.hl, err, sizeof(err));
    if (rc == -XEN_EOPNOTSUPP || rc == -XEN_ENOSYS) {
        machine_destroy(S.m);
        SKIP("no HVM on this hypervisor build");
    }
    if (rc)
        fprintf(stderr, "  build_hvm: %s\n", err);
    REQUIRE(rc == 0);
    S.wire = malloc((size_t)NR_PAGES * PG);
    REQUIRE(S.wire);
    for (unsigned g = 0; g < NR_PAGES; g++) {
        p2m_type_t t;
        S.p2m[g] = get_gfn_query(S.d, g, &t);
        put_gfn(S.d, g);
        REQUIRE(S.p2m[g] != INVALID_MFN);
        S.type[g] = T(NOTAB);
        memcpy(S.wire + (size_t)g * PG, mfn_to_virt(S.m, S.p2m[g]), PG);
    }
    memset(S.alt, 0x5a, PG);
}

static void src_free(void)
{
    uint64_t free_before_destroy = S.m->nr_free;
    CHECK_EQ(domain_destroy(S.d), 0);
    CHECK(S.m->nr_free > free_before_destroy);
    CHECK_EQ(hv_audit(S.m, stderr), 0);
    if (S.gpv)
        guest_pv_free(S.gpv);
    if (S.ghvm)
        guest_hvm_free(S.ghvm);
    machine_destroy(S.m);
    free(S.wire);
}

/* ---- writing streams ----------------------------------------------------------- */

struct sopt {
    bool no_end;
    bool skip_vcpu1;
    bool dup;                   /* resend pfn DUP_PFN with S.alt */
    bool verify;                /* VERIFY, every page again, VERIFY_PFN as alt */
    bool extra_beyond;          /* an XALLOC page at NR_PAGES + 5 */
    bool bad_param;             /* HVM: param index HVM_NR_PARAMS */
    bool no_cpu1;               /* HVM: no CPU entry for vCPU 1 */
    const uint8_t *l1_override; /* PV: the first L1 sent as this */
    bool p2m_on_victim;         /* PV: p2m frame 0 is pfn VICTIM_PFN */
    bool si_on_victim;          /* PV: vCPU 0's start_info is VICTIM_PFN */
};
#define DUP_PFN     (NR_PAGES - 1)
#define VERIFY_PFN  (NR_PAGES - 2)
#define VICTIM_PFN  (NR_PAGES - 3)

static pfn_t first_l1(void)
{
    return S.pl.pt_pfn + 1 + S.pl.nr_l3 + S.pl.nr_l2;
}

static void write_pages(struct stream_writer *w, const struct sopt *so,
                        bool verify_pass)
{
    for (unsigned p = 0; p < NR_PAGES; p++) {
        const uint8_t *data = S.wire + (size_t)p * PG;
        if (!S.hvm && so->l1_override && p == first_l1())
            data = so->l1_override;
        if (verify_pass && p == VERIFY_PFN)
            data = S.alt;
        REQUIRE(stream_write_page(w, p, S.type[p], data) == 0);
    }
}

static void write_stream(const struct sopt *so, struct stream_membuf *mb)
{
    static uint8_t hvm_ctx[2 * sizeof(struct hvm_save_descriptor) * 4 +
                           sizeof(struct hvm_save_header) +
                           NR_VCPUS * sizeof(struct hvm_hw_cpu)];
    struct stream_writer *w = calloc(1, sizeof(*w));
    REQUIRE(w);
    memset(mb, 0, sizeof(*mb));
    stream_writer_init(w, stream_sink_mem, mb);
    REQUIRE(stream_write_headers(w, S.hvm ? STREAM_DHDR_TYPE_X86_HVM
                                          : STREAM_DHDR_TYPE_X86_PV, 4, 17) == 0);
    if (!S.hvm)
        REQUIRE(stream_write_x86_pv_info(w, 8, 4) == 0);
    REQUIRE(stream_write_static_data_end(w) == 0);
    if (!S.hvm) {
        uint64_t frames[8];
        for (unsigned f = 0; f < S.pl.nr_p2m_frames; f++)
            frames[f] = S.pl.p2m_pfn + f;
        if (so->p2m_on_victim)
            frames[0] = VICTIM_PFN;
        REQUIRE(stream_write_x86_pv_p2m_frames(w, 0, NR_PAGES - 1, frames,
                                               S.pl.nr_p2m_frames) == 0);
    }
    write_pages(w, so, false);
    if (so->dup)
        REQUIRE(stream_write_page(w, DUP_PFN, T(NOTAB), S.alt) == 0);
    if (so->extra_beyond)
        REQUIRE(stream_write_page(w, NR_PAGES + 5, T(XALLOC), NULL) == 0);
    if (so->verify) {
        REQUIRE(stream_write_verify(w) == 0);
        write_pages(w, so, true);
    }
    REQUIRE(stream_write_x86_tsc_info(w, 0, 2000000, 12345, 1) == 0);
    if (!S.hvm) {
        REQUIRE(stream_write_shared_info(w, mfn_to_virt(S.m,
                                         S.d->shared_info_mfn)) == 0);
        for (unsigned i = 0; i < NR_VCPUS; i++) {
            if (so->skip_vcpu1 && i == 1)
                continue;
            vcpu_guest_context_t c;
            memset(&c, 0, sizeof(c));
            c.ctrlreg[3] = xen_pfn_to_cr3(S.pl.pt_pfn);
            c.user_regs.rdx = so->si_on_victim ? VICTIM_PFN
                                               : S.pl.start_info_pfn;
            REQUIRE(stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_BASIC,
                                             i, &c, sizeof(c)) == 0);
        }
    } else {
        struct stream_hvm_params_entry p[2] = {
            { HVM_PARAM_STORE_EVTCHN, 3 },
            { so->bad_param ? HVM_NR_PARAMS : HVM_PARAM_CONSOLE_EVTCHN, 4 },
        };
        REQUIRE(stream_write_hvm_params(w, p, 2) == 0);
        size_t off = 0;
        struct hvm_save_descriptor desc = { HVM_SAVE_CODE(HEADER), 0,
                                            sizeof(struct hvm_save_header) };
        struct hvm_save_header h = { .magic = HVM_FILE_MAGIC, .version = 1 };
        memcpy(hvm_ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
        memcpy(hvm_ctx + off, &h, sizeof(h)); off += sizeof(h);
        for (unsigned i = 0; i < NR_VCPUS; i++) {
            if (so->no_cpu1 && i == 1)
                continue;
            struct hvm_hw_cpu cpu;
            memset(&cpu, 0, sizeof(cpu));
            cpu.cr3 = S.d->vcpu[i]->guest_cr3;
            desc = (struct hvm_save_descriptor){ HVM_SAVE_CODE(CPU), i,
                                                 sizeof(cpu) };
            memcpy(hvm_ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
            memcpy(hvm_ctx + off, &cpu, sizeof(cpu)); off += sizeof(cpu);
        }
        desc = (struct hvm_save_descriptor){ HVM_SAVE_CODE(END), 0, 0 };
        memcpy(hvm_ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
        REQUIRE(stream_write_hvm_context(w, hvm_ctx, off) == 0);
    }
    if (!so->no_end)
        REQUIRE(stream_write_end(w) == 0);
    else
        REQUIRE(stream_write_flush(w) == 0);
    free(w);
}

/* Offset of the first record of a type in a valid stream (-1: none). */
static long long rec_offset(const struct stream_membuf *mb, uint32_t type)
{
    struct stream_memsrc src = { mb->buf, mb->len, 0 };
    struct stream_reader r;
    struct stream_record rec;
    long long found = -1;
    stream_reader_init(&r, stream_source_mem, &src);
    while (stream_read_record(&r, &rec) == 0)
        if (rec.type == type && found < 0)
            found = (long long)rec.offset;
    stream_reader_free(&r);
    return found;
}

/* ---- restoring on machine B ------------------------------------------------------ */

struct dst {
    struct machine *m;
    uint64_t free_before;
    struct mig_restore_result res;
    int rc;
};

static void dst_restore(struct dst *b, const uint8_t *buf, size_t len,
                        uint64_t max_pages, FILE *image)
{
    struct hv_options ho;
    hv_options_default(&ho);
    REQUIRE(machine_create(32ULL << 20, 2, &ho, &b->m) == 0);
    b->free_before = b->m->nr_free;
    struct stream_memsrc src = { buf, len, 0 };
    struct stream_reader r;
    stream_reader_init(&r, stream_source_mem, &src);
    struct mig_restore_opts o = {
        .m = b->m, .domid = DOMID, .nr_vcpus = NR_VCPUS,
        .max_pages = max_pages, .paging = S.hvm ? PAGING_HAP : PAGING_PV,
        .r = &r, .image_restored = image,
    };
    b->rc = mig_restore(&o, &b->res);
    if (b->rc)
        fprintf(stderr, "  restore: %s\n", b->res.err);
    stream_reader_free(&r);
}

static void dst_free(struct dst *b)
{
    if (b->res.d)
        CHECK_EQ(domain_destroy(b->res.d), 0);
    CHECK_EQ(b->m->nr_free, b->free_before);
    CHECK(machine_domain(b->m, DOMID) == NULL);
    CHECK_EQ(hv_audit(b->m, stderr), 0);
    machine_destroy(b->m);
}

/* An error case: rc, and the message holds want; B as it was. */
static void expect_fail(const uint8_t *buf, size_t len, uint64_t max_pages,
                        int want_rc, const char *want)
{
    struct dst b;
    dst_restore(&b, buf, len, max_pages, NULL);
    CHECK_EQ(b.rc, want_rc);
    CHECK(b.res.d == NULL);
    if (!strstr(b.res.err, want)) {
        fprintf(stderr, "  error \"%s\" lacks \"%s\"\n", b.res.err, want);
        CHECK(0);
    }
    dst_free(&b);
}

/* ---- PV ---------------------------------------------------------------------------- */

/* B's page p as the source would send it (its tables normalised through
   B's M2P); compare with what A sent. */
static unsigned pv_compare(struct domain *d, const mfn_t *p2m_b,
                           unsigned *tables)
{
    struct machine *m = d->m;
    static mfn_t pb[NR_PAGES];
    memcpy(pb, p2m_b, sizeof(pb));
    unsigned bad = 0;
    *tables = 0;
    for (unsigned p = 0; p < NR_PAGES; p++) {
        if (p == S.pl.start_info_pfn ||
            (p >= S.pl.p2m_pfn && p < S.pl.p2m_pfn + S.pl.nr_p2m_frames))
            continue;                   /* rewritten: checked apart */
        uint64_t out[PVN_ENTRIES];
        const uint8_t *want = S.wire + (size_t)p * PG;
        if (pvn_type_level(S.type[p])) {
            const uint64_t *page = mfn_to_virt(m, pb[p]);
            for (unsigned i = 0; i < PVN_ENTRIES; i++) {
                uint64_t e = page[i];
                if (pvn_type_level(S.type[p]) == 4 && i >= XEN_L4_SLOT_FIRST &&
                    i <= XEN_L4_SLOT_LAST)
                    e = 0;
                else if (pte_present(e))
                    e = pte_make(get_gpfn_from_mfn(m, pte_mfn(e)), pte_flags(e));
                out[i] = e;
            }
            (*tables)++;
            bad += memcmp(out, want, PG) != 0;
        } else {
            bad += memcmp(mfn_to_virt(m, pb[p]), want, PG) != 0;
        }
    }
    return bad;
}

static void t_pv_restore(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    FILE *img = tmpfile();
    REQUIRE(img);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, img);
    REQUIRE(b.rc == 0);
    struct domain *d = b.res.d;
    REQUIRE(d && d->kind == DOMAIN_PV);
    CHECK_EQ(b.res.dom_type, STREAM_DHDR_TYPE_X86_PV);
    CHECK_EQ(b.res.pages, NR_PAGES);
    CHECK_EQ(b.res.bytes, mb.len);
    CHECK(!b.res.verify_seen);
    CHECK_EQ(b.res.err[0], 0);

    static mfn_t pb[NR_PAGES];
    pv_p2m(b.m, d, pb);
    unsigned tables;
    CHECK_EQ(pv_compare(d, pb, &tables), 0);
    CHECK_EQ(tables, S.pl.nr_pt_frames);
    /* The guest's p2m frames hold B's mfns. */
    for (unsigned f = 0; f < S.pl.nr_p2m_frames; f++) {
        const xen_pfn_t *list = mfn_to_virt(b.m, pb[S.pl.p2m_pfn + f]);
        unsigned bad = 0;
        for (unsigned i = 0; i < PAGE_SIZE / sizeof(xen_pfn_t); i++) {
            unsigned p = f * (PAGE_SIZE / sizeof(xen_pfn_t)) + i;
            if (p < NR_PAGES)
                bad += list[i] != pb[p];
        }
        CHECK_EQ(bad, 0);
    }
    /* start_info: the new shared_info, the rest as sent. */
    const start_info_t *si = mfn_to_virt(b.m, pb[S.pl.start_info_pfn]);
    const start_info_t *so = (const void *)(S.wire + S.pl.start_info_pfn * PG);
    CHECK_HEX(si->shared_info, d->shared_info_mfn << PAGE_SHIFT);
    CHECK_EQ(si->nr_pages, so->nr_pages);
    CHECK_HEX(si->pt_base, so->pt_base);
    CHECK(memcmp(si->magic, so->magic, sizeof(si->magic)) == 0);
    /* shared_info: vCPU state kept, events reset as Xen does. */
    const shared_info_t *sh = mfn_to_virt(b.m, d->shared_info_mfn);
    CHECK_EQ(sh->vcpu_info[0].evtchn_upcall_mask, 1);
    CHECK_EQ(sh->vcpu_info[1].time.version, 42);
    CHECK_EQ(sh->vcpu_info[0].evtchn_pending_sel, 0);
    CHECK_EQ(sh->evtchn_pending[0], 0);
    CHECK_HEX(sh->evtchn_mask[0], ~0ULL);
    CHECK_EQ(sh->arch.max_pfn, NR_PAGES);
    /* The L4 is pinned and validated, and is every vCPU's root. */
    mfn_t l4 = pb[S.pl.pt_pfn];
    uint64_t ti = mfn_to_page(b.m, l4)->type_info;
    CHECK(ti & PGT_pinned);
    CHECK(ti & PGT_validated);
    xen_pfn_t a = l4;
    CHECK_EQ(domctl_getpageframeinfo3(d, &a, 1), 0);
    CHECK_HEX(a, T(L4TAB) | T(LPINTAB));
    for (unsigned i = 0; i < NR_VCPUS; i++)
        CHECK_HEX(d->vcpu[i]->guest_table, l4);
    CHECK_EQ(hv_audit(b.m, stderr), 0);

    /* The image of the restored domain: every pfn, types as B reports. */
    rewind(img);
    struct image_reader *ir;
    REQUIRE(image_reader_open(img, "restored", &ir) == 0);
    CHECK_EQ(image_reader_header(ir)->nr_pages, NR_PAGES);
    CHECK_EQ(image_reader_header(ir)->moment, IMAGE_MOMENT_DEST_RESTORED);
    struct image_page pg;
    unsigned n = 0, typed = 0;
    while (image_read_page(ir, &pg) == 1) {
        typed += pg.pfn == S.pl.pt_pfn && pg.type == (T(L4TAB) | T(LPINTAB));
        if (pg.pfn == 100)              /* a data page: as sent */
            CHECK_HEX(pg.hash, image_page_hash(S.wire + 100 * PG));
        n++;
    }
    CHECK_EQ(n, NR_PAGES);
    CHECK_EQ(typed, 1);
    image_reader_close(ir);
    fclose(img);

    dst_free(&b);
    src_free();
    free(mb.buf);
}

/* A page sent twice: the second one wins. */
static void t_pv_duplicates(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .dup = true }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    REQUIRE(b.rc == 0);
    static mfn_t pb[NR_PAGES];
    pv_p2m(b.m, b.res.d, pb);
    CHECK(memcmp(mfn_to_virt(b.m, pb[DUP_PFN]), S.alt, PG) == 0);
    CHECK_EQ(b.res.pages, NR_PAGES + 1);
    CHECK_EQ(hv_audit(b.m, stderr), 0);
    dst_free(&b);
    src_free();
    free(mb.buf);
}

/* VERIFY: the second pass is compared, not written; exactly the changed
   pfn is reported. */
static void t_pv_verify(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .verify = true }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    REQUIRE(b.rc == 0);
    CHECK(b.res.verify_seen);
    CHECK_EQ(b.res.verify_pages, NR_PAGES);
    CHECK_EQ(b.res.verify_mismatches, 1);
    CHECK_EQ(b.res.nr_mismatch_listed, 1);
    CHECK_EQ(b.res.mismatch_pfn[0], VERIFY_PFN);
    CHECK_EQ(b.res.pages, NR_PAGES);
    static mfn_t pb[NR_PAGES];
    pv_p2m(b.m, b.res.d, pb);
    CHECK(memcmp(mfn_to_virt(b.m, pb[VERIFY_PFN]),
                 S.wire + (size_t)VERIFY_PFN * PG, PG) == 0);
    dst_free(&b);
    src_free();
    free(mb.buf);
}

/* Cut short inside the image header, the domain header, a PAGE_DATA body,
   and just before END: each rejected, B untouched. */
static void t_pv_truncated(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    long long pd = rec_offset(&mb, STREAM_REC_PAGE_DATA);
    long long end = rec_offset(&mb, STREAM_REC_END);
    REQUIRE(pd > 0 && end > 0);
    expect_fail(mb.buf, 10, NR_PAGES, -XEN_EINVAL, "image header");
    expect_fail(mb.buf, 30, NR_PAGES, -XEN_EINVAL, "domain header");
    expect_fail(mb.buf, (size_t)pd + 8 + 8 * 1024 + 5000, NR_PAGES,
                -XEN_EINVAL, "truncated");
    expect_fail(mb.buf, (size_t)pd + 8 + 8 * 1024 + 5000, NR_PAGES,
                -XEN_EINVAL, "PAGE_DATA");
    expect_fail(mb.buf, (size_t)end, NR_PAGES, -XEN_EINVAL, "no END");
    /* And at 130-odd more offsets across the whole stream. */
    for (size_t cut = 1; cut < mb.len; cut += 32771) {
        struct dst b;
        dst_restore(&b, mb.buf, cut, NR_PAGES, NULL);
        CHECK(b.rc < 0);
        CHECK(b.res.d == NULL);
        CHECK(strstr(b.res.err, "offset") != NULL);
        dst_free(&b);
    }
    src_free();
    free(mb.buf);
}

static void t_pv_bad_type(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    long long pd = rec_offset(&mb, STREAM_REC_PAGE_DATA);
    REQUIRE(pd > 0);
    /* pfn[3]'s type nibble (bits 63-60, the top byte's high half). */
    mb.buf[pd + 8 + 8 + 3 * 8 + 7] = (uint8_t)((mb.buf[pd + 8 + 8 + 3 * 8 + 7]
                                                & 0x0f) | 0x50);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "is not a valid XEN_DOMCTL_PFINFO value");
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL, "pfn[3]");
    src_free();
    free(mb.buf);
}

static void t_pv_pfn_beyond(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .extra_beyond = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_ERANGE, "pfn[0] 0x405");
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_ERANGE,
                "0x405 (XALLOC) is beyond the domain (max_pages 1024, the p2m "
                "ends at 0x3ff)");
    /* A destination smaller than the guest's p2m. */
    free(mb.buf);
    write_stream(&(struct sopt){ 0 }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES - 8, -XEN_ERANGE,
                "(X86_PV_P2M_FRAMES, type 0x3) at offset" );
    src_free();
    free(mb.buf);
}

static void t_pv_l1_beyond(void)
{
    src_pv();
    static uint64_t l1[PVN_ENTRIES];
    memcpy(l1, S.wire + (size_t)first_l1() * PG, PG);
    l1[77] = pte_make(NR_PAGES + 50, _PAGE_PRESENT | _PAGE_RW);
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .l1_override = (const uint8_t *)l1 }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_ERANGE, "does not localise: "
                "L1 slot 77");
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_ERANGE, "names pfn 0x432");
    src_free();
    free(mb.buf);
}

static void t_pv_missing_vcpu(void)
{
    src_pv();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .skip_vcpu1 = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "(END, type 0) at offset");
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "no X86_PV_VCPU_BASIC record for vCPU 1");
    src_free();
    free(mb.buf);
}

/* The L4 not pinned on the source (a domain whose kernel never ran): as
   in Xen, the root is accepted and validated by setting the vCPU context;
   a root sent as anything but an L4 is refused by name. */
static void t_pv_root_unpinned_or_not_l4(void)
{
    src_pv();
    S.type[S.pl.pt_pfn] = T(L4TAB);
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    REQUIRE(b.rc == 0);
    static mfn_t pb[NR_PAGES];
    pv_p2m(b.m, b.res.d, pb);
    uint64_t ti = mfn_to_page(b.m, pb[S.pl.pt_pfn])->type_info;
    CHECK(!(ti & PGT_pinned));
    CHECK(ti & PGT_validated);
    for (unsigned i = 0; i < NR_VCPUS; i++)
        CHECK_HEX(b.res.d->vcpu[i]->guest_table, pb[S.pl.pt_pfn]);
    CHECK_EQ(hv_audit(b.m, stderr), 0);
    dst_free(&b);
    free(mb.buf);
    S.type[S.pl.pt_pfn] = T(L3TAB);         /* pretend the root is an L3 */
    write_stream(&(struct sopt){ 0 }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "vCPU 0's kernel root pfn 0x3 is not an L4 (L3TAB)");
    src_free();
    free(mb.buf);
}

/* A table that does not validate: an L2 sent as pinned whose entries are
   data, not L1s; the pin fails and names the pfn. */
static void t_pv_pin_fails(void)
{
    src_pv();
    pfn_t l2 = S.pl.pt_pfn + 1 + S.pl.nr_l3;
    pfn_t victim = NR_PAGES - 3;            /* a plain data page */
    memcpy(S.wire + (size_t)victim * PG, S.wire + (size_t)l2 * PG, PG);
    uint64_t *e = (uint64_t *)(S.wire + (size_t)victim * PG);
    e[0] = pte_make(NR_PAGES - 4, _PAGE_PRESENT | _PAGE_RW);  /* data, RW */
    S.type[victim] = T(L3TAB) | T(LPINTAB);
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL, "pinning pfn 0x3fd");
    src_free();
    free(mb.buf);
}

/* A data page the pinned L4 also maps as an L3 (sent as NOTAB, so it
   passes the stream's type check): once the pins validated it, the
   restore's writes of the guest's p2m or start_info into it would put raw
   words under its validated entries.  As Xen's PROT_WRITE foreign map,
   the write is refused, by pfn, and nothing of the domain is left. */
static void t_pv_guest_frame_is_table(void)
{
    src_pv();
    memset(S.wire + (size_t)VICTIM_PFN * PG, 0, PG);
    uint64_t *l4 = (uint64_t *)(S.wire + (size_t)S.pl.pt_pfn * PG);
    unsigned slot = 200;                    /* a free guest slot */
    REQUIRE(l4[slot] == 0);
    l4[slot] = pte_make(VICTIM_PFN, _PAGE_PRESENT | _PAGE_RW);
    /* Unmap it from the direct map, or its writable type keeps it a page. */
    unsigned unmapped = 0;
    for (unsigned p = 0; p < NR_PAGES; p++) {
        if ((S.type[p] & ~T(LPINTAB)) != T(L1TAB))
            continue;
        uint64_t *e = (uint64_t *)(S.wire + (size_t)p * PG);
        for (unsigned i = 0; i < PG / 8; i++)
            if (pte_present(e[i]) && pte_mfn(e[i]) == VICTIM_PFN) {
                e[i] = 0;
                unmapped++;
            }
    }
    CHECK(unmapped > 0);
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .p2m_on_victim = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "p2m frame 0 (pfn 0x3fd, sent as NOTAB) cannot be mapped "
                "writable: the pinned tables use it as a pagetable");
    free(mb.buf);
    write_stream(&(struct sopt){ .si_on_victim = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "vCPU 0's start_info pfn 0x3fd (rdx, sent as NOTAB) cannot "
                "be mapped writable");
    free(mb.buf);
    /* Without the extra L4 entry the same frame is a p2m frame like any. */
    l4[slot] = 0;
    write_stream(&(struct sopt){ .p2m_on_victim = true }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(hv_audit(b.m, stderr), 0);
    dst_free(&b);
    free(mb.buf);
    src_free();
}

/* ---- HVM ---------------------------------------------------------------------------- */

static void t_hvm_restore(void)
{
    src_hvm();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ 0 }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    REQUIRE(b.rc == 0);
    struct domain *d = b.res.d;
    REQUIRE(d && d->kind == DOMAIN_HVM);
    CHECK_EQ(d->paging, PAGING_HAP);
    CHECK_EQ(b.res.pages, NR_PAGES);
    unsigned bad = 0;
    for (unsigned g = 0; g < NR_PAGES; g++) {
        p2m_type_t t;
        mfn_t mfn = get_gfn_query(d, g, &t);
        put_gfn(d, g);
        bad += mfn == INVALID_MFN ||
               memcmp(mfn_to_virt(b.m, mfn), S.wire + (size_t)g * PG, PG) != 0;
    }
    CHECK_EQ(bad, 0);
    for (unsigned i = 0; i < NR_VCPUS; i++)
        CHECK_HEX(d->vcpu[i]->guest_cr3, S.d->vcpu[i]->guest_cr3);
    CHECK(S.d->vcpu[0]->guest_cr3 != 0);
    CHECK_EQ(hv_audit(b.m, stderr), 0);
    dst_free(&b);
    src_free();
    free(mb.buf);
}

static void t_hvm_errors(void)
{
    src_hvm();
    struct stream_membuf mb;
    write_stream(&(struct sopt){ .bad_param = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL, "param[1] index 39");
    free(mb.buf);
    write_stream(&(struct sopt){ .no_cpu1 = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_EINVAL,
                "no CPU entry for vCPU 1");
    free(mb.buf);
    write_stream(&(struct sopt){ .extra_beyond = true }, &mb);
    expect_fail(mb.buf, mb.len, NR_PAGES, -XEN_ERANGE, "pfn[0] 0x405");
    free(mb.buf);
    write_stream(&(struct sopt){ .verify = true }, &mb);
    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(b.res.verify_mismatches, 1);
    CHECK_EQ(b.res.mismatch_pfn[0], VERIFY_PFN);
    dst_free(&b);
    src_free();
    free(mb.buf);
}

/* ---- round trip through mig_save ---------------------------------------------------- */

/* The test's suspend: the guest asks to suspend and its vCPUs stop. */
static int suspend_hook(void *arg, struct domain *d, char *err, size_t errlen)
{
    (void)arg;
    int rc = domain_shutdown(d, SHUTDOWN_suspend);
    if (rc) {
        snprintf(err, errlen, "domain_shutdown: %d", rc);
        return rc;
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        vcpu_entry_done(d->vcpu[i]);
    return 0;
}

static void round_trip(bool hvm, bool verify)
{
    if (hvm)
        src_hvm();
    else
        src_pv();
    struct stream_membuf mb = { 0 };
    struct stream_writer *w = calloc(1, sizeof(*w));
    REQUIRE(w);
    stream_writer_init(w, stream_sink_mem, &mb);
    struct mig_save_opts so = {
        .d = S.d, .w = w, .live = false, .verify = verify,
        .hooks = { .suspend = suspend_hook },
    };
    struct mig_save_stats st;
    int rc = mig_save(&so, &st);
    if (rc)
        fprintf(stderr, "  mig_save: %s\n", st.err);
    REQUIRE(rc == 0);
    free(w);

    struct dst b;
    dst_restore(&b, mb.buf, mb.len, NR_PAGES, NULL);
    REQUIRE(b.rc == 0);
    struct domain *d = b.res.d;
    CHECK_EQ(b.res.bytes, mb.len);
    CHECK_EQ(b.res.verify_seen, verify);
    CHECK_EQ(b.res.verify_mismatches, 0);
    if (verify)
        CHECK(b.res.verify_pages >= NR_PAGES);
    if (hvm) {
        unsigned bad = 0;
        for (unsigned g = 0; g < NR_PAGES; g++) {
            p2m_type_t t;
            mfn_t mfn = get_gfn_query(d, g, &t);
            put_gfn(d, g);
            bad += mfn == INVALID_MFN ||
                   memcmp(mfn_to_virt(b.m, mfn), S.wire + (size_t)g * PG, PG);
        }
        CHECK_EQ(bad, 0);
        for (unsigned i = 0; i < NR_VCPUS; i++)
            CHECK_HEX(d->vcpu[i]->guest_cr3, S.d->vcpu[i]->guest_cr3);
    } else {
        static mfn_t pb[NR_PAGES];
        pv_p2m(b.m, d, pb);
        unsigned tables;
        CHECK_EQ(pv_compare(d, pb, &tables), 0);
        CHECK_EQ(tables, S.pl.nr_pt_frames);
        const start_info_t *si = mfn_to_virt(b.m, pb[S.pl.start_info_pfn]);
        CHECK_HEX(si->shared_info, d->shared_info_mfn << PAGE_SHIFT);
        const xen_pfn_t *list = mfn_to_virt(b.m, pb[S.pl.p2m_pfn]);
        CHECK_HEX(list[S.pl.pt_pfn], pb[S.pl.pt_pfn]);
        for (unsigned i = 0; i < NR_VCPUS; i++)
            CHECK_HEX(d->vcpu[i]->guest_table, pb[S.pl.pt_pfn]);
    }
    CHECK_EQ(hv_audit(b.m, stderr), 0);
    dst_free(&b);
    src_free();
    free(mb.buf);
}
static void t_round_trip_pv(void) { round_trip(false, false); }
static void t_round_trip_pv_verify(void) { round_trip(false, true); }
static void t_round_trip_hvm(void) { round_trip(true, false); }

static const struct test tests[] = {
    { "PV: a built domain restores on another machine: data, tables "
      "localised, p2m frames, start_info, shared_info, pinned L4 roots",
      t_pv_restore },
    { "PV: a page sent twice is legal and the last copy wins",
      t_pv_duplicates },
    { "PV: after VERIFY pages are compared, exactly the changed pfn reported",
      t_pv_verify },
    { "PV: truncated streams (headers, PAGE_DATA body, before END, 130 "
      "more offsets) fail with the offset and leave B's heap as it was",
      t_pv_truncated },
    { "PV: a flipped type nibble is rejected naming the record and pfn",
      t_pv_bad_type },
    { "PV: a pfn beyond max_pages, or a p2m beyond it, is -ERANGE",
      t_pv_pfn_beyond },
    { "PV: an L1 entry naming a pfn beyond the map does not localise",
      t_pv_l1_beyond },
    { "PV: a vCPU without its X86_PV_VCPU_BASIC record fails at END",
      t_pv_missing_vcpu },
    { "PV: an unpinned L4 root is validated by the vCPU context; a root "
      "that is not an L4 is refused", t_pv_root_unpinned_or_not_l4 },
    { "PV: a pinned table that does not validate fails its pin, by pfn",
      t_pv_pin_fails },
    { "PV: a p2m or start_info frame the pinned tables use as a table is "
      "refused, not written under its validated entries",
      t_pv_guest_frame_is_table },
    { "HVM: a built domain restores: every gfn's content and each vCPU's CR3",
      t_hvm_restore },
    { "HVM: a bad param index, a missing CPU entry, a gfn beyond max_pages; "
      "verify mode",
      t_hvm_errors },
    { "round trip: mig_save of a suspended PV domain restores to the same "
      "content, tables and roots", t_round_trip_pv },
    { "round trip: mig_save's verify pass finds no mismatch",
      t_round_trip_pv_verify },
    { "round trip: mig_save of an HVM domain restores its gfns and CR3s",
      t_round_trip_hvm },
};
TEST_MAIN(tests)
