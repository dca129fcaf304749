/*
 * toolstack/run_migrate.c - a scenario's `migrate` line, run by a control
 * vCPU among the guests' vCPUs (run_migrate.h).
 *
 * Rules:
 *   R1  The control vCPU belongs to a privileged control domain of the
 *       source machine (MIG_CONTROL_DOMID, no memory): Xen's toolstack runs
 *       in dom0.  Being a vCPU, it is scheduled with the guests in both
 *       sched modes, so a det-mode seed fixes where the rounds fall in the
 *       workload; every wait of it is an hv_relax() spin.
 *   R2  Order, as a toolstack migrating between two hosts: wait for the
 *       trigger (the guest's progress reached `after`); save (live rounds,
 *       suspend through xenstore, final round, END) into a memory buffer,
 *       also written to --save-stream as it goes; create the destination
 *       machine and restore there (same domid); rebuild the blk backend
 *       there over the same disk and start it; resume the guest kernel on
 *       the new domain and start its vCPUs (sched_spawn); only then close
 *       the source's vbds, so the source's backend ends.
 *   R3  A failed save or restore leaves the guest where it was: if it had
 *       suspended, the domain is resumed (domctl_resume_domain) and the
 *       kernel told the suspend was cancelled, and its vCPUs start again;
 *       the failure is in the result (expect `migrated` breaks, naming it).
 *   R4  A half-built destination never stays: mig_restore destroys its
 *       domain on error; a backend domain built on the destination for a
 *       failed restore is not built at all (R2's order).
 *   R5  Progress: on a terminal (the run's error stream is a TTY) a line
 *       per round is redrawn in place; otherwise nothing until the report.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/sched.h>

#include "core/domctl.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "toolstack/build_pv.h"
#include "toolstack/image.h"
#include "toolstack/migrate.h"
#include "toolstack/run_migrate.h"
#include "toolstack/stream.h"

#define BLK_DEVID   51712       /* xvda, as the runner adds it */

struct mig_run {
    struct mig_run_config c;
    struct domain *ctl;             /* R1 */
    struct stream_membuf buf;       /* the stream */
    FILE *save_file;                /* --save-stream */
    FILE *img_pause, *img_final, *img_restored;
    int tee_err;
    /* The destination (R2). */
    struct machine *dst;
    uint64_t dst_free_before;
    struct xenbus *dst_xb;
    struct domain *dst_dom;         /* the restored domain */
    struct domain *dst_be;          /* the rebuilt backend */
    struct guest_pv *dst_be_k;
    /* Progress (R5). */
    bool tty;
    FILE *err;
};

/* ---- the stream's sink: the buffer, and --save-stream ---------------------- */
static int tee_sink(void *ctx, const void *buf, size_t len)
{
    struct mig_run *mr = ctx;
    int rc = stream_sink_mem(&mr->buf, buf, len);
    if (rc)
        return rc;
    if (mr->save_file && fwrite(buf, 1, len, mr->save_file) != len) {
        mr->tee_err = 1;
        return -XEN_EIO;
    }
    return 0;
}

/* ---- progress (R5) ---------------------------------------------------------- */
static const char *const round_kind[] = {
    [MIG_ROUND_LIVE] = "live", [MIG_ROUND_FINAL] = "final",
    [MIG_ROUND_VERIFY] = "verify",
};

static void progress(void *arg, const struct mig_round *r, bool done)
{
    struct mig_run *mr = arg;
    if (!mr->tty)
        return;
    double mbs = r->ns ? (double)r->bytes / ((double)r->ns / 1e9) / 1e6 : 0;
    fprintf(mr->err, "\r  migrate dom%u: round %u (%s): %" PRIu64 " pages "
            "sent, %" PRIu64 " dirty, %.1f MB/s     ", mr->c.d->domid,
            r->iter, round_kind[r->kind], r->sent, r->dirty_count, mbs);
    if (done)
        fputc('\n', mr->err);
    fflush(mr->err);
}

