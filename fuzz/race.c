/*
 * fuzz/race.c - the race surfaces, FUZZ_RACE and FUZZ_HVMRACE: the input
 * chooses the program and the interleaving (fuzz/race.h, docs/fuzz.md
 * "Races", "HVM races").
 *
 * The sequential surfaces run one call at a time and audit after each, so
 * no two hypercalls ever overlap.  Here dom1's two vCPUs each run their
 * share of the program as a det-mode coroutine (core/sched_det.c D1-D8):
 * at every scheduling point (lock, hypercall entry/exit/preemption, guest
 * fault, every mem_quantum guest accesses) one decision picks who runs on,
 * and the input's first bytes are those decisions.
 *
 * Rules:
 *   RC1  Input: byte 0 is L; the next min(L, len - 1) bytes are the
 *        schedule; the rest is a program in the mm surface's byte format
 *        (fz_decode with the mm op list, fuzz/prog.h P1), so any bytes are
 *        an input (F1).
 *   RC2  Decision i runs vCPU schedule[i] % 2 (a replayed schedule,
 *        sched_config.replay); past the schedule, or once it names the
 *        vCPU that has ended, the det scheduler's random strategy decides,
 *        seeded with the FNV-1a hash of the whole input.  With two
 *        coroutines that is "modulo the live vCPUs": once one has ended
 *        the other is the only choice.  Same input, same decisions (F2).
 *        sched.mem_quantum and sched.deadlock_after (fuzz_set_option) are
 *        the world's; sched.strategy is not looked at (always random).
 *   RC3  Every call runs as dom1 (the race is between dom1's vCPUs): the
 *        call's actor byte keeps only its vCPU, (byte / 3) % 2 (the mm
 *        surface's formula for a domU), and its picks count domains from
 *        dom1.  Privileged ops (update_va_mapping_otherdomain) run as dom1
 *        too and are refused as Xen refuses a domU.  Each vCPU issues its
 *        calls in program order, with its arguments in its own half of
 *        dom1's argument buffer (vCPU k: buffer pages 2k, 2k+1), as two
 *        guest threads have their own stacks.
 *   RC4  Oracle, once every coroutine has ended (the machine is quiescent):
 *        a deadlock (sched_run_det's -XEN_EDEADLK) is the finding
 *        "deadlock"; then RC5; then hv_audit and the isolation checks
 *        exactly as fuzz/exec.c E3 (fz_oracle, fuzz/call.h).  at_call is
 *        the program index of the last call that ran: the highest index
 *        of the calls either vCPU began (a deadlocked call included), so
 *        no call after it ran and `hvlab repro --minimize` may cut the
 *        program after it, as for the other surfaces.
 *   RC5  Story C (XEN-NOTES 12.C, scenarios/ptwr-unhook-spurious.hvl): a
 *        page fault bounced to the guest although, when the guest gets
 *        it, its access would succeed (the hypervisor's own walk of the
 *        vCPU's current root, no A/D update, no batch closed) is the
 *        finding FZ_RACE_SPURIOUS.  The fuzzer's guest has no #PF handler;
 *        for the run dom1's vCPUs get one that judges the fault this way
 *        and then ends the access as no handler would (PF_KILL).  With
 *        ptwr.mode=emulate core/traps.c rule 3 keeps every such fault
 *        from the guest, so this never fires; with ptwr.mode=unhook it
 *        catches the race of the story (a batch flushed by the other vCPU
 *        between a not-present fault and its handling) and also a stale
 *        TLB entry's fault, both of which Xen 3.0 bounced.
 *   RC6  The p2m lookup race and the shadow OOS fast-path race
 *        (scenarios/p2m-lookup-race.hvl, oos-fastpath-race.hvl) are HVM
 *        stories: the race surface's PV world cannot reach them; the
 *        hvmrace surface (RC8, RC9) runs this engine on an HVM world.
 *   RC7  A deadlocked machine holds locks forever and its vCPUs stopped
 *        mid-hypercall, so its domains must not be torn down
 *        (core/sched.h): they stay allocated, unreachable, and never run
 *        again.  What nothing live points into is released, with the
 *        functions that free without taking a lock: the world's pfn -> mfn
 *        tables and its kept isolation walk; each domain's grant and
 *        event-channel tables and its vCPUs (the struct domain stays: the
 *        crash records may name it);
 *        and the machine (machine_destroy: its side tables by their
 *        destructors, which look at no domain; its RAM and frame table go
 *        back to the arena cache, core/machine.c rule 10, so the new
 *        machine takes the same mappings).  Then the world is built anew
 *        in its place.  Under the snapshot reset (fuzz/exec.c E8) none of
 *        that is done: the next restore puts back every arena, RAM and
 *        frame-table page the stopped vCPUs left, locks included, and
 *        the world's own struct was not written.  Either way the two
 *        coroutine stacks stay mapped (core/sched_det.c D4 keeps them and
 *        does not hand out their addresses: 2 x CORO_STACK_BYTES of
 *        address space per deadlock).
 *   RC8  FUZZ_HVMRACE (fuzz/hvmrace.h, world.h W8): the input has one more
 *        byte in front, the racer: even, dom1's two vCPUs (HVM, shadow
 *        paging: story A's guest); odd, dom0's two (privileged PV: story
 *        B's foreign mapper and pager, dom2 its HAP target).  Then L, the
 *        schedule and a program of the hvmrace op list (fuzz/prog.c), as
 *        RC1-RC3 with the racer in dom1's place.  For the run the injector
 *        is armed with the HVM stories' windows as yields (hvmrace.c H1):
 *        each hit is one more decision of the schedule.
 *   RC9  Its oracle, in RC4's order after the deadlock: RC5 for a PV racer;
 *        for the HVM racer story A's judge (hvmrace.c H2-H4,
 *        FZ_HVMRACE_SPURIOUS); the first writable foreign map mmu_update
 *        installed from a stale lookup during the run (fuzz/call.c CA9,
 *        FZ_HVMRACE_STALE); then hv_audit (its invariant 22: a writable
 *        mapping of a shared frame) and the isolation checks.
 *   RC10 Interleaving coverage.  The run counts its point pairs (core/
 *        sched_det.c D9: what one vCPU reached while the other stood
 *        where, by lock level, hypercall and injection point) and, once
 *        every coroutine has ended, feeds them to the fuzzer as edges
 *        (fuzz/paircov.h).  Code coverage alone cannot tell two
 *        interleavings of the same calls apart, so a queue entry whose
 *        schedule first parked a vCPU inside a window while the other ran
 *        a hypercall was not kept; now it is, and the mutator (fuzz/main/
 *        mutator.c) works from it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/memory.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/evtchn.h"
#include "core/grant/grant_table.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/page.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "inject/inject.h"
#include "fuzz/call.h"
#include "fuzz/hvmrace.h"
#include "fuzz/isolation.h"
#include "fuzz/paircov.h"
#include "fuzz/pool.h"
#include "fuzz/prog.h"
#include "fuzz/race.h"
#include "fuzz/snap_alloc.h"
#include "fuzz/world.h"

#define RACE_BUF_PAGES  (FZ_BUF_PAGES / FZ_RACE_VCPUS)      /* RC3 */

