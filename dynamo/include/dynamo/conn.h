/*
 * The conn: one request and its response, as Plug.Conn and the Dynamo README's connection.
 *
 * A conn is created for each request by the Dynamo (or by the test helpers, test.h), runs
 * through the endpoint's plugs, the router, the route and its hooks, and is sent back. It is
 * opaque: read it with the accessors, change it with the functions below, each of which
 * returns the conn so calls chain and every route and hook ends with `return conn`:
 *
 *     static dyn_conn_t *put_user(dyn_conn_t *conn)
 *     {
 *         return dyn_resp(conn, 200, dyn_sprintf(conn, "Got user id: %s",
 *                                                dyn_param(conn, "user_id")));
 *     }
 *
 * Unlike Elixir's, a C conn is one object changed in place: the README's "immutability" pitfall
 * (an assign whose result is dropped has no effect) does not exist here, but returning the conn
 * stays the rule, so that a route or hook returning NULL is caught and reported ("route GET
 * /users/:id (show_user) returned no conn": the seed's gentle exception, a 500 with the
 * exception page, never a crash of the node).
 *
 * Response states, as Plug's: DYN_STATE_UNSET, then SET by dyn_resp/dyn_status/dyn_redirect
 * (sent when the route returns), or SENT by dyn_send (now), or CHUNKED by dyn_send_chunked
 * (then dyn_chunk streams; the end is sent when the request finishes). Changing the response
 * after it was sent is a programming error: the request fails with DYN_ESENT (a 500 page if
 * nothing went out yet), like Plug's AlreadySentError.
 *
 * Memory: strings the conn returns live in the request's arena (dyn_conn_arena) until the
 * request ends; strings given to it are copied unless a function says it borrows them.
 *
 * Failures: functions that return a conn fail the request (act_failf, caught by the Dynamo:
 * the exception page in dev, a plain 500 and a log line in prod) on programming errors (a
 * header with CR or LF, a change after the response was sent) and when memory runs out.
 * Functions that talk to the client (dyn_chunk, dyn_conn_read_body) return error codes instead:
 * a client that went away is normal.
 *
 * Thread contract: the request's fiber only (the request actor). Nothing here blocks except
 * dyn_send*, dyn_chunk (back-pressure) and the body readers, which suspend that fiber only.
 */
#ifndef DYN_CONN_H
#define DYN_CONN_H

#include <stdarg.h>
#include <sys/socket.h>

#include "actor/act.h"
#include "dynamo/value.h"

/* ---- the request ------------------------------------------------------------------------- */

/* The method (after dyn_plug_method_override / dyn_plug_head rewrote it, if they did). */
DYN_API http_method_t dyn_conn_method(const dyn_conn_t *conn);
/* Its token ("GET", "PROPFIND"). */
DYN_API const char *dyn_conn_method_str(const dyn_conn_t *conn);
/* The method the client sent, before any override. */
DYN_API http_method_t dyn_conn_original_method(const dyn_conn_t *conn);
DYN_API const char *dyn_conn_original_method_str(const dyn_conn_t *conn);
/* Rewrites the method (what method override and head do). Returns conn. */
DYN_API dyn_conn_t *dyn_conn_put_method(dyn_conn_t *conn, http_method_t m);

/* The request path as received, undecoded, without the query ("/users/42"). */
DYN_API const char *dyn_conn_path(const dyn_conn_t *conn);
/* The decoded path segments the current router sees (Plug's path_info): after
 * forward("/posts", ...) a request to /posts/recent shows {"recent"} to the inner router.
 * Empty segments are dropped ("/a//b/" is {"a", "b"}). *segs gets the array; returns the
 * count. A path with an invalid percent-encoding never gets this far (400). */
DYN_API size_t dyn_conn_path_info(const dyn_conn_t *conn, const dyn_str_t **segs);
/* The decoded segments consumed by forwards so far (Plug's script_name): {"posts"} inside the
 * posts router of the example above. */
DYN_API size_t dyn_conn_script_name(const dyn_conn_t *conn, const dyn_str_t **segs);
/* The same two as paths joined with '/', decoded ("/recent", "/posts"; "" for an empty
 * script_name, "/" for an empty path_info), in the arena. */
DYN_API const char *dyn_conn_path_info_str(dyn_conn_t *conn);
DYN_API const char *dyn_conn_script_name_str(dyn_conn_t *conn);
/* The query string after '?', undecoded, or "". */
DYN_API const char *dyn_conn_query(const dyn_conn_t *conn);

/* A request header by name (any case), or NULL; all of them in arrival order (names
 * lowercased, values trimmed). */
