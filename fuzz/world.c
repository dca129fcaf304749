/*
 * fuzz/world.c - build, reset and hash the world of a surface.
 *
 * Rules (fuzz/world.h W1-W3, and):
 *   W4  The machine is FZ_RAM_BYTES; its size never changes, so every reset
 *       takes the kept arena (core/machine.c rule 10).
 *   W5  The pfn -> mfn table of each domain is read once, from the M2P and
 *       the owners of the first build; by W2 it holds for every rebuild,
 *       and fz_world_reset checks the L4 mfn of each PV domain against it.
 *   W6  Grants of FUZZ_GRANT: each domU sets up a one-frame v1 table with
 *       GNTTABOP_setup_table (its own hypercall, argument in its buffer)
 *       and grants the other domU refs FZ_GREF_FIRST.. of its data frames:
 *       the first half read-write, the second half GTF_readonly.
 *   W7  Every world keeps its isolation walk (w->iso, fuzz/isolation.h),
 *       made with the machine and settled when it is built: one walk from
 *       scratch after the build's full audit, so that a run's first call
 *       looks only at what it changed.  Under the snapshot reset it lives
 *       in the arena and comes back with everything else.
 *   W8  FUZZ_HVMRACE (fuzz/hvmrace.h): dom0 privileged PV with two vCPUs
 *       (story B's foreign mapper and pager), dom1 HVM with shadow paging
 *       and two vCPUs (story A's guest: OOS and the fast path are the
 *       options' defaults), dom2 HVM with HAP and one vCPU (story B's
 *       target: Xen pages and shares only HAP guests).  Its first build
 *       also makes the injector plan of the race windows (hvmrace.c H1).
 *   W9  Every PV domU of a surface whose layout says second_l2 (FUZZ_MM,
 *       FUZZ_GRANT, FUZZ_RACE) has a second L2, as a kernel with a second
 *       page directory (a vmalloc area) has: its last pfn, taken out of
 *       the data role, made
 *       read-only in the direct map (update_va_mapping) and hooked, empty,
 *       into L3 slot 1 (mmu_update), both the domain's own hypercalls.
 *       The L2 pool is the boot L2 and this one (fuzz/pool.c), so a
 *       linear entry between two tables of the same level - the shape of
 *       XSA-240 and XSA-309 - is one mmu_update item away.
 *   W10 FUZZ_RESTORE's world is a machine with no domain (fuzz/restore.h
 *       RD1: FUZZ_RESTORE_RAM, one CPU, the default options whatever
 *       fuzz_set_option said, the full audit): each input restores its
 *       domain into it.  It has no isolation walk (w->iso NULL: the
 *       restore oracle, fuzz/restore.c FR2, audits the machine).  Being a
 *       world, it takes the snapshot reset like the others, so every input
 *       meets the same free heap and the same allocator state.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <xen/grant_table.h>
#include <xen/xen.h>

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/hypercall.h"
#include "core/machine.h"
#include "core/mm/history.h"
#include "core/mm/mm.h"
#include "core/mm/page.h"
#include "core/mmu.h"
#include "core/options.h"
#include "core/vcpu.h"
#include "fuzz/hvmrace.h"
#include "fuzz/isolation.h"
#include "fuzz/restore_seed.h"
#include "fuzz/world.h"
#include "guest/guest.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"

#define FZ_RAM_BYTES    (64ULL << 20)
#define FZ_DOM0_PAGES   128
#define FZ_PV_PAGES     4096            /* 16 MiB */
#define FZ_HVM_PAGES    1024            /* 4 MiB */
#define FZ_HAP_PAGES    256             /* 1 MiB */
#define FZ_GREF_FIRST   8
#define FZ_GREFS_EACH   8

