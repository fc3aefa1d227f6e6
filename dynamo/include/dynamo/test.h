/*
 * Test helpers: run conns through a router or a whole Dynamo without a socket, then look at
 * what came out (Plug.Test's conn/3 and the README's router tests).
 *
 *     dyn_conn_t *conn = dyn_test_conn(HTTP_METHOD_PUT, "/users/42");
 *     conn = dyn_test_run(&application_router, conn);
 *     cr_assert_eq(dyn_test_status(conn), 200);
 *     cr_assert_str_eq(dyn_test_body(conn, NULL), "Got user id: 42");
 *     dyn_test_conn_free(conn);
 *
 * A test conn is a real conn over a test adapter: the same pipeline, router, hooks, exception
 * handling and before-send callbacks run as for a request from a socket; the adapter captures
 * the response (status, headers, every byte of the body, the number of chunks) instead of
 * writing it. The run happens in a fresh fiber actor, as a request does, so routes may block
 * (act_call, act_sleep); the helpers wait for it. A running actor system is needed
 * (act_system_start).
 *
 * Thread contract: build, run, read and free a test conn from one thread (the test's); the
 * fiber that runs it hands it back through a message.
 */
#ifndef DYN_TEST_H
#define DYN_TEST_H

#include "dynamo/dynamo.h"

/* A conn for method and target ("/users/42?sort=asc": path and query) with no headers (add
 * them below), no body, HTTP/1.1, peer 127.0.0.1. It owns its arena; free it with
 * dyn_test_conn_free. Stops the process if memory runs out (tests). Any thread. */
DYN_API dyn_conn_t *dyn_test_conn(http_method_t method, const char *target);
/* The same with a method token ("PROPFIND" is HTTP_METHOD_OTHER). */
DYN_API dyn_conn_t *dyn_test_conn_str(const char *method, const char *target);
/* Adds a request header (before the run). The name is lowercased; both are copied. Setting
 * "host" also sets dyn_conn_host/port. Returns conn. */
DYN_API dyn_conn_t *dyn_test_put_req_header(dyn_conn_t *conn, const char *name, const char *value);
/* Sets the request body (copied) and its content-length header. Returns conn. */
DYN_API dyn_conn_t *dyn_test_put_body(dyn_conn_t *conn, const void *body, size_t len);
/* Sets the HTTP version (10 or 11) and the peer (an IPv4 or IPv6 address). Return conn. */
DYN_API dyn_conn_t *dyn_test_put_version(dyn_conn_t *conn, int version);
DYN_API dyn_conn_t *dyn_test_put_peer(dyn_conn_t *conn, const char *addr, uint16_t port);

/* Runs conn through router as a Dynamo named "test" in the test environment with no plugs
 * would (the router is compiled for this call; DYN_EBADROUTE stops the process with the
 * reason). Returns conn, its response captured. */
DYN_API dyn_conn_t *dyn_test_run(const dyn_router_t *router, dyn_conn_t *conn);
/* Runs conn through a whole Dynamo declaration: its plugs, router, environment and error
 * pages, without starting its server (a bad route or plug stops the process with the
 * reason). Returns conn. */
DYN_API dyn_conn_t *dyn_test_run_dynamo(const dyn_dynamo_t *d, dyn_conn_t *conn);

/* What was sent: the status (0 if nothing was), every body byte (chunks concatenated,
 * NUL-terminated; len may be NULL), how many dyn_chunk pieces went out, whether a response
 * went out at all. Headers: dyn_get_resp_header and dyn_conn_resp_headers (conn.h). */
DYN_API int dyn_test_status(const dyn_conn_t *conn);
DYN_API const char *dyn_test_body(const dyn_conn_t *conn, size_t *len);
DYN_API size_t dyn_test_chunks(const dyn_conn_t *conn);
DYN_API bool dyn_test_sent(const dyn_conn_t *conn);
/* True if the exchange was cut (a failure after a streamed response had started: a real
 * client would see the connection close before the end of the body). */
DYN_API bool dyn_test_aborted(const dyn_conn_t *conn);

/* Frees a test conn and everything of its request (cleanups run). NULL is ignored. */
DYN_API void dyn_test_conn_free(dyn_conn_t *conn);

#endif
