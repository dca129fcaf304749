/*
 * tests/unit/test-mig-save.c - the migration save loop (toolstack/mig_save.c,
 * rules M1-M6 of toolstack/migrate.h) on a PV domain from build_pv and a
 * hap HVM domain from build_hvm, saved into a memory buffer.  Their vCPUs
 * do not run: the suspend hook shuts the domain down with SHUTDOWN_suspend
 * and marks every vCPU stopped.  Pages are dirtied between live rounds
 * through the hypervisor's own copy path (paging_hap_write_fixup: the
 * mark a copy_to_guest makes, then the write).
 *
 * Also a small tool for tests/scenario/stream-verify.sh:
 *   test-mig-save --write-save pv|hvm FILE
 *       save a PV (non-live, verify) or HVM (live, verify) domain to FILE
 */
#include <stdatomic.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sched.h>
#include <xen/hvm/save.h>
#include <xen/foreign/x86_64.h>

#include "tests/unit/test.h"

#include "core/audit.h"
#include "core/domain.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/alloc.h"
#include "core/mm/p2m.h"
#include "core/mm/paging.h"
#include "core/options.h"
#include "core/vcpu.h"
#include "guest/guest.h"
#include "guest/xenbus.h"
#include "inject/inject.h"
#include "toolstack/build_hvm.h"
#include "toolstack/build_pv.h"
#include "toolstack/image.h"
#include "toolstack/migrate.h"
#include "toolstack/pv_normalise.h"
#include "toolstack/stream.h"

#define NR_PAGES    512
#define PFINFO(t)   XEN_DOMCTL_PFINFO_##t

struct env {
    struct machine *m;
    struct domain *d;
    struct guest_pv *gp;
    struct guest_hvm *gh;
    struct build_pv_layout pl;
    struct build_hvm_layout hl;
    uint64_t free_before;
    struct guest_options go;
    struct workload_params wl;
    /* Dirtying between live rounds (progress hook). */
    unsigned dirty_per_round;
    unsigned dirty_rounds;          /* rounds after which to dirty */
    unsigned progress_calls, progress_done;
    unsigned suspends;
    /* A word to put back after the first live round (MS3 test). */
    uint64_t *fix_ptr, fix_val;
};

static void env_pv(struct env *e, unsigned nr_vcpus)
{
    char err[256] = "";
    struct hv_options ho;
    memset(e, 0, sizeof(*e));
    hv_options_default(&ho);
    guest_options_default(&e->go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &e->m) == 0);
    e->free_before = e->m->nr_free;
    struct build_pv_config cfg = { .domid = 1, .nr_vcpus = nr_vcpus,
                                   .nr_pages = NR_PAGES, .gopt = &e->go,
                                   .wl = &e->wl };
    int rc = build_pv(e->m, &cfg, &e->d, &e->gp, &e->pl, err, sizeof(err));
    if (rc)
        fprintf(stderr, "  build_pv: %s\n", err);
    REQUIRE(rc == 0);
}

static void env_hvm(struct env *e, unsigned nr_vcpus)
{
    char err[256] = "";
    struct hv_options ho;
    memset(e, 0, sizeof(*e));
    hv_options_default(&ho);
    guest_options_default(&e->go);
    REQUIRE(machine_create(64ULL << 20, 0, &ho, &e->m) == 0);
    e->free_before = e->m->nr_free;
    struct build_hvm_config cfg = { .domid = 2, .nr_vcpus = nr_vcpus,
                                    .nr_pages = NR_PAGES, .paging = PAGING_HAP,
                                    .gopt = &e->go, .wl = &e->wl };
    int rc = build_hvm(e->m, &cfg, &e->d, &e->gh, &e->hl, err, sizeof(err));
    if (rc == -XEN_EOPNOTSUPP || rc == -XEN_ENOSYS) {
        machine_destroy(e->m);
        SKIP("the hypervisor cannot build a hap domain here");
    }
    if (rc)
        fprintf(stderr, "  build_hvm: %s\n", err);
    REQUIRE(rc == 0);
}

/* Audit clean with the domain alive and after, every frame back. */
static void env_finish(struct env *e)
{
    CHECK_EQ(hv_audit(e->m, stderr), 0);
    CHECK_EQ(domain_destroy(e->d), 0);
    CHECK_EQ(hv_audit(e->m, stderr), 0);
    CHECK_EQ(e->m->nr_free, e->free_before);
    if (e->gp)
        guest_pv_free(e->gp);
    if (e->gh)
        guest_hvm_free(e->gh);
    machine_destroy(e->m);
}

static int hook_suspend(void *arg, struct domain *d, char *err, size_t len)
{
    struct env *e = arg;
    (void)err; (void)len;
    e->suspends++;
    int rc = domain_shutdown(d, SHUTDOWN_suspend);
    if (rc)
        return rc;
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        vcpu_entry_done(d->vcpu[i]);
    return 0;
}

static int hook_refuse(void *arg, struct domain *d, char *err, size_t len)
{
    (void)arg; (void)d;
    snprintf(err, len, "the guest would not stop");
    return -XEN_ETIMEDOUT;
}

