/*
 * Compiling routers into tries, and matching paths against them (router.h, routes_int.h).
 *
 * A router's routes are inserted segment by segment: literal segments into a sorted array of
 * children (binary search), ":name" into the node's single parameter child (the names stay
 * with each route, so "/users/:id" and "/users/:user_id/posts" share the node), and a route's
 * number into the node where its fixed part ends: `ends` for plain routes, `globs` for routes
 * ending in a glob and for forwards (they match zero or more further segments). Each node keeps
 * the smallest route number below it.
 *
 * Matching is a depth-first walk over the request's segments that tries the literal child,
 * then the parameter child, keeping the best (smallest-numbered) route whose methods and guard
 * accept the request, and skipping any subtree whose smallest number cannot beat it. It visits
 * at most the nodes on the paths the request's segments spell out, so its cost grows with the
 * path's length and the pattern shapes, not with the number of routes; the recursion is as deep
 * as the longest pattern, never deeper than the request.
 */
#include <stdio.h>
#include <string.h>

#include "routes_int.h"

#include "dynamo/uri.h"

#include "actor/mem.h"

#define MAX_PATTERN_SEGS 64
#define MAX_ROUTERS 256
#define PENDING_MAX 32

/* ---- compiling ---------------------------------------------------------------------------- */

typedef struct cctx {
    dyn_arena_t *arena;
    char *err;
    size_t errlen;
    const dyn_router_t *stack[MAX_ROUTERS]; /* routers being compiled: a forward cycle */
    size_t depth;
    const dyn_router_t *done[MAX_ROUTERS];
    dyn__crouter_t *done_c[MAX_ROUTERS];
    size_t ndone;
    size_t total;
} cctx_t;

static int fail(cctx_t *c, const dyn_router_t *r, const dyn_route_t *rt, const char *why)
{
    if (!c->err || !c->errlen)
        return DYN_EBADROUTE;
    const char *rname = r && r->name ? r->name : "(null)";
    if (!rt) {
        snprintf(c->err, c->errlen, "router %s: %s", rname, why);
        return DYN_EBADROUTE;
    }
    const char *what = rt->kind == DYN_ROUTE_FORWARD   ? "forward"
                       : rt->kind == DYN_ROUTE_HANDLER ? "route"
                                                       : "hook";
    snprintf(c->err, c->errlen, "router %s: %s %s (%s): %s", rname, what, rt->path ? rt->path : "",
             rt->name ? rt->name : "", why);
    return DYN_EBADROUTE;
}

static bool name_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

static int lit_cmp(dyn_str_t a, dyn_str_t b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return memcmp(a.ptr, b.ptr, a.len);
}

/* An array of n elements with room for one more: capacities are powers of two (4 at least), so
 * the array moves (in the arena, the old copy left behind) only when n reaches one, and a node
 * with 1,000 children costs about twice their size, not the sum of every intermediate copy. */
static void *room(dyn_arena_t *a, void *arr, uint32_t n, size_t elem)
{
    if (n >= 4 ? (n & (n - 1)) != 0 : n != 0)
        return arr; /* capacity max(4, next power of two) > n */
    uint32_t cap = n < 4 ? 4 : 2 * n;
    void *na = dyn_arena_alloc(a, cap * elem);
    if (na && n)
        memcpy(na, arr, n * elem);
    return na;
}

/* The literal child of node for seg, created if `create`. */
static dyn__rnode_t *lit_child(dyn_arena_t *a, dyn__rnode_t *node, dyn_str_t seg, bool create)
{
    uint32_t lo = 0, hi = node->nlits;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = lit_cmp(node->lits[mid].seg, seg);
        if (c == 0)
            return node->lits[mid].child;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create)
        return NULL;
    dyn__lit_t *nl = room(a, node->lits, node->nlits, sizeof *nl);
    dyn__rnode_t *child = dyn_arena_calloc(a, 1, sizeof *child);
    char *copy = dyn_arena_strndup(a, seg.ptr, seg.len);
    if (!nl || !child || !copy)
        return NULL;
    memmove(nl + lo + 1, nl + lo, (node->nlits - lo) * sizeof *nl);
    nl[lo] = (dyn__lit_t){{copy, seg.len}, child};
    node->lits = nl;
    node->nlits++;
    return child;
}

