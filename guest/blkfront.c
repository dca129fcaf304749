/*
 * guest/blkfront.c - the blk-io workload: a PV block frontend that drives
 * a blkback driver domain over the blkif protocol and verifies every read.
 *
 * One process, one thread; its program is a state machine (workload.c
 * rule 1), each slice a bounded piece of it.
 *
 *   INIT      allocate the ring page, SHARED_RING_INIT it, grant it to the
 *             backend (writable), alloc an unbound event-channel port for
 *             the backend, publish ring-ref, event-channel, protocol,
 *             feature-persistent and state=Initialised.
 *   WAIT      until the backend is Connected: read sectors, sector-size
 *             and feature-persistent; with persistent grants on (both
 *             ends say 1), grant every data page once, writable.  Then
 *             state=Connected.
 *   RUN       keep up to `depth` requests in flight until `ops` have
 *             completed: each picks READ (reads%) or WRITE, 1..N segments
 *             (segs=MIN..MAX) of whole or partial pages and a sector range
 *             no other in-flight request touches; its data pages are
 *             granted per request (readonly for a WRITE, writable for a
 *             READ) unless persistent; requests are pushed with
 *             RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and the event channel is
 *             notified when the rule says so.  Responses are consumed
 *             (RING_FINAL_CHECK_FOR_RESPONSES) in the same slices - the
 *             thread stands in for the upcall's bottom half; grants are
 *             ended when a request completes.
 *   SUSPEND   (suspend-every=N: each time N more requests completed, with
 *             requests in flight - they are not drained first) write the
 *             vbd's suspend=1 (blkfront_suspend, the toolstack's call),
 *             wait for the backend's suspended=1 without consuming
 *             responses, check the grant table (rule 6), write suspend=0,
 *             wait for suspended=0, and go on in RUN: the requests the
 *             backend never took are still on the ring.
 *   CLOSE     state=Closing (the backend's quiesce request), wait for the
 *             backend's Closed, end every remaining grant (ring, persistent
 *             pages), close the port, state=Closed.
 *
 * Rules:
 *   1. Every byte the frontend shares is guest memory, written and read
 *      through the MMU at its direct-map VA (K1).
 *   2. The content of sector s written with generation n is
 *      pattern(seed, s, n); generation 0 is the zeroed disk.  The frontend
 *      keeps the expected generation of every sector and updates it when a
 *      WRITE completes OK; a READ's sectors are poisoned before it is
 *      submitted and checked word by word when it completes (verify=on).
 *      A mismatch is counted (blk_verify_failures, verify_failures),
 *      logged with the sector, the pfn / mfn and offset, the expected
 *      generation and both checksums, and traced (blk_verify_fail).
 *   3. In-flight requests never overlap (a sector is busy while one is),
 *      so the expected generation is exact.
 *   4. A grant the backend still has mapped when the frontend ends it
 *      (-XEN_EBUSY) is deferred and retried, as Linux's deferred
 *      end_foreign_access does; those left once the backend said Closed
 *      (the ring's included) are counted (blk_busy_grants) and logged.
 *   5. Notifications: the port's handler (guest/evtchn.c) counts the
 *      upcall; the thread consumes the responses after it.  With nothing
 *      to submit and requests in flight, a one-vCPU kernel blocks
 *      (SCHEDOP_block) until the backend's event, after the final check
 *      armed rsp_event; a kernel with more vCPUs polls.  A kernel without
 *      event channels polls too, and publishes no event-channel key.
 *   6. After a suspend is acknowledged the frontend reads every entry of
 *      its grant table through the MMU; each one granted to the backend
 *      (GTF_permit_access, its domid) with GTF_reading or GTF_writing set
 *      is still mapped there: it is counted (blk_grants_busy_at_suspend),
 *      the first few distinct refs are kept for the expectation's
 *      evidence (ref, frame, flags), and each is logged.  With blkback.quiesce=on there is none;
 *      with off there is at least the ring.
 *   7. Kernel suspend (blkfront_mig_suspend, vCPU 0, the other vCPUs
 *      parked between slices): nothing more is issued; nothing is torn
 *      down and the backend is not waited for (quiescing it is the
 *      toolstack's job, XEN-NOTES 12.E).
 *   8. Resume, cancelled (same domain, same backend): the same ring and
 *      grants; when the toolstack had suspended the vbd (suspend=1), the
 *      frontend writes suspend=0 and waits for suspended=0 (RESUME_WAIT)
 *      before it issues again.
 *   9. Resume on a new host: every old grant ref and event channel is
 *      gone.  First every response already in the ring page that came
 *      along with memory is reaped and completed exactly as a normal
 *      completion (reads checked by rule 2: this is where story E's stale
 *      data shows), without ending grants that no longer exist.  Here
 *      hvlab's frontend differs from Linux's on purpose: Linux's
 *      blkif_recover drops the old ring and requeues every request it had
 *      in flight, so a response that travelled with stale data is never
 *      looked at; hvlab's trusts the ring it brought, which lets the guest
 *      itself see the stale pages (the verify pass finds them either
 *      way).  Then the same ring pfn is
 *      initialised again and granted anew, a new port is allocated, and
 *      the handshake of INIT runs on the new store against the new backend
 *      (RECONNECT_WAIT instead of WAIT: the expected generations and the
 *      busy map are kept); once Connected, every request that had no
 *      response is reissued with its id, its pages prepared again (a
 *      WRITE's data is the same pattern: idempotent; a READ's pages are
 *      poisoned again and get the disk's current data) and granted anew.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/io/protocols.h>

#include "core/domain.h"
#include "core/mmu.h"
#include "core/vcpu.h"
#include "guest/private.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "inject/inject.h"
#include "trace/trace.h"

#define FE_DEVID        51712           /* xvda */
#define SECT_WORDS      (BLK_SECTOR_SIZE / sizeof(uint64_t))
#define SECTS_PER_PAGE  ((unsigned)(PAGE_SIZE / BLK_SECTOR_SIZE))
#define MAX_SEGS        BLKIF_MAX_SEGMENTS_PER_REQUEST
#define DEFERRED_MAX    1024
#define POISON          0xdeadbeefdeadbeefULL

enum fe_phase { FE_INIT, FE_WAIT, FE_RUN, FE_SUSPEND, FE_SUSPEND_WAIT,
                FE_RESUME_WAIT, FE_CLOSE, FE_CLOSE_WAIT, FE_DONE,
                FE_RECONNECT_WAIT };

struct fe_slot {
    bool busy;
    uint8_t op;
    uint64_t sector;
    unsigned nsect, nseg;
    uint32_t gen_base;              /* WRITE: sector i gets gen_base + i */
    pfn_t pfn[MAX_SEGS];
    grant_ref_t gref[MAX_SEGS];
    uint8_t first[MAX_SEGS], last[MAX_SEGS];
};

