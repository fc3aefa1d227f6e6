/*
 * Percent-decoding, path segments and urlencoded pairs (uri.h). No I/O, no allocation: the
 * fuzz targets (tests/fuzz/path_fuzz.c, urlencoded_fuzz.c) drive these directly.
 */
#include <string.h>

#include "dynamo/uri.h"

#define DEFAULT_MAX_PAIRS 1000
#define DEFAULT_MAX_KEY 1024

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

ssize_t dyn_percent_decode(char *dst, const char *src, size_t len, unsigned flags)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '%') {
            if (len - i < 3)
                return DYN_EBADENCODING;
            int hi = hexval((unsigned char)src[i + 1]);
            int lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return DYN_EBADENCODING;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && (flags & DYN_DECODE_PLUS)) {
            c = ' ';
        }
        if (c == '\0')
            return DYN_EBADENCODING;
        dst[o++] = (char)c;
    }
    return (ssize_t)o;
}

int dyn_path_split(const char *path, size_t len, char *buf, dyn_str_t *segs, size_t max)
{
    size_t n = 0, o = 0, i = 0;
    while (i < len) {
        while (i < len && path[i] == '/')
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (n == max)
            return DYN_ELIMIT;
        ssize_t d = dyn_percent_decode(buf + o, path + start, i - start, 0);
        if (d < 0)
            return (int)d;
        segs[n].ptr = buf + o;
        segs[n].len = (size_t)d;
        n++;
        o += (size_t)d;
        buf[o++] = '\0';
    }
    return (int)n;
}

int dyn_urlencoded_each(const char *s, size_t len, char *buf, const dyn_form_limits_t *lim,
                        dyn_form_pair_fn fn, void *arg)
{
    uint32_t max_pairs = lim && lim->max_pairs ? lim->max_pairs : DEFAULT_MAX_PAIRS;
    uint32_t max_key = lim && lim->max_key_len ? lim->max_key_len : DEFAULT_MAX_KEY;
    uint32_t pairs = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && s[i] != '&')
            i++;
        size_t end = i;
        i++; /* past '&' */
        if (end == start)
            continue;
        if (pairs == max_pairs)
            return DYN_ELIMIT;
        pairs++;
        const char *eq = memchr(s + start, '=', end - start);
        size_t klen_raw = eq ? (size_t)(eq - (s + start)) : end - start;
        /* Each decoded piece lands at the start of its raw span: key at `start`, value right
         * after the key's NUL, which fits where '=' was; the value's NUL goes where '&' was
         * (or at len, hence the +2 of the contract). */
        char *k = buf + start;
        ssize_t kl = dyn_percent_decode(k, s + start, klen_raw, DYN_DECODE_PLUS);
        if (kl < 0)
            return (int)kl;
        if ((size_t)kl > max_key)
            return DYN_ELIMIT;
        k[kl] = '\0';
        char *v = k + kl + 1;
        ssize_t vl = 0;
        if (eq) {
            vl = dyn_percent_decode(v, eq + 1, (size_t)(s + end - (eq + 1)), DYN_DECODE_PLUS);
            if (vl < 0)
                return (int)vl;
        }
        v[vl] = '\0';
        int rc = fn(k, (size_t)kl, v, (size_t)vl, arg);
        if (rc)
            return rc;
    }
    return 0;
}
