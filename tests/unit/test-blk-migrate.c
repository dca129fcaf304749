/*
 * tests/unit/test-blk-migrate.c - the split block driver across a live
 * migration (docs/blk.md, "Migration"; XEN-NOTES 12.E).
 *
 * Cases:
 *   - the store's shared-disk entries (xenbus_set_vbd_disk / _vbd_disk);
 *   - a blkback serving a disk the toolstack set: it takes the size from
 *     it, the frontend's writes land in it, and it is not freed with the
 *     driver domain;
 *   - a migration without memory copy, threads and det: a blk-io guest
 *     (2 vCPUs) and a driver domain on one machine, a controller vCPU that
 *     suspends the guest as mig_suspend_guest does and then closes the
 *     source's vbd (mig_close_source_vbds) so the old backend finishes;
 *     then a second driver domain with a new store serving the same disk,
 *     domctl_resume_domain, guest_pv_resume(!cancelled) and the rest of
 *     the run: every request completes (the ones the old backend never
 *     answered are reaped or reissued), no sector reads back wrong, the
 *     audit is clean and every frame comes back.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/sched.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/lock.h"
#include "core/machine.h"
#include "core/options.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "tests/unit/test.h"
#include "toolstack/build_pv.h"
#include "toolstack/migrate.h"

#define DEVID       51712
#define SECTORS     2048
#define PAGES       1024

static struct domain *build(struct machine *m, domid_t domid,
                            unsigned nr_vcpus, const struct guest_options *go,
                            const struct workload_params *wl,
                            struct guest_pv **g)
{
    struct domain *d = NULL;
    char err[256] = "";
    struct build_pv_config cfg = {
        .domid = domid, .nr_vcpus = nr_vcpus, .nr_pages = PAGES,
        .gopt = go, .wl = wl,
    };
    int rc = build_pv(m, &cfg, &d, g, NULL, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv dom%u: %s\n", domid, err);
    return rc ? NULL : d;
}

static struct workload_params fe_wl(struct xenbus *xb, domid_t be,
                                    uint64_t seed, unsigned ops)
{
    struct workload_params wl;
    memset(&wl, 0, sizeof(wl));
    wl.kind = WL_BLK_IO;
    wl.xenbus = xb;
    wl.backend = be;
    wl.ops = ops;
    wl.depth = 8;
    wl.segs_min = 1;
    wl.segs_max = 4;
    wl.reads = 50;
    wl.verify = true;
    wl.sectors = SECTORS;
    wl.seed = seed;
    return wl;
}

static struct workload_params be_wl(struct xenbus *xb, uint64_t seed)
{
    struct workload_params wl;
    memset(&wl, 0, sizeof(wl));
    wl.kind = WL_BLKBACK;
    wl.xenbus = xb;
    wl.seed = seed;
    return wl;
}

static bool disk_written(struct ramdisk *rd)
{
    uint8_t buf[BLK_SECTOR_SIZE];
    for (uint64_t s = 0; s < ramdisk_sectors(rd); s++) {
        if (ramdisk_read(rd, s, 1, buf) != 0)
            return false;
        for (unsigned i = 0; i < sizeof(buf); i++)
            if (buf[i])
                return true;
    }
    return false;
}

/* The store keeps one disk per (fe, devid), replaces it, and refuses a
   seventeenth vbd with -ENOSPC (nothing stored). */
static void t_store_disk(void)
{
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb != NULL);
    struct ramdisk *a = ramdisk_new(8), *b = ramdisk_new(8);
    REQUIRE(a && b);
    CHECK(xenbus_vbd_disk(xb, 2, DEVID) == NULL);
    uint64_t ver = xenbus_version(xb);
    CHECK_EQ(xenbus_set_vbd_disk(xb, 2, DEVID, a), 0);
    CHECK(xenbus_version(xb) > ver);
    CHECK(xenbus_vbd_disk(xb, 2, DEVID) == a);
    CHECK(xenbus_vbd_disk(xb, 3, DEVID) == NULL);
    CHECK(xenbus_vbd_disk(xb, 2, DEVID + 16) == NULL);
    CHECK_EQ(xenbus_set_vbd_disk(xb, 2, DEVID, b), 0);
    CHECK(xenbus_vbd_disk(xb, 2, DEVID) == b);
    unsigned fe = 10;
    while (xenbus_set_vbd_disk(xb, fe, DEVID, a) == 0)
        fe++;
    CHECK_EQ(fe, 10 + 15);              /* 16 vbds in all */
    CHECK_EQ(xenbus_set_vbd_disk(xb, fe, DEVID, a), -XEN_ENOSPC);
    CHECK(xenbus_vbd_disk(xb, fe, DEVID) == NULL);
    CHECK_EQ(xenbus_set_vbd_disk(xb, 2, DEVID, a), 0);  /* replace: room */
    xenbus_free(xb);
    ramdisk_free(a);
    ramdisk_free(b);
}

