/*
 * guest/xenbus.c - the xenstore stand-in (rules X1-X3 in xenbus.h).
 *
 * A flat table of (path, value) under one spinlock; the directory
 * listing derives children from the paths, as xenstored's tree would
 * hold them.  The version counter is the one watch every waiter shares.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lock.h"
#include "core/types.h"
#include "guest/xenbus.h"

struct xb_entry {
    char path[XENBUS_PATH_MAX];
    char value[XENBUS_VALUE_MAX];
};

/* Shared storage: a disk per vbd (fe, devid), not a string: kept beside
   the table, under the same lock (xenbus.h). */
#define XB_DISKS    16
struct xb_disk {
    unsigned fe, devid;
    struct ramdisk *rd;
};

struct xenbus {
    _Atomic uint32_t lock;
    _Atomic uint64_t version;       /* X2: bumped after every change */
    unsigned n;
    struct xb_entry *e;             /* [XENBUS_MAX_ENTRIES] */
    unsigned nr_disks;
    struct xb_disk disk[XB_DISKS];
};

static void xb_lock(struct xenbus *xb)
{
    while (atomic_exchange_explicit(&xb->lock, 1, memory_order_acquire))
        while (atomic_load_explicit(&xb->lock, memory_order_relaxed))
            hv_relax();
}

static void xb_unlock(struct xenbus *xb)
{
    atomic_store_explicit(&xb->lock, 0, memory_order_release);
}

struct xenbus *xenbus_new(void)
{
    struct xenbus *xb = calloc(1, sizeof(*xb));
    if (!xb)
        return NULL;
    xb->e = calloc(XENBUS_MAX_ENTRIES, sizeof(*xb->e));
    if (!xb->e) {
        free(xb);
        return NULL;
    }
    return xb;
}

void xenbus_free(struct xenbus *xb)
{
    if (!xb)
        return;
    free(xb->e);
    free(xb);
}

static struct xb_entry *find(struct xenbus *xb, const char *path)
{
    for (unsigned i = 0; i < xb->n; i++)
        if (strcmp(xb->e[i].path, path) == 0)
            return &xb->e[i];
    return NULL;
}

int xenbus_write(struct xenbus *xb, const char *path, const char *value)
{
    if (strlen(path) >= XENBUS_PATH_MAX)
        return -XEN_ENAMETOOLONG;
    if (strlen(value) >= XENBUS_VALUE_MAX)
        return -XEN_E2BIG;
    xb_lock(xb);
    struct xb_entry *e = find(xb, path);
    if (!e) {
        if (xb->n == XENBUS_MAX_ENTRIES) {
            xb_unlock(xb);
            return -XEN_ENOSPC;
        }
        e = &xb->e[xb->n++];
        snprintf(e->path, sizeof(e->path), "%s", path);
    }
    snprintf(e->value, sizeof(e->value), "%s", value);
    xb_unlock(xb);
    atomic_fetch_add(&xb->version, 1);
    return 0;
}

int xenbus_printf(struct xenbus *xb, const char *path, const char *fmt, ...)
{
    char value[XENBUS_VALUE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= XENBUS_VALUE_MAX)
        return -XEN_E2BIG;
    return xenbus_write(xb, path, value);
}

int xenbus_read(struct xenbus *xb, const char *path, char *value, size_t len)
{
    int rc = -XEN_ENOENT;
    xb_lock(xb);
    const struct xb_entry *e = find(xb, path);
    if (e) {
        snprintf(value, len, "%s", e->value);
        rc = 0;
    }
    xb_unlock(xb);
    return rc;
}

int xenbus_read_u64(struct xenbus *xb, const char *path, uint64_t *v)
{
    char buf[XENBUS_VALUE_MAX], *end;
    int rc = xenbus_read(xb, path, buf, sizeof(buf));
    if (rc)
        return rc;
    unsigned long long x = strtoull(buf, &end, 10);
    if (end == buf || *end != '\0')
        return -XEN_EINVAL;
    *v = x;
    return 0;
}

