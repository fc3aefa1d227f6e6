/*
 * Fibers (actor/src/fiber_int.h): what survives a switch, fibers exiting and their stacks being
 * reused, the stack pool's cache and guard pages.
 *
 * Criterion's assertions abort a test by longjmp to the test's own frame, which must not
 * happen from a fiber's stack; so fibers only record what they see and the thread context
 * asserts once it is back on its own stack.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber_int.h"

#ifdef DYN_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef DYN_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
#define TIMEOUT(seconds) ((double)(seconds)*DYN_TEST_TIMEOUT_SCALE)

#define KiB ((size_t)1024)

/* Overwrites the callee-saved registers the compiler lets us name, right before a switch:
 * whatever the other side finds in them afterwards was restored by the switch, not left over.
 * (The frame pointer cannot be named; the compiler keeps it busy anyway.) A function using it
 * keeps none of its own values in these registers, so it is one half of a pair (below). */
#if defined(__x86_64__)
#define TRASH_CALLEE_SAVED()                                                                       \
    __asm__ volatile("movq $-1, %%rbx\n\tmovq $-2, %%r12\n\tmovq $-3, %%r13\n\t"                   \
                     "movq $-4, %%r14\n\tmovq $-5, %%r15" ::                                       \
                         : "rbx", "r12", "r13", "r14", "r15")
