/*
 * dyn_raise: a failure carrying an HTTP status, answered with that status's page (custom or
 * plain, never the debug page), logged at info, from anywhere in the pipeline.
 */
#include <string.h>

#include "dyn_util.h"

TestSuite(raise, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static int after_raise;

static dyn_conn_t *bad_input(dyn_conn_t *conn)
{
    dyn_raise(conn, 422, "the id <b>%s</b> is not a number", dyn_param(conn, "id"));
}

static dyn_conn_t *too_large(dyn_conn_t *conn)
{
    dyn_raise(conn, 413, "too large");
}

static dyn_conn_t *not_an_error(dyn_conn_t *conn)
{
    dyn_raise(conn, 302, "redirects are not raised");
}

static dyn_conn_t *hook_raises(dyn_conn_t *conn)
{
    if (dyn_conn_req_header(conn, "x-deny"))
        dyn_raise(conn, 403, "denied by the hook");
    return conn;
}

static dyn_conn_t *counted(dyn_conn_t *conn)
{
    after_raise++;
    return dyn_resp(conn, 200, "ran");
}

DYN_ROUTER(guarded_router, DYN_PREPARE(hook_raises), DYN_GET("/", counted));
DYN_ROUTER(raise_router, DYN_GET("/bad/:id", bad_input), DYN_POST("/big", too_large),
           DYN_GET("/302", not_an_error), DYN_FORWARD("/guarded", &guarded_router));

static dyn_conn_t *page_413(dyn_conn_t *conn)
{
    const dyn_failure_t *f = dyn_conn_failure(conn);
    return dyn_resp(conn, dyn_conn_status(conn),
                    dyn_sprintf(conn, "custom %d: %s", dyn_conn_status(conn), f ? f->text : "?"));
}

static const dyn_error_page_t pages[] = {{413, page_413}, {0, NULL}};

static const dyn_dynamo_t dev_dynamo = {.name = "dev_raise",
                                        .endpoint = &raise_router,
                                        .env = DYN_ENV_DEV,
                                        .log_level = DYN_LOG_INFO,
                                        .error_pages = pages};
static const dyn_dynamo_t prod_dynamo = {.name = "prod_raise",
                                         .endpoint = &raise_router,
                                         .env = DYN_ENV_PROD,
                                         .log_level = DYN_LOG_INFO};

DY_TEST(raise, answers_with_the_plain_status_page_even_in_dev)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&dev_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/bad/x"));
    cr_assert_eq(dyn_test_status(c), 422);
    const char *body = dyn_test_body(c, NULL);
    cr_assert(strstr(body, "Unprocessable"), "%s", body);
    cr_assert_null(strstr(body, "Backtrace"), "the debug page leaked: %s", body);
    cr_assert_null(strstr(body, "<b>"));
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ERAISED);
    cr_assert_str_eq(dyn_conn_failure(c)->text, "the id <b>x</b> is not a number");
    /* Logged at info, as the client's error, with the text. */
    cr_assert(dy_wait_report("GET /bad/x -> 422 in route GET /bad/:id (bad_input)", MS(2000)), "%s",
              dy_reports());
    cr_assert_null(strstr(dy_reports(), "crashed"));
    dyn_test_conn_free(c);
}

DY_TEST(raise, a_custom_page_for_the_status_reads_the_text)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&dev_dynamo, dyn_test_conn(HTTP_METHOD_POST, "/big"));
    cr_assert_eq(dyn_test_status(c), 413);
    cr_assert_str_eq(dyn_test_body(c, NULL), "custom 413: too large");
    dyn_test_conn_free(c);
}

DY_TEST(raise, prod_logs_a_logfmt_line_at_info)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&prod_dynamo, dyn_test_conn(HTTP_METHOD_POST, "/big"));
    cr_assert_eq(dyn_test_status(c), 413);
    cr_assert(dy_wait_report("level=info method=POST path=/big status=413", MS(2000)), "%s",
              dy_reports());
    cr_assert(dy_reported("text=\"too large\""), "%s", dy_reports());
    cr_assert_null(strstr(dy_reports(), "level=error"));
    dyn_test_conn_free(c);
}

DY_TEST(raise, a_hook_that_raises_stops_the_route)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/guarded");
    dyn_test_put_req_header(c, "x-deny", "1");
    c = dyn_test_run_dynamo(&prod_dynamo, c);
    cr_assert_eq(dyn_test_status(c), 403);
    cr_assert_eq(after_raise, 0);
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&prod_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/guarded"));
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
}

DY_TEST(raise, a_status_that_is_not_an_error_is_a_crash)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&prod_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/302"));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, ACT_EBADARG);
    cr_assert(dy_wait_report("level=error", MS(2000)), "%s", dy_reports());
    dyn_test_conn_free(c);
}

/* A plug raises before the router. */
static dyn_conn_t *strict_call(dyn_conn_t *conn, void *state)
{
    (void)state;
    if (!dyn_conn_req_header(conn, "x-api-key"))
        dyn_raise(conn, 401, "no API key");
    return conn;
}
static const dyn_plug_t strict = {.name = "strict", .call = strict_call};
static const dyn_plug_spec_t strict_plugs[] = {DYN_PLUG(strict, NULL)};
static const dyn_dynamo_t strict_dynamo = {
    .name = "strict", .endpoint = &raise_router, .env = DYN_ENV_TEST, DYN_PLUGS(strict_plugs)};

DY_TEST(raise, from_a_plug)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&strict_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/guarded"));
    cr_assert_eq(dyn_test_status(c), 401);
    cr_assert_str_eq(dyn_conn_failure(c)->where, "plug strict");
    cr_assert_eq(after_raise, 0);
    dyn_test_conn_free(c);
}