/* A backend given the toolstack's disk serves it (size from the disk, not
   params), and leaves it to the toolstack. */
static void t_shared_disk(void)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    hv_options_default(&ho);
    guest_options_default(&go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    uint64_t free_before = m->nr_free;
    struct xenbus *xb = xenbus_new();
    struct ramdisk *disk = ramdisk_new(SECTORS);
    REQUIRE(xb && disk);
    /* params say far more than the disk holds: the disk wins. */
    REQUIRE(xenbus_add_vbd(xb, 2, 1, DEVID, 1u << 20) == 0);
    REQUIRE(xenbus_set_vbd_disk(xb, 2, DEVID, disk) == 0);
    struct workload_params bw = be_wl(xb, 11), fw = fe_wl(xb, 1, 12, 300);
    fw.sectors = 0;                     /* the whole disk the backend offers */
    struct guest_pv *gbe = NULL, *gfe = NULL;
    struct domain *be = build(m, 1, 1, &go, &bw, &gbe);
    struct domain *fe = build(m, 2, 1, &go, &fw, &gfe);
    REQUIRE(be && fe);
    struct vcpu *vs[2] = { be->vcpu[0], fe->vcpu[0] };
    struct sched_config sc = { .mode = SCHED_THREADS, .seed = 5 };
    CHECK_EQ(sched_run(&sc, vs, 2), 0);

    struct guest_stats fs, bs;
    guest_pv_stats(gfe, &fs);
    guest_pv_stats(gbe, &bs);
    guest_pv_report(gfe, stderr);
    CHECK_EQ(fs.blk_ops, 300);
    CHECK_EQ(fs.blk_verify_failures, 0);
    CHECK_EQ(fs.verify_failures, 0);
    CHECK_EQ(fs.hypercall_errors, 0);
    CHECK_EQ(bs.hypercall_errors, 0);
    CHECK_EQ(xenbus_get_u64(xb, "/local/domain/1/backend/vbd/2/51712",
                            "sectors", 0), SECTORS);
    CHECK(disk_written(disk));
    CHECK_EQ(hv_audit(m, stderr), 0);
    CHECK_EQ(domain_destroy(fe), 0);
    CHECK_EQ(domain_destroy(be), 0);
    guest_pv_free(gfe);
    guest_pv_free(gbe);
    /* The disk outlived the backend: still the toolstack's. */
    CHECK_EQ(ramdisk_sectors(disk), SECTORS);
    CHECK(disk_written(disk));
    CHECK_EQ(hv_audit(m, stderr), 0);
    CHECK_EQ(m->nr_free, free_before);
    machine_destroy(m);
    xenbus_free(xb);
    ramdisk_free(disk);
}

/* ---- migration without memory copy ------------------------------------------- */

/* The source's toolstack, on a vCPU of its own: once the guest has done
   some I/O, suspend it as mig_suspend_guest does (control/shutdown, then
   every backend suspend=1 and suspended=1), then - the migration being
   "done" - close the source's vbds so the old backend finishes. */
struct ctl {
    struct xenbus *xb;
    struct domain *fe;
    struct guest_pv *gfe;
    uint64_t after_ops;
    bool backend_first;         /* suspend the vbd before the guest */
    int rc, close_rc;
    char err[256];
};

static void controller(struct vcpu *v, void *arg)
{
    struct ctl *k = arg;
    struct guest_stats st;
    (void)v;
    for (;;) {
        guest_pv_stats(k->gfe, &st);
        if (st.blk_ops >= k->after_ops)
            break;
        hv_relax();
    }
    if (k->backend_first) {
        /* The backend stops taking requests first: the guest's next ones
           stay on the ring, unanswered, and are reissued after. */
        xenbus_vbd_suspend(k->xb, k->fe->domid, 1, DEVID, true);
        while (xenbus_vbd_suspended(k->xb, k->fe->domid, 1, DEVID) != 1) {
            /* The guest may have finished (and the backend with it) before
               this vCPU ran again: a failed run, not a hang. */
            if (atomic_load(&k->fe->vcpus_stopped) >= k->fe->nr_vcpus) {
                k->rc = -XEN_ESRCH;
                snprintf(k->err, sizeof(k->err), "the guest finished before "
                         "its backend acknowledged the suspend");
                return;
            }
            hv_relax();
        }
    }
    k->rc = mig_suspend_guest(k->xb, k->fe, k->err, sizeof(k->err));
    k->close_rc = k->rc ? 0 : mig_close_source_vbds(k->xb, k->fe->domid);
}

