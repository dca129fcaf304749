/*
 * tests/unit/test-analysis-images.c - images_compare (analysis/images.c):
 * two images written with toolstack/image.h's writer, with a known
 * difference, compared with and without a trace analysed beside them; a
 * malformed image gives the reader's message and no finding.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/domctl.h>

#include "analysis/analyze.h"
#include "analysis/checker.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/images.h"
#include "analysis/state.h"
#include "toolstack/image.h"
#include "tests/unit/test.h"
#include "tests/unit/analysis_fixture.h"

#define UDOM 2
#define NPAGES 8

static char SRC[64], DST[64];

static void page_fill(uint8_t *p, uint64_t pfn)
{
    for (unsigned i = 0; i < IMAGE_PAGE_SIZE; i++)
        p[i] = (uint8_t)(pfn * 31 + i);
}

/* An image of pfns 0..n-1; `flip` (if < n) has bytes [lo, hi] changed. */
static void write_image(const char *path, uint32_t moment, uint32_t host,
                        uint64_t n, uint64_t flip, unsigned lo, unsigned hi)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    struct image_header h = {
        .host_id = host, .domid = UDOM, .kind = IMAGE_KIND_PV,
        .moment = moment, .nr_pages = n,
    };
    snprintf(h.label, sizeof h.label, "test");
    struct image_writer *w;
    REQUIRE(image_writer_open(f, &h, &w) == 0);
    static uint8_t page[IMAGE_PAGE_SIZE];
    for (uint64_t pfn = 0; pfn < n; pfn++) {
        page_fill(page, pfn);
        if (pfn == flip)
            for (unsigned i = lo; i <= hi; i++)
                page[i] ^= 0xff;
        REQUIRE(image_add_page(w, pfn, XEN_DOMCTL_PFINFO_NOTAB, page) == 0);
    }
    REQUIRE(image_writer_finish(w) == 0);
    fclose(f);
}

static void paths(void)
{
    snprintf(SRC, sizeof SRC, "/tmp/hvlab-img-src-%d.img", (int)getpid());
    snprintf(DST, sizeof DST, "/tmp/hvlab-img-dst-%d.img", (int)getpid());
}

static void cleanup(void)
{
    unlink(SRC);
    unlink(DST);
}

static void t_no_trace(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES, 5, 100, 103);
    struct findings *fs = findings_new(0);
    REQUIRE(fs);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), 0);
    CHECK_EQ(r.pages_src, NPAGES);
    CHECK_EQ(r.pages_dst, NPAGES);
    CHECK_EQ(r.differ, 1);
    CHECK_EQ(r.attributed, 0);
    CHECK_EQ(findings_count_checker(fs, "image.differs"), 1);
    const struct finding *f = findings_get(fs, 0);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 5);
    CHECK_EQ(f->dom, UDOM);
    CHECK_EQ(f->host, 0);
    CHECK(says(f, "pfn 0x5 of dom2 differs at bytes [100,103] (4 bytes)"));
    CHECK(says(f, "no trace was analysed"));
    findings_free(fs);
    cleanup();
}

static void t_same(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES, ~0ULL, 0, 0);
    struct findings *fs = findings_new(0);
    REQUIRE(fs);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), 0);
    CHECK_EQ(r.differ, 0);
    CHECK_EQ(findings_count(fs), 0);
    findings_free(fs);
    cleanup();
}

static void t_only_one(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES - 1, ~0ULL, 0, 0);
    struct findings *fs = findings_new(0);
    REQUIRE(fs);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), 0);
    CHECK_EQ(r.differ, 1);
    const struct finding *f = findings_get(fs, 0);
    REQUIRE(f);
    CHECK_HEX(f->pfn, NPAGES - 1);
    CHECK(says(f, "is in the source image only"));
    findings_free(fs);
    cleanup();
}