static int suspend_hook(void *arg, struct domain *d, char *err, size_t errlen)
{
    struct mig_run *mr = arg;
    return mig_suspend_guest(mr->c.xb, d, err, errlen);
}

/* The guest's progress (R2's trigger): blk ops, else pages touched. */
static uint64_t guest_progress(const struct mig_run *mr)
{
    struct guest_stats gs;
    if (mr->c.hk)
        guest_hvm_stats(mr->c.hk, &gs);
    else
        guest_pv_stats(mr->c.gk, &gs);
    return mr->c.sc->dom[mr->c.sc->mig.dom].wl.kind == WL_BLK_IO
               ? gs.blk_ops : gs.pages_touched;
}

static int resume_kernel(struct mig_run *mr, const struct guest_resume *gr)
{
    return mr->c.hk ? guest_hvm_resume(mr->c.hk, gr)
                    : guest_pv_resume(mr->c.gk, gr);
}

/* R3: the guest goes on where it was. */
static void resume_source(struct mig_run *mr)
{
    struct domain *d = mr->c.d;
    int reason;
    if (!domain_shut_down(d, &reason) || reason != SHUTDOWN_suspend)
        return;                     /* it never stopped: still running */
    struct guest_resume gr = {
        .cancelled = true, .host_id = mr->c.src->host_id,
        .xenbus = mr->c.xb, .backend = mr->c.backend_domid,
    };
    int rc = domctl_resume_domain(d);
    if (rc == 0)
        rc = resume_kernel(mr, &gr);
    for (unsigned i = 0; rc == 0 && i < d->nr_vcpus; i++)
        rc = sched_spawn(d->vcpu[i]);
    if (rc) {
        size_t n = strlen(mr->c.res->err);
        snprintf(mr->c.res->err + n, sizeof(mr->c.res->err) - n,
                 "; resuming the guest on the source failed too: %s",
                 build_errname(rc));
        return;
    }
    mr->c.res->resumed_source = true;
}

/* R2: restore on a new machine.  0 or -XEN_E* (res->err filled). */
static int restore_dest(struct mig_run *mr)
{
    struct run_migration *res = mr->c.res;
    const struct scenario *sc = mr->c.sc;
    const struct scn_domain *sd = &sc->dom[sc->mig.dom];
    int rc = machine_create(sc->ram_bytes, res->to_host, &sc->hv, &mr->dst);
    if (rc) {
        snprintf(res->err, sizeof(res->err), "creating the destination "
                 "machine: %s", build_errname(rc));
        return rc;
    }
    mr->dst_free_before = mr->dst->nr_free;
    struct stream_memsrc src = { .buf = mr->buf.buf, .len = mr->buf.len };
    struct stream_reader r;
    stream_reader_init(&r, stream_source_mem, &src);
    struct mig_restore_opts ro = {
        .m = mr->dst, .domid = mr->c.d->domid, .nr_vcpus = sd->nr_vcpus,
        .max_pages = sd->nr_pages, .paging = sd->paging, .r = &r,
        .image_restored = mr->img_restored,
    };
    struct mig_restore_result rr;
    memset(&rr, 0, sizeof(rr));
    rc = mig_restore(&ro, &rr);
    stream_reader_free(&r);
    res->restore_rc = rc;
    res->restore_pages = rr.pages;
    res->verify_seen = rr.verify_seen;
    res->verify_pages = rr.verify_pages;
    res->verify_mismatches = rr.verify_mismatches;
    res->nr_mismatch_listed = rr.nr_mismatch_listed;
    memcpy(res->mismatch_pfn, rr.mismatch_pfn, sizeof(res->mismatch_pfn));
    if (rc) {
        snprintf(res->err, sizeof(res->err), "restore on host %u: %s",
                 res->to_host, rr.err);
        return rc;
    }
    mr->dst_dom = rr.d;
    return 0;
}