static int push_u32(dyn_arena_t *a, uint32_t **arr, uint32_t *n, uint32_t v)
{
    uint32_t *na = room(a, *arr, *n, sizeof *na);
    if (!na)
        return ACT_ENOMEM;
    na[(*n)++] = v;
    *arr = na;
    return 0;
}

static uint32_t fix_min(dyn__rnode_t *n)
{
    uint32_t m = UINT32_MAX;
    if (n->nends && n->ends[0] < m)
        m = n->ends[0];
    if (n->nglobs && n->globs[0] < m)
        m = n->globs[0];
    for (uint32_t i = 0; i < n->nlits; i++) {
        uint32_t c = fix_min(n->lits[i].child);
        if (c < m)
            m = c;
    }
    if (n->param) {
        uint32_t c = fix_min(n->param);
        if (c < m)
            m = c;
    }
    n->min = m;
    return m;
}

static int compile(cctx_t *c, const dyn_router_t *r, dyn__crouter_t **out);

/* Parses rt's pattern into rr and inserts it under cr's root. */
static int add_route(cctx_t *c, dyn__crouter_t *cr, const dyn_route_t *rt, dyn__rroute_t *rr)
{
    const dyn_router_t *r = cr->decl;
    bool fwd = rt->kind == DYN_ROUTE_FORWARD;
    if (!rt->path || rt->path[0] != '/')
        return fail(c, r, rt, "the path must start with '/'");
    if (fwd && !rt->forward)
        return fail(c, r, rt, "no router to forward to");
    if (!fwd && !rt->handler)
        return fail(c, r, rt, "no handler");
    if (!fwd && rt->methods == 0)
        return fail(c, r, rt, "no method");
    dyn__param_t params[MAX_PATTERN_SEGS];
    uint16_t np = 0, nsegs = 0;
    dyn__rnode_t *node = &cr->root;
    const char *p = rt->path;
    rr->decl = rt;
    rr->methods = fwd ? DYN_M_ANY : rt->methods;
    rr->glob = false;
    rr->glob_name = (dyn_str_t){"", 0};
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        dyn_str_t seg = {s, (size_t)(p - s)};
        if (rr->glob)
            return fail(c, r, rt, "a glob must be the last segment");
        if (nsegs == MAX_PATTERN_SEGS)
            return fail(c, r, rt, "too many segments");
        if (seg.ptr[0] == '*') {
            if (fwd)
                return fail(c, r, rt, "a forward's prefix cannot hold a glob");
            if (!name_ok(seg.ptr + 1, seg.len - 1))
                return fail(c, r, rt, "a glob's name may only hold letters, digits and '_'");
            rr->glob = true;
            char *copy = dyn_arena_strndup(c->arena, seg.ptr + 1, seg.len - 1);
            if (!copy)
                return ACT_ENOMEM;
            rr->glob_name = (dyn_str_t){copy, seg.len - 1};
            continue;
        }
        if (seg.ptr[0] == ':') {
            dyn_str_t name = {seg.ptr + 1, seg.len - 1};
            if (name.len == 0)
                return fail(c, r, rt, "a parameter needs a name");
            if (!name_ok(name.ptr, name.len))
                return fail(c, r, rt, "a parameter's name may only hold letters, digits and '_'");
            for (uint16_t i = 0; i < np; i++)
                if (lit_cmp(params[i].name, name) == 0)
                    return fail(c, r, rt, "the same parameter twice");
            /* A NUL-terminated copy: requests bind it as a map key without copying. */
            char *copy = dyn_arena_strndup(c->arena, name.ptr, name.len);
            if (!copy)
                return ACT_ENOMEM;
            params[np++] = (dyn__param_t){nsegs, {copy, name.len}};
            if (!node->param && !(node->param = dyn_arena_calloc(c->arena, 1, sizeof *node)))
                return ACT_ENOMEM;
            node = node->param;
        } else {
            if (!(node = lit_child(c->arena, node, seg, true)))
                return ACT_ENOMEM;
        }
        nsegs++;
    }
    if (fwd)
        rr->glob = true; /* a forward matches its prefix and anything under it */
    else if (rr->glob && rr->glob_name.len)
        for (uint16_t i = 0; i < np; i++)
            if (lit_cmp(params[i].name, rr->glob_name) == 0)
                return fail(c, r, rt, "the same parameter twice");
    rr->nsegs = nsegs;
    rr->nparams = np;
    if (np) {
        rr->params = dyn_arena_alloc(c->arena, np * sizeof *rr->params);
        if (!rr->params)
            return ACT_ENOMEM;
        memcpy(rr->params, params, np * sizeof *params);
    }
    if (fwd) {
        int rc = compile(c, rt->forward, &rr->fwd);
        if (rc)
            return rc;
    } else {
        c->total++;
    }
    return rr->glob ? push_u32(c->arena, &node->globs, &node->nglobs, rr->index)
                    : push_u32(c->arena, &node->ends, &node->nends, rr->index);
}

