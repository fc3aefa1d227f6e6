/*
 * A connection's output queue: the fiber's messages (kept while queued), written with one
 * sendmsg for as many as fit in 64 iovecs, file ranges with sendfile(2).
 *
 * Writes are tried at once (no poll for writability first); only a short write or EAGAIN makes
 * the connection wait for POLLOUT (`blocked`), arming its write timeout. A flush mark or a
 * file range answers the fiber (ACK) once everything before it is written: that is the
 * fiber's back-pressure (resp.c). The final piece of a response is held (corked) when more
 * requests are already buffered: the worker's loop-turn hook (uv_prepare) then writes the
 * responses of a whole pipelined batch in one call.
 */
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"

/* ---- output -------------------------------------------------------------------------------- */

static size_t out_total(const http__out_t *o)
{
    return (size_t)o->len + o->ins_len;
}

/* The unsent part of o as up to 3 iovecs. */
static int out_iov(const http__out_t *o, struct iovec *iov)
{
    struct iovec seg[3];
    int n = 0;
    if (o->ins_len) {
        seg[n++] = (struct iovec){(void *)o->data, o->head_end};
        seg[n++] = (struct iovec){(void *)o->ins, o->ins_len};
        seg[n++] = (struct iovec){(void *)(o->data + o->head_end), o->len - o->head_end};
    } else {
        seg[n++] = (struct iovec){(void *)o->data, o->len};
    }
    size_t skip = o->sent;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (skip >= seg[i].iov_len) {
            skip -= seg[i].iov_len;
            continue;
        }
        iov[k].iov_base = (char *)seg[i].iov_base + skip;
        iov[k].iov_len = seg[i].iov_len - skip;
        skip = 0;
        if (iov[k].iov_len)
            k++;
    }
    return k;
}

/* o (the queue's head) is written: tell a waiting fiber, free it. */
static void out_done(http__conn_t *c, http__out_t *o, int status)
{
    c->oq_head = o->next;
    if (!c->oq_head)
        c->oq_tail = NULL;
    c->oq_bytes -= out_total(o);
    if (o->flags & HTTP__OUT_WAIT)
        http__conn_reply(c, o->req, HTTP__M_ACK, status);
    act_msg_free(&o->hdr);
}

void http__out_drop(http__conn_t *c)
{
    while (c->oq_head) {
        http__out_t *o = c->oq_head;
        c->oq_head = o->next;
        act_msg_free(&o->hdr);
    }
    c->oq_tail = NULL;
    c->oq_bytes = 0;
}

enum { W_DONE, W_AGAIN, W_FAIL };

