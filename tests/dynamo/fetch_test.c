/*
 * Lazy fetching (fetch.h) through the test helpers: nothing read before its fetch, each part
 * parsed once, params merged as Plug merges them, the body parsers picked by media type with
 * 415 and the pass list, the seed's prepare hook fetching for its own routes only, and the
 * session's dispatch to its plug.
 */
#include <string.h>

#include "dyn_util.h"

TestSuite(fetch, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

static dyn_conn_t *post(const char *target, const char *ctype, const char *body)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, target);
    if (ctype)
        dyn_test_put_req_header(c, "content-type", ctype);
    return dyn_test_put_body(c, body, strlen(body));
}

static const char *failure_text(const dyn_conn_t *c)
{
    const dyn_failure_t *f = dyn_conn_failure(c);
    return f ? f->text : "(no failure)";
}

/* Every param as JSON, for whole-shape assertions. */
static dyn_conn_t *show_params(dyn_conn_t *conn)
{
    return dyn_json(conn, 200, dyn_vmap((dyn_map_t *)dyn_conn_params(conn)));
}

static dyn_conn_t *fetch_and_show(dyn_conn_t *conn)
{
    return show_params(dyn_fetch(conn, DYN_FETCH_PARAMS));
}

static dyn_conn_t *read_unfetched(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_param(conn, "q") ? "found" : "absent");
}

static dyn_conn_t *read_path_param(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_param(conn, "id"));
}

static dyn_conn_t *read_cookie_unfetched(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_req_cookie(conn, "theme") ? "found" : "absent");
}

static dyn_conn_t *fetch_twice(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY);
    const dyn_map_t *q = dyn_conn_query_params(conn);
    bool only_query = dyn_fetched(conn, DYN_FETCH_QUERY) && !dyn_fetched(conn, DYN_FETCH_PARAMS);
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS | DYN_FETCH_COOKIES);
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "%d %d %d %s", only_query, q == dyn_conn_query_params(conn),
                                dyn_fetched(conn, DYN_FETCH_PARAMS | DYN_FETCH_COOKIES),
                                dyn_param(conn, "a")));
}

static dyn_conn_t *query_only(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY);
    const char *b = dyn_param(conn, "b"); /* in the body, not fetched: absent, no failure */
    return dyn_resp(conn, 200, dyn_sprintf(conn, "a=%s b=%s", dyn_param(conn, "a"), b ? b : "-"));
}

static dyn_conn_t *body_params_unfetched(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY);
    dyn_conn_body_params(conn);
    return dyn_resp(conn, 200, "unreachable");
}

static dyn_conn_t *bad_bits(dyn_conn_t *conn)
{
    return dyn_fetch(conn, 0x100);
}

static dyn_conn_t *body_then_params(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_BODY | DYN_FETCH_PARAMS);
    const char *body;
    size_t len;
    DY_CHECK(dyn_conn_body(conn, 0, &body, &len) == 0);
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%zu %s", len, dyn_param(conn, "a")));
}

static dyn_conn_t *params_then_body(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    return dyn_fetch(conn, DYN_FETCH_BODY);
}

DYN_ROUTER(fx_router, DYN_GET("/unfetched", read_unfetched), DYN_GET("/path/:id", read_path_param),
           DYN_GET("/cookie", read_cookie_unfetched), DYN_ANY("/show", fetch_and_show),
           DYN_POST("/users/:id", fetch_and_show), DYN_GET("/twice", fetch_twice),
           DYN_POST("/query-only", query_only), DYN_POST("/body-params", body_params_unfetched),
           DYN_GET("/bad-bits", bad_bits), DYN_POST("/body-then-params", body_then_params),
           DYN_POST("/params-then-body", params_then_body));

