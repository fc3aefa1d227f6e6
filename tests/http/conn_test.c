/* The connection actor over real sockets: keep-alive rules, pipelining, partial input, HEAD,
 * Date/Server, target forms, timeouts, handler crashes. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_util.h"
#include "conn_int.h"

TestSuite(conn, .init = hu_init, .fini = hu_fini, .timeout = TMO(30));

static void expect_ok(hu_conn_t *c, const char *req, const char *body)
{
    hu_resp_t r;
    cr_assert_eq(hu_send(c, req, -1), 0);
    cr_assert_eq(hu_read(c, &r, false), 0, "no response to %s", req);
    cr_expect_eq(r.status, 200, "%s -> %d", req, r.status);
    if (body)
        cr_expect_str_eq(r.body, body);
    hu_resp_free(&r);
}

Test(conn, http11_keeps_the_connection_alive)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    for (int i = 1; i <= 5; i++) {
        hu_resp_t r;
        hu_send(c, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n", -1);
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_expect_eq(r.status, 200);
        cr_expect_null(hu_header(&r, "connection"));
        char seq[8];
        snprintf(seq, sizeof seq, "%d", i);
        cr_expect_str_eq(hu_header(&r, "x-seq"), seq);
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conn, http10_closes_unless_asked_to_keep_alive)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /hello HTTP/1.0\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_null(hu_header(&r, "connection"));
    cr_expect(hu_closed_within(c, MS(2000)));
    hu_resp_free(&r);
    hu_close(c);

    c = hu_connect(port);
    for (int i = 0; i < 3; i++) {
        hu_send(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", -1);
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_expect_eq(r.status, 200);
        cr_expect_str_eq(hu_header(&r, "connection"), "keep-alive");
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conn, connection_close_is_honoured)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    cr_expect(hu_closed_within(c, MS(2000)));
    hu_resp_free(&r);
    hu_close(c);
}

Test(conn, max_keepalive_requests_then_close)
{
    http_limits_t lim = {.max_keepalive = 3};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    for (int i = 1; i <= 3; i++) {
        hu_resp_t r;
        hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
        cr_assert_eq(hu_read(c, &r, false), 0);
        if (i < 3)
            cr_expect_null(hu_header(&r, "connection"));
        else
            cr_expect_str_eq(hu_header(&r, "connection"), "close");
        hu_resp_free(&r);
    }
    cr_expect(hu_closed_within(c, MS(2000)));
    hu_close(c);
}

Test(conn, pipelined_requests_are_answered_in_order)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    char batch[8192];
    size_t n = 0;
    /* A slow one in the middle: order must hold anyway. */
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(batch + n, sizeof batch - n,
                              i == 7 ? "GET /sleep?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n"
                                     : "GET /info?i=%d HTTP/1.1\r\nHost: t\r\n\r\n",
                              i);
    cr_assert_eq(hu_send(c, batch, (long)n), 0);
    for (int i = 0; i < 20; i++) {
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "response %d missing", i);
        cr_expect_eq(r.status, 200);
        if (i == 7) {
            cr_expect_str_eq(r.body, "slept");
        } else {
            char want[64];
            snprintf(want, sizeof want, "GET /info i=%d t 11", i);
            cr_expect_str_eq(r.body, want);
        }
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conn, many_pipelined_requests_in_one_write)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    static const char one[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t n = 500, len = sizeof one - 1;
    char *batch = malloc(n * len);
    for (size_t i = 0; i < n; i++)
        memcpy(batch + i * len, one, len);
    cr_assert_eq(hu_send(c, batch, (long)(n * len)), 0);
    free(batch);
    for (size_t i = 0; i < n; i++) {
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "response %zu missing", i);
        cr_expect_str_eq(r.body, "hello");
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conn, byte_at_a_time_and_partial_writes)
{
    uint16_t port = hu_serve(NULL, NULL);
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    hu_conn_t *c = hu_connect(port);
    for (size_t i = 0; i < sizeof req - 1; i++) {
        cr_assert_eq(hu_send(c, req + i, 1), 0);
        usleep(1000);
    }
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    /* Every split point of a request, on the same connection. */
    for (size_t cut = 1; cut < sizeof req - 1; cut++) {
        cr_assert_eq(hu_send(c, req, (long)cut), 0);
        usleep(200);
        cr_assert_eq(hu_send(c, req + cut, (long)(sizeof req - 1 - cut)), 0);
        cr_assert_eq(hu_read(c, &r, false), 0, "cut at %zu", cut);
        cr_expect_str_eq(r.body, "hello", "cut at %zu", cut);
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conn, head_has_headers_and_no_body)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hu_header(&r, "content-length"), "5");
    hu_resp_free(&r);
    /* No body bytes came: the next response parses cleanly. */
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    hu_send(c, "HEAD /stream?n=3 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_expect_str_eq(hu_header(&r, "transfer-encoding"), "chunked");
    hu_resp_free(&r);
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    hu_close(c);
}

