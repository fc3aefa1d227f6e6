/*
 * Run queues of actors ready to run.
 *
 * act__runq_t: a scheduler's stealable queue, ck_ring in its single-producer multi-consumer
 * form. Only the owner enqueues (every push, spills and steals included, goes into the pusher's
 * own queue), so a push is a slot store, a store fence and a tail store, no CAS; the owner and
 * idle schedulers dequeue, each claiming a slot with a CAS on the consumer head. FIFO, so a
 * stolen actor is the one that waited longest. When it is full the owner moves half of it to
 * the global queue, where every scheduler looks when idle. It replaced a hand-written Vyukov
 * ring (a sequence number per cell) at no cost: tests/bench/struct_bench, medians of 15 runs
 * interleaved with the old ring's on a shared 2-vCPU VM: the owner's push + pop 16.8 ns (ring
 * 16.4), an owner and a thief on two cores 54 ns per item (ring 65; noisy, pairwise 0.77-1.03).
 *
 * act__globq_t: the global overflow queue: a FIFO of chunks (arrays of up to 512 actors)
 * under a ck spinlock. A spill or a take moves a whole chunk in O(1) under the lock and never
 * walks the actors themselves (each would be a cache miss), so the lock is held for a few
 * stores; it never sleeps, and ck's has nothing lock-free that can put a chunk back in front.
 */
#ifndef ACT_RUNQ_INT_H
#define ACT_RUNQ_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "actor/msg.h"
#include "ck_int.h"

typedef struct act__runq {
    ck_ring_t ring; /* consumer head and producer tail on lines of their own */
    ck_ring_buffer_t *slots;
} act__runq_t;

/* slots: a power of two; the queue holds slots - 1 actors (ck keeps one slot free). */
int act__runq_init(act__runq_t *q, size_t slots);
void act__runq_deinit(act__runq_t *q);
/* false if full. The owner only: it is the queue's single producer. */
static inline bool act__runq_push(act__runq_t *q, void *item)
{
    /* ck's store fence before the tail store publishes the item (and the actor it points to)
     * to the dequeuer, whose load fence after reading the tail pairs with it. */
    return ck_ring_enqueue_spmc(&q->ring, q->slots, item);
}
/* NULL if empty. Any thread. */
static inline void *act__runq_pop(act__runq_t *q)
{
    void *item;
    return ck_ring_dequeue_spmc(&q->ring, q->slots, &item) ? item : NULL;
}
/* Number of items, exact for the owner between its own operations. Any thread. */
static inline size_t act__runq_size(act__runq_t *q)
{
    return ck_ring_size(&q->ring);
}
/* Actors the queue holds when full. */
static inline size_t act__runq_capacity(act__runq_t *q)
{
    return ck_ring_capacity(&q->ring) - 1;
}

/* A batch of runnable actors moved to or from the global queue in one piece. */
typedef struct act__gchunk act__gchunk_t;
struct act__gchunk {
    act__gchunk_t *next;
    uint32_t head, n; /* items[head .. n) are still queued */
    void *items[];
};
#define ACT__GCHUNK_ITEMS 512

typedef struct act__globq {
    ck_spinlock_t lock;
    act__gchunk_t *head, *tail;
    _Atomic size_t len; /* items, for idle checks without the lock */
} act__globq_t;

void act__globq_init(act__globq_t *g);
/* Frees the chunks still queued (system stop: their actors are gone). */
void act__globq_deinit(act__globq_t *g);
/* Appends a chunk (allocated with act__gchunk_new). */
void act__globq_push(act__globq_t *g, act__gchunk_t *c);
/* Puts a partly consumed chunk back at the front. */
void act__globq_push_front(act__globq_t *g, act__gchunk_t *c);
/* Takes the oldest chunk, or NULL. */
act__gchunk_t *act__globq_take(act__globq_t *g);
act__gchunk_t *act__gchunk_new(void);
static inline size_t act__globq_len(act__globq_t *g)
{
    return atomic_load_explicit(&g->len, memory_order_relaxed);
}

#endif
