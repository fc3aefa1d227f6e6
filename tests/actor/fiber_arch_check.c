/*
 * Standalone check of the fiber switch for a target the build machine cannot run natively
 * (not part of ctest, no Criterion): a plain main() exercising the switch, callee-saved
 * registers (x19-x28, d8-d15 on AArch64), floating point, exit and stack reuse, a ring of
 * fibers and two threads at once. Prints "fiber_arch_check: ok" or aborts. For AArch64, from
 * the repository root on an x86-64 Debian 12 host:
 *
 *   apt-get install gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross
 *   aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -Iactor/src -Iactor/include \
 *       -o /tmp/fiber_arch_check tests/actor/fiber_arch_check.c actor/src/fiber.c \
 *       actor/src/fiber_aarch64.S -lpthread
 *   qemu-aarch64 -L /usr/aarch64-linux-gnu /tmp/fiber_arch_check
 *
 * Natively, use fiber_x86_64.S (or fiber_ucontext.c with -DACT__FIBER_UCONTEXT=1) instead.
 * It links fiber.c without the rest of the library, so it brings its own act__fatal().
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor/mem.h"
#include "fiber_int.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define KiB ((size_t)1024)

void act__fatal(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* See fiber_test.c: a function using this keeps none of its own values in these registers, so
 * it is paired with a side that keeps its values in them. */
