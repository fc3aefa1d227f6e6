/*
 * Portable fiber switch on makecontext/swapcontext, for targets without hand-written assembly
 * (built with ACT__FIBER_UCONTEXT; see fiber_arch_int.h for the contract).
 *
 * Correct everywhere glibc or a BSD libc runs, but slow: swapcontext saves and restores the
 * signal mask with a system call on every switch, which costs a few hundred nanoseconds
 * where the assembly takes a few.
 *
 * A fiber's ucontext_t lives at the top of its own stack, right below `top`, so it costs no
 * allocation and disappears with the stack; the fiber's frames go below it. The thread's
 * context is saved in a thread-local ucontext_t (one thread fiber per thread, as
 * act__fiber_init_thread() implies).
 */
#include "fiber_arch_int.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <ucontext.h>

#include "actor/mem.h"

static_assert(alignof(ucontext_t) <= 64, "act__fiber_arch_make aligns contexts to 64");

static _Thread_local ucontext_t thread_ctx;

/* makecontext passes only ints, so the two pointers arrive in 32-bit halves. Shifting by 16
 * twice stays defined where uintptr_t is itself 32 bits wide. */
static void ctx_start(unsigned f_hi, unsigned f_lo, unsigned fn_hi, unsigned fn_lo)
{
    act__fiber_t *f = (act__fiber_t *)((uintptr_t)f_hi << 16 << 16 | f_lo);
    void (*start)(act__fiber_t *) =
        (void (*)(act__fiber_t *))((uintptr_t)fn_hi << 16 << 16 | fn_lo);

    start(f);
}

void act__fiber_arch_init_thread(act__fiber_t *self)
{
    self->uctx = &thread_ctx;
}

void act__fiber_arch_make(act__fiber_t *f, void *lo, void *top, void (*start)(act__fiber_t *f))
{
    /* 64 is a cache line and more than any libc's alignof(ucontext_t); the frames go below. */
    ucontext_t *uc = (ucontext_t *)(((uintptr_t)top - sizeof(ucontext_t)) & ~(uintptr_t)63);
    uintptr_t fp = (uintptr_t)f;
    uintptr_t fn = (uintptr_t)start;

    if (getcontext(uc) != 0)
        act_fatal("getcontext failed");
    uc->uc_link = NULL;
    uc->uc_stack.ss_sp = lo;
    uc->uc_stack.ss_size = (size_t)((char *)uc - (char *)lo);
    uc->uc_stack.ss_flags = 0;
    makecontext(uc, (void (*)(void))ctx_start, 4, (unsigned)(fp >> 16 >> 16), (unsigned)fp,
                (unsigned)(fn >> 16 >> 16), (unsigned)fn);
    f->uctx = uc;
}

void act__fiber_arch_swap(act__fiber_t *from, act__fiber_t *to)
{
    if (swapcontext(from->uctx, to->uctx) != 0)
        act_fatal("swapcontext failed");
}
