/*
 * toolstack/runner.c - run one scenario and judge it (runner.h N1-N3).
 *
 * Rules:
 *   U1  Domains get domids 1, 2, ... in the order the scenario declares
 *       them, except the privileged domain, which is domid 0 (dom0); a
 *       p2m-race workload learns its target's domid and size here; each
 *       workload's seed is derived from the run seed and the
 *       domain's position, so one --seed fixes every workload.
 *   U2  Everything the expectations need is copied into struct run_result
 *       before the domains are destroyed (vCPU counters, guest stats and
 *       reports, the live audit); evaluation never touches live state.
 *   U3  The frame table is read with atomic loads and only after every vCPU
 *       has stopped (N2: read-only).
 *   U4  Teardown always runs, also after a failure part-way: a run never
 *       leaves domains behind in the machine it destroys.  The privileged
 *       domain goes first: its foreign mappings hold references on the
 *       other domains' frames.
 *   U5  Two processes (docs/migration.md "Two processes"): the sender
 *       (o->mig_to) runs the scenario as usual, its migrated blk-io
 *       domain's disk on a shared file, and the domain is `away` once the
 *       receiver took it.  The receiver (o->mig_from) is host to_host: it
 *       builds only the migrated domain's backend (over the same disk
 *       file), restores the domain from the connection on its control
 *       vCPU, and every other domain of the scenario is `away`.  Away rows
 *       stay out of the totals and of the per-domain expectations
 *       (toolstack/expect.c E4).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/audit.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/mm/page.h"
#include "core/vcpu.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "inject/inject.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"
#include "toolstack/run_migrate.h"
#include "toolstack/runner.h"

static uint64_t mix_seed(uint64_t seed, unsigned i)   /* splitmix64 step */
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* hv_audit (frames, p2m, shadows) of m and, when a migration made one, of
   the destination machine too, into a string; returns the count. */
static unsigned audit_to_text(struct machine *m, char **text)
{
    size_t len = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    unsigned n = hv_audit(m, f);
    if (f)
        fclose(f);
    return n;
}

static unsigned audit_both(struct machine *m, const struct mig_run *mr,
                           char **text)
{
    unsigned n = audit_to_text(m, text);
    struct machine *dst = mig_run_dest(mr);
    if (!dst)
        return n;
    char *more = NULL;
    unsigned k = audit_to_text(dst, &more);
    if (k && more) {
        size_t a = *text ? strlen(*text) : 0, b = strlen(more);
        char *both = realloc(*text, a + b + 32);
        if (both) {
            snprintf(both + a, b + 32, "destination machine:\n%s", more);
            *text = both;
        }
    }
    free(more);
    return n + k;
}

static char *guest_report_text(const struct guest_pv *g,
                               const struct guest_hvm *h)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (h)
        guest_hvm_report(h, f);
    else
        guest_pv_report(g, f);
    fclose(f);
    return text;
}

/*
 * --dump-tables: one line per present entry of every validated page table
 * of every domain: "host mfn level slot pte_hex" (U3).
 */
static int dump_tables(const struct machine *m, const char *path, FILE *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(err, "hvlab: --dump-tables %s: %m\n", path);
        return -1;
    }
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        const struct page_info *pg = &m->frame_table[mfn];
        uint64_t type = atomic_load(&pg->type_info);
        unsigned level = pgt_level(type);
        if (!level || !(type & PGT_validated) || !(type & PGT_count_mask))
            continue;
        if (!machine_domain(m, pg->owner))
            continue;
        const pte_t *t = mfn_to_virt(m, mfn);
        for (unsigned slot = 0; slot < PT_ENTRIES; slot++) {
            pte_t e = __atomic_load_n(&t[slot], __ATOMIC_RELAXED);
            if (pte_present(e))
                fprintf(f, "%u %" PRIu64 " %u %u 0x%016" PRIx64 "\n",
                        m->host_id, mfn, level, slot, e);
        }
    }
    if (fclose(f) != 0) {
        fprintf(err, "hvlab: --dump-tables %s: write failed: %m\n", path);
        return -1;
    }
    return 0;
}

