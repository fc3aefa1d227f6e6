/*
 * The connection actor: owns one socket on its scheduler's loop, parses requests, runs each in
 * a fiber, writes the responses in order. This file is the one driver of a connection's state;
 * below it, out.c writes its output queue and sock.c does its socket's I/O, and neither calls
 * back up: they return what happened.
 *
 * What moves a connection, never two at once (all on its scheduler's thread):
 * - its socket's epoll events and the worker's corked-output hook (listen.c, between actor
 *   turns; http__conn_io, http__conns_flush_corked), and the worker making room at a limit
 *   (its turn; http__conns_drain): a request that arrives is parsed and its fiber started right
 *   there, with no message to the actor and no turn;
 * - the actor's handler, with messages (output and body requests from the fiber, the fiber's
 *   abnormal end, timeouts, stop, its supervisor's exit signal).
 * Each does what its event asks, then runs the state machine (conn_step):
 *     HEAD    parse buffered bytes into a request; dispatch it to a new fiber -> RUN;
 *             bad input -> answer it -> CLOSING
 *     RUN     serve the fiber's body reads; when its final output arrives (or its exit hook
 *             reports it ended without one), go on -> HEAD (next request, pipelined or not),
 *             SKIP or CLOSING
 *     SKIP    discard an unread body (up to max_skip_body) -> HEAD
 *     CLOSING let the output drain, shut the write side, discard input until the client's EOF
 *             (lingering close: a close with unread input would reset the connection and could
 *             destroy the response in flight), then close.
 * Only ending the actor needs a turn: an event outside one that gets there sends it a KICK.
 *
 * A request costs one message on the hot path: the fiber's output (http__out_t), whose final
 * piece also says the fiber needs nothing more. The fiber is not linked to the connection: its
 * exit hook reports an end without a final piece (a crash, a kill), and the connection, if it
 * dies first, tells the fiber from its terminate (CLOSED), so neither waits for the other.
 *
 * Memory of an idle keep-alive connection: this struct and the runtime's actor; the read
 * buffer is taken from the worker's pool when bytes arrive and given back as soon as it holds
 * none, and the parser's state lives in it. Output is written straight from the fiber's
 * messages (one writev for head and body, or for a whole batch of pipelined responses, which
 * are corked until the worker's loop-turn hook flushes them).
 */
#include <string.h>
#include <unistd.h>

#include "actor/report.h"
#include "req_int.h"

#define HTTP__OUT_HWM (64 * 1024)  /* no new request while more output waits */
#define HTTP__CORK_MAX (16 * 1024) /* corked bytes before flushing anyway */
#define HTTP__RBUF_HARD_MAX (1u << 20)
#define HTTP__KILL_GRACE_MS 1000
/* Loop turns a cork is kept without progress. Under load a scheduler interleaves the requests
 * of all its connections (a connection moves one request on every few loop turns), so a batch
 * of 16 pipelined requests takes tens of turns: flushing whatever is corked at every turn
 * would cut it into one write per response (measured: one sendmsg per request with 64
 * pipelining connections, one per batch with this rule). */
#define HTTP__CORK_TURNS 8

#define SOCK(c, f) (((c)->s.flags & HTTP__S_##f) != 0)

static const char close_hdr[] = "Connection: close\r\n";
static const char keep_hdr[] = "Connection: keep-alive\r\n";

/* ---- small helpers ------------------------------------------------------------------------- */

static inline const http_limits_t *lim_of(http__conn_t *c)
{
    return &c->w->srv->lim;
}

static int conn_step(http__conn_t *c);

/* Flags copied from the request in flight, and the state of its response. */
enum {
    REQUEST_FLAGS = HTTP__C_R_HTTP10 | HTTP__C_R_KEEPALIVE | HTTP__C_R_EXPECT | HTTP__C_R_HEAD,
    PER_REQUEST_FLAGS = HTTP__C_HEAD_SENT | HTTP__C_RESP_DONE | HTTP__C_FIBER_EXITED |
                        HTTP__C_CONTINUE_SENT | HTTP__C_BODY_ERR | HTTP__C_ACCEPTED_NEW |
                        REQUEST_FLAGS,
};

/* Runs the state machine after an event outside the actor's turn (the worker's callbacks, its
 * turn): a request that arrives is dispatched right there. Only a turn can end the actor: if
 * the machine says stop, the actor gets a KICK. */
static void drive(http__conn_t *c)
{
    if (c->flags & HTTP__C_TERMINATED)
        return;
    if (conn_step(c) && !(c->flags & HTTP__C_KICKED)) {
        c->flags |= HTTP__C_KICKED;
        act_send(c->pid, act_msg_alloc(sizeof(act_msg_t), HTTP__M_KICK));
    }
}

/* ---- read buffer --------------------------------------------------------------------------- */

static void rbuf_release(http__conn_t *c)
{
    if (c->rbuf) {
        http__rbuf_put(c->w, c->rbuf);
        c->rbuf = NULL;
    }
}

/* Gives the buffer back when it holds nothing: idle connections hold no buffer. */
static void rbuf_trim(http__conn_t *c)
{
    if (c->rbuf && c->rbuf->start == c->rbuf->end)
        rbuf_release(c);
}

static uint32_t rbuf_max(http__conn_t *c)
{
    const http_limits_t *l = lim_of(c);
    uint64_t bound = (uint64_t)l->max_request_line + l->max_header_size +
                     (uint64_t)l->max_headers * 8 + 4096 + sizeof(http__rbuf_t);
    return bound > HTTP__RBUF_HARD_MAX ? HTTP__RBUF_HARD_MAX : (uint32_t)bound;
}

/* A buffer grows only for what must be whole in it and fills it from its start: a head the
 * parser has seen all of and still wants more of, or a chunked body's trailer section. Never to
 * read ahead into a body or the requests after it. */
