/*
 * Requests, fiber side: the accessors, the body readers and the fiber's main function.
 *
 * Reading the body is a request/reply with the connection: the fiber sends how much it wants
 * (HTTP__M_READ), the connection answers with what the socket has (HTTP__M_BODY), reading the
 * socket only then. One piece in flight at a time: the client is never read faster than the
 * handler consumes.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actor/report.h"
#include "req_int.h"

/* Largest piece one read asks for: bounds the message the connection allocates. */
#define HTTP__READ_MAX (256 * 1024)

void http__req_free(http_req_t *req)
{
    if (req->on_free)
        req->on_free(req->on_free_arg);
    http_server_t *srv = req->srv;
    http__arena_blk_t *b = req->arena.extra;
    while (b) {
        http__arena_blk_t *next = b->next;
        act_free(b);
        b = next;
    }
    http__pool_put(&req->w->arenas, req);
    http__server_unref(srv);
}

/* The fiber's exit hook: runs however the fiber ends, before its connection hears of it. The
 * message to the connection goes last: in a fiber being killed, the runtime fails any send
 * again right after it is delivered (act_send sees the kill still pending), which would skip
 * whatever followed it in this hook. */
static void req_on_exit(void *arg, int reason)
{
    http_req_t *req = arg;
    act_pid_t conn = req->conn;
    bool tell = !req->final_sent; /* a crash, a kill, or a connection that went away */
    uintptr_t token = (uintptr_t)req;
    if (reason != ACT_NORMAL && !req->closed) {
        char pid[ACT_PID_STRLEN];
        act_report_library("http", reason, "handler %s for %s %s crashed",
                           act_pid_str(act_self(), pid), req->method_str, req->target);
    }
    http__req_free(req);
    if (tell) {
        http__reply_t *d = act_msg_new(http__reply_t, HTTP__M_DONE);
        d->req = (http_req_t *)token; /* a token: the connection never dereferences it */
        d->status = reason;
        act_send(conn, &d->hdr);
    }
}

void http__req_fiber(void *arg)
{
    http_req_t *req = arg;
    act_fiber_on_exit(req_on_exit, req);
    http_server_t *srv = req->srv;
    srv->cfg.handler(req, srv->cfg.handler_arg);
    http__resp_finish(req);
}

http_method_t http_req_method(const http_req_t *req)
{
    return (http_method_t)req->method;
}

const char *http_req_method_str(const http_req_t *req)
{
    return req->method_str;
}

const char *http_req_target(const http_req_t *req)
{
    return req->target;
}

const char *http_req_path(const http_req_t *req)
{
    return req->path;
}

const char *http_req_query(const http_req_t *req)
{
    return req->query;
}

const char *http_req_host(const http_req_t *req)
{
    return req->host;
}

int http_req_version(const http_req_t *req)
{
    return req->version;
}

int http_req_peer(const http_req_t *req, struct sockaddr_storage *addr, socklen_t *len)
{
    memset(addr, 0, sizeof *addr);
    if (req->peer.family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_port = req->peer.port;
        memcpy(&in->sin_addr, req->peer.addr, 4);
        *len = sizeof *in;
        return 0;
    }
    if (req->peer.family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = req->peer.port;
        memcpy(&in6->sin6_addr, req->peer.addr, 16);
        *len = sizeof *in6;
        return 0;
    }
    *len = 0;
    return -ENOTCONN;
}

static const char *find_field(const http_header_t *h, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0)
            return h[i].value;
    return NULL;
}

const char *http_req_header(const http_req_t *req, const char *name)
{
    return find_field(req->headers, req->nheaders, name);
}

const http_header_t *http_req_headers(const http_req_t *req, size_t *n)
{
    *n = req->nheaders;
    return req->headers;
}

int64_t http_req_content_length(const http_req_t *req)
{
    return req->content_length;
}

bool http_req_has_body(const http_req_t *req)
{
    return req->chunked || req->content_length > 0;
}

const char *http_req_trailer(const http_req_t *req, const char *name)
{
    return find_field(req->trailers, req->ntrailers, name);
}

