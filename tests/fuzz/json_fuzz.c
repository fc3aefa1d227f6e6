/*
 * libFuzzer target: JSON bodies decoded into values (dyn_json_decode, what the params fetch
 * does with a JSON body), then encoded back and decoded again.
 *
 * Input: byte 0 picks the caps (the defaults, or depth 4 and 16 values, which inputs cross),
 * the rest is the document. A document that decodes must encode (dyn_json_encode) to valid
 * UTF-8 that decodes to an equal value: integers and strings exactly, floats through their
 * shortest round-trip form. jansson's recursion is bounded by the pre-scan; a deep document
 * must come back DYN_ELIMIT, never overflow the stack.
 *
 *   build/fuzz/tests/fuzz/json_fuzz tests/fuzz/corpus/json -dict=tests/fuzz/json.dict
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const dyn_json_limits_t limits[] = {{0}, {.max_depth = 4, .max_items = 16}};
    const dyn_json_limits_t *lim = &limits[data[0] & 1];
    dyn_arena_t *a = dyn_arena_new();
    CHECK(a);
    dyn_value_t v;
    int rc = dyn_json_decode(a, (const char *)data + 1, size - 1, lim, &v, NULL, 0);
    CHECK(rc == 0 || rc == DYN_EBADENCODING || rc == DYN_ELIMIT);
    if (rc == 0) {
        dyn_buf_t b;
        dyn_buf_init(&b, a, 256);
        CHECK(dyn_json_encode(&b, &v, NULL, 0) == 0);
        CHECK(dyn_utf8_valid(b.data, b.len));
        dyn_value_t again;
        /* The encoding has no more nesting or values than the input: same caps. */
        rc = dyn_json_decode(a, b.data, b.len, lim, &again, NULL, 0);
        CHECK(rc == 0);
        CHECK(dyn_value_equal(&v, &again));
    }
    dyn_arena_free(a);
    return 0;
}
