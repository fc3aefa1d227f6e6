/*
 * The machine-dependent half of the fibers, private to fiber.c.
 *
 * fiber.c owns stacks, the fiber structs and the sanitizer annotations; the code below only
 * builds a first frame and moves between register sets. Two implementations, chosen by the
 * build: hand-written assembly (fiber_x86_64.S, fiber_aarch64.S), which saves the callee-saved
 * registers on the stack being left and keeps the stack pointer in act__fiber_t.sp, and the
 * portable makecontext/swapcontext fallback (fiber_ucontext.c, ACT__FIBER_UCONTEXT), which keeps
 * a ucontext_t per fiber. Neither touches the sanitizers: the annotations must surround the
 * switch exactly, so they stay in fiber.c.
 */
#ifndef ACT_FIBER_ARCH_INT_H
#define ACT_FIBER_ARCH_INT_H

#include <assert.h>
#include <stddef.h>

#include "fiber_int.h"

/* Makes f's first act__fiber_arch_swap() land in start(f) with an ABI-conformant stack whose
 * highest usable byte is just below top (16-byte aligned); lo is the lowest. start must never
 * return. Writes only below top. */
void act__fiber_arch_make(act__fiber_t *f, void *lo, void *top, void (*start)(act__fiber_t *f));

/* Saves the running context into from and resumes to; returns when something swaps back to
 * from. The caller has told the sanitizers. */
void act__fiber_arch_swap(act__fiber_t *from, act__fiber_t *to);

#ifdef ACT__FIBER_UCONTEXT
/* Gives the calling thread's context somewhere to be saved (a thread-local ucontext_t). */
void act__fiber_arch_init_thread(act__fiber_t *self);
#else
/* The assembly keeps a suspended context's registers on its own stack: offset 0 is where
 * act__fiber_arch_swap() stores and loads the stack pointer. */
static_assert(offsetof(act__fiber_t, sp) == 0, "the switch assembly addresses sp at offset 0");

static inline void act__fiber_arch_init_thread(act__fiber_t *self)
{
    (void)self;
}
#endif

#endif
