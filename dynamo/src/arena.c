/*
 * Arenas: bump allocation in blocks, freed in one go, with cleanups.
 *
 * A standalone arena (dyn_arena_new) owns its blocks: 4 KiB first, then doubling up to 64 KiB,
 * and a block of its own for anything larger than half a block, so a big allocation never
 * wastes the rest of a small one. A backed arena (a real request's) takes its blocks from the
 * HTTP layer's request arena instead (1 KiB first, the same growth), which frees them with the
 * request: the bump pointer stays here, so most allocations are a compare and an add instead
 * of three calls down. Cleanups are a list in the arena's own memory, run last first.
 */
#include <stdio.h>
#include <string.h>

#include "arena_int.h"

#include "actor/mem.h"

#define FIRST_BLOCK 4096
#define FIRST_BACKED_BLOCK 1024
#define MAX_BLOCK 65536

typedef struct blk {
    struct blk *next;
} blk_t;

typedef struct cleanup {
    struct cleanup *next;
    void (*fn)(void *arg);
    void *arg;
} cleanup_t;

struct dyn_arena {
    char *cur;
    char *end;
    blk_t *blocks;
    size_t next_size;
    void *(*backing)(void *ctx, size_t size);
    void *ctx;
    cleanup_t *cleanups;
};

dyn_arena_t *dyn_arena_new(void)
{
    dyn_arena_t *a = act_calloc(1, sizeof *a);
    if (a)
        a->next_size = FIRST_BLOCK;
    return a;
}

dyn_arena_t *dyn__arena_backed(void *(*backing)(void *ctx, size_t size), void *ctx)
{
    /* The arena and its first block in one piece of the backer's memory. */
    size_t hdr = (sizeof(dyn_arena_t) + 7) & ~(size_t)7;
    char *mem = backing(ctx, hdr + FIRST_BACKED_BLOCK);
    if (!mem)
        return NULL;
    dyn_arena_t *a = (dyn_arena_t *)mem;
    memset(a, 0, sizeof *a);
    a->backing = backing;
    a->ctx = ctx;
    a->cur = mem + hdr;
    a->end = a->cur + FIRST_BACKED_BLOCK;
    a->next_size = 2 * FIRST_BACKED_BLOCK;
    return a;
}

void dyn__arena_release(void *arena)
{
    dyn_arena_t *a = arena;
    cleanup_t *c = a->cleanups;
    a->cleanups = NULL;
    while (c) {
        cleanup_t *next = c->next;
        c->fn(c->arg);
        c = next;
    }
}

void dyn_arena_free(dyn_arena_t *a)
{
    if (!a)
        return;
    dyn__arena_release(a);
    blk_t *b = a->blocks;
    while (b) {
        blk_t *next = b->next;
        act_free(b);
        b = next;
    }
    act_free(a);
}

static void *grow_backed(dyn_arena_t *a, size_t size)
{
    if (size > a->next_size / 2)
        return a->backing(a->ctx, size); /* the current block keeps its free space */
    char *b = a->backing(a->ctx, a->next_size);
    if (!b)
        return NULL;
    a->cur = b + size;
    a->end = b + a->next_size;
    if (a->next_size < MAX_BLOCK)
        a->next_size *= 2;
    return b;
}

static void *grow(dyn_arena_t *a, size_t size)
{
    if (a->backing)
        return grow_backed(a, size);
    size_t hdr = (sizeof(blk_t) + 7) & ~(size_t)7;
    if (size > a->next_size / 2) {
        /* A block of its own; the current one keeps its free space. */
        blk_t *b = act_malloc(hdr + size);
        if (!b)
            return NULL;
        b->next = a->blocks;
        a->blocks = b;
        return (char *)b + hdr;
    }
    blk_t *b = act_malloc(a->next_size);
    if (!b)
        return NULL;
    b->next = a->blocks;
    a->blocks = b;
    a->cur = (char *)b + hdr + size;
    a->end = (char *)b + a->next_size;
    if (a->next_size < MAX_BLOCK)
        a->next_size *= 2;
    return (char *)b + hdr;
}

void *dyn_arena_alloc(dyn_arena_t *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (size == 0)
        size = 8;
    if (ACT_LIKELY((size_t)(a->end - a->cur) >= size)) {
        void *p = a->cur;
        a->cur += size;
        return p;
    }
    return grow(a, size);
}

void *dyn_arena_calloc(dyn_arena_t *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = dyn_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *dyn_arena_strndup(dyn_arena_t *a, const char *s, size_t len)
{
    char *p = dyn_arena_alloc(a, len + 1);
    if (p) {
        if (len)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *dyn_arena_vprintf(dyn_arena_t *a, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return NULL;
    }
    char *p = dyn_arena_alloc(a, (size_t)n + 1);
    if (p) {
        if ((size_t)n < sizeof small)
            memcpy(p, small, (size_t)n + 1);
        else
            vsnprintf(p, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    return p;
}

char *dyn_arena_printf(dyn_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = dyn_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int dyn_arena_defer(dyn_arena_t *a, void (*fn)(void *arg), void *arg)
{
    cleanup_t *c = dyn_arena_alloc(a, sizeof *c);
    if (!c) {
        fn(arg);
        return ACT_ENOMEM;
    }
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}
