/*
 * tests/unit/test-image.c - memory images (toolstack/image.h): round trip,
 * compare finds exactly the planted differences, hash-only images, and a
 * strict, total reader (every truncation, every byte flipped).
 */
#include "tests/unit/test.h"

#include "toolstack/image.h"

#define NPAGES  5

static const uint64_t pfns[NPAGES] = { 0, 1, 7, 0x100, 0x12345 };
static const uint32_t types[NPAGES] = {
    XEN_DOMCTL_PFINFO_NOTAB,
    XEN_DOMCTL_PFINFO_L1TAB | XEN_DOMCTL_PFINFO_LPINTAB,
    XEN_DOMCTL_PFINFO_L4TAB,
    XEN_DOMCTL_PFINFO_NOTAB,
    XEN_DOMCTL_PFINFO_XTAB,             /* written without content */
};

static uint8_t pages[NPAGES][IMAGE_PAGE_SIZE];

static void fill_pages(void)
{
    uint32_t x = 12345;
    for (int i = 0; i < NPAGES; i++)
        for (int j = 0; j < (int)IMAGE_PAGE_SIZE; j++) {
            x = x * 1103515245u + 12345u;
            pages[i][j] = (uint8_t)(x >> 16);
        }
}

static struct image_header header(uint32_t flags, uint64_t n)
{
    struct image_header h = { .flags = flags, .host_id = 3, .domid = 7,
                              .kind = IMAGE_KIND_PV,
                              .moment = IMAGE_MOMENT_SOURCE_PAUSE,
                              .nr_pages = n };
    return h;
}

/* Write the NPAGES test pages into a malloc'ed buffer; edit() may change a
 * page's pfn, type or content copy, or skip it. */
static char *make_image(uint32_t flags, size_t *len,
                        void (*edit)(int i, uint64_t *pfn, uint32_t *type,
                                     uint8_t *data, bool *skip))
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    REQUIRE(f);
    int n = NPAGES;
    static uint8_t copy[NPAGES][IMAGE_PAGE_SIZE];
    uint64_t p[NPAGES];
    uint32_t t[NPAGES];
    bool skip[NPAGES] = { false };
    int kept = 0;
    for (int i = 0; i < n; i++) {
        memcpy(copy[i], pages[i], IMAGE_PAGE_SIZE);
        p[i] = pfns[i];
        t[i] = types[i];
        if (edit)
            edit(i, &p[i], &t[i], copy[i], &skip[i]);
        kept += !skip[i];
    }
    struct image_header h = header(flags, kept);
    struct image_writer *w;
    REQUIRE(image_writer_open(f, &h, &w) == 0);
    for (int i = 0; i < n; i++) {
        if (skip[i])
            continue;
        bool nodata = t[i] == XEN_DOMCTL_PFINFO_XTAB;
        CHECK_EQ(image_add_page(w, p[i], t[i], nodata ? NULL : copy[i]), 0);
    }
    CHECK_EQ(image_writer_finish(w), 0);
    fclose(f);
    return buf;
}

/* Read a whole image from bytes: 0 or the error, message into msg. */
static int read_all(const char *bytes, size_t len, char *msg, size_t msglen,
                    int *pages_read)
{
    FILE *f = len ? fmemopen((void *)bytes, len, "r") : fopen("/dev/null", "r");
    REQUIRE(f);
    struct image_reader *r;
    int rc = image_reader_open(f, "x.img", &r);
    int n = 0;
    struct image_page pg;
    while (rc == 0) {
        int k = image_read_page(r, &pg);
        if (k < 0)
            rc = k;
        if (k <= 0)
            break;
        n++;
    }
    if (msg)
        snprintf(msg, msglen, "%s", image_reader_error(r));
    if (pages_read)
        *pages_read = n;
    image_reader_close(r);
    fclose(f);
    return rc;
}

