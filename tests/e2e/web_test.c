/*
 * A web application over real sockets on 127.0.0.1: static assets (sendfile, HEAD, 304, Range,
 * .gz variants, and traversal attempts from raw sockets and from curl --path-as-is), sessions
 * surviving requests in both stores (a tampered cookie, key rotation across two Dynamos, the
 * store server's expiry), and CSRF.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_util.h"
#include "dynamo/csrf.h"
#include "dynamo/dynamo.h"
#include "dynamo/fetch.h"
#include "dynamo/secure_headers.h"
#include "dynamo/session.h"
#include "dynamo/static.h"
#include "proc_util.h"
#include "static_int.h"

#define SECRET_A "e2e-secret-A-e2e-secret-A-e2e-secret-A-e2e-secret-A-e2e-secret-A!"
#define SECRET_B "e2e-secret-B-e2e-secret-B-e2e-secret-B-e2e-secret-B-e2e-secret-B!"
#define BIG (1u << 20)

static char base[64];
static char root[128];
static int64_t live_before;

/* ---- the application ---------------------------------------------------------------------- */

static dyn_conn_t *fetch(dyn_conn_t *conn)
{
    return dyn_fetch(conn, DYN_FETCH_SESSION);
}

static dyn_conn_t *put(dyn_conn_t *conn)
{
    conn = dyn_session_put_str(conn, dyn_param(conn, "key"), dyn_param(conn, "value"));
    return dyn_resp(conn, 200, "put");
}

static dyn_conn_t *get(dyn_conn_t *conn)
{
    const char *v = dyn_session_get_str(conn, dyn_param(conn, "key"));
    return dyn_resp(conn, 200, v ? v : "(none)");
}

static dyn_conn_t *form(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, dyn_csrf_token(conn));
}

static dyn_conn_t *posted(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "posted");
}

DYN_ROUTER(web_router, DYN_PREPARE(fetch), DYN_GET("/put/:key/:value", put),
           DYN_GET("/get/:key", get), DYN_GET("/form", form), DYN_POST("/posts", posted));

static dyn_static_opts_t static_live; /* .from: the test's root, set in web_init */
static dyn_session_opts_t cookie_session = {.key = "_web_session"};
static const dyn_plug_spec_t web_plugs[] = {
    DYN_PLUG(dyn_plug_static, &static_live), DYN_PLUG(dyn_plug_secure_headers, NULL),
    DYN_PLUG(dyn_plug_session, &cookie_session), DYN_PLUG(dyn_plug_csrf, NULL)};
static const dyn_dynamo_t web_a = {.name = "web_a",
                                   .endpoint = &web_router,
                                   .env = DYN_ENV_TEST,
                                   .secret = SECRET_A,
                                   DYN_PLUGS(web_plugs)};
static const dyn_dynamo_t web_b = {.name = "web_b",
                                   .endpoint = &web_router,
                                   .env = DYN_ENV_TEST,
                                   .secret = SECRET_B,
                                   .previous_secrets = (const char *const[]){SECRET_A, NULL},
                                   DYN_PLUGS(web_plugs)};

static dyn_session_opts_t server_session = {.key = "_web_session",
                                            .store = &dyn_session_server_store};
static const dyn_plug_spec_t server_plugs[] = {DYN_PLUG(dyn_plug_session, &server_session)};
static const dyn_dynamo_t web_srv = {.name = "web_srv",
                                     .endpoint = &web_router,
                                     .env = DYN_ENV_TEST,
                                     .secret = SECRET_A,
                                     DYN_PLUGS(server_plugs)};

/* ---- set-up ------------------------------------------------------------------------------- */

