/*
 * HTML escaping (buf.h: dyn_html_escape, dyn_buf_html), the hot path of rendering.
 *
 * A 256-entry class table sorts each byte as it is copied into room reserved beforehand (no
 * call per piece: the values templates write are short); a byte past ASCII starts a UTF-8 check
 * (Unicode's table 3-7) so only well-formed sequences pass and each maximal ill-formed subpart
 * becomes one U+FFFD, exactly where a browser's decoder would put it. Nothing a client sends can
 * then end an attribute value or start a tag, however it is encoded. No allocation but the
 * buffer's, no dependency but buf.c and text.c (the one UTF-8 check): the fuzzer drives it
 * alone (tests/fuzz/html_escape_fuzz.c).
 */
#include "dynamo/buf.h"
#include "text_int.h"

enum { PLAIN = 0, SPECIAL, NUL, HIGH };

static const unsigned char cls[256] = {
    [0] = NUL,       ['&'] = SPECIAL,  ['<'] = SPECIAL,        ['>'] = SPECIAL,
    ['"'] = SPECIAL, ['\''] = SPECIAL, [0x80 ... 0xff] = HIGH,
};

static const char fffd[] = "\xEF\xBF\xBD";

/* Input is escaped CHUNK bytes at a time into room reserved for the worst case (every byte an
 * entity of MAX_GROWTH bytes), so the loop writes without a bounds check or a call per piece
 * and a large input never asks for six times its size at once. */
#define CHUNK 4096
#define MAX_GROWTH 6 /* "&quot;" for one byte; U+FFFD is 3 bytes for at least 1 */

static char *put(char *o, const char *s, size_t n)
{
    while (n--)
        *o++ = *s++;
    return o;
}

void dyn_html_escape(dyn_buf_t *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        const unsigned char *stop = (size_t)(end - p) > CHUNK ? p + CHUNK : end;
        /* + 8: the last sequence may start before stop and end after it */
        size_t room = (size_t)(stop - p) * MAX_GROWTH + 8;
        if ((b->failed || b->len + room + 1 > b->cap) && !dyn_buf_reserve(b, room))
            return;
        char *o = b->data + b->len;
        while (p < stop) {
            unsigned char c = *p;
            unsigned k = cls[c];
            if (k == PLAIN) {
                *o++ = (char)c;
                p++;
                continue;
            }
            size_t bad = 1, n = k == HIGH ? dyn__utf8_seq(p, (size_t)(end - p), &bad) : 0;
            if (n) { /* well-formed: copied as it is */
                o = put(o, (const char *)p, n);
                p += n;
                continue;
            }
            switch (c) {
            case '&':
                o = put(o, "&amp;", 5);
                break;
            case '<':
                o = put(o, "&lt;", 4);
                break;
            case '>':
                o = put(o, "&gt;", 4);
                break;
            case '"':
                o = put(o, "&quot;", 6);
                break;
            case '\'':
                o = put(o, "&#39;", 5);
                break;
            default: /* NUL, ill-formed UTF-8 */
                o = put(o, fffd, 3);
            }
            p += bad;
        }
        b->len = (size_t)(o - b->data);
        b->data[b->len] = '\0';
    }
}
