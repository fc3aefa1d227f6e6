/*
 * Servers: configuration, the listener actor, start and graceful stop.
 *
 * http_server_start binds in the caller (so a taken port is an error right there), then spawns
 * the listener: a fiber, because it starts the connections' dynamic supervisors with
 * act_sup_start_link (which waits; one per scheduler, pinned there), then one worker per
 * scheduler, all linked to it. The server's memory is reference-counted (account.c): the
 * caller's handle, the listener, each worker, connection and request hold one, so it outlives
 * whatever still runs on it. http_server_child_start starts the
 * listener with act_start_link instead, linked to a supervisor; it acknowledges once serving.
 *
 * Stop (the listener): WCLOSE to every worker; once all listening sockets are closed, WSTOP
 * to every worker (each tells its connections, and exits when they are gone); at the deadline
 * WFORCE (connections close at once, their fibers get CLOSED, and are killed a second later if
 * still running). The listener exits when its last worker has, after stopping the supervisors.
 * An exit signal from the listener's own parent (a supervisor embedding the server) starts
 * the same stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor/report.h"
#include "conn_int.h"

#define DEFAULT_STOP_MS 5000

/* ---- the listener ------------------------------------------------------------------------ */

static void to_workers(http_server_t *srv, uint32_t type)
{
    for (unsigned i = 0; i < srv->nworkers; i++)
        if (HTTP__PID(srv->workers[i].pid))
            act_send(HTTP__PID(srv->workers[i].pid), act_msg_alloc(sizeof(act_msg_t), type));
}

/* Starts the connections' supervisors, then the workers. */
static int listener_setup(http_server_t *srv)
{
    const act_child_spec_t conn_tmpl = {
        .id = "http_conn",
        .start = http__conn_child_start,
        .arg = srv,
        .restart = ACT_TEMPORARY,
        /* A connection asked to shut down closes its socket and waits for its handler (told
         * its connection is gone); past this it is killed, and so is its handler. */
        .shutdown = 5000,
    };
    act_pid_t pid;
    int rc;
    /* One supervisor per scheduler, beside the connections it starts there. The server's own
     * count enforces max_connections across them, counting sockets: a connection whose socket
     * is closed (to make room for a new one, or by its client) may still be an actor waiting
     * for its handler to end, so the supervisor's children may outnumber the limit for a while,
     * and max_children stays off. */
    for (unsigned i = 0; i < srv->nworkers; i++) {
        const act_sup_spec_t sup = {
            .name = "http_conns",
            .strategy = ACT_SIMPLE_ONE_FOR_ONE,
            .children = &conn_tmpl,
            .nchildren = 1,
            .sched = ACT_SCHED_ON((int)i),
        };
        if ((rc = act_sup_start_link(&sup, &pid)) != 0)
            return rc; /* the ones started die with us through the links */
        atomic_store_explicit(&srv->workers[i].conn_sup, pid, memory_order_relaxed);
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        act_spawn_opts_t o = {.behaviour = &http__worker_behaviour,
                              .state = &srv->workers[i],
                              .sched = ACT_SCHED_ON((int)i),
                              .link = true,
                              .trap_exit = true};
        if ((rc = act_spawn(&o, &pid)) != 0)
            return rc; /* the ones started die with us through the links */
        atomic_store_explicit(&srv->workers[i].pid, pid, memory_order_relaxed);
        srv->live_workers++;
    }
    return 0;
}

/* One message; returns 0 to go on, 1 when done, or a reason to exit with. */
static int listener_handle(http_server_t *srv, act_msg_t *m)
{
    switch (m->type) {
    case HTTP__M_LSTOP:
        if (!srv->stopping) {
            srv->stopping = true;
            int64_t ms = ((http__stop_t *)m)->timeout_ms;
            to_workers(srv, HTTP__M_WCLOSE);
            act_send_after(act_self(), ms < 0 ? 0 : ms,
                           act_msg_alloc(sizeof(act_msg_t), HTTP__M_DEADLINE), NULL);
        }
        return 0;
    case HTTP__M_WCLOSED:
        if (++srv->closed_workers == srv->nworkers)
            to_workers(srv, HTTP__M_WSTOP);
        return 0;
    case HTTP__M_DEADLINE:
        to_workers(srv, HTTP__M_WFORCE);
        return 0;
    case ACT_MSG_EXIT: {
        const act_down_t *d = (const act_down_t *)m;
        for (unsigned i = 0; i < srv->nworkers; i++) {
            if (HTTP__PID(srv->workers[i].pid) != d->pid)
                continue;
            if (d->reason != ACT_NORMAL && !srv->stopping)
                return d->reason; /* a worker crashed: the server goes down with it */
            return --srv->live_workers == 0 ? 1 : 0;
        }
        for (unsigned i = 0; i < srv->nworkers; i++)
            if (d->pid == HTTP__PID(srv->workers[i].conn_sup))
                return d->reason == ACT_NORMAL ? ACT_SHUTDOWN : d->reason;
        /* Our parent (when a supervisor started us) asks us to stop: gracefully. */
        if (!srv->stopping) {
            http__stop_t *st = act_msg_new(http__stop_t, HTTP__M_LSTOP);
            st->timeout_ms = srv->cfg.stop_timeout_ms;
            act_send(act_self(), &st->hdr);
        }
        return 0;
    }
    default:
        return 0;
    }
}

