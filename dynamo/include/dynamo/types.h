/*
 * Basic types of the framework: strings, environments, error codes.
 *
 * Strings are pointer + length (dyn_str_t) where a length matters (path segments, values);
 * strings the framework hands out are also NUL-terminated, so `const char *` accessors work
 * with the C library. Request data lives in the request's arena (arena.h): valid until the
 * request ends, never freed by the caller.
 *
 * Error codes follow the runtime's convention (actor/types.h): 0 or a negative code, -errno
 * where errno has one, the runtime's ACT_E*, the HTTP layer's HTTP_E*, and the codes of
 * DYN_ERROR_MAP below in a range none of those use. dyn_strerror() names any of them.
 *
 * Bad input from a client is never an error code to the client: the framework answers it with
 * an HTTP status (400 for a bad percent-encoding, 404, 405, 413...).
 */
#ifndef DYN_TYPES_H
#define DYN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/types.h"

#define DYN_API __attribute__((visibility("default")))

/* The framework's version (CMakeLists.txt's project version). */
#define DYN_VERSION "0.1.0"

/* A string that need not be NUL-terminated (those the framework returns always are). */
typedef struct dyn_str {
    const char *ptr;
    size_t len;
} dyn_str_t;

/* A dyn_str_t of a string literal or C string. */
#define DYN_STR(lit) ((dyn_str_t){(lit), sizeof(lit) - 1})
static inline dyn_str_t dyn_str(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return (dyn_str_t){s, n};
}

/* The connection: request and response together (conn.h). */
typedef struct dyn_conn dyn_conn_t;
/* A Dynamo's declaration (dynamo.h). */
typedef struct dyn_dynamo dyn_dynamo_t;
/* A Dynamo's web code, linked or a reloadable module (web.h). */
typedef struct dyn_web dyn_web_t;

/* Environments, as Mix's: what the exception page shows, how the logger writes, defaults. */
typedef enum dyn_env {
    DYN_ENV_DEV = 0, /* the debug exception page, human-readable logs */
    DYN_ENV_TEST,    /* plain error pages, quiet logs */
    DYN_ENV_PROD,    /* plain error pages, structured logs with request ids */
} dyn_env_t;

/* A setting whose default depends on the environment: on, off, or that default. */
typedef enum dyn_switch {
    DYN_SWITCH_DEFAULT = 0,
    DYN_SWITCH_ON,
    DYN_SWITCH_OFF,
} dyn_switch_t;

/* "dev", "test", "prod". */
DYN_API const char *dyn_env_name(dyn_env_t env);
/* Parses "dev"/"test"/"prod" (also "development", "production"). Returns 0 or ACT_EBADARG. */
DYN_API int dyn_env_parse(const char *s, dyn_env_t *out);

/* X(name, message): the framework's own error codes, each -(DYN__ERR_BASE + n). */
#define DYN_ERROR_MAP(X)                                                                           \
    X(BADROUTE, "invalid route declaration")                                                       \
    X(NOCONN, "a route, hook or plug returned no conn")                                            \
    X(NORESP, "the request ended without a response")                                              \
    X(SENT, "the response was already sent")                                                       \
    X(NOTCHUNKED, "the response is not being streamed (call dyn_send_chunked first)")              \
    X(BADHEADER, "invalid response header name or value")                                          \
    X(BADENCODING, "invalid percent-encoding")                                                     \
    X(LIMIT, "input past a configured limit")                                                      \
    X(NODYNAMO, "no such Dynamo running")                                                          \
    X(BADPLUG, "a plug failed to initialize")                                                      \
    X(NOTFETCHED, "request data read before it was fetched")                                       \
    X(NOTEMPLATE, "no such template")                                                              \
    X(TEMPLATE, "error while rendering a template")                                                \
    X(BUILD, "the web module failed to build or load")                                             \
    X(RAISED, "the request failed with an HTTP status (dyn_raise)")

#define DYN__ERR_BASE 32000
enum {
    DYN__ERR_FIRST = DYN__ERR_BASE - 1,
#define DYN__ERR_ENUM(name, msg) DYN__E##name,
    DYN_ERROR_MAP(DYN__ERR_ENUM)
#undef DYN__ERR_ENUM
};
#define DYN_EBADROUTE (-DYN__EBADROUTE)
#define DYN_ENOCONN (-DYN__ENOCONN)
#define DYN_ENORESP (-DYN__ENORESP)
#define DYN_ESENT (-DYN__ESENT)
#define DYN_ENOTCHUNKED (-DYN__ENOTCHUNKED)
#define DYN_EBADHEADER (-DYN__EBADHEADER)
#define DYN_EBADENCODING (-DYN__EBADENCODING)
#define DYN_ELIMIT (-DYN__ELIMIT)
#define DYN_ENODYNAMO (-DYN__ENODYNAMO)
#define DYN_EBADPLUG (-DYN__EBADPLUG)
#define DYN_ENOTFETCHED (-DYN__ENOTFETCHED)
#define DYN_ENOTEMPLATE (-DYN__ENOTEMPLATE)
#define DYN_ETEMPLATE (-DYN__ETEMPLATE)
#define DYN_EBUILD (-DYN__EBUILD)
#define DYN_ERAISED (-DYN__ERAISED)

/* Message for any error code (the framework's, then http_strerror: the HTTP layer's, the
 * runtime's, -errno). Never NULL. Any thread. */
DYN_API const char *dyn_strerror(int err);
/* Symbolic name ("DYN_ENOCONN", else the runtime's act_err_name). Never NULL. */
DYN_API const char *dyn_err_name(int err);

#endif