static bool can_grow(http__conn_t *c)
{
    http__rbuf_t *rb = c->rbuf;
    bool needs;
    if (c->phase == HTTP__PH_HEAD)
        needs = rb->parsing && rb->parsed == rb->end;
    else
        needs = (c->phase == HTTP__PH_RUN || c->phase == HTTP__PH_SKIP) && rb->start == 0 &&
                http__body_in_trailers(&c->body);
    return needs && rb->cap + sizeof *rb < rbuf_max(c);
}

/* Doubles the buffer, within rbuf_max. */
static bool grow(http__conn_t *c)
{
    size_t total = 2 * ((size_t)c->rbuf->cap + sizeof(http__rbuf_t));
    if (total > rbuf_max(c))
        total = rbuf_max(c);
    http__rbuf_t *nb = http__rbuf_grow(c->w, c->rbuf, total);
    if (nb)
        c->rbuf = nb;
    return nb != NULL;
}

static bool rbuf_full(http__conn_t *c)
{
    http__rbuf_t *rb = c->rbuf;
    return rb && rb->end == rb->cap && rb->start == 0 && !can_grow(c);
}

/* ---- reading and writing ------------------------------------------------------------------ */

/* Reads while the socket may hold bytes and the buffer has room. Returns true if it got bytes
 * or learnt of the socket's end or failure: the caller cannot tell from the buffer's offsets,
 * which a compaction may bring back to the same values. */
static bool conn_read(http__conn_t *c)
{
    bool got = false;
    while (http__sock_readable(&c->s)) {
        if (!c->rbuf && !(c->rbuf = http__rbuf_get(c->w))) {
            c->s.flags |= HTTP__S_ERR; /* out of memory: give this connection up */
            return true;
        }
        http__rbuf_t *rb = c->rbuf;
        if (c->flags & HTTP__C_LINGER)
            rb->start = rb->parsed = rb->end = 0; /* discard */
        if (rb->end == rb->cap) {
            if (rb->start > 0)
                http__rbuf_compact(rb);
            else if (!can_grow(c) || !grow(c))
                break; /* full: read again once the state machine consumed some */
            rb = c->rbuf;
        }
        size_t n = http__sock_read(&c->s, rb->data + rb->end, rb->cap - rb->end);
        if (n) {
            rb->end += (uint32_t)n;
            if (c->flags & HTTP__C_LINGER)
                http__rbuf_discard(rb);
        }
        got |= n > 0 || (c->s.flags & (HTTP__S_EOF | HTTP__S_ERR));
    }
    HTTP__RBUF_CHECK(c->rbuf);
    rbuf_trim(c);
    return got;
}

static void uncork(http__conn_t *c);
static void conn_close(http__conn_t *c, int why);

/* Writes what is queued; the socket full, waits for it to be writable (the write timeout runs
 * meanwhile); failed, closes. */
static void conn_flush(http__conn_t *c)
{
    uncork(c);
    if (SOCK(c, CLOSED))
        return;
    int r = http__out_write(c);
    if (r < 0) {
        conn_close(c, r);
        return;
    }
    bool blocked = r == HTTP__OUT_BLOCKED;
    if (blocked != ((c->flags & HTTP__C_BLOCKED) != 0)) {
        c->flags ^= HTTP__C_BLOCKED;
        http__sock_want_write(&c->s, c->w->efd, blocked);
    }
}

/* Writes now, unless the socket is known to be full. */
static void flush_unless_blocked(http__conn_t *c)
{
    if (!(c->flags & HTTP__C_BLOCKED))
        conn_flush(c);
}

/* An event of the worker's epoll set (listen.c), between actor turns. */
void http__conn_io(http__sock_t *s, uint32_t events)
{
    http__conn_t *c = ACT_CONTAINER_OF(s, http__conn_t, s);
    if (SOCK(c, CLOSED))
        return; /* closed earlier in the same batch of events */
    http__sock_event(&c->s, events);
    if (SOCK(c, WRITABLE) && (c->flags & HTTP__C_BLOCKED))
        conn_flush(c);
    conn_read(c);
    drive(c);
}

/* The timer this state calls for. */
static void rearm(http__conn_t *c)
{
    int kind = HTTP__T_NONE;
    if (SOCK(c, CLOSED))
        kind = HTTP__T_NONE;
    else if (c->flags & HTTP__C_BLOCKED)
        kind = HTTP__T_WRITE;
    else if (c->flags & HTTP__C_LINGER)
        kind = HTTP__T_LINGER;
    else if (c->phase == HTTP__PH_HEAD)
        kind = (c->flags & HTTP__C_ACCEPTED_NEW) || (c->rbuf && c->rbuf->start < c->rbuf->end)
                   ? HTTP__T_HEAD
                   : HTTP__T_IDLE;
    else if ((c->phase == HTTP__PH_RUN && c->want) || c->phase == HTTP__PH_SKIP)
        kind = HTTP__T_BODY;
    if (kind == c->tkind)
        return; /* keep the running deadline: the header timeout counts from the first byte */
    http__timer_arm(c, kind);
}

/* ---- corked output ------------------------------------------------------------------------- */

/* Holds c's output for the worker's loop-turn hook: the final piece of a response while more
 * requests are buffered, so their responses go out with it in one write. */
static void cork(http__conn_t *c)
{
    http__worker_t *w = c->w;
    c->cork_gen = (uint16_t)w->hook_gen;
    if (c->flags & HTTP__C_CORKED)
        return;
    if (w->closed) {
        conn_flush(c); /* the worker is gone (system stop): no hook any more */
        return;
    }
    if (w->ncorked == w->capcorked) {
        uint32_t cap = w->capcorked ? w->capcorked * 2 : 64;
        http__conn_t **a = act_realloc(w->corked, cap * sizeof *a);
        if (!a) {
            conn_flush(c); /* no room to hold it: write now */
            return;
        }
        w->corked = a;
        w->capcorked = cap;
    }
    c->flags |= HTTP__C_CORKED;
    w->corked[w->ncorked++] = c;
}