static void t_round_trip(void)
{
    fill_pages();
    size_t len;
    char *img = make_image(0, &len, NULL);
    CHECK_EQ(len, IMAGE_HDR_SIZE + NPAGES * (IMAGE_REC_HEAD_SIZE + IMAGE_PAGE_SIZE) +
                  IMAGE_FOOTER_SIZE);
    FILE *f = fmemopen(img, len, "r");
    struct image_reader *r;
    REQUIRE(image_reader_open(f, "rt.img", &r) == 0);
    const struct image_header *h = image_reader_header(r);
    CHECK_EQ(h->version, IMAGE_VERSION);
    CHECK_EQ(h->host_id, 3);
    CHECK_EQ(h->domid, 7);
    CHECK_EQ(h->kind, IMAGE_KIND_PV);
    CHECK_EQ(h->moment, IMAGE_MOMENT_SOURCE_PAUSE);
    CHECK_EQ(h->page_size, 4096);
    CHECK_EQ(h->nr_pages, NPAGES);
    struct image_page pg;
    for (int i = 0; i < NPAGES; i++) {
        REQUIRE(image_read_page(r, &pg) == 1);
        CHECK_HEX(pg.pfn, pfns[i]);
        CHECK_HEX(pg.type, types[i]);
        if (types[i] == XEN_DOMCTL_PFINFO_XTAB) {
            CHECK(pg.data == NULL);
            CHECK(pg.flags & IMAGE_PAGE_NODATA);
        } else {
            REQUIRE(pg.data != NULL);
            CHECK(memcmp(pg.data, pages[i], IMAGE_PAGE_SIZE) == 0);
            CHECK_HEX(pg.hash, image_page_hash(pages[i]));
        }
    }
    CHECK_EQ(image_read_page(r, &pg), 0);
    CHECK_EQ(image_read_page(r, &pg), 0);
    CHECK(strcmp(image_reader_error(r), "") == 0);
    image_reader_close(r);

    /* Seek by pfn (I1). */
    rewind(f);
    REQUIRE(image_reader_open(f, "rt.img", &r) == 0);
    CHECK_EQ(image_reader_find(r, 0x100, &pg), 1);
    CHECK_HEX(pg.pfn, 0x100);
    CHECK(pg.data && memcmp(pg.data, pages[3], IMAGE_PAGE_SIZE) == 0);
    CHECK_EQ(image_reader_find(r, 0, &pg), 1);
    CHECK_EQ(image_reader_find(r, 0x12345, &pg), 1);
    CHECK_EQ(image_reader_find(r, 8, &pg), 0);
    CHECK_EQ(image_reader_find(r, 0x99999, &pg), 0);
    image_reader_close(r);
    fclose(f);
    free(img);
}

static void t_label(void)
{
    fill_pages();
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    struct image_header h = header(IMAGE_F_HASH_ONLY, 0);
    h.moment = IMAGE_MOMENT_OTHER;
    struct image_writer *w;
    CHECK_EQ(image_writer_open(f, &h, &w), -XEN_EINVAL);   /* no label */
    strcpy(h.label, "after round 3");
    h.kind = IMAGE_KIND_HVM;
    REQUIRE(image_writer_open(f, &h, &w) == 0);
    CHECK_EQ(image_writer_finish(w), 0);
    fclose(f);
    FILE *g = fmemopen(buf, len, "r");
    struct image_reader *r;
    REQUIRE(image_reader_open(g, "l.img", &r) == 0);
    CHECK(strcmp(image_reader_header(r)->label, "after round 3") == 0);
    CHECK_EQ(image_reader_header(r)->kind, IMAGE_KIND_HVM);
    struct image_page pg;
    CHECK_EQ(image_read_page(r, &pg), 0);
    image_reader_close(r);
    fclose(g);
    free(buf);
}

static void t_writer_refuses(void)
{
    fill_pages();
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    struct image_header h = header(0, 2);
    struct image_writer *w;
    h.kind = 9;
    CHECK_EQ(image_writer_open(f, &h, &w), -XEN_EINVAL);
    h.kind = IMAGE_KIND_PV;
    h.flags = 0x80;
    CHECK_EQ(image_writer_open(f, &h, &w), -XEN_EINVAL);
    h.flags = 0;
    REQUIRE(image_writer_open(f, &h, &w) == 0);
    CHECK_EQ(image_add_page(w, 5, 0x12345, pages[0]), -XEN_EINVAL);  /* type */
    CHECK_EQ(image_add_page(w, 5, XEN_DOMCTL_PFINFO_NOTAB, pages[0]), 0);
    CHECK_EQ(image_add_page(w, 5, XEN_DOMCTL_PFINFO_NOTAB, pages[0]), -XEN_EINVAL);
    CHECK_EQ(image_add_page(w, 4, XEN_DOMCTL_PFINFO_NOTAB, pages[0]), -XEN_EINVAL);
    CHECK_EQ(image_writer_finish(w), -XEN_EINVAL);         /* 1 of 2 pages */
    fclose(f);
    free(buf);
}