#elif defined(__aarch64__)
#define TRASH_CALLEE_SAVED()                                                                       \
    __asm__ volatile("mov x19, #-1\n\tmov x20, #-2\n\tmov x21, #-3\n\tmov x22, #-4\n\t"            \
                     "mov x23, #-5\n\tmov x24, #-6\n\tmov x25, #-7\n\tmov x26, #-8\n\t"            \
                     "mov x27, #-9\n\tmov x28, #-10\n\t"                                           \
                     "fmov d8, #-1.0\n\tfmov d9, #-2.0\n\tfmov d10, #-3.0\n\tfmov d11, #-4.0\n\t"  \
                     "fmov d12, #-5.0\n\tfmov d13, #-6.0\n\tfmov d14, #-7.0\n\tfmov d15, #-8.0" :: \
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",   \
                           "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15")
#else
#define TRASH_CALLEE_SAVED() ((void)0)
#endif

static uint64_t rotl(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

/* Six accumulators stepped once per switch. Both sides of the ping-pong keep their own in a
 * local struct across every switch (the compiler splits it into registers: more live values
 * than there are callee-saved registers, so some also sit on the stack); mix_reference()
 * recomputes them without switching. */
struct mix {
    uint64_t a;
    uint64_t b;
    uint64_t c;
    uint64_t d;
    uint64_t e;
    uint64_t g;
};

static struct mix mix_seed(uint64_t seed)
{
    return (struct mix){seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5};
}

static inline void mix_step(struct mix *m, uint64_t i)
{
    m->a += i;
    m->b ^= m->a * 0x9e3779b97f4a7c15u;
    m->c = rotl(m->c, 7) + m->b;
    m->d += m->c ^ i;
    m->e = m->e * 31 + m->d;
    m->g ^= m->e >> 3;
}

static uint64_t mix_fold(struct mix m)
{
    return m.a ^ m.b ^ m.c ^ m.d ^ m.e ^ m.g;
}

static uint64_t mix_reference(uint64_t seed, uint64_t n)
{
    struct mix m = mix_seed(seed);

    for (uint64_t i = 0; i < n; i++)
        mix_step(&m, i);
    return mix_fold(m);
}

struct pingpong {
    act__fiber_t thread;
    act__fiber_t fiber;
    uint64_t rounds;
    uint64_t token; /* written by one side, checked and bumped by the other */
    uint64_t bad_tokens;
    uint64_t fiber_mix;
    bool done;
};

/* Each side of the ping-pong comes in two builds: one keeping its accumulators in registers
 * across the switch, one trashing the registers right before it (which makes the compiler
 * keep that side's own values in memory). Pairing a keeping side with a trashing one checks
 * that the switch restores every callee-saved register the keeping side relies on. */
#define PINGPONG_THREAD(name, TRASH)                                                               \
    static __attribute__((noinline)) uint64_t name(struct pingpong *pp)                            \
    {                                                                                              \
        struct mix m = mix_seed(0);                                                                \
                                                                                                   \
        for (uint64_t i = 0; i < pp->rounds; i++) {                                                \
            pp->token = 2 * i + 1;                                                                 \
            mix_step(&m, i);                                                                       \
            TRASH;                                                                                 \
            act__fiber_switch(&pp->thread, &pp->fiber);                                            \
            if (pp->token != 2 * i + 2)                                                            \
                pp->bad_tokens++;                                                                  \
        }                                                                                          \
        return mix_fold(m);                                                                        \
    }

#define PINGPONG_FIBER(name, TRASH)                                                                \
    static void name(void *arg)                                                                    \
    {                                                                                              \
        struct pingpong *pp = arg;                                                                 \
        struct mix m = mix_seed(100);                                                              \
                                                                                                   \
        for (uint64_t i = 0; i < pp->rounds; i++) {                                                \
            if (pp->token != 2 * i + 1)                                                            \
                pp->bad_tokens++;                                                                  \
            pp->token++;                                                                           \
            mix_step(&m, i);                                                                       \
            TRASH;                                                                                 \
            act__fiber_switch(&pp->fiber, &pp->thread);                                            \
        }                                                                                          \
        pp->fiber_mix = mix_fold(m);                                                               \
        pp->done = true;                                                                           \
        act__fiber_exit_to(&pp->fiber, &pp->thread);                                               \
    }

PINGPONG_THREAD(pingpong_thread_keeping, (void)0)
PINGPONG_THREAD(pingpong_thread_trashing, TRASH_CALLEE_SAVED())
PINGPONG_FIBER(pingpong_fiber_keeping, (void)0)
PINGPONG_FIBER(pingpong_fiber_trashing, TRASH_CALLEE_SAVED())

static void pingpong_run(uint64_t (*thread_loop)(struct pingpong *), void (*fiber_entry)(void *),
                         uint64_t rounds)
{
    static struct pingpong pp;
    act__stack_pool_t pool;

    pp = (struct pingpong){.rounds = rounds};
    act__stack_pool_init(&pool, 64 * KiB, 4);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&pp.thread);
    act__fiber_init(&pp.fiber, stack, fiber_entry, &pp);

    uint64_t thread_mix = thread_loop(&pp);
    cr_assert_not(pp.done);
    act__fiber_switch(&pp.thread, &pp.fiber); /* lets it leave its loop and exit */

    cr_assert(pp.done);
    cr_assert_eq(pp.bad_tokens, 0);
    cr_assert_eq(thread_mix, mix_reference(0, rounds), "the thread's locals changed");
    cr_assert_eq(pp.fiber_mix, mix_reference(100, rounds), "the fiber's locals changed");

    act__fiber_deinit(&pp.fiber);
    act__fiber_deinit_thread(&pp.thread);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

Test(fiber, ping_pong_1m_switches_keep_memory_and_registers, .timeout = TIMEOUT(60))
{
    pingpong_run(pingpong_thread_keeping, pingpong_fiber_trashing, 1000000);
    pingpong_run(pingpong_thread_trashing, pingpong_fiber_keeping, 1000000);
}

struct floats {
    act__fiber_t thread;
    act__fiber_t fiber;
    int rounds;
    double shared;
    double fiber_sum;
    long double fiber_ext;
};

static void floats_entry(void *arg)
{
    struct floats *fl = arg;
    double x = 0.5;
    double y = -3.25;
    double sum = 0;
    long double ext = 1.0L;

    for (int i = 0; i < fl->rounds; i++) {
        x = x * 1.0000001 + fl->shared;
        y = y / 1.5 + x;
        sum += x * y;
        ext = ext * 1.001L + (long double)y;
        TRASH_CALLEE_SAVED();
        act__fiber_switch(&fl->fiber, &fl->thread);
    }
    fl->fiber_sum = sum;
    fl->fiber_ext = ext;
    act__fiber_exit_to(&fl->fiber, &fl->thread);
}

static void floats_reference(int rounds, double *sum_out, long double *ext_out)
{
    volatile double shared = 0.125; /* the same operations as the fiber, not constant-folded */
    double x = 0.5;
    double y = -3.25;
    double sum = 0;
    long double ext = 1.0L;

    for (int i = 0; i < rounds; i++) {
        x = x * 1.0000001 + shared;
        y = y / 1.5 + x;
        sum += x * y;
        ext = ext * 1.001L + (long double)y;
    }
    *sum_out = sum;
    *ext_out = ext;
}

Test(fiber, floating_point_values_survive_switches, .timeout = TIMEOUT(30))
{
    static struct floats fl = {.rounds = 1000, .shared = 0.125};
    act__stack_pool_t pool;
    double t = 1.0;
    double u = 2.0;

    act__stack_pool_init(&pool, 64 * KiB, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&fl.thread);
    act__fiber_init(&fl.fiber, stack, floats_entry, &fl);

    for (int i = 0; i <= fl.rounds; i++) {
        t = t * 0.999 + 0.25;
        u = u + t / 3.0;
        act__fiber_switch(&fl.thread, &fl.fiber);
    }

    double t_ref = 1.0;
    double u_ref = 2.0;
    for (volatile int i = 0; i <= fl.rounds; i++) {
        t_ref = t_ref * 0.999 + 0.25;
        u_ref = u_ref + t_ref / 3.0;
    }
    double sum_ref;
    long double ext_ref;
    floats_reference(fl.rounds, &sum_ref, &ext_ref);
    cr_assert_eq(t, t_ref);
    cr_assert_eq(u, u_ref);
    cr_assert_eq(fl.fiber_sum, sum_ref);
    cr_assert(fl.fiber_ext == ext_ref);

    act__fiber_deinit(&fl.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

#if defined(__x86_64__)
/* The ABI makes the MXCSR and x87 control words callee-saved, so each context keeps its own
 * rounding mode (AArch64 treats FPCR as thread state, hence x86-64 only). The registers are
 * read directly: fenv.h would need libm, which the test binary does not link. */
#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_UP 0x4000u
#define MXCSR_RC_ZERO 0x6000u
#define X87_RC_MASK 0x0c00u
#define X87_RC_UP 0x0800u
#define X87_RC_ZERO 0x0c00u

struct round_modes {
    unsigned mxcsr;
    unsigned short x87;
};

static struct round_modes get_round_modes(void)
{
    struct round_modes m;

    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(m.mxcsr), "=m"(m.x87));
    m.mxcsr &= MXCSR_RC_MASK;
    m.x87 &= X87_RC_MASK;
    return m;
}

static void set_round_modes(unsigned mxcsr_rc, unsigned short x87_rc)
{
    unsigned mxcsr;
    unsigned short x87;

    __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(x87));
    mxcsr = (mxcsr & ~MXCSR_RC_MASK) | mxcsr_rc;
    x87 = (unsigned short)((x87 & ~X87_RC_MASK) | x87_rc);
    __asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(mxcsr), "m"(x87));
}

/* What the fiber sets before each switch back: both modes unlike the thread's, then only one
 * of them (the switch may skip reloading a register whose control bits match), then none. */
static const struct round_modes fiber_sets[] = {
    {MXCSR_RC_UP, X87_RC_UP},
    {MXCSR_RC_ZERO, X87_RC_UP},
    {MXCSR_RC_UP, X87_RC_ZERO},
    {MXCSR_RC_ZERO, X87_RC_ZERO},
};
#define N_SETS (sizeof fiber_sets / sizeof fiber_sets[0])
static struct round_modes fiber_saw[N_SETS];

static void round_mode_entry(void *arg)
{
    struct floats *fl = arg;

    for (size_t k = 0; k < N_SETS; k++) {
        set_round_modes(fiber_sets[k].mxcsr, fiber_sets[k].x87);
        act__fiber_switch(&fl->fiber, &fl->thread);
        fiber_saw[k] = get_round_modes();
    }
    act__fiber_exit_to(&fl->fiber, &fl->thread);
}

Test(fiber, each_context_keeps_its_rounding_mode, .timeout = TIMEOUT(10))
{
    static struct floats fl;
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 0, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&fl.thread);
    act__fiber_init(&fl.fiber, stack, round_mode_entry, &fl);

    set_round_modes(MXCSR_RC_ZERO, X87_RC_ZERO);
    for (size_t k = 0; k <= N_SETS; k++) {
        act__fiber_switch(&fl.thread, &fl.fiber);
        struct round_modes m = get_round_modes();
        cr_assert_eq(m.mxcsr, MXCSR_RC_ZERO, "step %zu: the fiber's SSE mode leaked", k);
        cr_assert_eq(m.x87, X87_RC_ZERO, "step %zu: the fiber's x87 mode leaked", k);
    }
    for (size_t k = 0; k < N_SETS; k++) {
        cr_assert_eq(fiber_saw[k].mxcsr, fiber_sets[k].mxcsr, "step %zu: fiber lost its SSE mode",
                     k);
        cr_assert_eq(fiber_saw[k].x87, fiber_sets[k].x87, "step %zu: fiber lost its x87 mode", k);
    }

    act__fiber_deinit(&fl.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}
#endif

#define RR_FIBERS 8
#define RR_ROUNDS 1000

struct ring {
    act__fiber_t thread;
    act__fiber_t fibers[RR_FIBERS];
    unsigned char log[RR_FIBERS * RR_ROUNDS];
    size_t logged;
    unsigned exited;
};

static struct ring ring;

static act__fiber_t *ring_next(unsigned id)
{
    return id + 1 < RR_FIBERS ? &ring.fibers[id + 1] : &ring.thread;
}

/* Fiber i hands over straight to fiber i + 1: fiber-to-fiber switches, the last one back to
 * the thread. */
static void ring_entry(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;

    for (int r = 0; r < RR_ROUNDS; r++) {
        if (ring.logged < sizeof ring.log)
            ring.log[ring.logged++] = (unsigned char)id;
        act__fiber_switch(&ring.fibers[id], ring_next(id));
    }
    ring.exited++;
    act__fiber_exit_to(&ring.fibers[id], ring_next(id));
}

Test(fiber, fibers_take_turns_in_a_ring, .timeout = TIMEOUT(30))
{
    act__stack_pool_t pool;
    act__stack_t *stacks[RR_FIBERS];

    act__stack_pool_init(&pool, 32 * KiB, RR_FIBERS);
    act__fiber_init_thread(&ring.thread);
    for (unsigned i = 0; i < RR_FIBERS; i++) {
        stacks[i] = act__stack_get(&pool, 0);
        cr_assert_not_null(stacks[i]);
        act__fiber_init(&ring.fibers[i], stacks[i], ring_entry, (void *)(uintptr_t)i);
    }

    for (int r = 0; r < RR_ROUNDS; r++) {
        act__fiber_switch(&ring.thread, &ring.fibers[0]);
        cr_assert_eq(ring.logged, (size_t)(r + 1) * RR_FIBERS);
    }
    cr_assert_eq(ring.exited, 0);
    act__fiber_switch(&ring.thread, &ring.fibers[0]);
    cr_assert_eq(ring.exited, RR_FIBERS);

    for (size_t i = 0; i < sizeof ring.log; i++)
        cr_assert_eq(ring.log[i], i % RR_FIBERS, "turn %zu went to fiber %u", i, ring.log[i]);

    for (unsigned i = 0; i < RR_FIBERS; i++) {
        act__fiber_deinit(&ring.fibers[i]);
        act__stack_put(&pool, stacks[i]);
    }
    cr_assert_eq(pool.count, RR_FIBERS);
    act__stack_pool_deinit(&pool);
}

struct reuse {
    act__fiber_t thread;
    act__fiber_t fiber;
    int runs;
    int after_exit;
    const char *frame;
    uint64_t result;
};

static void reuse_entry(void *arg)
{
    struct reuse *ru = arg;
    volatile uint64_t scratch[64];

    ru->frame = __builtin_frame_address(0);
    for (int i = 0; i < 64; i++)
        scratch[i] = (uint64_t)(ru->runs + i);
    act__fiber_switch(&ru->fiber, &ru->thread);
    uint64_t sum = 0;
    for (int i = 0; i < 64; i++)
        sum += scratch[i];
    ru->result = sum;
    ru->runs++;
    act__fiber_exit_to(&ru->fiber, &ru->thread);
    ru->after_exit++;
}

static bool in_stack(const act__stack_t *stack, const void *p)
{
    return (const char *)p >= (const char *)stack->lo &&
           (const char *)p < (const char *)stack->lo + stack->size;
}

Test(fiber, exited_fiber_stack_is_reused_by_the_next_fiber, .timeout = TIMEOUT(10))
{
    static struct reuse ru;
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 64 * KiB, 4);
    act__fiber_init_thread(&ru.thread);

    act__stack_t *first = act__stack_get(&pool, 0);
    cr_assert_not_null(first);
    act__stack_put(&pool, first);
    for (int run = 0; run < 3; run++) {
        act__stack_t *stack = act__stack_get(&pool, 0);
        cr_assert_eq(stack, first, "run %d did not get the cached stack back", run);
        cr_assert_eq(pool.count, 0);
        act__fiber_init(&ru.fiber, stack, reuse_entry, &ru);
        act__fiber_switch(&ru.thread, &ru.fiber);
        cr_assert(in_stack(stack, ru.frame), "the fiber ran on another stack");
        cr_assert_eq(ru.runs, run);
        act__fiber_switch(&ru.thread, &ru.fiber);
        cr_assert_eq(ru.runs, run + 1);
        /* sum of run + i for i in 0..63 */
        cr_assert_eq(ru.result, (uint64_t)(64 * run + 63 * 64 / 2));
        act__fiber_deinit(&ru.fiber);
        act__stack_put(&pool, stack);
        cr_assert_eq(pool.count, 1);
    }
    cr_assert_eq(ru.after_exit, 0);
    act__stack_pool_deinit(&pool);
    cr_assert_eq(pool.count, 0);
}