static struct fz_race_stats last;
static unsigned forced_deadlocks;       /* fz_race_force_deadlock (tests) */

void fz_race_force_deadlock(unsigned n)
{
    forced_deadlocks = n;
}

const struct fz_race_stats *fz_race_last(void)
{
    return &last;
}

static uint8_t pairs[SCHED_PAIR_SLOTS];                     /* RC10 */

const uint8_t *fz_race_pairs(void)
{
    return pairs;
}

/* --- the input (RC1, RC2) -------------------------------------------------- */

/* The program of an input of surface s, every call moved to the racing
   domain (RC3, RC8). */
static void decode(enum fuzz_surface s, const struct fz_race_input *in,
                   struct fz_prog *p)
{
    static size_t start[FUZZ_MAX_CALLS], end[FUZZ_MAX_CALLS];
    enum fuzz_surface ps = fz_race_prog_surface(s);
    fz_decode(ps, in->prog, in->nprog, p);
    unsigned n = fz_program_spans(ps, in->prog, in->nprog, start, end,
                                  FUZZ_MAX_CALLS);
    unsigned ndoms = fz_world_ndoms(s);
    p->surface = s;
    for (unsigned i = 0; i < p->ncalls; i++) {
        uint8_t a = i < n && start[i] + 1 < in->nprog ? in->prog[start[i] + 1]
                                                       : 0;
        p->call[i].actor = (uint8_t)in->racer;
        p->call[i].vcpu = (uint8_t)((a / ndoms) % FZ_RACE_VCPUS);
    }
}

