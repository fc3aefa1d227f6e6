/*
 * apps/hello, the Dynamo README's walk-through: the same table of requests through the test
 * helpers (in process, no socket) and through real sockets against the hello binary, and the
 * exception page in headless Chromium.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "dynamo/test.h"
#include "hello.h"
#include "proc_util.h"

typedef struct exchange {
    const char *method;
    const char *target;
    const char *header; /* "name: value" or NULL */
    const char *body;   /* request body (a form) or NULL */
    int status;
    const char *want;        /* a substring of the response body, or NULL */
    const char *want_header; /* "name: value" the response must carry, or NULL */
} exchange_t;

static const exchange_t table[] = {
    {"GET", "/", NULL, NULL, 200, "<h1>Welcome to Dynamo!</h1>", "x-served-by: application_router"},
    {"GET", "/hello/world", NULL, NULL, 200, "Hello world", NULL},
    {"PUT", "/users/42", NULL, NULL, 200, "Got user id: 42", NULL},
    {"PUT", "/users/jos%C3%A9", NULL, NULL, 200, "Got user id: jos\xC3\xA9", NULL},
    {"GET", "/users/42", NULL, NULL, 401, NULL, NULL},
    {"POST", "/login", "content-type: application/x-www-form-urlencoded", "user_id=", 400,
     "user_id is required", NULL},
    {"DELETE", "/users/42", NULL, NULL, 405, NULL, "allow: GET, HEAD, PUT"},
    {"GET", "/hello/there/and/back", NULL, NULL, 200, "Match all routes starting with /hello",
     NULL},
    {"GET", "/section/about", NULL, NULL, 200, "About us", NULL},
    {"GET", "/section/contact", NULL, NULL, 200, "Contact us", NULL},
    {"GET", "/section/jobs", NULL, NULL, 404, "No route matches GET /section/jobs", NULL},
    {"GET", "/posts/recent", NULL, NULL, 200,
     "Recent posts (script_name /posts, path_info /recent)", NULL},
    {"GET", "/account", NULL, NULL, 400, NULL, NULL},
    {"GET", "/account?user_info=ann", NULL, NULL, 200, "Account of ann", NULL},
    {"POST", "/users/9", "content-type: application/x-www-form-urlencoded", "_method=PUT", 200,
     "Got user id: 9", NULL},
    {"GET", "/oops/now", NULL, NULL, 500, "crash: oops: now", NULL},
    {"GET", "/no/such/page", NULL, NULL, 404, NULL, NULL},
    {"GET", "/bad%zzencoding", NULL, NULL, 400, NULL, NULL},
};
#define NTABLE (sizeof table / sizeof table[0])

static bool header_has(const char *value, const char *want)
{
    return value && strcmp(value, want) == 0;
}

/* ---- through the test helpers ---- */

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

TestSuite(hello, .timeout = TMO(120));

Test(hello, the_readmes_routes_through_the_test_helpers, .init = helpers_init, .fini = helpers_fini)
{
    for (size_t i = 0; i < NTABLE; i++) {
        const exchange_t *x = &table[i];
        dyn_conn_t *c = dyn_test_conn_str(x->method, x->target);
        if (x->header) {
            char name[64];
            const char *colon = strchr(x->header, ':');
            snprintf(name, sizeof name, "%.*s", (int)(colon - x->header), x->header);
            dyn_test_put_req_header(c, name, colon + 2);
        }
        if (x->body)
            dyn_test_put_body(c, x->body, strlen(x->body));
        c = dyn_test_run_dynamo(&hello_dynamo, c);
        cr_assert_eq(dyn_test_status(c), x->status, "%s %s: %d", x->method, x->target,
                     dyn_test_status(c));
        if (x->want)
            cr_assert(strstr(dyn_test_body(c, NULL), x->want), "%s %s: %s", x->method, x->target,
                      dyn_test_body(c, NULL));
        if (x->want_header) {
            char name[64];
            const char *colon = strchr(x->want_header, ':');
            snprintf(name, sizeof name, "%.*s", (int)(colon - x->want_header), x->want_header);
            cr_assert(header_has(dyn_get_resp_header(c, name), colon + 2), "%s %s: %s: %s",
                      x->method, x->target, name, dyn_get_resp_header(c, name));
        }
        dyn_test_conn_free(c);
    }
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), blocks, "leaked");
}

/* The seed's @prepare :authenticate_user reads the session that POST /login fills. */
static dyn_conn_t *run_with_cookie(const char *method, const char *target, const char *cookie,
                                   const char *form)
{
    dyn_conn_t *c = dyn_test_conn_str(method, target);
    if (cookie)
        dyn_test_put_req_header(c, "cookie", cookie);
    if (form) {
        dyn_test_put_req_header(c, "content-type", "application/x-www-form-urlencoded");
        dyn_test_put_body(c, form, strlen(form));
    }
    return dyn_test_run_dynamo(&hello_dynamo, c);
}

