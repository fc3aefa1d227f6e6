/*
 * The Dynamo: a web endpoint declared in C and run as a supervised actor tree.
 *
 * This header includes the framework's whole API (conn, routers, plugs, values, buffers, URI
 * decoding); the test helpers are in test.h.
 *
 * A Dynamo is declared statically, as the README's `use Dynamo` + `config :dynamo` module:
 *
 *     static const dyn_plug_spec_t web_plugs[] = {
 *         DYN_PLUG(dyn_plug_request_id, NULL), DYN_PLUG(dyn_plug_logger, NULL),
 *         DYN_PLUG(dyn_plug_method_override, NULL), DYN_PLUG(dyn_plug_head, NULL)};
 *
 *     const dyn_dynamo_t hello_dynamo = {
 *         .name = "hello", .env = DYN_ENV_DEV, .port = 4000,
 *         .endpoint = &application_router,
 *         DYN_PLUGS(web_plugs),
 *         .static_route = "/static", .static_root = "priv/static",
 *     };
 *
 * and started as a supervisor, alone (dyn_start_link: Stacker.Dynamo.start_link) or as a child
 * of any supervisor beside other workers (the README's Stacker.Supervisor):
 *
 *     static const act_child_spec_t children[] = {
 *         {ACT_SERVER_CHILD("stack", &stacker_server, NULL), .name = "stacker"},
 *         {DYN_CHILD("web", &hello_dynamo)},
 *     };
 *
 * Its tree (rest_for_one: the HTTP server depends on the Dynamo actor):
 *
 *     <name> supervisor (rest_for_one)
 *      |-- dynamo: the Dynamo's actor, registered as <name>: compiles the endpoint's routers,
 *      |   initializes its plugs, owns them, and is what dynctl asks about routes and status
 *      `-- http: the HTTP server (listener, connections: http/server.h), registered as
 *          <name>.http, whose request fibers are the request actors
 *
 * The request path: the connection actor parses a request and starts its fiber; the fiber
 * builds the conn, runs the endpoint's plugs in order, then the router (hooks, the route, or
 * forwards), then sends the response back to the connection. Anything that fails in there (an
 * act_fail or act_failf, a route or hook or plug that returns NULL, a route that sets no
 * response, a router that matches nothing) is caught in the fiber and answered: the not-found
 * page (404) or method-not-allowed (405), and for a crash the debug exception page in dev
 * (reason, router and route, request, params, assigns, backtrace with function names) or a
 * plain 500 and a log line with the request id in test and prod. Custom pages per status
 * replace the defaults (error_pages). The connection, its other requests and the node are never
 * affected; a memory fault cannot be caught in C and ends the process (dynctl restarts it).
 *
 * Several Dynamos run side by side in one process, each on its own port with its own tree:
 * one crashing or stopping leaves the others serving. Each running Dynamo is in a registry
 * (dyn_each, dyn_info) that tools read. A Dynamo reaches its compiled routes and plug states
 * through one pointer per running instance; requests hold a reference while they run, so the
 * instance outlives every request that uses it.
 */
#ifndef DYN_DYNAMO_H
#define DYN_DYNAMO_H

#include "actor/act.h"
#include "dynamo/arena.h"
#include "dynamo/buf.h"
#include "dynamo/config.h"
#include "dynamo/conn.h"
#include "dynamo/cookie.h"
#include "dynamo/crypto.h"
#include "dynamo/csrf.h"
#include "dynamo/fetch.h"
#include "dynamo/json.h"
#include "dynamo/node.h"
#include "dynamo/params.h"
#include "dynamo/plug.h"
#include "dynamo/router.h"
#include "dynamo/secure_headers.h"
#include "dynamo/session.h"
#include "dynamo/static.h"
#include "dynamo/types.h"
#include "dynamo/uri.h"
#include "dynamo/value.h"
#include "dynamo/web.h"
#include "http/http.h"

/* A custom error page: render(conn) runs with the status already set (dyn_conn_status) and,
 * for a crash, dyn_conn_failure(conn) telling what failed; it sets the response like a route
 * and returns the conn. Lists end with {0, NULL}. A page that fails itself is replaced by
 * the plain default. */