/* The schedule bytes as a replayable schedule (core/sched.h file format);
   NULL when there are none. */
static struct sched_log *schedule_of(const struct fz_race_input *in)
{
    if (!in->nsched)
        return NULL;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (!f)
        return NULL;
    fprintf(f, "hvlab-schedule 1\nvcpus %u\ndecisions %zu\n---\n",
            FZ_RACE_VCPUS, in->nsched);
    for (size_t i = 0; i < in->nsched; i++)
        fprintf(f, "%u%c", in->sched[i] % FZ_RACE_VCPUS,
                (i % 16 == 15) ? '\n' : ' ');
    fputc('\n', f);
    fclose(f);
    struct sched_log *l = NULL;
    FILE *r = text ? fmemopen(text, tlen, "r") : NULL;
    if (r) {
        char why[256];
        l = sched_log_read(r, "race schedule", why, sizeof(why));
        fclose(r);
    }
    free(text);
    return l;
}

/* --- the run ---------------------------------------------------------------- */

static struct fz_prog prog;             /* big: not on the stack */

struct race_run {
    struct fz_world *w;
    unsigned racer;             /* world index of the racing domain */
    struct fz_state st;
    unsigned calls_run;
    unsigned last_call;         /* RC4: the highest index begun */
    /* RC5: the first spurious fault. */
    uint64_t spurious;
    char spurious_text[256];
};

struct race_vcpu {
    struct race_run *r;
    unsigned idx;
};

/* The coroutine of dom1's vCPU idx: its calls in program order (RC3). */
static void race_entry(struct vcpu *v, void *arg)
{
    struct race_vcpu *rv = arg;
    struct race_run *r = rv->r;
    struct fz_call_ctx c = {
        .w = r->w, .st = &r->st, .actor = r->racer, .v = v,
        .buf = fz_directmap_va(r->w->dom[r->racer].buf.first +
                               rv->idx * RACE_BUF_PAGES),
    };
    for (unsigned i = 0; i < prog.ncalls; i++) {
        if (prog.call[i].vcpu != rv->idx)
            continue;
        if (i > r->last_call)                           /* RC4 */
            r->last_call = i;
        (void)fz_run_call(&c, &prog.call[i]);
        r->calls_run++;
    }
}

/* RC5: the guest's #PF handler for the run. */
static enum pf_outcome race_pf(struct vcpu *v, uint64_t va, uint32_t pfec,
                               void *ctx)
{
    struct race_run *r = ctx;
    struct mmu_walk w;
    pfec &= MMU_PFEC_MASK;
    if (!r || (pfec & PFEC_RSVD) || !mfn_valid(v->d->m, v->cr3))
        return PF_KILL;
    if (mmu_walk(v->d->m, v->cr3, va, pfec & (PFEC_WRITE | PFEC_USER |
                                              PFEC_INSN), false, &w) != 0)
        return PF_KILL;
    if (r->spurious++ == 0)
        snprintf(r->spurious_text, sizeof(r->spurious_text),
                 "dom%u v%u: a fault at %#llx (error code %#x) reached the "
                 "guest, but its access succeeds now (leaf %#llx at level %u, "
                 "mfn %#llx); ptwr.mode=%s\n",
                 (unsigned)v->d->domid, v->vcpu_id, (unsigned long long)va,
                 pfec, (unsigned long long)w.pte[w.page_level],
                 w.page_level, (unsigned long long)w.mfn,
                 v->d->m->opt.ptwr_mode == PTWR_EMULATE ? "emulate"
                                                        : "unhook");
    return PF_KILL;
}

/* RC7: release what a deadlocked world leaves that nothing live points
   into, and build the world anew in its place (the next run resets that
   one as usual). */
