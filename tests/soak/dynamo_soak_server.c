/*
 * dynamo_soak_server: the Dynamo the hostile-client soak storms (dynamo_soak.py): everything a
 * client can reach through the framework, built with AddressSanitizer+UBSan.
 *
 *   dynamo_soak_server PORT [SCHEDULERS]
 *
 * Environment: DYN_SOAK_STATIC, the static plug's directory (under /static/); DYN_SOAK_UPLOADS,
 * where file parts are written (named uploads, so that the soak can see each one removed).
 *
 * The endpoint's plugs: static (Range, ETag, .gz), request id, head, method override, session
 * (the cookie store, encrypted), CSRF (checked under /csrf only, skipped elsewhere by the plug
 * before it). The routes:
 *   GET /                        200 "Hello, World!" (the soak's probe)
 *   ANY /echo[/...]              fetches cookies and params (query, urlencoded, multipart with
 *                                file parts, JSON) and answers a digest of what it parsed:
 *                                "params P strings S bytes B uploads U size Z cookies C";
 *                                /echo/crash crashes after parsing (its uploads must go too)
 *   ANY /raw                     fetches the raw body (and the query) and answers its length
 *   GET /cookie                  sets cookie "c" to ?v= (a signed and an encrypted copy too),
 *                                deletes cookie "gone"; answers what it read of them
 *   GET|POST /session            fetches the session, counts visits, POST puts the first
 *                                four params (short strings) into it; DELETE /session drops it;
 *                                POST /session/renew renews it
 *   GET /fwd/session             the same, through a forward
 *   GET /csrf                    a CSRF token (and the session that holds it)
 *   POST|PUT|DELETE /csrf        CSRF-protected: 200 with the token checked, else 403
 *   GET /raise/...               a route that crashes (500, the request's actor dies)
 *   GET /status/:code            dyn_raise with a client status (400-499)
 *   GET /stream/:n               streams n chunks of 64 KiB (n up to 256), stopping at the
 *                                first that fails (a client gone): for clients that never read
 * Listens on 127.0.0.1 in the prod environment, prints "listening on 127.0.0.1:PORT" on stderr;
 * stops gracefully on SIGINT/SIGTERM.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/serve.h"
#include "dynamo/dynamo.h"

/* ---- the digest of what a request parsed ------------------------------------------------- */

typedef struct digest {
    size_t params, strings, bytes, uploads;
    uint64_t size;
} digest_t;

static void walk(dyn_conn_t *conn, const dyn_value_t *v, digest_t *d, int depth)
{
    if (depth > 200)
        act_failf(ACT_CRASH, "params nested deeper than any limit allows");
    switch (v->type) {
    case DYN_V_STR:
        d->strings++;
        d->bytes += v->s.len;
        break;
    case DYN_V_LIST:
        for (size_t i = 0; i < dyn_list_len(v->l); i++)
            walk(conn, dyn_list_at(v->l, i), d, depth + 1);
        break;
    case DYN_V_MAP:
        for (size_t i = 0; i < dyn_map_len(v->m); i++) {
            dyn_str_t k;
            const dyn_value_t *x;
            dyn_map_at(v->m, i, &k, &x);
            d->bytes += k.len;
            walk(conn, x, d, depth + 1);
        }
        break;
    case DYN_V_PTR: {
        const dyn_upload_t *u = dyn_value_upload(conn, v);
        if (u) {
            d->uploads++;
            d->size += u->size;
        }
        break;
    }
    default:
        break;
    }
}

static dyn_conn_t *text(dyn_conn_t *conn, int status, const char *body)
{
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp(conn, status, body);
}

static dyn_conn_t *hello(dyn_conn_t *conn)
{
    conn = dyn_put_resp_header(conn, "content-type", "text/plain");
    return dyn_resp_borrow(conn, 200, "Hello, World!", 13);
}