Test(conn, date_and_server_headers)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    cr_expect_str_eq(hu_header(&r, "server"), "dynamo");
    const char *d = hu_header(&r, "date");
    cr_assert_not_null(d);
    cr_expect_eq(strlen(d), 29u, "date: %s", d);
    cr_expect(strcmp(d + 25, " GMT") == 0 && d[3] == ',', "date: %s", d);
    hu_resp_free(&r);
}

Test(conn, absolute_form_and_asterisk_targets)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port,
                             "GET http://example.com:8080/info?x=1 HTTP/1.1\r\nHost: other\r\n\r\n",
                             &r),
                 200);
    cr_expect_str_eq(r.body, "GET /info x=1 example.com:8080 11");
    hu_resp_free(&r);
    cr_assert_eq(hu_exchange(port, "GET HTTPS://h/info HTTP/1.1\r\nHost: x\r\n\r\n", &r), 200);
    cr_expect_str_eq(r.body, "GET /info  h 11");
    hu_resp_free(&r);
    cr_assert_eq(hu_exchange(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r), 404);
    hu_resp_free(&r);
    cr_assert_eq(hu_exchange(port, "GET /info?a=b&c HTTP/1.0\r\n\r\n", &r), 200);
    cr_expect_str_eq(r.body, "GET /info a=b&c  10");
    hu_resp_free(&r);
}

Test(conn, handler_crash_answers_500_and_the_connection_lives_on)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /crash HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 500);
    cr_expect_null(hu_header(&r, "connection"));
    hu_resp_free(&r);
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    hu_send(c, "HEAD /crash HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, true), 0);
    cr_expect_eq(r.status, 500);
    hu_resp_free(&r);
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.crashes, 2u);
    hu_close(c);
}

Test(conn, crash_after_the_head_closes_the_connection)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /crash-mid HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    /* The chunked body never ends: the read fails when the server closes. */
    cr_expect_eq(hu_read(c, &r, false), HU_CLOSED);
    cr_expect_eq(r.status, 200);
    hu_resp_free(&r);
    hu_close(c);
}

Test(conn, no_response_is_204)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "GET /noresp HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 204);
    cr_expect_null(hu_header(&r, "content-length"));
    hu_resp_free(&r);
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    hu_close(c);
}

Test(conn, header_timeout_answers_408)
{
    http_limits_t lim = {.header_timeout_ms = (uint32_t)MS(300)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "GET /hello HTTP/1.1\r\nHost:", -1);
    int64_t t0 = act_now_ms();
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 408);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    cr_expect_geq(act_now_ms() - t0, MS(250));
    cr_expect(hu_closed_within(c, MS(3000)));
    hu_resp_free(&r);
    hu_close(c);
}

Test(conn, slowloris_gets_408_although_bytes_keep_coming)
{
    http_limits_t lim = {.header_timeout_ms = (uint32_t)MS(500)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    static const char req[] =
        "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int64_t t0 = act_now_ms();
    size_t i = 0;
    while (i < sizeof req - 1 && act_now_ms() - t0 < MS(2000)) {
        if (hu_send(c, req + i++, 1) != 0)
            break;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)MS(50)) > 0)
            break; /* the answer came */
    }
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 408);
    cr_expect_lt(act_now_ms() - t0, MS(1500), "408 late: %lld ms", (long long)(act_now_ms() - t0));
    hu_resp_free(&r);
    hu_close(c);
}

