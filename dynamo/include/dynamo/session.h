/*
 * Sessions (Plug.Session with its COOKIE and ETS stores), and signed and encrypted cookies.
 *
 *     static const dyn_session_opts_t session_opts = {.key = "_hello_session"};
 *     static const dyn_plug_spec_t web_plugs[] = {
 *         DYN_PLUG(dyn_plug_static, NULL),
 *         DYN_PLUG(dyn_plug_session, &session_opts),   // registers the session's fetcher
 *         ...
 *     };
 *
 *     static dyn_conn_t *login(dyn_conn_t *conn)
 *     {
 *         conn = dyn_fetch(conn, DYN_FETCH_SESSION | DYN_FETCH_PARAMS);
 *         ...check the password...
 *         conn = dyn_session_renew(conn);                // a new id: no session fixation
 *         return dyn_redirect(dyn_session_put_int(conn, "user_id", 42), "/");
 *     }
 *
 * Lazy, as every fetch: the plug only registers how to load the session; the cookie is read,
 * checked and decoded when a hook or route asks (dyn_fetch with DYN_FETCH_SESSION). Reading or
 * writing the session before that fails the request with DYN_ENOTFETCHED, naming the fetch.
 *
 * Written once, only if needed: a before-send callback writes the session cookie just before
 * the head goes out, and only when the session changed (put, delete, clear), was renewed, or
 * was dropped (then the cookie is deleted). A request that only reads sends no Set-Cookie.
 *
 * Stores:
 * - dyn_session_cookie_store (the default): the whole session in the cookie, encrypted and
 *   authenticated with AES-256-GCM (crypto.h) under a key derived from the Dynamo's secret and
 *   a salt; signed only (HMAC-SHA256, readable by the client) if asked. Stateless: any node
 *   behind a load balancer reads it. Key rotation: cookies made with one of the Dynamo's
 *   previous_secrets are still read (and rewritten with the current one when next changed). A
 *   tampered, truncated, foreign, expired or garbage cookie is an empty session, logged at
 *   debug level, never an error page or a crash.
 * - dyn_session_server_store: only a random 256-bit id travels (signed, so garbage never
 *   reaches the store); the values live in a store actor (memory, an idle time to live, an
 *   expiry sweep on a timer) that request fibers call. The store is a supervised server the
 *   application starts in its own tree (DYN_SESSION_SERVER_CHILD), beside the Dynamo: one
 *   store may serve several Dynamos, and a Dynamo that restarts keeps its users logged in. If
 *   the store is not running, sessions read as empty and writing one fails the request.
 * Session values are data (null, booleans, integers, floats, strings, lists, maps), copied
 * when put: pointer values are refused (the request fails, naming the key).
 *
 * Size: the cookie (name and value) is at most max_cookie bytes (4096: what browsers keep).
 * A session that does not fit fails the request with a clear error naming the cookie and its
 * size, rather than a cookie the browser would silently drop.
 *
 * Thread contract: plugs and request fibers as usual; the store server is a server (server.h).
 */
#ifndef DYN_SESSION_H
#define DYN_SESSION_H

#include "actor/server.h"
#include "dynamo/cookie.h"
#include "dynamo/crypto.h"
#include "dynamo/plug.h"

/* ---- the session ------------------------------------------------------------------------- */

/* The value under key, or NULL. */
DYN_API const dyn_value_t *dyn_session_get(dyn_conn_t *conn, const char *key);
/* The string under key, or NULL if absent or not a string. */
DYN_API const char *dyn_session_get_str(dyn_conn_t *conn, const char *key);
/* All of it (never NULL). */
DYN_API const dyn_map_t *dyn_session(dyn_conn_t *conn);

/* Sets key to a copy of v (a pointer value fails the request). Returns conn. */
DYN_API dyn_conn_t *dyn_session_put(dyn_conn_t *conn, const char *key, dyn_value_t v);
DYN_API dyn_conn_t *dyn_session_put_str(dyn_conn_t *conn, const char *key, const char *s);
DYN_API dyn_conn_t *dyn_session_put_int(dyn_conn_t *conn, const char *key, int64_t i);
/* Removes key. Returns conn. */
DYN_API dyn_conn_t *dyn_session_delete(dyn_conn_t *conn, const char *key);
/* Removes every key. Returns conn. */
DYN_API dyn_conn_t *dyn_session_clear(dyn_conn_t *conn);

/* Plug's configure_session. renew: the session gets a new id (the server store deletes the
 * old one) and its cookie is written, keeping the values: call it on login and privilege
 * changes. drop: the session is deleted and its cookie removed; the values put in this
 * request are discarded. ignore: nothing about the session is written for this request.
 * The last call wins. Return conn. */
DYN_API dyn_conn_t *dyn_session_renew(dyn_conn_t *conn);
DYN_API dyn_conn_t *dyn_session_drop(dyn_conn_t *conn);
DYN_API dyn_conn_t *dyn_session_ignore(dyn_conn_t *conn);

/* ---- stores ------------------------------------------------------------------------------ */

/* A session store, as Plug.Session.Store: a const table. Every function runs in request
 * fibers concurrently (init and deinit in the Dynamo's actor at start and stop). */
