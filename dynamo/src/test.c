/*
 * The test adapter and helpers (test.h): a conn with no socket, run in a fiber as a request
 * would be, its response captured.
 *
 * The conn, its request data and the capture live in the conn's own arena; the instance built
 * for a run (compiled routers, plug states) stays with the conn until dyn_test_conn_free, so
 * everything the conn points at is readable after the run. The run's fiber is monitored: its
 * DOWN is the hand-off that makes the conn safe to read on the test's thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arena_int.h"
#include "conn_int.h"
#include "dynamo/test.h"

typedef struct test_io {
    http_header_t *hdrs;
    size_t nh, caph;
    const char *body;
    size_t body_len, body_off;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    dyn__inst_t *inst; /* the run's, freed with the conn */
    /* captured */
    int status;
    bool sent;
    bool aborted;
    dyn_buf_t out;
    size_t chunks;
} test_io_t;

static test_io_t *io_of(const dyn_conn_t *c)
{
    return c->io;
}

static void capture(dyn_conn_t *c, const void *data, size_t len)
{
    /* A HEAD request's response has no body, as over a socket. */
    if (c->orig_method != HTTP_METHOD_HEAD)
        dyn_buf_put(&io_of(c)->out, data, len);
}

static int t_send(dyn_conn_t *c, const void *body, size_t len)
{
    test_io_t *io = io_of(c);
    io->status = c->status;
    io->sent = true;
    capture(c, body, len);
    return 0;
}

static int t_start(dyn_conn_t *c)
{
    test_io_t *io = io_of(c);
    io->status = c->status;
    io->sent = true;
    return 0;
}

static int t_write(dyn_conn_t *c, const void *data, size_t len)
{
    io_of(c)->chunks++;
    capture(c, data, len);
    return 0;
}

static int t_end(dyn_conn_t *c)
{
    (void)c;
    return 0;
}

