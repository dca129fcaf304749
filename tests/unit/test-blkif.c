/*
 * tests/unit/test-blkif.c - the blkif ring (guest/blkif.c), the xenstore
 * stand-in (guest/xenbus.c), the ramdisk and the blk-io scenario syntax.
 *
 * The ring code is run on a host buffer through a struct blkif_mem, so the
 * index arithmetic, wrap-around and the notify rule of <xen/io/ring.h> are
 * checked without a machine; a mirror of the header's own macros on the
 * same layout (FRONT_RING_INIT / RING_PUSH_REQUESTS_AND_CHECK_NOTIFY ...)
 * is the reference.
 */
#include <stdint.h>
#include <string.h>

#include "guest/private.h"
#include "guest/ramdisk.h"
#include "guest/xenbus.h"
#include "tests/unit/test.h"
#include "toolstack/scenario.h"

static _Alignas(4096) uint8_t page[PAGE_SIZE];
static unsigned refuse_after = ~0u;     /* accesses allowed before -EFAULT */

static bool ok_access(void)
{
    if (refuse_after == 0)
        return false;
    if (refuse_after != ~0u)
        refuse_after--;
    return true;
}
static bool h_load32(void *ctx, uint64_t a, uint32_t *v)
{
    if (!ok_access())
        return false;
    memcpy(v, (uint8_t *)ctx + a, 4);
    return true;
}
static bool h_store32(void *ctx, uint64_t a, uint32_t v)
{
    if (!ok_access())
        return false;
    memcpy((uint8_t *)ctx + a, &v, 4);
    return true;
}
static bool h_read(void *ctx, uint64_t a, void *b, size_t n)
{
    if (!ok_access())
        return false;
    memcpy(b, (uint8_t *)ctx + a, n);
    return true;
}
static bool h_write(void *ctx, uint64_t a, const void *b, size_t n)
{
    if (!ok_access())
        return false;
    memcpy((uint8_t *)ctx + a, b, n);
    return true;
}

static struct blkif_mem host_mem(void)
{
    struct blkif_mem m = { .ctx = page, .base = 0, .load32 = h_load32,
                           .store32 = h_store32, .read = h_read,
                           .write = h_write };
    return m;
}

static struct blkif_sring *sring(void)
{
    return (struct blkif_sring *)page;
}

static void setup(struct blkif_front *f, struct blkif_back *b)
{
    memset(page, 0xa5, sizeof(page));
    refuse_after = ~0u;
    struct blkif_mem m = host_mem();
    REQUIRE(blkif_sring_init(&m) == 0);
    blkif_front_init(f, &m);
    blkif_back_init(b, &m);
}

static struct blkif_request req(uint64_t id)
{
    struct blkif_request r;
    memset(&r, 0, sizeof(r));
    r.operation = BLKIF_OP_READ;
    r.nr_segments = 1;
    r.id = id;
    r.sector_number = id * 8;
    r.seg[0].gref = (grant_ref_t)(100 + id);
    r.seg[0].last_sect = 7;
    return r;
}

/* SHARED_RING_INIT and the ring size of <xen/io/ring.h>. */
static void t_init(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    CHECK_EQ(sring()->req_prod, 0);
    CHECK_EQ(sring()->rsp_prod, 0);
    CHECK_EQ(sring()->req_event, 1);
    CHECK_EQ(sring()->rsp_event, 1);
    CHECK_EQ(BLKIF_RING_SIZE, __RING_SIZE(sring(), PAGE_SIZE));
    CHECK_EQ(f.nr_ents, 32);
    CHECK_EQ(blkif_front_free(&f), 32);
}

/* Requests reach the backend in order, responses come back in order,
   across many wrap-arounds of the 32-entry ring. */
static void t_roundtrip_wrap(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    uint64_t next_id = 0, next_rsp = 0;
    for (unsigned round = 0; round < 40; round++) {
        unsigned n = 1 + round % 32;
        for (unsigned i = 0; i < n; i++) {
            struct blkif_request r = req(next_id++);
            CHECK_EQ(blkif_front_put(&f, &r), 0);
        }
        bool notify;
        CHECK_EQ(blkif_front_push(&f, &notify), 0);
        CHECK_EQ(sring()->req_prod, f.req_prod_pvt);
        struct blkif_request got;
        for (unsigned i = 0; i < n; i++) {
            REQUIRE(blkif_back_get(&b, &got) == 1);
            CHECK_EQ(got.id, next_id - n + i);
            CHECK_EQ(got.seg[0].gref, 100 + got.id);
            struct blkif_response rsp = { .id = got.id,
                                          .operation = got.operation,
                                          .status = BLKIF_RSP_OKAY };
            CHECK_EQ(blkif_back_put(&b, &rsp), 0);
        }
        CHECK_EQ(blkif_back_get(&b, &got), 0);
        CHECK_EQ(blkif_back_push(&b, &notify), 0);
        struct blkif_response rsp;
        for (unsigned i = 0; i < n; i++) {
            REQUIRE(blkif_front_get(&f, &rsp) == 1);
            CHECK_EQ(rsp.id, next_rsp++);
        }
        CHECK_EQ(blkif_front_get(&f, &rsp), 0);
        CHECK_EQ(blkif_front_free(&f), 32);
    }
    CHECK(f.req_prod_pvt > 32 * 10);
}

