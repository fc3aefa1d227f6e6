/*
 * The HTTP/1.1 server: configuration, limits, start and graceful stop.
 *
 * A server is a tree of actors. A listener actor (the server's top) starts one worker actor per
 * scheduler, each pinned to its scheduler. A worker accepts connections (each worker has its own
 * SO_REUSEPORT socket, or worker 0 accepts for all and deals sockets out in turn: see
 * http_accept_mode_t) and starts a connection actor per socket, pinned to a scheduler whose
 * loop then owns the socket. A connection actor reads, parses with llhttp, and runs each request
 * in a fresh fiber actor that calls the configured handler (req.h, resp.h); it writes what the
 * fiber sends back, in order, and keeps the connection alive by HTTP/1.0 and 1.1 rules. An idle
 * keep-alive connection holds no fiber and no read buffer (well under 1 KiB).
 *
 * Bad input gets its answer (400, 408, 413, 414, 431, 501, 505) and the connection closes; a
 * crash of a handler answers 500 (or closes, if its response had started) and the connection
 * lives on.
 *
 * The process ignores SIGPIPE once a server starts (writes to a closed socket must return EPIPE,
 * not kill the node), as nginx does.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include "actor/act.h"
#include "http/types.h"

typedef struct http_req http_req_t;
typedef struct http_server http_server_t;

/* The request handler: runs in the request's own fiber actor, so it may block (read the body,
 * stream with back-pressure, act_call other actors...). It borrows req until it returns. If it
 * returns without a response, the server answers 204 (as Cowboy does); if it crashes (act_fail,
 * a kill), 500 if nothing was sent yet, else the connection closes. */
typedef void (*http_handler_fn)(http_req_t *req, void *arg);

/* Limits and timeouts. 0 in any field means its default (in brackets); HTTP_UNLIMITED turns a
 * limit off. Exceeding one gets a clear answer, then the connection closes. */
#define HTTP_UNLIMITED UINT32_MAX
typedef struct http_limits {
    uint32_t max_request_line;  /* [8192] bytes of the request target: 414 */
    uint32_t max_header_size;   /* [16384] bytes of all header lines: 431 */
    uint32_t max_headers;       /* [100] header fields: 431 */
    uint64_t max_body_size;     /* [8 MiB] request body bytes: 413 */
    uint32_t header_timeout_ms; /* [10000] to receive a whole request head, counted from its
                                   first byte (slowloris) or from the accept: 408 */
    uint32_t body_timeout_ms;   /* [30000] between two pieces of a body the handler waits for:
                                   the read fails with -ETIMEDOUT, then 408 */
    uint32_t idle_timeout_ms;   /* [60000] keep-alive wait for the next request: closed */
    uint32_t write_timeout_ms;  /* [60000] without any progress writing to a client: closed */
    uint32_t max_keepalive;     /* [10000] requests per connection, then Connection: close */
    uint32_t max_connections;   /* [65536] open connections. At the limit (and when the process
                                   runs out of descriptors) idle connections, keep-alive or new
                                   and silent, are closed to make room, the longest idle first;
                                   with none idle the server stops accepting (clients wait in
                                   the backlog) and resumes below; out of descriptors, waiting
                                   clients are refused (503) */
    uint32_t max_skip_body;     /* [65536] bytes of an unread body the server discards to keep
                                   the connection; larger ones close it */
} http_limits_t;

/* How connections are accepted. Both measure the same with scripts/bench-http.sh (docs/http.md
 * has the numbers); the default needs no hand-off of sockets between schedulers. */
typedef enum http_accept_mode {
    HTTP_ACCEPT_DEFAULT = 0, /* HTTP_ACCEPT_REUSEPORT */
    HTTP_ACCEPT_REUSEPORT,   /* one SO_REUSEPORT socket per scheduler, connections stay there */
    HTTP_ACCEPT_SINGLE,      /* one socket on scheduler 0, connections dealt out in turn */
} http_accept_mode_t;

