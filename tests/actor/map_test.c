/*
 * The runtime's small hash map (src/map_int.h): one entry lives in the struct, the arrays come
 * with the second; churn against a reference model.
 */
#include <stdlib.h>

#include "map_int.h"
#include "test_util.h"

TestSuite(map, .init = tu_start1, .fini = tu_stop, .timeout = TMO(20));

Test(map, one_entry_allocates_nothing)
{
    int64_t blocks = act_mem_live_blocks();
    act__map_t m = {0};
    uint64_t v = 0;
    cr_assert_not(act__map_get(&m, 7, &v));
    cr_assert_eq(act__map_put(&m, 7, 70), 0);
    cr_assert_eq(act__map_put(&m, 7, 71), 0, "a second put of one key replaces");
    cr_assert_eq(m.len, 1u);
    cr_assert_eq(act_mem_live_blocks(), blocks, "one entry is kept inline");
    cr_assert(act__map_get(&m, 7, &v));
    cr_assert_eq(v, 71u);
    cr_assert_not(act__map_get(&m, 8, NULL));
    uint64_t k;
    uint32_t it = 0;
    cr_assert(act__map_next(&m, &it, &k, &v));
    cr_assert_eq(k, 7u);
    cr_assert_not(act__map_next(&m, &it, &k, &v), "one entry, one step");
    cr_assert_not(act__map_del(&m, 8, NULL));
    cr_assert(act__map_del(&m, 7, &v));
    cr_assert_eq(v, 71u);
    cr_assert_eq(m.len, 0u);
    cr_assert_not(act__map_del(&m, 7, NULL));
    it = 0;
    cr_assert_not(act__map_next(&m, &it, &k, &v), "empty");
}

Test(map, the_second_entry_moves_both_to_the_arrays_and_back_to_nothing)
{
    int64_t blocks = act_mem_live_blocks();
    act__map_t m = {0};
    cr_assert_eq(act__map_put(&m, 1, 10), 0);
    cr_assert_eq(act__map_put(&m, 2, 20), 0);
    cr_assert_gt(act_mem_live_blocks(), blocks);
    uint64_t v;
    cr_assert(act__map_get(&m, 1, &v) && v == 10);
    cr_assert(act__map_get(&m, 2, &v) && v == 20);
    cr_assert(act__map_del(&m, 1, NULL));
    cr_assert(act__map_del(&m, 2, NULL));
    cr_assert_eq(act_mem_live_blocks(), blocks, "an emptied map frees its arrays");
    act__map_deinit(&m);
}

Test(map, churn_matches_a_reference)
{
    enum { KEYS = 512, OPS = 200000 };
    static uint64_t ref[KEYS + 1]; /* 0: absent */
    act__map_t m = {0};
    uint64_t x = 88172645463325252ull;
    for (int op = 0; op < OPS; op++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Few keys at times, many at others, so the map crosses the one-entry form often. */
        uint64_t span = (op / 5000) % 2 ? KEYS : 3;
        uint64_t key = 1 + x % span;
        if ((x >> 32) % 3) {
            cr_assert_eq(act__map_put(&m, key, x | 1), 0);
            ref[key] = x | 1;
        } else {
            uint64_t v = 0;
            bool had = act__map_del(&m, key, &v);
            cr_assert_eq(had, ref[key] != 0, "op %d key %llu", op, (unsigned long long)key);
            if (had)
                cr_assert_eq(v, ref[key]);
            ref[key] = 0;
        }
        if (op % 997 == 0) {
            uint32_t n = 0, it = 0;
            uint64_t k, v;
            while (act__map_next(&m, &it, &k, &v)) {
                cr_assert_eq(v, ref[k]);
                n++;
            }
            cr_assert_eq(n, m.len);
            for (uint64_t k2 = 1; k2 <= KEYS; k2++)
                cr_assert_eq(act__map_get(&m, k2, NULL), ref[k2] != 0);
        }
    }
    act__map_deinit(&m);
}