static void uncork(http__conn_t *c)
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

/* Once per loop turn. A corked connection that corked again during the last HTTP__CORK_TURNS
 * turns is still working through its pipelined batch: it keeps its cork, so the batch goes out
 * in one write. One that made no progress for that long (a slow handler in the middle of the
 * batch) is flushed, and moved on (its response may have been the last it waited for). */
bool http__conns_flush_corked(http__worker_t *w)
{
    uint16_t gen = (uint16_t)++w->hook_gen;
    uint32_t i = 0;
    while (i < w->ncorked) {
        http__conn_t *c = w->corked[i];
        if ((uint16_t)(gen - c->cork_gen) <= HTTP__CORK_TURNS) {
            i++;
            continue;
        }
        conn_flush(c); /* takes c out of the array (the last one moves to i) */
        drive(c);
    }
    return w->ncorked > 0;
}

/* ---- closing ------------------------------------------------------------------------------- */

/* Closes the socket now; a fiber still running is told why (its waits return `why`). The
 * block itself goes in terminate, in a turn, never during a batch of events. */
static void conn_close(http__conn_t *c, int why)
{
    if (SOCK(c, CLOSED))
        return;
    uncork(c);
    http__timer_arm(c, HTTP__T_NONE);
    http__out_drop(c);
    rbuf_release(c);
    http__sock_close(&c->s);
    http__server_conn_gone(c->w->srv);
    c->want = 0;
    http__conn_reply(c, c->req, HTTP__M_CLOSED, why ? why : -EPIPE);
}

/* No more requests on this connection: output drains, then a lingering close. */
static void start_closing(http__conn_t *c)
{
    c->phase = HTTP__PH_CLOSING;
    c->want = 0;
}

static void step_closing(http__conn_t *c)
{
    if (SOCK(c, CLOSED))
        return;
    if (c->fiber != ACT_PID_NONE && !(c->flags & HTTP__C_FIBER_EXITED))
        return;
    if (c->oq_head) {
        if (!(c->flags & (HTTP__C_BLOCKED | HTTP__C_CORKED)))
            conn_flush(c);
        if (c->oq_head)
            return; /* the socket's writable event (or the hook) moves us on */
    }
    if (SOCK(c, EOF)) {
        conn_close(c, 0);
        return;
    }
    /* Lingering only matters when the client may still be sending: input left unread, a body
     * not read to its end, an answer to bad input. A clean close after a whole request with
     * nothing more buffered closes at once, as nginx does (a close with unread input is what
     * resets a connection). */
    if (!(c->flags & (HTTP__C_LINGER | HTTP__C_ERRCLOSE)) && !SOCK(c, RD_READY) &&
        (!c->rbuf || c->rbuf->start == c->rbuf->end) && http__body_done(&c->body)) {
        conn_close(c, 0);
        return;
    }
    if (!(c->flags & HTTP__C_LINGER)) {
        c->flags |= HTTP__C_LINGER;
        http__sock_shutdown(&c->s);
        if (c->rbuf)
            http__rbuf_discard(c->rbuf);
        rbuf_trim(c);
    }
}

/* ---- responses from the connection itself -------------------------------------------------- */

/* Answers status (bad input, timeout, overload) and closes. */
static void error_response(http__conn_t *c, int status)
{
    atomic_fetch_add_explicit(&c->w->srv->rejected, 1, memory_order_relaxed);
    bool head_only = (c->flags & HTTP__C_R_HEAD) != 0;
    http__out_t *o = http__out_simple(c->w, status, head_only);
    o->ins = close_hdr;
    o->ins_len = sizeof close_hdr - 1;
    c->flags |= HTTP__C_CLOSE_AFTER | HTTP__C_HEAD_SENT | HTTP__C_RESP_DONE | HTTP__C_ERRCLOSE;
    http__out_enqueue(c, o);
    flush_unless_blocked(c);
    start_closing(c);
}

/* Whether the connection closes after the response whose head is going out now. */
static bool decide_close(http__conn_t *c, const http__out_t *o)
{
    const http_limits_t *l = lim_of(c);
    if (!(c->flags & HTTP__C_R_KEEPALIVE) || (o->flags & HTTP__OUT_CLOSE) ||
        (c->flags & (HTTP__C_STOPPING | HTTP__C_BODY_ERR | HTTP__C_CLOSE_AFTER)) ||
        c->nreq >= l->max_keepalive)
        return true;
    /* After the client's FIN, the requests it sent before are still answered, in order: only
     * the response after which nothing is buffered says it is the last. */
    if (SOCK(c, EOF) && (!c->rbuf || c->rbuf->start == c->rbuf->end))
        return true;
    if (!http__body_done(&c->body)) {
        if ((c->flags & HTTP__C_R_EXPECT) && !(c->flags & HTTP__C_CONTINUE_SENT))
            return true; /* the client may be holding the body back */
        if (c->body.mode == HTTP__B_LENGTH && c->body.left > l->max_skip_body)
            return true;
    }
    return false;
}

static void set_head_header(http__conn_t *c, http__out_t *o, bool close)
{
    bool http10 = (c->flags & HTTP__C_R_HTTP10) != 0;
    if (close && !http10) {
        o->ins = close_hdr;
        o->ins_len = sizeof close_hdr - 1;
    } else if (!close && http10) {
        o->ins = keep_hdr;
        o->ins_len = sizeof keep_hdr - 1;
    }
}

