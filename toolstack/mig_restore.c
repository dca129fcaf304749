/*
 * toolstack/mig_restore.c - build a domain from a migration v2 stream, as
 * Xen's restore (xg_sr_restore.c, xg_sr_restore_x86_pv.c,
 * xg_sr_restore_x86_hvm.c) does.  migrate.h R1-R3; docs/migration.md
 * "Restore".
 *
 * Rules:
 *   RS1  The domain is created once the headers are read: the stream's
 *        kind, opts' vCPUs, max_pages and (HVM) paging; domain_create does
 *        the Xen-side setup the builders rely on (shared_info, event
 *        channels, grant table, the HVM p2m).
 *   RS2  A pfn is valid below max_pages and, for PV, not above the
 *        X86_PV_P2M_FRAMES end_pfn (which must come before any page).
 *        pfn -> mfn lives in rs.p2m (INVALID_MFN until populated; one
 *        domctl_populate per pfn, never twice), the last type received in
 *        rs.type (XTAB until a pfn is named).
 *   RS3  PAGE_DATA, per pfn: XTAB and BROKEN touch nothing; XALLOC
 *        populates; a data type populates if needed, then (PV table types)
 *        localises a copy, populating the pfns it references, then copies
 *        it into the frame - or, after VERIFY, compares it (R2).  A later
 *        page for the same pfn overwrites the earlier one (last wins).
 *   RS4  After END (PV): every vCPU has its X86_PV_VCPU_BASIC; the pin list
 *        of the last types is pinned (domctl_pin_table, which validates
 *        each tree); the guest's p2m frames get the new mfns; start_info's
 *        shared_info is the new domain's; SHARED_INFO's vcpu_info and arch
 *        are copied with Xen's resets; each vCPU's kernel root (and user
 *        root) must have been sent as an L4 (Xen's check) and is set -
 *        validated there if no pin did.  HVM: HVM_CONTEXT's CPU record of
 *        every vCPU gives its CR3.
 *   RS5  Every error destroys the half-built domain (the destination's
 *        free frames are then what they were before) and names the record,
 *        its index and stream offset, and what was wrong.
 *   RS6  After END, before RS4: a pfn some PAGE_DATA named whose last type
 *        is XTAB (no frame on the source: ballooned out while the rounds
 *        ran) gives back the frame an earlier round populated for it
 *        (release_invalid); a pfn populated only because a table names it
 *        keeps its zeroed frame.  Xen's restore does not do this (it keeps
 *        such frames: the domain then holds more memory than its guest
 *        believes, and the guest's next balloon-in runs into max_pages);
 *        hvlab does, with the save side's MS7, so a ballooning guest
 *        carries on after migration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>

#include "core/domctl.h"
#include "core/machine.h"
#include "core/mm/mm.h"
#include "core/pte.h"
#include "core/vcpu.h"
#include "toolstack/build_pv.h"
#include "toolstack/image.h"
#include "toolstack/migrate.h"
#include "toolstack/pv_normalise.h"
#include "trace/trace.h"

#define T(x)    XEN_DOMCTL_PFINFO_##x
#define XEN_PFN_PER_FRAME   (PAGE_SIZE / sizeof(xen_pfn_t))

_Static_assert(sizeof(vcpu_guest_context_t) == 5168,
               "X86_PV_VCPU_BASIC carries the 64-bit vcpu_guest_context");
_Static_assert(sizeof(shared_info_t) <= STREAM_PAGE_SIZE, "shared_info page");

struct rs {
    const struct mig_restore_opts *o;
    struct mig_restore_result *res;
    struct domain *d;
    uint32_t kind;                      /* STREAM_DHDR_TYPE_* */
    uint64_t nr;                        /* pfns tracked: max_pages */
    mfn_t *p2m;                         /* RS2 */
    uint32_t *type;
    const struct stream_record *rec;    /* the record being applied */
    bool verify;
    /* PV */
    bool have_p2m_frames;
    uint64_t p2m_end_pfn;               /* the last pfn the guest p2m covers */
    uint64_t released;                  /* RS6: frames given back */
    uint8_t *named;                     /* RS6: pfns a PAGE_DATA named */
    uint64_t *p2m_frame;                /* pfns of its frames, by frame */
    size_t nr_p2m_frames;
    vcpu_guest_context_t *vctx;         /* per vCPU */
    bool *vctx_seen;
    uint8_t shinfo[STREAM_PAGE_SIZE];
    bool have_shinfo;
    /* HVM */
    uint8_t *hvm_ctx;
    size_t hvm_ctx_len;
    bool have_params;
    uint8_t page[STREAM_PAGE_SIZE] __attribute__((aligned(8)));
};

