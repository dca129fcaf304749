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
 *   CONNECTED serves requests in two steps, like a backend whose disk
 *             I/O takes time: a slice first completes the requests earlier
 *             slices took, then takes up to 8 new ones.  Taking: the
 *             request is copied off the ring once and checked (operation,
 *             1..11 segments, first_sect <= last_sect < 8, sectors inside
 *             the disk: else BLKIF_RSP_ERROR / EOPNOTSUPP); its segments
 *             are mapped in one batch (writable for a READ - the backend
 *             writes the frontend's page -, read-only for a WRITE).
 *             Completing: the data is copied between the mapping (through
 *             the backend's own MMU: the write really happens through the
 *             grant mapping in its page tables) and the ramdisk, the
 *             segments unmapped in one batch, the response written; the
 *             batch is pushed and the frontend notified when the rule says
 *             so.  So requests are in flight inside the backend, mapped,
 *             between slices - what a suspend meets.
 *             Persistent grants (blkback.persistent=on and the frontend's
 *             feature-persistent=1): a segment's mapping is kept in a
 *             bounded cache keyed by gref (writable, as Linux's are) and
 *             reused; when the cache is full the segment is mapped for
 *             that request only.
 *   SUSPENDED / SUSP_ACKED  <be dir>/suspend = 1 (the toolstack, or blk-io's
 *             suspend-every=N) asks for a suspend without disconnecting.
 *             blkback.quiesce=on: no new request is taken; every request
 *             already taken is completed (not cancelled: its data is in
 *             hand and the frontend would otherwise have to resubmit) and
 *             answered; every grant mapping of that frontend (requests',
 *             persistent ones, the ring) is unmapped; the port stays
 *             bound; then suspended = 1 (SUSPENDED).  On suspend = 0 the
 *             ring is mapped again with the indices where they were - the
 *             requests not taken are still on it -, suspended = 0,
 *             CONNECTED.  blkback.quiesce=off: suspended = 1 at once, with
 *             the taken requests still mapped and in flight, and they are
 *             completed later (SUSP_ACKED: story E's backend).
 *   QUIESCE   the disconnect request is the frontend's state going to
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
 *      written, mappings still in place), blkback.quiesce.before (a
 *      suspend or Closing seen, nothing quiesced yet; skip: acknowledge
 *      without quiescing), blkback.quiesce.after (suspended=1 or Closed
 *      was published).
 *   4. A taken request holds its mappings until it completes; at most a
 *      ring's worth (32) are taken; each is answered exactly once.
 *   5. Responses go on the ring in the order the requests were taken, and
 *      are pushed (and notified) once per batch.
 *   6. With quiesce, the acknowledgement (suspended=1, Closed) is written
 *      only after every taken request was answered and every grant of that
 *      frontend unmapped: the frontend then finds none of its entries
 *      GTF_reading / GTF_writing.
 *   7. Shared storage: when the toolstack set the vbd's disk in the store
 *      (xenbus_set_vbd_disk: a migration's source and destination serve
 *      one disk in turn), the backend uses it, takes its size from it, and
 *      never frees it; otherwise it makes its own from params.
 *   8. A frontend whose state is Closed (not Closing) is gone - the
 *      source's toolstack writes that after a migration
 *      (mig_close_source_vbds), whatever the vbd's state: connected,
 *      suspended (quiesced or not), or acknowledged without quiescing.
 *      Like Xen's blkback on disconnect, the backend takes nothing more
 *      off the ring, completes what it had taken (the writes go through
 *      the grant mappings it still holds: with blkback.quiesce=off they
 *      are story E's writes, never marked dirty here), unmaps every
 *      grant, closes the port and writes Closed.  The thread ends when
 *      no vbd is connected and every one was closed.
 *   9. Serving watches the store: between two completions of a slice, a
 *      change of the store's version (a suspend request, a Closing) ends
 *      the slice, so the backend looks at it with requests still taken -
 *      as Linux's blkback, whose xenbus watch runs beside its I/O thread,
 *      meets a suspend with I/O in flight.
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

enum bd_phase { BD_WAIT_FE, BD_CONNECTED, BD_SUSPENDED, BD_SUSP_ACKED,
                BD_ACKED, BD_CLOSED, BD_FAILED };

struct pgrant {
    grant_ref_t ref;
    struct gnt_map map;
};

/* A request taken off the ring and not yet answered (rule 4). */
struct be_req {
    struct blkif_request req;       /* the private copy (blkif.c B4) */
    int16_t status;                 /* BLKIF_RSP_* so far */
    uint64_t va[MAX_SEGS];          /* where each segment is mapped */
    struct gnt_map tmp[MAX_SEGS];   /* mappings for this request only */
    unsigned ntmp;
};

struct be_dev {
    enum bd_phase phase;
    unsigned fe, devid;
    char dir[XENBUS_PATH_MAX], fe_dir[XENBUS_PATH_MAX];
    struct ramdisk *rd;
    bool shared_disk;               /* rd is the toolstack's (rule 7) */
    struct blkif_back ring;
    struct gnt_map ring_map;
    bool ring_mapped, broken;
    evtchn_port_t port;
    bool evtchn, persistent;
    struct pgrant *pc;              /* [PCACHE_MAX] */
    unsigned npc;
    struct be_req pend[BLKIF_RING_SIZE];    /* taken, not answered */
    unsigned npend;
    uint64_t served, errors, suspends;
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
    /* Rule 7: the shared disk when the toolstack set one. */
    d->rd = xenbus_vbd_disk(g->wl.xenbus, fe, devid);
    d->shared_disk = d->rd != NULL;
    if (d->rd)
        sectors = ramdisk_sectors(d->rd);
    if (xenbus_read(g->wl.xenbus, p, d->fe_dir, sizeof(d->fe_dir)) != 0 ||
        (!d->rd &&
         ((snprintf(p, sizeof(p), "%s/params", d->dir),
           xenbus_read(g->wl.xenbus, p, params, sizeof(params))) != 0 ||
          sscanf(params, "ramdisk:%llu", &sectors) != 1 ||
          !(d->rd = ramdisk_new(sectors)))) ||
        !(d->pc = calloc(PCACHE_MAX, sizeof(*d->pc)))) {
        klog(g, "blkback: vbd %u/%u: bad frontend/params, or no memory for "
             "its ramdisk", fe, devid);
        d->phase = BD_FAILED;
        xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
        return;
    }
    int rc = xenbus_put_u64(c->g->wl.xenbus, d->dir, "sectors", sectors);
    if (rc == 0)
        rc = xenbus_put_u64(c->g->wl.xenbus, d->dir, "sector-size", BLK_SECTOR_SIZE);
    if (rc == 0)
        rc = xenbus_put_u64(c->g->wl.xenbus, d->dir, "feature-persistent",
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
    uint64_t ref = xenbus_get_u64(c->g->wl.xenbus, d->fe_dir, "ring-ref", ~0ULL);
    uint64_t port = xenbus_get_u64(c->g->wl.xenbus, d->fe_dir, "event-channel", ~0ULL);
    d->persistent = g->opt.blkback_persistent &&
                    xenbus_get_u64(c->g->wl.xenbus, d->fe_dir, "feature-persistent", 0) == 1;
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

/* Take one checked request: map the segments it needs now (rule 4); its
   data moves when it completes, in a later slice. */
static void be_take(struct gcpu *c, struct be_dev *d, struct be_req *p)
{
    struct guest_kernel *g = c->g;
    const struct blkif_request *r = &p->req;
    bool rd = r->operation == BLKIF_OP_READ;
    struct gnt_map m[MAX_SEGS];
    bool keep[MAX_SEGS];
    unsigned seg_of[MAX_SEGS], nm = 0, nnew = 0;

    p->ntmp = 0;
    p->status = check_req(d, r);
    if (p->status != BLKIF_RSP_OKAY) {
        klog(g, "blkback: vbd %u/%u: bad request id %llu op %u (%u segments, "
             "sector %llu): status %d", d->fe, d->devid,
             (unsigned long long)r->id, r->operation, r->nr_segments,
             (unsigned long long)r->sector_number, p->status);
        return;
    }
    /* Which segments need a mapping now. */
    for (unsigned i = 0; i < r->nr_segments; i++) {
        struct pgrant *pg = d->persistent ? pc_find(d, r->seg[i].gref) : NULL;
        if (pg) {
            p->va[i] = pg->map.va;
            continue;
        }
        uint64_t slot = gnttab_slot_alloc(c);
        if (!slot) {
            p->status = BLKIF_RSP_ERROR;
            klog(g, "blkback: vbd %u/%u: mapping area full", d->fe, d->devid);
            break;
        }
        keep[nm] = d->persistent && d->npc + nnew < PCACHE_MAX;
        nnew += keep[nm];
        m[nm] = (struct gnt_map){
            .ref = r->seg[i].gref, .dom = (domid_t)d->fe, .va = slot,
            .readonly = !keep[nm] && !rd,
        };
        seg_of[nm++] = i;
        p->va[i] = slot;
    }
    int rc = p->status == BLKIF_RSP_OKAY && nm ? gnttab_map(c, m, nm) : 0;
    /* Failed mappings give their slot back at once; good ones are cached
       (persistent) or kept with the request until it completes. */
    for (unsigned k = 0; k < nm; k++) {
        bool ok = p->status == BLKIF_RSP_OKAY && rc == 0 &&
                  m[k].status == GNTST_okay;
        if (!ok && rc == 0 && m[k].status != GNTST_okay &&
            p->status == BLKIF_RSP_OKAY) {
            d->errors++;
            klog(g, "blkback: vbd %u/%u: map of gref %u (segment %u) failed: "
                 "status %d", d->fe, d->devid, m[k].ref, seg_of[k],
                 m[k].status);
        }
        if (rc || m[k].status != GNTST_okay) {
            gnttab_slot_free(c, m[k].va);
            continue;
        }
        if (keep[k] && d->npc < PCACHE_MAX) {
            d->pc[d->npc].ref = m[k].ref;
            d->pc[d->npc].map = m[k];
            d->npc++;
        } else {
            p->tmp[p->ntmp++] = m[k];
        }
    }
    for (unsigned k = 0; k < nm; k++)
        if (rc || m[k].status != GNTST_okay)
            p->status = BLKIF_RSP_ERROR;
}

/* Complete one taken request: copy, unmap its own mappings, respond.
   0, or -1 when the response could not be written (the ring is broken). */
static int be_finish(struct gcpu *c, struct be_dev *d, struct be_req *p)
{
    struct blkback *b = c->g->blkback;
    const struct blkif_request *r = &p->req;
    bool rd = r->operation == BLKIF_OP_READ;

    if (p->status == BLKIF_RSP_OKAY) {
        INJ_POINT(blkback_complete_before_write, c->v);  /* inject: window */
        if (d->phase == BD_SUSP_ACKED)      /* inject: story E's late writer */
            INJ_POINT(blkback_complete_after_suspend, c->v);
        uint64_t sector = r->sector_number;
        for (unsigned i = 0; i < r->nr_segments && p->status == BLKIF_RSP_OKAY;
             i++) {
            unsigned first = r->seg[i].first_sect;
            unsigned n = r->seg[i].last_sect - first + 1u;
            uint64_t at = p->va[i] + first * BLK_SECTOR_SIZE;
            size_t len = (size_t)n * BLK_SECTOR_SIZE;
            if (rd) {
                if (ramdisk_read(d->rd, sector, n, b->buf) != 0 ||
                    mmu_write(c->v, at, b->buf, len) != MMU_OK)
                    p->status = BLKIF_RSP_ERROR;
            } else {
                if (mmu_read(c->v, at, b->buf, len) != MMU_OK ||
                    ramdisk_write(d->rd, sector, n, b->buf) != 0)
                    p->status = BLKIF_RSP_ERROR;
            }
            sector += n;
        }
        if (p->status != BLKIF_RSP_OKAY) {
            d->errors++;
            klog(c->g, "blkback: vbd %u/%u: a copy through the grant mapping "
                 "was refused", d->fe, d->devid);
        }
        INJ_POINT(blkback_complete_after_write, c->v);   /* inject: window */
    }
    be_unmap(c, d, p->tmp, p->ntmp);
    p->ntmp = 0;
    struct blkif_response rsp;
    memset(&rsp, 0, sizeof(rsp));
    rsp.id = r->id;
    rsp.operation = r->operation;
    rsp.status = p->status;
    d->ring.m.ctx = c;
    if (blkif_back_put(&d->ring, &rsp) != 0) {
        be_error(c, d, "writing a response", -XEN_EFAULT);
        d->broken = true;
        return -1;
    }
    d->served++;
    return 0;
}

/* Rule 5: complete every request taken so far, push their responses and
   notify; true when there were any. */
static bool be_complete_some(struct gcpu *c, struct be_dev *d,
                             bool watchful)
{
    if (d->npend == 0 || d->broken || !d->ring_mapped)
        return false;
    uint64_t seen = xenbus_version(c->g->wl.xenbus);
    unsigned i = 0;
    int rc = 0;
    while (i < d->npend && (rc = be_finish(c, d, &d->pend[i])) == 0) {
        i++;
        /* Rule 9: a store change is looked at between two completions. */
        if (watchful && xenbus_version(c->g->wl.xenbus) != seen)
            break;
    }
    if (rc != 0) {                  /* broken: release what is left */
        for (unsigned k = i; k < d->npend; k++)
            be_unmap(c, d, d->pend[k].tmp, d->pend[k].ntmp);
        d->npend = 0;
        return true;
    }
    memmove(d->pend, d->pend + i, (d->npend - i) * sizeof(d->pend[0]));
    d->npend -= i;
    bool ntf = false;
    if (blkif_back_push(&d->ring, &ntf) != 0) {
        be_error(c, d, "pushing responses", -XEN_EFAULT);
        d->broken = true;
    } else if (ntf && d->evtchn) {
        gevtchn_send(c, d->port);
    }
    return true;
}

/* Take up to budget new requests off the ring (all there are when budget
   is 0, bounded by the ring's size); true when any. */
static bool be_take_some(struct gcpu *c, struct be_dev *d, unsigned budget)
{
    if (d->broken || !d->ring_mapped)
        return false;
    bool any = false, more = true;
    unsigned done = 0;
    d->ring.m.ctx = c;
    while (more && (budget == 0 || done < budget) &&
           d->npend < BLKIF_RING_SIZE) {
        int rc;
        while ((budget == 0 || done < budget) && d->npend < BLKIF_RING_SIZE &&
               (rc = blkif_back_get(&d->ring, &d->pend[d->npend].req)) == 1) {
            be_take(c, d, &d->pend[d->npend++]);
            d->ring.m.ctx = c;
            done++;
            any = true;
        }
        if ((budget && done >= budget) || d->npend == BLKIF_RING_SIZE)
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
    return any;
}

/* Complete every request taken (rule 5's order). */
static bool be_complete(struct gcpu *c, struct be_dev *d)
{
    return be_complete_some(c, d, false);
}

/* One slice of service: complete what earlier slices took (stopping early
   when the store changed, rule 9), take more. */
static bool be_serve(struct gcpu *c, struct be_dev *d, unsigned budget)
{
    bool any = be_complete_some(c, d, true);
    if (d->npend)                   /* interrupted: the store first */
        return true;
    return be_take_some(c, d, budget) || any;
}

/* Everything on the ring, taken and completed (the close path). */
static void be_drain(struct gcpu *c, struct be_dev *d)
{
    be_complete(c, d);
    while (be_take_some(c, d, 0))
        be_complete(c, d);
}

/* ---- quiesce, suspend / resume, disconnect ---------------------------------------- */

/* Rule 6: every grant mapping of this frontend: requests still taken
   (unanswered: only a broken ring gets here with some), persistent ones,
   then the ring. */
static void be_unmap_grants(struct gcpu *c, struct be_dev *d)
{
    for (unsigned k = 0; k < d->npend; k++)
        be_unmap(c, d, d->pend[k].tmp, d->pend[k].ntmp);
    d->npend = 0;
    struct gnt_map m[PCACHE_MAX];
    for (unsigned i = 0; i < d->npc; i++)
        m[i] = d->pc[i].map;
    be_unmap(c, d, m, d->npc);
    d->npc = 0;
    if (d->ring_mapped) {
        be_unmap(c, d, &d->ring_map, 1);
        d->ring_mapped = false;
    }
}

static void be_unmap_all(struct gcpu *c, struct be_dev *d)
{
    be_unmap_grants(c, d);
    if (d->evtchn) {
        gevtchn_close(c, d->port);
        d->evtchn = false;
    }
}

/* Rule 8: the frontend is gone (its state Closed without a Closing
   handshake: the source's toolstack after a migration, or a frontend that
   ended).  Nothing more is taken off the ring (a request still on it
   belongs to whoever reconnects: a migrated frontend reissues it
   elsewhere); every request already taken is completed, every grant
   unmapped, the port closed, then Closed. */
static void be_gone(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    unsigned taken = d->npend;
    be_complete(c, d);
    be_unmap_all(c, d);
    if (d->phase != BD_ACKED || taken)
        klog(g, "blkback: vbd %u/%u: the frontend is gone (%s): %u taken "
             "requests completed, every grant unmapped", d->fe, d->devid,
             d->phase == BD_SUSPENDED ? "suspended, quiesced"
             : d->phase == BD_SUSP_ACKED ? "suspended, not quiesced"
             : d->phase == BD_ACKED ? "closed, not quiesced" : "connected",
             taken);
    d->phase = BD_CLOSED;
    xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
}

/* The frontend went Closing: quiesce (or not), then Closed. */
static void be_quiesce(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    bool skip = INJ_POINT(blkback_quiesce_before, c->v); /* inject: skippable */
    if (g->opt.blkback_quiesce && !skip) {
        be_drain(c, d);             /* complete every request on the ring */
        be_unmap_all(c, d);
        d->phase = BD_CLOSED;
    } else {
        d->phase = BD_ACKED;        /* story E: still mapped, still serving */
    }
    xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
    INJ_POINT(blkback_quiesce_after, c->v);             /* inject: window */
}

/* Rule 6: suspend=1.  Quiesce: no new request is taken; every taken one
   is completed and answered; every grant mapping goes (the port stays
   bound); then suspended=1.  blkback.quiesce=off: suspended=1 at once. */
static void be_suspend(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    bool skip = INJ_POINT(blkback_quiesce_before, c->v); /* inject: skippable */
    unsigned taken = d->npend;
    if (g->opt.blkback_quiesce && !skip) {
        be_complete(c, d);
        be_unmap_grants(c, d);
        d->phase = BD_SUSPENDED;
    } else {
        d->phase = BD_SUSP_ACKED;   /* story E: mapped, in flight, serving */
    }
    d->suspends++;
    atomic_fetch_add(&g->st.blk_suspends, 1);
    atomic_fetch_add(&g->st.blk_suspend_inflight, taken);
    if (xenbus_put_u64(c->g->wl.xenbus, d->dir, "suspended", 1) != 0)
        be_error(c, d, "writing suspended", -XEN_ENOSPC);
    klog(g, "blkback: vbd %u/%u: suspend %llu acknowledged (%u requests "
         "taken, %s)", d->fe, d->devid, (unsigned long long)d->suspends,
         taken, d->phase == BD_SUSPENDED ? "completed and unmapped"
                                         : "still mapped");
    INJ_POINT(blkback_quiesce_after, c->v);             /* inject: window */
}

/* suspend=0: map the ring again (the indices are where they were: the
   requests not taken are still on it), suspended=0. */
static void be_resume(struct gcpu *c, struct be_dev *d)
{
    struct guest_kernel *g = c->g;
    if (d->phase == BD_SUSPENDED) {
        d->ring_map.va = gnttab_slot_alloc(c);
        int rc = d->ring_map.va ? gnttab_map(c, &d->ring_map, 1) : -XEN_ENOMEM;
        if (rc || d->ring_map.status != GNTST_okay) {
            be_error(c, d, "mapping the ring again",
                     rc ? rc : d->ring_map.status);
            if (d->ring_map.va)
                gnttab_slot_free(c, d->ring_map.va);
            be_unmap_all(c, d);
            d->phase = BD_FAILED;
            xenbus_switch_state(g->wl.xenbus, d->dir, XenbusStateClosed);
            return;
        }
        d->ring_mapped = true;
        struct blkif_mem m;
        blkif_mem_kernel(&m, c, d->ring_map.va);
        d->ring.m = m;
    }
    d->phase = BD_CONNECTED;
    if (xenbus_put_u64(c->g->wl.xenbus, d->dir, "suspended", 0) != 0)
        be_error(c, d, "writing suspended", -XEN_ENOSPC);
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
        bool closing = fs == XenbusStateClosing || fs == XenbusStateClosed;
        uint64_t susp = d->phase == BD_CONNECTED || d->phase == BD_SUSPENDED ||
                        d->phase == BD_SUSP_ACKED
                        ? xenbus_get_u64(c->g->wl.xenbus, d->dir, "suspend", 0) : 0;
        switch (d->phase) {
        case BD_WAIT_FE:
            be_connect(c, d);
            progress |= d->phase != BD_WAIT_FE;
            break;
        case BD_CONNECTED:
            if (fs == XenbusStateClosed) {
                be_gone(c, d);
                progress = true;
            } else if (closing) {
                be_quiesce(c, d);
                progress = true;
            } else if (susp == 1) {
                be_suspend(c, d);
                progress = true;
            } else {
                progress |= be_serve(c, d, SERVE_BUDGET);
            }
            break;
        case BD_SUSP_ACKED:
            if (fs == XenbusStateClosed) {
                be_gone(c, d);
                progress = true;
            } else if (closing) {
                be_quiesce(c, d);
                progress = true;
            } else if (susp == 0) {
                be_resume(c, d);
                progress = true;
            } else {
                progress |= be_serve(c, d, SERVE_BUDGET);
            }
            break;
        case BD_SUSPENDED:
            if (closing) {
                be_gone(c, d);
                progress = true;
            } else if (susp == 0) {
                be_resume(c, d);
                progress = true;
            }
            break;
        case BD_ACKED:
            if (fs == XenbusStateClosed) {
                be_gone(c, d);
                progress = true;
            } else {
                progress |= be_serve(c, d, SERVE_BUDGET);
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
                 "%llu suspends, persistent grants %s)", b->dev[i].fe,
                 b->dev[i].devid, (unsigned long long)b->dev[i].served,
                 (unsigned long long)b->dev[i].errors,
                 (unsigned long long)b->dev[i].suspends,
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
        if (!b->dev[i].shared_disk)
            ramdisk_free(b->dev[i].rd);
        free(b->dev[i].pc);
    }
    free(b);
    g->blkback = NULL;
}
