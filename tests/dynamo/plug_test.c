/*
 * Plugs: the built-in ones (request id, logger, head, method override) and user plugs in an
 * endpoint's pipeline, through dyn_test_run_dynamo.
 */
#include <ctype.h>
#include <string.h>

#include "dyn_util.h"

TestSuite(plug, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static dyn_conn_t *show(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "%s (was %s) id=%s", dyn_conn_method_str(conn),
                                dyn_conn_original_method_str(conn),
                                dyn_conn_request_id(conn) ? dyn_conn_request_id(conn) : "-"));
}

static dyn_conn_t *show_body(dyn_conn_t *conn)
{
    const char *b;
    size_t n;
    DY_CHECK(dyn_conn_body(conn, 0, &b, &n) == 0);
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%s body=%s", dyn_conn_method_str(conn), b));
}

static dyn_conn_t *crash(dyn_conn_t *conn)
{
    (void)conn;
    act_failf(ACT_CRASH, "boom");
}

DYN_ROUTER(plug_router, DYN_GET("/show", show), DYN_DELETE("/thing", show_body),
           DYN_PUT("/thing", show_body), DYN_POST("/thing", show_body), DYN_GET("/crash", crash),
           DYN_GET("/q\"x", show));

static const dyn_request_id_opts_t custom_hdr = {.header = "x-trace"};
static const dyn_method_override_opts_t small_body = {.max_body = 64};
static const dyn_logger_opts_t logfmt = {.format = DYN_LOG_FORMAT_LOGFMT};

static const dyn_plug_spec_t all_plugs[] = {
    DYN_PLUG(dyn_plug_request_id, NULL), DYN_PLUG(dyn_plug_logger, NULL),
    DYN_PLUG(dyn_plug_method_override, &small_body), DYN_PLUG(dyn_plug_head, NULL)};

static const dyn_dynamo_t dev = {
    .name = "plugs", .endpoint = &plug_router, DYN_PLUGS(all_plugs), .env = DYN_ENV_DEV};
static const dyn_dynamo_t prod = {
    .name = "plugs_prod", .endpoint = &plug_router, DYN_PLUGS(all_plugs), .env = DYN_ENV_PROD};
static const dyn_dynamo_t test_env = {
    .name = "plugs_test", .endpoint = &plug_router, DYN_PLUGS(all_plugs), .env = DYN_ENV_TEST};

static const dyn_plug_spec_t trace_plugs[] = {DYN_PLUG(dyn_plug_request_id, &custom_hdr),
                                              DYN_PLUG(dyn_plug_logger, &logfmt)};
static const dyn_dynamo_t traced = {
    .name = "traced", .endpoint = &plug_router, DYN_PLUGS(trace_plugs), .env = DYN_ENV_DEV};

static dyn_conn_t *run(const dyn_dynamo_t *d, dyn_conn_t *c)
{
    return dyn_test_run_dynamo(d, c);
}

static bool id_ok(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

DY_TEST(plug, request_id_is_made_when_missing_or_invalid_and_kept_when_valid)
{
    dyn_conn_t *c = run(&dev, dyn_test_conn(HTTP_METHOD_GET, "/show"));
    const char *id = dyn_get_resp_header(c, "x-request-id");
    cr_assert(id_ok(id, 20), "%s", id);
    cr_assert_str_eq(dyn_conn_request_id(c), id);
    dyn_test_conn_free(c);

    c = dyn_test_conn(HTTP_METHOD_GET, "/show");
    dyn_test_put_req_header(c, "x-request-id", "abcdefghij0123456789-_+/=.");
    c = run(&dev, c);
    cr_assert_str_eq(dyn_get_resp_header(c, "x-request-id"), "abcdefghij0123456789-_+/=.");
    dyn_test_conn_free(c);

    const char *bad[] = {"short", "has space but is long enough", "quote\"quote\"quote\"q"};
    for (size_t i = 0; i < 3; i++) {
        c = dyn_test_conn(HTTP_METHOD_GET, "/show");
        dyn_test_put_req_header(c, "x-request-id", bad[i]);
        c = run(&dev, c);
        cr_assert(id_ok(dyn_get_resp_header(c, "x-request-id"), 20), "%s replaced", bad[i]);
        dyn_test_conn_free(c);
    }

    c = dyn_test_conn(HTTP_METHOD_GET, "/show");
    dyn_test_put_req_header(c, "x-trace", "0123456789abcdefghijKLMN");
    c = run(&traced, c);
    cr_assert_str_eq(dyn_get_resp_header(c, "x-trace"), "0123456789abcdefghijKLMN");
    cr_assert_null(dyn_get_resp_header(c, "x-request-id"));
    dyn_test_conn_free(c);
}

DY_TEST(plug, ids_differ)
{
    char seen[50][21];
    for (int i = 0; i < 50; i++) {
        dyn_conn_t *c = run(&test_env, dyn_test_conn(HTTP_METHOD_GET, "/show"));
        snprintf(seen[i], sizeof seen[i], "%s", dyn_conn_request_id(c));
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j]);
        dyn_test_conn_free(c);
    }
}

