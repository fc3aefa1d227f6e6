/*
 * Values, lists and maps (value.h).
 *
 * A map is an array of entries in insertion order. Lookups scan it while it holds at most
 * INDEX_MIN entries (assigns and path params are a handful: a scan of short keys beats hashing
 * them); past that an open-addressing index of entry numbers (FNV-1a, load <= 1/2) is built
 * and kept up to date, so a params map of 1,000 keys stays linear to build, not quadratic.
 * Deleting shifts the entries after it and rebuilds the index.
 */
#include <string.h>

#include "value_int.h"

#include "actor/types.h"

#define INDEX_MIN 16

struct dyn_list {
    dyn_arena_t *arena;
    dyn_value_t *items;
    size_t n, cap;
};

typedef struct entry {
    dyn_str_t key;
    dyn_value_t val;
} entry_t;

struct dyn_map {
    dyn_arena_t *arena;
    entry_t *e;
    uint32_t n, cap;
    uint32_t *index; /* entry number + 1, 0 empty; NULL while small */
    uint32_t icap;   /* a power of two */
};

dyn_value_t dyn_vstr_copy(dyn_arena_t *a, const char *s, size_t len)
{
    char *p = dyn_arena_strndup(a, s, len);
    return p ? dyn_vstrn(p, len) : dyn_vnull();
}

static void run_dtor(void *arg)
{
    void **pair = arg;
    ((void (*)(void *))pair[1])(pair[0]);
}

dyn_value_t dyn_vptr(dyn_arena_t *a, void *p, void (*dtor)(void *p))
{
    if (dtor) {
        void **pair = dyn_arena_alloc(a, 2 * sizeof(void *));
        if (!pair) {
            dtor(p);
            return dyn_vnull();
        }
        pair[0] = p;
        pair[1] = (void *)dtor;
        if (dyn_arena_defer(a, run_dtor, pair) != 0)
            return dyn_vnull(); /* ran at once */
    }
    return (dyn_value_t){.type = DYN_V_PTR, .p = p};
}

const char *dyn_vtype_name(dyn_vtype_t t)
{
    static const char *const names[] = {"null",   "bool", "int", "float",
                                        "string", "list", "map", "pointer"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

bool dyn_value_bool(const dyn_value_t *v, bool def)
{
    return v && v->type == DYN_V_BOOL ? v->b : def;
}

int64_t dyn_value_int(const dyn_value_t *v, int64_t def)
{
    return v && v->type == DYN_V_INT ? v->i : def;
}

double dyn_value_float(const dyn_value_t *v, double def)
{
    if (v && v->type == DYN_V_FLOAT)
        return v->f;
    if (v && v->type == DYN_V_INT)
        return (double)v->i;
    return def;
}

const char *dyn_value_str(const dyn_value_t *v, const char *def)
{
    return v && v->type == DYN_V_STR ? v->s.ptr : def;
}

bool dyn_value_equal(const dyn_value_t *a, const dyn_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case DYN_V_NULL:
        return true;
    case DYN_V_BOOL:
        return a->b == b->b;
    case DYN_V_INT:
        return a->i == b->i;
    case DYN_V_FLOAT:
        return a->f == b->f;
    case DYN_V_STR:
        return a->s.len == b->s.len && memcmp(a->s.ptr, b->s.ptr, a->s.len) == 0;
    case DYN_V_PTR:
        return a->p == b->p;
    case DYN_V_LIST:
        if (a->l->n != b->l->n)
            return false;
        for (size_t i = 0; i < a->l->n; i++)
            if (!dyn_value_equal(&a->l->items[i], &b->l->items[i]))
                return false;
        return true;
    case DYN_V_MAP:
        if (a->m->n != b->m->n)
            return false;
        for (uint32_t i = 0; i < a->m->n; i++) {
            const entry_t *e = &a->m->e[i];
            const dyn_value_t *o = dyn_map_getn(b->m, e->key.ptr, e->key.len);
            if (!o || !dyn_value_equal(&e->val, o))
                return false;
        }
        return true;
    }
    return false;
}

/* ---- lists ------------------------------------------------------------------------------- */

dyn_list_t *dyn_list_new(dyn_arena_t *a, size_t cap)
{
    dyn_list_t *l = dyn_arena_alloc(a, sizeof *l);
    if (!l)
        return NULL;
    l->arena = a;
    l->n = 0;
    l->cap = cap ? cap : 4;
    l->items = dyn_arena_alloc(a, l->cap * sizeof *l->items);
    return l->items ? l : NULL;
}

int dyn_list_push(dyn_list_t *l, dyn_value_t v)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap * 2;
        dyn_value_t *ni = dyn_arena_alloc(l->arena, ncap * sizeof *ni);
        if (!ni)
            return ACT_ENOMEM;
        memcpy(ni, l->items, l->n * sizeof *ni);
        l->items = ni;
        l->cap = ncap;
    }
    l->items[l->n++] = v;
    return 0;
}

size_t dyn_list_len(const dyn_list_t *l)
{
    return l->n;
}

const dyn_value_t *dyn_list_at(const dyn_list_t *l, size_t i)
{
    return i < l->n ? &l->items[i] : NULL;
}