/* The hypervisor writes gfn of a hap domain (copy_to_guest's path). */
static void hv_write(struct domain *d, pfn_t gfn, uint64_t val)
{
    p2m_type_t t;
    (void)paging_hap_write_fixup(d, gfn);
    mfn_t mfn = get_gfn_query_unlocked(d, gfn, &t);
    uint64_t *p = domctl_map_foreign(d, mfn);
    if (p)
        p[0] = val;
}

static void hook_progress(void *arg, const struct mig_round *r, bool done)
{
    struct env *e = arg;
    e->progress_calls++;
    if (done) {
        e->progress_done++;
        return;
    }
    if (r->kind == MIG_ROUND_LIVE && e->fix_ptr) {
        *e->fix_ptr = e->fix_val;
        e->fix_ptr = NULL;
    }
    if (r->kind != MIG_ROUND_LIVE || r->iter >= e->dirty_rounds)
        return;
    for (unsigned i = 0; i < e->dirty_per_round; i++)
        hv_write(e->d, e->hl.first_free_gfn + i, 0xd1d1d1d1ULL + r->iter);
}

/* ---- saving and reading back ------------------------------------------- */

struct saved {
    struct stream_membuf mb;
    struct mig_save_stats st;
    int rc;
};

static void do_save(struct env *e, struct mig_save_opts o, struct saved *s)
{
    memset(s, 0, sizeof(*s));
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_mem, &s->mb);
    o.d = e->d;
    o.w = &w;
    o.hooks.suspend = o.hooks.suspend ? o.hooks.suspend : hook_suspend;
    o.hooks.progress = hook_progress;
    o.hooks.arg = e;
    s->rc = mig_save(&o, &s->st);
    if (s->rc)
        fprintf(stderr, "  mig_save: %d: %s\n", s->rc, s->st.err);
    CHECK(!paging_log_dirty_enabled(e->d));     /* MS4 */
    CHECK(w.sink == stream_sink_mem && w.ctx == &s->mb);
}

/* What a stream held, read back with the strict reader. */
#define MAX_RECS 256
struct parsed {
    int rc;                         /* 1: read to the end; <0 reader error */
    char err[256];
    unsigned nr;
    uint32_t type[MAX_RECS];
    unsigned dom_type;
    /* PAGE_DATA, per segment (before / after VERIFY). */
    unsigned seen[2][NR_PAGES];     /* times each pfn appeared */
    uint32_t ptype[2][NR_PAGES];
    uint8_t page[2][NR_PAGES][STREAM_PAGE_SIZE]; /* the last copy */
    uint64_t hash[2][NR_PAGES];     /* XXH3 of the last copy */
    unsigned l4_present[NR_PAGES];  /* present entries of an L4 */
    uint64_t l4_hv_or[NR_PAGES];    /* its Xen slots, or-ed */
    unsigned tbl_bad;               /* table entries naming no pfn */
    uint64_t order_violations;      /* a pfn below the previous one in a record */
    /* The tail. */
    uint64_t cr3[8], cr1[8], rdx[8], vflags[8];
    unsigned nr_vcpu_basic;
    uint64_t hvm_cr3[8];
    unsigned nr_hvm_cpu;
    bool hvm_header_ok, hvm_end_ok;
    uint64_t p2m_nr, p2m_first, p2m_end_pfn;
};

