/*
 * CSRF protection and secure headers through the test helpers: a form page hands out masked
 * tokens, unsafe methods need one (field or header) matching the session's, everything else
 * is a 403; and the secure-headers plug's defaults and options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dyn_util.h"
#include "dynamo/csrf.h"
#include "dynamo/fetch.h"
#include "dynamo/secure_headers.h"
#include "dynamo/session.h"

TestSuite(csrf, .init = dy_init, .fini = dy_fini, .timeout = TMO(60));

#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static dyn_conn_t *form(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    const char *a = dyn_csrf_token(conn), *b = dyn_csrf_token(conn);
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%s %s %s", a, b, dyn_csrf_input(conn)));
}

static dyn_conn_t *posted(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "posted");
}

static dyn_conn_t *login(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    conn = dyn_csrf_delete_token(dyn_session_renew(conn));
    return dyn_resp(conn, 200, "logged in");
}

static dyn_conn_t *script(dyn_conn_t *conn)
{
    dyn_put_resp_content_type(conn, "text/javascript", NULL);
    return dyn_resp(conn, 200, "alert(1)");
}

static dyn_conn_t *count(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%zu", dyn_map_len(dyn_session(conn))));
}

DYN_ROUTER(csrf_router, DYN_GET("/form", form), DYN_POST("/posts", posted),
           DYN_PUT("/posts", posted), DYN_PATCH("/posts", posted), DYN_DELETE("/posts", posted),
           DYN_OPTIONS("/posts", posted), DYN_POST("/login", login), DYN_GET("/app.js", script),
           DYN_POST("/count", count));

static const dyn_session_opts_t session_opts = {.key = "_s"};
static dyn_csrf_opts_t csrf_opts;
static const dyn_plug_spec_t plugs[] = {DYN_PLUG(dyn_plug_session, &session_opts),
                                        DYN_PLUG(dyn_plug_csrf, &csrf_opts)};
static const dyn_dynamo_t app = {.name = "csrf",
                                 .endpoint = &csrf_router,
                                 .env = DYN_ENV_TEST,
                                 .secret = SECRET,
                                 DYN_PLUGS(plugs)};

static char jar[4096];

typedef struct res {
    int status;
    char body[1024];
} res_t;

static res_t request(http_method_t m, const char *target, const char *token_field,
                     const char *token_header)
{
    dyn_conn_t *c = dyn_test_conn(m, target);
    if (jar[0])
        dyn_test_put_req_header(c, "cookie", dyn_sprintf(c, "_s=%s", jar));
    if (token_header)
        dyn_test_put_req_header(c, "x-csrf-token", token_header);
    if (token_field) {
        const char *body = dyn_sprintf(c, "title=hi&_csrf_token=%s", token_field);
        dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
        dyn_test_put_body(c, body, strlen(body));
    }
    c = dyn_test_run_dynamo(&app, c);
    res_t r = {.status = dyn_test_status(c)};
    snprintf(r.body, sizeof r.body, "%s", dyn_test_body(c, NULL));
    size_t n;
    const http_header_t *h = dyn_conn_resp_headers(c, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, "set-cookie") == 0 && strncmp(h[i].value, "_s=", 3) == 0) {
            const char *v = h[i].value + 3;
            snprintf(jar, sizeof jar, "%.*s", (int)(strchr(v, ';') - v), v);
        }
    dyn_test_conn_free(c);
    return r;
}

/* Loads the form: returns the first of its tokens (the others are checked alike). */
static char *page_token(void)
{
    res_t r = request(HTTP_METHOD_GET, "/form", NULL, NULL);
    cr_assert_eq(r.status, 200);
    char a[128], b[128];
    cr_assert_eq(sscanf(r.body, "%127s %127s", a, b), 2);
    cr_assert_eq(strlen(a), 86);
    cr_assert_str_neq(a, b, "each call masks the token afresh");
    cr_assert(strstr(r.body, "<input type=\"hidden\" name=\"_csrf_token\" value=\""));
    return strdup(a);
}

