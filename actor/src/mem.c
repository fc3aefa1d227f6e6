/*
 * act_malloc and friends: the runtime's one door to the heap.
 *
 * Release builds use mimalloc (per-thread heaps, lock-free frees from other threads), sanitizer
 * builds use libc so ASan tracks every block. A live-block counter, sharded per thread to keep
 * it off the shared cache lines of the hot path, lets tests prove that a stopped system leaks
 * nothing; a countdown injects allocation failures for tests of out-of-memory paths.
 */
#include "actor/mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ACT_USE_MIMALLOC
#include <mimalloc.h>
#define SYS_MALLOC mi_malloc
#define SYS_CALLOC mi_calloc
#define SYS_REALLOC mi_realloc
#define SYS_FREE mi_free
#else
#define SYS_MALLOC malloc
#define SYS_CALLOC calloc
#define SYS_REALLOC realloc
#define SYS_FREE free
#endif

/* Counting shards: a thread counts in the shard its id hashes to. Relaxed adds: the sum is
 * only read when nothing else runs (tests after act_system_stop). */
#define MEM_SHARDS 64
static struct {
    _Alignas(64) _Atomic int64_t n;
} live[MEM_SHARDS];
static _Atomic int64_t fail_countdown;
static _Atomic unsigned next_shard;
static _Thread_local unsigned my_shard = MEM_SHARDS;

static inline _Atomic int64_t *shard(void)
{
    if (ACT_UNLIKELY(my_shard == MEM_SHARDS))
        my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % MEM_SHARDS;
    return &live[my_shard].n;
}

static inline bool inject_failure(void)
{
    if (ACT_LIKELY(atomic_load_explicit(&fail_countdown, memory_order_relaxed) == 0))
        return false;
    return atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed) == 1;
}

void *act_malloc(size_t size)
{
    if (ACT_UNLIKELY(inject_failure()))
        return NULL;
    void *p = SYS_MALLOC(size ? size : 1);
    if (ACT_LIKELY(p != NULL))
        atomic_fetch_add_explicit(shard(), 1, memory_order_relaxed);
    return p;
}

void *act_calloc(size_t n, size_t size)
{
    if (ACT_UNLIKELY(inject_failure()))
        return NULL;
    void *p = SYS_CALLOC(n ? n : 1, size ? size : 1);
    if (ACT_LIKELY(p != NULL))
        atomic_fetch_add_explicit(shard(), 1, memory_order_relaxed);
    return p;
}

void *act_calloc_aligned(size_t align, size_t size)
{
    if (ACT_UNLIKELY(inject_failure()))
        return NULL;
    size = (size + align - 1) & ~(align - 1);
#ifdef ACT_USE_MIMALLOC
    void *p = mi_zalloc_aligned(size ? size : align, align);
#else
    void *p = aligned_alloc(align, size ? size : align);
    if (p)
        memset(p, 0, size ? size : align);
#endif
    if (ACT_LIKELY(p != NULL))
        atomic_fetch_add_explicit(shard(), 1, memory_order_relaxed);
    return p;
}

void *act_realloc(void *p, size_t size)
{
    if (p == NULL)
        return act_malloc(size);
    if (ACT_UNLIKELY(inject_failure()))
        return NULL;
    return SYS_REALLOC(p, size ? size : 1);
}

void act_free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(shard(), 1, memory_order_relaxed);
    SYS_FREE(p);
}

char *act_strndup(const char *s, size_t len)
{
    char *d = act_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *act_strdup(const char *s)
{
    return act_strndup(s, strlen(s));
}

void *act_xmalloc(size_t size)
{
    void *p = act_malloc(size);
    if (ACT_UNLIKELY(p == NULL))
        act_fatal("out of memory allocating %zu bytes", size);
    return p;
}

void *act_xcalloc(size_t n, size_t size)
{
    void *p = act_calloc(n, size);
    if (ACT_UNLIKELY(p == NULL))
        act_fatal("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

int64_t act_mem_live_blocks(void)
{
    int64_t sum = 0;
    for (int i = 0; i < MEM_SHARDS; i++)
        sum += atomic_load_explicit(&live[i].n, memory_order_relaxed);
    return sum;
}

void act_mem_fail_after(int64_t n)
{
    atomic_store_explicit(&fail_countdown, n < 0 ? 0 : n, memory_order_relaxed);
}

void act__fatal(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: fatal: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}