DY_TEST(plug, head_runs_get_and_drops_the_body)
{
    dyn_conn_t *c = run(&dev, dyn_test_conn(HTTP_METHOD_HEAD, "/show"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "");
    cr_assert_eq(dyn_conn_method(c), HTTP_METHOD_GET);
    cr_assert_eq(dyn_conn_original_method(c), HTTP_METHOD_HEAD);
    size_t len;
    dyn_conn_resp_body(c, &len);
    cr_assert_gt(len, 0, "the GET's body was set, then dropped on the way out");
    dyn_test_conn_free(c);
}

static dyn_conn_t *form(const char *method, const char *ctype, const char *body)
{
    dyn_conn_t *c = dyn_test_conn_str(method, "/thing");
    if (ctype)
        dyn_test_put_req_header(c, "content-type", ctype);
    dyn_test_put_body(c, body, strlen(body));
    return run(&dev, c);
}

DY_TEST(plug, method_override_turns_a_form_post_into_put_patch_or_delete)
{
    dyn_conn_t *c = form("POST", "application/x-www-form-urlencoded", "a=1&_method=delete");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "DELETE body=a=1&_method=delete",
                     "the route still reads the body");
    cr_assert_eq(dyn_conn_original_method(c), HTTP_METHOD_POST);
    dyn_test_conn_free(c);
    c = form("POST", "application/x-www-form-urlencoded; charset=utf-8", "_method=PUT");
    cr_assert_str_eq(dyn_test_body(c, NULL), "PUT body=_method=PUT");
    dyn_test_conn_free(c);
    /* Not a form, not POST, not an allowed method: nothing changes. */
    c = form("POST", "application/json", "_method=DELETE");
    cr_assert_str_eq(dyn_test_body(c, NULL), "POST body=_method=DELETE");
    dyn_test_conn_free(c);
    c = form("PUT", "application/x-www-form-urlencoded", "_method=DELETE");
    cr_assert_str_eq(dyn_test_body(c, NULL), "PUT body=_method=DELETE");
    dyn_test_conn_free(c);
    c = form("POST", "application/x-www-form-urlencoded", "_method=GET");
    cr_assert_str_eq(dyn_test_body(c, NULL), "POST body=_method=GET");
    dyn_test_conn_free(c);
}

DY_TEST(plug, method_override_answers_bad_forms)
{
    dyn_conn_t *c = form("POST", "application/x-www-form-urlencoded", "_method=%zz");
    cr_assert_eq(dyn_test_status(c), 400);
    dyn_test_conn_free(c);
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    c = form("POST", "application/x-www-form-urlencoded", big);
    cr_assert_eq(dyn_test_status(c), 413);
    dyn_test_conn_free(c);
}