static void add_stats(struct guest_stats *t, const struct guest_stats *s)
{
    t->faults_delivered += s->faults_delivered;
    t->spurious_seen += s->spurious_seen;
    t->spurious_fatal += s->spurious_fatal;
    t->procs_killed += s->procs_killed;
    t->forks += s->forks;
    t->exits += s->exits;
    t->pages_touched += s->pages_touched;
    t->verify_failures += s->verify_failures;
    t->hypercall_errors += s->hypercall_errors;
    t->stale_foreign_maps += s->stale_foreign_maps;
    t->blk_ops += s->blk_ops;
    t->blk_bytes += s->blk_bytes;
    t->blk_verify_failures += s->blk_verify_failures;
    t->blk_busy_grants += s->blk_busy_grants;
    t->blk_suspends += s->blk_suspends;
    t->blk_suspend_inflight += s->blk_suspend_inflight;
    t->blk_grants_busy_at_suspend += s->blk_grants_busy_at_suspend;
    t->poc_vulnerable += s->poc_vulnerable;
    t->ql_reuses += s->ql_reuses;
    t->ql_released += s->ql_released;
    t->balloon_out += s->balloon_out;
    t->balloon_in += s->balloon_in;
}

/* U2: copy what one domain did into its result row (a domain not on this
   host, U5, has none). */
static void collect_domain(struct run_domain *rd, const struct domain *d,
                           const struct guest_pv *g, const struct guest_hvm *h)
{
    if (!d)
        return;
    if (h)
        guest_hvm_stats(h, &rd->gs);
    else
        guest_pv_stats(g, &rd->gs);
    rd->guest_report = guest_report_text(g, h);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        const struct vcpu *v = d->vcpu[i];
        rd->hypercalls += v->nr_hypercalls;
        rd->hv_faults += v->nr_faults;
        rd->hv_bounced += v->nr_faults_bounced;
        rd->hv_spurious += v->nr_spurious;
    }
    rd->shadowed = shadow_stats(d, &rd->sh);
}

/* det mode: one line on the scheduler (and PCT's guarantee). */
static void print_sched(const struct run_result *r, FILE *f)
{
    const struct sched_report *s = &r->sched_det;
    if (r->sched != SCHED_DET)
        return;
    fprintf(f, "  sched det: %s%s, %u vCPUs, %" PRIu64 " decisions, %" PRIu64
            " switches, %" PRIu64 " at spin points, schedule 0x%016" PRIx64
            "\n", s->replayed ? "replay, then " : "",
            sched_strategy_name[s->strategy], s->nr_vcpus, s->decisions,
            s->switches, s->spin_decisions, s->schedule_hash);
    if (s->strategy == SCHED_PCT)
        fprintf(f, "  sched pct: depth d=%u, k=%" PRIu64 " steps estimated: "
                "a depth-%u bug is found with probability >= 1/(n*k^(d-1)) = "
                "%.3g\n", s->pct_depth, s->pct_steps, s->pct_depth,
                s->pct_bound);
}

/* --schedule-out: the decisions of the run just made. */
static void write_schedule(const struct scenario *sc, const struct run_opts *o,
                           const struct run_result *r,
                           const struct sched_log *log)
{
    if (!o->schedule_out || !log)
        return;
    FILE *f = fopen(o->schedule_out, "w");
    char comment[512];
    snprintf(comment, sizeof(comment), "hvlab run %s --sched det --seed %"
             PRIu64 " (sched.strategy=%s)", sc->path, r->seed,
             sched_strategy_name[r->sched_det.strategy]);
    if (!f || sched_log_write(log, comment, f) != 0 || fclose(f) != 0) {
        fprintf(o->err, "hvlab: --schedule-out %s: %m\n", o->schedule_out);
        return;
    }
}

/*
 * The options that decide how this run's domains are paged: ptwr.mode for
 * PV domains, the shadow options for HVM shadow domains, p2m.lock for HVM
 * (the p2m is theirs).  What a reader of a broken expectation needs to know
 * to tell the old behaviour from the fixed one.
 */