DYN_API const char *dyn_conn_req_header(const dyn_conn_t *conn, const char *name);
DYN_API const http_header_t *dyn_conn_req_headers(const dyn_conn_t *conn, size_t *n);

/* "http" (the server speaks plain HTTP/1.1; TLS terminates in front of it). */
DYN_API const char *dyn_conn_scheme(const dyn_conn_t *conn);
/* The host the request is for, without the port ("example.com"; "" if the client sent none). */
DYN_API const char *dyn_conn_host(dyn_conn_t *conn);
/* The port the request is for: the Host header's, else the port the Dynamo listens on. */
DYN_API uint16_t dyn_conn_port(dyn_conn_t *conn);
/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
DYN_API int dyn_conn_version(const dyn_conn_t *conn);
/* The peer's address as text ("127.0.0.1", "::1"; "" if unknown) and its port. */
DYN_API const char *dyn_conn_peer(dyn_conn_t *conn);
DYN_API uint16_t dyn_conn_peer_port(const dyn_conn_t *conn);
/* The peer's socket address. Returns 0 or -ENOTCONN. */
DYN_API int dyn_conn_peer_addr(const dyn_conn_t *conn, struct sockaddr_storage *addr,
                               socklen_t *len);

/* The value of parameter `name`: path parameters bound by the router (":user_id", a named
 * glob's segments joined with '/') are always there; the query and body parameters too once
 * fetched (fetch.h), and `name` may then be a nested key ("user[name]", params.h). NULL if
 * absent; reading a name that is not a path parameter before the fetch fails the request
 * with DYN_ENOTFETCHED. */
DYN_API const char *dyn_param(const dyn_conn_t *conn, const char *name);
/* The same as a value (a named glob binds a list of its segments). NULL if absent. */
DYN_API const dyn_value_t *dyn_param_value(const dyn_conn_t *conn, const char *name);
/* All parameters bound so far. */
DYN_API const dyn_map_t *dyn_conn_params(const dyn_conn_t *conn);

/* Reads the next piece of the request body into buf (cap bytes at most), suspending the fiber
 * until some arrives. Returns the byte count, 0 at the end, or an error: HTTP_ETOOLARGE (past
 * the Dynamo's body limit), HTTP_EBADBODY, -ETIMEDOUT, -EPIPE (see http/req.h). */
DYN_API ssize_t dyn_conn_read_body(dyn_conn_t *conn, void *buf, size_t cap);
/* The whole body (at most max bytes; 0: the Dynamo's limit), read once and kept: later calls
 * (and later plugs, such as the parsers) get the same bytes. *out is NUL-terminated. Returns 0
 * or an error of dyn_conn_read_body (HTTP_ETOOLARGE past max). */
DYN_API int dyn_conn_body(dyn_conn_t *conn, size_t max, const char **out, size_t *len);

/* ---- the response ------------------------------------------------------------------------ */

typedef enum dyn_state {
    DYN_STATE_UNSET = 0, /* nothing set yet */
    DYN_STATE_SET,       /* status and body set, sent when the route returns */
    DYN_STATE_CHUNKED,   /* streaming: head sent, dyn_chunk sends pieces */
    DYN_STATE_SENT,      /* sent */
} dyn_state_t;

DYN_API dyn_state_t dyn_conn_state(const dyn_conn_t *conn);
/* "unset", "set", "chunked", "sent". */
DYN_API const char *dyn_state_name(dyn_state_t s);
/* The response status (200 until set). */
DYN_API int dyn_conn_status(const dyn_conn_t *conn);
/* The response body set so far (dyn_resp), or "" (len may be NULL). */
DYN_API const char *dyn_conn_resp_body(const dyn_conn_t *conn, size_t *len);

/* Sets status and body, sent when the route returns (Dynamo's conn.resp). body is copied (a
 * NUL-terminated string; dyn_respn takes a length). Returns conn. */
DYN_API dyn_conn_t *dyn_resp(dyn_conn_t *conn, int status, const char *body);
DYN_API dyn_conn_t *dyn_respn(dyn_conn_t *conn, int status, const void *body, size_t len);
/* The same without the copy: body must live as long as the request (a literal, or memory of
 * the conn's arena such as a rendered template). */
DYN_API dyn_conn_t *dyn_resp_borrow(dyn_conn_t *conn, int status, const void *body, size_t len);
/* Sets the status (and the state to SET with an empty body if nothing was set yet): the seed's
 * conn.status(400). Returns conn. */
DYN_API dyn_conn_t *dyn_status(dyn_conn_t *conn, int status);

/* Sends the response now: dyn_resp then send (Dynamo's conn.send). The before-send callbacks
 * run first. Returns conn (state SENT; a client that is gone is not an error here). */
