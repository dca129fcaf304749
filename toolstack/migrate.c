/*
 * toolstack/migrate.c - the toolstack's suspend sequence around a
 * migration (Xen's libxl domain_suspend, with its device-model-less PV
 * backends): ask the guest through xenstore, wait for its shutdown, then
 * quiesce every backend of its vbds; and, once the stream is complete,
 * close the source's vbds.  Interface: toolstack/migrate.h.
 *
 * Rules:
 *   MG1  Every wait is an hv_relax() spin: the caller runs on a vCPU of a
 *        control domain, and in det mode the guest's vCPUs must get the
 *        CPU while it waits.
 *   MG2  A guest whose vCPUs all stopped without a shutdown code (its
 *        workload ended before it saw the request) is -XEN_ESRCH with a
 *        message; a guest that shut down for another reason is
 *        -XEN_EINVAL.
 *   MG3  The vbds of a domain are the children of
 *        /local/domain/<domid>/device/vbd; each names its backend domain
 *        in backend-id (a missing one is -XEN_ENOENT).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/io/xenbus.h>

#include "core/domctl.h"
#include "core/lock.h"
#include "core/vcpu.h"
#include "guest/xenbus.h"
#include "inject/inject.h"
#include "toolstack/migrate.h"

#define MIG_MAX_VBDS    32

struct vbd_ref {
    unsigned devid, be;
};

/* MG3: the vbds of domid; their count or a negative errno. */
static int list_vbds(struct xenbus *xb, domid_t domid, struct vbd_ref *out,
                     unsigned max)
{
    char names[MIG_MAX_VBDS][XENBUS_VALUE_MAX];
    char dir[128];
    snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd", (unsigned)domid);
    unsigned n = xenbus_directory(xb, dir, names, MIG_MAX_VBDS);
    if (n > max)
        n = max;
    for (unsigned i = 0; i < n; i++) {
        char path[192];
        uint64_t be, devid;
        if (sscanf(names[i], "%llu", (unsigned long long *)&devid) != 1)
            return -XEN_EINVAL;
        snprintf(path, sizeof(path), "%s/%s/backend-id", dir, names[i]);
        int rc = xenbus_read_u64(xb, path, &be);
        if (rc)
            return rc;
        out[i] = (struct vbd_ref){ .devid = (unsigned)devid,
                                   .be = (unsigned)be };
    }
    return (int)n;
}

static bool all_vcpus_stopped(const struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (!atomic_load(&d->vcpu[i]->stopped))
            return false;
    return true;
}

int mig_suspend_guest(struct xenbus *xb, struct domain *d, char *err,
                      size_t errlen)
{
    if (!xb || !d) {
        snprintf(err, errlen, "suspend: no xenstore or no domain");
        return -XEN_EINVAL;
    }
    char path[128];
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
             (unsigned)d->domid);
    int rc = xenbus_write(xb, path, "suspend");
    if (rc) {
        snprintf(err, errlen, "suspend: writing %s: %d", path, rc);
        return rc;
    }
    int reason = -1;
    while (!domain_shut_down(d, &reason)) {         /* MG1 */
        if (atomic_load(&d->shutdown_code) < 0 && all_vcpus_stopped(d)) {
            snprintf(err, errlen, "suspend: domain %u stopped without "
                     "suspending (its workload ended first)",
                     (unsigned)d->domid);
            return -XEN_ESRCH;                      /* MG2 */
        }
        hv_relax();
    }
    if (reason != SHUTDOWN_suspend) {
        snprintf(err, errlen, "suspend: domain %u shut down with reason %d, "
                 "not suspend", (unsigned)d->domid, reason);
        return -XEN_EINVAL;
    }
    if (INJ_POINT_AT(mig_suspend_quiesce, d->domid, INJ_ANY))
        return 0;                                   /* story E */
    struct vbd_ref vbds[MIG_MAX_VBDS];
    int n = list_vbds(xb, d->domid, vbds, MIG_MAX_VBDS);
    if (n < 0) {
        snprintf(err, errlen, "suspend: listing the vbds of domain %u: %d",
                 (unsigned)d->domid, n);
        return n;
    }
    for (int i = 0; i < n; i++) {
        rc = xenbus_vbd_suspend(xb, d->domid, vbds[i].be, vbds[i].devid, true);
        if (rc) {
            snprintf(err, errlen, "suspend: vbd %u (backend %u): %d",
                     vbds[i].devid, vbds[i].be, rc);
            return rc;
        }
    }
    for (int i = 0; i < n; i++) {
        char fe_dir[XENBUS_PATH_MAX], be_dir[XENBUS_PATH_MAX];
        xenbus_vbd_paths(d->domid, vbds[i].be, vbds[i].devid, fe_dir, be_dir,
                         sizeof(fe_dir));
        while (xenbus_vbd_suspended(xb, d->domid, vbds[i].be,
                                    vbds[i].devid) != 1) {
            enum xenbus_state st = xenbus_read_state(xb, be_dir);
            if (st == XenbusStateClosing || st == XenbusStateClosed) {
                snprintf(err, errlen, "suspend: vbd %u: backend %u went %s "
                         "instead of acknowledging the suspend",
                         vbds[i].devid, vbds[i].be, xenbus_state_name(st));
                return -XEN_EIO;
            }
            hv_relax();                             /* MG1 */
        }
    }
    return 0;
}

int mig_close_source_vbds(struct xenbus *xb, domid_t domid)
{
    if (!xb)
        return -XEN_EINVAL;
    struct vbd_ref vbds[MIG_MAX_VBDS];
    int n = list_vbds(xb, domid, vbds, MIG_MAX_VBDS);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        char fe[128], be[128];
        xenbus_vbd_paths(domid, vbds[i].be, vbds[i].devid, fe, be, sizeof(fe));
        int rc = xenbus_switch_state(xb, fe, XenbusStateClosed);
        if (rc)
            return rc;
    }
    return 0;
}
