/* Servers: start and stop, accept modes, max_connections, graceful stop and its deadline. */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"

TestSuite(server, .init = hu_init, .fini = hu_fini, .timeout = TMO(30));

Test(server, start_serve_stop_twice)
{
    for (int i = 0; i < 2; i++) {
        uint16_t port = hu_serve(NULL, NULL);
        cr_assert_neq(port, 0);
        hu_resp_t r;
        cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
        hu_resp_free(&r);
        hu_stop_server();
    }
}

Test(server, a_taken_port_fails_at_start)
{
    uint16_t port = hu_serve(NULL, NULL);
    http_config_t cfg = {.port = port, .handler = hu_handler};
    http_server_t *s2 = NULL;
    cr_expect_eq(http_server_start(&cfg, &s2), -EADDRINUSE);
    cfg.host = "not an address";
    cr_expect_eq(http_server_start(&cfg, &s2), ACT_EBADARG);
    cfg.handler = NULL;
    cr_expect_eq(http_server_start(&cfg, &s2), ACT_EBADARG);
}

static void both_modes(http_accept_mode_t mode)
{
    http_config_t cfg = {.handler = hu_handler, .accept_mode = mode};
    uint16_t port = hu_serve_cfg(&cfg);
    hu_conn_t *c[16];
    for (int i = 0; i < 16; i++)
        c[i] = hu_connect(port);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 16; i++) {
            hu_resp_t r;
            hu_send(c[i], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
            cr_assert_eq(hu_read(c[i], &r, false), 0);
            cr_expect_str_eq(r.body, "hello");
            hu_resp_free(&r);
        }
    }
    for (int i = 0; i < 16; i++)
        hu_close(c[i]);
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.accepted, 16u);
    cr_expect_eq(st.requests, 48u);
}

Test(server, reuseport_mode)
{
    both_modes(HTTP_ACCEPT_REUSEPORT);
}

Test(server, single_acceptor_mode)
{
    both_modes(HTTP_ACCEPT_SINGLE);
}

static bool has_data(hu_conn_t *c, int ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

Test(server, max_connections_pauses_accepting_and_resumes)
{
    http_limits_t lim = {.max_connections = 2};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *a = hu_connect(port), *b = hu_connect(port);
    hu_resp_t r;
    hu_send(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(a, &r, false), 0);
    hu_resp_free(&r);
    hu_send(b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(b, &r, false), 0);
    hu_resp_free(&r);
    /* The third waits in the backlog: connected by the kernel, not served. */
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_expect(!has_data(c, (int)MS(300)), "served beyond max_connections");
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.connections, 2u);
    cr_expect_geq(st.accept_pauses, 1u);
    /* One closes: the third is accepted and served. */
    hu_close(a);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    hu_close(b);
    hu_close(c);
}

typedef struct {
    uint16_t port;
    const char *req;
    int status;
    char conn_hdr[32];
    int64_t done_at;
} client_arg_t;

static void *one_request(void *arg)
{
    client_arg_t *a = arg;
    hu_conn_t *c = hu_connect(a->port);
    hu_send(c, a->req, -1);
    hu_resp_t r;
    if (hu_read(c, &r, false) == 0) {
        a->status = r.status;
        const char *h = hu_header(&r, "connection");
        snprintf(a->conn_hdr, sizeof a->conn_hdr, "%s", h ? h : "");
    }
    a->done_at = act_now_ms();
    hu_resp_free(&r);
    hu_close(c);
    return NULL;
}

Test(server, graceful_stop_finishes_requests_in_flight)
{
    uint16_t port = hu_serve(NULL, NULL);
    /* An idle keep-alive connection is closed by the stop. */
    hu_conn_t *idle = hu_connect(port);
    hu_resp_t r;
    hu_send(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(idle, &r, false), 0);
    hu_resp_free(&r);
    char req[128];
    snprintf(req, sizeof req, "GET /sleep?ms=%lld HTTP/1.1\r\nHost: t\r\n\r\n", (long long)MS(300));
    client_arg_t a = {.port = port, .req = req};
    pthread_t t;
    pthread_create(&t, NULL, one_request, &a);
    usleep((useconds_t)MS(100) * 1000); /* the request is in its handler */
    int64_t t0 = act_now_ms();
    hu_stop_server();
    int64_t stopped = act_now_ms();
    pthread_join(t, NULL);
    cr_expect_eq(a.status, 200);
    cr_expect_str_eq(a.conn_hdr, "close");
    cr_expect_geq(stopped - t0, MS(150), "stop did not wait for the request");
    cr_expect(hu_closed_within(idle, MS(1000)));
    hu_close(idle);
    /* Nothing listens any more. */
    cr_expect_null(hu_try_connect(port));
}

Test(server, stop_deadline_cuts_slow_requests)
{
    uint16_t port = hu_serve(NULL, NULL);
    client_arg_t a = {.port = port, .req = "GET /sleep?ms=10000 HTTP/1.1\r\nHost: t\r\n\r\n"};
    pthread_t t;
    pthread_create(&t, NULL, one_request, &a);
    usleep((useconds_t)MS(100) * 1000);
    int64_t t0 = act_now_ms();
    http_server_t *s = hu_server();
    http_server_stop_async(s, MS(200));
    act_ref_t ref;
    cr_assert_eq(act_monitor(http_server_pid(s), &ref), 0);
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(5000), &m), 0);
    act_msg_free(m);
    /* The handler sleeps on: it was killed 1 s after the deadline. */
    cr_expect_lt(act_now_ms() - t0, MS(3000));
    pthread_join(t, NULL);
    cr_expect_eq(a.status, 0, "the cut request got an answer");
    http_server_free(s);
    hu_stop_server_forget();
}

Test(server, system_stop_with_requests_in_flight_leaks_nothing)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = hu_connect(port);
        hu_send(c[i],
                i % 2 ? "GET /sleep?ms=100000 HTTP/1.1\r\nHost: t\r\n\r\n"
                      : "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab",
                -1);
    }
    usleep((useconds_t)MS(200) * 1000);
    /* No graceful stop: the system kills everything, handlers included; their exit hooks
     * free the requests, the close callbacks the connections. */
    http_server_t *s = hu_server();
    hu_stop_server_forget();
    cr_assert_eq(act_system_stop(), 0);
    http_server_free(s);
    for (int i = 0; i < 4; i++)
        hu_close(c[i]);
    /* hu_fini checks that nothing leaked. */
}
