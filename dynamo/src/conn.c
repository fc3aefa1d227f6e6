/*
 * The conn (conn.h): request accessors, the response and its states, headers, assigns,
 * private data, before-send callbacks.
 *
 * Programming errors (a header with CR or LF, a change after the response went out, memory
 * running out) fail the request with act_failf: the pipeline's catch turns them into the
 * exception page, as Plug raises. The client going away is not an error of the route: writes
 * report it and the response counts as sent.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn_int.h"
#include "fetch_int.h"
#include "value_int.h"

#include "dynamo/uri.h"

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"

dyn_conn_t *dyn__conn_new(dyn_arena_t *a, dyn__inst_t *inst, const dyn__adapter_t *ad, void *io)
{
    dyn_conn_t *c = dyn_arena_calloc(a, 1, sizeof *c);
    if (!c)
        return NULL;
    c->arena = a;
    c->inst = inst;
    c->ad = ad;
    c->io = io;
    c->status = 200;
    c->version = 11;
    c->query = "";
    return c;
}

static void oom(dyn_conn_t *c)
{
    dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
}

void dyn__conn_fail(dyn_conn_t *c, int reason, const char *fmt, ...)
{
    (void)c;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    act_failf(reason, "%s", text);
}

/* ---- request ------------------------------------------------------------------------------ */

http_method_t dyn_conn_method(const dyn_conn_t *c)
{
    return (http_method_t)c->method;
}

const char *dyn_conn_method_str(const dyn_conn_t *c)
{
    return c->method_str;
}

http_method_t dyn_conn_original_method(const dyn_conn_t *c)
{
    return (http_method_t)c->orig_method;
}

const char *dyn_conn_original_method_str(const dyn_conn_t *c)
{
    return c->orig_method_str;
}

dyn_conn_t *dyn_conn_put_method(dyn_conn_t *c, http_method_t m)
{
    c->method = (uint8_t)m;
    c->method_str = http_method_name(m);
    return c;
}

const char *dyn_conn_path(const dyn_conn_t *c)
{
    return c->path;
}

int dyn__conn_segments(dyn_conn_t *c)
{
    if (c->segs_done)
        return c->segs_status;
    c->segs_done = true;
    size_t len = strlen(c->path);
    uint32_t max = c->inst ? c->inst->max_segments : 128;
    /* At most len / 2 + 1 segments can fit in len bytes. */
    size_t cap = len / 2 + 1 < max ? len / 2 + 1 : max;
    char *buf = dyn_arena_alloc(c->arena, len + 1);
    c->segs = dyn_arena_alloc(c->arena, (cap ? cap : 1) * sizeof *c->segs);
    if (!buf || !c->segs) {
        c->segs_status = 503;
        return c->segs_status;
    }
    int n = dyn_path_split(c->path, len, buf, c->segs, cap);
    if (n == DYN_ELIMIT) {
        c->segs_status = 414;
    } else if (n < 0) {
        c->segs_status = 400;
    } else {
        c->nsegs = (uint32_t)n;
        return 0;
    }
    c->nsegs = 0;
    return c->segs_status;
}

size_t dyn_conn_path_info(const dyn_conn_t *c, const dyn_str_t **segs)
{
    *segs = c->segs ? c->segs + c->seg_off : NULL;
    return c->nsegs - c->seg_off;
}

size_t dyn_conn_script_name(const dyn_conn_t *c, const dyn_str_t **segs)
{
    *segs = c->segs;
    return c->seg_off;
}

/* s[0..n) joined, each segment after `lead` ("/a/b" with lead "/", "a/b" with lead ""). */
static const char *join(dyn_conn_t *c, const dyn_str_t *s, size_t n, const char *empty, bool lead)
{
    if (n == 0)
        return empty;
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 64);
    for (size_t i = 0; i < n; i++) {
        if (lead || i)
            dyn_buf_puts(&b, "/");
        dyn_buf_put(&b, s[i].ptr, s[i].len);
    }
    if (b.failed)
        oom(c);
    return b.data;
}

const char *dyn_conn_path_info_str(dyn_conn_t *c)
{
    const dyn_str_t *s;
    size_t n = dyn_conn_path_info(c, &s);
    return join(c, s, n, "/", true);
}