static int t_sendfile(dyn_conn_t *c, int fd, off_t off, size_t len)
{
    test_io_t *io = io_of(c);
    io->status = c->status;
    io->sent = true;
    char buf[16384];
    while (len) {
        ssize_t n = pread(fd, buf, len < sizeof buf ? len : sizeof buf, off);
        if (n <= 0)
            return n < 0 ? -errno : -EINVAL;
        capture(c, buf, (size_t)n);
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

static ssize_t t_read(dyn_conn_t *c, void *buf, size_t cap)
{
    test_io_t *io = io_of(c);
    size_t n = io->body_len - io->body_off;
    if (n > cap)
        n = cap;
    if (n)
        memcpy(buf, io->body + io->body_off, n);
    io->body_off += n;
    return (ssize_t)n;
}

static int t_peer(const dyn_conn_t *c, struct sockaddr_storage *addr, socklen_t *len)
{
    const test_io_t *io = io_of(c);
    *addr = io->peer;
    *len = io->peer_len;
    return io->peer_len ? 0 : -ENOTCONN;
}

static const dyn__adapter_t test_adapter = {
    .name = "test",
    .send = t_send,
    .start = t_start,
    .write = t_write,
    .end = t_end,
    .sendfile = t_sendfile,
    .read = t_read,
    .peer = t_peer,
};

static void *must(void *p)
{
    if (!p)
        act_fatal("dyn_test: out of memory");
    return p;
}

dyn_conn_t *dyn_test_conn_str(const char *method, const char *target)
{
    dyn_arena_t *a = must(dyn_arena_new());
    test_io_t *io = must(dyn_arena_calloc(a, 1, sizeof *io));
    dyn_conn_t *c = must(dyn__conn_new(a, NULL, &test_adapter, io));
    dyn_buf_init(&io->out, a, 256);
    http_method_t m = HTTP_METHOD_OTHER;
    for (int i = HTTP_METHOD_GET; i <= HTTP_METHOD_CONNECT; i++)
        if (strcmp(method, http_method_name((http_method_t)i)) == 0)
            m = (http_method_t)i;
    c->method = c->orig_method = (uint8_t)m;
    c->method_str = c->orig_method_str = must(dyn_arena_strndup(a, method, strlen(method)));
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    c->path = must(dyn_arena_strndup(a, target, plen));
    c->query = q ? must(dyn_arena_strndup(a, q + 1, strlen(q + 1))) : "";
    struct sockaddr_in *in = (struct sockaddr_in *)&io->peer;
    in->sin_family = AF_INET;
    in->sin_port = htons(50000);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    io->peer_len = sizeof *in;
    return c;
}

dyn_conn_t *dyn_test_conn(http_method_t method, const char *target)
{
    return dyn_test_conn_str(http_method_name(method), target);
}

dyn_conn_t *dyn_test_put_req_header(dyn_conn_t *c, const char *name, const char *value)
{
    test_io_t *io = io_of(c);
    if (io->nh == io->caph) {
        size_t ncap = io->caph ? io->caph * 2 : 8;
        http_header_t *n = must(dyn_arena_alloc(c->arena, ncap * sizeof *n));
        if (io->nh)
            memcpy(n, io->hdrs, io->nh * sizeof *n);
        io->hdrs = n;
        io->caph = ncap;
    }
    size_t nl = strlen(name), vl = strlen(value);
    char *nn = must(dyn_arena_strndup(c->arena, name, nl));
    for (size_t i = 0; i < nl; i++)
        nn[i] = (char)tolower((unsigned char)nn[i]);
    char *vv = must(dyn_arena_strndup(c->arena, value, vl));
    io->hdrs[io->nh++] = (http_header_t){nn, vv, (uint32_t)nl, (uint32_t)vl};
    c->headers = io->hdrs;
    c->nheaders = io->nh;
    if (strcmp(nn, "host") == 0) {
        c->host_hdr = vv;
        c->host_done = false;
    }
    return c;
}

dyn_conn_t *dyn_test_put_body(dyn_conn_t *c, const void *body, size_t len)
{
    test_io_t *io = io_of(c);
    char *copy = must(dyn_arena_alloc(c->arena, len + 1));
    memcpy(copy, body, len);
    copy[len] = '\0';
    io->body = copy;
    io->body_len = len;
    io->body_off = 0;
    char clen[24];
    snprintf(clen, sizeof clen, "%zu", len);
    return dyn_test_put_req_header(c, "content-length", clen);
}

dyn_conn_t *dyn_test_put_version(dyn_conn_t *c, int version)
{
    c->version = (uint8_t)version;
    return c;
}

dyn_conn_t *dyn_test_put_peer(dyn_conn_t *c, const char *addr, uint16_t port)
{
    test_io_t *io = io_of(c);
    memset(&io->peer, 0, sizeof io->peer);
    struct sockaddr_in *in = (struct sockaddr_in *)&io->peer;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&io->peer;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        io->peer_len = sizeof *in;
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        io->peer_len = sizeof *in6;
    } else {
        io->peer_len = 0;
    }
    c->peer_text = NULL;
    return c;
}

/* ---- running ------------------------------------------------------------------------------ */

static void run_fiber(void *arg)
{
    dyn_conn_t *c = arg;
    dyn__stats_t *st = dyn__inst_stats(c->inst);
    atomic_store_explicit(&st->requests,
                          atomic_load_explicit(&st->requests, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (dyn__pipeline(c) != 0)
        io_of(c)->aborted = true;
}

static bool match_down(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_DOWN && m->ref == *(act_ref_t *)arg;
}

static dyn_conn_t *run(const dyn_dynamo_t *d, dyn_conn_t *c)
{
    test_io_t *io = io_of(c);
    if (io->inst)
        act_fatal("dyn_test: a test conn runs once");
    char err[512];
    int rc = dyn__inst_new(d, &io->inst, err, sizeof err);
    if (rc)
        act_fatal("dyn_test: %s (%s)", err, dyn_err_name(rc));
    c->inst = io->inst;
    act_ref_t ref;
    act_spawn_opts_t o = {.fiber = run_fiber, .arg = c, .monitor = &ref};
    if ((rc = act_spawn(&o, NULL)) != 0)
        act_fatal("dyn_test: cannot spawn the request fiber: %s", act_strerror(rc));
    act_msg_t *m;
    act_receive(match_down, &ref, ACT_INFINITY, &m);
    act_down_t *dn = (act_down_t *)m;
    if (dn->reason != ACT_NORMAL)
        io->aborted = true;
    act_msg_free(m);
    return c;
}

dyn_conn_t *dyn_test_run(const dyn_router_t *router, dyn_conn_t *c)
{
    dyn_dynamo_t *d = must(dyn_arena_calloc(c->arena, 1, sizeof *d));
    d->name = "test";
    d->endpoint = router;
    d->env = DYN_ENV_TEST;
    return run(d, c);
}

dyn_conn_t *dyn_test_run_dynamo(const dyn_dynamo_t *d, dyn_conn_t *c)
{
    return run(d, c);
}

int dyn_test_status(const dyn_conn_t *c)
{
    return io_of(c)->sent ? io_of(c)->status : 0;
}

const char *dyn_test_body(const dyn_conn_t *c, size_t *len)
{
    const test_io_t *io = io_of(c);
    if (len)
        *len = io->out.len;
    return io->out.data ? io->out.data : "";
}

size_t dyn_test_chunks(const dyn_conn_t *c)
{
    return io_of(c)->chunks;
}

bool dyn_test_aborted(const dyn_conn_t *c)
{
    return io_of(c)->aborted;
}

bool dyn_test_sent(const dyn_conn_t *c)
{
    return io_of(c)->sent;
}

void dyn_test_conn_free(dyn_conn_t *c)
{
    if (!c)
        return;
    dyn__inst_t *in = io_of(c)->inst;
    dyn_arena_t *a = c->arena;
    dyn__arena_release(a); /* cleanups first: they may still read the instance's plugs */
    dyn__inst_free(in);
    dyn_arena_free(a);
}