DY_TEST(plug, logger_writes_one_line_per_request_by_environment)
{
    dy_reports_clear();
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/show");
    dyn_test_put_req_header(c, "x-request-id", "abcdefghij0123456789");
    dyn_test_conn_free(run(&dev, c));
    cr_assert(dy_reported("GET /show -> 200 in "), "%s", dy_reports());
    cr_assert(dy_reported("us [abcdefghij0123456789]"), "%s", dy_reports());

    dy_reports_clear();
    c = dyn_test_conn(HTTP_METHOD_GET, "/q%22x");
    dyn_test_put_req_header(c, "x-request-id", "abcdefghij0123456789");
    dyn_test_conn_free(run(&prod, c));
    cr_assert(dy_reported("level=info method=GET path=/q%22x status=200 duration_us="), "%s",
              dy_reports());
    cr_assert(dy_reported(" request_id=abcdefghij0123456789 dynamo=plugs_prod\n"), "%s",
              dy_reports());

    dy_reports_clear();
    dyn_test_conn_free(run(&test_env, dyn_test_conn(HTTP_METHOD_GET, "/show")));
    cr_assert_str_eq(dy_reports(), "", "the test environment logs warnings and up only");

    /* A crash is logged with its 500 (the error page goes through before-send too). */
    dy_reports_clear();
    dyn_test_conn_free(run(&prod, dyn_test_conn(HTTP_METHOD_GET, "/crash")));
    cr_assert(dy_reported("status=500"), "%s", dy_reports());
    cr_assert(dy_reported("level=error"), "%s", dy_reports());

    /* Silenced sinks get nothing (and the plug formats nothing). */
    act_report_set(act_report_silent, NULL);
    dyn_test_conn_free(run(&dev, dyn_test_conn(HTTP_METHOD_GET, "/show")));
}

DY_TEST(plug, log_values_from_the_request_cannot_forge_lines)
{
    dy_reports_clear();
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/x\ny level=error");
    dyn_test_conn_free(run(&prod, c));
    const char *r = dy_reports();
    cr_assert(strstr(r, "path=\"/x\\x0ay level=error\""), "%s", r);
    cr_assert_eq(strchr(r, '\n'), r + strlen(r) - 1, "one line: %s", r);
}

/* ---- user plugs ---- */

static int counted;
static int count_init(const void *opts, void **state)
{
    *state = (void *)opts;
    counted = 0;
    return 0;
}
static dyn_conn_t *count_call(dyn_conn_t *conn, void *state)
{
    counted += *(const int *)state;
    return dyn_assign_int(conn, "counted", counted);
}
static void count_deinit(void *state)
{
    (void)state;
    counted = -1;
}
static const dyn_plug_t counter = {
    .name = "counter", .init = count_init, .call = count_call, .deinit = count_deinit};

static dyn_conn_t *halt_call(dyn_conn_t *conn, void *state)
{
    (void)state;
    if (dyn_conn_req_header(conn, "x-halt"))
        return dyn_halt(dyn_resp(conn, 403, "halted by plug"));
    return conn;
}
static const dyn_plug_t halter = {.name = "halter", .call = halt_call};

static dyn_conn_t *null_call(dyn_conn_t *conn, void *state)
{
    (void)state;
    return dyn_conn_req_header(conn, "x-null") ? NULL : conn;
}
static const dyn_plug_t nuller = {.name = "nuller", .call = null_call};

static const int five = 5;
static const dyn_plug_spec_t user_plugs[] = {DYN_PLUG(counter, &five), DYN_PLUG(halter, NULL),
                                             DYN_PLUG(nuller, NULL), DYN_PLUG(counter, &five)};
static const dyn_dynamo_t users = {
    .name = "users", .endpoint = &plug_router, DYN_PLUGS(user_plugs), .env = DYN_ENV_TEST};

DY_TEST(plug, user_plugs_run_in_order_halt_and_fail_gently)
{
    dyn_conn_t *c = run(&users, dyn_test_conn(HTTP_METHOD_GET, "/show"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_eq(dyn_value_int(dyn_conn_assign(c, "counted"), 0), 10, "both counters ran");
    dyn_test_conn_free(c);
    cr_assert_eq(counted, -1, "deinit ran when the instance went");

    c = dyn_test_conn(HTTP_METHOD_GET, "/show");
    dyn_test_put_req_header(c, "x-halt", "1");
    c = run(&users, c);
    cr_assert_eq(dyn_test_status(c), 403);
    cr_assert_str_eq(dyn_test_body(c, NULL), "halted by plug");
    cr_assert_eq(dyn_value_int(dyn_conn_assign(c, "counted"), 0), 5,
                 "the second counter is skipped");
    dyn_test_conn_free(c);

    c = dyn_test_conn(HTTP_METHOD_GET, "/show");
    dyn_test_put_req_header(c, "x-null", "1");
    c = run(&users, c);
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_str_eq(dyn_conn_failure(c)->text, "plug nuller returned no conn");
    cr_assert_str_eq(dyn_conn_failure(c)->where, "plug nuller");
    dyn_test_conn_free(c);
}
