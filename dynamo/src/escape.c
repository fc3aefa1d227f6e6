/*
 * HTML escaping (template.h: dyn_html_escape), the hot path of rendering.
 *
 * A 256-entry class table lets runs of plain bytes go out with one copy; a byte past ASCII
 * starts a UTF-8 check (Unicode's table 3-7) so only well-formed sequences pass and each
 * maximal ill-formed subpart becomes one U+FFFD, exactly where a browser's decoder would put
 * it. Nothing a client sends can then end an attribute value or start a tag, however it is
 * encoded. No allocation but the buffer's, no dependency but buf.c: the fuzzer drives it
 * alone (tests/fuzz/html_escape_fuzz.c).
 */
#include "dynamo/template.h"

enum { PLAIN = 0, SPECIAL, NUL, HIGH };

static const unsigned char cls[256] = {
    [0] = NUL,       ['&'] = SPECIAL,  ['<'] = SPECIAL,        ['>'] = SPECIAL,
    ['"'] = SPECIAL, ['\''] = SPECIAL, [0x80 ... 0xff] = HIGH,
};

static const char fffd[] = "\xEF\xBF\xBD";

/* Length of the well-formed UTF-8 sequence at p (*ok), or of its maximal ill-formed subpart
 * (at least 1) when it is not. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end, bool *ok)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) { /* no surrogates */
        need = 2;
        hi = 0x9F;
    } else if (c == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) { /* nothing past U+10FFFF */
        need = 3;
        hi = 0x8F;
    } else {
        *ok = false;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (p + i >= end || p[i] < lo || p[i] > hi) {
            *ok = false;
            return i;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *ok = true;
    return need + 1;
}

void dyn_html_escape(dyn_buf_t *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
    while (p < end) {
        unsigned k = cls[*p];
        if (k == PLAIN) {
            p++;
            continue;
        }
        bool ok = true;
        size_t n = k == HIGH ? utf8_seq(p, end, &ok) : 1;
        if (ok && k == HIGH) {
            p += n;
            continue;
        }
        dyn_buf_put(b, run, (size_t)(p - run));
        switch (*p) {
        case '&':
            dyn_buf_put(b, "&amp;", 5);
            break;
        case '<':
            dyn_buf_put(b, "&lt;", 4);
            break;
        case '>':
            dyn_buf_put(b, "&gt;", 4);
            break;
        case '"':
            dyn_buf_put(b, "&quot;", 6);
            break;
        case '\'':
            dyn_buf_put(b, "&#39;", 5);
            break;
        default: /* NUL, ill-formed UTF-8 */
            dyn_buf_put(b, fffd, 3);
        }
        p += n;
        run = p;
    }
    dyn_buf_put(b, run, (size_t)(p - run));
}