const http_header_t *http_req_trailers(const http_req_t *req, size_t *n)
{
    *n = req->ntrailers;
    return req->trailers;
}

void *http_req_alloc(http_req_t *req, size_t size)
{
    return http__arena_alloc(&req->arena, size);
}

char *http_req_strndup(http_req_t *req, const char *s, size_t len)
{
    char *p = http__arena_alloc(&req->arena, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

int http_req_on_free(http_req_t *req, void (*fn)(void *arg), void *arg)
{
    if (req->on_free && fn)
        return HTTP_ESTATE;
    req->on_free = fn;
    req->on_free_arg = arg;
    return 0;
}

http_server_t *http_req_server(const http_req_t *req)
{
    return req->srv;
}

act_pid_t http_req_conn(const http_req_t *req)
{
    return req->conn;
}

uint32_t http_req_seq(const http_req_t *req)
{
    return req->seq;
}

static void keep_trailers(http_req_t *req, const char *raw, size_t len)
{
    char *copy = http__arena_alloc(&req->arena, len + 1);
    if (!copy)
        return;
    memcpy(copy, raw, len);
    copy[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += copy[i] == '\n';
    http_header_t *t = http__arena_alloc(&req->arena, n * sizeof *t);
    if (!t)
        return;
    req->trailers = t;
    req->ntrailers = (uint32_t)http__fields_split(copy, len, t, n);
}

ssize_t http_req_body_read(http_req_t *req, void *buf, size_t cap)
{
    if (req->body_eof)
        return 0;
    if (req->body_err)
        return req->body_err;
    if (req->closed)
        return req->closed;
    if (!http_req_has_body(req)) {
        req->body_eof = true;
        return 0;
    }
    if (cap == 0)
        return ACT_EBADARG;
    http__read_t *rd = act_msg_new(http__read_t, HTTP__M_READ);
    rd->req = req;
    rd->max = (uint32_t)(cap < HTTP__READ_MAX ? cap : HTTP__READ_MAX);
    act_send(req->conn, &rd->hdr);
    http__reply_t *r = http__wait_reply(req);
    if (!r)
        return req->closed;
    http__body_msg_t *b = (http__body_msg_t *)r;
    ssize_t n = r->status;
    if (n < 0) {
        req->body_err = (int)n;
    } else {
        memcpy(buf, b->data, b->len);
        n = b->len;
        if (b->eof) {
            req->body_eof = true;
            if (b->tlen)
                keep_trailers(req, b->data + b->len, b->tlen);
        }
    }
    act_msg_free(&r->hdr);
    return n;
}

int http_req_body_all(http_req_t *req, size_t max, const char **out, size_t *len)
{
    if (max == 0 || max > req->srv->lim.max_body_size)
        max = req->srv->lim.max_body_size > SIZE_MAX - 1 ? SIZE_MAX - 1
                                                         : (size_t)req->srv->lim.max_body_size;
    *out = NULL;
    *len = 0;
    if (req->content_length >= 0 && (uint64_t)req->content_length > max)
        return HTTP_ETOOLARGE;
    size_t cap = req->content_length >= 0 ? (size_t)req->content_length : 4096;
    if (cap > max)
        cap = max;
    char *buf = http__arena_alloc(&req->arena, cap + 1);
    if (!buf)
        return ACT_ENOMEM;
    size_t have = 0;
    for (;;) {
        if (have == cap) {
            if (req->content_length >= 0 || cap >= max) {
                /* Declared length reached (or the cap): anything more is too much. */
                char probe;
                ssize_t n = http_req_body_read(req, &probe, 1);
                if (n == 0)
                    break;
                return n < 0 ? (int)n : HTTP_ETOOLARGE;
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *nb = http__arena_alloc(&req->arena, ncap + 1);
            if (!nb)
                return ACT_ENOMEM;
            memcpy(nb, buf, have);
            buf = nb;
            cap = ncap;
        }
        ssize_t n = http_req_body_read(req, buf + have, cap - have);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        have += (size_t)n;
    }
    buf[have] = '\0';
    *out = buf;
    *len = have;
    return 0;
}