DY_TEST(csrf, a_form_token_lets_unsafe_methods_through)
{
    char *t = page_token();
    cr_assert(jar[0], "the token was put in the session");
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", t, NULL).status, 200);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", NULL, t).status, 200);
    cr_assert_eq(request(HTTP_METHOD_PUT, "/posts", NULL, t).status, 200);
    cr_assert_eq(request(HTTP_METHOD_PATCH, "/posts", NULL, t).status, 200);
    cr_assert_eq(request(HTTP_METHOD_DELETE, "/posts", NULL, t).status, 200);
    /* a second page's token is as good: same session token, another mask */
    char *t2 = page_token();
    cr_assert_str_neq(t, t2);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", t2, NULL).status, 200);
    free(t);
    free(t2);
}

DY_TEST(csrf, missing_or_wrong_tokens_are_403)
{
    char *t = page_token();
    res_t r = request(HTTP_METHOD_POST, "/posts", NULL, NULL);
    cr_assert_eq(r.status, 403);
    cr_assert_null(strstr(r.body, "posted"), "the route never ran");
    cr_assert_eq(request(HTTP_METHOD_DELETE, "/posts", NULL, NULL).status, 403);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", "", NULL).status, 403);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", "garbage", NULL).status, 403);
    /* one character off, anywhere */
    for (size_t i = 0; i < 86; i += 9) {
        char bad[87];
        memcpy(bad, t, 87);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        cr_assert_eq(request(HTTP_METHOD_POST, "/posts", NULL, bad).status, 403, "at %zu", i);
    }
    /* the unmasked token itself is not accepted, nor a token twice as long */
    char doubled[200];
    snprintf(doubled, sizeof doubled, "%s%s", t, t);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", NULL, doubled).status, 403);
    /* another session's token */
    char mine[4096];
    snprintf(mine, sizeof mine, "%s", jar);
    jar[0] = '\0';
    char *other = page_token();
    snprintf(jar, sizeof jar, "%s", mine);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", other, NULL).status, 403);
    /* no session at all */
    jar[0] = '\0';
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", t, NULL).status, 403);
    /* safe methods need nothing */
    cr_assert_eq(request(HTTP_METHOD_OPTIONS, "/posts", NULL, NULL).status, 200);
    free(t);
    free(other);
}

DY_TEST(csrf, deleting_the_token_on_login_invalidates_older_ones)
{
    char *t = page_token();
    cr_assert_eq(request(HTTP_METHOD_POST, "/login", t, NULL).status, 200);
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", t, NULL).status, 403);
    char *fresh = page_token();
    cr_assert_eq(request(HTTP_METHOD_POST, "/posts", fresh, NULL).status, 200);
    free(t);
    free(fresh);
}

DY_TEST(csrf, clear_session_mode_runs_the_route_with_an_empty_session)
{
    char *t = page_token();
    csrf_opts.clear_session = true;
    res_t r = request(HTTP_METHOD_POST, "/count", "bad", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "0");
    r = request(HTTP_METHOD_POST, "/count", t, NULL);
    cr_assert_str_eq(r.body, "1", "the session was not written back empty");
    free(t);
}

DY_TEST(csrf, javascript_only_for_script_requests)
{
    cr_assert_eq(request(HTTP_METHOD_GET, "/app.js", NULL, NULL).status, 403);
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_GET, "/app.js");
    dyn_test_put_req_header(c, "x-requested-with", "XMLHttpRequest");
    c = dyn_test_run_dynamo(&app, c);
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
    csrf_opts.allow_cross_origin_js = true;
    cr_assert_eq(request(HTTP_METHOD_GET, "/app.js", NULL, NULL).status, 200);
}

static dyn_conn_t *skip_all(dyn_conn_t *conn, void *arg)
{
    (void)arg;
    return dyn_csrf_skip(conn);
}

