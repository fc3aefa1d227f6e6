/* Request bodies: Content-Length and chunked (extensions, trailers), read on demand in pieces,
 * Expect: 100-continue, limits, unread bodies; and the chunked decoder alone. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "parser_int.h"

TestSuite(body, .init = hu_init, .fini = hu_fini, .timeout = TMO(30));

static const http_limits_t unit_lim = {
    .max_request_line = 8192, .max_header_size = 1024, .max_headers = 10, .max_body_size = 1 << 20};

/* Decodes all of in, fed in pieces of `step` bytes into an output of `outcap` bytes at a time;
 * returns the status (HTTP__P_END or an error), the body in out. */
static int decode(const char *in, size_t len, size_t step, size_t outcap, char *out, size_t *outlen,
                  char *tr, size_t *trlen)
{
    http__body_t b;
    http__body_init(&b, HTTP__B_CHUNKED, 0);
    size_t have = 0, pos = 0;
    *outlen = 0;
    *trlen = 0;
    for (;;) {
        char piece[4096];
        http__body_io_t io = {.in = in + pos, .inlen = have - pos, .out = piece, .outcap = outcap};
        int r = http__body_decode(&b, &unit_lim, &io);
        size_t prod = io.produced;
        memcpy(out + *outlen, piece, prod);
        *outlen += prod;
        if (r == HTTP__P_END) {
            memcpy(tr, in + pos + io.tr_off, io.tr_len);
            *trlen = io.tr_len;
            return r;
        }
        pos += io.used;
        if (r != HTTP__P_MORE)
            return r;
        if (prod == outcap)
            continue;
        if (have == len)
            return -1; /* ran out of input */
        have = have + step > len ? len : have + step;
    }
}

Test(body, chunked_decoder_in_every_split)
{
    static const char in[] = "5;a=b;c=\"d \\\"e\"\r\nhello\r\n6 ; x\r\n world\r\n"
                             "000;z=1\r\nX-T: tv\r\nY: 2\r\n\r\nNEXT";
    for (size_t step = 1; step < sizeof in; step++) {
        for (size_t outcap = 1; outcap <= 12; outcap += 11) {
            char out[64], tr[64];
            size_t ol, tl;
            int r = decode(in, sizeof in - 1, step, outcap, out, &ol, tr, &tl);
            cr_assert_eq(r, HTTP__P_END, "step %zu outcap %zu: %d", step, outcap, r);
            cr_expect_eq(ol, 11u);
            cr_expect(memcmp(out, "hello world", 11) == 0);
            cr_expect_eq(tl, 15u);
            cr_expect(memcmp(tr, "X-T: tv\r\nY: 2\r\n", 15) == 0);
        }
    }
}

Test(body, chunked_decoder_rejects_bad_framing)
{
    static const char *bad[] = {
        "5\nhello\r\n0\r\n\r\n",         /* bare LF */
        "5\r\nhelloX\r\n0\r\n\r\n",      /* no CRLF after data */
        "g\r\n",                         /* not hex */
        "\r\n",                          /* no size */
        "5 \r\nhello\r\n0\r\n\r\n",      /* whitespace without extension */
        "5;\r\nhello\r\n0\r\n\r\n",      /* empty extension name */
        "5;a=\r\nhello\r\n0\r\n\r\n",    /* empty value */
        "5;a=\"x\r\nhello\r\n0\r\n\r\n", /* open quote */
        "11111111111111111\r\n",         /* 17 digits */
        "-5\r\n",
        "0\r\nX-T tv\r\n\r\n",     /* trailer without colon */
        "0\r\nX-T: a\x01\r\n\r\n", /* CTL in a trailer */
        "0\r\n\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64], tr[64];
        size_t ol, tl;
        int r = decode(bad[i], strlen(bad[i]), 64, 64, out, &ol, tr, &tl);
        cr_expect(r >= 400, "%zu (%s): %d", i, bad[i], r);
    }
}

Test(body, chunked_decoder_bounds_lines_and_trailers)
{
    char *in = malloc(20000);
    memset(in, '0', 20000); /* a size line of 20000 zeros never ends */
    char out[64], tr[64];
    size_t ol, tl;
    cr_expect_geq(decode(in, 20000, 20000, 64, out, &ol, tr, &tl), 400);
    size_t n = (size_t)sprintf(in, "0\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(in + n, "X-%d: %050d\r\n", i, i);
    n += (size_t)sprintf(in + n, "\r\n");
    cr_expect_eq(decode(in, n, n, 64, out, &ol, tr, &tl), 431);
    free(in);
}

Test(body, content_length_bodies_echo)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello world");
    hu_resp_free(&r);
    size_t big = 300000;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('a' + i % 23);
    char head[128];
    snprintf(head, sizeof head, "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             big);
    hu_send(c, head, -1);
    hu_send(c, body, (long)big);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.body_len, big);
    cr_expect(memcmp(r.body, body, big) == 0);
    hu_resp_free(&r);
    free(body);
    hu_close(c);
}

