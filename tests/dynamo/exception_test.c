/*
 * The exception handler: the dev page (reason, where, router and route, a backtrace with
 * function names, the request, params and assigns, everything escaped), the plain prod page
 * with its log line, custom pages per status, and failures that strike while answering.
 */
#include <string.h>

#include "dyn_util.h"

TestSuite(exception, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static __attribute__((noinline)) void deep_crash_helper(dyn_conn_t *conn)
{
    act_failf(ACT_CRASH, "boom <b>%s</b>", dyn_param(conn, "what"));
}

static dyn_conn_t *crash(dyn_conn_t *conn)
{
    dyn_assign_str(conn, "user", "<ann>");
    deep_crash_helper(conn);
    return conn;
}

static dyn_conn_t *crash_errno(dyn_conn_t *conn)
{
    (void)conn;
    act_fail(-EIO);
}

static dyn_conn_t *crash_streaming(dyn_conn_t *conn)
{
    dyn_send_chunked(conn, 200);
    dyn_chunk_str(conn, "partial");
    act_fail(ACT_CRASH);
}

static dyn_conn_t *crashing_cb(dyn_conn_t *conn, void *arg)
{
    (void)arg;
    if (dyn_conn_status(conn) == 500)
        act_fail(ACT_CRASH); /* fails again while the error page goes out */
    return conn;
}

static dyn_conn_t *crash_twice(dyn_conn_t *conn)
{
    dyn_register_before_send(conn, crashing_cb, NULL);
    act_fail(ACT_CRASH);
}

DYN_ROUTER(exc_router, DYN_GET("/crash/:what", crash), DYN_GET("/errno", crash_errno),
           DYN_GET("/stream", crash_streaming), DYN_GET("/twice", crash_twice),
           DYN_POST("/only-post", crash));

static const dyn_plug_spec_t plugs[] = {DYN_PLUG(dyn_plug_request_id, NULL)};
static const dyn_dynamo_t dev = {
    .name = "exc_dev", .endpoint = &exc_router, DYN_PLUGS(plugs), .env = DYN_ENV_DEV};
static const dyn_dynamo_t prod = {
    .name = "exc_prod", .endpoint = &exc_router, DYN_PLUGS(plugs), .env = DYN_ENV_PROD};

static dyn_conn_t *run_get(const dyn_dynamo_t *d, const char *target)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, target);
    dyn_test_put_req_header(c, "x-request-id", "req0123456789abcdefgh");
    dyn_test_put_req_header(c, "user-agent", "agent <i>");
    return dyn_test_run_dynamo(d, c);
}

#define HAS(body, s) cr_assert(strstr((body), (s)) != NULL, "missing %s in:\n%s", (s), (body))
#define HASNT(body, s) cr_assert(strstr((body), (s)) == NULL, "unexpected %s in:\n%s", (s), (body))

DY_TEST(exception, dev_page_shows_reason_route_backtrace_and_request)
{
    dyn_conn_t *c = run_get(&dev, "/crash/it?q=%3Cx%3E");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "text/html; charset=utf-8");
    cr_assert(strstr(dyn_get_resp_header(c, "content-security-policy"), "default-src 'none'"));
    cr_assert_str_eq(dyn_get_resp_header(c, "x-request-id"), "req0123456789abcdefgh");
    const char *b = dyn_test_body(c, NULL);
    HAS(b, "<h1 id=\"reason\">crash: boom &lt;b&gt;it&lt;/b&gt;</h1>");
    HAS(b, "in route GET /crash/:what (crash) in router exc_router");
    HAS(b, "<th>router</th><td>exc_router</td>");
    HAS(b, "<th>route</th><td>GET /crash/:what (crash)</td>");
    /* Function names, static ones included, innermost first, and their source lines. */
    HAS(b, "<span class=\"fn\">deep_crash_helper</span>");
    HAS(b, "<span class=\"fn\">crash</span>");
    HAS(b, "exception_test.c:");
    cr_assert_lt(strstr(b, "deep_crash_helper"), strstr(b, "class=\"fn\">crash<"));
    HAS(b, "<th>user-agent</th><td>agent &lt;i&gt;</td>");
    HAS(b, "<th>query</th><td>q=%3Cx%3E</td>");
    HAS(b, "<th>what</th><td>it</td>");
    HAS(b, "<th>user</th><td>&lt;ann&gt;</td>");
    HAS(b, "<th>request id</th><td>req0123456789abcdefgh</td>");
    const dyn_failure_t *f = dyn_conn_failure(c);
    cr_assert_eq(f->reason, ACT_CRASH);
    cr_assert_str_eq(f->text, "boom <b>it</b>");
    cr_assert_str_eq(f->where, "route GET /crash/:what (crash) in router exc_router");
    dyn_test_conn_free(c);
}

DY_TEST(exception, nothing_from_the_request_is_unescaped)
{
    dyn_conn_t *c = run_get(&dev, "/crash/<script>alert(1)</script>");
    const char *b = dyn_test_body(c, NULL);
    HAS(b, "&lt;script&gt;alert(1)&lt;/script&gt;");
    HASNT(b, "<script");
    dyn_test_conn_free(c);
}

