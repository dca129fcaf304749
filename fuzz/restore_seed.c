/*
 * fuzz/restore_seed.c - the seed streams of the FUZZ_RESTORE surface
 * (restore_seed.h RD1-RD2), in the record order Xen's saver uses
 * (xg_sr_save.c): headers, X86_PV_INFO, STATIC_DATA_END, X86_PV_P2M_FRAMES,
 * the PAGE_DATA rounds, then TSC_INFO and the kind's tail records, END.
 *
 * Layout of the PV seeds (pfns):
 *   0  L4 (pinned)     slot 0 -> pfn 3 (tree seeds)
 *   1  the guest's p2m list (the one X86_PV_P2M_FRAMES frame)
 *   2  start_info (vCPU 0's rdx)
 *   3  L3  slot 0 -> 4;  4  L2  slot 0 -> 5;  5  L1  slots 0..3 -> 6..9
 *   6..9  data;  10 XALLOC;  11 XTAB;  12 sent as data, then XTAB (RS6)
 * HVM: gfns 0..3 data, 4..7 XALLOC; params; a context with vCPU 0's CPU.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/hvm/params.h>
#include <xen/hvm/save.h>

#include "core/pte.h"
#include "core/types.h"
#include "fuzz/restore_seed.h"

#define T(x)        XEN_DOMCTL_PFINFO_##x
#define PG          STREAM_PAGE_SIZE
#define PDE_FLAGS   (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)
#define PTE_FLAGS   (PDE_FLAGS | _PAGE_DIRTY)

enum seed_kind { PV_MIN, PV_TREE, PV_BALLOON, PV_VERIFY, HVM_MIN,
                 BAD_L1_RANGE, BAD_NO_VCPU, BAD_HVM_NO_CPU };

static const struct seed {
    const char *name;
    enum seed_kind kind;
    bool ok;
} seeds[] = {
    { "pv-min",         PV_MIN,         true },
    { "pv-tree",        PV_TREE,        true },
    { "pv-balloon",     PV_BALLOON,     true },
    { "pv-verify",      PV_VERIFY,      true },
    { "hvm-min",        HVM_MIN,        true },
    { "bad-l1-range",   BAD_L1_RANGE,   false },
    { "bad-no-vcpu",    BAD_NO_VCPU,    false },
    { "bad-hvm-no-cpu", BAD_HVM_NO_CPU, false },
};
#define NR_SEEDS    (sizeof(seeds) / sizeof(seeds[0]))

unsigned fuzz_restore_nr_seeds(void)
{
    return NR_SEEDS;
}

const char *fuzz_restore_seed_name(unsigned i)
{
    return i < NR_SEEDS ? seeds[i].name : NULL;
}

bool fuzz_restore_seed_ok(unsigned i)
{
    return i < NR_SEEDS && seeds[i].ok;
}

/* Pages stay readable until the writer flushes (stream.h S4). */
struct pages {
    uint64_t l4[PG / 8], l3[PG / 8], l2[PG / 8], l1[PG / 8];
    uint8_t zero[PG], data[4][PG], alt[PG];
    uint8_t shinfo[PG];
};

static int pv_pages(struct stream_writer *w, struct pages *p,
                    enum seed_kind k, bool again)
{
    const bool tree = k != PV_MIN;
    int rc = 0;
    rc = rc ? rc : stream_write_page(w, 0, T(L4TAB) | T(LPINTAB),
                                     tree ? (void *)p->l4 : p->zero);
    rc = rc ? rc : stream_write_page(w, 1, T(NOTAB), p->zero);
    rc = rc ? rc : stream_write_page(w, 2, T(NOTAB), p->zero);
    if (!tree)
        return rc;
    rc = rc ? rc : stream_write_page(w, 3, T(L3TAB), p->l3);
    rc = rc ? rc : stream_write_page(w, 4, T(L2TAB), p->l2);
    rc = rc ? rc : stream_write_page(w, 5, T(L1TAB), p->l1);
    for (unsigned i = 0; i < 4 && !rc; i++)
        rc = stream_write_page(w, 6 + i, T(NOTAB),
                               again && i == 2 ? p->alt : p->data[i]);
    if (k == PV_BALLOON && !again) {
        rc = rc ? rc : stream_write_page(w, 10, T(XALLOC), NULL);
        rc = rc ? rc : stream_write_page(w, 11, T(XTAB), NULL);
        rc = rc ? rc : stream_write_page(w, 12, T(NOTAB), p->data[0]);
        rc = rc ? rc : stream_write_flush(w);
        rc = rc ? rc : stream_write_page(w, 12, T(XTAB), NULL);
    }
    return rc;
}

