/*
 * guest/blkback.c - the blkback workload: a driver domain's block backend
 * serving blk-io frontends from ramdisks.
 *
 * One process, one thread, a state machine per device (vbd):
 *
 *   WAIT_FE   the toolstack added the vbd (xenbus_add_vbd): the backend
 *             made its ramdisk from `params`, published sectors,
 *             sector-size, feature-persistent and state=InitWait; it waits
 *             for the frontend's Initialised, then maps the ring page
 *             (GNTMAP_host_map, writable) into its mapping area, binds the
 *             interdomain port and publishes Connected.
 *   CONNECTED serves requests: each is copied off the ring once and
 *             checked (operation, 1..11 segments, first_sect <= last_sect
 *             < 8, sectors inside the disk: else BLKIF_RSP_ERROR /
 *             EOPNOTSUPP); its segments are mapped in one batch (writable
 *             for a READ - the backend writes the frontend's page -,
 *             read-only for a WRITE), the data copied between the mapping
 *             (through the backend's own MMU: the write really happens
 *             through the grant mapping in its page tables) and the
 *             ramdisk, the segments unmapped in one batch, the response
 *             written and pushed, the frontend notified when the rule
 *             says so.
 *             Persistent grants (blkback.persistent=on and the frontend's
 *             feature-persistent=1): a segment's mapping is kept in a
 *             bounded cache keyed by gref (writable, as Linux's are) and
 *             reused; when the cache is full the segment is mapped for
 *             that request only.
 *   QUIESCE   the suspend request is the frontend's state going to
 *             Closing (or Closed).  blkback.quiesce=on (default): every
 *             request still on the ring is completed, every mapping of
 *             that frontend (persistent ones, then the ring) is unmapped
 *             and the port closed, and only then Closed is published.
 *             blkback.quiesce=off acknowledges (Closed) at once, without
 *             waiting or unmapping: story E's backend, whose writes through
 *             grant mappings go on after the frontend's owner believes it
 *             quiet; it finishes and unmaps only when the frontend is
 *             Closed.
 *   The thread ends when every vbd is closed on both sides.
 *
 * Rules:
 *   1. Nothing a frontend writes can crash the backend: the request is a
 *      private copy (blkif.c B4), every field is checked, a grant the
 *      hypervisor refuses to map is BLKIF_RSP_ERROR for that request; a
 *      ring the frontend overflowed is no longer served (logged).
 *   2. A slot of the mapping area is freed only after its unmap succeeded.
 *   3. Injection points: blkback.complete.before_write (mapped, before the
 *      data of a READ and the response are written), .after_write (data
 *      written, mappings still in place), blkback.quiesce.before (skip:
 *      acknowledge without quiescing), blkback.quiesce.after (Closed was
 *      published).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/event_channel.h>

#include "core/domain.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "inject/inject.h"

#define BB_MAX_DEVS     16
#define PCACHE_MAX      352             /* BLKIF_RING_SIZE * 11 */
#define MAX_SEGS        BLKIF_MAX_SEGMENTS_PER_REQUEST
#define SECTS_PER_PAGE  ((unsigned)(PAGE_SIZE / BLK_SECTOR_SIZE))
#define SERVE_BUDGET    8               /* requests per device per slice */

enum bd_phase { BD_WAIT_FE, BD_CONNECTED, BD_ACKED, BD_CLOSED, BD_FAILED };

struct pgrant {
    grant_ref_t ref;
    struct gnt_map map;
};

struct be_dev {
    enum bd_phase phase;
    unsigned fe, devid;
    char dir[XENBUS_PATH_MAX], fe_dir[XENBUS_PATH_MAX];
    struct ramdisk *rd;
    struct blkif_back ring;
    struct gnt_map ring_map;
    bool ring_mapped, broken;
    evtchn_port_t port;
    bool evtchn, persistent;
    struct pgrant *pc;              /* [PCACHE_MAX] */
    unsigned npc;
    uint64_t served, errors;
};

struct blkback {
    struct be_dev dev[BB_MAX_DEVS];
    unsigned n;
    uint8_t buf[PAGE_SIZE];
};

static void be_error(struct gcpu *c, struct be_dev *d, const char *what,
                     long rc)
{
    atomic_fetch_add(&c->g->st.hypercall_errors, 1);
    klog(c->g, "blkback: vbd %u/%u: %s failed (%ld)", d->fe, d->devid, what,
         rc);
}

