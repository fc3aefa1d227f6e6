/*
 * The encoding of session values (session_int.h): a few bytes per value, no text escaping,
 * and a decoder that assumes nothing of its input.
 *
 * A cookie store's input is authenticated before it is decoded, so a hostile byte string only
 * reaches the decoder if the secret leaked; the decoder is still written for hostile input
 * (and fuzzed) because it must never be the second failure. Its work is linear in the input:
 * each count is checked against the bytes left before anything is allocated (every value takes
 * at least one byte), so a 4 KiB cookie can never ask for more than about 4 K values.
 */
#include <errno.h>
#include <string.h>

#include "session_int.h"

#define MAX_ENCODE_DEPTH 64
#define DEFAULT_DEPTH 16
#define DEFAULT_ITEMS 4096

/* ---- encoding ----------------------------------------------------------------------------- */

/* The encoder writes straight into the buffer after making room for each value (its tag, a
 * 10-byte length at most, its bytes): one bounds check per value rather than per piece. */

static uint8_t *room(dyn_buf_t *b, size_t n)
{
    return dyn_buf_reserve(b, n) ? (uint8_t *)b->data + b->len : NULL;
}

static uint8_t *varint(uint8_t *p, uint64_t v)
{
    while (v > 0x7f) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static void advance(dyn_buf_t *b, const uint8_t *p)
{
    b->len = (size_t)((const char *)p - b->data);
}

/* *bad names the key path of a pointer value: the innermost map sets it, outer ones prefix
 * their key while the error goes up (built only when one is found). */
static int encode_value(dyn_buf_t *b, const dyn_value_t *v, int depth, const char **bad);

static int encode_map(dyn_buf_t *b, const dyn_map_t *m, int depth, const char **bad)
{
    size_t n = dyn_map_len(m);
    uint8_t *p = room(b, 11);
    if (!p)
        return ACT_ENOMEM;
    *p++ = 'm';
    advance(b, varint(p, n));
    for (size_t i = 0; i < n; i++) {
        dyn_str_t k;
        const dyn_value_t *v;
        dyn_map_at(m, i, &k, &v);
        if (!(p = room(b, 10 + k.len)))
            return ACT_ENOMEM;
        p = varint(p, k.len);
        memcpy(p, k.ptr, k.len);
        advance(b, p + k.len);
        int rc = encode_value(b, v, depth + 1, bad);
        if (rc == ACT_EBADARG && bad)
            *bad = *bad ? dyn_arena_printf(b->arena, "%s.%s", k.ptr, *bad) : k.ptr;
        if (rc)
            return rc;
    }
    return 0;
}

static int encode_value(dyn_buf_t *b, const dyn_value_t *v, int depth, const char **bad)
{
    if (depth > MAX_ENCODE_DEPTH)
        return DYN_ELIMIT;
    uint8_t *p;
    switch (v->type) {
    case DYN_V_NULL:
    case DYN_V_BOOL:
        if (!(p = room(b, 1)))
            return ACT_ENOMEM;
        *p++ = v->type == DYN_V_NULL ? 'n' : v->b ? 't' : 'f';
        advance(b, p);
        return 0;
    case DYN_V_INT:
        if (!(p = room(b, 11)))
            return ACT_ENOMEM;
        *p++ = 'i';
        advance(b, varint(p, ((uint64_t)v->i << 1) ^ (uint64_t)(v->i >> 63)));
        return 0;
    case DYN_V_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->f, 8);
        if (!(p = room(b, 9)))
            return ACT_ENOMEM;
        *p++ = 'd';
        for (int i = 7; i >= 0; i--, bits >>= 8)
            p[i] = (uint8_t)bits;
        advance(b, p + 8);
        return 0;
    }
    case DYN_V_STR:
        if (!(p = room(b, 11 + v->s.len)))
            return ACT_ENOMEM;
        *p++ = 's';
        p = varint(p, v->s.len);
        memcpy(p, v->s.ptr, v->s.len);
        advance(b, p + v->s.len);
        return 0;
    case DYN_V_LIST: {
        size_t n = dyn_list_len(v->l);
        if (!(p = room(b, 11)))
            return ACT_ENOMEM;
        *p++ = 'l';
        advance(b, varint(p, n));
        for (size_t i = 0; i < n; i++) {
            int rc = encode_value(b, dyn_list_at(v->l, i), depth + 1, bad);
            if (rc)
                return rc;
        }
        return 0;
    }
    case DYN_V_MAP:
        return encode_map(b, v->m, depth, bad);
    case DYN_V_PTR:
        break;
    }
    return ACT_EBADARG;
}

