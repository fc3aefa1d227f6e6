/* Servers: start and stop, accept modes, max_connections, graceful stop and its deadline. */
#include <arpa/inet.h>
#include <netinet/in.h>
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
    /* Both are busy (halfway through a head), so neither is closed to make room: the third
     * waits in the backlog, connected by the kernel, not served. */
    hu_send(a, "GET /hello HTTP/1.1\r\n", -1);
    hu_send(b, "GET /hello HTTP/1.1\r\n", -1);
    usleep((useconds_t)MS(50) * 1000);
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

/* ---- a server in a supervision tree --------------------------------------------------------- */

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static act_pid_t wait_new_listener(act_pid_t old)
{
    for (int i = 0; i < 400; i++) {
        act_pid_t p = act_whereis("web");
        if (p != ACT_PID_NONE && p != old)
            return p;
        usleep(5000);
    }
    return ACT_PID_NONE;
}

static void expect_hello(uint16_t port)
{
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
}

Test(server, runs_under_a_supervisor_restarts_on_its_port_and_stops_with_it)
{
    static http_config_t cfg = {.handler = hu_handler, .name = "web"};
    cfg.port = free_port();
    static const act_child_spec_t kids[] = {{HTTP_SERVER_CHILD("web", &cfg)}};
    act_sup_spec_t spec = {
        .name = "web_sup", .children = kids, .nchildren = 1, .max_restarts = 10, .max_seconds = 5};
    act_pid_t sup;
    cr_assert_eq(act_sup_start_link(&spec, &sup), 0);
    act_pid_t listener = act_whereis("web");
    cr_assert_neq(listener, ACT_PID_NONE, "the server serves when its start returns");
    expect_hello(cfg.port);

    /* Killed (and crashed) servers come back on the same port, at once. */
    for (int i = 0; i < 4; i++) {
        /* A connection of the old incarnation that has served a request, and one that has
         * just connected (it may still be starting). */
        hu_conn_t *idle = hu_connect(cfg.port);
        hu_resp_t r;
        hu_send(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
        cr_assert_eq(hu_read(idle, &r, false), 0);
        hu_resp_free(&r);
        hu_conn_t *fresh = i % 2 ? NULL : hu_connect(cfg.port);
        /* A shutdown signal is a graceful stop (then the permanent child comes back); a kill
         * is not trappable and takes the server down at once. */
        act_exit(listener, i % 2 ? ACT_KILL : ACT_SHUTDOWN);
        act_pid_t next = wait_new_listener(listener);
        cr_assert_neq(next, ACT_PID_NONE, "restart %d", i);
        cr_expect(hu_closed_within(idle, 2000), "the old server's connections go with it");
        hu_close(idle);
        if (fresh) {
            cr_expect(hu_closed_within(fresh, 2000), "a silent new connection is closed too");
            hu_close(fresh);
        }
        expect_hello(cfg.port);
        listener = next;
    }

    /* The supervisor's shutdown is a graceful stop: a request in flight is answered. */
    hu_conn_t *c = hu_connect(cfg.port);
    hu_send(c, "GET /sleep?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    usleep(50000);
    cr_assert_eq(act_sup_stop(sup, MS(10000)), 0);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    hu_resp_free(&r);
    hu_close(c);
    cr_expect_not(act_is_alive(listener));
    cr_expect_eq(hu_try_connect(cfg.port), NULL, "nothing listens after the stop");
    cr_expect_eq(act_whereis("web"), ACT_PID_NONE);
}

Test(server, a_child_start_on_a_taken_port_fails_the_supervisor_start)
{
    uint16_t port = hu_serve(NULL, NULL);
    static http_config_t cfg = {.handler = hu_handler};
    cfg.port = port;
    static const act_child_spec_t kids[] = {{HTTP_SERVER_CHILD("web", &cfg)}};
    act_sup_spec_t spec = {.name = "web_sup", .children = kids, .nchildren = 1};
    act_pid_t sup = ACT_PID_NONE;
    cr_assert_eq(act_sup_start_link(&spec, &sup), ACT_ECHILDSTART);
    cr_assert_eq(sup, ACT_PID_NONE);
    expect_hello(port); /* the server holding the port is untouched */
}

Test(server, a_killed_server_closes_the_connections_it_was_still_starting)
{
    /* Connections arrive in a burst and the listener is killed while their starts are in
     * flight: the requests that reach a dead connection supervisor come back to their worker
     * (ENOPROC), which closes them. Every client sees its close, nothing leaks (hu_fini). */
    enum { N = 300 };
    for (int round = 0; round < 3; round++) {
        http_config_t cfg = {.handler = hu_handler};
        http_server_t *srv;
        cr_assert_eq(http_server_start(&cfg, &srv), 0);
        uint16_t port = http_server_port(srv);
        expect_hello(port);
        hu_conn_t *c[N];
        for (int i = 0; i < N; i++)
            c[i] = hu_connect(port);
        act_ref_t ref;
        act_pid_t listener = http_server_pid(srv);
        cr_assert_eq(act_monitor(listener, &ref), 0);
        act_exit(listener, ACT_KILL);
        act_msg_t *m;
        cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(2000), &m), 0);
        act_msg_free(m);
        for (int i = 0; i < N; i++) {
            cr_expect(hu_closed_within(c[i], 3000), "round %d: connection %d left open", round, i);
            hu_close(c[i]);
        }
        http_server_free(srv);
    }
}