static uint64_t xb_get(struct gcpu *c, const char *dir, const char *key,
                       uint64_t dflt)
{
    char p[XENBUS_PATH_MAX + 32];
    uint64_t v;
    snprintf(p, sizeof(p), "%s/%s", dir, key);
    return xenbus_read_u64(c->g->wl.xenbus, p, &v) == 0 ? v : dflt;
}

static int xb_put(struct gcpu *c, const char *dir, const char *key, uint64_t v)
{
    char p[XENBUS_PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/%s", dir, key);
    return xenbus_printf(c->g->wl.xenbus, p, "%llu", (unsigned long long)v);
}

/* Unmap n mappings; free the slots of those that went (rule 2). */
static void be_unmap(struct gcpu *c, struct be_dev *d, struct gnt_map *m,
                     unsigned n)
{
    if (n == 0)
        return;
    int rc = gnttab_unmap(c, m, n);
    for (unsigned i = 0; i < n; i++) {
        if (rc == 0 && m[i].status == GNTST_okay) {
            gnttab_slot_free(c, m[i].va);
        } else if (rc == 0) {
            d->errors++;
            be_error(c, d, "unmap_grant_ref", m[i].status);
        }
    }
}

/* ---- connect ---------------------------------------------------------------- */

static void be_add(struct gcpu *c, struct blkback *b, unsigned fe,
                   unsigned devid)
{
    struct guest_kernel *g = c->g;
    if (b->n == BB_MAX_DEVS) {
        klog(g, "blkback: more than %u vbds, %u/%u ignored", BB_MAX_DEVS, fe,
             devid);
        return;
    }
    struct be_dev *d = &b->dev[b->n++];
    char p[XENBUS_PATH_MAX + 32], params[XENBUS_VALUE_MAX];
    d->fe = fe;
    d->devid = devid;
    snprintf(d->dir, sizeof(d->dir), "/local/domain/%u/backend/vbd/%u/%u",
             g->domid, fe, devid);
    snprintf(p, sizeof(p), "%s/frontend", d->dir);
    unsigned long long sectors = 0;
    if (xenbus_read(g->wl.xenbus, p, d->fe_dir, sizeof(d->fe_dir)) != 0 ||
        (snprintf(p, sizeof(p), "%s/params", d->dir),
         xenbus_read(g->wl.xenbus, p, params, sizeof(params))) != 0 ||
        sscanf(params, "ramdisk:%llu", &sectors) != 1 ||
        !(d->rd = ramdisk_new(sectors)) ||
        !(d->pc = calloc(PCACHE_MAX, sizeof(*d->pc)))) {
        klog(g, "blkback: vbd %u/%u: bad frontend/params, or no memory for "
             "its ramdisk", fe, devid);
        d->phase = BD_FAILED;
        xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
        return;
    }
    int rc = xb_put(c, d->dir, "sectors", sectors);
    if (rc == 0)
        rc = xb_put(c, d->dir, "sector-size", BLK_SECTOR_SIZE);
    if (rc == 0)
        rc = xb_put(c, d->dir, "feature-persistent",
                    g->opt.blkback_persistent ? 1 : 0);
    if (rc == 0)
        rc = xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateInitWait);
    if (rc)
        klog(g, "blkback: vbd %u/%u: xenbus write failed (%d)", fe, devid, rc);
}

/* WAIT_FE: connect once the frontend is Initialised. */
static void be_connect(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    enum xenbus_state s = xenbus_read_state(g->wl.xenbus, d->fe_dir);
    if (s == XenbusStateClosing || s == XenbusStateClosed) {
        d->phase = BD_CLOSED;
        xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
        return;
    }
    if (s != XenbusStateInitialised && s != XenbusStateConnected)
        return;
    uint64_t ref = xb_get(c, d->fe_dir, "ring-ref", ~0ULL);
    uint64_t port = xb_get(c, d->fe_dir, "event-channel", ~0ULL);
    d->persistent = g->opt.blkback_persistent &&
                    xb_get(c, d->fe_dir, "feature-persistent", 0) == 1;
    d->ring_map.va = gnttab_slot_alloc(c);
    if (ref > UINT32_MAX || !d->ring_map.va) {
        klog(g, "blkback: vbd %u/%u: no ring-ref, or no mapping slot",
             d->fe, d->devid);
        goto fail;
    }
    d->ring_map.ref = (grant_ref_t)ref;
    d->ring_map.dom = (domid_t)d->fe;
    d->ring_map.readonly = false;
    int rc = gnttab_map(c, &d->ring_map, 1);
    if (rc || d->ring_map.status != GNTST_okay) {
        be_error(c, d, "mapping the ring", rc ? rc : d->ring_map.status);
        gnttab_slot_free(c, d->ring_map.va);
        goto fail;
    }
    d->ring_mapped = true;
    struct blkif_mem m;
    blkif_mem_kernel(&m, c, d->ring_map.va);
    blkif_back_init(&d->ring, &m);
    if (port <= UINT32_MAX && g->evtchn) {
        long erc = gevtchn_bind_interdomain(c, (domid_t)d->fe,
                                            (evtchn_port_t)port, &d->port);
        if (erc) {
            be_error(c, d, "binding the event channel", erc);
            gnttab_unmap(c, &d->ring_map, 1);
            if (d->ring_map.status == GNTST_okay)
                gnttab_slot_free(c, d->ring_map.va);
            d->ring_mapped = false;
            goto fail;
        }
        d->evtchn = true;
        evtchn_bind_handler(g, d->port, NULL, NULL);  /* polled: consumed */
    }
    xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateConnected);
    d->phase = BD_CONNECTED;
    return;