/* Output from the fiber (the message is kept while queued). */
static void on_out(http__conn_t *c, http__out_t *o)
{
    if (o->req != c->req)
        return; /* a request that is over (its fiber got CLOSED): the runtime frees o */
    /* The fiber's last word, even on a closed socket: the fiber needs nothing more from us, and
     * will not report its end (its exit hook reports only an end without a final piece). */
    if (o->flags & HTTP__OUT_FINAL)
        c->flags |= HTTP__C_RESP_DONE | HTTP__C_FIBER_EXITED;
    if (SOCK(c, CLOSED))
        return; /* nowhere to write: the runtime frees o */
    if (o->flags & HTTP__OUT_HEAD) {
        c->flags |= HTTP__C_HEAD_SENT;
        bool close = decide_close(c, o);
        if (close)
            c->flags |= HTTP__C_CLOSE_AFTER;
        set_head_header(c, o, close);
    }
    if (o->flags & HTTP__OUT_CLOSE)
        c->flags |= HTTP__C_CLOSE_AFTER;
    act_msg_keep(&o->hdr);
    http__out_enqueue(c, o);
    /* Cork the final piece of a response when more requests are already buffered: their
     * responses go out with it, in one write, at the end of the loop turn. */
    if ((o->flags & HTTP__OUT_FINAL) && !(c->flags & HTTP__C_CLOSE_AFTER) && c->rbuf &&
        c->rbuf->start < c->rbuf->end && c->oq_bytes < HTTP__CORK_MAX &&
        !(c->flags & HTTP__C_BLOCKED)) {
        cork(c);
        return;
    }
    flush_unless_blocked(c);
}

/* ---- requests ------------------------------------------------------------------------------ */

static http_req_t *req_new(http__conn_t *c)
{
    char *blk = http__pool_get(&c->w->arenas);
    if (!blk)
        return NULL;
    http__server_ref(c->w->srv); /* the request's: its fiber may outlive us */
    http_req_t *req = (http_req_t *)blk;
    memset(req, 0, sizeof *req);
    req->arena.cur = blk + ((sizeof *req + 7) & ~(size_t)7);
    req->arena.end = blk + HTTP__ARENA_BLOCK;
    req->srv = c->w->srv;
    req->w = c->w;
    req->conn = c->pid;
    req->peer = c->peer;
    req->resp_clen = -1;
    return req;
}

/* A request no fiber got (bad head, no memory): ours to free. */
static void req_drop(http__conn_t *c)
{
    http_req_t *req = c->req;
    c->req = NULL;
    if (req)
        http__req_free(req);
}

/* A head is complete: build the request and start its fiber. */
static void dispatch(http__conn_t *c, const http__head_t *head)
{
    http__rbuf_t *rb = c->rbuf;
    http_server_t *srv = c->w->srv;
    c->flags &= ~PER_REQUEST_FLAGS;
    c->nreq++;
    http_req_t *req = req_new(c);
    char *h = req ? http__arena_alloc(&req->arena, head->len) : NULL;
    if (!h) {
        c->req = req;
        req_drop(c);
        error_response(c, 503);
        return;
    }
    memcpy(h, rb->data + rb->start + head->off, head->len);
    rb->start = rb->parsed;
    rb->parsing = false;
    req->seq = c->nreq;
    c->req = req;
    int st = http__req_fill(req, h, head, &srv->lim);
    if (req->method == HTTP_METHOD_HEAD)
        c->flags |= HTTP__C_R_HEAD;
    if (st) {
        error_response(c, st);
        req_drop(c);
        return;
    }
    if (req->version == 10)
        c->flags |= HTTP__C_R_HTTP10;
    if (req->keepalive)
        c->flags |= HTTP__C_R_KEEPALIVE;
    if (req->expect_continue)
        c->flags |= HTTP__C_R_EXPECT;
    if (req->chunked)
        http__body_init(&c->body, HTTP__B_CHUNKED, 0);
    else
        http__body_init(&c->body, HTTP__B_LENGTH, (uint64_t)req->content_length);
    act_spawn_opts_t o = {.fiber = http__req_fiber,
                          .arg = req,
                          .sched = ACT_SCHED_SELF,
                          .stack_size = srv->cfg.stack_size};
    if (act_spawn(&o, &c->fiber) != 0) {
        c->fiber = ACT_PID_NONE;
        error_response(c, 503);
        req_drop(c);
        return;
    }
    /* From here the request is the fiber's. */
    atomic_fetch_add_explicit(&srv->requests, 1, memory_order_relaxed);
    c->phase = HTTP__PH_RUN;
    rbuf_trim(c);
}

/* HEAD phase: parse what is buffered. Returns true if the state moved on. */
static bool step_head(http__conn_t *c)
{
    if (c->oq_bytes > HTTP__OUT_HWM)
        return false; /* the client does not read its responses: wait for the drain */
    http__rbuf_t *rb = c->rbuf;
    if (!rb || rb->start == rb->end) {
        rbuf_trim(c);
        if (SOCK(c, EOF) || (c->flags & HTTP__C_STOPPING)) {
            start_closing(c); /* nothing buffered: nothing to linger for */
            return true;
        }
        return false;
    }
    if (!rb->parsing) {
        http__parser_init(&rb->parser, &c->w->srv->lim);
        rb->parsing = true;
        rb->parsed = rb->start;
    }
    http__head_t head;
    int r = http__parse_head(&rb->parser, rb->data, rb->start, &rb->parsed, rb->end, &head);
    if (r == HTTP__P_HEAD) {
        dispatch(c, &head);
        return true;
    }
    if (r != HTTP__P_MORE) {
        error_response(c, r);
        return true;
    }
    if (!http__parser_began(&rb->parser))
        rb->start = rb->parsed; /* empty lines before a request line */
    if (SOCK(c, EOF)) {
        /* A head cut by the client's FIN can never complete: it is dropped without an answer,
         * as nginx does (RFC 9112, section 8, leaves answering an incomplete request to the
         * server). The answers to the whole requests before it may still be queued or corked:
         * the close waits for them (step_closing), and with the EOF read there is nothing to
         * linger for. */
        start_closing(c);
        return true;
    }
    if (rb->end == rb->cap && rb->start == 0 && !can_grow(c)) {
        error_response(c, http__parser_began(&rb->parser) ? 431 : 400);
        return true;
    }
    rbuf_trim(c);
    return false;
}

