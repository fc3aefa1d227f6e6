/*
 * The examples of docs/params.md, compiled and run: each block of the guide is a function
 * here, word for word, and each test checks that it does what the guide says.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dyn_util.h"

TestSuite(guide_params, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

/* ---- guide: fetching in a prepare hook ---- */

static dyn_conn_t *fetch_stuff(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_PARAMS);
}

static dyn_conn_t *recent(dyn_conn_t *conn)
{
    const char *order = dyn_param(conn, "order"); /* ?order=asc, or NULL */
    return dyn_resp(conn, 200, dyn_sprintf(conn, "recent posts, %s", order ? order : "newest"));
}

DYN_ROUTER(guide_posts_router, DYN_PREPARE(fetch_stuff), DYN_GET("/recent", recent));

/* ---- guide: typed reads ---- */

static dyn_conn_t *list_posts(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY);
    int64_t page = 1;
    int rc = dyn_param_int(conn, "page", &page);
    if ((rc != 0 && rc != -ENOENT) || page < 1)
        dyn_raise(conn, 400, "page must be a positive integer");
    return dyn_resp(conn, 200, dyn_sprintf(conn, "page %lld", (long long)page));
}

/* ---- guide: nested params, from a form or from JSON ---- */

static dyn_conn_t *create_user(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    const char *name = dyn_param(conn, "user[name]");
    const dyn_value_t *langs = dyn_param_value(conn, "user[langs]");
    if (!name || !langs || langs->type != DYN_V_LIST)
        dyn_raise(conn, 422, "user[name] and user[langs][] are required");
    return dyn_resp(conn, 201,
                    dyn_sprintf(conn, "%s speaks %zu languages", name, dyn_list_len(langs->l)));
}

/* ---- guide: uploads ---- */

static const char *avatars_dir = "/tmp";

static dyn_conn_t *upload_avatar(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_PARAMS);
    const dyn_upload_t *avatar = dyn_param_upload(conn, "avatar");
    if (!avatar)
        dyn_raise(conn, 422, "no avatar");
    if (!avatar->content_type || strcmp(avatar->content_type, "image/png") != 0)
        dyn_raise(conn, 415, "avatars are PNG images");
    /* The file goes when the request ends; keep a copy under a name we choose. */
    char *dest = dyn_sprintf(conn, "%s/avatar-%s.png", avatars_dir, dyn_param(conn, "id"));
    int rc = dyn_upload_save(avatar, dest);
    if (rc)
        act_failf(rc, "saving %s: %s", dest, dyn_strerror(rc));
    return dyn_resp(conn, 201, dyn_sprintf(conn, "%llu bytes", (unsigned long long)avatar->size));
}

/* ---- guide: JSON responses ---- */

static dyn_conn_t *show_user(dyn_conn_t *conn)
{
    dyn_arena_t *a = dyn_conn_arena(conn);
    dyn_map_t *user = dyn_map_new(a);
    dyn_map_put(user, "id", dyn_vint(42));
    dyn_map_put(user, "name", dyn_vstr("José"));
    dyn_list_t *langs = dyn_list_new(a, 2);
    dyn_list_push(langs, dyn_vstr("c"));
    dyn_list_push(langs, dyn_vstr("erlang"));
    dyn_map_put(user, "langs", dyn_vlist(langs));
    return dyn_json(conn, 200, dyn_vmap(user));
}

/* ---- guide: cookies ---- */

static dyn_conn_t *set_theme(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_PARAMS);
    const char *theme = dyn_param(conn, "theme");
    if (!theme)
        return dyn_resp(conn, 200, dyn_sprintf(conn, "theme: %s", dyn_req_cookie(conn, "theme")));
    if (strcmp(theme, "none") == 0)
        conn = dyn_delete_resp_cookie(conn, "theme", NULL);
    else
        conn = dyn_put_resp_cookie(conn, "theme", theme,
                                   &(dyn_cookie_opts_t){.max_age = 365 * 86400, .secure = true});
    return dyn_redirect_status(conn, 303, "/");
}

DYN_ROUTER(guide_router, DYN_FORWARD("/posts", &guide_posts_router), DYN_GET("/list", list_posts),
           DYN_POST("/users", create_user), DYN_POST("/users/:id/avatar", upload_avatar),
           DYN_GET("/users/42", show_user), DYN_ANY("/theme", set_theme));

/* ---- guide: a Dynamo's limits and pages ---- */

static dyn_conn_t *too_large(dyn_conn_t *conn)
{
    const dyn_failure_t *f = dyn_conn_failure(conn);
    conn = dyn_put_resp_content_type(conn, "text/plain", "utf-8");
    return dyn_resp(conn, 413, dyn_sprintf(conn, "Too large: %s", f ? f->text : "the body"));
}

static const dyn_error_page_t guide_pages[] = {{413, too_large}, {0, NULL}};
static const char *const guide_pass[] = {"text/plain", NULL};

static const dyn_dynamo_t guide_dynamo = {
    .name = "guide",
    .endpoint = &guide_router,
    .env = DYN_ENV_TEST,
    .limits = {.max_body_size = 20u << 20}, /* the HTTP server's cap on any body */
    .dyn_limits =
        {
            .max_file_size = 10u << 20, /* one uploaded file */
            .max_files = 4,
            .max_form_size = 64 << 10, /* an urlencoded form */
            .upload_dir = "/tmp",
            .pass = guide_pass, /* text/plain bodies reach the routes unparsed */
        },
    .error_pages = guide_pages,
};