typedef struct dyn_error_page {
    int status; /* 404, 405, 500, ... */
    dyn_handler_fn render;
} dyn_error_page_t;

/* Limits of the framework beside the HTTP server's (http_limits_t). 0 means the default. */
typedef struct dyn_limits {
    uint32_t max_segments; /* [128] path segments of a request: 414 past it */
    /* Request data (fetch.h, params.h, cookie.h), Plug-like. A body as a whole is capped by
     * limits.max_body_size, the HTTP server's (8 MiB, Plug's default length): multipart and
     * JSON bodies are read up to it. Past any cap the request fails with 413. */
    uint32_t max_params;           /* [1000] pairs of a query string or a form; named parts of a
                                      multipart body */
    uint32_t max_param_depth;      /* [32] nesting of a parameter key ("a[b][]" has 2) or of a
                                      JSON document (128 at most) */
    uint32_t max_key_len;          /* [1024] bytes of a decoded parameter name */
    uint32_t max_value_len;        /* [1 MiB] bytes of a decoded query or form value or of a
                                      multipart field (files have max_file_size) */
    uint32_t max_form_size;        /* [1,000,000] bytes of a urlencoded body (Plug's) */
    uint32_t max_json_items;       /* [100,000] values in a JSON body (each costs memory) */
    uint32_t max_parts;            /* [1000] parts of a multipart body */
    uint32_t max_files;            /* [128] file parts of a multipart body (each holds a file
                                      descriptor until the request ends) */
    uint64_t max_file_size;        /* [0: the body's cap] bytes of one file part */
    uint32_t max_part_header_size; /* [16384] bytes of one part's header block */
    uint32_t max_part_headers;     /* [32] header lines of one part */
    const char *upload_dir;        /* where file parts are written [$TMPDIR, else /tmp] */
    bool named_uploads;            /* give each upload a name in upload_dir (removed when the
                                      request ends) so that other processes can open its path;
                                      [false: O_TMPFILE where the filesystem has it, a file
                                      without a name that nothing can leave behind] */
    const char *const *pass;       /* media types a body may have when no parser takes it,
                                      as Plug.Parsers' pass, NULL-terminated: exact
                                      ("text/plain"), a type with the subtype '*', or '*' for
                                      both (any type). Any other type gets 415 from the params
                                      fetch [NULL: none passes] */
    bool any_bytes;                /* parameters need not be UTF-8 [false: 400 if not] */
    uint32_t max_cookies;          /* [200] request cookies kept (later ones are ignored) */
    uint32_t max_cookie_size;      /* [4096] bytes of a request cookie's name=value (a larger
                                      one is ignored: no browser sends it) */
} dyn_limits_t;

struct dyn_dynamo {
    const char *name;             /* required, unique among running Dynamos: the Dynamo's
                                     actor is registered under it, the listener as
                                     <name>.http */
    const dyn_router_t *endpoint; /* the top router (required, unless web names it) */
    const dyn_web_t *web;         /* or: the web code generated by dynamo_add_web, linked or a
                                     module reloaded in dev (web.h) */
    const dyn_plug_spec_t *plugs; /* the endpoint's plugs, run in order before the router */
    size_t nplugs;
    const char *host;                    /* address to bind ["127.0.0.1"]; "0.0.0.0" for all */
    uint16_t port;                       /* [0: an ephemeral port, see dyn_info] */
    dyn_env_t env;                       /* [DYN_ENV_DEV] */
    const char *static_route;            /* where static assets are served ["/static"] */
    const char *static_root;             /* the directory they come from ["priv/static"] */
    const char *secret;                  /* secret_key_base: signs and encrypts cookies, sessions */
    const char *const *previous_secrets; /* NULL-terminated: older secrets still accepted when
                                            reading signed or encrypted data (key rotation);
                                            new data always uses `secret` */
    const dyn_error_page_t *error_pages; /* custom pages per status, {0, NULL}-terminated */
    dyn_log_level_t log_level;           /* [by env: dev debug, test warn, prod info] */
    dyn_switch_t debug_errors;           /* the debug exception page [by env: dev on] */
    dyn_switch_t code_reload;            /* rebuild and reload a web module as web/ changes
                                            [by env: dev on] (web.h) */
    const char *static_cache_control;    /* Cache-Control of static files when the static
                                            plug's options set none [by env] */
    http_limits_t limits;                /* the HTTP server's (http/server.h) */
    dyn_limits_t dyn_limits;
    unsigned schedulers; /* schedulers serving connections [0: all] */
    http_accept_mode_t accept_mode;
    size_t stack_size;       /* request fiber stack [runtime default] */
    int64_t stop_timeout_ms; /* graceful stop: requests in flight get this long [5000] */
    int max_restarts;        /* the Dynamo supervisor's intensity [3 in 5 s] */
    int max_seconds;         /* [5 when only max_restarts is set] */
    void *user;              /* the application's, for routes (dyn_conn_user) */
};

