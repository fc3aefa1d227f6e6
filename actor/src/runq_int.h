/*
 * Run queues of actors ready to run.
 *
 * act__runq_t: a scheduler's stealable queue: Dmitry Vyukov's bounded ring (a sequence number
 * per cell). Only the owner enqueues (every push, spills and steals included, goes into the
 * pusher's own queue), so a push is two stores and no CAS; the owner and idle schedulers
 * dequeue, claiming a cell with a CAS on the position. FIFO, so a stolen actor is the one that
 * waited longest. When it is full the owner moves half of it to the global queue, where every
 * scheduler looks when idle.
 *
 * act__globq_t: the global overflow queue: a FIFO of chunks (arrays of up to 512 actors)
 * under a mutex. A spill or a take moves a whole chunk in O(1) under the lock and never walks
 * the actors themselves (each would be a cache miss).
 */
#ifndef ACT_RUNQ_INT_H
#define ACT_RUNQ_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "actor/msg.h"

typedef struct act__runq_cell {
    _Atomic size_t seq;
    void *item;
} act__runq_cell_t;

typedef struct act__runq {
    act__runq_cell_t *cells;
    size_t mask;
    _Alignas(64) _Atomic size_t enq;
    _Alignas(64) _Atomic size_t deq;
} act__runq_t;

int act__runq_init(act__runq_t *q, size_t capacity); /* capacity: a power of two */
void act__runq_deinit(act__runq_t *q);
/* false if full. The owner only: it is the queue's single producer. */
bool act__runq_push(act__runq_t *q, void *item);
/* NULL if empty. Any thread. */
void *act__runq_pop(act__runq_t *q);
/* Approximate number of items. Any thread. */
static inline size_t act__runq_size(act__runq_t *q)
{
    size_t e = atomic_load_explicit(&q->enq, memory_order_relaxed);
    size_t d = atomic_load_explicit(&q->deq, memory_order_relaxed);
    return e > d ? e - d : 0;
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
    pthread_mutex_t lock;
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