static void parse(const struct stream_membuf *mb, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    struct stream_memsrc src = { mb->buf, mb->len, 0 };
    struct stream_reader r;
    struct stream_record rec;
    stream_reader_init(&r, stream_source_mem, &src);
    unsigned seg = 0;
    int rc;
    while ((rc = stream_read_record(&r, &rec)) == 0) {
        if (p->nr < MAX_RECS)
            p->type[p->nr] = rec.type;
        p->nr++;
        switch (rec.type) {
        case STREAM_REC_VERIFY:
            seg = 1;
            break;
        case STREAM_REC_PAGE_DATA: {
            const uint8_t *data = rec.u.page_data.data;
            uint64_t prev = 0;
            for (uint32_t i = 0; i < rec.u.page_data.count; i++) {
                uint64_t w = rec.u.page_data.pfn[i];
                uint64_t pfn = w & STREAM_PFN_MASK;
                uint32_t t = (uint32_t)(w >> 32);
                if (i && pfn < prev)
                    p->order_violations++;
                prev = pfn;
                if (pfn >= NR_PAGES)
                    continue;
                p->seen[seg][pfn]++;
                p->ptype[seg][pfn] = t;
                if (stream_pfinfo_has_data(t)) {
                    memcpy(p->page[seg][pfn], data, STREAM_PAGE_SIZE);
                    p->hash[seg][pfn] = image_page_hash(data);
                    const uint64_t *e = (const uint64_t *)data;
                    unsigned lvl = pvn_type_level(t);
                    for (unsigned s = 0; seg == 0 && lvl && s < 512; s++) {
                        if (!(e[s] & _PAGE_PRESENT))
                            continue;
                        if ((e[s] >> PAGE_SHIFT & ((1ULL << 40) - 1)) >= NR_PAGES)
                            p->tbl_bad++;
                        if (lvl == 4)
                            p->l4_present[pfn]++;
                    }
                    for (unsigned s = 256; lvl == 4 && s < 272; s++)
                        p->l4_hv_or[pfn] |= e[s];
                    data += STREAM_PAGE_SIZE;
                }
            }
            break;
        }
        case STREAM_REC_X86_PV_P2M_FRAMES:
            p->p2m_nr = rec.u.p2m_frames.nr;
            p->p2m_first = rec.u.p2m_frames.nr ? rec.u.p2m_frames.pfn[0] : 0;
            p->p2m_end_pfn = rec.u.p2m_frames.end_pfn;
            break;
        case STREAM_REC_X86_PV_VCPU_BASIC: {
            vcpu_guest_context_x86_64_t c;
            unsigned id = rec.u.vcpu.vcpu_id;
            if (rec.u.vcpu.len == sizeof(c) && id < 8) {
                memcpy(&c, rec.u.vcpu.ctxt, sizeof(c));
                p->cr3[id] = c.ctrlreg[3];
                p->cr1[id] = c.ctrlreg[1];
                p->rdx[id] = c.user_regs.rdx;
                p->vflags[id] = c.flags;
            }
            p->nr_vcpu_basic++;
            break;
        }
        case STREAM_REC_HVM_CONTEXT: {
            const uint8_t *b = rec.body, *end = rec.body + rec.length;
            while (b + sizeof(struct hvm_save_descriptor) <= end) {
                struct hvm_save_descriptor d;
                memcpy(&d, b, sizeof(d));
                b += sizeof(d);
                if (d.typecode == HVM_SAVE_CODE(HEADER)) {
                    struct hvm_save_header h;
                    memcpy(&h, b, sizeof(h));
                    p->hvm_header_ok = h.magic == HVM_FILE_MAGIC &&
                                       d.length == sizeof(h);
                } else if (d.typecode == HVM_SAVE_CODE(CPU) && d.instance < 8) {
                    struct hvm_hw_cpu cpu;
                    memcpy(&cpu, b, sizeof(cpu));
                    p->hvm_cr3[d.instance] = cpu.cr3;
                    p->nr_hvm_cpu++;
                } else if (d.typecode == HVM_SAVE_CODE(END)) {
                    p->hvm_end_ok = d.length == 0 && b == end;
                    break;
                }
                b += d.length;
            }
            break;
        }
        default:
            break;
        }
    }
    p->rc = rc;
    p->dom_type = r.dom_type;
    snprintf(p->err, sizeof(p->err), "%s", r.err);
    stream_reader_free(&r);
}

static unsigned count_pfns(const struct parsed *p, unsigned seg, unsigned times)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NR_PAGES; i++)
        n += p->seen[seg][i] >= times;
    return n;
}

/* ---- PV ---------------------------------------------------------------- */

static void t_pv_nonlive(void)
{
    struct env e;
    env_pv(&e, 2);
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = false }, &s);
    REQUIRE(s.rc == 0);
    CHECK_EQ(e.suspends, 1);
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    if (p->rc != 1)
        fprintf(stderr, "  reader: %s\n", p->err);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(p->dom_type, STREAM_DHDR_TYPE_X86_PV);
    /* M1 + M4 record order. */
    CHECK_EQ(p->type[0], STREAM_REC_X86_PV_INFO);
    CHECK_EQ(p->type[1], STREAM_REC_STATIC_DATA_END);
    CHECK_EQ(p->type[2], STREAM_REC_X86_PV_P2M_FRAMES);
    CHECK_EQ(p->type[3], STREAM_REC_PAGE_DATA);
    unsigned n = p->nr;
    CHECK_EQ(p->type[n - 1], STREAM_REC_END);
    CHECK_EQ(p->type[n - 2], STREAM_REC_X86_PV_VCPU_BASIC);
    CHECK_EQ(p->type[n - 3], STREAM_REC_X86_PV_VCPU_BASIC);
    CHECK_EQ(p->type[n - 4], STREAM_REC_SHARED_INFO);
    CHECK_EQ(p->type[n - 5], STREAM_REC_X86_TSC_INFO);
    CHECK_EQ(p->type[n - 6], STREAM_REC_PAGE_DATA);
    CHECK_EQ(p->p2m_nr, e.pl.nr_p2m_frames);
    CHECK_EQ(p->p2m_first, e.pl.p2m_pfn);
    CHECK_EQ(p->p2m_end_pfn, NR_PAGES - 1);
    /* Every pfn exactly once. */
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES);
    CHECK_EQ(count_pfns(p, 0, 2), 0);
    CHECK_EQ(p->order_violations, 0);
    /* The L4: a table, normalised: Xen's slots zero, entries present,
       and every entry of every table sent names a pfn of the guest (its
       mfns are far above NR_PAGES on this machine). */
    pfn_t l4 = e.pl.pt_pfn;
    CHECK_EQ(pvn_type_level(p->ptype[0][l4]), 4);
    CHECK(p->l4_present[l4] > 0);
    const uint64_t *real = domctl_map_foreign(e.d, e.pl.l4_mfn);
    const uint64_t *sent = (const uint64_t *)p->page[0][l4];
    REQUIRE(real);
    unsigned differ = 0, compared = 0;
    for (unsigned i = 0; i < 512; i++) {
        if (i >= 256 && i < 272) {
            CHECK_EQ(sent[i], 0);
            continue;
        }
        if (!(real[i] & _PAGE_PRESENT)) {
            CHECK_HEX(sent[i], real[i]);
            continue;
        }
        uint64_t mfn = real[i] >> PAGE_SHIFT & ((1ULL << 40) - 1);
        uint64_t want = (real[i] & ~(((1ULL << 40) - 1) << PAGE_SHIFT)) |
                        get_gpfn_from_mfn(e.m, mfn) << PAGE_SHIFT;
        CHECK_HEX(sent[i], want);
        compared++;
        differ += sent[i] != real[i];
    }
    CHECK(compared > 0);
    CHECK(differ > 0);                      /* mfns are not pfns here */
    CHECK_EQ(p->l4_hv_or[l4], 0);
    CHECK_EQ(p->tbl_bad, 0);
    unsigned tables = 0;
    for (unsigned pfn = 0; pfn < NR_PAGES; pfn++)
        tables += pvn_type_level(p->ptype[0][pfn]) != 0;
    CHECK_EQ(tables, e.pl.nr_pt_frames);
    /* The vCPUs. */
    CHECK_EQ(p->nr_vcpu_basic, 2);
    CHECK_HEX(p->cr3[0], (uint64_t)l4 << PAGE_SHIFT);
    CHECK_EQ(p->rdx[0], 0);
    CHECK_HEX(p->vflags[0], VGCF_in_kernel | VGCF_online);
    /* Stats. */
    CHECK_EQ(s.st.nr_rounds, 1);
    CHECK_EQ(s.st.round[0].kind, MIG_ROUND_FINAL);
    CHECK_EQ(s.st.round[0].to_send, NR_PAGES);
    CHECK_EQ(s.st.live_rounds, 0);
    CHECK_EQ(s.st.bytes, s.mb.len);
    CHECK_EQ(e.progress_done, 1);
    CHECK(s.st.err[0] == '\0');
    free(p);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_pv_live(void)
{
    struct env e;
    env_pv(&e, 1);
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    if (s.rc == -XEN_EOPNOTSUPP) {
        CHECK(strstr(s.st.err, "log-dirty") != NULL);
        CHECK_EQ(e.suspends, 0);            /* M6: left running */
        free(s.mb.buf);
        env_finish(&e);
        SKIP("PV log-dirty is not in core/mm/paging.c yet (-EOPNOTSUPP)");
    }
    REQUIRE(s.rc == 0);
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES);
    CHECK(s.st.live_rounds >= 1);
    CHECK_EQ(s.st.round[0].kind, MIG_ROUND_LIVE);
    CHECK_EQ(s.st.round[0].to_send, NR_PAGES);
    CHECK_EQ(s.st.round[0].deferred, 0);
    CHECK_EQ(s.st.round[s.st.nr_rounds - 1].kind, MIG_ROUND_FINAL);
    CHECK_EQ(p->type[0], STREAM_REC_X86_PV_INFO);
    CHECK_EQ(p->type[p->nr - 1], STREAM_REC_END);
    free(p);
    free(s.mb.buf);
    env_finish(&e);
}

