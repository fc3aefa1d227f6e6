/*
 * The secure-headers plug (secure_headers.h): the header list is merged and checked once at
 * start, so a request only appends prepared pairs.
 */
#include <string.h>
#include <strings.h>

#include "../conn_int.h"
#include "../text_int.h"
#include "actor/mem.h"
#include "dynamo/secure_headers.h"

static const dyn_header_pair_t defaults[] = {
    {"x-frame-options", "SAMEORIGIN"},
    {"x-content-type-options", "nosniff"},
    {"referrer-policy", "strict-origin-when-cross-origin"},
    {"x-permitted-cross-domain-policies", "none"},
    {"x-download-options", "noopen"},
    {"content-security-policy", "base-uri 'self'; frame-ancestors 'self'"},
    {NULL, NULL},
};

#define MAX_HEADERS 32

typedef struct state {
    size_t n;
    dyn_header_pair_t h[MAX_HEADERS];
} state_t;

static bool valid(const dyn_header_pair_t *p)
{
    return dyn__is_token(p->name, strlen(p->name)) && (!p->value || !strpbrk(p->value, "\r\n"));
}

static void put(state_t *st, const dyn_header_pair_t *p)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcasecmp(st->h[i].name, p->name) == 0) {
            st->h[i].value = p->value;
            return;
        }
    st->h[st->n++] = *p;
}

static int init(const void *opts, void **out)
{
    const dyn_secure_headers_opts_t *o = opts;
    state_t *st = act_calloc(1, sizeof *st);
    if (!st)
        return ACT_ENOMEM;
    if (!o || !o->no_defaults)
        for (const dyn_header_pair_t *p = defaults; p->name; p++)
            put(st, p);
    for (const dyn_header_pair_t *p = o ? o->headers : NULL; p && p->name; p++) {
        if (!valid(p) || st->n == MAX_HEADERS) {
            act_free(st);
            return ACT_EBADARG;
        }
        put(st, p);
    }
    *out = st;
    return 0;
}

static dyn_conn_t *call(dyn_conn_t *conn, void *arg)
{
    const state_t *st = arg;
    for (size_t i = 0; i < st->n; i++)
        if (st->h[i].value)
            conn = dyn_put_resp_header(conn, st->h[i].name, st->h[i].value);
    return conn;
}

static void deinit(void *st)
{
    act_free(st);
}

const dyn_plug_t dyn_plug_secure_headers = {
    .name = "secure_headers",
    .init = init,
    .call = call,
    .deinit = deinit,
};