/* RS5: "record N (NAME) at offset X: what".  Returns rc. */
static int fail(struct rs *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct rs *s, int rc, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (s->rec)
        snprintf(s->res->err, sizeof(s->res->err),
                 "record %u (%s, type %#x) at offset %#llx: %s%s%s",
                 s->rec->index, stream_rec_name(s->rec->type), s->rec->type,
                 (unsigned long long)s->rec->offset, what, rc ? ": " : "",
                 rc ? build_errname(rc) : "");
    else
        snprintf(s->res->err, sizeof(s->res->err), "restore: %s%s%s", what,
                 rc ? ": " : "", rc ? build_errname(rc) : "");
    return rc ? rc : -XEN_EINVAL;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case T(BROKEN): return "BROKEN";
    case T(XALLOC): return "XALLOC";
    case T(XTAB):   return "XTAB";
    }
    switch (type & ~T(LPINTAB)) {
    case T(NOTAB):  return type & T(LPINTAB) ? "NOTAB|LPINTAB" : "NOTAB";
    case T(L1TAB):  return type & T(LPINTAB) ? "L1TAB|LPINTAB" : "L1TAB";
    case T(L2TAB):  return type & T(LPINTAB) ? "L2TAB|LPINTAB" : "L2TAB";
    case T(L3TAB):  return type & T(LPINTAB) ? "L3TAB|LPINTAB" : "L3TAB";
    case T(L4TAB):  return type & T(LPINTAB) ? "L4TAB|LPINTAB" : "L4TAB";
    default:        return "unknown";
    }
}

/* ---- pfn -> mfn (RS2) --------------------------------------------------- */

static bool pfn_ok(const struct rs *s, uint64_t pfn)
{
    return pfn < s->nr && (s->kind != STREAM_DHDR_TYPE_X86_PV ||
                           pfn <= s->p2m_end_pfn);
}

static int populate_one(struct rs *s, uint64_t pfn)
{
    mfn_t mfn = INVALID_MFN;
    if (s->p2m[pfn] != INVALID_MFN)
        return 0;
    int rc = domctl_populate(s->d, pfn, 1, &mfn);
    if (rc)
        return rc;
    s->p2m[pfn] = mfn;
    return 0;
}

static uint64_t cb_pfn_to_mfn(void *opaque, uint64_t pfn)
{
    struct rs *s = opaque;
    return pfn < s->nr ? s->p2m[pfn] : INVALID_MFN;
}