/* R2: the backend on the destination, then the guest. */
static int start_dest(struct mig_run *mr)
{
    struct run_migration *res = mr->c.res;
    const struct scenario *sc = mr->c.sc;
    char err[256];
    int rc;
    if (mr->c.backend >= 0) {
        const struct scn_domain *be = &sc->dom[mr->c.backend];
        const struct scn_domain *fe = &sc->dom[sc->mig.dom];
        struct ramdisk *disk = xenbus_vbd_disk(mr->c.xb, mr->c.d->domid,
                                               BLK_DEVID);
        if (!(mr->dst_xb = xenbus_new()) ||
            xenbus_add_vbd(mr->dst_xb, mr->c.d->domid, mr->c.backend_domid,
                           BLK_DEVID, fe->wl.sectors) != 0 ||
            (disk && xenbus_set_vbd_disk(mr->dst_xb, mr->c.d->domid,
                                         BLK_DEVID, disk) != 0)) {
            snprintf(res->err, sizeof(res->err), "setting up the "
                     "destination's xenstore: out of memory");
            return -XEN_ENOMEM;
        }
        struct workload_params wl = mr->c.backend_wl;
        wl.xenbus = mr->dst_xb;
        struct build_pv_config cfg = {
            .domid = mr->c.backend_domid, .nr_vcpus = be->nr_vcpus,
            .nr_pages = be->nr_pages, .gopt = &sc->guest, .wl = &wl,
        };
        rc = build_pv(mr->dst, &cfg, &mr->dst_be, &mr->dst_be_k, NULL, err,
                      sizeof(err));
        if (rc) {
            snprintf(res->err, sizeof(res->err), "building the backend "
                     "'%s' on host %u: %s", be->name, res->to_host, err);
            return rc;
        }
        guest_pv_set_host(mr->dst_be_k, res->to_host);
        for (unsigned i = 0; i < mr->dst_be->nr_vcpus; i++)
            if ((rc = sched_spawn(mr->dst_be->vcpu[i])) != 0)
                return rc;
    }
    struct guest_resume gr = {
        .cancelled = false, .host_id = res->to_host,
        .xenbus = mr->dst_xb ? mr->dst_xb : mr->c.xb,
        .backend = mr->c.backend_domid,
    };
    if ((rc = resume_kernel(mr, &gr)) != 0) {
        snprintf(res->err, sizeof(res->err), "resuming the guest kernel on "
                 "host %u: %s", res->to_host, build_errname(rc));
        return rc;
    }
    for (unsigned i = 0; i < mr->dst_dom->nr_vcpus; i++) {
        struct vcpu *v = mr->dst_dom->vcpu[i];
        v->entry = mr->c.hk ? guest_hvm_vcpu_main : guest_pv_vcpu_main;
        v->entry_arg = mr->c.hk ? (void *)mr->c.hk : (void *)mr->c.gk;
        if ((rc = sched_spawn(v)) != 0) {
            snprintf(res->err, sizeof(res->err), "starting vCPU %u on host "
                     "%u: %s", i, res->to_host, build_errname(rc));
            return rc;
        }
    }
    res->resumed_dest = true;
    return 0;
}

/* R1, R2: the control vCPU's life. */
static void control_main(struct vcpu *v, void *arg)
{
    struct mig_run *mr = arg;
    struct run_migration *res = mr->c.res;
    const struct scn_migrate *m = &mr->c.sc->mig;
    (void)v;

    while (guest_progress(mr) < m->after) {
        if (atomic_load(&mr->c.d->vcpus_stopped) >= mr->c.d->nr_vcpus) {
            res->save_rc = -XEN_ESRCH;
            snprintf(res->err, sizeof(res->err), "the guest's workload ended "
                     "before the migration could start (after=%" PRIu64
                     ", progress %" PRIu64 ")", m->after, guest_progress(mr));
            return;
        }
        hv_relax();
    }
    res->started = true;
    struct stream_writer w;
    stream_writer_init(&w, tee_sink, mr);
    struct mig_save_opts so = {
        .d = mr->c.d, .w = &w, .max_iters = m->max_iters,
        .target_dirty = m->target_dirty, .live = m->live, .verify = m->verify,
        .image_pause = mr->img_pause, .image_final = mr->img_final,
        .hooks = { .suspend = suspend_hook, .progress = progress, .arg = mr },
    };
    int rc = mig_save(&so, &res->save);
    res->save_rc = rc;
    res->stream_bytes = mr->buf.len;
    if (mr->save_file)
        fflush(mr->save_file);
    if (rc) {
        snprintf(res->err, sizeof(res->err), "save: %s", res->save.err);
        resume_source(mr);
        return;
    }
    if (restore_dest(mr) != 0 || start_dest(mr) != 0) {
        if (!res->resumed_dest)
            resume_source(mr);
        return;
    }
    mig_close_source_vbds(mr->c.xb, mr->c.d->domid);
}

