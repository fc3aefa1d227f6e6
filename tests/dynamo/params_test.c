/*
 * Nested parameters (uri.h: dyn_params_put, dyn_urlencoded_params, dyn_params_get) as Plug
 * decodes them, with the inputs a hostile client sends; and the typed readers of params.h
 * through test conns.
 */
#include <errno.h>
#include <string.h>

#include "dyn_util.h"

#include "dynamo/json.h"
#include "dynamo/uri.h"

TestSuite(params, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

/* Decodes s into a fresh map of arena a; returns the decoder's result. */
static int decode(dyn_arena_t *a, const char *s, dyn_map_t **out, const dyn_form_limits_t *lim)
{
    *out = dyn_map_new(a);
    cr_assert(*out);
    return dyn_urlencoded_params(s, strlen(s), *out, lim);
}

/* The map as JSON, for whole-shape assertions. */
static const char *show(dyn_arena_t *a, const dyn_map_t *m)
{
    dyn_buf_t b;
    dyn_buf_init(&b, a, 256);
    dyn_value_t v = dyn_vmap((dyn_map_t *)m);
    cr_assert_eq(dyn_json_encode(&b, &v, NULL, 0), 0);
    return b.data;
}

static const char *str_at(const dyn_map_t *m, const char *key)
{
    return dyn_value_str(dyn_params_get(m, key), NULL);
}

DY_TEST(params, flat_pairs_last_value_wins_and_keys_without_value_are_empty)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "a=1&b=x+y%21&a=2&flag&&=e", &m, NULL), 0);
    cr_assert_str_eq(str_at(m, "a"), "2");
    cr_assert_str_eq(str_at(m, "b"), "x y!");
    cr_assert_str_eq(str_at(m, "flag"), "");
    cr_assert_str_eq(str_at(m, ""), "e");
    cr_assert_eq(dyn_map_len(m), 4);
    cr_assert_eq(decode(a, "flag&x=1", &m, NULL), 0);
    cr_assert_str_eq(str_at(m, "flag"), "");
    dyn_arena_free(a);
}

DY_TEST(params, nests_maps_and_lists_like_plug)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(
        decode(
            a,
            "user[name]=Jos%C3%A9&user[langs][]=c&user[langs][]=erlang&a[b][c]=1&tags[]=x&page=2",
            &m, NULL),
        0);
    cr_assert_str_eq(str_at(m, "user[name]"), "José");
    cr_assert_str_eq(str_at(m, "user[langs][1]"), "erlang");
    cr_assert_str_eq(str_at(m, "a[b][c]"), "1");
    cr_assert_str_eq(str_at(m, "tags[0]"), "x");
    cr_assert_null(dyn_params_get(m, "tags[1]"));
    cr_assert_null(dyn_params_get(m, "user[nope]"));
    cr_assert_str_eq(show(a, m), "{\"user\":{\"name\":\"José\",\"langs\":[\"c\",\"erlang\"]},"
                                 "\"a\":{\"b\":{\"c\":\"1\"}},\"tags\":[\"x\"],\"page\":\"2\"}");
    dyn_arena_free(a);
}

DY_TEST(params, encoded_brackets_nest_too_since_keys_are_decoded_first)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "user%5Bname%5D=x", &m, NULL), 0);
    cr_assert_str_eq(str_at(m, "user[name]"), "x");
    dyn_arena_free(a);
}

DY_TEST(params, malformed_brackets_are_plain_keys)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "a[b=1&[x]=2&c]=3&d[e]f=4&g[h]]=5&i[j][=6", &m, NULL), 0);
    const dyn_value_t *v;
    cr_assert(v = dyn_map_get(m, "a[b"));
    cr_assert_str_eq(v->s.ptr, "1");
    cr_assert(v = dyn_map_get(m, "[x]"));
    cr_assert(v = dyn_map_get(m, "c]"));
    cr_assert(v = dyn_map_get(m, "d[e]f"));
    /* "g[h]]": one segment "h]" (only "][" separates segments) */
    cr_assert_str_eq(show(a, dyn_map_get(m, "g")->m), "{\"h]\":\"5\"}");
    /* "i[j][": no closing bracket at the end, taken whole */
    cr_assert(dyn_map_get(m, "i[j]["));
    dyn_arena_free(a);
}

