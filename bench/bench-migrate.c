/*
 * bench/bench-migrate.c - the migration save loop (toolstack/mig_save.c)
 * on a 1 GiB idle PV guest, in process, against memcpy of the same bytes.
 *
 * Figures (each the best of RUNS):
 *   migrate-idle-1g-inproc        mig_save of the guest (live: iteration 0
 *                                 sends every pfn, the CLEAN finds nothing,
 *                                 the final round is empty) into a memory
 *                                 buffer with room reserved, GB/s of page
 *                                 data
 *   migrate-idle-1g-memcpy        memcpy of the guest's pages, page by page
 *                                 from its frames into that buffer
 *   migrate-idle-1g-inproc-ratio  save / memcpy
 *   migrate-idle-1g-restore       mig_restore of that stream into a second
 *                                 machine (when the restore builds the
 *                                 domain), GB/s of page data
 *   migrate-idle-1g-roundtrip     save + restore, GB/s of page data
 *   migrate-idle-1g-tcp           live save streamed over a loopback TCP
 *                                 connection (toolstack/mig_conn.h) to a
 *                                 restore running at the same time on
 *                                 another thread into the second machine:
 *                                 what `hvlab migrate --to tcp://` does
 *                                 between two processes, GB/s of page data
 *   migrate-idle-1g-tcp-ratio     that / the in-process save + restore
 * The first run also pays the first touch of the guest's never-written
 * frames (a page fault each on the host); best-of-RUNS leaves it out.
 * BENCH_VERBOSE=1 prints every run.  The guest's vCPU does not run: the suspend hook shuts the domain down
 * with SHUTDOWN_suspend and marks the vCPU stopped, as a guest that saw
 * the request would.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/xen.h>
#include <xen/sched.h>

#include "bench/lib/clock.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/options.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "toolstack/build_pv.h"
#include "toolstack/mig_conn.h"
#include "toolstack/migrate.h"
#include "toolstack/stream.h"

#define GUEST_PAGES     (1ULL << 18)            /* 1 GiB */
#define RAM_BYTES       ((GUEST_PAGES + (64ULL << 8)) << 12)
#define RUNS            3
#define BYTES           ((double)GUEST_PAGES * STREAM_PAGE_SIZE)

static void die(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "bench-migrate: %s failed: %d%s%s\n", what, rc,
            msg && msg[0] ? ": " : "", msg ? msg : "");
    exit(1);
}

static int suspend_hook(void *arg, struct domain *d, char *err, size_t len)
{
    (void)arg; (void)err; (void)len;
    int rc = domain_shutdown(d, SHUTDOWN_suspend);
    for (unsigned i = 0; !rc && i < d->nr_vcpus; i++)
        vcpu_entry_done(d->vcpu[i]);
    return rc;
}

static double best(double a, double b) { return a > b ? a : b; }

/* ---- over loopback TCP: save on this thread, restore on another -------- */
struct tcp_recv {
    int lfd;
    struct machine *m;
    int rc;
    uint64_t pages;
    char err[300];
};

static void *tcp_receiver(void *arg)
{
    struct tcp_recv *tr = arg;
    struct mig_conn *c = mig_conn_accept(tr->lfd, tr->err, sizeof(tr->err));
    if (!c) {
        tr->rc = -1;
        return NULL;
    }
    struct stream_reader r;
    stream_reader_init(&r, mig_conn_source, c);
    struct mig_restore_opts ro = { .m = tr->m, .domid = 1, .nr_vcpus = 1,
                                   .max_pages = GUEST_PAGES,
                                   .paging = PAGING_PV, .r = &r };
    struct mig_restore_result res;
    memset(&res, 0, sizeof(res));
    tr->rc = mig_restore(&ro, &res);
    stream_reader_free(&r);
    if (tr->rc)
        snprintf(tr->err, sizeof(tr->err), "%s", res.err);
    else
        domain_destroy(res.d);
    tr->pages = res.pages;
    mig_conn_close(c);
    return NULL;
}

/* One live save of d streamed to a restore into m2 over loopback TCP;
   the wall time in ns (save start .. restore done), or 0 on failure. */
