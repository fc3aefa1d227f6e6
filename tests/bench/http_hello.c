/*
 * http_hello: the HTTP benchmark server, beside nginx and h2o (scripts/bench-http.sh).
 *
 *   http_hello PORT [SCHEDULERS]
 *
 * GET / -> 200 text/plain "Hello, World!"; GET /users/:id -> 200 text/plain "user <id>";
 * POST or PUT /echo -> 200 application/octet-stream with the request body (read whole, up to
 * max_body_size) and "X-Trailers: <count of its trailer fields>", for the hostile-client soak
 * (tests/soak; a body error gets the server's 400, 408 or 413); anything else 404. The simplest
 * matching the HTTP layer allows (no router: that is dynamo's), with the server's default
 * limits, timeouts and protocol checks all on. Listens on 127.0.0.1; stops gracefully on
 * SIGINT/SIGTERM. HTTP_ACCEPT=single|reuseport picks the accept mode (the default is the
 * server's); HTTP_MAX_CONNECTIONS=N sets limits.max_connections (the soak's max-connections
 * storm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor/act.h"
#include "http/http.h"
#include "serve.h"

static void hello(http_req_t *req, void *arg)
{
    (void)arg;
    const char *path = http_req_path(req);
    http_method_t m = http_req_method(req);
    if (m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD) {
        if (path[0] == '/' && path[1] == '\0') {
            http_resp_header(req, "Content-Type", "text/plain");
            http_resp_send(req, 200, "Hello, World!", 13);
            return;
        }
        if (strncmp(path, "/users/", 7) == 0 && path[7] && !strchr(path + 7, '/')) {
            char body[256] = "user ";
            size_t n = strlen(path + 7);
            if (n <= sizeof body - 5) {
                memcpy(body + 5, path + 7, n);
                http_resp_header(req, "Content-Type", "text/plain");
                http_resp_send(req, 200, body, n + 5);
                return;
            }
        }
    }
    if ((m == HTTP_METHOD_POST || m == HTTP_METHOD_PUT) && strcmp(path, "/echo") == 0) {
        const char *body;
        size_t len, ntr;
        if (http_req_body_all(req, 0, &body, &len) != 0)
            return; /* the server answers the error, then closes */
        http_req_trailers(req, &ntr);
        char count[24];
        snprintf(count, sizeof count, "%zu", ntr);
        http_resp_header(req, "Content-Type", "application/octet-stream");
        http_resp_header(req, "X-Trailers", count);
        http_resp_send(req, 200, body, len);
        return;
    }
    http_resp_header(req, "Content-Type", "text/plain");
    http_resp_send(req, 404, "Not Found\n", 10);
}

int main(int argc, char **argv)
{
    uint16_t port = serve_start("http_hello", argc, argv);
    int rc;
    http_config_t cfg = {.port = port, .handler = hello};
    const char *mode = getenv("HTTP_ACCEPT");
    if (mode && strcmp(mode, "single") == 0)
        cfg.accept_mode = HTTP_ACCEPT_SINGLE;
    else if (mode && strcmp(mode, "reuseport") == 0)
        cfg.accept_mode = HTTP_ACCEPT_REUSEPORT;
    const char *maxc = getenv("HTTP_MAX_CONNECTIONS");
    if (maxc)
        cfg.limits.max_connections = (uint32_t)strtoul(maxc, NULL, 10);
    http_server_t *srv;
    rc = http_server_start(&cfg, &srv);
    if (rc) {
        fprintf(stderr, "http_hello: port %s: %s\n", argv[1], http_strerror(rc));
        act_system_stop();
        return 1;
    }
    fprintf(stderr, "http_hello: listening on 127.0.0.1:%u, %u schedulers\n", http_server_port(srv),
            act_sched_count());
    act_system_wait();
    http_server_stop(srv, 5000);
    act_system_stop();
    return 0;
}
