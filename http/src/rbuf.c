/*
 * Read buffers (conn_int.h): taken from the worker's pool when bytes arrive, given back as soon
 * as they hold none; grown past the pooled size only for what must be whole in them (conn.c
 * decides when). Every change of an offset goes through here, and keeps the invariant
 * start <= parsed <= end <= cap. The worker's scheduler thread only.
 */
#include <string.h>

#include "conn_int.h"

http__rbuf_t *http__rbuf_get(http__worker_t *w)
{
    http__rbuf_t *rb = http__pool_get(&w->rbufs);
    if (!rb)
        return NULL;
    rb->cap = HTTP__RBUF_SIZE - (uint32_t)sizeof *rb;
    rb->start = rb->parsed = rb->end = 0;
    rb->pooled = true;
    rb->parsing = false;
    return rb;
}

void http__rbuf_put(http__worker_t *w, http__rbuf_t *rb)
{
    if (rb->pooled)
        http__pool_put(&w->rbufs, rb);
    else
        act_free(rb);
}

http__rbuf_t *http__rbuf_grow(http__worker_t *w, http__rbuf_t *rb, size_t total)
{
    HTTP__RBUF_CHECK(rb);
    http__rbuf_t *nb = act_malloc(total);
    if (!nb)
        return NULL;
    memcpy(nb, rb, sizeof *rb + rb->end);
    nb->cap = (uint32_t)(total - sizeof *nb);
    nb->pooled = false;
    http__rbuf_put(w, rb);
    return nb;
}

void http__rbuf_consume(http__rbuf_t *rb, size_t n)
{
    if (ACT_UNLIKELY(n > rb->end - rb->start))
        act_fatal("read buffer: consuming %zu of %u bytes", n, rb->end - rb->start);
    rb->start += (uint32_t)n;
    if (rb->parsed < rb->start)
        rb->parsed = rb->start;
}

void http__rbuf_discard(http__rbuf_t *rb)
{
    rb->start = rb->parsed = rb->end;
}

void http__rbuf_compact(http__rbuf_t *rb)
{
    HTTP__RBUF_CHECK(rb);
    uint32_t n = rb->end - rb->start;
    memmove(rb->data, rb->data + rb->start, n);
    rb->parsed -= rb->start;
    rb->end = n;
    rb->start = 0;
}

void http__rbuf_check(const http__rbuf_t *rb, const char *file, int line)
{
    if (rb && !(rb->start <= rb->parsed && rb->parsed <= rb->end && rb->end <= rb->cap))
        act__fatal(file, line, "read buffer broken: start %u parsed %u end %u cap %u", rb->start,
                   rb->parsed, rb->end, rb->cap);
}
