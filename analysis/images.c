/*
 * analysis/images.c - a migration's source and destination images compared
 * (images.h I1-I3), every differing page explained from the trace when one
 * was analysed.
 *
 * Rules:
 *   G1  toolstack/image.c reads and compares (hashes first, bytes where
 *       they differ: I1); this file only words the differences.  The
 *       source image's header names the host and domain the trace's
 *       records are looked up under.
 *   G2  Differences are collected first and become findings only after
 *       both images were read to their valid ends: a malformed image gives
 *       the reader's message ("FILE: offset N: what") and no finding (I3).
 *   G3  Attribution (I2): story E's checker's record of the pfn
 *       (check_dirty.h: the round of the last send and the write after
 *       it); else what the state knows (the last send, a dirty mark after
 *       it) followed by "not explained by the trace".  A page counts as
 *       attributed when a write after its last send was seen, or when it
 *       arrived as sent and the destination changed it (I4).
 *   G4  A finding carries the frame's last transitions (state_history),
 *       rendered as the engine renders them, oldest first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/check_dirty.h"
#include "analysis/event.h"
#include "analysis/finding.h"
#include "analysis/images.h"
#include "analysis/state.h"
#include "toolstack/image.h"

#define IMG_HISTORY 8

struct img_ctx {
    struct image_diff *d;
    size_t n, cap;
};

static int collect(const struct image_diff *d, void *arg)
{
    struct img_ctx *c = arg;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        struct image_diff *nd = realloc(c->d, nc * sizeof(*nd));
        if (!nd)
            return -XEN_ENOMEM;
        c->d = nd;
        c->cap = nc;
    }
    c->d[c->n++] = *d;
    return 0;
}

static const char *type_name(uint32_t type, char *buf, size_t len)
{
    uint32_t l = (type & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) >> XEN_DOMCTL_PFINFO_LTAB_SHIFT;
    if (type == XEN_DOMCTL_PFINFO_XTAB)
        snprintf(buf, len, "XTAB");
    else if (type == XEN_DOMCTL_PFINFO_BROKEN)
        snprintf(buf, len, "BROKEN");
    else if (type == XEN_DOMCTL_PFINFO_XALLOC)
        snprintf(buf, len, "XALLOC");
    else if (l >= 1 && l <= 4)
        snprintf(buf, len, "L%uTAB%s", l, (type & XEN_DOMCTL_PFINFO_LPINTAB) ? "|LPINTAB" : "");
    else
        snprintf(buf, len, "NOTAB");
    return buf;
}

/* What the difference is, in the words of the finding. */
static void what_differs(const struct image_diff *d, char *buf, size_t len)
{
    char ta[24], tb[24];
    if (d->what & IMAGE_DIFF_ONLY_A)
        snprintf(buf, len, "is in the source image only");
    else if (d->what & IMAGE_DIFF_ONLY_B)
        snprintf(buf, len, "is in the destination image only");
    else if ((d->what & IMAGE_DIFF_CONTENT) && d->bytes_known)
        snprintf(buf, len, "differs at bytes [%u,%u] (%u bytes)%s%s%s%s",
                 d->first, d->last, d->count,
                 (d->what & IMAGE_DIFF_TYPE) ? ", and its type " : "",
                 (d->what & IMAGE_DIFF_TYPE) ? type_name(d->type_a, ta, sizeof ta) : "",
                 (d->what & IMAGE_DIFF_TYPE) ? " became " : "",
                 (d->what & IMAGE_DIFF_TYPE) ? type_name(d->type_b, tb, sizeof tb) : "");
    else if (d->what & IMAGE_DIFF_CONTENT)
        snprintf(buf, len, "differs (hash %#" PRIx64 " against %#" PRIx64 ")",
                 d->hash_a, d->hash_b);
    else
        snprintf(buf, len, "has type %s in the source, %s in the destination",
                 type_name(d->type_a, ta, sizeof ta), type_name(d->type_b, tb, sizeof tb));
}

/* G3: 1 when the trace explains it, 2 when it arrived as sent and the
   destination changed it afterwards (I4 decides whether that is expected). */