/* The front end never has more than RING_SIZE requests outstanding. */
static void t_full(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    for (unsigned i = 0; i < 32; i++) {
        struct blkif_request r = req(i);
        CHECK_EQ(blkif_front_put(&f, &r), 0);
    }
    struct blkif_request r = req(99);
    CHECK_EQ(blkif_front_put(&f, &r), -XEN_ENOSPC);
    CHECK_EQ(blkif_front_free(&f), 0);
}

/* The notify rule of RING_PUSH_*_AND_CHECK_NOTIFY, with wrap-around of
   the 32-bit indices. */
static void t_need_notify(void)
{
    CHECK(blkif_need_notify(0, 1, 1));          /* event just reached */
    CHECK(!blkif_need_notify(0, 1, 2));         /* not yet */
    CHECK(blkif_need_notify(0, 5, 3));          /* inside (old, new] */
    CHECK(!blkif_need_notify(3, 5, 3));         /* already passed */
    CHECK(!blkif_need_notify(5, 5, 5));         /* nothing pushed */
    CHECK(blkif_need_notify(0xfffffffeu, 2, 0xffffffffu));  /* wraps */
    CHECK(blkif_need_notify(0xfffffffeu, 2, 1));
    CHECK(!blkif_need_notify(0xfffffffeu, 2, 3));
}

/* The final checks arm the event index (cons + 1), so the other end's
   next push notifies; a push with the index elsewhere does not. */
static void t_final_check_arms_event(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    bool more = true, notify = false;
    CHECK_EQ(blkif_back_final_check(&b, &more), 0);
    CHECK(!more);
    CHECK_EQ(sring()->req_event, b.req_cons + 1);
    struct blkif_request r = req(1);
    CHECK_EQ(blkif_front_put(&f, &r), 0);
    CHECK_EQ(blkif_front_push(&f, &notify), 0);
    CHECK(notify);                      /* the backend asked for it */
    /* A second push with the event index left behind: no notify. */
    r = req(2);
    CHECK_EQ(blkif_front_put(&f, &r), 0);
    CHECK_EQ(blkif_front_push(&f, &notify), 0);
    CHECK(!notify);
    /* The backend sees work, so its final check says more. */
    CHECK_EQ(blkif_back_final_check(&b, &more), 0);
    CHECK(more);

    /* Responses: the frontend arms rsp_event, the backend's push notifies. */
    struct blkif_request got;
    REQUIRE(blkif_back_get(&b, &got) == 1);
    CHECK_EQ(blkif_front_final_check(&f, &more), 0);
    CHECK(!more);
    CHECK_EQ(sring()->rsp_event, f.rsp_cons + 1);
    struct blkif_response rsp = { .id = got.id, .status = BLKIF_RSP_OKAY };
    CHECK_EQ(blkif_back_put(&b, &rsp), 0);
    CHECK_EQ(blkif_back_push(&b, &notify), 0);
    CHECK(notify);
}

/* A frontend that pushes more requests than the ring holds is refused
   (RING_REQUEST_PROD_OVERFLOW), and the backend never consumes past a slot
   whose response is not produced. */
static void t_overflow(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    sring()->req_prod = 33;             /* a bogus frontend */
    struct blkif_request got;
    CHECK_EQ(blkif_back_get(&b, &got), -XEN_EOVERFLOW);
    CHECK_EQ(b.req_cons, 0);
}

/* A refused access is -EFAULT and leaves the private counters alone. */
static void t_efault(void)
{
    struct blkif_front f;
    struct blkif_back b;
    setup(&f, &b);
    refuse_after = 0;
    struct blkif_request r = req(1);
    CHECK_EQ(blkif_front_put(&f, &r), -XEN_EFAULT);
    CHECK_EQ(f.req_prod_pvt, 0);
    bool more;
    CHECK_EQ(blkif_back_final_check(&b, &more), -XEN_EFAULT);
    struct blkif_request got;
    CHECK_EQ(blkif_back_get(&b, &got), -XEN_EFAULT);
    CHECK_EQ(b.req_cons, 0);
}

