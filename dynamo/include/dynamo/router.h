/*
 * Routers, declared in C the way the Dynamo README declares them in Elixir.
 *
 *     DYN_ROUTER_DECLARE(posts_router);
 *
 *     DYN_ROUTER(application_router,
 *         DYN_PREPARE(fetch_params),                        // prepare do ... end
 *         DYN_FORWARD("/posts", &posts_router),             // forward "/posts", to: PostsRouter
 *         DYN_GET("/", welcome),                            // get "/" do ... end
 *         DYN_PUT("/users/:user_id", put_user),
 *         DYN_GET("/section/:section", section, DYN_GUARD(known_section)),  // when ...
 *         DYN_GET("/users/:user_id", show_user, .prepare = DYN_HOOKS(authenticate_user)),
 *         DYN_FINALIZE(add_server_timing));
 *
 * A route is a method set, a path pattern and a handler, `dyn_conn_t *fn(dyn_conn_t *conn)`,
 * which returns the conn (conn.h). Patterns are segments separated by '/':
 * - literal segments match the decoded request segment exactly ("/hello/world");
 * - ":name" matches any one segment and binds it as the path parameter `name` (dyn_param);
 * - a last segment "*" (a glob: "/hello" then "*") matches the rest of the path, zero or more
 *   segments; "*name" binds them as a list under `name` (dyn_param gives them joined with
 *   '/').
 * A guard is a predicate on the conn with the route's parameters bound: when it says false the
 * route does not match and matching goes on with the next candidate, as a failed `when` clause
 * does in Elixir.
 *
 * Matching. When several routes match, the one declared first wins, as Elixir's function
 * clauses. A request matches by its decoded path_info (conn.h): empty segments are ignored. A
 * HEAD request also matches GET routes. No route for the path: 404 (the Dynamo's not-found
 * page); routes for the path but not for the method: 405 with an `Allow` header listing them.
 * At start-up each router is compiled into a trie of segments (literal children in a sorted
 * array, one parameter child, glob and forward lists), each node knowing the first route
 * below it, so a match walks the request's segments once, pruning what cannot win: its cost
 * grows with the path's length, not with the number of routes (tests/bench/route_bench).
 *
 * Forwarding. DYN_FORWARD("/posts", &posts_router) matches "/posts" and everything under it,
 * with any method, and hands the conn to posts_router with the prefix moved from path_info to
 * script_name: a request for /posts/recent is seen by posts_router as /recent. Prefixes may
 * hold parameters ("/users/:user_id/posts"), never globs. When the inner router returns, the
 * outer path_info and script_name are restored.
 *
 * Hooks, as the README's. DYN_PREPARE(fn) and DYN_FINALIZE(fn) anywhere in a router's list
 * apply to every request the router serves; .prepare/.finalize on one route apply to that
 * route only (the README's @prepare :authenticate_user). A request to a router runs: the
 * router's prepare hooks (in order), then, if a route matched, the route's prepare hooks, the
 * route (or the forwarded router, recursively), the route's finalize hooks, and the router's
 * finalize hooks; a router that matches nothing answers 404/405 after its prepare hooks. A
 * hook has the route's signature and returns the conn; dyn_halt(conn) in any hook or route
 * skips everything after it (the finalize hooks too), and the response set so far is sent:
 *
 *     static dyn_conn_t *require_user_info(dyn_conn_t *conn)
 *     {
 *         if (!dyn_param(conn, "user_info"))
 *             return dyn_halt(dyn_status(conn, 400));
 *         return conn;
 *     }
 *
 * Declarations are static and const; the Dynamo compiles them when it starts, and a bad
 * pattern (an empty ":" name, a glob that is not last, a forward cycle...) fails the start with
 * DYN_EBADROUTE and a report naming the router and the route.
 */
#ifndef DYN_ROUTER_H
#define DYN_ROUTER_H

#include "dynamo/conn.h"

/* A route, a hook or a plug's body: gets the conn, returns it (NULL is the gentle exception). */
typedef dyn_conn_t *(*dyn_handler_fn)(dyn_conn_t *conn);
/* A guard: true lets the route match. Reads the bound parameters with dyn_param. Must not
 * change the conn or block. */
typedef bool (*dyn_guard_fn)(dyn_conn_t *conn);

/* A named hook; lists of them end with {NULL, NULL}. */
typedef struct dyn_hook {
    dyn_handler_fn fn;
    const char *name;
} dyn_hook_t;