static int compile(cctx_t *c, const dyn_router_t *r, dyn__crouter_t **out)
{
    if (!r)
        return fail(c, NULL, NULL, "no router");
    for (size_t i = 0; i < c->ndone; i++)
        if (c->done[i] == r) {
            *out = c->done_c[i];
            return 0;
        }
    for (size_t i = 0; i < c->depth; i++)
        if (c->stack[i] == r)
            return fail(c, r, NULL, "forwards loop back to it");
    if (c->depth == MAX_ROUTERS || c->ndone == MAX_ROUTERS)
        return fail(c, r, NULL, "too many routers");
    if (!r->name || (r->nroutes && !r->routes))
        return fail(c, r, NULL, "no name or no route list");
    c->stack[c->depth++] = r;
    dyn__crouter_t *cr = dyn_arena_calloc(c->arena, 1, sizeof *cr);
    if (!cr)
        return ACT_ENOMEM;
    cr->decl = r;
    cr->routes = dyn_arena_calloc(c->arena, r->nroutes ? r->nroutes : 1, sizeof *cr->routes);
    cr->prepare = dyn_arena_alloc(c->arena, (r->nroutes + 1) * sizeof *cr->prepare);
    cr->finalize = dyn_arena_alloc(c->arena, (r->nroutes + 1) * sizeof *cr->finalize);
    if (!cr->routes || !cr->prepare || !cr->finalize)
        return ACT_ENOMEM;
    for (size_t i = 0; i < r->nroutes; i++) {
        const dyn_route_t *rt = &r->routes[i];
        switch (rt->kind) {
        case DYN_ROUTE_PREPARE:
        case DYN_ROUTE_FINALIZE:
            if (!rt->handler)
                return fail(c, r, rt, "a hook without a function");
            if (rt->kind == DYN_ROUTE_PREPARE)
                cr->prepare[cr->nprepare++] = rt;
            else
                cr->finalize[cr->nfinalize++] = rt;
            break;
        case DYN_ROUTE_HANDLER:
        case DYN_ROUTE_FORWARD: {
            dyn__rroute_t *rr = &cr->routes[cr->nroutes];
            rr->index = cr->nroutes;
            int rc = add_route(c, cr, rt, rr);
            if (rc)
                return rc;
            cr->nroutes++;
            break;
        }
        default:
            return fail(c, r, rt, "unknown entry kind");
        }
    }
    fix_min(&cr->root);
    c->depth--;
    c->done[c->ndone] = r;
    c->done_c[c->ndone++] = cr;
    *out = cr;
    return 0;
}

int dyn_routes_compile(const dyn_router_t *router, dyn_routes_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    cctx_t *c = act_calloc(1, sizeof *c);
    dyn_arena_t *a = dyn_arena_new();
    dyn_routes_t *rt = a ? dyn_arena_calloc(a, 1, sizeof *rt) : NULL;
    if (!c || !rt) {
        act_free(c);
        dyn_arena_free(a);
        return ACT_ENOMEM;
    }
    c->arena = a;
    c->err = err;
    c->errlen = errlen;
    int rc = compile(c, router, &rt->top);
    if (rc == ACT_ENOMEM && err && errlen)
        snprintf(err, errlen, "no memory to compile router %s", router ? router->name : "(null)");
    if (rc) {
        act_free(c);
        dyn_arena_free(a);
        return rc;
    }
    rt->arena = a;
    rt->total = c->total;
    act_free(c);
    *out = rt;
    return 0;
}

void dyn_routes_free(dyn_routes_t *rt)
{
    if (rt)
        dyn_arena_free(rt->arena);
}

const dyn_router_t *dyn_routes_router(const dyn_routes_t *rt)
{
    return rt->top->decl;
}

/* ---- matching ----------------------------------------------------------------------------- */

