/*
 * The session plug (session.h, Plug.Session) and the session's readers and writers.
 *
 * The plug's call costs two private entries and nothing else: the per-request session record
 * and the fetcher (fetch_int.h's contract). The fetch reads the cookie through the store and
 * registers the before-send callback that writes it back; nothing is decoded or written for
 * requests that never fetch the session.
 *
 * What the callback does follows Plug's session info: a put, delete or clear asks for a write
 * unless renew, drop or ignore was asked first (they win; among them the last call wins).
 */
#include <string.h>

#include "../conn_int.h"
#include "../cookie_int.h"
#include "../fetch_int.h"
#include "../pipeline_int.h"
#include "../session_int.h"
#include "../text_int.h"
#include "actor/mem.h"

#define SESSION_KEY "dynamo.session"
#define DEFAULT_MAX_COOKIE 4096

typedef struct plug {
    const dyn_session_store_t *store;
    void *store_state;
    char *key;
    dyn_cookie_opts_t cookie;
    size_t max_cookie;
} plug_t;

typedef enum info { INFO_NONE = 0, INFO_WRITE, INFO_RENEW, INFO_DROP, INFO_IGNORE } info_t;

typedef struct sess {
    const plug_t *p;
    dyn_map_t *map;
    const char *sid; /* the store's handle, or NULL */
    bool had_cookie; /* the request sent the session cookie */
    bool fetched;
    uint8_t info;
} sess_t;

/* ---- the plug ----------------------------------------------------------------------------- */

static void deinit(void *arg)
{
    plug_t *p = arg;
    if (!p)
        return;
    if (p->store_state && p->store->deinit)
        p->store->deinit(p->store_state);
    act_free(p->key);
    act_free(p);
}

static void report(const dyn_dynamo_t *d, const char *what)
{
    if (act_report_enabled())
        act_report_log(d && d->name ? d->name : "dynamo", what);
}

static int init(const void *opts, void **out)
{
    static const dyn_session_opts_t defaults;
    const dyn_session_opts_t *o = opts ? opts : &defaults;
    const dyn_dynamo_t *d = dyn_plug_dynamo();
    plug_t *p = act_calloc(1, sizeof *p);
    if (!p)
        return ACT_ENOMEM;
    p->store = o->store ? o->store : &dyn_session_cookie_store;
    p->cookie = o->cookie;
    p->max_cookie = o->max_cookie ? o->max_cookie : DEFAULT_MAX_COOKIE;
    if (o->key) {
        p->key = act_strdup(o->key);
    } else {
        size_t n = strlen(d && d->name ? d->name : "dynamo") + sizeof "__session";
        if ((p->key = act_malloc(n)))
            snprintf(p->key, n, "_%s_session", d && d->name ? d->name : "dynamo");
    }
    if (!p->key) {
        deinit(p);
        return ACT_ENOMEM;
    }
    if (!dyn__is_token(p->key, strlen(p->key))) {
        report(d, "session: the cookie name is not a token (RFC 6265)");
        deinit(p);
        return ACT_EBADARG;
    }
    if (!d || !d->secret || strlen(d->secret) < DYN_SECRET_MIN) {
        report(d, "session: the Dynamo needs a secret of 64 bytes or more (.secret) to sign "
                  "and encrypt sessions");
        deinit(p);
        return ACT_EBADARG;
    }
    int rc = p->store->init(o->store_opts, d, p->key, &p->cookie, &p->store_state);
    if (rc) {
        report(d, "session: the store failed to initialize");
        p->store_state = NULL;
        deinit(p);
        return rc;
    }
    *out = p;
    return 0;
}

static dyn_conn_t *fetch_session(dyn_conn_t *conn);

static dyn_conn_t *call(dyn_conn_t *conn, void *arg)
{
    dyn_arena_t *a = dyn_conn_arena(conn);
    sess_t *s = dyn_arena_calloc(a, 1, sizeof *s);
    if (!s)
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session");
    s->p = arg;
    conn = dyn_put_private(conn, SESSION_KEY, dyn_vptr(a, s, NULL));
    return dyn_put_private(conn, DYN__SESSION_FETCHER, dyn_vptr(a, (void *)fetch_session, NULL));
}

const dyn_plug_t dyn_plug_session = {
    .name = "session",
    .init = init,
    .call = call,
    .deinit = deinit,
};

/* ---- fetch and write ---------------------------------------------------------------------- */

static dyn_conn_t *write_back(dyn_conn_t *conn, void *arg);

static sess_t *record(const dyn_conn_t *conn)
{
    const dyn_value_t *v = dyn_conn_private(conn, SESSION_KEY);
    return v && v->type == DYN_V_PTR ? v->p : NULL;
}

static dyn_conn_t *fetch_session(dyn_conn_t *conn)
{
    sess_t *s = record(conn);
    if (!s)
        dyn__conn_fail(conn, DYN_ENOTFETCHED, "the session's record is missing");
    const plug_t *p = s->p;
    const char *cookie = dyn_req_cookie(conn, p->key);
    if (cookie) {
        s->had_cookie = true;
        p->store->get(conn, p->store_state, cookie, strlen(cookie), &s->sid, &s->map);
    }
    if (!s->map && !(s->map = dyn_map_new(dyn_conn_arena(conn))))
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session");
    s->fetched = true;
    return dyn_register_before_send(conn, write_back, s);
}