DYN_API dyn_conn_t *dyn_send(dyn_conn_t *conn, int status, const char *body);
DYN_API dyn_conn_t *dyn_sendn(dyn_conn_t *conn, int status, const void *body, size_t len);
/* Sends what dyn_resp set (state SET -> SENT), as Plug's send_resp/1. */
DYN_API dyn_conn_t *dyn_send_resp(dyn_conn_t *conn);

/* Starts a streamed response (chunked for HTTP/1.1 clients, close-delimited for HTTP/1.0):
 * sends status and headers now, before-send callbacks first. Returns conn (state CHUNKED). */
DYN_API dyn_conn_t *dyn_send_chunked(dyn_conn_t *conn, int status);
/* Sends one piece (copied), suspending the fiber under back-pressure (a slow client slows the
 * route down; memory never grows). An empty piece sends nothing. Returns 0, -EPIPE (the client
 * went away: stop), -ETIMEDOUT (it stopped reading), or DYN_ENOTCHUNKED. The stream ends when
 * the request finishes. */
DYN_API int dyn_chunk(dyn_conn_t *conn, const void *data, size_t len);
DYN_API int dyn_chunk_str(dyn_conn_t *conn, const char *s);

/* Sends len bytes of file fd from offset as the body, with sendfile(2) for real requests (the
 * bytes never pass through user space); fd stays the caller's. Sets content-length. Returns
 * conn (state SENT; a client that is gone is not an error here; a read error of the file
 * closes the connection). */
DYN_API dyn_conn_t *dyn_send_file(dyn_conn_t *conn, int status, int fd, off_t offset, size_t len);

/* Response headers. Names are lowercased; names and values are copied. A name must be a token,
 * a value free of control characters but HTAB (CR, LF, NUL, ...): the request fails with
 * DYN_EBADHEADER otherwise (no header injection). put replaces
 * every header of that name; add appends another (set-cookie). Date, Server, Connection,
 * Content-Length and Transfer-Encoding are the server's. Return conn. */
DYN_API dyn_conn_t *dyn_put_resp_header(dyn_conn_t *conn, const char *name, const char *value);
DYN_API dyn_conn_t *dyn_add_resp_header(dyn_conn_t *conn, const char *name, const char *value);
DYN_API dyn_conn_t *dyn_delete_resp_header(dyn_conn_t *conn, const char *name);
/* The first response header of that name, or NULL. */
DYN_API const char *dyn_get_resp_header(const dyn_conn_t *conn, const char *name);
/* All response headers set so far, in order. */
DYN_API const http_header_t *dyn_conn_resp_headers(const dyn_conn_t *conn, size_t *n);
/* content-type: type, plus "; charset=CHARSET" when charset is not NULL (Plug's
 * put_resp_content_type; "utf-8" is the usual charset). A response with a body and no
 * content type goes out as "text/plain; charset=utf-8" (never sniffed as HTML). */
DYN_API dyn_conn_t *dyn_put_resp_content_type(dyn_conn_t *conn, const char *type,
                                              const char *charset);

/* Redirects to url: status 302, location header, a short HTML body linking to it (escaped).
 * The response is sent when the route returns. url must not contain CR or LF. Returns conn. */
DYN_API dyn_conn_t *dyn_redirect(dyn_conn_t *conn, const char *url);
/* The same with another 3xx status (301, 303, 307, 308). */
DYN_API dyn_conn_t *dyn_redirect_status(dyn_conn_t *conn, int status, const char *url);

/* Halts the pipeline: the plugs, hooks and route after the current one are skipped (the seed's
 * halt!). The response set so far is sent. Returns conn. */
DYN_API dyn_conn_t *dyn_halt(dyn_conn_t *conn);
DYN_API bool dyn_conn_halted(const dyn_conn_t *conn);

/* Fails the request with an HTTP status, as a Plug exception with a plug_status does: the
 * client's error (400 bad input, 413 too large, 415 unsupported media type...), found deep in
 * a parser or a hook. Like any failure it unwinds out of the plug, hook or route (nothing
 * after it runs), but the Dynamo answers with its page for that status (the custom error page
 * if one is registered, which reads the text in dyn_conn_failure(conn); else a plain page),
 * never the debug exception page, and logs one line at info level, not as a crash. status must
 * be 4xx or 5xx (anything else fails the request as a crash). Never returns. */
DYN_API __attribute__((noreturn, format(printf, 3, 4))) void dyn_raise(dyn_conn_t *conn, int status,
                                                                       const char *fmt, ...);

/* A callback run just before the response head goes out (dyn_send*, dyn_send_chunked, the end
 * of a route with state SET), with the conn it may still change (headers, status, body).
 * Callbacks run last registered first, as Plug's register_before_send; each must return the
 * conn (NULL fails the request). Returns conn. */