struct abandon {
    act__fiber_t thread;
    act__fiber_t fiber;
    int resumed;
};

static __attribute__((noinline)) void abandon_deep(struct abandon *ab, int depth)
{
    /* Address-taken arrays get redzones in ASan builds: they stay poisoned while suspended. */
    char buf[100];

    snprintf(buf, sizeof buf, "%d", depth);
    if (depth > 0) {
        abandon_deep(ab, depth - 1);
        return;
    }
    act__fiber_switch(&ab->fiber, &ab->thread);
    ab->resumed++; /* never reached: the thread abandons the fiber */
}

static void abandon_entry(void *arg)
{
    struct abandon *ab = arg;

    abandon_deep(ab, 20);
    act__fiber_exit_to(&ab->fiber, &ab->thread);
}

/* The runtime drops a suspended fiber when its actor is killed: its stack goes back to the
 * pool with live frames on it, and the next fiber must not inherit anything from them. */
Test(fiber, suspended_fiber_can_be_abandoned_and_its_stack_reused, .timeout = TIMEOUT(10))
{
    static struct abandon ab;
    static struct pingpong pp;
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 64 * KiB, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&ab.thread);
    act__fiber_init(&ab.fiber, stack, abandon_entry, &ab);
    act__fiber_switch(&ab.thread, &ab.fiber);
    act__fiber_deinit(&ab.fiber);
    act__stack_put(&pool, stack);

    cr_assert_eq(act__stack_get(&pool, 0), stack);
    pp = (struct pingpong){.rounds = 1000};
    act__fiber_init_thread(&pp.thread);
    act__fiber_init(&pp.fiber, stack, pingpong_fiber_keeping, &pp);