/* W1: the layout of each surface. */
static const struct fz_layout_row {
    unsigned ndoms;
    struct { domid_t domid; bool hvm; bool priv; unsigned vcpus;
             uint64_t pages; bool hap; } dom[FZ_MAX_DOMS];
    bool grants;
    bool second_l2;                 /* W9 */
} layouts[FUZZ_NR] = {
    [FUZZ_MM] = { 3, { { 0, false, true, 1, FZ_DOM0_PAGES, false },
                       { 1, false, false, 2, FZ_PV_PAGES, false },
                       { 2, false, false, 2, FZ_PV_PAGES, false } }, false,
                  true },
    [FUZZ_GRANT] = { 3, { { 0, false, true, 1, FZ_DOM0_PAGES, false },
                          { 1, false, false, 2, FZ_PV_PAGES, false },
                          { 2, false, false, 2, FZ_PV_PAGES, false } }, true,
                     true },
    [FUZZ_SHADOW] = { 2, { { 0, false, true, 1, FZ_DOM0_PAGES, false },
                           { 1, true, false, 2, FZ_HVM_PAGES, false } }, false,
                      false },
    [FUZZ_RACE] = { 3, { { 0, false, true, 1, FZ_DOM0_PAGES, false },
                         { 1, false, false, 2, FZ_PV_PAGES, false },
                         { 2, false, false, 2, FZ_PV_PAGES, false } }, false,
                    true },
    /* W8: story A's guest (dom1) and story B's mapper and pager (dom0's two
       vCPUs) with its target (dom2, HAP as Xen's paging and sharing need). */
    [FUZZ_HVMRACE] = { 3, { { 0, false, true, 2, FZ_DOM0_PAGES, false },
                            { 1, true, false, 2, FZ_HVM_PAGES, false },
                            { 2, true, false, 1, FZ_HAP_PAGES, true } },
                       false, false },
};

unsigned fz_world_ndoms(enum fuzz_surface s)
{
    return (unsigned)s < FUZZ_NR ? layouts[s].ndoms : 0;
}

domid_t fz_world_domid(enum fuzz_surface s, unsigned i)
{
    return i < fz_world_ndoms(s) ? layouts[s].dom[i].domid : DOMID_INVALID;
}

bool fz_world_is_hvm(enum fuzz_surface s, unsigned i)
{
    return i < fz_world_ndoms(s) && layouts[s].dom[i].hvm;
}

unsigned fz_world_nr_vcpus(enum fuzz_surface s, unsigned i)
{
    return i < fz_world_ndoms(s) ? layouts[s].dom[i].vcpus : 1;
}

uint64_t fz_directmap_va(uint64_t pfn)
{
    return GUEST_DIRECTMAP_BASE + (pfn << PAGE_SHIFT);
}

static int build_one(struct fz_world *w, unsigned i)
{
    const struct fz_layout_row *L = &layouts[w->surface];
    struct fz_dom *fd = &w->dom[i];
    char err[256];
    int rc;

    fd->domid = L->dom[i].domid;
    fd->hvm = L->dom[i].hvm;
    fd->privileged = L->dom[i].priv;
    fd->nr_vcpus = L->dom[i].vcpus;
    fd->nr_pages = L->dom[i].pages;
    fd->gnt_mfn = INVALID_MFN;
    if (!fd->hvm) {
        struct build_pv_config cfg = {
            .domid = fd->domid, .nr_vcpus = fd->nr_vcpus,
            .nr_pages = fd->nr_pages, .privileged = fd->privileged,
        };
        struct build_pv_layout l;
        struct guest_pv *g = NULL;
        rc = build_pv(w->m, &cfg, &fd->d, &g, &l, err, sizeof(err));
        if (rc)
            goto fail;
        guest_pv_free(g);       /* no kernel runs: the fuzzer is the guest */
        fd->boot = (struct fz_range){ 0, l.pt_pfn };
        fd->l4 = (struct fz_range){ l.pt_pfn, 1 };
        fd->l3 = (struct fz_range){ l.pt_pfn + 1, l.nr_l3 };
        fd->l2 = (struct fz_range){ fd->l3.first + l.nr_l3, l.nr_l2 };
        fd->l1 = (struct fz_range){ fd->l2.first + l.nr_l2, l.nr_l1 };
        fd->buf = (struct fz_range){ l.pt_pfn + l.nr_pt_frames, FZ_BUF_PAGES };
    } else {
        struct build_hvm_config cfg = {
            .domid = fd->domid, .nr_vcpus = fd->nr_vcpus,
            .nr_pages = fd->nr_pages,
            .paging = L->dom[i].hap ? PAGING_HAP : PAGING_SHADOW,
        };
        struct build_hvm_layout l;
        struct guest_hvm *g = NULL;
        rc = build_hvm(w->m, &cfg, &fd->d, &g, &l, err, sizeof(err));
        if (rc)
            goto fail;
        guest_hvm_free(g);
        fd->boot = (struct fz_range){ 0, l.l4_gfn };
        fd->l4 = (struct fz_range){ l.l4_gfn, 1 };
        fd->l3 = (struct fz_range){ l.l4_gfn + 1, l.nr_l3 };
        fd->l2 = (struct fz_range){ fd->l3.first + l.nr_l3, l.nr_l2 };
        fd->l1 = (struct fz_range){ fd->l2.first + l.nr_l2, l.nr_l1 };
        fd->buf = (struct fz_range){ l.first_free_gfn, FZ_BUF_PAGES };
    }
    for (unsigned v = 0; v < fd->d->nr_vcpus; v++) {
        fd->d->vcpu[v]->entry = NULL;
        fd->d->vcpu[v]->entry_arg = NULL;
    }
    fd->data.first = fd->buf.first + fd->buf.n;
    fd->data.n = fd->nr_pages > fd->data.first ? fd->nr_pages - fd->data.first
                                               : 0;
    return 0;
fail:
    fprintf(stderr, "hvlab-fuzz: building the world: %s\n", err);
    fd->d = NULL;
    return rc;
}

