/*
 * All heap memory of the runtime and of code built on it goes through act_malloc/act_free:
 * one place to count, to poison and to inject failures.
 *
 * In release builds the blocks come from mimalloc's per-thread heaps (a block freed by another
 * thread goes back to its owner's heap without a lock: the per-scheduler pools the design
 * asks for). Sanitizer builds use libc's malloc so AddressSanitizer sees every block.
 */
#ifndef ACT_MEM_H
#define ACT_MEM_H

#include "actor/types.h"

/* malloc/calloc/realloc/free with the usual contracts (NULL on failure). Any thread; a block
 * may be freed by a thread other than the one that allocated it. */
ACT_API void *act_malloc(size_t size);
ACT_API void *act_calloc(size_t n, size_t size);
ACT_API void *act_realloc(void *p, size_t size);
ACT_API void act_free(void *p);
/* Zeroed memory aligned to `align` (a power of two, at most 4096), freed with act_free. For
 * structures laid out on cache lines. NULL on failure. */
ACT_API void *act_calloc_aligned(size_t align, size_t size);
/* A copy of s (len bytes, NUL added), or NULL on failure. */
ACT_API char *act_strndup(const char *s, size_t len);
ACT_API char *act_strdup(const char *s);

/* Like act_malloc, but stops the process with a message when memory runs out: for small
 * fixed-size blocks whose failure cannot be reported (STYLE section 4). */
ACT_API void *act_xmalloc(size_t size);
ACT_API void *act_xcalloc(size_t n, size_t size);

/* Blocks currently allocated through act_malloc and friends (all threads). Exact when nothing
 * allocates concurrently; tests use it to prove that a stopped system leaks nothing. */
ACT_API int64_t act_mem_live_blocks(void);

/* Makes the Nth act_malloc from now (1 = the next) fail, then every later one succeed again;
 * 0 cancels. For tests of out-of-memory paths. Any thread. */
ACT_API void act_mem_fail_after(int64_t n);

/* Prints "file:line: message" and aborts: broken invariants and failed small allocations. */
ACT_API __attribute__((noreturn, cold, format(printf, 3, 4))) void
act__fatal(const char *file, int line, const char *fmt, ...);
#define act_fatal(...) act__fatal(__FILE__, __LINE__, __VA_ARGS__)

#endif
