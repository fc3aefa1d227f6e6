/*
 * libFuzzer target: request paths through the router's decoding and matching, without a
 * server.
 *
 * The first byte picks the method and the segment limit; the rest is the raw path a client
 * sends. The path is split and percent-decoded (dyn_path_split, into a buffer of exactly the
 * contracted size, so ASan sees any overflow), then matched against a compiled router tree with
 * literals, parameters, globs, forwards (with a parameter in a prefix) and routes that shadow
 * each other. The trie's answer is checked against a linear scan of the same declarations in
 * order (first declared wins, forwards followed): any difference is a matcher bug.
 *
 *   cmake -B build/fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DDYN_FUZZ=ON \
 *         -DDYN_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
 *   cmake --build build/fuzz --target path_fuzz
 *   build/fuzz/tests/fuzz/path_fuzz tests/fuzz/corpus/path -max_total_time=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/dynamo.h"

/* assert() that NDEBUG (RelWithDebInfo) does not remove. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static dyn_conn_t *h(dyn_conn_t *conn)
{
    return conn;
}

DYN_ROUTER_DECLARE(inner);
DYN_ROUTER(inner, DYN_GET("/", h), DYN_GET("/recent", h), DYN_POST("/:id/comments", h),
           DYN_GET("/:id", h), DYN_GET("/tags/*tags", h));
DYN_ROUTER(outer, DYN_GET("/", h), DYN_GET("/a/b/c", h), DYN_GET("/a/:x/c", h),
           DYN_PUT("/a/:x/:y", h), DYN_GET("/a/*rest", h), DYN_ANY("/any/:x", h),
           DYN_FORWARD("/posts", &inner), DYN_FORWARD("/users/:uid/posts", &inner),
           DYN_GET("/users/:uid", h), DYN_DELETE("/users/:uid", h), DYN_GET("/%41", h),
           DYN_GET("/caf\xC3\xA9", h), DYN_GET("/x/y/z/w", h), DYN_GET("/x/*", h),
           DYN_GET("/files/*path", h), DYN_OPTIONS("/", h));

static dyn_routes_t *routes;

static const http_method_t methods[] = {HTTP_METHOD_GET,     HTTP_METHOD_HEAD,   HTTP_METHOD_POST,
                                        HTTP_METHOD_PUT,     HTTP_METHOD_DELETE, HTTP_METHOD_PATCH,
                                        HTTP_METHOD_OPTIONS, HTTP_METHOD_OTHER};

/* Does pattern pat match segs[0..n)? For a forward (prefix), *consumed gets the segments its
 * prefix takes and any remainder matches. */
static bool pattern(const char *pat, bool prefix, const dyn_str_t *segs, size_t n, size_t *consumed)
{
    size_t i = 0;
    const char *p = pat;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (*s == '*') {
            *consumed = i;
            return true;
        }
        if (i == n)
            return false;
        if (*s != ':' && (segs[i].len != len || memcmp(segs[i].ptr, s, len) != 0))
            return false;
        i++;
    }
    *consumed = i;
    return prefix || i == n;
}

/* The reference: declarations tried in order. Returns the status, *route the winner. */
static int linear(const dyn_router_t *r, uint32_t mbits, const dyn_str_t *segs, size_t n,
                  const dyn_route_t **route, int depth)
{
    CHECK(depth < 8);
    uint32_t allow = 0;
    for (size_t i = 0; i < r->nroutes; i++) {
        const dyn_route_t *rt = &r->routes[i];
        size_t used;
        bool fwd = rt->kind == DYN_ROUTE_FORWARD;
        if (!pattern(rt->path, fwd, segs, n, &used))
            continue;
        if (fwd)
            return linear(rt->forward, mbits, segs + used, n - used, route, depth + 1);
        if (rt->methods & mbits) {
            *route = rt;
            return 200;
        }
        allow |= rt->methods;
    }
    return allow ? 405 : 404;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!routes) {
        char err[256];
        if (dyn_routes_compile(&outer, &routes, err, sizeof err) != 0)
            abort();
    }
    if (size < 1)
        return 0;
    http_method_t m = methods[data[0] & 7];
    size_t max = 1 + (data[0] >> 3); /* 1..32 segments */
    const char *path = (const char *)data + 1;
    size_t len = size - 1;

    char *buf = malloc(len + 1);
    dyn_str_t *segs = malloc(max * sizeof *segs);
    int n = dyn_path_split(path, len, buf, segs, max);
    if (n >= 0) {
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            CHECK(segs[i].len > 0);
            CHECK(segs[i].ptr >= buf && segs[i].ptr + segs[i].len < buf + len + 1);
            CHECK(segs[i].ptr[segs[i].len] == '\0');
            CHECK(memchr(segs[i].ptr, '\0', segs[i].len) == NULL);
            total += segs[i].len + 1;
        }
        CHECK(total <= len + 1);
    } else {
        CHECK(n == DYN_EBADENCODING || n == DYN_ELIMIT);
    }

    dyn_match_t mt;
    int st = dyn_routes_match(routes, m, path, len, &mt);
    CHECK(st == mt.status);
    if (n >= 0 && (size_t)n < max) {
        /* Within the limit the split above is the matcher's: compare with the reference. */
        uint32_t mbits = DYN_M(m) | (m == HTTP_METHOD_HEAD ? DYN_M_GET : 0);
        const dyn_route_t *want = NULL;
        int ref = linear(&outer, mbits, segs, (size_t)n, &want, 0);
        if (n <= 64) {
            CHECK(st == ref);
            if (st == 200)
                CHECK(mt.route == want);
        }
    } else if (n == DYN_EBADENCODING) {
        CHECK(st == 400);
    }
    if (st == 405)
        CHECK(mt.allow != 0);
    free(segs);
    free(buf);
    return 0;
}