static double tcp_pass(struct domain *d, struct machine *m2, bool live)
{
    char err[300];
    uint16_t port = 0;
    struct tcp_recv tr = { .m = m2 };
    tr.lfd = mig_conn_listen("127.0.0.1:0", &port, err, sizeof(err));
    if (tr.lfd < 0)
        die("mig_conn_listen", tr.lfd, err);
    struct mig_url u;
    char url[64];
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
    if (mig_url_parse(url, &u, err, sizeof(err)))
        die("mig_url_parse", -1, err);
    pthread_t th;
    pthread_create(&th, NULL, tcp_receiver, &tr);
    double t = now_ns();
    struct mig_conn *c = mig_conn_open(&u, err, sizeof(err));
    if (!c)
        die("mig_conn_open", -1, err);
    struct stream_writer w;
    stream_writer_init(&w, mig_conn_sink, c);
    struct mig_save_opts o = { .d = d, .w = &w, .live = live,
                               .hooks = { suspend_hook, NULL, NULL } };
    struct mig_save_stats st;
    int rc = mig_save(&o, &st);
    if (rc == 0)
        rc = mig_conn_close(c);
    else
        mig_conn_close(c);
    pthread_join(th, NULL);
    t = now_ns() - t;
    close(tr.lfd);
    if (rc)
        die("mig_save over TCP", rc, st.err);
    if (tr.rc)
        die("mig_restore over TCP", tr.rc, tr.err);
    if ((rc = domctl_resume_domain(d)))
        die("domctl_resume_domain", rc, NULL);
    return t;
}