static int pv_stream(struct stream_writer *w, struct pages *p, enum seed_kind k)
{
    const uint64_t p2m_frame = 1;
    int rc = stream_write_headers(w, STREAM_DHDR_TYPE_X86_PV, 4, 17);
    rc = rc ? rc : stream_write_x86_pv_info(w, 8, 4);
    rc = rc ? rc : stream_write_static_data_end(w);
    rc = rc ? rc : stream_write_x86_pv_p2m_frames(w, 0,
                                                  FUZZ_RESTORE_MAX_PAGES - 1,
                                                  &p2m_frame, 1);
    rc = rc ? rc : pv_pages(w, p, k, false);
    if (k == PV_VERIFY) {
        rc = rc ? rc : stream_write_verify(w);
        rc = rc ? rc : pv_pages(w, p, k, true);
    }
    rc = rc ? rc : stream_write_x86_tsc_info(w, 0, 2000000, 1000, 1);
    rc = rc ? rc : stream_write_shared_info(w, p->shinfo);
    if (k != BAD_NO_VCPU) {
        vcpu_guest_context_t c;
        memset(&c, 0, sizeof(c));
        c.ctrlreg[3] = xen_pfn_to_cr3(0);
        c.user_regs.rdx = 2;
        rc = rc ? rc : stream_write_x86_pv_vcpu(w, STREAM_REC_X86_PV_VCPU_BASIC,
                                                0, &c, sizeof(c));
    }
    return rc ? rc : stream_write_end(w);
}

static int hvm_stream(struct stream_writer *w, struct pages *p, enum seed_kind k)
{
    uint8_t ctx[3 * sizeof(struct hvm_save_descriptor) +
                sizeof(struct hvm_save_header) + sizeof(struct hvm_hw_cpu)];
    size_t off = 0;
    int rc = stream_write_headers(w, STREAM_DHDR_TYPE_X86_HVM, 4, 17);
    rc = rc ? rc : stream_write_static_data_end(w);
    for (unsigned g = 0; g < 8 && !rc; g++)
        rc = stream_write_page(w, g, g < 4 ? T(NOTAB) : T(XALLOC),
                               g < 4 ? p->data[g] : NULL);
    rc = rc ? rc : stream_write_x86_tsc_info(w, 0, 2000000, 1000, 1);
    const struct stream_hvm_params_entry par[2] = {
        { HVM_PARAM_STORE_EVTCHN, 3 }, { HVM_PARAM_CONSOLE_EVTCHN, 4 },
    };
    rc = rc ? rc : stream_write_hvm_params(w, par, 2);

    struct hvm_save_descriptor desc = { HVM_SAVE_CODE(HEADER), 0,
                                        sizeof(struct hvm_save_header) };
    struct hvm_save_header h = { .magic = HVM_FILE_MAGIC, .version = 1 };
    memcpy(ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
    memcpy(ctx + off, &h, sizeof(h)); off += sizeof(h);
    if (k != BAD_HVM_NO_CPU) {
        struct hvm_hw_cpu cpu;
        memset(&cpu, 0, sizeof(cpu));
        cpu.cr3 = 0;
        desc = (struct hvm_save_descriptor){ HVM_SAVE_CODE(CPU), 0,
                                             sizeof(cpu) };
        memcpy(ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
        memcpy(ctx + off, &cpu, sizeof(cpu)); off += sizeof(cpu);
    }
    desc = (struct hvm_save_descriptor){ HVM_SAVE_CODE(END), 0, 0 };
    memcpy(ctx + off, &desc, sizeof(desc)); off += sizeof(desc);
    rc = rc ? rc : stream_write_hvm_context(w, ctx, off);
    return rc ? rc : stream_write_end(w);
}

int fuzz_restore_seed(unsigned i, struct stream_membuf *out)
{
    if (!out)
        return -XEN_EINVAL;
    memset(out, 0, sizeof(*out));
    if (i >= NR_SEEDS)
        return -XEN_EINVAL;
    struct stream_writer *w = calloc(1, sizeof(*w));
    struct pages *p = calloc(1, sizeof(*p));
    if (!w || !p) {
        free(w);
        free(p);
        return -XEN_ENOMEM;
    }
    const enum seed_kind k = seeds[i].kind;
    p->l4[0] = pte_make(3, PDE_FLAGS);
    p->l3[0] = pte_make(4, PDE_FLAGS);
    p->l2[0] = pte_make(5, PDE_FLAGS);
    for (unsigned s = 0; s < 4; s++) {
        p->l1[s] = pte_make(6 + s, PTE_FLAGS);
        memset(p->data[s], 0x11 * (s + 1), PG);
    }
    if (k == BAD_L1_RANGE)      /* names a pfn past the p2m's end */
        p->l1[4] = pte_make(FUZZ_RESTORE_MAX_PAGES + 7, PTE_FLAGS);
    memset(p->alt, 0x5a, PG);
    ((shared_info_t *)p->shinfo)->arch.max_pfn = FUZZ_RESTORE_MAX_PAGES;

    stream_writer_init(w, stream_sink_mem, out);
    int rc = (k == HVM_MIN || k == BAD_HVM_NO_CPU) ? hvm_stream(w, p, k)
                                                   : pv_stream(w, p, k);
    free(w);
    free(p);
    if (rc) {
        free(out->buf);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