/* An L1 entry naming a frame outside the guest's pseudo-physical map:
   fatal once paused (non-live), deferred while live. */
static void t_pv_bad_entry(void)
{
    struct env e;
    env_pv(&e, 1);
    /* A frame of nobody's pseudo-physical map: a fresh domain's frame
       whose M2P entry says a pfn its own p2m does not map there. */
    pfn_t l1 = e.pl.pt_pfn + 1 + e.pl.nr_l3 + e.pl.nr_l2;
    mfn_t l1_mfn = INVALID_MFN;
    for (mfn_t mfn = 0; mfn < e.m->nr_frames; mfn++)
        if (mfn_to_page(e.m, mfn)->owner == e.d->domid &&
            get_gpfn_from_mfn(e.m, mfn) == l1) {
            l1_mfn = mfn;
            break;
        }
    REQUIRE(l1_mfn != INVALID_MFN);
    uint64_t *t = domctl_map_foreign(e.d, l1_mfn);
    REQUIRE(t);
    unsigned slot = 511;
    uint64_t old = t[slot];
    mfn_t outside = e.d->shared_info_mfn;   /* owned, no pfn: not RAM */
    REQUIRE(outside != INVALID_MFN);
    t[slot] = ((uint64_t)outside << PAGE_SHIFT) | _PAGE_PRESENT;

    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = false }, &s);
    CHECK_EQ(s.rc, -XEN_ERANGE);
    char want[64];
    snprintf(want, sizeof(want), "pfn %#llx", (unsigned long long)l1);
    CHECK(strstr(s.st.err, want) != NULL);
    CHECK(strstr(s.st.err, "slot 511") != NULL);
    CHECK(strstr(s.st.err, "L1") != NULL);
    fprintf(stderr, "  (message: %s)\n", s.st.err);
    int reason;
    CHECK(domain_shut_down(e.d, &reason) && reason == SHUTDOWN_suspend);
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    CHECK(p->rc < 0);                       /* no END */
    free(p);
    free(s.mb.buf);

    /* Live: deferred in the live rounds (when PV log-dirty exists). */
    CHECK_EQ(domctl_resume_domain(e.d), 0);
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    bool live_skipped = s.rc == -XEN_EOPNOTSUPP;
    if (!live_skipped) {
        CHECK_EQ(s.rc, -XEN_ERANGE);
        CHECK(s.st.round[0].deferred >= 1);
        CHECK_EQ(s.st.deferred_final, 1);
        CHECK(strstr(s.st.err, want) != NULL);
        CHECK(strstr(s.st.err, "slot 511") != NULL);
    }
    free(s.mb.buf);
    /* Live, the entry put right after round 0: the deferred pfn goes in
       the final round, as an L1 with data. */
    if (!live_skipped) {
        CHECK_EQ(domctl_resume_domain(e.d), 0);
        e.fix_ptr = &t[slot];
        e.fix_val = old;
        do_save(&e, (struct mig_save_opts){ .live = true }, &s);
        CHECK_EQ(s.rc, 0);
        CHECK_EQ(s.st.round[0].deferred, 1);
        CHECK_EQ(s.st.deferred_final, 1);
        const struct mig_round *fin = &s.st.round[s.st.nr_rounds - 1];
        CHECK_EQ(fin->kind, MIG_ROUND_FINAL);
        CHECK(fin->to_send >= 1);
        struct parsed *q = calloc(1, sizeof(*q));
        parse(&s.mb, q);
        CHECK_EQ(q->rc, 1);
        CHECK_EQ(q->seen[0][l1], 2);        /* XTAB live, then the L1 */
        CHECK_EQ(pvn_type_level(q->ptype[0][l1]), 1);
        free(q);
        free(s.mb.buf);
    }
    t[slot] = old;
    env_finish(&e);
    if (live_skipped)
        SKIP("the live half needs PV log-dirty (core/mm/paging.c: "
             "-EOPNOTSUPP); the paused half passed");
}

