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
 *   R6  Two processes, sender (o->mig_to; docs/migration.md "Two
 *       processes"): the connection is made and xl's banner checked before
 *       the run starts (nothing listening: the run does not start).  At the
 *       trigger the control vCPU writes the xl header (the config), the
 *       libxl header and LIBXC_CONTEXT, runs the save into the connection,
 *       then the guest kernel's state (EMULATOR_CONTEXT) and END; then
 *       xl's handshake (toolstack/mig_conn.h C4).  A failed save, a
 *       receiver that hangs up or does not say it restored, or one that
 *       reports it could not start the guest: the guest resumes here (R3).
 *       Once the go was sent and no report comes, the guest may run there,
 *       so it is not resumed here.  A file destination (xl save) ends at
 *       END: the domain is saved, its vbds closed.
 *   R7  Two processes, receiver (o->mig_from): this machine is the
 *       destination; the runner built the backend (runner.c U5).  The
 *       control vCPU reads LIBXC_CONTEXT, restores from the connection,
 *       loads the kernel from EMULATOR_CONTEXT, reads END, resumes the
 *       kernel, says it is ready, waits for the go and starts the vCPUs.
 *       Any failure destroys what was restored and closes the vbd, so the
 *       backend here ends too; nothing is left.
 */
#include <inttypes.h>
#include <stdarg.h>
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
#include "inject/inject.h"
#include "guest/xenbus.h"
#include "toolstack/build_pv.h"
#include "toolstack/image.h"
#include "toolstack/mig_conn.h"
#include "toolstack/migrate.h"
#include "toolstack/run_migrate.h"
#include "toolstack/stream.h"
#include "toolstack/xl_stream.h"
#include "trace/trace.h"

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
    struct guest_pv *dst_gk;        /* the guest's kernel there, loaded */
    struct guest_hvm *dst_hk;       /* from the source's saved state */
    struct mig_conn *conn;          /* R6: the sender's connection */
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
    /* The kernel's private state as bytes (guest/kstate.c), as between two
       hosts: a new kernel object loaded from them resumes there. */
    void *ks = NULL;
    size_t ks_len = 0;
    rc = mr->c.hk ? guest_hvm_state_save(mr->c.hk, &ks, &ks_len)
                  : guest_pv_state_save(mr->c.gk, &ks, &ks_len);
    if (rc) {
        snprintf(res->err, sizeof(res->err), "saving the guest kernel's "
                 "state: %s", build_errname(rc));
        return rc;
    }
    res->kstate_bytes = ks_len;
    if (mr->c.hk)
        mr->dst_hk = guest_hvm_state_load(ks, ks_len, err, sizeof(err));
    else
        mr->dst_gk = guest_pv_state_load(ks, ks_len, err, sizeof(err));
    free(ks);
    if (!mr->dst_hk && !mr->dst_gk) {
        snprintf(res->err, sizeof(res->err), "loading the guest kernel's "
                 "state: %s", err);
        return -XEN_EINVAL;
    }
    rc = mr->dst_hk ? guest_hvm_resume(mr->dst_hk, &gr)
                    : guest_pv_resume(mr->dst_gk, &gr);
    if (rc != 0) {
        snprintf(res->err, sizeof(res->err), "resuming the guest kernel on "
                 "host %u: %s", res->to_host, build_errname(rc));
        return rc;
    }
    for (unsigned i = 0; i < mr->dst_dom->nr_vcpus; i++) {
        struct vcpu *v = mr->dst_dom->vcpu[i];
        v->entry = mr->dst_hk ? guest_hvm_vcpu_main : guest_pv_vcpu_main;
        v->entry_arg = mr->dst_hk ? (void *)mr->dst_hk : (void *)mr->dst_gk;
        if ((rc = sched_spawn(v)) != 0) {
            snprintf(res->err, sizeof(res->err), "starting vCPU %u on host "
                     "%u: %s", i, res->to_host, build_errname(rc));
            return rc;
        }
    }
    res->resumed_dest = true;
    return 0;
}

