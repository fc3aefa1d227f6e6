/*
 * Running a router on a conn: match (guards evaluated with the candidate's parameters bound),
 * the router's prepare hooks, the route's, the route or a forward, then the finalize hooks;
 * a halt anywhere skips the rest. A router that matches nothing records 404 or 405 for the
 * pipeline to render (after its prepare hooks, as Dynamo runs them before dispatching).
 */
#include <string.h>

#include "conn_int.h"
#include "router_int.h"

typedef struct gctx {
    dyn_conn_t *c;
    const dyn__crouter_t *cr;
} gctx_t;

/* Binds the candidate's parameters for its guard, then undoes that whatever the guard says:
 * the winner is bound again below, and a rejected one leaves params as they were. */
static bool guard_eval(const dyn__rroute_t *r, void *arg)
{
    gctx_t *g = arg;
    dyn_conn_t *c = g->c;
    dyn__step_t saved = c->step;
    dyn__binding_t b;
    dyn__conn_bind_try(c, r, &b);
    c->step = (dyn__step_t){.kind = DYN__STEP_GUARD, .router = g->cr->decl, .entry = r->decl};
    bool ok = r->decl->guard(c);
    c->step = saved;
    dyn__conn_unbind(c, &b);
    return ok;
}

static dyn_conn_t *run(dyn_conn_t *c, dyn_handler_fn fn, dyn__step_t step)
{
    c->step = step;
    dyn_conn_t *r = fn(c);
    if (ACT_UNLIKELY(!r))
        dyn__conn_fail(c, DYN_ENOCONN, "%s returned no conn", dyn__step_text(c, &c->step));
    return r;
}

dyn_conn_t *dyn__router_call(dyn_conn_t *c, const dyn__crouter_t *cr)
{
    gctx_t g = {c, cr};
    dyn__rmatch_t m;
    dyn__router_match(cr, c->segs + c->seg_off, c->nsegs - c->seg_off,
                      dyn__method_bits((http_method_t)c->method), guard_eval, &g, &m);
    if (m.route)
        dyn__conn_bind(c, m.route);
    c->router = cr->decl;
    for (uint32_t i = 0; i < cr->nprepare; i++) {
        c = run(
            c, cr->prepare[i]->handler,
            (dyn__step_t){.kind = DYN__STEP_PREPARE, .router = cr->decl, .entry = cr->prepare[i]});
        if (c->halted)
            return c;
    }
    if (!m.route) {
        c->error_status = m.allow ? 405 : 404;
        c->allow = m.allow;
        c->halted = true;
        return c;
    }
    const dyn_route_t *rt = m.route->decl;
    c->route = rt;
    for (const dyn_hook_t *h = rt->prepare; h && h->fn; h++) {
        c = run(c, h->fn,
                (dyn__step_t){
                    .kind = DYN__STEP_ROUTE_PREPARE, .router = cr->decl, .entry = rt, .hook = h});
        if (c->halted)
            return c;
    }
    if (m.route->fwd) {
        uint32_t off = c->seg_off;
        c->seg_off += m.route->nsegs;
        c = dyn__router_call(c, m.route->fwd);
        c->seg_off = off;
    } else {
        c = run(c, rt->handler,
                (dyn__step_t){.kind = DYN__STEP_ROUTE, .router = cr->decl, .entry = rt});
        c->router = cr->decl;
        c->route = rt;
    }
    if (c->halted)
        return c;
    for (const dyn_hook_t *h = rt->finalize; h && h->fn; h++) {
        c = run(c, h->fn,
                (dyn__step_t){
                    .kind = DYN__STEP_ROUTE_FINALIZE, .router = cr->decl, .entry = rt, .hook = h});
        if (c->halted)
            return c;
    }
    for (uint32_t i = 0; i < cr->nfinalize; i++) {
        c = run(c, cr->finalize[i]->handler,
                (dyn__step_t){
                    .kind = DYN__STEP_FINALIZE, .router = cr->decl, .entry = cr->finalize[i]});
        if (c->halted)
            return c;
    }
    return c;
}

static const char *methods_text(dyn_conn_t *c, uint32_t m)
{
    if (m == DYN_M_ANY)
        return "*";
    if ((m & (m - 1)) == 0)
        return http_method_name((http_method_t)__builtin_ctz(m));
    dyn_buf_t b;
    dyn_buf_init(&b, c->arena, 32);
    for (int i = 0; i < 32; i++)
        if (m & (1u << i)) {
            if (b.len)
                dyn_buf_puts(&b, "|");
            dyn_buf_puts(&b, http_method_name((http_method_t)i));
        }
    return b.failed ? "?" : b.data;
}

static const char *route_text(dyn_conn_t *c, const dyn_route_t *rt, const dyn_router_t *r)
{
    if (rt->kind == DYN_ROUTE_FORWARD)
        return dyn_sprintf(c, "forward %s to %s in router %s", rt->path,
                           rt->forward ? rt->forward->name : "?", r ? r->name : "?");
    return dyn_sprintf(c, "route %s %s (%s) in router %s", methods_text(c, rt->methods), rt->path,
                       rt->name ? rt->name : "?", r ? r->name : "?");
}

const char *dyn__step_text(dyn_conn_t *c, const dyn__step_t *s)
{
    const char *rn = s->router ? s->router->name : "?";
    switch (s->kind) {
    case DYN__STEP_PLUG:
        return dyn_sprintf(c, "plug %s", s->plug->plug->name ? s->plug->plug->name : "?");
    case DYN__STEP_PREPARE:
        return dyn_sprintf(c, "prepare hook %s in router %s", s->entry->name, rn);
    case DYN__STEP_FINALIZE:
        return dyn_sprintf(c, "finalize hook %s in router %s", s->entry->name, rn);
    case DYN__STEP_ROUTE:
        return route_text(c, s->entry, s->router);
    case DYN__STEP_ROUTE_PREPARE:
        return dyn_sprintf(c, "prepare hook %s of %s", s->hook->name,
                           route_text(c, s->entry, s->router));
    case DYN__STEP_ROUTE_FINALIZE:
        return dyn_sprintf(c, "finalize hook %s of %s", s->hook->name,
                           route_text(c, s->entry, s->router));
    case DYN__STEP_GUARD:
        return dyn_sprintf(c, "guard %s of %s", s->entry->guard_name,
                           route_text(c, s->entry, s->router));
    case DYN__STEP_BEFORE_SEND:
        return "a before-send callback";
    case DYN__STEP_FINISH:
        return "sending the response";
    case DYN__STEP_ERROR_PAGE:
        return "the error page";
    case DYN__STEP_NONE:
        break;
    }
    return "the request";
}