/* Sends a file range with sendfile(2). */
static int send_file(http__conn_t *c, http__out_t *o)
{
    while (o->fleft) {
        off_t off = (off_t)o->foff;
        size_t n = o->fleft < (1u << 30) ? (size_t)o->fleft : (1u << 30);
        ssize_t w = sendfile(c->fd, o->ffd, &off, n);
        if (w > 0) {
            o->foff = off;
            o->fleft -= (uint64_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return errno == EINTR ? send_file(c, o) : W_AGAIN;
        int err = w == 0 ? -EINVAL : -errno; /* 0: the file is shorter than asked */
        if (err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN) {
            http__conn_close(c, err);
            return W_FAIL;
        }
        /* The file failed, not the socket: the response is broken, close after it. */
        c->flags |= HTTP__C_CLOSE_AFTER;
        out_done(c, o, err);
        return W_DONE;
    }
    out_done(c, o, 0);
    return W_DONE;
}

void http__out_uncork(http__conn_t *c)
{
    if (!(c->flags & HTTP__C_CORKED))
        return;
    c->flags &= ~HTTP__C_CORKED;
    http__worker_t *w = c->w;
    for (uint32_t i = 0; i < w->ncorked; i++) {
        if (w->corked[i] == c) {
            w->corked[i] = w->corked[--w->ncorked]; /* order does not matter */
            break;
        }
    }
}

/* Writes the queue until it is empty or the socket is full. */
void http__out_flush(http__conn_t *c)
{
    http__out_uncork(c);
    bool was_blocked = (c->flags & HTTP__C_BLOCKED) != 0;
    while (c->oq_head) {
        if (c->flags & HTTP__C_SOCK_CLOSED)
            return;
        http__out_t *o = c->oq_head;
        if (o->flags & HTTP__OUT_FILE) {
            int r = send_file(c, o);
            if (r == W_AGAIN)
                goto blocked;
            if (r == W_FAIL)
                return;
            continue;
        }
        struct iovec iov[64];
        int n = 0;
        for (http__out_t *x = o; x && !(x->flags & HTTP__OUT_FILE) && n <= 61; x = x->next)
            n += out_iov(x, iov + n);
        if (n == 0) {
            out_done(c, o, 0); /* a flush mark or an empty final piece */
            continue;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = http__sys_sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                goto blocked;
            http__conn_close(c, -errno);
            return;
        }
        size_t left = (size_t)w;
        while (c->oq_head && !(c->oq_head->flags & HTTP__OUT_FILE)) {
            http__out_t *x = c->oq_head;
            size_t rem = out_total(x) - x->sent;
            if (left < rem) {
                x->sent += (uint32_t)left;
                goto blocked; /* a short write: the socket buffer is full */
            }
            left -= rem;
            x->sent += (uint32_t)rem;
            out_done(c, x, 0);
            if (left == 0 && c->oq_head && out_total(c->oq_head) - c->oq_head->sent > 0)
                break;
        }
    }
    if (was_blocked) {
        c->flags &= ~HTTP__C_BLOCKED;
        http__conn_want_write(c, false);
        http__conn_rearm(c);
    }
    if (!(c->flags & HTTP__C_IN_TURN) &&
        (was_blocked || c->phase == HTTP__PH_CLOSING || (c->flags & HTTP__C_CLOSE_AFTER)))
        http__conn_kick(c); /* the actor may proceed: next request, or closing */
    return;
blocked:
    if (!was_blocked) {
        c->flags |= HTTP__C_BLOCKED;
        http__conn_want_write(c, true);
        http__conn_rearm(c);
    }
}

void http__out_enqueue(http__conn_t *c, http__out_t *o)
{
    o->next = NULL;
    if (c->oq_tail)
        c->oq_tail->next = o;
    else
        c->oq_head = o;
    c->oq_tail = o;
    c->oq_bytes += out_total(o);
}

static void on_spin(uv_idle_t *h)
{
    (void)h; /* only there to keep the loop from blocking while output is corked */
}

/* Loop turns a cork is kept without progress. Under load a scheduler interleaves the requests
 * of all its connections (a connection moves one request on every few loop turns), so a batch
 * of 16 pipelined requests takes tens of turns: flushing whatever is corked at every turn
 * would cut it into one write per response (measured: one sendmsg per request with 64
 * pipelining connections, one per batch with this rule). */
#define HTTP__CORK_TURNS 8

/* Once per loop turn. A corked connection that corked again during the last HTTP__CORK_TURNS
 * turns is still working through its pipelined batch: it keeps its cork, so the batch goes out
 * in one write. One that made no progress for that long (a slow handler in the middle of the
 * batch) is flushed. While any cork is kept the idle handle stops the loop from blocking, so
 * the next turns come (an idle scheduler spins through them in microseconds). */
static void on_flush_hook(uv_prepare_t *h)
{
    http__worker_t *w = h->data;
    uint16_t gen = (uint16_t)++w->hook_gen;
    uint32_t i = 0;
    while (i < w->ncorked) {
        http__conn_t *c = w->corked[i];
        if ((uint16_t)(gen - c->cork_gen) <= HTTP__CORK_TURNS) {
            i++;
            continue;
        }
        http__out_flush(c); /* takes c out of the array (the last one moves to i) */
    }
    if (w->ncorked) {
        if (!w->spinning) {
            uv_idle_start(&w->spin, on_spin);
            w->spinning = true;
        }
        return;
    }
    if (w->spinning) {
        uv_idle_stop(&w->spin);
        w->spinning = false;
    }
    uv_prepare_stop(h);
    w->flushing = false;
}

void http__out_cork(http__conn_t *c)
{
    http__worker_t *w = c->w;
    c->cork_gen = (uint16_t)w->hook_gen;
    if (c->flags & HTTP__C_CORKED)
        return;
    if (w->closed) {
        http__out_flush(c); /* the worker is gone (system stop): no hook any more */
        return;
    }
    if (w->ncorked == w->capcorked) {
        uint32_t cap = w->capcorked ? w->capcorked * 2 : 64;
        http__conn_t **a = act_realloc(w->corked, cap * sizeof *a);
        if (!a) {
            http__out_flush(c); /* no room to hold it: write now */
            return;
        }
        w->corked = a;
        w->capcorked = cap;
    }
    c->flags |= HTTP__C_CORKED;
    w->corked[w->ncorked++] = c;
    if (!w->flushing) {
        w->flushing = true;
        uv_prepare_start(&w->flush, on_flush_hook);
    }
}
