/* The connection actor over real sockets: keep-alive rules, pipelining, partial input, HEAD,
 * Date/Server, target forms, timeouts, handler crashes. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"

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
