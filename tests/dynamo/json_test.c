/*
 * JSON (json.h): the encoder's escaping, numbers and refusals; the decoder's caps and errors;
 * JSON bodies through the params fetch; dyn_json responses.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dyn_util.h"

#include "dynamo/uri.h"

TestSuite(json, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static const char *enc(dyn_arena_t *a, dyn_value_t v, int *rc, char *err, size_t errlen)
{
    dyn_buf_t b;
    dyn_buf_init(&b, a, 64);
    *rc = dyn_json_encode(&b, &v, err, errlen);
    return b.data;
}

static const char *enc_ok(dyn_arena_t *a, dyn_value_t v)
{
    int rc;
    char err[200];
    const char *s = enc(a, v, &rc, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return s;
}

DY_TEST(json, scalars_and_containers)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    dyn_list_t *l = dyn_list_new(a, 0);
    dyn_list_push(l, dyn_vint(INT64_MIN));
    dyn_list_push(l, dyn_vint(INT64_MAX));
    dyn_list_push(l, dyn_vnull());
    dyn_list_push(l, dyn_vbool(true));
    dyn_list_push(l, dyn_vmap(dyn_map_new(a)));
    dyn_list_push(l, dyn_vlist(dyn_list_new(a, 0)));
    dyn_map_put(m, "z", dyn_vlist(l));
    dyn_map_put(m, "a", dyn_vbool(false));
    cr_assert_str_eq(enc_ok(a, dyn_vmap(m)),
                     "{\"z\":[-9223372036854775808,9223372036854775807,null,true,{},[]],"
                     "\"a\":false}");
    dyn_arena_free(a);
}

DY_TEST(json, floats_take_their_shortest_round_trip_form_and_stay_floats)
{
    dyn_arena_t *a = dyn_arena_new();
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(0.1)), "0.1");
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(1.0 / 3)), "0.3333333333333333");
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(2)), "2.0");
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(-0.0)), "-0.0");
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(1e300)), "1e+300");
    cr_assert_eq(strtod(enc_ok(a, dyn_vfloat(5e-324)), NULL), 5e-324);
    cr_assert_str_eq(enc_ok(a, dyn_vfloat(123456789.125)), "123456789.125");
    dyn_arena_free(a);
}

DY_TEST(json, strings_are_escaped_per_rfc8259_and_invalid_utf8_is_replaced)
{
    dyn_arena_t *a = dyn_arena_new();
    cr_assert_str_eq(enc_ok(a, dyn_vstr("q\"b\\s/\n\r\t\b\f\x01\x1f\x7f")),
                     "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
    cr_assert_str_eq(enc_ok(a, dyn_vstrn("nul\0x", 5)), "\"nul\\u0000x\"");
    /* Valid UTF-8 passes as is, but U+2028/U+2029, which end a JavaScript line. */
    cr_assert_str_eq(enc_ok(a, dyn_vstr("é€😀 \xe2\x80\xa8\xe2\x80\xa9")), "\"é€😀 \\u2028\\u2029\"");
    /* Each maximal invalid sequence becomes one U+FFFD. */
    cr_assert_str_eq(enc_ok(a, dyn_vstr("a\xff"
                                        "b\xe2\x82"
                                        "c\xc0\xaf"
                                        "d\xed\xa0\x80"
                                        "e\xf0\x9f\x98")),
                     "\"a\xef\xbf\xbd"
                     "b\xef\xbf\xbd"
                     "c\xef\xbf\xbd\xef\xbf\xbd"
                     "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                     "e\xef\xbf\xbd\"");
    const char *out = enc_ok(a, dyn_vstr("\xf4\x90\x80\x80\x80"));
    cr_assert(dyn_utf8_valid(out, strlen(out)));
    /* Keys too. */
    dyn_map_t *m = dyn_map_new(a);
    dyn_map_put(m, "k\"\xff", dyn_vint(1));
    cr_assert_str_eq(enc_ok(a, dyn_vmap(m)), "{\"k\\\"\xef\xbf\xbd\":1}");
    dyn_arena_free(a);
}