static void listener_on_exit(void *arg, int reason)
{
    (void)reason;
    http_server_t *srv = arg;
    if (srv->cfg.name)
        act_unregister(srv->cfg.name);
    http__server_unref(srv);
}

static void listener_main(void *arg)
{
    http_server_t *srv = arg;
    act_fiber_on_exit(listener_on_exit, srv);
    atomic_store_explicit(&srv->listener, act_self(), memory_order_relaxed);
    int rc = listener_setup(srv);
    if (rc) {
        act_report_library("http", rc, "port %u: cannot start", srv->port);
        act_init_ack(rc); /* started by http_server_child_start: fails its start */
        act_fail(rc);
    }
    if (srv->cfg.name)
        act_register(srv->cfg.name, act_self());
    act_init_ack(0); /* started by http_server_child_start: it serves now (else a no-op) */
    for (;;) {
        act_msg_t *m;
        if (act_receive(NULL, NULL, ACT_INFINITY, &m) != 0)
            continue;
        rc = listener_handle(srv, m);
        act_msg_free(m);
        if (rc == 1)
            break;
        if (rc)
            act_fail(rc);
    }
    /* Every worker is gone, so is every connection: the supervisors have nothing left. */
    for (unsigned i = srv->nworkers; i-- > 0;)
        act_sup_stop(HTTP__PID(srv->workers[i].conn_sup), ACT_INFINITY);
}

/* ---- the API ------------------------------------------------------------------------------- */

#define DEF(field, v)                                                                              \
    do {                                                                                           \
        if (l->field == 0)                                                                         \
            l->field = (v);                                                                        \
    } while (0)

static void limits_defaults(http_limits_t *l)
{
    DEF(max_request_line, 8192);
    DEF(max_header_size, 16384);
    DEF(max_headers, 100);
    DEF(max_body_size, 8u << 20);
    DEF(header_timeout_ms, 10000);
    DEF(body_timeout_ms, 30000);
    DEF(idle_timeout_ms, 60000);
    DEF(write_timeout_ms, 60000);
    DEF(max_keepalive, 10000);
    DEF(max_connections, 65536);
    DEF(max_skip_body, 65536);
    if (l->max_body_size >= HTTP_UNLIMITED)
        l->max_body_size = UINT64_MAX;
}

static char *dup_or_null(const char *s)
{
    return s ? act_strdup(s) : NULL;
}

static int server_start(const http_config_t *cfg, http_server_t **out, bool linked)
{
    if (!cfg || !cfg->handler || !out)
        return ACT_EBADARG;
    unsigned nsched = act_sched_count();
    if (nsched == 0)
        return ACT_ENOTRUNNING;
    static _Atomic bool sigpipe_ignored;
    if (!atomic_exchange_explicit(&sigpipe_ignored, true, memory_order_relaxed))
        signal(SIGPIPE, SIG_IGN);

    http_server_t *srv = act_calloc_aligned(64, sizeof *srv);
    if (!srv)
        return ACT_ENOMEM;
    srv->cfg = *cfg;
    srv->cfg.host = act_strdup(cfg->host ? cfg->host : "127.0.0.1");
    srv->cfg.server_name = act_strdup(cfg->server_name ? cfg->server_name : "dynamo");
    srv->cfg.name = dup_or_null(cfg->name);
    if (srv->cfg.backlog <= 0)
        srv->cfg.backlog = 4096;
    if (srv->cfg.stop_timeout_ms <= 0)
        srv->cfg.stop_timeout_ms = DEFAULT_STOP_MS;
    srv->lim = cfg->limits;
    limits_defaults(&srv->lim);
    srv->cfg.limits = srv->lim;
    srv->server_name_len = srv->cfg.server_name ? strlen(srv->cfg.server_name) : 0;
    srv->mode = cfg->accept_mode == HTTP_ACCEPT_DEFAULT ? HTTP_ACCEPT_REUSEPORT : cfg->accept_mode;
    srv->nworkers = cfg->schedulers && cfg->schedulers < nsched ? cfg->schedulers : nsched;
    if (srv->nworkers == 1)
        srv->mode = HTTP_ACCEPT_SINGLE;
    atomic_init(&srv->refs, 1);
    srv->workers = act_calloc_aligned(64, srv->nworkers * sizeof *srv->workers);
    for (unsigned i = 0; srv->workers && i < srv->nworkers; i++) {
        srv->workers[i].srv = srv;
        srv->workers[i].index = i;
        srv->workers[i].lfd = -1;
        srv->workers[i].efd = -1;
        srv->workers[i].spare = -1;
    }
    if (!srv->cfg.host || !srv->cfg.server_name || (cfg->name && !srv->cfg.name) || !srv->workers) {
        http__server_unref(srv);
        return ACT_ENOMEM;
    }
    int fds[1024];
    unsigned nsock = srv->mode == HTTP_ACCEPT_REUSEPORT ? srv->nworkers : 1;
    if (nsock > 1024)
        nsock = 1024;
    int rc = http__listen_open(srv, fds, nsock);
    if (rc) {
        http__server_unref(srv);
        return rc;
    }
    for (unsigned i = 0; i < nsock; i++)
        srv->workers[i].lfd = fds[i];

    http__server_ref(srv); /* the listener's */
    act_spawn_opts_t o = {.fiber = listener_main, .arg = srv, .trap_exit = true};
    act_pid_t lpid;
    rc = linked ? act_start_link(&o, ACT_INFINITY, &lpid) : act_spawn(&o, &lpid);
    if (rc) {
        /* The listener stores its pid first thing, after setting its exit hook: if it never
         * ran, its reference is ours to drop too; if it did, its hook drops it. */
        if (HTTP__PID(srv->listener) == ACT_PID_NONE)
            http__server_unref(srv);
        http__server_unref(srv);
        return rc;
    }
    atomic_store_explicit(&srv->listener, lpid, memory_order_relaxed);
    *out = srv;
    return 0;
}