const char *dyn_conn_script_name_str(dyn_conn_t *c)
{
    const dyn_str_t *s;
    size_t n = dyn_conn_script_name(c, &s);
    return join(c, s, n, "", true);
}

const char *dyn_conn_query(const dyn_conn_t *c)
{
    return c->query;
}

const char *dyn_conn_req_header(const dyn_conn_t *c, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < c->nheaders; i++)
        if (c->headers[i].name_len == len && strncasecmp(c->headers[i].name, name, len) == 0)
            return c->headers[i].value;
    return NULL;
}

const http_header_t *dyn_conn_req_headers(const dyn_conn_t *c, size_t *n)
{
    *n = c->nheaders;
    return c->headers;
}

const char *dyn_conn_scheme(const dyn_conn_t *c)
{
    (void)c;
    return "http";
}

static void parse_host(dyn_conn_t *c)
{
    if (c->host_done)
        return;
    c->host_done = true;
    const char *h = c->host_hdr ? c->host_hdr : "";
    const char *colon = NULL;
    size_t hl = strlen(h);
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        if (rb) {
            hl = (size_t)(rb - h) + 1;
            if (rb[1] == ':')
                colon = rb + 1;
        }
    } else {
        colon = strrchr(h, ':');
        if (colon)
            hl = (size_t)(colon - h);
    }
    c->host = dyn_arena_strndup(c->arena, h, hl);
    if (!c->host)
        oom(c);
    c->port = c->inst ? atomic_load_explicit(&c->inst->port, memory_order_relaxed) : 80;
    if (colon && colon[1]) {
        unsigned long p = 0;
        const char *d = colon + 1;
        while (*d >= '0' && *d <= '9' && p <= 65535)
            p = p * 10 + (unsigned long)(*d++ - '0');
        if (!*d && p > 0 && p <= 65535)
            c->port = (uint16_t)p;
    }
}

const char *dyn_conn_host(dyn_conn_t *c)
{
    parse_host(c);
    return c->host;
}

uint16_t dyn_conn_port(dyn_conn_t *c)
{
    parse_host(c);
    return c->port;
}

int dyn_conn_version(const dyn_conn_t *c)
{
    return c->version;
}

int dyn_conn_peer_addr(const dyn_conn_t *c, struct sockaddr_storage *addr, socklen_t *len)
{
    return c->ad->peer(c, addr, len);
}

const char *dyn_conn_peer(dyn_conn_t *c)
{
    if (c->peer_text)
        return c->peer_text;
    struct sockaddr_storage ss;
    socklen_t len;
    char text[INET6_ADDRSTRLEN] = "";
    if (c->ad->peer(c, &ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof text);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof text);
    }
    c->peer_text = dyn_arena_strndup(c->arena, text, strlen(text));
    if (!c->peer_text)
        oom(c);
    return c->peer_text;
}