/* ---- HVM --------------------------------------------------------------- */

static void t_hvm_live(void)
{
    struct env e;
    env_hvm(&e, 2);
    e.dirty_per_round = 100;
    e.dirty_rounds = 2;                     /* after rounds 0 and 1 */
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    REQUIRE(s.rc == 0);
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    if (p->rc != 1)
        fprintf(stderr, "  reader: %s\n", p->err);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(p->dom_type, STREAM_DHDR_TYPE_X86_HVM);
    CHECK_EQ(p->type[0], STREAM_REC_STATIC_DATA_END);
    CHECK_EQ(p->type[1], STREAM_REC_PAGE_DATA);
    unsigned n = p->nr;
    CHECK_EQ(p->type[n - 1], STREAM_REC_END);
    CHECK_EQ(p->type[n - 2], STREAM_REC_HVM_CONTEXT);
    CHECK_EQ(p->type[n - 3], STREAM_REC_HVM_PARAMS);
    CHECK_EQ(p->type[n - 4], STREAM_REC_X86_TSC_INFO);
    /* Round 0 sends all; rounds 1 and 2 the 100 dirtied; round 2's CLEAN
       finds nothing, so the policy stops; the final round is empty. */
    CHECK_EQ(s.st.round[0].to_send, NR_PAGES);
    CHECK_EQ(s.st.round[0].sent, NR_PAGES);
    CHECK_EQ(s.st.live_rounds, 3);
    CHECK_EQ(s.st.round[1].dirty_count, 100);
    CHECK_EQ(s.st.round[1].sent, 100);
    CHECK_EQ(s.st.round[2].sent, 100);
    CHECK_EQ(s.st.nr_rounds, 4);
    CHECK_EQ(s.st.round[3].kind, MIG_ROUND_FINAL);
    CHECK_EQ(s.st.round[3].iter, 4);      /* iteration 3 found nothing */
    CHECK_EQ(s.st.round[3].sent, 0);
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES);
    CHECK_EQ(count_pfns(p, 0, 3), 100);
    /* The dirtied page's last copy carries the last write. */
    uint64_t v;
    memcpy(&v, p->page[0][e.hl.first_free_gfn], 8);
    CHECK_HEX(v, 0xd1d1d1d1ULL + 1);
    CHECK(p->hvm_header_ok);
    CHECK(p->hvm_end_ok);
    CHECK_EQ(p->nr_hvm_cpu, 2);
    CHECK_HEX(p->hvm_cr3[0], e.d->vcpu[0]->guest_cr3);
    CHECK_HEX(p->hvm_cr3[1], e.d->vcpu[1]->guest_cr3);
    CHECK_EQ(e.progress_calls, s.st.nr_rounds + 1);
    free(p);
    free(s.mb.buf);
    env_finish(&e);
}

