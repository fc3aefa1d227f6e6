/*
 * The cookie session store (session.h, Plug.Session.COOKIE): the session's values, encoded
 * (session_codec.c) and encrypted or signed (crypto.h) into the cookie itself.
 *
 * The key is derived once, when the Dynamo starts, from its secret (and previous secrets: a
 * cookie from before a rotation still reads) with the store's salt. The message's purpose is
 * the cookie's name, so a value cannot be moved from one cookie to another; its expiry is the
 * cookie's max_age, so a copied cookie stops working when the browser would have dropped it.
 */
#include <errno.h>

#include "conn_int.h"
#include "pipeline_int.h"
#include "session_int.h"

#include "actor/mem.h"

typedef struct store {
    dyn_keyring_t kr;
    const char *purpose;
    bool signed_only;
    uint32_t max_items;
    int64_t max_age;
} store_t;

static int init(const void *opts, const dyn_dynamo_t *d, const char *cookie_key,
                const dyn_cookie_opts_t *cookie, void **out)
{
    const dyn_cookie_store_opts_t *o = opts;
    store_t *s = act_calloc(1, sizeof *s);
    if (!s)
        return ACT_ENOMEM;
    s->purpose = cookie_key;
    s->signed_only = o && o->signed_only;
    s->max_items = o ? o->max_items : 0;
    s->max_age = cookie && cookie->max_age > 0 ? cookie->max_age : 0;
    int rc = dyn_keyring_derive_dynamo(&s->kr, d, o && o->salt ? o->salt : "dynamo session cookie");
    if (rc) {
        act_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void deinit(void *state)
{
    store_t *s = state;
    if (s)
        dyn_keyring_wipe(&s->kr);
    act_free(s);
}

static void get(dyn_conn_t *conn, void *state, const char *cookie, size_t len, const char **sid,
                dyn_map_t **map)
{
    store_t *s = state;
    (void)sid;
    bool ok;
    dyn_map_t *m;
    if (dyn__cookie_session_decode(dyn_conn_arena(conn), &s->kr, s->purpose, s->signed_only,
                                   s->max_items, cookie, len, &m, &ok) != 0)
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session");
    if (ok)
        *map = m;
    else
        dyn__log(conn->inst, DYN_LOG_DEBUG,
                 "session cookie %s could not be read (tampered, expired, or made with another "
                 "secret): an empty session",
                 s->purpose);
}

static const char *put(dyn_conn_t *conn, void *state, const char *sid, const dyn_map_t *map)
{
    store_t *s = state;
    (void)sid;
    dyn_arena_t *a = dyn_conn_arena(conn);
    dyn_buf_t b;
    dyn_buf_init(&b, a, 256);
    const char *bad = NULL;
    int rc = dyn__term_encode(&b, map, &bad);
    if (rc == ACT_EBADARG)
        dyn__conn_fail(conn, rc, "session value \"%s\" is a pointer: sessions hold data only",
                       bad ? bad : "?");
    if (rc)
        dyn__conn_fail(conn, rc, "cannot encode the session: %s", dyn_strerror(rc));
    char *v = s->signed_only ? dyn_sign(a, &s->kr, s->purpose, b.data, b.len, s->max_age)
                             : dyn_encrypt(a, &s->kr, s->purpose, b.data, b.len, s->max_age);
    if (!v)
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for the session cookie");
    return v;
}

static void del(dyn_conn_t *conn, void *state, const char *sid)
{
    (void)conn, (void)state, (void)sid; /* the cookie is the session: deleting it is enough */
}

const dyn_session_store_t dyn_session_cookie_store = {
    .name = "cookie",
    .init = init,
    .get = get,
    .put = put,
    .delete = del,
    .deinit = deinit,
};
