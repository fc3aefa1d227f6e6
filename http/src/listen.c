/*
 * Listening sockets and the worker actor.
 *
 * We create the sockets ourselves (libuv 1.44 has no SO_REUSEPORT flag) and watch each with a
 * uv_poll_t on its worker's loop; accept4 runs in the worker's turn, not in the poll callback,
 * because starting a connection needs an actor context (the connection is linked to whoever
 * starts it). The callback only sends the worker one ACCEPT at a time.
 *
 * At a limit (max_connections, or the process out of descriptors: EMFILE), idle connections
 * make room first, the longest idle first (http__conns_drain; as nginx's
 * ngx_drain_connections): a flood of idle connections then costs their owners the connection,
 * never a new client its service. With none idle here, the other workers are asked to drain
 * theirs (DRAIN), and accepting pauses (the poll stops, clients wait in the kernel's backlog):
 * at max_connections until a connection closes below it (http__server_conn_gone sends RESUME),
 * at EMFILE for 100 ms, as nginx does. At EMFILE with nothing idle anywhere (none here at two
 * tries in a row), what the backlog holds is refused with a 503 through a descriptor kept in
 * reserve (`spare`), rather than leaving those clients waiting.
 * A reservation (a CAS on the server's count) precedes each accept4, so the count never
 * passes the limit even with several workers accepting at once.
 *
 * Stop, in two steps driven by the listener, so no connection is started for a worker that
 * has already decided it is done: WCLOSE takes what the backlog holds and closes the socket
 * (every worker, then the listener moves on), WSTOP tells the worker's connections to finish
 * and the worker exits once the last is gone (counting connections started for it by another
 * worker but not initialized yet: `incoming`). The worker outlives its connections because
 * they use its timers and pools.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "actor/report.h"
#include "conn_int.h"

#define ACCEPT_BATCH 64
#define EMFILE_RETRY_MS 100

int http__listen_open(http_server_t *srv, int *fds, unsigned n)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    const char *host = srv->cfg.host;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        sl = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        sl = sizeof *in6;
    } else {
        return ACT_EBADARG;
    }
    uint16_t port = srv->cfg.port;
    unsigned i = 0;
    int rc = 0;
    if (n > 1 && port != 0) {
        /* SO_REUSEPORT would let us share a port another server of this user already holds:
         * bind a plain socket first to learn whether the port is free. */
        int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return -errno;
        int one = 1;
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ss.ss_family == AF_INET)
            in->sin_port = htons(port);
        else
            in6->sin6_port = htons(port);
        rc = bind(probe, (struct sockaddr *)&ss, sl) == 0 ? 0 : -errno;
        close(probe);
        if (rc)
            return rc;
    }
    for (; i < n; i++) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            break;
        }
        fds[i] = fd;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (n > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            rc = -errno;
            close(fd);
            break;
        }
        if (ss.ss_family == AF_INET)
            in->sin_port = htons(port);
        else
            in6->sin6_port = htons(port);
        if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, srv->cfg.backlog) != 0) {
            rc = -errno;
            close(fd);
            break;
        }
        if (i == 0) {
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            getsockname(fd, (struct sockaddr *)&got, &gl);
            port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                  : ((struct sockaddr_in6 *)&got)->sin6_port);
            srv->port = port;
        }
    }
    if (rc) {
        while (i--)
            close(fds[i]);
    }
    return rc;
}

/* ---- the worker actor ---------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    http__worker_t *w = h->data;
    if (--w->handles == 0)
        http__server_unref(w->srv);
}

/* The worker's epoll set of connections is readable: hand its events out. Edge-triggered, so
 * an event comes once per change, and a batch never repeats one. */
static void on_conn_events(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    http__worker_t *w = h->data;
    struct epoll_event ev[256];
    int n;
    do {
        n = epoll_wait(w->efd, ev, 256, 0);
        for (int i = 0; i < n; i++)
            http__conn_io(ev[i].data.ptr, ev[i].events);
    } while (n == 256);
}

static void on_spin(uv_idle_t *h)
{
    (void)h; /* only there to keep the loop from blocking while output is corked */
}

/* Once per loop turn: the connections' corked output (conn.c decides what to flush). While any
 * cork is kept the idle handle stops the loop from blocking, so the next turns come (an idle
 * scheduler spins through them in microseconds). */
static void on_flush_hook(uv_prepare_t *h)
{
    http__worker_t *w = h->data;
    if (w->ncorked == 0 && !w->spinning)
        return;
    bool kept = http__conns_flush_corked(w);
    if (kept == w->spinning)
        return;
    if (kept)
        uv_idle_start(&w->spin, on_spin);
    else
        uv_idle_stop(&w->spin);
    w->spinning = kept;
}