#ifdef DYN_ASAN
    cr_assert_null(__asan_region_is_poisoned(stack->lo, stack->size),
                   "the abandoned fiber's redzones are still poisoned");
#endif
    cr_assert_eq(pingpong_thread_trashing(&pp), mix_reference(0, 1000));
    act__fiber_switch(&pp.thread, &pp.fiber);
    cr_assert(pp.done);
    cr_assert_eq(pp.bad_tokens, 0);
    cr_assert_eq(pp.fiber_mix, mix_reference(100, 1000));
    cr_assert_eq(ab.resumed, 0);

    act__fiber_deinit(&pp.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

static bool is_mapped(const void *addr)
{
    unsigned char vec;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

    return mincore((void *)((uintptr_t)addr & ~(page - 1)), 1, &vec) == 0;
}

Test(fiber, pool_caches_at_most_max_and_unmaps_the_rest, .timeout = TIMEOUT(10))
{
    act__stack_pool_t pool;
    act__stack_t *stacks[4];
    void *lo[4];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    act__stack_pool_init(&pool, 32 * KiB, 2);
    cr_assert_eq(pool.stack_size, act__stack_round(32 * KiB));
    for (int i = 0; i < 4; i++) {
        stacks[i] = act__stack_get(&pool, 0);
        cr_assert_not_null(stacks[i]);
        lo[i] = stacks[i]->lo;
        cr_assert_eq(stacks[i]->size, pool.stack_size);
        cr_assert_eq((char *)stacks[i]->lo, (char *)stacks[i]->map + page);
        cr_assert_eq(stacks[i]->map_size, stacks[i]->size + page);
        cr_assert(in_stack(stacks[i], stacks[i]), "the header lives in the stack's top");
        for (int j = 0; j < i; j++)
            cr_assert_neq(stacks[i], stacks[j]);
    }

    for (int i = 0; i < 4; i++)
        act__stack_put(&pool, stacks[i]);
    cr_assert_eq(pool.count, 2);
    cr_assert(is_mapped(lo[0]));
    cr_assert(is_mapped(lo[1]));
    cr_assert_not(is_mapped(lo[2]), "a stack past max stayed mapped");
    cr_assert_not(is_mapped(lo[3]), "a stack past max stayed mapped");

    /* LIFO: the most recently returned (likely still cached) stack comes back first. */
    cr_assert_eq(act__stack_get(&pool, 0), stacks[1]);
    cr_assert_eq(act__stack_get(&pool, 32 * KiB), stacks[0]);
    cr_assert_eq(pool.count, 0);
    act__stack_put(&pool, stacks[0]);
    act__stack_put(&pool, stacks[1]);

    /* Another size is mapped for the occasion and never cached, even with room left. */
    act__stack_t *spare = act__stack_get(&pool, 0);
    cr_assert_eq(pool.count, 1);
    act__stack_t *big = act__stack_get(&pool, 128 * KiB);
    cr_assert_not_null(big);
    cr_assert_eq(big->size, 128 * KiB);
    cr_assert_eq(pool.count, 1);
    void *big_lo = big->lo;
    act__stack_put(&pool, big);
    cr_assert_eq(pool.count, 1);
    cr_assert_not(is_mapped(big_lo), "a stack of another size was cached");
    act__stack_put(&pool, spare);

    act__stack_pool_deinit(&pool);
    cr_assert_eq(pool.count, 0);
    cr_assert_null(pool.free);
    cr_assert_not(is_mapped(lo[0]), "deinit left a cached stack mapped");
    cr_assert_not(is_mapped(lo[1]), "deinit left a cached stack mapped");
}

Test(fiber, pool_with_max_0_caches_nothing, .timeout = TIMEOUT(10))
{
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 0, 0);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    void *lo = stack->lo;
    act__stack_put(&pool, stack);
    cr_assert_eq(pool.count, 0);
    cr_assert_not(is_mapped(lo));
    act__stack_pool_deinit(&pool);
}

