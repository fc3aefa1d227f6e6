/*
 * The intrusive MPSC queue behind mailboxes (actor/src/mpsc_int.h): FIFO order, the idle bit
 * that schedules a consumer exactly once per idle -> busy transition, the window in which a
 * push is half done, and a threaded validation (no loss, no duplicate, per-producer order).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "mpsc_int.h"
#include "test_util.h"

TestSuite(mpsc, .timeout = TMO(30));

typedef struct {
    act__node_t node;
    unsigned producer;
    uint64_t seq;
} item_t;

static item_t *item_of(act__node_t *n)
{
    return n ? ACT_CONTAINER_OF(n, item_t, node) : NULL;
}

Test(mpsc, pops_in_push_order)
{
    act__mpsc_t q;
    act__mpsc_init(&q, false);
    item_t it[100];
    cr_assert_null(act__mpsc_pop(&q));
    cr_assert(act__mpsc_is_empty(&q));
    /* Interleave pushes and pops so the stub goes in and out of the chain. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            it[i].seq = (uint64_t)i;
            act__mpsc_push(&q, &it[i].node);
        }
        cr_assert_not(act__mpsc_is_empty(&q));
        for (int i = 0; i < 100; i++) {
            item_t *x = item_of(act__mpsc_pop(&q));
            cr_assert_not_null(x, "round %d: item %d missing", round, i);
            cr_assert_eq(x, &it[i], "round %d: item %d out of order", round, i);
        }
        cr_assert_null(act__mpsc_pop(&q));
        cr_assert(act__mpsc_is_empty(&q));
    }
    for (int i = 0; i < 10; i++) {
        act__mpsc_push(&q, &it[i].node);
        cr_assert_eq(item_of(act__mpsc_pop(&q)), &it[i]);
        cr_assert_null(act__mpsc_pop(&q));
    }
}

Test(mpsc, popped_node_can_be_pushed_again_at_once)
{
    act__mpsc_t q;
    act__mpsc_init(&q, false);
    item_t a, b;
    act__mpsc_push(&q, &a.node);
    act__mpsc_push(&q, &b.node);
    /* Nothing of a popped node stays in the queue: re-pushing it must not corrupt the chain. */
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &a);
    act__mpsc_push(&q, &a.node);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &b);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &a);
    cr_assert_null(act__mpsc_pop(&q));
    cr_assert(act__mpsc_is_empty(&q));
}

Test(mpsc, push_reports_idle_once_per_idle_to_busy_transition)
{
    act__mpsc_t q;
    item_t it[4];
    act__mpsc_init(&q, true);
    cr_assert(act__mpsc_push(&q, &it[0].node), "the first push into an idle queue reports it");
    cr_assert_not(act__mpsc_push(&q, &it[1].node), "the queue is busy now");
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &it[0]);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &it[1]);
    cr_assert_null(act__mpsc_pop(&q));
    /* Empty but not marked idle: a push must not report (the consumer is still scheduled). */
    cr_assert_not(act__mpsc_push(&q, &it[2].node));
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &it[2]);
    cr_assert_null(act__mpsc_pop(&q));
    cr_assert(act__mpsc_mark_idle(&q));
    cr_assert(act__mpsc_push(&q, &it[3].node));
    cr_assert_not(act__mpsc_push(&q, &it[0].node));

    act__mpsc_init(&q, false);
    cr_assert_not(act__mpsc_push(&q, &it[0].node), "a queue made busy never reports");
}

Test(mpsc, mark_idle_fails_while_nodes_are_queued)
{
    act__mpsc_t q;
    item_t a, b;
    act__mpsc_init(&q, false);
    act__mpsc_push(&q, &a.node);
    cr_assert_not(act__mpsc_mark_idle(&q));
    /* A failed mark leaves the queue busy: the next push does not report. */
    cr_assert_not(act__mpsc_push(&q, &b.node));
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &a);
    cr_assert_not(act__mpsc_mark_idle(&q), "b is still queued");
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &b);
    cr_assert(act__mpsc_mark_idle(&q));
    cr_assert(act__mpsc_is_empty(&q));
}