static void put_file(const char *rel, const void *data, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *big;

static void web_init(void)
{
    snprintf(base, sizeof base, "/tmp/dyn-web-XXXXXX");
    cr_assert(mkdtemp(base));
    snprintf(root, sizeof root, "%s/root", base);
    cr_assert_eq(mkdir(root, 0755), 0);
    static_live = (dyn_static_opts_t){.from = root};
    char p[256];
    snprintf(p, sizeof p, "%s/secret.txt", base);
    FILE *f = fopen(p, "w");
    fputs("TOP SECRET", f);
    fclose(f);
    put_file("hello.txt", "Hello, static world!\n", 21);
    put_file("app.css", "body { color: red }", 19);
    put_file("app.css.gz", "\x1f\x8b-not-really", 13);
    big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('A' + (i * 31 + i / 4096) % 26);
    put_file("big.bin", big, BIG);
    snprintf(p, sizeof p, "%s/out.txt", root);
    cr_assert_eq(symlink("../secret.txt", p), 0);
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = 2};
    cr_assert_eq(act_system_start(&c), 0);
    act_report_set(act_report_silent, NULL);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void web_fini(void)
{
    if (act_system_running())
        act_system_stop();
    act_report_set(NULL, NULL);
    free(big);
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The end of every test's body: a check that can fail the test (not in .fini). */
static void web_end(void)
{
    cr_assert_eq(act_system_stop(), 0);
    cr_assert_eq(act_mem_live_blocks(), live_before, "%lld blocks leaked",
                 (long long)(act_mem_live_blocks() - live_before));
}

TestSuite(web, .init = web_init, .fini = web_fini, .timeout = TMO(120));

static uint16_t start(const dyn_dynamo_t *d)
{
    cr_assert_eq(dyn_start_link(d, NULL), 0);
    return dyn_port(d->name);
}

/* One request on a new connection; r filled (caller frees). */
static int ask(uint16_t port, const char *method, const char *target, const char *headers,
               hu_resp_t *r)
{
    char raw[4096];
    snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n",
             method, target, headers ? headers : "");
    int st = hu_exchange(port, raw, r);
    cr_assert_neq(st, -1, "%s %s: no response", method, target);
    return st;
}

static int status_of(uint16_t port, const char *target, const char *headers)
{
    hu_resp_t r;
    int st = ask(port, "GET", target, headers, &r);
    cr_assert_null(strstr(r.body, "SECRET"), "%s leaked the secret", target);
    hu_resp_free(&r);
    return st;
}

/* ---- static ------------------------------------------------------------------------------- */

Test(web, static_files_over_sockets)
{
    uint16_t port = start(&web_a);
    hu_resp_t r;
    cr_assert_eq(ask(port, "GET", "/static/hello.txt", NULL, &r), 200);
    cr_assert_str_eq(r.body, "Hello, static world!\n");
    cr_assert_str_eq(hu_header(&r, "content-length"), "21");
    cr_assert_str_eq(hu_header(&r, "content-type"), "text/plain");
    char etag[64];
    snprintf(etag, sizeof etag, "%s", hu_header(&r, "etag"));
    char lm[64];
    snprintf(lm, sizeof lm, "%s", hu_header(&r, "last-modified"));
    hu_resp_free(&r);

    /* HEAD: the same headers, no body */
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(hu_header(&r, "content-length"), "21");
    cr_assert_eq(r.body_len, 0);
    hu_resp_free(&r);
    /* ... and the connection goes on: a 1 MiB file through sendfile, then a 304 */
    hu_send(c, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, BIG);
    cr_assert_eq(memcmp(r.body, big, BIG), 0);
    hu_resp_free(&r);
    char req[512];
    snprintf(req, sizeof req,
             "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
    hu_send(c, req, -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.status, 304);
    cr_assert_eq(r.body_len, 0);
    cr_assert_str_eq(hu_header(&r, "etag"), etag);
    hu_resp_free(&r);
    snprintf(req, sizeof req,
             "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: %s\r\n\r\n", lm);
    hu_send(c, req, -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_assert_eq(r.status, 304);
    hu_resp_free(&r);
    hu_close(c);
    web_end();
}

Test(web, ranges_and_gzip_over_sockets)
{
    uint16_t port = start(&web_a);
    hu_resp_t r;
    cr_assert_eq(ask(port, "GET", "/static/hello.txt", "Range: bytes=7-12\r\n", &r), 206);
    cr_assert_str_eq(r.body, "static");
    cr_assert_str_eq(hu_header(&r, "content-range"), "bytes 7-12/21");
    cr_assert_str_eq(hu_header(&r, "content-length"), "6");
    hu_resp_free(&r);
    cr_assert_eq(ask(port, "GET", "/static/big.bin", "Range: bytes=-1000\r\n", &r), 206);
    cr_assert_eq(r.body_len, 1000);
    cr_assert_eq(memcmp(r.body, big + BIG - 1000, 1000), 0);
    hu_resp_free(&r);
    cr_assert_eq(ask(port, "GET", "/static/hello.txt", "Range: bytes=21-\r\n", &r), 416);
    cr_assert_str_eq(hu_header(&r, "content-range"), "bytes */21");
    hu_resp_free(&r);
    cr_assert_eq(ask(port, "GET", "/static/app.css", "Accept-Encoding: gzip, deflate\r\n", &r),
                 200);
    cr_assert_eq(r.body_len, 13);
    cr_assert_eq(memcmp(r.body, "\x1f\x8b-not-really", 13), 0);
    cr_assert_str_eq(hu_header(&r, "content-encoding"), "gzip");
    cr_assert_str_eq(hu_header(&r, "vary"), "accept-encoding");
    cr_assert_str_eq(hu_header(&r, "content-type"), "text/css");
    hu_resp_free(&r);
    cr_assert_eq(ask(port, "GET", "/static/app.css", NULL, &r), 200);
    cr_assert_str_eq(r.body, "body { color: red }");
    hu_resp_free(&r);
    web_end();
}

Test(web, traversal_attempts_from_raw_sockets)
{
    uint16_t port = start(&web_a);
    const char *bad[] = {"/static/../secret.txt",
                         "/static/%2e%2e/secret.txt",
                         "/static/%2E%2E/secret.txt",
                         "/static/..%2fsecret.txt",
                         "/static/%2e%2e%2fsecret.txt",
                         "/static/..%5csecret.txt",
                         "/static/..\\secret.txt",
                         "/static/./../secret.txt",
                         "/static/%2e%2e/%2e%2e/etc/passwd",
                         "/static/hello.txt%00.css"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(status_of(port, bad[i], NULL), 400, "%s", bad[i]);
    cr_assert_eq(status_of(port, "/static/out.txt", NULL), 404, "a link out of the root");
    cr_assert_eq(status_of(port, "/static/../../../../etc/passwd", NULL), 400);
    cr_assert_eq(status_of(port, "/static/hello.txt", NULL), 200, "still serving");
    web_end();
}

static char *body_of(uint16_t port, const char *target, int *status)
{
    hu_resp_t r;
    *status = ask(port, "GET", target, NULL, &r);
    char *b = strdup(r.body);
    hu_resp_free(&r);
    return b;
}

static void expect_file(uint16_t port, const char *target, int status, const char *body)
{
    int st;
    char *b = body_of(port, target, &st);
    cr_assert_eq(st, status, "%s: %d (%s)", target, st, b);
    if (body)
        cr_assert_str_eq(b, body, "%s", target);
    cr_assert_null(strstr(b, "SECRET"), "%s leaked the secret", target);
    free(b);
}

static void set_mtime(const char *rel, time_t t)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

Test(web, the_small_file_cache_is_never_stale_and_never_escapes)
{
    dyn__static_cache_tune(0, true); /* cache at once, count the hits */
    uint16_t port = start(&web_a);
    put_file("c.txt", "one", 3);
    expect_file(port, "/static/c.txt", 200, "one");
    uint64_t h0 = dyn__static_cache_hits();
    expect_file(port, "/static/c.txt", 200, "one");
    expect_file(port, "/static/c.txt", 200, "one");
    cr_assert_geq(dyn__static_cache_hits(), h0 + 1, "served from the cache");
    /* changed in place, same size */
    put_file("c.txt", "two", 3);
    set_mtime("c.txt", time(NULL) + 5);
    expect_file(port, "/static/c.txt", 200, "two");
    expect_file(port, "/static/c.txt", 200, "two");
    /* replaced by another file (a rename: another inode) */
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/c.txt", root);
    snprintf(q, sizeof q, "%s/c.new", root);
    FILE *f = fopen(q, "w");
    fputs("ten", f);
    fclose(f);
    cr_assert_eq(rename(q, p), 0);
    expect_file(port, "/static/c.txt", 200, "ten");
    expect_file(port, "/static/c.txt", 200, "ten");
    /* replaced by a link out of the root, then gone */
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(symlink("../secret.txt", p), 0);
    expect_file(port, "/static/c.txt", 404, NULL);
    cr_assert_eq(unlink(p), 0);
    expect_file(port, "/static/c.txt", 404, NULL);
    /* a cached variant follows the same rules */
    hu_resp_t r;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ask(port, "GET", "/static/app.css", "Accept-Encoding: gzip\r\n", &r), 200);
        cr_assert_str_eq(hu_header(&r, "content-encoding"), "gzip");
        cr_assert_eq(r.body_len, 13);
        hu_resp_free(&r);
    }
    expect_file(port, "/static/app.css", 200, "body { color: red }");
    /* HEAD from the cache: the length, no body */
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_assert_str_eq(hu_header(&r, "content-length"), "21");
    hu_resp_free(&r);
    hu_close(c);
    /* a range of a cached file */
    cr_assert_eq(ask(port, "GET", "/static/hello.txt", "Range: bytes=7-12\r\n", &r), 206);
    cr_assert_str_eq(r.body, "static");
    hu_resp_free(&r);
    /* by default a file is kept only once it has been left alone a second: a file written twice
     * within one tick of the file clock could otherwise look unchanged */
    dyn__static_cache_tune(1, true);
    put_file("fresh.txt", "new", 3);
    expect_file(port, "/static/fresh.txt", 200, "new");
    uint64_t h1 = dyn__static_cache_hits();
    expect_file(port, "/static/fresh.txt", 200, "new");
    cr_assert_eq(dyn__static_cache_hits(), h1, "a file just written is not cached");
    dyn__static_cache_tune(1, false);
    web_end();
}

/* curl's status for a URL sent as written (--path-as-is: no dot-segment squashing). */
static int curl_status(uint16_t port, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    char *argv[] = {"/usr/bin/curl",  "-s", "--path-as-is", "-o", "/dev/null", "-w",
                    "%{http_code}\n", "-m", "10",           url,  NULL};
    proc_t p;
    proc_start(&p, argv);
    char line[64] = "";
    bool got = proc_line(&p, line, sizeof line, MS(10000));
    cr_assert(proc_wait(&p, MS(10000)));
    proc_end(&p);
    cr_assert(got, "curl said nothing for %s", path);
    return atoi(line);
}

Test(web, traversal_attempts_from_curl)
{
    cr_assert_eq(access("/usr/bin/curl", X_OK), 0, "curl (scripts/setup.sh installs it)");
    uint16_t port = start(&web_a);
    cr_assert_eq(curl_status(port, "/static/hello.txt"), 200);
    cr_assert_eq(curl_status(port, "/static/../secret.txt"), 400);
    cr_assert_eq(curl_status(port, "/static/./../secret.txt"), 400);
    cr_assert_eq(curl_status(port, "/static/%2e%2e/secret.txt"), 400);
    cr_assert_eq(curl_status(port, "/static/sub/../../secret.txt"), 400);
    cr_assert_eq(curl_status(port, "/static/out.txt"), 404);
    web_end();
}

/* ---- sessions ----------------------------------------------------------------------------- */

/* GET target with the session cookie (jar); the jar takes the cookie the response sets. */
static char *with_jar(uint16_t port, const char *target, char *jar, size_t cap, int want)
{
    char hdr[4200] = "";
    if (jar[0])
        snprintf(hdr, sizeof hdr, "Cookie: theme=dark; _web_session=%s\r\n", jar);
    hu_resp_t r;
    int st = ask(port, "GET", target, hdr, &r);
    cr_assert_eq(st, want, "%s: %d", target, st);
    /* hu_header returns the first set-cookie; the session's is the only one here */
    const char *sc = hu_header(&r, "set-cookie");
    if (sc && strncmp(sc, "_web_session=", 13) == 0) {
        const char *v = sc + 13, *end = strchr(v, ';');
        snprintf(jar, cap, "%.*s", (int)(end - v), v);
    }
    char *body = strdup(r.body);
    hu_resp_free(&r);
    return body;
}

static void expect(uint16_t port, const char *target, char *jar, const char *body)
{
    char *b = with_jar(port, target, jar, 4096, 200);
    cr_assert_str_eq(b, body, "%s", target);
    free(b);
}

Test(web, a_session_survives_requests_and_a_tampered_cookie_is_empty)
{
    uint16_t port = start(&web_a);
    char jar[4096] = "";
    expect(port, "/put/user/jose", jar, "put");
    cr_assert(jar[0]);
    expect(port, "/get/user", jar, "jose");
    expect(port, "/put/theme/dark", jar, "put");
    expect(port, "/get/user", jar, "jose");
    char good[4096];
    snprintf(good, sizeof good, "%s", jar);
    jar[strlen(jar) / 2] ^= 1;
    expect(port, "/get/user", jar, "(none)");
    snprintf(jar, sizeof jar, "%.*s", (int)strlen(good) - 5, good);
    expect(port, "/get/user", jar, "(none)");
    snprintf(jar, sizeof jar, "%s", good);
    expect(port, "/get/user", jar, "jose");
    web_end();
}

Test(web, key_rotation_across_two_dynamos)
{
    uint16_t pa = start(&web_a), pb = start(&web_b);
    char jar[4096] = "";
    expect(pa, "/put/user/jose", jar, "put");
    expect(pb, "/get/user", jar, "jose");  /* B lists A's secret as a previous one */
    expect(pb, "/put/seen/b", jar, "put"); /* rewritten with B's secret */
    expect(pb, "/get/user", jar, "jose");
    expect(pa, "/get/user", jar, "(none)"); /* A never knew B's */
    web_end();
}

Test(web, the_store_server_expires_idle_sessions)
{
    static const dyn_session_server_opts_t so = {.ttl_ms = 300, .sweep_ms = 50};
    static const act_child_spec_t children[] = {{DYN_SESSION_SERVER_CHILD("sessions", &so)},
                                                {DYN_CHILD("web", &web_srv)}};
    static const act_sup_spec_t tree = {
        .strategy = ACT_ONE_FOR_ONE, .children = children, .nchildren = 2};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&tree, &sup), 0);
    uint16_t port = dyn_port("web_srv");
    char jar[4096] = "";
    expect(port, "/put/user/jose", jar, "put");
    cr_assert_lt(strlen(jar), 120);
    expect(port, "/get/user", jar, "jose");
    cr_assert_eq(dyn_session_server_count(NULL), 1);
    int64_t waited = 0;
    while (dyn_session_server_count(NULL) > 0 && waited < MS(10000)) {
        usleep(20000);
        waited += 20;
    }
    cr_assert_eq(dyn_session_server_count(NULL), 0);
    expect(port, "/get/user", jar, "(none)");
    web_end();
}

