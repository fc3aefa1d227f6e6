/*
 * Output buffers in an arena (buf.h). Growth doubles into a new arena block; the old block is
 * left to the arena (freed with it).
 */
#include <stdio.h>
#include <string.h>

#include "buf_int.h"

static bool reserve(dyn_buf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + more + 1) {
        if (ncap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        ncap *= 2;
    }
    char *nd = dyn_arena_alloc(b->arena, ncap);
    if (!nd) {
        b->failed = true;
        return false;
    }
    if (b->len)
        memcpy(nd, b->data, b->len);
    nd[b->len] = '\0';
    b->data = nd;
    b->cap = ncap;
    return true;
}

bool dyn_buf_reserve(dyn_buf_t *b, size_t more)
{
    return reserve(b, more);
}

void dyn_buf_init(dyn_buf_t *b, dyn_arena_t *a, size_t cap)
{
    b->arena = a;
    b->len = 0;
    b->cap = 0;
    b->data = NULL;
    b->failed = false;
    if (reserve(b, cap ? cap : 256))
        b->data[0] = '\0';
}

void dyn_buf_put(dyn_buf_t *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (!reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void dyn_buf_puts(dyn_buf_t *b, const char *s)
{
    dyn_buf_put(b, s, strlen(s));
}

void dyn_buf_vprintf(dyn_buf_t *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        if (reserve(b, (size_t)n))
            vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
        else
            n = -1;
    }
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

void dyn_buf_printf(dyn_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dyn_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void dyn_buf_html(dyn_buf_t *b, const char *s, size_t len)
{
    dyn_html_escape(b, s, len); /* one escaper for pages and templates: escape.c */
}

char *dyn__utoa_back(unsigned long long u, char *end)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "9394959697989999";
    while (u >= 100) { /* two digits per division */
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        end[0] = pairs[2 * r];
        end[1] = pairs[2 * r + 1];
    }
    if (u >= 10) {
        end -= 2;
        end[0] = pairs[2 * u];
        end[1] = pairs[2 * u + 1];
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

void dyn__buf_put_int(dyn_buf_t *b, long long i)
{
    char buf[DYN__INT_TEXT_MAX], *end = buf + sizeof buf;
    char *p = dyn__utoa_back(i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i, end);
    if (i < 0)
        *--p = '-';
    dyn_buf_put(b, p, (size_t)(end - p));
}

static void text(dyn_buf_t *b, const char *s, size_t len, bool html)
{
    if (html)
        dyn_buf_html(b, s, len);
    else
        dyn_buf_put(b, s, len);
}

void dyn_buf_value(dyn_buf_t *b, const dyn_value_t *v, bool html)
{
    switch (v->type) {
    case DYN_V_NULL:
        dyn_buf_puts(b, "null");
        break;
    case DYN_V_BOOL:
        dyn_buf_puts(b, v->b ? "true" : "false");
        break;
    case DYN_V_INT:
        dyn__buf_put_int(b, v->i);
        break;
    case DYN_V_FLOAT:
        dyn_buf_printf(b, "%.17g", v->f);
        break;
    case DYN_V_STR:
        text(b, v->s.ptr, v->s.len, html);
        break;
    case DYN_V_PTR:
        dyn_buf_printf(b, "#pointer<%p>", v->p);
        break;
    case DYN_V_LIST:
        dyn_buf_puts(b, "[");
        for (size_t i = 0; i < dyn_list_len(v->l); i++) {
            if (i)
                dyn_buf_puts(b, ", ");
            const dyn_value_t *it = dyn_list_at(v->l, i);
            if (it->type == DYN_V_STR)
                dyn_buf_puts(b, "\"");
            dyn_buf_value(b, it, html);
            if (it->type == DYN_V_STR)
                dyn_buf_puts(b, "\"");
        }
        dyn_buf_puts(b, "]");
        break;
    case DYN_V_MAP: {
        dyn_buf_puts(b, "{");
        dyn_str_t k;
        const dyn_value_t *it;
        for (size_t i = 0; dyn_map_at(v->m, i, &k, &it); i++) {
            if (i)
                dyn_buf_puts(b, ", ");
            text(b, k.ptr, k.len, html);
            dyn_buf_puts(b, ": ");
            if (it->type == DYN_V_STR)
                dyn_buf_puts(b, "\"");
            dyn_buf_value(b, it, html);
            if (it->type == DYN_V_STR)
                dyn_buf_puts(b, "\"");
        }
        dyn_buf_puts(b, "}");
        break;
    }
    }
}