Test(mpsc, half_done_push_is_not_empty)
{
    act__mpsc_t q;
    item_t a, b;
    act__mpsc_init(&q, false);
    act__mpsc_push(&q, &a.node);
    /* A producer that exchanged head but has not linked its node yet (preempted between its
     * two steps): reproduce its first step by hand. */
    atomic_store_explicit(&b.node.next, NULL, memory_order_relaxed);
    uintptr_t prev = atomic_exchange(&q.head, (uintptr_t)&b.node);
    cr_assert_eq(prev, (uintptr_t)&a.node);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), NULL, "a's successor is not linked yet");
    cr_assert_not(act__mpsc_mark_idle(&q), "a push is under way");
    cr_assert_not(act__mpsc_is_empty(&q));
    /* The producer's second step. */
    atomic_store(&a.node.next, &b.node);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &a);
    cr_assert_eq(item_of(act__mpsc_pop(&q)), &b);
    cr_assert_null(act__mpsc_pop(&q));
    cr_assert(act__mpsc_mark_idle(&q));
}

/* ---- threaded validation -------------------------------------------------------------------- */

#define PRODUCERS 4
static const uint64_t per_producer = TU_SCALED(250000, 100000);

typedef struct {
    act__mpsc_t q;
    sem_t wake;             /* posted by the producer whose push found the queue idle */
    _Atomic uint64_t wakes; /* pushes that reported idle */
    item_t *items[PRODUCERS];
} shared_t;

static void producer(void *arg, unsigned p)
{
    shared_t *s = arg;
    for (uint64_t i = 0; i < per_producer; i++) {
        item_t *it = &s->items[p][i];
        it->producer = p;
        it->seq = i;
        if (act__mpsc_push(&s->q, &it->node)) {
            atomic_fetch_add(&s->wakes, 1);
            sem_post(&s->wake);
        }
    }
}

static void *producers_main(void *arg)
{
    tu_threads(PRODUCERS, producer, arg);
    return NULL;
}

Test(mpsc, keeps_per_producer_order_with_4_producers)
{
    shared_t *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    act__mpsc_init(&s->q, true);
    sem_init(&s->wake, 0, 0);
    for (unsigned p = 0; p < PRODUCERS; p++) {
        s->items[p] = calloc(per_producer, sizeof(item_t));
        cr_assert_not_null(s->items[p]);
    }
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, producers_main, s), 0);

    /* The consumer behaves as a scheduled actor: it runs only after a wake, pops until empty,
     * marks itself idle and waits for the next wake. */
    uint64_t next[PRODUCERS] = {0};
    uint64_t got = 0, idles = 1; /* the queue starts idle */
    const uint64_t total = per_producer * PRODUCERS;
    while (got < total) {
        cr_assert_eq(sem_wait(&s->wake), 0);
        for (;;) {
            item_t *it = item_of(act__mpsc_pop(&s->q));
            if (it) {
                cr_assert_lt(it->producer, PRODUCERS);
                cr_assert_eq(it->seq, next[it->producer], "producer %u: got %llu, want %llu",
                             it->producer, (unsigned long long)it->seq,
                             (unsigned long long)next[it->producer]);
                next[it->producer]++;
                got++;
                continue;
            }
            if (act__mpsc_mark_idle(&s->q)) {
                idles++;
                break;
            }
            /* NULL but not idle: a push is half done; look again. */
        }
    }
    pthread_join(th, NULL);
    cr_assert_null(act__mpsc_pop(&s->q));
    /* Exactly one wake per idle -> busy transition: no extra wake is pending... */
    int pending = -1;
    sem_getvalue(&s->wake, &pending);
    cr_assert_eq(pending, 0, "%d wake-ups too many", pending);
    /* ...and every mark_idle was answered by exactly one push (the last one is unanswered). */
    cr_assert_eq(atomic_load(&s->wakes), idles - 1);
    for (unsigned p = 0; p < PRODUCERS; p++) {
        cr_assert_eq(next[p], per_producer);
        free(s->items[p]);
    }
    sem_destroy(&s->wake);
    free(s);
}
