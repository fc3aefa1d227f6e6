/*
 * Responses, written by the request's fiber.
 *
 * Every piece of output is one message to the connection (http__out_t): the head and the
 * first body bytes travel together, so a small response is one message and, usually, one
 * write(2). The connection inserts the Connection header itself (it alone knows whether the
 * connection will stay open when the head goes out), at head_end.
 *
 * Back-pressure: the fiber counts the bytes it sent since its last flush mark; past
 * HTTP__HWM it sends a mark and waits for its ACK, which the connection sends once everything
 * before the mark has been written to the socket. So at most about HTTP__HWM bytes of a
 * response wait in the connection's queue, whatever the client's speed.
 */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "req_int.h"

#define HTTP__HWM (64 * 1024)
#define HTTP__PIECE (64 * 1024) /* largest body piece per message */

/* ---- formatting ------------------------------------------------------------------------------ */

static inline char *put(char *p, const char *s, size_t n)
{
    if (n)
        memcpy(p, s, n);
    return p + n;
}
#define PUTS(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_hex(char *p, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = hex[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_status(char *p, int status)
{
    if (status < 100 || status > 999)
        status = 500;
    p = PUTS(p, "HTTP/1.1 ");
    *p++ = (char)('0' + status / 100);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    const char *r = http_status_reason(status);
    p = put(p, r, strlen(r));
    return PUTS(p, "\r\n");
}

/* Bytes of everything but user headers: status line, Server, Date, length line, end. */
#define HEAD_FIXED 128

typedef struct head_args {
    http__worker_t *w;
    int status;
    int64_t clen; /* >= 0: Content-Length; -1: chunked; -2: none */
    const http__rhdr_t *hdrs;
    bool has_server;
    bool has_date;
} head_args_t;

static size_t head_size(const head_args_t *a)
{
    size_t n = HEAD_FIXED + a->w->srv->server_name_len;
    for (const http__rhdr_t *h = a->hdrs; h; h = h->next)
        n += h->name_len + h->value_len + 4;
    return n;
}

/* Formats the head into p; returns the end. *head_end gets the offset of the final CRLF. */
static char *format_head(char *start, const head_args_t *a, uint32_t *head_end)
{
    char *p = put_status(start, a->status);
    const http_server_t *srv = a->w->srv;
    if (srv->server_name_len && !a->has_server) {
        p = PUTS(p, "Server: ");
        p = put(p, srv->cfg.server_name, srv->server_name_len);
        p = PUTS(p, "\r\n");
    }
    if (!a->has_date) {
        p = PUTS(p, "Date: ");
        p = put(p, http__date(a->w), 29);
        p = PUTS(p, "\r\n");
    }
    for (const http__rhdr_t *h = a->hdrs; h; h = h->next) {
        p = put(p, h->name, h->name_len);
        p = PUTS(p, ": ");
        p = put(p, h->value, h->value_len);
        p = PUTS(p, "\r\n");
    }
    if (a->clen >= 0) {
        p = PUTS(p, "Content-Length: ");
        p = put_u64(p, (uint64_t)a->clen);
        p = PUTS(p, "\r\n");
    } else if (a->clen == -1) {
        p = PUTS(p, "Transfer-Encoding: chunked\r\n");
    }
    *head_end = (uint32_t)(p - start);
    return PUTS(p, "\r\n");
}

http__out_t *http__out_alloc(size_t len, uint16_t flags)
{
    http__out_t *o = (http__out_t *)act_msg_alloc(sizeof(http__out_t) + len, HTTP__M_OUT);
    o->next = NULL;
    o->req = NULL;
    o->len = (uint32_t)len;
    o->head_end = 0;
    o->sent = 0;
    o->flags = flags;
    o->ins = NULL;
    o->ins_len = 0;
    return o;
}

static bool nobody_status(int status)
{
    return status < 200 || status == 204 || status == 304;
}

http__out_t *http__out_simple(http__worker_t *w, int status, bool head_only)
{
    const char *reason = http_status_reason(status);
    size_t rlen = strlen(reason);
    static const http__rhdr_t ctype = {
        .name = "Content-Type", .name_len = 12, .value = "text/plain", .value_len = 10};
    head_args_t a = {.w = w, .status = status, .clen = (int64_t)rlen + 1, .hdrs = &ctype};
    size_t blen = head_only ? 0 : rlen + 1;
    http__out_t *o = http__out_alloc(head_size(&a) + blen, HTTP__OUT_HEAD | HTTP__OUT_FINAL);
    char *p = format_head(o->data, &a, &o->head_end);
    if (!head_only) {
        p = put(p, reason, rlen);
        *p++ = '\n';
    }
    o->len = (uint32_t)(p - o->data);
    return o;
}