Test(body, chunked_with_extensions_and_trailers)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5;a=b;c=\"d e\"\r\nhello\r\n6 ;x\r\n world\r\n0;z=1\r\nX-T: tv\r\n\r\n",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "hello world");
    cr_expect_str_eq(hu_header(&r, "x-trailer"), "tv");
    hu_resp_free(&r);
    /* The connection goes on after a chunked body. */
    hu_send(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.body_len, 0u);
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, read_on_demand_in_pieces)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_resp_t r;
    char req[512];
    snprintf(req, sizeof req,
             "POST /pieces?n=7 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n%0100d", 0);
    cr_assert_eq(hu_exchange(port, req, &r), 200);
    cr_expect_str_eq(r.body, "pieces=15 bytes=100 end=0");
    hu_resp_free(&r);
    /* Chunked, bytes arriving slowly: the handler's reads wait for them. */
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "POST /pieces?n=1000 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", -1);
    for (int i = 0; i < 10; i++) {
        hu_send(c, "3\r\nabc\r\n", -1);
        usleep(5000);
    }
    hu_send(c, "0\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "pieces=10 bytes=30 end=0");
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, expect_100_continue)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    hu_send(c,
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 100);
    hu_resp_free(&r);
    hu_send(c, "hello", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "hello");
    cr_expect_null(hu_header(&r, "connection"));
    hu_resp_free(&r);
    /* A handler that answers without reading: no 100, and the connection closes (the client
     * may hold its body back). */
    hu_send(c,
            "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    hu_resp_free(&r);
    cr_expect(hu_closed_within(c, MS(3000)));
    hu_close(c);
}

