/* Accepting at the limits: max_connections and the process's descriptor limit. Idle
 * connections make room for new clients, the longest idle first; with nothing idle, new
 * clients wait (max_connections) or are refused at once (no descriptor left). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_util.h"

TestSuite(listen, .timeout = TMO(60));

static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

/* A new connection with one request answered: idle keep-alive from then on. */
static hu_conn_t *served(uint16_t port)
{
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    cr_assert_eq(hu_send(c, get, -1), 0);
    int rc = hu_read(c, &r, false);
    cr_assert_eq(rc, 0, "a new client was not served (%d)", rc);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    return c;
}

/* Whether the server closed c: within a short time, since closes to make room are at once. */
static bool closed(hu_conn_t *c)
{
    return hu_closed_within(c, MS(1000));
}

Test(listen, idle_connections_make_room_at_max_connections_longest_idle_first, .init = hu_init,
     .fini = hu_fini)
{
    /* One scheduler: one worker, so "longest idle" is one order. */
    http_config_t cfg = {.handler = hu_handler, .schedulers = 1, .limits.max_connections = 3};
    uint16_t port = hu_serve_cfg(&cfg);
    hu_conn_t *a = served(port), *b = served(port), *c = served(port);
    hu_conn_t *d = served(port); /* a goes */
    cr_expect(closed(a), "the longest idle connection was not closed");
    hu_close(a);
    /* A silent new connection takes a slot too, then counts as idle from its accept. */
    hu_conn_t *e = hu_connect(port); /* b goes */
    cr_expect(closed(b));
    hu_close(b);
    usleep((useconds_t)MS(20) * 1000);
    hu_resp_t r;
    cr_assert_eq(hu_send(d, get, -1), 0); /* d is busy again, then idle since now */
    cr_assert_eq(hu_read(d, &r, false), 0);
    hu_resp_free(&r);
    hu_conn_t *f = served(port); /* c (idle longest), then e (silent since its accept) */
    cr_expect(closed(c));
    hu_close(c);
    hu_conn_t *g = served(port);
    cr_expect(closed(e));
    hu_close(e);
    /* The rest are well. */
    hu_conn_t *live[] = {d, f, g};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(hu_send(live[i], get, -1), 0);
        cr_assert_eq(hu_read(live[i], &r, false), 0, "connection %d", i);
        hu_resp_free(&r);
        hu_close(live[i]);
    }
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.accepted, 7u);
}

Test(listen, another_workers_idle_connections_make_room, .init = hu_init, .fini = hu_fini)
{
    http_config_t cfg = {.handler = hu_handler, .limits.max_connections = 4};
    uint16_t port = hu_serve_cfg(&cfg);
    hu_conn_t *c[12];
    for (int i = 0; i < 12; i++) /* wherever each lands, it is served */
        c[i] = served(port);
    for (int i = 0; i < 12; i++)
        hu_close(c[i]);
}

/* ---- the descriptor limit: a server in a child process with a low RLIMIT_NOFILE ------------ */

typedef struct {
    pid_t pid;
    uint16_t port;
    int ctl; /* closing it stops the server */
} child_t;

/* The descriptor limit that leaves exactly `room` numbers free below it: a new descriptor
 * takes the lowest free number, and must be under the limit (descriptors open above it, as a
 * sanitizer's runtime may keep, still work but leave no room). */