static void describe_paging(const struct scenario *sc, const char *ptwr,
                            char *buf, size_t len)
{
    bool pv = false, shadow = false, hvm = false;
    for (unsigned i = 0; i < sc->nr_domains; i++) {
        pv |= sc->dom[i].kind != DOMAIN_HVM;
        hvm |= sc->dom[i].kind == DOMAIN_HVM;
        shadow |= sc->dom[i].kind == DOMAIN_HVM &&
                  sc->dom[i].paging == PAGING_SHADOW;
    }
    const struct hv_options *o = &sc->hv;
    size_t n = 0;
    buf[0] = '\0';
    if (pv || sc->nr_domains == 0)
        n += (size_t)snprintf(buf + n, len - n, "ptwr.mode=%s", ptwr);
    if (shadow && n < len)
        n += (size_t)snprintf(buf + n, len - n, "%sshadow.oos=%s, "
                              "shadow.fastpath=%s, shadow.fastpath_oos=%s",
                              n ? ", " : "", o->shadow_oos ? "on" : "off",
                              o->shadow_fastpath ? "on" : "off",
                              o->shadow_fastpath_oos == SH_FASTPATH_OOS_RACY
                                  ? "racy" : "fixed");
    if (hvm && n < len)
        snprintf(buf + n, len - n, "%sp2m.lock=%s", n ? ", " : "",
                 o->p2m_lock == P2M_LOCK_NONE ? "none" : "locked");
}

static void print_report(const struct scenario *sc, const struct run_result *r,
                         FILE *f)
{
    fprintf(f, "hvlab run %s: seed %" PRIu64 ", sched %s, %s, "
            "guest.spurious_check=%s\n", sc->path, r->seed,
            r->sched == SCHED_DET ? "det" : "threads", r->paging_opts,
            r->spurious_check ? "on" : "off");
    print_sched(r, f);
    for (unsigned i = 0; i < r->nr_domains; i++) {
        const struct run_domain *d = &r->dom[i];
        const struct guest_stats *g = &d->gs;
        if (d->away) {                                      /* U5 */
            if (r->mig.side == MIG_SIDE_SENDER)
                fprintf(f, "  dom%u '%s': %s %s; its workload goes on "
                        "there\n", d->domid, d->name, r->mig.to_file
                        ? "saved to" : "migrated to", r->mig.peer);
            else
                fprintf(f, "  dom%u '%s': on the sender (host %u), not "
                        "here\n", d->domid, d->name, r->mig.from_host);
            continue;
        }
        if (d->wl.kind == WL_BLK_IO)
            fprintf(f, "  dom%u '%s': %u vCPUs, %" PRIu64 " MiB, blk-io "
                    "backend=dom%u ops=%u depth=%u segs=%u..%u reads=%u%% "
                    "verify=%s sectors=%" PRIu64 "\n", d->domid, d->name,
                    d->nr_vcpus, d->nr_pages >> (20 - PAGE_SHIFT),
                    d->wl.backend, d->wl.ops, d->wl.depth, d->wl.segs_min,
                    d->wl.segs_max, d->wl.reads, d->wl.verify ? "on" : "off",
                    d->wl.sectors);
        else if (d->wl.kind == WL_BLKBACK)
            fprintf(f, "  dom%u '%s': %u vCPUs, %" PRIu64 " MiB, blkback "
                    "(driver domain)\n", d->domid, d->name, d->nr_vcpus,
                    d->nr_pages >> (20 - PAGE_SHIFT));
        else if (d->wl.kind == WL_GRANT_POC)
            fprintf(f, "  dom%u '%s': %u vCPUs, %" PRIu64 " MiB, grant-poc "
                    "xsa=%u\n", d->domid, d->name, d->nr_vcpus,
                    d->nr_pages >> (20 - PAGE_SHIFT), d->wl.xsa);
        else if (d->wl.kind == WL_P2M_RACE)
            fprintf(f, "  dom%u '%s' (privileged): %u vCPUs, %" PRIu64
                    " MiB, p2m-race target=dom%u gfns=%u iters=%u "
                    "sharing=%s\n", d->domid, d->name, d->nr_vcpus,
                    d->nr_pages >> (20 - PAGE_SHIFT), d->wl.target,
                    d->wl.gfns, d->wl.iters, d->wl.sharing ? "on" : "off");
        else
            fprintf(f, "  dom%u '%s': %u vCPUs, %" PRIu64 " MiB, %s procs=%u "
                    "threads=%u iters=%u pages=%u\n", d->domid, d->name,
                    d->nr_vcpus, d->nr_pages >> (20 - PAGE_SHIFT),
                    workload_kind_name[d->wl.kind], d->wl.procs,
                    d->wl.threads, d->wl.iters, d->wl.pages);
        if (d->wl.kind == WL_BLKBACK && g->blk_suspends)
            fprintf(f, "    blkback: %" PRIu64 " suspends acknowledged, %"
                    PRIu64 " requests taken and in flight when they came\n",
                    g->blk_suspends, g->blk_suspend_inflight);
        fprintf(f, "    guest: %" PRIu64 " forks, %" PRIu64 " exits, %" PRIu64
                " pages touched, %" PRIu64 " faults delivered (%" PRIu64
                " spurious, %" PRIu64 " fatal), %" PRIu64 " killed\n",
                g->forks, g->exits, g->pages_touched, g->faults_delivered,
                g->spurious_seen, g->spurious_fatal, g->procs_killed);
        if (d->wl.kind == WL_BLK_IO)
            fprintf(f, "    blkfront: %" PRIu64 " requests completed OK, %"
                    PRIu64 " bytes, %" PRIu64 " sectors failed verification, %"
                    PRIu64 " grants still mapped after the backend closed "
                    "(blkback.persistent=%s, blkback.quiesce=%s)\n",
                    g->blk_ops, g->blk_bytes, g->blk_verify_failures,
                    g->blk_busy_grants,
                    r->blk_persistent ? "on" : "off",
                    r->blk_quiesce ? "on" : "off");
        if (d->wl.kind == WL_BLK_IO && d->wl.suspend_every)
            fprintf(f, "    blkfront: %" PRIu64 " suspends (every %u ops), %"
                    PRIu64 " grants still in use after the backend's "
                    "suspended=1\n", g->blk_suspends, d->wl.suspend_every,
                    g->blk_grants_busy_at_suspend);
        if (d->wl.kind == WL_PT_REUSE)
            fprintf(f, "    pt-reuse: %" PRIu64 " L1s released to the "
                    "quicklist, %" PRIu64 " reused; %" PRIu64 " pages "
                    "ballooned out, %" PRIu64 " back in\n", g->ql_released,
                    g->ql_reuses, g->balloon_out, g->balloon_in);
        if (d->wl.kind == WL_P2M_RACE)
            fprintf(f, "    foreign mapper: %" PRIu64 " pages written through "
                    "foreign mappings, %" PRIu64 " stale mappings\n",
                    g->pages_touched, g->stale_foreign_maps);
        fprintf(f, "    hypervisor: %" PRIu64 " hypercalls, %" PRIu64
                " faults taken (%" PRIu64 " bounced to the guest, %" PRIu64
                " judged spurious)\n", d->hypercalls, d->hv_faults,
                d->hv_bounced, d->hv_spurious);
        if (d->shadowed)
            fprintf(f, "    shadow: %" PRIu64 " fast-path and %" PRIu64
                    " slow-path faults, %" PRIu64 " PT writes emulated, %"
                    PRIu64 " unsyncs, %" PRIu64 " resyncs, %" PRIu64
                    " gnp faults reflected, %" PRIu64 " entries prefetched, %"
                    PRIu64 " frames unshadowed\n", d->sh.fast, d->sh.slow,
                    d->sh.emulated, d->sh.unsync, d->sh.resync,
                    d->sh.gnp_injected, d->sh.prefetched, d->sh.unshadowed);
    }
    mig_run_print(&r->mig, f);
    fprintf(f, "  ran %.3f s; audit: %u violations live, %u after teardown; "
            "heap: %" PRIu64 " frames free before, %" PRIu64 " after\n",
            r->seconds, r->audit_live, r->audit_after, r->free_before,
            r->free_after);
}

