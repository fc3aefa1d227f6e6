/* Whole-server scenarios on 127.0.0.1: 1,000 concurrent connections, a graceful stop under load
 * that loses no accepted request, slowloris beside normal clients. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_util.h"

TestSuite(load, .init = hu_init, .fini = hu_fini, .timeout = TMO(60));

static void raise_nofile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int connect_nb(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* A complete "hello" response: a head ending in CRLFCRLF then 5 bytes. */
static bool complete(const char *buf, size_t len)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);
    return e && (size_t)(e + 4 - buf) + 5 <= len;
}

#define NCONN 1000

Test(load, thousand_concurrent_connections)
{
    raise_nofile();
    uint16_t port = hu_serve(NULL, NULL);
    static int fds[NCONN];
    static char bufs[NCONN][256];
    static size_t lens[NCONN];
    for (int i = 0; i < NCONN; i++) {
        fds[i] = connect_nb(port);
        cr_assert_geq(fds[i], 0, "connect %d: %s", i, strerror(errno));
    }
    /* All open at once, then every one sends, then every one reads. */
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < NCONN; i++)
        cr_assert_eq(send(fds[i], req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    int done = 0;
    static struct pollfd pfd[NCONN];
    int64_t end = act_now_ms() + MS(20000);
    while (done < NCONN && act_now_ms() < end) {
        int n = 0;
        static int idx[NCONN];
        for (int i = 0; i < NCONN; i++) {
            if (!complete(bufs[i], lens[i])) {
                pfd[n] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                idx[n++] = i;
            }
        }
        if (poll(pfd, (nfds_t)n, 1000) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = idx[k];
            ssize_t r = recv(fds[i], bufs[i] + lens[i], sizeof bufs[i] - lens[i], 0);
            cr_assert_gt(r, 0, "connection %d closed or failed", i);
            lens[i] += (size_t)r;
            if (complete(bufs[i], lens[i]))
                done++;
        }
    }
    cr_assert_eq(done, NCONN);
    for (int i = 0; i < NCONN; i++)
        cr_expect(strncmp(bufs[i], "HTTP/1.1 200 ", 13) == 0, "response %d", i);
    http_server_stats_t st;
    http_server_stats(hu_server(), &st);
    cr_expect_eq(st.connections, (uint32_t)NCONN);
    cr_expect_eq(st.requests, (uint64_t)NCONN);
    for (int i = 0; i < NCONN; i++)
        close(fds[i]);
}

/* ---- graceful stop under load ---------------------------------------------------------------- */

typedef struct {
    uint16_t port;
    _Atomic uint64_t *ok;
    _Atomic uint64_t *failed;
    _Atomic uint64_t *unsent;
    _Atomic bool *go;
} load_arg_t;

static void *load_client(void *p)
{
    load_arg_t *a = p;
    hu_conn_t *c = NULL;
    for (;;) {
        if (!c && !(c = hu_try_connect(a->port)))
            break; /* refused: the server stopped listening */
        if (hu_send(c, "GET /sleep?ms=1 HTTP/1.1\r\nHost: t\r\n\r\n", -1) != 0) {
            atomic_fetch_add(a->unsent, 1);
            hu_close(c);
            c = NULL;
            continue;
        }
        hu_resp_t r;
        size_t before = c->len;
        int rc = hu_read(c, &r, false);
        if (rc == 0 && r.status == 200) {
            atomic_fetch_add(a->ok, 1);
            const char *h = hu_header(&r, "connection");
            bool close_it = h && strcmp(h, "close") == 0;
            hu_resp_free(&r);
            if (close_it) {
                hu_close(c);
                c = NULL;
            }
            continue;
        }
        /* Closed with no byte of a response: the request never reached a handler (an idle
         * keep-alive connection closed by the stop as the request left); a client retries
         * such a request elsewhere. A partial or wrong response, or none in time, is a
         * failure. */
        if (rc != HU_CLOSED || r.head || c->len > before)
            atomic_fetch_add(a->failed, 1);
        else
            atomic_fetch_add(a->unsent, 1);
        hu_resp_free(&r);
        hu_close(c);
        c = NULL;
    }
    hu_close(c);
    return NULL;
}

Test(load, graceful_stop_under_load_loses_no_accepted_request)
{
    raise_nofile();
    uint16_t port = hu_serve(NULL, NULL);
    _Atomic uint64_t ok = 0, failed = 0, unsent = 0;
    _Atomic bool go = true;
    enum { NT = 16 };
    pthread_t t[NT];
    load_arg_t a = {.port = port, .ok = &ok, .failed = &failed, .unsent = &unsent, .go = &go};
    for (int i = 0; i < NT; i++)
        pthread_create(&t[i], NULL, load_client, &a);
    usleep((useconds_t)MS(500) * 1000);
    http_server_t *s = hu_server();
    hu_stop_server_forget();
    act_ref_t ref;
    cr_assert_eq(act_monitor(http_server_pid(s), &ref), 0);
    http_server_stop_async(s, MS(5000));
    act_msg_t *m;
    cr_assert_eq(act_receive_type(ACT_MSG_DOWN, MS(10000), &m), 0);
    act_msg_free(m);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    http_server_stats_t st;
    http_server_stats(s, &st);
    http_server_free(s);
    cr_log_info("stop under load: %llu answered, %llu not sent, %llu failed, %llu dispatched",
                (unsigned long long)ok, (unsigned long long)unsent, (unsigned long long)failed,
                (unsigned long long)st.requests);
    cr_expect_eq(failed, 0u);
    cr_expect_gt(ok, 100u);
    /* A request goes unsent only when the stop closes its idle keep-alive connection as it
     * leaves the client, after the listening sockets closed: then the client's reconnect is
     * refused and it stops. So at most one per client. */
    cr_expect_leq(unsent, (uint64_t)NT, "%llu requests unsent by %d clients",
                  (unsigned long long)unsent, NT);
    /* Every request a handler got was answered and read by its client. */
    cr_expect_eq(st.requests, ok, "%llu dispatched, %llu answered", (unsigned long long)st.requests,
                 (unsigned long long)ok);
    cr_expect_eq(st.crashes, 0u);
}

/* ---- slowloris ------------------------------------------------------------------------------- */

#define NSLOW 200

Test(load, slowloris_is_cut_and_others_are_served)
{
    raise_nofile();
    http_limits_t lim = {.header_timeout_ms = (uint32_t)MS(1000)};
    uint16_t port = hu_serve(NULL, &lim);
    static int slow[NSLOW];
    for (int i = 0; i < NSLOW; i++) {
        slow[i] = connect_nb(port);
        cr_assert_geq(slow[i], 0);
        send(slow[i], "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ", 38, MSG_NOSIGNAL);
    }
    int64_t t0 = act_now_ms(), worst = 0;
    int served = 0;
    while (act_now_ms() - t0 < MS(1600)) {
        for (int i = 0; i < NSLOW; i++)
            send(slow[i], "a", 1, MSG_NOSIGNAL); /* a byte at a time, never a whole head */
        int64_t q0 = act_now_ms();
        hu_resp_t r;
        cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
        hu_resp_free(&r);
        int64_t took = act_now_ms() - q0;
        worst = took > worst ? took : worst;
        served++;
        usleep(50000);
    }
    cr_expect_gt(served, 10);
    cr_expect_lt(worst, MS(500), "a normal request waited %lld ms", (long long)worst);
    /* Every slow connection got its 408 and was closed. */
    int got408 = 0;
    for (int i = 0; i < NSLOW; i++) {
        char buf[512];
        size_t len = 0;
        int64_t end = act_now_ms() + MS(3000);
        for (;;) {
            struct pollfd pfd = {.fd = slow[i], .events = POLLIN};
            if (act_now_ms() > end || poll(&pfd, 1, 100) < 0)
                break;
            ssize_t n = recv(slow[i], buf + len, sizeof buf - 1 - len, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                break;
            if (n > 0)
                len += (size_t)n;
        }
        buf[len] = '\0';
        got408 += strncmp(buf, "HTTP/1.1 408 ", 13) == 0;
        close(slow[i]);
    }
    cr_expect_eq(got408, NSLOW);
}