fail:
    d->phase = BD_FAILED;
    xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
}

/* ---- requests ------------------------------------------------------------------ */

static struct pgrant *pc_find(struct be_dev *d, grant_ref_t ref)
{
    for (unsigned i = 0; i < d->npc; i++)
        if (d->pc[i].ref == ref)
            return &d->pc[i];
    return NULL;
}

static int16_t check_req(const struct be_dev *d, const struct blkif_request *r)
{
    if (r->operation != BLKIF_OP_READ && r->operation != BLKIF_OP_WRITE)
        return BLKIF_RSP_EOPNOTSUPP;
    if (r->nr_segments == 0 || r->nr_segments > MAX_SEGS)
        return BLKIF_RSP_ERROR;
    uint64_t n = 0;
    for (unsigned i = 0; i < r->nr_segments; i++) {
        if (r->seg[i].first_sect > r->seg[i].last_sect ||
            r->seg[i].last_sect >= SECTS_PER_PAGE)
            return BLKIF_RSP_ERROR;
        n += r->seg[i].last_sect - r->seg[i].first_sect + 1u;
    }
    uint64_t size = ramdisk_sectors(d->rd);
    if (r->sector_number >= size || n > size - r->sector_number)
        return BLKIF_RSP_ERROR;
    return BLKIF_RSP_OKAY;
}

/* Map, copy, unmap one checked request; its response status. */
static int16_t be_do(struct gcpu *c, struct be_dev *d,
                     const struct blkif_request *r)
{
    struct guest_kernel *g = c->g;
    struct blkback *b = g->blkback;
    bool rd = r->operation == BLKIF_OP_READ;
    uint64_t va[MAX_SEGS];
    struct gnt_map tmp[MAX_SEGS];
    bool keep[MAX_SEGS];
    unsigned ntmp = 0, nnew = 0;
    int16_t status = BLKIF_RSP_OKAY;

    /* Which segments need a mapping now. */
    for (unsigned i = 0; i < r->nr_segments; i++) {
        struct pgrant *pg = d->persistent ? pc_find(d, r->seg[i].gref) : NULL;
        if (pg) {
            va[i] = pg->map.va;
            continue;
        }
        uint64_t slot = gnttab_slot_alloc(c);
        if (!slot) {
            status = BLKIF_RSP_ERROR;
            klog(g, "blkback: vbd %u/%u: mapping area full", d->fe, d->devid);
            break;
        }
        keep[ntmp] = d->persistent && d->npc + nnew < PCACHE_MAX;
        nnew += keep[ntmp];
        tmp[ntmp] = (struct gnt_map){
            .ref = r->seg[i].gref, .dom = (domid_t)d->fe, .va = slot,
            .readonly = !keep[ntmp] && !rd,
        };
        ntmp++;
        va[i] = slot;
    }
    int rc = status == BLKIF_RSP_OKAY && ntmp ? gnttab_map(c, tmp, ntmp) : 0;
    /* Failed mappings give their slot back at once. */
    struct gnt_map unmap_now[MAX_SEGS];
    unsigned nun = 0;
    for (unsigned k = 0; k < ntmp; k++) {
        bool ok = status == BLKIF_RSP_OKAY && rc == 0 &&
                  tmp[k].status == GNTST_okay;
        if (!ok) {
            if (rc == 0 && status == BLKIF_RSP_OKAY) {
                d->errors++;
                klog(g, "blkback: vbd %u/%u: map of gref %u failed: status %d",
                     d->fe, d->devid, tmp[k].ref, tmp[k].status);
            }
            gnttab_slot_free(c, tmp[k].va);
            tmp[k].status = GNTST_general_error;
            status = BLKIF_RSP_ERROR;
        }
    }
    if (rc)
        status = BLKIF_RSP_ERROR;

    if (status == BLKIF_RSP_OKAY) {
        INJ_POINT(blkback_complete_before_write, c->v);  /* inject: window */
        uint64_t sector = r->sector_number;
        for (unsigned i = 0; i < r->nr_segments && status == BLKIF_RSP_OKAY;
             i++) {
            unsigned first = r->seg[i].first_sect;
            unsigned n = r->seg[i].last_sect - first + 1u;
            uint64_t at = va[i] + first * BLK_SECTOR_SIZE;
            size_t len = (size_t)n * BLK_SECTOR_SIZE;
            if (rd) {
                if (ramdisk_read(d->rd, sector, n, b->buf) != 0 ||
                    mmu_write(c->v, at, b->buf, len) != MMU_OK)
                    status = BLKIF_RSP_ERROR;
            } else {
                if (mmu_read(c->v, at, b->buf, len) != MMU_OK ||
                    ramdisk_write(d->rd, sector, n, b->buf) != 0)
                    status = BLKIF_RSP_ERROR;
            }
            sector += n;
        }
        if (status != BLKIF_RSP_OKAY) {
            d->errors++;
            klog(g, "blkback: vbd %u/%u: a copy through the grant mapping "
                 "was refused", d->fe, d->devid);
        }
        INJ_POINT(blkback_complete_after_write, c->v);   /* inject: window */
    }
    /* Keep the persistent ones (cached by gref), unmap the rest. */
    for (unsigned k = 0; k < ntmp; k++) {
        if (rc || tmp[k].status != GNTST_okay)
            continue;
        if (keep[k] && d->npc < PCACHE_MAX) {
            d->pc[d->npc].ref = tmp[k].ref;
            d->pc[d->npc].map = tmp[k];
            d->npc++;
        } else {
            unmap_now[nun++] = tmp[k];
        }
    }
    be_unmap(c, d, unmap_now, nun);
    return status;
}