Test(conn, idle_keepalive_connection_closes_silently)
{
    http_limits_t lim = {.idle_timeout_ms = (uint32_t)MS(300)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    expect_ok(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", "hello");
    int64_t t0 = act_now_ms();
    cr_expect(hu_closed_within(c, MS(3000)));
    cr_expect_geq(act_now_ms() - t0, MS(250));
    cr_expect_eq(c->len, 0u, "no 408 for an idle connection");
    hu_close(c);
}

Test(conn, silent_new_connection_closes_after_header_timeout)
{
    http_limits_t lim = {.header_timeout_ms = (uint32_t)MS(300)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    cr_expect(hu_closed_within(c, MS(3000)));
    hu_close(c);
}

Test(conn, client_half_close_still_gets_the_response)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "GET /sleep?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    shutdown(c->fd, SHUT_WR);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    cr_expect(hu_closed_within(c, MS(2000)));
    hu_resp_free(&r);
    hu_close(c);
}

Test(conn, client_gone_mid_request_does_not_hurt)
{
    uint16_t port = hu_serve(NULL, NULL);
    for (int i = 0; i < 20; i++) {
        hu_conn_t *c = hu_connect(port);
        hu_send(c,
                i % 2 ? "GET /sleep?ms=20 HTTP/1.1\r\nHost: t\r\n\r\n"
                      : "GET /stream?n=1000&s=1000 HTTP/1.1\r\nHost: t\r\n\r\n",
                -1);
        hu_close(c);
    }
    usleep((useconds_t)MS(100) * 1000);
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    hu_resp_free(&r);
}

Test(conn, a_slow_handler_does_not_hold_back_earlier_pipelined_responses)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    char batch[512];
    snprintf(batch, sizeof batch,
             "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /sleep?ms=%lld HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
             (long long)MS(500));
    int64_t t0 = act_now_ms();
    hu_send(c, batch, -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello");
    cr_expect_lt(act_now_ms() - t0, MS(250), "the first response waited for the slow one");
    hu_resp_free(&r);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "slept");
    hu_resp_free(&r);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    hu_close(c);
}

/* ---- defects a storm of hostile clients found ------------------------------------------------ */

Test(conn, a_reset_during_pipelining_leaks_no_connection_and_the_stop_finishes)
{
    uint16_t port = hu_serve(NULL, NULL);
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    enum { N = 1000 };
    char *batch = malloc(N * (sizeof get - 1));
    for (int i = 0; i < N; i++)
        memcpy(batch + (size_t)i * (sizeof get - 1), get, sizeof get - 1);
    for (int i = 0; i < 20; i++) {
        hu_conn_t *c = hu_connect(port);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        hu_send(c, batch, N * (long)(sizeof get - 1));
        usleep((useconds_t)(i % 6) * 1000);
        hu_close(c); /* a reset, with responses in flight */
    }
    free(batch);
    /* Every connection goes (the server's count), and a graceful stop finishes in time
     * (hu_stop_server fails the test otherwise). */
    http_server_stats_t st;
    int64_t end = act_now_ms() + MS(3000);
    do {
        usleep(10000);
        http_server_stats(hu_server(), &st);
    } while (st.connections > 0 && act_now_ms() < end);
    cr_expect_eq(st.connections, 0u);
    hu_stop_server();
}

Test(conn, pipelined_requests_behind_a_chunked_body_that_straddles_the_buffer_end)
{
    uint16_t port = hu_serve(NULL, NULL);
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    enum { N = 1000 };
    /* A chunk of 20,000 bytes whose first part comes alone, so the next read fills a fresh
     * buffer with the rest, the last chunk and the pipelined requests: every split point of the
     * framing around the buffer's end. */
    int cap = HTTP__RBUF_SIZE - (int)sizeof(http__rbuf_t);
    for (int first = 20000 - cap - 2; first < 20000 - cap + 9; first++) {
        hu_conn_t *c = hu_connect(port);
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "4e20\r\n");
        size_t rest = 20000 - (size_t)first;
        size_t len = rest + 7 + N * (sizeof get - 1);
        char *a = malloc((size_t)hl + (size_t)first);
        memcpy(a, head, (size_t)hl);
        memset(a + hl, 'a', (size_t)first);
        char *b = malloc(len);
        memset(b, 'a', rest);
        memcpy(b + rest, "\r\n0\r\n\r\n", 7);
        for (int i = 0; i < N; i++)
            memcpy(b + rest + 7 + (size_t)i * (sizeof get - 1), get, sizeof get - 1);
        cr_assert_eq(hu_send(c, a, hl + first), 0);
        usleep((useconds_t)MS(20) * 1000);
        cr_assert_eq(hu_send(c, b, (long)len), 0);
        free(a);
        free(b);
        for (int i = 0; i <= N; i++) {
            hu_resp_t r;
            int rc = hu_read(c, &r, false);
            cr_assert_eq(rc, 0, "first piece %d: response %d of %d: %d", first, i, N + 1, rc);
            cr_expect_str_eq(r.body, "hello");
            hu_resp_free(&r);
        }
        hu_close(c);
    }
}