Test(fiber, get_reports_mmap_failure, .timeout = TIMEOUT(10))
{
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 0, 1);
    errno = 0;
    cr_assert_null(act__stack_get(&pool, SIZE_MAX / 2));
    cr_assert_eq(errno, ENOMEM);
    errno = 0;
    cr_assert_null(act__stack_get(&pool, SIZE_MAX));
    cr_assert_eq(errno, ENOMEM);
    act__stack_pool_deinit(&pool);
}

Test(fiber, guard_page_below_the_stack_is_inaccessible, .timeout = TIMEOUT(10))
{
    act__stack_pool_t pool;
    char line[512];
    bool found = false;

    act__stack_pool_init(&pool, 0, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    FILE *maps = fopen("/proc/self/maps", "r");
    cr_assert_not_null(maps);
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long start;
        unsigned long end;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3)
            continue;
        if (start == (uintptr_t)stack->map) {
            found = true;
            cr_assert_eq(end, (uintptr_t)stack->lo, "guard is not exactly [map, lo)");
            cr_assert_str_eq(perms, "---p");
        }
    }
    fclose(maps);
    cr_assert(found, "no mapping starts at the stack's guard page");
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

struct overflow {
    act__fiber_t thread;
    act__fiber_t fiber;
};

static volatile int never = -1;
static char *guard_lo;
static char *guard_hi;

