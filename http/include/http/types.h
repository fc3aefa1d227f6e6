/*
 * Basic types of the HTTP layer: methods, headers, error codes.
 *
 * Error codes follow the runtime's convention (actor/types.h): a call that can fail returns 0
 * (or a count) or a negative code, -errno where errno has one (-EPIPE: the connection is gone,
 * -ETIMEDOUT: the client stopped sending the body), plus the codes of HTTP_ERROR_MAP in a range
 * neither errno, libuv nor the runtime uses. http_strerror() names any of them.
 *
 * Bad input from a client is never an error code: the server answers it (400, 413...) itself.
 */
#ifndef HTTP_TYPES_H
#define HTTP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor/types.h"

#define HTTP_API __attribute__((visibility("default")))

/* Request methods. llhttp knows more (WebDAV...): those are HTTP_METHOD_OTHER, and
 * http_req_method_str() gives the token. */
typedef enum http_method {
    HTTP_METHOD_OTHER = 0,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_TRACE,
    HTTP_METHOD_CONNECT,
} http_method_t;

/* A header (or trailer) field of a request. Names are lowercased; both strings are
 * NUL-terminated and also carry their length. Values have surrounding whitespace removed. */
typedef struct http_header {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} http_header_t;

/* X(name, message): the HTTP layer's own error codes, each -(HTTP__ERR_BASE + n). */
#define HTTP_ERROR_MAP(X)                                                                          \
    X(TOOLARGE, "request body larger than the configured limit")                                   \
    X(BADBODY, "malformed request body")                                                           \
    X(STATE, "not allowed in the response's current state")                                        \
    X(NOTHANDLER, "not called from the request's handler fiber")

#define HTTP__ERR_BASE 31000
enum {
    HTTP__ERR_FIRST = HTTP__ERR_BASE - 1,
#define HTTP__ERR_ENUM(name, msg) HTTP__E##name,
    HTTP_ERROR_MAP(HTTP__ERR_ENUM)
#undef HTTP__ERR_ENUM
};
#define HTTP_ETOOLARGE (-HTTP__ETOOLARGE)
#define HTTP_EBADBODY (-HTTP__EBADBODY)
#define HTTP_ESTATE (-HTTP__ESTATE)
#define HTTP_ENOTHANDLER (-HTTP__ENOTHANDLER)

/* Message for any error code (the HTTP layer's, the runtime's, -errno). Never NULL. */
HTTP_API const char *http_strerror(int err);

/* X(code, reason): the status codes of RFC 9110 (with 6585's and 7725's) and their reason
 * phrases. http_status_reason() is made from it. */
#define HTTP_REASON_MAP(X)                                                                         \
    X(100, "Continue")                                                                             \
    X(101, "Switching Protocols")                                                                  \
    X(200, "OK")                                                                                   \
    X(201, "Created")                                                                              \
    X(202, "Accepted")                                                                             \
    X(203, "Non-Authoritative Information")                                                        \
    X(204, "No Content")                                                                           \
    X(205, "Reset Content")                                                                        \
    X(206, "Partial Content")                                                                      \
    X(300, "Multiple Choices")                                                                     \
    X(301, "Moved Permanently")                                                                    \
    X(302, "Found")                                                                                \
    X(303, "See Other")                                                                            \
    X(304, "Not Modified")                                                                         \
    X(307, "Temporary Redirect")                                                                   \
    X(308, "Permanent Redirect")                                                                   \
    X(400, "Bad Request")                                                                          \
    X(401, "Unauthorized")                                                                         \
    X(402, "Payment Required")                                                                     \
    X(403, "Forbidden")                                                                            \
    X(404, "Not Found")                                                                            \
    X(405, "Method Not Allowed")                                                                   \
    X(406, "Not Acceptable")                                                                       \
    X(408, "Request Timeout")                                                                      \
    X(409, "Conflict")                                                                             \
    X(410, "Gone")                                                                                 \
    X(411, "Length Required")                                                                      \
    X(412, "Precondition Failed")                                                                  \
    X(413, "Content Too Large")                                                                    \
    X(414, "URI Too Long")                                                                         \
    X(415, "Unsupported Media Type")                                                               \
    X(416, "Range Not Satisfiable")                                                                \
    X(417, "Expectation Failed")                                                                   \
    X(421, "Misdirected Request")                                                                  \
    X(422, "Unprocessable Content")                                                                \
    X(426, "Upgrade Required")                                                                     \
    X(428, "Precondition Required")                                                                \
    X(429, "Too Many Requests")                                                                    \
    X(431, "Request Header Fields Too Large")                                                      \
    X(451, "Unavailable For Legal Reasons")                                                        \
    X(500, "Internal Server Error")                                                                \
    X(501, "Not Implemented")                                                                      \
    X(502, "Bad Gateway")                                                                          \
    X(503, "Service Unavailable")                                                                  \
    X(504, "Gateway Timeout")                                                                      \
    X(505, "HTTP Version Not Supported")

/* The reason phrase of a status ("Not Found"), "Unknown" for codes without one. */
HTTP_API const char *http_status_reason(int status);

/* The method's token ("GET"); "OTHER" for HTTP_METHOD_OTHER. */
HTTP_API const char *http_method_name(http_method_t m);

#endif