/* ---- two processes (docs/migration.md "Two processes") --------------------- */
#define MIG_BANNER_TIMEOUT_MS   30000   /* the receiver answers at once */
#define MIG_READY_TIMEOUT_MS    600000  /* it restores the whole domain */
#define MIG_REPORT_TIMEOUT_MS   60000

/* The steps of hvlab_mig:xl_step (trace/hvlab_mig.h). */
enum xl_step {
    XS_HEADERS = 1, XS_LIBXC_END, XS_KSTATE, XS_END, XS_READY, XS_GO,
    XS_REPORT,
};

static void xl_step(const struct mig_run *mr, const struct mig_conn *c,
                    bool receiver, enum xl_step step, int rc)
{
    TRC(hvlab_mig, xl_step, (uint8_t)mr->c.src->host_id, mr->c.domid,
        (uint8_t)receiver, (uint8_t)step, (int32_t)rc,
        c ? (receiver ? c->bytes_in : c->bytes_out) : 0);
}

/* R6: the connection ends; the receiver sees the stream end there. */
static void drop_conn(struct mig_run *mr)
{
    if (mr->conn) {
        mr->conn->tee = NULL;
        mig_conn_close(mr->conn);
        mr->conn = NULL;
    }
}

static void say_conn(struct mig_run *mr, int rc, const char *what)
{
    struct run_migration *res = mr->c.res;
    const char *why = mr->conn && mr->conn->err[0] ? mr->conn->err
                                                   : build_errname(rc);
    if (snprintf(res->err, sizeof(res->err), "%s %s: %s", what, res->peer,
                 why) >= (int)sizeof(res->err))
        res->err[sizeof(res->err) - 2] = '~';  /* cut: marked */
}

/* --save-stream must hold the whole stream: a write error is the run's. */
static void save_file_check(struct mig_run *mr)
{
    struct run_migration *res = mr->c.res;
    if (mr->save_file && (fflush(mr->save_file) != 0 ||
                          ferror(mr->save_file)) && !res->err[0])
        snprintf(res->err, sizeof(res->err), "--save-stream %s: write "
                 "failed: the file does not hold the whole stream",
                 mr->c.o->save_stream);
    if (res->err[0] && !res->save_rc && mr->save_file && ferror(mr->save_file))
        res->save_rc = -XEN_EIO;
}

/* R6: the sender's half: the xl header and libxl records around the save,
   the kernel's state, then xl's handshake. */