/* ---- CSRF --------------------------------------------------------------------------------- */

Test(web, csrf_over_sockets)
{
    uint16_t port = start(&web_a);
    char jar[4096] = "";
    char *token = with_jar(port, "/form", jar, sizeof jar, 200);
    cr_assert_eq(strlen(token), 86);
    char hdr[4600], body[256];
    snprintf(body, sizeof body, "title=hello&_csrf_token=%s", token);
    snprintf(hdr, sizeof hdr,
             "Cookie: _web_session=%s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             jar, strlen(body), body);
    char raw[5000];
    snprintf(raw, sizeof raw, "POST /posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s", hdr);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, raw, &r), 200);
    cr_assert_str_eq(r.body, "posted");
    hu_resp_free(&r);
    snprintf(raw, sizeof raw,
             "POST /posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: _web_session=%s\r\n"
             "X-CSRF-Token: %s\r\nContent-Length: 0\r\n\r\n",
             jar, token);
    cr_assert_eq(hu_exchange(port, raw, &r), 200);
    hu_resp_free(&r);
    snprintf(raw, sizeof raw,
             "POST /posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: _web_session=%s\r\n"
             "Content-Length: 0\r\n\r\n",
             jar);
    cr_assert_eq(hu_exchange(port, raw, &r), 403);
    cr_assert_null(strstr(r.body, "posted"));
    hu_resp_free(&r);
    free(token);
    web_end();
}
