/*
 * toolstack/expect.c - the expectations a scenario can state, as a table.
 *
 * Each row: the name written after `expect`, its argument (if any), a
 * one-line help, the check on a finished run, and the evidence printer used
 * when the check fails.
 *
 * Rules:
 *   E1  A check reads the run result only (struct run_result); it never
 *       looks at live hypervisor state, which is gone by evaluation time.
 *   E2  Evidence starts with the numbers that broke the expectation, then
 *       says where to look (which domain, the first lines of the guest's or
 *       the audit's own report).
 *   E3  Counts are summed over every domain of the run that is on this
 *       host (run_domain.away: see E4).
 *   E4  A migration between two processes splits the run: the sender
 *       judges what stayed with it, the receiver what came (the migrated
 *       domain's workload, verify mode's comparison).  An expectation whose
 *       evidence is on the other host is printed "n/a" with where it is
 *       judged, and neither holds nor breaks here (elsewhere_reason).
 */
#include <inttypes.h>
#include <string.h>

#include "toolstack/runner.h"
#include "toolstack/scenario.h"

#define EVIDENCE_LINES  6       /* lines quoted from a report */

/* Quote the first lines of a report, indented. */
static void quote(FILE *f, const char *text, unsigned max)
{
    if (!text || !*text)
        return;
    unsigned n = 0;
    const char *s = text;
    while (*s && n < max) {
        const char *nl = strchr(s, '\n');
        int len = nl ? (int)(nl - s) : (int)strlen(s);
        fprintf(f, "      | %.*s\n", len, s);
        n++;
        s += len + (nl ? 1 : 0);
    }
    if (*s) {
        unsigned rest = 0;
        for (; *s; s++)
            rest += *s == '\n';
        fprintf(f, "      | ... (%u more lines)\n", rest + 1);
    }
}

/* ---- audit-clean --------------------------------------------------------- */
static bool audit_clean(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return r->audit_live == 0 && r->audit_after == 0 && r->destroy_errors == 0
        && r->free_after == r->free_before;
}

static void audit_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    const char *sep = "";
    if (r->audit_live) {
        fprintf(f, "%u violations on the live machine after the workload",
                r->audit_live);
        sep = "; ";
    }
    if (r->audit_after) {
        fprintf(f, "%s%u violations after the domains were destroyed", sep,
                r->audit_after);
        sep = "; ";
    }
    if (r->destroy_errors) {
        fprintf(f, "%s%u domain_destroy calls failed", sep, r->destroy_errors);
        sep = "; ";
    }
    if (r->free_after != r->free_before)
        fprintf(f, "%s%lld frames not returned to the heap (free before the "
                "domains: %" PRIu64 ", after: %" PRIu64 ")", sep,
                (long long)(r->free_before - r->free_after), r->free_before,
                r->free_after);
    fputc('\n', f);
    quote(f, r->audit_live_text, EVIDENCE_LINES);
    quote(f, r->audit_after_text, EVIDENCE_LINES);
}

/* ---- guest-side evidence ------------------------------------------------- */
static void guest_reports(const struct run_result *r, FILE *f)
{
    for (unsigned i = 0; i < r->nr_domains; i++)
        if (r->dom[i].guest_report && *r->dom[i].guest_report) {
            fprintf(f, "      dom%u '%s' reported:\n", r->dom[i].domid,
                    r->dom[i].name);
            quote(f, r->dom[i].guest_report, EVIDENCE_LINES);
        }
}

/* ---- no-spurious-fault / max-spurious-faults ----------------------------- */
static bool no_spurious(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return r->total.spurious_seen == 0;
}

static bool max_spurious(const struct run_result *r, uint64_t arg)
{
    return r->total.spurious_seen <= arg;
}

static void spurious_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    fprintf(f, "%" PRIu64 " spurious faults reached the guest (of %" PRIu64
            " page faults delivered; %" PRIu64 " killed a process; "
            "%s, guest.spurious_check=%s)\n",
            r->total.spurious_seen, r->total.faults_delivered,
            r->total.spurious_fatal, r->paging_opts,
            r->spurious_check ? "on" : "off");
    for (unsigned i = 0; i < r->nr_domains; i++)
        if (r->dom[i].gs.spurious_seen)
            fprintf(f, "      dom%u '%s': %" PRIu64 " spurious of %" PRIu64
                    " delivered (hypervisor absorbed %" PRIu64 " itself)\n",
                    r->dom[i].domid, r->dom[i].name, r->dom[i].gs.spurious_seen,
                    r->dom[i].gs.faults_delivered, r->dom[i].hv_spurious);
    guest_reports(r, f);
}