struct blkfront {
    enum fe_phase phase;
    char dir[XENBUS_PATH_MAX], be_dir[XENBUS_PATH_MAX];
    domid_t be;
    struct blkif_front ring;
    pfn_t ring_pfn;
    grant_ref_t ring_ref;
    bool ring_granted;
    evtchn_port_t port;
    bool evtchn;
    bool persistent;
    uint64_t sectors;
    unsigned depth, segs_min, segs_max;
    struct fe_slot *slot;
    uint32_t *gen;                  /* expected generation per sector */
    uint8_t *busy;                  /* rule 3 */
    uint32_t next_gen;
    _Atomic uint64_t events;        /* upcalls on the port (rule 5) */
    unsigned submitted, completed, inflight, failed;
    grant_ref_t deferred[DEFERRED_MAX];
    unsigned nr_deferred;
    unsigned next_suspend;          /* suspend once completed reaches it */
    unsigned suspends;
    /* Migration (rules 7-9). */
    bool mig_suspended;             /* the kernel is suspended: no issuing */
    enum fe_phase resume_to;        /* RESUME_WAIT's next phase */
    unsigned migrations, reaped_at_resume, reissued;
};

/* Rule 2. */
static uint64_t pattern(uint64_t seed, uint64_t sector, uint32_t gen,
                        unsigned word)
{
    if (gen == 0)
        return 0;
    return splitmix64(splitmix64(seed ^ (sector << 20) ^ gen) + word);
}

static uint64_t checksum(const uint64_t *w)
{
    uint64_t h = 0;
    for (unsigned i = 0; i < SECT_WORDS; i++)
        h = splitmix64(h ^ w[i]);
    return h;
}

static void fe_error(struct gcpu *c, const char *what, long rc)
{
    atomic_fetch_add(&c->g->st.hypercall_errors, 1);
    klog(c->g, "blkfront: %s failed (%ld)", what, rc);
}

static void notify(struct gcpu *c, struct blkfront *f)
{
    if (f->evtchn)
        gevtchn_send(c, f->port);
}

/* The port's handler (in the upcall, events masked): it only counts; the
   thread consumes the responses after it (rule 5). */
static void fe_event(struct gcpu *c, evtchn_port_t port, void *arg)
{
    struct blkfront *f = arg;
    (void)c;
    (void)port;
    atomic_fetch_add(&f->events, 1);
}

/* Rule 4. */
static void end_grant(struct gcpu *c, struct blkfront *f, grant_ref_t ref)
{
    int rc = gnttab_end_access(c, ref);
    if (rc == -XEN_EBUSY && f->nr_deferred < DEFERRED_MAX)
        f->deferred[f->nr_deferred++] = ref;
    else if (rc)
        fe_error(c, "ending a grant", rc);
}

static void retry_deferred(struct gcpu *c, struct blkfront *f)
{
    for (unsigned i = 0; i < f->nr_deferred; )
        if (gnttab_end_access(c, f->deferred[i]) == 0)
            f->deferred[i] = f->deferred[--f->nr_deferred];
        else
            i++;
}

/* ---- INIT / WAIT ------------------------------------------------------------ */

static bool fe_connect_ring(struct gcpu *c, struct blkfront *f);

static bool fe_init(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    struct xenbus *xb = g->wl.xenbus;
    char p[XENBUS_PATH_MAX + 32];
    snprintf(f->dir, sizeof(f->dir), "/local/domain/%u/device/vbd/%u",
             g->domid, FE_DEVID);
    snprintf(p, sizeof(p), "%s/backend", f->dir);
    if (xenbus_read(xb, p, f->be_dir, sizeof(f->be_dir)) != 0) {
        klog(g, "blkfront: no vbd at %s (the toolstack adds it)", f->dir);
        return false;
    }
    f->be = (domid_t)xenbus_get_u64(c->g->wl.xenbus, f->dir, "backend-id", g->wl.backend);
    f->ring_pfn = pfn_alloc(g, PFN_KERNEL);
    return fe_connect_ring(c, f);
}

/* The ring page (already allocated) zeroed, initialised and granted, a new
   port, and the frontend's keys with state=Initialised (INIT, and the
   reconnect of rule 9). */
static bool fe_connect_ring(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    struct xenbus *xb = g->wl.xenbus;
    char p[XENBUS_PATH_MAX + 32];
    if (f->ring_pfn == INVALID_PFN || pfn_zero(c, f->ring_pfn) != 0) {
        klog(g, "blkfront: no ring page");
        return false;
    }
    struct blkif_mem m;
    blkif_mem_kernel(&m, c, dm_va(f->ring_pfn));
    if (blkif_sring_init(&m) != 0) {
        klog(g, "blkfront: the ring page refused a kernel store");
        return false;
    }
    blkif_front_init(&f->ring, &m);
    int rc = gnttab_grant_access(c, f->be, pfn_to_mfn(c, f->ring_pfn), false,
                                 &f->ring_ref);
    if (rc) {
        fe_error(c, "granting the ring page", rc);
        return false;
    }
    f->ring_granted = true;
    if (g->evtchn) {
        long erc = gevtchn_alloc_unbound(c, f->be, &f->port);
        if (erc)
            return false;
        f->evtchn = true;
        evtchn_bind_handler(g, f->port, fe_event, f);
    }
    rc = xenbus_put_u64(c->g->wl.xenbus, f->dir, "ring-ref", f->ring_ref);
    if (rc == 0 && f->evtchn)
        rc = xenbus_put_u64(c->g->wl.xenbus, f->dir, "event-channel", f->port);
    snprintf(p, sizeof(p), "%s/protocol", f->dir);
    if (rc == 0)
        rc = xenbus_write(xb, p, XEN_IO_PROTO_ABI_X86_64);
    if (rc == 0)
        rc = xenbus_put_u64(c->g->wl.xenbus, f->dir, "feature-persistent", 1);
    if (rc == 0)
        rc = xenbus_switch_state(xb, f->dir, XenbusStateInitialised);
    if (rc) {
        klog(g, "blkfront: xenbus write failed (%d)", rc);
        return false;
    }
    return true;
}

static int fe_grant_persistent(struct gcpu *c, struct blkfront *f);

/* 1: connected, 0: not yet, -1: failed. */
static int fe_wait(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    enum xenbus_state s = xenbus_read_state(g->wl.xenbus, f->be_dir);
    if (s == XenbusStateClosing || s == XenbusStateClosed) {
        klog(g, "blkfront: backend %s went %s before connecting", f->be_dir,
             xenbus_state_name(s));
        return -1;
    }
    if (s != XenbusStateConnected)
        return 0;
    f->sectors = xenbus_get_u64(c->g->wl.xenbus, f->be_dir, "sectors", 0);
    uint64_t ssz = xenbus_get_u64(c->g->wl.xenbus, f->be_dir, "sector-size", 0);
    if (ssz != BLK_SECTOR_SIZE || f->sectors < (uint64_t)f->segs_max *
                                              SECTS_PER_PAGE) {
        klog(g, "blkfront: backend offers %llu sectors of %llu bytes (need "
             "%u-byte sectors, at least %u)", (unsigned long long)f->sectors,
             (unsigned long long)ssz, BLK_SECTOR_SIZE,
             f->segs_max * SECTS_PER_PAGE);
        return -1;
    }
    if (g->wl.sectors && g->wl.sectors < f->sectors)
        f->sectors = g->wl.sectors;
    f->gen = calloc(f->sectors, sizeof(*f->gen));
    f->busy = calloc(f->sectors, 1);
    if (!f->gen || !f->busy)
        return -1;
    if (fe_grant_persistent(c, f) != 0 ||
        xenbus_switch_state(g->wl.xenbus, f->dir, XenbusStateConnected))
        return -1;
    return 1;
}