DY_TEST(json, what_json_cannot_hold_is_an_error_naming_the_place)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *user = dyn_map_new(a);
    dyn_list_t *scores = dyn_list_new(a, 0);
    dyn_list_push(scores, dyn_vfloat(1));
    dyn_list_push(scores, dyn_vfloat(2));
    dyn_list_push(scores, dyn_vfloat(NAN));
    dyn_map_put(user, "scores", dyn_vlist(scores));
    dyn_map_t *root = dyn_map_new(a);
    dyn_map_put(root, "user", dyn_vmap(user));
    int rc;
    char err[200];
    enc(a, dyn_vmap(root), &rc, err, sizeof err);
    cr_assert_eq(rc, ACT_EBADARG);
    cr_assert_str_eq(err, "$.user.scores[2]: NaN is not JSON");
    enc(a, dyn_vfloat(-INFINITY), &rc, err, sizeof err);
    cr_assert_str_eq(err, "$: an infinity is not JSON");
    int x;
    enc(a, dyn_vptr(a, &x, NULL), &rc, err, sizeof err);
    cr_assert_eq(rc, ACT_EBADARG);
    cr_assert_str_eq(err, "$: a pointer is not JSON");
    /* A map holding itself ends at the depth cap, not in a stack overflow. */
    dyn_map_t *self = dyn_map_new(a);
    dyn_map_put(self, "me", dyn_vmap(self));
    enc(a, dyn_vmap(self), &rc, err, sizeof err);
    cr_assert_eq(rc, ACT_EBADARG);
    cr_assert(strstr(err, "nested deeper than 256"), "%s", err);
    enc(a, dyn_vmap(self), &rc, NULL, 0); /* no err buffer: fine */
    cr_assert_eq(rc, ACT_EBADARG);
    dyn_arena_free(a);
}

static int dec(dyn_arena_t *a, const char *s, dyn_value_t *v, const dyn_json_limits_t *lim)
{
    char err[200];
    return dyn_json_decode(a, s, strlen(s), lim, v, err, sizeof err);
}

DY_TEST(json, decoding_keeps_order_types_and_the_last_duplicate)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_value_t v;
    cr_assert_eq(dec(a, "{\"b\":1,\"a\":[true,null,2.5,\"x\\u00e9\"],\"b\":{\"c\":-3}}", &v, NULL),
                 0);
    cr_assert_eq(v.type, DYN_V_MAP);
    cr_assert_str_eq(enc_ok(a, v), "{\"b\":{\"c\":-3},\"a\":[true,null,2.5,\"xé\"]}");
    cr_assert_eq(dec(a, " 42 ", &v, NULL), 0);
    cr_assert_eq(v.type, DYN_V_INT);
    cr_assert_eq(v.i, 42);
    dyn_arena_free(a);
}

DY_TEST(json, malformed_and_past_the_caps)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_value_t v;
    cr_assert_eq(dec(a, "{\"a\":", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "{'a':1}", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "[1,]", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "\"\xff\"", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "\"a\\u0000b\"", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "{\"a\\u0000\":1}", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "99999999999999999999", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "", &v, NULL), DYN_EBADENCODING);
    cr_assert_eq(dec(a, "1 2", &v, NULL), DYN_EBADENCODING);
    char err[200];
    cr_assert_eq(dyn_json_decode(a, "[1,\n x]", 7, NULL, &v, err, sizeof err), DYN_EBADENCODING);
    cr_assert(strstr(err, "line 2"), "%s", err);
    dyn_json_limits_t lim = {.max_depth = 3, .max_items = 5};
    cr_assert_eq(dec(a, "[[[1]]]", &v, &lim), 0);
    cr_assert_eq(dec(a, "[[[[1]]]]", &v, &lim), DYN_ELIMIT);
    cr_assert_eq(dec(a, "{\"a\":{\"b\":{\"c\":{}}}}", &v, &lim), DYN_ELIMIT);
    cr_assert_eq(dec(a, "[1,2,3,4]", &v, &lim), 0);
    cr_assert_eq(dec(a, "[1,2,3,4,5]", &v, &lim), DYN_ELIMIT);
    /* Brackets and commas inside strings count for nothing. */
    cr_assert_eq(dec(a, "[\"[[[[,,,,,,\\\"[[[[\"]", &v, &lim), 0);
    /* The default depth (32) keeps jansson's recursion far from the fiber stack's end. */
    char deep[4100];
    memset(deep, '[', 2048);
    memset(deep + 2048, ']', 2048);
    deep[4096] = '\0';
    cr_assert_eq(dec(a, deep, &v, NULL), DYN_ELIMIT);
    /* ... and so does a configured depth past what the stack holds. */
    dyn_json_limits_t huge = {.max_depth = 100000};
    cr_assert_eq(dec(a, deep, &v, &huge), DYN_ELIMIT);
    deep[128] = '\0';
    memset(deep + 64, ']', 64);
    cr_assert_eq(dec(a, deep, &v, &huge), 0);
    dyn_arena_free(a);
}

