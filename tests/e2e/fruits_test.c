/*
 * apps/fruits, the README's template example: the list inside its layout, through the test
 * helpers and through real sockets against the fruits binary; `?extra=` comes back escaped
 * whatever it holds (a script, an attribute breakout, an event handler, ill-formed UTF-8).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client_util.h"
#include "dynamo/test.h"
#include "fruits.h"
#include "proc_util.h"

TestSuite(fruits, .timeout = TMO(60));

static const char list[] = "<ul>\n"
                           "  <li><a href=\"/fruit/0\">Apple</a></li>\n"
                           "  <li><a href=\"/fruit/1\">Orange</a></li>\n"
                           "  <li><a href=\"/fruit/2\">Banana</a></li>\n";

/* Payloads for ?extra= (percent-encoded) and what the page must show for them. */
static const struct {
    const char *query;
    const char *shown;
} extras[] = {
    {"%3Cscript%3Ealert(1)%3C/script%3E", "&lt;script&gt;alert(1)&lt;/script&gt;"},
    {"x%22%20onmouseover=%22alert(1)", "x&quot; onmouseover=&quot;alert(1)"},
    {"%3Cimg%20src=x%20onerror=alert(1)%3E", "&lt;img src=x onerror=alert(1)&gt;"},
    {"%27%3E%3C/a%3E%3Cscript%3E", "&#39;&gt;&lt;/a&gt;&lt;script&gt;"},
    {"Kiwi", "Kiwi"},
};
#define NEXTRAS (sizeof extras / sizeof extras[0])

static void check_page(const char *body, const char *shown)
{
    cr_assert(strstr(body, "<!DOCTYPE html>"), "the layout: %s", body);
    cr_assert(strstr(body, "<title>Fruits</title>"), "%s", body);
    cr_assert(strstr(body, list), "the seed's list: %s", body);
    if (shown) {
        char li[512];
        snprintf(li, sizeof li, "<li><a href=\"/fruit/3\">%s</a></li>", shown);
        cr_assert(strstr(body, li), "wanted %s in %s", li, body);
        cr_assert(strstr(body, "<p>4 fruits."), "%s", body);
    } else {
        cr_assert(strstr(body, "<p>3 fruits."), "%s", body);
    }
    cr_assert_null(strstr(body, "<script>"), "%s", body);
    cr_assert_null(strstr(body, "onerror=alert(1)>"), "%s", body);
}

static int64_t blocks;

static void helpers_init(void)
{
    act_report_set(act_report_silent, NULL);
    blocks = act_mem_live_blocks();
    act_config_t cfg = {.schedulers = 2};
    cr_assert_eq(act_system_start(&cfg), 0);
}

static void helpers_fini(void)
{
    if (act_system_running())
        act_system_stop();
}

Test(fruits, the_list_and_extras_through_the_test_helpers, .init = helpers_init,
     .fini = helpers_fini)
{
    dyn_conn_t *c = dyn_test_run_dynamo(&fruits_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/fruits"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_get_resp_header(c, "content-type"), "text/html; charset=utf-8");
    check_page(dyn_test_body(c, NULL), NULL);
    dyn_test_conn_free(c);
    for (size_t i = 0; i < NEXTRAS; i++) {
        char target[256];
        snprintf(target, sizeof target, "/fruits?extra=%s", extras[i].query);
        c = dyn_test_run_dynamo(&fruits_dynamo, dyn_test_conn(HTTP_METHOD_GET, target));
        cr_assert_eq(dyn_test_status(c), 200, "%s", target);
        check_page(dyn_test_body(c, NULL), extras[i].shown);
        dyn_test_conn_free(c);
    }
    /* Params refuse a value that is not UTF-8 (an overlong '<' here), as Plug's do. */
    c = dyn_test_run_dynamo(&fruits_dynamo,
                            dyn_test_conn(HTTP_METHOD_GET, "/fruits?extra=%C0%BCscript"));
    cr_assert_eq(dyn_test_status(c), 400);
    cr_assert_null(strstr(dyn_test_body(c, NULL), "script"), "%s", dyn_test_body(c, NULL));
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&fruits_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/fruit/1"));
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert(strstr(dyn_test_body(c, NULL), "<title>Orange</title>"));
    dyn_test_conn_free(c);
    c = dyn_test_run_dynamo(&fruits_dynamo, dyn_test_conn(HTTP_METHOD_GET, "/fruit/7"));
    cr_assert_eq(dyn_test_status(c), 404);
    cr_assert(strstr(dyn_test_body(c, NULL), "<h1>No such fruit</h1>"));
    dyn_test_conn_free(c);
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), blocks, "leaked");
}

static proc_t proc;

static void end_fruits(void)
{
    proc_end(&proc);
}

Test(fruits, the_list_and_extras_through_real_sockets, .fini = end_fruits)
{
    char *argv[] = {FRUITS_BIN, "--port", "0", NULL};
    proc_start(&proc, argv);
    char line[256];
    cr_assert(proc_line(&proc, line, sizeof line, MS(10000)), "no output; stderr: %s", proc.errbuf);
    unsigned port = 0;
    cr_assert_eq(sscanf(line, "fruits: serving on http://127.0.0.1:%u", &port), 1, "%s", line);
    hu_conn_t *c = hu_connect((uint16_t)port);
    for (size_t i = 0; i <= NEXTRAS; i++) {
        char req[512];
        snprintf(req, sizeof req, "GET /fruits%s%s HTTP/1.1\r\nHost: localhost\r\n\r\n",
                 i < NEXTRAS ? "?extra=" : "", i < NEXTRAS ? extras[i].query : "");
        cr_assert_eq(hu_send(c, req, -1), 0);
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "no response; stderr: %s", proc.errbuf);
        cr_assert_eq(r.status, 200, "%s: %s", req, r.body);
        cr_assert_str_eq(hu_header(&r, "content-type"), "text/html; charset=utf-8");
        check_page(r.body, i < NEXTRAS ? extras[i].shown : NULL);
        hu_resp_free(&r);
    }
    hu_close(c);
    kill(proc.pid, SIGTERM);
    cr_assert(proc_wait(&proc, MS(10000)), "fruits did not stop");
    cr_assert_eq(proc.status, 0, "exit status %d; stderr: %s", proc.status, proc.errbuf);
}