/* "name=value" of a Set-Cookie header, into buf. */
static const char *cookie_of(const char *set_cookie, char *buf, size_t len)
{
    cr_assert(set_cookie && strncmp(set_cookie, "_hello_key=", 11) == 0, "set-cookie: %s",
              set_cookie);
    cr_assert(strstr(set_cookie, "HttpOnly"), "%s", set_cookie);
    snprintf(buf, len, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    return buf;
}

Test(hello, login_puts_the_user_in_the_session_that_the_hook_reads, .init = helpers_init,
     .fini = helpers_fini)
{
    dyn_conn_t *c = run_with_cookie("POST", "/login", NULL, "user_id=42");
    cr_assert_eq(dyn_test_status(c), 200, "%s", dyn_test_body(c, NULL));
    char cookie[4096];
    cookie_of(dyn_get_resp_header(c, "set-cookie"), cookie, sizeof cookie);
    dyn_test_conn_free(c);

    c = run_with_cookie("GET", "/users/42", cookie, NULL);
    cr_assert_eq(dyn_test_status(c), 200);
    cr_assert_str_eq(dyn_test_body(c, NULL), "User 42");
    cr_assert_null(dyn_get_resp_header(c, "set-cookie"), "a request that only reads writes none");
    dyn_test_conn_free(c);

    /* A tampered cookie is no session: 401, not an error page. */
    size_t mid = strlen(cookie) / 2 + 6;
    cookie[mid] = cookie[mid] == 'A' ? 'B' : 'A';
    c = run_with_cookie("GET", "/users/42", cookie, NULL);
    cr_assert_eq(dyn_test_status(c), 401);
    dyn_test_conn_free(c);
    c = run_with_cookie("GET", "/users/42", NULL, NULL);
    cr_assert_eq(dyn_test_status(c), 401);
    dyn_test_conn_free(c);
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), blocks, "leaked");
}

/* ---- through real sockets, against the binary ---- */

static proc_t proc;

static uint16_t start_hello(const char *env)
{
    /* prod refuses to start without a secret from the environment (dynamo/config.h). */
    setenv("SECRET_KEY_BASE", "e2e-secret-e2e-secret-e2e-secret-e2e-secret-e2e-secret-e2e-secret",
           1);
    char *argv[] = {HELLO_BIN, "--port", "0", "--env", (char *)env, NULL};
    proc_start(&proc, argv);
    char line[256];
    cr_assert(proc_line(&proc, line, sizeof line, MS(10000)), "no output; stderr: %s", proc.errbuf);
    unsigned port = 0;
    cr_assert_eq(sscanf(line, "hello: serving on http://127.0.0.1:%u", &port), 1, "%s", line);
    return (uint16_t)port;
}

static void stop_hello(void)
{
    kill(proc.pid, SIGTERM);
    cr_assert(proc_wait(&proc, MS(10000)), "hello did not stop");
    cr_assert_eq(proc.status, 0, "exit status %d; stderr: %s", proc.status, proc.errbuf);
    proc_end(&proc);
}

static void end_hello(void)
{
    proc_end(&proc);
}

Test(hello, the_readmes_routes_through_real_sockets, .fini = end_hello)
{
    uint16_t port = start_hello("dev");
    hu_conn_t *c = hu_connect(port);
    for (size_t i = 0; i < NTABLE; i++) {
        const exchange_t *x = &table[i];
        char req[1024];
        if (x->body)
            snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\ncontent-length: %zu\r\n\r\n%s",
                     x->method, x->target, x->header, strlen(x->body), x->body);
        else
            snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s\r\n", x->method,
                     x->target, x->header ? x->header : "", x->header ? "\r\n" : "");
        cr_assert_eq(hu_send(c, req, -1), 0);
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "%s %s: no response; stderr: %s", x->method,
                     x->target, proc.errbuf);
        cr_assert_eq(r.status, x->status, "%s %s: %d", x->method, x->target, r.status);
        if (x->want)
            cr_assert(strstr(r.body, x->want), "%s %s: %s", x->method, x->target, r.body);
        if (x->want_header) {
            char name[64];
            const char *colon = strchr(x->want_header, ':');
            snprintf(name, sizeof name, "%.*s", (int)(colon - x->want_header), x->want_header);
            cr_assert(header_has(hu_header(&r, name), colon + 2), "%s %s: %s", x->method, x->target,
                      r.head);
        }
        cr_assert(hu_header(&r, "x-request-id"), "the request id plug runs");
        hu_resp_free(&r);
    }
    /* Log in, then the hook lets the session's user through. */
    hu_resp_t r;
    cr_assert_eq(hu_send(c,
                         "POST /login HTTP/1.1\r\nHost: x\r\ncontent-type: "
                         "application/x-www-form-urlencoded\r\ncontent-length: 10\r\n\r\n"
                         "user_id=42",
                         -1),
                 0);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    char cookie[4096], req[4200];
    cookie_of(hu_header(&r, "set-cookie"), cookie, sizeof cookie);
    hu_resp_free(&r);
    snprintf(req, sizeof req, "GET /users/42 HTTP/1.1\r\nHost: x\r\ncookie: %s\r\n\r\n", cookie);
    cr_assert_eq(hu_send(c, req, -1), 0);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "User 42");
    hu_resp_free(&r);
    /* HEAD: the GET's headers, no body. */
    cr_assert_eq(hu_send(c, "HEAD /hello/world HTTP/1.1\r\nHost: x\r\n\r\n", -1), 0);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hu_header(&r, "content-length"), "11");
    hu_resp_free(&r);
    hu_close(c);
    stop_hello();
    /* One log line per request, through the node's report sink (stderr). */
    cr_assert(strstr(proc.errbuf, "PUT /users/42 -> 200 in "), "%s", proc.errbuf);
    cr_assert(strstr(proc.errbuf, "GET /oops/now crashed in route GET /oops/*what (oops) in "
                                  "router application_router: crash: oops: now"),
              "%s", proc.errbuf);
}