static int cb_populate(void *opaque, const uint64_t *pfns, unsigned n)
{
    struct rs *s = opaque;
    for (unsigned i = 0; i < n; i++) {
        if (!pfn_ok(s, pfns[i]))
            return -XEN_ERANGE;
        int rc = populate_one(s, pfns[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- PAGE_DATA (RS3) ----------------------------------------------------- */

static void note_mismatch(struct rs *s, uint64_t pfn, uint32_t type,
                          const uint8_t *want, const uint8_t *have)
{
    unsigned first = STREAM_PAGE_SIZE, bytes = 0;
    for (unsigned i = 0; i < STREAM_PAGE_SIZE; i++)
        if (want[i] != have[i]) {
            if (first == STREAM_PAGE_SIZE)
                first = i;
            bytes++;
        }
    if (!bytes)
        return;
    struct mig_restore_result *res = s->res;
    if (res->nr_mismatch_listed < MIG_MISMATCH_LIST)
        res->mismatch_pfn[res->nr_mismatch_listed++] = pfn;
    res->verify_mismatches++;
    TRC(hvlab_mig, verify_mismatch, (uint8_t)s->o->m->host_id, s->d->domid,
        pfn, type, (uint16_t)first, (uint16_t)(bytes > 0xffff ? 0xffff : bytes));
}

static int apply_page(struct rs *s, unsigned i, uint64_t word,
                      const uint8_t *data)
{
    const uint64_t pfn = word & STREAM_PFN_MASK;
    const uint32_t type = (uint32_t)(word >> 32);
    int rc;

    if (!pfn_ok(s, pfn) && s->kind == STREAM_DHDR_TYPE_X86_PV)
        return fail(s, -XEN_ERANGE, "pfn[%u] %#llx (%s) is beyond the domain "
                    "(max_pages %llu, the p2m ends at %#llx)", i,
                    (unsigned long long)pfn, type_name(type),
                    (unsigned long long)s->nr,
                    (unsigned long long)s->p2m_end_pfn);
    if (!pfn_ok(s, pfn))
        return fail(s, -XEN_ERANGE, "pfn[%u] %#llx (%s) is beyond the domain "
                    "(max_pages %llu)", i, (unsigned long long)pfn,
                    type_name(type), (unsigned long long)s->nr);
    if (!stream_pfinfo_valid(type))     /* the reader checked; be total */
        return fail(s, -XEN_EINVAL, "pfn[%u] %#llx: unknown type %#x", i,
                    (unsigned long long)pfn, type);
    s->type[pfn] = type;                /* the last one wins (8.5) */
    s->named[pfn / 8] |= (uint8_t)(1u << (pfn % 8));    /* RS6 */

    if (type == T(XTAB) || type == T(BROKEN))
        return 0;
    rc = populate_one(s, pfn);
    if (rc)
        return fail(s, rc, "pfn[%u] %#llx (%s): populating", i,
                    (unsigned long long)pfn, type_name(type));
    if (type == T(XALLOC))
        return 0;

    const uint64_t hash = image_page_hash(data);
    memcpy(s->page, data, STREAM_PAGE_SIZE);
    if (s->kind == STREAM_DHDR_TYPE_X86_PV && pvn_type_level(type)) {
        const struct pvn_restore_ops ops = {
            cb_pfn_to_mfn, cb_populate,
            (s->p2m_end_pfn < s->nr - 1 ? s->p2m_end_pfn : s->nr - 1), s,
        };
        struct pvn_fault f = { 0 };
        rc = pv_localise_page(type, (uint64_t *)s->page, &ops, &f);
        if (rc)
            return fail(s, rc, "pfn[%u] %#llx (%s) does not localise: L%u "
                        "slot %u entry %#llx names pfn %#llx (the map ends "
                        "at %#llx)", i, (unsigned long long)pfn,
                        type_name(type), f.level, f.slot,
                        (unsigned long long)f.entry,
                        (unsigned long long)f.frame,
                        (unsigned long long)ops.max_pfn);
    }
    mfn_t mfn = s->p2m[pfn];
    uint8_t *frame = domctl_map_foreign(s->d, mfn);
    if (!frame)
        return fail(s, -XEN_EINVAL, "pfn[%u] %#llx: mfn %#llx not the "
                    "domain's", i, (unsigned long long)pfn,
                    (unsigned long long)mfn);
    if (s->verify) {
        s->res->verify_pages++;
        if (memcmp(frame, s->page, STREAM_PAGE_SIZE))
            note_mismatch(s, pfn, type, s->page, frame);
    } else {
        memcpy(frame, s->page, STREAM_PAGE_SIZE);
        s->res->pages++;
    }
    TRC(hvlab_mig, recv_page, (uint8_t)s->o->m->host_id, s->d->domid, pfn,
        mfn, type, hash, (uint8_t)s->verify);
    return 0;
}

static int page_data(struct rs *s, const struct stream_record *rec)
{
    if (s->kind == STREAM_DHDR_TYPE_X86_PV && !s->have_p2m_frames)
        return fail(s, -XEN_EINVAL, "PAGE_DATA before X86_PV_P2M_FRAMES "
                    "(pfns cannot be checked against the guest's p2m)");
    const uint8_t *data = rec->u.page_data.data;
    for (uint32_t i = 0; i < rec->u.page_data.count; i++) {
        uint64_t word = rec->u.page_data.pfn[i];
        uint32_t type = (uint32_t)(word >> 32);
        int rc = apply_page(s, i, word, data);
        if (rc)
            return rc;
        if (stream_pfinfo_has_data(type))
            data += STREAM_PAGE_SIZE;
    }
    return 0;
}

/* ---- other records -------------------------------------------------------- */

static int p2m_frames(struct rs *s, const struct stream_record *rec)
{
    uint64_t start = rec->u.p2m_frames.start_pfn, end = rec->u.p2m_frames.end_pfn;
    if (s->have_p2m_frames)
        return fail(s, -XEN_EINVAL, "a second X86_PV_P2M_FRAMES");
    if (start != 0)
        return fail(s, -XEN_EINVAL, "start_pfn %#llx (hvlab's guests start "
                    "their p2m at pfn 0)", (unsigned long long)start);
    if (end >= s->nr)
        return fail(s, -XEN_ERANGE, "end_pfn %#llx is beyond max_pages %llu",
                    (unsigned long long)end, (unsigned long long)s->nr);
    size_t want = end / XEN_PFN_PER_FRAME + 1;
    if (rec->u.p2m_frames.nr != want)
        return fail(s, -XEN_EINVAL, "%zu frame pfns for pfns 0..%#llx (want "
                    "%zu)", rec->u.p2m_frames.nr, (unsigned long long)end,
                    want);
    s->p2m_frame = calloc(want, sizeof(*s->p2m_frame));
    if (!s->p2m_frame)
        return fail(s, -XEN_ENOMEM, "the p2m frame list");
    for (size_t f = 0; f < want; f++) {
        uint64_t pfn = rec->u.p2m_frames.pfn[f];
        if (pfn > end)
            return fail(s, -XEN_ERANGE, "p2m frame %zu at pfn %#llx, beyond "
                        "end_pfn", f, (unsigned long long)pfn);
        s->p2m_frame[f] = pfn;
    }
    s->nr_p2m_frames = want;
    s->p2m_end_pfn = end;
    s->have_p2m_frames = true;
    return 0;
}

static int pv_vcpu(struct rs *s, const struct stream_record *rec)
{
    uint32_t id = rec->u.vcpu.vcpu_id;
    if (id >= s->d->nr_vcpus)
        return fail(s, -XEN_EINVAL, "vCPU %u: the domain has %u", id,
                    s->d->nr_vcpus);
    if (rec->type != STREAM_REC_X86_PV_VCPU_BASIC)
        return 0;                       /* extended state: nothing to load */
    if (rec->u.vcpu.len != sizeof(vcpu_guest_context_t))
        return fail(s, -XEN_EINVAL, "vCPU %u: context of %zu bytes (want %zu)",
                    id, rec->u.vcpu.len, sizeof(vcpu_guest_context_t));
    memcpy(&s->vctx[id], rec->u.vcpu.ctxt, sizeof(vcpu_guest_context_t));
    s->vctx_seen[id] = true;
    return 0;
}

static int hvm_params(struct rs *s, const struct stream_record *rec)
{
    for (size_t i = 0; i < rec->u.params.nr; i++)
        if (rec->u.params.p[i].index >= HVM_NR_PARAMS)
            return fail(s, -XEN_EINVAL, "param[%zu] index %llu (Xen has %u)",
                        i, (unsigned long long)rec->u.params.p[i].index,
                        HVM_NR_PARAMS);
    s->have_params = true;
    return 0;
}

static int hvm_context(struct rs *s, const struct stream_record *rec)
{
    if (s->hvm_ctx)
        return fail(s, -XEN_EINVAL, "a second HVM_CONTEXT");
    s->hvm_ctx = malloc(rec->length);
    if (!s->hvm_ctx)
        return fail(s, -XEN_ENOMEM, "HVM context of %u bytes", rec->length);
    memcpy(s->hvm_ctx, rec->body, rec->length);
    s->hvm_ctx_len = rec->length;
    return 0;
}

static int apply_record(struct rs *s, const struct stream_record *rec)
{
    const bool pv = s->kind == STREAM_DHDR_TYPE_X86_PV;
    switch (rec->type) {
    case STREAM_REC_PAGE_DATA:
        return page_data(s, rec);
    case STREAM_REC_X86_PV_INFO:
        if (rec->u.pv_info.guest_width != 8 || rec->u.pv_info.pt_levels != 4)
            return fail(s, -XEN_EOPNOTSUPP, "guest width %u, %u levels (hvlab "
                        "restores 64-bit, 4-level guests)",
                        rec->u.pv_info.guest_width, rec->u.pv_info.pt_levels);
        return 0;
    case STREAM_REC_X86_PV_P2M_FRAMES:
        return p2m_frames(s, rec);
    case STREAM_REC_X86_PV_VCPU_BASIC:
    case STREAM_REC_X86_PV_VCPU_EXTENDED:
    case STREAM_REC_X86_PV_VCPU_XSAVE:
    case STREAM_REC_X86_PV_VCPU_MSRS:
        return pv_vcpu(s, rec);
    case STREAM_REC_SHARED_INFO:
        if (!pv)
            return fail(s, -XEN_EINVAL, "SHARED_INFO in an HVM stream");
        memcpy(s->shinfo, rec->body, STREAM_PAGE_SIZE);
        s->have_shinfo = true;
        return 0;
    case STREAM_REC_HVM_PARAMS:
        return hvm_params(s, rec);
    case STREAM_REC_HVM_CONTEXT:
        return hvm_context(s, rec);
    case STREAM_REC_VERIFY:
        s->verify = true;
        s->res->verify_seen = true;
        return 0;
    case STREAM_REC_END:
    case STREAM_REC_X86_TSC_INFO:       /* hvlab has one TSC mode */
    case STREAM_REC_STATIC_DATA_END:
    case STREAM_REC_X86_CPUID_POLICY:   /* one CPU model everywhere */
    case STREAM_REC_X86_MSR_POLICY:
    case STREAM_REC_CHECKPOINT:
        return 0;
    default:
        return fail(s, -XEN_EOPNOTSUPP, "record type %#x not handled",
                    rec->type);
    }
}

/* ---- after END (RS4) ------------------------------------------------------ */

static int pv_pins(struct rs *s)
{
    size_t n = 0;
    int rc = pv_pin_list(s->type, s->nr, NULL, 0, &n);
    if (rc && rc != -XEN_E2BIG)
        return fail(s, rc, "sizing the pin list");
    struct pvn_pin *pins = calloc(n ? n : 1, sizeof(*pins));
    if (!pins)
        return fail(s, -XEN_ENOMEM, "the pin list (%zu)", n);
    rc = pv_pin_list(s->type, s->nr, pins, n, &n);
    if (rc) {
        free(pins);
        return fail(s, rc, "the pin list");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned level = pins[i].cmd - MMUEXT_PIN_L1_TABLE + 1;
        mfn_t mfn = s->p2m[pins[i].pfn];
        rc = domctl_pin_table(s->d, mfn, level);
        if (rc) {
            uint64_t pfn = pins[i].pfn;
            free(pins);
            return fail(s, rc, "pinning pfn %#llx (mfn %#llx) as an L%u "
                        "table (pin %zu of %zu)", (unsigned long long)pfn,
                        (unsigned long long)mfn, level, i + 1, n);
        }
    }
    free(pins);
    return 0;
}

/* A NOTAB pfn of the guest with a frame: its mfn, else INVALID_MFN. */
static mfn_t data_frame(const struct rs *s, uint64_t pfn)
{
    if (pfn >= s->nr || s->type[pfn] != T(NOTAB))
        return INVALID_MFN;
    return s->p2m[pfn];
}

/* The post-END writes into the guest's own frames (its p2m, start_info,
   shared_info) go through writable foreign maps, as Xen's restore maps
   them PROT_WRITE: a frame the pin list made a pagetable is refused,
   never overwritten under its validated entries. */
static void *map_guest_rw(struct rs *s, mfn_t mfn, int *rc)
{
    if (mfn == INVALID_MFN) {
        *rc = -XEN_EINVAL;
        return NULL;
    }
    return domctl_map_foreign_rw(s->d, mfn, rc);
}

static const char *frame_use(const struct rs *s, uint64_t pfn)
{
    if (pfn >= s->nr)
        return "is beyond the stream's pfns";
    if (data_frame(s, pfn) == INVALID_MFN)
        return "is no data page";
    return "cannot be mapped writable: the pinned tables use it as a "
           "pagetable";
}

static int pv_guest_p2m(struct rs *s)
{
    for (size_t f = 0; f < s->nr_p2m_frames; f++) {
        uint64_t pfn = s->p2m_frame[f];
        mfn_t mfn = data_frame(s, pfn);
        int rc;
        xen_pfn_t *list = map_guest_rw(s, mfn, &rc);
        if (!list)
            return fail(s, rc, "p2m frame %zu (pfn %#llx, sent as %s) %s", f,
                        (unsigned long long)pfn,
                        pfn < s->nr ? type_name(s->type[pfn]) : "nothing",
                        frame_use(s, pfn));
        uint64_t first = f * XEN_PFN_PER_FRAME;
        for (uint64_t j = 0; j < XEN_PFN_PER_FRAME; j++)
            if (first + j <= s->p2m_end_pfn)
                list[j] = s->p2m[first + j] == INVALID_MFN
                          ? ~(xen_pfn_t)0 : s->p2m[first + j];
        domctl_unmap_foreign_rw(s->d, mfn);
    }
    return 0;
}

static int pv_start_info(struct rs *s)
{
    uint64_t pfn = s->vctx[0].user_regs.rdx;
    mfn_t mfn = data_frame(s, pfn);
    int rc;
    start_info_t *si = map_guest_rw(s, mfn, &rc);
    if (!si)
        return fail(s, rc, "vCPU 0's start_info pfn %#llx (rdx, sent as %s) "
                    "%s", (unsigned long long)pfn,
                    pfn < s->nr ? type_name(s->type[pfn]) : "nothing",
                    frame_use(s, pfn));
    si->shared_info = s->d->shared_info_mfn << PAGE_SHIFT;
    domctl_unmap_foreign_rw(s->d, mfn);
    return 0;
}

static int pv_shared_info(struct rs *s)
{
    if (!s->have_shinfo)
        return 0;
    int rc;
    mfn_t mfn = s->d->shared_info_mfn;
    shared_info_t *dst = domctl_map_foreign_rw(s->d, mfn, &rc);
    const shared_info_t *src = (const shared_info_t *)s->shinfo;
    if (!dst)
        return fail(s, rc, "the new domain's shared_info (mfn %#llx) cannot "
                    "be mapped writable", (unsigned long long)mfn);
    /* Xen's handle_shared_info: the vCPUs' and the arch part travel;
       the p2m list pointer and every pending event do not; all ports are
       masked until the guest rebinds them. */
    memcpy(dst->vcpu_info, src->vcpu_info, sizeof(dst->vcpu_info));
    memcpy(&dst->arch, &src->arch, sizeof(dst->arch));
    dst->arch.pfn_to_mfn_frame_list_list = 0;
    memset(dst->evtchn_pending, 0, sizeof(dst->evtchn_pending));
    for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
        dst->vcpu_info[i].evtchn_pending_sel = 0;
    memset(dst->evtchn_mask, 0xff, sizeof(dst->evtchn_mask));
    domctl_unmap_foreign_rw(s->d, mfn);
    return 0;
}

/* A vCPU root pfn: sent as an L4, as Xen's restore checks (pinned: its
   tree was validated by the pin; unpinned: domctl_set_vcpu_context
   validates it). */
static int pv_root(struct rs *s, unsigned id, const char *which, uint64_t pfn,
                   mfn_t *mfn)
{
    uint32_t type = pfn < s->nr ? s->type[pfn] : T(XTAB);
    if (pfn >= s->nr || (type & ~T(LPINTAB)) != T(L4TAB) ||
        s->p2m[pfn] == INVALID_MFN)
        return fail(s, -XEN_EINVAL, "vCPU %u's %s root pfn %#llx is not an "
                    "L4 (%s)", id, which, (unsigned long long)pfn,
                    pfn < s->nr ? type_name(type) : "beyond the domain");
    *mfn = s->p2m[pfn];
    return 0;
}

/*
 * RS6: a pfn whose last word in the stream is XTAB has no frame on the
 * source (ballooned out while the rounds ran: Xen's saver sends such pfns
 * XTAB); a frame an earlier round populated for it goes back to Xen, as
 * the guest gave its own back, or the new domain would hold more than
 * the guest believes it has.
 */
static int release_invalid(struct rs *s)
{
    const bool pv = s->kind == STREAM_DHDR_TYPE_X86_PV;
    for (uint64_t p = 0; p < s->nr; p++) {
        if (s->type[p] != T(XTAB) || s->p2m[p] == INVALID_MFN ||
            !(s->named[p / 8] & (1u << (p % 8))))
            continue;           /* populated only because a table names it */
        int rc = domctl_remove_page(s->d, pv ? s->p2m[p] : p);
        if (rc)
            return fail(s, rc, "releasing pfn %#llx (XTAB at the end: no "
                        "frame on the source)", (unsigned long long)p);
        s->p2m[p] = INVALID_MFN;
        s->released++;
    }
    return 0;
}

static int pv_complete(struct rs *s)
{
    int rc;
    if ((rc = release_invalid(s)) != 0)
        return rc;
    for (unsigned i = 0; i < s->d->nr_vcpus; i++)
        if (!s->vctx_seen[i])
            return fail(s, -XEN_EINVAL, "no X86_PV_VCPU_BASIC record for "
                        "vCPU %u", i);
    if (!s->have_p2m_frames)
        return fail(s, -XEN_EINVAL, "no X86_PV_P2M_FRAMES record");
    if ((rc = pv_pins(s)) || (rc = pv_guest_p2m(s)) ||
        (rc = pv_start_info(s)) || (rc = pv_shared_info(s)))
        return rc;
    for (unsigned i = 0; i < s->d->nr_vcpus; i++) {
        const vcpu_guest_context_t *c = &s->vctx[i];
        mfn_t kroot, uroot = INVALID_MFN;
        rc = pv_root(s, i, "kernel", xen_cr3_to_pfn(c->ctrlreg[3]), &kroot);
        if (rc)
            return rc;
        /* The user root, as Xen's process_vcpu_basic reads it: 1 | pfn <<
           12, bit 0 marking it valid; without bit 0 there is none. */
        if (c->ctrlreg[1] & (PAGE_SIZE - 2))
            return fail(s, -XEN_EINVAL, "vCPU %u's ctrlreg[1] %#llx is not "
                        "1 | pfn << 12", i,
                        (unsigned long long)c->ctrlreg[1]);
        if (c->ctrlreg[1] & 1) {
            rc = pv_root(s, i, "user", c->ctrlreg[1] >> PAGE_SHIFT, &uroot);
            if (rc)
                return rc;
        }
        rc = domctl_set_vm_assist(s->d, c->vm_assist);
        if (rc)
            return fail(s, rc, "vCPU %u's vm_assist %#llx: a type a PV "
                        "domain does not accept", i,
                        (unsigned long long)c->vm_assist);
        rc = domctl_set_vcpu_context(s->d->vcpu[i], kroot, uroot);
        if (rc)
            return fail(s, rc, "setting vCPU %u's context (kernel root mfn "
                        "%#llx)", i, (unsigned long long)kroot);
    }
    return 0;
}

static int hvm_complete(struct rs *s)
{
    int rc0 = release_invalid(s);
    if (rc0)
        return rc0;
    if (!s->hvm_ctx)
        return fail(s, -XEN_EINVAL, "no HVM_CONTEXT record");
    if (!s->have_params)
        return fail(s, -XEN_EINVAL, "no HVM_PARAMS record");
    uint64_t cr3[HV_MAX_VCPUS];
    bool seen[HV_MAX_VCPUS] = { false }, header = false, end = false;
    size_t off = 0;
    while (!end) {
        struct hvm_save_descriptor desc;
        if (s->hvm_ctx_len - off < sizeof(desc))
            return fail(s, -XEN_EINVAL, "HVM context: descriptor at +%zu cut "
                        "short (no END)", off);
        memcpy(&desc, s->hvm_ctx + off, sizeof(desc));
        off += sizeof(desc);
        if (desc.length > s->hvm_ctx_len - off)
            return fail(s, -XEN_EINVAL, "HVM context: entry type %u at +%zu "
                        "length %u runs past the record", desc.typecode,
                        off - sizeof(desc), desc.length);
        const uint8_t *body = s->hvm_ctx + off;
        switch (desc.typecode) {
        case HVM_SAVE_CODE(END):
            end = true;
            break;
        case HVM_SAVE_CODE(HEADER): {
            struct hvm_save_header h;
            if (desc.length != sizeof(h))
                return fail(s, -XEN_EINVAL, "HVM context: header of %u bytes",
                            desc.length);
            memcpy(&h, body, sizeof(h));
            if (h.magic != HVM_FILE_MAGIC)
                return fail(s, -XEN_EINVAL, "HVM context: magic %#x", h.magic);
            header = true;
            break;
        }
        case HVM_SAVE_CODE(CPU): {
            struct hvm_hw_cpu cpu = { 0 };
            const size_t need = offsetof(struct hvm_hw_cpu, cr3) + sizeof(cpu.cr3);
            if (!header)
                return fail(s, -XEN_EINVAL, "HVM context: CPU entry before "
                            "the header");
            if (desc.instance >= s->d->nr_vcpus || seen[desc.instance])
                return fail(s, -XEN_EINVAL, "HVM context: CPU instance %u "
                            "(%s; the domain has %u vCPUs)", desc.instance,
                            desc.instance < s->d->nr_vcpus ? "twice" : "none",
                            s->d->nr_vcpus);
            if (desc.length < need || desc.length > sizeof(cpu))
                return fail(s, -XEN_EINVAL, "HVM context: CPU %u entry of %u "
                            "bytes", desc.instance, desc.length);
            memcpy(&cpu, body, desc.length);    /* zero-extended */
            cr3[desc.instance] = cpu.cr3;
            seen[desc.instance] = true;
            break;
        }
        default:
            break;                      /* devices hvlab does not model */
        }
        off += desc.length;
    }
    for (unsigned i = 0; i < s->d->nr_vcpus; i++) {
        if (!seen[i])
            return fail(s, -XEN_EINVAL, "HVM context: no CPU entry for vCPU "
                        "%u", i);
        int rc = domctl_set_hvm_cr3(s->d->vcpu[i], cr3[i]);
        if (rc)
            return fail(s, rc, "vCPU %u's CR3 %#llx", i,
                        (unsigned long long)cr3[i]);
    }
    return 0;
}

/* ---- the image of the new domain ------------------------------------------ */

/* The destination's M2P and pfn map, for normalising its tables into the
   image as the source's images hold them (pfns, Xen's slots zeroed). */
static uint64_t img_mfn_to_pfn(void *opaque, uint64_t mfn)
{
    const struct rs *s = opaque;
    return get_gpfn_from_mfn(s->o->m, mfn);
}

static bool img_in_physmap(void *opaque, uint64_t pfn, uint64_t mfn)
{
    const struct rs *s = opaque;
    return pfn < s->nr && s->p2m[pfn] == mfn;
}

static int write_image(struct rs *s)
{
    uint64_t table[PVN_ENTRIES];
    uint64_t n = 0;
    for (uint64_t p = 0; p < s->nr; p++)
        n += s->p2m[p] != INVALID_MFN;
    struct image_header h = {
        .flags = 0, .host_id = s->o->m->host_id, .domid = s->d->domid,
        .kind = s->kind == STREAM_DHDR_TYPE_X86_PV ? IMAGE_KIND_PV
                                                   : IMAGE_KIND_HVM,
        .moment = IMAGE_MOMENT_DEST_RESTORED, .nr_pages = n,
    };
    snprintf(h.label, sizeof(h.label), "restored dom%u", s->d->domid);
    struct image_writer *w;
    int rc = image_writer_open(s->o->image_restored, &h, &w);
    if (rc)
        return fail(s, rc, "opening the restored image");
    for (uint64_t p = 0; p < s->nr; p++) {
        if (s->p2m[p] == INVALID_MFN)
            continue;
        xen_pfn_t a = s->kind == STREAM_DHDR_TYPE_X86_PV ? s->p2m[p] : p;
        const void *data = mfn_to_virt(s->o->m, s->p2m[p]);
        rc = domctl_getpageframeinfo3(s->d, &a, 1);
        if (!rc && s->kind == STREAM_DHDR_TYPE_X86_PV &&
            pvn_type_level((uint32_t)a)) {          /* comparable (RS4) */
            struct pvn_save_ops ops = { img_mfn_to_pfn, img_in_physmap, s };
            rc = pv_normalise_page((uint32_t)a, data, table, &ops, true, NULL);
            data = table;
        }
        if (!rc)
            rc = image_add_page(w, p, (uint32_t)a, data);
        if (rc) {
            image_writer_abort(w);
            return fail(s, rc, "the restored image at pfn %#llx",
                        (unsigned long long)p);
        }
    }
    rc = image_writer_finish(w);
    return rc ? fail(s, rc, "finishing the restored image") : 0;
}

/* ---- the loop --------------------------------------------------------------- */

static int run(struct rs *s)
{
    const struct mig_restore_opts *o = s->o;
    struct stream_reader *r = o->r;
    struct stream_record rec;
    int rc;

    if (!r->headers_done && (rc = stream_read_headers(r))) {
        snprintf(s->res->err, sizeof(s->res->err), "%s", r->err);
        return rc;
    }
    s->kind = r->dom_type;
    s->res->dom_type = r->dom_type;
    struct domain_config dc = {
        .kind = s->kind == STREAM_DHDR_TYPE_X86_PV ? DOMAIN_PV : DOMAIN_HVM,
        .nr_vcpus = o->nr_vcpus, .max_pages = o->max_pages, .domid = o->domid,
        .paging = s->kind == STREAM_DHDR_TYPE_X86_PV ? PAGING_PV : o->paging,
    };
    rc = domain_create(o->m, &dc, &s->d);
    if (rc)
        return fail(s, rc, "creating dom%u (%s, %u vCPUs, %llu pages)",
                    o->domid, s->kind == STREAM_DHDR_TYPE_X86_PV ? "PV" : "HVM",
                    o->nr_vcpus, (unsigned long long)o->max_pages);
    s->nr = o->max_pages;
    s->p2m = malloc(s->nr * sizeof(*s->p2m));
    s->type = malloc(s->nr * sizeof(*s->type));
    s->vctx = calloc(o->nr_vcpus, sizeof(*s->vctx));
    s->vctx_seen = calloc(o->nr_vcpus, sizeof(*s->vctx_seen));
    s->named = calloc(s->nr / 8 + 1, 1);
    if (!s->p2m || !s->type || !s->vctx || !s->vctx_seen || !s->named)
        return fail(s, -XEN_ENOMEM, "restore state for %llu pfns",
                    (unsigned long long)s->nr);
    for (uint64_t p = 0; p < s->nr; p++) {
        s->p2m[p] = INVALID_MFN;
        s->type[p] = T(XTAB);
    }

    for (;;) {
        rc = stream_read_record(r, &rec);
        if (rc < 0) {
            snprintf(s->res->err, sizeof(s->res->err), "%s", r->err);
            return rc;
        }
        if (rc == 1)
            break;
        s->rec = &rec;
        rc = apply_record(s, &rec);
        if (rc)
            return rc;
        if (rec.type == STREAM_REC_END)
            break;
    }
    /* The END record is still in rec; its name goes into the errors. */
    if (!r->ended)
        return fail(s, -XEN_EINVAL, "the stream ended without END");
    rc = s->kind == STREAM_DHDR_TYPE_X86_PV ? pv_complete(s) : hvm_complete(s);
    if (rc)
        return rc;
    return o->image_restored ? write_image(s) : 0;
}

int mig_restore(const struct mig_restore_opts *o,
                struct mig_restore_result *res)
{
    if (!res)
        return -XEN_EINVAL;
    memset(res, 0, sizeof(*res));
    if (!o || !o->m || !o->r || !o->nr_vcpus ||
        o->nr_vcpus > HV_MAX_VCPUS || !o->max_pages) {
        snprintf(res->err, sizeof(res->err), "restore: bad options");
        return -XEN_EINVAL;
    }
    struct rs *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(res->err, sizeof(res->err), "restore: out of memory");
        return -XEN_ENOMEM;
    }
    s->o = o;
    s->res = res;
    const uint64_t free_before = o->m->nr_free;

    int rc = run(s);
    if (rc && s->d) {                   /* R3 */
        domain_destroy(s->d);
        s->d = NULL;
        if (o->m->nr_free != free_before) {
            size_t l = strlen(res->err);
            snprintf(res->err + l, sizeof(res->err) - l,
                     " (and %lld frames did not come back)",
                     (long long)(free_before - o->m->nr_free));
        }
    }
    res->d = s->d;
    res->bytes = o->r->offset;
    TRC(hvlab_mig, restore_done, (uint8_t)o->m->host_id, o->domid,
        (int32_t)rc, res->pages, res->bytes);
    free(s->p2m);
    free(s->type);
    free(s->vctx);
    free(s->vctx_seen);
    free(s->named);
    free(s->p2m_frame);
    free(s->hvm_ctx);
    free(s);
    return rc;
}