static dyn_conn_t *echo(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_PARAMS);
    digest_t d = {0};
    const dyn_map_t *params = dyn_conn_params(conn);
    for (size_t i = 0; i < dyn_map_len(params); i++) {
        dyn_str_t k;
        const dyn_value_t *v;
        dyn_map_at(params, i, &k, &v);
        d.params++;
        d.bytes += k.len;
        walk(conn, v, &d, 0);
    }
    if (strcmp(dyn_conn_path(conn), "/echo/crash") == 0) /* dies holding its uploads */
        act_failf(ACT_CRASH, "the soak's crash after parsing %zu params, %zu uploads", d.params,
                  d.uploads);
    return text(conn, 200,
                dyn_sprintf(conn,
                            "params %zu strings %zu bytes %zu uploads %zu size %llu cookies %zu",
                            d.params, d.strings, d.bytes, d.uploads, (unsigned long long)d.size,
                            dyn_map_len(dyn_req_cookies(conn))));
}

static dyn_conn_t *raw(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_QUERY | DYN_FETCH_BODY);
    const char *body;
    size_t len;
    dyn_conn_body(conn, 0, &body, &len);
    return text(
        conn, 200,
        dyn_sprintf(conn, "body %zu query %zu", len, dyn_map_len(dyn_conn_query_params(conn))));
}

static dyn_conn_t *cookie(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_QUERY);
    const char *v = dyn_param(conn, "v");
    const char *s = dyn_req_cookie_signed(conn, "cs");
    const char *e = dyn_req_cookie_encrypted(conn, "ce");
    const char *c = dyn_req_cookie(conn, "c");
    if (v) {
        /* a plain cookie takes cookie-octets only (any other byte is the application's 500):
         * the client's value as it is when it fits, else its length */
        bool plain = true;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p <= 0x20 || *p >= 0x7f || strchr("\",;\\", *p))
                plain = false;
        conn =
            dyn_put_resp_cookie(conn, "c", plain ? v : dyn_sprintf(conn, "%zu", strlen(v)), NULL);
        conn = dyn_put_resp_cookie_signed(conn, "cs", v, NULL);
        conn = dyn_put_resp_cookie_encrypted(conn, "ce", v, NULL);
    }
    conn = dyn_delete_resp_cookie(conn, "gone", NULL);
    return text(conn, 200,
                dyn_sprintf(conn, "c %zu signed %zu encrypted %zu", c ? strlen(c) : 0,
                            s ? strlen(s) : 0, e ? strlen(e) : 0));
}

static dyn_conn_t *session(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION | DYN_FETCH_PARAMS);
    int64_t n = dyn_value_int(dyn_session_get(conn, "visits"), 0);
    conn = dyn_session_put_int(conn, "visits", n + 1);
    if (dyn_conn_method(conn) == HTTP_METHOD_POST) {
        const dyn_map_t *params = dyn_conn_params(conn);
        /* a few short ones: a cookie session holds 4 KiB (more is the application's 500) */
        for (size_t i = 0; i < dyn_map_len(params) && i < 4; i++) {
            dyn_str_t k;
            const dyn_value_t *v;
            dyn_map_at(params, i, &k, &v);
            if (v->type == DYN_V_STR && v->s.len < 100 && k.len < 100)
                conn = dyn_session_put_str(conn, dyn_sprintf(conn, "p_%.*s", (int)k.len, k.ptr),
                                           dyn_sprintf(conn, "%.*s", (int)v->s.len, v->s.ptr));
        }
    }
    return text(conn, 200,
                dyn_sprintf(conn, "visits %lld keys %zu", (long long)n + 1,
                            dyn_map_len(dyn_session(conn))));
}

static dyn_conn_t *session_drop(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    conn = dyn_session_drop(conn);
    return text(conn, 200, "dropped");
}

static dyn_conn_t *session_renew(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    conn = dyn_session_renew(conn);
    conn = dyn_session_put_str(conn, "renewed", "yes");
    return text(conn, 200, "renewed");
}

static dyn_conn_t *csrf_token(dyn_conn_t *conn)
{
    conn = dyn_fetch(conn, DYN_FETCH_SESSION);
    return text(conn, 200, dyn_csrf_token(conn));
}

static dyn_conn_t *csrf_ok(dyn_conn_t *conn)
{
    return text(conn, 200, "csrf ok");
}

static dyn_conn_t *crash(dyn_conn_t *conn)
{
    act_failf(ACT_CRASH, "the soak's crashing route: %s", dyn_conn_path(conn));
}