static void migrate_once(enum sched_mode mode, uint64_t seed, bool persistent,
                         bool quiesce, bool backend_first)
{
    struct hv_options ho;
    struct guest_options go;
    struct machine *m = NULL;
    hv_options_default(&ho);
    guest_options_default(&go);
    go.blkback_persistent = persistent;
    go.blkback_quiesce = quiesce;
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &m) == 0);
    uint64_t free_before = m->nr_free;
    struct xenbus *xa = xenbus_new(), *xb = xenbus_new();
    struct ramdisk *disk = ramdisk_new(SECTORS);
    REQUIRE(xa && xb && disk);
    /* OPS well past the trigger (OPS / 8): under load the controller's
       thread may run late, and the guest must not be done by then. */
    enum { OPS = 1600, BE1 = 1, FE = 2, CTL = 3, BE2 = 4 };
    REQUIRE(xenbus_add_vbd(xa, FE, BE1, DEVID, SECTORS) == 0);
    REQUIRE(xenbus_set_vbd_disk(xa, FE, DEVID, disk) == 0);
    struct workload_params bw = be_wl(xa, seed + 1),
                           fw = fe_wl(xa, BE1, seed + 2, OPS);
    struct guest_pv *gbe1 = NULL, *gfe = NULL, *gbe2 = NULL;
    struct domain *be1 = build(m, BE1, 1, &go, &bw, &gbe1);
    struct domain *fe = build(m, FE, 2, &go, &fw, &gfe);
    REQUIRE(be1 && fe);
    struct domain *ctl = NULL;
    struct domain_config cc = { .kind = DOMAIN_PV, .nr_vcpus = 1,
                                .max_pages = 1, .domid = CTL };
    REQUIRE(domain_create(m, &cc, &ctl) == 0);
    struct ctl k = { .xb = xa, .fe = fe, .gfe = gfe, .after_ops = OPS / 8,
                     .backend_first = backend_first };
    ctl->vcpu[0]->entry = controller;
    ctl->vcpu[0]->entry_arg = &k;

    /* Host A: run until the guest suspended and the old backend ended. */
    struct vcpu *vs[4] = { be1->vcpu[0], fe->vcpu[0], fe->vcpu[1],
                           ctl->vcpu[0] };
    struct sched_config sc = { .mode = mode, .seed = seed };
    CHECK_EQ(sched_run(&sc, vs, 4), 0);
    if (k.rc)
        fprintf(stderr, "  controller: %s\n", k.err);
    REQUIRE(k.rc == 0);
    CHECK_EQ(k.close_rc, 0);
    int reason = -1;
    CHECK(domain_shut_down(fe, &reason));
    CHECK_EQ(reason, SHUTDOWN_suspend);
    CHECK(guest_pv_suspended(gfe));
    CHECK_EQ(xenbus_read_state(xa, "/local/domain/1/backend/vbd/2/51712"),
             XenbusStateClosed);
    struct guest_stats s1;
    guest_pv_stats(gfe, &s1);
    CHECK(s1.blk_ops >= OPS / 8);
    CHECK(s1.blk_ops < OPS);
    CHECK_EQ(hv_audit(m, stderr), 0);   /* the old backend unmapped all */

    /* Host B (same machine): a new driver domain on a new store, the same
       disk; the guest's domain resumed, its kernel told where it is. */
    REQUIRE(xenbus_add_vbd(xb, FE, BE2, DEVID, SECTORS) == 0);
    REQUIRE(xenbus_set_vbd_disk(xb, FE, DEVID, disk) == 0);
    struct workload_params bw2 = be_wl(xb, seed + 3);
    struct domain *be2 = build(m, BE2, 1, &go, &bw2, &gbe2);
    REQUIRE(be2 != NULL);
    CHECK_EQ(domctl_resume_domain(fe), 0);
    struct guest_resume r = { .cancelled = false, .host_id = 0,
                              .xenbus = xb, .backend = BE2 };
    CHECK_EQ(guest_pv_resume(gfe, &r), 0);
    struct vcpu *vs2[3] = { fe->vcpu[0], fe->vcpu[1], be2->vcpu[0] };
    struct sched_config sc2 = { .mode = mode, .seed = seed + 9 };
    CHECK_EQ(sched_run(&sc2, vs2, 3), 0);

    struct guest_stats fs, b2;
    guest_pv_stats(gfe, &fs);
    guest_pv_stats(gbe2, &b2);
    if (fs.blk_ops != OPS || fs.blk_verify_failures || fs.hypercall_errors ||
        fs.kernel_oopses) {
        fprintf(stderr, "  %s seed %llu persistent %d quiesce %d:\n",
                mode == SCHED_DET ? "det" : "threads",
                (unsigned long long)seed, persistent, quiesce);
        guest_pv_report(gfe, stderr);
        guest_pv_report(gbe2, stderr);
    }
    CHECK_EQ(fs.mig_suspends, 1);
    CHECK_EQ(fs.mig_resumes, 1);
    CHECK_EQ(fs.blk_ops, OPS);
    CHECK_EQ(fs.blk_verify_failures, 0);
    CHECK_EQ(fs.verify_failures, 0);
    CHECK_EQ(fs.hypercall_errors, 0);
    CHECK_EQ(fs.kernel_oopses, 0);
    if (quiesce)                        /* off: story E's backend keeps them */
        CHECK_EQ(fs.blk_busy_grants, 0);
    if (backend_first) {                /* something was reissued */
        char *log = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&log, &len);
        REQUIRE(f != NULL);
        guest_pv_report(gfe, f);
        fclose(f);
        CHECK(strstr(log, "reconnected to dom4") != NULL);
        /* Requests in flight when the backend was suspended: det mode's
           schedule guarantees some; with threads, the backend may have
           answered every one before the controller got to it. */
        if (mode == SCHED_DET)
            CHECK(strstr(log, " 0 reissued") == NULL);
        free(log);
    }
    CHECK_EQ(b2.hypercall_errors, 0);
    CHECK_EQ(xenbus_read_state(xb, "/local/domain/4/backend/vbd/2/51712"),
             XenbusStateClosed);
    CHECK(disk_written(disk));
    CHECK_EQ(hv_audit(m, stderr), 0);

    CHECK_EQ(domain_destroy(fe), 0);
    CHECK_EQ(domain_destroy(be2), 0);
    CHECK_EQ(domain_destroy(be1), 0);
    CHECK_EQ(domain_destroy(ctl), 0);
    guest_pv_free(gfe);
    guest_pv_free(gbe1);
    guest_pv_free(gbe2);
    CHECK_EQ(hv_audit(m, stderr), 0);
    CHECK_EQ(m->nr_free, free_before);
    machine_destroy(m);
    xenbus_free(xa);
    xenbus_free(xb);
    ramdisk_free(disk);
}

