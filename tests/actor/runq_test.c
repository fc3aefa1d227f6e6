/*
 * Run queues (actor/src/runq_int.h): the ck_ring (single producer, many consumers) a scheduler
 * owns and idle peers steal from, and the global overflow queue. Full and empty, FIFO across
 * wrap-around, and a threaded validation (an owner pushing and popping while thieves pop: every
 * item is taken exactly once).
 */
#include <stdlib.h>

#include "runq_int.h"
#include "test_util.h"

TestSuite(runq, .timeout = TMO(30));

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))
#define INDEX(p) ((uintptr_t)(p)-1)

Test(runq, push_fails_when_full_and_pop_returns_null_when_empty)
{
    act__runq_t q;
    cr_assert_eq(act__runq_init(&q, 8), 0);
    cr_assert_eq(act__runq_capacity(&q), 7u, "ck keeps one of the 8 slots free");
    cr_assert_null(act__runq_pop(&q));
    cr_assert_eq(act__runq_size(&q), 0u);
    for (uintptr_t i = 0; i < 7; i++)
        cr_assert(act__runq_push(&q, ITEM(i)), "push %zu of 7", (size_t)i);
    cr_assert_not(act__runq_push(&q, ITEM(7)), "a full ring refuses");
    cr_assert_eq(act__runq_size(&q), 7u);
    for (uintptr_t i = 0; i < 7; i++)
        cr_assert_eq(act__runq_pop(&q), ITEM(i));
    cr_assert_null(act__runq_pop(&q));
    cr_assert_eq(act__runq_size(&q), 0u);
    act__runq_deinit(&q);
}

Test(runq, stays_fifo_across_many_wrap_arounds)
{
    act__runq_t q;
    cr_assert_eq(act__runq_init(&q, 16), 0);
    uintptr_t in = 0, out = 0;
    /* Uneven push/pop rounds so every cell is reused at many offsets. */
    for (int round = 0; round < 1000; round++) {
        int pushes = 1 + round % 7, pops = 1 + (round * 5) % 6;
        for (int i = 0; i < pushes; i++) {
            if (act__runq_push(&q, ITEM(in)))
                in++;
            else
                cr_assert_eq(in - out, 15u, "refused a push with %zu of 15 used",
                             (size_t)(in - out));
        }
        for (int i = 0; i < pops; i++) {
            void *p = act__runq_pop(&q);
            if (!p) {
                cr_assert_eq(in, out, "empty with %zu items in", (size_t)(in - out));
                break;
            }
            cr_assert_eq(INDEX(p), out);
            out++;
        }
        cr_assert_eq(act__runq_size(&q), in - out);
    }
    act__runq_deinit(&q);
}

static act__gchunk_t *chunk_of(uintptr_t first, uint32_t n)
{
    act__gchunk_t *c = act__gchunk_new();
    for (uint32_t i = 0; i < n; i++)
        c->items[c->n++] = ITEM(first + i);
    return c;
}

Test(runq, global_queue_hands_out_chunks_in_order)
{
    act__globq_t g;
    act__globq_init(&g);
    cr_assert_null(act__globq_take(&g));
    act__globq_push(&g, chunk_of(0, 6));
    act__globq_push(&g, chunk_of(6, 4));
    cr_assert_eq(act__globq_len(&g), 10u);
    act__gchunk_t *c = act__globq_take(&g);
    cr_assert_not_null(c);
    cr_assert_eq(act__globq_len(&g), 4u);
    /* Consume part of it and put the rest back in front: it comes out first again. */
    cr_assert_eq(c->items[c->head++], ITEM(0));
    cr_assert_eq(c->items[c->head++], ITEM(1));
    act__globq_push_front(&g, c);
    cr_assert_eq(act__globq_len(&g), 8u);
    uintptr_t want = 2;
    while ((c = act__globq_take(&g))) {
        for (; c->head < c->n; c->head++)
            cr_assert_eq(c->items[c->head], ITEM(want++));
        act_free(c);
    }
    cr_assert_eq(want, 10u);
    cr_assert_eq(act__globq_len(&g), 0u);
    /* Chunks still queued at deinit are freed with it (checked by ASan's leak report). */
    act__globq_push(&g, chunk_of(0, 3));
    act__globq_deinit(&g);
}

/* ---- threaded validation -------------------------------------------------------------------- */

#define THIEVES 2
static const size_t n_items = TU_SCALED(2000000, 300000);

typedef struct {
    act__runq_t q;
    _Atomic uint8_t *taken; /* per item: times popped */
    _Atomic bool done;
    _Atomic uint64_t by_thieves;
    uint64_t by_owner;
} shared_t;

static void take(shared_t *s, void *p)
{
    uintptr_t i = INDEX(p);
    if (!TU_CHECK(i < n_items))
        return;
    atomic_fetch_add_explicit(&s->taken[i], 1, memory_order_relaxed);
}

