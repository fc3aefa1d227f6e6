/*
 * Shared helpers of the HTTP suites (tests/http and tests/e2e): an actor system and a server
 * per test, and a small blocking HTTP/1.1 client over real sockets on 127.0.0.1.
 */
#ifndef CLIENT_UTIL_H
#define CLIENT_UTIL_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor/act.h"
#include "http/http.h"

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
#define TMO(s) ((double)(s)*DYN_TEST_TIMEOUT_SCALE)
#define MS(ms) ((int64_t)(ms)*DYN_TEST_TIMEOUT_SCALE)

/* .init/.fini: a system with 2 schedulers; hu_fini stops the server if one runs, then the
 * system, and checks that no block leaked. Criterion 2.4.1 ignores assertions in .fini (it
 * prints "Assertion Failed" and passes the test), so a failed check there aborts the test's
 * process instead: the test then fails in every build. */
void hu_init(void);
void hu_fini(void);

/* Starts the test server (127.0.0.1, ephemeral port) with `handler` (NULL: hu_handler) and
 * limits (NULL: defaults). Returns its port. */
uint16_t hu_serve(http_handler_fn handler, const http_limits_t *limits);
uint16_t hu_serve_cfg(const http_config_t *cfg);
http_server_t *hu_server(void);
/* Stops the test server gracefully (blocking); fails the test if the stop fails or takes
 * longer than its 2 s deadline and the 1 s grace of a handler's kill, plus margin. */
void hu_stop_server(void);
/* Forgets the test server (a test that stopped and freed it itself). */
void hu_stop_server_forget(void);

/* The default handler, by path:
 *   /hello           200 "hello"
 *   /info            200 "METHOD PATH QUERY HOST VERSION"
 *   /echo            200 with the request body (read whole); header X-Trailer: value of the
 *                    trailer "x-t" if any; X-Seq: the request's number on its connection
 *   /pieces?n=N      reads the body N bytes at a time; 200 "pieces=P bytes=B"
 *   /stream?n=K&s=S  chunked (or close-delimited for 1.0): K pieces of S bytes of 'x'
 *   /big?s=S         http_resp_send of S bytes of 'y'
 *   /file?s=S        sendfile of an S-byte temporary file (Content-Length set)
 *   /crash           act_fail before any response
 *   /crash-mid       starts a chunked response, writes, then act_fail
 *   /noresp          returns without a response (204)
 *   /sleep?ms=M      sleeps M ms, then 200 "slept"
 *   /headers         200, body = number of request headers
 *   /readfail        reads the body, answers 200 "err=<code>" with the read's result
 *   anything else    404 */
void hu_handler(http_req_t *req, void *arg);

/* A client connection with its own receive buffer (pipelined responses may share a read). */
typedef struct hu_conn {
    int fd;
    char *buf;
    size_t len;
    size_t cap;
} hu_conn_t;

typedef struct hu_resp {
    int status;
    int minor;  /* HTTP/1.x */
    char *head; /* raw head, NUL-terminated */
    char *body; /* NUL-terminated */
    size_t body_len;
    bool chunked;
    bool close_delimited;
    char *trailers; /* raw trailer lines of a chunked body, or NULL */
} hu_resp_t;

/* Connects (blocking, with a receive timeout). Fails the test on error. */
hu_conn_t *hu_connect(uint16_t port);
/* Like hu_connect, but returns NULL on failure. */
hu_conn_t *hu_try_connect(uint16_t port);
void hu_close(hu_conn_t *c);
/* Sends all of s (len bytes; -1: strlen). Returns 0 or -errno. */
int hu_send(hu_conn_t *c, const char *s, long len);
/* hu_read's results besides 0. */
enum {
    HU_CLOSED = -1,  /* the server closed the connection (EOF or reset) before a whole response */
    HU_TIMEOUT = -2, /* nothing for the receive timeout (5 s, scaled): the server hangs */
    HU_BAD = -3,     /* not an HTTP/1.x response */
};
/* Reads one response (head_only: the request was HEAD, no body). Returns 0, HU_CLOSED,
 * HU_TIMEOUT or HU_BAD. */
int hu_read(hu_conn_t *c, hu_resp_t *r, bool head_only);
void hu_resp_free(hu_resp_t *r);
/* A header's value in r (any case), or NULL; copies into a thread-local buffer. */
const char *hu_header(const hu_resp_t *r, const char *name);
/* True if the server closes the connection within ms. What comes before the close is appended
 * to c->buf (c->len grows): a test can check that nothing came. */
bool hu_closed_within(hu_conn_t *c, int64_t ms);
/* One request on a new connection: sends raw, reads one response. Returns its status (r
 * filled if not NULL, caller frees), or -1. */
int hu_exchange(uint16_t port, const char *raw, hu_resp_t *r);
/* Sends raw (len bytes) on a new connection and expects an error answer: `status`, a Date,
 * Connection: close, then the close with nothing after the answer. */
void hu_expect_reject(uint16_t port, const char *raw, size_t len, int status);
#define HU_REJECT(port, lit, status) hu_expect_reject(port, lit, sizeof(lit) - 1, status)

/* Resident memory of this process, in KiB. */
long hu_rss_kb(void);

#endif