static dyn_conn_t *status(dyn_conn_t *conn)
{
    int64_t code = 0;
    if (dyn_param_int(conn, "code", &code) != 0 || code < 400 || code > 499)
        code = 400;
    dyn_raise(conn, (int)code, "the soak's raising route");
}

static dyn_conn_t *stream(dyn_conn_t *conn)
{
    static const char piece[65536]; /* zeros: read by every request at once, never written */
    int64_t n = 0;
    if (dyn_param_int(conn, "n", &n) != 0 || n < 0 || n > 256)
        n = 16;
    conn = dyn_put_resp_header(conn, "content-type", "application/octet-stream");
    conn = dyn_send_chunked(conn, 200);
    for (int64_t i = 0; i < n; i++)
        if (dyn_chunk(conn, piece, sizeof piece) != 0)
            break;
    return conn;
}

DYN_ROUTER(fwd_router, DYN_GET("/session", session));

DYN_ROUTER(soak_router, DYN_GET("/", hello), DYN_ANY("/echo", echo), DYN_ANY("/echo/*rest", echo),
           DYN_ANY("/raw", raw), DYN_GET("/cookie", cookie), DYN_GET("/session", session),
           DYN_POST("/session", session), DYN_DELETE("/session", session_drop),
           DYN_POST("/session/renew", session_renew), DYN_FORWARD("/fwd", &fwd_router),
           DYN_GET("/csrf", csrf_token),
           DYN_ROUTE(DYN_M_POST | DYN_M_PUT | DYN_M_DELETE | DYN_M_PATCH,

                     "/csrf", csrf_ok),
           DYN_GET("/raise/*what", crash), DYN_GET("/status/:code", status),
           DYN_GET("/stream/:n", stream));

/* CSRF is checked under /csrf only: the other routes take the soak's unprotected POSTs. */
static dyn_conn_t *csrf_scope(dyn_conn_t *conn, void *state)
{
    (void)state;
    const char *p = dyn_conn_path(conn);
    if (strncmp(p, "/csrf", 5) != 0 || (p[5] != '\0' && p[5] != '/'))
        conn = dyn_csrf_skip(conn);
    return conn;
}
static const dyn_plug_t csrf_scope_plug = {.name = "csrf_scope", .call = csrf_scope};

static dyn_static_opts_t static_opts = {.from = "priv/static"};
static const dyn_session_opts_t session_opts = {.key = "_soak_session"};

static const dyn_plug_spec_t plugs[] = {
    DYN_PLUG(dyn_plug_static, &static_opts),
    DYN_PLUG(dyn_plug_request_id, NULL),
    DYN_PLUG(dyn_plug_head, NULL),
    DYN_PLUG(dyn_plug_method_override, NULL),
    DYN_PLUG(dyn_plug_session, &session_opts),
    DYN_PLUG(csrf_scope_plug, NULL),
    DYN_PLUG(dyn_plug_csrf, NULL),
};

static dyn_dynamo_t soak = {
    .name = "soak",
    .env = DYN_ENV_PROD,
    .endpoint = &soak_router,
    .secret = "dynamo_soak-secret-dynamo_soak-secret-dynamo_soak-secret-dynamo_soak-secret!",
    .dyn_limits = {.named_uploads = true},
    DYN_PLUGS(plugs),
};

int main(int argc, char **argv)
{
    uint16_t port = serve_start("dynamo_soak_server", argc, argv);
    int rc;
    soak.port = port;
    if (getenv("DYN_SOAK_STATIC"))
        static_opts.from = getenv("DYN_SOAK_STATIC");
    if (getenv("DYN_SOAK_UPLOADS"))
        soak.dyn_limits.upload_dir = getenv("DYN_SOAK_UPLOADS");
    act_pid_t sup;
    rc = dyn_start_link(&soak, &sup);
    if (rc) {
        fprintf(stderr, "dynamo_soak_server: port %s: %s\n", argv[1], dyn_strerror(rc));
        act_system_stop();
        return 1;
    }
    dyn_info_t info;
    dyn_info("soak", &info);
    fprintf(stderr, "dynamo_soak_server: listening on 127.0.0.1:%u, %u schedulers\n", info.port,
            act_sched_count());
    act_system_wait();
    dyn_stop("soak", 5000);
    act_system_stop();
    return 0;
}
