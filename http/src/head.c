/*
 * From a parsed head to a request: splits the arena copy of the head in place (names
 * lowercased, strings NUL-terminated where the CR or colon was), resolves the target's form,
 * and applies the rules llhttp leaves to us: one SP between the request line's parts, no
 * obs-fold, no empty field name, exactly one valid Host in HTTP/1.1 (at most one in 1.0),
 * Transfer-Encoding only chunked (last, without parameters), never empty, never in HTTP/1.0,
 * Expect only 100-continue, the body within max_body_size.
 */
#include <string.h>

#include "req_int.h"

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != b[i])
            return false;
    return true;
}

static inline bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits "name: value\r\n" lines in [p, end) into out; returns the count or -1 for obs-fold or
 * an empty name. Names are lowercased in place and NUL-terminated at the colon, values at
 * their trailing whitespace or CR. */
static long split_fields(char *p, char *end, http_header_t *out, size_t max)
{
    size_t n = 0;
    while (p < end) {
        char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (is_ows(*p))
            return -1; /* obs-fold: a continuation line */
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return -1;
        for (char *q = p; q < colon; q++)
            *q = lower(*q);
        *colon = '\0';
        char *v = colon + 1;
        while (v < eol && is_ows(*v))
            v++;
        char *ve = eol;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        *ve = '\0';
        if (n < max)
            out[n] = (http_header_t){.name = p,
                                     .value = v,
                                     .name_len = (uint32_t)(colon - p),
                                     .value_len = (uint32_t)(ve - v)};
        n++;
        p = eol + 2;
    }
    return (long)n;
}

size_t http__fields_split(char *lines, size_t len, http_header_t *out, size_t max)
{
    long n = split_fields(lines, lines + len, out, max);
    return n < 0 ? 0 : ((size_t)n < max ? (size_t)n : max);
}

/* Transfer-Encoding: a list of codings over all its fields. Only "chunked", once, last. */
static int check_te(const http_header_t *h, size_t n)
{
    bool chunked_last = false;
    bool other = false;
    int seen_chunked = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(h[i].name, "transfer-encoding") != 0)
            continue;
        const char *p = h[i].value, *e = p + h[i].value_len;
        while (p < e) {
            while (p < e && (is_ows(*p) || *p == ','))
                p++;
            const char *t = p;
            while (p < e && *p != ',' && *p != ';' && !is_ows(*p))
                p++;
            size_t tl = (size_t)(p - t);
            while (p < e && is_ows(*p))
                p++;
            bool params = p < e && *p != ',';
            while (p < e && *p != ',')
                p++; /* parameters of a coding */
            if (tl == 0 && !params)
                continue;                           /* an empty list element */
            if (ieq(t, tl, "chunked") && !params) { /* chunked has no parameters */
                seen_chunked++;
                chunked_last = true;
            } else {
                other = true;
                chunked_last = false;
            }
        }
    }
    if (!chunked_last || seen_chunked != 1)
        return 400; /* the body length cannot be known (RFC 9112 6.3) */
    return other ? 501 : 0;
}

/* Bytes of a reg-name (RFC 3986 3.2.2: unreserved, sub-delims; '%' starts a pct-encoding). */
static const bool reg_name_byte[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['-'] = true, ['.'] = true,
    ['_'] = true,         ['~'] = true,         ['!'] = true,         ['$'] = true, ['&'] = true,
    ['\''] = true,        ['('] = true,         [')'] = true,         ['*'] = true, ['+'] = true,
    [','] = true,         [';'] = true,         ['='] = true,
};

static inline bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An authority without userinfo, as Host carries it (RFC 9112 3.2, RFC 3986 3.2.2): uri-host
 * [":" port], uri-host an IP-literal in brackets or a reg-name (which IPv4 addresses are),
 * possibly empty (RFC 9112 3.2: a target without authority); port = *DIGIT. Anything else is
 * "a Host header field with an invalid field value": 400. */
static bool host_ok(const char *h, size_t len)
{
    size_t i = 0;
    if (len && h[0] == '[') {
        /* IPv6address or IPvFuture: hex digits, ':' and '.' (or unreserved / sub-delims) */
        for (i = 1; i < len && h[i] != ']'; i++)
            if (h[i] != ':' && !reg_name_byte[(unsigned char)h[i]])
                return false;
        if (i == len || i == 1)
            return false;
        i++;
    } else {
        for (; i < len && h[i] != ':'; i++) {
            if (h[i] == '%') {
                if (len - i < 3 || !is_hex(h[i + 1]) || !is_hex(h[i + 2]))
                    return false;
                i += 2;
            } else if (!reg_name_byte[(unsigned char)h[i]]) {
                return false;
            }
        }
    }
    if (i < len && h[i++] != ':')
        return false;
    for (; i < len; i++)
        if (h[i] < '0' || h[i] > '9')
            return false;
    return true;
}

