/*
 * The route table (router.h): every route reachable from a router, forwards followed, with the
 * hooks that run around it, for `dynctl routes`, the development 404 page and the docs. It
 * reads the declarations, so it works on routers that never ran.
 */
#include <stdio.h>
#include <string.h>

#include "dynamo/buf.h"
#include "dynamo/router.h"

#include "actor/mem.h"

#define MAX_DEPTH 64

const char *dyn_methods_str(uint32_t methods, char *buf, size_t len)
{
    static const http_method_t order[] = {
        HTTP_METHOD_GET,   HTTP_METHOD_HEAD,   HTTP_METHOD_POST,    HTTP_METHOD_PUT,
        HTTP_METHOD_PATCH, HTTP_METHOD_DELETE, HTTP_METHOD_OPTIONS, HTTP_METHOD_TRACE};
    size_t o = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(methods & DYN_M(order[i])))
            continue;
        int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", http_method_name(order[i]));
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
    return buf;
}

typedef struct wctx {
    dyn_route_walk_fn fn;
    void *arg;
    dyn_arena_t *a;
    const dyn_router_t *stack[MAX_DEPTH];
    size_t depth;
} wctx_t;

static const char *method_text(dyn_arena_t *a, uint32_t m)
{
    if (m == DYN_M_ANY)
        return "*";
    dyn_buf_t b;
    dyn_buf_init(&b, a, 32);
    for (int i = 0; i < 32; i++) {
        if (!(m & (1u << i)))
            continue;
        if (b.len)
            dyn_buf_puts(&b, "|");
        dyn_buf_puts(&b, http_method_name((http_method_t)i));
    }
    return b.data;
}

/* Appends the names of a router's hooks of `kind` and of a hook list to b, comma-separated. */
static void hook_names(dyn_buf_t *b, const dyn_router_t *r, dyn_route_kind_t kind,
                       const dyn_hook_t *list)
{
    for (size_t i = 0; r && i < r->nroutes; i++)
        if (r->routes[i].kind == kind) {
            if (b->len)
                dyn_buf_puts(b, ", ");
            dyn_buf_puts(b, r->routes[i].name ? r->routes[i].name : "?");
        }
    for (const dyn_hook_t *h = list; h && h->fn; h++) {
        if (b->len)
            dyn_buf_puts(b, ", ");
        dyn_buf_puts(b, h->name ? h->name : "?");
    }
}

static int walk(wctx_t *w, const dyn_router_t *r, const char *prefix, const char *pre,
                const char *fin)
{
    for (size_t i = 0; i < w->depth; i++)
        if (w->stack[i] == r)
            return 0; /* a forward cycle: the compiler refuses it; here, stop */
    if (w->depth == MAX_DEPTH)
        return 0;
    w->stack[w->depth++] = r;
    /* The router's own hooks wrap everything it serves. */
    dyn_buf_t p, f;
    dyn_buf_init(&p, w->a, 64);
    dyn_buf_init(&f, w->a, 64);
    dyn_buf_puts(&p, pre);
    hook_names(&p, r, DYN_ROUTE_PREPARE, NULL);
    /* Finalize hooks run innermost first: the route's, then this router's, then outer ones. */
    hook_names(&f, r, DYN_ROUTE_FINALIZE, NULL);
    if (fin[0]) {
        if (f.len)
            dyn_buf_puts(&f, ", ");
        dyn_buf_puts(&f, fin);
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->nroutes; i++) {
        const dyn_route_t *rt = &r->routes[i];
        if (rt->kind != DYN_ROUTE_HANDLER && rt->kind != DYN_ROUTE_FORWARD)
            continue;
        const char *path = rt->path ? rt->path : "";
        const char *full =
            dyn_arena_printf(w->a, "%s%s", prefix, strcmp(path, "/") == 0 && prefix[0] ? "" : path);
        if (!full || p.failed || f.failed)
            return ACT_ENOMEM;
        dyn_buf_t rp, rf;
        dyn_buf_init(&rp, w->a, 64);
        dyn_buf_init(&rf, w->a, 64);
        dyn_buf_puts(&rp, p.data);
        hook_names(&rp, NULL, DYN_ROUTE_PREPARE, rt->prepare);
        hook_names(&rf, NULL, DYN_ROUTE_FINALIZE, rt->finalize);
        if (f.len) {
            if (rf.len)
                dyn_buf_puts(&rf, ", ");
            dyn_buf_puts(&rf, f.data);
        }
        if (rp.failed || rf.failed)
            return ACT_ENOMEM;
        if (rt->kind == DYN_ROUTE_FORWARD) {
            if (rt->forward)
                rc = walk(w, rt->forward, strcmp(full, "/") == 0 ? "" : full, rp.data, rf.data);
            continue;
        }
        dyn_route_info_t info = {
            .method = method_text(w->a, rt->methods),
            .path = full[0] ? full : "/",
            .router = r->name ? r->name : "",
            .handler = rt->name ? rt->name : "",
            .guard = rt->guard_name ? rt->guard_name : "",
            .prepare = rp.data,
            .finalize = rf.data,
        };
        if (!info.method)
            return ACT_ENOMEM;
        rc = w->fn(&info, w->arg);
    }
    w->depth--;
    return rc;
}