/* Method sets: DYN_M(HTTP_METHOD_GET) | DYN_M(HTTP_METHOD_POST)... */
#define DYN_M(m) (1u << (m))
#define DYN_M_GET DYN_M(HTTP_METHOD_GET)
#define DYN_M_HEAD DYN_M(HTTP_METHOD_HEAD)
#define DYN_M_POST DYN_M(HTTP_METHOD_POST)
#define DYN_M_PUT DYN_M(HTTP_METHOD_PUT)
#define DYN_M_DELETE DYN_M(HTTP_METHOD_DELETE)
#define DYN_M_PATCH DYN_M(HTTP_METHOD_PATCH)
#define DYN_M_OPTIONS DYN_M(HTTP_METHOD_OPTIONS)
#define DYN_M_ANY 0xffffffffu

typedef enum dyn_route_kind {
    DYN_ROUTE_HANDLER = 0, /* a route: methods, path, handler */
    DYN_ROUTE_FORWARD,     /* a forward: path is the prefix, forward the router */
    DYN_ROUTE_PREPARE,     /* a router-level prepare hook (handler) */
    DYN_ROUTE_FINALIZE,    /* a router-level finalize hook (handler) */
} dyn_route_kind_t;

typedef struct dyn_router dyn_router_t;

/* One entry of a router's list. Declare it with the macros below. */
typedef struct dyn_route {
    dyn_route_kind_t kind;
    uint32_t methods;       /* DYN_M_* set; DYN_M_ANY */
    const char *path;       /* pattern, or a forward's prefix */
    dyn_handler_fn handler; /* the route or hook */
    const char *name;       /* the handler's name (the macros stringify it) */
    dyn_guard_fn guard;     /* optional */
    const char *guard_name;
    const dyn_hook_t *prepare; /* optional per-route hooks, {NULL, NULL}-terminated */
    const dyn_hook_t *finalize;
    const dyn_router_t *forward; /* DYN_ROUTE_FORWARD: the inner router */
} dyn_route_t;

struct dyn_router {
    const char *name;
    const dyn_route_t *routes;
    size_t nroutes;
};

/* Route entries. Extra designated fields may follow: .prepare = DYN_HOOKS(a, b),
 * .finalize = DYN_HOOKS(c), DYN_GUARD(fn). */
#define DYN_ROUTE(methods_, path_, fn_, ...)                                                       \
    {                                                                                              \
        .kind = DYN_ROUTE_HANDLER, .methods = (methods_), .path = (path_), .handler = (fn_),       \
        .name = #fn_, __VA_ARGS__                                                                  \
    }
#define DYN_GET(path_, fn_, ...) DYN_ROUTE(DYN_M_GET, path_, fn_, __VA_ARGS__)
#define DYN_POST(path_, fn_, ...) DYN_ROUTE(DYN_M_POST, path_, fn_, __VA_ARGS__)
#define DYN_PUT(path_, fn_, ...) DYN_ROUTE(DYN_M_PUT, path_, fn_, __VA_ARGS__)
#define DYN_PATCH(path_, fn_, ...) DYN_ROUTE(DYN_M_PATCH, path_, fn_, __VA_ARGS__)
#define DYN_DELETE(path_, fn_, ...) DYN_ROUTE(DYN_M_DELETE, path_, fn_, __VA_ARGS__)
#define DYN_OPTIONS(path_, fn_, ...) DYN_ROUTE(DYN_M_OPTIONS, path_, fn_, __VA_ARGS__)
#define DYN_HEAD(path_, fn_, ...) DYN_ROUTE(DYN_M_HEAD, path_, fn_, __VA_ARGS__)
#define DYN_ANY(path_, fn_, ...) DYN_ROUTE(DYN_M_ANY, path_, fn_, __VA_ARGS__)
#define DYN_FORWARD(prefix_, router_, ...)                                                         \
    {                                                                                              \
        .kind = DYN_ROUTE_FORWARD, .methods = DYN_M_ANY, .path = (prefix_), .forward = (router_),  \
        __VA_ARGS__                                                                                \
    }
#define DYN_PREPARE(fn_)                                                                           \
    {                                                                                              \
        .kind = DYN_ROUTE_PREPARE, .handler = (fn_), .name = #fn_                                  \
    }
#define DYN_FINALIZE(fn_)                                                                          \
    {                                                                                              \
        .kind = DYN_ROUTE_FINALIZE, .handler = (fn_), .name = #fn_                                 \
    }
#define DYN_GUARD(fn_) .guard = (fn_), .guard_name = #fn_

