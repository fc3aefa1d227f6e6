/*
 * Fibers: stacks and context switches for blocking-style actors (internal to actor/).
 *
 * A fiber is a stack plus a saved stack pointer. act__fiber_switch() saves the callee-saved
 * registers of the running context on its stack, stores its stack pointer in `from`, loads
 * `to`'s stack pointer and restores its registers: a few instructions, hand-written for
 * x86-64 (fiber_x86_64.S) and aarch64 (fiber_aarch64.S), with a ucontext fallback for other
 * targets (fiber_ucontext.c). The thread's own stack is a fiber too (act__fiber_init_thread),
 * so a scheduler switches thread -> fiber -> thread.
 *
 * Stacks are mmap'd with a PROT_NONE guard page below them (a stack overflow faults instead of
 * corrupting memory) and recycled through a per-scheduler pool; only touched pages are ever
 * committed. The sanitizers are told about every switch (ASan's start/finish_switch_fiber,
 * TSan's fiber API), so ASan and TSan builds run clean.
 *
 * Thread contract: a fiber runs on one thread at a time; the caller makes sure of it (the
 * runtime keeps a fiber on the scheduler that first ran it). A pool belongs to one thread.
 */
#ifndef ACT_FIBER_INT_H
#define ACT_FIBER_INT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct act__stack act__stack_t;
typedef struct act__fiber act__fiber_t;
typedef struct act__stack_pool act__stack_pool_t;

/* A mapped stack: [map, map + map_size) with the guard page(s) at the low end. The struct
 * itself occupies the top 64 bytes of the usable range, so a stack needs no heap block; the
 * frames of a fiber go below it. */
struct act__stack {
    act__stack_t *next; /* pool link */
    void *map;
    size_t map_size;
    void *lo;       /* lowest usable byte (just above the guard) */
    size_t size;    /* usable bytes, whole pages (the struct included) */
    unsigned vg_id; /* the stack's id for Valgrind (VALGRIND_STACK_REGISTER), 0 if none */
};

struct act__fiber {
    void *sp;            /* saved stack pointer while not running (ucontext: unused) */
    act__stack_t *stack; /* NULL for a thread's own stack */
    void (*entry)(void *arg);
    void *arg;
    /* sanitizer bookkeeping (unused in normal builds) */
    const void *asan_bottom;
    size_t asan_size;
    void *asan_fake_stack;
    void *tsan_fiber;
    bool tsan_owned; /* tsan_fiber was created by us and must be destroyed */
#ifdef ACT__FIBER_UCONTEXT
    void *uctx; /* ucontext_t *, fallback only */
#endif
};

struct act__stack_pool {
    act__stack_t *free; /* cached stacks, LIFO */
    unsigned count;
    unsigned max;      /* keep at most this many */
    size_t stack_size; /* usable size of the stacks this pool hands out */
};

/* Rounds the usable size up to whole pages (minimum 16 KiB). */
size_t act__stack_round(size_t size);

void act__stack_pool_init(act__stack_pool_t *pool, size_t stack_size, unsigned max);
/* Unmaps every cached stack. */
void act__stack_pool_deinit(act__stack_pool_t *pool);
/* A stack of `size` usable bytes (0: the pool's size): from the cache if the size matches,
 * else freshly mapped. NULL if mmap/mprotect fail (errno set). */
act__stack_t *act__stack_get(act__stack_pool_t *pool, size_t size);
/* Returns a stack to the pool (or unmaps it when the pool is full or sizes differ). */
void act__stack_put(act__stack_pool_t *pool, act__stack_t *stack);

/* Describes the calling thread's own stack as a fiber, so it can be switched from and back to.
 * Call once per thread before its first switch. */
void act__fiber_init_thread(act__fiber_t *self);
/* Releases what act__fiber_init_thread set up. */
void act__fiber_deinit_thread(act__fiber_t *self);

/* Prepares f to run entry(arg) on stack when first switched to. entry must never return: it
 * ends with act__fiber_exit_to(). */
void act__fiber_init(act__fiber_t *f, act__stack_t *stack, void (*entry)(void *arg), void *arg);
/* Releases f's sanitizer state (not its stack). f must not be running. */
void act__fiber_deinit(act__fiber_t *f);

/* Suspends `from` (the running context) and resumes `to`. Returns when something switches
 * back to `from`. */
void act__fiber_switch(act__fiber_t *from, act__fiber_t *to);
/* Like act__fiber_switch, for a fiber that will never run again (its stack may be reused as
 * soon as `to` runs). */
__attribute__((noreturn)) void act__fiber_exit_to(act__fiber_t *from, act__fiber_t *to);

#endif
