/*
 * act_malloc and friends: the runtime's one door to the heap.
 *
 * Release builds use mimalloc (per-thread heaps, lock-free frees from other threads), sanitizer
 * builds use libc so ASan tracks every block. A live-block count, kept per thread so the hot
 * path never writes a shared cache line, lets tests prove that a stopped system leaks nothing;
 * a countdown injects allocation failures for tests of out-of-memory paths.
 */
#include "actor/mem.h"

#include <pthread.h>
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

/* Counting: every thread counts in its own counter, which only it writes (a plain add, no
 * locked instruction on the allocation path); readers sum all counters under a lock. A thread
 * that exits folds its count into `retired`. Counts may go negative per thread (a block freed
 * by another thread than its allocator); the sum is exact when nothing runs concurrently. */
typedef struct counter counter_t;
struct counter {
    _Atomic int64_t n;
    counter_t *next;
};
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static counter_t *counters;
static int64_t retired;
static pthread_key_t counter_key;
static pthread_once_t counter_once = PTHREAD_ONCE_INIT;
static _Thread_local counter_t *my_counter __attribute__((tls_model("initial-exec")));
static _Atomic int64_t fail_countdown;

static void counter_exit(void *arg)
{
    counter_t *c = arg;
    pthread_mutex_lock(&counters_lock);
    retired += atomic_load_explicit(&c->n, memory_order_relaxed);
    for (counter_t **p = &counters; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&counters_lock);
    my_counter = NULL;
    free(c); /* the counters themselves come from libc: they must not count */
}

static void counter_key_init(void)
{
    pthread_key_create(&counter_key, counter_exit);
}

static __attribute__((noinline, cold)) counter_t *counter_new(void)
{
    pthread_once(&counter_once, counter_key_init);
    counter_t *c = calloc(1, sizeof *c);
    if (!c)
        act_fatal("out of memory for an allocation counter");
    pthread_mutex_lock(&counters_lock);
    c->next = counters;
    counters = c;
    pthread_mutex_unlock(&counters_lock);
    pthread_setspecific(counter_key, c);
    my_counter = c;
    return c;
}

static inline void count(int64_t delta)
{
    counter_t *c = my_counter;
    if (ACT_UNLIKELY(c == NULL))
        c = counter_new();
    atomic_store_explicit(&c->n, atomic_load_explicit(&c->n, memory_order_relaxed) + delta,
                          memory_order_relaxed);
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
        count(1);
    return p;
}

void *act_calloc(size_t n, size_t size)
{
    if (ACT_UNLIKELY(inject_failure()))
        return NULL;
    void *p = SYS_CALLOC(n ? n : 1, size ? size : 1);
    if (ACT_LIKELY(p != NULL))
        count(1);
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
        count(1);
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
    count(-1);
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
    pthread_mutex_lock(&counters_lock);
    int64_t sum = retired;
    for (counter_t *c = counters; c; c = c->next)
        sum += atomic_load_explicit(&c->n, memory_order_relaxed);
    pthread_mutex_unlock(&counters_lock);
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