/* ---- workload-ok --------------------------------------------------------- */
static bool workload_ok(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return r->total.verify_failures == 0 && r->total.hypercall_errors == 0
        && r->total.procs_killed == 0;
}

static void workload_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    fprintf(f, "%" PRIu64 " verify failures, %" PRIu64 " hypercall errors, %"
            PRIu64 " processes killed\n", r->total.verify_failures,
            r->total.hypercall_errors, r->total.procs_killed);
    for (unsigned i = 0; i < r->nr_domains; i++) {
        const struct guest_stats *g = &r->dom[i].gs;
        if (g->verify_failures || g->hypercall_errors || g->procs_killed)
            fprintf(f, "      dom%u '%s': %" PRIu64 " verify failures, %" PRIu64
                    " hypercall errors, %" PRIu64 " killed\n", r->dom[i].domid,
                    r->dom[i].name, g->verify_failures, g->hypercall_errors,
                    g->procs_killed);
    }
    guest_reports(r, f);
}

/* ---- no-stale-foreign-map (story B) --------------------------------------- */
static bool no_stale_foreign_map(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return r->total.stale_foreign_maps == 0;
}

static void stale_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    fprintf(f, "%" PRIu64 " foreign mappings named a frame that no longer "
            "backed their gfn (the mapper's M2P check)\n",
            r->total.stale_foreign_maps);
    guest_reports(r, f);
}

/* ---- per-domain workload expectations ----------------------------------- */
/* Whether a domain runs the workload an expectation speaks of, whether it
   met it, and its line of evidence (ending in a newline). */
struct per_domain {
    bool (*runs)(const struct run_domain *d);
    bool (*met)(const struct run_domain *d);
    void (*say)(const struct run_domain *d, FILE *f);
    const char *none;           /* evidence when no domain runs it */
};

/* Holds when at least one domain runs the workload and every such one
   met it. */
static bool every_domain(const struct run_result *r,
                         const struct per_domain *p)
{
    bool any = false;
    for (unsigned i = 0; i < r->nr_domains; i++) {
        const struct run_domain *d = &r->dom[i];
        if (d->away || !p->runs(d))
            continue;
        any = true;
        if (!p->met(d))
            return false;
    }
    return any;
}

/* One line per domain that runs the workload (indented under the first),
   or p->none; then what the guests logged. */
static void every_domain_evidence(const struct run_result *r,
                                  const struct per_domain *p, FILE *f)
{
    bool any = false;
    for (unsigned i = 0; i < r->nr_domains; i++) {
        const struct run_domain *d = &r->dom[i];
        if (d->away || !p->runs(d))
            continue;
        if (any)
            fprintf(f, "      ");
        any = true;
        p->say(d, f);
    }
    if (!any)
        fprintf(f, "%s\n", p->none);
    guest_reports(r, f);
}

/* ---- blk-verified (blk-io) ---------------------------------------------- */
static bool blk_runs(const struct run_domain *d)
{
    return d->wl.kind == WL_BLK_IO;
}

static bool blk_met(const struct run_domain *d)
{
    return d->gs.blk_ops == d->wl.ops && !d->gs.blk_verify_failures;
}

static void blk_say(const struct run_domain *d, FILE *f)
{
    fprintf(f, "dom%u '%s': %" PRIu64 " of %u requests completed OK, %"
            PRIu64 " sectors read back wrong\n", d->domid, d->name,
            d->gs.blk_ops, d->wl.ops, d->gs.blk_verify_failures);
}

/* The guest reports quote the first bad sectors, as logged. */
static const struct per_domain blk_io = {
    blk_runs, blk_met, blk_say, "no domain runs the blk-io workload",
};

static bool blk_verified(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return every_domain(r, &blk_io);
}

static void blk_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    every_domain_evidence(r, &blk_io, f);
}