Test(body, chunked_body_past_the_limit)
{
    http_limits_t lim = {.max_body_size = 1000};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "POST /readfail HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", -1);
    char chunk[600 + 16];
    int n = snprintf(chunk, sizeof chunk, "258\r\n%0600d\r\n", 0);
    hu_send(c, chunk, n);
    hu_send(c, chunk, n);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    char want[32];
    snprintf(want, sizeof want, "err=%d", HTTP_ETOOLARGE);
    cr_expect_str_eq(r.body, want);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    hu_resp_free(&r);
    /* A handler that gives up without a response: 413. */
    hu_close(c);
    c = hu_connect(port);
    hu_send(c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", -1);
    hu_send(c, chunk, n);
    hu_send(c, chunk, n);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 500); /* /echo answers its own error */
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, malformed_chunks_fail_the_read_and_close)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "POST /readfail HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    char want[32];
    snprintf(want, sizeof want, "err=%d", HTTP_EBADBODY);
    cr_expect_str_eq(r.body, want);
    cr_expect(hu_closed_within(c, MS(3000)));
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, body_timeout)
{
    http_limits_t lim = {.body_timeout_ms = (uint32_t)MS(300)};
    uint16_t port = hu_serve(NULL, &lim);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "POST /readfail HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345", -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    char want[32];
    snprintf(want, sizeof want, "err=%d", -ETIMEDOUT);
    cr_expect_str_eq(r.body, want);
    hu_resp_free(&r);
    hu_close(c);
    /* A handler that does not answer after the timeout: 408. */
    c = hu_connect(port);
    hu_send(c, "POST /pieces HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200); /* /pieces answers what it got */
    hu_resp_free(&r);
    hu_close(c);
}

static void no_answer_after_read(http_req_t *req, void *arg)
{
    (void)arg;
    char buf[64];
    while (http_req_body_read(req, buf, sizeof buf) > 0)
        ;
}

Test(body, failed_read_without_answer_gets_408_or_413)
{
    http_limits_t lim = {.body_timeout_ms = (uint32_t)MS(300), .max_body_size = 100};
    uint16_t port = hu_serve(no_answer_after_read, &lim);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12", -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 408);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    hu_resp_free(&r);
    hu_close(c);
    c = hu_connect(port);
    hu_send(c,
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "70\r\n",
            -1);
    char big[0x70 + 2];
    memset(big, 'q', 0x70);
    memcpy(big + 0x70, "\r\n", 2);
    hu_send(c, big, sizeof big);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 413);
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, unread_bodies_are_skipped_or_close)
{
    uint16_t port = hu_serve(NULL, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    char req[2048];
    snprintf(req, sizeof req,
             "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n%01000d", 0);
    hu_send(c, req, -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_null(hu_header(&r, "connection"));
    hu_resp_free(&r);
    hu_send(c,
            "POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    hu_resp_free(&r);
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    /* Larger than max_skip_body: the response says close. */
    hu_send(c, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_str_eq(hu_header(&r, "connection"), "close");
    cr_expect(hu_closed_within(c, MS(3000)));
    hu_resp_free(&r);
    hu_close(c);
}

/* ---- bad framing after pooled buffers were used (a remote heap overflow once) ---------------- */

/* One connection: a chunked request to `path` whose framing is `framing`, then a canary request.
 * The response to the request comes (the handler's, or its answer to the failed read), then the
 * connection closes: the canary is never interpreted. */
static void bad_framing_closes(uint16_t port, const char *path, const char *framing, size_t flen)
{
    static const char canary[] = "GET /canary HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", path);
    size_t len = (size_t)hl + flen + sizeof canary - 1;
    char *all = malloc(len);
    memcpy(all, head, (size_t)hl);
    memcpy(all + hl, framing, flen);
    memcpy(all + (size_t)hl + flen, canary, sizeof canary - 1);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, all, (long)len); /* may fail midway: the server closes once it has answered */
    free(all);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0, "%s %.20s...: no response", path, framing);
    if (strcmp(path, "/readfail") == 0) {
        char want[32];
        snprintf(want, sizeof want, "err=%d", HTTP_EBADBODY);
        cr_expect_str_eq(r.body, want, "%.20s...: %s", framing, r.body);
    } else {
        cr_expect_eq(r.status, 200);
    }
    hu_resp_free(&r);
    int rc = hu_read(c, &r, false);
    cr_expect_eq(rc, HU_CLOSED, "%s %.20s...: %s", path, framing,
                 rc == 0 ? "the canary was answered" : "the connection stayed open");
    hu_resp_free(&r);
    hu_close(c);
}

Test(body, bad_chunk_framing_after_a_reused_buffer_closes_the_connection)
{
    /* One scheduler: every connection takes its read buffer from the same pool. */
    http_config_t cfg = {.handler = hu_handler, .schedulers = 1};
    uint16_t port = hu_serve_cfg(&cfg);
    /* Bad framing in many shapes and sizes: an extension of 100 KB (the buffer grew for the
     * input behind the head), a size line past its limit (4 KiB) with no end, trailers past
     * theirs (16 KiB), a bad size, a chunk without its CRLF; at and around the sizes of the read
     * buffer. */
    size_t sizes[] = {4100, 16000, 16184, 16300, 40000, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        char *shapes[5];
        size_t lens[5];
        for (int s = 0; s < 5; s++) {
            shapes[s] = malloc(n + 64);
            char *p = shapes[s];
            size_t pre;
            switch (s) {
            case 0: /* a long extension, then a good chunk and the end */
                memcpy(p, "5;", 2);
                memset(p + 2, 'e', n);
                memcpy(p + 2 + n, "\r\nhello\r\n0\r\n\r\n", 15);
                lens[s] = n + 17;
                break;
            case 1: /* a size line that never ends */
                memcpy(p, "5;", 2);
                memset(p + 2, 'e', n);
                lens[s] = n + 2;
                break;
            case 2: /* trailers that never end (the canary's CRLFs would end shorter ones) */
                pre = (size_t)sprintf(p, "0\r\nX-T: ");
                memset(p + pre, 'v', n);
                lens[s] = pre + n;
                if (n < 16384 + 4)
                    lens[s] = 0;
                break;
            case 3: /* not a size, then bytes */
                memcpy(p, "zz\r\n", 4);
                memset(p + 4, 'a', n);
                lens[s] = n + 4;
                break;
            default: /* a chunk longer than its size says */
                pre = (size_t)sprintf(p, "5\r\nhello");
                memset(p + pre, 'a', n);
                lens[s] = pre + n;
                break;
            }
        }
        for (int s = 0; s < 5; s++) {
            if (lens[s] == 0) {
                free(shapes[s]);
                continue;
            }
            /* A connection that leaves a buffer in the pool, then the bad one. */
            hu_conn_t *c = hu_connect(port);
            hu_send(c,
                    "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    -1);
            cr_expect(hu_closed_within(c, MS(3000)));
            hu_close(c);
            bad_framing_closes(port, "/hello", shapes[s], lens[s]);
            bad_framing_closes(port, "/readfail", shapes[s], lens[s]);
            free(shapes[s]);
        }
    }
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    hu_resp_free(&r);
}