/* ---- the tests ---- */

static const char *failure_text(const dyn_conn_t *c)
{
    return dyn_conn_failure(c) ? dyn_conn_failure(c)->text : "";
}

DY_TEST(guide_params, the_prepare_hook_fetches_for_the_posts_router)
{
    dyn_conn_t *c = dy_run(&guide_router, HTTP_METHOD_GET, "/posts/recent?order=asc");
    cr_assert_str_eq(dyn_test_body(c, NULL), "recent posts, asc");
    dyn_test_conn_free(c);
}

DY_TEST(guide_params, typed_reads_answer_400_for_a_bad_page)
{
    dyn_conn_t *c = dy_run(&guide_router, HTTP_METHOD_GET, "/list?page=3");
    cr_assert_str_eq(dyn_test_body(c, NULL), "page 3");
    dyn_test_conn_free(c);
    c = dy_run(&guide_router, HTTP_METHOD_GET, "/list");
    cr_assert_str_eq(dyn_test_body(c, NULL), "page 1");
    dyn_test_conn_free(c);
    c = dy_run(&guide_router, HTTP_METHOD_GET, "/list?page=two");
    cr_assert_eq(dyn_test_status(c), 400);
    dyn_test_conn_free(c);
}

DY_TEST(guide_params, nested_params_from_a_form_and_from_json)
{
    const char *form = "user[name]=Ann&user[langs][]=c&user[langs][]=erlang";
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/users");
    dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
    c = dyn_test_run_dynamo(&guide_dynamo, dyn_test_put_body(c, form, strlen(form)));
    cr_assert_str_eq(dyn_test_body(c, NULL), "Ann speaks 2 languages", "%s", failure_text(c));
    dyn_test_conn_free(c);
    const char *json = "{\"user\":{\"name\":\"Ann\",\"langs\":[\"c\",\"erlang\",\"js\"]}}";
    c = dyn_test_conn(HTTP_METHOD_POST, "/users");
    dyn_test_put_req_header(c, "content-type", "application/json");
    c = dyn_test_run_dynamo(&guide_dynamo, dyn_test_put_body(c, json, strlen(json)));
    cr_assert_str_eq(dyn_test_body(c, NULL), "Ann speaks 3 languages");
    dyn_test_conn_free(c);
}

DY_TEST(guide_params, an_upload_is_saved_under_its_new_name)
{
    const char body[] =
        "--b\r\nContent-Disposition: form-data; name=\"avatar\"; "
        "filename=\"me.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n";
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/users/guide-test/avatar");
    dyn_test_put_req_header(c, "content-type", "multipart/form-data; boundary=b");
    c = dyn_test_run_dynamo(&guide_dynamo, dyn_test_put_body(c, body, sizeof body - 1));
    cr_assert_eq(dyn_test_status(c), 201, "%s", failure_text(c));
    cr_assert_str_eq(dyn_test_body(c, NULL), "4 bytes");
    dyn_test_conn_free(c);
    cr_assert_eq(access("/tmp/avatar-guide-test.png", F_OK), 0);
    unlink("/tmp/avatar-guide-test.png");
}

DY_TEST(guide_params, json_and_cookies)
{
    dyn_conn_t *c = dy_run(&guide_router, HTTP_METHOD_GET, "/users/42");
    cr_assert_str_eq(dyn_test_body(c, NULL),
                     "{\"id\":42,\"name\":\"José\",\"langs\":[\"c\",\"erlang\"]}");
    dyn_test_conn_free(c);
    c = dy_run(&guide_router, HTTP_METHOD_POST, "/theme?theme=dark");
    cr_assert_eq(dyn_test_status(c), 303);
    cr_assert(strstr(dyn_get_resp_header(c, "set-cookie"), "theme=dark; Path=/; Expires="));
    dyn_test_conn_free(c);
    c = dyn_test_conn(HTTP_METHOD_GET, "/theme");
    dyn_test_put_req_header(c, "cookie", "theme=dark");
    c = dyn_test_run(&guide_router, c);
    cr_assert_str_eq(dyn_test_body(c, NULL), "theme: dark");
    dyn_test_conn_free(c);
}

DY_TEST(guide_params, limits_and_the_custom_413_page)
{
    char form[70000];
    memset(form, 'x', sizeof form - 1);
    memcpy(form, "a=", 2);
    form[sizeof form - 1] = '\0';
    dyn_conn_t *c = dyn_test_conn(HTTP_METHOD_POST, "/users");
    dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
    c = dyn_test_run_dynamo(&guide_dynamo, dyn_test_put_body(c, form, strlen(form)));
    cr_assert_eq(dyn_test_status(c), 413);
    cr_assert_str_eq(dyn_test_body(c, NULL), "Too large: urlencoded body: larger than allowed");
    dyn_test_conn_free(c);
    c = dyn_test_conn(HTTP_METHOD_POST, "/users");
    dyn_test_put_req_header(c, "content-type", "text/plain");
    c = dyn_test_run_dynamo(&guide_dynamo, dyn_test_put_body(c, "hi", 2));
    cr_assert_eq(dyn_test_status(c), 422); /* passed unparsed: no user[name] */
    dyn_test_conn_free(c);
}
