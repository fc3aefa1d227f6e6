/* The pid table and its index allocator: see slots_int.h. */
#include "slots_int.h"

#include <pthread.h>
#include <string.h>

#include "actor/mem.h"

act__slot_t *_Atomic act__slot_pages[ACT__SLOT_MAX_PAGES];

static _Atomic uint64_t free_head; /* (tag << 32) | index, index 0 = empty */
static _Atomic uint32_t npages;
static uint32_t max_pages;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

int act__slots_init(uint32_t max_slots)
{
    max_pages = (uint32_t)(((uint64_t)max_slots + ACT__SLOT_PAGE_SIZE - 1) >> ACT__SLOT_PAGE_BITS);
    if (max_pages == 0 || max_pages > ACT__SLOT_MAX_PAGES)
        return ACT_EBADARG;
    atomic_store_explicit(&free_head, 0, memory_order_relaxed);
    atomic_store_explicit(&npages, 0, memory_order_relaxed);
    return 0;
}

void act__slots_deinit(void)
{
    uint32_t n = atomic_load_explicit(&npages, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) {
        act_free(atomic_load_explicit(&act__slot_pages[i], memory_order_relaxed));
        atomic_store_explicit(&act__slot_pages[i], NULL, memory_order_relaxed);
    }
    atomic_store_explicit(&npages, 0, memory_order_relaxed);
    atomic_store_explicit(&free_head, 0, memory_order_relaxed);
}

uint32_t act__slot_high_water(void)
{
    return atomic_load_explicit(&npages, memory_order_acquire) << ACT__SLOT_PAGE_BITS;
}

static void push_free(uint32_t idx)
{
    act__slot_t *s = act__slot_at(idx);
    uint64_t h = atomic_load_explicit(&free_head, memory_order_relaxed);
    uint64_t n;
    do {
        atomic_store_explicit(&s->next_free, (uint32_t)h, memory_order_relaxed);
        n = (((h >> 32) + 1) << 32) | idx;
        /* release: the link above (and the slot's cleared actor) is visible to the popper. */
    } while (!atomic_compare_exchange_weak_explicit(&free_head, &h, n, memory_order_release,
                                                    memory_order_relaxed));
}

static uint32_t pop_free(void)
{
    uint64_t h = atomic_load_explicit(&free_head, memory_order_acquire);
    for (;;) {
        uint32_t idx = (uint32_t)h;
        if (idx == 0)
            return 0;
        /* May read a link rewritten by a racing pop+push; the tag makes our CAS fail then. */
        uint32_t next = atomic_load_explicit(&act__slot_at(idx)->next_free, memory_order_relaxed);
        uint64_t n = (((h >> 32) + 1) << 32) | next;
        if (atomic_compare_exchange_weak_explicit(&free_head, &h, n, memory_order_acquire,
                                                  memory_order_acquire))
            return idx;
    }
}

/* Adds a page and pushes its indices (under a lock: growth is rare and must not race). */
static int grow(void)
{
    pthread_mutex_lock(&grow_lock);
    int rc = 0;
    if (atomic_load_explicit(&free_head, memory_order_acquire) & 0xffffffffu)
        goto out; /* another thread grew meanwhile */
    uint32_t p = atomic_load_explicit(&npages, memory_order_relaxed);
    if (p >= max_pages) {
        rc = ACT_ETOOMANY;
        goto out;
    }
    act__slot_t *page = act_calloc(ACT__SLOT_PAGE_SIZE, sizeof *page);
    if (!page) {
        rc = ACT_ENOMEM;
        goto out;
    }
    atomic_store_explicit(&act__slot_pages[p], page, memory_order_release);
    atomic_store_explicit(&npages, p + 1, memory_order_release);
    /* Push in reverse so low indices come out first; skip index 0. */
    uint32_t base = p << ACT__SLOT_PAGE_BITS;
    for (uint32_t i = ACT__SLOT_PAGE_SIZE; i-- > 0;)
        if (base + i != 0)
            push_free(base + i);
out:
    pthread_mutex_unlock(&grow_lock);
    return rc;
}

int act__slot_alloc(act__slot_cache_t *cache, act_pid_t *pid)
{
    uint32_t idx = 0;
    if (cache && cache->n > 0) {
        idx = cache->idx[--cache->n];
    } else {
        while ((idx = pop_free()) == 0) {
            int rc = grow();
            if (rc)
                return rc;
        }
    }
    act__slot_t *s = act__slot_at(idx);
    uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->gen, gen, memory_order_relaxed);
    *pid = ((act_pid_t)gen << 32) | idx;
    return 0;
}

void act__slot_free(act__slot_cache_t *cache, uint32_t idx)
{
    if (cache) {
        if (cache->n == ACT__SLOT_CACHE) {
            /* Keep half: a thread that both spawns and reaps stays off the shared stack. */
            for (uint32_t i = ACT__SLOT_CACHE / 2; i < ACT__SLOT_CACHE; i++)
                push_free(cache->idx[i]);
            cache->n = ACT__SLOT_CACHE / 2;
        }
        cache->idx[cache->n++] = idx;
        return;
    }
    push_free(idx);
}

void act__slot_cache_flush(act__slot_cache_t *cache)
{
    while (cache->n > 0)
        push_free(cache->idx[--cache->n]);
}
