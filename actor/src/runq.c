/* Run queues: see runq_int.h. */
#include "runq_int.h"

#include "actor/mem.h"

int act__runq_init(act__runq_t *q, size_t capacity)
{
    q->cells = act_malloc(capacity * sizeof *q->cells);
    if (!q->cells)
        return ACT_ENOMEM;
    q->mask = capacity - 1;
    for (size_t i = 0; i < capacity; i++) {
        atomic_init(&q->cells[i].seq, i);
        q->cells[i].item = NULL;
    }
    atomic_init(&q->enq, 0);
    atomic_init(&q->deq, 0);
    return 0;
}

void act__runq_deinit(act__runq_t *q)
{
    act_free(q->cells);
    q->cells = NULL;
}

bool act__runq_push(act__runq_t *q, void *item)
{
    /* One producer, so no CAS: the cell at `enq` is free when a dequeuer has released it
     * (seq == pos); otherwise the ring is full (or a thief is between its claim and its
     * release: reported as full too, which only makes the owner spill a little early). */
    size_t pos = atomic_load_explicit(&q->enq, memory_order_relaxed);
    act__runq_cell_t *c = &q->cells[pos & q->mask];
    /* acquire: pairs with the dequeuer's release of this cell (it has read the old item). */
    if (atomic_load_explicit(&c->seq, memory_order_acquire) != pos)
        return false;
    c->item = item;
    /* release: the item (and the actor it points to) is visible to the dequeuer. */
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    atomic_store_explicit(&q->enq, pos + 1, memory_order_relaxed);
    return true;
}

void *act__runq_pop(act__runq_t *q)
{
    size_t pos = atomic_load_explicit(&q->deq, memory_order_relaxed);
    act__runq_cell_t *c;
    for (;;) {
        c = &q->cells[pos & q->mask];
        /* acquire: pairs with the enqueuer's release above. */
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->deq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return NULL;
        } else {
            pos = atomic_load_explicit(&q->deq, memory_order_relaxed);
        }
    }
    void *item = c->item;
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    return item;
}

act__gchunk_t *act__gchunk_new(void)
{
    act__gchunk_t *c = act_xmalloc(sizeof *c + ACT__GCHUNK_ITEMS * sizeof(void *));
    c->next = NULL;
    c->head = c->n = 0;
    return c;
}

void act__globq_init(act__globq_t *g)
{
    pthread_mutex_init(&g->lock, NULL);
    g->head = g->tail = NULL;
    atomic_init(&g->len, 0);
}

void act__globq_deinit(act__globq_t *g)
{
    while (g->head) {
        act__gchunk_t *c = g->head;
        g->head = c->next;
        act_free(c);
    }
    g->tail = NULL;
    pthread_mutex_destroy(&g->lock);
}

void act__globq_push(act__globq_t *g, act__gchunk_t *c)
{
    c->next = NULL;
    pthread_mutex_lock(&g->lock);
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    atomic_fetch_add_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    pthread_mutex_unlock(&g->lock);
}

void act__globq_push_front(act__globq_t *g, act__gchunk_t *c)
{
    pthread_mutex_lock(&g->lock);
    c->next = g->head;
    g->head = c;
    if (!g->tail)
        g->tail = c;
    atomic_fetch_add_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    pthread_mutex_unlock(&g->lock);
}

act__gchunk_t *act__globq_take(act__globq_t *g)
{
    if (act__globq_len(g) == 0)
        return NULL;
    pthread_mutex_lock(&g->lock);
    act__gchunk_t *c = g->head;
    if (c) {
        g->head = c->next;
        if (!g->head)
            g->tail = NULL;
        atomic_fetch_sub_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    }
    pthread_mutex_unlock(&g->lock);
    return c;
}
