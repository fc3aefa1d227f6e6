/*
 * The conn through the test adapter: request accessors, the response states (resp, send,
 * send_chunked + chunk), headers, content types, redirects, assigns with typed values and
 * destructors, private data, before-send callbacks, the body, and the programming errors that
 * fail a request (a change after sending, header injection).
 */
#include <string.h>

#include "dyn_util.h"

TestSuite(conn, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static dyn_conn_t *info(dyn_conn_t *conn)
{
    struct sockaddr_storage ss;
    socklen_t len;
    DY_CHECK(dyn_conn_peer_addr(conn, &ss, &len) == 0);
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn,
                                "%s %s %s ?%s host=%s port=%u peer=%s:%u ua=%s v=%d scheme=%s",
                                dyn_conn_method_str(conn), dyn_conn_path(conn),
                                dyn_conn_path_info_str(conn), dyn_conn_query(conn),
                                dyn_conn_host(conn), dyn_conn_port(conn), dyn_conn_peer(conn),
                                dyn_conn_peer_port(conn), dyn_conn_req_header(conn, "USER-agent"),
                                dyn_conn_version(conn), dyn_conn_scheme(conn)));
}

static dyn_conn_t *send_then_resp(dyn_conn_t *conn)
{
    dyn_send(conn, 201, "first");
    DY_CHECK(dyn_conn_state(conn) == DYN_STATE_SENT);
    return dyn_resp(conn, 200, "second"); /* a programming error */
}

static dyn_conn_t *stream(dyn_conn_t *conn)
{
    DY_CHECK(dyn_chunk(conn, "x", 1) == DYN_ENOTCHUNKED);
    conn = dyn_send_chunked(conn, 200);
    DY_CHECK(dyn_conn_state(conn) == DYN_STATE_CHUNKED);
    for (int i = 0; i < 5; i++)
        DY_CHECK(dyn_chunk_str(conn, dyn_sprintf(conn, "piece %d;", i)) == 0);
    DY_CHECK(dyn_chunk(conn, "", 0) == 0);
    return conn;
}

static dyn_conn_t *headers(dyn_conn_t *conn)
{
    dyn_put_resp_header(conn, "X-One", "1");
    dyn_put_resp_header(conn, "x-one", "2");
    dyn_add_resp_header(conn, "Set-Cookie", "a=1");
    dyn_add_resp_header(conn, "set-cookie", "b=2");
    dyn_put_resp_header(conn, "x-gone", "soon");
    dyn_delete_resp_header(conn, "X-GONE");
    DY_CHECK(strcmp(dyn_get_resp_header(conn, "X-ONE"), "2") == 0);
    return dyn_resp(conn, 200, "h");
}

static dyn_conn_t *inject(dyn_conn_t *conn)
{
    return dyn_put_resp_header(conn, "x-evil", dyn_param(conn, "v"));
}

static dyn_conn_t *typed(dyn_conn_t *conn)
{
    return dyn_put_resp_content_type(dyn_resp(conn, 200, "{}"), "application/json", "utf-8");
}

static dyn_conn_t *go_away(dyn_conn_t *conn)
{
    return dyn_redirect(conn, "/there?a=1&b=\"2\"");
}

static dyn_conn_t *go_away_301(dyn_conn_t *conn)
{
    return dyn_redirect_status(conn, 301, "https://example.com/");
}

static int dtor_runs;
static void count_dtor(void *p)
{
    DY_CHECK(p == (void *)&dtor_runs);
    dtor_runs++;
}

static dyn_conn_t *assigns(dyn_conn_t *conn)
{
    char local[] = "copied";
    dyn_assign_str(conn, "s", local);
    local[0] = 'X'; /* the assign has its own copy */
    dyn_assign_int(conn, "i", -42);
    dyn_assign_float(conn, "f", 2.5);
    dyn_assign_bool(conn, "b", true);
    dyn_assign_ptr(conn, "p", &dtor_runs, count_dtor);
    dyn_list_t *l = dyn_list_new(dyn_conn_arena(conn), 0);
    dyn_list_push(l, dyn_vint(1));
    dyn_list_push(l, dyn_vstr("two"));
    dyn_assign(conn, "l", dyn_vlist(l));
    dyn_put_private(conn, "lib.secret", dyn_vint(7));
    DY_CHECK(dyn_conn_assign(conn, "lib.secret") == NULL);
    return dyn_status(conn, 204);
}