uint16_t dyn_conn_peer_port(const dyn_conn_t *c)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (c->ad->peer(c, &ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/* ---- params ------------------------------------------------------------------------------- */

const dyn_value_t *dyn_param_value(const dyn_conn_t *c, const char *name)
{
    const dyn_value_t *v = c->params ? dyn_map_get(c->params, name) : NULL;
    /* Absent: an error before the params fetch, else maybe a nested key (params.c). */
    return ACT_LIKELY(v) ? v : dyn__param_missing((dyn_conn_t *)c, name);
}

const char *dyn_param(const dyn_conn_t *c, const char *name)
{
    const dyn_value_t *v = dyn_param_value(c, name);
    if (!v)
        return NULL;
    if (v->type == DYN_V_STR)
        return v->s.ptr;
    if (v->type == DYN_V_LIST && c->glob_name && strcmp(c->glob_name, name) == 0)
        return c->glob_joined;
    return dyn__param_text((dyn_conn_t *)c, v);
}

const dyn_map_t *dyn_conn_params(const dyn_conn_t *c)
{
    /* Made on first use: most requests bind nothing. */
    if (!c->params) {
        dyn_conn_t *m = (dyn_conn_t *)c;
        if (!(m->params = dyn_map_new(m->arena)))
            oom(m);
    }
    return c->params;
}

size_t dyn__conn_nparams(const dyn_conn_t *c)
{
    return c->params ? dyn_map_len(c->params) : 0;
}

void dyn__conn_unbind(dyn_conn_t *c, size_t n)
{
    if (c->params)
        dyn__map_truncate(c->params, n);
}

void dyn__conn_bind(dyn_conn_t *c, const dyn__rroute_t *r)
{
    if (!r->nparams && !(r->glob && r->glob_name.len))
        return;
    if (!c->params && !(c->params = dyn_map_new(c->arena)))
        oom(c);
    const dyn_str_t *segs = c->segs + c->seg_off;
    for (uint16_t i = 0; i < r->nparams; i++) {
        const dyn_str_t *s = &segs[r->params[i].pos];
        if (dyn__map_put_borrowed(c->params, r->params[i].name.ptr, r->params[i].name.len,
                                  dyn_vstrn(s->ptr, s->len)) != 0)
            oom(c);
    }
    if (r->glob && r->glob_name.len && !r->fwd) {
        size_t n = c->nsegs - c->seg_off - r->nsegs;
        dyn_list_t *l = dyn_list_new(c->arena, n ? n : 1);
        if (!l)
            oom(c);
        for (size_t i = 0; i < n; i++)
            if (dyn_list_push(l, dyn_vstrn(segs[r->nsegs + i].ptr, segs[r->nsegs + i].len)))
                oom(c);
        if (dyn__map_put_borrowed(c->params, r->glob_name.ptr, r->glob_name.len, dyn_vlist(l)))
            oom(c);
        c->glob_name = r->glob_name.ptr;
        c->glob_joined = join(c, segs + r->nsegs, n, "", false);
    }
}

/* ---- body --------------------------------------------------------------------------------- */

ssize_t dyn_conn_read_body(dyn_conn_t *c, void *buf, size_t cap)
{
    return c->ad->read(c, buf, cap);
}

int dyn_conn_body(dyn_conn_t *c, size_t max, const char **out, size_t *len)
{
    if (!c->body_done) {
        size_t limit = max;
        uint64_t lim = c->inst && c->inst->decl->limits.max_body_size
                           ? c->inst->decl->limits.max_body_size
                           : 8u << 20;
        if (limit == 0 || limit > lim)
            limit = lim > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)lim;
        dyn_buf_t b;
        dyn_buf_init(&b, c->arena, 1024);
        char piece[16384];
        for (;;) {
            ssize_t n = c->ad->read(c, piece, sizeof piece);
            if (n < 0)
                return (int)n;
            if (n == 0)
                break;
            if (b.len + (size_t)n > limit)
                return HTTP_ETOOLARGE;
            dyn_buf_put(&b, piece, (size_t)n);
            if (b.failed)
                return ACT_ENOMEM;
        }
        c->body = b.data;
        c->body_len = b.len;
        c->body_done = true;
    }
    if (max && c->body_len > max)
        return HTTP_ETOOLARGE;
    *out = c->body;
    *len = c->body_len;
    return 0;
}

/* ---- response ----------------------------------------------------------------------------- */

dyn_state_t dyn_conn_state(const dyn_conn_t *c)
{
    return (dyn_state_t)c->state;
}

const char *dyn_state_name(dyn_state_t s)
{
    static const char *const names[] = {"unset", "set", "chunked", "sent"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

int dyn_conn_status(const dyn_conn_t *c)
{
    return c->status;
}

const char *dyn_conn_resp_body(const dyn_conn_t *c, size_t *len)
{
    if (len)
        *len = c->resp_body ? c->resp_len : 0;
    return c->resp_body ? c->resp_body : "";
}

static void not_sent(dyn_conn_t *c, const char *what)
{
    if (ACT_UNLIKELY(c->state == DYN_STATE_SENT || c->state == DYN_STATE_CHUNKED))
        dyn__conn_fail(c, DYN_ESENT, "%s after the response was %s", what,
                       c->state == DYN_STATE_SENT ? "sent" : "started (chunked)");
}

static bool status_ok(int status)
{
    return status >= 100 && status <= 999;
}

static void check_status(dyn_conn_t *c, int status)
{
    if (ACT_UNLIKELY(!status_ok(status)))
        dyn__conn_fail(c, ACT_EBADARG, "invalid status %d", status);
}

dyn_conn_t *dyn_resp_borrow(dyn_conn_t *c, int status, const void *body, size_t len)
{
    not_sent(c, "dyn_resp");
    check_status(c, status);
    c->status = status;
    c->resp_body = body;
    c->resp_len = len;
    c->state = DYN_STATE_SET;
    return c;
}

dyn_conn_t *dyn_respn(dyn_conn_t *c, int status, const void *body, size_t len)
{
    void *copy = NULL;
    if (len) {
        copy = dyn_arena_alloc(c->arena, len);
        if (!copy)
            oom(c);
        memcpy(copy, body, len);
    }
    return dyn_resp_borrow(c, status, copy, len);
}

dyn_conn_t *dyn_resp(dyn_conn_t *c, int status, const char *body)
{
    return dyn_respn(c, status, body, body ? strlen(body) : 0);
}

dyn_conn_t *dyn_status(dyn_conn_t *c, int status)
{
    not_sent(c, "dyn_status");
    check_status(c, status);
    c->status = status;
    if (c->state == DYN_STATE_UNSET)
        c->state = DYN_STATE_SET;
    return c;
}

/* Runs the before-send callbacks once, newest first (each may register more: they run too). */
static void run_before_send(dyn_conn_t *c)
{
    dyn__step_t saved = c->step;
    while (c->before_send) {
        dyn__before_send_t *b = c->before_send;
        c->before_send = b->next;
        c->step = (dyn__step_t){.kind = DYN__STEP_BEFORE_SEND};
        if (!b->fn(c, b->arg))
            dyn__conn_fail(c, DYN_ENOCONN, "a before-send callback returned no conn");
    }
    /* Last, so that cookies the callbacks set (a session's) go out too. */
    if (c->fetch && c->fetch->resp_cookies)
        dyn__resp_cookies_write(c);
    c->step = saved;
}

static void default_content_type(dyn_conn_t *c, size_t len)
{
    if (len && !dyn_get_resp_header(c, "content-type"))
        dyn__resp_header_trusted(c, "content-type", 12, DEFAULT_CONTENT_TYPE,
                                 sizeof DEFAULT_CONTENT_TYPE - 1);
}

void dyn__conn_send_set(dyn_conn_t *c)
{
    run_before_send(c);
    default_content_type(c, c->resp_len);
    c->state = DYN_STATE_SENT;
    (void)c->ad->send(c, c->resp_body, c->resp_len);
}

dyn_conn_t *dyn_send_resp(dyn_conn_t *c)
{
    if (c->state != DYN_STATE_SET)
        dyn__conn_fail(c, c->state == DYN_STATE_UNSET ? DYN_ENORESP : DYN_ESENT,
                       "dyn_send_resp with the response %s", dyn_state_name(c->state));
    dyn__conn_send_set(c);
    return c;
}

dyn_conn_t *dyn_sendn(dyn_conn_t *c, int status, const void *body, size_t len)
{
    dyn_respn(c, status, body, len);
    dyn__conn_send_set(c);
    return c;
}

dyn_conn_t *dyn_send(dyn_conn_t *c, int status, const char *body)
{
    return dyn_sendn(c, status, body, body ? strlen(body) : 0);
}

dyn_conn_t *dyn_send_chunked(dyn_conn_t *c, int status)
{
    not_sent(c, "dyn_send_chunked");
    check_status(c, status);
    c->status = status;
    run_before_send(c);
    default_content_type(c, 1);
    c->state = DYN_STATE_CHUNKED;
    (void)c->ad->start(c);
    return c;
}

int dyn_chunk(dyn_conn_t *c, const void *data, size_t len)
{
    if (c->state != DYN_STATE_CHUNKED)
        return DYN_ENOTCHUNKED;
    if (len == 0)
        return 0;
    return c->ad->write(c, data, len);
}

int dyn_chunk_str(dyn_conn_t *c, const char *s)
{
    return dyn_chunk(c, s, strlen(s));
}

void dyn__conn_end_stream(dyn_conn_t *c)
{
    c->state = DYN_STATE_SENT;
    (void)c->ad->end(c);
}

dyn_conn_t *dyn_send_file(dyn_conn_t *c, int status, int fd, off_t offset, size_t len)
{
    not_sent(c, "dyn_send_file");
    check_status(c, status);
    c->status = status;
    c->resp_body = NULL;
    c->resp_len = len;
    run_before_send(c);
    c->state = DYN_STATE_SENT;
    (void)c->ad->sendfile(c, fd, offset, len);
    return c;
}

/* ---- headers ------------------------------------------------------------------------------ */

/* RFC 9110 token characters, lowercased (0: not a token character), for header names. */
static const unsigned char token_lower[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   33,  0,   35,  36,  37,
    38,  39,  0,   0,   42,  43,  0,   45,  46,  0,   48,  49,  50,  51,  52,  53,  54,  55,  56,
    57,  0,   0,   0,   0,   0,   0,   0,   97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0,   0,   0,   94,
    95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 117, 118, 119, 120, 121, 122, 0,   124, 0,   126, 0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,
};

/* A lowercased copy of a header name in the arena, checked: one pass, a bit test a byte. */
static char *name_copy(dyn_conn_t *c, const char *name, size_t *len)
{
    size_t n = strlen(name);
    if (ACT_UNLIKELY(n == 0))
        dyn__conn_fail(c, DYN_EBADHEADER, "an empty response header name");
    char *out = dyn_arena_alloc(c->arena, n + 1);
    if (!out)
        oom(c);
    unsigned char bad = 0xff;
    for (size_t i = 0; i < n; i++) {
        unsigned char l = token_lower[(unsigned char)name[i]];
        bad &= l ? 0xff : 0;
        out[i] = (char)l;
    }
    if (ACT_UNLIKELY(!bad))
        dyn__conn_fail(c, DYN_EBADHEADER, "response header name \"%.60s\" is not a token", name);
    out[n] = '\0';
    *len = n;
    return out;
}

static void add_header(dyn_conn_t *c, const char *lname, size_t nl, const char *value)
{
    const char *p = value;
    while (*p && *p != '\r' && *p != '\n')
        p++;
    size_t vl = (size_t)(p - value);
    if (ACT_UNLIKELY(*p != '\0'))
        dyn__conn_fail(c, DYN_EBADHEADER, "response header %.60s: the value contains CR or LF",
                       lname);
    if (c->nrh == c->caprh) {
        uint32_t ncap = c->caprh ? c->caprh * 2 : 8;
        http_header_t *n = dyn_arena_alloc(c->arena, ncap * sizeof *n);
        if (!n)
            oom(c);
        if (c->nrh)
            memcpy(n, c->rh, c->nrh * sizeof *n);
        c->rh = n;
        c->caprh = ncap;
    }
    char *vv = dyn_arena_strndup(c->arena, value, vl);
    if (!vv)
        oom(c);
    c->rh[c->nrh++] = (http_header_t){lname, vv, (uint32_t)nl, (uint32_t)vl};
}

/* Removes the headers named lname (lowercased, nl bytes). */
static void remove_headers(dyn_conn_t *c, const char *lname, size_t nl)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < c->nrh; i++)
        if (!(c->rh[i].name_len == nl && memcmp(c->rh[i].name, lname, nl) == 0))
            c->rh[o++] = c->rh[i];
    c->nrh = o;
}

void dyn__resp_header_trusted(dyn_conn_t *c, const char *lname, uint32_t nl, const char *value,
                              uint32_t vl)
{
    not_sent(c, "a response header");
    if (c->nrh)
        remove_headers(c, lname, nl);
    if (c->nrh == c->caprh) {
        uint32_t ncap = c->caprh ? c->caprh * 2 : 8;
        http_header_t *n = dyn_arena_alloc(c->arena, ncap * sizeof *n);
        if (!n)
            oom(c);
        if (c->nrh)
            memcpy(n, c->rh, c->nrh * sizeof *n);
        c->rh = n;
        c->caprh = ncap;
    }
    c->rh[c->nrh++] = (http_header_t){lname, value, nl, vl};
}

dyn_conn_t *dyn_put_resp_header(dyn_conn_t *c, const char *name, const char *value)
{
    not_sent(c, "dyn_put_resp_header");
    size_t nl;
    const char *lname = name_copy(c, name, &nl);
    if (c->nrh)
        remove_headers(c, lname, nl);
    add_header(c, lname, nl, value);
    return c;
}

dyn_conn_t *dyn_add_resp_header(dyn_conn_t *c, const char *name, const char *value)
{
    not_sent(c, "dyn_add_resp_header");
    size_t nl;
    const char *lname = name_copy(c, name, &nl);
    add_header(c, lname, nl, value);
    return c;
}

dyn_conn_t *dyn_delete_resp_header(dyn_conn_t *c, const char *name)
{
    not_sent(c, "dyn_delete_resp_header");
    size_t nl = strlen(name);
    uint32_t o = 0;
    for (uint32_t i = 0; i < c->nrh; i++)
        if (!(c->rh[i].name_len == nl && strcasecmp(c->rh[i].name, name) == 0))
            c->rh[o++] = c->rh[i];
    c->nrh = o;
    return c;
}

const char *dyn_get_resp_header(const dyn_conn_t *c, const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < c->nrh; i++)
        if (c->rh[i].name_len == nl && strcasecmp(c->rh[i].name, name) == 0)
            return c->rh[i].value;
    return NULL;
}

