/* Open-addressing u64 map: see map_int.h. */
#include "map_int.h"

#include "actor/mem.h"

static inline uint32_t slot_of(uint64_t key, uint32_t mask)
{
    /* Pids and refs are sequential in their low bits: mix them (Murmur3's finalizer). */
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (uint32_t)key & mask;
}

void act__map_deinit(act__map_t *m)
{
    if (m->cap) {
        act_free(m->keys);
        act_free(m->vals);
    }
    *m = (act__map_t){0};
}

static void place(uint64_t *keys, uint64_t *vals, uint32_t cap, uint64_t key, uint64_t val)
{
    uint32_t j = slot_of(key, cap - 1);
    while (keys[j] != 0)
        j = (j + 1) & (cap - 1);
    keys[j] = key;
    vals[j] = val;
}

static int grow(act__map_t *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 4;
    uint64_t *keys = act_calloc(cap, sizeof *keys);
    uint64_t *vals = act_malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        act_free(keys);
        act_free(vals);
        return -12; /* -ENOMEM */
    }
    if (m->cap == 0) {
        if (m->len)
            place(keys, vals, cap, m->key1, m->val1);
    } else {
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i] != 0)
                place(keys, vals, cap, m->keys[i], m->vals[i]);
        act_free(m->keys);
        act_free(m->vals);
    }
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int act__map_put(act__map_t *m, uint64_t key, uint64_t val)
{
    if (m->cap == 0) {
        if (m->len == 0 || m->key1 == key) {
            m->key1 = key;
            m->val1 = val;
            m->len = 1;
            return 0;
        }
    }
    /* Keep the load under 3/4. */
    if ((m->len + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    uint32_t mask = m->cap - 1;
    uint32_t i = slot_of(key, mask);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i] == 0) {
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
    return 0;
}

static int64_t find(const act__map_t *m, uint64_t key)
{
    if (m->len == 0)
        return -1;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = slot_of(key, mask);; i = (i + 1) & mask) {
        if (m->keys[i] == key)
            return i;
        if (m->keys[i] == 0)
            return -1;
    }
}

bool act__map_get(const act__map_t *m, uint64_t key, uint64_t *val)
{
    if (m->cap == 0) {
        if (m->len == 0 || m->key1 != key)
            return false;
        if (val)
            *val = m->val1;
        return true;
    }
    int64_t i = find(m, key);
    if (i < 0)
        return false;
    if (val)
        *val = m->vals[i];
    return true;
}

bool act__map_del(act__map_t *m, uint64_t key, uint64_t *val)
{
    if (m->cap == 0) {
        if (m->len == 0 || m->key1 != key)
            return false;
        if (val)
            *val = m->val1;
        *m = (act__map_t){0};
        return true;
    }
    int64_t found = find(m, key);
    if (found < 0)
        return false;
    uint32_t i = (uint32_t)found;
    if (val)
        *val = m->vals[i];
    /* Backward shift: pull later members of the probe run into the hole when their home slot
     * is not between the hole and them. */
    uint32_t mask = m->cap - 1;
    for (uint32_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        uint32_t home = slot_of(m->keys[j], mask);
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->len--;
    if (m->len == 0)
        act__map_deinit(m);
    return true;
}

bool act__map_next(const act__map_t *m, uint32_t *i, uint64_t *key, uint64_t *val)
{
    if (m->cap == 0) {
        if (*i > 0 || m->len == 0)
            return false;
        *key = m->key1;
        if (val)
            *val = m->val1;
        *i = 1;
        return true;
    }
    for (; *i < m->cap; (*i)++) {
        if (m->keys[*i] != 0) {
            *key = m->keys[*i];
            if (val)
                *val = m->vals[*i];
            (*i)++;
            return true;
        }
    }
    return false;
}
