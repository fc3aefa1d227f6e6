/* RFC 9110/9112 conformance over real sockets, as an outside protocol suite runs it: message
 * framing and smuggling, the request line, Host, versions, methods, trailers, the validity of
 * every response whatever the handler asks for, and which errors end a pipeline. The table of
 * cases and our answers is docs/http.md's "Conformance". */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_util.h"
#include "parser_int.h"

TestSuite(conformance, .init = hu_init, .fini = hu_fini, .timeout = TMO(60));

/* The suite's handler: /s?N answers status N whole, /t?N streamed with a Content-Length, /c?N
 * streamed and chunked, each after setting a Transfer-Encoding of its own and (/s) a
 * Content-Length that does not match: the server must still send a valid message. /h and /tr
 * try headers and trailers the server must refuse. /r reads the body and leaves a failed read
 * to the server (400, 408 or 413). Anything else: hu_handler. */
static void handler(http_req_t *req, void *arg)
{
    (void)arg;
    const char *p = http_req_path(req);
    int status = atoi(http_req_query(req));
    if (strcmp(p, "/s") == 0) {
        http_resp_header(req, "Transfer-Encoding", "gzip");
        http_resp_header(req, "Content-Length", "99");
        http_resp_send(req, status, "hello", 5);
    } else if (strcmp(p, "/t") == 0 || strcmp(p, "/c") == 0) {
        http_resp_header(req, "Transfer-Encoding", "gzip");
        if (p[1] == 't')
            http_resp_header(req, "Content-Length", "5");
        http_resp_start(req, status);
        http_resp_write(req, "hel", 3);
        http_resp_write(req, "lo", 2);
        http_resp_end(req, NULL, 0);
    } else if (strcmp(p, "/h") == 0) {
        /* Fields that would make an invalid message are refused. */
        static const char *const bad[][2] = {{"X(", "v"},   {"X Y", "v"},    {"", "v"},
                                             {"X:", "v"},   {"X", "a\x01b"}, {"X", "a\x7f"},
                                             {"X", "a\nb"}, {"X", "a\rb"}};
        int refused = 0;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            refused += http_resp_header(req, bad[i][0], bad[i][1]) == HTTP_ESTATE;
        if (http_resp_header(req, "X-Ok!#$%&'*+.^_`|~", "a\tb \xe9") != 0)
            refused = -1; /* a valid field refused */
        char body[32];
        snprintf(body, sizeof body, "%d refused", refused);
        http_resp_send(req, 200, body, strlen(body));
    } else if (strcmp(p, "/tr") == 0) {
        /* Trailers that would make an invalid message, or that must not be trailers, are
         * refused, and the response stays open for a valid end. */
        http_resp_start(req, 200);
        http_resp_write(req, "x", 1);
        static const http_header_t bad[] = {{"Content-Length", "1", 14, 1},
                                            {"transfer-encoding", "chunked", 17, 7},
                                            {"Host", "h", 4, 1},
                                            {"X-A", "a\nb", 3, 3},
                                            {"X(", "a", 2, 1}};
        int refused = 0;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            refused += http_resp_end(req, &bad[i], 1) == HTTP_ESTATE;
        char v[16];
        snprintf(v, sizeof v, "%d", refused);
        http_header_t ok = {"X-Refused", v, 9, (uint32_t)strlen(v)};
        http_resp_end(req, &ok, 1);
    } else if (strcmp(p, "/r") == 0) {
        const char *body;
        size_t len;
        if (http_req_body_all(req, 0, &body, &len) == 0)
            http_resp_send(req, 200, body, len);
    } else {
        hu_handler(req, NULL);
    }
}

/* One request on a new connection: its status and body, the connection kept. */
static void expect_served(uint16_t port, const char *raw, int status, const char *body)
{
    hu_conn_t *c = hu_connect(port);
    cr_assert_eq(hu_send(c, raw, -1), 0);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0, "no answer to %.60s", raw);
    cr_expect_eq(r.status, status, "%.60s -> %d, wanted %d", raw, r.status, status);
    if (body)
        cr_expect_str_eq(r.body, body, "%.60s", raw);
    cr_expect_null(hu_header(&r, "connection"), "%.60s", raw);
    hu_resp_free(&r);
    /* The connection goes on. */
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0, "after %.60s", raw);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
    hu_close(c);
}