/* ---- the runner's side --------------------------------------------------------- */
static FILE *open_image(const struct run_opts *o, const char *name,
                        char *err, size_t errlen)
{
    if (!o->images_dir)
        return NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", o->images_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        snprintf(err, errlen, "--images: %s: %m", path);
    return f;
}

int mig_run_new(const struct mig_run_config *c, struct mig_run **out,
                struct vcpu **ctl, char *err, size_t errlen)
{
    *out = NULL;
    struct mig_run *mr = calloc(1, sizeof(*mr));
    if (!mr) {
        snprintf(err, errlen, "out of memory");
        return -XEN_ENOMEM;
    }
    mr->c = *c;
    mr->err = c->o->err;
    mr->tty = isatty(fileno(c->o->err));
    struct run_migration *res = c->res;
    res->set = true;
    res->restore_rc = 1;
    int rc = 0;
    if (c->o->save_stream && !(mr->save_file = fopen(c->o->save_stream, "wb"))) {
        snprintf(err, errlen, "--save-stream %s: %m", c->o->save_stream);
        rc = -XEN_EIO;
        goto fail;
    }
    err[0] = '\0';
    if (c->o->images_dir &&
        (!(mr->img_pause = open_image(c->o, "source-pause.img", err, errlen)) ||
         !(mr->img_final = open_image(c->o, "source-final.img", err, errlen)) ||
         !(mr->img_restored = open_image(c->o, "dest-restored.img", err,
                                         errlen)))) {
        rc = -XEN_EIO;
        goto fail;
    }
    struct domain_config dc = {
        .kind = DOMAIN_PV, .nr_vcpus = 1, .max_pages = 0, .privileged = true,
        .domid = MIG_CONTROL_DOMID, .paging = PAGING_PV,
    };
    rc = domain_create(c->src, &dc, &mr->ctl);
    if (rc) {
        snprintf(err, errlen, "creating the control domain %u: %s",
                 MIG_CONTROL_DOMID, build_errname(rc));
        goto fail;
    }
    mr->ctl->vcpu[0]->entry = control_main;
    mr->ctl->vcpu[0]->entry_arg = mr;
    *ctl = mr->ctl->vcpu[0];
    *out = mr;
    return 0;
fail:
    mig_run_free(mr);
    return rc;
}

struct machine *mig_run_dest(const struct mig_run *mr)
{
    return mr ? mr->dst : NULL;
}

uint64_t mig_run_dest_free_before(const struct mig_run *mr)
{
    return mr && mr->dst ? mr->dst_free_before : 0;
}

void mig_run_collect(const struct mig_run *mr, unsigned dom,
                     struct run_domain *rd,
                     void (*add)(struct guest_stats *t,
                                 const struct guest_stats *s))
{
    if (!mr)
        return;
    if (dom == mr->c.sc->mig.dom && mr->dst_dom) {
        for (unsigned i = 0; i < mr->dst_dom->nr_vcpus; i++) {
            const struct vcpu *v = mr->dst_dom->vcpu[i];
            rd->hypercalls += v->nr_hypercalls;
            rd->hv_faults += v->nr_faults;
            rd->hv_bounced += v->nr_faults_bounced;
            rd->hv_spurious += v->nr_spurious;
        }
    }
    if ((int)dom == mr->c.backend && mr->dst_be_k) {
        struct guest_stats gs;
        guest_pv_stats(mr->dst_be_k, &gs);
        add(&rd->gs, &gs);
        for (unsigned i = 0; i < mr->dst_be->nr_vcpus; i++) {
            const struct vcpu *v = mr->dst_be->vcpu[i];
            rd->hypercalls += v->nr_hypercalls;
            rd->hv_faults += v->nr_faults;
            rd->hv_bounced += v->nr_faults_bounced;
            rd->hv_spurious += v->nr_spurious;
        }
    }
}