static __attribute__((noinline)) int recurse_forever(int depth)
{
    volatile char buf[512];

    buf[0] = (char)depth;
    buf[sizeof buf - 1] = (char)depth;
    if (depth == never) /* never true; keeps -Winfinite-recursion quiet */
        return 0;
    return recurse_forever(depth + 1) + buf[0] + buf[sizeof buf - 1];
}

static void overflow_entry(void *arg)
{
    struct overflow *ov = arg;

    recurse_forever(0);
    act__fiber_exit_to(&ov->fiber, &ov->thread);
}

/* Runs on the alternate stack (the fiber's is exhausted): a fault inside the guard page is
 * the expected one, so fall back to the default action and let the faulting instruction kill
 * the process with SIGSEGV; any other fault fails the test with a plain exit. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    char *addr = si->si_addr;

    if (addr >= guard_lo && addr < guard_hi) {
        signal(sig, SIG_DFL);
        return;
    }
    _exit(3);
}

#ifdef DYN_ASAN
#define GUARD_TEST_DISABLED true /* ASan reports the overflow itself and exits */
#else
#define GUARD_TEST_DISABLED false
#endif

Test(fiber, stack_overflow_faults_in_the_guard_page, .signal = SIGSEGV,
     .disabled = GUARD_TEST_DISABLED, .timeout = TIMEOUT(10))
{
    static char altstack[64 * 1024];
    static struct overflow ov;
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 16 * KiB, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    guard_lo = stack->map;
    guard_hi = stack->lo;

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    cr_assert_eq(sigaltstack(&ss, NULL), 0);
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);

    act__fiber_init_thread(&ov.thread);
    act__fiber_init(&ov.fiber, stack, overflow_entry, &ov);
    act__fiber_switch(&ov.thread, &ov.fiber);
    cr_assert_fail("the fiber overflowed its stack without faulting");
}

struct deep {
    act__fiber_t thread;
    act__fiber_t fiber;
    const char *floor;
    const char *deepest;
    unsigned depth;
    size_t corrupted;
};

static struct deep deep;

/* Fills a frame, recurses until the frames reach `floor`, then checks on the way back that
 * every frame still holds what it wrote. */
static __attribute__((noinline)) size_t dig(unsigned depth)
{
    volatile unsigned char buf[200];
    const char *frame = __builtin_frame_address(0);
    size_t bad = 0;

    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(depth * 7 + i);
    if (frame > deep.floor) {
        bad = dig(depth + 1);
    } else {
        deep.deepest = frame;
        deep.depth = depth;
    }
    for (size_t i = 0; i < sizeof buf; i++)
        bad += buf[i] != (unsigned char)(depth * 7 + i);
    return bad;
}

