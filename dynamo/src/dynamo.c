/*
 * A Dynamo's actor tree (dynamo.h):
 *
 *     <name> supervisor, rest_for_one
 *      |-- dynamo: a server registered as <name>; its init builds the instance (compiles the
 *      |   routers, initializes the plugs) and registers it; its terminate retires it
 *      `-- http: the HTTP server, registered as <name>.http, whose handler argument is the
 *          instance's token
 *
 * rest_for_one: a new Dynamo actor means a new instance, so the server restarts after it and
 * carries the new token; a server crash restarts the server alone, on the same instance. The
 * instance is freed when the actor is gone and the last request that held it is done (inst.c).
 */
#include <stdio.h>
#include <string.h>

#include "inst_int.h"
#include "pipeline_int.h"
#include "web_int.h"

_Static_assert(sizeof(void *) >= sizeof(uint64_t), "a token travels as the handler's void *");

typedef struct keeper {
    dyn__inst_t *inst;
} keeper_t;

typedef struct keeper_arg {
    const dyn_dynamo_t *decl;
    act_pid_t sup;
} keeper_arg_t;

static void report(const dyn_dynamo_t *d, const char *what, int rc, const char *err)
{
    char line[768];
    snprintf(line, sizeof line, "[dynamo] %s: %s: %s%s%s", d->name ? d->name : "?", what,
             dyn_strerror(rc), err && err[0] ? ": " : "", err ? err : "");
    act_report_log(d->name, line);
}

static int keeper_init(void *state, void *arg)
{
    keeper_t *k = state;
    const keeper_arg_t *a = arg;
    char err[512] = "";
    int rc = dyn__inst_new(a->decl, &k->inst, err, sizeof err);
    if (rc) {
        report(a->decl, "cannot start", rc, err);
        return rc;
    }
    atomic_store_explicit(&k->inst->sup, a->sup, memory_order_relaxed);
    atomic_store_explicit(&k->inst->actor, act_self(), memory_order_relaxed);
    rc = dyn__inst_register(k->inst);
    if (rc) {
        report(a->decl, "cannot start", rc, "too many Dynamos running");
        dyn__inst_free(k->inst);
        k->inst = NULL;
        return rc;
    }
    dyn__web_watch(k->inst); /* reloading in dev: a failure is reported, the Dynamo runs on */
    return 0;
}

static void keeper_terminate(void *state, int reason)
{
    (void)reason;
    keeper_t *k = state;
    if (k->inst) {
        dyn__web_unwatch(k->inst);
        dyn__inst_retire(k->inst);
    }
    k->inst = NULL;
}

static const act_server_t keeper_server = {
    .state_size = sizeof(keeper_t),
    .init = keeper_init,
    .terminate = keeper_terminate,
};

static int keeper_start(const act_child_start_t *cs, act_pid_t *out)
{
    const dyn_dynamo_t *d = cs->spec->mod;
    keeper_arg_t a = {d, act_self()};
    act_server_opts_t o = {.name = d->name, .sched = cs->sched};
    int rc = act_server_start_link(&keeper_server, &a, &o, out);
    if (rc == ACT_ENAMETAKEN)
        report(d, "cannot start", rc, "another actor holds its name");
    return rc;
}

static int http_start(const act_child_start_t *cs, act_pid_t *out)
{
    const dyn_dynamo_t *d = cs->spec->mod;
    dyn__inst_t *in = dyn__inst_find(d->name);
    if (!in)
        return DYN_ENODYNAMO;
    char name[ACT_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s.http", d->name);
    http_config_t cfg = {
        .host = d->host,
        .port = d->port,
        .handler = dyn__http_handler,
        .handler_arg = (void *)(uintptr_t)in->token,
        .limits = d->limits,
        .accept_mode = d->accept_mode,
        .schedulers = d->schedulers,
        .stack_size = d->stack_size,
        .name = name,
        .stop_timeout_ms = d->stop_timeout_ms,
    };
    act_child_start_t c2 = *cs;
    c2.arg = &cfg;
    http_server_t *srv;
    int rc = http_server_child_start_keep(&c2, out, &srv);
    if (rc == 0) {
        atomic_store_explicit(&in->port, http_server_port(srv), memory_order_relaxed);
        atomic_store_explicit(&in->listener, *out, memory_order_relaxed);
        pthread_mutex_lock(&in->server_lock);
        http_server_t *old = in->server;
        in->server = srv;
        pthread_mutex_unlock(&in->server_lock);
        if (old)
            http_server_free(old);
    } else {
        char where[80];
        snprintf(where, sizeof where, "%s port %u", d->host ? d->host : "127.0.0.1", d->port);
        report(d, "cannot listen", rc, where);
    }
    dyn__inst_release(in);
    return rc;
}

static int start(const dyn_dynamo_t *d, int sched, act_pid_t *out)
{
    if (!d || !d->name || !d->name[0] || (!d->endpoint && !d->web))
        return ACT_EBADARG;
    int64_t stop = d->stop_timeout_ms > 0 ? d->stop_timeout_ms : 5000;
    const act_child_spec_t kids[] = {
        {.id = "dynamo", .start = keeper_start, .mod = d, .shutdown = 5000},
        {.id = "http", .start = http_start, .mod = d, .shutdown = stop + 10000},
    };
    const act_sup_spec_t spec = {
        .name = d->name,
        .strategy = ACT_REST_FOR_ONE,
        .max_restarts = d->max_restarts,
        /* each field defaults on its own: a count alone is counted over 5 s */
        .max_seconds = d->max_seconds || d->max_restarts <= 0 ? d->max_seconds : 5,
        .children = kids,
        .nchildren = 2,
        .sched = sched,
    };
    return act_sup_start_link(&spec, out);
}

int dyn_child_start(const act_child_start_t *cs, act_pid_t *out)
{
    return start(cs->spec->mod, cs->sched, out);
}

int dyn_start_link(const dyn_dynamo_t *d, act_pid_t *sup)
{
    act_pid_t pid;
    int rc = start(d, ACT_SCHED_ANY, &pid);
    if (rc == 0 && sup)
        *sup = pid;
    return rc;
}

int dyn_stop(const char *name, int64_t timeout_ms)
{
    dyn__inst_t *in = dyn__inst_find(name);
    if (!in)
        return DYN_ENODYNAMO;
    act_pid_t sup = atomic_load_explicit(&in->sup, memory_order_relaxed);
    dyn__inst_release(in);
    int rc = act_sup_stop(sup, timeout_ms);
    return rc == ACT_ENOPROC ? DYN_ENODYNAMO : rc;
}