static dyn_conn_t *put_cookie(dyn_conn_t *conn, const plug_t *p, const char *value)
{
    size_t size = strlen(p->key) + 1 + strlen(value);
    if (size > p->max_cookie)
        dyn__conn_fail(conn, DYN_ELIMIT,
                       "the session cookie %s would be %zu bytes, past its limit of %zu "
                       "(max_cookie): keep less in the session, or use the server store "
                       "(dyn_session_server_store)",
                       p->key, size, p->max_cookie);
    /* The built-in stores make base64url text: no need to scan it again. A user's store may
     * return anything, so its text is checked as any cookie's. */
    if (p->store == &dyn_session_cookie_store || p->store == &dyn_session_server_store)
        return dyn__put_resp_cookie_trusted(conn, p->key, value, &p->cookie);
    return dyn_put_resp_cookie(conn, p->key, value, &p->cookie);
}

static dyn_conn_t *write_back(dyn_conn_t *conn, void *arg)
{
    sess_t *s = arg;
    const plug_t *p = s->p;
    switch ((info_t)s->info) {
    case INFO_WRITE:
        return put_cookie(conn, p, p->store->put(conn, p->store_state, s->sid, s->map));
    case INFO_RENEW:
        if (s->sid)
            p->store->delete (conn, p->store_state, s->sid);
        return put_cookie(conn, p, p->store->put(conn, p->store_state, NULL, s->map));
    case INFO_DROP:
        if (s->sid)
            p->store->delete (conn, p->store_state, s->sid);
        return s->had_cookie ? dyn_delete_resp_cookie(conn, p->key, &p->cookie) : conn;
    case INFO_NONE:
    case INFO_IGNORE:
        break;
    }
    return conn;
}

/* ---- readers and writers ------------------------------------------------------------------ */

/* The fetched session, or the request fails naming the fetch it needs. */
static sess_t *fetched(dyn_conn_t *conn, const char *what, const char *key)
{
    sess_t *s = record(conn);
    if (ACT_UNLIKELY(!s || !s->fetched)) {
        dyn__fetch_require(conn, DYN_FETCH_SESSION, "%s%s%.100s%s", what, key ? " \"" : "",
                           key ? key : "", key ? "\"" : "");
        dyn__conn_fail(conn, DYN_ENOTFETCHED,
                       "%s read before dyn_fetch(conn, DYN_FETCH_SESSION) (is dyn_plug_session "
                       "in the endpoint?)",
                       what);
    }
    return s;
}

const dyn_value_t *dyn_session_get(dyn_conn_t *conn, const char *key)
{
    return dyn_map_get(fetched(conn, "session value", key)->map, key);
}

const char *dyn_session_get_str(dyn_conn_t *conn, const char *key)
{
    return dyn_value_str(dyn_session_get(conn, key), NULL);
}

const dyn_map_t *dyn_session(dyn_conn_t *conn)
{
    return fetched(conn, "the session", NULL)->map;
}

static void changed(sess_t *s)
{
    if (s->info == INFO_NONE)
        s->info = INFO_WRITE;
}

dyn_conn_t *dyn_session_put(dyn_conn_t *conn, const char *key, dyn_value_t v)
{
    sess_t *s = fetched(conn, "session value", key);
    dyn_value_t copy;
    int rc = dyn__value_copy(dyn_conn_arena(conn), &v, &copy);
    if (rc == ACT_EBADARG)
        dyn__conn_fail(conn, rc,
                       "session value \"%.100s\" holds a pointer: sessions hold data only", key);
    if (rc || dyn_map_put(s->map, key, copy) != 0)
        dyn__conn_fail(conn, rc ? rc : ACT_ENOMEM, "cannot put session value \"%.100s\": %s", key,
                       dyn_strerror(rc ? rc : ACT_ENOMEM));
    changed(s);
    return conn;
}

dyn_conn_t *dyn_session_put_str(dyn_conn_t *conn, const char *key, const char *str)
{
    return dyn_session_put(conn, key, dyn_vstr(str));
}

dyn_conn_t *dyn_session_put_int(dyn_conn_t *conn, const char *key, int64_t i)
{
    return dyn_session_put(conn, key, dyn_vint(i));
}

dyn_conn_t *dyn_session_delete(dyn_conn_t *conn, const char *key)
{
    sess_t *s = fetched(conn, "session value", key);
    if (dyn_map_delete(s->map, key))
        changed(s);
    return conn;
}

dyn_conn_t *dyn_session_clear(dyn_conn_t *conn)
{
    sess_t *s = fetched(conn, "the session", NULL);
    if (dyn_map_len(s->map) && !(s->map = dyn_map_new(dyn_conn_arena(conn))))
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session");
    changed(s);
    return conn;
}

static dyn_conn_t *configure(dyn_conn_t *conn, info_t info)
{
    fetched(conn, "the session", NULL)->info = (uint8_t)info;
    return conn;
}

dyn_conn_t *dyn_session_renew(dyn_conn_t *conn)
{
    return configure(conn, INFO_RENEW);
}

dyn_conn_t *dyn_session_drop(dyn_conn_t *conn)
{
    return configure(conn, INFO_DROP);
}

dyn_conn_t *dyn_session_ignore(dyn_conn_t *conn)
{
    return configure(conn, INFO_IGNORE);
}