const http_header_t *dyn_conn_resp_headers(const dyn_conn_t *c, size_t *n)
{
    *n = c->nrh;
    return c->rh;
}

dyn_conn_t *dyn_put_resp_content_type(dyn_conn_t *c, const char *type, const char *charset)
{
    if (!charset)
        return dyn_put_resp_header(c, "content-type", type);
    char *v = dyn_sprintf(c, "%s; charset=%s", type, charset);
    return dyn_put_resp_header(c, "content-type", v);
}

dyn_conn_t *dyn_redirect_status(dyn_conn_t *c, int status, const char *url)
{
    if (status < 300 || status > 399)
        dyn__conn_fail(c, ACT_EBADARG, "redirect with status %d (not 3xx)", status);
    dyn_put_resp_header(c, "location", url);
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 128 + strlen(url));
    dyn_buf_puts(&b, "<html><body>You are being <a href=\"");
    dyn_buf_html(&b, url, strlen(url));
    dyn_buf_puts(&b, "\">redirected</a>.</body></html>");
    if (b.failed)
        oom(c);
    dyn_put_resp_content_type(c, "text/html", "utf-8");
    return dyn_resp_borrow(c, status, b.data, b.len);
}

dyn_conn_t *dyn_redirect(dyn_conn_t *c, const char *url)
{
    return dyn_redirect_status(c, 302, url);
}

