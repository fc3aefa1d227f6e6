/* Request heads: every bad input gets its clear answer and a close (real sockets), and the
 * parser glue itself, fed in pieces (no socket). */
#include <stdlib.h>
#include <string.h>

#include "client_util.h"
#include "parser_int.h"

TestSuite(parser, .init = hu_init, .fini = hu_fini, .timeout = TMO(30));

Test(parser, smuggling_and_malformed_heads_get_400)
{
    uint16_t port = hu_serve(NULL, NULL);
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n", 400); /* obs-fold */
    HU_REJECT(port, "GET / HTTP/1.1\nHost: t\n\n", 400);                     /* bare LF */
    HU_REJECT(port, "GET / HTTP/1.1\nHost: t\r\n\r\n", 400); /* bare LF ending the request line */
    HU_REJECT(port, "GET / HTTP/1.0\n\r\n", 400);            /* ... just before the end */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\r\n\n", 400); /* bare LF ending the head */
    HU_REJECT(port, "GET / HTTP/1.1\rHost: t\r\n\r\n", 400); /* bare CR */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400);  /* CR in a line */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\x01\r\n\r\n", 400);    /* CTL in value */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400);       /* space, colon */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\r\n: v\r\n\r\n", 400); /* empty name */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHo(st: t\r\n\r\n", 400);       /* bad token */
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
              400); /* repeated CL */
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
              400); /* conflicting */
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1,1\r\n\r\nx", 400);
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400);
    HU_REJECT(port,
              "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
              400); /* CL + TE */
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    HU_REJECT(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    HU_REJECT(port,
              "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
              400); /* chunked twice */
    HU_REJECT(port, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    HU_REJECT(port, "GET / HTTP/1.1\r\n\r\n", 400);                       /* no Host */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two Hosts */
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    HU_REJECT(port, "GET foo HTTP/1.1\r\nHost: t\r\n\r\n", 400); /* target form */
    HU_REJECT(port, "GET ftp://h/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /a#frag HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET * HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400); /* TLS hello */
}

Test(parser, unknown_codings_and_connect_get_501)
{
    uint16_t port = hu_serve(NULL, NULL);
    HU_REJECT(port,
              "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
              501);
    HU_REJECT(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
}

Test(parser, other_versions_get_505)
{
    uint16_t port = hu_serve(NULL, NULL);
    HU_REJECT(port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET / HTTP/1.3\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET / HTTP/0.9\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET / HTTP/3.1\r\nHost: t\r\n\r\n", 505);
}

Test(parser, limits_get_414_431_413_417)
{
    http_limits_t lim = {
        .max_request_line = 100, .max_header_size = 300, .max_headers = 5, .max_body_size = 1000};
    uint16_t port = hu_serve(NULL, &lim);
    char buf[4096];
    /* 414: the target alone passes max_request_line, whether or not the line is complete. */
    snprintf(buf, sizeof buf, "GET /%0150d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    hu_expect_reject(port, buf, strlen(buf), 414);
    snprintf(buf, sizeof buf, "GET /%0150d", 0);
    hu_expect_reject(port, buf, strlen(buf), 414);
    /* 431: too many bytes of headers, or too many headers. */
    snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %0400d\r\n\r\n", 0);
    hu_expect_reject(port, buf, strlen(buf), 431);
    HU_REJECT(port, "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n",
              431);
    /* 413: a declared body past max_body_size is refused before it is read. */
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n", 417);
    /* Just within the limits: served. */
    hu_resp_t r;
    cr_expect_eq(hu_exchange(port,
                             "GET /headers HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 1\r\n"
                             "C: 1\r\nD: 1\r\n\r\n",
                             &r),
                 200);
    cr_expect_str_eq(r.body, "5");
    hu_resp_free(&r);
}

Test(parser, default_limits_take_large_heads)
{
    uint16_t port = hu_serve(NULL, NULL);
    /* 90 headers of 150 bytes (13.5 KB): within the defaults, so the read buffer grows. */
    char *buf = malloc(32768);
    size_t n = (size_t)sprintf(buf, "GET /headers HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 90; i++)
        n += (size_t)sprintf(buf + n, "X-H%02d: %0140d\r\n", i, i);
    n += (size_t)sprintf(buf + n, "\r\n");
    hu_resp_t r;
    cr_expect_eq(hu_exchange(port, buf, &r), 200);
    cr_expect_str_eq(r.body, "91");
    hu_resp_free(&r);
    /* Past the default 16 KiB of headers: 431. */
    n = (size_t)sprintf(buf, "GET /headers HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 20; i++)
        n += (size_t)sprintf(buf + n, "X-H%02d: %01000d\r\n", i, i);
    n += (size_t)sprintf(buf + n, "\r\n");
    hu_expect_reject(port, buf, n, 431);
    free(buf);
}

Test(parser, leading_empty_lines_are_ignored)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    cr_expect_eq(hu_exchange(port, "\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    hu_resp_free(&r);
}

/* ---- the glue alone ------------------------------------------------------------------------ */

static const http_limits_t unit_lim = {.max_request_line = 8192,
                                       .max_header_size = 16384,
                                       .max_headers = 100,
                                       .max_body_size = 1 << 20};

Test(parser, head_fed_in_every_split_gives_the_same_result)
{
    static const char req[] = "\r\nPOST /a/b?c=d HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n"
                              "Connection: close\r\n\r\nbody...";
    size_t len = sizeof req - 1;
    for (size_t cut = 1; cut < len; cut++) {
        http__parser_t p;
        http__parser_init(&p, &unit_lim);
        uint32_t parsed = 0;
        http__head_t h;
        int r = http__parse_head(&p, req, 0, &parsed, (uint32_t)cut, &h);
        if (r == HTTP__P_MORE)
            r = http__parse_head(&p, req, 0, &parsed, (uint32_t)len, &h);
        cr_assert_eq(r, HTTP__P_HEAD, "cut %zu: %d", cut, r);
        cr_expect_eq(h.off, 2u);
        cr_expect_eq(h.method, HTTP_METHOD_POST);
        cr_expect_eq(h.version, 11);
        cr_expect_eq(h.content_length, 12u);
        cr_expect(!h.keepalive);
        cr_expect_eq(h.url_len, 8u);
        cr_expect(memcmp(req + h.off + h.url_off, "/a/b?c=d", 8) == 0);
        cr_expect_eq(parsed, (uint32_t)(strstr(req, "body") - req), "cut %zu", cut);
        cr_expect_eq(h.off + h.len, parsed);
    }
}

Test(parser, offsets_survive_moving_the_bytes)
{
    /* The caller may compact its buffer between feeds: offsets are from `start`. */
    char a[256], b[256];
    const char *part1 = "GET /xyz HTTP/1.1\r\nHo";
    const char *part2 = "st: h\r\n\r\n";
    memset(a, '#', sizeof a);
    size_t at = 100;
    memcpy(a + at, part1, strlen(part1));
    http__parser_t p;
    http__parser_init(&p, &unit_lim);
    uint32_t parsed = (uint32_t)at;
    http__head_t h;
    cr_assert_eq(http__parse_head(&p, a, (uint32_t)at, &parsed, (uint32_t)(at + strlen(part1)), &h),
                 HTTP__P_MORE);
    memcpy(b, a + at, strlen(part1));
    memcpy(b + strlen(part1), part2, strlen(part2));
    parsed -= (uint32_t)at;
    cr_assert_eq(http__parse_head(&p, b, 0, &parsed, (uint32_t)(strlen(part1) + strlen(part2)), &h),
                 HTTP__P_HEAD);
    cr_expect_eq(h.off, 0u);
    cr_expect(memcmp(b + h.url_off, "/xyz", 4) == 0);
}