/* With persistent grants on (both ends say 1), every data page granted
   once, writable.  0 or -1. */
static int fe_grant_persistent(struct gcpu *c, struct blkfront *f)
{
    f->persistent = xenbus_get_u64(c->g->wl.xenbus, f->be_dir, "feature-persistent", 0) == 1;
    for (unsigned k = 0; f->persistent && k < f->depth; k++)
        for (unsigned i = 0; i < f->segs_max; i++) {
            int rc = gnttab_grant_access(c, f->be,
                                         pfn_to_mfn(c, f->slot[k].pfn[i]),
                                         false, &f->slot[k].gref[i]);
            if (rc) {
                fe_error(c, "granting a persistent page", rc);
                return -1;
            }
        }
    return 0;
}

/* ---- RUN --------------------------------------------------------------------- */

static bool range_free(struct blkfront *f, uint64_t s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (f->busy[s + i])
            return false;
    return true;
}

/* Fill (WRITE) or poison (READ) the slot's pages; rule 1. */
static bool fe_prepare_data(struct gcpu *c, struct blkfront *f,
                            struct fe_slot *sl)
{
    uint64_t buf[SECT_WORDS];
    unsigned si = 0;
    for (unsigned k = 0; k < sl->nseg; k++)
        for (unsigned s = sl->first[k]; s <= sl->last[k]; s++, si++) {
            for (unsigned w = 0; w < SECT_WORDS; w++)
                buf[w] = sl->op == BLKIF_OP_WRITE
                    ? pattern(c->g->wl.seed, sl->sector + si,
                              sl->gen_base + si, w)
                    : POISON;
            uint64_t va = dm_va(sl->pfn[k]) + s * BLK_SECTOR_SIZE;
            if (mmu_write(c->v, va, buf, sizeof(buf)) != MMU_OK) {
                atomic_fetch_add(&c->g->st.kernel_oopses, 1);
                klog(c->g, "blkfront: data page %#llx refused a kernel store",
                     (unsigned long long)va);
                return false;
            }
        }
    (void)f;
    return true;
}

/* Slot k's request onto the ring: its data pages prepared (rule 2) and
   granted (unless persistent), the request built and put, traced.  A
   failure ends the grants it made and is logged with `what`. */
static bool fe_put(struct gcpu *c, struct blkfront *f, unsigned k,
                   const char *what)
{
    struct fe_slot *sl = &f->slot[k];
    if (!fe_prepare_data(c, f, sl))
        return false;
    struct blkif_request req;
    memset(&req, 0, sizeof(req));
    req.operation = sl->op;
    req.nr_segments = (uint8_t)sl->nseg;
    req.id = k;
    req.sector_number = sl->sector;
    for (unsigned i = 0; i < sl->nseg; i++) {
        if (!f->persistent) {
            int rc = gnttab_grant_access(c, f->be, pfn_to_mfn(c, sl->pfn[i]),
                                         sl->op == BLKIF_OP_WRITE,
                                         &sl->gref[i]);
            if (rc) {
                fe_error(c, "granting a data page", rc);
                for (unsigned j = 0; j < i; j++)
                    end_grant(c, f, sl->gref[j]);
                return false;
            }
        }
        req.seg[i].gref = sl->gref[i];
        req.seg[i].first_sect = sl->first[i];
        req.seg[i].last_sect = sl->last[i];
    }
    f->ring.m.ctx = c;
    int rc = blkif_front_put(&f->ring, &req);
    if (rc) {
        fe_error(c, what, rc);
        return false;
    }
    TRC(hvlab_guest, blk_submit, (uint8_t)c->g->host_id, c->g->domid, k,
        sl->op, sl->sector, sl->nseg, pfn_to_mfn(c, sl->pfn[0]));
    return true;
}

/* One new request into a free slot; false when none can be made now. */
static bool fe_submit(struct gcpu *c, struct blkfront *f, struct thread *t)
{
    struct guest_kernel *g = c->g;
    unsigned k = 0;
    while (k < f->depth && f->slot[k].busy)
        k++;
    if (k == f->depth || blkif_front_free(&f->ring) == 0)
        return false;
    struct fe_slot *sl = &f->slot[k];
    sl->op = wl_rng_next(&t->rng) % 100 < g->wl.reads ? BLKIF_OP_READ
                                                   : BLKIF_OP_WRITE;
    sl->nseg = f->segs_min + (unsigned)(wl_rng_next(&t->rng) %
                                        (f->segs_max - f->segs_min + 1));
    sl->nsect = 0;
    for (unsigned i = 0; i < sl->nseg; i++) {
        uint64_t r = wl_rng_next(&t->rng);
        if (r % 4 == 0) {           /* a partial page */
            sl->first[i] = (uint8_t)((r >> 8) % SECTS_PER_PAGE);
            sl->last[i] = (uint8_t)(sl->first[i] + (r >> 16) %
                                    (SECTS_PER_PAGE - sl->first[i]));
        } else {
            sl->first[i] = 0;
            sl->last[i] = SECTS_PER_PAGE - 1;
        }
        sl->nsect += sl->last[i] - sl->first[i] + 1u;
    }
    bool found = false;
    for (unsigned tries = 0; tries < 8 && !found; tries++) {
        sl->sector = wl_rng_next(&t->rng) % (f->sectors - sl->nsect + 1);
        found = range_free(f, sl->sector, sl->nsect);
    }
    if (!found)
        return false;
    if (sl->op == BLKIF_OP_WRITE) {
        sl->gen_base = f->next_gen;
        f->next_gen += sl->nsect;
    }
    if (!fe_put(c, f, k, "putting a request on the ring"))
        return false;
    for (unsigned i = 0; i < sl->nsect; i++)
        f->busy[sl->sector + i] = 1;
    sl->busy = true;
    f->inflight++;
    f->submitted++;
    return true;
}

/* Rule 2: check a completed READ. */
static void fe_verify(struct gcpu *c, struct blkfront *f, struct fe_slot *sl)
{
    struct guest_kernel *g = c->g;
    uint64_t got[SECT_WORDS], want[SECT_WORDS];
    unsigned si = 0;
    for (unsigned k = 0; k < sl->nseg; k++)
        for (unsigned s = sl->first[k]; s <= sl->last[k]; s++, si++) {
            uint64_t sector = sl->sector + si;
            uint64_t va = dm_va(sl->pfn[k]) + s * BLK_SECTOR_SIZE;
            if (mmu_read(c->v, va, got, sizeof(got)) != MMU_OK) {
                atomic_fetch_add(&g->st.kernel_oopses, 1);
                continue;
            }
            for (unsigned w = 0; w < SECT_WORDS; w++)
                want[w] = pattern(g->wl.seed, sector, f->gen[sector], w);
            if (memcmp(got, want, sizeof(got)) == 0)
                continue;
            uint64_t cw = checksum(want), cg = checksum(got);
            atomic_fetch_add(&g->st.blk_verify_failures, 1);
            atomic_fetch_add(&g->st.verify_failures, 1);
            klog(g, "blkfront: READ sector %llu (pfn %#llx mfn %#llx offset "
                 "%u) expected generation %u checksum %#llx, got checksum "
                 "%#llx (first word %#llx)", (unsigned long long)sector,
                 (unsigned long long)sl->pfn[k],
                 (unsigned long long)pfn_to_mfn(c, sl->pfn[k]),
                 s * BLK_SECTOR_SIZE, f->gen[sector], (unsigned long long)cw,
                 (unsigned long long)cg, (unsigned long long)got[0]);
            TRC(hvlab_guest, blk_verify_fail, (uint8_t)g->host_id, g->domid,
                sector, cw, cg);
        }
}

