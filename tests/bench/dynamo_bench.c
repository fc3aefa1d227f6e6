/*
 * dynamo_bench: the whole Dynamo path, measured beside the raw server (http_hello) and nginx by
 * scripts/bench-dynamo.sh.
 *
 *   dynamo_bench PORT [SCHEDULERS]
 *
 * A Dynamo whose endpoint runs the request id, head and method override plugs (the logger off)
 * and a router tree of 50 routes with forwards (a site's worth: pages, a forwarded API with
 * dynamic segments and a forwarded admin section), answering GET / -> 200 text/plain "Hello,
 * World!" and GET /users/:id -> 200 text/plain "user <id>", 404 otherwise: what http_hello
 * answers, through everything the framework does per request. Listens on 127.0.0.1 in the
 * prod environment; stops gracefully on SIGINT/SIGTERM.
 *
 * The static plug runs first and serves its own priv/static (tests/bench/priv/static, holding
 * index.html) under /static/, or the directory DYN_BENCH_STATIC names (scripts/bench-static.sh
 * serves the same files from it as nginx does). With DYN_BENCH_SESSION=1 the endpoint also runs
 * the session plug (cookie store) and its router answers GET /session, which fetches the
 * session and updates a counter in it, beside GET / (scripts/bench-session.sh measures the
 * difference of their CPU per request).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/dynamo.h"
#include "dynamo/fetch.h"
#include "dynamo/session.h"
#include "dynamo/static.h"
#include "serve.h"

#ifndef DYN_BENCH_STATIC_DIR
#define DYN_BENCH_STATIC_DIR "priv/static"
#endif

static dyn_conn_t *hello(dyn_conn_t *conn)
{
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, "Hello, World!", 13);
}

static dyn_conn_t *user(dyn_conn_t *conn)
{
    const dyn_value_t *id = dyn_param_value(conn, "id");
    char *body = dyn_alloc(conn, id->s.len + 5);
    memcpy(body, "user ", 5);
    memcpy(body + 5, id->s.ptr, id->s.len);
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, body, id->s.len + 5);
}

static dyn_conn_t *page(dyn_conn_t *conn)
{
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, "page", 4);
}

DYN_ROUTER(api_router, DYN_GET("/products", page), DYN_POST("/products", page),
           DYN_GET("/products/:id", page), DYN_PUT("/products/:id", page),
           DYN_DELETE("/products/:id", page), DYN_GET("/products/:id/reviews", page),
           DYN_POST("/products/:id/reviews", page), DYN_GET("/orders", page),
           DYN_POST("/orders", page), DYN_GET("/orders/:id", page),
           DYN_GET("/orders/:id/items", page), DYN_GET("/carts/:id", page),
           DYN_PUT("/carts/:id/items/:item", page), DYN_DELETE("/carts/:id/items/:item", page),
           DYN_GET("/search/*terms", page));

DYN_ROUTER(admin_router, DYN_GET("/", page), DYN_GET("/users", page), DYN_GET("/users/:id", page),
           DYN_PATCH("/users/:id", page), DYN_DELETE("/users/:id", page), DYN_GET("/reports", page),
           DYN_GET("/reports/:year/:month", page), DYN_GET("/settings", page),
           DYN_PUT("/settings", page), DYN_GET("/logs/*path", page), DYN_GET("/health", page),
           DYN_GET("/metrics", page), DYN_POST("/cache/purge", page), DYN_GET("/jobs", page),
           DYN_GET("/jobs/:id", page));

/* GET /session: the cookie session fetched and changed (a counter), so its cookie is written. */
static dyn_conn_t *session(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    int64_t n = dyn_value_int(dyn_session_get(conn, "visits"), 0);
    conn = dyn_session_put_int(conn, "visits", n + 1);
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, "session", 7);
}

DYN_ROUTER(bench_router, DYN_FORWARD("/api/v1", &api_router), DYN_FORWARD("/admin", &admin_router),
           DYN_GET("/about", page), DYN_GET("/contact", page), DYN_POST("/contact", page),
           DYN_GET("/pricing", page), DYN_GET("/blog", page), DYN_GET("/blog/:slug", page),
           DYN_GET("/blog/tags/:tag", page), DYN_GET("/docs/*path", page), DYN_GET("/login", page),
           DYN_POST("/login", page), DYN_DELETE("/logout", page), DYN_GET("/signup", page),
           DYN_POST("/signup", page), DYN_GET("/users/:id/avatar", page),
           DYN_GET("/users/:id/posts", page), DYN_GET("/users", page), DYN_GET("/terms", page),
           DYN_GET("/privacy", page), DYN_GET("/users/:id", user), DYN_GET("/", hello));

/* The session mode's endpoint: GET /session beside the raw GET / it is measured against. */
DYN_ROUTER(session_router, DYN_GET("/session", session), DYN_GET("/", hello));

static dyn_static_opts_t static_opts = {.from = DYN_BENCH_STATIC_DIR};
static const dyn_session_opts_t session_opts = {.key = "_bench_session"};

static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_static, &static_opts),
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
    DYN_PLUG(dyn_plug_method_override, NULL),
};
static const dyn_plug_spec_t session_plugs[] = {
    DYN_PLUG(dyn_plug_static, &static_opts),
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
    DYN_PLUG(dyn_plug_method_override, NULL),
    DYN_PLUG(dyn_plug_session, &session_opts),
};

static dyn_dynamo_t bench = {
    .name = "bench",
    .env = DYN_ENV_PROD,
    .endpoint = &bench_router,
    .secret = "dynamo_bench-secret-dynamo_bench-secret-dynamo_bench-secret-dynamo_bench!",
    DYN_PLUGS(plugs),
};

int main(int argc, char **argv)
{
    uint16_t port = serve_start("dynamo_bench", argc, argv);
    int rc;
    bench.port = port;
    if (getenv("DYN_BENCH_STATIC"))
        static_opts.from = getenv("DYN_BENCH_STATIC");
    const char *sess = getenv("DYN_BENCH_SESSION");
    if (sess && strcmp(sess, "1") == 0) {
        bench.endpoint = &session_router;
        bench.plugs = session_plugs;
        bench.nplugs = sizeof session_plugs / sizeof session_plugs[0];
    }
    const char *mode = getenv("HTTP_ACCEPT");
    if (mode && strcmp(mode, "single") == 0)
        bench.accept_mode = HTTP_ACCEPT_SINGLE;
    act_pid_t sup;
    rc = dyn_start_link(&bench, &sup);
    if (rc) {
        fprintf(stderr, "dynamo_bench: port %s: %s\n", argv[1], dyn_strerror(rc));
        act_system_stop();
        return 1;
    }
    dyn_info_t info;
    dyn_info("bench", &info);
    fprintf(stderr, "dynamo_bench: listening on 127.0.0.1:%u, %u schedulers, %zu routes\n",
            info.port, act_sched_count(), info.routes);
    act_system_wait();
    dyn_stop("bench", 5000);
    act_system_stop();
    return 0;
}
