/*
 * Arenas: per-request memory, freed in one go.
 *
 * Everything a request allocates (the conn, path segments, headers it sets, assigns, params,
 * rendered bodies) comes from its conn's arena and goes when the request ends: no per-object
 * free, no leak when a route crashes. For a real request the arena's blocks come from the HTTP
 * layer's request arena (http_req_alloc); the test adapter and standalone arenas use their own
 * blocks (act_malloc). Cleanups registered with dyn_arena_defer run when the arena is released,
 * however the request ends (a crash and a kill included): that is how a value holding a
 * pointer with a destructor releases it (value.h, dyn_ptr).
 *
 * Thread contract: an arena belongs to one actor at a time (the request's fiber); it has no
 * lock. Hand-offs go through messages (the test helpers read a conn after its fiber is done).
 */
#ifndef DYN_ARENA_H
#define DYN_ARENA_H

#include <stdarg.h>

#include "dynamo/types.h"

typedef struct dyn_arena dyn_arena_t;

/* A standalone arena (blocks from act_malloc): for values built outside a request (tests,
 * start-up). NULL if memory runs out. Any thread. */
DYN_API dyn_arena_t *dyn_arena_new(void);
/* Runs the cleanups (last registered first) and frees every block. NULL is ignored. */
DYN_API void dyn_arena_free(dyn_arena_t *a);

/* size bytes, 8-aligned, uninitialized; NULL if memory runs out. */
DYN_API void *dyn_arena_alloc(dyn_arena_t *a, size_t size);
/* The same, zeroed. */
DYN_API void *dyn_arena_calloc(dyn_arena_t *a, size_t n, size_t size);
/* A NUL-terminated copy of s[0..len) (s may be NULL when len is 0), or NULL. */
DYN_API char *dyn_arena_strndup(dyn_arena_t *a, const char *s, size_t len);
/* printf into a NUL-terminated string of the arena, or NULL. */
DYN_API __attribute__((format(printf, 2, 3))) char *dyn_arena_printf(dyn_arena_t *a,
                                                                     const char *fmt, ...);

DYN_API __attribute__((format(printf, 2, 0))) char *dyn_arena_vprintf(dyn_arena_t *a,
                                                                      const char *fmt, va_list ap);

/* Runs fn(arg) when the arena is released (the request ended), last registered first. fn must
 * not block. Returns 0 or ACT_ENOMEM (fn is then called at once, so nothing leaks). */
DYN_API int dyn_arena_defer(dyn_arena_t *a, void (*fn)(void *arg), void *arg);

#endif
