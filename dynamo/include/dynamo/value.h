/*
 * Values: what assigns, params, JSON and templates hold.
 *
 * A dyn_value_t is a small tagged union passed by value (24 bytes): null, boolean, integer,
 * float, string, list, map, or a pointer with a destructor. Scalars and strings need no
 * allocation; lists and maps live in an arena (arena.h), usually the request's (dyn_conn_arena),
 * and die with it. Strings inside values are pointer + length, NUL-terminated when the
 * framework made them (dyn_vstr_copy); dyn_vstr() borrows the caller's string, which must then
 * live as long as the value (a literal, or arena memory).
 *
 * Maps keep insertion order and are meant to be small and cheap: an array of entries searched
 * linearly while small, with a hash index added past 16 entries. Keys are copied into the
 * map's arena. Lists are growable arrays.
 *
 *     dyn_map_t *user = dyn_map_new(dyn_conn_arena(conn));
 *     dyn_map_put(user, "name", dyn_vstr("José"));
 *     dyn_map_put(user, "age", dyn_vint(42));
 *     conn = dyn_assign(conn, "user", dyn_vmap(user));
 *
 * Thread contract: like the arena that holds them (one actor at a time).
 */
#ifndef DYN_VALUE_H
#define DYN_VALUE_H

#include "dynamo/arena.h"

typedef enum dyn_vtype {
    DYN_V_NULL = 0,
    DYN_V_BOOL,
    DYN_V_INT,
    DYN_V_FLOAT,
    DYN_V_STR,
    DYN_V_LIST,
    DYN_V_MAP,
    DYN_V_PTR,
} dyn_vtype_t;

typedef struct dyn_list dyn_list_t;
typedef struct dyn_map dyn_map_t;

typedef struct dyn_value {
    dyn_vtype_t type;
    union {
        bool b;        /* DYN_V_BOOL */
        int64_t i;     /* DYN_V_INT */
        double f;      /* DYN_V_FLOAT */
        dyn_str_t s;   /* DYN_V_STR */
        dyn_list_t *l; /* DYN_V_LIST */
        dyn_map_t *m;  /* DYN_V_MAP */
        void *p;       /* DYN_V_PTR (its destructor is the arena's: see dyn_vptr) */
    };
} dyn_value_t;

/* Constructors that allocate nothing. */
static inline dyn_value_t dyn_vnull(void)
{
    return (dyn_value_t){.type = DYN_V_NULL};
}
static inline dyn_value_t dyn_vbool(bool b)
{
    return (dyn_value_t){.type = DYN_V_BOOL, .b = b};
}
static inline dyn_value_t dyn_vint(int64_t i)
{
    return (dyn_value_t){.type = DYN_V_INT, .i = i};
}
static inline dyn_value_t dyn_vfloat(double f)
{
    return (dyn_value_t){.type = DYN_V_FLOAT, .f = f};
}
/* Borrows s (NUL-terminated) for the value's life. */
static inline dyn_value_t dyn_vstr(const char *s)
{
    return (dyn_value_t){.type = DYN_V_STR, .s = dyn_str(s)};
}
/* Borrows s[0..len). */
static inline dyn_value_t dyn_vstrn(const char *s, size_t len)
{
    return (dyn_value_t){.type = DYN_V_STR, .s = {s, len}};
}
static inline dyn_value_t dyn_vlist(dyn_list_t *l)
{
    return (dyn_value_t){.type = DYN_V_LIST, .l = l};
}
static inline dyn_value_t dyn_vmap(dyn_map_t *m)
{
    return (dyn_value_t){.type = DYN_V_MAP, .m = m};
}

/* A string value holding a NUL-terminated copy of s[0..len) in arena a. On allocation failure
 * the value is DYN_V_NULL. */
DYN_API dyn_value_t dyn_vstr_copy(dyn_arena_t *a, const char *s, size_t len);

/* A pointer value: p belongs to the arena from now on, and dtor(p) runs when the arena is
 * released (the request ends, whatever way), once, however many times the value is copied.
 * dtor may be NULL (p is then only borrowed). If the cleanup cannot be registered (no memory)
 * dtor(p) runs at once and the value is DYN_V_NULL. */
DYN_API dyn_value_t dyn_vptr(dyn_arena_t *a, void *p, void (*dtor)(void *p));

/* "null", "bool", "int", "float", "string", "list", "map", "pointer". */
DYN_API const char *dyn_vtype_name(dyn_vtype_t t);

/* Readers with a fallback when the value is of another type (v may be NULL). */
DYN_API bool dyn_value_bool(const dyn_value_t *v, bool def);
DYN_API int64_t dyn_value_int(const dyn_value_t *v, int64_t def);
DYN_API double dyn_value_float(const dyn_value_t *v, double def);
/* The string (NUL-terminated if the framework built it), or def. */
DYN_API const char *dyn_value_str(const dyn_value_t *v, const char *def);

/* Deep equality (pointers compare by address, floats by ==). */
DYN_API bool dyn_value_equal(const dyn_value_t *a, const dyn_value_t *b);

/* ---- lists ------------------------------------------------------------------------------- */

/* An empty list in arena a with room for cap items (0: a small default). NULL if no memory. */
DYN_API dyn_list_t *dyn_list_new(dyn_arena_t *a, size_t cap);
/* Appends v. Returns 0 or ACT_ENOMEM. */
DYN_API int dyn_list_push(dyn_list_t *l, dyn_value_t v);
DYN_API size_t dyn_list_len(const dyn_list_t *l);
/* Item i, or NULL past the end. The pointer is valid until the next push. */
DYN_API const dyn_value_t *dyn_list_at(const dyn_list_t *l, size_t i);

/* ---- maps -------------------------------------------------------------------------------- */

/* An empty map in arena a. NULL if no memory. */
DYN_API dyn_map_t *dyn_map_new(dyn_arena_t *a);
/* Sets key (NUL-terminated; copied) to v, replacing an existing value in place (its position
 * stays). Returns 0 or ACT_ENOMEM. */
DYN_API int dyn_map_put(dyn_map_t *m, const char *key, dyn_value_t v);
DYN_API int dyn_map_putn(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v);
/* The value under key, or NULL. Valid until the next put or delete. */
DYN_API const dyn_value_t *dyn_map_get(const dyn_map_t *m, const char *key);
DYN_API const dyn_value_t *dyn_map_getn(const dyn_map_t *m, const char *key, size_t key_len);
/* Removes key (later entries move up one place). Returns true if it was there. */
DYN_API bool dyn_map_delete(dyn_map_t *m, const char *key);
DYN_API size_t dyn_map_len(const dyn_map_t *m);
/* Entry i in insertion order: *key (NUL-terminated) and *val. Returns false past the end. */
DYN_API bool dyn_map_at(const dyn_map_t *m, size_t i, dyn_str_t *key, const dyn_value_t **val);
/* The arena the map allocates from (to build values that go into it). */
DYN_API dyn_arena_t *dyn_map_arena(const dyn_map_t *m);

#endif
