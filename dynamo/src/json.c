/*
 * JSON encoding (hand-written, straight from values into a buffer) and decoding (jansson,
 * converted into arena values): json.h.
 *
 * Encoding writes straight into the buffer (one compare per write while it has room): runs of
 * bytes that need no escape are copied at once, and a byte >= 0x80 starts a UTF-8 check of its
 * sequence only. Errors unwind with a path built on the way out (each level prepends its key or
 * index), so the common case keeps no path at all.
 *
 * Decoding: jansson recurses once per nesting level with frames of a few hundred bytes and
 * allows 2048 levels; a request fiber's stack is 128 KiB. A linear pre-scan (strings skipped,
 * brackets counted) enforces our depth and item caps before jansson sees the text, so neither
 * its recursion nor its allocations can be driven past them. jansson allocates through
 * act_malloc (set once), so the runtime's leak counts and failure injection cover it.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/json.h"
#include "text_int.h"

#include "actor/mem.h"
#include "actor/types.h"

#define MAX_ENCODE_DEPTH 256
#define DEFAULT_MAX_DEPTH 32
/* jansson's recursion and ours take well under 300 bytes per level: 128 levels stay far
 * inside a request fiber's 128 KiB stack. */
#define MAX_DECODE_DEPTH 128
#define DEFAULT_MAX_ITEMS 100000

/* ---- encoding ---------------------------------------------------------------------------------
 */

static const char hex[] = "0123456789abcdef";

/* Room for n more bytes at data + len (the buffer keeps one more for its NUL, written once at
 * the end of the encoding); NULL if memory ran out. The common case is one compare. */
static inline char *room(dyn_buf_t *b, size_t n)
{
    if (ACT_UNLIKELY(b->len + n >= b->cap) && !dyn_buf_reserve(b, n))
        return NULL;
    return b->data + b->len;
}

static inline void put(dyn_buf_t *b, const void *p, size_t n)
{
    char *o = room(b, n);
    if (ACT_LIKELY(o != NULL)) {
        memcpy(o, p, n);
        b->len += n;
    }
}

static inline void put1(dyn_buf_t *b, char c)
{
    char *o = room(b, 1);
    if (ACT_LIKELY(o != NULL)) {
        *o = c;
        b->len++;
    }
}

/* Bytes a string cannot copy as they are: control characters, '"', '\', and every byte of a
 * multi-byte sequence (its UTF-8 is checked). */