dyn_conn_t *dyn_halt(dyn_conn_t *c)
{
    c->halted = true;
    return c;
}

bool dyn_conn_halted(const dyn_conn_t *c)
{
    return c->halted;
}

dyn_conn_t *dyn_register_before_send(dyn_conn_t *c, dyn_before_send_fn fn, void *arg)
{
    not_sent(c, "dyn_register_before_send");
    dyn__before_send_t *b = dyn_arena_alloc(c->arena, sizeof *b);
    if (!b)
        oom(c);
    b->fn = fn;
    b->arg = arg;
    b->next = c->before_send;
    c->before_send = b;
    return c;
}

void dyn__conn_reset_resp(dyn_conn_t *c)
{
    const char *rid_name = NULL, *rid = NULL;
    for (uint32_t i = 0; i < c->nrh; i++)
        if (c->request_id && strcmp(c->rh[i].value, c->request_id) == 0) {
            rid_name = c->rh[i].name;
            rid = c->rh[i].value;
        }
    c->nrh = 0;
    if (rid)
        c->rh[c->nrh++] =
            (http_header_t){rid_name, rid, (uint32_t)strlen(rid_name), (uint32_t)strlen(rid)};
    c->resp_body = NULL;
    c->resp_len = 0;
    c->state = DYN_STATE_UNSET;
    c->status = 200;
}