int dyn__term_encode(dyn_buf_t *b, const dyn_map_t *m, const char **bad)
{
    if (bad)
        *bad = NULL;
    uint8_t *p = room(b, 1);
    if (!p)
        return ACT_ENOMEM;
    *p = DYN__TERM_VERSION;
    advance(b, p + 1);
    int rc = encode_map(b, m, 0, bad);
    if (rc == 0 && !b->failed)
        b->data[b->len] = '\0';
    return rc ? rc : b->failed ? ACT_ENOMEM : 0;
}

/* ---- decoding ----------------------------------------------------------------------------- */

typedef struct dec {
    const uint8_t *p;
    const uint8_t *end;
    dyn_arena_t *a;
    uint32_t max_depth;
    uint32_t items_left;
} dec_t;

static int get_varint(dec_t *d, uint64_t *out)
{
    if (ACT_LIKELY(d->p < d->end && *d->p < 0x80)) { /* one byte: most lengths and counts */
        *out = *d->p++;
        return 0;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (d->p == d->end)
            return -EBADMSG;
        uint8_t byte = *d->p++;
        if (shift == 63 && byte > 1)
            return -EBADMSG; /* past 64 bits */
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -EBADMSG;
}

/* A count or length that cannot exceed the bytes left. */
static int get_len(dec_t *d, uint64_t *out)
{
    int rc = get_varint(d, out);
    if (rc == 0 && *out > (uint64_t)(d->end - d->p))
        return -EBADMSG;
    return rc;
}

static int decode_value(dec_t *d, uint32_t depth, dyn_value_t *out);

static int decode_map(dec_t *d, uint32_t depth, dyn_map_t **out)
{
    uint64_t n;
    int rc = get_len(d, &n);
    if (rc)
        return rc;
    dyn_map_t *m = dyn_map_new(d->a);
    if (!m)
        return ACT_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t klen;
        if ((rc = get_len(d, &klen)) != 0)
            return rc;
        const char *key = (const char *)d->p;
        if (memchr(key, '\0', klen))
            return -EBADMSG;
        d->p += klen;
        dyn_value_t v;
        if ((rc = decode_value(d, depth + 1, &v)) != 0)
            return rc;
        if (dyn_map_putn(m, key, klen, v) != 0)
            return ACT_ENOMEM;
    }
    *out = m;
    return 0;
}