/* Whether the body decoder, having taken nothing of what is buffered (a size line or a trailer
 * section not yet whole), can never go on: the client has finished sending, or the buffer is
 * full and may not grow (an element larger than its limits let it be). */
static bool stuck(http__conn_t *c, int r, const http__body_io_t *io)
{
    return r == HTTP__P_MORE && io->used == 0 && io->produced == 0 &&
           (SOCK(c, EOF) || rbuf_full(c));
}

/* RUN phase with a pending body read: decode what is buffered into a reply. */
static void step_body(http__conn_t *c)
{
    http_req_t *req = c->req;
    http__rbuf_t *rb = c->rbuf;
    const http_limits_t *l = lim_of(c);
    if (http__body_done(&c->body)) {
        http__body_msg_t *m = (http__body_msg_t *)act_msg_alloc(sizeof *m, HTTP__M_BODY);
        m->r.req = req;
        m->r.status = 0;
        m->eof = true;
        m->len = m->tlen = 0;
        c->want = 0;
        act_send(c->fiber, &m->r.hdr);
        return;
    }
    size_t avail = rb ? rb->end - rb->start : 0;
    if (avail == 0) {
        if (SOCK(c, EOF)) {
            c->flags |= HTTP__C_BODY_ERR;
            c->want = 0;
            http__conn_reply(c, req, HTTP__M_BODY, HTTP_EBADBODY); /* the body was cut short */
        }
        return;
    }
    size_t cap = avail;
    if (c->body.mode == HTTP__B_LENGTH && cap > c->want)
        cap = c->want;
    http__body_msg_t *m = (http__body_msg_t *)act_msg_alloc(sizeof *m + cap, HTTP__M_BODY);
    http__body_io_t io = {.in = rb->data + rb->start,
                          .inlen = avail,
                          .out = m->data,
                          .outcap = cap < c->want ? cap : c->want};
    int r = http__body_decode(&c->body, l, &io);
    size_t prod = io.produced, tlen = io.tr_len;
    int err = 0;
    if (r >= 400 || stuck(c, r, &io))
        err = HTTP_EBADBODY;
    else if (c->body.total > l->max_body_size)
        err = HTTP_ETOOLARGE;
    if (err) {
        act_msg_free(&m->r.hdr);
        c->flags |= HTTP__C_BODY_ERR | HTTP__C_CLOSE_AFTER;
        c->want = 0;
        http__rbuf_discard(rb);
        http__conn_reply(c, req, HTTP__M_BODY, err);
        rbuf_trim(c);
        return;
    }
    /* Data and trailer bytes are disjoint parts of the input taken, and a chunked body's
     * message has room for all the input (cap == avail). */
    if (ACT_UNLIKELY(prod + tlen > cap || io.used > avail))
        act_fatal("body: %zu + %zu bytes from %zu of %zu", prod, tlen, io.used, avail);
    if (r == HTTP__P_END && tlen)
        memcpy(m->data + prod, io.in + io.tr_off, tlen);
    http__rbuf_consume(rb, io.used);
    if (prod == 0 && r != HTTP__P_END) {
        act_msg_free(&m->r.hdr); /* a size line or CRLF, no data yet */
        rbuf_trim(c);
        return;
    }
    m->r.req = req;
    m->r.status = (int)prod;
    m->eof = r == HTTP__P_END;
    m->len = (uint32_t)prod;
    m->tlen = r == HTTP__P_END ? (uint32_t)tlen : 0;
    c->want = 0;
    act_send(c->fiber, &m->r.hdr);
    rbuf_trim(c);
}

/* SKIP phase: discard the rest of an unread body. Returns true if the state moved on. */
static bool step_skip(http__conn_t *c)
{
    http__rbuf_t *rb = c->rbuf;
    size_t avail = rb ? rb->end - rb->start : 0;
    if (avail) {
        http__body_io_t io = {.in = rb->data + rb->start, .inlen = avail};
        int r = http__body_decode(&c->body, lim_of(c), &io);
        if (r >= 400 || io.produced > c->want || stuck(c, r, &io)) {
            /* Bad framing (its answer is out already) or too much to discard: the rest of the
             * input is not ours to interpret; the lingering close drops it. */
            start_closing(c);
            return true;
        }
        http__rbuf_consume(rb, io.used);
        c->want -= (uint32_t)io.produced; /* in SKIP, `want` is what may still be discarded */
        if (r == HTTP__P_END) {
            c->want = 0;
            c->phase = HTTP__PH_HEAD;
            return true;
        }
    }
    rbuf_trim(c);
    if (SOCK(c, EOF)) {
        start_closing(c);
        return true;
    }
    return false;
}

/* The response is complete and the fiber gone: free the request, go on. */
static void finish_request(http__conn_t *c)
{
    bool expect_held = (c->flags & HTTP__C_R_EXPECT) && !(c->flags & HTTP__C_CONTINUE_SENT);
    /* What was copied from this request must not shape an answer to the next input (an error
     * answer after a HEAD request keeps its body). */
    c->flags &= ~REQUEST_FLAGS;
    c->req = NULL; /* freed by the fiber's exit hook */
    c->fiber = ACT_PID_NONE;
    c->want = 0;
    if (c->flags & HTTP__C_CLOSE_AFTER) {
        start_closing(c);
    } else if (!http__body_done(&c->body)) {
        if (expect_held) {
            start_closing(c);
        } else {
            c->phase = HTTP__PH_SKIP;
            c->want = lim_of(c)->max_skip_body;
        }
    } else {
        c->phase = HTTP__PH_HEAD;
    }
}

