/*
 * The conn (conn.h), response side: states, resp/send/stream/sendfile, headers, redirects,
 * halt, before-send callbacks.
 *
 * Programming errors (a header with CR or LF, a change after the response went out) fail the
 * request with act_failf: the pipeline's catch turns them into the exception page, as Plug
 * raises. The client going away is not an error of the route: writes report it and the
 * response counts as sent. Header names are stored lowercased, values copied, until the
 * response goes out: before-send callbacks may still change them.
 */
#include <string.h>
#include <strings.h>

#include "conn_int.h"
#include "fetch_int.h"

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"

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
            dyn__conn_oom(c);
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

/* The value of the header named lname (lowercase, as stored), or NULL. */
static const char *find_lower(const dyn_conn_t *c, const char *lname, size_t nl)
{
    for (uint32_t i = 0; i < c->nrh; i++)
        if (c->rh[i].name_len == nl && memcmp(c->rh[i].name, lname, nl) == 0)
            return c->rh[i].value;
    return NULL;
}

static void default_content_type(dyn_conn_t *c, size_t len)
{
    if (len && !find_lower(c, "content-type", 12))
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

/* The next free header entry: four live inline in the conn, more double in the arena. */
static http_header_t *slot(dyn_conn_t *c)
{
    if (ACT_UNLIKELY(c->nrh == c->caprh)) {
        uint32_t ncap = c->caprh * 2;
        http_header_t *n = dyn_arena_alloc(c->arena, ncap * sizeof *n);
        if (!n)
            dyn__conn_oom(c);
        memcpy(n, c->rh, c->nrh * sizeof *n);
        c->rh = n;
        c->caprh = ncap;
    }
    return &c->rh[c->nrh++];
}

/* Header names routes set most, interned: given exactly so (lowercase), they are neither
 * checked nor copied. */
static const char *interned(const char *name, size_t n)
{
    /* By length first: at most two compares (every route sets content-type). */
    static const char *const by_len[][2] = {
        [4] = {"etag", "vary"},
        [8] = {"location"},
        [10] = {"set-cookie"},
        [12] = {"content-type", "x-request-id"},
        [13] = {"cache-control", "last-modified"},
        [19] = {"content-disposition"},
    };
    if (n >= sizeof by_len / sizeof by_len[0])
        return NULL;
    for (int i = 0; i < 2 && by_len[n][i]; i++)
        if (memcmp(by_len[n][i], name, n) == 0)
            return by_len[n][i];
    return NULL;
}

/* A lowercased copy of a header name in the arena, checked: one pass, a bit test a byte. */
static const char *name_copy(dyn_conn_t *c, const char *name, size_t *len)
{
    size_t n = strlen(name);
    if (ACT_UNLIKELY(n == 0))
        dyn__conn_fail(c, DYN_EBADHEADER, "an empty response header name");
    const char *known = interned(name, n);
    if (known) {
        *len = n;
        return known;
    }
    char *out = dyn_arena_alloc(c->arena, n + 1);
    if (!out)
        dyn__conn_oom(c);
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

size_t dyn__field_value_len(const char *v)
{
    const char *p = v;
    while ((unsigned char)*p >= 0x20 ? *p != 0x7f : *p == '\t')
        p++;
    return *p ? SIZE_MAX : (size_t)(p - v);
}

static void add_header(dyn_conn_t *c, const char *lname, size_t nl, const char *value)
{
    size_t vl = dyn__field_value_len(value);
    if (ACT_UNLIKELY(vl == SIZE_MAX))
        dyn__conn_fail(c, DYN_EBADHEADER,
                       "response header %.60s: the value contains a control character (CR, LF, "
                       "...)",
                       lname);
    char *vv = dyn_arena_alloc(c->arena, vl + 1); /* the length is known: no strndup */
    if (!vv)
        dyn__conn_oom(c);
    memcpy(vv, value, vl + 1);
    *slot(c) = (http_header_t){lname, vv, (uint32_t)nl, (uint32_t)vl};
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

void dyn__resp_header_add_trusted(dyn_conn_t *c, const char *lname, uint32_t nl, const char *value,
                                  uint32_t vl)
{
    not_sent(c, "a response header");
    *slot(c) = (http_header_t){lname, value, nl, vl};
}

void dyn__resp_header_trusted(dyn_conn_t *c, const char *lname, uint32_t nl, const char *value,
                              uint32_t vl)
{
    if (c->nrh)
        remove_headers(c, lname, nl);
    dyn__resp_header_add_trusted(c, lname, nl, value, vl);
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
        dyn__conn_oom(c);
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
        dyn__conn_oom(c);
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
