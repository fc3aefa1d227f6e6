/* Responses: chunked and close-delimited streams, large bodies, trailers, sendfile, and
 * back-pressure against a client that does not read. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"

TestSuite(resp, .init = hu_init, .fini = hu_fini, .timeout = TMO(60));

Test(resp, chunked_stream)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /stream?n=5&s=1000 HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    cr_expect(r.chunked);
    cr_expect_eq(r.body_len, 5000u);
    cr_expect(strspn(r.body, "x") == 5000);
    hu_resp_free(&r);
}

Test(resp, http10_stream_is_close_delimited)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    cr_assert_eq(
        hu_exchange(port, "GET /stream?n=4&s=100 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r),
        200);
    cr_expect(r.close_delimited);
    cr_expect_null(hu_header(&r, "transfer-encoding"));
    cr_expect_eq(r.body_len, 400u);
    hu_resp_free(&r);
}

Test(resp, large_bodies_whole_and_streamed)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /big?s=3000000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(hu_header(&r, "content-length"), "3000000");
    cr_expect_eq(r.body_len, 3000000u);
    cr_expect_eq(strspn(r.body, "y"), 3000000u);
    hu_resp_free(&r);
    hu_send(c, "GET /stream?n=300&s=10000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.body_len, 3000000u);
    hu_resp_free(&r);
    hu_close(c);
}

static void with_trailers(http_req_t *req, void *arg)
{
    (void)arg;
    http_resp_header(req, "Trailer", "X-Sum");
    http_resp_start(req, 200);
    http_resp_write(req, "abc", 3);
    http_resp_write(req, "", 0);
    http_resp_write(req, "def", 3);
    http_header_t t = {.name = "X-Sum", .value = "6", .name_len = 5, .value_len = 1};
    http_resp_end(req, &t, 1);
}

Test(resp, chunked_with_trailers)
{
    uint16_t port = hu_serve(with_trailers, NULL);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    cr_expect_str_eq(r.body, "abcdef");
    cr_assert_not_null(r.trailers);
    cr_expect_str_eq(r.trailers, "X-Sum: 6\r\n");
    hu_resp_free(&r);
}

static void misuse(http_req_t *req, void *arg)
{
    (void)arg;
    int bad1 = http_resp_write(req, "x", 1);            /* not started */
    int bad2 = http_resp_header(req, "Bad Name", "v");  /* not a token */
    int bad3 = http_resp_header(req, "X", "a\r\nb: c"); /* header injection */
    http_resp_header(req, "Content-Length", "4");
    http_resp_start(req, 200);
    int bad4 = http_resp_start(req, 200);
    int ok = http_resp_write(req, "ab", 2);
    int bad5 = http_resp_write(req, "abc", 3); /* past Content-Length */
    int bad6 = http_resp_header(req, "X-Late", "1");
    http_resp_write(req, "cd", 2);
    http_resp_end(req, NULL, 0);
    int bad7 = http_resp_send(req, 200, "x", 1);
    if (bad1 != HTTP_ESTATE || bad2 != HTTP_ESTATE || bad3 != HTTP_ESTATE || bad4 != HTTP_ESTATE ||
        ok != 0 || bad5 != HTTP_ESTATE || bad6 != HTTP_ESTATE || bad7 != HTTP_ESTATE)
        act_fail(ACT_CRASH);
}

Test(resp, misuse_is_refused_not_sent)
{
    uint16_t port = hu_serve(misuse, NULL);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    cr_expect_str_eq(r.body, "abcd");
    cr_expect_null(hu_header(&r, "x"));
    hu_resp_free(&r);
}

static void short_body(http_req_t *req, void *arg)
{
    (void)arg;
    http_resp_header(req, "Content-Length", "10");
    http_resp_start(req, 200);
    http_resp_write(req, "abc", 3);
    http_resp_end(req, NULL, 0); /* 7 bytes short */
}

