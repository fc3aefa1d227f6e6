/*
 * Request body framing: Content-Length, and the chunked coding with extensions and trailers
 * (RFC 9112 section 7.1), strictly:
 *
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size = 1*HEXDIG (at most 16 digits)
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
 *   last-chunk = 1*("0") [ chunk-ext ] CRLF, then trailer field lines, then CRLF
 *
 * Extensions are checked and ignored (they carry nothing we use). A size line or the trailer
 * section is consumed only once it is whole in the input (both are bounded), so the decoder
 * keeps no bytes of its own between calls: its state is a byte count and a position.
 */
#include <string.h>
#include <strings.h>

#include "parser_int.h"

enum { CS_SIZE, CS_DATA, CS_DATA_CRLF, CS_TRAILERS, CS_DONE };

void http__body_init(http__body_t *b, int mode, uint64_t length)
{
    *b = (http__body_t){.mode = (uint64_t)mode & 0xff, .left = length, .state = CS_SIZE};
    if (mode == HTTP__B_LENGTH && length == 0)
        b->mode = HTTP__B_NONE;
}

bool http__body_done(const http__body_t *b)
{
    return b->mode == HTTP__B_NONE || (b->mode == HTTP__B_LENGTH && b->left == 0) ||
           (b->mode == HTTP__B_CHUNKED && b->state == CS_DONE);
}

