/*
 * Cookies (cookie.h): the request's, parsed by the cookies fetch, and the response's, kept by
 * name and written as Set-Cookie headers once, after the before-send callbacks (which may
 * still set some: a session plug does), just before the head goes out.
 *
 * Parsing copies each Cookie header once into the arena and cuts it in place: names and
 * values are NUL-terminated where their ';' or trailing space was, so a request with 20
 * cookies costs one copy and 20 map entries.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf_int.h"
#include "conn_int.h"
#include "cookie_int.h"
#include "fetch_int.h"
#include "static_int.h"
#include "text_int.h"
#include "value_int.h"

#define DEFAULT_MAX_COOKIES 200
#define DEFAULT_MAX_COOKIE_SIZE 4096
/* The latest Expires written: browsers cap dates anyway, and gmtime needs a 4-digit year. */
#define MAX_EXPIRES ((time_t)253402300799) /* 9999-12-31 23:59:59 UTC */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether s[0..n) is free of control characters (< 0x20, 0x7f), eight bytes a step: a
 * session cookie's value is a few hundred bytes read on every request. "Some byte below k" is
 * (x - k * ONES) & ~x & HIGHS, exact as a yes/no (a borrow only follows a byte that is below). */
static bool no_ctl(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, s, 8);
        y = x ^ (0x7f * ones);
        if (((x - 0x20 * ones) & ~x & highs) | ((y - ones) & ~y & highs))
            return false;
    }
    for (; n; s++, n--)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* ---- request cookies --------------------------------------------------------------------------
 */

int dyn__cookies_parse(dyn_map_t *into, const char *header, size_t len, uint32_t max_cookies,
                       uint32_t max_size)
{
    char *s = dyn_arena_strndup(dyn_map_arena(into), header, len);
    if (!s)
        return ACT_ENOMEM;
    size_t i = 0;
    while (i < len && dyn_map_len(into) < max_cookies) {
        size_t start = i;
        char *semi = memchr(s + i, ';', len - i);
        size_t end = semi ? (size_t)(semi - s) : len;
        i = end + 1;
        while (start < end && is_ws(s[start]))
            start++;
        while (end > start && is_ws(s[end - 1]))
            end--;
        char *eq = memchr(s + start, '=', end - start);
        if (!eq || end - start > max_size)
            continue;
        size_t ne = (size_t)(eq - s), vs = ne + 1;
        while (ne > start && is_ws(s[ne - 1]))
            ne--;
        while (vs < end && is_ws(s[vs]))
            vs++;
        if (ne == start)
            continue;
        size_t k = start;
        while (k < ne && dyn__tchar((unsigned char)s[k]))
            k++;
        if (k < ne)
            continue; /* a name that is not a token */
        if (!no_ctl(s + vs, end - vs))
            continue; /* a control character */
        s[end] = '\0';
        s[ne] = '\0'; /* ne <= the '=' */
        /* The key is borrowed: s lives in the map's arena. A later duplicate is dropped. */
        if (dyn__map_add_borrowed(into, s + start, ne - start, dyn_vstrn(s + vs, end - vs)) < 0)
            return ACT_ENOMEM;
    }
    return 0;
}

void dyn__fetch_cookies(dyn_conn_t *c)
{
    dyn__fetch_t *f = dyn__fetch_state(c);
    const dyn_limits_t *lim = &c->inst->decl->dyn_limits;
    uint32_t max = lim->max_cookies ? lim->max_cookies : DEFAULT_MAX_COOKIES;
    uint32_t size = lim->max_cookie_size ? lim->max_cookie_size : DEFAULT_MAX_COOKIE_SIZE;
    if (!(f->cookies = dyn_map_new(c->arena)))
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    /* Clients should send one Cookie header (RFC 6265 5.4); those that split them are read as
     * one list, in order. */
    for (size_t i = 0; i < c->nheaders; i++) {
        const http_header_t *h = &c->headers[i];
        if (h->name_len == 6 && strncasecmp(h->name, "cookie", 6) == 0 &&
            dyn__cookies_parse(f->cookies, h->value, h->value_len, max, size) != 0)
            dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    }
}