static dyn_conn_t *add_header_cb(dyn_conn_t *conn, void *arg)
{
    const char *h = dyn_get_resp_header(conn, "x-order");
    return dyn_put_resp_header(conn, "x-order", dyn_sprintf(conn, "%s%s", h ? h : "", (char *)arg));
}

static dyn_conn_t *before(dyn_conn_t *conn)
{
    dyn_register_before_send(conn, add_header_cb, "a");
    dyn_register_before_send(conn, add_header_cb, "b");
    return dyn_resp(conn, 200, "ok");
}

static dyn_conn_t *null_cb(dyn_conn_t *conn, void *arg)
{
    (void)conn;
    (void)arg;
    return NULL;
}

static dyn_conn_t *before_null(dyn_conn_t *conn)
{
    dyn_register_before_send(conn, null_cb, NULL);
    return dyn_resp(conn, 200, "never");
}

static dyn_conn_t *body(dyn_conn_t *conn)
{
    const char *b1, *b2;
    size_t l1, l2;
    DY_CHECK(dyn_conn_body(conn, 0, &b1, &l1) == 0);
    DY_CHECK(dyn_conn_body(conn, 0, &b2, &l2) == 0);
    DY_CHECK(b1 == b2 && l1 == l2);
    DY_CHECK(dyn_conn_body(conn, 3, &b2, &l2) == HTTP_ETOOLARGE);
    return dyn_respn(conn, 200, b1, l1);
}

DYN_ROUTER(conn_router, DYN_ANY("/info/*", info), DYN_GET("/send", send_then_resp),
           DYN_GET("/stream", stream), DYN_GET("/headers", headers), DYN_GET("/inject/:v", inject),
           DYN_GET("/typed", typed), DYN_GET("/redirect", go_away),
           DYN_GET("/redirect301", go_away_301), DYN_GET("/assigns", assigns),
           DYN_GET("/before", before), DYN_GET("/before-null", before_null),
           DYN_POST("/body", body));

DY_TEST(conn, request_accessors)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/info/a%20b/c?x=1&y=%20");
    dyn_test_put_req_header(c, "Host", "example.com:8443");
    dyn_test_put_req_header(c, "User-Agent", "crit");
    dyn_test_put_peer(c, "10.1.2.3", 4567);
    dyn_test_put_version(c, 10);
    c = dyn_test_run(&conn_router, c);
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "GET /info/a%20b/c /info/a b/c ?x=1&y=%20 host=example.com port=8443 "
                     "peer=10.1.2.3:4567 ua=crit v=10 scheme=http");
    dyn_test_conn_free(c);
    c = dyn_test_conn(HTTP_METHOD_GET, "/info/x");
    dyn_test_put_req_header(c, "host", "[::1]:9000");
    dyn_test_put_peer(c, "::1", 1);
    c = dyn_test_run(&conn_router, c);
    cr_assert(strstr(dyn_test_body(c, NULL), "host=[::1] port=9000 peer=::1:1"), "%s",
              dyn_test_body(c, NULL));
    dyn_test_conn_free(c);
}

DY_TEST(conn, send_now_then_a_change_fails_the_request_but_the_response_stands)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/send");
    cr_assert_eq(dyn_test_status(c), 201);
    cr_assert_str_eq(dyn_test_body(c, NULL), "first");
    cr_assert_not_null(dyn_conn_failure(c));
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ESENT);
    dyn_test_conn_free(c);
}

DY_TEST(conn, send_chunked_streams_pieces)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/stream");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "piece 0;piece 1;piece 2;piece 3;piece 4;");
    cr_assert_eq(dyn_test_chunks(c), 5);
    cr_assert_not(dyn_test_aborted(c));
    cr_assert_eq(dyn_conn_state(c), DYN_STATE_SENT);
    dyn_test_conn_free(c);
}