static void fe_complete(struct gcpu *c, struct blkfront *f,
                        const struct blkif_response *rsp, bool refs_gone)
{
    struct guest_kernel *g = c->g;
    if (rsp->id >= f->depth || !f->slot[rsp->id].busy) {
        atomic_fetch_add(&g->st.verify_failures, 1);
        klog(g, "blkfront: response for unknown id %llu",
             (unsigned long long)rsp->id);
        return;
    }
    struct fe_slot *sl = &f->slot[rsp->id];
    if (!f->persistent && !refs_gone)
        for (unsigned i = 0; i < sl->nseg; i++)
            end_grant(c, f, sl->gref[i]);
    TRC(hvlab_guest, blk_complete, (uint8_t)g->host_id, g->domid,
        rsp->id, sl->op, rsp->status, sl->sector);
    if (rsp->status != BLKIF_RSP_OKAY || rsp->operation != sl->op) {
        f->failed++;
        klog(g, "blkfront: %s of sectors %llu+%u failed: status %d",
             sl->op == BLKIF_OP_READ ? "READ" : "WRITE",
             (unsigned long long)sl->sector, sl->nsect, rsp->status);
    } else {
        if (sl->op == BLKIF_OP_WRITE)
            for (unsigned i = 0; i < sl->nsect; i++)
                f->gen[sl->sector + i] = sl->gen_base + i;
        else if (g->wl.verify)
            fe_verify(c, f, sl);
        atomic_fetch_add(&g->st.blk_ops, 1);
        atomic_fetch_add(&g->st.blk_bytes,
                         (uint64_t)sl->nsect * BLK_SECTOR_SIZE);
    }
    for (unsigned i = 0; i < sl->nsect; i++)
        f->busy[sl->sector + i] = 0;
    sl->busy = false;
    f->inflight--;
    f->completed++;
}

/* Consume every response there is; true when any was.  refs_gone: the
   grant table is a new one (rule 9), the requests' refs no longer exist. */
static bool fe_reap_refs(struct gcpu *c, struct blkfront *f, bool refs_gone)
{
    bool any = false, more = true;
    f->ring.m.ctx = c;
    while (more) {
        struct blkif_response rsp;
        int rc;
        while ((rc = blkif_front_get(&f->ring, &rsp)) == 1) {
            fe_complete(c, f, &rsp, refs_gone);
            if (refs_gone)
                f->reaped_at_resume++;
            any = true;
        }
        if (rc < 0 || blkif_front_final_check(&f->ring, &more) != 0) {
            fe_error(c, "reading the ring", rc);
            return any;
        }
    }
    return any;
}

static bool fe_reap(struct gcpu *c, struct blkfront *f)
{
    return fe_reap_refs(c, f, false);
}

static bool fe_run(struct gcpu *c, struct blkfront *f, struct thread *t)
{
    bool progress = fe_reap(c, f), pushed = false;
    retry_deferred(c, f);
    while (f->submitted < c->g->wl.ops && fe_submit(c, f, t))
        pushed = true;
    if (pushed) {
        bool ntf = false;
        int rc = blkif_front_push(&f->ring, &ntf);
        if (rc)
            fe_error(c, "pushing requests", rc);
        else if (ntf)
            notify(c, f);
        progress = true;
    }
    return progress;
}

/* ---- CLOSE ------------------------------------------------------------------- */

static void fe_release(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    if (f->persistent)
        for (unsigned k = 0; k < f->depth; k++)
            for (unsigned i = 0; i < f->segs_max; i++)
                end_grant(c, f, f->slot[k].gref[i]);
    f->persistent = false;
    if (f->ring_granted) {
        int rc = gnttab_end_access(c, f->ring_ref);
        if (rc == 0) {
            pfn_free(g, f->ring_pfn);
        } else {
            atomic_fetch_add(&g->st.blk_busy_grants, 1);
            klog(g, "blkfront: the backend still maps the ring page (pfn "
                 "%#llx, ref %u) after it closed (%d): the page is kept",
                 (unsigned long long)f->ring_pfn, f->ring_ref, rc);
        }
        f->ring_granted = false;
    }
    retry_deferred(c, f);
    atomic_fetch_add(&g->st.blk_busy_grants, f->nr_deferred);
    if (f->nr_deferred)
        klog(g, "blkfront: %u data grants still mapped by the backend after "
             "it closed", f->nr_deferred);
    if (f->evtchn) {
        evtchn_bind_handler(g, f->port, NULL, NULL);
        gevtchn_close(c, f->port);
        f->evtchn = false;
    }
}

/* ---- SUSPEND ----------------------------------------------------------------- */

/* Ask for (suspend) or end (!suspend) a suspend of this kernel's vbd: what
   the toolstack will call (xenbus_vbd_suspend) when it drives a migration. */
int blkfront_suspend(struct guest_kernel *g, bool suspend)
{
    struct blkfront *f = g->blkfront;
    if (!f || !g->wl.xenbus || !f->dir[0])
        return -XEN_EINVAL;
    return xenbus_vbd_suspend(g->wl.xenbus, g->domid, f->be, FE_DEVID,
                              suspend);
}

/* Rule 6; how many entries are still in use. */
static unsigned fe_check_grants(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    unsigned n = gnttab_nr_refs(c), busy = 0;
    for (grant_ref_t ref = GNTTAB_NR_RESERVED_ENTRIES; ref < n; ref++) {
        uint16_t flags;
        domid_t dom;
        uint32_t frame;
        if (gnttab_query(c, ref, &flags, &dom, &frame) != 0) {
            atomic_fetch_add(&g->st.kernel_oopses, 1);
            klog(g, "blkfront: grant entry %u refused a kernel load", ref);
            return busy;
        }
        if ((flags & GTF_type_mask) != GTF_permit_access || dom != f->be ||
            !(flags & (GTF_reading | GTF_writing)))
            continue;
        /* Evidence: the first distinct refs (0 is never a granted ref). */
        for (unsigned k = 0; k < GUEST_BLK_BUSY_MAX; k++) {
            if (g->st.blk_busy_ref[k] == ref)
                break;
            if (g->st.blk_busy_ref[k] == 0) {
                g->st.blk_busy_ref[k] = ref;
                g->st.blk_busy_frame[k] = frame;
                g->st.blk_busy_flags[k] = flags;
                break;
            }
        }
        busy++;
        klog(g, "blkfront: suspend %u: grant ref %u (frame %#x, flags %#x%s%s)"
             " is still mapped by dom%u after it acknowledged", f->suspends,
             ref, frame, flags, flags & GTF_reading ? " reading" : "",
             flags & GTF_writing ? " writing" : "", f->be);
    }
    atomic_fetch_add(&g->st.blk_grants_busy_at_suspend, busy);
    return busy;
}