static void send_remote(struct mig_run *mr)
{
    struct run_migration *res = mr->c.res;
    const struct scn_migrate *m = &mr->c.sc->mig;
    struct mig_conn *c = mr->conn;
    struct xl_writer xw;
    xl_writer_init(&xw, mig_conn_sink, c);
    int rc = xl_write_headers(&xw, mr->c.o->mig_config,
                              mr->c.o->mig_config_len);
    if (rc == 0)
        rc = xl_write_libxc_context(&xw);
    xl_step(mr, c, false, XS_HEADERS, rc);
    if (rc) {
        res->save_rc = rc;
        say_conn(mr, rc, "sending the xl and libxl headers to");
        drop_conn(mr);
        return;                     /* the guest never stopped */
    }
    struct stream_writer w;
    stream_writer_init(&w, mig_conn_sink, c);
    struct mig_save_opts so = {
        .d = mr->c.d, .w = &w, .max_iters = m->max_iters,
        .target_dirty = m->target_dirty, .live = m->live, .verify = m->verify,
        .image_pause = mr->img_pause, .image_final = mr->img_final,
        .hooks = { .suspend = suspend_hook, .progress = progress, .arg = mr },
    };
    rc = mig_save(&so, &res->save);
    res->save_rc = rc;
    xl_writer_skip(&xw, w.offset);
    xl_step(mr, c, false, XS_LIBXC_END, rc);
    if (rc) {
        if (snprintf(res->err, sizeof(res->err), "save: %s%s%s%s%s",
                     res->save.err, c->err[0] ? " (" : "", c->err[0] ?
                     res->peer : "", c->err[0] ? ": " : "",
                     c->err) >= (int)sizeof(res->err) - 1 || c->err[0])
            snprintf(res->err + strlen(res->err),
                     sizeof(res->err) - strlen(res->err), "%s",
                     c->err[0] ? ")" : "");
        drop_conn(mr);
        resume_source(mr);
        return;
    }
    void *ks = NULL;
    size_t kslen = 0;
    rc = mr->c.hk ? guest_hvm_state_save(mr->c.hk, &ks, &kslen)
                  : guest_pv_state_save(mr->c.gk, &ks, &kslen);
    if (rc == 0) {
        res->kstate_bytes = kslen;
        rc = xl_write_emulator_context(&xw, XL_EMULATOR_ID_UNKNOWN,
                                       XL_HVLAB_KSTATE_INDEX, ks, kslen);
    }
    free(ks);
    xl_step(mr, c, false, XS_KSTATE, rc);
    if (rc == 0)
        rc = xl_write_end(&xw);
    if (rc == 0)
        rc = mig_conn_flush(c);
    xl_step(mr, c, false, XS_END, rc);
    res->stream_bytes = c->bytes_out;
    if (rc) {
        res->restore_rc = rc;
        say_conn(mr, rc, "sending the guest kernel's state to");
        drop_conn(mr);
        resume_source(mr);
        return;
    }
    if (!c->socket) {               /* xl save: restored later */
        res->to_file = true;
        mig_close_source_vbds(mr->c.xb, mr->c.d->domid);
        save_file_check(mr);
        return;
    }
    rc = mig_conn_expect_msg(c, MIG_MSG_READY, sizeof(MIG_MSG_READY),
                             MIG_READY_TIMEOUT_MS);
    xl_step(mr, c, false, XS_READY, rc);
    if (rc == 0 &&                      /* inject: the go withheld */
        (rc = INJ_FAIL_AT(mig_send_before_go, mr->c.domid, INJ_ANY, 0)) != 0)
        snprintf(c->err, sizeof(c->err), "the permission to go withheld "
                 "(mig.send.before_go: %s)", build_errname(rc));
    if (rc) {
        res->restore_rc = rc;
        say_conn(mr, rc, "the receiver did not restore the domain:");
        drop_conn(mr);
        resume_source(mr);
        return;
    }
    res->restore_rc = 0;
    uint8_t result = 1;
    rc = mig_conn_send_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO));
    xl_step(mr, c, false, XS_GO, rc);
    if (rc == 0)
        rc = mig_conn_expect_msg(c, MIG_MSG_REPORT, sizeof(MIG_MSG_REPORT),
                                 MIG_REPORT_TIMEOUT_MS);
    if (rc == 0)
        rc = mig_conn_read_byte(c, &result, MIG_REPORT_TIMEOUT_MS);
    xl_step(mr, c, false, XS_REPORT, rc ? rc : result);
    if (rc) {
        /* After the go the guest may be running there: resuming it here
           too would give two copies of it on one disk.  It stays
           suspended here (xl's "migrated away"); the vbds close so the
           backend here ends. */
        say_conn(mr, rc, "no report after the go from");
        size_t n = strlen(res->err);
        snprintf(res->err + n, sizeof(res->err) - n, "; the guest may run "
                 "there, so it is not resumed here");
        drop_conn(mr);
        mig_close_source_vbds(mr->c.xb, mr->c.d->domid);
        return;
    }
    if (result) {
        /* xl: the receiver destroys its copy, then gives the domain back
           with the permission to go; only then is it resumed here. */
        snprintf(res->err, sizeof(res->err), "the receiver %s could not "
                 "start the guest (report %u)", res->peer, result);
        rc = mig_conn_expect_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO),
                                 MIG_REPORT_TIMEOUT_MS);
        drop_conn(mr);
        if (rc) {
            size_t n = strlen(res->err);
            snprintf(res->err + n, sizeof(res->err) - n, "; it did not give "
                     "the domain back, so it is not resumed here");
            mig_close_source_vbds(mr->c.xb, mr->c.d->domid);
            return;
        }
        resume_source(mr);
        return;
    }
    res->resumed_dest = true;
    mig_close_source_vbds(mr->c.xb, mr->c.d->domid);
    save_file_check(mr);
}

