/*
 * fuzz/hvmrace.c - the HVM race world's windows and story A's judge
 * (fuzz/hvmrace.h; fuzz/race.c RC8, RC9).
 *
 * Rules:
 *   H1  The windows.  Story A's window (the fast path between reading a
 *       shadow L1 entry and deciding) and story B's (a p2m lookup acted
 *       upon before its page reference or PTE install) hold no lock and
 *       no other scheduling point: without one there is no interleaving
 *       to choose (oos-fastpath-race.hvl: 0 of 300 det seeds break without
 *       its inject line).  The catalog declares them once
 *       (inject/points.def); for an hvmrace run each is bound to `yield`
 *       on every hit, so each hit is one more det-mode decision, which the
 *       input's schedule makes like any other (a yield may pick the same
 *       vCPU).  The points: shadow.fastpath.after_read_sl1e,
 *       shadow.resync.before, p2m.get_page.after_lookup,
 *       p2m.foreign.before_install.  The plan is made once per process,
 *       by the world's first build (fuzz/world.c W8, outside the snapshot
 *       arena): one made during a run would be given back by the snapshot
 *       reset while this file still pointed at it.  A run gives back the
 *       injector's arrays when it ends (inj_run_release) for the same
 *       reason.
 *   H2  Fault entry.  The racing HVM vCPUs' fault vector is wrapped: when
 *       a fault enters the hypervisor, the judge walks the guest's own
 *       tables for the faulting access with the hypervisor's two-level
 *       walk (mmu_walk_hap: the guest's tables at their gfns, each gfn and
 *       the target through the p2m, no A/D update) and notes whether the
 *       access is allowed and the domain's count of not-present faults the
 *       fast path reflected from gnp entries (shadow_stats gnp_injected).
 *       A nested fault's notes are put back when it returns.
 *   H3  Which faults are judged.  A not-present fault the slow path
 *       injects was decided by the guest walk under the paging lock, whose
 *       release is a scheduling point: by delivery the other vCPU may have
 *       written the guest's entry, a race of the guest with itself that a
 *       kernel's spurious-fault check absorbs, not the hypervisor's error.
 *       The fast path reflects a gnp entry without a walk and delivers with
 *       no scheduling point in between, so its decision can be judged at
 *       delivery: a fault is judged when the domain's gnp count moved
 *       since its entry.
 *   H4  The judgement (story A, XEN-NOTES 12.A; the scenario's
 *       no-spurious-fault).  A judged not-present fault is spurious when
 *       the guest's tables allowed the access at fault entry (H2) and
 *       still allow it when it is delivered (the same walk): the guest had
 *       made the entry present before the hypervisor looked, and the
 *       hypervisor told it the entry was not present.  The judge then ends
 *       the access as no handler would (PF_KILL), as the fuzzer's guest
 *       has no #PF handler.  With shadow.fastpath_oos=fixed and OOS on no
 *       gnp entry exists, so nothing is judged; with racy a resync between
 *       the fast path's read and its OOS check is this finding.
 */
#include <stdio.h>
#include <string.h>

#include "core/domain.h"
#include "core/machine.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/pte.h"
#include "core/shadow/shadow.h"
#include "core/traps.h"
#include "core/vcpu.h"
#include "fuzz/hvmrace.h"
#include "inject/inject.h"

/* --- H1: the windows ---------------------------------------------------------- */

static const char windows_text[] =
    "shadow.fastpath.after_read_sl1e:yield\n"
    "shadow.resync.before:yield\n"
    "p2m.get_page.after_lookup:yield\n"
    "p2m.foreign.before_install:yield\n";

const char *fz_hvmrace_windows_text(void)
{
    return windows_text;
}

static struct inj_plan *windows_plan;

int fz_hvmrace_windows_prepare(void)
{
    if (windows_plan)
        return 0;
    char err[256];
    struct inj_plan *plan = inj_plan_new();
    if (!plan)
        return -1;
    if (inj_plan_add_text(plan, "hvmrace windows", windows_text, err,
                          sizeof(err))) {
        fprintf(stderr, "hvlab-fuzz: hvmrace: %s\n", err);
        inj_plan_free(plan);
        return -1;
    }
    windows_plan = plan;
    return 0;
}