int dyn_routes_walk(const dyn_router_t *router, dyn_route_walk_fn fn, void *arg)
{
    wctx_t w = {.fn = fn, .arg = arg, .a = dyn_arena_new()};
    if (!w.a)
        return ACT_ENOMEM;
    int rc = router ? walk(&w, router, "", "", "") : 0;
    dyn_arena_free(w.a);
    return rc;
}

/* ---- the table as text -------------------------------------------------------------------- */

typedef struct row {
    char *cols[6];
} row_t;

typedef struct fctx {
    row_t *rows;
    size_t n, cap;
    bool oom;
} fctx_t;

static int collect(const dyn_route_info_t *ri, void *arg)
{
    fctx_t *f = arg;
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 32;
        row_t *nr = act_realloc(f->rows, ncap * sizeof *nr);
        if (!nr)
            return ACT_ENOMEM;
        f->rows = nr;
        f->cap = ncap;
    }
    row_t *r = &f->rows[f->n];
    char guard[300] = "";
    if (ri->guard[0])
        snprintf(guard, sizeof guard, "when %s", ri->guard);
    char hooks[600] = "";
    if (ri->prepare[0] || ri->finalize[0])
        snprintf(hooks, sizeof hooks, "prepare: %s; finalize: %s",
                 ri->prepare[0] ? ri->prepare : "-", ri->finalize[0] ? ri->finalize : "-");
    const char *cols[6] = {ri->method, ri->path, ri->handler, ri->router, guard, hooks};
    for (int i = 0; i < 6; i++)
        if (!(r->cols[i] = act_strdup(cols[i]))) {
            while (i-- > 0)
                act_free(r->cols[i]);
            return ACT_ENOMEM;
        }
    f->n++;
    return 0;
}

int dyn_routes_format(const dyn_router_t *router, char **text)
{
    fctx_t f = {0};
    *text = NULL;
    int rc = dyn_routes_walk(router, collect, &f);
    size_t w[6] = {0}, total = 1;
    for (size_t i = 0; i < f.n; i++)
        for (int c = 0; c < 6; c++) {
            size_t l = strlen(f.rows[i].cols[c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t i = 0; i < f.n; i++)
        for (int c = 0; c < 6; c++)
            total += w[c] + 2;
    total += f.n;
    char *out = rc == 0 ? act_malloc(total) : NULL;
    if (out) {
        size_t o = 0;
        for (size_t i = 0; i < f.n; i++) {
            int last = 5;
            while (last > 0 && !f.rows[i].cols[last][0])
                last--;
            for (int c = 0; c <= last; c++) {
                if (c < last)
                    o += (size_t)sprintf(out + o, "%-*s  ", (int)w[c], f.rows[i].cols[c]);
                else
                    o += (size_t)sprintf(out + o, "%s", f.rows[i].cols[c]);
            }
            out[o++] = '\n';
        }
        out[o] = '\0';
        *text = out;
    } else if (rc == 0) {
        rc = ACT_ENOMEM;
    }
    for (size_t i = 0; i < f.n; i++)
        for (int c = 0; c < 6; c++)
            act_free(f.rows[i].cols[c]);
    act_free(f.rows);
    return rc;
}
