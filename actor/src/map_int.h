/*
 * A small open-addressing hash map from nonzero 64-bit keys to 64-bit values (pids, refs,
 * pointers): an actor's links and monitors, a scheduler's timers. Linear probing with
 * backward-shift deletion (no tombstones), so a map that churns never degrades. Single owner;
 * no locking. An empty map allocates nothing, and neither does a map of one entry: it is kept
 * in the struct itself (most actors hold one monitor, or are watched by one), and the arrays
 * come with the second.
 */
#ifndef ACT_MAP_INT_H
#define ACT_MAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct act__map {
    union {
        struct {            /* cap > 0 */
            uint64_t *keys; /* 0 = empty slot */
            uint64_t *vals;
        };
        struct { /* cap == 0: the only entry, when len == 1 */
            uint64_t key1;
            uint64_t val1;
        };
    };
    uint32_t cap; /* power of two, or 0 */
    uint32_t len;
} act__map_t;

void act__map_deinit(act__map_t *m);
/* Inserts or replaces. Returns 0 or ACT_ENOMEM. */
int act__map_put(act__map_t *m, uint64_t key, uint64_t val);
/* Looks key up; *val (may be NULL) gets its value. */
bool act__map_get(const act__map_t *m, uint64_t key, uint64_t *val);
/* Removes key; *val (may be NULL) gets its value. False if absent. */
bool act__map_del(act__map_t *m, uint64_t key, uint64_t *val);

/* Iteration: for (uint32_t i = 0; act__map_next(m, &i, &k, &v);) { ... } (no changes inside). */
bool act__map_next(const act__map_t *m, uint32_t *i, uint64_t *key, uint64_t *val);

#endif