typedef dyn_conn_t *(*dyn_before_send_fn)(dyn_conn_t *conn, void *arg);
DYN_API dyn_conn_t *dyn_register_before_send(dyn_conn_t *conn, dyn_before_send_fn fn, void *arg);

/* ---- assigns and private data ------------------------------------------------------------ */

/* Shares a value between plugs, hooks, routes and templates (Plug's assign): v is stored as
 * given (strings borrowed: use dyn_vstr_copy or dyn_assign_str for strings that do not outlive
 * the request by themselves). Returns conn. */
DYN_API dyn_conn_t *dyn_assign(dyn_conn_t *conn, const char *key, dyn_value_t v);
/* Typed shorthands; dyn_assign_str copies s. */
DYN_API dyn_conn_t *dyn_assign_str(dyn_conn_t *conn, const char *key, const char *s);
DYN_API dyn_conn_t *dyn_assign_int(dyn_conn_t *conn, const char *key, int64_t i);
DYN_API dyn_conn_t *dyn_assign_float(dyn_conn_t *conn, const char *key, double f);
DYN_API dyn_conn_t *dyn_assign_bool(dyn_conn_t *conn, const char *key, bool b);
/* p is owned by the request from now on: dtor(p) runs when it ends (see dyn_vptr). */
DYN_API dyn_conn_t *dyn_assign_ptr(dyn_conn_t *conn, const char *key, void *p,
                                   void (*dtor)(void *p));
/* The assign under key, or NULL; all of them (never NULL). */
DYN_API const dyn_value_t *dyn_conn_assign(const dyn_conn_t *conn, const char *key);
DYN_API const dyn_map_t *dyn_conn_assigns(const dyn_conn_t *conn);

/* Private data: the same, in a map of its own for libraries and the framework (Plug's
 * put_private), keyed by names prefixed with the owner ("dynamo.request_id"). */
DYN_API dyn_conn_t *dyn_put_private(dyn_conn_t *conn, const char *key, dyn_value_t v);
DYN_API const dyn_value_t *dyn_conn_private(const dyn_conn_t *conn, const char *key);

/* ---- memory and context ------------------------------------------------------------------ */

/* The request's arena: everything allocated there goes when the request ends. */
DYN_API dyn_arena_t *dyn_conn_arena(dyn_conn_t *conn);
/* Allocation shorthands in the request's arena; they fail the request if memory runs out, so
 * they never return NULL. */
DYN_API void *dyn_alloc(dyn_conn_t *conn, size_t size);
DYN_API char *dyn_strdup(dyn_conn_t *conn, const char *s);
DYN_API __attribute__((format(printf, 2, 3))) char *dyn_sprintf(dyn_conn_t *conn, const char *fmt,
                                                                ...);
DYN_API __attribute__((format(printf, 2, 0))) char *dyn_vsprintf(dyn_conn_t *conn, const char *fmt,
                                                                 va_list ap);

/* The declaration of the Dynamo serving this request (dynamo.h: its secret, static route and
 * root, limits...), and shorthands for its environment, name and user data. */
DYN_API const dyn_dynamo_t *dyn_conn_dynamo(const dyn_conn_t *conn);
DYN_API dyn_env_t dyn_conn_env(const dyn_conn_t *conn);
DYN_API const char *dyn_conn_dynamo_name(const dyn_conn_t *conn);
DYN_API void *dyn_conn_user(const dyn_conn_t *conn);

/* The request id (dyn_plug_request_id), or NULL when that plug does not run. */
DYN_API const char *dyn_conn_request_id(const dyn_conn_t *conn);

/* What the router matched, for hooks, loggers and error pages: the router's name, the route's
 * method and path pattern ("/users/:user_id") and its handler's name; NULLs before a match. */
typedef struct dyn_route_match {
    const char *router;
    const char *method;
    const char *path;
    const char *handler;
} dyn_route_match_t;
DYN_API dyn_route_match_t dyn_conn_route(const dyn_conn_t *conn);

/* The failure the Dynamo caught for this request (its reason, text and where it happened), for
 * custom error pages and tests; NULL if none. */
typedef struct dyn_failure {
    int reason;        /* an exit reason or error code (act_reason_str names it) */
    const char *text;  /* act_failf's text, or "" */
    const char *where; /* "route GET /users/:user_id (show_user) in application_router",
                          "plug request_id", "prepare hook authenticate_user", ... */
} dyn_failure_t;
DYN_API const dyn_failure_t *dyn_conn_failure(const dyn_conn_t *conn);

#endif