/* R7: the receiver's half: the libxl records, the restore on this
   machine, the kernel from its state, then xl's handshake.  0, or -XEN_E*
   with res->err filled and nothing of the domain left. */
static int recv_fail(struct mig_run *mr, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int recv_fail(struct mig_run *mr, int rc, const char *fmt, ...)
{
    struct run_migration *res = mr->c.res;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->err, sizeof(res->err), fmt, ap);
    va_end(ap);
    if (mr->dst_dom) {
        int drc = domain_destroy(mr->dst_dom);
        mr->dst_dom = NULL;
        if (drc) {
            size_t n = strlen(res->err);
            snprintf(res->err + n, sizeof(res->err) - n, "; destroying the "
                     "restored domain failed too: %s", build_errname(drc));
        }
    }
    guest_pv_free(mr->dst_gk);
    guest_hvm_free(mr->dst_hk);
    mr->dst_gk = NULL;
    mr->dst_hk = NULL;
    /* The backend here waits for a frontend that will not come. */
    mig_close_source_vbds(mr->c.xb, mr->c.domid);
    return rc;
}

/* R7: after the go, the guest could not start here: say so, and give the
   domain back (xl's permission to go, from target to source).  The domain,
   its vCPUs stopped, is destroyed with the others at teardown. */
static int report_failure(struct mig_run *mr, struct mig_conn *c)
{
    xl_step(mr, c, true, XS_REPORT, 1);
    if (c->socket &&
        (mig_conn_send_msg(c, MIG_MSG_REPORT, sizeof(MIG_MSG_REPORT)) ||
         mig_conn_send_byte(c, 1) ||
         mig_conn_send_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO))))
        fprintf(mr->err, "hvlab receive: telling %s: %s\n", mr->c.res->peer,
                c->err);
    return -XEN_EINVAL;
}