/* ---- compare ---------------------------------------------------------- */

struct seen {
    int n;
    struct image_diff d[16];
};

static int collect(const struct image_diff *d, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 16)
        s->d[s->n] = *d;
    s->n++;
    return 0;
}

static long compare_bytes(const char *a, size_t la, const char *b, size_t lb,
                          struct seen *s, struct image_compare_stats *st)
{
    FILE *fa = fmemopen((void *)a, la, "r"), *fb = fmemopen((void *)b, lb, "r");
    struct image_reader *ra, *rb;
    REQUIRE(image_reader_open(fa, "a.img", &ra) == 0);
    REQUIRE(image_reader_open(fb, "b.img", &rb) == 0);
    long rc = image_compare(ra, rb, collect, s, st);
    image_reader_close(ra);
    image_reader_close(rb);
    fclose(fa);
    fclose(fb);
    return rc;
}

/* Planted: pfn 1 bytes 100..103 and 4000 changed; pfn 7 type changed to
 * L3TAB; pfn 0x100 missing from b. */
static void plant(int i, uint64_t *pfn, uint32_t *type, uint8_t *data,
                  bool *skip)
{
    (void)pfn;
    if (i == 1) {
        for (int k = 100; k < 104; k++)
            data[k] ^= 0x5a;
        data[4000] ^= 1;
    }
    if (i == 2)
        *type = XEN_DOMCTL_PFINFO_L3TAB;
    if (i == 3)
        *skip = true;
}

static void check_planted(const struct seen *s, bool bytes)
{
    REQUIRE(s->n == 3);
    CHECK_HEX(s->d[0].pfn, 1);
    CHECK_EQ(s->d[0].what, IMAGE_DIFF_CONTENT);
    CHECK_EQ(s->d[0].bytes_known, bytes);
    if (bytes) {
        CHECK_EQ(s->d[0].first, 100);
        CHECK_EQ(s->d[0].last, 4000);
        CHECK_EQ(s->d[0].count, 5);
    }
    CHECK_HEX(s->d[1].pfn, 7);
    CHECK_EQ(s->d[1].what, IMAGE_DIFF_TYPE);
    CHECK_HEX(s->d[1].type_a, XEN_DOMCTL_PFINFO_L4TAB);
    CHECK_HEX(s->d[1].type_b, XEN_DOMCTL_PFINFO_L3TAB);
    CHECK_HEX(s->d[2].pfn, 0x100);
    CHECK_EQ(s->d[2].what, IMAGE_DIFF_ONLY_A);
}

static void t_compare_identical(void)
{
    fill_pages();
    size_t la, lb;
    char *a = make_image(0, &la, NULL), *b = make_image(0, &lb, NULL);
    struct seen s = { 0 };
    struct image_compare_stats st;
    CHECK_EQ(compare_bytes(a, la, b, lb, &s, &st), 0);
    CHECK_EQ(s.n, 0);
    CHECK_EQ(st.same, NPAGES);
    CHECK_EQ(st.byte_diffed, 0);
    free(a);
    free(b);
}

static void t_compare_planted(void)
{
    fill_pages();
    size_t la, lb;
    char *a = make_image(0, &la, NULL), *b = make_image(0, &lb, plant);
    struct seen s = { 0 };
    struct image_compare_stats st;
    CHECK_EQ(compare_bytes(a, la, b, lb, &s, &st), 3);
    check_planted(&s, true);
    CHECK_EQ(st.byte_diffed, 1);        /* only the page whose hash differs */
    CHECK_EQ(st.same, 2);
    /* And the other way round: the missing page is b's side now. */
    struct seen r = { 0 };
    CHECK_EQ(compare_bytes(b, lb, a, la, &r, NULL), 3);
    REQUIRE(r.n == 3);
    CHECK_EQ(r.d[2].what, IMAGE_DIFF_ONLY_B);
    CHECK_HEX(r.d[2].type_b, XEN_DOMCTL_PFINFO_NOTAB);
    free(a);
    free(b);
}

