/*
 * Per-worker block pools and per-request arenas.
 *
 * A pool is a LIFO stack of equal free blocks (an array of pointers, so taking one does not
 * touch its cold memory), used only on its worker's scheduler thread, so it needs no lock: read
 * buffers and first arena blocks are taken and returned there (the fibers that use arenas are
 * pinned next to their connection). It keeps at most `max` blocks; the rest go back to act_free, so
 * an idle server returns its memory.
 *
 * An arena hands out 8-aligned pieces from its current block and chains more blocks (from
 * act_malloc: they may be large) as it fills; it is freed whole with its request.
 */
#include <string.h>

#include "req_int.h"

void http__pool_init(http__pool_t *p, size_t size, uint32_t max)
{
    *p = (http__pool_t){.size = size, .max = max};
}

void http__pool_deinit(http__pool_t *p)
{
    for (uint32_t i = 0; i < p->count; i++)
        act_free(p->free[i]);
    act_free(p->free);
    p->free = NULL;
    p->count = 0;
}

void *http__pool_get(http__pool_t *p)
{
    if (ACT_LIKELY(p->count > 0))
        return p->free[--p->count];
    return act_malloc(p->size);
}

void http__pool_put(http__pool_t *p, void *block)
{
    if (ACT_UNLIKELY(!p->free)) {
        /* The array is taken on first use, so an unused pool costs nothing. */
        p->free = act_malloc(p->max * sizeof *p->free);
        if (!p->free) {
            act_free(block);
            return;
        }
    }
    if (p->count >= p->max) {
        act_free(block);
        return;
    }
    p->free[p->count++] = block;
}

void *http__arena_alloc(http__arena_t *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (ACT_LIKELY((size_t)(a->end - a->cur) >= size)) {
        void *p = a->cur;
        a->cur += size;
        return p;
    }
    size_t want = size + sizeof(http__arena_blk_t) + 7;
    size_t bs = want < 2 * HTTP__ARENA_BLOCK ? 2 * HTTP__ARENA_BLOCK : want;
    http__arena_blk_t *b = act_malloc(bs);
    if (!b)
        return NULL;
    b->next = a->extra;
    a->extra = b;
    char *start = (char *)(((uintptr_t)(b + 1) + 7) & ~(uintptr_t)7);
    a->cur = start + size;
    a->end = (char *)b + bs;
    return start;
}
