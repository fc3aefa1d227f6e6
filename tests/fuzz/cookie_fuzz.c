/*
 * libFuzzer target: Cookie headers through the request parser, and names, values and
 * attributes through the Set-Cookie writer (cookie_int.h).
 *
 * Input: byte 0 picks the parse limits (the defaults, or 3 cookies of at most 16 bytes); the
 * rest, cut at its first NUL, is the Cookie header. The target checks what cookie.h promises:
 * at most max cookies, names that are tokens, values without control characters, the first
 * of duplicate names kept. Then the same bytes, split at '\x01' into name, value, path and
 * domain, go to the writer, which must either refuse them or write a value with no CR, LF or
 * NUL and exactly the attributes asked for (nothing injected through ';').
 *
 *   build/fuzz/tests/fuzz/cookie_fuzz tests/fuzz/corpus/cookie -dict=tests/fuzz/cookie.dict
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie_int.h"

/* An invariant that holds in every build (assert would vanish under NDEBUG, which the fuzz
 * build's RelWithDebInfo sets): a violation aborts, which libFuzzer reports with the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
            return false;
    }
    return n > 0;
}

static size_t count(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t max = data[0] & 1 ? 3 : 200, max_size = data[0] & 1 ? 16 : 4096;
    char *s = malloc(size);
    CHECK(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    size_t len = strlen(s);
    dyn_arena_t *a = dyn_arena_new();
    CHECK(a);

    dyn_map_t *m = dyn_map_new(a);
    CHECK(dyn__cookies_parse(m, s, len, max, max_size) == 0);
    CHECK(dyn_map_len(m) <= max);
    dyn_str_t k;
    const dyn_value_t *v;
    for (size_t i = 0; dyn_map_at(m, i, &k, &v); i++) {
        CHECK(token(k.ptr, k.len));
        CHECK(v->type == DYN_V_STR && v->s.ptr[v->s.len] == '\0');
        CHECK(k.len + v->s.len + 1 <= max_size);
        for (size_t j = 0; j < v->s.len; j++)
            CHECK((unsigned char)v->s.ptr[j] >= 0x20 && v->s.ptr[j] != 0x7f);
        CHECK(!strchr(v->s.ptr, ';'));
    }

    /* name \x01 value \x01 path \x01 domain */
    char *parts[4] = {s, NULL, NULL, NULL};
    for (int i = 1; i < 4 && parts[i - 1]; i++) {
        char *sep = strchr(parts[i - 1], '\x01');
        if (sep) {
            *sep = '\0';
            parts[i] = sep + 1;
        }
    }
    dyn_cookie_opts_t o = {.path = parts[2],
                           .domain = parts[3],
                           .max_age = (int64_t)(int8_t)data[0] * 1000,
                           .secure = data[0] & 2,
                           .same_site = (dyn_same_site_t)((data[0] >> 2) & 3)};
    dyn_buf_t b;
    dyn_buf_init(&b, a, 64);
    int rc = dyn__cookie_format(&b, s, parts[1] ? parts[1] : "", &o, 1700000000, NULL, 0);
    CHECK(rc == 0 || rc == DYN_EBADHEADER);
    if (rc == 0) {
        CHECK(!b.failed);
        CHECK(!strpbrk(b.data, "\r\n"));
        /* One ';' per attribute written, none from the name, value, path or domain. */
        size_t attrs = 1 + (o.domain != NULL) + (o.max_age != 0) * 2 + o.secure + 1 +
                       (o.same_site != DYN_SAME_SITE_OMIT);
        CHECK(count(b.data, ';') == attrs);
    }
    dyn_arena_free(a);
    free(s);
    return 0;
}
