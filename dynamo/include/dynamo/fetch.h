/*
 * Lazily fetched request data: nothing of the query, the body, the cookies or the session is
 * parsed until a plug, hook or route asks for it (the seed's "lazy parsing and handling of
 * cookies, sessions, params and headers"; Plug's fetch_query_params, Plug.Parsers,
 * fetch_cookies, fetch_session).
 *
 *     static dyn_conn_t *fetch_stuff(dyn_conn_t *conn)     // the README's prepare hook
 *     {
 *         return dyn_fetch(conn, DYN_FETCH_COOKIES | DYN_FETCH_PARAMS);
 *     }
 *
 * Each part is parsed once per request and cached; fetching it again costs nothing. Reading a
 * part that was not fetched (dyn_param of a query or body parameter, dyn_req_cookie, a session
 * value) fails the request with DYN_ENOTFETCHED and a text naming the missing fetch ("param
 * \"user_info\" read before dyn_fetch(conn, DYN_FETCH_PARAMS)"), which the exception page shows:
 * a programming error made visible, never a silent NULL. Path parameters bound by the router
 * are always there.
 *
 * Bad input is the client's error, answered with a status (Plug's exceptions with a
 * plug_status): a bad encoding 400, a body, part or field past its limit 413, a body of a type
 * no parser takes when one is required 415. dyn_fetch then fails the request with that status
 * (dyn_raise: a failure carrying an HTTP status): the pipeline stops, the Dynamo answers with its
 * page for that status (a custom one if registered), logs it at info level, and the node and
 * connection go on.
 *
 * The params fetch, as Plug.Parsers: the body is parsed for POST, PUT, PATCH and DELETE, by
 * its Content-Type:
 *   application/x-www-form-urlencoded  nested keys (uri.h), up to max_form_size (1 MB)
 *   multipart/form-data (and mixed)    streamed: fields become params, file parts temporary
 *                                      files (params.h: uploads), within the part, file and
 *                                      header caps of the Dynamo's limits
 *   application/json, any +json        decoded with jansson: an object's members become
 *                                      params; any other value goes under "_json" (Phoenix)
 * A body without a Content-Type gives no params; one of another type gets 415 unless the
 * Dynamo's pass list names it. params = query, body over it, path parameters over both (the
 * merges are shallow: a body's "user" map replaces a query's "user" whole); the two sources
 * stay readable alone (dyn_conn_query_params, dyn_conn_body_params). Keys and values must be
 * UTF-8 (400) unless the Dynamo allows any bytes. Every cap is in dyn_limits_t (dynamo.h);
 * the body as a whole is capped by the HTTP server's max_body_size (8 MiB).
 *
 * Reading the body suspends the request's fiber until its bytes arrive (back-pressure: the
 * client is read only as fast as the parsers go).
 *
 * Thread contract: the request's fiber only.
 */
#ifndef DYN_FETCH_H
#define DYN_FETCH_H

#include "dynamo/conn.h"

/* What to fetch; or them together. */
#define DYN_FETCH_QUERY 0x01u /* the query string's parameters, merged into params */
#define DYN_FETCH_BODY 0x02u  /* the raw body, read whole into memory (dyn_conn_body) */
#define DYN_FETCH__BODY_PARAMS 0x04u
/* Query and body parameters (urlencoded, multipart, JSON) merged with the path parameters;
 * implies QUERY but not BODY: a multipart body is streamed to its parts, never held whole
 * (fetch DYN_FETCH_BODY too, first or in the same call, to keep the raw bytes as well). */
#define DYN_FETCH_PARAMS 0x05u
#define DYN_FETCH_COOKIES 0x08u /* the Cookie header (cookie.h) */
/* The session (session.h); implies COOKIES and needs the session plug in the endpoint. */
#define DYN_FETCH_SESSION 0x18u

/* Fetches what `what` names that is not fetched yet, and returns conn. Fails the request with
 * a 400/413/415 status on bad input (see above), with DYN_ENOTFETCHED for a session without
 * the session plug. */
DYN_API dyn_conn_t *dyn_fetch(dyn_conn_t *conn, unsigned what);
/* True if every part in `what` was fetched. */
DYN_API bool dyn_fetched(const dyn_conn_t *conn, unsigned what);

/* The query string's parameters alone (Plug's query_params), nested as in params. Fails the
 * request with DYN_ENOTFETCHED before the query fetch. */
DYN_API const dyn_map_t *dyn_conn_query_params(dyn_conn_t *conn);
/* The body's parameters alone (Plug's body_params): empty when no parser took the body. Fails
 * the request with DYN_ENOTFETCHED before the params fetch. */
DYN_API const dyn_map_t *dyn_conn_body_params(dyn_conn_t *conn);

#endif