static void t_migrate_threads(void)
{
    for (uint64_t seed = 1; seed <= 6; seed++)
        migrate_once(SCHED_THREADS, seed, false, true, false);
    migrate_once(SCHED_THREADS, 7, true, true, false);
    /* Without quiesce the old backend answers what it had taken only when
       it is closed (after the ring was last looked at here, but there is
       no memory copy to lose it): the rest is reissued. */
    migrate_once(SCHED_THREADS, 8, false, false, false);
    migrate_once(SCHED_THREADS, 9, true, false, false);
    migrate_once(SCHED_THREADS, 10, false, true, true);
    migrate_once(SCHED_THREADS, 11, true, true, true);
}

static void t_migrate_det(void)
{
    for (uint64_t seed = 1; seed <= 6; seed++)
        migrate_once(SCHED_DET, seed, false, true, false);
    migrate_once(SCHED_DET, 7, true, true, false);
    /* Without quiesce the old backend answers what it had taken only when
       it is closed (after the ring was last looked at here, but there is
       no memory copy to lose it): the rest is reissued. */
    migrate_once(SCHED_DET, 8, false, false, false);
    migrate_once(SCHED_DET, 9, true, false, false);
    migrate_once(SCHED_DET, 10, false, true, true);
    migrate_once(SCHED_DET, 11, true, true, true);
}

static const struct test tests[] = {
    { "the store keeps one shared disk per vbd, replaces it, and refuses a 17th", t_store_disk },
    { "a backend serves the toolstack's disk, sized by it, and does not free it", t_shared_disk },
    { "migration without memory copy (threads): every request completes on the new backend, reads verify", t_migrate_threads },
    { "migration without memory copy (det): every request completes on the new backend, reads verify", t_migrate_det },
};

TEST_MAIN(tests)
