/*
 * Routers through the test helpers: the seed's routes (static, dynamic segments, globs, guards,
 * forward with script_name/path_info), hooks in order, halt, the gentle exception, 404 and 405.
 */
#include <string.h>

#include "dyn_util.h"

TestSuite(router, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

/* ---- the seed's application router ---- */

static dyn_conn_t *hello_world(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Hello world");
}

static dyn_conn_t *put_user(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "Got user id: %s", dyn_param(conn, "user_id")));
}

static dyn_conn_t *hello_any(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Match all routes starting with /hello");
}

static bool known_section(dyn_conn_t *conn)
{
    const char *s = dyn_param(conn, "section");
    return strcmp(s, "contact") == 0 || strcmp(s, "about") == 0;
}

static dyn_conn_t *section(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_sprintf(conn, "section %s", dyn_param(conn, "section")));
}

static dyn_conn_t *any_section(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "other section");
}

static dyn_conn_t *files(dyn_conn_t *conn)
{
    const dyn_value_t *v = dyn_param_value(conn, "path");
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "%s (%zu)", dyn_param(conn, "path"),
                                v && v->type == DYN_V_LIST ? dyn_list_len(v->l) : 99));
}

static dyn_conn_t *where(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY); /* "id" is a path param of one route only */
    return dyn_resp(conn, 200,
                    dyn_sprintf(conn, "script_name=%s path_info=%s id=%s",
                                dyn_conn_script_name_str(conn), dyn_conn_path_info_str(conn),
                                dyn_param(conn, "id") ? dyn_param(conn, "id") : "-"));
}

static dyn_conn_t *first(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "first");
}

static dyn_conn_t *second(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "second");
}

DYN_ROUTER(posts_router, DYN_GET("/recent", where), DYN_GET("/", where),
           DYN_POST("/:id/comments", where));

DYN_ROUTER(app_router, DYN_GET("/hello/world", hello_world), DYN_PUT("/users/:user_id", put_user),
           DYN_GET("/hello/*", hello_any),
           DYN_GET("/section/:section", section, DYN_GUARD(known_section)),
           DYN_GET("/section/:other", any_section), DYN_GET("/files/*path", files),
           DYN_FORWARD("/posts", &posts_router), DYN_FORWARD("/users/:id/posts", &posts_router),
           DYN_GET("/order/:x", first), DYN_GET("/order/fixed", second), DYN_ANY("/any", first));

static void expect(http_method_t m, const char *target, int status, const char *body)
{
    dyn_conn_t *c = dy_run(&app_router, m, target);
    cr_assert_eq(dyn_test_status(c), status, "%s %s: status %d, want %d (%s)", http_method_name(m),
                 target, dyn_test_status(c), status, dyn_test_body(c, NULL));
    if (body)
        cr_assert_str_eq(dyn_test_body(c, NULL), body, "%s %s", http_method_name(m), target);
    dyn_test_conn_free(c);
}

DY_TEST(router, static_route_answers)
{
    expect(HTTP_METHOD_GET, "/hello/world", 200, "Hello world");
    expect(HTTP_METHOD_GET, "/hello//world/", 200, "Hello world");
}

DY_TEST(router, dynamic_segment_is_a_decoded_param)
{
    expect(HTTP_METHOD_PUT, "/users/42", 200, "Got user id: 42");
    expect(HTTP_METHOD_PUT, "/users/jos%C3%A9%20v", 200, "Got user id: jos\xC3\xA9 v");
}

DY_TEST(router, glob_matches_the_rest_including_nothing)
{
    expect(HTTP_METHOD_GET, "/hello/there", 200, "Match all routes starting with /hello");
    expect(HTTP_METHOD_GET, "/hello/a/b/c", 200, "Match all routes starting with /hello");
    expect(HTTP_METHOD_GET, "/hello", 200, "Match all routes starting with /hello");
}

DY_TEST(router, named_glob_binds_its_segments)
{
    expect(HTTP_METHOD_GET, "/files/a/b%2Fc/d.txt", 200, "a/b/c/d.txt (3)");
    expect(HTTP_METHOD_GET, "/files", 200, " (0)");
}

DY_TEST(router, guard_failing_falls_through_to_the_next_route)
{
    expect(HTTP_METHOD_GET, "/section/contact", 200, "section contact");
    expect(HTTP_METHOD_GET, "/section/about", 200, "section about");
    expect(HTTP_METHOD_GET, "/section/jobs", 200, "other section");
}

DY_TEST(router, first_declared_route_wins)
{
    expect(HTTP_METHOD_GET, "/order/fixed", 200, "first");
}

DY_TEST(router, forward_moves_the_prefix_to_script_name)
{
    expect(HTTP_METHOD_GET, "/posts/recent", 200, "script_name=/posts path_info=/recent id=-");
    expect(HTTP_METHOD_GET, "/posts", 200, "script_name=/posts path_info=/ id=-");
    expect(HTTP_METHOD_POST, "/users/7/posts/3/comments", 200,
           "script_name=/users/7/posts path_info=/3/comments id=3");
    expect(HTTP_METHOD_GET, "/users/7/posts/recent", 200,
           "script_name=/users/7/posts path_info=/recent id=7");
}