DY_TEST(params, the_last_shape_wins_when_a_key_is_both_a_value_and_a_container)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "a=1&a[b]=2&c[d]=3&c=4&e[]=5&e[f]=6&g[h]=7&g[]=8", &m, NULL), 0);
    cr_assert_str_eq(show(a, m), "{\"a\":{\"b\":\"2\"},\"c\":\"4\",\"e\":{\"f\":\"6\"},"
                                 "\"g\":[\"8\"]}");
    dyn_arena_free(a);
}

DY_TEST(params, lists_of_maps_start_a_new_map_when_a_key_repeats)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a,
                        "users[][name]=a&users[][age]=3&users[][name]=b&users[][x][y]=1&"
                        "users[][x][z]=2&users[][x][y]=3",
                        &m, NULL),
                 0);
    cr_assert_str_eq(show(a, m), "{\"users\":[{\"name\":\"a\",\"age\":\"3\"},"
                                 "{\"name\":\"b\",\"x\":{\"y\":\"1\",\"z\":\"2\"}},"
                                 "{\"x\":{\"y\":\"3\"}}]}");
    cr_assert_eq(decode(a, "m[][]=1&m[][]=2", &m, NULL), 0);
    cr_assert_str_eq(show(a, m), "{\"m\":[[\"1\"],[\"2\"]]}");
    dyn_arena_free(a);
}

DY_TEST(params, numbered_keys_are_map_keys_and_read_back_by_path)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "u[0][n]=a&u[1][n]=b", &m, NULL), 0);
    cr_assert_str_eq(show(a, m), "{\"u\":{\"0\":{\"n\":\"a\"},\"1\":{\"n\":\"b\"}}}");
    cr_assert_str_eq(str_at(m, "u[1][n]"), "b");
    /* Indexes into lists must be plain decimals. */
    cr_assert_eq(decode(a, "l[]=a&l[]=b", &m, NULL), 0);
    cr_assert_str_eq(str_at(m, "l[1]"), "b");
    cr_assert_null(dyn_params_get(m, "l[01]"));
    cr_assert_null(dyn_params_get(m, "l[-1]"));
    cr_assert_null(dyn_params_get(m, "l[1x]"));
    cr_assert_null(dyn_params_get(m, "l[99999999999999999999]"));
    dyn_arena_free(a);
}

DY_TEST(params, bad_encodings_and_non_utf8_are_refused)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    cr_assert_eq(decode(a, "a=%zz", &m, NULL), DYN_EBADENCODING);
    cr_assert_eq(decode(a, "a=%4", &m, NULL), DYN_EBADENCODING);
    cr_assert_eq(decode(a, "a=b%00c", &m, NULL), DYN_EBADENCODING);
    cr_assert_eq(decode(a, "a=%ff", &m, NULL), DYN_EBADENCODING);          /* not UTF-8 */
    cr_assert_eq(decode(a, "%c0%af=1", &m, NULL), DYN_EBADENCODING);       /* overlong '/' */
    cr_assert_eq(decode(a, "a=%ed%a0%80", &m, NULL), DYN_EBADENCODING);    /* a surrogate */
    cr_assert_eq(decode(a, "a=%f4%90%80%80", &m, NULL), DYN_EBADENCODING); /* past U+10FFFF */
    /* ... unless bytes are allowed */
    dyn_form_limits_t any = {.any_bytes = true};
    cr_assert_eq(decode(a, "a=%ff%fe", &m, &any), 0);
    cr_assert_eq(dyn_map_get(m, "a")->s.len, 2);
    dyn_arena_free(a);
}

DY_TEST(params, limits_on_pairs_key_and_value_length_and_depth)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m;
    dyn_form_limits_t lim = {.max_pairs = 3, .max_key_len = 8, .max_value_len = 5, .max_depth = 2};
    cr_assert_eq(decode(a, "a=1&b=2&c=3", &m, &lim), 0);
    cr_assert_eq(decode(a, "a=1&b=2&c=3&d=4", &m, &lim), DYN_ELIMIT);
    cr_assert_eq(decode(a, "12345678=1", &m, &lim), 0);
    cr_assert_eq(decode(a, "123456789=1", &m, &lim), DYN_ELIMIT);
    cr_assert_eq(decode(a, "a=12345", &m, &lim), 0);
    cr_assert_eq(decode(a, "a=123456", &m, &lim), DYN_ELIMIT);
    cr_assert_eq(decode(a, "a=%31%32%33%34%35", &m, &lim), 0); /* decoded length counts */
    cr_assert_eq(decode(a, "a[b][]=1", &m, &lim), 0);
    cr_assert_eq(decode(a, "a[b][c][]=1", &m, &lim), DYN_ELIMIT);
    dyn_arena_free(a);
}

