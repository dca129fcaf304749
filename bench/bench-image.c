/*
 * bench/bench-image.c - memory-image compare throughput (toolstack/image.h).
 *
 * Figures (each the best of RUNS, same process, images held in memory and
 * read through fmemopen, so no disk is measured):
 *   image_compare_identical  GB/s of page content of one image compared,
 *                            two identical full images (strict reader on
 *                            both: every page hashed and checked, then
 *                            hashes compared; no byte diff)
 *   image_compare_ratio      image_compare_identical / memcmp of the same
 *                            two image files' bytes, same run
 *   image_compare_hash_only  records/s comparing two hash-only images
 *   image_write              GB/s of page content written to /dev/null
 *                            (hash + stdio, no storage)
 * One core (single thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toolstack/image.h"
#include "bench/lib/clock.h"

#define PAGES   16384ULL                /* 64 MiB of content per image */
#define RUNS    3

static void die(const char *what)
{
    fprintf(stderr, "bench-image: %s\n", what);
    exit(1);
}

static void write_to(FILE *f, const uint8_t *mem, uint32_t flags)
{
    struct image_header h = { .flags = flags, .host_id = 1, .domid = 1,
                              .kind = IMAGE_KIND_HVM,
                              .moment = IMAGE_MOMENT_SOURCE_FINAL,
                              .nr_pages = PAGES };
    struct image_writer *w;
    if (image_writer_open(f, &h, &w))
        die("writer open");
    for (uint64_t i = 0; i < PAGES; i++)
        if (image_add_page(w, i * 2, XEN_DOMCTL_PFINFO_NOTAB,
                           mem + i * IMAGE_PAGE_SIZE))
            die("add page");
    if (image_writer_finish(w))
        die("finish");
}

static char *write_image(const uint8_t *mem, uint32_t flags, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        die("open_memstream");
    write_to(f, mem, flags);
    fclose(f);
    return buf;
}

/* Seconds to write a full image to /dev/null (hash + stdio, no storage). */
static double write_null(const uint8_t *mem)
{
    FILE *f = fopen("/dev/null", "w");
    if (!f)
        die("/dev/null");
    double t0 = now_ns();
    write_to(f, mem, 0);
    double s = (now_ns() - t0) / 1e9;
    fclose(f);
    return s;
}

static double compare_once(char *a, size_t la, char *b, size_t lb)
{
    FILE *fa = fmemopen(a, la, "r"), *fb = fmemopen(b, lb, "r");
    struct image_reader *ra = NULL, *rb = NULL;
    double t0 = now_ns();
    if (image_reader_open(fa, "a", &ra) || image_reader_open(fb, "b", &rb))
        die("reader open");
    long rc = image_compare(ra, rb, NULL, NULL, NULL);
    double s = (now_ns() - t0) / 1e9;
    if (rc != 0)
        die(rc < 0 ? image_reader_error(ra) : "images differ");
    image_reader_close(ra);
    image_reader_close(rb);
    fclose(fa);
    fclose(fb);
    return s;
}

int main(void)
{
    uint8_t *mem = malloc(PAGES * IMAGE_PAGE_SIZE);
    if (!mem)
        die("out of memory");
    uint64_t x = 88172645463325252ULL;
    for (uint64_t i = 0; i < PAGES * IMAGE_PAGE_SIZE / 8; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(mem + i * 8, &x, 8);
    }

    double wbest = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double ws = write_null(mem);
        if (ws < wbest)
            wbest = ws;
    }
    size_t la, lb, lha, lhb;
    char *a = write_image(mem, 0, &la);
    char *b = write_image(mem, 0, &lb);
    char *ha = write_image(mem, IMAGE_F_HASH_ONLY, &lha);
    char *hb = write_image(mem, IMAGE_F_HASH_ONLY, &lhb);

    double cbest = 1e30, mbest = 1e30, hbest = 1e30;
    volatile int sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double s = compare_once(a, la, b, lb);
        if (s < cbest)
            cbest = s;
        double t0 = now_ns();
        sink += memcmp(a, b, la);
        s = (now_ns() - t0) / 1e9;
        if (s < mbest)
            mbest = s;
        s = compare_once(ha, lha, hb, lhb);
        if (s < hbest)
            hbest = s;
    }
    (void)sink;

    double content = (double)(PAGES * IMAGE_PAGE_SIZE);
    double cmp_gbs = content / cbest / 1e9;
    double memcmp_gbs = content / mbest / 1e9;
    printf("figure image_compare_identical: %.2f GB/s   [goal >= 2]   "
           "[two identical %llu-page full images, strict read + hash check "
           "of both, one core]\n", cmp_gbs, PAGES);
    printf("figure image_compare_ratio: %.2f x   [image_compare / memcmp of "
           "the same two image files (%.2f GB/s), same run]\n",
           cmp_gbs / memcmp_gbs, memcmp_gbs);
    printf("figure image_compare_hash_only: %.1f Mpages/s   "
           "[two identical hash-only images]\n", PAGES / hbest / 1e6);
    printf("figure image_write: %.2f GB/s   [full image to /dev/null: "
           "hash + stdio]\n", content / wbest / 1e9);

    free(a);
    free(b);
    free(ha);
    free(hb);
    free(mem);
    return 0;
}
