/*
 * libFuzzer target: application/x-www-form-urlencoded input (a query string or a form body)
 * through dyn_urlencoded_each, the decoder behind method override and the params of what
 * comes next.
 *
 * The first byte picks the limits (pairs, key length: near and past them); the rest is the
 * input. The decode buffer is exactly the contracted len + 2 bytes, so ASan sees any overflow.
 * Each pair is checked against a plain reference decode of its raw span (split on '&' then
 * '=', '+' as space, %XX, NUL refused), in order, and the counts against the limits.
 *
 *   cmake --build build/fuzz --target urlencoded_fuzz
 *   build/fuzz/tests/fuzz/urlencoded_fuzz tests/fuzz/corpus/urlencoded -max_total_time=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/uri.h"

/* assert() that NDEBUG (RelWithDebInfo) does not remove. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct ctx {
    const char *s;
    size_t len;
    size_t pos; /* where the next raw pair starts */
    uint32_t pairs;
    char *ref;
} ctx_t;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reference decode of raw[0..n) into out; -1 on a bad encoding. */
static long ref_decode(const char *raw, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)raw[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)raw[i + 1]), lo = hexval((unsigned char)raw[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0)
            return -1;
        out[o++] = (char)c;
    }
    return (long)o;
}

static int pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    ctx_t *c = arg;
    CHECK(k[kl] == '\0' && v[vl] == '\0');
    CHECK(strlen(k) == kl && strlen(v) == vl);
    /* The next non-empty raw pair. */
    while (c->pos < c->len && c->s[c->pos] == '&')
        c->pos++;
    CHECK(c->pos < c->len);
    const char *start = c->s + c->pos;
    const char *amp = memchr(start, '&', c->len - c->pos);
    size_t rl = amp ? (size_t)(amp - start) : c->len - c->pos;
    c->pos += rl;
    const char *eq = memchr(start, '=', rl);
    size_t rk = eq ? (size_t)(eq - start) : rl;
    long dk = ref_decode(start, rk, c->ref);
    CHECK(dk == (long)kl && memcmp(c->ref, k, kl) == 0);
    long dv = eq ? ref_decode(eq + 1, rl - rk - 1, c->ref) : 0;
    CHECK(dv == (long)vl && (vl == 0 || memcmp(c->ref, v, vl) == 0));
    c->pairs++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    dyn_form_limits_t lim = {.max_pairs = 1 + (data[0] & 15), .max_key_len = 1 + (data[0] >> 4)};
    const dyn_form_limits_t *lp = (data[0] & 0x80) ? NULL : &lim;
    ctx_t c = {.s = (const char *)data + 1, .len = size - 1};
    char *buf = malloc(c.len + 2);
    c.ref = malloc(c.len + 1);
    int rc = dyn_urlencoded_each(c.s, c.len, buf, lp, pair, &c);
    CHECK(rc == 0 || rc == DYN_EBADENCODING || rc == DYN_ELIMIT);
    if (lp)
        CHECK(c.pairs <= lim.max_pairs);
    if (rc == 0) {
        /* Every raw pair was seen. */
        while (c.pos < c.len && c.s[c.pos] == '&')
            c.pos++;
        CHECK(c.pos == c.len);
    }
    free(c.ref);
    free(buf);
    return 0;
}