/* ---- blk-quiesced (blk-io suspend-every=N) ------------------------------- */
/* Every suspend the backend acknowledged found no grant of the frontend
   still GTF_reading / GTF_writing; a run with no suspend does not hold. */
static bool blk_suspending(const struct run_domain *d)
{
    return d->wl.kind == WL_BLK_IO && d->wl.suspend_every;
}

static bool blk_quiet(const struct run_domain *d)
{
    return d->gs.blk_suspends != 0 && !d->gs.blk_grants_busy_at_suspend;
}

static void blk_quiet_say(const struct run_domain *d, FILE *f)
{
    fprintf(f, "dom%u '%s': %" PRIu64 " suspends, %" PRIu64 " grant "
            "entries still in use after the backend's suspended=1",
            d->domid, d->name, d->gs.blk_suspends,
            d->gs.blk_grants_busy_at_suspend);
    unsigned k = 0;                 /* the first distinct refs */
    for (; k < GUEST_BLK_BUSY_MAX && d->gs.blk_busy_ref[k]; k++)
        fprintf(f, "%s ref %u frame %#x flags %#x", k ? "," : ":",
                d->gs.blk_busy_ref[k], d->gs.blk_busy_frame[k],
                d->gs.blk_busy_flags[k]);
    if (k == GUEST_BLK_BUSY_MAX)
        fprintf(f, ", ...");
    fprintf(f, "\n");
}

/* The guest reports quote each busy grant, as logged. */
static const struct per_domain blk_suspend = {
    blk_suspending, blk_quiet, blk_quiet_say,
    "no blk-io domain suspends (workload ... suspend-every=N)",
};

static bool blk_quiesced(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return every_domain(r, &blk_suspend);
}

static void blk_quiesced_evidence(const struct run_result *r, uint64_t arg,
                                  FILE *f)
{
    (void)arg;
    every_domain_evidence(r, &blk_suspend, f);
}

/* ---- grant-poc-safe (the grant bug zoo) --------------------------------- */
static bool poc_runs(const struct run_domain *d)
{
    return d->wl.kind == WL_GRANT_POC;
}

static bool poc_safe(const struct run_domain *d)
{
    return !d->gs.poc_vulnerable;
}

static void poc_say(const struct run_domain *d, FILE *f)
{
    fprintf(f, "dom%u '%s': the XSA-%u PoC %s\n", d->domid, d->name,
            d->wl.xsa, d->gs.poc_vulnerable ? "found the hypervisor "
            "VULNERABLE" : "found nothing");
}

/* The guest reports quote what the guest observed, as logged. */
static const struct per_domain grant_poc = {
    poc_runs, poc_safe, poc_say, "no domain runs the grant-poc workload",
};

static bool grant_poc_safe(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return every_domain(r, &grant_poc);
}

static void grant_poc_evidence(const struct run_result *r, uint64_t arg,
                               FILE *f)
{
    (void)arg;
    every_domain_evidence(r, &grant_poc, f);
}

/* ---- minimum amounts of work --------------------------------------------- */
static bool min_forks(const struct run_result *r, uint64_t arg)
{
    return r->total.forks >= arg;
}

static void forks_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    fprintf(f, "only %" PRIu64 " forks ran, at least %" PRIu64 " expected\n",
            r->total.forks, arg);
}

static bool min_pages(const struct run_result *r, uint64_t arg)
{
    return r->total.pages_touched >= arg;
}

static void pages_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    fprintf(f, "only %" PRIu64 " pages touched, at least %" PRIu64 " expected\n",
            r->total.pages_touched, arg);
}

static void max_spurious_evidence(const struct run_result *r, uint64_t arg,
                                  FILE *f)
{
    fprintf(f, "more than %" PRIu64 ": ", arg);
    spurious_evidence(r, arg, f);
}

/* ---- migrated, verify-clean ----------------------------------------------- */
static bool migrated(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    if (r->mig.set && r->mig.to_file)   /* xl save: restored later */
        return r->mig.save_rc == 0 && r->mig.stream_bytes != 0;
    return r->mig.set && r->mig.save_rc == 0 && r->mig.restore_rc == 0 &&
           r->mig.resumed_dest;
}