/* Serve up to budget requests (all when budget is 0); true when any. */
static bool be_serve(struct gcpu *c, struct be_dev *d, unsigned budget)
{
    if (d->broken || !d->ring_mapped)
        return false;
    bool any = false, more = true;
    unsigned done = 0;
    d->ring.m.ctx = c;
    while (more && (budget == 0 || done < budget)) {
        struct blkif_request req;
        int rc;
        while ((budget == 0 || done < budget) &&
               (rc = blkif_back_get(&d->ring, &req)) == 1) {
            struct blkif_response rsp;
            memset(&rsp, 0, sizeof(rsp));
            rsp.id = req.id;
            rsp.operation = req.operation;
            rsp.status = check_req(d, &req);
            if (rsp.status == BLKIF_RSP_OKAY)
                rsp.status = be_do(c, d, &req);
            else
                klog(c->g, "blkback: vbd %u/%u: bad request id %llu op %u "
                     "(%u segments, sector %llu): status %d", d->fe, d->devid,
                     (unsigned long long)req.id, req.operation,
                     req.nr_segments, (unsigned long long)req.sector_number,
                     rsp.status);
            d->ring.m.ctx = c;
            if (blkif_back_put(&d->ring, &rsp) != 0) {
                be_error(c, d, "writing a response", -XEN_EFAULT);
                d->broken = true;
                return any;
            }
            d->served++;
            done++;
            any = true;
        }
        if (budget && done >= budget)
            break;
        if (rc == -XEN_EOVERFLOW) {
            klog(c->g, "blkback: vbd %u/%u: the frontend overflowed the ring",
                 d->fe, d->devid);
            d->broken = true;
            break;
        }
        if (rc < 0 || blkif_back_final_check(&d->ring, &more) != 0) {
            be_error(c, d, "reading the ring", rc);
            d->broken = true;
            break;
        }
    }
    if (any) {
        bool ntf = false;
        if (blkif_back_push(&d->ring, &ntf) != 0) {
            be_error(c, d, "pushing responses", -XEN_EFAULT);
            d->broken = true;
        } else if (ntf && d->evtchn) {
            gevtchn_send(c, d->port);
        }
    }
    return any;
}

/* ---- quiesce and disconnect ------------------------------------------------------ */