/* The final round sends what was dirtied after the last live CLEAN. */
static void t_hvm_final_dirty(void)
{
    struct env e;
    env_hvm(&e, 1);
    e.dirty_per_round = 10;                 /* under target: stop at once */
    e.dirty_rounds = 1;
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    REQUIRE(s.rc == 0);
    /* Round 0, then CLEAN says 10 (< 50): stop, but the 10 are sent live
       (Xen sends the last CLEAN's pages); nothing dirty at the pause. */
    CHECK_EQ(s.st.live_rounds, 2);
    CHECK_EQ(s.st.round[1].sent, 10);
    CHECK_EQ(s.st.round[s.st.nr_rounds - 1].kind, MIG_ROUND_FINAL);
    CHECK_EQ(s.st.round[s.st.nr_rounds - 1].sent, 0);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_policy_max_iters(void)
{
    struct env e;
    env_hvm(&e, 1);
    e.dirty_per_round = 100;                /* always over target */
    e.dirty_rounds = 100;
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true, .max_iters = 3 }, &s);
    REQUIRE(s.rc == 0);
    CHECK_EQ(s.st.live_rounds, 3);
    CHECK_EQ(s.st.nr_rounds, 4);
    /* The last live round's dirtying is sent in the final round. */
    CHECK_EQ(s.st.round[3].kind, MIG_ROUND_FINAL);
    CHECK_EQ(s.st.round[3].to_send, 100);
    CHECK_EQ(s.st.round[3].dirty_count, 100);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_policy_target(void)
{
    struct env e;
    env_hvm(&e, 1);
    e.dirty_per_round = 100;
    e.dirty_rounds = 100;
    struct saved s;
    /* target over 100: the first CLEAN's count stops the rounds. */
    do_save(&e, (struct mig_save_opts){ .live = true, .target_dirty = 101 }, &s);
    REQUIRE(s.rc == 0);
    CHECK_EQ(s.st.live_rounds, 2);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_verify(void)
{
    struct env e;
    env_hvm(&e, 1);
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true, .verify = true }, &s);
    REQUIRE(s.rc == 0);
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    unsigned verify_at = 0;
    for (unsigned i = 0; i < p->nr && i < MAX_RECS; i++)
        if (p->type[i] == STREAM_REC_VERIFY)
            verify_at = i;
    CHECK(verify_at > 0);
    CHECK_EQ(p->type[verify_at + 1], STREAM_REC_PAGE_DATA);
    CHECK_EQ(count_pfns(p, 1, 1), NR_PAGES);
    CHECK_EQ(count_pfns(p, 1, 2), 0);
    CHECK_EQ(memcmp(p->page[0], p->page[1], sizeof(p->page[0])), 0);
    CHECK_EQ(s.st.round[s.st.nr_rounds - 1].kind, MIG_ROUND_VERIFY);
    free(p);
    free(s.mb.buf);

    /* The PV tables too (non-live). */
    env_finish(&e);
    env_pv(&e, 1);
    do_save(&e, (struct mig_save_opts){ .verify = true }, &s);
    REQUIRE(s.rc == 0);
    p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(count_pfns(p, 1, 1), NR_PAGES);
    CHECK_EQ(memcmp(p->page[0], p->page[1], sizeof(p->page[0])), 0);
    free(p);
    free(s.mb.buf);
    env_finish(&e);
}

/* ---- injection --------------------------------------------------------- */

static void arm(const char *spec, struct inj_plan **plan)
{
    char err[256];
    *plan = inj_plan_new();
    REQUIRE(*plan);
    if (inj_plan_add(*plan, spec, "test", 0, err, sizeof(err)))
        fprintf(stderr, "  %s\n", err);
    REQUIRE(inj_run_begin(*plan, 7) == 0);
}

static void disarm(struct inj_plan *plan)
{
    inj_run_end();
    inj_plan_free(plan);
}

static void t_inj_drop_dup_reorder(void)
{
    struct env e;
    env_pv(&e, 1);
    struct inj_plan *plan;
    struct saved s;
    struct parsed *p = calloc(1, sizeof(*p));

    arm("mig.send.page:skip,nth=10", &plan);
    do_save(&e, (struct mig_save_opts){ 0 }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES - 1);
    CHECK_EQ(p->seen[0][9], 0);
    free(s.mb.buf);

    CHECK_EQ(domctl_resume_domain(e.d), 0);
    arm("mig.send.page:dup,nth=10", &plan);
    do_save(&e, (struct mig_save_opts){ 0 }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES);
    CHECK_EQ(count_pfns(p, 0, 2), 1);
    CHECK_EQ(p->seen[0][9], 2);
    free(s.mb.buf);

    CHECK_EQ(domctl_resume_domain(e.d), 0);
    arm("mig.send.page:reorder,nth=10", &plan);
    do_save(&e, (struct mig_save_opts){ 0 }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    parse(&s.mb, p);
    CHECK_EQ(p->rc, 1);
    CHECK_EQ(count_pfns(p, 0, 1), NR_PAGES);
    CHECK_EQ(p->order_violations, 1);
    free(s.mb.buf);
    free(p);
    env_finish(&e);
}

static void t_inj_truncate(void)
{
    struct env e;
    env_hvm(&e, 1);
    struct inj_plan *plan;
    struct saved s;
    arm("mig.stream.write:truncate,nth=40", &plan);
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, -XEN_ENOTCONN);
    CHECK(strstr(s.st.err, "cut by injection") != NULL);
    CHECK(!paging_log_dirty_enabled(e.d));
    struct parsed *p = calloc(1, sizeof(*p));
    parse(&s.mb, p);
    CHECK(p->rc < 0);
    CHECK(strstr(p->err, "truncated") != NULL || strstr(p->err, "END") != NULL);
    free(p);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_inj_flip(void)
{
    struct env e;
    env_pv(&e, 1);
    struct saved clean, s;
    do_save(&e, (struct mig_save_opts){ 0 }, &clean);
    REQUIRE(clean.rc == 0);
    CHECK_EQ(domctl_resume_domain(e.d), 0);
    struct inj_plan *plan;
    arm("mig.stream.write:flip,nth=30", &plan);
    do_save(&e, (struct mig_save_opts){ 0 }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    REQUIRE(s.mb.len == clean.mb.len);
    unsigned bits = 0;
    for (size_t i = 0; i < s.mb.len; i++)
        bits += (unsigned)__builtin_popcount(s.mb.buf[i] ^ clean.mb.buf[i]);
    CHECK_EQ(bits, 1);
    struct parsed *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    parse(&clean.mb, a);
    parse(&s.mb, b);
    CHECK_EQ(a->rc, 1);
    /* The 30th write is inside the first PAGE_DATA record: rejected, or
       read with a different page or pfn map. */
    if (b->rc < 0)
        fprintf(stderr, "  (rejected: %s)\n", b->err);
    CHECK(b->rc < 0 || memcmp(a->hash, b->hash, sizeof(a->hash)) != 0 ||
          memcmp(a->seen, b->seen, sizeof(a->seen)) != 0 ||
          memcmp(a->ptype, b->ptype, sizeof(a->ptype)) != 0);
    free(a);
    free(b);
    free(s.mb.buf);
    free(clean.mb.buf);
    env_finish(&e);
}

static void t_policy_inject(void)
{
    struct env e;
    env_hvm(&e, 1);
    struct inj_plan *plan;
    struct saved s;
    /* continue skipped: stop after iteration 0. */
    arm("mig.policy.continue:skip", &plan);
    e.dirty_per_round = 100;
    e.dirty_rounds = 100;
    do_save(&e, (struct mig_save_opts){ .live = true }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.st.live_rounds, 1);
    free(s.mb.buf);
    /* stop skipped once: one round more than max_iters. */
    CHECK_EQ(domctl_resume_domain(e.d), 0);
    arm("mig.policy.stop:skip,nth=1", &plan);
    do_save(&e, (struct mig_save_opts){ .live = true, .max_iters = 2 }, &s);
    disarm(plan);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.st.live_rounds, 3);
    free(s.mb.buf);
    env_finish(&e);
}

static void t_suspend_fails(void)
{
    struct env e;
    env_hvm(&e, 1);
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true,
                                        .hooks.suspend = hook_refuse }, &s);
    CHECK_EQ(s.rc, -XEN_ETIMEDOUT);
    CHECK(strstr(s.st.err, "would not stop") != NULL);
    CHECK(!domain_shut_down(e.d, NULL));    /* left running */
    CHECK(!paging_log_dirty_enabled(e.d));
    free(s.mb.buf);
    env_finish(&e);
}

