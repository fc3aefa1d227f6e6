/*
 * A connection's output queue: the fiber's messages (kept while queued), written through the
 * connection's socket with one writev for as many as fit in 64 iovecs, file ranges with
 * sendfile.
 *
 * It says what happened and does nothing about it: the socket filled up (HTTP__OUT_BLOCKED) or
 * failed (-errno), and conn.c, the one driver of a connection, decides (wait for writable, arm
 * the write timeout, close). The only messages it sends are the ACKs a flush mark or a file
 * range promises its fiber once written: that is the fiber's back-pressure (resp.c).
 */
#include "conn_int.h"

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

/* Sends the file range at the queue's head: HTTP__OUT_EMPTY once sent (or failed on the file's
 * side: the response is broken, close after it), HTTP__OUT_BLOCKED, or the socket's -errno. */
static int send_file(http__conn_t *c, http__out_t *o)
{
    while (o->fleft) {
        size_t n = o->fleft < (1u << 30) ? (size_t)o->fleft : (1u << 30);
        ssize_t w = http__sock_sendfile(&c->s, o->ffd, &o->foff, n);
        if (w > 0) {
            o->fleft -= (uint64_t)w;
            continue;
        }
        if (w == -EAGAIN)
            return HTTP__OUT_BLOCKED;
        if (c->s.flags & HTTP__S_ERR)
            return (int)w;
        c->flags |= HTTP__C_CLOSE_AFTER;
        out_done(c, o, w == 0 ? -EINVAL : (int)w); /* 0: the file is shorter than asked */
        return HTTP__OUT_EMPTY;
    }
    out_done(c, o, 0);
    return HTTP__OUT_EMPTY;
}

int http__out_write(http__conn_t *c)
{
    while (c->oq_head) {
        http__out_t *o = c->oq_head;
        if (o->flags & HTTP__OUT_FILE) {
            int r = send_file(c, o);
            if (r != HTTP__OUT_EMPTY)
                return r;
            continue;
        }
        struct iovec iov[64];
        int n = 0;
        bool more = false; /* the last piece written says a file follows */
        for (http__out_t *x = o; x && !(x->flags & HTTP__OUT_FILE) && n <= 61; x = x->next) {
            n += out_iov(x, iov + n);
            more = (x->flags & HTTP__OUT_MORE) != 0;
        }
        if (n == 0) {
            out_done(c, o, 0); /* a flush mark or an empty final piece */
            continue;
        }
        ssize_t w = http__sock_writev(&c->s, iov, n, more);
        if (w == -EAGAIN)
            return HTTP__OUT_BLOCKED;
        if (w < 0)
            return (int)w;
        size_t left = (size_t)w;
        while (c->oq_head && !(c->oq_head->flags & HTTP__OUT_FILE)) {
            http__out_t *x = c->oq_head;
            size_t rem = out_total(x) - x->sent;
            if (left < rem) {
                x->sent += (uint32_t)left;
                return HTTP__OUT_BLOCKED; /* a short write: the socket buffer is full */
            }
            left -= rem;
            x->sent += (uint32_t)rem;
            out_done(c, x, 0);
            if (left == 0 && c->oq_head && out_total(c->oq_head) - c->oq_head->sent > 0)
                break;
        }
    }
    return HTTP__OUT_EMPTY;
}