Test(conformance, framing_that_cannot_be_trusted_is_refused_and_closes)
{
    uint16_t port = hu_serve(handler, NULL);
    /* Transfer-Encoding present but empty: llhttp does not flag it, the length is unknown. */
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \r\n\r\n", 400);
    HU_REJECT(
        port,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: \r\n\r\nabc",
        400);
    /* chunked has no parameters; with one it is another coding, and not last. */
    HU_REJECT(port,
              "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
              400);
    HU_REJECT(port,
              "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked , x\r\n\r\n0\r\n\r\n",
              400);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
              400);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n", 400);
    /* Content-Length: digits only, one value, within 64 bits. */
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc", 400);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0x3\r\n\r\nabc", 400);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\nabc", 400);
    HU_REJECT(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n", 400);
    HU_REJECT(port,
              "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
              400);
    /* Chunk sizes: hex digits only, within 64 bits. */
    HU_REJECT(port,
              "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "10000000000000001\r\na\r\n0\r\n\r\n",
              400);
    HU_REJECT(
        port,
        "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\na\r\n0\r\n\r\n",
        400);
    HU_REJECT(port,
              "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n",
              400); /* a bare LF in the framing */
    /* Whitespace before the colon, a continuation line: never taken. */
    HU_REJECT(port, "GET /hello HTTP/1.1\r\nHost\t: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello HTTP/1.1\r\n Host: t\r\n\r\n", 400);
}

Test(conformance, trailers_that_would_reframe_or_reroute_are_refused)
{
    uint16_t port = hu_serve(handler, NULL);
    static const char *const forbidden[] = {"Content-Length: 5", "Transfer-Encoding: chunked",
                                            "Host: evil",        "content-TYPE: text/html",
                                            "Connection: close", "Authorization: x"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        char buf[256];
        int n = snprintf(buf, sizeof buf,
                         "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "1\r\na\r\n0\r\n%s\r\n\r\n",
                         forbidden[i]);
        hu_expect_reject(port, buf, (size_t)n, 400);
    }
    /* Other trailer fields reach the handler. */
    hu_conn_t *c = hu_connect(port);
    hu_send(c,
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1\r\na\r\n0\r\nX-T: 1\r\nX-Checksum: abc\r\n\r\n",
            -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "a");
    cr_expect_str_eq(hu_header(&r, "x-trailer"), "1");
    hu_resp_free(&r);
    hu_close(c);
}

