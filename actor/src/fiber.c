/*
 * Fibers: the stack pool, fiber set-up and the switch with its sanitizer annotations. The
 * register shuffling itself is in fiber_<arch>.S or fiber_ucontext.c (fiber_arch_int.h).
 *
 * A stack is one mapping: a PROT_NONE guard page at the low end, then `size` usable bytes
 * whose top STACK_HDR bytes hold the act__stack_t itself. Keeping the header inside the
 * mapping means a stack costs no heap block and cannot fail half-way; the top page is the
 * first one a fiber touches, so the header costs no extra committed memory either. Pages
 * are only committed when touched, and MAP_NORESERVE keeps the untouched rest out of the
 * overcommit accounting: a 64 KiB stack on which a fiber only ever used 2 KiB costs one page.
 * A pool caches up to `max` stacks of its own size in a LIFO list (the most recently
 * used stack is the one most likely still in cache and TLB); anything else is unmapped.
 *
 * Sanitizers. AddressSanitizer needs __sanitizer_start_switch_fiber() right before every switch
 * and __sanitizer_finish_switch_fiber() right after every arrival; without them it keeps the
 * old stack's bounds (so unpoisoning at longjmp and noreturn calls and its reports go wrong)
 * and mixes up the fibers' use-after-return fake stacks. Stack memory also carries ASan
 * poison from frames that never returned (a fiber that exited, or one abandoned while
 * suspended when its actor was killed), so a stack is unpoisoned before each reuse and before
 * it is unmapped.
 *
 * ThreadSanitizer keeps per-fiber state (shadow call stack, vector clock) and must be told
 * which fiber runs: __tsan_switch_to_fiber() with flags 0 also orders everything before the
 * switch before everything after it, which is what a fiber migrating between threads needs.
 * In other builds the annotations compile to nothing and act__fiber_switch() is a tail call
 * into the assembly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_getattr_np */
#endif

#include "fiber_int.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "actor/mem.h"
#include "fiber_arch_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif

#ifdef FIBER_ASAN
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* Under Valgrind, a stack it was not told about makes every access after a switch look wild:
 * register each one (a few instructions when not running under Valgrind). */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif

#define STACK_MIN ((size_t)16 * 1024)
/* A cache line, so the frames below never share one with the header the pool writes. */
#define STACK_HDR ((size_t)64)
static_assert(sizeof(act__stack_t) <= STACK_HDR, "act__stack_t must fit in STACK_HDR");

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

size_t act__stack_round(size_t size)
{
    size_t page = page_size();

    if (size < STACK_MIN)
        size = STACK_MIN;
    /* Saturate instead of wrapping to 0: the mmap of an absurd size then fails with ENOMEM. */
    if (size > SIZE_MAX - page)
        return SIZE_MAX & ~(page - 1);
    return (size + page - 1) & ~(page - 1);
}

static act__stack_t *stack_map(size_t size)
{
    size_t guard = page_size();

    if (size > SIZE_MAX - guard) {
        errno = ENOMEM;
        return NULL;
    }
    void *map = mmap(NULL, guard + size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, guard, PROT_NONE) != 0) {
        int err = errno;
        munmap(map, guard + size);
        errno = err;
        return NULL;
    }
    char *lo = (char *)map + guard;
    act__stack_t *stack = (act__stack_t *)(lo + size - STACK_HDR);
    *stack = (act__stack_t){.map = map, .map_size = guard + size, .lo = lo, .size = size};
#ifdef FIBER_VALGRIND
    stack->vg_id = VALGRIND_STACK_REGISTER(lo, lo + size);
#endif
    return stack;
}

static void stack_unmap(act__stack_t *stack)
{
    /* The header lives in the mapping: read it before it goes. */
    void *map = stack->map;
    size_t map_size = stack->map_size;
#ifdef FIBER_VALGRIND
    VALGRIND_STACK_DEREGISTER(stack->vg_id);
#endif

#ifdef FIBER_ASAN
    /* Clear the redzones of frames that never returned (top of file) before the range can
     * come back from another mmap. */
    __asan_unpoison_memory_region(stack->lo, stack->size);
#endif
    if (munmap(map, map_size) != 0)
        act_fatal("munmap of a fiber stack failed: errno %d", errno);
}

void act__stack_pool_init(act__stack_pool_t *pool, size_t stack_size, unsigned max)
{
    *pool = (act__stack_pool_t){.max = max, .stack_size = act__stack_round(stack_size)};
}

