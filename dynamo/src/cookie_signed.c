/*
 * Signed and encrypted individual cookies (session.h), over cookie.h's plain ones: the value
 * goes through dyn_sign or dyn_encrypt with the cookie's name as the purpose, under a key the
 * Dynamo's secret derives once per process (dyn_conn_keyring's cache), so reading one costs a
 * fingerprint of the secret and one MAC or decryption.
 */
#include <string.h>

#include "conn_int.h"
#include "cookie_int.h"
#include "dynamo/session.h"

#define SIGNED_SALT "dynamo signed cookie"
#define ENCRYPTED_SALT "dynamo encrypted cookie"

typedef char *(*make_fn)(dyn_arena_t *, const dyn_keyring_t *, const char *, const void *, size_t,
                         int64_t);
typedef int (*read_fn)(dyn_arena_t *, const dyn_keyring_t *, const char *, const char *, size_t,
                       const void **, size_t *);

static dyn_conn_t *put(dyn_conn_t *conn, const char *salt, make_fn make, const char *name,
                       const char *value, const dyn_cookie_opts_t *opts)
{
    const dyn_keyring_t *kr = dyn_conn_keyring(conn, salt);
    int64_t max_age = opts && opts->max_age > 0 ? opts->max_age : 0;
    char *v = make(dyn_conn_arena(conn), kr, name, value, strlen(value), max_age);
    if (!v)
        dyn__conn_fail(conn, ACT_ENOMEM, "no memory for cookie %.100s", name);
    return dyn__put_resp_cookie_trusted(conn, name, v, opts); /* base64url */
}

static const char *get(dyn_conn_t *conn, const char *salt, read_fn readm, const char *name)
{
    const char *raw = dyn_req_cookie(conn, name);
    if (!raw)
        return NULL;
    const void *data;
    size_t len;
    if (readm(dyn_conn_arena(conn), dyn_conn_keyring(conn, salt), name, raw, strlen(raw), &data,
              &len) != 0 ||
        memchr(data, '\0', len))
        return NULL;
    return data; /* NUL-terminated by the reader */
}

dyn_conn_t *dyn_put_resp_cookie_signed(dyn_conn_t *conn, const char *name, const char *value,
                                       const dyn_cookie_opts_t *opts)
{
    return put(conn, SIGNED_SALT, dyn_sign, name, value, opts);
}

dyn_conn_t *dyn_put_resp_cookie_encrypted(dyn_conn_t *conn, const char *name, const char *value,
                                          const dyn_cookie_opts_t *opts)
{
    return put(conn, ENCRYPTED_SALT, dyn_encrypt, name, value, opts);
}

const char *dyn_req_cookie_signed(dyn_conn_t *conn, const char *name)
{
    return get(conn, SIGNED_SALT, dyn_verify, name);
}

const char *dyn_req_cookie_encrypted(dyn_conn_t *conn, const char *name)
{
    return get(conn, ENCRYPTED_SALT, dyn_decrypt, name);
}