typedef struct http_config {
    const char *host;        /* address to bind ["127.0.0.1"]; "0.0.0.0", "::" for all */
    uint16_t port;           /* 0: an ephemeral port (http_server_port tells which) */
    http_handler_fn handler; /* required */
    void *handler_arg;       /* handler's second argument */
    http_limits_t limits;
    http_accept_mode_t accept_mode;
    unsigned schedulers;     /* schedulers serving connections [0: all of them] */
    int backlog;             /* listen(2) backlog [4096] */
    const char *server_name; /* Server header value ["dynamo"]; "" sends none */
    size_t stack_size;       /* request fiber stack [0: the runtime's default] */
    const char *name;        /* registers the listener actor under this name (optional) */
    int64_t stop_timeout_ms; /* graceful stop asked by an exit signal (a supervisor shutting
                                the server down): in-flight requests get this long [5000] */
} http_config_t;

/* Starts a server: binds and listens at once (so a taken port fails here, -EADDRINUSE), then
 * starts its actors; *out gets the handle. cfg is copied. Returns 0, ACT_EBADARG (no handler,
 * bad host), ACT_ENOTRUNNING, -errno from socket/bind/listen, or ACT_ENOMEM. Any thread
 * (a plain actor too: it never blocks). */
HTTP_API int http_server_start(const http_config_t *cfg, http_server_t **out);

/* A start function for supervisor child specs (sup.h): starts the server configured by
 * cs->arg (a const http_config_t *, borrowed for the supervisor's life), linked to the
 * supervisor, and returns once it serves (0, or http_server_start's errors: a port still held
 * by the previous incarnation of a restarting server is retried for up to 1 s before
 * -EADDRINUSE). The child is the listener; the caller's handle is not kept, so name the server
 * (cfg.name) to find it. The supervisor's shutdown signal makes it stop gracefully within
 * cfg.stop_timeout_ms; HTTP_SERVER_CHILD gives the child a shutdown well above that.
 *     static const act_child_spec_t kids[] = {{HTTP_SERVER_CHILD("web", &web_cfg)}};   */
HTTP_API int http_server_child_start(const act_child_start_t *cs, act_pid_t *out);
/* The same, and *port (may be NULL) gets the bound port (the one the kernel chose when
 * cfg->port is 0), for start functions of layers that embed a server. */
HTTP_API int http_server_child_start_port(const act_child_start_t *cs, act_pid_t *out,
                                          uint16_t *port);
/* The same, and *keep gets a reference to the server (release it with http_server_free), for
 * an owner that reads its counters (http_server_stats) while it runs. */
HTTP_API int http_server_child_start_keep(const act_child_start_t *cs, act_pid_t *out,
                                          http_server_t **keep);
#define HTTP_SERVER_CHILD(id_, cfg_)                                                               \
    .id = (id_), .start = http_server_child_start, .arg = (void *)(cfg_), .shutdown = 15000

/* The bound port (useful with port 0). Any thread. */
HTTP_API uint16_t http_server_port(const http_server_t *srv);

/* The listener actor: monitor it to learn when a stop has finished. Any thread. */
HTTP_API act_pid_t http_server_pid(const http_server_t *srv);

/* Graceful stop: stops accepting (connections already in the backlog are still taken), lets
 * requests in flight finish within timeout_ms, answers them with Connection: close, closes
 * idle connections, then exits. After the deadline the remaining connections are closed and
 * their handlers told (their reads and writes fail); a handler still running 1 s later is
 * killed. Blocks until every connection is gone, then frees srv. Returns 0 or ACT_ENOTFIBER
 * from a plain actor (use http_server_stop_async there). Fiber actors and foreign threads. */
HTTP_API int http_server_stop(http_server_t *srv, int64_t timeout_ms);

/* Starts the same graceful stop without waiting; the listener (http_server_pid) exits when it is
 * done. The caller still owns srv and frees it with http_server_free afterwards. Any thread. */
HTTP_API void http_server_stop_async(http_server_t *srv, int64_t timeout_ms);

/* Releases the caller's handle (after http_server_stop_async has finished, or to leave a server
 * running for the rest of the system's life). Memory goes when the last connection has gone. */
HTTP_API void http_server_free(http_server_t *srv);

/* Counters, for tests and dynctl status (approximate while the server runs). */
typedef struct http_server_stats {
    uint64_t accepted;      /* connections accepted */
    uint64_t requests;      /* requests handed to a handler */
    uint64_t rejected;      /* requests answered with a 4xx/5xx by the server itself */
    uint64_t crashes;       /* handlers that crashed */
    uint32_t connections;   /* open now */
    uint32_t accept_pauses; /* times accepting paused at max_connections or out of fds */
} http_server_stats_t;
HTTP_API void http_server_stats(const http_server_t *srv, http_server_stats_t *out);

#endif