/* ---- migration: kernel suspend and resume (rules 7-9) ------------------------- */

/* Rule 9: every request that had no response, again on the (new) ring
   with its id: pages prepared again and granted anew.  false on failure. */
static bool fe_reissue(struct gcpu *c, struct blkfront *f)
{
    bool pushed = false;
    for (unsigned k = 0; k < f->depth; k++) {
        struct fe_slot *sl = &f->slot[k];
        if (!sl->busy)
            continue;
        if (!fe_put(c, f, k, "reissuing a request"))
            return false;
        f->reissued++;
        pushed = true;
    }
    if (pushed) {
        bool ntf = false;
        int rc = blkif_front_push(&f->ring, &ntf);
        if (rc) {
            fe_error(c, "pushing reissued requests", rc);
            return false;
        }
        if (ntf)
            notify(c, f);
    }
    return true;
}

/* RECONNECT_WAIT: 1 reconnected (requests reissued), 0 not yet, -1
   failed.  The expected generations and the busy map are kept. */
static int fe_reconnect_wait(struct gcpu *c, struct blkfront *f)
{
    struct guest_kernel *g = c->g;
    enum xenbus_state s = xenbus_read_state(g->wl.xenbus, f->be_dir);
    if (s == XenbusStateClosing || s == XenbusStateClosed) {
        klog(g, "blkfront: backend %s went %s before reconnecting",
             f->be_dir, xenbus_state_name(s));
        return -1;
    }
    if (s != XenbusStateConnected)
        return 0;
    uint64_t sectors = xenbus_get_u64(g->wl.xenbus, f->be_dir, "sectors", 0);
    uint64_t ssz = xenbus_get_u64(g->wl.xenbus, f->be_dir, "sector-size", 0);
    if (ssz != BLK_SECTOR_SIZE || sectors < f->sectors) {
        klog(g, "blkfront: the new backend offers %llu sectors of %llu bytes"
             " (had %llu of %u)", (unsigned long long)sectors,
             (unsigned long long)ssz, (unsigned long long)f->sectors,
             BLK_SECTOR_SIZE);
        return -1;
    }
    if (fe_grant_persistent(c, f) != 0 ||
        xenbus_switch_state(g->wl.xenbus, f->dir, XenbusStateConnected) ||
        !fe_reissue(c, f))
        return -1;
    klog(g, "blkfront: reconnected to dom%u after migration %u: %u requests "
         "reaped from the ring, %u reissued", f->be, f->migrations,
         f->reaped_at_resume, f->reissued);
    return 1;
}

/* Rule 7. */
void blkfront_mig_suspend(struct gcpu *c)
{
    struct blkfront *f = c->g->blkfront;
    if (!f)
        return;
    f->mig_suspended = true;
    klog(c->g, "blkfront: kernel suspend with %u requests in flight",
         f->inflight);
}

