/*
 * The conn over the HTTP layer: the handler every Dynamo's server runs, and the adapter that
 * turns a conn's response into http_resp_* calls.
 *
 * The handler runs in the request's fiber (the request actor). It takes a reference on the
 * Dynamo's instance by token (a stopped Dynamo answers 503), builds the conn in the request's
 * arena, runs the pipeline, and drops the reference. The conn's arena cleanups (pointer
 * assigns' destructors) run when the HTTP layer frees the request, however the fiber ends.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena_int.h"
#include "buf_int.h"
#include "conn_int.h"

/* Headers the HTTP layer writes itself: a conn's own would be duplicates. Names are lowercase
 * (conn.c), so a length check rules nearly all others out without a compare. */
static bool server_owned(const http_header_t *h)
{
    switch (h->name_len) {
    case 4:
        return memcmp(h->name, "date", 4) == 0;
    case 6:
        return memcmp(h->name, "server", 6) == 0;
    case 10:
        return memcmp(h->name, "connection", 10) == 0;
    case 14:
        return memcmp(h->name, "content-length", 14) == 0;
    case 17:
        return memcmp(h->name, "transfer-encoding", 17) == 0;
    }
    return false;
}

/* The conn checked every header as it was set (conn.c) and keeps them in its arena, which
 * lives until the HTTP layer frees the request: the layer borrows them unchecked. */
static void put_headers(dyn_conn_t *c, http_req_t *req)
{
    for (uint32_t i = 0; i < c->nrh; i++)
        if (!server_owned(&c->rh[i]))
            http_resp_header_checked(req, c->rh[i].name, c->rh[i].name_len, c->rh[i].value,
                                     c->rh[i].value_len);
}

static int h_send(dyn_conn_t *c, const void *body, size_t len)
{
    http_req_t *req = c->io;
    put_headers(c, req);
    return http_resp_send(req, c->status, body, len);
}

static int h_start(dyn_conn_t *c)
{
    http_req_t *req = c->io;
    put_headers(c, req);
    return http_resp_start(req, c->status);
}

static int h_write(dyn_conn_t *c, const void *data, size_t len)
{
    return http_resp_write(c->io, data, len);
}

static int h_end(dyn_conn_t *c)
{
    return http_resp_end(c->io, NULL, 0);
}

static int h_sendfile(dyn_conn_t *c, int fd, off_t off, size_t len)
{
    http_req_t *req = c->io;
    put_headers(c, req);
    char clen[DYN__INT_TEXT_MAX + 1], *end = clen + DYN__INT_TEXT_MAX;
    *end = '\0';
    int rc = http_resp_header(req, "Content-Length", dyn__utoa_back(len, end));
    if (rc == 0)
        rc = http_resp_start(req, c->status);
    if (rc == 0 && len)
        rc = http_resp_sendfile(req, fd, off, len);
    if (rc == 0)
        rc = http_resp_end(req, NULL, 0);
    return rc;
}

static ssize_t h_read(dyn_conn_t *c, void *buf, size_t cap)
{
    return http_req_body_read(c->io, buf, cap);
}

static int h_peer(const dyn_conn_t *c, struct sockaddr_storage *addr, socklen_t *len)
{
    return http_req_peer(c->io, addr, len);
}

static const dyn__adapter_t http_adapter = {
    .name = "http",
    .send = h_send,
    .start = h_start,
    .write = h_write,
    .end = h_end,
    .sendfile = h_sendfile,
    .read = h_read,
    .peer = h_peer,
};

static void *backing(void *ctx, size_t size)
{
    return http_req_alloc(ctx, size);
}

static void unavailable(http_req_t *req)
{
    http_resp_header(req, "Content-Type", "text/plain; charset=utf-8");
    http_resp_send(req, 503, "Service Unavailable\n", 20);
}

void dyn__http_handler(http_req_t *req, void *arg)
{
    dyn__inst_t *in = dyn__inst_acquire((uint64_t)(uintptr_t)arg);
    if (ACT_UNLIKELY(!in)) {
        unavailable(req); /* a Dynamo stopping: its server still drains */
        return;
    }
    dyn_arena_t *a = dyn__arena_backed(backing, req);
    dyn_conn_t *c = a ? dyn__conn_new(a, in, &http_adapter, req) : NULL;
    if (ACT_UNLIKELY(!c)) {
        dyn__inst_release(in);
        unavailable(req);
        return;
    }
    http_req_on_free(req, dyn__arena_release, a);
    c->method = c->orig_method = (uint8_t)http_req_method(req);
    c->method_str = c->orig_method_str = http_req_method_str(req);
    c->version = (uint8_t)http_req_version(req);
    c->path = http_req_path(req);
    c->query = http_req_query(req);
    c->host_hdr = http_req_host(req);
    c->headers = http_req_headers(req, &c->nheaders);
    dyn__stats_t *st = dyn__inst_stats(in);
    atomic_store_explicit(&st->requests,
                          atomic_load_explicit(&st->requests, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    int abort_reason = dyn__pipeline(c);
    dyn__inst_release(in);
    if (abort_reason)
        act_fail(abort_reason); /* a streamed response was cut: the connection closes */
}