/* The xenstore stand-in: keys, directories, states and the watch. */
static void t_xenbus(void)
{
    struct xenbus *xb = xenbus_new();
    REQUIRE(xb != NULL);
    char v[XENBUS_VALUE_MAX], fd[XENBUS_PATH_MAX], bd[XENBUS_PATH_MAX];
    uint64_t ver = xenbus_version(xb);
    CHECK_EQ(xenbus_add_vbd(xb, 1, 2, 51712, 4096), 0);
    CHECK(xenbus_version(xb) > ver);
    xenbus_vbd_paths(1, 2, 51712, fd, bd, sizeof(fd));
    CHECK(strcmp(fd, "/local/domain/1/device/vbd/51712") == 0);
    CHECK(strcmp(bd, "/local/domain/2/backend/vbd/1/51712") == 0);
    CHECK_EQ(xenbus_read_state(xb, fd), XenbusStateInitialising);
    CHECK_EQ(xenbus_switch_state(xb, bd, XenbusStateConnected), 0);
    CHECK_EQ(xenbus_read_state(xb, bd), XenbusStateConnected);
    char key[XENBUS_PATH_MAX + 16];
    snprintf(key, sizeof(key), "%s/backend", fd);
    CHECK_EQ(xenbus_read(xb, key, v, sizeof(v)), 0);
    CHECK(strcmp(v, bd) == 0);
    char names[4][XENBUS_VALUE_MAX];
    CHECK_EQ(xenbus_directory(xb, "/local/domain/2/backend/vbd", names, 4), 1);
    CHECK(strcmp(names[0], "1") == 0);
    CHECK_EQ(xenbus_read(xb, "/nope", v, sizeof(v)), -XEN_ENOENT);
    uint64_t n;
    CHECK_EQ(xenbus_write(xb, "/a/num", "12x"), 0);
    CHECK_EQ(xenbus_read_u64(xb, "/a/num", &n), -XEN_EINVAL);
    char longv[XENBUS_VALUE_MAX + 4];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    CHECK_EQ(xenbus_write(xb, "/a/long", longv), -XEN_E2BIG);
    CHECK_EQ(xenbus_read(xb, "/a/long", v, sizeof(v)), -XEN_ENOENT);
    CHECK_EQ(xenbus_rm(xb, "/a/num"), 0);
    CHECK_EQ(xenbus_rm(xb, "/a/num"), -XEN_ENOENT);
    ver = xenbus_version(xb);
    xenbus_write(xb, "/a/b", "1");
    CHECK(xenbus_wait(xb, ver) != ver);
    /* Suspend keys: the request under the backend's directory, the
       acknowledgement unread until the backend writes it. */
    CHECK_EQ(xenbus_vbd_suspended(xb, 1, 2, 51712), -1);
    CHECK_EQ(xenbus_vbd_suspend(xb, 1, 2, 51712, true), 0);
    CHECK_EQ(xenbus_get_u64(xb, bd, "suspend", 7), 1);
    CHECK_EQ(xenbus_put_u64(xb, bd, "suspended", 1), 0);
    CHECK_EQ(xenbus_vbd_suspended(xb, 1, 2, 51712), 1);
    CHECK_EQ(xenbus_vbd_suspend(xb, 1, 2, 51712, false), 0);
    CHECK_EQ(xenbus_get_u64(xb, bd, "suspend", 7), 0);
    CHECK_EQ(xenbus_put_u64(xb, bd, "suspended", 0), 0);
    CHECK_EQ(xenbus_vbd_suspended(xb, 1, 2, 51712), 0);
    CHECK_EQ(xenbus_get_u64(xb, bd, "no-such-key", 7), 7);
    xenbus_free(xb);
}

/* The ramdisk refuses every range outside it and copies nothing then. */
static void t_ramdisk(void)
{
    struct ramdisk *rd = ramdisk_new(16);
    REQUIRE(rd != NULL);
    uint8_t buf[BLK_SECTOR_SIZE * 2], back[BLK_SECTOR_SIZE * 2];
    memset(buf, 0x5a, sizeof(buf));
    CHECK_EQ(ramdisk_write(rd, 14, 2, buf), 0);
    CHECK_EQ(ramdisk_read(rd, 14, 2, back), 0);
    CHECK(memcmp(buf, back, sizeof(buf)) == 0);
    CHECK_EQ(ramdisk_write(rd, 15, 2, buf), -XEN_EINVAL);
    CHECK_EQ(ramdisk_read(rd, 16, 1, back), -XEN_EINVAL);
    CHECK_EQ(ramdisk_read(rd, ~0ULL, 2, back), -XEN_EINVAL);
    CHECK_EQ(ramdisk_read(rd, 0, 0, back), -XEN_EINVAL);
    ramdisk_free(rd);
    CHECK(ramdisk_new(0) == NULL);
}

/* A disk on a file is shared storage: two openings see each other's
   writes; a wrong size, an existing file to create or a missing one to open
   are refused naming the file. */