static void abandon(struct fz_world *w)
{
    struct machine *m = w->m;
    enum fuzz_surface s = w->surface;
    for (unsigned i = 0; i < FZ_MAX_DOMS; i++) {
        free(w->dom[i].p2m);
        w->dom[i].p2m = NULL;
        w->dom[i].d = NULL;
    }
    for (unsigned id = 0; m && id < HV_MAX_DOMAINS; id++) {
        struct domain *d = m->domains[id];
        if (!d)
            continue;
        gnttab_domain_free(d);          /* the tables only: no lock taken */
        evtchn_domain_free(d);
        for (unsigned k = 0; k < d->nr_vcpus; k++) {
            vcpu_free(d->vcpu[k]);
            d->vcpu[k] = NULL;
        }
        d->nr_vcpus = 0;
    }
    machine_destroy(m);         /* its destructors look at no domain */
    w->m = NULL;
    fz_iso_free(w->iso);        /* the kept walk reads no domain */
    w->iso = NULL;
    if (fz_world_build(w, s)) {
        fprintf(stderr, "hvlab-fuzz: race: the world could not be "
                "rebuilt after a deadlock\n");
        abort();
    }
}

/* RC4 after the deadlock check. */
static int oracle(struct race_run *r, const struct fz_hvmrace_judge *j,
                  struct fuzz_result *res)
{
    struct fz_world *w = r->w;
    const char *name = NULL, *text = NULL;
    current = NULL;
    if (r->spurious) {                                  /* RC5 */
        name = FZ_RACE_SPURIOUS;
        text = r->spurious_text;
    } else if (j && j->spurious) {                      /* RC9 */
        name = FZ_HVMRACE_SPURIOUS;
        text = j->text;
    } else if (r->st.stale_maps) {                      /* RC9 */
        name = FZ_HVMRACE_STALE;
        text = r->st.stale_text;
    }
    if (name) {
        snprintf(res->invariant, sizeof(res->invariant), "%s", name);
        snprintf(res->report, sizeof(res->report), "%s: %s", name, text);
        return 1;
    }
    return fz_oracle(w, res);                 /* fuzz/call.h, E3 */
}

int fz_race_run(struct fz_world *w, const uint8_t *data, size_t len,
                struct fuzz_result *res, bool abort_on)
{
    static struct race_run run;
    static struct fz_hvmrace_judge judge;
    enum fuzz_surface s = w->surface;
    struct fz_race_input in;
    fz_race_split_for(s, data, len, &in);
    decode(s, &in, &prog);
    res->calls = prog.ncalls;
    memset(&last, 0, sizeof(last));
    for (unsigned i = 0; i < prog.ncalls; i++)
        last.calls[prog.call[i].vcpu]++;

    struct domain *d = w->dom[in.racer].d;
    if (!d || d->nr_vcpus < FZ_RACE_VCPUS)
        return 0;
    memset(&run, 0, sizeof(run));
    run.w = w;
    run.racer = in.racer;
    bool hvm = s == FUZZ_HVMRACE;                       /* RC8 */

    struct race_vcpu rv[FZ_RACE_VCPUS];
    struct vcpu *v[FZ_RACE_VCPUS];
    struct {
        guest_pf_fn fn;
        void *ctx;
        vcpu_entry_fn entry;
        void *arg;
        pf_vector_fn vector;
    } saved[FZ_RACE_VCPUS];
    for (unsigned i = 0; i < FZ_RACE_VCPUS; i++) {
        v[i] = d->vcpu[i];
        saved[i].fn = v[i]->guest_pf_handler;
        saved[i].ctx = v[i]->guest_ctx;
        saved[i].entry = v[i]->entry;
        saved[i].arg = v[i]->entry_arg;
        saved[i].vector = v[i]->pf_vector;
        rv[i] = (struct race_vcpu){ &run, i };
        if (d->kind == DOMAIN_PV)                       /* RC5 */
            vcpu_set_guest_pf_handler(v[i], race_pf, &run);
        v[i]->entry = race_entry;
        v[i]->entry_arg = &rv[i];
    }
    if (hvm && d->kind != DOMAIN_PV)                    /* RC9 */
        fz_hvmrace_judge_arm(&judge, v, FZ_RACE_VCPUS);
    if (hvm)                                            /* RC9 */
        fz_foreign_watch(&run.st);
    if (hvm && fz_hvmrace_windows_arm(in.seed)) {       /* RC8 */
        fprintf(stderr, "hvlab-fuzz: hvmrace: the injector could not be "
                "armed\n");
        abort();
    }