Test(conformance, request_line_has_single_spaces)
{
    uint16_t port = hu_serve(handler, NULL);
    HU_REJECT(port, "GET  /hello HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello  HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello HTTP/1.1 \r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET\t/hello HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, " GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello\r\n\r\n", 505); /* HTTP/0.9's simple request */
    expect_served(port, "\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 200, "hello");
}

Test(conformance, versions)
{
    uint16_t port = hu_serve(handler, NULL);
    HU_REJECT(port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505); /* the HTTP/2 preface */
    HU_REJECT(port, "GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET /hello HTTP/3.0\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET /hello HTTP/1.2\r\nHost: t\r\n\r\n", 505);
    HU_REJECT(port, "GET /hello HTTP/11.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello http/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET /hello HTTP/1.x\r\nHost: t\r\n\r\n", 400);
    /* Every response says HTTP/1.1, whatever the request's version (RFC 9110 6.2). */
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /hello HTTP/1.0\r\n\r\n", &r), 200);
    cr_expect_eq(r.minor, 1);
    hu_resp_free(&r);
}

Test(conformance, host_must_be_one_valid_authority)
{
    uint16_t port = hu_serve(handler, NULL);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: h:abc\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: h:80:80\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: u@h\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: []\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: h%4\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: h/x\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    HU_REJECT(port, "GET /info HTTP/1.1\r\n\r\n", 400);
    expect_served(port, "GET /info HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200,
                  "GET /info  [::1]:8080 11");
    expect_served(port, "GET /info HTTP/1.1\r\nHost: a.b-c_d~%41:80\r\n\r\n", 200,
                  "GET /info  a.b-c_d~%41:80 11");
    expect_served(port, "GET /info HTTP/1.1\r\nHost: 127.0.0.1:\r\n\r\n", 200,
                  "GET /info  127.0.0.1: 11");
    expect_served(port, "GET /info HTTP/1.1\r\nHost:\r\n\r\n", 200, "GET /info   11");
    /* absolute-form: its authority wins over Host (RFC 9112 3.2.2). */
    expect_served(port, "GET http://h:81/info?q HTTP/1.1\r\nHost: other\r\n\r\n", 200,
                  "GET /info q h:81 11");
    HU_REJECT(port, "GET http://h:x/info HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    HU_REJECT(port, "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 501);
    HU_REJECT(port, "GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400); /* authority-form */
}

Test(conformance, any_method_token_reaches_the_handler)
{
    uint16_t port = hu_serve(handler, NULL);
    /* RFC 9110 9.1: methods are case-sensitive tokens; 501 is the application's to answer. */
    expect_served(port, "BREW /info HTTP/1.1\r\nHost: t\r\n\r\n", 200, "BREW /info  t 11");
    expect_served(port, "get /info HTTP/1.1\r\nHost: t\r\n\r\n", 200, "get /info  t 11");
    expect_served(port, "GETX /info HTTP/1.1\r\nHost: t\r\n\r\n", 200, "GETX /info  t 11");
    expect_served(port, "X-Y!#$%&'*+.^_`|~Z /info HTTP/1.1\r\nHost: t\r\n\r\n", 200,
                  "X-Y!#$%&'*+.^_`|~Z /info  t 11");
    char m[40], buf[128];
    memset(m, 'M', 32);
    m[32] = '\0';
    snprintf(buf, sizeof buf, "%s /info HTTP/1.1\r\nHost: t\r\n\r\n", m);
    char want[80];
    snprintf(want, sizeof want, "%s /info  t 11", m);
    expect_served(port, buf, 200, want);
    snprintf(buf, sizeof buf, "M%s /info HTTP/1.1\r\nHost: t\r\n\r\n", m);
    hu_expect_reject(port, buf, strlen(buf), 501); /* past 32 bytes */
    HU_REJECT(port, "G(T /info HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    HU_REJECT(port, "GET: /info HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    /* A method cut anywhere across writes, then a pipelined one behind it. */
    static const char two[] = "BREW /info HTTP/1.1\r\nHost: t\r\n\r\nget /info HTTP/1.1\r\n"
                              "Host: t\r\n\r\n";
    for (size_t cut = 1; cut < 8; cut++) {
        hu_conn_t *c = hu_connect(port);
        hu_send(c, two, (long)cut);
        usleep(20 * 1000);
        hu_send(c, two + cut, -1);
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0, "cut %zu", cut);
        cr_expect_str_eq(r.body, "BREW /info  t 11", "cut %zu", cut);
        hu_resp_free(&r);
        cr_assert_eq(hu_read(c, &r, false), 0, "cut %zu", cut);
        cr_expect_str_eq(r.body, "get /info  t 11", "cut %zu", cut);
        hu_resp_free(&r);
        hu_close(c);
    }
}

static const http_limits_t unit_lim = {.max_request_line = 8192,
                                       .max_header_size = 16384,
                                       .max_headers = 100,
                                       .max_body_size = 1 << 20};

Test(conformance, unknown_method_parsed_in_every_split)
{
    static const char req[] = "\r\nGETX /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab";
    size_t len = sizeof req - 1;
    for (size_t cut = 1; cut < len; cut++) {
        for (size_t cut2 = cut; cut2 < len; cut2 += 7) {
            http__parser_t p;
            http__parser_init(&p, &unit_lim);
            uint32_t parsed = 0;
            http__head_t h;
            int r = http__parse_head(&p, req, 0, &parsed, (uint32_t)cut, &h);
            if (r == HTTP__P_MORE)
                r = http__parse_head(&p, req, 0, &parsed, (uint32_t)cut2, &h);
            if (r == HTTP__P_MORE)
                r = http__parse_head(&p, req, 0, &parsed, (uint32_t)len, &h);
            cr_assert_eq(r, HTTP__P_HEAD, "cut %zu/%zu: %d", cut, cut2, r);
            cr_expect_eq(h.off, 2u);
            cr_expect_eq(h.method, HTTP_METHOD_OTHER);
            cr_expect_eq(h.content_length, 2u);
            cr_expect_eq(h.url_off, 5u);
            cr_expect_eq(h.url_len, 4u);
            cr_expect_eq(parsed, (uint32_t)(len - 2), "cut %zu/%zu", cut, cut2);
        }
    }
}

/* One response on c to `raw`: status, Content-Length (or NULL), Transfer-Encoding, the body. */
static void check_resp(hu_conn_t *c, const char *raw, bool head, int status, const char *clen,
                       const char *te, const char *body)
{
    hu_send(c, raw, -1);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, head), 0, "%s", raw);
    cr_expect_eq(r.status, status, "%s: %d", raw, r.status);
    const char *v = hu_header(&r, "content-length");
    if (clen)
        cr_expect(v && strcmp(v, clen) == 0, "%s: Content-Length %s", raw, v ? v : "none");
    else
        cr_expect_null(v, "%s: Content-Length %s", raw, v);
    v = hu_header(&r, "transfer-encoding");
    if (te)
        cr_expect(v && strcmp(v, te) == 0, "%s: Transfer-Encoding %s", raw, v ? v : "none");
    else
        cr_expect_null(v, "%s: Transfer-Encoding %s", raw, v);
    cr_expect_not_null(hu_header(&r, "date"), "%s", raw);
    cr_expect_str_eq(r.body, body, "%s", raw);
    hu_resp_free(&r);
}

Test(conformance, responses_are_valid_whatever_the_handler_asks)
{
    uint16_t port = hu_serve(handler, NULL);
    hu_conn_t *c = hu_connect(port);
    /* All on one connection: a stray body byte or a wrong length would shift what follows. */
    check_resp(c, "GET /s?200 HTTP/1.1\r\nHost: t\r\n\r\n", false, 200, "5", NULL, "hello");
    check_resp(c, "GET /s?204 HTTP/1.1\r\nHost: t\r\n\r\n", false, 204, NULL, NULL, "");
    check_resp(c, "GET /s?304 HTTP/1.1\r\nHost: t\r\n\r\n", false, 304, NULL, NULL, "");
    check_resp(c, "GET /t?204 HTTP/1.1\r\nHost: t\r\n\r\n", false, 204, NULL, NULL, "");
    check_resp(c, "GET /c?304 HTTP/1.1\r\nHost: t\r\n\r\n", false, 304, NULL, NULL, "");
    /* 205: no content, and says so (RFC 9110 15.3.6). */
    check_resp(c, "GET /s?205 HTTP/1.1\r\nHost: t\r\n\r\n", false, 205, "0", NULL, "");
    check_resp(c, "GET /t?205 HTTP/1.1\r\nHost: t\r\n\r\n", false, 205, "0", NULL, "");
    check_resp(c, "GET /c?205 HTTP/1.1\r\nHost: t\r\n\r\n", false, 205, "0", NULL, "");
    check_resp(c, "GET /h HTTP/1.1\r\nHost: t\r\n\r\n", false, 200, "9", NULL, "8 refused");
    /* A 1xx can only be interim: as the final answer it goes out as 500. */
    check_resp(c, "GET /s?100 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, "5", NULL, "hello");
    check_resp(c, "GET /s?101 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, "5", NULL, "hello");
    check_resp(c, "GET /t?103 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, "5", NULL, "hello");
    check_resp(c, "GET /c?199 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, NULL, "chunked", "hello");
    check_resp(c, "GET /s?42 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, "5", NULL, "hello");
    check_resp(c, "GET /s?1000 HTTP/1.1\r\nHost: t\r\n\r\n", false, 500, "5", NULL, "hello");
    check_resp(c, "GET /s?999 HTTP/1.1\r\nHost: t\r\n\r\n", false, 999, "5", NULL, "hello");
    check_resp(c, "GET /c?200 HTTP/1.1\r\nHost: t\r\n\r\n", false, 200, NULL, "chunked", "hello");
    hu_send(c, "GET /tr HTTP/1.1\r\nHost: t\r\n\r\n", -1);
    hu_resp_t tr;
    cr_assert_eq(hu_read(c, &tr, false), 0);
    cr_expect(tr.chunked);
    cr_expect_str_eq(tr.body, "x");
    cr_expect_str_eq(tr.trailers, "X-Refused: 5\r\n");
    hu_resp_free(&tr);
    /* HEAD: the GET's headers, no body. */
    check_resp(c, "HEAD /s?200 HTTP/1.1\r\nHost: t\r\n\r\n", true, 200, "5", NULL, "");
    check_resp(c, "HEAD /t?200 HTTP/1.1\r\nHost: t\r\n\r\n", true, 200, "5", NULL, "");
    check_resp(c, "HEAD /c?200 HTTP/1.1\r\nHost: t\r\n\r\n", true, 200, NULL, "chunked", "");
    check_resp(c, "HEAD /s?404 HTTP/1.1\r\nHost: t\r\n\r\n", true, 404, "5", NULL, "");
    check_resp(c, "GET /s?200 HTTP/1.1\r\nHost: t\r\n\r\n", false, 200, "5", NULL, "hello");
    hu_close(c);
    /* An HTTP/1.0 client never gets chunked: the close ends the body. */
    hu_resp_t r;
    cr_assert_eq(hu_exchange(port, "GET /c?200 HTTP/1.0\r\n\r\n", &r), 200);
    cr_expect_null(hu_header(&r, "transfer-encoding"));
    cr_expect(r.close_delimited);
    cr_expect_str_eq(r.body, "hello");
    hu_resp_free(&r);
}

/* A pipeline: a good request, a bad one, a good one, in one write. The first is answered and
 * the connection kept; the bad one gets its status with Connection: close, then the close,
 * and the request behind it is never answered (RFC 9112 9.6: nothing after a close). */
static void error_ends_the_pipeline(uint16_t port, const char *bad, int status)
{
    char buf[1024];
    int n = snprintf(
        buf, sizeof buf,
        "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n%sGET /hello HTTP/1.1\r\nHost: t\r\n\r\n", bad);
    hu_conn_t *c = hu_connect(port);
    hu_send(c, buf, n);
    hu_resp_t r;
    cr_assert_eq(hu_read(c, &r, false), 0, "%s", bad);
    cr_expect_eq(r.status, 200, "%s", bad);
    cr_expect_null(hu_header(&r, "connection"), "%s", bad);
    hu_resp_free(&r);
    cr_assert_eq(hu_read(c, &r, false), 0, "%s", bad);
    cr_expect_eq(r.status, status, "%s -> %d", bad, r.status);
    cr_expect_str_eq(hu_header(&r, "connection"), "close", "%s", bad);
    hu_resp_free(&r);
    cr_expect(hu_closed_within(c, MS(3000)), "%s: still open", bad);
    cr_expect_eq(c->len, 0u, "%s: answered after the close", bad);
    hu_close(c);
}

Test(conformance, every_error_ends_a_pipeline_after_the_answers_before_it)
{
    http_limits_t lim = {.max_request_line = 64, .max_header_size = 256, .max_body_size = 100};
    uint16_t port = hu_serve(handler, &lim);
    error_ends_the_pipeline(port, "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n", 400);
    error_ends_the_pipeline(port, "GET /hello HTTP/1.1\r\n\r\n", 400);
    error_ends_the_pipeline(port, "GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    error_ends_the_pipeline(port, "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n", 501);
    error_ends_the_pipeline(
        port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    error_ends_the_pipeline(port, "POST /hello HTTP/1.1\r\nHost: t\r\nExpect: x\r\n\r\n", 417);
    error_ends_the_pipeline(port, "POST /r HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n",
                            413);
    error_ends_the_pipeline(port,
                            "GET /0123456789012345678901234567890123456789012345678901234567890123"
                            "456789 HTTP/1.1\r\nHost: t\r\n\r\n",
                            414);
    char big[600];
    snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nHost: t\r\nX: %0300d\r\n\r\n", 0);
    error_ends_the_pipeline(port, big, 431);
    error_ends_the_pipeline(port,
                            "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "1\r\na\r\n0\r\nContent-Length: 1\r\n\r\n",
                            400);
    error_ends_the_pipeline(port,
                            "POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "zz\r\n",
                            400);
    /* Not errors: a 404 and an unknown method keep the pipeline going. */
    hu_conn_t *c = hu_connect(port);
    hu_send(c,
            "GET /nope HTTP/1.1\r\nHost: t\r\n\r\nBREW /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
            -1);
    int want[] = {404, 200, 200};
    for (int i = 0; i < 3; i++) {
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_expect_eq(r.status, want[i]);
        cr_expect_null(hu_header(&r, "connection"));
        hu_resp_free(&r);
    }
    hu_close(c);
}

Test(conformance, continue_is_sent_once_and_only_when_the_body_is_read)
{
    uint16_t port = hu_serve(handler, NULL);
    hu_conn_t *c = hu_connect(port);
    hu_resp_t r;
    /* Read a byte at a time: one 100 Continue before the first read, never another. */
    hu_send(c,
            "POST /pieces?n=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\n\r\n",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 100);
    cr_expect_null(hu_header(&r, "content-length"));
    hu_resp_free(&r);
    hu_send(c, "he", -1);
    usleep(20 * 1000);
    hu_send(c, "llo", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "pieces=5 bytes=5 end=0");
    hu_resp_free(&r);
    /* No body to read: no 100. */
    hu_send(c, "GET /hello HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n", -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    hu_resp_free(&r);
    /* HTTP/1.0 knows no 100 (RFC 9110 10.1.1): the body is read without it. */
    hu_send(c,
            "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n"
            "Expect: 100-continue\r\n\r\nab",
            -1);
    cr_assert_eq(hu_read(c, &r, false), 0);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "ab");
    hu_resp_free(&r);
    hu_close(c);
    /* Expectations other than 100-continue, in a list or alone: 417. */
    HU_REJECT(
        port,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: 100-continue, x\r\n\r\na",
        417);
}

Test(conformance, connection_and_upgrade_headers)
{
    uint16_t port = hu_serve(handler, NULL);
    /* Upgrade is ignored (no protocol to switch to); the connection carries on in HTTP/1.1. */
    expect_served(port,
                  "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                  "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
                  200, "hello");
    expect_served(port,
                  "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: websocket\r\n"
                  "Content-Length: 3\r\n\r\nabc",
                  200, "abc");
    /* close anywhere in the list, in any case, is honoured. */
    static const char *const closes[] = {"close", "CLOSE", "x-foo, close", "close , keep-alive"};
    for (size_t i = 0; i < sizeof closes / sizeof closes[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: %s\r\n\r\nGET /hello HTTP/1.1\r\n"
                 "Host: t\r\n\r\n",
                 closes[i]);
        hu_conn_t *c = hu_connect(port);
        hu_send(c, buf, -1);
        hu_resp_t r;
        cr_assert_eq(hu_read(c, &r, false), 0);
        cr_expect_str_eq(hu_header(&r, "connection"), "close", "%s", closes[i]);
        hu_resp_free(&r);
        cr_expect(hu_closed_within(c, MS(3000)), "%s", closes[i]);
        cr_expect_eq(c->len, 0u, "%s: answered after the close", closes[i]);
        hu_close(c);
    }
}
