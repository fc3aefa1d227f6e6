/*
 * The conn (conn.h), request side: accessors, path segments, parameters, the body, assigns,
 * private data, memory and context. The response side is resp.c.
 *
 * Programming errors (memory running out) fail the request with act_failf: the pipeline's
 * catch turns them into the exception page, as Plug raises.
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
    c->rh = c->rh_inline;
    c->caprh = sizeof c->rh_inline / sizeof c->rh_inline[0];
    c->query = "";
    return c;
}

void dyn__conn_oom(dyn_conn_t *c)
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
        dyn__conn_oom(c);
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
        dyn__conn_oom(c);
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
        dyn__conn_oom(c);
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
            dyn__conn_oom(m);
    }
    return c->params;
}

void dyn__conn_bind_try(dyn_conn_t *c, const dyn__rroute_t *r, dyn__binding_t *b)
{
    *b = (dyn__binding_t){.n = c->params ? dyn_map_len(c->params) : 0,
                          .glob_name = c->glob_name,
                          .glob_joined = c->glob_joined};
    bool glob = r->glob && r->glob_name.len && !r->fwd;
    /* Saved before binding: the map then holds only entries from before it. */
    for (uint32_t i = 0; b->n && i < r->nparams + (uint32_t)glob; i++) {
        dyn_str_t k = i < r->nparams ? r->params[i].name : r->glob_name;
        const dyn_value_t *cur = dyn_map_getn(c->params, k.ptr, k.len);
        if (!cur)
            continue;
        if (!b->saved &&
            !(b->saved = dyn_arena_alloc(c->arena, (r->nparams + 1u) * sizeof *b->saved)))
            dyn__conn_oom(c);
        b->saved[b->nsaved++] = (struct dyn__saved){k, *cur};
    }
    dyn__conn_bind(c, r);
}

void dyn__conn_unbind(dyn_conn_t *c, const dyn__binding_t *b)
{
    if (c->params) {
        dyn__map_truncate(c->params, b->n);
        /* The keys are there (among the first n entries): this replaces, never allocates. */
        for (uint32_t i = 0; i < b->nsaved; i++)
            (void)dyn__map_put_borrowed(c->params, b->saved[i].key.ptr, b->saved[i].key.len,
                                        b->saved[i].val);
    }
    c->glob_name = b->glob_name;
    c->glob_joined = b->glob_joined;
}

void dyn__conn_bind(dyn_conn_t *c, const dyn__rroute_t *r)
{
    if (!r->nparams && !(r->glob && r->glob_name.len))
        return;
    if (!c->params && !(c->params = dyn_map_new(c->arena)))
        dyn__conn_oom(c);
    const dyn_str_t *segs = c->segs + c->seg_off;
    for (uint16_t i = 0; i < r->nparams; i++) {
        const dyn_str_t *s = &segs[r->params[i].pos];
        if (dyn__map_put_borrowed(c->params, r->params[i].name.ptr, r->params[i].name.len,
                                  dyn_vstrn(s->ptr, s->len)) != 0)
            dyn__conn_oom(c);
    }
    if (r->glob && r->glob_name.len && !r->fwd) {
        size_t n = c->nsegs - c->seg_off - r->nsegs;
        dyn_list_t *l = dyn_list_new(c->arena, n ? n : 1);
        if (!l)
            dyn__conn_oom(c);
        for (size_t i = 0; i < n; i++)
            if (dyn_list_push(l, dyn_vstrn(segs[r->nsegs + i].ptr, segs[r->nsegs + i].len)))
                dyn__conn_oom(c);
        if (dyn__map_put_borrowed(c->params, r->glob_name.ptr, r->glob_name.len, dyn_vlist(l)))
            dyn__conn_oom(c);
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

/* ---- assigns, private --------------------------------------------------------------------- */

static dyn_conn_t *put(dyn_conn_t *c, dyn_map_t **m, const char *key, dyn_value_t v)
{
    if (!*m && !(*m = dyn_map_new(c->arena)))
        dyn__conn_oom(c);
    if (dyn_map_put(*m, key, v) != 0)
        dyn__conn_oom(c);
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
        dyn__conn_oom(c);
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
        dyn__conn_oom(c);
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
            dyn__conn_oom(m);
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
        dyn__conn_oom(c);
    return p;
}

char *dyn_strdup(dyn_conn_t *c, const char *s)
{
    char *p = dyn_arena_strndup(c->arena, s, strlen(s));
    if (!p)
        dyn__conn_oom(c);
    return p;
}

char *dyn_vsprintf(dyn_conn_t *c, const char *fmt, va_list ap)
{
    char *p = dyn_arena_vprintf(c->arena, fmt, ap);
    if (!p)
        dyn__conn_oom(c);
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