DY_TEST(fetch, a_query_param_read_before_the_fetch_fails_naming_the_fetch)
{
    dyn_conn_t *c = dy_run(&fx_router, HTTP_METHOD_GET, "/unfetched?q=1");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ENOTFETCHED);
    cr_assert_str_eq(failure_text(c), "param \"q\" read before dyn_fetch(conn, DYN_FETCH_PARAMS)");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, path_params_need_no_fetch)
{
    dyn_conn_t *c = dy_run(&fx_router, HTTP_METHOD_GET, "/path/42");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "42");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, a_cookie_read_before_the_cookies_fetch_fails)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/cookie");
    dyn_test_put_req_header(c, "cookie", "theme=dark");
    c = dyn_test_run(&fx_router, c);
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ENOTFETCHED);
    cr_assert_str_eq(failure_text(c),
                     "cookie \"theme\" read before dyn_fetch(conn, DYN_FETCH_COOKIES)");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, each_part_is_fetched_once_and_cached)
{
    dyn_conn_t *c = dy_run(&fx_router, HTTP_METHOD_GET, "/twice?a=1");
    cr_assert_str_eq(dyn_test_body(c, NULL), "1 1 1 1");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, a_query_fetch_leaves_the_body_alone)
{
    dyn_conn_t *c = dyn_test_run(
        &fx_router, post("/query-only?a=q", "application/x-www-form-urlencoded", "b=2"));
    cr_assert_str_eq(dyn_test_body(c, NULL), "a=q b=-");
    dyn_test_conn_free(c);
    c = dyn_test_run(&fx_router, post("/body-params", "application/x-www-form-urlencoded", "b=2"));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_str_eq(failure_text(c),
                     "the body parameters read before dyn_fetch(conn, DYN_FETCH_PARAMS)");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, unknown_parts_are_a_programming_error)
{
    dyn_conn_t *c = dy_run(&fx_router, HTTP_METHOD_GET, "/bad-bits");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, ACT_EBADARG);
    dyn_test_conn_free(c);
}

DY_TEST(fetch, path_params_win_over_the_body_which_wins_over_the_query)
{
    dyn_conn_t *c = dyn_test_run(&fx_router, post("/users/7?id=q&name=qn&only_q=1&user[a]=q",
                                                  "application/x-www-form-urlencoded",
                                                  "id=b&name=bn&only_b=2&user[b]=b"));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    /* Shallow merges, as Plug's: the body's "user" replaces the query's whole. */
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"id\":\"7\",\"name\":\"bn\",\"only_q\":\"1\","
                                             "\"user\":{\"b\":\"b\"},\"only_b\":\"2\"}");
    dyn_test_conn_free(c);
}

/* The same precedence when the fetch runs before routing (an endpoint plug). */
static dyn_conn_t *fetch_plug_call(dyn_conn_t *conn, void *state)
{
    (void)state;
    return dyn_fetch(conn, DYN_FETCH_PARAMS);
}
static const dyn_plug_t fetch_plug = {.name = "fetch_params", .call = fetch_plug_call};
static const dyn_plug_spec_t fetch_plugs[] = {DYN_PLUG(fetch_plug, NULL)};
static const dyn_dynamo_t fetching_dynamo = {
    .name = "fetching", .endpoint = &fx_router, .env = DYN_ENV_TEST, DYN_PLUGS(fetch_plugs)};

DY_TEST(fetch, path_params_win_when_the_fetch_runs_before_routing)
{
    dyn_conn_t *c = dyn_test_run_dynamo(
        &fetching_dynamo,
        post("/users/7?id=q&x=1", "application/x-www-form-urlencoded", "id=b&name=bn"));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"id\":\"7\",\"x\":\"1\",\"name\":\"bn\"}");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, bodies_are_parsed_for_post_put_patch_delete_only)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/show?a=1");
    dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
    dyn_test_put_body(c, "b=2", 3);
    c = dyn_test_run(&fx_router, c);
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"a\":\"1\"}");
    dyn_test_conn_free(c);
    static const http_method_t with_body[] = {HTTP_METHOD_PUT, HTTP_METHOD_PATCH,
                                              HTTP_METHOD_DELETE};
    for (size_t i = 0; i < 3; i++) {
        c = dyn_test_conn(with_body[i], "/show");
        dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
        dyn_test_put_body(c, "b=2", 3);
        c = dyn_test_run(&fx_router, c);
        cr_assert_str_eq(dyn_test_body(c, NULL), "{\"b\":\"2\"}");
        dyn_test_conn_free(c);
    }
}