/* W5: pfn -> mfn of every domain, from the M2P and the owners. */
static int read_p2m(struct fz_world *w)
{
    for (unsigned i = 0; i < w->ndoms; i++) {
        struct fz_dom *fd = &w->dom[i];
        fd->p2m = malloc(fd->nr_pages * sizeof(*fd->p2m));
        if (!fd->p2m)
            return -XEN_ENOMEM;
        for (uint64_t p = 0; p < fd->nr_pages; p++)
            fd->p2m[p] = INVALID_MFN;
    }
    for (mfn_t mfn = 0; mfn < w->m->nr_frames; mfn++) {
        const struct page_info *pg = mfn_to_page(w->m, mfn);
        if ((atomic_load(&pg->count_info) & PGC_state) != PGC_state_inuse)
            continue;
        for (unsigned i = 0; i < w->ndoms; i++) {
            struct fz_dom *fd = &w->dom[i];
            uint64_t pfn = get_gpfn_from_mfn(w->m, mfn);
            if (pg->owner == fd->domid && pfn < fd->nr_pages)
                fd->p2m[pfn] = mfn;
        }
    }
    return 0;
}

/* A hypercall of vCPU 0 of world domain i with its argument in the
   domain's buffer (written and read back through the guest's MMU). */
static long buf_call(struct fz_world *w, unsigned i, unsigned op,
                     uint64_t a1, void *arg, size_t len, uint64_t a3)
{
    struct vcpu *v = w->dom[i].d->vcpu[0];
    uint64_t va = fz_directmap_va(w->dom[i].buf.first);
    current = v;
    if (mmu_write(v, va, arg, len) != MMU_OK)
        return -XEN_EFAULT;
    long rc = hypercall(v, op, a1, va, a3, 0, 0);
    if (mmu_read(v, va, arg, len) != MMU_OK)
        return -XEN_EFAULT;
    return rc;
}

/* W9: domain i's last data pfn becomes an empty L2 at L3 slot 1. */
static int add_second_l2(struct fz_world *w, unsigned i)
{
    struct fz_dom *fd = &w->dom[i];
    if (fd->hvm || fd->privileged || fd->data.n < 2 || !fd->l3.n)
        return 0;
    pfn_t pfn = fd->data.first + fd->data.n - 1;
    mfn_t mfn = fd->p2m[pfn], l3 = fd->p2m[fd->l3.first];
    struct vcpu *v = fd->d->vcpu[0];
    current = v;
    long rc = hypercall(v, __HYPERVISOR_update_va_mapping,
                        fz_directmap_va(pfn),
                        pte_make(mfn, _PAGE_PRESENT | _PAGE_ACCESSED),
                        UVMF_INVLPG | UVMF_LOCAL, 0, 0);
    struct mmu_update req = {
        .ptr = ((uint64_t)l3 << PAGE_SHIFT) + 1 * sizeof(pte_t),
        .val = pte_make(mfn, _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED),
    };
    uint64_t va = fz_directmap_va(fd->buf.first);
    if (!rc && mmu_write(v, va, &req, sizeof(req)) != MMU_OK)
        rc = -XEN_EFAULT;
    if (!rc)
        rc = hypercall(v, __HYPERVISOR_mmu_update, va, 1, 0, DOMID_SELF, 0);
    if (rc) {
        fprintf(stderr, "hvlab-fuzz: dom%u's second L2 (pfn %#llx): %ld\n",
                fd->domid, (unsigned long long)pfn, rc);
        return (int)rc;
    }
    fd->l2x = (struct fz_range){ pfn, 1 };
    fd->data.n--;
    return 0;
}

