/*
 * tests/unit/test-fuzz-restore.c - the FUZZ_RESTORE surface (fuzz/restore.c
 * FR1-FR4) and its seeds (fuzz/restore_seed.c RD1-RD2): the seeds restore
 * or fail as their table says, and no input - empty, cut short, mutated -
 * leaves a domain, a frame or an audit finding behind.
 */
#include <stdint.h>

#include "core/audit.h"
#include "core/domctl.h"
#include "core/machine.h"
#include "core/options.h"
#include "fuzz/restore.h"
#include "fuzz/restore_seed.h"
#include "tests/unit/test.h"
#include "toolstack/migrate.h"

static struct fuzz_result res;

static void seed(unsigned i, struct stream_membuf *mb)
{
    REQUIRE(fuzz_restore_seed(i, mb) == 0);
    REQUIRE(mb->len > 24 + 16);
}

/* Restore seed i on a machine of its own, straight through mig_restore. */
static void t_seeds_restore_as_listed(void)
{
    CHECK(fuzz_restore_nr_seeds() >= 6);
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        struct hv_options ho;
        struct machine *m;
        struct mig_restore_result mr;
        seed(i, &mb);
        hv_options_default(&ho);
        REQUIRE(machine_create(FUZZ_RESTORE_RAM, 2, &ho, &m) == 0);
        uint64_t free_before = m->nr_free;
        struct stream_memsrc src = { mb.buf, mb.len, 0 };
        struct stream_reader r;
        stream_reader_init(&r, stream_source_mem, &src);
        struct mig_restore_opts o = {
            .m = m, .domid = FUZZ_RESTORE_DOMID,
            .nr_vcpus = FUZZ_RESTORE_VCPUS,
            .max_pages = FUZZ_RESTORE_MAX_PAGES, .paging = PAGING_HAP, .r = &r,
        };
        int rc = mig_restore(&o, &mr);
        stream_reader_free(&r);
        if ((rc == 0) != fuzz_restore_seed_ok(i)) {
            fprintf(stderr, "  seed %s: rc %d (%s)\n", fuzz_restore_seed_name(i),
                    rc, mr.err);
            CHECK(0);
        }
        if (!strcmp(fuzz_restore_seed_name(i), "pv-verify")) {
            CHECK(mr.verify_seen);
            CHECK_EQ(mr.verify_mismatches, 1);
        }
        if (!strcmp(fuzz_restore_seed_name(i), "pv-tree"))
            CHECK_EQ(mr.pages, 10);
        if (mr.d) {
            CHECK_EQ(hv_audit(m, stderr), 0);
            CHECK_EQ(domain_destroy(mr.d), 0);
        }
        CHECK_EQ(m->nr_free, free_before);
        CHECK_EQ(hv_audit(m, stderr), 0);
        machine_destroy(m);
        free(mb.buf);
    }
}

static void t_seed_names(void)
{
    CHECK(fuzz_restore_seed_name(fuzz_restore_nr_seeds()) == NULL);
    CHECK(!fuzz_restore_seed_ok(fuzz_restore_nr_seeds()));
    struct stream_membuf mb;
    CHECK_EQ(fuzz_restore_seed(fuzz_restore_nr_seeds(), &mb), -XEN_EINVAL);
    CHECK(mb.buf == NULL);
    CHECK_EQ(fuzz_restore_seed(0, NULL), -XEN_EINVAL);
}

static void t_seeds_through_the_harness(void)
{
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        seed(i, &mb);
        int v = fuzz_one(FUZZ_RESTORE, mb.buf, mb.len, &res);
        if (v)
            fprintf(stderr, "  seed %s: %s\n%s\n", fuzz_restore_seed_name(i),
                    res.invariant, res.report);
        CHECK_EQ(v, 0);
        CHECK(!res.violation);
        CHECK(res.calls > 3);
        CHECK_EQ(res.calls_run, res.calls);
        /* F2: the same input again, the same outcome. */
        unsigned calls = res.calls;
        CHECK_EQ(fuzz_one(FUZZ_RESTORE, mb.buf, mb.len, NULL), 0);
        CHECK_EQ(fuzz_one(FUZZ_RESTORE, mb.buf, mb.len, &res), 0);
        CHECK_EQ(res.calls, calls);
        free(mb.buf);
    }
}