/* ---- JSON bodies and responses through conns ---- */

static dyn_conn_t *echo_params(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    return dyn_json(conn, 201, dyn_vmap((dyn_map_t *)dyn_conn_params(conn)));
}

static dyn_conn_t *typed_reads(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    int64_t n = 0;
    int rc = dyn_param_int(conn, "n", &n);
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "n=%s:%d:%lld f=%s b=%s nul=%s list=%s user.name=%s",
                                dyn_param(conn, "n"), rc, (long long)n, dyn_param(conn, "f"),
                                dyn_param(conn, "b"), dyn_param(conn, "nul") ? "?" : "NULL",
                                dyn_param(conn, "list") ? "?" : "NULL",
                                dyn_param(conn, "user[name]")));
}

static dyn_conn_t *bad_json(dyn_conn_t *conn)
{
    return dyn_json(conn, 200, dyn_vfloat(NAN));
}

DYN_ROUTER(json_router, DYN_POST("/echo/:id", echo_params), DYN_POST("/typed", typed_reads),
           DYN_GET("/bad", bad_json));

static dyn_conn_t *post_json(const char *target, const char *ctype, const char *body)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, target);
    dyn_test_put_req_header(c, "content-type", ctype);
    return dyn_test_run(&json_router, dyn_test_put_body(c, body, strlen(body)));
}

DY_TEST(json, object_members_merge_into_params_and_other_values_go_under__json)
{
    dyn_conn_t *c = post_json("/echo/7?q=1&id=x", "application/json",
                              "{\"user\":{\"name\":\"José\"},\"id\":\"body\",\"n\":3}");
    cr_assert_eq(dyn_test_status(c), 201);
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "application/json; charset=utf-8");
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "{\"id\":\"7\",\"q\":\"1\",\"user\":{\"name\":\"José\"},\"n\":3}");
    dyn_test_conn_free(c);
    c = post_json("/echo/7", "application/vnd.api+json; charset=utf-8", "[1,2]");
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"id\":\"7\",\"_json\":[1,2]}");
    dyn_test_conn_free(c);
    c = post_json("/echo/7", "application/json", "");
    cr_assert_eq(dyn_test_status(c), 201);
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"id\":\"7\"}");
    dyn_test_conn_free(c);
}

DY_TEST(json, json_scalars_read_as_text_and_typed)
{
    dyn_conn_t *c = post_json("/typed", "application/json",
                              "{\"n\":42,\"f\":0.5,\"b\":true,\"nul\":null,\"list\":[1],"
                              "\"user\":{\"name\":\"x\"}}");
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "n=42:0:42 f=0.5 b=true nul=NULL list=NULL user.name=x");
    dyn_test_conn_free(c);
}

DY_TEST(json, bad_bodies_get_400_and_oversized_ones_413)
{
    dyn_conn_t *c = post_json("/echo/1", "application/json", "{\"a\":");
    cr_assert_eq(dyn_test_status(c), 400);
    cr_assert(strstr(dyn_conn_failure(c)->text, "invalid JSON"), "%s", dyn_conn_failure(c)->text);
    /* The decoder's own words, not the percent-decoder's error text (the soak saw "JSON body:
     * invalid percent-encoding: invalid JSON ..." on the exception page and in the log). */
    cr_assert_null(strstr(dyn_conn_failure(c)->text, "percent"), "%s", dyn_conn_failure(c)->text);
    dyn_test_conn_free(c);
    char deep[100];
    memset(deep, '[', 40);
    memset(deep + 40, ']', 40);
    deep[80] = '\0';
    c = post_json("/echo/1", "application/json", deep);
    cr_assert_eq(dyn_test_status(c), 413);
    dyn_test_conn_free(c);
}

DY_TEST(json, a_response_json_cannot_hold_is_a_crash_naming_the_place)
{
    dyn_conn_t *c = dyn_test_run(&json_router, dyn_test_conn(HTTP_METHOD_GET, "/bad"));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_str_eq(dyn_conn_failure(c)->text, "dyn_json: $: NaN is not JSON");
    dyn_test_conn_free(c);
}