static void t_bad_args(void)
{
    struct mig_save_stats st;
    struct mig_save_opts o = { 0 };
    CHECK_EQ(mig_save(&o, &st), -XEN_EINVAL);
    CHECK(strstr(st.err, "no domain") != NULL);
    CHECK_EQ(mig_save(NULL, &st), -XEN_EINVAL);
}

/* Images at the pause and after the final round (M4). */
static void t_images(void)
{
    struct env e;
    env_hvm(&e, 1);
    e.dirty_per_round = 60;
    e.dirty_rounds = 1;
    FILE *fp = tmpfile(), *ff = tmpfile();
    REQUIRE(fp && ff);
    struct saved s;
    do_save(&e, (struct mig_save_opts){ .live = true, .image_pause = fp,
                                        .image_final = ff }, &s);
    REQUIRE(s.rc == 0);
    FILE *fs[2] = { fp, ff };
    uint32_t moments[2] = { IMAGE_MOMENT_SOURCE_PAUSE, IMAGE_MOMENT_SOURCE_FINAL };
    for (unsigned k = 0; k < 2; k++) {
        rewind(fs[k]);
        struct image_reader *r;
        CHECK_EQ(image_reader_open(fs[k], "img", &r), 0);
        const struct image_header *h = image_reader_header(r);
        CHECK_EQ(h->moment, moments[k]);
        CHECK_EQ(h->nr_pages, NR_PAGES);
        CHECK_EQ(h->domid, e.d->domid);
        struct image_page pg;
        unsigned n = 0, matched = 0;
        int rc;
        while ((rc = image_read_page(r, &pg)) == 1) {
            n++;
            if (pg.pfn == e.hl.first_free_gfn && pg.data) {
                uint64_t v;
                memcpy(&v, pg.data, 8);
                matched += v == 0xd1d1d1d1ULL;
            }
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(n, NR_PAGES);
        CHECK_EQ(matched, 1);
        image_reader_close(r);
    }
    fclose(fp);
    fclose(ff);
    free(s.mb.buf);
    env_finish(&e);
}

/* ---- migrate.c: the suspend sequence ----------------------------------- */

static void t_suspend_guest(void)
{
    struct env e;
    env_pv(&e, 2);
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb);
    char err[256] = "", val[64] = "", fe[128], be[128];
    REQUIRE(xenbus_add_vbd(xb, e.d->domid, 0, 51712, 64) == 0);
    xenbus_vbd_paths(e.d->domid, 0, 51712, fe, be, sizeof(fe));

    /* The workload ended first: every vCPU stopped, no shutdown code. */
    for (unsigned i = 0; i < e.d->nr_vcpus; i++)
        vcpu_entry_done(e.d->vcpu[i]);
    CHECK_EQ(mig_suspend_guest(xb, e.d, err, sizeof(err)), -XEN_ESRCH);
    CHECK(strstr(err, "without suspending") != NULL);
    char path[128];
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
             (unsigned)e.d->domid);
    CHECK_EQ(xenbus_read(xb, path, val, sizeof(val)), 0);
    CHECK(strcmp(val, "suspend") == 0);

    /* Suspended, the backend acknowledged already: the vbd was asked. */
    CHECK_EQ(domain_shutdown(e.d, SHUTDOWN_suspend), 0);
    CHECK(domain_shut_down(e.d, NULL));
    char sp[192];
    snprintf(sp, sizeof(sp), "%s/suspended", be);
    REQUIRE(xenbus_write(xb, sp, "1") == 0);
    err[0] = '\0';
    CHECK_EQ(mig_suspend_guest(xb, e.d, err, sizeof(err)), 0);
    CHECK_EQ(xenbus_get_u64(xb, be, "suspend", 0), 1);

    /* mig.suspend.quiesce skip: the backends are not asked. */
    REQUIRE(xenbus_write(xb, sp, "0") == 0);
    REQUIRE(xenbus_put_u64(xb, be, "suspend", 0) == 0);
    struct inj_plan *plan;
    arm("mig.suspend.quiesce:skip", &plan);
    CHECK_EQ(mig_suspend_guest(xb, e.d, err, sizeof(err)), 0);
    disarm(plan);
    CHECK_EQ(xenbus_get_u64(xb, be, "suspend", 9), 0);

    /* Another reason is not a suspend. */
    CHECK_EQ(domctl_resume_domain(e.d), 0);
    CHECK_EQ(domain_shutdown(e.d, SHUTDOWN_poweroff), 0);
    for (unsigned i = 0; i < e.d->nr_vcpus; i++)
        vcpu_entry_done(e.d->vcpu[i]);
    CHECK_EQ(mig_suspend_guest(xb, e.d, err, sizeof(err)), -XEN_EINVAL);
    CHECK(strstr(err, "not suspend") != NULL);

    /* The source closes its vbds. */
    CHECK_EQ(mig_close_source_vbds(xb, e.d->domid), 0);
    CHECK_EQ(xenbus_read_state(xb, fe), XenbusStateClosed);
    CHECK_EQ(mig_close_source_vbds(NULL, e.d->domid), -XEN_EINVAL);
    CHECK_EQ(mig_suspend_guest(NULL, e.d, err, sizeof(err)), -XEN_EINVAL);
    xenbus_free(xb);
    env_finish(&e);
}