typedef struct mctx {
    const dyn__crouter_t *cr;
    const dyn_str_t *segs;
    size_t n;
    uint32_t mbits;
    dyn__guard_eval_fn eval;
    void *arg;
    const dyn__rroute_t *best;
    uint32_t best_idx;
    const dyn__rroute_t *pending[PENDING_MAX]; /* path matched, method did not: for Allow */
    uint32_t npending;
    uint32_t allow_unchecked; /* methods of pending routes past PENDING_MAX */
} mctx_t;

static void consider(mctx_t *m, uint32_t idx)
{
    const dyn__rroute_t *r = &m->cr->routes[idx];
    if (r->methods & m->mbits) {
        if (r->decl->guard && m->eval && !m->eval(r, m->arg))
            return;
        m->best = r;
        m->best_idx = idx;
    } else if (!m->best) {
        if (m->npending < PENDING_MAX)
            m->pending[m->npending++] = r;
        else
            m->allow_unchecked |= r->methods;
    }
}

static void walk(mctx_t *m, const dyn__rnode_t *node, size_t d)
{
    if (node->min >= m->best_idx)
        return;
    for (uint32_t i = 0; i < node->nglobs && node->globs[i] < m->best_idx; i++)
        consider(m, node->globs[i]);
    if (d == m->n) {
        for (uint32_t i = 0; i < node->nends && node->ends[i] < m->best_idx; i++)
            consider(m, node->ends[i]);
        return;
    }
    if (node->nlits) {
        dyn_str_t seg = m->segs[d];
        uint32_t lo = 0, hi = node->nlits;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            int c = lit_cmp(node->lits[mid].seg, seg);
            if (c == 0) {
                walk(m, node->lits[mid].child, d + 1);
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    if (node->param)
        walk(m, node->param, d + 1);
}

void dyn__router_match(const dyn__crouter_t *cr, const dyn_str_t *segs, size_t n, uint32_t mbits,
                       dyn__guard_eval_fn eval, void *arg, dyn__rmatch_t *out)
{
    mctx_t m;
    m.cr = cr;
    m.segs = segs;
    m.n = n;
    m.mbits = mbits;
    m.eval = eval;
    m.arg = arg;
    m.best = NULL;
    m.best_idx = UINT32_MAX;
    m.npending = 0;
    m.allow_unchecked = 0;
    walk(&m, &cr->root, 0);
    out->route = m.best;
    out->allow = 0;
    if (m.best)
        return;
    uint32_t allow = m.allow_unchecked;
    for (uint32_t i = 0; i < m.npending; i++) {
        const dyn__rroute_t *r = m.pending[i];
        if (r->decl->guard && eval && !eval(r, arg))
            continue;
        allow |= r->methods;
    }
    out->allow = allow;
}

int dyn_routes_match(const dyn_routes_t *rt, http_method_t method, const char *path, size_t len,
                     dyn_match_t *out)
{
    char sbuf[1024];
    dyn_str_t ssegs[64];
    char *buf = sbuf;
    dyn_str_t *segs = ssegs;
    size_t max = sizeof ssegs / sizeof ssegs[0];
    memset(out, 0, sizeof *out);
    if (len + 1 > sizeof sbuf) {
        max = len / 2 + 1;
        buf = act_malloc(len + 1);
        segs = act_malloc(max * sizeof *segs);
        if (!buf || !segs) {
            act_free(buf == sbuf ? NULL : buf);
            act_free(segs == ssegs ? NULL : segs);
            out->status = 503;
            return out->status;
        }
    }
    int n = dyn_path_split(path, len, buf, segs, max);
    if (n < 0) {
        out->status = n == DYN_ELIMIT ? 414 : 400;
    } else {
        const dyn__crouter_t *cr = rt->top;
        size_t off = 0;
        for (;;) {
            dyn__rmatch_t m;
            dyn__router_match(cr, segs + off, (size_t)n - off, dyn__method_bits(method), NULL, NULL,
                              &m);
            if (!m.route) {
                out->status = m.allow ? 405 : 404;
                out->allow = m.allow;
                break;
            }
            if (m.route->fwd) {
                off += m.route->nsegs;
                cr = m.route->fwd;
                continue;
            }
            out->status = 200;
            out->route = m.route->decl;
            out->router = cr->decl;
            break;
        }
    }
    if (buf != sbuf) {
        act_free(buf);
        act_free(segs);
    }
    return out->status;
}