static unsigned destroy(struct domain **d, FILE *err, const char *what)
{
    if (!*d)
        return 0;
    domid_t id = (*d)->domid;
    int rc = domain_destroy(*d);
    *d = NULL;
    if (rc) {
        fprintf(err, "hvlab: destroying %s dom%u: %s\n", what, id,
                build_errname(rc));
        return 1;
    }
    return 0;
}

unsigned mig_run_teardown(struct mig_run *mr, FILE *err)
{
    if (!mr)
        return 0;
    unsigned bad = destroy(&mr->ctl, err, "the control domain");
    bad += destroy(&mr->dst_dom, err, "the restored domain");
    bad += destroy(&mr->dst_be, err, "the destination's backend");
    guest_pv_free(mr->dst_be_k);
    mr->dst_be_k = NULL;
    return bad;
}

void mig_run_free(struct mig_run *mr)
{
    if (!mr)
        return;
    if (mr->dst)
        machine_destroy(mr->dst);
    xenbus_free(mr->dst_xb);
    free(mr->buf.buf);
    FILE *f[] = { mr->save_file, mr->img_pause, mr->img_final,
                  mr->img_restored };
    for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i])
            fclose(f[i]);
    free(mr);
}

/* ---- the report ------------------------------------------------------------ */
void mig_run_print(const struct run_migration *m, FILE *f)
{
    if (!m->set)
        return;
    fprintf(f, "  migrate dom%u '%s' host %u -> host %u (%s, verify=%s):",
            m->domid, m->dom_name, m->from_host, m->to_host,
            m->live ? "live" : "not live", m->verify ? "on" : "off");
    if (!m->started) {
        fprintf(f, " never started: %s\n", m->err);
        return;
    }
    const struct mig_save_stats *s = &m->save;
    fprintf(f, " %u live iteration%s, %" PRIu64 " pages, %.1f MiB of stream, "
            "%.3f s, downtime %.3f ms\n", s->live_rounds,
            s->live_rounds == 1 ? "" : "s", s->pages_sent,
            (double)m->stream_bytes / (1 << 20), (double)s->total_ns / 1e9,
            (double)s->downtime_ns / 1e6);
    for (unsigned i = 0; i < s->nr_rounds; i++) {
        const struct mig_round *r = &s->round[i];
        double mbs = r->ns ? (double)r->bytes / ((double)r->ns / 1e9) / 1e6
                           : 0;
        fprintf(f, "    round %u (%s): %" PRIu64 " to send (dirty count %"
                PRIu64 "), %" PRIu64 " sent, %" PRIu64 " deferred, %.3f ms, "
                "%.0f MB/s\n", r->iter, round_kind[r->kind], r->to_send,
                r->dirty_count, r->sent, r->deferred, (double)r->ns / 1e6,
                mbs);
    }
    if (m->verify_seen) {
        fprintf(f, "    verify: %" PRIu64 " pages compared, %" PRIu64
                " differ", m->verify_pages, m->verify_mismatches);
        for (unsigned i = 0; i < m->nr_mismatch_listed; i++)
            fprintf(f, "%s%#" PRIx64, i ? ", " : " (pfn ", m->mismatch_pfn[i]);
        fprintf(f, "%s\n", m->nr_mismatch_listed ? ")" : "");
    }
    if (m->resumed_dest)
        fprintf(f, "    restored on host %u as dom%u (%" PRIu64 " pages); the "
                "guest resumed there\n", m->to_host, m->domid,
                m->restore_pages);
    if (m->err[0])
        fprintf(f, "    FAILED: %s%s\n", m->err,
                m->resumed_source ? "; the guest resumed on the source" : "");
}