/* ---- maps -------------------------------------------------------------------------------- */

static uint32_t hash(const char *k, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)k[i]) * 16777619u;
    return h;
}

static void index_insert(dyn_map_t *m, uint32_t ei)
{
    uint32_t mask = m->icap - 1;
    uint32_t i = hash(m->e[ei].key.ptr, m->e[ei].key.len) & mask;
    while (m->index[i])
        i = (i + 1) & mask;
    m->index[i] = ei + 1;
}

/* Builds the index for the entries there, sized for at least `want` entries. */
static int index_build(dyn_map_t *m, uint32_t want)
{
    uint32_t icap = 64;
    while (icap < 2 * want)
        icap *= 2;
    uint32_t *idx = dyn_arena_calloc(m->arena, icap, sizeof *idx);
    if (!idx)
        return ACT_ENOMEM;
    m->index = idx;
    m->icap = icap;
    for (uint32_t i = 0; i < m->n; i++)
        index_insert(m, i);
    return 0;
}

dyn_map_t *dyn_map_new(dyn_arena_t *a)
{
    dyn_map_t *m = dyn_arena_calloc(a, 1, sizeof *m);
    if (m)
        m->arena = a;
    return m;
}

static int find(const dyn_map_t *m, const char *key, size_t len)
{
    if (m->index) {
        uint32_t mask = m->icap - 1;
        for (uint32_t i = hash(key, len) & mask; m->index[i]; i = (i + 1) & mask) {
            const entry_t *e = &m->e[m->index[i] - 1];
            if (e->key.len == len && memcmp(e->key.ptr, key, len) == 0)
                return (int)(m->index[i] - 1);
        }
        return -1;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        const entry_t *e = &m->e[i];
        if (e->key.len == len && memcmp(e->key.ptr, key, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Returns 1 when the key was there and `replace` is false (the map unchanged). */
static int put(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v, bool copy,
               bool replace)
{
    int i = find(m, key, key_len);
    if (i >= 0) {
        if (!replace)
            return 1;
        m->e[i].val = v;
        return 0;
    }
    if (m->n == m->cap) {
        uint32_t ncap = m->cap ? m->cap * 2 : 4;
        entry_t *ne = dyn_arena_alloc(m->arena, ncap * sizeof *ne);
        if (!ne)
            return ACT_ENOMEM;
        if (m->n)
            memcpy(ne, m->e, m->n * sizeof *ne);
        m->e = ne;
        m->cap = ncap;
    }
    const char *k = copy ? dyn_arena_strndup(m->arena, key, key_len) : key;
    if (!k)
        return ACT_ENOMEM;
    m->e[m->n] = (entry_t){{k, key_len}, v};
    m->n++;
    if (m->index && 2 * m->n > m->icap) {
        if (index_build(m, m->n) != 0)
            m->index = NULL; /* scans still work */
    } else if (m->index) {
        index_insert(m, m->n - 1);
    } else if (m->n > INDEX_MIN) {
        (void)index_build(m, m->n); /* no memory: keep scanning */
    }
    return 0;
}

int dyn_map_putn(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v)
{
    return put(m, key, key_len, v, true, true);
}

int dyn__map_put_borrowed(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v)
{
    return put(m, key, key_len, v, false, true);
}

int dyn__map_add_borrowed(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v)
{
    return put(m, key, key_len, v, false, false);
}

int dyn_map_put(dyn_map_t *m, const char *key, dyn_value_t v)
{
    return dyn_map_putn(m, key, strlen(key), v);
}

const dyn_value_t *dyn_map_getn(const dyn_map_t *m, const char *key, size_t key_len)
{
    int i = find(m, key, key_len);
    return i >= 0 ? &m->e[i].val : NULL;
}

const dyn_value_t *dyn_map_get(const dyn_map_t *m, const char *key)
{
    return dyn_map_getn(m, key, strlen(key));
}

bool dyn_map_delete(dyn_map_t *m, const char *key)
{
    int i = find(m, key, strlen(key));
    if (i < 0)
        return false;
    memmove(&m->e[i], &m->e[i + 1], (m->n - (uint32_t)i - 1) * sizeof *m->e);
    m->n--;
    if (m->index) {
        memset(m->index, 0, m->icap * sizeof *m->index);
        for (uint32_t j = 0; j < m->n; j++)
            index_insert(m, j);
    }
    return true;
}

size_t dyn_map_len(const dyn_map_t *m)
{
    return m->n;
}

bool dyn_map_at(const dyn_map_t *m, size_t i, dyn_str_t *key, const dyn_value_t **val)
{
    if (i >= m->n)
        return false;
    if (key)
        *key = m->e[i].key;
    if (val)
        *val = &m->e[i].val;
    return true;
}

dyn_arena_t *dyn_map_arena(const dyn_map_t *m)
{
    return m->arena;
}

void dyn__map_truncate(dyn_map_t *m, size_t n)
{
    if (n >= m->n)
        return;
    m->n = (uint32_t)n;
    if (m->index) {
        memset(m->index, 0, m->icap * sizeof *m->index);
        for (uint32_t j = 0; j < m->n; j++)
            index_insert(m, j);
    }
}