static void migrated_evidence(const struct run_result *r, uint64_t arg,
                              FILE *f)
{
    (void)arg;
    const struct run_migration *m = &r->mig;
    if (!m->set) {
        fprintf(f, "the scenario has no 'migrate' line\n");
        return;
    }
    if (!m->started)
        fprintf(f, "the migration of dom%u never started: %s\n", m->domid,
                m->err);
    else if (m->save_rc)
        fprintf(f, "saving dom%u failed (%s after %u live iterations): %s%s\n",
                m->domid, m->save_rc < 0 ? "error" : "?", m->save.live_rounds,
                m->err, m->resumed_source ? "; the guest resumed on the "
                "source" : "");
    else if (m->restore_rc)
        fprintf(f, "restoring dom%u on host %u failed: %s%s\n", m->domid,
                m->to_host, m->err, m->resumed_source ? "; the guest resumed "
                "on the source" : "");
    else
        fprintf(f, "dom%u was restored on host %u but the guest did not "
                "resume there: %s\n", m->domid, m->to_host, m->err);
}

static bool verify_clean(const struct run_result *r, uint64_t arg)
{
    (void)arg;
    return r->mig.set && r->mig.verify_seen && r->mig.verify_mismatches == 0;
}

static void verify_evidence(const struct run_result *r, uint64_t arg, FILE *f)
{
    (void)arg;
    const struct run_migration *m = &r->mig;
    if (!m->set || !m->verify) {
        fprintf(f, "the migration did not run in verify mode (migrate ... "
                "verify=on)\n");
        return;
    }
    if (!m->verify_seen) {
        fprintf(f, "the restore never reached the VERIFY record (%s)\n",
                m->err[0] ? m->err : "the migration did not finish");
        return;
    }
    fprintf(f, "%" PRIu64 " of %" PRIu64 " pages the source sent again after "
            "VERIFY differ from what the destination had restored (pfn",
            m->verify_mismatches, m->verify_pages);
    for (unsigned i = 0; i < m->nr_mismatch_listed; i++)
        fprintf(f, "%s%#" PRIx64, i ? ", " : " ", m->mismatch_pfn[i]);
    fprintf(f, "%s): written after their last send, never marked dirty "
            "(hvlab_mig:verify_mismatch in a trace names each)\n",
            m->verify_mismatches > m->nr_mismatch_listed ? ", ..." : "");
}

/* ---- the table ----------------------------------------------------------- */
static const struct expect_kind expect_table[] = {
    { "audit-clean", NULL,
      "no frame/type invariant broken during or after the run, and every frame "
      "back in the heap after the domains are destroyed",
      audit_clean, audit_evidence, EXPECT_HERE, WL_NR },
    { "workload-ok", NULL,
      "no memory verify failure, no unexpected hypercall error, no process killed",
      workload_ok, workload_evidence, EXPECT_FAILURES, WL_NR },
    { "no-spurious-fault", NULL,
      "no page fault whose PTE was present reached a guest kernel",
      no_spurious, spurious_evidence, EXPECT_FAILURES, WL_NR },
    { "max-spurious-faults", "N",
      "at most N spurious page faults reached the guest kernels",
      max_spurious, max_spurious_evidence, EXPECT_FAILURES, WL_NR },
    { "no-stale-foreign-map", NULL,
      "no foreign mapping of a gfn named a frame that no longer backed it "
      "(p2m-race: the mapper's check)",
      no_stale_foreign_map, stale_evidence, EXPECT_FAILURES, WL_NR },
    { "blk-verified", NULL,
      "every blk-io request completed OK and every sector read back what "
      "was last written (blkfront's check)",
      blk_verified, blk_evidence, EXPECT_DOMAIN, WL_BLK_IO },
    { "blk-quiesced", NULL,
      "every suspend of a blk-io vbd (suspend-every=N) found none of the "
      "frontend's grants still mapped by the backend (GTF_reading / "
      "GTF_writing) once the backend acknowledged",
      blk_quiesced, blk_quiesced_evidence, EXPECT_DOMAIN, WL_BLK_IO },
    { "grant-poc-safe", NULL,
      "the grant-poc guest's XTF proof of concept did not find its XSA's "
      "bug (grant.xsa* off)",
      grant_poc_safe, grant_poc_evidence, EXPECT_DOMAIN, WL_GRANT_POC },
    { "min-forks", "N",
      "the guests forked at least N processes (the workload really ran)",
      min_forks, forks_evidence, EXPECT_WORK, WL_NR },
    { "min-pages", "N",
      "the guests touched at least N pages",
      min_pages, pages_evidence, EXPECT_WORK, WL_NR },
    { "migrated", NULL,
      "the scenario's migration completed: saved, restored on the "
      "destination machine, and the guest resumed there",
      migrated, migrated_evidence, EXPECT_HERE, WL_NR },
    { "verify-clean", NULL,
      "the migration ran in verify mode and every page sent again after "
      "VERIFY matched what the destination had restored",
      verify_clean, verify_evidence, EXPECT_RECEIVER, WL_NR },
};