/* ---- the state machine --------------------------------------------------------------------- */

/* Moves the connection on as far as it can. Returns 1 when the actor should stop (the socket is
 * closed and no fiber needs an answer), else 0. */
static int conn_step(http__conn_t *c)
{
    int rc = 0;
    for (;;) {
        if (SOCK(c, ERR) && !SOCK(c, CLOSED))
            conn_close(c, -ECONNRESET);
        if (SOCK(c, CLOSED)) {
            /* Stop, unless a fiber still runs: it reports its end (HTTP__M_DONE). */
            rc = c->fiber == ACT_PID_NONE || (c->flags & HTTP__C_FIBER_EXITED);
            break;
        }
        bool moved = false;
        switch (c->phase) {
        case HTTP__PH_HEAD:
            moved = step_head(c);
            break;
        case HTTP__PH_RUN:
            if (c->want)
                step_body(c);
            if ((c->flags & (HTTP__C_RESP_DONE | HTTP__C_FIBER_EXITED)) ==
                (HTTP__C_RESP_DONE | HTTP__C_FIBER_EXITED)) {
                finish_request(c);
                moved = true;
            }
            break;
        case HTTP__PH_SKIP:
            moved = step_skip(c);
            break;
        default:
            step_closing(c);
            moved = SOCK(c, CLOSED);
            break;
        }
        HTTP__RBUF_CHECK(c->rbuf);
        if (!moved) {
            /* Bytes left unread when the buffer was full: there is room again. */
            if (!http__sock_readable(&c->s) || rbuf_full(c) || !conn_read(c))
                break;
        }
    }
    if (!rc)
        rearm(c);
    return rc;
}

/* ---- messages ------------------------------------------------------------------------------ */

static void on_read_req(http__conn_t *c, http__read_t *rd)
{
    if (rd->req != c->req || SOCK(c, CLOSED))
        return;
    if (c->flags & HTTP__C_BODY_ERR) {
        http__conn_reply(c, c->req, HTTP__M_BODY, HTTP_EBADBODY);
        return;
    }
    c->want = rd->max ? rd->max : 1;
    if ((c->flags & HTTP__C_R_EXPECT) &&
        !(c->flags & (HTTP__C_CONTINUE_SENT | HTTP__C_HEAD_SENT))) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        http__out_t *o = http__out_alloc(sizeof cont - 1, 0);
        memcpy(o->data, cont, sizeof cont - 1);
        c->flags |= HTTP__C_CONTINUE_SENT;
        http__out_enqueue(c, o);
        flush_unless_blocked(c);
    }
}

/* The fiber ended without its final output (its exit hook tells, with the exit reason). */
static void on_fiber_done(http__conn_t *c, int reason)
{
    c->flags |= HTTP__C_FIBER_EXITED;
    c->want = 0;
    if (c->flags & HTTP__C_RESP_DONE)
        return;
    c->flags |= HTTP__C_RESP_DONE;
    if (SOCK(c, CLOSED) && reason == ACT_NORMAL)
        return; /* the client left; the handler saw its writes fail and returned */
    /* It died before finishing its response: a crash (or a kill; its exit hook said which). */
    atomic_fetch_add_explicit(&c->w->srv->crashes, 1, memory_order_relaxed);
    if (SOCK(c, CLOSED))
        return;
    if (c->flags & HTTP__C_HEAD_SENT) {
        c->flags |= HTTP__C_CLOSE_AFTER; /* a cut response: only a close can say so */
        return;
    }
    http__out_t *o = http__out_simple(c->w, 500, (c->flags & HTTP__C_R_HEAD) != 0);
    bool close = decide_close(c, o);
    if (close)
        c->flags |= HTTP__C_CLOSE_AFTER;
    set_head_header(c, o, close);
    c->flags |= HTTP__C_HEAD_SENT;
    http__out_enqueue(c, o);
    flush_unless_blocked(c);
}

static void on_timeout(http__conn_t *c, const http__tick_t *t)
{
    if (t->gen != c->tgen || SOCK(c, CLOSED))
        return;
    c->tkind = HTTP__T_NONE;
    switch ((int)t->hdr.ref) {
    case HTTP__T_HEAD:
        if (c->phase == HTTP__PH_HEAD && c->rbuf && c->rbuf->start < c->rbuf->end)
            error_response(c, 408);
        else
            conn_close(c, 0);
        break;
    case HTTP__T_BODY:
        if (c->phase == HTTP__PH_RUN && c->want) {
            c->flags |= HTTP__C_BODY_ERR | HTTP__C_CLOSE_AFTER;
            c->want = 0;
            http__conn_reply(c, c->req, HTTP__M_BODY, -ETIMEDOUT);
        } else {
            conn_close(c, -ETIMEDOUT);
        }
        break;
    case HTTP__T_WRITE:
        conn_close(c, -ETIMEDOUT);
        break;
    default: /* IDLE, LINGER */
        conn_close(c, 0);
        break;
    }
}

static void on_stop(http__conn_t *c)
{
    if (c->flags & HTTP__C_STOPPING)
        return;
    c->flags |= HTTP__C_STOPPING;
    if (c->phase == HTTP__PH_RUN && (c->flags & HTTP__C_HEAD_SENT))
        c->flags |= HTTP__C_CLOSE_AFTER;
    /* An idle connection may have a request in its socket that the loop has not reported
     * yet: read once more before deciding it is idle. */
    if (c->phase == HTTP__PH_HEAD && !SOCK(c, CLOSED) &&
        (!c->rbuf || c->rbuf->start == c->rbuf->end)) {
        c->s.flags |= HTTP__S_RD_READY;
        conn_read(c);
    }
}

