/*
 * The intrusive multi-producer single-consumer queue behind mailboxes and scheduler inboxes.
 *
 * Dmitry Vyukov's non-blocking MPSC queue: a producer links its node with one atomic exchange
 * on `head` and one store; the consumer walks from `tail`. A stub node lets the consumer hand
 * out every real node (nothing of a popped node stays in the queue, so a message can be kept
 * or freed at once). The queue is not linearizable: between a producer's exchange and its link
 * the consumer sees a gap and pop returns NULL although the queue is not empty. Callers treat
 * that NULL as "look again later", never as "empty" (act__mpsc_mark_idle tells them apart).
 *
 * The low bit of `head` (IDLE) says the consumer is not scheduled: the producer whose exchange
 * clears it is the only one told to schedule the consumer (Pony's messageq does the same), so
 * an actor is scheduled exactly once per empty -> non-empty transition, without a lock and
 * without a second atomic on the send path.
 *
 * Why not Concurrency Kit's ck_fifo_mpmc (its only multi-producer queue, a Michael-Scott queue
 * with generation-tagged pointers): a push there is two 16-byte CASes against one exchange
 * here, it needs a separate entry per message (the dequeued entry is the old stub, not the
 * message's own, so it cannot be embedded), and it has no idle bit: scheduling once per
 * empty -> busy transition would cost another atomic. tests/bench/struct_bench, 4M messages
 * into one consumer, medians of 9 runs on a shared 2-vCPU VM, ck's entries preallocated: one
 * producer 25 ns per message here, 102 ns with ck_fifo_mpmc; four producers 25 vs 67 ns.
 */
#ifndef ACT_MPSC_INT_H
#define ACT_MPSC_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor/msg.h"

#define ACT__MPSC_IDLE ((uintptr_t)1)

typedef struct act__mpsc {
    _Atomic uintptr_t head; /* producers: last node pushed, | IDLE */
    act__node_t *tail;      /* consumer only */
    act__node_t stub;
} act__mpsc_t;

/* Starts empty; `idle` says whether the first push must schedule the consumer. */
static inline void act__mpsc_init(act__mpsc_t *q, bool idle)
{
    atomic_init(&q->stub.next, NULL);
    atomic_init(&q->head, (uintptr_t)&q->stub | (idle ? ACT__MPSC_IDLE : 0));
    q->tail = &q->stub;
}

/* Any thread. Returns true if the queue was idle: the caller must schedule the consumer. */
static inline bool act__mpsc_push(act__mpsc_t *q, act__node_t *n)
{
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n (the consumer reaches it through prev->next, whose release
     * store below is what it acquires); acquire pairs with mark_idle's release CAS, so whoever
     * reschedules the consumer happens after everything its last turn did. */
    uintptr_t prev = atomic_exchange_explicit(&q->head, (uintptr_t)n, memory_order_acq_rel);
    act__node_t *p = (act__node_t *)(prev & ~ACT__MPSC_IDLE);
    /* Pairs with the consumer's acquire loads of ->next. */
    atomic_store_explicit(&p->next, n, memory_order_release);
    return (prev & ACT__MPSC_IDLE) != 0;
}

/* Consumer only. The oldest node, or NULL: empty, or a producer is mid-push (see above). */
static inline act__node_t *act__mpsc_pop(act__mpsc_t *q)
{
    act__node_t *tail = q->tail;
    act__node_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    /* tail is the last node linked so far. If a producer exchanged head after it, its link is
     * coming: report nothing for now. Otherwise put the stub behind tail so tail can go. */
    uintptr_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if ((act__node_t *)(head & ~ACT__MPSC_IDLE) != tail)
        return NULL;
    act__mpsc_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

/* Consumer only, after pop returned NULL: marks the queue idle if it is really empty. True: it
 * is idle now and the next push will report it; false: nodes are (being) added, pop again. */
static inline bool act__mpsc_mark_idle(act__mpsc_t *q)
{
    if (q->tail != &q->stub || atomic_load_explicit(&q->stub.next, memory_order_acquire) != NULL)
        return false;
    uintptr_t expected = (uintptr_t)&q->stub;
    /* release: the consumer's turn happens before the push that sees IDLE (see push). */
    return atomic_compare_exchange_strong_explicit(&q->head, &expected, expected | ACT__MPSC_IDLE,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

/* Consumer only: true if nothing is queued (and no producer is mid-push). */
static inline bool act__mpsc_is_empty(act__mpsc_t *q)
{
    return q->tail == &q->stub &&
           atomic_load_explicit(&q->stub.next, memory_order_acquire) == NULL &&
           (atomic_load_explicit(&q->head, memory_order_acquire) & ~ACT__MPSC_IDLE) ==
               (uintptr_t)&q->stub;
}

#endif