static int receive_remote(struct mig_run *mr)
{
    struct run_migration *res = mr->c.res;
    const struct scenario *sc = mr->c.sc;
    const struct scn_domain *sd = &sc->dom[sc->mig.dom];
    struct mig_conn *c = mr->c.o->mig_from;
    struct xl_reader *xr = mr->c.o->mig_from_xl;
    struct xl_record rec;
    res->started = true;
    xl_step(mr, c, true, XS_HEADERS, 0);     /* cmd_receive read them */
    int rc = xl_read_record(xr, &rec);
    if (rc)
        return recv_fail(mr, rc, "%s", xr->err);
    if (rec.type != XL_REC_LIBXC_CONTEXT)
        return recv_fail(mr, -XEN_EINVAL, "libxl record %u (%s) at offset "
                         "%#" PRIx64 ": expected LIBXC_CONTEXT", rec.index,
                         xl_rec_name(rec.type), rec.offset);
    struct stream_reader r;
    stream_reader_init(&r, mig_conn_source, c);
    struct mig_restore_opts ro = {
        .m = mr->c.src, .domid = mr->c.domid, .nr_vcpus = sd->nr_vcpus,
        .max_pages = sd->nr_pages, .paging = sd->paging, .r = &r,
        .image_restored = mr->img_restored,
    };
    struct mig_restore_result rr;
    memset(&rr, 0, sizeof(rr));
    rc = mig_restore(&ro, &rr);
    uint64_t libxc_bytes = r.offset;
    stream_reader_free(&r);
    res->save_rc = 0;
    res->restore_rc = rc;
    res->restore_pages = rr.pages;
    res->stream_bytes = libxc_bytes;
    res->verify_seen = rr.verify_seen;
    res->verify_pages = rr.verify_pages;
    res->verify_mismatches = rr.verify_mismatches;
    res->nr_mismatch_listed = rr.nr_mismatch_listed;
    memcpy(res->mismatch_pfn, rr.mismatch_pfn, sizeof(res->mismatch_pfn));
    xl_step(mr, c, true, XS_LIBXC_END, rc);
    if (rc)
        return recv_fail(mr, rc, "restore from %s: %s", res->peer, rr.err);
    mr->dst_dom = rr.d;
    xl_reader_skip(xr, libxc_bytes);

    /* The guest kernel's state (xl_stream.h X3), then END. */
    if ((rc = xl_read_record(xr, &rec)) != 0)
        return recv_fail(mr, rc, "%s", xr->err);
    if (rec.type != XL_REC_EMULATOR_CONTEXT ||
        rec.emu_id != XL_EMULATOR_ID_UNKNOWN ||
        rec.emu_index != XL_HVLAB_KSTATE_INDEX)
        return recv_fail(mr, -XEN_EINVAL, "libxl record %u (%s) at offset "
                         "%#" PRIx64 ": expected the guest kernel's state "
                         "(EMULATOR_CONTEXT id %u index %u)", rec.index,
                         xl_rec_name(rec.type), rec.offset,
                         XL_EMULATOR_ID_UNKNOWN, XL_HVLAB_KSTATE_INDEX);
    char err[256];
    res->kstate_bytes = rec.emu_len;
    int kind = guest_state_kind(rec.emu_data, rec.emu_len, err, sizeof(err));
    bool hvm = sd->kind == DOMAIN_HVM;
    if (kind < 0 || kind != (hvm ? 1 : 0))
        return recv_fail(mr, -XEN_EINVAL, "libxl record %u at offset %#"
                         PRIx64 ": the guest kernel's state: %s", rec.index,
                         rec.offset, kind < 0 ? err : hvm ?
                         "a PV kernel's state for an HVM domain" :
                         "an HVM kernel's state for a PV domain");
    if (hvm)
        mr->dst_hk = guest_hvm_state_load(rec.emu_data, rec.emu_len, err,
                                          sizeof(err));
    else
        mr->dst_gk = guest_pv_state_load(rec.emu_data, rec.emu_len, err,
                                         sizeof(err));
    xl_step(mr, c, true, XS_KSTATE,
            mr->dst_gk || mr->dst_hk ? 0 : -XEN_EINVAL);
    if (!mr->dst_gk && !mr->dst_hk)
        return recv_fail(mr, -XEN_EINVAL, "libxl record %u at offset %#"
                         PRIx64 ": the guest kernel's state: %s", rec.index,
                         rec.offset, err);
    if ((rc = xl_read_record(xr, &rec)) != 0)
        return recv_fail(mr, rc, "%s", xr->err);
    if (rec.type != XL_REC_END)
        return recv_fail(mr, -XEN_EINVAL, "libxl record %u (%s) at offset "
                         "%#" PRIx64 ": expected END", rec.index,
                         xl_rec_name(rec.type), rec.offset);
    res->stream_bytes = xr->offset;
    xl_step(mr, c, true, XS_END, 0);

    struct guest_resume gr = {
        .cancelled = false, .host_id = mr->c.src->host_id,
        .xenbus = mr->c.xb, .backend = mr->c.backend_domid,
    };
    rc = hvm ? guest_hvm_resume(mr->dst_hk, &gr)
             : guest_pv_resume(mr->dst_gk, &gr);
    if (rc)
        return recv_fail(mr, rc, "resuming the guest kernel: %s",
                         build_errname(rc));
    /* inject: the receiver gives up before it says it is ready. */
    if ((rc = INJ_FAIL_AT(mig_recv_before_ready, mr->c.domid, INJ_ANY, 0)))
        return recv_fail(mr, rc, "not ready to unpause (mig.recv.before_ready:"
                         " %s)", build_errname(rc));
    if (c->socket) {
        rc = mig_conn_send_msg(c, MIG_MSG_READY, sizeof(MIG_MSG_READY));
        xl_step(mr, c, true, XS_READY, rc);
        if (rc == 0)
            rc = mig_conn_expect_msg(c, MIG_MSG_GO, sizeof(MIG_MSG_GO),
                                     MIG_READY_TIMEOUT_MS);
        xl_step(mr, c, true, XS_GO, rc);
        if (rc)
            return recv_fail(mr, rc, "no permission to go from %s: %s",
                             res->peer, c->err[0] ? c->err
                                                  : build_errname(rc));
    }
    for (unsigned i = 0; i < mr->dst_dom->nr_vcpus; i++) {
        struct vcpu *v = mr->dst_dom->vcpu[i];
        v->entry = hvm ? guest_hvm_vcpu_main : guest_pv_vcpu_main;
        v->entry_arg = hvm ? (void *)mr->dst_hk : (void *)mr->dst_gk;
        if ((rc = sched_spawn(v)) != 0) {
            snprintf(res->err, sizeof(res->err), "starting vCPU %u: %s "
                     "(vCPUs 0..%u run)", i, build_errname(rc), i);
            return report_failure(mr, c);
        }
    }
    /* R7: the report says whether the guest runs again here: wait until
       vCPU 0 finished the kernel's resume sequence. */
    int st;
    while ((st = hvm ? guest_hvm_resume_state(mr->dst_hk)
                     : guest_pv_resume_state(mr->dst_gk)) == 0)
        hv_relax();
    if (st < 0) {
        snprintf(res->err, sizeof(res->err), "the guest kernel's resume "
                 "failed (its log says why); its vCPUs stopped");
        /* The backend here waits for a frontend that will not come. */
        mig_close_source_vbds(mr->c.xb, mr->c.domid);
        return report_failure(mr, c);
    }
    res->resumed_dest = true;
    xl_step(mr, c, true, XS_REPORT, 0);
    if (c->socket &&
        (mig_conn_send_msg(c, MIG_MSG_REPORT, sizeof(MIG_MSG_REPORT)) ||
         mig_conn_send_byte(c, 0)))
        fprintf(mr->err, "hvlab receive: sending the report to %s: %s (the "
                "guest runs here)\n", res->peer, c->err);
    return 0;
}