void act__stack_pool_deinit(act__stack_pool_t *pool)
{
    act__stack_t *stack = pool->free;

    while (stack != NULL) {
        act__stack_t *next = stack->next;
        stack_unmap(stack);
        stack = next;
    }
    pool->free = NULL;
    pool->count = 0;
}

act__stack_t *act__stack_get(act__stack_pool_t *pool, size_t size)
{
    size = size == 0 ? pool->stack_size : act__stack_round(size);
    if (size == pool->stack_size && pool->free != NULL) {
        act__stack_t *stack = pool->free;
        pool->free = stack->next;
        pool->count--;
        stack->next = NULL;
        return stack;
    }
    return stack_map(size);
}

void act__stack_put(act__stack_pool_t *pool, act__stack_t *stack)
{
    if (stack->size != pool->stack_size || pool->count >= pool->max) {
        stack_unmap(stack);
        return;
    }
    stack->next = pool->free;
    pool->free = stack;
    pool->count++;
}

/* Tell ASan which stack the next instructions run on; `fake_save` NULL means the running
 * context never comes back, so ASan frees its fake stack. */
static inline void asan_start(void **fake_save, const act__fiber_t *to)
{
#ifdef FIBER_ASAN
    __sanitizer_start_switch_fiber(fake_save, to->asan_bottom, to->asan_size);
#else
    (void)fake_save;
    (void)to;
#endif
}

static inline void asan_finish(void *fake)
{
#ifdef FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    (void)fake;
#endif
}

static inline void tsan_switch(const act__fiber_t *to)
{
#ifdef FIBER_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
    (void)to;
#endif
}

void act__fiber_init_thread(act__fiber_t *self)
{
    *self = (act__fiber_t){0};
#ifdef FIBER_ASAN
    /* ASan needs the bounds of the stack it switches back to, the thread's own included. */
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
        pthread_attr_getstack(&attr, &addr, &size) != 0)
        act_fatal("cannot find the thread's stack bounds for ASan");
    pthread_attr_destroy(&attr);
    self->asan_bottom = addr;
    self->asan_size = size;
#endif
#ifdef FIBER_TSAN
    self->tsan_fiber = __tsan_get_current_fiber();
#endif
    act__fiber_arch_init_thread(self);
}

void act__fiber_deinit_thread(act__fiber_t *self)
{
    /* Nothing is owned: TSan's thread fiber dies with the thread, and ucontext's storage for
     * it is thread-local. */
    *self = (act__fiber_t){0};
}

/* The first C frame of every fiber, reached from the arch code's trampoline. */
static void fiber_start(act__fiber_t *f)
{
    asan_finish(NULL);
    f->entry(f->arg);
    act_fatal("a fiber's entry function returned instead of calling act__fiber_exit_to()");
}

void act__fiber_init(act__fiber_t *f, act__stack_t *stack, void (*entry)(void *arg), void *arg)
{
    /* The frames go right below the header (stack_map). */
    char *top = (char *)stack;

    *f = (act__fiber_t){
        .stack = stack,
        .entry = entry,
        .arg = arg,
        .asan_bottom = stack->lo,
        .asan_size = (size_t)(top - (char *)stack->lo),
    };
#ifdef FIBER_ASAN
    /* The stack may come from the pool with a previous fiber's poison (top of file). */
    __asan_unpoison_memory_region(stack->lo, f->asan_size);
#endif
#ifdef FIBER_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
    f->tsan_owned = true;
#endif
    act__fiber_arch_make(f, stack->lo, top, fiber_start);
}

void act__fiber_deinit(act__fiber_t *f)
{
#ifdef FIBER_TSAN
    if (f->tsan_owned)
        __tsan_destroy_fiber(f->tsan_fiber);
#endif
    f->tsan_fiber = NULL;
    f->tsan_owned = false;
}

void act__fiber_switch(act__fiber_t *from, act__fiber_t *to)
{
    asan_start(&from->asan_fake_stack, to);
    tsan_switch(to);
    act__fiber_arch_swap(from, to);
    asan_finish(from->asan_fake_stack);
}

void act__fiber_exit_to(act__fiber_t *from, act__fiber_t *to)
{
    asan_start(NULL, to);
    tsan_switch(to);
    /* Saving into `from` is harmless (its struct outlives this call) and spares the arch code
     * a second entry point. */
    act__fiber_arch_swap(from, to);
    act_fatal("an exited fiber was switched to");
}