typedef struct dyn_session_store {
    const char *name;
    /* Builds the store's state from its options for Dynamo d (keys are derived here), the
     * session cookie's name and attributes. Returns 0 or an error: the Dynamo then fails to
     * start. */
    int (*init)(const void *opts, const dyn_dynamo_t *d, const char *cookie_key,
                const dyn_cookie_opts_t *cookie, void **state);
    /* Loads the session a cookie value names: *map gets its values (a map in the request's
     * arena; left NULL when the cookie is not valid: an empty session), *sid (may stay NULL)
     * what put and delete get back for it. */
    void (*get)(dyn_conn_t *conn, void *state, const char *cookie, size_t len, const char **sid,
                dyn_map_t **map);
    /* Stores map under sid (NULL: a new session) and returns the cookie value to send, in the
     * request's arena. Fails the request if it cannot (a clear error). */
    const char *(*put)(dyn_conn_t *conn, void *state, const char *sid, const dyn_map_t *map);
    /* Deletes the session sid (not NULL). */
    void (*delete)(dyn_conn_t *conn, void *state, const char *sid);
    void (*deinit)(void *state);
} dyn_session_store_t;

/* The cookie store. Options: dyn_cookie_store_opts_t or NULL. */
typedef struct dyn_cookie_store_opts {
    const char *salt;   /* the key's salt ["dynamo session cookie"] */
    bool signed_only;   /* HMAC-SHA256 without encryption: the client can read the values */
    uint32_t max_items; /* [4096] values a cookie may decode to */
} dyn_cookie_store_opts_t;
DYN_API extern const dyn_session_store_t dyn_session_cookie_store;

/* The server store's client side. Options: dyn_server_store_opts_t or NULL. */
typedef struct dyn_server_store_opts {
    const char *server;       /* the store server's registered name ["dynamo.sessions"] */
    const char *salt;         /* the salt of the key signing ids ["dynamo session id"] */
    int64_t call_timeout_ms;  /* [2000] */
    size_t max_session_bytes; /* [65536] encoded values per session: past it the request fails */
} dyn_server_store_opts_t;
DYN_API extern const dyn_session_store_t dyn_session_server_store;

/* The store server (the ETS table's place): sessions by id in memory. Each read or write
 * pushes its expiry ttl_ms ahead (an idle timeout); a sweep every sweep_ms drops the expired
 * ones, a few thousand per message so calls are never held up for long. Full (max_sessions),
 * it sweeps at once, then refuses new sessions (the request that wanted one fails with 503). */
typedef struct dyn_session_server_opts {
    const char *name;      /* registered name ["dynamo.sessions"] */
    int64_t ttl_ms;        /* [86400000: a day] */
    int64_t sweep_ms;      /* [60000] */
    uint32_t max_sessions; /* [1000000] */
} dyn_session_server_opts_t;
/* A child spec's fields for it (the options travel in the spec's const `mod` field):
 *     {DYN_SESSION_SERVER_CHILD("sessions", &store_opts)}   (opts may be NULL)
 * It registers under opts->name. */
DYN_API int dyn_session_server_child_start(const act_child_start_t *cs, act_pid_t *out);
#define DYN_SESSION_SERVER_CHILD(id_, opts_)                                                       \
    .id = (id_), .start = dyn_session_server_child_start, .mod = (opts_)
/* Starts one linked to the caller (outside a supervisor: tests, scripts). */
DYN_API int dyn_session_server_start_link(const dyn_session_server_opts_t *opts, act_pid_t *out);
/* The number of sessions the server named `name` holds (NULL: the default name), or a
 * negative error (ACT_ENONAME). Fiber or foreign thread. */
DYN_API int64_t dyn_session_server_count(const char *name);

/* ---- the plug ---------------------------------------------------------------------------- */

/* Options of dyn_plug_session. */
typedef struct dyn_session_opts {
    const dyn_session_store_t *store; /* [&dyn_session_cookie_store] */
    const void *store_opts;           /* the store's options [NULL] */
    const char *key;                  /* the cookie's name ["_<dynamo name>_session"] */
    dyn_cookie_opts_t cookie;         /* its attributes (cookie.h): path, domain, max_age (also
                                         the cookie store's expiry inside the value), secure,
                                         http_only_off, same_site */
    size_t max_cookie;                /* [4096] bytes of name and value */
} dyn_session_opts_t;

/* The session plug. Options: dyn_session_opts_t or NULL. init fails (the Dynamo does not
 * start) without a secret of DYN_SECRET_MIN bytes or with a cookie name that is not a token. */
DYN_API extern const dyn_plug_t dyn_plug_session;

/* ---- signed and encrypted cookies -------------------------------------------------------- */

/* Sets a response cookie whose value is signed (readable by the client, not changeable) or
 * encrypted (neither), with a key derived from the Dynamo's secret; opts as
 * dyn_put_resp_cookie, opts->max_age also bounds how long the value is accepted. The value
 * is bound to the cookie's name: it cannot be replayed under another. Returns conn. */
DYN_API dyn_conn_t *dyn_put_resp_cookie_signed(dyn_conn_t *conn, const char *name,
                                               const char *value, const dyn_cookie_opts_t *opts);
DYN_API dyn_conn_t *dyn_put_resp_cookie_encrypted(dyn_conn_t *conn, const char *name,
                                                  const char *value, const dyn_cookie_opts_t *opts);
/* The value of a request cookie set by the functions above, or NULL if it is absent,
 * tampered, expired, or made with a secret the Dynamo no longer lists. Needs the cookies
 * fetched (as dyn_req_cookie). */
DYN_API const char *dyn_req_cookie_signed(dyn_conn_t *conn, const char *name);
DYN_API const char *dyn_req_cookie_encrypted(dyn_conn_t *conn, const char *name);

#endif