DY_TEST(router, no_route_is_404_and_other_methods_are_405_with_allow)
{
    expect(HTTP_METHOD_GET, "/nothing/here", 404, NULL);
    dyn_conn_t *c = dy_run(&app_router, HTTP_METHOD_DELETE, "/users/42");
    cr_assert_eq(dyn_test_status(c), 405);
    cr_assert_str_eq(dyn_get_resp_header(c, "allow"), "PUT");
    dyn_test_conn_free(c);
    c = dy_run(&app_router, HTTP_METHOD_POST, "/hello/world");
    cr_assert_eq(dyn_test_status(c), 405);
    cr_assert_str_eq(dyn_get_resp_header(c, "allow"), "GET, HEAD");
    dyn_test_conn_free(c);
    /* A forward matches any method: the inner router decides. */
    expect(HTTP_METHOD_DELETE, "/posts/recent", 405, NULL);
    expect(HTTP_METHOD_PATCH, "/any", 200, "first");
}

DY_TEST(router, head_matches_get_routes_without_a_body)
{
    dyn_conn_t *c = dy_run(&app_router, HTTP_METHOD_HEAD, "/hello/world");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "");
    dyn_test_conn_free(c);
}

DY_TEST(router, bad_percent_encoding_is_400)
{
    expect(HTTP_METHOD_GET, "/hello/%zz", 400, NULL);
    expect(HTTP_METHOD_GET, "/users/%00", 400, NULL);
    expect(HTTP_METHOD_GET, "/hello/%4", 400, NULL);
}

/* ---- hooks ---- */

static dyn_conn_t *trace(dyn_conn_t *conn, const char *what)
{
    const dyn_value_t *v = dyn_conn_assign(conn, "trace");
    const char *t = v ? v->s.ptr : "";
    return dyn_assign_str(conn, "trace", dyn_sprintf(conn, "%s%s%s", t, t[0] ? "," : "", what));
}

static dyn_conn_t *outer_prepare(dyn_conn_t *conn)
{
    return trace(conn, "outer_prepare");
}
static dyn_conn_t *outer_finalize(dyn_conn_t *conn)
{
    return trace(conn, "outer_finalize");
}
static dyn_conn_t *inner_prepare(dyn_conn_t *conn)
{
    return trace(conn, "inner_prepare");
}
static dyn_conn_t *inner_finalize(dyn_conn_t *conn)
{
    return trace(conn, "inner_finalize");
}
static dyn_conn_t *route_prepare(dyn_conn_t *conn)
{
    return trace(conn, "route_prepare");
}
static dyn_conn_t *route_finalize(dyn_conn_t *conn)
{
    return trace(conn, "route_finalize");
}
static dyn_conn_t *traced(dyn_conn_t *conn)
{
    return dyn_status(trace(conn, "route"), 200);
}

/* The seed: halts with 400 unless the user_info parameter is there. */
static dyn_conn_t *require_user_info(dyn_conn_t *conn)
{
    if (!dyn_param(dyn_fetch(conn, DYN_FETCH_PARAMS), "user_info"))
        return dyn_halt(dyn_status(conn, 400));
    return conn;
}

static dyn_conn_t *authenticate_user(dyn_conn_t *conn)
{
    if (!dyn_conn_req_header(conn, "x-user"))
        return dyn_halt(dyn_resp(trace(conn, "auth"), 401, "who are you?"));
    return conn;
}

static dyn_conn_t *returns_null(dyn_conn_t *conn)
{
    (void)conn;
    return NULL;
}

static dyn_conn_t *no_response(dyn_conn_t *conn)
{
    return conn;
}

DYN_ROUTER(inner_router, DYN_PREPARE(inner_prepare), DYN_FINALIZE(inner_finalize),
           DYN_GET("/x", traced, .prepare = DYN_HOOKS(route_prepare),
                   .finalize = DYN_HOOKS(route_finalize)),
           DYN_GET("/private/:user_info", traced, .prepare = DYN_HOOKS(require_user_info)));

DYN_ROUTER(hooked_router, DYN_PREPARE(outer_prepare), DYN_FORWARD("/in", &inner_router),
           DYN_GET("/secret", traced, .prepare = DYN_HOOKS(authenticate_user, route_prepare)),
           DYN_GET("/null", returns_null),
           DYN_GET("/null-hook", traced, .prepare = DYN_HOOKS(returns_null)),
           DYN_GET("/nothing", no_response), DYN_FINALIZE(outer_finalize));

DYN_ROUTER(p_router, DYN_GET("/p", traced, .prepare = DYN_HOOKS(require_user_info)));

static const char *trace_of(dyn_conn_t *c)
{
    const dyn_value_t *v = dyn_conn_assign(c, "trace");
    return v ? v->s.ptr : "";
}

DY_TEST(router, hooks_run_outer_to_inner_and_back)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/in/x");
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(trace_of(c), "outer_prepare,inner_prepare,route_prepare,route,"
                                  "route_finalize,inner_finalize,outer_finalize");
    dyn_test_conn_free(c);
}