static void be_unmap_all(struct gcpu *c, struct be_dev *d)
{
    struct gnt_map m[PCACHE_MAX];
    for (unsigned i = 0; i < d->npc; i++)
        m[i] = d->pc[i].map;
    be_unmap(c, d, m, d->npc);
    d->npc = 0;
    if (d->ring_mapped) {
        be_unmap(c, d, &d->ring_map, 1);
        d->ring_mapped = false;
    }
    if (d->evtchn) {
        gevtchn_close(c, d->port);
        d->evtchn = false;
    }
}

static void be_quiesce(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    bool skip = INJ_POINT(blkback_quiesce_before, c->v); /* inject: skippable */
    if (g->opt.blkback_quiesce && !skip) {
        be_serve(c, d, 0);          /* complete every request on the ring */
        be_unmap_all(c, d);
        d->phase = BD_CLOSED;
    } else {
        d->phase = BD_ACKED;        /* story E: still mapped, still serving */
    }
    xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
    INJ_POINT(blkback_quiesce_after, c->v);             /* inject: window */
}

enum thread_result blkback_slice(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct blkback *b = g->blkback;
    bool progress = false, all_closed = true;
    (void)t;

    for (unsigned i = 0; i < b->n; i++) {
        struct be_dev *d = &b->dev[i];
        enum xenbus_state fs = xenbus_read_state(g->wl.xenbus, d->fe_dir);
        switch (d->phase) {
        case BD_WAIT_FE:
            be_connect(c, d);
            progress |= d->phase != BD_WAIT_FE;
            break;
        case BD_CONNECTED:
            if (fs == XenbusStateClosing || fs == XenbusStateClosed) {
                be_quiesce(c, d);
                progress = true;
            } else {
                progress |= be_serve(c, d, SERVE_BUDGET);
            }
            break;
        case BD_ACKED:
            progress |= be_serve(c, d, SERVE_BUDGET);
            if (fs == XenbusStateClosed) {
                be_serve(c, d, 0);
                be_unmap_all(c, d);
                d->phase = BD_CLOSED;
                progress = true;
            }
            break;
        case BD_CLOSED:
        case BD_FAILED:
            break;
        }
        if ((d->phase != BD_CLOSED && d->phase != BD_FAILED) ||
            (fs != XenbusStateClosed && d->phase != BD_FAILED))
            all_closed = false;
    }
    if (all_closed) {
        for (unsigned i = 0; i < b->n; i++)
            klog(g, "blkback: vbd %u/%u served %llu requests (%llu errors, "
                 "persistent grants %s)", b->dev[i].fe, b->dev[i].devid,
                 (unsigned long long)b->dev[i].served,
                 (unsigned long long)b->dev[i].errors,
                 b->dev[i].persistent ? "on" : "off");
        return T_EXITED;
    }
    if (!progress)
        hv_relax();
    return T_RUNNABLE;
}

void blkback_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    struct blkback *b = calloc(1, sizeof(*b));
    if (!b || !g->wl.xenbus || gnttab_prepare(c) != 0) {
        klog(g, "blkback: no state, no xenbus or no grant mapping area");
        free(b);
        goto none;
    }
    g->blkback = b;
    char base[XENBUS_PATH_MAX];
    char fes[BB_MAX_DEVS][XENBUS_VALUE_MAX], devs[BB_MAX_DEVS][XENBUS_VALUE_MAX];
    snprintf(base, sizeof(base), "/local/domain/%u/backend/vbd", g->domid);
    unsigned nf = xenbus_directory(g->wl.xenbus, base, fes, BB_MAX_DEVS);
    for (unsigned i = 0; i < nf; i++) {
        char dir[XENBUS_PATH_MAX + XENBUS_VALUE_MAX + 8];
        snprintf(dir, sizeof(dir), "%s/%.63s", base, fes[i]);
        unsigned nd = xenbus_directory(g->wl.xenbus, dir, devs, BB_MAX_DEVS);
        for (unsigned k = 0; k < nd; k++)
            be_add(c, b, (unsigned)strtoul(fes[i], NULL, 10),
                   (unsigned)strtoul(devs[k], NULL, 10));
    }
    struct proc *p = proc_spawn(c, NULL, 1);
    if (!p) {
        klog(g, "blkback: the backend process could not be created");
        goto none;
    }
    proc_start(g, p);
    return;
none:
    atomic_fetch_add(&g->st.hypercall_errors, 1);
    atomic_store(&g->done, true);
}

void blkback_free(struct guest_kernel *g)
{
    struct blkback *b = g->blkback;
    if (!b)
        return;
    for (unsigned i = 0; i < b->n; i++) {
        ramdisk_free(b->dev[i].rd);
        free(b->dev[i].pc);
    }
    free(b);
    g->blkback = NULL;
}
