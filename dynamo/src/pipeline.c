/*
 * The request path inside the request fiber: the endpoint's plugs, the router, the error pages,
 * sending what the route set; everything under one act_catch, so a failure anywhere (act_fail,
 * a NULL conn, a route that sets no response, a before-send callback that crashes) becomes the
 * exception page instead of ending the fiber.
 */
#include <string.h>

#include "conn_int.h"
#include "pipeline_int.h"
#include "router_int.h"
#include "web_int.h"

static void finish(dyn_conn_t *c)
{
    c->step = (dyn__step_t){.kind = DYN__STEP_FINISH};
    switch ((dyn_state_t)c->state) {
    case DYN_STATE_SET:
        dyn__conn_send_set(c);
        break;
    case DYN_STATE_CHUNKED:
        dyn__conn_end_stream(c);
        break;
    case DYN_STATE_SENT:
        break;
    case DYN_STATE_UNSET:
        dyn__conn_fail(c, DYN_ENORESP, "%s returned a conn without a response",
                       c->route ? dyn__step_text(c, &(dyn__step_t){.kind = DYN__STEP_ROUTE,
                                                                   .router = c->router,
                                                                   .entry = c->route})
                                : "the pipeline");
    }
}

static void endpoint(void *arg)
{
    dyn_conn_t *c = arg;
    dyn__inst_t *in = c->inst;
    const dyn_dynamo_t *d = in->decl;
    c->routes = in->routes;
    if (in->web && dyn__web_enter(c)) { /* a reloadable web module: a version, or its error */
        finish(c);
        return;
    }
    for (size_t i = 0; i < d->nplugs && !c->halted; i++) {
        c->step = (dyn__step_t){.kind = DYN__STEP_PLUG, .plug = &d->plugs[i]};
        if (ACT_UNLIKELY(!d->plugs[i].plug->call(c, in->plug_state[i])))
            dyn__conn_fail(c, DYN_ENOCONN, "plug %s returned no conn", d->plugs[i].plug->name);
    }
    if (!c->halted) {
        if (c->segs_status) {
            c->error_status = c->segs_status;
            c->halted = true;
        } else {
            dyn__router_call(c, c->routes->top);
        }
    }
    if (c->error_status)
        dyn__error_page(c, c->error_status);
    finish(c);
}

int dyn__pipeline(dyn_conn_t *c)
{
    dyn__conn_segments(c);
    act_failure_t f;
    if (ACT_LIKELY(act_catch(endpoint, c, &f) == 0))
        return 0;
    if (!dyn__raised_status(c, &f)) { /* a raised status is the client's error, no crash */
        dyn__stats_t *st = dyn__inst_stats(c->inst);
        atomic_store_explicit(&st->crashes,
                              atomic_load_explicit(&st->crashes, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    return dyn__exception(c, &f);
}