static const dyn_plug_t skipper = {.name = "skipper", .call = skip_all};
static const dyn_plug_spec_t skip_plugs[] = {DYN_PLUG(skipper, NULL),
                                             DYN_PLUG(dyn_plug_session, &session_opts),
                                             DYN_PLUG(dyn_plug_csrf, NULL)};
static const dyn_dynamo_t skipping = {
    .name = "skip", .endpoint = &csrf_router, .secret = SECRET, DYN_PLUGS(skip_plugs)};

DY_TEST(csrf, tests_may_skip_the_check)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&skipping, dyn_test_conn(HTTP_METHOD_POST, "/posts"));
    cr_assert_eq(dyn_test_status(c), 200);
    dyn_test_conn_free(c);
}

/* ---- secure headers ----------------------------------------------------------------------- */

static dyn_secure_headers_opts_t sh_opts;
static const dyn_plug_spec_t sh_plugs[] = {DYN_PLUG(dyn_plug_secure_headers, &sh_opts)};
static const dyn_dynamo_t sh_app = {.name = "sh", .endpoint = &csrf_router, DYN_PLUGS(sh_plugs)};

static dyn_conn_t *sh_run(void)
{
    return dyn_test_run_dynamo(&sh_app, dyn_test_conn(HTTP_METHOD_GET, "/app.js"));
}

DY_TEST(csrf, secure_headers_defaults_on_every_response)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&sh_app, dyn_test_conn(HTTP_METHOD_GET, "/nothing"));
    cr_assert_eq(dyn_test_status(c), 404);
    cr_assert_str_eq(dyn_get_resp_header(c, "x-frame-options"), "SAMEORIGIN", "error pages too");
    dyn_test_conn_free(c);
    c = sh_run();
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_get_resp_header(c, "x-frame-options"), "SAMEORIGIN");
    cr_assert_str_eq(dyn_get_resp_header(c, "x-content-type-options"), "nosniff");
    cr_assert_str_eq(dyn_get_resp_header(c, "referrer-policy"), "strict-origin-when-cross-origin");
    cr_assert_str_eq(dyn_get_resp_header(c, "x-permitted-cross-domain-policies"), "none");
    cr_assert_str_eq(dyn_get_resp_header(c, "x-download-options"), "noopen");
    cr_assert_str_eq(dyn_get_resp_header(c, "content-security-policy"),
                     "base-uri 'self'; frame-ancestors 'self'");
    dyn_test_conn_free(c);
}

DY_TEST(csrf, secure_headers_options)
{
    sh_opts.headers = (const dyn_header_pair_t[]){
        {"X-Frame-Options", "DENY"},
        {"content-security-policy", NULL},
        {"strict-transport-security", "max-age=31536000; includeSubDomains"},
        {NULL, NULL}};
    dyn_conn_t *c = sh_run();
    cr_assert_str_eq(dyn_get_resp_header(c, "x-frame-options"), "DENY");
    cr_assert_null(dyn_get_resp_header(c, "content-security-policy"));
    cr_assert_str_eq(dyn_get_resp_header(c, "strict-transport-security"),
                     "max-age=31536000; includeSubDomains");
    cr_assert_str_eq(dyn_get_resp_header(c, "x-content-type-options"), "nosniff");
    dyn_test_conn_free(c);
    sh_opts.no_defaults = true;
    c = sh_run();
    cr_assert_null(dyn_get_resp_header(c, "x-content-type-options"));
    cr_assert_str_eq(dyn_get_resp_header(c, "x-frame-options"), "DENY");
    dyn_test_conn_free(c);
}

DY_TEST(csrf, secure_headers_refuse_a_bad_header_at_start)
{
    sh_opts.headers = (const dyn_header_pair_t[]){{"x-evil", "a\r\nset-cookie: x=1"}, {NULL, NULL}};
    cr_assert_eq(dyn_start_link(&sh_app, NULL), ACT_ECHILDSTART);
}