static void on_force(http__conn_t *c)
{
    c->flags |= HTTP__C_FORCED | HTTP__C_STOPPING;
    conn_close(c, -ECONNABORTED);
    if (c->fiber != ACT_PID_NONE && !(c->flags & HTTP__C_FIBER_EXITED))
        act_send_after(c->pid, HTTP__KILL_GRACE_MS,
                       act_msg_alloc(sizeof(act_msg_t), HTTP__M_KILL_FIBER), NULL);
}

static int conn_handle(void *state, act_msg_t *m)
{
    http__conn_t *c = state;
    switch (m->type) {
    case HTTP__M_KICK:
        c->flags &= ~HTTP__C_KICKED;
        break;
    case HTTP__M_OUT:
        on_out(c, (http__out_t *)m);
        break;
    case HTTP__M_READ:
        on_read_req(c, (http__read_t *)m);
        break;
    case HTTP__M_TIMEOUT:
        on_timeout(c, (http__tick_t *)m);
        break;
    case HTTP__M_STOP:
        on_stop(c);
        break;
    case HTTP__M_FORCE:
        on_force(c);
        break;
    case HTTP__M_KILL_FIBER:
        if (c->fiber != ACT_PID_NONE && !(c->flags & HTTP__C_FIBER_EXITED))
            act_exit(c->fiber, ACT_KILL);
        break;
    case HTTP__M_DONE: {
        const http__reply_t *d = (const http__reply_t *)m;
        if (d->req == c->req && c->req)
            on_fiber_done(c, d->status);
        break;
    }
    case ACT_MSG_EXIT: {
        const act_down_t *d = (const act_down_t *)m;
        if (d->reason != ACT_NORMAL) {
            /* Our supervisor is shutting us down (or died): close, then exit with its reason
             * once the fiber, told by CLOSED, has gone. */
            c->flags |= HTTP__C_FORCED;
            c->flags |= HTTP__C_SHUTDOWN;
            conn_close(c, -ECONNABORTED);
        }
        break;
    }
    default:
        break;
    }
    return conn_step(c) ? act_stop(c->flags & HTTP__C_SHUTDOWN ? ACT_SHUTDOWN : ACT_NORMAL) : 0;
}

/* ---- life ---------------------------------------------------------------------------------- */

static int conn_init(void *state, void *arg)
{
    (void)arg;
    http__conn_t *c = state;
    http__worker_t *w = c->w;
    c->flags |= HTTP__C_INIT_RAN;
    /* release: pairs with the worker's acquire load in its exit check. */
    atomic_fetch_sub_explicit(&w->incoming, 1, memory_order_release);
    /* A failure before INIT_OK leaves the block and the socket to the supervisor's failure
     * reply (http__conn_start_failed), as sup.h wants of a start's `extra`. */
    int rc = http__sock_open(&c->s, c->s.fd, w->efd);
    if (rc != 0)
        return rc;
    act_send(c->pid, act_msg_alloc(sizeof(act_msg_t), HTTP__M_STARTED)); /* to the starter */
    c->pid = act_self();
    c->flags |= HTTP__C_INIT_OK | HTTP__C_ACCEPTED_NEW;
    c->lnext = w->conns;
    if (w->conns)
        w->conns->lprev = c;
    w->conns = c;
    w->nconns++;
    c->phase = HTTP__PH_HEAD;
    rearm(c);
    /* Started after its worker was told to stop (WSTOP went to the connections it had): stop
     * as they do, reading once for a request that may be waiting, rather than waiting for the
     * header timeout with nothing to wake us. */
    if (w->stopping)
        act_send(c->pid, act_msg_alloc(sizeof(act_msg_t), HTTP__M_STOP));
    return 0;
}

static void conn_terminate(void *state, int reason)
{
    (void)reason;
    http__conn_t *c = state;
    http__worker_t *w = c->w;
    if (!(c->flags & HTTP__C_INIT_OK))
        return; /* init failed: the supervisor hands the block back to the worker */
    c->flags |= HTTP__C_TERMINATED;
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else if (w->conns == c)
        w->conns = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    w->nconns--;
    /* A fiber still running keeps its request and frees it when it exits; the close tells it
     * the connection is gone (CLOSED), so its waits end. */
    conn_close(c, -ECONNABORTED);
    if (w->stopping && w->nconns == 0)
        act_send(HTTP__PID(w->pid), act_msg_alloc(sizeof(act_msg_t), HTTP__M_DRAINED));
    http_server_t *srv = w->srv;
    act_free(c);
    http__server_unref(srv);
}

static const act_behaviour_t conn_behaviour = {
    .name = "http_conn",
    .init = conn_init,
    .handle = conn_handle,
    .terminate = conn_terminate,
};

static void peer_copy(http__peer_t *p, const struct sockaddr *sa, socklen_t len)
{
    if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        p->family = AF_INET;
        p->port = in->sin_port;
        memcpy(p->addr, &in->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        p->family = AF_INET6;
        p->port = in6->sin6_port;
        memcpy(p->addr, &in6->sin6_addr, 16);
    }
}