static const struct test tests[] = {
    { "PV non-live: record order, every pfn once, tables normalised, vCPU "
      "roots as pfns", t_pv_nonlive },
    { "PV live: every pfn (needs PV log-dirty)", t_pv_live },
    { "PV: an L1 entry outside the pseudo-physical map is fatal once paused "
      "(pfn/slot named), deferred live", t_pv_bad_entry },
    { "HVM hap live: round 0 sends all, dirtied pages resent, HVM context "
      "with each vCPU's CR3", t_hvm_live },
    { "HVM: the last CLEAN's pages are sent live, the final round is empty",
      t_hvm_final_dirty },
    { "policy: max_iters bounds the live rounds", t_policy_max_iters },
    { "policy: a dirty count under target_dirty stops them", t_policy_target },
    { "verify: VERIFY then every pfn again, same bytes (HVM and PV)", t_verify },
    { "inject mig.send.page: skip drops a pfn, dup sends it twice, reorder "
      "swaps two", t_inj_drop_dup_reorder },
    { "inject mig.stream.write truncate: the save fails naming the cut",
      t_inj_truncate },
    { "inject mig.stream.write flip: exactly one bit differs",
      t_inj_flip },
    { "inject mig.policy.*: skip inverts the decision", t_policy_inject },
    { "a suspend that fails leaves the domain running, log-dirty off",
      t_suspend_fails },
    { "bad arguments are -EINVAL with a message", t_bad_args },
    { "images: source-pause and source-final, every pfn, the dirtied page's "
      "content", t_images },
    { "mig_suspend_guest: asks through xenstore, -ESRCH when the workload "
      "ended first, quiesces vbds (skip: not), -EINVAL for another reason; "
      "mig_close_source_vbds closes them", t_suspend_guest },
};

/* ---- the tool mode ----------------------------------------------------- */

static int tool_write(const char *kind, const char *path)
{
    struct env e;
    bool pv = strcmp(kind, "pv") == 0;
    if (pv)
        env_pv(&e, 2);
    else
        env_hvm(&e, 2);
    e.dirty_per_round = pv ? 0 : 60;
    e.dirty_rounds = 2;
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    struct stream_writer w;
    stream_writer_init(&w, stream_sink_file, f);
    struct mig_save_stats st;
    struct mig_save_opts o = {
        .d = e.d, .w = &w, .live = !pv, .verify = true,
        .hooks = { hook_suspend, hook_progress, &e },
    };
    int rc = mig_save(&o, &st);
    if (fclose(f) && !rc)
        rc = -XEN_EIO;
    if (rc) {
        fprintf(stderr, "%s: save failed: %d: %s\n", path, rc, st.err);
        return 1;
    }
    printf("%s: %llu bytes, %u rounds\n", path, (unsigned long long)st.bytes,
           st.nr_rounds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--write-save") == 0)
        return tool_write(argv[2], argv[3]);
    int failed = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        failed += test_run_one(&tests[i]);
    }
    return failed ? 1 : 0;
}
