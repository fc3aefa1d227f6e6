/*
 * Fetch internals shared with the session plug (dynamo/src/plug/session.c): how
 * dyn_fetch(conn, DYN_FETCH_SESSION) reaches the session plug, and how readers of fetched data
 * fail before their fetch.
 *
 * The session plug registers its fetcher Plug-style, from its call, as a private conn value
 * holding a function pointer (a pointer value without a destructor):
 *
 *     static dyn_conn_t *fetch_session(dyn_conn_t *conn);   // a dyn__session_fetch_fn
 *
 *     conn = dyn_put_private(conn, DYN__SESSION_FETCHER,
 *                            dyn_vptr(dyn_conn_arena(conn), (void *)fetch_session, NULL));
 *
 * Names: the private key DYN__SESSION_FETCHER ("dynamo.session_fetcher"), the function type
 * dyn__session_fetch_fn, and dyn__fetch_require below.
 *
 * dyn_fetch(conn, DYN_FETCH_SESSION) then, once per request: fetches the cookies (the session
 * implies them), marks the session fetched (before the call, so the fetcher may use the
 * session readers to fill the session, and a nested dyn_fetch of the session returns at once),
 * and calls the fetcher, which returns the conn (NULL fails the request: a gentle exception
 * naming the session fetcher). The fetcher finds whatever state it needs (its store, cookie
 * options) under private keys of its own, put by the same plug call. Without the plug, the
 * fetch fails the request with DYN_ENOTFETCHED and the text "session fetched without
 * dyn_plug_session in the endpoint".
 *
 * Thread contract: the request's fiber only.
 */
#ifndef DYN_FETCH_INT_H
#define DYN_FETCH_INT_H

#include "dynamo/fetch.h"

/* The private key under which the session plug's call registers its fetcher. */
#define DYN__SESSION_FETCHER "dynamo.session_fetcher"

/* The session plug's fetcher: loads the session into the conn and returns it. */
typedef dyn_conn_t *(*dyn__session_fetch_fn)(dyn_conn_t *conn);

/* ---- for the framework's own files (fetch.c, params.c, cookie.c, conn.c) ------------------ */

struct dyn__upload;

/* What the fetches of one request made, in its arena (conn->fetch). */
typedef struct dyn__fetch {
    dyn_map_t *query;            /* the query string's parameters */
    dyn_map_t *body;             /* the body's parameters */
    dyn_map_t *cookies;          /* the request's cookies, name -> string */
    dyn_map_t *resp_cookies;     /* name -> Set-Cookie value, written before the head */
    struct dyn__upload *uploads; /* this request's file parts, newest first */
    bool body_streamed;          /* a multipart body went to its parts: none to keep whole */
} dyn__fetch_t;

/* The request's fetch state, made on first use (fails the request if memory runs out). */
dyn__fetch_t *dyn__fetch_state(dyn_conn_t *conn);

/* dyn_param_value's answer for a name that is not a top-level key of params: fails the
 * request before the params fetch, else reads a nested key ("user[name]"). */
const dyn_value_t *dyn__param_missing(dyn_conn_t *conn, const char *name);

/* The cookies fetch (cookie.c): parses the Cookie headers into conn->fetch->cookies. */
void dyn__fetch_cookies(dyn_conn_t *conn);

/* dyn_param's text of a scalar that is not a string (a JSON number or boolean), in the arena;
 * NULL for null, lists, maps and pointers. */
const char *dyn__param_text(dyn_conn_t *conn, const dyn_value_t *v);

/* Writes the response cookies as Set-Cookie headers: the conn runs it once, after the
 * before-send callbacks (which may still set cookies), as the head is about to go out. */
void dyn__resp_cookies_write(dyn_conn_t *conn);

/* Fails the request with DYN_ENOTFETCHED unless every part in `what` (DYN_FETCH_*) was
 * fetched. The text is the reader's description (printf-style) followed by " read before
 * dyn_fetch(conn, DYN_FETCH_<PART>)", naming the first missing part:
 *
 *     dyn__fetch_require(conn, DYN_FETCH_SESSION, "session value \"%s\"", key);
 *     // fails with: session value "user_id" read before dyn_fetch(conn, DYN_FETCH_SESSION)
 *
 * Returns only when everything was fetched. */
__attribute__((format(printf, 3, 4))) void dyn__fetch_require(dyn_conn_t *conn, unsigned what,
                                                              const char *fmt, ...);

#endif