DY_TEST(router, halt_in_a_route_hook_skips_the_rest_and_sends_its_response)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/secret");
    cr_assert_eq(dyn_test_status(c), 401);
    cr_assert_str_eq(dyn_test_body(c, NULL), "who are you?");
    cr_assert(dyn_conn_halted(c));
    cr_assert_str_eq(trace_of(c), "outer_prepare,auth", "no route, no finalize hooks");
    dyn_test_conn_free(c);
    c = dyn_test_conn(HTTP_METHOD_GET, "/secret");
    dyn_test_put_req_header(c, "X-User", "ann");
    c = dyn_test_run(&hooked_router, c);
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(trace_of(c), "outer_prepare,route_prepare,route,outer_finalize");
    dyn_test_conn_free(c);
}

DY_TEST(router, seed_hook_halts_with_400_without_user_info)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/in/private/yes");
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
    /* No user_info: the hook halts with 400 and an empty body. */
    c = dy_run(&p_router, HTTP_METHOD_GET, "/p");
    cr_assert_eq(dyn_test_status(c), 400);
    cr_assert_str_eq(dyn_test_body(c, NULL), "");
    dyn_test_conn_free(c);
}

DY_TEST(router, route_or_hook_returning_null_is_a_gentle_500)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/null");
    cr_assert_eq(dyn_test_status(c), 500);
    const dyn_failure_t *f = dyn_conn_failure(c);
    cr_assert_not_null(f);
    cr_assert_eq(f->reason, DYN_ENOCONN);
    cr_assert_str_eq(f->text, "route GET /null (returns_null) in router hooked_router returned "
                              "no conn");
    dyn_test_conn_free(c);
    c = dy_run(&hooked_router, HTTP_METHOD_GET, "/null-hook");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert(strstr(dyn_conn_failure(c)->text, "prepare hook returns_null of route GET "
                                                "/null-hook (traced)"),
              "%s", dyn_conn_failure(c)->text);
    dyn_test_conn_free(c);
}

DY_TEST(router, route_without_a_response_is_a_500)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/nothing");
    cr_assert_eq(dyn_test_status(c), 500);
    cr_assert_eq(dyn_conn_failure(c)->reason, DYN_ENORESP);
    dyn_test_conn_free(c);
}

DY_TEST(router, prepare_hooks_run_before_a_404)
{
    dyn_conn_t *c = dy_run(&hooked_router, HTTP_METHOD_GET, "/in/none");
    cr_assert_eq(dyn_test_status(c), 404);
    cr_assert_str_eq(trace_of(c), "outer_prepare,inner_prepare");
    dyn_test_conn_free(c);
}

/* ---- a rejected route's parameters leave params as they were ---- */

static dyn_conn_t *fetch_params(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_PARAMS);
}

static bool never(dyn_conn_t *conn)
{
    (void)conn;
    return false;
}

static dyn_conn_t *echo_section(dyn_conn_t *conn)
{
    const char *s = dyn_param(conn, "section");
    return dyn_resp(conn, 200, dyn_sprintf(conn, "section=%s", s ? s : "-"));
}

DYN_ROUTER(rejecting_router, DYN_GET("/s/:section", section, DYN_GUARD(known_section)),
           DYN_GET("/g/*section", section, DYN_GUARD(never)), DYN_GET("/s/:other", echo_section),
           DYN_GET("/g/*other", echo_section), DYN_GET("/m/:section", echo_section));

/* The params are fetched before routing (by the outer router's hook), so the query's
 * "section" is there when the guards bind their candidate's. */
DYN_ROUTER(fetching_router, DYN_PREPARE(fetch_params), DYN_FORWARD("/in", &rejecting_router));

DY_TEST(router, a_rejected_guard_leaves_a_fetched_param_of_the_same_name)
{
    dyn_conn_t *c = dy_run(&fetching_router, HTTP_METHOD_GET, "/in/s/jobs?section=query");
    cr_assert_str_eq(dyn_test_body(c, NULL), "section=query");
    dyn_test_conn_free(c);
    c = dy_run(&fetching_router, HTTP_METHOD_GET, "/in/g/a/b?section=query");
    cr_assert_str_eq(dyn_test_body(c, NULL), "section=query");
    dyn_test_conn_free(c);
    c = dy_run(&fetching_router, HTTP_METHOD_GET, "/in/s/jobs");
    cr_assert_str_eq(dyn_test_body(c, NULL), "section=-");
    dyn_test_conn_free(c);
    /* The route that matched: its path parameter wins over the query's, as in Plug. */
    c = dy_run(&fetching_router, HTTP_METHOD_GET, "/in/s/about?section=query");
    cr_assert_str_eq(dyn_test_body(c, NULL), "section about");
    dyn_test_conn_free(c);
    c = dy_run(&fetching_router, HTTP_METHOD_GET, "/in/m/path?section=query");
    cr_assert_str_eq(dyn_test_body(c, NULL), "section=path");
    dyn_test_conn_free(c);
}