    struct sched_log *replay = schedule_of(&in);
    struct sched_report rep;
    char *errtext = NULL;
    size_t errlen = 0;
    FILE *err = open_memstream(&errtext, &errlen);
    struct sched_config cfg = {
        .mode = SCHED_DET, .seed = in.seed, .strategy = SCHED_RANDOM,
        .replay = replay, .report = &rep, .err = err ? err : stderr,
        .mem_quantum = w->m->opt.sched_mem_quantum,         /* RC2 */
        .deadlock_after = w->m->opt.sched_deadlock,
    };
    memset(&rep, 0, sizeof(rep));
    memset(pairs, 0, sizeof(pairs));                        /* RC10 */
    cfg.pairs = pairs;
    current = NULL;
    int rc = sched_run_det(&cfg, v, FZ_RACE_VCPUS);
    current = NULL;
    fz_paircov_feed(pairs);
    if (hvm) {
        inj_run_release();                      /* hvmrace.c H1 */
        fz_foreign_watch(NULL);
    }
    if (rc == 0 && forced_deadlocks) {          /* tests: RC7's path */
        forced_deadlocks--;
        rc = -XEN_EDEADLK;
    }
    if (err)
        fclose(err);
    sched_log_free(replay);
    last.decisions = rep.decisions;
    last.switches = rep.switches;
    last.schedule_hash = rep.schedule_hash;
    last.spurious = run.spurious;
    res->calls_run = run.calls_run;
    res->at_call = run.last_call;                              /* RC4 */

    int found = 0;
    if (rc == -XEN_EDEADLK) {                           /* RC4 */
        last.deadlock = true;
        snprintf(res->invariant, sizeof(res->invariant), "%s",
                 FZ_RACE_DEADLOCK);
        snprintf(res->report, sizeof(res->report), "%s: after %u calls\n%s",
                 FZ_RACE_DEADLOCK, run.calls_run,
                 errtext ? errtext : "");
        found = 1;
        fz_hvmrace_judge_disarm();
        if (!fz_arena_inside())                         /* RC7 */
            abandon(w);
    } else {
        fz_hvmrace_judge_disarm();
        for (unsigned i = 0; i < FZ_RACE_VCPUS; i++) {
            vcpu_set_guest_pf_handler(v[i], saved[i].fn, saved[i].ctx);
            v[i]->entry = saved[i].entry;
            v[i]->entry_arg = saved[i].arg;
            v[i]->pf_vector = saved[i].vector;
        }
        if (rc) {
            fprintf(stderr, "hvlab-fuzz: race: the det scheduler refused "
                    "the run (%d):\n%s", rc, errtext ? errtext : "");
            abort();
        }
        found = oracle(&run, hvm && d->kind != DOMAIN_PV ? &judge : NULL,
                       res);
    }
    free(errtext);
    if (!found)
        return 0;
    res->violation = true;
    if (abort_on) {
        fprintf(stderr, "hvlab-fuzz: %s after call %u\n%s", res->invariant,
                res->at_call, res->report);
        fz_race_print(s, data, len, stderr);
        abort();
    }
    return 1;
}

void fz_race_print(enum fuzz_surface s, const uint8_t *data, size_t len,
                   FILE *f)
{
    struct fz_race_input in;
    fz_race_split_for(s, data, len, &in);
    if (s == FUZZ_HVMRACE)                              /* RC8 */
        fprintf(f, "racing: dom%u's vCPUs 0 and 1\n",
                (unsigned)fz_world_domid(s, in.racer));
    fprintf(f, "schedule (%zu decisions, then random, seed %#llx):",
            in.nsched, (unsigned long long)in.seed);
    for (size_t i = 0; i < in.nsched; i++)
        fprintf(f, "%s%u", (i % 32) ? "" : "\n  ",
                in.sched[i] % FZ_RACE_VCPUS);
    fputc('\n', f);
    decode(s, &in, &prog);
    fz_print_prog(&prog, f);
}