/* Origin-form "/p?q", absolute-form "http://a/p?q", asterisk-form "*". */
static int resolve_target(http_req_t *req, const char **abs_host, size_t *abs_host_len)
{
    const char *t = req->target;
    size_t len = strlen(t);
    const char *path = NULL;
    size_t path_len = 0;
    *abs_host = NULL;
    if (memchr(t, '#', len))
        return 400;
    if (t[0] == '/') {
        path = t;
        path_len = len;
    } else if (len == 1 && t[0] == '*') {
        if (req->method != HTTP_METHOD_OPTIONS)
            return 400;
        req->path = t;
        req->query = "";
        return 0;
    } else {
        size_t skip;
        if (len >= 7 && ieq(t, 7, "http://"))
            skip = 7;
        else if (len >= 8 && ieq(t, 8, "https://"))
            skip = 8;
        else
            return 400;
        const char *a = t + skip, *e = t + len;
        const char *ae = a;
        while (ae < e && *ae != '/' && *ae != '?')
            ae++;
        if (ae == a || !host_ok(a, (size_t)(ae - a)))
            return 400;
        *abs_host = a;
        *abs_host_len = (size_t)(ae - a);
        path = ae;
        path_len = (size_t)(e - ae);
    }
    const char *q = memchr(path, '?', path_len);
    size_t plen = q ? (size_t)(q - path) : path_len;
    if (plen == 0) {
        req->path = "/";
    } else if (!q && path + path_len == t + len && path == t) {
        req->path = t; /* the whole target: already NUL-terminated */
    } else {
        char *p = http__arena_alloc(&req->arena, plen + 1);
        if (!p)
            return 503;
        memcpy(p, path, plen);
        p[plen] = '\0';
        req->path = p;
    }
    req->query = q ? q + 1 : "";
    return 0;
}

int http__req_fill(http_req_t *req, char *h, const http__head_t *hd, const http_limits_t *lim)
{
    char *end = h + hd->len - 2; /* the final empty line's CRLF */
    req->method = hd->method;
    req->version = hd->version;
    req->keepalive = hd->keepalive;
    /* request line: METHOD SP target SP version CRLF */
    /* llhttp's strict mode takes runs of spaces between the parts, and a bare LF ending the
     * line: RFC 9112 3 has one SP each, and we take nothing else (nor does h2o). llhttp has
     * checked "HTTP/d.d", so the line ends 10 bytes after the target's end. */
    char *sp = h + hd->url_off - 1, *url_end = h + hd->url_off + hd->url_len;
    char *line_end = url_end + 10;
    if (hd->url_off < 2 || *sp != ' ' || memchr(h, ' ', hd->url_off - 1) || *url_end != ' ' ||
        url_end[1] != 'H' || line_end >= end || line_end[-1] != '\r' || *line_end != '\n')
        return 400;
    *sp = '\0';
    req->method_str = h;
    *url_end = '\0';
    req->target = h + hd->url_off;
    char *fields = line_end + 1;

    /* Count lines for the array, then split. */
    size_t n = 0;
    for (char *p = fields; p < end; p++)
        if (*p == '\n')
            n++;
    if (n > lim->max_headers)
        return 431;
    req->headers = n ? http__arena_alloc(&req->arena, n * sizeof(http_header_t)) : NULL;
    if (n && !req->headers)
        return 503;
    long got = split_fields(fields, end, req->headers, n);
    if (got < 0 || (size_t)got != n)
        return 400;
    req->nheaders = (uint32_t)n;

    if (req->method == HTTP_METHOD_CONNECT)
        return 501; /* not a proxy */

    const char *host = NULL;
    unsigned hosts = 0;
    bool te = hd->has_te; /* llhttp flags only a non-empty Transfer-Encoding */
    for (size_t i = 0; i < n; i++) {
        const http_header_t *f = &req->headers[i];
        switch (f->name_len) {
        case 4:
            if (memcmp(f->name, "host", 4) == 0) {
                hosts++;
                host = f->value;
                if (!host_ok(f->value, f->value_len))
                    return 400;
            }
            break;
        case 6:
            if (memcmp(f->name, "expect", 6) == 0) {
                if (!ieq(f->value, f->value_len, "100-continue"))
                    return 417;
                req->expect_continue = req->version == 11;
            }
            break;
        case 17:
            te |= memcmp(f->name, "transfer-encoding", 17) == 0;
            break;
        default:
            break;
        }
    }
    if (hosts > 1 || (hosts == 0 && req->version == 11))
        return 400;

    if (te) {
        if (req->version == 10 || hd->has_cl)
            return 400; /* RFC 9112 6.1: faulty framing */
        int st = check_te(req->headers, n);
        if (st)
            return st;
        req->chunked = true;
        req->content_length = -1;
    } else {
        req->content_length = (int64_t)hd->content_length;
        if (hd->content_length > lim->max_body_size)
            return 413;
    }

    const char *abs_host;
    size_t abs_len = 0;
    int st = resolve_target(req, &abs_host, &abs_len);
    if (st)
        return st;
    if (abs_host) {
        char *hc = http__arena_alloc(&req->arena, abs_len + 1);
        if (!hc)
            return 503;
        memcpy(hc, abs_host, abs_len);
        hc[abs_len] = '\0';
        req->host = hc; /* RFC 9112 3.2.2: the target's authority wins over Host */
    } else {
        req->host = host ? host : "";
    }
    return 0;
}