static rlim_t limit_for_room(int room)
{
    int fd = 0;
    for (int free_ = 0; free_ < room; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            free_++;
    return (rlim_t)fd;
}

/* Starts a server (one scheduler) in a child whose descriptor limit leaves room for `room`
 * more descriptors once it serves. The child exits 0 after a clean stop without a leak. */
static void child_start(child_t *ch, int room, const http_limits_t *lim)
{
    int up[2], down[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    ch->pid = fork();
    cr_assert_geq(ch->pid, 0);
    if (ch->pid == 0) {
        close(up[0]);
        close(down[1]);
        int64_t before = act_mem_live_blocks();
        act_config_t ac = {.schedulers = 1};
        if (act_system_start(&ac) != 0)
            _exit(2);
        http_config_t cfg = {.handler = hu_handler, .limits = *lim};
        http_server_t *srv;
        if (http_server_start(&cfg, &srv) != 0)
            _exit(3);
        usleep(100000); /* the worker is up: its descriptors are open */
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = limit_for_room(room);
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(4);
        uint16_t port = http_server_port(srv);
        if (write(up[1], &port, sizeof port) != sizeof port)
            _exit(5);
        char b;
        while (read(down[0], &b, 1) > 0)
            ;
        if (http_server_stop(srv, 2000) != 0 || act_system_stop() != 0)
            _exit(6);
        _exit(act_mem_live_blocks() == before ? 0 : 7);
    }
    close(up[1]);
    close(down[0]);
    ch->ctl = down[1];
    cr_assert_eq(read(up[0], &ch->port, sizeof ch->port), (ssize_t)sizeof ch->port);
    close(up[0]);
}

static void child_stop(child_t *ch)
{
    close(ch->ctl);
    int status = 0;
    int64_t end = act_now_ms() + MS(10000);
    while (waitpid(ch->pid, &status, WNOHANG) == 0) {
        if (act_now_ms() > end) {
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, &status, 0);
            cr_assert_fail("the server did not stop");
            return;
        }
        usleep(10000);
    }
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server's exit: %d", status);
}

Test(listen, at_the_descriptor_limit_idle_connections_make_room)
{
    child_t ch;
    http_limits_t lim = {0};
    child_start(&ch, 16, &lim);
    /* Four times as many clients as descriptors: each is served at once, the longest idle
     * connection closing for it (before, a new client waited for the idle timeout). */
    enum { N = 64 };
    hu_conn_t *c[N];
    for (int i = 0; i < N; i++) {
        int64_t t0 = act_now_ms();
        c[i] = served(ch.port);
        cr_expect_lt(act_now_ms() - t0, MS(1000), "client %d waited", i);
    }
    cr_expect(closed(c[0]), "the longest idle connection stayed");
    hu_resp_t r;
    cr_assert_eq(hu_send(c[N - 1], get, -1), 0);
    cr_assert_eq(hu_read(c[N - 1], &r, false), 0);
    hu_resp_free(&r);
    for (int i = 0; i < N; i++)
        hu_close(c[i]);
    child_stop(&ch);
}

Test(listen, at_the_descriptor_limit_with_nothing_idle_new_clients_are_refused_at_once)
{
    child_t ch;
    http_limits_t lim = {0}; /* a header timeout of 10 s: the busy ones stay */
    child_start(&ch, 16, &lim);
    enum { N = 24 };
    hu_conn_t *busy[N];
    for (int i = 0; i < N; i++) { /* more than fit: the rest wait in the backlog */
        busy[i] = hu_connect(ch.port);
        cr_assert_eq(hu_send(busy[i], "GET /hello HTTP/1.1\r\n", -1), 0);
    }
    usleep((useconds_t)MS(200) * 1000);
    /* A new client hears at once: a 503, or the close of a refused connection. */
    int64_t t0 = act_now_ms();
    hu_conn_t *c = hu_connect(ch.port);
    hu_send(c, get, -1);
    hu_resp_t r;
    int rc = hu_read(c, &r, false);
    cr_expect(rc == HU_CLOSED || (rc == 0 && r.status == 503), "refused: %d %d", rc, r.status);
    cr_expect_lt(act_now_ms() - t0, MS(2000), "the refusal took %lld ms",
                 (long long)(act_now_ms() - t0));
    hu_resp_free(&r);
    hu_close(c);
    /* Once the busy ones go, new clients are served again. */
    for (int i = 0; i < N; i++)
        hu_close(busy[i]);
    usleep((useconds_t)MS(300) * 1000);
    hu_close(served(ch.port));
    child_stop(&ch);
}