Test(resp, a_body_shorter_than_declared_closes)
{
    uint16_t port = hu_serve(short_body, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    hu_resp_t r;
    cr_expect_eq(hu_read(c, &r, false), HU_CLOSED);
    hu_resp_free(&r);
    hu_close(c);
}

Test(resp, sendfile)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    for (int i = 0; i < 2; i++) {
        hu_send(c, "GET /file?s=5000000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_assert_eq(r.body_len, 5000000u);
        bool ok = true;
        for (size_t k = 0; k < r.body_len && ok; k++)
            ok = r.body[k] == (char)('a' + k % 26);
        cr_expect(ok);
        hu_resp_free(&r);
    }
    /* HEAD: the length, no bytes. */
    hu_send(c, "HEAD /file?s=1000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_expect_str_eq(hu_header(&r, "content-length"), "1000");
    hu_resp_free(&r);
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    hu_close(c);
}

/* Every shape of a sendfile response, by path: /cl (Content-Length, the whole file; also asked
 * with HEAD), /chunked (no length: two ranges as chunks), /empty (a range of 0 bytes), /short
 * (5,000 bytes asked of the 4,000-byte file), /dir (a descriptor sendfile refuses). */
#define SF_SIZE 4000
typedef struct sf_files {
    int fd;  /* SF_SIZE bytes */
    int dir; /* a directory */
} sf_files_t;

static void sendfile_shapes(http_req_t *req, void *arg)
{
    const sf_files_t *f = arg;
    const char *p = http_req_path(req);
    int rc = 0;
    if (strcmp(p, "/cl") == 0) {
        http_resp_header(req, "Content-Length", "4000");
        http_resp_start(req, 200);
        rc = http_resp_sendfile(req, f->fd, 0, SF_SIZE);
    } else if (strcmp(p, "/chunked") == 0) {
        http_resp_start(req, 200);
        if ((rc = http_resp_sendfile(req, f->fd, 0, 1000)) == 0)
            rc = http_resp_sendfile(req, f->fd, 1000, SF_SIZE - 1000);
    } else if (strcmp(p, "/empty") == 0) {
        http_resp_start(req, 200);
        rc = http_resp_sendfile(req, f->fd, 0, 0);
    } else if (strcmp(p, "/short") == 0) {
        http_resp_header(req, "Content-Length", "5000");
        http_resp_start(req, 200);
        rc = http_resp_sendfile(req, f->fd, 0, 5000);
    } else if (strcmp(p, "/dir") == 0) {
        http_resp_header(req, "Content-Length", "10");
        http_resp_start(req, 200);
        rc = http_resp_sendfile(req, f->dir, 0, 10);
    }
    if (rc == 0)
        http_resp_end(req, NULL, 0);
}

/* n requests of one shape, each read whole (or to the close, want_close: on a new connection
 * each); the milliseconds they took. */
static int64_t sf_round(uint16_t port, const char *method, const char *path, int n, bool want_close)
{
    char raw[128];
    snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: t\r\n\r\n", method, path);
    bool head = strcmp(method, "HEAD") == 0;
    size_t want = strcmp(path, "/empty") == 0 ? 0 : SF_SIZE;
    int64_t t0 = act_now_ms();
    hu_conn_t *c = NULL;
    for (int i = 0; i < n; i++) {
        if (!c)
            c = hu_connect(port);
        cr_assert_eq(hu_send(c, raw, -1), 0);
        hu_resp_t r;
        int got = hu_read(c, &r, head);
        if (want_close) {
            cr_assert_eq(got, HU_CLOSED, "%s %s: %d", method, path, got);
            hu_close(c);
            c = NULL;
        } else {
            cr_assert_eq(got, 0, "%s %s: %d", method, path, got);
            cr_assert_eq(r.status, 200);
            cr_assert_eq(r.body_len, head ? 0 : want, "%s %s: %zu bytes", method, path, r.body_len);
            if (head)
                cr_assert_str_eq(hu_header(&r, "content-length"), "4000");
        }
        hu_resp_free(&r);
    }
    if (c)
        hu_close(c);
    return act_now_ms() - t0;
}

Test(resp, sendfile_responses_arrive_at_once)
{
    /* A stalled response is a slow one, not a lost one: the kernel sends bytes held for a
     * write that never comes (MSG_MORE, TCP_CORK) after 200 ms. So each shape runs 40 times:
     * a stall on every request would take 8 s, and 4 s (unscaled: the kernel's delay does
     * not grow with a sanitizer) leaves a sanitizer build under load its margin. */
    char path[] = "/tmp/hu_sfXXXXXX";
    sf_files_t f = {.fd = mkstemp(path), .dir = open("/tmp", O_RDONLY | O_DIRECTORY)};
    cr_assert(f.fd >= 0 && f.dir >= 0);
    unlink(path);
    char data[SF_SIZE];
    memset(data, 'f', sizeof data);
    cr_assert_eq(write(f.fd, data, sizeof data), (ssize_t)sizeof data);
    http_config_t cfg = {.handler = sendfile_shapes, .handler_arg = &f};
    uint16_t port = hu_serve_cfg(&cfg);
    static const struct {
        const char *method, *path;
        bool close;
    } shapes[] = {{"GET", "/cl", false},    {"HEAD", "/cl", false},  {"GET", "/chunked", false},
                  {"GET", "/empty", false}, {"GET", "/short", true}, {"GET", "/dir", true}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int64_t ms = sf_round(port, shapes[i].method, shapes[i].path, 40, shapes[i].close);
        cr_expect_lt(ms, 4000, "40 x %s %s took %lld ms", shapes[i].method, shapes[i].path,
                     (long long)ms);
    }
    hu_stop_server();
    close(f.fd);
    close(f.dir);
}

Test(resp, a_client_that_does_not_read_holds_memory_down)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    /* 50 MB streamed to a client that reads nothing for a while: the kernel's buffers fill,
     * then the handler waits; our queue stays under 64 KiB. */
    hu_send(c, "GET /stream?n=5000&s=10000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    long rss0 = hu_rss_kb();
    usleep((useconds_t)MS(500) * 1000);
    long rss1 = hu_rss_kb();
    cr_expect_lt(rss1 - rss0, 16 * 1024, "memory grew by %ld KiB for a stalled client",
                 rss1 - rss0);
    /* Then it reads: everything arrives. */
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.body_len, 50000000u);
    hu_resp_free(&r);
    hu_close(c);
}

Test(resp, stalled_client_hits_the_write_timeout)
{
    http_limits_t lim = {.write_timeout_ms = (uint32_t)MS(300)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "GET /stream?n=20000&s=10000 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    usleep((useconds_t)MS(1000) * 1000);
    /* The server gave up: reading drains what was sent, then EOF before the end. */
    hu_resp_t r;
    cr_expect_eq(hu_read(c, &r, false), HU_CLOSED);
    hu_resp_free(&r);
    hu_close(c);
    usleep((useconds_t)MS(100) * 1000);
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.connections, 0u);
}