/* Rules 8 and 9. */
int blkfront_mig_resume(struct gcpu *c, const struct guest_resume *r)
{
    struct guest_kernel *g = c->g;
    struct blkfront *f = g->blkfront;
    if (!r)
        return -XEN_EINVAL;
    if (!r->cancelled && r->xenbus) {
        g->wl.xenbus = r->xenbus;
        g->wl.backend = r->backend;
    }
    if (!f)
        return 0;
    f->mig_suspended = false;
    if (f->phase == FE_INIT || f->phase == FE_DONE || !f->dir[0])
        return 0;
    struct xenbus *xb = g->wl.xenbus;
    if (r->cancelled) {             /* rule 8 */
        if (f->phase == FE_SUSPEND || f->phase == FE_SUSPEND_WAIT ||
            xenbus_get_u64(xb, f->be_dir, "suspend", 0) != 1)
            return 0;
        int rc = blkfront_suspend(g, false);
        if (rc) {
            klog(g, "blkfront: could not write suspend=0 (%d)", rc);
            return rc;
        }
        if (f->phase == FE_RUN || f->phase == FE_CLOSE ||
            f->phase == FE_CLOSE_WAIT) {
            f->resume_to = f->phase;
            f->phase = FE_RESUME_WAIT;
        }
        return 0;
    }
    /* Rule 9: reap what came along with memory, then reconnect. */
    f->migrations++;
    f->reaped_at_resume = f->reissued = 0;
    bool connected = f->gen != NULL;
    unsigned inflight = f->inflight;
    if (connected)
        fe_reap_refs(c, f, true);
    f->nr_deferred = 0;             /* those refs are gone too */
    f->ring_granted = false;
    f->evtchn = false;
    f->persistent = false;
    char p[XENBUS_PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/backend", f->dir);
    if (xenbus_read(xb, p, f->be_dir, sizeof(f->be_dir)) != 0) {
        klog(g, "blkfront: no vbd at %s on the new host", f->dir);
        f->phase = FE_DONE;
        return -XEN_ENOENT;
    }
    f->be = (domid_t)xenbus_get_u64(xb, f->dir, "backend-id", r->backend);
    klog(g, "blkfront: resume on host %u with %u requests in flight: %u "
         "responses reaped from the ring page", r->host_id, inflight,
         f->reaped_at_resume);
    if (!fe_connect_ring(c, f)) {
        f->phase = FE_CLOSE;
        return -XEN_EIO;
    }
    if (!connected) {
        f->phase = FE_WAIT;
    } else {
        f->resume_to = f->phase == FE_CLOSE || f->phase == FE_CLOSE_WAIT
                       ? FE_CLOSE : FE_RUN;
        f->phase = FE_RECONNECT_WAIT;
    }
    return 0;
}

enum thread_result blkfront_slice(struct gcpu *c, struct thread *t)
{
    struct guest_kernel *g = c->g;
    struct blkfront *f = g->blkfront;
    struct xenbus *xb = g->wl.xenbus;
    int rc;

    if (f->mig_suspended) {         /* rule 7 */
        hv_relax();
        return T_RUNNABLE;
    }
    switch (f->phase) {
    case FE_RECONNECT_WAIT:
        rc = fe_reconnect_wait(c, f);
        if (rc == 0)
            hv_relax();
        else
            f->phase = rc > 0 ? f->resume_to : FE_CLOSE;
        return T_RUNNABLE;
    case FE_INIT:
        f->phase = fe_init(c, f) ? FE_WAIT : FE_CLOSE;
        return T_RUNNABLE;
    case FE_WAIT:
        rc = fe_wait(c, f);
        if (rc == 0)
            hv_relax();
        else
            f->phase = rc > 0 ? FE_RUN : FE_CLOSE;
        return T_RUNNABLE;
    case FE_RUN:
        if (f->completed >= g->wl.ops) {
            f->phase = FE_CLOSE;
            return T_RUNNABLE;
        }
        if (g->wl.suspend_every && f->completed >= f->next_suspend &&
            f->inflight) {
            f->next_suspend += g->wl.suspend_every;
            f->phase = FE_SUSPEND;
            return T_RUNNABLE;
        }
        if (!fe_run(c, f, t)) {
            /* Rule 5: nothing to submit and the response event armed
               (final check): block until the backend notifies, when this
               vCPU is the only one (the event's vCPU); else poll. */
            if (f->evtchn && f->inflight && g->nr_vcpus == 1)
                gevtchn_block(c);
            else
                hv_relax();
        }
        return T_RUNNABLE;
    case FE_SUSPEND:
        INJ_POINT(blkfront_suspend_before, c->v);      /* inject: window */
        if (blkfront_suspend(g, true) != 0) {
            klog(g, "blkfront: could not write suspend=1");
            f->phase = FE_CLOSE;
            return T_RUNNABLE;
        }
        f->suspends++;
        f->phase = FE_SUSPEND_WAIT;
        return T_RUNNABLE;
    case FE_SUSPEND_WAIT: {
        /* No response is consumed here: the check sees what the backend
           left when it acknowledged. */
        int ack = xenbus_vbd_suspended(xb, g->domid, f->be, FE_DEVID);
        enum xenbus_state s = xenbus_read_state(xb, f->be_dir);
        if (ack != 1 && s == XenbusStateConnected) {
            hv_relax();
            return T_RUNNABLE;
        }
        if (ack != 1) {
            klog(g, "blkfront: backend went %s during suspend %u",
                 xenbus_state_name(s), f->suspends);
            f->phase = FE_CLOSE;
            return T_RUNNABLE;
        }
        atomic_fetch_add(&g->st.blk_suspends, 1);
        unsigned busy = fe_check_grants(c, f);
        klog(g, "blkfront: suspend %u with %u requests in flight: %u grants "
             "still in use", f->suspends, f->inflight, busy);
        if (blkfront_suspend(g, false) != 0)
            klog(g, "blkfront: could not write suspend=0");
        f->resume_to = FE_RUN;
        f->phase = FE_RESUME_WAIT;
        return T_RUNNABLE;
    }
    case FE_RESUME_WAIT: {
        int ack = xenbus_vbd_suspended(xb, g->domid, f->be, FE_DEVID);
        enum xenbus_state s = xenbus_read_state(xb, f->be_dir);
        if (ack == 0) {
            f->phase = f->resume_to;
        } else if (s != XenbusStateConnected) {
            klog(g, "blkfront: backend went %s during resume %u",
                 xenbus_state_name(s), f->suspends);
            f->phase = FE_CLOSE;
        } else {
            fe_reap(c, f);
            hv_relax();
        }
        return T_RUNNABLE;
    }
    case FE_CLOSE:
        INJ_POINT(blkfront_suspend_before, c->v);      /* inject: window */
        if (f->dir[0] && xenbus_switch_state(xb, f->dir, XenbusStateClosing))
            klog(g, "blkfront: could not write Closing");
        f->phase = f->dir[0] ? FE_CLOSE_WAIT : FE_DONE;
        return T_RUNNABLE;
    case FE_CLOSE_WAIT: {
        enum xenbus_state s = xenbus_read_state(xb, f->be_dir);
        if (s != XenbusStateClosed && s != XenbusStateUnknown) {
            /* Responses may still come while the backend quiesces. */
            fe_reap(c, f);
            hv_relax();
            return T_RUNNABLE;
        }
        fe_reap(c, f);
        fe_release(c, f);
        xenbus_switch_state(xb, f->dir, XenbusStateClosed);
        f->phase = FE_DONE;
        return T_RUNNABLE;
    }
    case FE_DONE:
        break;
    }
    if (f->completed < g->wl.ops || f->failed)
        klog(g, "blkfront: %u of %u requests completed (%u failed, %u in "
             "flight)", f->completed, g->wl.ops, f->failed, f->inflight);
    return T_EXITED;
}

void blkfront_start(struct gcpu *c)
{
    struct guest_kernel *g = c->g;
    const struct workload_params *wl = &g->wl;
    struct blkfront *f = calloc(1, sizeof(*f));
    if (!f || !wl->xenbus || gnttab_prepare(c) != 0) {
        klog(g, "blk-io: no state, no xenbus or no grant-table area");
        free(f);
        goto none;
    }
    g->blkfront = f;
    f->ring_pfn = INVALID_PFN;
    f->resume_to = FE_RUN;
    f->next_gen = 1;
    f->next_suspend = wl->suspend_every;
    f->depth = wl->depth ? wl->depth : 1;
    if (f->depth > BLKIF_RING_SIZE)
        f->depth = BLKIF_RING_SIZE;
    f->segs_min = wl->segs_min ? wl->segs_min : 1;
    f->segs_max = wl->segs_max ? wl->segs_max : f->segs_min;
    if (f->segs_max > MAX_SEGS)
        f->segs_max = MAX_SEGS;
    if (f->segs_min > f->segs_max)
        f->segs_min = f->segs_max;
    f->slot = calloc(f->depth, sizeof(*f->slot));
    if (!f->slot)
        goto none;
    for (unsigned k = 0; k < f->depth; k++)
        for (unsigned i = 0; i < f->segs_max; i++) {
            pfn_t pfn = pfn_alloc(g, PFN_KERNEL);
            if (pfn == INVALID_PFN) {
                klog(g, "blk-io: out of memory for %u data pages",
                     f->depth * f->segs_max);
                goto none;
            }
            f->slot[k].pfn[i] = pfn;
        }
    struct proc *p = proc_spawn(c, NULL, 1);
    if (!p) {
        klog(g, "blk-io: the frontend process could not be created");
        goto none;
    }
    p->threads[0].rng = splitmix64(wl->seed + 0xb10c);
    proc_start(g, p);
    return;
none:
    atomic_fetch_add(&g->st.hypercall_errors, 1);
    if (wl->xenbus) {               /* let the backend stop */
        char dir[XENBUS_PATH_MAX];
        snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd/%u",
                 g->domid, FE_DEVID);
        xenbus_switch_state(wl->xenbus, dir, XenbusStateClosed);
    }
    atomic_store(&g->done, true);
}

void blkfront_free(struct guest_kernel *g)
{
    struct blkfront *f = g->blkfront;
    if (!f)
        return;
    free(f->slot);
    free(f->gen);
    free(f->busy);
    free(f);
    g->blkfront = NULL;
}

/* ---- the frontend's state as bytes (kstate.c, section BLKFRONT) ----------- */
/* The ring's memory accessors and vCPU are rebuilt (the vCPU by index), the
   port's handler bound again; the xenbus is the resume's (rule 9). */

static uint64_t get_gen(const void *ctx, uint64_t i)
{
    return ((const struct blkfront *)ctx)->gen[i];
}
static void put_gen(void *ctx, uint64_t i, uint64_t v)
{
    ((struct blkfront *)ctx)->gen[i] = (uint32_t)v;
}
static uint64_t get_busy(const void *ctx, uint64_t i)
{
    return ((const struct blkfront *)ctx)->busy[i];
}
static void put_busy(void *ctx, uint64_t i, uint64_t v)
{
    ((struct blkfront *)ctx)->busy[i] = (uint8_t)v;
}

#define FE_PHASES   (FE_RECONNECT_WAIT + 1)
#define FE_MAX_SECTORS  (1ULL << 24)

