/*
 * The llhttp glue: parses a request head in place and stops right after it.
 *
 * llhttp is compiled in strict mode (LLHTTP_STRICT_MODE=1): CRLF required everywhere (no bare
 * CR or LF), header names are tokens with no space before the colon, field values have no
 * control characters, Content-Length is digits only and never repeated, Content-Length with
 * Transfer-Encoding is an error. What it lets through and we refuse is checked when the head is
 * split (head.c): runs of spaces in the request line, obs-fold, empty names, an empty
 * Transfer-Encoding, codings other than chunked, missing, repeated or invalid Host; and here,
 * versions other than 1.0/1.1. What it refuses and RFC 9110 allows, a method outside its list,
 * is taken here on its error path (other_method).
 *
 * on_headers_complete pauses the parser, so llhttp never sees a body: the caller reads
 * llhttp's error position to learn where the head ended and frames the body itself. Span
 * callbacks record offsets relative to the message's first byte, never pointers, so the
 * caller may move the bytes between two feeds. Limits are checked as bytes arrive, so an
 * oversized head is refused before it is buffered whole.
 */
#include <assert.h>
#include <string.h>

#include <llhttp.h>

#include "parser_int.h"

typedef struct pstate {
    llhttp_t ll; /* first: callbacks get &ll */
    const http_limits_t *lim;
    const char *base; /* the caller's buffer during one feed */
    uint32_t start;   /* the message's first byte in base during one feed */
    uint32_t head_off;
    uint32_t url_off;
    uint32_t url_len;
    uint32_t hdr_bytes;
    uint32_t nhdr;
    uint16_t status; /* set by a callback that returns HPE_USER */
    bool began;
    bool url_done;
    bool other;       /* a method llhttp does not know: llhttp parses after a stand-in */
    bool method_wait; /* such a method, its end not yet received */
} pstate_t;

static_assert(sizeof(pstate_t) <= sizeof(http__parser_t), "http__parser_t too small");
static_assert(_Alignof(pstate_t) <= 8, "http__parser_t alignment");

static inline pstate_t *ps(llhttp_t *ll)
{
    return (pstate_t *)ll;
}

static inline uint32_t rel(pstate_t *s, const char *at)
{
    return (uint32_t)(at - s->base) - s->start;
}

static int fail(pstate_t *s, int status)
{
    s->status = (uint16_t)status;
    return HPE_USER;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
    (void)n;
    pstate_t *s = ps(ll);
    if (!s->began) {
        s->began = true;
        s->head_off = rel(s, at);
    }
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    pstate_t *s = ps(ll);
    if (s->url_len == 0)
        s->url_off = rel(s, at) - s->head_off;
    s->url_len += (uint32_t)n;
    if (s->url_len > s->lim->max_request_line)
        return fail(s, 414);
    return 0;
}

static int on_url_complete(llhttp_t *ll)
{
    ps(ll)->url_done = true;
    return 0;
}

static int on_header_bytes(llhttp_t *ll, const char *at, size_t n)
{
    (void)at;
    pstate_t *s = ps(ll);
    s->hdr_bytes += (uint32_t)n;
    if (s->hdr_bytes > s->lim->max_header_size)
        return fail(s, 431);
    return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
    pstate_t *s = ps(ll);
    if (++s->nhdr > s->lim->max_headers)
        return fail(s, 431);
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    (void)ll;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_method = on_method,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_bytes,
    .on_header_value = on_header_bytes,
    .on_header_field_complete = on_header_field_complete,
    .on_headers_complete = on_headers_complete,
};

void http__parser_init(http__parser_t *p, const http_limits_t *lim)
{
    pstate_t *s = (pstate_t *)p;
    memset(s, 0, sizeof *s);
    llhttp_init(&s->ll, HTTP_REQUEST, &settings);
    s->lim = lim;
}

bool http__parser_began(const http__parser_t *p)
{
    return ((const pstate_t *)p)->began;
}

const bool http__tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['!'] = true,  ['#'] = true,
    ['$'] = true,         ['%'] = true,         ['&'] = true,         ['\''] = true, ['*'] = true,
    ['+'] = true,         ['-'] = true,         ['.'] = true,         ['^'] = true,  ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

/* Longest method token taken (RFC 9110 9.1 sets none; a longer one gets 501). */
#define METHOD_MAX 32

/* llhttp only knows its list of methods, case-sensitively; RFC 9110 9.1 makes any token a method
 * (unknown ones are the application's to refuse). On llhttp's error, a token followed by SP is
 * taken as HTTP_METHOD_OTHER: llhttp starts again with a stand-in method and parses the rest of
 * the line from the SP. Returns -1 when parsing goes on from *parsed, HTTP__P_MORE while the
 * token's end has not arrived (*parsed = end), or the status of a bad one. Only the error path
 * of a request line runs this. */