Test(conn, an_error_answer_after_a_head_request_has_its_body)
{
    uint16_t port = hu_serve(NULL, NULL);
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n", "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        NULL, /* a target past max_request_line: 414 */
    };
    int want[] = {400, 505, 414};
    for (int i = 0; i < 3; i++) {
        hu_conn_t *c = hu_connect(port);
        hu_resp_t r;
        cr_assert_eq(hu_send(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1), 0);
        if (bad[i]) {
            cr_assert_eq(hu_send(c, bad[i], -1), 0);
        } else {
            static char longreq[9000];
            memset(longreq, 'a', sizeof longreq - 1);
            memcpy(longreq, "GET /", 5);
            cr_assert_eq(hu_send(c, longreq, -1), 0);
        }
        cr_assert_eq(hu_read(c, &r, true), 0);
        cr_expect_eq(r.status, 200);
        hu_resp_free(&r);
        int rc = hu_read(c, &r, false);
        cr_assert_eq(rc, 0, "the %d answer lost its body (%d)", want[i], rc);
        cr_expect_eq(r.status, want[i]);
        cr_expect_gt(r.body_len, 0u);
        cr_expect_str_eq(hu_header(&r, "connection"), "close");
        hu_resp_free(&r);
        hu_close(c);
    }
}

Test(conn, requests_sent_before_a_half_close_are_all_answered_in_order)
{
    uint16_t port = hu_serve(NULL, NULL);
    for (int n = 1; n <= 20; n += 19) {
        hu_conn_t *c = hu_connect(port);
        char batch[4096];
        size_t len = 0;
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(batch + len, sizeof batch - len,
                                    "GET /info?i=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        cr_assert_eq(hu_send(c, batch, (long)len), 0);
        shutdown(c->fd, SHUT_WR);
        for (int i = 0; i < n; i++) {
            hu_resp_t r;
            cr_assert_eq(hu_read(c, &r, false), 0, "%d requests: response %d missing", n, i);
            char want[64];
            snprintf(want, sizeof want, "GET /info i=%d t 11", i);
            cr_expect_str_eq(r.body, want);
            /* The last may say close (if the FIN was read before it went out) or not. */
            const char *conn = hu_header(&r, "connection");
            if (i < n - 1)
                cr_expect_null(conn, "response %d of %d says %s", i, n, conn);
            hu_resp_free(&r);
        }
        cr_expect(hu_closed_within(c, MS(3000)));
        cr_expect_eq(c->len, 0u);
        hu_close(c);
    }
}

/* Whole requests, then the first bytes of one more, then the client's FIN: every whole request
 * is answered, in order, then the connection closes with nothing for the cut one (as nginx: a
 * head cut by the FIN has nobody left to read an answer). Before the fix the cut head closed
 * the connection at once, dropping the answers queued for the whole ones: 1 GET + "GET" got
 * nothing; 375 GETs with a stretch sent byte by byte got 324. */
static void half_close_after_partial(uint16_t port, int n, size_t tail, size_t slow_from,
                                     size_t slow_len)
{
    hu_conn_t *c = hu_connect(port);
    size_t cap = (size_t)(n + 1) * 64, len = 0, cut = 0;
    char *batch = malloc(cap);
    for (int i = 0; i <= n; i++) {
        cut = len + tail; /* the FIN comes after `tail` bytes of the last request */
        len += (size_t)snprintf(batch + len, cap - len,
                                "GET /info?i=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    }
    size_t off = 0;
    if (slow_len) {
        cr_assert_eq(hu_send(c, batch, (long)slow_from), 0);
        for (off = slow_from; off < slow_from + slow_len; off++) {
            cr_assert_eq(hu_send(c, batch + off, 1), 0);
            usleep(700);
        }
    }
    cr_assert_eq(hu_send(c, batch + off, (long)(cut - off)), 0);
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < n; i++) {
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "%d whole requests and %zu bytes: answer %d missing",
                     n, tail, i);
        char want[64];
        snprintf(want, sizeof want, "GET /info i=%d t 11", i);
        cr_expect_str_eq(r.body, want);
        hu_resp_free(&r);
    }
    cr_expect(hu_closed_within(c, MS(3000)), "%d whole requests: no close after the answers", n);
    cr_expect_eq(c->len, 0u, "%d whole requests: %zu bytes after the answers", n, c->len);
    hu_close(c);
    free(batch);
}

Test(conn, requests_before_a_half_close_are_answered_when_a_cut_one_follows)
{
    uint16_t port = hu_serve(NULL, NULL);
    half_close_after_partial(port, 1, 3, 0, 0);
    half_close_after_partial(port, 2, 1, 0, 0);
    half_close_after_partial(port, 20, 18, 0, 0);
    /* Past the 16 KiB read buffer, with a stretch one byte at a time (the soak's case). */
    half_close_after_partial(port, 375, 5, 8728, 45);
}