DY_TEST(fetch, a_body_without_content_type_is_no_params)
{
    dyn_conn_t *c = dyn_test_run(&fx_router, post("/show", NULL, "b=2"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "{}");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, unknown_media_types_get_415_unless_passed)
{
    dyn_conn_t *c = dyn_test_run(&fx_router, post("/show", "text/csv", "a,b"));
    cr_assert_eq(dyn_test_status(c), 415);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ERAISED);
    cr_assert(strstr(failure_text(c), "text/csv"));
    dyn_test_conn_free(c);
    c = dyn_test_run(&fx_router, post("/show", "what ever", "x"));
    cr_assert_eq(dyn_test_status(c), 415);
    dyn_test_conn_free(c);

    static const char *const pass[] = {"text/*", "application/octet-stream", NULL};
    static const dyn_dynamo_t passing = {.name = "passing",
                                         .endpoint = &fx_router,
                                         .env = DYN_ENV_TEST,
                                         .dyn_limits = {.pass = pass}};
    c = dyn_test_run_dynamo(&passing, post("/show?a=1", "text/csv; charset=utf-8", "a,b"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"a\":\"1\"}");
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&passing, post("/show", "Application/Octet-Stream", "\x01"));
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&passing, post("/show", "image/png", "\x89PNG"));
    cr_assert_eq(dyn_test_status(c), 415);
    dyn_test_conn_free(c);

    static const char *const all[] = {"*/*", NULL};
    static const dyn_dynamo_t passing_all = {.name = "passing_all",
                                             .endpoint = &fx_router,
                                             .env = DYN_ENV_TEST,
                                             .dyn_limits = {.pass = all}};
    c = dyn_test_run_dynamo(&passing_all, post("/show", "image/png", "\x89PNG"));
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
}

DY_TEST(fetch, urlencoded_bodies_have_their_limits_and_encodings)
{
    static const dyn_dynamo_t small = {.name = "small",
                                       .endpoint = &fx_router,
                                       .env = DYN_ENV_TEST,
                                       .dyn_limits = {.max_form_size = 8, .max_params = 2}};
    const char *form = "application/x-www-form-urlencoded";
    dyn_conn_t *c = dyn_test_run_dynamo(&small, post("/show", form, "a=1&b=22"));
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&small, post("/show", form, "a=1&b=223"));
    cr_assert_eq(dyn_test_status(c), 413);
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&small, post("/show", form, "a&b&c"));
    cr_assert_eq(dyn_test_status(c), 413);
    dyn_test_conn_free(c);
    c = dyn_test_run(&fx_router, post("/show", form, "a=%zz"));
    cr_assert_eq(dyn_test_status(c), 400);
    dyn_test_conn_free(c);
    c = dyn_test_run(&fx_router, post("/show", form, "a=%C3%28"));
    cr_assert_eq(dyn_test_status(c), 400);
    dyn_test_conn_free(c);
    c = dy_run(&fx_router, HTTP_METHOD_GET, "/show?a=%");
    cr_assert_eq(dyn_test_status(c), 400);
    cr_assert(strstr(failure_text(c), "query string"));
    dyn_test_conn_free(c);
    /* The form's charset parameter and case do not matter. */
    c = dyn_test_run(&fx_router,
                     post("/show", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "a=1"));
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"a\":\"1\"}");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, the_body_fetched_whole_is_kept_and_parsed_from_memory)
{
    dyn_conn_t *c = dyn_test_run(
        &fx_router, post("/body-then-params", "application/x-www-form-urlencoded", "a=x"));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "3 x");
    dyn_test_conn_free(c);
    const char *mp = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ny\r\n--XX--\r\n";
    c = dyn_test_run(&fx_router, post("/body-then-params", "multipart/form-data; boundary=XX", mp));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), dyn_sprintf(c, "%zu y", strlen(mp)));
    dyn_test_conn_free(c);
    /* A multipart body streamed to its parts cannot be had whole afterwards. */
    c = dyn_test_run(&fx_router, post("/params-then-body", "multipart/form-data; boundary=XX", mp));
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(strstr(failure_text(c), "fetch DYN_FETCH_BODY first"), "%s", failure_text(c));
    dyn_test_conn_free(c);
}