static void t_compare_hash_only(void)
{
    fill_pages();
    size_t la, lb, lc;
    char *a = make_image(IMAGE_F_HASH_ONLY, &la, NULL);
    char *b = make_image(IMAGE_F_HASH_ONLY, &lb, plant);
    char *c = make_image(0, &lc, plant);
    CHECK_EQ(la, IMAGE_HDR_SIZE + NPAGES * IMAGE_REC_HEAD_SIZE + IMAGE_FOOTER_SIZE);
    struct seen s = { 0 };
    CHECK_EQ(compare_bytes(a, la, b, lb, &s, NULL), 3);
    check_planted(&s, false);
    /* A hash-only image against a full one compares by hash too. */
    struct seen t = { 0 };
    CHECK_EQ(compare_bytes(a, la, c, lc, &t, NULL), 3);
    check_planted(&t, false);
    free(a);
    free(b);
    free(c);
}

static int stop_at_first(const struct image_diff *d, void *ctx)
{
    (void)d;
    (*(int *)ctx)++;
    return -XEN_EBUSY;
}

static void t_compare_stops(void)
{
    fill_pages();
    size_t la, lb;
    char *a = make_image(0, &la, NULL), *b = make_image(0, &lb, plant);
    FILE *fa = fmemopen(a, la, "r"), *fb = fmemopen(b, lb, "r");
    struct image_reader *ra, *rb;
    REQUIRE(image_reader_open(fa, "a.img", &ra) == 0);
    REQUIRE(image_reader_open(fb, "b.img", &rb) == 0);
    int calls = 0;
    CHECK_EQ(image_compare(ra, rb, stop_at_first, &calls, NULL), -XEN_EBUSY);
    CHECK_EQ(calls, 1);
    image_reader_close(ra);
    image_reader_close(rb);
    fclose(fa);
    fclose(fb);
    free(a);
    free(b);
}

/* ---- malformed input ---------------------------------------------------- */

static void expect_reject(const char *img, size_t len, const char *needle)
{
    char msg[256];
    CHECK_EQ(read_all(img, len, msg, sizeof(msg), NULL), -XEN_EINVAL);
    if (!strstr(msg, needle) || !strstr(msg, "x.img: offset ")) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, needle);
        test_failures++;
    }
}

static void t_reject_header(void)
{
    fill_pages();
    size_t len;
    char *img = make_image(0, &len, NULL);
    char *bad = malloc(len);
    memcpy(bad, img, len);
    bad[0] = 'X';
    expect_reject(bad, len, "offset 0: bad magic");
    memcpy(bad, img, len);
    bad[8] = 2;                                 /* version */
    expect_reject(bad, len, "offset 8: unsupported version 2");
    memcpy(bad, img, len);
    bad[24] ^= 1;                               /* host id */
    expect_reject(bad, len, "offset 120: header hash");
    expect_reject(img, 60, "truncated header");
    expect_reject(img, 0, "bad magic");
    free(bad);
    free(img);
}

static void t_reject_records(void)
{
    fill_pages();
    size_t len;
    char *img = make_image(0, &len, NULL);
    const size_t rec = IMAGE_REC_HEAD_SIZE + IMAGE_PAGE_SIZE;
    char *bad = malloc(len);

    /* Content flipped: the hash does not match. */
    memcpy(bad, img, len);
    bad[IMAGE_HDR_SIZE + rec + IMAGE_REC_HEAD_SIZE + 9] ^= 0x10;
    char want[96];
    snprintf(want, sizeof(want), "offset %zu: record 1 (pfn 0x1): hash",
             IMAGE_HDR_SIZE + rec + 16);
    expect_reject(bad, len, want);

    /* Duplicate pfn: record 2's pfn rewritten to 1 (the heads hash would
     * catch it at the footer; the order check names it first). */
    memcpy(bad, img, len);
    bad[IMAGE_HDR_SIZE + 2 * rec] = 1;
    expect_reject(bad, len, "record 2: pfn 0x1 duplicates");
    memcpy(bad, img, len);
    bad[IMAGE_HDR_SIZE + 3 * rec + 1] = 0;      /* 0x100 -> 0 */
    expect_reject(bad, len, "is below");

    /* Truncated inside a record and inside the footer. */
    expect_reject(img, IMAGE_HDR_SIZE + rec + 5, "truncated: record 1 of 5");
    expect_reject(img, len - 3, "truncated: footer");

    /* Trailing garbage. */
    char *more = malloc(len + 1);
    memcpy(more, img, len);
    more[len] = 0;
    expect_reject(more, len + 1, "trailing bytes");

    /* A writer refuses out-of-order pfns outright. */
    char *buf = NULL;
    size_t blen;
    FILE *f = open_memstream(&buf, &blen);
    struct image_header h = header(0, 3);
    struct image_writer *w;
    REQUIRE(image_writer_open(f, &h, &w) == 0);
    CHECK_EQ(image_add_page(w, 2, XEN_DOMCTL_PFINFO_NOTAB, pages[0]), 0);
    CHECK_EQ(image_add_page(w, 1, XEN_DOMCTL_PFINFO_NOTAB, pages[0]), -XEN_EINVAL);
    image_writer_abort(w);
    fclose(f);
    free(buf);
    free(more);
    free(bad);
    free(img);
}

