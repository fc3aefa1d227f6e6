/* Arenas backed by another allocator (a real request's: http_req_alloc), for conn.c. */
#ifndef DYN_ARENA_INT_H
#define DYN_ARENA_INT_H

#include "dynamo/arena.h"

/* An arena whose every allocation is backing(ctx, size) (memory the backer frees itself); the
 * struct lives in the backer's memory too. dyn__arena_release runs the cleanups only. NULL if
 * backing fails. */
dyn_arena_t *dyn__arena_backed(void *(*backing)(void *ctx, size_t size), void *ctx);
/* Runs the cleanups (last registered first) of any arena, once; frees nothing else. */
void dyn__arena_release(void *arena);

#endif