#if defined(__aarch64__)
#define TRASH_CALLEE_SAVED()                                                                       \
    __asm__ volatile("mov x19, #-1\n\tmov x20, #-2\n\tmov x21, #-3\n\tmov x22, #-4\n\t"            \
                     "mov x23, #-5\n\tmov x24, #-6\n\tmov x25, #-7\n\tmov x26, #-8\n\t"            \
                     "mov x27, #-9\n\tmov x28, #-10\n\t"                                           \
                     "fmov d8, #-1.0\n\tfmov d9, #-2.0\n\tfmov d10, #-3.0\n\tfmov d11, #-4.0\n\t"  \
                     "fmov d12, #-5.0\n\tfmov d13, #-6.0\n\tfmov d14, #-7.0\n\tfmov d15, #-8.0" :: \
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",   \
                           "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15")
#elif defined(__x86_64__)
#define TRASH_CALLEE_SAVED()                                                                       \
    __asm__ volatile("movq $-1, %%rbx\n\tmovq $-2, %%r12\n\tmovq $-3, %%r13\n\t"                   \
                     "movq $-4, %%r14\n\tmovq $-5, %%r15" ::                                       \
                         : "rbx", "r12", "r13", "r14", "r15")
#else
#define TRASH_CALLEE_SAVED() ((void)0)
#endif

static uint64_t rotl(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

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
    uint64_t token;
    uint64_t fiber_mix;
    double fiber_fp;
    bool done;
};

/* Integer accumulators and doubles live across every switch (on AArch64 the compiler keeps
 * doubles that survive a call in d8-d15). */
#define PINGPONG_THREAD(name, TRASH)                                                               \
    static __attribute__((noinline)) uint64_t name(struct pingpong *pp, double *fp)                \
    {                                                                                              \
        struct mix m = mix_seed(0);                                                                \
        double x = 1.0;                                                                            \
        double y = 0.5;                                                                            \
                                                                                                   \
        for (uint64_t i = 0; i < pp->rounds; i++) {                                                \
            pp->token = 2 * i + 1;                                                                 \
            mix_step(&m, i);                                                                       \
            x = x * 1.0000001 + y;                                                                 \
            y = y * 0.999 + 0.25;                                                                  \
            TRASH;                                                                                 \
            act__fiber_switch(&pp->thread, &pp->fiber);                                            \
            CHECK(pp->token == 2 * i + 2);                                                         \
        }                                                                                          \
        *fp = x + y;                                                                               \
        return mix_fold(m);                                                                        \
    }

#define PINGPONG_FIBER(name, TRASH)                                                                \
    static void name(void *arg)                                                                    \
    {                                                                                              \
        struct pingpong *pp = arg;                                                                 \
        struct mix m = mix_seed(100);                                                              \
        double x = 1.0;                                                                            \
        double y = 0.5;                                                                            \
                                                                                                   \
        for (uint64_t i = 0; i < pp->rounds; i++) {                                                \
            CHECK(pp->token == 2 * i + 1);                                                         \
            pp->token++;                                                                           \
            mix_step(&m, i);                                                                       \
            x = x * 1.0000001 + y;                                                                 \
            y = y * 0.999 + 0.25;                                                                  \
            TRASH;                                                                                 \
            act__fiber_switch(&pp->fiber, &pp->thread);                                            \
        }                                                                                          \
        pp->fiber_mix = mix_fold(m);                                                               \
        pp->fiber_fp = x + y;                                                                      \
        pp->done = true;                                                                           \
        act__fiber_exit_to(&pp->fiber, &pp->thread);                                               \
    }

PINGPONG_THREAD(pingpong_thread_keeping, (void)0)
PINGPONG_THREAD(pingpong_thread_trashing, TRASH_CALLEE_SAVED())
PINGPONG_FIBER(pingpong_fiber_keeping, (void)0)
PINGPONG_FIBER(pingpong_fiber_trashing, TRASH_CALLEE_SAVED())

static double fp_reference(uint64_t rounds)
{
    volatile double one = 1.0; /* the same operations, not constant-folded */
    double x = one;
    double y = 0.5;

    for (uint64_t i = 0; i < rounds; i++) {
        x = x * 1.0000001 + y;
        y = y * 0.999 + 0.25;
    }
    return x + y;
}

/* Runs a ping-pong on a stack from `pool` and returns the stack to it. */
static void pingpong_run(act__stack_pool_t *pool,
                         uint64_t (*thread_loop)(struct pingpong *, double *),
                         void (*fiber_entry)(void *), uint64_t rounds)
{
    /* On this thread's stack: two threads run ping-pongs at once. */
    struct pingpong pp = {.rounds = rounds};
    double thread_fp;

    act__stack_t *stack = act__stack_get(pool, 0);
    CHECK(stack != NULL);
    act__fiber_init_thread(&pp.thread);
    act__fiber_init(&pp.fiber, stack, fiber_entry, &pp);

    uint64_t thread_mix = thread_loop(&pp, &thread_fp);
    CHECK(!pp.done);
    act__fiber_switch(&pp.thread, &pp.fiber);
    CHECK(pp.done);
    CHECK(thread_mix == mix_reference(0, rounds));
    CHECK(pp.fiber_mix == mix_reference(100, rounds));
    CHECK(thread_fp == fp_reference(rounds));
    CHECK(pp.fiber_fp == fp_reference(rounds));

    act__fiber_deinit(&pp.fiber);
    act__fiber_deinit_thread(&pp.thread);
    act__stack_put(pool, stack);
}

/* The most direct check: switch_and_dump() loads seed-derived values into every callee-saved
 * register, switches, and stores what the registers hold once it is switched back to. Both
 * sides do it with different seeds, so a register the switch fails to restore shows up as the
 * other side's value. */
#if defined(__aarch64__)
#define DUMP_REGS 18 /* x19..x28, then d8..d15 as raw bits */
__asm__(".text\n"
        ".p2align 2\n"
        ".type switch_and_dump, %function\n"
        "switch_and_dump:\n" /* x0 from, x1 to, x2 out, x3 seed */
        "  stp x29, x30, [sp, #-176]!\n"
        "  mov x29, sp\n"
        "  stp x19, x20, [sp, #16]\n"
        "  stp x21, x22, [sp, #32]\n"
        "  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n"
        "  stp x27, x28, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  str x2, [sp, #160]\n"
        "  add x19, x3, #19\n  add x20, x3, #20\n  add x21, x3, #21\n  add x22, x3, #22\n"
        "  add x23, x3, #23\n  add x24, x3, #24\n  add x25, x3, #25\n  add x26, x3, #26\n"
        "  add x27, x3, #27\n  add x28, x3, #28\n"
        "  add x9, x3, #8\n  ucvtf d8, x9\n  add x9, x3, #9\n  ucvtf d9, x9\n"
        "  add x9, x3, #10\n  ucvtf d10, x9\n  add x9, x3, #11\n  ucvtf d11, x9\n"
        "  add x9, x3, #12\n  ucvtf d12, x9\n  add x9, x3, #13\n  ucvtf d13, x9\n"
        "  add x9, x3, #14\n  ucvtf d14, x9\n  add x9, x3, #15\n  ucvtf d15, x9\n"
        "  bl act__fiber_switch\n"
        "  ldr x2, [sp, #160]\n"
        "  stp x19, x20, [x2, #0]\n"
        "  stp x21, x22, [x2, #16]\n"
        "  stp x23, x24, [x2, #32]\n"
        "  stp x25, x26, [x2, #48]\n"
        "  stp x27, x28, [x2, #64]\n"
        "  stp d8, d9, [x2, #80]\n"
        "  stp d10, d11, [x2, #96]\n"
        "  stp d12, d13, [x2, #112]\n"
        "  stp d14, d15, [x2, #128]\n"
        "  ldp x19, x20, [sp, #16]\n"
        "  ldp x21, x22, [sp, #32]\n"
        "  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n"
        "  ldp x27, x28, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  ldp x29, x30, [sp], #176\n"
        "  ret\n"
        ".size switch_and_dump, .-switch_and_dump\n");

static void check_dump(const uint64_t *out, uint64_t seed)
{
    for (int k = 0; k < 10; k++)
        CHECK(out[k] == seed + 19 + (uint64_t)k);
    for (int k = 0; k < 8; k++) {
        double want = (double)(seed + 8 + (uint64_t)k);
        uint64_t bits;
        memcpy(&bits, &want, sizeof bits);
        CHECK(out[10 + k] == bits);
    }
}
#elif defined(__x86_64__)
#define DUMP_REGS 6 /* rbx, rbp, r12..r15 */
__asm__(".text\n"
        ".p2align 4\n"
        ".type switch_and_dump, @function\n"
        "switch_and_dump:\n" /* rdi from, rsi to, rdx out, rcx seed */
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  pushq %rdx\n" /* also realigns rsp to 16 for the call */
        "  leaq 1(%rcx), %rbx\n  leaq 2(%rcx), %rbp\n  leaq 3(%rcx), %r12\n"
        "  leaq 4(%rcx), %r13\n  leaq 5(%rcx), %r14\n  leaq 6(%rcx), %r15\n"
        "  call act__fiber_switch\n"
        "  popq %rdx\n"
        "  movq %rbx, 0(%rdx)\n  movq %rbp, 8(%rdx)\n  movq %r12, 16(%rdx)\n"
        "  movq %r13, 24(%rdx)\n  movq %r14, 32(%rdx)\n  movq %r15, 40(%rdx)\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size switch_and_dump, .-switch_and_dump\n");

static void check_dump(const uint64_t *out, uint64_t seed)
{
    for (int k = 0; k < DUMP_REGS; k++)
        CHECK(out[k] == seed + 1 + (uint64_t)k);
}
#endif

#ifdef DUMP_REGS
void switch_and_dump(act__fiber_t *from, act__fiber_t *to, uint64_t *out, uint64_t seed);

#define DUMP_ROUNDS 10000

static act__fiber_t dump_thread;
static act__fiber_t dump_fiber;

static void dump_entry(void *arg)
{
    uint64_t out[DUMP_REGS];

    (void)arg;
    for (uint64_t i = 0; i < DUMP_ROUNDS; i++) {
        switch_and_dump(&dump_fiber, &dump_thread, out, 0x200000 + (i << 8));
        check_dump(out, 0x200000 + (i << 8));
    }
    act__fiber_exit_to(&dump_fiber, &dump_thread);
}

static void check_registers(act__stack_pool_t *pool)
{
    uint64_t out[DUMP_REGS];
    act__stack_t *stack = act__stack_get(pool, 0);

    CHECK(stack != NULL);
    act__fiber_init_thread(&dump_thread);
    act__fiber_init(&dump_fiber, stack, dump_entry, NULL);
    for (uint64_t i = 0; i < DUMP_ROUNDS; i++) {
        switch_and_dump(&dump_thread, &dump_fiber, out, 0x100000 + (i << 8));
        check_dump(out, 0x100000 + (i << 8));
    }
    act__fiber_switch(&dump_thread, &dump_fiber);
    act__fiber_deinit(&dump_fiber);
    act__stack_put(pool, stack);
}
#else
static void check_registers(act__stack_pool_t *pool)
{
    (void)pool;
}
#endif

#define RING 5
#define RING_ROUNDS 1000

static act__fiber_t ring_thread;
static act__fiber_t ring_fibers[RING];
static unsigned ring_log[RING * RING_ROUNDS];
static size_t ring_logged;
static uintptr_t ring_frames[RING];

static act__fiber_t *ring_next(unsigned id)
{
    return id + 1 < RING ? &ring_fibers[id + 1] : &ring_thread;
}

static void ring_entry(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;

    /* AAPCS64 and SysV both want 16-byte alignment; the frame address shows it. */
    ring_frames[id] = (uintptr_t)__builtin_frame_address(0);
    for (int r = 0; r < RING_ROUNDS; r++) {
        ring_log[ring_logged++] = id;
        act__fiber_switch(&ring_fibers[id], ring_next(id));
    }
    act__fiber_exit_to(&ring_fibers[id], ring_next(id));
}

static void check_ring(act__stack_pool_t *pool)
{
    act__stack_t *stacks[RING];

    act__fiber_init_thread(&ring_thread);
    for (unsigned i = 0; i < RING; i++) {
        stacks[i] = act__stack_get(pool, 0);
        CHECK(stacks[i] != NULL);
        act__fiber_init(&ring_fibers[i], stacks[i], ring_entry, (void *)(uintptr_t)i);
    }
    for (int r = 0; r <= RING_ROUNDS; r++)
        act__fiber_switch(&ring_thread, &ring_fibers[0]);
    CHECK(ring_logged == RING * RING_ROUNDS);
    for (size_t i = 0; i < ring_logged; i++)
        CHECK(ring_log[i] == i % RING);
    for (unsigned i = 0; i < RING; i++) {
        CHECK(ring_frames[i] % 16 == 0);
        CHECK(ring_frames[i] > (uintptr_t)stacks[i]->lo);
        CHECK(ring_frames[i] < (uintptr_t)stacks[i]->lo + stacks[i]->size);
        act__fiber_deinit(&ring_fibers[i]);
        act__stack_put(pool, stacks[i]);
    }
}

static void *thread_main(void *arg)
{
    act__stack_pool_t pool;

    (void)arg;
    act__stack_pool_init(&pool, 32 * KiB, 2);
    for (int i = 0; i < 4; i++)
        pingpong_run(&pool, pingpong_thread_keeping, pingpong_fiber_trashing, 20000);
    act__stack_pool_deinit(&pool);
    return NULL;
}

int main(void)
{
    act__stack_pool_t pool;

    act__stack_pool_init(&pool, 64 * KiB, 2);
    CHECK(pool.stack_size == 64 * KiB);

    pingpong_run(&pool, pingpong_thread_keeping, pingpong_fiber_trashing, 1000000);
    CHECK(pool.count == 1);
    act__stack_t *reused = pool.free;
    /* The stack of the fiber that exited comes back for the next one. */
    pingpong_run(&pool, pingpong_thread_trashing, pingpong_fiber_keeping, 1000000);
    CHECK(pool.count == 1 && pool.free == reused);

    check_registers(&pool);
    check_ring(&pool);
    CHECK(pool.count == 2);
    act__stack_pool_deinit(&pool);
    CHECK(pool.count == 0 && pool.free == NULL);

    /* Ping-pong on two threads at once, each with its own pool and fibers. */
    pthread_t t1;
    pthread_t t2;
    CHECK(pthread_create(&t1, NULL, thread_main, NULL) == 0);
    CHECK(pthread_create(&t2, NULL, thread_main, NULL) == 0);
    CHECK(pthread_join(t1, NULL) == 0);
    CHECK(pthread_join(t2, NULL) == 0);

    puts("fiber_arch_check: ok");
    return 0;
}