DY_TEST(exception, error_codes_name_themselves)
{
    dyn_conn_t *c = run_get(&dev, "/errno");
    HAS(dyn_test_body(c, NULL), "EIO");
    dyn_test_conn_free(c);
}

DY_TEST(exception, prod_page_is_plain_and_the_log_line_has_the_request_id)
{
    dy_reports_clear();
    dyn_conn_t *c = run_get(&prod, "/crash/secret");
    cr_assert_eq(dyn_test_status(c), 500);
    const char *b = dyn_test_body(c, NULL);
    HAS(b, "<h1>Internal Server Error</h1>");
    HASNT(b, "boom");
    HASNT(b, "crash");
    HASNT(b, "secret");
    HASNT(b, "exc_router");
    cr_assert(dy_reported("level=error method=GET path=/crash/secret status=500 "
                          "request_id=req0123456789abcdefgh where=\"route GET /crash/:what "
                          "(crash) in router exc_router\" reason=crash text=\"boom <b>secret</b>\" "
                          "dynamo=exc_prod"),
              "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(exception, dev_404_lists_the_routes_prod_404_does_not)
{
    dyn_conn_t *c = run_get(&dev, "/nope");
    cr_assert_eq(dyn_test_status(c), 404);
    const char *b = dyn_test_body(c, NULL);
    HAS(b, "No route matches GET /nope");
    HAS(b, "/crash/:what");
    dyn_test_conn_free(c);
    c = run_get(&prod, "/nope");
    cr_assert_eq(dyn_test_status(c), 404);
    HAS(dyn_test_body(c, NULL), "<h1>Not Found</h1>");
    HASNT(dyn_test_body(c, NULL), "/crash");
    dyn_test_conn_free(c);
}

DY_TEST(exception, crash_after_streaming_started_cuts_the_exchange)
{
    dy_reports_clear();
    dyn_conn_t *c = run_get(&prod, "/stream");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "partial");
    cr_assert(dyn_test_aborted(c));
    cr_assert(dy_reported("reason=crash"), "%s", dy_reports());
    dyn_test_conn_free(c);
}

DY_TEST(exception, failure_while_sending_the_page_gives_a_bare_500)
{
    dyn_conn_t *c = run_get(&dev, "/twice");
    cr_assert_eq(dyn_test_status(c), 500);
    HAS(dyn_test_body(c, NULL), "<h1>Internal Server Error</h1>");
    dyn_test_conn_free(c);
}

/* ---- custom pages ---- */

static dyn_conn_t *page_404(dyn_conn_t *conn)
{
    return dyn_resp(
        conn, dyn_conn_status(conn),
        dyn_sprintf(conn, "custom %d for %s", dyn_conn_status(conn), dyn_conn_path(conn)));
}

static dyn_conn_t *page_500(dyn_conn_t *conn)
{
    const dyn_failure_t *f = dyn_conn_failure(conn);
    return dyn_resp(conn, 500,
                    dyn_sprintf(conn, "sorry (%s)", f ? act_reason_str(f->reason) : "?"));
}

static dyn_conn_t *page_crashes(dyn_conn_t *conn)
{
    (void)conn;
    act_fail(ACT_CRASH);
}

static const dyn_error_page_t pages[] = {
    {404, page_404}, {405, page_404}, {500, page_500}, {0, NULL}};
static const dyn_error_page_t bad_pages[] = {{404, page_crashes}, {0, NULL}};
static const dyn_dynamo_t custom = {
    .name = "custom", .endpoint = &exc_router, .env = DYN_ENV_PROD, .error_pages = pages};
static const dyn_dynamo_t custom_bad = {
    .name = "custom_bad", .endpoint = &exc_router, .env = DYN_ENV_PROD, .error_pages = bad_pages};

DY_TEST(exception, custom_pages_per_status)
{
    dyn_conn_t *c = run_get(&custom, "/nope");
    cr_assert_eq(dyn_test_status(c), 404);
    cr_assert_str_eq(dyn_test_body(c, NULL), "custom 404 for /nope");
    dyn_test_conn_free(c);
    c = run_get(&custom, "/only-post");
    cr_assert_eq(dyn_test_status(c), 405);
    cr_assert_str_eq(dyn_get_resp_header(c, "allow"), "POST");
    cr_assert_str_eq(dyn_test_body(c, NULL), "custom 405 for /only-post");
    dyn_test_conn_free(c);
    c = run_get(&custom, "/crash/x");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_str_eq(dyn_test_body(c, NULL), "sorry (crash)");
    dyn_test_conn_free(c);
}

DY_TEST(exception, a_failing_custom_page_falls_back_to_the_default)
{
    dy_reports_clear();
    dyn_conn_t *c = run_get(&custom_bad, "/nope");
    cr_assert_eq(dyn_test_status(c), 404);
    HAS(dyn_test_body(c, NULL), "<h1>Not Found</h1>");
    cr_assert(dy_reported("the custom error page for 404 failed"), "%s", dy_reports());
    dyn_test_conn_free(c);
}