/* R1, R2: the control vCPU's life. */
static void control_main(struct vcpu *v, void *arg)
{
    struct mig_run *mr = arg;
    struct run_migration *res = mr->c.res;
    const struct scn_migrate *m = &mr->c.sc->mig;
    (void)v;
    if (mr->c.o->mig_from) {                    /* R7 */
        receive_remote(mr);
        return;
    }

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
    if (mr->conn) {                             /* R6 */
        send_remote(mr);
        return;
    }
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
    /* Each host writes the images of its side (R6, R7). */
    bool src_side = !c->o->mig_from, dst_side = !c->o->mig_to;
    if (c->o->images_dir &&
        ((src_side && !(mr->img_pause = open_image(c->o, "source-pause.img",
                                                   err, errlen))) ||
         (src_side && !(mr->img_final = open_image(c->o, "source-final.img",
                                                   err, errlen))) ||
         (dst_side && !(mr->img_restored = open_image(c->o,
                                                      "dest-restored.img",
                                                      err, errlen))))) {
        rc = -XEN_EIO;
        goto fail;
    }
    if (c->o->mig_to) {                 /* R6: connect before anything runs */
        struct mig_url u;
        if (mig_url_parse(c->o->mig_to, &u, err, errlen) != 0 ||
            !(mr->conn = mig_conn_open(&u, err, errlen))) {
            rc = -XEN_EINVAL;
            goto fail;
        }
        mr->conn->tee = mr->save_file;
        if (mr->conn->socket &&
            (rc = mig_conn_expect_msg(mr->conn, MIG_MSG_BANNER,
                                      sizeof(MIG_MSG_BANNER) - 1,
                                      MIG_BANNER_TIMEOUT_MS)) != 0) {
            snprintf(err, errlen, "%s: no xl migration receiver there: %s",
                     c->o->mig_to, mr->conn->err);
            goto fail;
        }
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
    if (dom == mr->c.sc->mig.dom && (mr->dst_gk || mr->dst_hk)) {
        /* The destination kernel carried the source's counters and log
           over: its stats and report replace the source kernel's. */
        if (mr->dst_hk)
            guest_hvm_stats(mr->dst_hk, &rd->gs);
        else
            guest_pv_stats(mr->dst_gk, &rd->gs);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            if (mr->dst_hk)
                guest_hvm_report(mr->dst_hk, f);
            else
                guest_pv_report(mr->dst_gk, f);
            fclose(f);
            free(rd->guest_report);
            rd->guest_report = text;
        }
    }
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
    guest_pv_free(mr->dst_gk);
    mr->dst_gk = NULL;
    guest_hvm_free(mr->dst_hk);
    mr->dst_hk = NULL;
    return bad;
}

