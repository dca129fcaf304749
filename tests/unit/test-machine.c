/*
 * tests/unit/test-machine.c - the host: frames, heap, M2P and Xen's window
 * onto it, machine size limits, and the option table.
 */
#include <string.h>
#include <sys/mman.h>

#include "core/options.h"
#include "tests/unit/hw_fixture.h"

static uint64_t frame_count(const struct machine *m, mfn_t mfn)
{
    return atomic_load(&m->frame_table[mfn].count_info);
}

/* Frames Xen took at creation: the M2P and the tables that map it. */
static uint64_t xen_frames(const struct machine *m)
{
    uint64_t n = 0;
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++)
        n += m->frame_table[mfn].owner == DOMID_XEN;
    return n;
}

static struct machine *new_machine(uint64_t bytes)
{
    struct machine *m = NULL;
    int rc = machine_create(bytes, 3, NULL, &m);
    REQUIRE(rc == 0 && m != NULL);
    return m;
}

/* Every non-Xen frame of a new machine is free, unowned and on the list. */
static void t_new_machine_frames_free(void)
{
    struct machine *m = new_machine(32 << 20);
    CHECK_EQ(m->nr_frames, 8192);
    CHECK_EQ(m->host_id, 3);
    uint64_t xen = xen_frames(m);
    CHECK_EQ(m->nr_free, m->nr_frames - xen);
    uint64_t on_list = 0;
    for (uint32_t f = m->free_head; f != PAGE_LIST_NULL;
         f = m->frame_table[f].list_next) {
        CHECK_HEX(frame_count(m, f), PGC_state_free);
        CHECK_EQ(m->frame_table[f].type_info, 0);
        CHECK_EQ(m->frame_table[f].owner, DOMID_INVALID);
        if (++on_list > m->nr_frames)
            break;
    }
    CHECK_EQ(on_list, m->nr_free);
    /* Defaults when no options are given. */
    CHECK_EQ(m->opt.ptwr_mode, PTWR_EMULATE);
    CHECK(m->opt.pv_linear_pt);
    machine_destroy(m);
}

/* The M2P and Xen's tables belong to Xen: xen_heap|allocated, count 1. */
static void t_xen_frames(void)
{
    struct machine *m = new_machine(32 << 20);
    /* 8192 entries = 16 frames of M2P, plus one L1, one L2, one L3. */
    CHECK_EQ(m->m2p_nr_frames, 16);
    CHECK_EQ(xen_frames(m), 16 + 3);
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        if (m->frame_table[mfn].owner != DOMID_XEN)
            continue;
        CHECK_HEX(frame_count(m, mfn),
                  PGC_state_inuse | PGC_xen_heap | PGC_allocated | 1);
    }
    CHECK((uint8_t *)m->m2p == (uint8_t *)mfn_to_virt(m, m->m2p_first_mfn));
    CHECK_EQ(m->frame_table[m->m2p_first_mfn].owner, DOMID_XEN);
    /* Only the first Xen slot is used, and it is not writable. */
    CHECK(m->xen_l4_slots[0] & _PAGE_PRESENT);
    CHECK(m->xen_l4_slots[0] & _PAGE_USER);
    CHECK_EQ(m->xen_l4_slots[0] & _PAGE_RW, 0);
    for (unsigned i = 1; i < XEN_L4_NR_SLOTS; i++)
        CHECK_EQ(m->xen_l4_slots[i], 0);
    machine_destroy(m);
}

/* Every M2P entry starts invalid; set/get round-trip one entry. */
static void t_m2p_set_get(void)
{
    struct machine *m = new_machine(32 << 20);
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++)
        if (get_gpfn_from_mfn(m, mfn) != INVALID_M2P_ENTRY) {
            CHECK_HEX(get_gpfn_from_mfn(m, mfn), INVALID_M2P_ENTRY);
            break;
        }
    set_gpfn_from_mfn(m, 100, 0x42);
    CHECK_EQ(get_gpfn_from_mfn(m, 100), 0x42);
    CHECK_HEX(get_gpfn_from_mfn(m, 101), INVALID_M2P_ENTRY);
    CHECK_HEX(get_gpfn_from_mfn(m, m->nr_frames), INVALID_M2P_ENTRY);
    machine_destroy(m);
}

