/*
 * Lazily fetched request data (fetch.h): the query, the body (whole, or parsed into params by
 * its media type), the cookies and the session, each parsed once and cached in conn->fetch.
 *
 * Params merge as Plug's: params = query, then the body's over it, then the path parameters
 * over both. The path parameters may be bound before a fetch (a prepare hook or route fetches)
 * or after it (a plug fetched, then the router bound them, replacing what was there). So a
 * fetch never overwrites an entry it did not put: the query's go in only where the key is
 * free, and the body's also over an entry that is, by identity, the query's own value. That
 * keeps one map (no rebuild on routing) and needs no record of which keys are path ones.
 *
 * Bad input is the client's: it fails the request with a status (dyn_raise) that the Dynamo
 * answers with its page. Programming errors (reading before the fetch, a fetch of the session
 * without its plug) fail it as a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_int.h"
#include "fetch_int.h"
#include "mime_int.h"
#include "multipart_int.h"

#include "dynamo/json.h"

#define SESSION_ONLY 0x10u
#define ALL_PARTS 0x1fu

#define DEFAULT_MAX_PARAMS 1000
#define DEFAULT_MAX_DEPTH 32
/* Whatever is configured: params are walked recursively (the exception page, JSON encoding)
 * on a request fiber's small stack. */
#define MAX_DEPTH 128
#define DEFAULT_MAX_KEY 1024
#define DEFAULT_MAX_VALUE (1u << 20)
#define DEFAULT_MAX_FORM 1000000u /* Plug's urlencoded length */
#define DEFAULT_MAX_JSON_ITEMS 100000
#define DEFAULT_MAX_PARTS 1000
#define DEFAULT_MAX_FILES 128
#define DEFAULT_MAX_PART_HEADER 16384
#define DEFAULT_MAX_PART_HEADERS 32
#define DEFAULT_MAX_BODY (8u << 20)

__attribute__((noreturn)) static void oom(dyn_conn_t *c)
{
    dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
}

dyn__fetch_t *dyn__fetch_state(dyn_conn_t *c)
{
    if (!c->fetch && !(c->fetch = dyn_arena_calloc(c->arena, 1, sizeof *c->fetch)))
        oom(c);
    return c->fetch;
}

/* The constant a reader should have fetched: `what` itself when it is one, else the first
 * missing part. */
static const char *fetch_name(unsigned what, unsigned missing)
{
    switch (what) {
    case DYN_FETCH_PARAMS:
        return "DYN_FETCH_PARAMS";
    case DYN_FETCH_SESSION:
        return "DYN_FETCH_SESSION";
    default:
        break;
    }
    if (missing & DYN_FETCH_QUERY)
        return "DYN_FETCH_QUERY";
    if (missing & DYN_FETCH_BODY)
        return "DYN_FETCH_BODY";
    if (missing & DYN_FETCH__BODY_PARAMS)
        return "DYN_FETCH_PARAMS";
    if (missing & DYN_FETCH_COOKIES)
        return "DYN_FETCH_COOKIES";
    return "DYN_FETCH_SESSION";
}