static int decode_value(dec_t *d, uint32_t depth, dyn_value_t *out)
{
    if (d->items_left == 0)
        return DYN_ELIMIT;
    d->items_left--;
    if (d->p == d->end)
        return -EBADMSG;
    uint8_t tag = *d->p++;
    uint64_t n;
    int rc;
    switch (tag) {
    case 'n':
        *out = dyn_vnull();
        return 0;
    case 't':
    case 'f':
        *out = dyn_vbool(tag == 't');
        return 0;
    case 'i':
        if ((rc = get_varint(d, &n)) != 0)
            return rc;
        *out = dyn_vint((int64_t)(n >> 1) ^ -(int64_t)(n & 1));
        return 0;
    case 'd': {
        if (d->end - d->p < 8)
            return -EBADMSG;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | d->p[i];
        d->p += 8;
        double f;
        memcpy(&f, &bits, 8);
        *out = dyn_vfloat(f);
        return 0;
    }
    case 's':
        if ((rc = get_len(d, &n)) != 0)
            return rc;
        *out = dyn_vstr_copy(d->a, (const char *)d->p, n);
        if (out->type != DYN_V_STR)
            return ACT_ENOMEM;
        d->p += n;
        return 0;
    case 'l': {
        if (depth >= d->max_depth)
            return DYN_ELIMIT;
        if ((rc = get_len(d, &n)) != 0)
            return rc;
        dyn_list_t *l = dyn_list_new(d->a, n ? (size_t)n : 1);
        if (!l)
            return ACT_ENOMEM;
        for (uint64_t i = 0; i < n; i++) {
            dyn_value_t v;
            if ((rc = decode_value(d, depth + 1, &v)) != 0)
                return rc;
            if (dyn_list_push(l, v) != 0)
                return ACT_ENOMEM;
        }
        *out = dyn_vlist(l);
        return 0;
    }
    case 'm': {
        if (depth >= d->max_depth)
            return DYN_ELIMIT;
        dyn_map_t *m;
        if ((rc = decode_map(d, depth, &m)) != 0)
            return rc;
        *out = dyn_vmap(m);
        return 0;
    }
    default:
        return -EBADMSG;
    }
}

int dyn__term_decode(dyn_arena_t *a, const void *data, size_t len, const dyn__term_limits_t *lim,
                     dyn_map_t **out)
{
    dec_t d = {
        .p = data,
        .end = (const uint8_t *)data + len,
        .a = a,
        .max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH,
        .items_left = lim && lim->max_items ? lim->max_items : DEFAULT_ITEMS,
    };
    if (len < 2 || d.p[0] != DYN__TERM_VERSION || d.p[1] != 'm')
        return -EBADMSG;
    d.p += 2;
    dyn_map_t *m;
    int rc = decode_map(&d, 0, &m);
    if (rc)
        return rc;
    if (d.p != d.end)
        return -EBADMSG;
    *out = m;
    return 0;
}

/* ---- copies ------------------------------------------------------------------------------- */

static int copy(dyn_arena_t *a, const dyn_value_t *v, dyn_value_t *out, int depth)
{
    if (depth > MAX_ENCODE_DEPTH)
        return DYN_ELIMIT;
    switch (v->type) {
    case DYN_V_STR:
        *out = dyn_vstr_copy(a, v->s.ptr, v->s.len);
        return out->type == DYN_V_STR ? 0 : ACT_ENOMEM;
    case DYN_V_LIST: {
        size_t n = dyn_list_len(v->l);
        dyn_list_t *l = dyn_list_new(a, n ? n : 1);
        if (!l)
            return ACT_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            dyn_value_t item;
            int rc = copy(a, dyn_list_at(v->l, i), &item, depth + 1);
            if (rc)
                return rc;
            if (dyn_list_push(l, item))
                return ACT_ENOMEM;
        }
        *out = dyn_vlist(l);
        return 0;
    }
    case DYN_V_MAP: {
        dyn_map_t *m = dyn_map_new(a);
        if (!m)
            return ACT_ENOMEM;
        for (size_t i = 0; i < dyn_map_len(v->m); i++) {
            dyn_str_t k;
            const dyn_value_t *item;
            dyn_map_at(v->m, i, &k, &item);
            dyn_value_t c;
            int rc = copy(a, item, &c, depth + 1);
            if (rc)
                return rc;
            if (dyn_map_putn(m, k.ptr, k.len, c))
                return ACT_ENOMEM;
        }
        *out = dyn_vmap(m);
        return 0;
    }
    case DYN_V_PTR:
        return ACT_EBADARG;
    default:
        *out = *v;
        return 0;
    }
}

int dyn__value_copy(dyn_arena_t *a, const dyn_value_t *v, dyn_value_t *out)
{
    return copy(a, v, out, 0);
}