static void thief(void *arg, unsigned id)
{
    (void)id;
    shared_t *s = arg;
    uint64_t n = 0;
    for (;;) {
        /* Read `done` before popping: once it is set the owner pushes nothing more, so an
         * empty pop after it means the queue is drained for good. */
        bool done = atomic_load(&s->done);
        void *p = act__runq_pop(&s->q);
        if (p) {
            take(s, p);
            n++;
        } else if (done) {
            break;
        }
    }
    atomic_fetch_add(&s->by_thieves, n);
}

static void owner_or_thief(void *arg, unsigned id)
{
    shared_t *s = arg;
    if (id > 0) {
        thief(arg, id);
        return;
    }
    /* The owner: pushes everything, popping one of its own now and then and whenever the ring
     * is full (as a scheduler runs its own work). */
    for (size_t i = 0; i < n_items; i++) {
        while (!act__runq_push(&s->q, ITEM(i))) {
            void *p = act__runq_pop(&s->q);
            if (p) {
                take(s, p);
                s->by_owner++;
            }
        }
        if (i % 3 == 0) {
            void *p = act__runq_pop(&s->q);
            if (p) {
                take(s, p);
                s->by_owner++;
            }
        }
    }
    atomic_store(&s->done, true);
    void *p;
    while ((p = act__runq_pop(&s->q))) {
        take(s, p);
        s->by_owner++;
    }
}

Test(runq, owner_and_thieves_take_every_item_exactly_once)
{
    shared_t *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->taken = calloc(n_items, 1);
    cr_assert_not_null(s->taken);
    cr_assert_eq(act__runq_init(&s->q, 256), 0);
    tu_threads(1 + THIEVES, owner_or_thief, s);
    cr_assert_eq(tu_failures(), 0);
    size_t lost = 0, dup = 0;
    for (size_t i = 0; i < n_items; i++) {
        uint8_t t = atomic_load(&s->taken[i]);
        lost += t == 0;
        dup += t > 1;
    }
    cr_assert_eq(lost, 0u, "%zu items lost", lost);
    cr_assert_eq(dup, 0u, "%zu items taken twice", dup);
    cr_assert_eq(s->by_owner + atomic_load(&s->by_thieves), n_items);
    cr_log_info("runq: owner took %llu, thieves %llu", (unsigned long long)s->by_owner,
                (unsigned long long)atomic_load(&s->by_thieves));
    act__runq_deinit(&s->q);
    free(s->taken);
    free(s);
}

/* The global queue under concurrent pushers and takers: chunks stay whole, nothing is lost. */
#define GQ_THREADS 4
static const size_t gq_per_thread = TU_SCALED(200000, 50000);

typedef struct {
    act__globq_t g;
    _Atomic uint8_t *taken;
    _Atomic unsigned pushers_done;
    _Atomic uint64_t total;
} gshared_t;

static void gq_thread(void *arg, unsigned id)
{
    gshared_t *s = arg;
    if (id < GQ_THREADS / 2) {
        uintptr_t base = id * gq_per_thread;
        for (size_t i = 0; i < gq_per_thread;) {
            uint32_t k = 1 + (uint32_t)(i % 37);
            if (i + k > gq_per_thread)
                k = (uint32_t)(gq_per_thread - i);
            act__globq_push(&s->g, chunk_of(base + i, k));
            i += k;
        }
        atomic_fetch_add(&s->pushers_done, 1);
        return;
    }
    uint64_t got = 0;
    for (;;) {
        bool done = atomic_load(&s->pushers_done) == GQ_THREADS / 2;
        act__gchunk_t *c = act__globq_take(&s->g);
        if (!c) {
            if (done)
                break;
            continue;
        }
        /* Take one or two, give the rest back, as take_global does. */
        for (int j = 0; j < 2 && c->head < c->n; j++, got++)
            atomic_fetch_add_explicit(&s->taken[INDEX(c->items[c->head++])], 1,
                                      memory_order_relaxed);
        if (c->head < c->n)
            act__globq_push_front(&s->g, c);
        else
            act_free(c);
    }
    atomic_fetch_add(&s->total, got);
}

Test(runq, global_queue_loses_nothing_under_concurrent_push_and_take)
{
    gshared_t *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    act__globq_init(&s->g);
    size_t all = gq_per_thread * (GQ_THREADS / 2);
    s->taken = calloc(all, 1);
    tu_threads(GQ_THREADS, gq_thread, s);
    cr_assert_eq(atomic_load(&s->total), all);
    for (size_t i = 0; i < all; i++)
        cr_assert_eq(atomic_load(&s->taken[i]), 1, "item %zu taken %d times", i,
                     (int)atomic_load(&s->taken[i]));
    cr_assert_eq(act__globq_len(&s->g), 0u);
    act__globq_deinit(&s->g);
    free(s->taken);
    free(s);
}