static void t_malformed(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES, 3, 0, 10);
    /* one byte of the third record's content flipped: its hash no longer holds */
    FILE *f = fopen(DST, "r+b");
    REQUIRE(f);
    long off = IMAGE_HDR_SIZE + 2 * (IMAGE_REC_HEAD_SIZE + IMAGE_PAGE_SIZE) +
               IMAGE_REC_HEAD_SIZE + 7;
    REQUIRE(fseek(f, off, SEEK_SET) == 0);
    int c = fgetc(f);
    REQUIRE(fseek(f, off, SEEK_SET) == 0);
    fputc(c ^ 1, f);
    fclose(f);
    struct findings *fs = findings_new(0);
    REQUIRE(fs);
    struct images_result r;
    char err[256] = "";
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), -1);
    CHECK(strstr(err, DST) != NULL);
    CHECK(strstr(err, "offset") != NULL);
    CHECK_EQ(findings_count(fs), 0);     /* I3: not even pfn 3's difference */
    if (!strstr(err, DST))
        fprintf(stderr, "  err: %s\n", err);

    /* a truncated header */
    f = fopen(SRC, "wb");
    REQUIRE(f);
    fputs(IMAGE_MAGIC, f);
    fclose(f);
    err[0] = '\0';
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), -1);
    CHECK(strstr(err, SRC) != NULL);
    CHECK_EQ(findings_count(fs), 0);

    /* a missing file */
    unlink(SRC);
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), -1);
    CHECK(strstr(err, SRC) != NULL);
    findings_free(fs);
    cleanup();
}

/* ---- with story E's trace ------------------------------------------------ */


static void send(unsigned iter, uint64_t pfn)
{
    feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(iter),
         HVF_pfn, pfn, HVF_mfn, U(0x800) + pfn, HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB),
         HVF_normalised, U(0), HVF_hash, U(0x1000) + pfn, -1);
}

static void t_attributed(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES, 5, 40, 41);
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
    /* dom1 maps pfn 5 writable; the migration sends everything in round 0
       and nothing afterwards; the mapping is never unmapped */
    feed(HVE_grant_map, HVF_host, U(0), HVF_ldom, U(1), HVF_rdom, U(UDOM), HVF_ref, U(8),
         HVF_mfn, U(0x805), HVF_flags, U(GNTMAP_host_map), HVF_handle, U(0),
         HVF_addr, U(0x1000), HVF_status, U(GNTST_okay), -1);
    feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U(0), -1);
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(0),
         HVF_final, U(0), HVF_to_send, U(NPAGES), -1);
    for (uint64_t p = 0; p < NPAGES; p++)
        send(0, p);
    feed(HVE_dirty_clean, HVF_host, U(0), HVF_dom, U(UDOM), HVF_final, U(1),
         HVF_dirty_count, U(0), HVF_fault_count, U(0), HVF_pages, U(NPAGES), -1);
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(1),
         HVF_final, U(1), HVF_to_send, U(0), -1);
    feed(HVE_mig_save_done, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U(0),
         HVF_pages, U(NPAGES), HVF_bytes, U(NPAGES * 4096), -1);
    az_end(A);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, az_state(A), az_findings(A), &r, err, sizeof err), 0);
    CHECK_EQ(r.differ, 1);
    CHECK_EQ(r.attributed, 1);
    const struct finding *f = NULL;
    for (size_t i = 0; i < findings_kept(az_findings(A)); i++)
        if (!strcmp(findings_get(az_findings(A), i)->checker, "image.differs"))
            f = findings_get(az_findings(A), i);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 5);
    CHECK(says(f, "differs at bytes [40,41] (2 bytes)"));
    CHECK(says(f, "last sent in round 0 at 0.0"));
    CHECK(says(f, "written after that through dom1's grant mapping (ref 8)"));
    CHECK(says(f, "never marked dirty"));
    /* the same page from story E's checker */
    CHECK_EQ(findings_count_checker(az_findings(A), "story-e.dirty-after-send"), 1);
    az_free(A);
    cleanup();
}

static void t_not_explained(void)
{
    paths();
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, NPAGES, 2, 0, 0);
    A = az_new(&(struct az_options){ 0 });
    REQUIRE(A);
    SEQ = 0;
    feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U(0), -1);
    feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(0),
         HVF_final, U(0), HVF_to_send, U(NPAGES), -1);
    for (uint64_t p = 0; p < NPAGES; p++)
        send(0, p);
    az_end(A);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, az_state(A), az_findings(A), &r, err, sizeof err), 0);
    CHECK_EQ(r.differ, 1);
    CHECK_EQ(r.attributed, 0);
    const struct finding *f = findings_get(az_findings(A), findings_kept(az_findings(A)) - 1);
    REQUIRE(f);
    CHECK_HEX(f->pfn, 2);
    CHECK(says(f, "last sent in round 0"));
    CHECK(says(f, "not explained by the trace"));
    az_free(A);
    cleanup();
}