static void t_ramdisk_shared(void)
{
    char path[] = "/tmp/hvlab-test-disk-XXXXXX", err[256];
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(ramdisk_open_shared(path, 8, true, err, sizeof(err)) == NULL);
    CHECK(strstr(err, path) != NULL);
    unlink(path);
    struct ramdisk *a = ramdisk_open_shared(path, 8, true, err, sizeof(err));
    REQUIRE(a != NULL);
    struct ramdisk *b = ramdisk_open_shared(path, 8, false, err, sizeof(err));
    REQUIRE(b != NULL);
    CHECK(ramdisk_open_shared(path, 16, false, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "4096") != NULL);
    uint8_t buf[BLK_SECTOR_SIZE], back[BLK_SECTOR_SIZE];
    CHECK_EQ(ramdisk_read(b, 7, 1, back), 0);
    CHECK_EQ(back[0], 0);
    memset(buf, 0xa5, sizeof(buf));
    CHECK_EQ(ramdisk_write(a, 7, 1, buf), 0);
    CHECK_EQ(ramdisk_read(b, 7, 1, back), 0);
    CHECK(memcmp(buf, back, sizeof(buf)) == 0);
    CHECK_EQ(ramdisk_write(b, 8, 1, buf), -XEN_EINVAL);
    ramdisk_free(a);
    ramdisk_free(b);
    unlink(path);
    CHECK(ramdisk_open_shared(path, 8, false, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
}

/* blk-io's parameters parse; misuses are refused with the reason. */
static void t_scenario(void)
{
    char err[1024];
    struct scenario *sc = scenario_parse_text("t.hvl",
        "domain be memory=4M\nworkload be blkback\n"
        "domain fe memory=4M\n"
        "workload fe blk-io backend=be ops=50 depth=4 segs=2..5 reads=30 "
        "verify=off sectors=1024\n", err, sizeof(err));
    if (!sc)
        fprintf(stderr, "  %s\n", err);
    REQUIRE(sc != NULL);
    const struct workload_params *wl = &sc->dom[1].wl;
    CHECK_EQ(wl->kind, WL_BLK_IO);
    CHECK_EQ(sc->dom[1].wl_backend, 1);
    CHECK_EQ(wl->ops, 50);
    CHECK_EQ(wl->depth, 4);
    CHECK_EQ(wl->segs_min, 2);
    CHECK_EQ(wl->segs_max, 5);
    CHECK_EQ(wl->reads, 30);
    CHECK(!wl->verify);
    CHECK_EQ(wl->sectors, 1024);
    CHECK_EQ(sc->dom[0].wl.kind, WL_BLKBACK);
    scenario_free(sc);

    static const struct { const char *text, *why; } bad[] = {
        { "domain fe\nworkload fe blk-io\n", "needs backend=NAME" },
        { "domain be\nworkload be memtouch\ndomain fe\n"
          "workload fe blk-io backend=be\n", "with workload blkback" },
        { "domain be\nworkload be blkback\ndomain fe\n"
          "workload fe blk-io backend=be segs=5..2\n", "out of range" },
        { "domain be\nworkload be blkback\ndomain fe\n"
          "workload fe blk-io backend=be segs=1..12\n", "out of range" },
        { "domain fe\nworkload fe memtouch ops=3\n", "are for blk-io" },
        { "domain be\nworkload be blkback\ndomain fe kind=hvm\n"
          "workload fe blk-io backend=be\n", "runs in a PV domain" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc = scenario_parse_text("t.hvl", bad[i].text, err, sizeof(err));
        CHECK(sc == NULL);
        if (!strstr(err, bad[i].why))
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, err, bad[i].why);
        CHECK(strstr(err, bad[i].why) != NULL);
        scenario_free(sc);
    }
}

static const struct test tests[] = {
    { "SHARED_RING_INIT: indices 0, events 1, 32 entries in a page", t_init },
    { "requests and responses round-trip in order across wrap-arounds", t_roundtrip_wrap },
    { "the front end holds at most RING_SIZE requests outstanding", t_full },
    { "the notify rule fires exactly when the event index is in (old, new]", t_need_notify },
    { "final checks arm the event index so the next push notifies", t_final_check_arms_event },
    { "a frontend overflowing the ring is refused by the backend", t_overflow },
    { "a refused ring access is -EFAULT and changes no counter", t_efault },
    { "the xenstore stand-in: keys, directories, states, watch, and the vbd suspend keys", t_xenbus },
    { "the ramdisk refuses out-of-range sectors", t_ramdisk },
    { "a disk on a file is shared between openings and checked for size", t_ramdisk_shared },
    { "blk-io's scenario parameters parse and misuses are refused", t_scenario },
};

TEST_MAIN(tests)