DY_TEST(params, deep_keys_past_the_stack_segments_with_a_large_depth_limit)
{
    dyn_arena_t *a = dyn_arena_new();
    char key[4096] = "k";
    for (int i = 0; i < 100; i++)
        strcat(key, "[x]");
    dyn_map_t *m = dyn_map_new(a);
    dyn_form_limits_t deep = {.max_depth = 100, .max_key_len = 4096};
    cr_assert_eq(dyn_params_put(m, key, strlen(key), dyn_vstr("v"), &deep), 0);
    dyn_form_limits_t shallow = {.max_depth = 99, .max_key_len = 4096};
    cr_assert_eq(dyn_params_put(m, key, strlen(key), dyn_vstr("v"), &shallow), DYN_ELIMIT);
    /* Default limits: 32 levels. */
    cr_assert_eq(dyn_params_put(m, key, 1 + 3 * 32, dyn_vstr("v"), NULL), 0);
    cr_assert_eq(dyn_params_put(m, key, 1 + 3 * 33, dyn_vstr("v"), NULL), DYN_ELIMIT);
    dyn_arena_free(a);
}

DY_TEST(params, utf8_validation_follows_rfc3629)
{
    cr_assert(dyn_utf8_valid("", 0));
    cr_assert(dyn_utf8_valid("plain ascii text, long enough for words", 39));
    cr_assert(dyn_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    cr_assert_not(dyn_utf8_valid("\xc3", 1));             /* truncated */
    cr_assert_not(dyn_utf8_valid("\xe2\x82", 2));         /* truncated */
    cr_assert_not(dyn_utf8_valid("\xc1\xbf", 2));         /* overlong */
    cr_assert_not(dyn_utf8_valid("\xe0\x9f\xbf", 3));     /* overlong */
    cr_assert_not(dyn_utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong */
    cr_assert_not(dyn_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    cr_assert_not(dyn_utf8_valid("\xf5\x80\x80\x80", 4)); /* past U+10FFFF */
    cr_assert_not(dyn_utf8_valid("\x80", 1));             /* a lone continuation */
    cr_assert_not(dyn_utf8_valid("abcdefgh\xff", 9));     /* past the 8-byte fast path */
}

/* ---- typed reads through a conn ---- */

static dyn_conn_t *typed(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 256);
    static const char *const names[] = {"n",    "neg",    "plus",     "big",   "min",
                                        "over", "under",  "junk",     "space", "empty",
                                        "sign", "absent", "user[age]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int64_t v = -1;
        int rc = dyn_param_int(conn, names[i], &v);
        dyn_buf_printf(&b, "%s=%s:%lld ", names[i], rc ? dyn_err_name(rc) : "ok", (long long)v);
    }
    double d = 0;
    int rc = dyn_param_float(conn, "f", &d);
    dyn_buf_printf(&b, "f=%d:%g ", rc, d);
    dyn_buf_printf(&b, "inf=%d nan=%d hugef=%d", dyn_param_float(conn, "inf", &d),
                   dyn_param_float(conn, "nanv", &d), dyn_param_float(conn, "hugef", &d));
    return dyn_resp(conn, 200, b.data);
}

DYN_ROUTER(pm_typed_router, DYN_GET("/typed", typed));

DY_TEST(params, ints_are_validated_and_overflow_is_reported)
{
    dyn_conn_t *c = dy_run(&pm_typed_router, HTTP_METHOD_GET,
                           "/typed?n=42&neg=-7&plus=%2B5&big=9223372036854775807&"
                           "min=-9223372036854775808&over=9223372036854775808&"
                           "under=-9223372036854775809&junk=12x&space=+12&empty=&sign=-&"
                           "user[age]=30&f=2.5e3&inf=inf&nanv=nan&hugef=1e999");
    cr_assert_eq(dyn_test_status(c), 200, "%s", dyn_test_body(c, NULL));
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "n=ok:42 neg=ok:-7 plus=ok:5 big=ok:9223372036854775807 "
                     "min=ok:-9223372036854775808 over=ERANGE:-1 under=ERANGE:-1 "
                     "junk=EINVAL:-1 space=EINVAL:-1 empty=EINVAL:-1 sign=EINVAL:-1 "
                     "absent=ENOENT:-1 user[age]=ok:30 f=0:2500 inf=-22 nan=-22 hugef=-34");
    dyn_test_conn_free(c);
}
