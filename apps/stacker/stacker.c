/*
 * Stacker: the application, its supervisor and its server (see stacker.h).
 *
 * Elixir's version, for comparison:
 *
 *     defmodule Stacker.Server do
 *       use GenServer.Behaviour
 *       def init(stack), do: { :ok, stack }
 *       def handle_call(:pop, _from, [h|stack]), do: { :reply, h, stack }
 *       def handle_call({ :push, new }, _from, stack), do: { :reply, :ok, [new|stack] }
 *     end
 *
 *     children = [ worker(Stacker.Server, [stack]), supervisor(Stacker.Dynamo, []) ]
 *     supervise children, strategy: :one_for_one
 */
#include "stacker.h"

#include <stdlib.h>
#include <string.h>

enum { STACKER_PUSH = ACT_MSG_USER + 1, STACKER_POP, STACKER_ITEMS, STACKER_REPLY };

typedef struct {
    act_msg_t hdr;
    long long value;
    long long *items; /* STACKER_ITEMS: a copy, top first (act_malloc'ed, the caller's) */
    size_t n;
} stacker_msg_t;

/* ---- Stacker.Server ------------------------------------------------------------------------ */

typedef struct {
    long long *v;
    size_t n, cap;
} stacker_state_t;

static int stack_push(stacker_state_t *s, long long x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        long long *v = act_realloc(s->v, cap * sizeof *v);
        if (!v)
            return ACT_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

/* The initial stack comes from the application's environment, read at every (re)start. */
static int server_init(void *state, void *arg)
{
    (void)arg;
    stacker_state_t *s = state;
    const char *init = act_app_env_get("stacker", "stack");
    for (const char *p = init; p && *p;) {
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p)
            return ACT_EBADARG; /* a malformed environment fails the start, clearly */
        int rc = stack_push(s, x);
        if (rc)
            return rc;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int server_call(void *state, act_msg_t *req, act_msg_t **reply)
{
    stacker_state_t *s = state;
    stacker_msg_t *r = act_msg_new(stacker_msg_t, STACKER_REPLY);
    *reply = &r->hdr;
    switch (req->type) {
    case STACKER_PUSH:
        r->value = 0;
        return stack_push(s, ((stacker_msg_t *)req)->value);
    case STACKER_ITEMS:
        r->n = s->n;
        r->items = act_malloc((s->n ? s->n : 1) * sizeof *r->items);
        if (!r->items)
            return ACT_ENOMEM;
        for (size_t i = 0; i < s->n; i++)
            r->items[i] = s->v[s->n - 1 - i];
        return 0;
    case STACKER_POP:
        /* Elixir's handle_call(:pop, _, [h|stack]) has no clause for []: the server crashes. */
        if (s->n == 0) {
            act_msg_free(&r->hdr);
            *reply = NULL;
            act_failf(ACT_CRASH, "pop on an empty stack");
        }
        r->value = s->v[--s->n];
        return 0;
    default:
        act_msg_free(&r->hdr);
        *reply = NULL;
        act_failf(ACT_CRASH, "unexpected call of type %u", req->type);
    }
}

static void server_terminate(void *state, int reason)
{
    (void)reason;
    act_free(((stacker_state_t *)state)->v);
}

/* The stack as Elixir prints a list, top first, for `status` (format_status). */
static void server_format_status(const void *state, char *buf, size_t len)
{
    const stacker_state_t *s = state;
    size_t at = (size_t)snprintf(buf, len, "[");
    for (size_t i = s->n; i-- > 0 && at < len;) {
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", i + 1 < s->n ? "," : "", s->v[i]);
        if (at + 5 >= len && i > 0) {
            snprintf(buf + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, "...]");
            return;
        }
    }
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

static const act_server_t stacker_server = {
    .name = "Stacker.Server",
    .state_size = sizeof(stacker_state_t),
    .init = server_init,
    .handle_call = server_call,
    .terminate = server_terminate,
    .format_status = server_format_status,
};

/* ---- the supervision tree ------------------------------------------------------------------- */

/* The seed's Stacker.Supervisor after it embedded the Dynamo:
 *     children = [ worker(Stacker.Server, [stack]), supervisor(Stacker.Dynamo, []) ]
 * one_for_one: a crash of the stack server restarts it alone; the Dynamo serves on. */
static const act_child_spec_t children[] = {
    {ACT_SERVER_CHILD("stack", &stacker_server, NULL), .name = STACKER_NAME},
    {DYN_CHILD("web", &stacker_dynamo)},
};

static int stacker_start(const act_app_t *app, act_pid_t *top)
{
    stacker_dynamo.port = (uint16_t)act_app_env_int(app->name, "port", 4001);
    act_sup_spec_t spec = {
        .name = "stacker_sup",
        .strategy = ACT_ONE_FOR_ONE,
        .max_restarts = (int)act_app_env_int(app->name, "max_restarts", 3),
        .max_seconds = (int)act_app_env_int(app->name, "max_seconds", 5),
        .children = children,
        .nchildren = sizeof children / sizeof children[0],
    };
    return act_sup_start_link(&spec, top);
}

static const act_app_env_t stacker_env[] = {
    {"stack", ""}, {"max_restarts", "3"}, {"max_seconds", "5"}, {"port", "4001"}, {NULL, NULL},
};

const act_app_t stacker_app = {
    .name = "stacker",
    .version = "0.1.0",
    .start = stacker_start,
    .env = stacker_env,
    .type = ACT_APP_PERMANENT,
};

/* ---- the client API --------------------------------------------------------------------- */

static int call(uint32_t type, long long value, long long *out)
{
    stacker_msg_t *m = act_msg_new(stacker_msg_t, type);
    m->value = value;
    act_msg_t *reply;
    int rc = act_server_call_name(STACKER_NAME, &m->hdr, &reply);
    if (rc)
        return rc;
    if (out)
        *out = ((stacker_msg_t *)reply)->value;
    act_msg_free(reply);
    return 0;
}

int stacker_push(long long value)
{
    return call(STACKER_PUSH, value, NULL);
}

int stacker_pop(long long *value)
{
    return call(STACKER_POP, 0, value);
}

int stacker_items(long long **items, size_t *n)
{
    stacker_msg_t *m = act_msg_new(stacker_msg_t, STACKER_ITEMS);
    act_msg_t *reply;
    int rc = act_server_call_name(STACKER_NAME, &m->hdr, &reply);
    if (rc)
        return rc;
    *items = ((stacker_msg_t *)reply)->items;
    *n = ((stacker_msg_t *)reply)->n;
    act_msg_free(reply);
    return 0;
}