static int other_method(pstate_t *s, const char *buf, uint32_t *parsed, uint32_t end)
{
    if (s->other)
        return 400; /* llhttp failed on the method after its stand-in: not a method */
    const char *b = buf + s->start, *e = buf + end, *m = b;
    while (e - m >= 2 && m[0] == '\r' && m[1] == '\n')
        m += 2; /* empty lines before the request line */
    const char *p = m;
    while (p < e && p - m <= METHOD_MAX && http__tchar[(unsigned char)*p])
        p++;
    if (p - m > METHOD_MAX)
        return 501;
    if (p == m && p < e)
        return 400;
    s->began = true; /* the caller keeps the bytes from head_off on */
    s->head_off = (uint32_t)(m - b);
    if (p == e) {
        s->method_wait = true;
        *parsed = end;
        return HTTP__P_MORE;
    }
    if (*p != ' ')
        return 400;
    s->method_wait = false;
    s->other = true;
    llhttp_init(&s->ll, HTTP_REQUEST, &settings);
    if (llhttp_execute(&s->ll, "GET", 3) != HPE_OK)
        return 400; /* cannot happen: a method llhttp knows, cut before its SP */
    *parsed = (uint32_t)(p - buf);
    return -1;
}

/* "HTTP/d.d" with another version is 505; anything else 400. */
static int bad_version_status(pstate_t *s, const char *p, const char *end)
{
    const char *q = p + s->head_off + s->url_off + s->url_len;
    if (q < end && *q == ' ')
        q++;
    if (end - q >= 8 && memcmp(q, "HTTP/", 5) == 0 && q[5] >= '0' && q[5] <= '9' && q[6] == '.' &&
        q[7] >= '0' && q[7] <= '9' && !(q[5] == '1' && q[7] <= '1'))
        return 505; /* well formed, not ours; a 1.0/1.1 line that fails is malformed: 400 */
    return 400;
}

static uint8_t our_method(uint8_t m)
{
    switch (m) {
    case HTTP_GET:
        return HTTP_METHOD_GET;
    case HTTP_HEAD:
        return HTTP_METHOD_HEAD;
    case HTTP_POST:
        return HTTP_METHOD_POST;
    case HTTP_PUT:
        return HTTP_METHOD_PUT;
    case HTTP_DELETE:
        return HTTP_METHOD_DELETE;
    case HTTP_PATCH:
        return HTTP_METHOD_PATCH;
    case HTTP_OPTIONS:
        return HTTP_METHOD_OPTIONS;
    case HTTP_TRACE:
        return HTTP_METHOD_TRACE;
    case HTTP_CONNECT:
        return HTTP_METHOD_CONNECT;
    default:
        return HTTP_METHOD_OTHER;
    }
}

/* The most bytes a head may take before the limits decide: the two limits plus room for the
 * method, version, separators and whitespace they do not count. */
static uint64_t head_bound(const http_limits_t *lim)
{
    return (uint64_t)lim->max_request_line + lim->max_header_size + (uint64_t)lim->max_headers * 8 +
           1024;
}

int http__parse_head(http__parser_t *p, const char *buf, uint32_t start, uint32_t *parsed,
                     uint32_t end, http__head_t *head)
{
    pstate_t *s = (pstate_t *)p;
    s->base = buf;
    s->start = start;
    if (ACT_UNLIKELY(s->method_wait)) {
        int r = other_method(s, buf, parsed, end);
        if (r >= 0)
            return r;
    }
    llhttp_errno_t e = llhttp_execute(&s->ll, buf + *parsed, end - *parsed);
    if (ACT_UNLIKELY(e == HPE_INVALID_METHOD)) {
        int r = other_method(s, buf, parsed, end);
        if (r >= 0)
            return r;
        e = llhttp_execute(&s->ll, buf + *parsed, end - *parsed);
    }
    if (e == HPE_OK) {
        *parsed = end;
        if ((uint64_t)(end - start) > head_bound(s->lim))
            return s->url_done ? 431 : 414;
        return HTTP__P_MORE;
    }
    if (e == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&s->ll);
        *parsed = (uint32_t)(pos - buf);
        /* Strict mode still takes a bare LF ending the request line right before the final
         * CRLF, or ending the final empty line: refuse it as every other bare LF is (a head
         * always ends in CRLF CRLF, which head.c relies on). */
        if (*parsed - start < 4 || memcmp(pos - 4, "\r\n\r\n", 4) != 0)
            return 400;
        uint8_t major = s->ll.http_major, minor = s->ll.http_minor;
        if (major != 1 || minor > 1)
            return 505;
        uint16_t f = s->ll.flags;
        *head = (http__head_t){
            .off = s->head_off,
            .len = *parsed - start - s->head_off,
            .url_off = s->url_off,
            .url_len = s->url_len,
            .method = s->other ? HTTP_METHOD_OTHER : our_method(s->ll.method),
            .version = (uint8_t)(10 + minor),
            .chunked = (f & F_CHUNKED) != 0,
            .has_te = (f & F_TRANSFER_ENCODING) != 0,
            .has_cl = (f & F_CONTENT_LENGTH) != 0,
            .content_length = (f & F_CONTENT_LENGTH) ? s->ll.content_length : 0,
        };
        if (minor == 1)
            head->keepalive = (f & F_CONNECTION_CLOSE) == 0;
        else
            head->keepalive = (f & F_CONNECTION_KEEP_ALIVE) && !(f & F_CONNECTION_CLOSE);
        return HTTP__P_HEAD;
    }
    if (s->status)
        return s->status; /* a limit, from a callback (llhttp renames *_complete errors) */
    switch (e) {
    case HPE_PAUSED_H2_UPGRADE:
        return 505; /* the HTTP/2 connection preface */
    case HPE_INVALID_VERSION:
        return bad_version_status(s, buf + start, buf + end);
    default:
        return 400;
    }
}