/* ---- assigns, private --------------------------------------------------------------------- */

static dyn_conn_t *put(dyn_conn_t *c, dyn_map_t **m, const char *key, dyn_value_t v)
{
    if (!*m && !(*m = dyn_map_new(c->arena)))
        oom(c);
    if (dyn_map_put(*m, key, v) != 0)
        oom(c);
    return c;
}

dyn_conn_t *dyn_assign(dyn_conn_t *c, const char *key, dyn_value_t v)
{
    return put(c, &c->assigns, key, v);
}

dyn_conn_t *dyn_assign_str(dyn_conn_t *c, const char *key, const char *s)
{
    dyn_value_t v = dyn_vstr_copy(c->arena, s, strlen(s));
    if (v.type == DYN_V_NULL)
        oom(c);
    return dyn_assign(c, key, v);
}

dyn_conn_t *dyn_assign_int(dyn_conn_t *c, const char *key, int64_t i)
{
    return dyn_assign(c, key, dyn_vint(i));
}

dyn_conn_t *dyn_assign_float(dyn_conn_t *c, const char *key, double f)
{
    return dyn_assign(c, key, dyn_vfloat(f));
}

dyn_conn_t *dyn_assign_bool(dyn_conn_t *c, const char *key, bool b)
{
    return dyn_assign(c, key, dyn_vbool(b));
}

