/*
 * Compiled routers: the trie a router is compiled into, and matching against it.
 *
 * Every router reachable from the endpoint is compiled once (dyn__crouter_t); a forward route
 * points at its inner router's compiled form. Route numbers are declaration order within a
 * router; matching keeps the smallest number among the routes that match (Elixir's first
 * clause wins).
 */
#ifndef DYN_ROUTES_INT_H
#define DYN_ROUTES_INT_H

#include "dynamo/router.h"

typedef struct dyn__crouter dyn__crouter_t;

typedef struct dyn__param {
    uint16_t pos; /* segment index within the router's path_info */
    dyn_str_t name;
} dyn__param_t;

/* A route (or forward) compiled. */
typedef struct dyn__rroute {
    const dyn_route_t *decl;
    uint32_t index;      /* declaration order among the router's routes and forwards */
    uint32_t methods;    /* DYN_M_* */
    uint16_t nsegs;      /* segments the pattern (or prefix) consumes, glob excluded */
    bool glob;           /* ends in a glob (or is a forward): matches 0+ more segments */
    dyn_str_t glob_name; /* named glob ("" if anonymous) */
    dyn__param_t *params;
    uint16_t nparams;
    dyn__crouter_t *fwd; /* forwards: the inner router */
} dyn__rroute_t;

typedef struct dyn__lit dyn__lit_t;

typedef struct dyn__rnode {
    dyn__lit_t *lits; /* literal children, sorted by (len, bytes) */
    uint32_t nlits;
    struct dyn__rnode *param; /* the ":name" child */
    uint32_t *ends;           /* routes ending exactly here, ascending */
    uint32_t nends;
    uint32_t *globs; /* glob routes and forwards whose fixed part ends here, ascending */
    uint32_t nglobs;
    uint32_t min; /* the smallest route number in this subtree (pruning) */
} dyn__rnode_t;

struct dyn__lit {
    dyn_str_t seg;
    dyn__rnode_t *child;
};

struct dyn__crouter {
    const dyn_router_t *decl;
    dyn__rnode_t root;
    dyn__rroute_t *routes;
    uint32_t nroutes;
    const dyn_route_t **prepare; /* router-level hooks, in order */
    uint32_t nprepare;
    const dyn_route_t **finalize;
    uint32_t nfinalize;
};

struct dyn_routes {
    dyn_arena_t *arena; /* everything above lives here */
    dyn__crouter_t *top;
    size_t total; /* routes reachable (forwards followed, not counted) */
};

/* Guard evaluation during a match: the matcher calls eval(route, arg), which binds the route's
 * parameters and runs its guard. NULL: guards pass (dyn_routes_match). */
typedef bool (*dyn__guard_eval_fn)(const dyn__rroute_t *r, void *arg);

/* The result of matching one router level. */
typedef struct dyn__rmatch {
    const dyn__rroute_t *route; /* the winner (a route or a forward), or NULL */
    uint32_t allow;             /* no winner: methods of the routes that matched the path */
} dyn__rmatch_t;

/* Matches segs[0..n) against one compiled router for method bits `mbits`. */
void dyn__router_match(const dyn__crouter_t *cr, const dyn_str_t *segs, size_t n, uint32_t mbits,
                       dyn__guard_eval_fn eval, void *arg, dyn__rmatch_t *out);

/* The method bits a request's method matches: its own, plus GET for HEAD. */
static inline uint32_t dyn__method_bits(http_method_t m)
{
    uint32_t b = DYN_M(m);
    return m == HTTP_METHOD_HEAD ? b | DYN_M_GET : b;
}

#endif