int http_server_start(const http_config_t *cfg, http_server_t **out)
{
    return server_start(cfg, out, false);
}

#define CHILD_RETRY_MS 1000

int http_server_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    return http_server_child_start_port(cs, out, NULL);
}

int http_server_child_start_port(const act_child_start_t *cs, act_pid_t *out, uint16_t *port)
{
    http_server_t *srv;
    int rc = http_server_child_start_keep(cs, out, &srv);
    if (rc)
        return rc;
    if (port)
        *port = srv->port;
    http_server_free(srv); /* the listener keeps the server alive */
    return 0;
}

int http_server_child_start_keep(const act_child_start_t *cs, act_pid_t *out, http_server_t **keep)
{
    const http_config_t *cfg = cs->arg;
    http_server_t *srv;
    int rc;
    /* A restart may come before the old workers, on other schedulers, have closed the
     * listening sockets of the incarnation that just died: give them a moment. */
    for (int64_t waited = 0;; waited += 5) {
        rc = server_start(cfg, &srv, true);
        if (rc != -EADDRINUSE || waited >= CHILD_RETRY_MS)
            break;
        act_sleep(5);
    }
    if (rc)
        return rc;
    *out = HTTP__PID(srv->listener);
    *keep = srv;
    return 0;
}

uint16_t http_server_port(const http_server_t *srv)
{
    return srv->port;
}

act_pid_t http_server_pid(const http_server_t *srv)
{
    return HTTP__PID(srv->listener);
}

void http_server_stop_async(http_server_t *srv, int64_t timeout_ms)
{
    http__stop_t *m = act_msg_new(http__stop_t, HTTP__M_LSTOP);
    m->timeout_ms = timeout_ms < 0 ? DEFAULT_STOP_MS : timeout_ms;
    act_send(HTTP__PID(srv->listener), &m->hdr);
}

static bool match_down(const act_msg_t *m, void *arg)
{
    return m->type == ACT_MSG_DOWN && m->ref == *(act_ref_t *)arg;
}

static bool match_none(const act_msg_t *m, void *arg)
{
    (void)m;
    (void)arg;
    return false;
}

int http_server_stop(http_server_t *srv, int64_t timeout_ms)
{
    /* A plain actor cannot wait: find out before starting anything. */
    act_msg_t *none;
    if (act_receive(match_none, NULL, 0, &none) == ACT_ENOTFIBER)
        return ACT_ENOTFIBER;
    act_ref_t ref;
    int rc = act_monitor(HTTP__PID(srv->listener), &ref);
    if (rc)
        return rc;
    http_server_stop_async(srv, timeout_ms);
    act_msg_t *m;
    rc = act_receive(match_down, &ref, ACT_INFINITY, &m);
    if (rc) {
        act_demonitor(ref, ACT_DEMONITOR_FLUSH);
        return rc;
    }
    act_msg_free(m);
    http_server_free(srv);
    return 0;
}

void http_server_free(http_server_t *srv)
{
    if (srv)
        http__server_unref(srv);
}

void http_server_stats(const http_server_t *srv, http_server_stats_t *out)
{
    *out = (http_server_stats_t){
        .accepted = atomic_load_explicit(&srv->accepted, memory_order_relaxed),
        .requests = atomic_load_explicit(&srv->requests, memory_order_relaxed),
        .rejected = atomic_load_explicit(&srv->rejected, memory_order_relaxed),
        .crashes = atomic_load_explicit(&srv->crashes, memory_order_relaxed),
        .connections = atomic_load_explicit(&srv->nconns, memory_order_relaxed),
        .accept_pauses = atomic_load_explicit(&srv->pauses, memory_order_relaxed),
    };
}