dyn_conn_t *dyn_assign_ptr(dyn_conn_t *c, const char *key, void *p, void (*dtor)(void *p))
{
    dyn_value_t v = dyn_vptr(c->arena, p, dtor);
    if (v.type == DYN_V_NULL && p)
        oom(c);
    return dyn_assign(c, key, v);
}

const dyn_value_t *dyn_conn_assign(const dyn_conn_t *c, const char *key)
{
    return c->assigns ? dyn_map_get(c->assigns, key) : NULL;
}

const dyn_map_t *dyn_conn_assigns(const dyn_conn_t *c)
{
    if (!c->assigns) {
        dyn_conn_t *m = (dyn_conn_t *)c;
        if (!(m->assigns = dyn_map_new(m->arena)))
            oom(m);
    }
    return c->assigns;
}

dyn_conn_t *dyn_put_private(dyn_conn_t *c, const char *key, dyn_value_t v)
{
    return put(c, &c->priv, key, v);
}

const dyn_value_t *dyn_conn_private(const dyn_conn_t *c, const char *key)
{
    return c->priv ? dyn_map_get(c->priv, key) : NULL;
}

/* ---- memory and context ------------------------------------------------------------------- */

dyn_arena_t *dyn_conn_arena(dyn_conn_t *c)
{
    return c->arena;
}

void *dyn_alloc(dyn_conn_t *c, size_t size)
{
    void *p = dyn_arena_alloc(c->arena, size);
    if (!p)
        oom(c);
    return p;
}

char *dyn_strdup(dyn_conn_t *c, const char *s)
{
    char *p = dyn_arena_strndup(c->arena, s, strlen(s));
    if (!p)
        oom(c);
    return p;
}

char *dyn_vsprintf(dyn_conn_t *c, const char *fmt, va_list ap)
{
    char *p = dyn_arena_vprintf(c->arena, fmt, ap);
    if (!p)
        oom(c);
    return p;
}

char *dyn_sprintf(dyn_conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = dyn_vsprintf(c, fmt, ap);
    va_end(ap);
    return p;
}

const dyn_dynamo_t *dyn_conn_dynamo(const dyn_conn_t *c)
{
    return c->inst->decl;
}

dyn_env_t dyn_conn_env(const dyn_conn_t *c)
{
    return c->inst->env;
}

const char *dyn_conn_dynamo_name(const dyn_conn_t *c)
{
    return c->inst->decl->name;
}

void *dyn_conn_user(const dyn_conn_t *c)
{
    return c->inst->decl->user;
}

const char *dyn_conn_request_id(const dyn_conn_t *c)
{
    return c->request_id;
}

dyn_route_match_t dyn_conn_route(const dyn_conn_t *c)
{
    dyn_route_match_t m = {0};
    if (c->router)
        m.router = c->router->name;
    if (c->route) {
        static const char any[] = "*";
        m.path = c->route->path;
        m.handler = c->route->name;
        m.method = any;
        uint32_t b = c->route->methods;
        if (b != DYN_M_ANY && (b & (b - 1)) == 0)
            m.method = http_method_name((http_method_t)__builtin_ctz(b));
    }
    return m;
}

const dyn_failure_t *dyn_conn_failure(const dyn_conn_t *c)
{
    return c->failure;
}
