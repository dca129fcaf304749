/*
 * bench/bench-stream.c - PAGE_DATA throughput of the migration v2 stream
 * writer and reader, against memcpy of the same bytes in the same run.
 *
 * Figures (each the best of RUNS passes over PAGES pages = 64 MiB of data):
 *   stream_write        stream_write_page() for every page into a memory
 *                       sink with room reserved (batches of 1024 pfns: pfn
 *                       array plus 4 KiB pages), GB/s of page data
 *   stream_read         stream_read_record() over that stream from memory
 *                       (each record copied into the reader's buffer and
 *                       every pfn checked), GB/s of page data
 *   memcpy              one memcpy of the 64 MiB of page data (the
 *                       writer's baseline: it also fills 64 MiB)
 *   memcpy_batch        the same bytes memcpy'd a batch (4 MiB) at a time
 *                       into one reused buffer (the reader's baseline: it
 *                       reads each record into one reused buffer)
 *   stream_write_ratio  stream_write / memcpy
 *   stream_read_ratio   stream_read / memcpy_batch
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "toolstack/stream.h"
#include "bench/lib/clock.h"

#define PAGES   16384u
#define RUNS    3
#define BYTES   ((double)PAGES * STREAM_PAGE_SIZE)

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench-stream: %s failed: %d\n", what, rc);
    exit(1);
}

int main(void)
{
    size_t data_len = (size_t)PAGES * STREAM_PAGE_SIZE;
    uint8_t *data = malloc(data_len), *dst = malloc(data_len);
    size_t stream_cap = data_len + data_len / 256 + (1u << 20);
    struct stream_membuf m = { .buf = malloc(stream_cap), .cap = stream_cap };
    if (!data || !dst || !m.buf)
        die("malloc", -XEN_ENOMEM);
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    memset(dst, 0, data_len);

    size_t chunk = (size_t)STREAM_MAX_BATCH * STREAM_PAGE_SIZE;
    uint8_t *cbuf = malloc(chunk);
    if (!cbuf)
        die("malloc", -XEN_ENOMEM);
    double best_w = 1e30, best_r = 1e30, best_c = 1e30, best_b = 1e30;
    uint64_t check = 0;
    for (int run = 0; run < RUNS; run++) {
        /* write */
        m.len = 0;
        struct stream_writer w;
        stream_writer_init(&w, stream_sink_mem, &m);
        double t0 = now_ns();
        int rc = stream_write_headers(&w, STREAM_DHDR_TYPE_X86_HVM, 4, 17);
        if (!rc) rc = stream_write_static_data_end(&w);
        for (unsigned p = 0; !rc && p < PAGES; p++)
            rc = stream_write_page(&w, p, XEN_DOMCTL_PFINFO_NOTAB,
                                   data + (size_t)p * STREAM_PAGE_SIZE);
        if (!rc) rc = stream_write_end(&w);
        double t1 = now_ns();
        if (rc)
            die("write", rc);
        if (t1 - t0 < best_w)
            best_w = t1 - t0;

        /* read */
        struct stream_memsrc src = { .buf = m.buf, .len = m.len };
        struct stream_reader r;
        struct stream_record rec;
        stream_reader_init(&r, stream_source_mem, &src);
        uint64_t pages = 0;
        t0 = now_ns();
        while ((rc = stream_read_record(&r, &rec)) == 0)
            if (rec.type == STREAM_REC_PAGE_DATA) {
                pages += rec.u.page_data.nr_data;
                check += rec.u.page_data.data[0];
            }
        t1 = now_ns();
        if (rc != 1)
            die(r.err, rc);
        if (pages != PAGES)
            die("page count", (int)pages);
        stream_reader_free(&r);
        if (t1 - t0 < best_r)
            best_r = t1 - t0;

        /* baseline */
        t0 = now_ns();
        memcpy(dst, data, data_len);
        t1 = now_ns();
        check += dst[run * 4097];
        if (t1 - t0 < best_c)
            best_c = t1 - t0;
        t0 = now_ns();
        for (size_t off = 0; off < data_len; off += chunk)
            memcpy(cbuf, data + off, chunk);
        t1 = now_ns();
        check += cbuf[run];
        if (t1 - t0 < best_b)
            best_b = t1 - t0;
    }
    double gw = BYTES / best_w, gr = BYTES / best_r, gc = BYTES / best_c,
           gb = BYTES / best_b;
    printf("figure stream_write: %.2f GB/s   [PAGE_DATA, 1024-pfn batches, memory sink]\n", gw);
    printf("figure stream_read: %.2f GB/s   [strict reader, memory source]\n", gr);
    printf("figure memcpy: %.2f GB/s   [same 64 MiB, same run]\n", gc);
    printf("figure memcpy_batch: %.2f GB/s   [4 MiB at a time into one buffer]\n", gb);
    printf("figure stream_write_ratio: %.2f x   [goal >= 0.5]   [write / memcpy]\n", gw / gc);
    printf("figure stream_read_ratio: %.2f x   [goal >= 0.5]   [read / memcpy_batch]\n", gr / gb);
    fprintf(stderr, "checksum %llu\n", (unsigned long long)check);
    free(cbuf);
    free(m.buf);
    free(data);
    free(dst);
    return 0;
}