int http__conn_start(http__worker_t *from, http__worker_t *target, int fd,
                     const struct sockaddr *peer, socklen_t peer_len)
{
    http_server_t *srv = target->srv;
    http__conn_t *c = act_calloc(1, sizeof *c);
    if (!c)
        return ACT_ENOMEM;
    c->w = target;
    c->s.fd = fd;
    c->fiber = ACT_PID_NONE;
    peer_copy(&c->peer, peer, peer_len);
    http__server_ref(srv);
    /* relaxed: the start request's own publication orders it before the connection's init. */
    atomic_fetch_add_explicit(&target->incoming, 1, memory_order_relaxed);
    /* The supervisor answers only failures, with c back (http__conn_start_failed). */
    int rc =
        act_sup_start_child_async(HTTP__PID(target->conn_sup), c, ACT_SCHED_ON((int)target->index),
                                  ACT_SUP_REPLY_ERRORS, HTTP__PID(from->pid), 0);
    if (rc) {
        atomic_fetch_sub_explicit(&target->incoming, 1, memory_order_relaxed);
        http__server_unref(srv);
        act_free(c);
    }
    return rc;
}

static bool match_started(const act_msg_t *m, void *arg)
{
    act_pid_t pid = *(const act_pid_t *)arg;
    if (m->type == HTTP__M_STARTED)
        return m->from == pid;
    return m->type == ACT_MSG_EXIT && ((const act_down_t *)m)->pid == pid;
}

/* The supervisor's start function (runs in the supervisor's fiber). It does what
 * act_start_link does, without its wrapper behaviour (16 more bytes in every connection's actor
 * block, past a mimalloc size class, and an indirect call on every message): spawn linked to
 * the supervisor, then wait for the init's acknowledgement or the exit of a failed init (the
 * supervisor traps exits; an EXIT after a successful start stays queued for it). */
int http__conn_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    http__conn_t *c = cs->extra;
    c->pid = act_self(); /* the starter, until the init takes the field for its own pid */
    act_spawn_opts_t o = {.behaviour = &conn_behaviour,
                          .state = c,
                          .sched = cs->sched,
                          .link = true,
                          .trap_exit = true};
    act_pid_t pid;
    int rc = act_spawn(&o, &pid);
    if (rc)
        return rc;
    act_msg_t *m;
    if ((rc = act_receive(match_started, &pid, ACT_INFINITY, &m)) != 0)
        return rc;
    if (m->type == ACT_MSG_EXIT) {
        int reason = ((act_down_t *)m)->reason;
        act_msg_free(m);
        return reason < 0 ? reason : ACT_ECHILDSTART;
    }
    act_msg_free(m);
    *out = pid;
    return 0;
}

void http__conn_start_failed(http__worker_t *w, void *extra, int status)
{
    http__conn_t *c = extra;
    http_server_t *srv = w->srv;
    static _Atomic bool said;
    if (!atomic_exchange_explicit(&said, true, memory_order_relaxed))
        act_report_library("http", status, "port %u: a connection could not start", srv->port);
    if (!(c->flags & HTTP__C_INIT_RAN))
        atomic_fetch_sub_explicit(&c->w->incoming, 1, memory_order_relaxed);
    close(c->s.fd);
    /* Its worker may be waiting for it to stop (done() in listen.c). */
    act_send(HTTP__PID(c->w->pid), act_msg_alloc(sizeof(act_msg_t), HTTP__M_DRAINED));
    act_free(c);
    http__server_conn_gone(srv);
    http__server_unref(srv);
}

/* ---- making room at a limit --------------------------------------------------------------- */

/* Idle: waiting for a request with nothing buffered, nothing to write, no fiber. Closing it
 * loses nothing (a client must expect a keep-alive connection to close between requests). */
static bool drainable(const http__conn_t *c)
{
    return c->phase == HTTP__PH_HEAD && c->fiber == ACT_PID_NONE && !c->oq_head &&
           (!c->rbuf || c->rbuf->start == c->rbuf->end) && !SOCK(c, CLOSED) &&
           !(c->flags & HTTP__C_CORKED);
}

/* When c became idle: its deadline less its list's duration (wrap-safe 32-bit ms). */
static uint32_t idle_since(const http__conn_t *c)
{
    return c->deadline - (uint32_t)c->w->tl[c->tkind].ms;
}

/* The next drainable connection from c on along its timeout list (new connections share the
 * header timeout's list with ones halfway through a head: a bounded walk skips those). */
static http__conn_t *next_drainable(http__conn_t *c)
{
    for (int skip = 0; c && skip < 64; c = c->tnext, skip++)
        if (drainable(c))
            return c;
    return NULL;
}

/* As nginx's ngx_drain_connections: at the limit, the idle connections go first, the longest
 * idle first, so that new clients are served rather than left in the backlog. Both lists are
 * in arming order, so their heads are the oldest; the older of the two goes each time. The
 * close runs here, in the worker's turn on the connections' thread, as an I/O callback would:
 * the descriptor is free at once for the accept that needs it. */
unsigned http__conns_drain(http__worker_t *w)
{
    uint32_t waiting = w->tl[HTTP__T_IDLE].n + w->tl[HTTP__T_HEAD].n;
    uint32_t max = waiting / 8 > 32 ? 32 : (waiting / 8 ? waiting / 8 : 1);
    unsigned n = 0;
    while (n < max) {
        http__conn_t *idle = next_drainable(w->tl[HTTP__T_IDLE].head);
        http__conn_t *fresh = next_drainable(w->tl[HTTP__T_HEAD].head);
        http__conn_t *c = idle;
        if (!c || (fresh && (int32_t)(idle_since(fresh) - idle_since(idle)) < 0))
            c = fresh;
        if (!c)
            break;
        conn_close(c, 0); /* unlinks it from its list */
        drive(c);
        n++;
    }
    return n;
}

/* The worker asks its connections to stop (graceful) or to close now (forced). */
void http__conns_signal(http__worker_t *w, uint32_t type)
{
    for (http__conn_t *c = w->conns; c; c = c->lnext)
        act_send(c->pid, act_msg_alloc(sizeof(act_msg_t), type));
}
