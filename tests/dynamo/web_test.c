/*
 * A Dynamo declared with linked web code (dyn_web_t with an endpoint and templates, as
 * dynamo_add_web generates for the test and prod builds): it serves its routes and renders its
 * templates first, tools see its routes, and there is nothing to reload. Web modules, the
 * watcher and the swap are exercised end to end by tests/e2e/reload_test.c.
 */
#include <errno.h>
#include <string.h>

#include "dyn_util.h"
#include "dynamo/template.h"

TestSuite(web, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

DYN_TEMPLATES_DECLARE(tt);

static dyn_conn_t *page(dyn_conn_t *conn)
{
    conn = dyn_assign_str(conn, "title", "linked <web>");
    return dyn_render(conn, "page.html");
}

DYN_ROUTER(linked_router, DYN_GET("/", page), DYN_GET("/again", page));

static const dyn_web_t linked_web = {
    .abi = DYN_WEB_ABI,
    .name = "linked_web",
    .endpoint = &linked_router,
    .templates = &dyn_templates_tt,
};

static const dyn_dynamo_t linked = {.name = "linked", .web = &linked_web, .env = DYN_ENV_DEV};

DY_TEST(web, linked_web_code_serves_its_routes_and_templates_and_does_not_reload)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&linked, dyn_test_conn(HTTP_METHOD_GET, "/"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "<h1>linked &lt;web&gt;</h1>\n");
    dyn_test_conn_free(c);

    cr_assert_eq(dyn_start_link(&linked, NULL), 0);
    dyn_info_t info;
    cr_assert_eq(dyn_info("linked", &info), 0);
    cr_assert_eq(info.routes, 2);
    char *text = NULL;
    cr_assert_eq(dyn_routes_text("linked", &text), 0);
    cr_assert(strstr(text, "/again"), "%s", text);
    act_free(text);
    dyn_reload_info_t ri;
    cr_assert_eq(dyn_reload_info("linked", &ri), 0);
    cr_assert_not(ri.module);
    cr_assert_not(ri.watching);
    cr_assert_eq(ri.version, 0);
    cr_assert_eq(dyn_reload("linked"), -ENOTSUP);
    cr_assert_eq(dyn_reload("nosuch"), DYN_ENODYNAMO);
    cr_assert_eq(dyn_reload_info("nosuch", &ri), DYN_ENODYNAMO);
    cr_assert_eq(dyn_stop("linked", MS(5000)), 0);
}

static const dyn_web_t wrong_abi = {.abi = DYN_WEB_ABI + 1, .endpoint = &linked_router};
static const dyn_web_t no_module = {.abi = DYN_WEB_ABI, .name = "empty"};

DY_TEST(web, a_bad_descriptor_fails_the_start_with_a_reason)
{
    const dyn_dynamo_t abi = {.name = "abi", .web = &wrong_abi};
    cr_assert_eq(dyn_start_link(&abi, NULL), ACT_ECHILDSTART);
    cr_assert(dy_wait_report("made for another framework version", MS(2000)), "%s", dy_reports());
    const dyn_dynamo_t empty = {.name = "empty", .web = &no_module};
    cr_assert_eq(dyn_start_link(&empty, NULL), ACT_ECHILDSTART);
    cr_assert(dy_wait_report("has neither an endpoint nor a module", MS(2000)), "%s", dy_reports());
}