/* The hash the image holds for one pfn of `path`. */
static uint64_t image_hash(const char *path, uint64_t pfn)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    struct image_reader *r;
    REQUIRE(image_reader_open(f, path, &r) == 0);
    struct image_page pg;
    uint64_t h = 0;
    while (image_read_page(r, &pg) == 1)
        if (pg.pfn == pfn)
            h = pg.hash;
    image_reader_close(r);
    fclose(f);
    return h;
}

/* I4: pfn 3 arrived exactly as sent; the destination-restored image holds
   something else: the restore rewrote it (expected, no finding).  The same
   difference against an image of another moment is a finding. */
static void t_rewritten_by_restore(void)
{
    for (int moment = 0; moment < 2; moment++) {
        paths();
        write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, NPAGES, ~0ULL, 0, 0);
        write_image(DST, moment ? IMAGE_MOMENT_OTHER : IMAGE_MOMENT_DEST_RESTORED,
                    1, NPAGES, 3, 0, 7);
        uint64_t h = image_hash(SRC, 3);
        A = az_new(&(struct az_options){ 0 });
        REQUIRE(A);
        SEQ = 0;
        feed(HVE_dirty_enable, HVF_host, U(0), HVF_dom, U(UDOM), HVF_rc, U(0), -1);
        feed(HVE_mig_round_begin, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(0),
             HVF_final, U(0), HVF_to_send, U(NPAGES), -1);
        feed(HVE_mig_send_page, HVF_host, U(0), HVF_dom, U(UDOM), HVF_iter, U(0),
             HVF_pfn, U(3), HVF_mfn, U(0x803), HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB),
             HVF_normalised, U(0), HVF_hash, h, -1);
        feed(HVE_mig_recv_page, HVF_host, U(1), HVF_dom, U(UDOM), HVF_pfn, U(3),
             HVF_mfn, U(0x903), HVF_type, U(XEN_DOMCTL_PFINFO_NOTAB), HVF_hash, h,
             HVF_verify, U(0), -1);
        az_end(A);
        struct images_result r;
        char err[256];
        CHECK_EQ(images_compare(SRC, DST, az_state(A), az_findings(A), &r, err,
                                sizeof err), 0);
        CHECK_EQ(r.differ, 1);
        CHECK_EQ(r.expected, moment ? 0 : 1);
        CHECK_EQ(findings_count_checker(az_findings(A), "image.differs"),
                 moment ? 1 : 0);
        if (moment)
            CHECK(says(findings_get(az_findings(A), 0),
                       "the destination changed it after it arrived"));
        az_free(A);
        cleanup();
    }
}

/* A figure, printed (on stderr: the harness keeps stdout) and never
   asserted: compare throughput on 64 MiB a side. */
static void t_figure(void)
{
    paths();
    const uint64_t n = 16384;
    write_image(SRC, IMAGE_MOMENT_SOURCE_FINAL, 0, n, ~0ULL, 0, 0);
    write_image(DST, IMAGE_MOMENT_DEST_RESTORED, 1, n, 77, 0, 4095);
    struct findings *fs = findings_new(0);
    REQUIRE(fs);
    struct images_result r;
    char err[256];
    CHECK_EQ(images_compare(SRC, DST, NULL, fs, &r, err, sizeof err), 0);
    CHECK_EQ(r.differ, 1);
    if (r.seconds > 0)
        fprintf(stderr, "figure images-compare: %.0f MB/s   (%" PRIu64 " pages a side, one differing)\n",
               (double)r.bytes_compared / r.seconds / 1e6, n);
    findings_free(fs);
    cleanup();
}

static const struct test tests[] = {
    { "two images differing in 4 bytes of pfn 5: one image.differs naming pfn, dom and the byte range [100,103]", t_no_trace },
    { "identical images: no finding", t_same },
    { "a pfn in the source image only is named", t_only_one },
    { "a malformed or missing image is the reader's message naming the file and offset, and no finding at all", t_malformed },
    { "a page that arrived as sent and differs only in the destination-restored image was rewritten by the restore: expected, no finding (another moment: a finding)", t_rewritten_by_restore },
    { "with story E's trace: the differing pfn is attributed to its last send's round and dom1's grant mapping (ref 8), never marked dirty", t_attributed },
    { "with a trace that shows no write after the send: not explained by the trace", t_not_explained },
    { "compare throughput on 16384 pages a side (a printed figure)", t_figure },
};

TEST_MAIN(tests)
