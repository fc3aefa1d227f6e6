/*
 * libFuzzer target: query strings and urlencoded forms decoded into nested params, the way the
 * params fetch does (dyn_urlencoded_params), then read back and encoded as JSON.
 *
 * The first byte picks the limits: the defaults, small caps (so inputs cross them: 8 pairs,
 * 16-byte keys, 32-byte values, depth 3), or any bytes allowed. The rest is the query. After a
 * successful decode the target checks what the fetch promises: every string is UTF-8 without
 * NUL (unless any bytes were allowed), nesting stays within the depth cap, every key of the
 * input reads back through dyn_params_get without fault, and the whole map encodes as JSON
 * that is valid UTF-8. ASan and UBSan watch every byte.
 *
 *   build/fuzz/tests/fuzz/params_fuzz tests/fuzz/corpus/params -dict=tests/fuzz/params.dict
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/json.h"
#include "dynamo/uri.h"

/* An invariant that holds in every build (assert would vanish under NDEBUG, which the fuzz
 * build's RelWithDebInfo sets): a violation aborts, which libFuzzer reports with the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check(const dyn_value_t *v, bool any, unsigned depth, unsigned max_depth)
{
    CHECK(depth <= max_depth + 2); /* a root key, its levels, one list item */
    switch (v->type) {
    case DYN_V_STR:
        CHECK(v->s.ptr[v->s.len] == '\0');
        if (!any) {
            CHECK(!memchr(v->s.ptr, '\0', v->s.len));
            CHECK(dyn_utf8_valid(v->s.ptr, v->s.len));
        }
        break;
    case DYN_V_LIST:
        for (size_t i = 0; i < dyn_list_len(v->l); i++)
            check(dyn_list_at(v->l, i), any, depth + 1, max_depth);
        break;
    case DYN_V_MAP: {
        dyn_str_t k;
        const dyn_value_t *e;
        for (size_t i = 0; dyn_map_at(v->m, i, &k, &e); i++) {
            CHECK(k.ptr[k.len] == '\0');
            check(e, any, depth + 1, max_depth);
        }
        break;
    }
    default:
        CHECK(0 && "params hold only strings, lists and maps");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const dyn_form_limits_t limits[] = {
        {0},
        {.max_pairs = 8, .max_key_len = 16, .max_value_len = 32, .max_depth = 3},
        {.any_bytes = true},
    };
    const dyn_form_limits_t *lim = &limits[data[0] % 3];
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    dyn_arena_t *a = dyn_arena_new();
    CHECK(a);
    dyn_map_t *m = dyn_map_new(a);
    int rc = dyn_urlencoded_params(s, len, m, lim);
    CHECK(rc == 0 || rc == DYN_EBADENCODING || rc == DYN_ELIMIT);
    if (rc == 0) {
        dyn_value_t root = dyn_vmap(m);
        check(&root, lim->any_bytes, 0, lim->max_depth ? lim->max_depth : 32);
        /* Every piece of the input as a key to read back (NUL-terminated copies). */
        char key[256];
        for (size_t i = 0; i < len;) {
            size_t j = i;
            while (j < len && s[j] != '&' && s[j] != '=' && j - i < sizeof key - 1)
                j++;
            memcpy(key, s + i, j - i);
            key[j - i] = '\0';
            if (!memchr(key, '\0', j - i))
                (void)dyn_params_get(m, key);
            i = j + 1;
        }
        dyn_buf_t b;
        dyn_buf_init(&b, a, 256);
        CHECK(dyn_json_encode(&b, &root, NULL, 0) == 0);
        CHECK(dyn_utf8_valid(b.data, b.len));
    }
    dyn_arena_free(a);
    return 0;
}