/* inject: after a run with a plan (or --inject-stats), its counts. */
static void inject_finish(const struct scenario *sc, const struct run_opts *o,
                          const struct run_result *r)
{
    inj_run_end();
    if (sc->inject)
        inj_stats_print(sc->inject, o->out);
    if (o->inject_stats) {
        FILE *f = fopen(o->inject_stats, "w");
        if (!f || inj_stats_write(f, r->seed) != 0 || fclose(f) != 0)
            fprintf(o->err, "hvlab: --inject-stats %s: %m\n",
                    o->inject_stats);
    }
}

static void free_result(struct run_result *r)
{
    for (unsigned i = 0; i < r->nr_domains; i++)
        free(r->dom[i].guest_report);
    free(r->audit_live_text);
    free(r->audit_after_text);
    free(r);
}

/* o->result gets r's figures, without its text fields. */
static void copy_result(const struct run_opts *o, const struct run_result *r)
{
    if (!o->result)
        return;
    *o->result = *r;
    o->result->audit_live_text = o->result->audit_after_text = NULL;
    for (unsigned i = 0; i < r->nr_domains; i++)
        o->result->dom[i].guest_report = NULL;
}

int runner_run(const struct scenario *sc, const struct run_opts *o)
{
    struct machine *m = NULL;
    struct domain *dom[HV_MAX_DOMAINS] = { 0 };
    struct guest_pv *gk[HV_MAX_DOMAINS] = { 0 };
    struct guest_hvm *hk[HV_MAX_DOMAINS] = { 0 };    /* HVM domains' kernels */
    domid_t domids[HV_MAX_DOMAINS] = { 0 };         /* U1 */
    struct vcpu **vs = NULL;
    struct sched_log *replay = NULL, *record = NULL;
    struct xenbus *xenbus = NULL;   /* blk-io: the xenstore stand-in */
    struct mig_run *mr = NULL;      /* the scenario's `migrate` line */
    struct ramdisk *shared_disk = NULL; /* migrated blk-io: both hosts' */
    unsigned nr_built = 0, nr_vs = 0;   /* rows of dom[] gone through */
    const bool recv = o->mig_from != NULL;      /* U5 */
    const bool remote = o->mig_to != NULL || recv;
    bool injecting = false;         /* inject: armed for this run */
    unsigned nr_crashed = 0;        /* domain_crash: what Xen would do */
    domid_t crash_id[HV_MAX_DOMAINS];
    const char *crash_why[HV_MAX_DOMAINS];
    int status = RUN_ERROR;
    char err[512];

    struct run_result *r = calloc(1, sizeof(*r));
    vs = calloc((size_t)HV_MAX_DOMAINS * HV_MAX_VCPUS, sizeof(*vs));
    if (!r || !vs) {
        fprintf(o->err, "hvlab: out of memory\n");
        free(r);
        free(vs);
        return RUN_ERROR;
    }
    r->seed = o->seed_given ? o->seed : sc->seed;
    r->sched = o->sched;
    if (o->sched == SCHED_DET && o->schedule_in) {
        FILE *f = fopen(o->schedule_in, "r");
        if (!f) {
            fprintf(o->err, "hvlab: --schedule %s: %m\n", o->schedule_in);
            goto out;
        }
        replay = sched_log_read(f, o->schedule_in, err, sizeof(err));
        fclose(f);
        if (!replay) {
            fprintf(o->err, "hvlab: --schedule %s\n", err);
            goto out;
        }
    }
    if (o->sched == SCHED_DET && o->schedule_out &&
        !(record = sched_log_new())) {
        fprintf(o->err, "hvlab: out of memory\n");
        goto out;
    }
    if ((o->save_stream || o->images_dir) && !sc->mig.set) {
        fprintf(o->err, "hvlab: %s: --save-stream and --images need a "
                "scenario with a 'migrate' line\n", sc->path);
        goto out;
    }
    r->ptwr_mode = sc->hv.ptwr_mode == PTWR_UNHOOK ? "unhook" : "emulate";
    describe_paging(sc, r->ptwr_mode, r->paging_opts, sizeof(r->paging_opts));
    r->spurious_check = sc->guest.spurious_check;

    if (remote && !sc->mig.set) {
        fprintf(o->err, "hvlab: %s: migrating to another process needs a "
                "scenario with a 'migrate' line\n", sc->path);
        goto out;
    }
    /* U5: the receiver is the migration's destination host. */
    unsigned from_host = recv ? o->mig_from_host : sc->host_id;
    unsigned to_host = !sc->mig.set ? 0 : sc->mig.to_host < 256
                           ? sc->mig.to_host : (from_host + 1) & 0xff;
    int rc = machine_create(sc->ram_bytes, recv ? to_host : sc->host_id,
                            &sc->hv, &m);
    if (rc) {
        fprintf(o->err, "hvlab: %s: creating a machine with %" PRIu64 " MiB: %s\n",
                sc->path, sc->ram_bytes >> 20, build_errname(rc));
        goto out;
    }
    r->free_before = m->nr_free;
    /* inject: arm before the first domain (its populate is a point too). */
    if (sc->inject || o->inject_stats) {
        if (inj_run_begin(sc->inject, r->seed) != 0) {
            fprintf(o->err, "hvlab: out of memory\n");
            goto teardown;
        }
        injecting = true;
    }

    for (unsigned i = 0, next = 1; i < sc->nr_domains; i++)
        domids[i] = sc->dom[i].privileged ? 0 : (domid_t)next++;
    /* blk-io: one xenstore stand-in for the run, and every vbd added to it
       (the toolstack's half of the handshake, docs/blk.md). */
    r->blk_persistent = sc->guest.blkback_persistent;
    r->blk_quiesce = sc->guest.blkback_quiesce;
    for (unsigned i = 0; i < sc->nr_domains; i++) {
        const struct scn_domain *sd = &sc->dom[i];
        if (sd->wl.kind != WL_BLK_IO || (recv && i != sc->mig.dom))
            continue;
        const struct scn_domain *be =
            sd->wl_backend ? &sc->dom[sd->wl_backend - 1] : NULL;
        if (!be || be->wl.kind != WL_BLKBACK) {
            fprintf(o->err, "hvlab: %s:%u: blk-io backend '%s' does not run "
                    "the blkback workload\n", sc->path, sd->workload_line,
                    be ? be->name : "?");
            goto teardown;
        }
        if (!xenbus && !(xenbus = xenbus_new())) {
            fprintf(o->err, "hvlab: out of memory\n");
            goto teardown;
        }
        if (xenbus_add_vbd(xenbus, domids[i], domids[sd->wl_backend - 1],
                           51712, sd->wl.sectors) != 0) {
            fprintf(o->err, "hvlab: %s: adding the vbd of '%s' to xenbus "
                    "failed\n", sc->path, sd->name);
            goto teardown;
        }
        /* Migrated: its disk is shared storage, served by a backend on
           each host in turn. */
        if (sc->mig.set && sc->mig.dom == i) {
            /* U5: on a file both processes map. */
            shared_disk = o->mig_disk
                ? ramdisk_open_shared(o->mig_disk, sd->wl.sectors, !recv,
                                      err, sizeof(err))
                : ramdisk_new(sd->wl.sectors);
            if (!shared_disk && o->mig_disk) {
                fprintf(o->err, "hvlab: %s: the shared disk of '%s': %s\n",
                        sc->path, sd->name, err);
                goto teardown;
            }
            if (!shared_disk ||
                xenbus_set_vbd_disk(xenbus, domids[i], 51712, shared_disk)) {
                fprintf(o->err, "hvlab: out of memory\n");
                goto teardown;
            }
        }
    }
    /* A migrated domain's kernel hears its suspend request in xenstore. */
    if (sc->mig.set && !xenbus && !(xenbus = xenbus_new())) {
        fprintf(o->err, "hvlab: out of memory\n");
        goto teardown;
    }
    for (unsigned i = 0; i < sc->nr_domains; i++) {
        const struct scn_domain *sd = &sc->dom[i];
        struct workload_params wl = sd->wl;
        wl.seed = mix_seed(r->seed, i);
        if (sd->wl_target) {
            wl.target = domids[sd->wl_target - 1];
            wl.target_pages = sc->dom[sd->wl_target - 1].nr_pages;
        }
        if (sd->wl_backend)
            wl.backend = domids[sd->wl_backend - 1];
        if (wl.kind == WL_BLK_IO || wl.kind == WL_BLKBACK ||
            (sc->mig.set && sc->mig.dom == i))
            wl.xenbus = xenbus;
        struct run_domain *rd = &r->dom[i];
        snprintf(rd->name, sizeof(rd->name), "%s", sd->name);
        rd->domid = domids[i];
        rd->nr_vcpus = sd->nr_vcpus;
        rd->nr_pages = sd->nr_pages;
        rd->wl = wl;
        /* U5: the receiver builds the migrated domain's backend only. */
        if (recv && !(sc->dom[sc->mig.dom].wl_backend == i + 1)) {
            rd->away = i != sc->mig.dom;
            nr_built++;
            continue;
        }
        struct build_pv_config cfg = {
            .domid = domids[i], .nr_vcpus = sd->nr_vcpus,
            .nr_pages = sd->nr_pages, .gopt = &sc->guest, .wl = &wl,
            .privileged = sd->privileged,
        };
        if (sd->kind == DOMAIN_HVM) {
            struct build_hvm_config hcfg = {
                .domid = cfg.domid, .nr_vcpus = cfg.nr_vcpus,
                .nr_pages = cfg.nr_pages, .paging = sd->paging,
                .gopt = cfg.gopt, .wl = cfg.wl,
            };
            rc = build_hvm(m, &hcfg, &dom[i], &hk[i], NULL, err, sizeof(err));
        } else {
            rc = build_pv(m, &cfg, &dom[i], &gk[i], NULL, err, sizeof(err));
        }
        if (rc) {
            fprintf(o->err, "hvlab: %s:%u: building domain '%s': %s\n",
                    sc->path, sd->line, sd->name, err);
            goto teardown;
        }
        nr_built++;
        for (unsigned v = 0; v < dom[i]->nr_vcpus; v++)
            vs[nr_vs++] = dom[i]->vcpu[v];
    }
    r->nr_domains = nr_built;
    if (sc->mig.set) {
        const struct scn_domain *sd = &sc->dom[sc->mig.dom];
        struct run_migration *mg = &r->mig;
        snprintf(mg->dom_name, sizeof(mg->dom_name), "%s", sd->name);
        mg->domid = domids[sc->mig.dom];
        mg->from_host = from_host;
        mg->to_host = to_host;
        mg->side = recv ? MIG_SIDE_RECEIVER
                        : o->mig_to ? MIG_SIDE_SENDER : MIG_SIDE_BOTH;
        snprintf(mg->peer, sizeof(mg->peer), "%s",
                 recv ? o->mig_from_peer : o->mig_to ? o->mig_to : "");
        mg->live = sc->mig.live;
        mg->verify = sc->mig.verify;
        struct mig_run_config mc = {
            .sc = sc, .o = o, .src = m, .d = dom[sc->mig.dom],
            .gk = gk[sc->mig.dom], .hk = hk[sc->mig.dom], .xb = xenbus,
            .backend = sd->wl_backend ? (int)sd->wl_backend - 1 : -1,
            .res = mg, .domid = domids[sc->mig.dom],
        };
        if (mc.backend >= 0) {
            mc.backend_domid = domids[mc.backend];
            mc.backend_wl = r->dom[mc.backend].wl;
        }
        struct vcpu *ctl = NULL;
        if (mig_run_new(&mc, &mr, &ctl, err, sizeof(err)) != 0) {
            fprintf(o->err, "hvlab: %s:%u: migrate: %s\n", sc->path,
                    sc->mig.line, err);
            goto teardown;
        }
        vs[nr_vs++] = ctl;
    }

    struct sched_config scfg = {
        .mode = o->sched, .seed = r->seed,
        .strategy = sc->hv.sched_strategy,
        .pct_depth = sc->hv.sched_pct_depth,
        .pct_steps = sc->hv.sched_pct_steps,
        .mem_quantum = sc->hv.sched_mem_quantum,
        .deadlock_after = sc->hv.sched_deadlock,
        .replay = replay, .record = record,
        .report = &r->sched_det, .err = o->err,
    };
    double t0 = now_seconds();
    rc = sched_run(&scfg, vs, nr_vs);
    r->seconds = now_seconds() - t0;
    if (rc == -XEN_EDEADLK) {       /* N4 */
        write_schedule(sc, o, r, record);
        /* What each guest got done and what its kernel logged is the
           evidence of why its vCPUs wait (the vCPUs are parked, so the
           counters and log are stable). */
        for (unsigned i = 0; i < nr_built; i++) {
            collect_domain(&r->dom[i], dom[i], gk[i], hk[i]);
            mig_run_collect(mr, i, &r->dom[i], add_stats);
        }
        for (unsigned i = 0; i < nr_built; i++)
            if (!r->dom[i].away)
                add_stats(&r->total, &r->dom[i].gs);
        print_report(sc, r, o->out);
        for (unsigned i = 0; i < nr_built; i++)
            if (r->dom[i].guest_report && *r->dom[i].guest_report)
                fprintf(o->out, "%s", r->dom[i].guest_report);
        fprintf(o->out, "  the vCPUs DEADLOCKED (det mode, decision %" PRIu64
                "; where each waits is on stderr); the domains are left "
                "as they stand\n", r->sched_det.decisions);
        status = RUN_BROKEN;
        copy_result(o, r);
        goto out;
    }
    if (rc) {
        if (o->sched == SCHED_DET && rc == -XEN_EINVAL)
            fprintf(o->err, "hvlab: %s: --sched det cannot run this "
                    "configuration (see above)\n", sc->path);
        else
            fprintf(o->err, "hvlab: %s: running the vCPUs: %s\n", sc->path,
                    build_errname(rc));
        goto teardown;
    }
    write_schedule(sc, o, r, record);

    for (unsigned i = 0; i < nr_built; i++) {
        collect_domain(&r->dom[i], dom[i], gk[i], hk[i]);
        mig_run_collect(mr, i, &r->dom[i], add_stats);
    }
    /* U5: the sender's domain finished on the receiver. */
    if (r->mig.side == MIG_SIDE_SENDER && sc->mig.dom < nr_built &&
        (r->mig.resumed_dest || r->mig.to_file))
        r->dom[sc->mig.dom].away = true;
    for (unsigned i = 0; i < nr_built; i++)
        if (!r->dom[i].away)
            add_stats(&r->total, &r->dom[i].gs);
    r->audit_live = audit_both(m, mr, &r->audit_live_text);
    for (unsigned i = 0; i < nr_built; i++)       /* domain_crash */
        if (dom[i] && domain_crashed(dom[i])) {
            crash_id[nr_crashed] = dom[i]->domid;
            crash_why[nr_crashed++] = domain_crashed(dom[i]);
        }
    if (o->dump_tables && dump_tables(m, o->dump_tables, o->err) != 0)
        goto teardown;
    status = RUN_HELD;      /* provisional: the expectations decide below */

teardown:   /* U4: the privileged domain first, then the rest */
    r->destroy_errors += mig_run_teardown(mr, o->err);
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned i = nr_built; i-- > 0;) {
            if (sc->dom[i].privileged != (pass == 0) || !dom[i])
                continue;           /* U5: not built here */
            rc = domain_destroy(dom[i]);
            if (rc) {
                r->destroy_errors++;
                fprintf(o->err, "hvlab: destroying dom%u: %s\n",
                        dom[i] ? dom[i]->domid : domids[i],
                        build_errname(rc));
            }
            guest_pv_free(gk[i]);
            guest_hvm_free(hk[i]);
        }
    if (mig_run_dest(mr)) {         /* the destination's frames count too */
        r->free_before += mig_run_dest_free_before(mr);
        r->free_after_extra = mig_run_dest(mr)->nr_free;
    }
    if (status == RUN_HELD) {
        r->audit_after = audit_both(m, mr, &r->audit_after_text);
        r->free_after = m->nr_free + r->free_after_extra;
        print_report(sc, r, o->out);
        status = expect_evaluate(sc, r, o->out);
        for (unsigned i = 0; i < nr_crashed; i++) {   /* domain_crash */
            fprintf(o->out, "  domain %u crashed: %s\n", crash_id[i],
                    crash_why[i]);
            if (status == RUN_HELD)
                status = RUN_BROKEN;
        }
        if (r->sched_det.diverged) {            /* N4 */
            fprintf(o->err, "hvlab: %s: the replayed schedule %s did not "
                    "fit this run (see above): not a reproduction\n",
                    sc->path, o->schedule_in);
            status = RUN_ERROR;
        }
    } else if (injecting) {
        /* inject: a failed run still says whether it left anything. */
        unsigned bad = audit_both(m, mr, &r->audit_after_text);
        r->audit_after = bad;               /* for o->result (explore) */
        r->free_after = m->nr_free + r->free_after_extra;
        r->run_failed = true;
        fprintf(o->out, "  the run failed (see above); after teardown: "
                "audit %u violations, heap: %" PRIu64 " frames free before, %"
                PRIu64 " after (%s)\n", bad, r->free_before, r->free_after,
                bad == 0 && r->free_after == r->free_before ? "clean, no leak"
                                                           : "NOT CLEAN");
    }
    mig_run_free(mr);
    mr = NULL;
    machine_destroy(m);
    copy_result(o, r);
    xenbus_free(xenbus);
    xenbus = NULL;
out:
    if (injecting)
        inject_finish(sc, o, r);
    sched_log_free(replay);
    sched_log_free(record);
    xenbus_free(xenbus);
    /* N4: a deadlocked run keeps mr (its stopped vCPUs may point into it). */
    ramdisk_free(shared_disk);
    free(vs);
    free_result(r);
    return status;
}