static int attribute(const struct state *st, uint8_t host, uint16_t dom,
                     const struct image_diff *d, char *buf, size_t len, int64_t *ts)
{
    if (!st) {
        snprintf(buf, len, "no trace was analysed");
        return 0;
    }
    struct dirty_page dp;
    if (dirty_page_info(st, host, dom, d->pfn, &dp) == 0 && dp.sent) {
        *ts = dp.send_ts;
        if (dp.written) {
            snprintf(buf, len, "%s", dp.text);
            return 1;
        }
        bool src_as_sent = !(d->what & IMAGE_DIFF_ONLY_B) && d->hash_a == dp.send_hash;
        if (src_as_sent && dp.received && dp.recv_hash == dp.send_hash &&
            !(d->what & IMAGE_DIFF_ONLY_A) && d->hash_b != dp.recv_hash) {
            snprintf(buf, len, "%s and arrived on host %u as sent (hash %#" PRIx64
                     "); the destination changed it after it arrived (the "
                     "restore rewrites the guest's p2m frames and start info)",
                     dp.text, dp.recv_host, dp.send_hash);
            return 2;
        }
        if (!src_as_sent && !(d->what & IMAGE_DIFF_ONLY_B))
            snprintf(buf, len, "%s (hash %#" PRIx64 "), and the source's page "
                     "changed after that (hash %#" PRIx64 ") with no write to it "
                     "in the trace; not explained by the trace", dp.text,
                     dp.send_hash, d->hash_a);
        else
            snprintf(buf, len, "%s; not explained by the trace", dp.text);
        return 0;
    }
    struct pfn_view pv;
    if (state_pfn(st, host, dom, d->pfn, &pv) && pv.known && pv.last_sent_iter >= 0) {
        if (pv.last_mark_ts > pv.last_sent_ts)
            snprintf(buf, len, "last sent in round %d at %.3f s; marked dirty at "
                     "%.3f s after that; not explained by the trace",
                     pv.last_sent_iter, (double)pv.last_sent_ts / 1e9,
                     (double)pv.last_mark_ts / 1e9);
        else
            snprintf(buf, len, "last sent in round %d at %.3f s; not explained "
                     "by the trace", pv.last_sent_iter, (double)pv.last_sent_ts / 1e9);
        return 0;
    }
    snprintf(buf, len, "not explained by the trace");
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static FILE *open_image(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return f;
}

int images_compare(const char *src_path, const char *dst_path,
                   const struct state *st, struct findings *out,
                   struct images_result *res, char *err, size_t errlen)
{
    struct images_result r = { 0 };
    struct img_ctx c = { 0 };
    struct image_reader *ra = NULL, *rb = NULL;
    FILE *fa = NULL, *fb = NULL;
    int rc = -1;
    double t0 = now();

    if (err && errlen)
        err[0] = '\0';
    if (!(fa = open_image(src_path, err, errlen)) || !(fb = open_image(dst_path, err, errlen)))
        goto out;
    if (image_reader_open(fa, src_path, &ra) < 0) {
        snprintf(err, errlen, "%s", ra ? image_reader_error(ra) : "out of memory");
        goto out;
    }
    if (image_reader_open(fb, dst_path, &rb) < 0) {
        snprintf(err, errlen, "%s", rb ? image_reader_error(rb) : "out of memory");
        goto out;
    }
    struct image_compare_stats cs = { 0 };
    long n = image_compare(ra, rb, collect, &c, &cs);
    if (n < 0) {                                    /* G2 */
        const char *ea = image_reader_error(ra), *eb = image_reader_error(rb);
        snprintf(err, errlen, "%s", *ea ? ea : *eb ? eb : "out of memory");
        goto out;
    }
    const struct image_header *h = image_reader_header(ra);
    uint8_t host = (uint8_t)h->host_id;
    uint16_t dom = (uint16_t)h->domid;
    bool dst_restored = image_reader_header(rb)->moment == IMAGE_MOMENT_DEST_RESTORED;
    r.pages_src = cs.pages_a;
    r.pages_dst = cs.pages_b;
    r.bytes_compared = (cs.pages_a + cs.pages_b) * (uint64_t)IMAGE_PAGE_SIZE;

    for (size_t i = 0; i < c.n; i++) {
        const struct image_diff *d = &c.d[i];
        char what[160], why[1024], text[1400];
        what_differs(d, what, sizeof what);
        int64_t ts = 0;
        int explained = attribute(st, host, dom, d, why, sizeof why, &ts);
        r.differ++;
        if (explained == 2 && dst_restored) {               /* I4 */
            r.expected++;
            continue;
        }
        snprintf(text, sizeof text, "pfn %#" PRIx64 " of dom%u %s; %s",
                 d->pfn, dom, what, why);

        struct finding f = {
            .checker = "image.differs", .host = host, .dom = dom,
            .mfn = FINDING_NONE, .pfn = d->pfn, .what = text, .ts = ts,
        };
        const struct hv_ev *hist[IMG_HISTORY];
        char lines[IMG_HISTORY][512];
        const char *hp[IMG_HISTORY];
        struct pfn_view pv;
        if (st && state_pfn(st, host, dom, d->pfn, &pv) && pv.known) {
            f.mfn = pv.mfn;
            if (pv.mfn != FINDING_NONE) {                         /* G4 */
                unsigned k = state_history(st, host, pv.mfn, hist, IMG_HISTORY);
                for (unsigned j = 0; j < k; j++)
                    hp[j] = hv_ev_format(hist[j], lines[j], sizeof lines[j]);
                f.history = hp;
                f.nhistory = k;
            }
        }
        if (out && findings_add(out, &f) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        r.attributed += explained != 0;
    }
    rc = 0;
out:
    r.seconds = now() - t0;
    if (res)
        *res = r;
    free(c.d);
    if (ra)
        image_reader_close(ra);
    if (rb)
        image_reader_close(rb);
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return rc;
}