static void t_empty_and_tiny(void)
{
    static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    CHECK_EQ(fuzz_one(FUZZ_RESTORE, NULL, 0, &res), 0);
    CHECK_EQ(fuzz_one(FUZZ_RESTORE, NULL, 100, &res), 0);
    CHECK_EQ(fuzz_one(FUZZ_RESTORE, junk, 0, &res), 0);
    CHECK_EQ(fuzz_one(FUZZ_RESTORE, junk, sizeof(junk), &res), 0);
    CHECK_EQ(res.calls, 0);
    CHECK(!res.violation);
    CHECK_EQ(res.invariant[0], '\0');
}

/* Every seed cut at every record boundary and a spread of other offsets. */
static void t_cut_short(void)
{
    unsigned runs = 0;
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        seed(i, &mb);
        for (size_t cut = 0; cut < mb.len; cut += cut < 64 ? 1 : 61) {
            int v = fuzz_one(FUZZ_RESTORE, mb.buf, cut, &res);
            if (v)
                fprintf(stderr, "  %s cut at %zu: %s\n%s\n",
                        fuzz_restore_seed_name(i), cut, res.invariant,
                        res.report);
            CHECK_EQ(v, 0);
            runs++;
        }
        free(mb.buf);
    }
    CHECK(runs > 500);
}

/* Seeded byte mutations of the valid seeds: words set to edge values. */
static void t_mutants(void)
{
    static const uint64_t edge[] = { 0, 1, 0xff, 0x7fffffff, 0xffffffff,
                                     FUZZ_RESTORE_MAX_PAGES,
                                     FUZZ_RESTORE_MAX_PAGES - 1,
                                     0xf000000000000000ULL, 0x1000, ~0ULL };
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    unsigned runs = 0, parsed = 0;
    for (unsigned i = 0; i < fuzz_restore_nr_seeds(); i++) {
        struct stream_membuf mb;
        seed(i, &mb);
        uint8_t *buf = malloc(mb.len);
        REQUIRE(buf);
        for (unsigned k = 0; k < 300; k++) {
            memcpy(buf, mb.buf, mb.len);
            for (unsigned n = 0; n < 1 + k % 3; n++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                /* The headers and record headers sit in the first 200 bytes
                   and around page boundaries: aim there half the time. */
                size_t at = (x & 1) ? (x >> 8) % 200 : (x >> 8) % mb.len;
                at &= ~(size_t)3;
                uint64_t val = edge[(x >> 40) % (sizeof(edge) / sizeof(edge[0]))];
                size_t w = (x >> 50) & 1 ? 8 : 4;
                if (at + w <= mb.len)
                    memcpy(buf + at, &val, w);
            }
            int v = fuzz_one(FUZZ_RESTORE, buf, mb.len, &res);
            if (v)
                fprintf(stderr, "  %s mutant %u: %s\n%s\n",
                        fuzz_restore_seed_name(i), k, res.invariant, res.report);
            CHECK_EQ(v, 0);
            runs++;
            parsed += res.calls > 0;
        }
        free(buf);
        free(mb.buf);
    }
    CHECK_EQ(runs, 300 * fuzz_restore_nr_seeds());
    CHECK(parsed > runs / 4);
}

static const struct test tests[] = {
    { "every seed stream restores (or is rejected) as its table says, "
      "leaving the machine as it was", t_seeds_restore_as_listed },
    { "seed lookups past the end give NULL, false and -EINVAL",
      t_seed_names },
    { "the harness restores every seed with no violation, the same twice",
      t_seeds_through_the_harness },
    { "empty, NULL and junk inputs are no violation and read no record",
      t_empty_and_tiny },
    { "every seed cut short anywhere is rejected cleanly", t_cut_short },
    { "mutated seeds never leave a domain, a frame or an audit finding",
      t_mutants },
};
TEST_MAIN(tests)
