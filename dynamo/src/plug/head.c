/*
 * The head plug (plug.h, Plug.Head): a HEAD request continues as a GET. Its response loses the
 * body on the way out, with its headers (Content-Length included) as the GET's: the HTTP layer
 * drops the body of any response to a request that came as HEAD, and so does the test adapter.
 */
#include "../conn_int.h"

static dyn_conn_t *call(dyn_conn_t *c, void *state)
{
    (void)state;
    if (c->method == HTTP_METHOD_HEAD)
        dyn_conn_put_method(c, HTTP_METHOD_GET);
    return c;
}

const dyn_plug_t dyn_plug_head = {
    .name = "head",
    .call = call,
};
