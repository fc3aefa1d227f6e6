/*
 * Stacker.Dynamo: the stack server over HTTP, the Dynamo the seed embeds beside it in
 * Stacker.Supervisor. Its routes are clients of the server like the console is: they call it
 * by its registered name, so they find whichever incarnation the supervisor runs now.
 *
 *     curl -X POST localhost:4001/stack/7        # ok
 *     curl localhost:4001/stack                  # [7]
 *     curl -X DELETE localhost:4001/stack/top    # 7
 *     curl -X DELETE localhost:4001/stack/top    # 503: the server crashed (empty stack)
 */
#include <errno.h>
#include <stdlib.h>

#include "stacker.h"

/* The server between a crash and its restart has no name yet: retry for a moment. */
static int retry(int rc, int attempt)
{
    if (rc != ACT_ENONAME || attempt >= 100)
        return 0;
    act_sleep(10);
    return 1;
}

static dyn_conn_t *show(dyn_conn_t *conn)
{
    long long *items = NULL;
    size_t n = 0;
    int rc;
    for (int i = 0; (rc = stacker_items(&items, &n)) && retry(rc, i); i++)
        ;
    if (rc)
        return dyn_resp(conn, 503, dyn_sprintf(conn, "the stack server: %s\n", act_strerror(rc)));
    dyn_buf_t b;
    dyn_buf_init(&b, dyn_conn_arena(conn), 16 + n * 8);
    dyn_buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++)
        dyn_buf_printf(&b, "%s%lld", i ? "," : "", items[i]);
    dyn_buf_puts(&b, "]\n");
    act_free(items);
    conn = dyn_put_resp_content_type(conn, "application/json", NULL);
    return dyn_resp_borrow(conn, 200, b.data, b.len);
}

static dyn_conn_t *push(dyn_conn_t *conn)
{
    const char *v = dyn_param(conn, "value");
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return dyn_resp(conn, 400, "an integer, please: POST /stack/42\n");
    int rc;
    for (int i = 0; (rc = stacker_push(x)) && retry(rc, i); i++)
        ;
    if (rc)
        return dyn_resp(conn, 503, dyn_sprintf(conn, "the stack server: %s\n", act_strerror(rc)));
    return dyn_resp(conn, 201, "ok\n");
}

static dyn_conn_t *pop(dyn_conn_t *conn)
{
    long long x;
    int rc;
    for (int i = 0; (rc = stacker_pop(&x)) && retry(rc, i); i++)
        ;
    if (rc == ACT_ECALLDOWN)
        return dyn_resp(conn, 503,
                        "the stack server crashed popping an empty stack; its supervisor "
                        "restarts it\n");
    if (rc)
        return dyn_resp(conn, 503, dyn_sprintf(conn, "the stack server: %s\n", act_strerror(rc)));
    return dyn_resp(conn, 200, dyn_sprintf(conn, "%lld\n", x));
}

static dyn_conn_t *index_page(dyn_conn_t *conn)
{
    return dyn_resp(conn, 200, "Stacker: GET /stack, POST /stack/:value, DELETE /stack/top\n");
}

DYN_ROUTER(stacker_router, DYN_GET("/", index_page), DYN_GET("/stack", show),
           DYN_POST("/stack/:value", push), DYN_DELETE("/stack/top", pop));

static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_logger, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
};

dyn_dynamo_t stacker_dynamo = {
    .name = "web",
    .endpoint = &stacker_router,
    DYN_PLUGS(plugs),
    .port = 4001,
};