static void t_every_truncation(void)
{
    fill_pages();
    for (int ho = 0; ho < 2; ho++) {
        size_t len;
        char *img = make_image(ho ? IMAGE_F_HASH_ONLY : 0, &len, NULL);
        CHECK_EQ(read_all(img, len, NULL, 0, NULL), 0);
        int rejected = 0;
        for (size_t n = 0; n < len; n++) {
            char msg[256];
            int rc = read_all(img, n, msg, sizeof(msg), NULL);
            rejected += rc == -XEN_EINVAL && strstr(msg, "x.img: offset ");
        }
        CHECK_EQ(rejected, (long long)len);
        free(img);
    }
}

static void t_every_flip(void)
{
    fill_pages();
    uint32_t x = 99;
    for (int ho = 0; ho < 2; ho++) {
        size_t len;
        char *img = make_image(ho ? IMAGE_F_HASH_ONLY : 0, &len, NULL);
        char *bad = malloc(len);
        memcpy(bad, img, len);
        int rejected = 0;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            uint8_t bit = (uint8_t)(1u << ((x >> 16) & 7));
            bad[i] ^= bit;
            char msg[256];
            int rc = read_all(bad, len, msg, sizeof(msg), NULL);
            if (rc == -XEN_EINVAL && strstr(msg, "x.img: offset "))
                rejected++;
            else
                fprintf(stderr, "  flip at %zu (bit %#x) accepted\n", i, bit);
            bad[i] ^= bit;
        }
        CHECK_EQ(rejected, (long long)len);
        free(bad);
        free(img);
    }
}

static void t_random_bytes(void)
{
    /* Random garbage after a valid magic: never a crash, always a verdict. */
    uint32_t x = 7;
    char buf[600];
    for (int k = 0; k < 2000; k++) {
        size_t n = 8 + k % (sizeof(buf) - 8);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 16);
        }
        memcpy(buf, IMAGE_MAGIC, 8);
        CHECK_EQ(read_all(buf, n, NULL, 0, NULL), -XEN_EINVAL);
    }
}

static const struct test tests[] = {
    { "an image reads back with its header, pfns, types and content",
      t_round_trip },
    { "moment other needs a label, and the label reads back", t_label },
    { "the writer refuses bad kinds, flags, types, pfn order and short counts",
      t_writer_refuses },
    { "identical images compare equal without any byte diff",
      t_compare_identical },
    { "compare reports exactly the planted content, type and missing-page "
      "differences, with first/last offsets and counts", t_compare_planted },
    { "hash-only images compare by hash", t_compare_hash_only },
    { "a callback's error stops the compare", t_compare_stops },
    { "bad magic, version, header hash and short headers are named with "
      "the offset", t_reject_header },
    { "bad content hash, duplicate or descending pfns, truncation and "
      "trailing bytes are rejected with the record and offset",
      t_reject_records },
    { "every truncation of an image is rejected with a message",
      t_every_truncation },
    { "every single-bit flip at every byte of an image is rejected",
      t_every_flip },
    { "random bytes behind a valid magic are rejected, never a crash",
      t_random_bytes },
};

TEST_MAIN(tests)
