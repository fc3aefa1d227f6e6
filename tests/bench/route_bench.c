/*
 * route_bench: the route matcher alone, at 10, 100 and 1,000 routes, beside a linear scan of
 * the same routes (each pattern tried in declaration order: what a router costs without a
 * compiled matcher). Prints one JSON line per figure:
 *
 *   {"peer":"dynamo","bench":"route_match 1000 routes","metric":"ns_per_match",...}
 *
 *   route_bench [MILLISECONDS_PER_FIGURE]     (default 300)
 *
 * The routes are those of a REST-ish app: per resource K, GET /rK, POST /rK, GET /rK/:id,
 * PUT /rK/:id and GET /rK/:id/comments/:cid. Matched: the last route declared (the linear
 * scan's worst case, the trie's usual one), the first, a 404 and a 405. The matcher includes
 * splitting and percent-decoding the path, as for a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynamo/dynamo.h"

static dyn_conn_t *handler(dyn_conn_t *conn)
{
    return conn;
}

typedef struct app {
    dyn_route_t *routes;
    char **paths;
    size_t n;
    dyn_router_t router;
} app_t;

static void build(app_t *a, size_t n)
{
    static const uint32_t methods[] = {DYN_M_GET, DYN_M_POST, DYN_M_GET, DYN_M_PUT, DYN_M_GET};
    a->n = n;
    a->routes = calloc(n, sizeof *a->routes);
    a->paths = calloc(n, sizeof *a->paths);
    for (size_t i = 0; i < n; i++) {
        char p[64];
        size_t k = i / 5;
        if (i % 5 < 2)
            snprintf(p, sizeof p, "/r%zu", k);
        else if (i % 5 < 4)
            snprintf(p, sizeof p, "/r%zu/:id", k);
        else
            snprintf(p, sizeof p, "/r%zu/:id/comments/:cid", k);
        a->paths[i] = strdup(p);
        a->routes[i] = (dyn_route_t){.kind = DYN_ROUTE_HANDLER,
                                     .methods = methods[i % 5],
                                     .path = a->paths[i],
                                     .handler = handler,
                                     .name = "handler"};
    }
    a->router = (dyn_router_t){.name = "bench", .routes = a->routes, .nroutes = n};
}

static void destroy(app_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->paths[i]);
    free(a->paths);
    free(a->routes);
}

/* The linear scan: split the path, then try each pattern in order. */
static bool pattern_matches(const char *pat, const dyn_str_t *segs, int n)
{
    int i = 0;
    const char *p = pat;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        if (*s == '*')
            return true;
        if (i == n)
            return false;
        size_t len = (size_t)(p - s);
        if (*s != ':' && (segs[i].len != len || memcmp(segs[i].ptr, s, len) != 0))
            return false;
        i++;
    }
    return i == n;
}

static int linear_match(const app_t *a, http_method_t m, const char *path, size_t len)
{
    char buf[256];
    dyn_str_t segs[32];
    int n = dyn_path_split(path, len, buf, segs, 32);
    if (n < 0)
        return 400;
    uint32_t allow = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!pattern_matches(a->routes[i].path, segs, n))
            continue;
        if (a->routes[i].methods & DYN_M(m))
            return 200;
        allow |= a->routes[i].methods;
    }
    return allow ? 405 : 404;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile int sink;

static void figure(const char *peer, size_t nroutes, const char *what, double ns)
{
    printf("{\"peer\":\"%s\",\"bench\":\"route_match %zu routes %s\",\"metric\":\"ns_per_match\","
           "\"value\":%.1f,\"unit\":\"ns\",\"schedulers\":1,\"routes\":%zu}\n",
           peer, nroutes, what, ns, nroutes);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double budget_ns = (argc > 1 ? atof(argv[1]) : 300) * 1e6;
    static const size_t sizes[] = {10, 100, 1000};
    for (size_t s = 0; s < 3; s++) {
        app_t a;
        build(&a, sizes[s]);
        dyn_routes_t *rt;
        char err[256];
        if (dyn_routes_compile(&a.router, &rt, err, sizeof err) != 0) {
            fprintf(stderr, "route_bench: %s\n", err);
            return 1;
        }
        size_t last = sizes[s] / 5 - 1;
        char deep[64], nope[] = "/nope/x/y", first[] = "/r0", del[64];
        snprintf(deep, sizeof deep, "/r%zu/123/comments/9", last);
        snprintf(del, sizeof del, "/r%zu/123", last);
        const struct {
            const char *what;
            http_method_t m;
            const char *path;
            int want;
        } cases[] = {{"last", HTTP_METHOD_GET, deep, 200},
                     {"first", HTTP_METHOD_GET, first, 200},
                     {"404", HTTP_METHOD_GET, nope, 404},
                     {"405", HTTP_METHOD_DELETE, del, 405}};
        for (size_t c = 0; c < 4; c++) {
            size_t len = strlen(cases[c].path);
            dyn_match_t m;
            if (dyn_routes_match(rt, cases[c].m, cases[c].path, len, &m) != cases[c].want ||
                linear_match(&a, cases[c].m, cases[c].path, len) != cases[c].want) {
                fprintf(stderr, "route_bench: %s %s: wrong answer\n", cases[c].what, cases[c].path);
                return 1;
            }
            for (int peer = 0; peer < 2; peer++) {
                long iters = 0;
                double t0 = now_ns(), t1;
                do {
                    for (int k = 0; k < 1000; k++)
                        sink += peer == 0 ? dyn_routes_match(rt, cases[c].m, cases[c].path, len, &m)
                                          : linear_match(&a, cases[c].m, cases[c].path, len);
                    iters += 1000;
                    t1 = now_ns();
                } while (t1 - t0 < budget_ns);
                figure(peer == 0 ? "dynamo" : "linear-scan", sizes[s], cases[c].what,
                       (t1 - t0) / (double)iters);
            }
        }
        dyn_routes_free(rt);
        destroy(&a);
    }
    return 0;
}