/* A guest L4 with Xen's slots reads the M2P at MACH2PHYS_VIRT_START. */
static void t_m2p_guest_view(void)
{
    struct hw h;
    hw_setup(&h, 32 << 20);
    pte_t *l4 = hw_table(&h, h.l4);
    for (unsigned i = 0; i < XEN_L4_NR_SLOTS; i++)
        l4[XEN_L4_SLOT_FIRST + i] = h.m->xen_l4_slots[i];
    set_gpfn_from_mfn(h.m, 7, 0x1234);
    set_gpfn_from_mfn(h.m, 8000, 0x777);
    uint64_t val = 0;
    CHECK_EQ(mmu_load(h.v, MACH2PHYS_VIRT_START + 7 * 8, 8, &val), MMU_OK);
    CHECK_EQ(val, 0x1234);
    h.v->in_kernel = false;                     /* user mode too */
    CHECK_EQ(mmu_load(h.v, MACH2PHYS_VIRT_START + 8000 * 8, 8, &val), MMU_OK);
    CHECK_EQ(val, 0x777);
    CHECK_EQ(mmu_load(h.v, MACH2PHYS_VIRT_START + 9 * 8, 8, &val), MMU_OK);
    CHECK_HEX(val, INVALID_M2P_ENTRY);
    /* Past the M2P's last frame: nothing mapped. */
    struct mmu_walk w;
    CHECK_HEX(mmu_walk(h.m, h.l4, MACH2PHYS_VIRT_START +
                       h.m->m2p_nr_frames * PAGE_SIZE, 0, false, &w),
              MMU_WALK_FAULT);
    hw_teardown(&h);
}

static unsigned pf_calls;
static uint32_t pf_last;
static enum pf_outcome pf_refuse(struct vcpu *v, uint64_t va, uint32_t pfec)
{
    (void)v;
    (void)va;
    pf_calls++;
    pf_last = pfec;
    return PF_KILL;
}

/* The M2P window is read-only, for the guest kernel as well. */
static void t_m2p_read_only(void)
{
    struct hw h;
    hw_setup(&h, 32 << 20);
    pte_t *l4 = hw_table(&h, h.l4);
    l4[XEN_L4_SLOT_FIRST] = h.m->xen_l4_slots[0];
    h.v->pf_vector = pf_refuse;
    CHECK_EQ(mmu_store(h.v, MACH2PHYS_VIRT_START, 8, 1), MMU_KILLED);
    CHECK_EQ(pf_calls, 1);
    CHECK_HEX(pf_last, PFEC_PRESENT | PFEC_WRITE);
    CHECK_HEX(h.m->m2p[0], INVALID_M2P_ENTRY);
    h.v->in_kernel = false;
    CHECK_EQ(mmu_store(h.v, MACH2PHYS_VIRT_START + 64, 8, 1), MMU_KILLED);
    CHECK_HEX(pf_last, PFEC_PRESENT | PFEC_WRITE | PFEC_USER);
    hw_teardown(&h);
}

/* The heap hands out zeroed in-use frames until empty, and takes them back. */
static void t_heap_alloc_free(void)
{
    struct machine *m = new_machine(1 << 20);   /* 256 frames */
    uint64_t nr_free = m->nr_free;
    mfn_t got[256];
    unsigned n = 0;
    mfn_t mfn;
    while ((mfn = machine_heap_alloc(m)) != INVALID_MFN) {
        REQUIRE(n < 256);
        CHECK_HEX(frame_count(m, mfn), PGC_state_inuse);
        CHECK_EQ(m->frame_table[mfn].type_info, 0);
        CHECK_EQ(m->frame_table[mfn].owner, DOMID_INVALID);
        CHECK(m->frame_table[mfn].owner != DOMID_XEN);
        got[n++] = mfn;
    }
    CHECK_EQ(n, nr_free);
    CHECK_EQ(m->nr_free, 0);
    CHECK_EQ(m->free_head, PAGE_LIST_NULL);
    for (unsigned i = 0; i < n; i++)
        machine_heap_free(m, got[i]);
    CHECK_EQ(m->nr_free, nr_free);
    CHECK_HEX(frame_count(m, got[0]), PGC_state_free | PGC_need_scrub);
    machine_destroy(m);
}