int blkfront_state_save(struct ks_out *o, const struct guest_kernel *g)
{
    const struct blkfront *f = g->blkfront;
    ks_put_u32(o, f->phase);
    ks_put_str(o, f->dir, sizeof(f->dir) - 1);
    ks_put_str(o, f->be_dir, sizeof(f->be_dir) - 1);
    ks_put_u16(o, f->be);
    bool ring_set = f->ring.m.base != 0;
    ks_put_u8(o, ring_set);
    ks_put_u32(o, ring_set ? (uint32_t)((const struct gcpu *)f->ring.m.ctx -
                                        g->cpu) : 0);
    ks_put_u32(o, f->ring.req_prod_pvt);
    ks_put_u32(o, f->ring.rsp_cons);
    ks_put_u32(o, f->ring.nr_ents);
    ks_put_u64(o, f->ring_pfn);
    ks_put_u32(o, f->ring_ref);
    ks_put_u8(o, f->ring_granted);
    ks_put_u32(o, f->port);
    ks_put_u8(o, f->evtchn);
    ks_put_u8(o, f->persistent);
    ks_put_u64(o, f->sectors);
    ks_put_u32(o, f->depth);
    ks_put_u32(o, f->segs_min);
    ks_put_u32(o, f->segs_max);
    for (unsigned k = 0; k < f->depth; k++) {
        const struct fe_slot *sl = &f->slot[k];
        ks_put_u8(o, sl->busy);
        ks_put_u8(o, sl->op);
        ks_put_u64(o, sl->sector);
        ks_put_u32(o, sl->nsect);
        ks_put_u32(o, sl->nseg);
        ks_put_u32(o, sl->gen_base);
        for (unsigned i = 0; i < MAX_SEGS; i++) {
            ks_put_u64(o, sl->pfn[i]);
            ks_put_u32(o, sl->gref[i]);
            ks_put_u8(o, sl->first[i]);
            ks_put_u8(o, sl->last[i]);
        }
    }
    ks_put_u8(o, f->gen != NULL);
    if (f->gen) {
        ks_put_runs(o, f->sectors, get_gen, f);
        ks_put_runs(o, f->sectors, get_busy, f);
    }
    ks_put_u32(o, f->next_gen);
    ks_put_u64(o, atomic_load(&((struct blkfront *)f)->events));
    ks_put_u32(o, f->submitted);
    ks_put_u32(o, f->completed);
    ks_put_u32(o, f->inflight);
    ks_put_u32(o, f->failed);
    ks_put_u32(o, f->nr_deferred);
    for (unsigned i = 0; i < f->nr_deferred; i++)
        ks_put_u32(o, f->deferred[i]);
    ks_put_u32(o, f->next_suspend);
    ks_put_u32(o, f->suspends);
    ks_put_u8(o, f->mig_suspended);
    ks_put_u32(o, f->resume_to);
    ks_put_u32(o, f->migrations);
    ks_put_u32(o, f->reaped_at_resume);
    ks_put_u32(o, f->reissued);
    return 0;
}

static void load_slot(struct ks_in *in, struct guest_kernel *g,
                      struct blkfront *f, unsigned k)
{
    struct fe_slot *sl = &f->slot[k];
    sl->busy = ks_get_bool(in, "slot busy");
    sl->op = ks_get_u8(in);
    if (!ks_failed(in) && sl->op != BLKIF_OP_READ && sl->op != BLKIF_OP_WRITE &&
        (sl->busy || sl->op != 0))
        ks_bad(in, "slot %u: operation %u", k, sl->op);
    sl->sector = ks_get_u64(in);
    sl->nsect = ks_get_u32(in);
    sl->nseg = ks_get_below(in, MAX_SEGS + 1ULL, "segment count");
    sl->gen_base = ks_get_u32(in);
    unsigned nsect = 0;
    for (unsigned i = 0; i < MAX_SEGS && !ks_failed(in); i++) {
        sl->pfn[i] = ks_get_u64(in);
        if (i < f->segs_max &&
            ks_check_pfn(in, g, sl->pfn[i], false, "data pfn") &&
            atomic_load(&g->pfn_kind[sl->pfn[i]]) != PFN_KERNEL)
            ks_bad(in, "slot %u: data pfn %#llx is not a kernel page", k,
                   (unsigned long long)sl->pfn[i]);
        sl->gref[i] = ks_get_u32(in);
        sl->first[i] = ks_get_u8(in);
        sl->last[i] = ks_get_u8(in);
        if (!ks_failed(in) && i < sl->nseg &&
            (sl->first[i] > sl->last[i] || sl->last[i] >= SECTS_PER_PAGE))
            ks_bad(in, "slot %u: segment %u sectors %u..%u", k, i,
                   sl->first[i], sl->last[i]);
        if (i < sl->nseg)
            nsect += sl->last[i] - sl->first[i] + 1u;
    }
    if (ks_failed(in) || !sl->busy)
        return;
    if (sl->nseg < 1 || sl->nseg > f->segs_max || nsect != sl->nsect)
        ks_bad(in, "slot %u: %u segments do not hold %u sectors", k,
               sl->nseg, sl->nsect);
}

