/*
 * The method override plug (plug.h, Plug.MethodOverride): a POST whose urlencoded form has
 * _method=PUT|PATCH|DELETE continues as that method. Only POST, only those three (as Plug):
 * a form cannot turn itself into a GET or anything the browser would not send.
 *
 * The body is read once (dyn_conn_body keeps it for the parsers after this plug) up to
 * max_body: past it the request is answered 413, a bad encoding 400, a client that stalls 408.
 */
#include <string.h>
#include <strings.h>

#include "../conn_int.h"
#include "dynamo/uri.h"

static const dyn_method_override_opts_t defaults = {.max_body = 1u << 20};

static bool is_form(const char *ct)
{
    static const char form[] = "application/x-www-form-urlencoded";
    if (!ct || strncasecmp(ct, form, sizeof form - 1) != 0)
        return false;
    char after = ct[sizeof form - 1];
    return after == '\0' || after == ';' || after == ' ' || after == '\t';
}

typedef struct found {
    http_method_t m;
} found_t;

static int pair(const char *key, size_t klen, const char *value, size_t vlen, void *arg)
{
    (void)vlen;
    if (klen != 7 || memcmp(key, "_method", 7) != 0)
        return 0;
    found_t *f = arg;
    if (strcasecmp(value, "PUT") == 0)
        f->m = HTTP_METHOD_PUT;
    else if (strcasecmp(value, "PATCH") == 0)
        f->m = HTTP_METHOD_PATCH;
    else if (strcasecmp(value, "DELETE") == 0)
        f->m = HTTP_METHOD_DELETE;
    return 1; /* the first _method decides */
}

static int init(const void *opts, void **state)
{
    const dyn_method_override_opts_t *o = opts;
    *state = (void *)(o && o->max_body ? o : &defaults);
    return 0;
}

static dyn_conn_t *refuse(dyn_conn_t *c, int status)
{
    c->error_status = status;
    return dyn_halt(c);
}

static dyn_conn_t *call(dyn_conn_t *c, void *state)
{
    const dyn_method_override_opts_t *o = state;
    if (c->method != HTTP_METHOD_POST || !is_form(dyn_conn_req_header(c, "content-type")))
        return c;
    const char *body;
    size_t len;
    int rc = dyn_conn_body(c, o->max_body, &body, &len);
    if (rc == HTTP_ETOOLARGE)
        return refuse(c, 413);
    if (rc == -ETIMEDOUT)
        return refuse(c, 408);
    if (rc)
        return refuse(c, 400);
    char *buf = dyn_alloc(c, len + 2);
    found_t f = {HTTP_METHOD_OTHER};
    rc = dyn_urlencoded_each(body, len, buf, NULL, pair, &f);
    if (rc < 0)
        return refuse(c, rc == DYN_ELIMIT ? 413 : 400);
    if (f.m != HTTP_METHOD_OTHER)
        dyn_conn_put_method(c, f.m);
    return c;
}

const dyn_plug_t dyn_plug_method_override = {
    .name = "method_override",
    .init = init,
    .call = call,
};
