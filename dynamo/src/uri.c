/*
 * Percent-decoding, path segments, urlencoded pairs and nested params (uri.h). No I/O; the
 * pair decoders allocate nothing, the params functions only in their map's arena: the fuzz
 * targets (tests/fuzz/path_fuzz.c, urlencoded_fuzz.c, params_fuzz.c) drive these directly.
 *
 * Nested params. A key is split once into its segments (root, then each [..]); the value is
 * then put by walking down from the root, making or reusing a map or list at each level, so
 * one pair costs O(depth) map lookups, never a rebuild. The depth cap is checked before
 * anything is allocated.
 */
#include <stdlib.h>
#include <string.h>

#include "dynamo/uri.h"
#include "text_int.h"

#include "actor/types.h"

#define DEFAULT_MAX_PAIRS 1000
#define DEFAULT_MAX_KEY 1024
#define DEFAULT_MAX_VALUE (1u << 20)
#define DEFAULT_MAX_DEPTH 32
/* Segments of a key kept on the stack; deeper keys (a larger max_depth) use the arena. */
#define STACK_SEGS 33

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
    /* Most bytes need nothing: copy them in one tight loop until an escape (or a NUL). */
    size_t o = 0;
    for (; o < len; o++) {
        char ch = src[o];
        if (ch == '%' || ch == '\0' || (ch == '+' && (flags & DYN_DECODE_PLUS)))
            break;
        dst[o] = ch;
    }
    for (size_t i = o; i < len; i++) {
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
    uint32_t max_value = lim && lim->max_value_len ? lim->max_value_len : DEFAULT_MAX_VALUE;
    uint32_t pairs = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        const char *amp = memchr(s + i, '&', len - i);
        i = amp ? (size_t)(amp - s) : len;
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
            if ((size_t)vl > max_value)
                return DYN_ELIMIT;
        }
        v[vl] = '\0';
        int rc = fn(k, (size_t)kl, v, (size_t)vl, arg);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- nested params -------------------------------------------------------------------------- */

bool dyn_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i == len)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t bad, n = dyn__utf8_seq(s + i, len - i, &bad);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static uint32_t max_depth_of(const dyn_form_limits_t *lim)
{
    return lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
}

/* Splits a form key into its segments (segs[0] the root), writing at most max of them; returns
 * the count, which may be larger than max (the caller checks it before using segs). The rule
 * is Plug's: a key ending in ']' with a '[' after its first byte is root[seg][seg]..., where
 * segments end at "][" or the final ']'; anything else is one segment. */
static size_t key_split(const char *key, size_t len, dyn_str_t *segs, size_t max)
{
    const char *lb = len ? memchr(key, '[', len) : NULL;
    if (!lb || lb == key || key[len - 1] != ']') {
        if (max)
            segs[0] = (dyn_str_t){key, len};
        return 1;
    }
    size_t n = 0;
    if (n < max)
        segs[n] = (dyn_str_t){key, (size_t)(lb - key)};
    n++;
    const char *p = lb + 1, *end = key + len - 1, *start = p;
    while (p < end) {
        if (p[0] == ']' && p + 1 < end && p[1] == '[') {
            if (n < max)
                segs[n] = (dyn_str_t){start, (size_t)(p - start)};
            n++;
            p += 2;
            start = p;
        } else {
            p++;
        }
    }
    if (n < max)
        segs[n] = (dyn_str_t){start, (size_t)(end - start)};
    return n + 1;
}

/* The map or list under m[key], made (replacing a value of another shape: the last wins). */
static dyn_map_t *child_map(dyn_map_t *m, dyn_str_t key)
{
    const dyn_value_t *v = dyn_map_getn(m, key.ptr, key.len);
    if (v && v->type == DYN_V_MAP)
        return v->m;
    dyn_map_t *c = dyn_map_new(dyn_map_arena(m));
    if (!c || dyn_map_putn(m, key.ptr, key.len, dyn_vmap(c)) != 0)
        return NULL;
    return c;
}

static dyn_list_t *child_list(dyn_map_t *m, dyn_str_t key)
{
    const dyn_value_t *v = dyn_map_getn(m, key.ptr, key.len);
    if (v && v->type == DYN_V_LIST)
        return v->l;
    dyn_list_t *c = dyn_list_new(dyn_map_arena(m), 0);
    if (!c || dyn_map_putn(m, key.ptr, key.len, dyn_vlist(c)) != 0)
        return NULL;
    return c;
}

/* True if m already holds the key path s[0..n) (up to the next list marker): a list of maps
 * then starts a new map for it. */
static bool has_path(const dyn_map_t *m, const dyn_str_t *s, size_t n)
{
    for (size_t i = 0; i < n && s[i].len; i++) {
        const dyn_value_t *v = dyn_map_getn(m, s[i].ptr, s[i].len);
        if (!v)
            return false;
        if (i + 1 == n || !s[i + 1].len)
            return true;
        if (v->type != DYN_V_MAP)
            return true; /* a value where the path goes on: a new map */
        m = v->m;
    }
    return true;
}

/* The map element of list l that the key path s[0..n) goes into: the last one unless it has
 * the path already (or is no map), else a new one. */
