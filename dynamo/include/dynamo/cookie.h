/*
 * Cookies (RFC 6265): the request's, after dyn_fetch(conn, DYN_FETCH_COOKIES), and the ones
 * the response sets (Plug.Conn's fetch_cookies, put_resp_cookie, delete_resp_cookie).
 *
 *     conn = dyn_fetch(conn, DYN_FETCH_COOKIES);
 *     const char *theme = dyn_req_cookie(conn, "theme");           // NULL if absent
 *     conn = dyn_put_resp_cookie(conn, "theme", "dark",
 *                                &(dyn_cookie_opts_t){.max_age = 86400, .secure = true});
 *
 * Parsing is lenient where browsers are (RFC 6265 section 5.4: pairs split on ';', names and
 * values trimmed, a value's surrounding double quotes kept as sent, pairs without '=' skipped,
 * the first of duplicate names wins) and bounded (count and size limits of the Dynamo: a
 * header past them is cut at the limit, never an error page). Values are not percent-decoded
 * (cookies are opaque octets); dyn_put_resp_cookie refuses values with bytes RFC 6265 does not
 * allow in a cookie-value (CTLs, whitespace, '"', ',', ';', '\') and names that are not tokens:
 * the request fails with DYN_EBADHEADER, so nothing can inject attributes or headers.
 *
 * Response cookies are kept by name until the head goes out, then written as one Set-Cookie
 * header each (the last put for a name wins). Signed and encrypted cookies, keyed from the
 * Dynamo's secret, are in session.h.
 *
 * Thread contract: the request's fiber only.
 */
#ifndef DYN_COOKIE_H
#define DYN_COOKIE_H

#include <time.h>

#include "dynamo/conn.h"

/* The request cookie `name`, or NULL. Fails the request with DYN_ENOTFETCHED before the
 * cookies fetch. */
DYN_API const char *dyn_req_cookie(dyn_conn_t *conn, const char *name);
/* All request cookies, name -> string value, in the order sent. Same failure. */
DYN_API const dyn_map_t *dyn_req_cookies(dyn_conn_t *conn);

typedef enum dyn_same_site {
    DYN_SAME_SITE_LAX = 0, /* the default, as browsers apply it */
    DYN_SAME_SITE_STRICT,
    DYN_SAME_SITE_NONE, /* sent cross-site; browsers require secure with it */
    DYN_SAME_SITE_OMIT, /* no SameSite attribute */
} dyn_same_site_t;

/* Attributes of a response cookie. Zero-initialized means: path "/", no domain, a session
 * cookie (no Max-Age or Expires), not Secure, HttpOnly, SameSite=Lax. */
typedef struct dyn_cookie_opts {
    const char *path;   /* [NULL: "/"] */
    const char *domain; /* [NULL: none, the cookie stays on the request's host] */
    int64_t max_age;    /* seconds, > 0 sets Max-Age (and a matching Expires for old
                           clients); 0 a session cookie; < 0 expires it at once */
    time_t expires;     /* an absolute Expires (Unix time) when max_age is 0; 0 for none */
    bool secure;        /* Secure: only over HTTPS */
    bool http_only_off; /* true drops HttpOnly (scripts may then read the cookie) */
    dyn_same_site_t same_site;
} dyn_cookie_opts_t;

/* Sets a cookie on the response (opts may be NULL for the defaults). name and value are
 * copied. Returns conn. */
DYN_API dyn_conn_t *dyn_put_resp_cookie(dyn_conn_t *conn, const char *name, const char *value,
                                        const dyn_cookie_opts_t *opts);
/* Tells the client to drop a cookie: an empty value, Max-Age=0 and an Expires in the past,
 * with the path and domain of opts (they must match the ones it was set with). Returns conn. */
DYN_API dyn_conn_t *dyn_delete_resp_cookie(dyn_conn_t *conn, const char *name,
                                           const dyn_cookie_opts_t *opts);
/* The response cookies set so far: name -> the whole Set-Cookie value. */
DYN_API const dyn_map_t *dyn_resp_cookies(const dyn_conn_t *conn);

#endif