/* .plugs and .nplugs from a static array. */
#define DYN_PLUGS(arr_) .plugs = (arr_), .nplugs = sizeof(arr_) / sizeof((arr_)[0])

/* Starts the Dynamo's supervisor linked to the caller and returns once it serves (the port is
 * bound: a taken port fails here). d is borrowed for the Dynamo's life (declare it static).
 * *sup (may be NULL) gets the supervisor. Returns 0, ACT_EBADARG (no name or endpoint),
 * ACT_ECHILDSTART (the Dynamo actor or the server failed to start: a report names the cause,
 * DYN_EBADROUTE or DYN_EBADPLUG or -EADDRINUSE...), or act_sup_start_link's errors. Fiber or
 * foreign thread. */
DYN_API int dyn_start_link(const dyn_dynamo_t *d, act_pid_t *sup);

/* A start function for supervisor child specs; DYN_CHILD fills a spec with it:
 *     {DYN_CHILD("web", &hello_dynamo)}
 * The child is the Dynamo's supervisor (type ACT_SUPERVISOR, shutdown infinity: it stops its
 * server gracefully within stop_timeout_ms). */
DYN_API int dyn_child_start(const act_child_start_t *cs, act_pid_t *out);
#define DYN_CHILD(id_, dynamo_)                                                                    \
    .id = (id_), .start = dyn_child_start, .mod = (dynamo_), .type = ACT_SUPERVISOR

/* Stops the Dynamo named `name` (its supervisor, gracefully) and waits up to timeout_ms.
 * Returns 0, DYN_ENODYNAMO or ACT_ETIMEDOUT. A permanent child of another supervisor is
 * restarted by it: stop that supervisor's child instead (act_sup_terminate_child). Fiber or
 * foreign thread. */
DYN_API int dyn_stop(const char *name, int64_t timeout_ms);

/* A running Dynamo, as tools see it. */
typedef struct dyn_info {
    const char *name;
    const dyn_dynamo_t *decl; /* its declaration */
    const char *host;
    uint16_t port; /* the bound port (the ephemeral one when declared 0) */
    dyn_env_t env;
    act_pid_t sup;        /* its supervisor */
    act_pid_t actor;      /* its Dynamo actor */
    act_pid_t listener;   /* its HTTP server, ACT_PID_NONE between restarts */
    uint64_t requests;    /* requests handled so far */
    uint64_t crashes;     /* requests that failed (exception page or 500) */
    size_t routes;        /* routes reachable from its endpoint */
    uint32_t connections; /* open connections now */
} dyn_info_t;

/* Fills *out for the running Dynamo named `name`. Strings are valid while it runs. Returns 0
 * or DYN_ENODYNAMO. Any thread. */
DYN_API int dyn_info(const char *name, dyn_info_t *out);
/* The bound port of a running Dynamo, 0 if none runs under that name. Any thread. */
DYN_API uint16_t dyn_port(const char *name);
/* Calls fn for each running Dynamo (in registry order); fn returns 0 to go on. Returns 0 or fn's
 * value. Any thread; fn must not stop Dynamos. */
DYN_API int dyn_each(int (*fn)(const dyn_info_t *info, void *arg), void *arg);
/* The route table of a running Dynamo (dyn_routes_format). Returns 0, DYN_ENODYNAMO or
 * ACT_ENOMEM. Any thread. */
DYN_API int dyn_routes_text(const char *name, char **text);

#endif
