/*
 * tests/unit/test-analysis-keytab.c - the one hash table of analysis/
 * (analysis/keytab.h T1-T4): entries that never move, creation order,
 * O(1) index and key, and keys that differ only in their low bits (a PTE
 * slot) or only in k2 spread over the buckets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "analysis/keytab.h"
#include "tests/unit/test.h"

#define N 200000u

static void t_stable(void)
{
    struct keytab t;
    kt_init(&t, 12);
    CHECK(kt_find(&t, 1, 2) == NULL);                   /* T3: nothing allocated */
    uint32_t *first = kt_get(&t, 1, 2);
    REQUIRE(first != NULL);
    CHECK_EQ(*first, 0);                                /* T1: zeroed */
    *first = 0xabc;
    for (uint32_t i = 0; i < N; i++) {
        bool created = false;
        uint32_t *e = kt_get_new(&t, (uint64_t)i << 9 | 3, i & 1, &created);
        REQUIRE(e != NULL);
        CHECK(created);
        *e = i;
    }
    CHECK(kt_find(&t, 1, 2) == first);                  /* T2: never moved */
    CHECK_HEX(*first, 0xabc);
    CHECK_EQ(kt_count(&t), N + 1);
    size_t bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint64_t k1 = (uint64_t)i << 9 | 3, k2 = i & 1, a, b;
        uint32_t *e = kt_find(&t, k1, k2);
        bool created = true;
        kt_key(&t, e, &a, &b);
        if (!e || *e != i || kt_index(&t, e) != i + 1 || kt_at(&t, i + 1) != e ||
            a != k1 || b != k2 || kt_get_new(&t, k1, k2, &created) != e || created)
            bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK(kt_find(&t, 2, 0) == NULL);
    CHECK(kt_at(&t, N + 1) == NULL);
    kt_fini(&t);
    CHECK(kt_find(&t, 1, 2) == NULL);
    CHECK_EQ(kt_count(&t), 0);
}

/* Longest run of occupied slots: linear probing degrades with it. */
static size_t longest_run(const struct keytab *t)
{
    size_t best = 0, run = 0;
    for (size_t i = 0; i < 2 * t->cap; i++) {
        run = t->slot[i & (t->cap - 1)].idx ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

static void t_spread(void)
{
    /* 64 tables' worth of frames, 512 slots each, packed as check_spurious
       packs them: the keys differ in the slot (low 9 bits) and the frame */
    struct keytab t;
    kt_init(&t, 16);
    for (uint64_t f = 0; f < 64; f++)
        for (uint64_t s = 0; s < 512; s++)
            REQUIRE(kt_get(&t, (0x8000 + f * 0x1000) << 9 | s, 0) != NULL);
    CHECK(longest_run(&t) < 64);
    kt_fini(&t);
    /* keys equal in k1, differing in k2 only */
    kt_init(&t, 8);
    for (uint64_t d = 0; d < 32768; d++)
        REQUIRE(kt_get(&t, 0x1000, d << 16) != NULL);
    CHECK(longest_run(&t) < 64);
    kt_fini(&t);
}

static void t_pointer(void)
{
    /* kt_ptr: a pointer as a key, as the decoder and the counter use it */
    static const char names[64][8];
    struct keytab t;
    kt_init(&t, sizeof(uint64_t));
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 64; i++) {
            uint64_t *c = kt_get(&t, kt_ptr(names[i]), 0);
            REQUIRE(c != NULL);
            (*c)++;
        }
    CHECK_EQ(kt_count(&t), 64);
    for (size_t i = 0; i < kt_count(&t); i++) {
        uint64_t k1, k2;
        kt_key(&t, kt_at(&t, i), &k1, &k2);
        CHECK(k1 == kt_ptr(names[i]));                  /* creation order */
        CHECK_EQ(*(uint64_t *)kt_at(&t, i), 3);
    }
    kt_fini(&t);
}

static const struct test tests[] = {
    { "keytab entries stay where they were made through growth, in creation order, with O(1) index and key", t_stable },
    { "keys differing only in a PTE slot's low bits, or only in k2, spread over the buckets", t_spread },
    { "a pointer is a key (kt_ptr): the per-event-class tables of the decoder and the counter", t_pointer },
};

TEST_MAIN(tests)
