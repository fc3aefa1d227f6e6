/*
 * Cookies (cookie.h): lenient, bounded parsing of what browsers and hostile clients send, and
 * Set-Cookie values that nothing can inject into, written once before the head goes out.
 */
#include <string.h>

#include "cookie_int.h"
#include "dyn_util.h"

TestSuite(cookie, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static const char *get(const dyn_map_t *m, const char *k)
{
    return dyn_value_str(dyn_map_get(m, k), NULL);
}

DY_TEST(cookie, parsing_is_lenient_where_browsers_are)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    const char *h = "a=1; b = 2 ;c=\"q v\";noeq; =novalue;a=dup;d=;e=x\x01y; f g=1;\th=tab\t;"
                    " i=x=y;;; j=\xc3\xa9";
    cr_assert_eq(dyn__cookies_parse(m, h, strlen(h), 100, 4096), 0);
    cr_assert_str_eq(get(m, "a"), "1"); /* the first of duplicates wins */
    cr_assert_str_eq(get(m, "b"), "2");
    cr_assert_str_eq(get(m, "c"), "\"q v\""); /* quotes kept as sent */
    cr_assert_str_eq(get(m, "d"), "");
    cr_assert_str_eq(get(m, "h"), "tab");
    cr_assert_str_eq(get(m, "i"), "x=y");
    cr_assert_str_eq(get(m, "j"), "é"); /* opaque octets, not decoded */
    cr_assert_null(dyn_map_get(m, "noeq"));
    cr_assert_null(dyn_map_get(m, ""));
    cr_assert_null(dyn_map_get(m, "e"));   /* a control character */
    cr_assert_null(dyn_map_get(m, "f g")); /* not a token */
    cr_assert_eq(dyn_map_len(m), 7);
    /* Nothing at all, or only separators. */
    dyn_map_t *e = dyn_map_new(a);
    cr_assert_eq(dyn__cookies_parse(e, "", 0, 100, 4096), 0);
    cr_assert_eq(dyn__cookies_parse(e, " ; ;", 4, 100, 4096), 0);
    cr_assert_eq(dyn_map_len(e), 0);
    dyn_arena_free(a);
}

DY_TEST(cookie, parsing_stops_at_the_count_and_skips_oversized_pairs)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    const char *h = "a=1; big=123456789; b=2; c=3; d=4";
    cr_assert_eq(dyn__cookies_parse(m, h, strlen(h), 3, 8), 0);
    cr_assert_eq(dyn_map_len(m), 3);
    cr_assert_null(dyn_map_get(m, "big")); /* "big=123456789" is 13 bytes */
    cr_assert_str_eq(get(m, "c"), "3");
    cr_assert_null(dyn_map_get(m, "d"));
    dyn_arena_free(a);
}

static const char *fmt(dyn_arena_t *a, const char *name, const char *value,
                       const dyn_cookie_opts_t *o)
{
    dyn_buf_t b;
    dyn_buf_init(&b, a, 64);
    char err[200];
    int rc = dyn__cookie_format(&b, name, value, o, 1700000000, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return b.data;
}

static int fmt_err(dyn_arena_t *a, const char *name, const char *value, const dyn_cookie_opts_t *o)
{
    dyn_buf_t b;
    dyn_buf_init(&b, a, 64);
    return dyn__cookie_format(&b, name, value, o, 1700000000, NULL, 0);
}

DY_TEST(cookie, set_cookie_values_with_every_attribute)
{
    dyn_arena_t *a = dyn_arena_new();
    cr_assert_str_eq(fmt(a, "theme", "dark", NULL), "theme=dark; Path=/; HttpOnly; SameSite=Lax");
    cr_assert_str_eq(fmt(a, "s", "\"quoted\"",
                         &(dyn_cookie_opts_t){.path = "/admin",
                                              .domain = "example.com",
                                              .max_age = 86400,
                                              .secure = true,
                                              .same_site = DYN_SAME_SITE_STRICT}),
                     "s=\"quoted\"; Path=/admin; Domain=example.com; "
                     "Expires=Wed, 15 Nov 2023 22:13:20 GMT; Max-Age=86400; Secure; HttpOnly; "
                     "SameSite=Strict");
    cr_assert_str_eq(fmt(a, "x", "", &(dyn_cookie_opts_t){.max_age = -5}),
                     "x=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; "
                     "SameSite=Lax");
    cr_assert_str_eq(fmt(a, "x", "1",
                         &(dyn_cookie_opts_t){.expires = 1000,
                                              .http_only_off = true,
                                              .same_site = DYN_SAME_SITE_NONE,
                                              .secure = true}),
                     "x=1; Path=/; Expires=Thu, 01 Jan 1970 00:16:40 GMT; Secure; SameSite=None");
    cr_assert_str_eq(fmt(a, "x", "1", &(dyn_cookie_opts_t){.same_site = DYN_SAME_SITE_OMIT}),
                     "x=1; Path=/; HttpOnly");
    /* A huge Max-Age: the Expires date stops at year 9999. */
    cr_assert(strstr(fmt(a, "x", "1", &(dyn_cookie_opts_t){.max_age = INT64_MAX}),
                     "Expires=Fri, 31 Dec 9999 23:59:59 GMT; Max-Age=9223372036854775807"));
    dyn_arena_free(a);
}

DY_TEST(cookie, nothing_can_inject_attributes_or_headers)
{
    dyn_arena_t *a = dyn_arena_new();
    cr_assert_eq(fmt_err(a, "", "v", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a b", "v", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a=b", "v", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a;", "v", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "v; Domain=evil.com", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "v\r\nSet-Cookie: x=1", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "v,w", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "\"in\"side\"", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "back\\slash", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "\xc3\xa9", NULL), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "v", &(dyn_cookie_opts_t){.path = "/x; Secure"}), DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "v", &(dyn_cookie_opts_t){.domain = "x.com\r\nX: y"}),
                 DYN_EBADHEADER);
    cr_assert_eq(fmt_err(a, "a", "base64+/=-_.~!#$%&'()*:<>?@[]^`{|}", NULL), 0);
    dyn_arena_free(a);
}