/* W6. */
static int setup_grants(struct fz_world *w)
{
    for (unsigned i = 1; i < w->ndoms; i++) {
        struct fz_dom *fd = &w->dom[i];
        xen_pfn_t frame = 0;
        struct {
            struct gnttab_setup_table op;
            xen_pfn_t list[1];
        } a;
        memset(&a, 0, sizeof(a));
        a.op.dom = DOMID_SELF;
        a.op.nr_frames = 1;
        uint64_t list_va = fz_directmap_va(fd->buf.first) +
                           offsetof(__typeof__(a), list);
        set_xen_guest_handle(a.op.frame_list, (xen_pfn_t *)(uintptr_t)list_va);
        long rc = buf_call(w, i, __HYPERVISOR_grant_table_op,
                           GNTTABOP_setup_table, &a, sizeof(a), 1);
        if (rc || a.op.status != GNTST_okay) {
            fprintf(stderr, "hvlab-fuzz: dom%u setup_table: rc %ld status "
                    "%d\n", fd->domid, rc, a.op.status);
            return rc ? (int)rc : -XEN_EINVAL;
        }
        frame = a.list[0];
        fd->gnt_mfn = frame;
    }
    for (unsigned i = 1; i < w->ndoms; i++) {
        struct fz_dom *granter = &w->dom[i];
        unsigned to = i + 1 < w->ndoms ? i + 1 : 1;
        if (to == i)
            continue;
        grant_entry_v1_t *e = mfn_to_virt_w(w->m, granter->gnt_mfn);
        for (unsigned k = 0; k < FZ_GREFS_EACH && w->ngrefs < FZ_MAX_GREFS;
             k++) {
            grant_ref_t ref = FZ_GREF_FIRST + k;
            bool ro = k >= FZ_GREFS_EACH / 2;
            e[ref].frame = (uint32_t)granter->p2m[granter->data.first + k];
            e[ref].domid = w->dom[to].domid;
            __atomic_store_n(&e[ref].flags,
                             (uint16_t)(GTF_permit_access |
                                        (ro ? GTF_readonly : 0)),
                             __ATOMIC_RELEASE);
            w->gref[w->ngrefs++] = (struct fz_gref){
                .grantee = (uint8_t)to, .granter = (uint8_t)i,
                .ref = (uint16_t)ref, .readonly = ro };
        }
    }
    return 0;
}

struct hv_options *fz_world_options(void)
{
    static struct hv_options opt;
    static bool initialised;
    if (!initialised) {
        hv_options_default(&opt);
        initialised = true;
    }
    return &opt;
}

/* W10. */
static int build_machine_only(struct fz_world *w)
{
    struct hv_options opt;
    hv_options_default(&opt);
    int rc = machine_create(FUZZ_RESTORE_RAM, 1, &opt, &w->m);
    if (rc) {
        fprintf(stderr, "hvlab-fuzz: machine_create: %d\n", rc);
        return rc;
    }
    w->max_mfn = w->m->nr_frames;
    w->ndoms = 0;
    w->ngrefs = 0;
    /* The builds of the other worlds record transitions, which make this
       thread's history ring; here the first run would, and every run
       again after each restore: 2 MiB cleared and put back per input. */
    if (frame_history_prepare(w->m))
        return -XEN_ENOMEM;
    current = NULL;
    (void)hv_audit(w->m, NULL);     /* the audit memo, as build_all's */
    return 0;
}