static void deep_entry(void *arg)
{
    (void)arg;
    deep.corrupted = dig(0);
    act__fiber_exit_to(&deep.fiber, &deep.thread);
}

Test(fiber, recursion_can_use_most_of_a_64k_stack, .timeout = TIMEOUT(10))
{
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 64 * KiB, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    cr_assert_eq(stack->size, 64 * KiB);
    /* 3 KiB left for the deepest frame, and for the sanitizers' hooks it calls. */
    deep.floor = (const char *)stack->lo + 3 * KiB;

    act__fiber_init_thread(&deep.thread);
    act__fiber_init(&deep.fiber, stack, deep_entry, NULL);
    act__fiber_switch(&deep.thread, &deep.fiber);

    cr_assert_eq(deep.corrupted, 0);
    cr_assert(in_stack(stack, deep.deepest));
    size_t used = (size_t)((const char *)stack->lo + stack->size - deep.deepest);
    cr_assert_geq(used, 60 * KiB, "only %zu bytes used (depth %u)", used, deep.depth);

    act__fiber_deinit(&deep.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

struct align {
    act__fiber_t thread;
    act__fiber_t fiber;
    uintptr_t frame;
    uintptr_t probe;
};

static __attribute__((noinline)) void align_probe(struct align *al)
{
    _Alignas(16) volatile unsigned char probe[16];

    probe[0] = 1;
    al->probe = (uintptr_t)probe;
    al->frame = (uintptr_t)__builtin_frame_address(0);
}

static void align_entry(void *arg)
{
    struct align *al = arg;

    align_probe(al);
    act__fiber_exit_to(&al->fiber, &al->thread);
}

/* The compiler trusts the ABI's 16-byte alignment (SSE spills, _Alignas(16) locals) without
 * checking: a fresh fiber must start with it. */
Test(fiber, new_fiber_starts_with_an_aligned_stack, .timeout = TIMEOUT(10))
{
    static struct align al;
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 0, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&al.thread);
    act__fiber_init(&al.fiber, stack, align_entry, &al);
    act__fiber_switch(&al.thread, &al.fiber);

    cr_assert_eq(al.probe % 16, 0, "probe at %#lx", (unsigned long)al.probe);
    cr_assert_eq(al.frame % 16, 0, "frame at %#lx", (unsigned long)al.frame);
    cr_assert(in_stack(stack, (void *)al.frame));

    act__fiber_deinit(&al.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}

Test(fiber, stack_round_gives_whole_pages_of_at_least_16k)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t min = 16 * KiB > page ? 16 * KiB : page;

    cr_assert_eq(act__stack_round(0), min);
    cr_assert_eq(act__stack_round(1), min);
    cr_assert_eq(act__stack_round(16 * KiB - 1), min);
    cr_assert_eq(act__stack_round(16 * KiB), min);
    cr_assert_eq(act__stack_round(64 * KiB), 64 * KiB);
    cr_assert_eq(act__stack_round(64 * KiB + 1), 64 * KiB + page);
    cr_assert_eq(act__stack_round(1024 * KiB - page + 1), 1024 * KiB);
    for (size_t n = 0; n < 256 * KiB; n += 997) {
        size_t r = act__stack_round(n);
        cr_assert_eq(r % page, 0, "round(%zu) = %zu", n, r);
        cr_assert_geq(r, n);
        cr_assert_geq(r, 16 * KiB);
        cr_assert_lt(r - n, n < 16 * KiB ? 16 * KiB + page : page, "round(%zu) = %zu", n, r);
    }
    size_t huge = act__stack_round(SIZE_MAX);
    cr_assert_eq(huge % page, 0, "must saturate, not wrap");
    cr_assert_gt(huge, SIZE_MAX / 2);
}

#ifdef DYN_TSAN
struct tsan_probe {
    act__fiber_t thread;
    act__fiber_t fiber;
    void *seen_in_fiber;
};

static void tsan_probe_entry(void *arg)
{
    struct tsan_probe *tp = arg;

    tp->seen_in_fiber = __tsan_get_current_fiber();
    act__fiber_exit_to(&tp->fiber, &tp->thread);
}

/* Without the annotations TSan would attribute a fiber's accesses to whatever ran before it
 * on the thread and mix up their call stacks. */
Test(fiber, tsan_is_told_which_fiber_runs, .timeout = TIMEOUT(10))
{
    static struct tsan_probe tp;
    act__stack_pool_t pool;
    void *outside = __tsan_get_current_fiber();

    act__stack_pool_init(&pool, 0, 1);
    act__stack_t *stack = act__stack_get(&pool, 0);
    cr_assert_not_null(stack);
    act__fiber_init_thread(&tp.thread);
    cr_assert_eq(tp.thread.tsan_fiber, outside);
    act__fiber_init(&tp.fiber, stack, tsan_probe_entry, &tp);
    cr_assert_not_null(tp.fiber.tsan_fiber);
    cr_assert_neq(tp.fiber.tsan_fiber, outside);
    act__fiber_switch(&tp.thread, &tp.fiber);
    cr_assert_eq(tp.seen_in_fiber, tp.fiber.tsan_fiber);
    cr_assert_eq(__tsan_get_current_fiber(), outside);

    act__fiber_deinit(&tp.fiber);
    act__stack_put(&pool, stack);
    act__stack_pool_deinit(&pool);
}
#endif

#define MT_THREADS 2
#define MT_FIBERS 4
#define MT_ROUNDS 50000

struct mt_fiber {
    act__fiber_t fiber;
    struct mt_thread *owner;
    uint64_t seed;
    uint64_t mix;
    uint64_t bad_tokens;
};

struct mt_thread {
    pthread_t tid;
    act__fiber_t self;
    act__stack_pool_t pool;
    struct mt_fiber fibers[MT_FIBERS];
    uint64_t token;
    uint64_t bad_tokens;
    int failed; /* 1: a fiber's locals changed, 2: the thread's */
};

static void mt_entry(void *arg)
{
    struct mt_fiber *mf = arg;
    struct mt_thread *mt = mf->owner;
    struct mix m = mix_seed(mf->seed);

    for (uint64_t i = 0; i < MT_ROUNDS; i++) {
        if (mt->token != i)
            mf->bad_tokens++;
        mix_step(&m, i);
        act__fiber_switch(&mf->fiber, &mt->self);
    }
    mf->mix = mix_fold(m);
    act__fiber_exit_to(&mf->fiber, &mt->self);
}

/* Each thread runs its own pool and fibers round-robin; a second generation of fibers reuses
 * the first one's stacks. */
static void *mt_thread_main(void *arg)
{
    struct mt_thread *mt = arg;

    act__stack_pool_init(&mt->pool, 32 * KiB, MT_FIBERS);
    act__fiber_init_thread(&mt->self);
    for (int gen = 0; gen < 2; gen++) {
        act__stack_t *stacks[MT_FIBERS];
        for (int f = 0; f < MT_FIBERS; f++) {
            stacks[f] = act__stack_get(&mt->pool, 0);
            if (stacks[f] == NULL) {
                mt->failed = 1;
                return NULL;
            }
            mt->fibers[f] = (struct mt_fiber){.owner = mt, .seed = (uint64_t)(gen * 100 + f)};
            act__fiber_init(&mt->fibers[f].fiber, stacks[f], mt_entry, &mt->fibers[f]);
        }
        struct mix m = mix_seed(7);
        for (uint64_t i = 0; i <= MT_ROUNDS; i++) {
            mt->token = i;
            for (int f = 0; f < MT_FIBERS; f++)
                act__fiber_switch(&mt->self, &mt->fibers[f].fiber);
            mix_step(&m, i);
        }
        if (mix_fold(m) != mix_reference(7, MT_ROUNDS + 1))
            mt->failed = 2;
        for (int f = 0; f < MT_FIBERS; f++) {
            if (mt->fibers[f].mix != mix_reference(mt->fibers[f].seed, MT_ROUNDS))
                mt->failed = 1;
            mt->bad_tokens += mt->fibers[f].bad_tokens;
            act__fiber_deinit(&mt->fibers[f].fiber);
            act__stack_put(&mt->pool, stacks[f]);
        }
    }
    act__fiber_deinit_thread(&mt->self);
    act__stack_pool_deinit(&mt->pool);
    return NULL;
}

Test(fiber, two_threads_switch_their_own_fibers_at_once, .timeout = TIMEOUT(60))
{
    static struct mt_thread threads[MT_THREADS];

    for (int t = 0; t < MT_THREADS; t++)
        cr_assert_eq(pthread_create(&threads[t].tid, NULL, mt_thread_main, &threads[t]), 0);
    for (int t = 0; t < MT_THREADS; t++)
        cr_assert_eq(pthread_join(threads[t].tid, NULL), 0);
    for (int t = 0; t < MT_THREADS; t++) {
        cr_assert_eq(threads[t].failed, 0, "thread %d: failure %d", t, threads[t].failed);
        cr_assert_eq(threads[t].bad_tokens, 0, "thread %d", t);
    }
}