static void on_listen_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    http__worker_t *w = h->data;
    if (w->accept_pending)
        return;
    w->accept_pending = true;
    act_send(HTTP__PID(w->pid), act_msg_alloc(sizeof(act_msg_t), HTTP__M_ACCEPT));
}

static void accept_start(http__worker_t *w)
{
    if (w->lfd < 0 || w->accepting || w->paused_full || w->paused_fds)
        return;
    if (uv_poll_start(&w->lpoll, UV_READABLE, on_listen_poll) == 0)
        w->accepting = true;
}

static void accept_stop(http__worker_t *w)
{
    if (!w->accepting)
        return;
    uv_poll_stop(&w->lpoll);
    w->accepting = false;
}

static void pause_note(http__worker_t *w, const char *why)
{
    uint32_t n = atomic_fetch_add_explicit(&w->srv->pauses, 1, memory_order_relaxed);
    if (n == 0)
        act_report_library("http", 0, "port %u: accepting paused (%s); resumes below the limit",
                           w->srv->port, why);
}

/* Whether a client waits in the backlog (at a limit, before closing anything for it: neither
 * the reservation nor an accept4 failing with EMFILE says so). */
static bool backlog_pending(http__worker_t *w)
{
    struct pollfd p = {.fd = w->lfd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Asks the other workers to close idle connections of theirs (their closes send RESUME). */
static void drain_others(http__worker_t *w)
{
    http_server_t *srv = w->srv;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        act_pid_t pid = HTTP__PID(srv->workers[i].pid);
        if (&srv->workers[i] != w && pid)
            act_send(pid, act_msg_alloc(sizeof(act_msg_t), HTTP__M_DRAIN));
    }
}

/* Out of descriptors with nothing idle to close: accepts what the backlog holds through the
 * reserved descriptor and refuses it, one at a time, so those clients hear at once. */
static void refuse_backlog(http__worker_t *w)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\nRetry-After: 1\r\n\r\n";
    if (w->spare >= 0) {
        close(w->spare);
        w->spare = -1;
    }
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        ssize_t sent = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)sent; /* best effort: the close says it too */
        close(fd);
        atomic_fetch_add_explicit(&w->srv->rejected, 1, memory_order_relaxed);
    }
    /* Another thread may have taken the freed slot meanwhile: then the next retry tries again. */
    w->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void do_accept(http__worker_t *w)
{
    http_server_t *srv = w->srv;
    w->accept_pending = false;
    if (w->lfd < 0)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (!http__server_conn_reserve(srv)) {
            if (!backlog_pending(w))
                return; /* nobody waits: the next client's poll event comes back here */
            if (http__conns_drain(w) > 0)
                continue; /* their slots are free again */
            drain_others(w);
            accept_stop(w);
            w->paused_full = true;
            /* A connection may have closed between the reservation and the flag: look
             * again, so a RESUME is never missed. */
            if (http__server_conn_reserve(srv)) {
                http__server_conn_gone(srv);
                w->paused_full = false;
                accept_start(w);
                continue;
            }
            pause_note(w, "max_connections reached");
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            http__server_conn_gone(srv);
            if (err == EINTR || err == ECONNABORTED || err == EPROTO)
                continue;
            bool nofd = err == EMFILE || err == ENFILE;
            if (nofd && !backlog_pending(w))
                return;
            if (nofd && http__conns_drain(w) > 0)
                continue; /* their descriptors are free again */
            if (nofd || err == ENOBUFS || err == ENOMEM) {
                /* Nothing idle here: the other workers may have some. If they had nothing
                 * either at the last retry (or there are none), refuse the waiting clients. */
                if (nofd && (w->starved || w->srv->nworkers == 1))
                    refuse_backlog(w);
                if (nofd) {
                    w->starved = true;
                    drain_others(w);
                }
                accept_stop(w);
                w->paused_fds = true;
                pause_note(w, "out of file descriptors");
                act_send_after(HTTP__PID(w->pid), EMFILE_RETRY_MS,
                               act_msg_alloc(sizeof(act_msg_t), HTTP__M_RETRY), NULL);
            }
            return; /* EAGAIN: the backlog is empty */
        }
        w->starved = false;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        atomic_fetch_add_explicit(&srv->accepted, 1, memory_order_relaxed);
        http__worker_t *target = w;
        if (srv->mode == HTTP_ACCEPT_SINGLE)
            target = &srv->workers[w->rr++ % srv->nworkers];
        if (http__conn_start(w, target, fd, (struct sockaddr *)&ss, sl) != 0) {
            close(fd);
            http__server_conn_gone(srv);
        }
    }
}

static void close_listener(http__worker_t *w)
{
    if (w->lfd < 0)
        return;
    accept_stop(w);
    uv_close((uv_handle_t *)&w->lpoll, on_handle_closed);
    close(w->lfd);
    w->lfd = -1;
}