void dyn__fetch_require(dyn_conn_t *c, unsigned what, const char *fmt, ...)
{
    if (ACT_LIKELY((c->fetched & what) == what))
        return;
    char text[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    dyn__conn_fail(c, DYN_ENOTFETCHED, "%s read before dyn_fetch(conn, %s)", text,
                   fetch_name(what, what & ~c->fetched));
}

bool dyn_fetched(const dyn_conn_t *c, unsigned what)
{
    return (c->fetched & what) == what;
}

/* ---- limits -------------------------------------------------------------------------------------
 */

static uint32_t or32(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

static const dyn_limits_t *limits(const dyn_conn_t *c)
{
    return &c->inst->decl->dyn_limits;
}

static dyn_form_limits_t form_limits(const dyn_conn_t *c)
{
    const dyn_limits_t *l = limits(c);
    return (dyn_form_limits_t){
        .max_pairs = or32(l->max_params, DEFAULT_MAX_PARAMS),
        .max_key_len = or32(l->max_key_len, DEFAULT_MAX_KEY),
        .max_value_len = or32(l->max_value_len, DEFAULT_MAX_VALUE),
        .max_depth = or32(l->max_param_depth, DEFAULT_MAX_DEPTH) < MAX_DEPTH
                         ? or32(l->max_param_depth, DEFAULT_MAX_DEPTH)
                         : MAX_DEPTH,
        .any_bytes = l->any_bytes,
    };
}

static uint64_t max_body(const dyn_conn_t *c)
{
    uint64_t m = c->inst->decl->limits.max_body_size;
    return m ? m : DEFAULT_MAX_BODY;
}

/* ---- failures -----------------------------------------------------------------------------------
 */

/* A body that could not be read: the client's doing, answered with its status. */
__attribute__((noreturn)) static void raise_read(dyn_conn_t *c, int rc, const char *what)
{
    switch (rc) {
    case HTTP_ETOOLARGE:
        dyn_raise(c, 413, "%s: larger than allowed", what);
    case -ETIMEDOUT:
        dyn_raise(c, 408, "%s: the client stopped sending it", what);
    case ACT_ENOMEM:
        oom(c);
    default:
        dyn_raise(c, 400, "%s: unreadable (%s)", what, dyn_strerror(rc));
    }
}

/* A decoder's error: 400 for what is malformed, 413 past a limit. */
__attribute__((noreturn)) static void raise_decode(dyn_conn_t *c, int rc, const char *what,
                                                   const char *detail)
{
    if (rc == ACT_ENOMEM)
        oom(c);
    if (rc == DYN_ELIMIT)
        dyn_raise(c, 413, "%s: past a limit of the Dynamo%s%s", what, detail[0] ? ": " : "",
                  detail);
    if (detail[0]) /* the decoder's own words: "invalid JSON at line 1, column 5: ..." */
        dyn_raise(c, 400, "%s: %s", what, detail);
    dyn_raise(c, 400, "%s: %s", what, dyn_strerror(rc));
}

/* ---- params -------------------------------------------------------------------------------------
 */

/* The same value by identity: the entry a fetch put, not an equal one from elsewhere. */
static bool same(const dyn_value_t *a, const dyn_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case DYN_V_STR:
        return a->s.ptr == b->s.ptr && a->s.len == b->s.len;
    case DYN_V_LIST:
        return a->l == b->l;
    case DYN_V_MAP:
        return a->m == b->m;
    case DYN_V_PTR:
        return a->p == b->p;
    default:
        return dyn_value_equal(a, b);
    }
}

/* Merges src into params over the entries that came from `lower` (the query's, for the body),
 * never over anything else (path parameters). */
static void merge(dyn_conn_t *c, const dyn_map_t *src, const dyn_map_t *lower)
{
    if (!c->params && !(c->params = dyn_map_new(c->arena)))
        oom(c);
    dyn_str_t k;
    const dyn_value_t *v;
    for (size_t i = 0; dyn_map_at(src, i, &k, &v); i++) {
        const dyn_value_t *cur = dyn_map_getn(c->params, k.ptr, k.len);
        if (cur) {
            const dyn_value_t *low = lower ? dyn_map_getn(lower, k.ptr, k.len) : NULL;
            if (!low || !same(cur, low))
                continue;
        }
        if (dyn_map_putn(c->params, k.ptr, k.len, *v) != 0)
            oom(c);
    }
}

static dyn_map_t *new_map(dyn_conn_t *c)
{
    dyn_map_t *m = dyn_map_new(c->arena);
    if (!m)
        oom(c);
    return m;
}

static void fetch_query(dyn_conn_t *c)
{
    dyn__fetch_t *f = dyn__fetch_state(c);
    f->query = new_map(c);
    dyn_form_limits_t fl = form_limits(c);
    int rc = dyn_urlencoded_params(c->query, strlen(c->query), f->query, &fl);
    if (rc)
        raise_decode(c, rc, "the query string", "");
    merge(c, f->query, NULL);
    c->fetched |= DYN_FETCH_QUERY;
}

static void fetch_body(dyn_conn_t *c)
{
    if (c->fetch && c->fetch->body_streamed)
        dyn__conn_fail(c, ACT_EBADARG,
                       "DYN_FETCH_BODY after the params fetch streamed the multipart body to its "
                       "parts: fetch DYN_FETCH_BODY first (or together) to keep it whole");
    const char *body;
    size_t len;
    int rc = dyn_conn_body(c, 0, &body, &len);
    if (rc)
        raise_read(c, rc, "the request body");
    c->fetched |= DYN_FETCH_BODY;
}

/* Bodies are parsed for these methods only, as Plug.Parsers does. */
static bool has_body_method(http_method_t m)
{
    return m == HTTP_METHOD_POST || m == HTTP_METHOD_PUT || m == HTTP_METHOD_PATCH ||
           m == HTTP_METHOD_DELETE;
}

/* True if the body's type is in the Dynamo's pass list: exact, a type with the subtype "*", or
 * "*" (also spelled with both halves starred) for any. */
static bool passes(const dyn_conn_t *c, dyn_str_t type, dyn_str_t sub)
{
    for (const char *const *p = limits(c)->pass; p && *p; p++) {
        const char *pat = *p;
        if (strcmp(pat, "*") == 0 || strcmp(pat, "*/*") == 0)
            return true;
        const char *slash = strchr(pat, '/');
        if (!slash || (size_t)(slash - pat) != type.len ||
            strncasecmp(pat, type.ptr, type.len) != 0)
            continue;
        const char *ps = slash + 1;
        if (strcmp(ps, "*") == 0 ||
            (strlen(ps) == sub.len && strncasecmp(ps, sub.ptr, sub.len) == 0))
            return true;
    }
    return false;
}

typedef struct reader {
    dyn_conn_t *c;
    const char *mem; /* the body kept whole, if it was */
    size_t len, off;
} reader_t;

static ssize_t read_piece(void *arg, void *buf, size_t cap)
{
    reader_t *r = arg;
    if (!r->mem)
        return dyn_conn_read_body(r->c, buf, cap);
    size_t n = r->len - r->off < cap ? r->len - r->off : cap;
    memcpy(buf, r->mem + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

static const char *upload_dir(const dyn_conn_t *c)
{
    const char *d = limits(c)->upload_dir;
    if (!d || !d[0])
        d = getenv("TMPDIR");
    return d && d[0] ? d : "/tmp";
}

static void parse_multipart(dyn_conn_t *c, dyn__fetch_t *f, const char *params)
{
    char boundary[80];
    ssize_t bl = dyn__mime_param(params, "boundary", boundary, sizeof boundary);
    if (bl < 0 || !dyn__mp_boundary_ok(boundary, (size_t)bl))
        dyn_raise(c, 400, "a multipart body without a valid boundary parameter");
    const dyn_limits_t *l = limits(c);
    uint64_t body = max_body(c);
    dyn__mp_limits_t ml = {
        .form = form_limits(c),
        .max_parts = or32(l->max_parts, DEFAULT_MAX_PARTS),
        .max_files = or32(l->max_files, DEFAULT_MAX_FILES),
        .max_file_size = l->max_file_size ? l->max_file_size : body,
        .max_body = body,
        .max_header_size = or32(l->max_part_header_size, DEFAULT_MAX_PART_HEADER),
        .max_headers = or32(l->max_part_headers, DEFAULT_MAX_PART_HEADERS),
        .upload_dir = upload_dir(c),
        .named_uploads = l->named_uploads,
    };
    reader_t r = {.c = c};
    if (c->body_done) {
        r.mem = c->body;
        r.len = c->body_len;
    } else {
        f->body_streamed = true;
    }
    char err[200] = "";
    int rc = dyn__multipart_read(c->arena, boundary, read_piece, &r, &ml, f->body, &f->uploads, err,
                                 sizeof err);
    switch (rc) {
    case 0:
        return;
    case DYN_EBADENCODING:
        dyn_raise(c, 400, "multipart body: %s", err);
    case DYN_ELIMIT:
    case HTTP_ETOOLARGE:
        dyn_raise(c, 413, "multipart body: %s", err);
    case -ETIMEDOUT:
    case HTTP_EBADBODY:
    case -EPIPE:
    case -ECONNRESET:
        raise_read(c, rc, "multipart body");
    case ACT_ENOMEM:
        oom(c);
    case -EMFILE: /* no descriptor for a temporary file: an overload that passes */
    case -ENFILE:
        dyn_raise(c, 503, "multipart body: %s", err);
    default: /* a temporary file: the server's trouble, not the client's */
        dyn__conn_fail(c, rc, "multipart body: %s", err);
    }
}

static void parse_urlencoded(dyn_conn_t *c, dyn__fetch_t *f)
{
    const char *body;
    size_t len;
    int rc = dyn_conn_body(c, or32(limits(c)->max_form_size, DEFAULT_MAX_FORM), &body, &len);
    if (rc)
        raise_read(c, rc, "urlencoded body");
    dyn_form_limits_t fl = form_limits(c);
    if ((rc = dyn_urlencoded_params(body, len, f->body, &fl)))
        raise_decode(c, rc, "urlencoded body", "");
}

static void parse_json(dyn_conn_t *c, dyn__fetch_t *f)
{
    const char *body;
    size_t len;
    int rc = dyn_conn_body(c, 0, &body, &len);
    if (rc)
        raise_read(c, rc, "JSON body");
    if (len == 0)
        return; /* Plug: an empty JSON body is no params */
    const dyn_limits_t *l = limits(c);
    dyn_json_limits_t jl = {or32(l->max_param_depth, DEFAULT_MAX_DEPTH),
                            or32(l->max_json_items, DEFAULT_MAX_JSON_ITEMS)};
    dyn_value_t v;
    char err[200];
    if ((rc = dyn_json_decode(c->arena, body, len, &jl, &v, err, sizeof err)))
        raise_decode(c, rc, "JSON body", err);
    if (v.type == DYN_V_MAP)
        f->body = v.m;
    else if (dyn_map_put(f->body, "_json", v) != 0) /* Phoenix's key for a non-object */
        oom(c);
}

static void fetch_body_params(dyn_conn_t *c)
{
    dyn__fetch_t *f = dyn__fetch_state(c);
    f->body = new_map(c);
    const char *ct = dyn_conn_req_header(c, "content-type");
    if (has_body_method((http_method_t)c->method) && ct) {
        dyn_str_t type, sub;
        const char *params;
        if (!dyn__mime_split(ct, &type, &sub, &params))
            dyn_raise(c, 415, "an unreadable content-type \"%.100s\"", ct);
        if (dyn__ieq(type.ptr, type.len, "multipart") &&
            (dyn__ieq(sub.ptr, sub.len, "form-data") || dyn__ieq(sub.ptr, sub.len, "mixed")))
            parse_multipart(c, f, params);
        else if (dyn__ieq(type.ptr, type.len, "application") &&
                 dyn__ieq(sub.ptr, sub.len, "x-www-form-urlencoded"))
            parse_urlencoded(c, f);
        else if (dyn__ieq(type.ptr, type.len, "application") &&
                 (dyn__ieq(sub.ptr, sub.len, "json") ||
                  (sub.len > 5 && dyn__ieq(sub.ptr + sub.len - 5, 5, "+json"))))
            parse_json(c, f);
        else if (!passes(c, type, sub))
            dyn_raise(c, 415,
                      "no parser for a body of type %.*s/%.*s (and it is not in the "
                      "Dynamo's pass list)",
                      (int)type.len, type.ptr, (int)sub.len, sub.ptr);
    }
    merge(c, f->body, f->query);
    c->fetched |= DYN_FETCH__BODY_PARAMS;
}

const dyn_map_t *dyn_conn_query_params(dyn_conn_t *c)
{
    dyn__fetch_require(c, DYN_FETCH_QUERY, "the query parameters");
    return c->fetch->query;
}

const dyn_map_t *dyn_conn_body_params(dyn_conn_t *c)
{
    dyn__fetch_require(c, DYN_FETCH_PARAMS, "the body parameters");
    return c->fetch->body;
}

/* ---- the session --------------------------------------------------------------------------------
 */

static void fetch_session(dyn_conn_t *c)
{
    const dyn_value_t *v = dyn_conn_private(c, DYN__SESSION_FETCHER);
    if (!v || v->type != DYN_V_PTR || !v->p)
        dyn__conn_fail(c, DYN_ENOTFETCHED,
                       "session fetched without dyn_plug_session in the endpoint");
    c->fetched |= SESSION_ONLY;
    dyn__session_fetch_fn fn = (dyn__session_fetch_fn)v->p;
    if (!fn(c))
        dyn__conn_fail(c, DYN_ENOCONN, "the session plug's fetcher returned no conn");
}

dyn_conn_t *dyn_fetch(dyn_conn_t *c, unsigned what)
{
    if (ACT_UNLIKELY(what & ~ALL_PARTS))
        dyn__conn_fail(c, ACT_EBADARG, "dyn_fetch of unknown parts 0x%x", what & ~ALL_PARTS);
    unsigned todo = what & ~c->fetched;
    if (!todo)
        return c;
    if (todo & DYN_FETCH_QUERY)
        fetch_query(c);
    if (todo & DYN_FETCH_BODY)
        fetch_body(c);
    if (todo & DYN_FETCH__BODY_PARAMS)
        fetch_body_params(c);
    if (todo & DYN_FETCH_COOKIES) {
        dyn__fetch_cookies(c);
        c->fetched |= DYN_FETCH_COOKIES;
    }
    if (todo & SESSION_ONLY)
        fetch_session(c);
    return c;
}