/* Method override read the form first: the params fetch parses the kept body. */
static const dyn_plug_spec_t override_plugs[] = {DYN_PLUG(dyn_plug_method_override, NULL)};
DYN_ROUTER(fx_override_router, DYN_PUT("/thing", fetch_and_show));
static const dyn_dynamo_t override_dynamo = {.name = "override",
                                             .endpoint = &fx_override_router,
                                             .env = DYN_ENV_TEST,
                                             DYN_PLUGS(override_plugs)};

DY_TEST(fetch, params_after_method_override_come_from_the_kept_body)
{
    dyn_conn_t *c =
        dyn_test_run_dynamo(&override_dynamo, post("/thing", "application/x-www-form-urlencoded",
                                                   "_method=PUT&name=x"));
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "{\"_method\":\"PUT\",\"name\":\"x\"}");
    dyn_test_conn_free(c);
}

/* ---- the seed's prepare hook: a router fetches for its own routes only ---- */

static dyn_conn_t *fetch_stuff(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_PARAMS);
}

static dyn_conn_t *recent(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "recent page=%s theme=%s", dyn_param(conn, "page"),
                                dyn_req_cookie(conn, "theme")));
}

static dyn_conn_t *plain(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_fetched(conn, DYN_FETCH_PARAMS) ? "fetched" : "nothing fetched");
}

DYN_ROUTER(fx_posts_router, DYN_PREPARE(fetch_stuff), DYN_GET("/recent", recent));
DYN_ROUTER(fx_app_router, DYN_FORWARD("/posts", &fx_posts_router), DYN_GET("/", plain));

DY_TEST(fetch, a_prepare_hook_fetches_for_its_routers_routes_only)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/posts/recent?page=2");
    dyn_test_put_req_header(c, "cookie", "theme=dark; x=1");
    c = dyn_test_run(&fx_app_router, c);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "recent page=2 theme=dark");
    dyn_test_conn_free(c);
    c = dy_run(&fx_app_router, HTTP_METHOD_GET, "/?page=2");
    cr_assert_str_eq(dyn_test_body(c, NULL), "nothing fetched");
    dyn_test_conn_free(c);
}

/* ---- the session's dispatch ---- */

static int session_calls;

static dyn_conn_t *fake_session_fetch(dyn_conn_t *conn)
{
    session_calls++;
    DY_CHECK(dyn_fetched(conn, DYN_FETCH_COOKIES));
    DY_CHECK(dyn_fetched(conn, DYN_FETCH_SESSION)); /* marked before the call */
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);      /* a nested fetch returns at once */
    return dyn_assign_str(conn, "user", dyn_req_cookie(conn, "user"));
}

static dyn_conn_t *fake_session_call(dyn_conn_t *conn, void *state)
{
    (void)state;
    return dyn_put_private(conn, "dynamo.session_fetcher",
                           dyn_vptr(dyn_conn_arena(conn), (void *)fake_session_fetch, NULL));
}
static const dyn_plug_t fake_session = {.name = "fake_session", .call = fake_session_call};

static dyn_conn_t *with_session(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    conn = dyn_fetch(conn, DYN_FETCH_SESSION | DYN_FETCH_PARAMS);
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "user=%s calls=%d",
                                dyn_value_str(dyn_conn_assign(conn, "user"), "?"), session_calls));
}

DYN_ROUTER(fx_session_router, DYN_GET("/", with_session));
static const dyn_plug_spec_t session_plugs[] = {DYN_PLUG(fake_session, NULL)};
static const dyn_dynamo_t session_dynamo = {.name = "sessions",
                                            .endpoint = &fx_session_router,
                                            .env = DYN_ENV_TEST,
                                            DYN_PLUGS(session_plugs)};

DY_TEST(fetch, the_session_fetch_calls_the_session_plugs_fetcher_once)
{
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/");
    dyn_test_put_req_header(c, "cookie", "user=jose");
    c = dyn_test_run_dynamo(&session_dynamo, c);
    cr_assert_eq(dyn_test_status(c), 200, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "user=jose calls=1");
    dyn_test_conn_free(c);
}

DY_TEST(fetch, the_session_fetch_without_the_session_plug_fails_clearly)
{
    dyn_conn_t *c = dy_run(&fx_session_router, HTTP_METHOD_GET, "/");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ENOTFETCHED);
    cr_assert_str_eq(failure_text(c), "session fetched without dyn_plug_session in the endpoint");
    dyn_test_conn_free(c);
}