static dyn_map_t *list_map(dyn_list_t *l, dyn_arena_t *a, const dyn_str_t *s, size_t n)
{
    size_t len = dyn_list_len(l);
    const dyn_value_t *last = len ? dyn_list_at(l, len - 1) : NULL;
    if (last && last->type == DYN_V_MAP && !has_path(last->m, s, n))
        return last->m;
    dyn_map_t *m = dyn_map_new(a);
    if (!m || dyn_list_push(l, dyn_vmap(m)) != 0)
        return NULL;
    return m;
}

static int put_path(dyn_map_t *root, const dyn_str_t *s, size_t n, dyn_value_t v)
{
    dyn_arena_t *a = dyn_map_arena(root);
    dyn_map_t *m = root;  /* the container of slot s[i]: a map keyed by s[i], */
    dyn_list_t *l = NULL; /* or a list (s[i] is the "[]" marker) */
    for (size_t i = 0;; i++) {
        bool last = i + 1 == n;
        if (l) {
            if (last)
                return dyn_list_push(l, v);
            if (!s[i + 1].len) { /* "[][]": a list in the list, one per value */
                dyn_list_t *nl = dyn_list_new(a, 0);
                if (!nl || dyn_list_push(l, dyn_vlist(nl)) != 0)
                    return ACT_ENOMEM;
                l = nl;
                continue;
            }
            if (!(m = list_map(l, a, s + i + 1, n - i - 1)))
                return ACT_ENOMEM;
            l = NULL;
            continue;
        }
        if (last)
            return dyn_map_putn(m, s[i].ptr, s[i].len, v);
        if (!s[i + 1].len) {
            if (!(l = child_list(m, s[i])))
                return ACT_ENOMEM;
            continue;
        }
        if (!(m = child_map(m, s[i])))
            return ACT_ENOMEM;
    }
}

int dyn_params_put(dyn_map_t *params, const char *key, size_t key_len, dyn_value_t v,
                   const dyn_form_limits_t *lim)
{
    uint32_t max_key = lim && lim->max_key_len ? lim->max_key_len : DEFAULT_MAX_KEY;
    if (key_len > max_key)
        return DYN_ELIMIT;
    dyn_str_t stack[STACK_SEGS];
    size_t n = key_split(key, key_len, stack, STACK_SEGS);
    if (n - 1 > max_depth_of(lim))
        return DYN_ELIMIT;
    dyn_str_t *segs = stack;
    if (n > STACK_SEGS) {
        segs = dyn_arena_alloc(dyn_map_arena(params), n * sizeof *segs);
        if (!segs)
            return ACT_ENOMEM;
        key_split(key, key_len, segs, n);
    }
    return put_path(params, segs, n, v);
}

typedef struct form_ctx {
    dyn_map_t *params;
    const dyn_form_limits_t *lim;
} form_ctx_t;

static int form_pair(const char *key, size_t klen, const char *value, size_t vlen, void *arg)
{
    form_ctx_t *f = arg;
    if (!(f->lim && f->lim->any_bytes) &&
        (!dyn_utf8_valid(key, klen) || !dyn_utf8_valid(value, vlen)))
        return DYN_EBADENCODING;
    /* The value stays where it was decoded, past the callback; an empty one without '='
     * would be NUL-terminated where the next pair's key goes, so it gets a literal. */
    return dyn_params_put(f->params, key, klen, vlen ? dyn_vstrn(value, vlen) : dyn_vstr(""),
                          f->lim);
}

int dyn_urlencoded_params(const char *s, size_t len, dyn_map_t *params,
                          const dyn_form_limits_t *lim)
{
    if (len == 0)
        return 0;
    /* The decoded pairs stay where they are decoded: the values are the params' strings. */
    char *buf = dyn_arena_alloc(dyn_map_arena(params), len + 2);
    if (!buf)
        return ACT_ENOMEM;
    form_ctx_t f = {params, lim};
    return dyn_urlencoded_each(s, len, buf, lim, form_pair, &f);
}

/* A list index: decimal digits only, no sign, no leading zero (but "0"). */
static bool list_index(dyn_str_t s, size_t *out)
{
    if (!s.len || s.len > 9 || (s.len > 1 && s.ptr[0] == '0'))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        v = v * 10 + (size_t)(s.ptr[i] - '0');
    }
    *out = v;
    return true;
}

const dyn_value_t *dyn_params_get(const dyn_map_t *params, const char *key)
{
    size_t len = strlen(key);
    dyn_str_t stack[STACK_SEGS];
    size_t n = key_split(key, len, stack, STACK_SEGS);
    if (n > STACK_SEGS)
        return NULL; /* deeper than anything the default limits let in */
    const dyn_value_t *v = dyn_map_getn(params, stack[0].ptr, stack[0].len);
    for (size_t i = 1; v && i < n; i++) {
        size_t idx;
        if (v->type == DYN_V_MAP)
            v = dyn_map_getn(v->m, stack[i].ptr, stack[i].len);
        else if (v->type == DYN_V_LIST && list_index(stack[i], &idx))
            v = dyn_list_at(v->l, idx);
        else
            v = NULL;
    }
    return v;
}
