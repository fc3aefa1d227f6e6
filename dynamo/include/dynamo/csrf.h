/*
 * Cross-site request forgery protection (Plug.CSRFProtection).
 *
 *     static const dyn_plug_spec_t web_plugs[] = {
 *         DYN_PLUG(dyn_plug_session, &session_opts),
 *         DYN_PLUG(dyn_plug_csrf, NULL),
 *         ...
 *     };
 *
 *     // in a template or route: every form carries a token
 *     dyn_buf_printf(&b, "<form method=\"post\" action=\"/posts\">%s", dyn_csrf_input(conn));
 *
 * A random 256-bit token lives in the session (under "_csrf_token"), made the first time a
 * page asks for one. Pages never show it as it is: dyn_csrf_token returns a freshly masked copy
 * on every call (a random mask and the token XOR the mask), so the bytes of a page change from
 * response to response and compression side channels (BREACH) learn nothing across them.
 *
 * The plug checks every request whose method is not GET, HEAD or OPTIONS: the masked token must
 * come in the `x-csrf-token` header (scripts) or the `_csrf_token` form field (the plug then
 * fetches the params), and unmask to the session's token (compared in constant time).
 * Anything else, a missing session included, is answered 403 (dyn_raise: the Dynamo's page for
 * 403, a custom one if registered) without running the route. Safe methods fetch nothing.
 *
 * Also as Plug: a GET whose response turns out to be JavaScript (text/javascript or
 * application/javascript) is refused with 403 unless it was made by a script
 * (x-requested-with: XMLHttpRequest), so another site cannot read it through a <script> tag.
 *
 * After a login, call dyn_csrf_delete_token (with dyn_session_renew): tokens from before the
 * login stop working (no CSRF fixation).
 *
 * Thread contract: the request's fiber.
 */
#ifndef DYN_CSRF_H
#define DYN_CSRF_H

#include "dynamo/plug.h"

/* Options of dyn_plug_csrf (NULL: the defaults). */
typedef struct dyn_csrf_opts {
    const char *session_key;    /* where the token lives in the session ["_csrf_token"] */
    bool clear_session;         /* a bad token empties the session for this request (and writes
                                   nothing back) instead of a 403 (Plug's with: :clear_session) */
    bool allow_cross_origin_js; /* do not refuse JavaScript answers to plain GETs */
} dyn_csrf_opts_t;
DYN_API extern const dyn_plug_t dyn_plug_csrf;

/* A masked copy of the session's token (86 characters of base64url), made afresh on each
 * call; creates the token if the session has none (the session cookie is then written).
 * Needs the session fetched. Returns it in the request's arena. */
DYN_API const char *dyn_csrf_token(dyn_conn_t *conn);
/* <input type="hidden" name="_csrf_token" value="..."> for a form. */
DYN_API const char *dyn_csrf_input(dyn_conn_t *conn);
/* Forgets the session's token: the next dyn_csrf_token makes a new one. Returns conn. */
DYN_API dyn_conn_t *dyn_csrf_delete_token(dyn_conn_t *conn);
/* True if masked is a valid masked copy of the session's token. */
DYN_API bool dyn_csrf_valid(dyn_conn_t *conn, const char *masked);
/* Skips the check for this request (Plug's plug_skip_csrf_protection): for tests that post
 * without a page, never for production code. Returns conn. */
DYN_API dyn_conn_t *dyn_csrf_skip(dyn_conn_t *conn);

#endif
