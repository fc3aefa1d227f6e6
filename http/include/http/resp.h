/*
 * The response side of an exchange, written by the handler.
 *
 * Two shapes:
 * - whole: set headers, then http_resp_send(req, status, body, len): one message to the
 *   connection, usually one write(2) holding head and body;
 * - streamed: http_resp_start(req, status), then http_resp_write / http_resp_sendfile as many
 *   times as needed, then http_resp_end. The body is chunked for HTTP/1.1 clients unless the
 *   handler set a Content-Length header first; an HTTP/1.0 client gets it close-delimited.
 *
 * The server adds Date, Server, Content-Length or Transfer-Encoding, and Connection (close when
 * the connection is going to close: the client asked, HTTP/1.0 without keep-alive,
 * max_keepalive reached, the server is stopping, or a request body was left unread). A
 * response to HEAD carries the same headers and no body (writes are then accepted and
 * dropped). 204 and 304 responses carry no body (nor Content-Length), 205 an empty one
 * (Content-Length: 0; writes are refused). A status outside 200-999 goes out as 500: a 1xx is
 * an interim response, which the server sends itself (100 Continue).
 *
 * Back-pressure: data is copied into messages to the connection actor, which writes them at
 * once if the socket takes them. Once more than 64 KiB are written but not yet taken by the
 * socket, the writing call suspends the fiber until the backlog drops below 32 KiB: a slow
 * client never makes the server's memory grow. Write calls return -EPIPE once the client is
 * gone (the handler should stop), -ETIMEDOUT if it stopped reading for limits.write_timeout_ms.
 *
 * Thread contract: the request's handler fiber only.
 */
#ifndef HTTP_RESP_H
#define HTTP_RESP_H

#include <sys/types.h>

#include "http/server.h"

/* Adds a response header (name and value are copied). The name must be a token, the value
 * free of control characters but HTAB (RFC 9110 5.1, 5.5): HTTP_ESTATE otherwise, as after the
 * head was sent. Content-Length set here makes a streamed response identity-coded; Date,
 * Server, Connection and Transfer-Encoding are the server's. */
HTTP_API int http_resp_header(http_req_t *req, const char *name, const char *value);
HTTP_API int http_resp_headern(http_req_t *req, const char *name, size_t name_len,
                               const char *value, size_t value_len);

/* http_resp_headern for a framework that checked the header when it was set (dynamo's conn):
 * the name a token and not one http_resp_headern interprets (Content-Length, Connection,
 * Transfer-Encoding), the value free of control characters but HTAB. Date and Server replace
 * the server's, as with http_resp_headern.
 * Both are borrowed, not copied: they must stay unchanged until the head is written (the
 * http_resp_send/start call returns). Debug builds check all this; release builds trust it. */
HTTP_API int http_resp_header_checked(http_req_t *req, const char *name, size_t name_len,
                                      const char *value, size_t value_len);

/* Sends a whole response: head plus body (len bytes, copied; may be 0). Returns 0, -EPIPE,
 * -ETIMEDOUT, or HTTP_ESTATE if a response was already started. */
HTTP_API int http_resp_send(http_req_t *req, int status, const void *body, size_t len);

/* Starts a streamed response. The head goes out with the first write (or at the end). Returns 0
 * or HTTP_ESTATE if a response was already started. */
HTTP_API int http_resp_start(http_req_t *req, int status);
/* Sends len bytes of the body (copied); suspends under back-pressure. Returns 0, -EPIPE,
 * -ETIMEDOUT, or HTTP_ESTATE (not started, already ended, or more than a declared
 * Content-Length). */
HTTP_API int http_resp_write(http_req_t *req, const void *data, size_t len);
/* Sends len bytes of file fd from offset with sendfile(2), never through user space; suspends
 * until they are written (fd stays the caller's). Returns 0, -EPIPE, -ETIMEDOUT, HTTP_ESTATE,
 * or -errno from sendfile/pread (e.g. -EIO, or -EINVAL if the file is shorter than asked). */
HTTP_API int http_resp_sendfile(http_req_t *req, int fd, off_t offset, size_t len);
/* Ends a streamed response (the last chunk for chunked bodies; n trailers after it, for
 * chunked bodies only, may be NULL/0). Returns 0, -EPIPE, or HTTP_ESTATE (not started, already
 * ended, or fewer bytes than a declared Content-Length: the connection then closes; or a
 * trailer refused as http_resp_header refuses a header, or one RFC 9110 6.5.1 forbids in
 * trailers, such as Content-Length, Transfer-Encoding, Host or Content-Type: the response is
 * then still open). */
HTTP_API int http_resp_end(http_req_t *req, const http_header_t *trailers, size_t n);

/* True once a head went out or is on its way (status and headers can no longer change). */
HTTP_API bool http_resp_started(const http_req_t *req);
/* True once the response is complete. */
HTTP_API bool http_resp_done(const http_req_t *req);

#endif