/* A freed frame is scrubbed by its next allocation; its M2P entry reset. */
static void t_heap_scrub(void)
{
    struct machine *m = new_machine(1 << 20);
    mfn_t mfn = machine_heap_alloc(m);
    REQUIRE(mfn != INVALID_MFN);
    memset(mfn_to_virt_w(m, mfn), 0xAB, PAGE_SIZE);
    set_gpfn_from_mfn(m, mfn, 5);
    machine_heap_free(m, mfn);
    CHECK(frame_count(m, mfn) & PGC_need_scrub);
    CHECK_HEX(get_gpfn_from_mfn(m, mfn), INVALID_M2P_ENTRY);
    CHECK_EQ(*(uint8_t *)mfn_to_virt(m, mfn), 0xAB);    /* lazily */
    mfn_t again = machine_heap_alloc(m);                 /* LIFO */
    CHECK_EQ(again, mfn);
    CHECK_HEX(frame_count(m, again), PGC_state_inuse);
    static const uint8_t zero[PAGE_SIZE];
    CHECK(memcmp(mfn_to_virt(m, again), zero, PAGE_SIZE) == 0);
    machine_destroy(m);
}

/* Reusing a freed frame asks the vCPUs that may cache it to flush. */
static void t_heap_reuse_flushes_stale_tlbs(void)
{
    struct hw h;
    hw_setup(&h, 1 << 20);
    struct vcpu *v2 = hw_vcpu(&h, 1);
    mmu_flush_local(h.v);                       /* both flushed before */
    mmu_flush_local(v2);
    mfn_t mfn = hw_frame(&h);
    machine_heap_free(h.m, mfn);                /* freed after the flushes */
    mmu_flush_local(v2);                        /* v2 flushed since */
    CHECK_EQ(machine_heap_alloc(h.m), mfn);
    CHECK(h.v->tlb.flush_pending & TLB_REQ_ALL);
    CHECK_EQ(v2->tlb.flush_pending, 0);
    /* A never-freed frame needs no flush. */
    mmu_sync_requests(h.v);
    hw_frame(&h);
    CHECK_EQ(h.v->tlb.flush_pending, 0);
    vcpu_free(v2);
    hw_teardown(&h);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A 16 GiB machine costs its frame table and M2P, not its RAM. */
static void t_big_machine_cheap(void)
{
    uint64_t before = rss_bytes();
    struct machine *m = NULL;
    int rc = machine_create(16ULL << 30, 0, NULL, &m);
    if (rc == -XEN_ENOMEM)
        SKIP("the host refuses a 16 GiB MAP_NORESERVE mapping");
    REQUIRE(rc == 0);
    uint64_t grew = rss_bytes() - before;
    uint64_t meta = m->nr_frames * sizeof(struct page_info) +
                    m->m2p_nr_frames * PAGE_SIZE;
    CHECK_EQ(m->nr_frames, 4ULL << 20);
    CHECK(grew < meta + (16 << 20));
    /* Guest RAM past Xen's frames is not resident. */
    unsigned char vec[64];
    uint8_t *guest = mfn_to_virt_w(m, m->nr_frames / 2);
    CHECK_EQ(mincore(guest, sizeof(vec) * PAGE_SIZE, vec), 0);
    unsigned resident = 0;
    for (unsigned i = 0; i < sizeof(vec); i++)
        resident += vec[i] & 1;
    CHECK_EQ(resident, 0);
    /* The last frame is usable. */
    CHECK_HEX(frame_count(m, m->nr_frames - 1), PGC_state_free);
    machine_destroy(m);
}

/* Too small, or too many frames for 32-bit links, is -EINVAL. */
static void t_machine_size_limits(void)
{
    struct machine *m = (struct machine *)1;
    CHECK_EQ(machine_create(0, 0, NULL, &m), -XEN_EINVAL);
    CHECK(m == NULL);
    CHECK_EQ(machine_create(63 * PAGE_SIZE, 0, NULL, &m), -XEN_EINVAL);
    CHECK_EQ(machine_create((uint64_t)PAGE_LIST_NULL << PAGE_SHIFT, 0, NULL, &m),
             -XEN_EINVAL);
    struct hv_options o;
    hv_options_default(&o);
    o.ptwr_mode = PTWR_UNHOOK;
    int rc = machine_create(64 * PAGE_SIZE, 0, &o, &m);
    REQUIRE(rc == 0);
    CHECK_EQ(m->opt.ptwr_mode, PTWR_UNHOOK);
    CHECK(m->nr_free > 0);
    machine_destroy(m);
}

/* ---- options ------------------------------------------------------------- */

/* Defaults are today's Xen. */
static void t_options_default(void)
{
    struct hv_options o;
    memset(&o, 0xFF, sizeof(o));
    hv_options_default(&o);
    CHECK_EQ(o.ptwr_mode, PTWR_EMULATE);
    CHECK_EQ(o.pv_linear_pt, true);
    CHECK_EQ(o.preempt_budget, 0);
}

/* Every accepted value sets its field. */
static void t_options_set(void)
{
    struct hv_options o;
    char why[256];
    hv_options_default(&o);
    CHECK_EQ(hv_option_set(&o, "ptwr.mode", "unhook", why, sizeof(why)), 0);
    CHECK_EQ(o.ptwr_mode, PTWR_UNHOOK);
    CHECK_EQ(hv_option_set(&o, "ptwr.mode", "emulate", why, sizeof(why)), 0);
    CHECK_EQ(o.ptwr_mode, PTWR_EMULATE);
    CHECK_EQ(hv_option_set(&o, "mm.linear_pt", "off", why, sizeof(why)), 0);
    CHECK_EQ(o.pv_linear_pt, false);
    CHECK_EQ(hv_option_set(&o, "mm.linear_pt", "on", why, sizeof(why)), 0);
    CHECK_EQ(o.pv_linear_pt, true);
    CHECK_EQ(hv_option_set(&o, "mm.preempt_budget", "64", why, sizeof(why)), 0);
    CHECK_EQ(o.preempt_budget, 64);
    CHECK(hv_option_known("ptwr.mode"));
    CHECK(!hv_option_known("guest.spurious_check"));
}

/* A refused value changes nothing and the message names key and values. */
static void t_options_refused(void)
{
    struct hv_options o;
    char why[256] = "";
    hv_options_default(&o);
    CHECK_EQ(hv_option_set(&o, "ptwr.mode", "batch", why, sizeof(why)), -1);
    CHECK_EQ(o.ptwr_mode, PTWR_EMULATE);
    CHECK(strstr(why, "ptwr.mode") && strstr(why, "emulate|unhook") &&
          strstr(why, "batch"));
    CHECK_EQ(hv_option_set(&o, "mm.linear_pt", "yes", why, sizeof(why)), -1);
    CHECK(strstr(why, "on|off"));
    static const char *bad_uint[] = { "", "-1", "12x", "4294967296", " 3" };
    for (size_t i = 0; i < ARRAY_SIZE(bad_uint); i++) {
        CHECK_EQ(hv_option_set(&o, "mm.preempt_budget", bad_uint[i], why,
                               sizeof(why)), -1);
        CHECK_EQ(o.preempt_budget, 0);
    }
    CHECK_EQ(hv_option_set(&o, "mm.nonsense", "1", why, sizeof(why)), -1);
    CHECK(strstr(why, "unknown option 'mm.nonsense'") && strstr(why, "ptwr.mode"));
    CHECK_EQ(hv_option_set(&o, "ptwr.mode", "unhook", NULL, 0), 0);
}

/* The listing shows every key with its value and accepted values. */
static void t_options_print(void)
{
    struct hv_options o;
    hv_options_default(&o);
    o.preempt_budget = 17;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    hv_options_print(&o, f);
    fclose(f);
    CHECK(strstr(buf, "ptwr.mode") && strstr(buf, "emulate|unhook"));
    CHECK(strstr(buf, "mm.linear_pt") && strstr(buf, "on"));
    CHECK(strstr(buf, "mm.preempt_budget") && strstr(buf, "17"));
    free(buf);
}

/*
 * machine.c rule 10: a machine created from the mappings a destroyed one
 * left behind is indistinguishable from a fresh one - frames, free list
 * order, M2P, RAM contents - even when the last one used and freed frames.
 */
static void t_recycled_machine_is_fresh(void)
{
    struct machine *fresh = new_machine(8 << 20);
    uint64_t nr_free = fresh->nr_free;
    uint32_t head = fresh->free_head;
    /* Dirty it: take frames, write them, set their M2P, free some. */
    mfn_t got[64];
    for (unsigned i = 0; i < 64; i++) {
        got[i] = machine_heap_alloc(fresh);
        REQUIRE(got[i] != INVALID_MFN);
        memset(mfn_to_virt_w(fresh, got[i]), 0xA5, PAGE_SIZE);
        set_gpfn_from_mfn(fresh, got[i], i);
    }
    for (unsigned i = 0; i < 32; i++)
        machine_heap_free(fresh, got[i]);
    uint8_t *ram = fresh->ram;
    uint64_t reuses = machine_arena_reuses();
    machine_destroy(fresh);         /* 32 frames still "in use": dirty */

    struct machine *m = new_machine(8 << 20);
    CHECK_EQ(machine_arena_reuses(), reuses + 1);
    CHECK(m->ram == ram);
    CHECK_EQ(m->nr_free, nr_free);
    CHECK_EQ(m->free_head, head);
    uint64_t nonzero = 0, bad_frames = 0;
    for (mfn_t mfn = 0; mfn < m->nr_frames; mfn++) {
        const struct page_info *pg = &m->frame_table[mfn];
        if (pg->owner == DOMID_XEN)
            continue;
        bad_frames += frame_count(m, mfn) != PGC_state_free ||
                      pg->type_info != 0 || pg->owner != DOMID_INVALID ||
                      pg->tlbflush_timestamp != 0 ||
                      get_gpfn_from_mfn(m, mfn) != INVALID_M2P_ENTRY;
        const uint64_t *w = mfn_to_virt(m, mfn);
        for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
            nonzero += w[k] != 0;
    }
    CHECK_EQ(bad_frames, 0);
    CHECK_EQ(nonzero, 0);
    /* The first allocation takes the same frame a fresh machine hands out. */
    CHECK_EQ(machine_heap_alloc(m), head);
    machine_destroy(m);

    /* A different size does not take the kept mappings. */
    reuses = machine_arena_reuses();
    m = new_machine(12 << 20);
    CHECK_EQ(machine_arena_reuses(), reuses);
    machine_destroy(m);
}

static const struct test tests[] = {
    { "a machine made from a destroyed one's kept mappings is indistinguishable from a fresh one", t_recycled_machine_is_fresh },
    { "every non-Xen frame of a new machine is free, unowned and on the free list", t_new_machine_frames_free },
    { "the M2P and Xen's tables are Xen's frames: xen_heap|allocated, count 1", t_xen_frames },
    { "every M2P entry starts invalid and set/get round-trips one entry", t_m2p_set_get },
    { "a guest L4 with Xen's slots reads the M2P at MACH2PHYS_VIRT_START, in user mode too", t_m2p_guest_view },
    { "the M2P window is read-only for the guest kernel as well", t_m2p_read_only },
    { "the heap hands out zeroed in-use frames until empty and takes them back", t_heap_alloc_free },
    { "a freed frame is scrubbed by its next allocation and its M2P entry reset", t_heap_scrub },
    { "reusing a freed frame asks only the vCPUs that may cache it to flush", t_heap_reuse_flushes_stale_tlbs },
    { "a 16 GiB machine costs its frame table and M2P, not its RAM", t_big_machine_cheap },
    { "machines too small or too large for 32-bit frame links are -EINVAL", t_machine_size_limits },
    { "options default to today's Xen: emulate, linear_pt on, no preemption", t_options_default },
    { "every accepted option value sets its field", t_options_set },
    { "a refused option value changes nothing and the message names key and values", t_options_refused },
    { "the option listing shows every key, its value and the accepted values", t_options_print },
};

TEST_MAIN(tests)