void mig_run_free(struct mig_run *mr)
{
    if (!mr)
        return;
    drop_conn(mr);
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
/* The sender's side of the report: the save's rounds. */
static void print_save(const struct run_migration *m,
                       const struct mig_save_stats *s, FILE *f)
{
    fprintf(f, " %u live iteration%s, %" PRIu64 " pages, %.1f MiB of stream, "
            "%.3f s, downtime %.3f ms, kernel state %" PRIu64 " bytes\n",
            s->live_rounds, s->live_rounds == 1 ? "" : "s", s->pages_sent,
            (double)m->stream_bytes / (1 << 20), (double)s->total_ns / 1e9,
            (double)s->downtime_ns / 1e6, m->kstate_bytes);
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
}

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
    if (m->side == MIG_SIDE_RECEIVER) {         /* R7 */
        fprintf(f, " received from %s: %.1f MiB of stream, kernel state %"
                PRIu64 " bytes\n", m->peer,
                (double)m->stream_bytes / (1 << 20), m->kstate_bytes);
    } else {
        const struct mig_save_stats *s = &m->save;
        print_save(m, s, f);
    }
    if (m->verify_seen) {
        fprintf(f, "    verify: %" PRIu64 " pages compared, %" PRIu64
                " differ", m->verify_pages, m->verify_mismatches);
        for (unsigned i = 0; i < m->nr_mismatch_listed; i++)
            fprintf(f, "%s%#" PRIx64, i ? ", " : " (pfn ", m->mismatch_pfn[i]);
        fprintf(f, "%s\n", m->nr_mismatch_listed ? ")" : "");
    }
    if (m->resumed_dest && m->side == MIG_SIDE_SENDER)
        fprintf(f, "    the receiver %s restored it on host %u; the guest "
                "resumed there\n", m->peer, m->to_host);
    else if (m->resumed_dest)
        fprintf(f, "    restored on host %u as dom%u (%" PRIu64 " pages); the "
                "guest resumed there\n", m->to_host, m->domid,
                m->restore_pages);
    else if (m->to_file && !m->err[0])
        fprintf(f, "    saved to %s; 'hvlab receive --from' restores it\n",
                m->peer);
    if (m->err[0])
        fprintf(f, "    FAILED: %s%s\n", m->err,
                m->resumed_source ? "; the guest resumed on the source" : "");
}