static bool done(http__worker_t *w)
{
    /* acquire: pairs with the release in the connection's init. */
    return w->stopping && w->nconns == 0 &&
           atomic_load_explicit(&w->incoming, memory_order_acquire) == 0;
}

static int worker_init(void *state, void *arg)
{
    (void)arg;
    http__worker_t *w = state;
    http_server_t *srv = w->srv;
    atomic_store_explicit(&w->pid, act_self(), memory_order_relaxed);
    w->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    http__pool_init(&w->rbufs, HTTP__RBUF_SIZE, 256);
    http__pool_init(&w->arenas, HTTP__ARENA_BLOCK, 1024);
    http__server_ref(srv); /* released when the last handle has closed */
    int rc = http__timers_init(w);
    if (rc)
        return rc;
    w->handles = 1;
    uv_prepare_init(act_loop(), &w->flush);
    w->flush.data = w;
    w->handles++;
    uv_prepare_start(&w->flush, on_flush_hook);
    uv_idle_init(act_loop(), &w->spin);
    w->spin.data = w;
    w->handles++;
    /* The connections' sockets: one edge-triggered epoll set per worker, itself watched by the
     * loop. libuv's own polling is level-triggered, which makes the kernel poll every ready
     * socket again at each epoll_wait (tcp_poll, measured at 5% of the server's CPU), and its
     * uv_poll_t would be 160 of the bytes of every idle connection. */
    if ((w->efd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return -errno;
    if ((rc = uv_poll_init(act_loop(), &w->epoll, w->efd)) != 0) {
        close(w->efd);
        w->efd = -1;
        return rc;
    }
    w->epoll.data = w;
    w->handles++;
    uv_poll_start(&w->epoll, UV_READABLE, on_conn_events);
    if (w->lfd >= 0) {
        if ((rc = uv_poll_init_socket(act_loop(), &w->lpoll, w->lfd)) != 0) {
            close(w->lfd);
            w->lfd = -1;
            return rc;
        }
        w->lpoll.data = w;
        w->handles++;
        accept_start(w);
    }
    return 0;
}

static int worker_handle(void *state, act_msg_t *m)
{
    http__worker_t *w = state;
    switch (m->type) {
    case HTTP__M_ACCEPT:
        do_accept(w);
        break;
    case HTTP__M_RESUME:
        if (w->paused_full) {
            w->paused_full = false;
            accept_start(w);
        }
        break;
    case HTTP__M_RETRY:
        w->paused_fds = false;
        if (w->spare < 0)
            w->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        accept_start(w);
        break;
    case HTTP__M_DRAIN:
        http__conns_drain(w);
        break;
    case HTTP__M_WCLOSE:
        if (w->lfd >= 0) {
            w->paused_full = w->paused_fds = false;
            do_accept(w); /* what the backlog holds was accepted by the kernel: serve it */
            close_listener(w);
        }
        act_send(HTTP__PID(w->srv->listener), act_msg_alloc(sizeof(act_msg_t), HTTP__M_WCLOSED));
        break;
    case HTTP__M_WSTOP:
        w->stopping = true;
        http__conns_signal(w, HTTP__M_STOP);
        break;
    case HTTP__M_WFORCE:
        http__conns_signal(w, HTTP__M_FORCE);
        break;
    case ACT_MSG_EXIT: {
        const act_down_t *d = (const act_down_t *)m;
        if (d->pid == HTTP__PID(w->srv->listener) && d->reason != ACT_NORMAL) {
            /* The listener died: so does the server, connections first. */
            w->stopping = true;
            close_listener(w);
            http__conns_signal(w, HTTP__M_FORCE);
        }
        break; /* a connection's exit: it is temporary, nothing to do */
    }
    case ACT_MSG_SUP_STARTED: {
        const act_sup_started_t *r = (const act_sup_started_t *)m;
        http__conn_start_failed(w, r->extra, r->status);
        break;
    }
    default: /* HTTP__M_DRAINED */
        break;
    }
    return done(w) ? act_stop(ACT_NORMAL) : 0;
}

static void worker_terminate(void *state, int reason)
{
    (void)reason;
    http__worker_t *w = state;
    if (w->spare >= 0)
        close(w->spare);
    w->spare = -1;
    if (w->handles == 0) {
        http__server_unref(w->srv); /* init failed before any handle */
        return;
    }
    w->closed = true;
    close_listener(w);
    if (w->efd >= 0) {
        uv_close((uv_handle_t *)&w->epoll, on_handle_closed);
        close(w->efd);
        w->efd = -1;
    }
    uv_close((uv_handle_t *)&w->timer, on_handle_closed);
    uv_close((uv_handle_t *)&w->flush, on_handle_closed);
    uv_close((uv_handle_t *)&w->spin, on_handle_closed);
}

const act_behaviour_t http__worker_behaviour = {
    .name = "http_worker",
    .init = worker_init,
    .handle = worker_handle,
    .terminate = worker_terminate,
};
