/*
 * guest/xenbus.h - a small key-value store standing in for xenstored.
 *
 * The toolstack creates one per run and hands it to every kernel that
 * drives a split device (workload_params.xenbus).  Paths look like Xen's:
 *   /local/domain/<fe>/device/vbd/<id>/{backend, backend-id, state,
 *       ring-ref, event-channel, protocol, feature-persistent}
 *   /local/domain/<be>/backend/vbd/<fe>/<id>/{frontend, frontend-id, state,
 *       params, sectors, sector-size, feature-persistent,
 *       suspend, suspended}
 * and device states are enum xenbus_state of <xen/io/xenbus.h>.
 *
 * What is the same as xenstored: hierarchical string keys and values, a
 * directory listing, and watches (here: one version counter that every
 * write bumps; a kernel waits for it to move past what it has seen).
 * What is not: no transactions, no permissions, no ring or event channel
 * to a xenstored domain - kernels call these functions directly.  It only
 * carries the handshake, never data (that goes over the granted ring).
 *
 * Rules:
 *   X1  Every entry is (path, value), both NUL-terminated strings of at most
 *       XENBUS_PATH_MAX / XENBUS_VALUE_MAX bytes; a longer one is
 *       -XEN_ENAMETOOLONG / -XEN_E2BIG and nothing is stored.
 *   X2  Every change bumps the version (the watch) after it is visible;
 *       readers never see a half-written value (one lock guards the table).
 *   X3  Waiting is a spin on the version with hv_relax(), so a det-mode
 *       scheduler sees a spin and can switch vCPUs there.
 */
#ifndef HVLAB_GUEST_XENBUS_H
#define HVLAB_GUEST_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xenbus.h>

#define XENBUS_PATH_MAX     128
#define XENBUS_VALUE_MAX    64
#define XENBUS_MAX_ENTRIES  1024

struct xenbus;

struct xenbus *xenbus_new(void);
void xenbus_free(struct xenbus *xb);

/* X1: 0, -XEN_ENAMETOOLONG, -XEN_E2BIG, -XEN_ENOSPC (table full). */
int xenbus_write(struct xenbus *xb, const char *path, const char *value);
int xenbus_printf(struct xenbus *xb, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 0 with value copied, or -XEN_ENOENT. */
int xenbus_read(struct xenbus *xb, const char *path, char *value, size_t len);
/* 0 with *v parsed (decimal), -XEN_ENOENT, or -XEN_EINVAL (not a number). */
int xenbus_read_u64(struct xenbus *xb, const char *path, uint64_t *v);
/* The number at dir/key, or dflt when it is missing or not a number. */
uint64_t xenbus_get_u64(struct xenbus *xb, const char *dir, const char *key,
                        uint64_t dflt);
/* Write v (decimal) at dir/key; xenbus_write's codes. */
int xenbus_put_u64(struct xenbus *xb, const char *dir, const char *key,
                   uint64_t v);
int xenbus_rm(struct xenbus *xb, const char *path);
/* The names of dir's immediate children (dir without trailing '/'),
   deduplicated, into names[max][XENBUS_VALUE_MAX]; returns how many. */
unsigned xenbus_directory(struct xenbus *xb, const char *dir,
                          char names[][XENBUS_VALUE_MAX], unsigned max);

/* dir/state as an enum xenbus_state (XenbusStateUnknown when absent). */
enum xenbus_state xenbus_read_state(struct xenbus *xb, const char *dir);
int xenbus_switch_state(struct xenbus *xb, const char *dir,
                        enum xenbus_state s);
const char *xenbus_state_name(enum xenbus_state s);

/* X2, X3: the watch. */
uint64_t xenbus_version(struct xenbus *xb);
/* Spin (hv_relax) until the version differs from seen; returns it. */
uint64_t xenbus_wait(struct xenbus *xb, uint64_t seen);

/* The toolstack's half of adding a vbd (libxl's device add): both
   directories with their link keys, both states Initialising, and the
   backend's params ("ramdisk:<sectors>"). */
int xenbus_add_vbd(struct xenbus *xb, unsigned fe, unsigned be,
                   unsigned devid, uint64_t sectors);
/* Paths of a vbd: fe dir and be dir. */
void xenbus_vbd_paths(unsigned fe, unsigned be, unsigned devid,
                      char *fe_dir, char *be_dir, size_t len);

/* Suspend / resume of one vbd without disconnecting (docs/blk.md,
   "Suspend and resume").  Whoever suspends (the toolstack; blk-io's
   suspend-every=N for tests) writes <be dir>/suspend = 1 and waits for the
   backend's <be dir>/suspended = 1; resume writes suspend = 0 and the
   backend answers suspended = 0 once it serves the ring again. */
int xenbus_vbd_suspend(struct xenbus *xb, unsigned fe, unsigned be,
                       unsigned devid, bool suspend);
/* The backend's acknowledgement: 1, 0, or -1 when not written yet. */
int xenbus_vbd_suspended(struct xenbus *xb, unsigned fe, unsigned be,
                         unsigned devid);

/*
 * Shared storage: the disk of vbd (fe, devid), set by the toolstack when
 * more than one backend serves it in turn (the source's and the
 * destination's of a migration: set in both hosts' stores).  A backend
 * uses it instead of making its own disk from params, and does not free
 * it (the toolstack does, after the run).  0 or -XEN_ENOSPC.
 */
struct ramdisk;
int xenbus_set_vbd_disk(struct xenbus *xb, unsigned fe, unsigned devid,
                        struct ramdisk *rd);
struct ramdisk *xenbus_vbd_disk(struct xenbus *xb, unsigned fe,
                                unsigned devid);

#endif /* HVLAB_GUEST_XENBUS_H */