static int build_all(struct fz_world *w)
{
    if (w->surface == FUZZ_RESTORE)
        return build_machine_only(w);
    struct hv_options opt = *fz_world_options();
    int rc = machine_create(FZ_RAM_BYTES, 0, &opt, &w->m);
    if (rc) {
        fprintf(stderr, "hvlab-fuzz: machine_create: %d\n", rc);
        return rc;
    }
    /* The frame audit after every call is the incremental one (core/audit.h
       A10); HVLAB_AUDIT_INCR=0 keeps the full one (A/B figures). */
    const char *incr = getenv("HVLAB_AUDIT_INCR");
    if (!(incr && incr[0] == '0') && (rc = mm_audit_incr_enable(w->m))) {
        fprintf(stderr, "hvlab-fuzz: the incremental audit: %d\n", rc);
        return rc;
    }
    w->max_mfn = w->m->nr_frames;
    w->ndoms = layouts[w->surface].ndoms;
    for (unsigned i = 0; i < w->ndoms; i++) {
        rc = build_one(w, i);
        if (rc)
            return rc;
    }
    if (!w->dom[0].p2m) {
        rc = read_p2m(w);
        if (rc)
            return rc;
    }
    if (layouts[w->surface].second_l2)
        for (unsigned i = 0; i < w->ndoms; i++)
            if ((rc = add_second_l2(w, i)))
                return rc;
    w->ngrefs = 0;
    if (layouts[w->surface].grants) {
        rc = setup_grants(w);
        if (rc)
            return rc;
    }
    current = NULL;
    /* The audit memo and cache of the world as built, so that every run
       (forked, restored or rebuilt) starts from them (core/audit.h A8). */
    (void)hv_audit(w->m, NULL);
    w->iso = fz_iso_new(w->m);
    if (!w->iso)
        return -XEN_ENOMEM;
    return fz_world_settle(w);
}

int fz_world_settle(struct fz_world *w)
{
    char name[96], detail[256];
    if (!w->iso)                                /* W10 */
        return 0;
    if (fz_iso_check(w->iso, name, sizeof(name), detail, sizeof(detail))) {
        fprintf(stderr, "hvlab-fuzz: the world as built: %s: %s\n", name,
                detail);
        return -XEN_EINVAL;
    }
    return 0;
}

int fz_world_build(struct fz_world *w, enum fuzz_surface s)
{
    if ((unsigned)s >= FUZZ_NR || (!layouts[s].ndoms && s != FUZZ_RESTORE))
        return -XEN_EINVAL;
    memset(w, 0, sizeof(*w));
    w->surface = s;
    /* W8: the windows' plan outlives every run (hvmrace.c H1). */
    if (s == FUZZ_HVMRACE && fz_hvmrace_windows_prepare())
        return -XEN_ENOMEM;
    int rc = build_all(w);
    if (rc)
        fz_world_free(w);
    return rc;
}

static void destroy_all(struct fz_world *w)
{
    current = NULL;
    fz_iso_free(w->iso);
    w->iso = NULL;
    if (!w->m)
        return;
    for (unsigned id = 0; id < HV_MAX_DOMAINS; id++)
        if (w->m->domains[id])
            domain_destroy(w->m->domains[id]);
    for (unsigned i = 0; i < w->ndoms; i++)
        w->dom[i].d = NULL;
    machine_destroy(w->m);
    w->m = NULL;
}

static uint64_t world_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int fz_world_reset(struct fz_world *w)
{
    uint64_t t0 = world_clock_ns();
    destroy_all(w);
    int rc = build_all(w);
    if (!rc)
        for (unsigned i = 0; i < w->ndoms; i++) {
            const struct fz_dom *fd = &w->dom[i];
            if (!fd->hvm &&
                fd->d->vcpu[0]->guest_table != fd->p2m[fd->l4.first]) {
                fprintf(stderr, "hvlab-fuzz: reset: dom%u's L4 moved\n",
                        fd->domid);
                rc = -XEN_EINVAL;       /* W5: the snapshot did not repeat */
            }
        }
    w->resets++;
    w->reset_ns += world_clock_ns() - t0;
    return rc;
}

void fz_world_free(struct fz_world *w)
{
    destroy_all(w);
    for (unsigned i = 0; i < FZ_MAX_DOMS; i++) {
        free(w->dom[i].p2m);
        w->dom[i].p2m = NULL;
    }
}

/* FNV-1a over 64-bit words. */
static uint64_t mix(uint64_t h, uint64_t x)
{
    return (h ^ x) * 0x100000001b3ULL;
}

uint64_t fz_world_hash(const struct fz_world *w)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    if (!w->m)
        return 0;
    for (mfn_t mfn = 0; mfn < w->m->nr_frames; mfn++) {
        const struct page_info *pg = mfn_to_page(w->m, mfn);
        uint64_t c = atomic_load(&pg->count_info);
        h = mix(h, c);
        h = mix(h, atomic_load(&pg->type_info));
        h = mix(h, pg->owner);
        if ((c & PGC_state) == PGC_state_free)
            continue;
        const uint64_t *q = mfn_to_virt(w->m, mfn);
        for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
            h = mix(h, q[k]);
    }
    h = mix(h, w->m->nr_free);
    return h;
}