const struct expect_kind *expect_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(expect_table); i++)
        if (strcmp(expect_table[i].name, name) == 0)
            return &expect_table[i];
    return NULL;
}

void expect_list(FILE *f)
{
    for (size_t i = 0; i < ARRAY_SIZE(expect_table); i++) {
        const struct expect_kind *k = &expect_table[i];
        char head[64];
        snprintf(head, sizeof(head), "%s%s%s", k->name, k->arg ? " " : "",
                 k->arg ? k->arg : "");
        fprintf(f, "  expect %-24s %s\n", head, k->help);
    }
}

void expect_names(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(expect_table) && n < len; i++)
        n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
                      expect_table[i].name);
}

/* E4: why k is judged on the other host of a two-process migration, or
   NULL when it is judged here (k->where, k->wl). */
static const char *elsewhere_reason(const struct expect_kind *k,
                                    const struct run_result *r)
{
    const struct run_migration *m = &r->mig;
    bool sender = m->side == MIG_SIDE_SENDER;
    if (m->side == MIG_SIDE_BOTH || k->where == EXPECT_HERE)
        return NULL;
    if (k->where == EXPECT_RECEIVER)
        return sender ? "the receiver compares the pages sent after VERIFY "
                        "(judged by hvlab receive)" : NULL;
    if (k->where == EXPECT_WORK)
        return sender ? "the migrated domain's work is counted where it "
                        "finished (judged by hvlab receive)" : NULL;
    bool here = false, away = false;
    for (unsigned d = 0; d < r->nr_domains; d++) {
        const struct run_domain *rd = &r->dom[d];
        if (k->where == EXPECT_DOMAIN && rd->wl.kind != k->wl)
            continue;
        if (rd->away)
            away = true;
        else
            here = true;
    }
    if (!away || here)
        return NULL;
    return sender ? "the domain it looks at finished on the receiver "
                    "(judged by hvlab receive)"
                  : "the domain it looks at is not on this host (judged by "
                    "the sender)";
}

int expect_evaluate(const struct scenario *sc, const struct run_result *r,
                    FILE *f)
{
    unsigned na = 0;
    unsigned broken = 0;
    if (sc->nr_expects == 0)
        fprintf(f, "expectations: none stated\n");
    for (unsigned i = 0; i < sc->nr_expects; i++) {
        const struct scn_expect *e = &sc->expect[i];
        char head[64];
        if (e->kind->arg)
            snprintf(head, sizeof(head), "%s %" PRIu64, e->kind->name, e->arg);
        else
            snprintf(head, sizeof(head), "%s", e->kind->name);
        const char *why = elsewhere_reason(e->kind, r);
        if (why) {
            na++;
            fprintf(f, "  %s: n/a here - %s\n", head, why);
        } else if (e->kind->check(r, e->arg)) {
            fprintf(f, "  %s: held\n", head);
        } else {
            broken++;
            fprintf(f, "  %s: BROKEN (%s:%u) - ", head, sc->path, e->line);
            e->kind->evidence(r, e->arg, f);
        }
    }
    if (sc->nr_expects && na)
        fprintf(f, "%u of %u expectations judged here held%s (%u judged by "
                "the other host)\n", sc->nr_expects - na - broken,
                sc->nr_expects - na, broken ? "" : " - ok", na);
    else if (sc->nr_expects)
        fprintf(f, "%u of %u expectations held%s\n", sc->nr_expects - broken,
                sc->nr_expects, broken ? "" : " - ok");
    return broken ? RUN_BROKEN : RUN_HELD;
}