/* A {NULL, NULL}-terminated hook list of up to 8 functions, each named after itself. */
#define DYN_HOOKS(...) ((const dyn_hook_t[]){DYN__FOR_EACH(DYN__HOOK, __VA_ARGS__){NULL, NULL}})
#define DYN__HOOK(f) {(f), #f},
#define DYN__FE1(m, a) m(a)
#define DYN__FE2(m, a, ...) m(a) DYN__FE1(m, __VA_ARGS__)
#define DYN__FE3(m, a, ...) m(a) DYN__FE2(m, __VA_ARGS__)
#define DYN__FE4(m, a, ...) m(a) DYN__FE3(m, __VA_ARGS__)
#define DYN__FE5(m, a, ...) m(a) DYN__FE4(m, __VA_ARGS__)
#define DYN__FE6(m, a, ...) m(a) DYN__FE5(m, __VA_ARGS__)
#define DYN__FE7(m, a, ...) m(a) DYN__FE6(m, __VA_ARGS__)
#define DYN__FE8(m, a, ...) m(a) DYN__FE7(m, __VA_ARGS__)
#define DYN__FE_PICK(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define DYN__FOR_EACH(m, ...)                                                                      \
    DYN__FE_PICK(__VA_ARGS__, DYN__FE8, DYN__FE7, DYN__FE6, DYN__FE5, DYN__FE4, DYN__FE3,          \
                 DYN__FE2, DYN__FE1, )                                                             \
    (m, __VA_ARGS__)

/* Defines the router `var_` (a global const dyn_router_t named after itself) from its entries:
 * DYN_ROUTER(posts_router, DYN_GET("/recent", recent)); */
#define DYN_ROUTER(var_, ...)                                                                      \
    static const dyn_route_t var_##__routes[] = {__VA_ARGS__};                                     \
    const dyn_router_t var_ = {.name = #var_,                                                      \
                               .routes = var_##__routes,                                           \
                               .nroutes = sizeof(var_##__routes) / sizeof(var_##__routes[0])}
/* Declares a router defined elsewhere (or later in the file). */
#define DYN_ROUTER_DECLARE(var_) extern const dyn_router_t var_

/* ---- compiled routers -------------------------------------------------------------------- */

/* A router compiled for matching, with every router it forwards to. Immutable once built:
 * any number of request fibers match against it at once. */
typedef struct dyn_routes dyn_routes_t;

/* Compiles router and the routers it forwards to (each once). Returns 0, DYN_EBADROUTE (err,
 * if not NULL, gets a line naming the router, the route and the problem), or ACT_ENOMEM.
 * Any thread. */
DYN_API int dyn_routes_compile(const dyn_router_t *router, dyn_routes_t **out, char *err,
                               size_t errlen);
DYN_API void dyn_routes_free(dyn_routes_t *rt);
/* The top router it was compiled from. */
DYN_API const dyn_router_t *dyn_routes_router(const dyn_routes_t *rt);

/* The outcome of matching a path without a conn (tools, benchmarks): guards are not evaluated
 * (they need a conn), forwards are followed. */
typedef struct dyn_match {
    int status;                 /* 200 matched, 404 nothing, 405 only other methods, 400 bad
                                   percent-encoding, 414 too many segments */
    const dyn_route_t *route;   /* 200: the route (in the innermost router) */
    const dyn_router_t *router; /* 200: the router declaring it */
    uint32_t allow;             /* 405: the methods the path has routes for */
} dyn_match_t;
/* Matches method and a raw path (undecoded, no query). Returns out->status. Any thread. */
DYN_API int dyn_routes_match(const dyn_routes_t *rt, http_method_t method, const char *path,
                             size_t len, dyn_match_t *out);

/* ---- the route table (dynctl routes) ------------------------------------------------------ */

typedef struct dyn_route_info {
    const char *method;   /* "GET", "GET|POST", "*" for any */
    const char *path;     /* the whole pattern, forward prefixes included: "/posts/recent" */
    const char *router;   /* the router that declares it */
    const char *handler;  /* the route's function */
    const char *guard;    /* its guard's name, or "" */
    const char *prepare;  /* the hooks that run around it, in order, comma-separated: the */
    const char *finalize; /* routers' (outer first) then the route's own; "" if none */
} dyn_route_info_t;

/* Visits every route reachable from router in declaration order, through forwards (which
 * are not listed themselves). fn returns 0 to go on; anything else stops the walk and is
 * returned. Returns 0, fn's value, or ACT_ENOMEM. Any thread. */
typedef int (*dyn_route_walk_fn)(const dyn_route_info_t *route, void *arg);
DYN_API int dyn_routes_walk(const dyn_router_t *router, dyn_route_walk_fn fn, void *arg);
/* The route table as aligned text, one route per line (method, path, handler, router, hooks),
 * like `mix phoenix.routes`. *text is the caller's (act_free). Returns 0 or ACT_ENOMEM. */
DYN_API int dyn_routes_format(const dyn_router_t *router, char **text);

/* "GET, HEAD, POST": the methods of a set, as an Allow header lists them, into buf. */
DYN_API const char *dyn_methods_str(uint32_t methods, char *buf, size_t len);

#endif
