/* Run queues: see runq_int.h. */
#include "runq_int.h"

#include "actor/mem.h"

int act__runq_init(act__runq_t *q, size_t slots)
{
    q->slots = act_calloc_aligned(CK_MD_CACHELINE, slots * sizeof *q->slots);
    if (!q->slots)
        return ACT_ENOMEM;
    ck_ring_init(&q->ring, (unsigned)slots);
    return 0;
}

void act__runq_deinit(act__runq_t *q)
{
    act_free(q->slots);
    q->slots = NULL;
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
    ck_spinlock_init(&g->lock);
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
}

/* The lock's acquire (fetch-and-store, then a lock fence) and release (an unlock fence, then a
 * store) order the chunk lists and the chunks' contents between pushers and takers. */
void act__globq_push(act__globq_t *g, act__gchunk_t *c)
{
    c->next = NULL;
    ck_spinlock_lock(&g->lock);
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    atomic_fetch_add_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    ck_spinlock_unlock(&g->lock);
}

void act__globq_push_front(act__globq_t *g, act__gchunk_t *c)
{
    ck_spinlock_lock(&g->lock);
    c->next = g->head;
    g->head = c;
    if (!g->tail)
        g->tail = c;
    atomic_fetch_add_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    ck_spinlock_unlock(&g->lock);
}

act__gchunk_t *act__globq_take(act__globq_t *g)
{
    if (act__globq_len(g) == 0)
        return NULL;
    ck_spinlock_lock(&g->lock);
    act__gchunk_t *c = g->head;
    if (c) {
        g->head = c->next;
        if (!g->head)
            g->tail = NULL;
        atomic_fetch_sub_explicit(&g->len, c->n - c->head, memory_order_relaxed);
    }
    ck_spinlock_unlock(&g->lock);
    return c;
}