static head_args_t args_of(http_req_t *req, int64_t clen)
{
    head_args_t a = {.w = req->w, .status = req->status, .clen = clen, .hdrs = req->rhdrs};
    for (const http__rhdr_t *h = req->rhdrs; h; h = h->next) {
        if (h->name_len == 6 && strncasecmp(h->name, "server", 6) == 0)
            a.has_server = true;
        else if (h->name_len == 4 && strncasecmp(h->name, "date", 4) == 0)
            a.has_date = true;
    }
    return a;
}

/* A message with the head, then `prefix`, body bytes, `suffix` (chunk framing). */
static http__out_t *out_with_head(http_req_t *req, int64_t clen, const char *prefix, size_t plen,
                                  const void *body, size_t blen, const char *suffix, size_t slen,
                                  uint16_t flags)
{
    head_args_t a = args_of(req, clen);
    http__out_t *o = http__out_alloc(head_size(&a) + plen + blen + slen, flags | HTTP__OUT_HEAD);
    char *p = format_head(o->data, &a, &o->head_end);
    p = put(p, prefix, plen);
    p = put(p, body, blen);
    p = put(p, suffix, slen);
    o->len = (uint32_t)(p - o->data);
    return o;
}

/* ---- talking to the connection --------------------------------------------------------------- */

static bool match_reply(const act_msg_t *m, void *arg)
{
    return (m->type == HTTP__M_ACK || m->type == HTTP__M_BODY || m->type == HTTP__M_CLOSED) &&
           ((const http__reply_t *)m)->req == arg;
}

/* Waits for the connection's next reply to this request. Returns the reply (caller frees), or
 * NULL after CLOSED (req->closed is set). */
http__reply_t *http__wait_reply(http_req_t *req)
{
    act_msg_t *m = NULL;
    if (act_receive(match_reply, req, ACT_INFINITY, &m) != 0)
        return NULL; /* not a fiber: cannot happen for a handler */
    http__reply_t *r = (http__reply_t *)m;
    if (m->type == HTTP__M_CLOSED) {
        req->closed = r->status ? r->status : -EPIPE;
        act_msg_free(m);
        return NULL;
    }
    return r;
}

/* Sends a flush mark (or a file range) and waits for its ACK. */
static int wait_ack(http_req_t *req, http__out_t *o)
{
    o->flags |= HTTP__OUT_WAIT;
    o->req = req;
    act_send(req->conn, &o->hdr);
    req->unacked = 0;
    http__reply_t *r = http__wait_reply(req);
    if (!r)
        return req->closed;
    int st = r->status;
    act_msg_free(&r->hdr);
    if (st < 0 && st != -EINVAL && st != -EIO)
        req->closed = st;
    return st;
}

static int send_out(http_req_t *req, http__out_t *o)
{
    size_t len = o->len;
    o->req = req;
    if (o->flags & HTTP__OUT_FINAL)
        req->final_sent = true;
    act_send(req->conn, &o->hdr);
    req->unacked += len;
    if (req->unacked > HTTP__HWM)
        return wait_ack(req, http__out_alloc(0, 0));
    return 0;
}

/* ---- the API --------------------------------------------------------------------------------- */

/* A field the server may send (RFC 9110 5.1, 5.5): the name a token, the value without CTLs
 * but HTAB (obs-text allowed). Anything else would make an invalid message, or a second one. */