const dyn_map_t *dyn_req_cookies(dyn_conn_t *c)
{
    dyn__fetch_require(c, DYN_FETCH_COOKIES, "request cookies");
    return c->fetch->cookies;
}

const char *dyn_req_cookie(dyn_conn_t *c, const char *name)
{
    dyn__fetch_require(c, DYN_FETCH_COOKIES, "cookie \"%.100s\"", name);
    return dyn_value_str(dyn_map_get(c->fetch->cookies, name), NULL);
}

/* ---- response cookies -------------------------------------------------------------------------
 */

/* RFC 6265 cookie-octet: US-ASCII but CTLs, whitespace, '"', ',', ';' and '\'. */
static const bool cookie_octets[256] = {
    [0x21] = 1, [0x23 ... 0x2b] = 1, [0x2d ... 0x3a] = 1, [0x3c ... 0x5b] = 1, [0x5d ... 0x7e] = 1};

static bool value_ok(const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') { /* a quoted value, kept as given */
        v++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        if (!cookie_octets[(unsigned char)v[i]])
            return false;
    return true;
}

/* An attribute value (path, domain): any CHAR but CTLs and ';'. */
static bool av_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f || *v == ';')
            return false;
    return true;
}

static void put_date(dyn_buf_t *b, time_t t)
{
    char date[DYN__HTTP_DATE_LEN + 1];
    dyn__http_date_format(t < 0 ? 0 : t > MAX_EXPIRES ? MAX_EXPIRES : t, date);
    dyn_buf_put(b, date, DYN__HTTP_DATE_LEN);
}

static int format(dyn_buf_t *b, const char *name, const char *value, bool check_value,
                  const dyn_cookie_opts_t *opts, time_t now, char *err, size_t errlen)
{
    static const dyn_cookie_opts_t defaults = {0};
    const dyn_cookie_opts_t *o = opts ? opts : &defaults;
    const char *bad = NULL;
    bool name_ok = name[0] != '\0';
    for (const char *p = name; *p && name_ok; p++)
        name_ok = dyn__tchar((unsigned char)*p);
    if (!name_ok)
        bad = "name is not a token";
    else if (check_value && !value_ok(value))
        bad = "value holds a byte a cookie cannot (control, space, '\"', ',', ';' or '\\')";
    else if (o->path && !av_ok(o->path))
        bad = "path holds a control character or ';'";
    else if (o->domain && !av_ok(o->domain))
        bad = "domain holds a control character or ';'";
    if (bad) {
        if (err && errlen)
            snprintf(err, errlen, "cookie \"%.60s\": %s", name, bad);
        return DYN_EBADHEADER;
    }
    /* Pieces, not printf: this runs for every session write. */
    dyn_buf_puts(b, name);
    dyn_buf_put(b, "=", 1);
    dyn_buf_puts(b, value);
    dyn_buf_puts(b, "; Path=");
    dyn_buf_puts(b, o->path ? o->path : "/");
    if (o->domain) {
        dyn_buf_puts(b, "; Domain=");
        dyn_buf_puts(b, o->domain);
    }
    if (o->max_age > 0) {
        time_t exp = o->max_age > MAX_EXPIRES - now ? MAX_EXPIRES : now + (time_t)o->max_age;
        dyn_buf_puts(b, "; Expires=");
        put_date(b, exp);
        dyn_buf_puts(b, "; Max-Age=");
        dyn__buf_put_int(b, o->max_age);
    } else if (o->max_age < 0) {
        dyn_buf_puts(b, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
    } else if (o->expires) {
        dyn_buf_puts(b, "; Expires=");
        put_date(b, o->expires);
    }
    if (o->secure)
        dyn_buf_puts(b, "; Secure");
    if (!o->http_only_off)
        dyn_buf_puts(b, "; HttpOnly");
    switch (o->same_site) {
    case DYN_SAME_SITE_LAX:
        dyn_buf_puts(b, "; SameSite=Lax");
        break;
    case DYN_SAME_SITE_STRICT:
        dyn_buf_puts(b, "; SameSite=Strict");
        break;
    case DYN_SAME_SITE_NONE:
        dyn_buf_puts(b, "; SameSite=None");
        break;
    case DYN_SAME_SITE_OMIT:
        break;
    }
    return 0;
}

int dyn__cookie_format(dyn_buf_t *b, const char *name, const char *value,
                       const dyn_cookie_opts_t *opts, time_t now, char *err, size_t errlen)
{
    return format(b, name, value, true, opts, now, err, errlen);
}

int dyn__cookie_format_trusted(dyn_buf_t *b, const char *name, const char *value,
                               const dyn_cookie_opts_t *opts, time_t now, char *err, size_t errlen)
{
    return format(b, name, value, false, opts, now, err, errlen);
}

static dyn_conn_t *put_cookie(dyn_conn_t *c, const char *name, const char *value, bool trusted,
                              const dyn_cookie_opts_t *opts)
{
    if (c->state == DYN_STATE_SENT || c->state == DYN_STATE_CHUNKED)
        dyn__conn_fail(c, DYN_ESENT, "cookie \"%.60s\" set after the response was %s", name,
                       c->state == DYN_STATE_SENT ? "sent" : "started (chunked)");
    dyn__fetch_t *f = dyn__fetch_state(c);
    if (!f->resp_cookies && !(f->resp_cookies = dyn_map_new(c->arena)))
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 128);
    char err[200];
    int rc = format(&b, name, value, !trusted, opts, time(NULL), err, sizeof err);
    if (rc)
        dyn__conn_fail(c, rc, "%s", err);
    if (b.failed || dyn_map_put(f->resp_cookies, name, dyn_vstrn(b.data, b.len)) != 0)
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    return c;
}