Test(hello, prod_needs_a_secret_from_the_environment, .fini = end_hello)
{
    unsetenv("SECRET_KEY_BASE");
    char *argv[] = {HELLO_BIN, "--port", "0", "--env", "prod", NULL};
    proc_start(&proc, argv);
    cr_assert(proc_wait(&proc, MS(10000)), "hello started without a secret");
    cr_assert_eq(proc.status, DYN_NODE_EXIT_CONFIG); /* a configuration error (dynamo/node.h) */
    cr_assert(strstr(proc.errbuf, "SECRET_KEY_BASE"), "%s", proc.errbuf);
}

Test(hello, prod_answers_crashes_with_a_plain_page_and_logs_the_request_id, .fini = end_hello)
{
    setenv("SECRET_KEY_BASE", "prod-test-secret-prod-test-secret-prod-test-secret-prod-test-secret",
           1);
    uint16_t port = start_hello("prod");
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port,
                             "GET /oops/secret HTTP/1.1\r\nHost: x\r\nx-request-id: "
                             "abcdefghij0123456789xyz\r\n\r\n",
                             &r),
                 500);
    cr_assert(strstr(r.body, "Internal Server Error"));
    cr_assert_null(strstr(r.body, "secret"));
    cr_assert_null(strstr(r.body, "oops"));
    hu_resp_free(&r);
    usleep(100000);
    stop_hello();
    cr_assert(strstr(proc.errbuf, "level=error method=GET path=/oops/secret status=500 "
                                  "request_id=abcdefghij0123456789xyz"),
              "%s", proc.errbuf);
}

/* ---- the exception page in a browser ---- */

Test(hello, exception_page_in_a_browser_shows_reason_and_backtrace_and_runs_nothing,
     .fini = end_hello)
{
    uint16_t port = start_hello("dev");
    char url[512];
    snprintf(url, sizeof url,
             "http://127.0.0.1:%u/oops/<script>window.__pwned=1;alert(1)</script>"
             "<img src=x onerror=alert(2)>",
             port);
    proc_t b;
    char *argv[] = {"/usr/bin/env", "node", BROWSER_SCRIPT, url, NULL};
    proc_start(&b, argv);
    char line[8192];
    bool got = proc_line(&b, line, sizeof line, MS(60000));
    bool exited = proc_wait(&b, MS(30000));
    int status = b.status;
    char err[4096];
    snprintf(err, sizeof err, "%.4000s", b.errbuf);
    proc_end(&b);
    cr_assert(got, "no result from the browser (status %d): %s", status, err);
    cr_assert(exited && status == 0, "browser driver exit %d: %s", status, err);
    /* The reason, with the request's text shown as text. */
    cr_assert(strstr(line, "\"reason\":\"crash: oops: <script>window.__pwned=1;alert(1)</script>"
                           "<img src=x onerror=alert(2)>\""),
              "%s", line);
    cr_assert(strstr(line, "\"reasonVisible\":true"), "%s", line);
    /* The backtrace, with function names, the route's first. */
    cr_assert(strstr(line, "\"backtrace\":[\"oops\","), "%s", line);
    cr_assert(strstr(line, "\"backtraceVisible\":true"), "%s", line);
    /* Nothing ran. */
    cr_assert(strstr(line, "\"dialogs\":0"), "%s", line);
    cr_assert(strstr(line, "\"scriptElements\":0"), "%s", line);
    cr_assert(strstr(line, "\"pwned\":false"), "%s", line);
    stop_hello();
}

/* ---- the single file Dynamo of the guide ---- */

Test(hello, single_file_dynamo_serves_and_stops, .fini = end_hello)
{
    char *argv[] = {SINGLE_FILE_BIN, "0", NULL};
    proc_start(&proc, argv);
    char line[256];
    cr_assert(proc_line(&proc, line, sizeof line, MS(10000)), "no output: %s", proc.errbuf);
    unsigned port = 0;
    cr_assert_eq(sscanf(line, "single_file: serving on http://127.0.0.1:%u", &port), 1, "%s", line);
    hu_resp_t r;
    cr_assert_eq(hu_exchange((uint16_t)port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    cr_assert_str_eq(r.body, "Hello World!");
    hu_resp_free(&r);
    cr_assert_eq(hu_exchange((uint16_t)port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", NULL), 404);
    stop_hello();
}