uint64_t xenbus_get_u64(struct xenbus *xb, const char *dir, const char *key,
                        uint64_t dflt)
{
    char p[XENBUS_PATH_MAX + 32];
    uint64_t v;
    snprintf(p, sizeof(p), "%s/%s", dir, key);
    return xenbus_read_u64(xb, p, &v) == 0 ? v : dflt;
}

int xenbus_put_u64(struct xenbus *xb, const char *dir, const char *key,
                   uint64_t v)
{
    char p[XENBUS_PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/%s", dir, key);
    return xenbus_printf(xb, p, "%llu", (unsigned long long)v);
}

int xenbus_rm(struct xenbus *xb, const char *path)
{
    int rc = -XEN_ENOENT;
    xb_lock(xb);
    struct xb_entry *e = find(xb, path);
    if (e) {
        *e = xb->e[--xb->n];
        rc = 0;
    }
    xb_unlock(xb);
    if (rc == 0)
        atomic_fetch_add(&xb->version, 1);
    return rc;
}

unsigned xenbus_directory(struct xenbus *xb, const char *dir,
                          char names[][XENBUS_VALUE_MAX], unsigned max)
{
    size_t dl = strlen(dir);
    unsigned n = 0;
    xb_lock(xb);
    for (unsigned i = 0; i < xb->n && n < max; i++) {
        const char *p = xb->e[i].path;
        if (strncmp(p, dir, dl) != 0 || p[dl] != '/')
            continue;
        const char *child = p + dl + 1, *slash = strchr(child, '/');
        size_t cl = slash ? (size_t)(slash - child) : strlen(child);
        if (cl == 0 || cl >= XENBUS_VALUE_MAX)
            continue;
        bool seen = false;
        for (unsigned k = 0; k < n && !seen; k++)
            seen = strlen(names[k]) == cl && strncmp(names[k], child, cl) == 0;
        if (seen)
            continue;
        memcpy(names[n], child, cl);
        names[n][cl] = '\0';
        n++;
    }
    xb_unlock(xb);
    return n;
}

enum xenbus_state xenbus_read_state(struct xenbus *xb, const char *dir)
{
    char path[XENBUS_PATH_MAX];
    uint64_t v = XenbusStateUnknown;
    snprintf(path, sizeof(path), "%s/state", dir);
    if (xenbus_read_u64(xb, path, &v) != 0 || v > XenbusStateReconfigured)
        return XenbusStateUnknown;
    return (enum xenbus_state)v;
}

int xenbus_switch_state(struct xenbus *xb, const char *dir,
                        enum xenbus_state s)
{
    char path[XENBUS_PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/state", dir) >= sizeof(path))
        return -XEN_ENAMETOOLONG;
    return xenbus_printf(xb, path, "%u", (unsigned)s);
}

const char *xenbus_state_name(enum xenbus_state s)
{
    static const char *const name[] = {
        [XenbusStateUnknown] = "Unknown",
        [XenbusStateInitialising] = "Initialising",
        [XenbusStateInitWait] = "InitWait",
        [XenbusStateInitialised] = "Initialised",
        [XenbusStateConnected] = "Connected",
        [XenbusStateClosing] = "Closing",
        [XenbusStateClosed] = "Closed",
        [XenbusStateReconfiguring] = "Reconfiguring",
        [XenbusStateReconfigured] = "Reconfigured",
    };
    return (unsigned)s < sizeof(name) / sizeof(name[0]) ? name[s] : "?";
}

uint64_t xenbus_version(struct xenbus *xb)
{
    return atomic_load(&xb->version);
}

uint64_t xenbus_wait(struct xenbus *xb, uint64_t seen)
{
    uint64_t v;
    while ((v = atomic_load(&xb->version)) == seen)
        hv_relax();
    return v;
}

void xenbus_vbd_paths(unsigned fe, unsigned be, unsigned devid,
                      char *fe_dir, char *be_dir, size_t len)
{
    snprintf(fe_dir, len, "/local/domain/%u/device/vbd/%u", fe, devid);
    snprintf(be_dir, len, "/local/domain/%u/backend/vbd/%u/%u", be, fe, devid);
}

int xenbus_add_vbd(struct xenbus *xb, unsigned fe, unsigned be,
                   unsigned devid, uint64_t sectors)
{
    char fd[XENBUS_PATH_MAX], bd[XENBUS_PATH_MAX], p[XENBUS_PATH_MAX + 32];
    int rc = 0;
    xenbus_vbd_paths(fe, be, devid, fd, bd, sizeof(fd));
#define W(dir, key, ...) do { \
        snprintf(p, sizeof(p), "%s/%s", dir, key); \
        if (rc == 0) rc = xenbus_printf(xb, p, __VA_ARGS__); \
    } while (0)
    W(fd, "backend", "%s", bd);
    W(fd, "backend-id", "%u", be);
    W(fd, "virtual-device", "%u", devid);
    W(bd, "frontend", "%s", fd);
    W(bd, "frontend-id", "%u", fe);
    W(bd, "params", "ramdisk:%llu", (unsigned long long)sectors);
    W(bd, "mode", "w");
#undef W
    if (rc == 0)
        rc = xenbus_switch_state(xb, fd, XenbusStateInitialising);
    if (rc == 0)
        rc = xenbus_switch_state(xb, bd, XenbusStateInitialising);
    return rc;
}

static int vbd_key(unsigned fe, unsigned be, unsigned devid, const char *key,
                   char *path, size_t len)
{
    char fd[XENBUS_PATH_MAX], bd[XENBUS_PATH_MAX];
    xenbus_vbd_paths(fe, be, devid, fd, bd, sizeof(fd));
    int n = snprintf(path, len, "%s/%s", bd, key);
    return n > 0 && (size_t)n < len ? 0 : -XEN_ENAMETOOLONG;
}

int xenbus_vbd_suspend(struct xenbus *xb, unsigned fe, unsigned be,
                       unsigned devid, bool suspend)
{
    char p[XENBUS_PATH_MAX + 32];
    int rc = vbd_key(fe, be, devid, "suspend", p, sizeof(p));
    return rc ? rc : xenbus_write(xb, p, suspend ? "1" : "0");
}

int xenbus_vbd_suspended(struct xenbus *xb, unsigned fe, unsigned be,
                         unsigned devid)
{
    char p[XENBUS_PATH_MAX + 32];
    uint64_t v;
    if (vbd_key(fe, be, devid, "suspended", p, sizeof(p)) != 0 ||
        xenbus_read_u64(xb, p, &v) != 0)
        return -1;
    return v ? 1 : 0;
}

int xenbus_set_vbd_disk(struct xenbus *xb, unsigned fe, unsigned devid,
                        struct ramdisk *rd)
{
    int rc = 0;
    xb_lock(xb);
    unsigned i = 0;
    while (i < xb->nr_disks &&
           (xb->disk[i].fe != fe || xb->disk[i].devid != devid))
        i++;
    if (i == xb->nr_disks && xb->nr_disks == XB_DISKS)
        rc = -XEN_ENOSPC;
    else if (i == xb->nr_disks)
        xb->disk[xb->nr_disks++] = (struct xb_disk){ fe, devid, rd };
    else
        xb->disk[i].rd = rd;
    xb_unlock(xb);
    if (rc == 0)
        atomic_fetch_add(&xb->version, 1);
    return rc;
}

struct ramdisk *xenbus_vbd_disk(struct xenbus *xb, unsigned fe,
                                unsigned devid)
{
    struct ramdisk *rd = NULL;
    xb_lock(xb);
    for (unsigned i = 0; i < xb->nr_disks && !rd; i++)
        if (xb->disk[i].fe == fe && xb->disk[i].devid == devid)
            rd = xb->disk[i].rd;
    xb_unlock(xb);
    return rd;
}