dyn_conn_t *dyn_put_resp_cookie(dyn_conn_t *c, const char *name, const char *value,
                                const dyn_cookie_opts_t *opts)
{
    return put_cookie(c, name, value, false, opts);
}

dyn_conn_t *dyn__put_resp_cookie_trusted(dyn_conn_t *c, const char *name, const char *value,
                                         const dyn_cookie_opts_t *opts)
{
    return put_cookie(c, name, value, true, opts);
}

dyn_conn_t *dyn_delete_resp_cookie(dyn_conn_t *c, const char *name, const dyn_cookie_opts_t *opts)
{
    dyn_cookie_opts_t o = opts ? *opts : (dyn_cookie_opts_t){0};
    o.max_age = -1;
    o.expires = 0;
    return dyn_put_resp_cookie(c, name, "", &o);
}

const dyn_map_t *dyn_resp_cookies(const dyn_conn_t *cc)
{
    dyn_conn_t *c = (dyn_conn_t *)cc;
    dyn__fetch_t *f = dyn__fetch_state(c);
    if (!f->resp_cookies && !(f->resp_cookies = dyn_map_new(c->arena)))
        dyn__conn_fail(c, ACT_ENOMEM, "out of memory");
    return f->resp_cookies;
}

void dyn__resp_cookies_write(dyn_conn_t *c)
{
    dyn_str_t name;
    const dyn_value_t *v;
    /* Each line was checked as it was formatted (a token name, cookie-octets or the
     * framework's own base64url value, attributes without CTLs or ';') and lives in the
     * request's arena: neither checked nor copied again. */
    for (size_t i = 0; dyn_map_at(c->fetch->resp_cookies, i, &name, &v); i++)
        dyn__resp_header_add_trusted(c, "set-cookie", 10, v->s.ptr, (uint32_t)v->s.len);
}