int main(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct workload_params wl;
    struct machine *m = NULL;
    struct domain *d = NULL;
    struct guest_pv *g = NULL;
    char err[256] = "";
    memset(&wl, 0, sizeof(wl));
    hv_options_default(&ho);
    guest_options_default(&go);
    int rc = machine_create(RAM_BYTES, 0, &ho, &m);
    if (rc)
        die("machine_create", rc, NULL);
    struct build_pv_config cfg = { .domid = 1, .nr_vcpus = 1,
                                   .nr_pages = GUEST_PAGES, .gopt = &go,
                                   .wl = &wl };
    if ((rc = build_pv(m, &cfg, &d, &g, NULL, err, sizeof(err))))
        die("build_pv", rc, err);

    /* The buffer, reserved and touched once so no run pays its faults. */
    size_t cap = (size_t)GUEST_PAGES * STREAM_PAGE_SIZE + (64u << 20);
    struct stream_membuf mb = { .buf = malloc(cap), .cap = cap };
    if (!mb.buf)
        die("malloc", -12, NULL);
    memset(mb.buf, 0, cap);

    /* The frames' host pointers, for the memcpy baseline. */
    const void **pages = calloc(GUEST_PAGES, sizeof(*pages));
    uint64_t np = 0;
    for (mfn_t mfn = 0; mfn < m->nr_frames && np < GUEST_PAGES; mfn++)
        if (get_gpfn_from_mfn(m, mfn) < GUEST_PAGES &&
            (pages[np] = domctl_map_foreign(d, mfn)))
            np++;

    double save_gbs = 0, copy_gbs = 0;
    struct mig_save_stats st;
    bool live = true;
    for (unsigned run = 0; run < RUNS; run++) {
        mb.len = 0;
        struct stream_writer w;
        stream_writer_init(&w, stream_sink_mem, &mb);
        struct mig_save_opts o = { .d = d, .w = &w, .live = live,
                                   .hooks = { suspend_hook, NULL, NULL } };
        double t = now_ns();
        rc = mig_save(&o, &st);
        t = now_ns() - t;
        if (rc == -XEN_EOPNOTSUPP && live) {    /* no PV log-dirty yet */
            live = false;
            run--;
            continue;
        }
        if (rc)
            die("mig_save", rc, st.err);
        save_gbs = best(save_gbs, BYTES / t);
        if (getenv("BENCH_VERBOSE"))
            fprintf(stderr, "run %u: save %.2f GB/s, %u rounds\n", run, BYTES / t, st.nr_rounds);
        if ((rc = domctl_resume_domain(d)))
            die("domctl_resume_domain", rc, NULL);

        t = now_ns();
        uint8_t *dst = mb.buf;
        for (uint64_t i = 0; i < np; i++, dst += STREAM_PAGE_SIZE)
            memcpy(dst, pages[i], STREAM_PAGE_SIZE);
        t = now_ns() - t;
        copy_gbs = best(copy_gbs, (double)np * STREAM_PAGE_SIZE / t);
    }
    /* The last save's stream again, for the restore. */
    mb.len = 0;
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_mem, &mb);
    struct mig_save_opts o = { .d = d, .w = &w, .live = live,
                               .hooks = { suspend_hook, NULL, NULL } };
    double t_save = now_ns();
    if ((rc = mig_save(&o, &st)))
        die("mig_save", rc, st.err);
    t_save = now_ns() - t_save;

    printf("figure migrate-idle-1g-inproc: %.2f GB/s   [goal >= 3 GB/s]   "
           "[%s save, %u rounds, %llu pages, memory buffer]\n", save_gbs,
           live ? "live" : "non-live", st.nr_rounds,
           (unsigned long long)st.pages_sent);
    printf("figure migrate-idle-1g-memcpy: %.2f GB/s   [same pages, same run]\n",
           copy_gbs);
    printf("figure migrate-idle-1g-inproc-ratio: %.2f x   [save / memcpy]\n",
           save_gbs / copy_gbs);

    /* Save + restore into a second machine. */
    struct machine *m2 = NULL;
    if ((rc = machine_create(RAM_BYTES, 1, &ho, &m2)))
        die("machine_create (destination)", rc, NULL);
    /* Twice: into the fresh machine (every frame's first touch is the
       host kernel's page fault and clear), then into the same machine
       again (frames touched once, as a booted host's heap is: Xen
       scrubbed it), which is the figure that measures the restore. */
    double t_cold = 0, t = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct stream_memsrc src = { mb.buf, mb.len, 0 };
        struct stream_reader r;
        stream_reader_init(&r, stream_source_mem, &src);
        struct mig_restore_opts ro = { .m = m2, .domid = 1, .nr_vcpus = 1,
                                       .max_pages = GUEST_PAGES,
                                       .paging = PAGING_PV, .r = &r };
        struct mig_restore_result res;
        memset(&res, 0, sizeof(res));
        double t0 = now_ns();
        rc = mig_restore(&ro, &res);
        t0 = now_ns() - t0;
        stream_reader_free(&r);
        if (rc) {
            printf("figure migrate-idle-1g-restore: 0 GB/s   [restore failed: "
                   "%d: %s]\n", rc, res.err);
            break;
        }
        domain_destroy(res.d);
        if (pass == 0) {
            t_cold = t0;
            continue;
        }
        t = t0;
        printf("figure migrate-idle-1g-restore: %.2f GB/s   [%llu pages, "
               "into a host whose frames were touched once]\n",
               BYTES / t, (unsigned long long)res.pages);
        printf("figure migrate-idle-1g-restore-cold: %.2f GB/s   [the same "
               "into a fresh machine: first-touch page faults of its RAM]\n",
               BYTES / t_cold);
        printf("figure migrate-idle-1g-roundtrip: %.2f GB/s   [save + "
               "restore into a second machine]   [goal >= 3 GB/s]\n",
               BYTES / (t + t_save));
        double t_tcp = 0;
        for (unsigned run = 0; run < RUNS; run++) {
            double tt = tcp_pass(d, m2, live);
            t_tcp = run == 0 || tt < t_tcp ? tt : t_tcp;
        }
        printf("figure migrate-idle-1g-tcp: %.2f GB/s   [goal >= 1 GB/s]   "
               "[live save -> loopback TCP -> restore on another thread, "
               "pipelined]\n", BYTES / t_tcp);
        printf("figure migrate-idle-1g-tcp-ratio: %.2f x   [TCP pipeline / "
               "in-process save + restore]\n", (t + t_save) / t_tcp);
    }
    machine_destroy(m2);
    domain_destroy(d);
    guest_pv_free(g);
    machine_destroy(m);
    free(pages);
    free(mb.buf);
    return 0;
}