static bool field_ok(const char *s, size_t n, bool name)
{
    if (name) {
        if (n == 0)
            return false;
        for (size_t i = 0; i < n; i++)
            if (!http__tchar[(unsigned char)s[i]])
                return false;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool parse_clen(const char *v, size_t n, int64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = (int64_t)x;
    return true;
}

static void append_header(http_req_t *req, http__rhdr_t *h, const char *name, size_t name_len,
                          const char *value, size_t value_len)
{
    h->name = name;
    h->value = value;
    h->name_len = (uint32_t)name_len;
    h->value_len = (uint32_t)value_len;
    h->next = NULL;
    if (req->rhdrs_tail)
        req->rhdrs_tail->next = h;
    else
        req->rhdrs = h;
    req->rhdrs_tail = h;
    req->nrhdrs++;
}

#ifndef NDEBUG
/* The fields http_resp_headern interprets rather than adds: a checked header must not name
 * them. */
static bool server_field(const char *name, size_t n)
{
    static const char *const own[] = {"content-length", "connection", "transfer-encoding"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (n == strlen(own[i]) && strncasecmp(name, own[i], n) == 0)
            return true;
    return false;
}
#endif

int http_resp_headern(http_req_t *req, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    if (req->resp != HTTP__R_NONE && req->resp != HTTP__R_STREAM)
        return HTTP_ESTATE;
    if (!field_ok(name, name_len, true) || !field_ok(value, value_len, false))
        return HTTP_ESTATE;
    if (name_len == 14 && strncasecmp(name, "content-length", 14) == 0)
        return parse_clen(value, value_len, &req->resp_clen) ? 0 : HTTP_ESTATE;
    if (name_len == 10 && strncasecmp(name, "connection", 10) == 0) {
        if (value_len == 5 && strncasecmp(value, "close", 5) == 0)
            req->resp_close = true;
        return 0;
    }
    if (name_len == 17 && strncasecmp(name, "transfer-encoding", 17) == 0)
        return 0;
    http__rhdr_t *h = http__arena_alloc(&req->arena, sizeof *h + name_len + value_len + 2);
    if (!h)
        return ACT_ENOMEM;
    char *copy = (char *)(h + 1);
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    memcpy(copy + name_len + 1, value, value_len);
    copy[name_len + 1 + value_len] = '\0';
    append_header(req, h, copy, name_len, copy + name_len + 1, value_len);
    return 0;
}

int http_resp_header_checked(http_req_t *req, const char *name, size_t name_len, const char *value,
                             size_t value_len)
{
    if (req->resp != HTTP__R_NONE && req->resp != HTTP__R_STREAM)
        return HTTP_ESTATE;
    assert(field_ok(name, name_len, true) && field_ok(value, value_len, false));
    assert(!server_field(name, name_len));
    http__rhdr_t *h = http__arena_alloc(&req->arena, sizeof *h);
    if (!h)
        return ACT_ENOMEM;
    append_header(req, h, name, name_len, value, value_len);
    return 0;
}

int http_resp_header(http_req_t *req, const char *name, const char *value)
{
    return http_resp_headern(req, name, strlen(name), value, strlen(value));
}

static uint16_t close_flag(http_req_t *req)
{
    return (req->resp_close || req->body_err) ? HTTP__OUT_CLOSE : 0;
}

/* A handler's status: a final one, 200-999. A 1xx is an interim response (the server sends 100
 * itself): as the final one it would leave the client waiting for another, so it and anything
 * out of range go out as 500, a valid message. */
static int final_status(int status)
{
    return status >= 200 && status <= 999 ? status : 500;
}

int http_resp_start(http_req_t *req, int status)
{
    if (req->resp != HTTP__R_NONE)
        return HTTP_ESTATE;
    status = final_status(status);
    req->status = status;
    req->resp = HTTP__R_STREAM;
    req->resp_nobody = req->method == HTTP_METHOD_HEAD || nobody_status(status) || status == 205;
    if (nobody_status(status)) {
        req->resp_clen = -2;
    } else if (status == 205) {
        req->resp_clen = 0; /* RFC 9110 15.3.6: no content, said with Content-Length: 0 */
    } else if (req->resp_clen < 0) {
        if (req->version == 11) {
            req->resp_chunked = true;
        } else {
            req->resp_close = true; /* HTTP/1.0: the end of the body is the close */
            req->resp_clen = -2;
        }
    }
    return 0;
}

int http_resp_send(http_req_t *req, int status, const void *body, size_t len)
{
    if (req->resp != HTTP__R_NONE)
        return HTTP_ESTATE;
    if (req->closed)
        return req->closed;
    status = final_status(status);
    if (status == 205)
        len = 0; /* RFC 9110 15.3.6: no content */
    bool nobody = nobody_status(status);
    size_t blen = (nobody || req->method == HTTP_METHOD_HEAD) ? 0 : len;
    if (blen <= HTTP__PIECE) {
        req->status = status;
        req->resp = HTTP__R_DONE;
        http__out_t *o = out_with_head(req, nobody ? -2 : (int64_t)len, NULL, 0, body, blen, NULL,
                                       0, HTTP__OUT_FINAL | close_flag(req));
        return send_out(req, o);
    }
    req->resp_clen = (int64_t)len;
    http_resp_start(req, status);
    int rc = http_resp_write(req, body, len);
    if (rc)
        return rc;
    return http_resp_end(req, NULL, 0);
}

static int64_t head_clen(http_req_t *req)
{
    if (req->resp_chunked)
        return -1;
    return req->resp_clen;
}

/* Sends the head now, alone (before a file range, or at the end of an empty body). */
static int send_head(http_req_t *req, uint16_t flags)
{
    http__out_t *o = out_with_head(req, head_clen(req), NULL, 0, NULL, 0, NULL, 0, flags);
    req->resp = (flags & HTTP__OUT_FINAL) ? HTTP__R_DONE : HTTP__R_BODY;
    return send_out(req, o);
}

int http_resp_write(http_req_t *req, const void *data, size_t len)
{
    if (req->resp != HTTP__R_STREAM && req->resp != HTTP__R_BODY)
        return HTTP_ESTATE;
    if (req->closed)
        return req->closed;
    if (req->resp_clen >= 0 && req->resp_sent + len > (uint64_t)req->resp_clen)
        return HTTP_ESTATE;
    if (req->resp_nobody) {
        req->resp_sent += len;
        if (req->resp == HTTP__R_STREAM)
            return send_head(req, 0);
        return 0;
    }
    const char *d = data;
    do {
        size_t n = len < HTTP__PIECE ? len : HTTP__PIECE;
        char pre[24];
        size_t plen = 0;
        if (req->resp_chunked) {
            if (n == 0)
                return 0; /* a zero-size chunk would end the body */
            char *p = put_hex(pre, n);
            p = PUTS(p, "\r\n");
            plen = (size_t)(p - pre);
        }
        const char *suf = req->resp_chunked ? "\r\n" : NULL;
        size_t slen = req->resp_chunked ? 2 : 0;
        http__out_t *o;
        if (req->resp == HTTP__R_STREAM) {
            o = out_with_head(req, head_clen(req), pre, plen, d, n, suf, slen, close_flag(req));
            req->resp = HTTP__R_BODY;
        } else {
            o = http__out_alloc(plen + n + slen, 0);
            char *p = put(o->data, pre, plen);
            p = put(p, d, n);
            put(p, suf, slen);
        }
        req->resp_sent += n;
        int rc = send_out(req, o);
        if (rc)
            return rc;
        d += n;
        len -= n;
    } while (len);
    return 0;
}

int http_resp_sendfile(http_req_t *req, int fd, off_t offset, size_t len)
{
    if (req->resp != HTTP__R_STREAM && req->resp != HTTP__R_BODY)
        return HTTP_ESTATE;
    if (req->closed)
        return req->closed;
    if (req->resp_clen >= 0 && req->resp_sent + len > (uint64_t)req->resp_clen)
        return HTTP_ESTATE;
    int rc;
    /* The head (and a chunk's size line) go out with MSG_MORE when file bytes follow: they share
     * the file's first packet rather than take one of their own (a client reading a 1 MiB file
     * then spends half the CPU). The file's message follows at once, whatever happens: a
     * sendfile that waits for room still has it to send, one that fails closes the connection
     * (the shutdown sends what waits), and a fiber killed between the two closes it too. With
     * no bytes to follow (HEAD, len 0) nothing is held, or the head would wait 200 ms. */
    uint16_t more = req->resp_nobody || len == 0 ? 0 : HTTP__OUT_MORE;
    if (req->resp == HTTP__R_STREAM && (rc = send_head(req, close_flag(req) | more)) != 0)
        return rc;
    if (!more) {
        req->resp_sent += len;
        return 0;
    }
    if (req->resp_chunked) {
        http__out_t *o = http__out_alloc(20, HTTP__OUT_MORE);
        char *p = put_hex(o->data, len);
        p = PUTS(p, "\r\n");
        o->len = (uint32_t)(p - o->data);
        if ((rc = send_out(req, o)) != 0)
            return rc;
    }
    http__out_t *f = http__out_alloc(0, HTTP__OUT_FILE);
    f->ffd = fd;
    f->foff = offset;
    f->fleft = len;
    rc = wait_ack(req, f);
    if (rc)
        return rc;
    req->resp_sent += len;
    if (req->resp_chunked) {
        http__out_t *o = http__out_alloc(2, 0);
        memcpy(o->data, "\r\n", 2);
        return send_out(req, o);
    }
    return 0;
}

int http_resp_end(http_req_t *req, const http_header_t *trailers, size_t n)
{
    if (req->resp != HTTP__R_STREAM && req->resp != HTTP__R_BODY)
        return HTTP_ESTATE;
    /* Refused trailers leave the response open: the handler may end it again (or its end
     * does, without them). */
    for (size_t i = 0; i < n; i++)
        if (!field_ok(trailers[i].name, trailers[i].name_len, true) ||
            !field_ok(trailers[i].value, trailers[i].value_len, false) ||
            http__trailer_forbidden(trailers[i].name, trailers[i].name_len))
            return HTTP_ESTATE;
    if (req->closed) {
        req->resp = HTTP__R_DONE;
        return req->closed;
    }
    if (req->resp == HTTP__R_STREAM && req->resp_sent == 0 && !req->resp_nobody) {
        /* Nothing was written: a plain empty response. */
        req->resp_chunked = false;
        req->resp_clen = 0;
        return send_head(req, HTTP__OUT_FINAL | close_flag(req));
    }
    if (req->resp == HTTP__R_STREAM)
        return send_head(req, HTTP__OUT_FINAL | close_flag(req));
    req->resp = HTTP__R_DONE;
    if (req->resp_nobody)
        return send_out(req, http__out_alloc(0, HTTP__OUT_FINAL | close_flag(req)));
    if (req->resp_chunked) {
        size_t tl = 5;
        for (size_t i = 0; i < n; i++)
            tl += trailers[i].name_len + trailers[i].value_len + 4;
        http__out_t *o = http__out_alloc(tl, HTTP__OUT_FINAL | close_flag(req));
        char *p = PUTS(o->data, "0\r\n");
        for (size_t i = 0; i < n; i++) {
            p = put(p, trailers[i].name, trailers[i].name_len);
            p = PUTS(p, ": ");
            p = put(p, trailers[i].value, trailers[i].value_len);
            p = PUTS(p, "\r\n");
        }
        p = PUTS(p, "\r\n");
        o->len = (uint32_t)(p - o->data);
        return send_out(req, o);
    }
    if (req->resp_clen >= 0 && req->resp_sent < (uint64_t)req->resp_clen) {
        /* Fewer bytes than declared: the client must see the connection close. */
        send_out(req, http__out_alloc(0, HTTP__OUT_FINAL | HTTP__OUT_CLOSE));
        return HTTP_ESTATE;
    }
    return send_out(req, http__out_alloc(0, HTTP__OUT_FINAL | close_flag(req)));
}

bool http_resp_started(const http_req_t *req)
{
    return req->resp == HTTP__R_BODY || req->resp == HTTP__R_DONE;
}

bool http_resp_done(const http_req_t *req)
{
    return req->resp == HTTP__R_DONE;
}

/* After the handler: complete whatever it left. */
void http__resp_finish(http_req_t *req)
{
    switch (req->resp) {
    case HTTP__R_NONE: {
        int status = 204;
        if (req->body_err == HTTP_ETOOLARGE)
            status = 413;
        else if (req->body_err == -ETIMEDOUT)
            status = 408;
        else if (req->body_err == HTTP_EBADBODY)
            status = 400;
        if (status != 204)
            req->rhdrs = req->rhdrs_tail = NULL;
        if (status == 204) {
            http_resp_send(req, 204, NULL, 0);
        } else {
            static const char ct[] = "text/plain";
            http_resp_header(req, "Content-Type", ct);
            const char *r = http_status_reason(status);
            char body[64];
            size_t n = strlen(r);
            memcpy(body, r, n);
            body[n++] = '\n';
            http_resp_send(req, status, body, n);
        }
        break;
    }
    case HTTP__R_STREAM:
    case HTTP__R_BODY:
        http_resp_end(req, NULL, 0);
        break;
    default:
        break;
    }
}