DY_TEST(conn, response_headers_put_add_delete_lowercased)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/headers");
    size_t n;
    const http_header_t *h = dyn_conn_resp_headers(c, &n);
    cr_assert_eq(n, 4, "x-one, two set-cookie, content-type");
    cr_assert_str_eq(h[0].name, "x-one");
    cr_assert_str_eq(h[0].value, "2");
    cr_assert_str_eq(h[1].value, "a=1");
    cr_assert_str_eq(h[2].value, "b=2");
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "text/plain; charset=utf-8");
    dyn_test_conn_free(c);
}

DY_TEST(conn, header_injection_fails_the_request)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/inject/a%0D%0ASet-Cookie:%20x=1");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_EBADHEADER);
    cr_assert_null(dyn_get_resp_header(c, "x-evil"));
    cr_assert_null(dyn_get_resp_header(c, "set-cookie"));
    dyn_test_conn_free(c);
    /* any other control character too (the HTTP layer takes the conn's headers unchecked) */
    const char *bad[] = {"/inject/a%01b", "/inject/a%7Fb", "/inject/a%0Bb", "/inject/%1B[31m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = dy_run(&conn_router, HTTP_METHOD_GET, bad[i]);
        cr_assert_eq(dyn_test_status(c), 500, "%s", bad[i]);
        cr_assert_eq(dyn_conn_failure(c)->reason, DYN_EBADHEADER, "%s", bad[i]);
        dyn_test_conn_free(c);
    }
}

DY_TEST(conn, content_type_with_charset)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/typed");
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "application/json; charset=utf-8");
    dyn_test_conn_free(c);
}

DY_TEST(conn, redirect_is_302_with_location_and_an_escaped_link)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/redirect");
    cr_assert_eq(dyn_test_status(c), 302);
    cr_assert_str_eq(dyn_get_resp_header(c, "location"), "/there?a=1&b=\"2\"");
    cr_assert(strstr(dyn_test_body(c, NULL), "href=\"/there?a=1&amp;b=&quot;2&quot;\""), "%s",
              dyn_test_body(c, NULL));
    dyn_test_conn_free(c);
    c = dy_run(&conn_router, HTTP_METHOD_GET, "/redirect301");
    cr_assert_eq(dyn_test_status(c), 301);
    dyn_test_conn_free(c);
}

DY_TEST(conn, assigns_keep_typed_values_and_pointers_are_released_once)
{
    dtor_runs = 0;
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/assigns");
    cr_assert_eq(dyn_test_status(c), 204);
    cr_assert_str_eq(dyn_value_str(dyn_conn_assign(c, "s"), NULL), "copied");
    cr_assert_eq(dyn_value_int(dyn_conn_assign(c, "i"), 0), -42);
    cr_assert(dyn_value_float(dyn_conn_assign(c, "f"), 0) == 2.5);
    cr_assert(dyn_value_bool(dyn_conn_assign(c, "b"), false));
    cr_assert_eq(dyn_conn_assign(c, "p")->p, &dtor_runs);
    const dyn_value_t *l = dyn_conn_assign(c, "l");
    cr_assert_eq(l->type, DYN_V_LIST);
    cr_assert_eq(dyn_list_len(l->l), 2);
    cr_assert_eq(dyn_value_int(dyn_conn_private(c, "lib.secret"), 0), 7);
    cr_assert_eq(dyn_map_len(dyn_conn_assigns(c)), 6);
    cr_assert_eq(dtor_runs, 0, "the request still holds it");
    dyn_test_conn_free(c);
    cr_assert_eq(dtor_runs, 1);
}

DY_TEST(conn, before_send_callbacks_run_last_registered_first)
{
    dyn_conn_t *c = dy_run(&conn_router, HTTP_METHOD_GET, "/before");
    cr_assert_str_eq(dyn_get_resp_header(c, "x-order"), "ba");
    dyn_test_conn_free(c);
    c = dy_run(&conn_router, HTTP_METHOD_GET, "/before-null");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ENOCONN);
    cr_assert(strstr(dyn_test_body(c, NULL), "never") == NULL);
    dyn_test_conn_free(c);
}

DY_TEST(conn, body_is_read_once_and_kept)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/body");
    dyn_test_put_body(c, "hello body", 10);
    c = dyn_test_run(&conn_router, c);
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "hello body");
    dyn_test_conn_free(c);
}