bool http__body_in_trailers(const http__body_t *b)
{
    return b->mode == HTTP__B_CHUNKED && b->state == CS_TRAILERS;
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char *skip_bws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The size line without its CRLF: p..e. Returns false if malformed. */
static bool parse_size_line(const char *p, const char *e, uint64_t *size)
{
    uint64_t v = 0;
    int digits = 0;
    int h;
    while (p < e && (h = hexval((unsigned char)*p)) >= 0) {
        if (++digits > 16)
            return false;
        v = (v << 4) | (uint64_t)h;
        p++;
    }
    if (digits == 0)
        return false;
    while (p < e) {
        p = skip_bws(p, e);
        if (p == e || *p != ';')
            return false; /* whitespace not followed by an extension */
        p = skip_bws(p + 1, e);
        const char *n = p;
        while (p < e && http__tchar[(unsigned char)*p])
            p++;
        if (p == n)
            return false;
        const char *q = skip_bws(p, e);
        if (q < e && *q == '=') {
            p = skip_bws(q + 1, e);
            if (p < e && *p == '"') {
                p++;
                for (;;) {
                    if (p == e)
                        return false;
                    unsigned char c = (unsigned char)*p;
                    if (c == '"')
                        break;
                    if (c == '\\') {
                        if (++p == e)
                            return false;
                        c = (unsigned char)*p;
                        if (c < 0x20 && c != '\t')
                            return false;
                        if (c == 0x7f)
                            return false;
                    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        return false;
                    }
                    p++;
                }
                p++;
            } else {
                const char *tok = p;
                while (p < e && http__tchar[(unsigned char)*p])
                    p++;
                if (p == tok)
                    return false;
            }
        }
    }
    *size = v;
    return true;
}

bool http__trailer_forbidden(const char *name, size_t n)
{
    static const char *const names[] = {
        "content-length",
        "transfer-encoding",
        "trailer",
        "host",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "expect",
        "max-forwards",
        "range",
        "authorization",
        "cookie",
        "proxy-authorization",
        "proxy-connection",
        "content-type",
        "content-encoding",
        "content-range",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return true;
    return false;
}

/* Trailer field lines [p, e), each ending in CRLF: token ":" OWS value OWS, value bytes
 * VCHAR / obs-text / SP / HTAB, never a forbidden field. Returns 0 or 400; 431 past the
 * limits. */
static int check_fields(const char *p, const char *e, const http_limits_t *lim)
{
    uint32_t n = 0;
    if ((uint64_t)(e - p) > lim->max_header_size)
        return 431;
    while (p < e) {
        const char *name = p;
        while (p < e && http__tchar[(unsigned char)*p])
            p++;
        if (p == name || p == e || *p != ':' || http__trailer_forbidden(name, (size_t)(p - name)))
            return 400;
        p++;
        while (p < e && *p != '\r') {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 400;
            p++;
        }
        if (e - p < 2 || p[1] != '\n')
            return 400;
        p += 2;
        if (++n > lim->max_headers)
            return 431;
    }
    return 0;
}

static const char *find_crlfcrlf(const char *p, const char *e)
{
    while (e - p >= 4) {
        const char *cr = memchr(p, '\r', (size_t)(e - p - 3));
        if (!cr)
            return NULL;
        if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
            return cr;
        p = cr + 1;
    }
    return NULL;
}

int http__body_decode(http__body_t *b, const http_limits_t *lim, http__body_io_t *io)
{
    const char *in = io->in;
    size_t inlen = io->inlen;
    char *out = io->out;
    size_t outcap = out ? io->outcap : SIZE_MAX;
    size_t i = 0, o = 0;
    int rc = HTTP__P_MORE;
    io->tr_off = io->tr_len = 0;
    if (b->mode == HTTP__B_NONE) {
        rc = HTTP__P_END;
        goto out;
    }
    if (b->mode == HTTP__B_LENGTH) {
        size_t n = inlen;
        if (n > b->left)
            n = (size_t)b->left;
        if (n > outcap)
            n = outcap;
        if (out)
            memcpy(out, in, n);
        i = o = n;
        b->left -= n;
        b->total += n;
        rc = b->left == 0 ? HTTP__P_END : HTTP__P_MORE;
        goto out;
    }
    for (;;) {
        switch (b->state) {
        case CS_SIZE: {
            const char *line = in + i;
            const char *nl = memchr(line, '\n', inlen - i);
            if (!nl) {
                if (inlen - i > HTTP__CHUNK_LINE_MAX)
                    rc = 400;
                goto out;
            }
            uint64_t size;
            if (nl == line || nl[-1] != '\r' || nl - line > HTTP__CHUNK_LINE_MAX ||
                !parse_size_line(line, nl - 1, &size)) {
                rc = 400; /* bare LF, too long, or malformed */
                goto out;
            }
            i += (size_t)(nl - line) + 1;
            if (size == 0) {
                b->state = CS_TRAILERS;
            } else {
                b->left = size;
                b->state = CS_DATA;
            }
            break;
        }
        case CS_DATA: {
            size_t n = inlen - i;
            if (n > b->left)
                n = (size_t)b->left;
            if (n > outcap - o)
                n = outcap - o;
            if (n == 0)
                goto out;
            if (out)
                memcpy(out + o, in + i, n);
            i += n;
            o += n;
            b->left -= n;
            b->total += n;
            if (b->left == 0)
                b->state = CS_DATA_CRLF;
            break;
        }
        case CS_DATA_CRLF:
            if (inlen - i < 2) {
                if (inlen - i == 1 && in[i] != '\r')
                    rc = 400;
                goto out;
            }
            if (in[i] != '\r' || in[i + 1] != '\n') {
                rc = 400;
                goto out;
            }
            i += 2;
            b->state = CS_SIZE;
            break;
        case CS_TRAILERS: {
            if (inlen - i < 2) {
                if (inlen - i == 1 && in[i] != '\r' && !http__tchar[(unsigned char)in[i]])
                    rc = 400;
                goto out;
            }
            if (in[i] == '\r') {
                if (in[i + 1] != '\n') {
                    rc = 400;
                    goto out;
                }
                i += 2;
                b->state = CS_DONE;
                rc = HTTP__P_END;
                goto out;
            }
            const char *end = find_crlfcrlf(in + i, in + inlen);
            if (!end) {
                if ((uint64_t)(inlen - i) > (uint64_t)lim->max_header_size + 4)
                    rc = 431;
                goto out;
            }
            int st = check_fields(in + i, end + 2, lim);
            if (st) {
                rc = st;
                goto out;
            }
            io->tr_off = i;
            io->tr_len = (size_t)(end + 2 - (in + i));
            i = (size_t)(end + 4 - in);
            b->state = CS_DONE;
            rc = HTTP__P_END;
            goto out;
        }
        default:
            rc = HTTP__P_END;
            goto out;
        }
    }
out:
    io->used = i;
    io->produced = o;
    return rc;
}