/* ---- through conns ---- */

static dyn_conn_t *read_cookies(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES);
    const dyn_map_t *all = dyn_req_cookies(conn);
    const char *t = dyn_req_cookie(conn, "theme");
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "%zu theme=%s lang=%s none=%s", dyn_map_len(all), t,
                                dyn_req_cookie(conn, "lang"),
                                dyn_req_cookie(conn, "none") ? "?" : "NULL"));
}

static dyn_conn_t *late_cookie(dyn_conn_t *conn, void *arg)
{
    (void)arg;
    return dyn_put_resp_cookie(conn, "late", "1", NULL);
}

static dyn_conn_t *set_cookies(dyn_conn_t *conn)
{
    conn = dyn_register_before_send(conn, late_cookie, NULL);
    conn = dyn_put_resp_cookie(conn, "theme", "light", NULL);
    conn = dyn_put_resp_cookie(conn, "theme", "dark", &(dyn_cookie_opts_t){.secure = true});
    conn = dyn_delete_resp_cookie(conn, "old", &(dyn_cookie_opts_t){.path = "/admin"});
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%zu", dyn_map_len(dyn_resp_cookies(conn))));
}

static dyn_conn_t *bad_cookie(dyn_conn_t *conn)
{
    return dyn_put_resp_cookie(conn, "a", dyn_param(conn, "v"), NULL);
}

static dyn_conn_t *cookie_after_send(dyn_conn_t *conn)
{
    conn = dyn_send(conn, 200, "sent");
    return dyn_put_resp_cookie(conn, "a", "1", NULL);
}

DYN_ROUTER(cookie_router, DYN_GET("/read", read_cookies), DYN_GET("/set", set_cookies),
           DYN_GET("/bad/:v", bad_cookie), DYN_GET("/after", cookie_after_send));

DY_TEST(cookie, request_cookies_from_every_cookie_header)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/read");
    dyn_test_put_req_header(c, "cookie", "theme=dark; x=1");
    dyn_test_put_req_header(c, "accept", "*/*");
    dyn_test_put_req_header(c, "Cookie", "lang=en; theme=light");
    c = dyn_test_run(&cookie_router, c);
    cr_assert_str_eq(dyn_test_body(c, NULL), "3 theme=dark lang=en none=NULL");
    dyn_test_conn_free(c);
    c = dy_run(&cookie_router, HTTP_METHOD_GET, "/read");
    cr_assert_str_eq(dyn_test_body(c, NULL), "0 theme=(null) lang=(null) none=NULL");
    dyn_test_conn_free(c);
}

DY_TEST(cookie, the_dynamos_limits_bound_the_parse)
{
    static const dyn_dynamo_t d = {.name = "few_cookies",
                                   .endpoint = &cookie_router,
                                   .env = DYN_ENV_TEST,
                                   .dyn_limits = {.max_cookies = 1, .max_cookie_size = 10}};
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/read");
    dyn_test_put_req_header(c, "cookie", "theme=a-long-value; lang=en; theme=x");
    c = dyn_test_run_dynamo(&d, c);
    cr_assert_str_eq(dyn_test_body(c, NULL), "1 theme=(null) lang=en none=NULL");
    dyn_test_conn_free(c);
}

DY_TEST(cookie, response_cookies_go_out_as_one_set_cookie_header_each)
{
    dyn_conn_t *c = dy_run(&cookie_router, HTTP_METHOD_GET, "/set");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "2");
    size_t n;
    const http_header_t *h = dyn_conn_resp_headers(c, &n);
    const char *set[4] = {0};
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, "set-cookie") == 0 && ns < 4)
            set[ns++] = h[i].value;
    cr_assert_eq(ns, 3);
    cr_assert_str_eq(set[0], "theme=dark; Path=/; Secure; HttpOnly; SameSite=Lax");
    cr_assert_str_eq(set[1], "old=; Path=/admin; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                             "Max-Age=0; HttpOnly; SameSite=Lax");
    /* Set by a before-send callback: still written. */
    cr_assert_str_eq(set[2], "late=1; Path=/; HttpOnly; SameSite=Lax");
    cr_assert_eq(dyn_map_len(dyn_resp_cookies(c)), 3);
    dyn_test_conn_free(c);
}

DY_TEST(cookie, a_bad_cookie_fails_the_request)
{
    dyn_conn_t *c = dy_run(&cookie_router, HTTP_METHOD_GET, "/bad/x%3B%20Domain%3Devil");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_EBADHEADER);
    cr_assert(strstr(dyn_conn_failure(c)->text, "cookie \"a\": value"));
    cr_assert_null(dyn_get_resp_header(c, "set-cookie"));
    dyn_test_conn_free(c);
    c = dy_run(&cookie_router, HTTP_METHOD_GET, "/after");
    cr_assert_str_eq(dyn_test_body(c, NULL), "sent");
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ESENT);
    dyn_test_conn_free(c);
}
