/*
 * The request side of an exchange, as the handler sees it.
 *
 * The connection actor parses the request head, copies it into a per-request arena and hands
 * the request to a fresh fiber actor by pointer; the handler borrows it until it returns, and
 * the connection frees the arena in one go when the fiber has exited. Every string below lives in
 * that arena: valid until the handler returns, NUL-terminated, never to be freed by the caller.
 *
 * Thread contract: every function here is for the request's handler fiber only (the fiber
 * that received req). Accessors never block; the body readers suspend that fiber.
 */
#ifndef HTTP_REQ_H
#define HTTP_REQ_H

#include <sys/socket.h>
#include <sys/types.h>

#include "http/server.h"
#include "http/types.h"

HTTP_API http_method_t http_req_method(const http_req_t *req);
/* The method token as received ("GET", "PROPFIND"). */
HTTP_API const char *http_req_method_str(const http_req_t *req);
/* The request target as received: "/a/b?x=1", "http://host/a" (absolute-form) or "*". */
HTTP_API const char *http_req_target(const http_req_t *req);
/* The path of the target, undecoded, without the query ("/a/b"; "/" for an absolute-form
 * target without a path; "*" for the asterisk-form). */
HTTP_API const char *http_req_path(const http_req_t *req);
/* The query after '?', undecoded, or "" (never NULL). */
HTTP_API const char *http_req_query(const http_req_t *req);
/* The host the request is for: the authority of an absolute-form target, else the Host header
 * (as sent, port included), or "" for an HTTP/1.0 request without one. */
HTTP_API const char *http_req_host(const http_req_t *req);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
HTTP_API int http_req_version(const http_req_t *req);
/* The peer's address; *len gets its size. Returns 0, or -ENOTCONN if unknown. */
HTTP_API int http_req_peer(const http_req_t *req, struct sockaddr_storage *addr, socklen_t *len);

/* The value of the first header named `name` (any case), or NULL. */
HTTP_API const char *http_req_header(const http_req_t *req, const char *name);
/* All header fields in arrival order; *n gets the count. */
HTTP_API const http_header_t *http_req_headers(const http_req_t *req, size_t *n);

/* The declared body length: Content-Length, 0 without a body, -1 for a chunked body. */
HTTP_API int64_t http_req_content_length(const http_req_t *req);
/* True if the request carries a body (Content-Length > 0 or chunked). */
HTTP_API bool http_req_has_body(const http_req_t *req);

/* Reads the next piece of the body into buf (at most cap bytes), suspending the fiber until
 * some arrives: the connection reads from the socket only on demand, so a handler that reads
 * slowly slows its client down (back-pressure) and no body is ever buffered whole. The first
 * read answers `Expect: 100-continue`. Returns the byte count (> 0), 0 at the end of the body
 * (trailers, if any, are then available), HTTP_ETOOLARGE past limits.max_body_size,
 * HTTP_EBADBODY for malformed chunked framing, -ETIMEDOUT after limits.body_timeout_ms
 * without data, -EPIPE if the client went away. After an error the connection closes once the
 * response is sent (408/413/400 if the handler sends none). */
HTTP_API ssize_t http_req_body_read(http_req_t *req, void *buf, size_t cap);

/* Reads the whole body into the request's arena, up to max bytes (0: limits.max_body_size);
 * *out gets a NUL-terminated copy, *len its length. Returns 0, HTTP_ETOOLARGE if the body is
 * larger than max, or an error of http_req_body_read. */
HTTP_API int http_req_body_all(http_req_t *req, size_t max, const char **out, size_t *len);

/* Trailer fields of a chunked body (available after the body was read to its end). */
HTTP_API const char *http_req_trailer(const http_req_t *req, const char *name);
HTTP_API const http_header_t *http_req_trailers(const http_req_t *req, size_t *n);

/* size bytes (8-aligned) from the request's arena, freed with it when the handler is done.
 * NULL if memory runs out. For per-request data of layers above (params, cookies...). */
HTTP_API void *http_req_alloc(http_req_t *req, size_t size);
/* A NUL-terminated copy of s[0..len) in the arena, or NULL. */
HTTP_API char *http_req_strndup(http_req_t *req, const char *s, size_t len);

/* Runs fn(arg) when the request is freed, however its handler ended (returned, crashed, or was
 * killed): just before the arena goes, on the request's scheduler, from the fiber's exit hook
 * (fn must not block). For the cleanups of a layer above (a framework's per-request
 * destructors). One per request: returns 0, or HTTP_ESTATE if one is set already (fn NULL
 * removes it). */
HTTP_API int http_req_on_free(http_req_t *req, void (*fn)(void *arg), void *arg);

/* The server the request came through (its handler_arg etc. are the caller's). */
HTTP_API http_server_t *http_req_server(const http_req_t *req);
/* The connection actor that owns the request's socket. */
HTTP_API act_pid_t http_req_conn(const http_req_t *req);
/* Which request of its connection this is (1 for the first). */
HTTP_API uint32_t http_req_seq(const http_req_t *req);

#endif