static const uint8_t special[256] = {[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1};

static void put_escape(dyn_buf_t *b, unsigned char c)
{
    char esc[6] = {'\\', 0};
    size_t el = 2;
    switch (c) {
    case '"':
    case '\\':
        esc[1] = (char)c;
        break;
    case '\n':
        esc[1] = 'n';
        break;
    case '\r':
        esc[1] = 'r';
        break;
    case '\t':
        esc[1] = 't';
        break;
    case '\b':
        esc[1] = 'b';
        break;
    case '\f':
        esc[1] = 'f';
        break;
    default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        el = 6;
    }
    put(b, esc, el);
}

static void put_string(dyn_buf_t *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    put1(b, '"');
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (i < len && !special[s[i]])
            i++;
        put(b, s + run, i - run);
        if (i == len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            put_escape(b, c);
            i++;
            continue;
        }
        size_t bad = 0, n = dyn__utf8_seq(s + i, len - i, &bad);
        if (n == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
            put(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
        else if (n)
            put(b, s + i, n);
        else
            put(b, "\xef\xbf\xbd", 3); /* U+FFFD */
        i += n ? n : bad;
    }
    put1(b, '"');
}

static void put_int(dyn_buf_t *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_float(dyn_buf_t *b, double f)
{
    if (f > -9007199254740992.0 && f < 9007199254740992.0 && f == (double)(int64_t)f &&
        (f != 0 || !signbit(f))) {
        put_int(b, (int64_t)f); /* integral and exact: no printf */
        put(b, ".0", 2);
        return;
    }
    char tmp[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    /* The locale may write a decimal comma: JSON has a point. */
    bool frac = false;
    for (int i = 0; i < n; i++) {
        char c = tmp[i];
        if (c == 'e' || c == 'E') {
            frac = true;
        } else if (!(c >= '0' && c <= '9') && c != '-' && c != '+') {
            tmp[i] = '.';
            frac = true;
        }
    }
    put(b, tmp, (size_t)n);
    if (!frac)
        put(b, ".0", 2);
}

/* Prepends text to err (the path is built from the failing value outwards). */
static void err_prepend(char *err, size_t errlen, const char *text, size_t tl)
{
    if (!err || !errlen)
        return;
    size_t el = strnlen(err, errlen - 1);
    if (tl + el >= errlen)
        return; /* keep the innermost part */
    memmove(err + tl, err, el + 1);
    memcpy(err, text, tl);
}

static int encode(dyn_buf_t *b, const dyn_value_t *v, int depth, char *err, size_t errlen)
{
    switch (v->type) {
    case DYN_V_NULL:
        put(b, "null", 4);
        return 0;
    case DYN_V_BOOL:
        if (v->b)
            put(b, "true", 4);
        else
            put(b, "false", 5);
        return 0;
    case DYN_V_INT:
        put_int(b, v->i);
        return 0;
    case DYN_V_FLOAT:
        if (!isfinite(v->f)) {
            if (err && errlen)
                snprintf(err, errlen, ": %s is not JSON", isnan(v->f) ? "NaN" : "an infinity");
            return ACT_EBADARG;
        }
        put_float(b, v->f);
        return 0;
    case DYN_V_STR:
        put_string(b, v->s.ptr, v->s.len);
        return 0;
    case DYN_V_PTR:
        if (err && errlen)
            snprintf(err, errlen, ": a pointer is not JSON");
        return ACT_EBADARG;
    case DYN_V_LIST:
    case DYN_V_MAP:
        break;
    }
    if (depth >= MAX_ENCODE_DEPTH) {
        if (err && errlen)
            snprintf(err, errlen, ": nested deeper than %d levels (a value that holds itself?)",
                     MAX_ENCODE_DEPTH);
        return ACT_EBADARG;
    }
    if (v->type == DYN_V_LIST) {
        put1(b, '[');
        size_t n = dyn_list_len(v->l);
        for (size_t i = 0; i < n; i++) {
            if (i)
                put1(b, ',');
            int rc = encode(b, dyn_list_at(v->l, i), depth + 1, err, errlen);
            if (rc) {
                char seg[24];
                int sl = snprintf(seg, sizeof seg, "[%zu]", i);
                err_prepend(err, errlen, seg, (size_t)sl);
                return rc;
            }
        }
        put1(b, ']');
        return 0;
    }
    put1(b, '{');
    dyn_str_t key;
    const dyn_value_t *val;
    for (size_t i = 0; dyn_map_at(v->m, i, &key, &val); i++) {
        if (i)
            put1(b, ',');
        put_string(b, key.ptr, key.len);
        put1(b, ':');
        int rc = encode(b, val, depth + 1, err, errlen);
        if (rc) {
            err_prepend(err, errlen, key.ptr, key.len);
            err_prepend(err, errlen, ".", 1);
            return rc;
        }
    }
    put1(b, '}');
    return 0;
}

int dyn_json_encode(dyn_buf_t *b, const dyn_value_t *v, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    int rc = encode(b, v, 0, err, errlen);
    if (!b->failed)
        b->data[b->len] = '\0'; /* the writers above leave it to the end */
    if (rc) {
        err_prepend(err, errlen, "$", 1);
        return rc;
    }
    return b->failed ? ACT_ENOMEM : 0;
}

dyn_conn_t *dyn_json(dyn_conn_t *conn, int status, dyn_value_t value)
{
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 512);
    char err[200];
    int rc = dyn_json_encode(&b, &value, err, sizeof err);
    if (rc == ACT_ENOMEM)
        act_failf(rc, "out of memory encoding JSON");
    if (rc)
        act_failf(rc, "dyn_json: %s", err);
    dyn_put_resp_content_type(conn, "application/json", "utf-8");
    return dyn_resp_borrow(conn, status, b.data, b.len);
}

/* ---- decoding ---------------------------------------------------------------------------------
 */

static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void set_alloc(void)
{
    json_set_alloc_funcs(act_malloc, act_free);
}

/* Checks depth and item count without parsing: strings are skipped (escapes included), every
 * '[' and '{' opens a level, and items are counted as containers plus separators, which
 * bounds the values from above (an empty container counts one). */
static int prescan(const char *s, size_t len, uint32_t max_depth, uint32_t max_items)
{
    uint32_t depth = 0;
    uint64_t items = 1;
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '"':
            for (i++; i < len && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return DYN_ELIMIT;
            items++;
            break;
        case ']':
        case '}':
            if (depth)
                depth--;
            break;
        case ',':
            items++;
            break;
        default:
            continue;
        }
        if (items > max_items)
            return DYN_ELIMIT;
    }
    return 0;
}

static int convert(dyn_arena_t *a, json_t *j, dyn_value_t *out)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        *out = dyn_vnull();
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = dyn_vbool(json_is_true(j));
        return 0;
    case JSON_INTEGER:
        *out = dyn_vint((int64_t)json_integer_value(j));
        return 0;
    case JSON_REAL:
        *out = dyn_vfloat(json_real_value(j));
        return 0;
    case JSON_STRING:
        *out = dyn_vstr_copy(a, json_string_value(j), json_string_length(j));
        return out->type == DYN_V_STR ? 0 : ACT_ENOMEM;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        dyn_list_t *l = dyn_list_new(a, n ? n : 1);
        if (!l)
            return ACT_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            dyn_value_t v;
            int rc = convert(a, json_array_get(j, i), &v);
            if (rc || (rc = dyn_list_push(l, v)))
                return rc;
        }
        *out = dyn_vlist(l);
        return 0;
    }
    case JSON_OBJECT: {
        dyn_map_t *m = dyn_map_new(a);
        if (!m)
            return ACT_ENOMEM;
        const char *key;
        json_t *val;
        json_object_foreach(j, key, val)
        {
            dyn_value_t v;
            int rc = convert(a, val, &v);
            if (rc || (rc = dyn_map_put(m, key, v)))
                return rc;
        }
        *out = dyn_vmap(m);
        return 0;
    }
    }
    return DYN_EBADENCODING;
}

int dyn_json_decode(dyn_arena_t *a, const char *s, size_t len, const dyn_json_limits_t *lim,
                    dyn_value_t *out, char *err, size_t errlen)
{
    uint32_t max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    if (max_depth > MAX_DECODE_DEPTH)
        max_depth = MAX_DECODE_DEPTH; /* whatever is configured: the stack decides */
    uint32_t max_items = lim && lim->max_items ? lim->max_items : DEFAULT_MAX_ITEMS;
    if (err && errlen)
        err[0] = '\0';
    if (prescan(s, len, max_depth, max_items) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "JSON deeper than %u levels or with more than %u values",
                     max_depth, max_items);
        return DYN_ELIMIT;
    }
    pthread_once(&alloc_once, set_alloc);
    json_error_t je;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &je);
    if (!j) {
        if (err && errlen)
            snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                     je.text);
        return json_error_code(&je) == json_error_out_of_memory ? ACT_ENOMEM : DYN_EBADENCODING;
    }
    int rc = convert(a, j, out);
    json_decref(j);
    return rc;
}