int fz_hvmrace_windows_arm(uint64_t seed)
{
    if (fz_hvmrace_windows_prepare())
        return -1;
    return inj_run_begin(windows_plan, seed);
}

/* --- H2-H4: story A's judge ------------------------------------------------------ */

static struct fz_hvmrace_judge *J;
static pf_vector_fn vector[FZ_HVMRACE_VCPUS];

static bool judged_vcpu(const struct vcpu *v)
{
    return J && v->d == J->d && v->vcpu_id < FZ_HVMRACE_VCPUS;
}

static uint64_t gnp_count(const struct domain *d)
{
    struct shadow_stats st;
    return shadow_stats(d, &st) ? st.gnp_injected : 0;
}

/* The hypervisor's walk of the guest's own tables: 0 when they allow the
   access (and the p2m backs every gfn on the way). */
static uint32_t guest_walk(struct vcpu *v, uint64_t va, uint32_t pfec,
                           struct mmu_walk *w)
{
    struct mmu_npf npf;
    uint32_t access = pfec & (PFEC_WRITE | PFEC_USER | PFEC_INSN);
    return mmu_walk_hap(v->d->m, v->d->npt_root, v->guest_cr3, va, access,
                        false, w, &npf);
}

/* H2: the fault vector of a judged vCPU. */
static enum pf_outcome judge_entry(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    if (!judged_vcpu(v))
        return hv_page_fault(v, va, pfec);
    unsigned i = v->vcpu_id;
    pf_vector_fn next = vector[i] ? vector[i] : hv_page_fault;
    __typeof__(J->v[0]) outer = J->v[i];
    struct mmu_walk w;
    J->v[i].entry_ok = guest_walk(v, va, pfec, &w) == 0;
    J->v[i].gnp_at_entry = gnp_count(v->d);
    enum pf_outcome o = next(v, va, pfec);
    if (J)                              /* a nested fault: put back H2 */
        J->v[i] = outer;
    return o;
}

/* H3, H4: the guest's #PF handler for the run. */
static enum pf_outcome judge_pf(struct vcpu *v, uint64_t va, uint32_t pfec,
                                void *ctx)
{
    (void)ctx;
    pfec &= MMU_PFEC_MASK;
    if (!judged_vcpu(v) || (pfec & PFEC_PRESENT))
        return PF_KILL;
    unsigned i = v->vcpu_id;
    J->judged++;
    if (!J->v[i].entry_ok || gnp_count(v->d) == J->v[i].gnp_at_entry)
        return PF_KILL;                                 /* H3 */
    struct mmu_walk w;
    if (guest_walk(v, va, pfec, &w) != 0)
        return PF_KILL;
    if (J->spurious++ == 0)                             /* H4 */
        snprintf(J->text, sizeof(J->text),
                 "dom%u v%u: the fast path reflected a not-present fault at "
                 "%#llx (error code %#x) from a gnp shadow entry, but the "
                 "guest's tables map it (leaf %#llx at level %u, gfn %#llx) "
                 "and did when the fault entered; shadow.fastpath_oos=%s\n",
                 (unsigned)v->d->domid, v->vcpu_id, (unsigned long long)va,
                 pfec, (unsigned long long)w.pte[w.page_level], w.page_level,
                 (unsigned long long)w.gfn,
                 v->d->m->opt.shadow_fastpath_oos == SH_FASTPATH_OOS_RACY
                     ? "racy" : "fixed");
    return PF_KILL;
}

void fz_hvmrace_judge_arm(struct fz_hvmrace_judge *j, struct vcpu **v,
                          unsigned n)
{
    memset(j, 0, sizeof(*j));
    memset(vector, 0, sizeof(vector));
    j->d = n ? v[0]->d : NULL;
    J = j;
    for (unsigned i = 0; i < n && i < FZ_HVMRACE_VCPUS; i++) {
        vector[v[i]->vcpu_id % FZ_HVMRACE_VCPUS] = v[i]->pf_vector;
        v[i]->pf_vector = judge_entry;
        vcpu_set_guest_pf_handler(v[i], judge_pf, j);
    }
}

void fz_hvmrace_judge_disarm(void)
{
    J = NULL;
}