void blkfront_state_load(struct ks_in *in, struct guest_kernel *g)
{
    struct blkfront *f = calloc(1, sizeof(*f));
    if (!f) {
        ks_bad(in, "no memory for blkfront");
        return;
    }
    g->blkfront = f;            /* freed by blkfront_free on any error */
    if (!g->gnt) {
        ks_bad(in, "blkfront without a grant table");
        return;
    }
    f->phase = ks_get_below(in, FE_PHASES, "phase");
    ks_get_str(in, f->dir, sizeof(f->dir), "frontend path");
    ks_get_str(in, f->be_dir, sizeof(f->be_dir), "backend path");
    f->be = ks_get_u16(in);
    bool ring_set = ks_get_bool(in, "ring set");
    unsigned ring_cpu = ks_get_u32(in);
    if (!ks_failed(in) && ring_cpu >= (ring_set ? g->nr_vcpus : 1))
        ks_bad(in, "ring vCPU %u of %u", ring_cpu, g->nr_vcpus);
    f->ring.req_prod_pvt = ks_get_u32(in);
    f->ring.rsp_cons = ks_get_u32(in);
    f->ring.nr_ents = ks_get_u32(in);
    if (!ks_failed(in) && f->ring.nr_ents != (ring_set ? BLKIF_RING_SIZE : 0))
        ks_bad(in, "ring of %u entries", f->ring.nr_ents);
    if (!ks_failed(in) &&
        (RING_IDX)(f->ring.req_prod_pvt - f->ring.rsp_cons) > f->ring.nr_ents)
        ks_bad(in, "%u requests on a ring of %u",
               (RING_IDX)(f->ring.req_prod_pvt - f->ring.rsp_cons),
               f->ring.nr_ents);
    /* Every phase past INIT was entered with the paths written, and every
       one but DONE may reach the ring (reap, reissue, close). */
    if (!ks_failed(in) && f->phase != FE_INIT && !f->dir[0])
        ks_bad(in, "phase %u without a frontend path", f->phase);
    else if (!ks_failed(in) && f->phase != FE_INIT && f->phase != FE_DONE &&
             !ring_set)
        ks_bad(in, "phase %u without a ring", f->phase);
    f->ring_pfn = ks_get_u64(in);
    if (ks_check_pfn(in, g, f->ring_pfn, !ring_set, "ring pfn") &&
        f->ring_pfn != INVALID_PFN &&
        atomic_load(&g->pfn_kind[f->ring_pfn]) != PFN_KERNEL)
        ks_bad(in, "ring pfn %#llx is not a kernel page",
               (unsigned long long)f->ring_pfn);
    f->ring_ref = ks_get_u32(in);
    f->ring_granted = ks_get_bool(in, "ring granted");
    f->port = ks_get_u32(in);
    f->evtchn = ks_get_bool(in, "event channel");
    if (!ks_failed(in) && f->evtchn &&
        (g->evtchn == NULL || f->port >= EVTCHN_2L_NR_CHANNELS))
        ks_bad(in, "port %u without event channels", f->port);
    f->persistent = ks_get_bool(in, "persistent");
    f->sectors = ks_get_u64(in);
    if (!ks_failed(in) && (f->sectors > FE_MAX_SECTORS ||
                           (g->wl.sectors && f->sectors > g->wl.sectors)))
        ks_bad(in, "%llu sectors (the workload asks for %llu)",
               (unsigned long long)f->sectors,
               (unsigned long long)g->wl.sectors);
    f->depth = ks_get_u32(in);
    if (!ks_failed(in) && (f->depth < 1 || f->depth > BLKIF_RING_SIZE))
        ks_bad(in, "depth %u (1..%u)", f->depth, (unsigned)BLKIF_RING_SIZE);
    f->segs_min = ks_get_u32(in);
    f->segs_max = ks_get_u32(in);
    if (!ks_failed(in) && (f->segs_min < 1 || f->segs_min > f->segs_max ||
                           f->segs_max > MAX_SEGS))
        ks_bad(in, "segments %u..%u (1..%u)", f->segs_min, f->segs_max,
               (unsigned)MAX_SEGS);
    if (ks_failed(in))
        return;
    f->slot = calloc(f->depth, sizeof(*f->slot));
    if (!f->slot) {
        ks_bad(in, "no memory for %u slots", f->depth);
        return;
    }
    /* The slots come before the sector maps they are checked against:
       the cross-checks run once both are read. */
    for (unsigned k = 0; k < f->depth && !ks_failed(in); k++)
        load_slot(in, g, f, k);
    bool have_gen = ks_get_bool(in, "sector maps");
    if (ks_failed(in))
        return;
    /* The maps exist once the disk connected (fe_wait): a ring, and a disk
       that holds the largest request (fe_submit picks its start below
       sectors - nsect + 1). */
    if (have_gen && !ring_set) {
        ks_bad(in, "sector maps without a ring");
        return;
    }
    if (have_gen && f->sectors < (uint64_t)f->segs_max * SECTS_PER_PAGE) {
        ks_bad(in, "%llu sectors cannot hold a request of %u segments",
               (unsigned long long)f->sectors, f->segs_max);
        return;
    }
    if (have_gen) {
        f->gen = calloc(f->sectors ? f->sectors : 1, sizeof(*f->gen));
        f->busy = calloc(f->sectors ? f->sectors : 1, 1);
        if (!f->gen || !f->busy) {
            ks_bad(in, "no memory for %llu sectors",
                   (unsigned long long)f->sectors);
            return;
        }
        if (!ks_get_runs(in, f->sectors, UINT32_MAX, put_gen, f,
                         "expected generations") ||
            !ks_get_runs(in, f->sectors, 1, put_busy, f, "busy sectors"))
            return;
    }
    f->next_gen = ks_get_u32(in);
    atomic_store(&f->events, ks_get_u64(in));
    f->submitted = ks_get_u32(in);
    f->completed = ks_get_u32(in);
    f->inflight = ks_get_below(in, f->depth + 1ULL, "requests in flight");
    f->failed = ks_get_u32(in);
    f->nr_deferred = ks_get_below(in, DEFERRED_MAX + 1, "deferred grants");
    for (unsigned i = 0; i < f->nr_deferred && !ks_failed(in); i++)
        f->deferred[i] = ks_get_u32(in);
    f->next_suspend = ks_get_u32(in);
    f->suspends = ks_get_u32(in);
    f->mig_suspended = ks_get_bool(in, "kernel suspended");
    f->resume_to = ks_get_below(in, FE_PHASES, "resume phase");
    f->migrations = ks_get_u32(in);
    f->reaped_at_resume = ks_get_u32(in);
    f->reissued = ks_get_u32(in);
    if (ks_failed(in))
        return;
    /* Cross-checks: the busy slots are the requests in flight and their
       sectors are exactly the busy ones (rule 3). */
    unsigned busy_slots = 0;
    uint64_t busy_sectors = 0, marked = 0;
    /* Each slot's data pages are its own: not the ring page, not another
       slot's (the backend writes a READ's data there). */
    for (unsigned k = 0; k < f->depth; k++)
        for (unsigned i = 0; i < f->segs_max; i++) {
            pfn_t pfn = f->slot[k].pfn[i];
            bool dup = ring_set && pfn == f->ring_pfn;
            for (unsigned k2 = 0; k2 <= k && !dup; k2++)
                for (unsigned i2 = 0; i2 < (k2 < k ? f->segs_max : i); i2++)
                    if (f->slot[k2].pfn[i2] == pfn) {
                        dup = true;
                        break;
                    }
            if (dup) {
                ks_bad(in, "slot %u's data pfn %#llx is used twice", k,
                       (unsigned long long)pfn);
                return;
            }
        }
    /* Rule 3: the busy slots' sector ranges do not overlap. */
    uint8_t *claimed = f->gen ? calloc(f->sectors ? f->sectors : 1, 1)
                              : NULL;
    if (f->gen && !claimed) {
        ks_bad(in, "no memory to check %llu sectors",
               (unsigned long long)f->sectors);
        return;
    }
    for (unsigned k = 0; k < f->depth; k++) {
        struct fe_slot *sl = &f->slot[k];
        if (!sl->busy)
            continue;
        busy_slots++;
        if (!f->gen) {
            ks_bad(in, "slot %u busy before the disk was connected", k);
            return;
        }
        if (sl->nsect > f->sectors || sl->sector > f->sectors - sl->nsect) {
            ks_bad(in, "slot %u's sectors leave the disk", k);
            free(claimed);
            return;
        }
        busy_sectors += sl->nsect;
        for (unsigned i = 0; i < sl->nsect; i++) {
            uint64_t s = sl->sector + i;
            if (!f->busy[s] || claimed[s]) {
                ks_bad(in, "slot %u's sector %llu is %s", k,
                       (unsigned long long)s, claimed[s]
                       ? "another busy slot's too" : "not marked busy");
                free(claimed);
                return;
            }
            claimed[s] = 1;
        }
    }
    free(claimed);
    for (uint64_t s = 0; f->gen && s < f->sectors; s++)
        marked += f->busy[s];
    if (busy_slots != f->inflight || marked != busy_sectors) {
        ks_bad(in, "%u busy slots and %llu busy sectors for %u requests in "
               "flight on %llu sectors", busy_slots,
               (unsigned long long)marked, f->inflight,
               (unsigned long long)busy_sectors);
        return;
    }
    if (ring_set)
        blkif_mem_kernel(&f->ring.m, &g->cpu[ring_cpu], dm_va(f->ring_pfn));
    if (f->evtchn)
        evtchn_bind_handler(g, f->port, fe_event, f);
}
